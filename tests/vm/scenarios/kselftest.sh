#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=600
#
# Run every selftest of the kernel series (compiled by vmtest.py from
# build/kernel/selftests into /opt/selftests); one result line each.
. /lib/hibtest.sh

n=0
for t in /opt/selftests/*; do
	[ -x "$t" ] || continue
	n=$((n + 1))
	name=kselftest-$(basename "$t")
	hib_log "running $t"
	"$t" > /tmp/ks.out 2>&1
	rc=$?
	sed "s/^/  [$name] /" /tmp/ks.out
	case $rc in
	0) hib_ok "$name" "$(grep -E '^# (PASSED|Totals)' /tmp/ks.out | tail -n 1)" ;;
	4) hib_notok "$name" "skipped (exit 4) on the kernel it was written for: $(grep -i skip /tmp/ks.out | tail -n 1)" ;;
	*) hib_notok "$name" "exit $rc: $(grep -E '^(not ok|# FAILED)' /tmp/ks.out | tail -n 3 | tr '\n' ' ')" ;;
	esac
done
[ "$n" -gt 0 ] || hib_notok kselftest "no selftest binaries in /opt/selftests"
exit 0
