#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=400 boots=1 mem=1024 smp=2 net=user
#
# The connection is cut in the middle of the resume download.  Run by
# with-nginx.py --limit-rate, so that the download takes long enough: after
# an encrypted hibernate --no-poweroff to the server, resume starts streaming
# the image back and the guest takes its network interface down a few seconds
# in.  resume must give up within its timeouts and bounded retries with a
# message naming the image and the error, restore nothing (still this boot,
# nothing frozen, the workload intact), and leave the image on the server.
. /lib/hibtest.sh

state=/run/hibstate
key=/run/image.key
MARK=/tmp/still-this-boot

base=$(sed -n 's/.*hibtest\.url=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -z "$base" ]; then
	hib_notok net-url "no hibtest.url= on the kernel command line: run through with-nginx.py"
	exit 0
fi
url=${base}images/cut.img
printf '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n' > $key && chmod 600 $key

hib_net_up net-up || exit 0
touch $MARK
hib_workload_start $state 16 5 || exit 0
hib_check net-hibernate hibernatectl hibernate --no-poweroff --output "$url" \
	--key-file $key || exit 0

t0=$(hib_ms)
HIBERNATE_HTTP_TIMEOUT_MS=8000 HIBERNATE_HTTP_RETRIES=1 \
	hibernatectl resume --input "$url" --key-file $key > /tmp/resume.out 2>&1 &
pid=$!
sleep 5
ifconfig eth0 down
hib_log "network down $(( $(hib_ms) - t0 )) ms into the resume"
wait $pid
rc=$?
dt=$(( $(hib_ms) - t0 ))
tail -n 3 /tmp/resume.out
if [ $rc != 0 ] && grep -q "$url" /tmp/resume.out && grep -q "booting normally" /tmp/resume.out; then
	hib_ok net-cut-refused "exit $rc after $dt ms: $(grep "$url" /tmp/resume.out | tail -n 1)"
else
	hib_notok net-cut-refused "exit $rc after $dt ms: $(tail -n 2 /tmp/resume.out | tr '\n' ' ')"
fi
[ -e $MARK ] && hib_ok net-cut-still-this-boot || hib_notok net-cut-still-this-boot "restored"
hib_nothing_frozen net-cut-nothing-frozen
hibstate check --dir $state > $state/after.report
hib_same_digest net-cut-workload-intact $state/before.report $state/after.report

hib_net_up net-up-again
code=$(curl -s -o /dev/null -w '%{http_code}' -I "$url")
[ "$code" = 200 ] && hib_ok net-cut-image-kept "the failed resume did not delete it" ||
	hib_notok net-cut-image-kept "HEAD $url: $code"
curl -s -o /dev/null -X DELETE "$url"
exit 0
