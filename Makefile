# SPDX-License-Identifier: GPL-2.0-only
#
# exfilmon: `make` builds the eBPF sensor, exfilmond and exfilctl;
# `make check` installs what is missing, builds and runs every test;
# `make demo` shows a theft being caught; `make stress` floods the sensor for
# 60 s (docs/stress.md); `make install` and `make deb` install and package
# it (docs/packaging.md). V=1 shows the commands.

BUILD		?= build
VERSION		:= 0.1.0
CC		?= gcc
CLANG		?= clang
BPFTOOL		?= bpftool
ARCH		:= $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
VMLINUX_BTF	?= /sys/kernel/btf/vmlinux

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

PKGS		:= libbpf sqlite3 libsystemd inih json-c
CFLAGS		?= -O2 -g
CFLAGS		+= -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-format-truncation -Werror \
		   -D_GNU_SOURCE -DEXFILMON_VERSION=\"$(VERSION)\" \
		   -Iinclude -Iuserspace -I$(BUILD) \
		   $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS		+= $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lelf -lz
BPF_CFLAGS	:= -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
		   -Iinclude -I$(BUILD)

# ASan, LSan and UBSan: the "host-sanitized" part of make check
# (tests/san/run.sh, docs/sanitizers.md)
ifeq ($(SANITIZE),1)
CFLAGS		+= -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS		+= -fsanitize=address,undefined
endif

PROGS		:= exfilmond exfilctl
CORE_SRCS	:= $(filter-out $(PROGS:%=userspace/%.c),$(wildcard userspace/*.c))
CORE_OBJS	:= $(CORE_SRCS:userspace/%.c=$(BUILD)/%.o)
SKEL		:= $(BUILD)/exfilmon.skel.h

KSFT		:= $(BUILD)/kselftest
TEST_LIB_SRCS	:= $(wildcard tests/lib/*.c)
TEST_LIB_OBJS	:= $(TEST_LIB_SRCS:tests/lib/%.c=$(BUILD)/tests/lib/%.o)
TEST_SRCS	:= $(wildcard tests/unit/test_*.c tests/sensor/test_*.c tests/e2e/test_*.c \
			     tests/kmod/test_*.c tests/stress/test_*.c)
TEST_BINS	:= $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_HELPERS	:= $(patsubst tests/helpers/%.c,$(BUILD)/tests/helpers/%,$(wildcard tests/helpers/*.c))

.DELETE_ON_ERROR:
# test objects are intermediate files: keep them between runs
.SECONDARY:
.PHONY: all deps check tests demo clean module module-clean dkms-install \
	vmcheck install uninstall deb bench bench-build fuzz stress

all: $(PROGS:%=$(BUILD)/%)

deps:
	$(Q)scripts/deps.sh

$(BUILD) $(BUILD)/tests/lib $(BUILD)/tests/unit $(BUILD)/tests/sensor \
$(BUILD)/tests/e2e $(BUILD)/tests/helpers:
	$(Q)mkdir -p $@

# vmlinux.h comes from the running kernel's BTF and is never committed.
$(BUILD)/vmlinux.h: | $(BUILD)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(BUILD)/exfilmon.bpf.o: bpf/exfilmon.bpf.c $(wildcard bpf/*.h) \
			 include/exfilmon_abi.h $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKEL): $(BUILD)/exfilmon.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name exfilmon_bpf > $@

$(BUILD)/%.o: userspace/%.c $(wildcard userspace/*.h) include/exfilmon_abi.h \
	      | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# Only the loader embeds the skeleton.
$(BUILD)/sensor_bpf.o $(BUILD)/prevent_bpf.o: $(SKEL)

$(BUILD)/libcore.a: $(CORE_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/exfilmond $(BUILD)/exfilctl: $(BUILD)/%: $(BUILD)/%.o $(BUILD)/libcore.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The kselftest harness comes from Debian's linux-source-6.1 at build time.
$(KSFT)/kselftest_harness.h:
	$(call msg,KSFT,$(KSFT))
	$(Q)scripts/kselftest.sh $(KSFT)

TEST_CFLAGS	= $(CFLAGS) -I$(KSFT) -Itests/lib -Wno-sign-compare

# the helpers use the daemon's and the ABI's structs: a stale object
# would read another layout without a word
$(BUILD)/tests/lib/%.o: tests/lib/%.c $(wildcard tests/lib/*.h) \
			$(wildcard userspace/*.h) include/exfilmon_abi.h \
			$(KSFT)/kselftest_harness.h | $(BUILD)/tests/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(TEST_LIB_OBJS) $(BUILD)/libcore.a \
		  $(KSFT)/kselftest_harness.h
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(TEST_CFLAGS) $(LDFLAGS) $< $(TEST_LIB_OBJS) \
		$(BUILD)/libcore.a $(LDLIBS) -o $@

# io_uring through liburing (liburing-dev), for the io_uring scenario
$(BUILD)/tests/helpers/uring_exfil: LDLIBS += -luring

tests: all $(TEST_BINS) $(TEST_HELPERS)

# `make bench`: exfilbench and its workload programs (bench/README.md).
# BENCH_QUICK=1 only checks that every part runs and gives numbers.
BENCH_SRCS	:= $(filter-out %.bpf.c,$(wildcard bench/*.c))
BENCH_WORK	:= $(patsubst bench/work/%.c,$(BUILD)/bench/work/%,$(wildcard bench/work/*.c))
BENCH_ARGS	:= $(if $(filter 1,$(BENCH_QUICK)),--quick \
		     --out $(BUILD)/bench/results/quick.json) $(BENCH_FLAGS)

# the floor monitor's program (bench/monitor_floor.c)
$(BUILD)/bench/floor.bpf.o: bench/floor.bpf.c $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/floor.skel.h: $(BUILD)/bench/floor.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name floor_bpf > $@

$(BUILD)/bench/exfilbench: $(BENCH_SRCS) bench/bench.h $(TEST_LIB_OBJS) \
			   $(BUILD)/libcore.a $(KSFT)/kselftest_harness.h \
			   $(SKEL) $(BUILD)/bench/floor.skel.h
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(TEST_CFLAGS) -Ibench -I$(BUILD)/bench \
		-DBENCH_PEERS_DIR=\"$(CURDIR)/bench/peers\" \
		$(LDFLAGS) $(BENCH_SRCS) \
		$(TEST_LIB_OBJS) $(BUILD)/libcore.a $(LDLIBS) -lm -o $@

$(BUILD)/bench/work/%: bench/work/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< -o $@

bench-build: all $(BUILD)/bench/exfilbench $(BENCH_WORK) $(TEST_HELPERS)

bench: deps
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)bench/run.sh $(BUILD) $(BENCH_ARGS)

check: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)tests/check.sh $(BUILD)

# The flood of tests/stress at full length: STRESS_SECONDS of it, failing
# below STRESS_MIN_RATE syscalls a second (docs/stress.md). make check runs
# a 5 s one that only reports its rate.
STRESS_SECONDS	?= 60
STRESS_MIN_RATE	?= 1000000

stress: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)EXFILMON_BUILD=$(BUILD) EXFILMON_STRESS_SECONDS=$(STRESS_SECONDS) \
		EXFILMON_STRESS_MIN_RATE=$(STRESS_MIN_RATE) \
		$(BUILD)/tests/stress/test_flood

# The suite inside Debian's 6.1 and 6.12 kernels under qemu (TCG), with the
# eBPF sensor and with exfilmon.ko; see docs/vmcheck.md.
vmcheck: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)scripts/vm/vmcheck.sh $(BUILD)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh $(BUILD)

# The kernel module, by Kbuild, against KDIR (any installed headers).
KDIR		?= /lib/modules/$(shell uname -r)/build

module:
	$(Q)$(MAKE) -C $(KDIR) M=$(CURDIR) $(if $(C),C=$(C)) \
		$(if $(filter 1,$(V)),V=1) modules

# Kbuild's own clean would sweep every object under M=, build/ included.
module-clean:
	$(Q)rm -f module/*.o module/*.ko module/*.mod module/*.mod.c \
		module/.*.cmd module/modules.order .*.cmd modules.order \
		Module.symvers

# The module's source tree for DKMS; registered with dkms unless staged
# into DESTDIR (packaging) or dkms is not installed.
DKMS_SRC	= $(DESTDIR)/usr/src/exfilmon-$(VERSION)

dkms-install:
	$(Q)rm -rf $(DKMS_SRC)
	$(Q)install -d -m 0755 $(DKMS_SRC)/module $(DKMS_SRC)/include
	$(Q)install -m 0644 Kbuild $(DKMS_SRC)/
	$(Q)install -m 0644 module/Kbuild module/*.c module/*.h $(DKMS_SRC)/module/
	$(Q)install -m 0644 include/exfilmon_abi.h $(DKMS_SRC)/include/
	$(Q)sed 's/@VERSION@/$(VERSION)/' packaging/dkms.conf > $(DKMS_SRC)/dkms.conf
	$(Q)chmod 0644 $(DKMS_SRC)/dkms.conf
	$(Q)if [ -z "$(DESTDIR)" ] && command -v dkms >/dev/null; then \
		dkms status exfilmon/$(VERSION) | grep -q . || \
		dkms add exfilmon/$(VERSION); fi

# `make install` (DESTDIR= stages, PREFIX=/usr by default): see
# docs/packaging.md for the list. Configuration goes to SYSCONFDIR, never
# under PREFIX; an existing config is kept on a live install.
PREFIX		?= /usr
SBINDIR		?= $(PREFIX)/sbin
BINDIR		?= $(PREFIX)/bin
MANDIR		?= $(PREFIX)/share/man
SYSCONFDIR	?= /etc
UNITDIR		?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR	?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR	?= $(PREFIX)/lib/tmpfiles.d
COMPLETIONDIR	?= $(PREFIX)/share/bash-completion/completions
D		 = $(DESTDIR)
CONF		 = $(D)$(SYSCONFDIR)/exfilmon/exfilmon.conf

install: all dkms-install
	$(call msg,INSTALL,$(if $(D),$(D),/))
	$(Q)install -d -m 0755 $(D)$(SBINDIR) $(D)$(BINDIR) $(D)$(UNITDIR) \
		$(D)$(SYSCONFDIR)/exfilmon $(D)$(SYSCONFDIR)/logrotate.d \
		$(D)$(SYSUSERSDIR) $(D)$(TMPFILESDIR) $(D)$(COMPLETIONDIR) \
		$(D)$(MANDIR)/man5 $(D)$(MANDIR)/man8
	$(Q)install -m 0755 $(BUILD)/exfilmond $(D)$(SBINDIR)/exfilmond
	$(Q)install -m 0755 $(BUILD)/exfilctl $(D)$(BINDIR)/exfilctl
	$(Q)sed -e 's|/usr/sbin/exfilmond|$(SBINDIR)/exfilmond|' \
		-e 's|/etc/exfilmon/|$(SYSCONFDIR)/exfilmon/|' \
		packaging/exfilmond.service > $(D)$(UNITDIR)/exfilmond.service
	$(Q)chmod 0644 $(D)$(UNITDIR)/exfilmond.service
	$(Q)if [ -z "$(D)" ] && [ -e $(CONF) ]; then \
		echo "  kept $(CONF); the default is packaging/exfilmon.conf"; \
	else install -m 0644 packaging/exfilmon.conf $(CONF); fi
	$(Q)install -m 0644 packaging/logrotate/exfilmon \
		$(D)$(SYSCONFDIR)/logrotate.d/exfilmon
	$(Q)install -m 0644 packaging/sysusers.d/exfilmon.conf \
		$(D)$(SYSUSERSDIR)/exfilmon.conf
	$(Q)install -m 0644 packaging/tmpfiles.d/exfilmon.conf \
		$(D)$(TMPFILESDIR)/exfilmon.conf
	$(Q)install -m 0644 packaging/bash-completion/exfilctl \
		$(D)$(COMPLETIONDIR)/exfilctl
	$(Q)install -m 0644 docs/man/exfilmon.conf.5 $(D)$(MANDIR)/man5/
	$(Q)install -m 0644 docs/man/exfilmond.8 docs/man/exfilctl.8 \
		$(D)$(MANDIR)/man8/
	@# on a live system, the group and directories the unit needs, now
	$(Q)if [ -z "$(D)" ] && command -v systemd-sysusers >/dev/null; then \
		systemd-sysusers $(SYSUSERSDIR)/exfilmon.conf && \
		systemd-tmpfiles --create $(TMPFILESDIR)/exfilmon.conf; fi
	$(Q)if [ -z "$(D)" ] && [ -d /run/systemd/system ]; then \
		systemctl daemon-reload; fi

# The config is removed only when unchanged; the group and the state
# (alerts) stay. On a live system the module leaves dkms too.
uninstall:
	$(Q)rm -f $(D)$(SBINDIR)/exfilmond $(D)$(BINDIR)/exfilctl \
		$(D)$(UNITDIR)/exfilmond.service \
		$(D)$(SYSCONFDIR)/logrotate.d/exfilmon \
		$(D)$(SYSUSERSDIR)/exfilmon.conf $(D)$(TMPFILESDIR)/exfilmon.conf \
		$(D)$(COMPLETIONDIR)/exfilctl $(D)$(MANDIR)/man5/exfilmon.conf.5 \
		$(D)$(MANDIR)/man8/exfilmond.8 $(D)$(MANDIR)/man8/exfilctl.8
	$(Q)if cmp -s packaging/exfilmon.conf $(CONF); then rm -f $(CONF); \
		rmdir $(D)$(SYSCONFDIR)/exfilmon 2>/dev/null || true; \
	elif [ -e $(CONF) ]; then echo "  kept $(CONF): changed"; fi
	$(Q)if [ -z "$(D)" ] && command -v dkms >/dev/null && \
	      dkms status exfilmon/$(VERSION) | grep -q .; then \
		dkms remove exfilmon/$(VERSION) --all; fi
	$(Q)rm -rf $(DKMS_SRC)

# `make deb`: the two packages, built from a copy of the tracked and new
# (not ignored) files, so neither the tree nor $(BUILD) is touched. The
# .debs, the build log and lintian's report land in $(BUILD)/deb.
DEB_DIR		= $(BUILD)/deb
DEB_SRC		= $(DEB_DIR)/exfilmon-$(VERSION)

deb:
	$(call msg,DEB,$(DEB_DIR))
	$(Q)git rev-parse --git-dir >/dev/null 2>&1 || \
		{ echo "make deb: needs a git work tree" >&2; exit 1; }
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_SRC)
	$(Q)git ls-files -z --cached --others --exclude-standard | \
		xargs -0 sh -c \
		'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
		tar --null -T - -cf - | tar -xf - -C $(DEB_SRC)
	@# our command-line variables (BUILD=...) must not reach debian/rules
	$(Q)cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		-u BUILD -u DESTDIR -u PREFIX dpkg-buildpackage -us -uc -b -Jauto \
		>../build.log 2>&1 || { tail -n 40 ../build.log; exit 1; }
	$(Q)lintian --fail-on error $(DEB_DIR)/*.changes \
		>$(DEB_DIR)/lintian.log 2>&1 || \
		{ cat $(DEB_DIR)/lintian.log; exit 1; }
	$(Q)cat $(DEB_DIR)/lintian.log
	$(Q)rm -rf $(DEB_SRC)
	$(Q)ls $(DEB_DIR)/*.deb

-include tests/fuzz/fuzz.mk

clean:
	$(Q)rm -rf $(BUILD)
