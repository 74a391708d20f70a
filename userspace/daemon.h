/* SPDX-License-Identifier: GPL-2.0-only */
/* exfilmond's state, shared by its event loop and its request handlers. */
#ifndef EXFILMON_DAEMON_H
#define EXFILMON_DAEMON_H

#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "collected.h"
#include "config.h"
#include "correlate.h"
#include "flowgraph.h"
#include "ipc.h"
#include "jsonlog.h"
#include "live.h"
#include "policy.h"
#include "proctree.h"
#include "sensor.h"
#include "store.h"
#include "watch.h"

struct daemon {
	struct config cfg;
	/*
	 * Resets a refused TCP connection (sockreset.c); NULL: never (the
	 * fuzz targets feed made-up records, whose sockets must stay).
	 */
	int (*sock_reset)(uint8_t proto, const struct exfilmon_dest *local,
			  const struct exfilmon_dest *peer);
	struct sensor *sensor;
	struct store *store;
	struct jsonlog *jsonlog;
	struct proctree procs;
	struct correlator *corr;
	struct watchlist watches;
	gid_t reader_gid;		/* (gid_t)-1: root only */

	uint64_t started_ns;		/* CLOCK_BOOTTIME */
	uint64_t seen_stats[EXFILMON_STAT_NR];	/* sensor counters acted on */
	struct flowgraph_stats seen_flow;	/* graph evictions logged */
	uint64_t seen_hosts_evicted;
	struct exfilmon_pkey *exited;	/* tracked processes to collect */
	size_t nr_exited;
	int store_failing;		/* last store write failed */
	uint64_t records;		/* sensor records taken in */
	struct live_set live;		/* coalesced counters to look up */
	struct collected collected;	/* exited entries taken from a walk */
	uint64_t settled_ns;		/* CLOCK_BOOTTIME of the last look-up */
	int resync;			/* took over a state: read it all */
	int took_over;			/* ... and its alerts go on */
	struct {
		uint64_t count;		/* self-checks that found tampering */
		uint64_t mended;	/* things found changed and mended */
		int64_t last_us;	/* CLOCK_REALTIME of the last */
		char last[1024];	/* what it found */
	} tamper;
	struct policy_state policy;	/* prevent mode: policy.c */
};

/* CLOCK_BOOTTIME / CLOCK_REALTIME now. */
uint64_t now_boot_ns(void);
int64_t now_real_us(void);
/* A CLOCK_BOOTTIME stamp as CLOCK_REALTIME microseconds. */
int64_t boot_to_real_us(uint64_t boot_ns);

/*
 * Check the sensor against what we made of it, every SELFCHECK_TICKS
 * ticks: selfcheck.c. A finding is mended and raised with daemon_tamper().
 */
#define SELFCHECK_TICKS	5
int daemon_selfcheck(struct daemon *d);
void daemon_tamper(struct daemon *d, const char *what);

/* Answer one request from peer; *reply is a new JSON object. */
struct json_object *daemon_handle(struct daemon *d,
				  const struct ipc_peer *peer,
				  struct json_object *req);

/* What the flow graph needs of the daemon: the store, watch paths. */
void daemon_flow_env(struct daemon *d, struct flow_env *env);

/* The correlator's alert callback. */
void daemon_on_alert(void *ctx, struct corr_alert *ca, enum corr_event ev);
/* A sensor record. */
int daemon_on_record(void *ctx, const struct exfilmon_rec_hdr *h,
		     size_t len);
/*
 * Once a second: collect exited processes, reconcile after drops, store
 * derived marks that grew.
 */
void daemon_tick(struct daemon *d);
/*
 * Look up the live counters (live.h), at most every LIVE_SETTLE_NS. Returns
 * how many are still live: the caller comes back while any are.
 */
#define LIVE_SETTLE_NS (10 * 1000 * 1000ull)
size_t daemon_settle(struct daemon *d);

/*
 * Re-read the configuration file (SIGHUP, exfilctl reload; by names who
 * asked, for the log). All or nothing: on an error, err holds
 * "file:line: ..." and the running configuration stays. Keys only a
 * restart can change are logged and keep their running values. Reopens
 * the JSON log. Tells systemd RELOADING=1, then READY=1.
 */
int daemon_reload(struct daemon *d, const char *by, char *err, size_t errlen);

/* The readers' group ([daemon] group); (gid_t)-1 when it does not exist. */
gid_t daemon_reader_gid(const char *group);
/* Give the socket, state_dir, store and JSON log to the readers' group. */
void daemon_share(struct daemon *d);

#endif
