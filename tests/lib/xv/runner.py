# SPDX-License-Identifier: GPL-2.0-or-later
"""Run test functions and print 'N passed, N failed' last.

A test is a function named test_* in a module tests/<suite>/test_*.py (a
SUITE argument with a slash is a directory).  It takes no arguments or one, a
fresh working directory.  It passes by returning, fails by raising, and is
skipped by raising xv.Skip: a skipped test is counted as skipped, never as
passed.

Every test runs under a time limit: XV_TEST_TIMEOUT seconds (default 900),
or the module's TIMEOUT, or the function's .timeout attribute; past it the
test fails with a traceback of where it waited.  TMPDIR points into the
test's own directory, and a test that leaves a process (a QEMU) or an xv-*
temporary directory behind fails, and they are killed and removed.  The
runner is a child subreaper (Linux), so a process that double-forked away
from its parent is still found below it.
"""

import importlib.util
import inspect
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback

from . import ROOT, BUILD, Skip


DEFAULT_TIMEOUT = float(os.environ.get('XV_TEST_TIMEOUT', '900'))


class TestTimeout(BaseException):
    """Not an Exception: a test's or the harness's 'except Exception' (or
    'except AssertionError') must not swallow the time limit."""


def _on_alarm(signum, frame):
    raise TestTimeout('the test ran past its time limit')


def descendants(pid):
    """The pids of every process below pid (from /proc)."""
    children = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Make orphans below the runner (a daemonizing helper, a QEMU whose
    wrapper died) its children instead of init's, so reap_leftovers finds
    and reaps them.  Linux only; True if it worked."""
    if not sys.platform.startswith('linux'):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _state(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return f.read().replace(b'\0', b' ').decode(errors='replace').strip()
    except OSError:
        return '?'


def reap_leftovers(tmpdir):
    """Kill the processes a test left behind and remove its xv-* temporary
    directories; return a description of what there was."""
    left, seen = [], set()
    # again until none is left: a process may fork between the listing and
    # its SIGKILL, and the children of a killed one become the runner's
    # (a subreaper), as do the double-forked
    for _ in range(20):
        live = [p for p in descendants(os.getpid()) if _state(p) not in (None, 'Z', 'X')]
        if not live:
            break
        for pid in live:
            cmd = _cmdline(pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            if pid not in seen:
                seen.add(pid)
                left.append('process %d (%s)' % (pid, cmd[:200]))
        # reap what died (killed, or exited and never waited for: not
        # left behind), so the next listing shows only the living
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                if not any(_state(p) not in (None, 'Z', 'X')
                           for p in descendants(os.getpid())):
                    break
                time.sleep(0.01)
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break
    for d in sorted(os.listdir(tmpdir)) if os.path.isdir(tmpdir) else []:
        if d.startswith('xv-'):
            left.append('temporary directory %s' % os.path.join(tmpdir, d))
    return left


def test_timeout(mod_timeout, fnc):
    return float(getattr(fnc, 'timeout', None) or mod_timeout or DEFAULT_TIMEOUT)


def discover(suite):
    d = suite if '/' in suite else os.path.join(ROOT, 'tests', suite)
    suite = os.path.basename(os.path.normpath(suite))
    tests = []
    for fn in sorted(os.listdir(d)):
        if not (fn.startswith('test_') and fn.endswith('.py')):
            continue
        spec = importlib.util.spec_from_file_location('xvtest_%s_%s' % (suite, fn[:-3]),
                                                      os.path.join(d, fn))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name, fnc in inspect.getmembers(mod, inspect.isfunction):
            if name.startswith('test_') and fnc.__module__ == mod.__name__:
                fnc.xv_timeout = test_timeout(getattr(mod, 'TIMEOUT', None), fnc)
                tests.append(('%s/%s:%s' % (suite, fn[:-3], name), fnc,
                              inspect.getsourcelines(fnc)[1]))
    # in file order, so suites read top to bottom
    return [(n, f) for n, f, _ in sorted(tests, key=lambda t: (t[0].split(':')[0], t[2]))]


def _on_term(signum, frame):
    raise KeyboardInterrupt('SIGTERM')


def main(argv):
    suites = argv[1:] or ['foundation']
    signal.signal(signal.SIGTERM, _on_term)
    become_subreaper()
    pattern = os.environ.get('XV_TESTS')
    passed = failed = skipped = 0
    failures = []
    outer_tmpdir = os.environ.get('TMPDIR')
    for suite in suites:
        for name, fnc in discover(suite):
            if pattern and pattern not in name:
                continue
            work = tempfile.mkdtemp(prefix='xvt-')
            tmpdir = os.path.join(work, '.tmp')
            os.makedirs(tmpdir)
            logdir = os.path.join(BUILD, 'test-logs', name.replace(':', '.').replace('/', '.'))
            shutil.rmtree(logdir, ignore_errors=True)
            os.makedirs(logdir)
            os.environ['XV_LOGDIR'] = logdir
            os.environ['TMPDIR'] = tmpdir
            tempfile.tempdir = tmpdir
            t0 = time.monotonic()
            error = None
            old_handler = signal.signal(signal.SIGALRM, _on_alarm)
            # again every 5 s, should something swallow it anyway
            signal.setitimer(signal.ITIMER_REAL, fnc.xv_timeout, 5)
            try:
                if inspect.signature(fnc).parameters:
                    fnc(work)
                else:
                    fnc()
            except Skip as e:
                error = e
            except KeyboardInterrupt:
                # interrupted (SIGINT, or SIGTERM from CI's timeout): no
                # QEMU or directory of this test may stay behind
                signal.setitimer(signal.ITIMER_REAL, 0)
                reap_leftovers(tmpdir)
                shutil.rmtree(work, ignore_errors=True)
                raise
            except BaseException as e:  # noqa: B902 - report everything
                error = e
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old_handler)
                tempfile.tempdir = None
                if outer_tmpdir is None:
                    os.environ.pop('TMPDIR', None)
                else:
                    os.environ['TMPDIR'] = outer_tmpdir
            left = reap_leftovers(tmpdir)
            shutil.rmtree(work, ignore_errors=True)
            dt = time.monotonic() - t0
            if isinstance(error, Skip) and not left:
                skipped += 1
                print('SKIP %s: %s' % (name, error), flush=True)
                continue
            if error is None and not left:
                passed += 1
                print('ok   %s (%.1fs)' % (name, dt), flush=True)
                continue
            failed += 1
            failures.append(name)
            print('FAIL %s (%.1fs)' % (name, dt), flush=True)
            if isinstance(error, TestTimeout):
                print('  timed out after %ss' % fnc.xv_timeout)
            if error is not None and not isinstance(error, Skip):
                print('  ' + ''.join(traceback.format_exception(error)).replace('\n', '\n  '))
            for what in left:
                print('  left behind: ' + what)
            print('  logs: %s' % logdir, flush=True)
    if failures:
        print('failed: ' + ' '.join(failures))
    line = '%d passed, %d failed' % (passed, failed)
    if skipped:
        line += ', %d skipped' % skipped
    print(line, flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
