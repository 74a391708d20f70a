// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilmond's configuration: an INI file read with libinih, checked key by
 * key against one table. Anything unexpected (an unknown key, a key set
 * twice, a relative path, a stray line) rejects the whole file with its
 * line, key, value and reason, so a typo never leaves the monitor running
 * with a default the administrator meant to change.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "exfilmon_abi.h"
#include "config.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define DEFAULT_STATE_DIR	"/var/lib/exfilmon"
#define DEFAULT_SOCKET		"/run/exfilmon/exfilmon.sock"
#define DEFAULT_GROUP		"exfilmon"
#define JSON_LOG_NAME		"alerts.json"

#define TABLE_MIN		64
#define TABLE_MAX		4194304
#define RING_KIB_MIN		64
#define RING_KIB_MAX		1048576
#define GROUP_NAME_MAX		32
#define WINDOW_MAX_NS		(365ULL * 86400 * 1000000000)

/* Longest echo of one user-supplied string in an error message. */
#define ECHO_MAX		160

struct load_ctx;

#define KEY_REPEATABLE	0x1	/* each line adds to the value */
#define KEY_EMPTY_OK	0x2	/* "key =" is a value of its own */

struct key_spec {
	const char *section;
	const char *name;
	int (*set)(struct load_ctx *ctx, const struct key_spec *k,
		   const char *value);
	size_t offset;		/* of the field in struct config */
	unsigned int flags;	/* KEY_* */
};

static int set_watch(struct load_ctx *ctx, const struct key_spec *k,
		     const char *value);
static int set_size(struct load_ctx *ctx, const struct key_spec *k,
		    const char *value);
static int set_duration(struct load_ctx *ctx, const struct key_spec *k,
			const char *value);
static int set_networks(struct load_ctx *ctx, const struct key_spec *k,
			const char *value);
static int set_path(struct load_ctx *ctx, const struct key_spec *k,
		    const char *value);
static int set_socket(struct load_ctx *ctx, const struct key_spec *k,
		      const char *value);
static int set_group(struct load_ctx *ctx, const struct key_spec *k,
		     const char *value);
static int set_table(struct load_ctx *ctx, const struct key_spec *k,
		     const char *value);
static int set_ring(struct load_ctx *ctx, const struct key_spec *k,
		    const char *value);
static int set_opaque(struct load_ctx *ctx, const struct key_spec *k,
		      const char *value);
static int set_mode(struct load_ctx *ctx, const struct key_spec *k,
		    const char *value);
static int set_policy_path(struct load_ctx *ctx, const struct key_spec *k,
			   const char *value);

#define KEY(sec, key, setter, field, flags) \
	{ sec, key, setter, offsetof(struct config, field), flags }

static const struct key_spec keys[] = {
	KEY("watch", "path", set_watch, watch, KEY_REPEATABLE),
	KEY("correlation", "read_threshold", set_size, read_threshold, 0),
	KEY("correlation", "send_threshold", set_size, send_threshold, 0),
	KEY("correlation", "window", set_duration, window_ns, 0),
	KEY("network", "internal", set_networks, internal, KEY_REPEATABLE),
	KEY("flow", "opaque", set_opaque, opaque,
	    KEY_REPEATABLE | KEY_EMPTY_OK),
	KEY("flow", "stream_idle", set_duration, stream_idle_ns, 0),
	KEY("daemon", "state_dir", set_path, state_dir, 0),
	KEY("daemon", "socket", set_socket, socket, 0),
	KEY("daemon", "group", set_group, group, 0),
	KEY("daemon", "json_log", set_path, json_log, 0),
	KEY("sensor", "max_procs", set_table, max_procs, 0),
	KEY("sensor", "max_reads", set_table, max_reads, 0),
	KEY("sensor", "max_sends", set_table, max_sends, 0),
	KEY("sensor", "max_watch", set_table, max_watch, 0),
	KEY("sensor", "max_streams", set_table, max_streams, 0),
	KEY("sensor", "max_flows", set_table, max_flows, 0),
	KEY("sensor", "ring_kib", set_ring, ring_kib, 0),
	KEY("policy", "mode", set_mode, prevent, 0),
	KEY("policy", "prevent", set_policy_path, policy_path, KEY_REPEATABLE),
	KEY("policy", "detect", set_policy_path, policy_path, KEY_REPEATABLE),
};

static const char *const sections[] = {
	"watch", "correlation", "network", "flow", "daemon", "sensor",
	"policy",
};

/*
 * Services that relay what every process hands them, so that once tainted
 * they would taint everything (docs/flow.md): loggers, message buses,
 * display and sound servers, the service manager. Paths as Debian ships
 * them; on a usrmerge system /lib/systemd/... is the same inode.
 */
static const char *const default_opaque[] = {
	"/usr/lib/systemd/systemd-journald",
	"/usr/sbin/rsyslogd",
	"/usr/bin/dbus-daemon",
	"/usr/bin/dbus-broker",
	"/usr/lib/xorg/Xorg",
	"/usr/bin/Xwayland",
	"/usr/lib/systemd/systemd",
	"/usr/lib/systemd/systemd-logind",
	"/usr/bin/gnome-shell",
	"/usr/bin/pipewire",
	"/usr/bin/pulseaudio",
};
_Static_assert(ARRAY_SIZE(default_opaque) <= CONFIG_MAX_OPAQUE,
	       "the default opaque list must fit struct config");

struct load_ctx {
	struct config *cfg;
	char name[ECHO_MAX + 4];	/* escaped file name */

	/* The source: a file, or the rest of an in-memory text. */
	FILE *file;
	const char *text;
	char *line;			/* getline() buffer */
	size_t line_cap;
	int lineno;			/* of the line inih is handling */

	int first_line[ARRAY_SIZE(keys)];	/* 0: not set yet */
	const char *key;		/* being handled, for messages */
	const char *value;

	int err;			/* first error, 0 if none */
	char *errbuf;
	size_t errlen;
};

/*
 * Copy s into out with every byte outside printable ASCII (and the
 * backslash) as \xNN, so that an error message echoing a hostile config
 * line cannot drive the administrator's terminal. Strings longer than
 * outlen - 4 (outlen >= 4) are cut and end in "...".
 */
static void escape(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0, limit = outlen - 4;	/* room for "..." and NUL */

	for (; *s; s++) {
		unsigned char c = *s;
		bool plain = c >= 0x20 && c < 0x7f && c != '\\';

		if (n + (plain ? 1 : 4) > limit) {
			memcpy(out + n, "...", 3);
			n += 3;
			break;
		}
		if (plain) {
			out[n++] = c;
		} else {
			out[n++] = '\\';
			out[n++] = 'x';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 0xf];
		}
	}
	out[n] = '\0';
}

static void set_error(struct load_ctx *ctx, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The first error wins: later ones are usually consequences of it. */
static void set_error(struct load_ctx *ctx, int err, const char *fmt, ...)
{
	va_list ap;

	if (ctx->err)
		return;
	ctx->err = err;
	if (!ctx->errbuf || !ctx->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ctx->errbuf, ctx->errlen, fmt, ap);
	va_end(ap);
}

/* "<file>:<line>: <key> = <value>: <reason>" */
static int key_error(struct load_ctx *ctx, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int key_error(struct load_ctx *ctx, int err, const char *fmt, ...)
{
	char key[ECHO_MAX + 4], value[ECHO_MAX + 4], reason[ECHO_MAX * 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	escape(ctx->key, key, sizeof(key));
	escape(ctx->value, value, sizeof(value));
	set_error(ctx, err, "%s:%d: %s = %s: %s", ctx->name, ctx->lineno, key,
		  value, reason);
	return err;
}

/* "<file>:<line>: syntax error: <reason>" */
static int syntax_error(struct load_ctx *ctx, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int syntax_error(struct load_ctx *ctx, int line, const char *fmt, ...)
{
	char reason[ECHO_MAX * 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	set_error(ctx, -EINVAL, "%s:%d: syntax error: %s", ctx->name, line,
		  reason);
	return -EINVAL;
}

/* "<file>: <strerror>" */
static int file_error(struct load_ctx *ctx, int err)
{
	set_error(ctx, err, "%s: %s", ctx->name, strerror(-err));
	return err;
}

static void *field(struct load_ctx *ctx, const struct key_spec *k)
{
	return (char *)ctx->cfg + k->offset;
}

static int replace_string(struct load_ctx *ctx, const struct key_spec *k,
			  const char *value)
{
	char **slot = field(ctx, k);
	char *copy;

	copy = strdup(value);
	if (!copy)
		return key_error(ctx, -ENOMEM, "%s", strerror(ENOMEM));
	free(*slot);
	*slot = copy;
	return 0;
}

static int set_watch(struct load_ctx *ctx, const struct key_spec *k,
		     const char *value)
{
	struct config *cfg = ctx->cfg;
	size_t i;

	if (value[0] != '/')
		return key_error(ctx, -EINVAL, "must be an absolute path");
	for (i = 0; i < cfg->nr_watch; i++) {
		if (!strcmp(cfg->watch[i], value))
			return key_error(ctx, -EINVAL,
					 "already watched at line %d",
					 cfg->watch_line[i]);
	}
	if (cfg->nr_watch == CONFIG_MAX_WATCH)
		return key_error(ctx, -EINVAL,
				 "too many watch paths (at most %d)",
				 CONFIG_MAX_WATCH);
	cfg->watch[cfg->nr_watch] = strdup(value);
	if (!cfg->watch[cfg->nr_watch])
		return key_error(ctx, -ENOMEM, "%s", strerror(ENOMEM));
	cfg->watch_line[cfg->nr_watch] = ctx->lineno;
	cfg->nr_watch++;
	return 0;
}

static int set_size(struct load_ctx *ctx, const struct key_spec *k,
		    const char *value)
{
	uint64_t *slot = field(ctx, k);
	const char *why;
	uint64_t v;

	/* -ERANGE is still bad content to the caller: one errno for both. */
	if (parse_size(value, &v, &why))
		return key_error(ctx, -EINVAL, "%s", why);
	if (!v)
		return key_error(ctx, -EINVAL, "must be greater than 0");
	*slot = v;
	return 0;
}

static int set_duration(struct load_ctx *ctx, const struct key_spec *k,
			const char *value)
{
	uint64_t *slot = field(ctx, k);
	const char *why;
	uint64_t v;

	if (parse_duration(value, &v, &why))
		return key_error(ctx, -EINVAL, "%s", why);
	/*
	 * A zero window would never see a read and a send together; a zero
	 * stream_idle would delete streams between a write and its read.
	 */
	if (!v)
		return key_error(ctx, -EINVAL, "must be greater than 0");
	/* Both are added to timestamps: keep far from 2^64. */
	if (v > WINDOW_MAX_NS)
		return key_error(ctx, -EINVAL, "must be at most 365d");
	*slot = v;
	return 0;
}

/*
 * Calls add() on each entry of a comma-separated list, trimmed of white
 * space and echoed escaped for messages. add() owns the entry it is given,
 * to keep or to free. An empty entry is an error, not a skip: "a,,b" is a
 * typo more often than a wish.
 */
static int for_each_list_entry(struct load_ctx *ctx, const char *value,
			       int (*add)(struct load_ctx *ctx, char *item,
					  const char *entry))
{
	char entry[ECHO_MAX + 4], *item;
	const char *p = value, *end;
	int ret;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		end = strchrnul(p, ',');
		while (end > p && isspace((unsigned char)end[-1]))
			end--;
		if (end == p)
			return key_error(ctx, -EINVAL, "empty entry in the list");

		item = strndup(p, end - p);
		if (!item)
			return key_error(ctx, -ENOMEM, "%s", strerror(ENOMEM));
		escape(item, entry, sizeof(entry));
		ret = add(ctx, item, entry);
		if (ret)
			return ret;

		p = strchrnul(end, ',');
		if (!*p)
			return 0;
		p++;
	}
}

static int add_network(struct load_ctx *ctx, char *item, const char *entry)
{
	struct config *cfg = ctx->cfg;
	struct cidr net;
	const char *why;
	int ret;

	ret = parse_cidr(item, &net, &why);
	free(item);
	if (ret)
		return key_error(ctx, -EINVAL, "%s: %s", entry, why);
	if (cfg->nr_internal == CONFIG_MAX_NETS)
		return key_error(ctx, -EINVAL,
				 "too many networks (at most %d, loopback included)",
				 CONFIG_MAX_NETS);
	cfg->internal[cfg->nr_internal++] = net;
	return 0;
}

static int set_networks(struct load_ctx *ctx, const struct key_spec *k,
			const char *value)
{
	return for_each_list_entry(ctx, value, add_network);
}

static void opaque_clear(struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nr_opaque; i++) {
		free(cfg->opaque[i]);
		cfg->opaque[i] = NULL;
	}
	cfg->nr_opaque = 0;
}

static int add_opaque(struct load_ctx *ctx, char *item, const char *entry)
{
	struct config *cfg = ctx->cfg;
	size_t i;

	/* the sensor matches an inode: a name relative to what? */
	if (item[0] != '/') {
		free(item);
		return key_error(ctx, -EINVAL,
				 "%s: must be an absolute path", entry);
	}
	for (i = 0; i < cfg->nr_opaque; i++) {
		if (!strcmp(cfg->opaque[i], item)) {
			free(item);
			return key_error(ctx, -EINVAL,
					 "%s: already listed at line %d",
					 entry, cfg->opaque_line[i]);
		}
	}
	if (cfg->nr_opaque == CONFIG_MAX_OPAQUE) {
		free(item);
		return key_error(ctx, -EINVAL,
				 "too many opaque executables (at most %d)",
				 CONFIG_MAX_OPAQUE);
	}
	cfg->opaque_line[cfg->nr_opaque] = ctx->lineno;
	cfg->opaque[cfg->nr_opaque++] = item;
	return 0;
}

/*
 * The first opaque line replaces the defaults, and every line adds its
 * entries: a list longer than one line fits, and "opaque =" alone means
 * none.
 */
static int set_opaque(struct load_ctx *ctx, const struct key_spec *k,
		      const char *value)
{
	if (!ctx->first_line[k - keys])
		opaque_clear(ctx->cfg);
	if (!*value)
		return 0;
	return for_each_list_entry(ctx, value, add_opaque);
}

static int set_mode(struct load_ctx *ctx, const struct key_spec *k,
		    const char *value)
{
	int *slot = field(ctx, k);

	if (!strcmp(value, "detect"))
		*slot = 0;
	else if (!strcmp(value, "prevent"))
		*slot = 1;
	else
		return key_error(ctx, -EINVAL, "must be detect or prevent");
	ctx->cfg->mode_line = ctx->lineno;
	return 0;
}

/*
 * prevent = PATH, detect = PATH: one watched path's own mode. Whether PATH
 * is a [watch] path is known only once the whole file is read (the
 * [watch] section may come later): check_policy_paths(). A path given a
 * mode twice, the same or the other, is a contradiction or a typo.
 */
static int set_policy_path(struct load_ctx *ctx, const struct key_spec *k,
			   const char *value)
{
	struct config *cfg = ctx->cfg;
	size_t i;

	if (value[0] != '/')
		return key_error(ctx, -EINVAL, "must be an absolute path");
	for (i = 0; i < cfg->nr_policy; i++) {
		if (!strcmp(cfg->policy_path[i], value))
			return key_error(ctx, -EINVAL,
					 "already given a mode at line %d",
					 cfg->policy_line[i]);
	}
	/* each names a distinct [watch] path, so none can be left over */
	if (cfg->nr_policy == CONFIG_MAX_WATCH)
		return key_error(ctx, -EINVAL,
				 "too many per-path modes (at most %d)",
				 CONFIG_MAX_WATCH);
	cfg->policy_path[cfg->nr_policy] = strdup(value);
	if (!cfg->policy_path[cfg->nr_policy])
		return key_error(ctx, -ENOMEM, "%s", strerror(ENOMEM));
	cfg->policy_prevent[cfg->nr_policy] = !strcmp(k->name, "prevent");
	cfg->policy_line[cfg->nr_policy] = ctx->lineno;
	cfg->nr_policy++;
	return 0;
}

/*
 * Every per-path mode must name a [watch] path exactly as written there:
 * a mode for a path nobody watches would silently do nothing, and the
 * administrator who wrote it believes that path is protected.
 */
static int check_policy_paths(struct load_ctx *ctx)
{
	struct config *cfg = ctx->cfg;
	size_t i, j;

	for (i = 0; i < cfg->nr_policy; i++) {
		for (j = 0; j < cfg->nr_watch; j++)
			if (!strcmp(cfg->policy_path[i], cfg->watch[j]))
				break;
		if (j < cfg->nr_watch)
			continue;
		ctx->lineno = cfg->policy_line[i];
		ctx->key = cfg->policy_prevent[i] ? "prevent" : "detect";
		ctx->value = cfg->policy_path[i];
		return key_error(ctx, -EINVAL, "not a [watch] path");
	}
	return 0;
}

int config_watch_mode(const struct config *cfg, const char *watch_path,
		      int *line)
{
	size_t i;

	for (i = 0; i < cfg->nr_policy; i++) {
		if (!strcmp(cfg->policy_path[i], watch_path)) {
			if (line)
				*line = cfg->policy_line[i];
			return cfg->policy_prevent[i];
		}
	}
	if (line)
		*line = 0;
	return cfg->prevent;
}

int config_watch_prevents(const struct config *cfg, const char *watch_path)
{
	return config_watch_mode(cfg, watch_path, NULL);
}

static int set_path(struct load_ctx *ctx, const struct key_spec *k,
		    const char *value)
{
	/* Relative to what? The daemon's working directory is an accident. */
	if (value[0] != '/')
		return key_error(ctx, -EINVAL, "must be an absolute path");
	return replace_string(ctx, k, value);
}

static int set_socket(struct load_ctx *ctx, const struct key_spec *k,
		      const char *value)
{
	const size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

	if (value[0] != '/')
		return key_error(ctx, -EINVAL, "must be an absolute path");
	if (strlen(value) > max)
		return key_error(ctx, -EINVAL,
				 "longer than %zu bytes, the limit for a Unix socket path",
				 max);
	return replace_string(ctx, k, value);
}

static int set_group(struct load_ctx *ctx, const struct key_spec *k,
		     const char *value)
{
	const char *p;

	/* The portable name set of POSIX, as useradd and groupadd accept. */
	if (value[0] == '-' || strlen(value) > GROUP_NAME_MAX)
		goto invalid;
	for (p = value; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			goto invalid;
	}
	return replace_string(ctx, k, value);

invalid:
	return key_error(ctx, -EINVAL,
			 "not a valid group name (at most %d letters, digits, '.', '_' or '-')",
			 GROUP_NAME_MAX);
}

/* A plain decimal count: table sizes are entries, not bytes. */
static bool parse_count(const char *s, uint32_t min, uint32_t max,
			uint32_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
		v = v * 10 + (*s - '0');
		if (v > max)
			return false;
	}
	if (v < min)
		return false;
	*out = v;
	return true;
}

static int set_table(struct load_ctx *ctx, const struct key_spec *k,
		     const char *value)
{
	uint32_t *slot = field(ctx, k);

	if (!parse_count(value, TABLE_MIN, TABLE_MAX, slot))
		return key_error(ctx, -EINVAL,
				 "must be a whole number between %d and %d",
				 TABLE_MIN, TABLE_MAX);
	return 0;
}

static int set_ring(struct load_ctx *ctx, const struct key_spec *k,
		    const char *value)
{
	uint32_t *slot = field(ctx, k);
	uint32_t v;

	/* BPF_MAP_TYPE_RINGBUF wants a power-of-two number of pages. */
	if (!parse_count(value, RING_KIB_MIN, RING_KIB_MAX, &v) ||
	    (v & (v - 1)))
		return key_error(ctx, -EINVAL,
				 "must be a power of two between %d and %d",
				 RING_KIB_MIN, RING_KIB_MAX);
	*slot = v;
	return 0;
}

/* inih's rule: ';' starts a comment only after whitespace. */
static const char *find_chars_or_comment(const char *s, const char *chars)
{
	bool was_space = false;

	while (*s && !strchr(chars, *s) && !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

/* "watch, correlation, ... or sensor", from the table */
static const char *section_list(void)
{
	static char list[128];
	size_t i, n = 0;

	if (list[0])
		return list;
	for (i = 0; i < ARRAY_SIZE(sections); i++)
		n += snprintf(list + n, sizeof(list) - n, "%s%s",
			      !i ? "" : i + 1 < ARRAY_SIZE(sections) ? ", " :
			      " or ", sections[i]);
	return list;
}

/*
 * inih reports a malformed line only by its number; look at each line
 * first so the message can say what is wrong with it. Section headers are
 * checked here because inih does not call the handler for them, so an
 * unknown empty section would otherwise pass unnoticed.
 */
static int check_line(struct load_ctx *ctx, const char *s)
{
	char name[ECHO_MAX + 4], *raw;
	const char *end, *p;
	size_t i, n;

	if (!*s || *s == ';' || *s == '#')
		return 0;

	if (*s != '[') {
		end = find_chars_or_comment(s, "=:");
		if (*end != '=')
			return syntax_error(ctx, ctx->lineno,
					    "expected \"key = value\", \"[section]\" or a comment");
		if (end == s)
			return syntax_error(ctx, ctx->lineno,
					    "missing key before '='");
		return 0;
	}

	end = find_chars_or_comment(s + 1, "]");
	if (*end != ']')
		return syntax_error(ctx, ctx->lineno,
				    "section header without closing ']'");
	for (p = end + 1; isspace((unsigned char)*p); p++)
		;
	if (*p && *p != ';')
		return syntax_error(ctx, ctx->lineno,
				    "text after section header");

	n = end - (s + 1);
	for (i = 0; i < ARRAY_SIZE(sections); i++) {
		if (strlen(sections[i]) == n && !strncmp(s + 1, sections[i], n))
			return 0;
	}

	raw = strndup(s + 1, n);
	if (!raw) {
		set_error(ctx, -ENOMEM, "%s:%d: %s", ctx->name, ctx->lineno,
			  strerror(ENOMEM));
		return -ENOMEM;
	}
	escape(raw, name, sizeof(name));
	free(raw);
	set_error(ctx, -EINVAL, "%s:%d: [%s]: unknown section (expected %s)",
		  ctx->name, ctx->lineno, name, section_list());
	return -EINVAL;
}

/* Next line without its '\n': 0, 1 at the end, or a negative errno. */
static int next_line(struct load_ctx *ctx, const char **line, size_t *len)
{
	const char *nl;
	ssize_t n;

	if (ctx->file) {
		errno = 0;
		n = getline(&ctx->line, &ctx->line_cap, ctx->file);
		if (n < 0) {
			if (ferror(ctx->file))
				return errno ? -errno : -EIO;
			if (errno == ENOMEM)
				return -ENOMEM;
			return 1;
		}
		if (n && ctx->line[n - 1] == '\n')
			n--;
		*line = ctx->line;
		*len = n;
		return 0;
	}

	if (!*ctx->text)
		return 1;
	nl = strchr(ctx->text, '\n');
	*line = ctx->text;
	*len = nl ? (size_t)(nl - ctx->text) : strlen(ctx->text);
	ctx->text += *len + (nl ? 1 : 0);
	return 0;
}

/*
 * inih's reader callback. Feeding inih one whole line per call keeps its
 * line numbers equal to ours. Leading whitespace is removed so that inih
 * never takes an indented key for the continuation of the previous value.
 */
static char *read_line(char *str, int num, void *stream)
{
	struct load_ctx *ctx = stream;
	const char *line;
	size_t len;
	int ret;

	if (ctx->err)
		return NULL;
	ret = next_line(ctx, &line, &len);
	if (ret) {
		if (ret < 0)
			file_error(ctx, ret);
		return NULL;
	}
	ctx->lineno++;

	if (ctx->lineno == 1 && len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) {
		line += 3;
		len -= 3;
	}
	if (memchr(line, '\0', len)) {
		syntax_error(ctx, ctx->lineno, "NUL byte in line");
		return NULL;
	}
	while (len && isspace((unsigned char)*line)) {
		line++;
		len--;
	}
	/*
	 * inih skips a byte-order mark at the start of the first line it is
	 * given, which is after the whitespace removed above: check_line()
	 * would then judge other text than inih parses ("  <BOM>[x]=1" is a
	 * key line to one and an unknown section to the other). A mark is
	 * one only as the file's first bytes: refuse any other.
	 */
	if (ctx->lineno == 1 && len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) {
		syntax_error(ctx, ctx->lineno,
			     "byte-order mark after the start of the file");
		return NULL;
	}
	/* inih would cut a longer line and read the rest as a new line. */
	if (len >= (size_t)num) {
		syntax_error(ctx, ctx->lineno, "line longer than %d characters",
			     num - 1);
		return NULL;
	}
	memcpy(str, line, len);
	str[len] = '\0';
	if (check_line(ctx, str))
		return NULL;
	return str;
}

static const struct key_spec *find_key(const char *section, const char *name,
				       size_t *idx)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		if (!strcmp(keys[i].section, section) &&
		    !strcmp(keys[i].name, name)) {
			*idx = i;
			return &keys[i];
		}
	}
	return NULL;
}

static int on_key(void *user, const char *section, const char *name,
		  const char *value)
{
	struct load_ctx *ctx = user;
	const struct key_spec *k;
	size_t i;

	if (ctx->err)
		return 0;
	ctx->key = name;
	ctx->value = value;

	if (!*section) {
		key_error(ctx, -EINVAL, "key outside any section");
		return 0;
	}
	k = find_key(section, name, &i);
	if (!k) {
		/* the section's name is the file's too: escaped like the key */
		char sec[ECHO_MAX + 4];

		escape(section, sec, sizeof(sec));
		key_error(ctx, -EINVAL, "unknown key in [%s]", sec);
		return 0;
	}
	if (!*value && !(k->flags & KEY_EMPTY_OK)) {
		key_error(ctx, -EINVAL, "empty value");
		return 0;
	}
	if (!(k->flags & KEY_REPEATABLE) && ctx->first_line[i]) {
		key_error(ctx, -EINVAL, "set twice, first at line %d",
			  ctx->first_line[i]);
		return 0;
	}
	if (k->set(ctx, k, value))
		return 0;
	if (!ctx->first_line[i])
		ctx->first_line[i] = ctx->lineno;
	return 1;
}

int config_follow_state_dir(struct config *cfg)
{
	const char *dir = cfg->state_dir;
	char *p;

	if (cfg->json_log_set)
		return 0;
	if (asprintf(&p, "%s%s%s", dir,
		     dir[strlen(dir) - 1] == '/' ? "" : "/", JSON_LOG_NAME) < 0)
		return -ENOMEM;
	free(cfg->json_log);
	cfg->json_log = p;
	return 0;
}

/* The JSON log follows state_dir unless it was set on its own. */
static int default_json_log(struct load_ctx *ctx)
{
	struct config *cfg = ctx->cfg;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		if (keys[i].offset == offsetof(struct config, json_log) &&
		    ctx->first_line[i])
			cfg->json_log_set = 1;
	}
	if (config_follow_state_dir(cfg)) {
		set_error(ctx, -ENOMEM, "%s: %s", ctx->name, strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

static int load(struct config *cfg, struct load_ctx *ctx, const char *name)
{
	int ret;

	ctx->cfg = cfg;
	ret = config_defaults(cfg);
	if (ret) {
		set_error(ctx, ret, "%s: %s", ctx->name, strerror(-ret));
		return ret;
	}
	cfg->path = strdup(name);
	if (!cfg->path) {
		set_error(ctx, -ENOMEM, "%s: %s", ctx->name, strerror(ENOMEM));
		goto out_free_config;
	}

	ret = ini_parse_stream(read_line, ctx, on_key, ctx);
	if (!ctx->err) {
		/* Not reached unless inih and check_line disagree. */
		if (ret > 0)
			syntax_error(ctx, ret,
				     "expected \"key = value\", \"[section]\" or a comment");
		else if (ret < 0)
			set_error(ctx, -ENOMEM, "%s: %s", ctx->name,
				  strerror(ENOMEM));
	}
	if (ctx->err)
		goto out_free_config;
	if (check_policy_paths(ctx))
		goto out_free_config;
	if (default_json_log(ctx))
		goto out_free_config;
	return 0;

out_free_config:
	config_free(cfg);
	return ctx->err;
}

static void init_ctx(struct load_ctx *ctx, const char *name, char *err,
		     size_t errlen)
{
	memset(ctx, 0, sizeof(*ctx));
	escape(name, ctx->name, sizeof(ctx->name));
	ctx->errbuf = err;
	ctx->errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
}

int config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct load_ctx ctx;
	int ret;

	init_ctx(&ctx, path, err, errlen);
	memset(cfg, 0, sizeof(*cfg));
	ctx.file = fopen(path, "re");
	if (!ctx.file)
		return file_error(&ctx, -errno);
	ret = load(cfg, &ctx, path);
	free(ctx.line);
	fclose(ctx.file);
	return ret;
}

int config_load_string(struct config *cfg, const char *name, const char *text,
		       char *err, size_t errlen)
{
	struct load_ctx ctx;

	init_ctx(&ctx, name, err, errlen);
	ctx.text = text;
	return load(cfg, &ctx, name);
}

int config_defaults(struct config *cfg)
{
	static const char *const loopback[] = { "127.0.0.0/8", "::1/128" };
	const char *why;
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	cfg->read_threshold = 1ULL << 20;
	cfg->send_threshold = 256ULL << 10;
	cfg->window_ns = 3600ULL * 1000000000ULL;
	cfg->max_procs = 16384;
	cfg->max_reads = 65536;
	cfg->max_sends = 65536;
	cfg->max_watch = 65536;
	cfg->max_streams = 16384;
	cfg->max_flows = 65536;
	/*
	 * 1 MiB: reads and sends are announced only now and then
	 * (docs/design.md "Coalescing"), and 1 MiB holds over 4,000 io
	 * records; the daemon is woken at a quarter full. libbpf maps the
	 * ring's pages twice, so it costs twice its size in RSS.
	 */
	cfg->ring_kib = 1024;
	/* a pipe closed with unread data holds its entry until then */
	cfg->stream_idle_ns = 600ULL * 1000000000ULL;

	/* Traffic to this host itself never leaves it. */
	for (i = 0; i < ARRAY_SIZE(loopback); i++)
		parse_cidr(loopback[i], &cfg->internal[cfg->nr_internal++],
			   &why);

	cfg->state_dir = strdup(DEFAULT_STATE_DIR);
	cfg->socket = strdup(DEFAULT_SOCKET);
	cfg->group = strdup(DEFAULT_GROUP);
	cfg->json_log = strdup(DEFAULT_STATE_DIR "/" JSON_LOG_NAME);
	if (!cfg->state_dir || !cfg->socket || !cfg->group || !cfg->json_log)
		goto out_free;
	for (i = 0; i < ARRAY_SIZE(default_opaque); i++) {
		cfg->opaque[i] = strdup(default_opaque[i]);
		if (!cfg->opaque[i])
			goto out_free;
		cfg->nr_opaque++;
	}
	return 0;

out_free:
	config_free(cfg);
	return -ENOMEM;
}

void config_free(struct config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->nr_watch; i++)
		free(cfg->watch[i]);
	for (i = 0; i < cfg->nr_policy; i++)
		free(cfg->policy_path[i]);
	opaque_clear(cfg);
	free(cfg->path);
	free(cfg->state_dir);
	free(cfg->socket);
	free(cfg->group);
	free(cfg->json_log);
	memset(cfg, 0, sizeof(*cfg));
}

int config_is_internal(const struct config *cfg, int family,
		       const uint8_t *addr)
{
	size_t i;

	for (i = 0; i < cfg->nr_internal; i++) {
		if (cidr_contains(&cfg->internal[i], family, addr))
			return 1;
	}
	return 0;
}
