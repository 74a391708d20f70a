/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small chained hash table keyed by fixed-size byte strings (process
 * keys, pids), used by the process table and the correlator.
 */
#ifndef EXFILMON_HASHTAB_H
#define EXFILMON_HASHTAB_H

#include <stddef.h>
#include <stdint.h>

struct hashtab_node {
	struct hashtab_node *next;
	uint64_t hash;
	/* key bytes follow the node in the caller's struct */
};

struct hashtab {
	struct hashtab_node **buckets;
	size_t nr_buckets;	/* power of two */
	size_t count;
	size_t key_size;
	size_t key_offset;	/* of the key from the node */
};

int hashtab_init(struct hashtab *h, size_t key_size, size_t key_offset);
void hashtab_destroy(struct hashtab *h);	/* frees only the table */

struct hashtab_node *hashtab_find(const struct hashtab *h, const void *key);
/* Insert a node whose key is set; the caller checked it is absent. */
int hashtab_insert(struct hashtab *h, struct hashtab_node *n);
void hashtab_remove(struct hashtab *h, struct hashtab_node *n);

/* Iterate: for (n = hashtab_first(h, &i); n; n = hashtab_next(h, n, &i)) */
struct hashtab_node *hashtab_first(const struct hashtab *h, size_t *i);
struct hashtab_node *hashtab_next(const struct hashtab *h,
				  struct hashtab_node *n, size_t *i);

#endif
