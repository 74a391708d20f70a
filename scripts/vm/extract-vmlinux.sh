#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Extract the uncompressed ELF vmlinux from an x86 bzImage (Debian's
# vmlinuz): qemu's -kernel boots an ELF vmlinux through its PVH note, which
# is faster under TCG than running the bzImage's own decompressor.
#
# The boot protocol header says where the payload is: setup_sects (0x1f1)
# gives the size of the real-mode part, payload_offset (0x248) and
# payload_length (0x24c) locate the compressed kernel within the protected
# mode part. The build appends the 4-byte uncompressed size to the payload,
# so the last 4 bytes are not part of the compressed stream.
#
# usage: extract-vmlinux.sh VMLINUZ OUT
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 VMLINUZ OUT" >&2
	exit 2
fi
in=$1
out=$2

# Little-endian unsigned integer of $2 bytes at offset $1 of $in.
le() {
	od -An -tu1 -j "$1" -N "$2" "$in" |
		awk '{ for (i = NF; i >= 1; i--) v = v * 256 + $i } END { print v }'
}

magic=$(od -An -c -j 514 -N 4 "$in" | tr -d ' ')
if [ "$magic" != HdrS ]; then
	echo "extract-vmlinux: $in: no bzImage header (magic '$magic' at 0x202)" >&2
	exit 1
fi
setup_sects=$(le 497 1)
[ "$setup_sects" -eq 0 ] && setup_sects=4
pm_start=$(( (setup_sects + 1) * 512 ))
payload_offset=$(le 584 4)
payload_length=$(le 588 4)
start=$((pm_start + payload_offset))
if [ "$payload_length" -le 4 ]; then
	echo "extract-vmlinux: $in: payload length $payload_length too small" >&2
	exit 1
fi

head=$(od -An -tx1 -j "$start" -N 6 "$in" | tr -d ' ')
case $head in
fd377a585a00)	dec="xz -dc" ;;
28b52ffd*)	dec="zstd -dcq" ;;
1f8b*)		dec="gzip -dc" ;;
*)
	echo "extract-vmlinux: $in: unknown compression (magic $head at $start)" >&2
	exit 1
	;;
esac

tmp=$out.tmp
tail -c +$((start + 1)) "$in" | head -c $((payload_length - 4)) | $dec > "$tmp"
if [ "$(od -An -c -N 4 "$tmp" | tr -d ' ')" != 177ELF ]; then
	rm -f "$tmp"
	echo "extract-vmlinux: $in: payload did not decompress to an ELF file" >&2
	exit 1
fi
mv "$tmp" "$out"
