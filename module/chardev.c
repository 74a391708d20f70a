// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/exfilmon: the daemon's one door into the module. read() and poll()
 * drain the record ring; the ioctls of include/exfilmon_abi.h manage the
 * watch table, read, look up and prune the counter tables, report
 * statistics and set prevent mode's policy and overrides.
 * One opener at a time; closing the device changes nothing, so a
 * restarted daemon resumes with the tables as they are.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "exfilmon.h"

/* Entries copied per lock hold, and pool slots scanned per lock hold. */
#define TABLE_CHUNK	64
#define TABLE_SCAN	1024

static unsigned long dev_busy;		/* bit 0: the device is open */
static DEFINE_MUTEX(read_mutex);	/* one reader of the ring at a time */

static int exfilmon_open(struct inode *inode, struct file *file)
{
	if (test_and_set_bit_lock(0, &dev_busy))
		return -EBUSY;
	return nonseekable_open(inode, file);
}

static int exfilmon_release(struct inode *inode, struct file *file)
{
	clear_bit_unlock(0, &dev_busy);
	return 0;
}

static ssize_t exfilmon_read(struct file *file, char __user *buf,
			     size_t count, loff_t *ppos)
{
	ssize_t ret;

	if (!count)
		return 0;
	for (;;) {
		if (mutex_lock_interruptible(&read_mutex))
			return -ERESTARTSYS;
		ret = exfilmon_ring_read(buf, count);
		mutex_unlock(&read_mutex);
		if (ret)
			return ret;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		if (wait_event_interruptible(exfilmon_ring_wq,
					     exfilmon_ring_pending()))
			return -ERESTARTSYS;
	}
}

static __poll_t exfilmon_poll(struct file *file, poll_table *wait)
{
	poll_wait(file, &exfilmon_ring_wq, wait);
	/*
	 * Pairs with the writer's publish-then-wq_has_sleeper(): the queue
	 * insertion must be visible before the head is read, or a record
	 * published meanwhile wakes nobody (as in sock_poll_wait()).
	 */
	smp_mb();
	return exfilmon_ring_pending() ? EPOLLIN | EPOLLRDNORM : 0;
}

/*
 * Every ioctl argument starts with its size and a flags word: copy it in
 * and refuse a size or flags this module does not know.
 */
static int arg_in(void *arg, size_t size, const void __user *uarg)
{
	const struct {
		__u32 size;
		__u32 flags;
	} *head = arg;

	if (copy_from_user(arg, uarg, size))
		return -EFAULT;
	if (head->size != size || head->flags)
		return -EINVAL;
	return 0;
}

static int arg_out(void __user *uarg, const void *arg, size_t size)
{
	return copy_to_user(uarg, arg, size) ? -EFAULT : 0;
}

static int ioc_version(void __user *uarg)
{
	struct exfilmon_ioc_version a;
	int err = arg_in(&a, sizeof(a), uarg);

	if (err)
		return err;
	if (a.pad)
		return -EINVAL;
	a.abi_version = EXFILMON_ABI_MAJOR << 16 | EXFILMON_ABI_MINOR;
	return arg_out(uarg, &a, sizeof(a));
}

#define WATCH_CONFIGURED \
	(EXFILMON_WATCH_FILE | EXFILMON_WATCH_DIR | EXFILMON_WATCH_VIA_DIR)
#define WATCH_FLAGS \
	(WATCH_CONFIGURED | EXFILMON_OBJ_DERIVED | EXFILMON_OBJ_OPAQUE)

/*
 * An entry of the watched table says what it is: a configured watch, a
 * derived file (the daemon restoring one it stored) or an opaque
 * executable. Streams live in their own table and only the hooks make
 * them.
 */
static bool watch_obj_valid(const struct exfilmon_obj *w)
{
	return w->flags && !(w->flags & ~WATCH_FLAGS) &&
	       w->chan < EXFILMON_CHAN_NR && !w->writer.pad;
}

/* Insert or replace, like BPF_ANY on the eBPF sensor's map. */
static int ioc_watch_add(void __user *uarg)
{
	struct exfilmon_table *t = exfilmon_watched;
	struct exfilmon_watch_entry *e;
	struct exfilmon_ioc_watch a;
	int err = arg_in(&a, sizeof(a), uarg);

	if (err)
		return err;
	if (!watch_obj_valid(&a.w))
		return -EINVAL;
	spin_lock(&t->lock);
	e = exfilmon_table_lookup(t, &a.key);
	if (!e)
		e = exfilmon_table_insert(t, &a.key);
	if (e)
		e->val = a.w;
	spin_unlock(&t->lock);
	return e ? 0 : -E2BIG;
}

static int ioc_watch_rm(void __user *uarg)
{
	struct exfilmon_table *t = exfilmon_watched;
	struct exfilmon_ioc_watch a;
	int err = arg_in(&a, sizeof(a), uarg);

	if (err)
		return err;
	spin_lock(&t->lock);
	err = exfilmon_table_delete(t, &a.key);
	spin_unlock(&t->lock);
	return err;
}

/*
 * Derived marks and opaque entries carry a watch_id too (the origin of
 * the data), but they are not the configuration: they outlive it.
 */
static bool watch_is_configured(const struct exfilmon_watch_entry *e)
{
	return (e->val.flags & WATCH_CONFIGURED) &&
	       !(e->val.flags & (EXFILMON_OBJ_DERIVED | EXFILMON_OBJ_OPAQUE));
}

static bool watch_dir_has_id(const void *entry, const void *ctx)
{
	const struct exfilmon_watch_entry *e = entry;

	return e->val.watch_id == *(const u32 *)ctx &&
	       (e->val.flags & EXFILMON_WATCH_DIR) && watch_is_configured(e);
}

static bool watch_has_id(const void *entry, const void *ctx)
{
	const struct exfilmon_watch_entry *e = entry;

	return e->val.watch_id == *(const u32 *)ctx && watch_is_configured(e);
}

static void watch_scan_delete(bool (*match)(const void *, const void *),
			      const u32 *id)
{
	struct exfilmon_table *t = exfilmon_watched;
	u32 cursor = 0;

	while (cursor < t->size) {
		spin_lock(&t->lock);
		exfilmon_table_delete_if(t, &cursor, TABLE_SCAN, match, id);
		spin_unlock(&t->lock);
		cond_resched();
	}
}

/*
 * Every configured key of one watch, including those the hooks added
 * (VIA_DIR); derived marks and opaque entries stay. The
 * directories go first: while one is left, a read through it can add a
 * VIA_DIR file entry into a slot the scan has already passed (the free
 * list hands out the slot just freed). With none left, no new entry of
 * this id can appear, and the second scan takes the rest.
 */
static int ioc_watch_rm_id(void __user *uarg)
{
	struct exfilmon_ioc_watch a;
	int err = arg_in(&a, sizeof(a), uarg);

	if (err)
		return err;
	watch_scan_delete(watch_dir_has_id, &a.w.watch_id);
	watch_scan_delete(watch_has_id, &a.w.watch_id);
	return 0;
}

/*
 * The key the hooks will see for the file behind one of the caller's fds.
 * fget_raw(): the daemon opens what it watches with O_PATH, so that it
 * needs no read permission and reads nothing.
 */
static int ioc_fd_key(void __user *uarg)
{
	struct exfilmon_ioc_fd_key a;
	int err = arg_in(&a, sizeof(a), uarg);
	struct file *f;

	if (err)
		return err;
	if (a.fk.pad)
		return -EINVAL;
	f = fget_raw(a.fk.fd);
	if (!f)
		return -EBADF;
	exfilmon_inode_key(file_inode(f), &a.fk.key);
	fput(f);
	return arg_out(uarg, &a, sizeof(a));
}

static int ioc_stats(void __user *uarg)
{
	struct exfilmon_ioc_stats a;
	int err = arg_in(&a, sizeof(a), uarg);

	if (err)
		return err;
	exfilmon_stats_read(a.stats);
	return arg_out(uarg, &a, sizeof(a));
}

/*
 * Lower (or restore) the effective bounds. The module parameters sized the
 * memory at load; a bound above them cannot be honoured and is refused
 * rather than silently cut, so the daemon can say so.
 */
static int ioc_set_limits(void __user *uarg)
{
	struct exfilmon_ioc_limits a;
	u32 want[EXFILMON_TABLES];
	unsigned int i;
	int err;

	err = arg_in(&a, sizeof(a), uarg);
	if (err)
		return err;
	want[EXFILMON_TABLE_PROCS] = a.max_procs;
	want[EXFILMON_TABLE_READS] = a.max_reads;
	want[EXFILMON_TABLE_SENDS] = a.max_sends;
	want[EXFILMON_TABLE_WATCHED] = a.max_watch;
	want[EXFILMON_TABLE_STREAMS] = a.max_streams;
	want[EXFILMON_TABLE_FLOWS] = a.max_flows;
	want[EXFILMON_TABLE_BLOCKS] = a.max_sends;
	for (i = EXFILMON_TABLE_FIRST; i < EXFILMON_TABLES; i++)
		if (want[i] > exfilmon_tables[i].size)
			return -EINVAL;
	for (i = EXFILMON_TABLE_FIRST; i < EXFILMON_TABLES; i++) {
		if (!want[i])
			continue;
		spin_lock(&exfilmon_tables[i].lock);
		exfilmon_tables[i].limit = want[i];
		spin_unlock(&exfilmon_tables[i].lock);
	}
	return 0;
}

static int ioc_proc_get(void __user *uarg)
{
	struct exfilmon_table *t = exfilmon_procs;
	struct exfilmon_proc_entry *e;
	struct exfilmon_ioc_proc a;
	int err = arg_in(&a, sizeof(a), uarg);

	if (err)
		return err;
	if (a.key.pad)
		return -EINVAL;
	spin_lock(&t->lock);
	e = exfilmon_table_lookup(t, &a.key);
	if (e)
		a.proc = e->val;
	spin_unlock(&t->lock);
	if (!e)
		return -ENOENT;
	return arg_out(uarg, &a, sizeof(a));
}

/* The process's entry only: its counters go with TABLE_DELETE. */
static int ioc_proc_forget(void __user *uarg)
{
	struct exfilmon_table *t = exfilmon_procs;
	struct exfilmon_ioc_proc a;
	int err = arg_in(&a, sizeof(a), uarg);

	if (err)
		return err;
	if (a.key.pad)
		return -EINVAL;
	spin_lock(&t->lock);
	err = exfilmon_table_delete(t, &a.key);
	spin_unlock(&t->lock);
	return err;
}

/*
 * Copy up to a->count entries from *cursor out to the user's array,
 * through a bounce buffer: user memory may fault, so it is never touched
 * with a table's lock held. Slots are scanned in bounded steps so the
 * hooks never wait long for the lock.
 */
static int table_read(struct exfilmon_table *t, struct exfilmon_ioc_table *a)
{
	u8 __user *ubuf = u64_to_user_ptr(a->buf);
	u32 want = min_t(u32, a->count, EXFILMON_TABLE_BATCH);
	u32 cursor = min_t(u64, a->cursor, t->size);
	u32 done = 0, n;
	void *bounce;
	int err = 0;

	bounce = kmalloc_array(TABLE_CHUNK, t->entry_size, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	while (done < want && cursor < t->size) {
		spin_lock(&t->lock);
		n = exfilmon_table_copy(t, &cursor, bounce,
					min_t(u32, want - done, TABLE_CHUNK),
					TABLE_SCAN);
		spin_unlock(&t->lock);
		if (copy_to_user(ubuf + (size_t)done * t->entry_size, bounce,
				 (size_t)n * t->entry_size)) {
			err = -EFAULT;
			break;
		}
		done += n;
		cond_resched();
	}
	kfree(bounce);
	a->count = done;
	a->cursor = cursor;
	return err;
}

/* What table_keys() does with each key. */
enum key_op {
	KEY_DELETE,	/* delete it; absent keys are skipped */
	KEY_LOOKUP,	/* fill in its value, or zero it when absent */
};

static void key_apply(struct exfilmon_table *t, u8 *e, enum key_op op)
{
	u32 vsize = t->entry_size - t->key_size;
	const u8 *found;

	if (op == KEY_DELETE) {
		exfilmon_table_delete(t, e);
		return;
	}
	found = exfilmon_table_lookup(t, e);
	if (found)
		memcpy(e + t->key_size, found + t->key_size, vsize);
	else
		memset(e + t->key_size, 0, vsize);
}

/*
 * Apply op to the a->count keys (in entry layout) at a->buf, a chunk at a
 * time through a bounce buffer, as table_read() does. KEY_DELETE takes
 * any count: the daemon deletes all it collected in one call. KEY_LOOKUP
 * copies each chunk back: the daemon re-reads the counters whose
 * operations were not announced (docs/design.md "Coalescing"); a fault
 * leaves the chunks before it filled in.
 */
static int table_keys(struct exfilmon_table *t,
		      const struct exfilmon_ioc_table *a, enum key_op op)
{
	u8 __user *ubuf = u64_to_user_ptr(a->buf);
	u32 done = 0, n, i;
	void *bounce;
	int err = 0;

	bounce = kmalloc_array(TABLE_CHUNK, t->entry_size, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	while (done < a->count) {
		size_t off = (size_t)done * t->entry_size;

		n = min_t(u32, a->count - done, TABLE_CHUNK);
		if (copy_from_user(bounce, ubuf + off,
				   (size_t)n * t->entry_size)) {
			err = -EFAULT;
			break;
		}
		spin_lock(&t->lock);
		for (i = 0; i < n; i++)
			key_apply(t, bounce + (size_t)i * t->entry_size, op);
		spin_unlock(&t->lock);
		if (op == KEY_LOOKUP &&
		    copy_to_user(ubuf + off, bounce,
				 (size_t)n * t->entry_size)) {
			err = -EFAULT;
			break;
		}
		done += n;
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		cond_resched();
	}
	kfree(bounce);
	return err;
}

/* The tables of counters (struct exfilmon_count values) */
static bool table_has_counts(u32 table)
{
	return table == EXFILMON_TABLE_READS ||
	       table == EXFILMON_TABLE_SENDS ||
	       table == EXFILMON_TABLE_FLOWS;
}

static int ioc_table(unsigned int cmd, void __user *uarg)
{
	struct exfilmon_ioc_table a;
	int err = arg_in(&a, sizeof(a), uarg);

	if (err)
		return err;
	if (a.table < EXFILMON_TABLE_FIRST || a.table >= EXFILMON_TABLES)
		return -EINVAL;
	if (cmd == EXFILMON_IOC_TABLE_DELETE)
		return table_keys(&exfilmon_tables[a.table], &a, KEY_DELETE);
	if (cmd == EXFILMON_IOC_TABLE_LOOKUP) {
		if (!table_has_counts(a.table) || !a.count ||
		    a.count > EXFILMON_TABLE_BATCH_MAX)
			return -EINVAL;
		return table_keys(&exfilmon_tables[a.table], &a, KEY_LOOKUP);
	}
	/* count 0 on the way out means the end: it cannot be asked for */
	if (!a.count)
		return -EINVAL;
	err = table_read(&exfilmon_tables[a.table], &a);
	if (err)
		return err;
	return arg_out(uarg, &a, sizeof(a));
}

/* Prevent mode's policy, whole (docs/prevent.md) */
static int ioc_policy(void __user *uarg)
{
	struct exfilmon_ioc_policy a;

	/* arg_in()'s checks, with the one flag this argument has */
	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.size != sizeof(a) || (a.flags & ~EXFILMON_POLICY_ALLOW_CLEAR))
		return -EINVAL;
	return exfilmon_prevent_set_policy(&a);
}

static int ioc_allow(unsigned int cmd, void __user *uarg)
{
	struct exfilmon_ioc_allow a;
	int err = arg_in(&a, sizeof(a), uarg);

	if (err)
		return err;
	return exfilmon_prevent_allow(&a, cmd == EXFILMON_IOC_ALLOW_ADD);
}

static long exfilmon_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case EXFILMON_IOC_VERSION:
		return ioc_version(uarg);
	case EXFILMON_IOC_WATCH_ADD:
		return ioc_watch_add(uarg);
	case EXFILMON_IOC_WATCH_RM:
		return ioc_watch_rm(uarg);
	case EXFILMON_IOC_WATCH_RM_ID:
		return ioc_watch_rm_id(uarg);
	case EXFILMON_IOC_FD_KEY:
		return ioc_fd_key(uarg);
	case EXFILMON_IOC_STATS:
		return ioc_stats(uarg);
	case EXFILMON_IOC_SET_LIMITS:
		return ioc_set_limits(uarg);
	case EXFILMON_IOC_PROC_GET:
		return ioc_proc_get(uarg);
	case EXFILMON_IOC_PROC_FORGET:
		return ioc_proc_forget(uarg);
	case EXFILMON_IOC_TABLE_READ:
	case EXFILMON_IOC_TABLE_DELETE:
	case EXFILMON_IOC_TABLE_LOOKUP:
		return ioc_table(cmd, uarg);
	case EXFILMON_IOC_POLICY:
		return ioc_policy(uarg);
	case EXFILMON_IOC_ALLOW_ADD:
	case EXFILMON_IOC_ALLOW_RM:
		return ioc_allow(cmd, uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations exfilmon_fops = {
	.owner		= THIS_MODULE,
	.open		= exfilmon_open,
	.release	= exfilmon_release,
	.read		= exfilmon_read,
	.poll		= exfilmon_poll,
	.unlocked_ioctl	= exfilmon_ioctl,
	/* the arguments are fixed-width and the same for 32-bit callers */
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice exfilmon_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "exfilmon",
	.fops	= &exfilmon_fops,
	.mode	= 0600,
};

int exfilmon_chardev_init(void)
{
	return misc_register(&exfilmon_misc);
}

void exfilmon_chardev_exit(void)
{
	misc_deregister(&exfilmon_misc);
}
