/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Who is who: the daemon's table of processes, built from /proc at start
 * and kept current by the sensor's fork, exec and exit records. Alerts take
 * the sender's details and ancestry from here.
 */
#ifndef EXFILMON_PROCTREE_H
#define EXFILMON_PROCTREE_H

#include <stddef.h>
#include <stdint.h>
#include "exfilmon_abi.h"
#include "hashtab.h"
#include "alert.h"

/*
 * What a process runs. A fork shares its parent's until it execs: the
 * table holds every process on the machine, and a server's 10,000 workers
 * then cost one copy of its path and command line, not 1.3 KiB each.
 */
struct proc_image {
	unsigned int refs;
	const char *cmdline;		/* args joined by spaces, after exe */
	char exe[];
};

struct proc_info {
	struct hashtab_node node;
	uint32_t pid;			/* the key */
	uint32_t ppid;
	uint32_t uid;
	/* here, not after exit_ns: one entry per process on the machine,
	 * and the hole would cost 8 bytes and a larger malloc chunk each */
	int approx;			/* from /proc: start_ns is rounded */
	uint64_t start_ns;		/* of the pkey */
	uint64_t exit_ns;		/* 0 while alive, CLOCK_BOOTTIME */
	char comm[EXFILMON_COMM_LEN];
	struct proc_image *img;		/* NULL: not known */
};

/* The process's executable and command line; "" when not known. */
static inline const char *proc_exe(const struct proc_info *p)
{
	return p->img ? p->img->exe : "";
}

static inline const char *proc_cmdline(const struct proc_info *p)
{
	return p->img ? p->img->cmdline : "";
}

struct proctree {
	struct hashtab by_pid;
	uint64_t linger_ns;	/* how long an exited process is remembered */
};

int proctree_init(struct proctree *pt, uint64_t linger_ns);
void proctree_destroy(struct proctree *pt);

/* Read every process in /proc (start-up and after lost records). */
int proctree_scan(struct proctree *pt);

/* Mark as exited what /proc no longer has (after lost exit records). */
void proctree_sweep(struct proctree *pt, uint64_t now_ns);

void proctree_fork(struct proctree *pt, const struct exfilmon_rec_fork *r);
void proctree_exec(struct proctree *pt, const struct exfilmon_rec_exec *r);
void proctree_exit(struct proctree *pt, const struct exfilmon_rec_exit *r);

/* The process, if it is still known (alive or lingering). */
struct proc_info *proctree_get(struct proctree *pt, uint32_t pid);
/*
 * The process named by key: NULL when its pid is unknown or now belongs
 * to another process (an entry read from /proc, whose start time is
 * rounded, is taken as the same).
 */
struct proc_info *proctree_find(struct proctree *pt,
				const struct exfilmon_pkey *key);
/* Forget processes that exited more than linger_ns before now. */
void proctree_expire(struct proctree *pt, uint64_t now_ns);
size_t proctree_count(const struct proctree *pt);

/*
 * Fill the alert's process fields and ancestry (the process first, then
 * its parent, up to max levels). Returns 0 or -ENOMEM.
 */
int proctree_describe(struct proctree *pt, uint32_t pid, struct alert *a,
		      size_t max);

#endif
