# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Sourced by the package tests (install-test.sh, kernel-deb-test.sh): a Debian 12 root made
# with debootstrap, cached, and a scratch copy of it for one run.
#
#   debian_root_cached DEB   the cached root for the tools package DEB: bookworm, minbase,
#                            the checks' tools and DEB's own dependencies (so that installing
#                            it needs no download); made once per input (suite, mirror,
#                            variant, package list, this file) under
#                            ~/.cache/hibernate/debootstrap/HASH/ -> $root_cache
#   debian_root_scratch      a copy of it with /proc and /dev mounted, unmounted and removed
#                            at exit whatever happens -> $scratch, $root
#   in_root CMD...           CMD in the copy, with a clean environment
#
#   pkg_test_start NAME      NAME prefixes the messages; root and the tools are checked
#   phase MESSAGE            MESSAGE with the seconds since the last phase
#   fail MESSAGE             MESSAGE, exit 1
#   check WHAT CMD...        "ok N - WHAT" if CMD succeeds, else "not ok N - WHAT" and its
#                            output; $n and $fails count them
#
# The mirror is the one this machine's apt uses.

pkg_test_start() {
	test_name=$1
	t0=$(date +%s)
	phase_t=$t0
	[ "$(id -u)" = 0 ] || { echo "$test_name: needs root (chroot, mount)" >&2; exit 77; }
	for tool in debootstrap dpkg-buildpackage lintian; do
		command -v "$tool" >/dev/null || fail "$tool missing: run scripts/install-deps.sh"
	done
}

phase() {
	local now
	now=$(date +%s)
	echo "$test_name: [$((now - phase_t)) s] $*"
	phase_t=$now
}

fail() {
	echo "$test_name: FAIL: $*" >&2
	exit 1
}

n=0 fails=0
check() {
	local what=$1
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n - $what${out:+: $(head -n 1 <<<"$out")}"
	else
		fails=$((fails + 1))
		echo "not ok $n - $what"
		sed 's/^/    /' <<<"$out" | head -n 20
	fi
}

debian_root_cached() {
	local deb=$1 suite=bookworm variant=minbase mirror deps include key
	# The mirror this machine's apt uses for Debian itself (deb822 or one-line sources).
	mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
			/etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v s="$suite" '
		/^[[:space:]]*#/ { next }
		/^deb[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i !~ /^\[/) break;
				    if ($(i + 1) == s && $i ~ /debian\/?$/) { print $i; exit } next }
		/^URIs:/ { uri = $2 }
		/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s && uri ~ /debian\/?$/) { print uri; exit } }
	' || true)
	mirror=${mirror:-http://deb.debian.org/debian}
	# What the checks need (man-db: man -w; systemd: systemd-analyze; dbus:
	# systemd-logind.service requires dbus.socket, and verify of it with the package's
	# drop-in wants it there), and the package's own dependencies.
	deps=$(dpkg-deb -f "$deb" Depends Recommends |
		sed -E 's/^[A-Za-z-]+: //; s/\([^)]*\)//g; s/\|[^,]*//g' |
		tr ',' '\n' | awk 'NF { print $1 }' | sort -u | tr '\n' ',')
	include="man-db,systemd,dbus,${deps%,}"
	# Resume from the initramfs (issue 16): initramfs-tools builds one with the package's
	# hook (and, for the kernel package, the kernel's postinst hook makes its initrd);
	# dracut-core (dracut itself conflicts with initramfs-tools) checks the dracut module.
	include="$include,initramfs-tools,dracut-core"
	key=$(printf '%s\n' "$suite" "$mirror" "$variant" "$include" |
		cat - "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
	root_cache=${XDG_CACHE_HOME:-$HOME/.cache}/hibernate/debootstrap/$key
	if [ -f "$root_cache/.complete" ]; then
		echo "$test_name: cached $suite root $root_cache"
		return 0
	fi
	echo "$test_name: making the $suite root ($variant, $mirror; +$include) in $root_cache"
	rm -rf "$root_cache.tmp" && mkdir -p "$root_cache.tmp"
	debootstrap --variant="$variant" --include="$include" "$suite" "$root_cache.tmp/root" \
		"$mirror" >"$root_cache.tmp/debootstrap.log" 2>&1 ||
		{ tail -n 30 "$root_cache.tmp/debootstrap.log"; fail "debootstrap"; }
	# Package lists, for a dependency the cached root lacks (and apt-get -s); no downloaded
	# .debs kept.
	chroot "$root_cache.tmp/root" apt-get update -qq >/dev/null 2>&1 || true
	chroot "$root_cache.tmp/root" apt-get clean
	touch "$root_cache.tmp/.complete"
	rm -rf "$root_cache" && mv "$root_cache.tmp" "$root_cache"
	phase "debootstrap (cached now)"
}

debian_root_scratch() {
	scratch=$(mktemp -d "/tmp/hibernate-$test_name.XXXXXX")
	root=$scratch/root
	debian_root_mounted=()
	trap debian_root_cleanup EXIT
	trap 'exit 130' INT TERM
	cp -a "$root_cache/root" "$root"
	mount -t proc proc "$root/proc" && debian_root_mounted+=("$root/proc")
	mount --bind /dev "$root/dev" && debian_root_mounted+=("$root/dev")
	phase "scratch root"
}

debian_root_cleanup() {
	local i
	for ((i = ${#debian_root_mounted[@]} - 1; i >= 0; i--)); do
		umount "${debian_root_mounted[i]}" 2>/dev/null ||
			umount -l "${debian_root_mounted[i]}" 2>/dev/null || true
	done
	# Never remove through a mount that is still there.
	if ! grep -q " $scratch/" /proc/self/mounts; then
		rm -rf "$scratch"
	else
		echo "$test_name: $scratch still has mounts; left in place" >&2
	fi
}

in_root() {
	chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@"
}
