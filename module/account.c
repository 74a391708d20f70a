// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilmon's accounting, the module's copy of bpf/account.h, bpf/net.h and
 * file_watch() in bpf/exfilmon.bpf.c: which files are watched, where a
 * send goes, and how bytes are added to the tables and announced. Every
 * byte goes into the tables first; a record that finds the ring full is
 * counted and dropped, and the next one carries the totals.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dcache.h>
#include <linux/fs.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/net.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <net/sock.h>
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

/*
 * The watch entry covering f: f's own inode, or, for a regular file, the
 * directory holding it (so files created in a watched directory later are
 * covered without the daemon having to see them appear). A file first
 * matched through its directory is then watched by its own inode too, so a
 * hard link or a rename out of the directory does not shed the watch.
 */
bool exfilmon_file_watch(struct file *f, struct exfilmon_file_key *key,
			 struct exfilmon_watch *w)
{
	struct exfilmon_watch_entry *e, *fe;
	struct exfilmon_file_key dir = {};
	struct inode *dir_inode;
	bool own, in_dir;

	/* pipes, sockets and ttys are never watched data: stop here */
	if (!S_ISREG(file_inode(f)->i_mode))
		return false;
	exfilmon_inode_key(file_inode(f), key);
	/*
	 * A rename may move the dentry under another parent at any time;
	 * dentries and inodes are freed after an RCU grace period, so the
	 * old parent can still be read here.
	 */
	rcu_read_lock();
	dir_inode = READ_ONCE(READ_ONCE(f->f_path.dentry->d_parent)->d_inode);
	if (dir_inode)
		exfilmon_inode_key(dir_inode, &dir);
	rcu_read_unlock();

	own = exfilmon_table_maybe_has(exfilmon_watched, key);
	in_dir = dir_inode && exfilmon_table_maybe_has(exfilmon_watched, &dir);
	if (!own && !in_dir)
		return false;

	spin_lock(&exfilmon_watched->lock);
	e = exfilmon_table_lookup(exfilmon_watched, key);
	if (e)
		goto found;
	e = in_dir ? exfilmon_table_lookup(exfilmon_watched, &dir) : NULL;
	if (!e || !(e->val.flags & EXFILMON_WATCH_DIR)) {
		spin_unlock(&exfilmon_watched->lock);
		return false;
	}
	/* a full table only costs the hard-link protection */
	fe = exfilmon_table_insert(exfilmon_watched, key);
	if (fe) {
		fe->val.flags = EXFILMON_WATCH_FILE | EXFILMON_WATCH_VIA_DIR;
		fe->val.watch_id = e->val.watch_id;
	}
found:
	*w = e->val;
	spin_unlock(&exfilmon_watched->lock);
	return true;
}

static void count_add(struct exfilmon_count *c, u64 bytes, u64 now)
{
	c->bytes += bytes;
	c->ops++;
	if (!c->first_ns)
		c->first_ns = now;
	c->last_ns = now;
}

/*
 * The (key) counter of table t, created when absent, added to and copied
 * to *total; false when the table is full and the counter could not be
 * created (full_stat counted).
 */
static bool count_update(struct exfilmon_table *t, const void *key,
			 u32 full_stat, u64 bytes, u64 now,
			 struct exfilmon_count *total)
{
	struct exfilmon_count *c;
	void *entry;

	spin_lock(&t->lock);
	entry = exfilmon_table_lookup(t, key);
	if (!entry)
		entry = exfilmon_table_insert(t, key);
	if (!entry) {
		spin_unlock(&t->lock);
		exfilmon_stat_add(full_stat, 1);
		return false;
	}
	c = entry + t->key_size;
	count_add(c, bytes, now);
	*total = *c;
	spin_unlock(&t->lock);
	return true;
}

static u32 current_ppid(void)
{
	u32 ppid;

	rcu_read_lock();
	ppid = rcu_dereference(current->real_parent)->tgid;
	rcu_read_unlock();
	return ppid;
}

static void emit_io(struct exfilmon_rec_io *r, u16 type,
		    const struct exfilmon_pkey *pkey, u64 now, u32 op, u64 delta)
{
	exfilmon_rec_hdr_fill(&r->hdr, type, sizeof(*r), now, pkey);
	r->delta = delta;
	r->op = op;
	exfilmon_emit(r, sizeof(*r));
}

/* bytes of watched file key (watch watch_id) were read by current. */
void exfilmon_account_read(u32 op, const struct exfilmon_file_key *key,
			   u32 watch_id, u64 bytes)
{
	struct exfilmon_read_key rkey = {};
	struct exfilmon_rec_io r = {};
	struct exfilmon_proc_entry *pe;
	u64 now = ktime_get_boottime_ns();

	exfilmon_task_pkey(current, &rkey.proc);
	spin_lock(&exfilmon_procs->lock);
	pe = exfilmon_table_lookup(exfilmon_procs, &rkey.proc);
	if (!pe) {
		pe = exfilmon_table_insert(exfilmon_procs, &rkey.proc);
		if (!pe) {
			spin_unlock(&exfilmon_procs->lock);
			exfilmon_stat_add(EXFILMON_STAT_PROC_FULL, 1);
			exfilmon_stat_add(EXFILMON_STAT_LOST_READ_BYTES, bytes);
			return;
		}
		pe->val.origin = rkey.proc;
		pe->val.first_ns = now;
		pe->val.ppid = current_ppid();
	}
	pe->val.bytes_read += bytes;
	pe->val.last_ns = now;
	r.proc = pe->val;
	spin_unlock(&exfilmon_procs->lock);

	/*
	 * A full (proc, file) table loses which file, never the volume: the
	 * process total above already holds the bytes.
	 */
	rkey.file = *key;
	count_update(exfilmon_reads, &rkey, EXFILMON_STAT_READ_FULL, bytes,
		     now, &r.total);
	r.file = *key;
	r.watch_id = watch_id;
	emit_io(&r, EXFILMON_REC_READ, &rkey.proc, now, op, bytes);
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
	if (!count_update(exfilmon_sends, &skey, EXFILMON_STAT_SEND_FULL,
			  bytes, now, &r.total))
		exfilmon_stat_add(EXFILMON_STAT_LOST_SEND_BYTES, bytes);
	r.dest = *dest;
	emit_io(&r, EXFILMON_REC_SEND, pkey, now, op, bytes);
}

/* The inet TCP or UDP socket behind a file, or NULL for anything else. */
struct sock *exfilmon_file_inet_sock(struct file *f)
{
	struct socket *sock = sock_from_file(f);
	struct sock *sk;

	if (!sock)
		return NULL;
	/* our file reference keeps sock->sk until the last close */
	sk = READ_ONCE(sock->sk);
	if (!sk)
		return NULL;
	if (sk->sk_family != AF_INET && sk->sk_family != AF_INET6)
		return NULL;
	/* raw and other protocols are a known gap, see docs/design.md */
	if (sk->sk_protocol != IPPROTO_TCP && sk->sk_protocol != IPPROTO_UDP)
		return NULL;
	return sk;
}

/* ::ffff:a.b.c.d is an IPv4 peer; fold it so one host has one key. */
static void dest_fold_v4mapped(struct exfilmon_dest *d)
{
	static const u8 v4mapped[12] = {
		[10] = 0xff, [11] = 0xff,
	};

	if (d->family != EXFILMON_AF_INET6 ||
	    memcmp(d->addr, v4mapped, sizeof(v4mapped)))
		return;
	memcpy(d->addr, d->addr + 12, 4);
	memset(d->addr + 4, 0, 12);
	d->family = EXFILMON_AF_INET;
}

static void dest_from_sock(struct sock *sk, struct exfilmon_dest *d)
{
	d->proto = sk->sk_protocol;
	d->port = ntohs(READ_ONCE(sk->sk_dport));
	if (sk->sk_family == AF_INET) {
		__be32 daddr = READ_ONCE(sk->sk_daddr);

		d->family = EXFILMON_AF_INET;
		memcpy(d->addr, &daddr, sizeof(daddr));
	} else {
		d->family = EXFILMON_AF_INET6;
#if IS_ENABLED(CONFIG_IPV6)
		memcpy(d->addr, &sk->sk_v6_daddr, sizeof(d->addr));
#endif
	}
	dest_fold_v4mapped(d);
}

/*
 * The destination of one send on sk, into a zeroed *d. A stream socket
 * always goes to its peer (TCP ignores a sendto() address once
 * connected); a datagram socket uses the caller's address when one was
 * given. The caller's sockaddr is user memory, read without faulting.
 */
void exfilmon_dest_of_send(struct sock *sk, const void __user *uaddr,
			   u32 ulen, struct exfilmon_dest *d)
{
	sa_family_t family;

	dest_from_sock(sk, d);
	if (!uaddr || sk->sk_type == SOCK_STREAM)
		return;
	if (copy_from_user_nofault(&family, uaddr, sizeof(family)))
		return;
	if (family == AF_INET && ulen >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in sin;

		if (copy_from_user_nofault(&sin, uaddr, sizeof(sin)))
			return;
		memset(d->addr, 0, sizeof(d->addr));
		memcpy(d->addr, &sin.sin_addr, 4);
		d->port = ntohs(sin.sin_port);
		d->family = EXFILMON_AF_INET;
	} else if (family == AF_INET6 &&
		   ulen >= sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 sin6;

		if (copy_from_user_nofault(&sin6, uaddr, sizeof(sin6)))
			return;
		memcpy(d->addr, &sin6.sin6_addr, 16);
		d->port = ntohs(sin6.sin6_port);
		d->family = EXFILMON_AF_INET6;
		dest_fold_v4mapped(d);
	}
}
