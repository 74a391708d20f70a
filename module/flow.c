// SPDX-License-Identifier: GPL-2.0-only
/*
 * Taint moving between processes and objects (docs/flow.md), the module's
 * copy of bpf/flow.h and of read_file()/write_file() in
 * bpf/exfilmon.bpf.c. A tainted process *carries* taint into a pipe,
 * socket, loopback flow or file it writes, and a process reading one
 * *takes* taint out of it. Taint is a quantity: a process can put at most
 * its own taint into one object, and a stream's taint is used up as it is
 * read.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/minmax.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include "exfilmon.h"

/* A carry on its way into an object. */
struct carry {
	struct exfilmon_pkey pkey;	/* the writer: the current process */
	struct exfilmon_file_key key;	/* the object */
	u32 op;
	u32 chan;
	u64 n;				/* bytes written (or asked to be) */
	u64 now;
	/* regular files only */
	struct file *file;
	struct exfilmon_file_key dir;
	u32 gen;
};

/*
 * Add amount to stream c->key, creating it; *obj is the stream after.
 * Level 3 under procs and flows (exfilmon.h).
 */
static int land_stream(const struct carry *c, u32 watch_id, u64 amount,
		       struct exfilmon_obj *obj)
{
	struct exfilmon_watch_entry *e;

	spin_lock(&exfilmon_streams->lock);
	e = exfilmon_table_lookup(exfilmon_streams, &c->key);
	if (!e) {
		e = exfilmon_table_insert(exfilmon_streams, &c->key);
		if (!e) {
			spin_unlock(&exfilmon_streams->lock);
			exfilmon_stat_add(EXFILMON_STAT_STREAM_FULL, 1);
			exfilmon_stat_add(EXFILMON_STAT_LOST_TAINT_BYTES, amount);
			return -ENOSPC;
		}
		e->val.flags = EXFILMON_OBJ_STREAM;
		e->val.watch_id = watch_id;
		e->val.chan = c->chan;
	}
	e->val.taint += amount;
	e->val.writer = c->pkey;
	e->val.last_ns = c->now;
	*obj = e->val;
	spin_unlock(&exfilmon_streams->lock);
	return 0;
}

/*
 * The current process writes c->n bytes into object c->key: if it is
 * tracked, it carries what it has not carried there yet of its taint,
 * min(n, taint - out(p, obj)), where the flows table holds out(p, obj).
 * Without a flows entry (table full) the cap is per write only.
 */
static void carry(const struct carry *c)
{
	struct exfilmon_read_key fkey = { .proc = c->pkey, .file = c->key };
	struct exfilmon_read_entry *fe;
	struct exfilmon_proc_entry *pe;
	struct exfilmon_rec_io r = {};
	struct exfilmon_obj obj = {}, born = {};
	bool flow_full = false;
	u64 out, amount = 0;
	int landed = -ENOENT;

	spin_lock(&exfilmon_procs->lock);
	pe = exfilmon_table_lookup(exfilmon_procs, &c->pkey);
	if (!pe)
		goto out_unlock_procs;
	spin_lock(&exfilmon_flows->lock);
	fe = exfilmon_table_lookup(exfilmon_flows, &fkey);
	out = fe ? fe->val.bytes : 0;
	if (pe->val.taint > out)
		amount = min(c->n, pe->val.taint - out);
	if (!amount)
		goto out_unlock_flows;
	if (c->file)
		landed = exfilmon_mark_derived(&c->key, &c->dir, c->gen,
					       c->chan, pe->val.watch_id,
					       amount, &c->pkey, c->now, &obj,
					       &born);
	else
		landed = land_stream(c, pe->val.watch_id, amount, &obj);
	if (landed < 0)
		goto out_unlock_flows;
	if (!fe)
		fe = exfilmon_table_insert(exfilmon_flows, &fkey);
	if (fe) {
		exfilmon_count_add(&fe->val, amount, c->now);
		r.total = fe->val;
	} else {
		flow_full = true;
	}
	pe->val.carried += amount;
	pe->val.last_ns = c->now;
	r.proc = pe->val;
out_unlock_flows:
	spin_unlock(&exfilmon_flows->lock);
out_unlock_procs:
	spin_unlock(&exfilmon_procs->lock);
	if (landed < 0)
		return;
	if (flow_full)
		exfilmon_stat_add(EXFILMON_STAT_FLOW_FULL, 1);
	/* the file first, so the daemon knows it when the flow arrives */
	if (landed > 0)
		exfilmon_emit_derived(&c->pkey, &c->key, &born, c->file,
				      c->now);
	r.watch_id = obj.watch_id;
	r.chan = obj.chan;
	r.file = c->key;
	exfilmon_emit_io(&r, EXFILMON_REC_FLOW, &c->pkey, c->now, c->op,
			 amount);
}

/*
 * The tracked process pkey wrote n bytes into regular file f (chan FILE,
 * or SHM for a shared writable mapping): the file becomes derived data.
 */
void exfilmon_carry_file(const struct exfilmon_pkey *pkey, struct file *f,
			 u32 chan, u32 op, u64 n)
{
	struct inode *inode = file_inode(f);
	struct carry c = {
		.pkey = *pkey, .op = op, .chan = chan, .n = n, .file = f,
		.gen = inode->i_generation,
	};

	exfilmon_inode_key(inode, &c.key);
	exfilmon_file_dir_key(f, &c.dir);
	c.now = ktime_get_boottime_ns();
	carry(&c);
}

static void carry_stream(const struct exfilmon_pkey *pkey,
			 const struct exfilmon_file_key *key, u32 chan,
			 u32 op, u64 n)
{
	struct carry c = {
		.pkey = *pkey, .key = *key, .op = op, .chan = chan, .n = n,
	};

	c.now = ktime_get_boottime_ns();
	carry(&c);
}

/*
 * The current process read m bytes of object key, whose entry was obj (a
 * configured watch, a derived file, or a stream whose taint the read has
 * already used up): it takes what the object gives it.
 *  - configured watch: every byte (bytes_read too);
 *  - derived file: min(m, taint - in(q, obj)), the reads table holding
 *    in(q, obj): a file gives each reader up to its taint, once;
 *  - stream: m, already cut to what the stream held.
 * The process is tracked from its first taint on. Only a configured
 * watch's reads are coalesced (exfilmon_announce(), as account_read() in
 * bpf/account.h): taint taken from a pipe, socket or derived file is
 * announced every time, as REC_FLOW is (docs/design.md "Coalescing").
 */
static void take(u32 op, const struct exfilmon_pkey *pkey,
		 const struct exfilmon_file_key *key,
		 const struct exfilmon_obj *obj, u64 m)
{
	struct exfilmon_read_key rkey = { .proc = *pkey, .file = *key };
	bool direct = obj->flags & EXFILMON_WATCH_FILE;
	struct exfilmon_read_entry *re;
	struct exfilmon_proc_entry *pe;
	struct exfilmon_rec_io r = {};
	bool proc_full = false, read_full = false, taken = false;
	bool announce = true;	/* without a counter, the record is all */
	u64 had, amount = m;
	u64 now = ktime_get_boottime_ns();

	spin_lock(&exfilmon_procs->lock);
	pe = exfilmon_table_lookup(exfilmon_procs, pkey);
	spin_lock(&exfilmon_reads->lock);
	re = exfilmon_table_lookup(exfilmon_reads, &rkey);
	if (obj->flags & EXFILMON_OBJ_DERIVED) {
		had = re ? re->val.bytes : 0;
		amount = obj->taint > had ? min(m, obj->taint - had) : 0;
	}
	if (!amount)
		goto out_unlock;
	if (!pe) {
		pe = exfilmon_table_insert(exfilmon_procs, pkey);
		if (!pe) {
			proc_full = true;
			goto out_unlock;
		}
		exfilmon_proc_start(&pe->val, obj->watch_id, now);
	}
	if (direct)
		pe->val.bytes_read += amount;
	pe->val.taint += amount;
	pe->val.last_ns = now;
	/*
	 * A full (proc, object) table loses which object, never the volume:
	 * the process totals above already hold the bytes.
	 */
	if (!re)
		re = exfilmon_table_insert(exfilmon_reads, &rkey);
	if (re) {
		/* decided under the lock, on the counter as it was */
		if (direct)
			announce = exfilmon_announce(&re->val, amount, now);
		exfilmon_count_add(&re->val, amount, now);
		exfilmon_src_update(&pe->val, obj->chan,
				    direct ? NULL : &obj->writer, key,
				    re->val.bytes);
		r.total = re->val;
	} else {
		read_full = true;
	}
	r.proc = pe->val;
	taken = true;
out_unlock:
	spin_unlock(&exfilmon_reads->lock);
	spin_unlock(&exfilmon_procs->lock);
	if (proc_full) {
		exfilmon_stat_add(EXFILMON_STAT_PROC_FULL, 1);
		exfilmon_stat_add(direct ? EXFILMON_STAT_LOST_READ_BYTES :
				  EXFILMON_STAT_LOST_TAINT_BYTES, amount);
	}
	if (read_full)
		exfilmon_stat_add(EXFILMON_STAT_READ_FULL, 1);
	if (!taken || !announce)
		return;
	r.watch_id = obj->watch_id;
	r.chan = obj->chan;
	r.file = *key;
	if (!direct)
		r.peer = obj->writer;
	exfilmon_emit_io(&r, EXFILMON_REC_READ, pkey, now, op, amount);
}

/*
 * Whether the current process may take taint out of obj: not when it runs
 * an opaque executable, and not when it wrote the object's taint itself
 * (reading back one's own journal or temp file would double one's taint
 * at every round trip).
 */
static bool may_take(const struct exfilmon_pkey *pkey,
		     const struct exfilmon_obj *obj)
{
	return !exfilmon_current_opaque() &&
	       !exfilmon_pkey_eq(&obj->writer, pkey);
}

/* A read of m bytes of regular file f. */
static void read_regular(u32 op, struct file *f, u64 m)
{
	struct exfilmon_file_key key;
	struct exfilmon_pkey pkey;
	struct exfilmon_obj w;

	if (!exfilmon_file_watch(f, &key, &w))
		return;
	exfilmon_task_pkey(current, &pkey);
	if (w.flags & EXFILMON_OBJ_DERIVED) {
		if (may_take(&pkey, &w))
			take(op, &pkey, &key, &w, m);
		return;
	}
	/* configured watched data, however it was matched */
	w.flags = EXFILMON_WATCH_FILE;
	w.chan = EXFILMON_CHAN_READ;
	take(op, &pkey, &key, &w, m);
}

/*
 * A read of m bytes from stream key: the stream gives up to what it
 * holds, and is used up by the read whoever the reader is; an opaque
 * reader just takes none. A stream read dry is deleted.
 */
static void read_stream(u32 op, const struct exfilmon_file_key *key, u64 m)
{
	struct exfilmon_watch_entry *e;
	struct exfilmon_obj obj = {};
	struct exfilmon_pkey pkey;
	u64 amount = 0;

	if (!exfilmon_table_maybe_has(exfilmon_streams, key))
		return;
	spin_lock(&exfilmon_streams->lock);
	e = exfilmon_table_lookup(exfilmon_streams, key);
	if (e) {
		amount = min(m, e->val.taint);
		e->val.taint -= amount;
		obj = e->val;
		if (!e->val.taint)
			exfilmon_table_delete(exfilmon_streams, key);
	}
	spin_unlock(&exfilmon_streams->lock);
	if (!amount)
		return;
	exfilmon_task_pkey(current, &pkey);
	if (may_take(&pkey, &obj))
		take(op, &pkey, key, &obj, amount);
}

/*
 * The current process read n bytes from f: from watched data, a derived
 * file, or a pipe or socket that may hold taint.
 */
void exfilmon_read_file(u32 op, struct file *f, u64 n)
{
	umode_t mode = file_inode(f)->i_mode;
	struct exfilmon_file_key key;
	struct sock *sk;

	if (S_ISREG(mode)) {
		read_regular(op, f, n);
		return;
	}
	/* pipes, sockets: only while some stream holds taint */
	if (exfilmon_table_empty(exfilmon_streams))
		return;
	if (S_ISFIFO(mode)) {
		exfilmon_inode_key(file_inode(f), &key);
	} else if (S_ISSOCK(mode)) {
		sk = exfilmon_file_sock(f);
		if (!sk || exfilmon_sock_read_key(sk, &key))
			return;
	} else {
		return;
	}
	read_stream(op, &key, n);
}

/*
 * The current process writes n bytes to f; uaddr is the caller's
 * sockaddr, if any. when (EXFILMON_XFER_*) says which targets this hook
 * accounts. Only a tracked process gets here (the hooks check first): its
 * sends count and its taint moves.
 */
void exfilmon_write_file(u32 op, struct file *f, u64 n,
			 const void __user *uaddr, u32 ulen, u32 when)
{
	umode_t mode = file_inode(f)->i_mode;
	struct exfilmon_dest dest = {};
	struct exfilmon_file_key key;
	struct exfilmon_pkey pkey;
	struct sock *sk;
	u32 chan;

	exfilmon_task_pkey(current, &pkey);
	if (S_ISREG(mode)) {
		if (when & EXFILMON_XFER_EXACT)
			exfilmon_carry_file(&pkey, f, EXFILMON_CHAN_FILE, op,
					    n);
	} else if (S_ISFIFO(mode)) {
		if (!(when & EXFILMON_XFER_STREAM))
			return;
		exfilmon_inode_key(file_inode(f), &key);
		carry_stream(&pkey, &key, EXFILMON_CHAN_PIPE, op, n);
	} else if (S_ISSOCK(mode)) {
		sk = exfilmon_file_sock(f);
		if (!sk)
			return;
		switch (exfilmon_sock_write(sk, uaddr, ulen, &key, &chan,
					    &dest)) {
		case EXFILMON_SOCK_STREAM:
			if (when & EXFILMON_XFER_STREAM)
				carry_stream(&pkey, &key, chan, op, n);
			break;
		case EXFILMON_SOCK_SEND:
			/*
			 * prevent mode: a TCP send is refused before its
			 * data is queued (sendmmsg's entry knows no size)
			 */
			if (when & EXFILMON_XFER_STREAM)
				exfilmon_prevent_tcp_send(op, &pkey, sk, &dest,
							  n == U64_MAX ? 0 : n);
			if ((when & EXFILMON_XFER_EXACT) &&
			    exfilmon_send_leaves(sk, dest.proto))
				exfilmon_account_send(op, &pkey, &dest, n);
			break;
		}
	}
}
