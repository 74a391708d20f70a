// SPDX-License-Identifier: GPL-2.0-only
/*
 * The eBPF sensor's loader: opens the embedded skeleton, sizes the tables
 * from the config, loads, attaches and hands ring buffer records to the
 * daemon.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "sensor.h"
#include "exfilmon.skel.h"

struct sensor_bpf {
	struct sensor base;
	struct exfilmon_bpf *skel;
	struct ring_buffer *rb;
	sensor_record_fn fn;
	void *ctx;
	int ncpus;
};

#define to_bpf(s) ((struct sensor_bpf *)(s))

/*
 * libbpf attaches tracepoints through perf_event_open(), which needs the
 * tracepoint's id from tracefs. A minimal system may not mount tracefs, so
 * mount it where libbpf looks (/sys/kernel/tracing, since 4.1).
 */
static int ensure_tracefs(char *err, size_t errlen)
{
	if (!access("/sys/kernel/tracing/events", F_OK) ||
	    !access("/sys/kernel/debug/tracing/events", F_OK))
		return 0;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		snprintf(err, errlen, "failed to mount tracefs: %s",
			 strerror(errno));
		return -errno;
	}
	return 0;
}

static int on_record(void *ctx, void *data, size_t len)
{
	struct sensor_bpf *s = ctx;
	const struct exfilmon_rec_hdr *h = data;

	if (len < sizeof(*h) || h->size > len)
		return 0;	/* cannot happen with our programs; skip it */
	return s->fn(s->ctx, h, h->size);
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_WARN || getenv("EXFILMON_LIBBPF_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

static void bpf_close(struct sensor *base)
{
	struct sensor_bpf *s = to_bpf(base);

	ring_buffer__free(s->rb);
	exfilmon_bpf__destroy(s->skel);
	free(s);
}

static int bpf_open(struct sensor **out, const struct sensor_limits *lim,
		    sensor_record_fn fn, void *ctx, char *err, size_t errlen)
{
	struct sensor_bpf *s;
	int ret;

	libbpf_set_print(libbpf_quiet);
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->base.ops = &sensor_bpf_ops;
	s->fn = fn;
	s->ctx = ctx;
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus < 1) {
		ret = s->ncpus;
		snprintf(err, errlen, "failed to count CPUs: %s",
			 strerror(-ret));
		goto err_free;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		ret = -errno;
		snprintf(err, errlen,
			 "kernel has no BTF (/sys/kernel/btf/vmlinux: %s)",
			 strerror(errno));
		goto err_free;
	}
	ret = ensure_tracefs(err, errlen);
	if (ret)
		goto err_free;

	s->skel = exfilmon_bpf__open();
	if (!s->skel) {
		ret = -errno;
		snprintf(err, errlen, "failed to open BPF object: %s",
			 strerror(errno));
		goto err_free;
	}
	bpf_map__set_max_entries(s->skel->maps.procs, lim->max_procs);
	bpf_map__set_max_entries(s->skel->maps.reads, lim->max_reads);
	bpf_map__set_max_entries(s->skel->maps.sends, lim->max_sends);
	bpf_map__set_max_entries(s->skel->maps.watched, lim->max_watch);
	bpf_map__set_max_entries(s->skel->maps.events, lim->ring_kib * 1024);

	ret = exfilmon_bpf__load(s->skel);
	if (ret) {
		snprintf(err, errlen, "failed to load BPF programs: %s",
			 strerror(-ret));
		goto err_destroy;
	}
	s->base.abi_version = s->skel->rodata->abi_version;
	ret = sensor_check_abi(s->base.abi_version, err, errlen);
	if (ret)
		goto err_destroy;
	ret = exfilmon_bpf__attach(s->skel);
	if (ret) {
		snprintf(err, errlen, "failed to attach BPF programs: %s",
			 strerror(-ret));
		goto err_destroy;
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_record,
				 s, NULL);
	if (!s->rb) {
		ret = -errno;
		snprintf(err, errlen, "failed to open ring buffer: %s",
			 strerror(errno));
		goto err_destroy;
	}
	*out = &s->base;
	return 0;

err_destroy:
	exfilmon_bpf__destroy(s->skel);
err_free:
	free(s);
	return ret;
}

static int bpf_fd(struct sensor *base)
{
	return ring_buffer__epoll_fd(to_bpf(base)->rb);
}

static int bpf_poll(struct sensor *base)
{
	int ret = ring_buffer__consume(to_bpf(base)->rb);

	return ret < 0 ? ret : 0;
}

static int bpf_watch_add(struct sensor *base,
			 const struct exfilmon_file_key *key,
			 const struct exfilmon_watch *w)
{
	int fd = bpf_map__fd(to_bpf(base)->skel->maps.watched);

	return bpf_map_update_elem(fd, key, w, BPF_ANY) ? -errno : 0;
}

static int bpf_watch_rm(struct sensor *base,
			const struct exfilmon_file_key *key)
{
	int fd = bpf_map__fd(to_bpf(base)->skel->maps.watched);

	return bpf_map_delete_elem(fd, key) ? -errno : 0;
}

static int bpf_stats(struct sensor *base, uint64_t stats[EXFILMON_STAT_NR])
{
	struct sensor_bpf *s = to_bpf(base);
	int fd = bpf_map__fd(s->skel->maps.stats);
	uint64_t *percpu;
	__u32 i;
	int c;

	percpu = calloc(s->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (i = 0; i < EXFILMON_STAT_NR; i++) {
		stats[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, percpu))
			continue;
		for (c = 0; c < s->ncpus; c++)
			stats[i] += percpu[c];
	}
	free(percpu);
	return 0;
}

static int bpf_proc_get(struct sensor *base, const struct exfilmon_pkey *key,
			struct exfilmon_proc *out)
{
	int fd = bpf_map__fd(to_bpf(base)->skel->maps.procs);

	return bpf_map_lookup_elem(fd, key, out) ? -errno : 0;
}

/* Iterate a hash map, calling fn(ctx, key, value) for each entry. */
static int map_walk(int fd, size_t ksize, size_t vsize,
		    int (*fn)(void *ctx, const void *k, const void *v),
		    void *ctx)
{
	char key[64], next[64], val[128];
	void *prev = NULL;
	int ret = 0;

	if (ksize > sizeof(key) || vsize > sizeof(val))
		return -EINVAL;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, ksize);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, val))
			continue;	/* deleted meanwhile */
		ret = fn(ctx, key, val);
		if (ret)
			break;
	}
	return ret;
}

struct forget_ctx {
	const struct exfilmon_pkey *procs;
	size_t nr_procs;
	char *doomed;		/* keys to delete, ksize each */
	size_t nr, cap, ksize;
};

static int forget_one(void *ctx, const void *k, const void *v)
{
	struct forget_ctx *f = ctx;
	size_t i;

	/* read and send keys both start with the process key */
	for (i = 0; i < f->nr_procs; i++) {
		if (memcmp(k, &f->procs[i], sizeof(f->procs[i])))
			continue;
		if (f->nr == f->cap) {
			size_t cap = f->cap ? f->cap * 2 : 64;
			char *n = realloc(f->doomed, cap * f->ksize);

			if (!n)
				return -ENOMEM;
			f->doomed = n;
			f->cap = cap;
		}
		memcpy(f->doomed + f->nr++ * f->ksize, k, f->ksize);
		break;
	}
	return 0;
}

/*
 * Collect first, delete after: deleting the key get_next_key() stands on
 * restarts the walk from the first key of a hash map.
 */
static int forget_in(int fd, size_t ksize, size_t vsize,
		     const struct exfilmon_pkey *procs, size_t nr)
{
	struct forget_ctx f = { .procs = procs, .nr_procs = nr,
				.ksize = ksize };
	size_t i;
	int ret;

	ret = map_walk(fd, ksize, vsize, forget_one, &f);
	for (i = 0; i < f.nr; i++)
		bpf_map_delete_elem(fd, f.doomed + i * ksize);
	free(f.doomed);
	return ret;
}

static int bpf_proc_forget(struct sensor *base,
			   const struct exfilmon_pkey *keys, size_t nr)
{
	struct exfilmon_bpf *skel = to_bpf(base)->skel;
	int ret, ret2;
	size_t i;

	ret = forget_in(bpf_map__fd(skel->maps.reads),
			sizeof(struct exfilmon_read_key),
			sizeof(struct exfilmon_count), keys, nr);
	ret2 = forget_in(bpf_map__fd(skel->maps.sends),
			 sizeof(struct exfilmon_send_key),
			 sizeof(struct exfilmon_count), keys, nr);
	for (i = 0; i < nr; i++)
		bpf_map_delete_elem(bpf_map__fd(skel->maps.procs), &keys[i]);
	return ret ?: ret2;
}

static int bpf_for_each_proc(struct sensor *base,
			     int (*fn)(void *ctx, const struct exfilmon_pkey *k,
				       const struct exfilmon_proc *p),
			     void *ctx)
{
	return map_walk(bpf_map__fd(to_bpf(base)->skel->maps.procs),
			sizeof(struct exfilmon_pkey),
			sizeof(struct exfilmon_proc),
			(int (*)(void *, const void *, const void *))fn, ctx);
}

static int bpf_for_each_read(struct sensor *base,
			     int (*fn)(void *ctx,
				       const struct exfilmon_read_key *k,
				       const struct exfilmon_count *c),
			     void *ctx)
{
	return map_walk(bpf_map__fd(to_bpf(base)->skel->maps.reads),
			sizeof(struct exfilmon_read_key),
			sizeof(struct exfilmon_count),
			(int (*)(void *, const void *, const void *))fn, ctx);
}

static int bpf_for_each_send(struct sensor *base,
			     int (*fn)(void *ctx,
				       const struct exfilmon_send_key *k,
				       const struct exfilmon_count *c),
			     void *ctx)
{
	return map_walk(bpf_map__fd(to_bpf(base)->skel->maps.sends),
			sizeof(struct exfilmon_send_key),
			sizeof(struct exfilmon_count),
			(int (*)(void *, const void *, const void *))fn, ctx);
}

const struct sensor_ops sensor_bpf_ops = {
	.kind = "bpf",
	.open = bpf_open,
	.close = bpf_close,
	.fd = bpf_fd,
	.poll = bpf_poll,
	.watch_add = bpf_watch_add,
	.watch_rm = bpf_watch_rm,
	.stats = bpf_stats,
	.proc_get = bpf_proc_get,
	.proc_forget = bpf_proc_forget,
	.for_each_proc = bpf_for_each_proc,
	.for_each_read = bpf_for_each_read,
	.for_each_send = bpf_for_each_send,
};
