// SPDX-License-Identifier: GPL-2.0-only
/*
 * sock_reset() (userspace/sockreset.c), prevent mode's reset of a thief's
 * open connection, over loopback in IPv4, IPv6 and an AF_INET6 socket
 * talking to ::ffff:127.0.0.1 (named by its IPv4 4-tuple, as the sensors
 * report it). For TCP: the aborted end's next send() or recv() fails with
 * ECONNABORTED, its peer's recv() with ECONNRESET (tcp_abort() sent a RST);
 * the listener and another connection between the same two addresses are
 * untouched. A 4-tuple that no socket has gives -ENOENT and aborts nothing,
 * not even the listener the kernel's exact lookup falls back to. For UDP a
 * connected socket's next recv() fails once with ECONNABORTED and it is
 * disconnected; an unconnected one is left alone. Bad arguments give
 * -EINVAL without a system call.
 *
 * Needs root (CAP_NET_ADMIN for SOCK_DESTROY) and a kernel with
 * CONFIG_INET_DIAG_DESTROY and inet_diag, tcp_diag and udp_diag loaded or
 * built in: skips without root or without destroy, fails when a diag
 * module is missing (in the qemu guests scripts/vm/kernel.sh loads them).
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "kselftest_harness.h"

#include "exfilmon_abi.h"
#include "sockreset.h"

#define MSG	"exfil"
#define MSG_LEN	5

/* How each end of a connection is made. */
struct net_variant {
	int srv_family;		/* the listener's or server's socket */
	const char *srv_addr;
	int cli_family;		/* the client's socket */
	const char *cli_to;	/* the address the client connects to */
};

#define NET_VARIANTS(f)							\
	FIXTURE_VARIANT_ADD(f, ipv4) {					\
		.net = { .srv_family = AF_INET, .srv_addr = "127.0.0.1", \
			 .cli_family = AF_INET, .cli_to = "127.0.0.1" }, \
	};								\
	FIXTURE_VARIANT_ADD(f, ipv6) {					\
		.net = { .srv_family = AF_INET6, .srv_addr = "::1",	\
			 .cli_family = AF_INET6, .cli_to = "::1" },	\
	};								\
	FIXTURE_VARIANT_ADD(f, v4mapped) {				\
		.net = { .srv_family = AF_INET, .srv_addr = "127.0.0.1", \
			 .cli_family = AF_INET6,			\
			 .cli_to = "::ffff:127.0.0.1" },		\
	}

static socklen_t make_sa(struct sockaddr_storage *ss, int family,
			 const char *addr, uint16_t port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		inet_pton(AF_INET, addr, &sin->sin_addr);
		return sizeof(*sin);
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	inet_pton(AF_INET6, addr, &sin6->sin6_addr);
	return sizeof(*sin6);
}

/* A socket address as the sensors name it: ::ffff:a.b.c.d is IPv4. */
static void to_dest(const struct sockaddr_storage *ss, uint8_t proto,
		    struct exfilmon_dest *d)
{
	memset(d, 0, sizeof(*d));
	d->proto = proto;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		d->family = EXFILMON_AF_INET;
		d->port = ntohs(sin->sin_port);
		memcpy(d->addr, &sin->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		d->port = ntohs(sin6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			d->family = EXFILMON_AF_INET;
			memcpy(d->addr, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			d->family = EXFILMON_AF_INET6;
			memcpy(d->addr, &sin6->sin6_addr, 16);
		}
	}
}

/* The 4-tuple of fd as the sensors would report it for its owner. */
static int tuple_of(int fd, uint8_t proto, struct exfilmon_dest *local,
		    struct exfilmon_dest *peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -errno;
	to_dest(&ss, proto, local);
	len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len))
		return -errno;
	to_dest(&ss, proto, peer);
	return 0;
}

static uint16_t port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* A socket of type bound to the variant's server address, port 0. */
static int server_socket(const struct net_variant *v, int type)
{
	struct sockaddr_storage ss;
	socklen_t len = make_sa(&ss, v->srv_family, v->srv_addr, 0);
	int fd = socket(v->srv_family, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, len) ||
	    (type == SOCK_STREAM && listen(fd, 8))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int client_socket(const struct net_variant *v, int type, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_sa(&ss, v->cli_family, v->cli_to, port);
	int fd = socket(v->cli_family, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait up to 2 s for fd to be readable or in error. */
static int wait_in(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 2000);
}

/* MSG from one end to the other: does the connection still carry data? */
static int carries(int from, int to)
{
	char buf[16];

	if (send(from, MSG, MSG_LEN, MSG_NOSIGNAL) != MSG_LEN)
		return -1;
	if (wait_in(to) != 1)
		return -1;
	if (recv(to, buf, sizeof(buf), MSG_DONTWAIT) != MSG_LEN)
		return -1;
	return memcmp(buf, MSG, MSG_LEN) ? -1 : 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * Why the tests cannot run here, or NULL. Measured, not assumed: the
 * kernel is asked whether it can destroy sockets of this family.
 */
static const char *cannot_run(uint8_t proto, int family, int *probe)
{
	if (geteuid())
		return "SOCK_DESTROY needs CAP_NET_ADMIN: run as root";
	*probe = sock_reset_probe(proto, family);
	if (*probe == -EOPNOTSUPP)
		return "kernel without CONFIG_INET_DIAG_DESTROY (-EOPNOTSUPP)";
	if (*probe == -EINVAL)
		return "kernel without SOCK_DESTROY (-EINVAL, before 4.5)";
	return NULL;
}

/* Two TCP connections from the client's address to one listener. */
FIXTURE(tcp) {
	const char *why_not;
	int lfd;
	int cli, srv;		/* the one to reset */
	int cli2, srv2;		/* an unrelated one, same addresses */
	uint16_t port;
};

FIXTURE_VARIANT(tcp) {
	struct net_variant net;
};

NET_VARIANTS(tcp);

FIXTURE_SETUP(tcp)
{
	int probe = 0;

	self->lfd = self->cli = self->srv = self->cli2 = self->srv2 = -1;
	self->why_not = cannot_run(EXFILMON_PROTO_TCP, variant->net.cli_family, &probe);
	if (self->why_not)
		return;
	/* -ENOENT: no inet_diag or tcp_diag; a guest must load them */
	ASSERT_EQ(0, probe) TH_LOG("sock_reset_probe: %s%s", strerror(-probe),
				    probe == -ENOENT ? " (no inet_diag or tcp_diag)" : "");

	self->lfd = server_socket(&variant->net, SOCK_STREAM);
	ASSERT_LE(0, self->lfd) TH_LOG("listener: %s", strerror(errno));
	self->port = port_of(self->lfd);
	self->cli = client_socket(&variant->net, SOCK_STREAM, self->port);
	ASSERT_LE(0, self->cli) TH_LOG("connect: %s", strerror(errno));
	self->srv = accept4(self->lfd, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_LE(0, self->srv);
	self->cli2 = client_socket(&variant->net, SOCK_STREAM, self->port);
	ASSERT_LE(0, self->cli2);
	self->srv2 = accept4(self->lfd, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_LE(0, self->srv2);
	ASSERT_EQ(0, carries(self->cli, self->srv));
}

FIXTURE_TEARDOWN(tcp)
{
	close_fd(&self->srv2);
	close_fd(&self->cli2);
	close_fd(&self->srv);
	close_fd(&self->cli);
	close_fd(&self->lfd);
}

/* The listener still accepts, and the other connection carries data. */
static void others_untouched(struct __test_metadata *_metadata,
			     FIXTURE_DATA(tcp) *self,
			     const FIXTURE_VARIANT(tcp) *variant)
{
	int c, s;

	EXPECT_EQ(0, carries(self->cli2, self->srv2));
	EXPECT_EQ(0, carries(self->srv2, self->cli2));
	c = client_socket(&variant->net, SOCK_STREAM, self->port);
	ASSERT_LE(0, c) TH_LOG("connect after the reset: %s", strerror(errno));
	s = accept4(self->lfd, NULL, NULL, SOCK_CLOEXEC);
	EXPECT_LE(0, s);
	if (s >= 0) {
		EXPECT_EQ(0, carries(c, s));
		close(s);
	}
	close(c);
}

/* The peer got a RST: its recv() fails with ECONNRESET. */
static void expect_reset(struct __test_metadata *_metadata, int fd)
{
	char buf[16];

	EXPECT_EQ(1, wait_in(fd));
	EXPECT_EQ(-1, recv(fd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(ECONNRESET, errno);
}

TEST_F(tcp, send_after_reset_fails)
{
	struct exfilmon_dest local, peer;

	if (self->why_not)
		SKIP(return, "%s", self->why_not);
	ASSERT_EQ(0, tuple_of(self->cli, EXFILMON_PROTO_TCP, &local, &peer));
	ASSERT_EQ(0, sock_reset(EXFILMON_PROTO_TCP, &local, &peer));

	EXPECT_EQ(-1, send(self->cli, MSG, MSG_LEN, MSG_NOSIGNAL));
	EXPECT_EQ(ECONNABORTED, errno);
	expect_reset(_metadata, self->srv);
	/* the socket is gone: a second reset finds nothing */
	EXPECT_EQ(-ENOENT, sock_reset(EXFILMON_PROTO_TCP, &local, &peer));
	others_untouched(_metadata, self, variant);
}

TEST_F(tcp, recv_after_reset_fails)
{
	struct exfilmon_dest local, peer;
	char buf[16];

	if (self->why_not)
		SKIP(return, "%s", self->why_not);
	ASSERT_EQ(0, tuple_of(self->cli, EXFILMON_PROTO_TCP, &local, &peer));
	ASSERT_EQ(0, sock_reset(EXFILMON_PROTO_TCP, &local, &peer));

	EXPECT_EQ(-1, recv(self->cli, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(ECONNABORTED, errno);
	expect_reset(_metadata, self->srv);
	others_untouched(_metadata, self, variant);
}

/* The daemon may name the accepted end: the thief can be the server. */
TEST_F(tcp, accepted_end_reset)
{
	struct exfilmon_dest local, peer;

	if (self->why_not)
		SKIP(return, "%s", self->why_not);
	ASSERT_EQ(0, tuple_of(self->srv, EXFILMON_PROTO_TCP, &local, &peer));
	ASSERT_EQ(self->port, local.port);
	ASSERT_EQ(0, sock_reset(EXFILMON_PROTO_TCP, &local, &peer));

	EXPECT_EQ(-1, send(self->srv, MSG, MSG_LEN, MSG_NOSIGNAL));
	EXPECT_EQ(ECONNABORTED, errno);
	expect_reset(_metadata, self->cli);
	others_untouched(_metadata, self, variant);
}

/*
 * No socket has the 4-tuple: -ENOENT, and nothing is aborted. The local
 * end is the listener's address and port, which the kernel's exact lookup
 * returns for any unknown peer (inet_lookup() falls back to listeners).
 */
TEST_F(tcp, unknown_tuple_is_enoent)
{
	struct exfilmon_dest local, peer, bogus;

	if (self->why_not)
		SKIP(return, "%s", self->why_not);
	ASSERT_EQ(0, tuple_of(self->srv, EXFILMON_PROTO_TCP, &local, &peer));
	bogus = peer;
	/* the client's port, but one no connection of ours has */
	bogus.port = port_of(self->cli2) == (uint16_t)(peer.port + 1) ?
		     peer.port + 2 : peer.port + 1;
	EXPECT_EQ(-ENOENT, sock_reset(EXFILMON_PROTO_TCP, &local, &bogus));

	ASSERT_EQ(0, tuple_of(self->cli, EXFILMON_PROTO_TCP, &local, &peer));
	bogus = peer;
	bogus.port = self->port == 1 ? 2 : self->port - 1;
	EXPECT_EQ(-ENOENT, sock_reset(EXFILMON_PROTO_TCP, &local, &bogus));
	/* the same 4-tuple as UDP: no such socket either */
	local.proto = peer.proto = EXFILMON_PROTO_UDP;
	EXPECT_EQ(-ENOENT, sock_reset(EXFILMON_PROTO_UDP, &local, &peer));

	EXPECT_EQ(0, carries(self->cli, self->srv));
	EXPECT_EQ(0, carries(self->srv, self->cli));
	others_untouched(_metadata, self, variant);
}

/* A connected and an unconnected UDP socket, and the server's. */
FIXTURE(udp) {
	const char *why_not;
	int srv;		/* bound, unconnected */
	int cli;		/* connected to srv */
	int loose;		/* unconnected, has sent to srv */
};

FIXTURE_VARIANT(udp) {
	struct net_variant net;
};

NET_VARIANTS(udp);

FIXTURE_SETUP(udp)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[16];
	int probe = 0;

	self->srv = self->cli = self->loose = -1;
	self->why_not = cannot_run(EXFILMON_PROTO_UDP, variant->net.cli_family, &probe);
	if (self->why_not)
		return;
	/* -ENOENT: no inet_diag or udp_diag; a guest must load them */
	ASSERT_EQ(0, probe) TH_LOG("sock_reset_probe: %s%s", strerror(-probe),
				    probe == -ENOENT ? " (no inet_diag or udp_diag)" : "");

	self->srv = server_socket(&variant->net, SOCK_DGRAM);
	ASSERT_LE(0, self->srv);
	self->cli = client_socket(&variant->net, SOCK_DGRAM, port_of(self->srv));
	ASSERT_LE(0, self->cli);
	ASSERT_EQ(0, carries(self->cli, self->srv));

	self->loose = socket(variant->net.cli_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, self->loose);
	len = make_sa(&ss, variant->net.cli_family, variant->net.cli_to,
		      port_of(self->srv));
	ASSERT_EQ(MSG_LEN, sendto(self->loose, MSG, MSG_LEN, 0,
				  (struct sockaddr *)&ss, len));
	ASSERT_EQ(1, wait_in(self->srv));
	ASSERT_EQ(MSG_LEN, recv(self->srv, buf, sizeof(buf), MSG_DONTWAIT));
}

FIXTURE_TEARDOWN(udp)
{
	close_fd(&self->loose);
	close_fd(&self->cli);
	close_fd(&self->srv);
}

TEST_F(udp, connected_socket_aborted)
{
	struct exfilmon_dest local, peer;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char buf[16];

	if (self->why_not)
		SKIP(return, "%s", self->why_not);
	ASSERT_EQ(0, tuple_of(self->cli, EXFILMON_PROTO_UDP, &local, &peer));
	ASSERT_EQ(0, sock_reset(EXFILMON_PROTO_UDP, &local, &peer));

	/* udp_abort(): one ECONNABORTED, then a disconnected socket */
	EXPECT_EQ(-1, recv(self->cli, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(ECONNABORTED, errno);
	EXPECT_EQ(-1, getpeername(self->cli, (struct sockaddr *)&ss, &len));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, send(self->cli, MSG, MSG_LEN, MSG_NOSIGNAL));
	EXPECT_EQ(EDESTADDRREQ, errno);

	/* the server's socket and the other client still work */
	len = make_sa(&ss, variant->net.cli_family, variant->net.cli_to,
		      port_of(self->srv));
	EXPECT_EQ(MSG_LEN, sendto(self->loose, MSG, MSG_LEN, 0,
				  (struct sockaddr *)&ss, len));
	EXPECT_EQ(1, wait_in(self->srv));
	EXPECT_EQ(MSG_LEN, recv(self->srv, buf, sizeof(buf), MSG_DONTWAIT));
}

/* An unconnected socket is not the 4-tuple's: left alone (sockreset.h). */
TEST_F(udp, unconnected_socket_left_alone)
{
	struct exfilmon_dest local, peer;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char buf[16];

	if (self->why_not)
		SKIP(return, "%s", self->why_not);
	/* loose's port, and the server as its peer */
	ASSERT_EQ(0, tuple_of(self->cli, EXFILMON_PROTO_UDP, &local, &peer));
	local.port = port_of(self->loose);
	EXPECT_EQ(-ENOENT, sock_reset(EXFILMON_PROTO_UDP, &local, &peer));
	/* the server's own port, the client as its peer */
	ASSERT_EQ(0, tuple_of(self->cli, EXFILMON_PROTO_UDP, &peer, &local));
	EXPECT_EQ(-ENOENT, sock_reset(EXFILMON_PROTO_UDP, &local, &peer));

	EXPECT_EQ(-1, recv(self->loose, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(-1, recv(self->srv, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, getpeername(self->cli, (struct sockaddr *)&ss, &len));
	EXPECT_EQ(0, carries(self->cli, self->srv));
}

/*
 * Bad arguments: -EINVAL before any system call. With no file descriptor
 * left to open, any socket() would fail with EMFILE instead.
 */
TEST(bad_input_is_einval)
{
	const struct exfilmon_dest ok4 = {
		.addr = { 127, 0, 0, 1 }, .port = 4000,
		.family = EXFILMON_AF_INET,
	};
	const struct exfilmon_dest ok6 = {
		.addr = { [15] = 1 }, .port = 4001, .family = EXFILMON_AF_INET6,
	};
	struct rlimit none = { 0, 0 };
	struct exfilmon_dest d;

	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &none));
	/* the instrument: a good call does reach socket() */
	ASSERT_EQ(-EMFILE, sock_reset(EXFILMON_PROTO_TCP, &ok4, &ok4));
	ASSERT_EQ(-EMFILE, sock_reset_probe(EXFILMON_PROTO_UDP, EXFILMON_AF_INET6));

	EXPECT_EQ(-EINVAL, sock_reset(EXFILMON_PROTO_TCP, NULL, &ok4));
	EXPECT_EQ(-EINVAL, sock_reset(EXFILMON_PROTO_TCP, &ok4, NULL));
	EXPECT_EQ(-EINVAL, sock_reset(0, &ok4, &ok4));
	EXPECT_EQ(-EINVAL, sock_reset(1 /* ICMP */, &ok4, &ok4));
	EXPECT_EQ(-EINVAL, sock_reset(EXFILMON_PROTO_TCP, &ok4, &ok6));
	EXPECT_EQ(-EINVAL, sock_reset(EXFILMON_PROTO_UDP, &ok6, &ok4));

	d = ok4;
	d.family = 0;
	EXPECT_EQ(-EINVAL, sock_reset(EXFILMON_PROTO_TCP, &d, &ok4));
	EXPECT_EQ(-EINVAL, sock_reset(EXFILMON_PROTO_TCP, &ok4, &d));
	d.family = 1;	/* AF_UNIX */
	EXPECT_EQ(-EINVAL, sock_reset(EXFILMON_PROTO_TCP, &d, &d));
	d = ok4;
	d.port = 0;
	EXPECT_EQ(-EINVAL, sock_reset(EXFILMON_PROTO_TCP, &d, &ok4));
	EXPECT_EQ(-EINVAL, sock_reset(EXFILMON_PROTO_TCP, &ok4, &d));
	d = ok4;
	memset(d.addr, 0, sizeof(d.addr));
	EXPECT_EQ(-EINVAL, sock_reset(EXFILMON_PROTO_TCP, &d, &ok4));
	d = ok6;
	memset(d.addr, 0, sizeof(d.addr));
	EXPECT_EQ(-EINVAL, sock_reset(EXFILMON_PROTO_TCP, &ok6, &d));
	/* a dest that names another protocol */
	d = ok4;
	d.proto = EXFILMON_PROTO_UDP;
	EXPECT_EQ(-EINVAL, sock_reset(EXFILMON_PROTO_TCP, &d, &ok4));

	EXPECT_EQ(-EINVAL, sock_reset_probe(0, EXFILMON_AF_INET));
	EXPECT_EQ(-EINVAL, sock_reset_probe(EXFILMON_PROTO_TCP, 0));
}

TEST_HARNESS_MAIN
