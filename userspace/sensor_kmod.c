// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel module sensor's client: /dev/exfilmon, its records by read()
 * and its tables by ioctl (include/exfilmon_abi.h). Same records, same
 * tables as the eBPF sensor; only the transport differs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include "sensor.h"

#define READ_BUF	(256 << 10)
#define TABLE_BATCH	512

struct sensor_kmod {
	struct sensor base;
	int fd;
	sensor_record_fn fn;
	void *ctx;
	char *buf;
	int keep;		/* the tables outlive a daemon that dies */
};

#define to_kmod(s) ((struct sensor_kmod *)(s))

static int table_walk(struct sensor_kmod *s, uint32_t table, size_t esize,
		      size_t ksize, int (*fn)(void *ctx, const void *k,
					      const void *v),
		      void *ctx);
static int kmod_reset(struct sensor_kmod *s, int watched);

static void free_kmod(struct sensor_kmod *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->buf);
	free(s);
}

/* Detect mode everywhere and no override: an empty policy, 0 or -errno. */
static int kmod_policy_clear(struct sensor_kmod *s)
{
	struct exfilmon_ioc_policy off = {
		.size = sizeof(off), .flags = EXFILMON_POLICY_ALLOW_CLEAR,
	};

	return ioctl(s->fd, EXFILMON_IOC_POLICY, &off) ? -errno : 0;
}

/*
 * An orderly close empties the tables when they were to be kept: the next
 * daemon must not take over what this one already turned into alerts. It
 * also ends prevent mode and the overrides, as the eBPF sensor's does by
 * unpinning its programs and maps: the module outlives the daemon, and
 * refusing with nobody to reset a connection or to hear of a refusal is
 * for a daemon that died.
 */
static void kmod_close(struct sensor *base)
{
	struct sensor_kmod *s = to_kmod(base);

	if (!base->keep && s->fd >= 0)
		kmod_policy_clear(s);
	if (s->keep && !base->keep)
		kmod_reset(s, 1);
	free_kmod(s);
}

static int kmod_reset_op(struct sensor *base)
{
	return kmod_reset(to_kmod(base), 0);
}

static int drop_all(void *ctx, const void *k, const void *v)
{
	return 1;
}

static int count_one(void *ctx, const void *k, const void *v)
{
	++*(size_t *)ctx;
	return 0;
}

/*
 * The module's tables outlive the daemon that filled them. A daemon that
 * keeps them (sensor_limits.pin_dir) takes them over, the way an eBPF one
 * takes over pinned maps; otherwise it starts with empty tables and the
 * watch list, opaque executables and derived marks its config and store
 * give it. watched: the watched table too.
 */
static int kmod_reset(struct sensor_kmod *s, int watched)
{
	static const struct {
		uint32_t table;
		size_t esize, ksize;
	} tables[] = {
		{ EXFILMON_TABLE_WATCHED, sizeof(struct exfilmon_watch_entry),
		  sizeof(struct exfilmon_file_key) },
		{ EXFILMON_TABLE_STREAMS, sizeof(struct exfilmon_watch_entry),
		  sizeof(struct exfilmon_file_key) },
		{ EXFILMON_TABLE_FLOWS, sizeof(struct exfilmon_read_entry),
		  sizeof(struct exfilmon_read_key) },
		{ EXFILMON_TABLE_READS, sizeof(struct exfilmon_read_entry),
		  sizeof(struct exfilmon_read_key) },
		{ EXFILMON_TABLE_SENDS, sizeof(struct exfilmon_send_entry),
		  sizeof(struct exfilmon_send_key) },
		{ EXFILMON_TABLE_BLOCKS, sizeof(struct exfilmon_send_entry),
		  sizeof(struct exfilmon_send_key) },
		{ EXFILMON_TABLE_PROCS, sizeof(struct exfilmon_proc_entry),
		  sizeof(struct exfilmon_pkey) },
	};
	size_t i;
	int ret;

	for (i = watched ? 0 : 1; i < sizeof(tables) / sizeof(tables[0]); i++) {
		ret = table_walk(s, tables[i].table, tables[i].esize,
				 tables[i].ksize, drop_all, NULL);
		if (ret)
			return ret;
	}
	/* and records queued for the last daemon describe what is gone */
	while (read(s->fd, s->buf, READ_BUF) > 0)
		;
	return 0;
}

static int kmod_open(struct sensor **out, const struct sensor_limits *lim,
		     sensor_record_fn fn, void *ctx, char *err, size_t errlen)
{
	struct exfilmon_ioc_version v = { .size = sizeof(v) };
	struct exfilmon_ioc_limits l = {
		.size = sizeof(l),
		.max_procs = lim->max_procs,
		.max_reads = lim->max_reads,
		.max_sends = lim->max_sends,
		.max_watch = lim->max_watch,
		.max_streams = lim->max_streams,
		.max_flows = lim->max_flows,
	};
	struct sensor_kmod *s;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->base.ops = &sensor_kmod_ops;
	s->fn = fn;
	s->ctx = ctx;
	s->buf = malloc(READ_BUF);
	s->fd = open(EXFILMON_DEV_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (!s->buf || s->fd < 0) {
		ret = s->buf ? -errno : -ENOMEM;
		snprintf(err, errlen, "%s: %s%s", EXFILMON_DEV_PATH,
			 strerror(-ret),
			 ret == -ENOENT ? " (is exfilmon.ko loaded?)" :
			 ret == -EBUSY ? " (another exfilmond has it open)" :
			 "");
		goto err_close;
	}
	if (ioctl(s->fd, EXFILMON_IOC_VERSION, &v)) {
		ret = -errno;
		snprintf(err, errlen, "failed to read the module's ABI "
			 "version: %s", strerror(errno));
		goto err_close;
	}
	s->base.abi_version = v.abi_version;
	ret = sensor_check_abi(v.abi_version, err, errlen);
	if (ret)
		goto err_close;
	/* the module's parameters cap these; a larger ask is refused */
	if (ioctl(s->fd, EXFILMON_IOC_SET_LIMITS, &l)) {
		ret = -errno;
		snprintf(err, errlen, "failed to set table limits (procs %u, "
			 "reads %u, sends %u, watch %u, streams %u, flows "
			 "%u): %s; the module's parameters are the upper "
			 "bounds", l.max_procs, l.max_reads, l.max_sends,
			 l.max_watch, l.max_streams, l.max_flows,
			 strerror(errno));
		goto err_close;
	}
	if (lim->pin_dir) {
		size_t nr = 0;

		ret = table_walk(s, EXFILMON_TABLE_WATCHED,
				 sizeof(struct exfilmon_watch_entry),
				 sizeof(struct exfilmon_file_key), count_one,
				 &nr);
		if (!ret)
			ret = table_walk(s, EXFILMON_TABLE_PROCS,
					 sizeof(struct exfilmon_proc_entry),
					 sizeof(struct exfilmon_pkey),
					 count_one, &nr);
		if (ret) {
			snprintf(err, errlen, "failed to read the module's "
				 "tables: %s", strerror(-ret));
			goto err_close;
		}
		s->keep = 1;
		s->base.resumed = nr > 0;
		snprintf(s->base.note, sizeof(s->base.note), nr ?
			 "took over the module's tables (%zu entries)" :
			 "the module's tables are empty", nr);
	} else {
		/*
		 * Detect mode and no override until our policy is set: what
		 * a daemon that died left is not ours to enforce.
		 */
		ret = kmod_reset(s, 1);
		if (!ret)
			ret = kmod_policy_clear(s);
		if (ret) {
			snprintf(err, errlen, "failed to clear the module's "
				 "tables: %s", strerror(-ret));
			goto err_close;
		}
	}
	*out = &s->base;
	return 0;

err_close:
	free_kmod(s);
	return ret;
}

static int kmod_fd(struct sensor *base)
{
	return to_kmod(base)->fd;
}

static int kmod_poll(struct sensor *base)
{
	struct sensor_kmod *s = to_kmod(base);
	ssize_t n;

	while ((n = read(s->fd, s->buf, READ_BUF)) > 0) {
		ssize_t off = 0;

		/* the module hands out whole records only */
		while (off + (ssize_t)sizeof(struct exfilmon_rec_hdr) <= n) {
			const struct exfilmon_rec_hdr *h =
				(const void *)(s->buf + off);

			if (h->size < sizeof(*h) || off + h->size > n)
				return -EPROTO;
			if (s->fn(s->ctx, h, h->size) < 0)
				return 0;
			off += h->size;
		}
	}
	return n < 0 && errno != EAGAIN && errno != EINTR ? -errno : 0;
}

static int kmod_watch(struct sensor *base, unsigned long cmd,
		      const struct exfilmon_file_key *key,
		      const struct exfilmon_obj *w)
{
	struct exfilmon_ioc_watch iw = { .size = sizeof(iw) };

	if (key)
		iw.key = *key;
	if (w)
		iw.w = *w;
	return ioctl(to_kmod(base)->fd, cmd, &iw) ? -errno : 0;
}

static int kmod_watch_add(struct sensor *base,
			  const struct exfilmon_file_key *key,
			  const struct exfilmon_obj *w)
{
	return kmod_watch(base, EXFILMON_IOC_WATCH_ADD, key, w);
}

static int kmod_watch_rm(struct sensor *base,
			 const struct exfilmon_file_key *key)
{
	return kmod_watch(base, EXFILMON_IOC_WATCH_RM, key, NULL);
}

static int kmod_watch_rm_id(struct sensor *base, uint32_t watch_id)
{
	struct exfilmon_obj w = { .watch_id = watch_id };

	return kmod_watch(base, EXFILMON_IOC_WATCH_RM_ID, NULL, &w);
}

static int kmod_fd_key(struct sensor *base, int fd,
		       struct exfilmon_file_key *key)
{
	struct exfilmon_ioc_fd_key k = { .size = sizeof(k), .fk.fd = fd };

	if (ioctl(to_kmod(base)->fd, EXFILMON_IOC_FD_KEY, &k))
		return -errno;
	*key = k.fk.key;
	return 0;
}

static int kmod_stats(struct sensor *base, uint64_t stats[EXFILMON_STAT_NR])
{
	struct exfilmon_ioc_stats st = { .size = sizeof(st) };

	if (ioctl(to_kmod(base)->fd, EXFILMON_IOC_STATS, &st))
		return -errno;
	memcpy(stats, st.stats, sizeof(st.stats));
	return 0;
}

static int kmod_proc_get(struct sensor *base, const struct exfilmon_pkey *key,
			 struct exfilmon_proc *out)
{
	struct exfilmon_ioc_proc p = { .size = sizeof(p), .key = *key };

	if (ioctl(to_kmod(base)->fd, EXFILMON_IOC_PROC_GET, &p))
		return -errno;
	*out = p.proc;
	return 0;
}

static int kmod_proc_forget(struct sensor *base,
			    const struct exfilmon_pkey *keys, size_t nr)
{
	struct exfilmon_ioc_proc p = { .size = sizeof(p) };
	int ret = 0;
	size_t i;

	for (i = 0; i < nr; i++) {
		p.key = keys[i];
		if (ioctl(to_kmod(base)->fd, EXFILMON_IOC_PROC_FORGET, &p) &&
		    errno != ENOENT)
			ret = -errno;
	}
	return ret;
}

/* One table read in batches of TABLE_READ. */
struct table_iter {
	struct sensor_table_iter it;
	int fd;
	size_t esize, ksize;
	struct exfilmon_ioc_table t;
	char *batch;
	uint32_t nr, pos;	/* in batch */
	int ended;
};

#define to_table_iter(p) \
	((struct table_iter *)((char *)(p) - offsetof(struct table_iter, it)))

static int table_next(struct sensor_table_iter *it, const void **k,
		      const void **v)
{
	struct table_iter *ti = to_table_iter(it);
	const char *e;

	while (ti->pos == ti->nr) {
		if (ti->ended)
			return 0;
		ti->t.count = TABLE_BATCH;
		ti->t.buf = (uintptr_t)ti->batch;
		if (ioctl(ti->fd, EXFILMON_IOC_TABLE_READ, &ti->t))
			return -errno;
		ti->ended = !ti->t.count;
		ti->nr = ti->t.count;
		ti->pos = 0;
	}
	e = ti->batch + ti->pos++ * ti->esize;
	*k = e;
	*v = e + ti->ksize;
	return 1;
}

/*
 * TABLE_DELETE takes entries (key first, value ignored), so dsize is the
 * entry's size; absent keys are skipped, and any count goes in one call.
 */
static int table_del(struct sensor_table_iter *it, const void *doomed,
		     size_t nr)
{
	struct table_iter *ti = to_table_iter(it);
	struct exfilmon_ioc_table t = {
		.size = sizeof(t),
		.table = ti->t.table,
		.count = nr,
		.buf = (uintptr_t)doomed,
	};

	return ioctl(ti->fd, EXFILMON_IOC_TABLE_DELETE, &t) ? -errno : 0;
}

/*
 * TABLE_LOOKUP fills in values in place, at most EXFILMON_TABLE_BATCH_MAX
 * entries a call: the module refuses more, which bounds how long one
 * ioctl runs.
 */
static int kmod_table_lookup(struct sensor *base, uint32_t table,
			     void *entries, size_t count)
{
	struct exfilmon_ioc_table t = { .size = sizeof(t), .table = table };
	char *e = entries;
	size_t esize, n;

	switch (table) {
	case EXFILMON_TABLE_READS:
	case EXFILMON_TABLE_FLOWS:
		esize = sizeof(struct exfilmon_read_entry);
		break;
	case EXFILMON_TABLE_SENDS:
		esize = sizeof(struct exfilmon_send_entry);
		break;
	default:
		return -EINVAL;
	}
	while (count) {
		n = count < EXFILMON_TABLE_BATCH_MAX ? count :
			EXFILMON_TABLE_BATCH_MAX;
		t.count = n;
		t.buf = (uintptr_t)e;
		if (ioctl(to_kmod(base)->fd, EXFILMON_IOC_TABLE_LOOKUP, &t))
			return -errno;
		e += n * esize;
		count -= n;
	}
	return 0;
}

static int table_walk(struct sensor_kmod *s, uint32_t table, size_t esize,
		      size_t ksize, int (*fn)(void *ctx, const void *k,
					      const void *v),
		      void *ctx)
{
	struct table_iter ti = {
		.it = { .next = table_next, .del = table_del, .dsize = esize },
		.fd = s->fd,
		.esize = esize,
		.ksize = ksize,
		.t = { .size = sizeof(ti.t), .table = table },
	};
	int ret;

	ti.batch = malloc(TABLE_BATCH * esize);
	if (!ti.batch)
		return -ENOMEM;
	ret = sensor_table_walk(&ti.it, fn, ctx);
	free(ti.batch);
	return ret;
}

/*
 * The typed for_each_* ops of struct sensor_ops, each a table_walk() over
 * one table of etype, whose key, of ktype, comes first: the cast is safe
 * as fn's arguments are the entry's key and value.
 */
#define KMOD_FOR_EACH(name, table, etype, ktype, vtype)			\
static int kmod_for_each_##name(struct sensor *base,			\
				int (*fn)(void *ctx, const ktype *k,	\
					  const vtype *v),		\
				void *ctx)				\
{									\
	return table_walk(to_kmod(base), table, sizeof(etype),		\
			  sizeof(ktype),				\
			  (int (*)(void *, const void *, const void *))fn, \
			  ctx);						\
}

KMOD_FOR_EACH(proc, EXFILMON_TABLE_PROCS, struct exfilmon_proc_entry,
	      struct exfilmon_pkey, struct exfilmon_proc)
KMOD_FOR_EACH(read, EXFILMON_TABLE_READS, struct exfilmon_read_entry,
	      struct exfilmon_read_key, struct exfilmon_count)
KMOD_FOR_EACH(send, EXFILMON_TABLE_SENDS, struct exfilmon_send_entry,
	      struct exfilmon_send_key, struct exfilmon_count)
KMOD_FOR_EACH(flow, EXFILMON_TABLE_FLOWS, struct exfilmon_read_entry,
	      struct exfilmon_read_key, struct exfilmon_count)
KMOD_FOR_EACH(watched, EXFILMON_TABLE_WATCHED, struct exfilmon_watch_entry,
	      struct exfilmon_file_key, struct exfilmon_obj)
KMOD_FOR_EACH(stream, EXFILMON_TABLE_STREAMS, struct exfilmon_watch_entry,
	      struct exfilmon_file_key, struct exfilmon_obj)

/*
 * The module's hooks and tables can only change through our open device
 * (it admits one opener) or by unloading it (our open file holds a
 * reference), so what is left to check is that it still answers.
 */
static int kmod_check(struct sensor *base, const struct exfilmon_file_key *keys,
		      size_t nr, char *why, size_t whylen)
{
	struct exfilmon_ioc_version v = { .size = sizeof(v) };

	if (!ioctl(to_kmod(base)->fd, EXFILMON_IOC_VERSION, &v) &&
	    v.abi_version == base->abi_version)
		return 0;
	sensor_say(why, whylen, "the module no longer answers on %s: %s",
		   EXFILMON_DEV_PATH, strerror(errno));
	return 1;
}

/*
 * Prevent mode (docs/prevent.md "The kernel module"): the module takes the
 * whole policy in one ioctl, in the eBPF sensor's map entries, and
 * switches it in at once.
 */
static int kmod_policy(struct sensor *base, const struct sensor_policy *p)
{
	struct exfilmon_ioc_policy a = {
		.size = sizeof(a),
		.nr_prevent = p->nr_prevent,
		.nr_internal = p->nr_internal,
		.internal = (uintptr_t)p->internal,
	};
	struct exfilmon_prevent_entry *w = NULL;
	size_t i;
	int ret = 0;

	if (p->nr_prevent > EXFILMON_POLICY_WATCH_MAX ||
	    p->nr_internal > EXFILMON_POLICY_NET_MAX)
		return -E2BIG;
	if (p->nr_prevent) {
		w = calloc(p->nr_prevent, sizeof(*w));
		if (!w)
			return -ENOMEM;
	}
	for (i = 0; i < p->nr_prevent; i++) {
		w[i].watch_id = p->prevent_ids[i];
		w[i].val.threshold = p->threshold;
	}
	a.prevent = (uintptr_t)w;
	if (ioctl(to_kmod(base)->fd, EXFILMON_IOC_POLICY, &a))
		ret = -errno;
	free(w);
	return ret;
}

static int kmod_allow(struct sensor *base, const struct exfilmon_allow_key *k,
		      const struct exfilmon_allow *v)
{
	struct exfilmon_ioc_allow a = { .size = sizeof(a), .key = *k };

	if (v)
		a.val = *v;
	return ioctl(to_kmod(base)->fd, v ? EXFILMON_IOC_ALLOW_ADD :
		     EXFILMON_IOC_ALLOW_RM, &a) ? -errno : 0;
}

KMOD_FOR_EACH(block, EXFILMON_TABLE_BLOCKS, struct exfilmon_send_entry,
	      struct exfilmon_send_key, struct exfilmon_count)

const struct sensor_ops sensor_kmod_ops = {
	.kind = "kmod",
	.open = kmod_open,
	.close = kmod_close,
	.reset = kmod_reset_op,
	.check = kmod_check,
	.fd = kmod_fd,
	.poll = kmod_poll,
	.watch_add = kmod_watch_add,
	.watch_rm = kmod_watch_rm,
	.watch_rm_id = kmod_watch_rm_id,
	.fd_key = kmod_fd_key,
	.stats = kmod_stats,
	.proc_get = kmod_proc_get,
	.proc_forget = kmod_proc_forget,
	.for_each_proc = kmod_for_each_proc,
	.for_each_read = kmod_for_each_read,
	.for_each_send = kmod_for_each_send,
	.for_each_flow = kmod_for_each_flow,
	.table_lookup = kmod_table_lookup,
	.for_each_watched = kmod_for_each_watched,
	.for_each_stream = kmod_for_each_stream,
	.policy = kmod_policy,
	.allow = kmod_allow,
	.for_each_block = kmod_for_each_block,
};
