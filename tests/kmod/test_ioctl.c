// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/exfilmon against bad callers: wrong sizes, flags, pointers, tables
 * and commands each get their exact errno, a second opener gets -EBUSY,
 * and a random barrage leaves the kernel standing (the VM run then checks
 * dmesg for warnings). The watched table holds configured watches, derived
 * marks and opaque executables, and only the first go with WATCH_RM_ID.
 * TABLE_LOOKUP (ABI 3) gives a counter's value as a table walk does, and
 * zeroes it for an absent key. Needs the module loaded: run in the VM
 * guest.
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
#include <sys/wait.h>
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

/*
 * TABLE_LOOKUP checks its argument as TABLE_READ and TABLE_DELETE do, and
 * takes 1..EXFILMON_TABLE_BATCH_MAX entries of a table of counters. A
 * refused call writes nothing back.
 */
TEST_F(dev, table_lookup_of_a_bad_argument_is_einval)
{
	static const __u32 no_counts[] = {
		0, EXFILMON_TABLE_PROCS, EXFILMON_TABLE_WATCHED,
		EXFILMON_TABLE_STREAMS, EXFILMON_TABLE_FLOWS + 1, 99,
	};
	struct exfilmon_read_entry e, orig;
	struct exfilmon_ioc_table t;
	size_t i;

	NEED_DEV();

	memset(&e, 0xa5, sizeof(e));
	orig = e;
	t = (struct exfilmon_ioc_table){
		.size = sizeof(t), .table = EXFILMON_TABLE_READS, .count = 1,
		.buf = (uintptr_t)&e,
	};
	for (i = 0; i < sizeof(no_counts) / sizeof(no_counts[0]); i++) {
		t.table = no_counts[i];
		EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_TABLE_LOOKUP, &t))
			TH_LOG("table %u was looked up", t.table);
		EXPECT_EQ(EINVAL, errno);
	}
	t.table = EXFILMON_TABLE_READS;
	t.size = sizeof(t) - 8;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_TABLE_LOOKUP, &t));
	EXPECT_EQ(EINVAL, errno);
	t.size = sizeof(t) + 8;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_TABLE_LOOKUP, &t));
	EXPECT_EQ(EINVAL, errno);
	t.size = sizeof(t);
	t.flags = 1;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_TABLE_LOOKUP, &t));
	EXPECT_EQ(EINVAL, errno);
	t.flags = 0;
	t.count = 0;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_TABLE_LOOKUP, &t));
	EXPECT_EQ(EINVAL, errno);
	/* refused before the array is read: it need not be that long */
	t.count = EXFILMON_TABLE_BATCH_MAX + 1;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_TABLE_LOOKUP, &t));
	EXPECT_EQ(EINVAL, errno);
	t.count = UINT32_MAX;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_TABLE_LOOKUP, &t));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, memcmp(&e, &orig, sizeof(e)));
}

/*
 * The most entries one call takes, all absent: every value is zeroed and
 * every key left as it was.
 */
TEST_F(dev, table_lookup_of_batch_max_absent_keys_zeroes_every_value)
{
	struct exfilmon_ioc_table t = {
		.size = sizeof(t), .table = EXFILMON_TABLE_SENDS,
		.count = EXFILMON_TABLE_BATCH_MAX,
	};
	struct exfilmon_send_entry *e;
	struct exfilmon_count zero = { 0 };
	__u32 i, bad_key = 0, bad_val = 0;

	NEED_DEV();

	e = calloc(EXFILMON_TABLE_BATCH_MAX, sizeof(*e));
	ASSERT_NE(NULL, e);
	for (i = 0; i < EXFILMON_TABLE_BATCH_MAX; i++) {
		/* a process that cannot exist: tgid above PID_MAX_LIMIT */
		e[i].key.proc.tgid = 0x7fff0000 + i;
		e[i].key.proc.start_ns = i;
		e[i].key.dest.port = i;
		memset(&e[i].val, 0xa5, sizeof(e[i].val));
	}
	t.buf = (uintptr_t)e;
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_TABLE_LOOKUP, &t));
	EXPECT_EQ(EXFILMON_TABLE_BATCH_MAX, t.count);
	for (i = 0; i < EXFILMON_TABLE_BATCH_MAX; i++) {
		if (e[i].key.proc.tgid != 0x7fff0000 + i ||
		    e[i].key.proc.start_ns != i || e[i].key.dest.port != i)
			bad_key++;
		if (memcmp(&e[i].val, &zero, sizeof(zero)))
			bad_val++;
	}
	EXPECT_EQ(0, bad_key);
	EXPECT_EQ(0, bad_val);
	free(e);
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
		EXFILMON_IOC_TABLE_DELETE, EXFILMON_IOC_TABLE_LOOKUP,
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

/*
 * TABLE_LOOKUP reads its keys from buf and writes the values back there:
 * an array it cannot read, or cannot write, is -EFAULT, and the caller's
 * argument and memory stay as they were.
 */
TEST_F(dev, table_lookup_of_a_bad_array_is_efault)
{
	static const __u32 tables[] = {
		EXFILMON_TABLE_READS, EXFILMON_TABLE_SENDS,
		EXFILMON_TABLE_FLOWS,
	};
	struct exfilmon_ioc_table t, orig;
	unsigned char *page, *ro;
	size_t i, j;

	NEED_DEV();

	page = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	memset(page, 0xa5, 4096);
	/* the second page is a guard: an array running into it faults */
	ASSERT_EQ(0, mprotect(page + 4096, 4096, PROT_NONE));
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		const struct {
			const char *what;
			void *buf;
			__u32 count;
		} bad[] = {
			{ "NULL", NULL, 1 },
			{ "an unmapped address", BAD_PTR, 1 },
			{ "an array running into a guard page",
			  page + 4096 - 64, 2 },
			{ "a read-only array", ro, 1 },
		};

		for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			t = (struct exfilmon_ioc_table){
				.size = sizeof(t), .table = tables[i],
				.count = bad[j].count,
				.buf = (uintptr_t)bad[j].buf,
			};
			orig = t;
			errno = 0;
			EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_TABLE_LOOKUP,
					    &t))
				TH_LOG("table %u, %s: no error", tables[i],
				       bad[j].what);
			EXPECT_EQ(EFAULT, errno)
				TH_LOG("table %u, %s", tables[i], bad[j].what);
			EXPECT_EQ(0, memcmp(&t, &orig, sizeof(t)));
		}
		/*
		 * nothing was written, not even the first entry: the module
		 * reads a chunk's keys before it writes their values (a
		 * longer array can fault after the first chunks were filled)
		 */
		for (j = 0; j < 4096; j++)
			if (page[j] != 0xa5)
				break;
		EXPECT_EQ(4096, j)
			TH_LOG("table %u: byte %zu of the array written",
			       tables[i], j);
	}
	munmap(ro, 4096);
	munmap(page, 8192);
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
	t.table = EXFILMON_TABLE_BLOCKS + 1;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_TABLE_READ, &t));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_TABLE_DELETE, &t));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_TABLE_LOOKUP, &t));
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
 * The two tables ABI 2 added read and delete like the others: streams with
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

/*
 * The reads entry of process pid for file, from a table walk (the caller
 * does not know the process's start time); returns how many matched.
 */
static int read_entry_find(struct __test_metadata *_metadata, int fd,
			   pid_t pid, const struct exfilmon_file_key *file,
			   struct exfilmon_read_entry *out)
{
	struct exfilmon_ioc_table t = {
		.size = sizeof(t), .table = EXFILMON_TABLE_READS,
	};
	struct exfilmon_read_entry buf[64];
	int found = 0;
	__u32 i;

	for (;;) {
		t.count = 64;
		t.buf = (uintptr_t)buf;
		if (ioctl(fd, EXFILMON_IOC_TABLE_READ, &t)) {
			TH_LOG("TABLE_READ: %s", strerror(errno));
			return -1;
		}
		if (!t.count)
			return found;
		for (i = 0; i < t.count; i++)
			if (buf[i].key.proc.tgid == (__u32)pid &&
			    !memcmp(&buf[i].key.file, file, sizeof(*file))) {
				*out = buf[i];
				found++;
			}
	}
}

#define LOOKUP_READ	4096	/* bytes the child reads of the watched file */
#define LOOKUP_CARRY	100	/* and writes into its pipe */

/* Read LOOKUP_READ bytes of path, carry LOOKUP_CARRY into a pipe; exit 0. */
static void child_read_and_carry(const char *path)
{
	char buf[LOOKUP_READ];
	int fd = open(path, O_RDONLY), p[2];

	if (fd < 0 || read(fd, buf, sizeof(buf)) != sizeof(buf) || pipe(p) ||
	    write(p[1], buf, LOOKUP_CARRY) != LOOKUP_CARRY)
		_exit(1);
	_exit(0);
}

/*
 * A child reads a watched file and writes into a pipe of its own: the
 * module then holds a reads counter and a flows counter for it, each with
 * the bytes the syscalls returned. TABLE_LOOKUP gives each exactly as a
 * table walk does, keys untouched; an absent key beside them (another
 * start time, the same tgid) gets a zeroed value. The test then deletes
 * what the child left.
 */
TEST_F(dev, table_lookup_gives_what_a_table_walk_gives)
{
	char dir[] = "/tmp/exfilmon-ioctl-XXXXXX", path[64];
	char data[LOOKUP_READ];
	struct exfilmon_ioc_watch w = { .size = sizeof(w) };
	struct exfilmon_ioc_fd_key k = { .size = sizeof(k) };
	struct exfilmon_ioc_proc pr = { .size = sizeof(pr) };
	struct exfilmon_ioc_table t = { .size = sizeof(t) };
	struct exfilmon_read_entry re = { 0 }, fe = { 0 }, look[3];
	struct exfilmon_watch_entry se = { 0 };
	struct exfilmon_count zero = { 0 };
	int fd, status = -1;
	pid_t pid;

	NEED_DEV();

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
	if (!pid)
		child_read_and_carry(path);
	if (pid > 0)
		waitpid(pid, &status, 0);
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_WATCH_RM, &w));
	unlink(path);
	rmdir(dir);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, status);

	ASSERT_EQ(1, read_entry_find(_metadata, self->fd, pid, &w.key, &re));
	EXPECT_EQ(LOOKUP_READ, re.val.bytes);
	EXPECT_EQ(1, re.val.ops);
	ASSERT_LE(1, table_walk(_metadata, self->fd, EXFILMON_TABLE_FLOWS,
				sizeof(fe), 64, &re.key.proc,
				sizeof(re.key.proc), &fe));
	ASSERT_EQ(0, memcmp(&fe.key.proc, &re.key.proc, sizeof(re.key.proc)));
	EXPECT_EQ(LOOKUP_CARRY, fe.val.bytes);

	look[0] = re;
	look[1] = re;
	look[1].key.proc.start_ns ^= 1;
	look[2] = re;
	memset(&look[0].val, 0xa5, sizeof(look[0].val));
	memset(&look[1].val, 0xa5, sizeof(look[1].val));
	memset(&look[2].val, 0xa5, sizeof(look[2].val));
	t.table = EXFILMON_TABLE_READS;
	t.count = 3;
	t.buf = (uintptr_t)look;
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_TABLE_LOOKUP, &t));
	EXPECT_EQ(0, memcmp(&look[0], &re, sizeof(re)));
	EXPECT_EQ(re.key.proc.start_ns ^ 1, look[1].key.proc.start_ns);
	EXPECT_EQ(0, memcmp(&look[1].val, &zero, sizeof(zero)));
	EXPECT_EQ(0, memcmp(&look[2], &re, sizeof(re)));

	/* the flows table is its own: the reads key is absent there */
	look[0] = fe;
	look[1] = re;
	memset(&look[0].val, 0xa5, sizeof(look[0].val));
	memset(&look[1].val, 0xa5, sizeof(look[1].val));
	t.table = EXFILMON_TABLE_FLOWS;
	t.count = 2;
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_TABLE_LOOKUP, &t));
	EXPECT_EQ(0, memcmp(&look[0], &fe, sizeof(fe)));
	EXPECT_EQ(0, memcmp(&look[1].val, &zero, sizeof(zero)));

	/* what the child left: its counters, its pipe's stream, its entry */
	t.count = 1;
	t.table = EXFILMON_TABLE_READS;
	t.buf = (uintptr_t)&re;
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_TABLE_DELETE, &t));
	t.table = EXFILMON_TABLE_FLOWS;
	t.buf = (uintptr_t)&fe;
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_TABLE_DELETE, &t));
	se.key = fe.key.file;
	t.table = EXFILMON_TABLE_STREAMS;
	t.buf = (uintptr_t)&se;
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_TABLE_DELETE, &t));
	pr.key = re.key.proc;
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_PROC_FORGET, &pr));
	/* and a lookup now finds it gone */
	look[0] = re;
	t.table = EXFILMON_TABLE_READS;
	t.buf = (uintptr_t)look;
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_TABLE_LOOKUP, &t));
	EXPECT_EQ(0, memcmp(&look[0].val, &zero, sizeof(zero)));
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

/*
 * Prevent mode's policy (ABI 3.3) is checked whole before it replaces the
 * old one, and overrides one by one; each bad input has its errno. What is
 * set here names a watch id and a destination nobody uses, and is taken
 * out again: detect mode everywhere, as a daemon's absence leaves it.
 */
TEST_F(dev, policy_and_allow_of_bad_input_are_refused)
{
	struct exfilmon_prevent_entry w[2] = {
		{ .watch_id = TEST_WATCH_ID, .val.threshold = 1 },
		{ .watch_id = TEST_WATCH_ID, .val.threshold = 2 },
	};
	struct exfilmon_net n = { .prefixlen = 129 };
	struct exfilmon_ioc_policy p = {
		.size = sizeof(p), .nr_prevent = 2, .prevent = (uintptr_t)w,
	};
	struct exfilmon_ioc_allow a = { .size = sizeof(a) };
	__u32 i;

	NEED_DEV();

	/* the same watch twice */
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_POLICY, &p));
	EXPECT_EQ(EINVAL, errno);
	p.nr_prevent = EXFILMON_POLICY_WATCH_MAX + 1;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_POLICY, &p));
	EXPECT_EQ(E2BIG, errno);
	p.nr_prevent = 1;
	w[0].pad = 1;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_POLICY, &p));
	EXPECT_EQ(EINVAL, errno);
	w[0].pad = 0;
	p.nr_internal = 1;
	p.internal = (uintptr_t)&n;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_POLICY, &p));
	EXPECT_EQ(EINVAL, errno);
	n.prefixlen = 96 + 8;
	n.pad = 1;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_POLICY, &p));
	EXPECT_EQ(EINVAL, errno);
	n.pad = 0;
	p.nr_internal = EXFILMON_POLICY_NET_MAX + 1;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_POLICY, &p));
	EXPECT_EQ(E2BIG, errno);
	p.nr_internal = 1;
	p.internal = (uintptr_t)BAD_PTR;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_POLICY, &p));
	EXPECT_EQ(EFAULT, errno);
	p.internal = (uintptr_t)&n;
	p.flags = EXFILMON_POLICY_ALLOW_CLEAR << 1;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_POLICY, &p));
	EXPECT_EQ(EINVAL, errno);
	p.flags = 0;
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_POLICY, &p));
	/* and off again, with whatever overrides a daemon left */
	memset(&p, 0, sizeof(p));
	p.size = sizeof(p);
	p.flags = EXFILMON_POLICY_ALLOW_CLEAR;
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_POLICY, &p));

	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_ALLOW_ADD, &a));
	EXPECT_EQ(EINVAL, errno);	/* no kind */
	a.key.kind = EXFILMON_ALLOW_PID;
	a.key.id[0] = 0x7e57;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_ALLOW_ADD, &a));
	EXPECT_EQ(EINVAL, errno);	/* no family */
	a.key.dest.family = EXFILMON_AF_INET;
	a.key.dest.proto = EXFILMON_PROTO_TCP;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_ALLOW_ADD, &a));
	EXPECT_EQ(EINVAL, errno);	/* proto is always 0 */
	a.key.dest.proto = 0;
	a.key.dest.addr[4] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_ALLOW_ADD, &a));
	EXPECT_EQ(EINVAL, errno);	/* IPv4 in 4 bytes */
	a.key.dest.addr[4] = 0;
	a.key.dest.addr[0] = 192;
	a.key.dest.addr[3] = 1;
	a.val.until_ns = 1;
	a.size = sizeof(a) - 8;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_ALLOW_ADD, &a));
	EXPECT_EQ(EINVAL, errno);
	a.size = sizeof(a);
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_ALLOW_ADD, &a));
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_ALLOW_RM, &a));
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_ALLOW_RM, &a));
	EXPECT_EQ(ENOENT, errno);
	/* the table is bounded: one past the bound is refused */
	for (i = 0; i < EXFILMON_ALLOW_MAX; i++) {
		a.key.id[1] = i;
		ASSERT_EQ(0, ioctl(self->fd, EXFILMON_IOC_ALLOW_ADD, &a))
			TH_LOG("override %u: %s", i, strerror(errno));
	}
	a.key.id[1] = i;
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_ALLOW_ADD, &a));
	EXPECT_EQ(E2BIG, errno);
	for (i = 0; i < EXFILMON_ALLOW_MAX; i++) {
		a.key.id[1] = i;
		EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_ALLOW_RM, &a));
	}
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
		/* never add random watches or policies: keep the tables sane */
		if (nr == 0x01 || nr == 0x06 || nr == 0x08 || nr == 0x0a ||
		    nr == 0x0c || nr == 0x0d)
			continue;
		ioctl(self->fd, cmd, arg);
		n++;
	}
	TH_LOG("%lu random ioctls", n);
	EXPECT_EQ(0, ioctl(self->fd, EXFILMON_IOC_VERSION, &v));
	munmap(page, 8192);
}

TEST_HARNESS_MAIN
