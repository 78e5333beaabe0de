# SPDX-License-Identifier: GPL-2.0-or-later
"""The emulated backend under KVM maps protected pages with read-only
memory slots, which also stop KVM's own writes into guest memory:
x-subpage-wp-set must refuse a page that a vCPU's paravirtual MSR points
into (pvclock.S registers kvmclock at 0x30040), saying which vCPU, which
MSR and what to do, and accept it again once the guest disabled the area.
And every change of protections deletes memory slots: creating the object
must disable KVM_X86_QUIRK_SLOT_ZAP_ALL where the kernel offers it (the
sppshim.c log shows the KVM_ENABLE_CAP), never where the object does not
use read-only slots or kvm-slot-zap-all=on keeps it, and must still work
where the kernel lacks it."""

import fcntl
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import xv  # noqa: E402
from xv.vm import VM  # noqa: E402
from spp_common import (build_microguest, query, read_phys,  # noqa: E402
                        set_masks, wait_u32)
from test_kvm_spp import spp_vm  # noqa: E402

KVMCLOCK_PAGE = 0x30000
KVMCLOCK = 0x30040          # pvclock_vcpu_time_info, 32 bytes
OTHER = 0x31000
DONE = 0x21000

KVM_CREATE_VM = 0xae01
KVM_CHECK_EXTENSION = 0xae03
KVM_CAP_DISABLE_QUIRKS2 = 213
KVM_X86_QUIRK_SLOT_ZAP_ALL = 1 << 7


def host_quirks():
    """What this host's KVM offers in KVM_CAP_DISABLE_QUIRKS2 (0 if it has
    no quirk control): the tests check what QEMU does with that."""
    kvm = os.open('/dev/kvm', os.O_RDWR | os.O_CLOEXEC)
    try:
        vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
        try:
            return max(fcntl.ioctl(vm, KVM_CHECK_EXTENSION,
                                   KVM_CAP_DISABLE_QUIRKS2), 0)
        finally:
            os.close(vm)
    finally:
        os.close(kvm)


def pvclock_vm(work, name, cpu=()):
    xv.need_kvm()
    args = ['-M', 'pc', '-m', '16M', '-bios', build_microguest(work, 'pvclock'),
            '-object', 'subpage-wp,id=swp0,backend=emulated'] + list(cpu)
    return VM(args, accel='kvm', console=False, name=name)


def wait_kvmclock(vm, work):
    """The premise: KVM itself fills the guest's kvmclock area."""
    wait_u32(vm, DONE, 0x600dd00d)
    for _ in range(100):
        if any(read_phys(vm, work, KVMCLOCK, 32)):
            return
        vm.cmd('query-status')
    raise AssertionError('KVM did not write the kvmclock area at 0x%x'
                         % KVMCLOCK)


def test_kvmclock_page_refused(work):
    with pvclock_vm(work, 'pv-kvmclock') as vm:
        wait_kvmclock(vm, work)
        # refused as a whole, the other page of the batch too
        err = vm.cmd_error('x-subpage-wp-set', pages=[
            {'gpa': OTHER, 'mask': 0},
            {'gpa': KVMCLOCK_PAGE, 'mask': 0x0000ffff}])
        want = ("page 0x30000 cannot be protected under KVM: vCPU 0's "
                "MSR_KVM_SYSTEM_TIME(_NEW) (0x30041) points into it and KVM "
                "writes there itself")
        assert want in err, err
        assert ('protect another page, or start the VM with '
                '-cpu ...,kvmclock=off,kvm-pv-enforce-cpuid=on') in err, err
        info = query(vm)
        assert info['pages'] == [] and info['memslots-used'] == 0, info
        out = vm.hmp('subpage_wp_set 0x%x 0' % KVMCLOCK_PAGE)
        assert want in out and 'disable or move that area' in out, out
        assert query(vm)['pages'] == []

        # other pages are fine, unprotecting is never refused
        set_masks(vm, {OTHER: 0})
        assert query(vm)['pages'] == [{'gpa': OTHER, 'mask': 0}]
        set_masks(vm, {OTHER: 0xffffffff, KVMCLOCK_PAGE: 0xffffffff})
        assert query(vm)['pages'] == []

        # once the guest disabled kvmclock (on a key), the page can
        vm.cmd('send-key', keys=[{'type': 'qcode', 'data': 'a'}])
        wait_u32(vm, DONE + 4, 0x0ff0c10c)
        set_masks(vm, {KVMCLOCK_PAGE: 0x0000ffff})
        assert query(vm)['pages'] == [{'gpa': KVMCLOCK_PAGE,
                                       'mask': 0x0000ffff}]


def test_kvmclock_page_refused_with_the_feature_off(work):
    """kvmclock=off hides the feature from CPUID, but KVM still serves the
    MSR (kvm-pv-enforce-cpuid is off by default): the check asks KVM, not
    QEMU's copy of the MSRs, which QEMU reads only for features it has."""
    with pvclock_vm(work, 'pv-kvmclock-off',
                    ['-cpu', 'qemu64,kvmclock=off']) as vm:
        wait_kvmclock(vm, work)
        err = vm.cmd_error('x-subpage-wp-set',
                           pages=[{'gpa': KVMCLOCK_PAGE, 'mask': 0}])
        assert ("page 0x30000 cannot be protected under KVM: vCPU 0's "
                "MSR_KVM_SYSTEM_TIME(_NEW) (0x30041)") in err, err
        assert query(vm)['pages'] == []


def test_kvmclock_page_tcg_unchecked(work):
    """Under TCG no KVM writes the page: nothing to refuse."""
    args = ['-M', 'pc', '-m', '16M', '-bios', build_microguest(work, 'pvclock'),
            '-object', 'subpage-wp,id=swp0']
    with VM(args, accel='tcg', console=False, name='pv-tcg') as vm:
        set_masks(vm, {KVMCLOCK_PAGE: 0x0000ffff})
        assert query(vm)['pages'] == [{'gpa': KVMCLOCK_PAGE,
                                       'mask': 0x0000ffff}]


def zap_calls(log):
    """[(args[0], ret)] of the KVM_ENABLE_CAP(DISABLE_QUIRKS2) calls that
    disable KVM_X86_QUIRK_SLOT_ZAP_ALL, so far."""
    if not os.path.exists(log):
        return []
    with open(log) as f:
        return [(int(w[1], 16), int(w[2]))
                for w in (line.split() for line in f)
                if w[0] == 'quirks2' and int(w[1], 16) & KVM_X86_QUIRK_SLOT_ZAP_ALL]


def test_slot_zap_all_quirk(work):
    xv.need_kvm()
    offered = host_quirks() & KVM_X86_QUIRK_SLOT_ZAP_ALL
    want = [(KVM_X86_QUIRK_SLOT_ZAP_ALL, 0)] if offered else []
    print('host KVM_CAP_DISABLE_QUIRKS2: 0x%x, SLOT_ZAP_ALL %s'
          % (host_quirks(), 'offered' if offered else 'not offered'))

    with spp_vm(work, 'zap', 'subpage-wp,id=swp0,backend=emulated') as (vm, log):
        assert zap_calls(log) == want, open(log).read()
        set_masks(vm, {0x10000: 0})
        assert query(vm)['memslots-used'] == 2

    # QEMU keeps KVM's default without the object; object-add disables
    # the quirk then, once for the VM's life
    with spp_vm(work, 'zap-late') as (vm, log):
        assert zap_calls(log) == []
        vm.cmd('object-add', **{'qom-type': 'subpage-wp', 'id': 'swp0',
                                'backend': 'emulated'})
        assert zap_calls(log) == want
        vm.cmd('object-del', id='swp0')
        vm.cmd('object-add', **{'qom-type': 'subpage-wp', 'id': 'swp1',
                                'backend': 'emulated'})
        assert zap_calls(log) == want
        # the quirk cannot come back: asking for it is an error, not ignored
        vm.cmd('object-del', id='swp1')
        args = {'qom-type': 'subpage-wp', 'id': 'swp2', 'backend': 'emulated',
                'kvm-slot-zap-all': True}
        if offered:
            err = vm.cmd_error('object-add', **args)
            assert 'kvm-slot-zap-all=on cannot be honoured' in err, err
        else:
            vm.cmd('object-add', **args)

    # kvm-slot-zap-all=on keeps the quirk, and is fixed at creation
    with spp_vm(work, 'zap-kept', 'subpage-wp,id=swp0,backend=emulated,'
                'kvm-slot-zap-all=on') as (vm, log):
        assert zap_calls(log) == []
        err = vm.cmd_error('qom-set', path='swp0', property='kvm-slot-zap-all',
                           value=False)
        assert 'cannot be changed once the object exists' in err, err
        set_masks(vm, {0x10000: 0})
        assert zap_calls(log) == []

    # kvm-spp uses no memory slots: the quirk stays
    with spp_vm(work, 'zap-spp', 'subpage-wp,id=swp0,backend=kvm-spp') as (vm, log):
        assert query(vm)['backend'] == 'kvm-spp'
        assert zap_calls(log) == []


def test_slot_zap_all_quirk_missing(work):
    """A kernel without the quirk control (played by the shim): the
    emulated backend works, and the quirk is left alone."""
    xv.need_kvm()
    with spp_vm(work, 'zap-missing', 'subpage-wp,id=swp0,backend=emulated',
                SPPSHIM_QUIRKS2=~KVM_X86_QUIRK_SLOT_ZAP_ALL) as (vm, log):
        assert zap_calls(log) == []
        set_masks(vm, {0x10000: 0})
        info = query(vm)
        assert info['pages'] == [{'gpa': 0x10000, 'mask': 0}], info
        assert info['memslots-used'] == 2, info
