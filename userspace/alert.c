// SPDX-License-Identifier: GPL-2.0-only
/*
 * Alerts as values: names of severities and protocols, deep copies, and the
 * one JSON form of an alert (docs/alerts.md) with its exact inverse.
 *
 * The strings of an alert come from the kernel (comm, exe, argv, paths) and
 * are whatever bytes a user chose, so the JSON form makes them valid UTF-8:
 * a JSON log line an attacker can break is a line a SIEM silently drops.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert.h"
#include "units.h"

static const char *const severity_names[] = {
	[SEV_LOW] = "low",
	[SEV_MEDIUM] = "medium",
	[SEV_HIGH] = "high",
	[SEV_CRITICAL] = "critical",
};

const char *alert_action_name(int action)
{
	return action == ALERT_BLOCKED ? "blocked" : "detected";
}

int alert_action_parse(const char *name)
{
	if (name && !strcmp(name, "detected"))
		return ALERT_DETECTED;
	if (name && !strcmp(name, "blocked"))
		return ALERT_BLOCKED;
	return -EINVAL;
}

const char *alert_severity_name(int severity)
{
	if (severity < SEV_LOW || severity > SEV_CRITICAL)
		return "unknown";
	return severity_names[severity];
}

int alert_severity_parse(const char *name)
{
	int i;

	for (i = SEV_LOW; name && i <= SEV_CRITICAL; i++)
		if (!strcmp(name, severity_names[i]))
			return i;
	return -EINVAL;
}

const char *alert_proto_name(uint8_t proto)
{
	switch (proto) {
	case EXFILMON_PROTO_TCP:
		return "tcp";
	case EXFILMON_PROTO_UDP:
		return "udp";
	default:
		return "unknown";
	}
}

int alert_proto_parse(const char *name)
{
	if (name && !strcmp(name, "tcp"))
		return EXFILMON_PROTO_TCP;
	if (name && !strcmp(name, "udp"))
		return EXFILMON_PROTO_UDP;
	return -EINVAL;
}

static const char *const via_names[VIA_NR] = {
	[VIA_UNKNOWN] = "?",
	[VIA_READ] = "read",
	[VIA_FORK] = "fork",
	[VIA_FILE] = "file",
	[VIA_PIPE] = "pipe",
	[VIA_UNIX] = "unix",
	[VIA_TCP] = "tcp-loopback",
	[VIA_UDP] = "udp-loopback",
	[VIA_SHM] = "shm",
	[VIA_EXEC] = "exec",
};

const char *alert_via_name(uint32_t via)
{
	return via < VIA_NR ? via_names[via] : via_names[VIA_UNKNOWN];
}

int alert_via_parse(const char *name)
{
	int i;

	for (i = 0; name && i < VIA_NR; i++)
		if (!strcmp(name, via_names[i]))
			return i;
	return -EINVAL;
}

/* s as esc makes it (a malloc'd copy as is without esc) */
static char *escaped(const char *s, char *(*esc)(const char *))
{
	return esc ? esc(s) : strdup(s);
}

/* "comm[pid]", "?[pid]" or "?" */
static int put_name(FILE *f, const struct alert_step *st,
		    char *(*esc)(const char *))
{
	char *name = st->comm[0] ? escaped(st->comm, esc) : strdup("?");

	if (!name)
		return -ENOMEM;
	fputs(name, f);
	if (st->pid)
		fprintf(f, "[%u]", st->pid);
	free(name);
	return 0;
}

/* " →pipe 9.9 MiB→ " or " →file /tmp/x 9.8 MiB→ " */
static int put_hop(FILE *f, const struct alert_step *st,
		   char *(*esc)(const char *), const char *arrow)
{
	char size[32];
	char *obj = NULL;

	if (st->object[0] && (st->via == VIA_FILE || st->via == VIA_SHM)) {
		obj = escaped(st->object, esc);
		if (!obj)
			return -ENOMEM;
	}
	fprintf(f, " %s%s", arrow, alert_via_name(st->via));
	if (obj)
		fprintf(f, " %s", obj);
	if (st->bytes && st->via != VIA_EXEC) {
		format_size(st->bytes, size, sizeof(size));
		fprintf(f, " %s", size);
	}
	fprintf(f, "%s ", arrow);
	free(obj);
	return 0;
}

char *alert_chain_line(const struct alert_step *steps, size_t nr,
		       const char *dest, char *(*esc)(const char *),
		       int ascii)
{
	const char *arrow = ascii ? "->" : "\xe2\x86\x92";	/* → */
	char *line = NULL, size[32], *obj;
	size_t len = 0, i;
	int ret = 0;
	FILE *f;

	f = open_memstream(&line, &len);
	if (!f)
		return NULL;
	for (i = 0; !ret && i < nr; i++) {
		const struct alert_step *st = &steps[i];

		if (i)
			ret = put_hop(f, st, esc, arrow);
		if (!ret)
			ret = put_name(f, st, esc);
		if (ret || i || st->via != VIA_READ)
			continue;
		format_size(st->bytes, size, sizeof(size));
		fprintf(f, " read %s", size);
		if (!st->object[0])
			continue;
		obj = escaped(st->object, esc);
		if (!obj)
			ret = -ENOMEM;
		else
			fprintf(f, " of %s", obj);
		free(obj);
	}
	if (!ret && dest)
		fprintf(f, "%s%s %s", nr ? " " : "", arrow, dest);
	if (fclose(f) || ret) {
		free(line);
		return NULL;
	}
	return line;
}

static void *dup_array(const void *src, size_t nr, size_t size)
{
	void *dst;

	if (!nr)
		return NULL;
	dst = calloc(nr, size);
	if (dst)
		memcpy(dst, src, nr * size);
	return dst;
}

int alert_copy(struct alert *dst, const struct alert *src)
{
	*dst = *src;
	dst->files = dup_array(src->files, src->nr_files, sizeof(*src->files));
	dst->dests = dup_array(src->dests, src->nr_dests, sizeof(*src->dests));
	dst->ancestry = dup_array(src->ancestry, src->nr_ancestry,
				  sizeof(*src->ancestry));
	dst->chain = dup_array(src->chain, src->nr_chain, sizeof(*src->chain));
	if ((src->nr_files && !dst->files) || (src->nr_dests && !dst->dests) ||
	    (src->nr_ancestry && !dst->ancestry) ||
	    (src->nr_chain && !dst->chain)) {
		alert_free(dst);
		return -ENOMEM;
	}
	return 0;
}

void alert_free(struct alert *a)
{
	if (!a)
		return;
	free(a->files);
	free(a->dests);
	free(a->ancestry);
	free(a->chain);
	a->files = NULL;
	a->dests = NULL;
	a->ancestry = NULL;
	a->chain = NULL;
	a->nr_files = 0;
	a->nr_dests = 0;
	a->nr_ancestry = 0;
	a->nr_chain = 0;
}

void format_rfc3339(int64_t time_us, char *buf, size_t len)
{
	int64_t sec = time_us / 1000000, us = time_us % 1000000;
	time_t t;
	struct tm tm;

	/* Floor, not truncation, so times before 1970 keep 0 <= us < 1e6. */
	if (us < 0) {
		us += 1000000;
		sec--;
	}
	t = sec;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, len, "invalid");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)us);
}

/* Exactly n ASCII digits: sscanf("%2d") would also take " 7" or "+7". */
static int parse_digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int parse_rfc3339(const char *s, int64_t *time_us)
{
	int year, mon, day, hour, min, sec, oh, om, i;
	int64_t us = 0, scale = 100000, offset = 0;
	struct tm tm = { 0 }, check;
	const char *p;
	time_t t;

	if (!s || strlen(s) < 20 || parse_digits(s, 4, &year) || s[4] != '-' ||
	    parse_digits(s + 5, 2, &mon) || s[7] != '-' ||
	    parse_digits(s + 8, 2, &day) || (s[10] != 'T' && s[10] != 't') ||
	    parse_digits(s + 11, 2, &hour) || s[13] != ':' ||
	    parse_digits(s + 14, 2, &min) || s[16] != ':' ||
	    parse_digits(s + 17, 2, &sec))
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		for (i = 1; p[i] >= '0' && p[i] <= '9'; i++) {
			us += (p[i] - '0') * scale;
			scale /= 10;
		}
		if (i == 1)
			return -EINVAL;
		p += i;
	}
	if ((*p == 'Z' || *p == 'z') && !p[1]) {
		offset = 0;
	} else if ((*p == '+' || *p == '-') && !parse_digits(p + 1, 2, &oh) &&
		   p[3] == ':' && !parse_digits(p + 4, 2, &om) && !p[6] &&
		   oh < 24 && om < 60) {
		offset = (oh * 60 + om) * 60;
		if (*p == '-')
			offset = -offset;
	} else {
		return -EINVAL;
	}
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 ||
	    min > 59 || sec > 59)
		return -EINVAL;

	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm() normalises 2026-02-30 to March 2nd: refuse it instead. */
	if (!gmtime_r(&t, &check) || check.tm_mday != day ||
	    check.tm_mon != mon - 1)
		return -EINVAL;
	*time_us = ((int64_t)t - offset) * 1000000 + us;
	return 0;
}

/*
 * Length of the well-formed UTF-8 sequence (RFC 3629) at s, or 0. Overlong
 * forms, UTF-16 surrogates and code points past U+10FFFF are ill-formed:
 * they are the classic ways to smuggle a '/' or a NUL past a filter.
 */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

struct json_object *json_string_from_bytes(const char *s, size_t len)
{
	static const char replacement[] = "\xef\xbf\xbd";	/* U+FFFD */
	const unsigned char *u = (const unsigned char *)s;
	struct json_object *obj;
	size_t i, n, bad = 0, out = 0;
	char *buf;

	for (i = 0; i < len; i += n ? n : 1) {
		n = utf8_seq_len(u + i, len - i);
		bad += !n;
	}
	if (len + 2 * bad > INT_MAX)
		return NULL;
	if (!bad)
		return json_object_new_string_len(s, len);

	buf = malloc(len + 2 * bad);
	if (!buf)
		return NULL;
	for (i = 0; i < len; i += n ? n : 1) {
		n = utf8_seq_len(u + i, len - i);
		if (n) {
			memcpy(buf + out, s + i, n);
			out += n;
		} else {
			memcpy(buf + out, replacement, 3);
			out += 3;
		}
	}
	obj = json_object_new_string_len(buf, out);
	free(buf);
	return obj;
}

/* A fixed-size field of the alert, which may lack its NUL. */
static struct json_object *json_field(const char *field, size_t size)
{
	return json_string_from_bytes(field, strnlen(field, size));
}

struct json_object *json_time(int64_t time_us)
{
	char buf[ALERT_TIME_LEN];

	format_rfc3339(time_us, buf, sizeof(buf));
	return json_object_new_string(buf);
}

int json_add(struct json_object *obj, const char *key,
	     struct json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_object_add(obj, key, val)) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

static int append(struct json_object *arr, struct json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_array_add(arr, val)) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

#define FIELD(s) json_field((s), sizeof(s))

static struct json_object *file_to_json(const void *elem)
{
	const struct alert_file *f = elem;
	struct json_object *o = json_object_new_object();

	if (!o || json_add(o, "path", FIELD(f->path)) ||
	    json_add(o, "bytes_read", json_object_new_uint64(f->bytes_read))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *dest_to_json(const void *elem)
{
	const struct alert_dest *d = elem;
	struct json_object *o = json_object_new_object();

	if (!o || json_add(o, "addr", FIELD(d->addr)) ||
	    json_add(o, "port", json_object_new_int(d->port)) ||
	    json_add(o, "proto",
		json_object_new_string(alert_proto_name(d->proto))) ||
	    json_add(o, "bytes_sent", json_object_new_uint64(d->bytes_sent))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *proc_to_json(const void *elem)
{
	const struct alert_proc *p = elem;
	struct json_object *o = json_object_new_object();

	if (!o || json_add(o, "pid", json_object_new_int64(p->pid)) ||
	    json_add(o, "ppid", json_object_new_int64(p->ppid)) ||
	    json_add(o, "uid", json_object_new_int64(p->uid)) ||
	    json_add(o, "comm", FIELD(p->comm)) || json_add(o, "exe", FIELD(p->exe))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *step_to_json(const void *elem)
{
	const struct alert_step *st = elem;
	struct json_object *o = json_object_new_object();

	if (!o || json_add(o, "pid", json_object_new_int64(st->pid)) ||
	    json_add(o, "comm", FIELD(st->comm)) ||
	    json_add(o, "exe", FIELD(st->exe)) ||
	    json_add(o, "via",
		json_object_new_string(alert_via_name(st->via))) ||
	    json_add(o, "object", FIELD(st->object)) ||
	    json_add(o, "bytes", json_object_new_uint64(st->bytes))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* A JSON array of nr elements of size bytes each, or NULL on ENOMEM. */
static struct json_object *
array_to_json(const void *elems, size_t nr, size_t size,
	      struct json_object *(*to_json)(const void *))
{
	struct json_object *arr = json_object_new_array();
	size_t i;

	for (i = 0; arr && i < nr; i++) {
		if (append(arr, to_json((const char *)elems + i * size))) {
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

#define ARRAY(elems, nr, to_json) \
	array_to_json((elems), (nr), sizeof(*(elems)), (to_json))

struct json_object *alert_chain_to_json(const struct alert_step *steps,
					size_t nr)
{
	return ARRAY(steps, nr, step_to_json);
}

struct json_object *alert_to_json(const struct alert *a)
{
	struct json_object *o = json_object_new_object();

	/* The key order is the one documented in docs/alerts.md. */
	if (!o || json_add(o, "id", json_object_new_int64(a->id)) ||
	    json_add(o, "time", json_time(a->time_us)) ||
	    json_add(o, "updated", json_time(a->updated_us)) ||
	    json_add(o, "severity",
		json_object_new_string(alert_severity_name(a->severity))) ||
	    json_add(o, "pid", json_object_new_int64(a->pid)) ||
	    json_add(o, "ppid", json_object_new_int64(a->ppid)) ||
	    json_add(o, "uid", json_object_new_int64(a->uid)) ||
	    json_add(o, "user", FIELD(a->user)) || json_add(o, "comm", FIELD(a->comm)) ||
	    json_add(o, "exe", FIELD(a->exe)) ||
	    json_add(o, "cmdline", FIELD(a->cmdline)) ||
	    json_add(o, "host", FIELD(a->host)) ||
	    json_add(o, "files", ARRAY(a->files, a->nr_files, file_to_json)) ||
	    json_add(o, "bytes_read", json_object_new_uint64(a->bytes_read)) ||
	    json_add(o, "taint", json_object_new_uint64(a->taint)) ||
	    json_add(o, "destinations",
		ARRAY(a->dests, a->nr_dests, dest_to_json)) ||
	    json_add(o, "bytes_sent", json_object_new_uint64(a->bytes_sent)) ||
	    json_add(o, "senders", json_object_new_int64(a->senders)) ||
	    json_add(o, "action",
		json_object_new_string(alert_action_name(a->action))) ||
	    json_add(o, "refused", json_object_new_uint64(a->refused)) ||
	    json_add(o, "sensor", FIELD(a->sensor)) ||
	    json_add(o, "reason", FIELD(a->reason)) ||
	    json_add(o, "chain", ARRAY(a->chain, a->nr_chain, step_to_json)) ||
	    json_add(o, "ancestry",
		ARRAY(a->ancestry, a->nr_ancestry, proc_to_json)) ||
	    json_add(o, "first_ns", json_object_new_uint64(a->first_ns)) ||
	    json_add(o, "last_ns", json_object_new_uint64(a->last_ns)) ||
	    /* only once the security team acknowledged it */
	    (a->acked_us && (json_add(o, "acked", json_time(a->acked_us)) ||
			     json_add(o, "acked_uid",
				      json_object_new_int64(a->acked_uid))))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *member(struct json_object *obj, const char *key,
				  enum json_type type)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

/*
 * Copy a string member into a fixed field. A longer string (only possible
 * when U+FFFD replacement made it grow, or from a foreign producer) is cut
 * at a character boundary so the field stays valid UTF-8.
 */
static int get_str(struct json_object *obj, const char *key, char *buf,
		   size_t size)
{
	struct json_object *v = member(obj, key, json_type_string);
	const char *s;
	size_t n;

	if (!v)
		return -EINVAL;
	s = json_object_get_string(v);
	n = json_object_get_string_len(v);
	if (n >= size) {
		n = size - 1;
		while (n > 0 && (s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

static int get_u64(struct json_object *obj, const char *key, uint64_t *out)
{
	struct json_object *v = member(obj, key, json_type_int);

	/* json-c clamps values above INT64_MAX to INT64_MAX here. */
	if (!v || json_object_get_int64(v) < 0)
		return -EINVAL;
	*out = json_object_get_uint64(v);
	return 0;
}

static int get_i64(struct json_object *obj, const char *key, int64_t *out)
{
	struct json_object *v = member(obj, key, json_type_int);

	if (!v)
		return -EINVAL;
	*out = json_object_get_int64(v);
	return 0;
}

static int get_uint(struct json_object *obj, const char *key, uint64_t max,
		    uint64_t *out)
{
	if (get_u64(obj, key, out) || *out > max)
		return -EINVAL;
	return 0;
}

static int get_u32(struct json_object *obj, const char *key, uint32_t *out)
{
	uint64_t v;

	if (get_uint(obj, key, UINT32_MAX, &v))
		return -EINVAL;
	*out = v;
	return 0;
}

static int get_time(struct json_object *obj, const char *key, int64_t *out)
{
	struct json_object *v = member(obj, key, json_type_string);

	if (!v)
		return -EINVAL;
	return parse_rfc3339(json_object_get_string(v), out);
}

#define GET_STR(obj, key, field) get_str((obj), (key), (field), sizeof(field))

static int file_from_json(struct json_object *o, void *elem)
{
	struct alert_file *f = elem;

	if (!json_object_is_type(o, json_type_object) ||
	    GET_STR(o, "path", f->path) ||
	    get_u64(o, "bytes_read", &f->bytes_read))
		return -EINVAL;
	return 0;
}

static int dest_from_json(struct json_object *o, void *elem)
{
	struct alert_dest *d = elem;
	struct json_object *proto;
	uint64_t port;
	int p;

	if (!json_object_is_type(o, json_type_object) ||
	    GET_STR(o, "addr", d->addr) ||
	    get_uint(o, "port", UINT16_MAX, &port) ||
	    get_u64(o, "bytes_sent", &d->bytes_sent))
		return -EINVAL;
	proto = member(o, "proto", json_type_string);
	p = alert_proto_parse(proto ? json_object_get_string(proto) : NULL);
	if (p < 0)
		return -EINVAL;
	d->port = port;
	d->proto = p;
	return 0;
}

static int proc_from_json(struct json_object *o, void *elem)
{
	struct alert_proc *p = elem;

	if (!json_object_is_type(o, json_type_object) ||
	    get_u32(o, "pid", &p->pid) || get_u32(o, "ppid", &p->ppid) ||
	    get_u32(o, "uid", &p->uid) || GET_STR(o, "comm", p->comm) ||
	    GET_STR(o, "exe", p->exe))
		return -EINVAL;
	return 0;
}

static int step_from_json(struct json_object *o, void *elem)
{
	struct alert_step *st = elem;
	struct json_object *via;
	int v;

	if (!json_object_is_type(o, json_type_object) ||
	    get_u32(o, "pid", &st->pid) || GET_STR(o, "comm", st->comm) ||
	    GET_STR(o, "exe", st->exe) || GET_STR(o, "object", st->object) ||
	    get_u64(o, "bytes", &st->bytes))
		return -EINVAL;
	via = member(o, "via", json_type_string);
	v = alert_via_parse(via ? json_object_get_string(via) : NULL);
	if (v < 0)
		return -EINVAL;
	st->via = v;
	return 0;
}

/*
 * Parse the array arr into a calloc'd array of nr elements of size bytes,
 * each with parse(); at most max elements.
 */
static int parse_array(struct json_object *arr, size_t size, size_t max,
		       int (*parse)(struct json_object *, void *), void **out,
		       size_t *nr)
{
	size_t i, n;
	char *elems;

	if (!json_object_is_type(arr, json_type_array))
		return -EINVAL;
	n = json_object_array_length(arr);
	if (n > max)
		return -EINVAL;
	if (!n)
		return 0;
	elems = calloc(n, size);
	if (!elems)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (parse(json_object_array_get_idx(arr, i), elems + i * size)) {
			free(elems);
			return -EINVAL;
		}
	}
	*out = elems;
	*nr = n;
	return 0;
}

/* The array member key, as parse_array() does it. */
static int get_array(struct json_object *obj, const char *key, size_t size,
		     int (*parse)(struct json_object *, void *), void **out,
		     size_t *nr)
{
	return parse_array(member(obj, key, json_type_array), size, SIZE_MAX,
			   parse, out, nr);
}

int alert_chain_from_json(struct json_object *arr, struct alert_step **steps,
			  size_t *nr)
{
	*steps = NULL;
	*nr = 0;
	return parse_array(arr, sizeof(**steps), ALERT_CHAIN_MAX,
			   step_from_json, (void **)steps, nr);
}

/* action and refused came with prevent mode: older documents lack both */
static int get_action(struct json_object *obj, struct alert *a)
{
	struct json_object *v = member(obj, "action", json_type_string);

	if (!json_object_object_get_ex(obj, "action", NULL))
		return 0;
	a->action = alert_action_parse(v ? json_object_get_string(v) : NULL);
	if (a->action < 0)
		return -EINVAL;
	return get_u64(obj, "refused", &a->refused);
}

int alert_from_json(struct json_object *obj, struct alert *a)
{
	struct json_object *sev;
	int err = -EINVAL;

	memset(a, 0, sizeof(*a));
	if (!json_object_is_type(obj, json_type_object))
		return -EINVAL;

	sev = member(obj, "severity", json_type_string);
	a->severity = alert_severity_parse(sev ? json_object_get_string(sev) :
						 NULL);
	if (a->severity < 0 || get_i64(obj, "id", &a->id) ||
	    get_time(obj, "time", &a->time_us) ||
	    get_time(obj, "updated", &a->updated_us) ||
	    get_u32(obj, "pid", &a->pid) || get_u32(obj, "ppid", &a->ppid) ||
	    get_u32(obj, "uid", &a->uid) || GET_STR(obj, "user", a->user) ||
	    GET_STR(obj, "comm", a->comm) || GET_STR(obj, "exe", a->exe) ||
	    GET_STR(obj, "cmdline", a->cmdline) ||
	    GET_STR(obj, "host", a->host) ||
	    get_u64(obj, "bytes_read", &a->bytes_read) ||
	    get_u64(obj, "taint", &a->taint) ||
	    get_u64(obj, "bytes_sent", &a->bytes_sent) ||
	    get_u32(obj, "senders", &a->senders) ||
	    get_action(obj, a) ||
	    GET_STR(obj, "sensor", a->sensor) ||
	    GET_STR(obj, "reason", a->reason) ||
	    get_u64(obj, "first_ns", &a->first_ns) ||
	    get_u64(obj, "last_ns", &a->last_ns))
		goto fail;

	err = get_array(obj, "files", sizeof(*a->files), file_from_json,
			(void **)&a->files, &a->nr_files);
	if (!err)
		err = get_array(obj, "destinations", sizeof(*a->dests),
				dest_from_json, (void **)&a->dests,
				&a->nr_dests);
	if (!err)
		err = get_array(obj, "ancestry", sizeof(*a->ancestry),
				proc_from_json, (void **)&a->ancestry,
				&a->nr_ancestry);
	if (!err)
		err = alert_chain_from_json(member(obj, "chain",
						   json_type_array),
					    &a->chain, &a->nr_chain);
	if (err)
		goto fail;
	return 0;

fail:
	alert_free(a);
	memset(a, 0, sizeof(*a));
	return err;
}
