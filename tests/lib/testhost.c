// SPDX-License-Identifier: GPL-2.0-only
/* Test hosts in network namespaces, and byte-counting receivers on them. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "testhost.h"

int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ret = system(cmd);
	if (ret)
		fprintf(stderr, "# command failed (%d): %s\n", ret, cmd);
	return ret ? -1 : 0;
}

int testhost_create(struct testhost *th, int idx)
{
	memset(th, 0, sizeof(*th));
	th->idx = idx;
	snprintf(th->ns, sizeof(th->ns), "exfilt%d-%d", (int)getpid(), idx);
	snprintf(th->veth, sizeof(th->veth), "xv%d-%d", (int)getpid() % 100000,
		 idx);
	snprintf(th->local4, sizeof(th->local4), "198.18.%d.1", idx);
	snprintf(th->remote4, sizeof(th->remote4), "198.18.%d.2", idx);
	snprintf(th->local6, sizeof(th->local6), "2001:db8:%x::1", idx);
	snprintf(th->remote6, sizeof(th->remote6), "2001:db8:%x::2", idx);

	run("ip netns del %s 2>/dev/null; ip link del %s 2>/dev/null; true", th->ns,
	    th->veth);
	if (run("ip netns add %s", th->ns) ||
	    run("ip link add %s type veth peer name eth0 netns %s", th->veth,
		th->ns) ||
	    run("ip addr add %s/24 dev %s && ip -6 addr add %s/64 dev %s nodad",
		th->local4, th->veth, th->local6, th->veth) ||
	    run("ip link set %s up", th->veth) ||
	    run("ip -n %s addr add %s/24 dev eth0 && "
		"ip -n %s -6 addr add %s/64 dev eth0 nodad",
		th->ns, th->remote4, th->ns, th->remote6) ||
	    run("ip -n %s link set eth0 up && ip -n %s link set lo up", th->ns,
		th->ns)) {
		testhost_destroy(th);
		return -1;
	}
	return 0;
}

void testhost_destroy(struct testhost *th)
{
	if (!th->ns[0])
		return;
	run("ip link del %s 2>/dev/null; ip netns del %s 2>/dev/null; true",
	    th->veth, th->ns);
	th->ns[0] = '\0';
}

static int join(struct testhost *th)
{
	char path[64];
	int fd, ret;

	snprintf(path, sizeof(path), "/run/netns/%s", th->ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = setns(fd, CLONE_NEWNET);
	close(fd);
	return ret;
}

pid_t testhost_spawn(struct testhost *th, int (*fn)(void *arg), void *arg)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	if (join(th)) {
		perror("setns");
		_exit(127);
	}
	_exit(fn(arg));
}

static int64_t sink_count(int fd, int type)
{
	char buf[65536];
	int64_t total = 0;
	ssize_t n;

	if (type == SOCK_STREAM) {
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			total += n;
		return n < 0 ? -1 : total;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 500) <= 0)
			return total;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return -1;
		total += n;
	}
}

int64_t sink_wait(struct sink *sk)
{
	int64_t total = -1;
	int status;

	if (read(sk->result_fd, &total, sizeof(total)) != sizeof(total))
		total = -1;
	close(sk->result_fd);
	waitpid(sk->pid, &status, 0);
	return total;
}

/* A socket of this type bound to port on the test host (we are in it). */
static int sink_socket(struct testhost *th, int family, int type,
		       uint16_t port)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in *a4 = (void *)&ss;
	struct sockaddr_in6 *a6 = (void *)&ss;
	socklen_t len;
	int fd, one = 1;

	if (family == AF_INET) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		inet_pton(AF_INET, th->remote4, &a4->sin_addr);
		len = sizeof(*a4);
	} else {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		inet_pton(AF_INET6, th->remote6, &a6->sin6_addr);
		len = sizeof(*a6);
	}
	fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (void *)&ss, len) ||
	    (type == SOCK_STREAM && listen(fd, 64))) {
		close(fd);
		return -1;
	}
	return fd;
}

#define SINK_IDLE_MS	30000
#define SINK_MAX_CONN	64

struct sink_conn {
	int fd;			/* -1: ended */
	size_t hdr_len;		/* HTTP: header bytes so far */
	int64_t body_left;	/* HTTP: body still to come; -1: in headers */
	char hdr[8193];
};

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * The request's headers end at end (its "\r\n\r\n" included): take its
 * Content-Length, and say "100 Continue" when the client waits for it
 * (curl does so before a large body). Returns the body bytes that came
 * with the headers, or -1 for a request without a length.
 */
static int64_t http_headers(struct sink_conn *c, size_t end)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	int64_t extra = c->hdr_len - end;
	char *p;

	c->hdr[end] = '\0';
	p = strcasestr(c->hdr, "\r\ncontent-length:");
	if (!p)
		return -1;
	c->body_left = strtoll(p + 17, NULL, 10);
	if (extra > c->body_left)
		extra = c->body_left;
	c->body_left -= extra;
	if (c->body_left && strcasestr(c->hdr, "\r\nexpect: 100-continue") &&
	    write_all(c->fd, cont, sizeof(cont) - 1))
		return -1;
	return extra;
}

/*
 * Read what c has for us; returns the bytes to count, or -1 when the
 * connection has ended (EOF, an error, or its HTTP request answered).
 */
static int64_t sink_conn_read(struct sink_conn *c, unsigned int flags)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
				 "Connection: close\r\n\r\n";
	char buf[65536];
	int64_t got;
	ssize_t n;
	char *end;

	if (!(flags & SINK_HTTP)) {
		n = read(c->fd, buf, sizeof(buf));
		return n > 0 ? n : -1;
	}
	if (c->body_left < 0) {
		n = read(c->fd, c->hdr + c->hdr_len,
			 sizeof(c->hdr) - 1 - c->hdr_len);
		if (n <= 0)
			return -1;
		c->hdr_len += n;
		end = memmem(c->hdr, c->hdr_len, "\r\n\r\n", 4);
		if (!end)
			return c->hdr_len < sizeof(c->hdr) - 1 ? 0 : -1;
		got = http_headers(c, end + 4 - c->hdr);
		if (got < 0)
			return -1;
	} else {
		n = read(c->fd, buf, sizeof(buf));
		if (n <= 0)
			return -1;
		got = n < c->body_left ? n : c->body_left;
		c->body_left -= got;
	}
	if (!c->body_left) {
		/* the reply ends it: the caller closes, as the server does */
		write_all(c->fd, ok, sizeof(ok) - 1);
		c->body_left = -2;
	}
	return got;
}

static int64_t sink_serve_tcp(int lfd, int n, unsigned int flags)
{
	struct sink_conn *conns = calloc(n, sizeof(*conns));
	struct pollfd p[SINK_MAX_CONN + 1];
	int map[SINK_MAX_CONN + 1];
	int accepted = 0, ended = 0, nfds, i;
	int64_t total = 0;

	if (!conns)
		return -1;
	while (ended < n) {
		nfds = 0;
		if (accepted < n) {
			p[nfds].fd = lfd;
			p[nfds].events = POLLIN;
			map[nfds++] = -1;
		}
		for (i = 0; i < accepted; i++) {
			if (conns[i].fd < 0)
				continue;
			p[nfds].fd = conns[i].fd;
			p[nfds].events = POLLIN;
			map[nfds++] = i;
		}
		if (poll(p, nfds, SINK_IDLE_MS) <= 0)
			break;	/* quiet for too long: report what came */
		for (i = 0; i < nfds; i++) {
			struct sink_conn *c;
			int64_t got;

			if (!p[i].revents)
				continue;
			if (map[i] < 0) {
				c = &conns[accepted];
				c->fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
				if (c->fd < 0)
					continue;
				c->body_left = -1;
				accepted++;
				continue;
			}
			c = &conns[map[i]];
			got = sink_conn_read(c, flags);
			if (got > 0)
				total += got;
			if (got < 0 || c->body_left == -2) {
				close(c->fd);
				c->fd = -1;
				ended++;
			}
		}
	}
	for (i = 0; i < accepted; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	free(conns);
	return total;
}

static int64_t sink_serve_udp(int fd, int n)
{
	char buf[65536];
	int64_t total = 0;
	int i;

	for (i = 0; i < n; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t got;

		if (poll(&p, 1, SINK_IDLE_MS) <= 0)
			break;
		got = recv(fd, buf, sizeof(buf), 0);
		if (got < 0)
			return -1;
		total += got;
	}
	return total;
}

/*
 * The receiving end of the sink, run in its child on the bound socket fd:
 * the byte count, or -1.
 */
typedef int64_t (*sink_serve_fn)(int fd, int type, int n, unsigned int flags);

/* sink_start(): one connection until EOF, or datagrams until a pause. */
static int64_t sink_serve_one(int fd, int type, int n, unsigned int flags)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int c;

	if (type == SOCK_STREAM) {
		c = accept(fd, NULL, NULL);
		return c < 0 ? -1 : sink_count(c, type);
	}
	/* wait up to 10 s for the first datagram */
	if (poll(&p, 1, 10000) <= 0)
		return -1;
	return sink_count(fd, type);
}

static int64_t sink_serve_many(int fd, int type, int n, unsigned int flags)
{
	return type == SOCK_STREAM ? sink_serve_tcp(fd, n, flags) :
	       sink_serve_udp(fd, n);
}

/*
 * Fork the sink into the test host, and return once its socket is bound:
 * a sender started after this cannot find the port closed.
 */
static int sink_fork(struct testhost *th, int family, int type,
		     uint16_t port, sink_serve_fn serve, int n,
		     unsigned int flags, struct sink *sk)
{
	int ready[2], result[2];
	char c;

	if (pipe2(ready, O_CLOEXEC))
		return -1;
	if (pipe2(result, O_CLOEXEC)) {
		close(ready[0]);
		close(ready[1]);
		return -1;
	}
	sk->port = port;
	sk->pid = fork();
	if (sk->pid < 0) {
		close(ready[0]);
		close(ready[1]);
		close(result[0]);
		close(result[1]);
		return -1;
	}
	if (!sk->pid) {
		/* a burst of datagrams must not overflow the default buffer */
		int fd, rcvbuf = 8 << 20;
		int64_t total;

		if (join(th))
			_exit(1);
		fd = sink_socket(th, family, type, port);
		if (fd < 0) {
			perror("sink");
			_exit(1);
		}
		if (type == SOCK_DGRAM &&
		    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
			       sizeof(rcvbuf)))
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				   sizeof(rcvbuf));
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		total = serve(fd, type, n, flags);
		if (write(result[1], &total, sizeof(total)) != sizeof(total))
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	close(result[1]);
	sk->result_fd = result[0];
	if (read(ready[0], &c, 1) != 1) {
		close(ready[0]);
		close(sk->result_fd);
		waitpid(sk->pid, NULL, 0);
		return -1;
	}
	close(ready[0]);
	return 0;
}

int sink_start(struct testhost *th, int family, int type, uint16_t port,
	       struct sink *sk)
{
	return sink_fork(th, family, type, port, sink_serve_one, 1, 0, sk);
}

int sink_start_many(struct testhost *th, int family, int type, uint16_t port,
		    int n, unsigned int flags, struct sink *sk)
{
	if (n < 1 || (type == SOCK_STREAM && n > SINK_MAX_CONN) ||
	    (type != SOCK_STREAM && flags)) {
		errno = EINVAL;
		return -1;
	}
	return sink_fork(th, family, type, port, sink_serve_many, n, flags,
			 sk);
}
