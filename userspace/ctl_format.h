/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * exfilctl's human-readable output, as pure functions of a daemon reply
 * writing to a FILE (tests capture it with open_memstream). Every string in
 * a reply is attacker-influenced (the thief names his process, its
 * arguments, his files), so every one is escaped before it is printed.
 * Times are printed in UTC. Format: docs/exfilctl.md.
 */
#ifndef EXFILMON_CTL_FORMAT_H
#define EXFILMON_CTL_FORMAT_H

#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>

/*
 * Whether valid, printable UTF-8 (U+00A0 and above, less the bidi and
 * invisible format characters) is printed as is. Off by default: every
 * byte >= 0x80 is then escaped, which is safe on any terminal. exfilctl
 * turns it on when the locale's charset is UTF-8.
 */
void ctl_set_utf8(bool on);

/*
 * s made safe for a terminal (malloc'd; NULL on ENOMEM; NULL s gives "").
 * Backslash becomes "\\", newline "\n", tab "\t", CR "\r", and every other
 * control or non-printable byte "\xHH" (ESC is "\x1b").
 */
char *ctl_escape(const char *s);

/*
 * Each prints one reply (or part of it) and returns 0, -EINVAL when the
 * reply has the wrong shape, -ENOMEM, or -EIO when out has an error.
 */

/* alerts: the reply's "alerts" array, as a table; "no alerts" if empty. */
int ctl_print_alerts(FILE *out, struct json_object *alerts);
/* show: the reply's "alert" object, as an evidence report. */
int ctl_print_alert(FILE *out, struct json_object *alert);
/* status: the whole reply, as "key: value" lines. */
int ctl_print_status(FILE *out, struct json_object *reply);
/* query: the whole reply, as a table under its column names. */
int ctl_print_query(FILE *out, struct json_object *reply);
/* watch list: the reply's "watched" array, as a table. */
int ctl_print_watched(FILE *out, struct json_object *watched);
/* watch add/rm: the whole reply, as one sentence; op is "add" or "rm". */
int ctl_print_watch_change(FILE *out, const char *op,
			   struct json_object *reply);
/*
 * policy: the whole reply: the global mode and where it was set, the
 * threshold, each watched path's mode and its source, the internal
 * networks, and the active overrides as a table.
 */
int ctl_print_policy(FILE *out, struct json_object *reply);
/* allow: the reply's "override", as one sentence. */
int ctl_print_override(FILE *out, struct json_object *override);
/* allow rm: the reply's "override", as one sentence. */
int ctl_print_revoked(FILE *out, struct json_object *override);
/* --json: obj pretty-printed, then a newline. */
int ctl_print_json(FILE *out, struct json_object *obj);

#endif /* EXFILMON_CTL_FORMAT_H */
