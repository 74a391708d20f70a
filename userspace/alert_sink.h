/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What alert_sink.c offers the event loop besides daemon_on_alert()
 * (daemon.h): the retry of alert store writes that failed.
 */
#ifndef EXFILMON_ALERT_SINK_H
#define EXFILMON_ALERT_SINK_H

struct daemon;

/*
 * Once a tick: write the alerts the store could not take (disk full...),
 * and say once when it takes them again. Nothing to do while it is fine.
 */
void daemon_store_retry(struct daemon *d);

#endif /* EXFILMON_ALERT_SINK_H */
