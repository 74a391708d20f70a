/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * exfilbench: what exfilmon costs, measured side by side with the tools a
 * security team would otherwise use (auditd, bpftrace). See bench/README.md.
 *
 * Every overhead figure is a ratio taken in one run: each round starts the
 * monitors one after another, with an unmonitored run of the same
 * workloads right before each (A B A C A D ...), and the ratio of a round
 * is monitored time over the unmonitored time next to it. The table quotes
 * the median over the rounds and the spread (lowest, highest).
 */
#ifndef EXFILMON_BENCH_H
#define EXFILMON_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "testhost.h"

/* The fixtures every workload and monitor shares (bench/fixtures.c). */
struct bench_env {
	const char *build;	/* BUILD: exfilmond, exfilctl, bench/ programs */
	char work[256];		/* BUILD/bench/fixtures: kept between runs */
	char big[300];		/* watched file (P2): 256 MiB / div */
	char db[300];		/* demo customers database, watched (P4) */
	char cold[300];		/* an unwatched 4 KiB file (P1) */
	char tree[300];		/* a large git work tree (P4) */
	char headers[300];	/* the tree tar archives (P4): /usr/include */
	int quick;		/* BENCH_QUICK=1: does every part run at all? */
	unsigned int div;	/* workload sizes: the full ones over this */
	int in_guest;		/* inside the VM guest: no peers, no P4 tools */
	struct testhost th;	/* the netns test host (P3, P6) */
	uint16_t udp_port;	/* its UDP sink (P3) */
	const char *sensor;	/* exfilmon's sensor here: "bpf" or "kmod" */
};

/*
 * A monitor: nothing, exfilmon with one of its sensors, auditd or bpftrace.
 * probe() says whether it can run here (0, or -errno with the reason in
 * why); start() leaves it fully attached and watching e->big and e->db,
 * and stop() detaches it, restores what it changed on the machine, and
 * adds what it saw to seen (a JSON object) so the table can show that it
 * really accounted the workloads.
 */
struct monitor {
	const char *name;
	int (*probe)(const struct bench_env *e, char *why, size_t len);
	int (*start)(const struct bench_env *e, void **state);
	int (*stop)(const struct bench_env *e, void *state,
		    struct json_object *seen);
};

extern const struct monitor mon_none;
extern const struct monitor mon_floor;
extern const struct monitor mon_exfilmon_bpf;
extern const struct monitor mon_exfilmon_kmod;
extern const struct monitor mon_auditd;
extern const struct monitor mon_bpftrace;

/*
 * A timed workload (P1-P4): run() does the work once and returns the time
 * it took in *ns (the figure the ratio is taken of) and, when it counts
 * operations, their number in *ops. 0 or -errno.
 */
struct workload {
	const char *id;		/* "P1", "P3u", ... */
	const char *what;	/* one line for the table */
	int (*run)(const struct bench_env *e, double *ns, double *ops);
	double target;		/* the bound on the ratio */
	int tools;		/* needs tar, sqlite3, git: not in the guest */
};

extern const struct workload workloads[];
extern const size_t nr_workloads;

/*
 * The stand-alone figures of exfilmon alone (P5-P7): each fills out with
 * its measurements and the fields "value" (number) and "unit", or returns
 * -errno after saying why on stderr.
 */
int bench_ingest(const struct bench_env *e, struct json_object *out);
int bench_latency(const struct bench_env *e, struct json_object *out);
int bench_memory(const struct bench_env *e, struct json_object *out);

/*
 * bench/monitor_audit.c: while on, tasks forked get no audit syscall work
 * (-a never,task), which they would otherwise pay for the rest of the boot
 * once auditd has run.
 */
int audit_quiet(int on);

/* bench/fixtures.c */
int fixtures_make(struct bench_env *e);
void fixtures_drop(struct bench_env *e);

/* bench/util.c */
uint64_t mono_ns(void);
int run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* buf = BUILD/bench/name: a workload program or helper */
void bench_prog(const struct bench_env *e, const char *name, char *buf,
		size_t len);
double median(double *v, size_t n);
/*
 * exfilmond with config conf and sensor (tests/lib/daemon_run.c), up and
 * listening on sock; its pid, or -1 after showing the end of its log.
 */
pid_t bench_daemon_start(const struct bench_env *e, const char *sensor,
			 const char *conf, const char *sock, const char *log);

#endif /* EXFILMON_BENCH_H */
