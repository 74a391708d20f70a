/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The JSON-lines alert log for a SIEM to tail: one line per new or updated
 * alert, an ECS document (alert_ecs.h, docs/siem.md) valid under
 * docs/schema/exfilmon-alert-v1.schema.json.
 */
#ifndef EXFILMON_JSONLOG_H
#define EXFILMON_JSONLOG_H

#include "alert.h"

struct jsonlog;

/* Open path for appending, creating it with mode 0640. 0 or -errno. */
int jsonlog_open(struct jsonlog **out, const char *path);

/*
 * Append one line for a; event is "new" or "update" (else -EINVAL). The line
 * goes out in a single write(2), so concurrent writers never interleave. On
 * failure (-ENOSPC, -EFBIG, -EIO...) no partial line is left behind when it
 * can be removed; the caller may retry later.
 */
int jsonlog_write(struct jsonlog *jl, const struct alert *a,
		  const char *event);

/*
 * Reopen the same path, e.g. after logrotate moved the file (SIGHUP), and
 * write there from now on. 0 or -errno (the old descriptor stays in use).
 */
int jsonlog_reopen(struct jsonlog *jl);

/*
 * Called about once a second: if path no longer names the open file
 * (logrotate renamed or removed it), open or create the file at path and
 * write there from now on. 1 if it reopened, 0 if nothing changed, -errno if
 * checking or reopening failed (the old descriptor stays in use then).
 */
int jsonlog_follow(struct jsonlog *jl);

void jsonlog_close(struct jsonlog *jl);	/* accepts NULL */

#endif /* EXFILMON_JSONLOG_H */
