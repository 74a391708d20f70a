/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * exfilmon sensor ABI: the records and counter tables shared by the eBPF
 * sensor (bpf/), the kernel module (module/) and userspace (userspace/).
 *
 * Rules (see docs/abi.md):
 *  - only __u8..__u64 and fixed arrays; no pointers, bool, long or enums;
 *  - every struct is padded explicitly to a multiple of 8 bytes;
 *  - each consumer asserts the sizes below with EXFILMON_ABI_ASSERTS;
 *  - EXFILMON_ABI_MAJOR changes when a struct layout or the meaning of a
 *    field changes; MINOR changes when something is only added (a new record
 *    type, a new stat index). The daemon refuses a sensor whose major differs.
 */
#ifndef EXFILMON_ABI_H
#define EXFILMON_ABI_H

#if defined(__bpf__)
/* BPF programs include vmlinux.h first, which defines __u8..__u64; the
 * ioctl numbers below are only expanded by the module and userspace. */
#else
#include <linux/types.h>
#include <linux/ioctl.h>
#endif

#define EXFILMON_ABI_MAJOR 3
#define EXFILMON_ABI_MINOR 3

#define EXFILMON_COMM_LEN 16
#define EXFILMON_PATH_LEN 256
#define EXFILMON_ARGS_LEN 256

/*
 * A process is named by its thread-group id plus the start time of its
 * group leader (task->start_time, CLOCK_MONOTONIC ns), so a reused pid never
 * inherits the counters of a dead process whose entries the daemon has not
 * collected yet.
 */
struct exfilmon_pkey {
	__u32 tgid;
	__u32 pad;
	__u64 start_ns;
};

/* A file, by the kernel's dev_t encoding (MAJOR << 20 | MINOR) and inode. */
struct exfilmon_file_key {
	__u64 dev;
	__u64 ino;
};

/*
 * Channels: how watched data reaches a process or an object (see
 * docs/flow.md). Stored in exfilmon_obj.chan, exfilmon_proc.src_chan and
 * exfilmon_rec_io.chan.
 */
#define EXFILMON_CHAN_NONE	0
#define EXFILMON_CHAN_READ	1	/* read from a configured watched file */
#define EXFILMON_CHAN_FORK	2	/* inherited from the parent */
#define EXFILMON_CHAN_FILE	3	/* a derived file */
#define EXFILMON_CHAN_PIPE	4	/* a pipe or FIFO */
#define EXFILMON_CHAN_UNIX	5	/* a Unix socket */
#define EXFILMON_CHAN_TCP	6	/* a loopback TCP connection */
#define EXFILMON_CHAN_UDP	7	/* loopback UDP datagrams */
#define EXFILMON_CHAN_SHM	8	/* a shared writable mapping */
#define EXFILMON_CHAN_NR	9

/*
 * Objects that are not inodes get synthetic keys, tagged in the top byte of
 * dev, which a kernel dev_t (32 bits) never sets:
 *  - UNIX: ino is an opaque id of the receiving socket;
 *  - INET: a loopback flow, dev = tag | proto << 40 | sport << 16 | dport,
 *    ino = saddr << 32 | daddr (IPv4, network order read as host u32;
 *    0 for ::1); UDP keys keep only proto and dport (sport and ino 0):
 *    a receiver bound to a wildcard address is reached by 127.0.0.1.
 */
#define EXFILMON_KEY_TAG_UNIX	(0xf5ULL << 56)
#define EXFILMON_KEY_TAG_INET	(0xf6ULL << 56)
#define EXFILMON_KEY_TAG_MASK	(0xffULL << 56)

#define EXFILMON_WATCH_FILE	0x1	/* this inode is watched data */
#define EXFILMON_WATCH_DIR	0x2	/* files directly in this dir are */
#define EXFILMON_WATCH_VIA_DIR	0x4	/* added by the sensor: a file read
					 * through a watched directory */
#define EXFILMON_OBJ_DERIVED	0x8	/* a file written by a tainted
					 * process: watched data at second
					 * hand, up to taint bytes of it */
#define EXFILMON_OBJ_OPAQUE	0x10	/* an executable whose processes
					 * never take taint ([flow] opaque) */
#define EXFILMON_OBJ_STREAM	0x20	/* a pipe, socket or loopback flow
					 * holding taint not yet read */

/*
 * Value of the watched and streams tables: a configured watch (flags
 * WATCH_*), a derived file, an opaque executable, or a stream.
 */
struct exfilmon_obj {
	__u32 flags;		/* EXFILMON_WATCH_* | EXFILMON_OBJ_* */
	__u32 watch_id;		/* the configured watch the data came from */
	__u32 chan;		/* EXFILMON_CHAN_* that filled it */
	__u32 gen;		/* derived files: i_generation when marked */
	__u64 taint;		/* derived: tainted bytes written into it;
				 * streams: tainted bytes not yet read */
	__u64 last_ns;		/* CLOCK_BOOTTIME of the last change */
	struct exfilmon_pkey writer;	/* the last tainted writer */
};

/*
 * How the sensor names the inode behind one of the daemon's fds. Watch keys
 * come from the kernel, never from stat(): on btrfs subvolumes and overlayfs
 * st_dev is not the superblock's s_dev that the hooks see.
 */
struct exfilmon_fd_key {
	__u32 fd;
	__u32 pad;
	struct exfilmon_file_key key;
};

#define EXFILMON_AF_INET	2
#define EXFILMON_AF_INET6	10
#define EXFILMON_PROTO_TCP	6
#define EXFILMON_PROTO_UDP	17

/* A network destination. IPv4 uses addr[0..3]; v4-mapped v6 is folded to v4. */
struct exfilmon_dest {
	__u8 addr[16];
	__u16 port;	/* host byte order */
	__u8 family;	/* EXFILMON_AF_* */
	__u8 proto;	/* EXFILMON_PROTO_* */
	__u32 pad;
};

#define EXFILMON_PROC_INHERITED	0x1	/* taint came from the parent at fork */
#define EXFILMON_PROC_EXITED	0x2	/* process is gone; daemon collects */

/*
 * Per tainted process: a process is tracked once watched data reached it,
 * by any channel. Untracked processes cost one failed lookup.
 */
struct exfilmon_proc {
	__u64 bytes_read;		/* read from configured watched files */
	__u64 taint;			/* watched bytes that reached it by any
					 * channel, bytes_read included */
	__u64 bytes_sent;		/* sent to non-loopback inet peers */
	__u64 carried;			/* taint it passed into objects */
	__u64 first_ns;			/* CLOCK_BOOTTIME of first activity */
	__u64 last_ns;
	__u32 watch_id;			/* origin: the watch of its first taint */
	__u32 flags;			/* EXFILMON_PROC_* */
	__u32 ppid;
	__u32 src_chan;			/* EXFILMON_CHAN_* of its main source */
	struct exfilmon_pkey src;	/* the process upstream: the parent
					 * (FORK), the object's last writer,
					 * or zero (READ) */
	struct exfilmon_file_key src_obj;	/* the object it came through */
	__u64 src_bytes;		/* taint taken from that source */
};

/* Cumulative counter kept per (process, file) and per (process, dest). */
struct exfilmon_count {
	__u64 bytes;
	__u64 ops;
	__u64 first_ns;
	__u64 last_ns;
};

/*
 * Whether an operation that adds bytes to counter c (as c was before it,
 * at time now) is announced with a record. Reads of watched files and
 * sends come in loops of thousands of calls: one record each would cost
 * more than the call (a ring reservation, a 248-byte copy, a daemon
 * decoding it), and the daemon needs only the totals. A record goes out
 * for a counter's first operation, for one that follows EXFILMON_QUIET_NS
 * without any, and for one that crosses a 2^EXFILMON_ANNOUNCE_SHIFT-byte
 * boundary. The rest are in the tables; the daemon looks up every counter
 * it heard of until the counter has been quiet for twice EXFILMON_QUIET_NS
 * (docs/design.md "Coalescing"), which also covers an operation racing
 * with that look-up: it follows a quiet gap, so it is announced.
 */
#define EXFILMON_QUIET_NS	5000000ULL
#define EXFILMON_ANNOUNCE_SHIFT	20

static inline int exfilmon_announce(const struct exfilmon_count *c,
				    __u64 bytes, __u64 now)
{
	return !c->ops || now - c->last_ns >= EXFILMON_QUIET_NS ||
	       (c->bytes + bytes) >> EXFILMON_ANNOUNCE_SHIFT !=
	       c->bytes >> EXFILMON_ANNOUNCE_SHIFT;
}

/*
 * The eBPF sensor's watch filter: one bit per slot of inode numbers, set
 * for every inode in its watched table before the entry is added (by the
 * loader for configured watches, by the programs for derived files and
 * for files first found through a watched directory), and never cleared.
 * A read whose inode's bit is clear is of no watched file, and skips the
 * table's hash lookup; a stale or shared bit only costs that lookup.
 * Inode numbers alone: reading the device as well would cost the read
 * path one more kernel memory read.
 */
#define EXFILMON_WATCH_FILTER_SHIFT	20

static inline __u32 exfilmon_watch_slot(__u64 ino)
{
	/* Fibonacci hashing: consecutive inode numbers spread out */
	return (ino * 0x9e3779b97f4a7c15ULL) >>
	       (64 - EXFILMON_WATCH_FILTER_SHIFT);
}

/* (process, object): the reads (inflow) and flows (outflow) tables */
struct exfilmon_read_key {
	struct exfilmon_pkey proc;
	struct exfilmon_file_key file;
};

struct exfilmon_send_key {
	struct exfilmon_pkey proc;
	struct exfilmon_dest dest;
};

/* Indexes of the sensor's statistics counters. */
#define EXFILMON_STAT_EVENTS		0	/* records delivered */
#define EXFILMON_STAT_DROPPED		1	/* records lost: ring full */
#define EXFILMON_STAT_PROC_FULL		2	/* process table full */
#define EXFILMON_STAT_READ_FULL		3	/* (proc, file) table full */
#define EXFILMON_STAT_SEND_FULL		4	/* (proc, dest) table full */
#define EXFILMON_STAT_LOST_READ_BYTES	5	/* watched bytes not counted */
#define EXFILMON_STAT_LOST_SEND_BYTES	6	/* sent bytes not counted */
#define EXFILMON_STAT_FLOW_FULL		7	/* (proc, object) carry table full */
#define EXFILMON_STAT_STREAM_FULL	8	/* streams table full */
#define EXFILMON_STAT_DERIVED_FULL	9	/* watched table full: a file
						 * written by a tainted process
						 * was not marked derived */
#define EXFILMON_STAT_LOST_TAINT_BYTES	10	/* taint not passed on: a
						 * table above was full */
#define EXFILMON_STAT_STALE		11	/* derived marks dropped: the
						 * inode was reused */
#define EXFILMON_STAT_REFUSED		12	/* prevent mode: connects,
						 * datagrams and packets
						 * refused (since ABI 3.2) */
#define EXFILMON_STAT_BLOCK_FULL	13	/* (proc, dest) refusals table
						 * full: a refusal not named */
#define EXFILMON_STAT_NR		16

/* Record types. */
#define EXFILMON_REC_FORK	1
#define EXFILMON_REC_EXEC	2
#define EXFILMON_REC_EXIT	3
#define EXFILMON_REC_READ	4
#define EXFILMON_REC_SEND	5
#define EXFILMON_REC_FLOW	6	/* rec_io: taint carried into an object */
#define EXFILMON_REC_DERIVED	7	/* rec_derived: a file became derived */
#define EXFILMON_REC_BLOCK	8	/* rec_block: prevent mode refused a
					 * transfer (since ABI 3.2) */

/* Which syscall produced a read or send record (exfilmon_rec_io.op). */
#define EXFILMON_OP_READ		1
#define EXFILMON_OP_PREAD64		2
#define EXFILMON_OP_READV		3
#define EXFILMON_OP_PREADV		4
#define EXFILMON_OP_PREADV2		5
#define EXFILMON_OP_SENDFILE		6
#define EXFILMON_OP_SPLICE		7
#define EXFILMON_OP_COPY_FILE_RANGE	8
#define EXFILMON_OP_MMAP		9
#define EXFILMON_OP_WRITE		10
#define EXFILMON_OP_WRITEV		11
#define EXFILMON_OP_SENDTO		12
#define EXFILMON_OP_SENDMSG		13
#define EXFILMON_OP_SENDMMSG		14
#define EXFILMON_OP_RECVFROM		15
#define EXFILMON_OP_RECVMSG		16
#define EXFILMON_OP_RECVMMSG		17
#define EXFILMON_OP_IO_URING		18
#define EXFILMON_OP_MMAP_SHARED		19	/* a shared writable mapping */
#define EXFILMON_OP_CONNECT		20	/* prevent mode: a refused connect() */
#define EXFILMON_OP_NR			21

/* Every record starts with this header. ts_ns is CLOCK_BOOTTIME. */
struct exfilmon_rec_hdr {
	__u16 type;
	__u16 size;	/* of the whole record */
	__u32 pad;
	__u64 ts_ns;
	struct exfilmon_pkey proc;
};

struct exfilmon_rec_fork {
	struct exfilmon_rec_hdr hdr;
	struct exfilmon_pkey parent;
	__u32 uid;
	__u32 pad;
	char comm[EXFILMON_COMM_LEN];
};

/*
 * exe is the path of the file the kernel runs (bprm->file), not the name
 * execve() was given: a symlink or a relative name would let a thief
 * choose what the alert calls it. The module writes it with d_path(); the
 * eBPF sensor cannot call that from a tracepoint, so it writes the names
 * leaf first as REC_DERIVED does, and says so in flags (since ABI 3.1;
 * a 3.0 daemon shows the leaf name only).
 */
#define EXFILMON_EXEC_TRUNCATED	0x1	/* more path above what is kept */
#define EXFILMON_EXEC_NAMES	0x2	/* exe holds names, leaf first */
/* with NAMES: the bytes of exe used, in the flags' top half */
#define EXFILMON_EXEC_NAMES_LEN(flags)	((flags) >> 16)

struct exfilmon_rec_exec {
	struct exfilmon_rec_hdr hdr;
	__u32 ppid;
	__u32 uid;
	__u32 args_len;	/* bytes used in args: NUL-separated argv */
	__u32 flags;	/* EXFILMON_EXEC_* */
	char comm[EXFILMON_COMM_LEN];
	char exe[EXFILMON_PATH_LEN];
	char args[EXFILMON_ARGS_LEN];
};

struct exfilmon_rec_exit {
	struct exfilmon_rec_hdr hdr;
	__u32 exit_code;
	__u32 tracked;	/* 1 when proc holds the final counters */
	struct exfilmon_proc proc;
};

/*
 * One movement of watched data, with the cumulative totals behind it, so a
 * lost record costs only timing detail: the next record, or a table read,
 * carries every byte.
 *  - REC_READ: the process took taint from object file (a configured watch:
 *    the bytes read; otherwise the taint the object passed on); peer is the
 *    object's last writer; total is the (proc, object) inflow.
 *  - REC_FLOW: the process carried taint into object file; total is the
 *    (proc, object) outflow.
 *  - REC_SEND: the process sent to dest; total is the (proc, dest) count.
 */
struct exfilmon_rec_io {
	struct exfilmon_rec_hdr hdr;
	__u64 delta;			/* bytes (of taint) moved by this call */
	__u32 op;			/* EXFILMON_OP_* */
	__u32 watch_id;			/* READ, FLOW: the data's watch */
	__u32 chan;			/* READ, FLOW: EXFILMON_CHAN_* */
	__u32 pad;
	struct exfilmon_count total;
	struct exfilmon_proc proc;	/* the process's counters so far */
	struct exfilmon_file_key file;	/* READ, FLOW: the object */
	struct exfilmon_dest dest;	/* SEND */
	struct exfilmon_pkey peer;	/* READ: the object's last writer */
};

#define EXFILMON_DERIVED_PATH_LEN 256
#define EXFILMON_DERIVED_TRUNCATED 0x1	/* more path above what is kept */

/*
 * A regular file was first written by a tainted process. path holds its
 * name components leaf first, each NUL-terminated, up to the root of the
 * mount namespace; path_len bytes are used.
 */
struct exfilmon_rec_derived {
	struct exfilmon_rec_hdr hdr;	/* proc: the writer */
	struct exfilmon_file_key key;
	struct exfilmon_obj obj;
	__u32 path_len;
	__u32 flags;			/* EXFILMON_DERIVED_* */
	char path[EXFILMON_DERIVED_PATH_LEN];
};

/*
 * Prevent mode (docs/prevent.md; since ABI 3.2). A process whose taint has
 * reached the threshold of its origin's policy is refused transfers to
 * destinations that are neither loopback nor internal, unless an override
 * names it and the destination. The sensor decides in the kernel, from the
 * same process table the detector fills; the daemon only configures it.
 *
 * The policy of one configured watch, by watch_id: present means prevent.
 */
struct exfilmon_prevent {
	__u64 threshold;	/* taint (bytes) at which a process is refused */
};

/*
 * An internal network: a longest-prefix-match key over 128 address bits,
 * IPv4 as ::ffff:a.b.c.d with prefixlen 96 + n. The last word is padding
 * that no entry's prefix reaches.
 */
struct exfilmon_net {
	__u32 prefixlen;
	__u8 addr[16];
	__u32 pad;
};

/*
 * An override (exfilctl allow): who may send to dest anyway, until when.
 *  - ALLOW_PID: id[0] the tgid, id[1] the process's start time in USER_HZ
 *    ticks since boot, as field 22 of /proc/PID/stat says it (so a reused
 *    pid is not allowed);
 *  - ALLOW_EXE: id[0], id[1] the dev and ino of the executable the process
 *    runs (the kernel's dev_t encoding, as exfilmon_file_key).
 * dest.port 0 allows every port of the address; dest.proto is always 0.
 */
#define EXFILMON_ALLOW_PID	1
#define EXFILMON_ALLOW_EXE	2
#define EXFILMON_USER_HZ	100	/* /proc's clock ticks (USER_HZ) */

struct exfilmon_allow_key {
	__u32 kind;		/* EXFILMON_ALLOW_* */
	__u32 pad;
	__u64 id[2];
	struct exfilmon_dest dest;
};

struct exfilmon_allow {
	__u64 until_ns;		/* CLOCK_BOOTTIME; the sensor ignores it after */
	__u64 id;		/* the override's number in the daemon's store */
};

/* How a refusal happened (exfilmon_rec_block.how). */
#define EXFILMON_BLOCK_CONNECT	1	/* connect() failed with EPERM */
#define EXFILMON_BLOCK_DGRAM	2	/* an unconnected datagram: EPERM */
#define EXFILMON_BLOCK_SEND	3	/* a send on a socket connected before:
					 * its packets are dropped; a TCP
					 * socket stays refused, and the
					 * daemon resets it */

/*
 * One refusal, announced as exfilmon_announce() says for its (process,
 * destination) count. local is the socket's own address and port, for the
 * daemon to find a TCP connection to reset (zero when not bound yet).
 */
struct exfilmon_rec_block {
	struct exfilmon_rec_hdr hdr;
	struct exfilmon_dest dest;
	struct exfilmon_dest local;
	__u32 how;			/* EXFILMON_BLOCK_* */
	__u32 op;			/* EXFILMON_OP_*, 0 when not known */
	__u64 threshold;		/* the policy's, when refused */
	struct exfilmon_count total;	/* refusals of (proc, dest): bytes
					 * are those refused where known */
	struct exfilmon_proc proc;	/* the process's counters */
};

/*
 * The kernel module's interface: /dev/exfilmon (misc device, 0600).
 * read() returns whole records (the formats above, back to back), blocking
 * unless O_NONBLOCK; poll() says when records wait. Each ioctl argument
 * starts with its own size and a flags word that must be 0, so the kernel
 * refuses what it does not understand (-EINVAL) rather than guess.
 */
#define EXFILMON_DEV_PATH	"/dev/exfilmon"
#define EXFILMON_IOC_MAGIC	0xDF

struct exfilmon_ioc_version {
	__u32 size;
	__u32 flags;
	__u32 abi_version;	/* out: major << 16 | minor */
	__u32 pad;
};

/*
 * WATCH_ADD: key and w (a configured watch, a derived file the daemon
 * restores, or an opaque executable); WATCH_RM: key; WATCH_RM_ID: every
 * configured entry (WATCH_*, not DERIVED or OPAQUE) with w.watch_id.
 */
struct exfilmon_ioc_watch {
	__u32 size;
	__u32 flags;
	struct exfilmon_file_key key;
	struct exfilmon_obj w;
};

/*
 * in: fk.fd, an fd of the caller's (O_PATH fds too); out: fk.key, as the
 * hooks see it
 */
struct exfilmon_ioc_fd_key {
	__u32 size;
	__u32 flags;
	struct exfilmon_fd_key fk;
};

struct exfilmon_ioc_stats {
	__u32 size;
	__u32 flags;
	__u64 stats[EXFILMON_STAT_NR];
};

/*
 * Effective table bounds, at most the module parameters' (which size the
 * memory the module holds); 0 keeps a bound as it is.
 */
struct exfilmon_ioc_limits {
	__u32 size;
	__u32 flags;
	__u32 max_procs;
	__u32 max_reads;
	__u32 max_sends;
	__u32 max_watch;
	__u32 max_streams;
	__u32 max_flows;
};

/*
 * PROC_GET: key in, proc out. PROC_FORGET: key. Both (and WATCH_RM) fail
 * with -ENOENT when the entry is absent.
 */
struct exfilmon_ioc_proc {
	__u32 size;
	__u32 flags;
	struct exfilmon_pkey key;
	struct exfilmon_proc proc;
};

#define EXFILMON_TABLE_PROCS	1	/* entries: exfilmon_proc_entry */
#define EXFILMON_TABLE_READS	2	/* exfilmon_read_entry */
#define EXFILMON_TABLE_SENDS	3	/* exfilmon_send_entry */
#define EXFILMON_TABLE_WATCHED	4	/* exfilmon_watch_entry */
#define EXFILMON_TABLE_STREAMS	5	/* exfilmon_watch_entry */
#define EXFILMON_TABLE_FLOWS	6	/* exfilmon_read_entry: outflows */
#define EXFILMON_TABLE_BLOCKS	7	/* exfilmon_send_entry: refusals */

struct exfilmon_proc_entry {
	struct exfilmon_pkey key;
	struct exfilmon_proc val;
};

struct exfilmon_read_entry {
	struct exfilmon_read_key key;
	struct exfilmon_count val;
};

struct exfilmon_send_entry {
	struct exfilmon_send_key key;
	struct exfilmon_count val;
};

struct exfilmon_watch_entry {
	struct exfilmon_file_key key;
	struct exfilmon_obj val;
};

#define EXFILMON_TABLE_BATCH_MAX 4096	/* TABLE_READ count is cut to this */

/*
 * TABLE_READ: copy up to count (1..) entries of table, starting at the
 * opaque cursor (0 first), to the array at buf; on return count holds how
 * many were copied and cursor where to go on (count 0: the end).
 * TABLE_DELETE: delete the count keys (entry layout, values ignored) at buf.
 * TABLE_LOOKUP: the count (1..EXFILMON_TABLE_BATCH_MAX) entries at buf
 * carry keys in; each one's value is filled in, or zeroed when the key is
 * absent (no counter has ops 0). cursor is ignored.
 */
struct exfilmon_ioc_table {
	__u32 size;
	__u32 flags;
	__u32 table;		/* EXFILMON_TABLE_* */
	__u32 count;
	__u64 cursor;
	__u64 buf;		/* user pointer */
};

#define EXFILMON_IOC_VERSION	_IOWR(EXFILMON_IOC_MAGIC, 0x00, \
				      struct exfilmon_ioc_version)
#define EXFILMON_IOC_WATCH_ADD	_IOW(EXFILMON_IOC_MAGIC, 0x01, \
				     struct exfilmon_ioc_watch)
#define EXFILMON_IOC_WATCH_RM	_IOW(EXFILMON_IOC_MAGIC, 0x02, \
				     struct exfilmon_ioc_watch)
#define EXFILMON_IOC_WATCH_RM_ID _IOW(EXFILMON_IOC_MAGIC, 0x03, \
				      struct exfilmon_ioc_watch)
#define EXFILMON_IOC_FD_KEY	_IOWR(EXFILMON_IOC_MAGIC, 0x04, \
				      struct exfilmon_ioc_fd_key)
#define EXFILMON_IOC_STATS	_IOWR(EXFILMON_IOC_MAGIC, 0x05, \
				      struct exfilmon_ioc_stats)
#define EXFILMON_IOC_SET_LIMITS	_IOW(EXFILMON_IOC_MAGIC, 0x06, \
				     struct exfilmon_ioc_limits)
#define EXFILMON_IOC_PROC_GET	_IOWR(EXFILMON_IOC_MAGIC, 0x07, \
				      struct exfilmon_ioc_proc)
#define EXFILMON_IOC_PROC_FORGET _IOW(EXFILMON_IOC_MAGIC, 0x08, \
				      struct exfilmon_ioc_proc)
#define EXFILMON_IOC_TABLE_READ	_IOWR(EXFILMON_IOC_MAGIC, 0x09, \
				      struct exfilmon_ioc_table)
#define EXFILMON_IOC_TABLE_DELETE _IOW(EXFILMON_IOC_MAGIC, 0x0a, \
				       struct exfilmon_ioc_table)

#define EXFILMON_IOC_TABLE_LOOKUP _IOWR(EXFILMON_IOC_MAGIC, 0x0b, \
				       struct exfilmon_ioc_table)

/*
 * Prevent mode in the module (since ABI 3.3; docs/prevent.md). POLICY
 * replaces the whole policy at once: the watches in prevent mode, each
 * with its threshold, and the internal networks (loopback is always
 * internal). nr_prevent 0 is detect mode everywhere. The arrays are the
 * eBPF sensor's map entries: its prevent map's (key, value) pairs and its
 * internal map's keys.
 */
#define EXFILMON_POLICY_WATCH_MAX	4096	/* nr_prevent at most */
#define EXFILMON_POLICY_NET_MAX		512	/* nr_internal at most */
#define EXFILMON_ALLOW_MAX		4096	/* overrides at once */

struct exfilmon_prevent_entry {
	__u32 watch_id;
	__u32 pad;
	struct exfilmon_prevent val;
};

/*
 * POLICY's one flag: remove every override as well, for a daemon that
 * starts afresh or stops: an override lives no longer than the daemon
 * that stored it.
 */
#define EXFILMON_POLICY_ALLOW_CLEAR	0x1

struct exfilmon_ioc_policy {
	__u32 size;
	__u32 flags;		/* EXFILMON_POLICY_* */
	__u32 nr_prevent;
	__u32 nr_internal;
	__u64 prevent;		/* user pointer: exfilmon_prevent_entry[] */
	__u64 internal;		/* user pointer: exfilmon_net[] */
};

/* ALLOW_ADD: add or replace key's override; ALLOW_RM: remove it (-ENOENT) */
struct exfilmon_ioc_allow {
	__u32 size;
	__u32 flags;
	struct exfilmon_allow_key key;
	struct exfilmon_allow val;	/* ignored by ALLOW_RM */
};

#define EXFILMON_IOC_POLICY	_IOW(EXFILMON_IOC_MAGIC, 0x0c, \
				     struct exfilmon_ioc_policy)
#define EXFILMON_IOC_ALLOW_ADD	_IOW(EXFILMON_IOC_MAGIC, 0x0d, \
				     struct exfilmon_ioc_allow)
#define EXFILMON_IOC_ALLOW_RM	_IOW(EXFILMON_IOC_MAGIC, 0x0e, \
				     struct exfilmon_ioc_allow)

#define EXFILMON_ABI_ASSERT(type, size) \
	_Static_assert(sizeof(struct type) == (size), \
		       "ABI: struct " #type " must be " #size " bytes")

#define EXFILMON_ABI_ASSERTS \
	EXFILMON_ABI_ASSERT(exfilmon_pkey, 16); \
	EXFILMON_ABI_ASSERT(exfilmon_file_key, 16); \
	EXFILMON_ABI_ASSERT(exfilmon_obj, 48); \
	EXFILMON_ABI_ASSERT(exfilmon_fd_key, 24); \
	EXFILMON_ABI_ASSERT(exfilmon_dest, 24); \
	EXFILMON_ABI_ASSERT(exfilmon_proc, 104); \
	EXFILMON_ABI_ASSERT(exfilmon_count, 32); \
	EXFILMON_ABI_ASSERT(exfilmon_read_key, 32); \
	EXFILMON_ABI_ASSERT(exfilmon_send_key, 40); \
	EXFILMON_ABI_ASSERT(exfilmon_rec_hdr, 32); \
	EXFILMON_ABI_ASSERT(exfilmon_rec_fork, 72); \
	EXFILMON_ABI_ASSERT(exfilmon_rec_exec, 576); \
	EXFILMON_ABI_ASSERT(exfilmon_rec_exit, 144); \
	EXFILMON_ABI_ASSERT(exfilmon_rec_io, 248); \
	EXFILMON_ABI_ASSERT(exfilmon_rec_derived, 360); \
	EXFILMON_ABI_ASSERT(exfilmon_prevent, 8); \
	EXFILMON_ABI_ASSERT(exfilmon_net, 24); \
	EXFILMON_ABI_ASSERT(exfilmon_allow_key, 48); \
	EXFILMON_ABI_ASSERT(exfilmon_allow, 16); \
	EXFILMON_ABI_ASSERT(exfilmon_rec_block, 232); \
	EXFILMON_ABI_ASSERT(exfilmon_ioc_version, 16); \
	EXFILMON_ABI_ASSERT(exfilmon_ioc_watch, 72); \
	EXFILMON_ABI_ASSERT(exfilmon_ioc_fd_key, 32); \
	EXFILMON_ABI_ASSERT(exfilmon_ioc_stats, 136); \
	EXFILMON_ABI_ASSERT(exfilmon_ioc_limits, 32); \
	EXFILMON_ABI_ASSERT(exfilmon_ioc_proc, 128); \
	EXFILMON_ABI_ASSERT(exfilmon_proc_entry, 120); \
	EXFILMON_ABI_ASSERT(exfilmon_read_entry, 64); \
	EXFILMON_ABI_ASSERT(exfilmon_send_entry, 72); \
	EXFILMON_ABI_ASSERT(exfilmon_watch_entry, 64); \
	EXFILMON_ABI_ASSERT(exfilmon_ioc_table, 32); \
	EXFILMON_ABI_ASSERT(exfilmon_prevent_entry, 16); \
	EXFILMON_ABI_ASSERT(exfilmon_ioc_policy, 32); \
	EXFILMON_ABI_ASSERT(exfilmon_ioc_allow, 72)

#endif /* EXFILMON_ABI_H */
