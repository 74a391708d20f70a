/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The JSON-lines alert log for a SIEM to tail: one line per new or updated
 * alert, the alert's JSON object (docs/alerts.md) plus "event".
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

/* Reopen the same path, e.g. after logrotate moved the file. 0 or -errno. */
int jsonlog_reopen(struct jsonlog *jl);

void jsonlog_close(struct jsonlog *jl);	/* accepts NULL */

#endif /* EXFILMON_JSONLOG_H */
