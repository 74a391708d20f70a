// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bad input gets its exact error, from the real binaries: malformed
 * configs, unknown watch paths, peers without the right, and SQL that
 * tries to write. Nothing already recorded is lost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "kselftest_harness.h"
#include "daemon_run.h"
#include "json_strict.h"
#include "ipc.h"

#define NOBODY 65534	/* primary group nogroup (65534) */
#define DAEMON_UID 1	/* Debian's "daemon": in no group of ours */

/* ------------------------------------------------------------------ */
/* exfilmond refuses a bad config with file:line, key, value, reason */

FIXTURE(config) {
	char dir[64];
	char path[128];
};

FIXTURE_VARIANT(config) {
	const char *text;	/* %s: the test folder */
	const char *error;	/* expected stderr after "<path>" */
};

FIXTURE_VARIANT_ADD(config, unknown_key) {
	.text = "[daemon]\nsockt = /x\n",
	.error = ":2: sockt = /x: unknown key in [daemon]\n",
};

FIXTURE_VARIANT_ADD(config, bad_size) {
	.text = "[correlation]\nread_threshold = 12Q\n",
	.error = ":2: read_threshold = 12Q: unknown unit (use K, M, G or T, "
		 "optionally followed by B or iB)\n",
};

FIXTURE_VARIANT_ADD(config, ambiguous_duration) {
	.text = "[correlation]\n\nwindow = 5m\n",
	.error = ":3: window = 5m: ambiguous unit \"m\": use \"min\" for "
		 "minutes or \"ms\" for milliseconds\n",
};

FIXTURE_VARIANT_ADD(config, host_bits_in_network) {
	.text = "[network]\ninternal = 10.0.0.1/8\n",
	.error = ":2: internal = 10.0.0.1/8: 10.0.0.1/8: host bits set\n",
};

FIXTURE_VARIANT_ADD(config, syntax_error) {
	.text = "[watch]\nthis is not ini\n",
	.error = ":2: syntax error: expected \"key = value\", \"[section]\" "
		 "or a comment\n",
};

FIXTURE_VARIANT_ADD(config, watch_path_missing) {
	.text = "[watch]\npath = %s/no-such.db\n",
	.error = ":2: path = %s/no-such.db: No such file or directory\n",
};

/* loop -> loop2 -> loop: made in every test folder */
FIXTURE_VARIANT_ADD(config, watch_path_symlink_loop) {
	.text = "[watch]\npath = %s/loop\n",
	.error = ":2: path = %s/loop: Too many levels of symbolic links\n",
};

/* echoed escaped: an error must not drive the terminal it goes to */
FIXTURE_VARIANT_ADD(config, watch_path_escape_sequence) {
	.text = "[watch]\npath = %s/\x1b[2J\xff.db\n",
	.error = ":2: path = %s/\\x1b[2J\\xff.db: No such file or "
		 "directory\n",
};

FIXTURE_SETUP(config)
{
	char a[128], b[128];

	strcpy(self->dir, "/tmp/exfilmon-badcfg-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(a, sizeof(a), "%s/loop", self->dir);
	snprintf(b, sizeof(b), "%s/loop2", self->dir);
	ASSERT_EQ(0, symlink(b, a));
	ASSERT_EQ(0, symlink(a, b));
	snprintf(self->path, sizeof(self->path), "%s/exfilmon.conf",
		 self->dir);
}

FIXTURE_TEARDOWN(config)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("cleanup failed");
}

TEST_F(config, daemon_exits_with_the_exact_error)
{
	struct cmd_result *r = malloc(sizeof(*r));
	char text[1024], tail[1024], expect[1200], dirs[512];
	/*
	 * A bad watch path is found with the sensor open, and a daemon that
	 * exits on an error keeps its sensor for the next one: pin nothing.
	 */
	const char *argv[] = { "exfilmond", "--config", self->path,
			       "--foreground", "--sensor", sensor_under_test(),
			       "--pin-dir", "none", NULL };
	const char *got;

	ASSERT_NE(NULL, r);
	/* every run gets a private state dir and socket */
	snprintf(dirs, sizeof(dirs),
		 "\n[daemon]\nstate_dir = %s/state\nsocket = %s/sock\n",
		 self->dir, self->dir);
	snprintf(text, sizeof(text), variant->text, self->dir);
	strcat(text, dirs);
	ASSERT_EQ(0, write_file(self->path, text));
	if (strstr(variant->text, "path =") && geteuid())
		SKIP(return, "watch paths are checked by a running sensor");

	ASSERT_EQ(0, run_prog(r, (uid_t)-1, argv));
	EXPECT_EQ(1, r->status);
	snprintf(tail, sizeof(tail), variant->error, self->dir);
	snprintf(expect, sizeof(expect), "%s%s", self->path, tail);
	/* the error is the last line on stderr */
	got = strstr(r->err, self->path);
	ASSERT_NE(NULL, got);
	EXPECT_STREQ(expect, got);
	free(r);
}

TEST(missing_config_file_is_named)
{
	struct cmd_result *r = malloc(sizeof(*r));
	const char *argv[] = { "exfilmond", "--config",
			       "/nonexistent/exfilmon.conf", NULL };

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, run_prog(r, (uid_t)-1, argv));
	EXPECT_EQ(1, r->status);
	EXPECT_STREQ("exfilmond: /nonexistent/exfilmon.conf: No such file or "
		     "directory\n", r->err);
	free(r);
}

/* ------------------------------------------------------------------ */
/* A running daemon and the requests it must refuse */

FIXTURE(running) {
	char dir[64];
	char sock[128];
	char watched[128];
	pid_t daemon;
};

FIXTURE_SETUP(running)
{
	char conf[1024], path[160], log[160];

	if (geteuid())
		SKIP(return, "exfilmond needs root");
	strcpy(self->dir, "/tmp/exfilmon-bad-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	/* others must reach the socket to be refused by it */
	ASSERT_EQ(0, chmod(self->dir, 0755));
	snprintf(self->sock, sizeof(self->sock), "%s/exfilmon.sock",
		 self->dir);
	snprintf(self->watched, sizeof(self->watched), "%s/customers.csv",
		 self->dir);
	ASSERT_EQ(0, write_file(self->watched, "name,account,phone\n"));
	/* readers are group nogroup, so nobody may read but not change */
	snprintf(conf, sizeof(conf),
		 "[watch]\npath = %s\n[daemon]\nstate_dir = %s/state\n"
		 "socket = %s\ngroup = nogroup\n",
		 self->watched, self->dir, self->sock);
	snprintf(path, sizeof(path), "%s/exfilmon.conf", self->dir);
	snprintf(log, sizeof(log), "%s/exfilmond.log", self->dir);
	ASSERT_EQ(0, write_file(path, conf));
	self->daemon = daemon_start(path, self->sock, log);
	ASSERT_LT(0, self->daemon);
}

FIXTURE_TEARDOWN(running)
{
	char cmd[128];

	daemon_stop(self->daemon);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (self->dir[0] && system(cmd))
		TH_LOG("cleanup failed");
}

static int ctl(struct cmd_result *r, uid_t uid, const char *sock,
	       const char *a1, const char *a2, const char *a3)
{
	const char *argv[] = { "exfilctl", "--socket", sock, a1, a2, a3,
			       NULL };

	return run_prog(r, uid, argv);
}

TEST_F(running, watch_add_of_a_missing_path_is_refused)
{
	struct cmd_result *r = malloc(sizeof(*r));
	struct json_object *req, *reply, *v;
	char missing[160];
	int fd;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_NE(NULL, r);
	snprintf(missing, sizeof(missing), "%s/no-such-dir", self->dir);
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "watch", "add", missing));
	EXPECT_EQ(1, r->status);
	EXPECT_NE(NULL, strstr(r->err, "No such file or directory"));
	EXPECT_NE(NULL, strstr(r->err, missing));

	/* the daemon checks too, whoever asks */
	fd = ipc_connect(self->sock);
	ASSERT_LE(0, fd);
	req = json_object_new_object();
	json_object_object_add(req, "v", json_object_new_int(IPC_VERSION));
	json_object_object_add(req, "cmd", json_object_new_string("watch"));
	json_object_object_add(req, "op", json_object_new_string("add"));
	json_object_object_add(req, "path", json_object_new_string(missing));
	ASSERT_EQ(0, ipc_send(fd, req));
	ASSERT_EQ(0, ipc_recv(fd, &reply));
	ASSERT_TRUE(json_object_object_get_ex(reply, "error", &v));
	snprintf(r->out, sizeof(r->out), "%s: No such file or directory",
		 missing);
	EXPECT_STREQ(r->out, json_object_get_string(v));
	json_object_put(req);
	json_object_put(reply);
	close(fd);
	free(r);
}

/* One watch request straight to the daemon; its error, or NULL if ok. */
static char *daemon_watch_error(const char *sock, const char *op,
				const char *path)
{
	struct json_object *req, *reply = NULL, *v;
	char *error = NULL;
	int fd = ipc_connect(sock);

	if (fd < 0)
		return strdup("(cannot connect)");
	req = json_object_new_object();
	json_object_object_add(req, "v", json_object_new_int(IPC_VERSION));
	json_object_object_add(req, "cmd", json_object_new_string("watch"));
	json_object_object_add(req, "op", json_object_new_string(op));
	json_object_object_add(req, "path", json_object_new_string(path));
	if (ipc_send(fd, req) || ipc_recv(fd, &reply))
		error = strdup("(no reply)");
	else if (json_object_object_get_ex(reply, "error", &v))
		error = strdup(json_object_get_string(v));
	json_object_put(req);
	json_object_put(reply);
	close(fd);
	return error;
}

/*
 * Paths the kernel resolves to nothing get the reason, from exfilctl and
 * from the daemon itself (a client need not be exfilctl).
 */
TEST_F(running, unusable_watch_paths_get_clear_errors)
{
	struct cmd_result *r = malloc(sizeof(*r));
	char a[160], b[160], *err, *big;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_NE(NULL, r);
	snprintf(a, sizeof(a), "%s/loop", self->dir);
	snprintf(b, sizeof(b), "%s/loop2", self->dir);
	ASSERT_EQ(0, symlink(b, a));
	ASSERT_EQ(0, symlink(a, b));
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "watch", "add", a));
	EXPECT_EQ(1, r->status);
	EXPECT_NE(NULL, strstr(r->err, "Too many levels of symbolic links"));
	EXPECT_NE(NULL, strstr(r->err, a));
	err = daemon_watch_error(self->sock, "add", a);
	snprintf(b, sizeof(b), "%s: Too many levels of symbolic links", a);
	EXPECT_STREQ(b, err);
	free(err);

	/* longer than PATH_MAX: refused, the echo cut short */
	big = malloc(5001);
	ASSERT_NE(NULL, big);
	memset(big, 'a', 5000);
	big[0] = '/';
	big[5000] = '\0';
	err = daemon_watch_error(self->sock, "add", big);
	ASSERT_NE(NULL, err);
	EXPECT_NE(NULL, strstr(err, "...: longer than 4095 bytes, the "
			       "longest path the kernel resolves (PATH_MAX)"));
	EXPECT_GT(300, strlen(err));
	free(err);
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "watch", "add", big));
	EXPECT_EQ(1, r->status);
	EXPECT_NE(NULL, strstr(r->err, "File name too long"));
	free(big);

	/* a missing path with an escape sequence comes back escaped */
	snprintf(a, sizeof(a), "%s/\x1b]0;owned\x07\xff", self->dir);
	err = daemon_watch_error(self->sock, "add", a);
	snprintf(b, sizeof(b), "%s/\\x1b]0;owned\\x07\\xff: No such file or "
		 "directory", self->dir);
	EXPECT_STREQ(b, err);
	free(err);
	free(r);
}

/*
 * s holds no control byte but the '\n' ending a line: no C0, DEL or C1
 * (raw, or as UTF-8), and not the 0xff of our path (invalid UTF-8).
 */
static int plain_lines(const char *s)
{
	for (; *s; s++) {
		unsigned char c = *s, d = s[1];

		if ((c < 0x20 && c != '\n') || c == 0x7f ||
		    (c >= 0x80 && c <= 0x9f) || c == 0xff ||
		    (c == 0xc2 && d >= 0x80 && d <= 0x9f))
			return 0;
	}
	return 1;
}

/*
 * A newline, an escape sequence and invalid UTF-8 make a legal Linux path
 * that a database may live at: watched, and shown escaped, never raw, in
 * text and as valid JSON.
 */
TEST_F(running, hostile_bytes_in_a_watch_path_never_reach_the_output_raw)
{
	struct cmd_result *r = malloc(sizeof(*r));
	const char *list[] = { "exfilctl", "--socket", self->sock, "watch",
			       "list", "--json", NULL };
	struct json_object *arr;
	char path[256];

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_NE(NULL, r);
	snprintf(path, sizeof(path), "%s/db\nALERT 0\x1b[2J\xff.csv",
		 self->dir);
	ASSERT_EQ(0, write_file(path, "name,account,phone\n"));
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "watch", "add", path));
	EXPECT_EQ(0, r->status);
	EXPECT_TRUE(plain_lines(r->out)) TH_LOG("%s", r->out);
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "watch", "list", NULL));
	EXPECT_EQ(0, r->status);
	EXPECT_TRUE(plain_lines(r->out)) TH_LOG("%s", r->out);
	/*
	 * 0xff: escaped, or U+FFFD where the reply's JSON replaced it, shown
	 * as is to a UTF-8 locale and escaped to any other (a VM guest has
	 * no LANG)
	 */
	EXPECT_TRUE(strstr(r->out, "db\\nALERT 0\\x1b[2J\\xff.csv") ||
		    strstr(r->out, "db\\nALERT 0\\x1b[2J\xef\xbf\xbd.csv") ||
		    strstr(r->out, "db\\nALERT 0\\x1b[2J\\xef\\xbf\\xbd.csv"))
		TH_LOG("%s", r->out);
	ASSERT_EQ(0, run_prog(r, (uid_t)-1, list));
	EXPECT_EQ(0, r->status);
	arr = json_parse_strict(r->out);
	EXPECT_NE(NULL, arr) TH_LOG("not strict JSON: %s", r->out);
	json_object_put(arr);
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "watch", "rm", path));
	EXPECT_EQ(0, r->status);
	EXPECT_TRUE(plain_lines(r->out)) TH_LOG("%s", r->out);
	free(r);
}

/* Watched directories of exactly one level, from `watch list --json`. */
static int one_level_dirs(const char *sock)
{
	const char *args[] = { "watch", "list", NULL };
	struct json_object *arr = ctl_json(sock, args), *o, *v;
	int found = 0;
	size_t i;

	if (!arr)
		return -1;
	for (i = 0; i < json_object_array_length(arr); i++) {
		o = json_object_array_get_idx(arr, i);
		if (!json_object_object_get_ex(o, "inodes", &v) ||
		    json_object_get_int(v) != 1 ||
		    !json_object_object_get_ex(o, "kind", &v))
			continue;
		found += !strcmp(json_object_get_string(v), "dir");
	}
	json_object_put(arr);
	return found;
}

TEST_F(running, watch_add_list_rm_as_root)
{
	struct cmd_result *r = malloc(sizeof(*r));
	char dir[160], link_path[192];

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_NE(NULL, r);
	snprintf(dir, sizeof(dir), "%s/exports", self->dir);
	ASSERT_EQ(0, mkdir(dir, 0755));
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "watch", "add", dir));
	EXPECT_EQ(0, r->status);
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "watch", "list", NULL));
	EXPECT_EQ(0, r->status);
	EXPECT_NE(NULL, strstr(r->out, dir));
	EXPECT_NE(NULL, strstr(r->out, self->watched));
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "watch", "rm", dir));
	EXPECT_EQ(0, r->status);

	/* a symlink to a directory names the directory */
	snprintf(link_path, sizeof(link_path), "%s/exports-link", self->dir);
	ASSERT_EQ(0, symlink(dir, link_path));
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "watch", "add", link_path));
	EXPECT_EQ(0, r->status);
	EXPECT_EQ(1, one_level_dirs(self->sock));
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "watch", "rm", link_path));
	EXPECT_EQ(0, r->status);
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "watch", "list", NULL));
	EXPECT_EQ(NULL, strstr(r->out, dir));
	/* a config path is the config's to remove */
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "watch", "rm",
			 self->watched));
	EXPECT_EQ(1, r->status);
	EXPECT_NE(NULL, strstr(r->err, "watched by the config file"));
	free(r);
}

TEST_F(running, reader_group_member_may_read_but_not_change)
{
	struct cmd_result *r = malloc(sizeof(*r));
	char dir[160];

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, ctl(r, NOBODY, self->sock, "status", NULL, NULL));
	EXPECT_EQ(0, r->status);
	EXPECT_NE(NULL, strstr(r->out, sensor_under_test()));
	snprintf(dir, sizeof(dir), "%s", self->dir);
	ASSERT_EQ(0, ctl(r, NOBODY, self->sock, "watch", "add", dir));
	EXPECT_EQ(1, r->status);
	EXPECT_STREQ("exfilctl: permission denied: uid 65534 may not change "
		     "the watch list (root only)\n", r->err);
	free(r);
}

TEST_F(running, unauthorised_peer_is_refused_with_the_reason)
{
	struct cmd_result *r = malloc(sizeof(*r));
	char expect[512];

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, ctl(r, DAEMON_UID, self->sock, "status", NULL, NULL));
	EXPECT_EQ(1, r->status);
	snprintf(expect, sizeof(expect),
		 "exfilctl: cannot connect to %s: Permission denied (you must "
		 "be root or a member of the exfilmon group)\n", self->sock);
	EXPECT_STREQ(expect, r->err);
	EXPECT_STREQ("", r->out);
	free(r);
}

TEST_F(running, writing_sql_is_refused_and_changes_nothing)
{
	static const char *const writes[] = {
		"DELETE FROM alerts",
		"INSERT INTO watches(path, added) VALUES ('/x', 'now')",
		"DROP TABLE alerts",
		"SELECT 1; DELETE FROM alerts",
		"ATTACH DATABASE '/tmp/x.db' AS x",
		"PRAGMA journal_mode = DELETE",
	};
	struct cmd_result *r = malloc(sizeof(*r));
	size_t i;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_NE(NULL, r);
	for (i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "query", writes[i],
				 NULL));
		EXPECT_EQ(1, r->status);
		EXPECT_NE(NULL, strstr(r->err, "query refused"));
		TH_LOG("%s -> %s", writes[i], r->err);
	}
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "query",
			 "SELECT count(*) AS n FROM alerts", NULL));
	EXPECT_EQ(0, r->status);
	EXPECT_NE(NULL, strstr(r->out, "n"));
	/* the store is intact: still WAL, tables still there */
	ASSERT_EQ(0, ctl(r, (uid_t)-1, self->sock, "query",
			 "SELECT name FROM sqlite_master WHERE name = 'alerts'",
			 NULL));
	EXPECT_EQ(0, r->status);
	EXPECT_NE(NULL, strstr(r->out, "alerts"));
	free(r);
}

TEST_HARNESS_MAIN
