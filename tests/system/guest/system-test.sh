#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The system test's guest side (hibtest.service, a Debian 12 system booted by systemd from its
# LVM root): checks reported as HIBTEST lines on the serial console (tests/vm/lib/hibtest.sh),
# then "HIBTEST done" and the power-off.  The host (tests/system/system-test.py) picks the mode
# on the kernel command line, hibtest.mode=:
#
#   boot    the system came up: multi-user.target, `systemctl is-system-running`, root on
#           the LV, PID 1 systemd, the tools installed
#   cycle   the above, then a sleep block inhibitor makes `systemctl hibernate` refuse
#           (nothing frozen); the workload service, the PrepareForSleep listener and a delay
#           inhibitor run; `systemctl hibernate` powers the machine off.  This script is part
#           of the image: the next boot's initramfs resumes it, and it goes on where it
#           stopped with the checks of the resumed system.  A boot that starts this script
#           afresh after the hibernation (the marker on the root filesystem) did not resume.
#   mergecut
#           the boot checks, then `hibernatectl hibernate --no-poweroff` (the abort merges the
#           window writes back) with a policy-thawed writer (cutwatch) that writes into / while
#           it is protected and has the host cut the power in the middle of the merge (the
#           disk's writes are throttled); the next boot's initramfs completes the merge
#           without a hand, and this script, started afresh, finds the writes and the files of
#           before intact and nothing left to recover.
#   url     the cycle with the image on a WebDAV server (hibtest.url=, the host's
#           with-nginx.py): the network of the running system by systemd-networkd; [hibernate]
#           target = the server, ip = dhcp under [network], update-initramfs -u (the host boots
#           the initramfs on /boot next, as a boot loader would); the next boot's initramfs
#           brings the network up itself and resumes from the server, which is left empty
. /usr/local/lib/hibtest/hibtest.sh
set -u

mode=boot
initrd=initramfs-tools
url=
for a in $(cat /proc/cmdline); do
	case $a in
	hibtest.mode=*) mode=${a#hibtest.mode=} ;;
	hibtest.initrd=*) initrd=${a#hibtest.initrd=} ;;
	hibtest.url=*) url=${a#hibtest.url=}system-test.img ;;
	esac
done
marker=/var/lib/hibtest/hibernating
run=/run/hibtest
mkdir -p "$run" /var/lib/hibtest

finish() {
	echo "HIBTEST done pass=$(wc -l </tmp/.hibtest.pass) fail=$(wc -l </tmp/.hibtest.fail)"
	sync
	systemctl poweroff --no-block
	exit 0
}

# The boot has finished (no job left): "running", or "degraded" with the failed units named.
system_running() {	# NAME
	local state
	state=$(timeout 600 systemctl is-system-running --wait 2>&1)
	if [ "$state" = running ]; then
		hib_ok "$1" "$state"
	else
		hib_notok "$1" "is-system-running: $state; failed: $(systemctl list-units --failed \
			--plain --no-legend 2>&1 | awk '{ print $1 }' | tr '\n' ' ')"
	fi
}

nothing_frozen() {	# NAME
	local f
	f=$(grep -l '^UserFrozen:.1' /proc/[0-9]*/status 2>/dev/null | head -n 5 | tr '\n' ' ')
	if [ -z "$f" ]; then
		hib_ok "$1"
	else
		hib_notok "$1" "frozen: $f"
	fi
}

# ---- the resumed system (cycle mode): this process was frozen in boot 1 and goes on here -----
resumed_checks() {
	local before after pid
	# logind sends PrepareForSleep(false) once systemd-hibernate.service has returned.
	for _ in $(seq 1800); do
		grep -q '^false ' $run/prepare-for-sleep 2>/dev/null && break
		sleep 0.5
	done
	echo "HIBTEST resumed"
	rm -f "$marker"
	hib_log "resumed after hibernation: uptime $(cut -d' ' -f1 /proc/uptime) s"
	signals=$(awk '{ print $1 }' $run/prepare-for-sleep 2>/dev/null | tr '\n' ' ')
	if [ "$signals" = "true false " ]; then
		hib_ok sys-prepare-for-sleep "the listener saw PrepareForSleep(true) before the snapshot, (false) after the resume"
	else
		hib_notok sys-prepare-for-sleep "listener saw: '$signals' (want 'true false ')"
	fi
	# The delay inhibitor held the hibernation until it let go.
	local released started
	released=$(awk '/^released/ { print $2 }' $run/holder 2>/dev/null)
	# When systemd started the service, by the journal's monotonic clock (the unit's own
	# timestamps read 0 once it has run, in the resumed system).
	started=$(journalctl -b -u systemd-hibernate.service -o short-monotonic --no-pager 2>/dev/null |
		sed -n 's/^\[ *\([0-9.]*\)\].*Starting systemd-hibernate.service.*/\1/p' | head -n 1)
	if [ -n "$released" ] && [ -n "$started" ] &&
	   awk -v r="$released" -v s="$started" 'BEGIN { exit !(s >= r) }'; then
		hib_ok sys-delay-inhibitor "systemd-hibernate.service started at $started s, after the delay lock's release at $released s"
	else
		hib_notok sys-delay-inhibitor "the delay lock released at '$released' s, systemd-hibernate.service started at '$started' s"
	fi
	result=$(systemctl show -P Result systemd-hibernate.service)
	[ "$result" = success ] && hib_ok sys-hibernate-service "Result=$result" ||
		hib_notok sys-hibernate-service "Result=$result"
	before=$(cat $run/before.report)
	after=$(hibstate check --dir /run/hibstate 2>&1)
	echo "  [hibstate] before: $before"
	echo "  [hibstate] after:  $after"
	pid=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' <<<"$before")
	if [ -n "$pid" ] && [ "$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' <<<"$after")" = "$pid" ] &&
	   [ "$(sed -n 's/.* digest=\([0-9a-f]*\) .*/\1/p' <<<"$after")" = \
	     "$(sed -n 's/.* digest=\([0-9a-f]*\) .*/\1/p' <<<"$before")" ] &&
	   grep -q 'echo=ok' <<<"$after"; then
		hib_ok sys-workload-intact "pid $pid, the same digest, its child answers"
	else
		hib_notok sys-workload-intact "before '$before', after '$after'"
	fi
	[ "$(systemctl show -P MainPID hibtest-workload.service)" = "$pid" ] &&
		hib_ok sys-workload-service "hibtest-workload.service still runs pid $pid" ||
		hib_notok sys-workload-service "MainPID $(systemctl show -P MainPID hibtest-workload.service)"
	nothing_frozen sys-nothing-frozen
	system_running sys-running-after-resume
	# The dm snapshot over the root is gone: the root LV has its own table again.
	names=$(dmsetup ls | awk '{ print $1 }' | sort | tr '\n' ' ')
	table=$(dmsetup table hibvg-root)
	if [ "$names" = "hibvg-cow hibvg-image hibvg-root hibvg-state " ] &&
	   [ "$(awk '{ print $3 }' <<<"$table")" = linear ]; then
		hib_ok sys-dm-clean "$names; hibvg-root: $table"
	else
		hib_notok sys-dm-clean "dmsetup ls: $names; hibvg-root: $table"
	fi
	if [ "$mode" = url ]; then
		# one-shot: the resume deleted it from the server (with-nginx.py checks it is empty)
		hib_expect_rc sys-image-used 6 hibernatectl image info "$url"
		hib_check sys-url-network-back hibernatectl check
	else
		hib_expect_rc sys-image-used 6 hibernatectl image info /dev/mapper/hibvg-image
	fi
	journalctl -b -u systemd-hibernate.service --no-pager -o cat 2>&1 | tail -n 40 |
		sed 's/^/  [systemd-hibernate.service] /'
}

# ---- mergecut, boot 2: the initramfs has completed the merge ----------------------------------
mergecut_checks() {
	local want got names rc out
	echo "HIBTEST start system-mergecut (after the power cut) kernel=$(uname -r)"
	rm -f "$marker"
	system_running sys-cut-running
	want=$(head -c $((WIN_MIB * 1048576)) /dev/zero | tr '\0' w | md5sum | cut -d' ' -f1)
	got=$(md5sum </var/lib/hibtest/win.big 2>&1 | cut -d' ' -f1)
	[ "$got" = "$want" ] && hib_ok sys-cut-window-kept "$WIN_MIB MiB written in the window, merged" ||
		hib_notok sys-cut-window-kept "win.big: $(ls -l /var/lib/hibtest/win.big 2>&1), md5 $got"
	(cd /var/lib/hibtest && md5sum -c before.md5 >/dev/null 2>&1) && hib_ok sys-cut-before-intact ||
		hib_notok sys-cut-before-intact "$(cd /var/lib/hibtest && md5sum -c before.md5 2>&1 | tr '\n' ' ')"
	names=$(dmsetup ls | awk '{ print $1 }' | sort | tr '\n' ' ')
	[ "$names" = "hibvg-cow hibvg-image hibvg-root hibvg-state " ] &&
	   [ "$(dmsetup table hibvg-root | awk '{ print $3 }')" = linear ] &&
		hib_ok sys-cut-no-leftovers "$names" ||
		hib_notok sys-cut-no-leftovers "dmsetup ls: $names; hibvg-root: $(dmsetup table hibvg-root)"
	out=$(hibernatectl recover 2>&1)
	rc=$?
	echo "$out" | sed 's/^/  [recover] /'
	[ $rc = 0 ] && grep -q "nothing to recover" <<<"$out" && hib_ok sys-cut-nothing-to-recover ||
		hib_notok sys-cut-nothing-to-recover "exit $rc"
	hib_expect_rc sys-cut-image-gone 6 hibernatectl image info /dev/mapper/hibvg-image
}

mergecut_boot1() {
	local rc
	dd if=/dev/urandom of=/var/lib/hibtest/before.bin bs=64k count=64 2>/dev/null
	echo "written before the hibernation" >/var/lib/hibtest/before.txt
	(cd /var/lib/hibtest && md5sum before.bin before.txt) >/var/lib/hibtest/before.md5
	printf '[match]\ncomm = cutwatch\n[thaw]\nthaw = yes\nreason = test: writes in the window, watches the merge\n' \
		>/etc/hibernate/policy.d/90-hibtest-cutwatch.policy
	mkfifo $run/cutwatch.fifo
	date -u +%FT%TZ >"$marker"
	sync
	/usr/local/lib/hibtest/cutwatch "$WIN_MIB" &
	# The workload makes the image large enough (incompressible) that the window writes are
	# done before it is: the merge then has all of them to merge back.
	mkdir -p $run/big
	hibstate start --dir $run/big --mib 256 --seed 99 || hib_notok sys-cut-workload "hibstate start"
	# Straight to the console: a pipe to a reader frozen with the rest would fill up.
	hibernatectl hibernate --no-poweroff
	rc=$?
	hib_notok sys-cut-power "hibernate --no-poweroff ended (exit $rc) before the power cut"
	rm -f "$marker"
}

# ---- every boot that runs this afresh --------------------------------------------------------
WIN_MIB=96
if [ "$mode" = mergecut ] && [ -e "$marker" ]; then
	rm -f /tmp/.hibtest.pass /tmp/.hibtest.fail
	touch /tmp/.hibtest.pass /tmp/.hibtest.fail
	mergecut_checks
	finish
fi
if [ -e "$marker" ]; then
	rm -f /tmp/.hibtest.pass /tmp/.hibtest.fail
	touch /tmp/.hibtest.pass /tmp/.hibtest.fail
	hib_notok sys-resumed "this boot started afresh after the hibernation of $(cat "$marker"): the initramfs did not resume"
	rm -f "$marker"
	finish
fi
rm -f /tmp/.hibtest.pass /tmp/.hibtest.fail
touch /tmp/.hibtest.pass /tmp/.hibtest.fail
echo "HIBTEST start system-$mode kernel=$(uname -r)"
system_running sys-running
hib_check sys-multi-user systemctl is-active multi-user.target
[ "$(readlink /proc/1/exe)" = /usr/lib/systemd/systemd ] && hib_ok sys-pid1-systemd ||
	hib_notok sys-pid1-systemd "PID 1 is $(readlink /proc/1/exe)"
src=$(findmnt -no SOURCE /)
[ "$src" = /dev/mapper/hibvg-root ] && hib_ok sys-root-on-lvm "$src" ||
	hib_notok sys-root-on-lvm "/ is on $src"
[ -z "$(swapon --show --noheadings)" ] && hib_ok sys-no-swap || hib_notok sys-no-swap "$(swapon --show)"
hib_check sys-tools hibernatectl --version
if [ "$initrd" = dracut ]; then
	# The dracut hook's lines (info level: in the journal, not on a quiet console).
	line=$(journalctl -b -o cat 2>/dev/null | grep -m 1 -E 'hibernate: (no hibernation image|resuming from|recover)')
	[ -n "$line" ] && hib_ok sys-initramfs-hook "dracut: $line" ||
		hib_notok sys-initramfs-hook "no line of the dracut module's hook in this boot's journal"
fi
if [ "$mode" = boot ]; then
	# The stand-in kernel (Debian's own) cannot hibernate this way; say what check says.
	hibernatectl check 2>&1 | sed 's/^/  [check] /'
	finish
fi

# ---- url, boot 1: the image goes to the server -----------------------------------------------
url_setup() {
	local conf=/etc/hibernate/hibernate.conf
	[ -n "$url" ] || { hib_notok sys-url "no hibtest.url= on the kernel command line"; return 1; }
	# The running system's network, as an administrator sets it up: systemd-networkd, DHCP
	# from QEMU's user network.
	mkdir -p /etc/systemd/network
	printf '[Match]\nType=ether\n[Network]\nDHCP=ipv4\n' >/etc/systemd/network/50-hibtest.network
	systemctl start systemd-networkd.service
	# (a default route in /proc/net/route: the root has no iproute2)
	for _ in $(seq 300); do
		awk '$2 == "00000000" { f = 1 } END { exit !f }' /proc/net/route && break
		sleep 0.2
	done
	awk '$2 == "00000000" { f = 1 } END { exit !f }' /proc/net/route &&
		hib_ok sys-url-network "$(networkctl status --no-pager 2>&1 | sed -n 's/^ *Address: *//p' | head -n 1)" ||
		{ hib_notok sys-url-network "no default route after 60 s: $(networkctl 2>&1 | tr '\n' ' ')"; return 1; }
	# The image to the server (encrypted with the image key the configuration names); the
	# initramfs brings the network up by DHCP itself.
	sed -i "s|^target = .*|target = $url|" $conf
	printf '[network]\nip = dhcp\n' >>$conf
	grep -q "^target = $url\$" $conf && hib_ok sys-url-conf "target = $url" ||
		{ hib_notok sys-url-conf "$(grep '^target' $conf)"; return 1; }
	hib_check sys-url-update-initramfs update-initramfs -u || return 1
	# What the initramfs needs for it: the configuration, the key, ipconfig.
	local list
	list=$(lsinitramfs "/boot/initrd.img-$(uname -r)")
	for f in etc/hibernate/hibernate.conf etc/hibernate/image.key '.*bin/ipconfig'; do
		grep -qx "$f" <<<"$list" || { hib_notok sys-url-initramfs "the initramfs lacks $f"; return 1; }
	done
	hib_ok sys-url-initramfs "configuration, key and ipconfig in the rebuilt initramfs"
	sync
}

# ---- cycle, boot 1 ---------------------------------------------------------------------------
if [ "$mode" = url ]; then
	url_setup || finish
fi
hib_check sys-check hibernatectl check || finish
if [ "$mode" = mergecut ]; then
	mergecut_boot1
	finish
fi
systemctl start hibtest-listener.service
hib_check sys-workload-start systemctl start hibtest-workload.service || finish
hibstate check --dir /run/hibstate >$run/before.report 2>&1
hib_log "workload: $(cat $run/before.report)"
for _ in $(seq 100); do
	busctl --system status >/dev/null 2>&1 && [ -n "$(systemctl show -P MainPID hibtest-listener.service | grep -v '^0$')" ] && break
	sleep 0.1
done
sleep 1	# busctl monitor has become a monitor

# A block inhibitor: `systemctl hibernate` refuses and nothing happens.  Root's systemctl
# ignores inhibitors unless told to check them (systemctl(1), --check-inhibitors=).
systemd-inhibit --what=sleep --mode=block --who=hibtest --why="test: block" sleep 600 &
blocker=$!
for _ in $(seq 50); do
	systemd-inhibit --list --no-legend 2>/dev/null | grep -q 'test: block' && break
	sleep 0.1
done
out=$(systemctl hibernate --check-inhibitors=yes 2>&1)
rc=$?
echo "$out" | sed 's/^/  [systemctl hibernate] /'
if [ $rc != 0 ] && grep -q 'inhibited' <<<"$out"; then
	hib_ok sys-block-refused "exit $rc: $(head -n 1 <<<"$out")"
else
	hib_notok sys-block-refused "systemctl hibernate exit $rc with a block inhibitor"
fi
sleep 2
nothing_frozen sys-block-nothing-frozen
[ "$(systemctl show -P InactiveExitTimestampMonotonic systemd-hibernate.service)" = 0 ] &&
	[ ! -s $run/prepare-for-sleep ] &&
	hib_ok sys-block-no-sleep "systemd-hibernate.service never started, no PrepareForSleep" ||
	hib_notok sys-block-no-sleep "systemd-hibernate.service: $(systemctl show -P ActiveState systemd-hibernate.service); signals: $(cat $run/prepare-for-sleep 2>/dev/null | tr '\n' ' ')"
hib_check sys-block-workload-runs hibstate check --dir /run/hibstate
kill $blocker
wait $blocker 2>/dev/null

# The delay inhibitor, then the hibernation.
systemd-inhibit --what=sleep --mode=delay --who=hibtest --why="test: delay" \
	/usr/local/lib/hibtest/holder.sh &
for _ in $(seq 50); do
	systemd-inhibit --list --no-legend 2>/dev/null | grep -q 'test: delay' && break
	sleep 0.1
done
date -u +%FT%TZ >"$marker"
sync
hib_expect_poweroff
out=$(systemctl hibernate 2>&1)
rc=$?
[ -n "$out" ] && echo "$out" | sed 's/^/  [systemctl hibernate] /'
if [ $rc != 0 ]; then
	hib_notok sys-hibernate "systemctl hibernate exit $rc"
	rm -f "$marker"
	finish
fi
resumed_checks
finish
