# SPDX-License-Identifier: GPL-2.0-or-later
"""The SMCCC calls of -cpu ...,x-kvm-ptp=on, issued with HVC #0 by a
bare-metal micro-guest at EL1 under TCG (-M virt: PSCI conduit HVC), and
today's answers with the property off."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ptp_common import (CPU_OFF, CPU_PTP, KVM_UID, NOT_SUPPORTED,  # noqa: E402
                       run_microguest)

# Functions that must stay NOT_SUPPORTED with the property on
UNKNOWN = ('arch_features_workaround_1', 'arch_features_vendor_hyp_uid',
           'vendor_hyp_unknown', 'vendor_hyp_call_count',
           'vendor_hyp_smc64_ptp', 'sip_service', 'std_service_unknown')


def check_ptp_sample(r, name, host_before, host_after):
    hi_ns, lo_ns, hi_cnt, lo_cnt = r[name]
    assert hi_ns < 1 << 32 and lo_ns < 1 << 32 and hi_cnt < 1 << 32 and lo_cnt < 1 << 32, \
        '%s: not zero-extended 32-bit values: %r' % (name, r[name])
    wall = (hi_ns << 32 | lo_ns) / 1e9
    cycles = hi_cnt << 32 | lo_cnt
    before, after = r[name + '_window']
    # the counter the guest reads, sampled between its own two reads
    assert before <= cycles <= after, \
        '%s: counter %#x not within the guest\'s reads [%#x, %#x]' % (name, cycles, before, after)
    # the host's wall clock, read while the guest ran
    assert host_before - 1 <= wall <= host_after + 1, \
        '%s: wall clock %.3f not within the run [%.3f, %.3f]' % (name, wall, host_before, host_after)
    return wall, cycles


def test_smccc_kvm_ptp_service(work):
    t0 = time.time()
    r = run_microguest(work, CPU_PTP, name='ptp-on')
    t1 = time.time()
    # PSCI is unchanged
    assert r['psci_version'] == [0x10001], r['psci_version']
    assert r['psci_features_psci_version'] == [0]
    # SMCCC v1.1 discovery: PSCI_FEATURES, SMCCC_VERSION, ARCH_FEATURES
    assert r['psci_features_smccc_version'] == [0], r['psci_features_smccc_version']
    assert r['smccc_version'] == [0x10001], r['smccc_version']
    assert r['arch_features_smccc_version'] == [0]
    assert r['arch_features_arch_features'] == [0]
    # KVM's vendor hypervisor UID and features bitmap (FEATURES | PTP)
    assert r['vendor_hyp_uid'] == list(KVM_UID), ['%#x' % v for v in r['vendor_hyp_uid']]
    assert r['kvm_features'] == [0x3, 0, 0, 0], r['kvm_features']
    # PTP on the virtual and the physical counter
    freq = r['cntfrq'][0]
    w1, c1 = check_ptp_sample(r, 'ptp_virt', t0, t1)
    check_ptp_sample(r, 'ptp_phys', t0, t1)
    w2, c2 = check_ptp_sample(r, 'ptp_virt2', t0, t1)
    # an SMC32 call reads w1: the upper half of x1 is ignored, as by KVM
    check_ptp_sample(r, 'ptp_virt_upper_bits', t0, t1)
    # both clocks moved on alike between two samples (TCG: the counter
    # follows QEMU_CLOCK_VIRTUAL, which runs with the host's time)
    dwall, dcnt = w2 - w1, (c2 - c1) / freq
    assert dwall > 0 and dcnt > 0, (dwall, dcnt)
    assert abs(dwall - dcnt) < 0.05, 'wall clock moved %.6fs, counter %.6fs' % (dwall, dcnt)
    # the wall clock has nanosecond resolution, as KVM's ktime_get_real():
    # QEMU_CLOCK_HOST (gettimeofday) gave multiples of 1000 ns, and the
    # midpoint of two of them a multiple of 500
    walls = [r[n][0] << 32 | r[n][1]
             for n in ('ptp_virt', 'ptp_phys', 'ptp_virt2', 'ptp_virt_upper_bits')]
    assert any(w % 500 for w in walls), 'wall clock in whole microseconds: %r' % walls
    # an unknown counter ID: NOT_SUPPORTED in x0, 0 in x1..x3
    for name in ('ptp_counter_2', 'ptp_counter_7', 'ptp_counter_all_ones'):
        assert r[name] == [NOT_SUPPORTED, 0, 0, 0], (name, r[name])
    for name in UNKNOWN:
        assert r[name] == [NOT_SUPPORTED], (name, r[name])


def test_smccc_default_unchanged(work):
    """Without x-kvm-ptp, every non-PSCI call gets NOT_SUPPORTED, as today."""
    r = run_microguest(work, CPU_OFF, name='ptp-off')
    assert r['psci_version'] == [0x10001]
    assert r['psci_features_psci_version'] == [0]
    for name in ('psci_features_smccc_version', 'smccc_version',
                 'arch_features_smccc_version', 'arch_features_arch_features',
                 'vendor_hyp_uid', 'kvm_features', 'ptp_virt', 'ptp_phys',
                 'ptp_virt2', 'ptp_virt_upper_bits', 'ptp_counter_2',
                 'ptp_counter_7', 'ptp_counter_all_ones') + UNKNOWN:
        assert r[name][0] == NOT_SUPPORTED, (name, r[name])


def test_property_default_and_refusal(work):
    """x-kvm-ptp is off unless asked for, and refused with a clear message
    on a CPU without the generic timer."""
    from xv.vm import VM, run_to_exit
    from ptp_common import aarch64_binary

    for cpu, want in (('max', False), ('max,x-kvm-ptp=on', True)):
        with VM(['-M', 'virt', '-cpu', cpu, '-S'], binary=aarch64_binary(),
                name='prop', console=False) as vm:
            got = vm.cmd('qom-get', path='/machine/unattached/device[0]',
                         property='x-kvm-ptp')
            assert got is want, (cpu, got)
    rc, err = run_to_exit(['-M', 'mps2-an385', '-cpu', 'cortex-m3,x-kvm-ptp=on', '-S'],
                          binary=aarch64_binary(), name='ptp-refused')
    assert rc == 1, (rc, err)
    assert 'x-kvm-ptp needs a CPU with the generic timer; remove x-kvm-ptp=on' in err, err
