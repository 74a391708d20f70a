// SPDX-License-Identifier: GPL-2.0-only
/*
 * The timed workloads P1-P4. Each runs once per call as its own process,
 * like any program on the desktop, so every monitor sees it start (fork,
 * exec) as it would see real work. P1-P3 are small programs of ours
 * (bench/work/) timing their own loop; P4 is real tools, timed from fork
 * to exit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "bench.h"

/*
 * Run argv (in dir, if any) and time it from fork to exit; its output goes
 * to out (up to len bytes, NUL-terminated) or, with out NULL, is read and
 * thrown away, so that tar really writes its archive.
 */
static int run_timed(const char *const argv[], const char *dir, char *out,
		     size_t len, double *ns)
{
	char sink[65536];
	size_t used = 0;
	uint64_t t0;
	ssize_t n;
	int p[2], status;
	pid_t pid;

	if (pipe(p))
		return -errno;
	t0 = mono_ns();
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		if (dir && chdir(dir))
			_exit(126);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], out ? out + used : sink,
			 out ? len - 1 - used : sizeof(sink))) > 0)
		if (out)
			used += n;
	close(p[0]);
	if (out)
		out[used] = '\0';
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	*ns = mono_ns() - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "%s exited with %d\n", argv[0],
			WIFEXITED(status) ? WEXITSTATUS(status) :
					    128 + WTERMSIG(status));
		return -EIO;
	}
	return 0;
}

/* One of our loop programs: it prints "<ns> <ops>" for its loop alone. */
static int run_loop(const struct bench_env *e, const char *const args[],
		    double *ns, double *ops)
{
	const char *argv[8];
	char prog[300], out[256];
	unsigned long long t, n;
	double wall;
	int i, err;

	bench_prog(e, args[0], prog, sizeof(prog));
	argv[0] = prog;
	for (i = 1; args[i] && i < 7; i++)
		argv[i] = args[i];
	argv[i] = NULL;
	err = run_timed(argv, NULL, out, sizeof(out), &wall);
	if (err)
		return err;
	if (sscanf(out, "%llu %llu", &t, &n) != 2 || !n) {
		fprintf(stderr, "%s: no \"<ns> <ops>\" in its output: %s\n",
			args[0], out);
		return -EPROTO;
	}
	*ns = t;
	*ops = n;
	return 0;
}

static int p1_pread(const struct bench_env *e, double *ns, double *ops)
{
	char n[16];
	const char *args[] = { "work/pread_loop", e->cold, n, NULL };

	snprintf(n, sizeof(n), "%u", 2000000 / e->div);
	return run_loop(e, args, ns, ops);
}

/* the file is 256 MiB / div: 8 passes, 65536 reads each at full size */
static int p2_read_watched(const struct bench_env *e, double *ns,
			   double *ops)
{
	const char *args[] = { "work/read_seq", e->big, "8", NULL };

	return run_loop(e, args, ns, ops);
}

static int p3_send(const struct bench_env *e, const char *taint, double *ns,
		   double *ops)
{
	char port[8], n[16];
	const char *args[] = { "work/udp_send", e->th.remote4, port, n, taint,
			       NULL };

	snprintf(port, sizeof(port), "%u", e->udp_port);
	snprintf(n, sizeof(n), "%u", 500000 / e->div);
	return run_loop(e, args, ns, ops);
}

static int p3_untainted(const struct bench_env *e, double *ns, double *ops)
{
	return p3_send(e, NULL, ns, ops);
}

/* the sender read watched data first: exfilmon accounts each send */
static int p3_tainted(const struct bench_env *e, double *ns, double *ops)
{
	return p3_send(e, e->big, ns, ops);
}

/*
 * GNU tar does not read the files when the archive is /dev/null, so the
 * archive goes to a pipe we drain: tar reads every header in full.
 */
static int p4_tar(const struct bench_env *e, double *ns, double *ops)
{
	const char *argv[] = { "tar", "-cf", "-", "-C", "/", e->headers + 1,
			       NULL };

	*ops = 0;
	return run_timed(argv, NULL, NULL, 0, ns);
}

/* an analyst's full-table query over the watched customer database */
static int p4_sqlite(const struct bench_env *e, double *ns, double *ops)
{
	const char *argv[] = {
		"sqlite3", e->db,
		"SELECT count(*), sum(length(name) + length(account_id) + "
		"length(phone)) FROM customers", NULL
	};
	char out[256];

	*ops = 0;
	return run_timed(argv, NULL, out, sizeof(out), ns);
}

static int p4_git(const struct bench_env *e, double *ns, double *ops)
{
	const char *argv[] = { "git", "status", "--porcelain", NULL };
	char out[4096];

	*ops = 0;
	return run_timed(argv, e->tree, out, sizeof(out), ns);
}

const struct workload workloads[] = {
	{ "P1", "64 B pread, unwatched file", p1_pread, 1.10, 0 },
	{ "P2", "4 KiB reads, watched file", p2_read_watched, 1.03, 0 },
	{ "P3u", "64 B UDP sendto, untainted", p3_untainted, 1.10, 0 },
	{ "P3t", "64 B UDP sendto, tainted", p3_tainted, 1.25, 0 },
	{ "P4tar", "tar -c /usr/include", p4_tar, 1.02, 1 },
	{ "P4sql", "sqlite3 full-table query", p4_sqlite, 1.02, 1 },
	{ "P4git", "git status, large tree", p4_git, 1.02, 1 },
};
const size_t nr_workloads = sizeof(workloads) / sizeof(workloads[0]);
