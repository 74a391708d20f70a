// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilmon's accounting, the module's copy of bpf/account.h: the counters
 * every movement of watched data adds to, the process entries, the
 * records that announce them, and the sends of tracked processes. Every
 * byte goes into the tables first; a record that finds the ring full is
 * counted and dropped, and the next one carries the totals. Reads of
 * watched files and sends are announced only as exfilmon_announce() says
 * (include/exfilmon_abi.h): the daemon looks the rest up in the tables.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include "exfilmon.h"

DEFINE_PER_CPU(struct exfilmon_stat_set, exfilmon_stats);

void exfilmon_stats_read(u64 out[EXFILMON_STAT_NR])
{
	unsigned int cpu, i;

	memset(out, 0, sizeof(u64) * EXFILMON_STAT_NR);
	for_each_possible_cpu(cpu)
		for (i = 0; i < EXFILMON_STAT_NR; i++)
			out[i] += per_cpu(exfilmon_stats.v[i], cpu);
}

void exfilmon_inode_key(const struct inode *inode,
			struct exfilmon_file_key *key)
{
	key->dev = inode->i_sb->s_dev;
	key->ino = inode->i_ino;
}

void exfilmon_count_add(struct exfilmon_count *c, u64 bytes, u64 now)
{
	c->bytes += bytes;
	c->ops++;
	if (!c->first_ns)
		c->first_ns = now;
	c->last_ns = now;
}

/* A zeroed entry for the current process, tracked from now on. */
void exfilmon_proc_start(struct exfilmon_proc *p, u32 watch_id, u64 now)
{
	p->watch_id = watch_id;
	p->first_ns = now;
	p->last_ns = now;
	rcu_read_lock();
	p->ppid = rcu_dereference(current->real_parent)->tgid;
	rcu_read_unlock();
}

/*
 * p took taint through obj, and has now taken inflow bytes through it in
 * all: the largest inflow names where p's data came from (docs/flow.md).
 * from is NULL for a configured watch, which no process wrote.
 */
void exfilmon_src_update(struct exfilmon_proc *p, u32 chan,
			 const struct exfilmon_pkey *from,
			 const struct exfilmon_file_key *obj, u64 inflow)
{
	if (inflow <= p->src_bytes)
		return;
	p->src_chan = chan;
	if (from)
		p->src = *from;
	else
		memset(&p->src, 0, sizeof(p->src));
	p->src_obj = *obj;
	p->src_bytes = inflow;
}

void exfilmon_emit_io(struct exfilmon_rec_io *r, u16 type,
		      const struct exfilmon_pkey *pkey, u64 now, u32 op,
		      u64 delta)
{
	exfilmon_rec_hdr_fill(&r->hdr, type, sizeof(*r), now, pkey);
	r->delta = delta;
	r->op = op;
	exfilmon_emit(r, sizeof(*r));
}

/*
 * bytes went to dest from the current process, pkey. Nothing happens
 * unless it is tracked: untracked processes' sends are not counted.
 */
void exfilmon_account_send(u32 op, const struct exfilmon_pkey *pkey,
			   const struct exfilmon_dest *dest, u64 bytes)
{
	struct exfilmon_send_key skey = {};
	struct exfilmon_rec_io r = {};
	struct exfilmon_proc_entry *pe;
	struct exfilmon_count *c;
	bool announce = true;	/* without a counter, the record is all */
	void *entry;
	u64 now = ktime_get_boottime_ns();

	spin_lock(&exfilmon_procs->lock);
	pe = exfilmon_table_lookup(exfilmon_procs, pkey);
	if (!pe) {
		spin_unlock(&exfilmon_procs->lock);
		return;
	}
	pe->val.bytes_sent += bytes;
	pe->val.last_ns = now;
	r.proc = pe->val;
	spin_unlock(&exfilmon_procs->lock);

	skey.proc = *pkey;
	skey.dest = *dest;
	spin_lock(&exfilmon_sends->lock);
	entry = exfilmon_table_lookup(exfilmon_sends, &skey);
	if (!entry)
		entry = exfilmon_table_insert(exfilmon_sends, &skey);
	if (entry) {
		c = entry + sizeof(skey);
		/* decided under the lock, on the counter as it was */
		announce = exfilmon_announce(c, bytes, now);
		exfilmon_count_add(c, bytes, now);
		r.total = *c;
	}
	spin_unlock(&exfilmon_sends->lock);
	if (!entry) {
		exfilmon_stat_add(EXFILMON_STAT_SEND_FULL, 1);
		exfilmon_stat_add(EXFILMON_STAT_LOST_SEND_BYTES, bytes);
	}
	if (!announce)
		return;
	r.dest = *dest;
	exfilmon_emit_io(&r, EXFILMON_REC_SEND, pkey, now, op, bytes);
}
