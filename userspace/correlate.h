/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Correlation (docs/flow.md, "Correlation"): for each origin (a configured
 * watch) and destination host, the tainted bytes sent there and the taint
 * of the processes that sent them, each over a sliding window. A process
 * counts at most its taint, min(sent(P, host), P.taint): an untainted
 * upload counts nothing, and a process that saw 2 KiB of the database
 * counts 2 KiB however much it sends. When both sums cross their
 * thresholds the (origin, host) pair gets one alert, which is then updated
 * as more bytes flow, never repeated.
 *
 * Input is the sensor's records, whose figures are cumulative (per process
 * and object, per process and destination, and the process's own
 * counters), so a record seen twice or lost in between changes nothing:
 * the next total carries every byte. The correlator also keeps the flow
 * graph (flowgraph.h) that names each alert's chain.
 */
#ifndef EXFILMON_CORRELATE_H
#define EXFILMON_CORRELATE_H

#include <stddef.h>
#include <stdint.h>
#include "exfilmon_abi.h"
#include "alert.h"
#include "config.h"
#include "flowgraph.h"

#define CORR_BUCKETS	60	/* window resolution: window / 60 */
#define CORR_TOP	8	/* largest senders kept per (origin, host) */
#define CORR_PORTS	32	/* ports listed per (origin, host) */
#define CORR_MAX_HOSTS	4096	/* hosts per origin, by default */

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
	uint32_t watch_id;		/* the origin */
	uint8_t family;			/* host, as the sensor gives it */
	uint8_t addr[16];
	int dirty;			/* changed since last emitted */
	int settled;			/* CORR_SETTLED emitted since change */
	uint64_t changed_ns;		/* CLOCK_BOOTTIME of last change */
	/* the largest senders, largest first: the chain is top[0]'s */
	struct exfilmon_pkey top[CORR_TOP];
	size_t nr_top;
};

struct corr_params {
	uint64_t read_threshold;	/* taint that must reach the senders */
	uint64_t send_threshold;	/* tainted bytes sent */
	uint64_t window_ns;
	uint64_t settle_ns;
	uint32_t max_hosts;		/* per origin; 0: CORR_MAX_HOSTS */
	uint32_t max_procs;		/* flow graph; 0: FLOW_MAX_PROCS */
	uint32_t max_files;		/* flow graph; 0: FLOW_MAX_FILES */
};

struct corr_stats {
	size_t procs;			/* processes whose totals are known */
	size_t hosts;			/* (origin, host) pairs */
	uint64_t hosts_evicted;		/* pairs dropped for room */
};

typedef void (*corr_emit_fn)(void *ctx, struct corr_alert *ca,
			     enum corr_event ev);

struct correlator;

struct correlator *corr_new(const struct corr_params *p,
			    const struct config *cfg, corr_emit_fn emit,
			    void *ctx);
void corr_free(struct correlator *c);	/* accepts NULL */
/* [correlation] read_threshold and send_threshold, on reload */
void corr_set_thresholds(struct correlator *c, uint64_t read_threshold,
			 uint64_t send_threshold);

/*
 * A REC_READ, REC_FLOW or REC_SEND record, or one made up from a table
 * walk (chan NONE: not known). comm and exe are the process's names now
 * (NULL: not known). A total of 0 means the sensor had no counter for the
 * pair (its table was full): the record's delta is used instead.
 */
void corr_io(struct correlator *c, const struct exfilmon_rec_io *io,
	     const char *comm, const char *exe, const struct flow_env *env);
/*
 * A REC_BLOCK record: prevent mode refused the process a transfer. It
 * raises (or marks) the (origin, host) alert as blocked.
 */
void corr_block(struct correlator *c, const struct exfilmon_rec_block *r,
		const char *comm, const char *exe);
/* A REC_DERIVED record: a file became derived. */
void corr_derived(struct correlator *c, const struct exfilmon_rec_derived *r,
		  const struct flow_env *env);
/* The process ran a new image. */
void corr_exec(struct correlator *c, const struct exfilmon_pkey *proc,
	       const char *comm, const char *exe);
/* A REC_EXIT record of a tracked process: its final counters. */
void corr_exit(struct correlator *c, const struct exfilmon_rec_exit *r,
	       const char *comm, const char *exe);

/*
 * The process is gone and its last totals were fed: drop its totals. Its
 * place in the chains stays for the window.
 */
void corr_forget(struct correlator *c, const struct exfilmon_pkey *proc,
		 uint64_t now_ns);
/* Processes whose totals are remembered. */
size_t corr_procs(const struct correlator *c);

/*
 * Emit pending updates and settlements, forget quiet (origin, host) pairs,
 * store derived marks that grew.
 */
void corr_tick(struct correlator *c, uint64_t now_ns,
	       const struct flow_env *env);

/* (origin, host) pairs with activity inside the window. */
size_t corr_trees(const struct correlator *c);
void corr_stats(const struct correlator *c, struct corr_stats *st);

/* The chains behind the alerts. */
struct flowgraph *corr_graph(struct correlator *c);

/* SEV_* from the taint that reached the senders and the share sent. */
int corr_severity(uint64_t taint, uint64_t bytes_sent,
		  uint64_t read_threshold);

/* Write a.reason from the alert's filled-in fields and chain. */
void corr_explain(struct alert *a, uint64_t window_ns);

/* Exposed for tests. */
void wsum_add(struct wsum *w, uint64_t width, uint64_t ts, uint64_t n);
uint64_t wsum_total(const struct wsum *w, uint64_t width, uint64_t now);

#endif
