// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilmon's hooks: probes on the raw sys_exit tracepoint (every read,
 * write and send path the eBPF sensor hooks, dispatched by syscall
 * number), on sys_enter for the write family (taint into streams), on
 * io_uring_complete for the same paths through a ring, on the sched
 * tracepoints for fork, exec and exit, and on inet_sock_set_state for
 * prevent mode's marks.
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
#include <linux/io_uring_types.h>
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
	struct file *f;

	if (ret <= 0)
		return;
	f = fget_raw(fd);
	if (!f)
		return;
	exfilmon_read_file(op, f, ret);
	/*
	 * Only the last reference if the fd was closed meanwhile; a last
	 * fput() defers the release to task work, which is safe here.
	 */
	fput(f);
}

/*
 * A receive is only ever a read of a stream (a socket is never watched
 * data), so while no stream holds taint it costs nothing more.
 */
static void on_recv(u32 op, unsigned int fd, long ret)
{
	if (!exfilmon_table_empty(exfilmon_streams))
		on_read(op, fd, ret);
}

/*
 * The file behind fd, with a reference, if the current process is
 * tracked. The hot path: a process that never touched watched data stops
 * at the table check, before any reference is taken.
 */
static struct file *tracked_fget(unsigned int fd)
{
	struct exfilmon_pkey pkey;

	exfilmon_task_pkey(current, &pkey);
	if (!exfilmon_table_maybe_has(exfilmon_procs, &pkey))
		return NULL;
	return fget_raw(fd);
}

/*
 * A write of n bytes on fd (asked for at entry, moved at exit, as when
 * says); uaddr is the caller's sockaddr, if any.
 */
static void on_write(u32 op, unsigned int fd, u64 n, const void __user *uaddr,
		     u32 ulen, u32 when)
{
	struct file *f;

	if (!n)
		return;
	f = tracked_fget(fd);
	if (!f)
		return;
	exfilmon_write_file(op, f, n, uaddr, ulen, when);
	fput(f);
}

/* At exit: ret bytes were written to fd. */
static void on_write_exit(u32 op, unsigned int fd, long ret,
			  const void __user *uaddr, u32 ulen)
{
	if (ret > 0)
		on_write(op, fd, ret, uaddr, ulen, EXFILMON_XFER_EXACT);
}

/* sendmsg(fd, msg, flags) at exit */
static void on_sendmsg_exit(unsigned int fd,
			    const struct user_msghdr __user *umsg, long ret)
{
	struct user_msghdr msg;

	if (ret <= 0)
		return;
	if (copy_from_user_nofault(&msg, umsg, sizeof(msg)))
		memset(&msg, 0, sizeof(msg));
	on_write_exit(EXFILMON_OP_SENDMSG, fd, ret, msg.msg_name,
		      msg.msg_namelen);
}

/*
 * sendmmsg(fd, vec, vlen, flags) returns how many messages went; the
 * kernel has written each one's byte count into vec[i].msg_len. Each
 * message is a send of its own, with its own address.
 */
static void on_sendmmsg_exit(unsigned int fd,
			     const struct mmsghdr __user *vec, long ret)
{
	struct file *f;
	long i;

	if (ret <= 0)
		return;
	f = tracked_fget(fd);
	if (!f)
		return;
	for (i = 0; i < min_t(long, ret, UIO_MAXIOV); i++) {
		struct mmsghdr m;

		if (copy_from_user_nofault(&m, &vec[i], sizeof(m)))
			break;
		if (m.msg_len)
			exfilmon_write_file(EXFILMON_OP_SENDMMSG, f, m.msg_len,
					    m.msg_hdr.msg_name,
					    m.msg_hdr.msg_namelen,
					    EXFILMON_XFER_EXACT);
	}
	fput(f);
}

/*
 * recvmmsg(fd, vec, vlen, flags, timeout) returns how many messages came;
 * the kernel has written each one's byte count into vec[i].msg_len. Each
 * is a read of its own, as on the eBPF sensor.
 */
static void on_recvmmsg(unsigned int fd, const struct mmsghdr __user *vec,
			long ret)
{
	unsigned int len;
	struct file *f;
	long i;

	if (ret <= 0 || exfilmon_table_empty(exfilmon_streams))
		return;
	f = fget_raw(fd);
	if (!f)
		return;
	for (i = 0; i < min_t(long, ret, UIO_MAXIOV); i++) {
		if (copy_from_user_nofault(&len, &vec[i].msg_len, sizeof(len)))
			break;
		if (len)
			exfilmon_read_file(EXFILMON_OP_RECVMMSG, f, len);
	}
	fput(f);
}

/*
 * mmap(addr, len, prot, flags, fd, off): once mapped, the pages can be read
 * with no further syscall, so the mapped length of the file (up to its end)
 * counts as read, whatever the protection: PROT_NONE or write-only maps can
 * be made readable later with mprotect() without another mmap(). For the
 * same reason a shared writable mapping by a tracked process is a write of
 * its length into the file (chan SHM): the stores that follow are not seen.
 */
static void on_mmap(const unsigned long *args, long ret)
{
	unsigned long type = args[3] & MAP_TYPE;
	struct exfilmon_pkey pkey;
	u64 len, off, size;
	struct file *f;

	if (ret < 0 || (args[3] & MAP_ANONYMOUS))
		return;
	f = fget_raw((unsigned int)args[4]);
	if (!f)
		return;
	if (!S_ISREG(file_inode(f)->i_mode))
		goto out_put;
	len = args[1];
	off = args[5];
	size = i_size_read(file_inode(f));
	if (off >= size)
		goto out_put;
	if (len > size - off)
		len = size - off;
	exfilmon_read_file(EXFILMON_OP_MMAP, f, len);
	if ((type != MAP_SHARED && type != MAP_SHARED_VALIDATE) ||
	    !(args[2] & PROT_WRITE))
		goto out_put;
	exfilmon_task_pkey(current, &pkey);
	if (exfilmon_table_maybe_has(exfilmon_procs, &pkey))
		exfilmon_carry_file(&pkey, f, EXFILMON_CHAN_SHM,
				    EXFILMON_OP_MMAP_SHARED, len);
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
	[__NR_recvfrom]		= EXFILMON_OP_RECVFROM,
	[__NR_recvmsg]		= EXFILMON_OP_RECVMSG,
	[__NR_recvmmsg]		= EXFILMON_OP_RECVMMSG,
	[__NR_copy_file_range]	= EXFILMON_OP_COPY_FILE_RANGE,
	[__NR_mmap]		= EXFILMON_OP_MMAP,
	[__NR_sendfile]		= EXFILMON_OP_SENDFILE,
	[__NR_splice]		= EXFILMON_OP_SPLICE,
	[__NR_write]		= EXFILMON_OP_WRITE,
	/* as the eBPF sensor: the positioned writes count as writev() */
	[__NR_writev]		= EXFILMON_OP_WRITEV,
	[__NR_pwrite64]		= EXFILMON_OP_WRITE,
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
	/* sendfile(out_fd, in_fd, offset, count): a read and a write */
	case EXFILMON_OP_SENDFILE:
		on_read(op, a[1], ret);
		on_write_exit(op, a[0], ret, NULL, 0);
		break;
	/* splice(fd_in, off_in, fd_out, off_out, len, flags) */
	case EXFILMON_OP_SPLICE:
	/* copy_file_range(fd_in, off_in, fd_out, off_out, len, flags) */
	case EXFILMON_OP_COPY_FILE_RANGE:
		on_read(op, a[0], ret);
		on_write_exit(op, a[2], ret, NULL, 0);
		break;
	case EXFILMON_OP_WRITE:
	case EXFILMON_OP_WRITEV:
		on_write_exit(op, a[0], ret, NULL, 0);
		break;
	/* sendto(fd, buf, len, flags, addr, addrlen) */
	case EXFILMON_OP_SENDTO:
		on_write_exit(op, a[0], ret, (const void __user *)a[4], a[5]);
		break;
	case EXFILMON_OP_SENDMSG:
		on_sendmsg_exit(a[0], (const struct user_msghdr __user *)a[1],
				ret);
		break;
	case EXFILMON_OP_SENDMMSG:
		on_sendmmsg_exit(a[0], (const struct mmsghdr __user *)a[1],
				 ret);
		break;
	case EXFILMON_OP_RECVFROM:
	case EXFILMON_OP_RECVMSG:
		on_recv(op, a[0], ret);
		break;
	case EXFILMON_OP_RECVMMSG:
		on_recvmmsg(a[0], (const struct mmsghdr __user *)a[1], ret);
		break;
	default:	/* the read family */
		on_read(op, a[0], ret);
		break;
	}
}

/* Bytes an iovec array asks to move; only tracked writers get here. */
static u64 iov_total(const struct iovec __user *iov, unsigned long cnt)
{
	struct iovec v;
	unsigned long i;
	u64 sum = 0;

	for (i = 0; i < min_t(unsigned long, cnt, UIO_MAXIOV); i++) {
		if (copy_from_user_nofault(&v, &iov[i], sizeof(v)))
			break;
		sum += v.iov_len;
	}
	return sum;
}

/* The write family, hooked at entry too: the op of each (0: not hooked). */
static const u8 syscall_enter_op[] = {
	[__NR_write]		= EXFILMON_OP_WRITE,
	[__NR_writev]		= EXFILMON_OP_WRITEV,
	[__NR_pwritev]		= EXFILMON_OP_WRITEV,
	[__NR_pwritev2]		= EXFILMON_OP_WRITEV,
	[__NR_sendto]		= EXFILMON_OP_SENDTO,
	[__NR_sendmsg]		= EXFILMON_OP_SENDMSG,
	[__NR_sendmmsg]		= EXFILMON_OP_SENDMMSG,
	[__NR_splice]		= EXFILMON_OP_SPLICE,
	[__NR_sendfile]		= EXFILMON_OP_SENDFILE,
};

/*
 * sendmmsg(fd, vec, vlen, flags) at entry: each message may name its own
 * peer. As on the eBPF sensor, each credits the whole remaining budget
 * rather than its iovecs summed (a reader still takes no more than it
 * reads, and the budget caps the rest).
 */
static void on_sendmmsg_enter(unsigned int fd,
			      const struct mmsghdr __user *vec,
			      unsigned long vlen)
{
	unsigned long i;

	for (i = 0; i < min_t(unsigned long, vlen, UIO_MAXIOV); i++) {
		void __user *name;
		int namelen;

		if (copy_from_user_nofault(&name, &vec[i].msg_hdr.msg_name,
					   sizeof(name)) ||
		    copy_from_user_nofault(&namelen,
					   &vec[i].msg_hdr.msg_namelen,
					   sizeof(namelen)))
			break;
		on_write(EXFILMON_OP_SENDMMSG, fd, U64_MAX, name, namelen,
			 EXFILMON_XFER_STREAM);
	}
}

/*
 * The entry of a write: taint a tracked process is about to put into a
 * pipe, socket or loopback flow, with the size asked for (see
 * EXFILMON_XFER_STREAM). An untracked process stops at the table check.
 */
static void probe_sys_enter(void *data, struct pt_regs *regs, long id)
{
	const struct user_msghdr __user *umsg;
	struct user_msghdr msg;
	struct exfilmon_pkey pkey;
	unsigned long a[6];
	u32 op;

	if (in_compat_syscall() || id < 0 || id >= ARRAY_SIZE(syscall_enter_op))
		return;
	op = syscall_enter_op[id];
	if (!op)
		return;
	exfilmon_task_pkey(current, &pkey);
	if (!exfilmon_table_maybe_has(exfilmon_procs, &pkey))
		return;
	syscall_get_arguments(current, regs, a);
	switch (op) {
	/* write(fd, buf, count) */
	case EXFILMON_OP_WRITE:
		on_write(op, a[0], a[2], NULL, 0, EXFILMON_XFER_STREAM);
		break;
	/* writev(fd, iov, cnt) and pwritev*(fd, iov, cnt, ...) */
	case EXFILMON_OP_WRITEV:
		on_write(op, a[0],
			 iov_total((const struct iovec __user *)a[1], a[2]),
			 NULL, 0, EXFILMON_XFER_STREAM);
		break;
	/* sendto(fd, buf, len, flags, addr, addrlen) */
	case EXFILMON_OP_SENDTO:
		on_write(op, a[0], a[2], (const void __user *)a[4], a[5],
			 EXFILMON_XFER_STREAM);
		break;
	/* sendmsg(fd, msg, flags) */
	case EXFILMON_OP_SENDMSG:
		umsg = (const struct user_msghdr __user *)a[1];
		if (copy_from_user_nofault(&msg, umsg, sizeof(msg)))
			break;
		on_write(op, a[0], iov_total(msg.msg_iov, msg.msg_iovlen),
			 msg.msg_name, msg.msg_namelen, EXFILMON_XFER_STREAM);
		break;
	case EXFILMON_OP_SENDMMSG:
		on_sendmmsg_enter(a[0], (const struct mmsghdr __user *)a[1],
				  a[2]);
		break;
	/* splice(fd_in, off_in, fd_out, off_out, len, flags) */
	case EXFILMON_OP_SPLICE:
		on_write(op, a[2], a[4], NULL, 0, EXFILMON_XFER_STREAM);
		break;
	/* sendfile(out_fd, in_fd, offset, count) */
	case EXFILMON_OP_SENDFILE:
		on_write(op, a[0], a[3], NULL, 0, EXFILMON_XFER_STREAM);
		break;
	}
}

/*
 * An io_uring request completed. Reads and sends submitted through a ring
 * never enter read() or sendmsg(), so they are counted here, with the
 * request's own file and result. Completions are posted by the submitting
 * process: its own threads, its io-wq workers or its SQPOLL thread, all
 * of its thread group, so current names it, as on the syscall path. The
 * one exception, a kworker finishing the requests of an exiting task, has
 * no mm and is skipped. The tracepoint's arguments are the same in 6.1 and
 * 6.12; struct io_kiocb (linux/io_uring_types.h) is the only place the
 * opcode and file are found, and those two fields have not moved since
 * the header appeared (6.0).
 */
static void probe_io_uring_complete(void *data, void *ctx, void *req,
				    u64 user_data, int res, unsigned int cflags,
				    u64 extra1, u64 extra2)
{
	struct io_kiocb *r = req;
	struct file *f;

	/* no request: an overflow or auxiliary completion */
	if (!r || res <= 0 || !in_task() || !current->mm)
		return;
	f = READ_ONCE(r->file);
	if (!f)
		return;
	switch (READ_ONCE(r->opcode)) {
	case IORING_OP_READV:
	case IORING_OP_READ_FIXED:
	case IORING_OP_READ:
	case IORING_OP_RECVMSG:
	case IORING_OP_RECV:
		exfilmon_read_file(EXFILMON_OP_IO_URING, f, res);
		break;
	case IORING_OP_WRITEV:
	case IORING_OP_WRITE_FIXED:
	case IORING_OP_WRITE:
	case IORING_OP_SENDMSG:
	case IORING_OP_SEND:
	case IORING_OP_SEND_ZC:
	case IORING_OP_SENDMSG_ZC: {
		struct exfilmon_pkey pkey;

		/*
		 * No entry hook here: a stream read before this completion
		 * runs is not tainted (docs/flow.md).
		 */
		exfilmon_task_pkey(current, &pkey);
		if (exfilmon_table_maybe_has(exfilmon_procs, &pkey))
			exfilmon_write_file(EXFILMON_OP_IO_URING, f, res,
					    NULL, 0, EXFILMON_XFER_STREAM |
					    EXFILMON_XFER_EXACT);
		break;
	}
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
 * of a tracked process is tracked from birth with its parent's taint (the
 * fork channel), so data read by a parent and sent by a child is still
 * counted.
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
				ce->val.watch_id = pe->val.watch_id;
				ce->val.taint = pe->val.taint;
				ce->val.flags = EXFILMON_PROC_INHERITED;
				ce->val.src_chan = EXFILMON_CHAN_FORK;
				ce->val.src = ppk;
				ce->val.src_bytes = pe->val.taint;
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
	char *exe;

	r = get_cpu_ptr(exec_scratch);
	memset(r, 0, sizeof(*r));
	exfilmon_task_pkey(p, &pkey);
	exfilmon_rec_hdr_fill(&r->hdr, EXFILMON_REC_EXEC, sizeof(*r),
			      ktime_get_boottime_ns(), &pkey);
	r->ppid = task_ppid(p);
	r->uid = __kuid_val(task_cred_xxx(p, uid));
	strscpy_pad(r->comm, p->comm, sizeof(r->comm));
	/*
	 * The file the kernel runs, not the name execve() was given (a
	 * symlink would choose the alert's name). d_path() takes no sleeping
	 * lock: rename_lock and mount_lock are seqlocks, and it runs under
	 * rcu_read_lock() itself.
	 */
	exe = d_path(&bprm->file->f_path, r->exe, sizeof(r->exe));
	if (IS_ERR(exe))
		strscpy_pad(r->exe, bprm->filename, sizeof(r->exe));
	else
		memmove(r->exe, exe, strlen(exe) + 1);
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

/*
 * A TCP socket changed state, or is destroyed: prevent mode's mark of a
 * refused socket lives as long as the socket (exfilmon_sock_state()).
 * Softirq too.
 */
static void probe_sock_state(void *data, const struct sock *sk,
			     const int oldstate, const int newstate)
{
	exfilmon_sock_state(sk, oldstate, newstate);
}

static void probe_sock_destroy(void *data, struct sock *sk)
{
	exfilmon_sock_unmark(sk);
}

struct hook {
	const char *name;
	void *probe;
	bool optional;		/* absent when its subsystem is not built */
	struct tracepoint *tp;
};

/* Registered in this order, unregistered in the reverse. */
static struct hook hooks[] = {
	{ .name = "sched_process_fork", .probe = probe_fork },
	{ .name = "sched_process_exec", .probe = probe_exec },
	{ .name = "sched_process_exit", .probe = probe_exit },
	{ .name = "io_uring_complete", .probe = probe_io_uring_complete,
	  .optional = true },
	{ .name = "sys_enter", .probe = probe_sys_enter },
	{ .name = "sys_exit", .probe = probe_sys_exit },
	{ .name = "inet_sock_set_state", .probe = probe_sock_state },
	{ .name = "tcp_destroy_sock", .probe = probe_sock_destroy },
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
		if (hooks[n].tp)
			tracepoint_probe_unregister(hooks[n].tp,
						    hooks[n].probe, NULL);
	/* no probe still runs, or will, once this returns */
	tracepoint_synchronize_unregister();
}

static int hooks_register(void)
{
	unsigned int i;
	int err;

	for_each_kernel_tracepoint(hook_find, NULL);
	for (i = 0; i < ARRAY_SIZE(hooks); i++) {
		if (!hooks[i].tp && hooks[i].optional) {
			pr_info("no tracepoint %s in this kernel: nothing to hook there\n",
				hooks[i].name);
			continue;
		}
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
	return err;
}

int exfilmon_hooks_init(void)
{
	int err;

	exec_scratch = alloc_percpu(struct exfilmon_rec_exec);
	if (!exec_scratch)
		return -ENOMEM;
	err = exfilmon_path_init();
	if (err)
		goto out_free_exec;
	exfilmon_net_init();
	err = hooks_register();
	if (err)
		goto out_free_path;
	return 0;

out_free_path:
	exfilmon_path_exit();
out_free_exec:
	free_percpu(exec_scratch);
	return err;
}

void exfilmon_hooks_exit(void)
{
	hooks_unregister(ARRAY_SIZE(hooks));
	exfilmon_path_exit();
	free_percpu(exec_scratch);
}
