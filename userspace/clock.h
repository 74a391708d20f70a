/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's clocks, behind one small interface so that tests can fake
 * them (suspend, wall-clock jumps). Three clocks, each for one job:
 *
 *  - CLOCK_BOOTTIME measures windows and durations. It counts time spent
 *    suspended, as the sensors' record stamps do (bpf_ktime_get_boot_ns(),
 *    ktime_get_boottime_ns()): a theft paused across a suspend is judged by
 *    the time that really passed, and settimeofday() cannot move it.
 *  - CLOCK_MONOTONIC paces what should not catch up after a resume (retry
 *    back-off, query deadlines): it stops while suspended.
 *  - CLOCK_REALTIME only names instants for people: an alert's time and
 *    updated fields. It jumps with the wall clock and is never subtracted.
 */
#ifndef EXFILMON_CLOCK_H
#define EXFILMON_CLOCK_H

#include <stdint.h>

struct clock_source {
	uint64_t (*boot_ns)(void *ctx);	/* CLOCK_BOOTTIME, ns */
	uint64_t (*mono_ns)(void *ctx);	/* CLOCK_MONOTONIC, ns */
	int64_t (*real_us)(void *ctx);	/* CLOCK_REALTIME, us since 1970 */
	void *ctx;
};

/*
 * Make src the daemon's clocks (NULL: the kernel's again); returns the one
 * it replaces. For tests: the daemon itself never calls it.
 */
const struct clock_source *clock_set_source(const struct clock_source *src);

/* The clocks now, as the current source has them (also in daemon.h). */
uint64_t now_boot_ns(void);
uint64_t now_mono_ns(void);
int64_t now_real_us(void);
/*
 * A CLOCK_BOOTTIME stamp as CLOCK_REALTIME microseconds: the wall time now
 * less the boot time elapsed since. A later wall-clock jump moves what this
 * says for old stamps, never the distance between two stamps.
 */
int64_t boot_to_real_us(uint64_t boot_ns);

#endif /* EXFILMON_CLOCK_H */
