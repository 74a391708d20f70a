// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilmon's hooks: probes on the raw sys_exit tracepoint (every read path
 * and send path the eBPF sensor hooks, dispatched by syscall number) and on
 * the sched tracepoints for fork, exec and exit.
 *
 * Probes run with preemption disabled: they never sleep or allocate, read
 * user memory only with copy_from_user_nofault(), and take the tables'
 * spinlocks for a few lookups at a time.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/binfmts.h>
#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mman.h>
#include <linux/percpu.h>
#include <linux/sched/signal.h>
#include <linux/socket.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <asm/syscall.h>
#include <asm/unistd.h>
#include "exfilmon.h"

/* An exec record is too big for the stack of a tracepoint probe. */
static struct exfilmon_rec_exec __percpu *exec_scratch;

/* A read of ret bytes on fd; the kernel takes fds as 32-bit ints. */
static void on_read(u32 op, unsigned int fd, long ret)
{
	struct exfilmon_file_key key;
	struct exfilmon_watch w;
	struct file *f;

	if (ret <= 0)
		return;
	f = fget_raw(fd);
	if (!f)
		return;
	if (exfilmon_file_watch(f, &key, &w))
		exfilmon_account_read(op, &key, w.watch_id, ret);
	/*
	 * Only the last reference if the fd was closed meanwhile; a last
	 * fput() defers the release to task work, which is safe here.
	 */
	fput(f);
}

/*
 * The inet socket behind fd of the current process, with a reference on
 * its file (*filep), if the process is tracked. The hot path: a process
 * that never touched watched data stops at the table check, before any
 * reference is taken.
 */
static struct sock *tracked_send_sock(unsigned int fd, struct file **filep,
				      struct exfilmon_pkey *pkey)
{
	struct file *f;
	struct sock *sk;

	exfilmon_task_pkey(current, pkey);
	if (!exfilmon_table_maybe_has(exfilmon_procs, pkey))
		return NULL;
	f = fget_raw(fd);
	if (!f)
		return NULL;
	sk = exfilmon_file_inet_sock(f);
	if (!sk) {
		fput(f);
		return NULL;
	}
	*filep = f;
	return sk;
}

/* A send of ret bytes on fd; uaddr is the caller's sockaddr, if any. */
static void on_send(u32 op, unsigned int fd, long ret,
		    const void __user *uaddr, u32 ulen)
{
	struct exfilmon_dest dest = {};
	struct exfilmon_pkey pkey;
	struct file *f;
	struct sock *sk;

	if (ret <= 0)
		return;
	sk = tracked_send_sock(fd, &f, &pkey);
	if (!sk)
		return;
	exfilmon_dest_of_send(sk, uaddr, ulen, &dest);
	exfilmon_account_send(op, &pkey, &dest, ret);
	fput(f);
}

/* sendmsg(fd, msg, flags) */
static void on_sendmsg(unsigned int fd, const struct user_msghdr __user *umsg,
		       long ret)
{
	struct user_msghdr msg;

	if (ret <= 0)
		return;
	if (copy_from_user_nofault(&msg, umsg, sizeof(msg)))
		memset(&msg, 0, sizeof(msg));
	on_send(EXFILMON_OP_SENDMSG, fd, ret, msg.msg_name, msg.msg_namelen);
}

/*
 * sendmmsg(fd, vec, vlen, flags) returns how many messages went; the
 * kernel has written each one's byte count into vec[i].msg_len.
 */
static void on_sendmmsg(unsigned int fd, const struct mmsghdr __user *vec,
			long ret)
{
	struct exfilmon_pkey pkey;
	struct file *f;
	struct sock *sk;
	long i;

	if (ret <= 0)
		return;
	sk = tracked_send_sock(fd, &f, &pkey);
	if (!sk)
		return;
	for (i = 0; i < min_t(long, ret, UIO_MAXIOV); i++) {
		struct exfilmon_dest dest = {};
		struct mmsghdr m;

		if (copy_from_user_nofault(&m, &vec[i], sizeof(m)))
			break;
		if (!m.msg_len)
			continue;
		exfilmon_dest_of_send(sk, m.msg_hdr.msg_name,
				      m.msg_hdr.msg_namelen, &dest);
		exfilmon_account_send(EXFILMON_OP_SENDMMSG, &pkey, &dest,
				      m.msg_len);
	}
	fput(f);
}

/*
 * mmap(addr, len, prot, flags, fd, off): once mapped, the pages can be read
 * with no further syscall, so the mapped length of the file (up to its end)
 * counts as read, whatever the protection: PROT_NONE or write-only maps can
 * be made readable later with mprotect() without another mmap().
 */
static void on_mmap(const unsigned long *args, long ret)
{
	struct exfilmon_file_key key;
	struct exfilmon_watch w;
	u64 len, off, size;
	struct file *f;

	if (ret < 0 || (args[3] & MAP_ANONYMOUS))
		return;
	f = fget_raw((unsigned int)args[4]);
	if (!f)
		return;
	if (!exfilmon_file_watch(f, &key, &w))
		goto out_put;
	len = args[1];
	off = args[5];
	size = i_size_read(file_inode(f));
	if (off >= size)
		goto out_put;
	if (len > size - off)
		len = size - off;
	exfilmon_account_read(EXFILMON_OP_MMAP, &key, w.watch_id, len);
out_put:
	fput(f);
}

/* The syscalls the sensor hooks, by number: the op their records carry. */
static const u8 syscall_op[] = {
	[__NR_read]		= EXFILMON_OP_READ,
	[__NR_pread64]		= EXFILMON_OP_PREAD64,
	[__NR_readv]		= EXFILMON_OP_READV,
	[__NR_preadv]		= EXFILMON_OP_PREADV,
	[__NR_preadv2]		= EXFILMON_OP_PREADV2,
	[__NR_copy_file_range]	= EXFILMON_OP_COPY_FILE_RANGE,
	[__NR_mmap]		= EXFILMON_OP_MMAP,
	[__NR_sendfile]		= EXFILMON_OP_SENDFILE,
	[__NR_splice]		= EXFILMON_OP_SPLICE,
	[__NR_write]		= EXFILMON_OP_WRITE,
	/* pwritev*() with offset -1 write to a socket like writev() */
	[__NR_writev]		= EXFILMON_OP_WRITEV,
	[__NR_pwritev]		= EXFILMON_OP_WRITEV,
	[__NR_pwritev2]		= EXFILMON_OP_WRITEV,
	[__NR_sendto]		= EXFILMON_OP_SENDTO,
	[__NR_sendmsg]		= EXFILMON_OP_SENDMSG,
	[__NR_sendmmsg]		= EXFILMON_OP_SENDMMSG,
};

/*
 * Every syscall's exit. The return value is the byte count the kernel
 * really moved; the arguments are read back from the registers the entry
 * code saved, as the eBPF sensor does, so nothing is stashed at entry.
 */
static void probe_sys_exit(void *data, struct pt_regs *regs, long ret)
{
	unsigned long a[6];
	unsigned int nr;
	u32 op;

	/*
	 * 32-bit syscalls have other numbers and argument registers. The
	 * syscall trace events the eBPF sensor attaches to skip them too
	 * (a known gap, docs/design.md); both sensors see the same.
	 */
	if (in_compat_syscall())
		return;
	nr = syscall_get_nr(current, regs);
	if (nr >= ARRAY_SIZE(syscall_op) || !syscall_op[nr])
		return;
	op = syscall_op[nr];
	syscall_get_arguments(current, regs, a);
	switch (op) {
	case EXFILMON_OP_MMAP:
		on_mmap(a, ret);
		break;
	/* sendfile(out_fd, in_fd, offset, count): a read and maybe a send */
	case EXFILMON_OP_SENDFILE:
		on_read(op, a[1], ret);
		on_send(op, a[0], ret, NULL, 0);
		break;
	/* splice(fd_in, off_in, fd_out, off_out, len, flags) */
	case EXFILMON_OP_SPLICE:
		on_read(op, a[0], ret);
		on_send(op, a[2], ret, NULL, 0);
		break;
	case EXFILMON_OP_WRITE:
	case EXFILMON_OP_WRITEV:
		on_send(op, a[0], ret, NULL, 0);
		break;
	/* sendto(fd, buf, len, flags, addr, addrlen) */
	case EXFILMON_OP_SENDTO:
		on_send(op, a[0], ret, (const void __user *)a[4], a[5]);
		break;
	case EXFILMON_OP_SENDMSG:
		on_sendmsg(a[0], (const struct user_msghdr __user *)a[1], ret);
		break;
	case EXFILMON_OP_SENDMMSG:
		on_sendmmsg(a[0], (const struct mmsghdr __user *)a[1], ret);
		break;
	default:	/* the read family, and copy_file_range's source */
		on_read(op, a[0], ret);
		break;
	}
}

static u32 task_ppid(struct task_struct *p)
{
	u32 ppid;

	rcu_read_lock();
	ppid = rcu_dereference(p->real_parent)->tgid;
	rcu_read_unlock();
	return ppid;
}

/*
 * A new process. Threads (same tgid) share their process's entry. A child
 * of a tracked process is tracked from birth, carrying its parent's taint,
 * so data read by a parent and sent by a child is still counted.
 */
static void probe_fork(void *data, struct task_struct *parent,
		       struct task_struct *child)
{
	struct exfilmon_proc_entry *pe, *ce;
	struct exfilmon_rec_fork r = {};
	struct exfilmon_pkey ppk, cpk;
	bool full = false;
	u64 now;

	if (child->tgid == parent->tgid)
		return;
	now = ktime_get_boottime_ns();
	exfilmon_task_pkey(parent, &ppk);
	exfilmon_task_pkey(child, &cpk);
	if (exfilmon_table_maybe_has(exfilmon_procs, &ppk)) {
		spin_lock(&exfilmon_procs->lock);
		pe = exfilmon_table_lookup(exfilmon_procs, &ppk);
		if (pe && !exfilmon_table_lookup(exfilmon_procs, &cpk)) {
			ce = exfilmon_table_insert(exfilmon_procs, &cpk);
			if (ce) {
				ce->val.origin = pe->val.origin;
				ce->val.bytes_inherited = pe->val.bytes_read +
							  pe->val.bytes_inherited;
				ce->val.flags = EXFILMON_PROC_INHERITED;
				ce->val.ppid = ppk.tgid;
				ce->val.first_ns = now;
				ce->val.last_ns = now;
			} else {
				full = true;
			}
		}
		spin_unlock(&exfilmon_procs->lock);
		if (full)
			exfilmon_stat_add(EXFILMON_STAT_PROC_FULL, 1);
	}

	exfilmon_rec_hdr_fill(&r.hdr, EXFILMON_REC_FORK, sizeof(r), now, &cpk);
	r.parent = ppk;
	r.uid = __kuid_val(task_cred_xxx(child, uid));
	strscpy_pad(r.comm, child->comm, sizeof(r.comm));
	exfilmon_emit(&r, sizeof(r));
}

/* exec keeps the process (and its taint); the record names the new image */
static void probe_exec(void *data, struct task_struct *p, pid_t old_pid,
		       struct linux_binprm *bprm)
{
	struct exfilmon_rec_exec *r;
	struct exfilmon_pkey pkey;
	unsigned long start, end, len;

	r = get_cpu_ptr(exec_scratch);
	memset(r, 0, sizeof(*r));
	exfilmon_task_pkey(p, &pkey);
	exfilmon_rec_hdr_fill(&r->hdr, EXFILMON_REC_EXEC, sizeof(*r),
			      ktime_get_boottime_ns(), &pkey);
	r->ppid = task_ppid(p);
	r->uid = __kuid_val(task_cred_xxx(p, uid));
	strscpy_pad(r->comm, p->comm, sizeof(r->comm));
	strscpy_pad(r->exe, bprm->filename, sizeof(r->exe));
	/* p is current here: its new argv is in its own user memory */
	if (p->mm) {
		start = p->mm->arg_start;
		end = p->mm->arg_end;
		len = min_t(unsigned long, end > start ? end - start : 0,
			    sizeof(r->args));
		if (len && !copy_from_user_nofault(r->args,
						   (const void __user *)start,
						   len))
			r->args_len = len;
		else
			memset(r->args, 0, sizeof(r->args));
	}
	exfilmon_emit(r, sizeof(*r));
	put_cpu_ptr(exec_scratch);
}

/*
 * The last thread of a process exits (do_exit() has already dropped
 * signal->live to zero for it). The entry is only marked exited: the
 * daemon deletes it once it has read the final counters, so a full ring
 * at exit time loses nothing.
 *
 * Since 6.16 the tracepoint also passes group_dead; a probe that ignores
 * trailing arguments is called correctly on every architecture the kernel
 * calls C with (arguments in registers, caller cleans up).
 */
static void probe_exit(void *data, struct task_struct *p)
{
	struct exfilmon_rec_exit r = {};
	struct exfilmon_proc_entry *pe;
	struct exfilmon_pkey pkey;

	if (atomic_read(&p->signal->live))
		return;
	exfilmon_task_pkey(p, &pkey);
	if (exfilmon_table_maybe_has(exfilmon_procs, &pkey)) {
		spin_lock(&exfilmon_procs->lock);
		pe = exfilmon_table_lookup(exfilmon_procs, &pkey);
		if (pe) {
			pe->val.flags |= EXFILMON_PROC_EXITED;
			r.tracked = 1;
			r.proc = pe->val;
		}
		spin_unlock(&exfilmon_procs->lock);
	}
	exfilmon_rec_hdr_fill(&r.hdr, EXFILMON_REC_EXIT, sizeof(r),
			      ktime_get_boottime_ns(), &pkey);
	r.exit_code = p->exit_code;
	exfilmon_emit(&r, sizeof(r));
}

struct hook {
	const char *name;
	void *probe;
	struct tracepoint *tp;
};

/* Registered in this order, unregistered in the reverse. */
static struct hook hooks[] = {
	{ .name = "sched_process_fork", .probe = probe_fork },
	{ .name = "sched_process_exec", .probe = probe_exec },
	{ .name = "sched_process_exit", .probe = probe_exit },
	{ .name = "sys_exit", .probe = probe_sys_exit },
};

/* The tracepoints' own symbols are not exported; find them by name. */
static void hook_find(struct tracepoint *tp, void *priv)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hooks); i++)
		if (!strcmp(tp->name, hooks[i].name))
			hooks[i].tp = tp;
}

static void hooks_unregister(unsigned int n)
{
	while (n--)
		tracepoint_probe_unregister(hooks[n].tp, hooks[n].probe, NULL);
	/* no probe still runs, or will, once this returns */
	tracepoint_synchronize_unregister();
}

int exfilmon_hooks_init(void)
{
	unsigned int i;
	int err;

	exec_scratch = alloc_percpu(struct exfilmon_rec_exec);
	if (!exec_scratch)
		return -ENOMEM;
	for_each_kernel_tracepoint(hook_find, NULL);
	for (i = 0; i < ARRAY_SIZE(hooks); i++) {
		if (!hooks[i].tp) {
			pr_err("failed to find tracepoint %s: not in this kernel\n",
			       hooks[i].name);
			err = -ENOENT;
			goto out_unregister;
		}
		err = tracepoint_probe_register(hooks[i].tp, hooks[i].probe,
						NULL);
		if (err) {
			pr_err("failed to register a probe on tracepoint %s: %d\n",
			       hooks[i].name, err);
			goto out_unregister;
		}
	}
	return 0;

out_unregister:
	hooks_unregister(i);
	free_percpu(exec_scratch);
	return err;
}

void exfilmon_hooks_exit(void)
{
	hooks_unregister(ARRAY_SIZE(hooks));
	free_percpu(exec_scratch);
}
