/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Taint moving between processes and objects (docs/flow.md): a tainted
 * process *carries* taint into a pipe, socket, loopback flow or file it
 * writes, and a process reading one *takes* taint out of it. Taint is a
 * quantity: a process can put at most its own taint into one object, and
 * a stream's taint is used up as it is read.
 */
#ifndef EXFILMON_BPF_FLOW_H
#define EXFILMON_BPF_FLOW_H

/*
 * Streams created since the sensor loaded. Readers of pipes and sockets
 * skip the streams lookup while there are none, so a machine where no
 * tainted process ever wrote to a pipe or socket pays nothing for
 * propagation on its reads.
 */
__u64 streams_live;

/* The watched table's entry for key, behind the watch filter (maps.h). */
static __always_inline struct exfilmon_obj *
watched_lookup(const struct exfilmon_file_key *key)
{
	if (!watch_maybe(key->ino))
		return NULL;
	return bpf_map_lookup_elem(&watched, key);
}

/* Is t running an executable configured opaque ([flow] opaque)? */
static __always_inline bool task_opaque(struct task_struct *t)
{
	struct exfilmon_file_key key;
	struct exfilmon_obj *o;
	struct file *exe = BPF_CORE_READ(t, mm, exe_file);

	if (!exe)
		return false;	/* a kernel thread */
	inode_key(BPF_CORE_READ(exe, f_inode), &key);
	o = watched_lookup(&key);
	return o && (o->flags & EXFILMON_OBJ_OPAQUE);
}

/*
 * How much of n written bytes p may carry into obj: what p has not carried
 * there yet of its taint. The (p, obj) outflow is counted here too.
 */
static __always_inline __u64 carry_budget(struct exfilmon_proc *p,
					  const struct exfilmon_pkey *pkey,
					  const struct exfilmon_file_key *obj,
					  __u64 n, __u64 now,
					  struct exfilmon_count **out)
{
	struct exfilmon_read_key fkey = {};
	struct exfilmon_count *c;
	__u64 taint = p->taint, done, amount;

	fkey.proc = *pkey;
	fkey.file = *obj;
	c = count_get(&flows, &fkey, EXFILMON_STAT_FLOW_FULL);
	*out = c;
	/* without a counter the cap is per write only (counted above) */
	done = c ? c->bytes : 0;
	amount = taint > done ? taint - done : 0;
	if (amount > n)
		amount = n;
	if (c && amount)
		count_add(c, amount, now);
	return amount;
}

/*
 * amount of taint went from the tainted process pkey into object key (o);
 * out is the (process, object) outflow. Not inlined: its record
 * description stays off the callers' frames (512 bytes for a whole call
 * chain).
 */
static __noinline void carried(const struct exfilmon_pkey *pkey,
			       const struct exfilmon_file_key *key,
			       struct exfilmon_obj *o, const struct xfer *x,
			       const struct exfilmon_count *out)
{
	struct exfilmon_proc *p;
	__u64 now = bpf_ktime_get_boot_ns();
	struct io_rec io = {
		.type = EXFILMON_REC_FLOW, .total = out, .obj = key,
	};

	if (!pkey || !key || !o || !x)
		return;
	p = bpf_map_lookup_elem(&procs, pkey);
	if (!p)
		return;
	__sync_fetch_and_add(&o->taint, x->n);
	o->writer = *pkey;
	o->last_ns = now;
	__sync_fetch_and_add(&p->carried, x->n);
	p->last_ns = now;
	io.op = x->op;
	io.watch_id = o->watch_id;
	io.chan = o->chan;
	io.delta = x->n;
	emit_io(pkey, now, &io, p);
}

/*
 * A new, zeroed object entry for the caller to fill in (an initialiser on
 * the stack would not fit the deepest call chains); NULL when the table is
 * full, which loses the amount of taint being carried.
 */
static __always_inline struct exfilmon_obj *
obj_new(void *map, const struct exfilmon_file_key *key, __u32 full_stat,
	__u64 amount)
{
	static const struct exfilmon_obj zero;
	long err = bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);

	/* refused, as in count_get(); -EEXIST: another CPU made it */
	if (err && err != -EEXIST) {
		stat_add(full_stat, 1);
		stat_add(EXFILMON_STAT_LOST_TAINT_BYTES, amount);
		return NULL;
	}
	return bpf_map_lookup_elem(map, key);
}

/* The tainted process p wrote x->n bytes into the stream key. */
static __noinline void carry_stream(struct exfilmon_proc *p,
				     const struct exfilmon_pkey *pkey,
				     const struct exfilmon_file_key *key,
				     struct xfer *x)
{
	struct exfilmon_count *out;
	struct exfilmon_obj *o;
	__u64 now = bpf_ktime_get_boot_ns();
	__u64 amount = carry_budget(p, pkey, key, x->n, now, &out);

	if (!amount)
		return;
	o = bpf_map_lookup_elem(&streams, key);
	if (!o) {
		o = obj_new(&streams, key, EXFILMON_STAT_STREAM_FULL, amount);
		if (!o)
			return;
		o->flags = EXFILMON_OBJ_STREAM;
		o->watch_id = p->watch_id;
		o->chan = x->chan;
		__sync_fetch_and_add(&streams_live, 1);
	}
	x->n = amount;
	carried(pkey, key, o, x, out);
}

/* Not inlined: only tainted writers of regular files get here. */
static __noinline void emit_derived(const struct exfilmon_pkey *pkey,
				    const struct exfilmon_file_key *key,
				    const struct exfilmon_obj *o,
				    struct file *f, __u64 now)
{
	struct exfilmon_rec_derived *r;

	if (!pkey || !key || !o)
		return;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		stat_add(EXFILMON_STAT_DROPPED, 1);
		return;
	}
	r->hdr.type = EXFILMON_REC_DERIVED;
	r->hdr.size = sizeof(*r);
	r->hdr.pad = 0;
	r->hdr.ts_ns = now;
	r->hdr.proc = *pkey;
	r->key = *key;
	r->obj = *o;
	r->flags = 0;
	file_path(f, r->path, &r->path_len, &r->flags);
	ring_submit(r, now);
	stat_add(EXFILMON_STAT_EVENTS, 1);
}

/*
 * The derived mark of inode (key), or NULL. A mark whose inode has been
 * freed and the number reused for another file no longer matches the
 * generation: it is dropped and counted, never believed.
 */
static __always_inline struct exfilmon_obj *
derived_mark(struct inode *inode, const struct exfilmon_file_key *key,
	     struct exfilmon_obj *o)
{
	if (!o || !(o->flags & EXFILMON_OBJ_DERIVED))
		return o;
	if (o->gen == BPF_CORE_READ(inode, i_generation))
		return o;
	bpf_map_delete_elem(&watched, key);
	stat_add(EXFILMON_STAT_STALE, 1);
	return NULL;
}

/*
 * The watched-table entry that says what reading f means: a configured
 * watch on f's inode or (for files directly in it) on its directory, or a
 * derived mark. Opaque-executable entries are not data. A file first
 * matched through its directory is then watched by its own inode too, so a
 * hard link or a rename out of the directory does not shed the watch.
 * key is f's own, which the caller has read already.
 */
static __always_inline struct exfilmon_obj *
file_watch(struct file *f, struct inode *inode, struct exfilmon_file_key *key)
{
	struct exfilmon_file_key dir;
	struct exfilmon_obj *w;

	w = watched_lookup(key);
	if (w) {
		if (w->flags & (EXFILMON_WATCH_FILE | EXFILMON_OBJ_DERIVED))
			return derived_mark(inode, key, w);
		return NULL;
	}
	if (!watch_dirs)
		return NULL;
	inode_key(BPF_CORE_READ(f, f_path.dentry, d_parent, d_inode), &dir);
	w = watched_lookup(&dir);
	if (!w || !(w->flags & EXFILMON_WATCH_DIR))
		return NULL;
	{
		static const struct exfilmon_obj zero;
		struct exfilmon_obj *fw;

		/* a full table only costs the hard-link protection */
		watch_mark(key->ino);
		if (bpf_map_update_elem(&watched, key, &zero, BPF_NOEXIST))
			return w;
		fw = bpf_map_lookup_elem(&watched, key);
		if (fw) {
			fw->watch_id = w->watch_id;
			fw->flags = EXFILMON_WATCH_FILE | EXFILMON_WATCH_VIA_DIR;
		}
	}
	return w;
}

/*
 * The tainted process p wrote x->n bytes into regular file f (chan FILE,
 * or SHM for a shared writable mapping): the file becomes derived data.
 * Writes into configured watched data are that data already.
 */
static __noinline void carry_file(struct exfilmon_proc *p,
				   const struct exfilmon_pkey *pkey,
				   struct file *f, struct xfer *x)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	struct exfilmon_file_key key;
	struct exfilmon_count *out;
	struct exfilmon_obj *o;
	__u64 now, amount;

	inode_key(inode, &key);
	o = file_watch(f, inode, &key);
	if (o && !(o->flags & EXFILMON_OBJ_DERIVED))
		return;
	if (!o && watched_lookup(&key))
		return;	/* an opaque executable being written: not data */
	now = bpf_ktime_get_boot_ns();
	amount = carry_budget(p, pkey, &key, x->n, now, &out);
	if (!amount)
		return;
	if (!o) {
		watch_mark(key.ino);
		o = obj_new(&watched, &key, EXFILMON_STAT_DERIVED_FULL, amount);
		if (!o)
			return;
		o->flags = EXFILMON_OBJ_DERIVED;
		o->watch_id = p->watch_id;
		o->chan = x->chan;
		o->gen = BPF_CORE_READ(inode, i_generation);
		o->writer = *pkey;
		o->last_ns = now;
		emit_derived(pkey, &key, o, f, now);
	}
	x->n = amount;
	carried(pkey, &key, o, x, out);
}

/*
 * t read x->n bytes from object key (entry o, a derived file or a
 * stream): it takes the taint the object can give it. A stream's taint is
 * used up by the read whoever the reader is; an opaque reader just takes
 * none.
 */
static __noinline void take(struct task_struct *t,
			     const struct exfilmon_file_key *key,
			     struct exfilmon_obj *o, const struct xfer *x)
{
	__u64 n = x->n;
	struct exfilmon_read_key rkey = {};
	struct exfilmon_count *c;
	struct exfilmon_proc *p;
	__u64 now, amount, had;
	struct io_rec io = {
		.type = EXFILMON_REC_READ, .op = x->op,
		.watch_id = o->watch_id, .chan = o->chan, .obj = key,
		.peer = &o->writer,
	};

	task_pkey(t, &rkey.proc);
	if (o->flags & EXFILMON_OBJ_STREAM) {
		had = o->taint;
		amount = had < n ? had : n;
		if (!amount)
			return;
		/*
		 * A stream read dry keeps its entry: deleting it here would
		 * race with a writer adding to the same entry, and lose that
		 * taint. The daemon removes drained entries once idle. A
		 * reader that raced another below zero gives the rest back.
		 */
		had = __sync_fetch_and_sub(&o->taint, amount);
		if (had < amount) {
			__sync_fetch_and_add(&o->taint, amount - had);
			amount = had;
			if (!amount)
				return;
		}
		if (task_opaque(t))
			return;
	} else if (task_opaque(t)) {
		return;
	}
	/* Reading back what one wrote (a journal, a temp file) is one's own
	 * taint: taking it again would double it at every round trip. */
	if (o->writer.tgid == rkey.proc.tgid &&
	    o->writer.start_ns == rkey.proc.start_ns)
		return;
	now = bpf_ktime_get_boot_ns();
	rkey.file = *key;
	c = count_get(&reads, &rkey, EXFILMON_STAT_READ_FULL);
	if (!(o->flags & EXFILMON_OBJ_STREAM)) {
		/* a file gives each reader up to its taint, once */
		had = c ? c->bytes : 0;
		amount = o->taint > had ? o->taint - had : 0;
		if (amount > n)
			amount = n;
		if (!amount)
			return;
	}
	p = proc_get(t, &rkey.proc, now, o->watch_id);
	if (!p) {
		stat_add(EXFILMON_STAT_LOST_TAINT_BYTES, amount);
		return;
	}
	__sync_fetch_and_add(&p->taint, amount);
	p->last_ns = now;
	if (c) {
		count_add(c, amount, now);
		src_update(p, o->chan, &o->writer, key, c->bytes);
	}
	io.delta = amount;
	io.total = c;
	emit_io(&rkey.proc, now, &io, p);
}

#endif /* EXFILMON_BPF_FLOW_H */
