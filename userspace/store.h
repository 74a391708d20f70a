/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The alert store: SQLite in WAL mode under state_dir. It also keeps the
 * watch paths added at run time and the derived marks (files written by
 * tainted processes, with the chain behind each), so a restarted daemon
 * watches them again. Schema: docs/store.md.
 */
#ifndef EXFILMON_STORE_H
#define EXFILMON_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "alert.h"
#include "exfilmon_abi.h"

struct store;

/* Open or create <state_dir>/alerts.db (mode 0640). 0 or -errno. */
int store_open(struct store **out, const char *state_dir, char *err,
	       size_t errlen);
void store_close(struct store *st);	/* accepts NULL */

/*
 * What the last failed call (other than store_open and store_query, which
 * fill err) failed at: "failed to store alert 7: database or disk is full".
 */
const char *store_errmsg(const struct store *st);

/*
 * Insert a new alert (a->id == 0: sets a->id) or replace the stored one with
 * the same id (files, destinations and ancestry are rewritten), atomically.
 * A new alert gets its id even when the write fails. When it fails for any
 * reason but a malformed alert (-EINVAL, -E2BIG), a copy of the alert waits
 * in memory, in place of an older copy of the same alert, for
 * store_retry(): -ENOSPC (disk full) and I/O errors pass. At most 256 wait;
 * beyond that the oldest is dropped and counted.
 */
int store_put_alert(struct store *st, struct alert *a);
/*
 * Write the alerts waiting in memory, oldest first, until one fails. 0 when
 * none is left waiting, or that failure's -errno (and store_errmsg()).
 */
int store_retry(struct store *st);
/*
 * Alerts waiting. *dropped (may be NULL): how many were given up since the
 * last call that asked, so that each loss is reported once.
 */
size_t store_pending(struct store *st, uint64_t *dropped);
/* <state_dir>/alerts.db, for messages. */
const char *store_path(const struct store *st);

/* Alerts updated at or after since_us (0: all), newest first. */
int store_list_alerts(struct store *st, int64_t since_us,
		      struct alert **out, size_t *nr);
void store_free_alerts(struct alert *list, size_t nr);
/* 0, -ENOENT when no such id, or -errno. */
int store_get_alert(struct store *st, int64_t id, struct alert *out);
int store_count_alerts(struct store *st, int64_t *count);
/*
 * Acknowledge alert id for uid (the security team has seen it). The first
 * acknowledgement stands; *acked_us is its time. -ENOENT: no such alert.
 */
int store_ack(struct store *st, int64_t id, uint32_t uid, int64_t time_us,
	      int64_t *acked_us);
/*
 * The latest alert to host that names path among its files and was
 * updated at or after since_us: 1 with found's id, time_us, bytes_read
 * and bytes_sent set (nothing else), 0 if none, or -errno. A daemon that
 * took over a sensor's state continues such an alert rather than raising
 * a second one for the same theft.
 */
int store_find_alert(struct store *st, const char *host, const char *path,
		     int64_t since_us, struct alert *found);

/*
 * Run one read-only SQL statement: anything that could write (INSERT, UPDATE,
 * DELETE, CREATE, DROP, ATTACH, PRAGMA with a value, several statements...)
 * is refused with -EPERM and a reason in err. On success *result is
 * {"columns": [...], "rows": [[...], ...], "truncated": bool}, at most
 * max_rows rows (and at most 8 MiB of JSON); truncated says rows were left
 * out. SQL errors are -EINVAL with SQLite's message, a query stopped by the
 * limits below -ETIMEDOUT.
 */
int store_query(struct store *st, const char *sql, size_t max_rows,
		struct json_object **result, char *err, size_t errlen);
/*
 * A query is interrupted (-ETIMEDOUT) after max_steps SQLite VM steps or
 * timeout_ms of wall time; 0 selects the default (100M steps, 5000 ms).
 */
void store_set_query_limits(struct store *st, uint64_t max_steps,
			    uint64_t timeout_ms);

/* Run-time watch list (exfilctl watch add/rm): -EEXIST / -ENOENT. */
int store_watch_add(struct store *st, const char *path);
int store_watch_rm(struct store *st, const char *path);
/* *paths is a malloc'd array of malloc'd strings. */
int store_watch_list(struct store *st, char ***paths, size_t *nr);
void store_free_watches(char **paths, size_t nr);	/* accepts NULL */

/*
 * Derived marks, keyed by (dev, ino). put inserts or updates one: obj must
 * be a derived file (flags EXFILMON_OBJ_DERIVED, an untagged key); path
 * and chain (the JSON chain up to the writer) "" keep what is stored,
 * unless obj->gen differs (the inode now holds another file). At most
 * store_set_derived_max() marks are kept (default 65536): the least
 * recently seen go first.
 */
int store_derived_put(struct store *st, const struct exfilmon_file_key *key,
		      const struct exfilmon_obj *obj, const char *path,
		      const char *chain);
/* 0, -ENOENT or -errno; *path and *chain are malloc'd ("" if unknown). */
int store_derived_get(struct store *st, const struct exfilmon_file_key *key,
		      struct exfilmon_obj *obj, char **path, char **chain);
/* 0, -ENOENT or -errno. */
int store_derived_rm(struct store *st, const struct exfilmon_file_key *key);
void store_set_derived_max(struct store *st, size_t max);
/*
 * Call fn for every mark, most recently seen first, with obj as the sensor
 * takes it back (flags EXFILMON_OBJ_DERIVED, gen, watch_id, chan, taint,
 * writer; last_ns 0: a boot-time stamp would not survive a reboot). A
 * nonzero return of fn stops the walk and is returned. fn may use the
 * store. 0 or -errno.
 */
int store_derived_each(struct store *s,
		       int (*fn)(void *ctx, const struct exfilmon_file_key *key,
				 const struct exfilmon_obj *obj),
		       void *ctx);

/*
 * Overrides of prevent mode (exfilctl allow): each is kept for good, its
 * end (expired or revoked) written into it, as the record of who let what
 * through and for how long.
 */
#define STORE_OVERRIDE_WHO_LEN	4160	/* a path and a little more */

struct store_override {
	int64_t id;			/* set by store_override_add() */
	struct exfilmon_allow_key key;	/* kind, id[], dest as the sensor has it */
	char who[STORE_OVERRIDE_WHO_LEN];	/* "pid 42 (curl)", or the exe path */
	int64_t granted_us;		/* CLOCK_REALTIME */
	uint32_t granted_uid;
	int64_t until_us;		/* CLOCK_REALTIME */
	char boot_id[40];		/* the boot a pid override belongs to */
	int64_t ended_us;		/* 0 while active */
	char ended[64];			/* "expired", "revoked by uid 0" */
};

/* Store o (its id is set). 0 or -errno. */
int store_override_add(struct store *st, struct store_override *o);
/*
 * End override id at ended_us, how saying why ("expired", "revoked by uid
 * 0"). -ENOENT when no active override has that id.
 */
int store_override_end(struct store *st, int64_t id, int64_t ended_us,
		       const char *how);
/* One override, active or not: 0, -ENOENT or -errno. */
int store_override_get(struct store *st, int64_t id,
		       struct store_override *out);
/*
 * The overrides not yet ended (all when all is set), oldest first, in a
 * malloc'd array (free() it). 0 or -errno.
 */
int store_override_list(struct store *st, int all,
			struct store_override **out, size_t *nr);

#endif /* EXFILMON_STORE_H */
