/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Bounded hash tables whose memory is all taken at module load: a pool of
 * entries with a free list, and hash buckets. The hooks run in atomic
 * context, where nothing may be allocated; a full table refuses an insert,
 * like the eBPF sensor's preallocated hash maps, and the caller counts it.
 *
 * Each entry holds the key followed by the value, which is exactly the
 * ABI's exfilmon_*_entry layout, so a table walk copies entries out as is.
 */
#ifndef EXFILMON_TABLES_H
#define EXFILMON_TABLES_H

#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct exfilmon_table {
	spinlock_t lock;		/* entries, buckets, count, limit */
	struct hlist_head *buckets;
	void *pool;
	u32 key_size;
	u32 entry_size;
	u32 stride;			/* pool node size */
	u32 size;			/* pool entries: the module parameter */
	u32 limit;			/* effective bound, at most size */
	u32 count;
	u32 bucket_mask;
	u32 free_head;
	u32 seed;
};

int exfilmon_table_init(struct exfilmon_table *t, const char *name,
			struct lock_class_key *lock_key, u32 size, u32 key_size,
			u32 entry_size);
void exfilmon_table_destroy(struct exfilmon_table *t);

bool exfilmon_table_maybe_has(struct exfilmon_table *t, const void *key);

/*
 * Without the lock: true when the table held nothing a moment ago. Lets a
 * hook skip work (computing a key) that could only find nothing.
 */
static inline bool exfilmon_table_empty(struct exfilmon_table *t)
{
	return !READ_ONCE(t->count);
}

/* The rest need t->lock held. Entries are key then value. */
void *exfilmon_table_lookup(struct exfilmon_table *t, const void *key);
void *exfilmon_table_insert(struct exfilmon_table *t, const void *key);
int exfilmon_table_delete(struct exfilmon_table *t, const void *key);
u32 exfilmon_table_copy(struct exfilmon_table *t, u32 *cursor, void *buf,
			u32 max, u32 budget);
void exfilmon_table_delete_if(struct exfilmon_table *t, u32 *cursor,
			      u32 budget,
			      bool (*match)(const void *entry, const void *ctx),
			      const void *ctx);

#endif /* EXFILMON_TABLES_H */
