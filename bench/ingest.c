// SPDX-License-Identifier: GPL-2.0-only
/*
 * P5, daemon ingest: how many sensor records one core of exfilmond takes in
 * per second. The stream is a real one: the sensor's records of a small
 * theft workload (process churn, a watched file read in 1 KiB chunks,
 * piped to a second process that sends it to the test host, a copy left
 * on disk), recorded once into BUILD/bench/fixtures and reused while the ABI
 * matches. The replay feeds them from memory, as fast as they go, through
 * the daemon's own record path (daemon_on_record(): process table,
 * correlator, flow graph, alerts into a real SQLite store) on one pinned
 * core, with no kernel in the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "bench.h"
#include "customers.h"
#include "daemon.h"

#define REC_MAGIC	"exfilmon-recs-1"
#define REC_FILE	"ingest.records"
#define DATA_FILE	"ingest-watched.csv"
#define COPY_FILE	"ingest-copy.csv"
#define DATA_BYTES	(256 << 10)
#define CHUNK		1024
#define ROUNDS		16	/* thefts per recording */
#define CHURN		64	/* short-lived processes per theft */
#define WATCH_ID	1	/* the replay's config has this one watch */
#define SEGMENTS	5	/* the rate is the median of these */

/*
 * The file: this header, then the records back to back as the sensor
 * delivered them. Any change of the ABI or of a record's size means a new
 * recording.
 */
struct rec_file {
	char magic[16];
	uint32_t abi_version;
	uint16_t sizes[6];	/* hdr, fork, exec, exit, io, derived */
	uint64_t nr;
	uint64_t bytes;
	char sensor[16];
};

static void rec_file_init(struct rec_file *f, const char *sensor)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->magic, REC_MAGIC, sizeof(REC_MAGIC));
	f->abi_version = EXFILMON_ABI_MAJOR << 16 | EXFILMON_ABI_MINOR;
	f->sizes[0] = sizeof(struct exfilmon_rec_hdr);
	f->sizes[1] = sizeof(struct exfilmon_rec_fork);
	f->sizes[2] = sizeof(struct exfilmon_rec_exec);
	f->sizes[3] = sizeof(struct exfilmon_rec_exit);
	f->sizes[4] = sizeof(struct exfilmon_rec_io);
	f->sizes[5] = sizeof(struct exfilmon_rec_derived);
	snprintf(f->sensor, sizeof(f->sensor), "%s", sensor);
}

struct recording {
	char *buf;
	size_t len, cap;
	uint64_t nr;
	/* the workload's processes: its root and whatever it forked */
	uint32_t *tree;
	size_t nr_tree, cap_tree;
	int err;
};

static int in_tree(const struct recording *r, uint32_t tgid)
{
	size_t i;

	for (i = 0; i < r->nr_tree; i++)
		if (r->tree[i] == tgid)
			return 1;
	return 0;
}

static int tree_add(struct recording *r, uint32_t tgid)
{
	uint32_t *n;

	if (r->nr_tree == r->cap_tree) {
		r->cap_tree = r->cap_tree ? 2 * r->cap_tree : 256;
		n = realloc(r->tree, r->cap_tree * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->tree = n;
	}
	r->tree[r->nr_tree++] = tgid;
	return 0;
}

/*
 * Keep the records of the workload's own processes: the sensor sees every
 * process on the machine, and what other users of this machine ran while
 * we recorded would make the stream differ from run to run.
 */
static int keep_record(void *ctx, const struct exfilmon_rec_hdr *h,
		       size_t len)
{
	const struct exfilmon_rec_fork *f = (const void *)h;
	struct recording *r = ctx;
	char *n;

	if (r->err)
		return 0;
	if (h->type == EXFILMON_REC_FORK && len >= sizeof(*f) &&
	    in_tree(r, f->parent.tgid) && !in_tree(r, h->proc.tgid))
		r->err = tree_add(r, h->proc.tgid);
	if (!in_tree(r, h->proc.tgid))
		return 0;
	if (r->len + len > r->cap) {
		r->cap = r->cap ? 2 * r->cap : 1 << 20;
		n = realloc(r->buf, r->cap);
		if (!n) {
			r->err = -ENOMEM;
			return 0;
		}
		r->buf = n;
	}
	memcpy(r->buf + r->len, h, len);
	r->len += len;
	r->nr++;
	return 0;
}

static void exec_true(void)
{
	execl("/bin/true", "true", (char *)NULL);
	_exit(127);
}

/* Read the watched file in chunks into the pipe and into a copy. */
static void reader(const char *data, const char *copy, int out)
{
	char buf[CHUNK];
	ssize_t n;
	int fd = open(data, O_RDONLY | O_CLOEXEC);
	int cfd = open(copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || cfd < 0)
		_exit(1);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (write(out, buf, n) != n || write(cfd, buf, n) != n)
			_exit(1);
	}
	_exit(n < 0);
}

/* Send what comes through the pipe to the test host, a datagram a chunk. */
static void sender(const struct bench_env *e, int in)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET,
		.sin_port = htons(e->udp_port),
	};
	char buf[CHUNK];
	ssize_t n;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0 || inet_pton(AF_INET, e->th.remote4, &to.sin_addr) != 1)
		_exit(1);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (sendto(s, buf, n, 0, (struct sockaddr *)&to,
			   sizeof(to)) != n)
			_exit(1);
	_exit(n < 0);
}

static int reap(pid_t pid)
{
	int st;

	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -1;
}

/* The recorded workload: the root of its own process tree. */
static int workload(const struct bench_env *e, const char *data,
		    const char *copy)
{
	int round, i, p[2];
	pid_t rd, sd, pid;

	for (round = 0; round < ROUNDS; round++) {
		for (i = 0; i < CHURN; i++) {
			pid = fork();
			if (!pid)
				exec_true();
			if (reap(pid))
				return 1;
		}
		if (pipe2(p, O_CLOEXEC))
			return 1;
		rd = fork();
		if (!rd) {
			close(p[0]);
			reader(data, copy, p[1]);
		}
		sd = fork();
		if (!sd) {
			close(p[1]);
			sender(e, p[0]);
		}
		close(p[0]);
		close(p[1]);
		if (reap(rd) | reap(sd))
			return 1;
	}
	return 0;
}

static const struct sensor_limits rec_limits = {
	.max_procs = 16384, .max_reads = 16384, .max_sends = 16384,
	.max_watch = 1024, .max_streams = 1024, .max_flows = 16384,
	.ring_kib = 16384,
};

/* Record the workload through the real sensor into path. */
static int record(const struct bench_env *e, const char *path,
		  const char *data, const char *copy)
{
	struct exfilmon_obj w = { .flags = EXFILMON_WATCH_FILE,
				  .watch_id = WATCH_ID };
	const char *kind = e->sensor ? e->sensor : "bpf";
	struct recording r = { 0 };
	struct exfilmon_file_key key;
	struct sensor *s = NULL;
	struct rec_file hdr;
	struct pollfd pfd;
	char err[1024];
	int ret, fd, done = 0;
	pid_t root;
	FILE *f;

	ret = sensor_open(&s, kind, &rec_limits, keep_record, &r, err,
			  sizeof(err));
	if (ret) {
		fprintf(stderr, "ingest: failed to open the %s sensor: %s\n",
			kind, err);
		return ret;
	}
	fd = open(data, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto out_sensor;
	}
	ret = s->ops->fd_key(s, fd, &key);
	close(fd);
	if (!ret)
		ret = s->ops->watch_add(s, &key, &w);
	if (ret) {
		fprintf(stderr, "ingest: failed to watch %s: %s\n", data,
			strerror(-ret));
		goto out_sensor;
	}
	root = fork();
	if (root < 0) {
		ret = -errno;
		goto out_sensor;
	}
	if (!root)
		_exit(workload(e, data, copy));
	ret = tree_add(&r, root);
	if (ret) {
		kill(root, SIGKILL);
		reap(root);
		goto out_sensor;
	}
	pfd.fd = s->ops->fd(s);
	pfd.events = POLLIN;
	while (!done) {
		int st;

		poll(&pfd, 1, 20);
		s->ops->poll(s);
		if (waitpid(root, &st, WNOHANG) == root) {
			done = 1;
			if (!WIFEXITED(st) || WEXITSTATUS(st)) {
				fprintf(stderr, "ingest: the recorded "
					"workload failed\n");
				ret = -EIO;
			}
		}
	}
	/* the root's exit record is in the ring before waitpid() returns */
	s->ops->poll(s);
	if (!ret)
		ret = r.err;
	if (ret)
		goto out_sensor;

	rec_file_init(&hdr, kind);
	hdr.nr = r.nr;
	hdr.bytes = r.len;
	f = fopen(path, "w");
	if (!f || fwrite(&hdr, sizeof(hdr), 1, f) != 1 ||
	    fwrite(r.buf, 1, r.len, f) != r.len) {
		ret = -errno;
		if (!ret)
			ret = -EIO;
	}
	if (f && fclose(f) && !ret)
		ret = -errno;
	if (ret) {
		fprintf(stderr, "ingest: failed to write %s: %s\n", path,
			strerror(-ret));
		unlink(path);
	}
out_sensor:
	sensor_close(s);
	free(r.buf);
	free(r.tree);
	return ret;
}

/* A recording made with this ABI, in memory; -ENOENT when there is none. */
static int load(const char *path, struct rec_file *hdr, char **buf)
{
	struct rec_file want;
	FILE *f = fopen(path, "r");
	int ret = 0;

	if (!f)
		return -errno;
	rec_file_init(&want, "");
	if (fread(hdr, sizeof(*hdr), 1, f) != 1 ||
	    memcmp(hdr->magic, want.magic, sizeof(want.magic)) ||
	    hdr->abi_version != want.abi_version ||
	    memcmp(hdr->sizes, want.sizes, sizeof(want.sizes)) ||
	    !hdr->nr || hdr->bytes > (1ull << 30)) {
		ret = -ENOENT;
		goto out;
	}
	*buf = malloc(hdr->bytes);
	if (!*buf) {
		ret = -ENOMEM;
		goto out;
	}
	if (fread(*buf, 1, hdr->bytes, f) != hdr->bytes) {
		free(*buf);
		*buf = NULL;
		ret = -ENOENT;
	}
out:
	fclose(f);
	return ret;
}

/*
 * The replay's sensor: the records come from memory, and its tables are
 * empty (the stream lost nothing, so the daemon never needs them).
 */
static void replay_close(struct sensor *s)
{
	free(s);
}

static int replay_fd(struct sensor *s)
{
	return -1;
}

static int replay_poll(struct sensor *s)
{
	return 0;
}

static int replay_watch_add(struct sensor *s,
			    const struct exfilmon_file_key *key,
			    const struct exfilmon_obj *w)
{
	return 0;
}

static int replay_watch_rm(struct sensor *s,
			   const struct exfilmon_file_key *key)
{
	return 0;
}

static int replay_watch_rm_id(struct sensor *s, uint32_t watch_id)
{
	return 0;
}

static int replay_fd_key(struct sensor *s, int fd,
			 struct exfilmon_file_key *key)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	key->dev = sensor_dev(st.st_dev);
	key->ino = st.st_ino;
	return 0;
}

static int replay_stats(struct sensor *s, uint64_t stats[EXFILMON_STAT_NR])
{
	memset(stats, 0, EXFILMON_STAT_NR * sizeof(*stats));
	return 0;
}

static int replay_proc_get(struct sensor *s, const struct exfilmon_pkey *key,
			   struct exfilmon_proc *out)
{
	return -ENOENT;
}

static int replay_proc_forget(struct sensor *s,
			      const struct exfilmon_pkey *keys, size_t nr)
{
	return 0;
}

static int replay_each_proc(struct sensor *s,
			    int (*fn)(void *ctx, const struct exfilmon_pkey *k,
				      const struct exfilmon_proc *p),
			    void *ctx)
{
	return 0;
}

static int replay_each_io(struct sensor *s,
			  int (*fn)(void *ctx, const struct exfilmon_read_key *k,
				    const struct exfilmon_count *c),
			  void *ctx)
{
	return 0;
}

static int replay_each_send(struct sensor *s,
			    int (*fn)(void *ctx,
				      const struct exfilmon_send_key *k,
				      const struct exfilmon_count *c),
			    void *ctx)
{
	return 0;
}

static int replay_each_obj(struct sensor *s,
			   int (*fn)(void *ctx,
				     const struct exfilmon_file_key *k,
				     const struct exfilmon_obj *o),
			   void *ctx)
{
	return 0;
}

static const struct sensor_ops replay_ops = {
	.kind = "replay",
	.close = replay_close,
	.fd = replay_fd,
	.poll = replay_poll,
	.watch_add = replay_watch_add,
	.watch_rm = replay_watch_rm,
	.watch_rm_id = replay_watch_rm_id,
	.fd_key = replay_fd_key,
	.stats = replay_stats,
	.proc_get = replay_proc_get,
	.proc_forget = replay_proc_forget,
	.for_each_proc = replay_each_proc,
	.for_each_read = replay_each_io,
	.for_each_send = replay_each_send,
	.for_each_flow = replay_each_io,
	.for_each_watched = replay_each_obj,
	.for_each_stream = replay_each_obj,
};

/* The daemon as exfilmond builds it, on the replay sensor. */
struct replay {
	struct daemon d;	/* first: daemon_on_alert() gets it */
	uint64_t alerts_new, alerts_updated;
};

static void count_alert(void *ctx, struct corr_alert *ca, enum corr_event ev)
{
	struct replay *rp = ctx;

	if (ev == CORR_NEW)
		rp->alerts_new++;
	else if (ev == CORR_UPDATE)
		rp->alerts_updated++;
	daemon_on_alert(&rp->d, ca, ev);
}

static int daemon_up(struct replay *rp, const char *dir, const char *data)
{
	struct corr_params cp = { .settle_ns = 5000000000ull };
	struct daemon *d = &rp->d;
	char conf[2048], err[1024];
	int ret;

	snprintf(conf, sizeof(conf),
		 "[watch]\npath = %s\n"
		 "[daemon]\nstate_dir = %s\njson_log = %s/alerts.json\n"
		 "socket = %s/exfilmon.sock\n", data, dir, dir, dir);
	ret = config_load_string(&d->cfg, "ingest.conf", conf, err,
				 sizeof(err));
	if (ret) {
		fprintf(stderr, "ingest: %s\n", err);
		return ret;
	}
	d->started_ns = now_boot_ns();
	d->reader_gid = (gid_t)-1;
	ret = store_open(&d->store, d->cfg.state_dir, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "ingest: failed to open the store: %s\n", err);
		goto out_config;
	}
	store_set_derived_max(d->store, d->cfg.max_watch);
	ret = jsonlog_open(&d->jsonlog, d->cfg.json_log);
	if (ret)
		goto out_store;
	ret = proctree_init(&d->procs, d->cfg.window_ns);
	if (ret)
		goto out_jsonlog;
	cp.read_threshold = d->cfg.read_threshold;
	cp.send_threshold = d->cfg.send_threshold;
	cp.window_ns = d->cfg.window_ns;
	d->corr = corr_new(&cp, &d->cfg, count_alert, rp);
	if (!d->corr) {
		ret = -ENOMEM;
		goto out_procs;
	}
	ret = live_init(&d->live);
	if (ret)
		goto out_corr;
	d->sensor = calloc(1, sizeof(*d->sensor));
	if (!d->sensor) {
		ret = -ENOMEM;
		goto out_live;
	}
	d->sensor->ops = &replay_ops;
	d->sensor->abi_version = EXFILMON_ABI_MAJOR << 16 | EXFILMON_ABI_MINOR;
	ret = watchlist_init(&d->watches, d->sensor);
	if (ret)
		goto out_sensor;
	ret = watchlist_add(&d->watches, data, 1, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "ingest: failed to watch %s: %s\n", data, err);
		goto out_watches;
	}
	return 0;

out_watches:
	watchlist_destroy(&d->watches);
out_sensor:
	sensor_close(d->sensor);
out_live:
	live_destroy(&d->live);
out_corr:
	corr_free(d->corr);
out_procs:
	proctree_destroy(&d->procs);
out_jsonlog:
	jsonlog_close(d->jsonlog);
out_store:
	store_close(d->store);
out_config:
	config_free(&d->cfg);
	return ret;
}

static void daemon_down(struct replay *rp)
{
	struct daemon *d = &rp->d;

	watchlist_destroy(&d->watches);
	sensor_close(d->sensor);
	collected_destroy(&d->collected);
	live_destroy(&d->live);
	corr_free(d->corr);
	proctree_destroy(&d->procs);
	free(d->exited);
	jsonlog_close(d->jsonlog);
	store_close(d->store);
	config_free(&d->cfg);
}

static void shift_u64(__u64 *v, uint64_t by)
{
	if (*v)
		*v += by;
}

static void shift_pkey(struct exfilmon_pkey *k, uint64_t by)
{
	shift_u64(&k->start_ns, by);
}

static void shift_proc(struct exfilmon_proc *p, uint64_t by)
{
	shift_u64(&p->first_ns, by);
	shift_u64(&p->last_ns, by);
	shift_pkey(&p->src, by);
}

/*
 * Move one record by 'by' nanoseconds: its times, and the start times in
 * its process keys, so that the next pass over the recording is the same
 * workload run again later by new processes (same pids, as if reused).
 */
static void shift_record(struct exfilmon_rec_hdr *h, uint64_t by)
{
	struct exfilmon_rec_fork *f = (void *)h;
	struct exfilmon_rec_exit *x = (void *)h;
	struct exfilmon_rec_io *io = (void *)h;
	struct exfilmon_rec_derived *dv = (void *)h;

	shift_u64(&h->ts_ns, by);
	shift_pkey(&h->proc, by);
	switch (h->type) {
	case EXFILMON_REC_FORK:
		shift_pkey(&f->parent, by);
		break;
	case EXFILMON_REC_EXIT:
		shift_proc(&x->proc, by);
		break;
	case EXFILMON_REC_READ:
	case EXFILMON_REC_FLOW:
	case EXFILMON_REC_SEND:
		shift_u64(&io->total.first_ns, by);
		shift_u64(&io->total.last_ns, by);
		shift_proc(&io->proc, by);
		shift_pkey(&io->peer, by);
		break;
	case EXFILMON_REC_DERIVED:
		shift_u64(&dv->obj.last_ns, by);
		shift_pkey(&dv->obj.writer, by);
		break;
	}
}

static void shift_all(char *buf, size_t len, uint64_t by)
{
	size_t off;

	for (off = 0; off < len;) {
		struct exfilmon_rec_hdr *h = (void *)(buf + off);

		shift_record(h, by);
		off += h->size;
	}
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Records are well formed: sized, at least a header, within the buffer. */
static int check_records(const char *buf, size_t len, uint64_t nr,
			 uint64_t mix[8], uint64_t *first_ts)
{
	uint64_t n = 0;
	size_t off;

	memset(mix, 0, 8 * sizeof(*mix));
	for (off = 0; off < len; n++) {
		const struct exfilmon_rec_hdr *h = (const void *)(buf + off);

		if (len - off < sizeof(*h) || h->size < sizeof(*h) ||
		    h->size % 8 || h->size > len - off)
			return -EINVAL;
		if (!n)
			*first_ts = h->ts_ns;
		mix[h->type < 8 ? h->type : 0]++;
		off += h->size;
	}
	return n == nr ? 0 : -EINVAL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Pin the calling thread to the last CPU it may run on; old keeps the set. */
static int pin(cpu_set_t *old, int *cpu)
{
	cpu_set_t one;
	int i;

	if (sched_getaffinity(0, sizeof(*old), old))
		return -errno;
	for (i = CPU_SETSIZE - 1; i >= 0 && !CPU_ISSET(i, old); i--)
		;
	if (i < 0)
		return -EINVAL;
	CPU_ZERO(&one);
	CPU_SET(i, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		return -errno;
	*cpu = i;
	return 0;
}

int bench_ingest(const struct bench_env *e, struct json_object *out)
{
	static const char *const names[8] = {
		"other", "fork", "exec", "exit", "read", "send", "flow",
		"derived",
	};
	uint64_t mix[8], seg_rate[SEGMENTS];
	uint64_t target = e->quick ? 100000 : 10000000;
	uint64_t done = 0, wall = 0, cpu = 0, first_ts = 0, shifted = 0;
	uint64_t t, c, last_tick, loops = 0;
	char path[512], data[512], copy[512], dir[] = "/tmp/exfilbench-ingest-XXXXXX";
	struct replay *rp = NULL;
	struct json_object *jmix;
	struct rec_file hdr;
	cpu_set_t old;
	char *buf = NULL;
	int ret, cpu_nr = -1, seg;
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", e->work, REC_FILE);
	snprintf(data, sizeof(data), "%s/%s", e->work, DATA_FILE);
	snprintf(copy, sizeof(copy), "%s/%s", e->work, COPY_FILE);
	/* the replay's config watches it too, as the recording did */
	if (access(data, R_OK) && customers_write(data, DATA_BYTES) < 0) {
		ret = -errno;
		fprintf(stderr, "ingest: failed to write %s: %s\n", data,
			strerror(errno));
		return ret;
	}
	ret = load(path, &hdr, &buf);
	if (ret == -ENOENT) {
		ret = record(e, path, data, copy);
		unlink(copy);
		if (!ret)
			ret = load(path, &hdr, &buf);
	}
	if (ret) {
		fprintf(stderr, "ingest: failed to load the recording %s: %s\n",
			path, strerror(-ret));
		return ret;
	}
	ret = check_records(buf, hdr.bytes, hdr.nr, mix, &first_ts);
	if (ret) {
		fprintf(stderr, "ingest: %s is damaged: remove it to record "
			"again\n", path);
		goto out_buf;
	}

	if (!mkdtemp(dir)) {
		ret = -errno;
		fprintf(stderr, "ingest: failed to create %s: %s\n", dir,
			strerror(errno));
		goto out_buf;
	}
	rp = calloc(1, sizeof(*rp));
	if (!rp) {
		ret = -ENOMEM;
		goto out_dir;
	}
	ret = daemon_up(rp, dir, data);
	if (ret)
		goto out_rp;
	ret = pin(&old, &cpu_nr);
	if (ret) {
		fprintf(stderr, "ingest: failed to pin to one CPU: %s\n",
			strerror(-ret));
		goto out_daemon;
	}

	last_tick = mono_ns();
	for (seg = 0; seg < SEGMENTS; seg++) {
		uint64_t seg_done = 0, seg_t = 0;

		while (seg_done < target / SEGMENTS) {
			/* this pass starts now, as new processes */
			uint64_t by = now_boot_ns() - first_ts - shifted;
			size_t off;

			shift_all(buf, hdr.bytes, by);
			shifted += by;
			t = mono_ns();
			c = cpu_ns();
			for (off = 0; off < hdr.bytes;) {
				const struct exfilmon_rec_hdr *h =
					(const void *)(buf + off);

				daemon_on_record(&rp->d, h, h->size);
				off += h->size;
			}
			/* the daemon's one-second timer */
			if (mono_ns() - last_tick >= 1000000000ull) {
				daemon_tick(&rp->d);
				last_tick = mono_ns();
			}
			seg_t += mono_ns() - t;
			cpu += cpu_ns() - c;
			seg_done += hdr.nr;
			loops++;
		}
		/* what is pending is part of the work: collect and settle */
		t = mono_ns();
		c = cpu_ns();
		daemon_tick(&rp->d);
		last_tick = mono_ns();
		seg_t += last_tick - t;
		cpu += cpu_ns() - c;
		seg_rate[seg] = seg_done * 1000000000ull / (seg_t ? seg_t : 1);
		wall += seg_t;
		done += seg_done;
	}
	sched_setaffinity(0, sizeof(old), &old);

	qsort(seg_rate, SEGMENTS, sizeof(*seg_rate), cmp_u64);
	json_object_object_add(out, "value",
			       json_object_new_int64(seg_rate[SEGMENTS / 2]));
	json_object_object_add(out, "unit", json_object_new_string("events/s"));
	json_object_object_add(out, "min",
			       json_object_new_int64(seg_rate[0]));
	json_object_object_add(out, "max",
			       json_object_new_int64(seg_rate[SEGMENTS - 1]));
	json_object_object_add(out, "records", json_object_new_int64(done));
	json_object_object_add(out, "passes", json_object_new_int64(loops));
	json_object_object_add(out, "recorded",
			       json_object_new_int64(hdr.nr));
	json_object_object_add(out, "recorded_with",
			       json_object_new_string(hdr.sensor));
	jmix = json_object_new_object();
	for (i = 0; i < 8; i++)
		if (mix[i])
			json_object_object_add(jmix, names[i],
					       json_object_new_int64(mix[i] *
								    loops));
	json_object_object_add(out, "mix", jmix);
	json_object_object_add(out, "wall_s", json_object_new_double(wall / 1e9));
	json_object_object_add(out, "cpu_s", json_object_new_double(cpu / 1e9));
	json_object_object_add(out, "events_per_cpu_s",
			       json_object_new_int64(cpu ? done * 1000000000ull /
							   cpu : 0));
	json_object_object_add(out, "cpu", json_object_new_int(cpu_nr));
	json_object_object_add(out, "alerts",
			       json_object_new_int64(rp->alerts_new));
	json_object_object_add(out, "alert_updates",
			       json_object_new_int64(rp->alerts_updated));
	ret = 0;

out_daemon:
	daemon_down(rp);
out_rp:
	free(rp);
out_dir:
	run_cmd("rm -rf '%s'", dir);
out_buf:
	free(buf);
	return ret;
}
