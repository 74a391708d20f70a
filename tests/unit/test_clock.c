// SPDX-License-Identifier: GPL-2.0-only
/*
 * Suspend, resume and wall-clock jumps (userspace/clock.h): the daemon's
 * clocks are faked, records are stamped with the fake CLOCK_BOOTTIME as the
 * sensors stamp them, and the real alert path (correlator, daemon_on_alert,
 * store, JSON log) runs on top. Windows and durations must follow boot
 * time only: a settimeofday() of a day either way neither splits one
 * theft into two alerts nor merges two thefts into one, and a suspend
 * longer than the window ends it. An alert's time and updated fields are
 * wall-clock instants and follow the wall clock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "kselftest_harness.h"
#include "clock.h"
#include "daemon.h"

#define S	1000000000ull
#define US	1000000ll
#define MIN	(60 * S)
#define HOUR	(3600 * S)
#define DAY_US	(86400 * US)
#define MiB	(1ull << 20)
#define KiB	(1ull << 10)
#define WATCH	1
/* 2026-11-30T12:00:00Z, the wall clock when the test starts */
#define REAL0_US (1796040000 * US)
#define BOOT0	(1000 * S)
#define MONO0	(900 * S)

/*
 * alert_sink.c sends each alert to the journal: the test's alerts must not
 * land in the host's, so this definition takes the place of libsystemd's
 * (the executable's symbol wins; sd_journal_send() is a macro calling it).
 */
static unsigned int journal_lines;

int sd_journal_send_with_location(const char *file, const char *line,
				  const char *func, const char *format, ...)
{
	journal_lines++;
	return 0;
}

struct fake_clock {
	uint64_t boot_ns;
	uint64_t mono_ns;
	int64_t real_us;
};

static uint64_t fake_boot(void *ctx)
{
	return ((struct fake_clock *)ctx)->boot_ns;
}

static uint64_t fake_mono(void *ctx)
{
	return ((struct fake_clock *)ctx)->mono_ns;
}

static int64_t fake_real(void *ctx)
{
	return ((struct fake_clock *)ctx)->real_us;
}

/* Only its kind is asked for on the alert path. */
static const struct sensor_ops fake_ops = { .kind = "bpf" };
static struct sensor fake_sensor = { .ops = &fake_ops };

/* A daemon's alert path on fake clocks, in a folder of its own. */
struct world {
	struct fake_clock clk;
	struct clock_source src;
	const struct clock_source *old;
	struct daemon d;
	struct exfilmon_dest dest;
	char dir[64];
	char jsonlog[128];
};

static void world_up(struct __test_metadata *_metadata, struct world *w)
{
	struct corr_params p = {
		.read_threshold = 1 * MiB, .send_threshold = 256 * KiB,
		.window_ns = HOUR, .settle_ns = 5 * S,
	};
	char err[256] = "";

	w->clk = (struct fake_clock){ BOOT0, MONO0, REAL0_US };
	w->src = (struct clock_source){ fake_boot, fake_mono, fake_real,
					&w->clk };
	w->old = clock_set_source(&w->src);
	strcpy(w->dir, "/tmp/test_clock.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(w->dir));
	snprintf(w->jsonlog, sizeof(w->jsonlog), "%s/alerts.json", w->dir);
	ASSERT_EQ(0, config_load_string(&w->d.cfg, "t.conf",
					"[correlation]\nwindow = 1h\n", err,
					sizeof(err)))
		TH_LOG("%s", err);
	ASSERT_EQ(HOUR, w->d.cfg.window_ns);
	w->d.sensor = &fake_sensor;
	ASSERT_EQ(0, proctree_init(&w->d.procs, 10 * S));
	ASSERT_EQ(0, store_open(&w->d.store, w->dir, err, sizeof(err)))
		TH_LOG("%s", err);
	ASSERT_EQ(0, jsonlog_open(&w->d.jsonlog, w->jsonlog));
	w->d.corr = corr_new(&p, &w->d.cfg, daemon_on_alert, &w->d);
	ASSERT_NE(NULL, w->d.corr);
	w->dest.family = EXFILMON_AF_INET;
	w->dest.port = 443;
	w->dest.proto = EXFILMON_PROTO_TCP;
	inet_pton(AF_INET, "198.18.44.2", w->dest.addr);
	journal_lines = 0;
}

static void world_down(struct world *w)
{
	char cmd[128];

	if (w->old)
		clock_set_source(w->old);
	corr_free(w->d.corr);
	jsonlog_close(w->d.jsonlog);
	store_close(w->d.store);
	proctree_destroy(&w->d.procs);
	config_free(&w->d.cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", w->dir);
	if (w->dir[0] && system(cmd))
		fprintf(stderr, "failed to remove %s\n", w->dir);
}

/* Time passes: boot and monotonic clocks by their own, the wall by its. */
static void pass(struct fake_clock *c, uint64_t boot, uint64_t mono,
		 int64_t real_us)
{
	c->boot_ns += boot;
	c->mono_ns += mono;
	c->real_us += real_us;
}

static struct exfilmon_pkey pkey(uint32_t pid)
{
	return (struct exfilmon_pkey){ .tgid = pid, .start_ns = pid * S };
}

static const struct exfilmon_file_key db = { .dev = 8 << 20 | 1, .ino = 7 };

/* A record of pid (whose taint is taint), stamped as a sensor would. */
static struct exfilmon_rec_io record(uint16_t type, uint32_t pid,
				     uint64_t taint)
{
	struct exfilmon_rec_io io;

	memset(&io, 0, sizeof(io));
	io.hdr.type = type;
	io.hdr.size = sizeof(io);
	io.hdr.ts_ns = now_boot_ns();
	io.hdr.proc = pkey(pid);
	io.proc.taint = taint;
	io.proc.watch_id = WATCH;
	io.proc.first_ns = io.hdr.ts_ns;
	return io;
}

/* pid has read total bytes of the watched file, now */
static void do_read(struct daemon *d, uint32_t pid, uint64_t total)
{
	struct exfilmon_rec_io io = record(EXFILMON_REC_READ, pid, total);
	struct flow_env env;

	io.chan = EXFILMON_CHAN_READ;
	io.watch_id = WATCH;
	io.file = db;
	io.total.bytes = total;
	io.proc.bytes_read = total;
	io.proc.src_chan = EXFILMON_CHAN_READ;
	io.proc.src_obj = db;
	io.proc.src_bytes = total;
	daemon_flow_env(d, &env);
	corr_io(d->corr, &io, "thief", "/usr/bin/thief", &env);
}

/* pid, tainted with taint, has now sent total bytes to dest */
static void do_send(struct daemon *d, uint32_t pid,
		    const struct exfilmon_dest *dest, uint64_t total,
		    uint64_t taint)
{
	struct exfilmon_rec_io io = record(EXFILMON_REC_SEND, pid, taint);
	struct flow_env env;

	io.dest = *dest;
	io.total.bytes = total;
	daemon_flow_env(d, &env);
	corr_io(d->corr, &io, "thief", "/usr/bin/thief", &env);
}

/* What daemon_tick() does with the clock: the correlator's tick, now. */
static void tick(struct daemon *d)
{
	struct flow_env env;

	daemon_flow_env(d, &env);
	corr_tick(d->corr, now_boot_ns(), &env);
}

static int64_t count(struct daemon *d)
{
	int64_t n = -1;

	return store_count_alerts(d->store, &n) ? -1 : n;
}

TEST(the_kernel_clocks_are_the_default_and_come_back)
{
	struct fake_clock clk = { 5 * S, 6 * S, 7 * US };
	struct clock_source src = { fake_boot, fake_mono, fake_real, &clk };
	const struct clock_source *old = clock_set_source(&src);
	struct timespec ts;
	uint64_t boot;

	EXPECT_EQ(5 * S, now_boot_ns());
	EXPECT_EQ(6 * S, now_mono_ns());
	EXPECT_EQ(7 * US, now_real_us());
	EXPECT_EQ(&src, clock_set_source(NULL));
	/* NULL: the kernel's clocks again */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	boot = ts.tv_sec * S + ts.tv_nsec;
	EXPECT_LE(boot, now_boot_ns());
	EXPECT_GT(boot + S, now_boot_ns());
	clock_gettime(CLOCK_REALTIME, &ts);
	EXPECT_LE(ts.tv_sec * US, now_real_us());
	EXPECT_GT((ts.tv_sec + 1) * US, now_real_us());
	clock_set_source(old);
}

TEST(a_wall_clock_jump_moves_old_stamps_instants_not_their_distance)
{
	struct fake_clock clk = { BOOT0, MONO0, REAL0_US };
	struct clock_source src = { fake_boot, fake_mono, fake_real, &clk };
	const struct clock_source *old = clock_set_source(&src);
	uint64_t a = BOOT0 - 10 * MIN, b = BOOT0 - 4 * MIN;

	EXPECT_EQ(REAL0_US - 10 * 60 * US, boot_to_real_us(a));
	clk.real_us += DAY_US;
	EXPECT_EQ(REAL0_US + DAY_US - 10 * 60 * US, boot_to_real_us(a));
	EXPECT_EQ(6 * 60 * US, boot_to_real_us(b) - boot_to_real_us(a));
	clock_set_source(old);
}

FIXTURE(clocked) {
	struct world w;
};

FIXTURE_SETUP(clocked)
{
	world_up(_metadata, &self->w);
}

FIXTURE_TEARDOWN(clocked)
{
	world_down(&self->w);
}

FIXTURE_VARIANT(clocked) {
	int64_t jump_us;	/* the wall clock is set by this much */
};

FIXTURE_VARIANT_ADD(clocked, a_day_forward) {
	.jump_us = DAY_US,
};

FIXTURE_VARIANT_ADD(clocked, a_day_back) {
	.jump_us = -DAY_US,
};

/*
 * One theft, 30 min of boot time between its two sends, and the wall clock
 * set a day away in between: still one alert, which lasted 30 min, raised
 * at the wall time before the jump and updated at the wall time after.
 */
TEST_F(clocked, a_wall_clock_jump_does_not_split_a_theft)
{
	struct alert a;
	int64_t raised_us;

	do_read(&self->w.d, 100, 3 * MiB);
	pass(&self->w.clk, 1 * S, 1 * S, 1 * US);
	do_send(&self->w.d, 100, &self->w.dest, 300 * KiB, 3 * MiB);
	ASSERT_EQ(1, count(&self->w.d));
	raised_us = self->w.clk.real_us;

	pass(&self->w.clk, 30 * MIN, 30 * MIN, 30 * 60 * US + variant->jump_us);
	do_send(&self->w.d, 100, &self->w.dest, 3 * MiB, 3 * MiB);
	tick(&self->w.d);
	ASSERT_EQ(1, count(&self->w.d));
	ASSERT_EQ(0, store_get_alert(self->w.d.store, 1, &a));
	EXPECT_EQ(3 * MiB, a.bytes_sent);
	/* from the read to the last send */
	EXPECT_EQ(30 * MIN + S, a.last_ns - a.first_ns);
	EXPECT_EQ(raised_us, a.time_us);
	EXPECT_EQ(self->w.clk.real_us, a.updated_us);
	EXPECT_NE(NULL, strstr(a.reason, "within 30.0min (window 1h)"))
		TH_LOG("%s", a.reason);
	alert_free(&a);
	/* new, update: the journal's one line per event */
	EXPECT_EQ(1, journal_lines);
	pass(&self->w.clk, 6 * S, 6 * S, 6 * US);
	tick(&self->w.d);
	EXPECT_EQ(2, journal_lines);
}

/*
 * Two thefts 2 h of boot time apart, and the wall clock set a day away in
 * between, which a wall-clock window would see as a day, or as 22 h
 * before the first: two alerts, each with its own wall-clock time.
 */
TEST_F(clocked, a_wall_clock_jump_does_not_merge_two_thefts)
{
	struct alert a, b;

	do_read(&self->w.d, 100, 3 * MiB);
	do_send(&self->w.d, 100, &self->w.dest, 2 * MiB, 3 * MiB);
	ASSERT_EQ(1, count(&self->w.d));

	pass(&self->w.clk, 2 * HOUR, 2 * HOUR, 2 * 3600 * US + variant->jump_us);
	tick(&self->w.d);
	do_read(&self->w.d, 200, 3 * MiB);
	do_send(&self->w.d, 200, &self->w.dest, 2 * MiB, 3 * MiB);
	ASSERT_EQ(2, count(&self->w.d));
	ASSERT_EQ(0, store_get_alert(self->w.d.store, 1, &a));
	ASSERT_EQ(0, store_get_alert(self->w.d.store, 2, &b));
	EXPECT_EQ(100, a.pid);
	EXPECT_EQ(200, b.pid);
	EXPECT_EQ(2 * MiB, a.bytes_sent);
	EXPECT_EQ(2 * MiB, b.bytes_sent);
	EXPECT_EQ(REAL0_US, a.time_us);
	EXPECT_EQ(REAL0_US + 2 * 3600 * US + variant->jump_us, b.time_us);
	alert_free(&a);
	alert_free(&b);
}

FIXTURE(paused) {
	struct world w;
};

FIXTURE_SETUP(paused)
{
	world_up(_metadata, &self->w);
}

FIXTURE_TEARDOWN(paused)
{
	world_down(&self->w);
}

FIXTURE_VARIANT(paused) {
	uint64_t boot;		/* boot time that passed */
	uint64_t mono;		/* of which the machine was awake */
	int window_over;
};

/* A lid closed for 2 h: boot time counts it, monotonic time does not. */
FIXTURE_VARIANT_ADD(paused, suspended_for_2h) {
	.boot = 2 * HOUR, .mono = 0, .window_over = 1,
};

/* The same 2 h awake: the window ends the same way. */
FIXTURE_VARIANT_ADD(paused, awake_for_2h) {
	.boot = 2 * HOUR, .mono = 2 * HOUR, .window_over = 1,
};

/* The control: 10 min asleep is still within the window. */
FIXTURE_VARIANT_ADD(paused, suspended_for_10min) {
	.boot = 10 * MIN, .mono = 0, .window_over = 0,
};

/*
 * A suspend longer than the window ends it: the first tick after resume
 * settles the alert and forgets the pair, and what the thief (still
 * tainted) sends then is a new alert, not more of the old one. 10 min
 * asleep keeps the window open: the same send updates the alert.
 */
TEST_F(paused, a_suspend_counts_as_elapsed_time)
{
	struct alert a;

	do_read(&self->w.d, 100, 3 * MiB);
	do_send(&self->w.d, 100, &self->w.dest, 2 * MiB, 3 * MiB);
	ASSERT_EQ(1, count(&self->w.d));
	pass(&self->w.clk, variant->boot, variant->mono, variant->boot / 1000);
	tick(&self->w.d);
	do_send(&self->w.d, 100, &self->w.dest, 3 * MiB, 3 * MiB);
	tick(&self->w.d);
	ASSERT_EQ(variant->window_over ? 2 : 1, count(&self->w.d));
	ASSERT_EQ(0, store_get_alert(self->w.d.store, 1, &a));
	EXPECT_EQ(variant->window_over ? 2 * MiB : 3 * MiB, a.bytes_sent);
	EXPECT_EQ(variant->window_over ? 0 : variant->boot,
		  a.last_ns - a.first_ns);
	alert_free(&a);
	if (!variant->window_over)
		return;
	ASSERT_EQ(0, store_get_alert(self->w.d.store, 2, &a));
	EXPECT_EQ(1 * MiB, a.bytes_sent);
	EXPECT_EQ(REAL0_US + (int64_t)variant->boot / 1000, a.time_us);
	alert_free(&a);
}

TEST_HARNESS_MAIN
