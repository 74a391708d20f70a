// SPDX-License-Identifier: GPL-2.0-only
/*
 * The exfilctl <-> exfilmond transport: framing, the checks on every header
 * field, partial and interrupted I/O, the listening socket's permissions,
 * peer credentials and who is allowed what.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ipc.h"

#define NOBODY_UID	65534
#define TEST_GID	4242	/* reader group when we are root */
#define OTHER_GID	4343

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* A header with every field chosen by the test, then payload. */
static int write_frame(int fd, uint32_t magic, uint16_t version,
		       uint16_t flags, uint32_t len, uint32_t pad,
		       const char *payload, size_t payload_len)
{
	struct ipc_hdr hdr = {
		.magic = magic, .version = version, .flags = flags,
		.len = len, .pad = pad,
	};

	if (write_all(fd, &hdr, sizeof(hdr)))
		return -1;
	return write_all(fd, payload, payload_len);
}

static int write_msg(int fd, const char *json)
{
	return write_frame(fd, IPC_MAGIC, IPC_VERSION, 0, strlen(json), 0,
			   json, strlen(json));
}

TEST(send_writes_header_then_plain_json)
{
	struct json_object *msg = json_object_new_object();
	const char want[] = "{\"cmd\":\"watch\",\"path\":\"/srv/crm\"}";
	char buf[sizeof(struct ipc_hdr) + sizeof(want)];
	struct ipc_hdr hdr;
	int sv[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	json_object_object_add(msg, "cmd", json_object_new_string("watch"));
	json_object_object_add(msg, "path", json_object_new_string("/srv/crm"));
	ASSERT_EQ(0, ipc_send(sv[0], msg));
	close(sv[0]);

	/* Exactly header + payload, then end of stream. */
	ASSERT_EQ(sizeof(hdr) + strlen(want),
		  recv(sv[1], buf, sizeof(buf), MSG_WAITALL));
	memcpy(&hdr, buf, sizeof(hdr));
	EXPECT_EQ(0x4d465845u, hdr.magic);
	EXPECT_EQ(0, memcmp(buf, "EXFM", 4));
	EXPECT_EQ(1, hdr.version);
	EXPECT_EQ(0, hdr.flags);
	EXPECT_EQ(strlen(want), hdr.len);
	EXPECT_EQ(0, hdr.pad);
	/* No "\/" escaping: paths stay readable in a capture. */
	EXPECT_EQ(0, memcmp(buf + sizeof(hdr), want, strlen(want)));
	json_object_put(msg);
	close(sv[1]);
}

TEST(round_trip_keeps_every_value)
{
	struct json_object *msg = json_object_new_object();
	struct json_object *got = NULL;
	struct json_object *v;
	int sv[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	json_object_object_add(msg, "v", json_object_new_int(1));
	json_object_object_add(msg, "cmd", json_object_new_string("query"));
	/* Attacker-chosen bytes: quotes, a newline, ESC, invalid UTF-8. */
	json_object_object_add(msg, "sql",
			       json_object_new_string("\"x\"\n\x1b[2J\xff\xfe"));
	json_object_object_add(msg, "big",
			       json_object_new_uint64(18446744073709551615ull));
	ASSERT_EQ(0, ipc_send(sv[0], msg));
	ASSERT_EQ(0, ipc_recv(sv[1], &got));
	ASSERT_NE(NULL, got);
	EXPECT_EQ(1, json_object_equal(msg, got));
	ASSERT_TRUE(json_object_object_get_ex(got, "sql", &v));
	EXPECT_STREQ("\"x\"\n\x1b[2J\xff\xfe", json_object_get_string(v));
	ASSERT_TRUE(json_object_object_get_ex(got, "big", &v));
	EXPECT_EQ(18446744073709551615ull, json_object_get_uint64(v));
	json_object_put(msg);
	json_object_put(got);
	close(sv[0]);
	close(sv[1]);
}

TEST(two_messages_on_one_stream_stay_apart)
{
	struct json_object *got = NULL;
	int sv[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ(0, write_msg(sv[0], "{\"n\":1}"));
	ASSERT_EQ(0, write_msg(sv[0], "{\"n\":2}"));
	ASSERT_EQ(0, ipc_recv(sv[1], &got));
	EXPECT_STREQ("{ \"n\": 1 }", json_object_to_json_string(got));
	json_object_put(got);
	ASSERT_EQ(0, ipc_recv(sv[1], &got));
	EXPECT_STREQ("{ \"n\": 2 }", json_object_to_json_string(got));
	json_object_put(got);
	close(sv[0]);
	close(sv[1]);
}

/* Every header field is checked before any payload is read. */
FIXTURE(bad_header) {
	int sv[2];
};

FIXTURE_VARIANT(bad_header) {
	uint32_t magic;
	uint16_t version;
	uint16_t flags;
	uint32_t len;
	uint32_t pad;
	int err;
};

FIXTURE_VARIANT_ADD(bad_header, wrong_magic) {
	.magic = 0x4d465846u, .version = 1, .len = 2, .err = EPROTO,
};
FIXTURE_VARIANT_ADD(bad_header, byte_swapped_magic) {
	.magic = 0x4558464du, .version = 1, .len = 2, .err = EPROTO,
};
FIXTURE_VARIANT_ADD(bad_header, version_0) {
	.magic = IPC_MAGIC, .version = 0, .len = 2, .err = EPROTO,
};
FIXTURE_VARIANT_ADD(bad_header, version_2) {
	.magic = IPC_MAGIC, .version = 2, .len = 2, .err = EPROTO,
};
FIXTURE_VARIANT_ADD(bad_header, unknown_flag) {
	.magic = IPC_MAGIC, .version = 1, .flags = 0x8000, .len = 2,
	.err = EPROTO,
};
FIXTURE_VARIANT_ADD(bad_header, nonzero_pad) {
	.magic = IPC_MAGIC, .version = 1, .len = 2, .pad = 1, .err = EPROTO,
};
FIXTURE_VARIANT_ADD(bad_header, one_byte_too_long) {
	.magic = IPC_MAGIC, .version = 1, .len = (16u << 20) + 1,
	.err = EMSGSIZE,
};
FIXTURE_VARIANT_ADD(bad_header, len_4g) {
	.magic = IPC_MAGIC, .version = 1, .len = 0xffffffffu, .err = EMSGSIZE,
};

FIXTURE_SETUP(bad_header)
{
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->sv));
}

FIXTURE_TEARDOWN(bad_header)
{
	close(self->sv[0]);
	close(self->sv[1]);
}

TEST_F(bad_header, is_refused)
{
	struct json_object *got = (struct json_object *)1;

	ASSERT_EQ(0, write_frame(self->sv[0], variant->magic, variant->version,
				 variant->flags, variant->len, variant->pad,
				 "{}", 2));
	EXPECT_EQ(-variant->err, ipc_recv(self->sv[1], &got));
	EXPECT_EQ(NULL, got);
}

/* The header is fine; the text is not exactly one JSON object. */
FIXTURE(bad_payload) {
	int sv[2];
};

FIXTURE_VARIANT(bad_payload) {
	const char *text;
	size_t len;
};

#define PAYLOAD(s) .text = (s), .len = sizeof(s) - 1

FIXTURE_VARIANT_ADD(bad_payload, empty) { PAYLOAD("") };
FIXTURE_VARIANT_ADD(bad_payload, not_json) { PAYLOAD("cmd=status") };
FIXTURE_VARIANT_ADD(bad_payload, unterminated) { PAYLOAD("{\"cmd\":\"st") };
FIXTURE_VARIANT_ADD(bad_payload, array) { PAYLOAD("[{\"cmd\":\"status\"}]") };
FIXTURE_VARIANT_ADD(bad_payload, string) { PAYLOAD("\"status\"") };
FIXTURE_VARIANT_ADD(bad_payload, number) { PAYLOAD("1") };
FIXTURE_VARIANT_ADD(bad_payload, trailing_object) { PAYLOAD("{}{}") };
FIXTURE_VARIANT_ADD(bad_payload, trailing_junk) { PAYLOAD("{}x") };
FIXTURE_VARIANT_ADD(bad_payload, nul_after_object) { PAYLOAD("{}\0{\"a\":1}") };
FIXTURE_VARIANT_ADD(bad_payload, single_quotes) { PAYLOAD("{'cmd':'status'}") };

FIXTURE_SETUP(bad_payload)
{
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->sv));
}

FIXTURE_TEARDOWN(bad_payload)
{
	close(self->sv[0]);
	close(self->sv[1]);
}

TEST_F(bad_payload, is_ebadmsg)
{
	struct json_object *got = (struct json_object *)1;

	ASSERT_EQ(0, write_frame(self->sv[0], IPC_MAGIC, IPC_VERSION, 0,
				 variant->len, 0, variant->text,
				 variant->len));
	EXPECT_EQ(-EBADMSG, ipc_recv(self->sv[1], &got));
	EXPECT_EQ(NULL, got);
}

TEST(peer_closing_early)
{
	struct json_object *got = NULL;
	int sv[2];

	/* Nothing at all: a clean hang-up. */
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	close(sv[0]);
	EXPECT_EQ(-ECONNRESET, ipc_recv(sv[1], &got));
	close(sv[1]);

	/* Half a header. */
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ(0, write_all(sv[0], "EXFM\1\0\0\0", 8));
	close(sv[0]);
	EXPECT_EQ(-EPROTO, ipc_recv(sv[1], &got));
	close(sv[1]);

	/* A header promising 100 bytes, then 10. */
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ(0, write_frame(sv[0], IPC_MAGIC, IPC_VERSION, 0, 100, 0,
				 "{\"cmd\":\"s", 10));
	close(sv[0]);
	EXPECT_EQ(-EPROTO, ipc_recv(sv[1], &got));
	EXPECT_EQ(NULL, got);
	close(sv[1]);
}

TEST(send_refuses_oversized_and_non_objects)
{
	struct json_object *msg = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	char *big = malloc(IPC_MAX_LEN);
	int sv[2];
	char c;

	ASSERT_NE(NULL, big);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	/* {"s":"xxx..."}: IPC_MAX_LEN - 1 x's make it 7 bytes too long. */
	memset(big, 'x', IPC_MAX_LEN - 1);
	big[IPC_MAX_LEN - 1] = '\0';
	json_object_object_add(msg, "s", json_object_new_string(big));
	EXPECT_EQ(-EMSGSIZE, ipc_send(sv[0], msg));
	EXPECT_EQ(-EINVAL, ipc_send(sv[0], arr));
	EXPECT_EQ(-EINVAL, ipc_send(sv[0], NULL));
	/* Nothing at all was written. */
	close(sv[0]);
	EXPECT_EQ(0, read(sv[1], &c, 1));
	close(sv[1]);
	json_object_put(msg);
	json_object_put(arr);
	free(big);
}

/* The largest message allowed passes both ends. */
TEST(message_of_exactly_ipc_max_len)
{
	const size_t n = IPC_MAX_LEN - strlen("{\"s\":\"\"}");
	struct json_object *msg = json_object_new_object();
	struct json_object *got = NULL;
	struct json_object *v;
	char *blob = malloc(n + 1);
	int status;
	pid_t pid;
	int sv[2];

	ASSERT_NE(NULL, blob);
	memset(blob, 'y', n);
	blob[n] = '\0';
	json_object_object_add(msg, "s", json_object_new_string(blob));
	ASSERT_EQ(IPC_MAX_LEN, strlen(json_object_to_json_string_ext(msg,
					JSON_C_TO_STRING_PLAIN)));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(sv[1]);
		status = ipc_send(sv[0], msg) ? 1 : 0;
		json_object_put(msg);
		free(blob);
		_exit(status);
	}
	close(sv[0]);
	ASSERT_EQ(0, ipc_recv(sv[1], &got));
	ASSERT_TRUE(json_object_object_get_ex(got, "s", &v));
	EXPECT_EQ(n, json_object_get_string_len(v));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	json_object_put(got);
	json_object_put(msg);
	close(sv[1]);
	free(blob);
}

TEST(send_to_closed_peer_is_epipe_not_sigpipe)
{
	struct json_object *msg = json_object_new_object();
	int sv[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	close(sv[1]);
	/* SIGPIPE's default action would end the test as a crash. */
	EXPECT_EQ(-EPIPE, ipc_send(sv[0], msg));
	close(sv[0]);
	json_object_put(msg);
}

static volatile sig_atomic_t nr_alarms;

static void on_alarm(int sig)
{
	nr_alarms++;
}

/*
 * A peer writing one byte at a time, while a 1 ms timer keeps
 * interrupting the reader (no SA_RESTART): the message still arrives whole.
 */
TEST(recv_survives_short_reads_and_eintr)
{
	const char text[] = "{\"cmd\":\"alerts\",\"since_s\":3600}";
	struct itimerval tick = {
		.it_interval = { .tv_usec = 1000 }, .it_value = { .tv_usec = 1000 },
	};
	struct itimerval off = {};
	struct sigaction sa = { .sa_handler = on_alarm };
	struct json_object *got = NULL;
	struct ipc_hdr hdr = {
		.magic = IPC_MAGIC, .version = IPC_VERSION, .len = strlen(text),
	};
	char frame[sizeof(hdr) + sizeof(text)];
	int status;
	size_t i;
	pid_t pid;
	int sv[2];

	memcpy(frame, &hdr, sizeof(hdr));
	memcpy(frame + sizeof(hdr), text, strlen(text));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(sv[1]);
		for (i = 0; i < sizeof(hdr) + strlen(text); i++) {
			if (write_all(sv[0], frame + i, 1))
				_exit(1);
			usleep(2000);
		}
		_exit(0);
	}
	close(sv[0]);
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	nr_alarms = 0;
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &tick, NULL));
	EXPECT_EQ(0, ipc_recv(sv[1], &got));
	setitimer(ITIMER_REAL, &off, NULL);
	EXPECT_LT(10, nr_alarms);
	ASSERT_NE(NULL, got);
	EXPECT_STREQ(text, json_object_to_json_string_ext(got,
						JSON_C_TO_STRING_PLAIN));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	json_object_put(got);
	close(sv[1]);
}

/*
 * 4 MiB does not fit in a socket buffer: the sender sees partial writes
 * and, on a non-blocking socket (as the daemon's may be), EAGAIN.
 */
TEST(large_message_through_a_slow_reader)
{
	const size_t size = 4u << 20;
	struct json_object *msg = json_object_new_object();
	struct json_object *got = NULL;
	struct json_object *v;
	char *blob = malloc(size + 1);
	int status;
	size_t i;
	pid_t pid;
	int sv[2];

	ASSERT_NE(NULL, blob);
	for (i = 0; i < size; i++)
		blob[i] = 'a' + i % 26;
	blob[size] = '\0';
	json_object_object_add(msg, "blob", json_object_new_string(blob));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(sv[1]);
		usleep(100000);	/* let the sender fill the buffer first */
		if (ipc_recv(sv[0], &got) ||
		    !json_object_object_get_ex(got, "blob", &v) ||
		    json_object_get_string_len(v) != (int)size ||
		    memcmp(json_object_get_string(v), blob, size))
			_exit(1);
		_exit(0);
	}
	close(sv[0]);
	ASSERT_EQ(0, fcntl(sv[1], F_SETFL, O_NONBLOCK));
	EXPECT_EQ(0, ipc_send(sv[1], msg));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	close(sv[1]);
	json_object_put(msg);
	free(blob);
}

TEST(recv_times_out_on_a_silent_peer)
{
	struct timeval tv = { .tv_usec = 100000 };
	struct json_object *got = NULL;
	int sv[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ(0, setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv,
				sizeof(tv)));
	/* Half a header, then silence: not the end of the stream. */
	ASSERT_EQ(0, write_all(sv[0], "EXFM", 4));
	EXPECT_EQ(-ETIMEDOUT, ipc_recv(sv[1], &got));
	close(sv[0]);
	close(sv[1]);
}

/*
 * A peer trickling a byte every 500 ms never trips a 2 s SO_RCVTIMEO (the
 * daemon's setting), but the whole message must arrive within
 * IPC_TIMEOUT_S or the single-threaded daemon is held hostage.
 */
TEST(recv_gives_up_on_a_trickling_peer)
{
	struct timeval tv = { .tv_sec = 2 };
	struct json_object *got = NULL;
	struct timespec t0;
	struct timespec t1;
	double elapsed;
	pid_t pid;
	int sv[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ(0, setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv,
				sizeof(tv)));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(sv[1]);
		/* A valid header announcing 64 bytes, then a trickle. */
		if (write_frame(sv[0], IPC_MAGIC, IPC_VERSION, 0, 64, 0, "", 0))
			_exit(1);
		for (;;) {
			usleep(500000);
			if (write_all(sv[0], " ", 1))
				_exit(0);
		}
	}
	close(sv[0]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_EQ(-ETIMEDOUT, ipc_recv(sv[1], &got));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	EXPECT_LE(IPC_TIMEOUT_S, elapsed);
	EXPECT_GT(IPC_TIMEOUT_S + 2, elapsed);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(sv[1]);
}

TEST(error_reply)
{
	struct json_object *err;

	err = ipc_error("permission denied: uid %d is not root or a member of group '%s'",
			1000, "exfilmon");
	ASSERT_NE(NULL, err);
	EXPECT_STREQ("{\"ok\":false,\"error\":\"permission denied: uid 1000 is not root or a member of group 'exfilmon'\"}",
		     json_object_to_json_string_ext(err, JSON_C_TO_STRING_PLAIN));
	json_object_put(err);
}

/* ipc_authorize() over every kind of peer. */
FIXTURE(authorize) {
};

FIXTURE_VARIANT(authorize) {
	uid_t uid;
	gid_t gid;
	gid_t groups[3];
	int nr_groups;
	gid_t reader_gid;
	enum ipc_access want;
};

FIXTURE_VARIANT_ADD(authorize, root) {
	.uid = 0, .gid = 0, .reader_gid = 100, .want = IPC_ADMIN,
};
FIXTURE_VARIANT_ADD(authorize, root_without_reader_group) {
	.uid = 0, .gid = 0, .reader_gid = (gid_t)-1, .want = IPC_ADMIN,
};
FIXTURE_VARIANT_ADD(authorize, root_uid_any_gid) {
	.uid = 0, .gid = 1000, .reader_gid = 100, .want = IPC_ADMIN,
};
FIXTURE_VARIANT_ADD(authorize, member_by_primary_gid) {
	.uid = 1000, .gid = 100, .reader_gid = 100, .want = IPC_READ,
};
FIXTURE_VARIANT_ADD(authorize, member_by_supplementary_group) {
	.uid = 1000, .gid = 1000, .groups = { 27, 100, 1000 },
	.nr_groups = 3, .reader_gid = 100, .want = IPC_READ,
};
FIXTURE_VARIANT_ADD(authorize, non_member) {
	.uid = 1000, .gid = 1000, .groups = { 27, 1000 }, .nr_groups = 2,
	.reader_gid = 100, .want = IPC_DENIED,
};
/* Group 0 is not root: only uid 0 administers. */
FIXTURE_VARIANT_ADD(authorize, gid_0_is_not_root) {
	.uid = 1000, .gid = 0, .groups = { 0 }, .nr_groups = 1,
	.reader_gid = 100, .want = IPC_DENIED,
};
/* Stale entries past nr_groups do not count. */
FIXTURE_VARIANT_ADD(authorize, group_past_nr_groups) {
	.uid = 1000, .gid = 1000, .groups = { 27, 100 }, .nr_groups = 1,
	.reader_gid = 100, .want = IPC_DENIED,
};
/* No reader group: a gid of -1 (as left by a failed lookup) gets nothing. */
FIXTURE_VARIANT_ADD(authorize, no_reader_group) {
	.uid = 1000, .gid = (gid_t)-1, .groups = { (gid_t)-1 },
	.nr_groups = 1, .reader_gid = (gid_t)-1, .want = IPC_DENIED,
};

FIXTURE_SETUP(authorize)
{
}

FIXTURE_TEARDOWN(authorize)
{
}

TEST_F(authorize, truth_table)
{
	struct ipc_peer peer = {
		.pid = 1234, .uid = variant->uid, .gid = variant->gid,
		.nr_groups = variant->nr_groups,
	};

	memcpy(peer.groups, variant->groups, sizeof(variant->groups));
	EXPECT_EQ(variant->want, ipc_authorize(&peer, variant->reader_gid));
}

TEST(authorize_null_peer)
{
	EXPECT_EQ(IPC_DENIED, ipc_authorize(NULL, 100));
}

TEST(peer_creds_of_a_non_socket_fail_closed)
{
	struct ipc_peer peer;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(-ENOTSOCK, ipc_peer_creds(p[0], &peer));
	/* A caller that ignores the error still gets nothing. */
	EXPECT_EQ(IPC_DENIED, ipc_authorize(&peer, 100));
	EXPECT_EQ(IPC_DENIED, ipc_authorize(&peer, (gid_t)-1));
	close(p[0]);
	close(p[1]);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	return remove(path);
}

/* A private directory for the daemon's socket. */
FIXTURE(sock) {
	char dir[64];
	char path[128];
	gid_t reader_gid;
};

FIXTURE_SETUP(sock)
{
	strcpy(self->dir, "/tmp/exfilmon-ipc-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	/* So that a test that drops to nobody can reach the socket. */
	ASSERT_EQ(0, chmod(self->dir, 0755));
	snprintf(self->path, sizeof(self->path), "%s/run/exfilmon.sock",
		 self->dir);
	/* Anyone may give a file to a group they are in; root, any group. */
	self->reader_gid = geteuid() == 0 ? TEST_GID : getegid();
}

FIXTURE_TEARDOWN(sock)
{
	nftw(self->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void check_socket_fd(struct __test_metadata *_metadata, int fd)
{
	int flags;

	flags = fcntl(fd, F_GETFL);
	EXPECT_TRUE(flags & O_NONBLOCK);
	flags = fcntl(fd, F_GETFD);
	EXPECT_TRUE(flags & FD_CLOEXEC);
}

TEST_F(sock, listen_group_readable_0660)
{
	struct stat st;
	mode_t old;
	int fd;

	/* A permissive umask must not leak into the socket's mode. */
	old = umask(0);
	fd = ipc_listen(self->path, self->reader_gid);
	EXPECT_EQ(0, umask(old));	/* and ours is left as it was */
	ASSERT_LE(0, fd) TH_LOG("ipc_listen(%s): %s", self->path,
				strerror(-fd));
	check_socket_fd(_metadata, fd);

	ASSERT_EQ(0, lstat(self->path, &st));
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
	EXPECT_EQ(0660, st.st_mode & 07777);
	EXPECT_EQ(self->reader_gid, st.st_gid);
	EXPECT_EQ(geteuid(), st.st_uid);

	/* The missing parent was made, searchable by the readers. */
	ASSERT_EQ(0, stat(dirname(strdupa(self->path)), &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(0755, st.st_mode & 07777);
	close(fd);
}

TEST_F(sock, listen_without_reader_group_is_0600)
{
	struct stat st;
	int fd;

	fd = ipc_listen(self->path, (gid_t)-1);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, lstat(self->path, &st));
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(getegid(), st.st_gid);
	close(fd);
}

TEST_F(sock, listen_replaces_a_stale_socket)
{
	int old;
	int fd;

	/* A daemon that died: its socket file stays, nobody listens. */
	fd = ipc_listen(self->path, (gid_t)-1);
	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(-ECONNREFUSED, ipc_connect(self->path));

	fd = ipc_listen(self->path, self->reader_gid);
	ASSERT_LE(0, fd);
	old = ipc_connect(self->path);
	EXPECT_LE(0, old);
	close(old);
	close(fd);
}

TEST_F(sock, listen_keeps_a_live_daemons_socket)
{
	int first;
	int fd;

	first = ipc_listen(self->path, self->reader_gid);
	ASSERT_LE(0, first);
	EXPECT_EQ(-EADDRINUSE, ipc_listen(self->path, self->reader_gid));
	/* Still reachable. */
	fd = ipc_connect(self->path);
	EXPECT_LE(0, fd);
	close(fd);
	close(first);
}

TEST_F(sock, listen_never_deletes_a_non_socket)
{
	char buf[16] = {};
	int fd;

	ASSERT_EQ(0, mkdir(dirname(strdupa(self->path)), 0755));
	fd = open(self->path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_all(fd, "precious", 8));
	close(fd);

	EXPECT_EQ(-EEXIST, ipc_listen(self->path, self->reader_gid));
	fd = open(self->path, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(8, read(fd, buf, sizeof(buf)));
	EXPECT_STREQ("precious", buf);
	close(fd);
}

TEST_F(sock, path_errors)
{
	char long_path[200];

	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	EXPECT_EQ(-ENAMETOOLONG, ipc_listen(long_path, (gid_t)-1));
	EXPECT_EQ(-ENAMETOOLONG, ipc_connect(long_path));
	EXPECT_EQ(-EINVAL, ipc_listen("", (gid_t)-1));
	EXPECT_EQ(-ENOENT, ipc_connect(self->path));
}

static int accept_one(int lfd)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };

	if (poll(&pfd, 1, 5000) != 1)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

TEST_F(sock, connect_and_peer_creds)
{
	struct timeval tv;
	socklen_t len = sizeof(tv);
	struct json_object *req = json_object_new_object();
	struct json_object *got = NULL;
	gid_t groups[64];
	struct ipc_peer peer;
	int nr;
	int lfd;
	int cfd;
	int sfd;
	int i;

	lfd = ipc_listen(self->path, self->reader_gid);
	ASSERT_LE(0, lfd);
	cfd = ipc_connect(self->path);
	ASSERT_LE(0, cfd) TH_LOG("ipc_connect: %s", strerror(-cfd));

	/* The client never waits for ever. */
	ASSERT_EQ(0, getsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len));
	EXPECT_EQ(IPC_TIMEOUT_S, tv.tv_sec);
	EXPECT_EQ(10, IPC_TIMEOUT_S);
	EXPECT_TRUE(fcntl(cfd, F_GETFD) & FD_CLOEXEC);

	sfd = accept_one(lfd);
	ASSERT_LE(0, sfd);
	ASSERT_EQ(0, ipc_peer_creds(sfd, &peer));
	EXPECT_EQ(getpid(), peer.pid);
	EXPECT_EQ(geteuid(), peer.uid);
	EXPECT_EQ(getegid(), peer.gid);
	nr = getgroups(64, groups);
	ASSERT_LE(0, nr);
	ASSERT_EQ(nr, peer.nr_groups);
	for (i = 0; i < nr; i++)
		EXPECT_EQ(groups[i], peer.groups[i]);

	/* And the stream carries messages. */
	json_object_object_add(req, "cmd", json_object_new_string("status"));
	ASSERT_EQ(0, ipc_send(cfd, req));
	ASSERT_EQ(0, ipc_recv(sfd, &got));
	EXPECT_EQ(1, json_object_equal(req, got));
	json_object_put(req);
	json_object_put(got);
	close(sfd);
	close(cfd);
	close(lfd);
}

/*
 * Drop to nobody with the given groups, connect, send one message and
 * exit with 0 or the errno of the failure.
 */
static pid_t connect_as_nobody(const char *path, gid_t gid,
			       const gid_t *groups, int nr_groups)
{
	struct json_object *msg;
	pid_t pid = fork();
	int ret;
	int fd;

	if (pid != 0)
		return pid;
	if (setgroups(nr_groups, groups) || setgid(gid) || setuid(NOBODY_UID))
		_exit(100);
	fd = ipc_connect(path);
	if (fd < 0)
		_exit(-fd);
	msg = json_object_new_object();
	ret = ipc_send(fd, msg) ? 101 : 0;
	json_object_put(msg);
	close(fd);
	_exit(ret);
}

TEST_F(sock, socket_mode_keeps_out_non_members)
{
	const gid_t none[] = { OTHER_GID };
	int status;
	pid_t pid;
	int lfd;

	if (geteuid() != 0)
		SKIP(return, "needs root to act as another user");
	lfd = ipc_listen(self->path, TEST_GID);
	ASSERT_LE(0, lfd);
	pid = connect_as_nobody(self->path, OTHER_GID, none, 1);
	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(EACCES, WEXITSTATUS(status));
	close(lfd);
}

TEST_F(sock, supplementary_member_is_a_reader)
{
	const gid_t groups[] = { OTHER_GID, TEST_GID };
	struct json_object *got = NULL;
	struct ipc_peer peer;
	int status;
	pid_t pid;
	int lfd;
	int sfd;

	if (geteuid() != 0)
		SKIP(return, "needs root to act as another user");
	lfd = ipc_listen(self->path, TEST_GID);
	ASSERT_LE(0, lfd);
	pid = connect_as_nobody(self->path, OTHER_GID, groups, 2);
	ASSERT_LT(0, pid);
	sfd = accept_one(lfd);
	ASSERT_LE(0, sfd);
	ASSERT_EQ(0, ipc_peer_creds(sfd, &peer));
	EXPECT_EQ(pid, peer.pid);
	EXPECT_EQ(NOBODY_UID, peer.uid);
	EXPECT_EQ(OTHER_GID, peer.gid);
	/* The kernel keeps a group list sorted. */
	ASSERT_EQ(2, peer.nr_groups);
	EXPECT_EQ(TEST_GID, peer.groups[0]);
	EXPECT_EQ(OTHER_GID, peer.groups[1]);
	EXPECT_EQ(IPC_READ, ipc_authorize(&peer, TEST_GID));
	EXPECT_EQ(IPC_DENIED, ipc_authorize(&peer, (gid_t)-1));
	EXPECT_EQ(0, ipc_recv(sfd, &got));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	json_object_put(got);
	close(sfd);
	close(lfd);
}

/*
 * SO_PEERGROUPS with more groups than struct ipc_peer holds: the first 64
 * are kept and the rest dropped, so a reader group past them is refused,
 * never a reason to fail the whole request.
 */
TEST_F(sock, more_than_64_groups_keeps_the_first_64)
{
	struct json_object *got = NULL;
	gid_t groups[70];
	struct ipc_peer peer;
	int status;
	pid_t pid;
	int lfd;
	int sfd;
	int i;

	if (geteuid() != 0)
		SKIP(return, "needs root to set 70 groups");
	for (i = 0; i < 70; i++)
		groups[i] = 5000 + i;
	lfd = ipc_listen(self->path, (gid_t)-1);
	ASSERT_LE(0, lfd);
	/* nobody cannot reach a 0600 root socket: open it for this test. */
	ASSERT_EQ(0, chmod(self->path, 0666));
	pid = connect_as_nobody(self->path, 5000, groups, 70);
	ASSERT_LT(0, pid);
	sfd = accept_one(lfd);
	ASSERT_LE(0, sfd);
	ASSERT_EQ(0, ipc_peer_creds(sfd, &peer));
	EXPECT_EQ(NOBODY_UID, peer.uid);
	ASSERT_EQ(64, peer.nr_groups);
	for (i = 0; i < 64; i++)
		EXPECT_EQ(5000 + i, peer.groups[i]);
	EXPECT_EQ(IPC_READ, ipc_authorize(&peer, 5063));
	EXPECT_EQ(IPC_DENIED, ipc_authorize(&peer, 5064));
	EXPECT_EQ(0, ipc_recv(sfd, &got));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	json_object_put(got);
	close(sfd);
	close(lfd);
}

TEST_HARNESS_MAIN
