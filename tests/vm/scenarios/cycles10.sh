#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=400 boots=11 disks=image:1200M mem=1024 smp=2
#
# Ten full cycles in a row on the same disk: boot 1 starts the workload and
# hibernates; each later boot resumes, and the resumed system (boot 1's shell,
# carried through every image) checks the workload, counts the cycle in a file
# under /run (RAM: it survives only through the images) and hibernates again.
# After the tenth resume: ten cycles counted, each with the same pid and
# memory digest, the timer still running, nothing left frozen.
. /lib/hibtest.sh

state=/run/hibstate
count=/run/cycles
N=10

case $HIB_BOOT in
1)
	hib_workload_start $state 64 1010 || exit 0
	cat $state/before.report
	pid0=$(hib_report_field $state/before.report pid)
	digest0=$(hib_report_field $state/before.report digest)
	ticks=$(hib_report_field $state/before.report ticks)
	: > $count
	i=1
	while [ $i -le $N ]; do
		hib_log "cycle $i of $N: hibernating"
		hib_expect_poweroff
		hibernatectl hibernate --output "$HIB_DISK_image"
		rc=$?
		# Here again: in the system resumed by boot $((i + 1)), or after a failure.
		if [ $rc != 0 ]; then
			hib_notok cycle-$i-resumed "hibernatectl hibernate exited $rc without resuming"
			break
		fi
		resumes=$(dmesg | grep -c "snapshot_kernel: resumed from the image")
		hibstate check --dir $state > $state/now.report
		p=$(hib_report_field $state/now.report pid)
		d=$(hib_report_field $state/now.report digest)
		e=$(hib_report_field $state/now.report expected)
		t=$(hib_report_field $state/now.report ticks)
		echo "cycle=$i pid=$p digest=$d ticks=$t kernel_resumes=$resumes" >> $count
		if [ "$p" = "$pid0" ] && [ "$d" = "$digest0" ] && [ "$e" = "$digest0" ] &&
				grep -q "echo=ok" $state/now.report && [ "$t" -gt "$ticks" ] &&
				[ "$resumes" = $i ]; then
			hib_ok cycle-$i-resumed "pid $p digest $d ticks $ticks -> $t"
		else
			hib_notok cycle-$i-resumed "$(cat $state/now.report), kernel resumes $resumes (want pid $pid0 digest $digest0, $i resumes)"
		fi
		ticks=$t
		hib_nothing_frozen cycle-$i-thawed
		i=$((i + 1))
	done
	cat $count
	n=$(wc -l < $count)
	same=$(grep -c "pid=$pid0 digest=$digest0 " $count)
	if [ "$n" = $N ] && [ "$same" = $N ]; then
		hib_ok cycles-all "all $N cycles resumed with pid $pid0 and digest $digest0"
	else
		hib_notok cycles-all "$n cycles counted, $same with pid $pid0 and digest $digest0"
	fi
	;;
*)
	hib_resume resume-boot-$HIB_BOOT --input "$HIB_DISK_image"
	;;
esac
exit 0
