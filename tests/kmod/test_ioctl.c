// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/exfilmon against bad callers: wrong sizes, flags, pointers, tables
 * and commands each get their exact errno, a second opener gets -EBUSY,
 * and a random barrage leaves the kernel standing (the VM run then checks
 * dmesg for warnings). The watched table holds configured watches, derived
 * marks and opaque executables, and only the first go with WATCH_RM_ID.
 * Needs the module loaded: run in the VM guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include "kselftest_harness.h"
#include "exfilmon_abi.h"

#define BAD_PTR ((void *)0x10)	/* never mapped */

/* Keys and ids no real file or daemon uses: minor 0xfffff of major 0. */
#define TEST_DEV	0xfffffULL
#define TEST_WATCH_ID	0x7e570001U

/* The v1 sizes of the ioctl arguments that grew in ABI 2. */
#define V1_IOC_WATCH_SIZE	32
#define V1_IOC_LIMITS_SIZE	24
#define V1_IOC_STATS_SIZE	72

FIXTURE(dev) {
	int fd;
};

/* kselftest 6.1 runs the body after a SKIP in the setup: skip again */
#define NEED_DEV() do { \
	if (self->fd < 0) \
		SKIP(return, "no %s", EXFILMON_DEV_PATH); \
} while (0)

FIXTURE_SETUP(dev)
{
	const char *want = getenv("EXFILMON_SENSOR");

	self->fd = open(EXFILMON_DEV_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (self->fd < 0)
		TH_LOG("open %s: %s", EXFILMON_DEV_PATH, strerror(errno));
	/* only a kmod run requires the module; elsewhere say why we skip */
	if (self->fd < 0 && !(want && !strcmp(want, "kmod")))
		SKIP(return, "%s: %s (module not loaded; runs in the VM)",
		     EXFILMON_DEV_PATH, strerror(errno));
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(dev)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(dev, node_is_root_only)
{
	struct stat st;

	NEED_DEV();

	ASSERT_EQ(0, stat(EXFILMON_DEV_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 0777);
	EXPECT_EQ(0, st.st_uid);
}

TEST_F(dev, second_opener_is_refused_with_ebusy)
{
	int fd = open(EXFILMON_DEV_PATH, O_RDWR);

	NEED_DEV();

	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EBUSY, errno);
	if (fd >= 0)
		close(fd);
}

TEST_F(dev, version_is_ours)
{
	struct exfilmon_ioc_version v = { .size = sizeof(v) };

	NEED_DEV();

	ASSERT_EQ(0, ioctl(self->fd, EXFILMON_IOC_VERSION, &v));
	EXPECT_EQ(EXFILMON_ABI_MAJOR, v.abi_version >> 16);
	EXPECT_EQ(EXFILMON_ABI_MINOR, v.abi_version & 0xffff);
}

TEST_F(dev, wrong_size_or_flags_is_einval)
{
	struct exfilmon_ioc_version v = { .size = sizeof(v) - 1 };
	struct exfilmon_ioc_stats st = { .size = sizeof(st) + 8 };
	struct exfilmon_ioc_watch w = { .size = sizeof(w), .flags = 1 };
	struct exfilmon_ioc_limits l = { .size = sizeof(l), .flags = 1 };
	struct exfilmon_ioc_table t = { .size = sizeof(t), .flags = 2 };

	NEED_DEV();

	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_VERSION, &v));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_STATS, &st));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_WATCH_ADD, &w));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_SET_LIMITS, &l));
	EXPECT_EQ(EINVAL, errno);
	t.table = EXFILMON_TABLE_STREAMS;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_TABLE_DELETE, &t));
	EXPECT_EQ(EINVAL, errno);
}

/* An ABI 1 caller's smaller structs are refused, never half-read. */
TEST_F(dev, abi1_sizes_are_einval)
{
	struct exfilmon_ioc_watch w = {
		.size = V1_IOC_WATCH_SIZE,
		.w.flags = EXFILMON_WATCH_FILE,
	};
	struct exfilmon_ioc_limits l = { .size = V1_IOC_LIMITS_SIZE };
	struct exfilmon_ioc_stats st = { .size = V1_IOC_STATS_SIZE };

	NEED_DEV();

	w.key.dev = TEST_DEV;
	w.key.ino = 0x1111;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_WATCH_ADD, &w));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_SET_LIMITS, &l));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_STATS, &st));
	EXPECT_EQ(EINVAL, errno);
	/* and nothing was added by the refused call */
	w.size = sizeof(w);
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_WATCH_RM, &w));
	EXPECT_EQ(ENOENT, errno);
}

TEST_F(dev, bad_pointers_are_efault)
{
	static const unsigned long cmds[] = {
		EXFILMON_IOC_VERSION, EXFILMON_IOC_WATCH_ADD,
		EXFILMON_IOC_WATCH_RM, EXFILMON_IOC_WATCH_RM_ID,
		EXFILMON_IOC_FD_KEY, EXFILMON_IOC_STATS,
		EXFILMON_IOC_SET_LIMITS, EXFILMON_IOC_PROC_GET,
		EXFILMON_IOC_PROC_FORGET, EXFILMON_IOC_TABLE_READ,
		EXFILMON_IOC_TABLE_DELETE,
	};
	struct exfilmon_ioc_table t = {
		.size = sizeof(t), .table = EXFILMON_TABLE_PROCS, .count = 8,
		.buf = (uintptr_t)BAD_PTR,
	};
	size_t i;

	NEED_DEV();

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		EXPECT_EQ(-1, ioctl(self->fd, cmds[i], NULL));
		EXPECT_EQ(EFAULT, errno);
		EXPECT_EQ(-1, ioctl(self->fd, cmds[i], BAD_PTR));
		EXPECT_EQ(EFAULT, errno);
	}
	/* the struct is fine, the array it points to is not: fork and exec
	 * records keep the process table non-empty once a test ran */
	errno = 0;
	if (ioctl(self->fd, EXFILMON_IOC_TABLE_READ, &t)) {
		EXPECT_EQ(EFAULT, errno);
	} else {
		EXPECT_EQ(0, t.count);
	}
	/* a delete reads the keys first, whatever the table holds */
	for (t.table = EXFILMON_TABLE_PROCS; t.table <= EXFILMON_TABLE_FLOWS;
	     t.table++) {
		t.count = 1;
		EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_TABLE_DELETE, &t));
		EXPECT_EQ(EFAULT, errno);
	}
}

TEST_F(dev, unknown_commands_are_enotty)
{
	char buf[64] = { 0 };

	NEED_DEV();

	EXPECT_EQ(-1, ioctl(self->fd, _IOW(EXFILMON_IOC_MAGIC, 0x7f, buf),
			    buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOW('T', 0x01, int), buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, TCGETS, buf));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(dev, unknown_table_is_einval)
{
	struct exfilmon_proc_entry e[4];
	struct exfilmon_ioc_table t = {
		.size = sizeof(t), .table = 99, .count = 4,
		.buf = (uintptr_t)e,
	};

	NEED_DEV();

	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_TABLE_READ, &t));
	EXPECT_EQ(EINVAL, errno);
	t.table = 0;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_TABLE_DELETE, &t));
	EXPECT_EQ(EINVAL, errno);
	/* the first number past the last table */
	t.table = EXFILMON_TABLE_FLOWS + 1;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_TABLE_READ, &t));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_TABLE_DELETE, &t));
	EXPECT_EQ(EINVAL, errno);
}

/*
 * Walk one table to its end in batches of n, checking what the ABI
 * promises of a walk; return how many entries it gave, and copy the entry
 * whose leading key matches key (key_size bytes) to found, if any.
 */
static long table_walk(struct __test_metadata *_metadata, int fd,
		       __u32 table, size_t entry_size, __u32 n,
		       const void *key, size_t key_size, void *found)
{
	struct exfilmon_ioc_table t = {
		.size = sizeof(t), .table = table,
	};
	unsigned char *buf = calloc(n + 1, entry_size);
	long total = 0;
	__u32 i;

	if (!buf)
		return -1;
	/* a canary past the n entries asked for: never written */
	memset(buf + (size_t)n * entry_size, 0xa5, entry_size);
	for (;;) {
		t.count = n;
		t.buf = (uintptr_t)buf;
		if (ioctl(fd, EXFILMON_IOC_TABLE_READ, &t)) {
			TH_LOG("TABLE_READ %u: %s", table, strerror(errno));
			total = -1;
			break;
		}
		if (!t.count)
			break;
		if (t.count > n) {
			TH_LOG("TABLE_READ %u: %u entries for %u", table,
			       t.count, n);
			total = -1;
			break;
		}
		for (i = 0; i < t.count && key; i++)
			if (!memcmp(buf + (size_t)i * entry_size, key,
				    key_size))
				memcpy(found, buf + (size_t)i * entry_size,
				       entry_size);
		total += t.count;
	}
	for (i = 0; i < entry_size; i++)
		if (buf[(size_t)n * entry_size + i] != 0xa5) {
			TH_LOG("TABLE_READ %u wrote past count", table);
			total = -1;
			break;
		}
	free(buf);
	return total;
}

/*
 * The two tables of ABI 2 read and delete like the others: streams with
 * the watched table's entry, flows with the reads table's. Which entries
 * they hold depends on what ran before; a walk must end, and deleting
 * keys that are absent is not an error.
 */
TEST_F(dev, streams_and_flows_tables_read_and_delete)
{
	struct exfilmon_watch_entry se = { 0 };
	struct exfilmon_read_entry fe = { 0 };
	struct exfilmon_ioc_table t = { .size = sizeof(t), .count = 1 };

	NEED_DEV();

	EXPECT_LE(0, table_walk(_metadata, self->fd, EXFILMON_TABLE_STREAMS,
				sizeof(struct exfilmon_watch_entry), 3, NULL,
				0, NULL));
	EXPECT_LE(0, table_walk(_metadata, self->fd, EXFILMON_TABLE_FLOWS,
				sizeof(struct exfilmon_read_entry), 3, NULL,
				0, NULL));
	/* count 0 asks for nothing, and would read as the end: refused */
	t.table = EXFILMON_TABLE_STREAMS;
	t.count = 0;
	t.buf = (uintptr_t)&se;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_TABLE_READ, &t));
	EXPECT_EQ(EINVAL, errno);

	se.key.dev = EXFILMON_KEY_TAG_INET | TEST_DEV;
	se.key.ino = 0x2222;
	t.count = 1;
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_TABLE_DELETE, &t));
	fe.key.proc.tgid = 0x7fffffff;
	fe.key.file.dev = TEST_DEV;
	t.table = EXFILMON_TABLE_FLOWS;
	t.buf = (uintptr_t)&fe;
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_TABLE_DELETE, &t));
}

/* The watched entry of key, from a table walk; 0 when found. */
static int watched_get(struct __test_metadata *_metadata, int fd,
		       const struct exfilmon_file_key *key,
		       struct exfilmon_obj *obj)
{
	struct exfilmon_watch_entry e = { 0 };

	if (table_walk(_metadata, fd, EXFILMON_TABLE_WATCHED, sizeof(e), 64,
		       key, sizeof(*key), &e) < 0)
		return -1;
	if (memcmp(&e.key, key, sizeof(*key)))
		return 1;
	*obj = e.val;
	return 0;
}

/*
 * The daemon restores the derived marks it stored and names opaque
 * executables by WATCH_ADD; both come back from a table walk exactly as
 * given, and outlive the removal of the configured watch whose id they
 * carry (WATCH_RM_ID), which takes its own keys only.
 */
TEST_F(dev, derived_and_opaque_entries_outlive_watch_rm_id)
{
	struct exfilmon_ioc_watch cfg = { .size = sizeof(cfg) };
	struct exfilmon_ioc_watch der = { .size = sizeof(der) };
	struct exfilmon_ioc_watch opq = { .size = sizeof(opq) };
	struct exfilmon_obj got;

	NEED_DEV();

	cfg.key.dev = TEST_DEV;
	cfg.key.ino = 0x3001;
	cfg.w.flags = EXFILMON_WATCH_FILE;
	cfg.w.watch_id = TEST_WATCH_ID;

	der.key.dev = TEST_DEV;
	der.key.ino = 0x3002;
	der.w.flags = EXFILMON_OBJ_DERIVED;
	der.w.watch_id = TEST_WATCH_ID;
	der.w.chan = EXFILMON_CHAN_FILE;
	der.w.gen = 0xabcdef01;
	der.w.taint = 123456789;
	der.w.last_ns = 42;
	der.w.writer.tgid = 4100;
	der.w.writer.start_ns = 987654321;

	opq.key.dev = TEST_DEV;
	opq.key.ino = 0x3003;
	opq.w.flags = EXFILMON_OBJ_OPAQUE;
	opq.w.watch_id = TEST_WATCH_ID;

	ASSERT_EQ(0, ioctl(self->fd, EXFILMON_IOC_WATCH_ADD, &cfg));
	ASSERT_EQ(0, ioctl(self->fd, EXFILMON_IOC_WATCH_ADD, &der));
	ASSERT_EQ(0, ioctl(self->fd, EXFILMON_IOC_WATCH_ADD, &opq));

	ASSERT_EQ(0, watched_get(_metadata, self->fd, &der.key, &got));
	EXPECT_EQ(0, memcmp(&got, &der.w, sizeof(got)));
	ASSERT_EQ(0, watched_get(_metadata, self->fd, &opq.key, &got));
	EXPECT_EQ(0, memcmp(&got, &opq.w, sizeof(got)));

	ASSERT_EQ(0, ioctl(self->fd, EXFILMON_IOC_WATCH_RM_ID, &cfg));
	EXPECT_EQ(1, watched_get(_metadata, self->fd, &cfg.key, &got));
	EXPECT_EQ(0, watched_get(_metadata, self->fd, &der.key, &got));
	EXPECT_EQ(0, watched_get(_metadata, self->fd, &opq.key, &got));

	/* WATCH_RM takes any entry by key: the daemon evicts marks so */
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_WATCH_RM, &der));
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_WATCH_RM, &opq));
	EXPECT_EQ(1, watched_get(_metadata, self->fd, &der.key, &got));
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_WATCH_RM, &cfg));
	EXPECT_EQ(ENOENT, errno);
}

/*
 * A watched entry says what it is, with known bits only; streams are the
 * sensor's own and cannot be added; a channel and a writer are checked
 * like any other field.
 */
TEST_F(dev, watch_add_of_a_meaningless_entry_is_einval)
{
	static const struct {
		const char *what;
		__u32 flags, chan, writer_pad;
	} bad[] = {
		{ "no flags", 0, 0, 0 },
		{ "a stream", EXFILMON_OBJ_STREAM, EXFILMON_CHAN_PIPE, 0 },
		{ "an unknown flag", EXFILMON_WATCH_FILE | 0x40, 0, 0 },
		{ "an unknown channel", EXFILMON_OBJ_DERIVED,
		  EXFILMON_CHAN_NR, 0 },
		{ "writer padding", EXFILMON_OBJ_DERIVED, EXFILMON_CHAN_FILE,
		  1 },
	};
	struct exfilmon_ioc_watch w = { .size = sizeof(w) };
	size_t i;

	NEED_DEV();

	w.key.dev = TEST_DEV;
	w.key.ino = 0x4001;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		w.w.flags = bad[i].flags;
		w.w.chan = bad[i].chan;
		w.w.writer.pad = bad[i].writer_pad;
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_WATCH_ADD, &w))
			TH_LOG("%s was added", bad[i].what);
		EXPECT_EQ(EINVAL, errno);
	}
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_WATCH_RM, &w));
	EXPECT_EQ(ENOENT, errno);
}

/* A module parameter, from sysfs; 0 when it cannot be read. */
static unsigned long module_param_get(const char *name)
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
 * The parameters sized the tables at load: a bound above one, new tables
 * included, is refused and changes nothing; 0 keeps every bound.
 */
TEST_F(dev, limits_above_the_module_parameters_are_einval)
{
	struct exfilmon_ioc_limits l = { .size = sizeof(l) };
	unsigned long streams = module_param_get("max_streams");
	unsigned long flows = module_param_get("max_flows");

	NEED_DEV();

	ASSERT_NE(0, streams);
	ASSERT_NE(0, flows);
	l.max_streams = streams + 1;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_SET_LIMITS, &l));
	EXPECT_EQ(EINVAL, errno);
	l.max_streams = 0;
	l.max_flows = flows + 1;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_SET_LIMITS, &l));
	EXPECT_EQ(EINVAL, errno);
	l.max_flows = 0;
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_SET_LIMITS, &l));
}

TEST_F(dev, missing_entries_are_enoent)
{
	struct exfilmon_ioc_watch w = { .size = sizeof(w) };
	struct exfilmon_ioc_proc p = { .size = sizeof(p) };

	NEED_DEV();

	w.key.dev = TEST_DEV;
	w.key.ino = 0xdeadbeef;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_WATCH_RM, &w));
	EXPECT_EQ(ENOENT, errno);
	p.key.tgid = 0x7fffffff;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_PROC_GET, &p));
	EXPECT_EQ(ENOENT, errno);
}

TEST_F(dev, fd_key_of_a_bad_fd_is_ebadf)
{
	struct exfilmon_ioc_fd_key k = { .size = sizeof(k), .fk.fd = 9999 };

	NEED_DEV();

	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_FD_KEY, &k));
	EXPECT_EQ(EBADF, errno);
}

TEST_F(dev, watch_add_then_rm_round_trips)
{
	struct exfilmon_ioc_watch w = { .size = sizeof(w) };

	NEED_DEV();

	w.key.dev = TEST_DEV;
	w.key.ino = 0x1234;
	w.w.flags = EXFILMON_WATCH_FILE;
	w.w.watch_id = 77;
	ASSERT_EQ(0, ioctl(self->fd, EXFILMON_IOC_WATCH_ADD, &w));
	ASSERT_EQ(0, ioctl(self->fd, EXFILMON_IOC_WATCH_RM, &w));
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_WATCH_RM, &w));
	EXPECT_EQ(ENOENT, errno);
}

TEST_F(dev, short_read_buffer_is_einval)
{
	char small[8];
	ssize_t n;

	NEED_DEV();

	/* a record is at least its 32-byte header */
	n = read(self->fd, small, sizeof(small));
	if (n < 0 && errno == EAGAIN)
		SKIP(return, "no record waiting to refuse");
	EXPECT_EQ(-1, n);
	EXPECT_EQ(EINVAL, errno);
}

/* Random commands, sizes and pointers for a few seconds: nothing breaks. */
TEST_F(dev, random_barrage_leaves_the_module_working)
{
	struct exfilmon_ioc_version v = { .size = sizeof(v) };
	unsigned char *page;
	time_t end = time(NULL) + 5;
	unsigned long n = 0;

	NEED_DEV();

	page = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	/* the second page is a guard: structs straddling it fault */
	ASSERT_EQ(0, mprotect(page + 4096, 4096, PROT_NONE));
	srand(1);
	while (time(NULL) < end) {
		unsigned int nr = rand() % 16, dir = rand() % 4;
		unsigned int size = rand() % 256, i;
		unsigned long cmd = _IOC(dir, EXFILMON_IOC_MAGIC, nr, size);
		void *arg;

		for (i = 0; i < 256; i++)
			page[i] = rand();
		switch (rand() % 4) {
		case 0:
			arg = NULL;
			break;
		case 1:
			arg = page + 4096 - (rand() % 64);
			break;
		case 2:
			arg = (void *)(uintptr_t)rand();
			break;
		default:
			arg = page;
			/* a plausible size field makes it further in */
			*(__u32 *)page = size;
			*(__u32 *)(page + 4) = 0;
			break;
		}
		/* never add random watches: keep the tables sane */
		if (nr == 0x01 || nr == 0x06 || nr == 0x08 || nr == 0x0a)
			continue;
		ioctl(self->fd, cmd, arg);
		n++;
	}
	TH_LOG("%lu random ioctls", n);
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_VERSION, &v));
	munmap(page, 8192);
}

TEST_HARNESS_MAIN
