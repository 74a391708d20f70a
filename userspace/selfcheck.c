// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon checks its own sensor every SELFCHECK_TICKS seconds
 * (docs/design.md "Self-check"). The insider is not root, and nothing here
 * stops root; but root-level tampering done to hide a theft (a watch entry
 * deleted from the table, a filter bit cleared, the pins removed so that
 * a restart loses the state) must not go unnoticed. Each finding is
 * mended and raised as a tamper event: the journal at LOG_CRIT, and
 * `exfilctl status`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include "daemon.h"
#include "log.h"
#include "resume.h"

enum { SEEN_NOT, SEEN_OK, SEEN_CHANGED };

struct table_ctx {
	struct resume_key *keys;
	size_t nr;
	char *seen;
	char *why;
	size_t whylen;
	int bad;
};

static int table_one(void *ctx, const struct exfilmon_file_key *k,
		     const struct exfilmon_obj *o)
{
	struct table_ctx *c = ctx;
	struct resume_key want = { .key = *k }, *hit;

	hit = bsearch(&want, c->keys, c->nr, sizeof(want), resume_key_cmp);
	if (!hit)
		return 0;
	if (o->watch_id == hit->id && (o->flags & hit->flags)) {
		c->seen[hit - c->keys] = SEEN_OK;
		return 0;
	}
	/* mended below, with the missing ones */
	c->seen[hit - c->keys] = SEEN_CHANGED;
	c->bad++;
	sensor_say(c->why, c->whylen, "the watch entry of %s was changed",
		   hit->path ? hit->path : "?");
	return 0;
}

/* The configured entries of the watched table, as the watch list has them. */
static int check_table(struct daemon *d, struct table_ctx *c)
{
	size_t i;
	int ret;

	ret = d->sensor->ops->for_each_watched(d->sensor, table_one, c);
	if (ret < 0)
		return ret;
	for (i = 0; i < c->nr; i++) {
		if (c->seen[i] != SEEN_NOT)
			continue;
		c->bad++;
		sensor_say(c->why, c->whylen, "the watch entry of %s was removed",
			   c->keys[i].path ? c->keys[i].path : "?");
	}
	return 0;
}

/* After the sensor's check: adding an entry sets its filter bit again. */
static void mend_table(struct daemon *d, struct table_ctx *c)
{
	size_t i;
	int ret;

	for (i = 0; i < c->nr; i++) {
		struct exfilmon_obj w = { .flags = c->keys[i].flags,
					  .watch_id = c->keys[i].id };

		if (c->seen[i] == SEEN_OK)
			continue;
		ret = d->sensor->ops->watch_add(d->sensor, &c->keys[i].key, &w);
		if (ret)
			log_err("failed to restore the watch entry of %s: %s",
				c->keys[i].path ? c->keys[i].path : "?",
				strerror(-ret));
	}
}

void daemon_tamper(struct daemon *d, const char *what)
{
	log_msg(LOG_CRIT, "tamper: %s", what);
	d->tamper.count++;
	d->tamper.last_us = now_real_us();
	snprintf(d->tamper.last, sizeof(d->tamper.last), "%s", what);
}

int daemon_selfcheck(struct daemon *d)
{
	struct exfilmon_file_key *files = NULL;
	struct table_ctx c = { 0 };
	char why[1024] = "";
	size_t i, nr_files = 0;
	int ret, bad;

	ret = resume_keys_now(&d->watches, &c.keys, &c.nr);
	if (ret)
		return ret;
	c.seen = calloc(c.nr + 1, 1);
	files = calloc(c.nr + 1, sizeof(*files));
	if (!c.seen || !files) {
		ret = -ENOMEM;
		goto out;
	}
	c.why = why;
	c.whylen = sizeof(why);
	ret = check_table(d, &c);
	if (ret)
		goto out;
	/* the filter must pass reads of every watched file */
	for (i = 0; i < c.nr; i++)
		if (c.keys[i].flags & EXFILMON_WATCH_FILE)
			files[nr_files++] = c.keys[i].key;
	bad = c.bad;
	/* the sensor's findings follow the table's in why */
	ret = d->sensor->ops->check(d->sensor, files, nr_files, why,
				    sizeof(why));
	if (ret > 0)
		bad += ret;
	mend_table(d, &c);
	if (bad) {
		d->tamper.mended += bad;
		daemon_tamper(d, why);
	}
	ret = ret < 0 ? ret : 0;
out:
	free(files);
	free(c.seen);
	free(c.keys);
	return ret;
}
