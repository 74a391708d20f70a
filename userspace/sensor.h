/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One interface to the two sensors (eBPF: sensor_bpf.c, kernel module:
 * sensor_kmod.c). Both deliver the records of include/exfilmon_abi.h and
 * keep the same counter tables; the daemon never knows which one it has
 * beyond sensor_kind().
 */
#ifndef EXFILMON_SENSOR_H
#define EXFILMON_SENSOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include "exfilmon_abi.h"

struct sensor;

struct sensor_limits {
	uint32_t max_procs;
	uint32_t max_reads;
	uint32_t max_sends;
	uint32_t max_watch;
	uint32_t max_streams;
	uint32_t max_flows;
	uint32_t ring_kib;
	/*
	 * Where the state outlives a daemon that dies (docs/design.md
	 * "Restarts"): the eBPF sensor pins its maps and links here and
	 * takes over what it finds; the module keeps its tables across
	 * opens. NULL: start from empty tables and keep nothing.
	 */
	const char *pin_dir;
};

/*
 * Prevent mode, as the daemon resolved it (docs/prevent.md): the watches
 * whose data is refused at threshold bytes of taint, and the internal
 * networks (loopback included) that are never refused. nr_prevent 0 is
 * detect mode everywhere.
 */
struct sensor_policy {
	const uint32_t *prevent_ids;	/* watch ids in prevent mode */
	size_t nr_prevent;
	uint64_t threshold;		/* [correlation] read_threshold */
	const struct exfilmon_net *internal;
	size_t nr_internal;
};

/* Called for each record; a negative return stops sensor_poll(). */
typedef int (*sensor_record_fn)(void *ctx, const struct exfilmon_rec_hdr *rec,
				size_t len);

struct sensor_ops {
	const char *kind;
	int (*open)(struct sensor **out, const struct sensor_limits *lim,
		    sensor_record_fn fn, void *ctx, char *err, size_t errlen);
	/*
	 * Unless keep is set, the state is not kept (unpinned, or the
	 * module's tables emptied): an orderly stop. A daemon that dies never
	 * gets here, and that is what leaves its state to the next one.
	 */
	void (*close)(struct sensor *s);
	/*
	 * Empty the counter tables (procs, reads, sends, flows, streams) and
	 * the ring: a taken-over state that does not fit the configuration.
	 * The watched table is the caller's to mend.
	 */
	int (*reset)(struct sensor *s);
	/*
	 * The self-check (docs/design.md "Self-check"): is the sensor as we
	 * made it? keys are the configured watch keys the hot-path filter
	 * must pass. Mends what it can; returns how many things it found
	 * changed, each appended to why with sensor_say(), or -errno.
	 */
	int (*check)(struct sensor *s, const struct exfilmon_file_key *keys,
		     size_t nr, char *why, size_t whylen);
	int (*fd)(struct sensor *s);
	int (*poll)(struct sensor *s);
	/*
	 * Add or replace a watched-table entry: a configured watch, a derived
	 * file restored from the store, or an opaque executable.
	 */
	int (*watch_add)(struct sensor *s, const struct exfilmon_file_key *key,
			 const struct exfilmon_obj *w);
	int (*watch_rm)(struct sensor *s, const struct exfilmon_file_key *key);
	/*
	 * Remove every configured key of watch_id, incl. those the sensor
	 * added (VIA_DIR); derived marks and opaque entries stay.
	 */
	int (*watch_rm_id)(struct sensor *s, uint32_t watch_id);
	/* The key the hooks will see for the inode behind our fd. */
	int (*fd_key)(struct sensor *s, int fd, struct exfilmon_file_key *key);
	int (*stats)(struct sensor *s, uint64_t stats[EXFILMON_STAT_NR]);
	int (*proc_get)(struct sensor *s, const struct exfilmon_pkey *key,
			struct exfilmon_proc *out);
	/* Delete process entries (their counters: see for_each_*). */
	int (*proc_forget)(struct sensor *s, const struct exfilmon_pkey *keys,
			   size_t nr);
	/*
	 * Walk a table. fn returns 0 to go on, 1 to have the entry deleted
	 * once the walk is done, or a negative errno to stop.
	 */
	int (*for_each_proc)(struct sensor *s,
			     int (*fn)(void *ctx, const struct exfilmon_pkey *k,
				       const struct exfilmon_proc *p),
			     void *ctx);
	int (*for_each_read)(struct sensor *s,
			     int (*fn)(void *ctx,
				       const struct exfilmon_read_key *k,
				       const struct exfilmon_count *c),
			     void *ctx);
	int (*for_each_send)(struct sensor *s,
			     int (*fn)(void *ctx,
				       const struct exfilmon_send_key *k,
				       const struct exfilmon_count *c),
			     void *ctx);
	/* (process, object) outflows: the flows table */
	int (*for_each_flow)(struct sensor *s,
			     int (*fn)(void *ctx,
				       const struct exfilmon_read_key *k,
				       const struct exfilmon_count *c),
			     void *ctx);
	/*
	 * Look counters up by key (docs/design.md "Coalescing"): the count
	 * entries, in the layout of table (EXFILMON_TABLE_READS, _FLOWS:
	 * exfilmon_read_entry; _SENDS: exfilmon_send_entry), carry keys in;
	 * each value is filled in, or zeroed when the key is absent.
	 */
	int (*table_lookup)(struct sensor *s, uint32_t table, void *entries,
			    size_t count);
	/* the watched table (configured, derived, opaque) and the streams */
	int (*for_each_watched)(struct sensor *s,
				int (*fn)(void *ctx,
					  const struct exfilmon_file_key *k,
					  const struct exfilmon_obj *o),
				void *ctx);
	int (*for_each_stream)(struct sensor *s,
			       int (*fn)(void *ctx,
					 const struct exfilmon_file_key *k,
					 const struct exfilmon_obj *o),
			       void *ctx);
	/*
	 * Prevent mode. policy() replaces the whole policy at once: a
	 * process refused under the old one and allowed under the new one
	 * is let through from its next send. -EOPNOTSUPP when the sensor
	 * cannot refuse anything (the reason is in the sensor's note).
	 */
	int (*policy)(struct sensor *s, const struct sensor_policy *p);
	/* Add or replace an override (v) or remove it (v NULL; -ENOENT). */
	int (*allow)(struct sensor *s, const struct exfilmon_allow_key *k,
		     const struct exfilmon_allow *v);
	/* (process, destination) refusals: the blocks table */
	int (*for_each_block)(struct sensor *s,
			      int (*fn)(void *ctx,
					const struct exfilmon_send_key *k,
					const struct exfilmon_count *c),
			      void *ctx);
};

/* Every sensor starts with this. */
struct sensor {
	const struct sensor_ops *ops;
	uint32_t abi_version;	/* major << 16 | minor, as the sensor says */
	int resumed;		/* open took over a state a daemon left */
	int keep;		/* close leaves the state, as a death would */
	char note[512];		/* from open, for the log: how it started */
};

extern const struct sensor_ops sensor_bpf_ops;
extern const struct sensor_ops sensor_kmod_ops;

/*
 * Open the sensor of kind "bpf", "kmod" or "auto" (eBPF first, then the
 * module). 0, or -errno with the reason of every attempt in err.
 */
int sensor_open(struct sensor **out, const char *kind,
		const struct sensor_limits *lim, sensor_record_fn fn,
		void *ctx, char *err, size_t errlen);
void sensor_close(struct sensor *s);	/* accepts NULL */

static inline const char *sensor_kind(const struct sensor *s)
{
	return s->ops->kind;
}

/* The kernel's dev_t encoding of a stat() st_dev (MAJOR << 20 | MINOR). */
uint64_t sensor_dev(dev_t st_dev);

/*
 * Append one finding to why (whylen bytes, NUL-terminated), "; " after
 * any already there; what does not fit is cut. The self-check's report.
 */
void sensor_say(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Refuse a sensor of another ABI major; err names both versions. */
int sensor_check_abi(uint32_t version, char *err, size_t errlen);

/*
 * One table as a sensor reads it, for sensor_table_walk(): next() hands out
 * the entries one by one, del() deletes entries by the dsize bytes that
 * start at their key (the key alone, or a whole entry whose key comes
 * first), nr of them back to back.
 */
struct sensor_table_iter {
	/* 1 with *key and *val set, 0 at the end, or -errno */
	int (*next)(struct sensor_table_iter *it, const void **key,
		    const void **val);
	int (*del)(struct sensor_table_iter *it, const void *doomed,
		   size_t nr);
	size_t dsize;
};

/*
 * Call fn(ctx, key, value) for each entry, with the for_each_* verdicts
 * of struct sensor_ops: 1 deletes the entry once the walk is done, a
 * negative errno stops the walk (the entries doomed so far still go).
 */
int sensor_table_walk(struct sensor_table_iter *it,
		      int (*fn)(void *ctx, const void *k, const void *v),
		      void *ctx);

#endif /* EXFILMON_SENSOR_H */
