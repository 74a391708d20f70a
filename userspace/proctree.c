// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "flowgraph.h"
#include "procstat.h"
#include "proctree.h"

#define to_proc(n) ((struct proc_info *)(n))

/* An image holding copies of exe and cmdline; NULL when out of memory. */
static struct proc_image *image_new(const char *exe, const char *cmdline)
{
	size_t le = strlen(exe) + 1, lc = strlen(cmdline) + 1;
	struct proc_image *img = malloc(sizeof(*img) + le + lc);

	if (!img)
		return NULL;
	img->refs = 1;
	memcpy(img->exe, exe, le);
	memcpy(img->exe + le, cmdline, lc);
	img->cmdline = img->exe + le;
	return img;
}

static struct proc_image *image_get(struct proc_image *img)
{
	if (img)
		img->refs++;
	return img;
}

static void image_put(struct proc_image *img)
{
	if (img && !--img->refs)
		free(img);
}

/* p now runs img (whose reference it takes over). */
static void proc_set_image(struct proc_info *p, struct proc_image *img)
{
	image_put(p->img);
	p->img = img;
}

static void proc_free(struct proc_info *p)
{
	image_put(p->img);
	free(p);
}

int proctree_init(struct proctree *pt, uint64_t linger_ns)
{
	pt->linger_ns = linger_ns;
	return hashtab_init(&pt->by_pid, sizeof(uint32_t),
			    offsetof(struct proc_info, pid));
}

void proctree_destroy(struct proctree *pt)
{
	struct hashtab_node *n, *next;
	size_t i;

	for (n = hashtab_first(&pt->by_pid, &i); n; n = next) {
		next = hashtab_next(&pt->by_pid, n, &i);
		proc_free(to_proc(n));
	}
	hashtab_destroy(&pt->by_pid);
}

struct proc_info *proctree_get(struct proctree *pt, uint32_t pid)
{
	return to_proc(hashtab_find(&pt->by_pid, &pid));
}

struct proc_info *proctree_find(struct proctree *pt,
				const struct exfilmon_pkey *key)
{
	struct proc_info *p = proctree_get(pt, key->tgid);

	return p && (p->start_ns == key->start_ns || p->approx) ? p : NULL;
}

size_t proctree_count(const struct proctree *pt)
{
	return pt->by_pid.count;
}

/* The entry for pid, fresh when the pid was reused or unknown. */
static struct proc_info *proc_slot(struct proctree *pt, uint32_t pid,
				   uint64_t start_ns)
{
	struct proc_info *p = proctree_get(pt, pid);

	if (p && (p->start_ns == start_ns || p->approx)) {
		p->start_ns = start_ns;
		p->approx = 0;
		p->exit_ns = 0;
		return p;
	}
	if (p) {
		hashtab_remove(&pt->by_pid, &p->node);
		image_put(p->img);
		memset(p, 0, sizeof(*p));
	} else {
		p = calloc(1, sizeof(*p));
		if (!p)
			return NULL;
	}
	p->pid = pid;
	p->start_ns = start_ns;
	hashtab_insert(&pt->by_pid, &p->node);
	return p;
}

/* argv as NUL-separated bytes -> one line, arguments joined by spaces */
static void join_args(char *dst, size_t size, const char *args, size_t len)
{
	size_t i;

	if (!size)
		return;
	if (len >= size)
		len = size - 1;
	for (i = 0; i < len; i++)
		dst[i] = args[i] ? args[i] : ' ';
	while (i && dst[i - 1] == ' ')
		i--;
	dst[i] = '\0';
}

void proctree_fork(struct proctree *pt, const struct exfilmon_rec_fork *r)
{
	struct proc_info *parent = proctree_get(pt, r->parent.tgid);
	struct proc_info *p = proc_slot(pt, r->hdr.proc.tgid,
					r->hdr.proc.start_ns);

	if (!p)
		return;
	p->ppid = r->parent.tgid;
	p->uid = r->uid;
	memcpy(p->comm, r->comm, sizeof(p->comm));
	p->comm[sizeof(p->comm) - 1] = '\0';
	/* a fork runs the parent's image until it execs */
	if (parent && parent != p)
		proc_set_image(p, image_get(parent->img));
}

void proctree_exec(struct proctree *pt, const struct exfilmon_rec_exec *r)
{
	struct proc_info *p = proc_slot(pt, r->hdr.proc.tgid,
					r->hdr.proc.start_ns);
	char path[64], exe[EXFILMON_PATH_LEN], cmdline[ALERT_CMDLINE_LEN];
	ssize_t n;

	if (!p)
		return;
	p->ppid = r->ppid;
	p->uid = r->uid;
	memcpy(p->comm, r->comm, sizeof(p->comm));
	p->comm[sizeof(p->comm) - 1] = '\0';
	/* the sensor sees the path as passed to execve(), maybe relative:
	 * the kernel's own link is better while the process lives */
	snprintf(path, sizeof(path), "/proc/%u/exe", r->hdr.proc.tgid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
	} else if (r->flags & EXFILMON_EXEC_NAMES) {
		/* gone already: the sensor's names of the image, leaf first */
		size_t used = EXFILMON_EXEC_NAMES_LEN(r->flags);

		flow_derived_path(r->exe, used < sizeof(r->exe) ? used :
				  sizeof(r->exe), r->flags, exe, sizeof(exe));
	} else {
		n = sizeof(r->exe) < sizeof(exe) ? sizeof(r->exe) : sizeof(exe);
		memcpy(exe, r->exe, n);
		exe[n - 1] = '\0';
	}
	join_args(cmdline, sizeof(cmdline), r->args,
		  r->args_len < sizeof(r->args) ? r->args_len : sizeof(r->args));
	proc_set_image(p, image_new(exe, cmdline));
}

void proctree_exit(struct proctree *pt, const struct exfilmon_rec_exit *r)
{
	struct proc_info *p = proctree_get(pt, r->hdr.proc.tgid);

	if (p && (p->start_ns == r->hdr.proc.start_ns || p->approx))
		p->exit_ns = r->hdr.ts_ns;
}

void proctree_expire(struct proctree *pt, uint64_t now_ns)
{
	struct hashtab_node *n, *next;
	size_t i;

	for (n = hashtab_first(&pt->by_pid, &i); n; n = next) {
		struct proc_info *p = to_proc(n);

		next = hashtab_next(&pt->by_pid, n, &i);
		if (p->exit_ns && now_ns - p->exit_ns > pt->linger_ns) {
			hashtab_remove(&pt->by_pid, n);
			proc_free(p);
		}
	}
}

static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

/*
 * One /proc/PID. Its start time is converted from clock ticks, so the key
 * may differ from the kernel's ns value: the first exec or exit record of
 * the process replaces the entry with exact data.
 */
static void scan_one(struct proctree *pt, uint32_t pid)
{
	char exe[EXFILMON_PATH_LEN], cmdline[ALERT_CMDLINE_LEN];
	char path[64], buf[4096], *s;
	struct proc_stat st;
	struct proc_info *p;
	int n;

	if (proc_stat_read(pid, &st))
		return;
	p = proctree_get(pt, pid);
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return;
		p->pid = pid;
		hashtab_insert(&pt->by_pid, &p->node);
	}
	p->ppid = st.ppid;
	p->approx = 1;
	p->start_ns = st.start_ticks * (1000000000ull / sysconf(_SC_CLK_TCK));
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	if (read_small(path, p->comm, sizeof(p->comm)) > 0)
		p->comm[strcspn(p->comm, "\n")] = '\0';
	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	n = read_small(path, buf, sizeof(buf));
	cmdline[0] = '\0';
	if (n > 0)
		join_args(cmdline, sizeof(cmdline), buf, n);
	proc_set_image(p, image_new(exe, cmdline));
	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	if (read_small(path, buf, sizeof(buf)) > 0) {
		s = strstr(buf, "\nUid:");
		if (s)
			p->uid = strtoul(s + 5, NULL, 10);
	}
}

void proctree_sweep(struct proctree *pt, uint64_t now_ns)
{
	struct hashtab_node *n;
	char path[32];
	size_t i;

	for (n = hashtab_first(&pt->by_pid, &i); n;
	     n = hashtab_next(&pt->by_pid, n, &i)) {
		struct proc_info *p = to_proc(n);

		if (p->exit_ns)
			continue;
		snprintf(path, sizeof(path), "/proc/%u", p->pid);
		if (access(path, F_OK))
			p->exit_ns = now_ns;
	}
}

int proctree_scan(struct proctree *pt)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		if (*end || !pid)
			continue;
		scan_one(pt, pid);
	}
	closedir(d);
	return 0;
}

int proctree_describe(struct proctree *pt, uint32_t pid, struct alert *a,
		      size_t max)
{
	struct passwd pw, *res = NULL;
	struct proc_info *p = proctree_get(pt, pid);
	char pwbuf[1024];
	size_t n = 0;

	a->pid = pid;
	if (p) {
		a->ppid = p->ppid;
		a->uid = p->uid;
		memcpy(a->comm, p->comm, sizeof(a->comm));
		snprintf(a->exe, sizeof(a->exe), "%s", proc_exe(p));
		snprintf(a->cmdline, sizeof(a->cmdline), "%s", proc_cmdline(p));
	}
	if (!getpwuid_r(a->uid, &pw, pwbuf, sizeof(pwbuf), &res) && res)
		snprintf(a->user, sizeof(a->user), "%s", pw.pw_name);
	else
		snprintf(a->user, sizeof(a->user), "%u", a->uid);

	free(a->ancestry);
	a->ancestry = calloc(max, sizeof(*a->ancestry));
	a->nr_ancestry = 0;
	if (!a->ancestry)
		return -ENOMEM;
	while (p && n < max) {
		struct alert_proc *ap = &a->ancestry[n++];

		ap->pid = p->pid;
		ap->ppid = p->ppid;
		ap->uid = p->uid;
		memcpy(ap->comm, p->comm, sizeof(ap->comm));
		snprintf(ap->exe, sizeof(ap->exe), "%s", proc_exe(p));
		if (!p->ppid || p->ppid == p->pid)
			break;
		p = proctree_get(pt, p->ppid);
	}
	a->nr_ancestry = n;
	return 0;
}
