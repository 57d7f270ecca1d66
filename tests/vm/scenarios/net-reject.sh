#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=400 boots=1 mem=1024 smp=2 net=user
#
# Refusals of images on an HTTP server, in one boot (nothing is ever restored).
# Run by with-nginx.py, which serves a WebDAV nginx on the host's loopback
# (hibtest.url=); curl (--bin /usr/bin/curl) changes the stored object.
#  - hibernate --no-poweroff --key-file: the image is published, the workload
#    runs on;
#  - a wrong key: refused with its own message (exit 7), the image stays;
#  - one byte of the stored image changed: refused with "authentication
#    failed" (exit 7) before the atomic restore;
#  - hibernate to a URL without a key: refused before freezing, nothing sent;
#  - a forged unencrypted image on the server (written by a test hook, as an
#    attacker's own tool would): resume and image verify refuse it without a
#    key (exit 7, not authenticated), and with a key (encryption required);
#  - the workload is intact, nothing is left frozen, still this boot.
. /lib/hibtest.sh

state=/run/hibstate
key=/run/image.key
wrong=/run/wrong.key
MARK=/tmp/still-this-boot

base=$(sed -n 's/.*hibtest\.url=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -z "$base" ]; then
	hib_notok net-url "no hibtest.url= on the kernel command line: run through with-nginx.py"
	exit 0
fi
enc=${base}images/enc.img
plain=${base}images/plain.img
printf '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n' > $key && chmod 600 $key
printf 'ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n' > $wrong && chmod 600 $wrong

# expect_refused NAME RC PATTERN CMD...: CMD exits RC with PATTERN in its output.
expect_refused() {
	name=$1 want=$2 pattern=$3
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	echo "$out" | tail -n 3 | sed "s/^/  [$name] /"
	if [ $rc = "$want" ] && echo "$out" | grep -q "$pattern"; then
		hib_ok "$name" "$(echo "$out" | grep "$pattern" | tail -n 1)"
	else
		hib_notok "$name" "exit $rc (want $want): $(echo "$out" | tail -n 2 | tr '\n' ' ')"
	fi
}

hib_net_up net-up || exit 0
touch $MARK
hib_workload_start $state 16 7 || exit 0

hib_check net-hibernate-enc hibernatectl hibernate --no-poweroff --output "$enc" \
	--key-file $key || exit 0
code=$(curl -s -o /dev/null -w '%{http_code}' -I "$enc")
[ "$code" = 200 ] && hib_ok net-published || hib_notok net-published "HEAD $enc: $code"

expect_refused net-reject-wrong-key 7 "wrong key" \
	hibernatectl resume --input "$enc" --key-file $wrong

# The last byte before FINAL: the authenticator of the last chunk.  The object
# ends with FINAL (48 bytes), its tag (17) and the header and valid-mark blocks.
curl -s -o /tmp/enc.obj "$enc"
size=$(stat -c %s /tmp/enc.obj)
off=$((size - 8192 - 17 - 48 - 1))
b=$(dd if=/tmp/enc.obj bs=1 skip=$off count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
nb=$(( (b + 1) % 256 ))
printf "\\$(printf %03o $nb)" | dd of=/tmp/enc.obj bs=1 seek=$off conv=notrunc 2>/dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' -T /tmp/enc.obj "$enc")
case $code in
2*) hib_ok net-byte-changed "offset $off of $size: $b -> $nb" ;;
*) hib_notok net-byte-changed "PUT $enc: $code" ;;
esac
rm -f /tmp/enc.obj
expect_refused net-reject-flipped-byte 7 "authentication failed" \
	hibernatectl resume --input "$enc" --key-file $key

expect_refused net-plain-refused 1 "an image written to a URL must be encrypted" \
	hibernatectl hibernate --no-poweroff --output "$plain"
code=$(curl -s -o /dev/null -w '%{http_code}' -I "$plain")
[ "$code" = 404 ] && hib_ok net-plain-nothing-sent || hib_notok net-plain-nothing-sent "HEAD: $code"
hib_check net-forge-plain env HIBERNATE_FAULT=forge=unauthenticated \
	hibernatectl hibernate --no-poweroff --output "$plain"
expect_refused net-reject-forged 7 "not encrypted, so not authenticated" \
	hibernatectl resume --input "$plain"
expect_refused net-reject-forged-verify 7 "not encrypted, so not authenticated" \
	hibernatectl image verify "$plain"
expect_refused net-reject-unencrypted 7 "not encrypted, and encryption is required" \
	hibernatectl resume --input "$plain" --key-file $key

[ -e $MARK ] && hib_ok net-still-this-boot || hib_notok net-still-this-boot "a restore happened"
hib_nothing_frozen net-nothing-frozen
hibstate check --dir $state > $state/after.report
hib_same_digest net-workload-intact $state/before.report $state/after.report
# Leave the server empty (with-nginx.py --expect-empty).
curl -s -o /dev/null -X DELETE "$enc"
curl -s -o /dev/null -X DELETE "$plain"
exit 0
