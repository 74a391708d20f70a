// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where alerts go: the SQLite store, the JSON-lines log and the journal.
 * A new alert goes to all three at once. Updates go to the store at most
 * once a tick; the JSON log and the journal get one more line when the
 * alert settles, so one theft is two lines, never a flood. Each carries
 * the chain: the JSON as the "chain" array, the journal as one line in
 * EXFILMON_CHAIN. The JSON log's lines are ECS documents (alert_ecs.c),
 * the journal's fields are listed in docs/siem.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include "alert_ecs.h"
#include "alert_sink.h"
#include "daemon.h"
#include "log.h"

/*
 * Every alert entry carries this MESSAGE_ID, so `journalctl MESSAGE_ID=...`
 * and a shipper's journal input select alerts and nothing else. Fixed
 * forever: docs/siem.md publishes it.
 */
#define ALERT_MESSAGE_ID "5c0d3f2a9e8b4b7c8a61e2f0d4b9a7c3"
#define ANCESTRY_MAX 16

/* "host:port" ("[v6]:port") of the destination that got the most */
static void top_dest(const struct alert *a, char *buf, size_t len)
{
	const struct alert_dest *top = alert_top_dest(a);
	int v6 = strchr(a->host, ':') != NULL;

	if (top)
		snprintf(buf, len, "%s%s%s:%u", v6 ? "[" : "", a->host,
			 v6 ? "]" : "", top->port);
	else
		snprintf(buf, len, "%s", a->host);
}

static void alert_journal(const struct alert *a, const char *event)
{
	const struct alert_file *file = alert_top_file(a);
	const struct alert_dest *top = alert_top_dest(a);
	char dests[256] = "", dest[ALERT_ADDR_LEN + 8];
	int prio = !strcmp(event, "new") ? LOG_WARNING : LOG_INFO;
	size_t i, used = 0;
	char *chain;

	for (i = 0; i < a->nr_dests && used < sizeof(dests); i++)
		used += snprintf(dests + used, sizeof(dests) - used, "%s%s:%u/%s",
				 i ? "," : "", a->dests[i].addr,
				 a->dests[i].port,
				 alert_proto_name(a->dests[i].proto));
	top_dest(a, dest, sizeof(dest));
	chain = alert_chain_line(a->chain, a->nr_chain, dest, NULL, 0);
	log_msg(prio, "alert %lld %s [%s]: %s", (long long)a->id, event,
		alert_severity_name(a->severity), a->reason);
	/*
	 * Structured fields for journalctl -o json and SIEM forwarders
	 * (docs/siem.md). Values with a newline (a hostile comm or path) go
	 * in the protocol's binary form, so no field can forge another.
	 */
	sd_journal_send("MESSAGE=exfilmon alert %lld (%s): %s",
			(long long)a->id, event, a->reason,
			"MESSAGE_ID=" ALERT_MESSAGE_ID,
			"PRIORITY=%d", prio,
			"SYSLOG_IDENTIFIER=exfilmond",
			"EXFILMON_ALERT_ID=%lld", (long long)a->id,
			"EXFILMON_EVENT=%s", event,
			"EXFILMON_SEVERITY=%s", alert_severity_name(a->severity),
			"EXFILMON_PID=%u", a->pid,
			"EXFILMON_UID=%u", a->uid,
			"EXFILMON_USER=%s", a->user,
			/* the kernel's fixed arrays may fill up to the end */
			"EXFILMON_COMM=%.*s", (int)sizeof(a->comm), a->comm,
			"EXFILMON_EXE=%.*s", (int)sizeof(a->exe), a->exe,
			"EXFILMON_HOST=%s", a->host,
			"EXFILMON_DEST=%s", dest,
			"EXFILMON_PROTO=%s",
			top ? alert_proto_name(top->proto) : "",
			"EXFILMON_DESTINATIONS=%s", dests,
			"EXFILMON_FILE=%.*s", file ? (int)sizeof(file->path) : 0,
			file ? file->path : "",
			"EXFILMON_BYTES_READ=%llu",
			(unsigned long long)a->bytes_read,
			"EXFILMON_BYTES_SENT=%llu",
			(unsigned long long)a->bytes_sent,
			"EXFILMON_TAINT=%llu", (unsigned long long)a->taint,
			"EXFILMON_SENDERS=%u", a->senders,
			"EXFILMON_SENSOR=%s", a->sensor,
			"EXFILMON_CHAIN=%s", chain ? chain : "",
			NULL);
	free(chain);
}

/*
 * Fill what only the daemon knows: the chain and what its readers read,
 * who sent, which paths, when, why.
 */
static void alert_complete(struct daemon *d, struct corr_alert *ca)
{
	const struct alert_step *last;
	struct alert *a = &ca->a;
	struct flow_env env;

	daemon_flow_env(d, &env);
	if (flowgraph_explain(corr_graph(d->corr), ca->top, ca->nr_top, &env,
			      a))
		log_warn("alert %lld: failed to name its chain: %s",
			 (long long)a->id, strerror(ENOMEM));
	/* the largest sender may have changed since the last update */
	a->ppid = a->uid = 0;
	memset(a->comm, 0, sizeof(a->comm));
	memset(a->exe, 0, sizeof(a->exe));
	memset(a->cmdline, 0, sizeof(a->cmdline));
	if (ca->nr_top && !proctree_find(&d->procs, &ca->top[0])) {
		/* gone, and its pid may be another process's by now */
		free(a->ancestry);
		a->ancestry = NULL;
		a->nr_ancestry = 0;
		a->user[0] = '\0';
	} else {
		proctree_describe(&d->procs, a->pid, a, ANCESTRY_MAX);
	}
	/* a sender the process table forgot is still named by its chain */
	last = a->nr_chain ? &a->chain[a->nr_chain - 1] : NULL;
	if (!a->comm[0] && last && last->pid == a->pid) {
		memcpy(a->comm, last->comm, sizeof(a->comm));
		memcpy(a->exe, last->exe, sizeof(a->exe));
	}
	snprintf(a->sensor, sizeof(a->sensor), "%s", sensor_kind(d->sensor));
	a->updated_us = boot_to_real_us(a->last_ns);
	if (!a->time_us)
		a->time_us = a->updated_us;
	corr_explain(a, d->cfg.window_ns);
}

/*
 * The store's troubles are told once per change of state, never once per
 * write: when writes start failing, when the retry queue gives alerts up,
 * and when the store takes them again. Meanwhile monitoring goes on, and
 * the journal and the JSON log (which need not share state_dir's disk)
 * still get every alert.
 */
static void store_failed(struct daemon *d, int err)
{
	uint64_t dropped;

	if (!d->store_failing)
		log_err("failed to write %s: %s (errno %d, %s); monitoring "
			"goes on, alerts still go to the journal and the JSON "
			"log, and are kept in memory and retried every second",
			store_path(d->store), store_errmsg(d->store), -err,
			strerror(-err));
	d->store_failing = 1;
	store_pending(d->store, &dropped);
	if (dropped)
		log_err("%s: %llu alerts given up, the oldest waiting (the "
			"retry queue is full); the journal and the JSON log "
			"have them",
			store_path(d->store), (unsigned long long)dropped);
}

void daemon_store_retry(struct daemon *d)
{
	size_t waiting;
	int ret;

	if (!d->store_failing)
		return;
	waiting = store_pending(d->store, NULL);
	ret = store_retry(d->store);
	if (ret) {
		store_failed(d, ret);
		return;
	}
	log_info("%s writable again: %zu alerts kept in memory now stored",
		 store_path(d->store), waiting);
	d->store_failing = 0;
}

static void alert_store(struct daemon *d, struct corr_alert *ca)
{
	int ret = store_put_alert(d->store, &ca->a);

	/* a malformed alert (a bug) is refused for good: not retried */
	if (ret == -EINVAL || ret == -E2BIG)
		log_err("failed to store alert %lld: %s", (long long)ca->a.id,
			store_errmsg(d->store));
	/* otherwise a copy waits in the store: daemon_store_retry() */
	else if (ret)
		store_failed(d, ret);
}

/*
 * The JSON log's troubles, told once per change of state too. Its lines
 * are not kept: the journal has every alert, and a line written late
 * would be out of order for a SIEM that tails the file.
 */
static void jsonlog_put(struct daemon *d, const struct alert *a,
			const char *event)
{
	/* one daemon per process: its JSON log's state */
	static unsigned long lost;
	int ret = jsonlog_write(d->jsonlog, a, event);

	if (ret) {
		if (!lost++)
			log_err("failed to write the JSON alert log %s: %s "
				"(errno %d); its lines are lost until it "
				"can be written, the journal has them",
				d->cfg.json_log, strerror(-ret), -ret);
		return;
	}
	if (lost)
		log_info("the JSON alert log %s is written again; %lu lines "
			 "were lost", d->cfg.json_log, lost);
	lost = 0;
}

/*
 * A daemon that took over a sensor's state (resume.c) sees a theft that
 * was under way as new, with its full totals. If the daemon before it
 * raised an alert for the same destination and watched file within the
 * window, and the totals taken over hold all that alert counted, this is
 * that alert going on: it keeps its id and its time. Smaller totals mean
 * the old alert also counted processes the daemon before had collected,
 * which the tables no longer hold: the alert then stays as it was, and
 * this one is new.
 */
static int continue_alert(struct daemon *d, struct corr_alert *ca)
{
	struct alert old = { 0 };
	int64_t since;

	if (!d->took_over || !ca->a.nr_files)
		return 0;
	since = now_real_us() - (int64_t)(d->cfg.window_ns / 1000);
	if (store_find_alert(d->store, ca->a.host, ca->a.files[0].path, since,
			     &old) != 1 ||
	    ca->a.bytes_sent < old.bytes_sent ||
	    ca->a.bytes_read < old.bytes_read)
		return 0;
	ca->a.id = old.id;
	ca->a.time_us = old.time_us;
	log_info("alert %lld, raised before the restart, goes on",
		 (long long)old.id);
	return 1;
}

void daemon_on_alert(void *ctx, struct corr_alert *ca, enum corr_event ev)
{
	struct daemon *d = ctx;
	const char *event = ev == CORR_NEW ? "new" : "update";

	if (ev != CORR_SETTLED) {
		alert_complete(d, ca);
		if (ev == CORR_NEW && continue_alert(d, ca))
			event = "update";
		alert_store(d, ca);
		if (ev == CORR_UPDATE)
			return;
	}
	jsonlog_put(d, &ca->a, event);
	alert_journal(&ca->a, event);
}
