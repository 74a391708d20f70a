// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/exfilmon under a random barrage, from several threads at once: for
 * EXFILMON_IOCTL_FUZZ_S seconds (20 by default), two threads issue ioctls
 * with random commands (ours with random directions and sizes, and any
 * number of our 0xDF type), random argument sizes and contents, and
 * random pointers (NULL, unmapped, guard pages, read-only pages,
 * misaligned, kernel and non-canonical addresses, valid buffers), while a
 * third drains the record ring with reads of random sizes into good and
 * bad buffers. Every call's result is counted per errno. Then the module
 * must still work: a watched file read by a child is counted exactly,
 * through the ioctls alone. The VM run fails on any kernel warning in
 * dmesg (docs/vmcheck.md). Needs the module loaded: runs in the guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "exfilmon_abi.h"

#define FUZZ_THREADS	2
#define MAX_ERRNO	134	/* errno values counted one by one */
#define TEST_WATCH_ID	0x7e570002U
#define PAGE		4096

/*
 * Each thread's arena: every pointer it hands the kernel lands in here,
 * or where nothing can be mapped (below mmap_min_addr, the kernel's half,
 * non-canonical), so a call that writes where it was told cannot corrupt
 * the fuzzer itself. Layout: a writable page, a guard page, a read-only
 * page, BIG writable bytes, a guard page at the end.
 */
#define BIG		(16 * PAGE)
#define ARENA		(3 * PAGE + BIG + PAGE)
#define A_RW		0
#define A_GUARD		PAGE
#define A_RO		(2 * PAGE)
#define A_BIG		(3 * PAGE)
#define A_END_GUARD	(3 * PAGE + BIG)

struct hist {
	unsigned long calls;
	unsigned long err[MAX_ERRNO + 1];	/* [0]: success, [MAX]: other */
};

struct fuzzer {
	int fd;
	volatile int stop;
	unsigned char *arena;
	unsigned long long seed;
	struct hist h;
};

/* xorshift64*: each thread its own, seeded from the run's seed */
static unsigned long long rnd(unsigned long long *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void count(struct hist *h, long ret)
{
	int e = ret < 0 ? errno : 0;

	h->calls++;
	h->err[e >= 0 && e < MAX_ERRNO ? e : MAX_ERRNO]++;
}

/* The size each of our commands' arguments has. */
static const unsigned int arg_size[] = {
	[0x00] = sizeof(struct exfilmon_ioc_version),
	[0x01] = sizeof(struct exfilmon_ioc_watch),
	[0x02] = sizeof(struct exfilmon_ioc_watch),
	[0x03] = sizeof(struct exfilmon_ioc_watch),
	[0x04] = sizeof(struct exfilmon_ioc_fd_key),
	[0x05] = sizeof(struct exfilmon_ioc_stats),
	[0x06] = sizeof(struct exfilmon_ioc_limits),
	[0x07] = sizeof(struct exfilmon_ioc_proc),
	[0x08] = sizeof(struct exfilmon_ioc_proc),
	[0x09] = sizeof(struct exfilmon_ioc_table),
	[0x0a] = sizeof(struct exfilmon_ioc_table),
	[0x0b] = sizeof(struct exfilmon_ioc_table),
};
#define NR_CMDS	(sizeof(arg_size) / sizeof(arg_size[0]))

static const unsigned long cmds[NR_CMDS] = {
	EXFILMON_IOC_VERSION, EXFILMON_IOC_WATCH_ADD, EXFILMON_IOC_WATCH_RM,
	EXFILMON_IOC_WATCH_RM_ID, EXFILMON_IOC_FD_KEY, EXFILMON_IOC_STATS,
	EXFILMON_IOC_SET_LIMITS, EXFILMON_IOC_PROC_GET,
	EXFILMON_IOC_PROC_FORGET, EXFILMON_IOC_TABLE_READ,
	EXFILMON_IOC_TABLE_DELETE, EXFILMON_IOC_TABLE_LOOKUP,
};

/* A pointer of a random kind, for an argument of len bytes. */
static void *random_ptr(unsigned char *arena, unsigned long long *s,
			size_t len)
{
	unsigned long long r = rnd(s);

	if (len > PAGE)
		len = PAGE;
	switch (r % 11) {
	case 0:
		return NULL;
	case 1:	/* below mmap_min_addr: never mapped */
		return (void *)(uintptr_t)(rnd(s) % 0x10000);
	case 2:	/* inside a guard page */
		return arena + A_GUARD + rnd(s) % PAGE;
	case 3:	/* running from a writable page into its guard */
		return arena + A_GUARD - 1 - rnd(s) % (len ? len : 1);
	case 4:	/* read-only */
		return arena + A_RO + rnd(s) % PAGE;
	case 5:	/* the kernel's direct map and text */
		return (void *)(uintptr_t)((r & 1 ? 0xffff888000000000ULL :
					    0xffffffff81000000ULL) +
					   rnd(s) % (1ULL << 30));
	case 6:	/* non-canonical */
		return (void *)(uintptr_t)(0x0000800000000000ULL |
					   (rnd(s) & 0x00007fffffffffffULL));
	case 7:	/* misaligned, in the big buffer */
		return arena + A_BIG + 1 + rnd(s) % 7;
	case 8:	/* at the end of the big buffer: runs into the guard */
		return arena + A_END_GUARD - rnd(s) % (len ? len : 1) - 1;
	default:
		return arena + A_RW;
	}
}

/* Fill len bytes at p with random contents, made plausible at times. */
static void random_arg(unsigned char *arena, unsigned long long *s,
		       unsigned char *p, size_t len, unsigned int nr,
		       unsigned long cmd)
{
	size_t i;

	for (i = 0; i < len; i += 8) {
		unsigned long long v = rnd(s);

		memcpy(p + i, &v, len - i < 8 ? len - i : 8);
	}
	if (len < 8 || rnd(s) % 4 == 0)
		return;
	/* the size this command wants and no flags: past the first check */
	if (nr < NR_CMDS) {
		__u32 size = rnd(s) % 8 ? arg_size[nr] : rnd(s) % 512;

		memcpy(p, &size, 4);
		memset(p + 4, 0, 4);
	}
	if (cmd == EXFILMON_IOC_WATCH_ADD && len >= sizeof(struct exfilmon_ioc_watch)) {
		struct exfilmon_ioc_watch *w = (void *)p;
		static const __u32 flags[] = {
			EXFILMON_WATCH_FILE, EXFILMON_WATCH_DIR,
			EXFILMON_OBJ_DERIVED, EXFILMON_OBJ_OPAQUE,
			EXFILMON_WATCH_VIA_DIR,
		};

		/* what watch_obj_valid() takes, at times: a watch is added */
		if (rnd(s) % 2) {
			w->w.flags = flags[rnd(s) % 5];
			w->w.chan = rnd(s) % (EXFILMON_CHAN_NR + 1);
			if (rnd(s) % 4)
				w->w.writer.pad = 0;
		}
	}
	if ((cmd == EXFILMON_IOC_TABLE_READ || cmd == EXFILMON_IOC_TABLE_DELETE ||
	     cmd == EXFILMON_IOC_TABLE_LOOKUP) &&
	    len >= sizeof(struct exfilmon_ioc_table)) {
		struct exfilmon_ioc_table *t = (void *)p;
		static const __u32 counts[] = {
			0, 1, 2, 63, 64, 65, 1024, EXFILMON_TABLE_BATCH_MAX,
			EXFILMON_TABLE_BATCH_MAX + 1, 0xffffffffU,
		};

		if (rnd(s) % 4)
			t->table = rnd(s) % 8;
		if (rnd(s) % 4)
			t->count = counts[rnd(s) % 10];
		if (rnd(s) % 2)
			t->cursor = rnd(s) % 4 ? 0 : rnd(s) % 4096;
		/* the module follows this one: keep it in the arena too */
		t->buf = (uintptr_t)random_ptr(arena, s, t->count * 120ULL);
	}
}

static void *fuzz_thread(void *arg)
{
	struct fuzzer *f = arg;
	unsigned long long s = f->seed;
	unsigned char *a = f->arena;

	while (!f->stop) {
		unsigned long long r = rnd(&s);
		unsigned int nr, dir, size;
		unsigned long cmd;
		unsigned char *p;

		switch (r % 8) {
		case 0: case 1: case 2: case 3:	/* ours, exactly */
			nr = rnd(&s) % NR_CMDS;
			cmd = cmds[nr];
			break;
		case 4: case 5:	/* ours, another direction or size */
			nr = rnd(&s) % NR_CMDS;
			dir = rnd(&s) % 4;
			size = rnd(&s) % 3 ? arg_size[nr] + rnd(&s) % 17 - 8 :
					     rnd(&s) % (1 << _IOC_SIZEBITS);
			cmd = _IOC(dir, EXFILMON_IOC_MAGIC, nr, size);
			break;
		case 6:	/* any number of our type */
			nr = rnd(&s) % 256;
			cmd = _IOC(rnd(&s) % 4, EXFILMON_IOC_MAGIC, nr,
				   rnd(&s) % (1 << _IOC_SIZEBITS));
			break;
		default:	/* anything at all */
			nr = 0xff;
			cmd = rnd(&s) & 0xffffffffUL;
			break;
		}
		p = random_ptr(a, &s, _IOC_SIZE(cmd));
		/* a writable buffer: give it contents worth parsing */
		if (p == a + A_RW || (p >= a + A_BIG && p < a + A_END_GUARD)) {
			size_t room = p == a + A_RW ? PAGE :
				      (size_t)(a + A_END_GUARD - p);
			size_t len = _IOC_SIZE(cmd) < room ? _IOC_SIZE(cmd) :
				     room;

			random_arg(a, &s, p, len ? len : (room < 64 ? room : 64),
				   nr, cmd);
		}
		count(&f->h, ioctl(f->fd, cmd, p));
	}
	return NULL;
}

/* Drain the ring with reads of random sizes into good and bad buffers. */
static void *read_thread(void *arg)
{
	static const size_t sizes[] = { 0, 1, 31, 32, 255, 4096, 65536 };
	struct fuzzer *f = arg;
	unsigned long long s = f->seed;
	unsigned char *a = f->arena;

	while (!f->stop) {
		struct pollfd pfd = { .fd = f->fd, .events = POLLIN };
		size_t len = sizes[rnd(&s) % 7];
		void *p;

		poll(&pfd, 1, 20);
		if (rnd(&s) % 4 == 0)
			p = random_ptr(a, &s, len);
		else
			p = a + A_BIG;
		if (p == a + A_BIG && len > BIG)
			len = BIG;
		count(&f->h, read(f->fd, p, len));
	}
	return NULL;
}

static unsigned char *arena_new(void)
{
	unsigned char *a = mmap(NULL, ARENA, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (a == MAP_FAILED)
		return NULL;
	memset(a + A_RO, 0x5a, PAGE);
	if (mprotect(a + A_GUARD, PAGE, PROT_NONE) ||
	    mprotect(a + A_RO, PAGE, PROT_READ) ||
	    mprotect(a + A_END_GUARD, PAGE, PROT_NONE)) {
		munmap(a, ARENA);
		return NULL;
	}
	return a;
}

/* The whole watched table; its entry count, or -1. */
static long watched_all(int fd, struct exfilmon_watch_entry *out, long max)
{
	struct exfilmon_ioc_table t = {
		.size = sizeof(t), .table = EXFILMON_TABLE_WATCHED,
	};
	long n = 0;

	for (;;) {
		t.count = max - n < 256 ? max - n : 256;
		if (!t.count)
			return -1;
		t.buf = (uintptr_t)(out + n);
		if (ioctl(fd, EXFILMON_IOC_TABLE_READ, &t))
			return -1;
		if (!t.count)
			return n;
		n += t.count;
	}
}

static int entry_in(const struct exfilmon_watch_entry *e,
		    const struct exfilmon_watch_entry *set, long n)
{
	long i;

	for (i = 0; i < n; i++)
		if (!memcmp(&e->key, &set[i].key, sizeof(e->key)))
			return 1;
	return 0;
}

static unsigned long module_param(const char *name)
{
	char path[128];
	unsigned long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/exfilmon/parameters/%s",
		 name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%lu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/*
 * Put back what random calls changed for good: the limits (to the module
 * parameters; every opener sets its own anyway) and the watched table
 * (random watches out, removed ones back). 0, or how many entries could
 * not be put back.
 */
static int restore(struct __test_metadata *_metadata, int fd,
		   const struct exfilmon_watch_entry *before, long nb, long max)
{
	struct exfilmon_ioc_limits l = {
		.size = sizeof(l),
		.max_procs = module_param("max_procs"),
		.max_reads = module_param("max_reads"),
		.max_sends = module_param("max_sends"),
		.max_watch = module_param("max_watch"),
		.max_streams = module_param("max_streams"),
		.max_flows = module_param("max_flows"),
	};
	struct exfilmon_watch_entry *now = calloc(max, sizeof(*now));
	struct exfilmon_ioc_table t = {
		.size = sizeof(t), .table = EXFILMON_TABLE_WATCHED, .count = 1,
	};
	long n, i, added = 0, lost = 0;
	int bad = 0;

	if (ioctl(fd, EXFILMON_IOC_SET_LIMITS, &l)) {
		TH_LOG("failed to restore the limits: %s", strerror(errno));
		bad++;
	}
	n = now ? watched_all(fd, now, max) : -1;
	if (n < 0) {
		free(now);
		return bad + 1;
	}
	for (i = 0; i < n; i++) {
		if (entry_in(&now[i], before, nb))
			continue;
		t.buf = (uintptr_t)&now[i];
		if (ioctl(fd, EXFILMON_IOC_TABLE_DELETE, &t))
			bad++;
		added++;
	}
	for (i = 0; i < nb; i++) {
		struct exfilmon_ioc_watch w = {
			.size = sizeof(w), .key = before[i].key,
			.w = before[i].val,
		};

		if (entry_in(&before[i], now, n))
			continue;
		lost++;
		if (ioctl(fd, EXFILMON_IOC_WATCH_ADD, &w))
			bad++;
	}
	TH_LOG("watched table: %ld entries before, %ld after; %ld added by "
	       "the barrage (deleted), %ld removed by it (put back)", nb, n,
	       added, lost);
	free(now);
	return bad;
}

static const char *errno_name(int e)
{
	static char buf[16];

	switch (e) {
	case 0: return "ok";
	case EFAULT: return "EFAULT";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case ENOENT: return "ENOENT";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOSPC: return "ENOSPC";
	case EEXIST: return "EEXIST";
	case ENOMEM: return "ENOMEM";
	case E2BIG: return "E2BIG";
	case EPERM: return "EPERM";
	case EINTR: return "EINTR";
	case MAX_ERRNO: return "other";
	}
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

static void log_hist(struct __test_metadata *_metadata, const char *who,
		     const struct hist *h, double secs)
{
	char line[1024];
	size_t off = 0;
	int e;

	for (e = 0; e <= MAX_ERRNO; e++)
		if (h->err[e])
			off += snprintf(line + off, sizeof(line) - off, " %s %lu",
					errno_name(e), h->err[e]);
	TH_LOG("%s: %lu calls in %.1f s (%.0f/s):%s", who, h->calls, secs,
	       h->calls / secs, line);
}

#define FUZZ_READ	12345	/* bytes the child reads of the watched file */

FIXTURE(fuzz) {
	int fd;
};

FIXTURE_SETUP(fuzz)
{
	const char *want = getenv("EXFILMON_SENSOR");

	self->fd = open(EXFILMON_DEV_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (self->fd < 0 && !(want && !strcmp(want, "kmod")))
		SKIP(return, "%s: %s (module not loaded; runs in the VM)",
		     EXFILMON_DEV_PATH, strerror(errno));
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", EXFILMON_DEV_PATH,
				      strerror(errno));
}

FIXTURE_TEARDOWN(fuzz)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F_TIMEOUT(fuzz, random_ioctls_from_threads_leave_the_module_exact, 600)
{
	struct fuzzer f[FUZZ_THREADS + 1];
	pthread_t th[FUZZ_THREADS + 1];
	struct exfilmon_watch_entry *before;
	struct exfilmon_ioc_version v = { .size = sizeof(v) };
	struct exfilmon_ioc_stats st = { .size = sizeof(st) };
	struct exfilmon_ioc_fd_key k = { .size = sizeof(k) };
	struct exfilmon_ioc_watch w = { .size = sizeof(w) };
	struct exfilmon_ioc_proc pr = { .size = sizeof(pr) };
	struct exfilmon_ioc_table t = {
		.size = sizeof(t), .table = EXFILMON_TABLE_READS,
	};
	struct exfilmon_read_entry re[64], mine = { 0 };
	const char *env = getenv("EXFILMON_IOCTL_FUZZ_S");
	char dir[] = "/tmp/exfilmon-fuzz-XXXXXX", path[64], data[FUZZ_READ];
	unsigned long long seed = time(NULL);
	struct hist all = { 0 };
	struct timespec t0, t1;
	int secs = env ? atoi(env) : 20, i, e, status, found = 0, fd;
	/* the watched table holds at most max_watch entries; one more
	 * slot tells a full read from a cut one */
	long nb, max = module_param("max_watch") + 1;
	double took;
	pid_t pid;

	if (self->fd < 0)
		SKIP(return, "no %s", EXFILMON_DEV_PATH);
	if (secs <= 0)
		secs = 20;
	ASSERT_LT(1, max);
	before = calloc(max, sizeof(*before));
	ASSERT_NE(NULL, before);
	nb = watched_all(self->fd, before, max);
	ASSERT_LE(0, nb);

	TH_LOG("seed %llu, %d s, %d ioctl threads and a reader", seed, secs,
	       FUZZ_THREADS);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i <= FUZZ_THREADS; i++) {
		memset(&f[i], 0, sizeof(f[i]));
		f[i].fd = self->fd;
		f[i].seed = (seed + 1) * 0x9e3779b97f4a7c15ULL + i;
		f[i].arena = arena_new();
		ASSERT_NE(NULL, f[i].arena);
		ASSERT_EQ(0, pthread_create(&th[i], NULL, i < FUZZ_THREADS ?
					    fuzz_thread : read_thread, &f[i]));
	}
	sleep(secs);
	for (i = 0; i <= FUZZ_THREADS; i++)
		f[i].stop = 1;
	for (i = 0; i <= FUZZ_THREADS; i++)
		ASSERT_EQ(0, pthread_join(th[i], NULL));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took = t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	for (i = 0; i < FUZZ_THREADS; i++) {
		all.calls += f[i].h.calls;
		for (e = 0; e <= MAX_ERRNO; e++)
			all.err[e] += f[i].h.err[e];
	}
	log_hist(_metadata, "ioctl", &all, took);
	log_hist(_metadata, "read", &f[FUZZ_THREADS].h, took);
	/* a barrage that never got past the first checks tests little */
	EXPECT_LT(0, all.err[0]);
	EXPECT_LT(0, all.err[EFAULT]);
	EXPECT_LT(0, all.err[EINVAL]);
	EXPECT_LT(0, all.err[ENOTTY]);
	for (i = 0; i <= FUZZ_THREADS; i++)
		munmap(f[i].arena, ARENA);

	/* still there, and still itself */
	ASSERT_EQ(0, ioctl(self->fd, EXFILMON_IOC_VERSION, &v));
	EXPECT_EQ(EXFILMON_ABI_MAJOR, v.abi_version >> 16);
	EXPECT_EQ(0, restore(_metadata, self->fd, before, nb, max));
	free(before);
	ASSERT_EQ(0, ioctl(self->fd, EXFILMON_IOC_STATS, &st));

	/* and counting exactly: a child reads a watched file */
	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/data", dir);
	memset(data, 'x', sizeof(data));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(data), write(fd, data, sizeof(data)));
	close(fd);
	k.fk.fd = open(path, O_PATH | O_CLOEXEC);
	ASSERT_LE(0, k.fk.fd);
	ASSERT_EQ(0, ioctl(self->fd, EXFILMON_IOC_FD_KEY, &k));
	close(k.fk.fd);
	w.key = k.fk.key;
	w.w.flags = EXFILMON_WATCH_FILE;
	w.w.watch_id = TEST_WATCH_ID;
	ASSERT_EQ(0, ioctl(self->fd, EXFILMON_IOC_WATCH_ADD, &w));
	pid = fork();
	if (!pid) {
		/* in two reads: both must count */
		int rfd = open(path, O_RDONLY);

		if (rfd < 0 || read(rfd, data, 1000) != 1000 ||
		    read(rfd, data, sizeof(data)) != sizeof(data) - 1000)
			_exit(1);
		_exit(0);
	}
	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_WATCH_RM_ID, &w));
	unlink(path);
	rmdir(dir);
	ASSERT_EQ(0, status);
	for (;;) {
		t.count = 64;
		t.buf = (uintptr_t)re;
		ASSERT_EQ(0, ioctl(self->fd, EXFILMON_IOC_TABLE_READ, &t));
		if (!t.count)
			break;
		for (i = 0; i < (int)t.count; i++)
			if (re[i].key.proc.tgid == (__u32)pid &&
			    !memcmp(&re[i].key.file, &w.key, sizeof(w.key))) {
				mine = re[i];
				found++;
			}
	}
	ASSERT_EQ(1, found);
	EXPECT_EQ(FUZZ_READ, mine.val.bytes);
	EXPECT_EQ(2, mine.val.ops);
	pr.key = mine.key.proc;
	ASSERT_EQ(0, ioctl(self->fd, EXFILMON_IOC_PROC_GET, &pr));
	EXPECT_EQ(FUZZ_READ, pr.proc.bytes_read);
	EXPECT_EQ(FUZZ_READ, pr.proc.taint);
	EXPECT_EQ(TEST_WATCH_ID, pr.proc.watch_id);
	/* leave nothing of ours behind */
	t.count = 1;
	t.buf = (uintptr_t)&mine;
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_TABLE_DELETE, &t));
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_PROC_FORGET, &pr));
}

TEST_HARNESS_MAIN
