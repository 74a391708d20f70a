#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# make bench: exfilbench inside Debian's 6.1 kernel under qemu, where the
# module loads (exfilmon.ko and eBPF, as ratios within the guest), then on
# this host with the peers; the host's table takes in the guest's figures.
# The last line sums both: "N passed, N failed, N skipped".
#
# usage: bench/run.sh BUILD [exfilbench options]   (make bench-build first)
# BENCH_GUEST=0 leaves the guest out (a quicker look at the host alone).
set -u
build=$1
shift
results=$build/bench/results
mkdir -p "$results"
quick=full
for a in "$@"; do
	[ "$a" = --quick ] && quick=quick
done

# shellcheck source=../scripts/totals.sh
. "$(dirname "$0")/../scripts/totals.sh"

guest_opt=
rm -f "$results/guest.json"
if [ "${BENCH_GUEST:-1}" = 1 ]; then
	echo "# ==== exfilbench in the VM guest (Debian's 6.1 under qemu)"
	VMCHECK_KERNELS=bookworm VMCHECK_BENCH=$quick \
		scripts/vm/vmcheck.sh "$build" > "$results/guest.out" 2>&1
	grep -v '^\[.*\] bench: #' "$results/guest.out" | tail -n 30
	log=$(ls -t "$build"/vm/*.log 2>/dev/null | head -n1)
	if [ -n "$log" ] && grep -q '^log: bench-json: ' "$log"; then
		sed -n 's/^log: bench-json: //p' "$log" > "$results/guest.json"
		guest_opt="--guest-results $results/guest.json"
	fi
else
	echo "0 passed, 0 failed, 0 skipped" > "$results/guest.out"
fi

echo "# ==== exfilbench on this host"
# shellcheck disable=SC2086
"$build/bench/exfilbench" --build "$build" $guest_opt "$@" |
	tee "$results/host.out"

pass=0 fail=0 skip=0
for part in guest host; do
	set -- $(totals_of "$results/$part.out")
	if [ $# -ne 3 ]; then
		echo "not ok bench: the $part part printed no totals (see $results/$part.out)"
		fail=$((fail + 1))
		continue
	fi
	pass=$((pass + $1)) fail=$((fail + $2)) skip=$((skip + $3))
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
