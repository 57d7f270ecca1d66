#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=400 boots=3 mem=1024 smp=2 net=user
# vmtest: append2=ip=10.0.2.15::10.0.2.2:255.255.255.0:hibguest:eth0:none append3=ip=dhcp
#
# The full cycle through an HTTP server, encrypted: run by with-nginx.py, which
# starts a WebDAV nginx on the host's loopback and passes its URL as
# hibtest.url= (10.0.2.2 from the guest, QEMU user networking).  Boot 1
# hibernates a workload with 64 MiB of seeded memory to the server with a key
# file; boot 2's initramfs first tries a wrong key (refused, the image stays),
# then resumes with the right one: the image is streamed back with ranged
# GETs, authenticated chunk by chunk and deleted from the server before the
# restore; the workload's pid and memory digest are the same.  Boot 3 finds no
# image on the server and boots on.  with-nginx.py --expect-empty checks that
# nothing is left on the server.
#
# The network of the resume boots is hibernatectl's own: boot 2 has a static
# ip= on the kernel command line (after a malformed one, through the
# HIBERNATE_CMDLINE test hook, is refused with its reason), boot 3 has ip=dhcp
# (busybox udhcpc against QEMU's built-in DHCP server).  Boot 1, the running
# system, configures its address itself.
. /lib/hibtest.sh

state=/run/hibstate
key=/run/image.key
wrong=/run/wrong.key

base=$(sed -n 's/.*hibtest\.url=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -z "$base" ]; then
	hib_notok net-url "no hibtest.url= on the kernel command line: run through with-nginx.py"
	exit 0
fi
url=${base}images/guest.img

# The same key in every boot (the initramfs is the same; RAM is not kept).
printf '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n' > $key && chmod 600 $key
printf 'ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n' > $wrong && chmod 600 $wrong

case $HIB_BOOT in
1)
	hib_net_up net-up || exit 0
	hib_workload_start $state 64 1234 || exit 0
	cat $state/before.report

	hib_expect_poweroff
	hibernatectl hibernate --output "$url" --key-file $key
	rc=$?
	if [ $rc = 0 ]; then
		hib_ok net-cycle-resumed "snapshot_kernel(2) reported the resume side"
	else
		hib_notok net-cycle-resumed "hibernatectl hibernate exited $rc without resuming"
		exit 0
	fi
	hibstate check --dir $state > $state/after.report
	cat $state/after.report
	hib_same_workload net-cycle $state/before.report $state/after.report
	;;
2)
	# A malformed ip=: refused with its reason, nothing configured, the boot goes on.
	echo "console=ttyS0 ip=10.0.2.15::10.0.2.2:255.0.255.0::eth0:none" > /run/bad.cmdline
	out=$(HIBERNATE_CMDLINE=/run/bad.cmdline hibernatectl resume --input "$url" \
		--key-file $key 2>&1)
	rc=$?
	echo "$out"
	if [ $rc = 1 ] && echo "$out" | grep -q "bad netmask '255.0.255.0'.*not resuming" &&
	   ! ifconfig eth0 | grep -q "inet addr"; then
		hib_ok net-bad-ip-refused "$(echo "$out" | tail -n 1)"
	else
		hib_notok net-bad-ip-refused "exit $rc: $out"
	fi
	# ip= on the kernel command line: hibernatectl configures eth0 itself.
	out=$(hibernatectl resume --input "$url" --key-file $wrong 2>&1)
	rc=$?
	echo "$out"
	if echo "$out" | grep -q "network: eth0 is 10.0.2.15/24, default route via 10.0.2.2$" &&
	   [ "$(hostname)" = hibguest ]; then
		hib_ok net-static-ip "$(echo "$out" | grep "network: eth0 is")"
	else
		hib_notok net-static-ip "$out"
	fi
	if [ $rc = 7 ] && echo "$out" | grep -q "wrong key"; then
		hib_ok net-wrong-key-refused "$(echo "$out" | tail -n 1)"
	else
		hib_notok net-wrong-key-refused "exit $rc: $out"
	fi
	hib_resume net-resume-returned --input "$url" --key-file $key
	;;
3)
	# ip=dhcp on the kernel command line: udhcpc, QEMU's DHCP server.
	out=$(hibernatectl resume --input "$url" --key-file $key 2>&1)
	rc=$?
	echo "$out"
	if echo "$out" | grep -q "network: eth0 is 10.0.2.15/24, default route via 10.0.2.2 (DHCP lease)"; then
		hib_ok net-dhcp "$(echo "$out" | grep "network: eth0 is")"
	else
		hib_notok net-dhcp "$out"
	fi
	# The lease's DNS server (QEMU's 10.0.2.3) went to the missing /etc/resolv.conf.
	if grep -q "^nameserver 10.0.2.3$" /etc/resolv.conf 2>/dev/null &&
	   echo "$out" | grep -q "network: wrote nameserver 10.0.2.3 to /etc/resolv.conf"; then
		hib_ok net-dhcp-dns "$(cat /etc/resolv.conf)"
	else
		hib_notok net-dhcp-dns "$(cat /etc/resolv.conf 2>&1)"
	fi
	if [ $rc = 6 ] && echo "$out" | grep -q "no hibernation image"; then
		hib_ok net-resume-one-shot "the image is gone from the server"
	else
		hib_notok net-resume-one-shot "exit $rc: $out"
	fi
	;;
esac
exit 0
