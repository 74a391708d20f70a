/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An alert: one suspected theft, i.e. watched data of one origin (a
 * configured watch) that reached processes which sent enough of it to one
 * non-internal host, with the chain of processes it went through. The
 * correlator fills it, the store keeps it, and alert_to_json() is its
 * JSON form in the IPC replies and `exfilctl --json` (docs/alerts.md),
 * and the "exfilmon" part of each ECS line of the JSON log
 * (alert_ecs.c, docs/siem.md).
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
#define ALERT_OBJECT_LEN	512	/* a chain step's file or shm path */
#define ALERT_CHAIN_MAX		16	/* steps kept in a chain */

enum alert_severity {
	SEV_LOW = 1,
	SEV_MEDIUM,
	SEV_HIGH,
	SEV_CRITICAL,
};

/*
 * What exfilmon did about it: detected (the data left), or blocked (prevent
 * mode refused the transfer; bytes_sent is what still left).
 */
enum alert_action {
	ALERT_DETECTED = 0,
	ALERT_BLOCKED,
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

/*
 * How a chain step's process got the data: the sensor's channels
 * (EXFILMON_CHAN_*, same values), exec (the process changed its image
 * after it was tainted), or unknown (a link the daemon no longer knows).
 */
enum alert_via {
	VIA_UNKNOWN = EXFILMON_CHAN_NONE,
	VIA_READ = EXFILMON_CHAN_READ,
	VIA_FORK = EXFILMON_CHAN_FORK,
	VIA_FILE = EXFILMON_CHAN_FILE,
	VIA_PIPE = EXFILMON_CHAN_PIPE,
	VIA_UNIX = EXFILMON_CHAN_UNIX,
	VIA_TCP = EXFILMON_CHAN_TCP,
	VIA_UDP = EXFILMON_CHAN_UDP,
	VIA_SHM = EXFILMON_CHAN_SHM,
	VIA_EXEC = EXFILMON_CHAN_NR,
	VIA_NR,
};

/*
 * One process of the chain, in order from the reader of the watched file
 * to the sender. pid 0 and an empty comm: a process the daemon no longer
 * knows. object: the watched file (read), or the derived file or shared
 * memory it came through (file, shm); bytes: how much came that way.
 */
struct alert_step {
	uint32_t pid;
	uint32_t via;			/* enum alert_via */
	uint64_t bytes;
	char comm[EXFILMON_COMM_LEN];
	char exe[EXFILMON_PATH_LEN];
	char object[ALERT_OBJECT_LEN];
};

struct alert {
	int64_t id;			/* store id; 0 until stored */
	int64_t time_us;		/* raised, CLOCK_REALTIME microseconds */
	int64_t updated_us;		/* last update, CLOCK_REALTIME us */
	uint64_t first_ns;		/* first watched read, CLOCK_BOOTTIME */
	uint64_t last_ns;		/* last send, CLOCK_BOOTTIME */
	int severity;			/* enum alert_severity */

	/* The process that sent the most of the data. */
	uint32_t pid;
	uint32_t ppid;
	uint32_t uid;
	char user[ALERT_USER_LEN];
	char comm[EXFILMON_COMM_LEN];
	char exe[EXFILMON_PATH_LEN];
	char cmdline[ALERT_CMDLINE_LEN];

	char host[ALERT_ADDR_LEN];	/* the destination host: the alert key */
	uint64_t bytes_read;		/* read by the chains' readers */
	uint64_t taint;			/* that reached the senders */
	uint64_t bytes_sent;		/* tainted bytes sent to host */
	uint32_t senders;		/* processes that sent to host */
	int action;			/* enum alert_action */
	uint64_t refused;		/* transfers to host refused */
	int64_t acked_us;		/* acknowledged (CLOCK_REALTIME us), or 0 */
	uint32_t acked_uid;		/* by whom */
	char sensor[8];			/* "bpf" or "kmod" */
	char reason[ALERT_REASON_LEN];	/* one-sentence explanation */

	struct alert_file *files;
	size_t nr_files;
	struct alert_dest *dests;
	size_t nr_dests;
	struct alert_proc *ancestry;
	size_t nr_ancestry;
	struct alert_step *chain;	/* the largest sender's, reader first */
	size_t nr_chain;
};

/*
 * Add val under key, consuming val even on failure; -ENOMEM when val is
 * NULL (a failed json_object_new_*()) or the add fails.
 */
int json_add(struct json_object *obj, const char *key,
	     struct json_object *val);

/* "detected" or "blocked"; alert_action_parse() gives ALERT_* or -EINVAL */
const char *alert_action_name(int action);
int alert_action_parse(const char *name);

const char *alert_severity_name(int severity);
/* Returns SEV_* or -EINVAL. */
int alert_severity_parse(const char *name);
const char *alert_proto_name(uint8_t proto);
/* Returns EXFILMON_PROTO_* or -EINVAL. */
int alert_proto_parse(const char *name);

/*
 * "read", "fork", "exec", "pipe", "file", "unix", "tcp-loopback",
 * "udp-loopback", "shm" or "?"
 */
const char *alert_via_name(uint32_t via);
/* Returns VIA_* or -EINVAL. */
int alert_via_parse(const char *name);

/*
 * A chain as a JSON array of steps (new reference; NULL on ENOMEM), and
 * back: 0, or -EINVAL (not such an array, or more than ALERT_CHAIN_MAX
 * steps) / -ENOMEM, *steps being malloc'd (NULL when empty).
 */
struct json_object *alert_chain_to_json(const struct alert_step *steps,
					size_t nr);
int alert_chain_from_json(struct json_object *arr, struct alert_step **steps,
			  size_t *nr);

/*
 * A chain as one line, for people: "sqlite3[4100] read 9.8 MiB of
 * /srv/crm/customers.db →pipe 9.9 MiB→ gzip[4101] → 198.18.0.2:443". dest
 * (NULL: none) ends it and is printed as given. esc, when not NULL, makes
 * each string taken from the steps printable (a malloc'd copy, NULL on
 * ENOMEM); ascii writes "->" for the arrows. A malloc'd line, or NULL on
 * ENOMEM.
 */
char *alert_chain_line(const struct alert_step *steps, size_t nr,
		       const char *dest, char *(*esc)(const char *),
		       int ascii);

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
/* A CLOCK_REALTIME microsecond stamp as an RFC 3339 UTC string. */
struct json_object *json_time(int64_t time_us);

#endif /* EXFILMON_ALERT_H */
