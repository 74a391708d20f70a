// SPDX-License-Identifier: GPL-2.0-only
/*
 * The floor: a program that returns at once, attached to every syscall
 * tracepoint exfilmon's eBPF sensor attaches to. Any program on a syscall
 * tracepoint puts every task on the syscall slow path and makes each such
 * syscall build a perf trace record (perf_syscall_exit(),
 * perf_trace_buf_alloc()) before our program runs at all. What exfilmon
 * costs above this line is ours to cut; below it, no monitor built on
 * syscall tracepoints can go.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "bench.h"
#include "exfilmon.skel.h"
#include "floor.skel.h"

#define MAX_LINKS	128

struct floor_run {
	struct floor_bpf *skel;
	struct bpf_link *links[MAX_LINKS];
	int nr;
};

static int floor_probe(const struct bench_env *e, char *why, size_t len)
{
	if (geteuid()) {
		snprintf(why, len, "loading BPF programs needs root");
		return -EPERM;
	}
	return 0;
}

static void floor_detach(struct floor_run *r)
{
	while (r->nr)
		bpf_link__destroy(r->links[--r->nr]);
	floor_bpf__destroy(r->skel);
	free(r);
}

static int floor_start(const struct bench_env *e, void **state)
{
	static const char prefix[] = "tracepoint/syscalls/";
	struct floor_run *r = calloc(1, sizeof(*r));
	struct exfilmon_bpf *ours;
	struct bpf_program *p;
	int err = 0;

	if (!r)
		return -ENOMEM;
	/* the list of tracepoints comes from our own object, never copied */
	ours = exfilmon_bpf__open();
	r->skel = floor_bpf__open_and_load();
	if (!ours || !r->skel) {
		fprintf(stderr, "floor: failed to open the BPF objects\n");
		err = -EIO;
		goto out;
	}
	bpf_object__for_each_program(p, ours->obj) {
		const char *sec = bpf_program__section_name(p);
		struct bpf_link *l;

		if (strncmp(sec, prefix, sizeof(prefix) - 1))
			continue;
		if (r->nr == MAX_LINKS) {
			err = -E2BIG;
			break;
		}
		l = bpf_program__attach_tracepoint(r->skel->progs.nothing,
						   "syscalls",
						   sec + sizeof(prefix) - 1);
		if (!l) {
			err = -errno;
			fprintf(stderr, "floor: failed to attach to %s: %s\n",
				sec, strerror(errno));
			break;
		}
		r->links[r->nr++] = l;
	}
out:
	exfilmon_bpf__destroy(ours);
	if (err) {
		floor_detach(r);
		return err;
	}
	*state = r;
	return 0;
}

static int floor_stop(const struct bench_env *e, void *state,
		      struct json_object *seen)
{
	struct floor_run *r = state;

	json_object_object_add(seen, "tracepoints",
			       json_object_new_int(r->nr));
	floor_detach(r);
	return 0;
}

const struct monitor mon_floor = {
	.name = "floor",
	.probe = floor_probe,
	.start = floor_start,
	.stop = floor_stop,
};
