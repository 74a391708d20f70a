// SPDX-License-Identifier: GPL-2.0-only
/*
 * P1: 64-byte pread()s of one file, as many as asked. The file is not
 * watched: this is what every process on a monitored desktop pays per
 * small read. Prints "<ns> <ops>" for the loop alone.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	unsigned long long t0, i, n;
	char buf[64];
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: pread_loop FILE COUNT\n");
		return 2;
	}
	n = strtoull(argv[2], NULL, 0);
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		if (pread(fd, buf, sizeof(buf), 0) != sizeof(buf)) {
			perror("pread");
			return 1;
		}
	}
	printf("%llu %llu\n", now_ns() - t0, n);
	return 0;
}
