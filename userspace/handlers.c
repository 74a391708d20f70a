// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilctl's requests, one handle_<cmd>() each. Who may ask what is decided
 * here, before anything runs: readers see, only root changes.
 */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "alert.h"
#include "ctl_format.h"
#include "daemon.h"
#include "log.h"

#define QUERY_MAX_ROWS 10000

static struct json_object *ok_reply(void)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "ok", json_object_new_boolean(1));
	return r;
}

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

static struct json_object *handle_status(struct daemon *d,
					 struct json_object *req)
{
	uint64_t st[EXFILMON_STAT_NR] = { 0 };
	struct json_object *r = ok_reply(), *full;
	char abi[32];
	int64_t alerts = 0;

	d->sensor->ops->stats(d->sensor, st);
	store_count_alerts(d->store, &alerts);
	snprintf(abi, sizeof(abi), "%u.%u", d->sensor->abi_version >> 16,
		 d->sensor->abi_version & 0xffff);
	json_object_object_add(r, "sensor",
			       json_object_new_string(sensor_kind(d->sensor)));
	json_object_object_add(r, "abi", json_object_new_string(abi));
	json_object_object_add(r, "version",
			       json_object_new_string(EXFILMON_VERSION));
	add_u64(r, "pid", getpid());
	json_object_object_add(r, "config",
			       json_object_new_string(d->cfg.path));
	add_u64(r, "uptime_s", (now_boot_ns() - d->started_ns) / 1000000000ull);
	json_object_object_add(r, "watched", watchlist_json(&d->watches));
	add_u64(r, "procs_known", proctree_count(&d->procs));
	add_u64(r, "procs_tracked", corr_trees(d->corr));
	add_u64(r, "events", st[EXFILMON_STAT_EVENTS]);
	add_u64(r, "dropped", st[EXFILMON_STAT_DROPPED]);
	add_u64(r, "lost_read_bytes", st[EXFILMON_STAT_LOST_READ_BYTES]);
	add_u64(r, "lost_send_bytes", st[EXFILMON_STAT_LOST_SEND_BYTES]);
	add_u64(r, "lost_taint_bytes", st[EXFILMON_STAT_LOST_TAINT_BYTES]);
	add_u64(r, "stale", st[EXFILMON_STAT_STALE]);
	add_u64(r, "opaque", d->watches.nr_opaque);
	/* by table: watched counts the derived marks it refused */
	full = json_object_new_object();
	add_u64(full, "procs", st[EXFILMON_STAT_PROC_FULL]);
	add_u64(full, "reads", st[EXFILMON_STAT_READ_FULL]);
	add_u64(full, "sends", st[EXFILMON_STAT_SEND_FULL]);
	add_u64(full, "flows", st[EXFILMON_STAT_FLOW_FULL]);
	add_u64(full, "streams", st[EXFILMON_STAT_STREAM_FULL]);
	add_u64(full, "watched", st[EXFILMON_STAT_DERIVED_FULL]);
	json_object_object_add(r, "table_full", full);
	add_u64(r, "alerts", alerts);
	json_object_object_add(r, "store_ok",
			       json_object_new_boolean(!d->store_failing));
	/* the self-check's findings (selfcheck.c) */
	full = json_object_new_object();
	add_u64(full, "events", d->tamper.count);
	add_u64(full, "mended", d->tamper.mended);
	if (d->tamper.count) {
		add_u64(full, "last_time_us", d->tamper.last_us);
		json_object_object_add(full, "last",
				json_object_new_string(d->tamper.last));
	}
	json_object_object_add(r, "tamper", full);
	json_object_object_add(r, "prevent", daemon_prevent_status(d, st));
	return r;
}

static struct json_object *handle_alerts(struct daemon *d,
					 struct json_object *req)
{
	struct json_object *v, *r, *arr;
	struct alert *list = NULL;
	int64_t since_us = 0;
	size_t nr = 0, i;
	int ret;

	if (json_object_object_get_ex(req, "since_s", &v)) {
		int64_t s = json_object_get_int64(v);

		if (!json_object_is_type(v, json_type_int))
			return ipc_error("since_s must be a number of seconds");
		if (s < 0)
			return ipc_error("since_s must not be negative");
		since_us = s > now_real_us() / 1000000ll ? 0 :
			now_real_us() - s * 1000000ll;
	}
	ret = store_list_alerts(d->store, since_us, &list, &nr);
	if (ret)
		return ipc_error("cannot read alerts: %s", strerror(-ret));
	r = ok_reply();
	arr = json_object_new_array();
	for (i = 0; i < nr; i++)
		json_object_array_add(arr, alert_to_json(&list[i]));
	store_free_alerts(list, nr);
	json_object_object_add(r, "alerts", arr);
	return r;
}

static struct json_object *handle_show(struct daemon *d,
				       struct json_object *req)
{
	struct json_object *v, *r;
	struct alert a;
	int64_t id;
	int ret;

	if (!json_object_object_get_ex(req, "id", &v) || !v ||
	    !json_object_is_type(v, json_type_int))
		return ipc_error("show needs a numeric alert id");
	id = json_object_get_int64(v);
	memset(&a, 0, sizeof(a));
	ret = store_get_alert(d->store, id, &a);
	if (ret == -ENOENT)
		return ipc_error("no alert with id %lld", (long long)id);
	if (ret)
		return ipc_error("cannot read alert %lld: %s", (long long)id,
				 strerror(-ret));
	r = ok_reply();
	json_object_object_add(r, "alert", alert_to_json(&a));
	alert_free(&a);
	return r;
}

/*
 * The security team marks an alert seen: readers may, as triage is their
 * job; the alert itself is not changed, and who and when are kept.
 */
static struct json_object *handle_ack(struct daemon *d,
				      const struct ipc_peer *peer,
				      struct json_object *req)
{
	struct json_object *v, *r;
	int64_t id, acked_us;
	int ret;

	if (!json_object_object_get_ex(req, "id", &v) || !v ||
	    !json_object_is_type(v, json_type_int))
		return ipc_error("ack needs a numeric alert id");
	id = json_object_get_int64(v);
	ret = store_ack(d->store, id, peer->uid, now_real_us(), &acked_us);
	if (ret == -ENOENT)
		return ipc_error("no alert with id %lld", (long long)id);
	if (ret)
		return ipc_error("cannot acknowledge alert %lld: %s",
				 (long long)id, strerror(-ret));
	log_info("alert %lld acknowledged by uid %u", (long long)id,
		 (unsigned)peer->uid);
	r = ok_reply();
	json_object_object_add(r, "id", json_object_new_int64(id));
	json_object_object_add(r, "acked", json_time(acked_us));
	return r;
}

static struct json_object *handle_query(struct daemon *d,
					struct json_object *req)
{
	struct json_object *v, *result = NULL, *r;
	char err[512];
	int ret;

	if (!json_object_object_get_ex(req, "sql", &v) ||
	    !json_object_is_type(v, json_type_string))
		return ipc_error("query needs an SQL string");
	ret = store_query(d->store, json_object_get_string(v), QUERY_MAX_ROWS,
			  &result, err, sizeof(err));
	if (ret)
		return ipc_error("%s", err);
	r = ok_reply();
	json_object_object_foreach(result, key, val)
		json_object_object_add(r, key, json_object_get(val));
	json_object_put(result);
	return r;
}

static struct json_object *handle_watch(struct daemon *d,
					const struct ipc_peer *peer,
					enum ipc_access access,
					struct json_object *req)
{
	struct json_object *v, *r;
	const char *op, *path;
	char err[512], *shown;
	int ret;

	if (!json_object_object_get_ex(req, "op", &v) ||
	    !json_object_is_type(v, json_type_string))
		return ipc_error("watch needs an op: add, rm or list");
	op = json_object_get_string(v);
	if (!strcmp(op, "list")) {
		r = ok_reply();
		json_object_object_add(r, "watched",
				       watchlist_json(&d->watches));
		return r;
	}
	if (strcmp(op, "add") && strcmp(op, "rm"))
		return ipc_error("unknown watch op '%s': expected add, rm or "
				 "list", op);
	/* changing what is watched is root's alone */
	if (access != IPC_ADMIN)
		return ipc_error("permission denied: uid %u may not change the "
				 "watch list (root only)", (unsigned)peer->uid);
	if (!json_object_object_get_ex(req, "path", &v) ||
	    !json_object_is_type(v, json_type_string))
		return ipc_error("watch %s needs a path", op);
	path = json_object_get_string(v);
	if (!strcmp(op, "add")) {
		ret = watchlist_add(&d->watches, path, 0, err, sizeof(err));
		/*
		 * A new watch takes the global mode: in prevent mode, a
		 * sensor that cannot take it must not watch it as if it did.
		 */
		if (!ret && (ret = daemon_policy_apply(d, err, sizeof(err)))) {
			char why[512];

			watchlist_rm(&d->watches, path, why, sizeof(why));
		}
		if (!ret && store_watch_add(d->store, path))
			log_warn("watch %s: not saved in the store: it will "
				 "not survive a restart", path);
	} else {
		const struct watch_entry *e = watchlist_find(&d->watches, path);

		if (e && e->from_config) {
			char *shown = ctl_escape(path);

			r = ipc_error("%s: watched by the config file; remove "
				      "it there and reload", shown ? shown : "");
			free(shown);
			return r;
		}
		ret = watchlist_rm(&d->watches, path, err, sizeof(err));
		if (!ret)
			store_watch_rm(d->store, path);
		/* fewer prevent ids: the sensor took more before, so it can */
		if (!ret && daemon_policy_apply(d, err, sizeof(err)))
			log_warn("watch rm: %s", err);
	}
	if (ret)
		return ipc_error("%s", err);
	shown = ctl_escape(path);
	log_info("watch %s %s (by uid %u)", op, shown ? shown : "",
		 (unsigned)peer->uid);
	free(shown);
	r = ok_reply();
	/* any bytes but NUL: valid JSON whatever the path holds */
	json_object_object_add(r, "path",
			       json_string_from_bytes(path, strlen(path)));
	return r;
}

/* exfilctl policy: the modes, the threshold, the networks, the overrides */
static struct json_object *handle_policy(struct daemon *d)
{
	struct json_object *r = ok_reply();
	int ret;

	ret = daemon_policy_json(d, r);
	if (ret) {
		json_object_put(r);
		return ipc_error("cannot read the overrides: %s",
				 store_errmsg(d->store));
	}
	return r;
}

static const char *get_string(struct json_object *req, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(req, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/*
 * exfilctl allow: lifting a refusal lets watched data leave, so only root
 * may grant or revoke one, whatever group the peer is in; readers see the
 * overrides in exfilctl policy and status.
 */
static struct json_object *handle_allow(struct daemon *d,
					const struct ipc_peer *peer,
					struct json_object *req)
{
	struct json_object *v, *r, *out = NULL;
	struct policy_grant g = { 0 };
	const char *op = get_string(req, "op");
	char err[1024];
	int ret;

	if (!op || (strcmp(op, "add") && strcmp(op, "rm")))
		return ipc_error("allow needs an op: add or rm");
	if (peer->uid != 0)
		return ipc_error("permission denied: uid %u may not %s an "
				 "override (root only)", (unsigned)peer->uid,
				 strcmp(op, "add") ? "revoke" : "grant");
	if (!strcmp(op, "rm")) {
		if (!json_object_object_get_ex(req, "id", &v) || !v ||
		    !json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) <= 0)
			return ipc_error("allow rm needs a positive override id");
		ret = daemon_allow_revoke(d, peer->uid,
					  json_object_get_int64(v), &out, err,
					  sizeof(err));
	} else {
		if (json_object_object_get_ex(req, "pid", &v)) {
			int64_t pid = json_object_get_int64(v);

			if (!json_object_is_type(v, json_type_int) ||
			    pid <= 0 || pid > INT32_MAX)
				return ipc_error("invalid pid: expected a "
						 "positive process id");
			g.pid = pid;
		}
		g.exe = get_string(req, "exe");
		g.dest = get_string(req, "dest");
		g.duration = get_string(req, "for");
		ret = daemon_allow_grant(d, peer->uid, &g, &out, err,
					 sizeof(err));
	}
	if (ret)
		return ipc_error("%s", err);
	r = ok_reply();
	json_object_object_add(r, "override", out);
	return r;
}

/* Re-read the config file; the reply carries the file:line of an error. */
static struct json_object *handle_reload(struct daemon *d,
					 const struct ipc_peer *peer,
					 enum ipc_access access)
{
	struct json_object *r;
	char err[1024], by[64];

	if (access != IPC_ADMIN)
		return ipc_error("permission denied: uid %u may not reload the "
				 "configuration (root only)",
				 (unsigned)peer->uid);
	snprintf(by, sizeof(by), "exfilctl reload by uid %u",
		 (unsigned)peer->uid);
	if (daemon_reload(d, by, err, sizeof(err)))
		return ipc_error("reload failed, the running configuration "
				 "stays: %s", err);
	r = ok_reply();
	json_object_object_add(r, "config",
			       json_object_new_string(d->cfg.path));
	return r;
}

struct json_object *daemon_handle(struct daemon *d,
				  const struct ipc_peer *peer,
				  struct json_object *req)
{
	enum ipc_access access = ipc_authorize(peer, d->reader_gid);
	struct json_object *v;
	const char *cmd;

	if (access == IPC_DENIED) {
		struct group *g = d->reader_gid != (gid_t)-1 ?
			getgrgid(d->reader_gid) : NULL;

		return ipc_error("permission denied: uid %u is not root or a "
				 "member of group '%s'", (unsigned)peer->uid,
				 g ? g->gr_name : d->cfg.group);
	}
	if (!json_object_is_type(req, json_type_object) ||
	    !json_object_object_get_ex(req, "v", &v) ||
	    json_object_get_int(v) != IPC_VERSION)
		return ipc_error("unsupported request version (this exfilmond "
				 "speaks version %d)", IPC_VERSION);
	if (!json_object_object_get_ex(req, "cmd", &v) ||
	    !json_object_is_type(v, json_type_string))
		return ipc_error("request without a cmd");
	cmd = json_object_get_string(v);
	if (!strcmp(cmd, "status"))
		return handle_status(d, req);
	if (!strcmp(cmd, "alerts"))
		return handle_alerts(d, req);
	if (!strcmp(cmd, "show"))
		return handle_show(d, req);
	if (!strcmp(cmd, "query"))
		return handle_query(d, req);
	if (!strcmp(cmd, "ack"))
		return handle_ack(d, peer, req);
	if (!strcmp(cmd, "watch"))
		return handle_watch(d, peer, access, req);
	if (!strcmp(cmd, "reload"))
		return handle_reload(d, peer, access);
	if (!strcmp(cmd, "policy"))
		return handle_policy(d);
	if (!strcmp(cmd, "allow"))
		return handle_allow(d, peer, req);
	return ipc_error("unknown command '%s'", cmd);
}
