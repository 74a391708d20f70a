/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's configuration: an INI file parsed with libinih. A config is
 * either wholly valid or rejected with file:line, key, value and reason, so
 * the daemon never runs half-configured.
 */
#ifndef EXFILMON_CONFIG_H
#define EXFILMON_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "units.h"

#define CONFIG_MAX_WATCH	1024
#define CONFIG_MAX_NETS		256
#define CONFIG_MAX_OPAQUE	256
#define CONFIG_ERR_LEN		512

struct config {
	char *path;				/* file it was read from */

	/* [watch] */
	char *watch[CONFIG_MAX_WATCH];		/* path = ..., repeatable */
	int watch_line[CONFIG_MAX_WATCH];	/* line each came from */
	size_t nr_watch;

	/* [correlation] */
	uint64_t read_threshold;		/* bytes, default 1M */
	uint64_t send_threshold;		/* bytes, default 256K */
	uint64_t window_ns;			/* default 1h */

	/* [network] */
	struct cidr internal[CONFIG_MAX_NETS];	/* loopback is always added */
	size_t nr_internal;

	/* [daemon] */
	char *state_dir;			/* default /var/lib/exfilmon */
	char *socket;				/* default /run/exfilmon/exfilmon.sock */
	char *group;				/* readers' group, default exfilmon */
	char *json_log;				/* default <state_dir>/alerts.json */
	int json_log_set;			/* json_log was in the file */

	/* [sensor] table bounds */
	uint32_t max_procs;			/* default 16384 */
	uint32_t max_reads;			/* (proc, file) pairs, default 65536 */
	uint32_t max_sends;			/* (proc, dest) pairs, default 65536 */
	uint32_t max_watch;			/* watched inodes, default 65536 */
	uint32_t max_streams;			/* taint not read, 16384 */
	uint32_t max_flows;			/* (proc, object), 65536 */
	uint32_t ring_kib;			/* ring buffer size, default 4096 */

	/* [flow] */
	char *opaque[CONFIG_MAX_OPAQUE];	/* executables that never
						 * take taint (config.c) */
	int opaque_line[CONFIG_MAX_OPAQUE];	/* 0: a default */
	size_t nr_opaque;
	uint64_t stream_idle_ns;		/* default 10min */

	/* [policy]: prevent mode (docs/prevent.md) */
	int prevent;				/* mode = prevent; default detect */
	int mode_line;				/* 0: the default */
	/* prevent = / detect = PATH: one [watch] path's own mode */
	char *policy_path[CONFIG_MAX_WATCH];
	int policy_prevent[CONFIG_MAX_WATCH];	/* 1: prevent, 0: detect */
	int policy_line[CONFIG_MAX_WATCH];
	size_t nr_policy;
};

/*
 * Fill cfg with every default (loopback is internal). Every string in cfg
 * is then owned by cfg and released by config_free(). Returns 0 or -ENOMEM
 * (cfg then holds nothing).
 */
int config_defaults(struct config *cfg);

/*
 * Parse path into cfg (defaults first; whatever cfg held is overwritten, not
 * freed). On error returns a negative errno, writes one line into err and
 * leaves cfg freed and zeroed:
 *   "<file>:<line>: <key> = <value>: <reason>"   a bad key or value
 *   "<file>:<line>: [<section>]: <reason>"       an unknown section
 *   "<file>:<line>: syntax error: <reason>"      a malformed line
 *   "<file>: <strerror>"                         the file cannot be read
 * Content errors return -EINVAL, file errors -errno. Bytes outside
 * printable ASCII in echoed text appear as \xNN. err may be NULL.
 */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);

/* Parse an in-memory text as if it were file name 'name' (for tests). */
int config_load_string(struct config *cfg, const char *name, const char *text,
		       char *err, size_t errlen);

/*
 * Point json_log at state_dir's, unless the file set it on its own: after
 * state_dir changed. 0 or -ENOMEM.
 */
int config_follow_state_dir(struct config *cfg);

/* Free what cfg owns and zero it; cfg may be NULL or already freed. */
void config_free(struct config *cfg);

/*
 * True when addr (family EXFILMON_AF_*, 4 or 16 bytes) is internal.
 * v4-mapped IPv6 addresses are checked as IPv4.
 */
int config_is_internal(const struct config *cfg, int family,
		       const uint8_t *addr);

/*
 * The resolved mode of a watched path: 1 prevent, 0 detect. Its own
 * [policy] prevent/detect line if it has one (*line set to it), else the
 * global mode (*line 0). A path added with `exfilctl watch add` has no line
 * of its own and takes the global mode. line may be NULL.
 */
int config_watch_mode(const struct config *cfg, const char *watch_path,
		      int *line);
/* config_watch_mode() without the line. */
int config_watch_prevents(const struct config *cfg, const char *watch_path);

#endif /* EXFILMON_CONFIG_H */
