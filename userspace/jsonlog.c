// SPDX-License-Identifier: GPL-2.0-only
/*
 * The JSON-lines alert log. A SIEM agent tails this file and parses each
 * line on its own, so a line must never be torn or interleaved: each one is
 * built in memory and handed to a single write(2) on an O_APPEND descriptor,
 * which the kernel applies atomically to a regular file's end (the inode
 * lock serialises appenders). Each line is an ECS document
 * (alert_ecs.c, docs/siem.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alert_ecs.h"
#include "jsonlog.h"

/* Alerts name users, commands and hosts: readable by the group at most. */
#define JSONLOG_MODE	0640

struct jsonlog {
	int fd;
	/*
	 * A short write left a partial line that could not be cut off: the
	 * next line starts with '\n' so that it, at least, parses.
	 */
	bool torn;
	char path[];
};

static int open_log(const char *path)
{
	int fd, tries;

	/*
	 * O_NOFOLLOW: the daemon runs as root, and a symlink planted in its
	 * place would make it append to any file on the system.
	 */
	for (tries = 0; tries < 3; tries++) {
		fd = open(path,
			  O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC |
				  O_NOFOLLOW,
			  JSONLOG_MODE);
		if (fd >= 0) {
			/* The umask may have narrowed the mode: set it. */
			if (fchmod(fd, JSONLOG_MODE)) {
				int err = -errno;

				close(fd);
				return err;
			}
			return fd;
		}
		if (errno != EEXIST)
			return -errno;
		/*
		 * O_NONBLOCK: a FIFO put in its place (the daemon reopens
		 * whatever the path names after a rotation) fails with ENXIO
		 * instead of blocking the daemon until someone reads it.
		 */
		fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW |
				O_NONBLOCK);
		if (fd >= 0 && fcntl(fd, F_SETFL, O_APPEND)) {
			int err = -errno;

			close(fd);
			return err;
		}
		if (fd >= 0)
			return fd;
		/* Removed between the two opens (logrotate): create it. */
		if (errno != ENOENT)
			return -errno;
	}
	return -ENOENT;
}

int jsonlog_open(struct jsonlog **out, const char *path)
{
	struct jsonlog *jl;
	size_t len = strlen(path);
	int fd;

	jl = calloc(1, sizeof(*jl) + len + 1);
	if (!jl)
		return -ENOMEM;
	memcpy(jl->path, path, len + 1);
	fd = open_log(path);
	if (fd < 0) {
		free(jl);
		return fd;
	}
	jl->fd = fd;
	*out = jl;
	return 0;
}

int jsonlog_reopen(struct jsonlog *jl)
{
	int fd = open_log(jl->path);

	if (fd < 0)
		return fd;
	close(jl->fd);
	jl->fd = fd;
	jl->torn = false;
	return 0;
}

int jsonlog_follow(struct jsonlog *jl)
{
	struct stat cur, st;
	int err;

	if (fstat(jl->fd, &cur))
		return -errno;
	/*
	 * lstat: open_log() refuses to follow a symlink at path, so a symlink
	 * there never names the open file either; reopening reports ELOOP.
	 */
	if (!lstat(jl->path, &st)) {
		if (st.st_dev == cur.st_dev && st.st_ino == cur.st_ino)
			return 0;
	} else if (errno != ENOENT) {
		return -errno;
	}
	err = jsonlog_reopen(jl);
	return err ? err : 1;
}

void jsonlog_close(struct jsonlog *jl)
{
	if (!jl)
		return;
	close(jl->fd);
	free(jl);
}

/*
 * Cut the written bytes of a failed line off the end of the file. This
 * assumes the daemon is the only writer, which its single instance ensures.
 */
static void remove_partial(struct jsonlog *jl, size_t written)
{
	struct stat st;

	if (!written)
		return;
	if (fstat(jl->fd, &st) || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size < written ||
	    ftruncate(jl->fd, st.st_size - written))
		jl->torn = true;
}

static ssize_t write_retry(int fd, const char *buf, size_t len)
{
	ssize_t n;

	do
		n = write(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

/* This machine's name for host.hostname, re-read per line: DHCP renames. */
static void hostname(char *buf, size_t len)
{
	if (gethostname(buf, len))
		buf[0] = '\0';	/* too long for a host name: leave it out */
	buf[len - 1] = '\0';
}

int jsonlog_write(struct jsonlog *jl, const struct alert *a,
		  const char *event)
{
	char host[HOST_NAME_MAX + 1];
	struct json_object *obj;
	const char *json;
	size_t json_len, len = 0;
	ssize_t n, rest;
	char *line;
	int err;

	hostname(host, sizeof(host));
	err = alert_ecs_json(a, event, host, &obj);
	if (err)
		return err;
	/* Unescaped '/' keeps paths greppable; both forms are valid JSON. */
	json = json_object_to_json_string_length(
		obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		&json_len);
	line = json ? malloc(json_len + 2) : NULL;
	if (!line) {
		err = -ENOMEM;
		goto out_put;
	}
	if (jl->torn)
		line[len++] = '\n';
	memcpy(line + len, json, json_len);
	len += json_len;
	line[len++] = '\n';

	n = write_retry(jl->fd, line, len);
	if (n < 0) {
		err = -errno;
		goto out_free;
	}
	if ((size_t)n < len) {
		/*
		 * A regular file takes less than asked only when it ran out
		 * of room (ENOSPC, EDQUOT, RLIMIT_FSIZE): writing the rest
		 * either succeeds or tells which.
		 */
		rest = write_retry(jl->fd, line + n, len - n);
		if (rest < 0 || (size_t)rest < len - n) {
			err = rest < 0 ? -errno : -ENOSPC;
			remove_partial(jl, n + (rest > 0 ? rest : 0));
			goto out_free;
		}
	}
	jl->torn = false;
	err = 0;

out_free:
	free(line);
out_put:
	json_object_put(obj);
	return err;
}
