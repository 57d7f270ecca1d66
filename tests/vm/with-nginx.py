#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Run a VM scenario with a WebDAV nginx on the host's loopback.

    with-nginx.py [--expect-empty] [--kill-at-bytes N] [--limit-rate R] [--host-url]
                  -- vmtest.py ARGS...

Starts nginx (its WebDAV module: PUT, DELETE, MOVE) on a free 127.0.0.1 port
serving a fresh temporary directory, runs the command given after `--` with
`--append hibtest.url=http://10.0.2.2:PORT/` added (QEMU user networking
maps 10.0.2.2 to the host's loopback, KERNEL-NOTES.md), then stops nginx.
With --expect-empty the run fails if anything is left on the server (the
one-shot resume deletes the image; an aborted upload leaves no .part).
With --kill-at-bytes N, nginx (its whole process group) is killed with
SIGKILL as soon as a request body it is receiving passes N bytes: a server
dying in the middle of an upload.  --limit-rate R (nginx syntax, e.g. 2m)
slows the responses down, so that a guest can cut a download in the middle.
With --host-url the command is a program on the host instead (bench/netbench):
it gets `--url http://127.0.0.1:PORT/ --www DIR` (DIR: where nginx stores the
files; set TMPDIR to put it on a given filesystem).

Exit status: the command's, or 1 if the server was not left empty, 2 if
nginx could not be started.
"""

import os
import threading
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostsrv import free_port, port_open  # noqa: E402

NGINX = '/usr/sbin/nginx'


def main():
    argv = sys.argv[1:]
    expect_empty = False
    kill_at = None
    limit_rate = None
    host_url = False
    while argv and argv[0] != '--':
        if argv[0] == '--expect-empty':
            expect_empty = True
            argv = argv[1:]
        elif argv[0] == '--kill-at-bytes' and len(argv) > 1:
            kill_at = int(argv[1])
            argv = argv[2:]
        elif argv[0] == '--host-url':
            host_url = True
            argv = argv[1:]
        elif argv[0] == '--limit-rate' and len(argv) > 1:
            limit_rate = argv[1]
            argv = argv[2:]
        else:
            print(__doc__)
            return 2
    if not argv or argv[0] != '--' or len(argv) < 2:
        print(__doc__)
        return 2
    cmd = argv[1:]
    if not os.access(NGINX, os.X_OK):
        print('with-nginx: %s is missing: `make deps` installs nginx-light' % NGINX)
        return 2

    top = tempfile.mkdtemp(prefix='hib-nginx-')
    www = os.path.join(top, 'www')
    os.mkdir(www)
    port = free_port()
    conf = os.path.join(top, 'nginx.conf')
    with open(conf, 'w') as f:
        f.write('''daemon off;
user root;
worker_processes 1;
pid %(top)s/nginx.pid;
error_log %(top)s/error.log info;
events {}
http {
    access_log %(top)s/access.log;
    client_body_temp_path %(top)s/body;
    server {
        listen 127.0.0.1:%(port)d;
        root %(www)s;
        client_max_body_size 0;
        location / {
            dav_methods PUT DELETE MOVE;
            create_full_put_path on;
            %(limit)s
        }
    }
}
''' % {'top': top, 'www': www, 'port': port,
       'limit': 'limit_rate %s;' % limit_rate if limit_rate else ''})
    nginx = subprocess.Popen([NGINX, '-c', conf, '-p', top, '-e',
                              os.path.join(top, 'error.log')], start_new_session=True)
    killed = threading.Event()
    stop = threading.Event()

    def killpg():
        try:
            os.killpg(nginx.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def watch_bodies():
        body = os.path.join(top, 'body')
        while not stop.is_set():
            for d, _, files in os.walk(body):
                for n in files:
                    try:
                        size = os.path.getsize(os.path.join(d, n))
                    except OSError:
                        continue
                    if size >= kill_at:
                        print('with-nginx: killing nginx: a request body reached %d '
                              'bytes' % size)
                        sys.stdout.flush()
                        killpg()
                        killed.set()
                        return
            time.sleep(0.005)

    try:
        for _ in range(100):
            if port_open(port) or nginx.poll() is not None:
                break
            time.sleep(0.05)
        if not port_open(port):
            print('with-nginx: nginx did not start on port %d' % port)
            return 2
        print('with-nginx: WebDAV nginx on 127.0.0.1:%d serving %s' % (port, www))
        sys.stdout.flush()
        url = 'http://10.0.2.2:%d/' % port
        watcher = None
        if kill_at is not None:
            watcher = threading.Thread(target=watch_bodies, daemon=True)
            watcher.start()
        if host_url:
            rc = subprocess.call(cmd + ['--url', 'http://127.0.0.1:%d/' % port,
                                        '--www', www])
        else:
            rc = subprocess.call(cmd + ['--append', 'hibtest.url=' + url])
        stop.set()
        if watcher:
            watcher.join()
            if not killed.is_set():
                print('with-nginx: FAIL: no request body reached %d bytes: nginx was '
                      'never killed' % kill_at)
                rc = rc or 1
        left = []
        for d, _, files in os.walk(www):
            left += [os.path.relpath(os.path.join(d, n), www) for n in files]
        try:
            with open(os.path.join(top, 'access.log')) as f:
                print('with-nginx: requests:')
                for line in f:
                    print('  ' + line.rstrip())
        except OSError:
            pass
        if expect_empty:
            if left:
                print('with-nginx: FAIL: left on the server: %s' % ' '.join(left))
                rc = rc or 1
            else:
                print('with-nginx: ok: nothing left on the server')
        return rc
    finally:
        stop.set()
        if nginx.poll() is None:
            nginx.send_signal(signal.SIGTERM)
            try:
                nginx.wait(10)
            except subprocess.TimeoutExpired:
                killpg()
                nginx.wait()
        elif killed.is_set():
            killpg()	# workers orphaned by the SIGKILL of the master, if any
        shutil.rmtree(top, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
