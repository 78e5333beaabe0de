# SPDX-License-Identifier: GPL-2.0-or-later
"""The harness itself: a QEMU that never answers QMP, one that crashes on
quit, one that hangs or dies, a guest that panics and a test that runs too
long or leaves a process behind each fail fast, with a clear message, and
leave no process, socket or temporary directory behind.  QEMU's misbehaviour
comes from fakeqemu.py (a stand-in binary); the panic from a real guest."""

import os
import subprocess
import sys
import textwrap
import time

from xv import ROOT
from xv.guest import guest_exit_status, linux_args
from xv.vm import VM, GuestPanic

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


def test_runner_time_limit_and_leftovers(work):
    suite = os.path.join(work, 'selftest')
    os.makedirs(suite)
    with open(os.path.join(suite, 'test_bad.py'), 'w') as f:
        f.write(textwrap.dedent('''\
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
            '''))
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, os.path.join(ROOT, 'tests', 'run.py'), suite],
                       capture_output=True, text=True, timeout=120)
    dt = time.monotonic() - t0
    out = p.stdout
    assert p.returncode == 1, out
    assert out.strip().splitlines()[-1] == '1 passed, 5 failed', out
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
