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


class GuestPanic(AssertionError):
    """The guest kernel panicked: raised at once, not after a timeout."""


# what a Linux guest prints when it panics (QEMU's LinuxKernelTest fails on
# the same line); -no-shutdown or -no-reboot would turn it into a long wait
PANIC_RE = re.compile(r'^.*(Kernel panic - not syncing|kernel BUG at ).*$', re.M)

# seconds a QMP command may take before the harness gives up on QEMU
QMP_TIMEOUT = float(os.environ.get('XV_QMP_TIMEOUT', '120'))


class VM:
    """Start QEMU with a QMP socket and the serial console on a socket.

    Use as a context manager; the process is killed and its files removed on
    exit, whatever happened, also when the launch itself fails.  Console
    output is kept in memory and written to a log file (self.log_path) that
    the runner shows when a test fails.

    QEMU's exit status is checked: leaving the block asks QEMU to quit and
    fails the test if it does not exit with 0 within quit_timeout seconds
    (a crash on quit, a hang), or if it had already died from a signal
    without the test collecting its status (wait_exit).  A guest kernel
    panic fails wait_console at once (fail_on_panic=False turns that off).
    prefix is a command put before QEMU's (e.g. ['env', 'LD_PRELOAD=...']).
    """

    def __init__(self, args, binary=None, name='vm', console=True,
                 logdir=None, accel='tcg', fail_on_panic=True, quit_timeout=30,
                 prefix=None, launch_timeout=30):
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
        self._consumed = set()
        self.fail_on_panic = fail_on_panic
        self.quit_timeout = quit_timeout
        self.launch_timeout = launch_timeout
        self.prefix = list(prefix or [])
        self.exitcode = None
        self._status_collected = False
        self._qmp_ready = False

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
        return self.prefix + cmd + self.args

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
        while True:
            self.qmp = QEMUMonitorProtocol(os.path.join(self.dir, 'qmp.sock'))
            # the greeting and qmp_capabilities are bounded too
            self.qmp.settimeout(max(1.0, deadline - time.monotonic()))
            try:
                self.qmp.connect()
                break
            except Exception as e:  # qemu.qmp wraps socket errors in ConnectError
                self.qmp.close()
                self._check_alive()
                if time.monotonic() > deadline:
                    raise AssertionError('QEMU did not answer QMP within %ss (%s: %s)'
                                         % (timeout, type(e).__name__, e)) from e
                time.sleep(0.05)
        self.qmp.settimeout(QMP_TIMEOUT)
        self._qmp_ready = True
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

    def _exited_after_eof(self, grace=5.0):
        """After the QMP socket failed: has QEMU exited?  A dying process
        closes its sockets before it can be reaped, so give it a moment
        instead of racing with the exit (that race made a crash read as
        'QMP connection lost')."""
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            return False
        return True

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
                panic = self.fail_on_panic and PANIC_RE.search(self._buf, start)
                if panic:
                    raise GuestPanic('guest panicked (%r) while waiting for %r; '
                                     'console ends with:\n%s'
                                     % (panic.group(0).strip(), pattern, self._buf[-3000:]))
                left = deadline - time.monotonic()
                if left <= 0 or getattr(self, '_con_closed', False):
                    why = 'timed out after %ss' % timeout if left <= 0 else 'console closed'
                    raise ConsoleTimeout('%s waiting for %r; console ends with:\n%s'
                                         % (why, pattern, self._buf[-1500:]))
                self._cond.wait(min(left, 0.5))

    def console_write(self, text):
        self._con.sendall(text.encode())

    # -- QMP -----------------------------------------------------------------
    def _qmp_call(self, name, args, timeout):
        """cmd_raw with a deadline; a dead or silent QEMU fails at once."""
        if timeout is not None:
            self.qmp.settimeout(timeout)
        try:
            return self.qmp.cmd_raw(name, args or None)
        except Exception as e:
            timed_out = 'imeout' in type(e).__name__
            if self.proc.poll() is not None if timed_out else self._exited_after_eof():
                raise AssertionError('QEMU exited with status %d during %s: %s'
                                     % (self.proc.returncode, name,
                                        self.stderr().strip()[-2000:])) from e
            raise AssertionError('QMP %s failed or got no answer within %ss: %s: %s'
                                 % (name, timeout or QMP_TIMEOUT, type(e).__name__, e)) from e
        finally:
            if timeout is not None:
                self.qmp.settimeout(QMP_TIMEOUT)

    def cmd(self, name, _timeout=None, **args):
        """Run a QMP command; return its result or raise QMPCommandError."""
        resp = self._qmp_call(name, args, _timeout)
        self._pull_events(0)
        if 'error' in resp:
            raise QMPCommandError(name, resp['error'])
        return resp['return']

    def cmd_error(self, name, _timeout=None, **args):
        """Run a QMP command that must fail; return its error description."""
        resp = self._qmp_call(name, args, _timeout)
        self._pull_events(0)
        if 'error' not in resp:
            raise AssertionError('%s succeeded but should have failed: %r' % (name, resp))
        return resp['error']['desc']

    def hmp(self, line):
        return self.cmd('human-monitor-command', **{'command-line': line})

    def _pull_events(self, wait):
        """Move the events QEMU sent (waiting up to wait seconds for one)
        into self._events; a closed QMP connection fails at once."""
        try:
            got = self.qmp.get_events(wait=float(wait) if wait else False)
        except Exception as e:
            # qemu.qmp raises on a timeout (nothing came) and on EOF
            if 'imeout' in type(e).__name__:
                self._check_alive()
                return
            if self._exited_after_eof():
                self._check_alive()
            raise AssertionError('QMP connection lost: %s: %s'
                                 % (type(e).__name__, e)) from e
        self._events.extend(got)

    def events(self, name=None, wait=0.0):
        """Every event received so far (waiting up to wait seconds for a
        new one), optionally only those named name.  Does not consume."""
        self._pull_events(wait)
        return [e for e in self._events if name is None or e['event'] == name]

    def wait_event(self, name, timeout=30):
        """Return the oldest event named name not returned by wait_event
        before, waiting up to timeout seconds; it is consumed, so two calls
        wait for two events.  Fails at once if QEMU exits."""
        deadline = time.monotonic() + timeout
        while True:
            self._pull_events(0)
            for i, e in enumerate(self._events):
                if e['event'] == name and i not in self._consumed:
                    self._consumed.add(i)
                    return e
            self._check_alive()
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError('no %s event within %ss' % (name, timeout))
            self._pull_events(min(left, 1.0))

    # -- end -------------------------------------------------------------
    def wait_exit(self, timeout=60, expect=0):
        """Wait for QEMU to exit by itself; return its exit status, which
        must be expect (None: any)."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError('QEMU did not exit within %ss; console ends with:\n%s'
                                 % (timeout, self.console[-1500:]))
        self._status_collected = True
        self.exitcode = rc
        if expect is not None and rc != expect:
            raise AssertionError('QEMU exited with status %d, not %d: %s; console ends with:\n%s'
                                 % (rc, expect, self.stderr().strip()[-1500:],
                                    self.console[-1500:]))
        return rc

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def shutdown(self, check=True):
        """Quit QEMU (kill it after quit_timeout seconds) and remove its
        files.  With check, a QEMU that did not quit cleanly, or died from a
        signal without the test collecting its status, is an error."""
        problem = None
        try:
            if self.proc and self.proc.poll() is None and not self._qmp_ready:
                # the launch failed: nobody to ask to quit
                self._kill()
            elif self.proc and self.proc.poll() is None:
                if self.qmp:
                    try:
                        self.qmp.settimeout(self.quit_timeout)
                        self.qmp.cmd_raw('quit')
                    except Exception:
                        pass    # QEMU may close the socket before answering
                try:
                    rc = self.proc.wait(self.quit_timeout)
                    if rc != 0:
                        problem = 'QEMU exited with status %d on quit' % rc
                except subprocess.TimeoutExpired:
                    self._kill()
                    problem = 'QEMU did not quit within %ss and was killed' % self.quit_timeout
            elif self.proc and not self._status_collected and self.proc.returncode < 0:
                problem = 'QEMU died from signal %d' % -self.proc.returncode
        finally:
            self._kill()
            if self.proc:
                self.exitcode = self.proc.returncode
            for closer in (self.qmp, self._con):
                try:
                    if closer:
                        closer.close()
                except Exception:
                    pass
            if self._reader:
                self._reader.join(5)
            if problem:
                try:
                    problem += ': ' + self.stderr().strip()[-2000:]
                except OSError:
                    pass
            shutil.rmtree(self.dir, ignore_errors=True)
        if check and problem:
            raise AssertionError(problem)
        return self.exitcode

    def __enter__(self):
        try:
            return self.launch(self.launch_timeout)
        except BaseException:
            # __exit__ does not run when __enter__ raises
            self.shutdown(check=False)
            raise

    def __exit__(self, exc_type, *exc):
        # a failure in the test comes first; QEMU's status is checked only
        # when the test itself passed
        self.shutdown(check=exc_type is None)
        return False


class QMPCommandError(AssertionError):
    def __init__(self, name, error):
        super().__init__('%s failed: %s: %s' % (name, error.get('class'), error.get('desc')))
        self.error = error
