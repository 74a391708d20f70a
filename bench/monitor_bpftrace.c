// SPDX-License-Identifier: GPL-2.0-only
/*
 * The bpftrace peer: Debian's bpftrace running bench/peers/exfilmon.bt, a
 * script doing exfilmon's accounting on the same tracepoints, so the table
 * compares the same work done by a general-purpose tracer.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include "bench.h"

/* where exfilmon.bt is: make bench runs from the source tree */
#ifndef BENCH_PEERS_DIR
#define BENCH_PEERS_DIR "bench/peers"
#endif

#define BPFTRACE	"/usr/bin/bpftrace"
#define BT_READY	"exfilmon.bt: ready"
/*
 * Loading 24 programs, one with a 1024-pass loop, takes the verifier 5 to
 * 10 s on the 2-core test machine while it builds in parallel.
 */
#define BT_READY_TIMEOUT_S	180
#define BT_STOP_TIMEOUT_S	60

struct bt_state {
	pid_t pid;
	char out[300];		/* its stdout: one JSON object a line */
	char err[300];		/* its stderr */
	double startup_s;	/* spawn to "ready": all probes attached */
};

static int bt_probe(const struct bench_env *e, char *why, size_t len)
{
	if (e->in_guest) {
		snprintf(why, len, "peers run on the host only");
		return -EOPNOTSUPP;
	}
	if (geteuid() != 0) {
		snprintf(why, len, "bpftrace needs root");
		return -EPERM;
	}
	if (access(BPFTRACE, X_OK)) {
		snprintf(why, len, "%s is not installed (Debian package bpftrace): %s",
			 BPFTRACE, strerror(errno));
		return -ENOENT;
	}
	if (access(BENCH_PEERS_DIR "/exfilmon.bt", R_OK)) {
		snprintf(why, len, "failed to find %s/exfilmon.bt: %s",
			 BENCH_PEERS_DIR, strerror(errno));
		return -ENOENT;
	}
	/* the script reads kernel structs by their BTF names */
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(why, len, "the kernel has no BTF (/sys/kernel/btf/vmlinux): %s",
			 strerror(errno));
		return -EOPNOTSUPP;
	}
	if (access("/sys/kernel/tracing/events/syscalls/sys_exit_read", F_OK) &&
	    access("/sys/kernel/debug/tracing/events/syscalls/sys_exit_read",
		   F_OK)) {
		snprintf(why, len,
			 "no syscall tracepoints (CONFIG_FTRACE_SYSCALLS, tracefs)");
		return -EOPNOTSUPP;
	}
	return 0;
}

/* The kernel's s_dev and i_ino of path, as the script compares them. */
static int kernel_key(const char *path, char *buf, size_t len)
{
	struct stat st;

	if (stat(path, &st)) {
		int err = -errno;

		fprintf(stderr, "bpftrace: failed to stat %s: %s\n", path,
			strerror(errno));
		return err;
	}
	/* MKDEV() inside the kernel: 20 bits of minor */
	snprintf(buf, len, "%llu %llu",
		 (unsigned long long)major(st.st_dev) << 20 | minor(st.st_dev),
		 (unsigned long long)st.st_ino);
	return 0;
}

/* Does the file contain s? */
static int file_has(const char *path, const char *s)
{
	char line[4096];
	int found = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, s) != NULL;
	fclose(f);
	return found;
}

/* The last lines of bpftrace's stderr, for a failure message. */
static void show_err(const struct bt_state *s)
{
	fprintf(stderr, "bpftrace: its stderr (%s):\n", s->err);
	run_cmd("grep -v RLIMIT_MEMLOCK '%s' | tail -n 15 >&2", s->err);
}

/* Wait up to timeout_s for pid to end; its status, or -ETIMEDOUT. */
static int wait_exit(pid_t pid, int timeout_s, int *status)
{
	uint64_t end = mono_ns() + (uint64_t)timeout_s * 1000000000ull;
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0)
			return -errno;
		if (mono_ns() > end)
			return -ETIMEDOUT;
		nanosleep(&nap, NULL);
	}
}

static void bt_kill(struct bt_state *s)
{
	int st;

	kill(s->pid, SIGKILL);
	waitpid(s->pid, &st, 0);
}

static int bt_start(const struct bench_env *e, void **state)
{
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	char big[64], db[64];
	struct bt_state *s;
	uint64_t t0, end;
	int err, st;

	err = kernel_key(e->big, big, sizeof(big));
	if (err)
		return err;
	err = kernel_key(e->db, db, sizeof(db));
	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	snprintf(s->out, sizeof(s->out), "%s/bpftrace.out", e->work);
	snprintf(s->err, sizeof(s->err), "%s/bpftrace.err", e->work);

	/* a marker left by an earlier run would pass for this one's */
	if (unlink(s->out) && errno != ENOENT) {
		err = -errno;
		fprintf(stderr, "bpftrace: failed to remove %s: %s\n", s->out,
			strerror(errno));
		goto out_free;
	}

	t0 = mono_ns();
	s->pid = fork();
	if (s->pid < 0) {
		err = -errno;
		fprintf(stderr, "bpftrace: failed to fork: %s\n", strerror(errno));
		goto out_free;
	}
	if (s->pid == 0) {
		char cmd[1024];

		snprintf(cmd, sizeof(cmd),
			 "exec %s -f json %s/exfilmon.bt %s %s >'%s' 2>'%s'",
			 BPFTRACE, BENCH_PEERS_DIR, big, db, s->out, s->err);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}

	/* BEGIN prints the marker once every probe is attached */
	end = t0 + BT_READY_TIMEOUT_S * 1000000000ull;
	while (!file_has(s->out, BT_READY)) {
		if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
			fprintf(stderr, "bpftrace: failed to attach its probes: it exited (status %d)\n",
				WIFEXITED(st) ? WEXITSTATUS(st) : -1);
			show_err(s);
			err = -ECHILD;
			goto out_free;
		}
		if (mono_ns() > end) {
			fprintf(stderr, "bpftrace: failed to attach its probes: not ready after %d s\n",
				BT_READY_TIMEOUT_S);
			show_err(s);
			err = -ETIMEDOUT;
			goto out_kill;
		}
		nanosleep(&nap, NULL);
	}
	s->startup_s = (mono_ns() - t0) / 1e9;
	*state = s;
	return 0;

out_kill:
	bt_kill(s);
out_free:
	free(s);
	return err;
}

/* "1234,comm" (@read) or "1234,198.18.41.2,5555,comm" (@sent) */
static void add_read(struct json_object *arr, const char *key, int64_t bytes)
{
	struct json_object *o = json_object_new_object();
	const char *comm = strchr(key, ',');

	json_object_object_add(o, "pid", json_object_new_int64(atoll(key)));
	json_object_object_add(o, "comm",
			       json_object_new_string(comm ? comm + 1 : ""));
	json_object_object_add(o, "bytes", json_object_new_int64(bytes));
	json_object_array_add(arr, o);
}

static void add_sent(struct json_object *arr, const char *key, int64_t bytes)
{
	const char *addr, *port, *comm;
	struct json_object *o;

	addr = strchr(key, ',');
	port = addr ? strchr(addr + 1, ',') : NULL;
	comm = port ? strchr(port + 1, ',') : NULL;
	if (!comm)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "pid", json_object_new_int64(atoll(key)));
	json_object_object_add(o, "comm", json_object_new_string(comm + 1));
	json_object_object_add(o, "addr",
			       json_object_new_string_len(addr + 1,
							  port - addr - 1));
	json_object_object_add(o, "port", json_object_new_int(atoi(port + 1)));
	json_object_object_add(o, "bytes", json_object_new_int64(bytes));
	json_object_array_add(arr, o);
}

/*
 * The maps END printed: {"type": "map", "data": {"@read": {key: n}}}.
 * Fills seen with "read" and "sent" (one entry per key) and their totals.
 */
static int parse_maps(const struct bt_state *s, struct json_object *seen)
{
	struct json_object *reads = json_object_new_array();
	struct json_object *sends = json_object_new_array();
	int64_t read_total = 0, sent_total = 0;
	int maps = 0, err = 0;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	f = fopen(s->out, "r");
	if (!f) {
		err = -errno;
		fprintf(stderr, "bpftrace: failed to open %s: %s\n", s->out,
			strerror(errno));
		goto out;
	}
	while (getline(&line, &cap, f) > 0) {
		struct json_object *j, *type, *data, *m;

		j = json_tokener_parse(line);
		if (!j)
			continue;
		if (!json_object_object_get_ex(j, "type", &type) ||
		    strcmp(json_object_get_string(type), "map") ||
		    !json_object_object_get_ex(j, "data", &data)) {
			json_object_put(j);
			continue;
		}
		if (json_object_object_get_ex(data, "@read", &m)) {
			maps++;
			json_object_object_foreach(m, k, v) {
				add_read(reads, k, json_object_get_int64(v));
				read_total += json_object_get_int64(v);
			}
		}
		if (json_object_object_get_ex(data, "@sent", &m)) {
			maps++;
			json_object_object_foreach(m, k, v) {
				add_sent(sends, k, json_object_get_int64(v));
				sent_total += json_object_get_int64(v);
			}
		}
		json_object_put(j);
	}
	free(line);
	fclose(f);
	/* print() of an empty map prints nothing: no map is no count */
	json_object_object_add(seen, "maps_printed", json_object_new_int(maps));
	json_object_object_add(seen, "read_bytes",
			       json_object_new_int64(read_total));
	json_object_object_add(seen, "sent_bytes",
			       json_object_new_int64(sent_total));
	json_object_object_add(seen, "read", json_object_get(reads));
	json_object_object_add(seen, "sent", json_object_get(sends));
out:
	json_object_put(reads);
	json_object_put(sends);
	return err;
}

static int bt_stop(const struct bench_env *e, void *state,
		   struct json_object *seen)
{
	struct bt_state *s = state;
	int err, st = 0;

	if (!s)
		return 0;
	/* SIGINT runs END, which prints the maps */
	if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
		fprintf(stderr, "bpftrace: failed to stay attached: it exited during the run (status %d)\n",
			WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		show_err(s);
		err = -ECHILD;
		goto out;
	}
	kill(s->pid, SIGINT);
	err = wait_exit(s->pid, BT_STOP_TIMEOUT_S, &st);
	if (err) {
		fprintf(stderr, "bpftrace: failed to stop on SIGINT within %d s: %s\n",
			BT_STOP_TIMEOUT_S, strerror(-err));
		bt_kill(s);
		goto out;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		if (WIFSIGNALED(st))
			fprintf(stderr, "bpftrace: failed to end cleanly: killed by signal %d\n",
				WTERMSIG(st));
		else
			fprintf(stderr, "bpftrace: failed to end cleanly: exit status %d\n",
				WEXITSTATUS(st));
		show_err(s);
		err = -EIO;
		goto out;
	}
	json_object_object_add(seen, "startup_s",
			       json_object_new_double(s->startup_s));
	err = parse_maps(s, seen);
out:
	free(s);
	return err;
}

const struct monitor mon_bpftrace = {
	.name = "bpftrace",
	.probe = bt_probe,
	.start = bt_start,
	.stop = bt_stop,
};
