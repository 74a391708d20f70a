/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Prevent mode (docs/prevent.md): one decision, prevent_verdict(), taken
 * from the process table the detector fills, wherever a transfer can
 * still be stopped:
 *  - cgroup/connect4, connect6: a new connection (TCP, or a UDP peer);
 *  - cgroup/sendmsg4, sendmsg6: an unconnected datagram;
 *  - a send syscall on a TCP socket, at its entry (write_file()): the
 *    socket is marked before its data is queued, so no later
 *    transmission of it (from softirq, when the congestion window opens)
 *    goes out;
 *  - cgroup_skb/egress, in the sending task's context: any packet of a
 *    socket connected before the taint crossed the threshold, from any
 *    send path (io_uring's too). Packets of marked sockets are dropped in
 *    any context.
 * The daemon only configures it: the policy per watch, the internal
 * networks, the overrides. Nothing here waits for it.
 */
#ifndef EXFILMON_BPF_PREVENT_H
#define EXFILMON_BPF_PREVENT_H

#define IPPROTO_TCP	6
#define TCP_CLOSE	7
#define TCP_LISTEN	10

/* watch_id -> policy: present means that watch's data is prevented */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct exfilmon_prevent);
} prevent SEC(".maps");

/* [network] internal, loopback included; the value is unused */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 512);
	__type(key, struct exfilmon_net);
	__type(value, __u32);
} internal SEC(".maps");

/* exfilctl allow */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct exfilmon_allow_key);
	__type(value, struct exfilmon_allow);
} allow SEC(".maps");

/* (process, destination) -> refusals, as the sends table counts sends */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct exfilmon_send_key);
	__type(value, struct exfilmon_count);
} blocks SEC(".maps");

/*
 * TCP sockets refused, by the address of their struct sock: set in the
 * refused process's context, kept through TCP_CLOSE and dropped when the
 * socket is destroyed (tcp_v4_destroy_sock(), IPv6's too, which every
 * full TCP socket passes once it is orphaned, before it is freed): no
 * call then holds its file, so a send's exit always finds the mark of
 * its refusal, even after the daemon's reset, and an address reused by
 * a new socket starts clean. A socket leaving TCP_CLOSE (connect()) or
 * born from a listener drops any mark at its address as well: no new
 * connection starts refused.
 */
struct sock_mark {
	struct exfilmon_pkey proc;	/* who was refused */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct sock_mark);
} marked SEC(".maps");

/*
 * Whether this CPU is serving a softirq (1) or not (0). The egress hook
 * runs in softirq context too (TCP retransmits and ACK-clocked sends,
 * timers), where current is whatever task was interrupted: only in task
 * context is current the sender. The kernel's preempt count says so, but
 * it is a per-CPU variable, and this kernel (no CONFIG_KALLSYMS_ALL)
 * cannot resolve per-CPU ksyms; the softirq tracepoints tell instead.
 *
 * A flag, set at softirq_entry and cleared at softirq_exit, not a count:
 * softirqs never nest on one CPU (__do_softirq() runs with SOFTIRQ_OFFSET
 * in the preempt count, and irq_exit() starts none while in_interrupt()),
 * so each exit ends the only one. A count was left above 0 for good when
 * a softirq began after softirq_entry's program was attached and ended
 * before softirq_exit's was (measured: 2 loads in 40 on this host), and
 * that CPU then let every tainted task's UDP send through. The exit
 * program is also attached first (its place in exfilmon.bpf.c), so no
 * flag is left set at all; a flag would heal at that CPU's next exit.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} softirqs SEC(".maps");

/* set by the daemon with the policy: 0 is detect mode everywhere */
__u32 prevent_on;
/* entries in marked: the egress hook skips its lookup while none */
__s64 nr_marked;

static __always_inline bool in_softirq(void)
{
	__u32 zero = 0, *n = bpf_map_lookup_elem(&softirqs, &zero);

	return n && *n;
}

/* Who a refusal is about: what overrides and records name. */
struct subject {
	struct exfilmon_pkey pkey;
	__u64 ticks;			/* start, USER_HZ ticks since boot */
	struct exfilmon_file_key exe;
};

static __always_inline void subject_of(struct task_struct *t,
				       struct subject *s)
{
	struct file *exe = BPF_CORE_READ(t, mm, exe_file);

	task_pkey(t, &s->pkey);
	/* what /proc/PID/stat shows: nsec_to_clock_t(start_boottime) */
	s->ticks = BPF_CORE_READ(t, group_leader, start_boottime) /
		   (1000000000ULL / EXFILMON_USER_HZ);
	s->exe.dev = 0;
	s->exe.ino = 0;
	if (exe)
		inode_key(BPF_CORE_READ(exe, f_inode), &s->exe);
}

/* 127.0.0.0/8, ::1, or a network of [network] internal */
static __always_inline bool dest_internal(const struct exfilmon_dest *d)
{
	struct exfilmon_net k = { .prefixlen = 160 };
	__u32 *w = (__u32 *)k.addr;

	if (dest_is_loopback(d))
		return true;
	if (d->family == EXFILMON_AF_INET) {
		w[2] = bpf_htonl(0xffff);
		__builtin_memcpy(&w[3], d->addr, 4);
	} else {
		__builtin_memcpy(k.addr, d->addr, 16);
	}
	return bpf_map_lookup_elem(&internal, &k);
}

/* An override for who (kind, id) to d, on d's port or on all of them. */
static __always_inline bool allowed_as(__u32 kind, __u64 id0, __u64 id1,
				       const struct exfilmon_dest *d, __u64 now)
{
	struct exfilmon_allow_key k = { .kind = kind };
	struct exfilmon_allow *a;

	k.id[0] = id0;
	k.id[1] = id1;
	__builtin_memcpy(k.dest.addr, d->addr, 16);
	k.dest.family = d->family;
	k.dest.port = d->port;
	a = bpf_map_lookup_elem(&allow, &k);
	if (a && now < a->until_ns)
		return true;
	k.dest.port = 0;
	a = bpf_map_lookup_elem(&allow, &k);
	return a && now < a->until_ns;
}

#define VERDICT_PASS	0
#define VERDICT_REFUSE	1

/*
 * The decision. p is the process's entry in the taint table (NULL:
 * untracked, which is never refused). Cheapest tests first: almost every
 * caller stops at the policy lookup or at the threshold.
 */
static __noinline int prevent_verdict(struct task_struct *t,
				      const struct exfilmon_proc *p,
				      const struct exfilmon_dest *d,
				      __u64 *threshold)
{
	const struct exfilmon_prevent *pol;
	struct subject who;
	__u32 watch_id;
	__u64 now;

	if (!t || !p || !d || !threshold)
		return VERDICT_PASS;
	watch_id = p->watch_id;
	pol = bpf_map_lookup_elem(&prevent, &watch_id);
	if (!pol || p->taint < pol->threshold || dest_internal(d))
		return VERDICT_PASS;
	subject_of(t, &who);
	now = bpf_ktime_get_boot_ns();
	if (allowed_as(EXFILMON_ALLOW_PID, who.pkey.tgid, who.ticks, d, now) ||
	    (who.exe.ino &&
	     allowed_as(EXFILMON_ALLOW_EXE, who.exe.dev, who.exe.ino, d, now)))
		return VERDICT_PASS;
	*threshold = pol->threshold;
	return VERDICT_REFUSE;
}

/*
 * The current task's (t) entry in the taint table, if it has one. t is
 * current: current_pkey() reads its key with plain loads.
 */
static __always_inline struct exfilmon_proc *
refusable(struct task_struct *t, struct exfilmon_pkey *pkey)
{
	if (!prevent_on || !tgid_maybe_tracked(t->tgid))
		return NULL;
	current_pkey(pkey);
	return bpf_map_lookup_elem(&procs, pkey);
}

/* What one refusal says: emit_block()'s arguments. */
struct refusal {
	__u32 how;			/* EXFILMON_BLOCK_* */
	__u32 op;			/* EXFILMON_OP_* or 0 */
	__u64 bytes;			/* refused, where known */
	__u64 threshold;
	const struct exfilmon_dest *dest;
	const struct exfilmon_dest *local;	/* NULL: not known */
};

/* Count a refusal of (pkey, dest) and announce it as a send would be. */
static __noinline void emit_block(const struct exfilmon_pkey *pkey,
				  const struct exfilmon_proc *p,
				  const struct refusal *r)
{
	struct exfilmon_send_key k = {};
	struct exfilmon_rec_block *rec;
	struct exfilmon_count *c;
	__u64 now = bpf_ktime_get_boot_ns();
	int announce = 1;

	if (!pkey || !p || !r || !r->dest)
		return;
	stat_add(EXFILMON_STAT_REFUSED, 1);
	k.proc = *pkey;
	k.dest = *r->dest;
	c = count_get(&blocks, &k, EXFILMON_STAT_BLOCK_FULL);
	if (c) {
		announce = exfilmon_announce(c, r->bytes, now);
		count_add(c, r->bytes, now);
	}
	if (!announce)
		return;
	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		stat_add(EXFILMON_STAT_DROPPED, 1);
		return;
	}
	rec->hdr.type = EXFILMON_REC_BLOCK;
	rec->hdr.size = sizeof(*rec);
	rec->hdr.pad = 0;
	rec->hdr.ts_ns = now;
	rec->hdr.proc = *pkey;
	rec->dest = *r->dest;
	if (r->local)
		rec->local = *r->local;
	else
		__builtin_memset(&rec->local, 0, sizeof(rec->local));
	rec->how = r->how;
	rec->op = r->op;
	rec->threshold = r->threshold;
	if (c)
		rec->total = *c;
	else
		__builtin_memset(&rec->total, 0, sizeof(rec->total));
	rec->proc = *p;
	/* a refusal is news: the daemon hears of it at once */
	bpf_ringbuf_submit(rec, 0);
	stat_add(EXFILMON_STAT_EVENTS, 1);
}

static __always_inline void mark_sock(__u64 sk, const struct exfilmon_pkey *pkey)
{
	struct sock_mark m = { .proc = *pkey };

	if (!bpf_map_update_elem(&marked, &sk, &m, BPF_NOEXIST))
		__sync_fetch_and_add(&nr_marked, 1);
}

static __always_inline void unmark_sock(__u64 sk)
{
	if (!bpf_map_delete_elem(&marked, &sk))
		__sync_fetch_and_add(&nr_marked, -1);
}

/* The local end of sk, as the daemon names the socket to reset. */
static __always_inline void sock_local(struct sock *sk,
				       struct exfilmon_dest *l)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	__builtin_memset(l, 0, sizeof(*l));
	l->proto = BPF_CORE_READ(sk, sk_protocol);
	l->port = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (family == AF_INET) {
		l->family = EXFILMON_AF_INET;
		bpf_core_read(l->addr, 4, &sk->__sk_common.skc_rcv_saddr);
	} else {
		l->family = EXFILMON_AF_INET6;
		bpf_core_read(l->addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
	}
	dest_fold_v4mapped(l);
}

/*
 * A send syscall of the tracked process p is about to queue bytes on the
 * TCP socket sk, to the non-loopback d: if it is refused, mark the socket
 * first, so that none of what the call queues ever leaves; the call's
 * exit reads the mark (sock_marked()).
 */
static __always_inline void prevent_tcp_send(struct exfilmon_proc *p,
					     const struct exfilmon_pkey *pkey,
					     struct sock *sk,
					     const struct exfilmon_dest *d,
					     const struct xfer *x)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct exfilmon_dest local;
	struct refusal r = {
		.how = EXFILMON_BLOCK_SEND, .dest = d, .local = &local,
	};
	__u64 key = (__u64)sk;

	if (!prevent_on || d->proto != EXFILMON_PROTO_TCP)
		return;
	if (prevent_verdict(t, p, d, &r.threshold) == VERDICT_PASS) {
		if (nr_marked > 0)
			unmark_sock(key);
		return;
	}
	r.op = x->op;
	r.bytes = x->n;
	sock_local(sk, &local);
	mark_sock(key, pkey);
	emit_block(pkey, p, &r);
}

/* Is the TCP socket sk refused? For the send syscalls' exit. */
static __always_inline bool sock_marked(struct sock *sk)
{
	__u64 key = (__u64)sk;

	return nr_marked > 0 && bpf_map_lookup_elem(&marked, &key);
}

#endif /* EXFILMON_BPF_PREVENT_H */
