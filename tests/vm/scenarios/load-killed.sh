#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=600 boots=3 disks=image:1200M mem=1024 smp=2
#
# A resume killed half-way through the image load leaves the machine booting on.  Boot 1
# hibernates a workload with 384 MiB of seeded memory.  Boot 2 starts the resume and sends it
# SIGKILL once the load is under way: its workers are in pwrite(2) of /dev/snapshot, copying
# pages outside the kernel's lock or waiting for their turn (kernel patch 0037).  The process
# dies, nothing is restored, /dev/snapshot is released (it opens again), the memory the load
# took is back and the image is left as it was.  Before that, boot 2 lets one resume load the
# whole image and fail right after (the test build's HIBERNATE_FAULT=fail=invalidate): the
# same checks.  Boot 3 resumes that image: boot 1's workload is back intact.
. /lib/hibtest.sh

state=/run/hibstate

meminfo_kib() {
	sed -n "s/^$1: *\([0-9]*\) kB\$/\1/p" /proc/meminfo
}

# Free memory, with the pages the per-CPU lists hold (MemFree leaves them out; a free of the
# image's memory fills them, and they drain over seconds).
free_kib() {
	echo $(($(meminfo_kib MemFree) + $(awk '/ count:/ { n += $2 } END { print n * 4 }' /proc/zoneinfo)))
}

# released NAME FREE_BEFORE: the kernel let go of it all (the device opens again, the image's
# memory is free) and the image is kept.
released() {
	if (exec 3> /dev/snapshot) 2> /tmp/open.err; then
		hib_ok "$1-released" "/dev/snapshot opens again"
	else
		hib_notok "$1-released" "$(cat /tmp/open.err)"
	fi
	# Free memory with the per-CPU lists (free_kib): MemFree and MemAvailable alone came out
	# 20-48 MiB lower after the release here, all of it pages on those lists.
	free_after=$(free_kib)
	hib_log "after it: min_free_kbytes $(cat /proc/sys/vm/min_free_kbytes), MemAvailable $(meminfo_kib MemAvailable) kB"
	if [ $(($2 - free_after)) -lt 16384 ]; then
		hib_ok "$1-memory" "free (with the per-CPU lists) $2 kB before, $free_after kB after"
	else
		hib_notok "$1-memory" "free (with the per-CPU lists) $2 kB before, $free_after kB after"
	fi
	if dd if="$HIB_DISK_image" bs=8 count=1 2>/dev/null | grep -q HIBIMAGE; then
		hib_ok "$1-image-kept" "the image is still on $HIB_DISK_image"
	else
		hib_notok "$1-image-kept" "no image header on $HIB_DISK_image"
	fi
}

case $HIB_BOOT in
1)
	hib_workload_start $state 384 4321 || exit 0
	hib_expect_poweroff
	hibernatectl hibernate --output "$HIB_DISK_image"
	rc=$?
	# Back here in the system boot 3 restored, or because hibernation failed.
	if [ $rc != 0 ]; then
		hib_notok killed-load-then-resumed "hibernatectl hibernate exited $rc without resuming"
		exit 0
	fi
	hib_ok killed-load-then-resumed "the image whose load boot 2 killed was restored by boot 3"
	hibstate check --dir $state > $state/after.report
	hib_same_workload killed-load $state/before.report $state/after.report
	;;
2)
	# The whole image loaded, then no restore: a failure after the load.
	free_before=$(free_kib)
	HIBERNATE_FAULT=fail=invalidate hibernatectl resume --input "$HIB_DISK_image" > /tmp/full.out 2>&1
	rc=$?
	cat /tmp/full.out
	if [ $rc != 0 ] && grep -q "load stages" /tmp/full.out &&
	   grep -q "fault injected at invalidate" /tmp/full.out &&
	   ! grep -q "restoring hibernation image" /tmp/full.out; then
		hib_ok load-failed "the image loaded, then the resume failed (exit $rc)"
	else
		hib_notok load-failed "exit $rc: $(tail -n 2 /tmp/full.out | tr '\n' ' ')"
	fi
	released load-failed "$free_before"

	before=$(meminfo_kib MemAvailable)
	free_before=$(free_kib)
	hib_log "before the resume: min_free_kbytes $(cat /proc/sys/vm/min_free_kbytes)"
	hibernatectl resume --input "$HIB_DISK_image" > /tmp/resume.out 2>&1 &
	pid=$!
	# The kernel takes the memory of the whole image (about 450 MiB) at its first data page:
	# once it has, the pages are going in; kill a moment later, well before the end.
	i=0
	while [ $i -lt 600 ] && [ $((before - $(meminfo_kib MemAvailable))) -lt 131072 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	sleep 0.3
	during=$(meminfo_kib MemAvailable)
	kill -9 $pid
	wait $pid
	rc=$?
	cat /tmp/resume.out
	if [ $rc = 137 ] && [ $((before - during)) -gt 131072 ] &&
	   ! grep -q "load stages\|restoring hibernation image" /tmp/resume.out; then
		hib_ok load-killed "SIGKILL during the load (MemAvailable $before kB before it, $during kB)"
	else
		hib_notok load-killed "exit $rc, MemAvailable $before kB before, $during kB, not killed during the load: $(tail -n 2 /tmp/resume.out | tr '\n' ' ')"
	fi
	released load-killed "$free_before"
	;;
3)
	hib_resume resume-returned --input "$HIB_DISK_image"
	;;
esac
exit 0
