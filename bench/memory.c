// SPDX-License-Identifier: GPL-2.0-only
/*
 * P7: what exfilmon holds in memory at scale. A real exfilmond watches
 * 1,000 files (one "path =" line each) while 10,000 live processes have
 * each read a few bytes of one of them, so that the sensor tracks every
 * one; then we read the daemon's resident memory (VmRSS, VmHWM) and the
 * kernel memory of the sensor's maps (their memlock, ring buffer included,
 * from the daemon's own map file descriptors).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include "bench.h"
#include "daemon_run.h"

#define MEM_PROCS	10000
#define MEM_FILES	1000
#define MEM_PROCS_QUICK	500
#define MEM_FILES_QUICK	100
#define MEM_FILE_BYTES	4096
#define MEM_READ_BYTES	64
#define MIB		(1024.0 * 1024.0)

/*
 * What a deployment that expects 10,000 tracked processes would set: room
 * for them and for the rest of the machine's readers (16384 entries), a
 * (process, file) pair each, the files and their derived copies. Sends,
 * streams and flows keep their defaults.
 */
#define MEM_SENSOR_CONF \
	"[sensor]\nmax_procs = 16384\nmax_reads = 16384\n"

struct mem_world {
	char dir[320];
	char conf[352];
	char sock[352];
	char log[352];
	char status[352];
	int nr_files;
	pid_t daemon;
	pid_t *kids;
	int nr_kids;
	int hold_w;		/* closing it lets every child go */
	unsigned int *ready;	/* shared: children that have read */
};

static void file_path(const struct mem_world *w, int i, char *buf,
		      size_t len)
{
	snprintf(buf, len, "%s/files/f%04d", w->dir, i);
}

static int world_up(const struct bench_env *e, struct mem_world *w,
		    const char *sensor_conf)
{
	static char data[MEM_FILE_BYTES];
	char path[400];
	FILE *f;
	int i, ret;

	snprintf(w->dir, sizeof(w->dir), "%s/memory", e->work);
	snprintf(w->conf, sizeof(w->conf), "%s/exfilmon.conf", w->dir);
	snprintf(w->sock, sizeof(w->sock), "%s/exfilmon.sock", w->dir);
	snprintf(w->log, sizeof(w->log), "%s/exfilmond.log", w->dir);
	snprintf(w->status, sizeof(w->status), "%s/status.json", w->dir);
	if (run_cmd("rm -rf '%s' && mkdir -p '%s/files' '%s/state'", w->dir,
		    w->dir, w->dir))
		return -EIO;
	memset(data, 'x', sizeof(data));
	f = fopen(w->conf, "w");
	if (!f)
		return -errno;
	fprintf(f, "[watch]\n");
	for (i = 0; i < w->nr_files; i++) {
		FILE *d;

		file_path(w, i, path, sizeof(path));
		d = fopen(path, "w");
		ret = !d || fwrite(data, 1, sizeof(data), d) != sizeof(data);
		if ((d && fclose(d)) || ret) {
			fclose(f);
			return -EIO;
		}
		fprintf(f, "path = %s\n", path);
	}
	fprintf(f, "\n[network]\ninternal = 10.0.0.0/8\n\n"
		"[daemon]\nstate_dir = %s/state\nsocket = %s\ngroup = root\n\n"
		"%s", w->dir, w->sock, sensor_conf);
	if (fclose(f))
		return -EIO;
	w->daemon = bench_daemon_start(e, e->sensor, w->conf, w->sock,
					w->log);
	if (w->daemon < 0)
		return -EIO;
	return 0;
}

/* Let every child go and reap it. */
static void kids_release(struct mem_world *w)
{
	int i;

	if (w->hold_w >= 0)
		close(w->hold_w);
	w->hold_w = -1;
	for (i = 0; i < w->nr_kids; i++)
		waitpid(w->kids[i], NULL, 0);
	w->nr_kids = 0;
}

static void world_down(struct mem_world *w)
{
	kids_release(w);
	if (w->daemon > 0)
		daemon_stop(w->daemon);
	w->daemon = 0;
}

/*
 * A child: reads a little of its file, says so in shared memory (a pipe
 * back to us would carry its taint here), then sleeps on the hold pipe
 * until we close it.
 */
static int kid(const struct mem_world *w, int i, int hold_r)
{
	char path[400], buf[MEM_READ_BYTES];
	int fd;

	file_path(w, i % w->nr_files, path, sizeof(path));
	fd = open(path, O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != sizeof(buf))
		return 1;
	close(fd);
	__atomic_add_fetch(w->ready, 1, __ATOMIC_RELEASE);
	/* EOF when the parent closes its end; nothing is ever written */
	while (read(hold_r, buf, 1) < 0 && errno == EINTR)
		;
	return 0;
}

static int kids_start(struct mem_world *w, int n)
{
	int hold[2], i;

	if (pipe2(hold, O_CLOEXEC))
		return -errno;
	w->hold_w = hold[1];
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			int ret = -errno;

			close(hold[0]);
			fprintf(stderr, "memory: failed to fork child %d: %s\n",
				i, strerror(-ret));
			return ret;
		}
		if (!pid) {
			close(hold[1]);
			_exit(kid(w, i, hold[0]));
		}
		w->kids[w->nr_kids++] = pid;
	}
	close(hold[0]);
	/* all have read: 60 s is far more than 10,000 forks take */
	for (i = 0; i < 60000 &&
	     __atomic_load_n(w->ready, __ATOMIC_ACQUIRE) < (unsigned int)n;
	     i++)
		usleep(1000);
	if (*w->ready < (unsigned int)n) {
		fprintf(stderr, "memory: only %u of %d children read their "
			"file\n", *w->ready, n);
		return -ETIMEDOUT;
	}
	return 0;
}

/* Field (kB) of /proc/pid/status, in MiB; -1 if absent. */
static double proc_status_mib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t len = strlen(field);
	double v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':') {
			v = strtod(line + len + 1, NULL) / 1024.0;
			break;
		}
	fclose(f);
	return v;
}

/*
 * The resident part of the daemon's mappings of BPF maps: the ring buffer,
 * whose data pages libbpf maps twice (so that a record can wrap), counts
 * twice in VmRSS though the kernel holds it once, in the maps' memlock.
 */
static double map_rss_mib(pid_t pid)
{
	char path[64], line[512];
	int in_map = 0;
	double kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, ' '))
			in_map = strstr(line, "anon_inode:bpf-map") != NULL;
		else if (in_map && !strncmp(line, "Rss:", 4))
			kib += strtod(line + 4, NULL);
	}
	fclose(f);
	return kib / 1024.0;
}

static uint64_t daemon_cpu_ticks(pid_t pid)
{
	unsigned long long ut = 0, st = 0;
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	/* utime and stime are fields 14 and 15; comm has no blanks here */
	if (fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
		   "%llu %llu", &ut, &st) != 2)
		ut = st = 0;
	fclose(f);
	return ut + st;
}

/* The number of entries in a map (by id); -1 if it cannot be read. */
static long map_entries(uint32_t id, uint32_t key_size)
{
	char key[256], next[256];
	long n = 0;
	int fd;

	if (key_size > sizeof(key))
		return -1;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return -1;
	if (!bpf_map_get_next_key(fd, NULL, next)) {
		do {
			n++;
			memcpy(key, next, key_size);
		} while (!bpf_map_get_next_key(fd, key, next));
	}
	close(fd);
	return n;
}

/* One "key:\tvalue" line of an fdinfo file, as a number. */
static int fdinfo_u64(const char *text, const char *key, uint64_t *v)
{
	const char *p = strstr(text, key);

	if (!p || p[strlen(key)] != ':')
		return -1;
	*v = strtoull(p + strlen(key) + 1, NULL, 0);
	return 0;
}

/*
 * The daemon's BPF maps, each once: name, type, sizes, memlock. Adds them
 * to maps (an array) and returns the memlock total in bytes, or -1.
 */
static int64_t daemon_maps(pid_t pid, struct json_object *maps,
			   long *procs_entries)
{
	uint32_t seen[64];
	size_t nr_seen = 0, i;
	char path[300], text[1024], target[64];
	struct dirent *de;
	int64_t total = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((de = readdir(dir))) {
		struct bpf_map_info info = { 0 };
		uint32_t info_len = sizeof(info);
		uint64_t id, memlock, type, max, ksz, vsz, flags;
		struct json_object *m;
		ssize_t n;
		int fd;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid,
			 de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "anon_inode:bpf-map"))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", (int)pid,
			 de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[n > 0 ? n : 0] = '\0';
		if (fdinfo_u64(text, "map_id", &id) ||
		    fdinfo_u64(text, "memlock", &memlock) ||
		    fdinfo_u64(text, "map_type", &type) ||
		    fdinfo_u64(text, "max_entries", &max) ||
		    fdinfo_u64(text, "key_size", &ksz) ||
		    fdinfo_u64(text, "value_size", &vsz) ||
		    fdinfo_u64(text, "map_flags", &flags))
			continue;
		for (i = 0; i < nr_seen && seen[i] != id; i++)
			;
		if (i < nr_seen || nr_seen == sizeof(seen) / sizeof(seen[0]))
			continue;
		seen[nr_seen++] = id;
		total += memlock;
		fd = bpf_map_get_fd_by_id(id);
		if (fd >= 0) {
			bpf_obj_get_info_by_fd(fd, &info, &info_len);
			close(fd);
		}
		m = json_object_new_object();
		json_object_object_add(m, "name",
				       json_object_new_string(info.name));
		json_object_object_add(m, "type", json_object_new_int(type));
		json_object_object_add(m, "key_size", json_object_new_int(ksz));
		json_object_object_add(m, "value_size",
				       json_object_new_int(vsz));
		json_object_object_add(m, "max_entries",
				       json_object_new_int64(max));
		json_object_object_add(m, "flags", json_object_new_int(flags));
		json_object_object_add(m, "memlock_mib",
				       json_object_new_double(memlock / MIB));
		if (type == BPF_MAP_TYPE_HASH) {
			long nr = map_entries(id, ksz);

			json_object_object_add(m, "entries",
					       json_object_new_int64(nr));
			if (!strcmp(info.name, "procs"))
				*procs_entries = nr;
		}
		json_object_array_add(maps, m);
	}
	closedir(dir);
	return total;
}

/* The daemon's memory and the sensor's maps, now, as one object. */
static struct json_object *snapshot(const struct mem_world *w)
{
	struct json_object *o = json_object_new_object();
	struct json_object *maps = json_object_new_array();
	long procs = -1;
	int64_t total;

	total = daemon_maps(w->daemon, maps, &procs);
	json_object_object_add(o, "rss_mib", json_object_new_double(
		proc_status_mib(w->daemon, "VmRSS")));
	json_object_object_add(o, "hwm_mib", json_object_new_double(
		proc_status_mib(w->daemon, "VmHWM")));
	json_object_object_add(o, "rss_anon_mib", json_object_new_double(
		proc_status_mib(w->daemon, "RssAnon")));
	json_object_object_add(o, "rss_file_mib", json_object_new_double(
		proc_status_mib(w->daemon, "RssFile")));
	json_object_object_add(o, "rss_shmem_mib", json_object_new_double(
		proc_status_mib(w->daemon, "RssShmem")));
	json_object_object_add(o, "rss_of_maps_mib", json_object_new_double(
		map_rss_mib(w->daemon)));
	json_object_object_add(o, "maps_mib",
			       json_object_new_double(total / MIB));
	json_object_object_add(o, "sensor_procs", json_object_new_int64(procs));
	json_object_object_add(o, "maps", maps);
	return o;
}

/*
 * The daemon has caught up when it has used no CPU for half a second:
 * by then the sensor's records of every child have been taken in.
 */
static void await_quiet(const struct mem_world *w)
{
	uint64_t before = daemon_cpu_ticks(w->daemon), now;
	int i;

	for (i = 0; i < 120; i++) {
		usleep(500000);
		now = daemon_cpu_ticks(w->daemon);
		if (now == before)
			return;
		before = now;
	}
}

/* exfilctl status --json, for what the daemon says it tracks and lost. */
static struct json_object *daemon_status(const struct bench_env *e,
					 const struct mem_world *w)
{
	struct json_object *st, *r = json_object_new_object(), *v;
	static const char *const keys[] = {
		"procs_known", "procs_tracked", "events", "dropped",
		"table_full",
	};
	size_t i;

	if (run_cmd("'%s/exfilctl' --socket '%s' status --json > '%s'",
		    e->build, w->sock, w->status))
		return r;
	st = json_object_from_file(w->status);
	for (i = 0; st && i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_object_get_ex(st, keys[i], &v))
			json_object_object_add(r, keys[i], json_object_get(v));
	json_object_put(st);
	return r;
}

static double num(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
		json_object_get_double(v) : -1;
}

int bench_memory(const struct bench_env *e, struct json_object *out)
{
	int nr_procs = e->quick ? MEM_PROCS_QUICK : MEM_PROCS;
	struct mem_world w = { .hold_w = -1 };
	struct json_object *idle = NULL, *busy = NULL, *after = NULL;
	struct json_object *val;
	uint64_t t0;
	int ret;

	w.nr_files = e->quick ? MEM_FILES_QUICK : MEM_FILES;
	w.kids = calloc(nr_procs, sizeof(*w.kids));
	w.ready = mmap(NULL, sizeof(*w.ready), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!w.kids || w.ready == MAP_FAILED) {
		w.ready = NULL;
		ret = -ENOMEM;
		goto out;
	}
	ret = world_up(e, &w, MEM_SENSOR_CONF);
	if (ret) {
		fprintf(stderr, "memory: failed to start the daemon: %s\n",
			strerror(-ret));
		goto out;
	}
	await_quiet(&w);
	idle = snapshot(&w);
	t0 = mono_ns();
	ret = kids_start(&w, nr_procs);
	if (ret)
		goto out;
	json_object_object_add(out, "fork_s",
			       json_object_new_double((mono_ns() - t0) / 1e9));
	await_quiet(&w);
	busy = snapshot(&w);
	json_object_object_add(busy, "daemon", daemon_status(e, &w));
	kids_release(&w);
	/* exits are collected on the daemon's one-second tick */
	sleep(2);
	await_quiet(&w);
	after = snapshot(&w);
	json_object_object_add(out, "procs", json_object_new_int(nr_procs));
	json_object_object_add(out, "files", json_object_new_int(w.nr_files));
	json_object_object_add(out, "sensor_config",
			       json_object_new_string(MEM_SENSOR_CONF));
	val = json_object_new_object();
	json_object_object_add(val, "rss_mib",
			       json_object_new_double(num(busy, "rss_mib")));
	json_object_object_add(val, "maps_mib",
			       json_object_new_double(num(busy, "maps_mib")));
	json_object_object_add(out, "values", val);
	json_object_object_add(out, "value",
			       json_object_new_double(num(busy, "rss_mib")));
	json_object_object_add(out, "value2",
			       json_object_new_double(num(busy, "maps_mib")));
	json_object_object_add(out, "unit", json_object_new_string("MiB"));
	json_object_object_add(out, "hwm_mib",
			       json_object_new_double(num(after, "hwm_mib")));
	json_object_object_add(out, "idle", idle);
	json_object_object_add(out, "loaded", busy);
	json_object_object_add(out, "after_exit", after);
	idle = busy = after = NULL;
	ret = 0;
out:
	json_object_put(idle);
	json_object_put(busy);
	json_object_put(after);
	world_down(&w);
	if (w.ready)
		munmap(w.ready, sizeof(*w.ready));
	free(w.kids);
	return ret;
}
