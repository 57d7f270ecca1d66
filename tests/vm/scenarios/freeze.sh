#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=600 disks=dm:16M
#
# freeze_processes(2), SIGFREEZE/SIGUNFREEZE and hibernatectl freeze/thaw
# against a workload of >= 200 processes of every kind (tests/vm/hibworkload.c).
. /lib/hibtest.sh

W=hibworkload
CTL=hibernatectl
SHM=/dev/shm/hibworkload

csv() { echo $* | tr ' ' ','; }

# Every thread of the given processes.
tasks_of() {
	for p in "$@"; do
		ls /proc/$p/task 2>/dev/null
	done
}

# NAME WANT PID...: every thread of PID... has Frozen: WANT.
check_frozen_field() {
	name=$1
	want=$2
	shift 2
	bad=""
	n=0
	for t in $(tasks_of "$@"); do
		v=$(hib_task_field $t Frozen)
		n=$((n + 1))
		[ "$v" = "$want" ] || bad="$bad $t=${v:-missing}"
	done
	if [ -z "$bad" ]; then
		hib_ok "$name" "$n tasks with Frozen: $want"
	else
		hib_notok "$name" "want Frozen: $want, got:$(echo $bad | cut -c1-300)"
	fi
}

# NAME: no task in the system is frozen (and the field exists).
check_none_frozen() {
	name=$1
	frozen=""
	missing=0
	for s in /proc/[0-9]*/task/[0-9]*/status; do
		v=$(awk '$1 == "Frozen:" { print $2 }' $s 2>/dev/null)
		[ -z "$v" ] && missing=$((missing + 1))
		[ "$v" = 1 ] && frozen="$frozen $(echo $s | cut -d/ -f5)"
	done
	if [ -n "$frozen" ]; then
		hib_notok "$name" "tasks still frozen:$(echo $frozen | cut -c1-300)"
	elif [ "$missing" -gt 3 ]; then
		# a few tasks may exit between the glob and the read
		hib_notok "$name" "no Frozen: field in /proc/PID/status ($missing tasks)"
	else
		hib_ok "$name"
	fi
}

# --- start the workload ------------------------------------------------------
hib_check workload-start $W start --procs 200 --shm $SHM || exit 1
PIDS=$($W pids --shm $SHM)
ALL=$(csv $PIDS)
NPROCS=$(echo $PIDS | wc -w)
if [ "$NPROCS" -ge 200 ]; then
	hib_ok workload-size "$NPROCS processes, $(ls -d $(for p in $PIDS; do echo /proc/$p/task/*; done) | wc -l) tasks"
else
	hib_notok workload-size "only $NPROCS processes"
fi
set -- $($W pids --shm $SHM --kind sleep)
S1=$1 S2=$2 S3=$3
hib_check workload-runs $W check --shm $SHM --moved --ms 2000

# --- freeze everything -------------------------------------------------------
t0=$(hib_ms)
$CTL freeze > /tmp/freeze.out 2>&1
rc=$?
t1=$(hib_ms)
sed 's/^/  [freeze-all] /' /tmp/freeze.out
case $rc in
0) hib_ok freeze-all "hibernatectl freeze took $((t1 - t0)) ms" ;;
3) hib_notok freeze-all "hibernatectl freeze: ENOSYS (exit 3): kernel lacks freeze_processes(2)" ;;
*) hib_notok freeze-all "hibernatectl freeze exited $rc: $(tail -n 1 /tmp/freeze.out)" ;;
esac

# the caller and what it starts keep running
if timeout 10 sh -c 'sleep 0.2; echo alive' | grep -q alive; then
	hib_ok caller-runs "the scenario shell forks and runs"
else
	hib_notok caller-runs "a child of the scenario shell did not run"
fi
check_frozen_field caller-not-frozen 0 $$

hib_check frozen-still $W check --shm $SHM --still --ms 2000
check_frozen_field frozen-field 1 $PIDS

$CTL status > /tmp/status.out 2>&1
rc=$?
missing=""
for p in $PIDS; do
	grep -qw "$p" /tmp/status.out || missing="$missing $p"
done
if [ "$rc" = 0 ] && [ -z "$missing" ]; then
	hib_ok status-lists-frozen "$(wc -l < /tmp/status.out) lines"
else
	head -n 20 /tmp/status.out | sed 's/^/  [status] /'
	hib_notok status-lists-frozen "exit $rc; missing:$(echo $missing | cut -c1-200)"
fi

# --- thaw one ----------------------------------------------------------------
hib_check thaw-one-cmd $CTL thaw $S1
hib_check thaw-one-moves $W check --shm $SHM --moved --only $S1 --ms 1500
hib_check thaw-one-others-still $W check --shm $SHM --still --except $S1 --ms 2000
check_frozen_field thaw-one-field 0 $S1

# the pseudo-signals through kill(2) and pidfd_send_signal(2)
hib_check sigfreeze-kill $W kill 200 $S1
hib_check sigfreeze-kill-still $W check --shm $SHM --still --only $S1 --ms 1500
check_frozen_field sigfreeze-kill-field 1 $S1
hib_check sigunfreeze-kill $W kill 201 $S1
hib_check sigunfreeze-kill-moves $W check --shm $SHM --moved --only $S1 --ms 1500
hib_check sigunfreeze-pidfd $W kill --pidfd 201 $S2
hib_check sigunfreeze-pidfd-moves $W check --shm $SHM --moved --only $S2 --ms 1500
hib_check sigfreeze-pidfd $W kill --pidfd 200 $S2
hib_check sigfreeze-pidfd-still $W check --shm $SHM --still --only $S2 --ms 1500

# busybox kill refuses numbers above its NSIG; use it when it passes them
if out=$(kill -201 $S2 2>&1); then
	hib_check busybox-kill-201-moves $W check --shm $SHM --moved --only $S2 --ms 1500
	kill -200 $S2
	hib_check busybox-kill-200-still $W check --shm $SHM --still --only $S2 --ms 1500
else
	hib_skip busybox-kill "busybox kill rejects -201 ($out); raw kill(2) tested above"
fi
$W kill 200 $S1

# --- thaw all ----------------------------------------------------------------
t0=$(hib_ms)
hib_check thaw-all-cmd $CTL thaw --all
t1=$(hib_ms)
hib_log "thaw --all took $((t1 - t0)) ms"
hib_check thaw-all-moves $W check --shm $SHM --moved --ms 3000
check_none_frozen thaw-all-none-frozen
hib_check no-handler-no-eintr $W errors --shm $SHM

# --- unprivileged callers ----------------------------------------------------
hib_expect_rc unpriv-freeze-eperm 4 $W runas 65534 $CTL freeze $S1
hib_expect_rc unpriv-freeze-all-eperm 4 $W runas 65534 $CTL freeze
hib_expect_rc unpriv-thaw-eperm 4 $W runas 65534 $CTL thaw $S1
# own process: only CAP_SYS_ADMIN stands in the way
$W runas 65534 sleep 1000 &
NOBODY=$!
sleep 0.5
hib_expect_rc unpriv-sigfreeze-own-eperm 4 $W runas 65534 $W kill 200 $NOBODY
hib_expect_rc unpriv-sigunfreeze-own-eperm 4 $W runas 65534 $W kill 201 $NOBODY
hib_expect_rc unpriv-sigfreeze-root-eperm 4 $W runas 65534 $W kill 200 $S1
kill $NOBODY
hib_check unpriv-nothing-frozen $W check --shm $SHM --moved --ms 2000

# --- a task in D state makes freeze time out and roll back ---------------------
DISK=$HIB_DISK_dm
if echo "0 $(blockdev --getsz $DISK) linear $DISK 0" | dmsetup create hibd &&
		dmsetup suspend hibd; then
	dd if=/dev/mapper/hibd of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null &
	DD=$!
	if hib_wait_state $DD D 10; then
		hib_ok dstate-setup "dd $DD in D state on suspended dm device"
	else
		hib_notok dstate-setup "dd $DD not in D state: $(cat /proc/$DD/stat 2>&1)"
	fi
	t0=$(hib_ms)
	$CTL freeze --timeout 2000 > /tmp/dfreeze.out 2>&1
	rc=$?
	t1=$(hib_ms)
	sed 's/^/  [dstate] /' /tmp/dfreeze.out
	if [ "$rc" = 5 ]; then
		hib_ok dstate-ebusy "exit 5 after $((t1 - t0)) ms"
	else
		hib_notok dstate-ebusy "hibernatectl freeze --timeout 2000 exited $rc, want 5 (EBUSY)"
	fi
	if grep -qw "$DD" /tmp/dfreeze.out; then
		hib_ok dstate-names-dd
	else
		hib_notok dstate-names-dd "output does not name dd pid $DD"
	fi
	check_none_frozen dstate-rolled-back
	hib_check dstate-workload-moves $W check --shm $SHM --moved --ms 2000
	dmsetup resume hibd
	if wait $DD; then
		hib_ok dstate-dd-completes
	else
		hib_notok dstate-dd-completes "dd failed after dmsetup resume"
	fi
	dmsetup remove hibd
else
	hib_notok dstate-setup "cannot create/suspend dm-linear on $DISK"
fi

# --- other freezers' thaw must not thaw a user-frozen task ----------------------
hib_check other-freeze-one $CTL freeze $S3
hib_check other-freeze-one-still $W check --shm $SHM --still --only $S3 --ms 1500

# cgroup v2
mkdir -p /sys/fs/cgroup
if mount -t cgroup2 cgroup2 /sys/fs/cgroup && mkdir /sys/fs/cgroup/hibt &&
		echo $S3 > /sys/fs/cgroup/hibt/cgroup.procs; then
	echo 1 > /sys/fs/cgroup/hibt/cgroup.freeze
	sleep 1
	hib_log "cgroup v2 events: $(tr '\n' ' ' < /sys/fs/cgroup/hibt/cgroup.events)"
	echo 0 > /sys/fs/cgroup/hibt/cgroup.freeze
	sleep 0.5
	hib_check cgroup2-thaw-keeps-frozen $W check --shm $SHM --still --only $S3 --ms 2000
	check_frozen_field cgroup2-thaw-keeps-field 1 $S3
	echo $S3 > /sys/fs/cgroup/cgroup.procs
	rmdir /sys/fs/cgroup/hibt
else
	hib_notok cgroup2-thaw-keeps-frozen "cannot set up a cgroup v2 group"
fi

# cgroup v1 freezer
mkdir -p /mnt/freezer
if mount -t cgroup -o freezer freezer /mnt/freezer && mkdir /mnt/freezer/hibt &&
		echo $S3 > /mnt/freezer/hibt/cgroup.procs; then
	echo FROZEN > /mnt/freezer/hibt/freezer.state
	i=0
	while [ $i -lt 50 ] && [ "$(cat /mnt/freezer/hibt/freezer.state)" != FROZEN ]; do
		sleep 0.1
		i=$((i + 1))
	done
	hib_log "cgroup v1 freezer.state: $(cat /mnt/freezer/hibt/freezer.state)"
	echo THAWED > /mnt/freezer/hibt/freezer.state
	sleep 0.5
	hib_check cgroup1-thaw-keeps-frozen $W check --shm $SHM --still --only $S3 --ms 2000
	check_frozen_field cgroup1-thaw-keeps-field 1 $S3
	echo $S3 > /mnt/freezer/cgroup.procs
	rmdir /mnt/freezer/hibt
	umount /mnt/freezer
else
	hib_notok cgroup1-thaw-keeps-frozen "cannot set up a cgroup v1 freezer group"
fi

# Everything above is the user freezer's doing; the PM freezer below is
# the stock kernel's (whose thaw may give epoll_wait waiters an EINTR).
hib_check user-freezer-no-handler-no-eintr $W errors --shm $SHM

# PM freezer: hibernation with pm_test=freezer freezes and thaws everything
if [ -w /sys/power/pm_test ]; then
	echo freezer > /sys/power/pm_test
	t0=$(hib_ms)
	if echo disk > /sys/power/state; then
		t1=$(hib_ms)
		hib_ok pm-freezer-cycle "freeze/thaw test cycle took $((t1 - t0)) ms"
	else
		hib_notok pm-freezer-cycle "echo disk > /sys/power/state failed"
	fi
	echo none > /sys/power/pm_test
	hib_check pm-thaw-keeps-frozen $W check --shm $SHM --still --only $S3 --ms 2000
	check_frozen_field pm-thaw-keeps-field 1 $S3
	hib_check pm-thaw-others-move $W check --shm $SHM --moved --except $S3 --ms 2000
else
	hib_notok pm-thaw-keeps-frozen "/sys/power/pm_test missing (CONFIG_PM_DEBUG)"
fi

hib_check other-thaw-one $CTL thaw $S3
hib_check other-thaw-one-moves $W check --shm $SHM --moved --only $S3 --ms 1500

# --- end ---------------------------------------------------------------------
$CTL thaw --all > /dev/null 2>&1
hib_check final-all-move $W check --shm $SHM --moved --ms 2000
hib_check pm-freezer-no-handler-no-eintr $W errors --shm $SHM
check_none_frozen final-none-frozen
$W stop --shm $SHM
exit 0
