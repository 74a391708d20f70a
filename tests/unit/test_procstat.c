// SPDX-License-Identifier: GPL-2.0-only
/*
 * /proc/PID/stat: fields 4 (ppid) and 22 (start time) are taken from the
 * right places whatever the name holds, and a line that stops short is
 * refused. An override by pid keys on the start time: a field off by one
 * names another number (it happened, issue 8).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "procstat.h"

/* A line whose field n holds 1000 + n, after the name given. */
static void line_with(char *buf, size_t size, const char *comm, int last)
{
	size_t off;
	int f;

	off = snprintf(buf, size, "4242 (%s) S", comm);
	for (f = 4; f <= last && off < size; f++)
		off += snprintf(buf + off, size - off, " %d", 1000 + f);
	if (off < size)
		snprintf(buf + off, size - off, "\n");
}

TEST(fields_by_number)
{
	const char *const names[] = {
		"cat", "a b", "x) S 1 2 3", "(", ")", ") (", "",
		"kworker/u8:2-events_unbound",
	};
	struct proc_stat st;
	char buf[1024];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		memset(&st, 0xa5, sizeof(st));
		line_with(buf, sizeof(buf), names[i], 52);
		ASSERT_EQ(0, proc_stat_parse(buf, &st)) {
			TH_LOG("%s", buf);
		}
		EXPECT_STREQ(names[i], st.comm);
		EXPECT_EQ(1004, st.ppid);
		EXPECT_EQ(1022, st.start_ticks);
	}
}

TEST(short_or_malformed_lines_are_refused)
{
	const char *const bad[] = {
		"", "4242", "4242 cat S 1", "4242 (cat S 1 2", "4242 (cat)",
		"4242 (cat) S", "4242 (cat)S 1", "4242 (cat) S x 2",
		"4242 (cat) SS 1",
	};
	struct proc_stat st;
	char buf[1024];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, proc_stat_parse(bad[i], &st)) {
			TH_LOG("accepted \"%s\"", bad[i]);
		}
	}
	/* up to field 21 only: the start time is missing */
	line_with(buf, sizeof(buf), "cat", 21);
	EXPECT_EQ(-EINVAL, proc_stat_parse(buf, &st));
	line_with(buf, sizeof(buf), "cat", 22);
	EXPECT_EQ(0, proc_stat_parse(buf, &st));
	EXPECT_EQ(1022, st.start_ticks);
}

TEST(this_process)
{
	struct proc_stat st;
	struct sysinfo si;
	char comm[64] = "";
	FILE *f;

	ASSERT_EQ(0, proc_stat_read(getpid(), &st));
	EXPECT_EQ((uint32_t)getppid(), st.ppid);
	f = fopen("/proc/self/comm", "re");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	EXPECT_STREQ(comm, st.comm);
	/* started after boot and before now */
	ASSERT_EQ(0, sysinfo(&si));
	EXPECT_LT(0, st.start_ticks);
	EXPECT_GE((uint64_t)(si.uptime + 1) * sysconf(_SC_CLK_TCK),
		  st.start_ticks);
}

TEST(no_such_process)
{
	struct proc_stat st;

	/* above pid_max's ceiling (PID_MAX_LIMIT, 4 M): never a process */
	EXPECT_EQ(-ENOENT, proc_stat_read(1 << 23, &st));
}

TEST_HARNESS_MAIN
