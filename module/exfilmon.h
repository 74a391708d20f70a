/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Declarations shared by the files of the exfilmon kernel module: the
 * tables, the record ring, the statistics and the hooks. The semantics are
 * those of the eBPF sensor (bpf/); docs/module.md says where they differ
 * in mechanism only.
 */
#ifndef EXFILMON_MODULE_H
#define EXFILMON_MODULE_H

#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/types.h>
#include "exfilmon_abi.h"
#include "tables.h"

/* Bounds of the module parameters, the same as the daemon's config. */
#define EXFILMON_TABLE_MIN	64
#define EXFILMON_TABLE_MAX	(1U << 22)
#define EXFILMON_RING_KIB_MIN	64
#define EXFILMON_RING_KIB_MAX	(1U << 20)

/* Most entries one TABLE_READ ioctl returns (a larger count is cut). */
#define EXFILMON_TABLE_BATCH	EXFILMON_TABLE_BATCH_MAX

/* The four tables, indexed by EXFILMON_TABLE_* (0 is unused). */
extern struct exfilmon_table exfilmon_tables[EXFILMON_TABLE_WATCHED + 1];
#define exfilmon_procs		(&exfilmon_tables[EXFILMON_TABLE_PROCS])
#define exfilmon_reads		(&exfilmon_tables[EXFILMON_TABLE_READS])
#define exfilmon_sends		(&exfilmon_tables[EXFILMON_TABLE_SENDS])
#define exfilmon_watched	(&exfilmon_tables[EXFILMON_TABLE_WATCHED])

int exfilmon_tables_init(u32 max_procs, u32 max_reads, u32 max_sends,
			 u32 max_watch);
void exfilmon_tables_exit(void);

/* Statistics: per CPU, so the hooks never share a cache line for them. */
struct exfilmon_stat_set {
	u64 v[EXFILMON_STAT_NR];
};

DECLARE_PER_CPU(struct exfilmon_stat_set, exfilmon_stats);

static inline void exfilmon_stat_add(unsigned int idx, u64 n)
{
	this_cpu_add(exfilmon_stats.v[idx], n);
}

void exfilmon_stats_read(u64 out[EXFILMON_STAT_NR]);

/* The record ring between the hooks (writers) and read() (one reader). */
int exfilmon_ring_init(u32 ring_kib);
void exfilmon_ring_exit(void);
void exfilmon_emit(const void *rec, u32 size);
bool exfilmon_ring_pending(void);
ssize_t exfilmon_ring_read(char __user *buf, size_t count);
extern struct wait_queue_head exfilmon_ring_wq;

/* The hooks: tracepoint probes on syscall exit and process lifetime. */
int exfilmon_hooks_init(void);
void exfilmon_hooks_exit(void);

/* Accounting, called from the hooks in atomic context. */
struct file;
struct inode;
struct sock;

bool exfilmon_file_watch(struct file *f, struct exfilmon_file_key *key,
			 struct exfilmon_watch *w);
void exfilmon_account_read(u32 op, const struct exfilmon_file_key *key,
			   u32 watch_id, u64 bytes);
void exfilmon_account_send(u32 op, const struct exfilmon_pkey *pkey,
			   const struct exfilmon_dest *dest, u64 bytes);
struct sock *exfilmon_file_inet_sock(struct file *f);
void exfilmon_dest_of_send(struct sock *sk, const void __user *uaddr,
			   u32 ulen, struct exfilmon_dest *d);
void exfilmon_inode_key(const struct inode *inode,
			struct exfilmon_file_key *key);

/* The misc device /dev/exfilmon. */
int exfilmon_chardev_init(void);
void exfilmon_chardev_exit(void);

/*
 * A process is its tgid plus its group leader's start time. de_thread()
 * hands the leader's start_time to a thread that execs, so the key of a
 * process survives exec from any of its threads.
 */
static inline void exfilmon_task_pkey(struct task_struct *t,
				      struct exfilmon_pkey *key)
{
	key->tgid = t->tgid;
	key->pad = 0;
	key->start_ns = t->group_leader->start_time;
}

static inline void exfilmon_rec_hdr_fill(struct exfilmon_rec_hdr *h,
					 u16 type, u16 size, u64 now,
					 const struct exfilmon_pkey *proc)
{
	h->type = type;
	h->size = size;
	h->pad = 0;
	h->ts_ns = now;
	h->proc = *proc;
}

#endif /* EXFILMON_MODULE_H */
