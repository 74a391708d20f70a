// SPDX-License-Identifier: GPL-2.0-only
/*
 * A sensor (eBPF, or the module with EXFILMON_SENSOR=kmod): real processes
 * read a watched file of
 * customer records through every read path and send through every send
 * path to a test host in a network namespace. Each test states the ground
 * truth (the byte counts the syscalls returned) and asserts the sensor's
 * tables hold exactly that.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "sensor.h"
#include "sensor_key.h"
#include "customers.h"
#include "testhost.h"
#include "daemon_run.h"
#include "watch.h"

#define DB_MIN_BYTES (1 << 20)

static const struct sensor_limits limits = {
	.max_procs = 4096, .max_reads = 4096, .max_sends = 4096,
	.max_watch = 1024, .max_streams = 1024, .max_flows = 4096,
	.ring_kib = 1024,
};

/* What one process's read ([0]) and send ([1]) records said, per syscall. */
struct seen {
	uint64_t bytes[2][EXFILMON_OP_NR];	/* sum of record deltas */
	uint64_t total[2][EXFILMON_OP_NR];	/* the largest total */
	unsigned int nr[2][EXFILMON_OP_NR];	/* records */
	pid_t pid;				/* whose records to sum */
	uint64_t dropped;			/* the sensor's, at the start */
};

static uint64_t dropped(struct sensor *s)
{
	uint64_t st[EXFILMON_STAT_NR] = { 0 };

	s->ops->stats(s, st);
	return st[EXFILMON_STAT_DROPPED];
}

static int on_record(void *ctx, const struct exfilmon_rec_hdr *h, size_t len)
{
	struct seen *seen = ctx;
	const struct exfilmon_rec_io *io = (const void *)h;
	int send = h->type == EXFILMON_REC_SEND;

	if ((h->type == EXFILMON_REC_READ || send) &&
	    h->proc.tgid == (uint32_t)seen->pid && io->op < EXFILMON_OP_NR) {
		seen->bytes[send][io->op] += io->delta;
		seen->nr[send][io->op]++;
		if (io->total.bytes > seen->total[send][io->op])
			seen->total[send][io->op] = io->total.bytes;
	}
	return 0;
}

/*
 * The records of a syscall that moved truth bytes in all: announced with
 * its own op, first operation included (its total is its delta), but
 * never more than truth (exfilmon_announce(): the rest is in the tables).
 */
static void expect_announced(struct __test_metadata *_metadata,
			     struct sensor *s, const struct seen *seen,
			     int send, int op, uint64_t truth)
{
	/* the sensor sees every process here: others may fill the ring */
	if (dropped(s) != seen->dropped) {
		TH_LOG("records were dropped: only the tables are checked");
		return;
	}
	EXPECT_LT(0, seen->nr[send][op]);
	EXPECT_LT(0, seen->bytes[send][op]);
	EXPECT_GE(truth, seen->bytes[send][op]);
	EXPECT_LT(0, seen->total[send][op]);
	EXPECT_GE(truth, seen->total[send][op]);
}

struct find_ctx {
	pid_t pid;
	struct exfilmon_pkey key;
	struct exfilmon_proc proc;
	int found;
	const struct exfilmon_file_key *file;
	const struct exfilmon_dest *dest;
	uint64_t bytes;
};

static int find_proc_cb(void *ctx, const struct exfilmon_pkey *k,
			const struct exfilmon_proc *p)
{
	struct find_ctx *f = ctx;

	if (k->tgid != (uint32_t)f->pid)
		return 0;
	if (!f->found || k->start_ns > f->key.start_ns) {
		f->key = *k;
		f->proc = *p;
	}
	f->found++;
	return 0;
}

static int find_read_cb(void *ctx, const struct exfilmon_read_key *k,
			const struct exfilmon_count *c)
{
	struct find_ctx *f = ctx;

	if (!memcmp(&k->proc, &f->key, sizeof(f->key)) &&
	    !memcmp(&k->file, f->file, sizeof(*f->file)))
		f->bytes += c->bytes;
	return 0;
}

static int find_send_cb(void *ctx, const struct exfilmon_send_key *k,
			const struct exfilmon_count *c)
{
	struct find_ctx *f = ctx;

	if (!memcmp(&k->proc, &f->key, sizeof(f->key)) &&
	    !memcmp(&k->dest, f->dest, sizeof(*f->dest)))
		f->bytes += c->bytes;
	return 0;
}

/*
 * The sensor's entry for (exited) process pid, the newest if the pid was
 * reused; found = how many entries have that pid.
 */
static struct find_ctx find_proc(struct sensor *s, pid_t pid)
{
	struct find_ctx f = { .pid = pid };

	s->ops->for_each_proc(s, find_proc_cb, &f);
	return f;
}

static uint64_t read_bytes(struct sensor *s, struct find_ctx *f,
			   const struct exfilmon_file_key *file)
{
	f->file = file;
	f->bytes = 0;
	s->ops->for_each_read(s, find_read_cb, f);
	return f->bytes;
}

static uint64_t sent_bytes(struct sensor *s, struct find_ctx *f,
			   const struct exfilmon_dest *dest)
{
	f->dest = dest;
	f->bytes = 0;
	s->ops->for_each_send(s, find_send_cb, f);
	return f->bytes;
}

/*
 * A result slot shared with the children forked after it. Not a pipe: a
 * tainted child writing its count into a pipe would carry taint into the
 * test (docs/flow.md), and every child forked later would inherit it.
 */
static int64_t *shared_slot(void)
{
	int64_t *slot = mmap(NULL, sizeof(*slot), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (slot == MAP_FAILED)
		return NULL;
	*slot = -1;
	return slot;
}

/* Run fn in a child; returns its pid, its ground-truth count in *truth. */
static pid_t child_run(int64_t (*fn)(const void *arg), const void *arg,
		       int64_t *truth)
{
	int64_t *slot = shared_slot();
	pid_t pid;

	*truth = -1;
	if (!slot)
		return -1;
	pid = fork();
	if (!pid) {
		*slot = fn(arg);
		_exit(0);
	}
	if (pid > 0 && waitpid(pid, NULL, 0) == pid)
		*truth = *slot;
	munmap(slot, sizeof(*slot));
	return pid;
}

struct env {
	struct sensor *s;
	struct seen seen;
	char dir[64];
	char db[128];
	long size;
	struct exfilmon_file_key key;
	struct testhost th;
};

static int env_setup(struct __test_metadata *_metadata, struct env *e,
		     int idx)
{
	struct exfilmon_obj w = { .flags = EXFILMON_WATCH_FILE,
				  .watch_id = 1 };
	char err[512];
	struct stat st;
	int ret;

	if (geteuid())
		SKIP(return 1, "the sensors need root");
	/* as root the sensor must load: a refusal is a failure, not a skip */
	ret = sensor_open(&e->s, sensor_under_test(), &limits, on_record,
			  &e->seen, err, sizeof(err));
	if (ret)
		TH_LOG("sensor %s: %s", sensor_under_test(), err);
	if (ret)
		return -1;
	strcpy(e->dir, "/tmp/exfilmon-sensor-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	snprintf(e->db, sizeof(e->db), "%s/customers.csv", e->dir);
	e->size = customers_write(e->db, DB_MIN_BYTES);
	if (e->size < 0 || stat(e->db, &st) ||
	    sensor_path_key(e->s, e->db, &e->key))
		return -1;
	if (e->s->ops->watch_add(e->s, &e->key, &w))
		return -1;
	e->seen.dropped = dropped(e->s);
	return testhost_create(&e->th, idx);
}

static void env_teardown(struct env *e)
{
	sensor_close(e->s);
	testhost_destroy(&e->th);
	if (e->dir[0])
		run("rm -rf %s", e->dir);
}

/* ------------------------------------------------------------------ */
/* Read paths */

struct read_arg {
	const char *db;
	const char *dir;
	long size;
	int op;
};

static int64_t do_read(const void *a)
{
	const struct read_arg *ra = a;
	static char buf[8192], buf2[5000];
	int fd = open(ra->db, O_RDONLY);
	int64_t total = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	for (;;) {
		struct iovec iov[2] = {
			{ buf, 1000 }, { buf2, sizeof(buf2) },
		};
		char out[160];
		int p[2], ofd;
		void *m;

		switch (ra->op) {
		case EXFILMON_OP_READ:
			n = read(fd, buf, sizeof(buf));
			break;
		case EXFILMON_OP_PREAD64:
			n = pread(fd, buf, 3000, total);
			break;
		case EXFILMON_OP_READV:
			n = readv(fd, iov, 2);
			break;
		case EXFILMON_OP_PREADV:
			n = preadv(fd, iov, 2, total);
			break;
		case EXFILMON_OP_PREADV2:
			n = preadv2(fd, iov, 2, total, 0);
			break;
		case EXFILMON_OP_SENDFILE:
			snprintf(out, sizeof(out), "%s/sendfile.out", ra->dir);
			ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			n = sendfile(ofd, fd, NULL, ra->size);
			close(ofd);
			return n;
		case EXFILMON_OP_COPY_FILE_RANGE:
			snprintf(out, sizeof(out), "%s/copy.out", ra->dir);
			ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			n = copy_file_range(fd, NULL, ofd, NULL, 100000, 0);
			close(ofd);
			return n;
		case EXFILMON_OP_SPLICE:
			if (pipe(p))
				return -1;
			n = splice(fd, NULL, p[1], NULL, 32768, 0);
			close(p[0]);
			close(p[1]);
			return n;
		case EXFILMON_OP_MMAP:
			/* ask for more than the file: only up to EOF counts */
			m = mmap(NULL, ra->size + 65536, PROT_READ, MAP_SHARED,
				 fd, 0);
			if (m == MAP_FAILED)
				return -1;
			munmap(m, ra->size + 65536);
			return ra->size;
		default:
			return -1;
		}
		if (n <= 0)
			break;
		total += n;
	}
	close(fd);
	return n < 0 ? -1 : total;
}

FIXTURE(reads) {
	struct env e;
};

FIXTURE_VARIANT(reads) {
	int op;
};

FIXTURE_VARIANT_ADD(reads, read) { .op = EXFILMON_OP_READ };
FIXTURE_VARIANT_ADD(reads, pread64) { .op = EXFILMON_OP_PREAD64 };
FIXTURE_VARIANT_ADD(reads, readv) { .op = EXFILMON_OP_READV };
FIXTURE_VARIANT_ADD(reads, preadv) { .op = EXFILMON_OP_PREADV };
FIXTURE_VARIANT_ADD(reads, preadv2) { .op = EXFILMON_OP_PREADV2 };
FIXTURE_VARIANT_ADD(reads, sendfile) { .op = EXFILMON_OP_SENDFILE };
FIXTURE_VARIANT_ADD(reads, splice) { .op = EXFILMON_OP_SPLICE };
FIXTURE_VARIANT_ADD(reads, copy_file_range) {
	.op = EXFILMON_OP_COPY_FILE_RANGE
};
FIXTURE_VARIANT_ADD(reads, mmap) { .op = EXFILMON_OP_MMAP };

FIXTURE_SETUP(reads)
{
	int ret = env_setup(_metadata, &self->e, 1);

	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(reads)
{
	env_teardown(&self->e);
}

TEST_F(reads, counts_exactly_the_bytes_returned)
{
	struct env *e = &self->e;
	struct read_arg ra = { e->db, e->dir, e->size, variant->op };
	struct find_ctx f;
	int64_t truth;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	pid = child_run(do_read, &ra, &truth);
	ASSERT_GT(truth, 0);
	f = find_proc(e->s, pid);
	ASSERT_EQ(1, f.found);
	EXPECT_EQ((uint64_t)truth, f.proc.bytes_read);
	/* a configured watch is all taint: every byte read */
	EXPECT_EQ((uint64_t)truth, f.proc.taint);
	EXPECT_EQ(1, f.proc.watch_id);
	EXPECT_EQ(EXFILMON_CHAN_READ, f.proc.src_chan);
	EXPECT_EQ(0, memcmp(&f.proc.src_obj, &e->key, sizeof(e->key)));
	EXPECT_EQ((uint64_t)truth, read_bytes(e->s, &f, &e->key));
	EXPECT_EQ(EXFILMON_PROC_EXITED, f.proc.flags);
	EXPECT_EQ(0, f.proc.bytes_sent);

	/* the records announce it, attributed to this syscall */
	e->seen.pid = pid;
	ASSERT_EQ(0, e->s->ops->poll(e->s));
	expect_announced(_metadata, e->s, &e->seen, 0, variant->op, truth);
	/*
	 * A loop of calls (at most 8 KiB each) is announced now and then,
	 * not call by call: once at the start and at each MiB crossed, and
	 * after any stall of 5 ms (a slow guest may stall a few times).
	 */
	if (variant->op <= EXFILMON_OP_PREADV2 && e->seen.nr[0][variant->op])
		EXPECT_GT(truth / 8192 / 4, e->seen.nr[0][variant->op]);
}

/* ------------------------------------------------------------------ */
/* What must not count, and what follows the inode */

static int64_t read_file(const void *path)
{
	char buf[65536];
	int64_t total = 0;
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	return n < 0 ? -1 : total;
}

FIXTURE(watch) {
	struct env e;
};

FIXTURE_SETUP(watch)
{
	int ret = env_setup(_metadata, &self->e, 2);

	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(watch)
{
	env_teardown(&self->e);
}

TEST_F(watch, unwatched_file_is_not_counted)
{
	char other[160];
	int64_t truth;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	snprintf(other, sizeof(other), "%s/other.csv", self->e.dir);
	ASSERT_LT(0, customers_write(other, 100000));
	pid = child_run(read_file, other, &truth);
	ASSERT_LT(0, truth);
	EXPECT_EQ(0, find_proc(self->e.s, pid).found);
}

TEST_F(watch, hard_link_and_rename_still_count)
{
	char link_path[160], moved[160];
	struct find_ctx f;
	int64_t truth;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	snprintf(link_path, sizeof(link_path), "%s/innocent.txt", self->e.dir);
	snprintf(moved, sizeof(moved), "%s/moved.csv", self->e.dir);
	ASSERT_EQ(0, link(self->e.db, link_path));
	ASSERT_EQ(0, rename(self->e.db, moved));
	pid = child_run(read_file, link_path, &truth);
	ASSERT_EQ(self->e.size, truth);
	f = find_proc(self->e.s, pid);
	ASSERT_EQ(1, f.found);
	EXPECT_EQ((uint64_t)truth, read_bytes(self->e.s, &f, &self->e.key));
}

TEST_F(watch, watched_directory_covers_files_created_later)
{
	struct exfilmon_obj w = { .flags = EXFILMON_WATCH_DIR,
				  .watch_id = 2 };
	struct exfilmon_file_key dkey, fkey;
	char sub[160], later[192];
	struct find_ctx f;
	int64_t truth;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	snprintf(sub, sizeof(sub), "%s/exports", self->e.dir);
	ASSERT_EQ(0, mkdir(sub, 0700));
	ASSERT_EQ(0, sensor_path_key(self->e.s, sub, &dkey));
	ASSERT_EQ(0, self->e.s->ops->watch_add(self->e.s, &dkey, &w));

	snprintf(later, sizeof(later), "%s/export-2026.csv", sub);
	ASSERT_LT(0, customers_write(later, 300000));
	ASSERT_EQ(0, sensor_path_key(self->e.s, later, &fkey));
	pid = child_run(read_file, later, &truth);
	ASSERT_LT(0, truth);
	f = find_proc(self->e.s, pid);
	ASSERT_EQ(1, f.found);
	EXPECT_EQ((uint64_t)truth, read_bytes(self->e.s, &f, &fkey));

	/* read once through the directory, the file is watched by its own
	 * inode: a hard link out of the directory still counts */
	snprintf(sub, sizeof(sub), "%s/outside.csv", self->e.dir);
	ASSERT_EQ(0, link(later, sub));
	pid = child_run(read_file, sub, &truth);
	f = find_proc(self->e.s, pid);
	ASSERT_EQ(1, f.found);
	EXPECT_EQ((uint64_t)truth, read_bytes(self->e.s, &f, &fkey));

	/* and removing the watch by id takes that inode with it */
	ASSERT_EQ(0, self->e.s->ops->watch_rm_id(self->e.s, 2));
	pid = child_run(read_file, sub, &truth);
	EXPECT_EQ(0, find_proc(self->e.s, pid).found);
}

TEST_F(watch, kernel_key_of_an_fd_matches_stat_here)
{
	struct exfilmon_file_key key;
	struct stat st;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	/* on ext4 and tmpfs st_dev is the superblock's; on btrfs
	 * subvolumes it is not, which is why keys come from the kernel */
	ASSERT_EQ(0, stat(self->e.db, &st));
	ASSERT_EQ(0, sensor_path_key(self->e.s, self->e.db, &key));
	EXPECT_EQ(sensor_dev(st.st_dev), key.dev);
	EXPECT_EQ(st.st_ino, key.ino);
	ASSERT_EQ(0, stat(self->e.dir, &st));
	ASSERT_EQ(0, sensor_path_key(self->e.s, self->e.dir, &key));
	EXPECT_EQ(st.st_ino, key.ino);
}

/* Reopened through /proc/self/fd/N: the same inode, a new file. */
static int64_t read_via_proc_fd(const void *path)
{
	char alias[64];
	int fd = open(path, O_RDONLY);
	int64_t ret;

	if (fd < 0)
		return -1;
	snprintf(alias, sizeof(alias), "/proc/self/fd/%d", fd);
	ret = read_file(alias);
	close(fd);
	return ret;
}

TEST_F(watch, reopened_through_proc_fd_still_counts)
{
	struct find_ctx f;
	int64_t truth;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	pid = child_run(read_via_proc_fd, self->e.db, &truth);
	ASSERT_EQ(self->e.size, truth);
	f = find_proc(self->e.s, pid);
	ASSERT_EQ(1, f.found);
	EXPECT_EQ((uint64_t)truth, read_bytes(self->e.s, &f, &self->e.key));
}

/* -2: this filesystem refuses O_DIRECT (tmpfs before 6.6 does) */
static int64_t read_direct(const void *path)
{
	int fd = open(path, O_RDONLY | O_DIRECT);
	int64_t total = 0;
	void *buf;
	ssize_t n;

	if (fd < 0)
		return errno == EINVAL ? -2 : -1;
	if (posix_memalign(&buf, 4096, 1 << 16)) {
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf, 1 << 16)) > 0)
		total += n;
	free(buf);
	close(fd);
	return n < 0 ? (errno == EINVAL ? -2 : -1) : total;
}

/* O_DIRECT bypasses the page cache, not the read syscalls. */
TEST_F(watch, o_direct_reads_count)
{
	struct find_ctx f;
	int64_t truth;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	pid = child_run(read_direct, self->e.db, &truth);
	if (truth == -2)
		SKIP(return, "%s refuses O_DIRECT", self->e.dir);
	ASSERT_EQ(self->e.size, truth);
	f = find_proc(self->e.s, pid);
	ASSERT_EQ(1, f.found);
	EXPECT_EQ((uint64_t)truth, read_bytes(self->e.s, &f, &self->e.key));
}

#define SPARSE_BYTES	(64LL << 20)
#define SPARSE_PASSES	65	/* 65 x 64 MiB: past 4 GiB */

/*
 * More than 4 GiB read from a sparse watched file, sent to /dev/null
 * again and again from offset 0: the kernel moves page-cache pages
 * without copying them to the process, so the 4 GiB take well under a
 * second here and seconds under qemu, and every counter on the way
 * (tables, process totals, records) must hold more than 32 bits.
 */
static int64_t sendfile_to_null(const void *path)
{
	int in = open(path, O_RDONLY);
	int out = open("/dev/null", O_WRONLY);
	int64_t total = 0;
	ssize_t n = 0;
	int i;

	for (i = 0; in >= 0 && out >= 0 && i < SPARSE_PASSES; i++) {
		off_t off = 0;

		while (off < SPARSE_BYTES &&
		       (n = sendfile(out, in, &off, SPARSE_BYTES - off)) > 0)
			total += n;
		if (n <= 0)
			break;
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return i < SPARSE_PASSES ? -1 : total;
}

TEST_F_TIMEOUT(watch, more_than_4_gib_from_a_sparse_file_counts_exactly, 300)
{
	struct exfilmon_obj w = { .flags = EXFILMON_WATCH_FILE,
				  .watch_id = 3 };
	struct exfilmon_file_key key;
	char big[160];
	struct find_ctx f;
	int64_t truth;
	pid_t pid;
	int fd;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	snprintf(big, sizeof(big), "%s/archive.db", self->e.dir);
	fd = open(big, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ASSERT_LE(0, fd);
	/* one record at the end, and a hole before it */
	ASSERT_EQ(6, pwrite(fd, "row 1\n", 6, SPARSE_BYTES - 6));
	close(fd);
	ASSERT_EQ(0, sensor_path_key(self->e.s, big, &key));
	ASSERT_EQ(0, self->e.s->ops->watch_add(self->e.s, &key, &w));

	pid = child_run(sendfile_to_null, big, &truth);
	unlink(big);
	ASSERT_EQ(SPARSE_PASSES * SPARSE_BYTES, truth);
	f = find_proc(self->e.s, pid);
	ASSERT_EQ(1, f.found);
	EXPECT_EQ((uint64_t)truth, f.proc.bytes_read);
	EXPECT_EQ((uint64_t)truth, f.proc.taint);
	EXPECT_EQ((uint64_t)truth, read_bytes(self->e.s, &f, &key));
}

/* Setting the upper half of the fd register must not hide a read. */
static int64_t read_with_dirty_fd(const void *path)
{
	char buf[65536];
	int64_t total = 0;
	int fd = open(path, O_RDONLY);
	long n;

	if (fd < 0)
		return -1;
	while ((n = syscall(SYS_read, (long)fd | 1L << 32, buf,
			    sizeof(buf))) > 0)
		total += n;
	close(fd);
	return n < 0 ? -1 : total;
}

TEST_F(watch, fd_upper_bits_do_not_hide_reads)
{
	struct find_ctx f;
	int64_t truth;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	pid = child_run(read_with_dirty_fd, self->e.db, &truth);
	ASSERT_EQ(self->e.size, truth);
	f = find_proc(self->e.s, pid);
	ASSERT_EQ(1, f.found);
	EXPECT_EQ((uint64_t)truth, read_bytes(self->e.s, &f, &self->e.key));
}

/* ------------------------------------------------------------------ */
/* Send paths */

struct send_arg {
	const struct env *e;
	int family;
	int type;
	int op;
	int connect;	/* datagram: connect() first */
	uint16_t port;
};

static socklen_t peer_addr(const struct send_arg *sa,
			   struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (sa->family == AF_INET) {
		struct sockaddr_in *a = (void *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(sa->port);
		inet_pton(AF_INET, sa->e->th.remote4, &a->sin_addr);
		return sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(sa->port);
		inet_pton(AF_INET6, sa->e->th.remote6, &a->sin6_addr);
		return sizeof(*a);
	}
}

/* Send the database (datagrams: 40 chunks of 1000 bytes). */
static int64_t send_db(const struct send_arg *sa, int dbfd, const char *buf,
		       long size)
{
	struct sockaddr_storage ss;
	socklen_t sl = peer_addr(sa, &ss);
	int stream = sa->type == SOCK_STREAM;
	long chunk = stream ? 60000 : 1000;
	long limit = stream ? size : 40 * chunk;
	int64_t total = 0;
	int fd, p[2];
	ssize_t n;

	fd = socket(sa->family, sa->type, 0);
	if (fd < 0)
		return -1;
	if ((stream || sa->connect) && connect(fd, (void *)&ss, sl))
		return -1;
	while (total < limit) {
		long len = limit - total < chunk ? limit - total : chunk;
		struct iovec iov[2] = {
			{ (char *)buf + total, len / 2 },
			{ (char *)buf + total + len / 2, len - len / 2 },
		};
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
		struct mmsghdr mm[4];
		int i;

		switch (sa->op) {
		case EXFILMON_OP_WRITE:
			n = write(fd, buf + total, len);
			break;
		case EXFILMON_OP_WRITEV:
			n = writev(fd, iov, 2);
			break;
		case EXFILMON_OP_SENDTO:
			if (stream || sa->connect)
				n = send(fd, buf + total, len, 0);
			else
				n = sendto(fd, buf + total, len, 0, (void *)&ss,
					   sl);
			break;
		case EXFILMON_OP_SENDMSG:
			if (!stream && !sa->connect) {
				msg.msg_name = &ss;
				msg.msg_namelen = sl;
			}
			n = sendmsg(fd, &msg, 0);
			break;
		case EXFILMON_OP_SENDMMSG:
			memset(mm, 0, sizeof(mm));
			for (i = 0; i < 4; i++) {
				mm[i].msg_hdr.msg_iov = &iov[i % 2];
				mm[i].msg_hdr.msg_iovlen = 1;
				if (!stream && !sa->connect) {
					mm[i].msg_hdr.msg_name = &ss;
					mm[i].msg_hdr.msg_namelen = sl;
				}
			}
			/* 4 messages: each half of the chunk, twice */
			n = sendmmsg(fd, mm, 4, 0);
			if (n > 0) {
				ssize_t sum = 0;

				for (i = 0; i < n; i++)
					sum += mm[i].msg_len;
				total += sum;
				continue;
			}
			break;
		case EXFILMON_OP_SENDFILE:
			n = sendfile(fd, dbfd, NULL, len);
			break;
		case EXFILMON_OP_SPLICE:
			if (pipe(p))
				return -1;
			n = write(p[1], buf + total, len < 65536 ? len : 65536);
			if (n > 0)
				n = splice(p[0], NULL, fd, NULL, n, 0);
			close(p[0]);
			close(p[1]);
			break;
		default:
			return -1;
		}
		if (n <= 0)
			return -1;
		total += n;
	}
	close(fd);
	return total;
}

static int64_t do_send(const void *a)
{
	const struct send_arg *sa = a;
	long size = sa->e->size;
	char *buf = malloc(size);
	int fd = open(sa->e->db, O_RDONLY);
	int64_t ret;
	long got = 0;
	ssize_t n;

	if (!buf || fd < 0)
		return -1;
	/* become tracked: read the whole database */
	while (got < size && (n = read(fd, buf + got, size - got)) > 0)
		got += n;
	lseek(fd, 0, SEEK_SET);
	ret = send_db(sa, fd, buf, size);
	free(buf);
	close(fd);
	return ret;
}

FIXTURE(sends) {
	struct env e;
};

FIXTURE_VARIANT(sends) {
	int family;
	int type;
	int op;
	int connect;
};

#define SEND_VARIANT(name, fam, typ, o, conn) \
	FIXTURE_VARIANT_ADD(sends, name) { \
		.family = fam, .type = typ, .op = o, .connect = conn \
	}

SEND_VARIANT(tcp4_write, AF_INET, SOCK_STREAM, EXFILMON_OP_WRITE, 0);
SEND_VARIANT(tcp4_writev, AF_INET, SOCK_STREAM, EXFILMON_OP_WRITEV, 0);
SEND_VARIANT(tcp4_send, AF_INET, SOCK_STREAM, EXFILMON_OP_SENDTO, 0);
SEND_VARIANT(tcp4_sendmsg, AF_INET, SOCK_STREAM, EXFILMON_OP_SENDMSG, 0);
SEND_VARIANT(tcp4_sendmmsg, AF_INET, SOCK_STREAM, EXFILMON_OP_SENDMMSG, 0);
SEND_VARIANT(tcp4_sendfile, AF_INET, SOCK_STREAM, EXFILMON_OP_SENDFILE, 0);
SEND_VARIANT(tcp4_splice, AF_INET, SOCK_STREAM, EXFILMON_OP_SPLICE, 0);
SEND_VARIANT(tcp6_write, AF_INET6, SOCK_STREAM, EXFILMON_OP_WRITE, 0);
SEND_VARIANT(tcp6_sendfile, AF_INET6, SOCK_STREAM, EXFILMON_OP_SENDFILE, 0);
SEND_VARIANT(udp4_sendto, AF_INET, SOCK_DGRAM, EXFILMON_OP_SENDTO, 0);
SEND_VARIANT(udp4_sendmsg, AF_INET, SOCK_DGRAM, EXFILMON_OP_SENDMSG, 0);
SEND_VARIANT(udp4_sendmmsg, AF_INET, SOCK_DGRAM, EXFILMON_OP_SENDMMSG, 0);
SEND_VARIANT(udp4_connected_write, AF_INET, SOCK_DGRAM, EXFILMON_OP_WRITE, 1);
SEND_VARIANT(udp6_sendto, AF_INET6, SOCK_DGRAM, EXFILMON_OP_SENDTO, 0);
SEND_VARIANT(udp6_sendmsg, AF_INET6, SOCK_DGRAM, EXFILMON_OP_SENDMSG, 0);
SEND_VARIANT(udp6_sendmmsg, AF_INET6, SOCK_DGRAM, EXFILMON_OP_SENDMMSG, 0);

FIXTURE_SETUP(sends)
{
	int ret = env_setup(_metadata, &self->e, 3);

	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(sends)
{
	env_teardown(&self->e);
}

static void dest_of(const struct env *e, int family, int type, uint16_t port,
		    struct exfilmon_dest *d)
{
	memset(d, 0, sizeof(*d));
	d->port = port;
	d->proto = type == SOCK_STREAM ? EXFILMON_PROTO_TCP : EXFILMON_PROTO_UDP;
	if (family == AF_INET) {
		d->family = EXFILMON_AF_INET;
		inet_pton(AF_INET, e->th.remote4, d->addr);
	} else {
		d->family = EXFILMON_AF_INET6;
		inet_pton(AF_INET6, e->th.remote6, d->addr);
	}
}

TEST_F(sends, counts_exactly_the_bytes_sent_per_destination)
{
	struct env *e = &self->e;
	struct send_arg sa = {
		.e = e, .family = variant->family, .type = variant->type,
		.op = variant->op, .connect = variant->connect, .port = 9000,
	};
	struct exfilmon_dest d;
	struct find_ctx f;
	struct sink sink;
	int64_t truth, got;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_EQ(0, sink_start(&e->th, sa.family, sa.type, sa.port, &sink));
	pid = child_run(do_send, &sa, &truth);
	got = sink_wait(&sink);
	ASSERT_LT(0, truth);
	if (sa.type == SOCK_STREAM) {
		EXPECT_EQ(truth, got);
	} else {
		EXPECT_LT(0, got);	/* datagrams: delivery is not ours */
	}

	f = find_proc(e->s, pid);
	ASSERT_EQ(1, f.found);
	dest_of(e, sa.family, sa.type, sa.port, &d);
	EXPECT_EQ((uint64_t)truth, sent_bytes(e->s, &f, &d));
	EXPECT_EQ((uint64_t)truth, f.proc.bytes_sent);
	EXPECT_LE((uint64_t)e->size, f.proc.bytes_read);

	e->seen.pid = pid;
	ASSERT_EQ(0, e->s->ops->poll(e->s));
	expect_announced(_metadata, e->s, &e->seen, 1, variant->op, truth);
}

/* ------------------------------------------------------------------ */
/* Processes that did not read watched data, and inherited taint */

FIXTURE(procs) {
	struct env e;
};

FIXTURE_SETUP(procs)
{
	int ret = env_setup(_metadata, &self->e, 4);

	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(procs)
{
	env_teardown(&self->e);
}

static int64_t send_unrelated(const void *a)
{
	const struct send_arg *sa = a;
	static char junk[200000];

	return send_db(sa, -1, junk, sizeof(junk));
}

TEST_F(procs, untracked_sender_costs_nothing_and_is_not_counted)
{
	struct send_arg sa = {
		.e = &self->e, .family = AF_INET, .type = SOCK_STREAM,
		.op = EXFILMON_OP_WRITE, .port = 9001,
	};
	struct sink sink;
	int64_t truth;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_EQ(0, sink_start(&self->e.th, AF_INET, SOCK_STREAM, 9001,
				&sink));
	pid = child_run(send_unrelated, &sa, &truth);
	EXPECT_EQ(truth, sink_wait(&sink));
	EXPECT_EQ(200000, truth);
	EXPECT_EQ(0, find_proc(self->e.s, pid).found);
}

struct inherit_arg {
	struct send_arg sa;
	pid_t child;
};

static int64_t send_junk(const void *a)
{
	static char junk[300000];

	return send_db(a, -1, junk, sizeof(junk));
}

static int64_t read_then_fork_sender(const void *a)
{
	const struct inherit_arg *ia = a;
	int64_t truth, got;
	pid_t pid;

	got = read_file(ia->sa.e->db);
	if (got != ia->sa.e->size)
		return -1;
	pid = child_run(send_junk, &ia->sa, &truth);
	/* report the child's pid in the high bits: the test needs it */
	return truth < 0 ? -1 : (int64_t)pid << 32 | truth;
}

TEST_F(procs, child_of_a_reader_is_tracked_and_its_sends_counted)
{
	struct inherit_arg ia = {
		.sa = { .e = &self->e, .family = AF_INET, .type = SOCK_STREAM,
			.op = EXFILMON_OP_WRITE, .port = 9002 },
	};
	struct exfilmon_dest d;
	struct find_ctx parent, child;
	struct sink sink;
	int64_t packed;
	pid_t pid, cpid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_EQ(0, sink_start(&self->e.th, AF_INET, SOCK_STREAM, 9002,
				&sink));
	pid = child_run(read_then_fork_sender, &ia, &packed);
	ASSERT_LT(0, packed);
	cpid = packed >> 32;
	EXPECT_EQ(300000, packed & 0xffffffff);
	EXPECT_EQ(300000, sink_wait(&sink));

	parent = find_proc(self->e.s, pid);
	child = find_proc(self->e.s, cpid);
	ASSERT_EQ(1, parent.found);
	ASSERT_EQ(1, child.found);
	EXPECT_EQ((uint64_t)self->e.size, parent.proc.bytes_read);
	EXPECT_EQ((uint64_t)self->e.size, parent.proc.taint);
	/* the child read nothing: its taint is the parent's at fork */
	EXPECT_EQ(0, child.proc.bytes_read);
	EXPECT_EQ((uint64_t)self->e.size, child.proc.taint);
	EXPECT_EQ(1, child.proc.watch_id);
	EXPECT_EQ(EXFILMON_CHAN_FORK, child.proc.src_chan);
	EXPECT_EQ(0, memcmp(&child.proc.src, &parent.key,
			    sizeof(parent.key)));
	EXPECT_TRUE(child.proc.flags & EXFILMON_PROC_INHERITED);
	EXPECT_EQ((uint32_t)pid, child.proc.ppid);
	dest_of(&self->e, AF_INET, SOCK_STREAM, 9002, &d);
	EXPECT_EQ(300000, sent_bytes(self->e.s, &child, &d));
}

/*
 * Fork fn as pid want: ns_last_pid names the pid the next fork in this
 * pid namespace gets. Another process may take it first; then try again.
 * Returns the pid fn ran as (want, or another after 20 tries).
 */
static pid_t child_run_as(pid_t want, int64_t (*fn)(const void *arg),
			  const void *arg, int64_t *truth)
{
	pid_t pid = -1;
	int i;

	for (i = 0; i < 20 && pid != want; i++) {
		FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");

		if (!f)
			return -1;
		fprintf(f, "%d", want - 1);
		if (fclose(f))
			return -1;
		pid = child_run(fn, arg, truth);
	}
	return pid;
}

static int64_t send_db_after_reading(const void *a)
{
	const struct send_arg *sa = a;
	char *buf = malloc(sa->e->size);
	int64_t ret = -1;
	int fd = open(sa->e->db, O_RDONLY);

	if (buf && fd >= 0 &&
	    pread(fd, buf, sa->e->size, 0) == sa->e->size)
		ret = send_db(sa, -1, buf, sa->e->size);
	free(buf);
	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * A tracked process's pid, reused: the new process is not tracked for
 * its predecessor's reads, and is tracked again, from its own first read,
 * once it reads. The eBPF sensor clears a process's tracked bit when it
 * exits and sets it again on the next entry (bpf/maps.h): done in the
 * wrong order, the second thief's sends would be missed.
 */
TEST_F(procs, reused_pid_is_tracked_only_for_its_own_reads)
{
	struct send_arg sa = {
		.e = &self->e, .family = AF_INET, .type = SOCK_STREAM,
		.op = EXFILMON_OP_WRITE, .port = 9003,
	};
	struct exfilmon_dest d;
	struct find_ctx first, now;
	struct sink sink;
	int64_t truth;
	pid_t pid, again;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_EQ(0, sink_start(&self->e.th, AF_INET, SOCK_STREAM, 9003,
				&sink));
	pid = child_run(send_db_after_reading, &sa, &truth);
	ASSERT_EQ(self->e.size, truth);
	ASSERT_EQ(truth, sink_wait(&sink));
	first = find_proc(self->e.s, pid);
	ASSERT_EQ(1, first.found);

	/* the same pid, sending without reading: nothing is counted */
	sa.port = 9004;
	ASSERT_EQ(0, sink_start(&self->e.th, AF_INET, SOCK_STREAM, 9004,
				&sink));
	again = child_run_as(pid, send_unrelated, &sa, &truth);
	EXPECT_EQ(200000, truth);
	EXPECT_EQ(truth, sink_wait(&sink));
	if (again != pid)
		SKIP(return, "pid %d was taken by others 20 times", pid);
	now = find_proc(self->e.s, pid);
	EXPECT_EQ(1, now.found);	/* the first process's entry only */
	EXPECT_EQ(0, memcmp(&now.key, &first.key, sizeof(now.key)));

	/* and reading, then sending: tracked again, every byte counted */
	sa.port = 9005;
	ASSERT_EQ(0, sink_start(&self->e.th, AF_INET, SOCK_STREAM, 9005,
				&sink));
	again = child_run_as(pid, send_db_after_reading, &sa, &truth);
	EXPECT_EQ(self->e.size, truth);
	EXPECT_EQ(truth, sink_wait(&sink));
	if (again != pid)
		SKIP(return, "pid %d was taken by others 20 times", pid);
	now = find_proc(self->e.s, pid);
	ASSERT_EQ(2, now.found);
	ASSERT_NE(0, memcmp(&now.key, &first.key, sizeof(now.key)));
	EXPECT_EQ((uint64_t)self->e.size, now.proc.bytes_read);
	dest_of(&self->e, AF_INET, SOCK_STREAM, 9005, &d);
	EXPECT_EQ((uint64_t)self->e.size, sent_bytes(self->e.s, &now, &d));
}

struct leader_arg {
	struct send_arg sa;
	int64_t *slot;
};

static void *quit_thread(void *a)
{
	return NULL;
}

static void *send_after_leader(void *a)
{
	const struct leader_arg *la = a;
	static char junk[300000];

	/* the leader is gone by now: pthread_exit() left it a zombie */
	usleep(100 * 1000);
	*la->slot = send_db(&la->sa, -1, junk, sizeof(junk));
	return NULL;
}

/*
 * Threads exit, the leader among them, while the process lives on: it
 * stays tracked. Only the last thread's exit ends a process
 * (signal->live reaches zero), which is when its tracked bit is cleared.
 */
static int64_t read_then_leader_exits(const void *a)
{
	const struct leader_arg *la = a;
	pthread_t t;

	if (read_file(la->sa.e->db) != la->sa.e->size ||
	    pthread_create(&t, NULL, quit_thread, NULL) ||
	    pthread_join(t, NULL) ||
	    pthread_create(&t, NULL, send_after_leader, (void *)la))
		return -1;
	pthread_exit(NULL);
}

TEST_F(procs, exiting_threads_and_leader_leave_the_process_tracked)
{
	struct leader_arg la = {
		.sa = { .e = &self->e, .family = AF_INET, .type = SOCK_STREAM,
			.op = EXFILMON_OP_WRITE, .port = 9006 },
	};
	struct exfilmon_dest d;
	struct find_ctx f;
	struct sink sink;
	int64_t unused;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	la.slot = shared_slot();
	ASSERT_NE(NULL, la.slot);
	ASSERT_EQ(0, sink_start(&self->e.th, AF_INET, SOCK_STREAM, 9006,
				&sink));
	pid = child_run(read_then_leader_exits, &la, &unused);
	ASSERT_LT(0, pid);
	EXPECT_EQ(300000, *la.slot);
	EXPECT_EQ(300000, sink_wait(&sink));
	f = find_proc(self->e.s, pid);
	ASSERT_EQ(1, f.found);
	EXPECT_EQ((uint64_t)self->e.size, f.proc.bytes_read);
	dest_of(&self->e, AF_INET, SOCK_STREAM, 9006, &d);
	EXPECT_EQ(300000, sent_bytes(self->e.s, &f, &d));
	munmap(la.slot, sizeof(*la.slot));
}

/* ------------------------------------------------------------------ */
/* Taint carried into objects: the streams, flows and watched tables */

FIXTURE(flow) {
	struct env e;
};

FIXTURE_SETUP(flow)
{
	int ret = env_setup(_metadata, &self->e, 5);

	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(flow)
{
	env_teardown(&self->e);
}

struct obj_find {
	const struct exfilmon_file_key *key;
	struct exfilmon_obj obj;
	int found;
	int verdict;	/* for the entry of key */
};

static int find_obj_cb(void *ctx, const struct exfilmon_file_key *k,
		       const struct exfilmon_obj *o)
{
	struct obj_find *f = ctx;

	if (memcmp(k, f->key, sizeof(*k)))
		return 0;
	f->obj = *o;
	f->found++;
	return f->verdict;
}

static struct obj_find find_stream(struct sensor *s,
				   const struct exfilmon_file_key *key,
				   int verdict)
{
	struct obj_find f = { .key = key, .verdict = verdict };

	s->ops->for_each_stream(s, find_obj_cb, &f);
	return f;
}

static struct obj_find find_watched(struct sensor *s,
				    const struct exfilmon_file_key *key)
{
	struct obj_find f = { .key = key };

	s->ops->for_each_watched(s, find_obj_cb, &f);
	return f;
}

struct flow_find {
	struct exfilmon_read_key key;
	uint64_t bytes;
	int found;
	int verdict;
};

static int find_flow_cb(void *ctx, const struct exfilmon_read_key *k,
			const struct exfilmon_count *c)
{
	struct flow_find *f = ctx;

	if (memcmp(k, &f->key, sizeof(*k)))
		return 0;
	f->bytes = c->bytes;
	f->found++;
	return f->verdict;
}

/* The outflow of process proc into object obj. */
static struct flow_find find_flow(struct sensor *s,
				  const struct exfilmon_pkey *proc,
				  const struct exfilmon_file_key *obj,
				  int verdict)
{
	struct flow_find f = { .verdict = verdict };

	f.key.proc = *proc;
	f.key.file = *obj;
	s->ops->for_each_flow(s, find_flow_cb, &f);
	return f;
}

/* Read the whole database, then write n bytes of it into each fd >= 0. */
struct carry_arg {
	const char *db;
	long size;
	int fd[2];
	long n;
};

static int64_t read_then_write(const void *a)
{
	const struct carry_arg *ca = a;
	char *buf = malloc(ca->size);
	int fd = open(ca->db, O_RDONLY);
	int64_t total = 0;
	long got = 0;
	ssize_t n;
	int i;

	if (!buf || fd < 0)
		return -1;
	while (got < ca->size && (n = read(fd, buf + got, ca->size - got)) > 0)
		got += n;
	close(fd);
	for (i = 0; i < 2 && got >= ca->n; i++) {
		long done = 0;

		while (ca->fd[i] >= 0 && done < ca->n) {
			n = write(ca->fd[i], buf + done, ca->n - done);
			if (n <= 0)
				return -1;
			done += n;
		}
		total += done;
	}
	free(buf);
	return got < ca->n ? -1 : total;
}

struct drain_arg {
	int fd;
	long n;
};

static int64_t read_n(const void *a)
{
	const struct drain_arg *da = a;
	char buf[4096];
	int64_t total = 0;
	ssize_t n;

	while (total < da->n) {
		n = read(da->fd, buf, da->n - total < (long)sizeof(buf) ?
			 da->n - total : (long)sizeof(buf));
		if (n <= 0)
			return -1;
		total += n;
	}
	return total;
}

TEST_F(flow, pipe_holds_the_taint_written_until_it_is_read)
{
	struct env *e = &self->e;
	struct exfilmon_file_key pkey;
	struct carry_arg ca = { e->db, e->size, { -1, -1 }, 40000 };
	struct drain_arg da = { -1, 15000 };
	struct find_ctx w, r;
	struct obj_find o;
	int64_t truth;
	pid_t wpid, rpid;
	int p[2];

	if (_metadata->skip)
		return;	/* skipped in the setup */

	/* 40000 bytes fit the pipe's buffer: the writer never blocks */
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, e->s->ops->fd_key(e->s, p[1], &pkey));
	ca.fd[0] = p[1];
	wpid = child_run(read_then_write, &ca, &truth);
	ASSERT_EQ(40000, truth);
	w = find_proc(e->s, wpid);
	ASSERT_EQ(1, w.found);
	EXPECT_EQ((uint64_t)e->size, w.proc.taint);
	EXPECT_EQ(40000, w.proc.carried);

	o = find_stream(e->s, &pkey, 0);
	ASSERT_EQ(1, o.found);
	EXPECT_TRUE(o.obj.flags & EXFILMON_OBJ_STREAM);
	EXPECT_EQ(EXFILMON_CHAN_PIPE, o.obj.chan);
	EXPECT_EQ(1, o.obj.watch_id);
	EXPECT_EQ(40000, o.obj.taint);
	EXPECT_EQ(0, memcmp(&o.obj.writer, &w.key, sizeof(w.key)));
	EXPECT_EQ(40000, find_flow(e->s, &w.key, &pkey, 0).bytes);

	/* a reader takes what it reads, and the stream gives it up */
	da.fd = p[0];
	rpid = child_run(read_n, &da, &truth);
	ASSERT_EQ(15000, truth);
	r = find_proc(e->s, rpid);
	ASSERT_EQ(1, r.found);
	EXPECT_EQ(0, r.proc.bytes_read);
	EXPECT_EQ(15000, r.proc.taint);
	EXPECT_EQ(1, r.proc.watch_id);
	EXPECT_EQ(EXFILMON_CHAN_PIPE, r.proc.src_chan);
	EXPECT_EQ(0, memcmp(&r.proc.src, &w.key, sizeof(w.key)));
	EXPECT_EQ(0, memcmp(&r.proc.src_obj, &pkey, sizeof(pkey)));
	EXPECT_EQ(25000, find_stream(e->s, &pkey, 0).obj.taint);

	/* read dry, the stream holds nothing (the module deletes the
	 * entry, the eBPF sensor leaves it to the daemon: bpf/flow.h) */
	da.n = 25000;
	rpid = child_run(read_n, &da, &truth);
	ASSERT_EQ(25000, truth);
	EXPECT_EQ(25000, find_proc(e->s, rpid).proc.taint);
	o = find_stream(e->s, &pkey, 0);
	EXPECT_EQ(0, o.found ? o.obj.taint : 0);
	close(p[0]);
	close(p[1]);
}

TEST_F(flow, walk_verdict_1_deletes_the_entry_after_the_walk)
{
	struct env *e = &self->e;
	struct exfilmon_file_key a, b;
	struct carry_arg ca = { e->db, e->size, { -1, -1 }, 1000 };
	struct find_ctx w;
	int64_t truth;
	int pa[2], pb[2];

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_EQ(0, pipe(pa));
	ASSERT_EQ(0, pipe(pb));
	ASSERT_EQ(0, e->s->ops->fd_key(e->s, pa[1], &a));
	ASSERT_EQ(0, e->s->ops->fd_key(e->s, pb[1], &b));
	ca.fd[0] = pa[1];
	ca.fd[1] = pb[1];
	w = find_proc(e->s, child_run(read_then_write, &ca, &truth));
	ASSERT_EQ(2000, truth);
	ASSERT_EQ(1, w.found);

	/* the walk that deletes still sees the entry, once */
	EXPECT_EQ(1, find_stream(e->s, &a, 1).found);
	EXPECT_EQ(0, find_stream(e->s, &a, 0).found);
	EXPECT_EQ(1000, find_stream(e->s, &b, 0).obj.taint);

	EXPECT_EQ(1, find_flow(e->s, &w.key, &b, 1).found);
	EXPECT_EQ(0, find_flow(e->s, &w.key, &b, 0).found);
	EXPECT_EQ(1000, find_flow(e->s, &w.key, &a, 0).bytes);
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
}

TEST_F(flow, derived_marks_and_opaque_entries_outlive_watch_rm_id)
{
	struct env *e = &self->e;
	struct exfilmon_obj opaque = { .flags = EXFILMON_OBJ_OPAQUE,
				       .watch_id = 1 };
	struct carry_arg ca = { e->db, e->size, { -1, -1 }, 100000 };
	struct exfilmon_file_key ckey, okey;
	char copy[160], exe[160];
	struct find_ctx w, r;
	struct obj_find o;
	int64_t truth;
	pid_t rpid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	o = find_watched(e->s, &e->key);
	ASSERT_EQ(1, o.found);
	EXPECT_EQ(EXFILMON_WATCH_FILE, o.obj.flags);
	EXPECT_EQ(1, o.obj.watch_id);

	snprintf(copy, sizeof(copy), "%s/notes.txt", e->dir);
	ca.fd[0] = open(copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_LE(0, ca.fd[0]);
	w = find_proc(e->s, child_run(read_then_write, &ca, &truth));
	close(ca.fd[0]);
	ASSERT_EQ(100000, truth);
	ASSERT_EQ(1, w.found);
	ASSERT_EQ(0, sensor_path_key(e->s, copy, &ckey));
	o = find_watched(e->s, &ckey);
	ASSERT_EQ(1, o.found);
	EXPECT_EQ(EXFILMON_OBJ_DERIVED, o.obj.flags);
	EXPECT_EQ(EXFILMON_CHAN_FILE, o.obj.chan);
	EXPECT_EQ(1, o.obj.watch_id);
	EXPECT_EQ(100000, o.obj.taint);
	EXPECT_EQ(0, memcmp(&o.obj.writer, &w.key, sizeof(w.key)));
	EXPECT_EQ(100000, find_flow(e->s, &w.key, &ckey, 0).bytes);

	snprintf(exe, sizeof(exe), "%s/relay", e->dir);
	ASSERT_LT(0, customers_write(exe, 1000));
	ASSERT_EQ(0, sensor_path_key(e->s, exe, &okey));
	ASSERT_EQ(0, e->s->ops->watch_add(e->s, &okey, &opaque));

	/* only the configured entry is the watch's to take away */
	ASSERT_EQ(0, e->s->ops->watch_rm_id(e->s, 1));
	EXPECT_EQ(0, find_watched(e->s, &e->key).found);
	EXPECT_EQ(EXFILMON_OBJ_DERIVED, find_watched(e->s, &ckey).obj.flags);
	EXPECT_EQ(EXFILMON_OBJ_OPAQUE, find_watched(e->s, &okey).obj.flags);

	/* and the staged copy still taints whoever reads it */
	rpid = child_run(read_file, copy, &truth);
	ASSERT_EQ(100000, truth);
	r = find_proc(e->s, rpid);
	ASSERT_EQ(1, r.found);
	EXPECT_EQ(0, r.proc.bytes_read);
	EXPECT_EQ(100000, r.proc.taint);
	EXPECT_EQ(EXFILMON_CHAN_FILE, r.proc.src_chan);
	EXPECT_EQ(0, memcmp(&r.proc.src, &w.key, sizeof(w.key)));
}

TEST_F(flow, opaque_path_is_marked_by_the_file_it_leads_to)
{
	struct env *e = &self->e;
	struct exfilmon_file_key key;
	char exe[160], link[160], dir[160], err[512];
	struct watchlist wl;
	struct obj_find o;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	snprintf(exe, sizeof(exe), "%s/journald", e->dir);
	snprintf(link, sizeof(link), "%s/journald-link", e->dir);
	snprintf(dir, sizeof(dir), "%s/bin", e->dir);
	ASSERT_LT(0, customers_write(exe, 1000));
	ASSERT_EQ(0, symlink(exe, link));
	ASSERT_EQ(0, mkdir(dir, 0700));
	ASSERT_EQ(0, sensor_path_key(e->s, exe, &key));
	ASSERT_EQ(0, watchlist_init(&wl, e->s));

	ASSERT_EQ(0, watchlist_add_opaque(&wl, link, err, sizeof(err)))
		TH_LOG("%s", err);
	o = find_watched(e->s, &key);
	ASSERT_EQ(1, o.found);
	EXPECT_EQ(EXFILMON_OBJ_OPAQUE, o.obj.flags);
	EXPECT_EQ(0, o.obj.watch_id);
	EXPECT_EQ(1, wl.nr_opaque);

	/* what is not there, or not a file, is refused and says why */
	EXPECT_EQ(-ENOENT, watchlist_add_opaque(&wl, "/nonexistent/exe", err,
						sizeof(err)));
	EXPECT_STREQ("/nonexistent/exe: No such file or directory", err);
	EXPECT_EQ(-EINVAL, watchlist_add_opaque(&wl, dir, err, sizeof(err)));
	EXPECT_EQ(1, wl.nr_opaque);
	watchlist_destroy(&wl);
}

TEST_HARNESS_MAIN
