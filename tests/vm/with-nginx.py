#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Run a VM scenario with a WebDAV nginx on the host's loopback.

    with-nginx.py [--expect-empty] -- vmtest.py ARGS...

Starts nginx (its WebDAV module: PUT, DELETE, MOVE) on a free 127.0.0.1 port
serving a fresh temporary directory, runs the command given after `--` with
`--append hibtest.url=http://10.0.2.2:PORT/` added (QEMU user networking
maps 10.0.2.2 to the host's loopback, KERNEL-NOTES.md), then stops nginx.
With --expect-empty the run fails if anything is left on the server (the
one-shot resume deletes the image; an aborted upload leaves no .part).

Exit status: the command's, or 1 if the server was not left empty, 2 if
nginx could not be started.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

NGINX = '/usr/sbin/nginx'


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_open(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=0.2).close()
        return True
    except OSError:
        return False


def main():
    argv = sys.argv[1:]
    expect_empty = False
    if argv and argv[0] == '--expect-empty':
        expect_empty = True
        argv = argv[1:]
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
        }
    }
}
''' % {'top': top, 'www': www, 'port': port})
    nginx = subprocess.Popen([NGINX, '-c', conf, '-p', top, '-e', os.path.join(top, 'error.log')])
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
        rc = subprocess.call(cmd + ['--append', 'hibtest.url=' + url])
        left = []
        for d, _, files in os.walk(www):
            left += [os.path.relpath(os.path.join(d, n), www) for n in files]
        with open(os.path.join(top, 'access.log')) as f:
            print('with-nginx: requests:')
            for line in f:
                print('  ' + line.rstrip())
        if expect_empty:
            if left:
                print('with-nginx: FAIL: left on the server: %s' % ' '.join(left))
                rc = rc or 1
            else:
                print('with-nginx: ok: nothing left on the server')
        return rc
    finally:
        if nginx.poll() is None:
            nginx.send_signal(signal.SIGTERM)
            try:
                nginx.wait(10)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait()
        shutil.rmtree(top, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
