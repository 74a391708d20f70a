// SPDX-License-Identifier: GPL-2.0-only
/*
 * The module coalesces the records of reads of a watched file (ABI 3,
 * exfilmon_announce() in include/exfilmon_abi.h): a child reads a watched
 * file in N small read()s, and the ring carries a REC_READ for exactly the
 * reads the rule announces, while the reads table holds every byte and
 * every call. The child timestamps each read, which bounds the quiet gaps
 * the module can have seen. Needs the module loaded: run in the VM guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "exfilmon_abi.h"

#define TEST_WATCH_ID	0x7e570002U
#define NR_READS	1000
#define READ_SIZE	4096
#define RING_BUF	(256 << 10)

/* What the child did, in memory shared with the test (not a pipe: the
 * child is tainted, and would carry taint into it). */
struct reads_done {
	int ok;				/* every read() returned READ_SIZE */
	__u64 before[NR_READS];		/* CLOCK_BOOTTIME before read i */
	__u64 after[NR_READS];		/* and after it returned */
};

FIXTURE(coalesce) {
	int fd;
	char dir[64];
	char path[96];
	struct exfilmon_file_key key;
	int watching;
	struct reads_done *done;
	char *ring;
};

#define NEED_DEV() do { \
	if (self->fd < 0) \
		SKIP(return, "no %s", EXFILMON_DEV_PATH); \
} while (0)

FIXTURE_SETUP(coalesce)
{
	const char *want = getenv("EXFILMON_SENSOR");
	struct exfilmon_ioc_watch w = { .size = sizeof(w) };
	struct exfilmon_ioc_fd_key k = { .size = sizeof(k) };
	char block[READ_SIZE];
	int fd, i;

	self->watching = 0;
	self->done = MAP_FAILED;
	self->ring = NULL;
	self->dir[0] = 0;
	self->fd = open(EXFILMON_DEV_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (self->fd < 0 && !(want && !strcmp(want, "kmod")))
		SKIP(return, "%s: %s (module not loaded; runs in the VM)",
		     EXFILMON_DEV_PATH, strerror(errno));
	ASSERT_LE(0, self->fd);

	strcpy(self->dir, "/tmp/exfilmon-coalesce-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/data", self->dir);
	fd = open(self->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	memset(block, 'x', sizeof(block));
	for (i = 0; i < NR_READS; i++)
		ASSERT_EQ(sizeof(block), write(fd, block, sizeof(block)));
	close(fd);
	k.fk.fd = open(self->path, O_PATH | O_CLOEXEC);
	ASSERT_LE(0, k.fk.fd);
	ASSERT_EQ(0, ioctl(self->fd, EXFILMON_IOC_FD_KEY, &k));
	close(k.fk.fd);
	self->key = k.fk.key;
	w.key = self->key;
	w.w.flags = EXFILMON_WATCH_FILE;
	w.w.watch_id = TEST_WATCH_ID;
	ASSERT_EQ(0, ioctl(self->fd, EXFILMON_IOC_WATCH_ADD, &w));
	self->watching = 1;

	/* before the fork: the child maps nothing once it is tracked */
	self->done = mmap(NULL, sizeof(*self->done), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->done);
	self->ring = malloc(RING_BUF);
	ASSERT_NE(NULL, self->ring);
}

FIXTURE_TEARDOWN(coalesce)
{
	struct exfilmon_ioc_watch w = { .size = sizeof(w), .key = self->key };

	if (self->watching)
		ioctl(self->fd, EXFILMON_IOC_WATCH_RM, &w);
	if (self->dir[0]) {
		unlink(self->path);
		rmdir(self->dir);
	}
	if (self->done != MAP_FAILED)
		munmap(self->done, sizeof(*self->done));
	free(self->ring);
	if (self->fd >= 0)
		close(self->fd);
}

static __u64 boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void child_read(const char *path, struct reads_done *done)
{
	char buf[READ_SIZE];
	int fd = open(path, O_RDONLY), i;

	if (fd < 0)
		_exit(1);
	for (i = 0; i < NR_READS; i++) {
		done->before[i] = boottime_ns();
		if (read(fd, buf, sizeof(buf)) != sizeof(buf))
			_exit(1);
		done->after[i] = boottime_ns();
	}
	done->ok = 1;
	_exit(0);
}

static __u64 dropped(int fd)
{
	struct exfilmon_ioc_stats st = { .size = sizeof(st) };

	if (ioctl(fd, EXFILMON_IOC_STATS, &st))
		return ~0ULL;
	return st.stats[EXFILMON_STAT_DROPPED];
}

/*
 * The rule, for the read that made the counter reach ops calls: announced
 * when it is the first, when it crosses a 2^EXFILMON_ANNOUNCE_SHIFT-byte
 * boundary, or when it may have followed EXFILMON_QUIET_NS without a call.
 * The module's clock reads of calls i - 1 and i lie within
 * [before[i - 1], after[i]], so a quiet gap needs after[i] - before[i - 1]
 * of at least EXFILMON_QUIET_NS: only such a read may be announced for it.
 */
static int first_or_boundary(__u32 ops)
{
	__u64 was = (__u64)(ops - 1) * READ_SIZE, now = was + READ_SIZE;

	return ops == 1 ||
	       now >> EXFILMON_ANNOUNCE_SHIFT != was >> EXFILMON_ANNOUNCE_SHIFT;
}

static int may_follow_quiet(const struct reads_done *done, __u32 ops)
{
	__u32 i = ops - 1;

	return i > 0 && done->after[i] - done->before[i - 1] >=
			EXFILMON_QUIET_NS;
}

/*
 * N reads of READ_SIZE in a row: the REC_READs name the very calls the
 * rule announces (each first or boundary call, and no call that could not
 * have followed a quiet gap), far fewer than N; the last record and a
 * TABLE_LOOKUP carry all N calls and every byte.
 */
TEST_F(coalesce, reads_of_a_watched_file_are_announced_by_the_rule)
{
	struct exfilmon_ioc_table t = { .size = sizeof(t) };
	struct exfilmon_ioc_proc p = { .size = sizeof(p) };
	struct exfilmon_read_entry e = { 0 };
	struct exfilmon_pkey pkey = { 0 };
	__u32 records = 0, must = 0, must_seen = 0, quiet = 0, last_ops = 0;
	__u32 unexplained = 0, first_unexplained = 0, ops;
	__u64 drops, last_bytes = 0;
	int status = -1;
	ssize_t n, off;
	pid_t pid;

	NEED_DEV();

	/* what earlier tests left in the ring is not ours */
	while (read(self->fd, self->ring, RING_BUF) > 0)
		;
	drops = dropped(self->fd);
	ASSERT_NE(~0ULL, drops);
	self->done->ok = 0;
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		child_read(self->path, self->done);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	ASSERT_EQ(1, self->done->ok);

	for (ops = 1; ops <= NR_READS; ops++) {
		must += first_or_boundary(ops);
		quiet += !first_or_boundary(ops) &&
			 may_follow_quiet(self->done, ops);
	}
	TH_LOG("%u reads: %u announced by count, %u may follow a quiet gap",
	       NR_READS, must, quiet);

	while ((n = read(self->fd, self->ring, RING_BUF)) > 0) {
		for (off = 0; off + (ssize_t)sizeof(struct exfilmon_rec_hdr) <= n;
		     off += ((struct exfilmon_rec_hdr *)(self->ring + off))->size) {
			const struct exfilmon_rec_io *r =
				(const void *)(self->ring + off);

			ASSERT_LE(sizeof(r->hdr), r->hdr.size);
			if (r->hdr.type != EXFILMON_REC_READ ||
			    r->hdr.proc.tgid != (__u32)pid ||
			    memcmp(&r->file, &self->key, sizeof(self->key)))
				continue;
			records++;
			pkey = r->hdr.proc;
			ops = r->total.ops;
			ASSERT_LT(0, ops);
			ASSERT_GE(NR_READS, ops);
			EXPECT_EQ(EXFILMON_CHAN_READ, r->chan);
			EXPECT_EQ(READ_SIZE, r->delta);
			EXPECT_EQ((__u64)ops * READ_SIZE, r->total.bytes);
			/* in order, each a call the rule announces */
			EXPECT_LT(last_ops, ops);
			if (!first_or_boundary(ops) &&
			    !may_follow_quiet(self->done, ops) &&
			    !unexplained++)
				first_unexplained = ops;
			must_seen += first_or_boundary(ops);
			last_ops = ops;
			last_bytes = r->total.bytes;
		}
	}
	EXPECT_EQ(EAGAIN, errno);
	/* a dropped record would hide a wrong announcement */
	EXPECT_EQ(drops, dropped(self->fd));
	TH_LOG("%u REC_READ records for %u reads", records, NR_READS);
	EXPECT_EQ(0, unexplained)
		TH_LOG("%u calls announced that were neither first, nor at a "
		       "boundary, nor after %llu ns quiet; the first: call %u",
		       unexplained, EXFILMON_QUIET_NS, first_unexplained);
	EXPECT_EQ(must, must_seen)
		TH_LOG("%u first or boundary calls without a record",
		       must - must_seen);
	EXPECT_GE(must + quiet, records);
	/* far fewer records than reads, unless the reader stalled as often */
	if (must + quiet < NR_READS / 4) {
		EXPECT_GT(NR_READS / 4, records);
	}
	ASSERT_LT(0, records);
	/* the last call crosses no boundary, and may go unannounced */
	EXPECT_EQ((__u64)last_ops * READ_SIZE, last_bytes);

	/* the table has it all */
	e.key.proc = pkey;
	e.key.file = self->key;
	t.table = EXFILMON_TABLE_READS;
	t.count = 1;
	t.buf = (uintptr_t)&e;
	ASSERT_EQ(0, ioctl(self->fd, EXFILMON_IOC_TABLE_LOOKUP, &t));
	EXPECT_EQ(NR_READS, e.val.ops);
	EXPECT_EQ((__u64)NR_READS * READ_SIZE, e.val.bytes);
	EXPECT_LE(self->done->before[0], e.val.first_ns);
	EXPECT_GE(self->done->after[NR_READS - 1], e.val.last_ns);

	/* what the child left, as a daemon would after its exit */
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_TABLE_DELETE, &t));
	p.key = pkey;
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_PROC_FORGET, &p));
}

TEST_HARNESS_MAIN
