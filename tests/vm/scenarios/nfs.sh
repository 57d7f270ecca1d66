#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=400 boots=2 disks=image:900M mem=512 smp=2
#
# The thaw policy with NFS (DESIGN.md steps 3, 3b): nfs-ganesha (a userspace NFS server, with
# rpcbind) exports a tmpfs in the guest, the guest kernel's NFSv4 client mounts it over
# loopback, and hibdirty holds dirty shared-mapped pages and an fcntl (POSIX) write lock on a
# file of the mount.  The server is an ordinary process, so freeze_processes(2) freezes it
# and a sync of the mount waits for it (the kernel's nfsd would run in kernel threads).
#  1. Empty policy: `hibernate` gives up at the --sync-timeout deadline, names the NFS mount
#     and the frozen ganesha.nfsd and rpcbind (with the shipped policies that would thaw
#     them), and thaws everything; the dirty data reach the export then, the lock stays.
#  2. The shipped policies (policy/*.policy in /etc/hibernate/policy.d): rpcbind and
#     ganesha.nfsd are thawed, the sync succeeds, the machine hibernates, powers off and
#     resumes: the writer has the same pid, its data are on the export and it still holds the
#     lock (F_GETLK from another process, on the mount and on the exported file).
# Needs ganesha.nfsd, libfsalvfs.so, rpcbind and the policies in the guest (tests/vm/meson.build).
. /lib/hibtest.sh

CTL=hibernatectl
EXP=/export
MNT=/mnt/n
KIB=4096
state=/run/nfs

# The export and the server are in memory: they are in the image like the writer.  The
# server's lease clock is the wall clock, which jumps by the time the machine was off; a
# lease shorter than that would expire the client's state (and the lock) on resume, so it is
# 120 s (ganesha's default: 60 s).
start_nfs() {
	mkdir -p $EXP $MNT /etc/ganesha /var/run/ganesha /var/lib/nfs/ganesha /run/rpcbind
	mount -t tmpfs tmpfs $EXP
	ln -sf /proc/mounts /etc/mtab
	printf 'passwd: files\ngroup: files\nhosts: files\n' > /etc/nsswitch.conf
	printf '[General]\nDomain = hibtest.local\n' > /etc/idmapd.conf
	cat > /etc/ganesha/ganesha.conf <<-'G'
	NFS_CORE_PARAM {
		Protocols = 4;
		Enable_UDP = false;
		Enable_NLM = false;
		Enable_RQUOTA = false;
	}
	NFSV4 {
		Graceless = true;
		Lease_Lifetime = 120;
	}
	EXPORT {
		Export_Id = 1;
		Path = /export;
		Pseudo = /export;
		Protocols = 4;
		Transports = TCP;
		Access_Type = RW;
		Squash = No_Root_Squash;
		SecType = sys;
		FSAL {
			Name = VFS;
		}
	}
	G
	# Debian's rpcbind drops to _rpc; it needs /etc/services and /etc/netconfig.
	grep -q '^_rpc:' /etc/passwd || echo '_rpc:x:100:65534::/run/rpcbind:/bin/false' >> /etc/passwd
	chown _rpc /run/rpcbind
	rpcbind -w
	for i in $(seq 1 50); do
		[ -S /run/rpcbind.sock ] && pidof rpcbind > /dev/null && break
		sleep 0.1
	done
	if ! pidof rpcbind > /dev/null; then
		hib_notok nfs-rpcbind "rpcbind is not running"
		return 1
	fi
	hib_ok nfs-rpcbind "pid $(pidof rpcbind)"
	ganesha.nfsd -f /etc/ganesha/ganesha.conf -L /run/ganesha.log -p /run/ganesha.pid \
		-N NIV_EVENT
	for i in $(seq 1 150); do
		netstat -ltn 2>/dev/null | grep -q ':2049 ' && break
		sleep 0.2
	done
	if ! netstat -ltn 2>/dev/null | grep -q ':2049 '; then
		hib_notok nfs-ganesha "ganesha.nfsd does not listen on 2049: $(tail -n 3 /run/ganesha.log)"
		return 1
	fi
	hib_ok nfs-ganesha "pid $(cat /run/ganesha.pid), listening after $i tries"
	if rpcinfo -p 127.0.0.1 | grep -qE '100003 +4 +tcp +2049'; then
		hib_ok nfs-rpcbind-registered "ganesha.nfsd registered NFSv4 on TCP with rpcbind"
	else
		hib_notok nfs-rpcbind-registered "$(rpcinfo -p 127.0.0.1 2>&1 | tr '\n' ' ')"
	fi
	hib_check nfs-mount mount -t nfs4 -o addr=127.0.0.1,clientaddr=127.0.0.1 \
		127.0.0.1:$EXP $MNT || return 1
}

# writer NAME: hibdirty with KIB KiB of dirty pages and a write lock on $MNT/NAME.
writer() {
	hibdirty $MNT/$1 $KIB --lock > $state/$1.out 2>&1 &
	echo $! > $state/$1.pid
	for i in $(seq 1 100); do
		grep -q ready $state/$1.out && break
		sleep 0.1
	done
	sed -n 's/^ready \([0-9a-f]*\) .*/\1/p' $state/$1.out > $state/$1.sum
	sed -n 's/.* lockid=//p' $state/$1.out > $state/$1.lockid
	hib_log "writer $1: pid $(cat $state/$1.pid) $(cat $state/$1.out);" \
		"$(grep -E '^(Dirty|Writeback):' /proc/meminfo | tr -s ' \n' ' ')"
	[ -s $state/$1.sum ]
}

# on_export NAME: is the writer's data on the export (the server's tmpfs)?
on_export() {
	[ "$(hibdirty --sum $EXP/$1)" = "$(cat $state/$1.sum)" ]
}

# lock_held CHECK NAME [getlk]: the writer's POSIX lock is in the client's lock table
# (/proc/locks), and F_GETLK from another process on the exported file sees the lock ganesha
# holds there for it (an OFD lock, pid -1).  With getlk also F_GETLK from another process on
# the mount, which must name the writer; not while the data must stay dirty (opening the file
# on NFS revalidates the cache and writes the dirty pages back).
lock_held() {
	pid=$(cat $state/$2.pid)
	in_table=$(grep -E "POSIX +ADVISORY +WRITE +$pid +$(cat $state/$2.lockid) " /proc/locks)
	on_exp=$(hibdirty --getlk $EXP/$2 2>&1)
	on_mnt="locked type=W pid=$pid"
	[ "$3" = getlk ] && on_mnt=$(hibdirty --getlk $MNT/$2 2>&1)
	if [ -n "$in_table" ] && [ "$on_exp" = "locked type=W pid=-1" ] &&
		[ "$on_mnt" = "locked type=W pid=$pid" ]; then
		hib_ok $1 "/proc/locks: $(echo $in_table); export: $on_exp${3:+; mount: $on_mnt}"
	else
		hib_notok $1 "writer $pid; /proc/locks: '$(echo $in_table)'; export: $on_exp; mount: $on_mnt"
		grep -v '^ ' /proc/locks | sed 's/^/  [locks] /'
	fi
}

dirty_not_on_export() {
	if on_export $2; then
		hib_notok $1 "the data of $2 are already on the export: nothing dirty to sync"
	else
		hib_ok $1 "$(grep -E '^Dirty:' /proc/meminfo | tr -s ' ')"
	fi
}

case $HIB_BOOT in
1)
	echo 0 > /proc/sys/vm/dirty_writeback_centisecs
	echo 360000 > /proc/sys/vm/dirty_expire_centisecs
	mkdir -p $state /tmp/nopolicy
	for t in ganesha.nfsd rpcbind rpcinfo; do
		command -v $t > /dev/null || { hib_notok nfs-setup "$t is not in the guest"; exit 0; }
	done
	start_nfs || exit 0
	hib_check nfs-policy-check $CTL policy check

	# 1. Empty policy: the sync of the NFS mount cannot finish, the attempt rolls back.
	writer f1 || { hib_notok nfs-writer "$(cat $state/f1.out)"; exit 0; }
	dirty_not_on_export nfs-empty-dirty f1
	lock_held nfs-empty-lock-before f1
	t0=$(hib_ms)
	# (--no-poweroff: should it wrongly succeed, it thaws and says so rather than power off)
	$CTL hibernate --output "$HIB_DISK_image" --no-poweroff --policy-dir /tmp/nopolicy \
		--sync-timeout 5000 > /tmp/out1 2>&1
	rc=$?
	t1=$(hib_ms)
	sed 's/^/  [empty-policy] /' /tmp/out1
	# The deadline, the rollback and the sync that then completes (its worker is joined).
	if [ $rc != 0 ] && [ $((t1 - t0)) -lt 20000 ]; then
		hib_ok nfs-empty-fails "exit $rc after $((t1 - t0)) ms"
	else
		hib_notok nfs-empty-fails "exit $rc after $((t1 - t0)) ms"
	fi
	if grep -q "sync of $MNT (nfs4) did not finish within 5000 ms" /tmp/out1; then
		hib_ok nfs-empty-names-fs
	else
		hib_notok nfs-empty-names-fs "$(grep -v '^ ' /tmp/out1 | tail -n 3 | tr '\n' ' ')"
	fi
	gpid=$(cat /run/ganesha.pid)
	if grep -q "pid $gpid (ganesha.nfsd) is frozen; policy 30-nfs-ganesha in /etc/hibernate/policy.d would have thawed it" /tmp/out1; then
		hib_ok nfs-empty-names-ganesha
	else
		hib_notok nfs-empty-names-ganesha "no line naming pid $gpid"
	fi
	if grep -q "(rpcbind) is frozen; policy 10-rpcbind in" /tmp/out1; then
		hib_ok nfs-empty-names-rpcbind
	else
		hib_notok nfs-empty-names-rpcbind "no line naming rpcbind"
	fi
	if grep -q "everything was thawed again" /tmp/out1 && ! grep -q "thawed pid" /tmp/out1; then
		hib_ok nfs-empty-rollback
	else
		hib_notok nfs-empty-rollback "$(tail -n 1 /tmp/out1)"
	fi
	sleep 1
	hib_nothing_frozen nfs-empty-thawed
	out=$($CTL image info "$HIB_DISK_image" 2>&1)
	[ $? = 6 ] && hib_ok nfs-empty-no-image || hib_notok nfs-empty-no-image "$out"
	sync
	on_export f1 && hib_ok nfs-empty-data "the dirty pages reached the export after the thaw" ||
		hib_notok nfs-empty-data "$EXP/f1: $(hibdirty --sum $EXP/f1), want $(cat $state/f1.sum)"
	lock_held nfs-empty-lock-after f1 getlk
	kill $(cat $state/f1.pid)

	# 2. The shipped policies: the full cycle.
	writer f2 || { hib_notok nfs-writer "$(cat $state/f2.out)"; exit 0; }
	dirty_not_on_export nfs-cycle-dirty f2
	lock_held nfs-cycle-lock-before f2
	date +%s > $state/t_hibernate
	hib_expect_poweroff
	# Straight to the console: what it prints after the snapshot is not in the image.
	$CTL hibernate --output "$HIB_DISK_image" --sync-timeout 30000
	rc=$?
	if [ $rc = 0 ]; then
		hib_ok nfs-cycle-resumed "snapshot_kernel(2) reported the resume side"
	else
		hib_notok nfs-cycle-resumed "hibernatectl hibernate exited $rc without resuming"
		exit 0
	fi
	hib_log "resumed $(( $(date +%s) - $(cat $state/t_hibernate) )) s (wall clock) after the" \
		"hibernation started; ganesha's lease is 120 s"
	dmesg | grep -q "snapshot_kernel: resumed from the image" &&
		hib_ok nfs-cycle-kernel-says-resumed ||
		hib_notok nfs-cycle-kernel-says-resumed "no 'resumed from the image' in the kernel log"
	pid=$(cat $state/f2.pid)
	[ -d /proc/$pid ] && grep -q hibdirty /proc/$pid/comm &&
		hib_ok nfs-cycle-writer-alive "pid $pid" ||
		hib_notok nfs-cycle-writer-alive "pid $pid is gone"
	on_export f2 && hib_ok nfs-cycle-data "the dirty pages were synced to the export before the snapshot" ||
		hib_notok nfs-cycle-data "$EXP/f2: $(hibdirty --sum $EXP/f2), want $(cat $state/f2.sum)"
	[ "$(hibdirty --sum $MNT/f2)" = "$(cat $state/f2.sum)" ] &&
		hib_ok nfs-cycle-data-mount ||
		hib_notok nfs-cycle-data-mount "$MNT/f2: $(hibdirty --sum $MNT/f2)"
	# ganesha's reaper (every 10 s) drops the state of a client whose lease ran out while the
	# machine was off: give it the time to do so before looking at the lock.
	sleep 12
	lock_held nfs-cycle-lock-after f2 getlk
	grep -iE 'expir|lease' /run/ganesha.log | sed 's/^/  [ganesha] /'
	# The server and the client still talk: a new file reaches the export.
	echo after-resume > $MNT/new
	sync
	[ "$(cat $EXP/new 2>/dev/null)" = after-resume ] && hib_ok nfs-cycle-mount-works ||
		hib_notok nfs-cycle-mount-works "$EXP/new: $(cat $EXP/new 2>&1)"
	hib_nothing_frozen nfs-cycle-thawed
	kill $pid
	;;
2)
	# The initramfs' job: resume; on success boot 1's system prints the rest.
	hib_resume resume-returned --input "$HIB_DISK_image"
	;;
esac
exit 0
