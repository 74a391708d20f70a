/* SPDX-License-Identifier: GPL-2.0-only */
/* Parsing of the config's sizes, durations and networks. */
#ifndef EXFILMON_UNITS_H
#define EXFILMON_UNITS_H

#include <stdint.h>

/* An IPv4 or IPv6 network. */
struct cidr {
	uint8_t addr[16];	/* network address, IPv4 in addr[0..3] */
	uint8_t family;		/* EXFILMON_AF_INET or EXFILMON_AF_INET6 */
	uint8_t prefix;		/* 0..32 or 0..128 */
};

/*
 * Every parser trims surrounding whitespace, returns 0 or a negative errno
 * and, on error, points *why at a static string saying what is wrong.
 */

/*
 * "512", "64K", "1M", "2G", "1T" in binary multiples; the unit letter may
 * be followed by "B" or "iB", any case, and "B" alone means bytes. Returns
 * -EINVAL for empty, junk, negative or fractional values, -ERANGE when the
 * result does not fit in 64 bits.
 */
int parse_size(const char *s, uint64_t *out, const char **why);

/*
 * "250ms", "30s", "5min", "1h", "2d" (also "ns", "us"; any case), a bare
 * number is seconds; into nanoseconds. "m" is refused as ambiguous. Zero is
 * accepted. -EINVAL for junk, -ERANGE beyond 2^64 - 1 ns (about 584 years).
 */
int parse_duration(const char *s, uint64_t *out_ns, const char **why);

/*
 * "10.0.0.0/8", "fd00::/8", or a bare address (host prefix). A network with
 * bits set beyond its prefix is refused ("host bits set"). v4-mapped IPv6
 * networks (::ffff:a.b.c.d/96+n) are folded to IPv4 a.b.c.d/n, as the sensor
 * folds v4-mapped destinations.
 */
int parse_cidr(const char *s, struct cidr *out, const char **why);

/*
 * 1 when addr of family (EXFILMON_AF_*, 4 or 16 bytes) lies in c, else 0.
 * A v4-mapped IPv6 address is matched against IPv4 networks.
 */
int cidr_contains(const struct cidr *c, int family, const uint8_t *addr);

/*
 * Human-readable forms for output. format_size: "512 B", "1.5 KiB",
 * "12.0 MiB" (one decimal, rounded, from KiB up). format_duration: "2h",
 * "250ms" when exact (these parse back), else one rounded decimal in the
 * largest fitting unit: "1.5h", "2.3s". Output is truncated to len bytes.
 */
void format_size(uint64_t bytes, char *buf, int len);
void format_duration(uint64_t ns, char *buf, int len);

#endif /* EXFILMON_UNITS_H */
