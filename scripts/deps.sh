#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Install the Debian packages exfilmon builds and tests with, when missing.
# Called by `make deps` (and so by `make check` and `make demo`).
# The last two lines of PKGS are the tools thieves use in the flow tests
# (tests/e2e/test_flow.c): they pipe, stage, relay and upload with them.
# auditd and bpftrace are the benchmark's peers (bench/README.md).
# The next-to-last line builds, checks and validates the packages and the
# alert schema (tests/e2e/test_install.c, test_siem.c).
# libclang-rt-dev brings clang's libFuzzer and sanitizer runtimes (clang
# only recommends it), for the fuzz targets (tests/fuzz, docs/fuzzing.md).
set -eu

PKGS="clang libclang-rt-dev libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make gcc
libsqlite3-dev sqlite3 libsystemd-dev libinih-dev libjson-c-dev
iproute2 linux-source-6.1 xz-utils procps util-linux passwd
linux-headers-amd64 sparse dkms dwarves
socat netcat-openbsd curl gnupg xxd openssl liburing-dev rsyslog dbus-daemon
dbus-bin
lintian debhelper dh-dkms fakeroot dpkg-dev python3-jsonschema logrotate
bash-completion man-db strace valgrind git auditd bpftrace"

missing=
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# No service starts while installing (policy-rc.d, exit 101): the tests
# run their own rsyslogd, and an auditd left running would put every
# process on audit's syscall path and skew the benchmark's baseline.
policy=/usr/sbin/policy-rc.d
if [ ! -e $policy ]; then
	printf '#!/bin/sh\nexit 101\n' > $policy
	chmod 755 $policy
	trap 'rm -f $policy' EXIT
fi
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
