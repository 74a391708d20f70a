// SPDX-License-Identifier: GPL-2.0-only
/*
 * From sensor records and tables to the process table and the correlator.
 * Records are only hints of change: whenever records were lost, the
 * sensor's tables are walked and their cumulative totals fed in again,
 * which the correlator turns into exactly the missing bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "daemon.h"
#include "log.h"

uint64_t now_boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int64_t now_real_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
}

int64_t boot_to_real_us(uint64_t boot_ns)
{
	return now_real_us() - (int64_t)(now_boot_ns() - boot_ns) / 1000;
}

static void note_exited(struct daemon *d, const struct exfilmon_pkey *k)
{
	struct exfilmon_pkey *n;

	n = realloc(d->exited, (d->nr_exited + 1) * sizeof(*n));
	if (!n)
		return;	/* collected by the next full reconcile instead */
	d->exited = n;
	d->exited[d->nr_exited++] = *k;
}

int daemon_on_record(void *ctx, const struct exfilmon_rec_hdr *h, size_t len)
{
	struct daemon *d = ctx;
	const struct exfilmon_rec_io *io = (const void *)h;

	switch (h->type) {
	case EXFILMON_REC_FORK:
		if (len >= sizeof(struct exfilmon_rec_fork))
			proctree_fork(&d->procs, (const void *)h);
		break;
	case EXFILMON_REC_EXEC:
		if (len >= sizeof(struct exfilmon_rec_exec))
			proctree_exec(&d->procs, (const void *)h);
		break;
	case EXFILMON_REC_EXIT:
		if (len < sizeof(struct exfilmon_rec_exit))
			break;
		proctree_exit(&d->procs, (const void *)h);
		if (((const struct exfilmon_rec_exit *)h)->tracked)
			note_exited(d, &h->proc);
		break;
	case EXFILMON_REC_READ:
		if (len >= sizeof(*io))
			corr_read(d->corr, &h->proc, &io->proc.origin,
				  &io->file, io->watch_id, io->total.bytes,
				  io->delta, h->ts_ns);
		break;
	case EXFILMON_REC_SEND:
		if (len >= sizeof(*io))
			corr_send(d->corr, &h->proc, &io->proc.origin,
				  &io->dest, io->total.bytes, io->delta,
				  h->ts_ns);
		break;
	default:
		log_debug("record type %u ignored (newer sensor?)", h->type);
	}
	return 0;
}

struct sync_ctx {
	struct daemon *d;
	const struct exfilmon_pkey *only;	/* sorted; NULL: every process */
	size_t nr_only;
};

static int pkey_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct exfilmon_pkey));
}

static int wanted(struct sync_ctx *s, const struct exfilmon_pkey *k)
{
	return !s->only ||
	       bsearch(k, s->only, s->nr_only, sizeof(*k), pkey_cmp);
}

/*
 * Feed one table entry's total to the correlator. When collecting exited
 * processes (s->only), their entries are deleted after the walk (return 1):
 * one walk both reads the final totals and frees the table.
 */
static int sync_read(void *ctx, const struct exfilmon_read_key *k,
		     const struct exfilmon_count *c)
{
	struct sync_ctx *s = ctx;
	struct exfilmon_proc p;

	if (!wanted(s, &k->proc))
		return 0;
	if (!s->d->sensor->ops->proc_get(s->d->sensor, &k->proc, &p))
		corr_read(s->d->corr, &k->proc, &p.origin, &k->file, 0,
			  c->bytes, 0, c->last_ns);
	return s->only ? 1 : 0;
}

static int sync_send(void *ctx, const struct exfilmon_send_key *k,
		     const struct exfilmon_count *c)
{
	struct sync_ctx *s = ctx;
	struct exfilmon_proc p;

	if (!wanted(s, &k->proc))
		return 0;
	if (!s->d->sensor->ops->proc_get(s->d->sensor, &k->proc, &p))
		corr_send(s->d->corr, &k->proc, &p.origin, &k->dest, c->bytes,
			  0, c->last_ns);
	return s->only ? 1 : 0;
}

static int collect_exited(void *ctx, const struct exfilmon_pkey *k,
			  const struct exfilmon_proc *p)
{
	struct daemon *d = ctx;

	if (p->flags & EXFILMON_PROC_EXITED)
		note_exited(d, k);
	return 0;
}

/* Feed the tables' totals for some (or all) processes to the correlator. */
static void sync_tables(struct daemon *d, const struct exfilmon_pkey *only,
			size_t nr)
{
	struct sync_ctx s = { .d = d, .only = only, .nr_only = nr };

	d->sensor->ops->for_each_read(d->sensor, sync_read, &s);
	d->sensor->ops->for_each_send(d->sensor, sync_send, &s);
}

/* The final totals of exited processes, then forget them everywhere. */
static void collect(struct daemon *d)
{
	size_t i;

	qsort(d->exited, d->nr_exited, sizeof(*d->exited), pkey_cmp);
	sync_tables(d, d->exited, d->nr_exited);
	d->sensor->ops->proc_forget(d->sensor, d->exited, d->nr_exited);
	for (i = 0; i < d->nr_exited; i++)
		corr_forget(d->corr, &d->exited[i]);
	free(d->exited);
	d->exited = NULL;
	d->nr_exited = 0;
}

/* Say so, once per change, when a table is full or bytes went uncounted. */
static void warn_losses(struct daemon *d, const uint64_t *st)
{
	static const struct {
		int idx;
		const char *what;
	} watched[] = {
		{ EXFILMON_STAT_PROC_FULL, "process table full: new readers "
		  "not tracked (raise [sensor] max_procs)" },
		{ EXFILMON_STAT_READ_FULL, "(process, file) table full: "
		  "per-file detail lost (raise [sensor] max_reads)" },
		{ EXFILMON_STAT_SEND_FULL, "(process, destination) table full "
		  "(raise [sensor] max_sends)" },
		{ EXFILMON_STAT_LOST_READ_BYTES, "watched bytes not counted" },
		{ EXFILMON_STAT_LOST_SEND_BYTES, "sent bytes not counted" },
	};
	size_t i;

	for (i = 0; i < sizeof(watched) / sizeof(watched[0]); i++) {
		int k = watched[i].idx;

		if (st[k] == d->seen_stats[k])
			continue;
		log_warn("sensor: %s: %llu so far", watched[i].what,
			 (unsigned long long)st[k]);
		d->seen_stats[k] = st[k];
	}
}

void daemon_tick(struct daemon *d)
{
	uint64_t st[EXFILMON_STAT_NR] = { 0 };

	/* drain what is queued first, so the tables are not ahead */
	d->sensor->ops->poll(d->sensor);
	if (!d->sensor->ops->stats(d->sensor, st)) {
		warn_losses(d, st);
		if (st[EXFILMON_STAT_DROPPED] != d->seen_stats[EXFILMON_STAT_DROPPED]) {
			log_warn("sensor dropped %llu records (ring buffer full): "
				 "re-reading its tables",
				 (unsigned long long)(st[EXFILMON_STAT_DROPPED] -
						      d->seen_stats[EXFILMON_STAT_DROPPED]));
			d->seen_stats[EXFILMON_STAT_DROPPED] =
				st[EXFILMON_STAT_DROPPED];
			sync_tables(d, NULL, 0);
			/* exit records may have been among the lost */
			d->sensor->ops->for_each_proc(d->sensor, collect_exited,
						      d);
			proctree_sweep(&d->procs, now_boot_ns());
		}
	}
	if (d->nr_exited)
		collect(d);
	/* after the drain: records may be newer than an earlier reading */
	corr_tick(d->corr, now_boot_ns());
	proctree_expire(&d->procs, now_boot_ns());
}
