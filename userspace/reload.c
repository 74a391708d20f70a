// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reloading the configuration (SIGHUP, `exfilctl reload`). The new file is
 * parsed whole before anything changes, and every step that can fail (a
 * watch path, a new JSON log) is done before the ones that cannot, so a
 * reload either takes effect entirely or leaves the running configuration
 * as it was, with the reason logged as file:line.
 *
 * What sizes kernel tables, names the socket or the store, or shapes the
 * correlator's buckets is fixed for the life of the sensor and the
 * daemon: a change there is reported and kept for the next start.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include "daemon.h"
#include "log.h"
#include "units.h"

/*
 * A key only a restart can change keeps its running value; the change is
 * logged, and counted in *kept.
 */
static void keep_str(char **nv, const char *ov, const char *name, int *kept)
{
	/* both are set (config_defaults()); gcc cannot tell under ASan */
	if (!*nv || !ov || !strcmp(*nv, ov))
		return;
	log_warn("reload: %s changed from %s to %s: takes effect when "
		 "exfilmond restarts", name, ov, *nv);
	(*kept)++;
	free(*nv);
	*nv = strdup(ov);
}

static void keep_u64(uint64_t *nv, uint64_t ov, const char *name, int *kept)
{
	if (*nv == ov)
		return;
	log_warn("reload: %s changed from %llu to %llu: takes effect when "
		 "exfilmond restarts", name, (unsigned long long)ov,
		 (unsigned long long)*nv);
	(*kept)++;
	*nv = ov;
}

static void keep_duration(uint64_t *nv, uint64_t ov, const char *name,
			  int *kept)
{
	char o[32], n[32];

	if (*nv == ov)
		return;
	format_duration(ov, o, sizeof(o));
	format_duration(*nv, n, sizeof(n));
	log_warn("reload: %s changed from %s to %s: takes effect when "
		 "exfilmond restarts", name, o, n);
	(*kept)++;
	*nv = ov;
}

static void keep_u32(uint32_t *nv, uint32_t ov, const char *name, int *kept)
{
	uint64_t v = *nv;

	keep_u64(&v, ov, name, kept);
	*nv = v;
}

static int keep_restart_only(struct config *nc, const struct config *oc,
			     int *kept)
{
	*kept = 0;
	keep_str(&nc->state_dir, oc->state_dir, "[daemon] state_dir", kept);
	keep_str(&nc->socket, oc->socket, "[daemon] socket", kept);
	/* the correlator's buckets are window / 60 wide */
	keep_duration(&nc->window_ns, oc->window_ns, "[correlation] window",
		      kept);
	keep_u32(&nc->max_procs, oc->max_procs, "[sensor] max_procs", kept);
	keep_u32(&nc->max_reads, oc->max_reads, "[sensor] max_reads", kept);
	keep_u32(&nc->max_sends, oc->max_sends, "[sensor] max_sends", kept);
	keep_u32(&nc->max_watch, oc->max_watch, "[sensor] max_watch", kept);
	keep_u32(&nc->max_streams, oc->max_streams, "[sensor] max_streams",
		 kept);
	keep_u32(&nc->max_flows, oc->max_flows, "[sensor] max_flows", kept);
	keep_u32(&nc->ring_kib, oc->ring_kib, "[sensor] ring_kib", kept);
	if (!nc->state_dir || !nc->socket)
		return -ENOMEM;
	return config_follow_state_dir(nc);
}

static int in_list(char *const *list, size_t nr, const char *s)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (!strcmp(list[i], s))
			return 1;
	return 0;
}

/* Take back the watches add_watches() added for nc's first nr paths. */
static void undo_watches(struct daemon *d, const struct config *nc, size_t nr)
{
	char why[1024];
	size_t j;

	for (j = 0; j < nr; j++) {
		const struct watch_entry *e = watchlist_find(&d->watches,
							     nc->watch[j]);

		if (e && e->from_config &&
		    !in_list(d->cfg.watch, d->cfg.nr_watch, nc->watch[j]))
			watchlist_rm(&d->watches, nc->watch[j], why,
				     sizeof(why));
	}
}

/*
 * Add the new configuration's watch paths the list lacks. On a failure,
 * take back what this call added and name the line.
 */
static int add_watches(struct daemon *d, const struct config *nc,
		       char *err, size_t errlen, size_t *added)
{
	char why[1024];
	size_t i;
	int ret;

	*added = 0;
	for (i = 0; i < nc->nr_watch; i++) {
		if (watchlist_find(&d->watches, nc->watch[i]))
			continue;
		ret = watchlist_add(&d->watches, nc->watch[i], 1, why,
				    sizeof(why));
		if (ret) {
			snprintf(err, errlen, "%s:%d: path = %s", nc->path,
				 nc->watch_line[i], why);
			undo_watches(d, nc, i);
			return ret;
		}
		(*added)++;
	}
	return 0;
}

/* What settle_watches() will decide, asked before it runs. */
struct staying {
	struct daemon *d;
	const struct config *nc;
	char **stored;
	size_t nr_stored;
};

/* 0 for a watch the old file named, the new one does not, nor the store */
static int watch_stays(void *ctx, const struct watch_entry *e)
{
	struct staying *s = ctx;

	return !in_list(s->d->cfg.watch, s->d->cfg.nr_watch, e->path) ||
	       in_list(s->nc->watch, s->nc->nr_watch, e->path) ||
	       in_list(s->stored, s->nr_stored, e->path);
}

/*
 * The new policy, for the watches there will be, before anything that
 * cannot be undone: a sensor that cannot refuse fails the reload into
 * prevent mode, and the running configuration stays.
 */
static int apply_policy(struct daemon *d, const struct config *nc,
			char *err, size_t errlen)
{
	struct staying s = { .d = d, .nc = nc };
	char why[1024];
	int ret;

	if (store_watch_list(d->store, &s.stored, &s.nr_stored))
		s.nr_stored = 0;
	ret = daemon_policy_apply_cfg(d, nc, watch_stays, &s, why,
				      sizeof(why));
	store_free_watches(s.stored, s.nr_stored);
	if (ret)
		snprintf(err, errlen, "%s: %s", nc->path, why);
	return ret;
}

/*
 * Who owns each watch now: a path the file names is the file's (exfilctl
 * may not remove it); one the file dropped goes, unless exfilctl added it
 * too (it is in the store), which keeps it as a run-time watch.
 */
static size_t settle_watches(struct daemon *d, const struct config *nc)
{
	char **stored = NULL, why[1024];
	size_t i, nr_stored = 0, removed = 0;
	struct watch_entry *e;

	for (i = 0; i < d->watches.nr; i++) {
		e = &d->watches.entries[i];
		if (in_list(nc->watch, nc->nr_watch, e->path))
			e->from_config = 1;
	}
	if (store_watch_list(d->store, &stored, &nr_stored))
		nr_stored = 0;
	for (i = 0; i < d->cfg.nr_watch; i++) {
		if (in_list(nc->watch, nc->nr_watch, d->cfg.watch[i]))
			continue;
		e = (struct watch_entry *)watchlist_find(&d->watches,
							 d->cfg.watch[i]);
		if (!e)
			continue;
		if (in_list(stored, nr_stored, e->path)) {
			e->from_config = 0;
			continue;
		}
		if (!watchlist_rm(&d->watches, d->cfg.watch[i], why,
				  sizeof(why)))
			removed++;
	}
	store_free_watches(stored, nr_stored);
	return removed;
}

/* Opaque executables: a missing one is skipped, as at start. */
static void update_opaque(struct daemon *d, const struct config *nc)
{
	size_t i;

	for (i = 0; i < d->cfg.nr_opaque; i++)
		if (!in_list(nc->opaque, nc->nr_opaque, d->cfg.opaque[i]))
			watchlist_rm_opaque(&d->watches, d->cfg.opaque[i]);
	for (i = 0; i < nc->nr_opaque; i++)
		if (!in_list(d->cfg.opaque, d->cfg.nr_opaque, nc->opaque[i]))
			watchlist_mark_opaque(&d->watches, nc->opaque[i]);
}

static int reload(struct daemon *d, char *err, size_t errlen)
{
	struct jsonlog *jl = NULL;
	struct config nc;
	size_t added, removed;
	int ret, kept;
	gid_t gid;

	ret = config_load(&nc, d->cfg.path, err, errlen);
	if (ret)
		return ret;
	ret = keep_restart_only(&nc, &d->cfg, &kept);
	if (ret) {
		snprintf(err, errlen, "%s: out of memory", d->cfg.path);
		goto out_free;
	}
	if (strcmp(nc.json_log, d->cfg.json_log)) {
		ret = jsonlog_open(&jl, nc.json_log);
		if (ret) {
			snprintf(err, errlen, "%s: json_log = %s: %s",
				 nc.path, nc.json_log, strerror(-ret));
			goto out_free;
		}
	}
	ret = add_watches(d, &nc, err, errlen, &added);
	if (ret)
		goto out_jsonlog;
	ret = apply_policy(d, &nc, err, errlen);
	if (ret)
		goto out_watches;

	/* nothing below fails */
	removed = settle_watches(d, &nc);
	update_opaque(d, &nc);
	corr_set_thresholds(d->corr, nc.read_threshold, nc.send_threshold);
	gid = daemon_reader_gid(nc.group);
	if (jl) {
		jsonlog_close(d->jsonlog);
		d->jsonlog = jl;
	} else if ((ret = jsonlog_reopen(d->jsonlog))) {
		/* the old descriptor stays and still writes */
		log_warn("reload: failed to reopen the JSON log %s: %s",
			 nc.json_log, strerror(-ret));
	}
	config_free(&d->cfg);
	/* the correlator holds &d->cfg: it sees the new networks from here */
	d->cfg = nc;
	d->reader_gid = gid;
	daemon_share(d);
	log_info("reloaded %s: %zu watch(es) added, %zu removed%s", d->cfg.path,
		 added, removed, kept ? "; some changes wait for a restart" :
		 "");
	return 0;

out_watches:
	undo_watches(d, &nc, nc.nr_watch);
out_jsonlog:
	jsonlog_close(jl);
out_free:
	config_free(&nc);
	return ret;
}

int daemon_reload(struct daemon *d, const char *by, char *err, size_t errlen)
{
	struct timespec ts;
	int ret;

	/* systemd wants the monotonic time with RELOADING=1 (since v253) */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nSTATUS=reloading %s\nMONOTONIC_USEC=%llu",
		   d->cfg.path, (unsigned long long)ts.tv_sec * 1000000ull +
		   ts.tv_nsec / 1000);
	log_info("reloading %s (%s)", d->cfg.path, by);
	ret = reload(d, err, errlen);
	if (ret) {
		log_err("reload failed, the running configuration stays: %s",
			err);
		sd_notifyf(0, "READY=1\nSTATUS=monitoring with the %s sensor; "
			   "the last reload failed: %s",
			   sensor_kind(d->sensor), err);
		return ret;
	}
	sd_notifyf(0, "READY=1\nSTATUS=monitoring with the %s sensor",
		   sensor_kind(d->sensor));
	return 0;
}
