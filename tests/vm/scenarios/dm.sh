#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=900 boots=3 disks=data:256M,cow:128M,image:1200M mem=1024 smp=2
#
# Filesystem consistency (issue 4, DESIGN.md steps 4, 5b, R2, R5): ext4 on a
# dm-linear device "hibdata" over the data disk, protected by a dm snapshot
# whose COW store is the cow disk.
#
# boot 1: a read-write fs that is not on dm (a loop device) makes hibernate
#         refuse, naming it; a target too small changes nothing; an abort
#         before the snapshot (test hook) switches back, no leftovers; an
#         abort after it (--no-poweroff, and a failed image write) merges the
#         writes made in the window back: they are on the origin, e2fsck
#         clean, no leftovers; so do the dry runs --test=dm and --test=snapshot
#         (no image written).  Then hibernate for real; hibernatectl's test
#         hook writes files in the window after the snapshot (FITHAW done).
# boot 2: resume (R2 finds the origin unchanged).  Back in boot 1: the window
#         files are GONE, the files from before are intact, the fs is
#         writable, e2fsck of the origin clean, no leftovers.  Hibernate again.
# boot 3: the origin is mounted and written before resume: resume refuses
#         the stale image naming hibdata (exit 7) and the boot goes on.
. /lib/hibtest.sh

DM=hibdata
DEV=/dev/mapper/$DM
MNT=/mnt/data
IMG=$HIB_DISK_image
COW=$HIB_DISK_cow
state=/run/dmtest

setup_dm() {
	size=$(blockdev --getsz "$HIB_DISK_data")
	dmsetup create $DM --uuid HIBTEST-$DM --table "0 $size linear $HIB_DISK_data 0"
}

# no leftover dm devices: only hibdata, on its linear table
no_leftovers() {
	names=$(dmsetup ls 2>&1 | awk '{ print $1 }' | sort | tr '\n' ' ')
	table=$(dmsetup table $DM 2>&1)
	if [ "$names" = "$DM " ] && echo "$table" | grep -q " linear "; then
		hib_ok "$1" "dmsetup ls: $names"
	else
		hib_notok "$1" "dmsetup ls: '$names', table: '$table'"
	fi
}

fsck_origin() {
	umount $MNT || { hib_notok "$1" "umount failed"; return; }
	hib_check "$1" e2fsck -fn $DEV
	mount -t ext4 $DEV $MNT || hib_notok "$1-remount" "mount failed"
}

present() {
	[ -f "$MNT/$2" ] && hib_ok "$1" "$2 is there" || hib_notok "$1" "$2 is missing"
}

absent() {
	[ -e "$MNT/$2" ] && hib_notok "$1" "$2 is there" || hib_ok "$1" "$2 is gone"
}

before_intact() {
	if (cd $MNT && md5sum -c $state/before.md5 >/dev/null 2>&1); then
		hib_ok "$1"
	else
		hib_notok "$1" "$(cd $MNT && md5sum -c $state/before.md5 2>&1 | tail -n 2 | tr '\n' ' ')"
	fi
}

case $HIB_BOOT in
1)
	mkdir -p $state $MNT
	hib_check dm-setup setup_dm || exit 0
	hib_check dm-mkfs mkfs.ext4 -q -F $DEV || exit 0
	hib_check dm-mount mount -t ext4 $DEV $MNT || exit 0
	dd if=/dev/urandom of=$MNT/before.bin bs=64k count=32 2>/dev/null
	echo "written before hibernation" > $MNT/before.txt
	(cd $MNT && md5sum before.bin before.txt) > $state/before.md5
	sync
	dmsetup table $DM > $state/table

	hib_check dm-check hibernatectl check --output "$IMG" --cow "$COW"

	# A read-write fs not on dm: refused, named, nothing frozen.
	dd if=/dev/zero of=/tmp/loop.img bs=1M count=8 2>/dev/null
	mkfs.ext4 -q -F /tmp/loop.img >/dev/null 2>&1
	mkdir -p /mnt/loop
	if losetup /dev/loop0 /tmp/loop.img 2>/dev/null && mount -t ext4 /dev/loop0 /mnt/loop; then
		out=$(hibernatectl hibernate --output "$IMG" --cow "$COW" 2>&1)
		rc=$?
		echo "$out" | sed 's/^/  [dm-unprotected] /'
		if [ $rc != 0 ] && echo "$out" | grep -q "/mnt/loop.*cannot be protected"; then
			hib_ok dm-unprotected-refused "exit $rc"
		else
			hib_notok dm-unprotected-refused "exit $rc: $(echo "$out" | tail -n 1)"
		fi
		out=$(hibernatectl check --cow "$COW" 2>&1)
		echo "$out" | grep -q "^no: /mnt/loop" && hib_ok dm-check-names-unprotected ||
			hib_notok dm-check-names-unprotected "$out"
		umount /mnt/loop
		losetup -d /dev/loop0
	else
		hib_skip dm-unprotected-refused "no loop device"
	fi

	# Target too small: refused before anything is frozen or created.
	hib_expect_rc dm-small-target 1 hibernatectl hibernate --output /tmp/small.img --cow "$COW"
	rm -f /tmp/small.img
	no_leftovers dm-small-target-no-leftovers

	# Abort before the snapshot (step 4 done, snapshot_kernel never called).
	out=$(HIBERNATE_FAULT=fail=snapshot hibernatectl hibernate --output "$IMG" --cow "$COW" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/  [dm-abort-before] /'
	[ $rc = 1 ] && hib_ok dm-abort-before "exit 1" || hib_notok dm-abort-before "exit $rc"
	no_leftovers dm-abort-before-no-leftovers
	[ "$(dmsetup table $DM)" = "$(cat $state/table)" ] && hib_ok dm-abort-before-table ||
		hib_notok dm-abort-before-table "$(dmsetup table $DM)"
	echo x > $MNT/after-abort-before && hib_ok dm-abort-before-writable ||
		hib_notok dm-abort-before-writable "cannot write"
	before_intact dm-abort-before-files

	# Staged dry runs: --test=dm stops with the filesystem frozen on its snapshot (step 4),
	# --test=snapshot after snapshot_kernel(2) and FITHAW (5, 5b); both hold 2 s and roll
	# back.  The window writes of the second are merged back; no image is written.
	out=$(hibernatectl hibernate --test=dm --cow "$COW" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/  [dm-test-dm] /'
	if [ $rc = 0 ] && echo "$out" | grep -q "^protecting $MNT ($DM)" &&
		echo "$out" | grep -q "^test=dm: the protected filesystems are frozen on their snapshots; holding 2 s" &&
		echo "$out" | grep -q "tables put back and thawed, helper devices removed" &&
		echo "$out" | grep -q "^everything was thawed again"; then
		hib_ok dm-test-dm "exit 0, held at step 4, rolled back"
	else
		hib_notok dm-test-dm "exit $rc: $(echo "$out" | tail -n 1)"
	fi
	no_leftovers dm-test-dm-no-leftovers
	[ "$(dmsetup table $DM)" = "$(cat $state/table)" ] && hib_ok dm-test-dm-table ||
		hib_notok dm-test-dm-table "$(dmsetup table $DM)"
	hib_nothing_frozen dm-test-dm-thawed
	out=$(HIBERNATE_FAULT=window-write=window0 hibernatectl hibernate --test=snapshot \
		--output "$IMG" --cow "$COW" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/  [dm-test-snapshot] /'
	if [ $rc = 0 ] && echo "$out" | grep -q "^test=snapshot: image of [1-9][0-9]* pages taken (.*), not written; holding 2 s" &&
		echo "$out" | grep -q "writes made after the snapshot were merged back" &&
		echo "$out" | grep -q "^everything was thawed again"; then
		hib_ok dm-test-snapshot "exit 0, held after the snapshot, merged back"
	else
		hib_notok dm-test-snapshot "exit $rc: $(echo "$out" | tail -n 1)"
	fi
	no_leftovers dm-test-snapshot-no-leftovers
	hib_nothing_frozen dm-test-snapshot-thawed
	fsck_origin dm-test-snapshot-fsck
	present dm-test-snapshot-window-merged window0
	before_intact dm-test-snapshot-files
	hib_expect_rc dm-test-snapshot-no-image 6 hibernatectl image info "$IMG"
	rm -f $MNT/window0 $MNT/window0.big

	# Abort after the snapshot: --no-poweroff merges the window writes back.
	out=$(HIBERNATE_FAULT=window-write=window1 hibernatectl hibernate --output "$IMG" \
		--cow "$COW" --no-poweroff 2>&1)
	rc=$?
	echo "$out" | sed 's/^/  [dm-abort-after] /'
	[ $rc = 0 ] && hib_ok dm-abort-after "exit 0" || hib_notok dm-abort-after "exit $rc"
	echo "$out" | grep -q "merged back" && hib_ok dm-abort-after-merged ||
		hib_notok dm-abort-after-merged "no 'merged back' message"
	no_leftovers dm-abort-after-no-leftovers
	fsck_origin dm-abort-after-fsck
	present dm-abort-after-window-on-origin window1
	present dm-abort-after-window-big window1.big
	before_intact dm-abort-after-files

	# Abort after the snapshot because the image write failed (test hook).
	out=$(HIBERNATE_FAULT=fail=write,window-write=window2 hibernatectl \
		hibernate --output "$IMG" --cow "$COW" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/  [dm-write-fails] /'
	[ $rc = 1 ] && hib_ok dm-write-fails "exit 1" || hib_notok dm-write-fails "exit $rc"
	no_leftovers dm-write-fails-no-leftovers
	fsck_origin dm-write-fails-fsck
	present dm-write-fails-window-on-origin window2

	# The real thing.  The test hook writes window3 after FITHAW on the
	# suspend side; resume must come back without it.
	rm -f $MNT/window1 $MNT/window1.big $MNT/window2 $MNT/window2.big
	sync
	hib_expect_poweroff
	HIBERNATE_FAULT=window-write=window3 hibernatectl hibernate --output "$IMG" --cow "$COW"
	rc=$?
	if [ $rc = 0 ] && dmesg | grep -q "snapshot_kernel: resumed from the image"; then
		hib_ok dm-resumed
	else
		hib_notok dm-resumed "hibernatectl hibernate exited $rc without resuming"
		exit 0
	fi
	absent dm-window-write-gone window3
	absent dm-window-big-gone window3.big
	before_intact dm-before-files-intact
	echo "written after resume" > $MNT/after.txt && sync && hib_ok dm-writable-after-resume ||
		hib_notok dm-writable-after-resume "cannot write"
	no_leftovers dm-resume-no-leftovers
	fsck_origin dm-resume-fsck
	absent dm-window-gone-on-disk window3
	present dm-after-resume-on-disk after.txt

	# Hibernate again; boot 3 modifies the origin before resuming.
	hib_expect_poweroff
	hibernatectl hibernate --output "$IMG" --cow "$COW"
	hib_notok dm-second-hibernation "hibernatectl hibernate returned $? (resumed?)"
	;;
2)
	hib_check dm-setup-boot2 setup_dm
	hib_resume resume-returned --input "$IMG"
	;;
3)
	hib_check dm-setup-boot3 setup_dm
	mkdir -p $MNT
	mount -t ext4 $DEV $MNT && echo "modified between hibernation and resume" > $MNT/stale &&
		umount $MNT
	out=$(hibernatectl resume --input "$IMG" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/  [dm-stale] /'
	if [ $rc = 7 ] && echo "$out" | grep -q "hibdata.*modified"; then
		hib_ok dm-stale-refused "exit 7, names $DM"
	else
		hib_notok dm-stale-refused "exit $rc: $(echo "$out" | tail -n 1)"
	fi
	hib_check dm-stale-fsck e2fsck -fn $DEV
	hib_ok dm-boot-goes-on
	;;
esac
exit 0
