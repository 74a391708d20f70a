// SPDX-License-Identifier: GPL-2.0-only
/*
 * Correlation per (origin, host). Three kinds of state:
 *  - per process (cproc): the last cumulative totals seen, turned into
 *    deltas, and per host what it sent and what of it was counted; dropped
 *    when the daemon forgets the process;
 *  - per (origin, host) (host): two window sums, ports, the largest
 *    senders and the alert; bounded per origin, whatever the traffic;
 *  - the flow graph, which names the chains.
 * A process's counted share of a host only grows: it is recomputed when
 * the process sends more or its taint grows, and the growth is added to
 * the window sums at that moment.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "correlate.h"
#include "hashtab.h"
#include "units.h"

enum seen_kind {
	SEEN_IN = 1,	/* (process, object) inflow: REC_READ */
	SEEN_OUT,	/* (process, object) outflow: REC_FLOW */
	SEEN_SEND,	/* (process, destination): REC_SEND */
	SEEN_BLOCK,	/* (process, destination): REC_BLOCK, in refusals */
};

struct seen_key {
	struct exfilmon_pkey proc;
	uint32_t kind;
	uint32_t pad;
	union {
		struct exfilmon_file_key file;
		struct exfilmon_dest dest;
	} k;	/* zero-padded and compared whole */
};

/* The last total seen of one (process, object|destination). */
struct seen {
	struct hashtab_node node;
	struct seen_key key;
	struct seen *next;	/* of the same process */
	uint64_t total;		/* the sensor's cumulative counter */
	uint64_t extra;		/* deltas of records without a counter */
};

struct chost_key {
	struct exfilmon_pkey proc;
	uint8_t family;
	uint8_t pad[7];
	uint8_t addr[16];
};

/* What one process sent to one host, and what of it was counted. */
struct chost {
	struct hashtab_node node;
	struct chost_key key;
	struct chost *next;	/* of the same process */
	uint64_t sent;		/* to the host, every port */
	uint64_t refused;	/* transfers to the host refused */
	uint64_t c_sent;	/* counted as tainted sends */
	uint64_t c_taint;	/* counted as the senders' taint */
	uint64_t taint_ns;	/* when c_taint last grew */
	uint64_t serial;	/* the host entry it was counted in */
	uint64_t base;		/* c_sent before that entry */
	uint16_t port;		/* of its latest send */
	uint8_t proto;
};

/*
 * The last cumulative totals seen for one process. They outlive the
 * (origin, host) pairs: a pair quiet for a window is forgotten, but the
 * kernel's totals go on from where they were, and only the bytes added
 * since may count in a new window.
 */
struct cproc {
	struct hashtab_node node;
	struct exfilmon_pkey key;
	uint32_t watch_id;
	uint64_t taint;
	uint64_t first_ns;
	struct seen *seen;
	struct chost *hosts;
};

struct host_key {
	uint32_t watch_id;
	uint8_t family;
	uint8_t pad[3];
	uint8_t addr[16];
};

struct port {
	uint16_t port;
	uint8_t proto;
	uint64_t bytes;
};

struct top {
	struct exfilmon_pkey proc;
	uint64_t bytes;
};

struct origin;

/* One origin's data sent to one host. */
struct host {
	struct hashtab_node node;
	struct host_key key;
	struct origin *origin;
	struct host *prev, *next;	/* of the same origin */
	uint64_t serial;
	struct wsum sent;		/* tainted sends */
	struct wsum taint;		/* the senders' taint */
	uint64_t sent_total;
	uint64_t taint_total;
	uint64_t first_ns;
	uint64_t last_ns;
	uint32_t nr_senders;
	uint64_t refused;		/* transfers refused (prevent mode) */
	struct port ports[CORR_PORTS];
	size_t nr_ports;
	struct top top[CORR_TOP];	/* largest first */
	size_t nr_top;
	struct corr_alert *alert;
};

struct origin {
	struct hashtab_node node;
	uint32_t watch_id;
	size_t nr_hosts;
	struct host *hosts;
};

struct correlator {
	struct corr_params p;
	const struct config *cfg;
	struct hashtab hosts;		/* of struct host */
	struct hashtab origins;		/* of struct origin */
	struct hashtab procs;		/* of struct cproc */
	struct hashtab seen;		/* of struct seen */
	struct hashtab chosts;		/* of struct chost */
	struct flowgraph *graph;
	uint64_t serial;
	uint64_t hosts_evicted;
	corr_emit_fn emit;
	void *ctx;
};

#define bucket_width(c) ((c)->p.window_ns / CORR_BUCKETS ?: 1)

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

void wsum_add(struct wsum *w, uint64_t width, uint64_t ts, uint64_t n)
{
	uint64_t slot = ts / width + 1;
	size_t i = slot % CORR_BUCKETS;

	if (w->slot[i] != slot) {
		/* a record older than the bucket's occupant is older than
		 * the window: it cannot matter any more */
		if (w->slot[i] > slot)
			return;
		w->slot[i] = slot;
		w->bytes[i] = 0;
	}
	w->bytes[i] += n;
}

uint64_t wsum_total(const struct wsum *w, uint64_t width, uint64_t now)
{
	uint64_t cur = now / width + 1, sum = 0;
	size_t i;

	for (i = 0; i < CORR_BUCKETS; i++)
		if (w->slot[i] && w->slot[i] + CORR_BUCKETS > cur &&
		    w->slot[i] <= cur)
			sum += w->bytes[i];
	return sum;
}

struct correlator *corr_new(const struct corr_params *p,
			    const struct config *cfg, corr_emit_fn emit,
			    void *ctx)
{
	struct flowgraph_params gp = { 0 };
	struct correlator *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->p = *p;
	if (!c->p.max_hosts)
		c->p.max_hosts = CORR_MAX_HOSTS;
	c->cfg = cfg;
	c->emit = emit;
	c->ctx = ctx;
	gp.window_ns = p->window_ns;
	gp.max_procs = p->max_procs;
	gp.max_files = p->max_files;
	c->graph = flowgraph_new(&gp);
	if (!c->graph)
		goto err_free;
	if (hashtab_init(&c->hosts, sizeof(struct host_key),
			 offsetof(struct host, key)))
		goto err_graph;
	if (hashtab_init(&c->origins, sizeof(uint32_t),
			 offsetof(struct origin, watch_id)))
		goto err_hosts;
	if (hashtab_init(&c->procs, sizeof(struct exfilmon_pkey),
			 offsetof(struct cproc, key)))
		goto err_origins;
	if (hashtab_init(&c->seen, sizeof(struct seen_key),
			 offsetof(struct seen, key)))
		goto err_procs;
	if (hashtab_init(&c->chosts, sizeof(struct chost_key),
			 offsetof(struct chost, key)))
		goto err_seen;
	return c;

err_seen:
	hashtab_destroy(&c->seen);
err_procs:
	hashtab_destroy(&c->procs);
err_origins:
	hashtab_destroy(&c->origins);
err_hosts:
	hashtab_destroy(&c->hosts);
err_graph:
	flowgraph_free(c->graph);
err_free:
	free(c);
	return NULL;
}

static void alert_destroy(struct corr_alert *ca)
{
	if (!ca)
		return;
	alert_free(&ca->a);
	free(ca);
}

static void host_free(struct correlator *c, struct host *h)
{
	struct origin *o = h->origin;

	hashtab_remove(&c->hosts, &h->node);
	if (h->prev)
		h->prev->next = h->next;
	else
		o->hosts = h->next;
	if (h->next)
		h->next->prev = h->prev;
	alert_destroy(h->alert);
	free(h);
	if (!--o->nr_hosts) {
		hashtab_remove(&c->origins, &o->node);
		free(o);
	}
}

static void cproc_free(struct correlator *c, struct cproc *p)
{
	struct seen *s, *sn;
	struct chost *h, *hn;

	for (s = p->seen; s; s = sn) {
		sn = s->next;
		hashtab_remove(&c->seen, &s->node);
		free(s);
	}
	for (h = p->hosts; h; h = hn) {
		hn = h->next;
		hashtab_remove(&c->chosts, &h->node);
		free(h);
	}
	hashtab_remove(&c->procs, &p->node);
	free(p);
}

void corr_forget(struct correlator *c, const struct exfilmon_pkey *proc,
		 uint64_t now_ns)
{
	struct cproc *p = (struct cproc *)hashtab_find(&c->procs, proc);

	flowgraph_exit(c->graph, proc, now_ns);
	if (p)
		cproc_free(c, p);
}

size_t corr_procs(const struct correlator *c)
{
	return c->procs.count;
}

size_t corr_trees(const struct correlator *c)
{
	return c->hosts.count;
}

void corr_stats(const struct correlator *c, struct corr_stats *st)
{
	st->procs = c->procs.count;
	st->hosts = c->hosts.count;
	st->hosts_evicted = c->hosts_evicted;
}

struct flowgraph *corr_graph(struct correlator *c)
{
	return c->graph;
}

/*
 * New thresholds apply from the next record on: totals already in the
 * window are measured against them then, so lowering one can raise an
 * alert for bytes already sent.
 */
void corr_set_thresholds(struct correlator *c, uint64_t read_threshold,
			 uint64_t send_threshold)
{
	c->p.read_threshold = read_threshold;
	c->p.send_threshold = send_threshold;
}

void corr_free(struct correlator *c)
{
	struct hashtab_node *n, *next;
	size_t i;

	if (!c)
		return;
	for (n = hashtab_first(&c->hosts, &i); n; n = next) {
		next = hashtab_next(&c->hosts, n, &i);
		host_free(c, (struct host *)n);
	}
	for (n = hashtab_first(&c->procs, &i); n; n = next) {
		next = hashtab_next(&c->procs, n, &i);
		cproc_free(c, (struct cproc *)n);
	}
	hashtab_destroy(&c->chosts);
	hashtab_destroy(&c->seen);
	hashtab_destroy(&c->procs);
	hashtab_destroy(&c->origins);
	hashtab_destroy(&c->hosts);
	flowgraph_free(c->graph);
	free(c);
}

int corr_severity(uint64_t taint, uint64_t bytes_sent,
		  uint64_t read_threshold)
{
	/* compression and encryption change sizes, so the share sent is a
	 * grade, not a condition: gzip'd CSV leaves at a third or less */
	double share = taint ? (double)bytes_sent / taint : 0;
	uint64_t rt = read_threshold ?: 1;

	if (taint >= 64 * rt && share >= 0.25)
		return SEV_CRITICAL;
	if ((taint >= 16 * rt && share >= 0.25) ||
	    (taint >= 4 * rt && share >= 0.9))
		return SEV_HIGH;
	if (taint >= 4 * rt || share >= 0.5)
		return SEV_MEDIUM;
	return SEV_LOW;
}

/* A string snprintf() may have cut inside a character ends before it. */
static void utf8_cut(char *s)
{
	size_t n = strlen(s), i = n;

	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0xc0) {
		unsigned char lead = s[i - 1];
		size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;

		if (n - (i - 1) < want)
			s[i - 1] = '\0';
	}
}

/* "comm" or "?" for a process the chain no longer knows */
static const char *step_name(const struct alert_step *st)
{
	return st->comm[0] ? st->comm : "?";
}

#define ARROW "\xe2\x86\x92"	/* → */

/* ": sqlite3 read 9.8 MiB of /db and passed on via pipe → gzip → curl" */
static void explain_chain(const struct alert *a, char *buf, size_t len)
{
	const struct alert_step *root = a->nr_chain ? &a->chain[0] : NULL;
	size_t i, used = 0;
	char size[32];

	buf[0] = '\0';
	if (root && root->via == VIA_READ) {
		format_size(root->bytes, size, sizeof(size));
		used = snprintf(buf, len, ": %s read %s of %.160s",
				a->nr_chain == 1 ? "it" : step_name(root),
				size, root->object);
	} else if (a->nr_files) {
		format_size(a->bytes_read, size, sizeof(size));
		used = snprintf(buf, len, ": %s of %.160s%s was read", size,
				a->files[0].path,
				a->nr_files > 1 ? " and other files" : "");
	}
	for (i = 1; i < a->nr_chain && used < len; i++) {
		const struct alert_step *st = &a->chain[i];

		if (i == 1)
			used += snprintf(buf + used, len - used,
					 "%s via %s " ARROW " %s",
					 used ? " and passed on" : ":",
					 alert_via_name(st->via),
					 step_name(st));
		else if (st->via == a->chain[i - 1].via)
			used += snprintf(buf + used, len - used, " " ARROW " %s",
					 step_name(st));
		else
			used += snprintf(buf + used, len - used, ", %s " ARROW " %s",
					 alert_via_name(st->via),
					 step_name(st));
	}
}

void corr_explain(struct alert *a, uint64_t window_ns)
{
	char sent[32], span[32], win[32], senders[48] = "", chain[320];

	format_size(a->bytes_sent, sent, sizeof(sent));
	format_duration(a->last_ns > a->first_ns ? a->last_ns - a->first_ns : 0,
			span, sizeof(span));
	format_duration(window_ns, win, sizeof(win));
	if (a->senders > 1)
		snprintf(senders, sizeof(senders), " (the largest of %u senders)",
			 a->senders);
	explain_chain(a, chain, sizeof(chain));
	utf8_cut(chain);
	if (a->action == ALERT_BLOCKED)
		snprintf(a->reason, sizeof(a->reason),
			 "%s (pid %u, user %s) was refused sending watched "
			 "data to %s (%llu time%s, prevent mode); %s left "
			 "before%s%s",
			 a->comm[0] ? a->comm : "?", a->pid, a->user, a->host,
			 (unsigned long long)a->refused,
			 a->refused == 1 ? "" : "s", sent, senders, chain);
	else
		snprintf(a->reason, sizeof(a->reason),
			 "%s (pid %u, user %s) sent %s of watched data to %s "
			 "within %s (window %s)%s%s",
			 a->comm[0] ? a->comm : "?", a->pid, a->user, sent,
			 a->host, span, win, senders, chain);
	utf8_cut(a->reason);
}

/* Rebuild the alert's figures and destinations. */
static int alert_fill(struct correlator *c, struct host *h,
		      struct corr_alert *ca)
{
	struct alert *a = &ca->a;
	size_t i;

	free(a->dests);
	a->nr_dests = 0;
	a->dests = calloc(h->nr_ports ?: 1, sizeof(*a->dests));
	if (!a->dests)
		return -ENOMEM;
	for (i = 0; i < h->nr_ports; i++) {
		struct alert_dest *d = &a->dests[i];

		snprintf(d->addr, sizeof(d->addr), "%s", a->host);
		d->port = h->ports[i].port;
		d->proto = h->ports[i].proto;
		d->bytes_sent = h->ports[i].bytes;
	}
	a->nr_dests = h->nr_ports;
	a->bytes_sent = h->sent_total;
	a->taint = h->taint_total;
	a->senders = h->nr_senders;
	a->refused = h->refused;
	a->action = h->refused ? ALERT_BLOCKED : ALERT_DETECTED;
	a->first_ns = h->first_ns;
	for (i = 0; i < h->nr_top; i++)
		ca->top[i] = h->top[i].proc;
	ca->nr_top = h->nr_top;
	a->pid = h->nr_top ? h->top[0].proc.tgid : 0;
	a->severity = corr_severity(a->taint, a->bytes_sent,
				    c->p.read_threshold);
	return 0;
}

/*
 * Raise or update h's alert when both thresholds are met in the window. A
 * refusal stands for the send it stopped: the kernel refuses only a
 * process whose taint reached the threshold, so the taint condition is
 * met and the alert says what was blocked and what still left.
 */
static void check_host(struct correlator *c, struct host *h, uint64_t ts)
{
	uint64_t w = bucket_width(c);
	struct corr_alert *ca = h->alert;
	int is_new = 0;

	if (!ca || ca->a.last_ns + c->p.window_ns < ts) {
		if (wsum_total(&h->taint, w, ts) < c->p.read_threshold ||
		    (wsum_total(&h->sent, w, ts) < c->p.send_threshold &&
		     !h->refused))
			return;
		/* one alert per (origin, host) per window: a stale one was
		 * settled long ago and is replaced */
		alert_destroy(ca);
		ca = h->alert = calloc(1, sizeof(*ca));
		if (!ca)
			return;
		ca->watch_id = h->key.watch_id;
		ca->family = h->key.family;
		memcpy(ca->addr, h->key.addr, sizeof(ca->addr));
		inet_ntop(h->key.family == EXFILMON_AF_INET ? AF_INET :
							      AF_INET6,
			  h->key.addr, ca->a.host, sizeof(ca->a.host));
		is_new = 1;
	}
	ca->a.last_ns = ts > ca->a.last_ns ? ts : ca->a.last_ns;
	if (alert_fill(c, h, ca))
		return;
	ca->changed_ns = ts;
	ca->settled = 0;
	if (is_new) {
		ca->dirty = 0;
		c->emit(c->ctx, ca, CORR_NEW);
	} else {
		ca->dirty = 1;
	}
}

/* Emit what an alert still owes before its pair is dropped. */
static void alert_flush(struct correlator *c, struct corr_alert *ca)
{
	if (!ca)
		return;
	if (ca->dirty) {
		ca->dirty = 0;
		c->emit(c->ctx, ca, CORR_UPDATE);
	}
	if (!ca->settled) {
		ca->settled = 1;
		c->emit(c->ctx, ca, CORR_SETTLED);
	}
}

/*
 * Room for one more host of origin o: the pair idle the longest goes,
 * one whose alert still changes only when every pair has one.
 */
static void evict_host(struct correlator *c, struct origin *o)
{
	struct host *h, *victim = NULL;
	int busy, victim_busy = 1;

	for (h = o->hosts; h; h = h->next) {
		busy = h->alert && !h->alert->settled;
		if (!victim || busy < victim_busy ||
		    (busy == victim_busy && h->last_ns < victim->last_ns)) {
			victim = h;
			victim_busy = busy;
		}
	}
	if (!victim)
		return;
	alert_flush(c, victim->alert);
	c->hosts_evicted++;
	host_free(c, victim);
}

static struct host *host_find(struct correlator *c, uint32_t watch_id,
			      uint8_t family, const uint8_t *addr)
{
	struct host_key k = { .watch_id = watch_id, .family = family };

	memcpy(k.addr, addr, sizeof(k.addr));
	return (struct host *)hashtab_find(&c->hosts, &k);
}

static struct host *host_get(struct correlator *c, uint32_t watch_id,
			     uint8_t family, const uint8_t *addr, uint64_t ts)
{
	struct host_key k = { .watch_id = watch_id, .family = family };
	struct origin *o;
	struct host *h;

	memcpy(k.addr, addr, sizeof(k.addr));
	h = (struct host *)hashtab_find(&c->hosts, &k);
	if (h)
		return h;
	o = (struct origin *)hashtab_find(&c->origins, &watch_id);
	if (!o) {
		o = calloc(1, sizeof(*o));
		if (!o)
			return NULL;
		o->watch_id = watch_id;
		hashtab_insert(&c->origins, &o->node);
	}
	if (o->nr_hosts >= c->p.max_hosts) {
		evict_host(c, o);
		/* the origin went with its last host */
		return host_get(c, watch_id, family, addr, ts);
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		if (!o->nr_hosts) {
			hashtab_remove(&c->origins, &o->node);
			free(o);
		}
		return NULL;
	}
	h->key = k;
	h->origin = o;
	h->serial = ++c->serial;
	h->first_ns = ts;
	h->next = o->hosts;
	if (o->hosts)
		o->hosts->prev = h;
	o->hosts = h;
	o->nr_hosts++;
	hashtab_insert(&c->hosts, &h->node);
	return h;
}

static void port_add(struct host *h, uint16_t port, uint8_t proto,
		     uint64_t bytes)
{
	size_t i;

	for (i = 0; i < h->nr_ports; i++) {
		if (h->ports[i].port == port && h->ports[i].proto == proto) {
			h->ports[i].bytes += bytes;
			return;
		}
	}
	/* past CORR_PORTS ports the bytes count in the host's total only */
	if (h->nr_ports == CORR_PORTS)
		return;
	h->ports[h->nr_ports].port = port;
	h->ports[h->nr_ports].proto = proto;
	h->ports[h->nr_ports++].bytes = bytes;
}

/* Keep h->top the CORR_TOP largest senders, largest first. */
static void top_update(struct host *h, const struct exfilmon_pkey *proc,
		       uint64_t bytes)
{
	struct top t = { .proc = *proc, .bytes = bytes };
	size_t i;

	for (i = 0; i < h->nr_top; i++)
		if (!memcmp(&h->top[i].proc, proc, sizeof(*proc)))
			break;
	if (i == h->nr_top) {
		if (h->nr_top < CORR_TOP)
			h->nr_top++;
		else if (h->top[CORR_TOP - 1].bytes >= bytes)
			return;
		i = h->nr_top - 1;
	}
	/* bytes only grow: move it up */
	while (i > 0 && h->top[i - 1].bytes < bytes) {
		h->top[i] = h->top[i - 1];
		i--;
	}
	h->top[i] = t;
}

/*
 * What process p may count towards host ch now: min(sent, taint) of
 * tainted sends, and its taint once it sent anything. The growth since
 * the last count goes into the window at ts.
 *
 * A process's taint counts once per window: one that sends again after
 * its taint slid out of the window (or into a pair made since) counts it
 * again, but only once nothing of it is left in the window, so the sum
 * is never more than the taint of the senders it has seen.
 */
static void contribute(struct correlator *c, struct cproc *p,
		       struct chost *ch, uint64_t ts, uint64_t refused)
{
	uint64_t want_sent = min_u64(ch->sent, p->taint);
	/* a refused transfer counts the taint it would have carried */
	uint64_t want_taint = ch->sent || ch->refused ? p->taint : 0;
	uint64_t w = bucket_width(c), ds = 0, growth = 0, dt;
	struct host *h;
	int first, full;

	if (want_sent <= ch->c_sent && want_taint <= ch->c_taint && !refused)
		return;
	if (want_sent > ch->c_sent)
		ds = want_sent - ch->c_sent;
	if (want_taint > ch->c_taint)
		growth = want_taint - ch->c_taint;
	ch->c_taint += growth;
	h = host_find(c, p->watch_id, ch->key.family, ch->key.addr);
	first = !h || ch->serial != h->serial;
	/* its sends there are older than the pair: taint alone sends nothing */
	if (first && !ds && !refused)
		return;
	if (!h)
		h = host_get(c, p->watch_id, ch->key.family, ch->key.addr, ts);
	if (!h)
		return;
	/* all of its taint into this window, or what it grew by */
	full = (ds || refused) &&
	       (first || ch->taint_ns + c->p.window_ns <= ts);
	dt = full ? want_taint : growth;
	if (first) {
		/* first count in this pair: one more sender */
		ch->serial = h->serial;
		ch->base = ch->c_sent;
		h->nr_senders++;
	}
	ch->c_sent += ds;
	if (full)
		ch->taint_ns = ts;
	wsum_add(&h->sent, w, ts, ds);
	wsum_add(&h->taint, w, ts, dt);
	h->sent_total += ds;
	h->refused += refused;
	/* the alert's figure counts each sender's taint once */
	h->taint_total += first ? want_taint : growth;
	if (ds)
		port_add(h, ch->port, ch->proto, ds);
	top_update(h, &p->key, ch->c_sent - ch->base);
	if (p->first_ns && p->first_ns < h->first_ns)
		h->first_ns = p->first_ns;
	if (ts > h->last_ns)
		h->last_ns = ts;
	check_host(c, h, ts);
}

static struct cproc *cproc_get(struct correlator *c,
			       const struct exfilmon_pkey *key)
{
	struct cproc *p = (struct cproc *)hashtab_find(&c->procs, key);

	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->key = *key;
	hashtab_insert(&c->procs, &p->node);
	return p;
}

/*
 * A record showed the process's counters: its taint can only have grown,
 * and with it what each host it sent to may count.
 */
static struct cproc *update_proc(struct correlator *c,
				 const struct exfilmon_pkey *key,
				 const struct exfilmon_proc *proc, uint64_t ts)
{
	struct cproc *p = cproc_get(c, key);
	struct chost *ch;

	if (!p)
		return NULL;
	if (!p->watch_id)
		p->watch_id = proc->watch_id;
	if (proc->first_ns && (!p->first_ns || proc->first_ns < p->first_ns))
		p->first_ns = proc->first_ns;
	if (proc->taint <= p->taint)
		return p;
	p->taint = proc->taint;
	for (ch = p->hosts; ch; ch = ch->next)
		contribute(c, p, ch, ts, 0);
	return p;
}

/*
 * Bytes new since the last total seen for (proc, kind, key). Totals only
 * grow, so a repeated or late record adds nothing and a lost one is made
 * up by the next. *cum: everything seen of the pair so far.
 */
static uint64_t advance(struct correlator *c, struct cproc *p,
			enum seen_kind kind, const void *key, size_t klen,
			uint64_t total, uint64_t delta, uint64_t *cum)
{
	struct seen_key k;
	struct seen *s;
	uint64_t d;

	memset(&k, 0, sizeof(k));
	k.proc = p->key;
	k.kind = kind;
	memcpy(&k.k, key, klen);
	s = (struct seen *)hashtab_find(&c->seen, &k);
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return 0;
		s->key = k;
		s->next = p->seen;
		p->seen = s;
		hashtab_insert(&c->seen, &s->node);
	}
	if (!total) {
		/*
		 * the sensor had no counter: trust the record; its bytes
		 * are in no later total either
		 */
		s->extra += delta;
		d = delta;
	} else {
		d = total > s->total ? total - s->total : 0;
		if (total > s->total)
			s->total = total;
	}
	if (cum)
		*cum = s->total + s->extra;
	return d;
}

static struct chost *chost_get(struct correlator *c, struct cproc *p,
			       const struct exfilmon_dest *dest)
{
	struct chost_key k;
	struct chost *ch;

	memset(&k, 0, sizeof(k));
	k.proc = p->key;
	k.family = dest->family;
	memcpy(k.addr, dest->addr, sizeof(k.addr));
	ch = (struct chost *)hashtab_find(&c->chosts, &k);
	if (ch)
		return ch;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	ch->key = k;
	ch->next = p->hosts;
	p->hosts = ch;
	hashtab_insert(&c->chosts, &ch->node);
	return ch;
}

static void on_read(struct correlator *c, struct cproc *p,
		    const struct exfilmon_rec_io *io)
{
	const struct exfilmon_proc *pr = &io->proc;
	uint64_t cum;

	advance(c, p, SEEN_IN, &io->file, sizeof(io->file), io->total.bytes,
		io->delta, &cum);
	/*
	 * a table walk does not say which objects are watched files; the
	 * process's main source does
	 */
	if (io->chan == EXFILMON_CHAN_READ ||
	    (io->chan == EXFILMON_CHAN_NONE &&
	     pr->src_chan == EXFILMON_CHAN_READ &&
	     !memcmp(&pr->src_obj, &io->file, sizeof(io->file))))
		flowgraph_read(c->graph, &io->hdr.proc, &io->file,
			       io->watch_id, cum);
}

static void on_flow(struct correlator *c, struct cproc *p,
		    const struct exfilmon_rec_io *io,
		    const struct flow_env *env)
{
	uint64_t d = advance(c, p, SEEN_OUT, &io->file, sizeof(io->file),
			     io->total.bytes, io->delta, NULL);

	if (d)
		flowgraph_flow(c->graph, &io->hdr.proc, &io->file, io->chan,
			       io->watch_id ?: io->proc.watch_id, d,
			       io->hdr.ts_ns, env);
}

static void on_send(struct correlator *c, struct cproc *p,
		    const struct exfilmon_rec_io *io)
{
	const struct exfilmon_dest *dest = &io->dest;
	struct chost *ch;
	uint64_t d;

	if (config_is_internal(c->cfg, dest->family, dest->addr))
		return;
	d = advance(c, p, SEEN_SEND, dest, sizeof(*dest), io->total.bytes,
		    io->delta, NULL);
	if (!d)
		return;
	ch = chost_get(c, p, dest);
	if (!ch)
		return;
	ch->sent += d;
	ch->port = dest->port;
	ch->proto = dest->proto;
	contribute(c, p, ch, io->hdr.ts_ns, 0);
}

void corr_io(struct correlator *c, const struct exfilmon_rec_io *io,
	     const char *comm, const char *exe, const struct flow_env *env)
{
	const struct exfilmon_pkey *key = &io->hdr.proc;
	uint64_t ts = io->hdr.ts_ns;
	struct cproc *p;

	if (io->hdr.type != EXFILMON_REC_READ &&
	    io->hdr.type != EXFILMON_REC_FLOW &&
	    io->hdr.type != EXFILMON_REC_SEND)
		return;
	flowgraph_proc(c->graph, key, &io->proc, comm, exe, ts);
	p = update_proc(c, key, &io->proc, ts);
	if (!p)
		return;
	switch (io->hdr.type) {
	case EXFILMON_REC_READ:
		on_read(c, p, io);
		break;
	case EXFILMON_REC_FLOW:
		on_flow(c, p, io, env);
		break;
	default:
		on_send(c, p, io);
	}
}

void corr_block(struct correlator *c, const struct exfilmon_rec_block *r,
		const char *comm, const char *exe)
{
	const struct exfilmon_dest *dest = &r->dest;
	uint64_t ts = r->hdr.ts_ns, d;
	struct exfilmon_dest k = *dest;
	struct cproc *p;
	struct chost *ch;

	/* the kernel never refuses an internal host; a changed list may */
	if (config_is_internal(c->cfg, dest->family, dest->addr))
		return;
	flowgraph_proc(c->graph, &r->hdr.proc, &r->proc, comm, exe, ts);
	p = update_proc(c, &r->hdr.proc, &r->proc, ts);
	if (!p)
		return;
	/* refusals are counted per (process, destination) like sends */
	k.proto = dest->proto;
	d = advance(c, p, SEEN_BLOCK, &k, sizeof(k), r->total.ops, 1, NULL);
	if (!d)
		return;
	ch = chost_get(c, p, dest);
	if (!ch)
		return;
	ch->refused += d;
	if (!ch->sent) {
		ch->port = dest->port;
		ch->proto = dest->proto;
	}
	contribute(c, p, ch, ts, d);
}

void corr_derived(struct correlator *c, const struct exfilmon_rec_derived *r,
		  const struct flow_env *env)
{
	char path[ALERT_OBJECT_LEN];
	size_t len = r->path_len < sizeof(r->path) ? r->path_len :
						     sizeof(r->path);

	/* only regular files are marked: a tagged key is a sensor bug */
	if (r->key.dev & EXFILMON_KEY_TAG_MASK)
		return;
	flow_derived_path(r->path, len, r->flags, path, sizeof(path));
	flowgraph_derived(c->graph, &r->hdr.proc, &r->key, &r->obj, path,
			  r->hdr.ts_ns, env);
}

void corr_exec(struct correlator *c, const struct exfilmon_pkey *proc,
	       const char *comm, const char *exe)
{
	flowgraph_exec(c->graph, proc, comm, exe);
}

void corr_exit(struct correlator *c, const struct exfilmon_rec_exit *r,
	       const char *comm, const char *exe)
{
	if (r->tracked) {
		flowgraph_proc(c->graph, &r->hdr.proc, &r->proc, comm, exe,
			       r->hdr.ts_ns);
		update_proc(c, &r->hdr.proc, &r->proc, r->hdr.ts_ns);
	}
	flowgraph_exit(c->graph, &r->hdr.proc, r->hdr.ts_ns);
}

void corr_tick(struct correlator *c, uint64_t now_ns,
	       const struct flow_env *env)
{
	struct hashtab_node *n, *next;
	size_t i;

	for (n = hashtab_first(&c->hosts, &i); n; n = next) {
		struct host *h = (struct host *)n;
		struct corr_alert *ca = h->alert;

		next = hashtab_next(&c->hosts, n, &i);
		if (ca && ca->dirty) {
			ca->dirty = 0;
			c->emit(c->ctx, ca, CORR_UPDATE);
		}
		/* records drained after `now` was read can be newer */
		if (ca && !ca->settled && now_ns >= ca->changed_ns &&
		    now_ns - ca->changed_ns >= c->p.settle_ns) {
			ca->settled = 1;
			c->emit(c->ctx, ca, CORR_SETTLED);
		}
		/* a pair quiet for a whole window can no longer alert */
		if ((!ca || ca->settled) && h->last_ns + c->p.window_ns < now_ns)
			host_free(c, h);
	}
	flowgraph_tick(c->graph, now_ns, env);
}
