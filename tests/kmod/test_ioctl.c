// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/exfilmon against bad callers: wrong sizes, flags, pointers, tables
 * and commands each get their exact errno, a second opener gets -EBUSY,
 * and a random barrage leaves the kernel standing (the VM run then checks
 * dmesg for warnings). Needs the module loaded: run in the VM guest.
 */
#include <errno.h>
#include <fcntl.h>
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

	NEED_DEV();

	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_VERSION, &v));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_STATS, &st));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, EXFILMON_IOC_WATCH_ADD, &w));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(dev, bad_pointers_are_efault)
{
	static const unsigned long cmds[] = {
		EXFILMON_IOC_VERSION, EXFILMON_IOC_WATCH_ADD,
		EXFILMON_IOC_WATCH_RM, EXFILMON_IOC_FD_KEY,
		EXFILMON_IOC_STATS, EXFILMON_IOC_SET_LIMITS,
		EXFILMON_IOC_PROC_GET, EXFILMON_IOC_TABLE_READ,
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
}

TEST_F(dev, missing_entries_are_enoent)
{
	struct exfilmon_ioc_watch w = { .size = sizeof(w) };
	struct exfilmon_ioc_proc p = { .size = sizeof(p) };

	NEED_DEV();

	w.key.dev = 0xfffff;
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

	w.key.dev = 0xfffff;
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
