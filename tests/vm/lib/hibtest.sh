# SPDX-License-Identifier: GPL-2.0-only
# Shell helpers for VM test scenarios (sourced; busybox sh).
#
# Result protocol on the serial console, one line per check:
#   HIBTEST ok <name> [- detail]
#   HIBTEST not ok <name> - <reason>
#   HIBTEST expect-poweroff        (this boot ends by powering off itself)
#   HIBTEST done pass=N fail=M     (printed by /init after the scenario)
# Names are single words; the host fails the scenario on any "not ok".

hib_ok() {
	name=$1
	shift
	echo "$name" >> /tmp/.hibtest.pass
	if [ $# -gt 0 ]; then
		echo "HIBTEST ok $name - $*"
	else
		echo "HIBTEST ok $name"
	fi
}

hib_notok() {
	name=$1
	shift
	echo "$name" >> /tmp/.hibtest.fail
	echo "HIBTEST not ok $name - ${*:-failed}"
}

hib_skip() {
	name=$1
	shift
	hib_ok "$name" "# SKIP $*"
}

# hib_check NAME CMD...: ok if CMD exits 0; else not ok with CMD's last
# output line.  CMD's output is shown on the console either way.
hib_check() {
	name=$1
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ -n "$out" ] && echo "$out" | sed "s/^/  [$name] /"
	if [ "$rc" = 0 ]; then
		hib_ok "$name"
	else
		hib_notok "$name" "\`$*\` exited $rc: $(echo "$out" | tail -n 1)"
	fi
	return $rc
}

hib_log() {
	echo "# $*"
}

# hib_expect_poweroff: call right before the scenario powers the machine
# off on purpose (hibernation): the host then accepts a boot without done.
# Also through the kernel log: a kernel message printed while the console
# still drains the echo lands inside it ("HIBTEST expect-p[ 6.28] ...oweroff",
# seen in a benchmark run), and the console prints a kernel line whole.
hib_expect_poweroff() {
	echo "HIBTEST expect-poweroff"
	echo "HIBTEST expect-poweroff" > /dev/kmsg 2>/dev/null || true
}

# Milliseconds since boot (for timing steps).
hib_ms() {
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# hib_expect_rc NAME RC CMD...: ok if CMD exits with status RC.
hib_expect_rc() {
	name=$1
	want=$2
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	[ -n "$out" ] && echo "$out" | sed "s/^/  [$name] /"
	if [ "$rc" = "$want" ]; then
		hib_ok "$name" "exit $rc"
	else
		hib_notok "$name" "\`$*\` exited $rc, want $want: $(echo "$out" | tail -n 1)"
	fi
	[ "$rc" = "$want" ]
}

# hib_wait_state PID STATE SECONDS: wait until /proc/PID/stat shows STATE.
hib_wait_state() {
	i=0
	while [ $i -lt $(($3 * 10)) ]; do
		s=$(awk '{ print $3 }' /proc/$1/stat 2>/dev/null)
		[ "$s" = "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# hib_task_field TID FIELD: a /proc/TID/status field's value, empty if absent.
hib_task_field() {
	awk -v f="$2:" '$1 == f { print $2 }' /proc/$1/status 2>/dev/null
}

# hib_nothing_frozen NAME: ok if no task is frozen: Frozen: 1 (any freezer,
# /dev/snapshot's too) or UserFrozen: 1 (freeze_processes(2), SIGFREEZE).
hib_nothing_frozen() {
	frozen=$(grep -lE '^(User)?Frozen:.1' /proc/[0-9]*/status 2>/dev/null | head -n 3)
	if [ -z "$frozen" ]; then
		hib_ok "$1"
	else
		hib_notok "$1" "still frozen: $(echo $frozen)"
	fi
}

# hib_report_field FILE FIELD: a field of a `hibstate check` report.
hib_report_field() {
	sed -n "s/.*\<$2=\([^ ]*\).*/\1/p" "$1" | head -n 1
}

# hib_net_up NAME: the guest's side of QEMU user networking (10.0.2.15/24, default route via
# the host's side, 10.0.2.2), checked as NAME.
hib_net_up() {
	ifconfig lo 127.0.0.1 up
	hib_check "$1" sh -c "ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up &&
		route add default gw 10.0.2.2"
}

# hib_same_digest NAME BEFORE AFTER [expected]: ok if two `hibstate check` reports have the
# same memory digest; with "expected", it must also be the one the workload computed from its
# seed (expected= in AFTER).
hib_same_digest() {
	d_before=$(hib_report_field "$2" digest)
	d_after=$(hib_report_field "$3" digest)
	if [ -n "$d_after" ] && [ "$d_before" = "$d_after" ] &&
	   { [ "$4" != expected ] || [ "$(hib_report_field "$3" expected)" = "$d_after" ]; }; then
		hib_ok "$1" "$d_after"
	else
		hib_notok "$1" "$d_before -> $d_after"
	fi
}

# hib_workload_start DIR MIB SEED: start hibstate's workload in DIR (ok / not ok
# workload-start) and record DIR/before.report; non-zero if it did not start.
hib_workload_start() {
	mkdir -p "$1"
	hib_check workload-start hibstate start --dir "$1" --mib "$2" --seed "$3" || return 1
	hibstate check --dir "$1" > "$1/before.report"
}

# hib_resume NAME ARGS...: `hibernatectl resume ARGS...`, which on success never returns (the
# machine goes on in the system that hibernated, which reports); not ok NAME if it does.
hib_resume() {
	resume_name=$1
	shift
	hibernatectl resume "$@"
	hib_notok "$resume_name" "hibernatectl resume returned $?"
}

# hib_same_workload PREFIX BEFORE AFTER: PREFIX-same-pid and PREFIX-memory-digest (the
# expected one) from two `hibstate check` reports.
hib_same_workload() {
	pid_before=$(hib_report_field "$2" pid)
	pid_after=$(hib_report_field "$3" pid)
	if [ -n "$pid_after" ] && [ "$pid_before" = "$pid_after" ]; then
		hib_ok "$1-same-pid" "$pid_after"
	else
		hib_notok "$1-same-pid" "$pid_before -> $pid_after"
	fi
	hib_same_digest "$1-memory-digest" "$2" "$3" expected
}

# hib_s3_target CREDFILE: the S3 target tests/vm/with-rgw.py passes on the kernel command line
# (hibtest.url=, hibtest.s3cred=KEY:SECRET): sets $url (the image's object in the bucket) and
# $s3_key_id, writes the credentials to CREDFILE; not ok and false without them.
hib_s3_target() {
	base=$(sed -n 's/.*hibtest\.url=\([^ ]*\).*/\1/p' /proc/cmdline)
	s3cred=$(sed -n 's/.*hibtest\.s3cred=\([^ ]*\).*/\1/p' /proc/cmdline)
	if [ -z "$base" ] || [ -z "$s3cred" ]; then
		hib_notok s3-url "no hibtest.url=/hibtest.s3cred= on the kernel command line: run through with-rgw.py"
		return 1
	fi
	url=${base}images/guest.img
	s3_key_id=${s3cred%%:*}
	printf '%s\n%s\n' "$s3_key_id" "${s3cred#*:}" > "$1" && chmod 600 "$1"
}
