// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilctl: the security team's window on exfilmond. It turns the command
 * line into one request, sends it over the daemon's socket and prints the
 * reply. Every decision (who may ask, what is an alert, what may be
 * watched) is the daemon's; this is argument handling and formatting only.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <langinfo.h>
#include <libgen.h>
#include <limits.h>
#include <locale.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_format.h"
#include "allow.h"
#include "ipc.h"
#include "units.h"

#define DEFAULT_SOCKET		"/run/exfilmon/exfilmon.sock"
#define READER_GROUP		"exfilmon"	/* the config's default */

#define EXIT_FAIL	1	/* the daemon refused, or something broke */
#define EXIT_USAGE	2

/* Which options a command takes. */
#define OPT_JSON	0x1
#define OPT_SINCE	0x2
#define OPT_ALLOW	0x4	/* --pid, --exe, --dest, --for */

static struct env {
	const char *socket;
	bool json;
	const char *since;
	const char *pid;
	const char *exe;
	const char *dest;
	const char *duration;
} env;

static const char usage_text[] =
"Usage: exfilctl [--socket PATH] COMMAND [ARGS]\n"
"\n"
"Ask exfilmond, the data exfiltration monitor, what it has seen, and change\n"
"what it watches. Members of the exfilmon group may read; only root may\n"
"change the watch list or reload the configuration.\n"
"\n"
"USAGE:\n"
"  exfilctl [--socket PATH] status [--json]\n"
"  exfilctl [--socket PATH] alerts [--since DURATION] [--json]\n"
"  exfilctl [--socket PATH] show ID [--json]\n"
"  exfilctl [--socket PATH] ack ID [--json]\n"
"  exfilctl [--socket PATH] query SQL [--json]\n"
"  exfilctl [--socket PATH] watch add|rm PATH\n"
"  exfilctl [--socket PATH] watch list [--json]\n"
"  exfilctl [--socket PATH] reload\n"
"  exfilctl [--socket PATH] policy [--json]\n"
"  exfilctl [--socket PATH] allow --pid PID|--exe PATH --dest ADDR[:PORT]\n"
"                                 --for DURATION [--json]\n"
"  exfilctl [--socket PATH] allow rm ID\n"
"  exfilctl --help | --version\n"
"\n"
"COMMANDS:\n"
"  status              the daemon, its sensor, what is watched, what was lost\n"
"  alerts              alerts, most recently updated first\n"
"  show ID             the evidence behind one alert\n"
"  ack ID              mark an alert as seen by the security team (kept\n"
"                      with who and when; the first one stands)\n"
"  query SQL           a read-only SQL query over the alert store\n"
"  watch add|rm PATH   start or stop watching a file or directory\n"
"  watch list          the watched paths\n"
"  reload              re-read the daemon's configuration file; if it has an\n"
"                      error, print it (file:line) and keep the running one\n"
"  policy              prevent mode: the mode of each watched path, the\n"
"                      threshold, the internal networks, the overrides\n"
"  allow               let one process (--pid) or every process of one\n"
"                      executable (--exe) send to ADDR (any port, or PORT)\n"
"                      for DURATION (at most 30d), though prevent mode\n"
"                      would refuse it; root only\n"
"  allow rm ID         end override ID now; root only\n"
"\n"
"OPTIONS:\n"
"  -s, --socket PATH   the daemon's socket (default: $EXFILMON_SOCKET, else\n"
"                      " DEFAULT_SOCKET ")\n"
"      --since DURATION\n"
"                      only alerts updated in the last DURATION (30s, 5min,\n"
"                      1h, 2d)\n"
"      --pid PID, --exe PATH, --dest ADDR[:PORT], --for DURATION\n"
"                      the override of allow; IPv6 with a port as\n"
"                      [2001:db8::2]:443\n"
"      --json          print the reply as JSON, for scripts\n"
"  -h, --help          show this help\n"
"  -V, --version       show the version\n"
"\n"
"EXIT STATUS:\n"
"  0 success, 1 the daemon refused the request or it failed, 2 usage error\n"
"\n"
"EXAMPLES:\n"
"  exfilctl status                        # is the sensor losing events?\n"
"  exfilctl alerts --since 24h            # what happened today\n"
"  exfilctl show 12                       # who read what, and sent it where\n"
"  exfilctl show 12 --json | jq .files    # the same, for a script\n"
"  exfilctl query 'SELECT host, COUNT(*) FROM alerts GROUP BY host'\n"
"  sudo exfilctl watch add /srv/crm/customers.db\n"
"  exfilctl watch list\n"
"  sudo exfilctl reload                   # after editing exfilmon.conf\n"
"  exfilctl policy                        # which paths are protected\n"
"  sudo exfilctl allow --pid 4242 --dest 198.51.100.7:443 --for 1h\n";

static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("exfilctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'exfilctl --help'.\n", stderr);
	return EXIT_USAGE;
}

/*
 * Parse a command's options; its operands are then argv[optind..argc).
 * Returns -1 to go on, or the exit status (--help, a usage error).
 */
static int parse_cmd_opts(int argc, char **argv, unsigned int allowed)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "since", required_argument, NULL, 'S' },
		{ "pid", required_argument, NULL, 'P' },
		{ "exe", required_argument, NULL, 'E' },
		{ "dest", required_argument, NULL, 'D' },
		{ "for", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	/* 0, not 1: glibc then also resets its state from the last parse. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (!(allowed & OPT_JSON))
				return usage_error("%s: unknown option '--json'",
						   argv[0]);
			env.json = true;
			break;
		case 'S':
			if (!(allowed & OPT_SINCE))
				return usage_error("%s: unknown option '--since'",
						   argv[0]);
			env.since = optarg;
			break;
		case 'P':
		case 'E':
		case 'D':
		case 'F':
			if (!(allowed & OPT_ALLOW))
				return usage_error("%s: unknown option '%s'",
						   argv[0], argv[optind - 1]);
			*(c == 'P' ? &env.pid : c == 'E' ? &env.exe :
			  c == 'D' ? &env.dest : &env.duration) = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case ':':
			return usage_error("%s: option '%s' needs an argument",
					   argv[0], argv[optind - 1]);
		default:
			return usage_error("%s: unknown option '%s'", argv[0],
					   argv[optind - 1]);
		}
	}
	return -1;
}

static void explain_connect_error(int err)
{
	const char *hint = "";

	if (err == EACCES || err == EPERM)
		hint = " (you must be root or a member of the " READER_GROUP
		       " group)";
	else if (err == ENOENT || err == ECONNREFUSED)
		hint = " (is exfilmond running?)";
	fprintf(stderr, "exfilctl: cannot connect to %s: %s%s\n", env.socket,
		strerror(err), hint);
}

static void explain_recv_error(int err)
{
	switch (err) {
	case ETIMEDOUT:
		fprintf(stderr, "exfilctl: no reply from exfilmond on %s within %d s\n",
			env.socket, IPC_TIMEOUT_S);
		break;
	case ECONNRESET:
		fprintf(stderr, "exfilctl: exfilmond on %s closed the connection without a reply\n",
			env.socket);
		break;
	case EPROTO:
	case EMSGSIZE:
	case EBADMSG:
		fprintf(stderr, "exfilctl: malformed reply from exfilmond on %s: %s\n",
			env.socket, strerror(err));
		break;
	default:
		fprintf(stderr, "exfilctl: failed to read the reply from %s: %s\n",
			env.socket, strerror(err));
	}
}

/* {"v": 1, "cmd": cmd}, or NULL on ENOMEM. */
static struct json_object *new_request(const char *cmd)
{
	struct json_object *req = json_object_new_object();

	if (!req)
		return NULL;
	if (json_object_object_add(req, "v", json_object_new_int(IPC_VERSION)) ||
	    json_object_object_add(req, "cmd", json_object_new_string(cmd))) {
		json_object_put(req);
		return NULL;
	}
	return req;
}

static int add_str(struct json_object *req, const char *key, const char *val)
{
	struct json_object *v = json_object_new_string(val);

	if (!v || json_object_object_add(req, key, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int add_int(struct json_object *req, const char *key, int64_t val)
{
	struct json_object *v = json_object_new_int64(val);

	if (!v || json_object_object_add(req, key, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Send req (consumed) and wait for the reply. Returns 0 with an ok reply
 * in *reply, or EXIT_FAIL after saying why.
 */
static int call(struct json_object *req, struct json_object **reply)
{
	struct json_object *ok;
	const char *error;
	char *safe;
	int fd = -1;
	int ret;

	*reply = NULL;
	if (!req) {
		fprintf(stderr, "exfilctl: failed to build the request: %s\n",
			strerror(ENOMEM));
		return EXIT_FAIL;
	}
	fd = ipc_connect(env.socket);
	if (fd < 0) {
		explain_connect_error(-fd);
		ret = EXIT_FAIL;
		goto cleanup;
	}
	ret = ipc_send(fd, req);
	if (ret) {
		fprintf(stderr, "exfilctl: failed to send the request to %s: %s\n",
			env.socket, strerror(-ret));
		ret = EXIT_FAIL;
		goto cleanup;
	}
	ret = ipc_recv(fd, reply);
	if (ret) {
		explain_recv_error(-ret);
		ret = EXIT_FAIL;
		goto cleanup;
	}
	ret = EXIT_FAIL;
	if (!json_object_object_get_ex(*reply, "ok", &ok) ||
	    !json_object_is_type(ok, json_type_boolean)) {
		fprintf(stderr, "exfilctl: malformed reply from exfilmond on %s: no boolean \"ok\"\n",
			env.socket);
		goto cleanup;
	}
	if (!json_object_get_boolean(ok)) {
		/* The message may quote the SQL or path we sent, or worse. */
		error = json_object_get_string(
			json_object_object_get(*reply, "error"));
		safe = ctl_escape(error ? error : "the daemon gave no reason");
		fprintf(stderr, "exfilctl: %s\n", safe ? safe : strerror(ENOMEM));
		free(safe);
		goto cleanup;
	}
	ret = 0;
cleanup:
	if (ret) {
		json_object_put(*reply);
		*reply = NULL;
	}
	if (fd >= 0)
		close(fd);
	json_object_put(req);
	return ret;
}

/* Print part of a reply as JSON or through a formatter. */
static int print_reply(struct json_object *part,
		       int (*human)(FILE *, struct json_object *))
{
	int ret;

	if (!part)
		ret = -EINVAL;
	else if (env.json)
		ret = ctl_print_json(stdout, part);
	else
		ret = human(stdout, part);
	if (ret == -EINVAL) {
		fprintf(stderr, "exfilctl: malformed reply from exfilmond on %s: unexpected shape\n",
			env.socket);
		return EXIT_FAIL;
	}
	if (ret) {
		fprintf(stderr, "exfilctl: failed to print the reply: %s\n",
			strerror(-ret));
		return EXIT_FAIL;
	}
	return 0;
}

static int no_operands(int argc, char **argv)
{
	if (optind < argc)
		return usage_error("%s: unexpected argument '%s'", argv[0],
				   argv[optind]);
	return -1;
}

/* A command without operands that asks cmd and prints the reply. */
static int ask_and_print(int argc, char **argv, const char *cmd,
			 int (*human)(FILE *, struct json_object *))
{
	struct json_object *reply;
	int ret;

	ret = parse_cmd_opts(argc, argv, OPT_JSON);
	if (ret < 0)
		ret = no_operands(argc, argv);
	if (ret >= 0)
		return ret;
	ret = call(new_request(cmd), &reply);
	if (ret)
		return ret;
	ret = print_reply(reply, human);
	json_object_put(reply);
	return ret;
}

static int cmd_status(int argc, char **argv)
{
	return ask_and_print(argc, argv, "status", ctl_print_status);
}

static int cmd_alerts(int argc, char **argv)
{
	struct json_object *req;
	struct json_object *reply;
	const char *why = "";
	uint64_t ns;
	int ret;

	ret = parse_cmd_opts(argc, argv, OPT_JSON | OPT_SINCE);
	if (ret < 0)
		ret = no_operands(argc, argv);
	if (ret >= 0)
		return ret;
	if (env.since && parse_duration(env.since, &ns, &why))
		return usage_error("alerts: invalid --since '%s': %s", env.since,
				   why);

	req = new_request("alerts");
	/*
	 * A window relative to the daemon's clock, in whole seconds rounded
	 * up, so "--since 500ms" still asks for something.
	 */
	if (req && env.since &&
	    add_int(req, "since_s", (int64_t)(ns / 1000000000ULL +
					      !!(ns % 1000000000ULL)))) {
		json_object_put(req);
		req = NULL;
	}
	ret = call(req, &reply);
	if (ret)
		return ret;
	ret = print_reply(json_object_object_get(reply, "alerts"),
			  ctl_print_alerts);
	json_object_put(reply);
	return ret;
}

/* The alert ID argument of show and ack; 0, or a usage error's status. */
static int alert_id_arg(const char *cmd, int argc, char **argv,
			long long *id)
{
	char *end;

	if (argc - optind != 1)
		return usage_error("%s: expected one alert ID, got %d "
				   "arguments", cmd, argc - optind);
	errno = 0;
	*id = strtoll(argv[optind], &end, 10);
	if (errno || end == argv[optind] || *end || *id <= 0)
		return usage_error("%s: invalid alert ID '%s': expected a "
				   "positive integer", cmd, argv[optind]);
	return 0;
}

static int print_ack(FILE *out, struct json_object *reply)
{
	struct json_object *id, *acked;

	if (!json_object_object_get_ex(reply, "id", &id) ||
	    !json_object_object_get_ex(reply, "acked", &acked))
		return -EINVAL;
	fprintf(out, "alert %lld acknowledged at %s\n",
		(long long)json_object_get_int64(id),
		json_object_get_string(acked));
	return ferror(out) ? -EIO : 0;
}

/*
 * show and ack: one alert ID, one request; the reply (or its member part)
 * printed by human, or as JSON.
 */
static int alert_cmd(int argc, char **argv, const char *cmd,
		     const char *part, int (*human)(FILE *, struct json_object *))
{
	struct json_object *req, *reply;
	long long id = 0;
	int ret;

	ret = parse_cmd_opts(argc, argv, OPT_JSON);
	if (ret >= 0)
		return ret;
	ret = alert_id_arg(cmd, argc, argv, &id);
	if (ret)
		return ret;
	req = new_request(cmd);
	if (req && add_int(req, "id", id)) {
		json_object_put(req);
		req = NULL;
	}
	ret = call(req, &reply);
	if (ret)
		return ret;
	ret = print_reply(part ? json_object_object_get(reply, part) : reply,
			  human);
	json_object_put(reply);
	return ret;
}

static int cmd_show(int argc, char **argv)
{
	return alert_cmd(argc, argv, "show", "alert", ctl_print_alert);
}

static int cmd_ack(int argc, char **argv)
{
	return alert_cmd(argc, argv, "ack", NULL, print_ack);
}

static int cmd_query(int argc, char **argv)
{
	struct json_object *req;
	struct json_object *reply;
	int ret;

	ret = parse_cmd_opts(argc, argv, OPT_JSON);
	if (ret >= 0)
		return ret;
	if (argc - optind != 1)
		return usage_error("query: expected the SQL as one argument (quote it), got %d",
				   argc - optind);

	req = new_request("query");
	if (req && add_str(req, "sql", argv[optind])) {
		json_object_put(req);
		req = NULL;
	}
	ret = call(req, &reply);
	if (ret)
		return ret;
	ret = print_reply(reply, ctl_print_query);
	json_object_put(reply);
	return ret;
}

/*
 * The daemon watches absolute paths; make PATH mean what the user sees
 * from their working directory. A file that is gone can still be
 * unwatched: its directory is resolved instead.
 */
static char *absolute_path(const char *op, const char *path)
{
	char *abs = realpath(path, NULL);
	char *dir_copy = NULL;
	char *base_copy = NULL;
	char *dir = NULL, *shown;
	const char *base;
	int err = errno;

	if (abs)
		return abs;
	if (!strcmp(op, "rm") && err == ENOENT) {
		dir_copy = strdup(path);
		base_copy = strdup(path);
		if (!dir_copy || !base_copy) {
			err = ENOMEM;
			goto out_err;
		}
		dir = realpath(dirname(dir_copy), NULL);
		base = basename(base_copy);
		if (dir && strcmp(base, ".") && strcmp(base, "..") &&
		    strcmp(base, "/") &&
		    asprintf(&abs, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "",
			     base) < 0)
			abs = NULL;
		if (!abs && path[0] == '/')
			abs = strdup(path);
		if (abs)
			goto cleanup;
	}
out_err:
	shown = ctl_escape(path);
	fprintf(stderr, "exfilctl: watch %s: %s: %s\n", op,
		shown ? shown : "", strerror(err));
	free(shown);
cleanup:
	free(dir);
	free(dir_copy);
	free(base_copy);
	return abs;
}

static int cmd_watch(int argc, char **argv)
{
	struct json_object *req = NULL;
	struct json_object *reply;
	const char *op;
	char *path;
	int ret;

	ret = parse_cmd_opts(argc, argv, OPT_JSON);
	if (ret >= 0)
		return ret;
	if (optind >= argc)
		return usage_error("watch: expected add, rm or list");
	op = argv[optind++];

	if (!strcmp(op, "list")) {
		ret = no_operands(argc, argv);
		if (ret >= 0)
			return ret;
		req = new_request("watch");
		if (req && add_str(req, "op", "list")) {
			json_object_put(req);
			req = NULL;
		}
		ret = call(req, &reply);
		if (ret)
			return ret;
		ret = print_reply(json_object_object_get(reply, "watched"),
				  ctl_print_watched);
		json_object_put(reply);
		return ret;
	}

	if (strcmp(op, "add") && strcmp(op, "rm"))
		return usage_error("watch: unknown operation '%s': expected add, rm or list",
				   op);
	if (env.json)
		return usage_error("watch %s: unknown option '--json'", op);
	if (argc - optind != 1)
		return usage_error("watch %s: expected one PATH, got %d arguments",
				   op, argc - optind);
	path = absolute_path(op, argv[optind]);
	if (!path)
		return EXIT_FAIL;

	req = new_request("watch");
	if (req && (add_str(req, "op", op) || add_str(req, "path", path))) {
		json_object_put(req);
		req = NULL;
	}
	free(path);
	ret = call(req, &reply);
	if (ret)
		return ret;
	ret = ctl_print_watch_change(stdout, op, reply);
	if (ret) {
		fprintf(stderr, "exfilctl: failed to print the reply: %s\n",
			strerror(-ret));
		ret = EXIT_FAIL;
	}
	json_object_put(reply);
	return ret;
}

static int cmd_reload(int argc, char **argv)
{
	struct json_object *reply, *v;
	int ret;

	ret = parse_cmd_opts(argc, argv, 0);
	if (ret < 0)
		ret = no_operands(argc, argv);
	if (ret >= 0)
		return ret;
	ret = call(new_request("reload"), &reply);
	if (ret)
		return ret;
	if (json_object_object_get_ex(reply, "config", &v))
		printf("reloaded %s\n", json_object_get_string(v));
	json_object_put(reply);
	return 0;
}

static int cmd_policy(int argc, char **argv)
{
	return ask_and_print(argc, argv, "policy", ctl_print_policy);
}

/* allow rm ID */
static int allow_rm(int argc, char **argv)
{
	struct json_object *req, *reply;
	long long id;
	char *end;
	int ret;

	if (env.pid || env.exe || env.dest || env.duration)
		return usage_error("allow rm: takes only the override ID");
	if (argc - optind != 1)
		return usage_error("allow rm: expected one override ID, got %d "
				   "arguments", argc - optind);
	errno = 0;
	id = strtoll(argv[optind], &end, 10);
	if (errno || end == argv[optind] || *end || id <= 0)
		return usage_error("allow rm: invalid override ID '%s': "
				   "expected a positive integer", argv[optind]);
	req = new_request("allow");
	if (req && (add_str(req, "op", "rm") || add_int(req, "id", id))) {
		json_object_put(req);
		req = NULL;
	}
	ret = call(req, &reply);
	if (ret)
		return ret;
	ret = print_reply(json_object_object_get(reply, "override"),
			  ctl_print_revoked);
	json_object_put(reply);
	return ret;
}

/*
 * allow --pid PID|--exe PATH --dest ADDR[:PORT] --for DURATION. The values
 * are checked here for a usage error, and again by the daemon.
 */
static int cmd_allow(int argc, char **argv)
{
	struct json_object *req, *reply;
	struct exfilmon_dest dest;
	const char *why;
	char *exe = NULL, *end, *shown;
	long long pid = 0;
	uint64_t ns;
	int ret;

	ret = parse_cmd_opts(argc, argv, OPT_JSON | OPT_ALLOW);
	if (ret >= 0)
		return ret;
	if (optind < argc && !strcmp(argv[optind], "rm")) {
		optind++;
		return allow_rm(argc, argv);
	}
	ret = no_operands(argc, argv);
	if (ret >= 0)
		return ret;
	if (!env.pid == !env.exe)
		return usage_error("allow: give --pid PID or --exe PATH (one "
				   "of them)");
	if (env.pid) {
		errno = 0;
		pid = strtoll(env.pid, &end, 10);
		if (errno || end == env.pid || *end || pid <= 0 ||
		    pid > INT32_MAX)
			return usage_error("allow: invalid --pid '%s': expected "
					   "a positive process id", env.pid);
	}
	if (!env.dest)
		return usage_error("allow: missing --dest ADDR[:PORT]");
	if (allow_parse_dest(env.dest, &dest, &why))
		return usage_error("allow: invalid --dest '%s': %s", env.dest,
				   why);
	if (!env.duration)
		return usage_error("allow: missing --for DURATION (at most "
				   "30d)");
	if (allow_parse_for(env.duration, &ns, &why))
		return usage_error("allow: invalid --for '%s': %s",
				   env.duration, why);
	if (env.exe) {
		/* the daemon opens it: make it mean what the user sees */
		exe = realpath(env.exe, NULL);
		if (!exe) {
			ret = errno;
			shown = ctl_escape(env.exe);
			fprintf(stderr, "exfilctl: allow: --exe %s: %s\n",
				shown ? shown : "", strerror(ret));
			free(shown);
			return EXIT_FAIL;
		}
	}
	req = new_request("allow");
	if (req && (add_str(req, "op", "add") ||
		    (env.pid && add_int(req, "pid", pid)) ||
		    (exe && add_str(req, "exe", exe)) ||
		    add_str(req, "dest", env.dest) ||
		    add_str(req, "for", env.duration))) {
		json_object_put(req);
		req = NULL;
	}
	free(exe);
	ret = call(req, &reply);
	if (ret)
		return ret;
	ret = print_reply(json_object_object_get(reply, "override"),
			  ctl_print_override);
	json_object_put(reply);
	return ret;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "status", cmd_status },
	{ "alerts", cmd_alerts },
	{ "show", cmd_show },
	{ "query", cmd_query },
	{ "ack", cmd_ack },
	{ "watch", cmd_watch },
	{ "reload", cmd_reload },
	{ "policy", cmd_policy },
	{ "allow", cmd_allow },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	const char *sock = getenv("EXFILMON_SOCKET");
	int ret = -1;
	size_t i;
	int c;

	/* Printable UTF-8 names are shown as is only to a UTF-8 terminal. */
	setlocale(LC_CTYPE, "");
	ctl_set_utf8(!strcmp(nl_langinfo(CODESET), "UTF-8"));
	env.socket = sock && *sock ? sock : DEFAULT_SOCKET;

	/* '+': stop at the command, whose options are its own. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:s:hV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!*optarg)
				return usage_error("--socket: empty path");
			env.socket = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			ret = 0;
			goto out_flush;
		case 'V':
			printf("exfilctl %s (protocol %d)\n", EXFILMON_VERSION,
			       IPC_VERSION);
			ret = 0;
			goto out_flush;
		case ':':
			return usage_error("option '%s' needs an argument",
					   argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("no command given");

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[optind], commands[i].name)) {
			ret = commands[i].run(argc - optind, argv + optind);
			break;
		}
	}
	if (ret < 0)
		return usage_error("unknown command '%s'", argv[optind]);

out_flush:
	/* A full disk or a closed stdout must not pass for success. */
	if ((fflush(stdout) || ferror(stdout)) && !ret) {
		fprintf(stderr, "exfilctl: failed to write the output: %s\n",
			strerror(errno));
		ret = EXIT_FAIL;
	}
	return ret;
}
