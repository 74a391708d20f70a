#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# make check: the host suite, then a short flood (tests/stress, docs/stress.md),
# then the host suite again built with ASan and
# UBSan in BUILD/san (tests/san/run.sh), then the same suite inside Debian's
# 6.1 and 6.12 kernels (eBPF and exfilmon.ko; scripts/vm/vmcheck.sh), then
# `make bench BENCH_QUICK=1`, which checks that every benchmark runs and
# gives numbers (not what they are). The last line sums all five:
# "N passed, N failed, N skipped".
set -u
build=${1:-build}
logdir=$build/tests/logs
mkdir -p "$logdir"

# shellcheck source=../scripts/totals.sh
. "$(dirname "$0")/../scripts/totals.sh"

echo "# ==== host: $(uname -r)"
t0=$(date +%s)
tests/run.sh "$build" | tee "$logdir/host.summary"
echo "# host took $(($(date +%s) - t0)) s"
# The flood (docs/stress.md), 5 s of it, on the host only: under TCG the
# same program took 253 s, and it reads the eBPF sensor's maps, so the
# module's suite could only skip it. `make stress` runs the 60 s one.
echo "# ==== host-stress: a 5 s flood and map pressure (docs/stress.md)"
t0=$(date +%s)
stress_log=$logdir/stress_test_flood.log
EXFILMON_BUILD=$build "$build/tests/stress/test_flood" >"$stress_log" 2>&1
echo "#   took $(($(date +%s) - t0)) s"
grep -E '^# (flood|theft|procs|sends): |^not ok |^# +(FAIL|SKIP) ' \
	"$stress_log" | sed 's/^/#   /'
set -- $(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\) .* skip:\([0-9]*\) error:\([0-9]*\).*/\1 \2 \3 \4/p' \
	"$stress_log")
if [ $# -eq 4 ]; then
	echo "$1 passed, $(($2 + $4)) failed, $3 skipped"
else
	echo "not ok stress/test_flood: no totals (see $stress_log)"
	echo "0 passed, 1 failed, 0 skipped"
fi | tee "$logdir/host-stress.summary"
echo "# ==== host-sanitized: ASan, LSan and UBSan (docs/sanitizers.md)"
if [ "${EXFILMON_SKIP_SAN:-0}" = 1 ]; then
	# for a quick local run only; CI never sets it
	echo "# sanitized run skipped: EXFILMON_SKIP_SAN=1"
	echo "0 passed, 0 failed, 0 skipped" >"$logdir/host-sanitized.summary"
else
	t0=$(date +%s)
	tests/san/run.sh "$build" 2>&1 | tee "$logdir/host-sanitized.summary"
	echo "# host-sanitized took $(($(date +%s) - t0)) s, its build included"
fi
echo "# ==== VM guests: Debian's own kernels under qemu"
if [ "${EXFILMON_SKIP_VM:-0}" = 1 ]; then
	# for a quick local run only; CI never sets it
	echo "# vmcheck skipped: EXFILMON_SKIP_VM=1"
	echo "0 passed, 0 failed, 0 skipped" >"$logdir/vm.summary"
else
	t0=$(date +%s)
	scripts/vm/vmcheck.sh "$build" 2>&1 | tee "$logdir/vm.summary"
	echo "# VM guests took $(($(date +%s) - t0)) s"
fi

echo "# ==== make bench BENCH_QUICK=1: does every benchmark run?"
if [ "${EXFILMON_SKIP_BENCH:-0}" = 1 ]; then
	# for a quick local run only; CI never sets it
	echo "# bench skipped: EXFILMON_SKIP_BENCH=1"
	echo "0 passed, 0 failed, 0 skipped" >"$logdir/bench.summary"
else
	t0=$(date +%s)
	${MAKE:-make} --no-print-directory BUILD="$build" bench BENCH_QUICK=1 \
		2>&1 | tee "$logdir/bench.summary"
	echo "# bench took $(($(date +%s) - t0)) s"
fi

parts="host host-stress host-sanitized vm bench"

# CI keeps only the tail of this output: name every failed test here, next
# to the totals, so that no failure is anonymous. A program's "# === NAME"
# line comes before its results. The two guests' lines interleave, each
# with its "[kernel] sensor: " prefix before the "#": a program is known
# by the prefix it was named under, and a line of no program names none.
# Each failed program's "why:" lines (tests/run.sh) follow, with the
# harness's FILE.c:LINE of every failed expectation.
for part in $parts; do
	awk -v part="$part" '
		{ i = index($0, "#"); pre = i ? substr($0, 1, i - 1) : "\001" }
		/# === / { prog[pre] = $NF }
		/not ok / {
			name = (pre in prog) ? prog[pre] ": " : ""
			sub(/^#? */, "")
			print "# failed: " part ": " name $0
		}
		/#   why: / {
			sub(/^.*#   why: # /, "")
			print "#     " pre $0
		}' "$logdir/$part.summary" 2>/dev/null
done | head -n 40

pass=0 fail=0 skip=0
for part in $parts; do
	set -- $(totals_of --end "$logdir/$part.summary")
	if [ $# -ne 3 ]; then
		echo "not ok $part: no totals (see above)"
		fail=$((fail + 1))
		continue
	fi
	pass=$((pass + $1)) fail=$((fail + $2)) skip=$((skip + $3))
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
