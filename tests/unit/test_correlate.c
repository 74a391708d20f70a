// SPDX-License-Identifier: GPL-2.0-only
/*
 * The correlator as a specification: cumulative counters in, exactly one
 * alert per (process tree, host) out, and none for innocent patterns.
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

struct seen_ev {
	enum corr_event ev;
	uint64_t bytes_read;
	uint64_t bytes_sent;
	uint32_t pid;
	char host[ALERT_ADDR_LEN];
	size_t nr_dests;
	size_t nr_files;
	int severity;
	void *id;		/* the corr_alert: same pointer, same alert */
};

struct rec {
	struct seen_ev ev[32];
	int n;
};

static void on_alert(void *ctx, struct corr_alert *ca, enum corr_event ev)
{
	struct rec *r = ctx;
	struct seen_ev *s;

	if (r->n >= 32)
		return;
	s = &r->ev[r->n++];
	s->ev = ev;
	s->bytes_read = ca->a.bytes_read;
	s->bytes_sent = ca->a.bytes_sent;
	s->pid = ca->a.pid;
	strcpy(s->host, ca->a.host);
	s->nr_dests = ca->a.nr_dests;
	s->nr_files = ca->a.nr_files;
	s->severity = ca->a.severity;
	s->id = ca;
}

static int count(const struct rec *r, enum corr_event ev)
{
	int i, n = 0;

	for (i = 0; i < r->n; i++)
		n += r->ev[i].ev == ev;
	return n;
}

FIXTURE(corr) {
	struct config cfg;
	struct correlator *c;
	struct rec rec;
	struct exfilmon_pkey reader, child;
	struct exfilmon_file_key db, other;
	struct exfilmon_dest ext, ext2, internal, loop, ext_port2;
};

static void dest4(struct exfilmon_dest *d, const char *addr, uint16_t port,
		  uint8_t proto)
{
	memset(d, 0, sizeof(*d));
	d->family = EXFILMON_AF_INET;
	d->port = port;
	d->proto = proto;
	inet_pton(AF_INET, addr, d->addr);
}

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
	self->reader = (struct exfilmon_pkey){ .tgid = 100, .start_ns = 5 };
	self->child = (struct exfilmon_pkey){ .tgid = 101, .start_ns = 6 };
	self->db = (struct exfilmon_file_key){ .dev = 8 << 20 | 1, .ino = 42 };
	self->other = (struct exfilmon_file_key){ .dev = 8 << 20 | 1,
						  .ino = 43 };
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

/* the reader read `total` bytes of the db so far, at t */
#define READ(t, total) corr_read(self->c, &self->reader, &self->reader, \
				 &self->db, 1, (total), 0, (t))
#define SEND(proc, dest, t, total) corr_send(self->c, (proc), &self->reader, \
					     (dest), (total), 0, (t))

TEST_F(corr, one_theft_is_one_alert_updated_then_settled)
{
	READ(T0, 3 * MiB);
	SEND(&self->reader, &self->ext, T0 + S, 100 * KiB);
	EXPECT_EQ(0, self->rec.n);	/* below send_threshold */
	SEND(&self->reader, &self->ext, T0 + 2 * S, 300 * KiB);
	ASSERT_EQ(1, self->rec.n);
	EXPECT_EQ(CORR_NEW, self->rec.ev[0].ev);
	EXPECT_EQ(3 * MiB, self->rec.ev[0].bytes_read);
	EXPECT_EQ(300 * KiB, self->rec.ev[0].bytes_sent);
	EXPECT_STREQ("198.18.5.2", self->rec.ev[0].host);
	EXPECT_EQ(100, self->rec.ev[0].pid);

	/* more of the same theft: updates, never a second alert */
	SEND(&self->reader, &self->ext, T0 + 3 * S, 2 * MiB);
	SEND(&self->reader, &self->ext, T0 + 4 * S, 3 * MiB);
	EXPECT_EQ(1, self->rec.n);
	corr_tick(self->c, T0 + 5 * S);
	ASSERT_EQ(2, self->rec.n);
	EXPECT_EQ(CORR_UPDATE, self->rec.ev[1].ev);
	EXPECT_EQ(self->rec.ev[0].id, self->rec.ev[1].id);
	EXPECT_EQ(3 * MiB, self->rec.ev[1].bytes_sent);
	corr_tick(self->c, T0 + 6 * S);		/* nothing new: quiet */
	EXPECT_EQ(2, self->rec.n);
	corr_tick(self->c, T0 + 4 * S + SETTLE);
	ASSERT_EQ(3, self->rec.n);
	EXPECT_EQ(CORR_SETTLED, self->rec.ev[2].ev);
	EXPECT_EQ(1, count(&self->rec, CORR_NEW));
	/* 3 MiB read, 100 % sent: share >= 50 % */
	EXPECT_EQ(SEV_MEDIUM, self->rec.ev[2].severity);
}

TEST_F(corr, reading_without_sending_is_not_an_alert)
{
	READ(T0, 500 * MiB);
	corr_tick(self->c, T0 + 10 * S);
	EXPECT_EQ(0, self->rec.n);
	EXPECT_EQ(1, corr_trees(self->c));
}

TEST_F(corr, small_summary_after_reading_everything_is_not_an_alert)
{
	READ(T0, 100 * MiB);
	SEND(&self->reader, &self->ext, T0 + S, 255 * KiB);
	corr_tick(self->c, T0 + 10 * S);
	EXPECT_EQ(0, self->rec.n);
}

TEST_F(corr, too_little_read_is_not_an_alert)
{
	READ(T0, MiB - 1);
	SEND(&self->reader, &self->ext, T0 + S, 50 * MiB);
	EXPECT_EQ(0, self->rec.n);
	/* one more byte read completes it: reads after sends count too */
	READ(T0 + 2 * S, MiB);
	ASSERT_EQ(1, self->rec.n);
	EXPECT_EQ(CORR_NEW, self->rec.ev[0].ev);
}

TEST_F(corr, internal_and_loopback_destinations_never_alert)
{
	READ(T0, 10 * MiB);
	SEND(&self->reader, &self->internal, T0 + S, 10 * MiB);
	SEND(&self->reader, &self->loop, T0 + S, 10 * MiB);
	corr_tick(self->c, T0 + 10 * S);
	EXPECT_EQ(0, self->rec.n);
}

TEST_F(corr, reads_older_than_the_window_do_not_count)
{
	READ(T0, 5 * MiB);
	SEND(&self->reader, &self->ext, T0 + WINDOW + 2 * 60 * S, 5 * MiB);
	EXPECT_EQ(0, self->rec.n);
}

TEST_F(corr, cumulative_totals_are_idempotent_and_survive_loss)
{
	READ(T0, 2 * MiB);
	READ(T0, 2 * MiB);		/* the same record twice */
	READ(T0 + S, 1 * MiB);		/* an older total, late */
	SEND(&self->reader, &self->ext, T0 + 2 * S, 300 * KiB);
	/* records in between were lost: the total carries them */
	SEND(&self->reader, &self->ext, T0 + 3 * S, 900 * KiB);
	SEND(&self->reader, &self->ext, T0 + 3 * S, 900 * KiB);
	corr_tick(self->c, T0 + 4 * S);
	ASSERT_EQ(2, self->rec.n);
	EXPECT_EQ(2 * MiB, self->rec.ev[1].bytes_read);
	EXPECT_EQ(900 * KiB, self->rec.ev[1].bytes_sent);
}

TEST_F(corr, record_delta_is_used_when_the_sensor_had_no_counter)
{
	/* total 0: the sensor's (proc, file) table was full */
	corr_read(self->c, &self->reader, &self->reader, &self->db, 1, 0,
		  600 * KiB, T0);
	corr_read(self->c, &self->reader, &self->reader, &self->db, 1, 0,
		  600 * KiB, T0 + 1);
	SEND(&self->reader, &self->ext, T0 + S, 300 * KiB);
	ASSERT_EQ(1, self->rec.n);
	EXPECT_EQ(1200 * KiB, self->rec.ev[0].bytes_read);
}

TEST_F(corr, a_tree_sums_its_processes_and_names_the_sender)
{
	/* the reader read; its child (same origin) sends */
	READ(T0, 2 * MiB);
	SEND(&self->child, &self->ext, T0 + S, 200 * KiB);
	EXPECT_EQ(0, self->rec.n);
	SEND(&self->reader, &self->ext, T0 + 2 * S, 100 * KiB);
	ASSERT_EQ(1, self->rec.n);
	EXPECT_EQ(300 * KiB, self->rec.ev[0].bytes_sent);
	EXPECT_EQ(100, self->rec.ev[0].pid);
	EXPECT_EQ(1, corr_trees(self->c));
}

TEST_F(corr, one_alert_per_host_listing_each_port)
{
	READ(T0, 4 * MiB);
	SEND(&self->reader, &self->ext, T0 + S, 200 * KiB);
	SEND(&self->reader, &self->ext_port2, T0 + S, 200 * KiB);
	SEND(&self->reader, &self->ext2, T0 + S, 1 * MiB);
	ASSERT_EQ(2, self->rec.n);
	EXPECT_EQ(CORR_NEW, self->rec.ev[0].ev);
	EXPECT_EQ(2, self->rec.ev[0].nr_dests);
	EXPECT_EQ(400 * KiB, self->rec.ev[0].bytes_sent);
	EXPECT_STREQ("198.18.7.2", self->rec.ev[1].host);
	EXPECT_NE(self->rec.ev[0].id, self->rec.ev[1].id);
}

TEST_F(corr, files_are_listed_separately)
{
	READ(T0, 600 * KiB);
	corr_read(self->c, &self->reader, &self->reader, &self->other, 1,
		  600 * KiB, 0, T0);
	SEND(&self->reader, &self->ext, T0 + S, 1 * MiB);
	ASSERT_EQ(1, self->rec.n);
	EXPECT_EQ(2, self->rec.ev[0].nr_files);
	EXPECT_EQ(1200 * KiB, self->rec.ev[0].bytes_read);
}

TEST_F(corr, quiet_trees_are_forgotten_and_a_later_theft_alerts_again)
{
	READ(T0, 2 * MiB);
	SEND(&self->reader, &self->ext, T0 + S, 1 * MiB);
	ASSERT_EQ(1, self->rec.n);
	corr_tick(self->c, T0 + S + SETTLE);
	corr_tick(self->c, T0 + 2 * S + WINDOW);
	EXPECT_EQ(0, corr_trees(self->c));
	/* the same process, a day later: a new theft, a new alert */
	READ(T0 + 86400 * S, 4 * MiB);
	SEND(&self->reader, &self->ext, T0 + 86400 * S + S, 2 * MiB);
	EXPECT_EQ(2, count(&self->rec, CORR_NEW));
}

TEST_F(corr, old_bytes_of_a_forgotten_tree_do_not_count_again)
{
	/* 2 MiB read and 100 KiB sent, then hours of silence */
	READ(T0, 2 * MiB);
	SEND(&self->reader, &self->ext, T0 + S, 100 * KiB);
	corr_tick(self->c, T0 + 3 * WINDOW);
	EXPECT_EQ(0, corr_trees(self->c));
	EXPECT_EQ(1, corr_procs(self->c));
	/* the kernel's totals go on from there: only the new bytes count */
	READ(T0 + 3 * WINDOW + S, 2 * MiB + 10);
	SEND(&self->reader, &self->ext, T0 + 3 * WINDOW + 2 * S, 300 * KiB);
	EXPECT_EQ(0, self->rec.n);
	/* once the process is forgotten, its state goes too */
	corr_forget(self->c, &self->reader);
	EXPECT_EQ(0, corr_procs(self->c));
}

TEST_F(corr, settling_waits_for_records_newer_than_the_tick)
{
	READ(T0, 2 * MiB);
	SEND(&self->reader, &self->ext, T0 + 10 * S, 1 * MiB);
	ASSERT_EQ(1, self->rec.n);
	/* a tick whose clock was read before the last record drained */
	corr_tick(self->c, T0 + 9 * S);
	EXPECT_EQ(0, count(&self->rec, CORR_SETTLED));
	corr_tick(self->c, T0 + 10 * S + SETTLE);
	EXPECT_EQ(1, count(&self->rec, CORR_SETTLED));
}

TEST(severity_grades_amount_and_share)
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

TEST_HARNESS_MAIN
