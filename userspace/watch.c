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

static void key_of(const struct stat *st, struct exfilmon_file_key *key)
{
	key->dev = sensor_dev(st->st_dev);
	key->ino = st->st_ino;
}

/* Add one directory level to e (and the sensor), then its subdirs. */
static int add_dir(struct watchlist *wl, struct watch_entry *e,
		   const char *path, int depth)
{
	struct exfilmon_watch w = { .flags = EXFILMON_WATCH_DIR,
				    .watch_id = e->id };
	struct watch_dir *d, *nd;
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int ret;

	if (lstat(path, &st) || !S_ISDIR(st.st_mode))
		return 0;	/* raced away, or a symlink: not followed */
	if (e->nr_dirs >= wl->max_dirs || depth > 64)
		return -E2BIG;
	nd = realloc(e->dirs, (e->nr_dirs + 1) * sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	e->dirs = nd;
	d = &e->dirs[e->nr_dirs];
	memset(d, 0, sizeof(*d));
	key_of(&st, &d->key);
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

static void entry_unwatch(struct watchlist *wl, struct watch_entry *e)
{
	size_t i;

	if (!e->is_dir) {
		wl->sensor->ops->watch_rm(wl->sensor, &e->key);
		return;
	}
	for (i = 0; i < e->nr_dirs; i++) {
		wl->sensor->ops->watch_rm(wl->sensor, &e->dirs[i].key);
		if (e->dirs[i].wd >= 0)
			inotify_rm_watch(wl->inotify_fd, e->dirs[i].wd);
	}
}

int watchlist_add(struct watchlist *wl, const char *path, int from_config,
		  char *err, size_t errlen)
{
	struct exfilmon_watch w = { .flags = EXFILMON_WATCH_FILE };
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
	if (stat(path, &st)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file or a directory",
			 path);
		return -EINVAL;
	}
	ne = realloc(wl->entries, (wl->nr + 1) * sizeof(*ne));
	if (!ne) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	wl->entries = ne;
	e = &wl->entries[wl->nr];
	memset(e, 0, sizeof(*e));
	e->id = wl->next_id++;
	e->from_config = from_config;
	e->is_dir = S_ISDIR(st.st_mode);
	key_of(&st, &e->key);
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
		return 0;
	}
	snprintf(err, errlen, "%s: not watched", path);
	return -ENOENT;
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
			if (!(ev->mask & IN_ISDIR) || !ev->len)
				continue;
			for (i = 0; i < wl->nr; i++) {
				struct watch_entry *e = &wl->entries[i];

				for (j = 0; j < e->nr_dirs; j++) {
					char sub[PATH_MAX];

					if (e->dirs[j].wd != ev->wd)
						continue;
					snprintf(sub, sizeof(sub), "%s/%s",
						 e->dirs[j].path, ev->name);
					add_dir(wl, e, sub, 1);
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
