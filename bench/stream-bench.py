#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""`make bench` part "stream" (issue 6): the largest workload that hibernates and
resumes in a 1 GiB guest without swap, copying every page (what the stock
kernel does: hibernatectl --no-stream) and streaming frozen tasks' pages from
their frames; pages copied as % of RAM; time to power off and to resume.

Runs tests/vm/scenarios/stream.sh (the vm-stream test) once per size, on the
release kernel (build/kernel-release: the series without lockdep), and prints a
markdown table.  Usage: stream-bench.py --kernel BZIMAGE --build BUILD --out DIR
[--mib N]...  Each run takes 1-3 minutes under TCG.
"""
import argparse
import os
import re
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(args, mib):
    name = 'stream-bench-%d' % mib
    cmd = [sys.executable, os.path.join(TOP, 'tests/vm/vmtest.py'),
           '--kernel', args.kernel,
           '--bin', os.path.join(args.build, 'hibernatectl/hibernatectl'),
           '--bin', os.path.join(args.build, 'tests/vm/hibstate'),
           '--bin', os.path.join(args.build, 'tests/vm/hibworkload'),
           '--workdir', os.path.join(args.out, 'vm-work'),
           '--logdir', os.path.join(args.out, 'vm-logs'),
           '--scenario', os.path.join(TOP, 'tests/vm/scenarios/stream.sh'),
           '--name', name, '--append', 'hibtest.mib=%d hibtest.extras=no hibtest.helper=no%s' % (mib, args.thp)]
    print('stream-bench: %d MiB: %s' % (mib, ' '.join(cmd)), file=sys.stderr)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = open(os.path.join(args.out, 'vm-logs', name + '.log'), errors='replace').read()
    r = {'mib': mib, 'vmtest_rc': p.returncode}
    ok = {n: s for s, n in re.findall(r'HIBTEST (ok|not ok) (\S+)', log)}
    r['copy_fails'] = ok.get('stream-copy-path-fails') == 'ok'
    r['resumed'] = (ok.get('stream-resumed') == 'ok' and
                    ok.get('stream-memory-digest') == 'ok')
    short = re.findall(r'Image allocation is (\d+) pages short', log)
    r['copy_short'] = short[0] if short else None
    r['stream_short'] = short[1] if len(short) > 1 else None
    m = re.search(r'MemTotal (\d+) kB', log)
    r['memtotal_kb'] = int(m.group(1)) if m else None
    m = re.search(r'HIBERNATE-STATS (.*)', log)
    if m:
        r['stats'] = dict(kv.split('=', 1) for kv in m.group(1).split())
    m = re.search(r'restoring hibernation image .*loaded in ([\d.]+) ms', log)
    r['load_ms'] = float(m.group(1)) if m else None
    r['boots'] = {int(b): float(s) for b, s in
                  re.findall(r'===== vmtest \S+ boot (\d+) ended after ([\d.]+) s', log)}
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--kernel', required=True)
    ap.add_argument('--build', default='build/meson')
    ap.add_argument('--out', default='build/bench')
    ap.add_argument('--mib', type=int, action='append')
    ap.add_argument('--thp', default='',
                    help='extra kernel arguments (default: none, THP as the kernel ships it, '
                    'as vm-stream-880; " transparent_hugepage=never" for the runs before '
                    'patches 0030-0032)')
    args = ap.parse_args()
    os.makedirs(os.path.join(args.out, 'vm-logs'), exist_ok=True)
    rows = [run(args, m) for m in (args.mib or [760, 800, 840, 880, 890, 900, 920])]

    mem = next((r['memtotal_kb'] for r in rows if r['memtotal_kb']), None)
    print('Release kernel %s; QEMU TCG -cpu max -machine q35 -m 1024 -smp 2, no swap; '
          'guest MemTotal %s kB.  Workload: hibstate, N MiB of seeded random memory in '
          'one process (vm-stream-880\'s setting: no extras, no helper; kernel '
          'arguments:%s).' % (args.kernel, mem or '?', args.thp or ' none'))
    print()
    print('| workload | % of RAM | copy every page (no streaming) | stream from frames '
          '| pages copied | pages streamed | copied, % of RAM | power-off (freeze+snapshot'
          '+write+sync) | image load at resume |')
    print('| ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |')
    for r in rows:
        ram = (r['memtotal_kb'] or 1) * 1024
        pct = '%d%%' % round(r['mib'] * 1048576 * 100 / ram) if r['memtotal_kb'] else '?'
        copy = ('ENOMEM (%s pages short)' % r['copy_short'] if r['copy_fails'] and r['copy_short']
                else 'failed' if r['copy_fails'] else 'did not fail')
        st = r.get('stats', {})
        if r['resumed']:
            stream = 'hibernated + resumed, digest intact'
        elif r['stream_short']:
            stream = 'ENOMEM (%s pages short)' % r['stream_short']
        else:
            stream = 'failed (see the log)'
        copied = st.get('copied', '-') if r['resumed'] else '-'
        streamed = st.get('streamed', '-') if r['resumed'] else '-'
        cpct = ('%.1f%%' % (int(st['copied']) * 4096 * 100 / ram)
                if r['resumed'] and 'copied' in st else '-')
        off = ('%.1f s' % ((float(st['freeze_ms']) + float(st['snapshot_ms']) +
                            float(st['write_ms']) + float(st['sync_ms'])) / 1000)
               if r['resumed'] and st else '-')
        load = '%.1f s' % (r['load_ms'] / 1000) if r['load_ms'] else '-'
        print('| %d MiB | %s | %s | %s | %s | %s | %s | %s | %s |'
              % (r['mib'], pct, copy, stream, copied, streamed, cpct, off, load))
    print()
    for r in rows:
        print('- %d MiB: QEMU wall per boot (host) %s' % (r['mib'], ', '.join(
            'boot %d %.1f s' % kv for kv in sorted(r['boots'].items())) or '-'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
