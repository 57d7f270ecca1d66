#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=300 boots=1 mem=1024 smp=2 net=user
#
# The server dies in the middle of the upload: run by with-nginx.py
# --kill-at-bytes, which SIGKILLs nginx once the request body it receives
# passes a few MiB.  The hibernation must abort cleanly: hibernatectl fails
# with a message naming the target, every task is thawed, the workload goes on
# with its memory intact, and (with-nginx.py --expect-empty) nothing is left on
# the server, neither under the final name nor as URL.part.
. /lib/hibtest.sh

state=/run/hibstate
key=/run/image.key

base=$(sed -n 's/.*hibtest\.url=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -z "$base" ]; then
	hib_notok net-url "no hibtest.url= on the kernel command line: run through with-nginx.py"
	exit 0
fi
url=${base}images/guest.img
printf '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n' > $key && chmod 600 $key

hib_net_up net-up || exit 0
hib_workload_start $state 64 99 || exit 0

out=$(hibernatectl hibernate --output "$url" --key-file $key 2>&1)
rc=$?
echo "$out" | tail -n 5
if [ $rc != 0 ] && echo "$out" | grep -q "writing the image to $url failed" &&
   echo "$out" | grep -q "everything was thawed again"; then
	hib_ok net-abort-message "$(echo "$out" | grep "writing the image" | tail -n 1)"
else
	hib_notok net-abort-message "exit $rc: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
fi
hib_nothing_frozen net-abort-thawed
hibstate check --dir $state > $state/after.report
hib_same_digest net-abort-workload-intact $state/before.report $state/after.report
exit 0
