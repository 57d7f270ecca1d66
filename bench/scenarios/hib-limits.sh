#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=900 boots=1 disks=hib:1600M,mark:4M mem=1024 smp=2
#
# `make bench`, hibernation part: the physical limits of this VM, measured in the same
# machine as bench/scenarios/hib-bench.sh (same header: memory, vCPUs, disks) and in the
# same `make bench` run, interleaved with the hibernation cycles:
#   - lz4 -1 (the lz4 command-line tool from the host, the same LZ4 library level as
#     libhibernate's LZ4_compress_default) on the workload's data: memfill gen writes
#     two halves of bench.limit_mib MiB (each thirds of random, text-like and zero
#     bytes, like memfill run) into tmpfs; 1 vCPU: the halves one after the other,
#     2 vCPUs: both at once (two processes); plus lz4's in-memory benchmark (-b1) on
#     one half for the compression ratio and the single-thread (de)compression rate;
#   - the raw disk with O_DIRECT: the two halves written to $HIB_DISK_hib with
#     dd bs=1M oflag=direct, then read back with iflag=direct;
#   - read(2) copy: dd of a tmpfs file to /dev/null.
# Lines: BENCH-LIMIT what=... bytes=N ms=T (and a BENCH-LIMIT-INFO line).
. /lib/hibtest.sh

MIB=256
for a in $(cat /proc/cmdline); do
	case "$a" in bench.limit_mib=*) MIB=${a#bench.limit_mib=} ;; esac
done
half=$(( MIB / 2 ))
bytes=$(( half * 2 * 1048576 ))
ms() { memfill ms; }
since() { awk -v a="$1" -v b="$(ms)" 'BEGIN { printf "%.1f\n", b - a }'; }

echo "BENCH-LIMIT-INFO kernel=$(uname -r) cpus=$(nproc)" \
	"memtotal_kb=$(awk '/MemTotal/ { print $2 }' /proc/meminfo) mib=$MIB" \
	"lz4=$(lz4 --version 2>&1 | sed -n 's/.* v\([0-9.]*\).*/\1/p' | head -n 1)"
hib_check gen-a memfill gen --mib $half --seed 1 --out /run/a || exit 0
hib_check gen-b memfill gen --mib $half --seed 2 --out /run/b || exit 0

# lz4 -1 streaming, file -> /dev/null (as `lz4 -1 -c F > /dev/null`).
t=$(ms)
lz4 -1 -c /run/a > /dev/null && lz4 -1 -c /run/b > /dev/null
r=$?
echo "BENCH-LIMIT what=lz4-1vcpu bytes=$bytes ms=$(since "$t") rc=$r"
t=$(ms)
lz4 -1 -c /run/a > /dev/null &
p1=$!
lz4 -1 -c /run/b > /dev/null
r2=$?
wait $p1
r1=$?
echo "BENCH-LIMIT what=lz4-2vcpu bytes=$bytes ms=$(since "$t") rc=$r1$r2"
# The same without lz4's frame checksum (xxh32 over the input: libhibernate checks its
# chunks with its own hash, so both figures bracket what the compressors alone cost).
t=$(ms)
lz4 -1 --no-frame-crc -c /run/a > /dev/null &
p1=$!
lz4 -1 --no-frame-crc -c /run/b > /dev/null
r2=$?
wait $p1
r1=$?
echo "BENCH-LIMIT what=lz4-2vcpu-nocrc bytes=$bytes ms=$(since "$t") rc=$r1$r2"
# Compressed size of the data (not timed) and lz4's own in-memory rates (1 thread).
csize=$(( $(lz4 -1 -c /run/a | wc -c) + $(lz4 -1 -c /run/b | wc -c) ))
echo "BENCH-LIMIT what=lz4-ratio bytes=$bytes compressed=$csize"
b=$(lz4 -b1 -i2 -q /run/a 2>&1 | tr '\r' '\n' | grep -E 'MB/s' | tail -n 1)
echo "BENCH-LIMIT-LZ4B $b"

# The raw disk, O_DIRECT, 1 MiB requests.
t=$(ms)
dd if=/run/a of="$HIB_DISK_hib" bs=1M oflag=direct 2>/dev/null &&
	dd if=/run/b of="$HIB_DISK_hib" bs=1M seek=$half oflag=direct 2>/dev/null
r=$?
echo "BENCH-LIMIT what=disk-write-direct bytes=$bytes ms=$(since "$t") rc=$r"
t=$(ms)
dd if="$HIB_DISK_hib" of=/dev/null bs=1M count=$(( half * 2 )) iflag=direct 2>/dev/null
r=$?
echo "BENCH-LIMIT what=disk-read-direct bytes=$bytes ms=$(since "$t") rc=$r"

# read(2) of a tmpfs file into a user buffer (a memory copy).
t=$(ms)
dd if=/run/a of=/dev/null bs=1M 2>/dev/null && dd if=/run/b of=/dev/null bs=1M 2>/dev/null
r=$?
echo "BENCH-LIMIT what=read-copy bytes=$bytes ms=$(since "$t") rc=$r"
rm -f /run/a /run/b
hib_ok limits "measured"
exit 0
