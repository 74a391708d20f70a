// SPDX-License-Identifier: GPL-2.0-only
/*
 * Floods and map pressure (docs/stress.md), on the eBPF sensor loaded by the
 * real exfilmond. Generator processes hammer the kernel with watched reads,
 * sends to a test host, fork/exit storms and short loopback connections,
 * and record what they really did in shared memory; the test then holds the
 * sensor's tables (read from the daemon's own maps) and the daemon's alerts
 * against that ground truth, byte for byte. A theft hidden in the flood must
 * be alerted with its exact totals, and tables too small for the load must
 * refuse and count, never lose bytes silently.
 *
 * EXFILMON_STRESS_SECONDS: how long the flood lasts (5 s by default; `make
 * stress` runs 60 s). EXFILMON_STRESS_MIN_RATE: the syscalls per second the
 * generators must reach (0 by default: only reported, since `make check`
 * shares the machine with whatever else runs).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kselftest_harness.h"
#include "customers.h"
#include "daemon_run.h"
#include "testhost.h"
#include "exfilmon_abi.h"

EXFILMON_ABI_ASSERTS;

#define DB_BYTES	(3 << 20)
#define NR_WORKERS	4		/* watched readers that send */
#define NR_THIEVES	6		/* the theft, in slices, one per child */
#define CHUNK		64		/* bytes per watched pread() */
#define UDP_PORT	9001
#define TCP_PORT	9002
#define THEFT_PORT	443
#define HOST_IN		41		/* internal test host (ours: 40 + 1) */
#define HOST_OUT	42		/* the thief's destination */
#define NR_READERS	100		/* map pressure: tainted processes */
#define NR_DESTS	100		/* map pressure: destinations */
#define SMALL_TABLE	64		/* the smallest table [sensor] takes */

/* What one generator process really did. */
struct gen {
	int32_t pid;
	int32_t done;		/* it did its work: the counters are final */
	int32_t go;		/* map pressure: the test says: send now */
	int32_t sent;		/* map pressure: it sent */
	int32_t reaped;
	int32_t pad;
	uint64_t calls;		/* syscalls made */
	uint64_t reads;		/* watched pread() calls that returned > 0 */
	uint64_t read_bytes;	/* watched bytes read */
	uint64_t udp_bytes;	/* sent to HOST_IN UDP_PORT */
	uint64_t udp_ops;
	uint64_t tcp_bytes;	/* sent to HOST_IN TCP_PORT, or the theft */
	uint64_t tcp_ops;
	uint64_t failed;	/* calls that failed where they must not */
	uint64_t cpu_us;	/* its CPU time and its children's */
};

/* the other generators, in churn[] */
enum {
	G_FORK, G_TFORK, G_CONN, G_ACCEPT, G_UNWATCHED, G_THIEF, G_ANNOUNCE,
	G_NR
};

static const char *const gen_names[G_NR] = {
	[G_FORK] = "fork", [G_TFORK] = "tainted-fork", [G_CONN] = "connect",
	[G_ACCEPT] = "accept", [G_UNWATCHED] = "unwatched",
	[G_THIEF] = "thief", [G_ANNOUNCE] = "announcer",
};

/* the announcer: first sends to this many destinations, twice over */
#define NR_ANNOUNCE	2048
#define ANNOUNCE_PORT	30000

/* Shared by the test and every generator (MAP_SHARED, set before fork). */
struct flood {
	int32_t stop;		/* the test says: stop generating */
	int32_t release;	/* the test has read the tables: exit */
	int32_t theft;		/* the test says: steal now */
	int32_t pad;
	long db_size;
	char db[128];
	char other[128];	/* an unwatched file */
	struct sockaddr_in in_udp, in_tcp, out_tcp;
	uint16_t lo_port;	/* loopback listener for short connections */
	struct gen workers[NR_WORKERS];
	struct gen thieves[NR_THIEVES];
	struct gen churn[G_NR];
	struct gen readers[NR_READERS];
};

/*
 * The figures, on stderr: the harness runs each test in a child that ends
 * with _exit(), which would lose buffered stdout.
 */
#define report(fmt, ...) fprintf(stderr, "# " fmt, ##__VA_ARGS__)

#define report_gen(g, name) \
	fprintf(stderr, " %s %llu/%.2f", name, \
		(unsigned long long)(g)->calls, (g)->cpu_us / 1e6)

static int flag(const int32_t *f)
{
	return __atomic_load_n(f, __ATOMIC_ACQUIRE);
}

static void set_flag(int32_t *f)
{
	__atomic_store_n(f, 1, __ATOMIC_RELEASE);
}

static void publish(uint64_t *dst, uint64_t v)
{
	__atomic_store_n(dst, v, __ATOMIC_RELAXED);
}

static uint64_t rusage_us(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru))
		return 0;
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000ull +
	       ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* A generator that is done stays alive (tracked) until released. */
static void __attribute__((noreturn)) finish(struct flood *f, struct gen *g)
{
	g->cpu_us = rusage_us(RUSAGE_SELF) + rusage_us(RUSAGE_CHILDREN);
	set_flag(&g->done);
	while (!flag(&f->release))
		usleep(10000);
	_exit(0);
}

/*
 * Watched reads in 64-byte pread()s, a UDP datagram to the internal host
 * every 32 of them and a TCP write every 2048: the sensor counts each read
 * and send in its (process, file) and (process, destination) tables.
 */
static void worker(struct flood *f, struct gen *g, int i)
{
	int fd = open(f->db, O_RDONLY), us = socket(AF_INET, SOCK_DGRAM, 0);
	int ts = socket(AF_INET, SOCK_STREAM, 0);
	uint64_t calls = 3, iter;
	off_t off = (off_t)i * 4096 % f->db_size;
	char buf[CHUNK];
	ssize_t n;
	int k;

	memset(buf, 'w', sizeof(buf));
	calls++;
	if (fd < 0 || us < 0 || ts < 0 ||
	    connect(ts, (void *)&f->in_tcp, sizeof(f->in_tcp))) {
		g->failed++;
		finish(f, g);
	}
	for (iter = 0; !flag(&f->stop); iter++) {
		for (k = 0; k < 32; k++) {
			n = pread(fd, buf, CHUNK, off);
			if (n <= 0) {
				g->failed++;
				continue;
			}
			g->reads++;
			g->read_bytes += n;
			off += n;
			if (off >= f->db_size)
				off = 0;
		}
		n = sendto(us, buf, CHUNK, 0, (void *)&f->in_udp,
			   sizeof(f->in_udp));
		if (n > 0) {
			g->udp_bytes += n;
			g->udp_ops++;
		}
		calls += 33;
		if (!(iter & 63)) {
			n = write(ts, buf, CHUNK);
			if (n > 0) {
				g->tcp_bytes += n;
				g->tcp_ops++;
			} else {
				g->failed++;
			}
			calls++;
		}
		if (!(iter & 255))
			publish(&g->calls, calls);
	}
	close(ts);	/* the sink counts until every connection ends */
	publish(&g->calls, calls + 1);
	finish(f, g);
}

/*
 * fork/exit/wait as fast as it goes. Tainted (after one watched read), the
 * children inherit the taint and enter the procs table, and the daemon
 * must collect every one of them after it exits.
 */
static void forker(struct flood *f, struct gen *g, int tainted)
{
	uint64_t calls = 0;
	char buf[4096];
	int status;
	pid_t pid;

	if (tainted) {
		int fd = open(f->db, O_RDONLY);
		ssize_t n = fd < 0 ? -1 : pread(fd, buf, sizeof(buf), 0);

		if (n != sizeof(buf))
			g->failed++;
		else
			g->read_bytes = n, g->reads = 1;
		calls += 3;
		close(fd);
	}
	while (!flag(&f->stop)) {
		pid = fork();
		if (!pid)
			_exit(0);
		if (pid < 0 || waitpid(pid, &status, 0) != pid)
			g->failed++;
		calls += 3;	/* fork, exit, wait */
		if (!(calls & 255))
			publish(&g->calls, calls);
	}
	publish(&g->calls, calls);
	finish(f, g);
}

/* Short TCP connections to loopback, reset on close (no TIME_WAIT). */
static void connector(struct flood *f, struct gen *g)
{
	struct sockaddr_in lo = { .sin_family = AF_INET,
				  .sin_port = htons(f->lo_port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct linger li = { .l_onoff = 1, .l_linger = 0 };
	uint64_t calls = 0;
	int fd;

	while (!flag(&f->stop)) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_LINGER, &li, sizeof(li)) ||
		    connect(fd, (void *)&lo, sizeof(lo)))
			g->failed++;
		if (fd >= 0)
			close(fd);
		calls += 4;
		if (!(calls & 255))
			publish(&g->calls, calls);
	}
	publish(&g->calls, calls);
	finish(f, g);
}

static void acceptor(struct flood *f, struct gen *g, int lfd)
{
	uint64_t calls = 0;
	int fd;

	/* non-blocking: it must notice stop with no connection coming */
	fcntl(lfd, F_SETFL, O_NONBLOCK);
	while (!flag(&f->stop)) {
		fd = accept(lfd, NULL, NULL);
		calls++;
		if (fd >= 0) {
			close(fd);
			calls++;
		} else if (errno == EAGAIN) {
			usleep(100);
		}
		if (!(calls & 255))
			publish(&g->calls, calls);
	}
	publish(&g->calls, calls);
	finish(f, g);
}

/* The hot path for everything else: reads of a file nobody watches. */
static void unwatched(struct flood *f, struct gen *g)
{
	int fd = open(f->other, O_RDONLY);
	uint64_t calls = 1;
	char buf[CHUNK];

	if (fd < 0)
		g->failed++;
	while (fd >= 0 && !flag(&f->stop)) {
		if (pread(fd, buf, sizeof(buf), 0) != sizeof(buf))
			g->failed++;
		if (!(++calls & 1023))
			publish(&g->calls, calls);
	}
	publish(&g->calls, calls);
	finish(f, g);
}

/* One slice of the database, read in 4 KiB pread()s and uploaded. */
static void thief_child(struct flood *f, struct gen *g, int j)
{
	long from = f->db_size * j / NR_THIEVES;
	long to = f->db_size * (j + 1) / NR_THIEVES, got = 0;
	char *buf = malloc(to - from);
	int fd = open(f->db, O_RDONLY), s;
	ssize_t n;

	if (!buf || fd < 0)
		_exit(1);
	while (got < to - from) {
		n = pread(fd, buf + got, to - from - got < 4096 ?
			  to - from - got : 4096, from + got);
		if (n <= 0)
			_exit(2);
		got += n;
		g->reads++;
	}
	g->read_bytes = got;
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (void *)&f->out_tcp, sizeof(f->out_tcp)))
		_exit(3);
	for (got = 0; got < to - from; got += n) {
		n = write(s, buf + got, to - from - got);
		if (n <= 0)
			_exit(4);
		g->tcp_bytes += n;
		g->tcp_ops++;
	}
	close(s);
	g->pid = getpid();
	set_flag(&g->done);
	_exit(0);
}

/* The theft: NR_THIEVES short-lived children, one after the other. */
static void thief(struct flood *f, struct gen *g)
{
	int j, status;
	pid_t pid;

	while (!flag(&f->theft) && !flag(&f->stop))
		usleep(1000);
	if (!flag(&f->theft))
		finish(f, g);
	for (j = 0; j < NR_THIEVES; j++) {
		pid = fork();
		if (!pid)
			thief_child(f, &f->thieves[j], j);
		if (pid < 0 || waitpid(pid, &status, 0) != pid || status)
			g->failed++;
	}
	finish(f, g);
}

/*
 * Sends that each open a new (process, destination) counter: every one is
 * announced with a record (include/exfilmon_abi.h exfilmon_announce()), far
 * more than a 64 KiB ring holds while the daemon is stopped. Starts with
 * the theft; the second pass adds to counters the first one opened.
 */
static void announcer(struct flood *f, struct gen *g)
{
	int fd = open(f->db, O_RDONLY), s = socket(AF_INET, SOCK_DGRAM, 0);
	uint64_t calls = 3;
	char buf[256];
	int k;

	if (fd < 0 || s < 0 || pread(fd, buf, sizeof(buf), 0) != sizeof(buf))
		g->failed++;
	else
		g->read_bytes = sizeof(buf), g->reads = 1;
	while (!flag(&f->theft) && !flag(&f->stop))
		usleep(1000);
	for (k = 0; flag(&f->theft) && k < 2 * NR_ANNOUNCE; k++) {
		struct sockaddr_in to = f->in_udp;

		to.sin_port = htons(ANNOUNCE_PORT + k % NR_ANNOUNCE);
		if (sendto(s, buf, 1 + k % NR_ANNOUNCE % 200, 0, (void *)&to,
			   sizeof(to)) != 1 + k % NR_ANNOUNCE % 200)
			g->failed++;
		else
			g->udp_ops++, g->udp_bytes += 1 + k % NR_ANNOUNCE % 200;
		calls++;
	}
	publish(&g->calls, calls);
	finish(f, g);
}

static pid_t spawn(void (*fn)(struct flood *, struct gen *), struct flood *f,
		   struct gen *g)
{
	pid_t pid = fork();

	if (!pid)
		fn(f, g);	/* does not return */
	g->pid = pid;
	return pid;
}

static void do_fork(struct flood *f, struct gen *g) { forker(f, g, 0); }
static void do_tfork(struct flood *f, struct gen *g) { forker(f, g, 1); }

/* The daemon's maps, found through its own fds (/proc/PID/fdinfo). */
struct dmaps {
	int procs, reads, sends, stats;
};

static void dmaps_close(struct dmaps *m)
{
	int *fds[] = { &m->procs, &m->reads, &m->sends, &m->stats };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static int dmaps_open(pid_t daemon, struct dmaps *m)
{
	char path[96], line[128];
	struct dirent *de;
	DIR *dir;

	m->procs = m->reads = m->sends = m->stats = -1;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo", daemon);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info), id = 0;
		int fd, *slot = NULL;
		FILE *fi;

		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", daemon,
			 de->d_name);
		fi = fopen(path, "r");
		if (!fi)
			continue;
		while (fgets(line, sizeof(line), fi))
			if (sscanf(line, "map_id: %u", &id) == 1)
				break;
		fclose(fi);
		if (!id)
			continue;
		fd = bpf_map_get_fd_by_id(id);
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			if (!strcmp(info.name, "procs"))
				slot = &m->procs;
			else if (!strcmp(info.name, "reads"))
				slot = &m->reads;
			else if (!strcmp(info.name, "sends"))
				slot = &m->sends;
			else if (!strcmp(info.name, "stats"))
				slot = &m->stats;
		}
		if (slot && *slot < 0)
			*slot = fd;
		else
			close(fd);
	}
	closedir(dir);
	if (m->procs < 0 || m->reads < 0 || m->sends < 0 || m->stats < 0) {
		dmaps_close(m);
		return -ENOENT;
	}
	return 0;
}

/* Every entry of a hash map, key and value back to back; count in *nr. */
static void *map_dump(int fd, size_t ksz, size_t vsz, size_t *nr)
{
	char key[64], next[64];
	size_t cap = 1024, n = 0;
	char *out = malloc(cap * (ksz + vsz)), *tmp;
	void *prev = NULL;

	while (out && !bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, ksz);
		prev = key;
		if (n == cap) {
			tmp = realloc(out, (cap *= 2) * (ksz + vsz));
			if (!tmp) {
				free(out);
				return NULL;
			}
			out = tmp;
		}
		memcpy(out + n * (ksz + vsz), key, ksz);
		/* deleted by the daemon in between: skip it */
		if (!bpf_map_lookup_elem(fd, key, out + n * (ksz + vsz) + ksz))
			n++;
	}
	*nr = n;
	return out;
}

static int sensor_stats(int fd, uint64_t st[EXFILMON_STAT_NR])
{
	int ncpu = libbpf_num_possible_cpus(), c;
	uint64_t *v = calloc(ncpu > 0 ? ncpu : 1, sizeof(*v));
	__u32 i;

	if (!v || ncpu <= 0) {
		free(v);
		return -ENOMEM;
	}
	for (i = 0; i < EXFILMON_STAT_NR; i++) {
		st[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, v)) {
			free(v);
			return -errno;
		}
		for (c = 0; c < ncpu; c++)
			st[i] += v[c];
	}
	free(v);
	return 0;
}

static const struct exfilmon_proc *proc_of(const struct exfilmon_proc_entry *e,
					   size_t nr, pid_t pid)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (e[i].key.tgid == (__u32)pid &&
		    !(e[i].val.flags & EXFILMON_PROC_EXITED))
			return &e[i].val;
	return NULL;
}

static const struct exfilmon_count *
send_of(const struct exfilmon_send_entry *e, size_t nr, pid_t pid,
	const struct sockaddr_in *to, uint8_t proto)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (e[i].key.proc.tgid == (__u32)pid &&
		    e[i].key.dest.family == EXFILMON_AF_INET &&
		    e[i].key.dest.proto == proto &&
		    e[i].key.dest.port == ntohs(to->sin_port) &&
		    !memcmp(e[i].key.dest.addr, &to->sin_addr, 4))
			return &e[i].val;
	return NULL;
}

/* utime + stime of a process, in clock ticks */
static uint64_t cpu_ticks(pid_t pid)
{
	unsigned long long ut = 0, st = 0;
	char path[64], buf[1024], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;	/* comm may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%llu %llu", &ut, &st) != 2)
		return 0;
	return ut + st;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 10) : def;
}

static int64_t num(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ?
		json_object_get_int64(v) : -1;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ?
		json_object_get_string(v) : "";
}

/* Reap the generators in g[0..n) not reaped yet: how many failed. */
static int reap(struct gen *g, int n)
{
	int i, status, bad = 0;

	for (i = 0; i < n; i++) {
		if (g[i].pid <= 0 || g[i].reaped)
			continue;
		if (waitpid(g[i].pid, &status, 0) != g[i].pid || status)
			bad++;
		g[i].reaped = 1;
	}
	return bad;
}

struct world {
	char dir[64];
	char conf[128];
	char sock[128];
	char log[128];
	struct testhost in, out;
	pid_t daemon;
	struct flood *f;
};

static int world_up(struct __test_metadata *_metadata, struct world *w,
		    const char *sensor_conf)
{
	char conf[2048];
	int fd;

	w->daemon = -1;
	if (geteuid())
		SKIP(return 1, "exfilmond needs root");
	/* the tables are read through the daemon's BPF maps */
	if (strcmp(sensor_under_test(), "bpf"))
		SKIP(return 1, "the %s sensor's tables are not BPF maps; the "
		     "flood runs on the eBPF sensor", sensor_under_test());
	w->f = mmap(NULL, sizeof(*w->f), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (w->f == MAP_FAILED)
		return -1;
	memset(w->f, 0, sizeof(*w->f));
	strcpy(w->dir, "/tmp/exfilmon-stress-XXXXXX");
	if (!mkdtemp(w->dir) || chmod(w->dir, 0755))
		return -1;
	snprintf(w->f->db, sizeof(w->f->db), "%s/customers.csv", w->dir);
	snprintf(w->f->other, sizeof(w->f->other), "%s/unwatched", w->dir);
	snprintf(w->conf, sizeof(w->conf), "%s/exfilmon.conf", w->dir);
	snprintf(w->sock, sizeof(w->sock), "%s/exfilmon.sock", w->dir);
	snprintf(w->log, sizeof(w->log), "%s/exfilmond.log", w->dir);
	w->f->db_size = customers_write(w->f->db, DB_BYTES);
	if (w->f->db_size < 0 || write_file(w->f->other, "not watched, "
					     "just some bytes to read over and "
					     "over again in a loop\n"))
		return -1;
	snprintf(conf, sizeof(conf),
		 "[watch]\npath = %s\n\n"
		 "[correlation]\nread_threshold = 1M\nsend_threshold = 256K\n"
		 "window = 1h\n\n"
		 "[network]\ninternal = 198.18.%d.0/24, 2001:db8:%x::/48\n\n"
		 "[daemon]\nstate_dir = %s/state\nsocket = %s\n"
		 "group = exfilmon-test-nonexistent\n\n%s",
		 w->f->db, HOST_IN, HOST_IN, w->dir, w->sock, sensor_conf);
	if (write_file(w->conf, conf))
		return -1;
	if (testhost_create(&w->in, HOST_IN))
		return -1;
	if (testhost_create(&w->out, HOST_OUT))
		return -1;
	w->f->in_udp.sin_family = w->f->in_tcp.sin_family = AF_INET;
	w->f->out_tcp.sin_family = AF_INET;
	w->f->in_udp.sin_port = htons(UDP_PORT);
	w->f->in_tcp.sin_port = htons(TCP_PORT);
	w->f->out_tcp.sin_port = htons(THEFT_PORT);
	inet_pton(AF_INET, w->in.remote4, &w->f->in_udp.sin_addr);
	inet_pton(AF_INET, w->in.remote4, &w->f->in_tcp.sin_addr);
	inet_pton(AF_INET, w->out.remote4, &w->f->out_tcp.sin_addr);
	w->daemon = daemon_start(w->conf, w->sock, w->log);
	if (w->daemon < 0) {
		run("cat %s >&2", w->log);
		return -1;
	}
	/* a file nobody watches must exist to be read */
	fd = open(w->f->other, O_RDONLY);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static void world_down(struct world *w)
{
	/* every generator is our child: reap them before the daemon goes */
	if (w->f && w->f != MAP_FAILED) {
		set_flag(&w->f->stop);
		set_flag(&w->f->release);
		reap(w->f->workers, NR_WORKERS);
		reap(w->f->churn, G_NR);
		reap(w->f->readers, NR_READERS);
	}
	if (w->daemon > 0) {
		/* a test that failed while the daemon was stopped */
		kill(w->daemon, SIGCONT);
		daemon_stop(w->daemon);
	}
	testhost_destroy(&w->out);
	testhost_destroy(&w->in);
	if (w->dir[0])
		run("rm -rf %s", w->dir);
	if (w->f && w->f != MAP_FAILED)
		munmap(w->f, sizeof(*w->f));
}

/* Wait (up to secs) for every generator in g[0..n) to say it is done. */
static int all_done(struct gen *g, int n, int secs)
{
	int i, t;

	for (t = 0; t < secs * 100; t++) {
		for (i = 0; i < n && flag(&g[i].done); i++)
			;
		if (i == n)
			return 1;
		usleep(10000);
	}
	return 0;
}

/* Wait up to 10 s for the daemon's log to hold text. */
static int logged(const char *log, const char *text)
{
	char buf[1 << 16];
	int i, fd;
	ssize_t n;

	for (i = 0; i < 100; i++) {
		fd = open(log, O_RDONLY);
		n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = '\0';
			if (strstr(buf, text))
				return 1;
		}
		usleep(100000);
	}
	return 0;
}

FIXTURE(flood) {
	struct world w;
};

/*
 * keeps_up: the daemon as configured by default. stalled: a 64 KiB ring,
 * and the daemon stopped (SIGSTOP) for the middle 60 % of the flood, theft
 * included: the ring overflows, and the daemon must say so and make up
 * from the tables.
 */
FIXTURE_VARIANT(flood) {
	const char *sensor_conf;
	int stall;
};

FIXTURE_VARIANT_ADD(flood, keeps_up) { .sensor_conf = "", .stall = 0 };
FIXTURE_VARIANT_ADD(flood, stalled) {
	.sensor_conf = "[sensor]\nring_kib = 64\n", .stall = 1
};

FIXTURE_SETUP(flood)
{
	int ret;

	memset(&self->w, 0, sizeof(self->w));
	ret = world_up(_metadata, &self->w, variant->sensor_conf);
	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(flood)
{
	world_down(&self->w);
}

/*
 * The flood, and in it the theft. The generators are alive while their
 * counters are compared (the daemon forgets a process once it exited);
 * the thieves exit at once, so their bytes are checked in the alert.
 */
TEST_F_TIMEOUT(flood, counters_exact_and_theft_alerted_under_a_flood, 600)
{
	static const char *const status_args[] = { "status", NULL };
	static const char *const alerts_args[] = { "alerts", NULL };
	struct world *w = &self->w;
	struct flood *f = w->f;
	long secs = env_long("EXFILMON_STRESS_SECONDS", 5);
	long min_rate = env_long("EXFILMON_STRESS_MIN_RATE", 0);
	uint64_t st[EXFILMON_STAT_NR], calls = 0, watched_calls = 0;
	uint64_t send_calls = 0, tcp_sum = 0, stolen = 0, cpu0, cpu1;
	uint64_t gen_cpu_us = 0;
	struct exfilmon_proc_entry *procs;
	struct exfilmon_send_entry *sends;
	struct exfilmon_read_entry *reads;
	struct json_object *status, *full, *arr = NULL, *a = NULL;
	size_t nprocs, nsends, nreads, r;
	struct sockaddr_in lo = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t lolen = sizeof(lo);
	struct sink in_sink, out_sink;
	double t0, t1, hz = sysconf(_SC_CLK_TCK);
	struct dmaps m;
	int i, lfd, exited;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, dmaps_open(w->daemon, &m));
	ASSERT_EQ(0, sink_start_many(&w->in, AF_INET, SOCK_STREAM, TCP_PORT,
				     NR_WORKERS, 0, &in_sink));
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, bind(lfd, (void *)&lo, sizeof(lo)));
	ASSERT_EQ(0, listen(lfd, 4096));
	ASSERT_EQ(0, getsockname(lfd, (void *)&lo, &lolen));
	f->lo_port = ntohs(lo.sin_port);

	cpu0 = cpu_ticks(w->daemon);
	t0 = now_s();
	for (i = 0; i < NR_WORKERS; i++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (!pid)
			worker(f, &f->workers[i], i);
		f->workers[i].pid = pid;
	}
	ASSERT_LT(0, spawn(do_fork, f, &f->churn[G_FORK]));
	ASSERT_LT(0, spawn(do_tfork, f, &f->churn[G_TFORK]));
	ASSERT_LT(0, spawn(unwatched, f, &f->churn[G_UNWATCHED]));
	ASSERT_LT(0, spawn(connector, f, &f->churn[G_CONN]));
	i = fork();
	ASSERT_LE(0, i);
	if (!i)
		acceptor(f, &f->churn[G_ACCEPT], lfd);
	f->churn[G_ACCEPT].pid = i;
	close(lfd);
	ASSERT_LT(0, spawn(thief, f, &f->churn[G_THIEF]));
	ASSERT_LT(0, spawn(announcer, f, &f->churn[G_ANNOUNCE]));

	/* the theft in the middle of the flood, while the daemon stalls */
	usleep(secs * 200000);
	if (variant->stall)
		ASSERT_EQ(0, kill(w->daemon, SIGSTOP));
	usleep(secs * 300000);
	/* a sink gives up 30 s after it starts with nothing received */
	ASSERT_EQ(0, sink_start_many(&w->out, AF_INET, SOCK_STREAM, THEFT_PORT,
				     NR_THIEVES, 0, &out_sink));
	set_flag(&f->theft);
	usleep(secs * 300000);
	if (variant->stall)
		ASSERT_EQ(0, kill(w->daemon, SIGCONT));
	usleep(secs * 200000);
	set_flag(&f->stop);
	t1 = now_s();
	ASSERT_TRUE(all_done(f->workers, NR_WORKERS, 30));
	ASSERT_TRUE(all_done(f->churn, G_NR, 60));
	cpu1 = cpu_ticks(w->daemon);

	for (i = 0; i < NR_WORKERS; i++) {
		struct gen *g = &f->workers[i];

		EXPECT_EQ(0, g->failed);
		calls += g->calls;
		watched_calls += g->reads;
		send_calls += g->udp_ops + g->tcp_ops;
		tcp_sum += g->tcp_bytes;
		gen_cpu_us += g->cpu_us;
	}
	report("flood: per generator, syscalls and CPU s:");
	for (i = 0; i < NR_WORKERS; i++)
		report_gen(&f->workers[i], "worker");
	for (i = 0; i < G_NR; i++)
		report_gen(&f->churn[i], gen_names[i]);
	fprintf(stderr, "\n");
	for (i = 0; i < G_NR; i++) {
		EXPECT_EQ(0, f->churn[i].failed) TH_LOG("churn %d failed", i);
		calls += f->churn[i].calls;
		gen_cpu_us += f->churn[i].cpu_us;
	}
	for (i = 0; i < NR_THIEVES; i++) {
		EXPECT_TRUE(flag(&f->thieves[i].done));
		stolen += f->thieves[i].tcp_bytes;
		/* open, socket, connect, close, exit; and the fork and wait */
		calls += f->thieves[i].reads + f->thieves[i].tcp_ops + 7;
	}
	report("flood: %.1f s, %llu syscalls, %.0f/s: %llu watched "
		       "reads, %llu sends, %llu unwatched reads, %llu+%llu "
		       "fork/exit/wait, %llu+%llu connect/accept calls\n",
		       t1 - t0, (unsigned long long)calls,
		       calls / (t1 - t0), (unsigned long long)watched_calls,
		       (unsigned long long)send_calls,
		       (unsigned long long)f->churn[G_UNWATCHED].calls,
		       (unsigned long long)f->churn[G_FORK].calls,
		       (unsigned long long)f->churn[G_TFORK].calls,
		       (unsigned long long)f->churn[G_CONN].calls,
		       (unsigned long long)f->churn[G_ACCEPT].calls);
	/* on a shared machine the wall rate says little alone */
	report("flood: the generators had %.2f CPU s of the %.1f s x %ld "
	       "cores: %.0f syscalls per CPU second\n", gen_cpu_us / 1e6,
	       t1 - t0, sysconf(_SC_NPROCESSORS_ONLN),
	       calls / (gen_cpu_us / 1e6 + 1e-9));
	report("flood: daemon CPU %.2f s over %.1f s (%.1f %% of one "
		       "core)\n", (cpu1 - cpu0) / hz, t1 - t0,
		       100.0 * (cpu1 - cpu0) / hz / (t1 - t0));
	if (min_rate)
		EXPECT_LE(min_rate, calls / (t1 - t0));

	/* the kernel's counters, while every worker is alive and tracked */
	procs = map_dump(m.procs, sizeof(procs->key), sizeof(procs->val),
			 &nprocs);
	reads = map_dump(m.reads, sizeof(reads->key), sizeof(reads->val),
			 &nreads);
	sends = map_dump(m.sends, sizeof(sends->key), sizeof(sends->val),
			 &nsends);
	ASSERT_NE(NULL, procs);
	ASSERT_NE(NULL, reads);
	ASSERT_NE(NULL, sends);
	for (i = 0; i < NR_WORKERS; i++) {
		struct gen *g = &f->workers[i];
		const struct exfilmon_proc *p = proc_of(procs, nprocs, g->pid);
		const struct exfilmon_count *c;
		int nr_reads = 0;

		ASSERT_NE(NULL, p) TH_LOG("worker %d not tracked", g->pid);
		EXPECT_EQ(g->read_bytes, p->bytes_read);
		EXPECT_EQ(g->udp_bytes + g->tcp_bytes, p->bytes_sent);
		for (r = 0; r < nreads; r++) {
			if (reads[r].key.proc.tgid != (__u32)g->pid)
				continue;
			nr_reads++;
			EXPECT_EQ(g->read_bytes, reads[r].val.bytes);
			EXPECT_EQ(g->reads, reads[r].val.ops);
		}
		EXPECT_EQ(1, nr_reads);
		c = send_of(sends, nsends, g->pid, &f->in_udp,
			    EXFILMON_PROTO_UDP);
		ASSERT_NE(NULL, c);
		EXPECT_EQ(g->udp_bytes, c->bytes);
		EXPECT_EQ(g->udp_ops, c->ops);
		c = send_of(sends, nsends, g->pid, &f->in_tcp,
			    EXFILMON_PROTO_TCP);
		ASSERT_NE(NULL, c);
		EXPECT_EQ(g->tcp_bytes, c->bytes);
		EXPECT_EQ(g->tcp_ops, c->ops);
		report("worker %d: read %llu B in %llu preads, sent "
			       "%llu B UDP + %llu B TCP: kernel %llu/%llu B\n",
			       g->pid, (unsigned long long)g->read_bytes,
			       (unsigned long long)g->reads,
			       (unsigned long long)g->udp_bytes,
			       (unsigned long long)g->tcp_bytes,
			       (unsigned long long)p->bytes_read,
			       (unsigned long long)p->bytes_sent);
	}
	{
		const struct exfilmon_proc *p =
			proc_of(procs, nprocs, f->churn[G_TFORK].pid);

		ASSERT_NE(NULL, p);
		EXPECT_EQ(f->churn[G_TFORK].read_bytes, p->bytes_read);
		EXPECT_EQ(0, p->bytes_sent);
		/* the untainted generators were never tracked */
		EXPECT_EQ(NULL, proc_of(procs, nprocs, f->churn[G_FORK].pid));
		EXPECT_EQ(NULL, proc_of(procs, nprocs, f->churn[G_CONN].pid));
		EXPECT_EQ(NULL, proc_of(procs, nprocs,
					f->churn[G_UNWATCHED].pid));
		p = proc_of(procs, nprocs, f->churn[G_ANNOUNCE].pid);
		ASSERT_NE(NULL, p);
		EXPECT_EQ(f->churn[G_ANNOUNCE].udp_bytes, p->bytes_sent);
		EXPECT_EQ(2 * NR_ANNOUNCE, f->churn[G_ANNOUNCE].udp_ops);
	}
	for (i = 0; i < NR_ANNOUNCE; i++) {
		struct sockaddr_in to = f->in_udp;
		const struct exfilmon_count *c;

		to.sin_port = htons(ANNOUNCE_PORT + i);
		c = send_of(sends, nsends, f->churn[G_ANNOUNCE].pid, &to,
			    EXFILMON_PROTO_UDP);
		ASSERT_NE(NULL, c);
		ASSERT_EQ(2 * (1 + i % 200), c->bytes);
		ASSERT_EQ(2, c->ops);
	}
	free(procs);
	free(reads);
	free(sends);

	/* the daemon kept up, or says what it dropped */
	ASSERT_EQ(0, sensor_stats(m.stats, st));
	status = ctl_json(w->sock, status_args);
	ASSERT_NE(NULL, status);
	ASSERT_TRUE(json_object_object_get_ex(status, "table_full", &full));
	EXPECT_EQ(st[EXFILMON_STAT_DROPPED], num(status, "dropped"));
	EXPECT_EQ(0, num(status, "lost_read_bytes"));
	EXPECT_EQ(0, num(status, "lost_send_bytes"));
	EXPECT_EQ(0, num(full, "procs"));
	EXPECT_EQ(0, num(full, "reads"));
	EXPECT_EQ(0, num(full, "sends"));
	report("flood: %llu records delivered, %llu dropped (ring "
		       "full); status says %lld dropped\n",
		       (unsigned long long)st[EXFILMON_STAT_EVENTS],
		       (unsigned long long)st[EXFILMON_STAT_DROPPED],
		       (long long)num(status, "dropped"));
	json_object_put(status);
	if (variant->stall) {
		/* the variant must have overflowed the ring to mean anything */
		EXPECT_LT(0, st[EXFILMON_STAT_DROPPED]);
		EXPECT_TRUE(logged(w->log, "sensor dropped"));
	}

	/* what the hosts received is what the generators say they sent */
	set_flag(&f->release);
	EXPECT_EQ(0, reap(f->workers, NR_WORKERS));
	EXPECT_EQ(0, reap(f->churn, G_NR));
	EXPECT_EQ((int64_t)tcp_sum, sink_wait(&in_sink));
	EXPECT_EQ((int64_t)f->db_size, sink_wait(&out_sink));
	EXPECT_EQ(f->db_size, stolen);

	/* the thieves are gone and forgotten: the alert holds their bytes */
	for (i = 0; i < 200; i++) {
		json_object_put(arr);
		arr = ctl_json(w->sock, alerts_args);
		a = arr && json_object_array_length(arr) == 1 ?
			json_object_array_get_idx(arr, 0) : NULL;
		if (a && num(a, "bytes_sent") == f->db_size &&
		    num(a, "bytes_read") == f->db_size)
			break;
		usleep(100000);
	}
	ASSERT_NE(NULL, arr);
	ASSERT_EQ(1, json_object_array_length(arr)) TH_LOG("one alert: the "
		 "theft; the flood went to an internal host");
	EXPECT_STREQ(w->out.remote4, str(a, "host"));
	EXPECT_EQ(f->db_size, num(a, "bytes_sent"));
	EXPECT_EQ(f->db_size, num(a, "bytes_read"));
	EXPECT_EQ(NR_THIEVES, num(a, "senders"));
	report("theft: %ld B stolen by %d processes; alert: read %lld "
		       "B, sent %lld B, %lld senders\n", f->db_size,
		       NR_THIEVES, (long long)num(a, "bytes_read"),
		       (long long)num(a, "bytes_sent"),
		       (long long)num(a, "senders"));
	json_object_put(arr);

	/* every tracked process exited: the daemon collects every entry */
	for (i = 0; i < 100; i++) {
		procs = map_dump(m.procs, sizeof(procs->key),
				 sizeof(procs->val), &nprocs);
		ASSERT_NE(NULL, procs);
		free(procs);
		if (!nprocs)
			break;
		usleep(100000);
	}
	exited = nprocs;
	EXPECT_EQ(0, exited) TH_LOG("%d process entries left behind", exited);
	dmaps_close(&m);
}

/*
 * Map pressure: tables of 64 entries, and more tainted processes and
 * destinations than that. A full table refuses the insert (the policy of
 * docs/stress.md: first come, first kept; no eviction) and counts it; the
 * bytes it could not attribute are counted as lost, to the byte; exfilctl
 * status shows both, and the daemon warns.
 */
FIXTURE(pressure) {
	struct world w;
};

FIXTURE_SETUP(pressure)
{
	char sensor[64];
	int ret;

	memset(&self->w, 0, sizeof(self->w));
	snprintf(sensor, sizeof(sensor),
		 "[sensor]\nmax_procs = %d\nmax_sends = %d\n", SMALL_TABLE,
		 SMALL_TABLE);
	ret = world_up(_metadata, &self->w, sensor);
	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(pressure)
{
	world_down(&self->w);
}

/*
 * Reader i reads i + 1 chunks of 1000 + i bytes of the database and waits;
 * told to (go), it sends 100 + j bytes to port 20000 + j of the internal
 * host, for j up to NR_DESTS.
 */
static void reader(struct flood *f, struct gen *g, int i)
{
	int fd = open(f->db, O_RDONLY), k, s;
	char buf[2048];
	ssize_t n;

	memset(buf, 'r', sizeof(buf));
	for (k = 0; fd >= 0 && k <= i; k++) {
		n = pread(fd, buf, 1000 + i, (off_t)k * 4096);
		if (n > 0) {
			g->read_bytes += n;
			g->reads++;
		} else {
			g->failed++;
		}
	}
	set_flag(&g->done);
	while (!flag(&g->go) && !flag(&f->release))
		usleep(10000);
	if (flag(&g->go)) {
		s = socket(AF_INET, SOCK_DGRAM, 0);
		for (k = 0; s >= 0 && k < NR_DESTS; k++) {
			struct sockaddr_in to = f->in_udp;

			to.sin_port = htons(20000 + k);
			n = sendto(s, buf, 100 + k, 0, (void *)&to, sizeof(to));
			if (n != 100 + k)
				g->failed++;
			else
				g->udp_bytes += n, g->udp_ops++;
		}
		set_flag(&g->sent);
	}
	while (!flag(&f->release))
		usleep(10000);
	_exit(0);
}

static pid_t spawn_reader(struct flood *f, struct gen *g, int i)
{
	pid_t pid = fork();

	if (!pid)
		reader(f, g, i);
	g->pid = pid;
	return pid;
}

TEST_F_TIMEOUT(pressure, full_tables_refuse_count_and_lose_nothing_silently,
	       120)
{
	static const char *const status_args[] = { "status", NULL };
	uint64_t st[EXFILMON_STAT_NR], lost_bytes = 0, lost_calls = 0;
	uint64_t kept_dest_bytes = 0, all_dest_bytes = 0;
	struct world *w = &self->w;
	struct flood *f = w->f;
	struct exfilmon_proc_entry *procs;
	struct exfilmon_send_entry *sends;
	struct json_object *status, *full;
	const struct exfilmon_proc *p;
	size_t nprocs, nsends;
	int i, j, tracked = 0, sender = -1, kept_dests = 0;
	struct dmaps m;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, dmaps_open(w->daemon, &m));
	for (i = 0; i < NR_READERS; i++)
		ASSERT_LT(0, spawn_reader(f, &f->readers[i], i));
	ASSERT_TRUE(all_done(f->readers, NR_READERS, 30));

	/* who got in is a race; that the rest is counted is not */
	procs = map_dump(m.procs, sizeof(procs->key), sizeof(procs->val),
			 &nprocs);
	ASSERT_NE(NULL, procs);
	for (i = 0; i < NR_READERS; i++) {
		struct gen *g = &f->readers[i];

		p = proc_of(procs, nprocs, g->pid);
		EXPECT_EQ(0, g->failed);
		EXPECT_EQ(i + 1, g->reads);
		if (p) {
			EXPECT_EQ(g->read_bytes, p->bytes_read);
			tracked++;
			if (sender < 0)
				sender = i;
		} else {
			lost_bytes += g->read_bytes;
			lost_calls += g->reads;
		}
	}
	free(procs);
	EXPECT_EQ(SMALL_TABLE, tracked);
	ASSERT_EQ(0, sensor_stats(m.stats, st));
	/* one refusal per read of an untracked reader: each one tried */
	EXPECT_EQ(lost_calls, st[EXFILMON_STAT_PROC_FULL]);
	EXPECT_EQ(lost_bytes, st[EXFILMON_STAT_LOST_READ_BYTES]);
	report("procs: %d of %d readers tracked; %llu reads refused, "
		       "%llu B lost (kernel: %llu refused, %llu B lost)\n",
		       tracked, NR_READERS, (unsigned long long)lost_calls,
		       (unsigned long long)lost_bytes,
		       (unsigned long long)st[EXFILMON_STAT_PROC_FULL],
		       (unsigned long long)st[EXFILMON_STAT_LOST_READ_BYTES]);

	/* one tracked reader, more destinations than the sends table holds */
	ASSERT_LE(0, sender);
	set_flag(&f->readers[sender].go);
	for (i = 0; i < 1000 && !flag(&f->readers[sender].sent); i++)
		usleep(10000);
	ASSERT_TRUE(flag(&f->readers[sender].sent));
	EXPECT_EQ(0, f->readers[sender].failed);
	sends = map_dump(m.sends, sizeof(sends->key), sizeof(sends->val),
			 &nsends);
	ASSERT_NE(NULL, sends);
	for (j = 0; j < NR_DESTS; j++) {
		struct sockaddr_in to = f->in_udp;
		const struct exfilmon_count *c;

		to.sin_port = htons(20000 + j);
		c = send_of(sends, nsends, f->readers[sender].pid, &to,
			    EXFILMON_PROTO_UDP);
		all_dest_bytes += 100 + j;
		if (c) {
			EXPECT_EQ(100 + j, c->bytes);
			kept_dests++;
			kept_dest_bytes += 100 + j;
		}
	}
	free(sends);
	EXPECT_EQ(f->readers[sender].udp_bytes, all_dest_bytes);
	EXPECT_EQ(SMALL_TABLE, kept_dests);
	EXPECT_EQ(SMALL_TABLE, nsends);
	ASSERT_EQ(0, sensor_stats(m.stats, st));
	EXPECT_EQ(NR_DESTS - kept_dests, st[EXFILMON_STAT_SEND_FULL]);
	EXPECT_EQ(all_dest_bytes - kept_dest_bytes,
		  st[EXFILMON_STAT_LOST_SEND_BYTES]);
	/* the process's own total has every byte, refused or not */
	procs = map_dump(m.procs, sizeof(procs->key), sizeof(procs->val),
			 &nprocs);
	ASSERT_NE(NULL, procs);
	p = proc_of(procs, nprocs, f->readers[sender].pid);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(all_dest_bytes, p->bytes_sent);
	free(procs);
	report("sends: %d of %d destinations kept; %llu refused, "
		       "%llu B lost (kernel: %llu, %llu B)\n", kept_dests,
		       NR_DESTS, (unsigned long long)(NR_DESTS - kept_dests),
		       (unsigned long long)(all_dest_bytes - kept_dest_bytes),
		       (unsigned long long)st[EXFILMON_STAT_SEND_FULL],
		       (unsigned long long)st[EXFILMON_STAT_LOST_SEND_BYTES]);

	/* exfilctl status says the same */
	status = ctl_json(w->sock, status_args);
	ASSERT_NE(NULL, status);
	ASSERT_TRUE(json_object_object_get_ex(status, "table_full", &full));
	EXPECT_EQ(lost_calls, num(full, "procs"));
	EXPECT_EQ(NR_DESTS - kept_dests, num(full, "sends"));
	EXPECT_EQ(lost_bytes, num(status, "lost_read_bytes"));
	EXPECT_EQ(all_dest_bytes - kept_dest_bytes,
		  num(status, "lost_send_bytes"));
	json_object_put(status);

	/* and the daemon warned of each */
	EXPECT_TRUE(logged(w->log, "process table full"));
	EXPECT_TRUE(logged(w->log, "watched bytes not counted"));
	EXPECT_TRUE(logged(w->log, "(process, destination) table full"));
	EXPECT_TRUE(logged(w->log, "sent bytes not counted"));

	/*
	 * Room comes back when the daemon collects the exited: a new reader
	 * is tracked again, and nothing more is refused.
	 */
	set_flag(&f->release);
	EXPECT_EQ(0, reap(f->readers, NR_READERS));
	for (i = 0; i < 100; i++) {
		procs = map_dump(m.procs, sizeof(procs->key),
				 sizeof(procs->val), &nprocs);
		ASSERT_NE(NULL, procs);
		free(procs);
		if (!nprocs)
			break;
		usleep(100000);
	}
	EXPECT_EQ(0, nprocs);
	__atomic_store_n(&f->release, 0, __ATOMIC_RELEASE);
	memset(&f->readers[0], 0, sizeof(f->readers[0]));
	ASSERT_LT(0, spawn_reader(f, &f->readers[0], 9));
	ASSERT_TRUE(all_done(f->readers, 1, 10));
	procs = map_dump(m.procs, sizeof(procs->key), sizeof(procs->val),
			 &nprocs);
	ASSERT_NE(NULL, procs);
	p = proc_of(procs, nprocs, f->readers[0].pid);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(f->readers[0].read_bytes, p->bytes_read);
	free(procs);
	ASSERT_EQ(0, sensor_stats(m.stats, st));
	EXPECT_EQ(lost_calls, st[EXFILMON_STAT_PROC_FULL]);
	set_flag(&f->release);
	EXPECT_EQ(0, reap(f->readers, 1));
	dmaps_close(&m);
}

TEST_HARNESS_MAIN
