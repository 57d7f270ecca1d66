#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=400 boots=3 disks=image:1200M mem=1024 smp=2
#
# The full cycle: a workload with 64 MiB of seeded memory, open files, a pipe
# pair to a child and an interval timer is hibernated with snapshot_kernel(2)
# to a virtual disk; the machine powers off; the next boot's initramfs resumes
# it through /dev/snapshot; its pid, memory digest, maps and fds are the same.
# A third boot finds the image used up (one-shot) and boots on.
. /lib/hibtest.sh

state=/run/hibstate

snapshot_state() {
	pid=$(cat $state/pid)
	hibstate check --dir $state > $state/$1.report
	cat /proc/"$pid"/maps > $state/$1.maps
	for f in /proc/"$pid"/fd/*; do
		echo "${f##*/} $(readlink "$f")"
	done > $state/$1.fds
}

same() {
	if cmp -s "$state/before.$2" "$state/after.$2"; then
		hib_ok "$1"
	else
		hib_notok "$1" "$(diff "$state/before.$2" "$state/after.$2" | head -n 5 | tr '\n' ' ')"
	fi
}

case $HIB_BOOT in
1)
	mkdir -p $state
	hib_check workload-start hibstate start --dir $state --mib 64 --seed 1234 || exit 0
	snapshot_state before
	cat $state/before.report

	t0=$(hib_ms)
	hib_expect_poweroff
	# Straight to the console: what it prints after the snapshot (the
	# summary table) is not in the image, so a file in RAM would lose it.
	hibernatectl hibernate --output "$HIB_DISK_image"
	rc=$?
	# Back here either because hibernation failed, or in the resumed system:
	# without --no-poweroff, exit 0 means snapshot_kernel(2) said "resumed".
	if [ $rc = 0 ]; then
		hib_ok cycle-resumed "snapshot_kernel(2) reported the resume side"
	else
		hib_notok cycle-resumed "hibernatectl hibernate exited $rc without resuming"
		exit 0
	fi
	if dmesg | grep -q "snapshot_kernel: resumed from the image"; then
		hib_ok cycle-kernel-says-resumed
	else
		hib_notok cycle-kernel-says-resumed "no 'resumed from the image' in the kernel log"
	fi

	snapshot_state after
	cat $state/after.report
	hib_same_workload cycle $state/before.report $state/after.report
	grep -q "echo=ok" $state/after.report && hib_ok cycle-pipe-to-child ||
		hib_notok cycle-pipe-to-child "$(cat $state/after.report)"
	t_before=$(sed 's/.*ticks=\([0-9]*\).*/\1/' $state/before.report)
	t_after=$(sed 's/.*ticks=\([0-9]*\).*/\1/' $state/after.report)
	[ "$t_after" -gt "$t_before" ] && hib_ok cycle-timer-runs "$t_before -> $t_after ticks" ||
		hib_notok cycle-timer-runs "$t_before -> $t_after ticks"
	same cycle-same-maps maps
	same cycle-same-fds fds
	if grep -q "^UserFrozen:.1" /proc/[0-9]*/status 2>/dev/null; then
		hib_notok cycle-everything-thawed "$(grep -l '^UserFrozen:.1' /proc/[0-9]*/status | head -n 3)"
	else
		hib_ok cycle-everything-thawed
	fi
	hib_log "cycle took $(( $(hib_ms) - t0 )) ms of guest time after resume"
	;;
2)
	# The initramfs' job: resume.  On success this never returns: the
	# machine continues in boot 1's system, which prints the results.
	hib_resume resume-returned --input "$HIB_DISK_image"
	;;
3)
	out=$(hibernatectl resume --input "$HIB_DISK_image" 2>&1)
	rc=$?
	echo "$out"
	if [ $rc = 6 ] && echo "$out" | grep -q "no hibernation image"; then
		hib_ok resume-one-shot "the used image is not resumed twice"
	else
		hib_notok resume-one-shot "exit $rc: $out"
	fi
	# The used image's data were discarded (or at least its header and first chunks
	# overwritten): nothing readable is left of boot 1's memory.
	if dd if="$HIB_DISK_image" bs=8 count=1 2>/dev/null | grep -q HIBIMAGE; then
		hib_notok used-image-discarded "the image header is still on $HIB_DISK_image"
	elif hibernatectl check --output "$HIB_DISK_image" 2>&1 | grep -q "what is left"; then
		hib_notok used-image-discarded "check reports a leftover image"
	else
		hib_ok used-image-discarded "no image header left on $HIB_DISK_image"
	fi
	;;
esac
exit 0
