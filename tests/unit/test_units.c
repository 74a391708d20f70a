// SPDX-License-Identifier: GPL-2.0-only
/*
 * The config's units: every accepted spelling gives exactly this value,
 * every refused one exactly this errno and reason, and the edges of 64-bit
 * arithmetic are refused with -ERANGE instead of wrapping.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "kselftest_harness.h"

#include "exfilmon_abi.h"
#include "units.h"

#define KIB 1024ULL
#define MIB (1024ULL * KIB)
#define GIB (1024ULL * MIB)
#define TIB (1024ULL * GIB)

#define US 1000ULL
#define MS 1000000ULL
#define SEC 1000000000ULL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

struct parse_case {
	const char *in;
	int ret;
	uint64_t val;		/* when ret == 0 */
	const char *why;	/* when ret != 0 */
};

#define OK(s, v)	{ s, 0, v, NULL }
#define BAD(s, e, w)	{ s, -(e), 0, w }

static const char unknown_size_unit[] =
	"unknown unit (use K, M, G or T, optionally followed by B or iB)";
static const char unknown_duration_unit[] =
	"unknown unit (use ns, us, ms, s, min, h or d)";
static const char fractions[] =
	"fractions are not supported, use a smaller unit";

static const struct parse_case size_cases[] = {
	OK("0", 0),
	OK("512", 512),
	OK("  512\t", 512),
	OK("007", 7),
	OK("512B", 512),
	OK("512b", 512),
	OK("64K", 64 * KIB),
	OK("64k", 64 * KIB),
	OK("64KB", 64 * KIB),
	OK("64KiB", 64 * KIB),
	OK("64kib", 64 * KIB),
	OK("64KIB", 64 * KIB),
	OK("64 K", 64 * KIB),
	OK("256K", 256 * KIB),
	OK("1M", MIB),
	OK("1 MiB", MIB),
	OK("2G", 2 * GIB),
	OK("2gb", 2 * GIB),
	OK("1T", TIB),
	OK("\n1t\n", TIB),
	OK("18446744073709551615", UINT64_MAX),
	OK("16777215T", 16777215ULL * TIB),
	OK("17179869183G", 17179869183ULL * GIB),
	BAD("", EINVAL, "empty value"),
	BAD("   ", EINVAL, "empty value"),
	BAD("-1", EINVAL, "negative values are not allowed"),
	BAD("-0K", EINVAL, "negative values are not allowed"),
	BAD("+1", EINVAL, "not a number"),
	BAD("K", EINVAL, "not a number"),
	BAD("iB", EINVAL, "not a number"),
	BAD("1.5M", EINVAL, fractions),
	BAD("0.5", EINVAL, fractions),
	BAD("1 2", EINVAL, "junk after the number"),
	BAD("0x10", EINVAL, "junk after the number"),
	BAD("1K!", EINVAL, "junk after the number"),
	BAD("1 M B", EINVAL, "junk after the number"),
	BAD("1,000", EINVAL, "junk after the number"),
	BAD("1X", EINVAL, unknown_size_unit),
	BAD("1P", EINVAL, unknown_size_unit),
	BAD("1iB", EINVAL, unknown_size_unit),
	BAD("1Ki", EINVAL, unknown_size_unit),
	BAD("1KBB", EINVAL, unknown_size_unit),
	BAD("1MiBs", EINVAL, unknown_size_unit),
	BAD("1Bi", EINVAL, unknown_size_unit),
	BAD("1kilobytes", EINVAL, unknown_size_unit),
	BAD("18446744073709551616", ERANGE, "number too large"),
	BAD("99999999999999999999999", ERANGE, "number too large"),
	BAD("16777216T", ERANGE, "too large for 64 bits"),
	BAD("17179869184G", ERANGE, "too large for 64 bits"),
	BAD("18446744073709551615K", ERANGE, "too large for 64 bits"),
};

static const struct parse_case duration_cases[] = {
	OK("0", 0),
	OK("0s", 0),
	OK("30", 30 * SEC),
	OK("30s", 30 * SEC),
	OK("30S", 30 * SEC),
	OK(" 30 s ", 30 * SEC),
	OK("5min", 5 * MIN),
	OK("5MIN", 5 * MIN),
	OK("1h", HOUR),
	OK("1H", HOUR),
	OK("2d", 2 * DAY),
	OK("250ms", 250 * MS),
	OK("7us", 7 * US),
	OK("9ns", 9),
	OK("18446744073709551615ns", UINT64_MAX),
	OK("18446744073", 18446744073ULL * SEC),
	OK("18446744073s", 18446744073ULL * SEC),
	OK("213503d", 213503ULL * DAY),
	OK("5124095h", 5124095ULL * HOUR),
	BAD("", EINVAL, "empty value"),
	BAD("5m", EINVAL,
	    "ambiguous unit \"m\": use \"min\" for minutes or \"ms\" for milliseconds"),
	BAD("5M", EINVAL,
	    "ambiguous unit \"m\": use \"min\" for minutes or \"ms\" for milliseconds"),
	BAD("-1s", EINVAL, "negative values are not allowed"),
	BAD("1.5h", EINVAL, fractions),
	BAD("h", EINVAL, "not a number"),
	BAD("1h30min", EINVAL, "junk after the number"),
	BAD("1 h x", EINVAL, "junk after the number"),
	BAD("1w", EINVAL, unknown_duration_unit),
	BAD("1hour", EINVAL, unknown_duration_unit),
	BAD("1sec", EINVAL, unknown_duration_unit),
	BAD("1minutes", EINVAL, unknown_duration_unit),
	BAD("18446744073709551616ns", ERANGE, "number too large"),
	BAD("18446744074", ERANGE, "too large for 64 bits"),
	BAD("18446744074s", ERANGE, "too large for 64 bits"),
	BAD("213504d", ERANGE, "too large for 64 bits"),
	BAD("5124096h", ERANGE, "too large for 64 bits"),
};

static void check_parse_cases(struct __test_metadata *_metadata,
			      const struct parse_case *cases, size_t n,
			      int (*parse)(const char *, uint64_t *,
					   const char **))
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct parse_case *c = &cases[i];
		const char *why = NULL;
		uint64_t val = 0xdeadbeef;
		int ret;

		ret = parse(c->in, &val, &why);
		EXPECT_EQ(c->ret, ret) TH_LOG("input \"%s\"", c->in);
		if (c->ret) {
			ASSERT_NE(NULL, why) TH_LOG("input \"%s\"", c->in);
			EXPECT_STREQ(c->why, why) TH_LOG("input \"%s\"", c->in);
			/* A failed parse leaves the output alone. */
			EXPECT_EQ(0xdeadbeef, val) TH_LOG("input \"%s\"", c->in);
		} else {
			EXPECT_EQ(c->val, val) TH_LOG("input \"%s\"", c->in);
		}
	}
}

TEST(parse_size_table)
{
	check_parse_cases(_metadata, size_cases, ARRAY_SIZE(size_cases),
			  parse_size);
}

TEST(parse_duration_table)
{
	check_parse_cases(_metadata, duration_cases,
			  ARRAY_SIZE(duration_cases), parse_duration);
}

struct cidr_case {
	const char *in;
	int ret;
	const char *why;
	uint8_t family;
	uint8_t prefix;
	uint8_t addr[16];
};

#define V4(...) EXFILMON_AF_INET, __VA_ARGS__
#define V6(...) EXFILMON_AF_INET6, __VA_ARGS__
#define CIDR_OK(s, fam_prefix_addr...) { s, 0, NULL, fam_prefix_addr }
#define CIDR_BAD(s, w) { s, -EINVAL, w, 0, 0, { 0 } }

static const struct cidr_case cidr_cases[] = {
	CIDR_OK("10.0.0.0/8", V4(8, { 10 })),
	CIDR_OK(" 10.0.0.0/8\t", V4(8, { 10 })),
	CIDR_OK("10.0.0.0/08", V4(8, { 10 })),
	CIDR_OK("10.1.2.3", V4(32, { 10, 1, 2, 3 })),
	CIDR_OK("10.1.2.3/32", V4(32, { 10, 1, 2, 3 })),
	CIDR_OK("172.16.0.0/12", V4(12, { 172, 16 })),
	CIDR_OK("192.168.1.0/24", V4(24, { 192, 168, 1 })),
	CIDR_OK("0.0.0.0/0", V4(0, { 0 })),
	CIDR_OK("255.255.255.255", V4(32, { 255, 255, 255, 255 })),
	CIDR_OK("127.0.0.0/8", V4(8, { 127 })),
	CIDR_OK("fd00::/8", V6(8, { 0xfd })),
	CIDR_OK("FD00::/8", V6(8, { 0xfd })),
	CIDR_OK("::1", V6(128, { [15] = 1 })),
	CIDR_OK("::/0", V6(0, { 0 })),
	CIDR_OK("2001:db8::/32", V6(32, { 0x20, 0x01, 0x0d, 0xb8 })),
	CIDR_OK("2001:db8:8000::/33",
		V6(33, { 0x20, 0x01, 0x0d, 0xb8, 0x80 })),
	CIDR_OK("fe80::1:2/128",
		V6(128, { 0xfe, 0x80, [13] = 1, [15] = 2 })),
	/* v4-mapped networks fold to IPv4, as the sensor folds addresses. */
	CIDR_OK("::ffff:10.0.0.0/104", V4(8, { 10 })),
	CIDR_OK("::ffff:1.2.3.4", V4(32, { 1, 2, 3, 4 })),
	CIDR_OK("::ffff:0.0.0.0/96", V4(0, { 0 })),
	CIDR_OK("::fffe:0:0/95", V6(95, { [10] = 0xff, 0xfe })),
	CIDR_BAD("", "empty network"),
	CIDR_BAD("  ", "empty network"),
	CIDR_BAD("10.1.0.0/8", "host bits set"),
	CIDR_BAD("10.0.0.1/31", "host bits set"),
	CIDR_BAD("172.17.0.0/12", "host bits set"),
	CIDR_BAD("fd00::1/8", "host bits set"),
	CIDR_BAD("2001:db8:8000::/32", "host bits set"),
	CIDR_BAD("::ffff:10.1.0.0/104", "host bits set"),
	CIDR_BAD("10.0.0.0/33", "prefix length out of range (0..32)"),
	CIDR_BAD("10.0.0.0/99999999999999999999",
		 "prefix length out of range (0..32)"),
	CIDR_BAD("fd00::/129", "prefix length out of range (0..128)"),
	CIDR_BAD("10.0.0.0/", "missing prefix length after '/'"),
	CIDR_BAD("10.0.0.0/x", "prefix length is not a number"),
	CIDR_BAD("10.0.0.0/-1", "prefix length is not a number"),
	CIDR_BAD("10.0.0.0/ 8", "prefix length is not a number"),
	CIDR_BAD("10.0.0.0/8/8", "prefix length is not a number"),
	CIDR_BAD("10.0.0", "not an IPv4 address"),
	CIDR_BAD("10.0.0.256", "not an IPv4 address"),
	CIDR_BAD("10.0.0.0.0", "not an IPv4 address"),
	CIDR_BAD("010.0.0.1", "not an IPv4 address"),
	CIDR_BAD("0x0a.0.0.1", "not an IPv4 address"),
	CIDR_BAD("10.0.0.0 /8", "not an IPv4 address"),
	CIDR_BAD("/8", "not an IPv4 address"),
	CIDR_BAD("internal", "not an IPv4 address"),
	CIDR_BAD("fe80::1%eth0", "not an IPv6 address"),
	CIDR_BAD("1:2:3:4:5:6:7:8:9", "not an IPv6 address"),
	CIDR_BAD("fd00:::/8", "not an IPv6 address"),
	CIDR_BAD("1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa/8",
		 "not an IP address"),
};

TEST(parse_cidr_table)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cidr_cases); i++) {
		const struct cidr_case *c = &cidr_cases[i];
		struct cidr out, untouched;
		const char *why = NULL;

		memset(&out, 0xa5, sizeof(out));
		untouched = out;
		EXPECT_EQ(c->ret, parse_cidr(c->in, &out, &why))
			TH_LOG("input \"%s\"", c->in);
		if (c->ret) {
			ASSERT_NE(NULL, why) TH_LOG("input \"%s\"", c->in);
			EXPECT_STREQ(c->why, why) TH_LOG("input \"%s\"", c->in);
			EXPECT_EQ(0, memcmp(&untouched, &out, sizeof(out)))
				TH_LOG("input \"%s\" wrote its output", c->in);
			continue;
		}
		EXPECT_EQ(c->family, out.family) TH_LOG("input \"%s\"", c->in);
		EXPECT_EQ(c->prefix, out.prefix) TH_LOG("input \"%s\"", c->in);
		/* IPv4 leaves addr[4..15] zero so structs compare whole. */
		EXPECT_EQ(0, memcmp(c->addr, out.addr, sizeof(out.addr)))
			TH_LOG("input \"%s\": address differs", c->in);
	}
}

struct contains_case {
	const char *net;
	int family;
	uint8_t addr[16];
	int inside;
};

#define IN4(net, ...)	{ net, EXFILMON_AF_INET, { __VA_ARGS__ }, 1 }
#define OUT4(net, ...)	{ net, EXFILMON_AF_INET, { __VA_ARGS__ }, 0 }
#define IN6(net, ...)	{ net, EXFILMON_AF_INET6, { __VA_ARGS__ }, 1 }
#define OUT6(net, ...)	{ net, EXFILMON_AF_INET6, { __VA_ARGS__ }, 0 }
#define MAPPED(a, b, c, d) [10] = 0xff, 0xff, a, b, c, d

static const struct contains_case contains_cases[] = {
	IN4("10.0.0.0/8", 10, 0, 0, 0),
	IN4("10.0.0.0/8", 10, 255, 255, 255),
	OUT4("10.0.0.0/8", 11, 0, 0, 0),
	OUT4("10.0.0.0/8", 9, 255, 255, 255),
	/* A prefix that ends inside a byte. */
	IN4("172.16.0.0/12", 172, 16, 0, 0),
	IN4("172.16.0.0/12", 172, 31, 255, 255),
	OUT4("172.16.0.0/12", 172, 32, 0, 0),
	OUT4("172.16.0.0/12", 172, 15, 255, 255),
	IN4("10.1.2.3", 10, 1, 2, 3),
	OUT4("10.1.2.3", 10, 1, 2, 4),
	IN4("0.0.0.0/0", 8, 8, 8, 8),
	IN4("0.0.0.0/0", 255, 255, 255, 255),
	/* Families never mix, even when the leading bytes agree. */
	OUT6("0.0.0.0/0", 0),
	OUT6("10.0.0.0/8", 10),
	OUT4("::/0", 10, 0, 0, 1),
	IN6("::/0", 0x20, 0x01),
	IN6("fd00::/8", 0xfd),
	IN6("fd00::/8", 0xfd, 0xff, [15] = 0xff),
	OUT6("fd00::/8", 0xfc),
	OUT6("fd00::/8", 0xfe),
	IN6("2001:db8::/33", 0x20, 0x01, 0x0d, 0xb8, 0x7f, 0xff),
	OUT6("2001:db8::/33", 0x20, 0x01, 0x0d, 0xb8, 0x80),
	IN6("::1", [15] = 1),
	OUT6("::1", [15] = 2),
	OUT6("::1", [14] = 1, 1),
	/* v4-mapped addresses match IPv4 networks. */
	IN6("10.0.0.0/8", MAPPED(10, 1, 2, 3)),
	OUT6("10.0.0.0/8", MAPPED(11, 1, 2, 3)),
	IN6("127.0.0.0/8", MAPPED(127, 0, 0, 1)),
	IN6("::ffff:0:0/96", MAPPED(10, 1, 2, 3)),
	{ "10.0.0.0/8", 0, { 10 }, 0 },
	{ "10.0.0.0/8", 99, { 10 }, 0 },
};

TEST(cidr_contains_table)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(contains_cases); i++) {
		const struct contains_case *c = &contains_cases[i];
		const char *why;
		struct cidr net;

		ASSERT_EQ(0, parse_cidr(c->net, &net, &why))
			TH_LOG("network \"%s\": %s", c->net, why);
		EXPECT_EQ(c->inside, cidr_contains(&net, c->family, c->addr))
			TH_LOG("case %zu: network \"%s\"", i, c->net);
	}
}

struct format_case {
	uint64_t in;
	const char *out;
};

static const struct format_case size_formats[] = {
	{ 0, "0 B" },
	{ 1, "1 B" },
	{ 512, "512 B" },
	{ 1023, "1023 B" },
	{ 1024, "1.0 KiB" },
	{ 1075, "1.0 KiB" },	/* 1.0498 */
	{ 1076, "1.1 KiB" },	/* 1.0508 */
	{ 1535, "1.5 KiB" },
	{ 1536, "1.5 KiB" },
	{ 1047552, "1023.0 KiB" },
	{ 1048063, "1023.5 KiB" },
	{ 1048575, "1.0 MiB" },	/* not "1024.0 KiB" */
	{ 1048576, "1.0 MiB" },
	{ 12 * MIB, "12.0 MiB" },
	{ 256 * KIB, "256.0 KiB" },
	{ GIB, "1.0 GiB" },
	{ 5 * GIB / 2, "2.5 GiB" },
	{ TIB, "1.0 TiB" },
	{ 1024 * TIB, "1.0 PiB" },
	{ 1ULL << 60, "1.0 EiB" },
	{ UINT64_MAX, "16.0 EiB" },
};

static const struct format_case duration_formats[] = {
	{ 0, "0s" },
	{ 1, "1ns" },
	{ 999, "999ns" },
	{ US, "1us" },
	{ 1500, "1.5us" },
	{ 250 * MS, "250ms" },
	{ SEC, "1s" },
	{ 1234567891, "1.2s" },
	{ 30 * SEC, "30s" },
	{ 59 * SEC, "59s" },
	{ 59940 * MS, "59.9s" },
	{ 59960 * MS, "1.0min" },	/* not "60.0s" */
	{ MIN, "1min" },
	{ 90 * SEC, "1.5min" },
	{ 5 * MIN, "5min" },
	{ HOUR, "1h" },
	{ HOUR + SEC, "1.0h" },		/* ".0": rounded, not exact */
	{ 90 * MIN, "1.5h" },
	{ 2 * HOUR, "2h" },
	{ 25 * HOUR, "1.0d" },
	{ DAY, "1d" },
	{ 2 * DAY, "2d" },
	{ UINT64_MAX, "213504.0d" },
};

TEST(format_size_table)
{
	char buf[32];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(size_formats); i++) {
		format_size(size_formats[i].in, buf, sizeof(buf));
		EXPECT_STREQ(size_formats[i].out, buf)
			TH_LOG("%llu bytes",
			       (unsigned long long)size_formats[i].in);
	}
}

TEST(format_duration_table)
{
	char buf[32];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(duration_formats); i++) {
		format_duration(duration_formats[i].in, buf, sizeof(buf));
		EXPECT_STREQ(duration_formats[i].out, buf)
			TH_LOG("%llu ns",
			       (unsigned long long)duration_formats[i].in);
	}
}

/* A duration exact in its largest unit prints in a form that parses back. */
TEST(format_duration_round_trip)
{
	static const uint64_t values[] = {
		0, 9, 7 * US, 250 * MS, 30 * SEC, 5 * MIN, HOUR, 2 * DAY,
		213503ULL * DAY,
	};
	const char *why;
	uint64_t back;
	char buf[32];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(values); i++) {
		format_duration(values[i], buf, sizeof(buf));
		ASSERT_EQ(0, parse_duration(buf, &back, &why))
			TH_LOG("\"%s\": %s", buf, why);
		EXPECT_EQ(values[i], back) TH_LOG("\"%s\"", buf);
	}
}

TEST(format_truncates_to_buffer)
{
	char buf[8];

	memset(buf, 'x', sizeof(buf));
	format_size(1536, buf, 4);
	EXPECT_STREQ("1.5", buf);
	EXPECT_EQ('x', buf[4]);

	memset(buf, 'x', sizeof(buf));
	format_duration(90 * MIN, buf, 3);
	EXPECT_STREQ("1.", buf);
	EXPECT_EQ('x', buf[3]);

	/* No room at all: nothing is written. */
	memset(buf, 'x', sizeof(buf));
	format_size(1, buf, 0);
	format_duration(1, buf, 0);
	EXPECT_EQ('x', buf[0]);
}

TEST_HARNESS_MAIN
