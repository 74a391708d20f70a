// SPDX-License-Identifier: GPL-2.0-only
/*
 * P6: detection latency. A real exfilmond (its own config, store and socket)
 * watches one file; one theft after another, a fresh process reads the
 * file and sends it to its own address on a netns test host, and we time
 * from the return of its last send to the moment `exfilctl alerts --json`
 * (the real CLI, run as a process, as an operator or a script would) lists
 * the alert for that address. Each theft goes to a new address, because an
 * alert is one per (watched origin, destination host) per window: a second
 * theft to the same host would update the first alert, not raise one.
 *
 * The CLI's figure includes starting exfilctl, which on a loaded two-core
 * VM costs more than the detection itself. So a watcher process also
 * times, through inotify, when the daemon's JSON alert log (written right
 * after the store) gets the alert's "new" line: that is when the daemon
 * had decided, and the two together say where the time goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "bench.h"
#include "daemon_run.h"

#define LAT_HOST_IDX	43		/* our own netns test host */
#define LAT_ADDR_BASE	10		/* thefts go to 198.18.43.10 and up */
#define LAT_PORT	9443
#define LAT_THEFTS	100
#define LAT_THEFTS_QUICK 5
/*
 * Both thresholds are crossed exactly by the theft's last read and last
 * send: the alert cannot be raised before the moment we time from.
 */
#define LAT_READ	(256 << 10)
#define LAT_SEND	(64 << 10)
#define LAT_DGRAM	4096
#define LAT_POLL_GAP_US	1000
#define LAT_GIVE_UP_NS	(10 * 1000000000ull)

struct lat_world {
	char dir[320];
	char file[352];
	char conf[352];
	char sock[352];
	char log[352];
	char jsonlog[352];
	struct testhost th;
	int have_th;
	pid_t daemon;
	pid_t watcher;
	uint64_t *t_end;	/* shared: when each theft's last send returned */
	uint64_t *t_logged;	/* shared: when its alert reached the JSON log */
	pid_t sink;
	int sink_ctl;		/* closing it ends the sink */
	int sink_res;		/* where the sink writes its byte count */
	int nr_addrs;		/* addresses added to the test host */
};

/* The test host's receiver: every address, one port, counts until told. */
struct sink_arg {
	int ctl, ctl_w, res;
};

static int lat_sink(void *arg)
{
	const struct sink_arg *a = arg;
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(LAT_PORT),
				   .sin_addr.s_addr = htonl(INADDR_ANY) };
	int fd, rcvbuf = 8 << 20;
	int64_t total = 0;
	char buf[65536];

	/* our copy of the write end would keep the pipe from ever closing */
	close(a->ctl_w);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (void *)&sin, sizeof(sin)))
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	/* ready: the parent waits for this before the first theft */
	if (write(a->res, &total, sizeof(total)) != sizeof(total))
		return 1;
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = a->ctl, .events = POLLIN },
		};
		ssize_t n;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 1;
		if (p[0].revents & POLLIN) {
			n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0)
				total += n;
			continue;
		}
		if (p[1].revents)
			break;
	}
	return write(a->res, &total, sizeof(total)) == sizeof(total) ? 0 : 1;
}

static int sink_up(struct lat_world *w)
{
	int ctl[2], res[2];
	struct sink_arg a;
	int64_t ready;

	if (pipe2(ctl, O_CLOEXEC))
		return -errno;
	if (pipe2(res, O_CLOEXEC)) {
		close(ctl[0]);
		close(ctl[1]);
		return -errno;
	}
	a.ctl = ctl[0];
	a.ctl_w = ctl[1];
	a.res = res[1];
	w->sink = testhost_spawn(&w->th, lat_sink, &a);
	close(ctl[0]);
	close(res[1]);
	w->sink_ctl = ctl[1];
	w->sink_res = res[0];
	if (w->sink < 0 ||
	    read(w->sink_res, &ready, sizeof(ready)) != sizeof(ready))
		return -EIO;
	return 0;
}

/* Stop the sink; the bytes it received, or -1. */
static int64_t sink_down(struct lat_world *w)
{
	int64_t total = -1;

	if (w->sink <= 0)
		return -1;
	close(w->sink_ctl);
	if (read(w->sink_res, &total, sizeof(total)) != sizeof(total))
		total = -1;
	close(w->sink_res);
	waitpid(w->sink, NULL, 0);
	w->sink = 0;
	return total;
}

static void theft_addr(const struct lat_world *w, int i, char *buf,
		       size_t len)
{
	snprintf(buf, len, "198.18.%d.%d", w->th.idx, LAT_ADDR_BASE + i);
}

/* One line of the JSON alert log: a "new" alert stamps its theft. */
static void log_line(const struct lat_world *w, int thefts, const char *line,
		     uint64_t now)
{
	struct json_object *o = json_tokener_parse(line), *dst, *ip, *x, *ev;
	char addr[32];
	int i;

	if (o && json_object_object_get_ex(o, "destination", &dst) &&
	    json_object_object_get_ex(dst, "ip", &ip) &&
	    json_object_object_get_ex(o, "exfilmon", &x) &&
	    json_object_object_get_ex(x, "event", &ev) &&
	    !strcmp(json_object_get_string(ev), "new")) {
		for (i = 0; i < thefts; i++) {
			theft_addr(w, i, addr, sizeof(addr));
			if (strcmp(json_object_get_string(ip), addr))
				continue;
			if (!w->t_logged[i])
				w->t_logged[i] = now;
			break;
		}
	}
	json_object_put(o);
}

/*
 * The watcher process: blocks in inotify on the JSON log and stamps each
 * new alert line with the time it woke. Says it is ready on rfd; runs
 * until killed.
 */
static int log_watcher(const struct lat_world *w, int thefts, int rfd)
{
	size_t len = 0, cap = 1 << 20;
	char *buf = malloc(cap), ev[4096];
	int in, fd;

	in = inotify_init1(IN_CLOEXEC);
	fd = open(w->jsonlog, O_RDONLY | O_CLOEXEC);
	if (!buf || in < 0 || fd < 0 ||
	    inotify_add_watch(in, w->jsonlog, IN_MODIFY) < 0 ||
	    lseek(fd, 0, SEEK_END) < 0 || write(rfd, "", 1) != 1)
		return 1;
	for (;;) {
		char *line, *nl;
		uint64_t now;
		ssize_t n;

		if (read(in, ev, sizeof(ev)) <= 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		now = mono_ns();
		for (;;) {
			if (cap - len < 65536) {
				char *p = realloc(buf, cap * 2);

				if (!p)
					return 1;
				buf = p;
				cap *= 2;
			}
			n = read(fd, buf + len, cap - len - 1);
			if (n <= 0)
				break;
			len += n;
		}
		buf[len] = '\0';
		/* whole lines only: the daemon may be half way through one */
		for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
			*nl = '\0';
			log_line(w, thefts, line, now);
		}
		len -= line - buf;
		memmove(buf, line, len);
	}
}

static int watcher_up(struct lat_world *w, int thefts)
{
	int rfd[2];
	char c;

	if (pipe2(rfd, O_CLOEXEC))
		return -errno;
	w->watcher = fork();
	if (!w->watcher) {
		/* it outlives sink_down(), which waits for every writer */
		close(w->sink_ctl);
		close(rfd[0]);
		_exit(log_watcher(w, thefts, rfd[1]));
	}
	close(rfd[1]);
	if (w->watcher < 0 || read(rfd[0], &c, 1) != 1) {
		close(rfd[0]);
		return -EIO;
	}
	close(rfd[0]);
	return 0;
}

static int world_up(const struct bench_env *e, struct lat_world *w,
		    int thefts)
{
	static char junk[LAT_READ];
	char conf[2048], addr[32];
	int i, ret;
	FILE *f;

	snprintf(w->dir, sizeof(w->dir), "%s/latency", e->work);
	snprintf(w->file, sizeof(w->file), "%s/secret.dat", w->dir);
	snprintf(w->conf, sizeof(w->conf), "%s/exfilmon.conf", w->dir);
	snprintf(w->sock, sizeof(w->sock), "%s/exfilmon.sock", w->dir);
	snprintf(w->log, sizeof(w->log), "%s/exfilmond.log", w->dir);
	snprintf(w->jsonlog, sizeof(w->jsonlog), "%s/state/alerts.json", w->dir);
	/* a store left from an earlier run would hold last run's alerts */
	if (run_cmd("rm -rf '%s' && mkdir -p '%s/state'", w->dir, w->dir))
		return -EIO;
	for (i = 0; i < LAT_READ; i++)
		junk[i] = 'a' + i % 26;
	f = fopen(w->file, "w");
	if (!f)
		return -errno;
	ret = fwrite(junk, 1, sizeof(junk), f) != sizeof(junk);
	if (fclose(f) || ret)
		return -EIO;
	snprintf(conf, sizeof(conf),
		 "[watch]\npath = %s\n\n"
		 "[correlation]\nread_threshold = %dK\nsend_threshold = %dK\n"
		 "window = 1h\n\n"
		 "[network]\ninternal = 10.0.0.0/8\n\n"
		 "[daemon]\nstate_dir = %s/state\nsocket = %s\ngroup = root\n",
		 w->file, LAT_READ >> 10, LAT_SEND >> 10, w->dir, w->sock);
	if (write_file(w->conf, conf))
		return -EIO;
	if (testhost_create(&w->th, LAT_HOST_IDX))
		return -EIO;
	w->have_th = 1;
	for (i = 0; i < thefts; i++) {
		theft_addr(w, i, addr, sizeof(addr));
		if (run_cmd("ip -n %s addr add %s/24 dev eth0", w->th.ns, addr))
			return -EIO;
		w->nr_addrs++;
	}
	ret = sink_up(w);
	if (ret)
		return ret;
	w->daemon = bench_daemon_start(e, e->sensor, w->conf, w->sock,
					w->log);
	if (w->daemon < 0)
		return -EIO;
	return watcher_up(w, thefts);
}

static void world_down(struct lat_world *w)
{
	if (w->watcher > 0) {
		kill(w->watcher, SIGTERM);
		waitpid(w->watcher, NULL, 0);
	}
	w->watcher = 0;
	if (w->daemon > 0)
		daemon_stop(w->daemon);
	w->daemon = 0;
	sink_down(w);
	/* the addresses go with the namespace */
	if (w->have_th)
		testhost_destroy(&w->th);
	w->have_th = 0;
}

/*
 * The thief: reads the file, then sends it in datagrams to addr, and notes
 * the monotonic time its last send returned in shared memory (a pipe back
 * to us would carry its taint into this process). Exit code 0 when all
 * went.
 */
static int thief(const struct lat_world *w, const char *addr, uint64_t *t_end)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(LAT_PORT) };
	static char buf[LAT_READ];
	size_t got = 0, sent = 0;
	int fd;

	fd = open(w->file, O_RDONLY);
	if (fd < 0)
		return 1;
	while (got < sizeof(buf)) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);

		if (n <= 0)
			return 2;
		got += n;
	}
	close(fd);
	inet_pton(AF_INET, addr, &sin.sin_addr);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return 3;
	while (sent < LAT_SEND) {
		ssize_t n = sendto(fd, buf + sent, LAT_DGRAM, 0, (void *)&sin,
				   sizeof(sin));

		if (n != LAT_DGRAM)
			return 4;
		sent += n;
	}
	*t_end = mono_ns();
	close(fd);
	return 0;
}

/* A growing buffer for exfilctl's output. */
struct outbuf {
	char *p;
	size_t len, cap;
};

/* exfilctl --socket S alerts --json, its stdout in out; its exit code. */
static int ctl_alerts(const struct bench_env *e, const struct lat_world *w,
		      struct outbuf *out)
{
	char prog[512];
	int pfd[2], status;
	pid_t pid;

	snprintf(prog, sizeof(prog), "%s/exfilctl", e->build);
	if (pipe2(pfd, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (!pid) {
		int null = open("/dev/null", O_WRONLY);

		dup2(pfd[1], 1);
		if (null >= 0)
			dup2(null, 2);
		execl(prog, "exfilctl", "--socket", w->sock, "alerts", "--json",
		      (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	out->len = 0;
	for (;;) {
		ssize_t n;

		if (out->cap - out->len < 65536) {
			char *p = realloc(out->p, out->cap + (1 << 20));

			if (!p)
				break;
			out->p = p;
			out->cap += 1 << 20;
		}
		n = read(pfd[0], out->p + out->len, out->cap - out->len - 1);
		if (n <= 0)
			break;
		out->len += n;
	}
	if (out->p)
		out->p[out->len] = '\0';
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Does the alert list hold one for host addr? 1, 0, or -1 (not JSON). */
static int lists_host(const struct outbuf *out, const char *addr)
{
	struct json_object *arr, *v;
	size_t i, n;
	int found = 0;

	arr = out->p ? json_tokener_parse(out->p) : NULL;
	if (!arr || !json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		return -1;
	}
	n = json_object_array_length(arr);
	for (i = 0; i < n && !found; i++) {
		struct json_object *a = json_object_array_get_idx(arr, i);

		found = json_object_object_get_ex(a, "host", &v) &&
			!strcmp(json_object_get_string(v), addr);
	}
	json_object_put(arr);
	return found;
}

struct theft_result {
	double latency_ms;	/* send end to the end of the exfilctl call */
	double ctl_ms;		/* how long that call took */
	int polls;
};

/*
 * One theft and its detection. Polls back to back with a short pause, so
 * that the poller (a fork+exec every call) leaves the daemon a core on a
 * two-core machine; the figure is when the operator's command returned
 * with the alert, so it includes one exfilctl run.
 */
static int one_theft(const struct bench_env *e, const struct lat_world *w,
		     int i, struct outbuf *out, struct theft_result *r)
{
	uint64_t t_end, t0, t1;
	char addr[32];
	int status, ret;
	pid_t pid;

	theft_addr(w, i, addr, sizeof(addr));
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid)
		_exit(thief(w, addr, &w->t_end[i]));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) || !w->t_end[i]) {
		fprintf(stderr, "latency: theft %d to %s failed\n", i, addr);
		return -EIO;
	}
	t_end = w->t_end[i];
	r->polls = 0;
	for (;;) {
		t0 = mono_ns();
		ret = ctl_alerts(e, w, out);
		t1 = mono_ns();
		r->polls++;
		if (ret) {
			fprintf(stderr, "latency: exfilctl alerts failed (%d)\n",
				ret);
			return -EIO;
		}
		ret = lists_host(out, addr);
		if (ret < 0) {
			fprintf(stderr, "latency: exfilctl alerts --json did "
				"not print a JSON array\n");
			return -EIO;
		}
		if (ret)
			break;
		if (t1 - t_end > LAT_GIVE_UP_NS) {
			fprintf(stderr, "latency: no alert for %s after 10 s\n",
				addr);
			return -ETIMEDOUT;
		}
		usleep(LAT_POLL_GAP_US);
	}
	r->latency_ms = (t1 - t_end) / 1e6;
	r->ctl_ms = (t1 - t0) / 1e6;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The nearest-rank percentile of sorted v[0..n). */
static double pct(const double *v, size_t n, double p)
{
	size_t k = (size_t)(p / 100.0 * n + 0.999999);

	if (!n)
		return 0;
	return v[k ? (k > n ? n : k) - 1 : 0];
}

/* How long starting exfilctl takes here, doing nothing: the floor. */
static double ctl_spawn_ms(const struct bench_env *e)
{
	char prog[512];
	double v[5];
	size_t i;

	snprintf(prog, sizeof(prog), "%s/exfilctl", e->build);
	for (i = 0; i < 5; i++) {
		uint64_t t0 = mono_ns();

		if (run_cmd("'%s' --version >/dev/null", prog))
			return -1;
		v[i] = (mono_ns() - t0) / 1e6;
	}
	return median(v, 5);
}

static void add_dist(struct json_object *out, const char *name, double *v,
		     size_t n)
{
	struct json_object *o = json_object_new_object();

	qsort(v, n, sizeof(*v), cmp_double);
	json_object_object_add(o, "p50", json_object_new_double(pct(v, n, 50)));
	json_object_object_add(o, "p99", json_object_new_double(pct(v, n, 99)));
	json_object_object_add(o, "max", json_object_new_double(v[n - 1]));
	json_object_object_add(out, name, o);
}

int bench_latency(const struct bench_env *e, struct json_object *out)
{
	int thefts = e->quick ? LAT_THEFTS_QUICK : LAT_THEFTS;
	size_t stamps = 2 * thefts * sizeof(uint64_t);
	struct lat_world w = { .daemon = 0 };
	struct outbuf buf = { NULL, 0, 0 };
	double *lat = NULL, *ctl = NULL, *det = NULL;
	struct json_object *all = NULL;
	int64_t received;
	long polls = 0;
	int i, ret;

	lat = calloc(thefts, sizeof(*lat));
	ctl = calloc(thefts, sizeof(*ctl));
	det = calloc(thefts, sizeof(*det));
	w.t_end = mmap(NULL, stamps, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!lat || !ctl || !det || w.t_end == MAP_FAILED) {
		w.t_end = NULL;
		ret = -ENOMEM;
		goto out;
	}
	w.t_logged = w.t_end + thefts;
	ret = world_up(e, &w, thefts);
	if (ret) {
		fprintf(stderr, "latency: failed to set up the daemon and test "
			"host: %s\n", strerror(-ret));
		goto out;
	}
	all = json_object_new_array();
	for (i = 0; i < thefts; i++) {
		struct theft_result r = { 0 };

		ret = one_theft(e, &w, i, &buf, &r);
		if (ret)
			goto out;
		lat[i] = r.latency_ms;
		ctl[i] = r.ctl_ms;
		polls += r.polls;
		json_object_array_add(all,
				      json_object_new_double(r.latency_ms));
	}
	/* the log line went out before the reply that showed the alert:
	 * only the watcher's wakeup can still be pending */
	for (i = 0; i < 1000 && !w.t_logged[thefts - 1]; i++)
		usleep(1000);
	for (i = 0; i < thefts; i++) {
		if (!w.t_logged[i]) {
			fprintf(stderr, "latency: theft %d's alert never "
				"reached the JSON log %s\n", i, w.jsonlog);
			ret = -EIO;
			goto out;
		}
		/* signed: the alert can be logged before send() returns */
		det[i] = ((int64_t)w.t_logged[i] - (int64_t)w.t_end[i]) / 1e6;
	}
	received = sink_down(&w);
	json_object_object_add(out, "samples_ms", all);
	all = NULL;
	json_object_object_add(out, "thefts", json_object_new_int(thefts));
	add_dist(out, "visible_ms", lat, thefts);
	add_dist(out, "logged_ms", det, thefts);
	add_dist(out, "exfilctl_call_ms", ctl, thefts);
	json_object_object_add(out, "p50_ms",
			       json_object_new_double(pct(lat, thefts, 50)));
	json_object_object_add(out, "p99_ms",
			       json_object_new_double(pct(lat, thefts, 99)));
	json_object_object_add(out, "max_ms",
			       json_object_new_double(lat[thefts - 1]));
	json_object_object_add(out, "exfilctl_version_ms",
			       json_object_new_double(ctl_spawn_ms(e)));
	json_object_object_add(out, "polls_per_theft",
			       json_object_new_double((double)polls / thefts));
	json_object_object_add(out, "poll",
			       json_object_new_string(
				       "exfilctl alerts --json as a process, "
				       "again 1 ms after each return; latency "
				       "ends when the call that lists the "
				       "alert returns"));
	json_object_object_add(out, "sent_bytes",
			       json_object_new_int64((int64_t)thefts * LAT_SEND));
	json_object_object_add(out, "sink_bytes",
			       json_object_new_int64(received));
	json_object_object_add(out, "sensor", json_object_new_string(e->sensor));
	json_object_object_add(out, "value",
			       json_object_new_double(pct(lat, thefts, 99)));
	json_object_object_add(out, "unit", json_object_new_string("ms"));
	ret = 0;
out:
	json_object_put(all);
	world_down(&w);
	if (w.t_end)
		munmap(w.t_end, stamps);
	free(buf.p);
	free(det);
	free(ctl);
	free(lat);
	return ret;
}
