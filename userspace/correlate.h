/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Correlation: for each process tree (the processes sharing one taint
 * origin), watched bytes read within a sliding window against bytes sent
 * to each non-internal host within the same window. When both cross their
 * thresholds the tree gets one alert for that host, which is then updated
 * as more bytes flow, never repeated.
 *
 * Input is cumulative counters (per process and file, per process and
 * destination), so a record seen twice or lost in between changes nothing:
 * the next total carries every byte.
 */
#ifndef EXFILMON_CORRELATE_H
#define EXFILMON_CORRELATE_H

#include <stddef.h>
#include <stdint.h>
#include "exfilmon_abi.h"
#include "alert.h"
#include "config.h"

#define CORR_BUCKETS 60		/* window resolution: window / 60 */

/* A sliding sum over the last CORR_BUCKETS buckets of width w. */
struct wsum {
	uint64_t bytes[CORR_BUCKETS];
	uint64_t slot[CORR_BUCKETS];	/* absolute bucket number + 1 */
};

enum corr_event {
	CORR_NEW,	/* an alert was raised: store it, log it now */
	CORR_UPDATE,	/* more bytes: store it (at most once a tick) */
	CORR_SETTLED,	/* quiet for settle_ns since the last change */
};

struct corr_alert {
	struct alert a;
	struct exfilmon_pkey origin;
	uint8_t family;			/* host, as the sensor gives it */
	uint8_t addr[16];
	int dirty;			/* changed since last emitted */
	int settled;			/* CORR_SETTLED emitted since change */
	uint64_t changed_ns;		/* CLOCK_BOOTTIME of last change */
	/* the files behind a.files, index for index */
	struct exfilmon_file_key *file_keys;
	uint32_t *watch_ids;
};

struct corr_params {
	uint64_t read_threshold;
	uint64_t send_threshold;
	uint64_t window_ns;
	uint64_t settle_ns;
};

typedef void (*corr_emit_fn)(void *ctx, struct corr_alert *ca,
			     enum corr_event ev);

struct correlator;

struct correlator *corr_new(const struct corr_params *p,
			    const struct config *cfg, corr_emit_fn emit,
			    void *ctx);
void corr_free(struct correlator *c);	/* accepts NULL */

/*
 * proc read watched file (watch_id) and has now read total bytes of it;
 * delta is this record's own count, used only when total is 0 (the
 * sensor's per-file table was full).
 */
void corr_read(struct correlator *c, const struct exfilmon_pkey *proc,
	       const struct exfilmon_pkey *origin,
	       const struct exfilmon_file_key *file, uint32_t watch_id,
	       uint64_t total, uint64_t delta, uint64_t ts_ns);
/* proc has now sent total bytes to dest. */
void corr_send(struct correlator *c, const struct exfilmon_pkey *proc,
	       const struct exfilmon_pkey *origin,
	       const struct exfilmon_dest *dest, uint64_t total,
	       uint64_t delta, uint64_t ts_ns);

/* The process is gone and its last totals were fed: drop its state. */
void corr_forget(struct correlator *c, const struct exfilmon_pkey *proc);
/* Processes whose totals are remembered. */
size_t corr_procs(const struct correlator *c);

/* Emit pending updates and settlements, and forget quiet trees. */
void corr_tick(struct correlator *c, uint64_t now_ns);

/* Process trees with activity inside the window. */
size_t corr_trees(const struct correlator *c);

/* SEV_* from the amount read and the share of it sent. */
int corr_severity(uint64_t bytes_read, uint64_t bytes_sent,
		  uint64_t read_threshold);

/* Write a.reason from the alert's filled-in fields. */
void corr_explain(struct alert *a, uint64_t window_ns);

/* Exposed for tests. */
void wsum_add(struct wsum *w, uint64_t width, uint64_t ts, uint64_t n);
uint64_t wsum_total(const struct wsum *w, uint64_t width, uint64_t now);

#endif
