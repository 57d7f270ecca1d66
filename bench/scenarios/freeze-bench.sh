#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=1800 mem=2048 smp=2
#
# `make bench`: time freezing and thawing N processes (N = 100 and 1000)
# with freeze_processes(2) (hibernatectl freeze / thaw --all), the cgroup-v2
# freezer and the PM freezer (hibernation with pm_test=freezer), 5 times
# each, the three methods interleaved, all in this one VM.  Each measurement
# prints
#
#   BENCH method=M n=N rep=R freeze_ms=F thaw_ms=T [more key=value]
#
# and a HIBTEST ok line; bench/run-bench.sh turns the BENCH lines into a
# table.  The N processes are one group from `freezebench spawn` (a
# supervisor and N-1 children, 2 of them busy loops, the rest in
# nanosleep(1 s) loops), all in the cgroup /sys/fs/cgroup/bench.
. /lib/hibtest.sh

# bench/run-bench.sh may override the defaults on the kernel command line:
# bench.ns=100,1000 bench.reps=5 bench.busy=2
NS="100 1000" REPS=5 BUSY=2
for a in $(cat /proc/cmdline); do
	case "$a" in
	bench.ns=*) NS=$(echo "${a#bench.ns=}" | tr ',' ' ') ;;
	bench.reps=*) REPS=${a#bench.reps=} ;;
	bench.busy=*) BUSY=${a#bench.busy=} ;;
	esac
done
CG=/sys/fs/cgroup/bench
FB=freezebench
CTL=hibernatectl

hib_log "kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ { print $2 " kB" }' /proc/meminfo)"
echo "BENCH-INFO kernel=$(uname -r) cpus=$(nproc) memtotal_kb=$(awk '/MemTotal/ { print $2 }' /proc/meminfo)"

mkdir -p /sys/fs/cgroup
if mount -t cgroup2 cgroup2 /sys/fs/cgroup && mkdir $CG; then
	hib_ok cgroup2-setup
else
	hib_notok cgroup2-setup "cannot mount cgroup2 or create $CG"
	exit 1
fi
if [ -w /sys/power/pm_test ] && echo freezer > /sys/power/pm_test; then
	hib_ok pm-test-setup "pm_test: $(cat /sys/power/pm_test); disk: $(cat /sys/power/disk)"
else
	hib_notok pm-test-setup "/sys/power/pm_test missing (CONFIG_PM_DEBUG)"
	exit 1
fi

# the number in "froze N tasks in X ms" / "thawed N tasks in X ms"
field() { sed -n "s/^$1 \([0-9]*\) tasks in \([0-9.]*\) ms\$/\\$2/p" | head -n 1; }

bench_fp() {	# N REP
	if ! $CTL freeze > /tmp/fp.out 2>&1; then
		sed 's/^/  [fp] /' /tmp/fp.out
		hib_notok fp-freeze-n$1-r$2 "hibernatectl freeze: $(tail -n 1 /tmp/fp.out)"
		$CTL thaw --all > /dev/null 2>&1
		return
	fi
	sleep 0.3
	if ! $CTL thaw --all > /tmp/fpt.out 2>&1; then
		hib_notok fp-thaw-n$1-r$2 "hibernatectl thaw --all: $(tail -n 1 /tmp/fpt.out)"
		return
	fi
	fz=$(field froze 2 < /tmp/fp.out)
	ft=$(field froze 1 < /tmp/fp.out)
	tz=$(field thawed 2 < /tmp/fpt.out)
	tt=$(field thawed 1 < /tmp/fpt.out)
	echo "BENCH method=freeze_processes n=$1 rep=$2 freeze_ms=$fz thaw_ms=$tz tasks_frozen=$ft tasks_thawed=$tt"
	hib_ok fp-n$1-r$2 "freeze $fz ms ($ft tasks), thaw $tz ms ($tt tasks)"
}

bench_cgroup() {	# N REP
	if out=$($FB cgroup $CG 2>&1); then
		echo "BENCH method=cgroup2 n=$1 rep=$2 $out tasks=$(wc -l < $CG/cgroup.threads)"
		hib_ok cgroup2-n$1-r$2 "$out"
	else
		hib_notok cgroup2-n$1-r$2 "$out"
		echo 0 > $CG/cgroup.freeze
	fi
}

bench_pm() {	# N REP
	if out=$($FB pm 2>&1); then
		fz=$(echo "$out" | sed -n 's/.*freeze_ms=\([0-9.]*\).*/\1/p')
		tz=$(echo "$out" | sed -n 's/.*thaw_ms=\([0-9.]*\).*/\1/p')
		echo "BENCH method=pm_freezer n=$1 rep=$2 $out"
		hib_ok pm-n$1-r$2 "$out"
	else
		hib_notok pm-n$1-r$2 "$out"
	fi
}

for n in $NS; do
	PG=$($FB spawn $n --busy $BUSY --cgroup $CG)
	have=$(wc -l < $CG/cgroup.procs)
	if [ -n "$PG" ] && [ "$have" = "$n" ]; then
		hib_ok spawn-n$n "$have processes in $CG, $BUSY busy; $(ls /proc | grep -c '^[0-9]') processes in the system"
	else
		hib_notok spawn-n$n "wanted $n processes in $CG, have $have"
		[ -n "$PG" ] && kill -9 -$PG
		continue
	fi
	echo "BENCH-INFO n=$n system_processes=$(ls /proc | grep -c '^[0-9]') memavail_kb=$(awk '/MemAvailable/ { print $2 }' /proc/meminfo)"
	sleep 2
	r=1
	while [ $r -le "$REPS" ]; do
		bench_fp $n $r
		sleep 0.5
		bench_cgroup $n $r
		sleep 0.5
		bench_pm $n $r
		sleep 0.5
		r=$((r + 1))
	done
	kill -9 -$PG
	i=0
	while [ "$(wc -l < $CG/cgroup.procs)" != 0 ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
done

echo none > /sys/power/pm_test
# nothing may be left frozen
left=$(grep -l '^Frozen:[[:space:]]*1' /proc/[0-9]*/status 2>/dev/null | wc -l)
if [ "$left" = 0 ]; then
	hib_ok none-left-frozen
else
	hib_notok none-left-frozen "$left processes still frozen"
fi
exit 0
