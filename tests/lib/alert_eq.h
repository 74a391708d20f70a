/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * assert_alert_eq(): two alerts are field for field the same, their flow
 * figures (taint, senders) and chain step for step included. Include after
 * kselftest_harness.h (it uses ASSERT_*).
 */
#ifndef EXFILMON_TEST_ALERT_EQ_H
#define EXFILMON_TEST_ALERT_EQ_H

#include "alert.h"

static inline void assert_alert_eq(struct __test_metadata *_metadata,
				   const struct alert *e, const struct alert *s)
{
	size_t i;

	ASSERT_EQ(e->id, s->id);
	ASSERT_EQ(e->time_us, s->time_us);
	ASSERT_EQ(e->updated_us, s->updated_us);
	ASSERT_EQ(e->first_ns, s->first_ns);
	ASSERT_EQ(e->last_ns, s->last_ns);
	ASSERT_EQ(e->severity, s->severity);
	ASSERT_EQ(e->pid, s->pid);
	ASSERT_EQ(e->ppid, s->ppid);
	ASSERT_EQ(e->uid, s->uid);
	ASSERT_STREQ(e->user, s->user);
	ASSERT_STREQ(e->comm, s->comm);
	ASSERT_STREQ(e->exe, s->exe);
	ASSERT_STREQ(e->cmdline, s->cmdline);
	ASSERT_STREQ(e->host, s->host);
	ASSERT_EQ(e->bytes_read, s->bytes_read);
	ASSERT_EQ(e->bytes_sent, s->bytes_sent);
	ASSERT_STREQ(e->sensor, s->sensor);
	ASSERT_STREQ(e->reason, s->reason);
	ASSERT_EQ(e->nr_files, s->nr_files);
	for (i = 0; i < e->nr_files; i++) {
		ASSERT_STREQ(e->files[i].path, s->files[i].path);
		ASSERT_EQ(e->files[i].bytes_read, s->files[i].bytes_read);
	}
	ASSERT_EQ(e->nr_dests, s->nr_dests);
	for (i = 0; i < e->nr_dests; i++) {
		ASSERT_STREQ(e->dests[i].addr, s->dests[i].addr);
		ASSERT_EQ(e->dests[i].port, s->dests[i].port);
		ASSERT_EQ(e->dests[i].proto, s->dests[i].proto);
		ASSERT_EQ(e->dests[i].bytes_sent, s->dests[i].bytes_sent);
	}
	ASSERT_EQ(e->nr_ancestry, s->nr_ancestry);
	for (i = 0; i < e->nr_ancestry; i++) {
		ASSERT_EQ(e->ancestry[i].pid, s->ancestry[i].pid);
		ASSERT_EQ(e->ancestry[i].ppid, s->ancestry[i].ppid);
		ASSERT_EQ(e->ancestry[i].uid, s->ancestry[i].uid);
		ASSERT_STREQ(e->ancestry[i].comm, s->ancestry[i].comm);
		ASSERT_STREQ(e->ancestry[i].exe, s->ancestry[i].exe);
	}
	ASSERT_EQ(e->taint, s->taint);
	ASSERT_EQ(e->senders, s->senders);
	ASSERT_EQ(e->nr_chain, s->nr_chain);
	for (i = 0; i < e->nr_chain; i++) {
		ASSERT_EQ(e->chain[i].pid, s->chain[i].pid);
		ASSERT_EQ(e->chain[i].via, s->chain[i].via);
		ASSERT_EQ(e->chain[i].bytes, s->chain[i].bytes);
		ASSERT_STREQ(e->chain[i].comm, s->chain[i].comm);
		ASSERT_STREQ(e->chain[i].exe, s->chain[i].exe);
		ASSERT_STREQ(e->chain[i].object, s->chain[i].object);
	}
}

#endif
