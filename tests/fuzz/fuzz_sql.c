// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: the SQL read-only gate, store_query() (userspace/store.c),
 * the code that decides what `exfilctl sql` text a reader may run. It runs
 * on a real store holding real alerts (raised by the record seeds), with
 * the input as the SQL text (cut at its first NUL, as the JSON string of
 * a query request would be).
 *
 * The gate is checked against SQLite itself, on a separate connection of
 * ours with no authorizer, no query_only and write access:
 *  - what the gate accepts, SQLite compiles there too, as one statement
 *    that sqlite3_stmt_readonly() calls read-only, with nothing after it
 *    that would compile to a second statement;
 *  - no query, accepted or refused, changes the database (PRAGMA
 *    data_version of our connection);
 *  - an accepted query's result is {"columns": [...], "rows": [...],
 *    "truncated": bool} with at most max_rows rows, each as wide as the
 *    columns; a refused one has a message, in printable ASCII.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "daemon_env.h"

#define MAX_ROWS	50

static struct daemon d;
static sqlite3 *plain;		/* read-write, unrestricted */

static void fail(const char *what, const char *sql)
{
	fprintf(stderr, "fuzz_sql: %s: \"%s\"\n", what, sql);
	daemon_env_abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (daemon_env_open(&d) || daemon_env_seed(&d))
		daemon_env_abort();
	if (sqlite3_open_v2(daemon_env_db(), &plain, SQLITE_OPEN_READWRITE,
			    NULL) != SQLITE_OK)
		daemon_env_abort();
	/* the gate's limits, so that both sides compile the same text */
	sqlite3_limit(plain, SQLITE_LIMIT_SQL_LENGTH, 64 << 10);
	return 0;
}

/* What SQLite makes of sql with nothing watching it. */
static void check_accepted(const char *sql)
{
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;

	if (sqlite3_prepare_v2(plain, sql, -1, &st, &tail) != SQLITE_OK ||
	    !st)
		fail("accepted, but SQLite does not compile it", sql);
	if (!sqlite3_stmt_readonly(st))
		fail("accepted a statement SQLite says writes", sql);
	sqlite3_finalize(st);
	/* Whatever follows may be junk, but never a second statement. */
	while (tail && *tail) {
		const char *next = NULL;

		st = NULL;
		if (sqlite3_prepare_v2(plain, tail, -1, &st, &next) !=
		    SQLITE_OK)
			break;
		if (st) {
			sqlite3_finalize(st);
			fail("accepted text with a second statement", sql);
		}
		if (next == tail)
			break;
		tail = next;
	}
}

static void check_result(struct json_object *res, const char *sql)
{
	struct json_object *cols, *rows, *trunc, *row;
	size_t i, n;

	if (!json_object_object_get_ex(res, "columns", &cols) ||
	    !json_object_is_type(cols, json_type_array) ||
	    !json_object_object_get_ex(res, "rows", &rows) ||
	    !json_object_is_type(rows, json_type_array) ||
	    !json_object_object_get_ex(res, "truncated", &trunc) ||
	    !json_object_is_type(trunc, json_type_boolean))
		fail("a result without columns, rows and truncated", sql);
	n = json_object_array_length(rows);
	if (n > MAX_ROWS)
		fail("more rows than max_rows", sql);
	for (i = 0; i < n; i++) {
		row = json_object_array_get_idx(rows, i);
		if (!json_object_is_type(row, json_type_array) ||
		    json_object_array_length(row) !=
			    json_object_array_length(cols))
			fail("a row not as wide as the columns", sql);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *res = NULL;
	char err[512], *sql;
	int64_t version;
	const char *p;
	int ret;

	sql = strndup((const char *)data, size);
	if (!sql)
		daemon_env_abort();
	version = daemon_env_data_version(plain);
	ret = store_query(d.store, sql, MAX_ROWS, &res, err, sizeof(err));
	if (daemon_env_data_version(plain) != version)
		fail("the database changed", sql);
	if (!ret) {
		check_accepted(sql);
		check_result(res, sql);
	} else {
		if (res)
			fail("a result with an error", sql);
		if (!err[0])
			fail("an error without a message", sql);
		for (p = err; *p; p++)
			if (*p < 0x20 || *p >= 0x7f)
				fail("a message with a byte outside printable ASCII",
				     sql);
		if (ret == -EPERM && strncmp(err, "query refused", 13))
			fail("a refusal that does not say so", sql);
	}
	json_object_put(res);
	free(sql);
	return 0;
}
