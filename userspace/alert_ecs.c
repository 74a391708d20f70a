// SPDX-License-Identifier: GPL-2.0-only
/*
 * Alerts as Elastic Common Schema documents, for the JSON log. ECS is what
 * Filebeat, Elastic Agent and Logstash index without a pipeline of their
 * own, and what most other SIEMs ship a mapping for: the analyst finds the
 * process, user and destination where every other source puts them. What
 * only exfilmon knows (the chain, taint, the per-port figures) stays under
 * the custom "exfilmon" key, in the exact form of docs/alerts.md, taken
 * from alert_to_json() so the two can never drift apart.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "alert_ecs.h"

/* An exfiltration, as MITRE ATT&CK names the tactic (TA0010). */
#define ATTACK_TACTIC_ID	"TA0010"
#define ATTACK_TACTIC_NAME	"Exfiltration"
#define ATTACK_TACTIC_URL	"https://attack.mitre.org/tactics/TA0010/"

const struct alert_dest *alert_top_dest(const struct alert *a)
{
	const struct alert_dest *top = NULL;
	size_t i;

	for (i = 0; i < a->nr_dests; i++)
		if (!top || a->dests[i].bytes_sent > top->bytes_sent)
			top = &a->dests[i];
	return top;
}

const struct alert_file *alert_top_file(const struct alert *a)
{
	const struct alert_file *top = NULL;
	size_t i;

	for (i = 0; i < a->nr_files; i++)
		if (!top || a->files[i].bytes_read > top->bytes_read)
			top = &a->files[i];
	return top;
}

/* A new object under parent's key, owned by parent; NULL on ENOMEM. */
static struct json_object *child(struct json_object *parent, const char *key)
{
	struct json_object *o = json_object_new_object();

	return json_add(parent, key, o) ? NULL : o;
}

static int add_str(struct json_object *o, const char *key, const char *s)
{
	return json_add(o, key, json_object_new_string(s));
}

/*
 * A fixed-size field holding bytes someone else chose (comm, exe, paths):
 * made valid UTF-8 like the rest of the JSON, and left out when empty,
 * since ECS reads a missing field as unknown but an empty one as a value.
 */
static int add_field(struct json_object *o, const char *key, const char *field,
		     size_t size)
{
	size_t len = strnlen(field, size);

	if (!len)
		return 0;
	return json_add(o, key, json_string_from_bytes(field, len));
}

#define FIELD(o, key, f) add_field((o), (key), (f), sizeof(f))

static int add_time(struct json_object *o, const char *key, int64_t time_us)
{
	char buf[ALERT_TIME_LEN];

	format_rfc3339(time_us, buf, sizeof(buf));
	return add_str(o, key, buf);
}

/* ECS types these fields as arrays of keywords. */
static int add_strings(struct json_object *o, const char *key,
		       const char *const *strs, size_t nr)
{
	struct json_object *arr = json_object_new_array(), *v;
	size_t i;

	for (i = 0; arr && i < nr; i++) {
		v = json_object_new_string(strs[i]);
		if (!v || json_object_array_add(arr, v)) {
			json_object_put(v);
			json_object_put(arr);
			return -ENOMEM;
		}
	}
	return json_add(o, key, arr);
}

static int add_list(struct json_object *o, const char *key, const char *s)
{
	return add_strings(o, key, &s, 1);
}

/* Share the internal object's member from under another key. */
static int take(struct json_object *o, const char *key,
		struct json_object *internal, const char *from)
{
	struct json_object *v = NULL;

	/* alert_to_json() always has it; NULL makes json_add() fail */
	json_object_object_get_ex(internal, from, &v);
	return json_add(o, key, json_object_get(v));
}

static int add_event(struct json_object *doc, const struct alert *a,
		     const char *event)
{
	static const char *const categories[] = {
		"intrusion_detection", "file", "network",
	};
	struct json_object *ev = child(doc, "event");
	uint64_t duration;
	char id[64];

	/*
	 * One event per line: the alert id alone would make a SIEM that
	 * deduplicates on event.id drop the update. exfilmon.alert_id groups
	 * the lines of one alert.
	 */
	snprintf(id, sizeof(id), "%lld-%s-%lld", (long long)a->id, event,
		 (long long)a->updated_us);
	/* "info" is the one event.type ECS allows with all three categories */
	if (!ev || add_str(ev, "kind", "alert") ||
	    add_strings(ev, "category", categories,
			sizeof(categories) / sizeof(categories[0])) ||
	    add_list(ev, "type", "info") ||
	    add_str(ev, "action", !strcmp(event, "new") ?
		    "exfiltration-detected" : "exfiltration-updated") ||
	    add_str(ev, "id", id) ||
	    json_add(ev, "severity", json_object_new_int(a->severity)) ||
	    add_str(ev, "module", "exfilmon") ||
	    add_str(ev, "dataset", "exfilmon.alert") ||
	    add_time(ev, "created", a->time_us))
		return -ENOMEM;
	/*
	 * first_ns and last_ns are boot-time clocks; only their difference
	 * means something on the wall clock, counted back from the last send
	 * (updated). No first read known: no start.
	 */
	if (a->first_ns && a->last_ns >= a->first_ns) {
		duration = a->last_ns - a->first_ns;
		if (add_time(ev, "start",
			     a->updated_us - (int64_t)(duration / 1000)) ||
		    add_time(ev, "end", a->updated_us) ||
		    json_add(ev, "duration",
			     json_object_new_int64((int64_t)duration)))
			return -ENOMEM;
	} else if (add_time(ev, "end", a->updated_us)) {
		return -ENOMEM;
	}
	return 0;
}

/* Always the same: one rule, one tactic. They let a SIEM's views group us. */
static int add_rule(struct json_object *doc)
{
	struct json_object *rule = child(doc, "rule");
	struct json_object *threat = child(doc, "threat"), *tactic = NULL;

	if (threat && !add_str(threat, "framework", "MITRE ATT&CK"))
		tactic = child(threat, "tactic");
	if (!rule || !tactic ||
	    add_str(rule, "id", "exfilmon.exfiltration") ||
	    add_str(rule, "name", "watched data sent outside") ||
	    add_str(rule, "category", "exfiltration") ||
	    add_str(rule, "ruleset", "exfilmon") ||
	    add_list(tactic, "id", ATTACK_TACTIC_ID) ||
	    add_list(tactic, "name", ATTACK_TACTIC_NAME) ||
	    add_list(tactic, "reference", ATTACK_TACTIC_URL))
		return -ENOMEM;
	return 0;
}

static int add_observer(struct json_object *doc, const char *hostname)
{
	struct json_object *obs = child(doc, "observer"), *host;

	/*
	 * observer, not agent: the shippers (Filebeat, Elastic Agent) fill
	 * agent.* with themselves and would overwrite ours.
	 */
	if (!obs || add_str(obs, "vendor", "exfilmon") ||
	    add_str(obs, "product", "exfilmon") ||
	    add_str(obs, "version", EXFILMON_VERSION) ||
	    add_str(obs, "type", "dlp"))
		return -ENOMEM;
	if (!hostname || !*hostname)
		return 0;
	host = child(doc, "host");
	if (!host || add_str(host, "hostname", hostname))
		return -ENOMEM;
	return 0;
}

static int add_actor(struct json_object *doc, const struct alert *a)
{
	const struct alert_proc *parent = NULL;
	struct json_object *user, *proc, *pp;
	char uid[16];

	/* no user name: the sender was gone, and uid 0 is only a default */
	if (a->user[0]) {
		snprintf(uid, sizeof(uid), "%u", a->uid);
		user = child(doc, "user");
		if (!user || add_str(user, "id", uid) ||
		    FIELD(user, "name", a->user))
			return -ENOMEM;
	}
	proc = child(doc, "process");
	if (!proc || json_add(proc, "pid", json_object_new_int64(a->pid)) ||
	    FIELD(proc, "name", a->comm) ||
	    FIELD(proc, "executable", a->exe) ||
	    FIELD(proc, "command_line", a->cmdline))
		return -ENOMEM;
	if (!a->ppid)
		return 0;
	/* ancestry[1] names the parent unless it was reparented since */
	if (a->nr_ancestry > 1 && a->ancestry[1].pid == a->ppid)
		parent = &a->ancestry[1];
	pp = child(proc, "parent");
	if (!pp || json_add(pp, "pid", json_object_new_int64(a->ppid)))
		return -ENOMEM;
	if (parent && (FIELD(pp, "name", parent->comm) ||
		       FIELD(pp, "executable", parent->exe)))
		return -ENOMEM;
	return 0;
}

static int add_network(struct json_object *doc, const struct alert *a)
{
	const struct alert_dest *dest = alert_top_dest(a);
	const struct alert_file *file = alert_top_file(a);
	struct json_object *f, *src, *dst, *net;

	if (file && file->path[0]) {
		f = child(doc, "file");
		if (!f || FIELD(f, "path", file->path))
			return -ENOMEM;
	}
	/*
	 * source.bytes is "bytes sent from the source to the destination":
	 * here the watched data among them, so a lower bound of the upload.
	 * destination.bytes would be the replies.
	 */
	src = child(doc, "source");
	dst = child(doc, "destination");
	net = child(doc, "network");
	if (!src || !dst || !net ||
	    json_add(src, "bytes", json_object_new_uint64(a->bytes_sent)) ||
	    FIELD(dst, "ip", a->host) ||
	    (dest && json_add(dst, "port", json_object_new_int(dest->port))) ||
	    add_str(net, "direction", "egress") ||
	    add_str(net, "type", strchr(a->host, ':') ? "ipv6" : "ipv4"))
		return -ENOMEM;
	if (dest && (dest->proto == EXFILMON_PROTO_TCP ||
		     dest->proto == EXFILMON_PROTO_UDP) &&
	    add_str(net, "transport", alert_proto_name(dest->proto)))
		return -ENOMEM;
	return 0;
}

/* What ECS has no field for, in the internal form (docs/alerts.md). */
static int add_exfilmon(struct json_object *doc, const struct alert *a,
			const char *event, struct json_object *internal)
{
	static const char *const keys[] = {
		"severity", "sensor", "bytes_read", "taint", "bytes_sent",
		"senders", "action", "refused", "files", "destinations",
		"chain", "ancestry", "first_ns", "last_ns",
	};
	struct json_object *x = child(doc, "exfilmon");
	size_t i;

	if (!x || json_add(x, "schema_version",
			   json_object_new_int(ALERT_ECS_SCHEMA_VERSION)) ||
	    take(x, "alert_id", internal, "id") || add_str(x, "event", event))
		return -ENOMEM;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (take(x, keys[i], internal, keys[i]))
			return -ENOMEM;
	return 0;
}

int alert_ecs_json(const struct alert *a, const char *event,
		   const char *hostname, struct json_object **out)
{
	struct json_object *doc, *ecs, *internal;
	int err = -ENOMEM;

	if (!event || (strcmp(event, "new") && strcmp(event, "update")))
		return -EINVAL;
	internal = alert_to_json(a);
	doc = json_object_new_object();
	if (!internal || !doc)
		goto cleanup;
	/* @timestamp: this version of the alert, i.e. its last change */
	if (add_time(doc, "@timestamp", a->updated_us) ||
	    FIELD(doc, "message", a->reason))
		goto cleanup;
	ecs = child(doc, "ecs");
	if (!ecs || add_str(ecs, "version", ALERT_ECS_VERSION) ||
	    add_event(doc, a, event) || add_rule(doc) ||
	    add_observer(doc, hostname) || add_actor(doc, a) ||
	    add_network(doc, a) || add_exfilmon(doc, a, event, internal))
		goto cleanup;
	*out = doc;
	doc = NULL;
	err = 0;
cleanup:
	json_object_put(doc);
	json_object_put(internal);
	return err;
}
