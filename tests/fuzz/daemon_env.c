// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon the IPC and record fuzz targets talk to: everything exfilmond's
 * main() sets up, from the same functions, except what needs the kernel.
 * The stand-in sensor answers as a sensor with empty tables would: no
 * process, every counter looked up absent (zeroed, as both real sensors do),
 * no statistics. That is a state the real daemon meets (a fresh module), so
 * every path it drives is one the daemon runs.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sanitizer/common_interface_defs.h>
#include <systemd/sd-journal.h>

#include "daemon_env.h"

/* exfilmond's SETTLE_NS: alerts settle 5 s after their last send */
#define ENV_SETTLE_NS (5ull * 1000000000ull)

unsigned long daemon_env_journal_lines;

static char env_dir[PATH_MAX];
static char env_db[PATH_MAX + 16];
static char env_jsonlog[PATH_MAX + 16];

/*
 * alert_sink.c sends each alert to the journal. A fuzzer raises thousands
 * of alerts a second, which must not land in the host's journal, so this
 * definition takes the place of libsystemd's for the target (the
 * executable's symbol wins over the shared library's; sd_journal_send() is
 * a macro calling it). It still formats the MESSAGE field with the
 * arguments alert_journal() passes, so a bad one is caught by the
 * sanitizers.
 */
int sd_journal_send_with_location(const char *file, const char *lineno,
				  const char *func, const char *format, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, format);
	vsnprintf(line, sizeof(line), format, ap);
	va_end(ap);
	if (strncmp(line, "MESSAGE=", 8)) {
		fprintf(stderr, "daemon_env: journal entry without MESSAGE: %s\n",
			line);
		daemon_env_abort();
	}
	daemon_env_journal_lines++;
	return 0;
}

static int fake_stats(struct sensor *s, uint64_t stats[EXFILMON_STAT_NR])
{
	memset(stats, 0, EXFILMON_STAT_NR * sizeof(stats[0]));
	return 0;
}

static int fake_poll(struct sensor *s)
{
	return 0;
}

static int fake_fd(struct sensor *s)
{
	return -1;
}

static int fake_watch_add(struct sensor *s, const struct exfilmon_file_key *k,
			  const struct exfilmon_obj *w)
{
	return 0;
}

static int fake_watch_rm(struct sensor *s, const struct exfilmon_file_key *k)
{
	return 0;
}

static int fake_watch_rm_id(struct sensor *s, uint32_t watch_id)
{
	return 0;
}

static int fake_fd_key(struct sensor *s, int fd, struct exfilmon_file_key *k)
{
	return -EOPNOTSUPP;
}

static int fake_proc_get(struct sensor *s, const struct exfilmon_pkey *k,
			 struct exfilmon_proc *out)
{
	return -ENOENT;
}

static int fake_proc_forget(struct sensor *s, const struct exfilmon_pkey *k,
			    size_t nr)
{
	return 0;
}

static int fake_each_proc(struct sensor *s,
			  int (*fn)(void *, const struct exfilmon_pkey *,
				    const struct exfilmon_proc *),
			  void *ctx)
{
	return 0;
}

static int fake_each_read(struct sensor *s,
			  int (*fn)(void *, const struct exfilmon_read_key *,
				    const struct exfilmon_count *),
			  void *ctx)
{
	return 0;
}

static int fake_each_send(struct sensor *s,
			  int (*fn)(void *, const struct exfilmon_send_key *,
				    const struct exfilmon_count *),
			  void *ctx)
{
	return 0;
}

static int fake_each_obj(struct sensor *s,
			 int (*fn)(void *, const struct exfilmon_file_key *,
				   const struct exfilmon_obj *),
			 void *ctx)
{
	return 0;
}

/* Every key absent: its value zeroed, as include/exfilmon_abi.h says. */
static int fake_table_lookup(struct sensor *s, uint32_t table, void *entries,
			     size_t count)
{
	struct exfilmon_read_entry *r = entries;
	struct exfilmon_send_entry *e = entries;
	size_t i;

	for (i = 0; i < count; i++) {
		switch (table) {
		case EXFILMON_TABLE_READS:
		case EXFILMON_TABLE_FLOWS:
			memset(&r[i].val, 0, sizeof(r[i].val));
			break;
		case EXFILMON_TABLE_SENDS:
			memset(&e[i].val, 0, sizeof(e[i].val));
			break;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

static const struct sensor_ops fake_ops = {
	.kind = "fuzz",
	.fd = fake_fd,
	.poll = fake_poll,
	.watch_add = fake_watch_add,
	.watch_rm = fake_watch_rm,
	.watch_rm_id = fake_watch_rm_id,
	.fd_key = fake_fd_key,
	.stats = fake_stats,
	.proc_get = fake_proc_get,
	.proc_forget = fake_proc_forget,
	.for_each_proc = fake_each_proc,
	.for_each_read = fake_each_read,
	.for_each_send = fake_each_send,
	.for_each_flow = fake_each_read,
	.table_lookup = fake_table_lookup,
	.for_each_watched = fake_each_obj,
	.for_each_stream = fake_each_obj,
};

static struct sensor fake_sensor = {
	.ops = &fake_ops,
	.abi_version = EXFILMON_ABI_MAJOR << 16 | EXFILMON_ABI_MINOR,
};

/* The folder holds only what the store and the JSON log created. */
static void daemon_env_remove(void)
{
	struct dirent *de;
	char path[PATH_MAX + 300];
	DIR *dir;

	if (!env_dir[0])
		return;
	dir = opendir(env_dir);
	if (dir) {
		while ((de = readdir(dir))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", env_dir,
				 de->d_name);
			unlink(path);
		}
		closedir(dir);
	}
	rmdir(env_dir);
}

void daemon_env_abort(void)
{
	daemon_env_remove();
	abort();
}

const char *daemon_env_db(void)
{
	return env_db;
}

const char *daemon_env_jsonlog(void)
{
	return env_jsonlog;
}

int daemon_env_begin(struct daemon *d)
{
	struct corr_params cp = {
		.read_threshold = d->cfg.read_threshold,
		.send_threshold = d->cfg.send_threshold,
		.window_ns = d->cfg.window_ns,
		.settle_ns = ENV_SETTLE_NS,
	};
	int ret;

	ret = proctree_init(&d->procs, d->cfg.window_ns);
	if (ret)
		return ret;
	d->corr = corr_new(&cp, &d->cfg, daemon_on_alert, d);
	if (!d->corr) {
		ret = -ENOMEM;
		goto out_procs;
	}
	ret = live_init(&d->live);
	if (ret)
		goto out_corr;
	d->settled_ns = 0;
	d->records = 0;
	return 0;

out_corr:
	corr_free(d->corr);
	d->corr = NULL;
out_procs:
	proctree_destroy(&d->procs);
	return ret;
}

void daemon_env_end(struct daemon *d)
{
	collected_destroy(&d->collected);
	live_destroy(&d->live);
	corr_free(d->corr);
	d->corr = NULL;
	proctree_destroy(&d->procs);
	free(d->exited);
	d->exited = NULL;
	d->nr_exited = 0;
}

void daemon_env_feed(struct daemon *d, const void *data, size_t size)
{
	const size_t hlen = sizeof(struct exfilmon_rec_hdr);
	struct exfilmon_rec_hdr h;
	struct flow_env env;
	size_t off = 0, n;
	void *rec;

	while (size - off >= hlen) {
		memcpy(&h, (const char *)data + off, hlen);
		/* at least a header: the ring's record is never shorter */
		n = h.size < hlen ? hlen : h.size;
		if (n > size - off)
			break;
		/* malloc's blocks are 16-byte aligned, its redzone at n */
		rec = malloc(n);
		if (!rec)
			daemon_env_abort();
		memcpy(rec, (const char *)data + off, n);
		daemon_on_record(d, rec, h.size);
		free(rec);
		off += n;
	}
	/*
	 * What the event loop does next: look the announced counters up
	 * (all absent here), then a tick; then close every window, as time
	 * passing would, so each alert settles and is written out.
	 */
	daemon_settle(d);
	daemon_flow_env(d, &env);
	corr_tick(d->corr, now_boot_ns(), &env);
	corr_tick(d->corr, UINT64_MAX / 2, &env);
}

int daemon_env_seed(struct daemon *d)
{
	static const char *const seeds[] = { "theft", "pipe_chain",
					     "staged_file" };
	char path[PATH_MAX], *buf;
	size_t i, len;
	FILE *f;
	int ret;

	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		snprintf(path, sizeof(path), "%s/fuzz_records/%s",
			 FUZZ_CORPUS_DIR, seeds[i]);
		f = fopen(path, "re");
		if (!f) {
			ret = -errno;
			fprintf(stderr, "daemon_env: failed to open %s: %s\n",
				path, strerror(errno));
			return ret;
		}
		buf = malloc(64 * 1024);
		if (!buf)
			daemon_env_abort();
		len = fread(buf, 1, 64 * 1024, f);
		fclose(f);
		ret = daemon_env_begin(d);
		if (ret) {
			free(buf);
			return ret;
		}
		daemon_env_feed(d, buf, len);
		daemon_env_end(d);
		free(buf);
	}
	return 0;
}

int daemon_env_open(struct daemon *d)
{
	const char *tmp = getenv("TMPDIR");
	char err[512];
	int ret;

	memset(d, 0, sizeof(*d));
	snprintf(env_dir, sizeof(env_dir), "%s/exfilmon-fuzz.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(env_dir)) {
		ret = -errno;
		fprintf(stderr, "daemon_env: failed to create %s: %s\n",
			env_dir, strerror(errno));
		env_dir[0] = '\0';
		return ret;
	}
	/* at exit, and when a sanitizer stops the run */
	atexit(daemon_env_remove);
	__sanitizer_set_death_callback(daemon_env_remove);
	snprintf(env_db, sizeof(env_db), "%s/alerts.db", env_dir);
	snprintf(env_jsonlog, sizeof(env_jsonlog), "%s/alerts.json", env_dir);

	ret = config_defaults(&d->cfg);
	if (ret)
		goto fail;
	free(d->cfg.state_dir);
	free(d->cfg.json_log);
	free(d->cfg.path);
	d->cfg.state_dir = strdup(env_dir);
	d->cfg.json_log = strdup(env_jsonlog);
	d->cfg.path = strdup("/nonexistent/exfilmon.conf");
	ret = -ENOMEM;
	if (!d->cfg.state_dir || !d->cfg.json_log || !d->cfg.path)
		goto fail;
	d->reader_gid = DAEMON_ENV_READER_GID;
	d->sensor = &fake_sensor;
	d->started_ns = now_boot_ns();

	ret = store_open(&d->store, env_dir, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "daemon_env: failed to open the store: %s\n",
			err);
		return ret;
	}
	store_set_derived_max(d->store, d->cfg.max_watch);
	/* The fuzzer's queries must not spend 5 s each. */
	store_set_query_limits(d->store, 200000, 200);
	ret = jsonlog_open(&d->jsonlog, env_jsonlog);
	if (ret)
		goto fail;
	ret = watchlist_init(&d->watches, d->sensor);
	if (ret)
		goto fail;
	return 0;

	/* the target aborts: what was set up goes with the process */
fail:
	fprintf(stderr, "daemon_env: failed to set up the daemon: %s\n",
		strerror(-ret));
	return ret;
}

int64_t daemon_env_data_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &st,
			       NULL) != SQLITE_OK)
		daemon_env_abort();
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (v < 0)
		daemon_env_abort();
	return v;
}
