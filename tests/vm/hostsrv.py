# SPDX-License-Identifier: GPL-2.0-only
"""What with-nginx.py and with-rgw.py share: a free port on the host's loopback, and
whether something listens on one."""

import socket


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
