#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=300
#
# `make demo`: freeze a small workload, thaw one process, thaw all, and say
# what happened and how long each step took.
. /lib/hibtest.sh

W=hibworkload
CTL=hibernatectl
SHM=/dev/shm/demo

say() { echo "DEMO: $*"; }
step() {
	# step TITLE CMD...: run CMD, show its output, time it
	title=$1
	shift
	t0=$(hib_ms)
	out=$("$@" 2>&1)
	rc=$?
	t1=$(hib_ms)
	[ -n "$out" ] && echo "$out" | sed 's/^/DEMO:     | /'
	say "$title: exit $rc, $((t1 - t0)) ms"
	return $rc
}
# moving PIDS...: how many of the given processes' counters moved in 1 s
moving() {
	$W check --shm $SHM --moved --ms 1000 ${1:+--only $1} | tail -n 1
}

say "kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ { print $2 / 1024 " MiB" }' /proc/meminfo)"
step "start a workload of 100 processes (sleepers, pipe/socket/epoll readers, futex waiters, ptrace, vfork, threads, ...)" \
	$W start --procs 100 --shm $SHM || { hib_notok demo-workload "cannot start"; exit 1; }
PIDS=$($W pids --shm $SHM)
ONE=$($W pids --shm $SHM --kind sleep | head -n 1)
say "workload running: $(moving)"

if step "hibernatectl freeze (every user task but this shell and its ancestors)" $CTL freeze; then
	hib_ok demo-freeze
else
	hib_notok demo-freeze "hibernatectl freeze failed"
fi
say "while frozen, over 1 s: $($W check --shm $SHM --still --ms 1000 | tail -n 1)"
say "/proc/$ONE/status: $(grep -E '^(State|Frozen|UserFrozen):' /proc/$ONE/status | tr '\n\t' '  ')"
step "hibernatectl status" sh -c "$CTL status | head -n 8"

if step "hibernatectl thaw $ONE" $CTL thaw $ONE; then
	hib_ok demo-thaw-one
else
	hib_notok demo-thaw-one "hibernatectl thaw $ONE failed"
fi
say "process $ONE: $(moving $ONE)"
say "all the others: $($W check --shm $SHM --still --except $ONE --ms 1000 | tail -n 1)"

if step "hibernatectl thaw --all" $CTL thaw --all; then
	hib_ok demo-thaw-all
else
	hib_notok demo-thaw-all "hibernatectl thaw --all failed"
fi
say "after thaw: $(moving)"
say "signal handlers run / EINTR seen by the workload: $($W errors --shm $SHM | tail -n 1)"
$W stop --shm $SHM
say "done"
exit 0
