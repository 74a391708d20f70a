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

int sink_start(struct testhost *th, int family, int type, uint16_t port,
	       struct sink *sk)
{
	int ready[2], result[2];
	char c;

	if (pipe2(ready, O_CLOEXEC) || pipe2(result, O_CLOEXEC))
		return -1;
	sk->port = port;
	sk->pid = fork();
	if (sk->pid < 0)
		return -1;
	if (!sk->pid) {
		struct sockaddr_storage ss = {};
		socklen_t len;
		int64_t total;
		int fd, one = 1;

		if (join(th))
			_exit(1);
		if (family == AF_INET) {
			struct sockaddr_in *a = (void *)&ss;

			a->sin_family = AF_INET;
			a->sin_port = htons(port);
			inet_pton(AF_INET, th->remote4, &a->sin_addr);
			len = sizeof(*a);
		} else {
			struct sockaddr_in6 *a = (void *)&ss;

			a->sin6_family = AF_INET6;
			a->sin6_port = htons(port);
			inet_pton(AF_INET6, th->remote6, &a->sin6_addr);
			len = sizeof(*a);
		}
		fd = socket(family, type, 0);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (fd < 0 || bind(fd, (void *)&ss, len) ||
		    (type == SOCK_STREAM && listen(fd, 4))) {
			perror("sink");
			_exit(1);
		}
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		if (type == SOCK_STREAM) {
			int c = accept(fd, NULL, NULL);

			if (c < 0)
				_exit(1);
			total = sink_count(c, type);
		} else {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			/* wait up to 10 s for the first datagram */
			if (poll(&p, 1, 10000) <= 0)
				_exit(1);
			total = sink_count(fd, type);
		}
		if (write(result[1], &total, sizeof(total)) != sizeof(total))
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	close(result[1]);
	sk->result_fd = result[0];
	if (read(ready[0], &c, 1) != 1) {
		close(ready[0]);
		return -1;
	}
	close(ready[0]);
	return 0;
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
