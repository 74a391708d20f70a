// SPDX-License-Identifier: GPL-2.0-only
/*
 * The benchmark's fixtures: the watched and unwatched files, the demo
 * customer database, a large git tree and the netns test host with a UDP
 * sink. Files are made once under BUILD/bench/fixtures and kept, as making the
 * tree takes minutes; the test host lives for one run.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "bench.h"

/* netns index of the bench's test host: clear of the tests' ones */
#define BENCH_HOST_IDX	30
#define BENCH_UDP_PORT	9999

static pid_t sink_pid;

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : st.st_size;
}

/* path holds size bytes of a repeating, not sparse, pattern. */
static int make_file(const char *path, off_t size)
{
	static char buf[1 << 20];
	off_t done;
	int fd;

	if (file_size(path) == size)
		return 0;
	for (done = 0; done < (off_t)sizeof(buf); done++)
		buf[done] = 'a' + done % 26;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		goto fail;
	for (done = 0; done < size; done += sizeof(buf)) {
		size_t n = size - done < (off_t)sizeof(buf) ? size - done :
							     sizeof(buf);

		if (write(fd, buf, n) != (ssize_t)n)
			goto fail_fd;
	}
	if (close(fd))
		goto fail;
	return 0;
fail_fd:
	close(fd);
fail:
	fprintf(stderr, "failed to make %s: %s\n", path, strerror(errno));
	unlink(path);
	return -errno;
}

/*
 * The demo customer database of scripts/demo.sh's shape, rows rows big,
 * made by sqlite3 itself. A marker file records the row count it has.
 */
static int make_db(const char *path, const char *work, long rows)
{
	char mark[320], want[32], have[32] = "";
	FILE *f;

	snprintf(mark, sizeof(mark), "%s/customers.rows", work);
	snprintf(want, sizeof(want), "%ld", rows);
	f = fopen(mark, "r");
	if (f) {
		if (!fgets(have, sizeof(have), f))
			have[0] = '\0';
		fclose(f);
	}
	if (!strcmp(have, want) && file_size(path) > 0)
		return 0;
	unlink(path);
	if (run_cmd("sqlite3 %s \"CREATE TABLE customers (id INTEGER PRIMARY "
		    "KEY, name TEXT, account_id TEXT, phone TEXT); "
		    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
		    "FROM c WHERE i < %ld) INSERT INTO customers SELECT i, "
		    "'Customer ' || i, printf('ACC%%08d', 10000000 + i * 7), "
		    "printf('+44 7700 %%06d', (i * 7919) %% 1000000) FROM c;\"",
		    path, rows)) {
		fprintf(stderr, "failed to make the database %s with sqlite3\n",
			path);
		return -EIO;
	}
	return run_cmd("echo %s > %s", want, mark) ? -EIO : 0;
}

/*
 * A large git work tree, committed: the kernel's own source from Debian's
 * linux-source package (make deps installs it for the kselftest harness),
 * or, quick, /usr/include. "git status" then stats every file.
 */
static int make_tree(const char *tree, int quick)
{
	char done[320];

	snprintf(done, sizeof(done), "%s/.git/bench-ready", tree);
	if (!access(done, F_OK))
		return 0;
	run_cmd("rm -rf %s", tree);
	fprintf(stderr, "# making the git tree %s (once; takes a while)\n",
		tree);
	if (quick) {
		if (run_cmd("mkdir -p %s && cp -r /usr/include/. %s", tree,
			    tree))
			goto fail;
	} else if (run_cmd("mkdir -p %s && tar -xf "
			   "/usr/src/linux-source-6.1.tar.xz -C %s "
			   "--strip-components=1", tree, tree) ||
		   /* Debian's .gitignore ignores its whole top level: the
		    * kernel's own rules stay */
		   run_cmd("sed -i '/^# Debian packaging/,$d' %s/.gitignore",
			   tree)) {
		goto fail;
	}
	if (run_cmd("cd %s && git init -q && git add -A && "
		    "git -c user.name=bench -c user.email=bench@example.invalid "
		    "commit -q -m tree && git status --porcelain >/dev/null && "
		    "touch .git/bench-ready", tree))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "failed to make the git tree %s\n", tree);
	return -EIO;
}

/* In the test host: take every datagram, until killed. */
static int udp_sink(void *arg)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons(BENCH_UDP_PORT),
	};
	int ready = *(int *)arg, fd, big = 8 << 20;
	char buf[2048];

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)))
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (write(ready, "", 1) != 1)
		return 1;
	close(ready);
	while (recv(fd, buf, sizeof(buf), 0) >= 0)
		;
	return 1;
}

static int host_make(struct bench_env *e)
{
	int p[2];
	char c;

	if (testhost_create(&e->th, BENCH_HOST_IDX)) {
		fprintf(stderr, "failed to make the test host (netns, veth)\n");
		return -EIO;
	}
	if (pipe(p))
		return -errno;
	sink_pid = testhost_spawn(&e->th, udp_sink, &p[1]);
	close(p[1]);
	if (sink_pid < 0 || read(p[0], &c, 1) != 1) {
		close(p[0]);
		fprintf(stderr, "failed to start the UDP sink on %s\n",
			e->th.remote4);
		return -EIO;
	}
	close(p[0]);
	e->udp_port = BENCH_UDP_PORT;
	return 0;
}

int fixtures_make(struct bench_env *e)
{
	int err;

	snprintf(e->work, sizeof(e->work), "%s/bench/fixtures", e->build);
	snprintf(e->big, sizeof(e->big), "%s/big.dat", e->work);
	snprintf(e->db, sizeof(e->db), "%s/customers.db", e->work);
	snprintf(e->cold, sizeof(e->cold), "%s/cold.dat", e->work);
	snprintf(e->tree, sizeof(e->tree), "%s/%s", e->work,
		 e->quick ? "tree-quick" : "tree");
	snprintf(e->headers, sizeof(e->headers), "/usr/include");
	if (run_cmd("mkdir -p %s", e->work))
		return -EIO;
	err = make_file(e->big, ((off_t)256 << 20) / e->div);
	if (!err)
		err = make_file(e->cold, 4096);
	if (!err && !e->in_guest)
		err = make_db(e->db, e->work, e->quick ? 20000 : 1000000);
	if (!err && !e->in_guest)
		err = make_tree(e->tree, e->quick);
	if (!err)
		err = host_make(e);
	/* warm: P2 measures the sensor, not the disk */
	if (!err)
		run_cmd("cat %s %s >/dev/null 2>&1", e->big, e->db);
	return err;
}

void fixtures_drop(struct bench_env *e)
{
	if (sink_pid > 0) {
		kill(sink_pid, SIGKILL);
		waitpid(sink_pid, NULL, 0);
		sink_pid = 0;
	}
	testhost_destroy(&e->th);
}
