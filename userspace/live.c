// SPDX-License-Identifier: GPL-2.0-only
/*
 * Live counters (live.h). Without them, the bytes a process reads or sends
 * after its last announced operation would reach the correlator only at
 * its exit: a thief that sends just under a boundary and then idles would
 * not be seen until it quits.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "live.h"
#include "log.h"

struct live_key {
	uint32_t table;		/* EXFILMON_TABLE_READS or _SENDS */
	uint32_t pad;
	union {
		struct exfilmon_read_key read;
		struct exfilmon_send_key send;
	} k;
};

struct live {
	struct hashtab_node node;
	struct live_key key;
	struct exfilmon_rec_io rec;	/* the last record announced */
	struct live *next;		/* in one settle's list */
};

int live_init(struct live_set *l)
{
	l->overflow = 0;
	return hashtab_init(&l->tab, sizeof(struct live_key),
			    offsetof(struct live, key) -
			    offsetof(struct live, node));
}

void live_destroy(struct live_set *l)
{
	struct hashtab_node *n, *next;
	size_t i;

	if (!l->tab.buckets)
		return;
	for (n = hashtab_first(&l->tab, &i); n; n = next) {
		next = hashtab_next(&l->tab, n, &i);
		free(n);
	}
	hashtab_destroy(&l->tab);
}

size_t live_count(const struct live_set *l)
{
	return l->tab.count;
}

/* The table and key of a coalesced counter's record; 0 if it is not one. */
static int key_of(const struct exfilmon_rec_io *io, struct live_key *k)
{
	memset(k, 0, sizeof(*k));
	k->k.read.proc = io->hdr.proc;
	if (io->hdr.type == EXFILMON_REC_READ &&
	    io->chan == EXFILMON_CHAN_READ) {
		k->table = EXFILMON_TABLE_READS;
		k->k.read.file = io->file;
	} else if (io->hdr.type == EXFILMON_REC_SEND) {
		k->table = EXFILMON_TABLE_SENDS;
		k->k.send.dest = io->dest;
	} else {
		return 0;
	}
	/* no counter (its table was full): the record carried the bytes */
	return io->total.ops != 0;
}

void live_note(struct live_set *l, const struct exfilmon_rec_io *io)
{
	struct live_key k;
	struct live *e;

	if (!key_of(io, &k))
		return;
	e = (struct live *)hashtab_find(&l->tab, &k);
	if (!e) {
		if (l->tab.count >= LIVE_MAX) {
			l->overflow = 1;
			return;
		}
		e = calloc(1, sizeof(*e));
		if (!e || (e->key = k, hashtab_insert(&l->tab, &e->node))) {
			free(e);
			l->overflow = 1;
			return;
		}
	}
	e->rec = *io;
}

/* The entries of one table, in that table's layout, for one lookup. */
struct batch {
	uint32_t table;
	size_t ksize, esize, nr;
	struct live **who;
	char *buf;
};

static int batch_fill(struct batch *b, struct live *list, uint32_t table,
		      size_t ksize)
{
	struct live *e;
	size_t n = 0;

	b->table = table;
	b->ksize = ksize;
	b->esize = ksize + sizeof(struct exfilmon_count);
	b->nr = 0;
	for (e = list; e; e = e->next)
		n += e->key.table == table;
	if (!n)
		return 0;
	b->who = calloc(n, sizeof(*b->who));
	b->buf = calloc(n, b->esize);
	if (!b->who || !b->buf)
		return -ENOMEM;
	for (e = list; e; e = e->next) {
		if (e->key.table != table)
			continue;
		memcpy(b->buf + b->nr * b->esize, &e->key.k, ksize);
		b->who[b->nr++] = e;
	}
	return 0;
}

static void batch_free(struct batch *b)
{
	free(b->who);
	free(b->buf);
	b->who = NULL;
	b->buf = NULL;
}

static void forget(struct live_set *l, struct live *e)
{
	hashtab_remove(&l->tab, &e->node);
	free(e);
}

/* Feed each looked-up total; forget the quiet and the gone. */
static void batch_feed(struct live_set *l, struct sensor *s,
		       struct batch *b, uint64_t now,
		       void (*fn)(void *ctx, const struct exfilmon_rec_io *io),
		       void *ctx)
{
	size_t i;

	for (i = 0; i < b->nr; i++) {
		struct exfilmon_count c;
		struct live *e = b->who[i];
		struct exfilmon_rec_io io = e->rec;

		memcpy(&c, b->buf + i * b->esize + b->ksize, sizeof(c));
		if (!c.ops ||
		    s->ops->proc_get(s, &e->rec.hdr.proc, &io.proc)) {
			/* collected at exit: its totals went with it */
			forget(l, e);
			continue;
		}
		if (c.bytes > e->rec.total.bytes) {
			io.hdr.ts_ns = c.last_ns;
			io.total = c;
			io.delta = 0;	/* the total says it all */
			e->rec = io;
			fn(ctx, &io);
		}
		/*
		 * Twice the quiet time: an operation racing with this
		 * look-up comes more than EXFILMON_QUIET_NS after the one
		 * before, so the sensor announces it.
		 */
		if (now > c.last_ns && now - c.last_ns >= 2 * EXFILMON_QUIET_NS)
			forget(l, e);
	}
}

void live_settle(struct live_set *l, struct sensor *s, uint64_t now,
		 void (*fn)(void *ctx, const struct exfilmon_rec_io *io),
		 void *ctx)
{
	struct batch reads = { 0 }, sends = { 0 };
	struct hashtab_node *n;
	struct live *list = NULL;
	int ret;
	size_t i;

	if (!l->tab.count || !s->ops->table_lookup)
		return;
	for (n = hashtab_first(&l->tab, &i); n; n = hashtab_next(&l->tab, n, &i)) {
		struct live *e = (struct live *)n;

		e->next = list;
		list = e;
	}
	ret = batch_fill(&reads, list, EXFILMON_TABLE_READS,
			 sizeof(struct exfilmon_read_key));
	if (!ret)
		ret = batch_fill(&sends, list, EXFILMON_TABLE_SENDS,
				 sizeof(struct exfilmon_send_key));
	if (!ret && reads.nr)
		ret = s->ops->table_lookup(s, reads.table, reads.buf, reads.nr);
	if (!ret && sends.nr)
		ret = s->ops->table_lookup(s, sends.table, sends.buf, sends.nr);
	if (ret) {
		log_warn("failed to look up %zu live counters: %s",
			 reads.nr + sends.nr, strerror(-ret));
		l->overflow = 1;	/* the tick re-reads the tables */
		goto out;
	}
	/* reads first: a process's taint before what it sent */
	batch_feed(l, s, &reads, now, fn, ctx);
	batch_feed(l, s, &sends, now, fn, ctx);
out:
	batch_free(&reads);
	batch_free(&sends);
}
