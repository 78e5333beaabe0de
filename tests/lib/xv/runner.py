# SPDX-License-Identifier: GPL-2.0-or-later
"""Run test functions and print 'N passed, N failed' last.

A test is a function named test_* in a module tests/<suite>/test_*.py (a
SUITE argument with a slash is a directory).  It takes no arguments or one, a
fresh working directory.  It passes by returning, fails by raising, and is
skipped by raising xv.Skip: a skipped test is counted as skipped, never as
passed.

Every test runs under a time limit: XV_TEST_TIMEOUT seconds (default 900),
or the module's TIMEOUT, or the function's .timeout attribute; past it the
test fails with a traceback of where it waited.  The limit fires again every
XV_TEST_REARM seconds (default 5); a test that swallows it and returns still
fails, and one that swallows it MAX_REARMS more times makes the runner kill
its children and exit.  Importing a test module runs under XV_TEST_TIMEOUT
too.  A generator or async test function fails (it would not run), as does a
suite with no tests or an XV_TESTS that selects none.  os.environ and the
cwd are restored after each test; a non-daemon thread a test leaves running
fails it.  TMPDIR points into the
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
import threading
import traceback

from . import ROOT, BUILD, Skip


DEFAULT_TIMEOUT = float(os.environ.get('XV_TEST_TIMEOUT', '900'))
REARM = float(os.environ.get('XV_TEST_REARM', '5'))
# the limit fires once and then this many times more before the runner
# gives up on the test and exits
MAX_REARMS = 3


class TestTimeout(BaseException):
    """Not an Exception: a test's or the harness's 'except Exception' (or
    'except AssertionError') must not swallow the time limit."""


# what the time limit is guarding now: set by _limited
_alarm = {'fired': 0, 'what': None, 'tmpdir': None}


def _on_alarm(signum, frame):
    _alarm['fired'] += 1
    if _alarm['fired'] > 1 + MAX_REARMS:
        # swallowed every time: nothing will stop this test; kill what it
        # started and leave (no summary line: the run failed)
        signal.setitimer(signal.ITIMER_REAL, 0)
        print('FAIL %s: swallowed its time limit %d times; the runner kills its '
              'children and exits' % (_alarm['what'], _alarm['fired'] - 1), flush=True)
        for what in reap_leftovers(_alarm['tmpdir']) if _alarm['tmpdir'] else []:
            print('  left behind: ' + what, flush=True)
        if _alarm['tmpdir']:
            shutil.rmtree(os.path.dirname(_alarm['tmpdir']), ignore_errors=True)
        print('runner aborted in %s' % _alarm['what'], flush=True)
        os._exit(3)
    raise TestTimeout('the test ran past its time limit')


def _arm(what, limit, tmpdir=None):
    _alarm.update(fired=0, what=what, tmpdir=tmpdir)
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit, REARM)
    return old


def _disarm(old):
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)
    fired = _alarm['fired']
    _alarm.update(fired=0, what=None, tmpdir=None)
    return fired


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


def _suite_dir(suite):
    return suite if '/' in suite else os.path.join(ROOT, 'tests', suite)


def discover(suite):
    """[(module name, file)] of a suite, in file order."""
    d = _suite_dir(suite)
    return [('%s/%s' % (os.path.basename(os.path.normpath(suite)), fn[:-3]), os.path.join(d, fn))
            for fn in sorted(os.listdir(d)) if fn.startswith('test_') and fn.endswith('.py')]


def load(modname, path):
    """Import a test module (under the caller's time limit); return its
    tests as [(name, function)] in file order."""
    spec = importlib.util.spec_from_file_location('xvtest_' + modname.replace('/', '_'), path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    tests = []
    for name, fnc in inspect.getmembers(mod):
        if not name.startswith('test_') or not callable(fnc) or inspect.isclass(fnc):
            continue
        if inspect.isfunction(fnc) and fnc.__module__ == mod.__name__:
            fnc.xv_timeout = test_timeout(getattr(mod, 'TIMEOUT', None), fnc)
            tests.append(('%s:%s' % (modname, name), fnc, inspect.getsourcelines(fnc)[1]))
        elif not (inspect.isfunction(fnc) and fnc.__name__ == name):
            # not a test imported from another module under its own name:
            # a decorator without functools.wraps, or a callable object,
            # which the runner would silently leave out
            raise AssertionError('%s: %s is not a function defined in the module '
                                 '(a decorator without functools.wraps?): it '
                                 'would not run' % (modname, name))
    # in file order, so suites read top to bottom
    return [(n, f) for n, f, _ in sorted(tests, key=lambda t: t[2])]


def _not_runnable(fnc):
    """Why the runner cannot run fnc as a test (it would 'pass' unrun)."""
    if inspect.isgeneratorfunction(fnc) or inspect.isasyncgenfunction(fnc):
        return 'a generator function: calling it does not run it'
    if inspect.iscoroutinefunction(fnc):
        return 'an async def function: calling it does not run it'
    return None


def _live_threads(before):
    return [t for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.daemon]


def _on_term(signum, frame):
    raise KeyboardInterrupt('SIGTERM')


def main(argv):
    suites = argv[1:] or ['foundation']
    signal.signal(signal.SIGTERM, _on_term)
    become_subreaper()
    pattern = os.environ.get('XV_TESTS')
    passed = failed = skipped = 0
    failures = []
    errors = []

    def fail(name, dt, lines):
        nonlocal failed
        failed += 1
        failures.append(name)
        print('FAIL %s (%.1fs)' % (name, dt), flush=True)
        for line in lines:
            print('  ' + line.replace('\n', '\n  '), flush=True)

    for suite in suites:
        modules = discover(suite)
        found = broken = 0
        for modname, path in modules:
            t0 = time.monotonic()
            old = _arm(modname + ' (import)', DEFAULT_TIMEOUT)
            try:
                tests = load(modname, path)
            except KeyboardInterrupt:
                _disarm(old)
                raise
            except BaseException as e:  # noqa: B902 - report everything
                _disarm(old)
                what = ['importing %s failed' % path]
                if isinstance(e, TestTimeout):
                    what.append('timed out after %ss' % DEFAULT_TIMEOUT)
                what.append(''.join(traceback.format_exception(e)))
                fail(modname + ' (import)', time.monotonic() - t0, what)
                broken += 1
                continue
            if _disarm(old) or time.monotonic() - t0 > DEFAULT_TIMEOUT:
                fail(modname + ' (import)', time.monotonic() - t0,
                     ['importing %s ran past its time limit (%ss) and swallowed it'
                      % (path, DEFAULT_TIMEOUT)])
            found += len(tests)
            for name, fnc in tests:
                if pattern and pattern not in name:
                    continue
                r = run_one(name, fnc)
                if r == 'ok':
                    passed += 1
                elif r == 'skip':
                    skipped += 1
                else:
                    fail(name, r[0], r[1])
        if not found and not broken:
            errors.append('suite %s has no tests (no test_* function in %s/test_*.py)'
                          % (suite, _suite_dir(suite)))
    if not passed + failed + skipped:
        errors.append('no test ran' + (' (XV_TESTS=%r matches none)' % pattern if pattern else ''))
    if failures:
        print('failed: ' + ' '.join(failures))
    for e in errors:
        print('error: ' + e, flush=True)
    line = '%d passed, %d failed' % (passed, failed)
    if skipped:
        line += ', %d skipped' % skipped
    print(line, flush=True)
    rc = 1 if failed or errors else 0
    left = _live_threads([threading.main_thread()])
    if left:
        # a thread that outlived its test's join: do not hang on it
        print('runner: exiting with %d thread(s) still running: %s'
              % (len(left), ', '.join(t.name for t in left)), flush=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)
    return rc


THREAD_JOIN = 2.0


def run_one(name, fnc):
    """Run one test: 'ok', 'skip', or (seconds, [lines to report])."""
    outer_env = dict(os.environ)
    outer_cwd = os.getcwd()
    threads_before = set(threading.enumerate())
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
    fired = 0
    old_handler = _arm(name, fnc.xv_timeout, tmpdir)
    try:
        why = _not_runnable(fnc)
        if why:
            raise AssertionError('%s is %s; write it as a plain def' % (name, why))
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
        fired = _disarm(old_handler)
        tempfile.tempdir = None
        # what the test changed in the environment or cwd is not the
        # next test's
        try:
            os.chdir(outer_cwd)
        except OSError:
            pass
        if dict(os.environ) != outer_env:
            os.environ.clear()
            os.environ.update(outer_env)
    dt = time.monotonic() - t0
    # threads first: one may still use the test's processes or files
    threads = _live_threads(threads_before)
    deadline = time.monotonic() + THREAD_JOIN
    for t in threads:
        t.join(max(0, deadline - time.monotonic()))
    threads = [t for t in threads if t.is_alive()]
    left = reap_leftovers(tmpdir)
    shutil.rmtree(work, ignore_errors=True)
    timed_out = isinstance(error, TestTimeout) or fired or dt > fnc.xv_timeout
    if isinstance(error, Skip) and not left and not threads and not timed_out:
        print('SKIP %s: %s' % (name, error), flush=True)
        return 'skip'
    if error is None and not left and not threads and not timed_out:
        print('ok   %s (%.1fs)' % (name, dt), flush=True)
        return 'ok'
    lines = []
    if timed_out:
        lines.append('timed out after %ss' % fnc.xv_timeout)
        if not isinstance(error, TestTimeout):
            lines.append('the test swallowed its time limit (fired %d time(s)) and went on'
                         % fired if fired else 'the test ran %.1fs, past its limit' % dt)
    if error is not None and not isinstance(error, Skip):
        lines.append(''.join(traceback.format_exception(error)))
    for what in left:
        lines.append('left behind: ' + what)
    for t in threads:
        lines.append('left behind: thread %r (not a daemon, still running %.0fs after the test)'
                     % (t.name, THREAD_JOIN))
    lines.append('logs: %s' % logdir)
    return dt, lines


if __name__ == '__main__':
    sys.exit(main(sys.argv))
