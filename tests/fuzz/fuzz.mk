# SPDX-License-Identifier: GPL-2.0-only
#
# libFuzzer targets for what exfilmond takes from outside (docs/fuzzing.md):
# the config parser, the IPC request decoder, the sensor record decoder and
# the SQL read-only gate. Included by the Makefile.
#
# The userspace sources are compiled a second time, by clang with
# -fsanitize=fuzzer-no-link,address,undefined, into $(FUZZ_DIR): the
# targets link the real objects, and the normal build stays untouched.
#
# `make fuzz` runs every target for FUZZ_SECONDS (300) on its corpus
# (tests/fuzz/corpus/<target>, the committed seeds, plus what earlier runs
# found, kept in $(FUZZ_DIR)/corpus/<target>), prints the executions and
# fails on any crash, leak, UB or broken invariant. `make -j2 fuzz` runs two
# at a time. `make tests` also builds test_fuzz, the short pass that
# `make check` runs (tests/fuzz/test_fuzz.c).

FUZZ_DIR	:= $(BUILD)/fuzz
FUZZ_SECONDS	?= 300
FUZZ_TARGETS	:= $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS	:= $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)
# The sensors stay out: no target touches the kernel (daemon_env.c stands
# in for it), and so a BPF build in progress never holds up fuzzing.
FUZZ_SRCS	:= $(filter-out userspace/sensor%.c,$(CORE_SRCS))
FUZZ_OBJS	:= $(FUZZ_SRCS:userspace/%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_LIB_OBJS	:= $(FUZZ_DIR)/obj/daemon_env.o

# UB must stop the run like a crash, or libFuzzer would never report it.
FUZZ_SAN	:= -fsanitize=address,undefined -fno-sanitize-recover=all \
		   -fno-omit-frame-pointer
FUZZ_CFLAGS	:= -g -O1 -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Werror \
		   -D_GNU_SOURCE -DEXFILMON_VERSION=\"$(VERSION)\" \
		   -Iinclude -Iuserspace -Itests/fuzz -I$(BUILD) \
		   $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
		   -DFUZZ_CORPUS_DIR=\"$(CURDIR)/tests/fuzz/corpus\" \
		   $(FUZZ_SAN) -fsanitize=fuzzer-no-link

.PHONY: fuzz-build fuzz-seeds $(FUZZ_TARGETS:%=fuzz-run-%)

$(FUZZ_DIR)/obj:
	$(Q)mkdir -p $@

$(FUZZ_DIR)/obj/%.o: userspace/%.c $(wildcard userspace/*.h) \
		     include/exfilmon_abi.h | $(FUZZ_DIR)/obj
	$(call msg,FUZZCC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/obj/daemon_env.o: tests/fuzz/daemon_env.c tests/fuzz/daemon_env.h \
			       $(wildcard userspace/*.h) | $(FUZZ_DIR)/obj
	$(call msg,FUZZCC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/libcore.a: $(FUZZ_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/daemon_env.h \
		    $(FUZZ_LIB_OBJS) $(FUZZ_DIR)/libcore.a
	$(call msg,FUZZLD,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIB_OBJS) \
		$(FUZZ_DIR)/libcore.a $(LDLIBS) -o $@

fuzz-build: $(FUZZ_BINS)

# The binary seeds follow the ABI: after a change of include/exfilmon_abi.h
# or the IPC header, `make fuzz-seeds` rewrites them (tests/fuzz/mkseeds.c).
$(FUZZ_DIR)/mkseeds: tests/fuzz/mkseeds.c include/exfilmon_abi.h \
		     userspace/ipc.h | $(FUZZ_DIR)/obj
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

fuzz-seeds: $(FUZZ_DIR)/mkseeds
	$(Q)mkdir -p tests/fuzz/corpus
	$(Q)$(FUZZ_DIR)/mkseeds tests/fuzz/corpus

# The short pass of `make check`: one test per target (the targets are
# found next to it, in $(FUZZ_DIR), and their seeds in the source tree).
$(BUILD)/tests/unit/test_fuzz: tests/fuzz/test_fuzz.c $(KSFT)/kselftest_harness.h \
			       | $(BUILD)/tests/unit
	$(call msg,TEST,$@)
	$(Q)$(CC) $(TEST_CFLAGS) -DFUZZ_CORPUS_DIR=\"$(CURDIR)/tests/fuzz/corpus\" \
		$(LDFLAGS) $< -o $@

tests: $(FUZZ_BINS) $(BUILD)/tests/unit/test_fuzz

# New corpus entries go to $(FUZZ_DIR)/corpus (the first directory named),
# never into the source tree. libFuzzer's exit status is the verdict.
$(FUZZ_TARGETS:%=fuzz-run-%): fuzz-run-%: $(FUZZ_DIR)/%
	$(Q)mkdir -p $(FUZZ_DIR)/corpus/$* $(FUZZ_DIR)/artifacts/$* \
		$(FUZZ_DIR)/logs
	@echo "  FUZZ     $* for $(FUZZ_SECONDS) s (log: $(FUZZ_DIR)/logs/$*.log)"
	$(Q)if $(FUZZ_DIR)/$* -max_total_time=$(FUZZ_SECONDS) -timeout=25 \
		-print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/artifacts/$*/ \
		$(FUZZ_DIR)/corpus/$* tests/fuzz/corpus/$* \
		>$(FUZZ_DIR)/logs/$*.log 2>&1; then \
		echo "  FUZZ     $*: $$(sed -n 's/^stat::number_of_executed_units: *//p' \
			$(FUZZ_DIR)/logs/$*.log) executions, 0 crashes"; \
	else \
		tail -n 60 $(FUZZ_DIR)/logs/$*.log; \
		echo "  FUZZ     $*: FAILED, input in $(FUZZ_DIR)/artifacts/$*/" >&2; \
		exit 1; \
	fi

fuzz: deps
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=fuzz-run-%)
