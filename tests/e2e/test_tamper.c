// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tampering by an insider who is not root (docs/tamper.md): with the real
 * exfilmond running on the sensor under test, a process as uid 65534
 * cannot talk to the daemon's socket, read its store or JSON log, signal
 * or trace it, get at its BPF programs, maps and links, open
 * /dev/exfilmon or unload the module. And a thief who renames itself
 * (PR_SET_NAME, /proc/self/comm), execs through an innocent symlink or
 * runs a renamed copy with a made-up argv[0] is alerted all the same,
 * named by what the kernel says: the executable's real path, and the comm
 * the kernel gave the process when it exec'd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "customers.h"
#include "daemon_run.h"
#include "testhost.h"

#define DB_BYTES	(3 << 19)
#define THEFT_PORT	443
#define INSIDER		65534	/* nobody, nogroup: in the guest's passwd too */
#define READER_GROUP	"daemon"	/* gid 1 on Debian and in the guest */
#define READER_GID	1

#define MAX_DBS		4

/*
 * A daemon watching nr_db customer databases (each its own watch, so a
 * theft of each is its own alert), and (idx >= 0) test host idx.
 */
struct world {
	char dir[64];
	char db[MAX_DBS][128];
	char conf[128];
	char sock[128];
	char log[128];
	char state[128];
	long size[MAX_DBS];
	struct testhost th;
	int have_th;
	pid_t daemon;
};

static int world_up(struct __test_metadata *_metadata, struct world *e,
		    int nr_db, int idx)
{
	char conf[4096];
	size_t off;
	int i;

	if (geteuid())
		SKIP(return 1, "exfilmond needs root");
	strcpy(e->dir, "/tmp/exfilmon-tamper-XXXXXX");
	if (!mkdtemp(e->dir) || chmod(e->dir, 0755))
		return -1;
	snprintf(e->conf, sizeof(e->conf), "%s/exfilmon.conf", e->dir);
	snprintf(e->sock, sizeof(e->sock), "%s/exfilmon.sock", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/exfilmond.log", e->dir);
	snprintf(e->state, sizeof(e->state), "%s/state", e->dir);
	off = snprintf(conf, sizeof(conf), "[watch]\n");
	for (i = 0; i < nr_db; i++) {
		snprintf(e->db[i], sizeof(e->db[i]), "%s/customers-%d.csv",
			 e->dir, i);
		e->size[i] = customers_write(e->db[i], DB_BYTES);
		/* the insider may read the databases: that is his job */
		if (e->size[i] < 0 || chmod(e->db[i], 0644))
			return -1;
		off += snprintf(conf + off, sizeof(conf) - off, "path = %s\n",
				e->db[i]);
	}
	snprintf(conf + off, sizeof(conf) - off,
		 "\n[correlation]\nread_threshold = 1M\nsend_threshold = 256K\n"
		 "window = 1h\n\n"
		 "[network]\ninternal = 10.0.0.0/8\n\n"
		 "[daemon]\nstate_dir = %s\nsocket = %s\ngroup = %s\n",
		 e->state, e->sock, READER_GROUP);
	if (write_file(e->conf, conf))
		return -1;
	if (idx >= 0) {
		if (testhost_create(&e->th, idx))
			return -1;
		e->have_th = 1;
	}
	e->daemon = daemon_start(e->conf, e->sock, e->log);
	if (e->daemon < 0) {
		run("cat %s >&2", e->log);
		return -1;
	}
	return 0;
}

static void world_down(struct world *e)
{
	if (e->daemon > 0) {
		kill(e->daemon, SIGCONT);	/* a test may have stopped it */
		daemon_stop(e->daemon);
	}
	if (e->have_th)
		testhost_destroy(&e->th);
	if (e->dir[0])
		run("rm -rf %s", e->dir);
}

/* Drop to the insider: no supplementary groups unless reader is set. */
static int become_insider(int reader)
{
	gid_t g = READER_GID;

	return setgroups(reader ? 1 : 0, &g) || setgid(INSIDER) ||
	       setuid(INSIDER) || geteuid() != INSIDER ? -1 : 0;
}

#define NRES 512

/*
 * Run fn as the insider in a child; fn stores one result per check in
 * res[] (0: the call succeeded, else its errno). Returns how many it
 * stored, or -1 if the child could not become the insider or crashed.
 */
static int as_insider(int (*fn)(const void *arg, int *res), const void *arg,
		      int reader, int *res)
{
	int *shared = mmap(NULL, NRES * sizeof(int), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int status, n = -1;
	pid_t pid;

	if (shared == MAP_FAILED)
		return -1;
	pid = fork();
	if (!pid) {
		if (become_insider(reader))
			_exit(255);
		_exit(fn(arg, shared));
	}
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) != 255) {
		n = WEXITSTATUS(status);
		memcpy(res, shared, n * sizeof(int));
	}
	munmap(shared, NRES * sizeof(int));
	return n;
}

static int result(int ret)
{
	return ret < 0 ? errno : 0;
}

/* ------------------------------------------------------------------ */
/* The daemon, its evidence and the sensor, out of the insider's reach */

FIXTURE(insider) {
	struct world e;
};

FIXTURE_SETUP(insider)
{
	int ret = world_up(_metadata, &self->e, 1, -1);

	/* the harness tears down only what set up completely */
	if (ret == -1)
		world_down(&self->e);
	if (ret != 1)
		ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(insider)
{
	world_down(&self->e);
}

static int try_connect(const void *arg, int *res)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", (const char *)arg);
	res[0] = fd < 0 ? errno : result(connect(fd, (void *)&sun, sizeof(sun)));
	return 1;
}

/*
 * The socket is root:<group> 0660: outside the group, connect() itself is
 * refused, before the daemon's own per-request check (docs/ipc.md). A
 * member may read, but not change what is watched.
 */
static void check_socket(struct __test_metadata *_metadata, struct world *e)
{
	static const char *const status_argv[] = {
		"exfilctl", "--socket", NULL, "status", NULL,
	};
	const char *argv[8] = { "exfilctl", "--socket", e->sock,
				"watch", "rm", e->db[0], NULL };
	struct cmd_result *r = calloc(1, sizeof(*r));
	const char *sargv[5];
	gid_t g = READER_GID;
	struct stat st;
	int res[1];

	ASSERT_NE(NULL, r);

	ASSERT_EQ(0, stat(e->sock, &st));
	EXPECT_EQ(0660, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(READER_GID, st.st_gid);
	ASSERT_EQ(1, as_insider(try_connect, e->sock, 0, res));
	EXPECT_EQ(EACCES, res[0]);

	/* through exfilctl too: a clear refusal, nothing done */
	memcpy(sargv, status_argv, sizeof(sargv));
	sargv[2] = e->sock;
	ASSERT_EQ(0, run_prog(r, INSIDER, sargv));
	EXPECT_NE(0, r->status);
	TH_LOG("exfilctl status as uid %d: %s", INSIDER, r->err);

	/* a member of the reader group reads, and may not unwatch */
	ASSERT_EQ(1, as_insider(try_connect, e->sock, 1, res));
	EXPECT_EQ(0, res[0]);
	ASSERT_EQ(0, run_prog_groups(r, INSIDER, INSIDER, 1, &g, sargv));
	EXPECT_EQ(0, r->status);
	ASSERT_EQ(0, run_prog_groups(r, INSIDER, INSIDER, 1, &g, argv));
	EXPECT_NE(0, r->status);
	EXPECT_NE(NULL, strstr(r->err, "permission denied"));
	/* and the watch is still there */
	argv[3] = "watch";
	argv[4] = "list";
	argv[5] = NULL;
	ASSERT_EQ(0, run_prog(r, (uid_t)-1, argv));
	EXPECT_EQ(0, r->status);
	EXPECT_NE(NULL, strstr(r->out, e->db[0]));
	free(r);
}

struct paths {
	int n;
	char path[16][PATH_MAX];
};

static int try_open_all(const void *arg, int *res)
{
	const struct paths *p = arg;
	int i;

	for (i = 0; i < p->n; i++) {
		int fd = open(p->path[i], O_RDONLY);

		res[2 * i] = result(fd);
		if (fd >= 0)
			close(fd);
		fd = open(p->path[i], O_WRONLY | O_APPEND);
		res[2 * i + 1] = result(fd);
		if (fd >= 0)
			close(fd);
	}
	return 2 * p->n;
}

/*
 * The store, its WAL and the JSON log are 0640 in a 0750 state_dir, all
 * root:<group>: the insider can neither read the evidence nor add to it,
 * and a member of the group can read it but not write it.
 */
static void check_evidence(struct __test_metadata *_metadata, struct world *e)
{
	struct paths *p = calloc(1, sizeof(*p));
	int res[NRES], i, n;
	struct dirent *de;
	struct stat st;
	DIR *d;

	ASSERT_NE(NULL, p);

	ASSERT_EQ(0, stat(e->state, &st));
	EXPECT_EQ(0, st.st_mode & 0007);
	EXPECT_EQ(0, st.st_mode & 0020);
	d = opendir(e->state);
	ASSERT_NE(NULL, d);
	while ((de = readdir(d)) && p->n < 16) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p->path[p->n], PATH_MAX, "%s/%s", e->state,
			 de->d_name);
		ASSERT_EQ(0, lstat(p->path[p->n], &st));
		/* nothing in there is for others, nor writable by the group */
		EXPECT_EQ(0, st.st_mode & 0027) TH_LOG("%s is %o",
						      p->path[p->n],
						      st.st_mode & 07777);
		p->n++;
	}
	closedir(d);
	/* the store and the JSON log, at least */
	ASSERT_LE(2, p->n);

	n = as_insider(try_open_all, p, 0, res);
	ASSERT_EQ(2 * p->n, n);
	for (i = 0; i < p->n; i++) {
		EXPECT_EQ(EACCES, res[2 * i]) TH_LOG("read %s", p->path[i]);
		EXPECT_EQ(EACCES, res[2 * i + 1]) TH_LOG("write %s",
							p->path[i]);
	}
	/*
	 * The readers' group: reads, never writes; except the daemon's lock,
	 * which is root's alone (a reader holding it would keep the daemon
	 * from starting).
	 */
	n = as_insider(try_open_all, p, 1, res);
	ASSERT_EQ(2 * p->n, n);
	for (i = 0; i < p->n; i++) {
		int want = strstr(p->path[i], "/exfilmond.lock") ? EACCES : 0;

		EXPECT_EQ(want, res[2 * i]) TH_LOG("read %s", p->path[i]);
		EXPECT_EQ(EACCES, res[2 * i + 1]) TH_LOG("write %s",
							p->path[i]);
	}
	free(p);
}

static int try_reach_daemon(const void *arg, int *res)
{
	pid_t pid = *(const pid_t *)arg;
	char path[64];
	int fd;

	res[0] = result(kill(pid, 0));
	res[1] = result(kill(pid, SIGKILL));
	res[2] = result(kill(pid, SIGSTOP));
	res[3] = result(ptrace(PTRACE_ATTACH, pid, 0, 0));
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDWR);
	res[4] = result(fd);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	fd = open(path, O_RDONLY);
	res[5] = result(fd);
	if (fd >= 0)
		close(fd);
	return 6;
}

static void check_daemon(struct __test_metadata *_metadata, struct world *e)
{
	int res[6], status;


	ASSERT_EQ(6, as_insider(try_reach_daemon, &e->daemon, 0, res));
	EXPECT_EQ(EPERM, res[0]);
	EXPECT_EQ(EPERM, res[1]);
	EXPECT_EQ(EPERM, res[2]);
	EXPECT_EQ(EPERM, res[3]);
	EXPECT_EQ(EACCES, res[4]);
	EXPECT_EQ(EACCES, res[5]);
	/* still running */
	EXPECT_EQ(0, waitpid(e->daemon, &status, WNOHANG));
}

/* The BPF objects the daemon holds, by the ids its fds' fdinfo gives. */
struct bpf_ids {
	int n[3];		/* programs, maps, links */
	__u32 id[3][128];
};

static const char *const id_keys[3] = { "prog_id:", "map_id:", "link_id:" };

static void daemon_bpf_ids(pid_t pid, struct bpf_ids *ids)
{
	char path[64], line[256];
	struct dirent *de;
	DIR *d;

	memset(ids, 0, sizeof(*ids));
	snprintf(path, sizeof(path), "/proc/%d/fdinfo", pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char fpath[320];
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(fpath, sizeof(fpath), "%s/%s", path, de->d_name);
		f = fopen(fpath, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			int k, j;

			for (k = 0; k < 3; k++) {
				size_t l = strlen(id_keys[k]);
				__u32 id;

				if (strncmp(line, id_keys[k], l) ||
				    ids->n[k] >= 128)
					continue;
				id = strtoul(line + l, NULL, 10);
				/* a link's fdinfo names its program too */
				for (j = 0; j < ids->n[k]; j++)
					if (ids->id[k][j] == id)
						break;
				if (j == ids->n[k])
					ids->id[k][ids->n[k]++] = id;
			}
		}
		fclose(f);
	}
	closedir(d);
}

static int bpf_get_fd(int k, __u32 id)
{
	static const int cmds[3] = {
		BPF_PROG_GET_FD_BY_ID, BPF_MAP_GET_FD_BY_ID,
		BPF_LINK_GET_FD_BY_ID,
	};
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	if (k == 0)
		attr.prog_id = id;
	else if (k == 1)
		attr.map_id = id;
	else
		attr.link_id = id;
	return syscall(__NR_bpf, cmds[k], &attr, sizeof(attr));
}

static int try_bpf_ids(const void *arg, int *res)
{
	const struct bpf_ids *ids = arg;
	union bpf_attr attr;
	int k, i, n = 0;

	for (k = 0; k < 3; k++)
		for (i = 0; i < ids->n[k] && n < NRES - 1; i++) {
			int fd = bpf_get_fd(k, ids->id[k][i]);

			res[n++] = result(fd);
			if (fd >= 0)
				close(fd);
		}
	/* nor may it walk the ids to find them */
	memset(&attr, 0, sizeof(attr));
	res[n++] = result(syscall(__NR_bpf, BPF_PROG_GET_NEXT_ID, &attr,
				  sizeof(attr)));
	return n;
}

/*
 * Without CAP_SYS_ADMIN, BPF_*_GET_FD_BY_ID is refused whatever
 * kernel.unprivileged_bpf_disabled says (kernel/bpf/syscall.c): an
 * insider cannot get an fd of our programs, maps or links, so cannot
 * detach, replace or rewrite them.
 */
static void check_bpf(struct __test_metadata *_metadata, struct world *e)
{
	struct bpf_ids *ids = calloc(1, sizeof(*ids));
	int res[NRES], k, i, n = 0, total;

	ASSERT_NE(NULL, ids);

	daemon_bpf_ids(e->daemon, ids);
	TH_LOG("the daemon holds %d programs, %d maps, %d links", ids->n[0],
	       ids->n[1], ids->n[2]);
	ASSERT_LT(0, ids->n[0]);
	ASSERT_LT(0, ids->n[1]);
	ASSERT_LT(0, ids->n[2]);
	/* the ids are real: root gets an fd for each */
	for (k = 0; k < 3; k++)
		for (i = 0; i < ids->n[k]; i++) {
			int fd = bpf_get_fd(k, ids->id[k][i]);

			EXPECT_LE(0, fd) TH_LOG("%s %u as root: %s", id_keys[k],
						ids->id[k][i], strerror(errno));
			if (fd >= 0)
				close(fd);
		}
	total = ids->n[0] + ids->n[1] + ids->n[2] + 1;
	n = as_insider(try_bpf_ids, ids, 0, res);
	ASSERT_EQ(total, n);
	for (i = 0; i < n; i++)
		EXPECT_EQ(EPERM, res[i]) TH_LOG("call %d of %d", i, n);
	free(ids);
}

static int try_obj_get(const void *arg, int *res)
{
	const struct paths *p = arg;
	union bpf_attr attr;
	int i;

	for (i = 0; i < p->n; i++) {
		int fd;

		memset(&attr, 0, sizeof(attr));
		attr.pathname = (__u64)(unsigned long)p->path[i];
		fd = syscall(__NR_bpf, BPF_OBJ_GET, &attr, sizeof(attr));
		res[i] = result(fd);
		if (fd >= 0)
			close(fd);
	}
	return p->n;
}

/* Pinned objects (the daemon's resume state) are root's alone. */
static void check_pins(struct __test_metadata *_metadata, struct world *e)
{
	struct paths *p;
	struct dirent *de;
	int res[16], i;
	DIR *d;

	const char *pins = daemon_pin_dir(e->daemon);

	ASSERT_NE(NULL, pins);
	d = opendir(pins);
	if (!d && strcmp(sensor_under_test(), "bpf")) {
		TH_LOG("sub-check skipped: the module pins nothing (%s: %s)",
		       pins, strerror(errno));
		return;
	}
	ASSERT_NE(NULL, d) TH_LOG("%s: %s", pins, strerror(errno));
	p = calloc(1, sizeof(*p));
	ASSERT_NE(NULL, p);
	while ((de = readdir(d)) && p->n < 16) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p->path[p->n++], PATH_MAX, "%s/%s", pins,
			 de->d_name);
	}
	closedir(d);
	ASSERT_LT(0, p->n);
	ASSERT_EQ(p->n, as_insider(try_obj_get, p, 0, res));
	for (i = 0; i < p->n; i++)
		EXPECT_TRUE(res[i] == EACCES || res[i] == EPERM)
			TH_LOG("BPF_OBJ_GET %s as uid %d: %s", p->path[i],
			       INSIDER, res[i] ? strerror(res[i]) : "opened");
	free(p);
}

static int try_module(const void *arg, int *res)
{
	int fd = open("/dev/exfilmon", O_RDWR);

	res[0] = result(fd);
	if (fd >= 0)
		close(fd);
	fd = open("/dev/exfilmon", O_RDONLY);
	res[1] = result(fd);
	if (fd >= 0)
		close(fd);
	res[2] = result(syscall(__NR_delete_module, "exfilmon", O_NONBLOCK));
	res[3] = result(syscall(__NR_delete_module, "exfilmon", O_TRUNC));
	return 4;
}

/*
 * /dev/exfilmon is root's, mode 0600: the permission check comes before
 * the module's one-opener rule, so the insider gets EACCES, not EBUSY.
 * delete_module() needs CAP_SYS_MODULE, forced or not.
 */
static void check_module(struct __test_metadata *_metadata, struct world *e)
{
	struct stat st;
	int res[4];

	ASSERT_EQ(4, as_insider(try_module, NULL, 0, res));
	EXPECT_EQ(EACCES, res[0]);
	EXPECT_EQ(EACCES, res[1]);
	EXPECT_EQ(EPERM, res[2]);
	EXPECT_EQ(EPERM, res[3]);
	EXPECT_EQ(0, access("/sys/module/exfilmon", F_OK));
	EXPECT_EQ(0, stat("/dev/exfilmon", &st));
}

/*
 * The daemon and what it keeps: its socket (root:<group> 0660), its store
 * and JSON log (0640 in a 0750 state_dir), the process itself.
 */
TEST_F(insider, cannot_reach_the_daemon_or_its_evidence)
{
	if (_metadata->skip)
		return;	/* skipped in the setup */
	check_socket(_metadata, &self->e);
	check_evidence(_metadata, &self->e);
	check_daemon(_metadata, &self->e);
}

/*
 * The sensor under test: the BPF programs, maps, links (and pins) the
 * daemon holds, or the module and its device.
 */
TEST_F(insider, cannot_get_at_the_sensor)
{
	int checked = 0;

	if (_metadata->skip)
		return;	/* skipped in the setup */
	if (!strcmp(sensor_under_test(), "bpf")) {
		check_bpf(_metadata, &self->e);
		check_pins(_metadata, &self->e);
		checked = 1;
	}
	if (!access("/dev/exfilmon", F_OK)) {
		check_module(_metadata, &self->e);
		checked = 1;
	}
	if (!checked)
		SKIP(return, "sensor %s and no /dev/exfilmon: nothing to reach",
		     sensor_under_test());
}

/* ------------------------------------------------------------------ */
/* A thief's names are the kernel's */

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
		json_object_get_string(v) : "";
}

static int64_t num(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
		json_object_get_int64(v) : -1;
}

/* One way of looking like someone else. */
struct disguise {
	const char *what;
	const char *how;	/* the name it runs under: "" the real one */
	const char *argv0;	/* NULL: the path it runs */
	const char *prctl_name;
	const char *comm_name;
	int copy;		/* a renamed copy, not a symlink */
};

static const struct disguise disguises[MAX_DBS] = {
	{ "prctl(PR_SET_NAME)", "", NULL, "sshd", NULL, 0 },
	{ "a write to /proc/self/comm", "", NULL, NULL, "kworker/u8:2", 0 },
	{ "exec through a symlink", "backup-agent", NULL, NULL, NULL, 0 },
	{ "a renamed copy with a made-up argv[0]", "cupsd", "/usr/sbin/cupsd",
	  NULL, NULL, 1 },
};

FIXTURE(identity) {
	struct world e;
	char thief[PATH_MAX];	/* the real image */
	char copy[PATH_MAX];	/* a renamed copy of it */
};

FIXTURE_SETUP(identity)
{
	char bin[160], src[PATH_MAX];
	int ret;

	/* the helper first: nothing to undo if it is missing */
	snprintf(src, sizeof(src), "%s/tests/helpers/thief", build_dir());
	ASSERT_EQ(0, access(src, X_OK)) TH_LOG("%s: run make tests", src);
	ret = world_up(_metadata, &self->e, MAX_DBS, 47);
	if (ret == 1)
		return;
	if (!ret) {
		snprintf(bin, sizeof(bin), "%s/bin", self->e.dir);
		snprintf(self->thief, sizeof(self->thief), "%s/thief", bin);
		snprintf(self->copy, sizeof(self->copy), "%s/cupsd", bin);
		/* the real image, a renamed copy, an innocent symlink */
		ret = run("mkdir -m 0755 %s && cp %s %s && cp %s %s && "
			  "chmod 0755 %s %s && ln -s thief %s/backup-agent",
			  bin, src, self->thief, src, self->copy, self->thief,
			  self->copy, bin) ? -1 : 0;
	}
	/* the harness tears down only what set up completely */
	if (ret)
		world_down(&self->e);
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(identity)
{
	world_down(&self->e);
}

/* /proc/PID/NAME as the kernel gives it, without the newline. */
static void proc_text(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	buf[0] = '\0';
	if (!strcmp(name, "exe")) {
		n = readlink(path, buf, size - 1);
		buf[n > 0 ? n : 0] = '\0';
		return;
	}
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* The alert whose sender is pid, once it has sent >= bytes; 20 s. */
static struct json_object *wait_alert_of(const struct world *e, pid_t pid,
					 long bytes)
{
	static const char *const args[] = { "alerts", NULL };
	int i;
	size_t j;

	for (i = 0; i < 200; i++) {
		struct json_object *arr = ctl_json(e->sock, args);

		for (j = 0; arr && j < json_object_array_length(arr); j++) {
			struct json_object *a = json_object_array_get_idx(arr, j);

			if (num(a, "pid") == pid && num(a, "bytes_sent") >= bytes) {
				json_object_get(a);
				json_object_put(arr);
				return a;
			}
		}
		json_object_put(arr);
		usleep(100000);
	}
	return NULL;
}

/*
 * Start the thief as the insider: run_path with argv, stdin from go[0].
 * Its pid, or -1.
 */
static pid_t thief_start(const char *run_path, const char *const argv[],
			 int go[2])
{
	pid_t pid;

	if (pipe(go))
		return -1;
	pid = fork();
	if (!pid) {
		dup2(go[0], 0);
		close(go[1]);
		if (become_insider(0))
			_exit(126);
		execv(run_path, (char *const *)argv);
		_exit(127);
	}
	close(go[0]);
	return pid;
}

/* The alert names the thief as the kernel does: exe, comm, uid. */
static void expect_named(struct __test_metadata *_metadata,
			 struct json_object *a, pid_t pid, long size,
			 const char *exe, const char *comm, const char *argv0,
			 const char *what)
{
	struct json_object *v, *anc;

	EXPECT_EQ(pid, num(a, "pid")) TH_LOG("%s", what);
	EXPECT_EQ(INSIDER, num(a, "uid")) TH_LOG("%s", what);
	EXPECT_STREQ("nobody", str(a, "user")) TH_LOG("%s", what);
	EXPECT_EQ(size, num(a, "bytes_read")) TH_LOG("%s", what);
	EXPECT_EQ(size, num(a, "bytes_sent")) TH_LOG("%s", what);
	if (exe)
		EXPECT_STREQ(exe, str(a, "exe")) TH_LOG("%s", what);
	EXPECT_STREQ(comm, str(a, "comm")) TH_LOG("%s", what);
	ASSERT_TRUE(json_object_object_get_ex(a, "ancestry", &v));
	anc = json_object_array_get_idx(v, 0);
	ASSERT_NE(NULL, anc);
	EXPECT_EQ(pid, num(anc, "pid")) TH_LOG("%s", what);
	if (exe)
		EXPECT_STREQ(exe, str(anc, "exe")) TH_LOG("%s", what);
	EXPECT_STREQ(comm, str(anc, "comm")) TH_LOG("%s", what);
	/* the command line is the process's own words, kept as evidence */
	EXPECT_EQ(0, strncmp(str(a, "cmdline"), argv0, strlen(argv0)))
		TH_LOG("%s: cmdline '%s'", what, str(a, "cmdline"));
	TH_LOG("%s: alert comm '%s', exe '%s', cmdline '%s'", what,
	       str(a, "comm"), str(a, "exe"), str(a, "cmdline"));
}

/*
 * Thieves (uid 65534) in disguise, one per watched database, each its own
 * alert. Each waits after its exec while the test reads the kernel's
 * names (/proc/PID/exe and comm), renames itself, steals and sends, and
 * waits again while the test checks that the rename took and reads the
 * alert. The alert must give the real image and the comm the kernel gave
 * at exec, never the claimed names.
 */
TEST_F_TIMEOUT(identity, disguised_thieves_are_alerted_under_the_kernels_names,
	       300)
{
	struct world *e = &self->e;
	char port[8], exe[PATH_MAX], comm[32], now[32], run_path[PATH_MAX];
	char ours[32];
	struct json_object *a;
	int go[2], status, i, k;
	struct sink sink;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */
	proc_text(getpid(), "comm", ours, sizeof(ours));

	snprintf(port, sizeof(port), "%d", THEFT_PORT);
	for (k = 0; k < MAX_DBS; k++) {
		const struct disguise *d = &disguises[k];
		const char *argv[16];
		int argc = 0;

		snprintf(run_path, sizeof(run_path), "%s/bin/%s", e->dir,
			 d->how[0] ? d->how : "thief");
		argv[argc++] = d->argv0 ? d->argv0 : run_path;
		argv[argc++] = "-w";
		if (d->prctl_name) {
			argv[argc++] = "-p";
			argv[argc++] = d->prctl_name;
		}
		if (d->comm_name) {
			argv[argc++] = "-c";
			argv[argc++] = d->comm_name;
		}
		argv[argc++] = "-r";
		argv[argc++] = e->db[k];
		argv[argc++] = e->th.remote4;
		argv[argc++] = port;
		argv[argc] = NULL;

		ASSERT_EQ(0, sink_start(&e->th, AF_INET, SOCK_STREAM,
					THEFT_PORT, &sink));
		pid = thief_start(run_path, argv, go);
		ASSERT_LT(0, pid);
		/*
		 * exec'd, waiting for the go: the kernel's names now. The
		 * exec sets the exe link before the name (begin_new_exec()),
		 * so wait for both: until then the child has our name.
		 */
		for (i = 0; i < 100; i++) {
			proc_text(pid, "exe", exe, sizeof(exe));
			proc_text(pid, "comm", comm, sizeof(comm));
			if (!strcmp(exe, d->copy ? self->copy : self->thief) &&
			    strcmp(comm, ours))
				break;
			usleep(50000);
		}
		ASSERT_STREQ(d->copy ? self->copy : self->thief, exe);
		/* the kernel names a process by the file name exec'd */
		EXPECT_STREQ(d->how[0] ? d->how : "thief", comm);
		ASSERT_EQ(1, write(go[1], "g", 1));
		EXPECT_EQ(e->size[k], sink_wait(&sink)) TH_LOG("%s", d->what);
		/* the rename took: ps would show the claimed name */
		proc_text(pid, "comm", now, sizeof(now));
		if (d->prctl_name)
			EXPECT_STREQ(d->prctl_name, now);
		if (d->comm_name)
			EXPECT_STREQ(d->comm_name, now);

		a = wait_alert_of(e, pid, e->size[k]);
		/* let it go only now: /proc/PID was there all along */
		EXPECT_EQ(1, write(go[1], "g", 1));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		close(go[1]);
		EXPECT_EQ(0, status) TH_LOG("%s", d->what);
		ASSERT_NE(NULL, a) TH_LOG("%s: no alert for pid %d", d->what,
					  pid);
		expect_named(_metadata, a, pid, e->size[k], exe, comm,
			     argv[0], d->what);
		json_object_put(a);
	}
}

/*
 * A thief exec'd through a symlink and gone before the daemon reads its
 * exec record (the daemon is stopped meanwhile): /proc/PID/exe is no more,
 * so the name is the sensor's, which must be the image the kernel ran
 * (bprm->file), not the symlink given to execve() (docs/tamper.md).
 */
TEST_F_TIMEOUT(identity, short_lived_thief_is_alerted_with_its_image, 120)
{
	struct world *e = &self->e;
	char port[8], run_path[PATH_MAX];
	const char *argv[8];
	struct json_object *a;
	struct sink sink;
	int go[2], status;
	pid_t pid;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	snprintf(port, sizeof(port), "%d", THEFT_PORT);
	snprintf(run_path, sizeof(run_path), "%s/bin/backup-agent", e->dir);
	argv[0] = run_path;
	argv[1] = "-r";
	argv[2] = e->db[0];
	argv[3] = e->th.remote4;
	argv[4] = port;
	argv[5] = NULL;
	ASSERT_EQ(0, sink_start(&e->th, AF_INET, SOCK_STREAM, THEFT_PORT,
				&sink));
	ASSERT_EQ(0, kill(e->daemon, SIGSTOP));
	pid = thief_start(run_path, argv, go);
	ASSERT_LT(0, pid);
	close(go[1]);
	EXPECT_EQ(e->size[0], sink_wait(&sink));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	ASSERT_EQ(0, kill(e->daemon, SIGCONT));

	a = wait_alert_of(e, pid, e->size[0]);
	ASSERT_NE(NULL, a) TH_LOG("no alert for pid %d", pid);
	/* what the kernel did: comm from the name exec'd, exe the image */
	expect_named(_metadata, a, pid, e->size[0], self->thief,
		     "backup-agent", run_path, "short-lived, via a symlink");
	json_object_put(a);
}

TEST_HARNESS_MAIN
