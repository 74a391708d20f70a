// SPDX-License-Identifier: GPL-2.0-only
/*
 * The config parser: what each key accepts, and for every way a config can
 * be wrong, the exact one-line message the administrator sees. A rejected
 * config must leave nothing behind in struct config.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "exfilmon_abi.h"
#include "config.h"

#define SEC 1000000000ULL

/* A config that was rejected or freed holds nothing. */
static int config_is_empty(const struct config *cfg)
{
	static const struct config zero;

	return !memcmp(cfg, &zero, sizeof(zero));
}

static int load(struct config *cfg, const char *text, char *err)
{
	return config_load_string(cfg, "test.conf", text, err, CONFIG_ERR_LEN);
}

static const uint8_t *v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	static uint8_t addr[16];

	memset(addr, 0, sizeof(addr));
	addr[0] = a;
	addr[1] = b;
	addr[2] = c;
	addr[3] = d;
	return addr;
}

static const uint8_t *v6(const char *s)
{
	static uint8_t addr[16];

	if (inet_pton(AF_INET6, s, addr) != 1)
		abort();
	return addr;
}

FIXTURE(bad_config) {
	struct config cfg;
	char err[CONFIG_ERR_LEN];
};

FIXTURE_VARIANT(bad_config) {
	const char *text;
	const char *err;
};

FIXTURE_SETUP(bad_config)
{
	memset(&self->cfg, 0x5a, sizeof(self->cfg));
	memset(self->err, 0, sizeof(self->err));
}

FIXTURE_TEARDOWN(bad_config)
{
	config_free(&self->cfg);
}

/* Structure */

FIXTURE_VARIANT_ADD(bad_config, unknown_section) {
	.text = "[watch]\npath = /srv/db\n[wacth]\n",
	.err = "test.conf:3: [wacth]: unknown section (expected watch, correlation, network, flow, daemon, sensor or policy)",
};

FIXTURE_VARIANT_ADD(bad_config, empty_section_name) {
	.text = "[]\n",
	.err = "test.conf:1: []: unknown section (expected watch, correlation, network, flow, daemon, sensor or policy)",
};

FIXTURE_VARIANT_ADD(bad_config, section_names_are_exact) {
	.text = "[ watch ]\n",
	.err = "test.conf:1: [ watch ]: unknown section (expected watch, correlation, network, flow, daemon, sensor or policy)",
};

FIXTURE_VARIANT_ADD(bad_config, section_case_matters) {
	.text = "[Watch]\n",
	.err = "test.conf:1: [Watch]: unknown section (expected watch, correlation, network, flow, daemon, sensor or policy)",
};

FIXTURE_VARIANT_ADD(bad_config, unknown_key) {
	.text = "[correlation]\nthreshold = 1M\n",
	.err = "test.conf:2: threshold = 1M: unknown key in [correlation]",
};

FIXTURE_VARIANT_ADD(bad_config, key_in_wrong_section) {
	.text = "[watch]\nwindow = 1h\n",
	.err = "test.conf:2: window = 1h: unknown key in [watch]",
};

FIXTURE_VARIANT_ADD(bad_config, key_case_matters) {
	.text = "[watch]\nPath = /srv/db\n",
	.err = "test.conf:2: Path = /srv/db: unknown key in [watch]",
};

FIXTURE_VARIANT_ADD(bad_config, key_outside_section) {
	.text = "; exfilmon\npath = /srv/db\n[watch]\n",
	.err = "test.conf:2: path = /srv/db: key outside any section",
};

FIXTURE_VARIANT_ADD(bad_config, empty_value) {
	.text = "[correlation]\nwindow =\n",
	.err = "test.conf:2: window = : empty value",
};

FIXTURE_VARIANT_ADD(bad_config, value_only_comment) {
	.text = "[watch]\npath = ; TODO\n",
	.err = "test.conf:2: path = : empty value",
};

FIXTURE_VARIANT_ADD(bad_config, set_twice) {
	.text = "[correlation]\nwindow = 1h\n\n[correlation]\nwindow = 2h\n",
	.err = "test.conf:5: window = 2h: set twice, first at line 2",
};

FIXTURE_VARIANT_ADD(bad_config, set_twice_same_value) {
	.text = "[daemon]\nsocket = /run/x.sock\nsocket = /run/x.sock\n",
	.err = "test.conf:3: socket = /run/x.sock: set twice, first at line 2",
};

FIXTURE_VARIANT_ADD(bad_config, set_twice_sensor) {
	.text = "[sensor]\nring_kib = 64\n[daemon]\n[sensor]\nring_kib = 128\n",
	.err = "test.conf:5: ring_kib = 128: set twice, first at line 2",
};

/* Syntax */

FIXTURE_VARIANT_ADD(bad_config, no_equals) {
	.text = "[watch]\npath /srv/db\n",
	.err = "test.conf:2: syntax error: expected \"key = value\", \"[section]\" or a comment",
};

FIXTURE_VARIANT_ADD(bad_config, colon_separator) {
	.text = "[watch]\npath: /srv/db\n",
	.err = "test.conf:2: syntax error: expected \"key = value\", \"[section]\" or a comment",
};

FIXTURE_VARIANT_ADD(bad_config, equals_inside_comment) {
	.text = "[watch]\npath ;= /srv/db\n",
	.err = "test.conf:2: syntax error: expected \"key = value\", \"[section]\" or a comment",
};

FIXTURE_VARIANT_ADD(bad_config, missing_key) {
	.text = "[watch]\n= /srv/db\n",
	.err = "test.conf:2: syntax error: missing key before '='",
};

FIXTURE_VARIANT_ADD(bad_config, unclosed_section) {
	.text = "[watch\npath = /srv/db\n",
	.err = "test.conf:1: syntax error: section header without closing ']'",
};

FIXTURE_VARIANT_ADD(bad_config, comment_inside_section) {
	.text = "[watch ;]\n",
	.err = "test.conf:1: syntax error: section header without closing ']'",
};

FIXTURE_VARIANT_ADD(bad_config, text_after_section) {
	.text = "[watch] path = /srv/db\n",
	.err = "test.conf:1: syntax error: text after section header",
};

/* The first error wins, whatever its kind. */

FIXTURE_VARIANT_ADD(bad_config, first_error_value) {
	.text = "[correlation]\nwindow = 0\nnonsense\n[bogus]\n",
	.err = "test.conf:2: window = 0: must be greater than 0",
};

FIXTURE_VARIANT_ADD(bad_config, first_error_syntax) {
	.text = "[correlation]\nnonsense\nwindow = 0\n",
	.err = "test.conf:2: syntax error: expected \"key = value\", \"[section]\" or a comment",
};

FIXTURE_VARIANT_ADD(bad_config, first_error_section) {
	.text = "[bogus]\nwindow = 0\n",
	.err = "test.conf:1: [bogus]: unknown section (expected watch, correlation, network, flow, daemon, sensor or policy)",
};

/* [watch] */

FIXTURE_VARIANT_ADD(bad_config, watch_relative) {
	.text = "[watch]\npath = srv/crm/customers.db\n",
	.err = "test.conf:2: path = srv/crm/customers.db: must be an absolute path",
};

FIXTURE_VARIANT_ADD(bad_config, watch_home_tilde) {
	.text = "[watch]\npath = ~/customers.db\n",
	.err = "test.conf:2: path = ~/customers.db: must be an absolute path",
};

FIXTURE_VARIANT_ADD(bad_config, watch_duplicate) {
	.text = "[watch]\npath = /srv/a\npath = /srv/b\n\npath = /srv/a\n",
	.err = "test.conf:5: path = /srv/a: already watched at line 2",
};

/* [policy] */

FIXTURE_VARIANT_ADD(bad_config, policy_mode_unknown) {
	.text = "[policy]\nmode = block\n",
	.err = "test.conf:2: mode = block: must be detect or prevent",
};

FIXTURE_VARIANT_ADD(bad_config, policy_mode_case_matters) {
	.text = "[policy]\nmode = Prevent\n",
	.err = "test.conf:2: mode = Prevent: must be detect or prevent",
};

FIXTURE_VARIANT_ADD(bad_config, policy_mode_twice) {
	.text = "[policy]\nmode = prevent\nmode = detect\n",
	.err = "test.conf:3: mode = detect: set twice, first at line 2",
};

FIXTURE_VARIANT_ADD(bad_config, policy_path_not_watched) {
	.text = "[watch]\npath = /srv/a\n[policy]\nprevent = /x\n",
	.err = "test.conf:4: prevent = /x: not a [watch] path",
};

/* the path must be written exactly as in [watch] */
FIXTURE_VARIANT_ADD(bad_config, policy_path_not_normalised) {
	.text = "[watch]\npath = /srv/a\n[policy]\ndetect = /srv/a/\n",
	.err = "test.conf:4: detect = /srv/a/: not a [watch] path",
};

/* checked once the whole file is read: the first bad line is named */
FIXTURE_VARIANT_ADD(bad_config, policy_path_checked_after_watch) {
	.text = "[policy]\nprevent = /srv/b\ndetect = /srv/c\n"
		"[watch]\npath = /srv/b\n",
	.err = "test.conf:3: detect = /srv/c: not a [watch] path",
};

FIXTURE_VARIANT_ADD(bad_config, policy_path_twice) {
	.text = "[watch]\npath = /srv/a\n[policy]\nprevent = /srv/a\n"
		"prevent = /srv/a\n",
	.err = "test.conf:5: prevent = /srv/a: already given a mode at line 4",
};

FIXTURE_VARIANT_ADD(bad_config, policy_path_in_both) {
	.text = "[watch]\npath = /srv/a\n[policy]\ndetect = /srv/a\n\n"
		"prevent = /srv/a\n",
	.err = "test.conf:6: prevent = /srv/a: already given a mode at line 4",
};

FIXTURE_VARIANT_ADD(bad_config, policy_path_relative) {
	.text = "[watch]\npath = /srv/a\n[policy]\nprevent = srv/a\n",
	.err = "test.conf:4: prevent = srv/a: must be an absolute path",
};

FIXTURE_VARIANT_ADD(bad_config, policy_path_empty) {
	.text = "[policy]\ndetect =\n",
	.err = "test.conf:2: detect = : empty value",
};

/* [correlation] */

FIXTURE_VARIANT_ADD(bad_config, read_threshold_zero) {
	.text = "[correlation]\nread_threshold = 0\n",
	.err = "test.conf:2: read_threshold = 0: must be greater than 0",
};

FIXTURE_VARIANT_ADD(bad_config, read_threshold_zero_unit) {
	.text = "[correlation]\nread_threshold = 0M\n",
	.err = "test.conf:2: read_threshold = 0M: must be greater than 0",
};

FIXTURE_VARIANT_ADD(bad_config, read_threshold_unit) {
	.text = "[correlation]\nread_threshold = 1X\n",
	.err = "test.conf:2: read_threshold = 1X: unknown unit (use K, M, G or T, optionally followed by B or iB)",
};

FIXTURE_VARIANT_ADD(bad_config, read_threshold_overflow) {
	.text = "[correlation]\nread_threshold = 16777216T\n",
	.err = "test.conf:2: read_threshold = 16777216T: too large for 64 bits",
};

FIXTURE_VARIANT_ADD(bad_config, read_threshold_fraction) {
	.text = "[correlation]\nread_threshold = 1.5M\n",
	.err = "test.conf:2: read_threshold = 1.5M: fractions are not supported, use a smaller unit",
};

FIXTURE_VARIANT_ADD(bad_config, send_threshold_negative) {
	.text = "[correlation]\nsend_threshold = -256K\n",
	.err = "test.conf:2: send_threshold = -256K: negative values are not allowed",
};

FIXTURE_VARIANT_ADD(bad_config, send_threshold_zero) {
	.text = "[correlation]\nsend_threshold = 0B\n",
	.err = "test.conf:2: send_threshold = 0B: must be greater than 0",
};

FIXTURE_VARIANT_ADD(bad_config, send_threshold_words) {
	.text = "[correlation]\nsend_threshold = lots\n",
	.err = "test.conf:2: send_threshold = lots: not a number",
};

FIXTURE_VARIANT_ADD(bad_config, window_zero) {
	.text = "[correlation]\nwindow = 0s\n",
	.err = "test.conf:2: window = 0s: must be greater than 0",
};

FIXTURE_VARIANT_ADD(bad_config, window_ambiguous_m) {
	.text = "[correlation]\nwindow = 5m\n",
	.err = "test.conf:2: window = 5m: ambiguous unit \"m\": use \"min\" for minutes or \"ms\" for milliseconds",
};

FIXTURE_VARIANT_ADD(bad_config, window_fraction) {
	.text = "[correlation]\nwindow = 1.5h\n",
	.err = "test.conf:2: window = 1.5h: fractions are not supported, use a smaller unit",
};

FIXTURE_VARIANT_ADD(bad_config, window_unit) {
	.text = "[correlation]\nwindow = 1 week\n",
	.err = "test.conf:2: window = 1 week: unknown unit (use ns, us, ms, s, min, h or d)",
};

FIXTURE_VARIANT_ADD(bad_config, window_overflow) {
	.text = "[correlation]\nwindow = 213504d\n",
	.err = "test.conf:2: window = 213504d: too large for 64 bits",
};

FIXTURE_VARIANT_ADD(bad_config, window_too_long) {
	.text = "[correlation]\nwindow = 366d\n",
	.err = "test.conf:2: window = 366d: must be at most 365d",
};

FIXTURE_VARIANT_ADD(bad_config, window_too_long_by_1ns) {
	.text = "[correlation]\nwindow = 31536000000000001ns\n",
	.err = "test.conf:2: window = 31536000000000001ns: must be at most 365d",
};

/* [network] */

FIXTURE_VARIANT_ADD(bad_config, internal_host_bits) {
	.text = "[network]\ninternal = 10.0.0.0/8, 10.1.0.0/8\n",
	.err = "test.conf:2: internal = 10.0.0.0/8, 10.1.0.0/8: 10.1.0.0/8: host bits set",
};

FIXTURE_VARIANT_ADD(bad_config, internal_bad_address) {
	.text = "[network]\ninternal = 10.0.0.256\n",
	.err = "test.conf:2: internal = 10.0.0.256: 10.0.0.256: not an IPv4 address",
};

FIXTURE_VARIANT_ADD(bad_config, internal_bad_v6) {
	.text = "[network]\ninternal = fd00::/8, fe80::1%eth0\n",
	.err = "test.conf:2: internal = fd00::/8, fe80::1%eth0: fe80::1%eth0: not an IPv6 address",
};

FIXTURE_VARIANT_ADD(bad_config, internal_prefix_v4) {
	.text = "[network]\ninternal = 10.0.0.0/33\n",
	.err = "test.conf:2: internal = 10.0.0.0/33: 10.0.0.0/33: prefix length out of range (0..32)",
};

FIXTURE_VARIANT_ADD(bad_config, internal_prefix_v6) {
	.text = "[network]\ninternal = fd00::/129\n",
	.err = "test.conf:2: internal = fd00::/129: fd00::/129: prefix length out of range (0..128)",
};

FIXTURE_VARIANT_ADD(bad_config, internal_empty_entry) {
	.text = "[network]\ninternal = 10.0.0.0/8,,fd00::/8\n",
	.err = "test.conf:2: internal = 10.0.0.0/8,,fd00::/8: empty entry in the list",
};

FIXTURE_VARIANT_ADD(bad_config, internal_trailing_comma) {
	.text = "[network]\ninternal = 10.0.0.0/8 ,\n",
	.err = "test.conf:2: internal = 10.0.0.0/8 ,: empty entry in the list",
};

FIXTURE_VARIANT_ADD(bad_config, internal_space_separated) {
	.text = "[network]\ninternal = 10.0.0.0/8 fd00::/8\n",
	.err = "test.conf:2: internal = 10.0.0.0/8 fd00::/8: 10.0.0.0/8 fd00::/8: prefix length is not a number",
};

/* [flow] */

FIXTURE_VARIANT_ADD(bad_config, opaque_relative) {
	.text = "[flow]\nopaque = /usr/bin/dbus-daemon, journald\n",
	.err = "test.conf:2: opaque = /usr/bin/dbus-daemon, journald: journald: must be an absolute path",
};

FIXTURE_VARIANT_ADD(bad_config, opaque_empty_entry) {
	.text = "[flow]\nopaque = /usr/bin/a,,/usr/bin/b\n",
	.err = "test.conf:2: opaque = /usr/bin/a,,/usr/bin/b: empty entry in the list",
};

FIXTURE_VARIANT_ADD(bad_config, opaque_only_comma) {
	.text = "[flow]\nopaque = ,\n",
	.err = "test.conf:2: opaque = ,: empty entry in the list",
};

FIXTURE_VARIANT_ADD(bad_config, opaque_listed_twice) {
	.text = "[flow]\nopaque = /usr/bin/a\nopaque = /usr/bin/b, /usr/bin/a\n",
	.err = "test.conf:3: opaque = /usr/bin/b, /usr/bin/a: /usr/bin/a: already listed at line 2",
};

FIXTURE_VARIANT_ADD(bad_config, opaque_in_wrong_section) {
	.text = "[sensor]\nopaque = /usr/bin/a\n",
	.err = "test.conf:2: opaque = /usr/bin/a: unknown key in [sensor]",
};

FIXTURE_VARIANT_ADD(bad_config, stream_idle_zero) {
	.text = "[flow]\nstream_idle = 0min\n",
	.err = "test.conf:2: stream_idle = 0min: must be greater than 0",
};

FIXTURE_VARIANT_ADD(bad_config, stream_idle_empty) {
	.text = "[flow]\nstream_idle =\n",
	.err = "test.conf:2: stream_idle = : empty value",
};

FIXTURE_VARIANT_ADD(bad_config, stream_idle_ambiguous_m) {
	.text = "[flow]\nstream_idle = 10m\n",
	.err = "test.conf:2: stream_idle = 10m: ambiguous unit \"m\": use \"min\" for minutes or \"ms\" for milliseconds",
};

FIXTURE_VARIANT_ADD(bad_config, stream_idle_too_long) {
	.text = "[flow]\nstream_idle = 400d\n",
	.err = "test.conf:2: stream_idle = 400d: must be at most 365d",
};

FIXTURE_VARIANT_ADD(bad_config, stream_idle_twice) {
	.text = "[flow]\nstream_idle = 1h\n[flow]\nstream_idle = 2h\n",
	.err = "test.conf:4: stream_idle = 2h: set twice, first at line 2",
};

/* [daemon] */

FIXTURE_VARIANT_ADD(bad_config, state_dir_relative) {
	.text = "[daemon]\nstate_dir = var/lib/exfilmon\n",
	.err = "test.conf:2: state_dir = var/lib/exfilmon: must be an absolute path",
};

FIXTURE_VARIANT_ADD(bad_config, socket_relative) {
	.text = "[daemon]\nsocket = exfilmon.sock\n",
	.err = "test.conf:2: socket = exfilmon.sock: must be an absolute path",
};

FIXTURE_VARIANT_ADD(bad_config, json_log_relative) {
	.text = "[daemon]\njson_log = ./alerts.json\n",
	.err = "test.conf:2: json_log = ./alerts.json: must be an absolute path",
};

FIXTURE_VARIANT_ADD(bad_config, group_space) {
	.text = "[daemon]\ngroup = security team\n",
	.err = "test.conf:2: group = security team: not a valid group name (at most 32 letters, digits, '.', '_' or '-')",
};

FIXTURE_VARIANT_ADD(bad_config, group_dash) {
	.text = "[daemon]\ngroup = -exfilmon\n",
	.err = "test.conf:2: group = -exfilmon: not a valid group name (at most 32 letters, digits, '.', '_' or '-')",
};

FIXTURE_VARIANT_ADD(bad_config, group_too_long) {
	.text = "[daemon]\ngroup = abcdefghijklmnopqrstuvwxyz0123456\n",
	.err = "test.conf:2: group = abcdefghijklmnopqrstuvwxyz0123456: not a valid group name (at most 32 letters, digits, '.', '_' or '-')",
};

/* [sensor] */

FIXTURE_VARIANT_ADD(bad_config, table_too_small) {
	.text = "[sensor]\nmax_procs = 63\n",
	.err = "test.conf:2: max_procs = 63: must be a whole number between 64 and 4194304",
};

FIXTURE_VARIANT_ADD(bad_config, table_too_large) {
	.text = "[sensor]\nmax_reads = 4194305\n",
	.err = "test.conf:2: max_reads = 4194305: must be a whole number between 64 and 4194304",
};

FIXTURE_VARIANT_ADD(bad_config, table_huge) {
	.text = "[sensor]\nmax_sends = 99999999999999999999999\n",
	.err = "test.conf:2: max_sends = 99999999999999999999999: must be a whole number between 64 and 4194304",
};

FIXTURE_VARIANT_ADD(bad_config, table_with_unit) {
	.text = "[sensor]\nmax_watch = 64K\n",
	.err = "test.conf:2: max_watch = 64K: must be a whole number between 64 and 4194304",
};

FIXTURE_VARIANT_ADD(bad_config, table_negative) {
	.text = "[sensor]\nmax_procs = -1\n",
	.err = "test.conf:2: max_procs = -1: must be a whole number between 64 and 4194304",
};

FIXTURE_VARIANT_ADD(bad_config, streams_too_small) {
	.text = "[sensor]\nmax_streams = 10\n",
	.err = "test.conf:2: max_streams = 10: must be a whole number between 64 and 4194304",
};

FIXTURE_VARIANT_ADD(bad_config, flows_with_unit) {
	.text = "[sensor]\nmax_flows = 64K\n",
	.err = "test.conf:2: max_flows = 64K: must be a whole number between 64 and 4194304",
};

FIXTURE_VARIANT_ADD(bad_config, flows_too_large) {
	.text = "[sensor]\nmax_flows = 4194305\n",
	.err = "test.conf:2: max_flows = 4194305: must be a whole number between 64 and 4194304",
};

FIXTURE_VARIANT_ADD(bad_config, ring_not_power_of_two) {
	.text = "[sensor]\nring_kib = 100\n",
	.err = "test.conf:2: ring_kib = 100: must be a power of two between 64 and 1048576",
};

FIXTURE_VARIANT_ADD(bad_config, ring_too_small) {
	.text = "[sensor]\nring_kib = 32\n",
	.err = "test.conf:2: ring_kib = 32: must be a power of two between 64 and 1048576",
};

FIXTURE_VARIANT_ADD(bad_config, ring_too_large) {
	.text = "[sensor]\nring_kib = 2097152\n",
	.err = "test.conf:2: ring_kib = 2097152: must be a power of two between 64 and 1048576",
};

FIXTURE_VARIANT_ADD(bad_config, ring_with_unit) {
	.text = "[sensor]\nring_kib = 4M\n",
	.err = "test.conf:2: ring_kib = 4M: must be a power of two between 64 and 1048576",
};

/* Echoed text never carries control bytes to the terminal. */

FIXTURE_VARIANT_ADD(bad_config, escape_value) {
	.text = "[watch]\npath = \x1b]0;owned\x07\x1b[2J\n",
	.err = "test.conf:2: path = \\x1b]0;owned\\x07\\x1b[2J: must be an absolute path",
};

FIXTURE_VARIANT_ADD(bad_config, escape_key) {
	.text = "[watch]\n\x1b[31mpath = /srv/db\n",
	.err = "test.conf:2: \\x1b[31mpath = /srv/db: unknown key in [watch]",
};

FIXTURE_VARIANT_ADD(bad_config, escape_section) {
	.text = "[\x9b" "2J]\n",
	.err = "test.conf:1: [\\x9b2J]: unknown section (expected watch, correlation, network, flow, daemon, sensor or policy)",
};

FIXTURE_VARIANT_ADD(bad_config, escape_list_entry) {
	.text = "[network]\ninternal = 10.0.0.0/8\x7f\n",
	.err = "test.conf:2: internal = 10.0.0.0/8\\x7f: 10.0.0.0/8\\x7f: prefix length is not a number",
};

FIXTURE_VARIANT_ADD(bad_config, escape_utf8_and_backslash) {
	.text = "[watch]\npath = caf\xc3\xa9\\db\n",
	.err = "test.conf:2: path = caf\\xc3\\xa9\\x5cdb: must be an absolute path",
};

/*
 * A byte-order mark counts only as the file's first bytes. inih also
 * skips one after the indentation exfilmond removes, so one there would
 * hide an unknown empty section from the line check.
 */
FIXTURE_VARIANT_ADD(bad_config, bom_after_whitespace) {
	.text = "  \xef\xbb\xbf[bogus]=1\n[watch]\n",
	.err = "test.conf:1: syntax error: byte-order mark after the start of the file",
};

FIXTURE_VARIANT_ADD(bad_config, second_bom) {
	.text = "\xef\xbb\xbf\xef\xbb\xbf[bogus]\n",
	.err = "test.conf:1: syntax error: byte-order mark after the start of the file",
};

FIXTURE_VARIANT_ADD(bad_config, bom_on_line_two) {
	.text = "[watch]\n\xef\xbb\xbf[bogus]\n",
	.err = "test.conf:2: syntax error: expected \"key = value\", \"[section]\" or a comment",
};

TEST_F(bad_config, rejected)
{
	ASSERT_EQ(-EINVAL, load(&self->cfg, variant->text, self->err));
	EXPECT_STREQ(variant->err, self->err);
	EXPECT_TRUE(config_is_empty(&self->cfg));
}

/* Debian's paths of the services that would relay taint to everyone. */
static const char *const debian_opaque[] = {
	"/usr/lib/systemd/systemd-journald",
	"/usr/sbin/rsyslogd",
	"/usr/bin/dbus-daemon",
	"/usr/bin/dbus-broker",
	"/usr/lib/xorg/Xorg",
	"/usr/bin/Xwayland",
	"/usr/lib/systemd/systemd",
	"/usr/lib/systemd/systemd-logind",
	"/usr/bin/gnome-shell",
	"/usr/bin/pipewire",
	"/usr/bin/pulseaudio",
};

#define NR_DEBIAN_OPAQUE (sizeof(debian_opaque) / sizeof(debian_opaque[0]))

TEST(defaults)
{
	struct config cfg;
	size_t i;

	ASSERT_EQ(0, config_defaults(&cfg));
	EXPECT_EQ(NULL, cfg.path);
	EXPECT_EQ(0, cfg.nr_watch);
	EXPECT_EQ(1048576, cfg.read_threshold);
	EXPECT_EQ(262144, cfg.send_threshold);
	EXPECT_EQ(3600 * SEC, cfg.window_ns);
	EXPECT_STREQ("/var/lib/exfilmon", cfg.state_dir);
	EXPECT_STREQ("/run/exfilmon/exfilmon.sock", cfg.socket);
	EXPECT_STREQ("exfilmon", cfg.group);
	EXPECT_STREQ("/var/lib/exfilmon/alerts.json", cfg.json_log);
	EXPECT_EQ(16384, cfg.max_procs);
	EXPECT_EQ(65536, cfg.max_reads);
	EXPECT_EQ(65536, cfg.max_sends);
	EXPECT_EQ(65536, cfg.max_watch);
	EXPECT_EQ(16384, cfg.max_streams);
	EXPECT_EQ(65536, cfg.max_flows);
	EXPECT_EQ(1024, cfg.ring_kib);
	EXPECT_EQ(600 * SEC, cfg.stream_idle_ns);
	ASSERT_EQ(NR_DEBIAN_OPAQUE, cfg.nr_opaque);
	for (i = 0; i < NR_DEBIAN_OPAQUE; i++) {
		EXPECT_STREQ(debian_opaque[i], cfg.opaque[i]);
		EXPECT_EQ(0, cfg.opaque_line[i]);
	}

	/* Loopback only: everything else is external until configured. */
	ASSERT_EQ(2, cfg.nr_internal);
	EXPECT_EQ(EXFILMON_AF_INET, cfg.internal[0].family);
	EXPECT_EQ(8, cfg.internal[0].prefix);
	EXPECT_EQ(127, cfg.internal[0].addr[0]);
	EXPECT_EQ(EXFILMON_AF_INET6, cfg.internal[1].family);
	EXPECT_EQ(128, cfg.internal[1].prefix);
	EXPECT_TRUE(config_is_internal(&cfg, EXFILMON_AF_INET,
				       v4(127, 0, 0, 1)));
	EXPECT_TRUE(config_is_internal(&cfg, EXFILMON_AF_INET,
				       v4(127, 255, 255, 254)));
	EXPECT_TRUE(config_is_internal(&cfg, EXFILMON_AF_INET6, v6("::1")));
	EXPECT_FALSE(config_is_internal(&cfg, EXFILMON_AF_INET,
					v4(10, 0, 0, 1)));
	EXPECT_FALSE(config_is_internal(&cfg, EXFILMON_AF_INET6, v6("::2")));
	EXPECT_FALSE(config_is_internal(&cfg, EXFILMON_AF_INET,
					v4(128, 0, 0, 1)));

	config_free(&cfg);
	EXPECT_TRUE(config_is_empty(&cfg));
}

TEST(policy_defaults_to_detect)
{
	struct config cfg;
	char err[CONFIG_ERR_LEN];

	ASSERT_EQ(0, load(&cfg, "[watch]\npath = /srv/a\n", err));
	EXPECT_EQ(0, cfg.prevent);
	EXPECT_EQ(0, cfg.mode_line);
	EXPECT_EQ(0, cfg.nr_policy);
	EXPECT_EQ(0, config_watch_prevents(&cfg, "/srv/a"));
	config_free(&cfg);
}

/* each watch's own line wins over the global mode, either way */
TEST(policy_per_path_overrides_the_global_mode)
{
	static const char text[] =
		"[watch]\n"
		"path = /srv/a\n"
		"path = /srv/b\n"
		"path = /srv/c\n"
		"[policy]\n"
		"mode = prevent\n"
		"detect = /srv/b\n";
	struct config cfg;
	char err[CONFIG_ERR_LEN];
	int line = -1;

	ASSERT_EQ(0, load(&cfg, text, err)) TH_LOG("%s", err);
	EXPECT_EQ(1, cfg.prevent);
	EXPECT_EQ(6, cfg.mode_line);
	EXPECT_EQ(1, config_watch_mode(&cfg, "/srv/a", &line));
	EXPECT_EQ(0, line);
	EXPECT_EQ(0, config_watch_mode(&cfg, "/srv/b", &line));
	EXPECT_EQ(7, line);
	EXPECT_EQ(1, config_watch_prevents(&cfg, "/srv/c"));
	/* a path exfilctl added takes the global mode */
	EXPECT_EQ(1, config_watch_mode(&cfg, "/srv/added", &line));
	EXPECT_EQ(0, line);
	config_free(&cfg);

	ASSERT_EQ(0, load(&cfg, "[policy]\nmode = detect\nprevent = /srv/a\n"
			  "[watch]\npath = /srv/a\npath = /srv/b\n", err))
		TH_LOG("%s", err);
	EXPECT_EQ(0, cfg.prevent);
	EXPECT_EQ(1, config_watch_mode(&cfg, "/srv/a", &line));
	EXPECT_EQ(3, line);
	EXPECT_EQ(0, config_watch_prevents(&cfg, "/srv/b"));
	config_free(&cfg);
}

TEST(empty_file_gives_defaults)
{
	struct config cfg, def;
	char err[CONFIG_ERR_LEN] = "stale";

	ASSERT_EQ(0, load(&cfg, "", err));
	EXPECT_STREQ("", err);
	ASSERT_EQ(0, config_defaults(&def));
	EXPECT_STREQ("test.conf", cfg.path);
	EXPECT_EQ(def.read_threshold, cfg.read_threshold);
	EXPECT_EQ(def.send_threshold, cfg.send_threshold);
	EXPECT_EQ(def.window_ns, cfg.window_ns);
	EXPECT_STREQ(def.state_dir, cfg.state_dir);
	EXPECT_STREQ(def.socket, cfg.socket);
	EXPECT_STREQ(def.group, cfg.group);
	EXPECT_STREQ(def.json_log, cfg.json_log);
	EXPECT_EQ(def.nr_internal, cfg.nr_internal);
	EXPECT_EQ(def.ring_kib, cfg.ring_kib);
	EXPECT_EQ(def.max_streams, cfg.max_streams);
	EXPECT_EQ(def.max_flows, cfg.max_flows);
	EXPECT_EQ(def.stream_idle_ns, cfg.stream_idle_ns);
	EXPECT_EQ(NR_DEBIAN_OPAQUE, cfg.nr_opaque);
	config_free(&def);
	config_free(&cfg);
}

TEST(every_key)
{
	static const char text[] =
		"; exfilmon.conf\n"
		"# both comment styles\n"
		"[watch]\n"
		"path = /srv/crm/customers.db ; the CRM\n"
		"path = /srv/crm/exports\n"
		"\n"
		"[correlation]\n"
		"read_threshold = 10M\n"
		"send_threshold = 512KiB\n"
		"window = 30min\n"
		"[network]\n"
		"internal = 10.0.0.0/8, 192.168.0.0/16 ,fd00::/8\n"
		"[flow]\n"
		"opaque = /usr/sbin/syslog-ng , /opt/relay/bin/relay\n"
		"stream_idle = 2h\n"
		"[daemon]\n"
		"state_dir = /srv/exfilmon\n"
		"socket = /run/exfil.sock\n"
		"group = secops\n"
		"json_log = /var/log/exfilmon.json\n"
		"[sensor]\n"
		"max_procs = 64\n"
		"max_reads = 4194304\n"
		"max_sends = 1000\n"
		"max_watch = 2048\n"
		"max_streams = 100\n"
		"max_flows = 200\n"
		"ring_kib = 1048576\n";
	char err[CONFIG_ERR_LEN];
	struct config cfg;

	ASSERT_EQ(0, load(&cfg, text, err)) TH_LOG("%s", err);
	EXPECT_STREQ("test.conf", cfg.path);
	ASSERT_EQ(2, cfg.nr_watch);
	EXPECT_STREQ("/srv/crm/customers.db", cfg.watch[0]);
	EXPECT_EQ(4, cfg.watch_line[0]);
	EXPECT_STREQ("/srv/crm/exports", cfg.watch[1]);
	EXPECT_EQ(5, cfg.watch_line[1]);
	EXPECT_EQ(10 * 1048576, cfg.read_threshold);
	EXPECT_EQ(512 * 1024, cfg.send_threshold);
	EXPECT_EQ(1800 * SEC, cfg.window_ns);
	ASSERT_EQ(5, cfg.nr_internal);
	EXPECT_EQ(EXFILMON_AF_INET, cfg.internal[2].family);
	EXPECT_EQ(8, cfg.internal[2].prefix);
	EXPECT_EQ(10, cfg.internal[2].addr[0]);
	EXPECT_EQ(EXFILMON_AF_INET, cfg.internal[3].family);
	EXPECT_EQ(16, cfg.internal[3].prefix);
	EXPECT_EQ(192, cfg.internal[3].addr[0]);
	EXPECT_EQ(168, cfg.internal[3].addr[1]);
	EXPECT_EQ(EXFILMON_AF_INET6, cfg.internal[4].family);
	EXPECT_EQ(8, cfg.internal[4].prefix);
	EXPECT_EQ(0xfd, cfg.internal[4].addr[0]);
	EXPECT_STREQ("/srv/exfilmon", cfg.state_dir);
	EXPECT_STREQ("/run/exfil.sock", cfg.socket);
	EXPECT_STREQ("secops", cfg.group);
	EXPECT_STREQ("/var/log/exfilmon.json", cfg.json_log);
	EXPECT_EQ(64, cfg.max_procs);
	EXPECT_EQ(4194304, cfg.max_reads);
	EXPECT_EQ(1000, cfg.max_sends);
	EXPECT_EQ(2048, cfg.max_watch);
	EXPECT_EQ(100, cfg.max_streams);
	EXPECT_EQ(200, cfg.max_flows);
	EXPECT_EQ(1048576, cfg.ring_kib);
	ASSERT_EQ(2, cfg.nr_opaque);
	EXPECT_STREQ("/usr/sbin/syslog-ng", cfg.opaque[0]);
	EXPECT_STREQ("/opt/relay/bin/relay", cfg.opaque[1]);
	EXPECT_EQ(14, cfg.opaque_line[0]);
	EXPECT_EQ(14, cfg.opaque_line[1]);
	EXPECT_EQ(7200 * SEC, cfg.stream_idle_ns);
	config_free(&cfg);
	EXPECT_TRUE(config_is_empty(&cfg));
}

TEST(opaque_lines_replace_the_defaults_then_add)
{
	static const char text[] =
		"[flow]\n"
		"opaque = /usr/lib/systemd/systemd-journald, /usr/bin/dbus-daemon\n"
		"[watch]\n"
		"[flow]\n"
		"opaque = /opt/relay\n";
	char err[CONFIG_ERR_LEN];
	struct config cfg;

	ASSERT_EQ(0, load(&cfg, text, err)) TH_LOG("%s", err);
	ASSERT_EQ(3, cfg.nr_opaque);
	EXPECT_STREQ("/usr/lib/systemd/systemd-journald", cfg.opaque[0]);
	EXPECT_STREQ("/usr/bin/dbus-daemon", cfg.opaque[1]);
	EXPECT_STREQ("/opt/relay", cfg.opaque[2]);
	EXPECT_EQ(2, cfg.opaque_line[1]);
	EXPECT_EQ(5, cfg.opaque_line[2]);
	config_free(&cfg);
	EXPECT_TRUE(config_is_empty(&cfg));
}

TEST(empty_opaque_means_none)
{
	char err[CONFIG_ERR_LEN];
	struct config cfg;

	ASSERT_EQ(0, load(&cfg, "[flow]\nopaque =\n", err)) TH_LOG("%s", err);
	EXPECT_EQ(0, cfg.nr_opaque);
	EXPECT_EQ(NULL, cfg.opaque[0]);
	config_free(&cfg);

	/* a comment after the '=' leaves the value empty too */
	ASSERT_EQ(0, load(&cfg, "[flow]\nopaque = ; none at all\n", err))
		TH_LOG("%s", err);
	EXPECT_EQ(0, cfg.nr_opaque);
	config_free(&cfg);

	/* an empty line adds nothing to the lines around it */
	ASSERT_EQ(0, load(&cfg, "[flow]\nopaque =\nopaque = /opt/a\nopaque =\n",
			  err)) TH_LOG("%s", err);
	ASSERT_EQ(1, cfg.nr_opaque);
	EXPECT_STREQ("/opt/a", cfg.opaque[0]);
	config_free(&cfg);
}

TEST(opaque_capacity)
{
	char err[CONFIG_ERR_LEN], expected[128];
	size_t len = 0, cap = 40 * (CONFIG_MAX_OPAQUE + 2);
	char *text = malloc(cap);
	struct config cfg;
	int i;

	ASSERT_NE(NULL, text);
	len += snprintf(text + len, cap - len, "[flow]\n");
	for (i = 0; i < CONFIG_MAX_OPAQUE; i++)
		len += snprintf(text + len, cap - len, "opaque = /opt/%d\n", i);
	ASSERT_EQ(0, load(&cfg, text, err)) TH_LOG("%s", err);
	EXPECT_EQ(CONFIG_MAX_OPAQUE, cfg.nr_opaque);
	config_free(&cfg);

	snprintf(text + len, cap - len, "opaque = /opt/more\n");
	ASSERT_EQ(-EINVAL, load(&cfg, text, err));
	snprintf(expected, sizeof(expected),
		 "test.conf:%d: opaque = /opt/more: too many opaque executables (at most %d)",
		 CONFIG_MAX_OPAQUE + 2, CONFIG_MAX_OPAQUE);
	EXPECT_STREQ(expected, err);
	EXPECT_TRUE(config_is_empty(&cfg));
	free(text);
}

TEST(json_log_follows_state_dir)
{
	char err[CONFIG_ERR_LEN];
	struct config cfg;

	ASSERT_EQ(0, load(&cfg, "[daemon]\nstate_dir = /srv/x\n", err));
	EXPECT_STREQ("/srv/x/alerts.json", cfg.json_log);
	config_free(&cfg);

	ASSERT_EQ(0, load(&cfg, "[daemon]\nstate_dir = /srv/x/\n", err));
	EXPECT_STREQ("/srv/x/alerts.json", cfg.json_log);
	config_free(&cfg);

	ASSERT_EQ(0, load(&cfg, "[daemon]\nstate_dir = /\n", err));
	EXPECT_STREQ("/alerts.json", cfg.json_log);
	config_free(&cfg);

	/* Set explicitly, it stays, whichever key comes first. */
	ASSERT_EQ(0, load(&cfg, "[daemon]\njson_log = /log/a.json\n"
				"state_dir = /srv/x\n", err));
	EXPECT_STREQ("/log/a.json", cfg.json_log);
	EXPECT_STREQ("/srv/x", cfg.state_dir);
	config_free(&cfg);
}

TEST(repeatable_keys_append)
{
	static const char text[] =
		"[watch]\n"
		"path = /a\n"
		"[network]\n"
		"internal = 10.0.0.0/8\n"
		"[watch]\n"
		"path = /b\n"
		"path = /a/\n"
		"[network]\n"
		"internal = 172.16.0.0/12, 10.0.0.0/8\n"
		"internal = fd00::/8\n";
	char err[CONFIG_ERR_LEN];
	struct config cfg;

	ASSERT_EQ(0, load(&cfg, text, err)) TH_LOG("%s", err);
	ASSERT_EQ(3, cfg.nr_watch);
	EXPECT_STREQ("/a", cfg.watch[0]);
	EXPECT_STREQ("/b", cfg.watch[1]);
	EXPECT_STREQ("/a/", cfg.watch[2]);
	EXPECT_EQ(2, cfg.watch_line[0]);
	EXPECT_EQ(6, cfg.watch_line[1]);
	EXPECT_EQ(7, cfg.watch_line[2]);
	/* Loopback first, then in file order; a repeated net is harmless. */
	ASSERT_EQ(6, cfg.nr_internal);
	EXPECT_EQ(10, cfg.internal[2].addr[0]);
	EXPECT_EQ(172, cfg.internal[3].addr[0]);
	EXPECT_EQ(12, cfg.internal[3].prefix);
	EXPECT_EQ(10, cfg.internal[4].addr[0]);
	EXPECT_EQ(0xfd, cfg.internal[5].addr[0]);
	config_free(&cfg);
}

TEST(internal_networks)
{
	char err[CONFIG_ERR_LEN];
	struct config cfg;

	ASSERT_EQ(0, load(&cfg, "[network]\n"
				"internal = 10.0.0.0/8, 172.16.0.0/12\n"
				"internal = fd00::/8, 203.0.113.7\n", err))
		TH_LOG("%s", err);

	EXPECT_TRUE(config_is_internal(&cfg, EXFILMON_AF_INET,
				       v4(10, 20, 30, 40)));
	EXPECT_TRUE(config_is_internal(&cfg, EXFILMON_AF_INET,
				       v4(172, 31, 0, 1)));
	EXPECT_FALSE(config_is_internal(&cfg, EXFILMON_AF_INET,
					v4(172, 32, 0, 1)));
	EXPECT_TRUE(config_is_internal(&cfg, EXFILMON_AF_INET,
				       v4(203, 0, 113, 7)));
	EXPECT_FALSE(config_is_internal(&cfg, EXFILMON_AF_INET,
					v4(203, 0, 113, 8)));
	EXPECT_FALSE(config_is_internal(&cfg, EXFILMON_AF_INET,
					v4(8, 8, 8, 8)));
	EXPECT_TRUE(config_is_internal(&cfg, EXFILMON_AF_INET6,
				       v6("fd12:3456::1")));
	EXPECT_FALSE(config_is_internal(&cfg, EXFILMON_AF_INET6,
					v6("2001:4860:4860::8888")));

	/* Loopback stays internal when networks are configured. */
	EXPECT_TRUE(config_is_internal(&cfg, EXFILMON_AF_INET,
				       v4(127, 0, 0, 53)));
	EXPECT_TRUE(config_is_internal(&cfg, EXFILMON_AF_INET6, v6("::1")));

	/* v4-mapped addresses are judged as the IPv4 address they carry. */
	EXPECT_TRUE(config_is_internal(&cfg, EXFILMON_AF_INET6,
				       v6("::ffff:10.1.2.3")));
	EXPECT_TRUE(config_is_internal(&cfg, EXFILMON_AF_INET6,
				       v6("::ffff:127.0.0.1")));
	EXPECT_FALSE(config_is_internal(&cfg, EXFILMON_AF_INET6,
					v6("::ffff:8.8.8.8")));

	/* Unknown family: never internal. */
	EXPECT_FALSE(config_is_internal(&cfg, 0, v4(10, 0, 0, 1)));
	config_free(&cfg);
}

TEST(internal_v4_mapped_network)
{
	char err[CONFIG_ERR_LEN];
	struct config cfg;

	ASSERT_EQ(0, load(&cfg, "[network]\ninternal = ::ffff:192.168.0.0/112\n",
			  err)) TH_LOG("%s", err);
	ASSERT_EQ(3, cfg.nr_internal);
	EXPECT_EQ(EXFILMON_AF_INET, cfg.internal[2].family);
	EXPECT_EQ(16, cfg.internal[2].prefix);
	EXPECT_TRUE(config_is_internal(&cfg, EXFILMON_AF_INET,
				       v4(192, 168, 4, 4)));
	config_free(&cfg);
}

/* What inih would misread if the lines were handed over as written. */
TEST(layout)
{
	static const char text[] =
		"\xef\xbb\xbf[watch]\r\n"
		"  path = /a#not-a-comment\r\n"
		"\tpath=/b;still-the-value\r\n"
		"    path   =   /c d   ; comment\r\n"
		"\r\n"
		"   ; indented comment\r\n"
		"[correlation] ; comment\r\n"
		"window = 2h";
	char err[CONFIG_ERR_LEN];
	struct config cfg;

	ASSERT_EQ(0, load(&cfg, text, err)) TH_LOG("%s", err);
	ASSERT_EQ(3, cfg.nr_watch);
	EXPECT_STREQ("/a#not-a-comment", cfg.watch[0]);
	/* Indented: a key of its own, not a continuation of the last. */
	EXPECT_STREQ("/b;still-the-value", cfg.watch[1]);
	EXPECT_STREQ("/c d", cfg.watch[2]);
	EXPECT_EQ(4, cfg.watch_line[2]);
	EXPECT_EQ(7200 * SEC, cfg.window_ns);
	config_free(&cfg);
}

TEST(line_length_limit)
{
	char err[CONFIG_ERR_LEN], text[512], expected[512];
	struct config cfg;
	int n;

	/* 199 characters fit inih's line buffer... */
	n = snprintf(text, sizeof(text), "[watch]\n   path = /%0*d\n",
		     199 - 8, 0);
	ASSERT_LT(n, sizeof(text));
	ASSERT_EQ(0, load(&cfg, text, err)) TH_LOG("%s", err);
	EXPECT_EQ(199 - 7, strlen(cfg.watch[0]));
	config_free(&cfg);

	/* ...200 do not, and are refused rather than split in two. */
	snprintf(text, sizeof(text), "[watch]\npath = /%0*d\n", 200 - 8, 0);
	ASSERT_EQ(-EINVAL, load(&cfg, text, err));
	EXPECT_STREQ("test.conf:2: syntax error: line longer than 199 characters",
		     err);
	EXPECT_TRUE(config_is_empty(&cfg));

	/* A long value is echoed cut short, the reason still whole. */
	snprintf(text, sizeof(text), "[watch]\npath = %0*d\n", 190, 0);
	ASSERT_EQ(-EINVAL, load(&cfg, text, err));
	snprintf(expected, sizeof(expected),
		 "test.conf:2: path = %0*d...: must be an absolute path", 160, 0);
	EXPECT_STREQ(expected, err);
}

TEST(socket_path_limit)
{
	char err[CONFIG_ERR_LEN], text[256], expected[512];
	struct config cfg;

	/* sun_path holds 107 bytes and the NUL. */
	snprintf(text, sizeof(text), "[daemon]\nsocket = /%0*d\n", 106, 0);
	ASSERT_EQ(0, load(&cfg, text, err)) TH_LOG("%s", err);
	EXPECT_EQ(107, strlen(cfg.socket));
	config_free(&cfg);

	snprintf(text, sizeof(text), "[daemon]\nsocket = /%0*d\n", 107, 0);
	ASSERT_EQ(-EINVAL, load(&cfg, text, err));
	snprintf(expected, sizeof(expected),
		 "test.conf:2: socket = /%0*d: longer than 107 bytes, the limit for a Unix socket path",
		 107, 0);
	EXPECT_STREQ(expected, err);
}

TEST(window_bounds)
{
	char err[CONFIG_ERR_LEN];
	struct config cfg;

	ASSERT_EQ(0, load(&cfg, "[correlation]\nwindow = 1ns\n", err));
	EXPECT_EQ(1, cfg.window_ns);
	config_free(&cfg);
	ASSERT_EQ(0, load(&cfg, "[correlation]\nwindow = 365d\n", err));
	EXPECT_EQ(365 * 86400 * SEC, cfg.window_ns);
	config_free(&cfg);
}

TEST(table_bounds)
{
	char err[CONFIG_ERR_LEN];
	struct config cfg;

	ASSERT_EQ(0, load(&cfg, "[sensor]\nmax_procs = 4194304\n"
				"max_reads = 64\nmax_sends = 0065\n"
				"max_streams = 64\nmax_flows = 4194304\n"
				"ring_kib = 64\n", err)) TH_LOG("%s", err);
	EXPECT_EQ(4194304, cfg.max_procs);
	EXPECT_EQ(64, cfg.max_reads);
	EXPECT_EQ(65, cfg.max_sends);
	EXPECT_EQ(64, cfg.max_streams);
	EXPECT_EQ(4194304, cfg.max_flows);
	EXPECT_EQ(64, cfg.ring_kib);
	config_free(&cfg);
}

TEST(watch_capacity)
{
	char err[CONFIG_ERR_LEN], expected[128];
	struct config cfg;
	size_t len = 0, cap = 32 * (CONFIG_MAX_WATCH + 2);
	char *text = malloc(cap);
	int i;

	ASSERT_NE(NULL, text);
	len += snprintf(text + len, cap - len, "[watch]\n");
	for (i = 0; i < CONFIG_MAX_WATCH; i++)
		len += snprintf(text + len, cap - len, "path = /w/%d\n", i);
	ASSERT_EQ(0, load(&cfg, text, err)) TH_LOG("%s", err);
	EXPECT_EQ(CONFIG_MAX_WATCH, cfg.nr_watch);
	EXPECT_STREQ("/w/1023", cfg.watch[CONFIG_MAX_WATCH - 1]);
	EXPECT_EQ(CONFIG_MAX_WATCH + 1, cfg.watch_line[CONFIG_MAX_WATCH - 1]);
	config_free(&cfg);

	snprintf(text + len, cap - len, "path = /w/more\n");
	ASSERT_EQ(-EINVAL, load(&cfg, text, err));
	snprintf(expected, sizeof(expected),
		 "test.conf:%d: path = /w/more: too many watch paths (at most 1024)",
		 CONFIG_MAX_WATCH + 2);
	EXPECT_STREQ(expected, err);
	EXPECT_TRUE(config_is_empty(&cfg));
	free(text);
}

TEST(network_capacity)
{
	char err[CONFIG_ERR_LEN], expected[128];
	struct config cfg;
	size_t len = 0, cap = 32 * (CONFIG_MAX_NETS + 2);
	char *text = malloc(cap);
	int i;

	ASSERT_NE(NULL, text);
	len += snprintf(text + len, cap - len, "[network]\n");
	/* Two entries are loopback's. */
	for (i = 0; i < CONFIG_MAX_NETS - 2; i++)
		len += snprintf(text + len, cap - len,
				"internal = 10.%d.0.0/16\n", i);
	ASSERT_EQ(0, load(&cfg, text, err)) TH_LOG("%s", err);
	EXPECT_EQ(CONFIG_MAX_NETS, cfg.nr_internal);
	config_free(&cfg);

	snprintf(text + len, cap - len, "internal = 11.0.0.0/8\n");
	ASSERT_EQ(-EINVAL, load(&cfg, text, err));
	snprintf(expected, sizeof(expected),
		 "test.conf:%d: internal = 11.0.0.0/8: too many networks (at most 256, loopback included)",
		 CONFIG_MAX_NETS);
	EXPECT_STREQ(expected, err);
	EXPECT_TRUE(config_is_empty(&cfg));
	free(text);
}

TEST(error_buffer_is_bounded)
{
	struct config cfg;
	char err[16];

	memset(err, 'x', sizeof(err));
	ASSERT_EQ(-EINVAL, config_load_string(&cfg, "test.conf", "[x]\n", err,
					      10));
	EXPECT_STREQ("test.conf", err);
	EXPECT_EQ('x', err[10]);

	/* No buffer at all is fine too. */
	ASSERT_EQ(-EINVAL, config_load_string(&cfg, "test.conf", "[x]\n", NULL,
					      0));
	EXPECT_TRUE(config_is_empty(&cfg));
}

TEST(file_name_is_escaped)
{
	char err[CONFIG_ERR_LEN];
	struct config cfg;

	ASSERT_EQ(-EINVAL, config_load_string(&cfg, "evil\x1b[2J.conf", "x\n",
					      err, sizeof(err)));
	EXPECT_STREQ("evil\\x1b[2J.conf:1: syntax error: expected \"key = value\", \"[section]\" or a comment",
		     err);
}

TEST(free_is_idempotent)
{
	char err[CONFIG_ERR_LEN];
	struct config cfg;

	config_free(NULL);
	ASSERT_EQ(0, load(&cfg, "[watch]\npath = /a\n", err));
	config_free(&cfg);
	config_free(&cfg);
	EXPECT_TRUE(config_is_empty(&cfg));
}

FIXTURE(conf_file) {
	char dir[64];
	char path[128];
	struct config cfg;
	char err[CONFIG_ERR_LEN];
};

FIXTURE_SETUP(conf_file)
{
	strcpy(self->dir, "/tmp/exfilmon-test-config.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/exfilmon.conf", self->dir);
	memset(&self->cfg, 0, sizeof(self->cfg));
}

FIXTURE_TEARDOWN(conf_file)
{
	config_free(&self->cfg);
	unlink(self->path);
	rmdir(self->dir);
}

static void write_file(struct __test_metadata *_metadata, const char *path,
		       const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	ASSERT_NE(NULL, f);
	ASSERT_EQ(len, fwrite(text, 1, len, f));
	ASSERT_EQ(0, fclose(f));
}

TEST_F(conf_file, loads)
{
	static const char text[] =
		"[watch]\npath = /srv/crm/customers.db\n"
		"[correlation]\nwindow = 90s\n";

	write_file(_metadata, self->path, text, strlen(text));
	ASSERT_EQ(0, config_load(&self->cfg, self->path, self->err,
				 sizeof(self->err))) TH_LOG("%s", self->err);
	EXPECT_STREQ(self->path, self->cfg.path);
	ASSERT_EQ(1, self->cfg.nr_watch);
	EXPECT_STREQ("/srv/crm/customers.db", self->cfg.watch[0]);
	EXPECT_EQ(90 * SEC, self->cfg.window_ns);
	EXPECT_EQ(1048576, self->cfg.read_threshold);
}

TEST_F(conf_file, error_names_the_file)
{
	static const char text[] = "[correlation]\n\nwindow = 5m\n";
	char expected[512];

	write_file(_metadata, self->path, text, strlen(text));
	ASSERT_EQ(-EINVAL, config_load(&self->cfg, self->path, self->err,
				       sizeof(self->err)));
	snprintf(expected, sizeof(expected),
		 "%s:3: window = 5m: ambiguous unit \"m\": use \"min\" for minutes or \"ms\" for milliseconds",
		 self->path);
	EXPECT_STREQ(expected, self->err);
	EXPECT_TRUE(config_is_empty(&self->cfg));
}

TEST_F(conf_file, missing)
{
	char expected[512];

	memset(&self->cfg, 0x5a, sizeof(self->cfg));
	ASSERT_EQ(-ENOENT, config_load(&self->cfg, self->path, self->err,
				       sizeof(self->err)));
	snprintf(expected, sizeof(expected), "%s: No such file or directory",
		 self->path);
	EXPECT_STREQ(expected, self->err);
	EXPECT_TRUE(config_is_empty(&self->cfg));
}

TEST_F(conf_file, directory)
{
	char expected[512];

	memset(&self->cfg, 0x5a, sizeof(self->cfg));
	ASSERT_EQ(-EISDIR, config_load(&self->cfg, self->dir, self->err,
				       sizeof(self->err)));
	snprintf(expected, sizeof(expected), "%s: Is a directory", self->dir);
	EXPECT_STREQ(expected, self->err);
	EXPECT_TRUE(config_is_empty(&self->cfg));
}

TEST_F(conf_file, nul_byte)
{
	static const char text[] = "[watch]\npath = /srv/a\0b\n";
	char expected[512];

	write_file(_metadata, self->path, text, sizeof(text) - 1);
	ASSERT_EQ(-EINVAL, config_load(&self->cfg, self->path, self->err,
				       sizeof(self->err)));
	snprintf(expected, sizeof(expected), "%s:2: syntax error: NUL byte in line",
		 self->path);
	EXPECT_STREQ(expected, self->err);
	EXPECT_TRUE(config_is_empty(&self->cfg));
}

TEST_F(conf_file, long_lines_in_file)
{
	char text[1024], expected[512];
	int n;

	/* getline() reads any length: the limit is inih's, and reported. */
	n = snprintf(text, sizeof(text), "[watch]\npath = /%0*d\n", 600, 0);
	write_file(_metadata, self->path, text, n);
	ASSERT_EQ(-EINVAL, config_load(&self->cfg, self->path, self->err,
				       sizeof(self->err)));
	snprintf(expected, sizeof(expected),
		 "%s:2: syntax error: line longer than 199 characters",
		 self->path);
	EXPECT_STREQ(expected, self->err);
}

TEST_F(conf_file, unreadable)
{
	char expected[512];

	if (geteuid() == 0)
		SKIP(return, "root reads a mode 000 file anyway");
	write_file(_metadata, self->path, "", 0);
	ASSERT_EQ(0, chmod(self->path, 0));
	ASSERT_EQ(-EACCES, config_load(&self->cfg, self->path, self->err,
				       sizeof(self->err)));
	snprintf(expected, sizeof(expected), "%s: Permission denied",
		 self->path);
	EXPECT_STREQ(expected, self->err);
}

TEST_HARNESS_MAIN
