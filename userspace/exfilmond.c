// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilmond: loads the sensor, correlates sensitive reads with outbound
 * transfers, raises alerts, and answers exfilctl. One epoll loop: sensor
 * records, IPC requests, signals, a one-second timer and inotify.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <systemd/sd-daemon.h>
#include "daemon.h"
#include "log.h"

#define SETTLE_NS (5ull * 1000000000ull)

struct env {
	const char *config;
	const char *sensor;
	int foreground;
	int verbose;
};

static const char usage[] =
"Usage: exfilmond [--config PATH] [--foreground] [--sensor auto|bpf|kmod]\n"
"                 [--verbose]\n"
"\n"
"Watch reads of sensitive files and transfers out of the machine; alert\n"
"when a process tree reads watched data and sends it to a non-internal\n"
"destination.\n"
"\n"
"  -c, --config PATH   configuration file (default /etc/exfilmon/exfilmon.conf)\n"
"  -f, --foreground    log plainly to stderr (also when run by systemd)\n"
"  -s, --sensor KIND   auto (default: eBPF, else the module), bpf or kmod\n"
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
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:fs:vhV", opts, NULL)) != -1) {
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

static gid_t reader_gid(const char *group)
{
	struct group *g = group && *group ? getgrnam(group) : NULL;

	if (group && *group && !g)
		log_warn("group '%s' does not exist: only root may use "
			 "exfilctl", group);
	return g ? g->gr_gid : (gid_t)-1;
}

static int run(struct daemon *d)
{
	struct itimerspec its = { { 1, 0 }, { 1, 0 } };
	int epfd = -1, sfd = -1, tfd = -1, lfd = -1, ret = 1;
	struct epoll_event evs[16];
	sigset_t mask;
	int running = 1;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	epfd = epoll_create1(EPOLL_CLOEXEC);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (epfd < 0 || sfd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &its,
							      NULL)) {
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
	if (epoll_add(epfd, d->sensor->ops->fd(d->sensor)) ||
	    epoll_add(epfd, lfd) || epoll_add(epfd, sfd) ||
	    epoll_add(epfd, tfd) || epoll_add(epfd, d->watches.inotify_fd)) {
		log_err("failed to set up the event loop: %s",
			strerror(errno));
		goto out;
	}

	log_info("monitoring with the %s sensor (ABI %u.%u), %zu watched "
		 "path(s), socket %s", sensor_kind(d->sensor),
		 d->sensor->abi_version >> 16, d->sensor->abi_version & 0xffff,
		 d->watches.nr, d->cfg.socket);
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
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) ==
				       sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						log_info("SIGHUP: reload is not "
							 "supported yet; ignored");
						continue;
					}
					log_info("signal %u: stopping",
						 si.ssi_signo);
					running = 0;
				}
			} else if (fd == tfd) {
				uint64_t ticks;

				if (read(tfd, &ticks, sizeof(ticks)) > 0)
					daemon_tick(d);
			} else if (fd == d->watches.inotify_fd) {
				watchlist_inotify(&d->watches);
			} else {
				d->sensor->ops->poll(d->sensor);
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
	};
	struct corr_params cp = { .settle_ns = SETTLE_NS };
	struct sensor_limits lim;
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
	d.reader_gid = reader_gid(d.cfg.group);

	if (mkdir(d.cfg.state_dir, 0750) && errno != EEXIST) {
		log_err("failed to create state_dir %s: %s", d.cfg.state_dir,
			strerror(errno));
		ret = 1;
		goto out_config;
	}
	ret = store_open(&d.store, d.cfg.state_dir, err, sizeof(err));
	if (ret) {
		log_err("failed to open the alert store: %s", err);
		goto out_config;
	}
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

	lim.max_procs = d.cfg.max_procs;
	lim.max_reads = d.cfg.max_reads;
	lim.max_sends = d.cfg.max_sends;
	lim.max_watch = d.cfg.max_watch;
	lim.ring_kib = d.cfg.ring_kib;
	ret = sensor_open(&d.sensor, env.sensor, &lim, daemon_on_record, &d,
			  err, sizeof(err));
	if (ret) {
		log_err("failed to start the sensor: %s", err);
		goto out_corr;
	}
	/* counters of a module that outlived an earlier daemon are history */
	d.sensor->ops->stats(d.sensor, d.seen_stats);
	ret = watchlist_init(&d.watches, d.sensor);
	if (ret) {
		log_err("failed to set up inotify: %s", strerror(-ret));
		goto out_sensor;
	}
	ret = add_config_watches(&d);
	if (ret)
		goto out_watches;

	ret = run(&d);

out_watches:
	watchlist_destroy(&d.watches);
out_sensor:
	sensor_close(d.sensor);
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
