#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# `make vmcheck`: run the test suite inside Debian's own kernels under qemu
# (TCG), with the eBPF sensor and then with exfilmon.ko. See docs/vmcheck.md.
#
# usage: vmcheck.sh [BUILD]     (make tests must have been run)
#
# For each kernel (bookworm's 6.1 and bookworm-backports' 6.12 by default):
# fetch it and its headers (kernel.sh), build the module against them,
# build an initramfs (initramfs.sh) and boot it; the guest (tests/vm/init)
# prints its results on the serial console and hands qemu its verdict.
# The last line is the sum over the kernels: "N passed, N failed, N skipped".
#
# Environment:
#   VMCHECK_KERNELS       Debian suites to take a kernel from
#                         (default "bookworm bookworm-backports")
#   VMCHECK_REQUIRE_KMOD  1: a module that does not build fails the run;
#                         0: it is skipped. Default: 1 once module/ has sources
#   VMCHECK_TESTS         only these test programs, e.g. "unit/test_units"
#   VMCHECK_CYCLES        insmod/rmmod cycles in the guest (default 100)
#   VMCHECK_TIMEOUT       seconds one guest may run (default 2700: two
#                         guests side by side share the host's cores)
#   VMCHECK_JOBS          guests that run at once (default 2; 1: one after
#                         the other)
#   VMCHECK_MODULE_SRC    folder to build the module from instead of this
#                         tree (it needs Kbuild and module/; for testing
#                         the harness)
#   VMCHECK_QEMU_CPU      qemu -cpu model (default max)
#   VMCHECK_GUEST_MODULES the kernel's modules the guest loads (default veth
#                         loop crc32c_generic ext4)
#   VMCHECK_BENCH         quick or full: instead of the suite, the guest runs
#                         exfilbench with exfilmon.ko and eBPF (bench/run.sh)
set -u

build=${1:-build}
repo=$(cd "$(dirname "$0")/../.." && pwd)
here=$repo/scripts/vm
kernels=${VMCHECK_KERNELS:-bookworm bookworm-backports}
timeout_s=${VMCHECK_TIMEOUT:-2700}
modsrc=${VMCHECK_MODULE_SRC:-$repo}

die() {
	echo "vmcheck: $*" >&2
	exit 1
}

[ -d "$build" ] || die "build folder '$build' not found (make tests first)"
build=$(cd "$build" && pwd)
vmdir=$build/vm
mkdir -p "$vmdir"

# The host's tools: qemu, a static busybox, iproute2 for the guest's ip,
# pahole for the 6.12 headers' module BTF, gcc-12 as the headers expect.
PKGS="qemu-system-x86 busybox-static iproute2 cpio gzip xz-utils zstd dwarves
make gcc-12 kmod"
missing=
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
	[ "$(id -u)" -eq 0 ] || die "missing packages:$missing (run as root to install them)"
	echo "vmcheck: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update failed"
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
		die "apt-get install$missing failed"
fi
command -v qemu-system-x86_64 >/dev/null ||
	die "qemu-system-x86_64 not found although qemu-system-x86 is installed"

[ -x "$build/exfilmond" ] && [ -d "$build/tests" ] ||
	die "$build has no exfilmond or tests/ (make tests first)"

if [ -n "${VMCHECK_REQUIRE_KMOD:-}" ]; then
	require_kmod=$VMCHECK_REQUIRE_KMOD
elif ls "$modsrc"/module/*.c >/dev/null 2>&1; then
	require_kmod=1
else
	require_kmod=0
fi

# Build exfilmon.ko for kernel $1 (headers in $2) with `make module`, in a
# copy of the tree so that each kernel's objects stay apart and the
# developers' tree gets no build output. Prints the .ko's path; on failure
# returns 1 with the reason on stdout.
build_module() {
	local kver=$1 kdir=$2 src=$vmdir/kernels/$1/src log=$vmdir/$1-module.log ko
	if [ ! -d "$modsrc/module" ]; then
		echo "there is no module/ in $modsrc yet"
		return 1
	fi
	rm -rf "$src"
	mkdir -p "$src"
	# sources only: objects of an in-tree `make module` must not leak in
	(cd "$modsrc" && tar -cf - --exclude=./.git --exclude=./build \
		--exclude="./${build#"$modsrc"/}" --exclude='*.o' --exclude='*.ko' \
		--exclude='*.mod' --exclude='*.mod.c' --exclude='.*.cmd' \
		--exclude=modules.order --exclude=Module.symvers .) |
		(cd "$src" && tar -xf -)
	if ! make -C "$src" module KDIR="$kdir" > "$log" 2>&1; then
		echo "make module KDIR=$kdir failed: see $log"
		tail -n 15 "$log" | sed "s/^/[$kver] module: /" >&2
		return 1
	fi
	ko=$(find "$src" -name exfilmon.ko | head -n1)
	if [ -z "$ko" ]; then
		echo "make module left no exfilmon.ko: see $log"
		return 1
	fi
	echo "$ko"
}

# shellcheck source=../totals.sh
. "$repo/scripts/totals.sh"

# Boot the guest of kernel $1 (its initramfs is $2) and judge its run.
# Echoes the console (prefixed with the kernel), then writes "P F S" and
# its summary line to $vmdir/$1.result. Several run at once (VMCHECK_JOBS).
boot() {
	local kver=$1 initrd=$2 t_prep=$3 tag="[$1]" log rcfile rc verdict \
		p f s line t_boot t_end kdir=$vmdir/kernels/$1

	log=$vmdir/$kver.log
	rcfile=$vmdir/$kver.rc
	rm -f "$vmdir/$kver.result"
	t_boot=$(date +%s)
	echo "$tag booting under qemu (TCG); serial log: $log"
	# Lines the guest marks "log: " or "dmesg: " go to the log only.
	{
		timeout -k 10 "$timeout_s" qemu-system-x86_64 \
			-accel tcg -cpu "${VMCHECK_QEMU_CPU:-max}" \
			-machine pc -m 2G -smp 2 \
			-nodefaults -display none -serial stdio -no-reboot \
			-kernel "$kdir/vmlinux" -initrd "$initrd" \
			-append "console=ttyS0 panic=-1 oops=panic quiet rdinit=/init log_buf_len=4M" \
			-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
			< /dev/null 2>&1
		echo $? > "$rcfile"
	} | sed -u 's/\r$//' | tee "$log" |
		grep --line-buffered -v -E '^(log|dmesg): ' | sed -u "s/^/$tag /"
	rc=$(cat "$rcfile")
	t_end=$(date +%s)

	set -- $(totals_of "$log")
	if [ $# -eq 3 ]; then
		p=$1 f=$2 s=$3
	else
		p=0 f=0 s=0
	fi
	# isa-debug-exit: qemu exits with (code << 1) | 1; the guest writes 0
	# when all passed, 1 otherwise.
	case $rc in
	1)	verdict=pass ;;
	3)	verdict=fail ;;
	124|137) verdict="timed out after $timeout_s s" ;;
	0)	verdict="stopped without a verdict (panic or power-off)" ;;
	*)	verdict="qemu exited with $rc" ;;
	esac
	if [ $# -ne 3 ]; then
		echo "not ok vmcheck: $kver: no totals from the guest ($verdict; see $log)"
		f=$((f + 1))
	elif [ "$verdict" != pass ] && [ "$f" -eq 0 ]; then
		echo "not ok vmcheck: $kver: guest $verdict although it counted no failure"
		f=$((f + 1))
	elif [ "$verdict" = pass ] && [ "$f" -ne 0 ]; then
		echo "not ok vmcheck: $kver: guest reported pass with $f failures"
	fi
	line="$kver: $p passed, $f failed, $s skipped; $((t_end - t_boot)) s in qemu, $t_prep"
	echo "$tag $line"
	printf '%s %s %s\n%s\n' "$p" "$f" "$s" "$line" > "$vmdir/$kver.result"
}

# Prepare the kernels one after the other (apt must not run twice at once),
# booting each guest in the background as soon as its kernel is ready,
# VMCHECK_JOBS guests at a time; then print the sum. qemu runs each vCPU on
# its own host thread (multi-threaded TCG), which sleeps while the guest
# idles, and the suite runs one test program at a time: in the sensor tests
# a guest kept about 1.2 of the host's cores busy, so two guests side by
# side on two cores finish well before two after the other would.
# A function, so that the shell has read all of it before it runs: editing
# this file during a run is harmless.
main() {
	local suite kver kdir ko reason out initrd t0 t_mod t_boot \
		p f s line pass=0 fail=0 skip=0 summary='' ready='' running=0 \
		jobs=${VMCHECK_JOBS:-2}

	for suite in $kernels; do
		t0=$(date +%s)
		if ! kver=$("$here/kernel.sh" "$suite" "$vmdir" | tail -n1) || [ -z "$kver" ]; then
			echo "not ok vmcheck: no kernel from $suite"
			fail=$((fail + 1))
			summary="$summary\n  $suite: no kernel"
			continue
		fi
		kdir=$vmdir/kernels/$kver

		ko=
		reason=
		if out=$(build_module "$kver" "$kdir/root/usr/src/linux-headers-$kver"); then
			ko=$out
			echo "[$kver] module: built $(basename "$ko") ($(modinfo -F vermagic "$ko"))"
		else
			reason=$out
			echo "[$kver] module: $reason"
		fi
		t_mod=$(date +%s)

		initrd=$vmdir/$kver.cpio.gz
		if ! VMCHECK_KO=$ko VMCHECK_KMOD_REASON=$reason \
		     VMCHECK_REQUIRE_KMOD=$require_kmod \
		     "$here/initramfs.sh" "$build" "$kdir" "$initrd"; then
			echo "not ok vmcheck: $kver: initramfs failed"
			fail=$((fail + 1))
			summary="$summary\n  $kver: initramfs failed"
			continue
		fi
		t_boot=$(date +%s)
		ready="$ready $kver"
		if [ "$running" -ge "$jobs" ]; then
			wait
			running=0
		fi
		boot "$kver" "$initrd" \
			"$((t_mod - t0)) s kernel+module, $((t_boot - t_mod)) s initramfs" &
		running=$((running + 1))
	done
	wait

	for kver in $ready; do
		if ! { read -r p f s && read -r line; } < "$vmdir/$kver.result" 2>/dev/null; then
			echo "not ok vmcheck: $kver: the guest left no result"
			fail=$((fail + 1))
			summary="$summary\n  $kver: no result"
			continue
		fi
		pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
		summary="$summary\n  $line"
	done

	printf "vmcheck:$summary\n"
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]
}

# exit on the same line: after main, the shell reads no more of this file
main; exit
