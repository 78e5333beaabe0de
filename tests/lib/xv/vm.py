# SPDX-License-Identifier: GPL-2.0-or-later
"""A QEMU process with QMP and a console, always cleaned up.

Built on QEMU's own python/qemu/machine QEMUMachine (from the patched tree,
put on the path by xv/__init__.py): it launches QEMU, cleans up after a
failed launch, quits it over QMP and kills it after a timeout, runs it under
a wrapper (LD_PRELOAD shims) and bounds every QMP call (qmp_timer).  VM adds
what qemu-xv's suites rely on: a console read into memory and a log, a guest
panic failing at once, QEMU's exit status checked, failures as
AssertionErrors that name what went wrong.
"""

import asyncio
import codecs
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from qemu.machine import QEMUMachine
from qemu.machine.machine import AbnormalShutdown, VMLaunchFailure
from qemu.qmp import ExecInterruptedError, Runstate, StateError
from qemu.qmp.legacy import QEMUMonitorProtocol

from . import qemu_binary
from .runner import TestTimeout


def _timing_out():
    """Is the test's time limit (TestTimeout) being handled right now?"""
    e = sys.exc_info()[1]
    while e is not None:
        if isinstance(e, TestTimeout):
            return True
        e = e.__cause__ or e.__context__
    return False


def _private_qmp_api():
    """Why qemu.qmp's legacy QEMUMonitorProtocol lacks the private parts
    _accept_qmp uses (_sync(future, timeout), the QMPClient in _qmp), or
    None if it has them.  They are there in Debian's python3-qemu-qmp 0.0.6
    (qemu/qmp/legacy.py); another version may move them."""
    try:
        import importlib.metadata
        version = importlib.metadata.version('qemu.qmp')
    except Exception:   # noqa: B902 - only for the message
        version = '?'
    sync = getattr(QEMUMonitorProtocol, '_sync', None)
    init = getattr(QEMUMonitorProtocol.__init__, '__code__', None)
    if not callable(sync):
        what = '_sync'
    elif init is None or '_qmp' not in init.co_names:
        what = '_qmp'
    else:
        return None
    return ('qemu.qmp %s: QEMUMonitorProtocol has no private %s (the harness '
            'is written against Debian python3-qemu-qmp 0.0.6); QMP is '
            'accepted with the public accept(timeout), which does not notice '
            'a QEMU that exits before it connects' % (version, what))


# checked once, at import; a warning (and the public accept) when missing
PRIVATE_QMP_MISSING = _private_qmp_api()
if PRIVATE_QMP_MISSING:
    print('xv.vm: warning: ' + PRIVATE_QMP_MISSING, file=sys.stderr, flush=True)


def _connection_lost(e):
    """Did a QMP call fail because the connection went (EOF, a reset, an
    execution cut off by the disconnect), as when QEMU exits?  Not a
    timeout, not a bad argument, not a connection the harness closed."""
    if 'imeout' in type(e).__name__ or isinstance(e, TimeoutError):
        return False
    if isinstance(e, StateError):
        # the reader hit EOF and nothing has called disconnect() yet
        return e.state == Runstate.DISCONNECTING
    return isinstance(e, (EOFError, OSError, ExecInterruptedError))


class ConsoleTimeout(AssertionError):
    pass


class GuestPanic(AssertionError):
    """The guest kernel panicked: raised at once, not after a timeout."""


# how far back wait_console searches again each time (see there)
SCAN_BACK = 64 * 1024

# what a Linux guest prints when it panics (QEMU's LinuxKernelTest fails on
# the same line); -no-shutdown or -no-reboot would turn it into a long wait
PANIC_RE = re.compile(r'^.*(Kernel panic - not syncing|kernel BUG at ).*$', re.M)

# seconds a QMP command may take before the harness gives up on QEMU
QMP_TIMEOUT = float(os.environ.get('XV_QMP_TIMEOUT', '120'))


class VM(QEMUMachine):
    """QEMUMachine with a QMP socket and the serial console, as a context
    manager that launches QEMU on entry.

    The process is killed and its files removed on exit, whatever happened,
    also when the launch itself fails.  Console output is kept in memory and
    written to a log file (self.log_path) that the runner shows when a test
    fails; QEMU's stdout and stderr go to self.stderr_path.

    QEMU's exit status is checked: leaving the block asks QEMU to quit and
    fails the test if it does not exit with 0 within quit_timeout seconds
    (a crash on quit, a hang), or if it had already died from a signal
    without the test collecting its status (wait_exit); after the test's own
    quit a non-zero status fails too, however fast QEMU exited.  Past the
    test's time limit (TestTimeout) QEMU is killed at once.  A guest kernel
    panic fails wait_console at once (fail_on_panic=False turns that off).
    prefix is a command put before QEMU's (QEMUMachine's wrapper, e.g.
    ['env', 'LD_PRELOAD=...']).
    """

    def __init__(self, args, binary=None, name='vm', console=True,
                 logdir=None, accel='tcg', fail_on_panic=True, quit_timeout=30,
                 prefix=None, launch_timeout=30):
        self.dir = tempfile.mkdtemp(prefix='xv-%s-' % name)
        self.logdir = logdir or os.environ.get('XV_LOGDIR') or self.dir
        os.makedirs(self.logdir, exist_ok=True)
        base = ['-nodefaults'] + (['-accel', accel] if accel else [])
        super().__init__(binary or qemu_binary(), args=base + list(args),
                         wrapper=list(prefix or []), name=name,
                         monitor_address=os.path.join(self.dir, 'qmp.sock'),
                         log_dir=self.logdir, qmp_timer=QMP_TIMEOUT)
        # QEMUMachine removes its temp_dir after shutdown, also after a
        # failed launch
        self._temp_dir = self.dir
        self.name = name
        self.accel = accel
        self.want_console = console
        if console:
            self.set_console()
        self.log_path = os.path.join(self.logdir, '%s.console.log' % name)
        self.stderr_path = os.path.join(self.logdir, '%s.log' % name)
        self._con = None
        self._buf = ''
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._reader = None
        self._history = []
        self.fail_on_panic = fail_on_panic
        self.quit_timeout = quit_timeout
        self.launch_timeout = launch_timeout
        self._status_collected = False
        self._in_launch = False

    @property
    def proc(self):
        return self._popen

    @property
    def args(self):
        """QEMU's arguments after the harness's own; settable before launch."""
        return self._args

    @args.setter
    def args(self, value):
        self._args = list(value)

    # -- process -----------------------------------------------------------
    def _pre_launch(self):
        super()._pre_launch()
        self._qemu_log_file.write(('# ' + ' '.join(self._qemu_full_args) + '\n').encode())
        self._qemu_log_file.flush()

    def _post_launch(self):
        if self._cons_sock_pair:
            self._cons_sock_pair[0].close()
            self._con = socket.socket(fileno=os.dup(self._cons_sock_pair[1].fileno()))
            self._reader = threading.Thread(target=self._read_console, daemon=True)
            self._reader.start()
        if self._qmp_connection:
            self._accept_qmp(self.launch_timeout)
            self._qmp.settimeout(QMP_TIMEOUT)

    def _accept_qmp(self, timeout):
        """QEMUMachine's accept, watching the process: a QEMU that exits
        fails at once, one that never connects after timeout seconds."""
        legacy = self._qmp
        if PRIVATE_QMP_MISSING:
            return self._accept_qmp_public(timeout)
        client = legacy._qmp   # qemu.qmp.QMPClient behind the legacy API
        client.await_greeting = client.negotiate = True
        deadline = time.monotonic() + timeout
        popen = self._popen

        async def accept():
            task = asyncio.ensure_future(client.accept())
            while True:
                done, _ = await asyncio.wait([task], timeout=0.1)
                if done:
                    return task.result()
                if popen.poll() is not None or time.monotonic() > deadline:
                    task.cancel()
                    try:
                        await task
                    except BaseException:
                        pass
                    return None

        try:
            legacy._sync(accept())
        except Exception as e:
            # EOF during negotiation: QEMU is exiting by itself (an error
            # at start-up); its status, not a SIGKILL, is the answer
            if self._exited_after_eof():
                raise AssertionError('QEMU exited with status %d: %s'
                                     % (popen.returncode, self.stderr().strip()[-2000:])) from e
            self._kill_now()
            raise AssertionError('QMP negotiation with QEMU failed: %s: %s; %s'
                                 % (type(e).__name__, e, self.stderr().strip()[-2000:])) from e
        if popen.poll() is not None:
            raise AssertionError('QEMU exited with status %d: %s'
                                 % (popen.returncode, self.stderr().strip()[-2000:]))
        if client.greeting is None:
            self._kill_now()
            raise AssertionError('QEMU did not answer QMP within %ss' % timeout)

    def _accept_qmp_public(self, timeout):
        """The fallback without qemu.qmp's private API: QEMUMachine's own
        accept; a QEMU that exits at start is noticed only after timeout."""
        popen = self._popen
        try:
            self._qmp.accept(timeout)
        except Exception as e:
            if popen.poll() is not None or (_connection_lost(e) and self._exited_after_eof()):
                raise AssertionError('QEMU exited with status %d: %s'
                                     % (popen.returncode, self.stderr().strip()[-2000:])) from e
            self._kill_now()
            if 'imeout' in type(e).__name__ or isinstance(e, TimeoutError):
                raise AssertionError('QEMU did not answer QMP within %ss' % timeout) from e
            raise AssertionError('QMP negotiation with QEMU failed: %s: %s; %s'
                                 % (type(e).__name__, e, self.stderr().strip()[-2000:])) from e

    def _close_cons_pair(self):
        pair, self._cons_sock_pair = getattr(self, '_cons_sock_pair', None), None
        for sock in pair or ():
            sock.close()

    def _kill_now(self):
        if self._popen and self._popen.poll() is None:
            self._popen.kill()
            self._popen.wait()

    def launch(self, timeout=None):
        if timeout is not None:
            self.launch_timeout = timeout
        self._in_launch = True
        try:
            try:
                super().launch()
            finally:
                # a launch that failed before QEMU ran (Popen: no binary,
                # not executable) never shuts down: close the console's
                # socketpair here
                if not self._launched:
                    self._close_cons_pair()
        except VMLaunchFailure as e:
            cause = e.__cause__
            if isinstance(cause, AssertionError):
                raise AssertionError(str(cause)) from cause
            raise AssertionError('QEMU failed to launch: %s: %s; %s'
                                 % (type(cause).__name__, cause, (e.output or '')[-2000:])) from e
        finally:
            self._in_launch = False
        return self

    def _exited_after_eof(self, grace=5.0):
        """After the QMP socket failed: has QEMU exited?  A dying process
        closes its sockets before it can be reaped, so give it a moment
        instead of racing with the exit (that race made a crash read as
        'QMP connection lost')."""
        try:
            self._popen.wait(grace)
        except subprocess.TimeoutExpired:
            return False
        return True

    def _check_alive(self):
        if self._popen.poll() is not None:
            raise AssertionError('QEMU exited with status %d: %s'
                                 % (self._popen.returncode, self.stderr().strip()[-2000:]))

    def stderr(self):
        """What QEMU printed (stdout and stderr), without the command line."""
        try:
            with open(self.stderr_path, errors='replace') as f:
                text = f.read()
        except OSError:
            text = self.get_log() or ''
        return ''.join(line for line in text.splitlines(True) if not line.startswith('# '))

    def _read_console(self):
        # incremental: a UTF-8 character split between two reads is
        # decoded whole, not as two U+FFFD
        decoder = codecs.getincrementaldecoder('utf-8')(errors='replace')
        with open(self.log_path, 'w', errors='replace') as log:
            while True:
                try:
                    data = self._con.recv(4096)
                except OSError:
                    data = b''
                text = decoder.decode(data, final=not data).replace('\r', '')
                if text:
                    log.write(text)
                    log.flush()
                    with self._cond:
                        self._buf += text
                        self._cond.notify_all()
                if not data:
                    break
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

        Only whole lines are matched while the console is open: a line read
        in part would let '(\\d+)' take '1' of '12', or '$' match at the
        end of what has come so far.  Fails at once if QEMU exits or the
        console closes first, and shows the end of the console in the
        failure message.
        """
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        exited_grace = None
        scan = start
        with self._cond:
            while True:
                closed = getattr(self, '_con_closed', False) or not self._con
                end = len(self._buf) if closed else self._buf.rfind('\n') + 1
                m = rx.search(self._buf, scan, max(end, scan))
                if m:
                    return m
                panic = self.fail_on_panic and PANIC_RE.search(self._buf, scan)
                # next time from the line that starts 64 KiB before what
                # was searched (a match may span lines): linear in the
                # console's length, not quadratic
                if end - SCAN_BACK > scan:
                    scan = self._buf.rfind('\n', scan, end - SCAN_BACK) + 1 or scan
                if panic:
                    raise GuestPanic('guest panicked (%r) while waiting for %r; '
                                     'console ends with:\n%s'
                                     % (panic.group(0).strip(), pattern, self._buf[-3000:]))
                left = deadline - time.monotonic()
                if self._popen is not None and self._popen.poll() is not None:
                    # a console's reader gets 2 s to read what was left
                    exited_grace = exited_grace or time.monotonic() + 2
                if exited_grace and (getattr(self, '_con_closed', False) or not self._con
                                     or time.monotonic() > exited_grace):
                    raise ConsoleTimeout('QEMU exited with status %d waiting for %r; '
                                         'console ends with:\n%s'
                                         % (self._popen.returncode, pattern,
                                            self._buf[-1500:]))
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
        qmp = self._qmp
        if timeout is not None:
            qmp.settimeout(timeout)
        try:
            return qmp.cmd_obj(self._command(name, args))
        except Exception as e:
            # only a lost connection is worth waiting for QEMU's exit
            if self._exited_after_eof() if _connection_lost(e) else self._popen.poll() is not None:
                raise AssertionError('QEMU exited with status %d during %s: %s'
                                     % (self._popen.returncode, name,
                                        self.stderr().strip()[-2000:])) from e
            raise AssertionError('QMP %s failed or got no answer within %ss: %s: %s'
                                 % (name, timeout or QMP_TIMEOUT, type(e).__name__, e)) from e
        finally:
            if timeout is not None:
                qmp.settimeout(QMP_TIMEOUT)

    def _command(self, name, args=None):
        """A QMP command with an id of its own: the reply to a command that
        timed out, when it comes late, has an id no one waits for and is
        dropped (qmp-spec), instead of being taken for the next reply."""
        self._cmd_seq = getattr(self, '_cmd_seq', 0) + 1
        msg = {'execute': name, 'id': 'xv-%d' % self._cmd_seq}
        if args:
            msg['arguments'] = args
        return msg

    def cmd(self, name, _timeout=None, **args):
        """Run a QMP command; return its result or raise QMPCommandError.
        Argument names are passed as they are (no '_' to '-')."""
        resp = self._qmp_call(name, args, _timeout)
        self._pull_events(0)
        if 'error' in resp:
            raise QMPCommandError(name, resp['error'])
        if name == 'quit':
            self._quit_issued = True
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
        into the history and QEMUMachine's queue for event_wait; a closed
        QMP connection fails at once."""
        try:
            got = self._qmp.get_events(wait=float(wait) if wait else False)
        except Exception as e:
            # qemu.qmp raises on a timeout (nothing came) and on EOF
            if 'imeout' in type(e).__name__:
                self._check_alive()
                return
            if _connection_lost(e) and self._exited_after_eof():
                self._check_alive()
            raise AssertionError('QMP connection lost: %s: %s'
                                 % (type(e).__name__, e)) from e
        self._history.extend(got)
        self._events.extend(got)

    def events(self, name=None, wait=0.0):
        """Every event received so far (waiting up to wait seconds for a
        new one), optionally only those named name.  Does not consume."""
        self._pull_events(wait)
        return [e for e in self._history if name is None or e['event'] == name]

    def wait_event(self, name, timeout=30, match=None):
        """Return the oldest event named name (and matching match, see
        QEMUMachine.event_match) not returned before, waiting up to timeout
        seconds; QEMUMachine.event_wait consumes it, so two calls wait for
        two events.  Fails at once if QEMU exits."""
        deadline = time.monotonic() + timeout
        while True:
            self._pull_events(0)
            # from the queue _pull_events fills (and the history with it);
            # QEMUMachine.event_wait would read QMP itself, past the history
            for i, ev in enumerate(self._events):
                if ev['event'] == name and (match is None or
                                            self.event_match(ev, match)):
                    del self._events[i]
                    return ev
            self._check_alive()
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError('no %s event within %ss' % (name, timeout))
            self._pull_events(min(left, 1.0))

    # -- end -------------------------------------------------------------
    def wait_migration(self, timeout=60):
        """Wait for the migration (outgoing or incoming) to complete; a
        failed or cancelled one fails at once, with QEMU's reason."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.cmd('query-migrate')
            if st.get('status') == 'completed':
                return
            assert st.get('status') not in ('failed', 'cancelled'), st
            assert time.monotonic() < deadline, 'migration still %s' % st.get('status')
            time.sleep(0.1)

    def wait_exit(self, timeout=60, expect=0):
        """Wait for QEMU to exit by itself; return its exit status, which
        must be expect (None: any)."""
        try:
            rc = self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError('QEMU did not exit within %ss; console ends with:\n%s'
                                 % (timeout, self.console[-1500:]))
        self._status_collected = True
        self._quit_issued = True
        # panic=-1 and -no-reboot turn a panic into an exit with status 0
        self._check_panic()
        if expect is not None and rc != expect:
            raise AssertionError('QEMU exited with status %d, not %d: %s; console ends with:\n%s'
                                 % (rc, expect, self.stderr().strip()[-1500:],
                                    self.console[-1500:]))
        return rc

    def _check_panic(self):
        """A guest that panicked fails the test, whatever QEMU's status."""
        with self._cond:
            m = self.fail_on_panic and PANIC_RE.search(self._buf)
        if m:
            raise GuestPanic('the guest panicked (%r); console ends with:\n%s'
                             % (m.group(0).strip(), self._buf[-3000:]))

    def shutdown(self, check=True, hard=False, timeout=None):
        """Quit QEMU (QEMUMachine.shutdown: quit, killed after quit_timeout
        seconds) and remove its files.  With check, a QEMU that did not quit
        cleanly, or died from a signal without the test collecting its
        status, is an error.  (QEMUMachine's wait() and kill() call this
        with hard/timeout.)"""
        problem = None
        # after a failed launch (QEMUMachine.launch calls wait()), the
        # launch error is the one to report
        check = check and not self._in_launch
        timeout = self.quit_timeout if timeout is None else timeout
        # past the test's time limit (in vm.cmd, in launch, anywhere in the
        # block): kill at once, no quit_timeout wait
        hard = hard or _timing_out()
        try:
            if not self._launched:
                pass
            elif hard or self._popen.poll() is not None:
                rc = self._popen.poll()
                if rc is not None and rc < 0 and not self._status_collected:
                    problem = 'QEMU died from signal %d' % -rc
                elif rc is not None and not self._status_collected \
                        and not self._quit_issued:
                    # a test that expects QEMU to exit says so (wait_exit)
                    problem = 'QEMU exited by itself with status %d' % rc
                elif rc and not self._status_collected:
                    # after the test's own quit: the same as a status on
                    # the harness's quit, however fast QEMU exited
                    problem = 'QEMU exited with status %d on quit' % rc
                super().shutdown(hard=True)
            elif not self._qmp_connection:
                # no QMP to quit with: QEMUMachine sends SIGTERM at once
                # (QEMU exits with 0 on it) and kills after timeout
                try:
                    super().shutdown(timeout=timeout)
                except AbnormalShutdown:
                    pass
                rc = self._popen.returncode
                if rc == -9:
                    problem = 'QEMU did not exit on SIGTERM within %ss and was killed' % timeout
                elif rc != 0:
                    problem = 'QEMU exited with status %d on SIGTERM' % rc
            else:
                # quit here first: QEMUMachine kills QEMU at once when its
                # quit fails, also when QEMU is exiting by itself (a crash
                # on quit, an error exit), and SIGKILL would hide that status
                try:
                    self._qmp.settimeout(timeout)
                    self._qmp.cmd_obj(self._command('quit'))
                    self._quit_issued = True
                except Exception as e:
                    if 'imeout' in type(e).__name__:
                        self._kill_now()
                    elif _connection_lost(e):
                        self._exited_after_eof()
                try:
                    super().shutdown(timeout=timeout)
                except AbnormalShutdown:
                    pass    # QEMUMachine killed it; the status says why
                rc = self._popen.returncode
                if rc == -9:
                    problem = 'QEMU did not quit within %ss and was killed' % timeout
                elif rc != 0:
                    problem = 'QEMU exited with status %d on quit' % rc
        finally:
            self._kill_now()
            if self._con:
                try:
                    self._con.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self._con.close()
            if self._reader:
                self._reader.join(5)
            self._close_cons_pair()
            if problem:
                problem += ': ' + self.stderr().strip()[-2000:]
            shutil.rmtree(self.dir, ignore_errors=True)
        if check and problem:
            raise AssertionError(problem)
        if check:
            # the whole console is read now (the reader has ended)
            self._check_panic()
        return self.exitcode()

    def __enter__(self):
        # QEMUMachine.launch cleans up after a failed launch
        return self.launch()

    def __exit__(self, exc_type, *exc):
        # a failure in the test comes first; QEMU's status is checked only
        # when the test itself passed
        timed_out = exc_type is not None and issubclass(exc_type, TestTimeout)
        self.shutdown(check=exc_type is None, hard=timed_out)
        return False


class QMPCommandError(AssertionError):
    def __init__(self, name, error):
        super().__init__('%s failed: %s: %s' % (name, error.get('class'), error.get('desc')))
        self.error = error


def run_to_exit(args, binary=None, timeout=60, accel=None, prefix=None, name='run'):
    """Run QEMU without QMP until it exits by itself (a QEMU that must
    refuse to start, a guest that powers off); return (exit status, what
    QEMU printed).  Past timeout seconds it is killed and that is an
    AssertionError."""
    vm = VM(args, binary=binary, name=name, console=False, accel=accel, prefix=prefix)
    vm.set_qmp_monitor(False)
    vm.launch()
    try:
        rc = vm.wait_exit(timeout, expect=None)
        return rc, vm.stderr()
    finally:
        # past the timeout (or on any error) QEMU is killed at once
        vm.shutdown(check=False, hard=True)
