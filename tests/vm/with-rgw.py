#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Run a command with a throwaway Ceph RADOS Gateway (S3) on the host's loopback.

    with-rgw.py [--expect-empty] [--kill-at-parts N] [--host] -- COMMAND ARGS...

Starts a one-node Ceph cluster in a fresh temporary directory (one monitor,
one OSD keeping its objects in memory: memstore, at most 4 GiB,
with a garbage collection that runs every few seconds), then radosgw (its
beast frontend) on a free 127.0.0.1 port, creates an S3 user with a fixed
test key, a bucket "hib" and a bucket "hibsmall" with an 8 MiB quota (a full
store), and runs COMMAND:

  - by default COMMAND is vmtest.py: it gets `--append hibtest.url=
    s3+http://10.0.2.2:PORT/hib/ hibtest.s3cred=KEY:SECRET` (QEMU user
    networking maps 10.0.2.2 to the host's loopback, KERNEL-NOTES.md);
  - with --host it runs on the host with HIBERNATE_TEST_S3_URL=
    s3+http://127.0.0.1:PORT/hib/ and HIBERNATE_TEST_S3_CREDENTIALS=FILE
    (two lines: access key id, secret key) in its environment.

RGW is a real S3 implementation: it checks every request's SigV4 signature,
refuses parts under 5 MiB but the last, and keeps multipart uploads until
they are completed or aborted.  With --expect-empty the run fails if the
bucket holds an object or an unfinished multipart upload afterwards (the
one-shot resume deletes the image; an aborted hibernation aborts its upload);
both buckets are checked.

With --kill-at-parts N, radosgw is killed (SIGKILL) as soon as a multipart
upload in the bucket holds N parts: a store that dies in the middle of the
upload.  It is started again after COMMAND, for the checks: then no object
may be there, and the unfinished upload the client could not abort is
reported (S3's lifecycle rules drop such uploads), not failed.

Exit status: COMMAND's, or 1 if the bucket was not left empty, 2 if the
gateway could not be started (`make deps` installs ceph-mon, ceph-osd and
radosgw).
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostsrv import free_port, port_open  # noqa: E402

KEY = 'HIBTESTACCESSKEY0001'
SECRET = 'hibtest-secret-key-not-for-production-use'
BUCKET = 'hib'
SMALL = 'hibsmall'		# a bucket with an 8 MiB quota: a store that is full
TOOLS = ['/usr/bin/ceph-mon', '/usr/bin/ceph-osd', '/usr/bin/radosgw',
         '/usr/bin/radosgw-admin', '/usr/bin/ceph', '/usr/bin/curl']


def s3(port, method, path, expect=None):
    """One signed request with curl (SigV4); (status, body)."""
    out = subprocess.run(
        ['curl', '-sS', '-X', method, '--aws-sigv4', 'aws:amz:us-east-1:s3',
         '--user', '%s:%s' % (KEY, SECRET), '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD',
         '-w', '\n%{http_code}', 'http://127.0.0.1:%d%s' % (port, path)],
        capture_output=True, text=True, timeout=60)
    body, _, code = out.stdout.rpartition('\n')
    return int(code or 0), body


class Cluster:
    def __init__(self, top):
        self.top = top
        self.procs = []
        self.mon_port = free_port()
        self.port = free_port()
        self.conf = os.path.join(top, 'ceph.conf')
        with open(self.conf, 'w') as f:
            f.write('''[global]
fsid = %(fsid)s
mon host = v2:127.0.0.1:%(mon)d
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
ms service mode = crc
ms cluster mode = crc
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail crit = 1
mon data avail warn = 1
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 4294967296
rgw gc obj min wait = 1
rgw gc processor period = 2
run dir = %(top)s/run
log file = %(top)s/log/$name.log
admin socket = %(top)s/run/$name.asok
[mon.a]
mon data = %(top)s/mon
[osd.0]
osd data = %(top)s/osd
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:%(port)d
rgw dns name = 127.0.0.1
''' % {'fsid': uuid.uuid4(), 'mon': self.mon_port, 'top': top, 'port': self.port})
        for d in ('mon', 'osd', 'run', 'log'):
            os.mkdir(os.path.join(top, d))

    def run(self, *args):
        subprocess.run(list(args) + ['--conf', self.conf], check=True, timeout=120,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def daemon(self, *args):
        p = subprocess.Popen(list(args) + ['--conf', self.conf, '-f'], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def start(self):
        self.run('ceph-mon', '--id', 'a', '--mkfs', '--keyring', '/dev/null')
        self.daemon('ceph-mon', '--id', 'a')
        osd = subprocess.run(['ceph', '--conf', self.conf, 'osd', 'create'], check=True,
                             timeout=120, capture_output=True, text=True).stdout.strip()
        self.run('ceph-osd', '--id', osd, '--mkfs')
        self.daemon('ceph-osd', '--id', osd)
        self.run('ceph', 'osd', 'crush', 'add', 'osd.' + osd, '1', 'root=default',
                 'host=localhost')
        self.start_rgw()
        self.run('radosgw-admin', 'user', 'create', '--uid', 'hibtest', '--display-name',
                 'hibernate tests', '--access-key', KEY, '--secret', SECRET)
        for b in (BUCKET, SMALL):
            code, body = s3(self.port, 'PUT', '/' + b)
            if code != 200:
                raise RuntimeError('creating bucket %s: HTTP %d %s' % (b, code, body))
        self.run('radosgw-admin', 'quota', 'set', '--quota-scope=bucket', '--bucket=' + SMALL,
                 '--max-size=%d' % (8 << 20))
        self.run('radosgw-admin', 'quota', 'enable', '--quota-scope=bucket',
                 '--bucket=' + SMALL)

    def start_rgw(self):
        self.rgw = self.daemon('radosgw', '-n', 'client.rgw')
        for _ in range(600):
            if port_open(self.port) or self.rgw.poll() is not None:
                break
            time.sleep(0.1)
        if not port_open(self.port):
            raise RuntimeError('radosgw did not start on port %d (log: %s/log)' %
                               (self.port, self.top))

    def kill_rgw(self):
        try:
            os.killpg(self.rgw.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.rgw.wait()

    def parts_stored(self):
        """The most parts any unfinished upload in the bucket holds."""
        most = 0
        code, body = s3(self.port, 'GET', '/%s?uploads=' % BUCKET)
        if code != 200:
            return 0
        for u in body.split('<Upload>')[1:]:
            key = u.split('<Key>')[1].split('<')[0]
            upload = u.split('<UploadId>')[1].split('<')[0]
            code, parts = s3(self.port, 'GET', '/%s/%s?uploadId=%s' % (BUCKET, key, upload))
            if code == 200:
                most = max(most, parts.count('<Part>'))
        return most

    def leftovers(self):
        """Objects and unfinished multipart uploads in the buckets."""
        left = []
        for b in (BUCKET, SMALL):
            code, body = s3(self.port, 'GET', '/%s?list-type=2' % b)
            if code != 200:
                left.append('(listing %s failed: HTTP %d)' % (b, code))
                continue
            left += ['object %s/%s' % (b, k.split('</Key>')[0])
                     for k in body.split('<Key>')[1:]]
            code, body = s3(self.port, 'GET', '/%s?uploads=' % b)
            if code != 200:
                left.append('(listing uploads of %s failed: HTTP %d)' % (b, code))
                continue
            for u in body.split('<Upload>')[1:]:
                left.append('unfinished multipart upload of %s/%s' %
                            (b, u.split('<Key>')[1].split('<')[0]))
        return left

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in reversed(self.procs):
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def main():
    argv = sys.argv[1:]
    expect_empty = host = False
    kill_at = None
    while argv and argv[0] != '--':
        if argv[0] == '--expect-empty':
            expect_empty = True
        elif argv[0] == '--host':
            host = True
        elif argv[0] == '--kill-at-parts' and len(argv) > 1:
            kill_at = int(argv[1])
            argv = argv[1:]
        else:
            print(__doc__)
            return 2
        argv = argv[1:]
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd = argv[1:]
    missing = [t for t in TOOLS if not os.access(t, os.X_OK)]
    if missing:
        print('with-rgw: missing %s: `make deps` installs ceph-mon, ceph-osd, radosgw' %
              ' '.join(missing))
        return 2

    top = tempfile.mkdtemp(prefix='hib-rgw-')
    cluster = Cluster(top)
    try:
        t0 = time.time()
        try:
            cluster.start()
        except (RuntimeError, subprocess.SubprocessError) as e:
            print('with-rgw: %s' % e)
            for n in sorted(os.listdir(os.path.join(top, 'log'))):
                with open(os.path.join(top, 'log', n), errors='replace') as f:
                    print('with-rgw: --- %s (end)\n%s' % (n, ''.join(f.readlines()[-20:])))
            return 2
        print('with-rgw: Ceph RGW (S3) on 127.0.0.1:%d, bucket %s, started in %.1f s' %
              (cluster.port, BUCKET, time.time() - t0))
        sys.stdout.flush()
        killed = threading.Event()
        stop = threading.Event()

        def watch_parts():
            while not stop.is_set():
                n = cluster.parts_stored()
                if n >= kill_at:
                    print('with-rgw: killing radosgw: an upload holds %d parts' % n)
                    sys.stdout.flush()
                    cluster.kill_rgw()
                    killed.set()
                    return
                time.sleep(0.1)

        watcher = None
        if kill_at is not None:
            watcher = threading.Thread(target=watch_parts, daemon=True)
            watcher.start()
        if host:
            cred = os.path.join(top, 'credentials')
            # A secret: mode 0600, or hibernatectl refuses it.
            with open(os.open(cred, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as f:
                f.write('%s\n%s\n' % (KEY, SECRET))
            env = dict(os.environ,
                       HIBERNATE_TEST_S3_URL='s3+http://127.0.0.1:%d/%s/' % (cluster.port,
                                                                             BUCKET),
                       HIBERNATE_TEST_S3_CREDENTIALS=cred)
            rc = subprocess.call(cmd, env=env)
        else:
            rc = subprocess.call(cmd + ['--append', 'hibtest.url=s3+http://10.0.2.2:%d/%s/ '
                                        'hibtest.s3cred=%s:%s' % (cluster.port, BUCKET, KEY,
                                                                  SECRET)])
        stop.set()
        if watcher:
            watcher.join()
            if not killed.is_set():
                print('with-rgw: FAIL: no upload reached %d parts: radosgw was never killed' %
                      kill_at)
                rc = rc or 1
            else:
                cluster.start_rgw()
        left = cluster.leftovers()
        if killed.is_set():
            for u in [x for x in left if x.startswith('unfinished')]:
                print('with-rgw: expected: %s (the client could not abort it: the store '
                      'was dead)' % u)
            left = [x for x in left if not x.startswith('unfinished')]
        if expect_empty:
            if left:
                print('with-rgw: FAIL: left in the bucket: %s' % '; '.join(left))
                rc = rc or 1
            elif killed.is_set():
                print('with-rgw: ok: no object in the buckets')
            else:
                print('with-rgw: ok: no object and no unfinished upload left in the bucket')
        return rc
    finally:
        cluster.stop()
        shutil.rmtree(top, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
