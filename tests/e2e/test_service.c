// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilmond as systemd runs it: the notify protocol heard on a
 * NOTIFY_SOCKET of our own (READY only once the sensor is attached, the
 * watchdog at half of WATCHDOG_USEC, RELOADING then READY around a
 * reload), reloads with a good and a bad config, and the files a reader
 * of the exfilmon group may open and a stranger may not.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <grp.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "daemon_run.h"

#define NOBODY		65534	/* primary group nogroup: a reader */
#define NOGROUP		65534
#define STRANGER	1	/* Debian's "daemon": in no group of ours */
#define OUTSIDER	4242	/* no passwd entry; nogroup only as a
				 * supplementary group */
#define NOTIFY_MAX	64

struct notify_msg {
	char text[512];
	uint64_t at_ms;		/* CLOCK_MONOTONIC */
};

FIXTURE(service) {
	char dir[64];
	char conf[128], sock[128], log[128], state[128];
	char watched[128], second[128];
	int nfd;		/* our NOTIFY_SOCKET */
	pid_t daemon;
	struct notify_msg msgs[NOTIFY_MAX];
	int nr;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

/* line is one whole line of text */
static int has_line(const char *text, const char *line)
{
	size_t len = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') &&
		    (p[len] == '\n' || !p[len]))
			return 1;
		p += len;
	}
	return 0;
}

/* The first message with a line starting with prefix, or -1. */
static int find_prefix(FIXTURE_DATA(service) *self, const char *prefix)
{
	size_t len = strlen(prefix);
	const char *t, *p;
	int i;

	for (i = 0; i < self->nr; i++) {
		t = self->msgs[i].text;
		for (p = t; p; p = strchr(p, '\n')) {
			if (*p == '\n')
				p++;
			if (!strncmp(p, prefix, len))
				return i;
		}
	}
	return -1;
}

/*
 * Collect notify datagrams for up to ms, or until one has a line equal
 * to want (NULL: the whole time). Returns the index of that message, or
 * -1.
 */
static int hear(FIXTURE_DATA(service) *self, int ms, const char *want)
{
	uint64_t end = mono_ms() + ms;
	struct pollfd p = { .fd = self->nfd, .events = POLLIN };

	for (;;) {
		uint64_t now = mono_ms();
		struct notify_msg *m;
		ssize_t n;

		if (now >= end || poll(&p, 1, end - now) <= 0)
			return -1;
		if (self->nr == NOTIFY_MAX)
			return -1;
		m = &self->msgs[self->nr];
		n = recv(self->nfd, m->text, sizeof(m->text) - 1, 0);
		if (n < 0)
			continue;
		m->text[n] = '\0';
		m->at_ms = mono_ms();
		self->nr++;
		if (want && has_line(m->text, want))
			return self->nr - 1;
	}
}

static int count_line(FIXTURE_DATA(service) *self, int from,
		      const char *line)
{
	int i, n = 0;

	for (i = from; i < self->nr; i++)
		n += has_line(self->msgs[i].text, line);
	return n;
}

static int write_conf(FIXTURE_DATA(service) *self, const char *extra)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "[watch]\npath = %s\n%s"
		 "[daemon]\nstate_dir = %s\nsocket = %s\ngroup = nogroup\n",
		 self->watched, extra, self->state, self->sock);
	return write_file(self->conf, text);
}

/*
 * Start exfilmond with our NOTIFY_SOCKET, and WATCHDOG_USEC when
 * watchdog_usec is not NULL.
 */
static pid_t start(FIXTURE_DATA(service) *self, const char *watchdog_usec)
{
	pid_t pid;

	setenv("NOTIFY_SOCKET", getenv("EXFILMON_TEST_NOTIFY"), 1);
	if (watchdog_usec)
		setenv("WATCHDOG_USEC", watchdog_usec, 1);
	pid = daemon_start(self->conf, self->sock, self->log);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	return pid;
}

/* Start it and hear READY=1: the message's index, or -1. */
static int start_ready(FIXTURE_DATA(service) *self, const char *watchdog_usec)
{
	self->daemon = start(self, watchdog_usec);
	if (self->daemon <= 0)
		return -1;
	return hear(self, 20000, "READY=1");
}

FIXTURE_SETUP(service)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	self->nfd = -1;
	self->daemon = -1;
	if (geteuid())
		SKIP(return, "exfilmond needs root");
	strcpy(self->dir, "/tmp/exfilmon-svc-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	/* readers must reach the socket and the state folder */
	ASSERT_EQ(0, chmod(self->dir, 0755));
	snprintf(self->conf, sizeof(self->conf), "%s/exfilmon.conf",
		 self->dir);
	snprintf(self->sock, sizeof(self->sock), "%s/ctl.sock", self->dir);
	snprintf(self->log, sizeof(self->log), "%s/exfilmond.log", self->dir);
	snprintf(self->state, sizeof(self->state), "%s/state", self->dir);
	snprintf(self->watched, sizeof(self->watched), "%s/customers.csv",
		 self->dir);
	snprintf(self->second, sizeof(self->second), "%s/accounts.csv",
		 self->dir);
	ASSERT_EQ(0, write_file(self->watched, "name,account,phone\n"));
	ASSERT_EQ(0, write_file(self->second, "account,balance\n"));
	ASSERT_EQ(0, write_conf(self, ""));

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify.sock",
		 self->dir);
	self->nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, self->nfd);
	ASSERT_EQ(0, bind(self->nfd, (struct sockaddr *)&sa, sizeof(sa)));
	setenv("EXFILMON_TEST_NOTIFY", sa.sun_path, 1);
}

FIXTURE_TEARDOWN(service)
{
	char cmd[128];

	if (self->daemon > 0)
		daemon_stop(self->daemon);
	if (self->nfd >= 0)
		close(self->nfd);
	if (getenv("EXFILMON_TEST_KEEP"))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (self->dir[0] && system(cmd))
		TH_LOG("cleanup failed");
}

static int ctl(struct cmd_result *r, uid_t uid, const char *sock,
	       const char *a1, const char *a2)
{
	const char *argv[] = { "exfilctl", "--socket", sock, a1, a2, NULL };

	return run_prog(r, uid, argv);
}

static int file_has(const char *path, const char *needle)
{
	char buf[1 << 16];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return 0;
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

/*
 * The watched paths exfilctl status reports, as one string, and the
 * number of opaque executables marked.
 */
static int status_watches(FIXTURE_DATA(service) *self, char *out, size_t len,
			  int *opaque)
{
	const char *args[] = { "status", NULL };
	struct json_object *j = ctl_json(self->sock, args), *w, *o;

	if (!j)
		return -1;
	if (!json_object_object_get_ex(j, "watched", &w) ||
	    !json_object_object_get_ex(j, "opaque", &o)) {
		json_object_put(j);
		return -1;
	}
	*opaque = json_object_get_int(o);
	snprintf(out, len, "%s", json_object_to_json_string_ext(w,
		 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
	return 0;
}

TEST_F(service, ready_only_once_the_sensor_is_attached)
{
	struct cmd_result *r = malloc(sizeof(*r));
	int ready, attaching, store;

	if (_metadata->skip)
		return;
	ASSERT_NE(NULL, r);
	ready = start_ready(self, NULL);
	ASSERT_LE(0, ready);
	/* it said what it was doing first, in order */
	store = find_prefix(self, "STATUS=opening the alert store");
	attaching = find_prefix(self, "STATUS=attaching the ");
	ASSERT_LE(0, store);
	ASSERT_LT(store, attaching);
	ASSERT_LT(attaching, ready);
	EXPECT_EQ(1, count_line(self, 0, "READY=1"));
	/* at READY the socket answers and the sensor is the one asked for */
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "status", NULL));
	EXPECT_EQ(0, r->status);
	EXPECT_NE(NULL, strstr(r->out, sensor_under_test()));
	EXPECT_NE(NULL, strstr(r->out, self->watched));
	free(r);
}

TEST_F(service, no_ready_when_the_start_fails)
{
	char missing[160];

	if (_metadata->skip)
		return;
	/* the sensor attaches, then a watch path is missing: exit 1 */
	snprintf(missing, sizeof(missing), "path = %s/gone.csv\n", self->dir);
	ASSERT_EQ(0, write_conf(self, missing));
	self->daemon = start(self, NULL);
	ASSERT_EQ(-1, self->daemon);	/* daemon_start reaped it */
	hear(self, 500, NULL);
	/* the listener heard it get as far as the sensor ... */
	ASSERT_LT(0, self->nr);
	EXPECT_LE(0, find_prefix(self, "STATUS=attaching the "));
	/* ... and never say it was ready */
	EXPECT_EQ(0, count_line(self, 0, "READY=1"));
	EXPECT_TRUE(file_has(self->log, "gone.csv"));
}

TEST_F(service, watchdog_pings_at_half_the_interval)
{
	int ready, pings;

	if (_metadata->skip)
		return;
	ready = start_ready(self, "1000000");
	ASSERT_LE(0, ready);
	/*
	 * 1 s asked: a ping each 500 ms, so 6 in 3 s; a ping at the full
	 * interval would give 3, one each 400 ms 7 or 8
	 */
	hear(self, 3000, NULL);
	pings = count_line(self, ready + 1, "WATCHDOG=1");
	TH_LOG("%d watchdog pings in 3 s", pings);
	EXPECT_LE(4, pings);
	EXPECT_GE(7, pings);
	EXPECT_TRUE(file_has(self->log, "pinging every 500 ms"));
}

TEST_F(service, no_watchdog_pings_unless_asked)
{
	int ready;

	if (_metadata->skip)
		return;
	ready = start_ready(self, NULL);
	ASSERT_LE(0, ready);
	hear(self, 1500, NULL);
	EXPECT_EQ(0, count_line(self, 0, "WATCHDOG=1"));
}

TEST_F(service, reload_applies_a_good_config_and_keeps_the_old_on_error)
{
	struct cmd_result *r = malloc(sizeof(*r));
	char extra[256], w[4096], expect[512];
	int ready, reloading, again, opaque, defaults;

	if (_metadata->skip)
		return;
	ASSERT_NE(NULL, r);
	ready = start_ready(self, NULL);
	ASSERT_LE(0, ready);
	ASSERT_EQ(0, status_watches(self, w, sizeof(w), &opaque));
	EXPECT_EQ(NULL, strstr(w, self->second));
	defaults = opaque;

	/*
	 * good: a second watch, and one opaque executable in place of the
	 * defaults; SIGHUP is what ExecReload sends
	 */
	snprintf(extra, sizeof(extra), "path = %s\n[flow]\nopaque = /bin/sh\n",
		 self->second);
	ASSERT_EQ(0, write_conf(self, extra));
	ASSERT_EQ(0, kill(self->daemon, SIGHUP));
	reloading = hear(self, 10000, "RELOADING=1");
	ASSERT_LT(ready, reloading);
	EXPECT_NE(NULL, strstr(self->msgs[reloading].text, "MONOTONIC_USEC="));
	again = hear(self, 10000, "READY=1");
	ASSERT_LT(reloading, again);
	ASSERT_EQ(0, status_watches(self, w, sizeof(w), &opaque));
	EXPECT_NE(NULL, strstr(w, self->second));
	EXPECT_NE(NULL, strstr(w, self->watched));
	EXPECT_EQ(1, opaque);

	/* bad: line 5 has an unknown unit; nothing changes */
	ASSERT_EQ(0, write_conf(self, "path = /nonexistent/x.csv\n"
				"[correlation]\nsend_threshold = 12Q\n"));
	ASSERT_EQ(0, kill(self->daemon, SIGHUP));
	reloading = hear(self, 10000, "RELOADING=1");
	ASSERT_LT(again, reloading);
	again = hear(self, 10000, "READY=1");
	ASSERT_LT(reloading, again);
	EXPECT_NE(NULL, strstr(self->msgs[again].text,
			       "the last reload failed"));
	snprintf(expect, sizeof(expect), "reload failed, the running "
		 "configuration stays: %s:5: send_threshold = 12Q: unknown "
		 "unit", self->conf);
	EXPECT_TRUE(file_has(self->log, expect));
	ASSERT_EQ(0, status_watches(self, w, sizeof(w), &opaque));
	EXPECT_NE(NULL, strstr(w, self->second));

	/* exfilctl reload says the same, and exits 1 */
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "reload", NULL));
	EXPECT_EQ(1, r->status);
	EXPECT_NE(NULL, strstr(r->err, expect));

	/* a watch path that is not there fails it too, by its line */
	ASSERT_EQ(0, write_conf(self, "path = /nonexistent/x.csv\n"));
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "reload", NULL));
	EXPECT_EQ(1, r->status);
	snprintf(expect, sizeof(expect), "%s:3: path = /nonexistent/x.csv",
		 self->conf);
	EXPECT_NE(NULL, strstr(r->err, expect));
	ASSERT_EQ(0, status_watches(self, w, sizeof(w), &opaque));
	EXPECT_NE(NULL, strstr(w, self->second));

	/* fixed: the second watch goes, and exfilctl says so */
	ASSERT_EQ(0, write_conf(self, ""));
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "reload", NULL));
	EXPECT_EQ(0, r->status);
	snprintf(expect, sizeof(expect), "reloaded %s\n", self->conf);
	EXPECT_STREQ(expect, r->out);
	ASSERT_EQ(0, status_watches(self, w, sizeof(w), &opaque));
	EXPECT_EQ(NULL, strstr(w, self->second));
	EXPECT_NE(NULL, strstr(w, self->watched));
	EXPECT_EQ(defaults, opaque);
	free(r);
}

TEST_F(service, reload_keeps_what_only_a_restart_can_change)
{
	char text[1024], expect[512];
	struct stat st;

	if (_metadata->skip)
		return;
	ASSERT_LE(0, start_ready(self, NULL));
	snprintf(text, sizeof(text),
		 "[watch]\npath = %s\n[daemon]\nstate_dir = %s/elsewhere\n"
		 "socket = %s\ngroup = nogroup\n[sensor]\nmax_procs = 4096\n",
		 self->watched, self->dir, self->sock);
	ASSERT_EQ(0, write_file(self->conf, text));
	ASSERT_EQ(0, kill(self->daemon, SIGHUP));
	ASSERT_LE(0, hear(self, 10000, "READY=1"));
	snprintf(expect, sizeof(expect), "reload: [daemon] state_dir changed "
		 "from %s to %s/elsewhere: takes effect when exfilmond "
		 "restarts", self->state, self->dir);
	EXPECT_TRUE(file_has(self->log, expect));
	EXPECT_TRUE(file_has(self->log, "reload: [sensor] max_procs changed "
			     "from 16384 to 4096: takes effect when exfilmond "
			     "restarts"));
	/* the daemon still works where it was */
	snprintf(text, sizeof(text), "%s/elsewhere", self->dir);
	EXPECT_NE(0, stat(text, &st));
	EXPECT_EQ(0, stat(self->sock, &st));
}

/* Can uid (with these groups) open path for reading? 0 or errno. */
static int open_as(uid_t uid, gid_t gid, size_t ngroups, const gid_t *groups,
		   const char *path)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		int fd;

		if (setgroups(ngroups, groups) || setgid(gid) || setuid(uid))
			_exit(125);
		fd = open(path, O_RDONLY);
		_exit(fd < 0 ? errno : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST_F(service, files_are_root_and_the_readers_group_only)
{
	const gid_t member[] = { NOGROUP };
	struct cmd_result *r = malloc(sizeof(*r));
	char db[160], json[160];
	const char *argv[] = { "exfilctl", "--socket", self->sock, "alerts",
			       NULL };
	const char *reload[] = { "exfilctl", "--socket", self->sock,
				 "reload", NULL };
	struct {
		const char *path;
		mode_t mode;
	} files[] = {
		{ self->sock, 0140660 },
		{ self->state, 040750 },
		{ db, 0100640 },
		{ json, 0100640 },
	};
	struct stat st;
	size_t i;

	if (_metadata->skip)
		return;
	ASSERT_NE(NULL, r);
	snprintf(db, sizeof(db), "%s/alerts.db", self->state);
	snprintf(json, sizeof(json), "%s/alerts.json", self->state);
	ASSERT_LE(0, start_ready(self, NULL));
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		ASSERT_EQ(0, lstat(files[i].path, &st));
		EXPECT_EQ(files[i].mode, st.st_mode) {
			TH_LOG("%s: mode %o", files[i].path, st.st_mode);
		}
		EXPECT_EQ(0, st.st_uid);
		EXPECT_EQ(NOGROUP, st.st_gid);
	}
	/* a member (by primary or supplementary group) reads the evidence */
	EXPECT_EQ(0, open_as(NOBODY, NOGROUP, 0, NULL, db));
	EXPECT_EQ(0, open_as(OUTSIDER, OUTSIDER, 1, member, json));
	/* a stranger does not */
	EXPECT_EQ(EACCES, open_as(STRANGER, STRANGER, 0, NULL, db));
	EXPECT_EQ(EACCES, open_as(STRANGER, STRANGER, 0, NULL, json));

	/* over the socket: a supplementary member may read, not reload */
	ASSERT_EQ(0, run_prog_groups(r, OUTSIDER, OUTSIDER, 1, member, argv));
	EXPECT_EQ(0, r->status) {
		TH_LOG("%s", r->err);
	}
	ASSERT_EQ(0, run_prog_groups(r, OUTSIDER, OUTSIDER, 1, member,
				     reload));
	EXPECT_EQ(1, r->status);
	EXPECT_STREQ("exfilctl: permission denied: uid 4242 may not reload "
		     "the configuration (root only)\n", r->err);
	/* and a stranger cannot connect at all */
	ASSERT_EQ(0, run_prog_groups(r, STRANGER, STRANGER, 0, NULL, reload));
	EXPECT_EQ(1, r->status);
	EXPECT_NE(NULL, strstr(r->err, "Permission denied"));
	free(r);
}

TEST_HARNESS_MAIN
