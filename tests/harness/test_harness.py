# SPDX-License-Identifier: GPL-2.0-or-later
"""The harness itself: a QEMU that never answers QMP, one that crashes on
quit, one that hangs or dies, a guest that panics and a test that runs too
long or leaves a process behind each fail fast, with a clear message, and
leave no process, socket or temporary directory behind; so does a QEMU run
to its exit that overstays, a daemon it double-forks, a ninja that hangs.
The console keeps UTF-8 split between reads whole.  QEMU's misbehaviour
comes from fakeqemu.py (a stand-in binary); the panic from a real guest."""

import os
import subprocess
import sys
import textwrap
import time

from xv import ROOT
from xv.guest import guest_exit_status, linux_args
from xv.vm import VM, GuestPanic, run_to_exit

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fakeqemu.py')


def fake_vm(mode, **kw):
    os.environ['XV_FAKE'] = mode
    kw.setdefault('console', False)
    kw.setdefault('accel', None)
    return VM([], binary=FAKE, name='fake-' + mode, **kw)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie has exited
    with open('/proc/%d/stat' % pid) as f:
        return f.read().rsplit(')', 1)[1].split()[0] != 'Z'


def expect_failure(fn, *words):
    """Run fn; it must raise AssertionError whose text has every word."""
    t0 = time.monotonic()
    try:
        fn()
    except AssertionError as e:
        msg = str(e)
    else:
        raise AssertionError('no failure reported')
    for w in words:
        assert w in msg, 'expected %r in the failure: %s' % (w, msg)
    return time.monotonic() - t0, msg


def test_qemu_that_never_answers_qmp():
    vm = fake_vm('silent', console=True, launch_timeout=3)

    def run():
        with vm:
            pass
    dt, _ = expect_failure(run, 'did not answer QMP within 3s')
    assert dt < 10, dt
    assert not alive(vm.proc.pid), 'the silent QEMU was left running'
    assert not os.path.exists(vm.dir), 'its sockets were left in %s' % vm.dir


def test_qemu_that_exits_at_start():
    # QEMUMachine's accept would wait out launch_timeout; the VM watches
    # the process and reports the exit and QEMU's message at once
    vm = fake_vm('exit', console=True, launch_timeout=20)

    def run():
        with vm:
            pass
    dt, _ = expect_failure(run, 'QEMU exited with status 1', 'invalid option')
    assert dt < 5, dt
    assert not os.path.exists(vm.dir), 'its files were left in %s' % vm.dir


def test_qemu_that_crashes_on_quit():
    vm = fake_vm('crash-on-quit')

    def run():
        with vm:
            vm.cmd('query-status')
    dt, _ = expect_failure(run, 'exited with status -6 on quit')
    assert dt < 10, dt
    assert not alive(vm.proc.pid) and not os.path.exists(vm.dir)


def test_qemu_that_hangs():
    vm = fake_vm('hang', quit_timeout=2)
    state = {}

    def run():
        with vm:
            t0 = time.monotonic()
            try:
                vm.cmd('query-status', _timeout=2)
            except AssertionError as e:
                state['cmd'] = (time.monotonic() - t0, str(e))
    dt, _ = expect_failure(run, 'did not quit within 2s and was killed')
    cmd_dt, cmd_msg = state['cmd']
    assert cmd_dt < 5 and 'no answer within 2' in cmd_msg, state
    assert dt < 12, dt
    assert not alive(vm.proc.pid) and not os.path.exists(vm.dir)


def test_qemu_that_dies_while_a_test_waits_for_an_event():
    vm = fake_vm('die')
    state = {}

    def run():
        with vm:
            t0 = time.monotonic()
            try:
                vm.wait_event('NEVER', timeout=120)
            except AssertionError as e:
                state['wait'] = (time.monotonic() - t0, str(e))
            # the test goes on as if nothing happened: leaving the block
            # still reports the crash
    expect_failure(run, 'died from signal 11')
    wait_dt, wait_msg = state['wait']
    assert wait_dt < 10 and 'QEMU exited with status -11' in wait_msg, state
    assert not os.path.exists(vm.dir)


def test_wait_event_consumes_events():
    with fake_vm('events') as vm:
        first = vm.wait_event('XV_TICK', timeout=10)
        second = vm.wait_event('XV_TICK', timeout=10)
        assert (first['data']['n'], second['data']['n']) == (1, 2), (first, second)
        t0 = time.monotonic()
        expect_failure(lambda: vm.wait_event('XV_TICK', timeout=1), 'no XV_TICK event within 1s')
        assert time.monotonic() - t0 < 4
        # events() is the history, unconsumed
        assert [e['data']['n'] for e in vm.events('XV_TICK')] == [1, 2]
    assert vm.exitcode() == 0


def test_guest_panic_fails_at_once(work):
    # sysrq 'c' crashes the kernel; -no-reboot keeps the panicked guest
    # there until the harness notices
    args = linux_args(work, 'echo c > /proc/sysrq-trigger; sleep 600\n')
    t0 = time.monotonic()
    vm = VM(args, name='panic')

    def run():
        with vm:
            guest_exit_status(vm, timeout=300)
    try:
        run()
    except GuestPanic as e:
        msg = str(e)
    else:
        raise AssertionError('the panic was not reported')
    dt = time.monotonic() - t0
    assert 'Kernel panic - not syncing' in msg, msg
    assert dt < 120, 'a panic took %.0f s to report' % dt
    assert not alive(vm.proc.pid) and not os.path.exists(vm.dir)


def run_suite(work, name, files, timeout=60, **env):
    """Run the runner on a suite of files {file name: source}; return
    (return code, stdout then stderr, seconds)."""
    suite = os.path.join(work, name)
    os.makedirs(suite)
    for fn, src in files.items():
        with open(os.path.join(suite, fn), 'w') as f:
            f.write(textwrap.dedent(src))
    e = dict(os.environ)
    e.pop('XV_TESTS', None)
    e.update(env)
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, os.path.join(ROOT, 'tests', 'run.py'), suite],
                       capture_output=True, text=True, timeout=timeout, env=e)
    return p.returncode, p.stdout + p.stderr, time.monotonic() - t0


def test_guest_panic_fails_a_test_that_waits_only_for_the_exit(work):
    # panic=-1 and -no-reboot make a panicked guest an exit with status 0
    # (with -no-shutdown, a stop): wait_exit, and the block's end after
    # the test read the guest's status, still fail
    late = 'echo "XV-EXIT: 0"; sleep 1; echo c > /proc/sysrq-trigger; sleep 600\n'
    for name, script, extra, body in (
            ('panic-exit', 'echo c > /proc/sysrq-trigger; sleep 600\n', [],
             lambda vm: vm.wait_exit(120)),
            ('panic-wait', late, [],
             lambda vm: (guest_exit_status(vm, timeout=120), vm.wait_exit(120))),
            ('panic-late', late, ['-no-shutdown'],
             lambda vm: (guest_exit_status(vm, timeout=120),
                         vm.wait_event('STOP', timeout=120)))):
        vm = VM(linux_args(work, script) + extra, name=name)

        def run():
            with vm:
                body(vm)
        _, msg = expect_failure(run, 'the guest panicked', 'Kernel panic - not syncing')
        assert not alive(vm.proc.pid) and not os.path.exists(vm.dir)


def test_runner_time_limit_and_leftovers(work):
    rc, out, dt = run_suite(work, 'selftest', {'test_bad.py': '''\
            import subprocess, tempfile, time

            def test_sleeps_too_long():
                time.sleep(600)
            test_sleeps_too_long.timeout = 2

            def test_leaves_a_process():
                subprocess.Popen(['sleep', '6061'])

            def test_leaves_a_temp_dir():
                tempfile.mkdtemp(prefix='xv-left-')

            def test_fine():
                pass

            def test_swallows_the_limit():
                try:
                    time.sleep(600)
                except BaseException:
                    pass
                time.sleep(600)
            test_swallows_the_limit.timeout = 2

            def test_catches_assertion_errors():
                try:
                    time.sleep(600)
                except (Exception, AssertionError):
                    pass
                time.sleep(600)
            test_catches_assertion_errors.timeout = 2
            '''}, timeout=120)
    assert rc == 1, out
    assert '\n1 passed, 5 failed\n' in out, out
    assert out.count('timed out after 2.0s') == 3, out
    # swallowed once, the limit fires again 5 s later
    assert 'FAIL selftest/test_bad:test_swallows_the_limit (7.' in out, out
    assert 'FAIL selftest/test_bad:test_catches_assertion_errors (2.' in out, out
    assert "left behind: process" in out and 'sleep 6061' in out, out
    assert 'left behind: temporary directory' in out and 'xv-left-' in out, out
    assert dt < 40, dt
    ps = subprocess.run(['pgrep', '-f', 'sleep 6061'], capture_output=True, text=True)
    assert ps.returncode == 1, 'the left process still runs: ' + ps.stdout


def test_late_reply_is_not_taken_for_the_next_one():
    # every command has an id of its own: the reply to one that timed out
    # is dropped when it comes, not returned to the next command
    vm = fake_vm('plain')
    with vm:
        expect_failure(lambda: vm.cmd('xv-slow', _timeout=1), 'no answer within 1')
        time.sleep(1.5)
        assert vm.cmd('query-status') == {}
        assert vm.cmd('query-status') == {}


def test_qemu_that_exits_by_itself_fails_the_test():
    # a QEMU gone before the test ended is a failure, whatever its status,
    # unless the test waited for it (wait_exit)
    vm = fake_vm('plain')

    def run():
        with vm:
            vm.cmd('xv-exit')
            time.sleep(0.5)
    expect_failure(run, 'QEMU exited by itself with status 3')
    vm = fake_vm('plain')
    with vm:
        vm.cmd('xv-exit')
        assert vm.wait_exit(timeout=10, expect=3) == 3


def test_run_to_exit_kills_at_its_timeout():
    # no QMP to quit with: past the timeout QEMU is killed at once, not
    # after 5 s more waiting for an exit that does not come
    os.environ['XV_FAKE'] = 'silent'
    dt, _ = expect_failure(lambda: run_to_exit([], binary=FAKE, timeout=2),
                           'QEMU did not exit within 2s')
    assert dt < 4, 'run_to_exit(timeout=2) took %.1f s' % dt


def test_qmp_error_that_is_not_eof_fails_at_once():
    # only a lost connection makes a command wait for QEMU to exit; here
    # the harness's side is closed and QEMU runs on
    vm = fake_vm('stay')
    vm.launch()
    try:
        vm._qmp.close()
        dt, _ = expect_failure(lambda: vm.cmd('query-status'), 'QMP query-status failed')
        assert dt < 2, 'the failure took %.1f s' % dt
    finally:
        t0 = time.monotonic()
        vm.shutdown(check=False)
    assert time.monotonic() - t0 < 3, 'shutdown took %.1f s' % (time.monotonic() - t0)
    assert not alive(vm.proc.pid) and not os.path.exists(vm.dir)


def test_console_keeps_a_character_split_between_reads():
    # the fake writes U+20AC across byte 4096 (the reader's chunk) in two
    # writes: decoded as one character, not as U+FFFD
    with fake_vm('utf8', console=True) as vm:
        m = vm.wait_console(r'-split-euro$', timeout=10)
        before = vm.console[m.start() - 3:m.start()]
        assert before == 'xx\u20ac', 'the console has %a before the match' % before
        assert '\ufffd' not in vm.console
    with open(vm.log_path) as f:
        assert 'x\u20ac-split-euro' in f.read()


def test_console_matches_whole_lines_only():
    # (\d+) on a line read in part would take '1' of '123'
    with fake_vm('half-line', console=True) as vm:
        assert vm.wait_console(r'^XV-N: (\d+)', timeout=10).group(1) == '123'
        assert vm.wait_console(r'^XV-N: (\d+)$', timeout=10).group(1) == '123'
        vm.wait_console(r'^XV-END$', timeout=10)


def test_console_wait_is_linear_in_the_output():
    # each wake-up searched the whole console again: 8 MiB took 121 s
    t0 = time.monotonic()
    with fake_vm('spam', console=True) as vm:
        vm.wait_console(r'^DONE$', timeout=60)
    assert time.monotonic() - t0 < 20, 'waiting through 8 MiB took %.1f s' % (
        time.monotonic() - t0)


def test_runner_reaps_double_forked_children(work):
    # the runner is a subreaper: a process that double-forked away from
    # QEMU is still the runner's, found, killed and reported
    rc, out, _ = run_suite(work, 'selftest2', {'test_daemon.py': '''\
            import os
            from xv.vm import VM

            def test_qemu_starts_a_daemon():
                os.environ['XV_FAKE'] = 'double-fork'
                with VM([], binary=%r, name='df', console=False, accel=None) as vm:
                    vm.cmd('query-status')
            ''' % FAKE})
    ps = subprocess.run(['pgrep', '-f', '^sleep 6062$'], capture_output=True, text=True)
    for pid in ps.stdout.split():
        os.kill(int(pid), 9)
    assert ps.returncode == 1, 'the daemon escaped the runner and still runs: ' + ps.stdout
    assert rc == 1 and '\n0 passed, 1 failed\n' in out, out
    assert 'left behind: process' in out and 'sleep 6062' in out, out


def test_public_qmp_accept_fallback():
    # without qemu.qmp's private _sync/_qmp (another qemu.qmp than Debian's
    # 0.0.6) the VM accepts QMP with the public accept(timeout)
    import xv.vm
    saved = xv.vm.PRIVATE_QMP_MISSING
    xv.vm.PRIVATE_QMP_MISSING = 'forced by the test'
    try:
        with fake_vm('plain') as vm:
            assert vm.cmd('query-status') == {}
        vm = fake_vm('silent', launch_timeout=2)

        def run():
            with vm:
                pass
        dt, _ = expect_failure(run, 'did not answer QMP within 2s')
        assert dt < 6, dt
        assert not alive(vm.proc.pid) and not os.path.exists(vm.dir)
    finally:
        xv.vm.PRIVATE_QMP_MISSING = saved


def test_qtest_build_has_a_time_limit(work):
    # a ninja that never finishes (here a stand-in on PATH: the real one is
    # not run) fails run_qtest after NINJA_TIMEOUT with a clear message
    import xv.qtest
    bindir = os.path.join(work, 'bin')
    os.makedirs(bindir)
    with open(os.path.join(bindir, 'ninja'), 'w') as f:
        f.write('#!/bin/sh\nexec sleep 6063\n')
    os.chmod(os.path.join(bindir, 'ninja'), 0o755)
    saved = os.environ['PATH'], xv.qtest.NINJA_TIMEOUT
    os.environ['PATH'] = bindir + os.pathsep + os.environ['PATH']
    xv.qtest.NINJA_TIMEOUT = 1
    try:
        dt, _ = expect_failure(lambda: xv.qtest.run_qtest('xv-no-such-qtest'),
                               'building tests/qtest/xv-no-such-qtest did not finish within 1')
    finally:
        os.environ['PATH'], xv.qtest.NINJA_TIMEOUT = saved
    assert dt < 5, dt


def test_runner_fails_a_test_that_swallows_its_limit_and_returns(work):
    # a retry loop that catches everything, then returns: still a failure
    rc, out, _ = run_suite(work, 'swallow', {'test_s.py': '''\
        import time

        def test_swallows_every_time_then_returns():
            t0 = time.monotonic()
            while time.monotonic() - t0 < 2.5:
                try:
                    time.sleep(100)
                except BaseException:
                    pass
        test_swallows_every_time_then_returns.timeout = 1
        '''}, XV_TEST_REARM='1')
    assert rc == 1, out
    assert 'FAIL swallow/test_s:test_swallows_every_time_then_returns' in out, out
    assert 'swallowed its time limit (fired' in out, out
    assert out.strip().splitlines()[-1] == '0 passed, 1 failed', out


def test_runner_gives_up_on_a_test_that_swallows_every_limit(work):
    # after MAX_REARMS re-arms the runner kills the test's children and exits
    rc, out, dt = run_suite(work, 'forever', {'test_f.py': '''\
        import subprocess, time

        def test_never_stops():
            subprocess.Popen(['sleep', '6064'])
            while True:
                try:
                    time.sleep(100)
                except BaseException:
                    pass
        test_never_stops.timeout = 1
        '''}, XV_TEST_REARM='1')
    ps = subprocess.run(['pgrep', '-f', '^sleep 6064$'], capture_output=True, text=True)
    for pid in ps.stdout.split():
        os.kill(int(pid), 9)
    assert rc not in (0, 1) and 'swallowed its time limit 4 times' in out, (rc, out)
    assert 'the runner kills its children and exits' in out, out
    assert 'left behind: process' in out and ps.returncode == 1, (out, ps.stdout)
    assert dt < 15, dt


def test_explicit_quit_with_an_error_status_fails():
    # the test's own quit, then exit status 1: a failure whether QEMU has
    # already exited when the block ends or is still exiting
    for wait in (0.5, 0):
        vm = fake_vm('quit-exit1')

        def run():
            with vm:
                vm.cmd('quit')
                time.sleep(wait)
        expect_failure(run, 'QEMU exited with status 1 on quit')
        assert not alive(vm.proc.pid) and not os.path.exists(vm.dir)
    # a clean exit after the test's quit is fine
    with fake_vm('plain') as vm:
        vm.cmd('quit')
        time.sleep(0.5)
    assert vm.exitcode() == 0


def test_runner_fails_when_nothing_runs(work):
    rc, out, _ = run_suite(work, 'empty', {'test_none.py': 'X = 1\n'})
    assert rc != 0 and 'has no tests' in out, out
    rc, out, _ = run_suite(work, 'nomatch', {'test_one.py': 'def test_one():\n    pass\n'},
                           XV_TESTS='no-such-test')
    assert rc != 0 and "XV_TESTS='no-such-test' matches none" in out, out


def test_runner_refuses_generator_and_async_tests(work):
    rc, out, _ = run_suite(work, 'gen', {'test_gen.py': '''\
        def test_generator():
            assert False, 'never runs'
            yield

        async def test_async():
            assert False, 'never runs'
        '''})
    assert rc == 1, out
    assert out.strip().splitlines()[-1] == '0 passed, 2 failed', out
    assert 'is a generator function' in out and 'is an async def function' in out, out


def test_runner_refuses_tests_it_would_leave_out(work):
    # a test made by a decorator from another module without
    # functools.wraps, or a callable object, used to be left out silently:
    # "1 passed" for a file with two failing tests
    rc, out, _ = run_suite(work, 'uncollected', {'test_u.py': '''\
        import functools

        test_partial = functools.partial(lambda x: x / 0, 1)

        def test_plain():
            pass
        '''})
    assert rc == 1 and 'test_partial is not a function defined in the module' in out, out
    assert '(import)' in out, out


def test_failed_launch_leaks_no_fd(work):
    # Popen fails (no binary, not executable): the console's socketpair is
    # closed all the same
    noexec = os.path.join(work, 'not-executable')
    open(noexec, 'w').close()

    def fds():
        return len(os.listdir('/proc/self/fd'))
    before = fds()
    for binary in ['/nonexistent/qemu', noexec] * 3:
        vm = VM([], binary=binary, name='nobin', console=True, accel=None)
        expect_failure(lambda: vm.launch(), 'QEMU failed to launch')
        vm.shutdown()
    assert fds() == before, 'fds: %d before, %d after 6 failed launches' % (before, fds())


def test_runner_limits_imports_and_threads(work):
    rc, out, dt = run_suite(work, 'imp', {'test_imp.py': '''\
        import time
        time.sleep(600)

        def test_x():
            pass
        '''}, XV_TEST_TIMEOUT='1')
    assert rc == 1 and 'FAIL imp/test_imp (import)' in out and 'timed out after 1.0s' in out, out
    assert dt < 10, dt
    rc, out, dt = run_suite(work, 'thr', {'test_thr.py': '''\
        import threading, time

        def test_leaves_a_thread():
            threading.Thread(target=time.sleep, args=(600,), name='xv-left').start()
        '''})
    assert rc == 1 and "left behind: thread 'xv-left'" in out, out
    assert dt < 15, 'the runner waited %.0fs for the thread' % dt


def test_runner_restores_environment_and_cwd(work):
    rc, out, _ = run_suite(work, 'env', {'test_env.py': '''\
        import os

        def test_a_changes():
            os.environ['XV_LEAK'] = '1'
            os.chdir('/')

        def test_b_sees_none():
            assert 'XV_LEAK' not in os.environ, 'leaked from test_a'
            assert os.getcwd() != '/', 'cwd leaked from test_a'
        '''})
    assert rc == 0 and out.strip().splitlines()[-1] == '2 passed, 0 failed', out


def test_timeout_in_a_qmp_command_or_launch_kills_at_once(work):
    # past the limit inside vm.cmd or launch: the cleanup kills QEMU at
    # once, no quit_timeout wait
    rc, out, dt = run_suite(work, 'cmdto', {'test_cmdto.py': '''\
        import os
        from xv.vm import VM
        TIMEOUT = 2

        def test_cmd_past_limit():
            os.environ['XV_FAKE'] = 'hang'
            with VM([], binary=%r, name='to', console=False, accel=None) as vm:
                vm.cmd('query-status')

        def test_launch_past_limit():
            os.environ['XV_FAKE'] = 'silent'
            with VM([], binary=%r, name='lt', console=True, accel=None):
                pass
        ''' % (FAKE, FAKE)})
    assert rc == 1 and 'FAIL cmdto/test_cmdto:test_cmd_past_limit (2.' in out, out
    assert 'FAIL cmdto/test_cmdto:test_launch_past_limit (2.' in out, out
    assert dt < 10, dt
