// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: the daemon's side of the exfilctl protocol. The input is
 * the byte stream a client sends on its connection (a struct ipc_hdr, then
 * JSON): it goes through a socketpair into ipc_recv() (userspace/ipc.c),
 * and what decodes is answered by daemon_handle() (userspace/handlers.c)
 * against a real store, as a reader and as a stranger would be answered.
 * Root's requests (watch add/rm, reload) change the host's inotify
 * watches and reread the config file, so only their refusal is fuzzed.
 *
 * Invariants, besides no crash, leak or UB:
 *  - ipc_recv() accepts exactly a well-formed header (magic, version, no
 *    flags, no pad, len <= IPC_MAX_LEN) followed by len bytes that are
 *    one JSON object and nothing else, and returns the errno docs/ipc.md
 *    gives for each other case;
 *  - what it accepted survives ipc_send() and ipc_recv() unchanged;
 *  - every reply is an object with a boolean "ok", and an "error" string
 *    when ok is false;
 *  - a peer outside the readers' group is always refused, and a reader is
 *    refused every change (watch add/rm, reload);
 *  - no request from either changes the store (PRAGMA data_version).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sqlite3.h>

#include "daemon_env.h"

/* Longer inputs would fill the socket buffer before anyone reads. */
#define MAX_INPUT (64 * 1024)

static struct daemon d;
static sqlite3 *watcher;	/* our own connection to the store */

static void fail(const char *what, const uint8_t *data, size_t size)
{
	fprintf(stderr, "fuzz_ipc: %s (input of %zu bytes)\n", what, size);
	daemon_env_abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (daemon_env_open(&d) || daemon_env_seed(&d) || daemon_env_begin(&d))
		daemon_env_abort();
	if (sqlite3_open_v2(daemon_env_db(), &watcher, SQLITE_OPEN_READONLY,
			    NULL) != SQLITE_OK)
		daemon_env_abort();
	return 0;
}

/* The errno ipc_recv() owes the input, or 0 when it is a valid header. */
static int expected_frame(const uint8_t *data, size_t size, uint32_t *len)
{
	struct ipc_hdr h;

	if (!size)
		return -ECONNRESET;
	if (size < sizeof(h))
		return -EPROTO;
	memcpy(&h, data, sizeof(h));
	if (h.magic != IPC_MAGIC || h.version != IPC_VERSION || h.flags ||
	    h.pad)
		return -EPROTO;
	if (h.len > IPC_MAX_LEN)
		return -EMSGSIZE;
	if (size - sizeof(h) < h.len)
		return -EPROTO;
	*len = h.len;
	return 0;
}

/* Write data into a fresh connection and decode it as the daemon does. */
static int decode(const void *data, size_t size, struct json_object **msg)
{
	int sv[2], ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		daemon_env_abort();
	if (size && send(sv[0], data, size, MSG_NOSIGNAL) != (ssize_t)size)
		daemon_env_abort();
	close(sv[0]);	/* the client is done: the daemon sees the end */
	ret = ipc_recv(sv[1], msg);
	close(sv[1]);
	return ret;
}

/* The message round-trips through the daemon's encoder unchanged. */
static void round_trip(struct json_object *msg, const uint8_t *data,
		       size_t size)
{
	struct json_object *back = NULL;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		daemon_env_abort();
	if (ipc_send(sv[0], msg))
		fail("ipc_send() refused what ipc_recv() accepted", data, size);
	close(sv[0]);
	if (ipc_recv(sv[1], &back) || !json_object_equal(msg, back))
		fail("a message changed through ipc_send() and ipc_recv()",
		     data, size);
	close(sv[1]);
	json_object_put(back);
}

static int reply_ok(struct json_object *reply, const uint8_t *data,
		    size_t size)
{
	struct json_object *ok, *err;

	if (!json_object_is_type(reply, json_type_object) ||
	    !json_object_object_get_ex(reply, "ok", &ok) ||
	    !json_object_is_type(ok, json_type_boolean))
		fail("a reply without a boolean \"ok\"", data, size);
	if (json_object_get_boolean(ok))
		return 1;
	if (!json_object_object_get_ex(reply, "error", &err) ||
	    !json_object_is_type(err, json_type_string))
		fail("a refusal without an \"error\" string", data, size);
	return 0;
}

static int is_change(struct json_object *req)
{
	struct json_object *v;
	const char *cmd;

	if (!json_object_object_get_ex(req, "cmd", &v) ||
	    !json_object_is_type(v, json_type_string))
		return 0;
	cmd = json_object_get_string(v);
	if (!strcmp(cmd, "reload"))
		return 1;
	if (strcmp(cmd, "watch") ||
	    !json_object_object_get_ex(req, "op", &v) ||
	    !json_object_is_type(v, json_type_string))
		return 0;
	return strcmp(json_object_get_string(v), "list") != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_peer reader = { .pid = 4242, .uid = 65534, .gid = 100,
				   .nr_groups = 1,
				   .groups = { DAEMON_ENV_READER_GID } };
	struct ipc_peer stranger = { .pid = 4243, .uid = 1, .gid = 1 };
	struct json_object *msg = NULL, *reply;
	int64_t version;
	uint32_t len = 0;
	int want, ret;

	if (size > MAX_INPUT)
		return 0;
	want = expected_frame(data, size, &len);
	ret = decode(data, size, &msg);
	if (want && ret != want)
		fail("ipc_recv() returned another errno than the header says",
		     data, size);
	if (!want) {
		/* the payload decides: one JSON object, or -EBADMSG */
		if (ret && ret != -EBADMSG)
			fail("ipc_recv() failed on a valid header", data, size);
		if (!ret && memchr(data + sizeof(struct ipc_hdr), '\0', len))
			fail("ipc_recv() accepted a NUL in the JSON", data,
			     size);
	}
	if (ret)
		return 0;
	if (!json_object_is_type(msg, json_type_object))
		fail("ipc_recv() returned something other than an object",
		     data, size);
	round_trip(msg, data, size);

	version = daemon_env_data_version(watcher);
	reply = daemon_handle(&d, &stranger, msg);
	if (reply_ok(reply, data, size))
		fail("a peer outside the readers' group was answered", data,
		     size);
	json_object_put(reply);

	reply = daemon_handle(&d, &reader, msg);
	if (reply_ok(reply, data, size) && is_change(msg))
		fail("a reader changed the daemon's state", data, size);
	json_object_put(reply);
	if (daemon_env_data_version(watcher) != version)
		fail("a request that is not root's changed the store", data,
		     size);
	json_object_put(msg);
	return 0;
}
