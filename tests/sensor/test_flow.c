// SPDX-License-Identifier: GPL-2.0-only
/*
 * The flow model (docs/flow.md) on a sensor (eBPF, or the module with
 * EXFILMON_SENSOR=kmod): real processes read a watched file and pass the
 * bytes on through pipes, FIFOs, files, Unix sockets, loopback TCP and UDP,
 * shared memory and fork. Each test states the ground truth (the bytes the
 * syscalls really moved) and asserts that the sensor's tables and records
 * hold exactly the taint the model gives for it.
 *
 * The test process must never become tainted itself, or every process it
 * forks later would start tainted. Children therefore report back through
 * an anonymous shared mapping made before they were forked (no syscall a
 * sensor sees), never through a pipe, and never write to stdout or stderr:
 * a log file written by a tainted process becomes derived.
 *
 * Writers finish before their readers start, except where a test says
 * otherwise: the numbers are then exact whatever the scheduling.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "sensor.h"
#include "sensor_key.h"
#include "customers.h"
#include "daemon_run.h"
#include "testhost.h"

#ifndef FS_IOC_GETVERSION
#define FS_IOC_GETVERSION _IOR('v', 1, long)
#endif

#define WATCH_ID	7	/* not 0 or 1: a default cannot pass for it */
#define BIG		(1 << 20)
#define DB_MIN_BYTES	BIG
/*
 * What most tests pass on: it fits a pipe, the socket buffers and 8 Unix
 * datagrams (net.unix.max_dgram_qlen is 10).
 */
#define N_TAINT		40000
#define CHUNK		5000
#define SHM_SIZE	65536
#define OP_PWRITE64	100	/* the ABI has no op of its own for it */

static const struct sensor_limits limits = {
	.max_procs = 4096, .max_reads = 4096, .max_sends = 4096,
	.max_watch = 1024, .max_streams = 1024, .max_flows = 4096,
	.ring_kib = 4096,
};

/* Children fill this in; it is mapped before they are forked. */
struct shared {
	int64_t ret[4];		/* each child's result */
	int64_t aux[4];		/* anything else a child has to say */
	sem_t step[2];		/* ordering between children */
};

/* Records kept for the tests to look at (READ, FLOW, SEND, DERIVED). */
struct recs {
	struct exfilmon_rec_io *io;
	size_t nio, capio;
	struct exfilmon_rec_derived *der;
	size_t nder, capder;
	unsigned int lost;	/* no memory to keep one */
};

struct flow_env {
	struct sensor *s;
	struct recs recs;
	struct shared *sh;
	char dir[64];
	char db[128];
	long db_size;
	struct exfilmon_file_key db_key;
	pid_t pids[64];		/* every process the test made */
	int npids;
	struct exfilmon_file_key keys[8];	/* entries the test added */
	int nkeys;
	char shm_path[96];	/* a /dev/shm file to remove */
};

/* Written by children only: in the test process it is never touched. */
static char data[BIG];

static bool key_eq(const struct exfilmon_file_key *a,
		   const struct exfilmon_file_key *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

#define EXPECT_PKEY(want, got) do { \
	EXPECT_EQ((want).tgid, (got).tgid); \
	EXPECT_EQ((want).start_ns, (got).start_ns); \
} while (0)

#define EXPECT_KEY(want, got) do { \
	EXPECT_EQ((want).dev, (got).dev); \
	EXPECT_EQ((want).ino, (got).ino); \
} while (0)

/* ------------------------------------------------------------------ */
/* Records */

static int keep_io(struct recs *r, const struct exfilmon_rec_hdr *h)
{
	if (r->nio == r->capio) {
		size_t cap = r->capio ? r->capio * 2 : 256;
		struct exfilmon_rec_io *n = realloc(r->io, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->io = n;
		r->capio = cap;
	}
	memcpy(&r->io[r->nio++], h, sizeof(*r->io));
	return 0;
}

static int keep_derived(struct recs *r, const struct exfilmon_rec_hdr *h)
{
	if (r->nder == r->capder) {
		size_t cap = r->capder ? r->capder * 2 : 32;
		struct exfilmon_rec_derived *n = realloc(r->der,
							 cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->der = n;
		r->capder = cap;
	}
	memcpy(&r->der[r->nder++], h, sizeof(*r->der));
	return 0;
}

static int on_record(void *ctx, const struct exfilmon_rec_hdr *h, size_t len)
{
	struct recs *r = ctx;
	int ret = 0;

	switch (h->type) {
	case EXFILMON_REC_READ:
	case EXFILMON_REC_FLOW:
	case EXFILMON_REC_SEND:
		if (len >= sizeof(struct exfilmon_rec_io))
			ret = keep_io(r, h);
		break;
	case EXFILMON_REC_DERIVED:
		if (len >= sizeof(struct exfilmon_rec_derived))
			ret = keep_derived(r, h);
		break;
	}
	if (ret)
		r->lost++;
	return 0;
}

/* Which io records io_sum() adds up; a zero field matches anything. */
struct io_match {
	uint16_t type;
	pid_t pid;
	const struct exfilmon_file_key *file;
};

struct io_seen {
	uint64_t delta;			/* the matches' deltas, summed */
	unsigned int nr;
	struct exfilmon_rec_io last;	/* the last match */
};

static struct io_seen io_sum(const struct recs *r, const struct io_match *m)
{
	struct io_seen s = { 0 };
	size_t i;

	for (i = 0; i < r->nio; i++) {
		const struct exfilmon_rec_io *io = &r->io[i];

		if ((m->type && io->hdr.type != m->type) ||
		    io->hdr.proc.tgid != (uint32_t)m->pid ||
		    (m->file && !key_eq(&io->file, m->file)))
			continue;
		s.delta += io->delta;
		s.nr++;
		s.last = *io;
	}
	return s;
}

/*
 * Poll the sensor until the matching records add up to want, for 2 s at
 * most: the tables are final when a child has been reaped, the records
 * may still be on their way.
 */
static struct io_seen io_wait(struct flow_env *e, uint16_t type, pid_t pid,
			      const struct exfilmon_file_key *file,
			      uint64_t want)
{
	struct io_match m = { .type = type, .pid = pid, .file = file };
	struct io_seen s;
	int i;

	for (i = 0; i < 200; i++) {
		e->s->ops->poll(e->s);
		s = io_sum(&e->recs, &m);
		if (s.delta >= want)
			break;
		usleep(10000);
	}
	return s;
}

/* Collect every record there is before asserting that one is absent. */
static void settle(struct flow_env *e)
{
	e->s->ops->poll(e->s);
	usleep(100000);
	e->s->ops->poll(e->s);
}

/* Records of any io type from pid, after settle(). */
static unsigned int io_count(struct flow_env *e, pid_t pid)
{
	struct io_match m = { .pid = pid };

	settle(e);
	return io_sum(&e->recs, &m).nr;
}

/* The REC_DERIVED records of key (waiting up to 2 s for one); the first. */
static int derived_wait(struct flow_env *e, const struct exfilmon_file_key *key,
			struct exfilmon_rec_derived *first)
{
	int i, nr = 0;
	size_t j;

	for (i = 0; i < 200 && !nr; i++) {
		e->s->ops->poll(e->s);
		for (j = 0; j < e->recs.nder; j++) {
			if (!key_eq(&e->recs.der[j].key, key))
				continue;
			if (!nr++)
				*first = e->recs.der[j];
		}
		if (!nr)
			usleep(10000);
	}
	return nr;
}

/*
 * The path a REC_DERIVED names: its components come leaf first, each
 * NUL-terminated. 0, or -1 when the record is malformed.
 */
static int derived_path(const struct exfilmon_rec_derived *d, char *out,
			size_t len)
{
	const char *comp[64];
	size_t n = 0, off = 0, used = 0;

	if (!d->path_len || d->path_len > sizeof(d->path) ||
	    d->path[d->path_len - 1])
		return -1;
	while (off < d->path_len) {
		if (n == ARRAY_SIZE(comp))
			return -1;
		comp[n++] = d->path + off;
		off += strlen(d->path + off) + 1;
	}
	out[0] = '\0';
	while (n--) {
		int w = snprintf(out + used, len - used, "/%s", comp[n]);

		if (w < 0 || (size_t)w >= len - used)
			return -1;
		used += w;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Tables */

struct proc_find {
	pid_t pid;
	int found;
	struct exfilmon_pkey key;
	struct exfilmon_proc proc;
};

static int proc_cb(void *ctx, const struct exfilmon_pkey *k,
		   const struct exfilmon_proc *p)
{
	struct proc_find *f = ctx;

	if (k->tgid == (uint32_t)f->pid) {
		f->key = *k;
		f->proc = *p;
		f->found++;
	}
	return 0;
}

/* The sensor's entry for (exited) process pid; found = 0 when none. */
static struct proc_find proc_of(struct flow_env *e, pid_t pid)
{
	struct proc_find f = { .pid = pid };

	if (e->s->ops->for_each_proc(e->s, proc_cb, &f) < 0)
		f.found = -1;
	return f;
}

struct count_find {
	pid_t pid;
	const struct exfilmon_file_key *file;	/* NULL: any object */
	int found;
	struct exfilmon_count c;	/* summed over the matches */
	struct exfilmon_read_key k;	/* the last match */
};

static int count_cb(void *ctx, const struct exfilmon_read_key *k,
		    const struct exfilmon_count *c)
{
	struct count_find *f = ctx;

	if (k->proc.tgid != (uint32_t)f->pid ||
	    (f->file && !key_eq(&k->file, f->file)))
		return 0;
	f->found++;
	f->c.bytes += c->bytes;
	f->c.ops += c->ops;
	f->k = *k;
	return 0;
}

/* pid's inflow (reads table) from file, or from any object */
static struct count_find inflow(struct flow_env *e, pid_t pid,
				const struct exfilmon_file_key *file)
{
	struct count_find f = { .pid = pid, .file = file };

	if (e->s->ops->for_each_read(e->s, count_cb, &f) < 0)
		f.found = -1;
	return f;
}

/* pid's outflow (flows table) into file, or into any object */
static struct count_find outflow(struct flow_env *e, pid_t pid,
				 const struct exfilmon_file_key *file)
{
	struct count_find f = { .pid = pid, .file = file };

	if (e->s->ops->for_each_flow(e->s, count_cb, &f) < 0)
		f.found = -1;
	return f;
}

static int send_cb(void *ctx, const struct exfilmon_send_key *k,
		   const struct exfilmon_count *c)
{
	struct count_find *f = ctx;

	if (k->proc.tgid == (uint32_t)f->pid) {
		f->found++;
		f->c.bytes += c->bytes;
	}
	return 0;
}

/* Every send entry of pid, whatever the destination. */
static struct count_find sends_of(struct flow_env *e, pid_t pid)
{
	struct count_find f = { .pid = pid };

	if (e->s->ops->for_each_send(e->s, send_cb, &f) < 0)
		f.found = -1;
	return f;
}

struct obj_find {
	const struct exfilmon_file_key *key;	/* NULL: match the writer */
	pid_t writer;
	int found;
	struct exfilmon_file_key k;
	struct exfilmon_obj o;
};

static int obj_cb(void *ctx, const struct exfilmon_file_key *k,
		  const struct exfilmon_obj *o)
{
	struct obj_find *f = ctx;

	if (f->key ? !key_eq(k, f->key) : o->writer.tgid != (uint32_t)f->writer)
		return 0;
	f->found++;
	f->k = *k;
	f->o = *o;
	return 0;
}

static struct obj_find watched_of(struct flow_env *e,
				  const struct exfilmon_file_key *key)
{
	struct obj_find f = { .key = key };

	if (e->s->ops->for_each_watched(e->s, obj_cb, &f) < 0)
		f.found = -1;
	return f;
}

static struct obj_find stream_of(struct flow_env *e,
				 const struct exfilmon_file_key *key)
{
	struct obj_find f = { .key = key };

	if (e->s->ops->for_each_stream(e->s, obj_cb, &f) < 0)
		f.found = -1;
	return f;
}

/*
 * The taint a stream still holds (0 when it has no entry): a stream read
 * dry may keep its entry until the daemon sweeps it (bpf/flow.h take()),
 * or lose it at once (the module deletes it under its lock).
 */
static uint64_t stream_left(struct flow_env *e,
			    const struct exfilmon_file_key *key)
{
	struct obj_find f = stream_of(e, key);

	return f.found > 0 ? f.o.taint : 0;
}

/* Watched entries (derived marks) whose last writer is pid. */
static int watched_by(struct flow_env *e, pid_t pid)
{
	struct obj_find f = { .writer = pid };

	if (e->s->ops->for_each_watched(e->s, obj_cb, &f) < 0)
		return -1;
	return f.found;
}

/* Stream entries whose last writer is pid. */
static int streams_by(struct flow_env *e, pid_t pid)
{
	struct obj_find f = { .writer = pid };

	if (e->s->ops->for_each_stream(e->s, obj_cb, &f) < 0)
		return -1;
	return f.found;
}

static uint64_t stat_of(struct flow_env *e, int idx)
{
	uint64_t st[EXFILMON_STAT_NR] = { 0 };

	if (e->s->ops->stats(e->s, st))
		return UINT64_MAX;
	return st[idx];
}

/* path's i_generation, where its filesystem tells (ext4, xfs, btrfs). */
static int file_gen(const char *path, uint32_t *gen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int g = 0, ret;

	if (fd < 0)
		return -1;
	/* the kernel stores an int, whatever the ioctl number says */
	ret = ioctl(fd, FS_IOC_GETVERSION, &g);
	close(fd);
	if (ret)
		return -1;
	*gen = g;
	return 0;
}

/* Add a watched-table entry, removed again at teardown. */
static int watch_add(struct flow_env *e, const struct exfilmon_file_key *key,
		     const struct exfilmon_obj *o)
{
	if (e->nkeys < (int)ARRAY_SIZE(e->keys))
		e->keys[e->nkeys++] = *key;
	return e->s->ops->watch_add(e->s, key, o);
}

/* ------------------------------------------------------------------ */
/* Processes */

static void note_pid(struct flow_env *e, pid_t pid)
{
	if (pid > 0 && e->npids < (int)ARRAY_SIZE(e->pids))
		e->pids[e->npids++] = pid;
}

typedef int64_t (*child_fn)(struct flow_env *e, const void *arg);

/* Fork a child running fn; its result goes to sh->ret[slot]. */
static pid_t spawn(struct flow_env *e, int slot, child_fn fn, const void *arg)
{
	pid_t pid;

	e->sh->ret[slot] = -1;
	pid = fork();
	if (!pid) {
		e->sh->ret[slot] = fn(e, arg);
		_exit(0);
	}
	note_pid(e, pid);
	return pid;
}

/* Wait for a child; its result, or -1 if it did not end well. */
static int64_t reap(struct flow_env *e, pid_t pid, int slot)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	return e->sh->ret[slot];
}

/* Run fn in a child to its end: its pid, its result in *ret. */
static pid_t run_child(struct flow_env *e, child_fn fn, const void *arg,
		       int64_t *ret)
{
	pid_t pid = spawn(e, 0, fn, arg);

	*ret = reap(e, pid, 0);
	return pid;
}

/* Exec exe as argv[0] with stdin from in_fd and stdout to /dev/null. */
static pid_t spawn_exec(struct flow_env *e, const char *exe, const char *arg0,
			int in_fd)
{
	pid_t pid = fork();

	if (!pid) {
		int null = open("/dev/null", O_WRONLY);

		if (null < 0 || dup2(in_fd, 0) < 0 || dup2(null, 1) < 0)
			_exit(126);
		execl(exe, arg0, (char *)NULL);
		_exit(127);
	}
	note_pid(e, pid);
	return pid;
}

static int exec_status(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* In a child: read exactly n bytes of the watched file into data. */
static int64_t db_read(const struct flow_env *e, size_t n)
{
	int fd = open(e->db, O_RDONLY);
	size_t got = 0;
	ssize_t r = 0;

	if (fd < 0 || n > sizeof(data))
		return -1;
	while (got < n && (r = read(fd, data + got, n - got)) > 0)
		got += r;
	close(fd);
	return got == n ? (int64_t)n : -1;
}

/* One write of len bytes by op (EXFILMON_OP_*); sendmmsg: chunk each. */
static ssize_t put_once(int fd, int op, const char *p, size_t len,
			size_t chunk, off_t off, const struct sockaddr *to,
			socklen_t tolen)
{
	struct iovec iov[4] = {
		{ (char *)p, len / 2 }, { (char *)p + len / 2, len - len / 2 },
	};
	struct msghdr msg = {
		.msg_name = (void *)to, .msg_namelen = tolen,
		.msg_iov = iov, .msg_iovlen = 2,
	};
	struct mmsghdr mm[4];
	ssize_t sum = 0;
	int i, k, n;

	switch (op) {
	case EXFILMON_OP_WRITE:
		return write(fd, p, len);
	case OP_PWRITE64:
		return pwrite(fd, p, len, off);
	case EXFILMON_OP_WRITEV:
		return writev(fd, iov, 2);
	case EXFILMON_OP_SENDTO:
		return sendto(fd, p, len, 0, to, tolen);
	case EXFILMON_OP_SENDMSG:
		return sendmsg(fd, &msg, 0);
	case EXFILMON_OP_SENDMMSG:
		memset(mm, 0, sizeof(mm));
		for (k = 0; k < 4 && k * chunk < len; k++) {
			size_t rest = len - k * chunk;

			iov[k].iov_base = (char *)p + k * chunk;
			iov[k].iov_len = rest < chunk ? rest : chunk;
			mm[k].msg_hdr.msg_iov = &iov[k];
			mm[k].msg_hdr.msg_iovlen = 1;
			mm[k].msg_hdr.msg_name = (void *)to;
			mm[k].msg_hdr.msg_namelen = tolen;
		}
		n = sendmmsg(fd, mm, k, 0);
		if (n <= 0)
			return -1;
		for (i = 0; i < n; i++)
			sum += mm[i].msg_len;
		return sum;
	}
	errno = EINVAL;
	return -1;
}

/* Write all n bytes of buf to fd by op, chunk bytes a call (a message). */
static int64_t put(int fd, int op, const char *buf, size_t n, size_t chunk,
		   const struct sockaddr *to, socklen_t tolen)
{
	size_t per = op == EXFILMON_OP_SENDMMSG ? 4 * chunk : chunk;
	size_t done = 0;

	while (done < n) {
		size_t len = n - done < per ? n - done : per;
		ssize_t w = put_once(fd, op, buf + done, len, chunk, done, to,
				     tolen);

		if (w <= 0)
			return -1;
		done += w;
	}
	return done;
}

/* One read of up to room bytes by op; recvmmsg: up to 4 messages. */
static ssize_t take_once(int fd, int op, char *buf, size_t room)
{
	struct iovec iov[4] = {
		{ buf, room / 2 }, { buf + room / 2, room - room / 2 },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct mmsghdr mm[4];
	ssize_t sum = 0;
	int i, n;

	switch (op) {
	case EXFILMON_OP_READ:
		return read(fd, buf, room);
	case EXFILMON_OP_READV:
		return readv(fd, iov, 2);
	case EXFILMON_OP_RECVFROM:
		return recvfrom(fd, buf, room, 0, (void *)&ss, &sl);
	case EXFILMON_OP_RECVMSG:
		return recvmsg(fd, &msg, 0);
	case EXFILMON_OP_RECVMMSG:
		memset(mm, 0, sizeof(mm));
		for (i = 0; i < 4; i++) {
			iov[i].iov_base = buf + i * 8192;
			iov[i].iov_len = 8192;
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		/*
		 * Block for the first message only; at the end of a stream
		 * every message comes back empty.
		 */
		n = recvmmsg(fd, mm, 4, MSG_WAITFORONE, NULL);
		if (n <= 0)
			return n;
		for (i = 0; i < n; i++)
			sum += mm[i].msg_len;
		return sum;
	}
	errno = EINVAL;
	return -1;
}

/* Read fd by op to its end, or until want bytes came (want 0: the end). */
static int64_t take(int fd, int op, size_t want)
{
	static char buf[4 * 8192];
	int64_t total = 0;
	ssize_t r;

	for (;;) {
		size_t room = 8192;

		if (want && want - total < room)
			room = want - total;
		r = take_once(fd, op, buf, room);
		if (r <= 0)
			break;
		total += r;
		if (want && (size_t)total >= want)
			break;
	}
	/* a short count says more in a failed expectation than -1 */
	return r < 0 && !total ? -1 : total;
}

/* ------------------------------------------------------------------ */
/* Setup */

static void env_teardown(struct flow_env *e);

static int env_setup(struct __test_metadata *_metadata, struct flow_env *e)
{
	struct exfilmon_obj w = { .flags = EXFILMON_WATCH_FILE,
				  .watch_id = WATCH_ID };
	char err[512];
	int i;

	if (geteuid())
		SKIP(return 1, "the sensors need root");
	e->sh = mmap(NULL, sizeof(*e->sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (e->sh == MAP_FAILED) {
		e->sh = NULL;
		return -1;
	}
	for (i = 0; i < 2; i++)
		if (sem_init(&e->sh->step[i], 1, 0))
			goto fail;
	/* as root the sensor must load: a refusal is a failure, not a skip */
	if (sensor_open(&e->s, sensor_under_test(), &limits, on_record,
			&e->recs, err, sizeof(err))) {
		TH_LOG("sensor %s: %s", sensor_under_test(), err);
		goto fail;
	}
	strcpy(e->dir, "/tmp/exfilmon-flow-XXXXXX");
	if (!mkdtemp(e->dir)) {
		e->dir[0] = '\0';
		goto fail;
	}
	snprintf(e->db, sizeof(e->db), "%s/customers.csv", e->dir);
	e->db_size = customers_write(e->db, DB_MIN_BYTES);
	if (e->db_size < DB_MIN_BYTES ||
	    sensor_path_key(e->s, e->db, &e->db_key) ||
	    watch_add(e, &e->db_key, &w))
		goto fail;
	return 0;
fail:
	env_teardown(e);
	return -1;
}

static bool ours(const struct flow_env *e, uint32_t tgid)
{
	int i;

	for (i = 0; i < e->npids; i++)
		if ((uint32_t)e->pids[i] == tgid)
			return true;
	return false;
}

static int forget_proc(void *ctx, const struct exfilmon_pkey *k,
		       const struct exfilmon_proc *p)
{
	return ours(ctx, k->tgid);
}

static int forget_count(void *ctx, const struct exfilmon_read_key *k,
			const struct exfilmon_count *c)
{
	return ours(ctx, k->proc.tgid);
}

static int forget_send(void *ctx, const struct exfilmon_send_key *k,
		       const struct exfilmon_count *c)
{
	return ours(ctx, k->proc.tgid);
}

static int forget_obj(void *ctx, const struct exfilmon_file_key *k,
		      const struct exfilmon_obj *o)
{
	const struct flow_env *e = ctx;
	int i;

	if (o->writer.tgid && ours(e, o->writer.tgid))
		return 1;
	for (i = 0; i < e->nkeys; i++)
		if (key_eq(k, &e->keys[i]))
			return 1;
	return 0;
}

/*
 * Remove what the test put into the sensor, in case its tables outlive
 * this session (pinned maps, a module that keeps them); then the files.
 */
static void env_teardown(struct flow_env *e)
{
	if (e->s) {
		const struct sensor_ops *ops = e->s->ops;

		ops->for_each_proc(e->s, forget_proc, e);
		ops->for_each_read(e->s, forget_count, e);
		ops->for_each_flow(e->s, forget_count, e);
		ops->for_each_send(e->s, forget_send, e);
		ops->for_each_stream(e->s, forget_obj, e);
		ops->for_each_watched(e->s, forget_obj, e);
		sensor_close(e->s);
		e->s = NULL;
	}
	if (e->shm_path[0])
		unlink(e->shm_path);
	if (e->dir[0])
		run("rm -rf %s", e->dir);
	if (e->sh)
		munmap(e->sh, sizeof(*e->sh));
	free(e->recs.io);
	free(e->recs.der);
	memset(&e->recs, 0, sizeof(e->recs));
}

/* ------------------------------------------------------------------ */
/* Relays: a writer passes bytes to a reader through one channel */

enum chan_kind {
	CH_PIPE = 1,
	CH_FIFO,
	CH_UNIX_PAIR,	/* socketpair(AF_UNIX, SOCK_STREAM) */
	CH_UNIX_STREAM,	/* connect() to a listener's path */
	CH_UNIX_DGRAM,	/* connect() to a bound datagram socket */
	CH_TCP4,
	CH_TCP6,
	CH_UDP4,
	CH_UDP6,
};

struct relay {
	int kind;		/* CH_* */
	int wop, rop;		/* EXFILMON_OP_* of writer and reader */
	int connect;		/* UDP: connect() rather than sendto() */
	bool wildcard;		/* UDP: the reader binds 0.0.0.0, the
				 * writer still sends to 127.0.0.1 */
	size_t n;		/* bytes the writer passes on */
	bool from_db;		/* read from the watched file, else junk */
	int wfd;		/* the writer's end, when made in advance */
	int rfd;		/* the reader's end, ditto */
	int lfd;		/* a listening socket */
	struct sockaddr_storage addr;	/* where the writer goes */
	socklen_t addrlen;
	char path[108];
};

static uint16_t addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

static int relay_inet(struct relay *r)
{
	bool v6 = r->kind == CH_TCP6 || r->kind == CH_UDP6;
	bool tcp = r->kind == CH_TCP4 || r->kind == CH_TCP6;
	socklen_t len;
	int fd, ret;

	memset(&r->addr, 0, sizeof(r->addr));
	if (v6) {
		struct sockaddr_in6 *a = (void *)&r->addr;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		r->addrlen = sizeof(*a);
	} else {
		struct sockaddr_in *a = (void *)&r->addr;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(r->wildcard ? INADDR_ANY :
					   INADDR_LOOPBACK);
		r->addrlen = sizeof(*a);
	}
	fd = socket(r->addr.ss_family, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (fd < 0)
		return -errno;
	len = r->addrlen;
	if (bind(fd, (void *)&r->addr, r->addrlen) ||
	    (tcp && listen(fd, 4)) ||
	    getsockname(fd, (void *)&r->addr, &len)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	if (r->wildcard && !v6)
		((struct sockaddr_in *)&r->addr)->sin_addr.s_addr =
			htonl(INADDR_LOOPBACK);
	if (tcp)
		r->lfd = fd;
	else
		r->rfd = fd;
	return 0;
}

static int relay_unix(struct flow_env *e, struct relay *r)
{
	struct sockaddr_un *un = (void *)&r->addr;
	bool stream = r->kind == CH_UNIX_STREAM;
	int fd, ret;

	snprintf(r->path, sizeof(r->path), "%s/%s.sock", e->dir,
		 stream ? "stream" : "dgram");
	unlink(r->path);
	memset(&r->addr, 0, sizeof(r->addr));
	un->sun_family = AF_UNIX;
	snprintf(un->sun_path, sizeof(un->sun_path), "%s", r->path);
	r->addrlen = sizeof(*un);
	fd = socket(AF_UNIX, stream ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (void *)un, r->addrlen) || (stream && listen(fd, 4))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	if (stream)
		r->lfd = fd;
	else
		r->rfd = fd;
	return 0;
}

/* Make the test's side of a relay of r->kind: 0 or -errno. */
static int relay_open(struct flow_env *e, struct relay *r)
{
	int p[2];

	r->wfd = r->rfd = r->lfd = -1;
	switch (r->kind) {
	case CH_PIPE:
		if (pipe(p))
			return -errno;
		r->rfd = p[0];
		r->wfd = p[1];
		return 0;
	case CH_FIFO:
		snprintf(r->path, sizeof(r->path), "%s/fifo", e->dir);
		unlink(r->path);
		if (mkfifo(r->path, 0600))
			return -errno;
		/*
		 * Held open, so the bytes outlive the writer until the
		 * reader opens the FIFO in turn.
		 */
		r->rfd = open(r->path, O_RDONLY | O_NONBLOCK);
		return r->rfd < 0 ? -errno : 0;
	case CH_UNIX_PAIR:
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, p))
			return -errno;
		r->wfd = p[0];
		r->rfd = p[1];
		return 0;
	case CH_UNIX_STREAM:
	case CH_UNIX_DGRAM:
		return relay_unix(e, r);
	case CH_TCP4:
	case CH_TCP6:
	case CH_UDP4:
	case CH_UDP6:
		return relay_inet(r);
	}
	return -EINVAL;
}

/* The writer is done: drop the test's write end, so the reader sees EOF. */
static void relay_writer_done(struct relay *r)
{
	if (r->wfd >= 0)
		close(r->wfd);
	r->wfd = -1;
}

static void relay_close(struct relay *r)
{
	relay_writer_done(r);
	if (r->rfd >= 0)
		close(r->rfd);
	if (r->lfd >= 0)
		close(r->lfd);
	r->rfd = r->lfd = -1;
}

/* In a child: the writer. Its local port goes to sh->aux[0]. */
static int64_t relay_write(struct flow_env *e, const void *arg)
{
	const struct relay *r = arg;
	const struct sockaddr *to = NULL;
	struct sockaddr_storage me;
	socklen_t tolen = 0, melen = sizeof(me);
	int fd = r->wfd, type = SOCK_STREAM;
	int64_t n;

	if (r->from_db) {
		if (db_read(e, r->n) < 0)
			return -1;
	} else {
		memset(data, 'x', r->n);
	}
	switch (r->kind) {
	case CH_FIFO:
		fd = open(r->path, O_WRONLY);
		break;
	case CH_UNIX_DGRAM:
	case CH_UDP4:
	case CH_UDP6:
		type = SOCK_DGRAM;
		/* fall through */
	case CH_UNIX_STREAM:
	case CH_TCP4:
	case CH_TCP6:
		fd = socket(r->addr.ss_family, type, 0);
		if (fd < 0)
			return -1;
		if (type == SOCK_DGRAM && r->kind != CH_UNIX_DGRAM &&
		    !r->connect) {
			to = (const void *)&r->addr;
			tolen = r->addrlen;
		} else if (connect(fd, (const void *)&r->addr, r->addrlen)) {
			return -1;
		}
		break;
	}
	if (fd < 0)
		return -1;
	if (!getsockname(fd, (void *)&me, &melen))
		e->sh->aux[0] = addr_port(&me);
	n = put(fd, r->wop, data, r->n, CHUNK, to, tolen);
	close(fd);
	return n;
}

/* In a child: the reader, to the end (datagrams: until n came). */
static int64_t relay_read(struct flow_env *e, const void *arg)
{
	const struct relay *r = arg;
	struct timeval tv = { .tv_sec = 3 };
	size_t want = 0;
	int fd = r->rfd;

	/*
	 * A reader forked while the writer runs must not hold the write
	 * end too, or it never sees the end.
	 */
	if (r->wfd >= 0)
		close(r->wfd);
	switch (r->kind) {
	case CH_FIFO:
		/* no writer is left: read() gives the bytes, then EOF */
		fd = open(r->path, O_RDONLY | O_NONBLOCK);
		break;
	case CH_UNIX_STREAM:
	case CH_TCP4:
	case CH_TCP6:
		fd = accept(r->lfd, NULL, NULL);
		break;
	case CH_UNIX_DGRAM:
	case CH_UDP4:
	case CH_UDP6:
		/* datagrams have no end: a lost one fails the count, late */
		want = r->n;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
			return -1;
		break;
	}
	if (fd < 0)
		return -1;
	return take(fd, r->rop, want);
}

/*
 * The key docs/flow.md gives the object r carries bytes through, seen from
 * the writer, whose local port is wport. 1: exact; 0: only the tag is
 * known (Unix sockets: the id of the receiving socket is opaque).
 */
static int relay_key(struct flow_env *e, const struct relay *r,
		     uint16_t wport, struct exfilmon_file_key *k)
{
	uint32_t lo4 = htonl(INADDR_LOOPBACK);	/* network order u32 */
	uint64_t port = addr_port(&r->addr);
	uint64_t tcp = (uint64_t)EXFILMON_PROTO_TCP << 40;
	uint64_t udp = (uint64_t)EXFILMON_PROTO_UDP << 40;

	switch (r->kind) {
	case CH_PIPE:
	case CH_FIFO:
		return e->s->ops->fd_key(e->s, r->rfd, k) ? -1 : 1;
	case CH_TCP4:
		k->dev = EXFILMON_KEY_TAG_INET | tcp | (uint64_t)wport << 16 |
			 port;
		k->ino = (uint64_t)lo4 << 32 | lo4;
		return 1;
	case CH_TCP6:
		k->dev = EXFILMON_KEY_TAG_INET | tcp | (uint64_t)wport << 16 |
			 port;
		k->ino = 0;
		return 1;
	case CH_UDP4:
		/* a receiver is keyed by its port alone (exfilmon_abi.h) */
		k->dev = EXFILMON_KEY_TAG_INET | udp | port;
		k->ino = 0;
		return 1;
	case CH_UDP6:
		k->dev = EXFILMON_KEY_TAG_INET | udp | port;
		k->ino = 0;
		return 1;
	}
	k->dev = EXFILMON_KEY_TAG_UNIX;
	k->ino = 0;
	return 0;
}

FIXTURE(relay) {
	struct flow_env e;
	struct relay r;
};

FIXTURE_VARIANT(relay) {
	int kind;
	int wop;
	int rop;
	int connect;
	uint32_t chan;	/* EXFILMON_CHAN_* the sensor must name */
	bool wildcard;
};

#define RELAY(name, k, w, r, conn, ch) \
	FIXTURE_VARIANT_ADD(relay, name) { \
		.kind = k, .wop = EXFILMON_OP_##w, .rop = EXFILMON_OP_##r, \
		.connect = conn, .chan = EXFILMON_CHAN_##ch, \
	}

RELAY(pipe_write_read, CH_PIPE, WRITE, READ, 0, PIPE);
RELAY(pipe_writev_readv, CH_PIPE, WRITEV, READV, 0, PIPE);
RELAY(fifo_write_read, CH_FIFO, WRITE, READ, 0, PIPE);
RELAY(unix_pair_write_read, CH_UNIX_PAIR, WRITE, READ, 0, UNIX);
RELAY(unix_pair_sendmsg_recvmsg, CH_UNIX_PAIR, SENDMSG, RECVMSG, 0, UNIX);
RELAY(unix_stream_send_recvfrom, CH_UNIX_STREAM, SENDTO, RECVFROM, 0, UNIX);
RELAY(unix_stream_writev_recvmmsg, CH_UNIX_STREAM, WRITEV, RECVMMSG, 0,
	UNIX);
RELAY(unix_dgram_write_read, CH_UNIX_DGRAM, WRITE, READ, 0, UNIX);
RELAY(unix_dgram_sendmmsg_recvmmsg, CH_UNIX_DGRAM, SENDMMSG, RECVMMSG, 0,
	UNIX);
RELAY(tcp4_write_read, CH_TCP4, WRITE, READ, 0, TCP);
RELAY(tcp4_writev_readv, CH_TCP4, WRITEV, READV, 0, TCP);
RELAY(tcp4_send_recvfrom, CH_TCP4, SENDTO, RECVFROM, 0, TCP);
RELAY(tcp4_sendmsg_recvmsg, CH_TCP4, SENDMSG, RECVMSG, 0, TCP);
RELAY(tcp4_sendmmsg_recvmmsg, CH_TCP4, SENDMMSG, RECVMMSG, 0, TCP);
RELAY(tcp6_write_read, CH_TCP6, WRITE, READ, 0, TCP);
RELAY(tcp6_sendmsg_recvmmsg, CH_TCP6, SENDMSG, RECVMMSG, 0, TCP);
RELAY(udp4_sendto_recvfrom, CH_UDP4, SENDTO, RECVFROM, 0, UDP);
RELAY(udp4_sendmsg_recvmsg, CH_UDP4, SENDMSG, RECVMSG, 0, UDP);
RELAY(udp4_sendmmsg_recvmmsg, CH_UDP4, SENDMMSG, RECVMMSG, 0, UDP);
RELAY(udp4_sendto_readv, CH_UDP4, SENDTO, READV, 0, UDP);
RELAY(udp4_connected_write_read, CH_UDP4, WRITE, READ, 1, UDP);
RELAY(udp6_sendto_recvfrom, CH_UDP6, SENDTO, RECVFROM, 0, UDP);
/* a DNS-style receiver on 0.0.0.0, reached as 127.0.0.1 */
FIXTURE_VARIANT_ADD(relay, udp4_wildcard_receiver) {
	.kind = CH_UDP4, .wop = EXFILMON_OP_SENDTO,
	.rop = EXFILMON_OP_RECVFROM, .chan = EXFILMON_CHAN_UDP,
	.wildcard = true,
};

FIXTURE_SETUP(relay)
{
	int ret = env_setup(_metadata, &self->e);

	if (ret == 1)
		return;
	ASSERT_EQ(0, ret);
	self->r.kind = variant->kind;
	self->r.wop = variant->wop;
	self->r.rop = variant->rop;
	self->r.connect = variant->connect;
	self->r.wildcard = variant->wildcard;
	self->r.n = N_TAINT;
	self->r.from_db = true;
	ret = relay_open(&self->e, &self->r);
	if (ret == -EADDRNOTAVAIL || ret == -EAFNOSUPPORT)
		SKIP(return, "no IPv6 loopback here: %s", strerror(-ret));
	ASSERT_EQ(0, ret) TH_LOG("relay: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(relay)
{
	relay_close(&self->r);
	env_teardown(&self->e);
}

TEST_F(relay, reader_takes_exactly_what_the_writer_passed)
{
	struct flow_env *e = &self->e;
	struct relay *r = &self->r;
	struct exfilmon_file_key key, want;
	struct proc_find w, rd;
	struct count_find out, in;
	struct obj_find st;
	struct io_seen seen;
	int64_t wrote, got;
	pid_t wpid, rpid;
	int exact;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	/* the writer reads N watched bytes and passes all of them on */
	wpid = run_child(e, relay_write, r, &wrote);
	ASSERT_EQ(N_TAINT, wrote);
	relay_writer_done(r);
	w = proc_of(e, wpid);
	ASSERT_EQ(1, w.found);
	EXPECT_EQ(N_TAINT, w.proc.bytes_read);
	EXPECT_EQ(N_TAINT, w.proc.taint);
	EXPECT_EQ(N_TAINT, w.proc.carried);
	EXPECT_EQ(WATCH_ID, w.proc.watch_id);
	EXPECT_EQ(EXFILMON_CHAN_READ, w.proc.src_chan);
	EXPECT_EQ(0, w.proc.src.tgid);
	EXPECT_KEY(e->db_key, w.proc.src_obj);
	/* loopback is no destination: nothing sent, nothing to count */
	EXPECT_EQ(0, w.proc.bytes_sent);
	EXPECT_EQ(0, sends_of(e, wpid).found);

	/* one object, holding exactly what went in */
	out = outflow(e, wpid, NULL);
	ASSERT_EQ(1, out.found);
	EXPECT_EQ(N_TAINT, out.c.bytes);
	key = out.k.file;
	exact = relay_key(e, r, e->sh->aux[0], &want);
	ASSERT_LE(0, exact);
	if (exact) {
		EXPECT_KEY(want, key);
	} else {
		EXPECT_EQ(EXFILMON_KEY_TAG_UNIX, key.dev);
		EXPECT_NE(0, key.ino);
	}
	st = stream_of(e, &key);
	ASSERT_EQ(1, st.found);
	EXPECT_EQ(N_TAINT, st.o.taint);
	EXPECT_EQ(variant->chan, st.o.chan);
	EXPECT_EQ(WATCH_ID, st.o.watch_id);
	EXPECT_TRUE(st.o.flags & EXFILMON_OBJ_STREAM);
	EXPECT_PKEY(w.key, st.o.writer);
	/* a pipe or a FIFO is never a derived file */
	EXPECT_EQ(0, watched_of(e, &key).found);

	/* the reader takes all of it, from that object, from that writer */
	rpid = run_child(e, relay_read, r, &got);
	ASSERT_EQ(N_TAINT, got);
	rd = proc_of(e, rpid);
	ASSERT_EQ(1, rd.found);
	EXPECT_EQ(N_TAINT, rd.proc.taint);
	EXPECT_EQ(0, rd.proc.bytes_read);
	EXPECT_EQ(0, rd.proc.carried);
	EXPECT_EQ(WATCH_ID, rd.proc.watch_id);
	EXPECT_EQ(variant->chan, rd.proc.src_chan);
	EXPECT_PKEY(w.key, rd.proc.src);
	EXPECT_KEY(key, rd.proc.src_obj);
	EXPECT_EQ(N_TAINT, rd.proc.src_bytes);
	in = inflow(e, rpid, &key);
	EXPECT_EQ(1, in.found);
	EXPECT_EQ(N_TAINT, in.c.bytes);
	/* read to zero, the stream holds nothing */
	EXPECT_EQ(0, stream_left(e, &key));

	/* the records tell the same story */
	seen = io_wait(e, EXFILMON_REC_FLOW, wpid, &key, N_TAINT);
	EXPECT_EQ(N_TAINT, seen.delta);
	EXPECT_EQ(variant->chan, seen.last.chan);
	EXPECT_EQ(variant->wop, seen.last.op);
	EXPECT_EQ(WATCH_ID, seen.last.watch_id);
	EXPECT_EQ(N_TAINT, seen.last.total.bytes);
	seen = io_wait(e, EXFILMON_REC_READ, rpid, &key, N_TAINT);
	EXPECT_EQ(N_TAINT, seen.delta);
	EXPECT_EQ(variant->chan, seen.last.chan);
	EXPECT_EQ(variant->rop, seen.last.op);
	EXPECT_EQ(WATCH_ID, seen.last.watch_id);
	EXPECT_EQ(N_TAINT, seen.last.total.bytes);
	EXPECT_PKEY(w.key, seen.last.peer);
	EXPECT_EQ(0, io_wait(e, EXFILMON_REC_SEND, wpid, NULL, 0).nr);
}

/* ------------------------------------------------------------------ */
/* Tests on one fixture: streams, files, fork, opaque executables */

FIXTURE(flow) {
	struct flow_env e;
};

FIXTURE_SETUP(flow)
{
	int ret = env_setup(_metadata, &self->e);

	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(flow)
{
	env_teardown(&self->e);
}

struct rest_arg {
	const struct relay *r;
	size_t first;	/* read exactly this much, then stop */
};

static int64_t read_some(struct flow_env *e, const void *arg)
{
	const struct rest_arg *a = arg;

	return take(a->r->rfd, EXFILMON_OP_READ, a->first);
}

TEST_F(flow, stream_taint_is_consumed_once_by_its_readers)
{
	struct flow_env *e = &self->e;
	struct relay r = { .kind = CH_PIPE, .wop = EXFILMON_OP_WRITE,
			   .rop = EXFILMON_OP_READ, .n = N_TAINT,
			   .from_db = true };
	struct rest_arg first = { &r, 10000 }, rest = { &r, 0 };
	struct exfilmon_file_key key;
	struct proc_find r1, r2;
	int64_t wrote, got;
	pid_t wpid, p1, p2;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_EQ(0, relay_open(e, &r));
	ASSERT_EQ(0, e->s->ops->fd_key(e->s, r.rfd, &key));
	wpid = run_child(e, relay_write, &r, &wrote);
	relay_writer_done(&r);
	ASSERT_EQ(N_TAINT, wrote);
	ASSERT_EQ(1, proc_of(e, wpid).found);

	/* the first reader takes what it read, the stream keeps the rest */
	p1 = run_child(e, read_some, &first, &got);
	ASSERT_EQ(10000, got);
	r1 = proc_of(e, p1);
	ASSERT_EQ(1, r1.found);
	EXPECT_EQ(10000, r1.proc.taint);
	EXPECT_EQ(N_TAINT - 10000, stream_of(e, &key).o.taint);

	p2 = run_child(e, read_some, &rest, &got);
	ASSERT_EQ(N_TAINT - 10000, got);
	r2 = proc_of(e, p2);
	ASSERT_EQ(1, r2.found);
	EXPECT_EQ(N_TAINT - 10000, r2.proc.taint);
	EXPECT_EQ(N_TAINT - 10000, inflow(e, p2, &key).c.bytes);
	EXPECT_EQ(0, stream_left(e, &key));
	relay_close(&r);
}

/*
 * cat db | nc: the reader runs alongside the writer, waking up as soon as
 * bytes are in the pipe. Every byte it gets was watched data. Several
 * rounds, since the scheduling decides where a race would fall.
 */
TEST_F(flow, concurrent_pipe_reader_takes_every_byte)
{
	struct flow_env *e = &self->e;
	struct exfilmon_file_key key;
	struct proc_find rd;
	pid_t wpid, rpid;
	int round;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	for (round = 0; round < 4; round++) {
		struct relay r = { .kind = CH_PIPE, .wop = EXFILMON_OP_WRITE,
				   .rop = EXFILMON_OP_READ, .n = BIG,
				   .from_db = true };

		ASSERT_EQ(0, relay_open(e, &r));
		ASSERT_EQ(0, e->s->ops->fd_key(e->s, r.rfd, &key));
		rpid = spawn(e, 1, relay_read, &r);
		wpid = spawn(e, 0, relay_write, &r);
		relay_close(&r);
		ASSERT_EQ(BIG, reap(e, wpid, 0));
		ASSERT_EQ(BIG, reap(e, rpid, 1));
		EXPECT_EQ(BIG, outflow(e, wpid, &key).c.bytes)
			TH_LOG("round %d", round);
		rd = proc_of(e, rpid);
		ASSERT_EQ(1, rd.found);
		EXPECT_EQ(BIG, rd.proc.taint) TH_LOG("round %d", round);
		EXPECT_EQ(BIG, inflow(e, rpid, &key).c.bytes)
			TH_LOG("round %d", round);
		/* what no reader took would be left in the stream */
		EXPECT_EQ(0, stream_of(e, &key).o.taint)
			TH_LOG("round %d", round);
	}
}

/* 300 bytes of taint, 1 MiB written: a pipe and a file carry 300 each. */
struct cap_arg {
	int pipe_fd;
	const char *path;
};

static int64_t cap_writer(struct flow_env *e, const void *arg)
{
	const struct cap_arg *a = arg;
	int64_t ret = -1;
	int fd;

	if (db_read(e, 300) < 0)
		return -1;
	memset(data, 'L', BIG);	/* a chatty logger: 4 KiB a line */
	if (put(a->pipe_fd, EXFILMON_OP_WRITE, data, BIG, 4096, NULL, 0) !=
	    BIG)
		return -1;
	close(a->pipe_fd);
	fd = open(a->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	if (put(fd, EXFILMON_OP_WRITE, data, BIG, 4096, NULL, 0) != BIG)
		goto out;
	/* 200 more bytes of taint: the file may take those too, no more */
	if (db_read(e, 200) < 0 ||
	    put(fd, EXFILMON_OP_WRITE, data, 4096, 4096, NULL, 0) != 4096)
		goto out;
	ret = 0;
out:
	close(fd);
	return ret;
}

TEST_F(flow, carry_is_capped_by_the_writers_taint_per_object)
{
	struct flow_env *e = &self->e;
	struct relay r = { .kind = CH_PIPE, .rop = EXFILMON_OP_READ };
	struct exfilmon_file_key pkey, fkey;
	struct cap_arg a;
	struct proc_find w, rd;
	char path[160];
	pid_t wpid, rpid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	snprintf(path, sizeof(path), "%s/app.log", e->dir);
	ASSERT_EQ(0, relay_open(e, &r));
	ASSERT_EQ(0, e->s->ops->fd_key(e->s, r.rfd, &pkey));
	a.pipe_fd = r.wfd;
	a.path = path;
	/*
	 * The reader runs alongside: the taint goes in with the first
	 * line, and many lines come after it.
	 */
	rpid = spawn(e, 1, relay_read, &r);
	wpid = spawn(e, 0, cap_writer, &a);
	relay_close(&r);
	ASSERT_EQ(0, reap(e, wpid, 0));
	ASSERT_EQ(BIG, reap(e, rpid, 1));
	ASSERT_EQ(0, sensor_path_key(e->s, path, &fkey));

	w = proc_of(e, wpid);
	ASSERT_EQ(1, w.found);
	EXPECT_EQ(500, w.proc.taint);
	EXPECT_EQ(300 + 500, w.proc.carried);
	EXPECT_EQ(300, outflow(e, wpid, &pkey).c.bytes);
	EXPECT_EQ(500, outflow(e, wpid, &fkey).c.bytes);
	EXPECT_EQ(500, watched_of(e, &fkey).o.taint);
	EXPECT_EQ(300, io_wait(e, EXFILMON_REC_FLOW, wpid, &pkey, 300).delta);
	EXPECT_EQ(500, io_wait(e, EXFILMON_REC_FLOW, wpid, &fkey, 500).delta);

	rd = proc_of(e, rpid);
	ASSERT_EQ(1, rd.found);
	EXPECT_EQ(300, rd.proc.taint);
	EXPECT_EQ(300, inflow(e, rpid, &pkey).c.bytes);
	EXPECT_EQ(0, stream_left(e, &pkey));
}

/* ------------------------------------------------------------------ */
/* Derived files */

struct derive_arg {
	const char *path;
	int op;		/* EXFILMON_OP_* or OP_PWRITE64 */
	size_t n;
};

/* In a child: write n bytes of the watched file into a new file. */
static int64_t derive_write(struct flow_env *e, const void *arg)
{
	const struct derive_arg *a = arg;
	int64_t ret = -1;
	size_t done = 0;
	int in, out;
	ssize_t n;

	out = open(a->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (out < 0)
		return -1;
	if (a->op == EXFILMON_OP_COPY_FILE_RANGE ||
	    a->op == EXFILMON_OP_SENDFILE) {
		/* cp: one syscall reads the watched file and writes the copy */
		in = open(e->db, O_RDONLY);
		while (in >= 0 && done < a->n) {
			if (a->op == EXFILMON_OP_COPY_FILE_RANGE)
				n = copy_file_range(in, NULL, out, NULL,
						    a->n - done, 0);
			else
				n = sendfile(out, in, NULL, a->n - done);
			if (n <= 0)
				break;
			done += n;
		}
		if (in >= 0)
			close(in);
		if (done == a->n)
			ret = done;
	} else if (db_read(e, a->n) == (int64_t)a->n) {
		ret = put(out, a->op, data, a->n, CHUNK, NULL, 0);
	}
	close(out);
	return ret;
}

FIXTURE(derived) {
	struct flow_env e;
};

FIXTURE_VARIANT(derived) {
	int op;		/* how the writer writes */
	int rec_op;	/* the op its FLOW records name; 0: not in the ABI */
};

FIXTURE_VARIANT_ADD(derived, write) {
	.op = EXFILMON_OP_WRITE, .rec_op = EXFILMON_OP_WRITE,
};
FIXTURE_VARIANT_ADD(derived, writev) {
	.op = EXFILMON_OP_WRITEV, .rec_op = EXFILMON_OP_WRITEV,
};
FIXTURE_VARIANT_ADD(derived, pwrite64) { .op = OP_PWRITE64, .rec_op = 0 };
FIXTURE_VARIANT_ADD(derived, copy_file_range) {
	.op = EXFILMON_OP_COPY_FILE_RANGE,
	.rec_op = EXFILMON_OP_COPY_FILE_RANGE,
};
FIXTURE_VARIANT_ADD(derived, sendfile) {
	.op = EXFILMON_OP_SENDFILE, .rec_op = EXFILMON_OP_SENDFILE,
};

FIXTURE_SETUP(derived)
{
	int ret = env_setup(_metadata, &self->e);

	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(derived)
{
	env_teardown(&self->e);
}

TEST_F(derived, file_written_by_a_tainted_process_is_marked)
{
	struct flow_env *e = &self->e;
	char path[160], real[PATH_MAX], named[PATH_MAX];
	struct derive_arg a = { path, variant->op, N_TAINT };
	struct exfilmon_rec_derived d;
	struct exfilmon_file_key key;
	struct count_find out;
	struct proc_find w;
	struct obj_find m;
	struct io_seen seen;
	int64_t wrote;
	uint32_t gen;
	pid_t wpid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	snprintf(path, sizeof(path), "%s/notes.txt", e->dir);
	wpid = run_child(e, derive_write, &a, &wrote);
	ASSERT_EQ(N_TAINT, wrote);
	ASSERT_EQ(0, sensor_path_key(e->s, path, &key));

	w = proc_of(e, wpid);
	ASSERT_EQ(1, w.found);
	/* cp: the copier is tainted by what it read, the copy by it */
	EXPECT_EQ(N_TAINT, w.proc.bytes_read);
	EXPECT_EQ(N_TAINT, w.proc.taint);
	EXPECT_EQ(N_TAINT, w.proc.carried);
	out = outflow(e, wpid, NULL);
	EXPECT_EQ(1, out.found);
	out = outflow(e, wpid, &key);
	EXPECT_EQ(1, out.found);
	EXPECT_EQ(N_TAINT, out.c.bytes);

	m = watched_of(e, &key);
	ASSERT_EQ(1, m.found);
	EXPECT_EQ(EXFILMON_OBJ_DERIVED, m.o.flags);
	EXPECT_EQ(WATCH_ID, m.o.watch_id);
	EXPECT_EQ(EXFILMON_CHAN_FILE, m.o.chan);
	EXPECT_EQ(N_TAINT, m.o.taint);
	EXPECT_PKEY(w.key, m.o.writer);
	if (!file_gen(path, &gen)) {
		EXPECT_EQ(gen, m.o.gen);
	} else {
		/* tmpfs has generations but no ioctl to read them */
		EXPECT_NE(0, m.o.gen);
	}
	/* a regular file is no stream */
	EXPECT_EQ(0, stream_of(e, &key).found);

	/* marked once, by that writer, with the path it has */
	ASSERT_EQ(1, derived_wait(e, &key, &d));
	EXPECT_EQ(wpid, d.hdr.proc.tgid);
	EXPECT_EQ(EXFILMON_OBJ_DERIVED, d.obj.flags);
	EXPECT_EQ(WATCH_ID, d.obj.watch_id);
	EXPECT_EQ(EXFILMON_CHAN_FILE, d.obj.chan);
	EXPECT_EQ(m.o.gen, d.obj.gen);
	EXPECT_EQ(0, d.flags);
	ASSERT_EQ(0, derived_path(&d, named, sizeof(named)));
	ASSERT_NE(NULL, realpath(path, real));
	EXPECT_STREQ(real, named);

	seen = io_wait(e, EXFILMON_REC_FLOW, wpid, &key, N_TAINT);
	EXPECT_EQ(N_TAINT, seen.delta);
	EXPECT_EQ(EXFILMON_CHAN_FILE, seen.last.chan);
	if (variant->rec_op)
		EXPECT_EQ(variant->rec_op, seen.last.op);
	EXPECT_EQ(N_TAINT, seen.last.total.bytes);
	seen = io_wait(e, EXFILMON_REC_READ, wpid, &e->db_key, N_TAINT);
	EXPECT_EQ(N_TAINT, seen.delta);
	EXPECT_EQ(EXFILMON_CHAN_READ, seen.last.chan);
	if (variant->op == EXFILMON_OP_COPY_FILE_RANGE ||
	    variant->op == EXFILMON_OP_SENDFILE)
		EXPECT_EQ(variant->op, seen.last.op);
}

struct read_arg {
	const char *path;
	size_t first;	/* read this many bytes first, then */
	int times;	/* the whole file this many times */
	bool map;	/* map it readable instead, and touch every byte */
};

/* In a child: read a file as told; the bytes it read. */
static int64_t read_path(struct flow_env *e, const void *arg)
{
	const struct read_arg *a = arg;
	int64_t total = 0, n, sum = 0;
	struct stat st;
	char *m;
	int fd, i;
	off_t j;

	fd = open(a->path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		return -1;
	if (a->map) {
		m = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			return -1;
		/* every byte read, and the sum used, so none is skipped */
		for (j = 0; j < st.st_size; j++)
			sum += m[j];
		e->sh->aux[1] = sum;
		munmap(m, st.st_size);
		close(fd);
		return st.st_size;
	}
	if (a->first) {
		n = take(fd, EXFILMON_OP_READ, a->first);
		if (n < 0)
			return -1;
		total += n;
	}
	for (i = 0; i < a->times; i++) {
		if (lseek(fd, 0, SEEK_SET))
			return -1;
		n = take(fd, EXFILMON_OP_READ, 0);
		if (n < 0)
			return -1;
		total += n;
	}
	close(fd);
	return total;
}

/* In a child: read a whole file with read(), as often as told. */
static int64_t read_all(struct flow_env *e, const char *path, int times)
{
	struct read_arg a = { .path = path, .times = times };

	return read_path(e, &a);
}

static int64_t write_notes(struct flow_env *e, const void *path)
{
	struct derive_arg a = { path, EXFILMON_OP_WRITE, N_TAINT };

	return derive_write(e, &a);
}

TEST_F(flow, derived_mark_follows_the_inode_and_caps_rereads)
{
	struct flow_env *e = &self->e;
	char path[160], moved[160], linked[160];
	struct read_arg twice = { .path = linked, .first = 10000, .times = 2 };
	struct read_arg again = { .path = moved, .times = 1 };
	struct exfilmon_file_key key, lkey;
	struct proc_find w, rd, rd2;
	struct io_seen seen;
	int64_t got;
	pid_t wpid, rpid, rpid2;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	snprintf(path, sizeof(path), "%s/notes.txt", e->dir);
	snprintf(moved, sizeof(moved), "%s/recipes.txt", e->dir);
	snprintf(linked, sizeof(linked), "%s/link.txt", e->dir);
	wpid = run_child(e, write_notes, path, &got);
	ASSERT_EQ(N_TAINT, got);
	ASSERT_EQ(0, sensor_path_key(e->s, path, &key));
	w = proc_of(e, wpid);
	ASSERT_EQ(1, w.found);
	ASSERT_EQ(1, watched_of(e, &key).found);

	/* mv, then ln: the same inode under other names */
	ASSERT_EQ(0, rename(path, moved));
	ASSERT_EQ(0, link(moved, linked));
	ASSERT_EQ(0, sensor_path_key(e->s, linked, &lkey));
	EXPECT_KEY(key, lkey);

	/* 10000 bytes, then the whole file twice: N_TAINT, no more */
	rpid = run_child(e, read_path, &twice, &got);
	ASSERT_EQ(10000 + 2 * N_TAINT, got);
	rd = proc_of(e, rpid);
	ASSERT_EQ(1, rd.found);
	EXPECT_EQ(N_TAINT, rd.proc.taint);
	EXPECT_EQ(0, rd.proc.bytes_read);
	EXPECT_EQ(WATCH_ID, rd.proc.watch_id);
	EXPECT_EQ(EXFILMON_CHAN_FILE, rd.proc.src_chan);
	EXPECT_PKEY(w.key, rd.proc.src);
	EXPECT_KEY(key, rd.proc.src_obj);
	EXPECT_EQ(N_TAINT, rd.proc.src_bytes);
	EXPECT_EQ(N_TAINT, inflow(e, rpid, &key).c.bytes);
	seen = io_wait(e, EXFILMON_REC_READ, rpid, &key, N_TAINT);
	EXPECT_EQ(N_TAINT, seen.delta);
	EXPECT_EQ(EXFILMON_CHAN_FILE, seen.last.chan);
	EXPECT_EQ(N_TAINT, seen.last.total.bytes);
	EXPECT_PKEY(w.key, seen.last.peer);

	/* a file is not consumed: the next reader takes as much */
	rpid2 = run_child(e, read_path, &again, &got);
	ASSERT_EQ(N_TAINT, got);
	rd2 = proc_of(e, rpid2);
	ASSERT_EQ(1, rd2.found);
	EXPECT_EQ(N_TAINT, rd2.proc.taint);
	EXPECT_EQ(N_TAINT, watched_of(e, &key).o.taint);
}

static int64_t write_back(struct flow_env *e, const void *arg)
{
	int fd;
	int64_t n;

	if (db_read(e, N_TAINT) < 0)
		return -1;
	fd = open(e->db, O_WRONLY | O_APPEND);
	if (fd < 0)
		return -1;
	n = put(fd, EXFILMON_OP_WRITE, data, 1000, 1000, NULL, 0);
	close(fd);
	return n;
}

TEST_F(flow, writing_the_watched_file_makes_no_derived_mark)
{
	struct flow_env *e = &self->e;
	struct exfilmon_rec_derived d;
	struct obj_find m;
	int64_t n;
	pid_t wpid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	wpid = run_child(e, write_back, NULL, &n);
	ASSERT_EQ(1000, n);
	ASSERT_EQ(1, proc_of(e, wpid).found);
	m = watched_of(e, &e->db_key);
	ASSERT_EQ(1, m.found);
	EXPECT_EQ(EXFILMON_WATCH_FILE, m.o.flags);
	EXPECT_EQ(WATCH_ID, m.o.watch_id);
	EXPECT_EQ(0, watched_by(e, wpid));
	EXPECT_EQ(0, derived_wait(e, &e->db_key, &d));
}

TEST_F(flow, stale_mark_is_dropped_and_counted)
{
	struct flow_env *e = &self->e;
	struct read_arg once = { .times = 1 };
	struct exfilmon_file_key key;
	struct exfilmon_obj wrong;
	struct obj_find m;
	char path[160];
	uint64_t stale;
	int64_t got;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	snprintf(path, sizeof(path), "%s/staged.bin", e->dir);
	once.path = path;
	pid = run_child(e, write_notes, path, &got);
	ASSERT_EQ(N_TAINT, got);
	ASSERT_EQ(0, sensor_path_key(e->s, path, &key));
	m = watched_of(e, &key);
	ASSERT_EQ(1, m.found);

	/*
	 * A mark for an inode since freed and reused, as the daemon could
	 * restore it: same key, another generation.
	 */
	wrong = m.o;
	wrong.gen = ~m.o.gen;
	stale = stat_of(e, EXFILMON_STAT_STALE);
	ASSERT_NE(UINT64_MAX, stale);
	ASSERT_EQ(0, watch_add(e, &key, &wrong));
	ASSERT_EQ(wrong.gen, watched_of(e, &key).o.gen);

	pid = run_child(e, read_path, &once, &got);
	ASSERT_EQ(N_TAINT, got);
	EXPECT_EQ(0, proc_of(e, pid).found);
	EXPECT_EQ(0, watched_of(e, &key).found);
	EXPECT_EQ(stale + 1, stat_of(e, EXFILMON_STAT_STALE));

	/* dropped once: the next reader finds nothing to drop */
	pid = run_child(e, read_path, &once, &got);
	ASSERT_EQ(N_TAINT, got);
	EXPECT_EQ(0, proc_of(e, pid).found);
	EXPECT_EQ(stale + 1, stat_of(e, EXFILMON_STAT_STALE));
}

TEST_F(flow, restored_mark_taints_readers)
{
	struct flow_env *e = &self->e;
	struct read_arg once = { .times = 1 };
	struct exfilmon_file_key key;
	struct proc_find rd;
	struct obj_find m;
	char path[160];
	int64_t got;
	pid_t wpid, pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	snprintf(path, sizeof(path), "%s/kept.bin", e->dir);
	once.path = path;
	wpid = run_child(e, write_notes, path, &got);
	ASSERT_EQ(N_TAINT, got);
	ASSERT_EQ(0, sensor_path_key(e->s, path, &key));
	m = watched_of(e, &key);
	ASSERT_EQ(1, m.found);

	/* without the mark a reader is nobody */
	ASSERT_EQ(0, e->s->ops->watch_rm(e->s, &key));
	pid = run_child(e, read_path, &once, &got);
	ASSERT_EQ(N_TAINT, got);
	EXPECT_EQ(0, proc_of(e, pid).found);

	/* put back as exfilmond does after a restart */
	ASSERT_EQ(0, watch_add(e, &key, &m.o));
	pid = run_child(e, read_path, &once, &got);
	ASSERT_EQ(N_TAINT, got);
	rd = proc_of(e, pid);
	ASSERT_EQ(1, rd.found);
	EXPECT_EQ(N_TAINT, rd.proc.taint);
	EXPECT_EQ(EXFILMON_CHAN_FILE, rd.proc.src_chan);
	EXPECT_EQ(wpid, rd.proc.src.tgid);
	EXPECT_KEY(key, rd.proc.src_obj);
}

/* ------------------------------------------------------------------ */
/* Fork, exec and opaque executables */

/* Read 30000 bytes, fork, read 10000 more, then let the child exec. */
static int64_t read_fork_read(struct flow_env *e, const void *arg)
{
	int status;
	pid_t c;

	if (db_read(e, 30000) < 0)
		return -1;
	c = fork();
	if (!c) {
		while (sem_wait(&e->sh->step[0]) && errno == EINTR)
			;
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	if (c < 0)
		return -1;
	e->sh->aux[0] = c;
	if (db_read(e, 10000) < 0)
		return -1;
	sem_post(&e->sh->step[0]);
	if (waitpid(c, &status, 0) != c || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -1;
	return 0;
}

TEST_F(flow, child_starts_with_the_parents_taint_at_fork)
{
	struct flow_env *e = &self->e;
	struct proc_find p, c;
	pid_t ppid, cpid;
	int64_t ret;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ppid = run_child(e, read_fork_read, NULL, &ret);
	cpid = e->sh->aux[0];
	note_pid(e, cpid);
	ASSERT_EQ(0, ret);
	p = proc_of(e, ppid);
	ASSERT_EQ(1, p.found);
	EXPECT_EQ(40000, p.proc.bytes_read);
	EXPECT_EQ(40000, p.proc.taint);

	/* exec'd since, still the same entry */
	c = proc_of(e, cpid);
	ASSERT_EQ(1, c.found);
	EXPECT_EQ(30000, c.proc.taint);
	EXPECT_EQ(0, c.proc.bytes_read);
	EXPECT_EQ(WATCH_ID, c.proc.watch_id);
	EXPECT_EQ(EXFILMON_CHAN_FORK, c.proc.src_chan);
	EXPECT_PKEY(p.key, c.proc.src);
	EXPECT_EQ(30000, c.proc.src_bytes);
	EXPECT_TRUE(c.proc.flags & EXFILMON_PROC_INHERITED);
	EXPECT_TRUE(c.proc.flags & EXFILMON_PROC_EXITED);
	EXPECT_EQ(ppid, c.proc.ppid);
}

/* Copy an executable: a new inode, so it can be marked on its own. */
static int copy_exe(const char *from, const char *to)
{
	char buf[65536];
	int in, out, ret = -1;
	ssize_t n;

	in = open(from, O_RDONLY);
	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0755);
	if (out < 0)
		goto out_in;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			goto out_out;
	ret = n ? -1 : 0;
out_out:
	close(out);
out_in:
	close(in);
	return ret;
}

TEST_F(flow, opaque_executable_takes_no_taint_and_consumes_it)
{
	struct flow_env *e = &self->e;
	struct relay a = { .kind = CH_PIPE, .wop = EXFILMON_OP_WRITE,
			   .n = N_TAINT, .from_db = true };
	struct relay b = a;
	struct exfilmon_obj opaque = { .flags = EXFILMON_OBJ_OPAQUE };
	struct exfilmon_file_key akey, bkey, okey;
	char ocat[160], pcat[160];
	struct proc_find plain;
	int64_t wrote;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	/* journald's part, played by cat; and a cat that is not opaque */
	snprintf(ocat, sizeof(ocat), "%s/opaque-cat", e->dir);
	snprintf(pcat, sizeof(pcat), "%s/plain-cat", e->dir);
	ASSERT_EQ(0, copy_exe("/bin/cat", ocat));
	ASSERT_EQ(0, copy_exe("/bin/cat", pcat));
	ASSERT_EQ(0, sensor_path_key(e->s, ocat, &okey));
	ASSERT_EQ(0, watch_add(e, &okey, &opaque));

	ASSERT_EQ(0, relay_open(e, &a));
	ASSERT_EQ(0, relay_open(e, &b));
	ASSERT_EQ(0, e->s->ops->fd_key(e->s, a.rfd, &akey));
	ASSERT_EQ(0, e->s->ops->fd_key(e->s, b.rfd, &bkey));
	run_child(e, relay_write, &a, &wrote);
	ASSERT_EQ(N_TAINT, wrote);
	run_child(e, relay_write, &b, &wrote);
	ASSERT_EQ(N_TAINT, wrote);
	relay_writer_done(&a);
	relay_writer_done(&b);
	ASSERT_EQ(N_TAINT, stream_of(e, &akey).o.taint);
	ASSERT_EQ(N_TAINT, stream_of(e, &bkey).o.taint);

	/* busybox picks its applet by argv[0]: call both "cat" */
	pid = spawn_exec(e, ocat, "cat", a.rfd);
	ASSERT_EQ(0, exec_status(pid));
	EXPECT_EQ(0, proc_of(e, pid).found);
	EXPECT_EQ(0, inflow(e, pid, NULL).found);
	/* delivered: the taint is gone with the bytes */
	EXPECT_EQ(0, stream_left(e, &akey));
	EXPECT_EQ(0, io_count(e, pid));

	/* the same program under another inode is tainted as anyone */
	pid = spawn_exec(e, pcat, "cat", b.rfd);
	ASSERT_EQ(0, exec_status(pid));
	plain = proc_of(e, pid);
	ASSERT_EQ(1, plain.found);
	EXPECT_EQ(N_TAINT, plain.proc.taint);
	EXPECT_EQ(EXFILMON_CHAN_PIPE, plain.proc.src_chan);
	relay_close(&a);
	relay_close(&b);
}

/* ------------------------------------------------------------------ */
/* Untainted writers */

/* In a child: write junk into a new file. */
static int64_t write_junk(struct flow_env *e, const void *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int64_t n;

	if (fd < 0)
		return -1;
	memset(data, 'j', N_TAINT);
	n = put(fd, EXFILMON_OP_WRITE, data, N_TAINT, CHUNK, NULL, 0);
	close(fd);
	return n;
}

static int64_t read_junk(struct flow_env *e, const void *path)
{
	return read_all(e, path, 1);
}

TEST_F(flow, untainted_writers_leave_no_trace)
{
	static const int kinds[] = {
		CH_PIPE, CH_FIFO, CH_UNIX_PAIR, CH_UNIX_STREAM, CH_UNIX_DGRAM,
		CH_TCP4, CH_UDP4,
	};
	struct flow_env *e = &self->e;
	struct exfilmon_file_key key;
	char path[160];
	int64_t n;
	pid_t wpid, rpid;
	size_t i;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		bool udp = kinds[i] == CH_UDP4;
		struct relay r = {
			.kind = kinds[i], .n = N_TAINT, .from_db = false,
			.wop = udp ? EXFILMON_OP_SENDTO : EXFILMON_OP_WRITE,
			.rop = udp ? EXFILMON_OP_RECVFROM : EXFILMON_OP_READ,
		};

		ASSERT_EQ(0, relay_open(e, &r));
		wpid = run_child(e, relay_write, &r, &n);
		ASSERT_EQ(N_TAINT, n) TH_LOG("channel %d", r.kind);
		relay_writer_done(&r);
		rpid = run_child(e, relay_read, &r, &n);
		ASSERT_EQ(N_TAINT, n) TH_LOG("channel %d", r.kind);
		relay_close(&r);
		EXPECT_EQ(0, proc_of(e, wpid).found);
		EXPECT_EQ(0, proc_of(e, rpid).found);
		EXPECT_EQ(0, outflow(e, wpid, NULL).found);
		EXPECT_EQ(0, streams_by(e, wpid));
		EXPECT_EQ(0, io_count(e, rpid));
	}

	/* and a file */
	snprintf(path, sizeof(path), "%s/junk.bin", e->dir);
	wpid = run_child(e, write_junk, path, &n);
	ASSERT_EQ(N_TAINT, n);
	ASSERT_EQ(0, sensor_path_key(e->s, path, &key));
	rpid = run_child(e, read_junk, path, &n);
	ASSERT_EQ(N_TAINT, n);
	EXPECT_EQ(0, proc_of(e, wpid).found);
	EXPECT_EQ(0, proc_of(e, rpid).found);
	EXPECT_EQ(0, watched_of(e, &key).found);
	EXPECT_EQ(0, watched_by(e, wpid));
	EXPECT_EQ(0, outflow(e, wpid, NULL).found);
	EXPECT_EQ(0, io_count(e, wpid));
}

/* ------------------------------------------------------------------ */
/* Shared memory */

enum shm_kind {
	SHM_DEV_SHM_MMAP = 1,	/* a /dev/shm file, shared writable map */
	SHM_MEMFD_MMAP,		/* a memfd, ditto */
	SHM_MEMFD_WRITE,	/* a memfd, written with write() */
};

FIXTURE(shm) {
	struct flow_env e;
	int fd;			/* the object, open in the test */
	char path[96];		/* how readers open it again */
};

FIXTURE_VARIANT(shm) {
	int kind;
	uint32_t chan;
	uint32_t op;	/* of the writer's FLOW records */
};

FIXTURE_VARIANT_ADD(shm, dev_shm_mmap) {
	.kind = SHM_DEV_SHM_MMAP, .chan = EXFILMON_CHAN_SHM,
	.op = EXFILMON_OP_MMAP_SHARED,
};
FIXTURE_VARIANT_ADD(shm, memfd_mmap) {
	.kind = SHM_MEMFD_MMAP, .chan = EXFILMON_CHAN_SHM,
	.op = EXFILMON_OP_MMAP_SHARED,
};
FIXTURE_VARIANT_ADD(shm, memfd_write) {
	.kind = SHM_MEMFD_WRITE, .chan = EXFILMON_CHAN_FILE,
	.op = EXFILMON_OP_WRITE,
};

FIXTURE_SETUP(shm)
{
	struct flow_env *e = &self->e;
	int ret = env_setup(_metadata, e);

	self->fd = -1;
	if (ret == 1)
		return;
	ASSERT_EQ(0, ret);
	if (variant->kind == SHM_DEV_SHM_MMAP) {
		if (access("/dev/shm", W_OK))
			SKIP(return, "no writable /dev/shm here");
		snprintf(e->shm_path, sizeof(e->shm_path),
			 "/dev/shm/exfilmon-flow-%d", (int)getpid());
		self->fd = open(e->shm_path, O_RDWR | O_CREAT | O_EXCL, 0600);
		snprintf(self->path, sizeof(self->path), "%s", e->shm_path);
	} else {
		self->fd = memfd_create("exfilmon-flow", 0);
		/* another process opens it anew through /proc */
		snprintf(self->path, sizeof(self->path), "/proc/%d/fd/%d",
			 (int)getpid(), self->fd);
	}
	ASSERT_LE(0, self->fd);
	/* sized first, as every user of shared memory does */
	ASSERT_EQ(0, ftruncate(self->fd, SHM_SIZE));
}

FIXTURE_TEARDOWN(shm)
{
	if (self->fd >= 0)
		close(self->fd);
	env_teardown(&self->e);
}

struct shm_arg {
	int kind;
	int fd;
	const char *path;
};

/* In a child: put N_TAINT watched bytes into the shared object. */
static int64_t shm_write(struct flow_env *e, const void *arg)
{
	const struct shm_arg *a = arg;
	int fd = a->fd;
	char *m;

	if (db_read(e, N_TAINT) < 0)
		return -1;
	if (a->kind == SHM_MEMFD_WRITE)
		return put(fd, EXFILMON_OP_WRITE, data, N_TAINT, CHUNK, NULL,
			   0);
	if (a->kind == SHM_DEV_SHM_MMAP)
		fd = open(a->path, O_RDWR);
	if (fd < 0)
		return -1;
	m = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -1;
	memcpy(m, data, N_TAINT);
	munmap(m, SHM_SIZE);
	return N_TAINT;
}

/* In a child: read the object with pread() on the fd it inherited. */
static int64_t shm_pread(struct flow_env *e, const void *arg)
{
	const struct shm_arg *a = arg;
	int64_t total = 0;
	ssize_t n;

	while ((n = pread(a->fd, data, 4096, total)) > 0)
		total += n;
	return n < 0 ? -1 : total;
}

TEST_F(shm, readers_of_a_tainted_shared_object_are_tainted)
{
	struct flow_env *e = &self->e;
	struct shm_arg a = { variant->kind, self->fd, self->path };
	struct read_arg mapped = { .path = self->path, .map = true };
	char real[PATH_MAX], named[PATH_MAX];
	struct exfilmon_rec_derived d;
	struct exfilmon_file_key key;
	struct proc_find w, r1, r2;
	struct obj_find m;
	struct io_seen seen;
	int64_t got;
	pid_t wpid, pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_EQ(0, e->s->ops->fd_key(e->s, self->fd, &key));
	wpid = run_child(e, shm_write, &a, &got);
	ASSERT_EQ(N_TAINT, got);
	w = proc_of(e, wpid);
	ASSERT_EQ(1, w.found);
	/* mapping what it marks itself gives the writer nothing more */
	EXPECT_EQ(N_TAINT, w.proc.taint);
	EXPECT_EQ(N_TAINT, w.proc.carried);
	EXPECT_EQ(N_TAINT, outflow(e, wpid, &key).c.bytes);
	m = watched_of(e, &key);
	ASSERT_EQ(1, m.found);
	EXPECT_EQ(EXFILMON_OBJ_DERIVED, m.o.flags);
	EXPECT_EQ(variant->chan, m.o.chan);
	EXPECT_EQ(N_TAINT, m.o.taint);
	EXPECT_EQ(WATCH_ID, m.o.watch_id);
	EXPECT_PKEY(w.key, m.o.writer);
	seen = io_wait(e, EXFILMON_REC_FLOW, wpid, &key, N_TAINT);
	EXPECT_EQ(N_TAINT, seen.delta);
	EXPECT_EQ(variant->chan, seen.last.chan);
	EXPECT_EQ(variant->op, seen.last.op);
	ASSERT_EQ(1, derived_wait(e, &key, &d));
	if (variant->kind == SHM_DEV_SHM_MMAP) {
		ASSERT_EQ(0, derived_path(&d, named, sizeof(named)));
		ASSERT_NE(NULL, realpath(self->path, real));
		EXPECT_STREQ(real, named);
	}

	/* a reader maps it: SHM_SIZE bytes seen, N_TAINT of them taint */
	pid = run_child(e, read_path, &mapped, &got);
	ASSERT_EQ(SHM_SIZE, got);
	r1 = proc_of(e, pid);
	ASSERT_EQ(1, r1.found);
	EXPECT_EQ(N_TAINT, r1.proc.taint);
	EXPECT_EQ(variant->chan, r1.proc.src_chan);
	EXPECT_PKEY(w.key, r1.proc.src);
	EXPECT_KEY(key, r1.proc.src_obj);
	EXPECT_EQ(N_TAINT, inflow(e, pid, &key).c.bytes);

	/* another reads it through the fd it inherited */
	pid = run_child(e, shm_pread, &a, &got);
	ASSERT_EQ(SHM_SIZE, got);
	r2 = proc_of(e, pid);
	ASSERT_EQ(1, r2.found);
	EXPECT_EQ(N_TAINT, r2.proc.taint);
	EXPECT_EQ(N_TAINT, watched_of(e, &key).o.taint);
}

TEST_HARNESS_MAIN
