// SPDX-License-Identifier: GPL-2.0-only
/* Choosing a sensor, and what every sensor has in common. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include "sensor.h"

EXFILMON_ABI_ASSERTS;

/* auto: in this order; eBPF first, the module where eBPF cannot load */
static const struct sensor_ops *const sensors[] = {
	&sensor_bpf_ops,
	&sensor_kmod_ops,
};

uint64_t sensor_dev(dev_t st_dev)
{
	return (uint64_t)major(st_dev) << 20 | minor(st_dev);
}

int sensor_check_abi(uint32_t version, char *err, size_t errlen)
{
	if (version >> 16 == EXFILMON_ABI_MAJOR)
		return 0;
	snprintf(err, errlen,
		 "sensor ABI %u.%u is not compatible with exfilmond's ABI %u.%u",
		 version >> 16, version & 0xffff, EXFILMON_ABI_MAJOR,
		 EXFILMON_ABI_MINOR);
	return -EPROTO;
}

/*
 * Deleting an entry under a walk's cursor upsets the walk in both sensors:
 * a BPF hash map walk restarts from its first key when the key it stands
 * on goes, and the module's cursor is a position in its pool. So the
 * doomed entries are collected and deleted once the walk is done.
 */
int sensor_table_walk(struct sensor_table_iter *it,
		      int (*fn)(void *ctx, const void *k, const void *v),
		      void *ctx)
{
	size_t nr = 0, cap = 0;
	char *doomed = NULL;
	const void *k, *v;
	int ret, del;

	while ((ret = it->next(it, &k, &v)) == 1) {
		ret = fn(ctx, k, v);
		if (ret < 0)
			break;
		if (ret != 1)
			continue;
		if (nr == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char *n = realloc(doomed, ncap * it->dsize);

			/* keep the entry: the next walk collects it */
			if (!n)
				continue;
			doomed = n;
			cap = ncap;
		}
		memcpy(doomed + nr++ * it->dsize, k, it->dsize);
	}
	del = nr ? it->del(it, doomed, nr) : 0;
	free(doomed);
	return ret < 0 ? ret : del;
}

int sensor_open(struct sensor **out, const char *kind,
		const struct sensor_limits *lim, sensor_record_fn fn,
		void *ctx, char *err, size_t errlen)
{
	int automatic = !strcmp(kind, "auto");
	size_t used = 0;
	int ret = -ENOENT;
	size_t i;

	err[0] = '\0';
	for (i = 0; i < sizeof(sensors) / sizeof(sensors[0]); i++) {
		char why[256];

		if (!automatic && strcmp(kind, sensors[i]->kind))
			continue;
		why[0] = '\0';
		ret = sensors[i]->open(out, lim, fn, ctx, why, sizeof(why));
		if (!ret)
			return 0;
		if (used < errlen)
			used += snprintf(err + used, errlen - used, "%s%s: %s",
					 used ? "; " : "", sensors[i]->kind,
					 why);
	}
	if (ret == -ENOENT && !used)
		snprintf(err, errlen,
			 "unknown sensor '%s' (expected auto, bpf or kmod)",
			 kind);
	return ret;
}

void sensor_close(struct sensor *s)
{
	if (s)
		s->ops->close(s);
}

void sensor_say(char *why, size_t whylen, const char *fmt, ...)
{
	size_t used = strlen(why);
	va_list ap;

	if (used + 2 >= whylen)
		return;
	if (used) {
		strcpy(why + used, "; ");
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(why + used, whylen - used, fmt, ap);
	va_end(ap);
}
