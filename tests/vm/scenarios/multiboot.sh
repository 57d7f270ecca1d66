#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=120 boots=2 disks=state:8M
#
# The harness itself: two boots of one run share their disks, and a boot
# may end by powering off on its own (as hibernation does) without "done".
. /lib/hibtest.sh

case $HIB_BOOT in
1)
	if echo "hibtest-state boot1 of $HIB_NBOOTS" |
			dd of="$HIB_DISK_state" conv=notrunc 2>/dev/null && sync; then
		hib_ok multiboot-write "wrote $HIB_DISK_state"
	else
		hib_notok multiboot-write "cannot write $HIB_DISK_state"
	fi
	hib_expect_poweroff
	poweroff -f
	;;
2)
	if head -c 64 "$HIB_DISK_state" | grep -q "hibtest-state boot1 of 2"; then
		hib_ok multiboot-disk-kept "boot 2 reads what boot 1 wrote"
	else
		hib_notok multiboot-disk-kept "boot 2 does not see boot 1's write"
	fi
	if grep -q 'hibtest.boot=2' /proc/cmdline && ! grep -q 'resume=' /proc/cmdline; then
		hib_ok multiboot-cmdline
	else
		hib_notok multiboot-cmdline "$(cat /proc/cmdline)"
	fi
	;;
*)
	hib_notok multiboot-boot "unexpected boot $HIB_BOOT"
	;;
esac
exit 0
