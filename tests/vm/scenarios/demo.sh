#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=300 boots=2 disks=image:1200M,state:8M mem=1024 smp=2
#
# `make demo`: a workload (hibstate: 64 MiB of seeded memory, open files, a
# pipe pair to a child, a timer; hibworkload: 80 processes of every kind) is
# hibernated with snapshot_kernel(2) to a virtual disk, the machine powers
# off, boots again, and its initramfs resumes the image.  The resumed system
# proves the workload intact (pid, memory digest, maps, fds, every process
# moving) and says how long boot 2 took to get it running again.
#
# Boot 1's hibernate summary table is printed on the console before the
# power-off; boot 2 writes its timings to the "state" disk for the resumed
# system to read (a file in RAM would be boot 2's, lost by the restore).
. /lib/hibtest.sh

state=/run/hibstate
SHM=/dev/shm/demo
IMG=$HIB_DISK_image
STATE=$HIB_DISK_state

say() { echo "DEMO: $*"; }

snapshot_state() {
	hibstate check --dir $state > $state/$1.report
	cat /proc/"$pid"/maps > $state/$1.maps
	for f in /proc/"$pid"/fd/*; do
		echo "${f##*/} $(readlink "$f")"
	done > $state/$1.fds
	hibworkload pids --shm $SHM | sort > $state/$1.pids
}

case $HIB_BOOT in
1)
	say "boot 1: kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo) RAM"
	mkdir -p $state
	hib_check demo-workload-start hibstate start --dir $state --mib 64 --seed 2024 || exit 0
	hibworkload start --procs 80 --shm $SHM > /dev/null ||
		{ hib_notok demo-workload-start "hibworkload start failed"; exit 0; }
	pid=$(cat $state/pid)
	snapshot_state before
	say "workload: hibstate pid $pid ($(hib_report_field $state/before.report digest) is the digest of its 64 MiB), child $(hib_report_field $state/before.report child)"
	say "workload: hibworkload, $(wc -l < $state/before.pids) processes: $(hibworkload check --shm $SHM --moved --ms 500 | tail -n 1)"
	say "hibernating to $IMG: freeze, snapshot_kernel(2), lz4 on every CPU, power off"
	say "the summary table follows, then the machine powers off and boots again"

	hib_expect_poweroff
	hibernatectl hibernate --output "$IMG"
	rc=$?

	# Resumed (or failed): boot 1's system again.
	t_back=$(date +%s)
	if [ $rc != 0 ]; then
		hib_notok demo-resumed "hibernatectl hibernate exited $rc without resuming"
		exit 0
	fi
	ok=1
	snapshot_state after
	hw=$(hibworkload check --shm $SHM --moved --ms 1000 | tail -n 1)
	echo "$hw" | grep -q ": 0 did not move" && hw_rc=0 || hw_rc=1
	blockdev --flushbufs "$STATE" 2>/dev/null
	set -- $(head -c 128 "$STATE" | tr -d '\0')
	say "---- resumed: boot 1's system, running again after boot 2 restored it ----"
	if [ "$1" = boot2 ]; then
		# boot2 EPOCH_AT_BOOT2_START MS_TO_RESUME_START
		say "boot 2: kernel and initramfs up, resume started after $3 ms"
		say "boot 2 start -> workload running again: about $((t_back - $2)) s (wall clock, RTC resolution 1 s)"
	else
		say "boot 2 left no timings on $STATE"
	fi
	if dmesg | grep -q "snapshot_kernel: resumed from the image"; then
		hib_ok demo-resumed "snapshot_kernel(2) reported the resume side"
	else
		hib_notok demo-resumed "no 'resumed from the image' in the kernel log"
		ok=0
	fi

	b=$state/before.report a=$state/after.report
	if [ "$(hib_report_field $b pid)" = "$(hib_report_field $a pid)" ] &&
			[ "$(hib_report_field $b digest)" = "$(hib_report_field $a digest)" ] &&
			[ "$(hib_report_field $a digest)" = "$(hib_report_field $a expected)" ] &&
			grep -q "echo=ok" $a; then
		hib_ok demo-hibstate "pid $(hib_report_field $a pid), digest $(hib_report_field $a digest)"
		say "hibstate: same pid $(hib_report_field $a pid), 64 MiB digest $(hib_report_field $a digest) intact, child answers through the pipe, timer $(hib_report_field $b ticks) -> $(hib_report_field $a ticks) ticks"
	else
		hib_notok demo-hibstate "before: $(cat $b); after: $(cat $a)"
		ok=0
	fi
	for w in maps fds pids; do
		if cmp -s $state/before.$w $state/after.$w; then
			hib_ok demo-same-$w "$(wc -l < $state/after.$w) lines"
		else
			hib_notok demo-same-$w "$(diff $state/before.$w $state/after.$w | head -n 5 | tr '\n' ' ')"
			ok=0
		fi
	done
	say "hibstate: the same $(wc -l < $state/after.maps) mappings and $(wc -l < $state/after.fds) open fds"
	if [ $hw_rc = 0 ]; then
		hib_ok demo-hibworkload "$hw"
		say "hibworkload: the same $(wc -l < $state/after.pids) processes, all moving again ($hw)"
	else
		hib_notok demo-hibworkload "$hw"
		ok=0
	fi
	if grep -qE '^(User)?Frozen:.1' /proc/[0-9]*/status 2>/dev/null; then
		hib_notok demo-thawed "$(grep -lE '^(User)?Frozen:.1' /proc/[0-9]*/status | head -n 3)"
		ok=0
	else
		hib_ok demo-thawed
	fi
	hibworkload stop --shm $SHM
	if [ $ok = 1 ]; then
		say "workload intact after resume"
	else
		say "workload NOT intact after resume: see the HIBTEST lines"
	fi
	;;
2)
	# The initramfs' job.  Timings go to the state disk, for the resumed system.
	t=$(hib_ms)
	now=$(date +%s)
	say "boot 2: kernel up, $t ms after boot; looking for an image on $IMG"
	hibernatectl image info "$IMG" | grep -E "pages|compressed|ratio" | sed 's/^ */DEMO:   image /'
	t=$(hib_ms)
	printf 'boot2 %s %s\n' $((now - t / 1000)) "$t" |
		dd of="$STATE" conv=notrunc,fsync 2>/dev/null
	hib_resume demo-resume-returned --input "$IMG"
	;;
esac
exit 0
