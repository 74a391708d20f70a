// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "log.h"

int log_verbose;
static int journal;

void log_init(const char *ident, int foreground)
{
	(void)ident;
	/* journald connects our stderr and says so in JOURNAL_STREAM */
	journal = !foreground && getenv("JOURNAL_STREAM");
}

void log_msg(int prio, const char *fmt, ...)
{
	static const char *const names[] = {
		"emerg", "alert", "crit", "error", "warning", "notice",
		"info", "debug",
	};
	char line[2048];
	va_list ap;

	if (prio == LOG_DEBUG && !log_verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (journal)
		fprintf(stderr, "<%d>%s\n", prio, line);
	else
		fprintf(stderr, "exfilmond: %s: %s\n", names[prio & 7], line);
}
