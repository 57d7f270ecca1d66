#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=300 boots=1 mem=512 smp=2
#
# The frozen window survives its own process (issue 12): SIGTERM and SIGINT sent to
# hibernatectl while every task is frozen (--test=freeze and --test=snapshot hold that state
# 2 s) are acted on only after everything is thawed: the dry run rolls back, says so, then
# hibernatectl dies of the signal (exit 143 / 130); nothing stays frozen.  The sender is this
# shell, kept running through the freeze by a policy matching comm "sh".
. /lib/hibtest.sh

mkdir -p /tmp/keepsh
printf '[match]\ncomm = sh\n[thaw]\nthaw = yes\nreason = sends the signal in the test\n' \
	> /tmp/keepsh/10-sh.policy
sleep 1000 &
sleeper=$!

# TNAME SIGNAL STAGE RC: start `hibernate --test=STAGE`, send SIGNAL once it holds the frozen
# state, expect exit RC after the rollback.
signal_in_window() {
	tname=$1
	sig=$2
	stage=$3
	want=$4
	rm -f /tmp/pid /tmp/rc /tmp/out
	{
		sh -c 'echo $$ > /tmp/pid; exec hibernatectl hibernate --test='"$stage"' \
			--policy-dir /tmp/keepsh'
		echo $? > /tmp/rc
	} 2>&1 | while read -r line; do
		echo "$line" >> /tmp/out
		case "$line" in
		*"test=$stage: "*holding*)
			read -r pid < /tmp/pid
			kill -$sig $pid
			echo "sent SIG$sig to $pid" >> /tmp/out
			;;
		esac
	done
	sed "s/^/  [$tname] /" /tmp/out
	read -r rc < /tmp/rc
	if ! grep -q "sent SIG$sig" /tmp/out; then
		hib_notok $tname "the stage was never reached"
	elif [ "$rc" != "$want" ]; then
		hib_notok $tname "exit $rc, expected $want (killed by SIG$sig after the thaw)"
	elif ! grep -q "arrived during the hibernation: acted on now that everything is thawed" \
		/tmp/out || ! grep -q "^everything was thawed again" /tmp/out; then
		hib_notok $tname "no rollback before the signal"
	else
		hib_ok $tname "exit $rc after the rollback"
	fi
	hib_nothing_frozen $tname-nothing-frozen
	if [ "$(hib_task_field $sleeper State | cut -c1)" = S ]; then
		hib_ok $tname-workload-runs
	else
		hib_notok $tname-workload-runs "sleeper state $(hib_task_field $sleeper State)"
	fi
}

signal_in_window sigterm-freeze TERM freeze 143
signal_in_window sigint-snapshot INT snapshot 130
kill $sleeper
