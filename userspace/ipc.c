// SPDX-License-Identifier: GPL-2.0-only
/*
 * Both ends of the exfilctl <-> exfilmond transport: message framing, the
 * peer's credentials, and the listening and connecting sockets. The framing
 * is strict because the daemon is root and its peers are not: every header
 * field is checked before a byte of payload is allocated. Protocol:
 * docs/ipc.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "ipc.h"

#define IPC_BACKLOG	16
#define IPC_MAX_GROUPS	((int)(sizeof(((struct ipc_peer *)0)->groups) / sizeof(gid_t)))

/*
 * Each message must be complete within IPC_TIMEOUT_S of the call. On a
 * blocking socket SO_RCVTIMEO alone would not do: a peer trickling one byte
 * per timeout period restarts it for ever, and the daemon serves one
 * client at a time. So progress is also checked against a deadline.
 */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A socket call said EAGAIN. On a blocking socket that is SO_RCVTIMEO or
 * SO_SNDTIMEO expiring; on a non-blocking one (the daemon's accepted
 * sockets may be) wait for readiness, but only until deadline, so a peer
 * that stops half-way through a message cannot hold us for ever.
 */
static int wait_ready(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int flags;
	int ret;

	flags = fcntl(fd, F_GETFL);
	if (flags < 0)
		return -errno;
	if (!(flags & O_NONBLOCK))
		return -ETIMEDOUT;
	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		ret = poll(&pfd, 1, (int)left);
		if (ret > 0)
			return 0;
		if (ret == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int send_all(int fd, const void *buf, size_t len, int64_t deadline)
{
	const char *p = buf;
	ssize_t n;
	int ret;

	while (len) {
		/* MSG_NOSIGNAL: a client that hangs up must not kill the daemon. */
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= n;
			if (len && now_ms() > deadline)
				return -ETIMEDOUT;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ret = wait_ready(fd, POLLOUT, deadline);
			if (ret)
				return ret;
			continue;
		}
		return n < 0 ? -errno : -EIO;
	}
	return 0;
}

/* Returns the bytes read, fewer than len only at end of stream, or -errno. */
static ssize_t recv_all(int fd, void *buf, size_t len, int64_t deadline)
{
	char *p = buf;
	size_t got = 0;
	ssize_t n;
	int ret;

	while (got < len) {
		n = recv(fd, p + got, len - got, 0);
		if (n > 0) {
			got += n;
			if (got < len && now_ms() > deadline)
				return -ETIMEDOUT;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			ret = wait_ready(fd, POLLIN, deadline);
			if (ret)
				return ret;
			continue;
		}
		return -errno;
	}
	return got;
}

int ipc_send(int fd, struct json_object *msg)
{
	struct ipc_hdr hdr = { .magic = IPC_MAGIC, .version = IPC_VERSION };
	int64_t deadline = now_ms() + IPC_TIMEOUT_S * 1000;
	const char *text;
	size_t len;
	int ret;

	if (!json_object_is_type(msg, json_type_object))
		return -EINVAL;
	text = json_object_to_json_string_length(msg,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
			&len);
	if (!text)
		return -ENOMEM;
	if (len > IPC_MAX_LEN)
		return -EMSGSIZE;
	hdr.len = len;
	ret = send_all(fd, &hdr, sizeof(hdr), deadline);
	if (ret)
		return ret;
	return send_all(fd, text, len, deadline);
}

/* Exactly one JSON object and nothing after it. */
static int parse_object(const char *text, size_t len, struct json_object **out)
{
	struct json_tokener *tok;
	struct json_object *obj;
	int ret = -EBADMSG;

	/* json-c would stop at a NUL and ignore what follows it. */
	if (memchr(text, '\0', len))
		return -EBADMSG;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, text, len);
	if (!obj || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len ||
	    !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		goto cleanup;
	}
	*out = obj;
	ret = 0;
cleanup:
	json_tokener_free(tok);
	return ret;
}

int ipc_recv(int fd, struct json_object **msg)
{
	int64_t deadline = now_ms() + IPC_TIMEOUT_S * 1000;
	struct ipc_hdr hdr;
	char *text = NULL;
	ssize_t n;
	int ret;

	*msg = NULL;
	n = recv_all(fd, &hdr, sizeof(hdr), deadline);
	if (n < 0)
		return n;
	if (n == 0)
		return -ECONNRESET;
	if ((size_t)n < sizeof(hdr))
		return -EPROTO;
	/* Unknown flags and a non-zero pad are refused so both can mean
	 * something in a later version without being misread by this one.
	 */
	if (hdr.magic != IPC_MAGIC || hdr.version != IPC_VERSION ||
	    hdr.flags || hdr.pad)
		return -EPROTO;
	if (hdr.len > IPC_MAX_LEN)
		return -EMSGSIZE;

	text = malloc(hdr.len ? hdr.len : 1);
	if (!text)
		return -ENOMEM;
	n = recv_all(fd, text, hdr.len, deadline);
	if (n < 0) {
		ret = n;
		goto cleanup;
	}
	if ((size_t)n < hdr.len) {
		ret = -EPROTO;
		goto cleanup;
	}
	ret = parse_object(text, hdr.len, msg);
cleanup:
	free(text);
	return ret;
}

int ipc_peer_creds(int fd, struct ipc_peer *peer)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t *all = NULL;
	int ret = 0;

	/* Fail closed: a caller that ignores an error must not see uid 0. */
	memset(peer, 0, sizeof(*peer));
	peer->uid = (uid_t)-1;
	peer->gid = (gid_t)-1;

	/*
	 * Both options report the credentials the peer had at connect(), so
	 * a client cannot connect unprivileged and then borrow a privileged
	 * process's identity by passing it the fd.
	 */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;

	len = sizeof(peer->groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, peer->groups, &len) == 0) {
		peer->nr_groups = len / sizeof(gid_t);
		goto out_ok;
	}
	if (errno != ERANGE)
		return -errno;

	/* More than fit: len now holds the size needed. Keep the first ones. */
	all = malloc(len);
	if (!all)
		return -ENOMEM;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, all, &len) < 0) {
		ret = -errno;
		goto cleanup;
	}
	memcpy(peer->groups, all, sizeof(peer->groups));
	peer->nr_groups = IPC_MAX_GROUPS;
out_ok:
	peer->pid = cred.pid;
	peer->uid = cred.uid;
	peer->gid = cred.gid;
cleanup:
	free(all);
	return ret;
}

enum ipc_access ipc_authorize(const struct ipc_peer *peer, gid_t reader_gid)
{
	int i;

	if (!peer)
		return IPC_DENIED;
	if (peer->uid == 0)
		return IPC_ADMIN;
	if (reader_gid == (gid_t)-1)
		return IPC_DENIED;
	if (peer->gid == reader_gid)
		return IPC_READ;
	for (i = 0; i < peer->nr_groups && i < IPC_MAX_GROUPS; i++)
		if (peer->groups[i] == reader_gid)
			return IPC_READ;
	return IPC_DENIED;
}

static int fill_addr(struct sockaddr_un *sa, socklen_t *salen,
		     const char *path)
{
	size_t len;

	if (!path || !*path)
		return -EINVAL;
	len = strlen(path);
	if (len >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, len + 1);
	*salen = offsetof(struct sockaddr_un, sun_path) + len + 1;
	return 0;
}

/* /run is a tmpfs: after a reboot the socket's directory is gone. */
static int make_parent_dir(const char *path)
{
	char *dir;
	char *slash;
	int ret = 0;

	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		goto cleanup;
	*slash = '\0';
	if (mkdir(dir, 0755) == 0) {
		/* mkdir() honoured our umask; readers must reach the socket. */
		if (chmod(dir, 0755) < 0)
			ret = -errno;
	} else if (errno != EEXIST) {
		ret = -errno;
	}
cleanup:
	free(dir);
	return ret;
}

/*
 * A socket left behind by a daemon that died is removed. Anything that is
 * not a socket is left alone (a mistyped path must not delete a file), and
 * so is a socket someone still listens on (a second daemon must not steal
 * the first one's clients).
 */
static int remove_stale(const char *path, const struct sockaddr_un *sa,
			socklen_t salen)
{
	struct stat st;
	int fd;
	int ret;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sa, salen);
	/* EAGAIN: alive, with a full backlog. */
	if (ret == 0 || errno == EAGAIN)
		ret = -EADDRINUSE;
	else if (unlink(path) < 0 && errno != ENOENT)
		ret = -errno;
	else
		ret = 0;
	close(fd);
	return ret;
}

int ipc_listen(const char *path, gid_t reader_gid)
{
	mode_t mode = reader_gid == (gid_t)-1 ? 0600 : 0660;
	struct sockaddr_un sa;
	socklen_t salen;
	mode_t old_umask;
	int fd;
	int ret;

	ret = fill_addr(&sa, &salen, path);
	if (ret)
		return ret;
	ret = make_parent_dir(path);
	if (ret)
		return ret;
	ret = remove_stale(path, &sa, salen);
	if (ret)
		return ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/*
	 * bind() creates the inode as 0777 & ~umask. With 0177 it is 0600 from
	 * the first instant, so nobody can connect before the group is set.
	 * The umask is process-wide: the daemon is single-threaded.
	 */
	old_umask = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, salen);
	umask(old_umask);
	if (ret < 0) {
		ret = -errno;
		goto out_close;
	}
	/* The owner stays whoever bound it: root, for the daemon. */
	if (reader_gid != (gid_t)-1 && chown(path, (uid_t)-1, reader_gid) < 0) {
		ret = -errno;
		goto out_unlink;
	}
	if (chmod(path, mode) < 0) {
		ret = -errno;
		goto out_unlink;
	}
	if (listen(fd, IPC_BACKLOG) < 0) {
		ret = -errno;
		goto out_unlink;
	}
	return fd;

out_unlink:
	unlink(path);
out_close:
	close(fd);
	return ret;
}

int ipc_connect(const char *path)
{
	struct timeval tv = { .tv_sec = IPC_TIMEOUT_S };
	struct sockaddr_un sa;
	socklen_t salen;
	int fd;
	int ret;

	ret = fill_addr(&sa, &salen, path);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/*
	 * A wedged daemon must not hang the CLI: these bound every send and
	 * receive, and also connect() when the daemon's backlog is full.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		ret = -errno;
		goto out_close;
	}
	if (connect(fd, (struct sockaddr *)&sa, salen) < 0) {
		ret = -errno;
		goto out_close;
	}
	return fd;

out_close:
	close(fd);
	return ret;
}

struct json_object *ipc_error(const char *fmt, ...)
{
	struct json_object *obj = NULL;
	char *msg = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;

	obj = json_object_new_object();
	if (!obj)
		goto cleanup;
	if (json_add(obj, "ok", json_object_new_boolean(0)) ||
	    json_add(obj, "error", json_object_new_string(msg))) {
		json_object_put(obj);
		obj = NULL;
	}
cleanup:
	free(msg);
	return obj;
}
