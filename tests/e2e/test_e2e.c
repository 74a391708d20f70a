// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilmond and exfilctl end to end, on the sensor under test
 * ($EXFILMON_SENSOR, eBPF by default): a real daemon with
 * its own config, socket and store, real processes reading a watched
 * customer database, and a test host in a network namespace receiving.
 * One theft gives exactly one alert; innocent activity gives none.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "kselftest_harness.h"
#include "exfilmon_abi.h"
#include "customers.h"
#include "daemon_run.h"
#include "testhost.h"

#define DB_BYTES	(3 << 20)
#define THEFT_PORT	443
/* libbpf's own reports, relative to the source tree the tests run in */
#define VALGRIND_SUPP	"tests/san/valgrind.supp"

struct world {
	char dir[64];
	char db[128];
	char conf[128];
	char sock[128];
	char log[128];
	char jsonlog[128];
	long size;
	struct testhost th;
	pid_t daemon;
	int valgrind;		/* the daemon runs under memcheck */
};

static int world_up(struct __test_metadata *_metadata, struct world *e,
		     int idx, const char *internal, const char *extra)
{
	char conf[2048];

	if (geteuid())
		SKIP(return 1, "exfilmond needs root");
	strcpy(e->dir, "/tmp/exfilmon-e2e-XXXXXX");
	if (!mkdtemp(e->dir) || chmod(e->dir, 0755))
		return -1;
	snprintf(e->db, sizeof(e->db), "%s/customers.csv", e->dir);
	snprintf(e->conf, sizeof(e->conf), "%s/exfilmon.conf", e->dir);
	snprintf(e->sock, sizeof(e->sock), "%s/exfilmon.sock", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/exfilmond.log", e->dir);
	snprintf(e->jsonlog, sizeof(e->jsonlog), "%s/state/alerts.json",
		 e->dir);
	e->size = customers_write(e->db, DB_BYTES);
	if (e->size < 0)
		return -1;
	snprintf(conf, sizeof(conf),
		 "[watch]\npath = %s\n\n"
		 "[correlation]\nread_threshold = 1M\nsend_threshold = 256K\n"
		 "window = 1h\n\n"
		 "[network]\ninternal = %s\n\n"
		 "[daemon]\nstate_dir = %s/state\nsocket = %s\n"
		 "group = exfilmon-test-nonexistent\n%s",
		 e->db, internal, e->dir, e->sock, extra);
	if (write_file(e->conf, conf) || testhost_create(&e->th, idx))
		return -1;
	if (e->valgrind)
		e->daemon = daemon_start_valgrind(e->conf, e->sock, e->log,
						  VALGRIND_SUPP);
	else
		e->daemon = daemon_start(e->conf, e->sock, e->log);
	if (e->daemon < 0) {
		run("cat %s >&2", e->log);
		/* a test host left behind would take the route of the next
		 * test's 198.18.N.0/24 */
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

/*
 * A child that reads read_bytes (in chunks of chunk bytes) of the database
 * (0: none), stages what it read in a file in stage-byte writes (0: not),
 * and then sends send_bytes (of the database if it read it, else junk) to
 * addr:port. Returns its pid after it exits; -1 if it failed.
 */
static pid_t actor_chunked(const struct world *e, long read_bytes,
			   long chunk, long stage, long send_bytes,
			   const char *addr)
{
	pid_t pid = fork();
	int status;

	if (!pid) {
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_port = htons(THEFT_PORT) };
		char *buf = calloc(1, send_bytes > read_bytes ? send_bytes :
				   read_bytes + 1);
		long got = 0, sent = 0;
		int fd;

		if (!buf)
			_exit(1);
		if (read_bytes) {
			fd = open(e->db, O_RDONLY);
			while (got < read_bytes) {
				ssize_t n = read(fd, buf + got,
						 read_bytes - got < chunk ?
						 read_bytes - got : chunk);
				if (n <= 0)
					_exit(2);
				got += n;
			}
			close(fd);
		}
		if (stage) {
			char path[160];
			long off;

			snprintf(path, sizeof(path), "%s/staged", e->dir);
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			for (off = 0; fd >= 0 && off < got; off += stage)
				if (write(fd, buf + off, got - off < stage ?
					  got - off : stage) <= 0)
					_exit(5);
			if (fd < 0 || close(fd))
				_exit(5);
		}
		if (!send_bytes)
			_exit(0);
		inet_pton(AF_INET, addr, &sin.sin_addr);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (void *)&sin, sizeof(sin)))
			_exit(3);
		while (sent < send_bytes) {
			ssize_t n = write(fd, buf + sent, send_bytes - sent);

			if (n <= 0)
				_exit(4);
			sent += n;
		}
		close(fd);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || status)
		return -1;
	return pid;
}

static pid_t actor(const struct world *e, long read_bytes, long send_bytes,
		   const char *addr)
{
	return actor_chunked(e, read_bytes, 1 << 20, 0, send_bytes, addr);
}

/* exfilctl alerts --json, as an array (NULL on failure). */
static struct json_object *alerts(const struct world *e)
{
	static const char *const args[] = { "alerts", NULL };

	return ctl_json(e->sock, args);
}

/* Poll until some alert has sent >= bytes, for up to 10 s. */
static struct json_object *wait_alert(const struct world *e, long bytes)
{
	int i;

	for (i = 0; i < 100; i++) {
		struct json_object *arr = alerts(e), *a, *v;

		if (arr && json_object_array_length(arr) > 0) {
			a = json_object_array_get_idx(arr, 0);
			if (json_object_object_get_ex(a, "bytes_sent", &v) &&
			    json_object_get_int64(v) >= bytes)
				return arr;
		}
		json_object_put(arr);
		usleep(100000);
	}
	return NULL;
}

/* Give the daemon two ticks to act, then count alerts. */
static int settled_alert_count(const struct world *e)
{
	struct json_object *arr;
	int n;

	sleep(2);
	arr = alerts(e);
	if (!arr)
		return -1;
	n = json_object_array_length(arr);
	json_object_put(arr);
	return n;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
		json_object_get_string(v) : "";
}

static int64_t num(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
		json_object_get_int64(v) : -1;
}

static struct json_object *idx(struct json_object *o, const char *key,
			       size_t i)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    i >= json_object_array_length(v))
		return NULL;
	return json_object_array_get_idx(v, i);
}

FIXTURE(e2e) {
	struct world e;
};

FIXTURE_SETUP(e2e)
{
	int ret = world_up(_metadata, &self->e, 5, "10.0.0.0/8, fd00::/8",
				"");

	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(e2e)
{
	world_down(&self->e);
}

TEST_F(e2e, one_theft_gives_exactly_one_alert_with_correct_fields)
{
	struct world *e = &self->e;
	struct json_object *arr, *a, *f, *d, *shown, *anc;
	const char *show_args[] = { "show", NULL, NULL };
	char exe[512], idbuf[32], line[1 << 16];
	struct sink sink;
	int lines = 0;
	FILE *jl;
	pid_t pid;
	ssize_t n;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_EQ(0, sink_start(&e->th, AF_INET, SOCK_STREAM, THEFT_PORT,
				&sink));
	pid = actor(e, e->size, e->size, e->th.remote4);
	ASSERT_LT(0, pid);
	ASSERT_EQ(e->size, sink_wait(&sink));

	arr = wait_alert(e, e->size);
	ASSERT_NE(NULL, arr);
	ASSERT_EQ(1, json_object_array_length(arr));
	a = json_object_array_get_idx(arr, 0);
	EXPECT_EQ(1, num(a, "id"));
	EXPECT_EQ(pid, num(a, "pid"));
	EXPECT_EQ(getpid(), num(a, "ppid"));
	EXPECT_EQ(0, num(a, "uid"));
	EXPECT_STREQ("root", str(a, "user"));
	EXPECT_STREQ("test_e2e", str(a, "comm"));
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ASSERT_LT(0, n);
	exe[n] = '\0';
	EXPECT_STREQ(exe, str(a, "exe"));
	EXPECT_STREQ(e->th.remote4, str(a, "host"));
	EXPECT_STREQ(sensor_under_test(), str(a, "sensor"));
	/* 3 MiB read with a 1 MiB threshold, all of it sent */
	EXPECT_STREQ("medium", str(a, "severity"));
	EXPECT_EQ(e->size, num(a, "bytes_read"));
	EXPECT_EQ(e->size, num(a, "bytes_sent"));
	/* RFC 3339 UTC: 2026-11-29T11:27:38.123456Z */
	EXPECT_EQ(27, strlen(str(a, "time")));
	EXPECT_EQ('T', str(a, "time")[10]);
	EXPECT_EQ('Z', str(a, "time")[26]);
	f = idx(a, "files", 0);
	ASSERT_NE(NULL, f);
	EXPECT_STREQ(e->db, str(f, "path"));
	EXPECT_EQ(e->size, num(f, "bytes_read"));
	EXPECT_EQ(NULL, idx(a, "files", 1));
	d = idx(a, "destinations", 0);
	ASSERT_NE(NULL, d);
	EXPECT_STREQ(e->th.remote4, str(d, "addr"));
	EXPECT_EQ(THEFT_PORT, num(d, "port"));
	EXPECT_STREQ("tcp", str(d, "proto"));
	EXPECT_EQ(e->size, num(d, "bytes_sent"));
	EXPECT_EQ(NULL, idx(a, "destinations", 1));
	EXPECT_NE(NULL, strstr(str(a, "reason"), e->th.remote4));

	/* the evidence: the process and who started it */
	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)num(a, "id"));
	show_args[1] = idbuf;
	shown = ctl_json(e->sock, show_args);
	ASSERT_NE(NULL, shown);
	anc = idx(shown, "ancestry", 0);
	ASSERT_NE(NULL, anc);
	EXPECT_EQ(pid, num(anc, "pid"));
	anc = idx(shown, "ancestry", 1);
	ASSERT_NE(NULL, anc);
	EXPECT_EQ(getpid(), num(anc, "pid"));
	EXPECT_EQ(e->size, num(shown, "bytes_sent"));
	json_object_put(shown);
	json_object_put(arr);

	/* nothing more comes of it: still one alert, one id in the log */
	EXPECT_EQ(1, settled_alert_count(e));
	jl = fopen(e->jsonlog, "r");
	ASSERT_NE(NULL, jl);
	while (fgets(line, sizeof(line), jl)) {
		struct json_object *o = json_tokener_parse(line), *x;

		ASSERT_NE(NULL, o);
		/* an ECS document, the alert under "exfilmon" (docs/siem.md) */
		ASSERT_TRUE(json_object_object_get_ex(o, "exfilmon", &x));
		EXPECT_EQ(1, num(x, "alert_id"));
		if (lines == 0)
			EXPECT_STREQ("new", str(x, "event"));
		json_object_put(o);
		lines++;
	}
	fclose(jl);
	EXPECT_LE(1, lines);
	EXPECT_GE(2, lines);
}

/*
 * A thief that stays alive after its theft: read and sent in 64 KiB calls,
 * ending short of any MiB boundary, so the sensor announced the first
 * calls only (docs/design.md "Coalescing"). The alert must still come
 * with every byte, from the daemon's look-ups, before the thief exits.
 */
TEST_F(e2e, a_thief_that_idles_is_alerted_with_every_byte)
{
	long rd = (3 << 19) + 123, sd = (700 << 10) + 5;
	struct world *e = &self->e;
	struct json_object *arr, *a;
	struct sink sink;
	int status;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_EQ(0, sink_start(&e->th, AF_INET, SOCK_STREAM, THEFT_PORT,
				&sink));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_port = htons(THEFT_PORT) };
		static char buf[64 << 10];
		long got = 0, sent = 0;
		int fd = open(e->db, O_RDONLY);

		/* gone with the test, whatever stops it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		while (got < rd) {
			ssize_t n = read(fd, buf, rd - got < (long)sizeof(buf) ?
					 rd - got : (long)sizeof(buf));

			if (n <= 0)
				_exit(2);
			got += n;
		}
		inet_pton(AF_INET, e->th.remote4, &sin.sin_addr);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (void *)&sin, sizeof(sin)))
			_exit(3);
		while (sent < sd) {
			ssize_t n = write(fd, buf, sd - sent < (long)sizeof(buf) ?
					  sd - sent : (long)sizeof(buf));

			if (n <= 0)
				_exit(4);
			sent += n;
		}
		close(fd);
		pause();
		_exit(0);
	}
	EXPECT_EQ(sd, sink_wait(&sink));
	arr = wait_alert(e, sd);
	/* still there: nothing was collected at its exit */
	EXPECT_EQ(0, waitpid(pid, &status, WNOHANG));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ASSERT_NE(NULL, arr);
	a = json_object_array_get_idx(arr, 0);
	EXPECT_EQ(pid, num(a, "pid"));
	EXPECT_EQ(rd, num(a, "bytes_read"));
	EXPECT_EQ(sd, num(a, "bytes_sent"));
	json_object_put(arr);
}

TEST_F(e2e, reading_without_sending_gives_no_alert)
{
	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_LT(0, actor(&self->e, self->e.size, 0, NULL));
	EXPECT_EQ(0, settled_alert_count(&self->e));
}

TEST_F(e2e, sending_unrelated_data_gives_no_alert)
{
	struct sink sink;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_EQ(0, sink_start(&self->e.th, AF_INET, SOCK_STREAM, THEFT_PORT,
				&sink));
	ASSERT_LT(0, actor(&self->e, 0, 4 << 20, self->e.th.remote4));
	EXPECT_EQ(4 << 20, sink_wait(&sink));
	EXPECT_EQ(0, settled_alert_count(&self->e));
}

TEST_F(e2e, small_summary_after_reading_everything_gives_no_alert)
{
	struct sink sink;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_EQ(0, sink_start(&self->e.th, AF_INET, SOCK_STREAM, THEFT_PORT,
				&sink));
	/* a report of 10 KiB about the whole database is not a theft */
	ASSERT_LT(0, actor(&self->e, self->e.size, 10240,
			   self->e.th.remote4));
	EXPECT_EQ(10240, sink_wait(&sink));
	EXPECT_EQ(0, settled_alert_count(&self->e));
}

FIXTURE(internal) {
	struct world e;
};

FIXTURE_SETUP(internal)
{
	/* the test host's network is declared internal */
	int ret = world_up(_metadata, &self->e, 6,
			       "10.0.0.0/8, 198.18.6.0/24", "");

	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(internal)
{
	world_down(&self->e);
}

TEST_F(internal, sending_the_database_internally_gives_no_alert)
{
	struct sink sink;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_EQ(0, sink_start(&self->e.th, AF_INET, SOCK_STREAM, THEFT_PORT,
				&sink));
	ASSERT_LT(0, actor(&self->e, self->e.size, self->e.size,
			   self->e.th.remote4));
	EXPECT_EQ(self->e.size, sink_wait(&sink));
	EXPECT_EQ(0, settled_alert_count(&self->e));
}

FIXTURE(tiny_ring) {
	struct world e;
};

FIXTURE_SETUP(tiny_ring)
{
	/*
	 * The thief's 64-byte reads of 3 MiB are announced only now and then
	 * (docs/design.md "Coalescing"), but each of its 49,152 64-byte
	 * writes staging them in a file is a flow record: 12 MB of records,
	 * more than this 64 KiB ring or the module's (1 MiB unless set when
	 * it loads) holds, so most are dropped.
	 */
	int ret = world_up(_metadata, &self->e, 7, "10.0.0.0/8",
			      "[sensor]\nring_kib = 64\n");

	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(tiny_ring)
{
	world_down(&self->e);
}

TEST_F(tiny_ring, dropped_records_lose_no_bytes)
{
	static const char *const status_args[] = { "status", NULL };
	struct world *e = &self->e;
	struct json_object *arr, *a, *st;
	struct sink sink;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_EQ(0, sink_start(&e->th, AF_INET, SOCK_STREAM, THEFT_PORT,
				&sink));
	/* the daemon is stopped meanwhile, so the ring surely overflows */
	ASSERT_EQ(0, kill(e->daemon, SIGSTOP));
	ASSERT_LT(0, actor_chunked(e, e->size, 64, 64, e->size,
				   e->th.remote4));
	ASSERT_EQ(e->size, sink_wait(&sink));
	ASSERT_EQ(0, kill(e->daemon, SIGCONT));

	arr = wait_alert(e, e->size);
	ASSERT_NE(NULL, arr);
	ASSERT_EQ(1, json_object_array_length(arr));
	a = json_object_array_get_idx(arr, 0);
	EXPECT_EQ(e->size, num(a, "bytes_read"));
	EXPECT_EQ(e->size, num(a, "bytes_sent"));
	EXPECT_EQ(e->size, num(idx(a, "files", 0), "bytes_read"));
	json_object_put(arr);

	st = ctl_json(e->sock, status_args);
	ASSERT_NE(NULL, st);
	TH_LOG("events %lld, dropped %lld", (long long)num(st, "events"),
	       (long long)num(st, "dropped"));
	EXPECT_LT(0, num(st, "dropped"));
	EXPECT_EQ(0, num(st, "lost_read_bytes"));
	EXPECT_EQ(0, num(st, "lost_send_bytes"));
	json_object_put(st);
}

/*
 * The daemon under valgrind's memcheck through a theft, its alert, the
 * queries about it and a SIGTERM: every read of uninitialised memory,
 * invalid access and leak on those paths, in the plain build that is
 * installed (the sanitized suite builds with ASan, which valgrind cannot
 * run; docs/sanitizers.md).
 */
FIXTURE(valgrind) {
	struct world e;
};

FIXTURE_SETUP(valgrind)
{
	int ret;

#if defined(__SANITIZE_ADDRESS__)
	SKIP(return, "an ASan build: valgrind cannot run it (the plain "
	     "suite runs this test)");
#endif
	if (system("command -v valgrind >/dev/null"))
		SKIP(return, "valgrind is not installed (scripts/deps.sh)");
	ASSERT_EQ(0, access(VALGRIND_SUPP, R_OK));
	self->e.valgrind = 1;
	ret = world_up(_metadata, &self->e, 8, "10.0.0.0/8", "");
	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(valgrind)
{
	world_down(&self->e);
}

TEST_F(valgrind, a_theft_is_alerted_with_no_memory_error_or_leak)
{
	static const char *const status_args[] = { "status", NULL };
	const char *show_args[] = { "show", "1", NULL };
	struct world *e = &self->e;
	struct json_object *arr, *a, *j;
	struct sink sink;
	char *report;
	FILE *f;
	size_t n;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_EQ(0, sink_start(&e->th, AF_INET, SOCK_STREAM, THEFT_PORT,
				&sink));
	ASSERT_LT(0, actor(e, e->size, e->size, e->th.remote4));
	ASSERT_EQ(e->size, sink_wait(&sink));
	arr = wait_alert(e, e->size);
	ASSERT_NE(NULL, arr);
	ASSERT_EQ(1, json_object_array_length(arr));
	a = json_object_array_get_idx(arr, 0);
	EXPECT_EQ(e->size, num(a, "bytes_read"));
	EXPECT_EQ(e->size, num(a, "bytes_sent"));
	EXPECT_STREQ(e->th.remote4, str(a, "host"));
	json_object_put(arr);
	/* the store's read path and the status reply, under memcheck too */
	j = ctl_json(e->sock, show_args);
	ASSERT_NE(NULL, j);
	EXPECT_EQ(e->size, num(j, "bytes_sent"));
	json_object_put(j);
	j = ctl_json(e->sock, status_args);
	ASSERT_NE(NULL, j);
	json_object_put(j);

	/* memcheck's verdict: its exit status, then its summaries */
	EXPECT_EQ(0, daemon_stop(e->daemon));
	e->daemon = -1;
	report = calloc(1, 1 << 20);
	ASSERT_NE(NULL, report);
	f = fopen(e->log, "r");
	ASSERT_NE(NULL, f);
	n = fread(report, 1, (1 << 20) - 1, f);
	fclose(f);
	report[n] = '\0';
	EXPECT_NE(NULL, strstr(report, "ERROR SUMMARY: 0 errors"));
	/* a clean exit frees all, or leaves only what is still reachable */
	EXPECT_TRUE(strstr(report, "All heap blocks were freed") ||
		    (strstr(report, "definitely lost: 0 bytes") &&
		     strstr(report, "indirectly lost: 0 bytes") &&
		     strstr(report, "possibly lost: 0 bytes")));
	if (!_metadata->passed)
		TH_LOG("valgrind's report:\n%s", report);
	free(report);
}

/*
 * exfilmond killed in the middle of a theft and started again, as systemd
 * would (docs/design.md "Restarts"): the sensor kept counting in the
 * meantime, in pinned maps or the module's tables, and the new daemon
 * takes that state over. The theft's one alert ends with every byte.
 */
FIXTURE(restart) {
	struct world e;
};

FIXTURE_SETUP(restart)
{
	int ret = world_up(_metadata, &self->e, 9, "10.0.0.0/8", "");

	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(restart)
{
	world_down(&self->e);
}

/* A byte through a pipe: one side's go-ahead to the other. */
static int step(int fd)
{
	return write(fd, "", 1) == 1 ? 0 : -1;
}

static int await_step(int fd)
{
	char c;

	return read(fd, &c, 1) == 1 ? 0 : -1;
}

/*
 * Read all of the database, send first bytes of it, report, wait for the
 * go-ahead, send the rest and exit.
 */
static pid_t thief_in_two_parts(const struct world *e, long first,
				int ready[2], int go[2])
{
	pid_t pid = fork();

	if (!pid) {
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_port = htons(THEFT_PORT) };
		char *buf = malloc(e->size);
		long got = 0, sent = 0;
		int fd = open(e->db, O_RDONLY);

		if (!buf || fd < 0)
			_exit(1);
		while (got < e->size) {
			ssize_t n = read(fd, buf + got, e->size - got);

			if (n <= 0)
				_exit(2);
			got += n;
		}
		close(fd);
		inet_pton(AF_INET, e->th.remote4, &sin.sin_addr);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (void *)&sin, sizeof(sin)))
			_exit(3);
		while (sent < e->size) {
			ssize_t n;

			if (sent == first && (step(ready[1]) ||
					      await_step(go[0])))
				_exit(5);
			n = write(fd, buf + sent, (sent < first ? first :
						   e->size) - sent);
			if (n <= 0)
				_exit(4);
			sent += n;
		}
		close(fd);
		_exit(0);
	}
	return pid;
}

static int log_has(const struct world *e, const char *text)
{
	char *buf = calloc(1, 1 << 20);
	FILE *f = fopen(e->log, "r");
	int found = 0;
	size_t n;

	if (buf && f) {
		n = fread(buf, 1, (1 << 20) - 1, f);
		buf[n] = '\0';
		found = !!strstr(buf, text);
	}
	if (f)
		fclose(f);
	free(buf);
	return found;
}

TEST_F(restart, a_daemon_killed_mid_theft_resumes_with_every_byte)
{
	struct world *e = &self->e;
	int ready[2], go[2], status;
	struct json_object *arr, *a;
	const char *pins;
	struct sink sink;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_EQ(0, sink_start(&e->th, AF_INET, SOCK_STREAM, THEFT_PORT,
				&sink));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	pid = thief_in_two_parts(e, 1 << 20, ready, go);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, await_step(ready[0]));
	/* the first daemon raises the alert on the first MiB */
	arr = wait_alert(e, 1 << 20);
	ASSERT_NE(NULL, arr);
	json_object_put(arr);

	pins = daemon_pin_dir(e->daemon);
	ASSERT_NE(NULL, pins);
	ASSERT_EQ(0, kill(e->daemon, SIGKILL));
	ASSERT_EQ(e->daemon, waitpid(e->daemon, NULL, 0));
	if (!strcmp(sensor_under_test(), "bpf"))
		EXPECT_EQ(0, access(pins, F_OK));
	/* the rest goes out, and the thief is gone, while no daemon runs */
	ASSERT_EQ(0, step(go[1]));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	ASSERT_EQ(e->size, sink_wait(&sink));

	e->daemon = daemon_start(e->conf, e->sock, e->log);
	ASSERT_LT(0, e->daemon);
	arr = wait_alert(e, e->size);
	ASSERT_NE(NULL, arr);
	EXPECT_TRUE(log_has(e, "resuming from the sensor's state"));
	/* one theft, one alert: the one raised before the kill, completed */
	EXPECT_EQ(1, json_object_array_length(arr));
	a = json_object_array_get_idx(arr, 0);
	EXPECT_EQ(1, num(a, "id"));
	EXPECT_EQ(pid, num(a, "pid"));
	EXPECT_EQ(e->size, num(a, "bytes_read"));
	EXPECT_EQ(e->size, num(a, "bytes_sent"));
	EXPECT_EQ(e->size, num(idx(a, "files", 0), "bytes_read"));
	EXPECT_EQ(e->size, num(idx(a, "destinations", 0), "bytes_sent"));
	json_object_put(arr);
	if (!_metadata->passed)
		run("cat %s >&2", e->log);
}

TEST_F(restart, a_changed_watch_list_starts_from_empty_tables)
{
	struct world *e = &self->e;
	char conf[1024], other[160];
	struct json_object *arr;
	struct sink sink;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_EQ(0, sink_start(&e->th, AF_INET, SOCK_STREAM, THEFT_PORT,
				&sink));
	ASSERT_LT(0, actor(e, e->size, 1 << 20, e->th.remote4));
	ASSERT_EQ(1 << 20, sink_wait(&sink));
	arr = wait_alert(e, 1 << 20);
	ASSERT_NE(NULL, arr);
	json_object_put(arr);
	ASSERT_EQ(0, kill(e->daemon, SIGKILL));
	ASSERT_EQ(e->daemon, waitpid(e->daemon, NULL, 0));

	/* another file takes watch id 1: the old counters would lie */
	snprintf(other, sizeof(other), "%s/other.csv", e->dir);
	ASSERT_LT(0, customers_write(other, 4096));
	snprintf(conf, sizeof(conf),
		 "[watch]\npath = %s\n\n"
		 "[correlation]\nread_threshold = 1M\nsend_threshold = 256K\n"
		 "window = 1h\n\n"
		 "[network]\ninternal = 10.0.0.0/8\n\n"
		 "[daemon]\nstate_dir = %s/state\nsocket = %s\n"
		 "group = exfilmon-test-nonexistent\n", other, e->dir,
		 e->sock);
	ASSERT_EQ(0, write_file(e->conf, conf));
	e->daemon = daemon_start(e->conf, e->sock, e->log);
	ASSERT_LT(0, e->daemon);
	EXPECT_TRUE(log_has(e, "not resuming from the sensor's state: a "
			    "watched path of the last daemon is not watched"));
	/* nothing the old tables held comes back as a second alert */
	EXPECT_EQ(1, settled_alert_count(e));
}

TEST_F(restart, an_orderly_stop_leaves_nothing_pinned)
{
	struct world *e = &self->e;
	char pins[64];
	int status;

	if (_metadata->skip)
		return;	/* skipped in the setup */
	if (strcmp(sensor_under_test(), "bpf"))
		SKIP(return, "pins are the eBPF sensor's");
	snprintf(pins, sizeof(pins), "%s", daemon_pin_dir(e->daemon));
	ASSERT_EQ(0, access(pins, F_OK));
	ASSERT_EQ(0, kill(e->daemon, SIGTERM));
	ASSERT_EQ(e->daemon, waitpid(e->daemon, &status, 0));
	EXPECT_EQ(0, status);
	EXPECT_EQ(-1, access(pins, F_OK));
	EXPECT_EQ(ENOENT, errno);
	/* after the check: this would remove what the daemon left */
	daemon_unpin(e->daemon);
	e->daemon = -1;
}

/*
 * Root-level tampering the daemon's self-check must find and mend within
 * a few seconds (docs/design.md "Self-check"): the configured watch entry
 * deleted from the sensor's table, its bit cleared in the hot-path filter,
 * and a pin removed. A theft after that is still alerted to the byte.
 */
FIXTURE(selfcheck) {
	struct world e;
};

FIXTURE_SETUP(selfcheck)
{
	int ret;

	if (strcmp(sensor_under_test(), "bpf"))
		SKIP(return, "the module's tables and hooks change only "
		     "through its device, which admits one opener: the "
		     "daemon");
	ret = world_up(_metadata, &self->e, 10, "10.0.0.0/8", "");
	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(selfcheck)
{
	world_down(&self->e);
}

/* Delete every configured entry of the pinned watched table; how many. */
static int delete_watch_entries(const char *pins)
{
	struct exfilmon_file_key key, next, *prev = NULL;
	struct exfilmon_file_key doomed[16];
	struct exfilmon_obj o;
	char path[128];
	int fd, n = 0, i;

	snprintf(path, sizeof(path), "%s/watched", pins);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	while (!bpf_map_get_next_key(fd, prev, &next) && n < 16) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &o))
			continue;
		if ((o.flags & EXFILMON_WATCH_FILE) &&
		    !(o.flags & (EXFILMON_WATCH_VIA_DIR |
				 EXFILMON_OBJ_DERIVED | EXFILMON_OBJ_OPAQUE)))
			doomed[n++] = key;
	}
	for (i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &doomed[i]);
	close(fd);
	return n;
}

/*
 * Clear the filter bit of ino in the pinned .bss, found through the map's
 * BTF: the datasec's variable watch_filter.
 */
static int clear_filter_bit(const char *pins, uint64_t ino)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info), slot = exfilmon_watch_slot(ino);
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	struct btf *btf = NULL;
	long off = -1;
	char path[128], *val = NULL;
	int fd, i, ret = -1;

	snprintf(path, sizeof(path), "%s/exfilmon_bss", pins);
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		goto out;
	btf = btf__load_from_kernel_by_id(info.btf_id);
	sec = btf ? btf__type_by_id(btf, info.btf_value_type_id) : NULL;
	if (!sec || !btf_is_datasec(sec))
		goto out;
	vs = btf_var_secinfos(sec);
	for (i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *v = btf__type_by_id(btf, vs->type);

		if (!strcmp(btf__name_by_offset(btf, v->name_off),
			    "watch_filter"))
			off = vs->offset;
	}
	val = malloc(info.value_size);
	if (off < 0 || !val || bpf_map_lookup_elem(fd, &(__u32){ 0 }, val))
		goto out;
	((uint64_t *)(val + off))[slot / 64] &= ~(1ULL << (slot % 64));
	ret = bpf_map_update_elem(fd, &(__u32){ 0 }, val, BPF_ANY);
out:
	free(val);
	btf__free(btf);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Poll exfilctl status until tamper.events > 0, up to 12 s (two checks). */
static struct json_object *wait_tamper(const struct world *e)
{
	static const char *const status_args[] = { "status", NULL };
	int i;

	for (i = 0; i < 60; i++) {
		struct json_object *st = ctl_json(e->sock, status_args), *t;

		if (st && json_object_object_get_ex(st, "tamper", &t) &&
		    num(t, "events") > 0)
			return st;
		json_object_put(st);
		usleep(200000);
	}
	return NULL;
}

TEST_F(selfcheck, tampering_by_root_is_found_mended_and_raised)
{
	struct world *e = &self->e;
	struct json_object *st, *t, *arr, *a;
	const char *pins;
	char path[128];
	struct sink sink;
	struct stat sb;

	if (_metadata->skip)
		return;	/* skipped in the setup */
	pins = daemon_pin_dir(e->daemon);
	ASSERT_NE(NULL, pins);
	ASSERT_EQ(0, stat(e->db, &sb));
	ASSERT_EQ(1, delete_watch_entries(pins));
	ASSERT_EQ(0, clear_filter_bit(pins, sb.st_ino));
	snprintf(path, sizeof(path), "%s/sends", pins);
	ASSERT_EQ(0, unlink(path));

	st = wait_tamper(e);
	ASSERT_NE(NULL, st);
	ASSERT_TRUE(json_object_object_get_ex(st, "tamper", &t));
	TH_LOG("tamper: %s", str(t, "last"));
	EXPECT_NE(NULL, strstr(str(t, "last"), "the watch entry of"));
	EXPECT_NE(NULL, strstr(str(t, "last"), "filter bit of watched inode"));
	EXPECT_NE(NULL, strstr(str(t, "last"), "/sends was removed"));
	EXPECT_LE(3, num(t, "mended"));
	json_object_put(st);
	EXPECT_TRUE(log_has(e, "tamper: "));
	EXPECT_EQ(0, access(path, F_OK));

	/* mended: the next theft counts in full */
	ASSERT_EQ(0, sink_start(&e->th, AF_INET, SOCK_STREAM, THEFT_PORT,
				&sink));
	ASSERT_LT(0, actor(e, e->size, e->size, e->th.remote4));
	ASSERT_EQ(e->size, sink_wait(&sink));
	arr = wait_alert(e, e->size);
	ASSERT_NE(NULL, arr);
	a = json_object_array_get_idx(arr, 0);
	EXPECT_EQ(e->size, num(a, "bytes_read"));
	EXPECT_EQ(e->size, num(a, "bytes_sent"));
	json_object_put(arr);
}

TEST_HARNESS_MAIN
