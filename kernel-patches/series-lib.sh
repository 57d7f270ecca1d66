# shellcheck shell=bash
# Sourced (bash) by the kernel build scripts: the series, the source tree, the fragments.
#
#   series_read SERIESFILE        -> the array series_patches (absolute paths, in order)
#   series_unpack TARBALL SRC [OBJDIR...]
#                                 the pristine tree in git at SRC (once per tarball); a new
#                                 tarball also removes the OBJDIRs built from the old one
#   series_apply SRC              SRC's work tree := pristine + series_patches, touching only
#                                 the files whose content differs (incremental builds)
#   series_release_fragment IN OUT
#                                 hibernate.config without its debugging section (the release
#                                 flavor's and the packages' fragment)
#
# build-kernel.sh, build-kernel-deb.sh and check-series.sh use it; the first two share one
# tree ($HIBERNATE_CACHE/src/linux-source-6.12): each leaves the work tree as pristine + its
# series, and make rebuilds what the other changed.  Callers hash this file into their cache
# keys with themselves, set die() (message and exit) and run one build at a time on the tree.

series_read() {
	local series=$1 dir line
	dir=$(cd "$(dirname "$series")" && pwd)
	series_patches=()
	[ -r "$series" ] || die "$series not found"
	while read -r line; do
		line=${line%%#*}
		line=$(echo "$line" | xargs)
		[ -n "$line" ] || continue
		[ -r "$dir/$line" ] || die "series names $line, which does not exist"
		series_patches+=("$dir/$line")
	done <"$series"
	[ ${#series_patches[@]} -gt 0 ] || die "$series lists no patch"
}

series_unpack() {
	local tarball=$1 src=$2 stamp debver
	shift 2
	stamp=$(sha256sum "$tarball" | cut -c1-16)
	[ "$(cat "$src/.tarball-stamp" 2>/dev/null)" != "$stamp" ] || return 0
	debver=$(dpkg-query -W -f='${Version}' "$(basename "$src")" 2>/dev/null || echo unknown)
	echo "series: unpacking $tarball ($debver)"
	# Objects of the old tree go too: the tarball's mtimes are older than they are, so make
	# would keep them.
	rm -rf "$src" "$@"
	mkdir -p "$(dirname "$src")"
	tar -C "$(dirname "$src")" -xf "$tarball"
	# Pristine copy in git, so each build starts from the original tree while untouched
	# files keep their mtime (incremental builds).
	git -C "$src" init -q
	git -C "$src" add -f -A .
	git -C "$src" -c user.name=build -c user.email=build@localhost \
		commit -q -m "$(basename "$src") $debver"
	echo "$stamp" >"$src/.tarball-stamp"
}

series_apply() {
	local src=$1 p f want have index
	# Apply the series to a scratch copy of the index (the pristine tree, with the stat data
	# of the work tree), then rewrite only the files whose content differs: files the last
	# build already had right keep their mtime, so make rebuilds only what changed.
	index=$(mktemp)
	cp "$src/.git/index" "$index"
	(
		export GIT_INDEX_FILE=$index
		git -C "$src" update-index -q --refresh >/dev/null || true
		for p in "${series_patches[@]}"; do
			git -C "$src" apply --cached --whitespace=nowarn "$p" ||
				die "$(basename "$p") does not apply to $(basename "$src")"
		done
		git -C "$src" diff-files --name-only -z | while IFS= read -r -d '' f; do
			want=$(git -C "$src" ls-files -s -- "$f" | cut -d' ' -f2)
			have=$(git -C "$src" hash-object -- "$f" 2>/dev/null || echo none)
			[ "$want" = "$have" ] || git -C "$src" checkout-index -f -- "$f"
		done
		git -C "$src" ls-files -o -z -x .tarball-stamp | (cd "$src" && xargs -0 -r rm -f --)
		git -C "$src" update-index -q --refresh >/dev/null
		[ -z "$(git -C "$src" diff-files --name-only)" ] ||
			die "the source tree does not match the series after applying it"
	) || { rm -f "$index"; exit 1; }
	rm -f "$index"
	echo "series: applied ${#series_patches[@]} patches to $src"
}

series_release_fragment() {
	# From "# Debugging" to the next comment line that starts a section.
	awk '/^# Debugging/ { skip = 1; next } /^# / { skip = 0 } !skip' "$1" >"$2"
}
