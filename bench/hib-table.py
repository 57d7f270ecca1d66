#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""`make bench`, hibernation part: the side-by-side table of the stock kernel's
hibernation (swap, hibernate.compressor=lz4 / lzo) and ours (hibernatectl to the
raw disk), from the raw lines bench/run-bench.sh collected (hib-results.txt):
one RUN block per hibernate/resume cycle (bench/scenarios/hib-bench.sh) and one
LIMITS block per repetition (bench/scenarios/hib-limits.sh).  Every cell is the
median of the repetitions that produced it, with (min-max) when there are two or
more.  Usage: hib-table.py hib-results.txt
"""
import re
import statistics
import sys

MiB = 1024 * 1024
ORDER = {'stock-lz4': 0, 'stock-lzo': 1, 'ours': 2}


def parse(path):
    runs, limits, host, cur = [], [], {}, None
    boot = 0
    for line in open(path, errors='replace'):
        line = line.rstrip('\n')
        kv = dict(x.split('=', 1) for x in line.split() if '=' in x)
        if line.startswith('HOST '):
            host.update(kv)
            continue
        if line.startswith('HOSTLINE '):
            host.setdefault('lines', []).append(line[9:])
            continue
        if line.startswith('RUN '):
            cur = {'name': kv['name'], 'method': kv['method'], 'pct': int(kv['pct']),
                   'rep': int(kv.get('rep', 1)), 'append': kv.get('append', ''),
                   'smp': int(kv['smp']) if 'smp' in kv else None, 'smp_forced': 'smp' in kv,
                   'boots': {}, 'vmtest': None}
            runs.append(cur)
            boot = 0
            continue
        if line.startswith('LIMITS '):
            cur = {'name': kv['name'], 'rep': int(kv.get('rep', 1)), 'limit': {},
                   'boots': {}, 'vmtest': None}
            limits.append(cur)
            continue
        if cur is None:
            continue
        m = re.match(r'===== vmtest \S+ boot (\d+)/\d+', line)
        if m:
            boot = int(m.group(1))
            continue
        m = re.match(r'===== vmtest \S+ boot (\d+) ended after ([\d.]+) s', line)
        if m:
            cur['boots'][int(m.group(1))] = float(m.group(2))
            continue
        m = re.match(r'===== vmtest stamp ([\d.]+): (.*)', line)
        if m:
            t, what = float(m.group(1)), m.group(2)
            if 'bench: hibernate start' in what and boot == 1:
                cur['h_start'] = t
            elif 'reboot: Power down' in what and boot == 1:
                cur['h_off'] = t
            elif what.startswith('BENCH-HIB-ANSWER') and boot == 2:
                cur['h_answer'] = t
            continue
        m = re.match(r'vmtest \S+: (PASS|FAIL)', line)
        if m:
            cur['vmtest'] = m.group(1)
            continue
        if line.startswith('BENCH-LIMIT '):
            cur['limit'][kv['what']] = kv
            continue
        if line.startswith('BENCH-LIMIT-LZ4B '):
            m = re.search(r'\(([\d.]+)\)\s+([\d.]+) MB/s\s+([\d.]+) MB/s', line)
            if m:
                cur['lz4b'] = tuple(float(x) for x in m.groups())
            continue
        if line.startswith('BENCH-LIMIT-INFO '):
            cur['info'] = kv
            continue
        if line.startswith('BENCH-HIB-FAILMSG '):
            cur['failmsg'] = line[len('BENCH-HIB-FAILMSG '):].strip()
            continue
        for tag in ('BENCH-HIB-INFO', 'BENCH-HIB-START', 'BENCH-HIB-B2', 'BENCH-HIB-RESUMED',
                    'BENCH-HIB-FAILED', 'HIBERNATE-STATS'):
            if line.startswith(tag + ' '):
                cur.setdefault(tag, kv)
        ts = re.match(r'\[\s*([\d.]+)\]', line)
        ts = float(ts.group(1)) if ts else None
        if 'bench: hibernate start' in line and boot == 1:
            cur['t_start'] = ts
        if 'reboot: Power down' in line and boot == 1:
            cur['t_off'] = ts
        m = re.search(r'(Wrote|Read|Allocated) (\d+) kbytes in ([\d.]+) seconds', line)
        if m and boot in (1, 2):
            cur.setdefault(m.group(1), (int(m.group(2)) * 1024, float(m.group(3))))
        m = re.search(r'Image size after compression: (\d+) kbytes', line)
        if m:
            cur['stored'] = int(m.group(1)) * 1024
        m = re.search(r'Using (\d+) thread\(s\) for (\S+) (compression|decompression)', line)
        if m:
            cur['threads_' + m.group(3)] = '%s x %s' % (m.group(1), m.group(2))
        m = re.search(r'Image created \((\d+) pages copied, (\d+) zero pages'
                      r'(?:, (\d+) streamed from their frames)?\)', line)
        if m and boot == 1:
            cur['created'] = tuple(int(x) if x else 0 for x in m.groups())
        m = re.search(r'restoring hibernation image .*loaded in ([\d.]+) ms', line)
        if m:
            cur['loaded_ms'] = float(m.group(1))
    for r in runs:
        # runs without smp= are the header's machine: BENCH-HIB-INFO's cpus, else 2
        if r['smp'] is None:
            r['smp'] = int(r.get('BENCH-HIB-INFO', {}).get('cpus', 2) or 2)
    return host, runs, limits


def row_label(method, smp, main_smp):
    return method if smp == main_smp else '%s, -smp %d' % (method, smp)


def metrics(r):
    """One run's figures (None where it has none), or {'fail': text}."""
    if 'BENCH-HIB-FAILED' in r:
        fl = r['BENCH-HIB-FAILED']
        msg = r.get('failmsg') or fl.get('err', '?')
        return {'fail': msg, 'fail_s': float(fl.get('after_ms', 0)) / 1e3}
    if 'BENCH-HIB-RESUMED' not in r:
        return {'fail': 'no resume (harness: %s; see the console log %s.log)'
                % (r.get('vmtest') or '?', r['name'])}
    res = r['BENCH-HIB-RESUMED']
    o = {'digest_ok': res.get('digest_ok') == '1'}
    algo = (r.get('threads_compression') or ' x ?').split(' x ')[-1]
    o['algo_ok'] = not r['method'].startswith('stock-') or algo == r['method'][6:]
    raw = stored = wsec = load = None
    if r['method'].startswith('stock'):
        if 'Wrote' in r:
            raw, wsec = r['Wrote']
        stored = r.get('stored')
        load = r['Read'][1] if 'Read' in r else None
        if 'Allocated' in r:
            o['prealloc_s'] = r['Allocated'][1]
    elif 'HIBERNATE-STATS' in r:
        hs = r['HIBERNATE-STATS']
        raw, stored = int(hs['raw']), int(hs['compressed'])
        wsec = (float(hs['write_ms']) + float(hs['sync_ms'])) / 1e3
        load = r['loaded_ms'] / 1e3 if 'loaded_ms' in r else None
        o['snapshot_s'] = float(hs['snapshot_ms']) / 1e3
    o['raw'] = raw / MiB if raw else None
    o['stored'] = stored / MiB if stored else None
    o['mbs'] = raw / 1e6 / wsec if raw and wsec else None
    o['wsec'] = wsec
    o['load'] = load
    o['load_mbs'] = raw / 1e6 / load if raw and load else None
    # start -> power-off on the host's clock (vmtest --stamp); the guest's printk clock
    # (the fallback) stops during the snapshot: x86 restores sched_clock after it.
    if r.get('h_off') is not None and r.get('h_start') is not None:
        o['off'] = r['h_off'] - r['h_start']
    elif r.get('t_off') is not None and r.get('t_start') is not None:
        o['off'] = r['t_off'] - r['t_start']
        o['off_guest_clock'] = True
    if r.get('t_off') is not None and r.get('t_start') is not None:
        o['off_printk'] = r['t_off'] - r['t_start']
    if r.get('h_answer') is not None:
        o['b2_host'] = r['h_answer']
    b2 = r.get('BENCH-HIB-B2', {})
    hz = float(r.get('BENCH-HIB-INFO', {}).get('tsc_hz', 0) or 0)
    if b2 and res.get('ans_tsc') and hz:
        kstart = int(b2['tsc']) - float(b2['uptime_ms']) / 1e3 * hz
        o['b2run'] = (int(res['ans_tsc']) - kstart) / hz
    if 'created' in r:
        o['copied'], o['zero'], o['streamed'] = r['created']
        # What the image stands for: every page saved, the zero pages the kernel found
        # (not written by either) included, per second of writing.
        if wsec:
            o['saved_mbs'] = sum(r['created']) * 4096 / 1e6 / wsec
    # VmSwap right after the resume, before the first full pass (runs from before that
    # key existed read it after the pass, when it is back in memory: no figure)
    o['swapped'] = (int(res['vmswap_before_pass_kb']) / 1024
                    if 'vmswap_before_pass_kb' in res else None)
    o['pass_s'] = float(res.get('digest_ms', 0)) / 1e3
    if o.get('b2run') is not None:
        o['all_back'] = o['b2run'] + o['pass_s']
    return o


def cell(xs, fmt='%.1f'):
    xs = [x for x in xs if x is not None]
    if not xs:
        return '-'
    med = fmt % statistics.median(xs)
    if len(xs) == 1:
        return med
    return '%s (%s-%s)' % (med, fmt % min(xs), fmt % max(xs))


def main():
    host, runs, limits = parse(sys.argv[1])
    # the header's machine: runs without a forced vCPU count (RUN ... smp=N)
    info = next((r['BENCH-HIB-INFO'] for r in runs if 'BENCH-HIB-INFO' in r and
                 not r['smp_forced']), {})
    main_smp = int(info.get('cpus', 2) or 2)
    reps = max([r['rep'] for r in runs] + [0])
    print('Guest kernel %s (%s), %s vCPUs, QEMU TCG -accel tcg -cpu max -machine q35 -m %s '
          '-smp %s, one virtio disk (host file, cache=unsafe) for both methods, guest MemTotal '
          '%s kB; %d repetition(s), order per repetition: limits, then per size stock-lz4, '
          'stock-lzo, ours (and the rows marked -smp 1: the same in a 1-vCPU VM).'
          % (info.get('kernel', '?'), host.get('kernel', '?'), info.get('cpus', '?'),
             info.get('ram_mib', '?'), info.get('cpus', '?'), info.get('memtotal_kb', '?'),
             reps))
    for line in host.get('lines', []):
        print('- ' + line)
    print()

    groups = {}
    for r in runs:
        groups.setdefault((r['pct'], r['method'], r['smp']), []).append(r)
    key = lambda k: (k[0], -k[2], ORDER.get(k[1], 9))
    print('| method | workload | result | image raw MiB | stored MiB | write MB/s (raw) '
          '| RAM saved MB/s | start -> power-off s | boot -> running s | image load s '
          '| pages copied | zero pages | pages streamed | workload in swap after resume MiB '
          '| first full pass after resume s |')
    print('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: '
          '| ---: | ---: | ---: |')
    summary = {}
    for (pct, method, smp) in sorted(groups, key=key):
        rs = groups[(pct, method, smp)]
        ms = [metrics(r) for r in rs]
        mib = rs[0].get('BENCH-HIB-START', rs[0].get('BENCH-HIB-INFO', {})).get('mib', '?')
        thp = ' THP off' if 'transparent_hugepage=never' in rs[0]['append'] else ''
        wl = '%d%% (%s MiB)%s' % (pct, mib, thp)
        ok = [m for m in ms if 'fail' not in m]
        fails = [m['fail'] for m in ms if 'fail' in m]
        res = []
        if ok:
            bad = sum(1 for m in ok if not m['digest_ok'])
            wrong = sum(1 for m in ok if not m['algo_ok'])
            res.append('ok %d/%d%s%s' % (len(ok), len(ms),
                                         ' (%d DIGEST MISMATCH)' % bad if bad else '',
                                         ' (%d with another compressor: see the extras)' % wrong
                                         if wrong else ''))
        for f in sorted(set(fails)):
            res.append('failed %d/%d: %s' % (fails.count(f), len(ms), f.replace('|', '/')))
        g = lambda k: [m.get(k) for m in ok]
        print('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
            row_label(method, smp, main_smp), wl, '; '.join(res), cell(g('raw')),
            cell(g('stored')), cell(g('mbs')), cell(g('saved_mbs')), cell(g('off')),
            cell(g('b2run')), cell(g('load')), cell(g('copied'), '%d'), cell(g('zero'), '%d'),
            cell(g('streamed'), '%d'), cell(g('swapped')), cell(g('pass_s'))))
        if ok:
            summary[(pct, method, smp)] = {
                k: statistics.median([x for x in g(k) if x is not None])
                for k in ('mbs', 'saved_mbs', 'off', 'b2run', 'load', 'raw', 'stored', 'all_back')
                if any(x is not None for x in g(k))}
    print()

    # Extras per cell: the stock kernel's preallocation and threads, our snapshot time.
    for (pct, method, smp) in sorted(groups, key=key):
        rs = groups[(pct, method, smp)]
        ms = [metrics(r) for r in rs]
        ok = [m for m in ms if 'fail' not in m]
        parts = []
        if method.startswith('stock'):
            thr = sorted({r.get('threads_compression') for r in rs} - {None})
            dthr = sorted({r.get('threads_decompression') for r in rs} - {None})
            if thr:
                parts.append('compression threads %s' % ', '.join(thr))
            if dthr:
                parts.append('decompression threads %s' % ', '.join(dthr))
            if any(m.get('prealloc_s') is not None for m in ok):
                parts.append('"Allocated ... in T seconds" (image memory preallocation) %s s'
                             % cell([m.get('prealloc_s') for m in ok], '%.2f'))
        else:
            if ok:
                parts.append('snapshot %s s' % cell([m.get('snapshot_s') for m in ok], '%.2f'))
        if ok:
            parts.append('write %s s' % cell([m.get('wsec') for m in ok], '%.2f'))
            if any(m.get('off_printk') is not None for m in ok):
                parts.append('start -> power-off on the guest printk clock %s s'
                             % cell([m.get('off_printk') for m in ok], '%.2f'))
            if any(m.get('off_guest_clock') for m in ok):
                parts.append('(no host stamps: start -> power-off is the printk clock)')
            if any(m.get('b2_host') is not None for m in ok):
                parts.append('boot-2 QEMU start -> workload answers (host) %s s'
                             % cell([m.get('b2_host') for m in ok], '%.2f'))
            parts.append('load %s MB/s raw' % cell([m.get('load_mbs') for m in ok]))
        failed = [m for m in ms if 'fail' in m and m.get('fail_s')]
        if failed:
            parts.append('failed after %s s' % cell([m['fail_s'] for m in failed]))
        walls = ['/'.join('%.0f' % v for _, v in sorted(r['boots'].items())) for r in rs]
        parts.append('QEMU wall s per boot (boot 1/boot 2) by rep: %s' % ', '.join(walls))
        print('- %s %d%%: %s' % (row_label(method, smp, main_smp), pct, '; '.join(parts)))
    print()

    # The limits of this VM.
    if limits:
        print('Physical limits in the same VM (hib-limits.sh, %d run(s); MB/s of the '
              'workload\'s data, median (min-max)):' % len(limits))
        print()
        print('| measurement | MB/s |')
        print('| --- | ---: |')
        names = [('lz4-1vcpu', 'lz4 -1, 1 vCPU (two halves one after the other)'),
                 ('lz4-2vcpu', 'lz4 -1, 2 vCPUs (two processes, one half each)'),
                 ('lz4-2vcpu-nocrc', 'lz4 -1 --no-frame-crc, 2 vCPUs'),
                 ('disk-write-direct', 'raw disk write, dd bs=1M oflag=direct'),
                 ('disk-read-direct', 'raw disk read, dd bs=1M iflag=direct'),
                 ('read-copy', 'read(2) copy from tmpfs, dd bs=1M')]
        rates = {}
        for what, label in names:
            xs = []
            for lm in limits:
                kv = lm['limit'].get(what)
                if kv and kv.get('rc', '0').strip('0') == '' and float(kv['ms']) > 0:
                    xs.append(int(kv['bytes']) / 1e6 / (float(kv['ms']) / 1e3))
            rates[what] = statistics.median(xs) if xs else None
            print('| %s | %s |' % (label, cell(xs)))
        lb = [lm['lz4b'] for lm in limits if 'lz4b' in lm]
        if lb:
            print('| lz4 -b1 in memory, 1 thread: compression | %s |' % cell([x[1] for x in lb]))
            print('| lz4 -b1 in memory, 1 thread: decompression | %s |'
                  % cell([x[2] for x in lb]))
        ratios = []
        for lm in limits:
            kv = lm['limit'].get('lz4-ratio')
            if kv and int(kv.get('compressed', 0)):
                ratios.append(int(kv['bytes']) / int(kv['compressed']))
        li = next((lm['info'] for lm in limits if 'info' in lm), {})
        print()
        print('lz4 %s on %s MiB of workload data (two halves, each thirds of random, text-like '
              'and zero bytes): ratio %s.' % (li.get('lz4', '?'), li.get('mib', '?'),
                                               cell(ratios, '%.2f')))
        walls = ['%.0f' % lm['boots'].get(1, 0) for lm in limits]
        print('QEMU wall s of the limits boot by rep: %s.' % ', '.join(walls))
        print()
    else:
        rates = {}

    # What the table says, mechanically; the README interprets it.
    for pct, smp in sorted({(p, c) for p, _, c in summary}, key=lambda k: (k[0], -k[1])):
        o = summary.get((pct, 'ours', smp))
        tag = '' if smp == main_smp else ' (-smp %d)' % smp
        for s in ('stock-lz4', 'stock-lzo'):
            st = summary.get((pct, s, smp))
            if o and st and o.get('mbs') and st.get('mbs'):
                print('- %d%%%s: ours / %s: write rate (raw) %.2fx, RAM saved per s %.2fx, '
                      'start -> power-off %.2fx the time, boot -> running %.2fx the time'
                      % (pct, tag, s, o['mbs'] / st['mbs'],
                         o['saved_mbs'] / st['saved_mbs'] if o.get('saved_mbs') and
                         st.get('saved_mbs') else 0,
                         o.get('off', 0) / st['off']
                         if st.get('off') else 0,
                         o.get('b2run', 0) / st['b2run'] if st.get('b2run') else 0))
                if o.get('load') and st.get('load') and o.get('raw') and st.get('raw'):
                    ol, sl = o['raw'] / o['load'], st['raw'] / st['load']
                    print('  image load (raw MiB per second of load): ours %.1f (%.1f MiB in '
                          '%.2f s), %s %.1f (%.1f MiB in %.2f s): %.2fx the stock rate'
                          % (ol, o['raw'], o['load'], s, sl, st['raw'], st['load'], ol / sl))
                if o.get('all_back') and st.get('all_back'):
                    print('  boot -> running + first full pass (all of the workload back in '
                          'memory): ours %.1f s, %s %.1f s' % (o['all_back'], s, st['all_back']))
        lz = rates.get('lz4-2vcpu' if smp >= 2 else 'lz4-1vcpu')
        if o and o.get('mbs') and lz and rates.get('disk-write-direct') and o.get('stored'):
            ratio = o['raw'] / o['stored']
            ceil = min(lz, rates['disk-write-direct'] * ratio)
            print('- %d%%%s: ours writes %.1f MB/s raw; the ceiling from the limits is %.1f MB/s '
                  '(min of lz4 on %d vCPU(s) %.1f and disk %.1f x its ratio %.2f): %.0f%% of it'
                  % (pct, tag, o['mbs'], ceil, min(smp, 2), lz, rates['disk-write-direct'],
                     ratio, 100 * o['mbs'] / ceil), end='')
            if rates.get('lz4-2vcpu-nocrc') and smp >= 2:
                c2 = min(rates['lz4-2vcpu-nocrc'], rates['disk-write-direct'] * ratio)
                print('; without lz4\'s frame checksum the ceiling is %.1f MB/s (%.0f%%)'
                      % (c2, 100 * o['mbs'] / c2))
            else:
                print()


if __name__ == '__main__':
    main()
