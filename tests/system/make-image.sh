#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The system test's disk: a Debian 12 system on LVM as a user would have it, built on the host
# and cached.
#
#   tests/system/make-image.sh --kernel-deb DEB|stock [--tools-deb DEB]    (root)
#   tests/system/make-image.sh --kernel-bzimage DIR [--tools-deb DEB]      (development only)
#
# One raw disk, the whole of it an LVM physical volume, volume group "hibvg":
#   root   ext4, /: the Debian 12 root of tests/pkg/debian-root.sh (debootstrap, cached) plus
#          lvm2 and systemd-sysv, the tools package (DEB, default build/deb/hibernate-tools_*.deb
#          from `make deb`) and the kernel package, installed with apt-get in a chroot
#   image  the hibernation image target ([hibernate] target)
#   state  the record of the last image ([hibernate] state: resumed once)
#   cow    the COW store of the dm snapshot that protects / while the image is written
# No swap.  /etc/hibernate/hibernate.conf names them, with an image key; the test's units and
# scripts (tests/system/guest/, hibstate) go into /usr/local and /etc/systemd/system; then
# `update-initramfs -u` inside the chroot builds the initramfs with the package's hook, and
# dracut a second one with the package's dracut module (/boot/initrd-dracut.img-REL).
#
# --kernel-deb is the patched kernel's linux-image-*.deb (`make kernel-deb`); "stock" installs
# Debian's linux-image-amd64 instead, which boots the system but cannot hibernate this way (for
# working on the image alone).  --kernel-bzimage takes a build-kernel.sh output directory
# (bzImage, kernel.release) instead of a package: the VM tests' tinyconfig kernel, no modules,
# without what systemd only recommends (seccomp, BPF, autofs, the memory controller): a
# stand-in for working on the hibernation cycle before the kernel package exists, never what
# the test runs.
#
# The result is cached under ${HIBERNATE_CACHE:-~/.cache/hibernate}/system/HASH/ by a hash of
# every input (both packages, the root's cache key, this script, tests/system/guest/,
# hibstate.c, tests/vm/lib/hibtest.sh): disk.img (sparse), vmlinuz, initrd.img,
# initrd-dracut.img, info (the kernel release and where the root LV lies in the disk, for the
# host's e2fsck).  The last line printed is "system-image: DIR".  Each test run copies disk.img.
# The three newest images are kept.
#
# The host's LVM writes the volume group's metadata through a loop device without activating
# anything (no device-mapper needed on the host); the root filesystem is made and filled through
# a loop device over the root LV's range.  One build at a time (/run/lock/hibernate-system-image.lock).
set -euo pipefail
cd "$(dirname "$0")/../.."
test_name=system-image
# shellcheck source=tests/pkg/debian-root.sh
. tests/pkg/debian-root.sh
# phase and fail come with debian-root.sh.
t0=$(date +%s)
phase_t=$t0

kernel_deb=
kernel_dir=
tools_deb=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel-deb) kernel_deb=$2; shift 2 ;;
	--kernel-bzimage) kernel_dir=$(realpath "$2"); kernel_deb=bzimage; shift 2 ;;
	--tools-deb) tools_deb=$2; shift 2 ;;
	*) echo "usage: $0 --kernel-deb DEB|stock [--tools-deb DEB]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || fail "needs root (losetup, LVM, chroot)"
[ -n "$kernel_deb" ] || fail "no kernel package: --kernel-deb build/kernel-deb/linux-image-*.deb (make kernel-deb)"
if [ "$kernel_deb" = bzimage ]; then
	[ -f "$kernel_dir/bzImage" ] && [ -f "$kernel_dir/kernel.release" ] ||
		fail "$kernel_dir has no bzImage and kernel.release (build-kernel.sh's output)"
elif [ "$kernel_deb" != stock ]; then
	[ -f "$kernel_deb" ] || fail "kernel package $kernel_deb does not exist (make kernel-deb)"
	kernel_deb=$(realpath "$kernel_deb")
	case $(dpkg-deb -f "$kernel_deb" Package) in
	linux-image-*-dbg|linux-image-*-dbgsym) fail "$kernel_deb holds debug symbols, not the kernel" ;;
	linux-image-*) ;;
	*) fail "$kernel_deb is not a linux-image package" ;;
	esac
fi
if [ -z "$tools_deb" ]; then
	shopt -s nullglob
	debs=(build/deb/hibernate-tools_*.deb)
	shopt -u nullglob
	[ ${#debs[@]} = 1 ] || fail "expected one build/deb/hibernate-tools_*.deb (make deb), found ${#debs[@]}"
	tools_deb=${debs[0]}
fi
[ -f "$tools_deb" ] || fail "tools package $tools_deb does not exist (make deb)"
tools_deb=$(realpath "$tools_deb")
for tool in losetup lvm mkfs.ext4 gcc debootstrap; do
	command -v "$tool" >/dev/null || fail "$tool missing: run scripts/install-deps.sh"
done

# ---- the cache key -----------------------------------------------------------------------------
debian_root_cached "$tools_deb"
cache=${HIBERNATE_CACHE:-$HOME/.cache/hibernate}/system
key=$( {
	echo "root ${root_cache##*/}"
	case $kernel_deb in
	stock) echo "kernel stock" ;;
	bzimage) echo "kernel bzImage"; sha256sum <"$kernel_dir/bzImage" ;;
	*) sha256sum <"$kernel_deb" ;;
	esac
	sha256sum <"$tools_deb"
	cat "$0" tests/vm/hibstate.c tests/vm/lib/hibtest.sh
	for f in tests/system/guest/*; do echo "$f"; cat "$f"; done
} | sha256sum | cut -c1-16)
out=$cache/$key
if [ -f "$out/.complete" ]; then
	echo "$test_name: cached image $out ($(sed -n 's/^release=//p' "$out/info"))"
	echo "system-image: $out"
	exit 0
fi

# ---- the disk and its volumes ------------------------------------------------------------------
mkdir -p "$cache"
exec 8>/run/lock/hibernate-system-image.lock
flock 8
work=$out.tmp
rm -rf "$work" && mkdir -p "$work/mnt"
mnt=$work/mnt
pv_loop=
root_loop=
mounted=()
# The host's LVM writes the metadata only: activation = 0, so it never needs device-mapper
# (a container's kernel may have none) nor udev, and no devices file (the loop device is not
# the host's own disk).  The guest activates the volumes.
lvm_host() {
	local cmd=$1
	shift
	LVM_SUPPRESS_FD_WARNINGS=1 lvm "$cmd" --config \
		'global { activation = 0 } devices { use_devicesfile = 0 obtain_device_list_from_udev = 0 }' \
		"$@" 2> >(grep -v 'WARNING: Activation disabled' >&2)
}
cleanup() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" 2>/dev/null || true
	done
	[ -z "$root_loop" ] || losetup -d "$root_loop" 2>/dev/null || true
	[ -z "$pv_loop" ] || losetup -d "$pv_loop" 2>/dev/null || true
	if grep -q " $work/" /proc/self/mounts; then
		echo "$test_name: $work still has mounts; left in place" >&2
	elif [ ! -f "$out/.complete" ]; then
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
echo "$test_name: making $out"
truncate -s 4G "$work/disk.img"
pv_loop=$(losetup --show -f "$work/disk.img")
lvm_host pvcreate -q "$pv_loop" >/dev/null
lvm_host vgcreate -q hibvg "$pv_loop" >/dev/null
# Sizes: the root holds Debian and a kernel; the image target the compressed image of a 1 GiB
# guest at worst; the COW store what is written while the image is (the system is idle).  Not
# zeroed, not wiped: the file is new, all zeros.
for lv in root:2048M image:1152M cow:384M state:4M; do
	lvm_host lvcreate -q -an -Zn -Wn -L "${lv#*:}" -n "${lv%%:*}" hibvg >/dev/null
done
# Where the root LV lies on the disk (one linear segment on the PV): the filesystem is made and
# filled through a loop device over that range, and the host checks it there after a test.
segs=$(lvm_host lvs --noheadings -o devices hibvg/root | tr -d ' ')
case $segs in
"$pv_loop"\(*\)) first_pe=${segs#*(}; first_pe=${first_pe%)} ;;
*) fail "hibvg/root is not one segment on $pv_loop: $segs" ;;
esac
pe_start=$(lvm_host pvs --noheadings --units b --nosuffix -o pe_start "$pv_loop" | tr -d ' ')
extent=$(lvm_host vgs --noheadings --units b --nosuffix -o vg_extent_size hibvg | tr -d ' ')
root_bytes=$(lvm_host lvs --noheadings --units b --nosuffix -o lv_size hibvg/root | tr -d ' ')
root_offset=$((pe_start + first_pe * extent))
losetup -d "$pv_loop"
pv_loop=
root_loop=$(losetup --show -f -o "$root_offset" --sizelimit "$root_bytes" "$work/disk.img")
mkfs.ext4 -q -L root "$root_loop"
mount "$root_loop" "$mnt" && mounted+=("$mnt")
phase "disk: LVM volume group hibvg (root $((root_bytes >> 20)) MiB at byte $root_offset)"

# ---- the system ----------------------------------------------------------------------------------
cp -a "$root_cache/root/." "$mnt/"
mount -t proc proc "$mnt/proc" && mounted+=("$mnt/proc")
mount -t sysfs sysfs "$mnt/sys" && mounted+=("$mnt/sys")
mount --bind /dev "$mnt/dev" && mounted+=("$mnt/dev")
root=$mnt	# in_root (debian-root.sh)
apt_install() {
	in_root apt-get install -y --no-install-recommends -o Dpkg::Use-Pty=0 "$@" \
		>>"$work/apt.log" 2>&1 || { tail -n 30 "$work/apt.log"; fail "apt-get install $*"; }
}
echo hibsys >"$mnt/etc/hostname"
echo "127.0.1.1 hibsys" >>"$mnt/etc/hosts"
cat >"$mnt/etc/fstab" <<-'FSTAB'
# written by tests/system/make-image.sh
/dev/mapper/hibvg-root / ext4 errors=remount-ro 0 1
FSTAB
# lvm2: the volumes, in the initramfs too; systemd-sysv: /sbin/init.  The root's package lists
# are bookworm's: nothing downloaded once this image is cached.
in_root apt-get update -qq >>"$work/apt.log" 2>&1 || true
apt_install lvm2 systemd-sysv
phase "apt-get install lvm2 systemd-sysv"
cp "$tools_deb" "$mnt/tmp/"
apt_install "/tmp/${tools_deb##*/}"
rm -f "$mnt/tmp/${tools_deb##*/}"
phase "apt-get install ${tools_deb##*/}"

# The configuration before the kernel: its postinst builds the initramfs, which copies it.
head -c 32 /dev/urandom >"$mnt/etc/hibernate/image.key"
chmod 0600 "$mnt/etc/hibernate/image.key"
cat >>"$mnt/etc/hibernate/hibernate.conf" <<-'CONF'

# written by tests/system/make-image.sh: the system test's volumes
[hibernate]
target = /dev/mapper/hibvg-image
state = /dev/mapper/hibvg-state
[protect]
mountpoints = /
cow = /dev/mapper/hibvg-cow
[image]
key-file = /etc/hibernate/image.key
CONF

# The test: hibstate (static: nothing of the host's libraries), the units and scripts.
gcc -static -O2 -D_GNU_SOURCE -o "$work/hibstate" tests/vm/hibstate.c -lpthread ||
	fail "cannot build hibstate"
install -m 0755 "$work/hibstate" "$mnt/usr/local/bin/hibstate"
install -d "$mnt/usr/local/lib/hibtest"
install -m 0644 tests/vm/lib/hibtest.sh "$mnt/usr/local/lib/hibtest/hibtest.sh"
for f in system-test.sh listener.sh holder.sh cutwatch; do
	install -m 0755 "tests/system/guest/$f" "$mnt/usr/local/lib/hibtest/$f"
done
for f in tests/system/guest/*.service; do
	install -m 0644 "$f" "$mnt/etc/systemd/system/${f##*/}"
done
in_root systemctl enable hibtest.service >>"$work/apt.log" 2>&1
# The serial console is the test's: no login prompt on it (a getty would also hang it up).
in_root systemctl mask serial-getty@ttyS0.service getty@tty1.service >>"$work/apt.log" 2>&1

# ---- the kernel and the initramfs ----------------------------------------------------------------
if [ "$kernel_deb" = stock ]; then
	apt_install linux-image-amd64
elif [ "$kernel_deb" = bzimage ]; then
	# What a kernel package would put in place; mkinitramfs reads the config for the
	# compressor, and the kernel has no modules.
	kver=$(cat "$kernel_dir/kernel.release")
	install -m 0644 "$kernel_dir/bzImage" "$mnt/boot/vmlinuz-$kver"
	printf 'CONFIG_RD_GZIP=y\nCONFIG_RD_ZSTD=y\nCONFIG_BLK_DEV_DM=y\n' >"$mnt/boot/config-$kver"
	mkdir -p "$mnt/lib/modules/$kver"
	in_root depmod "$kver"
	in_root update-initramfs -c -k "$kver" >>"$work/apt.log" 2>&1 ||
		fail "update-initramfs -c -k $kver"
else
	cp "$kernel_deb" "$mnt/tmp/"
	apt_install "/tmp/${kernel_deb##*/}"
	rm -f "$mnt/tmp/${kernel_deb##*/}"
fi
kver=$(cd "$mnt/lib/modules" && ls | sort -V | tail -n 1)
[ -n "$kver" ] && [ -f "$mnt/boot/vmlinuz-$kver" ] || fail "no kernel installed in /boot"
phase "kernel $kver installed"
in_root update-initramfs -u -k "$kver" >"$work/initramfs.log" 2>&1 ||
	{ cat "$work/initramfs.log"; fail "update-initramfs -u -k $kver"; }
in_root lsinitramfs "/boot/initrd.img-$kver" >"$work/initrd.list"
for f in usr/sbin/hibernatectl scripts/local-premount/hibernate etc/hibernate/hibernate.conf \
	etc/hibernate/image.key usr/sbin/lvm; do
	grep -qx "$f" "$work/initrd.list" || fail "the initramfs lacks $f (update-initramfs: $work/initramfs.log)"
done
phase "update-initramfs -u -k $kver"
# dracut (dracut-core: dracut itself would replace initramfs-tools) with the package's module.
in_root dracut --force --kver "$kver" --add "lvm hibernate" "/boot/initrd-dracut.img-$kver" \
	>"$work/dracut.log" 2>&1 || { tail -n 30 "$work/dracut.log"; fail "dracut"; }
phase "dracut --add 'lvm hibernate'"

cp "$mnt/boot/vmlinuz-$kver" "$work/vmlinuz"
cp "$mnt/boot/initrd.img-$kver" "$work/initrd.img"
cp "$mnt/boot/initrd-dracut.img-$kver" "$work/initrd-dracut.img"
in_root apt-get clean
printf 'release=%s\nroot_offset=%s\nroot_bytes=%s\n' "$kver" "$root_offset" "$root_bytes" \
	>"$work/info"
for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
	umount "${mounted[i]}"
done
mounted=()
e2fsck -fn "$root_loop" >"$work/e2fsck.log" 2>&1 ||
	{ cat "$work/e2fsck.log"; fail "e2fsck of the new root"; }
losetup -d "$root_loop"
root_loop=
rmdir "$mnt"
touch "$work/.complete"
rm -rf "$out" && mv "$work" "$out"
# Each change of a package or of the test makes a new image (half a gigabyte used): keep the
# three newest.  Under the lock: no other build is between its making and its move.
ls -1dt "$cache"/*/ | tail -n +4 | while IFS= read -r old; do
	if [ -f "$old/.complete" ]; then
		rm -rf "${old%/}"
	fi
done
phase "done: $(du -sh --apparent-size "$out/disk.img" | cut -f1) disk, $(du -sh "$out/disk.img" | cut -f1) used"
echo "$test_name: made in $(($(date +%s) - t0)) s"
echo "system-image: $out"
