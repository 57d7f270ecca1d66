#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=420 boots=1 disks=image:1200M,other:1200M,small:16M mem=1024 smp=2
#
# One boot, nothing is ever restored:
#  - hibernate --no-poweroff: the image is written, every process runs again
#    (same pid, memory digest, maps, fds), nothing is left frozen;
#  - the intact image passes `image verify`;
#  - preflight: a target too small, missing or read-only (device and
#    filesystem) is refused before anything is frozen;
#  - an image written with another kernel build id (HIBERNATE_FAULT=build-id=, a
#    test hook) is refused by resume, naming both builds;
#  - corrupted copies (a flipped byte in the header, in chunks, a truncation,
#    the valid mark cleared): `image verify` fails and `resume` refuses with
#    exit 7 (or 6: no valid image) and its own message, before the atomic
#    restore; the system is still the same boot, the workload still runs and
#    nothing is left frozen.
. /lib/hibtest.sh

state=/run/hibstate
IMG=$HIB_DISK_image
OTHER=$HIB_DISK_other
SMALL=$HIB_DISK_small
# A file that exists only in this boot: a restore would bring back a system
# without it.
MARK=/tmp/still-this-boot
FAKE_BID=0123456789abcdef0123456789abcdef01234567

snapshot_state() {
	pid=$(cat $state/pid)
	hibstate check --dir $state > $state/$1.report
	cat /proc/"$pid"/maps > $state/$1.maps
	for f in /proc/"$pid"/fd/*; do
		echo "${f##*/} $(readlink "$f")"
	done > $state/$1.fds
}

# workload_ok NAME: same pid, intact memory, child answers, timer moved since
# the last check, no frozen task, and (if $MARK exists) still this boot.
last_ticks=-1
workload_ok() {
	sleep 0.3
	if ! hibstate check --dir $state > $state/now.report 2>&1; then
		hib_notok "$1-workload" "hibstate check: $(cat $state/now.report)"
		hib_nothing_frozen "$1-nothing-frozen"
		return
	fi
	p=$(hib_report_field $state/now.report pid)
	d=$(hib_report_field $state/now.report digest)
	e=$(hib_report_field $state/now.report expected)
	t=$(hib_report_field $state/now.report ticks)
	if [ "$p" = "$pid0" ] && [ "$d" = "$digest0" ] && [ "$e" = "$digest0" ] &&
			grep -q "echo=ok" $state/now.report && [ "$t" -gt "$last_ticks" ]; then
		hib_ok "$1-workload" "pid $p digest $d ticks $last_ticks -> $t"
	else
		hib_notok "$1-workload" "$(cat $state/now.report) (want pid $pid0 digest $digest0, ticks > $last_ticks)"
	fi
	last_ticks=$t
	hib_nothing_frozen "$1-nothing-frozen"
	if [ -n "$mark_made" ]; then
		[ -e $MARK ] && hib_ok "$1-same-boot" ||
			hib_notok "$1-same-boot" "$MARK is gone: an image was restored"
	fi
}

# run NAME CMD...: run CMD, keep its output in $out and exit code in $rc.
run() {
	tag=$1
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ -n "$out" ] && echo "$out" | sed "s/^/  [$tag] /"
}

# refused_preflight NAME PATTERN TARGET: hibernate to TARGET is refused with
# PATTERN in the message, before freezing.
refused_preflight() {
	out=$(hibernatectl hibernate --no-poweroff --output "$3" 2>&1)
	rc=$?
	echo "$out" | sed "s/^/  [$1] /"
	if [ $rc != 0 ] && echo "$out" | grep -q "$2" &&
			echo "$out" | grep -q "nothing was frozen\|does not exist\|read-only" &&
			! echo "$out" | grep -q "image written"; then
		hib_ok "$1" "exit $rc: $(echo "$out" | head -n 1)"
	else
		hib_notok "$1" "exit $rc, want a refusal matching '$2': $out"
	fi
	workload_ok "$1"
}

# corrupt_byte FILE OFFSET: flip every bit of the byte at OFFSET.
corrupt_byte() {
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf %o $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# refused NAME FILE WANT_RC PATTERN: verify fails and resume refuses FILE
# with exit WANT_RC and PATTERN in the message, before the atomic restore.
refused() {
	rname=$1 file=$2 want=$3 pat=$4
	run "$rname-verify" hibernatectl image verify "$file"
	if [ $rc = 0 ]; then
		# It verifies: resuming it would restore, so do not.
		hib_notok "$rname-verify" "the corrupted image verifies; not resuming it"
		return
	fi
	if echo "$out" | grep -q "$pat"; then
		hib_ok "$rname-verify" "exit $rc: $(echo "$out" | grep "$pat" | head -n 1)"
		echo "$rname $(echo "$out" | grep "$pat" | head -n 1 | sed 's/([^)]*)//g; s/offset [0-9]*//g; s/chunk [0-9]*/chunk N/g')" >> /tmp/reasons
	else
		hib_notok "$rname-verify" "exit $rc, no '$pat': $out"
	fi
	run "$rname-resume" hibernatectl resume --input "$file"
	if [ $rc = "$want" ] && echo "$out" | grep -q "$pat" &&
			! echo "$out" | grep -q "restoring hibernation image"; then
		hib_ok "$rname-resume" "exit $rc: $(echo "$out" | tail -n 1)"
	else
		hib_notok "$rname-resume" "exit $rc (want $want, '$pat'): $out"
	fi
	workload_ok "$rname"
}

# ---- the workload -----------------------------------------------------------

mkdir -p $state
hib_check workload-start hibstate start --dir $state --mib 64 --seed 4321 || exit 0
snapshot_state before
pid0=$(hib_report_field $state/before.report pid)
digest0=$(hib_report_field $state/before.report digest)
workload_ok start

# ---- hibernate --no-poweroff ------------------------------------------------

t0=$(hib_ms)
run no-poweroff hibernatectl hibernate --no-poweroff --output "$IMG"
if [ $rc = 0 ] && echo "$out" | grep -q "everything was thawed again" &&
		echo "$out" | grep -q "hibernation image written to $IMG"; then
	hib_ok no-poweroff "image written and thawed in $(( $(hib_ms) - t0 )) ms"
else
	hib_notok no-poweroff "exit $rc: $(echo "$out" | tail -n 2)"
fi
touch $MARK
mark_made=1
snapshot_state after
for w in maps fds; do
	if cmp -s $state/before.$w $state/after.$w; then
		hib_ok no-poweroff-same-$w
	else
		hib_notok no-poweroff-same-$w "$(diff $state/before.$w $state/after.$w | head -n 5 | tr '\n' ' ')"
	fi
done
child=$(hib_report_field $state/after.report child)
for p in $pid0 $child; do
	s=$(awk '{ print $3 }' /proc/$p/stat 2>/dev/null)
	case "$s" in
	S|R) hib_ok no-poweroff-runs-$p "state $s" ;;
	*) hib_notok no-poweroff-runs-$p "state '$s'" ;;
	esac
done
workload_ok no-poweroff

run intact-verify hibernatectl image verify "$IMG"
if [ $rc = 0 ] && echo "$out" | grep -q "image verified"; then
	hib_ok intact-verify
else
	hib_notok intact-verify "exit $rc: $out"
fi
hibernatectl image info --json "$IMG" > /tmp/info.json
real_bid=$(sed -n 's/.*"build_id": *"\([0-9a-f]*\)".*/\1/p' /tmp/info.json)
comp=$(sed -n 's/.*"compressed_bytes": *\([0-9]*\).*/\1/p' /tmp/info.json)
chunks=$(sed -n 's/.*"chunks": *\([0-9]*\).*/\1/p' /tmp/info.json)
# header + commit block + records + payloads + FINAL
size=$((8192 + chunks * 48 + comp + 48))
hib_log "image: $chunks chunks, $size bytes on $IMG, kernel build id '$real_bid'"
[ -n "$real_bid" ] && hib_ok running-kernel-has-build-id "$real_bid" ||
	hib_notok running-kernel-has-build-id "image info says: $(cat /tmp/info.json)"

# ---- preflight: refused before freezing -------------------------------------

refused_preflight preflight-too-small "is too small" "$SMALL"
refused_preflight preflight-missing "/dev/vdz does not exist" /dev/vdz
[ ! -e /dev/vdz ] && hib_ok preflight-missing-not-created ||
	hib_notok preflight-missing-not-created "$(ls -l /dev/vdz)"
refused_preflight preflight-missing-dir "does not exist" /nonexistent/dir/image
if blockdev --setro "$OTHER"; then
	refused_preflight preflight-readonly-device "is read-only" "$OTHER"
	blockdev --setrw "$OTHER"
else
	hib_notok preflight-readonly-device "blockdev --setro $OTHER failed"
fi
mkdir -p /mnt/ro
if mke2fs -q "$SMALL" >/dev/null 2>&1 && mount -o ro "$SMALL" /mnt/ro; then
	refused_preflight preflight-readonly-fs "is read-only" /mnt/ro/image
	umount /mnt/ro
else
	hib_notok preflight-readonly-fs "cannot make a read-only filesystem on $SMALL"
fi

# ---- safe targets: nothing is written over data ------------------------------

# $SMALL now holds an ext2 filesystem (mke2fs): refused by its signature, left intact.
refused_preflight target-fs-signature "holds a filesystem (ext[234])" "$SMALL"
e2fsck -n "$SMALL" >/dev/null 2>&1 && hib_ok target-fs-intact ||
	hib_notok target-fs-intact "e2fsck -n $SMALL failed after the refusal"
if mount "$SMALL" /mnt/ro; then
	refused_preflight target-mounted "is in use (mounted, or held" "$SMALL"
	umount /mnt/ro
else
	hib_notok target-mounted "cannot mount $SMALL"
fi
# A file target through a planted symbolic link, and one others may read.
: > /tmp/target.img
chmod 600 /tmp/target.img
ln -sf /tmp/target.img /tmp/link.img
refused_preflight target-symlink "is a symbolic link" /tmp/link.img
[ ! -s /tmp/target.img ] && hib_ok target-symlink-nothing-written ||
	hib_notok target-symlink-nothing-written "$(ls -l /tmp/target.img)"
chmod 640 /tmp/target.img
refused_preflight target-group-readable "cannot access (mode 0640)" /tmp/target.img
[ ! -s /tmp/target.img ] && hib_ok target-group-readable-nothing-written ||
	hib_notok target-group-readable-nothing-written "$(ls -l /tmp/target.img)"
rm -f /tmp/target.img /tmp/link.img
# A new file refused later (too small for the worst case: a 1 MiB tmpfs) is removed.
mkdir -p /mnt/tiny
if mount -t tmpfs -o size=1m tmpfs /mnt/tiny; then
	refused_preflight target-new-file-too-small "is too small" /mnt/tiny/image
	[ ! -e /mnt/tiny/image ] && hib_ok target-new-file-removed ||
		hib_notok target-new-file-removed "a refused run left $(ls -l /mnt/tiny/image)"
	umount /mnt/tiny
fi
# A key file others may read: refused before anything is frozen or written.
printf '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n' > /tmp/image.key
chmod 640 /tmp/image.key
out=$(hibernatectl hibernate --no-poweroff --output "$OTHER" --key-file /tmp/image.key 2>&1)
rc=$?
echo "$out" | sed "s/^/  [key-group-readable] /"
if [ $rc = 1 ] && echo "$out" | grep -q "refused: a key file must be owned by root and not accessible by group or others"; then
	hib_ok key-group-readable "exit 1"
else
	hib_notok key-group-readable "exit $rc: $out"
fi
hib_expect_rc key-group-readable-nothing-written 6 hibernatectl image info "$OTHER"
rm -f /tmp/image.key
workload_ok safe-targets

# ---- an image from another kernel build -------------------------------------

run other-build-write env HIBERNATE_FAULT=build-id=$FAKE_BID \
	hibernatectl hibernate --no-poweroff --output "$OTHER"
[ $rc = 0 ] && hib_ok other-build-write || hib_notok other-build-write "exit $rc: $out"
workload_ok other-build-write
if hibernatectl image info "$OTHER" | grep -q "build id *$FAKE_BID"; then
	hib_ok other-build-header "$FAKE_BID"
	run other-build-resume hibernatectl resume --input "$OTHER"
	resume_out=$out
	if [ $rc = 7 ] && echo "$out" | grep -q "kernel build $FAKE_BID" &&
			echo "$out" | grep -q "running kernel build $real_bid" &&
			! echo "$out" | grep -q "restoring"; then
		hib_ok other-build-refused "$(echo "$out" | tail -n 1)"
	else
		hib_notok other-build-refused "exit $rc: $out"
	fi
	workload_ok other-build-refused
	# Refused, not consumed: the right kernel could still resume it.
	hibernatectl image info "$OTHER" >/dev/null 2>&1 &&
		hib_ok other-build-image-kept || hib_notok other-build-image-kept
else
	hib_notok other-build-header "$(hibernatectl image info "$OTHER" 2>&1 | grep build)"
fi

# ---- another host's image: only with --migrate -------------------------------

# The image on $OTHER was made here (host id: no /etc/machine-id, so the hostname).
echo 0123456789abcdef0123456789abcdef > /etc/machine-id
run other-host-refused hibernatectl resume --input "$OTHER"
if [ $rc = 7 ] && echo "$out" | grep -q "was made on host .*, this is host 0123456789abcdef" &&
		echo "$out" | grep -q "resume --migrate"; then
	hib_ok other-host-refused "exit 7"
else
	hib_notok other-host-refused "exit $rc: $out"
fi
# --migrate passes the host check; the kernel build check then refuses this image.
run other-host-migrate hibernatectl resume --input "$OTHER" --migrate
if [ $rc = 7 ] && echo "$out" | grep -q "warning: migrating" &&
		echo "$out" | grep -q "kernel build $FAKE_BID"; then
	hib_ok other-host-migrate "host check passed, build refused"
else
	hib_notok other-host-migrate "exit $rc: $out"
fi
rm -f /etc/machine-id
workload_ok other-host

# ---- unauthenticated images: only where the configuration allows them -------

# vmtest.py's hibernate.conf says allow-unauthenticated = yes; without it an unencrypted
# image is neither written nor resumed.
if echo "${resume_out:-}" | grep -q "is not authenticated (allow-unauthenticated = yes)"; then
	hib_ok unauth-warned "resume said the image is not authenticated"
else
	hib_notok unauth-warned "no warning at resume: ${resume_out:-}"
fi
mv /etc/hibernate/hibernate.conf /tmp/allow.conf
run unauth-write-refused hibernatectl hibernate --no-poweroff --output "$OTHER"
if [ $rc = 1 ] && echo "$out" | grep -q "no image key: an unencrypted image is not authenticated" &&
		echo "$out" | grep -q "nothing was frozen"; then
	hib_ok unauth-write-refused "$(echo "$out" | tail -n 1 | cut -c1-100)"
else
	hib_notok unauth-write-refused "exit $rc: $out"
fi
hibernatectl image info "$OTHER" 2>&1 | grep -q "build id *$FAKE_BID" &&
	hib_ok unauth-nothing-written || hib_notok unauth-nothing-written "$OTHER changed"
run unauth-resume-refused hibernatectl resume --input "$OTHER"
if [ $rc = 7 ] && echo "$out" | grep -q "not encrypted, so not authenticated" &&
		! echo "$out" | grep -q "restoring"; then
	hib_ok unauth-resume-refused "exit 7"
else
	hib_notok unauth-resume-refused "exit $rc: $out"
fi
hib_expect_rc unauth-verify-refused 7 hibernatectl image verify "$OTHER"
mv /tmp/allow.conf /etc/hibernate/hibernate.conf
workload_ok unauth

# ---- corrupted copies -------------------------------------------------------

: > /tmp/reasons
C=/tmp/copy.img
copy() {
	dd if="$IMG" of="$C" bs=1M count=$(( (size + 1048575) / 1048576 )) 2>/dev/null
	truncate -s $size "$C"
}

copy
hibernatectl image verify "$C" >/dev/null 2>&1 && hib_ok copy-verifies ||
	hib_notok copy-verifies "an intact copy in $C does not verify"

copy
corrupt_byte "$C" 100		# the kernel release string
refused header-flip "$C" 7 "header checksum mismatch"

copy
truncate -s $((size / 2)) "$C"
refused truncated "$C" 7 "truncated"

copy
corrupt_byte "$C" $((size / 2))
refused chunk-flip-middle "$C" 7 "chunk [0-9]*: .*checksum mismatch"

# Near the end: most of the image is already in /dev/snapshot when it fails,
# and the previous attempt must have released /dev/snapshot (else EBUSY).
copy
corrupt_byte "$C" $((size - 48 - 2000))
refused chunk-flip-last "$C" 7 "chunk [0-9]*: .*checksum mismatch"
rm -f "$C"

# On a disk: the valid mark (commit block at 4096) cleared.
dd if="$IMG" of="$OTHER" bs=1M count=$(( (size + 1048575) / 1048576 )) conv=fsync 2>/dev/null
dd if=/dev/zero of="$OTHER" bs=4096 seek=1 count=1 conv=notrunc,fsync 2>/dev/null
refused valid-mark-cleared "$OTHER" 6 "not marked valid"

n=$(wc -l < /tmp/reasons)
u=$(cut -d' ' -f2- /tmp/reasons | sort -u | wc -l)
sed 's/^/# reason: /' /tmp/reasons
# The two chunk flips may well give the same reason; the others must differ.
if [ "$n" -ge 5 ] && [ "$u" -ge $((n - 1)) ]; then
	hib_ok distinct-messages "$u distinct reasons for $n corruptions"
else
	hib_notok distinct-messages "$u distinct reasons for $n corruptions"
fi

# The intact image was never touched.
run intact-still-valid hibernatectl image verify "$IMG"
[ $rc = 0 ] && hib_ok intact-still-valid || hib_notok intact-still-valid "exit $rc"
if dmesg | grep -q "resumed from the image"; then
	hib_notok never-restored "the kernel says it resumed from an image"
else
	hib_ok never-restored
fi
exit 0
