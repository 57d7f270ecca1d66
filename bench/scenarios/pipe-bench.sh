#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=1500 boots=1 disks=image:1400M mem=1024 smp=2
#
# The write path in the guest (bench/README.md, "Write path"): bench/pipebench of the base
# revision (/usr/bin/pipebench-base) and of this tree (/usr/bin/pipebench-new), each
# writing a synthetic snapshot of PB_MIB MiB (pipebench's mix) to the virtio disk
# $HIB_DISK_image, interleaved base, new, base, new, ... PB_REPS times.  Also `lz4 -1` of
# the same bytes on one vCPU when lz4 is in the initramfs (the per-vCPU limit).
# Kernel arguments: pb.mib=N pb.reps=N pb.args=A,B (commas for blanks).
. /lib/hibtest.sh

MIB=300 REPS=2 ARGS=
for a in $(cat /proc/cmdline); do
	case "$a" in
	pb.mib=*) MIB=${a#pb.mib=} ;;
	pb.reps=*) REPS=${a#pb.reps=} ;;
	pb.args=*) ARGS=$(echo "${a#pb.args=}" | tr , ' ') ;;
	esac
done
echo "PIPEBENCH-GUEST kernel=$(uname -r) cpus=$(nproc) mib=$MIB reps=$REPS args=$ARGS"
i=1
while [ $i -le "$REPS" ]; do
	for v in base new; do
		# shellcheck disable=SC2086
		pipebench-$v --target "$HIB_DISK_image" --mib "$MIB" --reps 1 $ARGS 2>&1 |
			sed -n "s/^PIPEBENCH rep=0 /PIPEBENCH-GUEST $v rep=$i /p"
	done
	i=$((i + 1))
done
hib_ok pipebench "ran"
