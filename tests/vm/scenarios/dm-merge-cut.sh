#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=600 boots=2 disks=data:512M:wbps=8M,cow:384M,image:1200M mem=1024 smp=2
#
# Issue 4: a power cut in the middle of the merge-back of an aborted hibernation.
#
# boot 1: ext4 on the dm-linear device "hibdata"; `hibernate --no-poweroff` with
#         hibernatectl's test hook writing 160 MiB in the window after the snapshot, so
#         the abort has them to merge back.  QEMU throttles writes to the data disk to
#         8 MB/s, so the merge takes about 20 s; once part of it is merged (dmsetup
#         status) the guest asks the harness to kill QEMU: a power cut.
# boot 2: the activation recreates dm-linear "hibdata", half merged.  `hibernatectl
#         resume` finds the image of boot 1 still valid but the COW store's journal says a
#         merge was interrupted: it refuses the image (exit 7), invalidates it and
#         completes the merge.  Then: no helper devices, the window writes and the files
#         from before are intact, e2fsck clean, a second `recover` has nothing to do.
. /lib/hibtest.sh

DM=hibdata
DEV=/dev/mapper/$DM
MNT=/mnt/data
IMG=$HIB_DISK_image
COW=$HIB_DISK_cow
WIN_MIB=160

setup_dm() {
	size=$(blockdev --getsz "$HIB_DISK_data")
	dmsetup create $DM --uuid HIBTEST-$DM --table "0 $size linear $HIB_DISK_data 0"
}

# md5 of what the test hook writes into NAME.big: WIN_MIB MiB of 'w'
expected_big() {
	head -c $((WIN_MIB * 1048576)) /dev/zero | tr '\0' w | md5sum | cut -d' ' -f1
}

case $HIB_BOOT in
1)
	mkdir -p $MNT
	hib_check cut-setup setup_dm || exit 0
	hib_check cut-mkfs mkfs.ext4 -q -F $DEV || exit 0
	hib_check cut-mount mount -t ext4 $DEV $MNT || exit 0
	dd if=/dev/urandom of=$MNT/before.bin bs=64k count=64 2>/dev/null
	echo "written before hibernation" > $MNT/before.txt
	(cd $MNT && md5sum before.bin before.txt) > $MNT/before.md5
	sync

	# The watcher polls the merge; hibernate freezes every task, so the policy thaws it
	# (by comm, as it would an NFS helper).
	# It forks nothing until the window writes appear (after the freeze, the policy thaw
	# and the snapshot): a child it waited for at the freeze would stay frozen.
	mkfifo /tmp/cutwatch.fifo
	cat > /tmp/cutwatch <<'W'
#!/bin/sh
exec 3<> /tmp/cutwatch.fifo
while [ ! -e /mnt/data/win ]; do
	read -t 0.05 x <&3
done
first=""
last=""
i=0
while [ $i -lt 3000 ]; do
	st=$(dmsetup status hibdata 2>&1)
	[ "$st" != "$last" ] && echo "  [cutwatch] $st"
	last=$st
	case "$st" in
	*snapshot-merge*)
		set -- $st
		alloc=${4%%/*}
		meta=$5
		# Right at the table switch the status may read 0/N 0: not a start yet.
		[ -z "$first" ] && [ "$alloc" -gt "$meta" ] && first=$alloc
		if [ -n "$first" ] && [ "$alloc" -lt $((first - 2048)) ] &&
		   [ "$alloc" -gt $((meta + 4096)) ]; then
			echo "HIBTEST ok cut-mid-merge - COW sectors allocated: $first at the start, $alloc now, $meta metadata"
			dmsetup ls | sed 's/^/  [dmsetup ls] /'
			echo "HIBTEST power-cut"
			sleep 60
			exit 1
		fi
		;;
	esac
	read -t 0.1 x <&3
	i=$((i + 1))
done
echo "HIBTEST not ok cut-mid-merge - no merge in progress seen (last status '$st')"
W
	chmod +x /tmp/cutwatch
	mkdir -p /etc/hibernate/policy.d
	printf '[match]\ncomm = cutwatch\n[thaw]\nthaw = yes\nreason = test: watches the merge\n' \
		> /etc/hibernate/policy.d/90-cutwatch.policy
	/tmp/cutwatch &
	watch=$!

	HIBERNATE_FAULT=window-write=win:$WIN_MIB hibernatectl \
		hibernate --output "$IMG" --cow "$COW" --no-poweroff > /tmp/hib.out 2>&1
	rc=$?
	sed 's/^/  [hibernate] /' /tmp/hib.out
	hib_notok cut-power "hibernate ended (exit $rc) before the power cut"
	kill $watch
	;;
2)
	mkdir -p $MNT
	hib_check cut-activate setup_dm || exit 0
	dmsetup ls | sed 's/^/  [dmsetup ls] /'

	out=$(hibernatectl resume --input "$IMG" --cow "$COW" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/  [resume] /'
	if [ $rc = 7 ] && echo "$out" | grep -q "interrupted (merging)"; then
		hib_ok cut-resume-refuses "exit 7, the journal says merging"
	else
		hib_notok cut-resume-refuses "exit $rc"
	fi
	echo "$out" | grep -q "recovered: .* merged back into 1 protected filesystem" &&
		hib_ok cut-merge-completed || hib_notok cut-merge-completed "no 'recovered' line"
	echo "$out" | grep -q "image on $IMG was invalidated" && hib_ok cut-image-invalidated ||
		hib_notok cut-image-invalidated "the stale image was not invalidated"
	hib_expect_rc cut-image-gone 6 hibernatectl image info "$IMG"

	names=$(dmsetup ls 2>&1 | awk '{ print $1 }' | sort | tr '\n' ' ')
	table=$(dmsetup table $DM 2>&1)
	if [ "$names" = "$DM " ] && echo "$table" | grep -q " linear "; then
		hib_ok cut-no-leftovers "dmsetup ls: $names"
	else
		hib_notok cut-no-leftovers "dmsetup ls: '$names', table: '$table'"
	fi

	hib_check cut-mount mount -t ext4 $DEV $MNT || exit 0
	if [ -f $MNT/win ] && [ "$(md5sum < $MNT/win.big | cut -d' ' -f1)" = "$(expected_big)" ]; then
		hib_ok cut-window-writes-kept "win and win.big ($WIN_MIB MiB) intact"
	else
		hib_notok cut-window-writes-kept "$(ls -l $MNT | tr '\n' ' ')"
	fi
	if (cd $MNT && md5sum -c before.md5 >/dev/null 2>&1); then
		hib_ok cut-before-intact
	else
		hib_notok cut-before-intact "$(cd $MNT && md5sum -c before.md5 2>&1 | tr '\n' ' ')"
	fi
	umount $MNT
	hib_check cut-fsck e2fsck -fn $DEV

	out=$(hibernatectl recover --cow "$COW" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/  [recover] /'
	[ $rc = 0 ] && echo "$out" | grep -q "nothing to recover" && hib_ok cut-recover-idempotent ||
		hib_notok cut-recover-idempotent "exit $rc"
	;;
esac
