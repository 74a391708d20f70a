// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "daemon_run.h"

const char *build_dir(void)
{
	const char *b = getenv("EXFILMON_BUILD");

	return b && *b ? b : "build";
}

const char *sensor_under_test(void)
{
	const char *s = getenv("EXFILMON_SENSOR");

	return s && *s ? s : "bpf";
}

int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) ? -1 : 0;
}

static void drain(int fd, char *buf, size_t size, size_t *used)
{
	ssize_t n = read(fd, buf + *used, size - 1 - *used);

	if (n > 0)
		*used += n;
	buf[*used] = '\0';
}

int run_prog(struct cmd_result *r, uid_t uid, const char *const argv[])
{
	return run_prog_groups(r, uid, uid, 0, NULL, argv);
}

int run_prog_groups(struct cmd_result *r, uid_t uid, gid_t gid, size_t ngroups,
		    const gid_t *groups, const char *const argv[])
{
	char prog[512];
	int out[2], err[2], status;
	size_t no = 0, ne = 0;
	pid_t pid;

	snprintf(prog, sizeof(prog), "%s/%s", build_dir(), argv[0]);
	if (pipe(out) || pipe(err))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		if (uid != (uid_t)-1 &&
		    (setgroups(ngroups, groups) || setgid(gid) ||
		     setuid(uid)))
			_exit(126);
		execv(prog, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = out[0], .events = POLLIN },
			{ .fd = err[0], .events = POLLIN },
		};
		int open = 0;

		if (poll(p, 2, 30000) <= 0)
			break;
		if (p[0].revents) {
			size_t before = no;

			drain(out[0], r->out, sizeof(r->out), &no);
			open |= no != before || !(p[0].revents & POLLHUP);
		}
		if (p[1].revents) {
			size_t before = ne;

			drain(err[0], r->err, sizeof(r->err), &ne);
			open |= ne != before || !(p[1].revents & POLLHUP);
		}
		if (!open)
			break;
	}
	r->out[no] = '\0';
	r->err[ne] = '\0';
	close(out[0]);
	close(err[0]);
	waitpid(pid, &status, 0);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) :
		128 + WTERMSIG(status);
	return 0;
}

/*
 * Each daemon's pins (exfilmond --pin-dir) are named for its socket, so a
 * test that kills its daemon and starts it again with the same socket
 * takes the same state over, while two tests never share one.
 * daemon_stop() removes them: a killed daemon's programs stay attached
 * until then.
 */
#define PINNED_MAX	64
static struct {
	pid_t pid;
	char dir[64];
} pinned[PINNED_MAX];

static void pin_dir_of(const char *socket, char *dir, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *socket; socket++)
		h = (h ^ (unsigned char)*socket) * 0x100000001b3ULL;
	snprintf(dir, len, "/sys/fs/bpf/exfilmon-test-%016llx",
		 (unsigned long long)h);
}

static void pinned_note(pid_t pid, const char *dir)
{
	int i, free_slot = -1;

	for (i = 0; i < PINNED_MAX; i++) {
		if (pinned[i].pid && !strcmp(pinned[i].dir, dir)) {
			pinned[i].pid = pid;
			return;
		}
		if (!pinned[i].pid && free_slot < 0)
			free_slot = i;
	}
	if (free_slot >= 0) {
		pinned[free_slot].pid = pid;
		snprintf(pinned[free_slot].dir, sizeof(pinned[0].dir), "%s",
			 dir);
	}
}

const char *daemon_pin_dir(pid_t pid)
{
	int i;

	for (i = 0; i < PINNED_MAX; i++)
		if (pinned[i].pid == pid)
			return pinned[i].dir;
	return NULL;
}

/*
 * Start exfilmond, after the words of wrap (a program and its options, or
 * NULL), its output appended to log. pid or -1.
 */
static pid_t daemon_spawn(const char *const wrap[], const char *config,
			  const char *socket, const char *log)
{
	const char *argv[24];
	char prog[512], pin_dir[64];
	int n = 0;
	pid_t pid;

	snprintf(prog, sizeof(prog), "%s/exfilmond", build_dir());
	for (; wrap && wrap[n] && n < 16; n++)
		argv[n] = wrap[n];
	/* argv[0] as a shell would give it, unless wrapped */
	argv[n] = n ? prog : "exfilmond";
	n++;
	argv[n++] = "--config";
	argv[n++] = config;
	argv[n++] = "--foreground";
	argv[n++] = "--sensor";
	argv[n++] = sensor_under_test();
	pin_dir_of(socket, pin_dir, sizeof(pin_dir));
	argv[n++] = "--pin-dir";
	argv[n++] = pin_dir;
	argv[n] = NULL;
	unlink(socket);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid)
		pinned_note(pid, pin_dir);
	if (!pid) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		if (wrap)	/* found on PATH */
			execvp(argv[0], (char *const *)argv);
		else
			execv(prog, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/*
 * READY means the socket exists: pid, or -1 after tries 50 ms waits (it
 * exited, and is reaped; or it hung, and is killed).
 */
static pid_t daemon_await_tries(pid_t pid, const char *socket, int tries)
{
	struct stat st;
	int i;

	for (i = 0; i < tries; i++) {
		int status;

		if (!stat(socket, &st))
			return pid;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			daemon_unpin(pid);
			return -1;
		}
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	daemon_unpin(pid);
	return -1;
}

pid_t daemon_start(const char *config, const char *socket, const char *log)
{
	pid_t pid = daemon_spawn(NULL, config, socket, log);

	return pid < 0 ? -1 : daemon_await(pid, socket);
}

pid_t daemon_start_valgrind(const char *config, const char *socket,
			    const char *log, const char *supp)
{
	static char exit_opt[32], supp_opt[512];
	const char *wrap[] = {
		/* not --quiet: the test reads the summaries it drops */
		"valgrind", exit_opt, "--leak-check=full",
		supp ? supp_opt : NULL, NULL,
	};
	pid_t pid;

	snprintf(exit_opt, sizeof(exit_opt), "--error-exitcode=%d",
		 VALGRIND_ERROR_EXIT);
	if (supp)
		snprintf(supp_opt, sizeof(supp_opt), "--suppressions=%s",
			 supp);
	pid = daemon_spawn(wrap, config, socket, log);
	/*
	 * Under memcheck the daemon listened after 9 s on an idle 2-core
	 * host and after 17 s with both cores busy (2 s without it): allow
	 * 120 s, 4 times daemon_await()'s 30 s.
	 */
	return pid < 0 ? -1 : daemon_await_tries(pid, socket, 2400);
}

pid_t daemon_await(pid_t pid, const char *socket)
{
	/*
	 * Loading takes a few seconds at most, but a TCG guest sharing its
	 * host's cores with another (docs/vmcheck.md) can take several times
	 * that: wait up to 30 s.
	 */
	return daemon_await_tries(pid, socket, 600);
}

int daemon_stop(pid_t pid)
{
	int status;

	if (pid <= 0)
		return -1;
	kill(pid, SIGTERM);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	daemon_unpin(pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void daemon_unpin(pid_t pid)
{
	char cmd[128];
	int i;

	for (i = 0; i < PINNED_MAX; i++) {
		if (pinned[i].pid != pid)
			continue;
		/* a daemon that stopped in order removed them itself */
		if (!access(pinned[i].dir, F_OK)) {
			snprintf(cmd, sizeof(cmd), "rm -rf %s", pinned[i].dir);
			if (system(cmd))
				fprintf(stderr, "# failed to remove %s\n",
					pinned[i].dir);
		}
		pinned[i].pid = 0;
	}
}

struct json_object *ctl_json(const char *socket, const char *const args[])
{
	const char *argv[16] = { "exfilctl", "--socket", socket };
	struct cmd_result *r = malloc(sizeof(*r));
	struct json_object *j = NULL;
	int i, n = 3;

	if (!r)
		return NULL;
	for (i = 0; args[i] && n < 14; i++)
		argv[n++] = args[i];
	argv[n++] = "--json";
	argv[n] = NULL;
	if (!run_prog(r, (uid_t)-1, argv) && !r->status)
		j = json_tokener_parse(r->out);
	else
		fprintf(stderr, "# exfilctl failed (%d): %s\n", r->status,
			r->err);
	free(r);
	return j;
}
