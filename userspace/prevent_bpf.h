/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The eBPF sensor's prevent mode (bpf/prevent.h, docs/prevent.md): where
 * its cgroup programs attach, and the maps the daemon's policy fills.
 */
#ifndef EXFILMON_PREVENT_BPF_H
#define EXFILMON_PREVENT_BPF_H

#include <stddef.h>
#include "sensor.h"

struct exfilmon_bpf;

/*
 * Before load: find the cgroup v2 root in /proc/self/mountinfo. Returns an
 * fd of it, or -errno with the reason in why; then the cgroup programs are
 * not attached (nor pinned), and prevent mode is unavailable.
 */
int prevent_bpf_prepare(struct exfilmon_bpf *skel, char *why, size_t whylen);

/* After load: attach the cgroup programs to cgroup_fd; 0 or -errno. */
int prevent_bpf_attach(struct exfilmon_bpf *skel, int cgroup_fd, char *err,
		       size_t errlen);

/* Can the loaded sensor refuse anything? (its cgroup programs attached) */
int prevent_bpf_ready(const struct exfilmon_bpf *skel);

int prevent_bpf_policy(struct exfilmon_bpf *skel, const struct sensor_policy *p);
int prevent_bpf_allow(struct exfilmon_bpf *skel,
		      const struct exfilmon_allow_key *k,
		      const struct exfilmon_allow *v);

/*
 * For the self-check: mend prevent_on (want_on) and detached cgroup
 * links; *relinked says the links changed (pin them again). Returns the
 * number of things found changed, each said in why.
 */
int prevent_bpf_check(struct exfilmon_bpf *skel, int cgroup_fd, int want_on,
		      char *why, size_t whylen, int *relinked);

#endif
