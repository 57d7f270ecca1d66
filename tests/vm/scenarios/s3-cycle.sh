#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=400 boots=2 mem=1024 smp=2 net=user
# vmtest: append2=ip=10.0.2.15::10.0.2.2:255.255.255.0:hibguest:eth0:none
#
# The full cycle through an S3 store, encrypted: run by tests/vm/with-rgw.py,
# which starts a Ceph RADOS Gateway on the host's loopback and passes its
# bucket URL (s3+http://10.0.2.2:PORT/hib/) and test credentials as
# hibtest.url= and hibtest.s3cred=KEY:SECRET.  Boot 1: a wrong secret key is
# refused (RGW checks the SigV4 signature) before anything is frozen; then a
# workload with 64 MiB of seeded memory hibernates to the store in 5 MiB
# parts of a multipart upload.  Boot 2's initramfs (static ip=) resumes from
# it: ranged GETs, chunks authenticated, the object deleted before the
# restore; the workload's pid and memory digest are the same.  with-rgw.py
# --expect-empty then checks that the bucket holds no object and no
# unfinished upload.
. /lib/hibtest.sh

state=/run/hibstate
key=/run/image.key
cred=/run/s3-credentials
wrongcred=/run/s3-wrong

hib_s3_target $cred || exit 0
printf '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n' > $key && chmod 600 $key
printf '%s\nnot-the-secret\n' "$s3_key_id" > $wrongcred && chmod 600 $wrongcred
export HIBERNATE_S3_PART_MIB=5

case $HIB_BOOT in
1)
	hib_net_up net-up || exit 0
	mkdir -p $state
	hib_check workload-start hibstate start --dir $state --mib 64 --seed 4321 || exit 0
	hibstate check --dir $state > $state/before.report
	cat $state/before.report

	# A wrong secret: refused when the target is opened, before the freeze.
	out=$(HIBERNATE_S3_CREDENTIALS_FILE=$wrongcred hibernatectl hibernate --output "$url" \
		--key-file $key 2>&1)
	rc=$?
	echo "$out" | tail -n 4
	if [ $rc != 0 ] && echo "$out" | grep -q "refused the request (HTTP 403): are the S3 credentials right" &&
	   ! echo "$out" | grep -q "^froze"; then
		hib_ok s3-wrong-secret-refused "exit $rc: $(echo "$out" | grep "HTTP 403")"
	else
		hib_notok s3-wrong-secret-refused "exit $rc: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
	fi
	hib_nothing_frozen s3-wrong-secret-nothing-frozen

	hib_expect_poweroff
	HIBERNATE_S3_CREDENTIALS_FILE=$cred hibernatectl hibernate --output "$url" \
		--key-file $key > /run/hibernate.out 2>&1
	rc=$?
	# (what was printed between the snapshot and the power-off is in the other timeline)
	cat /run/hibernate.out
	if [ $rc = 0 ]; then
		hib_ok s3-cycle-resumed "snapshot_kernel(2) reported the resume side"
	else
		hib_notok s3-cycle-resumed "hibernatectl hibernate exited $rc without resuming"
		exit 0
	fi
	# The resumed side closes the sink of the snapshot instant: its upload was completed
	# and the image deleted in the meantime, which is nothing to complain about.
	if grep -q "s3:\|http:" /run/hibernate.out; then
		hib_notok s3-cycle-resumed-quiet "$(grep "s3:\|http:" /run/hibernate.out)"
	else
		hib_ok s3-cycle-resumed-quiet
	fi
	hibstate check --dir $state > $state/after.report
	cat $state/after.report
	hib_same_workload s3-cycle $state/before.report $state/after.report
	;;
2)
	# On success this never returns: boot 1's system goes on and reports.
	HIBERNATE_S3_CREDENTIALS_FILE=$cred hibernatectl resume --input "$url" --key-file $key
	hib_notok s3-resume-returned "hibernatectl resume returned $?"
	;;
esac
exit 0
