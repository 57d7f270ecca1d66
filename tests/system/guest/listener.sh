#!/bin/bash
# PrepareForSleep listener (hibtest-listener.service): busctl monitor, one JSON object a line
# (stdbuf: busctl writes through stdio, and a pipe would hold the lines back).
set -uo pipefail
out=/run/hibtest/prepare-for-sleep
mkdir -p /run/hibtest
stdbuf -oL busctl monitor --system --json=short \
	--match "type='signal',interface='org.freedesktop.login1.Manager',member='PrepareForSleep'" |
while IFS= read -r line; do
	case $line in
	*'"member":"PrepareForSleep"'*'"data":[true]'*) v=true ;;
	*'"member":"PrepareForSleep"'*'"data":[false]'*) v=false ;;
	*) continue ;;
	esac
	read -r up _ </proc/uptime
	echo "$v $up" >>"$out"
	echo "listener: PrepareForSleep($v) at $up" >/dev/kmsg
done
