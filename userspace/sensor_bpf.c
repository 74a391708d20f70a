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
	/* the iterator runs on demand, with a filter: see bpf_fd_key() */
	bpf_program__set_autoattach(s->skel->progs.iter_fd_keys, false);

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

/*
 * Walk a hash map, calling fn(ctx, key, value) for each entry; entries for
 * which fn returns 1 are deleted after the walk, because deleting the key
 * get_next_key() stands on restarts a hash map walk from its first key.
 */
static int map_walk(int fd, size_t ksize, size_t vsize,
		    int (*fn)(void *ctx, const void *k, const void *v),
		    void *ctx)
{
	char key[64], next[64], val[128];
	size_t nr = 0, cap = 0, i;
	char *doomed = NULL;
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
		if (ret < 0)
			break;
		if (ret == 1) {
			if (nr == cap) {
				char *n = realloc(doomed, (cap ? cap * 2 : 64) *
						  ksize);

				/* keep the entry: it is collected next time */
				if (!n)
					continue;
				doomed = n;
				cap = cap ? cap * 2 : 64;
			}
			memcpy(doomed + nr++ * ksize, key, ksize);
		}
		ret = 0;
	}
	for (i = 0; i < nr; i++)
		bpf_map_delete_elem(fd, doomed + i * ksize);
	free(doomed);
	return ret;
}

static int bpf_proc_forget(struct sensor *base,
			   const struct exfilmon_pkey *keys, size_t nr)
{
	int fd = bpf_map__fd(to_bpf(base)->skel->maps.procs);
	size_t i;

	for (i = 0; i < nr; i++)
		bpf_map_delete_elem(fd, &keys[i]);
	return 0;
}

static int rm_id_one(void *ctx, const void *k, const void *v)
{
	const struct exfilmon_watch *w = v;

	return w->watch_id == *(const uint32_t *)ctx;
}

static int bpf_watch_rm_id(struct sensor *base, uint32_t watch_id)
{
	return map_walk(bpf_map__fd(to_bpf(base)->skel->maps.watched),
			sizeof(struct exfilmon_file_key),
			sizeof(struct exfilmon_watch), rm_id_one, &watch_id);
}

/*
 * Run the task_file iterator over our own process and pick fd's record.
 * Kernels since 6.1 take the task filter; the program filters by tgid as
 * well, so an unfiltered walk gives the same answer, only slower.
 */
static int bpf_fd_key(struct sensor *base, int fd,
		      struct exfilmon_file_key *key)
{
	struct sensor_bpf *s = to_bpf(base);
	union bpf_iter_link_info linfo = { 0 };
	LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &linfo,
		    .link_info_len = sizeof(linfo));
	struct exfilmon_fd_key r[128];
	struct bpf_link *link;
	int ifd, ret = -ENOENT;
	ssize_t n, i;

	linfo.task.pid = getpid();
	s->skel->bss->iter_tgid = getpid();
	link = bpf_program__attach_iter(s->skel->progs.iter_fd_keys, &opts);
	if (!link)
		link = bpf_program__attach_iter(s->skel->progs.iter_fd_keys,
						NULL);
	if (!link)
		return -errno;
	ifd = bpf_iter_create(bpf_link__fd(link));
	if (ifd < 0) {
		ret = -errno;
		goto out_link;
	}
	/* seq_file hands out whole records when the buffer fits them */
	while ((n = read(ifd, r, sizeof(r))) > 0) {
		for (i = 0; i < n / (ssize_t)sizeof(r[0]); i++) {
			if ((int)r[i].fd == fd) {
				*key = r[i].key;
				ret = 0;
			}
		}
	}
	if (n < 0)
		ret = -errno;
	close(ifd);
out_link:
	bpf_link__destroy(link);
	return ret;
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
	.watch_rm_id = bpf_watch_rm_id,
	.fd_key = bpf_fd_key,
	.stats = bpf_stats,
	.proc_get = bpf_proc_get,
	.proc_forget = bpf_proc_forget,
	.for_each_proc = bpf_for_each_proc,
	.for_each_read = bpf_for_each_read,
	.for_each_send = bpf_for_each_send,
};
