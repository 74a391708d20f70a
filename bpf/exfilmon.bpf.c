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
#include "path.h"
#include "flow.h"
#include "prevent.h"

#define MAP_ANONYMOUS	0x20
#define MAP_TYPE	0x0f
#define MAP_SHARED	0x01
#define MAP_SHARED_VALIDATE 0x03
#define PROT_WRITE	0x2
#define UIO_MAXIOV	1024

char LICENSE[] SEC("license") = "GPL";

/* the process whose fds iter_fd_keys reports (set by the loader) */
__u32 iter_tgid;

/* Userspace checks this against its own EXFILMON_ABI_MAJOR. */
const volatile __u32 abi_version = EXFILMON_ABI_MAJOR << 16 | EXFILMON_ABI_MINOR;

/*
 * A hash of the object these programs came from, set by the loader. A
 * daemon that finds pinned programs (userspace/sensor_pin.c) takes them
 * over only if they are of its own build.
 */
const volatile __u64 object_hash;

/* The stream key of what a reader of pipe or socket f receives. */
static __always_inline int stream_key_of_read(struct file *f, __u32 mode,
					      struct exfilmon_file_key *key)
{
	struct sock *sk;

	if (mode == S_IFIFO) {
		inode_key(BPF_CORE_READ(f, f_inode), key);
		return 0;
	}
	if (mode != S_IFSOCK)
		return -1;
	sk = file_sock(f);
	if (!sk)
		return -1;
	if (BPF_CORE_READ(sk, __sk_common.skc_family) == AF_UNIX) {
		key->dev = EXFILMON_KEY_TAG_UNIX;
		key->ino = (__u64)sk;
		return 0;
	}
	if (!inet_sock_of(sk))
		return -1;
	inet_key_of_recv(sk, key);
	return 0;
}

/* t (current, or an io_uring request's task) read ret bytes from f. */
static __noinline void read_file(struct task_struct *t, __u32 op,
				 struct file *f, long ret)
{
	struct exfilmon_file_key key;
	struct xfer x = { .n = ret, .op = op };
	struct exfilmon_obj *o;
	struct inode *inode;
	__u32 mode;

	if (ret <= 0 || !f)
		return;
	inode = BPF_CORE_READ(f, f_inode);
	mode = inode_mode_key(inode, &key);
	if (mode == S_IFREG) {
		o = file_watch(f, inode, &key);
		if (!o)
			return;
		if (o->flags & EXFILMON_OBJ_DERIVED) {
			take(t, &key, o, &x);
		} else {
			struct exfilmon_pkey pkey;

			/* plain loads for the syscall paths' current task;
			 * io_uring's request task is read with helpers */
			if (t == bpf_get_current_task_btf())
				current_pkey(&pkey);
			else
				task_pkey(t, &pkey);
			account_read(t, &pkey, &key, o, &x);
		}
		return;
	}
	/* pipes, sockets: only while some stream holds taint */
	if (!streams_live || stream_key_of_read(f, mode, &key))
		return;
	o = bpf_map_lookup_elem(&streams, &key);
	if (o)
		take(t, &key, o, &x);
}

static __always_inline void on_read(__u32 op, __u32 fd, long ret)
{
	if (ret > 0)
		read_file(bpf_get_current_task_btf(), op, fd_file(fd), ret);
}

/*
 * The tracked (tainted) process p (key pkey) writes x->n bytes to f;
 * x->uaddr is its sockaddr, if any: sends count and taint moves only from
 * tracked processes, which the callers have looked up already. x->when
 * says which targets this hook accounts (XFER_STREAM at syscall entry,
 * XFER_EXACT at exit).
 */
static __noinline void write_file(struct exfilmon_proc *p,
				  const struct exfilmon_pkey *pkey,
				  struct file *f, struct xfer *x)
{
	struct exfilmon_file_key key;
	struct exfilmon_dest dest = {};
	struct sock *sk;
	__u32 mode;

	if (!f || !p || !pkey || !x)
		return;
	mode = inode_mode(BPF_CORE_READ(f, f_inode));
	if (mode == S_IFREG) {
		if (!(x->when & XFER_EXACT))
			return;
		x->chan = EXFILMON_CHAN_FILE;
		carry_file(p, pkey, f, x);
		return;
	}
	if (mode == S_IFIFO) {
		if (!(x->when & XFER_STREAM))
			return;
		inode_key(BPF_CORE_READ(f, f_inode), &key);
		x->chan = EXFILMON_CHAN_PIPE;
		carry_stream(p, pkey, &key, x);
		return;
	}
	if (mode != S_IFSOCK)
		return;
	sk = file_sock(f);
	if (!sk)
		return;
	if (BPF_CORE_READ(sk, __sk_common.skc_family) == AF_UNIX) {
		struct unix_sock *u = (void *)sk;
		struct sock *peer = BPF_CORE_READ(u, peer);

		/* an unconnected datagram send names its peer by path: a
		 * known gap (docs/flow.md) */
		if (!peer || !(x->when & XFER_STREAM))
			return;
		key.dev = EXFILMON_KEY_TAG_UNIX;
		key.ino = (__u64)peer;
		x->chan = EXFILMON_CHAN_UNIX;
		carry_stream(p, pkey, &key, x);
		return;
	}
	sk = inet_sock_of(sk);
	if (!sk)
		return;
	dest_of_send(sk, x->uaddr, x->ulen, &dest);
	if (dest_is_loopback(&dest)) {
		if (!(x->when & XFER_STREAM))
			return;
		inet_key_of_send(sk, &dest, &key);
		x->chan = dest.proto == EXFILMON_PROTO_TCP ?
			  EXFILMON_CHAN_TCP : EXFILMON_CHAN_UDP;
		carry_stream(p, pkey, &key, x);
		return;
	}
	/* prevent mode: a TCP send is refused before its data is queued */
	if (x->when & XFER_STREAM)
		prevent_tcp_send(p, pkey, sk, &dest, x);
	/*
	 * Bytes queued on a refused socket never leave: not sent. The mark
	 * outlives the daemon's reset of the socket (see marked), so this
	 * exit finds it whenever the reset came.
	 */
	if ((x->when & XFER_EXACT) &&
	    !(dest.proto == EXFILMON_PROTO_TCP && sock_marked(sk)))
		account_send(x->op, p, pkey, &dest, x->n);
}

/*
 * The current process's entry (and key) if it is tracked, else NULL. The
 * caller is alive, so the tracked-process filter (maps.h) answers for it.
 */
static __always_inline struct exfilmon_proc *
current_proc(struct exfilmon_pkey *pkey)
{
	if (!tgid_maybe_tracked(bpf_get_current_task_btf()->tgid))
		return NULL;
	current_pkey(pkey);
	return bpf_map_lookup_elem(&procs, pkey);
}

/* Is the current process tracked? The send hooks' first test. */
static __always_inline bool current_tracked(void)
{
	struct exfilmon_pkey pkey;

	return current_proc(&pkey);
}

/* At syscall exit: ret bytes were written to fd. */
static __always_inline void on_send(__u32 op, __u32 fd, long ret,
				    const void *uaddr, __u32 ulen)
{
	struct xfer x = {
		.n = ret, .op = op, .when = XFER_EXACT, .uaddr = uaddr,
		.ulen = ulen,
	};
	struct exfilmon_pkey pkey;
	struct exfilmon_proc *p;

	if (ret <= 0)
		return;
	/* the hot path: a process that never touched watched data stops at
	 * this one lookup, before any fd lookup */
	p = current_proc(&pkey);
	if (p)
		write_file(p, &pkey, fd_file(fd), &x);
}

/* At syscall entry: up to n bytes are about to be written to fd. */
static __always_inline void on_write_enter(__u32 op, __u32 fd, __u64 n,
					   const void *uaddr, __u32 ulen)
{
	struct xfer x = {
		.n = n, .op = op, .when = XFER_STREAM, .uaddr = uaddr,
		.ulen = ulen,
	};
	struct exfilmon_pkey pkey;
	struct exfilmon_proc *p;

	if (!n)
		return;
	p = current_proc(&pkey);
	if (p)
		write_file(p, &pkey, fd_file(fd), &x);
}

/* Per-CPU sum for iov_total()'s loop: the verifier does not track a map
 * value's bounds, so the loop body converges. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} iov_sum SEC(".maps");

struct iov_ctx {
	const struct iovec *iov;
	__u64 *sum;
};

static long iov_one(__u32 i, struct iov_ctx *c)
{
	struct iovec v = {};

	if (bpf_probe_read_user(&v, sizeof(v), &c->iov[i]))
		return 1;
	*c->sum += v.iov_len;
	return 0;
}

/* Bytes an iovec array asks to move; only tainted writers get here. */
static __always_inline __u64 iov_total(const struct iovec *iov, __u64 cnt)
{
	struct iov_ctx c = { .iov = iov };
	__u32 zero = 0;

	c.sum = bpf_map_lookup_elem(&iov_sum, &zero);
	if (!c.sum)
		return 0;
	*c.sum = 0;
	bpf_loop(cnt > UIO_MAXIOV ? UIO_MAXIOV : cnt, iov_one, &c, 0);
	return *c.sum;
}

/* on_write_enter() looks the caller up itself */
#define ENTER_TP(name, body)						\
SEC("tracepoint/syscalls/sys_enter_" #name)				\
int tp_enter_##name(struct trace_event_raw_sys_enter *ctx)		\
{									\
	body;								\
	return 0;							\
}

/* summing the iovecs costs a loop: only for a tracked caller */
#define ENTER_IOV_TP(name, body)					\
SEC("tracepoint/syscalls/sys_enter_" #name)				\
int tp_enter_##name(struct trace_event_raw_sys_enter *ctx)		\
{									\
	if (current_tracked())						\
		body;							\
	return 0;							\
}

/* write(fd, buf, count), sendto(fd, buf, len, flags, addr, alen) */
ENTER_TP(write, on_write_enter(EXFILMON_OP_WRITE, ctx->args[0],
			       ctx->args[2], NULL, 0))
ENTER_TP(sendto, on_write_enter(EXFILMON_OP_SENDTO, ctx->args[0],
				ctx->args[2], (const void *)ctx->args[4],
				ctx->args[5]))
/* writev(fd, iov, cnt) and pwritev*(fd, iov, cnt, ...) */
ENTER_IOV_TP(writev, on_write_enter(EXFILMON_OP_WRITEV, ctx->args[0],
				    iov_total((void *)ctx->args[1], ctx->args[2]),
				    NULL, 0))
ENTER_IOV_TP(pwritev, on_write_enter(EXFILMON_OP_WRITEV, ctx->args[0],
				     iov_total((void *)ctx->args[1], ctx->args[2]),
				     NULL, 0))
ENTER_IOV_TP(pwritev2, on_write_enter(EXFILMON_OP_WRITEV, ctx->args[0],
				      iov_total((void *)ctx->args[1],
					        ctx->args[2]), NULL, 0))
/* splice(in, off_in, out, off_out, len, flags); sendfile(out, in, off, n) */
ENTER_TP(splice, on_write_enter(EXFILMON_OP_SPLICE, ctx->args[2],
				ctx->args[4], NULL, 0))
ENTER_TP(sendfile64, on_write_enter(EXFILMON_OP_SENDFILE, ctx->args[0],
				    ctx->args[3], NULL, 0))

/* sendmsg(fd, msg, flags) */
SEC("tracepoint/syscalls/sys_enter_sendmsg")
int tp_enter_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	struct user_msghdr *msg = (void *)ctx->args[1];
	struct iovec *iov = NULL;
	void *name = NULL;
	__u64 iovlen = 0;
	int namelen = 0;

	if (!current_tracked())
		return 0;
	/* field by field: the whole header would cost 56 bytes of stack */
	bpf_probe_read_user(&name, sizeof(name), &msg->msg_name);
	bpf_probe_read_user(&namelen, sizeof(namelen), &msg->msg_namelen);
	bpf_probe_read_user(&iov, sizeof(iov), &msg->msg_iov);
	bpf_probe_read_user(&iovlen, sizeof(iovlen), &msg->msg_iovlen);
	on_write_enter(EXFILMON_OP_SENDMSG, ctx->args[0],
		       iov_total(iov, iovlen), name, namelen);
	return 0;
}

struct mmsg_ctx {
	struct mmsghdr *vec;
	__u32 fd;
};

static long mmsg_enter_one(__u32 i, struct mmsg_ctx *c)
{
	struct mmsghdr *m = &c->vec[i];
	void *name = NULL;
	int namelen = 0;

	if (bpf_probe_read_user(&name, sizeof(name), &m->msg_hdr.msg_name))
		return 1;
	bpf_probe_read_user(&namelen, sizeof(namelen),
			    &m->msg_hdr.msg_namelen);
	on_write_enter(EXFILMON_OP_SENDMMSG, c->fd, ~0ULL, name, namelen);
	return 0;
}

/*
 * sendmmsg(fd, vec, vlen, flags): each message may name its own peer.
 * Summing every message's iovecs would take a loop in a loop, so each
 * credits the whole remaining budget (a reader still takes no more than
 * it reads, and the budget caps the rest).
 */
SEC("tracepoint/syscalls/sys_enter_sendmmsg")
int tp_enter_sendmmsg(struct trace_event_raw_sys_enter *ctx)
{
	struct mmsg_ctx c;
	__u64 n = ctx->args[2];

	if (!n || !current_tracked())
		return 0;
	c.fd = ctx->args[0];
	c.vec = (struct mmsghdr *)ctx->args[1];
	bpf_loop(n > UIO_MAXIOV ? UIO_MAXIOV : n, mmsg_enter_one, &c, 0);
	return 0;
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

/*
 * recv paths only matter for taint passed through a socket: a socket read
 * is never watched data itself. read_file() checks streams_live first.
 */
READ_TP(recvfrom, EXFILMON_OP_RECVFROM)
READ_TP(recvmsg, EXFILMON_OP_RECVMSG)

static long mmsg_recv_one(__u32 i, struct mmsg_ctx *c)
{
	__u32 len = 0;

	if (bpf_probe_read_user(&len, sizeof(len), &c->vec[i].msg_len))
		return 1;
	on_read(EXFILMON_OP_RECVMMSG, c->fd, len);
	return 0;
}

/*
 * recvmmsg(fd, vec, vlen, flags, timeout) returns how many messages came;
 * the kernel has written each one's byte count into vec[i].msg_len.
 */
SEC("tracepoint/syscalls/sys_exit_recvmmsg")
int tp_exit_recvmmsg(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs;
	struct mmsg_ctx c = {};
	long n = ctx->ret;

	if (n <= 0 || !streams_live)
		return 0;
	regs = syscall_regs();
	c.fd = SYSCALL_ARG1(regs);
	c.vec = (struct mmsghdr *)SYSCALL_ARG2(regs);
	bpf_loop(n > UIO_MAXIOV ? UIO_MAXIOV : n, mmsg_recv_one, &c, 0);
	return 0;
}

/* copy_file_range(fd_in, off_in, fd_out, off_out, len, flags): cp's way */
SEC("tracepoint/syscalls/sys_exit_copy_file_range")
int tp_exit_copy_file_range(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = syscall_regs();
	/* once: clang would otherwise keep ctx + 16 across the calls,
	 * a modified ctx pointer the verifier refuses */
	long ret = ctx->ret;

	on_read(EXFILMON_OP_COPY_FILE_RANGE, SYSCALL_ARG1(regs), ret);
	on_send(EXFILMON_OP_COPY_FILE_RANGE, SYSCALL_ARG3(regs), ret,
		NULL, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_write")
int tp_exit_write(struct trace_event_raw_sys_exit *ctx)
{
	on_send(EXFILMON_OP_WRITE, SYSCALL_ARG1(syscall_regs()), ctx->ret,
		NULL, 0);
	return 0;
}

/* pwrite64(fd, buf, count, pos): files only (pipes and sockets refuse) */
SEC("tracepoint/syscalls/sys_exit_pwrite64")
int tp_exit_pwrite64(struct trace_event_raw_sys_exit *ctx)
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
	struct user_msghdr *msg;
	void *name = NULL;
	int namelen = 0;

	if (ctx->ret <= 0)
		return 0;
	/* field by field: the whole header would cost 56 bytes of stack */
	msg = (void *)SYSCALL_ARG2(regs);
	bpf_probe_read_user(&name, sizeof(name), &msg->msg_name);
	bpf_probe_read_user(&namelen, sizeof(namelen), &msg->msg_namelen);
	on_send(EXFILMON_OP_SENDMSG, SYSCALL_ARG1(regs), ctx->ret, name,
		namelen);
	return 0;
}

static long mmsg_one(__u32 i, struct mmsg_ctx *c)
{
	struct mmsghdr *m = &c->vec[i];
	void *name = NULL;
	int namelen = 0;
	__u32 len = 0;

	/* field by field: the whole mmsghdr would cost 64 bytes of stack */
	if (bpf_probe_read_user(&len, sizeof(len), &m->msg_len))
		return 1;
	bpf_probe_read_user(&name, sizeof(name), &m->msg_hdr.msg_name);
	bpf_probe_read_user(&namelen, sizeof(namelen),
			    &m->msg_hdr.msg_namelen);
	on_send(EXFILMON_OP_SENDMMSG, c->fd, len, name, namelen);
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
	if (!current_tracked())
		return 0;
	bpf_loop(n > UIO_MAXIOV ? UIO_MAXIOV : n, mmsg_one, &c, 0);
	return 0;
}

/* sendfile(out_fd, in_fd, offset, count): a read and maybe a send */
SEC("tracepoint/syscalls/sys_exit_sendfile64")
int tp_exit_sendfile64(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = syscall_regs();
	/* once: clang would otherwise keep ctx + 16 across the calls,
	 * a modified ctx pointer the verifier refuses */
	long ret = ctx->ret;

	on_read(EXFILMON_OP_SENDFILE, SYSCALL_ARG2(regs), ret);
	on_send(EXFILMON_OP_SENDFILE, SYSCALL_ARG1(regs), ret, NULL, 0);
	return 0;
}

/* splice(fd_in, off_in, fd_out, off_out, len, flags) */
SEC("tracepoint/syscalls/sys_exit_splice")
int tp_exit_splice(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = syscall_regs();
	/* once: clang would otherwise keep ctx + 16 across the calls,
	 * a modified ctx pointer the verifier refuses */
	long ret = ctx->ret;

	on_read(EXFILMON_OP_SPLICE, SYSCALL_ARG1(regs), ret);
	on_send(EXFILMON_OP_SPLICE, SYSCALL_ARG3(regs), ret, NULL, 0);
	return 0;
}

/*
 * mmap(addr, len, prot, flags, fd, off): once mapped, the pages can be read
 * with no further syscall, so the mapped length of the file (up to its end)
 * counts as read, whatever the protection: PROT_NONE or write-only maps can
 * be made readable later with mprotect() without another mmap(). For the
 * same reason a shared writable mapping by a tainted process is a write of
 * its length into the file (chan SHM): the stores that follow are not seen.
 */
SEC("tracepoint/syscalls/sys_exit_mmap")
int tp_exit_mmap(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = syscall_regs();
	struct task_struct *t;
	__u64 len, off, size, flags;
	struct file *f;

	if (ctx->ret < 0)
		return 0;
	flags = SYSCALL_ARG4(regs);
	if (flags & MAP_ANONYMOUS)
		return 0;
	f = fd_file(SYSCALL_ARG5(regs));
	if (!f || inode_mode(BPF_CORE_READ(f, f_inode)) != S_IFREG)
		return 0;
	len = SYSCALL_ARG2(regs);
	off = SYSCALL_ARG6(regs);
	size = BPF_CORE_READ(f, f_inode, i_size);
	if (off >= size)
		return 0;
	if (len > size - off)
		len = size - off;
	t = bpf_get_current_task_btf();
	read_file(t, EXFILMON_OP_MMAP, f, len);
	flags &= MAP_TYPE;
	if ((flags == MAP_SHARED || flags == MAP_SHARED_VALIDATE) &&
	    (SYSCALL_ARG3(regs) & PROT_WRITE)) {
		struct exfilmon_pkey pkey;
		struct exfilmon_proc *p;

		p = current_proc(&pkey);
		struct xfer x = {
			.n = len, .op = EXFILMON_OP_MMAP_SHARED,
			.chan = EXFILMON_CHAN_SHM,
		};

		if (p)
			carry_file(p, &pkey, f, &x);
	}
	return 0;
}

/* io_uring opcodes (include/uapi/linux/io_uring.h, stable numbers) */
#define IORING_OP_READV		1
#define IORING_OP_WRITEV	2
#define IORING_OP_READ_FIXED	4
#define IORING_OP_WRITE_FIXED	5
#define IORING_OP_SENDMSG	9
#define IORING_OP_RECVMSG	10
#define IORING_OP_READ		22
#define IORING_OP_WRITE		23
#define IORING_OP_SEND		26
#define IORING_OP_RECV		27
#define IORING_OP_SEND_ZC	47
#define IORING_OP_SENDMSG_ZC	48

/* Before 6.13 the request named its task directly. */
struct io_kiocb___task {
	struct task_struct *task;
} __attribute__((preserve_access_index));

static __always_inline struct task_struct *io_req_task(struct io_kiocb *req)
{
	if (bpf_core_field_exists(struct io_kiocb___task, task))
		return BPF_CORE_READ((struct io_kiocb___task *)req, task);
	return BPF_CORE_READ(req, tctx, task);
}

/*
 * An io_uring request completed. Reads and sends submitted through a ring
 * never enter read() or sendmsg(), so they are counted here, with the
 * request's own file and its result, for the task that submitted it (the
 * completion may run in an io-wq worker or the SQPOLL thread). The
 * tracepoint's arguments changed in 6.3; the request is the second in
 * every version, and carries its result in req->cqe.res.
 */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(io_uring_complete, void *ctx_, void *req_)
{
	struct io_kiocb *req = req_;
	struct task_struct *t;
	struct file *f;
	__u8 opcode;
	int res;

	if (!req)
		return 0;	/* an overflow or auxiliary completion */
	res = BPF_CORE_READ(req, cqe.res);
	if (res <= 0)
		return 0;
	opcode = BPF_CORE_READ(req, opcode);
	f = BPF_CORE_READ(req, file);
	t = io_req_task(req);
	if (!f || !t)
		return 0;
	switch (opcode) {
	case IORING_OP_READV:
	case IORING_OP_READ_FIXED:
	case IORING_OP_READ:
	case IORING_OP_RECVMSG:
	case IORING_OP_RECV:
		read_file(t, EXFILMON_OP_IO_URING, f, res);
		break;
	case IORING_OP_WRITEV:
	case IORING_OP_WRITE_FIXED:
	case IORING_OP_WRITE:
	case IORING_OP_SENDMSG:
	case IORING_OP_SEND:
	case IORING_OP_SEND_ZC:
	case IORING_OP_SENDMSG_ZC:
	{
		/* no entry hook here: a stream read before this completion
		 * runs is not tainted (docs/flow.md) */
		struct xfer x = {
			.n = res, .op = EXFILMON_OP_IO_URING,
			.when = XFER_STREAM | XFER_EXACT,
		};
		struct exfilmon_pkey pkey;

		task_pkey(t, &pkey);
		write_file(bpf_map_lookup_elem(&procs, &pkey), &pkey, f, &x);
		break;
	}
	}
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
	long err;
	__u64 now;

	if (child->tgid == parent->tgid)
		return 0;
	now = bpf_ktime_get_boot_ns();
	task_pkey(parent, &ppk);
	task_pkey(child, &cpk);
	/* the parent is current, and alive: the filter answers for it */
	pp = tgid_maybe_tracked(ppk.tgid) ?
	     bpf_map_lookup_elem(&procs, &ppk) : NULL;
	if (pp) {
		struct exfilmon_proc cp = {};

		cp.watch_id = pp->watch_id;
		cp.taint = pp->taint;
		cp.flags = EXFILMON_PROC_INHERITED;
		cp.src_chan = EXFILMON_CHAN_FORK;
		cp.src = ppk;
		cp.src_bytes = cp.taint;
		cp.ppid = ppk.tgid;
		cp.first_ns = now;
		cp.last_ns = now;
		tgid_mark(cpk.tgid);
		err = bpf_map_update_elem(&procs, &cpk, &cp, BPF_NOEXIST);
		if (err && err != -EEXIST)
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
	ring_submit(r, now);
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
	__u32 len32;
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
	r->flags = EXFILMON_EXEC_NAMES;
	bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), p->comm);
	/* the file the kernel runs, not the name the caller gave */
	file_path(BPF_CORE_READ(bprm, file), r->exe, &len32, &r->flags);
	r->flags |= len32 << 16;
	/* p is current here: its new argv is in its own user memory */
	start = BPF_CORE_READ(p, mm, arg_start);
	end = BPF_CORE_READ(p, mm, arg_end);
	len = end > start ? end - start : 0;
	if (len > sizeof(r->args))
		len = sizeof(r->args);
	r->args_len = 0;
	if (len && !bpf_probe_read_user(r->args, len, (void *)start))
		r->args_len = len;
	ring_submit(r, r->hdr.ts_ns);
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
	tgid_unmark(pkey.tgid);
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
	ring_submit(r, r->hdr.ts_ns);
	stat_add(EXFILMON_STAT_EVENTS, 1);
	return 0;
}

/*
 * Prevent mode (bpf/prevent.h, docs/prevent.md). The cgroup programs are
 * attached to the cgroup v2 root, so they see every socket of the
 * machine; each returns 1 (let it through) at once unless the policy is
 * on and the caller is a tracked process.
 */

/*
 * A connect() or an unconnected datagram, to the address the caller gave.
 * v6 is a constant: the verifier lets each attach type read only its own
 * family's address fields, so the other branch must not be compiled in.
 */
static __always_inline int prevent_sockaddr(struct bpf_sock_addr *ctx,
					    const bool v6, __u32 how, __u32 op)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct exfilmon_dest d = {};
	struct refusal r = { .how = how, .op = op, .dest = &d };
	struct exfilmon_pkey pkey;
	struct exfilmon_proc *p;

	p = refusable(t, &pkey);
	if (!p)
		return 1;
	d.proto = ctx->protocol;
	if (d.proto != EXFILMON_PROTO_TCP && d.proto != EXFILMON_PROTO_UDP)
		return 1;
	d.port = bpf_ntohs((__u16)ctx->user_port);
	if (!v6) {
		__u32 a = ctx->user_ip4;

		d.family = EXFILMON_AF_INET;
		__builtin_memcpy(d.addr, &a, 4);
	} else {
		__u32 *w = (__u32 *)d.addr;

		d.family = EXFILMON_AF_INET6;
		w[0] = ctx->user_ip6[0];
		w[1] = ctx->user_ip6[1];
		w[2] = ctx->user_ip6[2];
		w[3] = ctx->user_ip6[3];
		dest_fold_v4mapped(&d);
	}
	if (prevent_verdict(t, p, &d, &r.threshold) == VERDICT_PASS)
		return 1;
	emit_block(&pkey, p, &r);
	return 0;	/* connect() and sendmsg() fail with EPERM */
}

SEC("cgroup/connect4")
int prevent_connect4(struct bpf_sock_addr *ctx)
{
	return prevent_sockaddr(ctx, false, EXFILMON_BLOCK_CONNECT,
				EXFILMON_OP_CONNECT);
}

SEC("cgroup/connect6")
int prevent_connect6(struct bpf_sock_addr *ctx)
{
	return prevent_sockaddr(ctx, true, EXFILMON_BLOCK_CONNECT,
				EXFILMON_OP_CONNECT);
}

SEC("cgroup/sendmsg4")
int prevent_sendmsg4(struct bpf_sock_addr *ctx)
{
	return prevent_sockaddr(ctx, false, EXFILMON_BLOCK_DGRAM, 0);
}

SEC("cgroup/sendmsg6")
int prevent_sendmsg6(struct bpf_sock_addr *ctx)
{
	return prevent_sockaddr(ctx, true, EXFILMON_BLOCK_DGRAM, 0);
}

/* The two ends of a full socket, as bpf_sock gives them. */
static __always_inline void bsk_ends(struct bpf_sock *sk,
				     struct exfilmon_dest *peer,
				     struct exfilmon_dest *local)
{
	__u32 *pw = (__u32 *)peer->addr, *lw = (__u32 *)local->addr;

	peer->proto = local->proto = sk->protocol;
	peer->port = bpf_ntohs(sk->dst_port);
	local->port = sk->src_port;	/* host order already */
	if (sk->family == AF_INET) {
		peer->family = local->family = EXFILMON_AF_INET;
		pw[0] = sk->dst_ip4;
		lw[0] = sk->src_ip4;
		return;
	}
	peer->family = local->family = EXFILMON_AF_INET6;
	pw[0] = sk->dst_ip6[0];
	pw[1] = sk->dst_ip6[1];
	pw[2] = sk->dst_ip6[2];
	pw[3] = sk->dst_ip6[3];
	lw[0] = sk->src_ip6[0];
	lw[1] = sk->src_ip6[1];
	lw[2] = sk->src_ip6[2];
	lw[3] = sk->src_ip6[3];
	dest_fold_v4mapped(peer);
	dest_fold_v4mapped(local);
}

#define TCP_FLAG_RST	0x04

/*
 * A bare reset of a refused TCP socket goes out: the daemon's reset
 * (tcp_abort() sends it while the socket is still marked) is what tells
 * the peer. cgroup skb programs see the packet from its network header.
 */
static __always_inline bool tcp_reset(struct __sk_buff *skb, __u32 family)
{
	__u8 b = 0;
	__u32 off = 40;		/* IPv6: the fixed header */

	if (family == AF_INET) {
		if (bpf_skb_load_bytes(skb, 0, &b, 1))
			return false;
		off = (b & 0xf) * 4;
	}
	if (bpf_skb_load_bytes(skb, off + 13, &b, 1))
		return false;
	return b & TCP_FLAG_RST;
}

/*
 * Every packet a socket of this machine sends. Returns 0 to drop it: the
 * sender's syscall, in task context, then fails with EPERM (UDP), or its
 * data stays queued behind a refused socket (TCP) until the daemon
 * resets the connection.
 */
SEC("cgroup_skb/egress")
int prevent_egress(struct __sk_buff *skb)
{
	struct exfilmon_dest d = {}, local = {};
	struct refusal r = {
		.how = EXFILMON_BLOCK_SEND, .dest = &d, .local = &local,
	};
	struct sock_mark *m = NULL;
	struct exfilmon_pkey pkey;
	struct exfilmon_proc *p;
	struct task_struct *t;
	struct bpf_sock *sk;
	__u64 key = 0;

	if (!prevent_on)
		return 1;
	sk = skb->sk;
	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk || (sk->family != AF_INET && sk->family != AF_INET6) ||
	    (sk->protocol != IPPROTO_TCP && sk->protocol != IPPROTO_UDP))
		return 1;
	if (sk->protocol == IPPROTO_TCP) {
		key = (__u64)bpf_skc_to_tcp_sock(sk);
		if (key && nr_marked > 0)
			m = bpf_map_lookup_elem(&marked, &key);
		if (m && tcp_reset(skb, sk->family))
			return 1;
	}
	/* outside task context current is not the sender: marks only */
	if (in_softirq())
		return m ? 0 : 1;
	t = bpf_get_current_task_btf();
	p = refusable(t, &pkey);
	if (!p)
		return m ? 0 : 1;
	if (m && (m->proc.tgid != pkey.tgid ||
		  m->proc.start_ns != pkey.start_ns))
		return 0;	/* another's refused data may be queued */
	bsk_ends(sk, &d, &local);
	if (dest_is_loopback(&d))
		return 1;
	if (prevent_verdict(t, p, &d, &r.threshold) == VERDICT_PASS) {
		/* an override, or the policy changed: the socket is free */
		if (m)
			unmark_sock(key);
		return 1;
	}
	if (m)
		return 0;	/* counted when it was marked */
	r.bytes = skb->len;
	if (key)
		mark_sock(key, &pkey);
	emit_block(&pkey, p, &r);
	return 0;
}

/*
 * in_softirq() reads what these two set. The skeleton attaches programs
 * in the order of their sections in the object, which is their order
 * here: exit first, so that no softirq is seen to begin whose end could
 * go unseen.
 */
SEC("tp_btf/softirq_exit")
int BPF_PROG(prevent_softirq_exit, unsigned int vec_nr)
{
	__u32 zero = 0, *n = bpf_map_lookup_elem(&softirqs, &zero);

	if (n)
		*n = 0;
	return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(prevent_softirq_entry, unsigned int vec_nr)
{
	__u32 zero = 0, *n = bpf_map_lookup_elem(&softirqs, &zero);

	if (n)
		*n = 1;
	return 0;
}

/* A refused socket's mark goes with it (see marked in prevent.h). */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(prevent_sock_destroy, struct sock *sk)
{
	if (nr_marked > 0)
		unmark_sock((__u64)sk);
	return 0;
}

/* ... and none comes with a new connection at its address. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(prevent_sock_state, const struct sock *sk, const int oldstate,
	     const int newstate)
{
	if ((oldstate == TCP_CLOSE || oldstate == TCP_LISTEN) &&
	    nr_marked > 0)
		unmark_sock((__u64)sk);
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
