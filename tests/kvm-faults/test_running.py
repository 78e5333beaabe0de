# SPDX-License-Identifier: GPL-2.0-or-later
"""KVM failures after start-up: while the guest runs, and at a reset that
rebuilds the VM (x-change-vmfd-on-reset).

The start-up matrix fails the first call of each request.  Here the shim is
armed only once the guest runs (XVF_ARMED), so the failure hits a running
guest: QEMU must stop it with an internal error and a one-line message, keep
answering QMP, and quit cleanly; a 'system_reset' must bring it back.
"""

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvm_faults_common as kf  # noqa: E402
from xv.vm import VM  # noqa: E402


class Session:
    """One QEMU with the shim loaded, driven over QMP by the test."""

    def __init__(self, req=None, nth=1, armed=False, machine='q35', qemu=None,
                 sanitize=False, enable_cap=None):
        self.dir = tempfile.mkdtemp(prefix='xvf-run-')
        self.armed = os.path.join(self.dir, 'armed') if armed else None
        self.trig = os.path.join(self.dir, 'triggered')
        env = dict(os.environ, LD_PRELOAD=kf.shim(), XVF_TRIGGERED=self.trig)
        for k in ('XVF_REQ', 'XVF_NTH', 'XVF_ERRNO', 'XVF_CAP', 'XVF_CAP_RET',
                  'XVF_LOG', 'XVF_ARMED'):
            env.pop(k, None)
        if req is not None:
            env.update(XVF_REQ=hex(req), XVF_NTH=str(nth))
        if enable_cap is not None:
            env.update(XVF_REQ=hex(kf.KVM_ENABLE_CAP), XVF_CAP=str(enable_cap),
                       XVF_NTH=str(nth))
        if self.armed:
            env['XVF_ARMED'] = self.armed
        if sanitize:
            kf.sanitizer_env(env)
        self.vm = VM(['-S', '-M', machine], binary=qemu or kf.binary(), name='kvmfault-run',
                     console=False, accel='kvm', prefix=kf.env_prefix(env))
        try:
            self.vm.launch()
        except BaseException:
            subprocess.run(['rm', '-rf', self.dir])
            raise
        self.proc = self.vm.proc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        """Never leave QEMU behind, whatever the test did."""
        self.vm.shutdown(check=False)
        subprocess.run(['rm', '-rf', self.dir])

    def cmd(self, name, **args):
        return self.vm.cmd(name, **args)

    def status(self):
        return self.cmd('query-status')['status']

    def wait_status(self, want, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.status()
            if s == want:
                return
            time.sleep(0.05)
        raise AssertionError('status %s, expected %s\n%s' % (s, want, self.stderr()))

    def arm(self):
        open(self.armed, 'w').close()

    def triggered(self):
        return os.path.exists(self.trig)

    def stderr(self):
        return self.vm.stderr()

    def quit(self):
        """quit over QMP; the exit status, after checking for sanitizer reports."""
        st = self.vm.shutdown(check=False)
        err = self.stderr()
        assert st != -9, 'QEMU did not quit within %ss and was killed:\n%s' % (
            self.vm.quit_timeout, err[-2000:])
        san = kf.SANITIZER_RX.search(err)
        assert not san and st not in (66, 67), 'sanitizer report:\n' + err[-3000:]
        assert st == 0, 'exit status %d after quit:\n%s' % (st, err[-2000:])
        return err


def _req(name):
    return [k[1] for k, n in kf.names().items() if k[0] == 'req' and n == name][0]


def _refused_while_running(request, qemu=None, sanitize=False):
    kf.need_kvm()
    with Session(req=_req(request), armed=True, qemu=qemu, sanitize=sanitize) as s:
        _refused_while_running_in(s, request)


def _refused_while_running_in(s, request):
    s.cmd('cont')
    time.sleep(0.3)
    assert s.status() == 'running', s.stderr()
    s.arm()
    if request == 'KVM_SET_CLOCK':
        # the clock is handed back to KVM when the guest starts again
        s.cmd('stop')
        s.cmd('cont')
    deadline = time.monotonic() + 10
    while not s.triggered() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert s.triggered(), '%s was not called while the guest ran' % request
    s.wait_status('internal-error')
    err = s.stderr()
    assert 'the host kernel refused %s: Cannot allocate memory' % request in err, err
    assert_reset_makes_runnable(s)
    s.quit()


def assert_reset_makes_runnable(s):
    """A guest stopped in internal-error cannot simply continue; after a
    system_reset it runs again."""
    desc = s.vm.cmd_error('cont')
    assert 'reset' in desc.lower(), desc
    s.cmd('system_reset')
    s.cmd('cont')
    time.sleep(0.3)
    assert s.status() == 'running', s.stderr()


def test_irq_line_refused_while_running():
    """KVM_IRQ_LINE_STATUS fails for a running guest (abort() before the
    fix): the guest stops with an internal error and can be reset."""
    _refused_while_running('KVM_IRQ_LINE_STATUS')


def test_set_clock_refused_at_cont():
    """KVM_SET_CLOCK fails when a stopped guest continues (abort() before)."""
    _refused_while_running('KVM_SET_CLOCK')


def test_asan_irq_line_refused_while_running():
    _refused_while_running('KVM_IRQ_LINE_STATUS', kf.asan_binary_or_skip(), sanitize=True)


def _vmfd_rebuild_refused(qemu=None, sanitize=False):
    """x-change-vmfd-on-reset=on: the reset asks for a new VM (the second
    KVM_CREATE_VM); the kernel refuses it."""
    kf.need_kvm()
    with Session(req=_req('KVM_CREATE_VM'), nth=2, machine='q35,x-change-vmfd-on-reset=on',
                 qemu=qemu, sanitize=sanitize) as s:
        _vmfd_rebuild_refused_in(s)


def _vmfd_rebuild_refused_in(s):
    s.cmd('cont')
    time.sleep(0.3)
    s.cmd('system_reset')
    deadline = time.monotonic() + 10
    while 'unable to rebuild guest' not in s.stderr() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert s.triggered()
    err = s.stderr()
    assert 'ioctl(KVM_CREATE_VM) failed: Cannot allocate memory' in err, err
    assert 'unable to rebuild guest' in err, err
    # the old VM is intact: the reset guest runs on it...
    s.cmd('cont')
    time.sleep(0.5)
    assert s.status() == 'running', s.stderr()
    # ...and the next reset rebuilds it
    s.cmd('system_reset')
    deadline = time.monotonic() + 10
    while 'has been rebuilt' not in s.stderr() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert 'virtual machine state has been rebuilt' in s.stderr(), s.stderr()
    time.sleep(0.3)
    assert s.status() == 'running', s.stderr()
    fds = kf.kvm_fds(s.proc.pid)
    vms = [f for f in fds if f.endswith('kvm-vm')]
    assert len(vms) == 1, 'VM descriptors after the rebuild: %s' % fds
    s.quit()


def test_vmfd_rebuild_refused_then_retried():
    _vmfd_rebuild_refused()


def test_asan_vmfd_rebuild_refused_then_retried():
    _vmfd_rebuild_refused(kf.asan_binary_or_skip(), sanitize=True)


def _wait_migration(s, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = s.cmd('query-migrate').get('status')
        if st in ('completed', 'failed', 'cancelled'):
            return st
        time.sleep(0.05)
    raise AssertionError('migration did not end: %s' % s.cmd('query-migrate'))


def _get_refused_at_migration(request, nth=1):
    """A device's pre_save reads in-kernel state the kernel refuses: the
    migration must fail (it completed with stale state before the fix, and
    the source then exited) and the source guest keeps running."""
    kf.need_kvm()
    with Session(req=_req(request), nth=nth, armed=True) as s:
        s.cmd('cont')
        time.sleep(0.3)
        assert s.status() == 'running', s.stderr()
        s.arm()
        s.cmd('migrate', uri='exec:cat > /dev/null')
        st = _wait_migration(s)
        assert s.triggered(), '%s was not called during the migration' % request
        err = s.stderr()
        assert st == 'failed', 'migration %s with %s refused:\n%s' % (st, request, err)
        assert 'the host kernel refused %s: Cannot allocate memory' % request in err, err
        time.sleep(0.5)
        assert s.proc.poll() is None, 'QEMU exited:\n' + err
        assert s.status() == 'running', err
        s.quit()


def test_get_irqchip_refused_at_migration():
    _get_refused_at_migration('KVM_GET_IRQCHIP')


def test_get_pit2_refused_at_migration():
    # read at vm_stop and again in pre_save when the first read failed:
    # refuse every call
    _get_refused_at_migration('KVM_GET_PIT2', nth=0)


def test_get_clock_refused_at_migration():
    # the first KVM_GET_CLOCK after arming is at vm_stop, the second in
    # pre_save: refuse the one whose value is sent
    _get_refused_at_migration('KVM_GET_CLOCK', nth=2)


def test_get_clock_refused_at_stop():
    """KVM_GET_CLOCK fails at 'stop': the guest is stopped with an internal
    error (QEMU exited before the fix), 'cont' needs a reset."""
    kf.need_kvm()
    with Session(req=_req('KVM_GET_CLOCK'), armed=True) as s:
        s.cmd('cont')
        time.sleep(0.3)
        s.arm()
        s.cmd('stop')
        time.sleep(0.5)
        err = s.stderr()
        assert s.triggered(), err
        assert s.proc.poll() is None, 'QEMU exited:\n' + err
        assert 'the host kernel refused KVM_GET_CLOCK: Cannot allocate memory' in err, err
        assert s.status() == 'internal-error', err
        assert_reset_makes_runnable(s)
        s.quit()


def test_split_irqchip_refused_at_vmfd_rebuild():
    """kernel-irqchip=split with x-change-vmfd-on-reset=on: the new VM's
    KVM_CAP_SPLIT_IRQCHIP is refused at the reset (exit(1) before the fix):
    the rebuild fails, the old VM carries on, and QEMU keeps running."""
    kf.need_kvm()
    cap = [k[1] for k, n in kf.names().items()
           if k[0] == 'cap' and n == 'KVM_CAP_SPLIT_IRQCHIP'][0]
    with Session(enable_cap=cap, nth=2,
                 machine='q35,kernel-irqchip=split,x-change-vmfd-on-reset=on') as s:
        s.cmd('cont')
        time.sleep(0.3)
        s.cmd('system_reset')
        deadline = time.monotonic() + 10
        while 'unable to rebuild guest' not in s.stderr() and time.monotonic() < deadline:
            if s.proc.poll() is not None:
                break
            time.sleep(0.05)
        err = s.stderr()
        assert s.triggered(), err
        assert s.proc.poll() is None, 'QEMU exited:\n' + err
        assert 'Could not enable split irqchip mode: Cannot allocate memory' in err, err
        assert 'unable to rebuild guest' in err, err
        # the refusal comes after the memory moved to the new VM, so the
        # guest cannot go on where it was; the next reset rebuilds it
        s.cmd('system_reset')
        deadline = time.monotonic() + 10
        while 'has been rebuilt' not in s.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert 'virtual machine state has been rebuilt' in s.stderr(), s.stderr()
        s.cmd('cont')
        time.sleep(0.3)
        assert s.status() == 'running', s.stderr()
        s.quit()
