// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shared memory as a relay between two processes that never talk:
 *
 *   shm_map fill SRC SHM        read SRC with read(2), then copy it into
 *                               SHM (created, e.g. in /dev/shm) through a
 *                               shared writable mapping: no write(2)
 *   shm_map send SHM ADDR PORT  map SHM read-only and send the mapping to
 *                               ADDR:PORT over TCP: no read(2)
 *
 * Exit status 0 on success, 1 on failure (the reason on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

static int fail(const char *what, const char *arg)
{
	fprintf(stderr, "shm_map: failed to %s %s: %s\n", what, arg,
		strerror(errno));
	return 1;
}

/* The whole of path, read with read(2); NULL on failure. */
static char *slurp(const char *path, size_t *len)
{
	struct stat st;
	size_t got = 0;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		goto fail;
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf)
		goto fail;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, st.st_size - got);

		if (n <= 0) {
			if (!n)
				errno = EIO;	/* shrank under us */
			free(buf);
			goto fail;
		}
		got += n;
	}
	close(fd);
	*len = got;
	return buf;
fail:
	fail("read", path);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int fill(const char *src, const char *shm)
{
	size_t len;
	char *data = slurp(src, &len), *map;
	int fd, ret = 1;

	if (!data)
		return 1;
	fd = open(shm, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fail("create", shm);
		goto out_data;
	}
	if (ftruncate(fd, len)) {
		fail("size", shm);
		goto out_fd;
	}
	/* mapped after the read: a tainted process maps it writable */
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		fail("map", shm);
		goto out_fd;
	}
	memcpy(map, data, len);
	if (msync(map, len, MS_SYNC))
		fail("sync", shm);
	else
		ret = 0;
	munmap(map, len);
out_fd:
	close(fd);
out_data:
	free(data);
	return ret;
}

static int send_mapped(const char *shm, const char *addr, const char *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	size_t off = 0;
	struct stat st;
	int fd, sock, ret = 1;
	char *map;

	sin.sin_port = htons(atoi(port));
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "shm_map: %s: not an IPv4 address\n", addr);
		return 1;
	}
	fd = open(shm, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open", shm);
	if (fstat(fd, &st)) {
		fail("stat", shm);
		goto out_fd;
	}
	if (!st.st_size) {
		errno = ENODATA;
		fail("map", shm);
		goto out_fd;
	}
	map = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		fail("map", shm);
		goto out_fd;
	}
	sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (void *)&sin, sizeof(sin))) {
		fail("connect to", addr);
		goto out_sock;
	}
	while (off < (size_t)st.st_size) {
		ssize_t n = send(sock, map + off, st.st_size - off,
				 MSG_NOSIGNAL);

		if (n <= 0) {
			fail("send to", addr);
			goto out_sock;
		}
		off += n;
	}
	ret = 0;
out_sock:
	if (sock >= 0)
		close(sock);
	munmap(map, st.st_size);
out_fd:
	close(fd);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "fill"))
		return fill(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "send"))
		return send_mapped(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: shm_map fill SRC SHM\n"
			"       shm_map send SHM ADDR PORT\n");
	return 2;
}
