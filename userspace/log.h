/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's log. Under systemd (JOURNAL_STREAM set) lines carry
 * sd-daemon priority prefixes so journald files them at the right level;
 * in the foreground they are plain lines on stderr.
 */
#ifndef EXFILMON_LOG_H
#define EXFILMON_LOG_H

#include <syslog.h>

void log_init(const char *ident, int foreground);
void log_msg(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

extern int log_verbose;

#endif
