// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sensor choice rules that need no kernel: the ABI version gate (a sensor
 * of another major is refused, naming both versions), the names of the
 * sensors, and the kernel dev_t encoding.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/sysmacros.h>
#include "kselftest_harness.h"
#include "sensor.h"

TEST(same_major_any_minor_is_accepted)
{
	char err[256] = "";

	EXPECT_EQ(0, sensor_check_abi(EXFILMON_ABI_MAJOR << 16, err,
				      sizeof(err)));
	EXPECT_EQ(0, sensor_check_abi(EXFILMON_ABI_MAJOR << 16 | 0xffff, err,
				      sizeof(err)));
	EXPECT_STREQ("", err);
}

TEST(other_major_is_refused_naming_both_versions)
{
	char err[256], expect[256];

	EXPECT_EQ(-EPROTO, sensor_check_abi((EXFILMON_ABI_MAJOR + 1) << 16 | 3,
					    err, sizeof(err)));
	snprintf(expect, sizeof(expect),
		 "sensor ABI %u.3 is not compatible with exfilmond's ABI %u.%u",
		 EXFILMON_ABI_MAJOR + 1, EXFILMON_ABI_MAJOR,
		 EXFILMON_ABI_MINOR);
	EXPECT_STREQ(expect, err);
}

TEST(unknown_sensor_kind_is_named)
{
	struct sensor_limits lim = { 64, 64, 64, 64, 64 };
	struct sensor *s = NULL;
	char err[256];

	EXPECT_EQ(-ENOENT, sensor_open(&s, "dtrace", &lim, NULL, NULL, err,
				       sizeof(err)));
	EXPECT_STREQ("unknown sensor 'dtrace' (expected auto, bpf or kmod)",
		     err);
	EXPECT_EQ(NULL, s);
}

TEST(dev_t_uses_the_kernel_encoding)
{
	EXPECT_EQ((uint64_t)8 << 20 | 1, sensor_dev(makedev(8, 1)));
	EXPECT_EQ((uint64_t)259 << 20 | 0x12345,
		  sensor_dev(makedev(259, 0x12345)));
}

TEST_HARNESS_MAIN
