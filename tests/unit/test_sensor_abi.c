// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sensor rules that need no kernel: the ABI version gate (a sensor of
 * another major is refused, naming both versions), the names of the
 * sensors, the kernel dev_t encoding, and the table walk both sensors
 * share (which entries a walk deletes, and when).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
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
	struct sensor_limits lim = {
		.max_procs = 64, .max_reads = 64, .max_sends = 64,
		.max_watch = 64, .max_streams = 64, .max_flows = 64,
		.ring_kib = 64,
	};
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

/*
 * A table of n entries (key i, value 1000 + i) whose deletions are only
 * recorded: a walk must not delete under its own cursor.
 */
struct fake_table {
	struct sensor_table_iter it;	/* first: the walk hands it back */
	uint32_t keys[300];
	uint64_t vals[300];
	size_t n, pos;
	int fail_at;			/* next() fails there; -1: never */
	int next_after_del;		/* next() called after del() */
	int deleted;			/* del() calls */
	uint32_t doomed[300];
	size_t nr_doomed;
};

static int fake_next(struct sensor_table_iter *it, const void **k,
		     const void **v)
{
	struct fake_table *t = (struct fake_table *)it;

	if (t->deleted)
		t->next_after_del = 1;
	if ((int)t->pos == t->fail_at)
		return -EIO;
	if (t->pos == t->n)
		return 0;
	*k = &t->keys[t->pos];
	*v = &t->vals[t->pos];
	t->pos++;
	return 1;
}

static int fake_del(struct sensor_table_iter *it, const void *doomed,
		    size_t nr)
{
	struct fake_table *t = (struct fake_table *)it;

	t->deleted++;
	memcpy(t->doomed + t->nr_doomed, doomed, nr * it->dsize);
	t->nr_doomed += nr;
	return 0;
}

static void fake_init(struct fake_table *t, size_t n)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->it.next = fake_next;
	t->it.del = fake_del;
	t->it.dsize = sizeof(t->keys[0]);
	t->n = n;
	t->fail_at = -1;
	for (i = 0; i < n; i++) {
		t->keys[i] = i;
		t->vals[i] = 1000 + i;
	}
}

/* Keys divisible by 3 go; key 250 stops the walk when asked to. */
struct verdicts {
	size_t seen;
	int stop_at_250;
};

static int every_third(void *ctx, const void *k, const void *v)
{
	struct verdicts *vd = ctx;
	uint32_t key = *(const uint32_t *)k;

	if (*(const uint64_t *)v != 1000 + key)
		return -EINVAL;
	vd->seen++;
	if (vd->stop_at_250 && key == 250)
		return -ECANCELED;
	return key % 3 == 0;
}

TEST(walk_deletes_the_doomed_once_the_walk_is_done)
{
	struct verdicts vd = { 0 };
	struct fake_table t;
	size_t i;

	/* 300 entries, 100 doomed: past the first 64 the list must grow */
	fake_init(&t, 300);
	EXPECT_EQ(0, sensor_table_walk(&t.it, every_third, &vd));
	EXPECT_EQ(300, vd.seen);
	EXPECT_EQ(1, t.deleted);
	EXPECT_EQ(0, t.next_after_del);
	ASSERT_EQ(100, t.nr_doomed);
	for (i = 0; i < 100; i++)
		EXPECT_EQ(3 * i, t.doomed[i]);
}

TEST(walk_stopped_by_fn_returns_its_error_and_still_deletes)
{
	struct verdicts vd = { .stop_at_250 = 1 };
	struct fake_table t;

	fake_init(&t, 300);
	EXPECT_EQ(-ECANCELED, sensor_table_walk(&t.it, every_third, &vd));
	EXPECT_EQ(251, vd.seen);
	/* 0, 3, ..., 249: what was doomed before the stop */
	EXPECT_EQ(84, t.nr_doomed);
	EXPECT_EQ(249, t.doomed[83]);
}

TEST(walk_failing_to_read_returns_the_error)
{
	struct verdicts vd = { 0 };
	struct fake_table t;

	fake_init(&t, 300);
	t.fail_at = 10;
	EXPECT_EQ(-EIO, sensor_table_walk(&t.it, every_third, &vd));
	EXPECT_EQ(10, vd.seen);
	EXPECT_EQ(4, t.nr_doomed);
}

TEST(walk_without_verdicts_deletes_nothing)
{
	struct verdicts vd = { 0 };
	struct fake_table t;

	fake_init(&t, 2);	/* keys 0 and 1: key 0 is doomed */
	t.keys[0] = 1;
	t.vals[0] = 1001;
	EXPECT_EQ(0, sensor_table_walk(&t.it, every_third, &vd));
	EXPECT_EQ(2, vd.seen);
	EXPECT_EQ(0, t.deleted);
	fake_init(&t, 0);
	EXPECT_EQ(0, sensor_table_walk(&t.it, every_third, &vd));
	EXPECT_EQ(0, t.deleted);
}

TEST_HARNESS_MAIN
