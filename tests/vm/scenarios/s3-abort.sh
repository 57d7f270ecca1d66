#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=300 boots=1 mem=1024 smp=2 net=user
#
# The S3 store dies in the middle of the upload: run by with-rgw.py
# --kill-at-parts 2, which SIGKILLs radosgw once the guest's multipart upload
# holds two parts.  The hibernation must abort cleanly: hibernatectl fails
# with a message naming the target, says that the parts it could not abort
# stay stored, every task is thawed and the workload goes on with its memory
# intact; with-rgw.py starts radosgw again and checks that no object is under
# the final name.
. /lib/hibtest.sh

state=/run/hibstate
key=/run/image.key
cred=/run/s3-credentials

hib_s3_target $cred || exit 0
printf '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n' > $key && chmod 600 $key

hib_net_up net-up || exit 0
mkdir -p $state
hib_check workload-start hibstate start --dir $state --mib 64 --seed 77 || exit 0
hibstate check --dir $state > $state/before.report

out=$(HIBERNATE_S3_CREDENTIALS_FILE=$cred HIBERNATE_S3_PART_MIB=5 hibernatectl hibernate \
	--output "$url" --key-file $key 2>&1)
rc=$?
echo "$out" | tail -n 8
if [ $rc != 0 ] && echo "$out" | grep -q "writing the image to $url failed" &&
   echo "$out" | grep -q "everything was thawed again"; then
	hib_ok s3-abort-message "$(echo "$out" | grep "writing the image" | tail -n 1)"
else
	hib_notok s3-abort-message "exit $rc: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
fi
if echo "$out" | grep -q "AbortMultipartUpload of .* failed: its parts stay stored"; then
	hib_ok s3-abort-parts-named "$(echo "$out" | grep AbortMultipartUpload | tail -n 1)"
else
	hib_notok s3-abort-parts-named "no word about the parts left on the dead store"
fi
hib_nothing_frozen s3-abort-thawed
hibstate check --dir $state > $state/after.report
hib_same_digest s3-abort-workload-intact $state/before.report $state/after.report
exit 0
