// SPDX-License-Identifier: GPL-2.0-only
/*
 * From sensor records and tables to the process table and the correlator.
 * Records are only hints of change: whenever records were lost, the
 * sensor's tables are walked and their cumulative totals fed in again,
 * which the correlator turns into exactly the missing bytes. Reads and
 * sends are announced only now and then; their counters are looked up
 * until quiet (live.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "alert_sink.h"
#include "clock.h"
#include "ctl_format.h"
#include "daemon.h"
#include "log.h"
#include "units.h"

static void resolve_watch(void *ctx, const struct exfilmon_file_key *key,
			  uint32_t watch_id, char *buf, size_t len)
{
	watchlist_resolve(ctx, key, watch_id, buf, len);
}

void daemon_flow_env(struct daemon *d, struct flow_env *env)
{
	env->store = d->store;
	env->resolve = resolve_watch;
	env->ctx = &d->watches;
}

static void note_exited(struct daemon *d, const struct exfilmon_pkey *k)
{
	struct exfilmon_pkey *n;

	n = realloc(d->exited, (d->nr_exited + 1) * sizeof(*n));
	if (!n)
		return;	/* collected by the next full reconcile instead */
	d->exited = n;
	d->exited[d->nr_exited++] = *k;
}

/* The process's names as the process table has them, if it knows it. */
static void names(struct daemon *d, const struct exfilmon_pkey *k,
		  const char **comm, const char **exe)
{
	struct proc_info *p = proctree_find(&d->procs, k);

	*comm = p ? p->comm : NULL;
	*exe = p ? proc_exe(p) : NULL;
}

/*
 * Both sensors report sends on TCP and UDP sockets only (bpf/net.h,
 * module/net.c). An alert cannot name another destination (the store
 * refuses it, and the alert would be retried every tick and never
 * stored), so such a send, from a buggy or newer sensor, is dropped.
 */
static int dest_known(const struct exfilmon_dest *dest)
{
	return (dest->family == EXFILMON_AF_INET ||
		dest->family == EXFILMON_AF_INET6) &&
	       (dest->proto == EXFILMON_PROTO_TCP ||
		dest->proto == EXFILMON_PROTO_UDP);
}

static void on_io(struct daemon *d, const struct exfilmon_rec_io *io)
{
	struct flow_env env;
	const char *comm, *exe;

	if (io->hdr.type == EXFILMON_REC_SEND && !dest_known(&io->dest)) {
		log_debug("send to family %u, protocol %u ignored",
			  io->dest.family, io->dest.proto);
		return;
	}
	daemon_flow_env(d, &env);
	names(d, &io->hdr.proc, &comm, &exe);
	corr_io(d->corr, io, comm, exe, &env);
}

static const char *const block_how[] = {
	[EXFILMON_BLOCK_CONNECT] = "connect() refused",
	[EXFILMON_BLOCK_DGRAM] = "datagram refused",
	[EXFILMON_BLOCK_SEND] = "send on an open connection refused",
};

/* The watch of id, by path, for the journal line. */
static const char *watch_path(const struct daemon *d, uint32_t id)
{
	size_t i;

	for (i = 0; i < d->watches.nr; i++)
		if (d->watches.entries[i].id == id)
			return d->watches.entries[i].path;
	return "a watch removed since";
}

/*
 * Prevent mode refused a transfer (bpf/prevent.h). The person is told by
 * the error in their tool; the security team by one journal line per
 * (process, destination), and by the alert. A TCP connection opened
 * before the threshold is reset here: the kernel drops its packets, but
 * only a reset ends it, for the peer and for the thief.
 */
static void on_block(struct daemon *d, const struct exfilmon_rec_block *r)
{
	const char *comm, *exe, *how = "refused";
	char peer[INET6_ADDRSTRLEN] = "?", taint[32], limit[32];
	char *ecomm, *eexe, *epath;
	int reset = 0;

	if (!dest_known(&r->dest))
		return;
	names(d, &r->hdr.proc, &comm, &exe);
	if (d->sock_reset && r->how == EXFILMON_BLOCK_SEND &&
	    r->dest.proto == EXFILMON_PROTO_TCP && r->local.port)
		reset = d->sock_reset(r->dest.proto, &r->local, &r->dest);
	if (r->total.ops <= 1) {
		if (r->how < sizeof(block_how) / sizeof(block_how[0]) &&
		    block_how[r->how])
			how = block_how[r->how];
		inet_ntop(r->dest.family == EXFILMON_AF_INET ? AF_INET :
							       AF_INET6,
			  r->dest.addr, peer, sizeof(peer));
		format_size(r->proc.taint, taint, sizeof(taint));
		format_size(r->threshold, limit, sizeof(limit));
		ecomm = ctl_escape(comm ? comm : "?");
		eexe = ctl_escape(exe ? exe : "?");
		epath = ctl_escape(watch_path(d, r->proc.watch_id));
		log_warn("prevented: pid %u (%s, %s) to %s%s%s:%u/%s: %s; it "
			 "holds %s of watched data from %s, the prevent "
			 "threshold is %s%s%s",
			 r->hdr.proc.tgid, ecomm ? ecomm : "?",
			 eexe ? eexe : "?",
			 r->dest.family == EXFILMON_AF_INET6 ? "[" : "", peer,
			 r->dest.family == EXFILMON_AF_INET6 ? "]" : "",
			 r->dest.port, alert_proto_name(r->dest.proto), how,
			 taint, epath ? epath : "?", limit,
			 reset < 0 ? "; failed to reset the connection: " : "",
			 reset < 0 ? strerror(-reset) : "");
		free(epath);
		free(eexe);
		free(ecomm);
	} else if (reset < 0 && reset != -ENOENT) {
		log_warn("prevented: pid %u: failed to reset its connection "
			 "to port %u: %s", r->hdr.proc.tgid, r->dest.port,
			 strerror(-reset));
	}
	corr_block(d->corr, r, comm, exe);
}

int daemon_on_record(void *ctx, const struct exfilmon_rec_hdr *h, size_t len)
{
	const struct exfilmon_rec_exit *ex = (const void *)h;
	struct daemon *d = ctx;
	const char *comm, *exe;
	struct flow_env env;

	d->records++;
	if (collected_has(&d->collected, &h->proc))
		return 0;	/* collected already: collected.c */
	switch (h->type) {
	case EXFILMON_REC_FORK:
		if (len >= sizeof(struct exfilmon_rec_fork))
			proctree_fork(&d->procs, (const void *)h);
		break;
	case EXFILMON_REC_EXEC:
		if (len < sizeof(struct exfilmon_rec_exec))
			break;
		proctree_exec(&d->procs, (const void *)h);
		names(d, &h->proc, &comm, &exe);
		corr_exec(d->corr, &h->proc, comm, exe);
		break;
	case EXFILMON_REC_EXIT:
		if (len < sizeof(*ex))
			break;
		/* the names before the process table lets them go */
		names(d, &h->proc, &comm, &exe);
		corr_exit(d->corr, ex, comm, exe);
		proctree_exit(&d->procs, ex);
		if (ex->tracked)
			note_exited(d, &h->proc);
		break;
	case EXFILMON_REC_READ:
	case EXFILMON_REC_FLOW:
	case EXFILMON_REC_SEND:
		if (len < sizeof(struct exfilmon_rec_io))
			break;
		on_io(d, (const void *)h);
		live_note(&d->live, (const void *)h);
		break;
	case EXFILMON_REC_BLOCK:
		if (len >= sizeof(struct exfilmon_rec_block))
			on_block(d, (const void *)h);
		break;
	case EXFILMON_REC_DERIVED:
		if (len < sizeof(struct exfilmon_rec_derived))
			break;
		daemon_flow_env(d, &env);
		corr_derived(d->corr, (const void *)h, &env);
		break;
	default:
		log_debug("record type %u ignored (newer sensor?)", h->type);
	}
	return 0;
}

struct sync_ctx {
	struct daemon *d;
	const struct exfilmon_pkey *only;	/* sorted; NULL: every process */
	size_t nr_only;
};

static int pkey_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct exfilmon_pkey));
}

static int wanted(struct sync_ctx *s, const struct exfilmon_pkey *k)
{
	return !s->only ||
	       bsearch(k, s->only, s->nr_only, sizeof(*k), pkey_cmp);
}

/*
 * A table entry as the record it stands for: the same cumulative total,
 * the process's counters as they are now, no channel (a table does not
 * say which). 0, or -ENOENT when the process is no longer tracked.
 */
static int made_up(struct sync_ctx *s, uint16_t type,
		   const struct exfilmon_pkey *proc,
		   const struct exfilmon_count *c, struct exfilmon_rec_io *io)
{
	memset(io, 0, sizeof(*io));
	if (s->d->sensor->ops->proc_get(s->d->sensor, proc, &io->proc))
		return -ENOENT;
	io->hdr.type = type;
	io->hdr.size = sizeof(*io);
	io->hdr.ts_ns = c->last_ns;
	io->hdr.proc = *proc;
	io->total = *c;
	return 0;
}

/*
 * Feed one table entry's total to the correlator. When collecting exited
 * processes (s->only), their entries are deleted after the walk (return 1):
 * one walk both reads the final totals and frees the table.
 */
static int sync_file(struct sync_ctx *s, uint16_t type,
		     const struct exfilmon_read_key *k,
		     const struct exfilmon_count *c)
{
	struct exfilmon_rec_io io;

	if (!wanted(s, &k->proc))
		return 0;
	if (!made_up(s, type, &k->proc, c, &io)) {
		io.file = k->file;
		on_io(s->d, &io);
	}
	return s->only ? 1 : 0;
}

static int sync_read(void *ctx, const struct exfilmon_read_key *k,
		     const struct exfilmon_count *c)
{
	return sync_file(ctx, EXFILMON_REC_READ, k, c);
}

/* The flows table has the reads table's layout: outflows into objects. */
static int sync_flow(void *ctx, const struct exfilmon_read_key *k,
		     const struct exfilmon_count *c)
{
	return sync_file(ctx, EXFILMON_REC_FLOW, k, c);
}

static int sync_send(void *ctx, const struct exfilmon_send_key *k,
		     const struct exfilmon_count *c)
{
	struct sync_ctx *s = ctx;
	struct exfilmon_rec_io io;

	if (!wanted(s, &k->proc))
		return 0;
	if (!made_up(s, EXFILMON_REC_SEND, &k->proc, c, &io)) {
		io.dest = k->dest;
		on_io(s->d, &io);
	}
	return s->only ? 1 : 0;
}

static int collect_exited(void *ctx, const struct exfilmon_pkey *k,
			  const struct exfilmon_proc *p)
{
	struct daemon *d = ctx;

	if (!(p->flags & EXFILMON_PROC_EXITED))
		return 0;
	/* its records may still be queued: they will be late, not new */
	collected_add(&d->collected, k);
	note_exited(d, k);
	return 0;
}

/* Feed the tables' totals for some (or all) processes to the correlator. */
static void sync_tables(struct daemon *d, const struct exfilmon_pkey *only,
			size_t nr)
{
	struct sync_ctx s = { .d = d, .only = only, .nr_only = nr };
	const struct sensor_ops *ops = d->sensor->ops;

	ops->for_each_read(d->sensor, sync_read, &s);
	/* flows before sends: a staged copy's taint before its upload */
	if (ops->for_each_flow)
		ops->for_each_flow(d->sensor, sync_flow, &s);
	ops->for_each_send(d->sensor, sync_send, &s);
}

static void feed_live(void *ctx, const struct exfilmon_rec_io *io)
{
	on_io(ctx, io);
}

size_t daemon_settle(struct daemon *d)
{
	uint64_t now = now_boot_ns();

	if (now - d->settled_ns >= LIVE_SETTLE_NS) {
		d->settled_ns = now;
		live_settle(&d->live, d->sensor, now, feed_live, d);
	}
	return live_count(&d->live);
}

/* The final totals of exited processes, then forget them everywhere. */
static void collect(struct daemon *d)
{
	uint64_t now = now_boot_ns();
	size_t i;

	qsort(d->exited, d->nr_exited, sizeof(*d->exited), pkey_cmp);
	sync_tables(d, d->exited, d->nr_exited);
	d->sensor->ops->proc_forget(d->sensor, d->exited, d->nr_exited);
	for (i = 0; i < d->nr_exited; i++)
		corr_forget(d->corr, &d->exited[i], now);
	free(d->exited);
	d->exited = NULL;
	d->nr_exited = 0;
}

/* Say so, once per change, when a table is full or bytes went uncounted. */
static void warn_losses(struct daemon *d, const uint64_t *st)
{
	static const struct {
		int idx;
		const char *what;
	} watched[] = {
		{ EXFILMON_STAT_PROC_FULL, "process table full: new readers "
		  "not tracked (raise [sensor] max_procs)" },
		{ EXFILMON_STAT_READ_FULL, "(process, file) table full: "
		  "per-file detail lost (raise [sensor] max_reads)" },
		{ EXFILMON_STAT_SEND_FULL, "(process, destination) table full "
		  "(raise [sensor] max_sends)" },
		{ EXFILMON_STAT_LOST_READ_BYTES, "watched bytes not counted" },
		{ EXFILMON_STAT_LOST_SEND_BYTES, "sent bytes not counted" },
		{ EXFILMON_STAT_FLOW_FULL, "(process, object) carry table "
		  "full: carries capped per write only" },
		{ EXFILMON_STAT_STREAM_FULL, "stream table full: taint not "
		  "passed through pipes and sockets" },
		{ EXFILMON_STAT_DERIVED_FULL, "watched table full: files "
		  "written by tainted processes not marked derived" },
		{ EXFILMON_STAT_LOST_TAINT_BYTES, "taint bytes not passed on" },
		{ EXFILMON_STAT_STALE, "derived marks dropped: their inode "
		  "now holds another file" },
	};
	size_t i;

	for (i = 0; i < sizeof(watched) / sizeof(watched[0]); i++) {
		int k = watched[i].idx;

		if (st[k] == d->seen_stats[k])
			continue;
		log_warn("sensor: %s: %llu so far", watched[i].what,
			 (unsigned long long)st[k]);
		d->seen_stats[k] = st[k];
	}
}

/* The daemon's own bounds: what an eviction costs is said once per change. */
static void warn_evictions(struct daemon *d)
{
	struct flowgraph_stats fs;
	struct corr_stats cs;

	flowgraph_stats(corr_graph(d->corr), &fs);
	corr_stats(d->corr, &cs);
	if (fs.procs_evicted != d->seen_flow.procs_evicted)
		log_warn("flow graph full: %llu process nodes evicted so far "
			 "(chains through them show \"?\")",
			 (unsigned long long)fs.procs_evicted);
	if (fs.files_evicted != d->seen_flow.files_evicted)
		log_warn("flow graph full: %llu derived files dropped from "
			 "memory so far (read back from the store when needed)",
			 (unsigned long long)fs.files_evicted);
	if (fs.save_failed != d->seen_flow.save_failed)
		log_warn("failed to store %llu derived marks so far: %s",
			 (unsigned long long)fs.save_failed,
			 store_errmsg(d->store));
	if (cs.hosts_evicted != d->seen_hosts_evicted)
		log_warn("correlation: %llu (watch, host) pairs evicted so far "
			 "for room; their alerts were settled first",
			 (unsigned long long)cs.hosts_evicted);
	d->seen_flow = fs;
	d->seen_hosts_evicted = cs.hosts_evicted;
}

void daemon_tick(struct daemon *d)
{
	uint64_t st[EXFILMON_STAT_NR] = { 0 };
	struct flow_env env;
	int dropped = 0;

	/* drain what is queued first, so the tables are not ahead */
	d->sensor->ops->poll(d->sensor);
	if (!d->sensor->ops->stats(d->sensor, st)) {
		warn_losses(d, st);
		dropped = st[EXFILMON_STAT_DROPPED] !=
			  d->seen_stats[EXFILMON_STAT_DROPPED];
	}
	if (dropped) {
		log_warn("sensor dropped %llu records (ring buffer full): "
			 "re-reading its tables",
			 (unsigned long long)(st[EXFILMON_STAT_DROPPED] -
					      d->seen_stats[EXFILMON_STAT_DROPPED]));
		d->seen_stats[EXFILMON_STAT_DROPPED] = st[EXFILMON_STAT_DROPPED];
	}
	/*
	 * lost records, more counters live than kept, or a sensor state
	 * taken over from a daemon that died (resume.c): every total, once
	 */
	if (dropped || d->live.overflow || d->resync) {
		d->live.overflow = 0;
		sync_tables(d, NULL, 0);
	}
	if (dropped || d->resync) {
		d->resync = 0;
		/* exit records may have been among the lost */
		d->sensor->ops->for_each_proc(d->sensor, collect_exited, d);
		proctree_sweep(&d->procs, now_boot_ns());
	}
	daemon_settle(d);
	if (d->nr_exited)
		collect(d);
	/* after the drain: records may be newer than an earlier reading */
	daemon_flow_env(d, &env);
	corr_tick(d->corr, now_boot_ns(), &env);
	daemon_store_retry(d);
	warn_evictions(d);
	proctree_expire(&d->procs, now_boot_ns());
}
