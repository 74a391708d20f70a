/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A real exfilmond state (store, JSON log, process table, correlator, live
 * set, watch list) in a private folder, for the fuzz targets that feed the
 * daemon's own entry points: daemon_handle() and daemon_on_record(). Only
 * the kernel is missing: a stand-in sensor whose tables are empty answers
 * for it, and the journal is not written (daemon_env.c says why).
 */
#ifndef EXFILMON_FUZZ_DAEMON_ENV_H
#define EXFILMON_FUZZ_DAEMON_ENV_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "daemon.h"

/* The readers' group the IPC target's peers are, or are not, in. */
#define DAEMON_ENV_READER_GID	4242

/*
 * Set d up in a new folder under $TMPDIR (removed at exit): the config's
 * defaults with state_dir there, the store and JSON log opened, the
 * stand-in sensor and the watch list. 0 or -errno, said on stderr.
 */
int daemon_env_open(struct daemon *d);

/*
 * Remove the folder, then abort(): for a broken invariant. abort() skips
 * atexit(), where the folder is removed otherwise.
 */
void daemon_env_abort(void) __attribute__((noreturn));

/*
 * The per-input state: a fresh process table, correlator and live set, so
 * that one input's records never change how the next one is decoded.
 */
int daemon_env_begin(struct daemon *d);
void daemon_env_end(struct daemon *d);

/*
 * Hand d records back to back, as both sensors deliver them (fuzz_records.c
 * says how), between daemon_env_begin() and daemon_env_end(); then what
 * the event loop does after them, and the end of every window.
 */
void daemon_env_feed(struct daemon *d, const void *data, size_t size);

/*
 * Raise real alerts in the store: the theft scenarios of the record
 * target's seeds (FUZZ_CORPUS_DIR/fuzz_records) fed through
 * daemon_on_record(). 0 or -errno, said on stderr.
 */
int daemon_env_seed(struct daemon *d);

/*
 * PRAGMA data_version on db, a connection of the caller's own: it changes
 * when another connection (the daemon's) commits a change to the store.
 * Aborts the run when it cannot be read.
 */
int64_t daemon_env_data_version(sqlite3 *db);

/* <state_dir>/alerts.db and <state_dir>/alerts.json */
const char *daemon_env_db(void);
const char *daemon_env_jsonlog(void);

/* Lines the daemon sent to the (stand-in) journal so far. */
extern unsigned long daemon_env_journal_lines;

#endif /* EXFILMON_FUZZ_DAEMON_ENV_H */
