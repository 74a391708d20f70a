/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An alert: one suspected theft, i.e. one process tree that read watched data
 * and then sent enough to one non-internal host. The correlator fills it, the
 * store keeps it, and alert_to_json() is the one JSON form used by the JSON
 * log, the IPC replies and `exfilctl --json` (schema: docs/alerts.md).
 */
#ifndef EXFILMON_ALERT_H
#define EXFILMON_ALERT_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "exfilmon_abi.h"

#define ALERT_ADDR_LEN		46	/* INET6_ADDRSTRLEN */
#define ALERT_USER_LEN		64
#define ALERT_CMDLINE_LEN	1024
#define ALERT_REASON_LEN	512
#define ALERT_TIME_LEN		32	/* format_rfc3339() output and NUL */

enum alert_severity {
	SEV_LOW = 1,
	SEV_MEDIUM,
	SEV_HIGH,
	SEV_CRITICAL,
};

struct alert_file {
	char path[4096];
	uint64_t bytes_read;
};

struct alert_dest {
	char addr[ALERT_ADDR_LEN];	/* numeric, no brackets */
	uint16_t port;
	uint8_t proto;			/* EXFILMON_PROTO_* */
	uint64_t bytes_sent;
};

/* A process in the alert's ancestry (index 0: the alerting process). */
struct alert_proc {
	uint32_t pid;
	uint32_t ppid;
	uint32_t uid;
	char comm[EXFILMON_COMM_LEN];
	char exe[EXFILMON_PATH_LEN];
};

struct alert {
	int64_t id;			/* store id; 0 until stored */
	int64_t time_us;		/* raised, CLOCK_REALTIME microseconds */
	int64_t updated_us;		/* last update, CLOCK_REALTIME us */
	uint64_t first_ns;		/* first watched read, CLOCK_BOOTTIME */
	uint64_t last_ns;		/* last send, CLOCK_BOOTTIME */
	int severity;			/* enum alert_severity */

	/* The process that sent the data. */
	uint32_t pid;
	uint32_t ppid;
	uint32_t uid;
	char user[ALERT_USER_LEN];
	char comm[EXFILMON_COMM_LEN];
	char exe[EXFILMON_PATH_LEN];
	char cmdline[ALERT_CMDLINE_LEN];

	char host[ALERT_ADDR_LEN];	/* the destination host: the alert key */
	uint64_t bytes_read;		/* watched bytes read by the tree */
	uint64_t bytes_sent;		/* bytes the tree sent to host */
	char sensor[8];			/* "bpf" or "kmod" */
	char reason[ALERT_REASON_LEN];	/* one-sentence explanation */

	struct alert_file *files;
	size_t nr_files;
	struct alert_dest *dests;
	size_t nr_dests;
	struct alert_proc *ancestry;
	size_t nr_ancestry;
};

/*
 * Add val under key, consuming val even on failure; -ENOMEM when val is
 * NULL (a failed json_object_new_*()) or the add fails.
 */
int json_add(struct json_object *obj, const char *key,
	     struct json_object *val);

const char *alert_severity_name(int severity);
/* Returns SEV_* or -EINVAL. */
int alert_severity_parse(const char *name);
const char *alert_proto_name(uint8_t proto);
/* Returns EXFILMON_PROTO_* or -EINVAL. */
int alert_proto_parse(const char *name);

/* Deep copy; returns 0 or -ENOMEM. dst must be uninitialised or freed. */
int alert_copy(struct alert *dst, const struct alert *src);
/* Frees the arrays (accepts a zeroed alert). */
void alert_free(struct alert *a);

/* The JSON object of an alert (new reference) or NULL on ENOMEM. */
struct json_object *alert_to_json(const struct alert *a);
/*
 * Parse alert_to_json()'s output back; 0 or -EINVAL/-ENOMEM. *a is
 * overwritten (free it first) and left zeroed on failure. Unknown keys
 * (e.g. the JSON log's "event") are ignored.
 */
int alert_from_json(struct json_object *obj, struct alert *a);

/* RFC 3339 UTC with microseconds: "2026-11-29T11:27:38.123456Z". */
void format_rfc3339(int64_t time_us, char *buf, size_t len);
/*
 * The inverse: "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)", fraction
 * truncated to microseconds. 0 or -EINVAL.
 */
int parse_rfc3339(const char *s, int64_t *time_us);

/*
 * A JSON string from arbitrary bytes (kernel-supplied names, SQL results):
 * each byte that is not part of well-formed UTF-8 becomes U+FFFD, so the
 * serialised JSON is always valid UTF-8. NULL on ENOMEM.
 */
struct json_object *json_string_from_bytes(const char *s, size_t len);

#endif /* EXFILMON_ALERT_H */
