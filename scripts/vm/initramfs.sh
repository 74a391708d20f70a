#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Build the vmcheck guest's initramfs: busybox, dash as /bin/sh, iproute2's
# ip, the host's tools the flow tests run, exfilmond, exfilctl, the test
# programs and tests/run.sh, every shared library they load, the kernel's
# modules the tests need, exfilmon.ko when it was built, and tests/vm/init
# as /init.
#
# usage: initramfs.sh BUILD KERNEL_DIR OUT.cpio.gz
#   BUILD       the build folder (make tests done)
#   KERNEL_DIR  VMDIR/kernels/KVER from kernel.sh
# Environment (written into the guest's /vmcheck.env):
#   VMCHECK_KO            exfilmon.ko built for this kernel, or empty
#   VMCHECK_KMOD_REASON   why there is no module, when VMCHECK_KO is empty
#   VMCHECK_REQUIRE_KMOD  1: a missing module fails the run
#   VMCHECK_TESTS         test programs to include, e.g. "unit/test_units
#                         sensor/test_sensor" (default: all of
#                         BUILD/tests/*/test_*)
#   VMCHECK_CYCLES        insmod/rmmod cycles (default 100)
#   VMCHECK_BENCH         quick or full: the guest runs exfilbench with
#                         both sensors instead of the suite (make bench)
#
# The programs are linked dynamically: Debian ships no libsystemd.a (nor a
# static libbpf with its libelf/zstd chain), so the libraries are copied
# from the host as ldd resolves them, with the dynamic loader.
set -eu

die() {
	echo "vmcheck: initramfs: $*" >&2
	exit 1
}

[ $# -eq 3 ] || die "usage: $0 BUILD KERNEL_DIR OUT.cpio.gz"
build=$1
kdir=$2
out=$3
repo=$(cd "$(dirname "$0")/../.." && pwd)
kver=$(basename "$kdir")

stage=$out.d
rm -rf "$stage"
mkdir -p "$stage"
stage=$(cd "$stage" && pwd)

# Debian's merged /usr layout, so that library paths from ldd work as is.
mkdir -p "$stage/usr/bin" "$stage/usr/lib" "$stage/usr/lib64"
ln -s usr/bin "$stage/bin"
ln -s usr/bin "$stage/sbin"
ln -s bin "$stage/usr/sbin"
ln -s usr/lib "$stage/lib"
ln -s usr/lib64 "$stage/lib64"
mkdir -p "$stage/dev" "$stage/proc" "$stage/sys" "$stage/tmp" "$stage/run" \
	 "$stage/etc" "$stage/root" "$stage/var/lib" "$stage/lib/modules/$kver"
chmod 1777 "$stage/tmp"

busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox not found (apt-get install busybox-static)"
# ldd fails on a static program
if ldd "$busybox" >/dev/null 2>&1; then
	die "$busybox is not statically linked (apt-get install busybox-static)"
fi
cp "$busybox" "$stage/usr/bin/busybox"
for a in $("$busybox" --list); do
	[ "$a" = busybox ] && continue
	ln -s busybox "$stage/usr/bin/$a"
done

# Copy ELF program $1 to $2 (in the stage) with the libraries it needs.
copy_elf() {
	local lib
	mkdir -p "$(dirname "$stage/$2")"
	rm -f "$stage/$2"
	cp -L "$1" "$stage/$2"
	# "name => /path (addr)" and the loader's "/path (addr)"
	for lib in $(ldd "$1" 2>/dev/null |
		     sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'); do
		[ -e "$stage/$lib" ] && continue
		mkdir -p "$(dirname "$stage/$lib")"
		cp -L "$lib" "$stage/$lib"
	done
}

# /bin/sh is dash, as on Debian: Debian's static busybox is built with
# FEATURE_SH_STANDALONE, so its sh would run its own applets before PATH,
# and the tests' system("ip netns ...") would get busybox's ip, which has
# no netns. The other commands stay busybox's.
dash=$(readlink -f "$(command -v dash || echo /bin/dash)")
[ -x "$dash" ] || die "dash not found (apt-get install dash)"
copy_elf "$dash" /usr/bin/dash
rm -f "$stage/usr/bin/sh"
ln -s dash "$stage/usr/bin/sh"

# busybox's ip has no `ip netns`: the test hosts need iproute2's.
ip=$(readlink -f "$(command -v ip || echo /sbin/ip)")
if [ ! -x "$ip" ] || cmp -s "$ip" "$busybox"; then
	die "iproute2's ip not found (apt-get install iproute2)"
fi
copy_elf "$ip" /usr/bin/ip

# The tools the flow scenarios (tests/e2e/test_flow.c) run as thieves and
# relays, the host's own: busybox's applets would change the chains the
# tests expect (its tar compresses in a forked child instead of exec'ing
# gzip, its cat may use sendfile) or lack options (nc -N, logger -u). A
# tool the host lacks stays out, and the tests that need it skip.
host_tool() {
	command -v "$1" 2>/dev/null && return
	for d in /usr/sbin /sbin; do
		[ -x "$d/$1" ] && echo "$d/$1" && return
	done
	return 1
}
for t in bash cat cp mv ln rm split head dd cmp tee tar gzip base64 xxd \
	 sqlite3 curl openssl gpg gpg-agent pkill nc socat setsid logger \
	 rsyslogd dbus-daemon dbus-send dbus-monitor mkfs.ext4; do
	p=$(host_tool "$t") || continue
	case $p in
	/*) copy_elf "$p" "/usr/bin/$t" ;;
	esac
done
# rsyslogd loads its inputs and network drivers at run time
for m in $(find /usr/lib -path '*/rsyslog/*.so' 2>/dev/null); do
	copy_elf "$m" "$m"
done
# glibc dlopen()s libgcc_s to unwind a thread in pthread_exit(), which
# rsyslogd's workers call when it stops: without it, an abort at SIGTERM.
gcc_s=$(ldconfig -p | sed -n 's/^[[:space:]]*libgcc_s\.so\.1 (libc6,x86-64) => //p' |
	head -n1)
[ -n "$gcc_s" ] || die "libgcc_s.so.1 not found (ldconfig -p)"
copy_elf "$gcc_s" "$gcc_s"

# The suite, laid out as in the source tree: /exfilmon/{build,tests/run.sh}.
ex=/exfilmon
for p in exfilmond exfilctl; do
	[ -x "$build/$p" ] || die "$build/$p missing (make tests)"
	copy_elf "$build/$p" "$ex/build/$p"
done
mkdir -p "$stage$ex/tests"
cp "$repo/tests/run.sh" "$stage$ex/tests/run.sh"
if [ -n "${VMCHECK_BENCH:-}" ]; then
	tests=	# the guest runs only the benchmark
elif [ -n "${VMCHECK_TESTS:-}" ]; then
	tests=
	for t in $VMCHECK_TESTS; do
		[ -x "$build/tests/$t" ] || die "$build/tests/$t missing (VMCHECK_TESTS)"
		tests="$tests $build/tests/$t"
	done
else
	# what tests/run.sh runs: BUILD/tests/*/test_*
	tests=$(find "$build/tests" -mindepth 2 -maxdepth 2 -type f \
		-name 'test_*' ! -name '*.*' -perm -u+x | LC_ALL=C sort)
	[ -n "$tests" ] || die "no test programs under $build/tests (make tests)"
fi
for t in $tests $(ls "$build"/tests/helpers/* 2>/dev/null || true); do
	case $t in *.o|*.d) continue ;; esac
	[ -x "$t" ] || continue
	copy_elf "$t" "$ex/build/${t#"$build"/}"
done

# make bench: exfilbench and its workload programs, when built
if [ -n "${VMCHECK_BENCH:-}" ]; then
	[ -x "$build/bench/exfilbench" ] ||
		die "$build/bench/exfilbench missing (make bench-build)"
	for p in "$build/bench/exfilbench" "$build"/bench/work/*; do
		[ -f "$p" ] && [ -x "$p" ] || continue
		copy_elf "$p" "$ex/build/${p#"$build"/}"
	done
fi

# The kernel's own modules, in load order, and ours.
cp "$kdir/modules/load" "$stage/lib/modules/$kver/load"
for m in $(cat "$kdir/modules/load"); do
	cp "$kdir/modules/$m" "$stage/lib/modules/$kver/$m.ko"
done
if [ -n "${VMCHECK_KO:-}" ]; then
	cp "$VMCHECK_KO" "$stage$ex/exfilmon.ko"
fi

# Users the tests switch to: nobody (65534) and daemon (1).
cat > "$stage/etc/passwd" <<EOF
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat > "$stage/etc/group" <<EOF
root:x:0:
daemon:x:1:
nogroup:x:65534:
EOF
cat > "$stage/etc/nsswitch.conf" <<EOF
passwd: files
group: files
hosts: files
EOF
cat > "$stage/etc/hosts" <<EOF
127.0.0.1 localhost
::1 localhost
EOF

cat > "$stage/vmcheck.env" <<EOF
KVER='$kver'
KMOD_KO='$( [ -n "${VMCHECK_KO:-}" ] && echo "$ex/exfilmon.ko")'
KMOD_REASON='$(echo "${VMCHECK_KMOD_REASON:-}" | tr -d "'")'
REQUIRE_KMOD='${VMCHECK_REQUIRE_KMOD:-0}'
CYCLES='${VMCHECK_CYCLES:-100}'
BENCH='${VMCHECK_BENCH:-}'
EOF

cp "$repo/tests/vm/init" "$stage/init"
chmod 755 "$stage/init"

# gzip -1: the guest's decompression runs under TCG, so bigger but quicker.
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
rm -rf "$stage"
