// SPDX-License-Identifier: GPL-2.0-only
/*
 * P3: 64-byte UDP sendto()s to a test host, COUNT of them. With TAINT, the
 * process first reads 2 MiB of that watched file, as a thief would, so the
 * sensor tracks it and accounts every send; without, it is any process's
 * send. Prints "<ns> <sends>" for the send loop alone.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int taint(const char *path)
{
	static char buf[65536];
	ssize_t n = 0;
	int fd = open(path, O_RDONLY), i;

	if (fd < 0) {
		perror(path);
		return -1;
	}
	for (i = 0; i < 32 && (n = read(fd, buf, sizeof(buf))) > 0; i++)
		;
	close(fd);
	return n < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	unsigned long long t0, i, n;
	char msg[64];
	int fd;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: udp_send ADDR PORT COUNT [TAINT]\n");
		return 2;
	}
	if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
		fprintf(stderr, "udp_send: %s: not an IPv4 address\n", argv[1]);
		return 2;
	}
	to.sin_port = htons(atoi(argv[2]));
	n = strtoull(argv[3], NULL, 0);
	if (argc == 5 && taint(argv[4]))
		return 1;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	memset(msg, 'x', sizeof(msg));
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		if (sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&to,
			   sizeof(to)) != sizeof(msg)) {
			perror("sendto");
			return 1;
		}
	}
	printf("%llu %llu\n", now_ns() - t0, n);
	return 0;
}
