#!/bin/sh
# Regenerate vmlinux/<arch>/vmlinux.h from a kernel's BTF and record where it
# came from, then rebuild portwatch for that architecture to prove the header
# still compiles.
#   vmlinux/gen.sh [SOURCE] [ARCH]
# SOURCE is one of
#   a raw BTF file         default: this machine's /sys/kernel/btf/vmlinux
#   a kernel image         vmlinuz/Image, plain or with a gzip/zstd/xz payload
#   a Debian kernel .deb   its /boot/vmlinuz-*
#   a Debian package name  linux-image-...[=VERSION], fetched with apt-get
#                          download (the architecture must be known to dpkg:
#                          dpkg --add-architecture arm64 && apt-get update)
# ARCH (x86, arm64) defaults to the package's or image's architecture, else
# to this machine's. A kernel built with CONFIG_DEBUG_INFO_BTF carries its BTF
# in the image: the blob starts with a header (magic 0xEB9F, version 1,
# hdr_len 24) and is hdr_len + str_off + str_len bytes long.
set -eu
src=${1:-/sys/kernel/btf/vmlinux}
arch=${2:-}
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "gen.sh: $*" >&2; exit 1; }
command -v bpftool >/dev/null || die "bpftool not found (apt-get install bpftool)"

tmp=$(mktemp -d /tmp/portwatch-gen.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Debian's architecture names and portwatch's
deb_arch() {
	case $1 in
	amd64) echo x86 ;;
	arm64) echo arm64 ;;
	*) die "architecture $1 is not one portwatch builds for (x86, arm64)" ;;
	esac
}

# set_arch ARCH WHERE: the source's architecture; must agree with ARCH if given
set_arch() {
	if [ -z "$arch" ]; then
		arch=$1
	elif [ "$arch" != "$1" ]; then
		die "$2 is $1, not $arch"
	fi
}

# first 2 bytes of a file, as hex
magic() { od -An -tx1 -N2 "$1" | tr -d ' \n'; }

# btf_at FILE: offsets of BTF headers (magic, version 1, flags 0, hdr_len 24)
btf_at() { LC_ALL=C grep -obUaP '\x9f\xeb\x01\x00\x18\x00\x00\x00' "$1" | cut -d: -f1; }

# cut_btf FILE OUT: the largest well-formed BTF blob in FILE to OUT
cut_btf() {
	best=0 best_off=
	size=$(wc -c < "$1")
	for o in $(btf_at "$1"); do
		# shellcheck disable=SC2046
		set -- "$1" "$2" $(od -An -tu4 -j $((o + 8)) -N 16 "$1")
		# type_off type_len str_off str_len: strings after the types
		[ $# -eq 6 ] && [ "$3" -le "$5" ] && [ $(($3 + $4)) -le "$5" ] || continue
		len=$((24 + $5 + $6))
		[ $((o + len)) -le "$size" ] && [ "$len" -gt "$best" ] || continue
		best=$len best_off=$o
	done
	[ -n "$best_off" ] || return 1
	tail -c +$((best_off + 1)) "$1" | head -c "$best" > "$2"
	bpftool btf dump file "$2" > /dev/null 2>&1 ||
		die "the BTF at offset $best_off of $(basename "$1") does not parse"
	where="offset $best_off ($best bytes)"
}

# image_arch IMAGE: an arm64 Image ("ARM\x64" at 56), an x86 boot image
# ("HdrS" at 0x202) or an ELF vmlinux (e_machine) names its architecture
image_arch() {
	if [ "$(tail -c +57 "$1" | head -c 4 | od -An -tx1 | tr -d ' \n')" = 41524d64 ]; then
		set_arch arm64 "$(basename "$src")"
	elif [ "$(tail -c +515 "$1" | head -c 4)" = HdrS ]; then
		set_arch x86 "$(basename "$src")"
	elif [ "$(magic "$1")" = 7f45 ]; then
		case $(od -An -tu2 -j 18 -N 2 "$1" | tr -d ' ') in
		62) set_arch x86 "$(basename "$src")" ;;
		183) set_arch arm64 "$(basename "$src")" ;;
		esac
	fi
}

# image_btf IMAGE OUT: the BTF of a kernel image, in it or in its payload
image_btf() {
	image_arch "$1"
	case $(magic "$1") in
	1f8b)	gzip -dc "$1" > "$tmp/image" 2>/dev/null || true
		image_arch "$tmp/image"
		cut_btf "$tmp/image" "$2" && { where="$where of the gunzipped image"; return; } ;;
	*)	cut_btf "$1" "$2" && return ;;
	esac
	# a self-extracting image (x86 bzImage): try each compressed stream
	for kind in '\x1f\x8b\x08 gzip -dc' '\x28\xb5\x2f\xfd zstd -dcq' '\xfd7zXZ\x00 xz -dcq'; do
		set -- "$1" "$2" $kind
		command -v "$4" > /dev/null || continue
		for off in $(LC_ALL=C grep -obUaP "$3" "$1" | cut -d: -f1 | head -n 8); do
			tail -c +$((off + 1)) "$1" | $4 $5 > "$tmp/image" 2>/dev/null || true
			cut_btf "$tmp/image" "$2" &&
				{ where="$where of its $4 payload (at $off)"; return; }
		done
	done
	die "no BTF in $(basename "$1") (needs CONFIG_DEBUG_INFO_BTF; for a zstd or xz payload install zstd or xz-utils)"
}

# deb_btf DEB OUT: the BTF of the kernel image in a Debian package
deb_btf() {
	pkg=$(dpkg-deb -f "$1" Package) ver=$(dpkg-deb -f "$1" Version)
	set_arch "$(deb_arch "$(dpkg-deb -f "$1" Architecture)")" "$pkg"
	mkdir -p "$tmp/deb"
	dpkg-deb --fsys-tarfile "$1" | tar -x -C "$tmp/deb" --wildcards './boot/vmlinuz-*' 2>/dev/null ||
		die "no /boot/vmlinuz-* in $1"
	img=$(ls "$tmp"/deb/boot/vmlinuz-* | head -n 1)
	image_btf "$img" "$2"
	desc="Debian package $pkg $ver ($(dpkg-deb -f "$1" Architecture)), /boot/$(basename "$img")"
	again="$pkg=$ver"
}

btf=$tmp/btf
again=$src
if [ -f "$src" ] && [ "$(magic "$src")" = 9feb ]; then
	[ -r "$src" ] || die "cannot read BTF at $src"
	if [ "$src" = /sys/kernel/btf/vmlinux ]; then
		set_arch "$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')" "this machine"
		desc="running kernel $(uname -r) ($(uname -m))"
	else
		desc="BTF file $(basename "$src")"
	fi
	btf=$src
elif [ -f "$src" ] && [ "$(head -c 7 "$src")" = '!<arch>' ]; then
	deb_btf "$src" "$btf"
elif [ -f "$src" ]; then
	image_btf "$src" "$btf"
	desc="kernel image $(basename "$src")"
elif expr "$src" : 'linux-image-' > /dev/null; then
	command -v apt-get > /dev/null || die "apt-get not found: pass a .deb or an image"
	mkdir -p "$tmp/dl"
	(cd "$tmp/dl" && apt-get download -q "$src") > "$tmp/dl.log" 2>&1 ||
		die "apt-get download $src failed: $(tail -n 1 "$tmp/dl.log")"
	deb_btf "$(ls "$tmp"/dl/*.deb | head -n 1)" "$btf"
else
	die "cannot read $src (a BTF file, kernel image, .deb or linux-image-* package name)"
fi
[ -n "$arch" ] || arch=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
case $arch in x86|arm64) ;; *) die "unsupported ARCH '$arch': portwatch builds for x86 and arm64" ;; esac
[ "$btf" = "$src" ] || desc="$desc, BTF at $where"

out="$here/$arch/vmlinux.h"
mkdir -p "$here/$arch"
{
	echo "/* Generated by vmlinux/gen.sh from $desc with $(bpftool version | head -1). */"
	echo "/* Do not edit; regenerate with: vmlinux/gen.sh $again $arch */"
	bpftool btf dump file "$btf" format c
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out ($(wc -l < "$out") lines) from $desc"

make -C "$here/.." --no-print-directory ARCH="$arch"
