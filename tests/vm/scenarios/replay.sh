#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=500 boots=3 disks=image:1200M,copy:1200M,state:1M mem=1024 smp=2
#
# One-shot that does not depend on the store (issue 12): with a state device the machine
# records its last image.  Boot 1 hibernates a workload; boot 2's initramfs first copies the
# image to a second disk (a store that keeps what it was told to delete), then resumes:
# same pid and digest.  Boot 3 offers the copy: refused as not the last hibernation
# recorded (exit 7), the boot goes on; and the used image finds nothing.  The image is
# encrypted: authenticated, yet a copy of it must not be resumed again.
. /lib/hibtest.sh

state=/run/hibstate
# Every boot's initramfs starts from vmtest.py's hibernate.conf: the state device, and an
# encrypted image (the same key each boot).
key=/run/image.key
printf '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n' > $key && chmod 600 $key
printf '[hibernate]\nstate = %s\n[image]\nkey-file = %s\n' "$HIB_DISK_state" "$key" \
	>> /etc/hibernate/hibernate.conf

case $HIB_BOOT in
1)
	hib_workload_start $state 32 99 || exit 0
	hib_expect_poweroff
	hibernatectl hibernate --output "$HIB_DISK_image"
	rc=$?
	[ $rc = 0 ] && hib_ok replay-resumed || { hib_notok replay-resumed "exit $rc"; exit 0; }
	hibstate check --dir $state > $state/after.report
	hib_same_workload replay $state/before.report $state/after.report
	if dd if="$HIB_DISK_state" bs=512 count=1 2>/dev/null | grep -q HIBSTATE; then
		hib_notok replay-record-cleared "the state device still holds a record"
	else
		hib_ok replay-record-cleared
	fi
	;;
2)
	# The whole image, as the store kept it (its size from the image's own header).
	mib=$(hibernatectl image info "$HIB_DISK_image" | awk '/compressed bytes/ { print int($3 / 1048576) + 2 }')
	if [ -n "$mib" ] && dd if="$HIB_DISK_image" of="$HIB_DISK_copy" bs=1M count=$mib \
			conv=fsync 2>/dev/null; then
		hib_log "copied $mib MiB of the image to $HIB_DISK_copy"
	else
		hib_notok replay-copy "cannot copy the image (${mib:-?} MiB)"
	fi
	hib_resume resume-returned --input "$HIB_DISK_image"
	;;
3)
	out=$(hibernatectl resume --input "$HIB_DISK_copy" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/  [replay-copy-refused] /'
	if [ $rc = 7 ] && echo "$out" | grep -q "no hibernation is recorded on this machine" &&
			! echo "$out" | grep -q "restoring"; then
		hib_ok replay-copy-refused "exit 7: the copy is not resumed"
	else
		hib_notok replay-copy-refused "exit $rc"
	fi
	hibernatectl image info "$HIB_DISK_copy" >/dev/null 2>&1 &&
		hib_ok replay-copy-still-valid "the copy is a valid image, refused all the same" ||
		hib_notok replay-copy-still-valid "the copy did not verify: the test proves nothing"
	hib_expect_rc replay-used-image 6 hibernatectl resume --input "$HIB_DISK_image"
	;;
esac
exit 0
