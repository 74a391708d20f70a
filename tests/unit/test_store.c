// SPDX-License-Identifier: GPL-2.0-only
/*
 * The alert store (docs/store.md): schema, file modes, WAL, round trips of
 * alerts with their details, the watch list, and the read-only query gate,
 * which must refuse every way of writing and leave the database unchanged.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>

#include "kselftest_harness.h"
#include "alert_eq.h"
#include "store.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define REFUSED "query refused: only a single read-only SELECT is allowed"

/* An alert whose fields all derive from n, with n files, dests, procs,
 * chain steps. */
static void make_alert(struct alert *a, int n, int64_t updated_us)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->time_us = 1796383658123456 + n;
	a->updated_us = updated_us;
	a->first_ns = 1000 + n;
	a->last_ns = 2000 + n;
	a->severity = SEV_LOW + n % 4;
	a->pid = 100 + n;
	a->ppid = 50 + n;
	a->uid = 1000 + n;
	snprintf(a->user, sizeof(a->user), "user%d", n);
	snprintf(a->comm, sizeof(a->comm), "comm%d", n);
	snprintf(a->exe, sizeof(a->exe), "/usr/bin/exe%d", n);
	snprintf(a->cmdline, sizeof(a->cmdline), "exe%d --arg %d", n, n);
	snprintf(a->host, sizeof(a->host), "203.0.113.%d", n);
	a->bytes_read = 1048576ull * n;
	a->bytes_sent = 524288ull * n;
	strcpy(a->sensor, n % 2 ? "kmod" : "bpf");
	snprintf(a->reason, sizeof(a->reason), "reason %d", n);

	a->nr_files = n;
	a->files = calloc(n, sizeof(*a->files));
	a->nr_dests = n;
	a->dests = calloc(n, sizeof(*a->dests));
	a->nr_ancestry = n;
	a->ancestry = calloc(n, sizeof(*a->ancestry));
	a->taint = 2097152ull * n;
	a->senders = n + 1;
	a->nr_chain = n;
	a->chain = calloc(n, sizeof(*a->chain));
	for (i = 0; i < n; i++) {
		a->chain[i].pid = 200 + i;
		a->chain[i].via = i ? VIA_PIPE + i % 5 : VIA_READ;
		a->chain[i].bytes = 65536ull * (n - i);
		snprintf(a->chain[i].comm, sizeof(a->chain[i].comm), "c%d", i);
		snprintf(a->chain[i].exe, sizeof(a->chain[i].exe), "/bin/c%d",
			 i);
		if (!i || a->chain[i].via == VIA_SHM)
			snprintf(a->chain[i].object,
				 sizeof(a->chain[i].object), "/srv/db/%d", n);
	}
	for (i = 0; i < n; i++) {
		snprintf(a->files[i].path, sizeof(a->files[i].path),
			 "/srv/db/%d/file%d", n, i);
		a->files[i].bytes_read = 4096ull * (i + 1);
		snprintf(a->dests[i].addr, sizeof(a->dests[i].addr),
			 "2001:db8::%d:%d", n, i);
		a->dests[i].port = 443 + i;
		a->dests[i].proto = i % 2 ? EXFILMON_PROTO_UDP :
					    EXFILMON_PROTO_TCP;
		a->dests[i].bytes_sent = 8192ull * (i + 1);
		a->ancestry[i].pid = 100 + n - i;
		a->ancestry[i].ppid = 99 + n - i;
		a->ancestry[i].uid = i;
		snprintf(a->ancestry[i].comm, sizeof(a->ancestry[i].comm),
			 "p%d", i);
		snprintf(a->ancestry[i].exe, sizeof(a->ancestry[i].exe),
			 "/bin/p%d", i);
	}
}

static void rm_tree(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* The sorted names in dir, space-separated: spots any file a query made. */
static char *dir_listing(const char *dir)
{
	struct dirent **names;
	char *out = NULL, *next;
	int n, i;

	n = scandir(dir, &names, NULL, alphasort);
	for (i = 0; i < n; i++) {
		if (asprintf(&next, "%s %s", out ? out : "",
			     names[i]->d_name) >= 0) {
			free(out);
			out = next;
		}
		free(names[i]);
	}
	free(names);
	return out;
}

static int dump_row(void *arg, int ncol, char **vals, char **cols)
{
	char **out = arg, *next;
	int i;

	for (i = 0; i < ncol; i++) {
		if (asprintf(&next, "%s%s=%s|", *out, cols[i],
			     vals[i] ? vals[i] : "NULL") < 0)
			return 1;
		free(*out);
		*out = next;
	}
	return 0;
}

/* The rows of each of the statements, from the test's own connection. */
static char *db_dump(const char *path, const char *const *sql, size_t nr)
{
	char *out = strdup("");
	sqlite3 *db;
	size_t i;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL)) {
		sqlite3_close(db);
		free(out);
		return NULL;
	}
	for (i = 0; out && i < nr; i++) {
		if (sqlite3_exec(db, sql[i], dump_row, &out, NULL)) {
			free(out);
			out = NULL;
		}
	}
	sqlite3_close(db);
	return out;
}

/*
 * Every row of every table, the schema and the settings a write could
 * change, read through a connection of the test's own: the ground truth
 * that refused queries changed nothing.
 */
static char *db_snapshot(const char *path)
{
	static const char *const sql[] = {
		"SELECT type, name, sql FROM sqlite_master ORDER BY name",
		"SELECT * FROM meta ORDER BY key",
		"SELECT * FROM alerts ORDER BY id",
		"SELECT * FROM alert_files ORDER BY rowid",
		"SELECT * FROM alert_destinations ORDER BY rowid",
		"SELECT * FROM alert_ancestry ORDER BY rowid",
		"SELECT * FROM alert_chain ORDER BY rowid",
		"SELECT * FROM watches ORDER BY rowid",
		"SELECT * FROM derived ORDER BY rowid",
		"PRAGMA journal_mode",
		"PRAGMA user_version",
		"PRAGMA page_count",
	};

	return db_dump(path, sql, sizeof(sql) / sizeof(sql[0]));
}

/* One integer from the test's own connection. */
static int query_int_for_test(const char *path, const char *sql,
			      int64_t *out)
{
	sqlite3_stmt *stmt;
	sqlite3 *db;
	int rc;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL)) {
		sqlite3_close(db);
		return -EIO;
	}
	rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
	if (rc == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
		*out = sqlite3_column_int64(stmt, 0);
	else
		rc = SQLITE_ERROR;
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -EIO;
}

/* The JSON text of a query's result, or "ERR <ret> <err>". */
static char *query(struct store *st, const char *sql, size_t max_rows)
{
	struct json_object *res = (void *)1;
	char err[512], *out;
	int ret;

	ret = store_query(st, sql, max_rows, &res, err, sizeof(err));
	if (ret) {
		if (res || asprintf(&out, "ERR %d %s", ret, err) < 0)
			return strdup("ERR result set on failure");
		return out;
	}
	out = strdup(json_object_to_json_string_ext(res, JSON_FLAGS));
	json_object_put(res);
	return out;
}

#define EXPECT_QUERY(st, sql, max_rows, expected) do { \
		char *_got = query((st), (sql), (max_rows)); \
		EXPECT_STREQ((expected), _got); \
		free(_got); \
	} while (0)

FIXTURE(alerts_db) {
	char dir[64];
	char db[128];
	struct store *st;
};

FIXTURE_SETUP(alerts_db)
{
	char err[256] = "";

	strcpy(self->dir, "/tmp/test_store.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->db, sizeof(self->db), "%s/alerts.db", self->dir);
	umask(022);
	ASSERT_EQ(0, store_open(&self->st, self->dir, err, sizeof(err)))
		TH_LOG("%s", err);
}

FIXTURE_TEARDOWN(alerts_db)
{
	store_close(self->st);
	rm_tree(self->dir);
}

TEST_F(alerts_db, schema_is_created)
{
	/* Column lists, in order, from the test's own connection. */
	static const char *const expected =
		"name=acks|cols=alert_id,time_us,uid|"
		"name=alert_ancestry|cols=alert_id,depth,pid,ppid,uid,comm,exe|"
		"name=alert_chain|cols=alert_id,step,pid,comm,exe,via,object,"
		"bytes|"
		"name=alert_destinations|cols=alert_id,addr,port,proto,"
		"bytes_sent|"
		"name=alert_files|cols=alert_id,path,bytes_read|"
		"name=alerts|cols=id,time,time_us,updated,updated_us,severity,"
		"pid,ppid,uid,user,comm,exe,cmdline,host,bytes_read,bytes_sent,"
		"sensor,reason,first_ns,last_ns,taint,senders,action,refused|"
		"name=derived|cols=dev,ino,gen,watch_id,chan,taint,writer_pid,"
		"writer_start_ns,path,chain,first_seen,last_seen|"
		"name=meta|cols=key,value|"
		"name=overrides|cols=id,kind,pid,start_ticks,dev,ino,who,addr,"
		"port,granted,granted_us,granted_uid,until,until_us,boot_id,"
		"ended_us,ended|"
		"name=sqlite_sequence|cols=name,seq|"
		"name=watches|cols=path,added|";
	char *out = strdup("");
	sqlite3 *db;

	ASSERT_EQ(SQLITE_OK,
		  sqlite3_open_v2(self->db, &db, SQLITE_OPEN_READONLY, NULL));
	ASSERT_EQ(SQLITE_OK,
		  sqlite3_exec(db,
			       "SELECT m.name AS name, group_concat(c.name) AS"
			       " cols FROM sqlite_master m,"
			       " pragma_table_info(m.name) c WHERE"
			       " m.type = 'table' GROUP BY m.name"
			       " ORDER BY m.name",
			       dump_row, &out, NULL));
	EXPECT_STREQ(expected, out);
	free(out);
	out = strdup("");
	ASSERT_EQ(SQLITE_OK,
		  sqlite3_exec(db,
			       "SELECT name, tbl_name FROM sqlite_master"
			       " WHERE type = 'index' AND sql IS NOT NULL"
			       " ORDER BY name",
			       dump_row, &out, NULL));
	EXPECT_STREQ("name=alert_ancestry_alert_id|tbl_name=alert_ancestry|"
		     "name=alert_chain_alert_id|tbl_name=alert_chain|"
		     "name=alert_destinations_alert_id|"
		     "tbl_name=alert_destinations|"
		     "name=alert_files_alert_id|tbl_name=alert_files|"
		     "name=alerts_updated_us|tbl_name=alerts|"
		     "name=derived_last_seen|tbl_name=derived|",
		     out);
	free(out);
	out = strdup("");
	ASSERT_EQ(SQLITE_OK, sqlite3_exec(db, "SELECT key, value FROM meta",
					  dump_row, &out, NULL));
	EXPECT_STREQ("key=schema_version|value=4|", out);
	free(out);
	out = strdup("");
	/* WAL is a property of the file, visible to any connection. */
	ASSERT_EQ(SQLITE_OK, sqlite3_exec(db, "PRAGMA journal_mode", dump_row,
					  &out, NULL));
	EXPECT_STREQ("journal_mode=wal|", out);
	free(out);
	sqlite3_close(db);
}

TEST(modes_are_0640_whatever_the_umask)
{
	char dir[] = "/tmp/test_store.XXXXXX", path[128], err[256] = "";
	struct store *st;
	struct alert a;
	struct stat sb;

	ASSERT_NE(NULL, mkdtemp(dir));
	umask(0077);
	ASSERT_EQ(0, store_open(&st, dir, err, sizeof(err))) TH_LOG("%s", err);
	make_alert(&a, 1, 1);
	ASSERT_EQ(0, store_put_alert(st, &a));
	snprintf(path, sizeof(path), "%s/alerts.db", dir);
	ASSERT_EQ(0, stat(path, &sb));
	EXPECT_EQ(0640, sb.st_mode & 07777);
	snprintf(path, sizeof(path), "%s/alerts.db-wal", dir);
	ASSERT_EQ(0, stat(path, &sb));
	EXPECT_EQ(0640, sb.st_mode & 07777);
	snprintf(path, sizeof(path), "%s/alerts.db-shm", dir);
	ASSERT_EQ(0, stat(path, &sb));
	EXPECT_EQ(0640, sb.st_mode & 07777);
	store_close(st);
	alert_free(&a);
	rm_tree(dir);
}

TEST(existing_world_readable_db_is_narrowed)
{
	char dir[] = "/tmp/test_store.XXXXXX", path[128], err[256] = "";
	struct store *st;
	struct stat sb;

	ASSERT_NE(NULL, mkdtemp(dir));
	umask(0);
	ASSERT_EQ(0, store_open(&st, dir, err, sizeof(err))) TH_LOG("%s", err);
	store_close(st);
	snprintf(path, sizeof(path), "%s/alerts.db", dir);
	ASSERT_EQ(0, chmod(path, 0666));
	ASSERT_EQ(0, store_open(&st, dir, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, stat(path, &sb));
	EXPECT_EQ(0640, sb.st_mode & 07777);
	store_close(st);
	/* A stricter mode chosen by the admin is kept. */
	ASSERT_EQ(0, chmod(path, 0600));
	ASSERT_EQ(0, store_open(&st, dir, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, stat(path, &sb));
	EXPECT_EQ(0600, sb.st_mode & 07777);
	store_close(st);
	rm_tree(dir);
}

TEST(open_errors_name_the_file_and_reason)
{
	char dir[] = "/tmp/test_store.XXXXXX", path[128], err[256] = "";
	char expected[256];
	struct store *st = NULL;
	sqlite3 *db;
	int fd;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/nonexistent", dir);
	EXPECT_EQ(-ENOENT, store_open(&st, path, err, sizeof(err)));
	snprintf(expected, sizeof(expected),
		 "failed to create %s/alerts.db: No such file or directory",
		 path);
	EXPECT_STREQ(expected, err);

	/* Not a database. */
	snprintf(path, sizeof(path), "%s/alerts.db", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0640);
	ASSERT_LE(0, fd);
	memset(expected, 'x', sizeof(expected));
	for (int i = 0; i < 16; i++)
		ASSERT_EQ(256, write(fd, expected, 256));
	close(fd);
	EXPECT_EQ(-EUCLEAN, store_open(&st, dir, err, sizeof(err)));
	snprintf(expected, sizeof(expected),
		 "%s: failed to prepare \"PRAGMA journal_mode=WAL\": file is "
		 "not a database",
		 path);
	EXPECT_STREQ(expected, err);
	EXPECT_EQ(NULL, st);
	unlink(path);

	/* A newer schema than this code knows. */
	ASSERT_EQ(0, store_open(&st, dir, err, sizeof(err))) TH_LOG("%s", err);
	store_close(st);
	st = NULL;
	ASSERT_EQ(SQLITE_OK, sqlite3_open(path, &db));
	ASSERT_EQ(SQLITE_OK,
		  sqlite3_exec(db,
			       "UPDATE meta SET value = 5"
			       " WHERE key = 'schema_version'",
			       NULL, NULL, NULL));
	sqlite3_close(db);
	EXPECT_EQ(-ENOTSUP, store_open(&st, dir, err, sizeof(err)));
	snprintf(expected, sizeof(expected),
		 "%s: schema_version 5 is not one this exfilmond "
		 "understands (1 to 4)",
		 path);
	EXPECT_STREQ(expected, err);
	EXPECT_EQ(NULL, st);
	rm_tree(dir);
}

TEST_F(alerts_db, put_get_round_trip)
{
	struct alert a, b, got;

	make_alert(&a, 3, 5000);
	ASSERT_EQ(0, store_put_alert(self->st, &a));
	EXPECT_EQ(1, a.id);
	make_alert(&b, 2, 6000);
	ASSERT_EQ(0, store_put_alert(self->st, &b));
	EXPECT_EQ(2, b.id);

	ASSERT_EQ(0, store_get_alert(self->st, 1, &got));
	assert_alert_eq(_metadata, &a, &got);
	alert_free(&got);
	ASSERT_EQ(0, store_get_alert(self->st, 2, &got));
	assert_alert_eq(_metadata, &b, &got);
	alert_free(&got);

	memset(&got, 0x5a, sizeof(got));
	EXPECT_EQ(-ENOENT, store_get_alert(self->st, 42, &got));
	EXPECT_STREQ("no alert 42", store_errmsg(self->st));
	EXPECT_EQ(NULL, got.files);
	alert_free(&a);
	alert_free(&b);
}

/*
 * An acknowledgement is kept apart from the alert's row, which every
 * update rewrites: it must outlive the updates, and the first one stands.
 */
TEST_F(alerts_db, an_acknowledgement_outlives_updates_and_the_first_stands)
{
	struct alert a, got;
	int64_t acked;

	make_alert(&a, 2, 5000);
	ASSERT_EQ(0, store_put_alert(self->st, &a));
	EXPECT_EQ(-ENOENT, store_ack(self->st, a.id + 1, 1000, 7000, &acked));
	ASSERT_EQ(0, store_ack(self->st, a.id, 1000, 7000, &acked));
	EXPECT_EQ(7000, acked);
	ASSERT_EQ(0, store_ack(self->st, a.id, 0, 9000, &acked));
	EXPECT_EQ(7000, acked);

	a.bytes_sent += 4096;
	a.updated_us = 8000;
	ASSERT_EQ(0, store_put_alert(self->st, &a));
	ASSERT_EQ(0, store_get_alert(self->st, a.id, &got));
	EXPECT_EQ(a.bytes_sent, got.bytes_sent);
	EXPECT_EQ(7000, got.acked_us);
	EXPECT_EQ(1000, got.acked_uid);
	alert_free(&got);
	alert_free(&a);
}

TEST_F(alerts_db, action_and_refusals_round_trip)
{
	struct alert a, got;

	make_alert(&a, 2, 5000);
	a.action = ALERT_BLOCKED;
	a.refused = 3;
	ASSERT_EQ(0, store_put_alert(self->st, &a));
	ASSERT_EQ(0, store_get_alert(self->st, a.id, &got));
	EXPECT_EQ(ALERT_BLOCKED, got.action);
	EXPECT_EQ(3, got.refused);
	alert_free(&got);
	EXPECT_QUERY(self->st, "SELECT action, refused FROM alerts", 10,
		     "{\"columns\":[\"action\",\"refused\"],\"rows\":"
		     "[[\"blocked\",3]],\"truncated\":false}");
	/* an action the store cannot name back is refused, not stored */
	a.action = 7;
	a.updated_us = 6000;
	EXPECT_EQ(-EINVAL, store_put_alert(self->st, &a));
	EXPECT_STREQ("alert 1: invalid action 7", store_errmsg(self->st));
	alert_free(&a);
}

TEST_F(alerts_db, overrides_are_kept_after_they_end)
{
	struct store_override o = { 0 }, *list, got;
	size_t nr;

	o.key.kind = EXFILMON_ALLOW_PID;
	o.key.id[0] = 4242;
	o.key.id[1] = 123456;
	o.key.dest.family = EXFILMON_AF_INET6;
	o.key.dest.addr[0] = 0x20;
	o.key.dest.addr[1] = 0x01;
	o.key.dest.addr[2] = 0x0d;
	o.key.dest.addr[3] = 0xb8;
	o.key.dest.addr[15] = 2;
	o.key.dest.port = 443;
	strcpy(o.who, "pid 4242 (curl)");
	o.granted_us = 1796383658123456;
	o.granted_uid = 0;
	o.until_us = o.granted_us + 3600000000;
	strcpy(o.boot_id, "0e1f");
	ASSERT_EQ(0, store_override_add(self->st, &o));
	EXPECT_EQ(1, o.id);
	o.key.kind = EXFILMON_ALLOW_EXE;
	o.key.id[0] = 0x800001;
	o.key.id[1] = 77;
	memset(&o.key.dest, 0, sizeof(o.key.dest));
	o.key.dest.family = EXFILMON_AF_INET;
	o.key.dest.addr[0] = 198;
	o.key.dest.addr[1] = 18;
	o.key.dest.addr[3] = 9;
	strcpy(o.who, "/usr/bin/curl");
	ASSERT_EQ(0, store_override_add(self->st, &o));
	EXPECT_EQ(2, o.id);
	EXPECT_QUERY(self->st, "SELECT id, kind, pid, start_ticks, dev, ino,"
		     " who, addr, port, until FROM overrides ORDER BY id", 10,
		     "{\"columns\":[\"id\",\"kind\",\"pid\","
		     "\"start_ticks\",\"dev\",\"ino\",\"who\",\"addr\","
		     "\"port\",\"until\"],\"rows\":[[1,\"pid\",4242,123456,"
		     "0,0,\"pid 4242 (curl)\",\"2001:db8::2\",443,"
		     "\"2026-12-04T12:27:38.123456Z\"],[2,\"exe\",0,0,8388609,"
		     "77,\"/usr/bin/curl\",\"198.18.0.9\",0,"
		     "\"2026-12-04T12:27:38.123456Z\"]],\"truncated\":false}");

	ASSERT_EQ(0, store_override_end(self->st, 1, o.granted_us + 5,
					"revoked by uid 0"));
	EXPECT_EQ(-ENOENT, store_override_end(self->st, 1, 9, "expired"));
	EXPECT_EQ(-ENOENT, store_override_end(self->st, 3, 9, "expired"));
	ASSERT_EQ(0, store_override_list(self->st, 0, &list, &nr));
	ASSERT_EQ(1, nr);
	EXPECT_EQ(2, list[0].id);
	EXPECT_EQ(EXFILMON_ALLOW_EXE, list[0].key.kind);
	EXPECT_EQ(0x800001, list[0].key.id[0]);
	EXPECT_EQ(77, list[0].key.id[1]);
	EXPECT_EQ(0, memcmp(&o.key, &list[0].key, sizeof(o.key)));
	free(list);
	ASSERT_EQ(0, store_override_get(self->st, 1, &got));
	EXPECT_EQ(EXFILMON_ALLOW_PID, got.key.kind);
	EXPECT_EQ(4242, got.key.id[0]);
	EXPECT_EQ(123456, got.key.id[1]);
	EXPECT_EQ(443, got.key.dest.port);
	EXPECT_EQ(EXFILMON_AF_INET6, got.key.dest.family);
	EXPECT_EQ(o.granted_us + 5, got.ended_us);
	EXPECT_STREQ("revoked by uid 0", got.ended);
	EXPECT_STREQ("0e1f", got.boot_id);
	EXPECT_EQ(-ENOENT, store_override_get(self->st, 9, &got));
	ASSERT_EQ(0, store_override_list(self->st, 1, &list, &nr));
	EXPECT_EQ(2, nr);
	free(list);
}

TEST_F(alerts_db, stored_columns_are_exact)
{
	struct alert a;

	make_alert(&a, 1, 1796383700000001);
	a.bytes_read = UINT64_MAX;	/* kept as its int64 bit pattern */
	ASSERT_EQ(0, store_put_alert(self->st, &a));
	EXPECT_QUERY(self->st,
		     "SELECT id, time, time_us, updated, updated_us, severity,"
		     " user, comm, host, bytes_read, sensor FROM alerts",
		     10,
		     "{\"columns\":[\"id\",\"time\",\"time_us\",\"updated\","
		     "\"updated_us\",\"severity\",\"user\",\"comm\",\"host\","
		     "\"bytes_read\",\"sensor\"],\"rows\":[[1,"
		     "\"2026-12-04T11:27:38.123457Z\",1796383658123457,"
		     "\"2026-12-04T11:28:20.000001Z\",1796383700000001,"
		     "\"medium\",\"user1\",\"comm1\",\"203.0.113.1\",-1,"
		     "\"kmod\"]],\"truncated\":false}");
	EXPECT_QUERY(self->st,
		     "SELECT alert_id, addr, port, proto, bytes_sent"
		     " FROM alert_destinations",
		     10,
		     "{\"columns\":[\"alert_id\",\"addr\",\"port\",\"proto\","
		     "\"bytes_sent\"],\"rows\":[[1,\"2001:db8::1:0\",443,"
		     "\"tcp\",8192]],\"truncated\":false}");
	EXPECT_QUERY(self->st,
		     "SELECT alert_id, depth, pid, ppid, uid, comm, exe"
		     " FROM alert_ancestry",
		     10,
		     "{\"columns\":[\"alert_id\",\"depth\",\"pid\",\"ppid\","
		     "\"uid\",\"comm\",\"exe\"],\"rows\":[[1,0,101,100,0,"
		     "\"p0\",\"/bin/p0\"]],\"truncated\":false}");
	EXPECT_QUERY(self->st,
		     "SELECT a.taint, a.senders, c.alert_id, c.step, c.pid,"
		     " c.comm, c.exe, c.via, c.object, c.bytes FROM alerts a"
		     " JOIN alert_chain c ON c.alert_id = a.id",
		     10,
		     "{\"columns\":[\"taint\",\"senders\",\"alert_id\","
		     "\"step\",\"pid\",\"comm\",\"exe\",\"via\",\"object\","
		     "\"bytes\"],\"rows\":[[2097152,2,1,0,200,\"c0\","
		     "\"/bin/c0\",\"read\",\"/srv/db/1\",65536]],"
		     "\"truncated\":false}");
	alert_free(&a);
}

TEST_F(alerts_db, update_rewrites_details)
{
	struct alert a, got;
	int64_t count = -1;

	make_alert(&a, 3, 5000);
	ASSERT_EQ(0, store_put_alert(self->st, &a));
	ASSERT_EQ(1, a.id);
	/* The correlator updates the alert: fewer files, more sent. */
	a.nr_files = 1;
	a.nr_chain = 2;
	a.bytes_sent *= 2;
	a.updated_us = 9000;
	a.severity = SEV_CRITICAL;
	strcpy(a.reason, "updated");
	ASSERT_EQ(0, store_put_alert(self->st, &a));
	EXPECT_EQ(1, a.id);
	ASSERT_EQ(0, store_count_alerts(self->st, &count));
	EXPECT_EQ(1, count);
	ASSERT_EQ(0, store_get_alert(self->st, 1, &got));
	assert_alert_eq(_metadata, &a, &got);
	alert_free(&got);
	/* No stale detail rows are left behind. */
	EXPECT_QUERY(self->st,
		     "SELECT (SELECT count(*) FROM alert_files),"
		     " (SELECT count(*) FROM alert_destinations),"
		     " (SELECT count(*) FROM alert_ancestry)",
		     10,
		     "{\"columns\":[\"(SELECT count(*) FROM alert_files)\","
		     "\"(SELECT count(*) FROM alert_destinations)\","
		     "\"(SELECT count(*) FROM alert_ancestry)\"],"
		     "\"rows\":[[1,3,3]],\"truncated\":false}");
	EXPECT_QUERY(self->st, "SELECT count(*) AS n FROM alert_chain", 10,
		     "{\"columns\":[\"n\"],\"rows\":[[2]],"
		     "\"truncated\":false}");
	a.nr_files = 3;
	alert_free(&a);
}

TEST_F(alerts_db, list_newest_first_and_since)
{
	struct alert in[4], *list;
	int64_t count = -1;
	size_t nr, i;

	ASSERT_EQ(0, store_list_alerts(self->st, 0, &list, &nr));
	EXPECT_EQ(0, nr);
	store_free_alerts(list, nr);

	/* updated_us 3000, 1000, 3000, 2000: ties go to the higher id. */
	make_alert(&in[0], 1, 3000);
	make_alert(&in[1], 2, 1000);
	make_alert(&in[2], 3, 3000);
	make_alert(&in[3], 0, 2000);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, store_put_alert(self->st, &in[i]));
	ASSERT_EQ(0, store_count_alerts(self->st, &count));
	EXPECT_EQ(4, count);

	ASSERT_EQ(0, store_list_alerts(self->st, 0, &list, &nr));
	ASSERT_EQ(4, nr);
	assert_alert_eq(_metadata, &in[2], &list[0]);
	assert_alert_eq(_metadata, &in[0], &list[1]);
	assert_alert_eq(_metadata, &in[3], &list[2]);
	assert_alert_eq(_metadata, &in[1], &list[3]);
	store_free_alerts(list, nr);

	ASSERT_EQ(0, store_list_alerts(self->st, 2000, &list, &nr));
	ASSERT_EQ(3, nr);
	EXPECT_EQ(3, list[0].id);
	EXPECT_EQ(1, list[1].id);
	EXPECT_EQ(4, list[2].id);
	store_free_alerts(list, nr);

	ASSERT_EQ(0, store_list_alerts(self->st, 3001, &list, &nr));
	EXPECT_EQ(0, nr);
	store_free_alerts(list, nr);
	store_free_alerts(NULL, 0);
	for (i = 0; i < 4; i++)
		alert_free(&in[i]);
}

TEST_F(alerts_db, raw_bytes_are_kept)
{
	struct alert a, got;

	make_alert(&a, 1, 1);
	strcpy(a.comm, "x\n\x1b\xff\xfe");
	strcpy(a.files[0].path, "/srv/\xc0\xaf/db");
	ASSERT_EQ(0, store_put_alert(self->st, &a));
	ASSERT_EQ(0, store_get_alert(self->st, a.id, &got));
	EXPECT_STREQ("x\n\x1b\xff\xfe", got.comm);
	EXPECT_STREQ("/srv/\xc0\xaf/db", got.files[0].path);
	alert_free(&got);
	/* Queries return valid UTF-8; hex() shows the exact bytes. */
	EXPECT_QUERY(self->st, "SELECT comm, hex(comm) FROM alerts", 10,
		     "{\"columns\":[\"comm\",\"hex(comm)\"],\"rows\":[["
		     "\"x\\n\\u001b\xef\xbf\xbd\xef\xbf\xbd\","
		     "\"780A1BFFFE\"]],\"truncated\":false}");
	alert_free(&a);
}

TEST_F(alerts_db, invalid_alerts_are_refused)
{
	struct alert a;
	int64_t count = -1;

	make_alert(&a, 2, 1);
	a.severity = 9;
	EXPECT_EQ(-EINVAL, store_put_alert(self->st, &a));
	EXPECT_STREQ("alert 0: invalid severity 9", store_errmsg(self->st));
	a.severity = SEV_HIGH;
	a.dests[1].proto = 1;
	EXPECT_EQ(-EINVAL, store_put_alert(self->st, &a));
	EXPECT_STREQ("alert 0: destination 1 has invalid protocol 1",
		     store_errmsg(self->st));
	a.dests[1].proto = EXFILMON_PROTO_TCP;
	a.chain[1].via = VIA_NR;
	EXPECT_EQ(-EINVAL, store_put_alert(self->st, &a));
	EXPECT_STREQ("alert 0: chain step 1 has invalid channel 10",
		     store_errmsg(self->st));
	EXPECT_EQ(0, a.id);
	ASSERT_EQ(0, store_count_alerts(self->st, &count));
	EXPECT_EQ(0, count);
	alert_free(&a);
}

TEST_F(alerts_db, watch_list)
{
	char err[256], **paths;
	size_t nr;

	ASSERT_EQ(0, store_watch_list(self->st, &paths, &nr));
	EXPECT_EQ(0, nr);
	store_free_watches(paths, nr);

	ASSERT_EQ(0, store_watch_add(self->st, "/srv/db/customers.db"));
	ASSERT_EQ(0, store_watch_add(self->st, "/srv/exports"));
	EXPECT_EQ(-EEXIST, store_watch_add(self->st, "/srv/exports"));
	EXPECT_STREQ("watch add /srv/exports: already watched",
		     store_errmsg(self->st));
	EXPECT_EQ(-EINVAL, store_watch_add(self->st, ""));
	ASSERT_EQ(0, store_watch_add(self->st, "/srv/hr"));
	ASSERT_EQ(0, store_watch_rm(self->st, "/srv/exports"));
	EXPECT_EQ(-ENOENT, store_watch_rm(self->st, "/srv/exports"));
	EXPECT_STREQ("watch rm /srv/exports: not in the run-time watch list",
		     store_errmsg(self->st));

	/* It survives a restart of the daemon. */
	store_close(self->st);
	self->st = NULL;
	ASSERT_EQ(0, store_open(&self->st, self->dir, err, sizeof(err)));
	ASSERT_EQ(0, store_watch_list(self->st, &paths, &nr));
	ASSERT_EQ(2, nr);
	EXPECT_STREQ("/srv/db/customers.db", paths[0]);
	EXPECT_STREQ("/srv/hr", paths[1]);
	store_free_watches(paths, nr);
	store_free_watches(NULL, 0);
	/* "added" is RFC 3339 UTC. */
	{
		char *got = query(self->st,
				  "SELECT length(added), substr(added, 11, 1),"
				  " substr(added, -1) FROM watches LIMIT 1",
				  1);

		EXPECT_STREQ("{\"columns\":[\"length(added)\","
			     "\"substr(added, 11, 1)\",\"substr(added, -1)\"],"
			     "\"rows\":[[27,\"T\",\"Z\"]],\"truncated\":false}",
			     got);
		free(got);
	}
}

/*
 * A database as exfilmond 0.1 (schema version 1) left it: its schema
 * spelled out here, as that version created it, with one alert.
 */
/*
 * A full disk under state_dir: an 8 MiB tmpfs (room for the WAL to grow to
 * its 4 MiB checkpoint size once the ballast is gone) in a mount namespace
 * of the test's own, filled by a ballast file until write(2) says ENOSPC.
 * The store's writes then fail as on a real full disk (SQLite's WAL append
 * gets ENOSPC), and removing the ballast frees the room again.
 */
FIXTURE(full_disk) {
	char dir[64];
	char ballast[128];
	struct store *st;
};

static int fill(const char *path)
{
	static char block[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	ssize_t n;

	if (fd < 0)
		return -errno;
	/* byte by byte at the end, so that not even a page is left */
	while (write(fd, block, sizeof(block)) > 0)
		;
	while ((n = write(fd, block, 1)) > 0)
		;
	n = errno;
	close(fd);
	return n == ENOSPC ? 0 : -n;
}

FIXTURE_SETUP(full_disk)
{
	char err[256] = "";

	if (geteuid())
		SKIP(return, "mounting a tmpfs needs root");
	ASSERT_EQ(0, unshare(CLONE_NEWNS));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	strcpy(self->dir, "/tmp/test_store.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_EQ(0, mount("tmpfs", self->dir, "tmpfs", 0, "size=8m"));
	snprintf(self->ballast, sizeof(self->ballast), "%s/ballast",
		 self->dir);
	ASSERT_EQ(0, store_open(&self->st, self->dir, err, sizeof(err)))
		TH_LOG("%s", err);
}

FIXTURE_TEARDOWN(full_disk)
{
	if (!self->dir[0])
		return;
	store_close(self->st);
	umount2(self->dir, MNT_DETACH);
	rmdir(self->dir);
}

static int64_t stored_sent(struct store *st, int64_t id)
{
	struct alert got;
	int64_t sent;

	if (store_get_alert(st, id, &got))
		return -1;
	sent = got.bytes_sent;
	alert_free(&got);
	return sent;
}

TEST_F(full_disk, alerts_wait_in_memory_and_land_with_their_last_figures)
{
	struct alert a, b, got;
	uint64_t dropped = 42;

	make_alert(&a, 2, 1000);
	ASSERT_EQ(0, store_put_alert(self->st, &a));
	ASSERT_EQ(1, a.id);
	ASSERT_EQ(0, fill(self->ballast));

	/* an update and a new alert, both refused for want of room */
	a.bytes_sent += 4096;
	EXPECT_EQ(-ENOSPC, store_put_alert(self->st, &a));
	EXPECT_NE(NULL, strstr(store_errmsg(self->st), "full"))
		TH_LOG("%s", store_errmsg(self->st));
	make_alert(&b, 3, 2000);
	EXPECT_EQ(-ENOSPC, store_put_alert(self->st, &b));
	/* the new one has its id already: the journal names it */
	EXPECT_EQ(2, b.id);
	/* the last figures of each wait, one copy per alert */
	b.bytes_sent += 1;
	EXPECT_EQ(-ENOSPC, store_put_alert(self->st, &b));
	EXPECT_EQ(2, b.id);
	EXPECT_EQ(2, store_pending(self->st, &dropped));
	EXPECT_EQ(0, dropped);
	EXPECT_EQ(-ENOSPC, store_retry(self->st));
	EXPECT_EQ(2, store_pending(self->st, NULL));
	/* what is stored is the last state that was, never half an update */
	EXPECT_EQ(524288 * 2, stored_sent(self->st, 1));
	EXPECT_EQ(-1, stored_sent(self->st, 2));

	ASSERT_EQ(0, unlink(self->ballast));
	EXPECT_EQ(0, store_retry(self->st));
	EXPECT_EQ(0, store_pending(self->st, NULL));
	ASSERT_EQ(0, store_get_alert(self->st, 1, &got));
	assert_alert_eq(_metadata, &a, &got);
	alert_free(&got);
	ASSERT_EQ(0, store_get_alert(self->st, 2, &got));
	assert_alert_eq(_metadata, &b, &got);
	alert_free(&got);
	/* and the next new alert does not take a waiting one's id */
	alert_free(&b);
	make_alert(&b, 4, 3000);
	ASSERT_EQ(0, store_put_alert(self->st, &b));
	EXPECT_EQ(3, b.id);
	alert_free(&a);
	alert_free(&b);
}

TEST_F(full_disk, a_stored_update_is_not_undone_by_an_older_waiting_one)
{
	struct alert a;

	make_alert(&a, 1, 1000);
	ASSERT_EQ(0, store_put_alert(self->st, &a));
	ASSERT_EQ(0, fill(self->ballast));
	a.bytes_sent = 111;
	EXPECT_EQ(-ENOSPC, store_put_alert(self->st, &a));
	ASSERT_EQ(0, unlink(self->ballast));
	a.bytes_sent = 222;
	ASSERT_EQ(0, store_put_alert(self->st, &a));
	EXPECT_EQ(0, store_pending(self->st, NULL));
	EXPECT_EQ(0, store_retry(self->st));
	EXPECT_EQ(222, stored_sent(self->st, a.id));
	alert_free(&a);
}

TEST_F(full_disk, the_queue_is_bounded_and_counts_what_it_drops)
{
	uint64_t dropped = 0;
	struct alert a;
	int64_t count = -1;
	int i;

	ASSERT_EQ(0, fill(self->ballast));
	for (i = 0; i < 300; i++) {
		make_alert(&a, 1, i);
		EXPECT_EQ(-ENOSPC, store_put_alert(self->st, &a));
		EXPECT_EQ(i + 1, a.id);
		alert_free(&a);
	}
	EXPECT_EQ(256, store_pending(self->st, &dropped));
	EXPECT_EQ(44, dropped);
	/* each loss is told once */
	EXPECT_EQ(256, store_pending(self->st, &dropped));
	EXPECT_EQ(0, dropped);
	ASSERT_EQ(0, unlink(self->ballast));
	EXPECT_EQ(0, store_retry(self->st));
	ASSERT_EQ(0, store_count_alerts(self->st, &count));
	EXPECT_EQ(256, count);
	/* the oldest went: 1 to 44 */
	EXPECT_EQ(-1, stored_sent(self->st, 44));
	EXPECT_EQ(524288, stored_sent(self->st, 45));
	EXPECT_EQ(524288, stored_sent(self->st, 300));
}

static const char schema_v1[] =
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value NOT NULL);"
	"INSERT INTO meta VALUES ('schema_version', 1);"
	"CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" time TEXT NOT NULL, time_us INTEGER NOT NULL, updated TEXT NOT NULL,"
	" updated_us INTEGER NOT NULL, severity TEXT NOT NULL,"
	" pid INTEGER NOT NULL, ppid INTEGER NOT NULL, uid INTEGER NOT NULL,"
	" user TEXT NOT NULL, comm TEXT NOT NULL, exe TEXT NOT NULL,"
	" cmdline TEXT NOT NULL, host TEXT NOT NULL,"
	" bytes_read INTEGER NOT NULL, bytes_sent INTEGER NOT NULL,"
	" sensor TEXT NOT NULL, reason TEXT NOT NULL,"
	" first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL);"
	"CREATE INDEX alerts_updated_us ON alerts(updated_us);"
	"CREATE TABLE alert_files (alert_id INTEGER NOT NULL REFERENCES"
	" alerts(id) ON DELETE CASCADE, path TEXT NOT NULL,"
	" bytes_read INTEGER NOT NULL);"
	"CREATE INDEX alert_files_alert_id ON alert_files(alert_id);"
	"CREATE TABLE alert_destinations (alert_id INTEGER NOT NULL"
	" REFERENCES alerts(id) ON DELETE CASCADE, addr TEXT NOT NULL,"
	" port INTEGER NOT NULL, proto TEXT NOT NULL,"
	" bytes_sent INTEGER NOT NULL);"
	"CREATE INDEX alert_destinations_alert_id"
	" ON alert_destinations(alert_id);"
	"CREATE TABLE alert_ancestry (alert_id INTEGER NOT NULL REFERENCES"
	" alerts(id) ON DELETE CASCADE, depth INTEGER NOT NULL,"
	" pid INTEGER NOT NULL, ppid INTEGER NOT NULL, uid INTEGER NOT NULL,"
	" comm TEXT NOT NULL, exe TEXT NOT NULL);"
	"CREATE INDEX alert_ancestry_alert_id ON alert_ancestry(alert_id);"
	"CREATE TABLE watches (path TEXT PRIMARY KEY, added TEXT NOT NULL);"
	"INSERT INTO alerts VALUES (1, '2026-11-29T11:27:38.123456Z',"
	" 1796383658123456, '2026-11-29T11:29:02.000001Z', 1796383742000001,"
	" 'high', 4242, 4100, 1000, 'alice', 'curl', '/usr/bin/curl',"
	" 'curl -T - https://203.0.113.7/', '203.0.113.7', 12582912,"
	" 12480000, 'bpf', 'old reason', 1000, 73000000000);"
	"INSERT INTO alert_files VALUES (1, '/srv/crm/customers.db', 12582912);"
	"INSERT INTO alert_destinations VALUES (1, '203.0.113.7', 443, 'tcp',"
	" 12480000);"
	"INSERT INTO alert_ancestry VALUES (1, 0, 4242, 4100, 1000, 'curl',"
	" '/usr/bin/curl');"
	"INSERT INTO watches VALUES ('/srv/crm', '2026-11-29T10:00:00.000000Z');";

static void make_v1_db(struct __test_metadata *_metadata, const char *dir,
		       const char *extra_sql)
{
	char path[128];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/alerts.db", dir);
	ASSERT_EQ(SQLITE_OK, sqlite3_open(path, &db));
	ASSERT_EQ(SQLITE_OK, sqlite3_exec(db, "PRAGMA journal_mode=WAL",
					  NULL, NULL, NULL));
	ASSERT_EQ(SQLITE_OK, sqlite3_exec(db, schema_v1, NULL, NULL, NULL));
	if (extra_sql)
		ASSERT_EQ(SQLITE_OK, sqlite3_exec(db, extra_sql, NULL, NULL,
						  NULL));
	ASSERT_EQ(SQLITE_OK, sqlite3_close(db));
	ASSERT_EQ(0, chmod(path, 0640));
}

TEST(version_1_database_is_migrated)
{
	char dir[] = "/tmp/test_store.XXXXXX", err[256] = "", **paths;
	struct store *st;
	struct alert got, a;
	size_t nr;

	ASSERT_NE(NULL, mkdtemp(dir));
	make_v1_db(_metadata, dir, NULL);
	ASSERT_EQ(0, store_open(&st, dir, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_QUERY(st, "SELECT value FROM meta", 10,
		     "{\"columns\":[\"value\"],\"rows\":[[4]],"
		     "\"truncated\":false}");
	/* the old alert reads back whole, as one tree's taint */
	ASSERT_EQ(0, store_get_alert(st, 1, &got));
	EXPECT_STREQ("curl", got.comm);
	EXPECT_STREQ("old reason", got.reason);
	EXPECT_EQ(12582912, got.bytes_read);
	EXPECT_EQ(12582912, got.taint);
	EXPECT_EQ(1, got.senders);
	/* before prevent mode, every alert was a detection */
	EXPECT_EQ(ALERT_DETECTED, got.action);
	EXPECT_EQ(0, got.refused);
	EXPECT_EQ(0, got.nr_chain);
	ASSERT_EQ(1, got.nr_files);
	EXPECT_STREQ("/srv/crm/customers.db", got.files[0].path);
	ASSERT_EQ(1, got.nr_ancestry);
	alert_free(&got);
	ASSERT_EQ(0, store_watch_list(st, &paths, &nr));
	ASSERT_EQ(1, nr);
	EXPECT_STREQ("/srv/crm", paths[0]);
	store_free_watches(paths, nr);
	/* new alerts have chains, next to the old */
	make_alert(&a, 3, 1796383800000000);
	ASSERT_EQ(0, store_put_alert(st, &a));
	EXPECT_EQ(2, a.id);
	ASSERT_EQ(0, store_get_alert(st, 2, &got));
	assert_alert_eq(_metadata, &a, &got);
	alert_free(&got);
	alert_free(&a);
	store_close(st);
	/* opened again: nothing more to do */
	ASSERT_EQ(0, store_open(&st, dir, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, store_get_alert(st, 1, &got));
	EXPECT_EQ(12582912, got.taint);
	alert_free(&got);
	store_close(st);
	rm_tree(dir);
}

/* what versions 2 and 3 added, as a version 3 daemon left it */
static const char schema_v2_v3[] =
	"ALTER TABLE alerts ADD COLUMN taint INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE alerts ADD COLUMN senders INTEGER NOT NULL DEFAULT 0;"
	"UPDATE alerts SET taint = bytes_read, senders = 1;"
	"CREATE TABLE alert_chain (alert_id INTEGER NOT NULL REFERENCES"
	" alerts(id) ON DELETE CASCADE, step INTEGER NOT NULL,"
	" pid INTEGER NOT NULL, comm TEXT NOT NULL, exe TEXT NOT NULL,"
	" via TEXT NOT NULL, object TEXT NOT NULL, bytes INTEGER NOT NULL);"
	"CREATE INDEX alert_chain_alert_id ON alert_chain(alert_id);"
	"CREATE TABLE derived (dev INTEGER NOT NULL, ino INTEGER NOT NULL,"
	" gen INTEGER NOT NULL, watch_id INTEGER NOT NULL, chan TEXT NOT NULL,"
	" taint INTEGER NOT NULL, writer_pid INTEGER NOT NULL,"
	" writer_start_ns INTEGER NOT NULL, path TEXT NOT NULL,"
	" chain TEXT NOT NULL, first_seen TEXT NOT NULL,"
	" last_seen TEXT NOT NULL, PRIMARY KEY (dev, ino));"
	"CREATE INDEX derived_last_seen ON derived(last_seen);"
	"CREATE TABLE acks (alert_id INTEGER PRIMARY KEY,"
	" time_us INTEGER NOT NULL, uid INTEGER NOT NULL);"
	"INSERT INTO acks VALUES (1, 1796383800000000, 0);"
	"UPDATE meta SET value = 3 WHERE key = 'schema_version';";

TEST(version_3_database_is_migrated)
{
	char dir[] = "/tmp/test_store.XXXXXX", err[256] = "";
	struct store_override *list;
	struct store *st;
	struct alert got;
	size_t nr;

	ASSERT_NE(NULL, mkdtemp(dir));
	make_v1_db(_metadata, dir, schema_v2_v3);
	ASSERT_EQ(0, store_open(&st, dir, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_QUERY(st, "SELECT value FROM meta", 10,
		     "{\"columns\":[\"value\"],\"rows\":[[4]],"
		     "\"truncated\":false}");
	ASSERT_EQ(0, store_get_alert(st, 1, &got));
	EXPECT_STREQ("curl", got.comm);
	EXPECT_EQ(1796383800000000, got.acked_us);
	EXPECT_EQ(ALERT_DETECTED, got.action);
	EXPECT_EQ(0, got.refused);
	alert_free(&got);
	ASSERT_EQ(0, store_override_list(st, 1, &list, &nr));
	EXPECT_EQ(0, nr);
	free(list);
	store_close(st);
	rm_tree(dir);
}

TEST(failed_migration_changes_nothing)
{
	static const char *const v1_tables[] = {
		"SELECT type, name, sql FROM sqlite_master ORDER BY name",
		"SELECT * FROM meta ORDER BY key",
		"SELECT * FROM alerts ORDER BY id",
	};
	char dir[] = "/tmp/test_store.XXXXXX", err[256] = "", path[128];
	char *before, *after;
	struct store *st = NULL;

	ASSERT_NE(NULL, mkdtemp(dir));
	/* a table in the way of the new one */
	make_v1_db(_metadata, dir, "CREATE TABLE derived (x);");
	snprintf(path, sizeof(path), "%s/alerts.db", dir);
	before = db_dump(path, v1_tables, 3);
	ASSERT_NE(NULL, before);
	EXPECT_EQ(-EINVAL, store_open(&st, dir, err, sizeof(err)));
	snprintf(path, sizeof(path), "%s/alerts.db: failed to upgrade the "
		 "schema from version 1 to 2: table derived already exists",
		 dir);
	EXPECT_STREQ(path, err);
	snprintf(path, sizeof(path), "%s/alerts.db", dir);
	EXPECT_EQ(NULL, st);
	after = db_dump(path, v1_tables, 3);
	ASSERT_NE(NULL, after);
	/* still version 1, no column added, no table made */
	EXPECT_STREQ(before, after);
	EXPECT_NE(NULL, strstr(after, "value=1|"));
	free(before);
	free(after);
	rm_tree(dir);
}

static const struct exfilmon_file_key notes = { .dev = 8 << 20 | 2,
						.ino = 777 };

static struct exfilmon_obj mark(uint32_t gen, uint64_t taint)
{
	return (struct exfilmon_obj){
		.flags = EXFILMON_OBJ_DERIVED, .watch_id = 3,
		.chan = EXFILMON_CHAN_SHM, .gen = gen, .taint = taint,
		.last_ns = 123, .writer = { .tgid = 4100, .start_ns = 55 },
	};
}

struct marks {
	struct exfilmon_file_key key[8];
	struct exfilmon_obj obj[8];
	int n;
	int stop_at;
};

static int take(void *ctx, const struct exfilmon_file_key *key,
		const struct exfilmon_obj *obj)
{
	struct marks *m = ctx;

	if (m->n == m->stop_at)
		return -ENOSPC;
	m->key[m->n] = *key;
	m->obj[m->n++] = *obj;
	return 0;
}

TEST_F(alerts_db, derived_marks_round_trip)
{
	struct exfilmon_obj obj = mark(7, 5242880), got;
	struct exfilmon_file_key other = { .dev = notes.dev, .ino = 778 };
	struct marks m = { .stop_at = -1 };
	char *path, *chain;
	char err[256];

	ASSERT_EQ(0, store_derived_put(self->st, &notes, &obj,
				       "/dev/shm/buf", "[{\"pid\":1}]"));
	ASSERT_EQ(0, store_derived_get(self->st, &notes, &got, &path, &chain));
	EXPECT_STREQ("/dev/shm/buf", path);
	EXPECT_STREQ("[{\"pid\":1}]", chain);
	EXPECT_EQ(EXFILMON_OBJ_DERIVED, got.flags);
	EXPECT_EQ(7, got.gen);
	EXPECT_EQ(3, got.watch_id);
	EXPECT_EQ(EXFILMON_CHAN_SHM, got.chan);
	EXPECT_EQ(5242880, got.taint);
	EXPECT_EQ(4100, got.writer.tgid);
	EXPECT_EQ(55, got.writer.start_ns);
	/* a boot-time stamp means nothing after a reboot */
	EXPECT_EQ(0, got.last_ns);
	free(path);
	free(chain);

	/* more taint, no new path or chain: what is known stays */
	obj.taint = 6000000;
	ASSERT_EQ(0, store_derived_put(self->st, &notes, &obj, "", ""));
	ASSERT_EQ(0, store_derived_get(self->st, &notes, &got, &path, &chain));
	EXPECT_STREQ("/dev/shm/buf", path);
	EXPECT_STREQ("[{\"pid\":1}]", chain);
	EXPECT_EQ(6000000, got.taint);
	free(path);
	free(chain);
	/* another generation is another file: it starts over */
	obj = mark(8, 10);
	ASSERT_EQ(0, store_derived_put(self->st, &notes, &obj, "", ""));
	ASSERT_EQ(0, store_derived_get(self->st, &notes, &got, &path, &chain));
	EXPECT_STREQ("", path);
	EXPECT_STREQ("", chain);
	EXPECT_EQ(8, got.gen);
	EXPECT_EQ(10, got.taint);
	free(path);
	free(chain);

	/* the walk for the sensor, and a callback that stops it */
	ASSERT_EQ(0, store_derived_put(self->st, &other, &obj, "/tmp/b", ""));
	ASSERT_EQ(0, store_derived_each(self->st, take, &m));
	ASSERT_EQ(2, m.n);
	EXPECT_EQ(notes.dev, m.key[0].dev);
	m.n = 0;
	m.stop_at = 1;
	EXPECT_EQ(-ENOSPC, store_derived_each(self->st, take, &m));
	EXPECT_EQ(1, m.n);

	/* the marks survive a restart */
	store_close(self->st);
	self->st = NULL;
	ASSERT_EQ(0, store_open(&self->st, self->dir, err, sizeof(err)));
	ASSERT_EQ(0, store_derived_get(self->st, &other, &got, &path, &chain));
	EXPECT_STREQ("/tmp/b", path);
	free(path);
	free(chain);

	ASSERT_EQ(0, store_derived_rm(self->st, &other));
	EXPECT_EQ(-ENOENT, store_derived_rm(self->st, &other));
	EXPECT_EQ(-ENOENT, store_derived_get(self->st, &other, &got, &path,
					     &chain));
	EXPECT_STREQ("no derived mark 8388610:778", store_errmsg(self->st));
	EXPECT_EQ(NULL, path);
	EXPECT_EQ(NULL, chain);
}

TEST_F(alerts_db, only_derived_files_are_marks)
{
	struct exfilmon_obj obj = mark(1, 1);
	struct exfilmon_file_key sock = {
		.dev = EXFILMON_KEY_TAG_UNIX, .ino = 5 };
	int64_t count = -1;

	obj.flags = EXFILMON_WATCH_FILE;
	EXPECT_EQ(-EINVAL, store_derived_put(self->st, &notes, &obj, "", ""));
	EXPECT_STREQ("derived mark 8388610:777: not a derived file "
		     "(flags 0x1)", store_errmsg(self->st));
	obj.flags = EXFILMON_OBJ_DERIVED;
	EXPECT_EQ(-EINVAL, store_derived_put(self->st, &sock, &obj, "", ""));
	ASSERT_EQ(0, query_int_for_test(self->db, "SELECT count(*) FROM derived",
					&count));
	EXPECT_EQ(0, count);
}

/* The oldest marks go first once there are more than the bound. */
TEST_F(alerts_db, derived_marks_are_bounded)
{
	struct exfilmon_obj obj = mark(1, 1), got;
	struct exfilmon_file_key k = notes;
	int64_t count = -1;
	char *path, *chain;
	int i;

	store_set_derived_max(self->st, 100);
	for (i = 0; i < 300; i++) {
		k.ino = 1000 + i;
		ASSERT_EQ(0, store_derived_put(self->st, &k, &obj, "", ""));
		/* last_seen has microseconds: keep the order exact */
		usleep(2);
	}
	/* pruned at the 256th put, 44 since */
	ASSERT_EQ(0, query_int_for_test(self->db, "SELECT count(*) FROM derived",
					&count));
	EXPECT_EQ(144, count);
	k.ino = 1000 + 155;
	EXPECT_EQ(-ENOENT, store_derived_get(self->st, &k, &got, &path,
					     &chain));
	k.ino = 1000 + 156;
	ASSERT_EQ(0, store_derived_get(self->st, &k, &got, &path, &chain));
	free(path);
	free(chain);
}

/*
 * The read-only gate, over five alerts (ids 1..5, updated_us 1000..5000)
 * and one watch.
 */
static void populate(struct __test_metadata *_metadata, char *dir,
		       char *db, struct store **st)
{
	char err[256] = "";
	struct alert a;
	int i;

	strcpy(dir, "/tmp/test_store.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(dir));
	sprintf(db, "%s/alerts.db", dir);
	ASSERT_EQ(0, store_open(st, dir, err, sizeof(err))) TH_LOG("%s", err);
	for (i = 1; i <= 5; i++) {
		make_alert(&a, i, 1000 * i);
		ASSERT_EQ(0, store_put_alert(*st, &a));
		alert_free(&a);
	}
	ASSERT_EQ(0, store_watch_add(*st, "/srv/db"));
}

FIXTURE(gate) {
	char dir[64];
	char db[128];
	struct store *st;
};

FIXTURE_SETUP(gate)
{
	populate(_metadata, self->dir, self->db, &self->st);
}

FIXTURE_TEARDOWN(gate)
{
	store_close(self->st);
	rm_tree(self->dir);
}

TEST_F(gate, selects_return_exact_rows)
{
	EXPECT_QUERY(self->st,
		     "SELECT id, host, bytes_read FROM alerts"
		     " WHERE bytes_read > 2097152 ORDER BY id",
		     100,
		     "{\"columns\":[\"id\",\"host\",\"bytes_read\"],"
		     "\"rows\":[[3,\"203.0.113.3\",3145728],"
		     "[4,\"203.0.113.4\",4194304],"
		     "[5,\"203.0.113.5\",5242880]],\"truncated\":false}");
	EXPECT_QUERY(self->st,
		     "SELECT a.id, count(f.path) AS files FROM alerts a"
		     " JOIN alert_files f ON f.alert_id = a.id"
		     " GROUP BY a.id ORDER BY files DESC LIMIT 2",
		     100,
		     "{\"columns\":[\"id\",\"files\"],\"rows\":[[5,5],[4,4]],"
		     "\"truncated\":false}");
	EXPECT_QUERY(self->st,
		     "SELECT 1 AS i, 1.5 AS d, 'a\"b/c' AS t, x'00ff10' AS b,"
		     " NULL AS n, 9e999 AS inf",
		     1,
		     "{\"columns\":[\"i\",\"d\",\"t\",\"b\",\"n\",\"inf\"],"
		     "\"rows\":[[1,1.5,\"a\\\"b/c\",\"00ff10\",null,"
		     "\"Infinity\"]],\"truncated\":false}");
	EXPECT_QUERY(self->st,
		     "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL"
		     " SELECT x + 1 FROM c WHERE x < 4) SELECT x FROM c",
		     100,
		     "{\"columns\":[\"x\"],\"rows\":[[1],[2],[3],[4]],"
		     "\"truncated\":false}");
	EXPECT_QUERY(self->st, "VALUES (1, 'x')", 100,
		     "{\"columns\":[\"column1\",\"column2\"],"
		     "\"rows\":[[1,\"x\"]],\"truncated\":false}");
	EXPECT_QUERY(self->st, "SELECT path FROM watches", 100,
		     "{\"columns\":[\"path\"],\"rows\":[[\"/srv/db\"]],"
		     "\"truncated\":false}");
	/* Comments and a trailing semicolon are not a second statement. */
	EXPECT_QUERY(self->st,
		     "/* lead */ SELECT count(*) AS n FROM alerts; -- done\n"
		     " ; /* tail */",
		     100,
		     "{\"columns\":[\"n\"],\"rows\":[[5]],\"truncated\":false}");
	EXPECT_QUERY(self->st, "SELECT 1 AS n; /* unterminated", 100,
		     "{\"columns\":[\"n\"],\"rows\":[[1]],\"truncated\":false}");
	EXPECT_QUERY(self->st, "EXPLAIN QUERY PLAN SELECT * FROM alerts"
			       " WHERE updated_us > 0", 100,
		     "{\"columns\":[\"id\",\"parent\",\"notused\",\"detail\"],"
		     "\"rows\":[[3,0,0,\"SEARCH alerts USING INDEX "
		     "alerts_updated_us (updated_us>?)\"]],"
		     "\"truncated\":false}");
}

TEST_F(gate, schema_pragmas_are_readable)
{
	EXPECT_QUERY(self->st, "PRAGMA table_info(watches)", 100,
		     "{\"columns\":[\"cid\",\"name\",\"type\",\"notnull\","
		     "\"dflt_value\",\"pk\"],\"rows\":[[0,\"path\",\"TEXT\",0,"
		     "null,1],[1,\"added\",\"TEXT\",1,null,0]],"
		     "\"truncated\":false}");
	EXPECT_QUERY(self->st, "PRAGMA main.index_list(alert_files)", 100,
		     "{\"columns\":[\"seq\",\"name\",\"unique\",\"origin\","
		     "\"partial\"],\"rows\":[[0,\"alert_files_alert_id\",0,"
		     "\"c\",0]],\"truncated\":false}");
	EXPECT_QUERY(self->st, "PRAGMA user_version", 100,
		     "{\"columns\":[\"user_version\"],\"rows\":[[0]],"
		     "\"truncated\":false}");
}

TEST_F(gate, row_cap_sets_truncated)
{
	EXPECT_QUERY(self->st, "SELECT id FROM alerts ORDER BY id", 3,
		     "{\"columns\":[\"id\"],\"rows\":[[1],[2],[3]],"
		     "\"truncated\":true}");
	EXPECT_QUERY(self->st, "SELECT id FROM alerts ORDER BY id", 5,
		     "{\"columns\":[\"id\"],\"rows\":[[1],[2],[3],[4],[5]],"
		     "\"truncated\":false}");
	EXPECT_QUERY(self->st, "SELECT id FROM alerts ORDER BY id", 0,
		     "{\"columns\":[\"id\"],\"rows\":[],\"truncated\":true}");
	EXPECT_QUERY(self->st, "SELECT id FROM alerts WHERE id > 9", 0,
		     "{\"columns\":[\"id\"],\"rows\":[],\"truncated\":false}");
}

/* Each row carries a 2 MB hex string: the 8 MiB reply budget holds 4. */
TEST_F(gate, reply_size_cap_sets_truncated)
{
	struct json_object *res, *rows;
	char err[256];

	ASSERT_EQ(0, store_query(self->st,
				 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL"
				 " SELECT x + 1 FROM c WHERE x < 10)"
				 " SELECT x, zeroblob(1000000) FROM c",
				 100, &res, err, sizeof(err)))
		TH_LOG("%s", err);
	ASSERT_TRUE(json_object_object_get_ex(res, "rows", &rows));
	EXPECT_EQ(4, json_object_array_length(rows));
	EXPECT_TRUE(json_object_get_boolean(
		json_object_object_get(res, "truncated")));
	json_object_put(res);
}

TEST_F(gate, runaway_query_is_interrupted)
{
	static const char runaway[] =
		"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1"
		" FROM c) SELECT count(*) FROM c";
	struct timespec t0, t1;
	long ms;

	store_set_query_limits(self->st, 2000000, 60000);
	EXPECT_QUERY(self->st, runaway, 10,
		     "ERR -110 query interrupted: it ran more than 2000000 "
		     "SQLite VM steps (add a LIMIT or a narrower WHERE)");

	store_set_query_limits(self->st, UINT64_MAX / 2, 300);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_QUERY(self->st, runaway, 10,
		     "ERR -110 query interrupted: it ran longer than 300 ms "
		     "(add a LIMIT or a narrower WHERE)");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	EXPECT_LE(300, ms);
	EXPECT_GT(3000, ms);

	/*
	 * The defaults stop it too (which limit comes first depends on the
	 * machine, and on valgrind), and the connection is usable after.
	 */
	store_set_query_limits(self->st, 0, 0);
	{
		char *got = query(self->st, runaway, 10);

		EXPECT_TRUE(!strcmp(got, "ERR -110 query interrupted: it ran "
					 "more than 100000000 SQLite VM steps "
					 "(add a LIMIT or a narrower WHERE)") ||
			    !strcmp(got, "ERR -110 query interrupted: it ran "
					 "longer than 5000 ms (add a LIMIT or "
					 "a narrower WHERE)"))
			TH_LOG("%s", got);
		free(got);
	}
	EXPECT_QUERY(self->st, "SELECT count(*) AS n FROM alerts", 10,
		     "{\"columns\":[\"n\"],\"rows\":[[5]],\"truncated\":false}");
}

TEST_F(gate, sql_errors_are_einval)
{
	EXPECT_QUERY(self->st, "SELECT * FROM nosuch", 10,
		     "ERR -22 SQL error: no such table: nosuch");
	EXPECT_QUERY(self->st, "SELEC 1", 10,
		     "ERR -22 SQL error: near \"SELEC\": syntax error");
	EXPECT_QUERY(self->st, "SELECT \"no_such_column\" FROM alerts", 10,
		     "ERR -22 SQL error: no such column: no_such_column");
	EXPECT_QUERY(self->st, "", 10, "ERR -22 SQL error: the query is empty");
	EXPECT_QUERY(self->st, "  -- nothing\n", 10,
		     "ERR -22 SQL error: the query is empty");
	EXPECT_QUERY(self->st, NULL, 10, "ERR -22 SQL error: no query");
	EXPECT_QUERY(self->st, "SELECT zeroblob(100000000)", 10,
		     "ERR -7 SQL error: string or blob too big");
}

/* Every way we know to write, each refused with the database unchanged. */
FIXTURE(refuse) {
	char dir[64];
	char db[128];
	struct store *st;
};

FIXTURE_SETUP(refuse)
{
	populate(_metadata, self->dir, self->db, &self->st);
}

FIXTURE_TEARDOWN(refuse)
{
	store_close(self->st);
	rm_tree(self->dir);
}

FIXTURE_VARIANT(refuse) {
	const char *sql;
	const char *reason;	/* in REFUSED " (...)"; '*' ends a prefix */
};

#define REFUSE(name, s, r) \
	FIXTURE_VARIANT_ADD(refuse, name) { .sql = s, .reason = r }

REFUSE(insert, "INSERT INTO watches VALUES ('/etc', 'now')",
       "statement writes: INSERT on watches");
REFUSE(replace, "REPLACE INTO watches VALUES ('/srv/db', 'x')",
       "statement writes: INSERT on watches");
REFUSE(update, "UPDATE alerts SET severity = 'low'",
       "statement writes: UPDATE on alerts");
REFUSE(delete, "DELETE FROM alerts", "statement writes: DELETE on alerts");
REFUSE(delete_returning, "DELETE FROM alert_files RETURNING *",
       "statement writes: DELETE on alert_files");
REFUSE(cte_delete, "WITH x AS (SELECT 1) DELETE FROM alerts",
       "statement writes: DELETE on alerts");
REFUSE(insert_select, "INSERT INTO watches SELECT path, 'x' FROM alert_files",
       "statement writes: INSERT on watches");
REFUSE(drop, "DROP TABLE alerts", "statement writes: DELETE on sqlite_master");
REFUSE(drop_index, "DROP INDEX alerts_updated_us",
       "statement writes: DELETE on sqlite_master");
REFUSE(create, "CREATE TABLE t (x)", "statement writes: INSERT on sqlite_master");
REFUSE(create_temp, "CREATE TEMP TABLE t (x)",
       "statement writes: INSERT on sqlite_temp_master");
REFUSE(create_view, "CREATE TEMP VIEW v AS SELECT 1",
       "statement writes: INSERT on sqlite_temp_master");
REFUSE(alter, "ALTER TABLE alerts RENAME TO a",
       "statement changes the schema: ALTER TABLE alerts");
REFUSE(attach, "ATTACH '/tmp/test_store_attached.db' AS y",
       "ATTACH is not allowed");
REFUSE(detach, "DETACH main", "DETACH is not allowed");
REFUSE(journal_mode, "PRAGMA journal_mode=DELETE",
       "PRAGMA journal_mode = DELETE is not a schema or setting read");
REFUSE(journal_mode_read, "PRAGMA journal_mode",
       "PRAGMA journal_mode is not a schema or setting read");
REFUSE(user_version, "PRAGMA user_version = 7",
       "PRAGMA user_version with a value sets it");
REFUSE(query_only_off, "PRAGMA query_only = 0",
       "PRAGMA query_only = 0 is not a schema or setting read");
REFUSE(writable_schema, "PRAGMA writable_schema = ON",
       "PRAGMA writable_schema = ON is not a schema or setting read");
REFUSE(wal_checkpoint, "PRAGMA wal_checkpoint(TRUNCATE)",
       "PRAGMA wal_checkpoint = TRUNCATE is not a schema or setting read");
REFUSE(two_statements, "SELECT 1; DELETE FROM alerts",
       "more than one statement");
REFUSE(two_selects, "SELECT 1; SELECT 2", "more than one statement");
REFUSE(vacuum, "VACUUM", "statement writes");
REFUSE(vacuum_into, "VACUUM INTO '/tmp/test_store_vacuum.db'",
       "statement writes");
REFUSE(reindex, "REINDEX alerts_updated_us",
       "statement changes the schema: REINDEX alerts_updated_us");
REFUSE(reindex_all, "REINDEX",
       "statement changes the schema: REINDEX sqlite_autoindex_*");
REFUSE(analyze, "ANALYZE", "statement writes: INSERT on sqlite_master");
REFUSE(begin, "BEGIN", "transaction control: BEGIN");
REFUSE(begin_immediate, "BEGIN IMMEDIATE", "transaction control: BEGIN");
REFUSE(commit, "COMMIT", "transaction control: COMMIT");
REFUSE(savepoint, "SAVEPOINT s", "transaction control: SAVEPOINT BEGIN s");
REFUSE(load_extension, "SELECT load_extension('/tmp/evil.so')",
       "function load_extension() is not allowed");
REFUSE(load_extension_upper, "SELECT LOAD_EXTENSION('/tmp/evil.so', 'x')",
       "function load_extension() is not allowed");
REFUSE(fts3_tokenizer, "SELECT fts3_tokenizer('simple')",
       "function fts3_tokenizer() is not allowed");
REFUSE(table_valued, "SELECT * FROM pragma_table_info('alerts')",
       "table-valued functions such as json_each() or pragma_table_info()"
       " are not supported");
REFUSE(create_vtab, "CREATE VIRTUAL TABLE t USING fts5(x)",
       "statement writes: INSERT on sqlite_master");
REFUSE(explain_delete, "EXPLAIN DELETE FROM alerts",
       "statement writes: DELETE on alerts");
REFUSE(trigger, "CREATE TEMP TRIGGER t AFTER INSERT ON alerts BEGIN"
		" DELETE FROM alerts; END",
       "statement changes the schema: CREATE TEMP TRIGGER t");

TEST_F(refuse, write_attempt_changes_nothing)
{
	char *before, *after, *files_before, *files_after, err[512];
	struct json_object *res = (void *)1;
	char expected[512];

	before = db_snapshot(self->db);
	ASSERT_NE(NULL, before);
	files_before = dir_listing(self->dir);
	ASSERT_NE(NULL, files_before);

	EXPECT_EQ(-EPERM, store_query(self->st, variant->sql, 100, &res, err,
				      sizeof(err)));
	EXPECT_EQ(NULL, res);
	snprintf(expected, sizeof(expected), REFUSED " (%s)", variant->reason);
	/* Which index REINDEX names first is up to SQLite's hash order. */
	if (strchr(expected, '*')) {
		*strchr(expected, '*') = '\0';
		EXPECT_EQ(0, strncmp(expected, err, strlen(expected)))
			TH_LOG("'%s' does not start with '%s'", err, expected);
	} else {
		EXPECT_STREQ(expected, err);
	}

	after = db_snapshot(self->db);
	ASSERT_NE(NULL, after);
	EXPECT_STREQ(before, after);
	files_after = dir_listing(self->dir);
	EXPECT_STREQ(files_before, files_after);
	EXPECT_EQ(-1, access("/tmp/test_store_attached.db", F_OK));
	EXPECT_EQ(-1, access("/tmp/test_store_vacuum.db", F_OK));

	/* The gate is still open to reads afterwards. */
	EXPECT_QUERY(self->st, "SELECT count(*) AS n FROM alerts", 10,
		     "{\"columns\":[\"n\"],\"rows\":[[5]],\"truncated\":false}");
	free(before);
	free(after);
	free(files_before);
	free(files_after);
}

TEST_HARNESS_MAIN
