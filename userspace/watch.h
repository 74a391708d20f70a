/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The watch list: configured and run-time paths, turned into the inode
 * keys the sensor matches. A file is watched by its inode, so hard links
 * and renames keep counting, and by its path: a new inode that appears
 * under the watched name (a database rewritten and renamed over the old
 * one) is added with the same watch id, and the earlier inodes stay
 * watched until the last link and the last open file of each is gone
 * (docs/design.md "Watched files that change"). A directory is watched by
 * the inode of it and of every directory below it; the sensor then counts
 * any regular file directly inside one, including files created later,
 * and inotify tells the daemon about directories created later.
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

/* An inode a file watch holds, with the inotify watch telling its end. */
struct watch_inode {
	struct exfilmon_file_key key;
	int wd;			/* IN_DELETE_SELF: last link and open gone */
};

struct watch_entry {
	uint32_t id;
	char *path;
	int is_dir;
	int from_config;
	/* the file (zero when its name is gone), or the top directory */
	struct exfilmon_file_key key;
	struct watch_dir *dirs;		/* directories: every level below */
	size_t nr_dirs;
	/* files: following the name, see watch.c file_follow() */
	int wd;				/* of key, as in struct watch_inode */
	int parent_wd;			/* the directory holding the name */
	char *real;			/* path, symlinks resolved: its name is followed */
	struct watch_inode *old;	/* earlier inodes, still linked or open */
	size_t nr_old;
	uint64_t replaced;		/* times a new inode took the name */
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

/* Longest watch path taken, in bytes: PATH_MAX with its NUL. */
#define WATCH_PATH_MAX	4095

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
/*
 * Handle pending inotify events: new subdirectories, a new inode under a
 * watched file's name, an earlier inode's last link and open gone.
 */
void watchlist_inotify(struct watchlist *wl);

/* A path for a watched file's inode, for the alert's evidence. */
void watchlist_resolve(const struct watchlist *wl,
		       const struct exfilmon_file_key *key, uint32_t watch_id,
		       char *buf, size_t len);

/*
 * [{"path":..., "kind": "file"|"dir", "inodes": N, "source": ...,
 *   files only: "ino": current inode (0: none), "replaced": M}, ...]
 */
struct json_object *watchlist_json(const struct watchlist *wl);

#endif
