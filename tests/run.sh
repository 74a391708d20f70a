#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Run every test program under BUILD/tests (kselftest harness, KTAP output)
# and sum their totals. The last line is "N passed, N failed, N skipped".
# Each program's wall time is printed after it ("#   took N s"): under qemu
# these say which programs make vmcheck slow.
# EXFILMON_TESTS_SKIP: programs not to run, e.g. "e2e/test_flow", each
# counted as one skip, with EXFILMON_TESTS_SKIP_WHY printed as the reason.
set -u
build=${1:-build}
export EXFILMON_BUILD=$build
pass=0 fail=0 skip=0
logdir=$build/tests/logs
mkdir -p "$logdir"

# What a killed earlier run left behind would change this one: its pinned
# sensors stay attached and keep counting, in prevent mode refusing, for
# inodes that new files in /tmp may reuse; its test hosts keep their
# addresses. With no exfilmond running, no test pin is in use; a test
# host's namespace names the pid of the test that made it (tests/lib).
# (/proc read directly: the guests' busybox has no pgrep)
daemon_running() {
	for c in /proc/[0-9]*/comm; do
		# read, a builtin: no process forked per process listed
		{ read -r comm <"$c"; } 2>/dev/null &&
			[ "$comm" = exfilmond ] && return 0
	done
	return 1
}
if ! daemon_running; then
	for d in /sys/fs/bpf/exfilmon-test-*; do
		[ -d "$d" ] || continue
		echo "# removed a killed run's pins: $d"
		rm -rf "$d"
	done
fi
for ns in $(ip netns list 2>/dev/null | sed -n 's/^\(exfilt\([0-9]*\)-[0-9]*\).*/\1 \2/p' |
	    while read -r n p; do [ -d /proc/"$p" ] || echo "$n"; done); do
	echo "# removed a killed run's test host: $ns"
	ip netns del "$ns"
done

for t in "$build"/tests/unit/test_* "$build"/tests/sensor/test_* \
	 "$build"/tests/e2e/test_* "$build"/tests/kmod/test_*; do
	[ -x "$t" ] || continue
	# folder and name: tests/sensor/test_flow and tests/e2e/test_flow
	# are different programs
	name=${t#"$build"/tests/}
	log=$logdir/$(echo "$name" | tr / _).log
	echo "# === $name"
	case " ${EXFILMON_TESTS_SKIP:-} " in
	*" $name "*)
		echo "# SKIP $name: ${EXFILMON_TESTS_SKIP_WHY:-not run here}"
		skip=$((skip + 1))
		continue
		;;
	esac
	t0=$(date +%s)
	"$t" >"$log" 2>&1
	rc=$?
	echo "#   took $(($(date +%s) - t0)) s"
	grep -E '^(not ok|ok) |^# +(FAIL|SKIP)|^# Totals' "$log" | grep -v '^ok ' \
		| sed 's/^/#   /'
	totals=$(grep '^# Totals:' "$log" | tail -n1)
	if [ -z "$totals" ]; then
		echo "not ok $name: exited $rc without totals (see $log)"
		tail -n 20 "$log" | sed 's/^/#   /'
		fail=$((fail + 1))
		continue
	fi
	p=$(echo "$totals" | sed -n 's/.*Totals: pass:\([0-9]*\).*/\1/p')
	f=$(echo "$totals" | sed -n 's/.* fail:\([0-9]*\).*/\1/p')
	s=$(echo "$totals" | sed -n 's/.* skip:\([0-9]*\).*/\1/p')
	e=$(echo "$totals" | sed -n 's/.* error:\([0-9]*\).*/\1/p')
	# why: the harness's "# FILE.c:LINE:TEST:..." lines of each failed
	# test (not of the passing ones beside it), which tests/check.sh
	# repeats next to the totals
	if [ $((f + e)) -gt 0 ]; then
		awk '/^#  RUN / { why = "" }
		     /^# [^ ]+[.]c:[0-9]+:/ { why = why $0 "\n" }
		     /^not ok / { printf "%s", why; why = "" }' "$log" |
			head -n 20 | sed 's/^/#   why: /'
	fi
	pass=$((pass + p))
	fail=$((fail + f + e))
	skip=$((skip + s))
	if [ "$rc" -ne 0 ] && [ $((f + e)) -eq 0 ]; then
		echo "not ok $name: exited $rc (see $log)"
		fail=$((fail + 1))
	fi
done

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
