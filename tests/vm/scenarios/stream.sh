#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=900 boots=2 disks=image:1400M,odirect:8M mem=1024 smp=2
#
# Images of most of RAM without swap (issue 6): a workload of 620 MiB, plus
# 8 MiB each of shared memory, pages shared copy-on-write with a child, a
# THP-backed region and mlocked memory (--extras), and a 4 MiB buffer a thread
# keeps reading into with O_DIRECT (--odirect, a read in flight at the freeze),
# in a 1 GiB guest.  Copying every page
# (--no-stream: the stock kernel's way, the image needs half of RAM free)
# fails with ENOMEM and loses nothing; with frozen tasks' pages streamed
# from their frames the same workload hibernates,
# powers off and resumes with its memory digest intact.
#
# A helper thawed by the policy (a copy of hibstate named hibhelper, 4 MiB)
# rewrites its memory after the snapshot (the fault file's poke=PID:FILE
# hook): after resume it has its snapshot-time contents (its pages were
# copied, not streamed).
#
# The size comes from the kernel command line: hibtest.mib=N (default 620),
# hibtest.extras=no to leave the extras (and the O_DIRECT reader) out,
# hibtest.helper=no the helper (vm-stream-880: 880 MiB and nothing else, on
# the release kernel, with THP in the kernel's default madvise mode:
# khugepaged raises vm.min_free_kbytes to 22528 kB in this guest, and the
# kernel holds the default, 3939 kB, while the image is taken and loaded).
. /lib/hibtest.sh

state=/run/hibstate
hstate=/run/hibhelper
mib=$(sed -n 's/.*hibtest\.mib=\([0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$mib" ] || mib=620
extras="--extras --odirect $HIB_DISK_odirect"
grep -q "hibtest.extras=no" /proc/cmdline && extras=
helper=yes
grep -q "hibtest.helper=no" /proc/cmdline && helper=

case $HIB_BOOT in
1)
	[ -z "$(tail -n +2 /proc/swaps)" ] && hib_ok stream-no-swap || hib_notok stream-no-swap
	hib_log "THP $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)," \
		"min_free_kbytes $(cat /proc/sys/vm/min_free_kbytes)"
	mkdir -p $state
	hib_check workload-start hibstate start --dir $state --mib "$mib" --seed 99 $extras || exit 0
	pid=$(cat $state/pid)
	if [ -n "$extras" ]; then
		thp=$(awk '/AnonHugePages/ { s += $2 } END { print s + 0 }' /proc/$pid/smaps)
		[ "$thp" -gt 0 ] && hib_ok stream-thp-backed "AnonHugePages ${thp} kB" ||
			hib_notok stream-thp-backed "no huge page in the workload (THP off?)"
	fi
	hibstate check --dir $state > $state/before.report
	cat $state/before.report
	hib_log "MemTotal $(awk '/MemTotal/ {print $2}' /proc/meminfo) kB," \
		"workload RSS $(awk '/VmRSS/ {print $2}' /proc/$pid/status) kB"

	# The helper the policy thaws; it rewrites its memory after the snapshot.
	poke=
	if [ -n "$helper" ]; then
		mkdir -p $hstate /etc/hibernate/policy.d
		cp /usr/bin/hibstate /tmp/hibhelper
		printf '[match]\ncomm = hibhelper\n[thaw]\nthaw = yes\nreason = test helper\n' \
			> /etc/hibernate/policy.d/50-hibhelper.policy
		hib_check helper-start /tmp/hibhelper start --dir $hstate --mib 4 --seed 7 || exit 0
		hpid=$(cat $hstate/pid)
		hibstate check --dir $hstate > $hstate/before.report
		poke=$hpid:$hstate/scribbled
	fi

	# The copy path (what the stock kernel does) cannot take it.
	out=$(hibernatectl hibernate --output "$HIB_DISK_image" --no-stream --no-poweroff 2>&1)
	rc=$?
	echo "$out" | tail -n 5
	if [ $rc != 0 ] && echo "$out" | grep -qi "memory"; then
		hib_ok stream-copy-path-fails "exit $rc: $(echo "$out" | grep -i memory | head -n 1)"
	else
		hib_notok stream-copy-path-fails "exit $rc: copying $mib MiB should not fit"
	fi
	# hibstate check exits 0 only if the digest equals the seeded one.
	if hibstate check --dir $state > $state/mid.report &&
	   ! grep -q "^UserFrozen:.1" /proc/[0-9]*/status; then
		hib_ok stream-copy-failure-lost-nothing "$(cat $state/mid.report)"
	else
		hib_notok stream-copy-failure-lost-nothing "$(cat $state/mid.report)"
	fi

	hib_expect_poweroff
	env ${poke:+HIBERNATE_FAULT=poke=$poke} hibernatectl hibernate --output "$HIB_DISK_image"
	rc=$?
	[ $rc = 0 ] && hib_ok stream-resumed || { hib_notok stream-resumed "exit $rc"; exit 0; }
	dmesg | grep -E "pinned to stream|streamed from their frames" | sed 's/^/  /'
	hibstate check --dir $state > $state/after.report
	cat $state/after.report
	d_before=$(sed 's/.*digest=\([0-9a-f]*\).*/\1/' $state/before.report)
	if grep -q "pid=$pid digest=$d_before expected=$d_before" $state/after.report; then
		hib_ok stream-memory-digest "$mib MiB${extras:+ + shm, fork-shared, THP, mlocked, O_DIRECT buffer} intact, same pid"
	else
		hib_notok stream-memory-digest "$(cat $state/before.report) -> $(cat $state/after.report)"
	fi
	# The helper wrote every word of its memory after the snapshot; the image has the
	# snapshot-time contents (check exits 0 only if the digest is the seeded one).
	if [ -z "$helper" ]; then
		:
	elif /tmp/hibhelper check --dir $hstate > $hstate/after.report; then
		hib_ok stream-helper-snapshot-contents "$(cat $hstate/after.report)"
	else
		hib_notok stream-helper-snapshot-contents "$(cat $hstate/after.report)"
	fi
	;;
2)
	hib_resume resume-returned --input "$HIB_DISK_image"
	;;
esac
exit 0
