/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Processes the daemon collected lately: see collected.c.
 */
#ifndef EXFILMON_COLLECTED_H
#define EXFILMON_COLLECTED_H

#include <stddef.h>
#include "exfilmon_abi.h"
#include "hashtab.h"

#define COLLECTED_MAX	4096

struct collected_key;

struct collected {
	struct hashtab tab;
	struct collected_key *ring;	/* oldest first, from head */
	size_t head, nr, cap;
};

void collected_init(struct collected *c);
void collected_destroy(struct collected *c);
/* Remember k; the oldest is forgotten past COLLECTED_MAX. */
void collected_add(struct collected *c, const struct exfilmon_pkey *k);
int collected_has(const struct collected *c, const struct exfilmon_pkey *k);

#endif
