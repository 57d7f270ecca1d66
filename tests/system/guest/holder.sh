#!/bin/bash
# Run under `systemd-inhibit --what=sleep --mode=delay`: what a program that must act before the
# machine sleeps does.  It waits for PrepareForSleep(true) (the listener's file), takes two
# seconds, notes when it let go (uptime) and exits, which releases logind's delay lock.
set -uo pipefail
for _ in $(seq 6000); do
	grep -q '^true ' /run/hibtest/prepare-for-sleep 2>/dev/null && break
	sleep 0.1
done
sleep 2
read -r up _ </proc/uptime
echo "released $up" >/run/hibtest/holder
