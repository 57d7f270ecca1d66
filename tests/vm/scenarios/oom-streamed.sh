#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=600 boots=2 disks=image:1100M mem=1024 smp=2
# vmtest-require: 1 ^hibernatectl: test hook: sysrq f: .*Killed process [0-9]+ \(hibdecoy\)
# vmtest-require: 1 abort-phase-killed: .*\(hibdecoy\)
#
# The OOM killer while an image streams a process's pages (issue 14, defect 1; kernel patch
# 0018).  hibrobust holds a robust mutex in a second thread and is the OOM killer's first choice
# (oom_score_adj 1000); a policy-thawed helper, hibdecoy, is the only other eligible process.
# Right after the snapshot (HIBERNATE_FAULT=sysrq=f: the OOM killer by hand, while the image FD
# is open and hibrobust's pages are pinned to be streamed), the OOM killer must pass over
# hibrobust and kill the decoy (the console line is checked by the host: a resumed guest has
# forgotten what happened after the snapshot instant).  Killing hibrobust would thaw it; its
# exit would write FUTEX_OWNER_DIED into the mutex and clear the holder's tid word in pages the
# image has not read yet.  After resume: same pid, the mutex word still names the live holder,
# trylock says EBUSY, pthread_timedjoin_np() of the holder waits, memory digest intact.
#
# First a hibernation that fails after the OOM kill (fail=write): everything is thawed, the
# machine runs on, and hibrobust must still be there; a kernel without 0018 kills it here for
# good (its pages were pinned, so the image itself came out right on that kernel: what it loses
# is the process, in the system that keeps running when the hibernation does not complete).
. /lib/hibtest.sh

rob=/run/hibrobust
decoy=/run/hibdecoy

# robust_check NAME: ok if hibrobust answers, same pid, mutex/holder/digest as they were.
robust_check() {
	out=$(hibrobust check --dir $rob 2>&1)
	rc=$?
	if [ $rc = 0 ] && echo "$out" | grep -q "^pid=$(cat $rob/pid) "; then
		hib_ok "$1" "$out"
	else
		hib_notok "$1" "exit $rc: $out"
	fi
}

case $HIB_BOOT in
1)
	# Nothing here but the two is eligible: init, this shell and hibernatectl are not.
	for f in /proc/[0-9]*/oom_score_adj; do
		echo -1000 > "$f" 2>/dev/null
	done
	mkdir -p $rob $decoy /etc/hibernate/policy.d
	hib_check robust-start sh -c \
		"echo 1000 > /proc/self/oom_score_adj && exec hibrobust start --dir $rob --mib 16" ||
		exit 0
	pid=$(cat $rob/pid)
	cp /usr/bin/hibstate /tmp/hibdecoy
	printf '[match]\ncomm = hibdecoy\n[thaw]\nthaw = yes\nreason = test: the OOM decoy\n' \
		> /etc/hibernate/policy.d/50-hibdecoy.policy
	hib_check decoy-start sh -c \
		"echo 0 > /proc/self/oom_score_adj && exec /tmp/hibdecoy start --dir $decoy --mib 4" ||
		exit 0
	dpid=$(cat $decoy/pid)
	hib_check robust-before hibrobust check --dir $rob || exit 0
	score=$(cat /proc/$pid/oom_score)
	[ "$score" -gt "$(cat /proc/$dpid/oom_score)" ] &&
		hib_ok robust-is-first-choice "oom_score $score, decoy $(cat /proc/$dpid/oom_score)" ||
		hib_notok robust-is-first-choice "oom_score $score, decoy $(cat /proc/$dpid/oom_score)"

	# A hibernation that fails after the kill: the running system keeps hibrobust.
	out=$(HIBERNATE_FAULT=sysrq=f,fail=write hibernatectl hibernate --output "$HIB_DISK_image" 2>&1)
	rc=$?
	echo "$out" | grep -E "test hook|write" | sed 's/^/  [abort] /'
	echo "abort-phase-killed: $(echo "$out" | grep -o 'Killed process [0-9]* ([a-z]*)')"
	[ $rc != 0 ] && hib_ok abort-fails "exit $rc" || hib_notok abort-fails "exit 0"
	robust_check robust-alive-after-abort
	# The decoy died for real; start another for the hibernation that completes.
	kill -0 "$dpid" 2>/dev/null && hib_notok decoy-killed-by-abort-phase "pid $dpid alive" ||
		hib_ok decoy-killed-by-abort-phase "pid $dpid gone"
	hib_check decoy-restart sh -c \
		"echo 0 > /proc/self/oom_score_adj && exec /tmp/hibdecoy start --dir $decoy --mib 4" ||
		exit 0

	hib_expect_poweroff
	HIBERNATE_FAULT=sysrq=f hibernatectl hibernate --output "$HIB_DISK_image"
	rc=$?
	[ $rc = 0 ] && hib_ok oom-resumed || { hib_notok oom-resumed "exit $rc"; exit 0; }
	# The image's copy of hibrobust's pages: the mutex and the holder's tid word unchanged.
	robust_check robust-intact-after-resume
	# The FD is closed: hibrobust is eligible again (the exclusion lasts while it is open).
	score=$(cat /proc/$pid/oom_score 2>/dev/null)
	[ "${score:-0}" -gt 0 ] && hib_ok robust-eligible-after-resume "oom_score $score" ||
		hib_notok robust-eligible-after-resume "oom_score ${score:-none}"
	# The decoy was killed after the snapshot instant: the image has it alive.
	hib_check decoy-alive-after-resume /tmp/hibdecoy check --dir $decoy
	;;
2)
	hib_resume resume-returned --input "$HIB_DISK_image"
	;;
esac
exit 0
