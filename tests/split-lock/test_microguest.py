# SPDX-License-Identifier: GPL-2.0-or-later
"""MSR_TEST_CTRL / CORE_CAPABILITIES / DEBUGCTL semantics, split lock #AC
and bus lock #DB, checked from a bare-metal micro-guest under TCG."""

import os
import sys

from xv.vm import VM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from split_lock_common import CPU_NONE, CPU_SLD, microguest_args, results  # noqa: E402

AC = '17 err 0x0 at_insn 1'     # #AC(0) reported on the locked instruction
GP = '13 err 0x0 at_insn 1'


def run(cpu, name, extra=()):
    with VM(microguest_args(cpu) + list(extra), name=name) as vm:
        vm.wait_console(r'^XV: done', timeout=60)
        r = results(vm.console)
        assert 'unexpected_exception' not in r, vm.console[-2000:]
        counters = vm.cmd('x-query-x86-bus-locks')
        vm.console_write('x')
        vm.wait_exit(30, expect=1)    # isa-debug-exit, value 0
        return r, counters


def test_msrs_and_split_locks_with_detection(work):
    check_sld(*run(CPU_SLD, 'sld'))


def test_split_locks_mttcg(work):
    # -smp 2 (MTTCG): split atomics are executed a second time by
    # cpu_exec_step_atomic(); every #AC and #DB must still be counted once
    r, counters = run(CPU_SLD, 'sld-smp2',
                      ['-smp', '2', '-accel', 'tcg,thread=multi'])
    check_sld(r, counters[:1])
    assert counters[1] == {'cpu-index': 1, 'split-lock-ac': 0,
                           'bus-lock-db': 0, 'bus-locks': 0}, counters


def check_sld(r, counters):
    # MSR_IA32_CORE_CAPABILITIES bit 5, reset values, read-only
    assert int(r['core_caps'], 16) & 0x20, r['core_caps']
    assert r['test_ctrl_reset'] == '0x0'
    assert r['debugctl_reset'] == '0x0'
    assert r['wr_core_caps'] == GP
    # Detection off: locked split accesses are performed, no exception
    for k in ('lock_add_split', 'lock_add_aligned', 'plain_add_split',
              'xchg_split', 'xadd_split', 'bts_split', 'cmpxchg8b_split',
              'cmpxchg_split', 'cmpxchg_byte'):
        assert r['off_' + k] == 'none', (k, r['off_' + k])
    assert r['off_lock_add_split_mem'] == '0x1'
    # Reserved bits of MSR_TEST_CTRL give #GP and change nothing
    assert r['wr_test_ctrl_bit0'] == GP
    assert r['wr_test_ctrl_bit32'] == GP
    assert r['wr_test_ctrl_sld_bit31'] == GP
    assert r['test_ctrl_after_bad'] == '0x0'
    # Bit 29 is writable and reads back
    assert r['wr_test_ctrl_sld'] == 'none'
    assert r['test_ctrl_sld'] == '0x20000000'
    # Detection on: #AC(0) before the access, on every locked split form
    for k in ('lock_add_split', 'xchg_split', 'xadd_split', 'bts_split',
              'cmpxchg8b_split', 'cmpxchg_split'):
        assert r['sld_' + k] == AC, (k, r['sld_' + k])
    assert r['sld_lock_add_split_mem'] == '0x0', 'the faulting access was performed'
    # ... but not on aligned or unlocked accesses, nor on a byte
    assert r['sld_lock_add_aligned'] == 'none'
    assert r['sld_plain_add_split'] == 'none'
    assert r['sld_cmpxchg_byte'] == 'none'
    assert r['sld_ac_count'] == '0x6'
    assert r['wr_test_ctrl_0'] == 'none' and r['test_ctrl_0'] == '0x0'
    assert r['after_off_lock_add_split'] == 'none'
    # Bus lock detection: #DB trap after a split lock at CPL 3 only
    assert r['wr_debugctl_bld'] == 'none' and r['debugctl_bld'] == '0x4'
    assert r['cpl3_split_db'] == '0x1'
    assert int(r['cpl3_split_db_dr6'], 16) & 0x800 == 0, 'DR6.BLD not cleared'
    assert int(r['cpl3_split_db_dr6'], 16) & 0x4000 == 0
    assert r['cpl3_split_db_after_insn'] == '0x1', 'bus lock #DB is not a trap'
    assert r['cpl3_split_mem'] == '0x1', 'the bus-locked add was not performed'
    assert r['cpl3_aligned_db'] == '0x0'
    assert r['cpl0_split_db'] == '0x0'
    assert r['dr6_after_write_0'] == '0xffff07f0', 'DR6.BLD is not writable'
    assert r['bld_off_cpl3_split_db'] == '0x0'
    # The monitor counted the same events as the guest saw
    assert counters is not None, 'x-query-x86-bus-locks failed'
    assert counters == [{'cpu-index': 0, 'split-lock-ac': 6,
                         'bus-lock-db': 1, 'bus-locks': 0}], counters


def test_msrs_without_detection(work):
    r, counters = run(CPU_NONE, 'nosld')
    assert r['core_caps'] == GP, 'CORE_CAPABILITIES without core-capability'
    assert r['wr_test_ctrl_sld'] == GP, 'bit 29 writable without the feature'
    assert r['test_ctrl_sld'] == '0x0'
    for k in ('lock_add_split', 'xchg_split', 'cmpxchg8b_split'):
        assert r['sld_' + k] == 'none', (k, r['sld_' + k])
    assert r['debugctl_bld'] == '0x0'
    assert r['cpl3_split_db'] == '0x0'
    assert r['dr6_after_write_0'] == '0xffff0ff0'
    assert counters == [{'cpu-index': 0, 'split-lock-ac': 0,
                         'bus-lock-db': 0, 'bus-locks': 0}], counters


def test_bus_lock_only_not_checked_at_cpl0(work):
    # With only DEBUGCTL.BUS_LOCK_DETECT set (no split lock detection, no
    # rate limit) nothing can fire at CPL 0, so TCG must not emit the
    # split lock check there: the x86_split_lock trace event, which the
    # check's helper emits for every split lock it sees, must show split
    # locks at CPL 3 only, never a CPL 0 one without #AC.
    log = os.path.join(work, 'trace.log')
    r, counters = run(CPU_SLD, 'bld-cpl0',
                      ['-trace', 'x86_split_lock', '-D', log])
    check_sld(r, counters)
    with open(log, errors='replace') as f:
        seen = [line.strip() for line in f if 'x86_split_lock' in line]
    assert any(' cpl 3 #AC 0' in s for s in seen), seen
    assert any(' cpl 0 #AC 1' in s for s in seen), seen
    cpl0_bus = [s for s in seen if ' cpl 0 #AC 0' in s]
    assert not cpl0_bus, ('split lock checked at CPL 0 with bus lock '
                          'detection only', cpl0_bus)
