/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Declarations shared by the files of the exfilmon kernel module: the
 * tables, the record ring, the statistics and the hooks. The semantics are
 * those of the eBPF sensor (bpf/); docs/module.md says where they differ
 * in mechanism only.
 */
#ifndef EXFILMON_MODULE_H
#define EXFILMON_MODULE_H

#include <linux/jump_label.h>
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

/* The tables, indexed by EXFILMON_TABLE_* (0 is unused). */
#define EXFILMON_TABLE_FIRST	EXFILMON_TABLE_PROCS
#define EXFILMON_TABLES		(EXFILMON_TABLE_BLOCKS + 1)

extern struct exfilmon_table exfilmon_tables[EXFILMON_TABLES];
#define exfilmon_procs		(&exfilmon_tables[EXFILMON_TABLE_PROCS])
#define exfilmon_reads		(&exfilmon_tables[EXFILMON_TABLE_READS])
#define exfilmon_sends		(&exfilmon_tables[EXFILMON_TABLE_SENDS])
#define exfilmon_watched	(&exfilmon_tables[EXFILMON_TABLE_WATCHED])
#define exfilmon_streams	(&exfilmon_tables[EXFILMON_TABLE_STREAMS])
#define exfilmon_flows		(&exfilmon_tables[EXFILMON_TABLE_FLOWS])
#define exfilmon_blocks		(&exfilmon_tables[EXFILMON_TABLE_BLOCKS])

/*
 * Lock order. A hook holds at most one table lock of each level, taken
 * from the first level down:
 *  1. procs;
 *  2. reads (a process taking taint) or flows (one carrying it);
 *  3. streams or watched (the object a carry lands in).
 * sends, blocks, and streams or watched outside a carry, are taken alone
 * (prevent.c takes procs, then blocks, one after the other). So a
 * process's taint, its (process, object) counter and the object change
 * together, and no figure can run ahead of another.
 */
int exfilmon_tables_init(const u32 *size);
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

/* Called from the hooks in atomic context, as is everything below. */
struct file;
struct inode;
struct sock;

/* account.c: counters, processes, records, sends */
void exfilmon_inode_key(const struct inode *inode,
			struct exfilmon_file_key *key);
void exfilmon_count_add(struct exfilmon_count *c, u64 bytes, u64 now);
void exfilmon_proc_start(struct exfilmon_proc *p, u32 watch_id, u64 now);
void exfilmon_src_update(struct exfilmon_proc *p, u32 chan,
			 const struct exfilmon_pkey *from,
			 const struct exfilmon_file_key *obj, u64 inflow);
void exfilmon_emit_io(struct exfilmon_rec_io *r, u16 type,
		      const struct exfilmon_pkey *pkey, u64 now, u32 op,
		      u64 delta);
void exfilmon_account_send(u32 op, const struct exfilmon_pkey *pkey,
			   const struct exfilmon_dest *dest, u64 bytes);

/* watch.c: what is watched data, derived marks, opaque executables */
bool exfilmon_file_watch(struct file *f, struct exfilmon_file_key *key,
			 struct exfilmon_obj *w);
void exfilmon_file_dir_key(struct file *f, struct exfilmon_file_key *dir);
int exfilmon_mark_derived(const struct exfilmon_file_key *key,
			  const struct exfilmon_file_key *dir, u32 gen,
			  u32 chan, u32 watch_id, u64 amount,
			  const struct exfilmon_pkey *writer, u64 now,
			  struct exfilmon_obj *obj, struct exfilmon_obj *born);
bool exfilmon_current_opaque(void);
bool exfilmon_current_exe_key(struct exfilmon_file_key *key);

/* net.c: where a socket write goes, and what a socket read receives */
#define EXFILMON_SOCK_NONE	0	/* neither watched nor followed */
#define EXFILMON_SOCK_STREAM	1	/* taint goes into stream *key */
#define EXFILMON_SOCK_SEND	2	/* a send to *dest */

void exfilmon_net_init(void);
struct sock *exfilmon_file_sock(struct file *f);
int exfilmon_sock_write(struct sock *sk, const void __user *uaddr, u32 ulen,
			struct exfilmon_file_key *key, u32 *chan,
			struct exfilmon_dest *dest);
int exfilmon_sock_read_key(struct sock *sk, struct exfilmon_file_key *key);
void exfilmon_sock_local(const struct sock *sk, struct exfilmon_dest *l);
bool exfilmon_dest_is_loopback(const struct exfilmon_dest *d);
void exfilmon_dest_fold_v4mapped(struct exfilmon_dest *d);

/*
 * prevent.c: prevent mode's policy, its one decision, the refusals and
 * the marks of refused TCP sockets (docs/prevent.md). The decision and
 * the refusals run in task context only; the marks in any context.
 */
#define EXFILMON_VERDICT_PASS	0
#define EXFILMON_VERDICT_REFUSE	1

/* What one refusal says, as bpf/prevent.h's struct refusal. */
struct exfilmon_refusal {
	u32 how;			/* EXFILMON_BLOCK_* */
	u32 op;				/* EXFILMON_OP_* or 0 */
	u64 bytes;			/* refused, where known */
	u64 threshold;
	const struct exfilmon_dest *dest;
	const struct exfilmon_dest *local;	/* NULL: not known */
};

/* on while some watch is in prevent mode: every hook's first test */
DECLARE_STATIC_KEY_FALSE(exfilmon_prevent_key);

static inline bool exfilmon_prevent_enabled(void)
{
	return static_branch_unlikely(&exfilmon_prevent_key);
}

int exfilmon_prevent_init(void);
void exfilmon_prevent_exit(void);
int exfilmon_prevent_verdict(const struct exfilmon_proc *p,
			     const struct exfilmon_dest *d, u64 *threshold);
bool exfilmon_proc_copy(const struct exfilmon_pkey *pkey,
			struct exfilmon_proc *out);
void exfilmon_prevent_refused(const struct exfilmon_pkey *pkey,
			      const struct exfilmon_proc *p,
			      const struct exfilmon_refusal *r);
void exfilmon_sock_mark(const struct sock *sk, const struct exfilmon_pkey *pkey);
void exfilmon_sock_unmark(const struct sock *sk);
bool exfilmon_sock_marked(const struct sock *sk, struct exfilmon_pkey *who);
void exfilmon_sock_state(const struct sock *sk, int oldstate, int newstate);
void exfilmon_prevent_tcp_send(u32 op, const struct exfilmon_pkey *pkey,
			       struct sock *sk, const struct exfilmon_dest *d,
			       u64 n);
bool exfilmon_send_leaves(const struct sock *sk, u8 proto);
int exfilmon_prevent_set_policy(const struct exfilmon_ioc_policy *a);
int exfilmon_prevent_allow(const struct exfilmon_ioc_allow *a, bool add);

/* netfilter.c: the LOCAL_OUT hooks in every network namespace */
int exfilmon_netfilter_init(void);
void exfilmon_netfilter_exit(void);

/*
 * flow.c: taint into and out of objects, by the file a syscall used.
 * Taint goes into a stream when a write starts, not when it returns: a
 * reader can take the bytes out of a pipe or socket before the writer's
 * syscall exit runs (a 1 MiB write into a 64 KiB pipe is read while the
 * writer still blocks). Files and sends are counted at exit, with the
 * bytes really moved. So each write hook says which it accounts.
 */
#define EXFILMON_XFER_STREAM	0x1	/* at entry, n asked: streams */
#define EXFILMON_XFER_EXACT	0x2	/* at exit, n moved: files, sends */

void exfilmon_read_file(u32 op, struct file *f, u64 n);
void exfilmon_write_file(u32 op, struct file *f, u64 n,
			 const void __user *uaddr, u32 ulen, u32 when);
void exfilmon_carry_file(const struct exfilmon_pkey *pkey, struct file *f,
			 u32 chan, u32 op, u64 n);

/* path.c: REC_DERIVED, with the file's path */
int exfilmon_path_init(void);
void exfilmon_path_exit(void);
void exfilmon_emit_derived(const struct exfilmon_pkey *pkey,
			   const struct exfilmon_file_key *key,
			   const struct exfilmon_obj *obj, struct file *f,
			   u64 now);

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

static inline bool exfilmon_pkey_eq(const struct exfilmon_pkey *a,
				    const struct exfilmon_pkey *b)
{
	return a->tgid == b->tgid && a->start_ns == b->start_ns;
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
