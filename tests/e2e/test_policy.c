// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prevent mode as the security team drives it, through the real exfilmond
 * and exfilctl: what exfilctl policy says for a mixed configuration, a
 * reload that switches the mode, and the overrides (exfilctl allow): only
 * root grants one, each is stored, shown, kept across a restart while
 * valid, ended on time or on request, and bad input is refused with the
 * value and the reason. Whether the kernel then lets traffic through is
 * tests/e2e/test_prevent.c's.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "daemon_run.h"

#define NOBODY 65534	/* primary group nogroup (65534) */

FIXTURE(policy) {
	char dir[64];
	char conf[128];
	char sock[128];
	char log[128];
	char path[3][128];	/* watched: global, its own prevent, detect */
	pid_t daemon;
	pid_t target;		/* the process an override names */
};

/*
 * Global prevent; the second path says prevent itself, the third detect.
 * mode is on line 6, prevent on 7, detect on 8.
 */
static void write_config(struct __test_metadata *_metadata,
			 FIXTURE_DATA(policy) *self, const char *mode)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "[watch]\n"
		 "path = %s\n"
		 "path = %s\n"
		 "path = %s\n"
		 "[policy]\n"
		 "mode = %s\n"
		 "prevent = %s\n"
		 "detect = %s\n"
		 "[network]\n"
		 "internal = 10.0.0.0/8, fd00::/8\n"
		 "[daemon]\n"
		 "state_dir = %s/state\n"
		 "socket = %s\n"
		 "group = nogroup\n",
		 self->path[0], self->path[1], self->path[2], mode,
		 self->path[1], self->path[2], self->dir, self->sock);
	ASSERT_EQ(0, write_file(self->conf, text));
}

static pid_t start(struct __test_metadata *_metadata,
		   FIXTURE_DATA(policy) *self)
{
	char cmd[256];
	pid_t pid = daemon_start(self->conf, self->sock, self->log);

	if (pid < 0) {
		/* a sensor that cannot refuse stops a prevent-mode daemon */
		snprintf(cmd, sizeof(cmd),
			 "grep -q 'cannot refuse transfers' %s", self->log);
		if (!system(cmd))
			return 0;
	}
	return pid;
}

FIXTURE_SETUP(policy)
{
	int i;

	if (geteuid())
		SKIP(return, "exfilmond needs root");
	strcpy(self->dir, "/tmp/exfilmon-policy-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	/* readers (nogroup) must reach the socket to be refused by it */
	ASSERT_EQ(0, chmod(self->dir, 0755));
	snprintf(self->conf, sizeof(self->conf), "%s/exfilmon.conf",
		 self->dir);
	snprintf(self->sock, sizeof(self->sock), "%s/exfilmon.sock",
		 self->dir);
	snprintf(self->log, sizeof(self->log), "%s/exfilmond.log", self->dir);
	for (i = 0; i < 3; i++) {
		snprintf(self->path[i], sizeof(self->path[i]), "%s/db%d.csv",
			 self->dir, i);
		ASSERT_EQ(0, write_file(self->path[i], "name,account\n"));
	}
	write_config(_metadata, self, "prevent");
	self->daemon = start(_metadata, self);
	ASSERT_LE(0, self->daemon);
	if (!self->daemon)
		SKIP(return, "the %s sensor cannot refuse transfers yet",
		     sensor_under_test());
	self->target = fork();
	ASSERT_LE(0, self->target);
	if (!self->target) {
		pause();
		_exit(0);
	}
}

FIXTURE_TEARDOWN(policy)
{
	char cmd[128];

	if (self->target > 0) {
		kill(self->target, SIGKILL);
		waitpid(self->target, NULL, 0);
	}
	if (self->daemon > 0)
		daemon_stop(self->daemon);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (self->dir[0] && system(cmd))
		TH_LOG("cleanup failed");
}

static int ctl(struct cmd_result *r, uid_t uid, const char *sock,
	       const char *const args[])
{
	const char *argv[16] = { "exfilctl", "--socket", sock };
	int n = 3;

	while (*args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	return run_prog(r, uid, argv);
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_get_string(v);
}

static int64_t num(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return -1;
	return json_object_get_int64(v);
}

/* One number from SQL, by exfilctl query; -1 when it failed. */
static int64_t sql_int(const char *sock, const char *sql)
{
	const char *args[] = { "query", sql, NULL };
	struct json_object *j = ctl_json(sock, args), *rows;
	int64_t v = -1;

	if (j && json_object_object_get_ex(j, "rows", &rows) &&
	    json_object_array_length(rows) == 1)
		v = json_object_get_int64(json_object_array_get_idx(
			json_object_array_get_idx(rows, 0), 0));
	json_object_put(j);
	return v;
}

/* status's prevent object, one field */
static int64_t prevent_status(const char *sock, const char *key,
			      char *mode, size_t len)
{
	const char *args[] = { "status", NULL };
	struct json_object *j = ctl_json(sock, args), *p;
	int64_t v = -1;

	if (j && json_object_object_get_ex(j, "prevent", &p)) {
		v = num(p, key);
		if (mode)
			snprintf(mode, len, "%s", str(p, "mode"));
	}
	json_object_put(j);
	return v;
}

TEST_F(policy, shows_each_paths_mode_and_where_it_came_from)
{
	const char *args[] = { "policy", NULL };
	const char *human[] = { "policy", NULL };
	struct json_object *j, *w, *nets;
	struct cmd_result *r = malloc(sizeof(*r));
	char src[256], line[512];
	const char *net[] = { "127.0.0.0/8", "::1/128", "10.0.0.0/8",
			      "fd00::/8" };
	size_t i;

	if (_metadata->skip)
		return;
	ASSERT_NE(NULL, r);
	j = ctl_json(self->sock, args);
	ASSERT_NE(NULL, j);
	EXPECT_STREQ("prevent", str(j, "mode"));
	snprintf(src, sizeof(src), "%s:6", self->conf);
	EXPECT_STREQ(src, str(j, "mode_source"));
	EXPECT_EQ(1048576, num(j, "threshold"));
	ASSERT_TRUE(json_object_object_get_ex(j, "watched", &w));
	ASSERT_EQ(3, json_object_array_length(w));
	EXPECT_STREQ(self->path[0], str(json_object_array_get_idx(w, 0),
					"path"));
	EXPECT_STREQ("prevent", str(json_object_array_get_idx(w, 0), "mode"));
	EXPECT_STREQ("global", str(json_object_array_get_idx(w, 0), "source"));
	EXPECT_STREQ("prevent", str(json_object_array_get_idx(w, 1), "mode"));
	snprintf(src, sizeof(src), "%s:7", self->conf);
	EXPECT_STREQ(src, str(json_object_array_get_idx(w, 1), "source"));
	EXPECT_STREQ("detect", str(json_object_array_get_idx(w, 2), "mode"));
	snprintf(src, sizeof(src), "%s:8", self->conf);
	EXPECT_STREQ(src, str(json_object_array_get_idx(w, 2), "source"));
	/* loopback is always internal, and first */
	ASSERT_TRUE(json_object_object_get_ex(j, "internal", &nets));
	ASSERT_EQ(4, json_object_array_length(nets));
	for (i = 0; i < 4; i++)
		EXPECT_STREQ(net[i], json_object_get_string(
			json_object_array_get_idx(nets, i)));
	json_object_put(j);

	/* the same for a person */
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, human));
	EXPECT_EQ(0, r->status);
	snprintf(line, sizeof(line), "mode: prevent (%s:6)\n", self->conf);
	EXPECT_NE(NULL, strstr(r->out, line));
	EXPECT_NE(NULL, strstr(r->out, "threshold: 1.0 MiB of watched data\n"));
	snprintf(line, sizeof(line), "detect   %s:8  %s\n", self->conf,
		 self->path[2]);
	EXPECT_NE(NULL, strstr(r->out, line)) TH_LOG("%s", r->out);
	EXPECT_NE(NULL, strstr(r->out, "internal: 127.0.0.0/8, ::1/128, "
			       "10.0.0.0/8, fd00::/8\n"));
	EXPECT_NE(NULL, strstr(r->out, "overrides: none\n"));
	free(r);
}

TEST_F(policy, reload_switches_the_mode_without_a_restart)
{
	const char *args[] = { "policy", NULL };
	const char *reload[] = { "reload", NULL };
	struct cmd_result *r = malloc(sizeof(*r));
	struct json_object *j, *w;
	char mode[16];

	if (_metadata->skip)
		return;
	ASSERT_NE(NULL, r);
	EXPECT_EQ(2, prevent_status(self->sock, "prevent_paths", mode,
				    sizeof(mode)));
	EXPECT_STREQ("prevent", mode);

	write_config(_metadata, self, "detect");
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, reload));
	EXPECT_EQ(0, r->status) TH_LOG("%s", r->err);
	j = ctl_json(self->sock, args);
	ASSERT_NE(NULL, j);
	EXPECT_STREQ("detect", str(j, "mode"));
	ASSERT_TRUE(json_object_object_get_ex(j, "watched", &w));
	EXPECT_STREQ("detect", str(json_object_array_get_idx(w, 0), "mode"));
	/* the path's own line still wins */
	EXPECT_STREQ("prevent", str(json_object_array_get_idx(w, 1), "mode"));
	EXPECT_STREQ("detect", str(json_object_array_get_idx(w, 2), "mode"));
	json_object_put(j);
	EXPECT_EQ(1, prevent_status(self->sock, "prevent_paths", mode,
				    sizeof(mode)));
	EXPECT_STREQ("detect", mode);
	/* the same daemon did it */
	EXPECT_EQ(0, kill(self->daemon, 0));

	/* a per-path mode for a path nobody watches fails the reload */
	ASSERT_EQ(0, write_file(self->conf, "[policy]\nprevent = /nowhere\n"));
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, reload));
	EXPECT_EQ(1, r->status);
	EXPECT_NE(NULL, strstr(r->err, ":2: prevent = /nowhere: not a [watch] "
			       "path\n")) TH_LOG("%s", r->err);
	EXPECT_EQ(1, prevent_status(self->sock, "prevent_paths", NULL, 0));
	free(r);
}

TEST_F(policy, only_root_may_grant_an_override)
{
	struct cmd_result *r = malloc(sizeof(*r));
	char pid[16];
	const char *args[] = { "allow", "--pid", pid, "--dest",
			       "198.18.0.9:443", "--for", "1h", NULL };
	const char *rm[] = { "allow", "rm", "1", NULL };

	if (_metadata->skip)
		return;
	ASSERT_NE(NULL, r);
	snprintf(pid, sizeof(pid), "%d", self->target);
	ASSERT_EQ(0, ctl(r, NOBODY, self->sock, args));
	EXPECT_EQ(1, r->status);
	EXPECT_STREQ("exfilctl: permission denied: uid 65534 may not grant "
		     "an override (root only)\n", r->err);
	EXPECT_EQ(0, sql_int(self->sock, "SELECT count(*) FROM overrides"));
	ASSERT_EQ(0, ctl(r, NOBODY, self->sock, rm));
	EXPECT_EQ(1, r->status);
	EXPECT_STREQ("exfilctl: permission denied: uid 65534 may not revoke "
		     "an override (root only)\n", r->err);
	free(r);
}

TEST_F(policy, an_override_is_stored_shown_kept_and_revoked)
{
	struct cmd_result *r = malloc(sizeof(*r));
	const char *exe_args[] = { "allow", "--exe", "/bin/sh", "--dest",
				   "[2001:db8::2]:443", "--for", "1h", NULL };
	const char *pol[] = { "policy", NULL };
	const char *rm[] = { "allow", "rm", "1", NULL };
	struct json_object *j, *ovs, *o;
	char real[4096], sql[512];

	if (_metadata->skip)
		return;
	ASSERT_NE(NULL, r);
	ASSERT_NE(NULL, realpath("/bin/sh", real));
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, exe_args));
	ASSERT_EQ(0, r->status) TH_LOG("%s", r->err);
	snprintf(sql, sizeof(sql), "override 1: %s may send to "
		 "[2001:db8::2]:443 until ", real);
	EXPECT_EQ(0, strncmp(r->out, sql, strlen(sql))) TH_LOG("%s", r->out);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM overrides WHERE id = 1"
		 " AND kind = 'exe' AND who = '%s' AND addr = '2001:db8::2'"
		 " AND port = 443 AND granted_uid = 0 AND ended_us = 0"
		 " AND until_us - granted_us = 3600000000", real);
	EXPECT_EQ(1, sql_int(self->sock, sql));
	EXPECT_EQ(1, prevent_status(self->sock, "overrides", NULL, 0));

	/* a restart while it is valid keeps it */
	EXPECT_EQ(0, daemon_stop(self->daemon));
	self->daemon = start(_metadata, self);
	ASSERT_LT(0, self->daemon);
	EXPECT_EQ(1, prevent_status(self->sock, "overrides", NULL, 0));
	j = ctl_json(self->sock, pol);
	ASSERT_NE(NULL, j);
	ASSERT_TRUE(json_object_object_get_ex(j, "overrides", &ovs));
	ASSERT_EQ(1, json_object_array_length(ovs));
	o = json_object_array_get_idx(ovs, 0);
	EXPECT_EQ(1, num(o, "id"));
	EXPECT_STREQ(real, str(o, "who"));
	EXPECT_STREQ("[2001:db8::2]:443", str(o, "dest"));
	EXPECT_EQ(0, num(o, "granted_by_uid"));
	json_object_put(j);

	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, rm));
	EXPECT_EQ(0, r->status) TH_LOG("%s", r->err);
	EXPECT_STREQ("override 1 revoked: transfers to [2001:db8::2]:443 are "
		     "refused again\n", r->out);
	EXPECT_EQ(0, prevent_status(self->sock, "overrides", NULL, 0));
	EXPECT_EQ(1, sql_int(self->sock, "SELECT count(*) FROM overrides"
			     " WHERE id = 1 AND ended = 'revoked by uid 0'"));
	/* once is enough */
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, rm));
	EXPECT_EQ(1, r->status);
	EXPECT_STREQ("exfilctl: override 1 has already ended (revoked by uid "
		     "0)\n", r->err);
	free(r);
}

/* sleep until ms milliseconds after t0 (CLOCK_MONOTONIC) */
static void sleep_until(const struct timespec *t0, long ms)
{
	struct timespec t = {
		.tv_sec = t0->tv_sec + ms / 1000,
		.tv_nsec = t0->tv_nsec + ms % 1000 * 1000000L,
	};

	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) ==
	       EINTR)
		;
}

/*
 * Each check is timed from just before the grant, not from the last one:
 * under qemu each exfilctl takes a good part of a second, and a chain of
 * relative sleeps drifted towards the end of the override.
 */
TEST_F(policy, an_override_expires_on_time)
{
	struct cmd_result *r = malloc(sizeof(*r));
	char pid[16], sql[256];
	const char *args[] = { "allow", "--pid", pid, "--dest",
			       "198.18.0.9", "--for", "6s", NULL };
	struct timespec t0;

	if (_metadata->skip)
		return;
	ASSERT_NE(NULL, r);
	snprintf(pid, sizeof(pid), "%d", self->target);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, args));
	ASSERT_EQ(0, r->status) TH_LOG("%s", r->err);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM overrides WHERE"
		 " kind = 'pid' AND pid = %d AND start_ticks > 0 AND"
		 " ended_us = 0", self->target);
	EXPECT_EQ(1, sql_int(self->sock, sql));
	/* a tick (once a second) later, still in force */
	sleep_until(&t0, 2000);
	EXPECT_EQ(1, prevent_status(self->sock, "overrides", NULL, 0));
	/* its 6 s, the daemon's tick, and slack */
	sleep_until(&t0, 8500);
	EXPECT_EQ(0, prevent_status(self->sock, "overrides", NULL, 0));
	EXPECT_EQ(1, sql_int(self->sock, "SELECT count(*) FROM overrides WHERE"
			     " ended = 'expired' AND ended_us >= until_us"
			     " AND ended_us - until_us < 2000000"));
	free(r);
}

FIXTURE(bad_allow) {
	char dir[64];
	char sock[128];
	pid_t daemon;
};

FIXTURE_VARIANT(bad_allow) {
	const char *pid;	/* NULL: ours */
	const char *dest;	/* NULL: no --dest */
	const char *duration;
	int status;
	const char *error;
};

FIXTURE_VARIANT_ADD(bad_allow, unknown_pid) {
	.pid = "2147483647", .dest = "198.18.0.9", .duration = "1h",
	.status = 1, .error = "exfilctl: no process with pid 2147483647\n",
};

FIXTURE_VARIANT_ADD(bad_allow, bad_address) {
	.dest = "198.18.0.999", .duration = "1h", .status = 2,
	.error = "exfilctl: allow: invalid --dest '198.18.0.999': not an IPv4 "
		 "or IPv6 address (IPv6 with a port: [2001:db8::2]:443)\n",
};

FIXTURE_VARIANT_ADD(bad_allow, port_zero) {
	.dest = "198.18.0.9:0", .duration = "1h", .status = 2,
	.error = "exfilctl: allow: invalid --dest '198.18.0.9:0': port 0 is "
		 "not a port (leave :PORT out to allow every port)\n",
};

FIXTURE_VARIANT_ADD(bad_allow, port_too_large) {
	.dest = "[2001:db8::2]:65536", .duration = "1h", .status = 2,
	.error = "exfilctl: allow: invalid --dest '[2001:db8::2]:65536': port "
		 "out of range (1 to 65535)\n",
};

FIXTURE_VARIANT_ADD(bad_allow, duration_zero) {
	.dest = "198.18.0.9", .duration = "0s", .status = 2,
	.error = "exfilctl: allow: invalid --for '0s': must be greater than "
		 "0\n",
};

FIXTURE_VARIANT_ADD(bad_allow, duration_too_long) {
	.dest = "198.18.0.9", .duration = "31d", .status = 2,
	.error = "exfilctl: allow: invalid --for '31d': must be at most 30d\n",
};

FIXTURE_VARIANT_ADD(bad_allow, missing_dest) {
	.duration = "1h", .status = 2,
	.error = "exfilctl: allow: missing --dest ADDR[:PORT]\n",
};

FIXTURE_SETUP(bad_allow)
{
	char conf[512], path[128], log[128];

	if (geteuid())
		SKIP(return, "exfilmond needs root");
	strcpy(self->dir, "/tmp/exfilmon-allow-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->sock, sizeof(self->sock), "%s/exfilmon.sock",
		 self->dir);
	snprintf(conf, sizeof(conf), "[daemon]\nstate_dir = %s/state\n"
		 "socket = %s\n", self->dir, self->sock);
	snprintf(path, sizeof(path), "%s/exfilmon.conf", self->dir);
	snprintf(log, sizeof(log), "%s/exfilmond.log", self->dir);
	ASSERT_EQ(0, write_file(path, conf));
	self->daemon = daemon_start(path, self->sock, log);
	ASSERT_LT(0, self->daemon);
}

FIXTURE_TEARDOWN(bad_allow)
{
	char cmd[128];

	if (self->daemon > 0)
		daemon_stop(self->daemon);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (self->dir[0] && system(cmd))
		TH_LOG("cleanup failed");
}

TEST_F(bad_allow, is_refused_with_the_value_and_the_reason)
{
	struct cmd_result *r = malloc(sizeof(*r));
	const char *args[12] = { "allow", "--pid" };
	char pid[16];
	int n = 2;

	if (_metadata->skip)
		return;
	ASSERT_NE(NULL, r);
	snprintf(pid, sizeof(pid), "%d", getpid());
	args[n++] = variant->pid ? variant->pid : pid;
	if (variant->dest) {
		args[n++] = "--dest";
		args[n++] = variant->dest;
	}
	args[n++] = "--for";
	args[n++] = variant->duration;
	args[n] = NULL;
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, args));
	EXPECT_EQ(variant->status, r->status);
	/* a usage error goes on with "Try 'exfilctl --help'." */
	EXPECT_EQ(0, strncmp(variant->error, r->err, strlen(variant->error)))
		TH_LOG("%s", r->err);
	EXPECT_EQ(0, sql_int(self->sock, "SELECT count(*) FROM overrides"));
	free(r);
}

TEST_HARNESS_MAIN
