// SPDX-License-Identifier: GPL-2.0-only
/*
 * The short fuzz pass of `make check`: for each libFuzzer target
 * (tests/fuzz/fuzz_*.c, built by tests/fuzz/fuzz.mk into BUILD/fuzz), every
 * committed seed and regression input is replayed, then the target fuzzes
 * for 20 s (EXFILMON_FUZZ_SECONDS) from them. A crash, leak, UB or broken
 * invariant makes libFuzzer exit non-zero and the test fail, naming the
 * input it saved. `make fuzz` is the long run (docs/fuzzing.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define FUZZ_SECONDS	15
#define MAX_SEEDS	256

FIXTURE(fuzz) {
	char bin[PATH_MAX];
	char seeds[PATH_MAX];
	char work[PATH_MAX];	/* this run's corpus, artifacts and log */
	char log[PATH_MAX + 8];
};

FIXTURE_VARIANT(fuzz) {
	const char *target;
};

FIXTURE_VARIANT_ADD(fuzz, config) { .target = "fuzz_config" };
FIXTURE_VARIANT_ADD(fuzz, ipc) { .target = "fuzz_ipc" };
FIXTURE_VARIANT_ADD(fuzz, records) { .target = "fuzz_records" };
FIXTURE_VARIANT_ADD(fuzz, sql) { .target = "fuzz_sql" };

FIXTURE_SETUP(fuzz)
{
	const char *build = getenv("EXFILMON_BUILD");
	char path[PATH_MAX];

	if (!build || !*build)
		build = "build";
	snprintf(self->bin, sizeof(self->bin), "%s/fuzz/%s", build,
		 variant->target);
	snprintf(self->seeds, sizeof(self->seeds), "%s/%s", FUZZ_CORPUS_DIR,
		 variant->target);
	self->work[0] = '\0';
	if (access(self->bin, X_OK))
		return;	/* the test says why it skips */
	snprintf(path, sizeof(path), "%s/fuzz/short", build);
	mkdir(path, 0755);
	snprintf(self->work, sizeof(self->work), "%s/%s.XXXXXX", path,
		 variant->target);
	ASSERT_NE(NULL, mkdtemp(self->work)) TH_LOG("%s: %s", self->work,
						   strerror(errno));
	snprintf(self->log, sizeof(self->log), "%s/log", self->work);
}

FIXTURE_TEARDOWN(fuzz)
{
	char cmd[PATH_MAX + 16];

	/* kept when the test failed: the crashing input is in there */
	if (self->work[0] && _metadata->passed) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->work);
		system(cmd);
	}
}

/* Run the target with argv, output to log; its exit status, or -1. */
static int run(const char *log, char *const argv[])
{
	int status, fd;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The end of the log, where libFuzzer says what went wrong. */
static void show_log(const char *log)
{
	char line[512];
	long lines = 0, skip;
	FILE *f;

	f = fopen(log, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		lines++;
	rewind(f);
	for (skip = lines - 40; skip > 0 && fgets(line, sizeof(line), f); skip--)
		;
	while (fgets(line, sizeof(line), f))
		ksft_print_msg("  %s", line);
	fclose(f);
	fflush(stdout);
}

/* libFuzzer's stat::number_of_executed_units, or -1 */
static long executions(const char *log)
{
	char line[256];
	long n = -1;
	FILE *f;

	f = fopen(log, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		sscanf(line, "stat::number_of_executed_units: %ld", &n);
	fclose(f);
	return n;
}

static int seed_files(const char *dir, char **files, int max)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&files[n], "%s/%s", dir, de->d_name) < 0)
			break;
		n++;
	}
	closedir(d);
	return n;
}

TEST_F_TIMEOUT(fuzz, seeds_then_fuzz, 120)
{
	const char *env = getenv("EXFILMON_FUZZ_SECONDS");
	char *argv[MAX_SEEDS + 2], corpus[PATH_MAX + 8];
	char max_time[32], artifacts[PATH_MAX + 32];
	char *fuzz_argv[] = { self->bin, max_time, "-timeout=25",
			      "-print_final_stats=1", artifacts, corpus,
			      self->seeds, NULL };
	int nr, i, ret;
	long execs;

	if (!self->work[0])
		SKIP(return, "%s is not built here (the VM guests carry only "
		     "the test programs; the host suite fuzzes)", self->bin);

	/* every seed and regression input, once each */
	nr = seed_files(self->seeds, argv + 1, MAX_SEEDS);
	ASSERT_LT(0, nr) TH_LOG("no seeds in %s", self->seeds);
	argv[0] = self->bin;
	argv[nr + 1] = NULL;
	ret = run(self->log, argv);
	for (i = 1; i <= nr; i++)
		free(argv[i]);
	if (ret)
		show_log(self->log);
	ASSERT_EQ(0, ret) TH_LOG("%s failed on a seed (log: %s)",
				 variant->target, self->log);

	/* then fuzz from them; new inputs go to the work folder */
	snprintf(max_time, sizeof(max_time), "-max_total_time=%d",
		 env && atoi(env) > 0 ? atoi(env) : FUZZ_SECONDS);
	snprintf(artifacts, sizeof(artifacts), "-artifact_prefix=%s/",
		 self->work);
	snprintf(corpus, sizeof(corpus), "%s/corpus", self->work);
	ASSERT_EQ(0, mkdir(corpus, 0755));
	ret = run(self->log, fuzz_argv);
	if (ret)
		show_log(self->log);
	ASSERT_EQ(0, ret) TH_LOG("%s found a bug: the input is in %s",
				 variant->target, self->work);
	execs = executions(self->log);
	ASSERT_LT(0, execs) TH_LOG("no executions reported in %s", self->log);
	ksft_print_msg("%s: %d seeds replayed, %ld executions, 0 crashes\n",
		       variant->target, nr, execs);
	fflush(stdout);	/* the harness's child leaves by _exit() */
}

TEST_HARNESS_MAIN
