// SPDX-License-Identifier: GPL-2.0-only
/*
 * The auditd peer: Debian's auditd with a private configuration and log,
 * and the rules an administrator would write to watch what exfilmon
 * watches. It leaves the kernel's audit state as it found it.
 *
 * The rules, and why they are the closest auditd comes to ours:
 *  - a read watch (-w PATH -p r) on each watched file. Audit cannot count
 *    bytes: a watch logs the open() (and the other calls of the "read"
 *    permission class), not each read(), so this logs who opened it.
 *  - an exit rule on sendto, sendmsg and sendmmsg, success only: audit
 *    has no notion of taint, so every process's every send is logged
 *    (with its destination, as a SOCKADDR record, and the bytes as the
 *    syscall's exit value).
 *  - an exit rule on connect: write() and writev() to a connected socket
 *    cannot be told from writes to files by an audit filter (no filter
 *    field knows the fd's type), and logging every write() of every
 *    process would log the whole machine. The connect record names the
 *    destination of such a stream instead; its bytes are not seen.
 * Only the 64-bit syscall table is ruled (arch=b64): 32-bit programs
 * would need the same rules again for b32 and socketcall().
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "bench.h"

#define AUDITD		"/usr/sbin/auditd"
#define AUDITCTL	"/usr/sbin/auditctl"
#define KEY_READ	"exfilbench_read"
#define KEY_SEND	"exfilbench_send"
#define KEY_CONNECT	"exfilbench_connect"
#define REGISTER_TIMEOUT_S	20
#define DRAIN_TIMEOUT_S		60
#define STOP_TIMEOUT_S		30

/* What `auditctl -s` reports, as far as we change it. */
struct audit_status {
	long enabled;
	long failure;
	long pid;
	long rate_limit;
	long backlog_limit;
	long lost;
	long backlog;
	long backlog_wait_time;
};

struct audit_state {
	pid_t pid;			/* our auditd */
	char dir[300];			/* its config directory and log */
	char log[320];
	struct audit_status saved;	/* as found */
	char *rules;			/* `auditctl -l` as found */
	double startup_s;
	int requiet;			/* reload -a never,task at stop */
};

/* Run a command and keep its stdout (NUL-terminated, malloc'ed). */
static int cmd_output(char **out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int cmd_output(char **out, const char *fmt, ...)
{
	char cmd[4096];
	size_t len = 0;
	char *buf = NULL;
	FILE *p;
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (!p)
		return -errno;
	/* small outputs: the status and the rule list */
	for (;;) {
		char *nb = realloc(buf, len + 4097);
		size_t n;

		if (!nb) {
			free(buf);
			pclose(p);
			return -ENOMEM;
		}
		buf = nb;
		n = fread(buf + len, 1, 4096, p);
		len += n;
		if (n < 4096)
			break;
	}
	buf[len] = '\0';
	st = pclose(p);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	return 0;
}

static long status_field(const char *text, const char *name)
{
	size_t n = strlen(name);
	const char *l;

	for (l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (!strncmp(l, name, n) && l[n] == ' ')
			return strtol(l + n + 1, NULL, 10);
	return -1;
}

static int audit_status_read(struct audit_status *st)
{
	char *text;
	int err;

	err = cmd_output(&text, AUDITCTL " -s 2>/dev/null");
	if (err)
		return err;
	st->enabled = status_field(text, "enabled");
	st->failure = status_field(text, "failure");
	st->pid = status_field(text, "pid");
	st->rate_limit = status_field(text, "rate_limit");
	st->backlog_limit = status_field(text, "backlog_limit");
	st->lost = status_field(text, "lost");
	st->backlog = status_field(text, "backlog");
	st->backlog_wait_time = status_field(text, "backlog_wait_time");
	free(text);
	if (st->enabled < 0 || st->pid < 0 || st->backlog_limit < 0)
		return -EPROTO;
	return 0;
}

static int audit_probe(const struct bench_env *e, char *why, size_t len)
{
	struct audit_status st;
	char comm[64] = "?";
	char *rules;
	FILE *f;
	int err;

	if (e->in_guest) {
		snprintf(why, len, "peers run on the host only");
		return -EOPNOTSUPP;
	}
	if (geteuid() != 0) {
		snprintf(why, len, "auditd needs root");
		return -EPERM;
	}
	if (access(AUDITD, X_OK) || access(AUDITCTL, X_OK)) {
		snprintf(why, len, "%s or %s is not installed (Debian package auditd)",
			 AUDITD, AUDITCTL);
		return -ENOENT;
	}
	err = audit_status_read(&st);
	if (err) {
		snprintf(why, len,
			 "`auditctl -s` failed: no audit in the kernel (CONFIG_AUDIT) or no CAP_AUDIT_CONTROL here");
		return -EOPNOTSUPP;
	}
	/* auditctl -e 2 makes the configuration immutable until reboot */
	if (st.enabled == 2) {
		snprintf(why, len, "the audit configuration is locked (enabled 2) until reboot");
		return -EPERM;
	}
	if (st.pid) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%ld/comm", st.pid);
		f = fopen(path, "r");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		snprintf(why, len,
			 "another audit daemon is registered (pid %ld, %s): a second one cannot receive the records",
			 st.pid, comm);
		return -EBUSY;
	}
	err = cmd_output(&rules, AUDITCTL " -l 2>/dev/null");
	if (err) {
		snprintf(why, len, "failed to list the audit rules: %s",
			 strerror(-err));
		return err;
	}
	if (strstr(rules, "exfilbench_")) {
		free(rules);
		snprintf(why, len,
			 "audit rules with key exfilbench_* are loaded already (a crashed run?): remove them with auditctl -D -k KEY");
		return -EEXIST;
	}
	free(rules);
	return 0;
}

/*
 * Debian's auditd.conf (3.0.9) with the log and plugins in our directory
 * and no log rotation, so every record stays countable. Plugins would
 * only add work (Debian ships both inactive).
 */
static int write_config(struct audit_state *s)
{
	char path[340];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/plugins.d", s->dir);
	if (mkdir(path, 0750) && errno != EEXIST)
		goto fail;
	snprintf(path, sizeof(path), "%s/auditd.conf", s->dir);
	/* auditd refuses a config others may write to */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		goto fail;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		goto fail;
	}
	fprintf(f,
		"local_events = yes\n"
		"write_logs = yes\n"
		"log_file = %s\n"
		"log_group = root\n"
		"log_format = ENRICHED\n"
		"flush = INCREMENTAL_ASYNC\n"
		"freq = 50\n"
		"max_log_file = 8\n"
		"num_logs = 5\n"
		"priority_boost = 4\n"
		"name_format = NONE\n"
		"max_log_file_action = IGNORE\n"
		"space_left = 75\n"
		"space_left_action = SYSLOG\n"
		"verify_email = yes\n"
		"action_mail_acct = root\n"
		"admin_space_left = 50\n"
		"admin_space_left_action = SUSPEND\n"
		"disk_full_action = SUSPEND\n"
		"disk_error_action = SUSPEND\n"
		"use_libwrap = yes\n"
		"tcp_listen_queue = 5\n"
		"tcp_max_per_addr = 1\n"
		"tcp_client_max_idle = 0\n"
		"transport = TCP\n"
		"distribute_network = no\n"
		"q_depth = 2000\n"
		"overflow_action = SYSLOG\n"
		"max_restarts = 10\n"
		"plugin_dir = %s/plugins.d\n"
		"end_of_event_timeout = 2\n",
		s->log, s->dir);
	if (fclose(f))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "auditd: failed to write its config in %s: %s\n",
		s->dir, strerror(errno));
	return -errno;
}

/* Wait up to timeout_s for pid to end; 0, or -ETIMEDOUT. */
static int wait_exit(pid_t pid, int timeout_s)
{
	uint64_t end = mono_ns() + (uint64_t)timeout_s * 1000000000ull;
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0)
			return -errno;
		if (mono_ns() > end)
			return -ETIMEDOUT;
		nanosleep(&nap, NULL);
	}
}

/* Stop our auditd: it flushes its log on SIGTERM. */
static void auditd_end(struct audit_state *s)
{
	kill(s->pid, SIGTERM);
	if (wait_exit(s->pid, STOP_TIMEOUT_S)) {
		fprintf(stderr, "auditd: failed to stop within %d s: killing it\n",
			STOP_TIMEOUT_S);
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
}

/* Put the kernel's settings back as found (0, or -EIO). */
static int restore_status(const struct audit_state *s)
{
	const struct audit_status *o = &s->saved;
	int err = 0;

	if (run_cmd(AUDITCTL " -D -k " KEY_READ " >/dev/null 2>&1") ||
	    run_cmd(AUDITCTL " -D -k " KEY_SEND " >/dev/null 2>&1") ||
	    run_cmd(AUDITCTL " -D -k " KEY_CONNECT " >/dev/null 2>&1"))
		err = -EIO;
	if (run_cmd(AUDITCTL " -b %ld -f %ld -r %ld --backlog_wait_time %ld >/dev/null",
		    o->backlog_limit, o->failure, o->rate_limit,
		    o->backlog_wait_time) ||
	    run_cmd(AUDITCTL " -e %ld >/dev/null", o->enabled))
		err = -EIO;
	if (err)
		fprintf(stderr, "auditd: failed to restore the audit settings (enabled %ld, backlog_limit %ld, failure %ld, rate_limit %ld, backlog_wait_time %ld)\n",
			o->enabled, o->backlog_limit, o->failure,
			o->rate_limit, o->backlog_wait_time);
	return err;
}

static int load_rules(const struct bench_env *e)
{
	/*
	 * Debian's /etc/audit/rules.d/audit.rules settings: a backlog that
	 * does not drop records under load, and printk on failure
	 */
	if (run_cmd(AUDITCTL " -b 8192 --backlog_wait_time 60000 -f 1 >/dev/null") ||
	    run_cmd(AUDITCTL " -w '%s' -p r -k " KEY_READ, e->big) ||
	    run_cmd(AUDITCTL " -w '%s' -p r -k " KEY_READ, e->db) ||
	    run_cmd(AUDITCTL " -a always,exit -F arch=b64 -S sendto -S sendmsg -S sendmmsg -F success=1 -k " KEY_SEND) ||
	    run_cmd(AUDITCTL " -a always,exit -F arch=b64 -S connect -k " KEY_CONNECT)) {
		fprintf(stderr, "auditd: failed to load the rules\n");
		return -EIO;
	}
	return 0;
}

/*
 * Once audit has been enabled in this boot, audit_alloc() gives every new
 * task audit's syscall entry and exit work, audit enabled or not, rules or
 * not: the unmonitored runs and the other monitors' would pay for auditd
 * having run before them. A task-filter "never" rule turns that off for
 * tasks forked while it is loaded (audit_filter_task() returns
 * AUDIT_STATE_DISABLED), so it is loaded for the whole run except while
 * auditd is the monitor. auditctl takes no key on a task rule; quiet_added
 * says whether the rule is ours to remove.
 */
static int quiet_added;

int audit_quiet(int on)
{
	char *rules = NULL;
	int err = 0;

	if (geteuid() || access(AUDITCTL, X_OK))
		return 0;
	if (!on) {
		if (quiet_added &&
		    run_cmd(AUDITCTL " -d never,task >/dev/null 2>&1")) {
			fprintf(stderr, "auditd: failed to delete the rule "
				"-a never,task\n");
			err = -EIO;
		}
		quiet_added = 0;
		return err;
	}
	if (quiet_added || cmd_output(&rules, AUDITCTL " -l 2>/dev/null"))
		return 0;
	/* someone's own: it stays, and does the same */
	if (!strstr(rules, "-a never,task")) {
		if (run_cmd(AUDITCTL " -a never,task >/dev/null 2>&1")) {
			fprintf(stderr, "auditd: failed to load -a never,task: "
				"unmonitored runs pay audit's syscall work if "
				"audit ran in this boot\n");
			err = -EIO;
		} else {
			quiet_added = 1;
		}
	}
	free(rules);
	return err;
}

/*
 * Only processes forked once audit has been enabled in this boot carry an
 * audit context (audit_alloc() tests audit_ever_enabled, which nothing
 * resets), so a workload must start after this to be audited at all; and
 * every process forked after the first run keeps paying audit's syscall
 * entry and exit, audit disabled or not, in the unmonitored runs too.
 * auditd also writes /run/auditd.pid, and removes it as it exits.
 */
static int audit_start(const struct bench_env *e, void **state)
{
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	struct audit_status now;
	struct audit_state *s;
	uint64_t t0, end;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	snprintf(s->dir, sizeof(s->dir), "%s/auditd", e->work);
	snprintf(s->log, sizeof(s->log), "%s/audit.log", s->dir);
	/* audited workloads, as on a machine running auditd */
	s->requiet = quiet_added;
	audit_quiet(0);
	err = audit_status_read(&s->saved);
	if (err) {
		fprintf(stderr, "auditd: failed to read the audit status: %s\n",
			strerror(-err));
		goto out_free;
	}
	err = cmd_output(&s->rules, AUDITCTL " -l 2>/dev/null");
	if (err) {
		fprintf(stderr, "auditd: failed to list the audit rules: %s\n",
			strerror(-err));
		goto out_free;
	}
	if (mkdir(s->dir, 0750) && errno != EEXIST) {
		err = -errno;
		fprintf(stderr, "auditd: failed to create %s: %s\n", s->dir,
			strerror(errno));
		goto out_free;
	}
	err = write_config(s);
	if (err)
		goto out_free;
	/* a fresh log per run: seen counts this run's records */
	if (unlink(s->log) && errno != ENOENT) {
		err = -errno;
		fprintf(stderr, "auditd: failed to remove %s: %s\n", s->log,
			strerror(errno));
		goto out_free;
	}

	t0 = mono_ns();
	s->pid = fork();
	if (s->pid < 0) {
		err = -errno;
		fprintf(stderr, "auditd: failed to fork: %s\n", strerror(errno));
		goto out_free;
	}
	if (s->pid == 0) {
		char out[340];
		int fd;

		snprintf(out, sizeof(out), "%s/auditd.out", s->dir);
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0640);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* -n: stay our child; it enables audit as it registers */
		execl(AUDITD, "auditd", "-n", "-c", s->dir, (char *)NULL);
		_exit(127);
	}

	/* ready once the kernel sends the records to it */
	end = t0 + REGISTER_TIMEOUT_S * 1000000000ull;
	for (;;) {
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			fprintf(stderr, "auditd: failed to start: it exited; see %s/auditd.out\n",
				s->dir);
			err = -ECHILD;
			goto out_restore;
		}
		if (!audit_status_read(&now) && now.pid == s->pid)
			break;
		if (mono_ns() > end) {
			fprintf(stderr, "auditd: failed to register with the kernel within %d s\n",
				REGISTER_TIMEOUT_S);
			err = -ETIMEDOUT;
			goto out_kill;
		}
		nanosleep(&nap, NULL);
	}
	err = load_rules(e);
	if (err)
		goto out_kill;
	s->startup_s = (mono_ns() - t0) / 1e9;
	*state = s;
	return 0;

out_kill:
	auditd_end(s);
out_restore:
	restore_status(s);
out_free:
	if (s->requiet)
		audit_quiet(1);
	free(s->rules);
	free(s);
	return err;
}

static void count(struct json_object *o, const char *key, int64_t n)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, key, &v))
		n += json_object_get_int64(v);
	json_object_object_add(o, key, json_object_new_int64(n));
}

/* The value of name=... in an audit record line, into buf. */
static int field(const char *line, const char *name, char *buf, size_t len)
{
	size_t n = strlen(name), i = 0;
	const char *p = line;

	while ((p = strstr(p, name))) {
		if ((p == line || p[-1] == ' ' || p[-1] == '\x1d') &&
		    p[n] == '=')
			break;
		p += n;
	}
	if (!p)
		return -ENOENT;
	p += n + 1;
	if (*p == '"')
		p++;
	while (*p && *p != ' ' && *p != '"' && *p != '\x1d' && *p != '\n' &&
	       i + 1 < len)
		buf[i++] = *p++;
	buf[i] = '\0';
	return 0;
}

/*
 * Count the log: records of each type, and per rule key the syscall
 * records by syscall name (the ENRICHED format spells it out), plus the
 * bytes the logged sendto/sendmsg calls returned.
 */
static int count_log(const struct audit_state *s, struct json_object *seen)
{
	struct json_object *types = json_object_new_object();
	struct json_object *keys = json_object_new_object();
	int64_t records = 0, send_bytes = 0;
	char *line = NULL;
	size_t cap = 0;
	struct stat st;
	FILE *f;

	f = fopen(s->log, "r");
	if (!f) {
		int err = -errno;

		fprintf(stderr, "auditd: failed to open %s: %s\n", s->log,
			strerror(errno));
		json_object_put(types);
		json_object_put(keys);
		return err;
	}
	while (getline(&line, &cap, f) > 0) {
		char type[32], key[64], sc[32], ex[32];
		struct json_object *k;

		if (field(line, "type", type, sizeof(type)))
			continue;
		records++;
		count(types, type, 1);
		if (strcmp(type, "SYSCALL") || field(line, "key", key, sizeof(key)) ||
		    strncmp(key, "exfilbench_", 11))
			continue;
		if (field(line, "SYSCALL", sc, sizeof(sc)) &&
		    field(line, "syscall", sc, sizeof(sc)))
			continue;
		if (!json_object_object_get_ex(keys, key, &k)) {
			k = json_object_new_object();
			json_object_object_add(keys, key, k);
		}
		count(k, sc, 1);
		if ((!strcmp(sc, "sendto") || !strcmp(sc, "sendmsg")) &&
		    !field(line, "exit", ex, sizeof(ex)))
			send_bytes += atoll(ex);
	}
	free(line);
	json_object_object_add(seen, "records", json_object_new_int64(records));
	json_object_object_add(seen, "types", types);
	json_object_object_add(seen, "keys", keys);
	json_object_object_add(seen, "sendto_sendmsg_bytes",
			       json_object_new_int64(send_bytes));
	if (!fstat(fileno(f), &st))
		json_object_object_add(seen, "log_bytes",
				       json_object_new_int64(st.st_size));
	fclose(f);
	return 0;
}

static int audit_stop(const struct bench_env *e, void *state,
		      struct json_object *seen)
{
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	struct audit_state *s = state;
	struct audit_status now;
	int err = 0, err2;
	char *rules = NULL;
	uint64_t end;

	if (!s)
		return 0;
	/* no more records, then let auditd write out the kernel's queue */
	if (run_cmd(AUDITCTL " -D -k " KEY_READ " >/dev/null") ||
	    run_cmd(AUDITCTL " -D -k " KEY_SEND " >/dev/null") ||
	    run_cmd(AUDITCTL " -D -k " KEY_CONNECT " >/dev/null")) {
		fprintf(stderr, "auditd: failed to delete our rules\n");
		err = -EIO;
	}
	end = mono_ns() + DRAIN_TIMEOUT_S * 1000000000ull;
	while (!audit_status_read(&now) && now.backlog > 0 && mono_ns() < end)
		nanosleep(&nap, NULL);
	if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
		fprintf(stderr, "auditd: failed to stay up: it exited during the run; see %s/auditd.out\n",
			s->dir);
		err = -ECHILD;
	} else {
		auditd_end(s);
	}
	err2 = restore_status(s);
	if (!err)
		err = err2;
	if (!audit_status_read(&now))
		json_object_object_add(seen, "lost",
				       json_object_new_int64(now.lost -
							     s->saved.lost));
	/* the rules we found must be the rules we leave */
	if (!cmd_output(&rules, AUDITCTL " -l 2>/dev/null") &&
	    strcmp(rules, s->rules)) {
		fprintf(stderr, "auditd: failed to restore the audit rules: they were\n%sand are\n%s",
			s->rules, rules);
		if (!err)
			err = -EIO;
	}
	free(rules);
	if (s->requiet)
		audit_quiet(1);
	json_object_object_add(seen, "startup_s",
			       json_object_new_double(s->startup_s));
	err2 = count_log(s, seen);
	if (!err)
		err = err2;
	/* the log of a send loop runs to gigabytes: keep only the counts */
	unlink(s->log);
	free(s->rules);
	free(s);
	return err;
}

const struct monitor mon_auditd = {
	.name = "auditd",
	.probe = audit_probe,
	.start = audit_start,
	.stop = audit_stop,
};
