/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Prevent mode as the daemon runs it (docs/prevent.md): the policy the
 * sensor gets from [policy] and the watch list, and the overrides the
 * security team grants with exfilctl allow. The sensor decides in the
 * kernel; this only tells it what to decide.
 */
#ifndef EXFILMON_POLICY_H
#define EXFILMON_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "exfilmon_abi.h"

struct daemon;
struct config;
struct watch_entry;

/* Overrides active at once: each is a sensor table entry. */
#define POLICY_MAX_OVERRIDES	1024

/* An override the sensor holds, until it ends. */
struct policy_override {
	int64_t id;			/* in the store */
	struct exfilmon_allow_key key;
	uint64_t until_ns;		/* CLOCK_BOOTTIME */
};

struct policy_state {
	struct policy_override active[POLICY_MAX_OVERRIDES];
	size_t nr_active;
	size_t nr_prevent;		/* watches in prevent mode now */
	char said[256];			/* the mode as last logged */
};

/*
 * Give the sensor the policy of d->cfg and d->watches: the ids of the
 * watches in prevent mode, read_threshold, the internal networks. A sensor
 * that cannot refuse (-EOPNOTSUPP) is fine while everything is in detect
 * mode, and an error otherwise. 0, or -errno with the reason in err. Logs
 * the mode when it changed.
 */
int daemon_policy_apply(struct daemon *d, char *err, size_t errlen);
/*
 * The same for the configuration cfg (a reload's new one), leaving out the
 * watches keep() says 0 for (those the reload will drop).
 */
int daemon_policy_apply_cfg(struct daemon *d, const struct config *cfg,
			    int (*keep)(void *ctx, const struct watch_entry *e),
			    void *ctx, char *err, size_t errlen);
/*
 * At start: daemon_policy_apply(), then put the stored overrides still
 * valid back into the sensor, and end those that ran out while no daemon
 * ran (or whose process belonged to another boot).
 */
int daemon_policy_start(struct daemon *d, char *err, size_t errlen);
/* Once a second: end the overrides whose time is up. */
void daemon_policy_tick(struct daemon *d);

/* What an exfilctl allow asks for; the daemon checks every field. */
struct policy_grant {
	pid_t pid;			/* > 0: this process */
	const char *exe;		/* else: this executable (absolute) */
	const char *dest;		/* ADDR[:PORT] */
	const char *duration;		/* units.h duration, up to 30d */
};

/*
 * Grant an override for uid by (the caller checked the peer may): store
 * it, log it, push it to the sensor. *reply is the override's JSON. 0, or
 * -errno with the reason in err (the value and why).
 */
int daemon_allow_grant(struct daemon *d, uid_t by, const struct policy_grant *g,
		       struct json_object **reply, char *err, size_t errlen);
/* End override id early (revoked by uid by). 0 or -errno with err. */
int daemon_allow_revoke(struct daemon *d, uid_t by, int64_t id,
			struct json_object **reply, char *err, size_t errlen);

/* exfilctl policy: the whole reply's fields, added to r. */
int daemon_policy_json(struct daemon *d, struct json_object *r);
/* exfilctl status's "prevent" object. */
struct json_object *daemon_prevent_status(struct daemon *d,
					  const uint64_t *stats);

#endif /* EXFILMON_POLICY_H */
