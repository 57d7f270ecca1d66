#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=400 boots=1 disks=image:900M mem=512 smp=2
#
# hibernated: a request from an unprivileged user is refused, one from a member of the
# trusted group is served, root's `hibernatectl hibernate --no-poweroff` goes through the
# daemon (progress streamed, image written, everything thawed); SIGHUP with a bad policy
# file keeps the last good policy.  Needs hibernated and /usr/bin/setpriv in the guest.
# The group member names no target: the daemon's [hibernate] target, added to the
# hibernate.conf vmtest.py writes (allow-unauthenticated = yes), is used.
. /lib/hibtest.sh

IMG=$HIB_DISK_image
SOCK=/run/hibernated.sock
mkdir -p /etc/hibernate/policy.d
printf '[hibernate]\ntarget = %s\n' "$IMG" >> /etc/hibernate/hibernate.conf
printf '[match]\ncomm = nothinglikethis\n[thaw]\nthaw = yes\n' \
	> /etc/hibernate/policy.d/10-test.policy
hibernated --group 4242 > /tmp/hd.log 2>&1 &
hd=$!
for i in $(seq 1 50); do
	[ -S $SOCK ] && break
	sleep 0.1
done
if [ -S $SOCK ]; then
	hib_ok daemon-start "$(grep Cap /proc/$hd/status | tr -s '\t\n' '  ')"
else
	hib_notok daemon-start "$(cat /tmp/hd.log)"
	exit 0
fi
if grep -q '^CapBnd:.0000000000000000' /proc/$hd/status ||
	! grep -q '^CapEff:' /proc/$hd/status; then
	hib_notok daemon-caps "no capabilities left"
elif [ "$(awk '/^CapEff/ { print $2 }' /proc/$hd/status)" = "000001ffffffffff" ]; then
	hib_notok daemon-caps "every capability kept"
else
	hib_ok daemon-caps
fi

if /usr/bin/setpriv --reuid 1000 --regid 1000 --clear-groups hibernatectl status |
	grep -q "^hibernated: idle, policy 1 rules"; then
	hib_ok daemon-status "hibernatectl status shows the daemon"
else
	hib_notok daemon-status "$(hibernatectl status | tail -n 1)"
fi

hib_expect_rc daemon-unprivileged 4 /usr/bin/setpriv --reuid 1000 --regid 1000 --clear-groups \
	hibernatectl hibernate --no-poweroff --output "$IMG"
if grep -q "refused a request from uid 1000" /tmp/hd.log; then
	hib_ok daemon-unprivileged-logged
else
	hib_notok daemon-unprivileged-logged "$(tail -n 1 /tmp/hd.log)"
fi
hib_nothing_frozen daemon-unprivileged-nothing-frozen

hib_expect_rc daemon-group 0 /usr/bin/setpriv --reuid 1000 --regid 1000 --groups 4242 \
	hibernatectl hibernate --test=freeze
sleep 1

out=$(hibernatectl hibernate --no-poweroff --output "$IMG" 2>&1)
rc=$?
echo "$out" | sed 's/^/  [daemon-root] /'
if [ $rc = 0 ] && echo "$out" | grep -q "policy: 1 rule from hibernated's policy" &&
	echo "$out" | grep -q "everything was thawed again"; then
	hib_ok daemon-root "exit 0 through the daemon"
else
	hib_notok daemon-root "exit $rc: $(echo "$out" | tail -n 1)"
fi
if grep -q "hibernation requested by uid 0" /tmp/hd.log; then
	hib_ok daemon-root-logged
else
	hib_notok daemon-root-logged "$(tail -n 1 /tmp/hd.log)"
fi
sleep 1
hib_nothing_frozen daemon-root-thawed

printf '[match]\ncomm = x\n[thaw]\nthaw = perhaps\n' > /etc/hibernate/policy.d/20-bad.policy
kill -HUP $hd
sleep 1
if grep -q "20-bad.policy:4:8: thaw must be yes or no" /tmp/hd.log &&
	grep -q "keeping the last good policy (1 rules)" /tmp/hd.log; then
	hib_ok daemon-sighup-bad-kept
else
	hib_notok daemon-sighup-bad-kept "$(tail -n 2 /tmp/hd.log | tr '\n' ' ')"
fi
out=$(hibernatectl hibernate --test=freeze 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q "policy: 1 rule from hibernated's policy"; then
	hib_ok daemon-old-policy-applies
else
	hib_notok daemon-old-policy-applies "exit $rc: $(echo "$out" | tail -n 1)"
fi
sed 's/^/  [hibernated] /' /tmp/hd.log
kill $hd
