// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilmon eBPF sensor: counts the bytes processes actually read from
 * watched files and the bytes tracked processes actually send, per
 * destination, and follows processes through fork, exec and exit.
 *
 * Only tracepoints are used: syscall exit tracepoints (the return value is
 * the byte count the kernel really moved) and BTF-typed sched tracepoints.
 * Locked-down kernels refuse fentry/fexit and LSM programs and may lack
 * kprobes; tracepoints are a stable ABI that works under all of them.
 * Minimum kernel: 6.1 (bpf_task_pt_regs 5.15, bpf_loop 5.17, tp_btf 5.5).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "exfilmon_abi.h"

EXFILMON_ABI_ASSERTS;

#include "maps.h"
#include "task.h"
#include "account.h"
#include "net.h"

#define MAP_ANONYMOUS	0x20
#define UIO_MAXIOV	1024

char LICENSE[] SEC("license") = "GPL";

/* the process whose fds iter_fd_keys reports (set by the loader) */
__u32 iter_tgid;

/* Userspace checks this against its own EXFILMON_ABI_MAJOR. */
const volatile __u32 abi_version = EXFILMON_ABI_MAJOR << 16 | EXFILMON_ABI_MINOR;

/*
 * The watch entry covering f: f's own inode, or, for a regular file, the
 * directory holding it (so files created in a watched directory later are
 * covered without the daemon having to see them appear). A file first
 * matched through its directory is then watched by its own inode too, so a
 * hard link or a rename out of the directory does not shed the watch.
 */
static __always_inline struct exfilmon_watch *
file_watch(struct file *f, struct exfilmon_file_key *key)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	struct exfilmon_file_key dir;
	struct exfilmon_watch *w;

	/* pipes, sockets and ttys are never watched data: stop here */
	if ((BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFREG)
		return NULL;
	inode_key(inode, key);
	w = bpf_map_lookup_elem(&watched, key);
	if (w)
		return w;
	inode_key(BPF_CORE_READ(f, f_path.dentry, d_parent, d_inode), &dir);
	w = bpf_map_lookup_elem(&watched, &dir);
	if (!w || !(w->flags & EXFILMON_WATCH_DIR))
		return NULL;
	{
		struct exfilmon_watch fw = {
			.flags = EXFILMON_WATCH_FILE | EXFILMON_WATCH_VIA_DIR,
			.watch_id = w->watch_id,
		};

		/* a full table only costs the hard-link protection */
		bpf_map_update_elem(&watched, key, &fw, BPF_NOEXIST);
	}
	return w;
}

static __always_inline void on_read(__u32 op, __u32 fd, long ret)
{
	struct exfilmon_file_key key;
	struct exfilmon_watch *w;
	struct file *f;

	if (ret <= 0)
		return;
	f = fd_file(fd);
	if (!f)
		return;
	w = file_watch(f, &key);
	if (w)
		account_read(op, &key, w, ret);
}

/* A send of ret bytes on fd; uaddr is the caller's sockaddr, if any. */
static __always_inline void on_send(__u32 op, __u32 fd, long ret,
				    const void *uaddr, __u32 ulen)
{
	struct exfilmon_pkey pkey;
	struct exfilmon_dest dest = {};
	struct exfilmon_proc *p;
	struct sock *sk;
	struct file *f;

	if (ret <= 0)
		return;
	/* the hot path: a process that never touched watched data stops at
	 * this one lookup */
	current_pkey(&pkey);
	p = bpf_map_lookup_elem(&procs, &pkey);
	if (!p)
		return;
	f = fd_file(fd);
	if (!f)
		return;
	sk = file_inet_sock(f);
	if (!sk)
		return;
	dest_of_send(sk, uaddr, ulen, &dest);
	account_send(op, p, &pkey, &dest, ret);
}

#define READ_TP(name, op)						\
SEC("tracepoint/syscalls/sys_exit_" #name)				\
int tp_exit_##name(struct trace_event_raw_sys_exit *ctx)		\
{									\
	on_read(op, SYSCALL_ARG1(syscall_regs()), ctx->ret);		\
	return 0;							\
}

READ_TP(read, EXFILMON_OP_READ)
READ_TP(pread64, EXFILMON_OP_PREAD64)
READ_TP(readv, EXFILMON_OP_READV)
READ_TP(preadv, EXFILMON_OP_PREADV)
READ_TP(preadv2, EXFILMON_OP_PREADV2)
READ_TP(copy_file_range, EXFILMON_OP_COPY_FILE_RANGE)

SEC("tracepoint/syscalls/sys_exit_write")
int tp_exit_write(struct trace_event_raw_sys_exit *ctx)
{
	on_send(EXFILMON_OP_WRITE, SYSCALL_ARG1(syscall_regs()), ctx->ret,
		NULL, 0);
	return 0;
}

#define WRITEV_TP(name)							\
SEC("tracepoint/syscalls/sys_exit_" #name)				\
int tp_exit_##name(struct trace_event_raw_sys_exit *ctx)		\
{									\
	on_send(EXFILMON_OP_WRITEV, SYSCALL_ARG1(syscall_regs()),	\
		ctx->ret, NULL, 0);					\
	return 0;							\
}

/* pwritev*() with offset -1 write to a socket like writev() */
WRITEV_TP(writev)
WRITEV_TP(pwritev)
WRITEV_TP(pwritev2)

/* sendto(fd, buf, len, flags, addr, addrlen) */
SEC("tracepoint/syscalls/sys_exit_sendto")
int tp_exit_sendto(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = syscall_regs();

	on_send(EXFILMON_OP_SENDTO, SYSCALL_ARG1(regs), ctx->ret,
		(const void *)SYSCALL_ARG5(regs), SYSCALL_ARG6(regs));
	return 0;
}

/* sendmsg(fd, msg, flags) */
SEC("tracepoint/syscalls/sys_exit_sendmsg")
int tp_exit_sendmsg(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = syscall_regs();
	struct user_msghdr msg = {};

	if (ctx->ret <= 0)
		return 0;
	bpf_probe_read_user(&msg, sizeof(msg), (void *)SYSCALL_ARG2(regs));
	on_send(EXFILMON_OP_SENDMSG, SYSCALL_ARG1(regs), ctx->ret,
		msg.msg_name, msg.msg_namelen);
	return 0;
}

struct mmsg_ctx {
	struct mmsghdr *vec;
	__u32 fd;
};

static long mmsg_one(__u32 i, struct mmsg_ctx *c)
{
	struct mmsghdr m = {};

	if (bpf_probe_read_user(&m, sizeof(m), &c->vec[i]))
		return 1;
	on_send(EXFILMON_OP_SENDMMSG, c->fd, m.msg_len, m.msg_hdr.msg_name,
		m.msg_hdr.msg_namelen);
	return 0;
}

/*
 * sendmmsg(fd, vec, vlen, flags) returns how many messages went; the
 * kernel has written each one's byte count into vec[i].msg_len.
 */
SEC("tracepoint/syscalls/sys_exit_sendmmsg")
int tp_exit_sendmmsg(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = syscall_regs();
	struct mmsg_ctx c;
	long n = ctx->ret;

	if (n <= 0)
		return 0;
	c.fd = SYSCALL_ARG1(regs);
	c.vec = (struct mmsghdr *)SYSCALL_ARG2(regs);
	/* the tracked-process test in on_send() is repeated per message,
	 * but only after this cheap one, so untracked callers pay once */
	{
		struct exfilmon_pkey pkey;

		current_pkey(&pkey);
		if (!bpf_map_lookup_elem(&procs, &pkey))
			return 0;
	}
	bpf_loop(n > UIO_MAXIOV ? UIO_MAXIOV : n, mmsg_one, &c, 0);
	return 0;
}

/* sendfile(out_fd, in_fd, offset, count): a read and maybe a send */
SEC("tracepoint/syscalls/sys_exit_sendfile64")
int tp_exit_sendfile64(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = syscall_regs();

	on_read(EXFILMON_OP_SENDFILE, SYSCALL_ARG2(regs), ctx->ret);
	on_send(EXFILMON_OP_SENDFILE, SYSCALL_ARG1(regs), ctx->ret, NULL, 0);
	return 0;
}

/* splice(fd_in, off_in, fd_out, off_out, len, flags) */
SEC("tracepoint/syscalls/sys_exit_splice")
int tp_exit_splice(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = syscall_regs();

	on_read(EXFILMON_OP_SPLICE, SYSCALL_ARG1(regs), ctx->ret);
	on_send(EXFILMON_OP_SPLICE, SYSCALL_ARG3(regs), ctx->ret, NULL, 0);
	return 0;
}

/*
 * mmap(addr, len, prot, flags, fd, off): once mapped, the pages can be read
 * with no further syscall, so the mapped length of the file (up to its end)
 * counts as read, whatever the protection: PROT_NONE or write-only maps can
 * be made readable later with mprotect() without another mmap().
 */
SEC("tracepoint/syscalls/sys_exit_mmap")
int tp_exit_mmap(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = syscall_regs();
	struct exfilmon_file_key key;
	struct exfilmon_watch *w;
	__u64 len, off, size;
	struct file *f;

	if (ctx->ret < 0)
		return 0;
	if (SYSCALL_ARG4(regs) & MAP_ANONYMOUS)
		return 0;
	f = fd_file(SYSCALL_ARG5(regs));
	if (!f)
		return 0;
	w = file_watch(f, &key);
	if (!w)
		return 0;
	len = SYSCALL_ARG2(regs);
	off = SYSCALL_ARG6(regs);
	size = BPF_CORE_READ(f, f_inode, i_size);
	if (off >= size)
		return 0;
	if (len > size - off)
		len = size - off;
	account_read(EXFILMON_OP_MMAP, &key, w, len);
	return 0;
}

/*
 * A new process. Threads (same tgid) share their process's entry. A child
 * of a tracked process is tracked from birth, carrying its parent's taint,
 * so data read by a parent and sent by a child is still counted.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent,
	     struct task_struct *child)
{
	struct exfilmon_pkey ppk, cpk;
	struct exfilmon_proc *pp;
	struct exfilmon_rec_fork *r;
	__u64 now;

	if (child->tgid == parent->tgid)
		return 0;
	now = bpf_ktime_get_boot_ns();
	task_pkey(parent, &ppk);
	task_pkey(child, &cpk);
	pp = bpf_map_lookup_elem(&procs, &ppk);
	if (pp) {
		struct exfilmon_proc cp = {};

		cp.origin = pp->origin;
		cp.bytes_inherited = pp->bytes_read + pp->bytes_inherited;
		cp.flags = EXFILMON_PROC_INHERITED;
		cp.ppid = ppk.tgid;
		cp.first_ns = now;
		cp.last_ns = now;
		if (bpf_map_update_elem(&procs, &cpk, &cp, BPF_NOEXIST) == -E2BIG)
			stat_add(EXFILMON_STAT_PROC_FULL, 1);
	}

	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		stat_add(EXFILMON_STAT_DROPPED, 1);
		return 0;
	}
	r->hdr.type = EXFILMON_REC_FORK;
	r->hdr.size = sizeof(*r);
	r->hdr.pad = 0;
	r->hdr.ts_ns = now;
	r->hdr.proc = cpk;
	r->parent = ppk;
	r->uid = BPF_CORE_READ(child, cred, uid.val);
	r->pad = 0;
	bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), child->comm);
	bpf_ringbuf_submit(r, 0);
	stat_add(EXFILMON_STAT_EVENTS, 1);
	return 0;
}

/* exec keeps the process (and its taint); the record names the new image */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct exfilmon_rec_exec *r;
	unsigned long start, end;
	__u64 len;

	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		stat_add(EXFILMON_STAT_DROPPED, 1);
		return 0;
	}
	r->hdr.type = EXFILMON_REC_EXEC;
	r->hdr.size = sizeof(*r);
	r->hdr.pad = 0;
	r->hdr.ts_ns = bpf_ktime_get_boot_ns();
	task_pkey(p, &r->hdr.proc);
	r->ppid = BPF_CORE_READ(p, real_parent, tgid);
	r->uid = BPF_CORE_READ(p, cred, uid.val);
	r->pad = 0;
	bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), p->comm);
	bpf_probe_read_kernel_str(r->exe, sizeof(r->exe),
				  BPF_CORE_READ(bprm, filename));
	/* p is current here: its new argv is in its own user memory */
	start = BPF_CORE_READ(p, mm, arg_start);
	end = BPF_CORE_READ(p, mm, arg_end);
	len = end > start ? end - start : 0;
	if (len > sizeof(r->args))
		len = sizeof(r->args);
	r->args_len = 0;
	if (len && !bpf_probe_read_user(r->args, len, (void *)start))
		r->args_len = len;
	bpf_ringbuf_submit(r, 0);
	stat_add(EXFILMON_STAT_EVENTS, 1);
	return 0;
}

/*
 * The last thread of a process exits (do_exit() has already dropped
 * signal->live to zero for it). The entry is only marked exited: the
 * daemon deletes it once it has read the final counters, so a full ring
 * buffer at exit time loses nothing.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *p)
{
	struct exfilmon_rec_exit *r;
	struct exfilmon_proc *proc;
	struct exfilmon_pkey pkey;

	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	task_pkey(p, &pkey);
	proc = bpf_map_lookup_elem(&procs, &pkey);
	if (proc)
		proc->flags |= EXFILMON_PROC_EXITED;

	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		stat_add(EXFILMON_STAT_DROPPED, 1);
		return 0;
	}
	r->hdr.type = EXFILMON_REC_EXIT;
	r->hdr.size = sizeof(*r);
	r->hdr.pad = 0;
	r->hdr.ts_ns = bpf_ktime_get_boot_ns();
	r->hdr.proc = pkey;
	r->exit_code = BPF_CORE_READ(p, exit_code);
	if (proc) {
		r->tracked = 1;
		r->proc = *proc;
	} else {
		r->tracked = 0;
		__builtin_memset(&r->proc, 0, sizeof(r->proc));
	}
	bpf_ringbuf_submit(r, 0);
	stat_add(EXFILMON_STAT_EVENTS, 1);
	return 0;
}

/*
 * The daemon's open files, as the hooks above will see them: the loader
 * opens a path to watch and reads its key here, so the key is the kernel's
 * own (f_inode's s_dev and i_ino), whatever stat() would have said.
 */
SEC("iter/task_file")
int iter_fd_keys(struct bpf_iter__task_file *ctx)
{
	struct exfilmon_fd_key r = {};
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;

	if (!task || !file || BPF_CORE_READ(task, tgid) != iter_tgid)
		return 0;
	r.fd = ctx->fd;
	inode_key(BPF_CORE_READ(file, f_inode), &r.key);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
