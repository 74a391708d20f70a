// SPDX-License-Identifier: GPL-2.0-only
/*
 * The eBPF sensor's prevent mode, userspace half: the cgroup programs go
 * on the root of the cgroup v2 hierarchy, where they see every socket of
 * the machine (a socket is judged by the programs of its cgroup and of
 * every ancestor, BPF_F_ALLOW_MULTI being how bpf_link attaches), and the
 * daemon's policy is written into the maps they read. The decision itself
 * is the programs' (bpf/prevent.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "prevent_bpf.h"
#include "exfilmon.skel.h"

/* the cgroup programs, in the skeleton */
#define CGROUP_PROGS(skel) {					\
	(skel)->progs.prevent_connect4, (skel)->progs.prevent_connect6,	\
	(skel)->progs.prevent_sendmsg4, (skel)->progs.prevent_sendmsg6,	\
	(skel)->progs.prevent_egress,					\
}
#define NR_CGROUP_PROGS 5

static struct bpf_link **cgroup_links(struct exfilmon_bpf *skel, int i)
{
	struct bpf_link **links[NR_CGROUP_PROGS] = {
		&skel->links.prevent_connect4, &skel->links.prevent_connect6,
		&skel->links.prevent_sendmsg4, &skel->links.prevent_sendmsg6,
		&skel->links.prevent_egress,
	};

	return links[i];
}

/*
 * The mount point of the cgroup v2 hierarchy: /sys/fs/cgroup on a unified
 * system, /sys/fs/cgroup/unified on a hybrid one. mountinfo's fields are
 * "id parent maj:min root mountpoint options [optional...] - fstype ...";
 * only a mount of the hierarchy's root ("/") gives the root cgroup.
 */
static int cgroup2_root(char *path, size_t len)
{
	char line[4096], root[PATH_MAX], mnt[PATH_MAX];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (ret && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		if (!sep || strncmp(sep, " - cgroup2 ", 11) ||
		    sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
		    strcmp(root, "/") || strchr(mnt, '\\'))
			continue;
		if ((size_t)snprintf(path, len, "%s", mnt) < len)
			ret = 0;
	}
	fclose(f);
	return ret;
}

int prevent_bpf_prepare(struct exfilmon_bpf *skel, char *why, size_t whylen)
{
	struct bpf_program *progs[NR_CGROUP_PROGS] = CGROUP_PROGS(skel);
	char path[PATH_MAX];
	int fd, i;

	fd = cgroup2_root(path, sizeof(path));
	if (!fd) {
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			fd = -errno;
			snprintf(why, whylen, "failed to open %s: %s", path,
				 strerror(errno));
		}
	} else {
		snprintf(why, whylen, "no cgroup v2 hierarchy is mounted");
	}
	if (fd >= 0)
		return fd;
	/* skipped by the skeleton's attach, the pins and their take-over */
	for (i = 0; i < NR_CGROUP_PROGS; i++)
		bpf_program__set_autoattach(progs[i], false);
	return fd;
}

int prevent_bpf_attach(struct exfilmon_bpf *skel, int cgroup_fd, char *err,
		       size_t errlen)
{
	struct bpf_program *progs[NR_CGROUP_PROGS] = CGROUP_PROGS(skel);
	int i;

	for (i = 0; i < NR_CGROUP_PROGS; i++) {
		struct bpf_link **l = cgroup_links(skel, i);

		if (*l)
			continue;
		*l = bpf_program__attach_cgroup(progs[i], cgroup_fd);
		if (!*l) {
			int ret = -errno;

			snprintf(err, errlen, "failed to attach %s to the cgroup "
				 "v2 root: %s", bpf_program__name(progs[i]),
				 strerror(errno));
			return ret;
		}
	}
	return 0;
}

int prevent_bpf_ready(const struct exfilmon_bpf *skel)
{
	return skel->links.prevent_egress && skel->links.prevent_connect4;
}

static int in_ids(const uint32_t *ids, size_t nr, uint32_t id)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

static int in_nets(const struct exfilmon_net *nets, size_t nr,
		   const struct exfilmon_net *n)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (!memcmp(&nets[i], n, sizeof(*n)))
			return 1;
	return 0;
}

/*
 * Delete the keys of map that the new policy no longer has, after its new
 * entries are in: a policy is replaced without a moment of none. The maps
 * hold at most max entries (their max_entries).
 */
static int drop_stale(int fd, size_t ksize, size_t max,
		      int (*keep)(const void *k, const void *ctx),
		      const void *ctx)
{
	unsigned char *keys = malloc(max * ksize), *prev = NULL;
	size_t nr = 0, i;
	int ret = 0;

	if (!keys)
		return -ENOMEM;
	while (nr < max && !bpf_map_get_next_key(fd, prev, keys + nr * ksize)) {
		prev = keys + nr * ksize;
		nr++;
	}
	if (nr < max && errno != ENOENT)
		ret = -errno;
	for (i = 0; !ret && i < nr; i++)
		if (!keep(keys + i * ksize, ctx) &&
		    bpf_map_delete_elem(fd, keys + i * ksize) && errno != ENOENT)
			ret = -errno;
	free(keys);
	return ret;
}

static int keep_id(const void *k, const void *ctx)
{
	const struct sensor_policy *p = ctx;

	return in_ids(p->prevent_ids, p->nr_prevent, *(const uint32_t *)k);
}

static int keep_net(const void *k, const void *ctx)
{
	const struct sensor_policy *p = ctx;

	return in_nets(p->internal, p->nr_internal, k);
}

int prevent_bpf_policy(struct exfilmon_bpf *skel, const struct sensor_policy *p)
{
	int pfd = bpf_map__fd(skel->maps.prevent);
	int nfd = bpf_map__fd(skel->maps.internal);
	struct exfilmon_prevent pol = { .threshold = p->threshold };
	uint32_t one = 1;
	size_t i;
	int ret;

	if (p->nr_prevent && !prevent_bpf_ready(skel))
		return -EOPNOTSUPP;
	/* switched off first, on last: never refused under half a policy */
	if (!p->nr_prevent)
		__atomic_store_n(&skel->bss->prevent_on, 0, __ATOMIC_SEQ_CST);
	for (i = 0; i < p->nr_internal; i++)
		if (bpf_map_update_elem(nfd, &p->internal[i], &one, BPF_ANY))
			return -errno;
	ret = drop_stale(nfd, sizeof(struct exfilmon_net),
			 bpf_map__max_entries(skel->maps.internal), keep_net, p);
	if (ret)
		return ret;
	for (i = 0; i < p->nr_prevent; i++)
		if (bpf_map_update_elem(pfd, &p->prevent_ids[i], &pol, BPF_ANY))
			return -errno;
	ret = drop_stale(pfd, sizeof(uint32_t),
			 bpf_map__max_entries(skel->maps.prevent), keep_id, p);
	if (ret)
		return ret;
	__atomic_store_n(&skel->bss->prevent_on, p->nr_prevent ? 1 : 0,
			 __ATOMIC_SEQ_CST);
	return 0;
}

/*
 * The self-check's part (docs/design.md "Self-check"): root can detach a
 * cgroup link (BPF_LINK_DETACH works for them, unlike for tracepoint
 * links; its info then names no cgroup) or clear prevent_on in .bss.
 * Either would end prevent mode silently. Both are mended: a detached
 * link is replaced by a new one, which the caller pins again.
 */
int prevent_bpf_check(struct exfilmon_bpf *skel, int cgroup_fd, int want_on,
		      char *why, size_t whylen, int *relinked)
{
	struct bpf_program *progs[NR_CGROUP_PROGS] = CGROUP_PROGS(skel);
	char err[256];
	int i, bad = 0;

	*relinked = 0;
	if (__atomic_load_n(&skel->bss->prevent_on, __ATOMIC_RELAXED) !=
	    (uint32_t)want_on) {
		__atomic_store_n(&skel->bss->prevent_on, want_on,
				 __ATOMIC_SEQ_CST);
		sensor_say(why, whylen, "prevent mode was switched %s behind "
			   "our back", want_on ? "off" : "on");
		bad++;
	}
	if (cgroup_fd < 0)
		return bad;
	for (i = 0; i < NR_CGROUP_PROGS; i++) {
		struct bpf_link **l = cgroup_links(skel, i);
		struct bpf_link_info info = { 0 };
		__u32 len = sizeof(info);

		if (!*l || bpf_obj_get_info_by_fd(bpf_link__fd(*l), &info,
						  &len) ||
		    info.cgroup.cgroup_id)
			continue;
		sensor_say(why, whylen, "%s was detached from the cgroup v2 "
			   "root", bpf_program__name(progs[i]));
		bad++;
		bpf_link__destroy(*l);
		*l = NULL;
		if (prevent_bpf_attach(skel, cgroup_fd, err, sizeof(err)))
			sensor_say(why, whylen, "%s", err);
		else
			*relinked = 1;
	}
	return bad;
}

int prevent_bpf_allow(struct exfilmon_bpf *skel,
		      const struct exfilmon_allow_key *k,
		      const struct exfilmon_allow *v)
{
	int fd = bpf_map__fd(skel->maps.allow);

	if (v)
		return bpf_map_update_elem(fd, k, v, BPF_ANY) ? -errno : 0;
	return bpf_map_delete_elem(fd, k) ? -errno : 0;
}
