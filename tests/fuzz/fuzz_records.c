// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: the daemon's sensor record decoder, daemon_on_record()
 * (userspace/records.c) and everything it feeds (process table,
 * correlator, flow graph, alert store, JSON log), as exfilmond sets them up.
 *
 * The input is records back to back, as the kernel module's read() returns
 * them and as the ring buffer hands them out: each starts with
 * struct exfilmon_rec_hdr, whose size field says how long it is. Both
 * sensors pass the record with len = hdr.size; the ring buffer's own
 * record always holds at least a header, even when hdr.size says less (the
 * eBPF loader checks only hdr.size <= the ring's length), so such a record
 * is handed over with its header and len = hdr.size. Each record is copied
 * into a heap block of exactly its length, aligned as both sensors deliver
 * them (8 bytes), so that reading past it is caught. The input ends at a
 * record that does not fit. daemon_env_feed() does this, then what the
 * event loop does after records: live look-ups, ticks, windows closing.
 *
 * Invariants, besides no crash, leak or UB:
 *  - every alert stored: any record content can be written to the store
 *    (d->store_failing stays 0);
 *  - every line the JSON log gained is one JSON object, then '\n';
 *  - nothing the records say reaches the journal without a MESSAGE.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "daemon_env.h"

static struct daemon d;
static off_t log_seen;	/* bytes of the JSON log already checked */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (daemon_env_open(&d))
		daemon_env_abort();
	return 0;
}

static void check_json_log(void)
{
	struct json_tokener *tok;
	struct json_object *obj;
	char *buf, *line, *nl;
	struct stat st;
	size_t len;
	int fd;

	fd = open(daemon_env_jsonlog(), O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		daemon_env_abort();
	if (st.st_size == log_seen) {
		close(fd);
		return;
	}
	len = st.st_size - log_seen;
	buf = malloc(len + 1);
	if (!buf || pread(fd, buf, len, log_seen) != (ssize_t)len)
		daemon_env_abort();
	close(fd);
	buf[len] = '\0';
	if (buf[len - 1] != '\n') {
		fprintf(stderr, "JSON log: last line has no newline\n");
		daemon_env_abort();
	}
	tok = json_tokener_new();
	if (!tok)
		daemon_env_abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	for (line = buf; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		json_tokener_reset(tok);
		obj = json_tokener_parse_ex(tok, line, nl - line);
		if (!obj || !json_object_is_type(obj, json_type_object) ||
		    json_tokener_get_parse_end(tok) != (size_t)(nl - line)) {
			fprintf(stderr, "JSON log: a broken line: %.*s\n",
				(int)(nl - line), line);
			daemon_env_abort();
		}
		json_object_put(obj);
	}
	json_tokener_free(tok);
	free(buf);
	log_seen = st.st_size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (daemon_env_begin(&d))
		daemon_env_abort();
	daemon_env_feed(&d, data, size);
	daemon_env_end(&d);

	if (d.store_failing) {
		fprintf(stderr, "store refused an alert: %s\n",
			store_errmsg(d.store));
		daemon_env_abort();
	}
	check_json_log();
	return 0;
}
