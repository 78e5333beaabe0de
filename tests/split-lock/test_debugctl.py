# SPDX-License-Identifier: GPL-2.0-or-later
"""IA32_DEBUGCTL under TCG keeps only the bits the CPU model has: reserved
bits #GP, LBR and BTF are ignored and read as 0 (as before the series),
BUS_LOCK_DETECT exists only with bus-lock-detect.  So a guest of a CPU
model without split/bus lock detection never makes QEMU send the
cpu/split_lock_msrs subsection, and can migrate to a QEMU without it."""

import os
import sys

from xv.vm import VM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from split_lock_common import CPU_NONE, CPU_SLD, microguest_args, results  # noqa: E402

GP = '13 err 0x0 at_insn 1'
SUBSECTION = b'cpu/split_lock_msrs'


def run(work, cpu, name):
    """The micro-guest's DEBUGCTL observations and its migration stream."""
    state = os.path.join(work, name + '.mig')
    with VM(microguest_args(cpu, 'debugctl'), name=name) as vm:
        vm.wait_console(r'^XV: done', timeout=60)
        r = results(vm.console)
        assert 'unexpected_exception' not in r, vm.console[-2000:]
        vm.cmd('stop')
        vm.cmd('migrate', uri='file:' + state)
        vm.wait_migration()
        vm.cmd('cont')
        vm.console_write('x')
        vm.wait_exit(30, expect=1)    # isa-debug-exit, value 0
    with open(state, 'rb') as f:
        stream = f.read()
    return r, stream


def check_reserved(r):
    # all ones (the reviewer's reproducer read back 0xfffffffffffffffb)
    assert r['dc_wr_ones'] == GP, r['dc_wr_ones']
    assert r['dc_after_ones'] == '0x0', r['dc_after_ones']
    for k in ('bit3', 'bit6', 'bit32'):
        assert r['dc_wr_' + k] == GP, (k, r['dc_wr_' + k])
    assert r['dc_after_bad'] == '0x0', r['dc_after_bad']
    # LBR and BTF: accepted, not emulated, read as 0
    assert r['dc_wr_lbr_btf'] == 'none', r['dc_wr_lbr_btf']
    assert r['dc_lbr_btf'] == '0x0', r['dc_lbr_btf']


def test_debugctl_without_detection(work):
    r, stream = run(work, CPU_NONE, 'dc-none')
    # no core-capability: CORE_CAPABILITIES does not exist
    assert r['dc_core_caps'] == GP, r['dc_core_caps']
    check_reserved(r)
    # no bus-lock-detect: BUS_LOCK_DETECT is reserved too
    assert r['dc_wr_bld'] == GP, r['dc_wr_bld']
    assert r['dc_bld'] == '0x0', r['dc_bld']
    assert r['dc_wr_lbr_btf_bld'] == GP, r['dc_wr_lbr_btf_bld']
    assert r['dc_lbr_btf_bld'] == '0x0', r['dc_lbr_btf_bld']
    assert SUBSECTION not in stream, 'cpu/split_lock_msrs sent for ' + CPU_NONE


def test_debugctl_with_detection(work):
    r, stream = run(work, CPU_SLD, 'dc-sld')
    assert int(r['dc_core_caps'], 16) & 0x20, r['dc_core_caps']
    check_reserved(r)
    assert r['dc_wr_bld'] == 'none' and r['dc_bld'] == '0x4', r
    assert r['dc_wr_lbr_btf_bld'] == 'none', r['dc_wr_lbr_btf_bld']
    assert r['dc_lbr_btf_bld'] == '0x4', r['dc_lbr_btf_bld']
    # the guest left bus lock detection on: the state must migrate
    assert SUBSECTION in stream, 'cpu/split_lock_msrs missing with BLD set'
