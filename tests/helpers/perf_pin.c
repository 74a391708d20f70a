// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hold a perf probe on each trace event named (tests/vm/init,
 * pin_tracepoints()). With the soft-disabled ftrace probe already there,
 * that makes two: the tracepoint's static call then stays on the iterator
 * (tracepoint_update_call()), so a sensor attaching or detaching edits
 * only the probe array, never kernel text. Creating the perf event
 * registers its probe (perf_trace_event_reg()); it stays disabled.
 *
 * usage: perf_pin SYSTEM/EVENT...   prints "ready", then waits to be killed
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		struct perf_event_attr attr = {
			.type = PERF_TYPE_TRACEPOINT,
			.size = sizeof(attr),
			.disabled = 1,
		};
		char path[256];
		FILE *f;

		snprintf(path, sizeof(path), "/sys/kernel/tracing/events/%s/id",
			 argv[i]);
		f = fopen(path, "r");
		if (!f || fscanf(f, "%llu", &attr.config) != 1) {
			perror(path);
			return 1;
		}
		fclose(f);
		if (syscall(SYS_perf_event_open, &attr, -1, 0, -1,
			    PERF_FLAG_FD_CLOEXEC) < 0) {
			fprintf(stderr, "perf_pin: failed to open %s: %s\n",
				argv[i], strerror(errno));
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
