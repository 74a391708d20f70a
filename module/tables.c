// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilmon's bounded hash tables: a preallocated pool of entries with a
 * free list, and a power-of-two array of hash buckets.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jhash.h>
#include <linux/log2.h>
#include <linux/overflow.h>
#include <linux/random.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include "exfilmon.h"

#define NODE_NONE	U32_MAX

struct tbl_node {
	struct hlist_node link;
	u32 used;
	u32 next_free;
	u64 entry[];			/* key, then value */
};

struct exfilmon_table exfilmon_tables[EXFILMON_TABLES];

static struct tbl_node *node_at(struct exfilmon_table *t, u32 idx)
{
	return t->pool + (size_t)idx * t->stride;
}

static struct hlist_head *bucket_of(struct exfilmon_table *t, const void *key)
{
	/* every ABI key is a whole number of 32-bit words */
	u32 h = jhash2(key, t->key_size / sizeof(u32), t->seed);

	return &t->buckets[h & t->bucket_mask];
}

int exfilmon_table_init(struct exfilmon_table *t, const char *name,
			struct lock_class_key *lock_key, u32 size, u32 key_size,
			u32 entry_size)
{
	u32 nbuckets = roundup_pow_of_two(size);
	u32 i;

	spin_lock_init(&t->lock);
	/*
	 * One lock class per table: the hooks nest them (see exfilmon.h),
	 * which lockdep would take for recursion on a class they shared.
	 */
	lockdep_set_class_and_name(&t->lock, lock_key, name);
	t->key_size = key_size;
	t->entry_size = entry_size;
	t->stride = ALIGN(sizeof(struct tbl_node) + entry_size, 8);
	t->size = size;
	t->limit = size;
	t->count = 0;
	t->bucket_mask = nbuckets - 1;
	t->seed = get_random_u32();
	t->buckets = vzalloc(array_size(nbuckets, sizeof(*t->buckets)));
	if (!t->buckets)
		return -ENOMEM;
	t->pool = vzalloc(array_size(size, t->stride));
	if (!t->pool)
		goto out_free_buckets;
	for (i = 0; i < size; i++)
		node_at(t, i)->next_free = i + 1 < size ? i + 1 : NODE_NONE;
	t->free_head = 0;
	return 0;

out_free_buckets:
	vfree(t->buckets);
	t->buckets = NULL;
	return -ENOMEM;
}

void exfilmon_table_destroy(struct exfilmon_table *t)
{
	vfree(t->pool);
	t->pool = NULL;
	vfree(t->buckets);
	t->buckets = NULL;
}

/*
 * Without the lock: false when key is certainly absent. Buckets outnumber
 * entries, so most lookups of an absent key (an untracked process, an
 * unwatched file) find an empty bucket and never touch the lock. The
 * bucket head is written with WRITE_ONCE() by hlist_add_head() and
 * hlist_del(). A key inserted at this very moment may be missed; the hooks
 * race with such an insert anyway.
 */
bool exfilmon_table_maybe_has(struct exfilmon_table *t, const void *key)
{
	return !hlist_empty(bucket_of(t, key));
}

void *exfilmon_table_lookup(struct exfilmon_table *t, const void *key)
{
	struct tbl_node *n;

	lockdep_assert_held(&t->lock);
	hlist_for_each_entry(n, bucket_of(t, key), link)
		if (!memcmp(n->entry, key, t->key_size))
			return n->entry;
	return NULL;
}

/* A zeroed entry for key, which must be absent; NULL when the table is full. */
void *exfilmon_table_insert(struct exfilmon_table *t, const void *key)
{
	struct tbl_node *n;

	lockdep_assert_held(&t->lock);
	if (t->count >= t->limit || t->free_head == NODE_NONE)
		return NULL;
	n = node_at(t, t->free_head);
	t->free_head = n->next_free;
	n->used = 1;
	memcpy(n->entry, key, t->key_size);
	memset((u8 *)n->entry + t->key_size, 0, t->entry_size - t->key_size);
	hlist_add_head(&n->link, bucket_of(t, key));
	/* read without the lock by exfilmon_table_empty() */
	WRITE_ONCE(t->count, t->count + 1);
	return n->entry;
}

static void node_free(struct exfilmon_table *t, struct tbl_node *n)
{
	hlist_del(&n->link);
	n->used = 0;
	n->next_free = t->free_head;
	t->free_head = ((void *)n - t->pool) / t->stride;
	WRITE_ONCE(t->count, t->count - 1);
}

int exfilmon_table_delete(struct exfilmon_table *t, const void *key)
{
	void *entry = exfilmon_table_lookup(t, key);

	if (!entry)
		return -ENOENT;
	node_free(t, entry - offsetof(struct tbl_node, entry));
	return 0;
}

/*
 * Copy up to max entries to buf, scanning at most budget pool slots from
 * *cursor (a pool index), which is left at the first slot not scanned.
 * The budget bounds how long the hooks can wait for the lock.
 */
u32 exfilmon_table_copy(struct exfilmon_table *t, u32 *cursor, void *buf,
			u32 max, u32 budget)
{
	u32 i = *cursor, end = t->size, n = 0;

	lockdep_assert_held(&t->lock);
	if (i < end && end - i > budget)
		end = i + budget;
	for (; i < end && n < max; i++) {
		struct tbl_node *node = node_at(t, i);

		if (!node->used)
			continue;
		memcpy(buf + (size_t)n * t->entry_size, node->entry,
		       t->entry_size);
		n++;
	}
	*cursor = i;
	return n;
}

/* Delete the entries match() selects, scanning as exfilmon_table_copy(). */
void exfilmon_table_delete_if(struct exfilmon_table *t, u32 *cursor,
			      u32 budget,
			      bool (*match)(const void *entry, const void *ctx),
			      const void *ctx)
{
	u32 i = *cursor, end = t->size;

	lockdep_assert_held(&t->lock);
	if (i < end && end - i > budget)
		end = i + budget;
	for (; i < end; i++) {
		struct tbl_node *node = node_at(t, i);

		if (node->used && match(node->entry, ctx))
			node_free(t, node);
	}
	*cursor = i;
}

/* What each table holds: its key, and its entry (key then value). */
static const struct {
	const char *name;
	u32 key_size;
	u32 entry_size;
} table_desc[EXFILMON_TABLES] = {
	[EXFILMON_TABLE_PROCS] = {
		"exfilmon_procs", sizeof(struct exfilmon_pkey),
		sizeof(struct exfilmon_proc_entry),
	},
	[EXFILMON_TABLE_READS] = {
		"exfilmon_reads", sizeof(struct exfilmon_read_key),
		sizeof(struct exfilmon_read_entry),
	},
	[EXFILMON_TABLE_SENDS] = {
		"exfilmon_sends", sizeof(struct exfilmon_send_key),
		sizeof(struct exfilmon_send_entry),
	},
	[EXFILMON_TABLE_WATCHED] = {
		"exfilmon_watched", sizeof(struct exfilmon_file_key),
		sizeof(struct exfilmon_watch_entry),
	},
	[EXFILMON_TABLE_STREAMS] = {
		"exfilmon_streams", sizeof(struct exfilmon_file_key),
		sizeof(struct exfilmon_watch_entry),
	},
	[EXFILMON_TABLE_FLOWS] = {
		"exfilmon_flows", sizeof(struct exfilmon_read_key),
		sizeof(struct exfilmon_read_entry),
	},
	[EXFILMON_TABLE_BLOCKS] = {
		"exfilmon_blocks", sizeof(struct exfilmon_send_key),
		sizeof(struct exfilmon_send_entry),
	},
};

static struct lock_class_key table_lock_keys[EXFILMON_TABLES];

/* size[EXFILMON_TABLE_*]: each table's pool, from the module parameters */
int exfilmon_tables_init(const u32 *size)
{
	unsigned int i;
	int err;

	for (i = EXFILMON_TABLE_FIRST; i < EXFILMON_TABLES; i++) {
		err = exfilmon_table_init(&exfilmon_tables[i],
					  table_desc[i].name,
					  &table_lock_keys[i], size[i],
					  table_desc[i].key_size,
					  table_desc[i].entry_size);
		if (err)
			goto out_destroy;
	}
	return 0;

out_destroy:
	while (i-- > EXFILMON_TABLE_FIRST)
		exfilmon_table_destroy(&exfilmon_tables[i]);
	return err;
}

void exfilmon_tables_exit(void)
{
	unsigned int i = EXFILMON_TABLES;

	while (i-- > EXFILMON_TABLE_FIRST)
		exfilmon_table_destroy(&exfilmon_tables[i]);
}
