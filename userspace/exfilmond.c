// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilmond: loads the sensor, correlates sensitive reads with outbound
 * transfers, raises alerts, and answers exfilctl. One epoll loop: sensor
 * records, IPC requests, signals, a one-second timer and inotify.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <systemd/sd-daemon.h>
#include "daemon.h"
#include "log.h"
#include "sockreset.h"
#include "resume.h"

#define SETTLE_NS (5ull * 1000000000ull)
/* How often idle streams are looked for: a stream_idle is minutes. */
#define STREAM_SWEEP_NS (5ull * 1000000000ull)
/* How long a stream read dry is kept (the eBPF sensor leaves the entry,
 * see bpf/flow.h take()) */
#define STREAM_DRAINED_NS (5ull * 1000000000ull)

struct env {
	const char *config;
	const char *sensor;
	const char *pin_dir;	/* NULL: keep nothing for a restart */
	int foreground;
	int verbose;
};

static const char usage[] =
"Usage: exfilmond [--config PATH] [--foreground] [--sensor auto|bpf|kmod]\n"
"                 [--pin-dir DIR|none] [--verbose]\n"
"\n"
"Watch reads of sensitive files and transfers out of the machine; alert\n"
"when a process tree reads watched data and sends it to a non-internal\n"
"destination.\n"
"\n"
"  -c, --config PATH   configuration file (default /etc/exfilmon/exfilmon.conf)\n"
"  -f, --foreground    log plainly to stderr (also when run by systemd)\n"
"  -s, --sensor KIND   auto (default: eBPF, else the module), bpf or kmod\n"
"  -p, --pin-dir DIR   where the eBPF sensor pins its programs and tables,\n"
"                      so a restart after a crash or a kill takes them over\n"
"                      (default /sys/fs/bpf/exfilmon); none: keep nothing,\n"
"                      for either sensor\n"
"  -v, --verbose       debug messages\n"
"  -h, --help          this text\n"
"  -V, --version       print the version\n"
"\n"
"EXAMPLES:\n"
"  exfilmond --config /etc/exfilmon/exfilmon.conf\n"
"  exfilmond --config ./test.conf --foreground --sensor bpf\n";

static int parse_args(int argc, char **argv, struct env *env)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "sensor", required_argument, NULL, 's' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:fs:p:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			env->config = optarg;
			break;
		case 'f':
			env->foreground = 1;
			break;
		case 's':
			if (strcmp(optarg, "auto") && strcmp(optarg, "bpf") &&
			    strcmp(optarg, "kmod")) {
				fprintf(stderr, "exfilmond: --sensor %s: expected "
					"auto, bpf or kmod\n", optarg);
				return 2;
			}
			env->sensor = optarg;
			break;
		case 'p':
			if (!strcmp(optarg, "none")) {
				env->pin_dir = NULL;
				break;
			}
			/* libbpf pins by name under it; bpffs wants a path */
			if (optarg[0] != '/' || strlen(optarg) > 200) {
				fprintf(stderr, "exfilmond: --pin-dir %s: expected "
					"an absolute path of at most 200 bytes "
					"on bpffs, or none\n", optarg);
				return 2;
			}
			env->pin_dir = optarg;
			break;
		case 'v':
			env->verbose = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			printf("exfilmond %s (sensor ABI %u.%u)\n",
			       EXFILMON_VERSION, EXFILMON_ABI_MAJOR,
			       EXFILMON_ABI_MINOR);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "exfilmond: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	return -1;
}

static int epoll_add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* One request, one reply; a peer that stalls is cut off by the timeout. */
static void serve_client(struct daemon *d, int lfd)
{
	struct json_object *req = NULL, *reply;
	struct timeval tv = { .tv_sec = 2 };
	struct ipc_peer peer;
	int fd, ret;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (ipc_peer_creds(fd, &peer))
		goto out;
	ret = ipc_recv(fd, &req);
	if (ret) {
		reply = ipc_error("bad request: %s", strerror(-ret));
	} else {
		reply = daemon_handle(d, &peer, req);
	}
	ipc_send(fd, reply);
	json_object_put(reply);
	json_object_put(req);
out:
	close(fd);
}

static int add_config_watches(struct daemon *d)
{
	char err[1024];
	char **paths = NULL;
	size_t i, nr = 0;

	for (i = 0; i < d->cfg.nr_watch; i++) {
		if (watchlist_add(&d->watches, d->cfg.watch[i], 1, err,
				  sizeof(err))) {
			/* never run half-configured */
			log_err("%s:%d: path = %s", d->cfg.path,
				d->cfg.watch_line[i], err);
			return -EINVAL;
		}
	}
	/* paths added with exfilctl survive restarts through the store */
	if (store_watch_list(d->store, &paths, &nr))
		return 0;
	for (i = 0; i < nr; i++) {
		if (!watchlist_find(&d->watches, paths[i]) &&
		    watchlist_add(&d->watches, paths[i], 0, err, sizeof(err)))
			log_warn("run-time watch not restored: %s", err);
		free(paths[i]);
	}
	free(paths);
	return 0;
}

/* Processes of these executables never take taint ([flow] opaque). */
static void add_opaque(struct daemon *d)
{
	size_t i, nr = 0;

	for (i = 0; i < d->cfg.nr_opaque; i++)
		nr += watchlist_mark_opaque(&d->watches, d->cfg.opaque[i]);
	log_info("%zu of %zu opaque executable(s) found and marked", nr,
		 d->cfg.nr_opaque);
}

struct restore_ctx {
	struct daemon *d;
	size_t restored, failed;
	int err;		/* the first failure */
};

static int restore_one(void *ctx, const struct exfilmon_file_key *key,
		       const struct exfilmon_obj *obj)
{
	struct restore_ctx *rc = ctx;
	struct sensor *s = rc->d->sensor;
	int ret = s->ops->watch_add(s, key, obj);

	if (!ret) {
		rc->restored++;
	} else {
		rc->failed++;
		if (!rc->err)
			rc->err = ret;
	}
	return 0;
}

/*
 * Derived marks outlive the processes and the daemon that made them: put
 * the store's back into the sensor, generation included, so a mark whose
 * inode was reused meanwhile is dropped by the sensor on first sight.
 */
static void restore_derived(struct daemon *d)
{
	struct restore_ctx rc = { .d = d };
	int ret;

	ret = store_derived_each(d->store, restore_one, &rc);
	if (ret)
		log_warn("failed to read derived files from the store: %s "
			 "(%zu restored)", strerror(-ret), rc.restored);
	if (rc.failed)
		log_warn("%zu derived file(s) not restored into the sensor: "
			 "%s%s", rc.failed, strerror(-rc.err),
			 rc.err == -E2BIG ? " (the watch table is full: "
			 "raise [sensor] max_watch)" : "");
	if (rc.restored)
		log_info("%zu derived file(s) restored from the store",
			 rc.restored);
}

struct sweep_ctx {
	uint64_t now, idle;
	size_t evicted, tainted;
	uint64_t taint;
};

static int sweep_one(void *ctx, const struct exfilmon_file_key *key,
		     const struct exfilmon_obj *o)
{
	struct sweep_ctx *sw = ctx;

	/* a drained stream goes soon, one holding taint after stream_idle */
	if (o->last_ns >= sw->now ||
	    sw->now - o->last_ns <= (o->taint ? sw->idle : STREAM_DRAINED_NS))
		return 0;
	sw->evicted++;
	if (o->taint) {
		sw->tainted++;
		sw->taint += o->taint;
	}
	return 1;
}

/*
 * A stream read dry, or closed with unread data (a reader that died, a
 * socket never drained), would hold its entry for ever: drained ones go
 * after a few seconds, tainted ones after stream_idle. A write landing between the walk and the delete goes
 * with the entry: it takes stream_idle of silence and then a write within
 * the sweep's few microseconds, and the writer keeps its own taint.
 */
static void sweep_streams(struct daemon *d, uint64_t *swept_ns)
{
	struct sweep_ctx sw = {
		.now = now_boot_ns(),
		.idle = d->cfg.stream_idle_ns,
	};
	char idle[32], taint[32];
	int ret;

	if (sw.now - *swept_ns < STREAM_SWEEP_NS)
		return;
	*swept_ns = sw.now;
	ret = d->sensor->ops->for_each_stream(d->sensor, sweep_one, &sw);
	if (ret)
		log_warn("failed to sweep the sensor's streams: %s",
			 strerror(-ret));
	format_duration(sw.idle, idle, sizeof(idle));
	if (sw.tainted) {
		format_size(sw.taint, taint, sizeof(taint));
		log_warn("evicted %zu stream(s) idle for over %s ([flow] "
			 "stream_idle): %zu held %s of unread taint, now lost",
			 sw.evicted, idle, sw.tainted, taint);
	} else if (sw.evicted) {
		log_debug("evicted %zu stream(s) idle for over %s",
			  sw.evicted, idle);
	}
}

/*
 * systemd's watchdog (WatchdogSec=): ping at half the interval from the
 * event loop, so a loop stuck anywhere stops the pings. 0: not asked.
 */
static int watchdog_timer(void)
{
	struct itimerspec its = { 0 };
	uint64_t usec;
	int fd;

	if (sd_watchdog_enabled(0, &usec) <= 0 || !usec)
		return -1;
	usec /= 2;
	its.it_interval.tv_sec = usec / 1000000;
	its.it_interval.tv_nsec = (usec % 1000000) * 1000;
	its.it_value = its.it_interval;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0 || timerfd_settime(fd, 0, &its, NULL)) {
		log_warn("failed to arm the watchdog timer: %s; systemd will "
			 "restart us", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	log_info("systemd watchdog: pinging every %llu ms",
		 (unsigned long long)usec / 1000);
	return fd;
}

/*
 * The JSON log was rotated (renamed or removed): follow the path. A
 * failure is retried each second and logged when it first happens or
 * changes, not each time.
 */
static void follow_jsonlog(struct daemon *d)
{
	static int last_err;
	int ret = jsonlog_follow(d->jsonlog);

	if (ret < 0) {
		if (ret != last_err)
			log_warn("failed to reopen the JSON log %s: %s (the "
				 "old file still gets the lines; retrying)",
				 d->cfg.json_log, strerror(-ret));
		last_err = ret;
		return;
	}
	if (last_err)
		log_info("JSON log %s reopened", d->cfg.json_log);
	last_err = 0;
	if (ret > 0) {
		log_info("JSON log %s was rotated: reopened", d->cfg.json_log);
		daemon_share(d);
	}
}

static void on_signal(struct daemon *d, int sfd, int *running)
{
	struct signalfd_siginfo si;
	char err[1024];

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			daemon_reload(d, "SIGHUP", err, sizeof(err));
			continue;
		}
		log_info("signal %u: stopping", si.ssi_signo);
		*running = 0;
	}
}

/*
 * The sensors wake us for a record only when they have not done so in the
 * last 5 ms (bpf/maps.h, module/ring.c): a wakeup costs a producer more
 * than its record. Records queued quietly after a wakeup are taken by
 * draining again a little later, whenever a drain found records.
 */
#define REDRAIN_NS	(10 * 1000 * 1000)

static void drain(struct daemon *d, int rfd)
{
	struct itimerspec its = { .it_value.tv_nsec = REDRAIN_NS };
	uint64_t before = d->records;
	size_t live;

	d->sensor->ops->poll(d->sensor);
	/* and again while counters are live (docs/design.md "Coalescing") */
	live = daemon_settle(d);
	if ((d->records != before || live) &&
	    timerfd_settime(rfd, 0, &its, NULL))
		log_warn("failed to arm the drain timer: %s", strerror(errno));
}

/*
 * One daemon per state_dir: a second one would share the store, and take
 * over the first one's pinned sensor while it runs (docs/design.md
 * "Restarts"). The lock goes with the process, however it ends.
 */
static int lock_state_dir(struct daemon *d)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/exfilmond.lock", d->cfg.state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_err("failed to open %s: %s", path, strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = errno;

		log_err("failed to lock %s: %s%s", path, strerror(err),
			err == EWOULDBLOCK ? " (another exfilmond runs with "
			"this state_dir)" : "");
		close(fd);
		return -err;
	}
	/* kept open, unclosed, for as long as we run */
	return 0;
}

static int run(struct daemon *d)
{
	struct itimerspec its = { { 1, 0 }, { 1, 0 } };
	int epfd = -1, sfd = -1, tfd = -1, lfd = -1, wfd = -1, rfd = -1;
	int ret = 1;
	uint64_t swept_ns = now_boot_ns();
	struct epoll_event evs[16];
	sigset_t mask;
	int running = 1;
	uint64_t ticks = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	epfd = epoll_create1(EPOLL_CLOEXEC);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	rfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (epfd < 0 || sfd < 0 || tfd < 0 || rfd < 0 ||
	    timerfd_settime(tfd, 0, &its, NULL)) {
		log_err("failed to set up the event loop: %s",
			strerror(errno));
		goto out;
	}
	lfd = ipc_listen(d->cfg.socket, d->reader_gid);
	if (lfd < 0) {
		log_err("failed to listen on %s: %s", d->cfg.socket,
			strerror(-lfd));
		goto out;
	}
	/* the socket is the last thing made: the files can be shared now */
	daemon_share(d);
	wfd = watchdog_timer();
	if (epoll_add(epfd, d->sensor->ops->fd(d->sensor)) ||
	    epoll_add(epfd, lfd) || epoll_add(epfd, sfd) ||
	    epoll_add(epfd, tfd) || epoll_add(epfd, rfd) ||
	    epoll_add(epfd, d->watches.inotify_fd) ||
	    (wfd >= 0 && epoll_add(epfd, wfd))) {
		log_err("failed to set up the event loop: %s",
			strerror(errno));
		goto out;
	}

	log_info("monitoring with the %s sensor (ABI %u.%u), %zu watched "
		 "path(s), socket %s", sensor_kind(d->sensor),
		 d->sensor->abi_version >> 16, d->sensor->abi_version & 0xffff,
		 d->watches.nr, d->cfg.socket);
	/* the sensor is attached, the store open, the socket listening */
	sd_notifyf(0, "READY=1\nSTATUS=monitoring with the %s sensor",
		   sensor_kind(d->sensor));

	while (running) {
		int i, n = epoll_wait(epfd, evs, 16, -1);

		if (n < 0 && errno != EINTR) {
			log_err("epoll_wait: %s", strerror(errno));
			goto out;
		}
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				serve_client(d, lfd);
			} else if (fd == sfd) {
				on_signal(d, sfd, &running);
			} else if (fd == tfd) {
				uint64_t expired;
				int err;

				if (read(tfd, &expired, sizeof(expired)) <= 0)
					continue;
				daemon_tick(d);
				daemon_policy_tick(d);
				if (++ticks % SELFCHECK_TICKS == 0 &&
				    (err = daemon_selfcheck(d)))
					log_err("self-check failed: %s",
						strerror(-err));
				sweep_streams(d, &swept_ns);
				follow_jsonlog(d);
			} else if (fd == wfd) {
				uint64_t ticks;

				if (read(wfd, &ticks, sizeof(ticks)) > 0)
					sd_notify(0, "WATCHDOG=1");
			} else if (fd == rfd) {
				uint64_t ticks;

				if (read(rfd, &ticks, sizeof(ticks)) > 0)
					drain(d, rfd);
			} else if (fd == d->watches.inotify_fd) {
				watchlist_inotify(&d->watches);
			} else {
				drain(d, rfd);
			}
		}
	}
	sd_notify(0, "STOPPING=1");
	/* what is still queued or counted becomes alerts before we go */
	daemon_tick(d);
	ret = 0;
out:
	if (lfd >= 0) {
		close(lfd);
		unlink(d->cfg.socket);
	}
	if (wfd >= 0)
		close(wfd);
	if (rfd >= 0)
		close(rfd);
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	if (epfd >= 0)
		close(epfd);
	return ret;
}

int main(int argc, char **argv)
{
	struct env env = {
		.config = "/etc/exfilmon/exfilmon.conf",
		.sensor = "auto",
		.pin_dir = "/sys/fs/bpf/exfilmon",
	};
	struct corr_params cp = { .settle_ns = SETTLE_NS };
	struct sensor_limits lim;
	struct resume resume;
	struct daemon d = { 0 };
	char err[2048];
	int ret;

	ret = parse_args(argc, argv, &env);
	if (ret >= 0)
		return ret;
	log_verbose = env.verbose;
	log_init("exfilmond", env.foreground);

	ret = config_load(&d.cfg, env.config, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "exfilmond: %s\n", err);
		return 1;
	}
	d.started_ns = now_boot_ns();
	d.reader_gid = daemon_reader_gid(d.cfg.group);

	if (mkdir(d.cfg.state_dir, 0750) && errno != EEXIST) {
		log_err("failed to create state_dir %s: %s", d.cfg.state_dir,
			strerror(errno));
		ret = 1;
		goto out_config;
	}
	ret = lock_state_dir(&d);
	if (ret)
		goto out_config;
	sd_notify(0, "STATUS=opening the alert store");
	ret = store_open(&d.store, d.cfg.state_dir, err, sizeof(err));
	if (ret) {
		log_err("failed to open the alert store: %s", err);
		goto out_config;
	}
	/* no more derived marks than the sensor's watch table can take */
	store_set_derived_max(d.store, d.cfg.max_watch);
	ret = jsonlog_open(&d.jsonlog, d.cfg.json_log);
	if (ret) {
		log_err("failed to open the JSON log %s: %s", d.cfg.json_log,
			strerror(-ret));
		goto out_store;
	}
	ret = proctree_init(&d.procs, d.cfg.window_ns);
	if (ret)
		goto out_jsonlog;
	proctree_scan(&d.procs);
	cp.read_threshold = d.cfg.read_threshold;
	cp.send_threshold = d.cfg.send_threshold;
	cp.window_ns = d.cfg.window_ns;
	d.corr = corr_new(&cp, &d.cfg, daemon_on_alert, &d);
	if (!d.corr) {
		ret = -ENOMEM;
		goto out_procs;
	}
	ret = live_init(&d.live);
	if (ret)
		goto out_corr;
	collected_init(&d.collected);

	lim.max_procs = d.cfg.max_procs;
	lim.max_reads = d.cfg.max_reads;
	lim.max_sends = d.cfg.max_sends;
	lim.max_watch = d.cfg.max_watch;
	lim.max_streams = d.cfg.max_streams;
	lim.max_flows = d.cfg.max_flows;
	lim.ring_kib = d.cfg.ring_kib;
	lim.pin_dir = env.pin_dir;
	sd_notifyf(0, "STATUS=attaching the %s sensor", env.sensor);
	ret = sensor_open(&d.sensor, env.sensor, &lim, daemon_on_record, &d,
			  err, sizeof(err));
	if (ret) {
		log_err("failed to start the sensor: %s", err);
		goto out_collected;
	}
	/* until an orderly stop, whatever ends us leaves the state */
	d.sensor->keep = 1;
	if (d.sensor->note[0])
		log_info("%s sensor: %s", sensor_kind(d.sensor),
			 d.sensor->note);
	/* losses an earlier daemon saw are its history: only new ones warn */
	d.sensor->ops->stats(d.sensor, d.seen_stats);
	ret = resume_snapshot(&d, &resume);
	if (ret) {
		log_err("failed to read the sensor's watch table: %s",
			strerror(-ret));
		goto out_sensor;
	}
	ret = watchlist_init(&d.watches, d.sensor);
	if (ret) {
		log_err("failed to set up inotify: %s", strerror(-ret));
		free(resume.was);
		goto out_sensor;
	}
	ret = add_config_watches(&d);
	if (ret) {
		free(resume.was);
		goto out_watches;
	}
	ret = resume_check(&d, &resume);
	if (ret)
		goto out_watches;
	add_opaque(&d);
	restore_derived(&d);
	/*
	 * Prevent mode resets the TCP connections it refuses through
	 * sock_diag (sockreset.c): say so at once if this kernel cannot.
	 */
	d.sock_reset = sock_reset;
	ret = sock_reset_probe(EXFILMON_PROTO_TCP, EXFILMON_AF_INET);
	if (ret)
		log_warn("prevent mode cannot reset refused TCP connections "
			 "(sock_diag: %s): their packets are dropped, but "
			 "they stay open until TCP gives up", strerror(-ret));
	/* the watches have their ids: prevent mode can name them */
	ret = daemon_policy_start(&d, err, sizeof(err));
	if (ret) {
		log_err("%s", err);
		goto out_watches;
	}

	ret = run(&d);
	/* SIGTERM: monitoring ends, nothing is left attached */
	if (!ret)
		d.sensor->keep = 0;

out_watches:
	watchlist_destroy(&d.watches);
out_sensor:
	sensor_close(d.sensor);
out_collected:
	collected_destroy(&d.collected);
	live_destroy(&d.live);
out_corr:
	corr_free(d.corr);
out_procs:
	proctree_destroy(&d.procs);
	free(d.exited);
out_jsonlog:
	jsonlog_close(d.jsonlog);
out_store:
	store_close(d.store);
out_config:
	config_free(&d.cfg);
	return ret ? 1 : 0;
}
