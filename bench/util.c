// SPDX-License-Identifier: GPL-2.0-only
/* Small helpers shared by the benchmark's parts. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include "bench.h"
#include "daemon_run.h"

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* A shell command; its exit code, or -1 when it could not run. */
int run_cmd(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

void bench_prog(const struct bench_env *e, const char *name, char *buf,
		size_t len)
{
	snprintf(buf, len, "%s/bench/%s", e->build, name);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of v[0..n) (sorted in place); 0 for none. */
double median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

pid_t bench_daemon_start(const struct bench_env *e, const char *sensor,
			 const char *conf, const char *sock, const char *log)
{
	pid_t pid;

	setenv("EXFILMON_BUILD", e->build, 1);
	setenv("EXFILMON_SENSOR", sensor, 1);
	pid = daemon_start(conf, sock, log);
	if (pid < 0) {
		fprintf(stderr, "failed to start exfilmond --sensor %s:\n",
			sensor);
		run_cmd("tail -n 20 '%s' >&2", log);
	}
	return pid;
}
