// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilbench: `make bench`. Runs the workloads unmonitored and under each
 * monitor, interleaved, for several rounds; prints one table of ratios and
 * writes everything, machine facts included, as JSON. See bench/README.md.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include "bench.h"

#define MAX_MONITORS	8
#define MAX_ROUNDS	32

static const struct monitor *const all_monitors[] = {
	&mon_exfilmon_bpf, &mon_exfilmon_kmod, &mon_floor, &mon_auditd,
	&mon_bpftrace,
};

struct env_opts {
	const char *build;
	const char *out;
	const char *monitors;	/* comma-separated names, or NULL: default */
	const char *only;	/* comma-separated ids, or NULL: all */
	const char *guest_results;	/* the guest's JSON (bench/run.sh) */
	int rounds;
	int quick;
	int guest;
};

/* One workload's times: [monitor][round], and the baseline next to each. */
struct wl_result {
	double ns[MAX_MONITORS][MAX_ROUNDS];
	double base[MAX_MONITORS][MAX_ROUNDS];
	double ops;
};

struct bench {
	struct bench_env e;
	struct env_opts o;
	const struct monitor *mon[MAX_MONITORS];
	struct json_object *seen[MAX_MONITORS];
	char why[MAX_MONITORS][200];	/* why a monitor cannot run here */
	int usable[MAX_MONITORS];
	size_t nr_mon;
	struct wl_result *res;		/* [nr_workloads] */
	int ran[16];			/* which workloads run */
	struct json_object *figures;	/* P5-P7 */
	int pass, fail, skip;
};

static const char usage[] =
"Usage: exfilbench [OPTIONS]\n"
"\n"
"What exfilmon costs, side by side with auditd and bpftrace: every workload\n"
"runs unmonitored and monitored, interleaved, for several rounds; the table\n"
"gives each ratio's median and spread. Needs root.\n"
"\n"
"OPTIONS:\n"
"  -b, --build DIR      the build directory (default: $EXFILMON_BUILD, build)\n"
"  -q, --quick          does every part run? (small sizes, one round)\n"
"  -r, --rounds N       rounds (default 5; quick 1; at most 32)\n"
"  -m, --monitors LIST  comma-separated: exfilmon-bpf, exfilmon-kmod, floor,\n"
"                       auditd, bpftrace (default: all that can run here;\n"
"                       floor: a do-nothing program on exfilmon's syscall\n"
"                       tracepoints, the least any of them can cost)\n"
"  -w, --only LIST      comma-separated: P1 P2 P3u P3t P4tar P4sql P4git P5\n"
"                       P6 P7 (default: all)\n"
"  -o, --out FILE       the JSON results (default bench/results/latest.json)\n"
"  -g, --guest          inside the VM guest: no peers, no P4 tools\n"
"  -G, --guest-results FILE  the guest's JSON: its ratios join the table\n"
"  -h, --help\n"
"\n"
"EXAMPLES:\n"
"  make bench                          the full run, about 15 minutes\n"
"  make bench BENCH_QUICK=1            what CI runs\n"
"  exfilbench -m exfilmon-bpf -w P1,P2 two workloads against exfilmon only\n";

static int listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	if (!list)
		return 1;
	while ((p = strstr(p, name))) {
		if ((p == list || p[-1] == ',') && (!p[n] || p[n] == ','))
			return 1;
		p += n;
	}
	return 0;
}

static int parse(int argc, char **argv, struct env_opts *o)
{
	static const struct option longopts[] = {
		{ "build", required_argument, NULL, 'b' },
		{ "quick", no_argument, NULL, 'q' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "monitors", required_argument, NULL, 'm' },
		{ "only", required_argument, NULL, 'w' },
		{ "out", required_argument, NULL, 'o' },
		{ "guest", no_argument, NULL, 'g' },
		{ "guest-results", required_argument, NULL, 'G' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *q = getenv("BENCH_QUICK");
	char *end;
	int c;

	o->build = getenv("EXFILMON_BUILD");
	if (!o->build || !*o->build)
		o->build = "build";
	o->out = "bench/results/latest.json";
	o->quick = q && !strcmp(q, "1");
	while ((c = getopt_long(argc, argv, "b:qr:m:w:o:gG:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'b':
			o->build = optarg;
			break;
		case 'q':
			o->quick = 1;
			break;
		case 'r':
			errno = 0;
			o->rounds = strtol(optarg, &end, 10);
			if (errno || *end || o->rounds < 1 ||
			    o->rounds > MAX_ROUNDS) {
				fprintf(stderr, "exfilbench: --rounds %s: "
					"not a number from 1 to %d\n", optarg,
					MAX_ROUNDS);
				return -EINVAL;
			}
			break;
		case 'm':
			o->monitors = optarg;
			break;
		case 'w':
			o->only = optarg;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'g':
			o->guest = 1;
			break;
		case 'G':
			o->guest_results = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "exfilbench: unexpected argument %s\n",
			argv[optind]);
		return -EINVAL;
	}
	if (!o->rounds)
		o->rounds = o->quick ? 1 : 5;
	return 0;
}

/* The monitors asked for; each probed, and why it cannot run if so. */
static int pick_monitors(struct bench *b)
{
	size_t i;

	for (i = 0; i < sizeof(all_monitors) / sizeof(all_monitors[0]); i++) {
		const struct monitor *m = all_monitors[i];
		size_t k = b->nr_mon;

		if (!listed(b->o.monitors, m->name))
			continue;
		/* the guest measures our two sensors against each other */
		if (!b->o.monitors && b->o.guest &&
		    strncmp(m->name, "exfilmon-", 9))
			continue;
		/* the host has no module: not a peer, nothing to skip */
		if (!b->o.monitors && !b->o.guest && m == &mon_exfilmon_kmod)
			continue;
		b->mon[k] = m;
		b->usable[k] = !m->probe(&b->e, b->why[k], sizeof(b->why[k]));
		b->seen[k] = json_object_new_array();
		b->nr_mon++;
	}
	if (!b->nr_mon) {
		fprintf(stderr, "exfilbench: --monitors %s: none known\n",
			b->o.monitors);
		return -EINVAL;
	}
	return 0;
}

/* Every chosen workload once; failures leave NAN and are counted. */
static void run_workloads(struct bench *b, double *ns)
{
	size_t w;

	for (w = 0; w < nr_workloads; w++) {
		double t = NAN, ops = 0;

		if (!b->ran[w])
			continue;
		if (workloads[w].run(&b->e, &t, &ops)) {
			fprintf(stderr, "# %s failed\n", workloads[w].id);
			t = NAN;
		}
		if (ops)
			b->res[w].ops = ops;
		ns[w] = t;
	}
}

/*
 * One round: for each monitor, the workloads unmonitored and then under
 * it. The monitors' order turns with the round, so none always goes first.
 */
static void run_round(struct bench *b, int r)
{
	double base[16], mon[16];
	size_t i, w;

	for (i = 0; i < b->nr_mon; i++) {
		size_t k = (i + r) % b->nr_mon;
		struct json_object *seen;
		void *st;

		if (!b->usable[k])
			continue;
		fprintf(stderr, "# round %d/%d: none, then %s\n", r + 1,
			b->o.rounds, b->mon[k]->name);
		run_workloads(b, base);
		if (b->mon[k]->start(&b->e, &st)) {
			fprintf(stderr, "# %s did not start\n",
				b->mon[k]->name);
			for (w = 0; w < nr_workloads; w++)
				b->res[w].ns[k][r] = NAN;
			continue;
		}
		run_workloads(b, mon);
		seen = json_object_new_object();
		if (b->mon[k]->stop(&b->e, st, seen))
			fprintf(stderr, "# %s did not stop cleanly\n",
				b->mon[k]->name);
		json_object_array_add(b->seen[k], seen);
		for (w = 0; w < nr_workloads; w++) {
			b->res[w].base[k][r] = base[w];
			b->res[w].ns[k][r] = mon[w];
		}
	}
}

/* One unmeasured pass: caches warm, the tree indexed, programs paged in. */
static void warm_up(struct bench *b)
{
	double ignore[16];

	fprintf(stderr, "# warming up\n");
	run_workloads(b, ignore);
}

/* The ratios of workload w under monitor k over the rounds, into v. */
static int ratios(struct bench *b, size_t w, size_t k, double *v)
{
	int r, n = 0;

	for (r = 0; b->usable[k] && r < b->o.rounds; r++) {
		double x = b->res[w].ns[k][r] / b->res[w].base[k][r];

		if (isfinite(x) && x > 0)
			v[n++] = x;
	}
	return n;
}

static double base_per_op(struct bench *b, size_t w)
{
	double v[MAX_MONITORS * MAX_ROUNDS];
	size_t k, n = 0;
	int r;

	for (k = 0; k < b->nr_mon; k++)
		for (r = 0; r < b->o.rounds; r++)
			if (isfinite(b->res[w].base[k][r]) &&
			    b->res[w].base[k][r] > 0)
				v[n++] = b->res[w].base[k][r];
	return median(v, n) / (b->res[w].ops ? b->res[w].ops : 1e6);
}

static struct json_object *jdouble(double x)
{
	return isfinite(x) ? json_object_new_double(round(x * 1e4) / 1e4) :
			     NULL;
}

/*
 * One table row and its JSON, from the ratios v[k][0..n[k]) of each
 * monitor; then the verdict: exfilmon against the target, and against
 * each peer that ran. Each monitor that gave a ratio counts as a pass.
 */
static void report_row(struct bench *b, const char *id, const char *what,
		       double base, const char *unit, double target,
		       double v[][MAX_ROUNDS], const int *n,
		       struct json_object *jw)
{
	struct json_object *jm = json_object_new_object(), *jv;
	double med[MAX_MONITORS], ours = NAN;
	char cell[48], verdict[160] = "";
	size_t k, len = 0;

	printf("%-6s %-30s %9.1f %s %6.2f", id, what, base, unit, target);
	for (k = 0; k < b->nr_mon; k++) {
		struct json_object *j;

		med[k] = NAN;
		if (!b->usable[k]) {
			printf("  %-22s", "n/a");
			continue;
		}
		if (!n[k]) {
			printf("  %-22s", "failed");
			b->fail++;
			continue;
		}
		b->pass++;
		med[k] = median(v[k], n[k]);
		snprintf(cell, sizeof(cell), "%.3f (%.3f-%.3f)", med[k],
			 v[k][0], v[k][n[k] - 1]);
		printf("  %-22s", cell);
		j = json_object_new_object();
		json_object_object_add(j, "ratio", jdouble(med[k]));
		json_object_object_add(j, "ratio_min", jdouble(v[k][0]));
		json_object_object_add(j, "ratio_max",
				       jdouble(v[k][n[k] - 1]));
		json_object_object_add(j, "rounds", json_object_new_int(n[k]));
		json_object_object_add(jm, b->mon[k]->name, j);
		/* ours: the eBPF sensor, or in the guest the first one */
		if (!strncmp(b->mon[k]->name, "exfilmon-", 9) &&
		    !isfinite(ours))
			ours = med[k];
	}
	jv = json_object_new_object();
	if (isfinite(ours)) {
		len += snprintf(verdict + len, sizeof(verdict) - len, "%s",
				ours <= target ? "target met" : "TARGET MISSED");
		json_object_object_add(jv, "target_met",
				       json_object_new_boolean(ours <= target));
		for (k = 0; k < b->nr_mon; k++) {
			/* the floor is no peer: it shows what is not ours */
			if (!isfinite(med[k]) ||
			    !strncmp(b->mon[k]->name, "exfilmon-", 9) ||
			    b->mon[k] == &mon_floor)
				continue;
			len += snprintf(verdict + len, sizeof(verdict) - len,
					"; %s %s", ours < med[k] ? "beats" :
					"LOSES TO", b->mon[k]->name);
			json_object_object_add(jv, b->mon[k]->name,
					       json_object_new_string(
					       ours < med[k] ? "beats" :
							       "loses to"));
		}
	}
	printf("  %s\n", verdict);
	json_object_object_add(jw, "what", json_object_new_string(what));
	json_object_object_add(jw, "target", jdouble(target));
	json_object_object_add(jw, !strcmp(unit, "ns") ? "base_ns_per_op" :
				   "base_ms", jdouble(base));
	json_object_object_add(jw, "monitors", jm);
	json_object_object_add(jw, "verdict", jv);
}

static void report_workload(struct bench *b, size_t w,
			    struct json_object *jw)
{
	const struct workload *wl = &workloads[w];
	double v[MAX_MONITORS][MAX_ROUNDS];
	int n[MAX_MONITORS];
	size_t k;

	for (k = 0; k < b->nr_mon; k++)
		n[k] = ratios(b, w, k, v[k]);
	report_row(b, wl->id, wl->what, base_per_op(b, w),
		   b->res[w].ops ? "ns" : "ms", wl->target, v, n, jw);
}

/*
 * P4 as the issue states it: the three tools' times added up, per monitor
 * and round, against the unmonitored sum next to them.
 */
static void report_p4(struct bench *b, struct json_object *jw)
{
	double v[MAX_MONITORS][MAX_ROUNDS], bases[MAX_MONITORS * MAX_ROUNDS];
	int n[MAX_MONITORS] = { 0 }, nb = 0, r;
	size_t w, k, parts = 0;
	struct json_object *j;

	for (w = 0; w < nr_workloads; w++)
		parts += b->ran[w] && !strncmp(workloads[w].id, "P4", 2);
	if (parts < 2)
		return;
	for (k = 0; k < b->nr_mon; k++) {
		for (r = 0; b->usable[k] && r < b->o.rounds; r++) {
			double ns = 0, base = 0;

			for (w = 0; w < nr_workloads; w++) {
				if (!b->ran[w] ||
				    strncmp(workloads[w].id, "P4", 2))
					continue;
				ns += b->res[w].ns[k][r];
				base += b->res[w].base[k][r];
			}
			if (!isfinite(ns / base) || base <= 0)
				continue;
			v[k][n[k]++] = ns / base;
			bases[nb++] = base;
		}
	}
	j = json_object_new_object();
	report_row(b, "P4", "the three tools together", median(bases, nb) / 1e6,
		   "ms", 1.02, v, n, j);
	json_object_object_add(jw, "P4", j);
}

static void machine(struct bench *b, struct json_object *j)
{
	char line[256], model[128] = "?";
	struct utsname u;
	FILE *f;

	uname(&u);
	f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "model name : %127[^\n]", model) == 1)
			break;
	if (f)
		fclose(f);
	json_object_object_add(j, "kernel", json_object_new_string(u.release));
	json_object_object_add(j, "machine", json_object_new_string(u.machine));
	json_object_object_add(j, "cpu", json_object_new_string(model));
	json_object_object_add(j, "cpus",
			       json_object_new_int(sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_object_add(j, "mem_mib", json_object_new_int64(
		(int64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) >> 20));
	printf("# %s %s, %s, %ld CPUs\n", u.sysname, u.release, model,
	       sysconf(_SC_NPROCESSORS_ONLN));
}

/* P5-P7: exfilmon's own figures, no peer has them. */
static void run_figures(struct bench *b)
{
	static const struct {
		const char *id, *what;
		int (*fn)(const struct bench_env *e, struct json_object *out);
	} figs[] = {
		{ "P5", "daemon ingest, one core", bench_ingest },
		{ "P6", "detection latency p99", bench_latency },
		{ "P7", "daemon RSS; kernel maps", bench_memory },
	};
	size_t i;

	for (i = 0; i < sizeof(figs) / sizeof(figs[0]); i++) {
		struct json_object *j, *v;

		if (!listed(b->o.only, figs[i].id) ||
		    b->o.guest)
			continue;
		fprintf(stderr, "# %s: %s\n", figs[i].id, figs[i].what);
		j = json_object_new_object();
		if (figs[i].fn(&b->e, j) ||
		    !json_object_object_get_ex(j, "value", &v)) {
			printf("not ok %s %s: no figure\n", figs[i].id,
			       figs[i].what);
			b->fail++;
		} else {
			b->pass++;
		}
		json_object_object_add(b->figures, figs[i].id, j);
	}
}

static void print_figures(struct bench *b)
{
	json_object_object_foreach(b->figures, id, j) {
		struct json_object *v, *u, *v2;

		if (!json_object_object_get_ex(j, "value", &v))
			continue;
		json_object_object_get_ex(j, "unit", &u);
		printf("%-6s %-30s %12.1f %s", id,
		       !strcmp(id, "P5") ? "daemon ingest, one core" :
		       !strcmp(id, "P6") ? "detection latency p99" :
					   "daemon RSS",
		       json_object_get_double(v),
		       u ? json_object_get_string(u) : "");
		if (json_object_object_get_ex(j, "value2", &v2))
			printf("; kernel maps %.1f MiB",
			       json_object_get_double(v2));
		printf("\n");
	}
}

/*
 * The guest's run (bench/run.sh): exfilmon.ko against eBPF inside Debian's
 * 6.1 under qemu. Its ratios are within the guest only: TCG slows the
 * guest's every instruction, not just the monitors'.
 */
static struct json_object *guest_table(struct bench *b)
{
	struct json_object *g, *jw, *jmach, *v;

	g = json_object_from_file(b->o.guest_results);
	if (!g) {
		fprintf(stderr, "exfilbench: %s: %s\n", b->o.guest_results,
			json_util_get_last_err());
		b->fail++;
		return NULL;
	}
	if (!json_object_object_get_ex(g, "workloads", &jw))
		return g;
	printf("# in the VM guest");
	if (json_object_object_get_ex(g, "machine", &jmach) &&
	    json_object_object_get_ex(jmach, "kernel", &v))
		printf(" (Linux %s under qemu TCG)", json_object_get_string(v));
	printf(": ratios within the guest\n");
	json_object_object_foreach(jw, id, w) {
		struct json_object *what, *mons;

		json_object_object_get_ex(w, "what", &what);
		printf("%-6s %-30s", id, json_object_get_string(what));
		if (json_object_object_get_ex(w, "monitors", &mons)) {
			json_object_object_foreach(mons, name, m) {
				struct json_object *r, *lo, *hi;

				if (!json_object_object_get_ex(m, "ratio", &r) ||
				    !json_object_object_get_ex(m, "ratio_min",
							       &lo) ||
				    !json_object_object_get_ex(m, "ratio_max",
							       &hi))
					continue;
				printf("  %s %.3f (%.3f-%.3f)", name,
				       json_object_get_double(r),
				       json_object_get_double(lo),
				       json_object_get_double(hi));
			}
		}
		printf("\n");
	}
	return g;
}

static int write_json(struct bench *b, struct json_object *root)
{
	char dir[512], *slash;

	snprintf(dir, sizeof(dir), "%s", b->o.out);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		run_cmd("mkdir -p %s", dir);
	}
	if (json_object_to_file_ext(b->o.out, root, JSON_C_TO_STRING_PRETTY |
				    JSON_C_TO_STRING_NOSLASHESCAPE)) {
		fprintf(stderr, "exfilbench: failed to write %s: %s\n",
			b->o.out, json_util_get_last_err());
		return -EIO;
	}
	printf("# results: %s\n", b->o.out);
	return 0;
}

int main(int argc, char **argv)
{
	struct json_object *root, *jw, *jmon, *jmach;
	struct bench b = {};
	size_t w, k;
	int r, err;

	if (parse(argc, argv, &b.o))
		return 2;
	if (geteuid()) {
		fprintf(stderr, "exfilbench: needs root (monitors load eBPF "
			"programs and audit rules)\n");
		return 1;
	}
	/* the daemon's config wants absolute paths */
	b.e.build = realpath(b.o.build, NULL);
	if (!b.e.build) {
		fprintf(stderr, "exfilbench: %s: %s\n", b.o.build,
			strerror(errno));
		return 1;
	}
	b.e.quick = b.o.quick;
	/*
	 * qemu's TCG runs the guest several times slower: an eighth of the
	 * work takes about as long there as all of it here
	 */
	b.e.div = b.o.quick ? 16 : b.o.guest ? 8 : 1;
	b.e.in_guest = b.o.guest;
	b.e.sensor = b.o.guest ? "kmod" : "bpf";
	b.res = calloc(nr_workloads, sizeof(*b.res));
	b.figures = json_object_new_object();
	root = json_object_new_object();
	jmach = json_object_new_object();
	machine(&b, jmach);
	if (!b.res)
		return 1;
	for (w = 0; w < nr_workloads; w++)
		b.ran[w] = listed(b.o.only, workloads[w].id) &&
			   !(b.o.guest && workloads[w].tools);
	err = fixtures_make(&b.e);
	if (err) {
		fprintf(stderr, "exfilbench: failed to make the fixtures\n");
		fixtures_drop(&b.e);
		return 1;
	}
	if (pick_monitors(&b)) {
		fixtures_drop(&b.e);
		return 2;
	}
	audit_quiet(1);
	for (k = 0; k < b.nr_mon; k++)
		if (!b.usable[k])
			fprintf(stderr, "# %s cannot run here: %s\n",
				b.mon[k]->name, b.why[k]);
	warm_up(&b);
	for (r = 0; r < b.o.rounds; r++)
		run_round(&b, r);
	run_figures(&b);
	audit_quiet(0);
	fixtures_drop(&b.e);

	printf("# ratio = time monitored / time unmonitored: median "
	       "(lowest-highest) of %d round(s)%s\n", b.o.rounds,
	       b.o.quick ? "; QUICK: sizes too small for the figures to mean "
	       "anything" : "");
	printf("%-6s %-30s %12s %6s", "", "workload", "unmonitored",
	       "target");
	for (k = 0; k < b.nr_mon; k++)
		printf("  %-22s", b.mon[k]->name);
	printf("  verdict\n");
	jw = json_object_new_object();
	for (w = 0; w < nr_workloads; w++) {
		struct json_object *j;

		if (!b.ran[w])
			continue;
		j = json_object_new_object();
		report_workload(&b, w, j);
		json_object_object_add(jw, workloads[w].id, j);
	}
	report_p4(&b, jw);
	print_figures(&b);
	if (b.o.guest_results) {
		struct json_object *g = guest_table(&b);

		if (g)
			json_object_object_add(root, "guest", g);
	}
	jmon = json_object_new_object();
	for (k = 0; k < b.nr_mon; k++) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "usable",
				       json_object_new_boolean(b.usable[k]));
		if (!b.usable[k]) {
			json_object_object_add(j, "why",
					       json_object_new_string(b.why[k]));
			b.skip++;
		}
		json_object_object_add(j, "seen", b.seen[k]);
		json_object_object_add(jmon, b.mon[k]->name, j);
	}
	json_object_object_add(root, "machine", jmach);
	json_object_object_add(root, "quick", json_object_new_boolean(b.o.quick));
	json_object_object_add(root, "rounds", json_object_new_int(b.o.rounds));
	json_object_object_add(root, "monitors", jmon);
	json_object_object_add(root, "workloads", jw);
	json_object_object_add(root, "figures", b.figures);
	if (write_json(&b, root))
		b.fail++;
	json_object_put(root);
	free(b.res);
	printf("%d passed, %d failed, %d skipped\n", b.pass, b.fail, b.skip);
	return b.fail ? 1 : 0;
}
