# SPDX-License-Identifier: GPL-2.0-only
# Sourced by tests/check.sh, bench/run.sh and scripts/vm/vmcheck.sh: each
# part of a run ends with the line "N passed, N failed, N skipped", and these
# scripts sum such lines. One parser, so that all of them read the format the
# same way.

# usage: totals_of [--end] FILE
# The last "N passed, N failed, N skipped" line of FILE, printed as "P F S";
# nothing if there is none. With --end, only FILE's last line counts: a part
# that died after one of its pieces printed totals then gives nothing, not
# that piece's totals.
totals_of() {
	local from=cat
	if [ "$1" = --end ]; then
		from="tail -n1"
		shift
	fi
	[ -f "$1" ] || return 0
	$from "$1" |
		sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' |
		tail -n1
}
