// SPDX-License-Identifier: GPL-2.0-only
/*
 * The processes the daemon collected lately: their final totals read and
 * their entries deleted from the sensor. A record about one of them that
 * arrives after that is late, not new. It happens when records were lost:
 * the daemon then collects every exited entry it finds in a table walk,
 * and a process that exited between the drain of the ring and the walk
 * still has records queued. Taken as new, their cumulative totals would
 * count the process a second time (seen in a 6.1 guest under TCG: one
 * thief's 512 KiB twice). Keys carry the start time, so a reused pid is
 * another process.
 */
#include <stdlib.h>
#include <string.h>
#include "collected.h"

struct collected_key {
	struct hashtab_node node;
	struct exfilmon_pkey key;
};

/* Nothing is allocated until the first add: most daemons never need it. */
void collected_init(struct collected *c)
{
	memset(c, 0, sizeof(*c));
}

void collected_destroy(struct collected *c)
{
	if (c->ring)
		hashtab_destroy(&c->tab);
	free(c->ring);
	memset(c, 0, sizeof(*c));
}

/*
 * A ring of nodes that only grows (to COLLECTED_MAX): the hash table's
 * chains point into it, so it is never reallocated once nodes are in,
 * and is allocated whole on first use.
 */
void collected_add(struct collected *c, const struct exfilmon_pkey *k)
{
	struct collected_key *slot;

	if (collected_has(c, k))
		return;
	if (!c->ring) {
		if (hashtab_init(&c->tab, sizeof(struct exfilmon_pkey),
				 offsetof(struct collected_key, key) -
				 offsetof(struct collected_key, node)))
			return;
		c->ring = calloc(COLLECTED_MAX, sizeof(*c->ring));
		if (!c->ring) {
			hashtab_destroy(&c->tab);
			return;
		}
		c->cap = COLLECTED_MAX;
	}
	if (c->nr == c->cap) {
		/* forget the oldest: its late records came long ago */
		slot = &c->ring[c->head];
		hashtab_remove(&c->tab, &slot->node);
		c->head = (c->head + 1) % c->cap;
		c->nr--;
	}
	slot = &c->ring[(c->head + c->nr) % c->cap];
	slot->key = *k;
	if (hashtab_insert(&c->tab, &slot->node))
		return;
	c->nr++;
}

int collected_has(const struct collected *c, const struct exfilmon_pkey *k)
{
	return c->nr && hashtab_find(&c->tab, k) != NULL;
}
