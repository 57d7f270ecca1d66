#!/bin/bash
# Build the patched guest kernel from Debian's linux-source-6.12 (the 6.12 LTS).
#
#   kernel-patches/build-kernel.sh [OUTDIR]
#   HIB_KERNEL_FLAVOR=release kernel-patches/build-kernel.sh [OUTDIR]
#
# Takes /usr/src/linux-source-$KVER.tar.xz (KVER 6.12), applies the patches listed in
# kernel-patches/series (in order), merges kernel-patches/hibernate.config on
# top of `make tinyconfig` and builds bzImage out of tree.  The result is
# cached under $HIBERNATE_CACHE (default ~/.cache/hibernate) by a hash of every
# input: the source tarball, the series and each patch, the config fragment,
# this script and the compiler.  An unchanged kernel is not rebuilt; any change
# gives a new hash.  OUTDIR (default build/kernel) gets bzImage, .config,
# kernel.release, the source version and the input hash.
#
# Two flavors of the same series: "debug" (the default: lockdep, PROVE_RCU, the
# VM harness fails on their splats) and "release", the fragment without its
# "# Debugging" section -- what a distribution ships, and what the memory-size
# targets are measured on (the debug options' static tables alone are ~10 MiB
# the snapshot must copy).  Each flavor has its own object directory.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
out=${1:-$top/build/kernel}
kver=6.12
srcpkg=linux-source-$kver
tarball=${KERNEL_TARBALL:-/usr/src/$srcpkg.tar.xz}
cache=${HIBERNATE_CACHE:-$HOME/.cache/hibernate}
jobs=${JOBS:-$(($(nproc) + 1))}
flavor=${HIB_KERNEL_FLAVOR:-debug}
fragment=$here/hibernate.config
series=$here/series

die() { echo "build-kernel: $*" >&2; exit 1; }

[ -r "$tarball" ] || die "$tarball not found: install $srcpkg (scripts/install-deps.sh)"
[ -r "$series" ] || die "$series not found"
# shellcheck source=series-lib.sh
. "$here/series-lib.sh"
case $flavor in
debug) ;;
release)
	# The fragment without its debugging section.
	frag_release=$(mktemp)
	trap 'rm -f "$frag_release"' EXIT
	series_release_fragment "$fragment" "$frag_release"
	fragment=$frag_release
	;;
*) die "unknown HIB_KERNEL_FLAVOR '$flavor' (debug or release)" ;;
esac

series_read "$series"
patches=("${series_patches[@]}")

debver=$(dpkg-query -W -f='${Version}' $srcpkg 2>/dev/null || echo unknown)
hash=$( {
	sha256sum "$tarball" | cut -d' ' -f1
	for p in "${patches[@]}"; do sha256sum "$p" | cut -d' ' -f1; done
	sha256sum "$fragment" "$0" "$here/series-lib.sh" | cut -d' ' -f1
	echo "$flavor"
	gcc --version | head -1
} | sha256sum | cut -c1-16)

result=$cache/kernel/$hash
if [ -f "$result/bzImage" ]; then
	echo "build-kernel: cached kernel $hash ($(cat "$result/kernel.release"))"
else
	src=$cache/src/$srcpkg
	obj=$cache/obj/$srcpkg
	[ "$flavor" = debug ] || obj=$obj-$flavor
	series_unpack "$tarball" "$src" "$cache/obj/$srcpkg" "$cache/obj/$srcpkg"-*
	series_apply "$src"

	mkdir -p "$obj"
	make -s -C "$src" O="$obj" tinyconfig >/dev/null
	"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$fragment" >/dev/null
	make -s -C "$src" O="$obj" olddefconfig >/dev/null
	# Every option of the fragment must survive: a dropped one means the
	# series and the fragment disagree.
	missing=0
	while read -r opt; do
		case "$opt" in CONFIG_*) ;; *) continue ;; esac
		if ! grep -qx "$opt" "$obj/.config"; then
			echo "build-kernel: $opt did not stick in .config" >&2
			missing=1
		fi
	done < "$fragment"
	[ "$missing" = 0 ] || [ "${KCONFIG_LAX:-0}" = 1 ] || die "config fragment not satisfied"

	echo "build-kernel: building bzImage with -j$jobs (a few minutes on 2 cores)"
	make -s -C "$src" O="$obj" -j"$jobs" KBUILD_BUILD_USER=hibernate \
		KBUILD_BUILD_HOST=build bzImage
	mkdir -p "$result.tmp"
	cp "$obj/arch/x86/boot/bzImage" "$obj/.config" "$result.tmp/"
	cp "$obj/vmlinux" "$result.tmp/" 2>/dev/null || true
	make -s -C "$src" O="$obj" kernelrelease > "$result.tmp/kernel.release"
	echo "$debver" > "$result.tmp/source-version"
	printf '%s\n' "${patches[@]##*/}" > "$result.tmp/patches"
	echo "$hash" > "$result.tmp/hash"
	echo "$flavor" > "$result.tmp/flavor"
	# The UAPI header as the series leaves it (make check compares it with
	# include/uapi/linux/hibernate.h) and the series' kselftest, which the VM
	# harness builds and runs in the guest.
	cp "$src/include/uapi/linux/hibernate.h" "$result.tmp/hibernate.h" 2>/dev/null || true
	if [ -d "$src/tools/testing/selftests/hibernate" ]; then
		mkdir -p "$result.tmp/selftests"
		cp "$src/tools/testing/selftests/hibernate/"*.c \
			"$src/tools/testing/selftests/kselftest_harness.h" \
			"$src/tools/testing/selftests/kselftest.h" "$result.tmp/selftests/"
	fi
	rm -rf "$result"
	mv "$result.tmp" "$result"
	echo "build-kernel: built $hash ($(cat "$result/kernel.release"), $srcpkg $debver)"
fi

mkdir -p "$out"
rm -rf "$out/selftests" "$out/hibernate.h"
for f in bzImage .config kernel.release source-version patches hash flavor hibernate.h selftests; do
	[ -e "$result/$f" ] && cp -r "$result/$f" "$out/$f"
done
true
