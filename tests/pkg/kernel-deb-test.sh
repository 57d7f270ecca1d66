#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The kernel packages (issue 15), as a user meets them: build-kernel-deb.sh --config test (what
# `make kernel-deb` makes; cached by its inputs), lintian on them (an E: tag that
# kernel-deb.lintian does not explain fails), then in the cached Debian 12 root that
# install-test.sh uses (debian-root.sh): apt-get install of linux-image-REL, linux-headers-REL
# and the tools package together, as README.md's real-machine steps do; the kernel's files, its
# modules, the initrd its postinst hook made with the project's resume hook in it, the boot
# loader hook called as grub's would be, the headers; that it installs beside Debian's own
# kernels; apt-get purge removes it and leaves the tools.
#
#   tests/pkg/kernel-deb-test.sh     (root; meson test pkg-kernel-deb runs it)
#
# The tools package is build/deb/hibernate-tools_*.deb (pkg-install, which runs first, makes
# it); `make deb` runs here only if it is missing.  A cold run builds the kernel (about 15
# minutes on 2 cores); a warm one takes the cached packages and root.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/pkg/debian-root.sh
. tests/pkg/debian-root.sh
pkg_test_start pkg-kernel-deb

# ---- the packages ---------------------------------------------------------------------------
KDEB_DIR=${KERNEL_DEB_DIR:-build/kernel-deb}
mkdir -p "$(dirname "$KDEB_DIR")"
kernel-patches/build-kernel-deb.sh --config test --out "$KDEB_DIR" >"$KDEB_DIR.log" 2>&1 ||
	{ tail -n 40 "$KDEB_DIR.log"; fail "build-kernel-deb.sh --config test (log: $KDEB_DIR.log)"; }
phase "build-kernel-deb.sh --config test: $(grep -E '^build-kernel-deb: (cached|built)' "$KDEB_DIR.log" | head -n 1 | sed 's/^build-kernel-deb: //')"
rel=$(cat "$KDEB_DIR/kernel.release")
shopt -s nullglob
found_image=("$KDEB_DIR/linux-image-${rel}_"*.deb)
found_headers=("$KDEB_DIR/linux-headers-${rel}_"*.deb)
[ ${#found_image[@]} = 1 ] && [ ${#found_headers[@]} = 1 ] ||
	fail "expected one linux-image-${rel}_*.deb and one linux-headers-${rel}_*.deb in $KDEB_DIR"
image=$(realpath "${found_image[0]}")
headers=$(realpath "${found_headers[0]}")
kpkg=$(dpkg-deb -f "$image" Package)
kversion=$(dpkg-deb -f "$image" Version)

DEB_DIR=${DEB_DIR:-build/deb}
found_tools=("$DEB_DIR"/hibernate-tools_*.deb)
if [ ${#found_tools[@]} = 0 ]; then
	DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-nocheck} \
		make --no-print-directory deb DEB_DIR="$DEB_DIR" >"$DEB_DIR.make.log" 2>&1 ||
		{ tail -n 40 "$DEB_DIR.make.log"; fail "make deb"; }
	found_tools=("$DEB_DIR"/hibernate-tools_*.deb)
	phase "make deb (log: $DEB_DIR.make.log)"
fi
[ ${#found_tools[@]} = 1 ] ||
	fail "expected one $DEB_DIR/hibernate-tools_*.deb, found ${#found_tools[@]}"
tools=$(realpath "${found_tools[0]}")
echo "$test_name: $(basename "$image") $(basename "$headers") $(basename "$tools")"

# ---- lintian: every E: tag fixed or explained -----------------------------------------------
# kernel-deb.lintian: "tag: why" paragraphs; a tag listed there that lintian no longer reports
# is only mentioned (the next lintian may not have it).
# lintian takes a while over the headers' thousands of files: its log is kept with the
# packages' and lintian's own identity, and redone when either changes.
explained=tests/pkg/kernel-deb.lintian
[ -r "$explained" ] || fail "$explained missing"
lintian_key=$( { sha256sum "$image" "$headers" | cut -d' ' -f1; lintian --version; } | sha256sum)
if [ "$(cat "$KDEB_DIR/lintian.key" 2>/dev/null)" = "$lintian_key" ]; then
	echo "$test_name: lintian: the same packages as the last run ($KDEB_DIR/lintian.log)"
else
	rm -f "$KDEB_DIR/lintian.key"
	rc=0
	lintian --pedantic "$image" "$headers" >"$KDEB_DIR/lintian.log" 2>&1 || rc=$?
	# 2: it found errors (--fail-on's default; looked at below); 1: lintian itself failed.
	[ "$rc" != 1 ] || { tail -n 20 "$KDEB_DIR/lintian.log"; fail "lintian exited $rc"; }
	echo "$lintian_key" >"$KDEB_DIR/lintian.key"
fi
mapfile -t known < <(sed -n 's/^\([a-z0-9][a-z0-9+.-]*\):.*/\1/p' "$explained")
unexplained=0
while read -r line; do
	tag=$(awk '{ print $3 }' <<<"$line")
	if ! printf '%s\n' "${known[@]}" | grep -qxF -- "$tag"; then
		echo "$test_name: lintian error not explained in $explained: $line" >&2
		unexplained=$((unexplained + 1))
	fi
done < <(grep '^E: ' "$KDEB_DIR/lintian.log")
for tag in "${known[@]}"; do
	grep -q "^E: [^ ]*: $tag\( \|$\)" "$KDEB_DIR/lintian.log" ||
		echo "$test_name: note: $tag ($explained) no longer reported"
done
echo "$test_name: lintian: $(grep -c '^[EWIPX]: ' "$KDEB_DIR/lintian.log") tags," \
	"$(grep -c '^E: ' "$KDEB_DIR/lintian.log") errors, $unexplained not explained" \
	"(all: $KDEB_DIR/lintian.log)"
grep '^[EW]: ' "$KDEB_DIR/lintian.log" | sort | uniq -c | sort -rn | head -n 20 || true
[ "$unexplained" = 0 ] || fail "lintian reports errors that $explained does not explain"
phase "lintian"


# ---- a real machine's configurations (the configuration step only) ------------------------------
# Debian's own amd64 config (linux-config-6.12) as --config FILE, and trimmed by localmodconfig to
# a fixed lsmod list as --localmodconfig: the series' options hold (build-kernel-deb.sh checks
# every line of machine.config), Debian's certificate paths are replaced, the debug info is off.
debcfg=/usr/src/linux-config-6.12/config.amd64_none_amd64.xz
[ -r "$debcfg" ] || fail "$debcfg missing (linux-config-6.12): run scripts/install-deps.sh"
cfgdir=$(mktemp -d "/tmp/$test_name-config.XXXXXX")
trap 'rm -rf "$cfgdir"' EXIT	# until debian_root_scratch sets its own
xz -dc "$debcfg" >"$cfgdir/debian-amd64.config"
printf '%s\n' 'Module                  Size  Used by' 'ext4 1 1' 'nvme 1 2' 'e1000e 1 0' \
	'xhci_pci 1 0' 'usbhid 1 0' 'vfat 1 1' >"$cfgdir/lsmod"
cfg_file() { kernel-patches/build-kernel-deb.sh --config-only --out "$cfgdir/file" \
	--config "$cfgdir/debian-amd64.config"; }
cfg_local() { LSMOD=$cfgdir/lsmod kernel-patches/build-kernel-deb.sh --config-only \
	--out "$cfgdir/local" --localmodconfig --base "$cfgdir/debian-amd64.config"; }
cfg_has() {	# DIR LINE...
	local dir=$1 line
	shift
	for line; do
		grep -qxF -- "$line" "$cfgdir/$dir/config" || { echo "no '$line' in $dir/config"; return 1; }
	done
	echo "$(grep -c '=m$' "$cfgdir/$dir/config") modules"
}
cfg_out=$(cfg_file 2>&1) || { echo "$cfg_out"; fail "build-kernel-deb.sh --config-only --config FILE"; }
cfg_out=$(cfg_local 2>&1) || { echo "$cfg_out"; fail "build-kernel-deb.sh --config-only --localmodconfig"; }
for dir in file local; do
	mode=--localmodconfig
	[ "$dir" = local ] || mode="--config FILE"
	check "--config-only $mode (Debian's config): the series, dm snapshots, no debug info, the build's module key" \
		cfg_has "$dir" CONFIG_USER_FREEZER=y CONFIG_HIBERNATION_USER_SNAPSHOT=y \
		CONFIG_DM_SNAPSHOT=y CONFIG_DEBUG_INFO_NONE=y 'CONFIG_MODULE_SIG_KEY="certs/signing_key.pem"'
done
check "--localmodconfig kept lsmod's modules and dropped btrfs (not listed)" \
	cfg_has local CONFIG_E1000E=m CONFIG_BLK_DEV_NVME=m '# CONFIG_BTRFS_FS is not set'
rm -rf "$cfgdir"
phase "build-kernel-deb.sh --config-only: --config FILE and --localmodconfig"

# ---- the Debian 12 root -----------------------------------------------------------------------
debian_root_cached "$tools"
debian_root_scratch
# A boot loader's hook, where grub's zz-update-grub sits (update-grub lists every
# /boot/vmlinuz-*): it logs how the kernel package's maintainer scripts call it.
for d in postinst.d postrm.d; do
	mkdir -p "$root/etc/kernel/$d"
	printf '#!/bin/sh\necho "%s $*" >>/tmp/bootloader-hook.log\n' "$d" \
		>"$root/etc/kernel/$d/zz-hibernate-test"
	chmod 755 "$root/etc/kernel/$d/zz-hibernate-test"
done
cp "$image" "$headers" "$tools" "$root/tmp/"
debs=("/tmp/$(basename "$image")" "/tmp/$(basename "$headers")" "/tmp/$(basename "$tools")")
in_root apt-get install -y --no-download -o Dpkg::Use-Pty=0 "${debs[@]}" \
	>"$scratch/install.log" 2>&1 ||
	in_root apt-get install -y -o Dpkg::Use-Pty=0 "${debs[@]}" >"$scratch/install.log" 2>&1 ||
	{ cat "$scratch/install.log"; fail "apt-get install ${debs[*]}"; }
phase "apt-get install ./$(basename "$image") ./$(basename "$headers") ./$(basename "$tools")"

# ---- what is installed ----------------------------------------------------------------------
check "$kpkg $kversion is installed" bash -c \
	"chroot '$root' dpkg-query -W -f='\${Status} \${Version}\n' $kpkg | grep -x 'install ok installed $kversion'"
check "the release is 6.12.N-hibernate" bash -c "echo $rel; grep -qE '^6\.12\.[0-9]+-hibernate\$' <<<'$rel'"
# A bzImage: "HdrS" at 0x202, the boot protocol's magic; and an EFI stub (PE "MZ" at 0).
check "/boot/vmlinuz-$rel is a bzImage with an EFI stub" bash -c \
	"[ \"\$(dd if='$root/boot/vmlinuz-$rel' bs=1 skip=514 count=4 2>/dev/null)\" = HdrS ] &&
	 [ \"\$(head -c 2 '$root/boot/vmlinuz-$rel')\" = MZ ] && du -h '$root/boot/vmlinuz-$rel'"
check "/boot/config-$rel has the series" bash -c \
	"grep -x CONFIG_USER_FREEZER=y '$root/boot/config-$rel' &&
	 grep -qx CONFIG_HIBERNATION_USER_SNAPSHOT=y '$root/boot/config-$rel'"
check "/boot/System.map-$rel" test -s "$root/boot/System.map-$rel"
check "/lib/modules/$rel/modules.dep (depmod ran)" test -f "$root/lib/modules/$rel/modules.dep"
check "vfat is a module of $rel that modprobe resolves (fat, then vfat)" bash -c \
	"chroot '$root' modprobe -S '$rel' --show-depends vfat | grep -c '^insmod ' | grep -qx 2 &&
	 chroot '$root' modinfo -k '$rel' -F vermagic vfat | grep -q '^$rel '"
# The kernel's postinst runs /etc/kernel/postinst.d: initramfs-tools' hook makes the initrd,
# with the tools package's hook in it.
check "/boot/initrd.img-$rel made by the postinst hook" test -s "$root/boot/initrd.img-$rel"
in_root lsinitramfs "/boot/initrd.img-$rel" >"$scratch/initrd.list" 2>&1 || true
for f in scripts/local-premount/hibernate usr/sbin/hibernatectl etc/hibernate/hibernate.conf \
	usr/share/hibernate/initramfs-functions; do
	check "the initrd has $f" grep -qx "$f" "$scratch/initrd.list"
done
check "the initrd has $rel's modules.dep" grep -qE "^(usr/)?lib/modules/$rel/modules.dep\$" "$scratch/initrd.list"
check "a boot loader's hook was called with $rel /boot/vmlinuz-$rel" \
	grep -qx "postinst.d $rel /boot/vmlinuz-$rel" "$root/tmp/bootloader-hook.log"
# The headers: what an out-of-tree module build needs, for this release and configuration.
check "/lib/modules/$rel/build -> /usr/src/linux-headers-$rel" bash -c \
	"[ \"\$(readlink '$root/lib/modules/$rel/build')\" = /usr/src/linux-headers-$rel ] &&
	 test -f '$root/usr/src/linux-headers-$rel/Makefile'"
# include/config/auto.conf: what kbuild reads of the configuration when building a module.
check "the headers are configured as the kernel (auto.conf has the series)" \
	grep -qx CONFIG_USER_FREEZER=y "$root/usr/src/linux-headers-$rel/include/config/auto.conf"
check "the headers carry the series' UAPI header" \
	test -f "$root/usr/src/linux-headers-$rel/include/uapi/linux/hibernate.h"

# Beside Debian's kernels: its own name and files, no Conflicts/Replaces/Provides, and apt would
# install Debian's linux-image-amd64 next to it without removing anything.
check "the package claims no other package's name" bash -c \
	"! dpkg-deb -f '$image' Conflicts Replaces Provides Breaks | grep ."
own_files() {	# every file of the package has the release in its path
	local f bad=0
	while read -r f; do
		[ -d "$root$f" ] && continue	# directories (/lib: usr/lib) are shared
		case $f in *"$rel"*) ;; *) echo "not release-specific: $f"; bad=1 ;; esac
	done < <(chroot "$root" dpkg -L "$kpkg")
	[ "$bad" = 0 ]
}
check "every file of $kpkg is under a $rel name (no path of Debian's kernels)" own_files
beside() {
	local out
	out=$(in_root apt-get install -s -o Debug::NoLocking=1 linux-image-amd64 2>&1) || {
		echo "$out"; return 1; }
	grep '^Inst linux-image' <<<"$out"
	! grep '^Remv ' <<<"$out" && grep -q '^Inst linux-image-amd64 ' <<<"$out"
}
check "apt-get -s install linux-image-amd64 (Debian's kernel): installs, removes nothing" beside

# ---- purge ----------------------------------------------------------------------------------------
in_root apt-get purge -y -o Dpkg::Use-Pty=0 "$kpkg" "linux-headers-$rel" >"$scratch/purge.log" 2>&1 ||
	{ cat "$scratch/purge.log"; fail "apt-get purge $kpkg linux-headers-$rel"; }
for f in "/boot/vmlinuz-$rel" "/boot/initrd.img-$rel" "/boot/config-$rel" "/boot/System.map-$rel" \
	"/lib/modules/$rel" "/usr/src/linux-headers-$rel"; do
	check "apt-get purge: $f is gone" test ! -e "$root$f"
done
check "the boot loader's hook was called on removal" \
	grep -qx "postrm.d $rel /boot/vmlinuz-$rel" "$root/tmp/bootloader-hook.log"
check "hibernate-tools stays installed" bash -c \
	"chroot '$root' dpkg-query -W -f='\${Status}\n' hibernate-tools | grep -qx 'install ok installed'"
phase "checks and purge"

echo "1..$n"
echo "$test_name: $((n - fails)) passed, $fails failed in $(($(date +%s) - t0)) s"
[ "$fails" = 0 ]
