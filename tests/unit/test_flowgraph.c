// SPDX-License-Identifier: GPL-2.0-only
/*
 * The chain (docs/flow.md, "The chain"): from the counters the records
 * carry to the steps an alert names, reader first. Pipelines, fork and
 * exec, a staged copy read after its writer is gone or after the daemon
 * restarted, and the graphs a hostile or confused process table could
 * make: loops, unknown links, chains too long to show.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "correlate.h"
#include "flowgraph.h"
#include "store.h"

#define S	1000000000ull
#define KiB	(1ull << 10)
#define MiB	(1ull << 20)
#define WINDOW	(3600 * S)
#define T0	(1000 * S)
#define DB	1

static const struct exfilmon_file_key db = { .dev = 8 << 20 | 1, .ino = 42 };
static const struct exfilmon_file_key hr = { .dev = 8 << 20 | 1, .ino = 43 };
static const struct exfilmon_file_key pipe1 = { .dev = 12, .ino = 9001 };
static const struct exfilmon_file_key notes = { .dev = 8 << 20 | 2,
						.ino = 777 };

static struct exfilmon_pkey pk(uint32_t pid)
{
	return (struct exfilmon_pkey){ .tgid = pid, .start_ns = pid * 10 };
}

/* The paths of the configured watches, as the daemon's watch list says. */
static void resolve(void *ctx, const struct exfilmon_file_key *key,
		    uint32_t watch_id, char *buf, size_t len)
{
	if (key->ino == db.ino)
		snprintf(buf, len, "/srv/crm/customers.db");
	else if (key->ino == hr.ino)
		snprintf(buf, len, "/srv/hr/salaries.csv");
	else
		snprintf(buf, len, "(inode %llu)",
			 (unsigned long long)key->ino);
}

/*
 * Process pid (named comm, running exe) as its records show it: taint
 * that came through chan from src_pid (0: none) via object obj.
 */
static void proc(struct flowgraph *g, uint32_t pid, const char *comm,
		 const char *exe, uint32_t chan, uint32_t src_pid,
		 const struct exfilmon_file_key *obj, uint64_t src_bytes,
		 uint64_t taint, uint64_t ts)
{
	struct exfilmon_pkey key = pk(pid);
	struct exfilmon_proc p;

	memset(&p, 0, sizeof(p));
	p.taint = taint;
	p.watch_id = DB;
	p.first_ns = ts;
	p.last_ns = ts;
	p.src_chan = chan;
	if (src_pid)
		p.src = pk(src_pid);
	if (obj)
		p.src_obj = *obj;
	p.src_bytes = src_bytes;
	if (chan == EXFILMON_CHAN_READ)
		p.bytes_read = src_bytes;
	flowgraph_proc(g, &key, &p, comm, exe, ts);
}

/* The chain of pid as `show` prints it, ending at dest. */
static char *chain_text(struct flowgraph *g, uint32_t pid,
			const struct flow_env *env, size_t *nr)
{
	struct exfilmon_pkey key = pk(pid);
	struct alert_step *steps;
	char *line;

	if (flowgraph_chain(g, &key, env, &steps, nr))
		return NULL;
	line = alert_chain_line(steps, *nr, "198.18.0.2:443", NULL, 0);
	free(steps);
	return line;
}

#define EXPECT_CHAIN(g, pid, env, want_nr, want) do {			\
	size_t _nr = 0;							\
	char *_line = chain_text((g), (pid), (env), &_nr);		\
									\
	ASSERT_NE(NULL, _line);						\
	EXPECT_STREQ((want), _line);					\
	EXPECT_EQ((want_nr), _nr);					\
	free(_line);							\
} while (0)

#define AR "\xe2\x86\x92"	/* → */

FIXTURE(graph) {
	struct flowgraph *g;
	struct flow_env env;
};

FIXTURE_SETUP(graph)
{
	struct flowgraph_params p = { .window_ns = WINDOW };

	self->g = flowgraph_new(&p);
	ASSERT_NE(NULL, self->g);
	self->env.resolve = resolve;
}

FIXTURE_TEARDOWN(graph)
{
	flowgraph_free(self->g);
}

TEST_F(graph, pipeline_of_four_names_every_step)
{
	/* sqlite3 db .dump | gzip | base64 | curl --data-binary @- */
	proc(self->g, 4100, "sqlite3", "/usr/bin/sqlite3", EXFILMON_CHAN_READ,
	     0, &db, 10276044, 10276044, T0);
	proc(self->g, 4101, "gzip", "/usr/bin/gzip", EXFILMON_CHAN_PIPE,
	     4100, &pipe1, 10380902, 10380902, T0 + S);
	proc(self->g, 4102, "base64", "/usr/bin/base64", EXFILMON_CHAN_PIPE,
	     4101, &pipe1, 3250585, 3250585, T0 + 2 * S);
	proc(self->g, 4103, "curl", "/usr/bin/curl", EXFILMON_CHAN_PIPE, 4102,
	     &pipe1, 4404019, 4404019, T0 + 3 * S);
	EXPECT_CHAIN(self->g, 4103, &self->env, 4,
		     "sqlite3[4100] read 9.8 MiB of /srv/crm/customers.db "
		     AR "pipe 9.9 MiB" AR " gzip[4101] " AR "pipe 3.1 MiB" AR
		     " base64[4102] " AR "pipe 4.2 MiB" AR " curl[4103] " AR
		     " 198.18.0.2:443");
	/* a step of the middle has its own, shorter chain */
	EXPECT_CHAIN(self->g, 4101, &self->env, 2,
		     "sqlite3[4100] read 9.8 MiB of /srv/crm/customers.db "
		     AR "pipe 9.9 MiB" AR " gzip[4101] " AR " 198.18.0.2:443");
}

TEST_F(graph, steps_carry_names_channels_and_bytes)
{
	struct exfilmon_pkey key = pk(11);
	struct alert_step *st;
	size_t nr;

	proc(self->g, 10, "python3", "/usr/bin/python3.11", EXFILMON_CHAN_READ,
	     0, &db, 3 * MiB, 3 * MiB, T0);
	proc(self->g, 11, "python3", "/usr/bin/python3.11", EXFILMON_CHAN_FORK,
	     10, NULL, 3 * MiB, 3 * MiB, T0 + S);
	ASSERT_EQ(0, flowgraph_chain(self->g, &key, &self->env, &st, &nr));
	ASSERT_EQ(2, nr);
	EXPECT_EQ(10, st[0].pid);
	EXPECT_EQ(VIA_READ, st[0].via);
	EXPECT_STREQ("python3", st[0].comm);
	EXPECT_STREQ("/usr/bin/python3.11", st[0].exe);
	EXPECT_STREQ("/srv/crm/customers.db", st[0].object);
	EXPECT_EQ(3 * MiB, st[0].bytes);
	EXPECT_EQ(11, st[1].pid);
	EXPECT_EQ(VIA_FORK, st[1].via);
	EXPECT_STREQ("", st[1].object);
	EXPECT_EQ(3 * MiB, st[1].bytes);
	free(st);
}

TEST_F(graph, exec_after_taint_is_a_step)
{
	struct exfilmon_pkey key = pk(500);

	/* the shell read it, then ran curl in its place */
	proc(self->g, 500, "bash", "/usr/bin/bash", EXFILMON_CHAN_READ, 0, &db,
	     MiB, MiB, T0);
	flowgraph_exec(self->g, &key, "curl", "/usr/bin/curl");
	EXPECT_CHAIN(self->g, 500, &self->env, 2,
		     "bash[500] read 1.0 MiB of /srv/crm/customers.db "
		     AR "exec" AR " curl[500] " AR " 198.18.0.2:443");
	/* later records name it curl: still one exec step */
	proc(self->g, 500, "curl", "/usr/bin/curl", EXFILMON_CHAN_READ, 0, &db,
	     MiB, MiB, T0 + S);
	EXPECT_CHAIN(self->g, 500, &self->env, 2,
		     "bash[500] read 1.0 MiB of /srv/crm/customers.db "
		     AR "exec" AR " curl[500] " AR " 198.18.0.2:443");
}

/*
 * Processes share their names in memory: one that execs must not rename
 * the others that ran the same image.
 */
TEST_F(graph, an_exec_renames_only_its_own_process)
{
	struct exfilmon_pkey key = pk(601);

	proc(self->g, 600, "worker", "/usr/sbin/worker", EXFILMON_CHAN_READ,
	     0, &db, MiB, MiB, T0);
	proc(self->g, 601, "worker", "/usr/sbin/worker", EXFILMON_CHAN_READ,
	     0, &db, MiB, MiB, T0);
	flowgraph_exec(self->g, &key, "curl", "/usr/bin/curl");
	EXPECT_CHAIN(self->g, 601, &self->env, 2,
		     "worker[601] read 1.0 MiB of /srv/crm/customers.db "
		     AR "exec" AR " curl[601] " AR " 198.18.0.2:443");
	EXPECT_CHAIN(self->g, 600, &self->env, 1,
		     "worker[600] read 1.0 MiB of /srv/crm/customers.db "
		     AR " 198.18.0.2:443");
	/* back to the image it was tainted in: no exec step any more */
	flowgraph_exec(self->g, &key, "worker", "/usr/sbin/worker");
	EXPECT_CHAIN(self->g, 601, &self->env, 1,
		     "worker[601] read 1.0 MiB of /srv/crm/customers.db "
		     AR " 198.18.0.2:443");
}

TEST_F(graph, unknown_links_are_question_marks)
{
	/* gzip's writer was never seen, and nc's source is not named */
	proc(self->g, 4101, "gzip", "/usr/bin/gzip", EXFILMON_CHAN_PIPE, 4100,
	     &pipe1, 2 * MiB, 2 * MiB, T0);
	EXPECT_CHAIN(self->g, 4101, &self->env, 2,
		     "?[4100] " AR "pipe 2.0 MiB" AR " gzip[4101] " AR
		     " 198.18.0.2:443");
	proc(self->g, 4200, "nc", "/usr/bin/nc", EXFILMON_CHAN_NONE, 0, NULL,
	     0, MiB, T0);
	EXPECT_CHAIN(self->g, 4200, &self->env, 2,
		     "? " AR "?" AR " nc[4200] " AR " 198.18.0.2:443");
	/* a process never seen at all */
	EXPECT_CHAIN(self->g, 9999, &self->env, 1,
		     "?[9999] " AR " 198.18.0.2:443");
}

TEST_F(graph, loops_and_long_chains_stop)
{
	struct exfilmon_pkey key = pk(1);
	struct alert_step *st;
	size_t nr;
	int i;

	/* each names the other as its source */
	proc(self->g, 1, "a", "/bin/a", EXFILMON_CHAN_UNIX, 2, &pipe1, KiB,
	     MiB, T0);
	proc(self->g, 2, "b", "/bin/b", EXFILMON_CHAN_UNIX, 1, &pipe1, KiB,
	     MiB, T0);
	ASSERT_EQ(0, flowgraph_chain(self->g, &key, &self->env, &st, &nr));
	ASSERT_EQ(3, nr);
	EXPECT_EQ(0, st[0].pid);
	EXPECT_STREQ("", st[0].comm);
	EXPECT_EQ(2, st[1].pid);
	EXPECT_EQ(1, st[2].pid);
	free(st);

	/* a relay of 40 processes: the last steps, behind a "?" */
	proc(self->g, 100, "r0", "/bin/r", EXFILMON_CHAN_READ, 0, &db, MiB,
	     MiB, T0);
	for (i = 1; i < 40; i++) {
		char comm[16];

		snprintf(comm, sizeof(comm), "r%d", i);
		proc(self->g, 100 + i, comm, "/bin/r", EXFILMON_CHAN_TCP,
		     99 + i, &pipe1, MiB, MiB, T0 + i);
	}
	key = pk(139);
	ASSERT_EQ(0, flowgraph_chain(self->g, &key, &self->env, &st, &nr));
	ASSERT_EQ(ALERT_CHAIN_MAX, nr);
	EXPECT_EQ(0, st[0].pid);
	EXPECT_EQ(VIA_UNKNOWN, st[0].via);
	EXPECT_EQ(139, st[nr - 1].pid);
	EXPECT_EQ(VIA_TCP, st[nr - 1].via);
	EXPECT_EQ(139 - (ALERT_CHAIN_MAX - 2), st[1].pid);
	free(st);
}

TEST(derived_paths_are_put_in_order)
{
	char buf[64];

	flow_derived_path("notes.txt\0tmp\0", 14, 0, buf, sizeof(buf));
	EXPECT_STREQ("/tmp/notes.txt", buf);
	flow_derived_path("x.tgz\0y\0home\0", 13, EXFILMON_DERIVED_TRUNCATED,
			  buf, sizeof(buf));
	EXPECT_STREQ("\xe2\x80\xa6/home/y/x.tgz", buf);
	/* a last name the sensor cut has no NUL; empty names are skipped */
	flow_derived_path("a\0\0b\0sh", 8, 0, buf, sizeof(buf));
	EXPECT_STREQ("/sh/b/a", buf);
	flow_derived_path("buf\0", 4, 0, buf, sizeof(buf));
	EXPECT_STREQ("/buf", buf);
	flow_derived_path("", 0, 0, buf, sizeof(buf));
	EXPECT_STREQ("", buf);
	/* too long for the buffer: cut, terminated */
	flow_derived_path("abcdefghijklmnopqrstuvwxyz\0dir\0", 31, 0, buf, 12);
	EXPECT_STREQ("/dir/abcdef", buf);
}

/* cp db /tmp/notes.txt: the mark as the sensor reports it */
static void stage_copy(struct flowgraph *g, const struct flow_env *env,
		       uint32_t writer, uint64_t ts)
{
	static const char comps[] = "notes.txt\0tmp\0";
	struct exfilmon_pkey key = pk(writer);
	struct exfilmon_obj obj = {
		.flags = EXFILMON_OBJ_DERIVED, .watch_id = DB,
		.chan = EXFILMON_CHAN_FILE, .gen = 7, .taint = 64 * KiB,
	};
	char path[ALERT_OBJECT_LEN];

	proc(g, writer, "cp", "/usr/bin/cp", EXFILMON_CHAN_READ, 0, &db,
	     5 * MiB, 5 * MiB, ts);
	obj.writer = key;
	flow_derived_path(comps, sizeof(comps) - 1, 0, path, sizeof(path));
	flowgraph_derived(g, &key, &notes, &obj, path, ts, env);
	flowgraph_flow(g, &key, &notes, EXFILMON_CHAN_FILE, DB, 5 * MiB, ts,
		       env);
}

TEST_F(graph, staged_copy_read_after_its_writer_is_gone)
{
	struct exfilmon_pkey cp = pk(200);

	stage_copy(self->g, &self->env, 200, T0);
	flowgraph_exit(self->g, &cp, T0 + S);
	/* two windows later the copier's node is gone */
	flowgraph_tick(self->g, T0 + 2 * WINDOW, &self->env);
	/* an upload from a new session: its source is the copy */
	proc(self->g, 300, "curl", "/usr/bin/curl", EXFILMON_CHAN_FILE, 200,
	     &notes, 5 * MiB, 5 * MiB, T0 + 2 * WINDOW + S);
	EXPECT_CHAIN(self->g, 300, &self->env, 2,
		     "cp[200] read 5.0 MiB of /srv/crm/customers.db "
		     AR "file /tmp/notes.txt 5.0 MiB" AR " curl[300] " AR
		     " 198.18.0.2:443");
}

TEST_F(graph, shared_memory_is_shown_as_shm)
{
	static const char comps[] = "buf\0shm\0dev\0";
	struct exfilmon_pkey w = pk(40);
	struct exfilmon_obj obj = {
		.flags = EXFILMON_OBJ_DERIVED, .watch_id = DB,
		.chan = EXFILMON_CHAN_FILE, .gen = 1, .taint = MiB,
	};
	char path[64];

	proc(self->g, 40, "writer", "/bin/w", EXFILMON_CHAN_READ, 0, &db, MiB,
	     MiB, T0);
	obj.writer = w;
	flow_derived_path(comps, sizeof(comps) - 1, 0, path, sizeof(path));
	flowgraph_derived(self->g, &w, &notes, &obj, path, T0, &self->env);
	/* read through a file descriptor, the channel says file */
	proc(self->g, 41, "reader", "/bin/r", EXFILMON_CHAN_FILE, 40, &notes,
	     MiB, MiB, T0 + S);
	EXPECT_CHAIN(self->g, 41, &self->env, 2,
		     "writer[40] read 1.0 MiB of /srv/crm/customers.db "
		     AR "shm /dev/shm/buf 1.0 MiB" AR " reader[41] " AR
		     " 198.18.0.2:443");
}

TEST_F(graph, process_nodes_are_bounded)
{
	struct flowgraph_params p = { .window_ns = WINDOW, .max_procs = 4 };
	struct flowgraph_stats st;
	struct flowgraph *g = flowgraph_new(&p);
	int i;

	ASSERT_NE(NULL, g);
	for (i = 0; i < 6; i++)
		proc(g, 10 + i, "p", "/bin/p", EXFILMON_CHAN_READ, 0, &db, KiB,
		     KiB, T0 + i);
	flowgraph_stats(g, &st);
	EXPECT_EQ(4, st.procs);
	EXPECT_EQ(2, st.procs_evicted);
	/* the least recently seen went: 10 and 11 */
	EXPECT_CHAIN(g, 10, &self->env, 1, "?[10] " AR " 198.18.0.2:443");
	EXPECT_CHAIN(g, 12, &self->env, 1,
		     "p[12] read 1.0 KiB of /srv/crm/customers.db " AR
		     " 198.18.0.2:443");
	flowgraph_free(g);
}

TEST_F(graph, explain_counts_each_reader_once)
{
	struct exfilmon_pkey senders[3] = { pk(21), pk(22), pk(23) };
	struct exfilmon_pkey r = pk(20);
	struct alert a;

	/* one reader of two files, split into chunks sent by three */
	proc(self->g, 20, "tar", "/usr/bin/tar", EXFILMON_CHAN_READ, 0, &db,
	     3 * MiB, 4 * MiB, T0 + 10 * S);
	flowgraph_read(self->g, &r, &db, DB, 3 * MiB);
	flowgraph_read(self->g, &r, &hr, DB, 1 * MiB);
	proc(self->g, 21, "curl", "/usr/bin/curl", EXFILMON_CHAN_PIPE, 20,
	     &pipe1, MiB, MiB, T0 + 11 * S);
	proc(self->g, 22, "curl", "/usr/bin/curl", EXFILMON_CHAN_PIPE, 20,
	     &pipe1, MiB, MiB, T0 + 12 * S);
	/* and one whose source is unknown */
	proc(self->g, 23, "nc", "/usr/bin/nc", EXFILMON_CHAN_PIPE, 99, &pipe1,
	     MiB, MiB, T0 + 13 * S);
	memset(&a, 0, sizeof(a));
	a.first_ns = T0 + 11 * S;
	ASSERT_EQ(0, flowgraph_explain(self->g, senders, 3, &self->env, &a));
	ASSERT_EQ(2, a.nr_chain);
	EXPECT_EQ(20, a.chain[0].pid);
	EXPECT_EQ(21, a.chain[1].pid);
	EXPECT_EQ(4 * MiB, a.bytes_read);
	ASSERT_EQ(2, a.nr_files);
	EXPECT_STREQ("/srv/crm/customers.db", a.files[0].path);
	EXPECT_EQ(3 * MiB, a.files[0].bytes_read);
	EXPECT_STREQ("/srv/hr/salaries.csv", a.files[1].path);
	EXPECT_EQ(1 * MiB, a.files[1].bytes_read);
	/* the activity began with the read */
	EXPECT_EQ(T0 + 10 * S, a.first_ns);
	alert_free(&a);
}

/*
 * A reader of many watched files is remembered by its eight largest
 * reads: a smaller one later does not push a larger one out.
 */
TEST_F(graph, a_reader_keeps_its_eight_largest_reads)
{
	struct exfilmon_pkey r = pk(700), snd = pk(700);
	struct exfilmon_file_key f;
	struct alert a;
	int i;

	proc(self->g, 700, "find", "/usr/bin/find", EXFILMON_CHAN_READ, 0,
	     &db, 10 * MiB, 10 * MiB, T0);
	flowgraph_read(self->g, &r, &db, DB, 10 * MiB);
	/* nine more files of 1..9 KiB: the two smallest give way */
	for (i = 1; i <= 9; i++) {
		f = (struct exfilmon_file_key){ .dev = 8 << 20 | 3,
						.ino = 100 + i };
		flowgraph_read(self->g, &r, &f, DB, i * KiB);
	}
	f = (struct exfilmon_file_key){ .dev = 8 << 20 | 3, .ino = 200 };
	flowgraph_read(self->g, &r, &f, DB, 512);
	memset(&a, 0, sizeof(a));
	ASSERT_EQ(0, flowgraph_explain(self->g, &snd, 1, &self->env, &a));
	ASSERT_EQ(8, a.nr_files);
	EXPECT_STREQ("/srv/crm/customers.db", a.files[0].path);
	EXPECT_EQ(10 * MiB, a.files[0].bytes_read);
	/* 3 + 4 + ... + 9 KiB */
	EXPECT_EQ(10 * MiB + 42 * KiB, a.bytes_read);
	for (i = 1; i < 8; i++) {
		EXPECT_STRNE("(inode 101)", a.files[i].path);
		EXPECT_STRNE("(inode 102)", a.files[i].path);
		EXPECT_STRNE("(inode 200)", a.files[i].path);
	}
	alert_free(&a);
}

/* A fresh store in a temporary directory. */
FIXTURE(stored) {
	char dir[64];
	struct store *st;
	struct flowgraph *g;
	struct flow_env env;
};

FIXTURE_SETUP(stored)
{
	struct flowgraph_params p = { .window_ns = WINDOW };
	char err[256] = "";

	strcpy(self->dir, "/tmp/test_flowgraph.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_EQ(0, store_open(&self->st, self->dir, err, sizeof(err)))
		TH_LOG("%s", err);
	self->g = flowgraph_new(&p);
	ASSERT_NE(NULL, self->g);
	self->env.store = self->st;
	self->env.resolve = resolve;
}

FIXTURE_TEARDOWN(stored)
{
	char path[128];
	DIR *d = opendir(self->dir);
	struct dirent *de;

	flowgraph_free(self->g);
	store_close(self->st);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", self->dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(self->dir);
}

struct marks {
	struct exfilmon_file_key key[4];
	struct exfilmon_obj obj[4];
	int n;
};

static int take_mark(void *ctx, const struct exfilmon_file_key *key,
		     const struct exfilmon_obj *obj)
{
	struct marks *m = ctx;

	if (m->n == 4)
		return -E2BIG;
	m->key[m->n] = *key;
	m->obj[m->n++] = *obj;
	return 0;
}

TEST_F(stored, restart_finds_the_chain_in_the_store)
{
	struct flowgraph_params p = { .window_ns = WINDOW };
	struct marks m = { 0 };
	char *path, *chain;
	struct exfilmon_obj obj;

	stage_copy(self->g, &self->env, 200, T0);
	/* the mark was stored at once, the taint carried at the tick */
	flowgraph_tick(self->g, T0 + S, &self->env);
	ASSERT_EQ(0, store_derived_get(self->st, &notes, &obj, &path, &chain));
	EXPECT_STREQ("/tmp/notes.txt", path);
	/* the mark's 64 KiB were the first of the 5 MiB carried */
	EXPECT_EQ(5 * MiB, obj.taint);
	EXPECT_NE(NULL, strstr(chain, "\"comm\":\"cp\""));
	free(path);
	free(chain);

	/* the daemon restarts: memory is empty */
	flowgraph_free(self->g);
	self->g = flowgraph_new(&p);
	ASSERT_NE(NULL, self->g);
	/* exfilmond puts the marks back into the sensor */
	ASSERT_EQ(0, store_derived_each(self->st, take_mark, &m));
	ASSERT_EQ(1, m.n);
	EXPECT_EQ(notes.ino, m.key[0].ino);
	EXPECT_EQ(notes.dev, m.key[0].dev);
	EXPECT_EQ(EXFILMON_OBJ_DERIVED, m.obj[0].flags);
	EXPECT_EQ(7, m.obj[0].gen);
	EXPECT_EQ(DB, m.obj[0].watch_id);
	EXPECT_EQ(EXFILMON_CHAN_FILE, m.obj[0].chan);
	EXPECT_EQ(200, m.obj[0].writer.tgid);
	/* an hour later the copy is read and sent */
	proc(self->g, 300, "curl", "/usr/bin/curl", EXFILMON_CHAN_FILE, 200,
	     &notes, 5 * MiB, 5 * MiB, T0 + WINDOW);
	/* without the store, nothing is known of the copy or its writer */
	EXPECT_CHAIN(self->g, 300, &(struct flow_env){ .resolve = resolve }, 2,
		     "?[200] " AR "file 5.0 MiB" AR " curl[300] " AR
		     " 198.18.0.2:443");
	EXPECT_CHAIN(self->g, 300, &self->env, 2,
		     "cp[200] read 5.0 MiB of /srv/crm/customers.db "
		     AR "file /tmp/notes.txt 5.0 MiB" AR " curl[300] " AR
		     " 198.18.0.2:443");
}

TEST_F(stored, snapshot_follows_a_growing_copy)
{
	struct exfilmon_pkey cp = pk(200);

	/* the mark is made at the first write, after 5 MiB were read */
	stage_copy(self->g, &self->env, 200, T0);
	/* cp goes on: 9 MiB read, 9 MiB written by the next tick */
	proc(self->g, 200, "cp", "/usr/bin/cp", EXFILMON_CHAN_READ, 0, &db,
	     9 * MiB, 9 * MiB, T0 + S);
	flowgraph_flow(self->g, &cp, &notes, EXFILMON_CHAN_FILE, DB, 4 * MiB,
		       T0 + S, &self->env);
	flowgraph_tick(self->g, T0 + 2 * S, &self->env);
	/* after a restart, the stored chain has the last figures */
	flowgraph_free(self->g);
	self->g = flowgraph_new(&(struct flowgraph_params){
		.window_ns = WINDOW });
	ASSERT_NE(NULL, self->g);
	proc(self->g, 300, "curl", "/usr/bin/curl", EXFILMON_CHAN_FILE, 200,
	     &notes, 9 * MiB, 9 * MiB, T0 + WINDOW);
	EXPECT_CHAIN(self->g, 300, &self->env, 2,
		     "cp[200] read 9.0 MiB of /srv/crm/customers.db "
		     AR "file /tmp/notes.txt 9.0 MiB" AR " curl[300] " AR
		     " 198.18.0.2:443");
}

TEST_F(stored, a_live_writer_is_preferred_to_its_snapshot)
{
	struct exfilmon_pkey cp = pk(200), sp = pk(210);
	static const char comps[] = "part.aa\0tmp\0";
	struct exfilmon_file_key part = { .dev = 8 << 20 | 2, .ino = 900 };
	struct exfilmon_obj obj = {
		.flags = EXFILMON_OBJ_DERIVED, .watch_id = DB,
		.chan = EXFILMON_CHAN_FILE, .gen = 1,
	};
	char path[64];

	/* split has read 256 KiB of the copy when part.aa is marked */
	stage_copy(self->g, &self->env, 200, T0);
	proc(self->g, 210, "split", "/usr/bin/split", EXFILMON_CHAN_FILE, 200,
	     &notes, 256 * KiB, 256 * KiB, T0 + S);
	obj.writer = sp;
	flow_derived_path(comps, sizeof(comps) - 1, 0, path, sizeof(path));
	flowgraph_derived(self->g, &sp, &part, &obj, path, T0 + S, &self->env);
	/* it reads on, and cp is gone */
	proc(self->g, 210, "split", "/usr/bin/split", EXFILMON_CHAN_FILE, 200,
	     &notes, 5 * MiB, 5 * MiB, T0 + 2 * S);
	flowgraph_exit(self->g, &cp, T0 + 2 * S);
	proc(self->g, 300, "nc", "/usr/bin/nc", EXFILMON_CHAN_FILE, 210,
	     &part, 256 * KiB, 256 * KiB, T0 + 3 * S);
	EXPECT_CHAIN(self->g, 300, &self->env, 3,
		     "cp[200] read 5.0 MiB of /srv/crm/customers.db "
		     AR "file /tmp/notes.txt 5.0 MiB" AR " split[210] "
		     AR "file /tmp/part.aa 256.0 KiB" AR " nc[300] " AR
		     " 198.18.0.2:443");
}

TEST_F(stored, a_copy_of_a_copy_keeps_the_whole_chain)
{
	static const char comps[] = "x.gz\0tmp\0";
	struct exfilmon_file_key gz = { .dev = 8 << 20 | 2, .ino = 778 };
	struct exfilmon_pkey w = pk(250);
	struct exfilmon_obj obj = {
		.flags = EXFILMON_OBJ_DERIVED, .watch_id = DB,
		.chan = EXFILMON_CHAN_FILE, .gen = 3,
	};
	char path[64];

	stage_copy(self->g, &self->env, 200, T0);
	/* gzip reads the copy and writes another */
	proc(self->g, 250, "gzip", "/usr/bin/gzip", EXFILMON_CHAN_FILE, 200,
	     &notes, 5 * MiB, 5 * MiB, T0 + S);
	obj.writer = w;
	flow_derived_path(comps, sizeof(comps) - 1, 0, path, sizeof(path));
	flowgraph_derived(self->g, &w, &gz, &obj, path, T0 + S, &self->env);
	/* everything upstream is forgotten */
	flowgraph_free(self->g);
	self->g = flowgraph_new(&(struct flowgraph_params){
		.window_ns = WINDOW });
	ASSERT_NE(NULL, self->g);
	proc(self->g, 300, "curl", "/usr/bin/curl", EXFILMON_CHAN_FILE, 250,
	     &gz, 2 * MiB, 2 * MiB, T0 + 2 * S);
	EXPECT_CHAIN(self->g, 300, &self->env, 3,
		     "cp[200] read 5.0 MiB of /srv/crm/customers.db "
		     AR "file /tmp/notes.txt 5.0 MiB" AR " gzip[250] "
		     AR "file /tmp/x.gz 2.0 MiB" AR " curl[300] " AR
		     " 198.18.0.2:443");
}

TEST_F(stored, a_reused_inode_is_another_file)
{
	struct exfilmon_pkey w = pk(60);
	struct exfilmon_obj obj = {
		.flags = EXFILMON_OBJ_DERIVED, .watch_id = DB,
		.chan = EXFILMON_CHAN_FILE, .gen = 8, .taint = KiB,
	};
	char *path, *chain;

	stage_copy(self->g, &self->env, 200, T0);
	/* the copy was deleted and its inode reused for a new mark */
	proc(self->g, 60, "vim", "/usr/bin/vim", EXFILMON_CHAN_READ, 0, &hr,
	     KiB, KiB, T0 + S);
	obj.writer = w;
	flowgraph_derived(self->g, &w, &notes, &obj, "/home/a/todo.txt",
			  T0 + S, &self->env);
	ASSERT_EQ(0, store_derived_get(self->st, &notes, &obj, &path, &chain));
	EXPECT_STREQ("/home/a/todo.txt", path);
	EXPECT_EQ(8, obj.gen);
	EXPECT_EQ(KiB, obj.taint);
	EXPECT_EQ(NULL, strstr(chain, "\"cp\""));
	EXPECT_NE(NULL, strstr(chain, "\"vim\""));
	free(path);
	free(chain);
}

/* The correlator routes the records to the graph. */
TEST_F(stored, records_through_the_correlator)
{
	struct corr_params p = { .read_threshold = MiB,
				 .send_threshold = 256 * KiB,
				 .window_ns = WINDOW, .settle_ns = 5 * S };
	struct exfilmon_rec_derived rd;
	struct exfilmon_rec_io io;
	struct correlator *c;
	struct config cfg;
	char err[128], *path, *chain;
	struct exfilmon_obj obj;
	size_t nr;

	ASSERT_EQ(0, config_load_string(&cfg, "t.conf", "", err, sizeof(err)));
	c = corr_new(&p, &cfg, NULL, NULL);
	ASSERT_NE(NULL, c);
	/* cp read the database... */
	memset(&io, 0, sizeof(io));
	io.hdr.type = EXFILMON_REC_READ;
	io.hdr.ts_ns = T0;
	io.hdr.proc = pk(200);
	io.chan = EXFILMON_CHAN_READ;
	io.watch_id = DB;
	io.file = db;
	io.total.bytes = 2 * MiB;
	io.proc.taint = io.proc.bytes_read = io.proc.src_bytes = 2 * MiB;
	io.proc.watch_id = DB;
	io.proc.src_chan = EXFILMON_CHAN_READ;
	io.proc.src_obj = db;
	corr_io(c, &io, "cp", "/usr/bin/cp", &self->env);
	/* ...marked its copy derived... */
	memset(&rd, 0, sizeof(rd));
	rd.hdr.type = EXFILMON_REC_DERIVED;
	rd.hdr.ts_ns = T0 + 1;
	rd.hdr.proc = pk(200);
	rd.key = notes;
	rd.obj.flags = EXFILMON_OBJ_DERIVED;
	rd.obj.watch_id = DB;
	rd.obj.chan = EXFILMON_CHAN_FILE;
	rd.obj.writer = pk(200);
	memcpy(rd.path, "notes.txt\0tmp\0", 14);
	rd.path_len = 14;
	corr_derived(c, &rd, &self->env);
	/* ...and carried into it, twice the same total, then more */
	io.hdr.type = EXFILMON_REC_FLOW;
	io.chan = EXFILMON_CHAN_FILE;
	io.file = notes;
	io.total.bytes = MiB;
	corr_io(c, &io, "cp", "/usr/bin/cp", &self->env);
	corr_io(c, &io, "cp", "/usr/bin/cp", &self->env);
	io.total.bytes = 2 * MiB;
	corr_io(c, &io, "cp", "/usr/bin/cp", &self->env);
	corr_tick(c, T0 + S, &self->env);
	ASSERT_EQ(0, store_derived_get(self->st, &notes, &obj, &path, &chain));
	EXPECT_STREQ("/tmp/notes.txt", path);
	EXPECT_EQ(2 * MiB, obj.taint);
	free(path);
	free(chain);
	nr = 0;
	{
		char *line = chain_text(corr_graph(c), 200, &self->env, &nr);

		ASSERT_NE(NULL, line);
		EXPECT_STREQ("cp[200] read 2.0 MiB of /srv/crm/customers.db "
			     AR " 198.18.0.2:443", line);
		free(line);
	}
	corr_free(c);
	config_free(&cfg);
}

TEST_HARNESS_MAIN
