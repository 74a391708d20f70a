/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * In-kernel accounting: every watched byte read, every byte of taint that
 * moves, and every byte a tracked process sends is added to the tables
 * first, then announced on the ring buffer. A record that finds the ring
 * full is counted and dropped; the tables still hold the bytes, and the
 * next record carries the totals. Reads of watched files and sends are
 * announced only as exfilmon_announce() says (include/exfilmon_abi.h):
 * the daemon looks the rest up in the tables.
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
	long err;

	if (c)
		return c;
	/*
	 * -EEXIST means another CPU created it first: use theirs. Any other
	 * failure is a refusal: -E2BIG at max_entries, and on 6.1 also
	 * -ENOMEM or -EBUSY from the map's allocator in this context.
	 */
	err = bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		stat_add(full_stat, 1);
		return NULL;
	}
	return bpf_map_lookup_elem(map, key);
}

/* One movement of data: BPF calls take at most five arguments. */
struct xfer {
	__u64 n;	/* bytes the syscall moved (or, at entry, asks to) */
	__u32 op;	/* EXFILMON_OP_* */
	__u32 chan;	/* EXFILMON_CHAN_* of a carry */
	__u32 when;	/* XFER_*: what this hook may account */
	__u32 ulen;	/* of uaddr */
	const void *uaddr;	/* a send's sockaddr in user memory, or NULL */
};

/*
 * Taint goes into a stream when the write starts, not when it returns: a
 * reader can take the bytes out of a pipe or socket before the writer's
 * syscall exit runs (a 1 MiB write into a 64 KiB pipe is read while the
 * writer still blocks). Files and sends are counted at exit, with the
 * bytes really moved.
 */
#define XFER_STREAM	0x1
#define XFER_EXACT	0x2

/* What one REC_READ, REC_FLOW or REC_SEND says. */
struct io_rec {
	__u16 type;
	__u32 op;
	__u32 watch_id;
	__u32 chan;
	__u64 delta;
	const struct exfilmon_count *total;
	const struct exfilmon_file_key *obj;
	const struct exfilmon_dest *dest;
	const struct exfilmon_pkey *peer;
};

/* Not inlined: one copy serves every hook, and its stack is its own. */
static __noinline void emit_io(const struct exfilmon_pkey *pkey, __u64 now,
			       const struct io_rec *io,
			       const struct exfilmon_proc *proc)
{
	struct exfilmon_rec_io *r;

	if (!pkey || !io || !proc)
		return;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		stat_add(EXFILMON_STAT_DROPPED, 1);
		return;
	}
	r->hdr.type = io->type;
	r->hdr.size = sizeof(*r);
	r->hdr.pad = 0;
	r->hdr.ts_ns = now;
	r->hdr.proc = *pkey;
	r->delta = io->delta;
	r->op = io->op;
	r->watch_id = io->watch_id;
	r->chan = io->chan;
	r->pad = 0;
	if (io->total)
		r->total = *io->total;
	else
		__builtin_memset(&r->total, 0, sizeof(r->total));
	r->proc = *proc;
	if (io->obj)
		r->file = *io->obj;
	else
		__builtin_memset(&r->file, 0, sizeof(r->file));
	if (io->dest)
		r->dest = *io->dest;
	else
		__builtin_memset(&r->dest, 0, sizeof(r->dest));
	if (io->peer)
		r->peer = *io->peer;
	else
		__builtin_memset(&r->peer, 0, sizeof(r->peer));
	ring_submit(r, now);
	stat_add(EXFILMON_STAT_EVENTS, 1);
}

/* The process's entry, created (tracked from now on) when absent. */
static __always_inline struct exfilmon_proc *
proc_get(struct task_struct *t, const struct exfilmon_pkey *pkey, __u64 now,
	 __u32 watch_id)
{
	static const struct exfilmon_proc zero;
	struct exfilmon_proc *p = bpf_map_lookup_elem(&procs, pkey);
	int err;

	if (p)
		return p;
	/* inserted zeroed and filled in place: a 104-byte initialiser on
	 * the stack would not fit the deepest call chains (512 bytes for
	 * all frames together) */
	tgid_mark(pkey->tgid);
	err = bpf_map_update_elem(&procs, pkey, &zero, BPF_NOEXIST);
	if (err && err != -EEXIST) {	/* as in count_get() */
		stat_add(EXFILMON_STAT_PROC_FULL, 1);
		return NULL;
	}
	p = bpf_map_lookup_elem(&procs, pkey);
	if (p && !err) {
		p->watch_id = watch_id;
		p->first_ns = now;
		p->ppid = BPF_CORE_READ(t, real_parent, tgid);
	}
	return p;
}

/*
 * p took taint through obj, and has now taken inflow bytes through it in
 * all: the largest inflow names where p's data came from. Two threads of
 * p racing here can leave a mixed source; only the chain's wording, never
 * a byte count, depends on it.
 */
static __always_inline void src_update(struct exfilmon_proc *p, __u32 chan,
				       const struct exfilmon_pkey *from,
				       const struct exfilmon_file_key *obj,
				       __u64 inflow)
{
	if (inflow <= p->src_bytes)
		return;
	p->src_chan = chan;
	if (from)
		p->src = *from;
	else
		__builtin_memset(&p->src, 0, sizeof(p->src));
	p->src_obj = *obj;
	p->src_bytes = inflow;
}

/* bytes of configured watched file key (watch w) were read by t. */
static __noinline void account_read(struct task_struct *t,
				     const struct exfilmon_pkey *pkey,
				     const struct exfilmon_file_key *key,
				     const struct exfilmon_obj *w,
				     const struct xfer *x)
{
	__u64 bytes = x->n;
	struct exfilmon_read_key rkey = {};
	int announce = 1;	/* without a counter, the record is all */
	struct exfilmon_count *c;
	struct exfilmon_proc *p;
	__u64 now = bpf_ktime_get_boot_ns();
	struct io_rec io = {
		.type = EXFILMON_REC_READ, .op = x->op,
		.watch_id = w->watch_id, .chan = EXFILMON_CHAN_READ,
		.delta = x->n, .obj = key,
	};

	p = proc_get(t, pkey, now, w->watch_id);
	if (!p) {
		stat_add(EXFILMON_STAT_LOST_READ_BYTES, bytes);
		return;
	}
	__sync_fetch_and_add(&p->bytes_read, bytes);
	__sync_fetch_and_add(&p->taint, bytes);
	p->last_ns = now;

	/* A full (proc, file) table loses which file, never the volume:
	 * the process totals above already hold the bytes. */
	rkey.proc = *pkey;
	rkey.file = *key;
	c = count_get(&reads, &rkey, EXFILMON_STAT_READ_FULL);
	if (c) {
		announce = exfilmon_announce(c, bytes, now);
		count_add(c, bytes, now);
		src_update(p, EXFILMON_CHAN_READ, NULL, key, c->bytes);
	}
	io.total = c;
	if (announce)
		emit_io(pkey, now, &io, p);
}

/* bytes went to dest from the tracked process p. */
static __noinline void account_send(__u32 op, struct exfilmon_proc *p,
				     const struct exfilmon_pkey *pkey,
				     const struct exfilmon_dest *dest,
				     __u64 bytes)
{
	struct exfilmon_send_key skey = {};
	struct exfilmon_count *c;
	int announce = 1;
	__u64 now = bpf_ktime_get_boot_ns();
	struct io_rec io = {
		.type = EXFILMON_REC_SEND, .op = op, .delta = bytes,
		.dest = dest,
	};

	__sync_fetch_and_add(&p->bytes_sent, bytes);
	p->last_ns = now;
	skey.proc = *pkey;
	skey.dest = *dest;
	c = count_get(&sends, &skey, EXFILMON_STAT_SEND_FULL);
	if (c) {
		announce = exfilmon_announce(c, bytes, now);
		count_add(c, bytes, now);
	} else {
		stat_add(EXFILMON_STAT_LOST_SEND_BYTES, bytes);
	}
	io.total = c;
	if (announce)
		emit_io(pkey, now, &io, p);
}

#endif /* EXFILMON_BPF_ACCOUNT_H */
