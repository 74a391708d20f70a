// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilmon.ko builds as a distribution would build it: Kbuild against
 * Debian's installed headers with W=1 and sparse, through DKMS, and
 * checkpatch has nothing to say. All in a throwaway copy of the tree, so
 * nothing here touches /usr/src, /var/lib/dkms or the work tree.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "testhost.h"

/* The headers' build folder: $EXFILMON_KDIR, else the first installed. */
static int find_kdir(char *buf, size_t len, char *release, size_t rlen)
{
	const char *env = getenv("EXFILMON_KDIR");
	glob_t g;
	char *p;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
	} else {
		if (glob("/lib/modules/*/build/Makefile", 0, NULL, &g))
			return -1;
		snprintf(buf, len, "%s", g.gl_pathv[0]);
		globfree(&g);
		*strrchr(buf, '/') = '\0';
	}
	/* /lib/modules/<release>/build */
	snprintf(release, rlen, "%s", buf);
	p = strstr(release, "/lib/modules/");
	if (!p)
		return 0;
	memmove(release, p + 13, strlen(p + 13) + 1);
	p = strchr(release, '/');
	if (p)
		*p = '\0';
	return 0;
}

FIXTURE(tree) {
	char dir[64];
	char kdir[512];
	char release[256];
	char log[128];
};

/* The VM guests run the suite without a toolchain: building is the host's. */
static int have_toolchain(void)
{
	return !access("/usr/bin/make", X_OK) && !access("/usr/bin/perl", X_OK);
}

FIXTURE_SETUP(tree)
{
	if (!have_toolchain())
		SKIP(return, "no make/perl here (a VM guest): built on the host");
	if (find_kdir(self->kdir, sizeof(self->kdir), self->release,
		      sizeof(self->release)))
		TH_LOG("no kernel headers in /lib/modules/*/build (make deps "
		       "installs linux-headers-amd64)");
	ASSERT_EQ(0, access(self->kdir, F_OK));
	strcpy(self->dir, "/tmp/exfilmon-kbuild-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->log, sizeof(self->log), "%s/build.log", self->dir);
	/* the DKMS source layout is exactly what a build needs */
	ASSERT_EQ(0, run("make -s dkms-install DESTDIR=%s/root", self->dir));
}

FIXTURE_TEARDOWN(tree)
{
	if (self->dir[0])
		run("rm -rf %s", self->dir);
}

/* 0 when the log has no warning or error from the compiler or sparse */
static int log_clean(const char *log)
{
	return run("! grep -E -i 'warning|error' %s >&2", log);
}

/* a W=1 C=1 build of every file takes 25-40 s on a loaded 2-CPU host */
TEST_F_TIMEOUT(tree, builds_clean_with_w1_and_sparse, 300)
{
	char src[160];

	if (_metadata->skip)
		return;
	snprintf(src, sizeof(src), "%s/root/usr/src/exfilmon-%s", self->dir,
		 EXFILMON_VERSION);
	TH_LOG("kernel headers: %s", self->kdir);
	ASSERT_EQ(0, run("make -j2 -C %s M=%s W=1 C=1 modules >%s 2>&1",
			 self->kdir, src, self->log));
	EXPECT_EQ(0, log_clean(self->log));
	EXPECT_EQ(0, run("modinfo %s/module/exfilmon.ko | grep -q "
			 "'^license: *GPL'", src));
}

TEST_F_TIMEOUT(tree, dkms_builds_it, 300)
{
	if (_metadata->skip)
		return;
	ASSERT_EQ(0, run("mkdir -p %s/dkms", self->dir));
	ASSERT_EQ(0, run("dkms add --dkmstree %s/dkms --sourcetree "
			 "%s/root/usr/src -m exfilmon -v %s >%s 2>&1",
			 self->dir, self->dir, EXFILMON_VERSION, self->log));
	ASSERT_EQ(0, run("dkms build --dkmstree %s/dkms --sourcetree "
			 "%s/root/usr/src -m exfilmon -v %s -k %s >>%s 2>&1",
			 self->dir, self->dir, EXFILMON_VERSION,
			 self->release, self->log));
	EXPECT_EQ(0, run("test -f %s/dkms/exfilmon/%s/%s/*/module/exfilmon.ko",
			 self->dir, EXFILMON_VERSION, self->release));
}

TEST(checkpatch_finds_no_errors)
{
	const char *build = getenv("EXFILMON_BUILD");

	if (!have_toolchain())
		SKIP(return, "no perl here (a VM guest): checked on the host");
	/* warnings are reviewed by people; errors fail the build */
	ASSERT_EQ(0, run("perl %s/kselftest/checkpatch/checkpatch.pl "
			 "--no-tree --quiet -f module/*.c module/*.h "
			 ">/tmp/exfilmon-checkpatch.log 2>&1; "
			 "! grep -q '^ERROR' /tmp/exfilmon-checkpatch.log",
			 build && *build ? build : "build"));
}

TEST_HARNESS_MAIN
