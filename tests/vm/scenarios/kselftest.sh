#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=600 disks=swap:64M
#
# Run every selftest of the kernel series (compiled by vmtest.py from
# build/kernel/selftests into /opt/selftests); one result line each.
. /lib/hibtest.sh

# snapshot_kernel_test's oom_spares_streamed runs sysrq-f only where nothing but its
# streamed child could be picked: make every process here (and what it starts) ineligible.
for f in /proc/[0-9]*/oom_score_adj; do
	echo -1000 > "$f" 2>/dev/null
done

n=0
for t in /opt/selftests/*; do
	[ -x "$t" ] || continue
	n=$((n + 1))
	name=kselftest-$(basename "$t")
	hib_log "running $t"
	"$t" > /tmp/ks.out 2>&1
	rc=$?
	sed "s/^/  [$name] /" /tmp/ks.out
	cat /tmp/ks.out >> /tmp/ks.all
	case $rc in
	0) hib_ok "$name" "$(grep -E '^# (PASSED|Totals)' /tmp/ks.out | tail -n 1)" ;;
	4) hib_notok "$name" "skipped (exit 4) on the kernel it was written for: $(grep -i skip /tmp/ks.out | tail -n 1)" ;;
	*) hib_notok "$name" "exit $rc: $(grep -E '^(not ok|# FAILED)' /tmp/ks.out | tail -n 3 | tr '\n' ' ')" ;;
	esac
done
[ "$n" -gt 0 ] || hib_notok kselftest "no selftest binaries in /opt/selftests"

# With swap on, every snapshot is refused (the image's swap slots could be reused).
if mkswap "$HIB_DISK_swap" >/dev/null && swapon "$HIB_DISK_swap"; then
	/opt/selftests/snapshot_kernel_test -t snapshot_needs_swap_off > /tmp/ks.out 2>&1
	sed "s/^/  [kselftest-swap] /" /tmp/ks.out
	cat /tmp/ks.out >> /tmp/ks.all
	swapoff "$HIB_DISK_swap"
else
	hib_notok kselftest-swap "cannot turn swap on on $HIB_DISK_swap"
fi

# default_watermarks_while_open tests the lowered watermarks only with THP on (khugepaged raises
# min_free_kbytes): the kernel's default here, madvise, must be in force.
if grep -q '\[never\]' /sys/kernel/mm/transparent_hugepage/enabled; then
	hib_notok kselftest-thp-on "$(cat /sys/kernel/mm/transparent_hugepage/enabled)"
else
	hib_ok kselftest-thp-on "$(cat /sys/kernel/mm/transparent_hugepage/enabled), min_free_kbytes $(cat /proc/sys/vm/min_free_kbytes)"
fi

# The VM arranges what these need: a skip would hide a missing kernel fix.
for t in oom_spares_streamed overhead_larger_than_usable read_fault_keeps_stream \
	freezer_exit_thaws pid_namespace_scope snapshot_needs_swap_off \
	image_holds_streamed_memory no_leaked_pins default_watermarks_while_open \
	dev_snapshot_write_takes_pages dev_snapshot_pwrite_in_order; do
	if grep -q "^ok [0-9]* [a-z_.]*$t\$" /tmp/ks.all 2>/dev/null; then
		hib_ok "kselftest-ran-$t" "passed, not skipped"
	else
		hib_notok "kselftest-ran-$t" "$(grep "$t" /tmp/ks.all | tail -n 1)"
	fi
done
exit 0
