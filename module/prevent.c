// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prevent mode, the module's copy of bpf/prevent.h (docs/prevent.md): the
 * policy the daemon writes (the watches in prevent mode with their
 * thresholds, the internal networks, the overrides), the one decision
 * taken from it, exfilmon_prevent_verdict(), the refusals table and its
 * REC_BLOCK records, and the marks of refused TCP sockets. The hooks that
 * act on the decision are in netfilter.c and flow.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bsearch.h>
#include <linux/jump_label.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <net/sock.h>
#include <net/tcp_states.h>
#include "exfilmon.h"

DEFINE_STATIC_KEY_FALSE(exfilmon_prevent_key);

/*
 * The policy, replaced whole by the POLICY ioctl and read under RCU: a
 * decision never sees half of an old policy and half of a new one.
 */
struct prevent_policy {
	u32 nr_watch;
	u32 nr_net;
	struct exfilmon_prevent_entry *watch;	/* sorted by watch_id */
	struct exfilmon_net *net;
};

static struct prevent_policy __rcu *policy;
static DEFINE_MUTEX(policy_mutex);	/* serialises policy writers */

/* exfilctl allow: key exfilmon_allow_key, value exfilmon_allow */
static struct exfilmon_table allow_table;
static struct lock_class_key allow_lock_key;

struct allow_entry {
	struct exfilmon_allow_key key;
	struct exfilmon_allow val;
};

/*
 * Refused TCP sockets, by the address of their struct sock, as the eBPF
 * sensor's marked map. Taken in softirq too (netfilter.c, the socket
 * state probe): its lock is IRQ-safe, and nothing is taken under it.
 * The address never leaves the module.
 */
#define MARKS_MAX	16384

static struct exfilmon_table marks;
static struct lock_class_key marks_lock_key;

struct mark_entry {
	u64 sk;
	struct exfilmon_pkey proc;	/* who was refused */
};

static int watch_cmp(const void *a, const void *b)
{
	u32 x = ((const struct exfilmon_prevent_entry *)a)->watch_id;
	u32 y = ((const struct exfilmon_prevent_entry *)b)->watch_id;

	return x < y ? -1 : x > y;
}

/* Does network n hold the 128-bit address a (IPv4 as ::ffff:a.b.c.d)? */
static bool net_has(const struct exfilmon_net *n, const u8 *a)
{
	u32 whole = n->prefixlen / 8, rest = n->prefixlen % 8;

	if (memcmp(n->addr, a, whole))
		return false;
	return !rest || !((n->addr[whole] ^ a[whole]) & (0xff << (8 - rest)));
}

/* 127.0.0.0/8, ::1, or a network of [network] internal */
static bool dest_internal(const struct prevent_policy *pol,
			  const struct exfilmon_dest *d)
{
	u8 a[16] = { [10] = 0xff, [11] = 0xff };
	u32 i;

	if (exfilmon_dest_is_loopback(d))
		return true;
	if (d->family == EXFILMON_AF_INET)
		memcpy(a + 12, d->addr, 4);
	else
		memcpy(a, d->addr, 16);
	for (i = 0; i < pol->nr_net; i++)
		if (net_has(&pol->net[i], a))
			return true;
	return false;
}

/* An override for who (kind, id) to d, on d's port or on all of them. */
static bool allowed_as(u32 kind, u64 id0, u64 id1,
		       const struct exfilmon_dest *d, u64 now)
{
	struct exfilmon_allow_key k = { .kind = kind };
	struct allow_entry *a;
	bool ok = false;
	int i;

	if (exfilmon_table_empty(&allow_table))
		return false;
	k.id[0] = id0;
	k.id[1] = id1;
	memcpy(k.dest.addr, d->addr, sizeof(k.dest.addr));
	k.dest.family = d->family;
	k.dest.port = d->port;
	spin_lock(&allow_table.lock);
	for (i = 0; i < 2 && !ok; i++) {
		a = exfilmon_table_lookup(&allow_table, &k);
		ok = a && now < a->val.until_ns;
		k.dest.port = 0;
	}
	spin_unlock(&allow_table.lock);
	return ok;
}

/*
 * The decision, bpf/prevent.h's prevent_verdict(), for the current task,
 * whose entry in the taint table is p, sending to d. Task context only:
 * the overrides name current. Cheapest tests first: almost every caller
 * stops at the policy or at the threshold.
 */
int exfilmon_prevent_verdict(const struct exfilmon_proc *p,
			     const struct exfilmon_dest *d, u64 *threshold)
{
	const struct exfilmon_prevent_entry *w = NULL;
	struct exfilmon_prevent_entry key = { .watch_id = p->watch_id };
	const struct prevent_policy *pol;
	struct exfilmon_file_key exe;
	struct exfilmon_pkey pkey;
	u64 now, ticks;

	rcu_read_lock();
	pol = rcu_dereference(policy);
	if (pol)
		w = bsearch(&key, pol->watch, pol->nr_watch, sizeof(*w),
			    watch_cmp);
	if (!w || p->taint < w->val.threshold || dest_internal(pol, d)) {
		rcu_read_unlock();
		return EXFILMON_VERDICT_PASS;
	}
	*threshold = w->val.threshold;
	rcu_read_unlock();

	exfilmon_task_pkey(current, &pkey);
	/* what /proc/PID/stat shows: nsec_to_clock_t(start_boottime) */
	ticks = div_u64(current->group_leader->start_boottime,
			NSEC_PER_SEC / EXFILMON_USER_HZ);
	now = ktime_get_boottime_ns();
	if (allowed_as(EXFILMON_ALLOW_PID, pkey.tgid, ticks, d, now) ||
	    (exfilmon_current_exe_key(&exe) &&
	     allowed_as(EXFILMON_ALLOW_EXE, exe.dev, exe.ino, d, now)))
		return EXFILMON_VERDICT_PASS;
	return EXFILMON_VERDICT_REFUSE;
}

/* A copy of pkey's entry in the taint table; false when untracked. */
bool exfilmon_proc_copy(const struct exfilmon_pkey *pkey,
			struct exfilmon_proc *out)
{
	struct exfilmon_proc_entry *e;

	if (!exfilmon_table_maybe_has(exfilmon_procs, pkey))
		return false;
	spin_lock(&exfilmon_procs->lock);
	e = exfilmon_table_lookup(exfilmon_procs, pkey);
	if (e)
		*out = e->val;
	spin_unlock(&exfilmon_procs->lock);
	return e;
}

/*
 * Count a refusal of (pkey, r->dest) and announce it as a send would be,
 * bpf/prevent.h's emit_block(). Task context only, as every writer of
 * the tables and the ring.
 */
void exfilmon_prevent_refused(const struct exfilmon_pkey *pkey,
			      const struct exfilmon_proc *p,
			      const struct exfilmon_refusal *r)
{
	struct exfilmon_send_key k = { .proc = *pkey, .dest = *r->dest };
	struct exfilmon_rec_block rec = {};
	struct exfilmon_send_entry *e;
	u64 now = ktime_get_boottime_ns();
	bool announce = true;

	exfilmon_stat_add(EXFILMON_STAT_REFUSED, 1);
	spin_lock(&exfilmon_blocks->lock);
	e = exfilmon_table_lookup(exfilmon_blocks, &k);
	if (!e)
		e = exfilmon_table_insert(exfilmon_blocks, &k);
	if (e) {
		announce = exfilmon_announce(&e->val, r->bytes, now);
		exfilmon_count_add(&e->val, r->bytes, now);
		rec.total = e->val;
	}
	spin_unlock(&exfilmon_blocks->lock);
	if (!e)
		exfilmon_stat_add(EXFILMON_STAT_BLOCK_FULL, 1);
	if (!announce)
		return;
	exfilmon_rec_hdr_fill(&rec.hdr, EXFILMON_REC_BLOCK, sizeof(rec), now,
			      pkey);
	rec.dest = *r->dest;
	if (r->local)
		rec.local = *r->local;
	rec.how = r->how;
	rec.op = r->op;
	rec.threshold = r->threshold;
	rec.proc = *p;
	exfilmon_emit(&rec, sizeof(rec));
}

/* Mark sk refused by pkey; a mark already there stays as it is. */
void exfilmon_sock_mark(const struct sock *sk, const struct exfilmon_pkey *pkey)
{
	u64 key = (unsigned long)sk;
	struct mark_entry *m;
	unsigned long flags;

	spin_lock_irqsave(&marks.lock, flags);
	if (!exfilmon_table_lookup(&marks, &key)) {
		m = exfilmon_table_insert(&marks, &key);
		if (m)
			m->proc = *pkey;
	}
	spin_unlock_irqrestore(&marks.lock, flags);
}

void exfilmon_sock_unmark(const struct sock *sk)
{
	u64 key = (unsigned long)sk;
	unsigned long flags;

	if (exfilmon_table_empty(&marks))
		return;
	spin_lock_irqsave(&marks.lock, flags);
	exfilmon_table_delete(&marks, &key);
	spin_unlock_irqrestore(&marks.lock, flags);
}

/* Is sk refused? Then *who (if not NULL) is the process refused. */
bool exfilmon_sock_marked(const struct sock *sk, struct exfilmon_pkey *who)
{
	u64 key = (unsigned long)sk;
	struct mark_entry *m;
	unsigned long flags;

	if (exfilmon_table_empty(&marks) ||
	    !exfilmon_table_maybe_has(&marks, &key))
		return false;
	spin_lock_irqsave(&marks.lock, flags);
	m = exfilmon_table_lookup(&marks, &key);
	if (m && who)
		*who = m->proc;
	spin_unlock_irqrestore(&marks.lock, flags);
	return m;
}

/*
 * A mark lives from the refusal to the socket's destruction, through
 * TCP_CLOSE: the daemon's reset (tcp_abort()) must not take it from a
 * send's exit that still has to read it. tcp_v4_destroy_sock() (IPv6's
 * too) runs once per full TCP socket, from inet_csk_destroy_sock() when
 * it is orphaned, so no call holds its file then, and before it is freed,
 * so a new socket at its address starts clean. A socket leaving
 * TCP_CLOSE (a new connect()) or born from a listener (oldstate
 * TCP_LISTEN) drops any mark at its address as well: no new connection
 * starts refused. Both run in softirq as well.
 */
void exfilmon_sock_state(const struct sock *sk, int oldstate, int newstate)
{
	if (oldstate == TCP_CLOSE || oldstate == TCP_LISTEN)
		exfilmon_sock_unmark(sk);
}

/*
 * Refuse a TCP send of the current, tracked process (pkey, p) on sk at
 * the syscall's entry, before its data is queued: a packet queued now may
 * leave later from softirq (when the window opens), where current is not
 * the sender and only the mark can stop it. bpf/prevent.h's
 * prevent_tcp_send().
 */
void exfilmon_prevent_tcp_send(u32 op, const struct exfilmon_pkey *pkey,
			       struct sock *sk, const struct exfilmon_dest *d,
			       u64 n)
{
	struct exfilmon_dest local;
	struct exfilmon_refusal r = {
		.how = EXFILMON_BLOCK_SEND, .op = op, .bytes = n, .dest = d,
		.local = &local,
	};
	struct exfilmon_proc p;

	if (!exfilmon_prevent_enabled() || d->proto != EXFILMON_PROTO_TCP)
		return;
	/* a socket not (or no longer) connected sends nothing to mark */
	if (!((1 << READ_ONCE(sk->sk_state)) &
	      (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)))
		return;
	if (!exfilmon_proc_copy(pkey, &p))
		return;
	if (exfilmon_prevent_verdict(&p, d, &r.threshold) ==
	    EXFILMON_VERDICT_PASS) {
		exfilmon_sock_unmark(sk);
		return;
	}
	exfilmon_sock_local(sk, &local);
	exfilmon_sock_mark(sk, pkey);
	exfilmon_prevent_refused(pkey, &p, &r);
}

/*
 * Whether bytes a send syscall queued on sk really leave, for its count
 * at exit: not on a refused TCP socket, whose mark outlives the daemon's
 * reset of it. As write_file() in bpf/exfilmon.bpf.c.
 */
bool exfilmon_send_leaves(const struct sock *sk, u8 proto)
{
	return proto != EXFILMON_PROTO_TCP || !exfilmon_sock_marked(sk, NULL);
}

static bool any_entry(const void *entry, const void *ctx)
{
	return true;
}

/* Every override goes, a bounded scan per lock hold. */
static void allow_clear(void)
{
	u32 cursor = 0;

	while (cursor < allow_table.size) {
		spin_lock(&allow_table.lock);
		exfilmon_table_delete_if(&allow_table, &cursor, 1024,
					 any_entry, NULL);
		spin_unlock(&allow_table.lock);
		cond_resched();
	}
}

static bool policy_net_valid(const struct exfilmon_net *n)
{
	return n->prefixlen <= 128 && !n->pad;
}

/*
 * POLICY: a new policy, checked whole before it replaces the old one
 * (and, with EXFILMON_POLICY_ALLOW_CLEAR, before the overrides go).
 * Switched off first and on last, as the eBPF sensor's prevent_on: a
 * packet is never judged by half a policy.
 */
int exfilmon_prevent_set_policy(const struct exfilmon_ioc_policy *a)
{
	struct prevent_policy *pol = NULL, *old;
	size_t wsize, nsize;
	u32 i;
	int err;

	if (a->nr_prevent > EXFILMON_POLICY_WATCH_MAX ||
	    a->nr_internal > EXFILMON_POLICY_NET_MAX)
		return -E2BIG;
	if ((a->nr_prevent && !a->prevent) || (a->nr_internal && !a->internal))
		return -EFAULT;
	wsize = array_size(a->nr_prevent, sizeof(*pol->watch));
	nsize = array_size(a->nr_internal, sizeof(*pol->net));
	pol = kvzalloc(sizeof(*pol) + wsize + nsize, GFP_KERNEL);
	if (!pol)
		return -ENOMEM;
	pol->nr_watch = a->nr_prevent;
	pol->nr_net = a->nr_internal;
	pol->watch = (void *)(pol + 1);
	pol->net = (void *)pol->watch + wsize;
	if (copy_from_user(pol->watch, u64_to_user_ptr(a->prevent), wsize) ||
	    copy_from_user(pol->net, u64_to_user_ptr(a->internal), nsize)) {
		err = -EFAULT;
		goto out_free;
	}
	err = -EINVAL;
	for (i = 0; i < pol->nr_net; i++)
		if (!policy_net_valid(&pol->net[i]))
			goto out_free;
	sort(pol->watch, pol->nr_watch, sizeof(*pol->watch), watch_cmp, NULL);
	for (i = 0; i < pol->nr_watch; i++)
		if (pol->watch[i].pad ||
		    (i && pol->watch[i].watch_id == pol->watch[i - 1].watch_id))
			goto out_free;

	if (a->flags & EXFILMON_POLICY_ALLOW_CLEAR)
		allow_clear();
	mutex_lock(&policy_mutex);
	if (!pol->nr_watch)
		static_branch_disable(&exfilmon_prevent_key);
	old = rcu_replace_pointer(policy, pol,
				  lockdep_is_held(&policy_mutex));
	if (pol->nr_watch)
		static_branch_enable(&exfilmon_prevent_key);
	mutex_unlock(&policy_mutex);
	synchronize_rcu();
	kvfree(old);
	return 0;

out_free:
	kvfree(pol);
	return err;
}

static bool allow_key_valid(const struct exfilmon_allow_key *k)
{
	const struct exfilmon_dest *d = &k->dest;

	return (k->kind == EXFILMON_ALLOW_PID || k->kind == EXFILMON_ALLOW_EXE) &&
	       !k->pad && !d->proto && !d->pad &&
	       (d->family == EXFILMON_AF_INET ||
		d->family == EXFILMON_AF_INET6) &&
	       (d->family != EXFILMON_AF_INET ||
		!memchr_inv(d->addr + 4, 0, sizeof(d->addr) - 4));
}

/* ALLOW_ADD (add or replace, as BPF_ANY) and ALLOW_RM */
int exfilmon_prevent_allow(const struct exfilmon_ioc_allow *a, bool add)
{
	struct allow_entry *e;
	int err = 0;

	if (!allow_key_valid(&a->key))
		return -EINVAL;
	spin_lock(&allow_table.lock);
	if (add) {
		e = exfilmon_table_lookup(&allow_table, &a->key);
		if (!e)
			e = exfilmon_table_insert(&allow_table, &a->key);
		if (e)
			e->val = a->val;
		else
			err = -E2BIG;
	} else {
		err = exfilmon_table_delete(&allow_table, &a->key);
	}
	spin_unlock(&allow_table.lock);
	return err;
}

int exfilmon_prevent_init(void)
{
	int err;

	err = exfilmon_table_init(&allow_table, "exfilmon_allow",
				  &allow_lock_key, EXFILMON_ALLOW_MAX,
				  sizeof(struct exfilmon_allow_key),
				  sizeof(struct allow_entry));
	if (err)
		return err;
	err = exfilmon_table_init(&marks, "exfilmon_marks", &marks_lock_key,
				  MARKS_MAX, sizeof(u64),
				  sizeof(struct mark_entry));
	if (err)
		goto out_destroy_allow;
	return 0;

out_destroy_allow:
	exfilmon_table_destroy(&allow_table);
	return err;
}

/* After the hooks are gone: nothing reads the policy any more. */
void exfilmon_prevent_exit(void)
{
	static_branch_disable(&exfilmon_prevent_key);
	kvfree(rcu_dereference_protected(policy, true));
	RCU_INIT_POINTER(policy, NULL);
	exfilmon_table_destroy(&marks);
	exfilmon_table_destroy(&allow_table);
}
