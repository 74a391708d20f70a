// SPDX-License-Identifier: GPL-2.0-only
/*
 * Evasion by changing who you are or where the data lives, on the sensor
 * under test ($EXFILMON_SENSOR: eBPF, or the module): a tracked process
 * that drops to another uid with setuid() or setresuid(), or execs a
 * set-user-ID-root program, is the same process to the kernel (same
 * thread-group id and start time), so it keeps its taint and every byte
 * it sends is counted. Watched files on tmpfs and on loop-mounted ext4
 * images, whose device numbers differ from the root filesystem's and from
 * each other's, count exactly, and a file of another filesystem with the
 * same inode number does not count at all. Each test states the bytes the
 * syscalls really moved and asserts the sensor's tables hold exactly that.
 *
 * PID reuse, thread-group leaders exiting, files over 4 GiB, sparse
 * files, O_DIRECT and /proc/PID/fd/N are in test_sensor.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "sensor.h"
#include "sensor_key.h"
#include "customers.h"
#include "testhost.h"
#include "daemon_run.h"

#define DB_MIN_BYTES	(1 << 20)
#define SEND_BYTES	300000
#define INSIDER		65534
#define TESTHOST	48

static const struct sensor_limits limits = {
	.max_procs = 4096, .max_reads = 4096, .max_sends = 4096,
	.max_watch = 1024, .max_streams = 1024, .max_flows = 4096,
	.ring_kib = 1024,
};

struct env {
	struct sensor *s;
	char dir[64];
	char db[128];
	long size;
	struct exfilmon_file_key key;
	struct testhost th;
	int have_th;
};

static int no_records(void *ctx, const struct exfilmon_rec_hdr *h, size_t len)
{
	return 0;
}

/*
 * The sensor, a watched customer database readable by anyone in a
 * directory anyone may enter, and (if th) a test host. Mounts made by
 * the tests go into a mount namespace of this test's own, so they vanish
 * with it whatever happens (and their loop devices with them: mount -o
 * loop sets autoclear).
 */
static int env_setup(struct __test_metadata *_metadata, struct env *e, int th)
{
	struct exfilmon_obj w = { .flags = EXFILMON_WATCH_FILE,
				  .watch_id = 1 };
	char err[512];

	if (geteuid())
		SKIP(return 1, "the sensors need root");
	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		TH_LOG("failed to make a private mount namespace: %s",
		       strerror(errno));
		return -1;
	}
	if (sensor_open(&e->s, sensor_under_test(), &limits, no_records, NULL,
			err, sizeof(err))) {
		TH_LOG("sensor %s: %s", sensor_under_test(), err);
		return -1;
	}
	strcpy(e->dir, "/tmp/exfilmon-evasion-XXXXXX");
	if (!mkdtemp(e->dir) || chmod(e->dir, 0755))
		return -1;
	snprintf(e->db, sizeof(e->db), "%s/customers.csv", e->dir);
	e->size = customers_write(e->db, DB_MIN_BYTES);
	if (e->size < 0 || chmod(e->db, 0644) ||
	    sensor_path_key(e->s, e->db, &e->key) ||
	    e->s->ops->watch_add(e->s, &e->key, &w))
		return -1;
	if (!th)
		return 0;
	e->have_th = 1;
	return testhost_create(&e->th, TESTHOST);
}

static void env_teardown(struct env *e)
{
	sensor_close(e->s);
	if (e->have_th)
		testhost_destroy(&e->th);
	if (e->dir[0])
		run("umount -l %s/* 2>/dev/null; rm -rf %s", e->dir, e->dir);
}

/* The sensor's newest entry for process pid: key and counters. */
struct proc_find {
	pid_t pid;
	int found;
	struct exfilmon_pkey key;
	struct exfilmon_proc proc;
	const void *want;	/* the file or destination to sum */
	uint64_t bytes;
};

static int proc_cb(void *ctx, const struct exfilmon_pkey *k,
		   const struct exfilmon_proc *p)
{
	struct proc_find *f = ctx;

	if (k->tgid != (uint32_t)f->pid)
		return 0;
	if (!f->found++ || k->start_ns > f->key.start_ns) {
		f->key = *k;
		f->proc = *p;
	}
	return 0;
}

static int read_cb(void *ctx, const struct exfilmon_read_key *k,
		   const struct exfilmon_count *c)
{
	struct proc_find *f = ctx;

	if (!memcmp(&k->proc, &f->key, sizeof(f->key)) &&
	    !memcmp(&k->file, f->want, sizeof(k->file)))
		f->bytes += c->bytes;
	return 0;
}

static int send_cb(void *ctx, const struct exfilmon_send_key *k,
		   const struct exfilmon_count *c)
{
	struct proc_find *f = ctx;

	if (!memcmp(&k->proc, &f->key, sizeof(f->key)) &&
	    !memcmp(&k->dest, f->want, sizeof(k->dest)))
		f->bytes += c->bytes;
	return 0;
}

static struct proc_find find_proc(struct sensor *s, pid_t pid)
{
	struct proc_find f = { .pid = pid };

	s->ops->for_each_proc(s, proc_cb, &f);
	return f;
}

static uint64_t read_bytes(struct sensor *s, struct proc_find *f,
			   const struct exfilmon_file_key *file)
{
	f->want = file;
	f->bytes = 0;
	s->ops->for_each_read(s, read_cb, f);
	return f->bytes;
}

static uint64_t sent_bytes(struct sensor *s, struct proc_find *f,
			   const struct exfilmon_dest *dest)
{
	f->want = dest;
	f->bytes = 0;
	s->ops->for_each_send(s, send_cb, f);
	return f->bytes;
}

/* Read path whole; the bytes read() returned, or -1. */
static int64_t read_file(const char *path)
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

/* SEND_BYTES of junk to the test host's port; the bytes sent, or -1. */
static int64_t send_junk(const struct env *e, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port) };
	static char junk[SEND_BYTES];
	int64_t sent = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, e->th.remote4, &sin.sin_addr);
	if (fd < 0 || connect(fd, (void *)&sin, sizeof(sin)))
		return -1;
	while (sent < SEND_BYTES) {
		ssize_t n = write(fd, junk + sent, SEND_BYTES - sent);

		if (n <= 0)
			return -1;
		sent += n;
	}
	close(fd);
	return sent;
}

static void dest_of(const struct env *e, uint16_t port,
		    struct exfilmon_dest *d)
{
	memset(d, 0, sizeof(*d));
	d->port = port;
	d->proto = EXFILMON_PROTO_TCP;
	d->family = EXFILMON_AF_INET;
	inet_pton(AF_INET, e->th.remote4, d->addr);
}

/* ------------------------------------------------------------------ */
/* setuid transitions */

FIXTURE(creds) {
	struct env e;
};

FIXTURE_SETUP(creds)
{
	int ret = env_setup(_metadata, &self->e, 1);

	/* the harness tears down only what set up completely */
	if (ret == -1)
		env_teardown(&self->e);
	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(creds)
{
	env_teardown(&self->e);
}

/* How the tracked process changes who it is. */
enum {
	DROP_SETUID,		/* setuid(): every uid at once */
	DROP_SETRESUID,		/* setresuid(): real, effective, saved */
	DROP_SETEUID,		/* seteuid(): the effective uid only */
	EXEC_SETUID_ROOT,	/* as 65534, exec a set-user-ID-root sender */
	NR_CHANGES,
};

static const char *const change_name[NR_CHANGES] = {
	"setuid()", "setresuid()", "seteuid()",
	"exec of a set-user-ID-root program",
};

static int drop_to(int how, uid_t uid)
{
	if (setgroups(0, NULL) || setresgid(uid, uid, uid))
		return -1;
	switch (how) {
	case DROP_SETUID:
		return setuid(uid);
	case DROP_SETEUID:
		return seteuid(uid);
	default:
		return setresuid(uid, uid, uid);
	}
}

/*
 * A child that reads the database, changes its credentials by how, then
 * sends SEND_BYTES to port: as root dropping to 65534, or (the exec
 * case) as 65534 exec'ing prog, a set-user-ID-root copy of the thief
 * helper, which exits 5 unless its euid really is 0. Its pid; in slot[0]
 * what it read, in *status how it exited.
 */
static pid_t change_and_send(const struct env *e, int how, uint16_t port,
			     const char *prog, int64_t *slot, int *status)
{
	char n[16], portstr[8];
	pid_t pid;

	slot[0] = slot[1] = -1;
	snprintf(n, sizeof(n), "%d", SEND_BYTES);
	snprintf(portstr, sizeof(portstr), "%u", port);
	pid = fork();
	if (!pid) {
		if (how == EXEC_SETUID_ROOT) {
			if (drop_to(how, INSIDER))
				_exit(126);
			slot[0] = read_file(e->db);
			execl(prog, prog, "-u", "0", "-n", n, e->th.remote4,
			      portstr, (char *)NULL);
			_exit(127);
		}
		slot[0] = read_file(e->db);
		if (drop_to(how, INSIDER) || geteuid() != INSIDER)
			_exit(1);
		slot[1] = send_junk(e, port);
		_exit(slot[1] == SEND_BYTES ? 0 : 7);
	}
	if (pid < 0 || waitpid(pid, status, 0) != pid)
		return -1;
	return pid;
}

/*
 * A tracked process that becomes another user is the same process to
 * the kernel (same tgid and start time), and the sensors key processes by
 * those, never by credentials: dropping privileges cannot start a clean
 * process. Nor can exec'ing a set-user-ID-root program (as sudo or a
 * hijacked setuid tool would run): exec keeps the process, and the
 * set-user-ID exec changes only its credentials. That copy lives on a
 * tmpfs of our own, mounted without nosuid (the guest's /tmp has it).
 */
TEST_F(creds, credential_changes_keep_the_taint_and_count_the_sends)
{
	struct env *e = &self->e;
	int64_t *slot = mmap(NULL, 2 * sizeof(int64_t), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char mnt[128], prog[160], src[512];
	struct exfilmon_dest d;
	struct proc_find f;
	struct sink sink;
	struct stat st;
	int how, status;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */
	ASSERT_NE(MAP_FAILED, slot);

	snprintf(src, sizeof(src), "%s/tests/helpers/thief", build_dir());
	ASSERT_EQ(0, access(src, X_OK)) TH_LOG("%s: run make tests", src);
	snprintf(mnt, sizeof(mnt), "%s/suid", e->dir);
	snprintf(prog, sizeof(prog), "%s/sender", mnt);
	ASSERT_EQ(0, mkdir(mnt, 0755));
	ASSERT_EQ(0, mount("tmpfs", mnt, "tmpfs", 0, "mode=0755"));
	ASSERT_EQ(0, run("cp %s %s", src, prog));
	ASSERT_EQ(0, chown(prog, 0, 0));
	ASSERT_EQ(0, chmod(prog, 04755));
	ASSERT_EQ(0, stat(prog, &st));
	ASSERT_EQ(04755, st.st_mode & 07777);

	for (how = 0; how < NR_CHANGES; how++) {
		uint16_t port = 9100 + how;

		ASSERT_EQ(0, sink_start(&e->th, AF_INET, SOCK_STREAM, port,
					&sink));
		pid = change_and_send(e, how, port, prog, slot, &status);
		ASSERT_LT(0, pid);
		EXPECT_EQ(SEND_BYTES, sink_wait(&sink));
		ASSERT_EQ(0, status) TH_LOG("%s", change_name[how]);
		ASSERT_EQ(e->size, slot[0]);

		f = find_proc(e->s, pid);
		ASSERT_EQ(1, f.found) TH_LOG("%s", change_name[how]);
		EXPECT_EQ((uint64_t)e->size, f.proc.bytes_read)
			TH_LOG("%s", change_name[how]);
		EXPECT_EQ((uint64_t)e->size, f.proc.taint)
			TH_LOG("%s", change_name[how]);
		EXPECT_EQ((uint64_t)e->size, read_bytes(e->s, &f, &e->key))
			TH_LOG("%s", change_name[how]);
		dest_of(e, port, &d);
		EXPECT_EQ(SEND_BYTES, sent_bytes(e->s, &f, &d))
			TH_LOG("%s", change_name[how]);
		EXPECT_EQ(SEND_BYTES, f.proc.bytes_sent)
			TH_LOG("%s", change_name[how]);
	}
	munmap(slot, 2 * sizeof(int64_t));
}

/* ------------------------------------------------------------------ */
/* Watched files on other filesystems */

FIXTURE(fs) {
	struct env e;
};

FIXTURE_SETUP(fs)
{
	int ret = env_setup(_metadata, &self->e, 0);

	/* the harness tears down only what set up completely */
	if (ret == -1)
		env_teardown(&self->e);
	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(fs)
{
	env_teardown(&self->e);
}

/* Watch path as watch id; its key, checked against stat(). */
static int watch(struct __test_metadata *_metadata, struct env *e,
		 const char *path, __u32 id, struct exfilmon_file_key *key)
{
	struct exfilmon_obj w = { .flags = EXFILMON_WATCH_FILE,
				  .watch_id = id };
	struct stat st;

	if (stat(path, &st) || sensor_path_key(e->s, path, key))
		return -1;
	/* tmpfs and ext4 name the superblock in st_dev (not so btrfs) */
	EXPECT_EQ(sensor_dev(st.st_dev), key->dev);
	EXPECT_EQ(st.st_ino, key->ino);
	return e->s->ops->watch_add(e->s, key, &w);
}

/*
 * Read p1 (then p2, if not NULL) in a child; its pid, and what read()
 * returned for each in truth[].
 */
static pid_t child_read(const char *p1, const char *p2, int64_t truth[2])
{
	int64_t *slot = mmap(NULL, 2 * sizeof(*slot), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	truth[0] = truth[1] = -1;
	if (slot == MAP_FAILED)
		return -1;
	slot[0] = slot[1] = -1;
	pid = fork();
	if (!pid) {
		slot[0] = read_file(p1);
		if (p2)
			slot[1] = read_file(p2);
		_exit(0);
	}
	if (pid > 0 && waitpid(pid, NULL, 0) == pid) {
		truth[0] = slot[0];
		truth[1] = slot[1];
	}
	munmap(slot, 2 * sizeof(*slot));
	return pid;
}

TEST_F(fs, watched_file_on_tmpfs_counts_exactly)
{
	struct env *e = &self->e;
	struct exfilmon_file_key key;
	char mnt[128], path[160];
	struct proc_find f;
	int64_t truth[2];
	long size;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	snprintf(mnt, sizeof(mnt), "%s/tmpfs", e->dir);
	snprintf(path, sizeof(path), "%s/customers.csv", mnt);
	ASSERT_EQ(0, mkdir(mnt, 0755));
	ASSERT_EQ(0, mount("tmpfs", mnt, "tmpfs", 0, "size=16m"));
	size = customers_write(path, 3 * DB_MIN_BYTES / 2);
	ASSERT_LT(0, size);
	ASSERT_EQ(0, watch(_metadata, e, path, 2, &key));
	/* an anonymous device of its own (major 0), not the database's */
	EXPECT_NE(e->key.dev, key.dev);
	EXPECT_EQ(0, key.dev >> 20);

	pid = child_read(path, NULL, truth);
	ASSERT_EQ(size, truth[0]);
	f = find_proc(e->s, pid);
	ASSERT_EQ(1, f.found);
	EXPECT_EQ((uint64_t)size, f.proc.bytes_read);
	EXPECT_EQ((uint64_t)size, f.proc.taint);
	EXPECT_EQ(2, f.proc.watch_id);
	EXPECT_EQ((uint64_t)size, read_bytes(e->s, &f, &key));
	EXPECT_EQ(0, read_bytes(e->s, &f, &e->key));
}

/*
 * A fresh ext4 image of IMG_MIB MiB, loop-mounted at mnt. 0, or a reason
 * to skip in why (-1), or -2 when it failed where it should not have.
 */
#define IMG_MIB	16

static int loop_ext4(const char *img, const char *mnt, char *why, size_t len)
{
	if (access("/dev/loop-control", F_OK)) {
		snprintf(why, len, "no loop device here: /dev/loop-control: %s",
			 strerror(errno));
		return -1;
	}
	if (system("command -v mkfs.ext4 >/dev/null")) {
		snprintf(why, len, "mkfs.ext4 is not installed (e2fsprogs)");
		return -1;
	}
	if (run("grep -qw ext4 /proc/filesystems")) {
		snprintf(why, len, "this kernel has no ext4 (module not loaded)");
		return -1;
	}
	if (mkdir(mnt, 0755) ||
	    run("truncate -s %dM %s && mkfs.ext4 -q -F %s", IMG_MIB, img,
		img) ||
	    run("mount -o loop %s %s", img, mnt) || chmod(mnt, 0755))
		return -2;
	return 0;
}

/*
 * Two loop-mounted ext4 images: block devices 7:N and 7:M, and, being
 * made alike, the same inode number for the first file on each. Only the
 * watched one counts, even for a process already tracked when it reads
 * the other: the key is (device, inode), with the device as the hooks see
 * it (the superblock's s_dev).
 */
TEST_F(fs, watched_file_on_a_loop_mounted_ext4_image_counts_exactly)
{
	struct env *e = &self->e;
	struct exfilmon_file_key ka, kb;
	char img[2][128], mnt[2][128], path[2][160], why[128];
	struct proc_find f;
	int64_t truth[2];
	long size[2];
	int i, ret;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	for (i = 0; i < 2; i++) {
		snprintf(img[i], sizeof(img[i]), "%s/%c.img", e->dir, 'a' + i);
		snprintf(mnt[i], sizeof(mnt[i]), "%s/%c", e->dir, 'a' + i);
		snprintf(path[i], sizeof(path[i]), "%s/customers.csv", mnt[i]);
		ret = loop_ext4(img[i], mnt[i], why, sizeof(why));
		if (ret == -1)
			SKIP(return, "%s", why);
		ASSERT_EQ(0, ret) TH_LOG("making or mounting %s failed", img[i]);
		/* different sizes: a count taken from the wrong one shows */
		size[i] = customers_write(path[i], (3 + i) * DB_MIN_BYTES / 2);
		ASSERT_LT(0, size[i]);
	}
	ASSERT_EQ(0, watch(_metadata, e, path[0], 3, &ka));
	ASSERT_EQ(0, sensor_path_key(e->s, path[1], &kb));
	TH_LOG("keys %llu:%llu and %llu:%llu (kernel dev_t MAJOR << 20 | MINOR)",
	       (unsigned long long)ka.dev, (unsigned long long)ka.ino,
	       (unsigned long long)kb.dev, (unsigned long long)kb.ino);
	EXPECT_EQ(7, ka.dev >> 20);	/* LOOP_MAJOR */
	EXPECT_EQ(7, kb.dev >> 20);
	EXPECT_NE(ka.dev, kb.dev);
	EXPECT_NE(e->key.dev, ka.dev);
	EXPECT_EQ(ka.ino, kb.ino);

	/* the watched file first, then its namesake on the other image */
	pid = child_read(path[0], path[1], truth);
	ASSERT_EQ(size[0], truth[0]);
	ASSERT_EQ(size[1], truth[1]);
	f = find_proc(e->s, pid);
	ASSERT_EQ(1, f.found);
	EXPECT_EQ((uint64_t)size[0], f.proc.bytes_read);
	EXPECT_EQ((uint64_t)size[0], f.proc.taint);
	EXPECT_EQ(3, f.proc.watch_id);
	EXPECT_EQ((uint64_t)size[0], read_bytes(e->s, &f, &ka));
	EXPECT_EQ(0, read_bytes(e->s, &f, &kb));

	/* the other image alone: not tracked at all */
	pid = child_read(path[1], NULL, truth);
	ASSERT_EQ(size[1], truth[0]);
	EXPECT_EQ(0, find_proc(e->s, pid).found);
}

TEST_HARNESS_MAIN
