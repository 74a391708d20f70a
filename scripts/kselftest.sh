#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Extract from Debian's linux-source-6.1 tarball, into $1, what the tests
# use from the kernel tree: the kselftest harness headers and checkpatch
# (with its data files). None of it is committed.
set -eu
out=$1
tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n1)
if [ -z "$tarball" ]; then
	echo "kselftest: /usr/src/linux-source-6.1.tar.* not found (make deps)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xf "$tarball" -C "$tmp" --wildcards \
	'*/tools/testing/selftests/kselftest_harness.h' \
	'*/tools/testing/selftests/kselftest.h' \
	'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
	'*/scripts/const_structs.checkpatch'
mkdir -p "$out/checkpatch"
cp "$tmp"/*/tools/testing/selftests/kselftest_harness.h \
   "$tmp"/*/tools/testing/selftests/kselftest.h "$out"/
cp "$tmp"/*/scripts/checkpatch.pl "$tmp"/*/scripts/spelling.txt \
   "$tmp"/*/scripts/const_structs.checkpatch "$out/checkpatch/"
