#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make bench`: boot the VM once with bench/scenarios/freeze-bench.sh and
# print freeze / thaw times of 100 and 1000 processes for freeze_processes(2),
# the cgroup-v2 freezer and the PM freezer (median, min, max of the reps).
# Then the hibernation benchmark on the release kernel ($HIB_KERNEL_RELEASE):
# bench/scenarios/hib-bench.sh (2 boots each) for the stock kernel's hibernation
# (swap; hibernate.compressor=lz4 and =lzo) and ours (hibernatectl to the raw disk),
# workloads of 25/45/70/88% of MemTotal (bench/memfill.c; 88%: ours only), runs
# alternating, plus bench/scenarios/hib-limits.sh (lz4 and O_DIRECT disk rates in
# the same VM); bench/hib-table.py prints the side-by-side table.
#
# Needs what `make deps kernel build` made: $HIB_KERNEL (default
# build/kernel/bzImage), build/meson/{hibernatectl/hibernatectl,
# bench/freezebench}.  Environment:
#   BENCH_NS="100 1000"  BENCH_REPS=5  BENCH_BUSY=2   (passed to the guest)
#   BUILD=build/meson    BENCH_OUT=build/bench        (results go there)
#   BENCH_PARTS="freeze hib net stream"   which parts to run
#   BENCH_STREAM_MIBS="760 800 840 880 890 900 920"  HIB_KERNEL_RELEASE=build/kernel-release/bzImage
#   (stream part: bench/stream-bench.py, the largest image without swap, issue 6)
#   hibernation part: BENCH_HIB_PCTS="25 45 70 88" (88: the largest that fits the VM's
#   resume-reserve = 60, vmtest.py; 89%, 931.4 MiB, is refused by 23 pages)
#   BENCH_HIB_METHODS="stock-lz4 stock-lzo ours"  BENCH_HIB_REPS=3 (1 for a smoke run)
#   BENCH_HIB_SMP1_PCTS="45" (sizes also run, every method, in the same VM with -smp 1: how
#   both writers scale with the vCPUs; "" for none)
#   BENCH_HIB_PREALLOC=1 (every hibernation-part boot with QEMU -mem-prealloc: the host has
#   touched all guest memory before the guest runs; on this VM-in-a-VM host a first touch
#   costs ~9 us a page, in whichever loop touches it first, varying run to run)
#   BENCH_HIB_PROFILE=1 (the ours rows' boot 2 first loads the image under `perf record -a
#   -g` without restoring it (a test build's HIBERNATE_FAULT=fail=invalidate), then resumes
#   as usual: the row's figures are the second load's; the profile goes to
#   $OUT/NAME.profile.txt; needs the perf command, Debian's linux-perf)
#   BENCH_HIB_OURS_ONLY="88" (sizes without stock rows)  BENCH_HIB_THP_OFF="" (sizes
#   booted with transparent_hugepage=never; none since patches 0030-0032, which let the
#   88% row run with THP as the kernel ships it, as vm-stream-880 does)  BENCH_HIB_LIMITS=1 (0:
#   no limits boot)  BENCH_HIB_LIMIT_MIB=256 (data for the lz4 / disk rates)
#   continuing an interrupted run: BENCH_HIB_REP_FIRST=N (first repetition's number)
#   BENCH_HIB_APPEND=1 (add to hib-results.txt)  BENCH_HIB_DEADLINE=EPOCH_S (no VM run
#   starts after it)
#   BENCH_NET_MIB=512  BENCH_NET_REPS=5   (net part: bench/netbench on the host, image
#   write / read through the file sink on local disk and the HTTP sink to a WebDAV nginx
#   on 127.0.0.1, with and without encryption)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BUILD=${BUILD:-build/meson}
OUT=${BENCH_OUT:-build/bench}
KERNEL=${HIB_KERNEL:-build/kernel/bzImage}
NS=${BENCH_NS:-100 1000}
REPS=${BENCH_REPS:-5}
BUSY=${BENCH_BUSY:-2}
scenario=bench/scenarios/freeze-bench.sh

PARTS=${BENCH_PARTS:-freeze hib net stream}
HIB_PCTS=${BENCH_HIB_PCTS:-25 45 70 88}
HIB_METHODS=${BENCH_HIB_METHODS:-stock-lz4 stock-lzo ours}
HIB_REPS=${BENCH_HIB_REPS:-3}
HIB_OURS_ONLY=${BENCH_HIB_OURS_ONLY:-88}
HIB_SMP1_PCTS=${BENCH_HIB_SMP1_PCTS-45}
HIB_THP_OFF=${BENCH_HIB_THP_OFF-}
HIB_LIMITS=${BENCH_HIB_LIMITS:-1}
HIB_LIMIT_MIB=${BENCH_HIB_LIMIT_MIB:-256}
HIB_PREALLOC=${BENCH_HIB_PREALLOC:-}
[ "$HIB_PREALLOC" = 0 ] && HIB_PREALLOC=
HIB_PROFILE=${BENCH_HIB_PROFILE:-}
[ "$HIB_PROFILE" = 0 ] && HIB_PROFILE=

for f in "$BUILD/hibernatectl/hibernatectl" "$BUILD/bench/freezebench" "$BUILD/bench/memfill"; do
	[ -x "$f" ] || { echo "run-bench: $f missing: run \`make build\`" >&2; exit 1; }
done
if pgrep -f 'build-kerne[l].sh' >/dev/null; then
	echo "run-bench: warning: a kernel build is running; the numbers will be skewed" >&2
fi

mkdir -p "$OUT"
rc=0
if [[ " $PARTS " == *" freeze "* ]]; then
log=$OUT/vmtest.out
echo "run-bench: booting the VM (TCG; takes several minutes), console: build/vm-logs/freeze-bench.log"
/usr/bin/python3 tests/vm/vmtest.py --kernel "$KERNEL" \
	--bin "$BUILD/hibernatectl/hibernatectl" \
	--bin "$BUILD/bench/freezebench" \
	--workdir "$OUT/vm-work" \
	--scenario "$scenario" --name freeze-bench \
	--append "bench.ns=${NS// /,} bench.reps=$REPS bench.busy=$BUSY" \
	--show '^(BENCH|HIBTEST (not ok|done))' > "$log" 2>&1 || rc=$?
grep -v '^BENCH' "$log" | sed -n '/^vmtest freeze-bench: /p' | head -n 1
[ $rc = 0 ] || { sed -n '/FAIL/,$p' "$log"; echo "run-bench: the VM run failed (exit $rc)" >&2; }

console=build/vm-logs/freeze-bench.log
grep -a '^BENCH' "$console" | tr -d '\r' > "$OUT/results.txt" || true
[ -s "$OUT/results.txt" ] || { echo "run-bench: no BENCH lines in $console" >&2; exit 1; }

qemu_line=$(grep -a -m1 '^===== vmtest freeze-bench boot 1' "$console" || true)
mem=$(sed -n 's/.* -m \([0-9]*\) .*/\1/p' <<<"$qemu_line")
smp=$(sed -n 's/.* -smp \([0-9]*\) .*/\1/p' <<<"$qemu_line")

/usr/bin/python3 - "$OUT/results.txt" "$mem" "$smp" <<'EOF' | tee "$OUT/table.md"
import statistics, sys

path, mem, smp = sys.argv[1:4]
rows, info = {}, {}
for line in open(path):
    kind, _, rest = line.strip().partition(' ')
    kv = dict(x.split('=', 1) for x in rest.split() if '=' in x)
    if kind == 'BENCH-INFO':
        info.update({(k if 'n' not in kv or k == 'n' else k + '@' + kv['n']): v
                     for k, v in kv.items()})
        continue
    r = rows.setdefault((kv['method'], int(kv['n'])), {})
    for k, v in kv.items():
        try:
            r.setdefault(k, []).append(float(v))
        except ValueError:
            pass

def stat(xs):
    if not xs:
        return '-', '-', '-'
    f = lambda x: '%.1f' % x
    return f(statistics.median(xs)), f(min(xs)), f(max(xs))

order = {'freeze_processes': 0, 'cgroup2': 1, 'pm_freezer': 2}
print('kernel %s, %s vCPUs (QEMU TCG -cpu max, -m %s -smp %s), guest MemTotal %s kB'
      % (info.get('kernel', '?'), info.get('cpus', '?'), mem, smp,
         info.get('memtotal_kb', '?')))
print()
print('| method | n | reps | freeze median | freeze min | freeze max '
      '| thaw median | thaw min | thaw max | tasks |')
print('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
for (m, n) in sorted(rows, key=lambda k: (k[1], order.get(k[0], 9))):
    r = rows[(m, n)]
    fz, th = stat(r.get('freeze_ms', [])), stat(r.get('thaw_ms', []))
    tasks = r.get('tasks_frozen') or r.get('tasks') or []
    print('| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s |'
          % (m, n, len(r.get('freeze_ms', [])), *fz, *th,
             '%d' % statistics.median(tasks) if tasks else 'all user'))
print()
print('All times in ms.  pm_freezer extras (median, min, max):')
for (m, n) in sorted(rows, key=lambda k: k[1]):
    if m != 'pm_freezer':
        continue
    r = rows[(m, n)]
    for k, what in (('freeze_ts_ms', 'user freeze from log time stamps'),
                    ('kthreads_ms', 'kernel threads freeze (kernel figure)'),
                    ('total_ms', 'whole `echo disk > /sys/power/state`')):
        print('- n=%d %s: %s / %s / %s' % (n, what, *stat(r.get(k, []))))
EOF
fi	# freeze part

# ---- hibernation: the stock kernel's own (swap, lz4 / lzo) vs ours (hibernatectl) ----
# The same release kernel, VM, workload (memfill) and disk; runs alternate (per repetition:
# the limits boot, then per size stock-lz4, stock-lzo, ours); bench/hib-table.py prints the
# median (min-max) per cell.  Raw lines: $OUT/hib-results.txt.
if [[ " $PARTS " == *" hib "* ]]; then
rel=${HIB_KERNEL_RELEASE:-build/kernel-release/bzImage}
[ -f "$rel" ] || { echo "run-bench: $rel missing: run \`make kernel\` (release flavor)" >&2; exit 1; }
relcfg=$(dirname "$rel")/.config
hib_scenario=bench/scenarios/hib-bench.sh
hib_mem=$(sed -n 's/.* mem=\([0-9]*\).*/\1/p' "$hib_scenario" | head -n 1)
lz4bin=$(command -v lz4 || true)
[ -n "$lz4bin" ] || { echo "run-bench: the lz4 command is missing: run \`make deps\`" >&2; exit 1; }
perfbin=
if [ -n "$HIB_PROFILE" ]; then
	perfbin=$(command -v perf || true)
	[ -n "$perfbin" ] || { echo "run-bench: BENCH_HIB_PROFILE needs the perf command (apt-get install linux-perf)" >&2; exit 1; }
fi
mkdir -p "$OUT/vm-logs"
res=$OUT/hib-results.txt
t_hib=$(date +%s)
# BENCH_HIB_APPEND=1 adds to $res (continuing an interrupted run with BENCH_HIB_REP_FIRST)
[ "${BENCH_HIB_APPEND:-0}" = 1 ] || : > "$res"
{
	echo "HOST kernel=$rel date=$(date -u +%Y-%m-%dT%H:%MZ) reps=$HIB_REPS"
	echo "HOSTLINE kernel $rel: $(cat "$(dirname "$rel")/kernel.release" 2>/dev/null), flavor $(cat "$(dirname "$rel")/flavor" 2>/dev/null), input hash $(cat "$(dirname "$rel")/hash" 2>/dev/null), built $(date -u -r "$rel" +%Y-%m-%dT%H:%MZ)"
	echo "HOSTLINE host: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), $(qemu-system-x86_64 --version | head -n 1)"
	[ -z "$HIB_PREALLOC" ] || echo "HOSTLINE every boot with QEMU -mem-prealloc (BENCH_HIB_PREALLOC)"
	[ -z "$HIB_PROFILE" ] || echo "HOSTLINE the ours rows' boot 2 loaded the image once under perf record, not restored (BENCH_HIB_PROFILE), then resumed: their load figures are the second load's"
	echo "HOSTLINE kernel config: $(grep -E '^CONFIG_CRYPTO_(LZ4|LZO)=' "$relcfg" 2>/dev/null | tr '\n' ' ' || true)$(grep -q '^CONFIG_CRYPTO_LZ4=' "$relcfg" 2>/dev/null || echo '(no CONFIG_CRYPTO_LZ4: the stock-lz4 rows must fail)')"
} >> "$res"
# run_hib NAME REP SCENARIO APPEND KIND [method pct [smp]]
run_hib() {
	local name=$1 rep=$2 scen=$3 app=$4 kind=$5 m=${6:-} pct=${7:-} smp=${8:-} r=0 w=0
	# BENCH_HIB_DEADLINE (date +%s): start no VM run after it
	if [ -n "${BENCH_HIB_DEADLINE:-}" ] && [ "$(date +%s)" -ge "$BENCH_HIB_DEADLINE" ]; then
		echo "run-bench: deadline reached, $name not run"
		echo "HOSTLINE deadline reached: $name not run" >> "$res"
		return 0
	fi
	# Kernel builds take both CPUs: wait for them (BENCH_WAIT_BUILD=0: warn only).
	# (checked twice, 5 s apart: `make kernel` builds two flavors one after the other)
	while [ "${BENCH_WAIT_BUILD:-1}" = 1 ] && { pgrep -f 'build-kerne[l].sh' >/dev/null ||
		{ sleep 5; pgrep -f 'build-kerne[l].sh' >/dev/null; }; }; do
		[ $w = 0 ] && echo "run-bench: a kernel build is running; waiting before $name"
		sleep 20
		w=$((w + 20))
	done
	[ $w = 0 ] || echo "HOSTLINE waited ${w} s for a kernel build before $name" >> "$res"
	if pgrep -f 'build-kerne[l].sh' >/dev/null; then
		echo "run-bench: warning: a kernel build is running; the numbers will be skewed" >&2
		echo "HOSTLINE warning: a kernel build was running at the start of $name" >> "$res"
	fi
	echo "run-bench: $name ($(date -u +%H:%M:%S)), console: $OUT/vm-logs/$name.log"
	/usr/bin/python3 tests/vm/vmtest.py --kernel "$rel" \
		--bin "$BUILD/hibernatectl/hibernatectl" \
		--bin "$BUILD/bench/memfill" --bin "$lz4bin" ${perfbin:+--bin "$perfbin"} \
		--workdir "$OUT/vm-work" --logdir "$OUT/vm-logs" \
		--scenario "$scen" --name "$name" --append "$app${HIB_PROFILE:+ bench.profile=1}" \
		${smp:+--force-smp "$smp"} \
		${HIB_PREALLOC:+--mem-prealloc} \
		--stamp 'bench: hibernate start|reboot: Power down|BENCH-HIB-ANSWER' \
		> "$OUT/$name.out" 2>&1 || r=$?
	if pgrep -f 'build-kerne[l].sh' >/dev/null; then
		echo "run-bench: warning: a kernel build started during $name" >&2
		echo "HOSTLINE warning: a kernel build was running at the end of $name" >> "$res"
	fi
	sed -n '/^vmtest /p' "$OUT/$name.out"
	if [ $r != 0 ]; then
		sed -n '/FAIL/,$p' "$OUT/$name.out"
		echo "run-bench: $name failed (exit $r)" >&2
		rc=1
	fi
	{
		if [ "$kind" = limits ]; then
			echo "LIMITS name=$name rep=$rep"
		else
			echo "RUN name=$name method=$m pct=$pct rep=$rep${smp:+ smp=$smp} append=${app// /,}"
		fi
		grep -a -E '^(===== vmtest|BENCH-|HIBERNATE-STATS|HIBTEST (not ok|ok (hibernate|resume)))|restoring hibernation image|bench: hibernate start|PM: |reboot: Power down' \
			"$OUT/vm-logs/$name.log" | tr -d '\r'
		grep -E '^vmtest .*: (PASS|FAIL)' "$OUT/$name.out" || true
	} >> "$res"
	if grep -a -q '^PROFILE ' "$OUT/vm-logs/$name.log"; then
		sed -n 's/^PROFILE //p' "$OUT/vm-logs/$name.log" | tr -d '\r' > "$OUT/$name.profile.txt"
		echo "run-bench: $name: profile of the load in $OUT/$name.profile.txt"
	fi
	rm -rf "${OUT:?}/vm-work/$name"	# 2 x 1.6 GB disk files
}
first=${BENCH_HIB_REP_FIRST:-1}
for rep in $(seq "$first" $((first + HIB_REPS - 1))); do
	[ "$HIB_LIMITS" = 0 ] || run_hib "hib-limits-r$rep" "$rep" bench/scenarios/hib-limits.sh \
		"bench.limit_mib=$HIB_LIMIT_MIB" limits
	for pct in $HIB_PCTS; do
		for m in $HIB_METHODS; do
			app="bench.method=$m bench.pct=$pct bench.ram=$hib_mem"
			case $m in
			stock-*)
				[[ " $HIB_OURS_ONLY " == *" $pct "* ]] && continue
				app="$app hibernate.compressor=${m#stock-}" ;;
			esac
			[[ " $HIB_THP_OFF " == *" $pct "* ]] && app="$app transparent_hugepage=never"
			run_hib "hib-$m-$pct-r$rep" "$rep" "$hib_scenario" "$app" hib "$m" "$pct"
		done
	done
	# the scaling rows: the same runs in a 1-vCPU VM (stock's compression threads and
	# hibernatectl's workers both follow the CPU count)
	for pct in $HIB_SMP1_PCTS; do
		for m in $HIB_METHODS; do
			[[ $m == stock-* && " $HIB_OURS_ONLY " == *" $pct "* ]] && continue
			app="bench.method=$m bench.pct=$pct bench.ram=$hib_mem"
			[[ $m == stock-* ]] && app="$app hibernate.compressor=${m#stock-}"
			run_hib "hib-$m-$pct-smp1-r$rep" "$rep" "$hib_scenario" "$app" hib "$m" "$pct" 1
		done
	done
done
echo "HOSTLINE the hibernation part took $(( $(date +%s) - t_hib )) s" >> "$res"
/usr/bin/python3 bench/hib-table.py "$res" | tee "$OUT/hib-table.md"
fi

# ---- image throughput through the sinks, on the host (no VM) ----
if [[ " $PARTS " == *" net "* ]]; then
[ -x "$BUILD/bench/netbench" ] || { echo "run-bench: $BUILD/bench/netbench missing: run \`make build\`" >&2; exit 1; }
echo "run-bench: net: ${BENCH_NET_MIB:-512} MiB image, ${BENCH_NET_REPS:-5} runs each, file sink in $OUT and nginx on 127.0.0.1 storing in $OUT"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
r=0
TMPDIR=$OUT /usr/bin/python3 tests/vm/with-nginx.py --expect-empty --host-url -- \
	"$BUILD/bench/netbench" --dir "$OUT" --mib "${BENCH_NET_MIB:-512}" \
	--reps "${BENCH_NET_REPS:-5}" > "$OUT/net.out" 2> "$OUT/net.err" || r=$?
grep -E '^(NETBENCH-INFO|\|)' "$OUT/net.out" | tee "$OUT/net-table.md"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ $r = 0 ] || { cat "$OUT/net.err" "$OUT/net.out" >&2; echo "run-bench: net part failed (exit $r)" >&2; rc=1; }
# The same through an S3 store: a throwaway Ceph RGW (memstore OSD) on 127.0.0.1, multipart
# upload in parts of the default 8 MiB.
r=0
/usr/bin/python3 tests/vm/with-rgw.py --expect-empty --host -- sh -c \
	'HIBERNATE_S3_CREDENTIALS_FILE=$HIBERNATE_TEST_S3_CREDENTIALS exec "$0" \
	--url "$HIBERNATE_TEST_S3_URL" "$@"' "$BUILD/bench/netbench" --dir "$OUT" \
	--label "s3 (Ceph RGW, memstore, 127.0.0.1)" --mib "${BENCH_NET_MIB:-512}" \
	--reps "${BENCH_NET_REPS:-5}" > "$OUT/net-s3.out" 2> "$OUT/net-s3.err" || r=$?
grep -E '^\|' "$OUT/net-s3.out" | tail -n +3 | tee -a "$OUT/net-table.md"
[ $r = 0 ] || { cat "$OUT/net-s3.err" "$OUT/net-s3.out" >&2; echo "run-bench: net part (s3) failed (exit $r)" >&2; rc=1; }
fi
# ---- images of most of RAM without swap: copy every page vs stream from frames ----
if [[ " $PARTS " == *" stream "* ]]; then
rel=${HIB_KERNEL_RELEASE:-build/kernel-release/bzImage}
[ -f "$rel" ] || { echo "run-bench: $rel missing: run \`make kernel\`" >&2; exit 1; }
mibs=()
for m in ${BENCH_STREAM_MIBS:-760 800 840 880 890 900 920}; do mibs+=(--mib "$m"); done
r=0
/usr/bin/python3 bench/stream-bench.py --kernel "$rel" --build "$BUILD" --out "$OUT" \
	"${mibs[@]}" | tee "$OUT/stream-table.md" || r=$?
[ $r = 0 ] || { echo "run-bench: stream part failed (exit $r)" >&2; rc=1; }
fi
exit $rc
