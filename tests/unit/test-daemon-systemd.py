#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""hibernated under systemd, as systemd would run it, without systemd: socket activation
($LISTEN_FDS, $LISTEN_PID, fd 3), sd_notify(3) to a $NOTIFY_SOCKET of our own (READY=1,
STATUS=, RELOADING=1, STOPPING=1), the journal's priority prefixes when stderr is the
$JOURNAL_STREAM, and the refusals: an inherited fd 3 that is not a listening Unix stream
socket, two fds, a socket bound elsewhere than --socket.  Needs no patched kernel, no root;
every socket is in a scratch directory (never /run/hibernated.sock).

    test-daemon-systemd.py HIBERNATED HIBERNATECTL        (TAP)
"""
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

daemon, ctl = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp(prefix='test-daemon-systemd.')
n = 0
fails = 0


def ok(cond, what, detail=''):
    global n, fails
    n += 1
    if cond:
        print(f'ok {n} - {what}')
    else:
        fails += 1
        print(f'not ok {n} - {what}')
        for line in str(detail).splitlines()[-20:]:
            print(f'#   {line}')


class Daemon:
    """hibernated with an empty policy and a configuration without target; fd 3 = @fd3
    (socket activation when given), $NOTIFY_SOCKET ours, stderr to a file."""

    def __init__(self, name, args=(), fd3=None, listen_fds=None, journal=None, fd4=None):
        self.dir = os.path.join(tmp, name)
        os.makedirs(os.path.join(self.dir, 'policy.d'))
        with open(os.path.join(self.dir, 'hibernate.conf'), 'w') as f:
            f.write('[hibernate]\n')
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(os.path.join(self.dir, 'notify'))
        self.log_path = os.path.join(self.dir, 'log')
        log = open(self.log_path, 'w')
        env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
               'NOTIFY_SOCKET': os.path.join(self.dir, 'notify')}
        if journal == 'match':
            st = os.fstat(log.fileno())
            env['JOURNAL_STREAM'] = f'{st.st_dev}:{st.st_ino}'
        elif journal == 'other':
            st = os.stat('/dev/null')
            env['JOURNAL_STREAM'] = f'{st.st_dev}:{st.st_ino}'
        argv = [daemon, '--policy-dir', os.path.join(self.dir, 'policy.d'),
                '--config', os.path.join(self.dir, 'hibernate.conf')] + list(args)
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.dup2(log.fileno(), 2)
                os.dup2(log.fileno(), 1)
                if fd3 is not None:
                    os.dup2(fd3, 3)
                    os.set_inheritable(3, True)
                if fd4 is not None:
                    os.dup2(fd4, 4)
                    os.set_inheritable(4, True)
                if listen_fds is not None:
                    # $LISTEN_PID is the daemon's: exec keeps our pid.
                    env['LISTEN_FDS'] = str(listen_fds)
                    env['LISTEN_PID'] = str(os.getpid())
                os.execve(daemon, argv, env)
            finally:
                os._exit(127)
        log.close()
        self.rc = None

    def messages(self, timeout=5.0, until=None):
        """sd_notify messages until one contains @until (or the timeout)."""
        got = []
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.notify.settimeout(max(0.01, end - time.monotonic()))
            try:
                got.append(self.notify.recv(4096).decode())
            except socket.timeout:
                break
            if until and until in got[-1]:
                break
        return got

    def wait(self, timeout=10.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.rc = os.waitstatus_to_exitcode(status)
                return self.rc
            time.sleep(0.02)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        self.rc = 'timeout'
        return self.rc

    def log(self):
        with open(self.log_path) as f:
            return f.read()


def listening_socket(path, listen=True, kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_UNIX, kind)
    s.bind(path)
    if listen:
        s.listen(8)
    return s


def status_through(path):
    env = dict(os.environ, HIBERNATED_SOCKET=path)
    env.pop('HIBERNATECTL_NO_DAEMON', None)
    return subprocess.run([ctl, 'status'], env=env, capture_output=True, text=True,
                          timeout=20)


try:
    # ---- socket activation: the passed socket, READY=1, status through it, STOPPING=1 ----
    path = os.path.join(tmp, 'activated.sock')
    sock = listening_socket(path)
    d = Daemon('activated', fd3=sock.fileno(), listen_fds=1)
    msgs = d.messages(until='READY=1')
    ready = [m for m in msgs if 'READY=1' in m]
    ok(ready and 'STATUS=idle, policy 0 rules' in ready[0],
       'socket activation: READY=1 with STATUS=idle', msgs + [d.log()])
    r = status_through(path)
    ok(r.returncode == 0 and 'hibernated: idle, policy 0 rules' in r.stdout,
       'socket activation: hibernatectl status is answered on the passed socket',
       f'{r.returncode}\n{r.stdout}\n{r.stderr}\n{d.log()}')
    os.kill(d.pid, signal.SIGHUP)
    msgs = d.messages(until='READY=1')
    ok(any('RELOADING=1' in m for m in msgs) and 'READY=1' in msgs[-1],
       'SIGHUP: RELOADING=1, then READY=1 once the policy is reloaded', msgs)
    os.kill(d.pid, signal.SIGTERM)
    msgs = d.messages(until='STOPPING=1')
    ok(any('STOPPING=1' in m for m in msgs), 'SIGTERM: STOPPING=1', msgs)
    ok(d.wait() == 0, 'SIGTERM: exit 0', f'{d.rc}\n{d.log()}')
    ok(stat.S_ISSOCK(os.lstat(path).st_mode),
       "socket activation: the daemon leaves systemd's socket file alone on exit")
    log = d.log()
    ok(f'hibernated: listening on {path} (socket activation)' in log,
       'socket activation: the log says which socket', log)
    ok('<' not in log.split('\n')[0], 'not the journal: no priority prefix', log)

    # ---- --socket naming the passed socket's path: taken ----
    d = Daemon('activated-path', args=['--socket', path], fd3=sock.fileno(), listen_fds=1)
    msgs = d.messages(until='READY=1')
    ok(any('READY=1' in m for m in msgs), '--socket PATH and the passed socket on PATH: ready',
       msgs + [d.log()])
    os.kill(d.pid, signal.SIGTERM)
    ok(d.wait() == 0, '--socket PATH and the passed socket on PATH: exit 0', d.log())
    sock.close()

    # ---- refusals: clear messages, exit 1, never READY=1 ----
    other = listening_socket(os.path.join(tmp, 'other.sock'))
    d = Daemon('elsewhere', args=['--socket', os.path.join(tmp, 'wanted.sock')],
               fd3=other.fileno(), listen_fds=1)
    ok(d.wait() == 1 and 'not a listening Unix stream socket bound to ' +
       os.path.join(tmp, 'wanted.sock') in d.log(),
       'a passed socket bound elsewhere than --socket: refused, named', f'{d.rc}\n{d.log()}')
    ok(not any('READY=1' in m for m in d.messages(timeout=0.2)), '... and never READY=1')
    ok(not os.path.exists(os.path.join(tmp, 'wanted.sock')), '... and binds nothing itself')
    other.close()

    rfd, wfd = os.pipe()
    d = Daemon('pipe', fd3=rfd, listen_fds=1)
    ok(d.wait() == 1 and 'file descriptor 3 is not a listening Unix stream socket' in d.log(),
       'an inherited fd 3 that is a pipe: refused with a clear error', f'{d.rc}\n{d.log()}')
    os.close(rfd)
    os.close(wfd)

    unlistened = listening_socket(os.path.join(tmp, 'unlistened.sock'), listen=False)
    d = Daemon('unlistened', fd3=unlistened.fileno(), listen_fds=1)
    ok(d.wait() == 1 and 'not a listening Unix stream socket' in d.log(),
       'an inherited socket that does not listen: refused', f'{d.rc}\n{d.log()}')
    unlistened.close()

    dgram = listening_socket(os.path.join(tmp, 'dgram.sock'), listen=False,
                             kind=socket.SOCK_DGRAM)
    d = Daemon('dgram', fd3=dgram.fileno(), listen_fds=1)
    ok(d.wait() == 1 and 'not a listening Unix stream socket' in d.log(),
       'an inherited datagram socket: refused', f'{d.rc}\n{d.log()}')
    dgram.close()

    d = Daemon('closed', listen_fds=1)
    ok(d.wait() == 1 and '$LISTEN_FDS=1, but not every file descriptor from 3 on is open'
       in d.log(), '$LISTEN_FDS=1 with fd 3 closed: refused', f'{d.rc}\n{d.log()}')

    two = listening_socket(os.path.join(tmp, 'two.sock'))
    two_b = listening_socket(os.path.join(tmp, 'two-b.sock'))
    d = Daemon('two', fd3=two.fileno(), fd4=two_b.fileno(), listen_fds=2)
    ok(d.wait() == 1 and 'passed 2 file descriptors; hibernated takes exactly one' in d.log(),
       'two passed fds: refused', f'{d.rc}\n{d.log()}')
    two.close()
    two_b.close()

    # ---- not socket-activated: --socket PATH as before, 0666, READY=1, removed on exit ----
    own = os.path.join(tmp, 'own.sock')
    d = Daemon('own', args=['--socket', own])
    msgs = d.messages(until='READY=1')
    ok(any('READY=1' in m for m in msgs), '--socket PATH: READY=1 once it listens',
       msgs + [d.log()])
    ok(os.path.exists(own) and stat.S_IMODE(os.lstat(own).st_mode) == 0o666,
       '--socket PATH: its own socket, mode 0666 (as SocketMode= of hibernated.socket)')
    r = status_through(own)
    ok(r.returncode == 0 and 'hibernated: idle' in r.stdout, '--socket PATH: status answered',
       f'{r.stdout}\n{r.stderr}')
    os.kill(d.pid, signal.SIGTERM)
    ok(d.wait() == 0 and not os.path.exists(own), '--socket PATH: removed on exit', d.log())
    # $LISTEN_PID not ours: not socket activation (sd_listen_fds(3)), its own socket.
    own2 = os.path.join(tmp, 'own2.sock')
    sock = listening_socket(os.path.join(tmp, 'notours.sock'))
    d = Daemon('notours', args=['--socket', own2], fd3=sock.fileno())
    msgs = d.messages(until='READY=1')
    ok(any('READY=1' in m for m in msgs) and os.path.exists(own2),
       'fd 3 without $LISTEN_FDS: ignored, --socket PATH bound', msgs + [d.log()])
    os.kill(d.pid, signal.SIGTERM)
    d.wait()
    sock.close()

    # ---- the journal: "<N>" prefixes when stderr is $JOURNAL_STREAM, else plain ----
    d = Daemon('journal', args=['--socket', os.path.join(tmp, 'j.sock')], journal='match')
    d.messages(until='READY=1')       # signals are handled from here on
    with open(os.path.join(d.dir, 'policy.d', 'bad.policy'), 'w') as f:
        f.write('this is not a policy\n')
    os.kill(d.pid, signal.SIGHUP)
    d.messages(until='READY=1')       # after the reload
    os.kill(d.pid, signal.SIGTERM)
    d.wait()
    lines = d.log().splitlines()
    ok(lines and all(line[:3] in ('<3>', '<4>', '<5>', '<6>') for line in lines),
       'journal: every line has a priority prefix', '\n'.join(lines))
    ok('<6>listening on ' + os.path.join(tmp, 'j.sock') in lines,
       'journal: "listening" at info, without the redundant "hibernated: "', '\n'.join(lines))
    ok(any(line.startswith('<3>') and 'bad.policy' in line for line in lines),
       'journal: a bad policy file at err', '\n'.join(lines))
    d = Daemon('notjournal', args=['--socket', os.path.join(tmp, 'n.sock')], journal='other')
    d.messages(until='READY=1')
    os.kill(d.pid, signal.SIGTERM)
    d.wait()
    lines = d.log().splitlines()
    ok(lines and all(line.startswith('hibernated: ') for line in lines),
       '$JOURNAL_STREAM of another file (stderr redirected): plain lines', '\n'.join(lines))
finally:
    shutil.rmtree(tmp, ignore_errors=True)

print(f'1..{n}')
sys.exit(1 if fails else 0)
