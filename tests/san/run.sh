#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The host suite built with AddressSanitizer, LeakSanitizer and UBSan
# (make SANITIZE=1) in BUILD/san: the "host-sanitized" part of make check
# (tests/check.sh, docs/sanitizers.md).
#
# Every process the tests start (exfilmond, exfilctl, the tests themselves)
# inherits the options below: the first error stops it. ASan and LSan
# write their reports to BUILD/san/tests/logs/san/, not to a stderr that a
# test may swallow (an exfilctl expected to fail) or delete (a daemon's log
# in its temporary folder); each report file counts as one failure. gcc's
# libubsan, a second runtime beside libasan, ignores log_path and writes
# only to stderr: a UBSan report counts when it reaches a test's log.
#
# EXFILMON_SAN_TESTS: the programs to build and run, as run.sh names them
# ("unit/test_ipc e2e/test_e2e"), or "all"; the default is the set below.
# The last line is "N passed, N failed, N skipped".
set -u
build=${1:-build}

# shellcheck source=../../scripts/totals.sh
. "$(dirname "$0")/../../scripts/totals.sh"
san=$build/san
reports=$san/tests/logs/san

# Which programs by default, and why the others are left to the plain
# host part (timings in docs/sanitizers.md): every unit test (the parsers,
# IPC, store, correlation: all of userspace outside the sensor), and the
# end-to-end programs that drive a sanitized daemon and exfilctl through
# their inputs. Not: the flow scenarios (e2e/test_flow, the longest),
# install (it packages, installs and runs the unit, no new daemon path),
# the module build and ioctls (no userspace of ours), and the sensor
# programs, whose userspace half the end-to-end daemons run anyway.
programs() {
	for f in "$@"; do
		f=${f#tests/}
		echo "${f%.c}"
	done
}
default_tests="$(programs tests/unit/test_*.c)
e2e/test_bad_input e2e/test_docs e2e/test_e2e e2e/test_service e2e/test_siem
e2e/test_policy e2e/test_prevent"
all_tests=$(programs tests/unit/test_*.c tests/sensor/test_*.c \
		     tests/e2e/test_*.c tests/kmod/test_*.c)
want=${EXFILMON_SAN_TESTS:-$default_tests}
[ "$want" = all ] && want=$all_tests
# one line, one space apart, for the matches below
# shellcheck disable=SC2086,SC2116
want=$(echo $want)

targets=
for t in $want; do
	targets="$targets $san/tests/$t"
done
helpers=$(for f in tests/helpers/*.c; do
		f=${f#tests/helpers/}
		echo "$san/tests/helpers/${f%.c}"
	  done)
echo "# building $san with SANITIZE=1"
# make does not track flags: an object that a make without SANITIZE=1 put
# here (a nested `make install BUILD=...` after a source changed) would be
# linked uninstrumented. Every object of ours built with ASan calls
# __asan_init from its constructor.
find "$san" -name '*.o' ! -name '*.bpf.o' 2>/dev/null | while read -r o; do
	nm "$o" 2>/dev/null | grep -q __asan_init || rm -f "$o"
done
# shellcheck disable=SC2086
if ! ${MAKE:-make} --no-print-directory BUILD="$san" SANITIZE=1 all \
	$targets $helpers; then
	echo "not ok host-sanitized: the SANITIZE=1 build failed"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
# a program built by an earlier run with another EXFILMON_SAN_TESTS
for t in $all_tests; do
	case " $want " in
	*" $t "*) ;;
	*) rm -f "$san/tests/$t" ;;
	esac
done
echo "# not run sanitized (the plain host part runs them):" \
	"$(for t in $all_tests; do
		case " $want " in *" $t "*) ;; *) printf '%s ' "$t" ;; esac
	   done)"

rm -rf "$reports"
mkdir -p "$reports"
# the tests run some programs as other users (exfilctl as a non-member)
chmod 1777 "$reports"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:print_stacktrace=1:log_path=$reports/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"

# a make that a test runs on this tree (e2e/test_install) builds the same way
export SANITIZE=1
out=$san/tests/logs/host-sanitized.run
mkdir -p "$(dirname "$out")"
# its totals are not the last word: the reports below add to them
rm -f "$san"/tests/logs/*.log
tests/run.sh "$san" | tee "$out" | sed -u '$s/^/# programs: /'
set -- $(totals_of --end "$out")
if [ $# -ne 3 ]; then
	echo "not ok host-sanitized: tests/run.sh gave no totals"
	set -- 0 1 0
fi
pass=$1 fail=$2 skip=$3

for r in "$reports"/*; do
	[ -e "$r" ] || continue
	echo "not ok sanitizer report $r:"
	head -n 60 "$r" | sed 's/^/#   /'
	fail=$((fail + 1))
done
for l in "$san"/tests/logs/*.log; do
	[ -e "$l" ] || continue
	grep -q 'runtime error: ' "$l" || continue
	echo "not ok UBSan report in $l:"
	grep -A 12 'runtime error: ' "$l" | head -n 60 | sed 's/^/#   /'
	fail=$((fail + 1))
done

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
