// SPDX-License-Identifier: GPL-2.0-only
/*
 * The correlator as a specification (docs/flow.md, "Correlation"): records
 * with cumulative counters in, exactly one alert per (origin, host) out,
 * a process counting at most its taint, and none for innocent patterns.
 * Time is given explicitly (CLOCK_BOOTTIME ns), so windows are exact.
 */
#include <arpa/inet.h>
#include <string.h>
#include "kselftest_harness.h"
#include "correlate.h"
#include "config.h"

#define S	1000000000ull
#define MiB	(1ull << 20)
#define KiB	(1ull << 10)
#define WINDOW	(3600 * S)
#define SETTLE	(5 * S)
#define T0	(1000 * S)	/* boot time of the first event */
#define DB	1		/* the watch of the database */
#define HR	2		/* another watch */

struct seen_ev {
	enum corr_event ev;
	uint64_t bytes_sent;
	uint64_t taint;
	uint32_t senders;
	uint32_t pid;
	uint32_t watch_id;
	char host[ALERT_ADDR_LEN];
	size_t nr_dests;
	size_t nr_top;
	struct exfilmon_pkey top;
	int severity;
	int action;
	uint64_t refused;
	void *id;		/* the corr_alert: same pointer, same alert */
};

struct rec {
	struct seen_ev ev[64];
	int n;
};

static void on_alert(void *ctx, struct corr_alert *ca, enum corr_event ev)
{
	struct rec *r = ctx;
	struct seen_ev *s;

	if (r->n >= 64)
		return;
	s = &r->ev[r->n++];
	s->ev = ev;
	s->bytes_sent = ca->a.bytes_sent;
	s->taint = ca->a.taint;
	s->senders = ca->a.senders;
	s->pid = ca->a.pid;
	s->watch_id = ca->watch_id;
	strcpy(s->host, ca->a.host);
	s->nr_dests = ca->a.nr_dests;
	s->nr_top = ca->nr_top;
	s->top = ca->top[0];
	s->severity = ca->a.severity;
	s->action = ca->a.action;
	s->refused = ca->a.refused;
	s->id = ca;
}

static int count(const struct rec *r, enum corr_event ev)
{
	int i, n = 0;

	for (i = 0; i < r->n; i++)
		n += r->ev[i].ev == ev;
	return n;
}

static struct exfilmon_pkey pk(uint32_t pid)
{
	return (struct exfilmon_pkey){ .tgid = pid, .start_ns = pid * 10 };
}

static void dest4(struct exfilmon_dest *d, const char *addr, uint16_t port,
		  uint8_t proto)
{
	memset(d, 0, sizeof(*d));
	d->family = EXFILMON_AF_INET;
	d->port = port;
	d->proto = proto;
	inet_pton(AF_INET, addr, d->addr);
}

static const struct exfilmon_file_key db = { .dev = 8 << 20 | 1, .ino = 42 };

/* A record of process pid of origin watch, whose taint is now taint. */
static struct exfilmon_rec_io rec(uint16_t type, uint32_t pid, uint32_t watch,
				  uint64_t ts, uint64_t taint)
{
	struct exfilmon_rec_io io;

	memset(&io, 0, sizeof(io));
	io.hdr.type = type;
	io.hdr.size = sizeof(io);
	io.hdr.ts_ns = ts;
	io.hdr.proc = pk(pid);
	io.proc.taint = taint;
	io.proc.watch_id = watch;
	io.proc.first_ns = ts;
	return io;
}

/* pid has read total bytes of the watched db (all of its taint) */
static void do_read(struct correlator *c, uint32_t pid, uint32_t watch,
		    uint64_t ts, uint64_t total)
{
	struct exfilmon_rec_io io = rec(EXFILMON_REC_READ, pid, watch, ts,
					total);

	io.chan = EXFILMON_CHAN_READ;
	io.watch_id = watch;
	io.file = db;
	io.total.bytes = total;
	io.proc.bytes_read = total;
	io.proc.src_chan = EXFILMON_CHAN_READ;
	io.proc.src_obj = db;
	io.proc.src_bytes = total;
	corr_io(c, &io, "reader", "/bin/reader", NULL);
}

/* pid, with taint, has now sent total bytes to dest */
static void do_send(struct correlator *c, uint32_t pid, uint32_t watch,
		    const struct exfilmon_dest *dest, uint64_t ts,
		    uint64_t total, uint64_t taint)
{
	struct exfilmon_rec_io io = rec(EXFILMON_REC_SEND, pid, watch, ts,
					taint);

	io.dest = *dest;
	io.total.bytes = total;
	corr_io(c, &io, "sender", "/bin/sender", NULL);
}

/* pid, with taint, has now been refused total transfers to dest */
static void do_block(struct correlator *c, uint32_t pid, uint32_t watch,
		     const struct exfilmon_dest *dest, uint64_t ts,
		     uint64_t total, uint64_t taint)
{
	struct exfilmon_rec_block b;

	memset(&b, 0, sizeof(b));
	b.hdr.type = EXFILMON_REC_BLOCK;
	b.hdr.size = sizeof(b);
	b.hdr.ts_ns = ts;
	b.hdr.proc = pk(pid);
	b.proc.taint = taint;
	b.proc.watch_id = watch;
	b.proc.first_ns = ts;
	b.dest = *dest;
	b.how = EXFILMON_BLOCK_CONNECT;
	b.total.ops = total;
	corr_block(c, &b, "thief", "/bin/thief");
}

FIXTURE(corr) {
	struct config cfg;
	struct correlator *c;
	struct rec rec;
	struct exfilmon_dest ext, ext2, internal, loop, ext_port2;
};

FIXTURE_SETUP(corr)
{
	struct corr_params p = {
		.read_threshold = 1 * MiB, .send_threshold = 256 * KiB,
		.window_ns = WINDOW, .settle_ns = SETTLE,
	};
	char err[256];

	ASSERT_EQ(0, config_load_string(&self->cfg, "t.conf",
					"[network]\ninternal = 10.0.0.0/8\n",
					err, sizeof(err)));
	self->c = corr_new(&p, &self->cfg, on_alert, &self->rec);
	ASSERT_NE(NULL, self->c);
	dest4(&self->ext, "198.18.5.2", 443, EXFILMON_PROTO_TCP);
	dest4(&self->ext_port2, "198.18.5.2", 53, EXFILMON_PROTO_UDP);
	dest4(&self->ext2, "198.18.7.2", 443, EXFILMON_PROTO_TCP);
	dest4(&self->internal, "10.1.2.3", 443, EXFILMON_PROTO_TCP);
	dest4(&self->loop, "127.0.0.1", 8080, EXFILMON_PROTO_TCP);
}

FIXTURE_TEARDOWN(corr)
{
	corr_free(self->c);
	config_free(&self->cfg);
}

/* process 100 read `total` of the db, at t */
#define READ(t, total) do_read(self->c, 100, DB, (t), (total))
/* process pid, tainted with taint, has sent total to dest */
#define SEND(pid, dest, t, total, taint) \
	do_send(self->c, (pid), DB, (dest), (t), (total), (taint))

TEST_F(corr, one_theft_is_one_alert_updated_then_settled)
{
	READ(T0, 3 * MiB);
	SEND(100, &self->ext, T0 + S, 100 * KiB, 3 * MiB);
	EXPECT_EQ(0, self->rec.n);	/* below send_threshold */
	SEND(100, &self->ext, T0 + 2 * S, 300 * KiB, 3 * MiB);
	ASSERT_EQ(1, self->rec.n);
	EXPECT_EQ(CORR_NEW, self->rec.ev[0].ev);
	EXPECT_EQ(3 * MiB, self->rec.ev[0].taint);
	EXPECT_EQ(300 * KiB, self->rec.ev[0].bytes_sent);
	EXPECT_EQ(1, self->rec.ev[0].senders);
	EXPECT_STREQ("198.18.5.2", self->rec.ev[0].host);
	EXPECT_EQ(100, self->rec.ev[0].pid);
	EXPECT_EQ(DB, self->rec.ev[0].watch_id);
	EXPECT_EQ(ALERT_DETECTED, self->rec.ev[0].action);
	EXPECT_EQ(0, self->rec.ev[0].refused);

	/* more of the same theft: updates, never a second alert */
	SEND(100, &self->ext, T0 + 3 * S, 2 * MiB, 3 * MiB);
	SEND(100, &self->ext, T0 + 4 * S, 3 * MiB, 3 * MiB);
	EXPECT_EQ(1, self->rec.n);
	corr_tick(self->c, T0 + 5 * S, NULL);
	ASSERT_EQ(2, self->rec.n);
	EXPECT_EQ(CORR_UPDATE, self->rec.ev[1].ev);
	EXPECT_EQ(self->rec.ev[0].id, self->rec.ev[1].id);
	EXPECT_EQ(3 * MiB, self->rec.ev[1].bytes_sent);
	corr_tick(self->c, T0 + 6 * S, NULL);	/* nothing new: quiet */
	EXPECT_EQ(2, self->rec.n);
	corr_tick(self->c, T0 + 4 * S + SETTLE, NULL);
	ASSERT_EQ(3, self->rec.n);
	EXPECT_EQ(CORR_SETTLED, self->rec.ev[2].ev);
	EXPECT_EQ(1, count(&self->rec, CORR_NEW));
	/* 3 MiB of taint, 100 % sent: share >= 50 % */
	EXPECT_EQ(SEV_MEDIUM, self->rec.ev[2].severity);
}

/*
 * Prevent mode: a refusal raises the (origin, host) alert at once, as
 * blocked, with what still left (nothing here); more refusals update it.
 */
TEST_F(corr, a_refusal_is_a_blocked_alert_with_what_still_left)
{
	READ(T0, 3 * MiB);
	do_block(self->c, 100, DB, &self->ext, T0 + S, 1, 3 * MiB);
	ASSERT_EQ(1, self->rec.n);
	EXPECT_EQ(CORR_NEW, self->rec.ev[0].ev);
	EXPECT_EQ(ALERT_BLOCKED, self->rec.ev[0].action);
	EXPECT_EQ(1, self->rec.ev[0].refused);
	EXPECT_EQ(0, self->rec.ev[0].bytes_sent);
	EXPECT_EQ(3 * MiB, self->rec.ev[0].taint);
	EXPECT_EQ(100, self->rec.ev[0].pid);
	EXPECT_STREQ("198.18.5.2", self->rec.ev[0].host);
	/* a replayed record changes nothing; a later total adds */
	do_block(self->c, 100, DB, &self->ext, T0 + 2 * S, 1, 3 * MiB);
	do_block(self->c, 100, DB, &self->ext, T0 + 3 * S, 4, 3 * MiB);
	corr_tick(self->c, T0 + 4 * S, NULL);
	ASSERT_EQ(2, self->rec.n);
	EXPECT_EQ(CORR_UPDATE, self->rec.ev[1].ev);
	EXPECT_EQ(self->rec.ev[0].id, self->rec.ev[1].id);
	EXPECT_EQ(4, self->rec.ev[1].refused);
	EXPECT_EQ(1, count(&self->rec, CORR_NEW));
}

/* bytes sent before the threshold, then refused: both in one alert */
TEST_F(corr, a_blocked_alert_counts_what_left_before)
{
	READ(T0, 3 * MiB);
	SEND(100, &self->ext, T0 + S, 10 * KiB, 3 * MiB);
	EXPECT_EQ(0, self->rec.n);	/* below send_threshold */
	do_block(self->c, 100, DB, &self->ext, T0 + 2 * S, 1, 3 * MiB);
	ASSERT_EQ(1, self->rec.n);
	EXPECT_EQ(ALERT_BLOCKED, self->rec.ev[0].action);
	EXPECT_EQ(10 * KiB, self->rec.ev[0].bytes_sent);
}

/* a refusal the config now calls internal (after a reload) raises nothing */
TEST_F(corr, a_refusal_to_an_internal_host_is_not_an_alert)
{
	READ(T0, 3 * MiB);
	do_block(self->c, 100, DB, &self->internal, T0 + S, 1, 3 * MiB);
	corr_tick(self->c, T0 + 2 * S, NULL);
	EXPECT_EQ(0, self->rec.n);
}

TEST_F(corr, a_process_counts_at_most_its_taint)
{
	/* 2 KiB of taint, a 10 MiB upload: 2 KiB of it is watched data */
	SEND(200, &self->ext, T0, 10 * MiB, 2 * KiB);
	corr_tick(self->c, T0 + S, NULL);
	EXPECT_EQ(0, self->rec.n);
	/* a real theft to the same host adds up with it, capped the same */
	SEND(300, &self->ext, T0 + 2 * S, 300 * KiB, 3 * MiB);
	ASSERT_EQ(1, self->rec.n);
	EXPECT_EQ(300 * KiB + 2 * KiB, self->rec.ev[0].bytes_sent);
	EXPECT_EQ(3 * MiB + 2 * KiB, self->rec.ev[0].taint);
	EXPECT_EQ(2, self->rec.ev[0].senders);
	/* the sender named is the one that sent the most watched data */
	EXPECT_EQ(300, self->rec.ev[0].pid);
	EXPECT_EQ(300, self->rec.ev[0].top.tgid);
	EXPECT_EQ(2, self->rec.ev[0].nr_top);
}

TEST_F(corr, untainted_sends_count_nothing)
{
	/* tracked but holding no taint: 50 MiB out, nothing counted */
	SEND(200, &self->ext, T0, 50 * MiB, 0);
	corr_tick(self->c, T0 + 10 * S, NULL);
	EXPECT_EQ(0, self->rec.n);
	EXPECT_EQ(0, corr_trees(self->c));
	/* a heavy reader that sends 2 KiB is no thief either */
	READ(T0 + 20 * S, 100 * MiB);
	SEND(100, &self->ext, T0 + 21 * S, 2 * KiB, 100 * MiB);
	corr_tick(self->c, T0 + 30 * S, NULL);
	EXPECT_EQ(0, self->rec.n);
	EXPECT_EQ(1, corr_trees(self->c));
}

TEST_F(corr, reading_without_sending_is_not_an_alert)
{
	READ(T0, 500 * MiB);
	corr_tick(self->c, T0 + 10 * S, NULL);
	EXPECT_EQ(0, self->rec.n);
	EXPECT_EQ(0, corr_trees(self->c));
	EXPECT_EQ(1, corr_procs(self->c));
}

TEST_F(corr, too_little_taint_is_not_an_alert_until_it_grows)
{
	/* 50 MiB sent by a process that saw just under the threshold */
	READ(T0, MiB - 1);
	SEND(100, &self->ext, T0 + S, 50 * MiB, MiB - 1);
	EXPECT_EQ(0, self->rec.n);
	/* its taint grows after the sends: they now count up to it */
	READ(T0 + 2 * S, 2 * MiB);
	ASSERT_EQ(1, self->rec.n);
	EXPECT_EQ(CORR_NEW, self->rec.ev[0].ev);
	EXPECT_EQ(2 * MiB, self->rec.ev[0].taint);
	EXPECT_EQ(2 * MiB, self->rec.ev[0].bytes_sent);
	EXPECT_EQ(1, self->rec.ev[0].senders);
}

TEST_F(corr, low_and_slow_across_many_processes_adds_up)
{
	int i, raised_at = -1;

	/* fresh processes, each reading 16 KiB and sending it 30 s apart */
	for (i = 0; i < 100; i++) {
		uint64_t t = T0 + i * 30 * S;

		do_read(self->c, 1000 + i, DB, t, 16 * KiB);
		SEND(1000 + i, &self->ext, t + S, 16 * KiB, 16 * KiB);
		corr_tick(self->c, t + 2 * S, NULL);
		if (raised_at < 0 && count(&self->rec, CORR_NEW))
			raised_at = i;
	}
	/* 64 x 16 KiB = 1 MiB of taint: the read threshold */
	EXPECT_EQ(63, raised_at);
	EXPECT_EQ(1, count(&self->rec, CORR_NEW));
	ASSERT_LT(0, self->rec.n);
	EXPECT_EQ(64 * 16 * KiB, self->rec.ev[0].bytes_sent);
	EXPECT_EQ(64, self->rec.ev[0].senders);
	EXPECT_EQ(CORR_TOP, self->rec.ev[0].nr_top);
	/* it went on growing: the last update has them all */
	EXPECT_EQ(100 * 16 * KiB, self->rec.ev[self->rec.n - 1].bytes_sent);
	EXPECT_EQ(100, self->rec.ev[self->rec.n - 1].senders);
}

TEST_F(corr, one_alert_per_watch_and_host)
{
	READ(T0, 4 * MiB);
	do_read(self->c, 101, DB, T0, 4 * MiB);
	do_read(self->c, 102, HR, T0, 4 * MiB);
	/* two processes of one origin, two ports of one host: one alert */
	SEND(100, &self->ext, T0 + S, 200 * KiB, 4 * MiB);
	SEND(101, &self->ext_port2, T0 + S, 200 * KiB, 4 * MiB);
	ASSERT_EQ(1, self->rec.n);
	EXPECT_EQ(2, self->rec.ev[0].nr_dests);
	EXPECT_EQ(400 * KiB, self->rec.ev[0].bytes_sent);
	EXPECT_EQ(8 * MiB, self->rec.ev[0].taint);
	/* another host: another alert */
	SEND(100, &self->ext2, T0 + 2 * S, 1 * MiB, 4 * MiB);
	ASSERT_EQ(2, self->rec.n);
	EXPECT_STREQ("198.18.7.2", self->rec.ev[1].host);
	EXPECT_NE(self->rec.ev[0].id, self->rec.ev[1].id);
	/* another origin to the first host: another alert */
	do_send(self->c, 102, HR, &self->ext, T0 + 3 * S, 1 * MiB, 4 * MiB);
	ASSERT_EQ(3, self->rec.n);
	EXPECT_EQ(HR, self->rec.ev[2].watch_id);
	EXPECT_STREQ("198.18.5.2", self->rec.ev[2].host);
	EXPECT_EQ(3, corr_trees(self->c));
	EXPECT_EQ(3, count(&self->rec, CORR_NEW));
}

TEST_F(corr, internal_and_loopback_destinations_never_alert)
{
	READ(T0, 10 * MiB);
	SEND(100, &self->internal, T0 + S, 10 * MiB, 10 * MiB);
	SEND(100, &self->loop, T0 + S, 10 * MiB, 10 * MiB);
	corr_tick(self->c, T0 + 10 * S, NULL);
	EXPECT_EQ(0, self->rec.n);
	EXPECT_EQ(0, corr_trees(self->c));
}

TEST_F(corr, sends_older_than_the_window_do_not_count)
{
	/* a slow sender: 200 KiB now, 200 KiB two hours later */
	SEND(100, &self->ext, T0, 200 * KiB, 5 * MiB);
	SEND(100, &self->ext, T0 + 2 * WINDOW, 400 * KiB, 5 * MiB);
	EXPECT_EQ(0, self->rec.n);
	/* within one window they do, and its taint counts in this one */
	SEND(100, &self->ext, T0 + 2 * WINDOW + S, 600 * KiB, 5 * MiB);
	ASSERT_EQ(1, self->rec.n);
	EXPECT_EQ(1, self->rec.ev[0].senders);
	/* what reached the senders: its 5 MiB, once */
	EXPECT_EQ(5 * MiB, self->rec.ev[0].taint);
}

TEST_F(corr, a_senders_taint_counts_once_per_window)
{
	/* 600 KiB of taint, sent in dribbles: never 1 MiB of taint */
	SEND(100, &self->ext, T0, 100 * KiB, 600 * KiB);
	SEND(100, &self->ext, T0 + 10 * S, 300 * KiB, 600 * KiB);
	SEND(100, &self->ext, T0 + 20 * S, 600 * KiB, 600 * KiB);
	SEND(100, &self->ext, T0 + 30 * S, 900 * KiB, 600 * KiB);
	corr_tick(self->c, T0 + 40 * S, NULL);
	EXPECT_EQ(0, self->rec.n);
	/* a second sender of 600 KiB makes 1.2 MiB */
	SEND(101, &self->ext, T0 + 50 * S, 600 * KiB, 600 * KiB);
	ASSERT_EQ(1, self->rec.n);
	EXPECT_EQ(1200 * KiB, self->rec.ev[0].taint);
	EXPECT_EQ(2, self->rec.ev[0].senders);
}

TEST_F(corr, replays_and_late_records_change_nothing)
{
	READ(T0, 2 * MiB);
	READ(T0, 2 * MiB);		/* the same record twice */
	READ(T0 + S, 1 * MiB);		/* an older total, late */
	SEND(100, &self->ext, T0 + 2 * S, 300 * KiB, 2 * MiB);
	/* records in between were lost: the total carries them */
	SEND(100, &self->ext, T0 + 3 * S, 900 * KiB, 2 * MiB);
	SEND(100, &self->ext, T0 + 3 * S, 900 * KiB, 2 * MiB);
	/* a late send record shows an older taint: no going back */
	SEND(100, &self->ext, T0 + 3 * S, 800 * KiB, 1 * MiB);
	corr_tick(self->c, T0 + 4 * S, NULL);
	ASSERT_EQ(2, self->rec.n);
	EXPECT_EQ(2 * MiB, self->rec.ev[1].taint);
	EXPECT_EQ(900 * KiB, self->rec.ev[1].bytes_sent);
	EXPECT_EQ(1, self->rec.ev[1].senders);
}

TEST_F(corr, record_delta_is_used_when_the_sensor_had_no_counter)
{
	struct exfilmon_rec_io io = rec(EXFILMON_REC_SEND, 100, DB, T0,
					2 * MiB);

	/* total 0: the sensor's (proc, dest) table was full */
	io.dest = self->ext;
	io.delta = 150 * KiB;
	corr_io(self->c, &io, NULL, NULL, NULL);
	EXPECT_EQ(0, self->rec.n);
	io.hdr.ts_ns = T0 + 1;
	corr_io(self->c, &io, NULL, NULL, NULL);
	ASSERT_EQ(1, self->rec.n);
	EXPECT_EQ(300 * KiB, self->rec.ev[0].bytes_sent);
}

TEST_F(corr, quiet_pairs_are_forgotten_and_a_later_theft_alerts_again)
{
	READ(T0, 2 * MiB);
	SEND(100, &self->ext, T0 + S, 1 * MiB, 2 * MiB);
	ASSERT_EQ(1, self->rec.n);
	corr_tick(self->c, T0 + S + SETTLE, NULL);
	corr_tick(self->c, T0 + 2 * S + WINDOW, NULL);
	EXPECT_EQ(0, corr_trees(self->c));
	/* another process, a day later: a new theft, a new alert */
	do_read(self->c, 101, DB, T0 + 86400 * S, 4 * MiB);
	SEND(101, &self->ext, T0 + 86400 * S + S, 2 * MiB, 4 * MiB);
	EXPECT_EQ(2, count(&self->rec, CORR_NEW));
}

TEST_F(corr, old_bytes_of_a_forgotten_pair_do_not_count_again)
{
	struct exfilmon_pkey key;

	/* 2 MiB of taint and 100 KiB sent, then hours of silence */
	READ(T0, 2 * MiB);
	SEND(100, &self->ext, T0 + S, 100 * KiB, 2 * MiB);
	corr_tick(self->c, T0 + 3 * WINDOW, NULL);
	EXPECT_EQ(0, corr_trees(self->c));
	EXPECT_EQ(1, corr_procs(self->c));
	/* the kernel's totals go on from there: only the new bytes count */
	READ(T0 + 3 * WINDOW + S, 2 * MiB + 10);
	SEND(100, &self->ext, T0 + 3 * WINDOW + 2 * S, 300 * KiB,
	     2 * MiB + 10);
	EXPECT_EQ(0, self->rec.n);
	/* once the process is forgotten, its state goes too */
	key = pk(100);
	corr_forget(self->c, &key, T0 + 3 * WINDOW + 3 * S);
	EXPECT_EQ(0, corr_procs(self->c));
}

TEST_F(corr, settling_waits_for_records_newer_than_the_tick)
{
	READ(T0, 2 * MiB);
	SEND(100, &self->ext, T0 + 10 * S, 1 * MiB, 2 * MiB);
	ASSERT_EQ(1, self->rec.n);
	/* a tick whose clock was read before the last record drained */
	corr_tick(self->c, T0 + 9 * S, NULL);
	EXPECT_EQ(0, count(&self->rec, CORR_SETTLED));
	corr_tick(self->c, T0 + 10 * S + SETTLE, NULL);
	EXPECT_EQ(1, count(&self->rec, CORR_SETTLED));
}

TEST_F(corr, exit_record_brings_the_final_taint)
{
	struct exfilmon_rec_exit ex;

	SEND(100, &self->ext, T0, 5 * MiB, 100 * KiB);
	EXPECT_EQ(0, self->rec.n);
	/* its last reads' records were lost; the exit has the counters */
	memset(&ex, 0, sizeof(ex));
	ex.hdr.type = EXFILMON_REC_EXIT;
	ex.hdr.ts_ns = T0 + S;
	ex.hdr.proc = pk(100);
	ex.tracked = 1;
	ex.proc.taint = 3 * MiB;
	ex.proc.watch_id = DB;
	ex.proc.flags = EXFILMON_PROC_EXITED;
	corr_exit(self->c, &ex, NULL, NULL);
	ASSERT_EQ(1, self->rec.n);
	EXPECT_EQ(3 * MiB, self->rec.ev[0].bytes_sent);
}

TEST(hosts_per_origin_are_bounded)
{
	struct corr_params p = {
		.read_threshold = 1 * MiB, .send_threshold = 256 * KiB,
		.window_ns = WINDOW, .settle_ns = SETTLE, .max_hosts = 4,
	};
	struct exfilmon_dest d;
	struct corr_stats st;
	struct config cfg;
	struct rec r = { 0 };
	struct correlator *c;
	char addr[32], err[256];
	int i;

	ASSERT_EQ(0, config_load_string(&cfg, "t.conf", "", err, sizeof(err)));
	c = corr_new(&p, &cfg, on_alert, &r);
	ASSERT_NE(NULL, c);
	/* a scanner's worth of hosts, each with a little tainted data */
	for (i = 0; i < 10; i++) {
		snprintf(addr, sizeof(addr), "198.18.9.%d", i + 1);
		dest4(&d, addr, 80, EXFILMON_PROTO_TCP);
		do_send(c, 100, DB, &d, T0 + i * S, KiB, 3 * MiB);
	}
	corr_stats(c, &st);
	EXPECT_EQ(4, st.hosts);
	EXPECT_EQ(6, st.hosts_evicted);
	/* the oldest went first: a send to the newest still adds up */
	do_send(c, 100, DB, &d, T0 + 11 * S, 600 * KiB, 3 * MiB);
	ASSERT_EQ(1, r.n);
	EXPECT_EQ(600 * KiB, r.ev[0].bytes_sent);
	EXPECT_STREQ("198.18.9.10", r.ev[0].host);
	/* another origin has room of its own */
	do_send(c, 101, HR, &d, T0 + 12 * S, KiB, 3 * MiB);
	corr_stats(c, &st);
	EXPECT_EQ(5, st.hosts);
	EXPECT_EQ(6, st.hosts_evicted);
	corr_free(c);
	config_free(&cfg);
}

TEST(severity_grades_taint_and_share)
{
	EXPECT_EQ(SEV_LOW, corr_severity(1 * MiB, 256 * KiB, MiB));
	EXPECT_EQ(SEV_MEDIUM, corr_severity(1 * MiB, 1 * MiB, MiB));
	EXPECT_EQ(SEV_MEDIUM, corr_severity(4 * MiB, 300 * KiB, MiB));
	EXPECT_EQ(SEV_HIGH, corr_severity(4 * MiB, 4 * MiB, MiB));
	EXPECT_EQ(SEV_HIGH, corr_severity(16 * MiB, 4 * MiB, MiB));
	EXPECT_EQ(SEV_MEDIUM, corr_severity(16 * MiB, 3 * MiB, MiB));
	EXPECT_EQ(SEV_CRITICAL, corr_severity(64 * MiB, 16 * MiB, MiB));
}

TEST(window_sums_slide)
{
	struct wsum w = { 0 };
	uint64_t width = 60 * S;

	wsum_add(&w, width, T0, 100);
	wsum_add(&w, width, T0 + 30 * 60 * S, 50);
	EXPECT_EQ(150, wsum_total(&w, width, T0 + 30 * 60 * S));
	/* 60 buckets later the first has slid out */
	EXPECT_EQ(50, wsum_total(&w, width, T0 + 60 * 60 * S + 60 * S));
	EXPECT_EQ(0, wsum_total(&w, width, T0 + 3 * 60 * 60 * S));
	/* a sample older than its bucket's occupant is dropped */
	wsum_add(&w, width, T0 + 3 * 60 * 60 * S, 7);
	wsum_add(&w, width, T0 + 2 * 60 * 60 * S, 1000);
	EXPECT_EQ(7, wsum_total(&w, width, T0 + 3 * 60 * 60 * S));
}

/* The reason names the sender, the reader and the way between them. */
TEST(explanation_names_the_chain)
{
	struct alert a;
	struct alert_step steps[3];

	memset(&a, 0, sizeof(a));
	memset(steps, 0, sizeof(steps));
	strcpy(a.comm, "curl");
	strcpy(a.user, "alice");
	strcpy(a.host, "198.18.0.2");
	a.pid = 4103;
	a.bytes_sent = 3 * MiB;
	a.senders = 2;
	a.first_ns = T0;
	a.last_ns = T0 + 72 * S;
	steps[0] = (struct alert_step){ .pid = 4100, .via = VIA_READ,
					.bytes = 9 * MiB, .comm = "sqlite3",
					.object = "/srv/crm/customers.db" };
	steps[1] = (struct alert_step){ .pid = 4101, .via = VIA_PIPE,
					.bytes = 9 * MiB, .comm = "gzip" };
	steps[2] = (struct alert_step){ .pid = 4103, .via = VIA_PIPE,
					.bytes = 3 * MiB, .comm = "curl" };
	a.chain = steps;
	a.nr_chain = 3;
	corr_explain(&a, WINDOW);
	EXPECT_STREQ("curl (pid 4103, user alice) sent 3.0 MiB of watched "
		     "data to 198.18.0.2 within 1.2min (window 1h) (the "
		     "largest of 2 senders): sqlite3 read 9.0 MiB of "
		     "/srv/crm/customers.db and passed on via pipe \xe2\x86\x92"
		     " gzip \xe2\x86\x92 curl", a.reason);

	/* one process that read and sent */
	a.nr_chain = 1;
	a.senders = 1;
	strcpy(steps[0].comm, "curl");
	corr_explain(&a, WINDOW);
	EXPECT_STREQ("curl (pid 4103, user alice) sent 3.0 MiB of watched "
		     "data to 198.18.0.2 within 1.2min (window 1h): it read "
		     "9.0 MiB of /srv/crm/customers.db", a.reason);
}

TEST_HARNESS_MAIN
