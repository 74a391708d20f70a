// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prevent mode in the daemon (docs/prevent.md). The kernel side refuses a
 * tainted process's transfers on its own; the daemon tells it which
 * watches are in prevent mode, at what taint, which networks are internal,
 * and which processes the security team let through (exfilctl allow).
 * Every override is stored before the sensor hears of it, so none is ever
 * in force without a record of who granted it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "allow.h"
#include "ctl_format.h"
#include "daemon.h"
#include "log.h"
#include "policy.h"
#include "procstat.h"
#include "units.h"

static int sensor_policy(struct sensor *s, const struct sensor_policy *p)
{
	/* a sensor without the op is one that cannot refuse */
	return s->ops->policy ? s->ops->policy(s, p) : -EOPNOTSUPP;
}

static int sensor_allow(struct sensor *s, const struct exfilmon_allow_key *k,
			const struct exfilmon_allow *v)
{
	return s->ops->allow ? s->ops->allow(s, k, v) : -EOPNOTSUPP;
}

/* The sensor's form of a network: 128 bits, IPv4 as ::ffff:a.b.c.d. */
static void net_of(const struct cidr *c, struct exfilmon_net *n)
{
	memset(n, 0, sizeof(*n));
	if (c->family == EXFILMON_AF_INET) {
		n->addr[10] = 0xff;
		n->addr[11] = 0xff;
		memcpy(n->addr + 12, c->addr, 4);
		n->prefixlen = 96 + c->prefix;
	} else {
		memcpy(n->addr, c->addr, 16);
		n->prefixlen = c->prefix;
	}
}

static void cidr_text(const struct cidr *c, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(c->family == EXFILMON_AF_INET ? AF_INET : AF_INET6, c->addr,
		  addr, sizeof(addr));
	snprintf(buf, len, "%s/%u", addr, c->prefix);
}

/* "prevent = /srv/a" or "mode = prevent": what asked for prevent mode. */
static void prevent_source(const struct config *cfg, const char *path,
			   char *buf, size_t len)
{
	int line;

	config_watch_mode(cfg, path, &line);
	if (line)
		snprintf(buf, len, "[policy] prevent = %s", path);
	else
		snprintf(buf, len, "[policy] mode = prevent");
}

static void log_mode(struct daemon *d, const struct config *cfg,
		     size_t nr_prevent, size_t nr_watches)
{
	char said[sizeof(d->policy.said)], thr[32];

	format_size(cfg->read_threshold, thr, sizeof(thr));
	snprintf(said, sizeof(said),
		 "policy: mode %s, %zu of %zu watched path(s) in prevent "
		 "mode, refused at %s of taint", cfg->prevent ? "prevent" :
		 "detect", nr_prevent, nr_watches, thr);
	if (!strcmp(said, d->policy.said))
		return;
	log_info("%s", said);
	snprintf(d->policy.said, sizeof(d->policy.said), "%s", said);
}

int daemon_policy_apply_cfg(struct daemon *d, const struct config *cfg,
			    int (*keep)(void *ctx, const struct watch_entry *e),
			    void *ctx, char *err, size_t errlen)
{
	struct exfilmon_net nets[CONFIG_MAX_NETS];
	struct sensor_policy p = { 0 };
	uint32_t *ids = NULL;
	size_t i, n = 0, nr_watches = 0;
	const struct watch_entry *first = NULL;
	char src[WATCH_PATH_MAX + 32];
	int ret;

	if (d->watches.nr) {
		ids = calloc(d->watches.nr, sizeof(*ids));
		if (!ids) {
			snprintf(err, errlen, "failed to set the prevent "
				 "policy: %s", strerror(ENOMEM));
			return -ENOMEM;
		}
	}
	for (i = 0; i < d->watches.nr; i++) {
		const struct watch_entry *e = &d->watches.entries[i];

		if (keep && !keep(ctx, e))
			continue;
		nr_watches++;
		if (!config_watch_prevents(cfg, e->path))
			continue;
		if (!first)
			first = e;
		ids[n++] = e->id;
	}
	/* loopback is in cfg->internal already (config_defaults()) */
	for (i = 0; i < cfg->nr_internal; i++)
		net_of(&cfg->internal[i], &nets[i]);
	p.prevent_ids = ids;
	p.nr_prevent = n;
	p.threshold = cfg->read_threshold;
	p.internal = nets;
	p.nr_internal = cfg->nr_internal;

	ret = sensor_policy(d->sensor, &p);
	if (ret == -EOPNOTSUPP && !n) {
		/* detect mode everywhere asks nothing of the sensor */
		ret = 0;
	} else if (ret == -EOPNOTSUPP) {
		prevent_source(cfg, first->path, src, sizeof(src));
		snprintf(err, errlen, "%s: the %s sensor cannot refuse "
			 "transfers: %s", src, sensor_kind(d->sensor),
			 d->sensor->note[0] ? d->sensor->note :
			 strerror(EOPNOTSUPP));
	} else if (ret) {
		snprintf(err, errlen, "failed to set the prevent policy in the "
			 "%s sensor: %s", sensor_kind(d->sensor),
			 strerror(-ret));
	}
	free(ids);
	if (ret)
		return ret;
	d->policy.nr_prevent = n;
	log_mode(d, cfg, n, nr_watches);
	return 0;
}

int daemon_policy_apply(struct daemon *d, char *err, size_t errlen)
{
	return daemon_policy_apply_cfg(d, &d->cfg, NULL, NULL, err, errlen);
}

/* /proc/sys/kernel/random/boot_id: a pid names a process of one boot. */
static void read_boot_id(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	buf[0] = '\0';
	if (f) {
		if (fgets(buf, len, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
}

static void active_remove(struct daemon *d, size_t i)
{
	struct policy_state *ps = &d->policy;

	memmove(&ps->active[i], &ps->active[i + 1],
		(ps->nr_active - i - 1) * sizeof(ps->active[0]));
	ps->nr_active--;
}

/* Take an override out of the sensor and end it in the store. */
static void active_end(struct daemon *d, size_t i, const char *how)
{
	struct policy_override *o = &d->policy.active[i];
	int ret;

	ret = sensor_allow(d->sensor, &o->key, NULL);
	if (ret && ret != -ENOENT && ret != -EOPNOTSUPP)
		log_warn("override %" PRId64 ": failed to remove it from the "
			 "%s sensor: %s", o->id, sensor_kind(d->sensor),
			 strerror(-ret));
	ret = store_override_end(d->store, o->id, now_real_us(), how);
	if (ret && ret != -ENOENT)
		log_warn("override %" PRId64 ": failed to record its end: %s",
			 o->id, store_errmsg(d->store));
	active_remove(d, i);
}

static int push(struct daemon *d, const struct policy_override *o)
{
	struct exfilmon_allow v = { .until_ns = o->until_ns, .id = o->id };
	int ret = sensor_allow(d->sensor, &o->key, &v);

	/* a sensor that cannot refuse has nothing to lift */
	return ret == -EOPNOTSUPP ? 0 : ret;
}

int daemon_policy_start(struct daemon *d, char *err, size_t errlen)
{
	struct store_override *list = NULL;
	char boot_id[40];
	size_t nr = 0, i, restored = 0;
	int64_t now_us = now_real_us();
	uint64_t now_ns = now_boot_ns();
	int ret;

	ret = daemon_policy_apply(d, err, errlen);
	if (ret)
		return ret;
	ret = store_override_list(d->store, 0, &list, &nr);
	if (ret) {
		/* the policy is up; overrides lost only lift nothing */
		log_warn("failed to read the stored overrides: %s",
			 store_errmsg(d->store));
		return 0;
	}
	read_boot_id(boot_id, sizeof(boot_id));
	for (i = 0; i < nr; i++) {
		struct store_override *s = &list[i];
		struct policy_override *o;
		const char *ended = NULL;

		if (s->until_us <= now_us)
			ended = "expired";
		else if (s->key.kind == EXFILMON_ALLOW_PID &&
			 strcmp(s->boot_id, boot_id))
			ended = "expired: its process belonged to an earlier "
				"boot";
		else if (d->policy.nr_active == POLICY_MAX_OVERRIDES)
			ended = "dropped: too many active overrides";
		if (ended) {
			store_override_end(d->store, s->id, now_us, ended);
			log_info("override %" PRId64 " (%s): %s", s->id, s->who,
				 ended);
			continue;
		}
		o = &d->policy.active[d->policy.nr_active];
		o->id = s->id;
		o->key = s->key;
		o->until_ns = now_ns + (uint64_t)(s->until_us - now_us) * 1000;
		ret = push(d, o);
		if (ret) {
			log_warn("override %" PRId64 ": failed to restore it "
				 "into the %s sensor: %s", s->id,
				 sensor_kind(d->sensor), strerror(-ret));
			continue;
		}
		d->policy.nr_active++;
		restored++;
	}
	free(list);
	if (restored)
		log_info("%zu override(s) restored from the store", restored);
	return 0;
}

void daemon_policy_tick(struct daemon *d)
{
	uint64_t now = now_boot_ns();
	size_t i = 0;

	while (i < d->policy.nr_active) {
		struct policy_override *o = &d->policy.active[i];
		char dest[64];

		if (o->until_ns > now) {
			i++;
			continue;
		}
		allow_format_dest(&o->key.dest, dest, sizeof(dest));
		log_info("override %" PRId64 " expired: transfers to %s are "
			 "refused again", o->id, dest);
		active_end(d, i, "expired");
	}
}

/* The start time (USER_HZ ticks since boot) and name of process pid. */
static int proc_start(pid_t pid, uint64_t *ticks, char *comm, size_t len,
		      char *err, size_t errlen)
{
	struct proc_stat st;
	int ret = proc_stat_read(pid, &st);

	if (ret == -ENOENT) {
		snprintf(err, errlen, "no process with pid %d", (int)pid);
		return -ESRCH;
	}
	if (ret == -EINVAL) {
		snprintf(err, errlen, "failed to read the start time of pid "
			 "%d from /proc/%d/stat: unexpected format", (int)pid,
			 (int)pid);
		return -EIO;
	}
	if (ret) {
		snprintf(err, errlen, "failed to read /proc/%d/stat: %s",
			 (int)pid, strerror(-ret));
		return ret;
	}
	*ticks = st.start_ticks;
	snprintf(comm, len, "%s", st.comm);
	return 0;
}

/* A thread's id has a /proc entry too; the sensor keys on the tgid. */
static int is_tgid(pid_t pid)
{
	char path[64], line[128];
	int tgid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 1;	/* proc_start() says why */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid < 0 || tgid == pid;
}

static struct json_object *override_json(const struct store_override *o)
{
	struct json_object *j = json_object_new_object();
	char dest[64];

	allow_format_dest(&o->key.dest, dest, sizeof(dest));
	json_object_object_add(j, "id", json_object_new_int64(o->id));
	json_object_object_add(j, "kind", json_object_new_string(
		o->key.kind == EXFILMON_ALLOW_PID ? "pid" : "exe"));
	if (o->key.kind == EXFILMON_ALLOW_PID)
		json_object_object_add(j, "pid",
				       json_object_new_int64(o->key.id[0]));
	json_object_object_add(j, "who", json_string_from_bytes(o->who,
				strnlen(o->who, sizeof(o->who))));
	json_object_object_add(j, "dest", json_object_new_string(dest));
	json_object_object_add(j, "until", json_time(o->until_us));
	json_object_object_add(j, "granted", json_time(o->granted_us));
	json_object_object_add(j, "granted_by_uid",
			       json_object_new_int64(o->granted_uid));
	if (o->ended_us) {
		json_object_object_add(j, "ended", json_time(o->ended_us));
		json_object_object_add(j, "how", json_object_new_string(
			o->ended));
	}
	return j;
}

/* The key of the executable at path, as the hooks see it. */
static int exe_key(struct daemon *d, const char *path,
		   struct exfilmon_allow_key *key, char *err, size_t errlen)
{
	struct exfilmon_file_key fk;
	struct stat st;
	int fd, ret;

	if (path[0] != '/') {
		snprintf(err, errlen, "--exe %s: must be an absolute path",
			 path);
		return -EINVAL;
	}
	/* O_PATH: nothing is read, so the lookup taints nothing */
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "--exe %s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "--exe %s: not a regular file", path);
		return -EINVAL;
	}
	ret = d->sensor->ops->fd_key(d->sensor, fd, &fk);
	close(fd);
	if (ret) {
		snprintf(err, errlen, "--exe %s: failed to get its key from "
			 "the %s sensor: %s", path, sensor_kind(d->sensor),
			 strerror(-ret));
		return ret;
	}
	key->kind = EXFILMON_ALLOW_EXE;
	key->id[0] = fk.dev;
	key->id[1] = fk.ino;
	return 0;
}

int daemon_allow_grant(struct daemon *d, uid_t by, const struct policy_grant *g,
		       struct json_object **reply, char *err, size_t errlen)
{
	struct policy_state *ps = &d->policy;
	struct store_override *so;
	struct policy_override *o;
	char dest[64], until[ALERT_TIME_LEN], comm[64];
	const char *why;
	uint64_t for_ns = 0, ticks = 0;
	size_t i;
	int ret;

	so = calloc(1, sizeof(*so));
	if (!so) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	if (!g->dest || allow_parse_dest(g->dest, &so->key.dest, &why)) {
		snprintf(err, errlen, "invalid destination '%s': %s",
			 g->dest ? g->dest : "", g->dest ? why :
			 "missing (--dest ADDR[:PORT])");
		ret = -EINVAL;
		goto out;
	}
	if (!g->duration || allow_parse_for(g->duration, &for_ns, &why)) {
		snprintf(err, errlen, "invalid duration '%s': %s",
			 g->duration ? g->duration : "", g->duration ? why :
			 "missing (--for DURATION)");
		ret = -EINVAL;
		goto out;
	}
	if ((g->pid > 0) == !!g->exe) {
		snprintf(err, errlen, "an override names a process (--pid) or "
			 "an executable (--exe), not %s",
			 g->exe ? "both" : "neither");
		ret = -EINVAL;
		goto out;
	}
	if (g->pid > 0) {
		ret = proc_start(g->pid, &ticks, comm, sizeof(comm), err,
				 errlen);
		if (ret)
			goto out;
		if (!is_tgid(g->pid)) {
			snprintf(err, errlen, "pid %d is a thread: name its "
				 "process (the Tgid in /proc/%d/status)",
				 (int)g->pid, (int)g->pid);
			ret = -EINVAL;
			goto out;
		}
		so->key.kind = EXFILMON_ALLOW_PID;
		so->key.id[0] = g->pid;
		so->key.id[1] = ticks;
		snprintf(so->who, sizeof(so->who), "pid %d (%s)", (int)g->pid,
			 comm);
	} else {
		ret = exe_key(d, g->exe, &so->key, err, errlen);
		if (ret)
			goto out;
		snprintf(so->who, sizeof(so->who), "%s", g->exe);
	}
	if (ps->nr_active == POLICY_MAX_OVERRIDES) {
		snprintf(err, errlen, "too many active overrides (at most %d): "
			 "revoke one with exfilctl allow rm ID",
			 POLICY_MAX_OVERRIDES);
		ret = -ENOSPC;
		goto out;
	}
	so->granted_us = now_real_us();
	so->granted_uid = by;
	so->until_us = so->granted_us + (int64_t)(for_ns / 1000);
	read_boot_id(so->boot_id, sizeof(so->boot_id));
	/* on record before it is in force */
	ret = store_override_add(d->store, so);
	if (ret) {
		snprintf(err, errlen, "failed to store the override: %s",
			 store_errmsg(d->store));
		goto out;
	}
	o = &ps->active[ps->nr_active];
	o->id = so->id;
	o->key = so->key;
	o->until_ns = now_boot_ns() + for_ns;
	ret = push(d, o);
	if (ret) {
		snprintf(err, errlen, "failed to give the override to the %s "
			 "sensor: %s", sensor_kind(d->sensor), strerror(-ret));
		store_override_end(d->store, so->id, now_real_us(),
				   "failed: the sensor refused it");
		goto out;
	}
	/* the sensor keeps one entry per key: the new one replaced it */
	for (i = 0; i < ps->nr_active; i++) {
		if (!memcmp(&ps->active[i].key, &o->key, sizeof(o->key))) {
			char how[64];

			snprintf(how, sizeof(how), "replaced by override %"
				 PRId64, so->id);
			store_override_end(d->store, ps->active[i].id,
					   so->granted_us, how);
			log_info("override %" PRId64 " %s", ps->active[i].id,
				 how);
			active_remove(d, i);
			o = &ps->active[ps->nr_active];
			o->id = so->id;
			o->key = so->key;
			o->until_ns = now_boot_ns() + for_ns;
			break;
		}
	}
	ps->nr_active++;
	allow_format_dest(&so->key.dest, dest, sizeof(dest));
	format_rfc3339(so->until_us, until, sizeof(until));
	{
		char *who = ctl_escape(so->who);

		log_info("override %" PRId64 " granted by uid %u: %s may send "
			 "to %s until %s", so->id, (unsigned)by,
			 who ? who : "?", dest, until);
		free(who);
	}
	*reply = override_json(so);
out:
	free(so);
	return ret;
}

int daemon_allow_revoke(struct daemon *d, uid_t by, int64_t id,
			struct json_object **reply, char *err, size_t errlen)
{
	struct store_override so;
	char how[64], dest[64];
	size_t i;
	int ret;

	for (i = 0; i < d->policy.nr_active; i++)
		if (d->policy.active[i].id == id)
			break;
	if (i == d->policy.nr_active) {
		ret = store_override_get(d->store, id, &so);
		if (ret == -ENOENT)
			snprintf(err, errlen, "no override with id %" PRId64,
				 id);
		else if (ret)
			snprintf(err, errlen, "cannot read override %" PRId64
				 ": %s", id, store_errmsg(d->store));
		else
			snprintf(err, errlen, "override %" PRId64 " has "
				 "already ended (%s)", id, so.ended[0] ?
				 so.ended : "not active");
		return ret ? ret : -ENOENT;
	}
	allow_format_dest(&d->policy.active[i].key.dest, dest, sizeof(dest));
	snprintf(how, sizeof(how), "revoked by uid %u", (unsigned)by);
	active_end(d, i, how);
	log_info("override %" PRId64 " %s: transfers to %s are refused again",
		 id, how, dest);
	ret = store_override_get(d->store, id, &so);
	*reply = ret ? json_object_new_object() : override_json(&so);
	json_object_object_add(*reply, "id", json_object_new_int64(id));
	return 0;
}

int daemon_policy_json(struct daemon *d, struct json_object *r)
{
	const struct config *cfg = &d->cfg;
	struct json_object *arr, *w;
	struct store_override *list = NULL;
	char buf[WATCH_PATH_MAX + 64];
	size_t i, nr = 0;
	int line, ret;

	json_object_object_add(r, "mode", json_object_new_string(
		cfg->prevent ? "prevent" : "detect"));
	if (cfg->mode_line)
		snprintf(buf, sizeof(buf), "%s:%d", cfg->path, cfg->mode_line);
	json_object_object_add(r, "mode_source", json_object_new_string(
		cfg->mode_line ? buf : "default"));
	json_object_object_add(r, "threshold",
			       json_object_new_int64(cfg->read_threshold));
	arr = json_object_new_array();
	for (i = 0; i < d->watches.nr; i++) {
		const struct watch_entry *e = &d->watches.entries[i];
		int prevents = config_watch_mode(cfg, e->path, &line);

		w = json_object_new_object();
		json_object_object_add(w, "path", json_string_from_bytes(
			e->path, strlen(e->path)));
		json_object_object_add(w, "mode", json_object_new_string(
			prevents ? "prevent" : "detect"));
		if (line)
			snprintf(buf, sizeof(buf), "%s:%d", cfg->path, line);
		json_object_object_add(w, "source", json_object_new_string(
			line ? buf : "global"));
		json_object_array_add(arr, w);
	}
	json_object_object_add(r, "watched", arr);
	arr = json_object_new_array();
	for (i = 0; i < cfg->nr_internal; i++) {
		cidr_text(&cfg->internal[i], buf, sizeof(buf));
		json_object_array_add(arr, json_object_new_string(buf));
	}
	json_object_object_add(r, "internal", arr);
	ret = store_override_list(d->store, 0, &list, &nr);
	if (ret)
		return ret;
	arr = json_object_new_array();
	for (i = 0; i < nr; i++)
		json_object_array_add(arr, override_json(&list[i]));
	free(list);
	json_object_object_add(r, "overrides", arr);
	return 0;
}

struct json_object *daemon_prevent_status(struct daemon *d,
					  const uint64_t *stats)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "mode", json_object_new_string(
		d->cfg.prevent ? "prevent" : "detect"));
	json_object_object_add(o, "prevent_paths",
			       json_object_new_int64(d->policy.nr_prevent));
	json_object_object_add(o, "overrides",
			       json_object_new_int64(d->policy.nr_active));
	json_object_object_add(o, "refused", json_object_new_int64(
		(int64_t)stats[EXFILMON_STAT_REFUSED]));
	return o;
}
