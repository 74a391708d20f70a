/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The path of an open file, for REC_DERIVED: the daemon names a staged copy
 * by it. bpf_d_path() is not allowed in tracepoint programs, so the dentry
 * chain is walked by hand, crossing mount points as d_path() does
 * (mnt_root -> mnt_mountpoint of the parent mount), leaf first: each name
 * is NUL-terminated and the daemon puts them in order. Only done when a
 * file is first marked derived, never on a hot path.
 */
#ifndef EXFILMON_BPF_PATH_H
#define EXFILMON_BPF_PATH_H

#define PATH_MAX_DEPTH	32
#define PATH_NAME_MAX	255	/* NAME_MAX */

struct path_walk {
	struct dentry *d;
	struct vfsmount *mnt;
	char *buf;
	__u32 off;
	__u32 flags;
	__u32 done;	/* the walk reached a root */
};

static long path_step(__u32 i, struct path_walk *w)
{
	struct dentry *d = w->d, *parent;
	struct vfsmount *mnt = w->mnt;
	const unsigned char *name;
	long n;

	if (d == BPF_CORE_READ(mnt, mnt_root)) {
		struct mount *m, *pm;

		m = (void *)mnt - bpf_core_field_offset(struct mount, mnt);
		pm = BPF_CORE_READ(m, mnt_parent);
		if (pm == m) {
			w->done = 1;	/* the root of the namespace */
			return 1;
		}
		w->d = BPF_CORE_READ(m, mnt_mountpoint);
		w->mnt = (void *)pm + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (parent == d) {
		w->done = 1;	/* an unmounted tree's root (e.g. memfd) */
		return 1;
	}
	if (w->off >= EXFILMON_DERIVED_PATH_LEN) {
		w->flags |= EXFILMON_DERIVED_TRUNCATED;
		w->done = 1;
		return 1;
	}
	name = BPF_CORE_READ(d, d_name.name);
	/* the buffer is twice the kept length: any name fits after off */
	n = bpf_probe_read_kernel_str(w->buf + (w->off &
						(EXFILMON_DERIVED_PATH_LEN - 1)),
				      PATH_NAME_MAX + 1, name);
	if (n <= 0) {
		w->done = 1;
		return 1;
	}
	if (w->off + n > EXFILMON_DERIVED_PATH_LEN) {
		w->flags |= EXFILMON_DERIVED_TRUNCATED;
		w->done = 1;
		return 1;
	}
	w->off += n;
	w->d = parent;
	return 0;
}

/* f's path into r->path, leaf first; sets path_len and flags. */
static __always_inline void file_path(struct file *f,
				      struct exfilmon_rec_derived *r)
{
	__u32 zero = 0;
	struct path_walk w = {};

	r->path_len = 0;
	r->flags = 0;
	w.buf = bpf_map_lookup_elem(&path_buf, &zero);
	if (!w.buf)
		return;
	w.d = BPF_CORE_READ(f, f_path.dentry);
	w.mnt = BPF_CORE_READ(f, f_path.mnt);
	bpf_loop(PATH_MAX_DEPTH, path_step, &w, 0);
	if (!w.done)
		w.flags |= EXFILMON_DERIVED_TRUNCATED;	/* too deep */
	r->flags = w.flags;
	r->path_len = w.off > EXFILMON_DERIVED_PATH_LEN ?
		      EXFILMON_DERIVED_PATH_LEN : w.off;
	bpf_probe_read_kernel(r->path, sizeof(r->path), w.buf);
}

#endif /* EXFILMON_BPF_PATH_H */
