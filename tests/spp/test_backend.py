# SPDX-License-Identifier: GPL-2.0-or-later
"""backend=kvm-spp is refused with a clear error where the kernel lacks the
KVM SPP interface (every released kernel), and auto falls back to the
emulated backend; under KVM the emulated backend uses read-only slots."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import xv  # noqa: E402
from xv.vm import VM  # noqa: E402
from spp_common import query  # noqa: E402

ARGS = ['-M', 'pc', '-m', '16M', '-S']


def refusal(accel):
    with VM(ARGS, accel=accel, console=False, name='spp-backend-' + accel) as vm:
        err = vm.cmd_error('object-add', **{'qom-type': 'subpage-wp', 'id': 'swp0',
                                            'backend': 'kvm-spp'})
        assert vm.cmd_error('x-query-subpage-wp').find('not enabled') >= 0
        vm.cmd('object-add', **{'qom-type': 'subpage-wp', 'id': 'swp0',
                                'backend': 'auto'})
        assert query(vm)['backend'] == 'emulated'
        return err


def test_kvm_spp_refused_under_tcg():
    err = refusal('tcg')
    assert 'kvm-spp needs KVM' in err, err


def test_kvm_spp_refused_under_kvm():
    xv.need_kvm()
    err = refusal('kvm')
    assert 'does not offer' in err, err


def test_kvm_readonly_memslot(work):
    """The overlay is a KVM_MEM_READONLY slot (flags=0x2) over the page."""
    xv.need_kvm()
    trace = os.path.join(work, 'trace.log')
    args = ARGS + ['-object', 'subpage-wp,id=swp0',
                   '-trace', 'kvm_set_user_memory,file=' + trace]
    with VM(args, accel='kvm', console=False, name='spp-slot') as vm:
        vm.cmd('x-subpage-wp-set', pages=[{'gpa': 0x10000, 'mask': 0}])
        assert query(vm)['memslots-used'] == 2
        vm.cmd('x-subpage-wp-set', pages=[{'gpa': 0x10000, 'mask': 0xffffffff}])
        assert query(vm)['memslots-used'] == 0
    with open(trace) as f:
        lines = [l for l in f if 'kvm_set_user_memory' in l]
    ro = [l for l in lines if 'flags=0x2' in l and
          'gpa=0x10000 ' in l and 'size=0x1000 ' in l]
    assert ro, 'no read-only slot for the protected page:\n' + ''.join(lines[-20:])


def test_hmp_set_and_info():
    with VM(ARGS + ['-object', 'subpage-wp,id=swp0'], console=False,
            name='spp-hmp') as vm:
        assert vm.hmp('subpage_wp_set 0x400000 0x0000ffff 2') == ''
        info = vm.hmp('info subpage_wp')
        assert '0x0000000000400000 mask 0x0000ffff' in info, info
        assert '0x0000000000401000 mask 0x0000ffff' in info, info
        assert 'runs: 1' in info, info
        assert [(p['gpa'], p['mask']) for p in query(vm)['pages']] == [
            (0x400000, 0xffff), (0x401000, 0xffff)]
        err = vm.hmp('subpage_wp_set 0x400001 0')
        assert 'not aligned' in err, err
        assert vm.hmp('subpage_wp_set 0x400000 0xffffffff 2') == ''
        assert query(vm)['pages'] == []
