// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "hashtab.h"

#define KEY(h, n) ((const char *)(n) + (h)->key_offset)

/*
 * Keys are process keys, file keys and (process, object) pairs: 4 to 48
 * bytes, hashed on every record. Taken 8 bytes at a time, each word mixed
 * in by a multiply, then finished with a 64-bit mix so the low bits (the
 * bucket) depend on every byte.
 */
static uint64_t hash_bytes(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t x = 0xcbf29ce484222325ull ^ len, w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		x = (x ^ w) * 0x9e3779b97f4a7c15ull;
		x ^= x >> 29;
	}
	if (len) {
		w = 0;
		memcpy(&w, p, len);
		x = (x ^ w) * 0x9e3779b97f4a7c15ull;
	}
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

int hashtab_init(struct hashtab *h, size_t key_size, size_t key_offset)
{
	memset(h, 0, sizeof(*h));
	h->key_size = key_size;
	h->key_offset = key_offset;
	h->nr_buckets = 64;
	h->buckets = calloc(h->nr_buckets, sizeof(*h->buckets));
	return h->buckets ? 0 : -ENOMEM;
}

void hashtab_destroy(struct hashtab *h)
{
	free(h->buckets);
	h->buckets = NULL;
	h->count = 0;
}

struct hashtab_node *hashtab_find(const struct hashtab *h, const void *key)
{
	uint64_t hash = hash_bytes(key, h->key_size);
	struct hashtab_node *n = h->buckets[hash & (h->nr_buckets - 1)];

	for (; n; n = n->next)
		if (n->hash == hash && !memcmp(KEY(h, n), key, h->key_size))
			return n;
	return NULL;
}

static int grow(struct hashtab *h)
{
	size_t nr = h->nr_buckets * 2, i;
	struct hashtab_node **b = calloc(nr, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (i = 0; i < h->nr_buckets; i++) {
		struct hashtab_node *n = h->buckets[i], *next;

		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nr - 1)];
			b[n->hash & (nr - 1)] = n;
		}
	}
	free(h->buckets);
	h->buckets = b;
	h->nr_buckets = nr;
	return 0;
}

int hashtab_insert(struct hashtab *h, struct hashtab_node *n)
{
	struct hashtab_node **slot;

	/* a failed grow only makes chains longer: keep going */
	if (h->count >= h->nr_buckets)
		grow(h);
	n->hash = hash_bytes(KEY(h, n), h->key_size);
	slot = &h->buckets[n->hash & (h->nr_buckets - 1)];
	n->next = *slot;
	*slot = n;
	h->count++;
	return 0;
}

void hashtab_remove(struct hashtab *h, struct hashtab_node *n)
{
	struct hashtab_node **p = &h->buckets[n->hash & (h->nr_buckets - 1)];

	for (; *p; p = &(*p)->next) {
		if (*p == n) {
			*p = n->next;
			h->count--;
			return;
		}
	}
}

struct hashtab_node *hashtab_first(const struct hashtab *h, size_t *i)
{
	for (*i = 0; *i < h->nr_buckets; (*i)++)
		if (h->buckets[*i])
			return h->buckets[*i];
	return NULL;
}

struct hashtab_node *hashtab_next(const struct hashtab *h,
				  struct hashtab_node *n, size_t *i)
{
	if (n->next)
		return n->next;
	for ((*i)++; *i < h->nr_buckets; (*i)++)
		if (h->buckets[*i])
			return h->buckets[*i];
	return NULL;
}
