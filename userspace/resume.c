// SPDX-License-Identifier: GPL-2.0-only
/*
 * Taking over the sensor state a daemon left when it died (docs/design.md
 * "Restarts"). The counters are cumulative, so the tables alone give every
 * total; what must hold is that the watch ids in them still mean the same
 * paths. Watch ids are handed out in the order of the configuration and
 * then the store's run-time watches, so the same configuration gives the
 * same ids, and a changed one is found by comparing keys and ids.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "daemon.h"
#include "log.h"
#include "resume.h"

int resume_key_cmp(const void *a, const void *b)
{
	const struct resume_key *x = a, *y = b;

	if (x->key.dev != y->key.dev)
		return x->key.dev < y->key.dev ? -1 : 1;
	if (x->key.ino != y->key.ino)
		return x->key.ino < y->key.ino ? -1 : 1;
	return 0;
}

static int push(struct resume_key **v, size_t *nr, size_t *cap,
		const struct exfilmon_file_key *key, uint32_t id,
		const char *path, uint32_t flags)
{
	if (*nr == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct resume_key *n = realloc(*v, ncap * sizeof(**v));

		if (!n)
			return -ENOMEM;
		*v = n;
		*cap = ncap;
	}
	(*v)[*nr].key = *key;
	(*v)[*nr].id = id;
	(*v)[*nr].path = path;
	(*v)[(*nr)++].flags = flags;
	return 0;
}

/* An entry the daemon put there for a configured or run-time watch. */
static int configured(const struct exfilmon_obj *o)
{
	return (o->flags & (EXFILMON_WATCH_FILE | EXFILMON_WATCH_DIR)) &&
	       !(o->flags & (EXFILMON_WATCH_VIA_DIR | EXFILMON_OBJ_DERIVED |
			     EXFILMON_OBJ_OPAQUE));
}

static int snap_one(void *ctx, const struct exfilmon_file_key *k,
		    const struct exfilmon_obj *o)
{
	struct resume *r = ctx;

	if (!configured(o))
		return 0;
	return push(&r->was, &r->nr_was, &r->cap_was, k, o->watch_id, NULL,
		    o->flags);
}

int resume_snapshot(struct daemon *d, struct resume *r)
{
	memset(r, 0, sizeof(*r));
	if (!d->sensor->resumed)
		return 0;
	return d->sensor->ops->for_each_watched(d->sensor, snap_one, r);
}

int resume_keys_now(const struct watchlist *wl, struct resume_key **out,
		    size_t *nr)
{
	size_t i, j, cap = 0;
	int ret = 0;

	*out = NULL;
	*nr = 0;
	for (i = 0; i < wl->nr && !ret; i++) {
		const struct watch_entry *e = &wl->entries[i];

		if (e->key.dev || e->key.ino)
			ret = push(out, nr, &cap, &e->key, e->id, e->path,
				   e->is_dir ? EXFILMON_WATCH_DIR :
				   EXFILMON_WATCH_FILE);
		for (j = 0; j < e->nr_dirs && !ret; j++)
			ret = push(out, nr, &cap, &e->dirs[j].key, e->id,
				   e->dirs[j].path, EXFILMON_WATCH_DIR);
		for (j = 0; j < e->nr_old && !ret; j++)
			ret = push(out, nr, &cap, &e->old[j].key, e->id,
				   e->path, EXFILMON_WATCH_FILE);
	}
	if (!ret && *nr)
		qsort(*out, *nr, sizeof(**out), resume_key_cmp);
	if (ret) {
		free(*out);
		*out = NULL;
		*nr = 0;
	}
	return ret;
}

struct mend_ctx {
	const struct resume_key *now;
	size_t nr_now;
};

/*
 * After a reset: configured entries no watch holds now go, and so do the
 * marks derived from the old ids (the store gives them back next) and the
 * files the sensor found through watched directories (found again on the
 * next read).
 */
static int mend_one(void *ctx, const struct exfilmon_file_key *k,
		    const struct exfilmon_obj *o)
{
	const struct mend_ctx *m = ctx;
	struct resume_key want = { .key = *k };

	if (o->flags & EXFILMON_OBJ_OPAQUE)
		return 0;
	if (!configured(o))
		return 1;
	return !bsearch(&want, m->now, m->nr_now, sizeof(want), resume_key_cmp);
}

int resume_check(struct daemon *d, struct resume *r)
{
	struct resume_key *now = NULL, *hit;
	size_t i, nr_now = 0;
	const char *why = NULL;
	struct mend_ctx m;
	int ret;

	if (!d->sensor->resumed)
		return 0;
	ret = resume_keys_now(&d->watches, &now, &nr_now);
	if (ret)
		goto out;
	for (i = 0; i < r->nr_was && !why; i++) {
		hit = bsearch(&r->was[i], now, nr_now, sizeof(*now), resume_key_cmp);
		if (!hit)
			why = "a watched path of the last daemon is not "
			      "watched now";
		else if (hit->id != r->was[i].id)
			why = "the watch list was reordered";
	}
	if (!why) {
		log_info("resuming from the sensor's state (%zu watched "
			 "inodes kept): totals counted while no daemon ran "
			 "are taken in", r->nr_was);
		d->resync = 1;
		d->took_over = 1;
		goto out;
	}
	log_warn("not resuming from the sensor's state: %s; its counters "
		 "are cleared", why);
	d->sensor->resumed = 0;
	ret = d->sensor->ops->reset(d->sensor);
	if (ret) {
		log_err("failed to clear the sensor's tables: %s",
			strerror(-ret));
		goto out;
	}
	m.now = now;
	m.nr_now = nr_now;
	ret = d->sensor->ops->for_each_watched(d->sensor, mend_one, &m);
	if (ret < 0)
		log_err("failed to clear stale watch entries: %s",
			strerror(-ret));
out:
	free(now);
	free(r->was);
	memset(r, 0, sizeof(*r));
	return ret < 0 ? ret : 0;
}
