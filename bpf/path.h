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

/*
 * The walk's state lives in a per-CPU map value, not on the stack: the
 * record is written deep in a call chain whose frames share 512 bytes.
 * The buffer is twice the kept length, so a name copied at any offset
 * below the length stays inside it.
 */
struct path_scratch {
	struct dentry *d;
	struct vfsmount *mnt;
	__u32 off;
	__u32 flags;
	__u32 done;	/* the walk reached a root */
	__u32 pad;
	char buf[2 * EXFILMON_DERIVED_PATH_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} path_buf SEC(".maps");

struct path_ctx {
	struct path_scratch *w;
};

static long path_step(__u32 i, struct path_ctx *c)
{
	struct path_scratch *w = c->w;
	struct dentry *d, *parent;
	struct vfsmount *mnt;
	const unsigned char *name;
	long n;

	if (!w)
		return 1;
	d = w->d;
	mnt = w->mnt;
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
	if (w->off >= EXFILMON_DERIVED_PATH_LEN) {
		w->flags |= EXFILMON_DERIVED_TRUNCATED;
		w->done = 1;
		return 1;
	}
	name = BPF_CORE_READ(d, d_name.name);
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
	if (parent == d) {
		/* a pseudo file's own dentry (memfd: "memfd:NAME") is its
		 * tree's root; named, it ends the walk */
		w->done = 1;
		return 1;
	}
	w->d = parent;
	return 0;
}

/*
 * f's path into out (EXFILMON_DERIVED_PATH_LEN bytes), leaf first; *len
 * the bytes used, *flags EXFILMON_DERIVED_TRUNCATED (EXFILMON_EXEC_
 * TRUNCATED is the same bit) when the walk stopped short of a root.
 */
static __always_inline void file_path(struct file *f, char *out, __u32 *len,
				      __u32 *flags)
{
	struct path_ctx c;
	__u32 zero = 0;

	*len = 0;
	c.w = bpf_map_lookup_elem(&path_buf, &zero);
	if (!c.w)
		return;
	c.w->d = BPF_CORE_READ(f, f_path.dentry);
	c.w->mnt = BPF_CORE_READ(f, f_path.mnt);
	c.w->off = 0;
	c.w->flags = 0;
	c.w->done = 0;
	bpf_loop(PATH_MAX_DEPTH, path_step, &c, 0);
	if (!c.w->done)
		c.w->flags |= EXFILMON_DERIVED_TRUNCATED;	/* too deep */
	*flags |= c.w->flags;
	*len = c.w->off > EXFILMON_DERIVED_PATH_LEN ?
	       EXFILMON_DERIVED_PATH_LEN : c.w->off;
	bpf_probe_read_kernel(out, EXFILMON_DERIVED_PATH_LEN, c.w->buf);
}

#endif /* EXFILMON_BPF_PATH_H */
