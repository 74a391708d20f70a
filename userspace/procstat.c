// SPDX-License-Identifier: GPL-2.0-only
/*
 * /proc/PID/stat. The kernel prints the name (field 2) in parentheses as
 * the task set it, blanks and ')' included (do_task_stat() does not escape
 * it), so the fields resume after the last ')'. Every later field is a
 * number separated by one blank.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procstat.h"

int proc_stat_parse(const char *line, struct proc_stat *st)
{
	const char *open_paren = strchr(line, '('), *p;
	const char *close_paren = strrchr(line, ')');
	unsigned long long v;
	char *end;
	int field;

	if (!open_paren || !close_paren || close_paren < open_paren)
		return -EINVAL;
	snprintf(st->comm, sizeof(st->comm), "%.*s",
		 (int)(close_paren - open_paren - 1), open_paren + 1);
	/* field 3 is the state, one letter */
	p = close_paren + 1;
	if (p[0] != ' ' || !p[1] || p[2] != ' ')
		return -EINVAL;
	p += 2;
	/* p is at the blank before field 4 */
	for (field = 4; field <= 22; field++) {
		if (*p != ' ')
			return -EINVAL;
		errno = 0;
		v = strtoull(p + 1, &end, 10);
		if (end == p + 1 || errno)
			return -EINVAL;
		if (field == 4)
			st->ppid = v;
		else if (field == 22)
			st->start_ticks = v;
		p = end;
	}
	return 0;
}

int proc_stat_read(pid_t pid, struct proc_stat *st)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	/* a process that exited between open and read reads as nothing */
	if (n < 0)
		return errno == ESRCH ? -ENOENT : -errno;
	if (!n)
		return -ENOENT;
	buf[n] = '\0';
	return proc_stat_parse(buf, st);
}
