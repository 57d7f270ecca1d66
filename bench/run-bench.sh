#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make bench`: boot the VM once with bench/scenarios/freeze-bench.sh and
# print freeze / thaw times of 100 and 1000 processes for freeze_processes(2),
# the cgroup-v2 freezer and the PM freezer (median, min, max of the reps).
#
# Needs what `make deps kernel build` made: $HIB_KERNEL (default
# build/kernel/bzImage), build/meson/{hibernatectl/hibernatectl,
# bench/freezebench}.  Environment:
#   BENCH_NS="100 1000"  BENCH_REPS=5  BENCH_BUSY=2   (passed to the guest)
#   BUILD=build/meson    BENCH_OUT=build/bench        (results go there)
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

for f in "$BUILD/hibernatectl/hibernatectl" "$BUILD/bench/freezebench"; do
	[ -x "$f" ] || { echo "run-bench: $f missing: run \`make build\`" >&2; exit 1; }
done
if pgrep -f 'build-kerne[l].sh' >/dev/null; then
	echo "run-bench: warning: a kernel build is running; the numbers will be skewed" >&2
fi

mkdir -p "$OUT"
log=$OUT/vmtest.out
echo "run-bench: booting the VM (TCG; takes several minutes), console: build/vm-logs/freeze-bench.log"
rc=0
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
exit $rc
