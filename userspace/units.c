// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sizes, durations and networks as an administrator writes them in the
 * config, and their human-readable forms for output. Parsers are strict:
 * a typo must fail loudly rather than turn a 1 MiB threshold into 1 byte.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "exfilmon_abi.h"
#include "units.h"

#define UNIT_LEN 8

/*
 * Skip leading white space in *s; return the end of the value without its
 * trailing white space.
 */
static const char *trim(const char **s)
{
	const char *end;

	while (isspace((unsigned char)**s))
		(*s)++;
	end = *s + strlen(*s);
	while (end > *s && isspace((unsigned char)end[-1]))
		end--;
	return end;
}

/*
 * Split "  <digits> [unit]  " into its number and unit. Signs, fractions,
 * hex and embedded junk are refused here so that each parser only has to
 * look up its unit.
 */
static int split_number(const char *s, uint64_t *num, char *unit,
			const char **why)
{
	const char *end;
	uint64_t v = 0;
	size_t n;

	end = trim(&s);

	if (s == end) {
		*why = "empty value";
		return -EINVAL;
	}
	if (*s == '-') {
		*why = "negative values are not allowed";
		return -EINVAL;
	}
	if (!isdigit((unsigned char)*s)) {
		*why = "not a number";
		return -EINVAL;
	}
	for (; s < end && isdigit((unsigned char)*s); s++) {
		unsigned int d = *s - '0';

		if (v > (UINT64_MAX - d) / 10) {
			*why = "number too large";
			return -ERANGE;
		}
		v = v * 10 + d;
	}
	if (s < end && *s == '.') {
		*why = "fractions are not supported, use a smaller unit";
		return -EINVAL;
	}
	while (s < end && isspace((unsigned char)*s))
		s++;

	n = end - s;
	for (size_t i = 0; i < n; i++) {
		if (!isalpha((unsigned char)s[i])) {
			*why = "junk after the number";
			return -EINVAL;
		}
	}
	if (n >= UNIT_LEN) {
		/* Longer than any unit: let the caller say which it knows. */
		strcpy(unit, "?");
	} else {
		memcpy(unit, s, n);
		unit[n] = '\0';
	}
	*num = v;
	return 0;
}

static int scale(uint64_t num, uint64_t mult, uint64_t *out, const char **why)
{
	if (mult && num > UINT64_MAX / mult) {
		*why = "too large for 64 bits";
		return -ERANGE;
	}
	*out = num * mult;
	return 0;
}

int parse_size(const char *s, uint64_t *out, const char **why)
{
	static const char letters[] = "KMGT";
	char unit[UNIT_LEN];
	const char *suffix, *p;
	uint64_t num, mult = 1;
	int ret;

	ret = split_number(s, &num, unit, why);
	if (ret)
		return ret;

	/* "", "B", or one of K/M/G/T followed by "", "B" or "iB". */
	suffix = unit;
	if (*unit) {
		p = strchr(letters, toupper((unsigned char)*unit));
		if (p) {
			mult = 1ULL << (10 * (p - letters + 1));
			suffix++;
		}
	}
	if (*suffix && strcasecmp(suffix, "B") &&
	    !(suffix != unit && !strcasecmp(suffix, "iB"))) {
		*why = "unknown unit (use K, M, G or T, optionally followed by B or iB)";
		return -EINVAL;
	}
	return scale(num, mult, out, why);
}

struct duration_unit {
	const char *name;
	uint64_t ns;
};

/* Ordered smallest first; format_duration relies on it. */
static const struct duration_unit duration_units[] = {
	{ "ns", 1ULL },
	{ "us", 1000ULL },
	{ "ms", 1000000ULL },
	{ "s", 1000000000ULL },
	{ "min", 60ULL * 1000000000ULL },
	{ "h", 3600ULL * 1000000000ULL },
	{ "d", 86400ULL * 1000000000ULL },
};

#define NR_DURATION_UNITS (sizeof(duration_units) / sizeof(duration_units[0]))

int parse_duration(const char *s, uint64_t *out_ns, const char **why)
{
	char unit[UNIT_LEN];
	uint64_t num;
	size_t i;
	int ret;

	ret = split_number(s, &num, unit, why);
	if (ret)
		return ret;

	if (!*unit)
		return scale(num, 1000000000ULL, out_ns, why);

	/* "m" reads as minutes to some and as milliseconds to others. */
	if (!strcasecmp(unit, "m")) {
		*why = "ambiguous unit \"m\": use \"min\" for minutes or \"ms\" for milliseconds";
		return -EINVAL;
	}
	for (i = 0; i < NR_DURATION_UNITS; i++) {
		if (!strcasecmp(unit, duration_units[i].name))
			return scale(num, duration_units[i].ns, out_ns, why);
	}
	*why = "unknown unit (use ns, us, ms, s, min, h or d)";
	return -EINVAL;
}

static const uint8_t v4_mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static bool is_v4_mapped(const uint8_t *addr)
{
	return !memcmp(addr, v4_mapped_prefix, sizeof(v4_mapped_prefix));
}

/* Zero bits from prefix on; return true when any was set. */
static bool clear_host_bits(uint8_t *addr, unsigned int prefix,
			    unsigned int bits)
{
	bool was_set = false;
	unsigned int i;

	for (i = prefix; i < bits; i++) {
		uint8_t mask = 0x80 >> (i % 8);

		if (addr[i / 8] & mask) {
			was_set = true;
			addr[i / 8] &= ~mask;
		}
	}
	return was_set;
}

int parse_cidr(const char *s, struct cidr *out, const char **why)
{
	char buf[INET6_ADDRSTRLEN];
	const char *end, *slash;
	struct cidr c = { 0 };
	unsigned int prefix, bits;
	size_t n;

	end = trim(&s);
	if (s == end) {
		*why = "empty network";
		return -EINVAL;
	}

	slash = memchr(s, '/', end - s);
	n = (slash ? slash : end) - s;
	if (n >= sizeof(buf)) {
		*why = "not an IP address";
		return -EINVAL;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';

	if (strchr(buf, ':')) {
		if (inet_pton(AF_INET6, buf, c.addr) != 1) {
			*why = "not an IPv6 address";
			return -EINVAL;
		}
		c.family = EXFILMON_AF_INET6;
		bits = 128;
	} else {
		if (inet_pton(AF_INET, buf, c.addr) != 1) {
			*why = "not an IPv4 address";
			return -EINVAL;
		}
		c.family = EXFILMON_AF_INET;
		bits = 32;
	}

	prefix = bits;
	if (slash) {
		const char *p = slash + 1;

		if (p == end) {
			*why = "missing prefix length after '/'";
			return -EINVAL;
		}
		prefix = 0;
		for (; p < end; p++) {
			if (!isdigit((unsigned char)*p)) {
				*why = "prefix length is not a number";
				return -EINVAL;
			}
			prefix = prefix * 10 + (*p - '0');
			if (prefix > bits) {
				*why = bits == 32 ?
				       "prefix length out of range (0..32)" :
				       "prefix length out of range (0..128)";
				return -EINVAL;
			}
		}
	}

	/*
	 * "10.1.2.3/8" is more often a typo for a host than a deliberate
	 * network; widening it silently could mark a whole /8 as internal.
	 */
	if (clear_host_bits(c.addr, prefix, bits)) {
		*why = "host bits set";
		return -EINVAL;
	}

	/*
	 * The sensor folds v4-mapped IPv6 destinations to IPv4, so a network
	 * written as ::ffff:a.b.c.d/n would never match unless folded too.
	 */
	if (c.family == EXFILMON_AF_INET6 && prefix >= 96 &&
	    is_v4_mapped(c.addr)) {
		memmove(c.addr, c.addr + 12, 4);
		memset(c.addr + 4, 0, 12);
		c.family = EXFILMON_AF_INET;
		prefix -= 96;
	}
	c.prefix = prefix;
	*out = c;
	return 0;
}

int cidr_contains(const struct cidr *c, int family, const uint8_t *addr)
{
	unsigned int full, rest;

	/* Same folding as the sensor's, for callers that did not fold. */
	if (family == EXFILMON_AF_INET6 && c->family == EXFILMON_AF_INET &&
	    is_v4_mapped(addr)) {
		family = EXFILMON_AF_INET;
		addr += 12;
	}
	if (family != c->family ||
	    (family != EXFILMON_AF_INET && family != EXFILMON_AF_INET6))
		return 0;

	full = c->prefix / 8;
	rest = c->prefix % 8;
	if (memcmp(c->addr, addr, full))
		return 0;
	if (rest) {
		uint8_t mask = 0xff << (8 - rest);

		if ((c->addr[full] ^ addr[full]) & mask)
			return 0;
	}
	return 1;
}

void format_size(uint64_t bytes, char *buf, int len)
{
	static const char *const units[] = {
		"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
	};
	uint64_t whole, tenths, div;
	unsigned int i = 0;

	if (len <= 0)
		return;
	while (i + 1 < 7 && bytes >> (10 * (i + 1)))
		i++;
	if (!i) {
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
		return;
	}
	for (;;) {
		div = 1ULL << (10 * i);
		whole = bytes / div;
		/* rem < 2^60, so rem * 10 still fits in 64 bits. */
		tenths = ((bytes % div) * 10 + div / 2) / div;
		if (tenths == 10) {
			whole++;
			tenths = 0;
		}
		/* 1048575 rounds to 1024.0 KiB: say 1.0 MiB instead. */
		if (whole < 1024 || i + 1 == 7)
			break;
		i++;
	}
	snprintf(buf, len, "%llu.%llu %s", (unsigned long long)whole,
		 (unsigned long long)tenths, units[i]);
}

void format_duration(uint64_t ns, char *buf, int len)
{
	const struct duration_unit *u;
	uint64_t whole, rem, tenths;
	size_t i = 0;

	if (len <= 0)
		return;
	if (!ns) {
		snprintf(buf, len, "0s");
		return;
	}
	while (i + 1 < NR_DURATION_UNITS && ns >= duration_units[i + 1].ns)
		i++;
	for (;;) {
		u = &duration_units[i];
		whole = ns / u->ns;
		rem = ns % u->ns;
		if (!rem) {
			/* Exact: print it so it reads back with parse_duration. */
			snprintf(buf, len, "%llu%s", (unsigned long long)whole,
				 u->name);
			return;
		}
		tenths = (rem * 10 + u->ns / 2) / u->ns;
		if (tenths == 10) {
			whole++;
			tenths = 0;
		}
		/* 59.96s rounds to 60.0s: say 1.0min instead. */
		if (i + 1 == NR_DURATION_UNITS ||
		    whole * u->ns < duration_units[i + 1].ns)
			break;
		i++;
	}
	snprintf(buf, len, "%llu.%llu%s", (unsigned long long)whole,
		 (unsigned long long)tenths, u->name);
}
