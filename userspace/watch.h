/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The watch list: configured and run-time paths, turned into the inode
 * keys the sensor matches. A file is watched by its inode, so hard links
 * and renames keep counting. A directory is watched by the inode of it and
 * of every directory below it; the sensor then counts any regular file
 * directly inside one, including files created later, and inotify tells
 * the daemon about directories created later.
 */
#ifndef EXFILMON_WATCH_H
#define EXFILMON_WATCH_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "sensor.h"

struct watch_dir {
	struct exfilmon_file_key key;
	int wd;			/* inotify watch descriptor */
	char *path;
};

struct watch_entry {
	uint32_t id;
	char *path;
	int is_dir;
	int from_config;
	struct exfilmon_file_key key;	/* the file, or the top directory */
	struct watch_dir *dirs;		/* directories: every level below */
	size_t nr_dirs;
};

/* An executable whose processes never take taint ([flow] opaque). */
struct watch_opaque {
	char *path;			/* as configured */
	struct exfilmon_file_key key;	/* of the file it leads to */
};

struct watchlist {
	struct sensor *sensor;
	struct watch_entry *entries;
	size_t nr;
	struct watch_opaque *opaque;
	size_t nr_opaque;
	uint32_t next_id;
	int inotify_fd;
	size_t max_dirs;	/* per directory watch */
};

int watchlist_init(struct watchlist *wl, struct sensor *s);
void watchlist_destroy(struct watchlist *wl);

/* Start watching path (absolute). 0 or -errno with the reason in err. */
int watchlist_add(struct watchlist *wl, const char *path, int from_config,
		  char *err, size_t errlen);
int watchlist_rm(struct watchlist *wl, const char *path, char *err,
		 size_t errlen);
const struct watch_entry *watchlist_find(const struct watchlist *wl,
					 const char *path);

/*
 * Put the executable at path (absolute; symlinks followed) into the
 * sensor's watched table as EXFILMON_OBJ_OPAQUE. 0, or -errno with the
 * reason in err: -ENOENT when it is not installed.
 */
int watchlist_add_opaque(struct watchlist *wl, const char *path, char *err,
			 size_t errlen);

/*
 * watchlist_add_opaque() for a configured [flow] opaque path: not every
 * system has every service, so a missing one is a debug note and any
 * other failure a warning. 1 when marked, else 0.
 */
int watchlist_mark_opaque(struct watchlist *wl, const char *path);
/* Stop marking the executable at path opaque. 0 or -ENOENT. */
int watchlist_rm_opaque(struct watchlist *wl, const char *path);
/* Handle pending inotify events (new subdirectories). */
void watchlist_inotify(struct watchlist *wl);

/* A path for a watched file's inode, for the alert's evidence. */
void watchlist_resolve(const struct watchlist *wl,
		       const struct exfilmon_file_key *key, uint32_t watch_id,
		       char *buf, size_t len);

/* [{"path":..., "kind": "file"|"dir", "inodes": N}, ...] */
struct json_object *watchlist_json(const struct watchlist *wl);

#endif
