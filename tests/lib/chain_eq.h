/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * assert_alert_flow_eq(): two alerts have the same flow figures (taint,
 * senders) and the same chain, step for step. Used with assert_alert_eq().
 * Include after kselftest_harness.h (it uses ASSERT_*).
 */
#ifndef EXFILMON_TEST_CHAIN_EQ_H
#define EXFILMON_TEST_CHAIN_EQ_H

#include "alert.h"

static inline void assert_alert_flow_eq(struct __test_metadata *_metadata,
					const struct alert *e,
					const struct alert *s)
{
	size_t i;

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
