// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilctl's human-readable output: the alert table, the evidence report,
 * the status lines and query results. A reply is only read here, never
 * trusted: missing fields print as "-", and every string goes through
 * ctl_escape() so a process named "\e[2J" or a file named "x\nALERT 0"
 * cannot rewrite the analyst's terminal or forge a line of output.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "ctl_format.h"
#include "units.h"

#define NUM_LEN		32
#define MISSING		"-"

static bool pass_utf8;

void ctl_set_utf8(bool on)
{
	pass_utf8 = on;
}

/*
 * C1 controls (U+0080..U+009F; U+009B is CSI to some terminals), soft
 * hyphen, bidi overrides and invisible format characters can make text
 * show as something other than what it is ("Trojan Source").
 */
static bool printable_code_point(uint32_t cp)
{
	if (cp < 0xa0 || cp == 0xad || cp == 0x061c || cp == 0xfeff)
		return false;
	if ((cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	    (cp >= 0x2060 && cp <= 0x206f))
		return false;
	/* Noncharacters: U+FFFE, U+FFFF and their images in every plane. */
	if ((cp & 0xfffe) == 0xfffe)
		return false;
	return true;
}

/* Length of the valid UTF-8 sequence at s, with its code point; or 0. */
static int utf8_decode(const unsigned char *s, uint32_t *out)
{
	uint32_t cp;
	int n;
	int i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	/* Stops at the terminating NUL, which is no continuation byte. */
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*out = cp;
	return n;
}

/* Length of the valid, printable UTF-8 sequence at s, or 0. */
static int utf8_printable(const unsigned char *s)
{
	uint32_t cp;
	int n = utf8_decode(s, &cp);

	return n && printable_code_point(cp) ? n : 0;
}

char *ctl_escape(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t len = strlen((const char *)p);
	char *out;
	char *o;
	int n;

	/* At worst every byte becomes "\xHH". */
	if (len > (SIZE_MAX - 1) / 4)
		return NULL;
	out = malloc(len * 4 + 1);
	if (!out)
		return NULL;
	o = out;
	while (*p) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			*o++ = *p++;
			continue;
		}
		switch (*p) {
		case '\\':
			o = stpcpy(o, "\\\\");
			break;
		case '\n':
			o = stpcpy(o, "\\n");
			break;
		case '\t':
			o = stpcpy(o, "\\t");
			break;
		case '\r':
			o = stpcpy(o, "\\r");
			break;
		default:
			n = pass_utf8 ? utf8_printable(p) : 0;
			if (n) {
				memcpy(o, p, n);
				o += n;
				p += n;
				continue;
			}
			o += sprintf(o, "\\x%02x", *p);
		}
		p++;
	}
	*o = '\0';
	return out;
}

/* Columns a string takes: escaped text is ASCII or printable UTF-8. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/*
 * A table of escaped cells, filled row by row. The first error sticks and
 * makes later calls no-ops, so callers check once, at table_print().
 */
struct table {
	size_t nr_cols;
	const char *align;	/* 'l' or 'r' per column */
	char **cells;		/* row-major */
	size_t nr_cells;
	size_t cap;
	int err;
};

static void table_init(struct table *t, const char *align)
{
	memset(t, 0, sizeof(*t));
	t->align = align;
	t->nr_cols = strlen(align);
}

static void table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->nr_cells; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nr_cells = 0;
}

/* Takes ownership of cell, which is already safe to print. */
static void table_put(struct table *t, char *cell)
{
	char **cells;
	size_t cap;

	if (!cell && !t->err)
		t->err = -ENOMEM;
	if (t->err)
		goto out_free;
	if (t->nr_cells == t->cap) {
		cap = t->cap ? t->cap * 2 : 64;
		cells = realloc(t->cells, cap * sizeof(*cells));
		if (!cells) {
			t->err = -ENOMEM;
			goto out_free;
		}
		t->cells = cells;
		t->cap = cap;
	}
	t->cells[t->nr_cells++] = cell;
	return;
out_free:
	free(cell);
}

/* A string from the reply: escaped; "-" when missing or empty. */
static void table_str(struct table *t, const char *raw)
{
	table_put(t, ctl_escape(raw && *raw ? raw : MISSING));
}

/* Our own text (labels, numbers): callers escape reply strings first. */
static void table_fmt(struct table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void table_fmt(struct table *t, const char *fmt, ...)
{
	char *cell;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&cell, fmt, ap) < 0)
		cell = NULL;
	va_end(ap);
	table_put(t, cell);
}

/* Columns two spaces apart; no trailing blanks after the last one. */
static int table_print(FILE *out, struct table *t, const char *indent)
{
	size_t *width;
	size_t c;
	size_t i;
	size_t pad;

	if (t->err)
		return t->err;
	width = calloc(t->nr_cols, sizeof(*width));
	if (!width)
		return -ENOMEM;
	for (i = 0; i < t->nr_cells; i++) {
		c = i % t->nr_cols;
		if (text_width(t->cells[i]) > width[c])
			width[c] = text_width(t->cells[i]);
	}
	for (i = 0; i < t->nr_cells; i++) {
		c = i % t->nr_cols;
		pad = width[c] - text_width(t->cells[i]);
		if (c == 0)
			fputs(indent, out);
		if (t->align[c] == 'r')
			fprintf(out, "%*s%s", (int)pad, "", t->cells[i]);
		else if (c + 1 < t->nr_cols)
			fprintf(out, "%s%*s", t->cells[i], (int)pad, "");
		else
			fputs(t->cells[i], out);
		fputs(c + 1 < t->nr_cols ? "  " : "\n", out);
	}
	free(width);
	return 0;
}

static struct json_object *get(struct json_object *obj, const char *key)
{
	struct json_object *val;

	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &val))
		return NULL;
	return val;
}

static const char *get_str(struct json_object *obj, const char *key)
{
	struct json_object *val = get(obj, key);

	return json_object_is_type(val, json_type_string) ?
	       json_object_get_string(val) : NULL;
}

static bool get_int(struct json_object *obj, const char *key, int64_t *out)
{
	struct json_object *val = get(obj, key);

	if (!json_object_is_type(val, json_type_int))
		return false;
	*out = json_object_get_int64(val);
	return true;
}

/* Sizes and counters: non-negative, up to 2^64 - 1. */
static bool get_u64(struct json_object *obj, const char *key, uint64_t *out)
{
	struct json_object *val = get(obj, key);

	if (!json_object_is_type(val, json_type_int) ||
	    json_object_get_int64(val) < 0)
		return false;
	*out = json_object_get_uint64(val);
	return true;
}

static void table_int(struct table *t, struct json_object *obj,
		      const char *key)
{
	int64_t v;

	if (get_int(obj, key, &v))
		table_fmt(t, "%" PRId64, v);
	else
		table_fmt(t, MISSING);
}

/* The human size of obj[key] into buf; false when it is missing. */
static bool size_text(struct json_object *obj, const char *key, char *buf,
		      int len)
{
	uint64_t v;

	if (!get_u64(obj, key, &v))
		return false;
	format_size(v, buf, len);
	return true;
}

static void table_size(struct table *t, struct json_object *obj,
		       const char *key)
{
	char buf[NUM_LEN];

	if (size_text(obj, key, buf, sizeof(buf)))
		table_fmt(t, "%s", buf);
	else
		table_fmt(t, MISSING);
}

/* "2026-11-29T11:27:38.123456Z" -> "2026-11-29 11:27:38". */
static bool short_utc(const char *s, char *buf, size_t len)
{
	static const char pattern[] = "dddd-dd-ddTdd:dd:dd";
	const size_t n = sizeof(pattern) - 1;
	const char *p;
	size_t i;

	if (!s || len <= n)
		return false;
	/* A NUL matches neither a digit nor a separator. */
	for (i = 0; i < n; i++) {
		if (pattern[i] == 'd' ? (s[i] < '0' || s[i] > '9') :
					s[i] != pattern[i])
			return false;
	}
	p = s + n;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	/* Only a UTC time may be shown under a UTC heading. */
	if (strcmp(p, "Z"))
		return false;
	memcpy(buf, s, n);
	buf[10] = ' ';
	buf[n] = '\0';
	return true;
}

/* A time for a table cell: short UTC form, else the raw text escaped. */
static void table_time(struct table *t, struct json_object *obj,
		       const char *key, const char *suffix)
{
	const char *raw = get_str(obj, key);
	char buf[NUM_LEN];

	if (short_utc(raw, buf, sizeof(buf)))
		table_fmt(t, "%s%s", buf, suffix);
	else
		table_str(t, raw);
}

/* Output that did not arrive is a failure, not a silent success. */
static int finish(FILE *out, int ret)
{
	if ((fflush(out) || ferror(out)) && !ret)
		ret = -EIO;
	return ret;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

int ctl_print_alerts(FILE *out, struct json_object *alerts)
{
	struct json_object *a;
	struct table t;
	size_t i;
	size_t n;
	int ret;

	if (!json_object_is_type(alerts, json_type_array))
		return -EINVAL;
	n = json_object_array_length(alerts);
	if (!n) {
		fputs("no alerts\n", out);
		return finish(out, 0);
	}
	table_init(&t, "rlllrllrr");
	table_fmt(&t, "ID");
	table_fmt(&t, "TIME (UTC)");
	table_fmt(&t, "SEVERITY");
	table_fmt(&t, "USER");
	table_fmt(&t, "PID");
	table_fmt(&t, "COMM");
	table_fmt(&t, "HOST");
	table_fmt(&t, "READ");
	table_fmt(&t, "SENT");
	for (i = 0; i < n; i++) {
		a = json_object_array_get_idx(alerts, i);
		table_int(&t, a, "id");
		table_time(&t, a, "time", "");
		table_str(&t, get_str(a, "severity"));
		table_str(&t, get_str(a, "user"));
		table_int(&t, a, "pid");
		table_str(&t, get_str(a, "comm"));
		table_str(&t, get_str(a, "host"));
		table_size(&t, a, "bytes_read");
		table_size(&t, a, "bytes_sent");
	}
	ret = table_print(out, &t, "");
	table_free(&t);
	return finish(out, ret);
}

/*
 * first_ns and last_ns are CLOCK_BOOTTIME, so only their difference means
 * anything to a reader.
 */
static void table_span(struct table *t, struct json_object *a)
{
	char buf[NUM_LEN];
	uint64_t first;
	uint64_t last;

	if (!get_u64(a, "first_ns", &first) || !get_u64(a, "last_ns", &last) ||
	    last < first) {
		table_fmt(t, MISSING);
		return;
	}
	format_duration(last - first, buf, sizeof(buf));
	table_fmt(t, "%s from the first watched read to the last send", buf);
}

/* "addr:port" of the destination that got the most, escaped; or host */
static char *chain_dest(struct json_object *a)
{
	struct json_object *arr = get(a, "destinations"), *d, *best = NULL;
	uint64_t bytes, most = 0;
	const char *addr;
	char *safe, *out;
	int64_t port;
	size_t i, n = 0;

	if (json_object_is_type(arr, json_type_array))
		n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		d = json_object_array_get_idx(arr, i);
		if (get_u64(d, "bytes_sent", &bytes) && (!best || bytes > most)) {
			best = d;
			most = bytes;
		}
	}
	addr = get_str(best, "addr");
	if (!addr || !get_int(best, "port", &port)) {
		addr = get_str(a, "host");
		return ctl_escape(addr && *addr ? addr : MISSING);
	}
	safe = ctl_escape(addr);
	if (!safe || asprintf(&out, "%s%s%s:%" PRId64,
			      strchr(addr, ':') ? "[" : "", safe,
			      strchr(addr, ':') ? "]" : "", port) < 0)
		out = NULL;
	free(safe);
	return out;
}

/* The chain as one line, ending at the destination; "-" without one. */
static void table_chain(struct table *t, struct json_object *a)
{
	struct alert_step *steps;
	size_t nr;
	char *dest;

	if (alert_chain_from_json(get(a, "chain"), &steps, &nr) || !nr) {
		table_fmt(t, MISSING);
		return;
	}
	dest = chain_dest(a);
	if (dest)
		table_put(t, alert_chain_line(steps, nr, dest, ctl_escape,
					      !pass_utf8));
	else
		table_put(t, NULL);
	free(dest);
	free(steps);
}

static void table_senders(struct table *t, struct json_object *a)
{
	uint64_t n;

	if (!get_u64(a, "senders", &n))
		table_fmt(t, MISSING);
	else if (n > 1)
		table_fmt(t, "%" PRIu64 " processes (the chain is the largest "
			  "one's)", n);
	else
		table_fmt(t, "%" PRIu64 " %s", n, plural(n, "process",
							 "processes"));
}

static int print_summary(FILE *out, struct json_object *a)
{
	const char *host = get_str(a, "host");
	char *safe_host = ctl_escape(host && *host ? host : MISSING);
	char buf[NUM_LEN];
	struct table t;
	int ret;

	table_init(&t, "ll");
	table_fmt(&t, "Raised:");
	table_time(&t, a, "time", " UTC");
	table_fmt(&t, "Updated:");
	table_time(&t, a, "updated", " UTC");
	table_fmt(&t, "Host:");
	table_str(&t, host);
	table_fmt(&t, "Chain:");
	table_chain(&t, a);
	table_fmt(&t, "Read:");
	if (size_text(a, "bytes_read", buf, sizeof(buf)))
		table_fmt(&t, "%s of watched data", buf);
	else
		table_fmt(&t, MISSING);
	table_fmt(&t, "Taint:");
	if (size_text(a, "taint", buf, sizeof(buf)))
		table_fmt(&t, "%s of it reached the senders", buf);
	else
		table_fmt(&t, MISSING);
	table_fmt(&t, "Sent:");
	if (!safe_host)
		table_put(&t, NULL);
	else if (size_text(a, "bytes_sent", buf, sizeof(buf)))
		table_fmt(&t, "%s of it to %s", buf, safe_host);
	else
		table_fmt(&t, MISSING);
	table_fmt(&t, "Senders:");
	table_senders(&t, a);
	table_fmt(&t, "Activity:");
	table_span(&t, a);
	table_fmt(&t, "Sensor:");
	table_str(&t, get_str(a, "sensor"));
	ret = table_print(out, &t, "");
	table_free(&t);
	free(safe_host);
	return ret;
}

static int print_process(FILE *out, struct json_object *a)
{
	struct table t;
	int ret;

	fputs("\nProcess\n", out);
	table_init(&t, "ll");
	table_fmt(&t, "PID:");
	table_int(&t, a, "pid");
	table_fmt(&t, "PPID:");
	table_int(&t, a, "ppid");
	table_fmt(&t, "UID:");
	table_int(&t, a, "uid");
	table_fmt(&t, "User:");
	table_str(&t, get_str(a, "user"));
	table_fmt(&t, "Comm:");
	table_str(&t, get_str(a, "comm"));
	table_fmt(&t, "Exe:");
	table_str(&t, get_str(a, "exe"));
	table_fmt(&t, "Cmdline:");
	table_str(&t, get_str(a, "cmdline"));
	ret = table_print(out, &t, "  ");
	table_free(&t);
	return ret;
}

/* One section: its title, then a table of the array's entries or "none". */
static int print_section(FILE *out, const char *title, struct json_object *a,
			 const char *key, const char *align,
			 const char *const *headers,
			 void (*row)(struct table *, struct json_object *))
{
	struct json_object *arr = get(a, key);
	struct table t;
	size_t n = 0;
	size_t i;
	int ret;

	fprintf(out, "\n%s\n", title);
	if (json_object_is_type(arr, json_type_array))
		n = json_object_array_length(arr);
	if (!n) {
		fputs("  none recorded\n", out);
		return 0;
	}
	table_init(&t, align);
	for (i = 0; i < t.nr_cols; i++)
		table_fmt(&t, "%s", headers[i]);
	for (i = 0; i < n; i++)
		row(&t, json_object_array_get_idx(arr, i));
	ret = table_print(out, &t, "  ");
	table_free(&t);
	return ret;
}

static void ancestry_row(struct table *t, struct json_object *p)
{
	table_int(t, p, "pid");
	table_int(t, p, "ppid");
	table_int(t, p, "uid");
	table_str(t, get_str(p, "comm"));
	table_str(t, get_str(p, "exe"));
}

static void file_row(struct table *t, struct json_object *f)
{
	table_size(t, f, "bytes_read");
	table_str(t, get_str(f, "path"));
}

/* "addr:port/proto", with brackets around an IPv6 address. */
static void dest_row(struct table *t, struct json_object *d)
{
	const char *addr = get_str(d, "addr");
	struct json_object *proto = get(d, "proto");
	char *safe_addr = ctl_escape(addr && *addr ? addr : MISSING);
	char *safe_proto;
	bool v6 = addr && strchr(addr, ':');
	char port[NUM_LEN] = MISSING;
	int64_t v;

	table_size(t, d, "bytes_sent");
	if (get_int(d, "port", &v))
		snprintf(port, sizeof(port), "%" PRId64, v);
	if (json_object_is_type(proto, json_type_string))
		safe_proto = ctl_escape(json_object_get_string(proto));
	else if (json_object_is_type(proto, json_type_int))
		safe_proto = strdup(json_object_get_string(proto));
	else
		safe_proto = strdup(MISSING);

	if (safe_addr && safe_proto)
		table_fmt(t, "%s%s%s:%s/%s", v6 ? "[" : "", safe_addr,
			  v6 ? "]" : "", port, safe_proto);
	else
		table_put(t, NULL);
	free(safe_addr);
	free(safe_proto);
}

int ctl_print_alert(FILE *out, struct json_object *a)
{
	static const char *const ancestry_hdr[] = {
		"PID", "PPID", "UID", "COMM", "EXE"
	};
	static const char *const file_hdr[] = { "READ", "PATH" };
	static const char *const dest_hdr[] = { "SENT", "DESTINATION" };
	const char *severity = get_str(a, "severity");
	const char *reason = get_str(a, "reason");
	char *safe_sev = NULL;
	char *safe_reason = NULL;
	char id[NUM_LEN] = MISSING;
	int64_t v;
	int ret = -ENOMEM;

	if (!json_object_is_type(a, json_type_object))
		return -EINVAL;
	if (get_int(a, "id", &v))
		snprintf(id, sizeof(id), "%" PRId64, v);
	safe_sev = ctl_escape(severity && *severity ? severity : MISSING);
	safe_reason = ctl_escape(reason && *reason ? reason : MISSING);
	if (!safe_sev || !safe_reason)
		goto cleanup;
	fprintf(out, "Alert %s (%s): %s\n\n", id, safe_sev, safe_reason);

	ret = print_summary(out, a);
	if (!ret)
		ret = print_process(out, a);
	if (!ret)
		ret = print_section(out, "Ancestry (the sending process first)",
				    a, "ancestry", "rrrll", ancestry_hdr,
				    ancestry_row);
	if (!ret)
		ret = print_section(out, "Watched files read", a, "files", "rl",
				    file_hdr, file_row);
	if (!ret)
		ret = print_section(out, "Destinations", a, "destinations",
				    "rl", dest_hdr, dest_row);
cleanup:
	free(safe_reason);
	free(safe_sev);
	return finish(out, ret);
}

/* Any JSON value as one escaped line: strings bare, the rest as JSON. */
static char *value_text(struct json_object *v)
{
	if (!v)
		return strdup("null");
	if (json_object_is_type(v, json_type_string))
		return ctl_escape(json_object_get_string(v));
	return ctl_escape(json_object_to_json_string_ext(v,
				JSON_C_TO_STRING_PLAIN |
				JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* "path (kind, N inodes)" */
static void watched_text(struct table *t, struct json_object *w)
{
	const char *path = get_str(w, "path");
	const char *kind = get_str(w, "kind");
	char *safe_path = ctl_escape(path && *path ? path : MISSING);
	char *safe_kind = ctl_escape(kind && *kind ? kind : MISSING);
	char inodes[NUM_LEN] = MISSING " inodes";
	uint64_t n;

	if (get_u64(w, "inodes", &n))
		snprintf(inodes, sizeof(inodes), "%" PRIu64 " %s", n,
			 plural(n, "inode", "inodes"));
	if (safe_path && safe_kind)
		table_fmt(t, "%s (%s, %s)", safe_path, safe_kind, inodes);
	else
		table_put(t, NULL);
	free(safe_path);
	free(safe_kind);
}

static void status_watched(struct table *t, struct json_object *watched)
{
	size_t n = 0;
	size_t i;

	if (json_object_is_type(watched, json_type_array))
		n = json_object_array_length(watched);
	table_fmt(t, "watched:");
	if (!n) {
		table_fmt(t, "none");
		return;
	}
	for (i = 0; i < n; i++) {
		if (i)
			table_fmt(t, "%s", "");
		watched_text(t, json_object_array_get_idx(watched, i));
	}
}

/* {"procs":0,"reads":1} -> "procs 0, reads 1" */
static void status_counters(struct table *t, struct json_object *obj)
{
	char *text;
	char *next;
	char *key;
	char *val;

	if (!json_object_is_type(obj, json_type_object)) {
		table_put(t, value_text(obj));
		return;
	}
	text = strdup("");
	json_object_object_foreach(obj, k, v) {
		key = ctl_escape(k);
		val = value_text(v);
		if (!text || !key || !val ||
		    asprintf(&next, "%s%s%s %s", text, *text ? ", " : "", key,
			     val) < 0)
			next = NULL;
		free(text);
		free(key);
		free(val);
		text = next;
	}
	if (text && !*text) {
		free(text);
		text = strdup("none");
	}
	table_put(t, text);
}

/* The status keys we know, in the order a reader wants them. */
static const struct {
	const char *key;
	const char *label;
} status_keys[] = {
	{ "version", "version" },
	{ "pid", "pid" },
	{ "uptime_s", "uptime" },
	{ "config", "config" },
	{ "sensor", "sensor" },
	{ "abi", "abi" },
	{ "watched", "watched" },
	{ "procs_known", "procs known" },
	{ "procs_tracked", "procs tracked" },
	{ "events", "events" },
	{ "dropped", "dropped" },
	{ "lost_read_bytes", "lost read bytes" },
	{ "lost_send_bytes", "lost send bytes" },
	{ "table_full", "table full" },
	{ "alerts", "alerts" },
	{ "store_ok", "store ok" },
	{ "prevent", "prevent" },
};

#define NR_STATUS_KEYS (sizeof(status_keys) / sizeof(status_keys[0]))

static bool known_status_key(const char *key)
{
	size_t i;

	if (!strcmp(key, "ok"))
		return true;
	for (i = 0; i < NR_STATUS_KEYS; i++)
		if (!strcmp(key, status_keys[i].key))
			return true;
	return false;
}

int ctl_print_status(FILE *out, struct json_object *reply)
{
	struct json_object *v;
	char buf[NUM_LEN];
	char *key;
	struct table t;
	uint64_t secs;
	size_t i;
	int ret;

	if (!json_object_is_type(reply, json_type_object))
		return -EINVAL;
	table_init(&t, "ll");
	for (i = 0; i < NR_STATUS_KEYS; i++) {
		v = get(reply, status_keys[i].key);
		if (!v)
			continue;
		if (!strcmp(status_keys[i].key, "watched")) {
			status_watched(&t, v);
			continue;
		}
		table_fmt(&t, "%s:", status_keys[i].label);
		if (!strcmp(status_keys[i].key, "table_full") ||
		    !strcmp(status_keys[i].key, "prevent")) {
			status_counters(&t, v);
		} else if (!strcmp(status_keys[i].key, "uptime_s") &&
			   get_u64(reply, "uptime_s", &secs) &&
			   secs <= UINT64_MAX / 1000000000ULL) {
			format_duration(secs * 1000000000ULL, buf, sizeof(buf));
			table_fmt(&t, "%s", buf);
		} else {
			table_put(&t, value_text(v));
		}
	}
	/* A newer daemon's keys are still shown, just not prettily. */
	json_object_object_foreach(reply, k, val) {
		if (known_status_key(k))
			continue;
		key = ctl_escape(k);
		if (key)
			table_fmt(&t, "%s:", key);
		else
			table_put(&t, NULL);
		free(key);
		table_put(&t, value_text(val));
	}
	ret = table_print(out, &t, "");
	table_free(&t);
	return finish(out, ret);
}

static bool is_number(struct json_object *v)
{
	return json_object_is_type(v, json_type_int) ||
	       json_object_is_type(v, json_type_double);
}

/* JSON null, i.e. SQL NULL, prints the way SQL writes it. */
static char *cell_text(struct json_object *v)
{
	if (!v)
		return strdup("NULL");
	return value_text(v);
}

int ctl_print_query(FILE *out, struct json_object *reply)
{
	struct json_object *cols = get(reply, "columns");
	struct json_object *rows = get(reply, "rows");
	struct json_object *trunc = get(reply, "truncated");
	struct json_object *row;
	struct json_object *v;
	struct table t;
	char *align = NULL;
	size_t nr_cols;
	size_t nr_rows;
	size_t r;
	size_t c;
	int ret;

	if (!json_object_is_type(cols, json_type_array) ||
	    !json_object_is_type(rows, json_type_array))
		return -EINVAL;
	nr_cols = json_object_array_length(cols);
	nr_rows = json_object_array_length(rows);
	if (!nr_cols) {
		fputs("(no columns)\n", out);
		return finish(out, 0);
	}

	/* Numbers are right-aligned in a column that holds nothing else. */
	align = malloc(nr_cols + 1);
	if (!align)
		return -ENOMEM;
	for (c = 0; c < nr_cols; c++) {
		align[c] = nr_rows ? 'r' : 'l';
		for (r = 0; r < nr_rows; r++) {
			v = json_object_array_get_idx(
				json_object_array_get_idx(rows, r), c);
			if (v && !is_number(v))
				align[c] = 'l';
		}
	}
	align[nr_cols] = '\0';

	table_init(&t, align);
	for (c = 0; c < nr_cols; c++)
		table_put(&t, value_text(json_object_array_get_idx(cols, c)));
	for (r = 0; r < nr_rows; r++) {
		row = json_object_array_get_idx(rows, r);
		for (c = 0; c < nr_cols; c++) {
			/* A short row gets empty cells, a long one is cut. */
			if (json_object_is_type(row, json_type_array) &&
			    c < json_object_array_length(row))
				table_put(&t, cell_text(
					json_object_array_get_idx(row, c)));
			else
				table_fmt(&t, "%s", "");
		}
	}
	ret = table_print(out, &t, "");
	if (!ret)
		fprintf(out, "(%zu %s%s)\n", nr_rows,
			plural(nr_rows, "row", "rows"),
			json_object_get_boolean(trunc) ?
			", truncated" : "");
	table_free(&t);
	free(align);
	return finish(out, ret);
}

int ctl_print_watched(FILE *out, struct json_object *watched)
{
	struct json_object *w;
	struct table t;
	size_t n;
	size_t i;
	int ret;

	if (!json_object_is_type(watched, json_type_array))
		return -EINVAL;
	n = json_object_array_length(watched);
	if (!n) {
		fputs("nothing is watched\n", out);
		return finish(out, 0);
	}
	table_init(&t, "lrl");
	table_fmt(&t, "KIND");
	table_fmt(&t, "INODES");
	table_fmt(&t, "PATH");
	for (i = 0; i < n; i++) {
		w = json_object_array_get_idx(watched, i);
		table_str(&t, get_str(w, "kind"));
		table_int(&t, w, "inodes");
		table_str(&t, get_str(w, "path"));
	}
	ret = table_print(out, &t, "");
	table_free(&t);
	return finish(out, ret);
}

int ctl_print_watch_change(FILE *out, const char *op,
			   struct json_object *reply)
{
	const char *path = get_str(reply, "path");
	char *safe_path;
	uint64_t n;

	if (!json_object_is_type(reply, json_type_object))
		return -EINVAL;
	safe_path = ctl_escape(path && *path ? path : MISSING);
	if (!safe_path)
		return -ENOMEM;
	fprintf(out, "%s %s", strcmp(op, "rm") ? "watching" :
		"stopped watching", safe_path);
	if (get_u64(reply, "inodes", &n))
		fprintf(out, " (%" PRIu64 " %s)", n,
			plural(n, "inode", "inodes"));
	fputc('\n', out);
	free(safe_path);
	return finish(out, 0);
}

/* "pid 42 (curl) may send to 198.51.100.7:443 until 2026-... UTC" */
static int override_sentence(FILE *out, struct json_object *o)
{
	char *who = ctl_escape(get_str(o, "who") ? get_str(o, "who") : MISSING);
	char *dest = ctl_escape(get_str(o, "dest") ? get_str(o, "dest") :
				MISSING);
	const char *until = get_str(o, "until");
	char buf[NUM_LEN] = "";
	char *safe_until = NULL;

	if (!short_utc(until, buf, sizeof(buf)))
		safe_until = ctl_escape(until ? until : MISSING);
	if (!who || !dest || (!safe_until && !buf[0])) {
		free(who);
		free(dest);
		free(safe_until);
		return -ENOMEM;
	}
	fprintf(out, "%s may send to %s until %s%s", who, dest,
		safe_until ? safe_until : buf, safe_until ? "" : " UTC");
	free(who);
	free(dest);
	free(safe_until);
	return 0;
}

int ctl_print_override(FILE *out, struct json_object *o)
{
	int64_t id;
	int ret;

	if (!get_int(o, "id", &id))
		return -EINVAL;
	fprintf(out, "override %" PRId64 ": ", id);
	ret = override_sentence(out, o);
	fputc('\n', out);
	return finish(out, ret);
}

int ctl_print_revoked(FILE *out, struct json_object *o)
{
	int64_t id;
	char *dest;

	if (!get_int(o, "id", &id))
		return -EINVAL;
	dest = ctl_escape(get_str(o, "dest") ? get_str(o, "dest") : MISSING);
	if (!dest)
		return -ENOMEM;
	fprintf(out, "override %" PRId64 " revoked: transfers to %s are "
		"refused again\n", id, dest);
	free(dest);
	return finish(out, 0);
}

int ctl_print_policy(FILE *out, struct json_object *reply)
{
	struct json_object *watched = get(reply, "watched");
	struct json_object *nets = get(reply, "internal");
	struct json_object *ovs = get(reply, "overrides");
	struct json_object *w;
	char *mode, *src, *list, *next, *net;
	char size[NUM_LEN];
	struct table t;
	size_t i, n;
	int ret;

	if (!json_object_is_type(watched, json_type_array) ||
	    !json_object_is_type(nets, json_type_array) ||
	    !json_object_is_type(ovs, json_type_array))
		return -EINVAL;
	mode = ctl_escape(get_str(reply, "mode") ? get_str(reply, "mode") :
			  MISSING);
	src = ctl_escape(get_str(reply, "mode_source") ?
			 get_str(reply, "mode_source") : MISSING);
	if (mode && src)
		fprintf(out, "mode: %s (%s)\n", mode, src);
	free(mode);
	free(src);
	if (size_text(reply, "threshold", size, sizeof(size)))
		fprintf(out, "threshold: %s of watched data\n", size);

	n = json_object_array_length(watched);
	if (!n) {
		fputs("watched: none\n", out);
	} else {
		fputs("watched:\n", out);
		table_init(&t, "lll");
		table_fmt(&t, "MODE");
		table_fmt(&t, "FROM");
		table_fmt(&t, "PATH");
		for (i = 0; i < n; i++) {
			w = json_object_array_get_idx(watched, i);
			table_str(&t, get_str(w, "mode"));
			table_str(&t, get_str(w, "source"));
			table_str(&t, get_str(w, "path"));
		}
		ret = table_print(out, &t, "  ");
		table_free(&t);
		if (ret)
			return finish(out, ret);
	}

	list = strdup("");
	n = json_object_array_length(nets);
	for (i = 0; i < n && list; i++) {
		const char *raw = json_object_get_string(
			json_object_array_get_idx(nets, i));

		net = ctl_escape(raw);
		if (!net || asprintf(&next, "%s%s%s", list, i ? ", " : "",
				     net) < 0)
			next = NULL;
		free(net);
		free(list);
		list = next;
	}
	if (!list)
		return -ENOMEM;
	fprintf(out, "internal: %s\n", *list ? list : "none");
	free(list);

	n = json_object_array_length(ovs);
	if (!n) {
		fputs("overrides: none\n", out);
		return finish(out, 0);
	}
	fputs("overrides:\n", out);
	table_init(&t, "rllll");
	table_fmt(&t, "ID");
	table_fmt(&t, "WHO");
	table_fmt(&t, "DEST");
	table_fmt(&t, "UNTIL (UTC)");
	table_fmt(&t, "GRANTED BY");
	for (i = 0; i < n; i++) {
		int64_t uid;

		w = json_object_array_get_idx(ovs, i);
		table_int(&t, w, "id");
		table_str(&t, get_str(w, "who"));
		table_str(&t, get_str(w, "dest"));
		table_time(&t, w, "until", "");
		if (get_int(w, "granted_by_uid", &uid))
			table_fmt(&t, "uid %" PRId64, uid);
		else
			table_fmt(&t, MISSING);
	}
	ret = table_print(out, &t, "  ");
	table_free(&t);
	return finish(out, ret);
}

int ctl_print_json(FILE *out, struct json_object *obj)
{
	const unsigned char *p;
	uint32_t cp;
	int n;

	p = (const unsigned char *)json_object_to_json_string_ext(obj,
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!p)
		return -ENOMEM;
	/*
	 * json-c escapes control characters below 0x20 but copies the rest.
	 * Writing C1 controls and bidi overrides as \uXXXX keeps every string
	 * the same to a JSON parser and harmless to a terminal. Bytes that are
	 * not UTF-8 at all cannot be escaped in JSON and are left as they are.
	 */
	while (*p) {
		n = utf8_decode(p, &cp);
		if (n && cp <= 0xffff && !printable_code_point(cp)) {
			fprintf(out, "\\u%04x", (unsigned int)cp);
			p += n;
		} else {
			fputc(*p++, out);
		}
	}
	fputc('\n', out);
	return finish(out, 0);
}
