#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=600 boots=2 disks=image:700M mem=512 smp=2
#
# Thaw policy and the deadline-bound sync (DESIGN.md steps 3, 3b) with a FUSE filesystem:
# bindfs serves /mnt/b from /src; hibdirty leaves 4 MiB of dirty shared-mapped pages on it.
#  - `policy check` refuses a bad file with line and column and keeps the good one;
#  - with an empty policy `hibernate --test=freeze` leaves bindfs frozen, does not hang
#    (FUSE writes dirty pages back through temporary pages and queued requests, so syncfs does
#    not wait for the daemon) and rolls back; the data reach /src after the thaw;
#  - with the shipped FUSE policy bindfs is thawed by name and the data reach /src.
#  - a writer busy in FUSE requests (a script named fusewriter) with an empty policy: the
#    freeze itself fails (exit 5) naming the writer, whose request waits for the frozen
#    bindfs; everything is thawed, nothing lost;
#  - the same writer with the FUSE policy: bindfs is kept running through the freeze
#    (freeze_processes(2) keep), the writer freezes, the machine hibernates, powers off and
#    resumes (boot 2); the writer, bindfs and the data are intact.
# Needs /usr/bin/bindfs and hibdirty in the guest (--bin).
. /lib/hibtest.sh

if [ "$HIB_BOOT" = 2 ]; then
	hib_resume fuse-resume-returned --input "$HIB_DISK_image"
	exit 0
fi

CTL=hibernatectl
echo 0 > /proc/sys/vm/dirty_writeback_centisecs
echo 360000 > /proc/sys/vm/dirty_expire_centisecs
mkdir -p /src /mnt/b /etc/hibernate/policy.d /tmp/nopolicy
if ! command -v bindfs >/dev/null; then
	hib_skip fuse-setup "bindfs is not in the guest"
	exit 0
fi
mount -t tmpfs tmpfs /src
hib_check fuse-mount bindfs /src /mnt/b || exit 0

cat > /etc/hibernate/policy.d/50-fuse.policy <<'P'
[match]
exe = /usr/bin/bindfs
comm = bindfs
[thaw]
thaw = yes
order = 50
reason = FUSE: daemon backing a mounted filesystem
P
hib_check fuse-policy-check $CTL policy check

# A bad file is refused whole, with line and column; the good one still loads.
printf '[match]\ncomm = x\n[thaw]\nthaw = maybe\n' > /etc/hibernate/policy.d/90-bad.policy
$CTL policy check > /tmp/check 2>&1
rc=$?
sed 's/^/  [policy-bad] /' /tmp/check
if [ $rc = 1 ] && grep -q '^/etc/hibernate/policy.d/90-bad.policy:4:8: thaw must be yes or no' \
	/tmp/check && grep -q '1 policy file valid, 1 refused' /tmp/check; then
	hib_ok policy-bad-refused "exit 1, line 4 column 8"
else
	hib_notok policy-bad-refused "exit $rc: $(tail -n 1 /tmp/check)"
fi
$CTL hibernate --test=freeze --sync-timeout 30000 > /tmp/out0 2>&1
sed 's/^/  [policy-bad-hibernate] /' /tmp/out0
if grep -q '90-bad.policy:4:8' /tmp/out0 && grep -q 'policy 50-fuse: kept pid' /tmp/out0; then
	hib_ok policy-bad-keeps-good "the bad file is named, 50-fuse still applies"
else
	hib_notok policy-bad-keeps-good "$(tail -n 1 /tmp/out0)"
fi
rm /etc/hibernate/policy.d/90-bad.policy
sleep 1

dirty() {
	hibdirty "$1" 4096 > /tmp/dirty.$2 &
	for i in $(seq 1 100); do
		grep -q ready /tmp/dirty.$2 && break
		sleep 0.1
	done
	hib_log "$(cat /tmp/dirty.$2); $(grep -E '^(Dirty|Writeback):' /proc/meminfo | tr -s ' \n' ' ')"
}

# 1. Empty policy: bindfs stays frozen; nothing hangs; everything is thawed again.
dirty /mnt/b/f1 1
t0=$(hib_ms)
$CTL hibernate --test=freeze --policy-dir /tmp/nopolicy --sync-timeout 5000 > /tmp/out1 2>&1
rc=$?
t1=$(hib_ms)
sed 's/^/  [empty-policy] /' /tmp/out1
if [ $((t1 - t0)) -lt 60000 ] && ! grep -q "thawed pid\|kept pid" /tmp/out1 &&
	grep -q "policy: 0 rules from /tmp/nopolicy" /tmp/out1; then
	hib_ok fuse-empty-no-thaw "exit $rc after $((t1 - t0)) ms, nothing thawed by policy"
else
	hib_notok fuse-empty-no-thaw "exit $rc after $((t1 - t0)) ms"
fi
sleep 1
hib_nothing_frozen fuse-empty-thawed
sync
if cmp -s /src/f1 /mnt/b/f1; then
	hib_ok fuse-empty-data "the dirty pages reached /src"
else
	hib_notok fuse-empty-data "/src/f1 differs from /mnt/b/f1"
fi

# 2. The FUSE policy: bindfs is thawed by name and order, the sync succeeds.
dirty /mnt/b/f2 2
$CTL hibernate --test=freeze --sync-timeout 30000 > /tmp/out2 2>&1
rc=$?
sed 's/^/  [fuse-policy] /' /tmp/out2
if [ $rc = 0 ] && grep -q "policy 50-fuse: kept pid [0-9]* (bindfs) running: FUSE" /tmp/out2 &&
	grep -q "^synced [0-9]* filesystems" /tmp/out2; then
	hib_ok fuse-policy-syncs
else
	hib_notok fuse-policy-syncs "exit $rc: $(tail -n 1 /tmp/out2)"
fi
if cmp -s /src/f2 /mnt/b/f2; then
	hib_ok fuse-policy-data
else
	hib_notok fuse-policy-data "/src/f2 differs from /mnt/b/f2"
fi
sleep 1
hib_nothing_frozen fuse-policy-thawed
kill %1 %2 2>/dev/null

# 3. A writer busy in FUSE requests, empty policy: the freeze cannot finish.
cat > /tmp/fusewriter <<'W'
#!/bin/sh
# Every loop is a FUSE request (open, write, release); no fork.
n=0
while :; do
	n=$((n + 1))
	echo "$n" > /mnt/b/busy
done
W
chmod +x /tmp/fusewriter
# The writer's CPU time (utime + stime, clock ticks): it runs if this grows.
cputime() {
	awk '{ print $14 + $15 }' /proc/$1/stat 2>/dev/null || echo 0
}
/tmp/fusewriter &
writer=$!
sleep 1
# The outcome is a race: the freeze fails when it finds the writer waiting for a reply
# from bindfs, which it has frozen; it succeeds when the writer's last request was
# answered before bindfs stopped. The writer spends most of its time waiting, so the
# first try nearly always fails; a success (exit 0) must still thaw everything, and
# one of five tries must show the failure.
refused=
tries=
for try in 1 2 3 4 5; do
	$CTL hibernate --test=freeze --policy-dir /tmp/nopolicy --timeout 3000 > /tmp/out3 2>&1
	rc=$?
	tries="$tries $rc"
	sed "s/^/  [busy-empty-policy $try] /" /tmp/out3
	if [ $rc = 5 ] && grep -q "fusewriter" /tmp/out3; then
		refused=$try
		break
	fi
	[ $rc = 0 ] || break
	sleep 1
	hib_nothing_frozen fuse-busy-empty-won-race-thawed
done
if [ -n "$refused" ]; then
	hib_ok fuse-busy-empty-refused "exit 5 on try $refused, the blocked writer is named"
else
	hib_notok fuse-busy-empty-refused "exit codes:$tries"
fi
sleep 1
hib_nothing_frozen fuse-busy-empty-thawed
a=$(cputime $writer)
sleep 1
b=$(cputime $writer)
[ "$b" -gt "$a" ] && hib_ok fuse-busy-empty-writer-runs "$a -> $b" ||
	hib_notok fuse-busy-empty-writer-runs "$a -> $b"

# 4. The same writer with the FUSE policy and dirty data: the full cycle.
dirty /mnt/b/f4 4
hib_expect_poweroff
$CTL hibernate --output "$HIB_DISK_image" --timeout 10000 --sync-timeout 30000 > /tmp/out4 2>&1
rc=$?
sed 's/^/  [busy-fuse-policy] /' /tmp/out4
if [ $rc = 0 ] && grep -q "resumed from hibernation image" /tmp/out4; then
	hib_ok fuse-busy-policy-resumed
else
	hib_notok fuse-busy-policy-resumed "exit $rc: $(tail -n 1 /tmp/out4)"
fi
grep -q "policy 50-fuse: kept pid [0-9]* (bindfs) running" /tmp/out4 &&
	hib_ok fuse-busy-policy-kept || hib_notok fuse-busy-policy-kept "bindfs was not kept running"
kill -0 $writer 2>/dev/null && hib_ok fuse-busy-writer-same-pid "$writer" ||
	hib_notok fuse-busy-writer-same-pid "writer $writer is gone"
a=$(cputime $writer)
sleep 1
b=$(cputime $writer)
[ "$b" -gt "$a" ] && hib_ok fuse-busy-writer-runs "$a -> $b" ||
	hib_notok fuse-busy-writer-runs "$a -> $b"
sync
if cmp -s /src/f4 /mnt/b/f4; then
	hib_ok fuse-cycle-data "the dirty pages reached /src after resume"
else
	hib_notok fuse-cycle-data "/src/f4 differs from /mnt/b/f4"
fi
hib_nothing_frozen fuse-cycle-thawed
kill $writer 2>/dev/null
wait $writer 2>/dev/null
umount /mnt/b || umount -l /mnt/b
exit 0
