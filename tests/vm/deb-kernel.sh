#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The packaged kernel in the VM harness: the kernel the linux-image package installs
# (/boot/vmlinuz-REL of build-kernel-deb.sh --config test, what tests/pkg/kernel-deb-test.sh
# installs into a Debian root) boots and hibernates, not only the bzImage of build-kernel.sh.
#
#   tests/vm/deb-kernel.sh VMTEST-ARGS...     (meson test vm-deb-cycle)
#
# Builds the packages if they are not cached (a kernel build, waiting for another one), takes
# vmlinuz out of the .deb and runs vmtest.py --kernel with it and VMTEST-ARGS.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/kernel-deb
mkdir -p "$top/build"
"$top/kernel-patches/build-kernel-deb.sh" --config test --out "$out" >"$out.vm.log" 2>&1 || {
	tail -n 40 "$out.vm.log"
	echo "deb-kernel: build-kernel-deb.sh --config test failed (log: $out.vm.log)" >&2
	exit 1
}
rel=$(cat "$out/kernel.release")
shopt -s nullglob
debs=("$out/linux-image-${rel}_"*.deb)
[ ${#debs[@]} = 1 ] || { echo "deb-kernel: no single linux-image-${rel}_*.deb in $out" >&2; exit 1; }
# The package's own file, as dpkg would unpack it.
dpkg-deb --fsys-tarfile "${debs[0]}" | tar -xO "./boot/vmlinuz-$rel" >"$out/vmlinuz.tmp"
mv "$out/vmlinuz.tmp" "$out/vmlinuz-$rel"
echo "deb-kernel: $(basename "${debs[0]}"): /boot/vmlinuz-$rel"
exec /usr/bin/python3 "$top/tests/vm/vmtest.py" --kernel "$out/vmlinuz-$rel" "$@"
