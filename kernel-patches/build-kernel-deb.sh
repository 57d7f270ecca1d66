#!/bin/bash
# Build the patched kernel as Debian packages with the kernel's own `make bindeb-pkg`:
# linux-image-REL_VERSION_amd64.deb and linux-headers-REL_VERSION_amd64.deb, REL being
# 6.12.N-hibernate (so they install beside Debian's linux-image-6.12.N+deb12-amd64 and
# linux-image-amd64, never over them).
#
#   kernel-patches/build-kernel-deb.sh [--config test|FILE | --localmodconfig [--base FILE]]
#                                      [--out DIR] [--config-only]
#
#   --config test       (the default) `make tinyconfig` + hibernate.config without its
#                       "# Debugging" section (build-kernel.sh's release flavor) + debian.config
#                       (what systemd and a Debian 12 userland need): what the tests install
#                       into a Debian 12 root and boot in QEMU
#   --config FILE       FILE (a whole .config, e.g. /boot/config-$(uname -r)) + machine.config
#                       (the series' options and what the tools need)
#   --localmodconfig    the running system's /boot/config-$(uname -r) (or --base FILE) trimmed
#                       by `make localmodconfig` to the modules loaded now (lsmod; LSMOD=FILE
#                       takes another machine's lsmod output), + machine.config
#   --out DIR           where the .debs go (default build/kernel-deb)
#   --config-only       stop after the configuration: DIR/config, every fragment line checked
#
# The series is applied to the same pristine tree as build-kernel.sh's (series-lib.sh), the
# objects go to their own directory per config ($HIBERNATE_CACHE/obj/linux-source-6.12-deb/
# MODE/build: incremental, and the debug and release flavors' objects stay as they are).
# The packages are cached under $HIBERNATE_CACHE/kernel-deb/HASH by a hash of every input:
# the source tarball, each patch, the fragments, the base config (and the lsmod list), this
# script and series-lib.sh, LOCALVERSION, the maintainer and the compiler.  The package
# version is 6.12.N-1+hibernate.DATE (the build's UTC time, so that a rebuild upgrades the
# installed one) unless KDEB_PKGVERSION is set (then it is an input too).
#
# One build at a time: a second one waits for the first (flock), and for build-kernel.sh
# (same source tree).  Needs bc, bison, flex, cpio, kmod, libelf-dev,
# libssl-dev, rsync, debhelper, dpkg-dev (scripts/install-deps.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
out=$top/build/kernel-deb
mode="test"
config_file=
base=
config_only=0

usage() {
	sed -n '/^#   kernel-patches/,/^#$/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--config)
		[ $# -ge 2 ] || usage
		case $2 in
		test) mode="test" ;;
		localmodconfig) mode=local ;;
		*) mode=file config_file=$2 ;;
		esac
		shift 2
		;;
	--localmodconfig) mode=local; shift ;;
	--base) [ $# -ge 2 ] || usage; base=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
	--config-only) config_only=1; shift ;;
	*) usage ;;
	esac
done

kver=6.12
srcpkg=linux-source-$kver
tarball=${KERNEL_TARBALL:-/usr/src/$srcpkg.tar.xz}
cache=${HIBERNATE_CACHE:-$HOME/.cache/hibernate}
jobs=${JOBS:-$(($(nproc) + 1))}
localversion=${LOCALVERSION--hibernate}
# The package's Maintainer: the project's, as for the tools package.
maintainer=$(sed -n 's/^Maintainer: //p' "$top/debian/control" | head -n 1)
t0=$(date +%s)

die() { echo "build-kernel-deb: $*" >&2; exit 1; }
say() { echo "build-kernel-deb: $*"; }

[ -r "$tarball" ] || die "$tarball not found: install $srcpkg (scripts/install-deps.sh)"
[ -n "$maintainer" ] || die "no Maintainer: in $top/debian/control"
[ "$mode" = local ] || [ -z "$base" ] || die "--base goes with --localmodconfig"
# shellcheck source=series-lib.sh
. "$here/series-lib.sh"
series_read "$here/series"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- the configuration's inputs -----------------------------------------------------------
case $mode in
test)
	# hibernate.config without its debugging section, as build-kernel.sh's release flavor.
	series_release_fragment "$here/hibernate.config" "$tmp/release.config"
	fragments=("$tmp/release.config" "$here/debian.config")
	;;
file)
	[ -r "$config_file" ] || die "$config_file: no such config file (--config test|FILE)"
	grep -q '^CONFIG_' "$config_file" || die "$config_file is not a kernel .config"
	cp "$config_file" "$tmp/base.config"
	fragments=("$here/machine.config")
	;;
local)
	base=${base:-/boot/config-$(uname -r)}
	[ -r "$base" ] || die "$base not found: the running kernel's config (--base FILE names another)"
	cp "$base" "$tmp/base.config"
	# The modules loaded now are what localmodconfig keeps: a device whose module is not
	# loaded (a USB disk, a filesystem mounted only sometimes) loses its driver.
	if [ -n "${LSMOD:-}" ]; then
		[ -r "$LSMOD" ] || die "LSMOD=$LSMOD: not readable"
		cp "$LSMOD" "$tmp/lsmod"
	else
		lsmod >"$tmp/lsmod" 2>"$tmp/lsmod.err" ||
			die "lsmod failed ($(head -n 1 "$tmp/lsmod.err")): use --config FILE, or LSMOD=FILE with lsmod's output"
	fi
	[ "$(awk 'NR > 1' "$tmp/lsmod" | wc -l)" -gt 0 ] ||
		say "warning: lsmod lists no module: localmodconfig keeps only what is built in"
	fragments=("$here/machine.config")
	;;
esac

hash=$( {
	sha256sum "$tarball" | cut -d' ' -f1
	for p in "${series_patches[@]}"; do sha256sum "$p" | cut -d' ' -f1; done
	for f in "${fragments[@]}"; do sha256sum "$f" | cut -d' ' -f1; done
	sha256sum "$0" "$here/series-lib.sh" | cut -d' ' -f1
	echo "$mode"
	[ ! -f "$tmp/base.config" ] || sha256sum "$tmp/base.config" | cut -d' ' -f1
	# Module names only: sizes and use counts change with every boot.
	[ ! -f "$tmp/lsmod" ] || awk 'NR > 1 { print $1 }' "$tmp/lsmod" | sort
	echo "localversion=$localversion maintainer=$maintainer pkgversion=${KDEB_PKGVERSION:-}"
	gcc --version | head -n 1
} | sha256sum | cut -c1-16)

result=$cache/kernel-deb/$hash

deliver() {
	mkdir -p "$out"
	# One package of each kind in OUT, so that ./linux-image-*.deb names the one just built.
	rm -f "$out"/linux-image-*.deb "$out"/linux-headers-*.deb
	cp "$result"/*.deb "$result/config" "$result/kernel.release" "$result/hash" \
		"$result/source-version" "$result/patches" "$result/mode" "$out/"
	say "$(cd "$out" && ls linux-*.deb | tr '\n' ' ')in $out ($(($(date +%s) - t0)) s)"
}

if [ "$config_only" = 0 ] && [ -f "$result/kernel.release" ]; then
	say "cached $hash ($(cat "$result/kernel.release"), config $mode)"
	deliver
	exit 0
fi

# ---- one build at a time on the tree --------------------------------------------------------
mkdir -p "$cache/kernel-deb"
exec 9>"$cache/kernel-deb/.lock"
if ! flock -n 9; then
	say "another build-kernel-deb.sh runs; waiting"
	flock 9
fi
if [ "$config_only" = 0 ] && [ -f "$result/kernel.release" ]; then
	say "cached $hash (built meanwhile)"
	deliver
	exit 0
fi

# build-kernel.sh applies its series to the same tree.
while pgrep -f 'build-kerne[l][.]sh' >/dev/null; do
	say "build-kernel.sh is running (same source tree); waiting"
	sleep 20
done

src=$cache/src/$srcpkg
objtop=$cache/obj/$srcpkg-deb/$mode
# dpkg-buildpackage runs in the object directory and writes the packages to its parent.
obj=$objtop/build
# A new tarball: every object directory built from the old tree goes (build-kernel.sh's too).
series_unpack "$tarball" "$src" "$cache/obj/$srcpkg" "$cache/obj/$srcpkg"-*
series_apply "$src"
debver=$(dpkg-query -W -f='${Version}' $srcpkg 2>/dev/null || echo unknown)

# ---- the configuration ---------------------------------------------------------------------
mkdir -p "$obj"
case $mode in
test)
	make -s -C "$src" O="$obj" tinyconfig >/dev/null
	;;
file)
	cp "$tmp/base.config" "$obj/.config"
	;;
local)
	cp "$tmp/base.config" "$obj/.config"
	say "localmodconfig: keeping the $(awk 'NR > 1' "$tmp/lsmod" | wc -l) modules lsmod lists"
	make -s -C "$src" O="$obj" LSMOD="$tmp/lsmod" localmodconfig </dev/null >"$tmp/lmc.log" 2>&1 ||
		{ cat "$tmp/lmc.log" >&2; die "make localmodconfig failed"; }
	;;
esac
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "${fragments[@]}" >/dev/null
# A distribution's config names certificate and key files of its own build tree (Debian's:
# debian/certs/..., output/signing_key.pem), which linux-source does not ship: without them
# no trusted or revoked keys are added, and the modules are signed with a key the build
# generates (certs/signing_key.pem, the kernel's default).
for opt in SYSTEM_TRUSTED_KEYS SYSTEM_REVOCATION_KEYS MODULE_SIG_KEY; do
	val=$(sed -n "s/^CONFIG_$opt=\"\(.*\)\"\$/\1/p" "$obj/.config")
	[ -n "$val" ] && [ "$val" != certs/signing_key.pem ] || continue
	case $val in /*) f=$val ;; *) f=$obj/$val ;; esac
	[ ! -e "$f" ] || continue
	new=
	[ "$opt" != MODULE_SIG_KEY ] || new=certs/signing_key.pem
	say "CONFIG_$opt=\"$val\" does not exist here: \"$new\" instead"
	"$src/scripts/config" --file "$obj/.config" --set-str "$opt" "$new"
done
make -s -C "$src" O="$obj" olddefconfig >/dev/null
# Every line of the fragments must survive: a dropped one means a dependency is missing (the
# fragment and the kernel disagree), and the kernel would silently lack it.
missing=0
for f in "${fragments[@]}"; do
	while read -r line; do
		case $line in
		CONFIG_*=*)
			opt=${line%%=*}
			! grep -qxF -- "$line" "$obj/.config" || continue ;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			grep -q "^$opt=" "$obj/.config" || continue ;;
		*) continue ;;
		esac
		echo "build-kernel-deb: '$line' ($(basename "$f")) did not stick:" \
			"$(grep -E "^(# )?${opt}[= ]" "$obj/.config" || echo "$opt absent")" >&2
		missing=1
	done <"$f"
done
[ "$missing" = 0 ] || [ "${KCONFIG_LAX:-0}" = 1 ] || die "config fragment not satisfied"
if [ "$config_only" = 1 ]; then
	mkdir -p "$out"
	cp "$obj/.config" "$out/config"
	say "config ($mode) in $out/config; every fragment line holds"
	exit 0
fi

# ---- make bindeb-pkg --------------------------------------------------------------------------
kernelversion=$(make -s -C "$src" O="$obj" kernelversion)
# The date makes each build's version higher than the last one's (apt upgrades the package of
# the same release); Debian's own kernels are 6.12.N-1~deb12uM, a distinct package anyway.
pkgversion=${KDEB_PKGVERSION:-$kernelversion-1+hibernate.$(date -u +%Y%m%d.%H%M%S)}
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
rm -f "$objtop"/*.deb "$objtop"/*.buildinfo "$objtop"/*.changes
say "make bindeb-pkg with -j$jobs: $pkgversion, config $mode (a kernel build: minutes)"
log=$objtop/build.log
if ! nice -n 10 make -C "$src" O="$obj" -j"$jobs" \
	LOCALVERSION="$localversion" KDEB_PKGVERSION="$pkgversion" \
	KDEB_CHANGELOG_DIST="${codename:-unstable}" \
	DEBFULLNAME="${maintainer% <*}" DEBEMAIL="$(sed 's/.*<\(.*\)>.*/\1/' <<<"$maintainer")" \
	KBUILD_BUILD_USER=hibernate KBUILD_BUILD_HOST=build \
	bindeb-pkg >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	die "make bindeb-pkg failed (log: $log)"
fi
release=$(make -s -C "$src" O="$obj" LOCALVERSION="$localversion" kernelrelease)

rm -rf "$result.tmp"
mkdir -p "$result.tmp"
# linux-libc-dev (bindeb-pkg always makes it) stays behind: it would replace Debian's, which
# glibc's headers are built against.
for pkg in linux-image linux-headers; do
	deb=("$objtop/${pkg}-${release}_${pkgversion}_"*.deb)
	[ -f "${deb[0]}" ] || die "bindeb-pkg made no ${pkg}-${release}_${pkgversion}_*.deb (log: $log)"
	cp "${deb[0]}" "$result.tmp/"
done
cp "$obj/.config" "$result.tmp/config"
echo "$release" >"$result.tmp/kernel.release"
echo "$debver" >"$result.tmp/source-version"
printf '%s\n' "${series_patches[@]##*/}" >"$result.tmp/patches"
echo "$hash" >"$result.tmp/hash"
echo "$mode${config_file:+ $config_file}${base:+ $base}" >"$result.tmp/mode"
rm -rf "$result"
mv "$result.tmp" "$result"
say "built $hash ($release, $pkgversion, $srcpkg $debver) in $(($(date +%s) - t0)) s"
deliver
