/* SPDX-License-Identifier: GPL-2.0-only */
/* Taking over a dead daemon's sensor state: see resume.c. */
#ifndef EXFILMON_RESUME_H
#define EXFILMON_RESUME_H

#include <stddef.h>
#include <stdint.h>
#include "exfilmon_abi.h"

struct daemon;
struct watchlist;

/* A watched-table key the daemon put there, and what it stands for. */
struct resume_key {
	struct exfilmon_file_key key;
	uint32_t id;
	uint32_t flags;		/* EXFILMON_WATCH_FILE or _DIR */
	const char *path;	/* the watch list's, or NULL */
};

/* By key, for qsort() and bsearch(). */
int resume_key_cmp(const void *a, const void *b);
/* Every key the watch list holds now, sorted; *out is the caller's. */
int resume_keys_now(const struct watchlist *wl, struct resume_key **out,
		    size_t *nr);

struct resume {
	struct resume_key *was;	/* configured entries found in the sensor */
	size_t nr_was, cap_was;
};

/* Before the watches are added: what the last daemon configured. */
int resume_snapshot(struct daemon *d, struct resume *r);
/*
 * After: resume when every key of the last daemon's watches is still
 * watched under the same id (d->resync then has the first tick read every
 * table), or else clear the counters and the stale entries. Frees r.
 */
int resume_check(struct daemon *d, struct resume *r);

#endif
