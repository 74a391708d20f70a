/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * /proc/PID/stat, read once for the fields the daemon needs: the process
 * tree's scan (ppid, start) and the overrides by pid (start, name).
 */
#ifndef EXFILMON_PROCSTAT_H
#define EXFILMON_PROCSTAT_H

#include <stdint.h>
#include <sys/types.h>

struct proc_stat {
	char comm[64];		/* field 2, without its parentheses */
	uint32_t ppid;		/* field 4 */
	uint64_t start_ticks;	/* field 22: clock ticks since boot */
};

/*
 * Parse one /proc/PID/stat line (proc(5)). 0, or -EINVAL when it does not
 * have the fields up to 22.
 */
int proc_stat_parse(const char *line, struct proc_stat *st);

/* Read and parse /proc/PID/stat: 0, -ENOENT (no such process) or -errno. */
int proc_stat_read(pid_t pid, struct proc_stat *st);

#endif /* EXFILMON_PROCSTAT_H */
