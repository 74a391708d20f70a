/* SPDX-License-Identifier: GPL-2.0-only */
/* Running the real exfilmond and exfilctl binaries from tests. */
#ifndef EXFILMON_TEST_DAEMON_RUN_H
#define EXFILMON_TEST_DAEMON_RUN_H

#include <sys/types.h>
#include <json-c/json.h>

/* The build folder holding exfilmond and exfilctl ($EXFILMON_BUILD). */
const char *build_dir(void);

/* The sensor the tests run on: $EXFILMON_SENSOR, "bpf" by default. */
const char *sensor_under_test(void);

/* Write text to path; 0 or -1. */
int write_file(const char *path, const char *text);

struct cmd_result {
	int status;		/* exit code, or 128 + signal */
	char out[1 << 16];	/* stdout */
	char err[8192];		/* stderr */
};

/*
 * Run argv (argv[0] a program in the build folder) as uid (or as we are
 * when uid is (uid_t)-1), collecting its output. 0 or -1.
 */
int run_prog(struct cmd_result *r, uid_t uid, const char *const argv[]);
/* The same as uid, primary group gid and supplementary groups. */
int run_prog_groups(struct cmd_result *r, uid_t uid, gid_t gid, size_t ngroups,
		    const gid_t *groups, const char *const argv[]);

/* Start exfilmond with this config; wait for its socket. pid or -1. */
pid_t daemon_start(const char *config, const char *socket, const char *log);
/*
 * daemon_start() with exfilmond under valgrind's memcheck (docs/sanitizers.md):
 * leak check on exit, and exit status VALGRIND_ERROR_EXIT if it found any
 * error or a definite or possible leak; its report goes to log with the
 * daemon's messages. supp: a suppressions file, or NULL. pid or -1.
 */
#define VALGRIND_ERROR_EXIT	99
pid_t daemon_start_valgrind(const char *config, const char *socket,
			    const char *log, const char *supp);
/*
 * Wait for a started exfilmond (pid) to listen on socket: pid, or -1
 * (it exited, and is reaped; or it hung, and is killed).
 */
pid_t daemon_await(pid_t pid, const char *socket);
/* SIGTERM it and wait; returns its exit status. */
int daemon_stop(pid_t pid);
/*
 * The --pin-dir the daemon of pid was given (NULL if none), and removing
 * it after the daemon was killed: its programs stay attached till then.
 * daemon_stop() does this itself.
 */
const char *daemon_pin_dir(pid_t pid);
void daemon_unpin(pid_t pid);

/* exfilctl --socket S ... --json, parsed; NULL if not JSON. */
struct json_object *ctl_json(const char *socket, const char *const args[]);

#endif
