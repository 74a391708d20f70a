// SPDX-License-Identifier: GPL-2.0-only
/*
 * The alert store: <state_dir>/alerts.db, SQLite in WAL mode (docs/store.md).
 *
 * Two connections: the daemon's own read-write one, and a read-only one on
 * which store_query() runs the security team's ad-hoc SQL. That second one
 * is a security boundary (members of the readers' group may query, only
 * root may change anything), so a query must pass four independent checks,
 * any one of which refuses a write: the connection is opened read-only and
 * with query_only set, an authorizer allows only reads, the compiled
 * statement must report itself read-only, and only one statement is run.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sqlite3.h>

#include "store.h"

#define STORE_SCHEMA_VERSION	4
/* Alerts name users, commands and hosts: readable by the group at most. */
#define STORE_DB_MODE		0640
#define STORE_BUSY_TIMEOUT_MS	5000

#define QUERY_MAX_STEPS		100000000ull	/* ~0.5 s of VM work */
#define QUERY_TIMEOUT_MS	5000
#define QUERY_PROGRESS_OPS	1000
/* Keeps a reply well under IPC_MAX_LEN (16 MiB). */
#define QUERY_MAX_BYTES		(8u << 20)
/* Largest string or blob a query may build (zeroblob(), printf()...). */
#define QUERY_MAX_LENGTH	(8 << 20)
#define QUERY_MAX_SQL		(64 << 10)

#define REFUSED "query refused: only a single read-only SELECT is allowed"

/* Derived marks kept; the least recently seen go first. */
#define STORE_DERIVED_MAX	65536
/* Puts between two prunes of the derived table. */
#define DERIVED_PRUNE_EVERY	256

/*
 * Alerts kept in memory while the store cannot take them (disk full, I/O
 * errors): at ~2.5 KiB each before their arrays, 256 cost under 1 MiB, and
 * one theft is one alert, so 256 thefts in one outage is a lot of outage.
 */
#define STORE_PENDING_MAX	256

/* State of the query being run on the read-only connection. */
struct query_ctx {
	bool saw_read;		/* a SELECT or an allowed PRAGMA was compiled */
	char denied[256];	/* why the authorizer said no, or "" */
	char interrupted[160];	/* why the progress handler stopped it */
	uint64_t steps;
	uint64_t max_steps;
	struct timespec deadline;
	uint64_t timeout_ms;
};

struct store {
	sqlite3 *db;		/* read-write: the daemon's */
	sqlite3 *ro;		/* read-only: store_query() */
	struct query_ctx q;
	uint64_t max_steps;
	uint64_t timeout_ms;
	size_t derived_max;
	size_t derived_puts;	/* since the last prune */
	int64_t next_id;	/* the id a new alert gets, if it is free */
	struct alert *pending;	/* not yet stored, oldest first; one per id */
	size_t nr_pending;
	uint64_t pending_dropped;	/* since store_pending() said */
	char errmsg[512];
	char path[];
};

static int sqlite_errno(sqlite3 *db, int rc)
{
	int sys;

	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EPERM;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_INTERRUPT:
		return -EINTR;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EUCLEAN;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
		sys = db ? sqlite3_system_errno(db) : 0;
		return sys ? -sys : -EIO;
	default:
		return -EINVAL;
	}
}

/* Record "<what>: <sqlite's message>" and return the matching -errno. */
static int __attribute__((format(printf, 3, 4)))
store_fail(struct store *st, int rc, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(st->errmsg, sizeof(st->errmsg), "%s: %s", what,
		 sqlite3_errmsg(st->db));
	return sqlite_errno(st->db, rc);
}

const char *store_errmsg(const struct store *st)
{
	return st->errmsg;
}

static int exec(struct store *st, const char *sql)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return store_fail(st, rc, "%s", sql);
	return 0;
}

static void rollback(struct store *st)
{
	/* Already rolled back when SQLite hit an error that forced it. */
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

static int prepare(struct store *st, const char *sql, sqlite3_stmt **stmt)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL);

	if (rc != SQLITE_OK)
		return store_fail(st, rc, "failed to prepare \"%.60s%s\"",
				  sql, strlen(sql) > 60 ? "..." : "");
	return 0;
}

/*
 * Protections that cost nothing here: no double-quoted string literals, no
 * writable_schema tricks, no functions run from the schema, no extensions.
 */
static void harden(sqlite3 *db)
{
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
}

/*
 * Create the database file ourselves so its mode is exactly 0640 whatever
 * the umask; SQLite then gives the -wal and -shm files the same mode. An
 * existing file is only ever narrowed to 0640, never widened.
 */
static int create_db_file(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	int fd, ret = 0;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  STORE_DB_MODE);
	if (fd >= 0) {
		if (fchmod(fd, STORE_DB_MODE)) {
			ret = -errno;
			snprintf(err, errlen, "failed to chmod %s to %o: %s",
				 path, STORE_DB_MODE, strerror(-ret));
		}
		/*
		 * Closed before SQLite opens it: closing any descriptor of a
		 * file drops all of this process's POSIX locks on it,
		 * including SQLite's.
		 */
		close(fd);
		return ret;
	}
	if (errno != EEXIST) {
		ret = -errno;
		snprintf(err, errlen, "failed to create %s: %s", path,
			 strerror(errno));
		return ret;
	}

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "failed to open %s: %s", path,
			 strerror(errno));
		return ret;
	}
	if (fstat(fd, &sb)) {
		ret = -errno;
		snprintf(err, errlen, "failed to stat %s: %s", path,
			 strerror(errno));
	} else if (!S_ISREG(sb.st_mode)) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file (mode %o)", path,
			 sb.st_mode);
	} else if ((sb.st_mode & 07777 & ~STORE_DB_MODE) &&
		   fchmod(fd, sb.st_mode & STORE_DB_MODE)) {
		ret = -errno;
		snprintf(err, errlen, "failed to chmod %s from %o to %o: %s",
			 path, sb.st_mode & 07777, sb.st_mode & STORE_DB_MODE,
			 strerror(errno));
	}
	close(fd);
	return ret;
}

/*
 * Version 1, the base every database starts from; the migrations below
 * bring it up to STORE_SCHEMA_VERSION, so a new database and an upgraded
 * one have the same columns in the same order.
 */
static const char schema_v1_sql[] =
	"CREATE TABLE IF NOT EXISTS alerts ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" time TEXT NOT NULL,"
	" time_us INTEGER NOT NULL,"
	" updated TEXT NOT NULL,"
	" updated_us INTEGER NOT NULL,"
	" severity TEXT NOT NULL,"
	" pid INTEGER NOT NULL,"
	" ppid INTEGER NOT NULL,"
	" uid INTEGER NOT NULL,"
	" user TEXT NOT NULL,"
	" comm TEXT NOT NULL,"
	" exe TEXT NOT NULL,"
	" cmdline TEXT NOT NULL,"
	" host TEXT NOT NULL,"
	" bytes_read INTEGER NOT NULL,"
	" bytes_sent INTEGER NOT NULL,"
	" sensor TEXT NOT NULL,"
	" reason TEXT NOT NULL,"
	" first_ns INTEGER NOT NULL,"
	" last_ns INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS alerts_updated_us ON alerts(updated_us);"
	"CREATE TABLE IF NOT EXISTS alert_files ("
	" alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,"
	" path TEXT NOT NULL,"
	" bytes_read INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS alert_files_alert_id"
	" ON alert_files(alert_id);"
	"CREATE TABLE IF NOT EXISTS alert_destinations ("
	" alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,"
	" addr TEXT NOT NULL,"
	" port INTEGER NOT NULL,"
	" proto TEXT NOT NULL,"
	" bytes_sent INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS alert_destinations_alert_id"
	" ON alert_destinations(alert_id);"
	"CREATE TABLE IF NOT EXISTS alert_ancestry ("
	" alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,"
	" depth INTEGER NOT NULL,"
	" pid INTEGER NOT NULL,"
	" ppid INTEGER NOT NULL,"
	" uid INTEGER NOT NULL,"
	" comm TEXT NOT NULL,"
	" exe TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS alert_ancestry_alert_id"
	" ON alert_ancestry(alert_id);"
	"CREATE TABLE IF NOT EXISTS watches ("
	" path TEXT PRIMARY KEY,"
	" added TEXT NOT NULL);";

/*
 * 1 -> 2: the flow model (docs/flow.md). A version 1 alert was one
 * process tree, whose reads were all its taint.
 */
static const char migrate_v2_sql[] =
	"ALTER TABLE alerts ADD COLUMN taint INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE alerts ADD COLUMN senders INTEGER NOT NULL DEFAULT 0;"
	"UPDATE alerts SET taint = bytes_read, senders = 1;"
	"CREATE TABLE alert_chain ("
	" alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,"
	" step INTEGER NOT NULL,"
	" pid INTEGER NOT NULL,"
	" comm TEXT NOT NULL,"
	" exe TEXT NOT NULL,"
	" via TEXT NOT NULL,"
	" object TEXT NOT NULL,"
	" bytes INTEGER NOT NULL);"
	"CREATE INDEX alert_chain_alert_id ON alert_chain(alert_id);"
	"CREATE TABLE derived ("
	" dev INTEGER NOT NULL,"
	" ino INTEGER NOT NULL,"
	" gen INTEGER NOT NULL,"
	" watch_id INTEGER NOT NULL,"
	" chan TEXT NOT NULL,"
	" taint INTEGER NOT NULL,"
	" writer_pid INTEGER NOT NULL,"
	" writer_start_ns INTEGER NOT NULL,"
	" path TEXT NOT NULL,"
	" chain TEXT NOT NULL,"
	" first_seen TEXT NOT NULL,"
	" last_seen TEXT NOT NULL,"
	" PRIMARY KEY (dev, ino));"
	"CREATE INDEX derived_last_seen ON derived(last_seen);";

/*
 * 2 -> 3: acknowledgements. A table of their own, not columns of alerts:
 * the daemon rewrites an alert's row (INSERT OR REPLACE) at every update,
 * and an acknowledgement must outlive that.
 */
static const char migrate_v3_sql[] =
	"CREATE TABLE acks ("
	" alert_id INTEGER PRIMARY KEY,"
	" time_us INTEGER NOT NULL,"
	" uid INTEGER NOT NULL);";

/*
 * 3 -> 4: prevent mode (docs/prevent.md). What was done about an alert
 * (an older alert was detected, never blocked), and the overrides the
 * security team granted: each one is kept after it ends, as the record of
 * who let what through.
 */
static const char migrate_v4_sql[] =
	"ALTER TABLE alerts ADD COLUMN action TEXT NOT NULL"
	" DEFAULT 'detected';"
	"ALTER TABLE alerts ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE overrides ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" kind TEXT NOT NULL,"
	" pid INTEGER NOT NULL,"
	" start_ticks INTEGER NOT NULL,"
	" dev INTEGER NOT NULL,"
	" ino INTEGER NOT NULL,"
	" who TEXT NOT NULL,"
	" addr TEXT NOT NULL,"
	" port INTEGER NOT NULL,"
	" granted TEXT NOT NULL,"
	" granted_us INTEGER NOT NULL,"
	" granted_uid INTEGER NOT NULL,"
	" until TEXT NOT NULL,"
	" until_us INTEGER NOT NULL,"
	" boot_id TEXT NOT NULL,"
	" ended_us INTEGER NOT NULL DEFAULT 0,"
	" ended TEXT NOT NULL DEFAULT '');";

/* migrations[v] takes a database from version v to v + 1 */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
	[1] = migrate_v2_sql,
	[2] = migrate_v3_sql,
	[3] = migrate_v4_sql,
};

static int init_schema(struct store *st, char *err, size_t errlen)
{
	sqlite3_stmt *stmt = NULL;
	int64_t version;
	int rc, ret;

	ret = exec(st, "BEGIN IMMEDIATE");
	if (!ret)
		ret = exec(st, "CREATE TABLE IF NOT EXISTS meta ("
			       " key TEXT PRIMARY KEY, value NOT NULL);"
			       "INSERT OR IGNORE INTO meta (key, value)"
			       " VALUES ('schema_version', 1);");
	if (!ret)
		ret = prepare(st,
			      "SELECT value FROM meta"
			      " WHERE key = 'schema_version'",
			      &stmt);
	if (ret)
		goto fail;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		ret = store_fail(st, rc, "failed to read schema_version");
		goto fail;
	}
	version = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	stmt = NULL;
	/* a newer daemon's database is refused rather than misread */
	if (version < 1 || version > STORE_SCHEMA_VERSION) {
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "schema_version %lld is not one this exfilmond "
			 "understands (1 to %d)",
			 (long long)version, STORE_SCHEMA_VERSION);
		ret = -ENOTSUP;
		goto fail;
	}
	ret = exec(st, schema_v1_sql);
	/*
	 * all steps in the one transaction: a failed upgrade leaves the
	 * database as it was
	 */
	for (; !ret && version < STORE_SCHEMA_VERSION; version++) {
		char sql[96];

		rc = sqlite3_exec(st->db, migrations[version], NULL, NULL,
				  NULL);
		if (rc != SQLITE_OK)
			ret = store_fail(st, rc, "failed to upgrade the schema "
					 "from version %lld to %lld",
					 (long long)version,
					 (long long)version + 1);
		snprintf(sql, sizeof(sql),
			 "UPDATE meta SET value = %lld"
			 " WHERE key = 'schema_version'",
			 (long long)version + 1);
		if (!ret)
			ret = exec(st, sql);
	}
	if (!ret)
		ret = exec(st, "COMMIT");
	if (ret)
		goto fail;
	return 0;

fail:
	sqlite3_finalize(stmt);
	rollback(st);
	snprintf(err, errlen, "%s: %s", st->path, st->errmsg);
	return ret;
}

static int open_rw(struct store *st, char *err, size_t errlen)
{
	sqlite3_stmt *stmt = NULL;
	const char *mode;
	int rc, ret;

	rc = sqlite3_open_v2(st->path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW |
				     SQLITE_OPEN_EXRESCODE,
			     NULL);
	if (rc != SQLITE_OK) {
		ret = sqlite_errno(st->db, rc);
		snprintf(err, errlen, "failed to open %s: %s", st->path,
			 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		return ret;
	}
	harden(st->db);

	/*
	 * WAL: the daemon writes while exfilctl queries read, and neither
	 * waits for the other. synchronous=NORMAL may lose the last commits
	 * on power loss but never corrupts; the JSON log has them too.
	 */
	ret = prepare(st, "PRAGMA journal_mode=WAL", &stmt);
	if (ret)
		goto fail;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		ret = store_fail(st, rc, "PRAGMA journal_mode=WAL");
		goto fail;
	}
	mode = (const char *)sqlite3_column_text(stmt, 0);
	if (!mode || strcmp(mode, "wal")) {
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "journal_mode is '%s', not 'wal' (is %s-wal on a "
			 "file system without shared memory?)",
			 mode ? mode : "?", st->path);
		ret = -ENOTSUP;
		goto fail;
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	ret = exec(st, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON");
	if (ret)
		goto fail;
	return 0;

fail:
	sqlite3_finalize(stmt);
	snprintf(err, errlen, "%s: %s", st->path, st->errmsg);
	return ret;
}

static int query_authorize(void *arg, int action, const char *a3,
			   const char *a4, const char *db, const char *trigger);
static int query_progress(void *arg);

static int open_ro(struct store *st, char *err, size_t errlen)
{
	int rc;

	rc = sqlite3_open_v2(st->path, &st->ro,
			     SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW |
				     SQLITE_OPEN_EXRESCODE,
			     NULL);
	if (rc == SQLITE_OK) {
		harden(st->ro);
		/* Nothing to ATTACH, and bounded memory per value and SQL. */
		sqlite3_limit(st->ro, SQLITE_LIMIT_ATTACHED, 0);
		sqlite3_limit(st->ro, SQLITE_LIMIT_LENGTH, QUERY_MAX_LENGTH);
		sqlite3_limit(st->ro, SQLITE_LIMIT_SQL_LENGTH, QUERY_MAX_SQL);
		rc = sqlite3_exec(st->ro, "PRAGMA query_only=1", NULL, NULL,
				  NULL);
	}
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "failed to open %s read-only: %s",
			 st->path,
			 st->ro ? sqlite3_errmsg(st->ro) : sqlite3_errstr(rc));
		return sqlite_errno(st->ro, rc);
	}
	/* Installed last, so that the PRAGMA above was not subject to it. */
	sqlite3_set_authorizer(st->ro, query_authorize, &st->q);
	sqlite3_progress_handler(st->ro, QUERY_PROGRESS_OPS, query_progress,
				 &st->q);
	return 0;
}

static int derived_prune(struct store *st);

/*
 * The largest alert id ever handed out, deleted alerts included (AUTOINCREMENT
 * keeps it in sqlite_sequence), so an id is never given to a second alert.
 * 0 when none, or when it cannot be read: the insert then finds out.
 */
static int64_t last_alert_id(struct store *st)
{
	sqlite3_stmt *stmt;
	int64_t id = 0;

	if (sqlite3_prepare_v2(st->db,
			       "SELECT max(coalesce((SELECT seq FROM"
			       " sqlite_sequence WHERE name = 'alerts'), 0),"
			       " coalesce((SELECT max(id) FROM alerts), 0))",
			       -1, &stmt, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		id = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return id;
}

int store_open(struct store **out, const char *state_dir, char *err,
	       size_t errlen)
{
	size_t len = strlen(state_dir) + sizeof("/alerts.db");
	struct store *st;
	int ret;

	st = calloc(1, sizeof(*st) + len);
	if (!st) {
		snprintf(err, errlen, "failed to open the store: %s",
			 strerror(ENOMEM));
		return -ENOMEM;
	}
	snprintf(st->path, len, "%s/alerts.db", state_dir);
	st->max_steps = QUERY_MAX_STEPS;
	st->timeout_ms = QUERY_TIMEOUT_MS;
	st->derived_max = STORE_DERIVED_MAX;

	ret = create_db_file(st->path, err, errlen);
	if (!ret)
		ret = open_rw(st, err, errlen);
	if (!ret)
		ret = init_schema(st, err, errlen);
	if (!ret) {
		ret = derived_prune(st);
		if (ret)
			snprintf(err, errlen, "%s: %s", st->path, st->errmsg);
	}
	if (!ret)
		ret = open_ro(st, err, errlen);
	if (!ret)
		st->next_id = last_alert_id(st) + 1;
	if (ret) {
		store_close(st);
		return ret;
	}
	*out = st;
	return 0;
}

void store_close(struct store *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->nr_pending; i++)
		alert_free(&st->pending[i]);
	free(st->pending);
	/* The writer last: closing it checkpoints and removes the WAL. */
	sqlite3_close(st->ro);
	sqlite3_close(st->db);
	free(st);
}

void store_set_query_limits(struct store *st, uint64_t max_steps,
			    uint64_t timeout_ms)
{
	st->max_steps = max_steps ? max_steps : QUERY_MAX_STEPS;
	st->timeout_ms = timeout_ms ? timeout_ms : QUERY_TIMEOUT_MS;
}

/* Fixed-size fields may lack their NUL; bind what is there, as bytes. */
static int bind_field(sqlite3_stmt *s, int idx, const char *field,
		      size_t size)
{
	return sqlite3_bind_text(s, idx, field, strnlen(field, size),
				 SQLITE_TRANSIENT);
}

#define BIND_FIELD(s, idx, f) bind_field((s), (idx), (f), sizeof(f))

static int bind_time(sqlite3_stmt *s, int idx, int64_t time_us)
{
	char buf[ALERT_TIME_LEN];

	format_rfc3339(time_us, buf, sizeof(buf));
	return sqlite3_bind_text(s, idx, buf, -1, SQLITE_TRANSIENT);
}

/* Nonzero when a bind failed; the reason is in sqlite3_errmsg(). */
static int bind_alert(sqlite3_stmt *s, const struct alert *a)
{
	return (a->id ? sqlite3_bind_int64(s, 1, a->id) :
			sqlite3_bind_null(s, 1)) ||
	       bind_time(s, 2, a->time_us) ||
	       sqlite3_bind_int64(s, 3, a->time_us) ||
	       bind_time(s, 4, a->updated_us) ||
	       sqlite3_bind_int64(s, 5, a->updated_us) ||
	       sqlite3_bind_text(s, 6, alert_severity_name(a->severity), -1,
				 SQLITE_STATIC) ||
	       sqlite3_bind_int64(s, 7, a->pid) ||
	       sqlite3_bind_int64(s, 8, a->ppid) ||
	       sqlite3_bind_int64(s, 9, a->uid) ||
	       BIND_FIELD(s, 10, a->user) || BIND_FIELD(s, 11, a->comm) ||
	       BIND_FIELD(s, 12, a->exe) || BIND_FIELD(s, 13, a->cmdline) ||
	       BIND_FIELD(s, 14, a->host) ||
	       /* u64 counters are kept as their int64 bit pattern. */
	       sqlite3_bind_int64(s, 15, (int64_t)a->bytes_read) ||
	       sqlite3_bind_int64(s, 16, (int64_t)a->bytes_sent) ||
	       BIND_FIELD(s, 17, a->sensor) || BIND_FIELD(s, 18, a->reason) ||
	       sqlite3_bind_int64(s, 19, (int64_t)a->first_ns) ||
	       sqlite3_bind_int64(s, 20, (int64_t)a->last_ns) ||
	       sqlite3_bind_int64(s, 21, (int64_t)a->taint) ||
	       sqlite3_bind_int64(s, 22, a->senders) ||
	       sqlite3_bind_text(s, 23, alert_action_name(a->action), -1,
				 SQLITE_STATIC) ||
	       sqlite3_bind_int64(s, 24, (int64_t)a->refused);
}

/* Run a bound statement that returns no row, and reset it for reuse. */
static int step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int put_children(struct store *st, const struct alert *a)
{
	sqlite3_stmt *files = NULL, *dests = NULL, *procs = NULL;
	sqlite3_stmt *steps = NULL;
	size_t i;
	int ret, rc = SQLITE_OK;

	ret = prepare(st,
		      "INSERT INTO alert_files (alert_id, path, bytes_read)"
		      " VALUES (?1, ?2, ?3)",
		      &files);
	if (!ret)
		ret = prepare(st,
			      "INSERT INTO alert_destinations"
			      " (alert_id, addr, port, proto, bytes_sent)"
			      " VALUES (?1, ?2, ?3, ?4, ?5)",
			      &dests);
	if (!ret)
		ret = prepare(st,
			      "INSERT INTO alert_ancestry"
			      " (alert_id, depth, pid, ppid, uid, comm, exe)"
			      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			      &procs);
	if (!ret)
		ret = prepare(st,
			      "INSERT INTO alert_chain (alert_id, step, pid,"
			      " comm, exe, via, object, bytes)"
			      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			      &steps);
	if (ret)
		goto out;

	for (i = 0; !rc && i < a->nr_files; i++) {
		const struct alert_file *f = &a->files[i];

		rc = sqlite3_bind_int64(files, 1, a->id) ||
		     BIND_FIELD(files, 2, f->path) ||
		     sqlite3_bind_int64(files, 3, (int64_t)f->bytes_read);
		rc = rc ? sqlite3_errcode(st->db) : step_done(files);
	}
	for (i = 0; !rc && i < a->nr_dests; i++) {
		const struct alert_dest *d = &a->dests[i];

		rc = sqlite3_bind_int64(dests, 1, a->id) ||
		     BIND_FIELD(dests, 2, d->addr) ||
		     sqlite3_bind_int(dests, 3, d->port) ||
		     sqlite3_bind_text(dests, 4, alert_proto_name(d->proto),
				       -1, SQLITE_STATIC) ||
		     sqlite3_bind_int64(dests, 5, (int64_t)d->bytes_sent);
		rc = rc ? sqlite3_errcode(st->db) : step_done(dests);
	}
	for (i = 0; !rc && i < a->nr_ancestry; i++) {
		const struct alert_proc *p = &a->ancestry[i];

		rc = sqlite3_bind_int64(procs, 1, a->id) ||
		     sqlite3_bind_int64(procs, 2, i) ||
		     sqlite3_bind_int64(procs, 3, p->pid) ||
		     sqlite3_bind_int64(procs, 4, p->ppid) ||
		     sqlite3_bind_int64(procs, 5, p->uid) ||
		     BIND_FIELD(procs, 6, p->comm) ||
		     BIND_FIELD(procs, 7, p->exe);
		rc = rc ? sqlite3_errcode(st->db) : step_done(procs);
	}
	for (i = 0; !rc && i < a->nr_chain; i++) {
		const struct alert_step *p = &a->chain[i];

		rc = sqlite3_bind_int64(steps, 1, a->id) ||
		     sqlite3_bind_int64(steps, 2, i) ||
		     sqlite3_bind_int64(steps, 3, p->pid) ||
		     BIND_FIELD(steps, 4, p->comm) ||
		     BIND_FIELD(steps, 5, p->exe) ||
		     sqlite3_bind_text(steps, 6, alert_via_name(p->via), -1,
				       SQLITE_STATIC) ||
		     BIND_FIELD(steps, 7, p->object) ||
		     sqlite3_bind_int64(steps, 8, (int64_t)p->bytes);
		rc = rc ? sqlite3_errcode(st->db) : step_done(steps);
	}
	if (rc)
		ret = store_fail(st, rc, "failed to store the details of alert %lld",
				 (long long)a->id);
out:
	sqlite3_finalize(steps);
	sqlite3_finalize(procs);
	sqlite3_finalize(dests);
	sqlite3_finalize(files);
	return ret;
}

/* Refused here, or the alert could never be read back. */
static int check_alert(struct store *st, const struct alert *a)
{
	size_t i;

	if (alert_severity_parse(alert_severity_name(a->severity)) < 0) {
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "alert %lld: invalid severity %d", (long long)a->id,
			 a->severity);
		return -EINVAL;
	}
	if (alert_action_parse(alert_action_name(a->action)) != a->action) {
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "alert %lld: invalid action %d", (long long)a->id,
			 a->action);
		return -EINVAL;
	}
	for (i = 0; i < a->nr_dests; i++) {
		if (alert_proto_parse(alert_proto_name(a->dests[i].proto)) <
		    0) {
			snprintf(st->errmsg, sizeof(st->errmsg),
				 "alert %lld: destination %zu has invalid "
				 "protocol %u",
				 (long long)a->id, i, a->dests[i].proto);
			return -EINVAL;
		}
	}
	for (i = 0; i < a->nr_chain; i++) {
		if (alert_via_parse(alert_via_name(a->chain[i].via)) !=
		    (int)a->chain[i].via) {
			snprintf(st->errmsg, sizeof(st->errmsg),
				 "alert %lld: chain step %zu has invalid "
				 "channel %u",
				 (long long)a->id, i, a->chain[i].via);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Write a checked alert, whose id is set, in one transaction: all of it or,
 * after a failure, what was there before. Its old details go first (none
 * for a new alert, or one that only waited in memory).
 */
static int put_alert(struct store *st, const struct alert *a)
{
	sqlite3_stmt *stmt = NULL;
	/* The id is an integer: formatting it into SQL is safe. */
	char sql[320];
	int rc, ret;

	ret = exec(st, "BEGIN IMMEDIATE");
	if (ret)
		return ret;
	snprintf(sql, sizeof(sql),
		 "DELETE FROM alert_files WHERE alert_id = %1$lld;"
		 "DELETE FROM alert_destinations WHERE alert_id = %1$lld;"
		 "DELETE FROM alert_ancestry WHERE alert_id = %1$lld;"
		 "DELETE FROM alert_chain WHERE alert_id = %1$lld;",
		 (long long)a->id);
	ret = exec(st, sql);
	if (ret)
		goto fail;
	ret = prepare(st,
		      "INSERT OR REPLACE INTO alerts (id, time, time_us,"
		      " updated, updated_us, severity, pid, ppid, uid, user,"
		      " comm, exe, cmdline, host, bytes_read, bytes_sent,"
		      " sensor, reason, first_ns, last_ns, taint, senders,"
		      " action, refused)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
		      " ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21,"
		      " ?22, ?23, ?24)",
		      &stmt);
	if (ret)
		goto fail;
	rc = bind_alert(stmt, a) ? sqlite3_errcode(st->db) : step_done(stmt);
	if (rc) {
		ret = store_fail(st, rc, "failed to store alert %lld",
				 (long long)a->id);
		goto fail;
	}
	ret = put_children(st, a);
	if (!ret)
		ret = exec(st, "COMMIT");
	if (ret)
		goto fail;
	sqlite3_finalize(stmt);
	return 0;

fail:
	sqlite3_finalize(stmt);
	rollback(st);
	return ret;
}

static struct alert *pending_find(struct store *st, int64_t id)
{
	size_t i;

	for (i = 0; i < st->nr_pending; i++)
		if (st->pending[i].id == id)
			return &st->pending[i];
	return NULL;
}

static void pending_remove(struct store *st, struct alert *p)
{
	size_t i = p - st->pending;

	alert_free(p);
	memmove(p, p + 1, (st->nr_pending - i - 1) * sizeof(*p));
	st->nr_pending--;
}

/*
 * Keep a copy of a to write later, in place of an older copy of the same
 * alert: only its latest figures matter. A full queue drops its oldest.
 */
static void pending_keep(struct store *st, const struct alert *a)
{
	struct alert copy, *p = pending_find(st, a->id), *grown;

	if (alert_copy(&copy, a)) {
		st->pending_dropped++;
		return;
	}
	if (p) {
		alert_free(p);
		*p = copy;
		return;
	}
	if (st->nr_pending == STORE_PENDING_MAX) {
		pending_remove(st, &st->pending[0]);
		st->pending_dropped++;
	}
	grown = realloc(st->pending, (st->nr_pending + 1) * sizeof(*grown));
	if (!grown) {
		alert_free(&copy);
		st->pending_dropped++;
		return;
	}
	st->pending = grown;
	st->pending[st->nr_pending++] = copy;
}

/*
 * A new alert's id is chosen here rather than by SQLite, so that it has
 * one even when the store cannot take it: the journal and the JSON log
 * name it at once, and the retry stores it under that same id.
 */
int store_put_alert(struct store *st, struct alert *a)
{
	bool is_new = !a->id;
	struct alert *p;
	int64_t last;
	int ret;

	ret = check_alert(st, a);
	if (ret)
		return ret;
	if (is_new) {
		/* another writer may have added alerts since */
		last = last_alert_id(st);
		if (st->next_id <= last)
			st->next_id = last + 1;
		a->id = st->next_id;
	}
	ret = put_alert(st, a);
	if (is_new)
		st->next_id = a->id + 1;
	p = pending_find(st, a->id);
	if (!ret) {
		/* an older copy must not overwrite these figures later */
		if (p)
			pending_remove(st, p);
		return 0;
	}
	/* a malformed alert would fail the same way for ever */
	if (ret != -EINVAL && ret != -E2BIG)
		pending_keep(st, a);
	return ret;
}

int store_retry(struct store *st)
{
	int ret;

	while (st->nr_pending) {
		ret = put_alert(st, &st->pending[0]);
		if (ret)
			return ret;
		pending_remove(st, &st->pending[0]);
	}
	return 0;
}

size_t store_pending(struct store *st, uint64_t *dropped)
{
	if (dropped) {
		*dropped = st->pending_dropped;
		st->pending_dropped = 0;
	}
	return st->nr_pending;
}

const char *store_path(const struct store *st)
{
	return st->path;
}

/* Copy a TEXT column into a fixed field, cut to fit. */
static void column_field(sqlite3_stmt *s, int col, char *buf, size_t size)
{
	const unsigned char *text = sqlite3_column_text(s, col);
	size_t n = sqlite3_column_bytes(s, col);

	if (!text)
		n = 0;
	if (n >= size)
		n = size - 1;
	memcpy(buf, text, n);
	buf[n] = '\0';
}

#define COLUMN_FIELD(s, col, f) column_field((s), (col), (f), sizeof(f))

#define ALERT_COLUMNS \
	"id, time_us, updated_us, severity, pid, ppid, uid, user, comm, exe," \
	" cmdline, host, bytes_read, bytes_sent, sensor, reason, first_ns," \
	" last_ns, taint, senders," \
	" coalesce((SELECT time_us FROM acks WHERE alert_id = alerts.id), 0)," \
	" coalesce((SELECT uid FROM acks WHERE alert_id = alerts.id), 0)," \
	" action, refused"

static int column_alert(struct store *st, sqlite3_stmt *s, struct alert *a)
{
	const char *sev = (const char *)sqlite3_column_text(s, 3);
	const char *act;

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(s, 0);
	a->time_us = sqlite3_column_int64(s, 1);
	a->updated_us = sqlite3_column_int64(s, 2);
	a->severity = alert_severity_parse(sev);
	a->pid = sqlite3_column_int64(s, 4);
	a->ppid = sqlite3_column_int64(s, 5);
	a->uid = sqlite3_column_int64(s, 6);
	COLUMN_FIELD(s, 7, a->user);
	COLUMN_FIELD(s, 8, a->comm);
	COLUMN_FIELD(s, 9, a->exe);
	COLUMN_FIELD(s, 10, a->cmdline);
	COLUMN_FIELD(s, 11, a->host);
	a->bytes_read = sqlite3_column_int64(s, 12);
	a->bytes_sent = sqlite3_column_int64(s, 13);
	COLUMN_FIELD(s, 14, a->sensor);
	COLUMN_FIELD(s, 15, a->reason);
	a->first_ns = sqlite3_column_int64(s, 16);
	a->last_ns = sqlite3_column_int64(s, 17);
	a->taint = sqlite3_column_int64(s, 18);
	a->senders = sqlite3_column_int64(s, 19);
	a->acked_us = sqlite3_column_int64(s, 20);
	a->acked_uid = sqlite3_column_int64(s, 21);
	act = (const char *)sqlite3_column_text(s, 22);
	a->action = alert_action_parse(act);
	a->refused = sqlite3_column_int64(s, 23);
	if (a->action < 0) {
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "alert %lld: unknown action '%.32s' in %s",
			 (long long)a->id, act ? act : "(null)", st->path);
		return -EUCLEAN;
	}
	if (a->severity < 0) {
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "alert %lld: unknown severity '%.32s' in %s",
			 (long long)a->id, sev ? sev : "(null)", st->path);
		return -EUCLEAN;
	}
	return 0;
}

static void column_file(sqlite3_stmt *s, void *elem)
{
	struct alert_file *f = elem;

	COLUMN_FIELD(s, 0, f->path);
	f->bytes_read = sqlite3_column_int64(s, 1);
}

static void column_dest(sqlite3_stmt *s, void *elem)
{
	struct alert_dest *d = elem;
	int proto = alert_proto_parse((const char *)sqlite3_column_text(s, 2));

	COLUMN_FIELD(s, 0, d->addr);
	d->port = sqlite3_column_int(s, 1);
	d->proto = proto < 0 ? 0 : proto;
	d->bytes_sent = sqlite3_column_int64(s, 3);
}

static void column_proc(sqlite3_stmt *s, void *elem)
{
	struct alert_proc *p = elem;

	p->pid = sqlite3_column_int64(s, 0);
	p->ppid = sqlite3_column_int64(s, 1);
	p->uid = sqlite3_column_int64(s, 2);
	COLUMN_FIELD(s, 3, p->comm);
	COLUMN_FIELD(s, 4, p->exe);
}

static void column_step(sqlite3_stmt *s, void *elem)
{
	struct alert_step *p = elem;
	int via = alert_via_parse((const char *)sqlite3_column_text(s, 3));

	p->pid = sqlite3_column_int64(s, 0);
	COLUMN_FIELD(s, 1, p->comm);
	COLUMN_FIELD(s, 2, p->exe);
	p->via = via < 0 ? VIA_UNKNOWN : via;
	COLUMN_FIELD(s, 4, p->object);
	p->bytes = sqlite3_column_int64(s, 5);
}

/* The statements that read an alert, prepared once per call. */
struct alert_reader {
	sqlite3_stmt *alerts;
	sqlite3_stmt *files;
	sqlite3_stmt *dests;
	sqlite3_stmt *procs;
	sqlite3_stmt *steps;
};

static void reader_finish(struct alert_reader *r)
{
	sqlite3_finalize(r->steps);
	sqlite3_finalize(r->procs);
	sqlite3_finalize(r->dests);
	sqlite3_finalize(r->files);
	sqlite3_finalize(r->alerts);
}

static int reader_init(struct store *st, struct alert_reader *r,
		       const char *alerts_sql)
{
	int ret;

	memset(r, 0, sizeof(*r));
	ret = prepare(st, alerts_sql, &r->alerts);
	if (!ret)
		ret = prepare(st,
			      "SELECT path, bytes_read FROM alert_files"
			      " WHERE alert_id = ?1 ORDER BY rowid",
			      &r->files);
	if (!ret)
		ret = prepare(st,
			      "SELECT addr, port, proto, bytes_sent"
			      " FROM alert_destinations WHERE alert_id = ?1"
			      " ORDER BY rowid",
			      &r->dests);
	if (!ret)
		ret = prepare(st,
			      "SELECT pid, ppid, uid, comm, exe"
			      " FROM alert_ancestry WHERE alert_id = ?1"
			      " ORDER BY depth",
			      &r->procs);
	if (!ret)
		ret = prepare(st,
			      "SELECT pid, comm, exe, via, object, bytes"
			      " FROM alert_chain WHERE alert_id = ?1"
			      " ORDER BY step",
			      &r->steps);
	if (ret)
		reader_finish(r);
	return ret;
}

/* Read the rows of s for alert id into a malloc'd array. */
static int read_children(struct store *st, sqlite3_stmt *s, int64_t id,
			 size_t size, void (*fill)(sqlite3_stmt *, void *),
			 void **out, size_t *nr)
{
	size_t n = 0, cap = 0;
	char *elems = NULL, *grown;
	int rc;

	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 4;
			grown = realloc(elems, cap * size);
			if (!grown) {
				free(elems);
				sqlite3_reset(s);
				return -ENOMEM;
			}
			elems = grown;
		}
		memset(elems + n * size, 0, size);
		fill(s, elems + n * size);
		n++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		free(elems);
		return store_fail(st, rc, "failed to read alert %lld",
				  (long long)id);
	}
	*out = elems;
	*nr = n;
	return 0;
}

/* The alert at the current row of r->alerts, with its details. */
static int read_alert(struct store *st, struct alert_reader *r,
		      struct alert *a)
{
	int ret = column_alert(st, r->alerts, a);

	if (!ret)
		ret = read_children(st, r->files, a->id, sizeof(*a->files),
				    column_file, (void **)&a->files,
				    &a->nr_files);
	if (!ret)
		ret = read_children(st, r->dests, a->id, sizeof(*a->dests),
				    column_dest, (void **)&a->dests,
				    &a->nr_dests);
	if (!ret)
		ret = read_children(st, r->procs, a->id, sizeof(*a->ancestry),
				    column_proc, (void **)&a->ancestry,
				    &a->nr_ancestry);
	if (!ret)
		ret = read_children(st, r->steps, a->id, sizeof(*a->chain),
				    column_step, (void **)&a->chain,
				    &a->nr_chain);
	if (ret)
		alert_free(a);
	return ret;
}

void store_free_alerts(struct alert *list, size_t nr)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < nr; i++)
		alert_free(&list[i]);
	free(list);
}

int store_list_alerts(struct store *st, int64_t since_us,
		      struct alert **out, size_t *nr)
{
	struct alert *list = NULL, *grown;
	struct alert_reader r;
	size_t n = 0, cap = 0;
	int rc, ret;

	*out = NULL;
	*nr = 0;
	/* One read transaction: the alerts and their details agree. */
	ret = exec(st, "BEGIN");
	if (ret)
		return ret;
	ret = reader_init(st, &r,
			  "SELECT " ALERT_COLUMNS " FROM alerts"
			  " WHERE updated_us >= ?1"
			  " ORDER BY updated_us DESC, id DESC");
	if (ret)
		goto out_rollback;
	sqlite3_bind_int64(r.alerts, 1, since_us);
	while ((rc = sqlite3_step(r.alerts)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			grown = realloc(list, cap * sizeof(*list));
			if (!grown) {
				ret = -ENOMEM;
				snprintf(st->errmsg, sizeof(st->errmsg),
					 "failed to list alerts: %s",
					 strerror(ENOMEM));
				goto out_finish;
			}
			list = grown;
		}
		ret = read_alert(st, &r, &list[n]);
		if (ret)
			goto out_finish;
		n++;
	}
	if (rc != SQLITE_DONE) {
		ret = store_fail(st, rc, "failed to list alerts");
		goto out_finish;
	}
	reader_finish(&r);
	exec(st, "COMMIT");
	*out = list;
	*nr = n;
	return 0;

out_finish:
	reader_finish(&r);
	store_free_alerts(list, n);
out_rollback:
	rollback(st);
	return ret;
}

int store_get_alert(struct store *st, int64_t id, struct alert *out)
{
	struct alert_reader r;
	int rc, ret;

	memset(out, 0, sizeof(*out));
	ret = exec(st, "BEGIN");
	if (ret)
		return ret;
	ret = reader_init(st, &r,
			  "SELECT " ALERT_COLUMNS " FROM alerts WHERE id = ?1");
	if (ret)
		goto out_rollback;
	sqlite3_bind_int64(r.alerts, 1, id);
	rc = sqlite3_step(r.alerts);
	if (rc == SQLITE_ROW) {
		ret = read_alert(st, &r, out);
	} else if (rc == SQLITE_DONE) {
		snprintf(st->errmsg, sizeof(st->errmsg), "no alert %lld",
			 (long long)id);
		ret = -ENOENT;
	} else {
		ret = store_fail(st, rc, "failed to read alert %lld",
				 (long long)id);
	}
	reader_finish(&r);
out_rollback:
	rollback(st);
	return ret;
}

/* Run a statement returning one integer. */
static int query_int(struct store *st, const char *sql, int64_t *out)
{
	sqlite3_stmt *stmt;
	int rc, ret;

	ret = prepare(st, sql, &stmt);
	if (ret)
		return ret;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(stmt, 0);
	else
		ret = store_fail(st, rc, "%s", sql);
	sqlite3_finalize(stmt);
	return ret;
}

int store_count_alerts(struct store *st, int64_t *count)
{
	return query_int(st, "SELECT count(*) FROM alerts", count);
}

int store_find_alert(struct store *st, const char *host, const char *path,
		     int64_t since_us, struct alert *found)
{
	sqlite3_stmt *stmt;
	int rc, ret;

	ret = prepare(st,
		      "SELECT a.id, a.time_us, a.bytes_read, a.bytes_sent"
		      " FROM alerts a"
		      " WHERE a.host = ?1 AND a.updated_us >= ?3 AND EXISTS"
		      " (SELECT 1 FROM alert_files f"
		      "  WHERE f.alert_id = a.id AND f.path = ?2)"
		      " ORDER BY a.id DESC LIMIT 1", &stmt);
	if (ret)
		return ret;
	rc = sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(stmt, 2, path, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(stmt, 3, since_us);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		found->id = sqlite3_column_int64(stmt, 0);
		found->time_us = sqlite3_column_int64(stmt, 1);
		found->bytes_read = sqlite3_column_int64(stmt, 2);
		found->bytes_sent = sqlite3_column_int64(stmt, 3);
		ret = 1;
	} else if (rc != SQLITE_DONE) {
		ret = store_fail(st, rc, "failed to look up an alert to %s",
				 host);
	}
	sqlite3_finalize(stmt);
	return ret;
}

int store_ack(struct store *st, int64_t id, uint32_t uid, int64_t time_us,
	      int64_t *acked_us)
{
	sqlite3_stmt *stmt;
	int rc, ret;

	/* the first acknowledgement stands: a second one changes nothing */
	ret = prepare(st, "INSERT OR IGNORE INTO acks (alert_id, time_us, uid)"
			  " SELECT id, ?2, ?3 FROM alerts WHERE id = ?1", &stmt);
	if (ret)
		return ret;
	rc = sqlite3_bind_int64(stmt, 1, id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(stmt, 2, time_us);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(stmt, 3, uid);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(st, rc, "failed to acknowledge alert %lld",
				  (long long)id);
	ret = prepare(st, "SELECT time_us FROM acks WHERE alert_id = ?1",
		      &stmt);
	if (ret)
		return ret;
	rc = sqlite3_bind_int64(stmt, 1, id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*acked_us = sqlite3_column_int64(stmt, 0);
	else if (rc == SQLITE_DONE)
		ret = -ENOENT;	/* no such alert */
	else
		ret = store_fail(st, rc, "failed to read the acknowledgement "
				 "of alert %lld", (long long)id);
	sqlite3_finalize(stmt);
	return ret;
}

/* Run a statement with one text parameter and no result. */
static int exec_text(struct store *st, const char *sql, const char *arg,
		     int *changes)
{
	sqlite3_stmt *stmt;
	int rc, ret;

	ret = prepare(st, sql, &stmt);
	if (ret)
		return ret;
	rc = sqlite3_bind_text(stmt, 1, arg, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE) {
		*changes = sqlite3_changes(st->db);
	} else if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		ret = -EEXIST;
	} else {
		ret = store_fail(st, rc, "%s", sql);
	}
	sqlite3_finalize(stmt);
	return ret;
}

int store_watch_add(struct store *st, const char *path)
{
	char sql[128], now[ALERT_TIME_LEN];
	struct timespec ts;
	int changes, ret;

	if (!path || !*path) {
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "watch add: empty path");
		return -EINVAL;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	format_rfc3339((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, now,
		       sizeof(now));
	/* The timestamp is our own digits, safe inside the SQL text. */
	snprintf(sql, sizeof(sql),
		 "INSERT INTO watches (path, added) VALUES (?1, '%s')", now);
	ret = exec_text(st, sql, path, &changes);
	if (ret == -EEXIST)
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "watch add %s: already watched", path);
	return ret;
}

int store_watch_rm(struct store *st, const char *path)
{
	int changes = 0, ret;

	ret = exec_text(st, "DELETE FROM watches WHERE path = ?1", path,
			&changes);
	if (!ret && !changes) {
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "watch rm %s: not in the run-time watch list", path);
		ret = -ENOENT;
	}
	return ret;
}

/*
 * Every row of stmt, as row() makes an element of size bytes from it, in
 * an array that grows by doubling; on failure, drop() undoes the elements
 * made (NULL: nothing to undo) and what says what failed. stmt is
 * finalized either way.
 */
static int list_rows(struct store *st, sqlite3_stmt *stmt, size_t size,
		     int (*row)(struct store *, sqlite3_stmt *, void *),
		     void (*drop)(void *), const char *what, void **out,
		     size_t *nr)
{
	char *list = NULL, *grown;
	size_t n = 0, cap = 0;
	int rc, ret = 0;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			grown = realloc(list, cap * size);
			if (!grown) {
				ret = -ENOMEM;
				snprintf(st->errmsg, sizeof(st->errmsg),
					 "failed to list %s: %s", what,
					 strerror(ENOMEM));
				goto fail;
			}
			list = grown;
		}
		ret = row(st, stmt, list + n * size);
		if (ret)
			goto fail;
		n++;
	}
	if (rc != SQLITE_DONE) {
		ret = store_fail(st, rc, "failed to list %s", what);
		goto fail;
	}
	sqlite3_finalize(stmt);
	*out = list;
	*nr = n;
	return 0;

fail:
	sqlite3_finalize(stmt);
	while (drop && n--)
		drop(list + n * size);
	free(list);
	return ret;
}

static int column_watch(struct store *st, sqlite3_stmt *stmt, void *elem)
{
	char **path = elem;

	*path = strdup((const char *)sqlite3_column_text(stmt, 0));
	if (*path)
		return 0;
	snprintf(st->errmsg, sizeof(st->errmsg), "failed to list watches: %s",
		 strerror(ENOMEM));
	return -ENOMEM;
}

static void drop_watch(void *elem)
{
	free(*(char **)elem);
}

int store_watch_list(struct store *st, char ***paths, size_t *nr)
{
	sqlite3_stmt *stmt;
	int ret;

	*paths = NULL;
	*nr = 0;
	ret = prepare(st, "SELECT path FROM watches ORDER BY rowid", &stmt);
	if (ret)
		return ret;
	return list_rows(st, stmt, sizeof(**paths), column_watch, drop_watch,
			 "watches", (void **)paths, nr);
}

void store_free_watches(char **paths, size_t nr)
{
	size_t i;

	if (!paths)
		return;
	for (i = 0; i < nr; i++)
		free(paths[i]);
	free(paths);
}

/*
 * Overrides (exfilctl allow). The destination is kept as text, the way the
 * analyst reads it in SQL, and parsed back into the sensor's key.
 */

static void dest_text(const struct exfilmon_dest *d, char *buf, size_t len)
{
	if (d->family == EXFILMON_AF_INET)
		inet_ntop(AF_INET, d->addr, buf, len);
	else
		inet_ntop(AF_INET6, d->addr, buf, len);
}

static int dest_parse(const char *text, struct exfilmon_dest *d)
{
	memset(d->addr, 0, sizeof(d->addr));
	if (inet_pton(AF_INET, text, d->addr) == 1) {
		d->family = EXFILMON_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, d->addr) == 1) {
		d->family = EXFILMON_AF_INET6;
		return 0;
	}
	return -EUCLEAN;
}

static const char *override_kind_name(uint32_t kind)
{
	return kind == EXFILMON_ALLOW_PID ? "pid" :
	       kind == EXFILMON_ALLOW_EXE ? "exe" : NULL;
}

int store_override_add(struct store *st, struct store_override *o)
{
	const char *kind = override_kind_name(o->key.kind);
	char addr[INET6_ADDRSTRLEN];
	sqlite3_stmt *stmt;
	int rc, ret;

	if (!kind) {
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "override: invalid kind %u", o->key.kind);
		return -EINVAL;
	}
	dest_text(&o->key.dest, addr, sizeof(addr));
	ret = prepare(st,
		      "INSERT INTO overrides (kind, pid, start_ticks, dev, ino,"
		      " who, addr, port, granted, granted_us, granted_uid,"
		      " until, until_us, boot_id)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
		      " ?12, ?13, ?14)", &stmt);
	if (ret)
		return ret;
	/* a pid override keys on (tgid, start); an exe one on (dev, ino) */
	rc = sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC) ||
	     sqlite3_bind_int64(stmt, 2, o->key.kind == EXFILMON_ALLOW_PID ?
				(int64_t)o->key.id[0] : 0) ||
	     sqlite3_bind_int64(stmt, 3, o->key.kind == EXFILMON_ALLOW_PID ?
				(int64_t)o->key.id[1] : 0) ||
	     sqlite3_bind_int64(stmt, 4, o->key.kind == EXFILMON_ALLOW_EXE ?
				(int64_t)o->key.id[0] : 0) ||
	     sqlite3_bind_int64(stmt, 5, o->key.kind == EXFILMON_ALLOW_EXE ?
				(int64_t)o->key.id[1] : 0) ||
	     BIND_FIELD(stmt, 6, o->who) ||
	     sqlite3_bind_text(stmt, 7, addr, -1, SQLITE_TRANSIENT) ||
	     sqlite3_bind_int64(stmt, 8, o->key.dest.port) ||
	     bind_time(stmt, 9, o->granted_us) ||
	     sqlite3_bind_int64(stmt, 10, o->granted_us) ||
	     sqlite3_bind_int64(stmt, 11, o->granted_uid) ||
	     bind_time(stmt, 12, o->until_us) ||
	     sqlite3_bind_int64(stmt, 13, o->until_us) ||
	     BIND_FIELD(stmt, 14, o->boot_id) ?
		sqlite3_errcode(st->db) : sqlite3_step(stmt);
	if (rc != SQLITE_DONE) {
		ret = store_fail(st, rc, "failed to store the override");
	} else {
		o->id = sqlite3_last_insert_rowid(st->db);
		o->ended_us = 0;
		o->ended[0] = '\0';
	}
	sqlite3_finalize(stmt);
	return ret;
}

int store_override_end(struct store *st, int64_t id, int64_t ended_us,
		       const char *how)
{
	sqlite3_stmt *stmt;
	int rc, ret;

	ret = prepare(st, "UPDATE overrides SET ended_us = ?2, ended = ?3"
			  " WHERE id = ?1 AND ended_us = 0", &stmt);
	if (ret)
		return ret;
	rc = sqlite3_bind_int64(stmt, 1, id) ||
	     sqlite3_bind_int64(stmt, 2, ended_us) ||
	     sqlite3_bind_text(stmt, 3, how, -1, SQLITE_STATIC) ?
		sqlite3_errcode(st->db) : sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, "failed to end override %lld",
				 (long long)id);
	else if (!sqlite3_changes(st->db))
		ret = -ENOENT;
	sqlite3_finalize(stmt);
	return ret;
}

#define OVERRIDE_COLUMNS \
	"id, kind, pid, start_ticks, dev, ino, who, addr, port, granted_us," \
	" granted_uid, until_us, boot_id, ended_us, ended"

/* One row of OVERRIDE_COLUMNS into the store_override elem. */
static int column_override(struct store *st, sqlite3_stmt *s, void *elem)
{
	struct store_override *o = elem;
	const char *kind = (const char *)sqlite3_column_text(s, 1);
	const char *addr = (const char *)sqlite3_column_text(s, 7);
	int64_t port = sqlite3_column_int64(s, 8);

	memset(o, 0, sizeof(*o));
	o->id = sqlite3_column_int64(s, 0);
	if (kind && !strcmp(kind, "pid")) {
		o->key.kind = EXFILMON_ALLOW_PID;
		o->key.id[0] = sqlite3_column_int64(s, 2);
		o->key.id[1] = sqlite3_column_int64(s, 3);
	} else if (kind && !strcmp(kind, "exe")) {
		o->key.kind = EXFILMON_ALLOW_EXE;
		o->key.id[0] = sqlite3_column_int64(s, 4);
		o->key.id[1] = sqlite3_column_int64(s, 5);
	}
	COLUMN_FIELD(s, 6, o->who);
	o->granted_us = sqlite3_column_int64(s, 9);
	o->granted_uid = sqlite3_column_int64(s, 10);
	o->until_us = sqlite3_column_int64(s, 11);
	COLUMN_FIELD(s, 12, o->boot_id);
	o->ended_us = sqlite3_column_int64(s, 13);
	COLUMN_FIELD(s, 14, o->ended);
	/* a row edited by hand is refused, not pushed half-understood */
	if (!o->key.kind || !addr || dest_parse(addr, &o->key.dest) ||
	    port < 0 || port > 65535) {
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "override %lld: unreadable kind, address or port in %s",
			 (long long)o->id, st->path);
		return -EUCLEAN;
	}
	o->key.dest.port = port;
	return 0;
}

int store_override_get(struct store *st, int64_t id,
		       struct store_override *out)
{
	sqlite3_stmt *stmt;
	int rc, ret;

	ret = prepare(st, "SELECT " OVERRIDE_COLUMNS " FROM overrides"
			  " WHERE id = ?1", &stmt);
	if (ret)
		return ret;
	rc = sqlite3_bind_int64(stmt, 1, id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		ret = column_override(st, stmt, out);
	else if (rc == SQLITE_DONE)
		ret = -ENOENT;
	else
		ret = store_fail(st, rc, "failed to read override %lld",
				 (long long)id);
	sqlite3_finalize(stmt);
	return ret;
}

int store_override_list(struct store *st, int all,
			struct store_override **out, size_t *nr)
{
	sqlite3_stmt *stmt;
	int ret;

	*out = NULL;
	*nr = 0;
	ret = prepare(st, all ?
		      "SELECT " OVERRIDE_COLUMNS " FROM overrides ORDER BY id" :
		      "SELECT " OVERRIDE_COLUMNS " FROM overrides"
		      " WHERE ended_us = 0 ORDER BY id", &stmt);
	if (ret)
		return ret;
	return list_rows(st, stmt, sizeof(**out), column_override, NULL,
			 "overrides", (void **)out, nr);
}

/*
 * Derived marks: files written by tainted processes (docs/flow.md), so the
 * daemon can put them back into the sensor after a restart and name the
 * chain behind a staged copy read long after its writer is gone.
 */

static void now_rfc3339(char *buf, size_t len)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	format_rfc3339((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, buf,
		       len);
}

void store_set_derived_max(struct store *st, size_t max)
{
	st->derived_max = max ? max : STORE_DERIVED_MAX;
}

/* Keep the derived_max most recently seen marks. */
static int derived_prune(struct store *st)
{
	sqlite3_stmt *stmt;
	int rc, ret;

	ret = prepare(st,
		      "DELETE FROM derived WHERE rowid IN (SELECT rowid FROM"
		      " derived ORDER BY last_seen DESC LIMIT -1 OFFSET ?1)",
		      &stmt);
	if (ret)
		return ret;
	sqlite3_bind_int64(stmt, 1, (int64_t)st->derived_max);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	st->derived_puts = 0;
	if (rc != SQLITE_DONE)
		return store_fail(st, rc, "failed to prune derived marks");
	return 0;
}

int store_derived_put(struct store *st, const struct exfilmon_file_key *key,
		      const struct exfilmon_obj *obj, const char *path,
		      const char *chain)
{
	char now[ALERT_TIME_LEN];
	sqlite3_stmt *stmt;
	int rc, ret;

	if (!(obj->flags & EXFILMON_OBJ_DERIVED) ||
	    (key->dev & EXFILMON_KEY_TAG_MASK)) {
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "derived mark %llu:%llu: not a derived file "
			 "(flags 0x%x)",
			 (unsigned long long)key->dev,
			 (unsigned long long)key->ino, obj->flags);
		return -EINVAL;
	}
	now_rfc3339(now, sizeof(now));
	/*
	 * The same inode with another generation is another file: it
	 * starts over. Otherwise an empty path or chain keeps what is known.
	 */
	ret = prepare(st,
		      "INSERT INTO derived (dev, ino, gen, watch_id, chan,"
		      " taint, writer_pid, writer_start_ns, path, chain,"
		      " first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
		      " ?7, ?8, ?9, ?10, ?11, ?11)"
		      " ON CONFLICT (dev, ino) DO UPDATE SET"
		      " path = CASE WHEN excluded.path <> '' OR"
		      "  gen <> excluded.gen THEN excluded.path ELSE path END,"
		      " chain = CASE WHEN excluded.chain <> '' OR"
		      "  gen <> excluded.gen THEN excluded.chain ELSE chain END,"
		      " first_seen = CASE WHEN gen <> excluded.gen"
		      "  THEN excluded.first_seen ELSE first_seen END,"
		      " gen = excluded.gen, watch_id = excluded.watch_id,"
		      " chan = excluded.chan, taint = excluded.taint,"
		      " writer_pid = excluded.writer_pid,"
		      " writer_start_ns = excluded.writer_start_ns,"
		      " last_seen = excluded.last_seen",
		      &stmt);
	if (ret)
		return ret;
	rc = sqlite3_bind_int64(stmt, 1, (int64_t)key->dev) ||
	     sqlite3_bind_int64(stmt, 2, (int64_t)key->ino) ||
	     sqlite3_bind_int64(stmt, 3, obj->gen) ||
	     sqlite3_bind_int64(stmt, 4, obj->watch_id) ||
	     sqlite3_bind_text(stmt, 5, alert_via_name(obj->chan), -1,
			       SQLITE_STATIC) ||
	     sqlite3_bind_int64(stmt, 6, (int64_t)obj->taint) ||
	     sqlite3_bind_int64(stmt, 7, obj->writer.tgid) ||
	     sqlite3_bind_int64(stmt, 8, (int64_t)obj->writer.start_ns) ||
	     sqlite3_bind_text(stmt, 9, path ? path : "", -1,
			       SQLITE_STATIC) ||
	     sqlite3_bind_text(stmt, 10, chain ? chain : "", -1,
			       SQLITE_STATIC) ||
	     sqlite3_bind_text(stmt, 11, now, -1, SQLITE_STATIC);
	rc = rc ? sqlite3_errcode(st->db) : step_done(stmt);
	sqlite3_finalize(stmt);
	if (rc)
		return store_fail(st, rc, "failed to store derived mark %llu:%llu",
				  (unsigned long long)key->dev,
				  (unsigned long long)key->ino);
	if (++st->derived_puts >= DERIVED_PRUNE_EVERY)
		return derived_prune(st);
	return 0;
}

/*
 * The mark at the current row: dev, ino, gen, watch_id, chan, taint,
 * writer_pid, writer_start_ns.
 */
static void column_derived(sqlite3_stmt *s, struct exfilmon_file_key *key,
			   struct exfilmon_obj *obj)
{
	int chan = alert_via_parse((const char *)sqlite3_column_text(s, 4));

	key->dev = sqlite3_column_int64(s, 0);
	key->ino = sqlite3_column_int64(s, 1);
	memset(obj, 0, sizeof(*obj));
	obj->flags = EXFILMON_OBJ_DERIVED;
	obj->gen = sqlite3_column_int64(s, 2);
	obj->watch_id = sqlite3_column_int64(s, 3);
	/* written by this daemon: only file and shm */
	obj->chan = chan == VIA_SHM ? EXFILMON_CHAN_SHM : EXFILMON_CHAN_FILE;
	obj->taint = sqlite3_column_int64(s, 5);
	obj->writer.tgid = sqlite3_column_int64(s, 6);
	obj->writer.start_ns = sqlite3_column_int64(s, 7);
}

#define DERIVED_COLUMNS \
	"dev, ino, gen, watch_id, chan, taint, writer_pid, writer_start_ns"

static char *column_strdup(sqlite3_stmt *s, int col)
{
	const unsigned char *text = sqlite3_column_text(s, col);
	size_t n = sqlite3_column_bytes(s, col);
	char *out = malloc(n + 1);

	if (!out)
		return NULL;
	memcpy(out, text ? (const char *)text : "", text ? n : 0);
	out[text ? n : 0] = '\0';
	return out;
}

/* A statement on the one mark named by key, as ?1 (dev) and ?2 (ino). */
static int prepare_key(struct store *st, const char *sql,
		       const struct exfilmon_file_key *key,
		       sqlite3_stmt **stmt)
{
	int ret = prepare(st, sql, stmt);

	if (ret)
		return ret;
	sqlite3_bind_int64(*stmt, 1, (int64_t)key->dev);
	sqlite3_bind_int64(*stmt, 2, (int64_t)key->ino);
	return 0;
}

int store_derived_get(struct store *st, const struct exfilmon_file_key *key,
		      struct exfilmon_obj *obj, char **path, char **chain)
{
	struct exfilmon_file_key k;
	sqlite3_stmt *stmt;
	int rc, ret;

	*path = NULL;
	*chain = NULL;
	ret = prepare_key(st,
			  "SELECT " DERIVED_COLUMNS ", path, chain FROM derived"
			  " WHERE dev = ?1 AND ino = ?2",
			  key, &stmt);
	if (ret)
		return ret;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		column_derived(stmt, &k, obj);
		*path = column_strdup(stmt, 8);
		*chain = column_strdup(stmt, 9);
		if (!*path || !*chain) {
			free(*path);
			free(*chain);
			*path = *chain = NULL;
			snprintf(st->errmsg, sizeof(st->errmsg),
				 "failed to read derived mark: %s",
				 strerror(ENOMEM));
			ret = -ENOMEM;
		}
	} else if (rc == SQLITE_DONE) {
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "no derived mark %llu:%llu",
			 (unsigned long long)key->dev,
			 (unsigned long long)key->ino);
		ret = -ENOENT;
	} else {
		ret = store_fail(st, rc, "failed to read derived mark %llu:%llu",
				 (unsigned long long)key->dev,
				 (unsigned long long)key->ino);
	}
	sqlite3_finalize(stmt);
	return ret;
}

int store_derived_rm(struct store *st, const struct exfilmon_file_key *key)
{
	sqlite3_stmt *stmt;
	int rc, ret;

	ret = prepare_key(st, "DELETE FROM derived WHERE dev = ?1 AND ino = ?2",
			  key, &stmt);
	if (ret)
		return ret;
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(st, rc, "failed to delete derived mark");
	if (!sqlite3_changes(st->db)) {
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "no derived mark %llu:%llu",
			 (unsigned long long)key->dev,
			 (unsigned long long)key->ino);
		return -ENOENT;
	}
	return 0;
}

struct derived_entry {
	struct exfilmon_file_key key;
	struct exfilmon_obj obj;
};

int store_derived_each(struct store *s,
		       int (*fn)(void *ctx, const struct exfilmon_file_key *key,
				 const struct exfilmon_obj *obj),
		       void *ctx)
{
	struct derived_entry *list = NULL, *grown;
	size_t n = 0, cap = 0, i;
	sqlite3_stmt *stmt;
	int rc, ret;

	/*
	 * Read first, call after: fn may use the store, and a sensor whose
	 * table fills up gets the most recently seen marks first.
	 */
	ret = prepare(s, "SELECT " DERIVED_COLUMNS " FROM derived"
			 " ORDER BY last_seen DESC, rowid DESC", &stmt);
	if (ret)
		return ret;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			grown = realloc(list, cap * sizeof(*list));
			if (!grown) {
				snprintf(s->errmsg, sizeof(s->errmsg),
					 "failed to list derived marks: %s",
					 strerror(ENOMEM));
				ret = -ENOMEM;
				goto out;
			}
			list = grown;
		}
		column_derived(stmt, &list[n].key, &list[n].obj);
		n++;
	}
	if (rc != SQLITE_DONE) {
		ret = store_fail(s, rc, "failed to list derived marks");
		goto out;
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	for (i = 0; !ret && i < n; i++)
		ret = fn(ctx, &list[i].key, &list[i].obj);
out:
	sqlite3_finalize(stmt);
	free(list);
	return ret;
}

/*
 * The query gate. Everything below runs on st->ro only.
 */

/* Pragmas that describe the schema; an argument names a table or index. */
static const char *const pragma_schema[] = {
	"table_info", "table_xinfo", "table_list", "index_list",
	"index_info", "index_xinfo", "foreign_key_list", NULL,
};

/* Pragmas that read a setting: with an argument they would change it. */
static const char *const pragma_read[] = {
	"database_list", "collation_list", "function_list", "module_list",
	"pragma_list", "compile_options", "user_version", "schema_version",
	"application_id", "page_size", "page_count", "freelist_count",
	"encoding", "data_version", NULL,
};

/*
 * Functions that reach outside the database: loading code, the SQLite
 * shell's file I/O (in case a build or extension provides them), and
 * fts3_tokenizer(), which takes a raw pointer.
 */
static const char *const function_denied[] = {
	"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer",
	NULL,
};

static bool in_list(const char *const *list, const char *name)
{
	for (; name && *list; list++)
		if (!strcasecmp(*list, name))
			return true;
	return false;
}

static const char *const action_names[] = {
	[SQLITE_CREATE_INDEX] = "CREATE INDEX",
	[SQLITE_CREATE_TABLE] = "CREATE TABLE",
	[SQLITE_CREATE_TEMP_INDEX] = "CREATE TEMP INDEX",
	[SQLITE_CREATE_TEMP_TABLE] = "CREATE TEMP TABLE",
	[SQLITE_CREATE_TEMP_TRIGGER] = "CREATE TEMP TRIGGER",
	[SQLITE_CREATE_TEMP_VIEW] = "CREATE TEMP VIEW",
	[SQLITE_CREATE_TRIGGER] = "CREATE TRIGGER",
	[SQLITE_CREATE_VIEW] = "CREATE VIEW",
	[SQLITE_DELETE] = "DELETE",
	[SQLITE_DROP_INDEX] = "DROP INDEX",
	[SQLITE_DROP_TABLE] = "DROP TABLE",
	[SQLITE_DROP_TEMP_INDEX] = "DROP TEMP INDEX",
	[SQLITE_DROP_TEMP_TABLE] = "DROP TEMP TABLE",
	[SQLITE_DROP_TEMP_TRIGGER] = "DROP TEMP TRIGGER",
	[SQLITE_DROP_TEMP_VIEW] = "DROP TEMP VIEW",
	[SQLITE_DROP_TRIGGER] = "DROP TRIGGER",
	[SQLITE_DROP_VIEW] = "DROP VIEW",
	[SQLITE_INSERT] = "INSERT",
	[SQLITE_PRAGMA] = "PRAGMA",
	[SQLITE_READ] = "READ",
	[SQLITE_SELECT] = "SELECT",
	[SQLITE_TRANSACTION] = "BEGIN/COMMIT/ROLLBACK",
	[SQLITE_UPDATE] = "UPDATE",
	[SQLITE_ATTACH] = "ATTACH",
	[SQLITE_DETACH] = "DETACH",
	[SQLITE_ALTER_TABLE] = "ALTER TABLE",
	[SQLITE_REINDEX] = "REINDEX",
	[SQLITE_ANALYZE] = "ANALYZE",
	[SQLITE_CREATE_VTABLE] = "CREATE VIRTUAL TABLE",
	[SQLITE_DROP_VTABLE] = "DROP VIRTUAL TABLE",
	[SQLITE_FUNCTION] = "function",
	[SQLITE_SAVEPOINT] = "SAVEPOINT",
	[SQLITE_RECURSIVE] = "RECURSIVE",
};

/* SQL text echoed in a reason: short, and printable ASCII only. */
static const char *clean(const char *s, char *buf, size_t size)
{
	size_t i;

	if (!s)
		return "";
	for (i = 0; s[i] && i + 1 < size; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

static int deny(struct query_ctx *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int deny(struct query_ctx *q, const char *fmt, ...)
{
	va_list ap;

	/* Keep the first reason: later ones are usually its consequences. */
	if (!q->denied[0]) {
		va_start(ap, fmt);
		vsnprintf(q->denied, sizeof(q->denied), fmt, ap);
		va_end(ap);
	}
	return SQLITE_DENY;
}

/*
 * Called while each statement is compiled, including the statements that
 * pragma table-valued functions (pragma_table_info()...) compile inside.
 */
static int query_authorize(void *arg, int action, const char *a3,
			   const char *a4, const char *db, const char *trigger)
{
	struct query_ctx *q = arg;
	char b3[64], b4[64];
	const char *name;

	switch (action) {
	case SQLITE_SELECT:
		q->saw_read = true;
		return SQLITE_OK;
	case SQLITE_READ:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_FUNCTION:
		if (in_list(function_denied, a4))
			return deny(q, "function %s() is not allowed",
				    clean(a4, b4, sizeof(b4)));
		return SQLITE_OK;
	case SQLITE_PRAGMA:
		if (in_list(pragma_schema, a3) ||
		    (in_list(pragma_read, a3) && !a4)) {
			q->saw_read = true;
			return SQLITE_OK;
		}
		if (in_list(pragma_read, a3))
			return deny(q, "PRAGMA %s with a value sets it",
				    clean(a3, b3, sizeof(b3)));
		return deny(q, "PRAGMA %s%s%s is not a schema or setting read",
			    clean(a3, b3, sizeof(b3)), a4 ? " = " : "",
			    clean(a4, b4, sizeof(b4)));
	case SQLITE_UPDATE:
		/*
		 * SQLite refuses a real UPDATE of sqlite_master before asking
		 * us; this one comes from the schema bookkeeping it compiles
		 * when a query first uses an eponymous virtual table.
		 */
		if (a3 && (!strcmp(a3, "sqlite_master") ||
			   !strcmp(a3, "sqlite_temp_master")))
			return deny(q, "table-valued functions such as "
				       "json_each() or pragma_table_info() "
				       "are not supported");
		/* fallthrough */
	case SQLITE_INSERT:
	case SQLITE_DELETE:
		return deny(q, "statement writes: %s on %s",
			    action_names[action], clean(a3, b3, sizeof(b3)));
	case SQLITE_TRANSACTION:
		return deny(q, "transaction control: %s",
			    clean(a3, b3, sizeof(b3)));
	case SQLITE_SAVEPOINT:
		/* a3 is BEGIN, RELEASE or ROLLBACK, a4 the savepoint. */
		return deny(q, "transaction control: SAVEPOINT %s %s",
			    clean(a3, b3, sizeof(b3)), clean(a4, b4, sizeof(b4)));
	case SQLITE_ATTACH:
	case SQLITE_DETACH:
		return deny(q, "%s is not allowed", action_names[action]);
	case SQLITE_ALTER_TABLE:
		/* a3 is the schema, a4 the table. */
		return deny(q, "statement changes the schema: ALTER TABLE %s",
			    clean(a4, b4, sizeof(b4)));
	default:
		name = action >= 0 && action < (int)(sizeof(action_names) /
						     sizeof(action_names[0])) ?
			       action_names[action] :
			       NULL;
		if (!name)
			return deny(q, "SQLite action %d is not allowed",
				    action);
		return deny(q, "statement changes the schema: %s %s", name,
			    clean(a3, b3, sizeof(b3)));
	}
}

static bool deadline_passed(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec &&
		now.tv_nsec >= deadline->tv_nsec);
}

/* Every QUERY_PROGRESS_OPS VM instructions: nonzero interrupts the query. */
static int query_progress(void *arg)
{
	struct query_ctx *q = arg;

	q->steps += QUERY_PROGRESS_OPS;
	if (q->steps > q->max_steps) {
		snprintf(q->interrupted, sizeof(q->interrupted),
			 "query interrupted: it ran more than %llu SQLite "
			 "VM steps (add a LIMIT or a narrower WHERE)",
			 (unsigned long long)q->max_steps);
		return 1;
	}
	if (deadline_passed(&q->deadline)) {
		snprintf(q->interrupted, sizeof(q->interrupted),
			 "query interrupted: it ran longer than %llu ms "
			 "(add a LIMIT or a narrower WHERE)",
			 (unsigned long long)q->timeout_ms);
		return 1;
	}
	return 0;
}

/*
 * What SQLite would compile after the first statement: true if that is only
 * whitespace, comments and empty statements. An unterminated comment runs
 * to the end, as in SQLite's tokenizer.
 */
static bool only_comments(const char *s)
{
	while (*s) {
		if (isspace((unsigned char)*s) || *s == ';') {
			s++;
		} else if (s[0] == '-' && s[1] == '-') {
			s = strchr(s, '\n');
			if (!s)
				return true;
		} else if (s[0] == '/' && s[1] == '*') {
			s = strstr(s + 2, "*/");
			if (!s)
				return true;
			s += 2;
		} else {
			return false;
		}
	}
	return true;
}

/* An upper bound of the bytes a text value takes in the JSON reply. */
static size_t json_text_cost(const unsigned char *s, size_t n)
{
	size_t i, cost = 2;

	for (i = 0; i < n; i++) {
		if (s[i] < 0x20)
			cost += 6;	/* \u00XX */
		else if (s[i] >= 0x80)
			cost += 3;	/* at worst U+FFFD */
		else if (s[i] == '"' || s[i] == '\\' || s[i] == '/')
			cost += 2;
		else
			cost += 1;
	}
	return cost;
}

static struct json_object *json_hex(const unsigned char *blob, size_t n,
				    size_t *cost)
{
	static const char digits[] = "0123456789abcdef";
	struct json_object *obj;
	char *hex;
	size_t i;

	*cost += 2 * n + 2;
	hex = malloc(2 * n + 1);
	if (!hex)
		return NULL;
	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[blob[i] >> 4];
		hex[2 * i + 1] = digits[blob[i] & 0xf];
	}
	obj = json_object_new_string_len(hex, 2 * n);
	free(hex);
	return obj;
}

/* Column col of the current row as JSON; *ok is false on ENOMEM. */
static struct json_object *json_value(sqlite3_stmt *s, int col, size_t *cost,
				      bool *ok)
{
	struct json_object *v = NULL;
	const unsigned char *p;
	double d;
	size_t n;

	switch (sqlite3_column_type(s, col)) {
	case SQLITE_INTEGER:
		*cost += 21;
		v = json_object_new_int64(sqlite3_column_int64(s, col));
		break;
	case SQLITE_FLOAT:
		d = sqlite3_column_double(s, col);
		*cost += 26;
		/* JSON has no infinities (SQLite has no NaN). */
		if (isinf(d))
			v = json_object_new_string(d > 0 ? "Infinity" :
							   "-Infinity");
		else
			v = json_object_new_double(d);
		break;
	case SQLITE_TEXT:
		p = sqlite3_column_text(s, col);
		n = sqlite3_column_bytes(s, col);
		*cost += json_text_cost(p, n);
		v = p ? json_string_from_bytes((const char *)p, n) : NULL;
		break;
	case SQLITE_BLOB:
		p = sqlite3_column_blob(s, col);
		n = sqlite3_column_bytes(s, col);
		v = json_hex(p, n, cost);
		break;
	default:
		*cost += 4;
		return NULL;	/* JSON null */
	}
	*ok = v != NULL;
	return v;
}

static void query_reset(struct store *st)
{
	struct query_ctx *q = &st->q;

	memset(q, 0, sizeof(*q));
	q->max_steps = st->max_steps;
	q->timeout_ms = st->timeout_ms;
	clock_gettime(CLOCK_MONOTONIC, &q->deadline);
	q->deadline.tv_sec += st->timeout_ms / 1000;
	q->deadline.tv_nsec += (st->timeout_ms % 1000) * 1000000;
	if (q->deadline.tv_nsec >= 1000000000) {
		q->deadline.tv_sec++;
		q->deadline.tv_nsec -= 1000000000;
	}
}

/* The -errno and message for a failed prepare or step. */
static int query_error(struct store *st, int rc, char *err, size_t errlen)
{
	char msg[256];

	if (st->q.interrupted[0]) {
		snprintf(err, errlen, "%s", st->q.interrupted);
		return -ETIMEDOUT;
	}
	if (st->q.denied[0]) {
		snprintf(err, errlen, REFUSED " (%s)", st->q.denied);
		return -EPERM;
	}
	snprintf(err, errlen, "SQL error: %s",
		 clean(sqlite3_errmsg(st->ro), msg, sizeof(msg)));
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_IOERR:
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return sqlite_errno(st->ro, rc);
	default:
		return -EINVAL;
	}
}

/* Add the rows of a checked statement to rows; sets *truncated. */
static int query_rows(struct store *st, sqlite3_stmt *stmt, size_t max_rows,
		      struct json_object *rows, bool *truncated, char *err,
		      size_t errlen)
{
	int ncol = sqlite3_column_count(stmt), col, rc;
	size_t nrows = 0, bytes = 2, cost;
	struct json_object *row;
	bool ok;

	*truncated = false;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (nrows == max_rows) {
			*truncated = true;
			return 0;
		}
		row = json_object_new_array_ext(ncol);
		if (!row)
			goto nomem;
		cost = 3;
		for (col = 0, ok = true; ok && col < ncol; col++) {
			struct json_object *v = json_value(stmt, col, &cost,
							   &ok);

			cost++;
			if (ok && json_object_array_add(row, v)) {
				json_object_put(v);
				ok = false;
			}
		}
		if (!ok) {
			json_object_put(row);
			goto nomem;
		}
		if (bytes + cost > QUERY_MAX_BYTES) {
			json_object_put(row);
			*truncated = true;
			return 0;
		}
		if (json_object_array_add(rows, row)) {
			json_object_put(row);
			goto nomem;
		}
		bytes += cost;
		nrows++;
	}
	if (rc != SQLITE_DONE)
		return query_error(st, rc, err, errlen);
	return 0;

nomem:
	snprintf(err, errlen, "query failed: %s", strerror(ENOMEM));
	return -ENOMEM;
}

int store_query(struct store *st, const char *sql, size_t max_rows,
		struct json_object **result, char *err, size_t errlen)
{
	struct json_object *res = NULL, *cols, *rows, *name;
	sqlite3_stmt *stmt = NULL;
	const char *tail = NULL, *col_name;
	bool truncated;
	int rc, ret, col;

	*result = NULL;
	if (errlen)
		err[0] = '\0';
	if (!sql) {
		snprintf(err, errlen, "SQL error: no query");
		return -EINVAL;
	}
	query_reset(st);
	rc = sqlite3_prepare_v3(st->ro, sql, -1, 0, &stmt, &tail);
	if (rc != SQLITE_OK)
		return query_error(st, rc, err, errlen);
	if (!stmt) {
		snprintf(err, errlen, "SQL error: the query is empty");
		return -EINVAL;
	}
	/* `SELECT 1; DELETE ...`: only the first would be checked. */
	if (!only_comments(tail)) {
		snprintf(err, errlen, REFUSED " (more than one statement)");
		ret = -EPERM;
		goto out;
	}
	/* Catches what has no authorizer action: VACUUM, journal_mode... */
	if (!sqlite3_stmt_readonly(stmt)) {
		snprintf(err, errlen, REFUSED " (statement writes)");
		ret = -EPERM;
		goto out;
	}
	/* ...and BEGIN or COMMIT, which count as read-only. */
	if (!st->q.saw_read) {
		snprintf(err, errlen, REFUSED " (statement is not a query)");
		ret = -EPERM;
		goto out;
	}

	ret = -ENOMEM;
	res = json_object_new_object();
	cols = json_object_new_array();
	if (!res || !cols || json_object_object_add(res, "columns", cols)) {
		json_object_put(cols);
		goto out_nomem;
	}
	for (col = 0; col < sqlite3_column_count(stmt); col++) {
		col_name = sqlite3_column_name(stmt, col);
		name = col_name ? json_string_from_bytes(col_name,
							 strlen(col_name)) :
				  NULL;
		if (!name || json_object_array_add(cols, name)) {
			json_object_put(name);
			goto out_nomem;
		}
	}
	rows = json_object_new_array();
	if (!rows || json_object_object_add(res, "rows", rows)) {
		json_object_put(rows);
		goto out_nomem;
	}
	ret = query_rows(st, stmt, max_rows, rows, &truncated, err, errlen);
	if (ret)
		goto out;
	if (json_object_object_add(res, "truncated",
				   json_object_new_boolean(truncated))) {
		ret = -ENOMEM;
		goto out_nomem;
	}
	*result = res;
	res = NULL;
	ret = 0;
	goto out;

out_nomem:
	snprintf(err, errlen, "query failed: %s", strerror(ENOMEM));
out:
	json_object_put(res);
	sqlite3_finalize(stmt);
	return ret;
}
