#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=400 boots=1 disks=data:64M mem=512 smp=2
#
# The deadline of the sync after the freeze (DESIGN.md step 3b): an ext4 filesystem with
# dirty data sits on a dm device that is suspended (its I/O queues, as an NFS mount's would
# without its helpers), so syncfs cannot finish.  `hibernate --test=freeze --sync-timeout
# 3000` must give up within the deadline, name the filesystem and where the sync waits, and
# thaw everything; once the device resumes the data reach the disk intact.
. /lib/hibtest.sh

DM=hibsync
MNT=/mnt/s
echo 0 > /proc/sys/vm/dirty_writeback_centisecs
echo 360000 > /proc/sys/vm/dirty_expire_centisecs
size=$(blockdev --getsz $HIB_DISK_data)
dmsetup create $DM --table "0 $size linear $HIB_DISK_data 0" || { hib_notok sync-setup dmsetup; exit 0; }
hib_check sync-mkfs mkfs.ext4 -q -F /dev/mapper/$DM || exit 0
mkdir -p $MNT /tmp/nopolicy
mount -t ext4 /dev/mapper/$DM $MNT || { hib_notok sync-setup mount; exit 0; }
dd if=/dev/urandom of=/tmp/data bs=1M count=8 2>/dev/null
cp /tmp/data $MNT/data
hib_log "$(grep -E '^(Dirty|Writeback):' /proc/meminfo | tr -s ' \n' ' ')"
dmsetup suspend --nolockfs $DM
# Resumes the device a while after the rollback thaws this job (it is frozen meanwhile).
(sleep 6; dmsetup resume $DM) &

t0=$(hib_ms)
hibernatectl hibernate --test=freeze --policy-dir /tmp/nopolicy --sync-timeout 3000 \
	> /tmp/out 2>&1
rc=$?
t1=$(hib_ms)
sed 's/^/  [sync-timeout] /' /tmp/out
if [ $rc != 0 ] && [ $((t1 - t0)) -lt 45000 ]; then
	hib_ok sync-timeout-fails "exit $rc after $((t1 - t0)) ms"
else
	hib_notok sync-timeout-fails "exit $rc after $((t1 - t0)) ms"
fi
if grep -q "sync of $MNT (ext4) did not finish within 3000 ms" /tmp/out; then
	hib_ok sync-timeout-names-fs
else
	hib_notok sync-timeout-names-fs "$(head -n 3 /tmp/out | tr '\n' ' ')"
fi
if grep -q "the sync thread waits in [a-z_]" /tmp/out; then
	hib_ok sync-timeout-names-wchan "$(grep 'waits in' /tmp/out | head -n 1)"
else
	hib_notok sync-timeout-names-wchan "no wchan"
fi
if grep -q "everything was thawed again" /tmp/out; then
	hib_ok sync-timeout-rollback
else
	hib_notok sync-timeout-rollback "no rollback message"
fi
sleep 1
hib_nothing_frozen sync-timeout-thawed
wait
dmsetup resume $DM 2>/dev/null
sync
umount $MNT
echo 3 > /proc/sys/vm/drop_caches
mount -t ext4 /dev/mapper/$DM $MNT
if cmp -s /tmp/data $MNT/data; then
	hib_ok sync-timeout-data "the data reached the disk after the rollback"
else
	hib_notok sync-timeout-data "$MNT/data differs"
fi
umount $MNT
hib_check sync-timeout-fsck e2fsck -fn /dev/mapper/$DM
dmsetup remove $DM
