// SPDX-License-Identifier: GPL-2.0-only
/*
 * P2: a watched file read start to end in 4 KiB read()s, PASSES times.
 * The caller warms the page cache first, so this is the sensor's cost per
 * watched read, not the disk's. Prints "<ns> <reads>".
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
	unsigned long long t0, ops = 0;
	static char buf[4096];
	int fd, pass, passes;
	ssize_t n;

	if (argc != 3) {
		fprintf(stderr, "usage: read_seq FILE PASSES\n");
		return 2;
	}
	passes = atoi(argv[2]);
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	t0 = now_ns();
	for (pass = 0; pass < passes; pass++) {
		if (lseek(fd, 0, SEEK_SET)) {
			perror("lseek");
			return 1;
		}
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			ops++;
		if (n < 0) {
			perror("read");
			return 1;
		}
	}
	printf("%llu %llu\n", now_ns() - t0, ops);
	return 0;
}
