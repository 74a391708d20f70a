/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The exfilctl <-> exfilmond protocol: one request, one reply, over a Unix
 * stream socket. Each message is a struct ipc_hdr followed by hdr.len bytes
 * of JSON. The daemon checks the peer's credentials (SO_PEERCRED and
 * SO_PEERGROUPS) on every request. Protocol and schemas: docs/ipc.md.
 */
#ifndef EXFILMON_IPC_H
#define EXFILMON_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#define IPC_MAGIC	0x4d465845u	/* "EXFM" on a little-endian wire */
#define IPC_VERSION	1
#define IPC_MAX_LEN	(16u << 20)	/* a larger message is refused */
#define IPC_TIMEOUT_S	10		/* longest wait for one message */

struct ipc_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t flags;		/* 0; anything else is refused */
	uint32_t len;		/* JSON bytes that follow */
	uint32_t pad;
};
_Static_assert(sizeof(struct ipc_hdr) == 16, "ipc_hdr layout");

/* What a peer may do. */
enum ipc_access {
	IPC_DENIED = 0,
	IPC_READ,	/* status, alerts, show, query, watch list */
	IPC_ADMIN,	/* also watch add/rm */
};

struct ipc_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int nr_groups;
};

/*
 * Read the peer's credentials from a connected socket: those it had when it
 * called connect(). Only the first 64 supplementary groups are kept, so a
 * member listed beyond them is refused rather than wrongly admitted.
 */
int ipc_peer_creds(int fd, struct ipc_peer *peer);
/*
 * root is IPC_ADMIN; a peer whose gid or supplementary groups include
 * reader_gid (when reader_gid != (gid_t)-1) is IPC_READ; anyone else
 * IPC_DENIED.
 */
enum ipc_access ipc_authorize(const struct ipc_peer *peer, gid_t reader_gid);

/*
 * Send one message: 0, -EMSGSIZE (over IPC_MAX_LEN), -ETIMEDOUT, -EPIPE...
 * Never raises SIGPIPE. Works on blocking and non-blocking fds; gives up
 * with -ETIMEDOUT when the message takes longer than IPC_TIMEOUT_S.
 */
int ipc_send(int fd, struct json_object *msg);
/*
 * Receive one message, a JSON object (new reference in *msg). Returns 0,
 * -ECONNRESET when the peer closed before sending anything, -EPROTO on a
 * bad header (magic, version, flags, pad) or a message cut short,
 * -EMSGSIZE when len > IPC_MAX_LEN, -EBADMSG when the text is not one JSON
 * object, -ETIMEDOUT (SO_RCVTIMEO expired, or the message took longer
 * than IPC_TIMEOUT_S). After any error the stream is out of step: close it.
 */
int ipc_recv(int fd, struct json_object **msg);

/*
 * Create the listening socket at path (unlinking a stale one), mode 0660
 * and group reader_gid (0600 when reader_gid is (gid_t)-1); the parent
 * directory is created 0755 when missing. Returns the fd (non-blocking,
 * close-on-exec) or -errno: -EEXIST when path is something other than a
 * socket, -EADDRINUSE when a live daemon is listening there.
 */
int ipc_listen(const char *path, gid_t reader_gid);
/*
 * Connect to the daemon. Returns a blocking, close-on-exec fd whose sends
 * and receives time out after IPC_TIMEOUT_S, or -errno (EACCES, ENOENT,
 * ECONNREFUSED, ENAMETOOLONG...).
 */
int ipc_connect(const char *path);

/* {"ok": false, "error": msg} (new reference), or NULL on ENOMEM. */
struct json_object *ipc_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif /* EXFILMON_IPC_H */
