// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: the config parser (userspace/config.c, over libinih). The
 * input is a whole config file. It is read twice: as a file by
 * config_load(), the daemon's own path (through a memfd, so NUL bytes and
 * a missing last newline reach it as they would from disk), and, when it
 * has no NUL, as text by config_load_string().
 *
 * Invariants, besides no crash, leak or UB:
 *  - both readings agree: the same verdict, and the same message after the
 *    file name;
 *  - a rejected file leaves the config zeroed, with one message line that
 *    starts "<file>:" and holds only printable ASCII (config.h: hostile
 *    bytes are echoed as \xNN), and -EINVAL (content) as the result;
 *  - an accepted config holds only what the rules allow: absolute and
 *    distinct watch and opaque paths within their limits, thresholds and
 *    durations above 0, durations at most 365 days, table sizes in range, a
 *    power-of-two ring, a socket path that fits sockaddr_un, a valid group
 *    name, loopback always internal, and a JSON log path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "exfilmon_abi.h"

#define NAME	"fuzz.conf"

static int memfd = -1;
static char memfd_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	memfd = memfd_create(NAME, MFD_CLOEXEC);
	if (memfd < 0)
		abort();
	snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", memfd);
	return 0;
}

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_config: %s: %s\n", what, detail);
	abort();
}

static void check_message(const char *err, const char *name)
{
	const char *p;

	if (strncmp(err, name, strlen(name)) || err[strlen(name)] != ':')
		fail("a message that does not start with the file name", err);
	for (p = err; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			fail("a message with a byte outside printable ASCII",
			     err);
}

static void check_paths(char *const *paths, size_t nr, size_t max,
			const char *what)
{
	size_t i, j;

	if (nr > max)
		fail("too many paths", what);
	for (i = 0; i < nr; i++) {
		if (!paths[i] || paths[i][0] != '/')
			fail("a relative path", what);
		for (j = 0; j < i; j++)
			if (!strcmp(paths[i], paths[j]))
				fail("a path listed twice", what);
	}
}

static void check_config(const struct config *c)
{
	static const uint8_t lo4[4] = { 127, 0, 0, 1 };
	static const uint8_t lo6[16] = { [15] = 1 };
	const uint32_t tables[] = { c->max_procs, c->max_reads, c->max_sends,
				    c->max_watch, c->max_streams,
				    c->max_flows };
	const char *p;
	size_t i;

	check_paths(c->watch, c->nr_watch, CONFIG_MAX_WATCH, "watch");
	check_paths(c->opaque, c->nr_opaque, CONFIG_MAX_OPAQUE, "opaque");
	if (!c->read_threshold || !c->send_threshold)
		fail("a threshold of 0", "");
	if (!c->window_ns || c->window_ns > 365ull * 86400 * 1000000000 ||
	    !c->stream_idle_ns || c->stream_idle_ns > 365ull * 86400 * 1000000000)
		fail("a duration out of range", "");
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (tables[i] < 64 || tables[i] > 4194304)
			fail("a table size out of range", "");
	if (c->ring_kib < 64 || c->ring_kib > 1048576 ||
	    (c->ring_kib & (c->ring_kib - 1)))
		fail("a ring size that is not a power of two in range", "");
	if (!c->state_dir || c->state_dir[0] != '/' || !c->json_log ||
	    c->json_log[0] != '/')
		fail("a relative state_dir or json_log", "");
	if (!c->socket || c->socket[0] != '/' ||
	    strlen(c->socket) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		fail("a socket path that does not fit", "");
	if (!c->group || !c->group[0] || c->group[0] == '-' ||
	    strlen(c->group) > 32)
		fail("an invalid group name", "");
	for (p = c->group; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			     "0123456789._-", *p))
			fail("an invalid group name", c->group);
	if (c->nr_internal > CONFIG_MAX_NETS)
		fail("too many networks", "");
	if (!config_is_internal(c, EXFILMON_AF_INET, lo4) ||
	    !config_is_internal(c, EXFILMON_AF_INET6, lo6))
		fail("loopback is not internal", "");
}

static int is_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		if (*b++)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CONFIG_ERR_LEN], err2[CONFIG_ERR_LEN], *text;
	struct config cfg, cfg2;
	int ret, ret2;

	if (ftruncate(memfd, 0) || pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	ret = config_load(&cfg, memfd_path, err, sizeof(err));
	if (ret) {
		if (ret != -EINVAL)
			fail("a content error that is not -EINVAL", err);
		if (!is_zero(&cfg, sizeof(cfg)))
			fail("a rejected config that is not zeroed", err);
		check_message(err, memfd_path);
	} else {
		if (err[0])
			fail("an accepted config with a message", err);
		check_config(&cfg);
	}

	/* The text reading stops at a NUL: only NUL-free inputs compare. */
	if (!memchr(data, '\0', size)) {
		text = strndup((const char *)data, size);
		if (!text)
			abort();
		ret2 = config_load_string(&cfg2, memfd_path, text, err2,
					  sizeof(err2));
		if (ret2 != ret || strcmp(err, err2))
			fail("file and text readings disagree", err2);
		if (!ret2)
			check_config(&cfg2);
		config_free(&cfg2);
		free(text);
	}
	config_free(&cfg);
	return 0;
}
