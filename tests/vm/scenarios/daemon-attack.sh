#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=500 boots=1 disks=image:900M,data:64M mem=512 smp=2
#
# hibernated against a member of its group (uid 1000, group 4242) who wants more than
# "power the machine off": every attempt to name a target, a configuration, a COW store, a
# key or no power-off is refused by name (exit 4) with nothing opened, written or read; a
# request longer than 4096 bytes is refused, not cut; 200 idle connections of another user
# neither stop root's hibernation through the daemon nor make the daemon spin.  Needs
# hibernated, hibsock and /usr/bin/setpriv in the guest.
. /lib/hibtest.sh

IMG=$HIB_DISK_image
DATA=$HIB_DISK_data
SOCK=/run/hibernated.sock
M="/usr/bin/setpriv --reuid 1000 --regid 1000 --groups 4242"
U="/usr/bin/setpriv --reuid 1001 --regid 1001 --clear-groups"

if v=$(hibernated --version) && echo "$v" | grep -q '^hibernated [0-9]'; then
	hib_ok daemon-version "$v"
else
	hib_notok daemon-version "$v"
fi
hib_expect_rc daemon-help 0 hibernated --help

mkdir -p /etc/hibernate/policy.d
printf '[hibernate]\ntarget = %s\n' "$IMG" >> /etc/hibernate/hibernate.conf
hibernated --group 4242 > /tmp/hd.log 2>&1 &
hd=$!
for i in $(seq 1 50); do
	[ -S $SOCK ] && break
	sleep 0.1
done
if [ -S $SOCK ]; then
	hib_ok attack-daemon-start
else
	hib_notok attack-daemon-start "$(cat /tmp/hd.log)"
	exit 0
fi

# What the member must not reach: root-only files and directories.
SECRET=SECRET-CONTENT-4f1c
mkdir -m 0700 /root/secret-dir
printf '%s\n' "$SECRET" > /root/secret.txt
chmod 0600 /root/secret.txt
printf '%s-token\n' "$SECRET" > /root/token
chmod 0600 /root/token
touch -d '2000-01-01 00:00:00' /root/token	# a read would move its atime (relatime)
token_atime=$(stat -c %X /root/token)
secret_sum=$(md5sum < /root/secret.txt)
mkdir -m 0755 /tmp/m
chown 1000:1000 /tmp/m
# Mounted read-only in the end, so that ext4's own writes (lazy init, the journal, the
# superblock) cannot change the bytes compared below.
mkfs.ext4 -q -F "$DATA" && mkdir -p /mnt/data && mount "$DATA" /mnt/data &&
	echo keep > /mnt/data/file && umount /mnt/data && mount -o ro "$DATA" /mnt/data
data_sum=$(dd if="$DATA" bs=64k count=16 2>/dev/null | md5sum)
refusals() { grep -c "refused a request from uid 1000" /tmp/hd.log; }

# attempt NAME KEY CMD...: a member's request; exit 4, the key named, the refusal logged,
# and no secret in the reply.
attempt() {
	name=$1
	key=$2
	shift 2
	before=$(refusals)
	out=$("$@" 2>&1)
	rc=$?
	echo "$out" | sed "s/^/  [$name] /"
	if [ $rc != 4 ]; then
		hib_notok "$name" "exit $rc, want 4: $(echo "$out" | tail -n 1)"
	elif ! echo "$out" | grep -q "'$key'"; then
		hib_notok "$name" "the refusal does not name '$key': $(echo "$out" | tail -n 1)"
	elif echo "$out" | grep -q "$SECRET"; then
		hib_notok "$name" "the reply holds the secret"
	elif [ "$(refusals)" != $((before + 1)) ]; then
		hib_notok "$name" "not in the daemon's log"
	else
		hib_ok "$name" "exit 4"
	fi
}

attempt attack-output-rootdir target $M hibernatectl hibernate --output /root/secret-dir/new.img
if [ -e /root/secret-dir/new.img ]; then
	hib_notok attack-output-rootdir-nothing "/root/secret-dir/new.img exists"
else
	hib_ok attack-output-rootdir-nothing
fi

$M ln -s /root/secret.txt /tmp/m/link
attempt attack-output-symlink target $M hibernatectl hibernate --output /tmp/m/link
if [ "$(md5sum < /root/secret.txt)" = "$secret_sum" ] && [ -L /tmp/m/link ] &&
	[ "$(ls /tmp/m)" = link ] && [ "$(ls /root/secret-dir)" = "" ]; then
	hib_ok attack-output-symlink-nothing "target unchanged, no new file"
else
	hib_notok attack-output-symlink-nothing "$(ls -l /root/secret.txt /tmp/m)"
fi

attempt attack-output-mounted-ext4 target $M hibernatectl hibernate --output "$DATA"
if [ "$(dd if="$DATA" bs=64k count=16 2>/dev/null | md5sum)" = "$data_sum" ] &&
	[ "$(cat /mnt/data/file)" = keep ]; then
	hib_ok attack-output-mounted-ext4-nothing "first MiB unchanged"
else
	hib_notok attack-output-mounted-ext4-nothing "$DATA changed"
fi

attempt attack-config-rootfile config $M hibernatectl hibernate --test=freeze \
	--config /root/secret.txt

printf '[http]\ntoken-file = /root/token\n[hibernate]\ntarget = http://10.0.2.2:9/x\n' |
	$M sh -c 'cat > /tmp/m/evil.conf'
attempt attack-config-member-token config $M hibernatectl hibernate --test=freeze \
	--config /tmp/m/evil.conf
attempt attack-config-member-token-url target $M hibernatectl hibernate \
	--output http://10.0.2.2:9/x --config /tmp/m/evil.conf
if [ "$(stat -c %X /root/token)" = "$token_atime" ]; then
	hib_ok attack-token-not-read "atime unchanged"
else
	hib_notok attack-token-not-read "/root/token was read"
fi

attempt attack-output-url target $M hibernatectl hibernate --output http://10.0.2.2:9/img
attempt attack-no-poweroff no-poweroff $M hibernatectl hibernate --no-poweroff --test=freeze
attempt attack-cow cow $M hibernatectl hibernate --cow "$DATA" --test=dm
attempt attack-key-file key-file $M hibernatectl hibernate --key-file /root/token --test=freeze
attempt attack-threads threads $M hibernatectl hibernate --threads 1 --test=freeze
# the same through the socket, without hibernatectl's help
attempt attack-raw-target target sh -c "printf 'op=hibernate\ntarget=/root/x\n\n' |
	$M hibsock send $SOCK"
hib_expect_rc attack-raw-unknown 2 sh -c "printf 'op=hibernate\noutput=/root/x\n\n' |
	$M hibsock send $SOCK"
hib_expect_rc attack-other-user 4 $U hibernatectl hibernate --test=freeze
hib_nothing_frozen attack-nothing-frozen
if grep -q "hibernation requested" /tmp/hd.log; then
	hib_notok attack-nothing-run "$(grep "hibernation requested" /tmp/hd.log)"
else
	hib_ok attack-nothing-run "no request was run"
fi

# More than 4096 bytes: refused whole, never cut to a shorter request that would run.
long=$(head -c 5000 /dev/zero | tr '\0' a)
out=$(printf 'op=hibernate\ntest=freeze\ntarget=/tmp/%s\n\n' "$long" | hibsock send $SOCK 2>&1)
rc=$?
echo "$out" | sed 's/^/  [attack-too-long] /'
if [ $rc = 2 ] && echo "$out" | grep -q "request too long" &&
	! grep -q "hibernation requested" /tmp/hd.log; then
	hib_ok attack-too-long "exit 2, not run"
else
	hib_notok attack-too-long "exit $rc: $(echo "$out" | tail -n 1)"
fi
out=$(printf 'op=hibernate\ntest=freeze\n' | hibsock send $SOCK 2>&1)
if echo "$out" | grep -q "incomplete request"; then
	hib_ok attack-incomplete "$(echo "$out" | head -n 1)"
else
	hib_notok attack-incomplete "$(echo "$out" | tail -n 1)"
fi

# 200 idle connections of another user: the daemon stays idle, root still hibernates.
$U hibsock flood $SOCK 200 12 > /tmp/flood.log 2>&1 &
flood=$!
sleep 2
t0=$(awk '{ print $14 + $15 }' /proc/$hd/stat)
sleep 2
t1=$(awk '{ print $14 + $15 }' /proc/$hd/stat)
# USER_HZ is 100: 50 ticks are 0.5 s
if [ $((t1 - t0)) -lt 50 ]; then
	hib_ok attack-flood-cpu "$((t1 - t0)) ticks in 2 s"
else
	hib_notok attack-flood-cpu "$((t1 - t0)) ticks in 2 s"
fi
ms0=$(hib_ms)
out=$(hibernatectl hibernate --test=freeze 2>&1)
rc=$?
ms1=$(hib_ms)
echo "$out" | sed 's/^/  [attack-flood-root] /'
if [ $rc = 0 ] && [ $((ms1 - ms0)) -lt 15000 ] &&
	grep -q "hibernation requested by uid 0" /tmp/hd.log; then
	hib_ok attack-flood-root "exit 0 through the daemon in $((ms1 - ms0)) ms"
else
	hib_notok attack-flood-root "exit $rc after $((ms1 - ms0)) ms: $(echo "$out" | tail -n 1)"
fi
wait $flood
cat /tmp/flood.log
if grep -q "([1-9][0-9]* 'too many clients')" /tmp/flood.log; then
	hib_ok attack-flood-capped "$(tail -n 1 /tmp/flood.log)"
else
	hib_notok attack-flood-capped "$(tail -n 1 /tmp/flood.log)"
fi
sleep 1
hib_nothing_frozen attack-flood-thawed

# SIGTERM during a hibernation: the daemon exits only once hib_hibernate() has returned
# (rolled back), and the client gets its result.  The scenario's shell is frozen with
# everything else; hibsock, kept thawed by the policy, sends the signal while the daemon
# says it runs one.
printf '[match]\ncomm = hibsock\n[thaw]\nthaw = yes\n' > /etc/hibernate/policy.d/10-hibsock.policy
kill -HUP $hd
for i in $(seq 1 50); do
	grep -q "policy: 1 rules" /tmp/hd.log && break
	sleep 0.1
done
hibsock term-when-busy $SOCK $hd > /tmp/term-kill.out 2>&1 &
killer=$!
hibernatectl hibernate --test=freeze > /tmp/term.out 2>&1
rc=$?
wait $killer
sed 's/^/  [attack-sigterm-running] /' /tmp/term-kill.out /tmp/term.out
for i in $(seq 1 50); do
	kill -0 $hd 2>/dev/null || break
	sleep 0.1
done
# (the signal may be read before the run's thread logs its start: no order between those)
if [ $rc = 0 ] && ! kill -0 $hd 2>/dev/null &&
	grep -q "exiting once the running hibernation has returned" /tmp/hd.log &&
	[ "$(tail -n 2 /tmp/hd.log | tr '\n' ' ')" = \
	  "hibernated: hibernation finished: exit 0 hibernated: exiting " ]; then
	hib_ok attack-sigterm-running "the run finished first, exit 0"
else
	hib_notok attack-sigterm-running "client exit $rc: $(tail -n 3 /tmp/hd.log | tr '\n' ' ')"
fi
hib_nothing_frozen attack-sigterm-running-thawed

# SIGTERM when idle: exits, the socket is gone.
hibernated --group 4242 >> /tmp/hd.log 2>&1 &
hd=$!
for i in $(seq 1 50); do
	[ -S $SOCK ] && break
	sleep 0.1
done
kill $hd
for i in $(seq 1 30); do
	kill -0 $hd 2>/dev/null || break
	sleep 0.1
done
if kill -0 $hd 2>/dev/null || [ -e $SOCK ]; then
	hib_notok attack-sigterm-idle "still running or socket left"
else
	hib_ok attack-sigterm-idle
fi
sed 's/^/  [hibernated] /' /tmp/hd.log
umount /mnt/data
