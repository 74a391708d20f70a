// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where alerts go: the SQLite store, the JSON-lines log and the journal.
 * A new alert goes to all three at once. Updates go to the store at most
 * once a tick; the JSON log and the journal get one more line when the
 * alert settles, so one theft is two lines, never a flood.
 */
#include <stdio.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include "daemon.h"
#include "log.h"

#define ALERT_MESSAGE_ID "5c0d3f2a9e8b4b7c8a61e2f0d4b9a7c3"
#define ANCESTRY_MAX 16

static void alert_journal(const struct alert *a, const char *event)
{
	char dests[256] = "";
	size_t i, used = 0;

	for (i = 0; i < a->nr_dests && used < sizeof(dests); i++)
		used += snprintf(dests + used, sizeof(dests) - used, "%s%s:%u/%s",
				 i ? "," : "", a->dests[i].addr,
				 a->dests[i].port,
				 alert_proto_name(a->dests[i].proto));
	log_msg(!strcmp(event, "new") ? LOG_WARNING : LOG_INFO,
		"alert %lld %s [%s]: %s", (long long)a->id, event,
		alert_severity_name(a->severity), a->reason);
	/* structured fields for journalctl -o json and SIEM forwarders */
	sd_journal_send("MESSAGE=exfilmon alert %lld (%s): %s",
			(long long)a->id, event, a->reason,
			"MESSAGE_ID=" ALERT_MESSAGE_ID,
			"PRIORITY=%d", !strcmp(event, "new") ? LOG_WARNING :
			LOG_INFO,
			"EXFILMON_ALERT_ID=%lld", (long long)a->id,
			"EXFILMON_EVENT=%s", event,
			"EXFILMON_SEVERITY=%s", alert_severity_name(a->severity),
			"EXFILMON_PID=%u", a->pid,
			"EXFILMON_UID=%u", a->uid,
			"EXFILMON_HOST=%s", a->host,
			"EXFILMON_DESTINATIONS=%s", dests,
			"EXFILMON_BYTES_READ=%llu",
			(unsigned long long)a->bytes_read,
			"EXFILMON_BYTES_SENT=%llu",
			(unsigned long long)a->bytes_sent,
			NULL);
}

/* Fill what only the daemon knows: who, which paths, when, why. */
static void alert_complete(struct daemon *d, struct corr_alert *ca)
{
	struct alert *a = &ca->a;
	size_t i;

	proctree_describe(&d->procs, a->pid, a, ANCESTRY_MAX);
	for (i = 0; i < a->nr_files; i++)
		watchlist_resolve(&d->watches, &ca->file_keys[i],
				  ca->watch_ids[i], a->files[i].path,
				  sizeof(a->files[i].path));
	snprintf(a->sensor, sizeof(a->sensor), "%s", sensor_kind(d->sensor));
	a->updated_us = boot_to_real_us(a->last_ns);
	if (!a->time_us)
		a->time_us = a->updated_us;
	corr_explain(a, d->cfg.window_ns);
}

static void alert_store(struct daemon *d, struct corr_alert *ca)
{
	int ret = store_put_alert(d->store, &ca->a);

	if (ret) {
		/* keep monitoring; the journal still has it, retry later */
		if (!d->store_failing)
			log_err("failed to store alert %lld: %s (will retry)",
				(long long)ca->a.id, store_errmsg(d->store));
		d->store_failing = 1;
		ca->dirty = 1;
		return;
	}
	if (d->store_failing)
		log_info("alert store writable again");
	d->store_failing = 0;
}

void daemon_on_alert(void *ctx, struct corr_alert *ca, enum corr_event ev)
{
	struct daemon *d = ctx;
	const char *event = ev == CORR_NEW ? "new" : "update";
	int ret;

	if (ev != CORR_SETTLED) {
		alert_complete(d, ca);
		alert_store(d, ca);
		if (ev == CORR_UPDATE)
			return;
	}
	ret = jsonlog_write(d->jsonlog, &ca->a, event);
	if (ret)
		log_err("failed to write the JSON alert log: %s",
			strerror(-ret));
	alert_journal(&ca->a, event);
}
