# SPDX-License-Identifier: GPL-2.0-or-later
"""A QEMU process with QMP and a console, always cleaned up."""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from qemu.qmp.legacy import QEMUMonitorProtocol

from . import qemu_binary


class ConsoleTimeout(AssertionError):
    pass


class VM:
    """Start QEMU with a QMP socket and the serial console on a socket.

    Use as a context manager; the process is killed and its files removed on
    exit, whatever happened.  Console output is kept in memory and written to
    a log file (self.log_path) that the runner shows when a test fails.
    """

    def __init__(self, args, binary=None, name='vm', console=True,
                 logdir=None, accel='tcg'):
        self.binary = binary or qemu_binary()
        self.args = list(args)
        self.name = name
        self.want_console = console
        self.accel = accel
        self.dir = tempfile.mkdtemp(prefix='xv-%s-' % name)
        self.logdir = logdir or os.environ.get('XV_LOGDIR') or self.dir
        os.makedirs(self.logdir, exist_ok=True)
        self.log_path = os.path.join(self.logdir, '%s.console.log' % name)
        self.stderr_path = os.path.join(self.logdir, '%s.stderr.log' % name)
        self.proc = None
        self.qmp = None
        self._con = None
        self._buf = ''
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._reader = None
        self._events = []

    # -- process -----------------------------------------------------------
    def command_line(self):
        qmp_path = os.path.join(self.dir, 'qmp.sock')
        cmd = [self.binary, '-nodefaults', '-display', 'none',
               '-qmp', 'unix:%s,server=on,wait=off' % qmp_path]
        if self.accel:
            cmd += ['-accel', self.accel]
        if self.want_console:
            con_path = os.path.join(self.dir, 'console.sock')
            cmd += ['-chardev', 'socket,id=xvcon,path=%s,server=on,wait=on' % con_path,
                    '-serial', 'chardev:xvcon']
        return cmd + self.args

    def launch(self, timeout=30):
        cmd = self.command_line()
        with open(self.stderr_path, 'w') as err:
            err.write('# ' + ' '.join(cmd) + '\n')
            err.flush()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err)
        deadline = time.monotonic() + timeout
        if self.want_console:
            self._con = self._connect(os.path.join(self.dir, 'console.sock'), deadline)
            self._reader = threading.Thread(target=self._read_console, daemon=True)
            self._reader.start()
        self.qmp = QEMUMonitorProtocol(os.path.join(self.dir, 'qmp.sock'))
        while True:
            try:
                self.qmp.connect()
                break
            except Exception:  # qemu.qmp wraps socket errors in ConnectError
                self._check_alive()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        return self

    def _connect(self, path, deadline):
        while True:
            self._check_alive()
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                return s
            except OSError:
                s.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _check_alive(self):
        if self.proc.poll() is not None:
            raise AssertionError('QEMU exited with status %d: %s'
                                 % (self.proc.returncode, self.stderr().strip()[-2000:]))

    def stderr(self):
        with open(self.stderr_path, errors='replace') as f:
            return ''.join(line for line in f if not line.startswith('# '))

    def _read_console(self):
        with open(self.log_path, 'w', errors='replace') as log:
            while True:
                try:
                    data = self._con.recv(4096)
                except OSError:
                    data = b''
                if not data:
                    break
                text = data.decode('utf-8', errors='replace').replace('\r', '')
                log.write(text)
                log.flush()
                with self._cond:
                    self._buf += text
                    self._cond.notify_all()
        with self._cond:
            self._con_closed = True
            self._cond.notify_all()

    # -- console -----------------------------------------------------------
    @property
    def console(self):
        with self._lock:
            return self._buf

    def wait_console(self, pattern, timeout=120, start=0):
        """Wait for a regex in the console output; return the match.

        Fails at once if QEMU exits or the console closes first, and shows
        the end of the console in the failure message.
        """
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = rx.search(self._buf, start)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or getattr(self, '_con_closed', False):
                    why = 'timed out after %ss' % timeout if left <= 0 else 'console closed'
                    raise ConsoleTimeout('%s waiting for %r; console ends with:\n%s'
                                         % (why, pattern, self._buf[-1500:]))
                self._cond.wait(min(left, 0.5))

    def console_write(self, text):
        self._con.sendall(text.encode())

    # -- QMP -----------------------------------------------------------------
    def cmd(self, name, **args):
        """Run a QMP command; return its result or raise QMPError-like AssertionError."""
        resp = self.qmp.cmd_raw(name, args or None)
        self._events.extend(self.qmp.get_events(wait=False))
        if 'error' in resp:
            raise QMPCommandError(name, resp['error'])
        return resp['return']

    def cmd_error(self, name, **args):
        """Run a QMP command that must fail; return its error description."""
        resp = self.qmp.cmd_raw(name, args or None)
        if 'error' not in resp:
            raise AssertionError('%s succeeded but should have failed: %r' % (name, resp))
        return resp['error']['desc']

    def hmp(self, line):
        return self.cmd('human-monitor-command', **{'command-line': line})

    def events(self, name=None, wait=0.0):
        """Events received so far (and within wait seconds), optionally by name."""
        self._events.extend(self.qmp.get_events(wait=wait) if wait else
                            self.qmp.get_events(wait=False))
        return [e for e in self._events if name is None or e['event'] == name]

    def wait_event(self, name, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            got = self.events(name)
            if got:
                return got[0]
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError('no %s event within %ss' % (name, timeout))
            try:
                ev = self.qmp.pull_event(wait=min(left, 1.0))
            except Exception:
                ev = None
            if ev:
                self._events.append(ev)

    # -- end -------------------------------------------------------------
    def wait_exit(self, timeout=60):
        """Wait for QEMU to exit by itself; return its exit status."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError('QEMU did not exit within %ss; console ends with:\n%s'
                                 % (timeout, self.console[-1500:]))

    def shutdown(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.qmp.cmd_raw('quit')
            except Exception:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait()
        for closer in (self.qmp, self._con):
            try:
                if closer:
                    closer.close()
            except Exception:
                pass
        if self._reader:
            self._reader.join(5)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.launch()

    def __exit__(self, *exc):
        self.shutdown()
        return False


class QMPCommandError(AssertionError):
    def __init__(self, name, error):
        super().__init__('%s failed: %s: %s' % (name, error.get('class'), error.get('desc')))
        self.error = error
