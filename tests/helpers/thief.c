// SPDX-License-Identifier: GPL-2.0-only
/*
 * thief [-w] [-p NAME] [-c NAME] [-u EUID] (-r FILE | -n BYTES) ADDR PORT
 *
 * A thief for the tampering and evasion tests (tests/e2e/test_tamper.c,
 * tests/sensor/test_evasion.c): it reads FILE whole (-r) and sends what it
 * read, or sends BYTES bytes of junk (-n: a process tainted before it
 * exec'd this), over one TCP connection to ADDR:PORT, then exits 0.
 *
 *   -w       wait for a byte on stdin before anything else (the test reads
 *            the kernel's view of the fresh image meanwhile), and again
 *            after sending (so the test can look at the process alive)
 *   -p NAME  rename itself with prctl(PR_SET_NAME) after the first wait
 *   -c NAME  rename itself by writing /proc/self/comm after the first wait
 *   -u EUID  exit 5 unless its effective uid is EUID (a set-user-ID copy
 *            must really have run set-user-ID)
 *
 * Exit status: 0 sent everything; 2 usage; 3 rename; 4 read; 5 euid;
 * 6 connect; 7 send. It writes nothing anywhere but the socket: a tainted
 * process writing into a pipe to the test would taint the test.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void wait_go(void)
{
	char c;

	if (read(0, &c, 1) != 1)
		_exit(2);
}

static int rename_comm(const char *prctl_name, const char *comm_name)
{
	int fd, ok;

	if (prctl_name && prctl(PR_SET_NAME, prctl_name, 0, 0, 0))
		return -1;
	if (!comm_name)
		return 0;
	fd = open("/proc/self/comm", O_WRONLY);
	if (fd < 0)
		return -1;
	ok = write(fd, comm_name, strlen(comm_name)) == (ssize_t)strlen(comm_name);
	close(fd);
	return ok ? 0 : -1;
}

/* FILE whole into a new buffer; its size in *len. NULL on failure. */
static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	size_t got = 0;
	char *buf;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st))
		return NULL;
	buf = malloc(st.st_size + 1);
	while (buf && (n = read(fd, buf + got, st.st_size + 1 - got)) > 0)
		got += n;
	close(fd);
	if (!buf || got != (size_t)st.st_size) {
		free(buf);
		return NULL;
	}
	*len = got;
	return buf;
}

int main(int argc, char **argv)
{
	const char *file = NULL, *prctl_name = NULL, *comm_name = NULL;
	long euid = -1, junk = -1;
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (void *)&ss;
	struct sockaddr_in6 *sin6 = (void *)&ss;
	size_t len = 0, sent = 0;
	int opt, wait = 0, fd;
	char *buf;

	while ((opt = getopt(argc, argv, "wp:c:u:r:n:")) != -1) {
		switch (opt) {
		case 'w': wait = 1; break;
		case 'p': prctl_name = optarg; break;
		case 'c': comm_name = optarg; break;
		case 'u': euid = strtol(optarg, NULL, 10); break;
		case 'r': file = optarg; break;
		case 'n': junk = strtol(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (argc - optind != 2 || !file == (junk < 0))
		return 2;
	if (inet_pton(AF_INET, argv[optind], &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(atoi(argv[optind + 1]));
	} else if (inet_pton(AF_INET6, argv[optind], &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(atoi(argv[optind + 1]));
	} else {
		return 2;
	}
	if (wait)
		wait_go();
	if (rename_comm(prctl_name, comm_name))
		return 3;
	if (euid >= 0 && geteuid() != (uid_t)euid)
		return 5;
	if (file) {
		buf = slurp(file, &len);
		if (!buf)
			return 4;
	} else {
		len = junk;
		buf = calloc(1, len + 1);
		if (!buf)
			return 4;
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (void *)&ss, ss.ss_family == AF_INET ?
			      sizeof(*sin) : sizeof(*sin6)))
		return 6;
	while (sent < len) {
		ssize_t n = write(fd, buf + sent, len - sent);

		if (n <= 0)
			return 7;
		sent += n;
	}
	close(fd);
	free(buf);
	if (wait)
		wait_go();
	return 0;
}
