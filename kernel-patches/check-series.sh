#!/bin/bash
# Check that every patch of the series builds and is checkpatch-clean:
#
#   kernel-patches/check-series.sh [--flavors "debug release"] [--from N]
#
# Applies the series to a pristine linux-source tree one patch at a time and, after each,
# runs scripts/checkpatch.pl --strict on the patch and builds the prefix incrementally
# (bzImage) in one object directory per flavor (the configs differ: the release flavor drops
# the fragment's debugging section), so each build only recompiles what the patch changed.
# Prints one line per patch:
#
#   0011 build debug ok, release ok; checkpatch ok   PM-hibernate-stream-...
#
# and exits non-zero if any patch fails.  Too slow for every CI run (the first prefix builds
# a whole kernel per flavor, later ones a few files); run it before a series change lands
# (make check-series).  Work trees live under $HIBERNATE_CACHE/check-series.
#
# checkpatch's "added, moved or deleted file(s), does MAINTAINERS need updating?" is not
# counted: the MAINTAINERS lines that cover the series' new files come with patches that
# add them, which checkpatch does not look at (kernel-patches/README.md).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
kver=6.12
srcpkg=linux-source-$kver
tarball=${KERNEL_TARBALL:-/usr/src/$srcpkg.tar.xz}
cache=${HIBERNATE_CACHE:-$HOME/.cache/hibernate}/check-series
jobs=${JOBS:-$(($(nproc) + 1))}
flavors="debug release"
from=1

while [ $# -gt 0 ]; do
	case $1 in
	--flavors) flavors=$2; shift 2 ;;
	--from) from=$((10#$2)); shift 2 ;;
	*) echo "usage: $0 [--flavors \"debug release\"] [--from N]" >&2; exit 2 ;;
	esac
done

die() { echo "check-series: $*" >&2; exit 1; }
[ -r "$tarball" ] || die "$tarball not found: install $srcpkg (scripts/install-deps.sh)"
if pgrep -f 'build-kerne[l].sh' >/dev/null; then
	die "a kernel build is running; run this when it is done (2 cores)"
fi

mapfile -t patches < <(sed 's/#.*//; /^[[:space:]]*$/d' "$here/series")
[ ${#patches[@]} -gt 0 ] || die "empty series"

src=$cache/src
stamp=$(sha256sum "$tarball" | cut -c1-16)
if [ "$(cat "$src/.tarball-stamp" 2>/dev/null)" != "$stamp" ]; then
	echo "check-series: unpacking $tarball"
	rm -rf "$cache"
	mkdir -p "$cache"
	tar -C "$cache" -xf "$tarball"
	mv "$cache/$srcpkg" "$src"
	git -C "$src" init -q
	git -C "$src" add -f -A .
	git -C "$src" -c user.name=check -c user.email=check@localhost commit -q -m pristine
	echo "$stamp" > "$src/.tarball-stamp"
fi

# shellcheck source=series-lib.sh
. "$here/series-lib.sh"

fragment_for() {
	local out=$cache/fragment-$1
	if [ "$1" = release ]; then
		series_release_fragment "$here/hibernate.config" "$out"
	else
		cp "$here/hibernate.config" "$out"
	fi
	echo "$out"
}

configure() {
	local flavor=$1 obj=$cache/obj-$1 frag
	frag=$(fragment_for "$flavor")
	mkdir -p "$obj"
	make -s -C "$src" O="$obj" tinyconfig >/dev/null &&
	"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$frag" >/dev/null &&
	make -s -C "$src" O="$obj" olddefconfig >/dev/null
}

# Reset the tree to the pristine state plus patches 1..N-1 (keeping mtimes of files the
# last run left identical), so --from can resume.
git -C "$src" checkout -q -f master 2>/dev/null || git -C "$src" checkout -q -f main
git -C "$src" clean -q -f -d -x -e .tarball-stamp
fail=0
n=0
for p in "${patches[@]}"; do
	n=$((n + 1))
	num=${p%%-*}
	if ! git -C "$src" apply --whitespace=nowarn "$here/$p"; then
		printf '%s does not apply   %s\n' "$num" "$p"
		fail=1
		break
	fi
	[ "$n" -ge "$from" ] || continue

	line="$num build"
	for flavor in $flavors; do
		obj=$cache/obj-$flavor
		log=$cache/build-$num-$flavor.log
		# A warning in a file the patch touches fails it as a build error does.
		touched=$(sed -n 's|^+++ b/||p' "$here/$p" | grep '\.[ch]$' | tr '\n' '|')
		if configure "$flavor" &&
		   nice make -s -C "$src" O="$obj" -j"$jobs" KBUILD_BUILD_USER=hibernate \
			KBUILD_BUILD_HOST=build bzImage > "$log" 2>&1 &&
		   ! grep -E "(${touched%|}).*(warning|error):" "$log" >/dev/null; then
			line="$line $flavor ok,"
		else
			line="$line $flavor FAILED ($log),"
			fail=1
		fi
	done
	cp=$(cd "$src" && perl scripts/checkpatch.pl --strict --no-signoff -q "$here/$p" 2>&1 |
		grep -v -e 'does MAINTAINERS need updating' -e '^#[0-9]*: *$' \
			-e '^new file mode' -e '^total: ' -e '^$' -e 'NOTE: ' |
		grep -E '^(WARNING|ERROR|CHECK)' || true)
	if [ -z "$cp" ]; then
		line="${line%,}; checkpatch ok"
	else
		line="${line%,}; checkpatch: $(echo "$cp" | head -n 3 | tr '\n' ' ')"
		fail=1
	fi
	printf '%s   %s\n' "$line" "${p#*-}"
done
if [ "$fail" = 0 ]; then
	if [ "$from" -gt 1 ]; then
		echo "check-series: patches $from-${#patches[@]} of ${#patches[@]} build ($flavors)" \
			"and are checkpatch-clean; 1-$((from - 1)) were applied, not checked"
	else
		echo "check-series: all ${#patches[@]} patches build ($flavors) and are checkpatch-clean"
	fi
fi
exit $fail
