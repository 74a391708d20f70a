// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel's clocks as the daemon's default clock_source (clock.h says
 * which clock is for what), the switch that lets a test put its own in
 * their place, and the daemon's readers of the current source. Moved here
 * from records.c: no other file reads a clock for the daemon's logic.
 */
#include <stddef.h>
#include <time.h>
#include "clock.h"

static uint64_t ns_of(clockid_t id)
{
	struct timespec ts;

	/* cannot fail for these clock ids, which exist since Linux 2.6.39 */
	clock_gettime(id, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t kernel_boot_ns(void *ctx)
{
	return ns_of(CLOCK_BOOTTIME);
}

static uint64_t kernel_mono_ns(void *ctx)
{
	return ns_of(CLOCK_MONOTONIC);
}

static int64_t kernel_real_us(void *ctx)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
}

static const struct clock_source kernel_clocks = {
	.boot_ns = kernel_boot_ns,
	.mono_ns = kernel_mono_ns,
	.real_us = kernel_real_us,
};

static const struct clock_source *clock_source = &kernel_clocks;

const struct clock_source *clock_set_source(const struct clock_source *src)
{
	const struct clock_source *old = clock_source;

	clock_source = src ? src : &kernel_clocks;
	return old;
}

uint64_t now_boot_ns(void)
{
	return clock_source->boot_ns(clock_source->ctx);
}

uint64_t now_mono_ns(void)
{
	return clock_source->mono_ns(clock_source->ctx);
}

int64_t now_real_us(void)
{
	return clock_source->real_us(clock_source->ctx);
}

int64_t boot_to_real_us(uint64_t boot_ns)
{
	return now_real_us() - (int64_t)(now_boot_ns() - boot_ns) / 1000;
}
