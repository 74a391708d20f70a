/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * In-kernel accounting: every watched byte read and every byte a tracked
 * process sends is added to the tables first, then announced on the ring
 * buffer. A record that finds the ring full is counted and dropped; the
 * tables still hold the bytes, and the next record carries the totals.
 */
#ifndef EXFILMON_BPF_ACCOUNT_H
#define EXFILMON_BPF_ACCOUNT_H

static __always_inline void count_add(struct exfilmon_count *c, __u64 bytes,
				      __u64 now)
{
	__sync_fetch_and_add(&c->bytes, bytes);
	__sync_fetch_and_add(&c->ops, 1);
	if (!c->first_ns)
		c->first_ns = now;
	c->last_ns = now;
}

/* Find the (key) counter, creating it; NULL when the table is full. */
static __always_inline struct exfilmon_count *count_get(void *map, void *key,
							__u32 full_stat)
{
	static const struct exfilmon_count zero;
	struct exfilmon_count *c = bpf_map_lookup_elem(map, key);

	if (c)
		return c;
	/* -EEXIST means another CPU created it first: use theirs */
	if (bpf_map_update_elem(map, key, &zero, BPF_NOEXIST) == -E2BIG) {
		stat_add(full_stat, 1);
		return NULL;
	}
	return bpf_map_lookup_elem(map, key);
}

static __always_inline void emit_io(const struct exfilmon_pkey *pkey,
				    __u64 now, __u32 op, __u64 delta,
				    const struct exfilmon_count *total,
				    const struct exfilmon_proc *proc,
				    const struct exfilmon_file_key *file,
				    __u32 watch_id,
				    const struct exfilmon_dest *dest)
{
	struct exfilmon_rec_io *r;

	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		stat_add(EXFILMON_STAT_DROPPED, 1);
		return;
	}
	r->hdr.type = file ? EXFILMON_REC_READ : EXFILMON_REC_SEND;
	r->hdr.size = sizeof(*r);
	r->hdr.pad = 0;
	r->hdr.ts_ns = now;
	r->hdr.proc = *pkey;
	r->delta = delta;
	r->op = op;
	r->watch_id = watch_id;
	if (total)
		r->total = *total;
	else
		__builtin_memset(&r->total, 0, sizeof(r->total));
	r->proc = *proc;
	if (file)
		r->file = *file;
	else
		__builtin_memset(&r->file, 0, sizeof(r->file));
	if (dest)
		r->dest = *dest;
	else
		__builtin_memset(&r->dest, 0, sizeof(r->dest));
	bpf_ringbuf_submit(r, 0);
	stat_add(EXFILMON_STAT_EVENTS, 1);
}

/* The current process's entry, created when create is set. */
static __always_inline struct exfilmon_proc *
proc_get(const struct exfilmon_pkey *pkey, __u64 now, bool create)
{
	struct exfilmon_proc *p = bpf_map_lookup_elem(&procs, pkey);
	struct exfilmon_proc init = {};
	struct task_struct *t;

	if (p || !create)
		return p;
	t = bpf_get_current_task_btf();
	init.origin = *pkey;
	init.first_ns = now;
	init.ppid = BPF_CORE_READ(t, real_parent, tgid);
	if (bpf_map_update_elem(&procs, pkey, &init, BPF_NOEXIST) == -E2BIG) {
		stat_add(EXFILMON_STAT_PROC_FULL, 1);
		return NULL;
	}
	return bpf_map_lookup_elem(&procs, pkey);
}

/* bytes of watched file (key, w) were read by the current process. */
static __always_inline void account_read(__u32 op,
					 const struct exfilmon_file_key *key,
					 const struct exfilmon_watch *w,
					 __u64 bytes)
{
	struct exfilmon_read_key rkey = {};
	struct exfilmon_count *c;
	struct exfilmon_proc *p;
	__u64 now = bpf_ktime_get_boot_ns();

	current_pkey(&rkey.proc);
	p = proc_get(&rkey.proc, now, true);
	if (!p) {
		stat_add(EXFILMON_STAT_LOST_READ_BYTES, bytes);
		return;
	}
	__sync_fetch_and_add(&p->bytes_read, bytes);
	p->last_ns = now;

	/* A full (proc, file) table loses which file, never the volume:
	 * the process total above already holds the bytes. */
	rkey.file = *key;
	c = count_get(&reads, &rkey, EXFILMON_STAT_READ_FULL);
	if (c)
		count_add(c, bytes, now);
	emit_io(&rkey.proc, now, op, bytes, c, p, key, w->watch_id, NULL);
}

/* bytes went to dest from the current, tracked, process p. */
static __always_inline void account_send(__u32 op, struct exfilmon_proc *p,
					 const struct exfilmon_pkey *pkey,
					 const struct exfilmon_dest *dest,
					 __u64 bytes)
{
	struct exfilmon_send_key skey = {};
	struct exfilmon_count *c;
	__u64 now = bpf_ktime_get_boot_ns();

	__sync_fetch_and_add(&p->bytes_sent, bytes);
	p->last_ns = now;
	skey.proc = *pkey;
	skey.dest = *dest;
	c = count_get(&sends, &skey, EXFILMON_STAT_SEND_FULL);
	if (c)
		count_add(c, bytes, now);
	else
		stat_add(EXFILMON_STAT_LOST_SEND_BYTES, bytes);
	emit_io(pkey, now, op, bytes, c, p, NULL, 0, dest);
}

#endif /* EXFILMON_BPF_ACCOUNT_H */
