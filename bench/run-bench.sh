#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make bench`: boot the VM once with bench/scenarios/freeze-bench.sh and
# print freeze / thaw times of 100 and 1000 processes for freeze_processes(2),
# the cgroup-v2 freezer and the PM freezer (median, min, max of the reps).
# Then the hibernation benchmark: bench/scenarios/hib-bench.sh (2 boots each)
# for the stock kernel's hibernation and ours, with workloads of 25% and 45%
# of RAM (bench/memfill.c), and a table of write MB/s, image size, time to
# power-off and boot-to-running.
#
# Needs what `make deps kernel build` made: $HIB_KERNEL (default
# build/kernel/bzImage), build/meson/{hibernatectl/hibernatectl,
# bench/freezebench}.  Environment:
#   BENCH_NS="100 1000"  BENCH_REPS=5  BENCH_BUSY=2   (passed to the guest)
#   BUILD=build/meson    BENCH_OUT=build/bench        (results go there)
#   BENCH_PARTS="freeze hib net stream"   which parts to run
#   BENCH_STREAM_MIBS="760 800 840 880 890 900 920"  HIB_KERNEL_RELEASE=build/kernel-release/bzImage
#   (stream part: bench/stream-bench.py, the largest image without swap, issue 6)
#   BENCH_HIB_PCTS="25 45"  BENCH_HIB_METHODS="stock ours"   (hibernation part)
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
HIB_PCTS=${BENCH_HIB_PCTS:-25 45}
HIB_METHODS=${BENCH_HIB_METHODS:-stock ours}

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

# ---- hibernation: stock (swap, /sys/power/state) vs ours (hibernatectl) ----
if [[ " $PARTS " == *" hib "* ]]; then
hib_scenario=bench/scenarios/hib-bench.sh
hib_mem=$(sed -n 's/.* mem=\([0-9]*\).*/\1/p' "$hib_scenario" | head -n 1)
: > "$OUT/hib-results.txt"
for pct in $HIB_PCTS; do
	for m in $HIB_METHODS; do
		name=hib-$m-$pct
		if pgrep -f 'build-kerne[l].sh' >/dev/null; then
			echo "run-bench: warning: a kernel build is running; the numbers will be skewed" >&2
		fi
		echo "run-bench: $name: 2 boots (hibernate, resume), console: build/vm-logs/$name.log"
		r=0
		/usr/bin/python3 tests/vm/vmtest.py --kernel "$KERNEL" \
			--bin "$BUILD/hibernatectl/hibernatectl" \
			--bin "$BUILD/bench/memfill" \
			--workdir "$OUT/vm-work" \
			--scenario "$hib_scenario" --name "$name" \
			--append "bench.method=$m bench.pct=$pct bench.ram=$hib_mem" \
			> "$OUT/$name.out" 2>&1 || r=$?
		sed -n '/^vmtest /p' "$OUT/$name.out"
		[ $r = 0 ] || { sed -n '/FAIL/,$p' "$OUT/$name.out"; echo "run-bench: $name failed (exit $r)" >&2; rc=1; }
		# The console lines the table needs, and the disks' written 4 KiB blocks.
		{
			echo "RUN name=$name method=$m pct=$pct"
			grep -a -E '^(===== vmtest|BENCH-HIB|HIBERNATE-STATS)|restoring hibernation image|bench: hibernate start|(Wrote|Read) [0-9]+ kbytes|reboot: Power down' \
				"build/vm-logs/$name.log" | tr -d '\r'
			/usr/bin/python3 - "$OUT/vm-work/$name" <<'EOF'
import os, sys
for d in ('swap', 'image'):
    p = os.path.join(sys.argv[1], d + '.img')
    n = 0
    zero = bytes(1 << 20)
    with open(p, 'rb') as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            if b == zero[:len(b)]:
                continue
            for i in range(0, len(b), 4096):
                if b[i:i + 4096].count(0) != len(b[i:i + 4096]):
                    n += 1
    print('DISK name=%s nonzero_blocks=%d' % (d, n))
EOF
		} >> "$OUT/hib-results.txt"
	done
done

/usr/bin/python3 - "$OUT/hib-results.txt" <<'EOF' | tee "$OUT/hib-table.md"
import re, sys

runs, cur, boot = [], None, 0
for line in open(sys.argv[1]):
    line = line.rstrip('\n')
    kv = dict(x.split('=', 1) for x in line.split() if '=' in x)
    if line.startswith('RUN '):
        cur = {'name': kv['name'], 'method': kv['method'], 'pct': int(kv['pct']), 'boots': {}}
        runs.append(cur)
        continue
    m = re.match(r'===== vmtest \S+ boot (\d+)/\d+', line)
    if m:
        boot = int(m.group(1))
        continue
    m = re.match(r'===== vmtest \S+ boot (\d+) ended after ([\d.]+) s', line)
    if m:
        cur['boots'][int(m.group(1))] = float(m.group(2))
        continue
    ts = re.match(r'\[\s*([\d.]+)\]', line)
    ts = float(ts.group(1)) if ts else None
    for tag in ('BENCH-HIB-INFO', 'BENCH-HIB-START', 'BENCH-HIB-B2', 'BENCH-HIB-RESUMED',
                'BENCH-HIB-FAILED', 'HIBERNATE-STATS', 'DISK'):
        if line.startswith(tag + ' '):
            cur.setdefault(tag + ('-' + kv['name'] if tag == 'DISK' else ''), kv)
    if 'bench: hibernate start' in line and boot == 1:
        cur['t_start'] = ts
    if 'reboot: Power down' in line and boot == 1:
        cur['t_off'] = ts
    m = re.search(r'(Wrote|Read) (\d+) kbytes in ([\d.]+) seconds', line)
    if m:
        cur[m.group(1)] = (int(m.group(2)) * 1024, float(m.group(3)))
    m = re.search(r'restoring hibernation image .*loaded in ([\d.]+) ms', line)
    if m:
        cur['loaded_ms'] = float(m.group(1))

MiB = 1024 * 1024
def f1(x):
    return '-' if x is None else '%.1f' % x

info = next((r['BENCH-HIB-INFO'] for r in runs if 'BENCH-HIB-INFO' in r), {})
print('kernel %s, %s vCPUs, QEMU TCG -cpu max -machine q35 -m %s -smp %s, virtio disks '
      '(cache=unsafe), guest MemTotal %s kB, TSC %.2f GHz'
      % (info.get('kernel', '?'), info.get('cpus', '?'), info.get('ram_mib', '?'),
         info.get('cpus', '?'), info.get('memtotal_kb', '?'),
         float(info.get('tsc_hz', 0)) / 1e9))
print()
print('| method | workload | result | image (raw) MiB | on disk MiB | ratio | write MB/s (raw) '
      '| write s | start -> power-off s | boot -> running s | image load s | swapped out MiB |')
print('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
summary = {}
for r in runs:
    st = r.get('BENCH-HIB-START', {})
    wl = '%d%% (%s MiB)' % (r['pct'], st.get('mib', r.get('BENCH-HIB-INFO', {}).get('mib', '?')))
    if 'BENCH-HIB-FAILED' in r:
        fl = r['BENCH-HIB-FAILED']
        print('| %s | %s | failed: %s | - | - | - | - | - | - | - | - | - |'
              % (r['method'], wl, fl.get('err', '?')))
        continue
    if 'BENCH-HIB-RESUMED' not in r:
        print('| %s | %s | failed: no resume (see build/vm-logs/%s.log) | - | - | - | - | - | - | - | - | - |'
              % (r['method'], wl, r['name']))
        continue
    res = r['BENCH-HIB-RESUMED']
    hz = float(r['BENCH-HIB-INFO']['tsc_hz'])
    b2 = r.get('BENCH-HIB-B2', {})
    swapped = int(res.get('pswpout_pages', 0)) * 4096
    raw = comp = wsec = load = None
    if r['method'] == 'stock' and 'Wrote' in r:
        raw, wsec = r['Wrote']
        # the swap disk's written blocks: header page, image pages (compressed data
        # and swap maps) and pages swapped out while the image memory was preallocated
        comp = (int(r['DISK-swap']['nonzero_blocks']) - 1) * 4096 - swapped
        load = r['Read'][1] if 'Read' in r else None
    elif 'HIBERNATE-STATS' in r:
        hs = r['HIBERNATE-STATS']
        raw, comp = int(hs['raw']), int(hs['compressed'])
        wsec = (float(hs['write_ms']) + float(hs['sync_ms'])) / 1e3
        load = r['loaded_ms'] / 1e3 if 'loaded_ms' in r else None
    off = (r['t_off'] - r['t_start']) if r.get('t_off') is not None and r.get('t_start') is not None else None
    b2r = None
    if b2 and res.get('ans_tsc'):
        kstart = int(b2['tsc']) - float(b2['uptime_ms']) / 1e3 * hz
        b2r = (int(res['ans_tsc']) - kstart) / hz
    mbs = raw / 1e6 / wsec if raw and wsec else None
    summary[(r['method'], r['pct'])] = mbs
    print('| %s | %s | ok%s | %s | %s | %s | %s | %s | %s | %s | %s | %s |'
          % (r['method'], wl, '' if res.get('digest_ok') == '1' else ' (DIGEST MISMATCH)',
             f1(raw / MiB if raw else None), f1(comp / MiB if comp else None),
             '%.2f' % (raw / comp) if raw and comp else '-', f1(mbs), '%.2f' % wsec if wsec else '-',
             '%.2f' % off if off is not None else '-', '%.2f' % b2r if b2r is not None else '-',
             '%.2f' % load if load is not None else '-', f1(swapped / MiB)))
print()
for pct in sorted({p for _, p in summary}):
    s, o = summary.get(('stock', pct)), summary.get(('ours', pct))
    if s and o:
        print('- %d%%: ours / stock write throughput = %.2fx (target >= 2x: %s)'
              % (pct, o / s, 'met' if o / s >= 2 else 'NOT met'))
    else:
        print('- %d%%: no ratio (stock %s, ours %s)' % (pct, 'ok' if s else 'failed',
                                                       'ok' if o else 'failed'))
print()
print('write MB/s = raw image bytes / write time (stock: the kernel\'s own "Wrote N kbytes in '
      'T seconds"; ours: HIBERNATE-STATS write_ms + sync_ms).  start -> power-off: guest printk '
      'clock from "bench: hibernate start" (written to /dev/kmsg right before the command) to '
      '"reboot: Power down".  boot -> running: from the boot-2 kernel start to the resumed '
      'workload\'s answer, on the guest TSC (QEMU/TCG: host ticks since that QEMU started), '
      'kernel start = TSC - uptime at the resume command.  image load: stock "Read ... in T '
      'seconds", ours "loaded in X ms" (both before the atomic restore).  on disk (stock): '
      'non-zero 4 KiB blocks of the swap disk minus the swap header and the pages swapped out.')
for r in runs:
    hs = r.get('HIBERNATE-STATS')
    if hs:
        print('- %s %d%%: freeze %s ms, snapshot %s ms, write %s ms, sync %s ms (%s threads)'
              % (r['method'], r['pct'], hs['freeze_ms'], hs['snapshot_ms'], hs['write_ms'],
                 hs['sync_ms'], hs['threads']))
    if r['boots']:
        print('- %s %d%%: QEMU wall per boot (host): %s'
              % (r['method'], r['pct'], ', '.join('boot %d %.1f s' % kv for kv in sorted(r['boots'].items()))))
EOF
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
