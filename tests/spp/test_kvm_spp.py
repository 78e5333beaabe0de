# SPDX-License-Identifier: GPL-2.0-or-later
"""backend=kvm-spp driven through the KVM SPP RFC ioctls.  No kernel here
has them, so sppshim.c (LD_PRELOAD) plays one on top of the real /dev/kvm:
it offers the private capability, records every KVM_SUBPAGES_SET_ACCESS
call and can fail them.  The masks QEMU hands to "KVM" must be exactly
what QMP set, in calls of at most 512 contiguous pages; a refused call
must give a clear error and leave both QEMU's and KVM's masks as they
were; a refused KVM_ENABLE_CAP must be a clear error (backend=kvm-spp) or
a fallback to the emulated backend (auto).  The shim can also shrink the
number of KVM memory slots, to check the emulated backend's slot budget."""

import contextlib
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import xv  # noqa: E402
from xv.vm import VM  # noqa: E402
from spp_common import HERE, FULL, query, set_masks  # noqa: E402

ARGS = ['-M', 'pc', '-m', '16M', '-S']
MAX_PAGES = 512


def shim(work):
    so = os.path.join(work, 'sppshim.so')
    subprocess.run(['cc', '-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-o', so,
                    os.path.join(HERE, 'sppshim.c'), '-ldl'], check=True)
    return so


@contextlib.contextmanager
def spp_vm(work, name, obj=None, args=(), **env):
    """A KVM VM with sppshim.so preloaded; yields (vm, log path)."""
    xv.need_kvm()
    log = os.path.join(work, name + '.spp.log')
    settings = {'LD_PRELOAD': shim(work), 'SPPSHIM_LOG': log}
    settings.update({k: str(v) for k, v in env.items()})
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    vm = VM(ARGS + (['-object', obj] if obj else []) + list(args), accel='kvm',
            console=False, name=name)
    try:
        try:
            vm.launch()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        yield vm, log
    finally:
        vm.shutdown()


def shim_calls(log):
    """[(gfn, [masks], ret)] of the SET_ACCESS calls so far."""
    calls = []
    with open(log) as f:
        for line in f:
            w = line.split()
            if w[0] == 'set':
                calls.append((int(w[1], 16), [int(m, 16) for m in w[3:-1]], int(w[-1])))
                assert int(w[2]) == len(calls[-1][1])
    return calls


def kvm_masks(calls):
    """The shim's table after the calls: {gpa: mask} without full ones."""
    table = {}
    for gfn, masks, ret in calls:
        if ret >= 0:
            for i, m in enumerate(masks):
                table[(gfn + i) << 12] = m
    return {g: m for g, m in table.items() if m != FULL}


def kvm_table(log):
    """The shim's table after every SET_ACCESS call and memory slot
    deletion so far, in order: {gpa: mask} without full ones."""
    table = {}
    with open(log) as f:
        for line in f:
            w = line.split()
            if w[0] == 'set' and int(w[-1]) >= 0:
                for i, m in enumerate(w[3:-1]):
                    table[(int(w[1], 16) + i) << 12] = int(m, 16)
            elif w[0] == 'drop':
                for i in range(int(w[2])):
                    table.pop((int(w[1], 16) + i) << 12, None)
    return {g: m for g, m in table.items() if m != FULL}


def shim_drops(log):
    """[(gpa, size)] of the memory slots deleted or moved so far."""
    with open(log) as f:
        return [(int(w[1], 16) << 12, int(w[2]) << 12)
                for w in (line.split() for line in f) if w[0] == 'drop']


def qmp_masks(vm):
    return {p['gpa']: p['mask'] for p in query(vm)['pages']}


def test_kvm_spp_masks_match_qmp(work):
    with spp_vm(work, 'spp-masks', 'subpage-wp,id=swp0,backend=kvm-spp') as (vm, log):
        info = query(vm)
        assert info['backend'] == 'kvm-spp', info
        with open(log) as f:
            assert f.readline() == 'enable 0\n'
        # scattered pages and a 600-page run (two calls: 512 + 88)
        pages = {0x10000: 0x0000ffff, 0x30000: 0, 0x50000: 0x80000001}
        pages.update({0x200000 + i * 0x1000: (i * 2654435761) & 0x7fffffff
                      for i in range(600)})
        set_masks(vm, pages)
        calls = shim_calls(log)
        assert all(1 <= len(m) <= MAX_PAGES for _, m, _ in calls), \
            [len(m) for _, m, _ in calls]
        assert sorted(len(m) for _, m, _ in calls) == [1, 1, 1, 88, 512], \
            [(hex(g), len(m)) for g, m, _ in calls]
        assert kvm_masks(calls) == qmp_masks(vm) == pages
        info = query(vm)
        assert info['memslots-used'] == 0 and info['runs'] == 4, info

        # only what changes is sent: one page unprotected, one changed
        set_masks(vm, {0x30000: FULL, 0x50000: 0x1})
        new = shim_calls(log)[len(calls):]
        assert [(g, m) for g, m, _ in new] == [(0x30, [FULL]), (0x50, [0x1])], new
        del pages[0x30000]
        pages[0x50000] = 0x1
        assert kvm_masks(shim_calls(log)) == qmp_masks(vm) == pages

        # a reset clears them in KVM too (persist=off)
        vm.cmd('system_reset')
        assert qmp_masks(vm) == {} and kvm_masks(shim_calls(log)) == {}


def test_kvm_spp_refused_set_changes_nothing(work):
    # the 3rd SET call fails: calls 1-2 (new masks) must be undone
    with spp_vm(work, 'spp-fail', 'subpage-wp,id=swp0,backend=kvm-spp',
                SPPSHIM_FAIL_SET=3) as (vm, log):
        set_masks(vm, {0x10000: 0x1})                      # call 1
        before = qmp_masks(vm)
        err = vm.cmd_error('x-subpage-wp-set', pages=[
            {'gpa': 0x10000, 'mask': FULL},                # call 2
            {'gpa': 0x20000, 'mask': 0x2},                 # call 3: refused
            {'gpa': 0x40000, 'mask': 0x4}])
        assert 'KVM refused the sub-page permissions of 1 pages from 0x20000' in err, err
        assert 'Bad address' in err, err
        assert qmp_masks(vm) == before == {0x10000: 0x1}
        calls = shim_calls(log)
        assert kvm_masks(calls) == before, calls
        # undone: call 2, and the refused run (it may be partly applied)
        assert [c[:2] for c in calls[-2:]] == [(0x10, [0x1]), (0x20, [FULL])], calls


def test_kvm_spp_reset_survives_refused_clear(work):
    # KVM refuses to give the pages full access back at reset (EFAULT, as
    # after a memory slot went): QEMU must warn and go on, not abort
    with spp_vm(work, 'spp-reset-fail', 'subpage-wp,id=swp0,backend=kvm-spp',
                SPPSHIM_FAIL_SET=3) as (vm, log):
        set_masks(vm, {0x10000: 0x1, 0x30000: 0x2})       # calls 1, 2
        vm.cmd('system_reset')                            # 3 (refused), 4
        assert vm.cmd('query-status')['status'] == 'prelaunch'
        assert qmp_masks(vm) == {}
        calls = shim_calls(log)
        # both runs were tried, the refused one was not set back
        assert [c[:2] for c in calls] == [(0x10, [0x1]), (0x30, [0x2]),
                                          (0x10, [FULL]), (0x30, [FULL])], calls
        assert calls[2][2] < 0 and calls[3][2] == 1, calls
        # and protecting again works
        set_masks(vm, {0x50000: 0x4})
        assert qmp_masks(vm) == {0x50000: 0x4}


def test_kvm_spp_enable_refused(work):
    with spp_vm(work, 'spp-enable', SPPSHIM_ENABLE_ERRNO=1) as (vm, log):
        err = vm.cmd_error('object-add', **{'qom-type': 'subpage-wp', 'id': 'swp0',
                                            'backend': 'kvm-spp'})
        assert ('KVM could not enable sub-page protection: '
                'Operation not permitted') in err, err
        assert 'not enabled' in vm.cmd_error('x-query-subpage-wp')
        # auto falls back to the emulated backend, with a warning
        vm.cmd('object-add', **{'qom-type': 'subpage-wp', 'id': 'swp0'})
        assert query(vm)['backend'] == 'emulated'
        vm.cmd('x-subpage-wp-set', pages=[{'gpa': 0x10000, 'mask': 0}])
        assert query(vm)['memslots-used'] == 2
        assert 'using the emulated backend' in vm.stderr()


def test_kvm_spp_auto_and_report(work):
    with spp_vm(work, 'spp-auto', 'subpage-wp,id=swp0') as (vm, log):
        assert query(vm)['backend'] == 'kvm-spp'
        err = vm.cmd_error('qom-set', path='swp0', property='action', value='report')
        assert 'action=report is not supported with backend=kvm-spp' in err, err
        vm.cmd('qom-set', path='swp0', property='action', value='pause')
    # action=report needs the emulated backend: auto picks it
    with spp_vm(work, 'spp-report', 'subpage-wp,id=swp0,action=report') as (vm, log):
        assert query(vm)['backend'] == 'emulated'
        assert not os.path.exists(log) or 'enable' not in open(log).read()


def test_emulated_memslot_budget(work):
    """Emulated backend under KVM with 40 memory slots: a batch that needs
    more slots than are free is refused as a whole, with the numbers."""
    with spp_vm(work, 'spp-slots', 'subpage-wp,id=swp0,backend=emulated',
                SPPSHIM_NR_MEMSLOTS=40) as (vm, log):
        set_masks(vm, {0x10000 + i * 0x2000: 0 for i in range(3)})
        info = query(vm)
        assert info['memslots-used'] == 6 and info['runs'] == 3, info
        before = qmp_masks(vm)
        err = vm.cmd_error('x-subpage-wp-set', pages=[
            {'gpa': 0x100000 + i * 0x2000, 'mask': 0} for i in range(20)])
        assert 'would need 40 more KVM memory slots, only' in err, err
        assert qmp_masks(vm) == before and query(vm)['memslots-used'] == 6
        # contiguous pages form one run: they fit
        set_masks(vm, {0x100000 + i * 0x1000: 0 for i in range(20)})
        assert query(vm)['memslots-used'] == 8


def shim_after(log):
    """The vCPU state the shim saw after QEMU dropped the played write."""
    with open(log) as f:
        for line in f:
            w = line.split()
            if w[0] == 'after':
                return {'rip': int(w[2], 16), 'rflags': int(w[4], 16),
                        'shadow': int(w[6]),
                        'exception': tuple(int(x) for x in w[8:11])}
    return None


def wait_status(vm, status, timeout=30):
    deadline = time.monotonic() + timeout
    while vm.cmd('query-status')['status'] != status:
        assert time.monotonic() < deadline, vm.cmd('query-status')
        time.sleep(0.05)


TF, RF, STI_SHADOW, IN_DELIVERY = 1, 2, 4, 8


def test_kvm_spp_drop_completes_the_insn(work):
    # At the reset vector (16-bit code, CS.base 0xffff0000): a 3-byte
    # store at IP 0xfffe with TF and RF set in the shadow of an STI.
    # Dropping it must wrap IP to 0x0001, clear RF, end the shadow and
    # raise the single-step #DB (vector 1), as completing it would.
    with spp_vm(work, 'spp-drop', 'subpage-wp,id=swp0,backend=kvm-spp',
                SPPSHIM_EXIT='0x10800,3,0xfffe,%d' % (TF | RF | STI_SHADOW)) \
            as (vm, log):
        set_masks(vm, {0x10000: 0x0000ffff})
        vm.cmd('cont')
        ev = vm.wait_event('SUBPAGE_WP_VIOLATION')['data']
        assert ev['gpa'] == 0x10800 and ev['insn-len'] == 3, ev
        deadline = time.monotonic() + 30
        while shim_after(log) is None:
            assert time.monotonic() < deadline, open(log).read()
            time.sleep(0.05)
        after = shim_after(log)
        assert after['rip'] == 0x0001, after
        assert not after['rflags'] & 0x10000, after          # RF
        assert after['rflags'] & 0x100, after                 # TF kept
        assert after['shadow'] == 0, after
        nr, pending, injected = after['exception']
        assert nr == 1 and (pending or injected), after
        assert vm.cmd('query-status')['status'] == 'running'


def test_kvm_spp_pause_stops_the_vcpu_at_once(work):
    # action=pause: the write KVM denied faults again each time the vCPU
    # runs (the shim plays the exit for 20 KVM_RUNs).  The vCPU must stop
    # at the first, as a vm_stop() from a vCPU thread does, not run into
    # KVM again until the main loop pauses it: one event per stop.
    with spp_vm(work, 'spp-pause', 'subpage-wp,id=swp0,backend=kvm-spp,action=pause',
                SPPSHIM_EXIT='0x10800,3,0xfff0,0', SPPSHIM_EXIT_REPEAT=20) \
            as (vm, log):
        set_masks(vm, {0x10000: 0x0000ffff})
        for stops in (1, 2, 3):
            vm.cmd('cont')
            vm.wait_event('STOP', timeout=30)
            ev = vm.events('SUBPAGE_WP_VIOLATION')
            assert len(ev) == stops, (stops, [e['data'] for e in ev])
            assert ev[-1]['data']['action'] == 'pause', ev[-1]
            assert open(log).read().count('exit played') == stops, open(log).read()
            assert vm.cmd('query-status')['status'] == 'paused'


def test_kvm_spp_drop_refuses_what_it_cannot_complete(work):
    # No usable instruction length, and a write made while delivering an
    # event (no instruction to complete): a clear error, the VM stopped.
    for name, exit_, msg in (
            ('spp-len0', '0x10800,0,0xfff0,0', 'invalid instruction length 0'),
            ('spp-deliv', '0x10800,3,0xfff0,%d' % IN_DELIVERY,
             'while delivering an event')):
        with spp_vm(work, name, 'subpage-wp,id=swp0,backend=kvm-spp',
                    SPPSHIM_EXIT=exit_) as (vm, log):
            set_masks(vm, {0x10000: 0x0000ffff})
            vm.cmd('cont')
            wait_status(vm, 'internal-error')
            assert msg in vm.stderr(), vm.stderr()[-2000:]


def test_kvm_spp_masks_follow_memslots(work):
    """The RFC keeps the masks in the KVM memory slot: when QEMU replaces a
    slot (the memory map changed next to a protected page, here a PAM
    segment becoming read-only beside it), the masks of its pages must be
    sent again, or the page is writable in KVM while QMP says it is
    protected."""
    from test_pause_held import Qtest
    path = os.path.join(work, 'qt.sock')
    args = ['-chardev', 'socket,id=qt,path=%s,server=on,wait=off' % path,
            '-qtest', 'chardev:qt']
    with spp_vm(work, 'spp-slots', 'subpage-wp,id=swp0,backend=kvm-spp',
                args=args) as (vm, log):
        qt = Qtest(path)

        def pam(reg, val):
            # i440FX 00:00.0: PAM1 0x5a (0xc0000, 0xc4000), PAM2 0x5b
            qt.cmd('outl 0xcf8 0x%x' % (0x80000000 | (reg & ~3)))
            qt.cmd('outb 0x%x 0x%x' % (0xcfc + (reg & 3), val))

        pam(0x5a, 0x33)                 # 0xc0000-0xc7fff read/write RAM
        pam(0x5b, 0x33)                 # 0xc8000-0xcffff read/write RAM
        pages = {0x10000: 0x1, 0xc9000: 0x0000ffff}
        set_masks(vm, pages)
        assert kvm_table(log) == qmp_masks(vm) == pages
        before = len(shim_drops(log))
        pam(0x5a, 0x13)                 # 0xc4000-0xc7fff read-only
        drops = shim_drops(log)[before:]
        # the slot holding 0xc9000 was replaced: else this tests nothing
        assert any(g <= 0xc9000 < g + n for g, n in drops), drops
        assert qmp_masks(vm) == pages
        assert kvm_table(log) == pages, (kvm_table(log), drops)
        # and again when the segment goes back to read/write
        pam(0x5a, 0x33)
        assert kvm_table(log) == qmp_masks(vm) == pages
