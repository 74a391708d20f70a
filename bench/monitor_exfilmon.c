// SPDX-License-Identifier: GPL-2.0-only
/*
 * The monitors of our own: none (the baseline) and exfilmon as it runs on
 * a desktop, the real daemon with one of its sensors, watching the
 * benchmark's database and big file. Its state starts empty each time, so
 * one monitored run does not inherit the alerts of the last.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench.h"
#include "daemon_run.h"

struct exfilmon_run {
	pid_t pid;
	char dir[320];
	char sock[340];
};

static int none_probe(const struct bench_env *e, char *why, size_t len)
{
	return 0;
}

static int none_start(const struct bench_env *e, void **state)
{
	*state = NULL;
	return 0;
}

static int none_stop(const struct bench_env *e, void *state,
		     struct json_object *seen)
{
	return 0;
}

const struct monitor mon_none = {
	.name = "none",
	.probe = none_probe,
	.start = none_start,
	.stop = none_stop,
};

static int exfilmon_probe(const struct bench_env *e, const char *sensor,
			  char *why, size_t len)
{
	char prog[300];

	snprintf(prog, sizeof(prog), "%s/exfilmond", e->build);
	if (access(prog, X_OK)) {
		snprintf(why, len, "%s: %s (make first)", prog,
			 strerror(errno));
		return -ENOENT;
	}
	if (geteuid()) {
		snprintf(why, len, "exfilmond needs root");
		return -EPERM;
	}
	if (!strcmp(sensor, "kmod") && access("/dev/exfilmon", F_OK)) {
		snprintf(why, len, "exfilmon.ko is not loaded (/dev/exfilmon)");
		return -ENODEV;
	}
	return 0;
}

static int exfilmon_start(const struct bench_env *e, const char *sensor,
			  void **state)
{
	struct exfilmon_run *r = calloc(1, sizeof(*r));
	char conf[2048], path[400], log[400];

	if (!r)
		return -ENOMEM;
	snprintf(r->dir, sizeof(r->dir), "%s/exfilmon-%s", e->work, sensor);
	snprintf(r->sock, sizeof(r->sock), "%s/sock", r->dir);
	snprintf(path, sizeof(path), "%s/exfilmon.conf", r->dir);
	snprintf(log, sizeof(log), "%s/exfilmond.log", r->dir);
	/* defaults but for the paths: what a deployment runs */
	snprintf(conf, sizeof(conf),
		 "[watch]\npath = %s\n%s%s%s\n"
		 "[daemon]\nstate_dir = %s/state\nsocket = %s\n"
		 "group = exfilmon-bench-nonexistent\n",
		 e->big, e->in_guest ? "" : "path = ",
		 e->in_guest ? "" : e->db, e->in_guest ? "" : "\n",
		 r->dir, r->sock);
	if (run_cmd("rm -rf %s && mkdir -p %s", r->dir, r->dir) ||
	    write_file(path, conf)) {
		fprintf(stderr, "failed to write %s\n", path);
		free(r);
		return -EIO;
	}
	r->pid = bench_daemon_start(e, sensor, path, r->sock, log);
	if (r->pid < 0) {
		free(r);
		return -EIO;
	}
	*state = r;
	return 0;
}

/* What the daemon saw: its status, as the security team would ask. */
static int exfilmon_stop(const struct bench_env *e, void *state,
			 struct json_object *seen)
{
	static const char *const keys[] = {
		"events", "dropped", "alerts", "procs_tracked",
		"lost_read_bytes", "lost_send_bytes",
	};
	const char *const args[] = { "status", NULL };
	struct exfilmon_run *r = state;
	struct json_object *st, *v;
	size_t i;
	int ret;

	st = ctl_json(r->sock, args);
	for (i = 0; st && i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_object_get_ex(st, keys[i], &v))
			json_object_object_add(seen, keys[i],
					       json_object_get(v));
	json_object_put(st);
	ret = daemon_stop(r->pid);
	free(r);
	if (ret) {
		fprintf(stderr, "exfilmond exited %d\n", ret);
		return -EIO;
	}
	return 0;
}

#define EXFILMON_MONITOR(sensor)					\
static int sensor##_probe(const struct bench_env *e, char *why,	\
			  size_t len)					\
{									\
	return exfilmon_probe(e, #sensor, why, len);			\
}									\
static int sensor##_start(const struct bench_env *e, void **state)	\
{									\
	return exfilmon_start(e, #sensor, state);			\
}									\
const struct monitor mon_exfilmon_##sensor = {				\
	.name = "exfilmon-" #sensor,					\
	.probe = sensor##_probe,					\
	.start = sensor##_start,					\
	.stop = exfilmon_stop,						\
}

EXFILMON_MONITOR(bpf);
EXFILMON_MONITOR(kmod);
