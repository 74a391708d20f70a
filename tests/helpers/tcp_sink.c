// SPDX-License-Identifier: GPL-2.0-only
/*
 * tcp_sink ADDR PORT: the demo's "attacker" server on a test host. Accepts
 * one TCP connection, counts what arrives until EOF, prints the count.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (void *)&ss;
	struct sockaddr_in6 *sin6 = (void *)&ss;
	unsigned long long total = 0;
	char buf[65536];
	socklen_t len;
	int fd, c, one = 1;
	ssize_t n;

	if (argc != 3) {
		fprintf(stderr, "usage: tcp_sink ADDR PORT\n");
		return 2;
	}
	if (inet_pton(AF_INET, argv[1], &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(atoi(argv[2]));
		len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, argv[1], &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(atoi(argv[2]));
		len = sizeof(*sin6);
	} else {
		fprintf(stderr, "tcp_sink: %s: not an IP address\n", argv[1]);
		return 2;
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (void *)&ss, len) || listen(fd, 1)) {
		perror("tcp_sink");
		return 1;
	}
	c = accept(fd, NULL, NULL);
	if (c < 0) {
		perror("tcp_sink: accept");
		return 1;
	}
	while ((n = read(c, buf, sizeof(buf))) > 0)
		total += n;
	printf("%llu\n", total);
	return 0;
}
