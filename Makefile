# SPDX-License-Identifier: GPL-2.0-only
#
# exfilmon: `make` builds the eBPF sensor, exfilmond and exfilctl;
# `make check` installs what is missing, builds and runs every test;
# `make demo` shows a theft being caught. V=1 shows the commands.

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
			     tests/kmod/test_*.c)
TEST_BINS	:= $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_HELPERS	:= $(patsubst tests/helpers/%.c,$(BUILD)/tests/helpers/%,$(wildcard tests/helpers/*.c))

.DELETE_ON_ERROR:
# test objects are intermediate files: keep them between runs
.SECONDARY:
.PHONY: all deps check tests demo clean module module-clean dkms-install \
	vmcheck

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
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# Only the loader embeds the skeleton.
$(BUILD)/sensor_bpf.o: $(SKEL)

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

$(BUILD)/tests/lib/%.o: tests/lib/%.c $(wildcard tests/lib/*.h) \
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

check: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)tests/check.sh $(BUILD)

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
# into DESTDIR (packaging).
DKMS_SRC	= $(DESTDIR)/usr/src/exfilmon-$(VERSION)

dkms-install:
	$(Q)rm -rf $(DKMS_SRC) && mkdir -p $(DKMS_SRC)/module $(DKMS_SRC)/include
	$(Q)cp Kbuild $(DKMS_SRC)/
	$(Q)cp module/Kbuild module/*.c module/*.h $(DKMS_SRC)/module/
	$(Q)cp include/exfilmon_abi.h $(DKMS_SRC)/include/
	$(Q)sed 's/@VERSION@/$(VERSION)/' packaging/dkms.conf > $(DKMS_SRC)/dkms.conf
	$(Q)if [ -z "$(DESTDIR)" ]; then \
		dkms status exfilmon/$(VERSION) | grep -q . || \
		dkms add exfilmon/$(VERSION); fi

clean:
	$(Q)rm -rf $(BUILD)
