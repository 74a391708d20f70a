// SPDX-License-Identifier: GPL-2.0-only
/*
 * REC_DERIVED and the path it names the file by, the module's copy of
 * bpf/path.h and emit_derived() in bpf/flow.h. Only done when a file is
 * first marked derived, never on a hot path.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dcache.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/percpu.h>
#include <linux/string.h>
#include "exfilmon.h"

/* Too big for a probe's stack, so per CPU, used with preemption off. */
struct derived_scratch {
	struct exfilmon_rec_derived rec;
	char path[PATH_MAX];
};

static struct derived_scratch __percpu *scratch;

int exfilmon_path_init(void)
{
	scratch = alloc_percpu(struct derived_scratch);
	return scratch ? 0 : -ENOMEM;
}

void exfilmon_path_exit(void)
{
	free_percpu(scratch);
	scratch = NULL;
}

/* Append name (len bytes, no NUL) to r->path; false when it does not fit. */
static bool path_push(struct exfilmon_rec_derived *r, const char *name,
		      size_t len)
{
	if (r->path_len + len + 1 > sizeof(r->path))
		return false;
	memcpy(r->path + r->path_len, name, len);
	r->path[r->path_len + len] = '\0';
	r->path_len += len + 1;
	return true;
}

/*
 * f's path into r->path, leaf first, each name NUL-terminated, as the
 * eBPF sensor's dentry walk puts it. d_path() crosses mount points up to
 * the process's root and takes only RCU and seqlock read sides (spinning
 * on a retry), so it is safe with preemption off. It marks an unlinked
 * file " (deleted)"; the walk never does, so that goes.
 */
static void derived_path(struct file *f, char *buf,
			 struct exfilmon_rec_derived *r)
{
	static const char deleted[] = " (deleted)";
	const size_t dlen = sizeof(deleted) - 1;
	struct dentry *d = f->f_path.dentry;
	char *p, *end, *name;

	/*
	 * A pseudo file (a memfd) has its own dentry as its tree's root, and
	 * its name is all the path it has: the walk stops there too, where
	 * d_path() would give "/NAME (deleted)" or nothing.
	 */
	if (IS_ROOT(d) && d != f->f_path.mnt->mnt_root) {
		r->path_len = scnprintf(r->path, NAME_MAX + 1, "%pd", d) + 1;
		return;
	}
	p = d_path(&f->f_path, buf, PATH_MAX);
	if (IS_ERR(p)) {
		/* longer than PATH_MAX: the leaf at least */
		r->path_len = scnprintf(r->path, NAME_MAX + 1, "%pd", d) + 1;
		r->flags = EXFILMON_DERIVED_TRUNCATED;
		return;
	}
	end = p + strlen(p);
	if (d_unlinked(d) && (size_t)(end - p) >= dlen &&
	    !strcmp(end - dlen, deleted))
		end -= dlen;
	while (end > p) {
		name = end;
		while (name > p && name[-1] != '/')
			name--;
		if (name < end && !path_push(r, name, end - name)) {
			r->flags = EXFILMON_DERIVED_TRUNCATED;
			return;
		}
		end = name > p ? name - 1 : p;
	}
}

/* Regular file f (key) was first marked derived, obj, by process pkey. */
void exfilmon_emit_derived(const struct exfilmon_pkey *pkey,
			   const struct exfilmon_file_key *key,
			   const struct exfilmon_obj *obj, struct file *f,
			   u64 now)
{
	struct derived_scratch *s = get_cpu_ptr(scratch);
	struct exfilmon_rec_derived *r = &s->rec;

	memset(r, 0, sizeof(*r));
	exfilmon_rec_hdr_fill(&r->hdr, EXFILMON_REC_DERIVED, sizeof(*r), now,
			      pkey);
	r->key = *key;
	r->obj = *obj;
	derived_path(f, s->path, r);
	exfilmon_emit(r, sizeof(*r));
	put_cpu_ptr(scratch);
}
