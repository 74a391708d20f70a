// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "correlate.h"
#include "hashtab.h"
#include "units.h"

struct tree_file {
	struct exfilmon_file_key key;
	uint32_t watch_id;
	uint64_t bytes;
};

struct tree_port {
	uint16_t port;
	uint8_t proto;
	uint64_t bytes;
};

struct tree_host {
	uint8_t family;
	uint8_t addr[16];
	struct wsum sent;
	uint64_t total;
	uint32_t sender;		/* pid of the latest sender */
	struct tree_port *ports;
	size_t nr_ports;
	struct corr_alert *alert;
};

/* The last total seen of one (process, file) or (process, destination). */
struct seen {
	union {
		struct exfilmon_file_key file;
		struct exfilmon_dest dest;
	} key;	/* zero-padded and compared whole; a dest (family != 0)
		 * never equals a file key (bytes 16-23 zero) */
	uint64_t total;
};

/*
 * The last cumulative totals seen for one process. They outlive the
 * process's tree: a tree quiet for a window is forgotten, but the kernel's
 * totals go on from where they were, and only the bytes added since may
 * count in a new window. Dropped when the daemon forgets the process.
 */
struct cproc {
	struct hashtab_node node;
	struct exfilmon_pkey key;
	struct seen *seen;
	size_t nr_seen;
};

/* Everything tainted by one origin's reads. */
struct tree {
	struct hashtab_node node;
	struct exfilmon_pkey origin;	/* the key */
	struct wsum reads;
	uint64_t read_total;
	uint64_t first_ns;
	uint64_t last_ns;
	struct tree_file *files;
	size_t nr_files;
	struct tree_host *hosts;
	size_t nr_hosts;
};

struct correlator {
	struct corr_params p;
	const struct config *cfg;
	struct hashtab trees;
	struct hashtab procs;		/* of struct cproc */
	corr_emit_fn emit;
	void *ctx;
};

#define bucket_width(c) ((c)->p.window_ns / CORR_BUCKETS ?: 1)

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

/* Grow *arr (of *nr elements of size sz) by one zeroed element. */
static void *push(void *arr_p, size_t *nr, size_t sz)
{
	void **arr = arr_p;
	char *n = realloc(*arr, (*nr + 1) * sz);

	if (!n)
		return NULL;
	memset(n + *nr * sz, 0, sz);
	*arr = n;
	return n + (*nr)++ * sz;
}

struct correlator *corr_new(const struct corr_params *p,
			    const struct config *cfg, corr_emit_fn emit,
			    void *ctx)
{
	struct correlator *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->p = *p;
	c->cfg = cfg;
	c->emit = emit;
	c->ctx = ctx;
	if (hashtab_init(&c->trees, sizeof(struct exfilmon_pkey),
			 offsetof(struct tree, origin)))
		goto err_free;
	if (hashtab_init(&c->procs, sizeof(struct exfilmon_pkey),
			 offsetof(struct cproc, key)))
		goto err_trees;
	return c;

err_trees:
	hashtab_destroy(&c->trees);
err_free:
	free(c);
	return NULL;
}

static void alert_destroy(struct corr_alert *ca)
{
	if (!ca)
		return;
	alert_free(&ca->a);
	free(ca->file_keys);
	free(ca->watch_ids);
	free(ca);
}

static void tree_free(struct tree *t)
{
	size_t i;

	for (i = 0; i < t->nr_hosts; i++) {
		free(t->hosts[i].ports);
		alert_destroy(t->hosts[i].alert);
	}
	free(t->hosts);
	free(t->files);
	free(t);
}

static void cproc_free(struct cproc *p)
{
	free(p->seen);
	free(p);
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

void corr_forget(struct correlator *c, const struct exfilmon_pkey *proc)
{
	struct cproc *p = (struct cproc *)hashtab_find(&c->procs, proc);

	if (!p)
		return;
	hashtab_remove(&c->procs, &p->node);
	cproc_free(p);
}

size_t corr_procs(const struct correlator *c)
{
	return c->procs.count;
}

void corr_free(struct correlator *c)
{
	struct hashtab_node *n, *next;
	size_t i;

	if (!c)
		return;
	for (n = hashtab_first(&c->trees, &i); n; n = next) {
		next = hashtab_next(&c->trees, n, &i);
		tree_free((struct tree *)n);
	}
	for (n = hashtab_first(&c->procs, &i); n; n = next) {
		next = hashtab_next(&c->procs, n, &i);
		cproc_free((struct cproc *)n);
	}
	hashtab_destroy(&c->trees);
	hashtab_destroy(&c->procs);
	free(c);
}

size_t corr_trees(const struct correlator *c)
{
	return c->trees.count;
}

static struct tree *tree_get(struct correlator *c,
			     const struct exfilmon_pkey *origin, uint64_t ts)
{
	struct tree *t = (struct tree *)hashtab_find(&c->trees, origin);

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->origin = *origin;
	t->first_ns = ts;
	hashtab_insert(&c->trees, &t->node);
	return t;
}

int corr_severity(uint64_t bytes_read, uint64_t bytes_sent,
		  uint64_t read_threshold)
{
	/* compression and encryption change sizes, so the share sent is a
	 * grade, not a condition: gzip'd CSV leaves at a third or less */
	double share = bytes_read ? (double)bytes_sent / bytes_read : 0;
	uint64_t rt = read_threshold ?: 1;

	if (bytes_read >= 64 * rt && share >= 0.25)
		return SEV_CRITICAL;
	if ((bytes_read >= 16 * rt && share >= 0.25) ||
	    (bytes_read >= 4 * rt && share >= 0.9))
		return SEV_HIGH;
	if (bytes_read >= 4 * rt || share >= 0.5)
		return SEV_MEDIUM;
	return SEV_LOW;
}

void corr_explain(struct alert *a, uint64_t window_ns)
{
	char rd[32], sent[32], span[32], win[32];
	const char *what = a->nr_files ? a->files[0].path : "watched data";
	unsigned int pct = a->bytes_read ?
		(unsigned int)(a->bytes_sent * 100 / a->bytes_read) : 0;

	format_size(a->bytes_read, rd, sizeof(rd));
	format_size(a->bytes_sent, sent, sizeof(sent));
	format_duration(a->last_ns > a->first_ns ? a->last_ns - a->first_ns : 0,
			span, sizeof(span));
	format_duration(window_ns, win, sizeof(win));
	snprintf(a->reason, sizeof(a->reason),
		 "%s (pid %u, user %s) read %s of watched data from %.256s%s and "
		 "then sent %s (%u%% of it) to %s within %s (window %s)",
		 a->comm, a->pid, a->user, rd, what,
		 a->nr_files > 1 ? " and other files" : "", sent, pct,
		 a->host, span, win);
}

/* Rebuild the alert's byte figures, files and destinations. */
static int alert_fill(struct correlator *c, struct tree *t,
		      struct tree_host *h, struct corr_alert *ca)
{
	struct alert *a = &ca->a;
	size_t i;

	free(a->files);
	free(a->dests);
	free(ca->file_keys);
	free(ca->watch_ids);
	a->files = calloc(t->nr_files ?: 1, sizeof(*a->files));
	a->dests = calloc(h->nr_ports ?: 1, sizeof(*a->dests));
	ca->file_keys = calloc(t->nr_files ?: 1, sizeof(*ca->file_keys));
	ca->watch_ids = calloc(t->nr_files ?: 1, sizeof(*ca->watch_ids));
	a->nr_files = a->nr_dests = 0;
	if (!a->files || !a->dests || !ca->file_keys || !ca->watch_ids)
		return -ENOMEM;
	for (i = 0; i < t->nr_files; i++) {
		a->files[i].bytes_read = t->files[i].bytes;
		ca->file_keys[i] = t->files[i].key;
		ca->watch_ids[i] = t->files[i].watch_id;
	}
	a->nr_files = t->nr_files;
	for (i = 0; i < h->nr_ports; i++) {
		struct alert_dest *d = &a->dests[i];

		snprintf(d->addr, sizeof(d->addr), "%s", a->host);
		d->port = h->ports[i].port;
		d->proto = h->ports[i].proto;
		d->bytes_sent = h->ports[i].bytes;
	}
	a->nr_dests = h->nr_ports;
	a->bytes_read = t->read_total;
	a->bytes_sent = h->total;
	a->first_ns = t->first_ns;
	a->pid = h->sender;
	a->severity = corr_severity(a->bytes_read, a->bytes_sent,
				    c->p.read_threshold);
	return 0;
}

/* Raise or update h's alert when both thresholds are met in the window. */
static void check_host(struct correlator *c, struct tree *t,
		       struct tree_host *h, uint64_t ts)
{
	uint64_t w = bucket_width(c);
	struct corr_alert *ca = h->alert;
	int is_new = 0;

	if (!ca || ca->a.last_ns + c->p.window_ns < ts) {
		if (wsum_total(&t->reads, w, ts) < c->p.read_threshold ||
		    wsum_total(&h->sent, w, ts) < c->p.send_threshold)
			return;
		/* one alert per (tree, host) per window: a stale one was
		 * settled long ago and is replaced */
		alert_destroy(ca);
		ca = h->alert = calloc(1, sizeof(*ca));
		if (!ca)
			return;
		ca->origin = t->origin;
		ca->family = h->family;
		memcpy(ca->addr, h->addr, sizeof(ca->addr));
		inet_ntop(h->family == EXFILMON_AF_INET ? AF_INET : AF_INET6,
			  h->addr, ca->a.host, sizeof(ca->a.host));
		is_new = 1;
	}
	ca->a.last_ns = ts > ca->a.last_ns ? ts : ca->a.last_ns;
	if (alert_fill(c, t, h, ca))
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

static struct tree_file *tree_file(struct tree *t,
				   const struct exfilmon_file_key *key,
				   uint32_t watch_id)
{
	struct tree_file *f;
	size_t i;

	for (i = 0; i < t->nr_files; i++)
		if (!memcmp(&t->files[i].key, key, sizeof(*key)))
			return &t->files[i];
	f = push(&t->files, &t->nr_files, sizeof(*f));
	if (f) {
		f->key = *key;
		f->watch_id = watch_id;
	}
	return f;
}

/*
 * Bytes new since the last total seen for (proc, key), where key is a file
 * or a destination of klen bytes. Totals only grow, so a repeated or late
 * record adds nothing and a lost one is made up by the next.
 */
static uint64_t advance(struct correlator *c, const struct exfilmon_pkey *proc,
			const void *key, size_t klen, uint64_t total,
			uint64_t delta)
{
	struct cproc *p = cproc_get(c, proc);
	struct seen k = { 0 }, *s = NULL;
	uint64_t d;
	size_t i;

	if (!p)
		return 0;
	memcpy(&k.key, key, klen);
	for (i = 0; i < p->nr_seen && !s; i++)
		if (!memcmp(&p->seen[i].key, &k.key, sizeof(k.key)))
			s = &p->seen[i];
	if (!s) {
		s = push(&p->seen, &p->nr_seen, sizeof(*s));
		if (!s)
			return 0;
		s->key = k.key;
	}
	if (!total)
		return delta;	/* sensor had no counter: trust the record */
	d = total > s->total ? total - s->total : 0;
	if (total > s->total)
		s->total = total;
	return d;
}

void corr_read(struct correlator *c, const struct exfilmon_pkey *proc,
	       const struct exfilmon_pkey *origin,
	       const struct exfilmon_file_key *file, uint32_t watch_id,
	       uint64_t total, uint64_t delta, uint64_t ts_ns)
{
	struct tree_file *f;
	struct tree *t;
	uint64_t d;
	size_t i;

	d = advance(c, proc, file, sizeof(*file), total, delta);
	if (!d)
		return;
	t = tree_get(c, origin, ts_ns);
	if (!t)
		return;
	wsum_add(&t->reads, bucket_width(c), ts_ns, d);
	t->read_total += d;
	t->last_ns = ts_ns > t->last_ns ? ts_ns : t->last_ns;
	f = tree_file(t, file, watch_id);
	if (f)
		f->bytes += d;
	/* reads after the sends can complete an alert, or grow one */
	for (i = 0; i < t->nr_hosts; i++)
		if (t->hosts[i].total)
			check_host(c, t, &t->hosts[i], ts_ns);
}

static struct tree_host *tree_host(struct tree *t,
				   const struct exfilmon_dest *dest)
{
	struct tree_host *h;
	size_t i;

	for (i = 0; i < t->nr_hosts; i++)
		if (t->hosts[i].family == dest->family &&
		    !memcmp(t->hosts[i].addr, dest->addr, 16))
			return &t->hosts[i];
	h = push(&t->hosts, &t->nr_hosts, sizeof(*h));
	if (h) {
		h->family = dest->family;
		memcpy(h->addr, dest->addr, 16);
	}
	return h;
}

void corr_send(struct correlator *c, const struct exfilmon_pkey *proc,
	       const struct exfilmon_pkey *origin,
	       const struct exfilmon_dest *dest, uint64_t total,
	       uint64_t delta, uint64_t ts_ns)
{
	struct tree_host *h;
	struct tree_port *p = NULL;
	struct tree *t;
	uint64_t d;
	size_t i;

	if (config_is_internal(c->cfg, dest->family, dest->addr))
		return;
	d = advance(c, proc, dest, sizeof(*dest), total, delta);
	if (!d)
		return;
	t = tree_get(c, origin, ts_ns);
	if (!t)
		return;
	h = tree_host(t, dest);
	if (!h)
		return;
	for (i = 0; i < h->nr_ports; i++) {
		if (h->ports[i].port == dest->port &&
		    h->ports[i].proto == dest->proto) {
			p = &h->ports[i];
			break;
		}
	}
	if (!p) {
		p = push(&h->ports, &h->nr_ports, sizeof(*p));
		if (!p)
			return;
		p->port = dest->port;
		p->proto = dest->proto;
	}
	p->bytes += d;
	h->total += d;
	h->sender = proc->tgid;
	wsum_add(&h->sent, bucket_width(c), ts_ns, d);
	t->last_ns = ts_ns > t->last_ns ? ts_ns : t->last_ns;
	check_host(c, t, h, ts_ns);
}

void corr_tick(struct correlator *c, uint64_t now_ns)
{
	struct hashtab_node *n, *next;
	size_t i, j;

	for (n = hashtab_first(&c->trees, &i); n; n = next) {
		struct tree *t = (struct tree *)n;
		int busy = 0;

		next = hashtab_next(&c->trees, n, &i);
		for (j = 0; j < t->nr_hosts; j++) {
			struct corr_alert *ca = t->hosts[j].alert;

			if (!ca)
				continue;
			if (ca->dirty) {
				ca->dirty = 0;
				c->emit(c->ctx, ca, CORR_UPDATE);
			}
			/* records drained after `now` was read can be
			 * newer than it */
			if (!ca->settled && now_ns >= ca->changed_ns &&
			    now_ns - ca->changed_ns >= c->p.settle_ns) {
				ca->settled = 1;
				c->emit(c->ctx, ca, CORR_SETTLED);
			}
			busy |= !ca->settled;
		}
		/* a tree quiet for a whole window can no longer alert */
		if (!busy && t->last_ns + c->p.window_ns < now_ns &&
		    t->first_ns + c->p.window_ns < now_ns) {
			hashtab_remove(&c->trees, n);
			tree_free(t);
		}
	}
}
