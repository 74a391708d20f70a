// SPDX-License-Identifier: GPL-2.0-only
/*
 * The eBPF sensor's loader: opens the embedded skeleton, sizes the tables
 * from the config, loads, attaches and hands ring buffer records to the
 * daemon.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "sensor.h"
#include "sensor_pin.h"
#include "prevent_bpf.h"
#include "exfilmon.skel.h"

/*
 * valgrind 3.19 does not decode BPF_MAP_LOOKUP_BATCH: without a word from
 * us it takes the entries the kernel wrote for uninitialised memory
 * (tests/e2e/test_e2e.c runs the daemon under memcheck).
 */
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_DEFINED(addr, len) ((void)(addr), (void)(len))
#endif

struct sensor_bpf {
	struct sensor base;
	struct exfilmon_bpf *skel;
	struct ring_buffer *rb;
	sensor_record_fn fn;
	void *ctx;
	int ncpus;
	char *pin_dir;		/* where our maps and links are pinned */
	int cgroup_fd;		/* the cgroup v2 root, or -errno */
	int prevent_on;		/* what the last policy set */
	char no_prevent[256];	/* why prevent mode is unavailable */
	int discard;		/* bpf_reset(): records describe what is gone */
};

#define to_bpf(s) ((struct sensor_bpf *)(s))

/* Entries per batch of a table walk, and the most a bucket may need. */
#define MAP_BATCH	256
#define MAP_BATCH_MAX	65536

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

	if (len < sizeof(*h) || h->size > len || s->discard)
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

/* Unpinned, the programs detach with our last fd. */
static void bpf_close(struct sensor *base)
{
	struct sensor_bpf *s = to_bpf(base);

	if (s->pin_dir && !base->keep)
		pin_dir_remove(s->pin_dir);
	free(s->pin_dir);
	ring_buffer__free(s->rb);
	exfilmon_bpf__destroy(s->skel);
	if (s->cgroup_fd >= 0)
		close(s->cgroup_fd);
	free(s);
}

/* FNV-1a of the embedded object: the build the pinned programs are of. */
static uint64_t object_hash(void)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const unsigned char *p;
	size_t sz, i;

	p = exfilmon_bpf__elf_bytes(&sz);
	for (i = 0; i < sz; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static struct exfilmon_bpf *open_skel(const struct sensor_limits *lim,
				      char *err, size_t errlen)
{
	struct exfilmon_bpf *skel = exfilmon_bpf__open();

	if (!skel) {
		snprintf(err, errlen, "failed to open BPF object: %s",
			 strerror(errno));
		return NULL;
	}
	bpf_map__set_max_entries(skel->maps.procs, lim->max_procs);
	bpf_map__set_max_entries(skel->maps.reads, lim->max_reads);
	bpf_map__set_max_entries(skel->maps.sends, lim->max_sends);
	bpf_map__set_max_entries(skel->maps.blocks, lim->max_sends);
	bpf_map__set_max_entries(skel->maps.watched, lim->max_watch);
	bpf_map__set_max_entries(skel->maps.streams, lim->max_streams);
	bpf_map__set_max_entries(skel->maps.flows, lim->max_flows);
	bpf_map__set_max_entries(skel->maps.events, lim->ring_kib * 1024);
	/* the iterator runs on demand, with a filter: see bpf_fd_key() */
	bpf_program__set_autoattach(skel->progs.iter_fd_keys, false);
	skel->rodata->object_hash = object_hash();
	return skel;
}

/*
 * Take over the pinned state of a daemon that died, if it is there and
 * fits; otherwise start afresh and pin. A failure to pin costs only the
 * resume, so it is noted rather than fatal.
 */
static int load_and_attach(struct sensor_bpf *s, const struct sensor_limits *lim,
			   char *err, size_t errlen)
{
	char why[256] = "";
	int ret, adopted = 0;

	s->skel = open_skel(lim, err, errlen);
	if (!s->skel)
		return -errno ? -errno : -EINVAL;
	if (lim->pin_dir) {
		adopted = pin_adopt(s->skel->skeleton, lim->pin_dir, why,
				    sizeof(why));
		if (adopted < 0) {
			/* the skeleton took a part: start over without */
			snprintf(why, sizeof(why), "failed to take over %s: %s",
				 lim->pin_dir, strerror(-adopted));
			exfilmon_bpf__destroy(s->skel);
			s->skel = open_skel(lim, err, errlen);
			if (!s->skel)
				return -errno ? -errno : -EINVAL;
			adopted = 0;
		}
	}
	s->cgroup_fd = prevent_bpf_prepare(s->skel, s->no_prevent,
					   sizeof(s->no_prevent));
	ret = exfilmon_bpf__load(s->skel);
	if (ret) {
		snprintf(err, errlen, "failed to load BPF programs: %s",
			 strerror(-ret));
		return ret;
	}
	s->base.abi_version = s->skel->rodata->abi_version;
	ret = sensor_check_abi(s->base.abi_version, err, errlen);
	if (ret)
		return ret;
	if (adopted) {
		s->base.resumed = 1;
		snprintf(s->base.note, sizeof(s->base.note),
			 "took over the programs and tables pinned in %s",
			 lim->pin_dir);
		return 0;
	}
	ret = exfilmon_bpf__attach(s->skel);
	if (ret) {
		snprintf(err, errlen, "failed to attach BPF programs: %s",
			 strerror(-ret));
		return ret;
	}
	/* the skeleton cannot attach cgroup programs by itself */
	if (s->cgroup_fd >= 0) {
		ret = prevent_bpf_attach(s->skel, s->cgroup_fd, err, errlen);
		if (ret)
			return ret;
	}
	if (!lim->pin_dir)
		return 0;
	/* what was pinned did not fit: it goes, and ours takes its place */
	ret = pin_all(s->skel->skeleton, lim->pin_dir);
	if (ret) {
		snprintf(s->base.note, sizeof(s->base.note),
			 "%s%snot pinned in %s (%s): a restarted daemon will "
			 "start from empty tables", why, why[0] ? "; " : "",
			 lim->pin_dir, strerror(-ret));
		return 0;
	}
	s->pin_dir = strdup(lim->pin_dir);
	snprintf(s->base.note, sizeof(s->base.note), "%s%spinned in %s", why,
		 why[0] ? "; a fresh sensor " : "", lim->pin_dir);
	return 0;
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
	s->cgroup_fd = -1;
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
	ret = load_and_attach(s, lim, err, errlen);
	if (ret)
		goto err_destroy;
	if (s->base.resumed)
		s->pin_dir = strdup(lim->pin_dir);
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_record,
				 s, NULL);
	if (!s->rb) {
		ret = -errno;
		snprintf(err, errlen, "failed to open ring buffer: %s",
			 strerror(errno));
		goto err_unpin;
	}
	*out = &s->base;
	return 0;

err_unpin:
	/* a state taken over stays for the next try */
	if (s->pin_dir && !s->base.resumed)
		pin_dir_remove(s->pin_dir);
	free(s->pin_dir);
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
			 const struct exfilmon_obj *w)
{
	struct sensor_bpf *s = to_bpf(base);
	int fd = bpf_map__fd(s->skel->maps.watched);
	__u32 slot = exfilmon_watch_slot(key->ino);

	/* the filter's bit first: a read between the two finds the entry
	 * (include/exfilmon_abi.h); the programs set bits in this word too */
	__atomic_fetch_or(&s->skel->bss->watch_filter[slot / 64],
			  1ULL << (slot % 64), __ATOMIC_SEQ_CST);
	if (bpf_map_update_elem(fd, key, w, BPF_ANY))
		return -errno;
	/* never cleared: a stale flag only costs the parent's lookup */
	if (w->flags & EXFILMON_WATCH_DIR)
		s->skel->bss->watch_dirs = 1;
	return 0;
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

/* One map lookup per key: the daemon asks for a few live counters. */
static int bpf_table_lookup(struct sensor *base, uint32_t table,
			    void *entries, size_t count)
{
	struct sensor_bpf *s = to_bpf(base);
	size_t ksize, esize, i;
	struct bpf_map *map;
	char *e = entries;

	switch (table) {
	case EXFILMON_TABLE_READS:
		map = s->skel->maps.reads;
		ksize = sizeof(struct exfilmon_read_key);
		break;
	case EXFILMON_TABLE_FLOWS:
		map = s->skel->maps.flows;
		ksize = sizeof(struct exfilmon_read_key);
		break;
	case EXFILMON_TABLE_SENDS:
		map = s->skel->maps.sends;
		ksize = sizeof(struct exfilmon_send_key);
		break;
	default:
		return -EINVAL;
	}
	esize = ksize + sizeof(struct exfilmon_count);
	for (i = 0; i < count; i++, e += esize) {
		if (!bpf_map_lookup_elem(bpf_map__fd(map), e, e + ksize))
			continue;
		if (errno != ENOENT)
			return -errno;
		memset(e + ksize, 0, sizeof(struct exfilmon_count));
	}
	return 0;
}

/*
 * A hash map read in batches (BPF_MAP_LOOKUP_BATCH, since 5.6). The batch
 * cursor is a bucket, so entries the programs delete meanwhile (a stream
 * read to zero) cost nothing; get_next_key() would restart the walk from
 * the first key whenever the key it stands on goes.
 */
struct map_iter {
	struct sensor_table_iter it;
	int fd;
	size_t ksize, vsize;
	char *keys, *vals;
	__u32 cap;		/* entries the buffers hold */
	__u32 nr, pos;		/* in the buffers */
	__u64 cursor;		/* the kernel's; a hash map's is a bucket */
	int started, ended;
};

#define to_map_iter(p) \
	((struct map_iter *)((char *)(p) - offsetof(struct map_iter, it)))

static int map_fill(struct map_iter *m)
{
	for (;;) {
		__u32 count = m->cap;
		char *k, *v;
		int err;

		err = bpf_map_lookup_batch(m->fd, m->started ? &m->cursor :
					   NULL, &m->cursor, m->keys, m->vals,
					   &count, NULL);
		err = err ? errno : 0;
		/* ENOENT: no bucket after these */
		if (!err || err == ENOENT) {
			VALGRIND_MAKE_MEM_DEFINED(m->keys, count * m->ksize);
			VALGRIND_MAKE_MEM_DEFINED(m->vals, count * m->vsize);
			m->started = 1;
			m->ended = err == ENOENT;
			m->nr = count;
			m->pos = 0;
			return 0;
		}
		/* one bucket holds more than the buffers: grow them */
		if (err != ENOSPC || count || m->cap >= MAP_BATCH_MAX)
			return -err;
		k = realloc(m->keys, m->cap * 2 * m->ksize);
		if (k)
			m->keys = k;
		v = k ? realloc(m->vals, m->cap * 2 * m->vsize) : NULL;
		if (!v)
			return -ENOMEM;
		m->vals = v;
		m->cap *= 2;
	}
}

static int map_next(struct sensor_table_iter *it, const void **k,
		    const void **v)
{
	struct map_iter *m = to_map_iter(it);
	int ret;

	while (m->pos == m->nr) {
		if (m->ended)
			return 0;
		ret = map_fill(m);
		if (ret)
			return ret;
	}
	*k = m->keys + m->pos * m->ksize;
	*v = m->vals + m->pos * m->vsize;
	m->pos++;
	return 1;
}

/* One by one: the programs may have deleted some meanwhile (ENOENT). */
static int map_del(struct sensor_table_iter *it, const void *doomed,
		   size_t nr)
{
	struct map_iter *m = to_map_iter(it);
	const char *k = doomed;
	int ret = 0;
	size_t i;

	for (i = 0; i < nr; i++, k += m->ksize) {
		if (bpf_map_delete_elem(m->fd, k) && errno != ENOENT && !ret)
			ret = -errno;
	}
	return ret;
}

static int map_walk(const struct bpf_map *map, size_t ksize, size_t vsize,
		    int (*fn)(void *ctx, const void *k, const void *v),
		    void *ctx)
{
	struct map_iter m = {
		.it = { .next = map_next, .del = map_del, .dsize = ksize },
		.fd = bpf_map__fd(map),
		.ksize = ksize,
		.vsize = vsize,
		.cap = MAP_BATCH,
	};
	int ret;

	/* fn would read another layout through its casts: refuse */
	if (bpf_map__key_size(map) != ksize ||
	    bpf_map__value_size(map) != vsize)
		return -EPROTO;
	m.keys = malloc(m.cap * ksize);
	m.vals = malloc(m.cap * vsize);
	ret = m.keys && m.vals ? sensor_table_walk(&m.it, fn, ctx) : -ENOMEM;
	free(m.vals);
	free(m.keys);
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

/*
 * Configured entries only: a derived mark carries the watch_id of its
 * origin too, and must outlive the watch (the data was copied already).
 */
static int rm_id_one(void *ctx, const void *k, const void *v)
{
	const struct exfilmon_obj *w = v;

	if (w->flags & (EXFILMON_OBJ_DERIVED | EXFILMON_OBJ_OPAQUE))
		return 0;
	return w->watch_id == *(const uint32_t *)ctx;
}

static int bpf_watch_rm_id(struct sensor *base, uint32_t watch_id)
{
	return map_walk(to_bpf(base)->skel->maps.watched,
			sizeof(struct exfilmon_file_key),
			sizeof(struct exfilmon_obj), rm_id_one, &watch_id);
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

/*
 * The typed for_each_* ops of struct sensor_ops, each a map_walk() over
 * one map: the cast is safe as fn's arguments are the map's key and value.
 */
#define BPF_FOR_EACH(name, map, ktype, vtype)				\
static int bpf_for_each_##name(struct sensor *base,			\
			       int (*fn)(void *ctx, const ktype *k,	\
					 const vtype *v),		\
			       void *ctx)				\
{									\
	return map_walk(to_bpf(base)->skel->maps.map, sizeof(ktype),	\
			sizeof(vtype),					\
			(int (*)(void *, const void *, const void *))fn, \
			ctx);						\
}

BPF_FOR_EACH(proc, procs, struct exfilmon_pkey, struct exfilmon_proc)
BPF_FOR_EACH(read, reads, struct exfilmon_read_key, struct exfilmon_count)
BPF_FOR_EACH(send, sends, struct exfilmon_send_key, struct exfilmon_count)
BPF_FOR_EACH(flow, flows, struct exfilmon_read_key, struct exfilmon_count)
BPF_FOR_EACH(watched, watched, struct exfilmon_file_key, struct exfilmon_obj)
BPF_FOR_EACH(stream, streams, struct exfilmon_file_key, struct exfilmon_obj)
BPF_FOR_EACH(block, blocks, struct exfilmon_send_key, struct exfilmon_count)

static int bpf_policy(struct sensor *base, const struct sensor_policy *p)
{
	struct sensor_bpf *s = to_bpf(base);
	int ret = prevent_bpf_policy(s->skel, p);

	if (!ret)
		s->prevent_on = p->nr_prevent > 0;
	/* say why once, where the daemon logs how the sensor started */
	if (ret == -EOPNOTSUPP)
		snprintf(base->note, sizeof(base->note), "%s",
			 s->no_prevent[0] ? s->no_prevent :
			 "its cgroup programs are not attached");
	return ret;
}

static int bpf_allow(struct sensor *base, const struct exfilmon_allow_key *k,
		     const struct exfilmon_allow *v)
{
	return prevent_bpf_allow(to_bpf(base)->skel, k, v);
}

static int drop_all(void *ctx, const void *k, const void *v)
{
	return 1;
}

static int bpf_reset(struct sensor *base)
{
	struct sensor_bpf *s = to_bpf(base);
	const struct {
		struct bpf_map *map;
		size_t ksize, vsize;
	} t[] = {
		{ s->skel->maps.procs, sizeof(struct exfilmon_pkey),
		  sizeof(struct exfilmon_proc) },
		{ s->skel->maps.reads, sizeof(struct exfilmon_read_key),
		  sizeof(struct exfilmon_count) },
		{ s->skel->maps.sends, sizeof(struct exfilmon_send_key),
		  sizeof(struct exfilmon_count) },
		{ s->skel->maps.blocks, sizeof(struct exfilmon_send_key),
		  sizeof(struct exfilmon_count) },
		{ s->skel->maps.flows, sizeof(struct exfilmon_read_key),
		  sizeof(struct exfilmon_count) },
		{ s->skel->maps.streams, sizeof(struct exfilmon_file_key),
		  sizeof(struct exfilmon_obj) },
	};
	size_t i;
	int ret;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ret = map_walk(t[i].map, t[i].ksize, t[i].vsize, drop_all,
			       NULL);
		if (ret < 0)
			return ret;
	}
	/* the tracked filter keeps its bits: a stale one costs a lookup */
	s->discard = 1;
	ring_buffer__consume(s->rb);
	s->discard = 0;
	return 0;
}

struct tracked_ctx {
	struct sensor_bpf *s;
	int bad;
	char *why;
	size_t whylen;
};

static int tracked_bit(const struct sensor_bpf *s, uint32_t tgid)
{
	tgid &= (1u << 22) - 1;
	return !!(__atomic_load_n(&s->skel->bss->tracked_tgids[tgid / 64],
				  __ATOMIC_RELAXED) & (1ULL << (tgid % 64)));
}

/*
 * A live tracked process must have its bit, or its writes and sends go
 * uncounted. The exit hook clears the bit a moment before it flags the
 * entry exited, so a clear bit counts only if the entry is still not
 * flagged a while later.
 */
static int tracked_one(void *ctx, const void *k, const void *v)
{
	struct tracked_ctx *c = ctx;
	const struct exfilmon_pkey *key = k;
	const struct exfilmon_proc *p = v;
	struct exfilmon_proc now;
	int fd = bpf_map__fd(c->s->skel->maps.procs);

	if ((p->flags & EXFILMON_PROC_EXITED) || tracked_bit(c->s, key->tgid))
		return 0;
	usleep(10000);
	if (bpf_map_lookup_elem(fd, key, &now) ||
	    (now.flags & EXFILMON_PROC_EXITED) ||
	    tracked_bit(c->s, key->tgid))
		return 0;
	__atomic_fetch_or(&c->s->skel->bss->tracked_tgids[(key->tgid &
				((1u << 22) - 1)) / 64],
			  1ULL << (key->tgid % 64), __ATOMIC_SEQ_CST);
	if (!c->bad++)
		sensor_say(c->why, c->whylen, "the filter bit of tracked process %u "
		    "was cleared", key->tgid);
	return 0;
}

/*
 * What root could change behind our back: the pins (a restarted daemon
 * would lose the state) and the filters in .bss (the programs would skip
 * watched reads or tracked senders). The links themselves cannot be
 * detached: BPF_LINK_DETACH answers EOPNOTSUPP for tracepoint links.
 */
static int bpf_check(struct sensor *base, const struct exfilmon_file_key *keys,
		     size_t nr, char *why, size_t whylen)
{
	struct sensor_bpf *s = to_bpf(base);
	struct tracked_ctx tc = { .s = s, .why = why, .whylen = whylen };
	int bad = 0, ret, relinked;
	size_t i;

	ret = prevent_bpf_check(s->skel, s->cgroup_fd, s->prevent_on, why,
				whylen, &relinked);
	bad += ret;
	if (s->pin_dir) {
		ret = pin_verify(s->skel->skeleton, s->pin_dir, why, whylen);
		if (ret > 0 || relinked) {
			bad += ret > 0 ? ret : 0;
			ret = pin_all(s->skel->skeleton, s->pin_dir);
			sensor_say(why, whylen, ret ? "failed to pin again: %s" :
			    "pinned again%s", ret ? strerror(-ret) : "");
		}
	}
	for (i = 0; i < nr; i++) {
		__u32 slot = exfilmon_watch_slot(keys[i].ino);
		__u64 *w = &s->skel->bss->watch_filter[slot / 64];

		if (__atomic_load_n(w, __ATOMIC_RELAXED) & 1ULL << (slot % 64))
			continue;
		__atomic_fetch_or(w, 1ULL << (slot % 64), __ATOMIC_SEQ_CST);
		sensor_say(why, whylen, "the filter bit of watched inode %llu was "
		    "cleared", (unsigned long long)keys[i].ino);
		bad++;
	}
	ret = map_walk(s->skel->maps.procs, sizeof(struct exfilmon_pkey),
		       sizeof(struct exfilmon_proc), tracked_one, &tc);
	if (ret < 0)
		return ret;
	if (tc.bad > 1)
		sensor_say(why, whylen, "and of %d other tracked processes",
		    tc.bad - 1);
	return bad + tc.bad;
}

const struct sensor_ops sensor_bpf_ops = {
	.kind = "bpf",
	.open = bpf_open,
	.close = bpf_close,
	.reset = bpf_reset,
	.check = bpf_check,
	.fd = bpf_fd,
	.poll = bpf_poll,
	.watch_add = bpf_watch_add,
	.watch_rm = bpf_watch_rm,
	.watch_rm_id = bpf_watch_rm_id,
	.fd_key = bpf_fd_key,
	.stats = bpf_stats,
	.proc_get = bpf_proc_get,
	.proc_forget = bpf_proc_forget,
	.table_lookup = bpf_table_lookup,
	.for_each_proc = bpf_for_each_proc,
	.for_each_read = bpf_for_each_read,
	.for_each_send = bpf_for_each_send,
	.for_each_flow = bpf_for_each_flow,
	.for_each_watched = bpf_for_each_watched,
	.for_each_stream = bpf_for_each_stream,
	.policy = bpf_policy,
	.allow = bpf_allow,
	.for_each_block = bpf_for_each_block,
};
