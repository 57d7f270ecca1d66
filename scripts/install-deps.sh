#!/bin/sh
# Install the Debian 12 packages the project needs, only those that are missing.
# Runs as root; exits non-zero with a clear message otherwise.
set -eu

PKGS="build-essential pkg-config meson ninja-build flex bison bc cpio xz-utils kmod
libelf-dev libssl-dev dwarves rsync
linux-source-6.12 linux-config-6.12
qemu-system-x86 busybox-static dmsetup e2fsprogs lvm2
libdevmapper-dev liblz4-dev libxxhash-dev libcap-dev libcmocka-dev libjson-c-dev libblkid-dev
libsodium-dev libcurl4-openssl-dev libsystemd-dev nginx-light curl
lz4
ceph-mon ceph-osd radosgw
bindfs clang util-linux
nfs-ganesha nfs-ganesha-vfs rpcbind netbase
python3 python3-ply
pandoc bash-completion debhelper dpkg-dev lintian debootstrap"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: run as root (or install them) and try again" >&2
	exit 1
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
