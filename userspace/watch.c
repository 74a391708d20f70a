// SPDX-License-Identifier: GPL-2.0-only
/*
 * The watch list (watch.h): paths to inode keys in the sensor, kept true
 * as directories grow and as watched files are replaced, from inotify.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include "alert.h"
#include "log.h"
#include "watch.h"

/*
 * IN_MASK_ADD everywhere: inotify has one watch per inode and a plain
 * inotify_add_watch() replaces its mask, so a directory that is both a
 * watched directory and the parent of a watched file must keep both.
 */
#define DIR_EVENTS (IN_CREATE | IN_MOVED_TO | IN_ONLYDIR | IN_MASK_ADD)
/*
 * On a watched file's inode. fsnotify sends IN_DELETE_SELF (then
 * IN_IGNORED) from dentry_unlink_inode() when the inode has no link left
 * and its last dentry reference goes, which an open file holds: so the
 * event means "no name and no open file or mapping can reach it any more"
 * and is the moment to forget its key, before the inode number is reused.
 */
#define FILE_EVENTS (IN_DELETE_SELF | IN_MASK_ADD)

/* Longest echo of a path in an error message, before "...". */
#define ECHO_MAX 200

/*
 * Copy s into out with every byte outside printable ASCII (and the
 * backslash) as \xNN, cut to ECHO_MAX: a path is any bytes but NUL and an
 * error goes to a terminal (exfilctl, exfilmond in the foreground).
 */
static const char *esc(const char *s, char out[ECHO_MAX + 4])
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	for (; *s; s++) {
		unsigned char c = *s;
		int plain = c >= 0x20 && c < 0x7f && c != '\\';

		if (n + (plain ? 1 : 4) > ECHO_MAX) {
			memcpy(out + n, "...", 3);
			n += 3;
			break;
		}
		if (plain) {
			out[n++] = c;
			continue;
		}
		out[n++] = '\\';
		out[n++] = 'x';
		out[n++] = hex[c >> 4];
		out[n++] = hex[c & 0xf];
	}
	out[n] = '\0';
	return out;
}

int watchlist_init(struct watchlist *wl, struct sensor *s)
{
	memset(wl, 0, sizeof(*wl));
	wl->sensor = s;
	wl->next_id = 1;
	wl->max_dirs = 4096;
	wl->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	return wl->inotify_fd < 0 ? -errno : 0;
}

static void entry_free(struct watch_entry *e)
{
	size_t i;

	for (i = 0; i < e->nr_dirs; i++)
		free(e->dirs[i].path);
	free(e->dirs);
	free(e->old);
	free(e->real);
	free(e->path);
}

void watchlist_destroy(struct watchlist *wl)
{
	size_t i;

	for (i = 0; i < wl->nr; i++)
		entry_free(&wl->entries[i]);
	free(wl->entries);
	for (i = 0; i < wl->nr_opaque; i++)
		free(wl->opaque[i].path);
	free(wl->opaque);
	if (wl->inotify_fd >= 0)
		close(wl->inotify_fd);
	memset(wl, 0, sizeof(*wl));
	wl->inotify_fd = -1;
}

const struct watch_entry *watchlist_find(const struct watchlist *wl,
					 const char *path)
{
	size_t i;

	for (i = 0; i < wl->nr; i++)
		if (!strcmp(wl->entries[i].path, path))
			return &wl->entries[i];
	return NULL;
}

/*
 * The kernel's key for path, and its type. The key comes from the sensor
 * (sensor_ops.fd_key) for the very file we opened, so it is what the hooks
 * will compare with, on btrfs and overlayfs too. O_PATH: nothing is read.
 */
static int key_of_fd(struct watchlist *wl, int dirfd, const char *path,
		     int follow, struct exfilmon_file_key *key,
		     struct stat *st, int *fdp)
{
	int fd, ret;

	fd = openat(dirfd, path, O_PATH | O_CLOEXEC |
		    (follow ? 0 : O_NOFOLLOW));
	if (fd < 0)
		return -errno;
	ret = fstat(fd, st) ? -errno : 0;
	if (!ret && (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)))
		ret = wl->sensor->ops->fd_key(wl->sensor, fd, key);
	if (!ret && fdp)
		*fdp = fd;
	else
		close(fd);
	return ret;
}

static int key_of(struct watchlist *wl, int dirfd, const char *path,
		  int follow, struct exfilmon_file_key *key, struct stat *st)
{
	return key_of_fd(wl, dirfd, path, follow, key, st, NULL);
}

/*
 * An inotify watch on the very inode behind fd, not on whatever the path
 * names by now: /proc/self/fd/N is a magic link that leads to the open
 * file itself. -1 when it cannot be had (no /proc, out of watches): the
 * inode then stays watched until its watch entry is removed.
 */
static int inode_wd(struct watchlist *wl, int fd)
{
	char proc[32];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return inotify_add_watch(wl->inotify_fd, proc, FILE_EVENTS);
}

static int key_set(const struct exfilmon_file_key *k)
{
	return k->dev || k->ino;
}

static int key_eq(const struct exfilmon_file_key *a,
		  const struct exfilmon_file_key *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

/* Is key watched by an entry or directory other than (e, skip)? */
static int key_in_use(const struct watchlist *wl,
		      const struct exfilmon_file_key *key,
		      const struct watch_entry *e, const struct watch_dir *skip)
{
	size_t i, j;

	for (i = 0; i < wl->nr; i++) {
		const struct watch_entry *o = &wl->entries[i];

		if (!o->is_dir && o != e && key_eq(&o->key, key))
			return 1;
		for (j = 0; o != e && j < o->nr_old; j++)
			if (key_eq(&o->old[j].key, key))
				return 1;
		for (j = 0; j < o->nr_dirs; j++)
			if (&o->dirs[j] != skip && key_eq(&o->dirs[j].key, key))
				return 1;
	}
	return 0;
}

/* Is inotify watch wd used by other than directory skip and file entry e? */
static int wd_in_use(const struct watchlist *wl, int wd,
		     const struct watch_entry *e, const struct watch_dir *skip)
{
	size_t i, j;

	for (i = 0; i < wl->nr; i++) {
		const struct watch_entry *o = &wl->entries[i];

		for (j = 0; j < o->nr_dirs; j++)
			if (&o->dirs[j] != skip && o->dirs[j].wd == wd)
				return 1;
		if (o == e || o->is_dir)
			continue;
		if (o->wd == wd || o->parent_wd == wd)
			return 1;
		for (j = 0; j < o->nr_old; j++)
			if (o->old[j].wd == wd)
				return 1;
	}
	return 0;
}

static void wd_drop(struct watchlist *wl, int wd,
		    const struct watch_entry *e, const struct watch_dir *skip)
{
	if (wd >= 0 && !wd_in_use(wl, wd, e, skip))
		inotify_rm_watch(wl->inotify_fd, wd);
}

/*
 * Add directory path (one level of e) to the sensor, then its subdirs.
 * Only the top level follows a symlink: it is the path the administrator
 * named; a symlink found inside could point anywhere.
 */
static int add_dir(struct watchlist *wl, struct watch_entry *e,
		   const char *path, int depth)
{
	struct exfilmon_obj w = { .flags = EXFILMON_WATCH_DIR,
				  .watch_id = e->id };
	struct exfilmon_file_key key;
	struct watch_dir *d, *nd;
	struct dirent *de;
	struct stat st;
	size_t i;
	DIR *dir;
	int ret;

	ret = key_of(wl, AT_FDCWD, path, depth == 0, &key, &st);
	if (ret || !S_ISDIR(st.st_mode))
		return depth ? 0 : (ret ?: -ENOTDIR);
	for (i = 0; i < e->nr_dirs; i++)
		if (key_eq(&e->dirs[i].key, &key))
			return 0;	/* a bind mount loop, or seen */
	if (e->nr_dirs >= wl->max_dirs || depth > 64)
		return -E2BIG;
	nd = realloc(e->dirs, (e->nr_dirs + 1) * sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	e->dirs = nd;
	d = &e->dirs[e->nr_dirs];
	memset(d, 0, sizeof(*d));
	d->key = key;
	d->path = strdup(path);
	if (!d->path)
		return -ENOMEM;
	ret = wl->sensor->ops->watch_add(wl->sensor, &d->key, &w);
	if (ret) {
		free(d->path);
		return ret;
	}
	d->wd = inotify_add_watch(wl->inotify_fd, path, DIR_EVENTS);
	e->nr_dirs++;

	dir = opendir(path);
	if (!dir)
		return 0;
	while ((de = readdir(dir))) {
		char sub[PATH_MAX];

		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >=
		    (int)sizeof(sub))
			continue;
		ret = add_dir(wl, e, sub, depth + 1);
		if (ret)
			break;
	}
	closedir(dir);
	return ret;
}

/* Put every remaining entry's keys back (after a removal took some). */
static void rewatch(struct watchlist *wl)
{
	size_t i, j;

	for (i = 0; i < wl->nr; i++) {
		struct watch_entry *e = &wl->entries[i];
		struct exfilmon_obj w = { .watch_id = e->id };

		if (!e->is_dir) {
			w.flags = EXFILMON_WATCH_FILE;
			if (key_set(&e->key))
				wl->sensor->ops->watch_add(wl->sensor, &e->key,
							   &w);
			for (j = 0; j < e->nr_old; j++)
				wl->sensor->ops->watch_add(wl->sensor,
							   &e->old[j].key, &w);
			continue;
		}
		w.flags = EXFILMON_WATCH_DIR;
		for (j = 0; j < e->nr_dirs; j++)
			wl->sensor->ops->watch_add(wl->sensor,
						   &e->dirs[j].key, &w);
	}
}

/*
 * Take e's keys out of the sensor. Keys and inotify watches are per inode
 * and may be shared with an overlapping entry (/srv and /srv/crm, or two
 * names of one file), so only those no other entry holds go.
 */
static void entry_unwatch(struct watchlist *wl, struct watch_entry *e)
{
	size_t i;

	if (!e->is_dir) {
		if (key_set(&e->key) && !key_in_use(wl, &e->key, e, NULL))
			wl->sensor->ops->watch_rm(wl->sensor, &e->key);
		wd_drop(wl, e->wd, e, NULL);
		wd_drop(wl, e->parent_wd, e, NULL);
		for (i = 0; i < e->nr_old; i++) {
			if (!key_in_use(wl, &e->old[i].key, e, NULL))
				wl->sensor->ops->watch_rm(wl->sensor,
							  &e->old[i].key);
			wd_drop(wl, e->old[i].wd, e, NULL);
		}
	}
	for (i = 0; i < e->nr_dirs; i++) {
		struct watch_dir *d = &e->dirs[i];

		if (!key_in_use(wl, &d->key, e, d))
			wl->sensor->ops->watch_rm(wl->sensor, &d->key);
		wd_drop(wl, d->wd, e, d);
	}
	/* and the files the sensor added as read through e's directories */
	wl->sensor->ops->watch_rm_id(wl->sensor, e->id);
}

/*
 * Follow a watched file's name: inotify on its directory for a new inode
 * under the name (IN_CREATE, IN_MOVED_TO), and on the inode for its end.
 * The name is that of the file the path leads to (symlinks resolved), as
 * a replacement is written next to the file, not next to a link to it.
 * Without these watches the file is still watched, by its inode only.
 */
static void file_follow_setup(struct watchlist *wl, struct watch_entry *e,
			      int fd)
{
	char parent[PATH_MAX], safe[ECHO_MAX + 4];
	const char *slash;

	e->real = realpath(e->path, NULL);
	if (!e->real)
		e->real = strdup(e->path);
	e->wd = inode_wd(wl, fd);
	if (!e->real || e->wd < 0)
		goto fail;
	slash = strrchr(e->real, '/');
	snprintf(parent, sizeof(parent), "%.*s",
		 slash == e->real ? 1 : (int)(slash - e->real), e->real);
	e->parent_wd = inotify_add_watch(wl->inotify_fd, parent, DIR_EVENTS);
	if (e->parent_wd >= 0)
		return;
fail:
	log_warn("watch %s: a file that replaces it will not be watched: %s",
		 esc(e->path, safe), strerror(e->real ? errno : ENOMEM));
}

int watchlist_add(struct watchlist *wl, const char *path, int from_config,
		  char *err, size_t errlen)
{
	struct exfilmon_obj w = { .flags = EXFILMON_WATCH_FILE };
	char safe[ECHO_MAX + 4];
	struct watch_entry *e, *ne;
	struct stat st;
	int ret, fd = -1;

	/*
	 * Any bytes but NUL make a Linux path: a newline, invalid UTF-8 and
	 * escape sequences are taken (a database may live there), and echoed
	 * escaped; only what no open() can resolve is refused here.
	 */
	if (path[0] != '/') {
		snprintf(err, errlen, "%s: watch paths must be absolute",
			 esc(path, safe));
		return -EINVAL;
	}
	if (strlen(path) > WATCH_PATH_MAX) {
		snprintf(err, errlen, "%s: longer than %d bytes, the longest "
			 "path the kernel resolves (PATH_MAX)", esc(path, safe),
			 WATCH_PATH_MAX);
		return -ENAMETOOLONG;
	}
	if (watchlist_find(wl, path)) {
		snprintf(err, errlen, "%s: already watched", esc(path, safe));
		return -EEXIST;
	}
	ne = realloc(wl->entries, (wl->nr + 1) * sizeof(*ne));
	if (!ne) {
		snprintf(err, errlen, "%s: out of memory", esc(path, safe));
		return -ENOMEM;
	}
	wl->entries = ne;
	e = &wl->entries[wl->nr];
	memset(e, 0, sizeof(*e));
	e->wd = -1;
	e->parent_wd = -1;
	ret = key_of_fd(wl, AT_FDCWD, path, 1, &e->key, &st, &fd);
	if (ret) {
		/* ELOOP: a symlink loop, named as such by strerror() */
		snprintf(err, errlen, "%s: %s", esc(path, safe),
			 strerror(-ret));
		return ret;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "%s: not a regular file or a directory",
			 esc(path, safe));
		return -EINVAL;
	}
	e->id = wl->next_id++;
	e->from_config = from_config;
	e->is_dir = S_ISDIR(st.st_mode);
	e->path = strdup(path);
	if (!e->path) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", esc(path, safe));
		return -ENOMEM;
	}
	if (e->is_dir) {
		ret = add_dir(wl, e, path, 0);
	} else {
		w.watch_id = e->id;
		ret = wl->sensor->ops->watch_add(wl->sensor, &e->key, &w);
		if (!ret)
			file_follow_setup(wl, e, fd);
	}
	close(fd);
	if (ret) {
		snprintf(err, errlen, "%s: cannot watch: %s%s", esc(path, safe),
			 strerror(-ret), ret == -E2BIG ?
			 " (too many directories or the sensor's watch table "
			 "is full: raise [sensor] max_watch)" : "");
		entry_unwatch(wl, e);
		entry_free(e);
		rewatch(wl);
		return ret;
	}
	wl->nr++;
	return 0;
}

int watchlist_rm(struct watchlist *wl, const char *path, char *err,
		 size_t errlen)
{
	char safe[ECHO_MAX + 4];
	size_t i;

	for (i = 0; i < wl->nr; i++) {
		struct watch_entry *e = &wl->entries[i];

		if (strcmp(e->path, path))
			continue;
		entry_unwatch(wl, e);
		entry_free(e);
		memmove(e, e + 1, (wl->nr - i - 1) * sizeof(*e));
		wl->nr--;
		rewatch(wl);
		return 0;
	}
	snprintf(err, errlen, "%s: not watched", esc(path, safe));
	return -ENOENT;
}

/*
 * The open follows symlinks on purpose: the sensor compares the inode of
 * a process's mm->exe_file, which is the file a symlink such as
 * /sbin/init leads to, never the link.
 */
int watchlist_add_opaque(struct watchlist *wl, const char *path, char *err,
			 size_t errlen)
{
	struct exfilmon_obj w = { .flags = EXFILMON_OBJ_OPAQUE };
	char safe[ECHO_MAX + 4];
	struct exfilmon_file_key key;
	struct watch_opaque *no;
	struct stat st;
	int ret;

	ret = key_of(wl, AT_FDCWD, path, 1, &key, &st);
	if (ret) {
		snprintf(err, errlen, "%s: %s", esc(path, safe), strerror(-ret));
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file",
			 esc(path, safe));
		return -EINVAL;
	}
	no = realloc(wl->opaque, (wl->nr_opaque + 1) * sizeof(*no));
	if (!no) {
		snprintf(err, errlen, "%s: out of memory", esc(path, safe));
		return -ENOMEM;
	}
	wl->opaque = no;
	no = &wl->opaque[wl->nr_opaque];
	no->key = key;
	no->path = strdup(path);
	if (!no->path) {
		snprintf(err, errlen, "%s: out of memory", esc(path, safe));
		return -ENOMEM;
	}
	ret = wl->sensor->ops->watch_add(wl->sensor, &key, &w);
	if (ret) {
		snprintf(err, errlen, "%s: cannot mark opaque: %s%s",
			 esc(path, safe),
			 strerror(-ret), ret == -E2BIG ?
			 " (the sensor's watch table is full: raise [sensor] "
			 "max_watch)" : "");
		free(no->path);
		return ret;
	}
	wl->nr_opaque++;
	return 0;
}

int watchlist_mark_opaque(struct watchlist *wl, const char *path)
{
	char err[1024];
	int ret = watchlist_add_opaque(wl, path, err, sizeof(err));

	if (!ret)
		return 1;
	if (ret == -ENOENT || ret == -ENOTDIR)
		log_debug("[flow] opaque: %s: skipped", err);
	else
		log_warn("[flow] opaque: %s", err);
	return 0;
}

int watchlist_rm_opaque(struct watchlist *wl, const char *path)
{
	struct watch_opaque *o;
	size_t i, j;

	for (i = 0; i < wl->nr_opaque; i++) {
		o = &wl->opaque[i];
		if (strcmp(o->path, path))
			continue;
		/* two paths may lead to one executable (a symlink) */
		for (j = 0; j < wl->nr_opaque; j++)
			if (j != i && key_eq(&wl->opaque[j].key, &o->key))
				break;
		if (j == wl->nr_opaque)
			wl->sensor->ops->watch_rm(wl->sensor, &o->key);
		free(o->path);
		memmove(o, o + 1, (wl->nr_opaque - i - 1) * sizeof(*o));
		wl->nr_opaque--;
		return 0;
	}
	return -ENOENT;
}

/* A watched directory is gone (deleted, unmounted): drop its level. */
static void dir_gone(struct watchlist *wl, int wd)
{
	size_t i, j;

	for (i = 0; i < wl->nr; i++) {
		struct watch_entry *e = &wl->entries[i];

		for (j = 0; j < e->nr_dirs; j++) {
			struct watch_dir *d = &e->dirs[j];

			if (d->wd != wd)
				continue;
			if (!key_in_use(wl, &d->key, e, d))
				wl->sensor->ops->watch_rm(wl->sensor, &d->key);
			free(d->path);
			memmove(d, d + 1, (e->nr_dirs - j - 1) * sizeof(*d));
			e->nr_dirs--;
			j--;
		}
	}
}

/*
 * A new inode under e's name. The name now leads to it, so it is watched
 * with e's id; the inode it replaces keeps counting (an insider may have
 * renamed the database aside to read it, or hold it open) until inotify
 * says its last link and open file are gone. Reads of the new inode
 * between the rename and this event are not counted: the sensor matches
 * inodes, and only now does it learn this one.
 */
static void file_follow(struct watchlist *wl, struct watch_entry *e)
{
	struct exfilmon_obj w = { .flags = EXFILMON_WATCH_FILE,
				  .watch_id = e->id };
	struct exfilmon_file_key key = { 0 };
	char safe[ECHO_MAX + 4];
	struct watch_inode *no;
	struct stat st;
	int ret, fd = -1, wd;
	size_t i;

	/* a symlink put in its place is not followed: not the database */
	ret = key_of_fd(wl, AT_FDCWD, e->real, 0, &key, &st, &fd);
	if (ret || !S_ISREG(st.st_mode)) {
		if (!ret || ret != -ENOENT)
			log_warn("watch %s: the name now holds %s: not watched",
				 esc(e->path, safe), ret ? strerror(-ret) :
				 "something other than a regular file");
		goto out;
	}
	if (key_eq(&key, &e->key))
		goto out;
	/* a file renamed back: its watch and wd are there already */
	for (i = 0; i < e->nr_old; i++)
		if (key_eq(&e->old[i].key, &key))
			break;
	if (i < e->nr_old) {
		wd = e->old[i].wd;
		e->nr_old--;
		memmove(&e->old[i], &e->old[i + 1],
			(e->nr_old - i) * sizeof(*e->old));
	} else {
		ret = wl->sensor->ops->watch_add(wl->sensor, &key, &w);
		if (ret) {
			log_err("watch %s: failed to watch the file that "
				"replaced it: %s", esc(e->path, safe),
				strerror(-ret));
			goto out;
		}
		wd = inode_wd(wl, fd);
	}
	if (key_set(&e->key)) {
		no = realloc(e->old, (e->nr_old + 1) * sizeof(*no));
		if (!no) {
			/* keep the old one watched: losing the new is better
			 * than forgetting an inode that stays counted */
			log_err("watch %s: failed to follow a replacement: %s",
				esc(e->path, safe), strerror(ENOMEM));
			if (!key_in_use(wl, &key, NULL, NULL))
				wl->sensor->ops->watch_rm(wl->sensor, &key);
			wd_drop(wl, wd, NULL, NULL);
			goto out;
		}
		e->old = no;
		e->old[e->nr_old].key = e->key;
		e->old[e->nr_old].wd = e->wd;
		e->nr_old++;
	}
	log_info("watch %s: now inode %llu (was %llu); %zu earlier inode(s) "
		 "still counted", esc(e->path, safe),
		 (unsigned long long)key.ino, (unsigned long long)e->key.ino,
		 e->nr_old);
	e->key = key;
	e->wd = wd;
	e->replaced++;
out:
	if (fd >= 0)
		close(fd);
}

/*
 * inotify dropped watch wd: a watched file's inode has no link and no
 * open file left (IN_DELETE_SELF came first), or a parent directory is
 * gone. Forget the inode before its number can be given to another file.
 */
static void file_gone(struct watchlist *wl, int wd)
{
	struct exfilmon_file_key gone = { 0 };
	char safe[ECHO_MAX + 4];
	size_t i, j;

	for (i = 0; i < wl->nr; i++) {
		struct watch_entry *e = &wl->entries[i];

		if (e->is_dir)
			continue;
		if (e->wd == wd) {
			gone = e->key;
			memset(&e->key, 0, sizeof(e->key));
			e->wd = -1;
		}
		for (j = 0; j < e->nr_old; j++) {
			if (e->old[j].wd != wd)
				continue;
			gone = e->old[j].key;
			e->nr_old--;
			memmove(&e->old[j], &e->old[j + 1],
				(e->nr_old - j) * sizeof(*e->old));
			j--;
		}
		if (e->parent_wd == wd) {
			e->parent_wd = -1;
			log_warn("watch %s: its directory is gone: a file made "
				 "again at this path will not be watched until "
				 "the path is watched again", esc(e->path, safe));
		}
	}
	if (key_set(&gone))
		wl->sensor->ops->watch_rm(wl->sensor, &gone);
}

static void new_subdir(struct watchlist *wl, const struct inotify_event *ev)
{
	char safe[ECHO_MAX + 4];
	size_t i, j;

	for (i = 0; i < wl->nr; i++) {
		struct watch_entry *e = &wl->entries[i];

		for (j = 0; j < e->nr_dirs; j++) {
			char sub[PATH_MAX];
			int ret;

			if (e->dirs[j].wd != ev->wd)
				continue;
			if (snprintf(sub, sizeof(sub), "%s/%s",
				     e->dirs[j].path, ev->name) >=
			    (int)sizeof(sub))
				break;
			ret = add_dir(wl, e, sub, 1);
			if (ret)
				log_warn("watch %s: a new directory is not "
					 "watched: %s", esc(sub, safe),
					 strerror(-ret));
			break;
		}
	}
}

void watchlist_inotify(struct watchlist *wl)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(wl->inotify_fd, buf, sizeof(buf))) > 0) {
		char *p;

		for (p = buf; p < buf + n;) {
			struct inotify_event *ev = (void *)p;
			size_t i;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_IGNORED) {
				dir_gone(wl, ev->wd);
				file_gone(wl, ev->wd);
				continue;
			}
			if (!ev->len)
				continue;
			if (ev->mask & IN_ISDIR) {
				new_subdir(wl, ev);
				continue;
			}
			for (i = 0; i < wl->nr; i++) {
				struct watch_entry *e = &wl->entries[i];

				if (!e->is_dir && e->parent_wd == ev->wd &&
				    !strcmp(strrchr(e->real, '/') + 1,
					    ev->name))
					file_follow(wl, e);
			}
		}
	}
}

/* Find the name of inode key->ino directly inside dir. */
static int find_in_dir(const char *dir, const struct exfilmon_file_key *key,
		       char *buf, size_t len)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int found = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_ino == key->ino) {
			snprintf(buf, len, "%s/%s", dir, de->d_name);
			found = 1;
			break;
		}
	}
	closedir(d);
	return found;
}

void watchlist_resolve(const struct watchlist *wl,
		       const struct exfilmon_file_key *key, uint32_t watch_id,
		       char *buf, size_t len)
{
	size_t i, j;

	for (i = 0; i < wl->nr; i++) {
		const struct watch_entry *e = &wl->entries[i];

		if (e->is_dir)
			continue;
		if (key_eq(&e->key, key)) {
			snprintf(buf, len, "%s", e->path);
			return;
		}
		for (j = 0; j < e->nr_old; j++) {
			if (!key_eq(&e->old[j].key, key))
				continue;
			/* where it went is not known: IN_MOVE_SELF has no name */
			snprintf(buf, len, "%s (replaced: the earlier inode %llu)",
				 e->path, (unsigned long long)key->ino);
			return;
		}
	}
	for (i = 0; i < wl->nr; i++) {
		const struct watch_entry *e = &wl->entries[i];

		if (watch_id && e->id != watch_id)
			continue;
		for (j = 0; j < e->nr_dirs; j++)
			if (find_in_dir(e->dirs[j].path, key, buf, len))
				return;
	}
	/* gone, or never visible to us: say what we know */
	snprintf(buf, len, "(inode %llu on device %llu:%llu)",
		 (unsigned long long)key->ino,
		 (unsigned long long)(key->dev >> 20),
		 (unsigned long long)(key->dev & 0xfffff));
}

struct json_object *watchlist_json(const struct watchlist *wl)
{
	struct json_object *arr = json_object_new_array();
	size_t i;

	for (i = 0; arr && i < wl->nr; i++) {
		const struct watch_entry *e = &wl->entries[i];
		struct json_object *o = json_object_new_object();

		/* a path is bytes; the reply must stay valid UTF-8 */
		json_object_object_add(o, "path", json_string_from_bytes(
					       e->path, strlen(e->path)));
		json_object_object_add(o, "kind", json_object_new_string(
					       e->is_dir ? "dir" : "file"));
		json_object_object_add(o, "inodes", json_object_new_int64(
					       e->is_dir ? e->nr_dirs :
					       !!key_set(&e->key) + e->nr_old));
		if (!e->is_dir) {
			json_object_object_add(o, "ino", json_object_new_int64(
						       e->key.ino));
			json_object_object_add(o, "replaced",
					       json_object_new_int64(
						       e->replaced));
		}
		json_object_object_add(o, "source", json_object_new_string(
					       e->from_config ? "config" :
					       "exfilctl"));
		json_object_array_add(arr, o);
	}
	return arr;
}
