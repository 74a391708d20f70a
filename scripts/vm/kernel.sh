#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Fetch Debian's newest amd64 kernel of one suite (bookworm,
# bookworm-backports, ...) and its headers into VMDIR, without installing
# them: the packages are downloaded with `apt-get download` and unpacked with
# dpkg-deb, so no maintainer script runs and /boot is left alone.
#
# usage: kernel.sh SUITE VMDIR
#
# The last line on stdout is the kernel's release (KVER). Afterwards
# VMDIR/kernels/KVER/ holds:
#   vmlinux        the ELF kernel, for qemu -kernel (PVH entry)
#   config         its configuration
#   modules/NAME   the in-tree modules the guest loads, uncompressed; no
#                  .ko suffix, which Kbuild's `make clean` of an external
#                  module in this tree (M=. covers BUILD) would delete
#   modules/load   their names, in load order (dependencies first)
#   root/usr/src/linux-headers-KVER   the headers, usable as KDIR
set -eu

# In-tree modules the tests need that Debian builds as modules: veth for the
# test hosts (tests/lib/testhost.c); loop and ext4 (with crc32c, which ext4
# asks the crypto API for at mount time, not by a module dependency) for
# watched files on a loop-mounted ext4 image (tests/sensor/test_evasion.c);
# inet_diag, then tcp_diag and udp_diag, for prevent mode's reset of open
# connections by sock_diag SOCK_DESTROY (userspace/sockreset.c,
# tests/unit/test_sockreset.c): without them the kernel answers -ENOENT, as
# if no socket matched, since the guest has no modprobe to load them on demand.
GUEST_MODULES=${VMCHECK_GUEST_MODULES:-veth loop crc32c_generic ext4 inet_diag tcp_diag udp_diag}

here=$(cd "$(dirname "$0")" && pwd)

die() {
	echo "vmcheck: kernel: $*" >&2
	exit 1
}

[ $# -eq 2 ] || die "usage: $0 SUITE VMDIR"
suite=$1
vmdir=$2
debs=$vmdir/debs
mkdir -p "$debs"
debs=$(cd "$debs" && pwd)

# The newest version of package $1 in $suite (or its -security and -updates
# companions), from the local package lists; empty when there is none.
newest_in_suite() {
	apt-cache madison "$1" 2>/dev/null |
	awk -F'|' -v s="$suite" '
		{ gsub(/ /, "", $2) }
		$3 ~ (" " s "/") || $3 ~ (" " s "-(security|updates)/") { print $2 }' |
	{
		best=
		while read -r v; do
			if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then
				best=$v
			fi
		done
		echo "$best"
	}
}

# The first alternative of each dependency of $1 (=$2) as "name version",
# version being empty unless pinned with "=".
depends_of() {
	apt-cache show "$1=$2" 2>/dev/null | sed -n 's/^Depends: //p' | head -n1 |
	tr ',' '\n' | sed 's/|.*//' |
	sed -n 's/^ *\([^ (]*\) *(= *\([^)]*\)).*/\1 \2/p; s/^ *\([^ (]*\) *$/\1 /p;
		s/^ *\([^ (]*\) *([<>].*/\1 /p'
}

# The candidate version of package $1 (any suite).
candidate() {
	apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p'
}

# Make sure the package lists know $suite: add bookworm-backports to the
# sources when it is missing, and fetch the lists once when they are stale.
ver=$(newest_in_suite linux-image-amd64)
if [ -z "$ver" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		die "no linux-image-amd64 in '$suite' in the package lists, and not root to apt-get update"
	fi
	case $suite in
	*-backports)
		if ! grep -rqs -- "$suite" /etc/apt/sources.list /etc/apt/sources.list.d/; then
			echo "vmcheck: adding $suite to /etc/apt/sources.list.d/$suite.list" >&2
			echo "deb http://deb.debian.org/debian $suite main" \
				> "/etc/apt/sources.list.d/$suite.list"
		fi
		;;
	esac
	echo "vmcheck: apt-get update (no kernel of '$suite' in the package lists)" >&2
	apt-get update -qq >&2 || die "apt-get update failed"
	ver=$(newest_in_suite linux-image-amd64)
	[ -n "$ver" ] || die "no linux-image-amd64 in suite '$suite' (see apt-cache madison linux-image-amd64)"
fi

# linux-image-amd64 depends on linux-image-KVER (= ver).
image=$(depends_of linux-image-amd64 "$ver" | awk '$1 ~ /^linux-image-/ { print $1; exit }')
[ -n "$image" ] || die "linux-image-amd64 $ver names no linux-image-* package"
kver=${image#linux-image-}
headers=linux-headers-$kver
kdir_rel=usr/src/$headers

out=$vmdir/kernels/$kver

# Is everything from an earlier run still there?
complete() {
	local m
	[ -f "$out/.done" ] && [ -s "$out/vmlinux" ] && [ -f "$out/config" ] &&
		[ -f "$out/root/$kdir_rel/Makefile" ] && [ -f "$out/modules/load" ] ||
		return 1
	for m in $(cat "$out/modules/load"); do
		[ -s "$out/modules/$m" ] || return 1
	done
	# a module asked for since: unpack again (unless it is built in)
	for m in $GUEST_MODULES; do
		grep -qx "$m" "$out/modules/load" ||
			grep -q "^CONFIG_$(echo "$m" | tr a-z- A-Z_)=y" \
				"$out/config" || return 1
	done
}
if complete; then
	echo "$kver"
	exit 0
fi

# Download NAME[=VERSION] unless its .deb is already cached; print the path.
fetch() {
	name=$1
	v=${2:-$(candidate "$name")}
	[ -n "$v" ] && [ "$v" != "(none)" ] || die "package $name is not in the package lists"
	f=$(ls "$debs/${name}_$(echo "$v" | sed 's/:/%3a/')_"*.deb 2>/dev/null | head -n1 || true)
	if [ -z "$f" ]; then
		echo "vmcheck: downloading $name $v" >&2
		(cd "$debs" && apt-get download -q -o APT::Sandbox::User=root \
			"$name=$v" >&2) || die "apt-get download $name=$v failed"
		f=$(ls "$debs/${name}_$(echo "$v" | sed 's/:/%3a/')_"*.deb 2>/dev/null | head -n1 || true)
		[ -n "$f" ] || die "apt-get download $name=$v left no .deb in $debs"
	fi
	echo "$f"
}

rm -rf "$out"
mkdir -p "$out/root" "$out/modules"
tmp=$out/tmp
mkdir -p "$tmp"

# The image: only the kernel, its config and the guest's modules (the whole
# module tree is several hundred MB). The package has no modules.dep (depmod
# runs at install time), so dependencies come from each module's modinfo.
image_deb=$(fetch "$image" "$ver")
dpkg-deb --fsys-tarfile "$image_deb" | tar -x -C "$tmp" --wildcards \
	'*boot/vmlinuz-*' '*boot/config-*' ||
	die "unpacking $image_deb failed"
vmlinuz=$(ls "$tmp"/boot/vmlinuz-* 2>/dev/null | head -n1)
[ -f "$vmlinuz" ] || die "$image_deb has no boot/vmlinuz-*"
cp "$tmp"/boot/config-* "$out/config"
"$here/extract-vmlinux.sh" "$vmlinuz" "$out/vmlinux"

dpkg-deb -c "$image_deb" | awk '{ print $NF }' | grep -E '\.ko(\.[a-z]+)?$' \
	> "$tmp/ko.list"
: > "$out/modules/load"

# Add module $1 and, before it, what it depends on.
add_module() {
	local m p f dep
	m=$1
	grep -qx "$m" "$out/modules/load" && return 0
	# module names use '_' where file names may use '-'
	p=$(grep -E "/($m|$(echo "$m" | tr _ -))\.ko(\.[a-z]+)?$" "$tmp/ko.list" |
		head -n1 || true)
	if [ -z "$p" ]; then
		grep -q "^CONFIG_$(echo "$m" | tr a-z- A-Z_)=y" "$out/config" &&
			return 0
		die "module $m is neither in $image nor built in"
	fi
	dpkg-deb --fsys-tarfile "$image_deb" | tar -x -C "$tmp" "$p" ||
		die "unpacking $p from $image_deb failed"
	f=$tmp/$p
	case $f in
	*.ko.xz)	xz -dc "$f" > "$tmp/$m.ko" ;;
	*.ko.zst)	zstd -dcq "$f" > "$tmp/$m.ko" ;;
	*.ko.gz)	gzip -dc "$f" > "$tmp/$m.ko" ;;
	*.ko)		cp "$f" "$tmp/$m.ko" ;;
	*)		die "module $p: unknown compression" ;;
	esac
	cp "$tmp/$m.ko" "$out/modules/$m"
	for dep in $(modinfo -F depends "$tmp/$m.ko" | tr , ' '); do
		add_module "$dep"
	done
	grep -qx "$m" "$out/modules/load" || echo "$m" >> "$out/modules/load"
}

for m in $GUEST_MODULES; do
	add_module "$m"
done

# The headers: linux-headers-KVER, its -common part and linux-kbuild, all
# unpacked into one root. Their Makefile includes the -common one by an
# absolute /usr/src path, which we point into that root.
for d in "$headers $ver" $(depends_of "$headers" "$ver" |
		awk '$1 ~ /^linux-(headers|kbuild)-/ { print $1 "=" $2 }'); do
	d=$(echo "$d" | tr ' ' '=')
	deb=$(fetch "${d%%=*}" "${d#*=}")
	dpkg-deb -x "$deb" "$out/root" || die "unpacking $deb failed"
done
kdir=$out/root/$kdir_rel
[ -f "$kdir/Makefile" ] || die "$headers has no $kdir_rel/Makefile"
sed -i "s|^include /usr/src/|include $(cd "$out/root" && pwd)/usr/src/|" "$kdir/Makefile"
grep -q "^include $(cd "$out/root" && pwd)/" "$kdir/Makefile" ||
	die "$kdir/Makefile: unexpected contents: $(cat "$kdir/Makefile")"
[ -e "$kdir/scripts/Makefile.build" ] || [ -e "$kdir/scripts/Kbuild.include" ] ||
	die "$kdir/scripts does not resolve (linux-kbuild not unpacked?)"

rm -rf "$tmp"
echo "$image $ver" > "$out/.done"
echo "$kver"
