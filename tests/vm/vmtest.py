#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Run one VM test scenario in QEMU (TCG) and judge it.

    vmtest.py --kernel bzImage --bin build/meson/hibernatectl/hibernatectl \\
              --bin build/meson/tests/vm/hibworkload \\
              --scenario tests/vm/scenarios/freeze.sh

The runner builds an initramfs (cpio newc, gzip) holding busybox-static, the
given binaries with every shared library ldd lists for them, dmsetup,
mkfs.ext4 and e2fsck, the shell helpers (tests/vm/lib/hibtest.sh) and the scenario, boots it once per
boot the scenario asks for, keeps the serial console in
build/vm-logs/<scenario>.log and fails on:

  - any "HIBTEST not ok" line,
  - a boot without "HIBTEST done" (unless the guest announced with
    "HIBTEST expect-poweroff" that it powers the machine off itself,
    e.g. to hibernate, or with "HIBTEST power-cut" that QEMU must be
    killed at once, a power cut),
  - a host-side timeout (QEMU is killed),
  - any kernel splat in the log (WARNING, BUG, Oops, lockdep, RCU, hung
    task, panic, GPF, UBSAN, KASAN).

Scenario header (comment lines anywhere in the first 40 lines):

    # vmtest: timeout=300 boots=1 mem=1024 smp=2 disks=dm:64M,swap:1G net=user

A disk may end in :wbps=SIZE (e.g. data:512M:wbps=8M): QEMU throttles writes
to it to SIZE bytes per second.

append=ARG adds ARG (no blanks) to the kernel command line of every boot,
appendN=ARG to boot N only (both repeatable), e.g. append2=ip=dhcp.

Disks are raw files under build/vm-work/<scenario>/, created fresh for each
run and kept across the boots of that run; the guest sees them as virtio
disks in the order given (/dev/vda, /dev/vdb, ...), and the scenario finds
them as $HIB_DISK_<name>.  Every boot uses the same -m/-smp/-cpu/-machine.
The boot number is on the kernel command line (hibtest.boot=N) and in
$HIB_BOOT; $HIB_NBOOTS holds the count.

Exit status: 0 pass, 1 fail, 2 usage or setup error, 77 skipped (a
--skip-unless path is missing on the host).
"""

import argparse
import contextlib
import gzip
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))

# Kernel splats: any of these in the console log fails the scenario.
SPLAT_PATTERNS = [
    (r'WARNING: CPU: \d+ PID: \d+', 'kernel WARNING'),
    (r'(^|\]\s)WARNING: ', 'kernel WARNING'),
    (r'\bBUG: ', 'kernel BUG'),
    (r'kernel BUG at ', 'kernel BUG'),
    (r'\bOops\b', 'kernel Oops'),
    (r'Internal error: ', 'kernel Oops'),
    (r'possible circular locking dependency', 'lockdep: circular locking'),
    (r'possible recursive locking', 'lockdep: recursive locking'),
    (r'inconsistent lock state', 'lockdep: inconsistent lock state'),
    (r'suspicious RCU usage', 'lockdep: suspicious RCU usage'),
    (r'bad unlock balance', 'lockdep: bad unlock balance'),
    (r'held lock freed', 'lockdep: held lock freed'),
    (r'lock held when returning to user space', 'lockdep: lock held at return to user'),
    (r'INFO: task \S+ blocked for more than', 'hung task'),
    (r'rcu: INFO: \S+ (self-)?detected stall', 'RCU stall'),
    (r'RCU stall', 'RCU stall'),
    (r'Kernel panic', 'kernel panic'),
    (r'general protection fault', 'general protection fault'),
    (r'Unable to handle kernel', 'kernel fault'),
    (r'UBSAN', 'UBSAN report'),
    (r'KASAN', 'KASAN report'),
    (r'soft lockup', 'soft lockup'),
    (r'hard LOCKUP', 'hard lockup'),
    (r'stack-protector', 'stack protector'),
]
SPLAT_RES = [(re.compile(p), what) for p, what in SPLAT_PATTERNS]

RESULT_RE = re.compile(r'HIBTEST (ok|not ok) (\S+)(?: - (.*))?')
DONE_RE = re.compile(r'HIBTEST done pass=(\d+) fail=(\d+)')
POWEROFF_RE = re.compile(r'HIBTEST expect-poweroff')
POWERCUT_RE = re.compile(r'HIBTEST power-cut')


def find_splats(text):
    """Return [(line number, what, line)] for every kernel splat in text."""
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        if 'HIBTEST ' in line:
            continue        # our own result lines may quote anything
        for rx, what in SPLAT_RES:
            if rx.search(line):
                found.append((n, what, line.strip()))
                break
    return found


def parse_boot(text):
    """Results of one boot: dict with results, done, expect_poweroff."""
    res = {'results': [], 'done': None, 'expect_poweroff': False}
    for line in text.splitlines():
        m = DONE_RE.search(line)
        if m:
            res['done'] = (int(m.group(1)), int(m.group(2)))
            continue
        if POWEROFF_RE.search(line) or POWERCUT_RE.search(line):
            res['expect_poweroff'] = True
            continue
        m = RESULT_RE.search(line)
        if m:
            res['results'].append((m.group(1) == 'ok', m.group(2),
                                   (m.group(3) or '').strip()))
    return res


# --- initramfs ---------------------------------------------------------------

class Cpio:
    """A minimal cpio newc writer."""

    def __init__(self):
        self.entries = {}       # path -> (mode, data, rdev)

    def add_dir(self, path):
        path = path.strip('/')
        parts = path.split('/')
        for i in range(1, len(parts) + 1):
            p = '/'.join(parts[:i])
            if p and p not in self.entries:
                self.entries[p] = (stat.S_IFDIR | 0o755, b'', 0)

    def add_file(self, path, data, mode=0o644):
        path = path.strip('/')
        self.add_dir(os.path.dirname(path))
        self.entries[path] = (stat.S_IFREG | mode, data, 0)

    def add_host_file(self, path, src=None, mode=None):
        src = src or path
        with open(src, 'rb') as f:
            data = f.read()
        if mode is None:
            mode = os.stat(src).st_mode & 0o7777
        self.add_file(path, data, mode)

    def add_symlink(self, path, target):
        path = path.strip('/')
        self.add_dir(os.path.dirname(path))
        self.entries[path] = (stat.S_IFLNK | 0o777, target.encode(), 0)

    def add_node(self, path, mode, major, minor):
        path = path.strip('/')
        self.add_dir(os.path.dirname(path))
        self.entries[path] = (mode, b'', (major, minor))

    def bytes(self):
        out = bytearray()
        ino = 1000

        def hdr(name, mode, nlink, size, rdev):
            nonlocal ino
            ino += 1
            rmaj, rmin = rdev if rdev else (0, 0)
            fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, rmaj, rmin,
                      len(name) + 1, 0]
            h = b'070701' + b''.join(b'%08X' % v for v in fields)
            return h + name.encode() + b'\0'

        def pad(buf):
            while len(buf) % 4:
                buf.append(0)

        for path in sorted(self.entries):
            mode, data, rdev = self.entries[path]
            out += hdr(path, mode, 2 if stat.S_ISDIR(mode) else 1,
                       len(data), rdev)
            pad(out)
            out += data
            pad(out)
        out += hdr('TRAILER!!!', 0, 1, 0, 0)
        pad(out)
        return bytes(out)


def shared_libs(binary):
    """Every shared library (absolute paths) binary needs, per ldd."""
    try:
        out = subprocess.run(['ldd', binary], capture_output=True,
                             text=True).stdout
    except OSError:
        return []
    libs = []
    for line in out.splitlines():
        m = re.search(r'=>\s+(/\S+)', line) or re.match(r'\s*(/\S+)', line)
        if m:
            libs.append(m.group(1))
    return libs


def add_with_libs(cpio, src, dest, mode=0o755):
    cpio.add_host_file(dest, src, mode)
    for lib in shared_libs(src):
        # Keep the host path (RPATHs into the build tree still resolve) as a
        # symlink to the one copy: with Debian's merged /usr every library
        # would otherwise be in the initramfs twice (tmpfs memory the
        # snapshot copies).
        real = os.path.realpath(lib)
        cpio.add_host_file(real, real, 0o755)
        if real != lib:
            cpio.add_symlink(lib, real)


def is_elf(path):
    try:
        with open(path, 'rb') as f:
            return f.read(4) == b'\x7fELF'
    except OSError:
        return False


def split_spec(spec):
    """SRC[:DST] -> (SRC, DST); DST defaults to SRC (an absolute path)."""
    src, sep, dst = spec.partition(':')
    if not sep:
        dst = os.path.abspath(src)
    return src, dst


def add_file_spec(cpio, spec):
    """--file SRC[:DST]: SRC at DST with its mode; an ELF file with its
    shared libraries (ldd), like --bin.  A symlink is followed."""
    src, dst = split_spec(spec)
    mode = os.stat(src).st_mode & 0o7777
    if is_elf(src):
        add_with_libs(cpio, src, dst, mode)
    else:
        cpio.add_host_file(dst, src, mode)


def add_tree_spec(cpio, spec):
    """--tree SRC[:DST]: the directory SRC at DST, recursively; symlinks
    stay symlinks, ELF files bring their shared libraries."""
    src, dst = split_spec(spec)
    cpio.add_dir(dst)
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        base = dst if rel == '.' else os.path.join(dst, rel)
        for d in dirs:
            p = os.path.join(root, d)
            if os.path.islink(p):
                cpio.add_symlink(os.path.join(base, d), os.readlink(p))
            else:
                cpio.add_dir(os.path.join(base, d))
        for f in files:
            p = os.path.join(root, f)
            if os.path.islink(p):
                cpio.add_symlink(os.path.join(base, f), os.readlink(p))
            else:
                add_file_spec(cpio, p + ':' + os.path.join(base, f))


INIT = r'''#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /usr/bin /usr/sbin /bin /sbin
/bin/busybox --install -s
export PATH=/usr/local/bin:/usr/bin:/usr/sbin:/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /dev/shm
exec 0</dev/console 1>/dev/console 2>&1
ifconfig lo 127.0.0.1 up 2>/dev/null
hostname hibtest
export HOME=/root DM_DISABLE_UDEV=1
. /etc/hibtest.env
HIB_BOOT=1
for a in $(cat /proc/cmdline); do
	case "$a" in hibtest.boot=*) HIB_BOOT=${a#hibtest.boot=} ;; esac
done
export HIB_BOOT
rm -f /tmp/.hibtest.pass /tmp/.hibtest.fail
touch /tmp/.hibtest.pass /tmp/.hibtest.fail
echo "HIBTEST start $HIB_SCENARIO boot=$HIB_BOOT/$HIB_NBOOTS kernel=$(uname -r)"
cd /tmp
timeout -s KILL "$HIB_TIMEOUT" sh /scenario.sh
rc=$?
. /lib/hibtest.sh
if [ "$rc" = 137 ]; then
	hib_notok scenario-timeout "scenario killed after $HIB_TIMEOUT s (boot $HIB_BOOT)"
elif [ "$rc" != 0 ]; then
	hib_notok scenario-exit "scenario exited with status $rc (boot $HIB_BOOT)"
fi
echo "HIBTEST done pass=$(wc -l < /tmp/.hibtest.pass) fail=$(wc -l < /tmp/.hibtest.fail)"
sync
poweroff -f
sleep 5
echo o > /proc/sysrq-trigger
'''


def build_initramfs(path, args, scenario, env):
    cpio = Cpio()
    for d in ('proc', 'sys', 'dev', 'tmp', 'run', 'root', 'etc', 'mnt',
              'usr/bin', 'usr/sbin', 'bin', 'sbin', 'lib', 'opt'):
        cpio.add_dir(d)
    cpio.add_node('dev/console', stat.S_IFCHR | 0o600, 5, 1)
    cpio.add_node('dev/null', stat.S_IFCHR | 0o666, 1, 3)
    busybox = shutil.which('busybox') or '/bin/busybox'
    cpio.add_host_file('bin/busybox', busybox, 0o755)
    cpio.add_file('init', INIT.encode(), 0o755)
    cpio.add_host_file('lib/hibtest.sh', os.path.join(HERE, 'lib',
                                                      'hibtest.sh'), 0o644)
    cpio.add_host_file('scenario.sh', scenario, 0o755)
    for b in args.bin:
        add_with_libs(cpio, b, 'usr/bin/' + os.path.basename(b))
    for tool in ('dmsetup', 'mkfs.ext4', 'e2fsck'):
        p = shutil.which(tool, path='/usr/sbin:/sbin:/usr/bin:/bin')
        if p:
            add_with_libs(cpio, p, 'usr/sbin/' + tool)
    for spec in args.file:
        add_file_spec(cpio, spec)
    for spec in args.tree:
        add_tree_spec(cpio, spec)
    for name, p in env.get('_selftests', []):
        cpio.add_host_file('opt/selftests/' + name, p, 0o755)
    cpio.add_file('etc/passwd', b'root:x:0:0:root:/root:/bin/sh\n'
                  b'nobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n')
    cpio.add_file('etc/group', b'root:x:0:\nnogroup:x:65534:\n')
    cpio.add_file('etc/hosts', b'127.0.0.1 localhost hibtest\n')
    # The guests' images are local and unencrypted (the VM's own disks, only root writes
    # there): say so, as a user must (libhibernate's hib_image_authentic()).  A scenario that
    # writes its own hibernate.conf says it again or uses a key.  The resume reserve of this
    # guest's busybox initramfs: 32 MiB in use before the load, which needs up to 30 more
    # (the default, 5% of MemTotal + 64 MiB, is sized for a distribution's initramfs).
    cpio.add_dir('etc/hibernate')
    cpio.add_file('etc/hibernate/hibernate.conf',
                  b'# written by tests/vm/vmtest.py\n[image]\nallow-unauthenticated = yes\n'
                  b'[hibernate]\nresume-reserve = 60\n')
    lines = ['export %s=%s' % (k, shquote(str(v)))
             for k, v in sorted(env.items()) if not k.startswith('_')]
    cpio.add_file('etc/hibtest.env', ('\n'.join(lines) + '\n').encode())
    with open(path, 'wb') as f:
        f.write(gzip.compress(cpio.bytes(), compresslevel=1))


def shquote(s):
    return "'" + s.replace("'", "'\\''") + "'"


# --- scenarios -----------------------------------------------------------------

def parse_header(path):
    opts = {'timeout': 300, 'boots': 1, 'mem': None, 'smp': None,
            'disks': '', 'net': '', 'append': {}, 'require': []}
    with open(path) as f:
        for i, line in enumerate(f):
            if i > 40:
                break
            # "# vmtest-require: BOOT REGEX": boot BOOT's console must have a line matching
            # REGEX (what a guest cannot report itself, e.g. after the snapshot instant: a
            # resumed guest has forgotten it).
            m = re.match(r'\s*#\s*vmtest-require:\s*(\d+)\s+(.*\S)', line)
            if m:
                opts['require'].append((int(m.group(1)), re.compile(m.group(2))))
                continue
            m = re.match(r'\s*#\s*vmtest:\s*(.*)', line)
            if not m:
                continue
            for kv in m.group(1).split():
                k, _, v = kv.partition('=')
                a = re.match(r'append(\d*)$', k)
                if a:
                    # kernel arguments: append=ARG every boot, appendN=ARG boot N
                    boot = int(a.group(1)) if a.group(1) else 0
                    opts['append'].setdefault(boot, []).append(v)
                    continue
                if k not in opts:
                    raise SystemExit('vmtest: %s: unknown header key %r'
                                     % (path, k))
                opts[k] = v
    opts['timeout'] = int(opts['timeout'])
    opts['boots'] = int(opts['boots'])
    disks = []
    for d in filter(None, opts['disks'].split(',')):
        name, _, rest = d.partition(':')
        size, _, wbps = rest.partition(':')
        if wbps and not wbps.startswith('wbps='):
            raise SetupError('disk %s: unknown option %s (wbps=SIZE)' % (name, wbps))
        disks.append((name, parse_size(size or '64M'),
                      parse_size(wbps[5:]) if wbps else 0))
    opts['disks'] = disks
    return opts


def parse_size(s):
    mult = {'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}
    if s[-1:].upper() in mult:
        return int(s[:-1]) * mult[s[-1].upper()]
    return int(s)


def compile_selftests(srcdir, outdir):
    """Build every *.c in srcdir statically; return [(name, path)].

    The sources are copied to outdir/src/hibernate/ with every header of
    srcdir both there and in outdir/src/, so that the kernel tree's
    "../kselftest_harness.h" includes resolve as well as plain ones."""
    tree = os.path.join(outdir, 'src')
    sub = os.path.join(tree, 'hibernate')
    os.makedirs(sub, exist_ok=True)
    for f in os.listdir(srcdir):
        p = os.path.join(srcdir, f)
        if os.path.isfile(p):
            shutil.copy(p, sub)
            if f.endswith('.h'):
                shutil.copy(p, tree)
    built = []
    for src in sorted(os.listdir(srcdir)):
        if not src.endswith('.c'):
            continue
        name = src[:-2]
        out = os.path.join(outdir, name)
        cmd = ['gcc', '-static', '-O2', '-g', '-D_GNU_SOURCE',
               '-I', os.path.join(TOP, 'include', 'uapi'),
               '-I', sub, '-I', tree, '-I', srcdir,
               '-o', out, os.path.join(sub, src), '-lpthread']
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            sys.stdout.write(r.stdout + r.stderr)
            raise SetupError('cannot compile selftest %s: %s'
                             % (src, ' '.join(cmd)))
        built.append((name, out))
    if not built:
        raise SetupError('no selftest sources (*.c) in %s' % srcdir)
    return built


class SetupError(Exception):
    pass


# --- QEMU --------------------------------------------------------------------

def run_qemu(cmd, log, timeout, show, stamp=None):
    """Run QEMU, copy its console to log (and to stdout: every line if
    show is True, the lines matching show if it is a regex).  Console lines
    matching the regex stamp are followed in the log by a line
    "===== vmtest stamp T: LINE", T the host's seconds since QEMU started
    (the guest's clocks jump at a snapshot and a restore; the host's do not).

    Returns (console text, timed out?, exit status)."""
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    chunks = []

    def pump():
        for raw in iter(proc.stdout.readline, b''):
            line = raw.decode('utf-8', 'replace').replace('\r', '')
            chunks.append(line)
            log.write(line)
            if stamp and stamp.search(line):
                log.write('===== vmtest stamp %.3f: %s\n' % (time.time() - t0, line.strip()))
            log.flush()
            if show is True or (show and show.search(line)):
                sys.stdout.write(line)
                sys.stdout.flush()
            if POWERCUT_RE.search(line):
                # The guest asks for a power cut: no shutdown, no flush.
                proc.kill()

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        proc.wait()
    t.join(5)
    return ''.join(chunks), timed_out, proc.returncode


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--kernel', default=os.environ.get(
        'HIB_KERNEL', os.path.join(TOP, 'build', 'kernel', 'bzImage')),
        help='bzImage (default: $HIB_KERNEL or build/kernel/bzImage)')
    ap.add_argument('--bin', action='append', default=[],
                    help='a binary to put into /usr/bin (repeatable)')
    ap.add_argument('--file', action='append', default=[],
                    metavar='SRC[:DST]',
                    help='a host file to put at DST (default: the same '
                    'path), with its shared libraries if it is an ELF '
                    'file (repeatable)')
    ap.add_argument('--tree', action='append', default=[],
                    metavar='SRC[:DST]',
                    help='a host directory to copy to DST (default: the '
                    'same path), recursively (repeatable)')
    ap.add_argument('--skip-unless', action='append', default=[],
                    metavar='PATH',
                    help='exit 77 (skipped) when PATH does not exist on '
                    'the host (repeatable)')
    ap.add_argument('--scenario', help='scenario script')
    ap.add_argument('--name', help='scenario name (default: file name)')
    ap.add_argument('--selftests', help='directory of kselftest sources to '
                    'compile and put into /opt/selftests')
    ap.add_argument('--logdir', default=os.path.join(TOP, 'build', 'vm-logs'))
    ap.add_argument('--workdir', default=os.path.join(TOP, 'build', 'vm-work'))
    ap.add_argument('--timeout', type=int, help='guest scenario timeout (s)')
    ap.add_argument('--mem', default='1024')
    ap.add_argument('--smp', default='2',
                    help='vCPUs when the scenario header sets none')
    ap.add_argument('--force-smp', metavar='N',
                    help='vCPUs whatever the header says (make bench\'s scaling rows; '
                    'every boot of the scenario gets the same)')
    ap.add_argument('--mem-prealloc', action='store_true',
                    help='QEMU -mem-prealloc: the host touches all of the guest\'s memory '
                    'before it boots (make bench: keeps the host\'s first touch of guest '
                    'memory, a cost real RAM does not have, out of the timed loads)')
    ap.add_argument('--append', default='', help='extra kernel arguments')
    ap.add_argument('-v', '--verbose', action='store_true',
                    help='show the console while it runs')
    ap.add_argument('--show', metavar='REGEX',
                    help='show the console lines matching REGEX while it runs')
    ap.add_argument('--stamp', metavar='REGEX',
                    help='log the host time (s since QEMU started) of console '
                    'lines matching REGEX ("===== vmtest stamp T: LINE")')
    ap.add_argument('--self-test', action='store_true',
                    help='test the splat detector and result parser')
    args = ap.parse_args(argv)

    if args.self_test:
        return self_test()
    if not args.scenario:
        ap.error('--scenario is required')
    name = args.name or os.path.splitext(os.path.basename(args.scenario))[0]
    try:
        return run_scenario(args, name)
    except SetupError as e:
        print('vmtest %s: FAIL: %s' % (name, e))
        return 1


def run_scenario(args, name):
    # Fail loudly, never skip: a missing kernel is a failed test.
    if not os.path.isfile(args.kernel):
        raise SetupError('kernel %s does not exist: run `make kernel` '
                         '(kernel-patches/build-kernel.sh) or set HIB_KERNEL'
                         % args.kernel)
    for p in args.skip_unless:
        if not os.path.exists(p):
            print('vmtest %s: SKIP: %s is not installed on the host'
                  % (name, p))
            return 77
    for b in args.bin:
        if not os.access(b, os.X_OK):
            raise SetupError('binary %s is missing: build it first '
                             '(`make build`)' % b)
    for spec in args.file + args.tree:
        src = split_spec(spec)[0]
        if not os.path.exists(src):
            raise SetupError('%s does not exist on the host' % src)
    if not os.path.isfile(args.scenario):
        raise SetupError('scenario %s does not exist' % args.scenario)
    qemu = shutil.which('qemu-system-x86_64')
    if not qemu:
        raise SetupError('qemu-system-x86_64 not found: run `make deps`')

    opts = parse_header(args.scenario)
    timeout = args.timeout or opts['timeout']
    mem = opts['mem'] or args.mem
    smp = args.force_smp or opts['smp'] or args.smp

    work = os.path.join(args.workdir, name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.makedirs(args.logdir, exist_ok=True)
    logpath = os.path.join(args.logdir, name + '.log')

    env = {'HIB_SCENARIO': name, 'HIB_NBOOTS': opts['boots'],
           'HIB_TIMEOUT': timeout}
    drives = []
    for i, (dname, size, wbps) in enumerate(opts['disks']):
        img = os.path.join(work, dname + '.img')
        with open(img, 'wb') as f:
            f.truncate(size)
        env['HIB_DISK_' + re.sub(r'\W', '_', dname)] = '/dev/vd' + chr(97 + i)
        # wbps: QEMU throttles writes to that many bytes/s (a slow disk).
        drives += ['-drive', 'file=%s,format=raw,if=none,id=d%d,cache=unsafe%s'
                   % (img, i, ',throttling.bps-write=%d' % wbps if wbps else ''),
                   '-device', 'virtio-blk-pci,drive=d%d,serial=%s'
                   % (i, dname)]
    if args.selftests:
        env['_selftests'] = compile_selftests(args.selftests,
                                              os.path.join(work, 'selftests'))

    initrd = os.path.join(work, 'initramfs.cpio.gz')
    build_initramfs(initrd, args, args.scenario, env)

    netargs = ['-nic', 'none']
    if opts['net'] == 'user':
        netargs = ['-netdev', 'user,id=n0',
                   '-device', 'virtio-net-pci,netdev=n0']

    failures = []
    results = []
    splats = []
    t_start = time.time()
    with open(logpath, 'w') as log:
        for boot in range(1, opts['boots'] + 1):
            extra = ' '.join(opts['append'].get(0, []) +
                             opts['append'].get(boot, []))
            cmdline = ('console=ttyS0,115200 rdinit=/init panic=-1 '
                       'loglevel=5 hibtest.boot=%d %s %s'
                       % (boot, extra, args.append)).strip()
            cmdline = re.sub(r' +', ' ', cmdline)
            cmd = [qemu, '-accel', 'tcg', '-cpu', 'max', '-machine', 'q35',
                   '-m', str(mem), '-smp', str(smp), '-nographic',
                   '-monitor', 'none', '-serial', 'stdio', '-no-reboot',
                   '-kernel', args.kernel, '-initrd', initrd,
                   '-append', cmdline] + (['-mem-prealloc'] if args.mem_prealloc else []) + \
                netargs + drives
            banner = '===== vmtest %s boot %d/%d: %s\n' % (
                name, boot, opts['boots'], ' '.join(cmd))
            log.write(banner)
            log.flush()
            if args.verbose:
                sys.stdout.write(banner)
            t0 = time.time()
            show = True if args.verbose else (
                re.compile(args.show) if args.show else None)
            text, timed_out, rc = run_qemu(cmd, log, timeout + 90, show,
                                           re.compile(args.stamp) if args.stamp else None)
            dt = time.time() - t0
            log.write('===== vmtest %s boot %d ended after %.1f s%s\n' % (
                name, boot, dt, ' (TIMEOUT)' if timed_out else ''))
            res = parse_boot(text)
            results += res['results']
            for rboot, rx in opts['require']:
                if rboot != boot:
                    continue
                hit = next((l for l in text.splitlines() if rx.search(l)), None)
                results.append((hit is not None, 'console-boot%d' % boot,
                                hit.strip() if hit else
                                'no console line matches %r' % rx.pattern))
            for n, what, line in find_splats(text):
                splats.append((boot, what, line))
            if timed_out:
                failures.append('boot %d: host timeout after %d s: QEMU '
                                'killed' % (boot, timeout + 90))
                break
            if res['done'] is None and not res['expect_poweroff']:
                failures.append('boot %d: no "HIBTEST done" line (guest '
                                'crashed or hung; QEMU exit %s)' % (boot, rc))
                break

    if not results:
        failures.append('no test results at all')
    return report('vmtest', name, results, failures, splats, logpath,
                  '%.0f s' % (time.time() - t_start))


def report(tool, name, results, failures, splats, logpath, timing):
    """Print a run's verdict: the counts line, each check, the failures (the not-ok checks
    and every kernel splat added to @failures).  Returns the exit status: 0 pass, 1 fail.
    system-test.py prints its verdicts through this too."""
    notok = [r for r in results if not r[0]]
    if notok:
        failures.append('%d check(s) not ok: %s' % (
            len(notok), ' '.join(t for _, t, _ in notok)))
    for boot, what, line in splats:
        failures.append('boot %d: %s: %s' % (boot, what, line))
    print('%s %s: %d ok, %d not ok, %d kernel splat(s), %s'
          % (tool, name, len(results) - len(notok), len(notok), len(splats), timing))
    for ok, tname, why in results:
        print('  %s %s%s' % ('ok    ' if ok else 'NOT OK', tname,
                             ' - ' + why if why else ''))
    if failures:
        print('%s %s: FAIL' % (tool, name))
        for f in failures:
            print('  FAIL: %s' % f)
        print('  console log: %s' % logpath)
        return 1
    print('%s %s: PASS (console log: %s)' % (tool, name, logpath))
    return 0


# --- self test -----------------------------------------------------------------

SAMPLES = [
    ('clean boot', '''[    0.000000] Linux version 6.1.0
HIBTEST start freeze boot=1/1
HIBTEST ok a
HIBTEST not ok b - WARNING: this is our text, not the kernel's
Freezing of tasks failed after 2.003 seconds (1 tasks refusing to freeze):
task:dd              state:D stack:0     pid:123   ppid:1
Call Trace:
HIBTEST done pass=1 fail=1
''', []),
    ('warn', '''------------[ cut here ]------------
WARNING: CPU: 1 PID: 77 at kernel/freezer.c:196 __thaw_task+0x5c/0x70
''', ['kernel WARNING']),
    ('lockdep', '''======================================================
WARNING: possible circular locking dependency detected
6.1.0 #1 Not tainted
''', ['kernel WARNING']),
    ('lockdep2', '[   12.1] inconsistent lock state\n', ['lockdep: inconsistent lock state']),
    ('rcu', '[    3.2] =============================\n'
     '[    3.2] WARNING: suspicious RCU usage\n', ['kernel WARNING']),
    ('hung', '[  130.0] INFO: task dd:123 blocked for more than 120 seconds.\n',
     ['hung task']),
    ('bug', 'BUG: kernel NULL pointer dereference, address: 0000000000000000\n'
     'Oops: 0000 [#1] PREEMPT SMP\n', ['kernel BUG', 'kernel Oops']),
    ('panic', '---[ end Kernel panic - not syncing: Attempted to kill init! ]---\n',
     ['kernel panic']),
    ('gpf', 'general protection fault, probably for non-canonical address\n',
     ['general protection fault']),
    ('stall', 'rcu: INFO: rcu_preempt self-detected stall on CPU\n',
     ['RCU stall']),
    ('ubsan', 'UBSAN: shift-out-of-bounds in kernel/signal.c:100:3\n',
     ['UBSAN report']),
]


def self_test():
    bad = 0
    for name, text, want in SAMPLES:
        got = [w for _, w, _ in find_splats(text)]
        if got != want:
            print('not ok splat %s: got %s, want %s' % (name, got, want))
            bad += 1
        else:
            print('ok splat %s' % name)
    r = parse_boot(SAMPLES[0][1])
    if (r['done'] != (1, 1) or r['expect_poweroff'] or
            r['results'] != [(True, 'a', ''),
                             (False, 'b', "WARNING: this is our text, not "
                              "the kernel's")]):
        print('not ok parse_boot: %r' % r)
        bad += 1
    else:
        print('ok parse_boot')
    c = Cpio()
    c.add_file('a/b', b'xyz')
    c.add_symlink('a/c', 'b')
    data = c.bytes()
    if not data.startswith(b'070701') or len(data) % 4 or b'TRAILER!!!' not in data:
        print('not ok cpio')
        bad += 1
    else:
        print('ok cpio')
    with tempfile.NamedTemporaryFile('w', suffix='.sh') as f:
        f.write('#!/bin/sh\n# vmtest: boots=2\n# vmtest-require: 1 sysrq f: .*Killed process [0-9]+ \\(x\\)\n')
        f.flush()
        req = parse_header(f.name)['require']
    if (len(req) != 1 or req[0][0] != 1 or
            not req[0][1].search('hook: sysrq f: Out of memory: Killed process 42 (x) total') or
            req[0][1].search('sysrq f: Killed process 42 (y)')):
        print('not ok vmtest-require header: %r' % req)
        bad += 1
    else:
        print('ok vmtest-require header')
    # report(): a not-ok check or a splat fails the run, all ok passes it
    with contextlib.redirect_stdout(io.StringIO()) as out:
        verdicts = (report('t', 'x', [(True, 'a', '')], [], [], 'log', '1 s'),
                    report('t', 'y', [(True, 'a', ''), (False, 'b', 'why')], [], [], 'log', ''),
                    report('t', 'z', [(True, 'a', '')], [], [(1, 'WARN', 'line')], 'log', ''))
    if verdicts != (0, 1, 1) or 'FAIL: boot 1: WARN: line' not in out.getvalue():
        print('not ok report: %r' % (verdicts,))
        bad += 1
    else:
        print('ok report')
    print('%d passed, %d failed' % (len(SAMPLES) + 4 - bad, bad))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
