#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The system test: a Debian 12 system on LVM, booted by systemd, hibernated with
`systemctl hibernate` and resumed by the initramfs that update-initramfs built in it.

    system-test.py [--kernel-deb DEB] [--tools-deb DEB] [--mode cycle] [--initrd KIND]...

Without --kernel-deb ($HIB_KERNEL_DEB, if set) it runs `make kernel-deb` (build-kernel-deb.sh, cached by its inputs) and
takes build/kernel-deb/linux-image-*.deb; without --tools-deb `make deb` and
build/deb/hibernate-tools_*.deb.  Either failing fails the test.

The disk comes from tests/system/make-image.sh (cached by its inputs; this runs it); each run
boots a copy of it in QEMU (TCG, q35, 1 GiB, 2 CPUs, the same on every boot), the kernel and
the initramfs taken from the image's /boot, root=/dev/mapper/hibvg-root, never resume=.  The
guest's checks (tests/system/guest/system-test.sh) come as HIBTEST lines on the serial console
and are judged as vmtest.py judges a scenario, whose functions this uses (run_qemu, parse_boot,
find_splats): any "not ok", a boot without "done" that did not announce its power-off, a host
timeout, or any kernel splat fails the test.

Modes (--mode):
  boot    one boot: the system comes up (multi-user.target, is-system-running "running")
  cycle   boot 1: the block inhibitor's refusal, then the workload, listener and delay
          inhibitor, `systemctl hibernate`, power-off; boot 2: the initramfs resumes and the
          resumed system checks itself; then e2fsck -fn of the root LV on the host
  mergecut
          boot 1: `hibernatectl hibernate --no-poweroff` with writes into / in the window; the
          abort merges them back (the disk's writes throttled to 8 MB/s) and the power is cut
          in the middle; boot 2: the initramfs completes the merge, the system checks the
          files; then e2fsck -fn on the host
  url     the cycle with the image on a WebDAV server on the host (run under
          tests/vm/with-nginx.py, which adds --append hibtest.url=...; QEMU user networking in
          both boots): boot 1 brings the network up with systemd-networkd, points [hibernate]
          target at the server, asks for ip = dhcp under [network] and runs update-initramfs
          -u; as a boot loader would, the host then takes /boot's initramfs from the disk
          (debugfs, read-only) for boot 2, whose initramfs brings the network up itself
          (ipconfig) and resumes from the server

--initrd initramfs-tools (the default) boots the initramfs update-initramfs built, --initrd
dracut the one dracut built with the package's module; given twice, both, each on a fresh copy
of the disk.

Exit status: 0 pass, 1 fail (a missing kernel or package is a failure, never a skip).
"""

import argparse
import contextlib
import glob
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, 'tests', 'vm'))
import vmtest  # noqa: E402  (run_qemu, parse_boot, find_splats, report)

# The initramfs-tools script's and the dracut hook's own lines (initramfs/).
INITRAMFS_RAN = re.compile(r'hibernate: (resuming from|no hibernation image|recover)')
# initramfs-tools' own network (klibc ipconfig), not hibernatectl's (url mode, boot 2).
IPCONFIG_DONE = re.compile(r'IP-Config: \S+ complete')
HIBCTL_NETWORK = re.compile(r'network: configuring ')
RESUMED = re.compile(r'HIBTEST resumed')
# hibernatectl resume in the initramfs, finding the interrupted merge (vm-dm-merge-cut's words).
MERGE_COMPLETED = re.compile(r'recovered: .*merged back into 1 protected filesystem')
# hibernatectl resume's account of memory before the load: what a Debian kernel and initramfs
# use; with the up to 30 MiB the load needs beside (tests/vm: stream-880, stream-too-big) the
# default resume-reserve (what boot 1's hibernatectl check says it is) must cover it.
# hibernatectl check in boot 1 ([sys-check]): the reserve this system's images are sized with.
CHECK_RESERVE = re.compile(r'less the resume reserve of ([\d.]+) MiB \(the default')
RESUME_MEMORY = re.compile(r'memory: this kernel, its initramfs and hibernatectl use ([\d.]+) MiB '
                           r'of MemTotal ([\d.]+) MiB; the image needs ([\d.]+) MiB(.*)')


def make_debs(args):
    """The packages: the ones given, else `make deb` and `make kernel-deb` (each cached or
    reproducible: the image's hash then stays the same)."""
    env = dict(os.environ, DEB_BUILD_OPTIONS=os.environ.get('DEB_BUILD_OPTIONS', 'nocheck'))
    for what, target, pattern in (('tools_deb', 'deb', 'build/deb/hibernate-tools_*.deb'),
                                  ('kernel_deb', 'kernel-deb',
                                   'build/kernel-deb/linux-image-*.deb')):
        if getattr(args, what) or (what == 'kernel_deb' and args.kernel_bzimage):
            continue
        t0 = time.time()
        # `make deb` packs the committed tree (git archive HEAD): the package of this tree is
        # there already when its tree id is the one recorded after the last build here.
        stamp = os.path.join(TOP, 'build', 'deb', '.system-test-tree')
        tree = subprocess.run(['git', '-C', TOP, 'rev-parse', 'HEAD^{tree}'],
                              capture_output=True, text=True).stdout.strip()
        found = sorted(glob.glob(os.path.join(TOP, pattern)))
        if target == 'deb' and tree and len(found) == 1 and os.path.isfile(stamp):
            with open(stamp) as f:
                if f.read().strip() == tree:
                    setattr(args, what, found[0])
                    print('systemtest: %s is the package of HEAD\'s tree %s'
                          % (os.path.basename(found[0]), tree[:12]))
                    continue
        log = os.path.join(TOP, 'build', 'system-make-%s.log' % target)
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, 'w') as f:
            r = subprocess.run(['make', '--no-print-directory', '-C', TOP, target],
                               stdout=f, stderr=subprocess.STDOUT, env=env)
        if r.returncode:
            with open(log) as f:
                sys.stdout.write(''.join(f.readlines()[-30:]))
            raise vmtest.SetupError('`make %s` failed (exit %d; log %s)%s' % (
                target, r.returncode, log,
                ': the target comes with the kernel-deb branch (build-kernel-deb.sh)'
                if target == 'kernel-deb' else ''))
        found = sorted(p for p in glob.glob(os.path.join(TOP, pattern))
                       if not re.search(r'-dbg(sym)?_', p))
        if len(found) != 1:
            raise vmtest.SetupError('`make %s` left %d of %s' % (target, len(found), pattern))
        setattr(args, what, found[0])
        if target == 'deb' and tree:
            with open(stamp, 'w') as f:
                f.write(tree + '\n')
        print('systemtest: make %s: %s (%.0f s)' % (target, os.path.basename(found[0]),
                                                    time.time() - t0))


def make_image(args):
    cmd = [os.path.join(HERE, 'make-image.sh')]
    if args.kernel_bzimage:
        cmd += ['--kernel-bzimage', args.kernel_bzimage]
    else:
        cmd += ['--kernel-deb', args.kernel_deb]
    if args.tools_deb:
        cmd += ['--tools-deb', args.tools_deb]
    t0 = time.time()
    proc = subprocess.run(['nice'] + cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    sys.stdout.write(proc.stdout)
    m = re.search(r'^system-image: (/\S+)$', proc.stdout, re.M)
    if proc.returncode or not m:
        raise vmtest.SetupError('make-image.sh failed (exit %d)' % proc.returncode)
    return m.group(1), time.time() - t0


def read_info(path):
    info = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.strip().partition('=')
            info[k] = v
    return info


@contextlib.contextmanager
def root_lv(disk, info):
    """A read-only loop device over the root LV's range in @disk (the host needs neither LVM
    nor device-mapper)."""
    loop = subprocess.run(['losetup', '--show', '-f', '-r', '-o', info['root_offset'],
                           '--sizelimit', info['root_bytes'], disk],
                          capture_output=True, text=True)
    if loop.returncode:
        raise vmtest.SetupError('losetup: ' + loop.stderr.strip())
    dev = loop.stdout.strip()
    try:
        yield dev
    finally:
        subprocess.run(['losetup', '-d', dev])


def host_e2fsck(disk, info):
    """e2fsck -fn of the root LV where it lies in the disk."""
    try:
        with root_lv(disk, info) as dev:
            r = subprocess.run(['e2fsck', '-fn', dev], capture_output=True, text=True)
    except vmtest.SetupError as e:
        return False, str(e)
    out = (r.stdout + r.stderr).strip()
    return r.returncode == 0, out.splitlines()[-1] if out else 'exit %d' % r.returncode


def disk_file(disk, info, path, out):
    """Copy @path of the root LV's filesystem in @disk to @out, read-only (debugfs), as a boot
    loader reads /boot.  The filesystem was frozen (its journal checkpointed) when the
    hibernation protected it."""
    with root_lv(disk, info) as dev:
        r = subprocess.run(['debugfs', '-R', 'dump %s %s' % (path, out), dev],
                           capture_output=True, text=True)
    if r.returncode or not os.path.isfile(out) or os.path.getsize(out) == 0:
        raise vmtest.SetupError('debugfs could not read %s from the root LV: %s'
                                % (path, (r.stderr or r.stdout).strip()[-300:]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    kernel = ap.add_mutually_exclusive_group()
    kernel.add_argument('--kernel-deb', default=os.environ.get('HIB_KERNEL_DEB') or None,
                        help='the patched kernel package (default: $HIB_KERNEL_DEB, else '
                        'make kernel-deb), or "stock" (Debian\'s, boot mode only)')
    kernel.add_argument('--kernel-bzimage', metavar='DIR',
                        help='development only: build-kernel.sh output DIR instead of a '
                        'package (make-image.sh)')
    ap.add_argument('--tools-deb', help='default: build/deb/hibernate-tools_*.deb (make deb)')
    ap.add_argument('--mode', choices=('boot', 'cycle', 'mergecut', 'url'), default='cycle')
    ap.add_argument('--append', action='append', default=[],
                    help='more kernel arguments (tests/vm/with-nginx.py: hibtest.url=)')
    ap.add_argument('--initrd', choices=('initramfs-tools', 'dracut'), action='append',
                    help='repeatable; default initramfs-tools')
    ap.add_argument('--logdir', default=os.path.join(TOP, 'build', 'vm-logs'))
    ap.add_argument('--workdir', default=os.path.join(TOP, 'build', 'system-work'))
    ap.add_argument('--timeout', type=int, default=900, help='per boot (s)')
    ap.add_argument('-v', '--verbose', action='store_true')
    args = ap.parse_args(argv)
    initrds = args.initrd or ['initramfs-tools']
    if args.mode == 'url' and initrds != ['initramfs-tools']:
        ap.error('--mode url runs with initramfs-tools only')
    t_start = time.time()
    try:
        make_debs(args)
        if args.kernel_deb and args.kernel_deb != 'stock' and \
                not os.path.isfile(args.kernel_deb):
            raise vmtest.SetupError('kernel package %s does not exist: run `make kernel-deb`'
                                    % args.kernel_deb)
        image, t_image = make_image(args)
    except vmtest.SetupError as e:
        print('systemtest: FAIL: %s' % e)
        return 1
    rc = 0
    for initrd in initrds:
        name = 'system-%s%s' % (args.mode, '-dracut' if initrd == 'dracut' else '')
        args.initrd = initrd
        try:
            rc |= run(args, name, image, t_image)
        except vmtest.SetupError as e:
            print('systemtest %s: FAIL: %s' % (name, e))
            rc = 1
        t_image = 0
    print('systemtest: %s in %.0f s' % ('PASS' if rc == 0 else 'FAIL', time.time() - t_start))
    return rc


def run(args, name, image, t_image):
    qemu = shutil.which('qemu-system-x86_64')
    if not qemu:
        raise vmtest.SetupError('qemu-system-x86_64 not found: run `make deps`')
    t_start = time.time()
    info = read_info(os.path.join(image, 'info'))
    work = os.path.join(args.workdir, name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.makedirs(args.logdir, exist_ok=True)
    disk = os.path.join(work, 'disk.img')
    subprocess.run(['cp', '--sparse=always', os.path.join(image, 'disk.img'), disk], check=True)
    initrd = os.path.join(image, 'initrd-dracut.img' if args.initrd == 'dracut'
                          else 'initrd.img')
    logpath = os.path.join(args.logdir, name + '.log')
    boots = 1 if args.mode == 'boot' else 2
    cmdline = ('root=/dev/mapper/hibvg-root ro console=ttyS0,115200 panic=-1 '
               'hibtest.mode=%s hibtest.initrd=%s %s' % (args.mode, args.initrd,
                                                        ' '.join(args.append))).rstrip()
    cycle = args.mode in ('cycle', 'url')
    if args.mode == 'url' and not any(a.startswith('hibtest.url=') for a in args.append):
        raise vmtest.SetupError('--mode url needs --append hibtest.url=URL: run it under '
                                'tests/vm/with-nginx.py')
    # Identical machine options on every boot: a resume needs the same machine.
    cmd = [qemu, '-accel', 'tcg', '-cpu', 'max', '-machine', 'q35', '-m', '1024',
           '-smp', '2', '-nographic', '-monitor', 'none', '-serial', 'stdio', '-no-reboot',
           '-kernel', os.path.join(image, 'vmlinuz'), '-initrd', initrd,
           '-append', cmdline,
           '-nic', 'user,model=virtio-net-pci' if args.mode == 'url' else 'none',
           '-drive', 'file=%s,format=raw,if=none,id=d0,cache=unsafe%s' % (
               disk, ',throttling.bps-write=8388608' if args.mode == 'mergecut' else ''),
           '-device', 'virtio-blk-pci,drive=d0']
    results, failures, splats, times = [], [], [], []
    reserve = None	# MiB, from boot 1's hibernatectl check
    with open(logpath, 'w') as log:
        log.write('===== systemtest %s: image %s (%s), made or found in %.0f s\n'
                  % (name, image, info.get('release'), t_image))
        for boot in range(1, boots + 1):
            if args.mode == 'url' and boot == 2:
                # boot 1 rebuilt the initramfs (update-initramfs -u): the one on its /boot
                initrd = os.path.join(work, 'initrd-from-disk.img')
                disk_file(disk, info, '/boot/initrd.img-%s' % info['release'], initrd)
                cmd[cmd.index('-initrd') + 1] = initrd
                log.write('===== systemtest %s: boot 2 takes /boot/initrd.img-%s from the '
                          'disk (%d bytes)\n' % (name, info['release'], os.path.getsize(initrd)))
            log.write('===== systemtest %s boot %d/%d: %s\n'
                      % (name, boot, boots, ' '.join(cmd)))
            log.flush()
            t0 = time.time()
            text, timed_out, rc = vmtest.run_qemu(cmd, log, args.timeout,
                                                  True if args.verbose else None)
            dt = time.time() - t0
            times.append(dt)
            log.write('===== systemtest %s boot %d ended after %.1f s%s\n'
                      % (name, boot, dt, ' (TIMEOUT)' if timed_out else ''))
            res = vmtest.parse_boot(text)
            results += res['results']
            if boot == 1:
                m = next(filter(None, map(CHECK_RESERVE.search, text.splitlines())), None)
                reserve = float(m.group(1)) if m else None
            splats += [(boot, what, line) for _, what, line in vmtest.find_splats(text)]
            # The package's initramfs-tools script ran in every boot (its log_*_msg lines on
            # the console).  dracut's hook logs at info level, which a quiet boot keeps off
            # the console: the guest finds it in the journal (sys-initramfs-hook).
            if args.initrd == 'initramfs-tools':
                hit = next((l for l in text.splitlines() if INITRAMFS_RAN.search(l)), None)
                results.append((hit is not None, 'initramfs-hook-boot%d' % boot,
                                hit.strip() if hit else
                                'no "hibernate:" line from the initramfs'))
            if timed_out:
                failures.append('boot %d: host timeout after %d s: QEMU killed'
                                % (boot, args.timeout))
                break
            if res['done'] is None and not res['expect_poweroff']:
                failures.append('boot %d: no "HIBTEST done" line (QEMU exit %s)' % (boot, rc))
                break
            if cycle and boot == 1:
                if not res['expect_poweroff']:
                    failures.append('boot 1: no hibernation (no expect-poweroff line)')
                    break
                if res['done'] is not None:
                    failures.append('boot 1: the guest went on after `systemctl hibernate`')
                    break
            if args.mode == 'mergecut' and boot == 1 and res['done'] is not None:
                failures.append('boot 1: no power cut (the guest finished)')
                break
            if args.mode == 'mergecut' and boot == 2:
                hit = next((l for l in text.splitlines() if MERGE_COMPLETED.search(l)), None)
                results.append((hit is not None, 'initramfs-merge-completed',
                                hit.strip() if hit else
                                'no "recovered: ... merged back" line from the initramfs'))
            if cycle and boot == 2 and args.initrd == 'initramfs-tools':
                # A real Debian kernel and initramfs must fit in the default resume reserve, or
                # an image near the largest allowed fails to load on a real system.
                m = next(filter(None, map(RESUME_MEMORY.search, text.splitlines())), None)
                if m and reserve is None:
                    results.append((False, 'resume-memory', 'no "less the resume reserve of N '
                                    'MiB (the default" line from boot 1\'s hibernatectl check'))
                elif m:
                    used, total = float(m.group(1)), float(m.group(2))
                    results.append((used + 30 <= reserve, 'resume-memory',
                                    'before the load the resume kernel, its initramfs and '
                                    'hibernatectl used %.1f MiB of %.1f, + 30 for the load: '
                                    'within the default reserve of %.1f MiB; image %s MiB%s'
                                    % (used, total, reserve, m.group(3), m.group(4))))
                else:
                    results.append((False, 'resume-memory',
                                    'no "memory: ..." line from hibernatectl resume'))
            if args.mode == 'url' and boot == 2:
                ipc = next((l for l in text.splitlines() if IPCONFIG_DONE.search(l)), None)
                own = next((l for l in text.splitlines() if HIBCTL_NETWORK.search(l)), None)
                results.append((ipc is not None and own is None, 'initramfs-network',
                                'hibernatectl configured the network itself: %s' % own.strip()
                                if own else ipc.strip() if ipc else
                                'no "IP-Config: ... complete" line: the initramfs did not '
                                'bring the network up'))
            if cycle and boot == 2:
                hit = next((l for l in text.splitlines() if RESUMED.search(l)), None)
                results.append((hit is not None, 'resumed-boot2',
                                'the test driver went on in boot 2' if hit else
                                'boot 2 did not resume boot 1'))
        ok, why = host_e2fsck(disk, info)
        results.append((ok, 'root-e2fsck', why))
    return vmtest.report('systemtest', name, results, failures, splats, logpath,
                         '%.0f s (image %.0f s, boots %s)'
                         % (time.time() - t_start, t_image,
                            ', '.join('%.0f s' % t for t in times)))


if __name__ == '__main__':
    sys.exit(main())
