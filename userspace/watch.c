// SPDX-License-Identifier: GPL-2.0-only
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
#include "log.h"
#include "watch.h"

#define DIR_EVENTS (IN_CREATE | IN_MOVED_TO | IN_ONLYDIR)

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
static int key_of(struct watchlist *wl, int dirfd, const char *path,
		  int follow, struct exfilmon_file_key *key, struct stat *st)
{
	int fd, ret;

	fd = openat(dirfd, path, O_PATH | O_CLOEXEC |
		    (follow ? 0 : O_NOFOLLOW));
	if (fd < 0)
		return -errno;
	ret = fstat(fd, st) ? -errno : 0;
	if (!ret && (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)))
		ret = wl->sensor->ops->fd_key(wl->sensor, fd, key);
	close(fd);
	return ret;
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
		for (j = 0; j < o->nr_dirs; j++)
			if (&o->dirs[j] != skip && key_eq(&o->dirs[j].key, key))
				return 1;
	}
	return 0;
}

static int wd_in_use(const struct watchlist *wl, int wd,
		     const struct watch_dir *skip)
{
	size_t i, j;

	for (i = 0; i < wl->nr; i++)
		for (j = 0; j < wl->entries[i].nr_dirs; j++)
			if (&wl->entries[i].dirs[j] != skip &&
			    wl->entries[i].dirs[j].wd == wd)
				return 1;
	return 0;
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
			wl->sensor->ops->watch_add(wl->sensor, &e->key, &w);
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

	if (!e->is_dir && !key_in_use(wl, &e->key, e, NULL))
		wl->sensor->ops->watch_rm(wl->sensor, &e->key);
	for (i = 0; i < e->nr_dirs; i++) {
		struct watch_dir *d = &e->dirs[i];

		if (!key_in_use(wl, &d->key, e, d))
			wl->sensor->ops->watch_rm(wl->sensor, &d->key);
		if (d->wd >= 0 && !wd_in_use(wl, d->wd, d))
			inotify_rm_watch(wl->inotify_fd, d->wd);
	}
	/* and the files the sensor added as read through e's directories */
	wl->sensor->ops->watch_rm_id(wl->sensor, e->id);
}

int watchlist_add(struct watchlist *wl, const char *path, int from_config,
		  char *err, size_t errlen)
{
	struct exfilmon_obj w = { .flags = EXFILMON_WATCH_FILE };
	struct watch_entry *e, *ne;
	struct stat st;
	int ret;

	if (path[0] != '/') {
		snprintf(err, errlen, "%s: watch paths must be absolute", path);
		return -EINVAL;
	}
	if (watchlist_find(wl, path)) {
		snprintf(err, errlen, "%s: already watched", path);
		return -EEXIST;
	}
	ne = realloc(wl->entries, (wl->nr + 1) * sizeof(*ne));
	if (!ne) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	wl->entries = ne;
	e = &wl->entries[wl->nr];
	memset(e, 0, sizeof(*e));
	ret = key_of(wl, AT_FDCWD, path, 1, &e->key, &st);
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file or a directory",
			 path);
		return -EINVAL;
	}
	e->id = wl->next_id++;
	e->from_config = from_config;
	e->is_dir = S_ISDIR(st.st_mode);
	e->path = strdup(path);
	if (!e->path) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	if (e->is_dir) {
		ret = add_dir(wl, e, path, 0);
	} else {
		w.watch_id = e->id;
		ret = wl->sensor->ops->watch_add(wl->sensor, &e->key, &w);
	}
	if (ret) {
		snprintf(err, errlen, "%s: cannot watch: %s%s", path,
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
	snprintf(err, errlen, "%s: not watched", path);
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
	struct exfilmon_file_key key;
	struct watch_opaque *no;
	struct stat st;
	int ret;

	ret = key_of(wl, AT_FDCWD, path, 1, &key, &st);
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -EINVAL;
	}
	no = realloc(wl->opaque, (wl->nr_opaque + 1) * sizeof(*no));
	if (!no) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	wl->opaque = no;
	no = &wl->opaque[wl->nr_opaque];
	no->key = key;
	no->path = strdup(path);
	if (!no->path) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	ret = wl->sensor->ops->watch_add(wl->sensor, &key, &w);
	if (ret) {
		snprintf(err, errlen, "%s: cannot mark opaque: %s%s", path,
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

void watchlist_inotify(struct watchlist *wl)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(wl->inotify_fd, buf, sizeof(buf))) > 0) {
		char *p;

		for (p = buf; p < buf + n;) {
			struct inotify_event *ev = (void *)p;
			size_t i, j;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_IGNORED) {
				dir_gone(wl, ev->wd);
				continue;
			}
			if (!(ev->mask & IN_ISDIR) || !ev->len)
				continue;
			for (i = 0; i < wl->nr; i++) {
				struct watch_entry *e = &wl->entries[i];

				for (j = 0; j < e->nr_dirs; j++) {
					char sub[PATH_MAX];

					if (e->dirs[j].wd != ev->wd)
						continue;
					int ret;

					snprintf(sub, sizeof(sub), "%s/%s",
						 e->dirs[j].path, ev->name);
					ret = add_dir(wl, e, sub, 1);
					if (ret)
						log_warn("watch %s: new directory "
							 "%s not watched: %s",
							 e->path, sub,
							 strerror(-ret));
					break;
				}
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

		if (!e->is_dir && !memcmp(&e->key, key, sizeof(*key))) {
			snprintf(buf, len, "%s", e->path);
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

		json_object_object_add(o, "path",
				       json_object_new_string(e->path));
		json_object_object_add(o, "kind", json_object_new_string(
					       e->is_dir ? "dir" : "file"));
		json_object_object_add(o, "inodes", json_object_new_int64(
					       e->is_dir ? e->nr_dirs : 1));
		json_object_object_add(o, "source", json_object_new_string(
					       e->from_config ? "config" :
					       "exfilctl"));
		json_object_array_add(arr, o);
	}
	return arr;
}
