// SPDX-License-Identifier: GPL-2.0-only
/*
 * The watched table, the module's copy of file_watch(), derived_mark()
 * and carry_file()'s marking in bpf/flow.h: which files are watched data
 * (configured, or derived from it by a tainted writer) and which
 * executables are opaque.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dcache.h>
#include <linux/fs.h>
#include <linux/mm_types.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include "exfilmon.h"

/*
 * The key of the directory holding f. A rename may move the dentry under
 * another parent at any time; dentries and inodes are freed after an RCU
 * grace period, so the old parent can still be read here. dir->dev is 0
 * when there is none.
 */
void exfilmon_file_dir_key(struct file *f, struct exfilmon_file_key *dir)
{
	struct inode *dir_inode;

	dir->dev = 0;
	dir->ino = 0;
	rcu_read_lock();
	dir_inode = READ_ONCE(READ_ONCE(f->f_path.dentry->d_parent)->d_inode);
	if (dir_inode)
		exfilmon_inode_key(dir_inode, dir);
	rcu_read_unlock();
}

/*
 * A derived mark holds its inode's i_generation: when the inode was freed
 * and its number reused for another file, the mark is not believed but
 * dropped (and counted). Called with the watched lock held; true when e
 * was dropped.
 */
static bool mark_stale(struct exfilmon_watch_entry *e, u32 gen)
{
	if (!(e->val.flags & EXFILMON_OBJ_DERIVED) || e->val.gen == gen)
		return false;
	exfilmon_table_delete(exfilmon_watched, &e->key);
	exfilmon_stat_add(EXFILMON_STAT_STALE, 1);
	return true;
}

/*
 * The watched-table entry that says what reading f means: a configured
 * watch on f's inode or (for files directly in it) on its directory, or a
 * derived mark. Opaque-executable entries are not data. A file first
 * matched through its directory is then watched by its own inode too, so
 * a hard link or a rename out of the directory does not shed the watch.
 */
bool exfilmon_file_watch(struct file *f, struct exfilmon_file_key *key,
			 struct exfilmon_obj *w)
{
	struct exfilmon_watch_entry *e, *fe;
	struct inode *inode = file_inode(f);
	struct exfilmon_file_key dir;
	bool own, in_dir;

	/* pipes, sockets and ttys are never watched data: stop here */
	if (!S_ISREG(inode->i_mode))
		return false;
	exfilmon_inode_key(inode, key);
	exfilmon_file_dir_key(f, &dir);
	own = exfilmon_table_maybe_has(exfilmon_watched, key);
	in_dir = dir.dev && exfilmon_table_maybe_has(exfilmon_watched, &dir);
	if (!own && !in_dir)
		return false;

	spin_lock(&exfilmon_watched->lock);
	e = own ? exfilmon_table_lookup(exfilmon_watched, key) : NULL;
	if (e) {
		if (!(e->val.flags & (EXFILMON_WATCH_FILE |
				      EXFILMON_OBJ_DERIVED)) ||
		    mark_stale(e, inode->i_generation))
			e = NULL;
		goto out_unlock;
	}
	e = in_dir ? exfilmon_table_lookup(exfilmon_watched, &dir) : NULL;
	if (!e || !(e->val.flags & EXFILMON_WATCH_DIR)) {
		e = NULL;
		goto out_unlock;
	}
	/* a full table only costs the hard-link protection */
	fe = exfilmon_table_insert(exfilmon_watched, key);
	if (fe) {
		fe->val.flags = EXFILMON_WATCH_FILE | EXFILMON_WATCH_VIA_DIR;
		fe->val.watch_id = e->val.watch_id;
	}
out_unlock:
	if (e)
		*w = e->val;
	spin_unlock(&exfilmon_watched->lock);
	return !!e;
}

/*
 * A tainted process carries amount into regular file key (in directory
 * dir, generation gen) through chan: mark it derived, or add to its mark.
 * Writes into configured watched data are that data already, and an
 * opaque executable being written is not data: -EEXIST, nothing changes.
 * On success *obj is the mark as it now is, and when this call made it,
 * *born is the mark as it was made (for REC_DERIVED) and 1 is returned.
 * Called under the procs and flows locks (level 3, see exfilmon.h).
 */
int exfilmon_mark_derived(const struct exfilmon_file_key *key,
			  const struct exfilmon_file_key *dir, u32 gen,
			  u32 chan, u32 watch_id, u64 amount,
			  const struct exfilmon_pkey *writer, u64 now,
			  struct exfilmon_obj *obj, struct exfilmon_obj *born)
{
	struct exfilmon_watch_entry *e, *d;
	int made = 0;

	spin_lock(&exfilmon_watched->lock);
	e = exfilmon_table_lookup(exfilmon_watched, key);
	if (e && !(e->val.flags & EXFILMON_OBJ_DERIVED))
		goto out_exists;
	if (e && mark_stale(e, gen))
		e = NULL;
	if (!e && dir->dev) {
		d = exfilmon_table_lookup(exfilmon_watched, dir);
		if (d && (d->val.flags & EXFILMON_WATCH_DIR)) {
			/* as a read would, so a rename keeps the watch */
			e = exfilmon_table_insert(exfilmon_watched, key);
			if (e) {
				e->val.flags = EXFILMON_WATCH_FILE |
					       EXFILMON_WATCH_VIA_DIR;
				e->val.watch_id = d->val.watch_id;
			}
			goto out_exists;
		}
	}
	if (!e) {
		e = exfilmon_table_insert(exfilmon_watched, key);
		if (!e) {
			spin_unlock(&exfilmon_watched->lock);
			exfilmon_stat_add(EXFILMON_STAT_DERIVED_FULL, 1);
			exfilmon_stat_add(EXFILMON_STAT_LOST_TAINT_BYTES, amount);
			return -ENOSPC;
		}
		e->val.flags = EXFILMON_OBJ_DERIVED;
		e->val.watch_id = watch_id;
		e->val.chan = chan;
		e->val.gen = gen;
		e->val.writer = *writer;
		e->val.last_ns = now;
		*born = e->val;
		made = 1;
	}
	e->val.taint += amount;
	e->val.writer = *writer;
	e->val.last_ns = now;
	*obj = e->val;
	spin_unlock(&exfilmon_watched->lock);
	return made;

out_exists:
	spin_unlock(&exfilmon_watched->lock);
	return -EEXIST;
}

/*
 * Is the current process running an executable configured opaque
 * ([flow] opaque)? By the inode of mm->exe_file, the kernel's own idea of
 * its image, not a comm the process chose. Only asked on the rare path
 * where a process is about to take taint from an object.
 */
bool exfilmon_current_opaque(void)
{
	struct exfilmon_watch_entry *e;
	struct exfilmon_file_key key;
	bool opaque;

	if (!exfilmon_current_exe_key(&key) ||
	    !exfilmon_table_maybe_has(exfilmon_watched, &key))
		return false;
	spin_lock(&exfilmon_watched->lock);
	e = exfilmon_table_lookup(exfilmon_watched, &key);
	opaque = e && (e->val.flags & EXFILMON_OBJ_OPAQUE);
	spin_unlock(&exfilmon_watched->lock);
	return opaque;
}

/*
 * The key of the current process's executable (mm->exe_file, which only
 * exec and prctl(PR_SET_MM_EXE_FILE) replace, under RCU); false for a
 * kernel thread.
 */
bool exfilmon_current_exe_key(struct exfilmon_file_key *key)
{
	struct mm_struct *mm = current->mm;
	struct file *exe;

	if (!mm)
		return false;
	rcu_read_lock();
	exe = rcu_dereference(mm->exe_file);
	if (exe)
		exfilmon_inode_key(file_inode(exe), key);
	rcu_read_unlock();
	return exe;
}
