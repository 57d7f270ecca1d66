#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmtest: timeout=900 boots=2 disks=hib:1600M,mark:4M mem=1024 smp=2
#
# `make bench`, hibernation part: one hibernate -> power-off -> resume cycle of a
# `memfill` workload (bench.pct percent of the guest's MemTotal: thirds of random,
# text-like and zero pages) with either
#   bench.method=stock-lz4   the kernel's own hibernation: mkswap + swapon $HIB_DISK_hib,
#   bench.method=stock-lzo   echo shutdown > /sys/power/disk; echo disk > /sys/power/state;
#                            boot 2 resumes with echo MAJ:MIN > /sys/power/resume (the
#                            compressor is hibernate.compressor= on the kernel command
#                            line, which bench/run-bench.sh passes)
#   bench.method=ours        hibernatectl hibernate --output $HIB_DISK_hib (the raw disk);
#                            boot 2 runs hibernatectl resume --input $HIB_DISK_hib
# Both methods use the same disk ($HIB_DISK_hib) and the same QEMU machine; the small
# disk "mark" only carries the "boot 1's hibernation failed" marker to boot 2.
#
# Lines for bench/hib-table.py (key=value):
#   BENCH-HIB-INFO    kernel, memory, workload size, tsc_hz
#   BENCH-HIB-START   the workload's state right before the hibernate command
#   BENCH-HIB-B2      boot 2, right before the resume: uptime_ms and raw TSC
#   BENCH-HIB-RESUMED in the resumed system: the workload's answer (raw TSC), digest,
#                     its pages in swap (VmSwap) and the first full pass over its memory
#   BENCH-HIB-FAILED  the hibernate command returned an error (recorded, not hidden),
#   BENCH-HIB-FAILMSG followed by the kernel's / hibernatectl's own reason (free text)
# plus kernel log lines on the console (printk time stamps on, console loglevel 7):
# "bench: hibernate start" (written to /dev/kmsg), "PM: ..." (stock: "Allocated",
# "Image created", "Using N thread(s) for X compression", "Image size after compression",
# "Wrote/Read N kbytes in T seconds"; ours: "Image created (... streamed ...)"),
# "reboot: Power down".
. /lib/hibtest.sh

METHOD=ours PCT=25 RAM=1024 SEED=20261122 PROFILE=0
for a in $(cat /proc/cmdline); do
	case "$a" in
	bench.profile=*) PROFILE=${a#bench.profile=} ;;
	bench.method=*) METHOD=${a#bench.method=} ;;
	bench.pct=*) PCT=${a#bench.pct=} ;;
	bench.ram=*) RAM=${a#bench.ram=} ;;
	esac
done
D=/run/memfill
# A marker in the first sector of the "mark" disk tells boot 2 that boot 1's
# hibernation failed (so "no image" is then expected).
spare=$HIB_DISK_mark
MARK=HIBBENCH-HIBERNATE-FAILED
case $METHOD in stock-*) STOCK=1 ;; *) STOCK= ;; esac

# Kernel messages with time stamps on the console (the hibernating kernel's "Wrote"
# line and "Power down" are never in a log that survives, only on the console).
echo 1 > /sys/module/printk/parameters/time
uptime_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
tsc() { memfill clock | sed 's/tsc=//'; }

# BENCH_HIB_PROFILE (bench.profile=1): load the image under perf record and stop before the
# restore (a test build's fail=invalidate: the image stays valid), then print where the CPU
# went, lines "PROFILE ...", which run-bench.sh puts into NAME.profile.txt.
profile_load() {
	local d=/tmp/profile
	mkdir -p $d
	HIBERNATE_FAULT=fail=invalidate perf record -q -a -g -F 1000 -o $d/perf.data -- \
		hibernatectl resume --input "$HIB_DISK_hib" > $d/out 2>&1
	echo "PROFILE # the load of $METHOD $PCT% under perf record -a -g, not restored (exit $?):"
	grep -E 'load stages|loaded in|fault injected|test build' $d/out | sed 's/^/PROFILE # /'
	{
		perf report -i $d/perf.data --stdio --no-children --sort comm,dso,sym -g none \
			--percent-limit 0.3
		perf report -i $d/perf.data --stdio --no-children --sort sym -g caller,0.5,callee \
			--percent-limit 2
	} 2>&1 | grep -v -e '^$' -e 'tips.txt' | sed 's/^/PROFILE /'
	rm -rf $d
}

case $HIB_BOOT in
1)
	ram_mib=$RAM	# QEMU -m, from run-bench.sh
	memtotal_kb=$(awk '/MemTotal/ { print $2 }' /proc/meminfo)
	mib=$(( memtotal_kb * PCT / 100 / 1024 ))	# percent of MemTotal
	hz=$(memfill tsc-hz)
	echo "BENCH-HIB-INFO method=$METHOD pct=$PCT kernel=$(uname -r) cpus=$(nproc)" \
		"memtotal_kb=$memtotal_kb ram_mib=$ram_mib" \
		"mib=$mib tsc_hz=$hz cmdline_thp=$(sed -n 's/.*transparent_hugepage=\([a-z]*\).*/\1/p' /proc/cmdline) boot1_uptime_ms=$(uptime_ms) boot1_tsc=$(tsc)"

	if [ -n "$STOCK" ]; then
		hib_check mkswap mkswap "$HIB_DISK_hib" || exit 0
		hib_check swapon swapon "$HIB_DISK_hib" || exit 0
		echo shutdown > /sys/power/disk
		comp=$(cat /sys/module/hibernate/parameters/compressor 2>/dev/null)
		hib_log "/sys/power/disk: $(cat /sys/power/disk); image_size $(cat /sys/power/image_size);" \
			"compressor ${comp:-?}"
		# The kernel ignores hibernate.compressor=X (a pr_debug only) when X is not
		# built in and keeps its default: that would be a mislabelled row.
		if [ "$comp" != "${METHOD#stock-}" ]; then
			echo "BENCH-HIB-FAILED method=$METHOD pct=$PCT mib=$mib rc=1 err=compressor-unavailable after_ms=0"
			echo "BENCH-HIB-FAILMSG hibernate.compressor=${METHOD#stock-} not accepted, the kernel kept '${comp:-?}' (CONFIG_CRYPTO_$(echo "${METHOD#stock-}" | tr a-z A-Z) not set?): not run"
			printf '%s\n' "$MARK" | dd of="$spare" bs=512 count=1 conv=notrunc 2>/dev/null
			sync
			hib_ok hibernate-$METHOD-$PCT "not run: compressor ${METHOD#stock-} unavailable (recorded)"
			exit 0
		fi
	fi

	mkdir -p $D
	memfill run --mib "$mib" --seed $SEED --dir $D &
	i=0
	while [ ! -e $D/ready ] && [ $i -lt 6000 ]; do sleep 0.1; i=$((i + 1)); done
	if [ ! -e $D/ready ]; then
		hib_notok workload-start "memfill not ready after 600 s"
		exit 0
	fi
	pid=$(cat $D/pid)
	ready=$(cat $D/ready)
	digest=$(echo "$ready" | sed 's/.*digest=\([0-9a-f]*\).*/\1/')
	rss=$(awk '/^VmRSS/ { print $2 }' /proc/$pid/status)
	swap_kb=$(awk '/^VmSwap/ { print $2 }' /proc/$pid/status)
	if [ "$rss" -ge $(( mib * 1024 )) ]; then
		hib_ok workload-resident "$mib MiB, VmRSS $rss kB, VmSwap $swap_kb kB ($ready)"
	else
		hib_notok workload-resident "VmRSS $rss kB < $mib MiB"
	fi
	pswpout0=$(awk '/^pswpout/ { print $2 }' /proc/vmstat)
	sync
	echo 3 > /proc/sys/vm/drop_caches
	echo "BENCH-HIB-START method=$METHOD pct=$PCT mib=$mib pid=$pid rss_kb=$rss" \
		"memfree_kb=$(awk '/MemFree/ { print $2 }' /proc/meminfo)" \
		"memavail_kb=$(awk '/MemAvailable/ { print $2 }' /proc/meminfo) $ready"

	echo 7 > /proc/sys/kernel/printk
	hib_expect_poweroff
	echo "bench: hibernate start" > /dev/kmsg
	t0=$(uptime_ms)
	if [ -n "$STOCK" ]; then
		out=$( (echo disk > /sys/power/state) 2>&1 )
		rc=$?
	else
		hibernatectl hibernate --output "$HIB_DISK_hib" 2> /run/hib.err
		rc=$?
		out="exit $rc: $(cat /run/hib.err)"
		cat /run/hib.err
	fi
	# Resumed (or the hibernation failed): time the workload's first answer.
	ans=$(memfill ask $D ping)
	echo "BENCH-HIB-ANSWER $ans"	# the host stamps this line (vmtest --stamp)
	echo 5 > /proc/sys/kernel/printk
	if [ $rc != 0 ]; then
		err=$(echo "$out" | sed -n 's/.*\(Cannot allocate memory\|not enough free memory\).*/ENOMEM/p' | head -n 1)
		[ -n "$err" ] || err=$(echo "$out" | tail -n 1 | tr ' ' '_')
		echo "BENCH-HIB-FAILED method=$METHOD pct=$PCT mib=$mib rc=$rc err=$err after_ms=$(( $(uptime_ms) - t0 ))"
		# The reason in the kernel's words (the last of its error lines), else the
		# command's last line.
		why=$(dmesg | sed -n '/bench: hibernate start/,$p' | grep -E 'pages short|Not enough|not available|[Ee]rror -?[0-9]+|[Cc]annot|[Ff]ailed|ENOMEM' | sed 's/^\[[ 0-9.]*\] //' | tail -n 2 | tr '\n' ';')
		echo "BENCH-HIB-FAILMSG ${why:+kernel: $why }command: $(echo "$out" | tail -n 1)"
		printf '%s\n' "$MARK" | dd of="$spare" bs=512 count=1 conv=notrunc 2>/dev/null
		sync
		if [ -n "$STOCK" ]; then
			# The stock kernel's limit: an outcome to record, not a test failure.
			hib_ok hibernate-$METHOD-$PCT "failed: $err (recorded): $out"
		else
			hib_notok hibernate-$METHOD-$PCT "failed: $err: $out"
		fi
		[ -n "$ans" ] && hib_ok workload-alive "$ans" || hib_notok workload-alive "no answer"
		exit 0
	fi
	tsc_ans=$(echo "$ans" | sed -n 's/^pong tsc=\([0-9]*\)$/\1/p')
	# What of the workload is in swap, not in memory (the stock kernel swaps workload
	# pages out to make room for its copy): before the digest brings it back.
	vmswap0=$(awk '/^VmSwap/ { print $2 }' /proc/$pid/status)
	d=$(memfill ask $D digest)
	got=$(echo "$d" | sed 's/^digest=\([0-9a-f]*\).*/\1/')
	pswpout1=$(awk '/^pswpout/ { print $2 }' /proc/vmstat)
	rss1=$(awk '/^VmRSS/ { print $2 }' /proc/$pid/status)
	vmswap1=$(awk '/^VmSwap/ { print $2 }' /proc/$pid/status)
	# The digest is the workload's first full pass over its memory after the resume
	# (what it had in swap comes back then): its "ms=" is that pass.
	dms=$(echo "$d" | sed -n 's/.* ms=\([0-9]*\).*/\1/p')
	echo "BENCH-HIB-RESUMED method=$METHOD pct=$PCT mib=$mib ans_tsc=$tsc_ans" \
		"pswpout_pages=$(( pswpout1 - pswpout0 )) rss_kb=$rss1 vmswap_before_pass_kb=${vmswap0:-0} vmswap_kb=${vmswap1:-0}" \
		"digest_ms=${dms:-0} digest_ok=$([ "$got" = "$digest" ] && echo 1 || echo 0)"
	[ -n "$tsc_ans" ] && hib_ok workload-answers "$ans" || hib_notok workload-answers "$ans"
	if [ "$got" = "$digest" ]; then
		hib_ok workload-digest "$d"
	else
		hib_notok workload-digest "before $digest, after: $d"
	fi
	[ -d /proc/$pid ] && hib_ok workload-same-pid "$pid" || hib_notok workload-same-pid "$pid gone"
	;;
2)
	echo 7 > /proc/sys/kernel/printk
	if [ -n "$STOCK" ]; then
		dev=$(cat /sys/block/${HIB_DISK_hib#/dev/}/dev)
		echo "BENCH-HIB-B2 method=$METHOD uptime_ms=$(uptime_ms) tsc=$(tsc)"
		echo "$dev" > /sys/power/resume
		rc=$?
	else
		[ "$PROFILE" = 1 ] && profile_load
		echo "BENCH-HIB-B2 method=$METHOD uptime_ms=$(uptime_ms) tsc=$(tsc)"
		hibernatectl resume --input "$HIB_DISK_hib"
		rc=$?
	fi
	echo 5 > /proc/sys/kernel/printk
	# Still here: nothing was resumed.
	if [ "$(dd if="$spare" bs=512 count=1 2>/dev/null | head -n 1)" = "$MARK" ]; then
		hib_ok resume-nothing "boot 1's hibernation had failed; no image (rc $rc)"
	else
		hib_notok resume-returned "resume returned $rc without restoring"
	fi
	;;
esac
exit 0
