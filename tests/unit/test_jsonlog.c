// SPDX-License-Identifier: GPL-2.0-only
/*
 * The JSON-lines log: each line the ECS document of docs/siem.md, exactly;
 * fields nobody knows left out rather than faked; one whole line per
 * write whatever happens to the disk; and the file followed through
 * logrotate's rename or removal.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "json_strict.h"
#include "alert.h"
#include "alert_ecs.h"
#include "jsonlog.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/*
 * An IPv6 upload by rclone: the most-read file is the second, the port
 * that got the most ties with a later one, and the theft took 42 s from
 * the first read (first_ns) to the last send (last_ns, updated).
 */
static void make_alert(struct alert *a)
{
	memset(a, 0, sizeof(*a));
	a->id = 12;
	a->time_us = 1796383690500000;		/* 2026-12-04T11:28:10.500000Z */
	a->updated_us = 1796383700000001;	/* 2026-12-04T11:28:20.000001Z */
	a->first_ns = 1000000000;
	a->last_ns = 43000000500;		/* 42.0000005 s later */
	a->severity = SEV_CRITICAL;
	a->pid = 5150;
	a->ppid = 5100;
	a->uid = 1002;
	strcpy(a->user, "eve");
	strcpy(a->comm, "rclone");
	strcpy(a->exe, "/usr/bin/rclone");
	strcpy(a->cmdline, "rclone copy /srv/hr remote:drop");
	strcpy(a->host, "2001:db8:7::9");
	a->bytes_read = 4000;
	a->taint = 4200;
	a->bytes_sent = 4100;
	a->senders = 1;
	strcpy(a->sensor, "kmod");
	strcpy(a->reason, "rclone sent 4.0 KiB of watched data");

	a->nr_files = 2;
	a->files = calloc(2, sizeof(*a->files));
	strcpy(a->files[0].path, "/srv/hr/salaries.ods");
	a->files[0].bytes_read = 1000;
	strcpy(a->files[1].path, "/srv/hr/reviews.odt");
	a->files[1].bytes_read = 3000;

	a->nr_dests = 3;
	a->dests = calloc(3, sizeof(*a->dests));
	a->dests[0] = (struct alert_dest){ "2001:db8:7::9", 53,
					   EXFILMON_PROTO_UDP, 100 };
	a->dests[1] = (struct alert_dest){ "2001:db8:7::9", 443,
					   EXFILMON_PROTO_TCP, 2000 };
	a->dests[2] = (struct alert_dest){ "2001:db8:7::9", 8443,
					   EXFILMON_PROTO_TCP, 2000 };

	a->nr_ancestry = 2;
	a->ancestry = calloc(2, sizeof(*a->ancestry));
	a->ancestry[0] = (struct alert_proc){ 5150, 5100, 1002, "rclone",
					      "/usr/bin/rclone" };
	a->ancestry[1] = (struct alert_proc){ 5100, 1, 1002, "bash",
					      "/bin/bash" };

	a->nr_chain = 1;
	a->chain = calloc(1, sizeof(*a->chain));
	a->chain[0] = (struct alert_step){
		.pid = 5150, .via = VIA_READ, .bytes = 4000,
		.comm = "rclone", .exe = "/usr/bin/rclone",
		.object = "/srv/hr/reviews.odt" };
}

/* make_alert()'s "new" line on host desk-42: docs/siem.md's mapping. */
static const char GOLDEN[] =
	"{\"@timestamp\":\"2026-12-04T11:28:20.000001Z\","
	"\"message\":\"rclone sent 4.0 KiB of watched data\","
	"\"ecs\":{\"version\":\"8.11.0\"},"
	"\"event\":{\"kind\":\"alert\","
	"\"category\":[\"intrusion_detection\",\"file\",\"network\"],"
	"\"type\":[\"info\"],\"action\":\"exfiltration-detected\","
	"\"id\":\"12-new-1796383700000001\",\"severity\":4,"
	"\"module\":\"exfilmon\",\"dataset\":\"exfilmon.alert\","
	"\"created\":\"2026-12-04T11:28:10.500000Z\","
	"\"start\":\"2026-12-04T11:27:38.000001Z\","
	"\"end\":\"2026-12-04T11:28:20.000001Z\",\"duration\":42000000500},"
	"\"rule\":{\"id\":\"exfilmon.exfiltration\","
	"\"name\":\"watched data sent outside\",\"category\":\"exfiltration\","
	"\"ruleset\":\"exfilmon\"},"
	"\"threat\":{\"framework\":\"MITRE ATT&CK\",\"tactic\":{"
	"\"id\":[\"TA0010\"],\"name\":[\"Exfiltration\"],"
	"\"reference\":[\"https://attack.mitre.org/tactics/TA0010/\"]}},"
	"\"observer\":{\"vendor\":\"exfilmon\",\"product\":\"exfilmon\","
	"\"version\":\"" EXFILMON_VERSION "\",\"type\":\"dlp\"},"
	"\"host\":{\"hostname\":\"desk-42\"},"
	"\"user\":{\"id\":\"1002\",\"name\":\"eve\"},"
	"\"process\":{\"pid\":5150,\"name\":\"rclone\","
	"\"executable\":\"/usr/bin/rclone\","
	"\"command_line\":\"rclone copy /srv/hr remote:drop\","
	"\"parent\":{\"pid\":5100,\"name\":\"bash\",\"executable\":\"/bin/bash\"}},"
	"\"file\":{\"path\":\"/srv/hr/reviews.odt\"},"
	"\"source\":{\"bytes\":4100},"
	"\"destination\":{\"ip\":\"2001:db8:7::9\",\"port\":443},"
	"\"network\":{\"direction\":\"egress\",\"type\":\"ipv6\","
	"\"transport\":\"tcp\"},"
	"\"exfilmon\":{\"schema_version\":1,\"alert_id\":12,\"event\":\"new\","
	"\"severity\":\"critical\",\"sensor\":\"kmod\",\"bytes_read\":4000,"
	"\"taint\":4200,\"bytes_sent\":4100,\"senders\":1,"
	"\"action\":\"detected\",\"refused\":0,"
	"\"files\":[{\"path\":\"/srv/hr/salaries.ods\",\"bytes_read\":1000},"
	"{\"path\":\"/srv/hr/reviews.odt\",\"bytes_read\":3000}],"
	"\"destinations\":[{\"addr\":\"2001:db8:7::9\",\"port\":53,"
	"\"proto\":\"udp\",\"bytes_sent\":100},{\"addr\":\"2001:db8:7::9\","
	"\"port\":443,\"proto\":\"tcp\",\"bytes_sent\":2000},"
	"{\"addr\":\"2001:db8:7::9\",\"port\":8443,\"proto\":\"tcp\","
	"\"bytes_sent\":2000}],"
	"\"chain\":[{\"pid\":5150,\"comm\":\"rclone\","
	"\"exe\":\"/usr/bin/rclone\",\"via\":\"read\","
	"\"object\":\"/srv/hr/reviews.odt\",\"bytes\":4000}],"
	"\"ancestry\":[{\"pid\":5150,\"ppid\":5100,\"uid\":1002,"
	"\"comm\":\"rclone\",\"exe\":\"/usr/bin/rclone\"},{\"pid\":5100,"
	"\"ppid\":1,\"uid\":1002,\"comm\":\"bash\",\"exe\":\"/bin/bash\"}],"
	"\"first_ns\":1000000000,\"last_ns\":43000000500}}";

/* The ECS text of a, as a malloc'd string (NULL on failure). */
static char *ecs_text(const struct alert *a, const char *event,
		      const char *hostname)
{
	struct json_object *obj;
	char *s;

	if (alert_ecs_json(a, event, hostname, &obj))
		return NULL;
	s = strdup(json_object_to_json_string_ext(obj, JSON_FLAGS));
	json_object_put(obj);
	return s;
}

/* The member at a dotted path ("process.parent.pid"), or NULL. */
static struct json_object *at(struct json_object *o, const char *path)
{
	char buf[128], *key, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (key = strtok_r(buf, ".", &save); o && key;
	     key = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(o, key, &o))
			return NULL;
	return o;
}

static const char *str_at(struct json_object *o, const char *path)
{
	o = at(o, path);
	return o && json_object_is_type(o, json_type_string) ?
		json_object_get_string(o) : NULL;
}

TEST(ecs_document_is_the_documented_mapping)
{
	struct alert a;
	char *text;

	make_alert(&a);
	text = ecs_text(&a, "new", "desk-42");
	ASSERT_NE(NULL, text);
	EXPECT_STREQ(GOLDEN, text);
	free(text);
	alert_free(&a);
}

/* s with the first from replaced by to (malloc'd; NULL if from is absent) */
static char *subst(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	char *out;

	if (!p || asprintf(&out, "%.*s%s%s", (int)(p - s), s, to,
			   p + strlen(from)) < 0)
		return NULL;
	return out;
}

TEST(ecs_update_differs_in_action_id_and_event_only)
{
	char *e1, *e2, *expected, *text;
	struct alert a;

	make_alert(&a);
	text = ecs_text(&a, "update", "desk-42");
	ASSERT_NE(NULL, text);
	e1 = subst(GOLDEN, "\"exfiltration-detected\"",
		   "\"exfiltration-updated\"");
	ASSERT_NE(NULL, e1);
	e2 = subst(e1, "\"12-new-", "\"12-update-");
	ASSERT_NE(NULL, e2);
	expected = subst(e2, "\"event\":\"new\"", "\"event\":\"update\"");
	ASSERT_NE(NULL, expected);
	EXPECT_STREQ(expected, text);
	free(expected);
	free(e2);
	free(e1);
	free(text);
	alert_free(&a);
}

TEST(ecs_refuses_unknown_event)
{
	struct json_object *obj = NULL;
	struct alert a;

	make_alert(&a);
	EXPECT_EQ(-EINVAL, alert_ecs_json(&a, "deleted", "h", &obj));
	EXPECT_EQ(-EINVAL, alert_ecs_json(&a, NULL, "h", &obj));
	EXPECT_EQ(NULL, obj);
	alert_free(&a);
}

/* A sender gone before the daemon named it: nothing is made up. */
TEST(ecs_leaves_out_what_is_unknown)
{
	struct json_object *obj;
	struct alert a;

	make_alert(&a);
	a.user[0] = a.comm[0] = a.exe[0] = a.cmdline[0] = '\0';
	a.uid = 0;
	a.ppid = 0;
	a.first_ns = 0;
	alert_free(&a);		/* no files, destinations, chain, ancestry */
	strcpy(a.host, "203.0.113.9");
	ASSERT_EQ(0, alert_ecs_json(&a, "new", NULL, &obj));
	EXPECT_EQ(NULL, at(obj, "user"));
	EXPECT_EQ(NULL, at(obj, "host"));
	EXPECT_EQ(NULL, at(obj, "file"));
	EXPECT_EQ(5150, json_object_get_int(at(obj, "process.pid")));
	EXPECT_EQ(NULL, at(obj, "process.name"));
	EXPECT_EQ(NULL, at(obj, "process.executable"));
	EXPECT_EQ(NULL, at(obj, "process.command_line"));
	EXPECT_EQ(NULL, at(obj, "process.parent"));
	EXPECT_EQ(NULL, at(obj, "event.start"));
	EXPECT_EQ(NULL, at(obj, "event.duration"));
	EXPECT_STREQ("2026-12-04T11:28:20.000001Z", str_at(obj, "event.end"));
	EXPECT_STREQ("203.0.113.9", str_at(obj, "destination.ip"));
	EXPECT_EQ(NULL, at(obj, "destination.port"));
	EXPECT_EQ(NULL, at(obj, "network.transport"));
	EXPECT_STREQ("ipv4", str_at(obj, "network.type"));
	EXPECT_EQ(0, json_object_array_length(at(obj, "exfilmon.files")));
	json_object_put(obj);
}

/* ppid names the parent; ancestry[1] only if it is still that process. */
TEST(ecs_parent_named_only_when_ancestry_agrees)
{
	struct json_object *obj;
	struct alert a;

	make_alert(&a);
	a.ancestry[1].pid = 1;	/* reparented since */
	ASSERT_EQ(0, alert_ecs_json(&a, "new", "h", &obj));
	EXPECT_EQ(5100, json_object_get_int(at(obj, "process.parent.pid")));
	EXPECT_EQ(NULL, at(obj, "process.parent.name"));
	EXPECT_EQ(NULL, at(obj, "process.parent.executable"));
	json_object_put(obj);
	alert_free(&a);
}

TEST(top_destination_and_file)
{
	struct alert a;

	make_alert(&a);
	/* 443 and 8443 tie at 2000 bytes: the first listed wins */
	EXPECT_EQ(&a.dests[1], alert_top_dest(&a));
	EXPECT_EQ(&a.files[1], alert_top_file(&a));
	a.dests[2].bytes_sent = 2001;
	EXPECT_EQ(&a.dests[2], alert_top_dest(&a));
	alert_free(&a);
	EXPECT_EQ(NULL, alert_top_dest(&a));
	EXPECT_EQ(NULL, alert_top_file(&a));
}

/* The ECS side gets the same treatment of hostile bytes as docs/alerts.md. */
TEST(ecs_hostile_strings_stay_one_valid_line)
{
	struct json_object *obj;
	struct alert a;
	char *text;

	make_alert(&a);
	strcpy(a.comm, "a\nb\x1b[2J");
	strcpy(a.exe, "/tmp/\xff\xc0\xaf");
	strcpy(a.user, "caf\xc3\xa9");
	strcpy(a.files[1].path, "/srv/\"q\"\n");
	strcpy(a.reason, "sent\n{\"forged\":1}");
	text = ecs_text(&a, "new", "host\nname");
	ASSERT_NE(NULL, text);
	EXPECT_EQ(NULL, strchr(text, '\n'));
	EXPECT_EQ(NULL, strchr(text, '\x1b'));
	obj = json_parse_strict(text);
	ASSERT_NE(NULL, obj);
	EXPECT_STREQ("a\nb\x1b[2J", str_at(obj, "process.name"));
	EXPECT_STREQ("/tmp/\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
		     str_at(obj, "process.executable"));
	EXPECT_STREQ("caf\xc3\xa9", str_at(obj, "user.name"));
	EXPECT_STREQ("/srv/\"q\"\n", str_at(obj, "file.path"));
	EXPECT_STREQ("sent\n{\"forged\":1}", str_at(obj, "message"));
	EXPECT_STREQ("host\nname", str_at(obj, "host.hostname"));
	EXPECT_EQ(NULL, at(obj, "forged"));
	json_object_put(obj);
	free(text);
	alert_free(&a);
}

/* exfilmon.* is docs/alerts.md's form: the internal object's members. */
TEST(ecs_exfilmon_members_are_the_alert_json_ones)
{
	static const char *const keys[] = {
		"severity", "sensor", "bytes_read", "taint", "bytes_sent",
		"senders", "action", "refused", "files", "destinations",
		"chain", "ancestry", "first_ns", "last_ns",
	};
	struct json_object *obj, *internal, *v;
	struct alert a;
	size_t i;

	make_alert(&a);
	a.bytes_sent = UINT64_MAX;	/* beyond int64 and doubles */
	ASSERT_EQ(0, alert_ecs_json(&a, "update", "h", &obj));
	internal = alert_to_json(&a);
	ASSERT_NE(NULL, internal);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char path[64];
		char *mine;

		snprintf(path, sizeof(path), "exfilmon.%s", keys[i]);
		ASSERT_NE(NULL, at(obj, path));
		ASSERT_TRUE(json_object_object_get_ex(internal, keys[i], &v));
		mine = strdup(json_object_to_json_string_ext(at(obj, path),
							      JSON_FLAGS));
		EXPECT_STREQ(json_object_to_json_string_ext(v, JSON_FLAGS),
			     mine);
		free(mine);
	}
	EXPECT_EQ(UINT64_MAX,
		  json_object_get_uint64(at(obj, "exfilmon.bytes_sent")));
	EXPECT_EQ(UINT64_MAX, json_object_get_uint64(at(obj, "source.bytes")));
	EXPECT_EQ(12, json_object_get_int(at(obj, "exfilmon.alert_id")));
	EXPECT_EQ(ALERT_ECS_SCHEMA_VERSION,
		  json_object_get_int(at(obj, "exfilmon.schema_version")));
	json_object_put(internal);
	json_object_put(obj);
	alert_free(&a);
}

/*
 * The log file.
 */
FIXTURE(jsonlog) {
	char dir[64];
	char path[128];
	char rotated[128];
	struct alert a;
};

FIXTURE_SETUP(jsonlog)
{
	strcpy(self->dir, "/tmp/test_jsonlog.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/alerts.json", self->dir);
	snprintf(self->rotated, sizeof(self->rotated), "%s/alerts.json.1",
		 self->dir);
	make_alert(&self->a);
}

FIXTURE_TEARDOWN(jsonlog)
{
	char p[160];

	alert_free(&self->a);
	unlink(self->path);
	unlink(self->rotated);
	snprintf(p, sizeof(p), "%s/link.json", self->dir);
	unlink(p);
	rmdir(self->dir);
}

/* The whole file, NUL-terminated. */
static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	struct stat st;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return NULL;
	if (!fstat(fileno(f), &st)) {
		buf = calloc(1, st.st_size + 1);
		if (buf && fread(buf, 1, st.st_size, f) != (size_t)st.st_size) {
			free(buf);
			buf = NULL;
		}
		*len = st.st_size;
	}
	fclose(f);
	return buf;
}

/* What jsonlog_write() must append for a on this machine. */
static char *expected_line(const struct alert *a, const char *event)
{
	char host[HOST_NAME_MAX + 1] = "", *text, *line;

	gethostname(host, sizeof(host) - 1);
	text = ecs_text(a, event, host);
	if (!text || asprintf(&line, "%s\n", text) < 0)
		line = NULL;
	free(text);
	return line;
}

TEST_F(jsonlog, one_line_per_event_mode_0640)
{
	char *new_line, *update_line, *text, *expected;
	struct json_object *obj;
	struct jsonlog *jl;
	struct stat st;
	size_t len;

	umask(077);
	ASSERT_EQ(0, jsonlog_open(&jl, self->path));
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ(0640, st.st_mode & 07777);
	ASSERT_EQ(0, jsonlog_write(jl, &self->a, "new"));
	new_line = expected_line(&self->a, "new");
	self->a.bytes_sent = 7000000;
	ASSERT_EQ(0, jsonlog_write(jl, &self->a, "update"));
	update_line = expected_line(&self->a, "update");
	EXPECT_EQ(-EINVAL, jsonlog_write(jl, &self->a, "deleted"));
	EXPECT_EQ(-EINVAL, jsonlog_write(jl, &self->a, NULL));
	jsonlog_close(jl);
	jsonlog_close(NULL);

	ASSERT_NE(NULL, new_line);
	ASSERT_NE(NULL, update_line);
	ASSERT_LT(0, asprintf(&expected, "%s%s", new_line, update_line));
	text = slurp(self->path, &len);
	ASSERT_NE(NULL, text);
	EXPECT_EQ(strlen(expected), len);
	EXPECT_STREQ(expected, text);
	/* the second line is the update, with its figures */
	*strrchr(text, '\n') = '\0';
	obj = json_parse_strict(strchr(text, '\n') + 1);
	ASSERT_NE(NULL, obj);
	EXPECT_STREQ("update", str_at(obj, "exfilmon.event"));
	EXPECT_EQ(7000000, json_object_get_int64(at(obj, "source.bytes")));
	json_object_put(obj);
	free(text);
	free(expected);
	free(new_line);
	free(update_line);
}

/*
 * Names from the kernel (comm, exe) and watched paths are any bytes: an
 * insider names his binary with a newline and an escape sequence, his
 * file with invalid UTF-8. The log still gets one strict-JSON line.
 */
TEST_F(jsonlog, hostile_names_and_paths_make_one_valid_line)
{
	struct json_object *obj;
	struct jsonlog *jl;
	char *text;
	size_t len;

	strcpy(self->a.comm, "x\n{\"a\":1}\x1b[2J");
	strcpy(self->a.exe, "/tmp/\x1b]0;owned\x07\xc2\x9b" "2J\n");
	strcpy(self->a.ancestry[1].comm, "\xff\xfe");
	strcpy(self->a.files[1].path, "/srv/hr/\xffreviews\n.odt");
	ASSERT_EQ(0, jsonlog_open(&jl, self->path));
	ASSERT_EQ(0, jsonlog_write(jl, &self->a, "new"));
	jsonlog_close(jl);
	text = slurp(self->path, &len);
	ASSERT_NE(NULL, text);
	ASSERT_LT(0, len);
	EXPECT_EQ(strlen(text), len);
	/* one line: its only newline the last byte */
	EXPECT_EQ(text + len - 1, strchr(text, '\n'));
	EXPECT_EQ(NULL, strchr(text, '\x1b'));
	EXPECT_EQ(NULL, strchr(text, '\xff'));
	text[len - 1] = '\0';
	obj = json_parse_strict(text);
	ASSERT_NE(NULL, obj) TH_LOG("not strict JSON: %s", text);
	EXPECT_STREQ("x\n{\"a\":1}\x1b[2J", str_at(obj, "process.name"));
	/* U+0080-U+009F are well-formed UTF-8: kept, as \u escapes */
	EXPECT_STREQ("/tmp/\x1b]0;owned\x07\xc2\x9b" "2J\n",
		     str_at(obj, "process.executable"));
	EXPECT_STREQ("/srv/hr/\xef\xbf\xbdreviews\n.odt",
		     str_at(obj, "file.path"));
	json_object_put(obj);
	free(text);
}

TEST_F(jsonlog, appends_to_existing_file_and_keeps_its_mode)
{
	struct jsonlog *jl;
	struct stat st;
	char *text, *line;
	size_t len;
	int fd;

	fd = open(self->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(6, write(fd, "older\n", 6));
	close(fd);
	ASSERT_EQ(0, jsonlog_open(&jl, self->path));
	ASSERT_EQ(0, jsonlog_write(jl, &self->a, "new"));
	jsonlog_close(jl);
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ(0600, st.st_mode & 07777);
	text = slurp(self->path, &len);
	line = expected_line(&self->a, "new");
	ASSERT_NE(NULL, text);
	ASSERT_NE(NULL, line);
	EXPECT_EQ(0, strncmp(text, "older\n", 6));
	EXPECT_STREQ(line, text + 6);
	free(text);
	free(line);
}

TEST_F(jsonlog, refuses_symlink)
{
	struct jsonlog *jl = NULL;
	char link[160];

	snprintf(link, sizeof(link), "%s/link.json", self->dir);
	ASSERT_EQ(0, symlink(self->path, link));
	EXPECT_EQ(-ELOOP, jsonlog_open(&jl, link));
	EXPECT_EQ(NULL, jl);
	EXPECT_EQ(-1, access(self->path, F_OK));
}

/* RLIMIT_FSIZE makes the kernel accept only part of a write. */
TEST_F(jsonlog, short_write_leaves_no_partial_line)
{
	struct rlimit rl;
	struct jsonlog *jl;
	char *text, *line;
	size_t len;

	line = expected_line(&self->a, "new");
	ASSERT_NE(NULL, line);
	ASSERT_EQ(0, jsonlog_open(&jl, self->path));
	ASSERT_EQ(0, jsonlog_write(jl, &self->a, "new"));

	signal(SIGXFSZ, SIG_IGN);
	ASSERT_EQ(0, getrlimit(RLIMIT_FSIZE, &rl));
	rl.rlim_cur = strlen(line) + 100;
	ASSERT_EQ(0, setrlimit(RLIMIT_FSIZE, &rl));
	EXPECT_EQ(-EFBIG, jsonlog_write(jl, &self->a, "new"));
	text = slurp(self->path, &len);
	ASSERT_NE(NULL, text);
	EXPECT_STREQ(line, text);
	free(text);

	/* Room again: the retried line is whole and follows the first. */
	rl.rlim_cur = rl.rlim_max;
	ASSERT_EQ(0, setrlimit(RLIMIT_FSIZE, &rl));
	ASSERT_EQ(0, jsonlog_write(jl, &self->a, "new"));
	jsonlog_close(jl);
	text = slurp(self->path, &len);
	ASSERT_NE(NULL, text);
	EXPECT_EQ(2 * strlen(line), len);
	EXPECT_EQ(0, strncmp(text, line, strlen(line)));
	EXPECT_STREQ(line, text + strlen(line));
	free(text);
	free(line);
}

TEST(jsonlog_full_disk_is_enospc)
{
	struct jsonlog *jl;
	struct alert a;

	if (access("/dev/full", W_OK))
		SKIP(return, "/dev/full is not writable here");
	make_alert(&a);
	ASSERT_EQ(0, jsonlog_open(&jl, "/dev/full"));
	EXPECT_EQ(-ENOSPC, jsonlog_write(jl, &a, "new"));
	jsonlog_close(jl);
	alert_free(&a);
}

TEST_F(jsonlog, reopen_follows_rotation)
{
	char *line, *text;
	struct jsonlog *jl;
	size_t len;

	line = expected_line(&self->a, "update");
	ASSERT_NE(NULL, line);
	ASSERT_EQ(0, jsonlog_open(&jl, self->path));
	ASSERT_EQ(0, jsonlog_write(jl, &self->a, "update"));
	ASSERT_EQ(0, rename(self->path, self->rotated));
	ASSERT_EQ(0, jsonlog_reopen(jl));
	ASSERT_EQ(0, jsonlog_write(jl, &self->a, "update"));
	jsonlog_close(jl);
	text = slurp(self->rotated, &len);
	ASSERT_NE(NULL, text);
	EXPECT_STREQ(line, text);
	free(text);
	text = slurp(self->path, &len);
	ASSERT_NE(NULL, text);
	EXPECT_STREQ(line, text);
	free(text);
	free(line);
}

/* The file at path holds exactly n copies of line. */
static int holds_lines(const char *path, const char *line, int n)
{
	size_t len, one = strlen(line);
	char *text = slurp(path, &len);
	int i, ok = text && len == n * one;

	for (i = 0; ok && i < n; i++)
		ok = !memcmp(text + i * one, line, one);
	free(text);
	return ok;
}

TEST_F(jsonlog, follow_keeps_the_file_while_path_names_it)
{
	struct jsonlog *jl;
	char *line;

	line = expected_line(&self->a, "new");
	ASSERT_NE(NULL, line);
	ASSERT_EQ(0, jsonlog_open(&jl, self->path));
	EXPECT_EQ(0, jsonlog_follow(jl));
	ASSERT_EQ(0, jsonlog_write(jl, &self->a, "new"));
	EXPECT_EQ(0, jsonlog_follow(jl));
	ASSERT_EQ(0, jsonlog_write(jl, &self->a, "new"));
	jsonlog_close(jl);
	EXPECT_TRUE(holds_lines(self->path, line, 2));
	free(line);
}

/* logrotate without copytruncate: rename, then (maybe) create. */
TEST_F(jsonlog, follow_after_rename_starts_a_new_file)
{
	struct jsonlog *jl;
	struct stat st;
	char *line;

	umask(077);
	line = expected_line(&self->a, "new");
	ASSERT_NE(NULL, line);
	ASSERT_EQ(0, jsonlog_open(&jl, self->path));
	ASSERT_EQ(0, jsonlog_write(jl, &self->a, "new"));
	ASSERT_EQ(0, rename(self->path, self->rotated));
	/* a line written before the daemon notices goes to the old file */
	ASSERT_EQ(0, jsonlog_write(jl, &self->a, "new"));
	EXPECT_EQ(1, jsonlog_follow(jl));
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ(0640, st.st_mode & 07777);
	EXPECT_EQ(0, jsonlog_follow(jl));
	ASSERT_EQ(0, jsonlog_write(jl, &self->a, "new"));
	jsonlog_close(jl);
	EXPECT_TRUE(holds_lines(self->rotated, line, 2));
	EXPECT_TRUE(holds_lines(self->path, line, 1));
	free(line);
}

/* logrotate's "create": a new file with its own mode is already there. */
TEST_F(jsonlog, follow_after_create_appends_to_the_new_file)
{
	struct jsonlog *jl;
	struct stat st;
	char *line;
	int fd;

	line = expected_line(&self->a, "update");
	ASSERT_NE(NULL, line);
	ASSERT_EQ(0, jsonlog_open(&jl, self->path));
	ASSERT_EQ(0, rename(self->path, self->rotated));
	fd = open(self->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(1, jsonlog_follow(jl));
	ASSERT_EQ(0, jsonlog_write(jl, &self->a, "update"));
	jsonlog_close(jl);
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_TRUE(holds_lines(self->path, line, 1));
	EXPECT_TRUE(holds_lines(self->rotated, line, 0));
	free(line);
}

TEST_F(jsonlog, follow_after_remove_creates_the_file)
{
	struct jsonlog *jl;
	char *line;

	line = expected_line(&self->a, "new");
	ASSERT_NE(NULL, line);
	ASSERT_EQ(0, jsonlog_open(&jl, self->path));
	ASSERT_EQ(0, unlink(self->path));
	EXPECT_EQ(1, jsonlog_follow(jl));
	ASSERT_EQ(0, jsonlog_write(jl, &self->a, "new"));
	jsonlog_close(jl);
	EXPECT_TRUE(holds_lines(self->path, line, 1));
	free(line);
}

/* A symlink planted at the path is refused, and the old file kept. */
TEST_F(jsonlog, follow_refuses_a_planted_symlink)
{
	struct jsonlog *jl;
	char *line, target[160];

	line = expected_line(&self->a, "new");
	ASSERT_NE(NULL, line);
	snprintf(target, sizeof(target), "%s/link.json", self->dir);
	ASSERT_EQ(0, jsonlog_open(&jl, self->path));
	ASSERT_EQ(0, rename(self->path, self->rotated));
	ASSERT_EQ(0, symlink(target, self->path));
	EXPECT_EQ(-ELOOP, jsonlog_follow(jl));
	ASSERT_EQ(0, jsonlog_write(jl, &self->a, "new"));
	EXPECT_EQ(-ELOOP, jsonlog_follow(jl));
	ASSERT_EQ(0, unlink(self->path));
	EXPECT_EQ(1, jsonlog_follow(jl));
	jsonlog_close(jl);
	EXPECT_TRUE(holds_lines(self->rotated, line, 1));
	EXPECT_EQ(-1, access(target, F_OK));
	free(line);
}

/* A FIFO with no reader at the path must not hang the daemon. */
TEST_F(jsonlog, follow_refuses_a_fifo_without_blocking)
{
	struct jsonlog *jl;
	char *line;

	line = expected_line(&self->a, "new");
	ASSERT_NE(NULL, line);
	ASSERT_EQ(0, jsonlog_open(&jl, self->path));
	ASSERT_EQ(0, rename(self->path, self->rotated));
	ASSERT_EQ(0, mkfifo(self->path, 0600));
	alarm(5);	/* a blocking open fails the test, not the run */
	EXPECT_EQ(-ENXIO, jsonlog_follow(jl));
	alarm(0);
	ASSERT_EQ(0, jsonlog_write(jl, &self->a, "new"));
	ASSERT_EQ(0, unlink(self->path));
	jsonlog_close(jl);
	EXPECT_TRUE(holds_lines(self->rotated, line, 1));
	free(line);
}

/* Writers in several processes: every line must still parse on its own. */
TEST_F(jsonlog, concurrent_writers_never_interleave)
{
	const int writers = 4, lines = 200;
	char *text, *p, *nl;
	struct jsonlog *jl;
	int i, n = 0, status;
	size_t len;
	pid_t pid;

	/* Long lines make a torn write likely if it could happen. */
	memset(self->a.cmdline, 'x', ALERT_CMDLINE_LEN - 1);
	for (i = 0; i < writers; i++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			if (jsonlog_open(&jl, self->path))
				_exit(1);
			for (n = 0; n < lines; n++)
				if (jsonlog_write(jl, &self->a, "new"))
					_exit(2);
			jsonlog_close(jl);
			alert_free(&self->a);
			_exit(0);
		}
	}
	for (i = 0; i < writers; i++) {
		ASSERT_LT(0, wait(&status));
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(0, WEXITSTATUS(status));
	}
	text = slurp(self->path, &len);
	ASSERT_NE(NULL, text);
	for (p = text; (nl = strchr(p, '\n')); p = nl + 1, n++) {
		struct json_object *obj;

		*nl = '\0';
		obj = json_parse_strict(p);
		ASSERT_NE(NULL, obj);
		json_object_put(obj);
	}
	EXPECT_EQ('\0', *p);
	EXPECT_EQ(writers * lines, n);
	free(text);
}

TEST_HARNESS_MAIN
