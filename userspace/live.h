/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Live counters: the sensor announces a watched read or a send only now
 * and then (exfilmon_announce(), include/exfilmon_abi.h), so the daemon
 * looks every counter it heard of up in the sensor's tables until the
 * counter has gone quiet. docs/design.md "Coalescing".
 */
#ifndef EXFILMON_LIVE_H
#define EXFILMON_LIVE_H

#include <stddef.h>
#include <stdint.h>
#include "exfilmon_abi.h"
#include "hashtab.h"
#include "sensor.h"

/* More than this many live counters: the tick re-reads every table. */
#define LIVE_MAX 16384

struct live_set {
	struct hashtab tab;
	int overflow;		/* a counter was not kept: re-read the tables */
};

int live_init(struct live_set *l);
void live_destroy(struct live_set *l);
size_t live_count(const struct live_set *l);

/* A record from the sensor: keep its counter if it is a coalesced one. */
void live_note(struct live_set *l, const struct exfilmon_rec_io *io);

/*
 * Look every live counter up and hand fn its total as a record (the last
 * record announced, with the total, time and process counters of now);
 * forget counters quiet for 2 * EXFILMON_QUIET_NS, or gone.
 */
void live_settle(struct live_set *l, struct sensor *s, uint64_t now,
		 void (*fn)(void *ctx, const struct exfilmon_rec_io *io),
		 void *ctx);

#endif
