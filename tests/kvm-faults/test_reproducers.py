# SPDX-License-Identifier: GPL-2.0-or-later
"""The two reproducers of the issue, plain and (when built) under ASan/UBSan."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmfaults as kf  # noqa: E402

BUS_LOCK = 'q35,bus-lock-ratelimit=10'


def _bus_lock_unsupported():
    kf.need_kvm()
    r = kf.run_case(machine=BUS_LOCK)
    if r.outcome != 'error-exit' or 'bus lock' not in r.stderr:
        raise kf.xv.Skip('this host supports bus lock detection: %s' % r.summary())


def _smm_cap():
    for (kind, nr), name in kf.names().items():
        if kind == 'cap' and name == 'KVM_CAP_X86_SMM':
            return nr
    raise AssertionError('KVM_CAP_X86_SMM not in <linux/kvm.h>')


def _check_bus_lock_fallback(qemu=None, sanitize=False, smm=False):
    _bus_lock_unsupported()
    kw = {}
    if smm:
        # report SMM as supported on every check, so kvm_arch_init() gets
        # as far as registering the KVM-SMRAM notifier before it fails
        kw = dict(cap=_smm_cap(), cap_ret=1, nth=0)
    r = kf.run_case(qemu, machine=BUS_LOCK, fallback=True, sanitize=sanitize, **kw)
    # the split-lock series words the refusal: what the host lacks and what to do
    assert 'bus-lock-ratelimit needs bus lock VM exits (KVM_CAP_X86_BUS_LOCK_EXIT)' \
        in r.stderr, r.stderr
    assert r.outcome == 'fallback', 'no clean fallback to TCG: %s\n%s' % (r.summary(), r.stderr)
    if smm:
        assert r.triggered, 'the SMM capability was never checked'


def test_bus_lock_ratelimit_falls_back_to_tcg():
    """-M q35,bus-lock-ratelimit=10 -accel kvm -accel tcg: TCG runs the guest,
    no KVM fd is left open and there is no KVM-SMRAM address space."""
    _check_bus_lock_fallback()


def test_bus_lock_ratelimit_with_kvm_smm_falls_back_to_tcg():
    """The same where KVM reports SMM: kvm_arch_init() has registered the
    SMRAM notifier before the bus lock step fails (SIGSEGV before the fix)."""
    _check_bus_lock_fallback(smm=True)


def _check_msr_refusal(qemu=None, sanitize=False):
    kf.need_kvm()
    r = kf.run_case(qemu, extra=['-cpu', 'max,vendor=GenuineIntel'], sanitize=sanitize)
    if r.outcome == 'tolerated':
        raise kf.xv.Skip('this host accepts every MSR of -cpu max,vendor=GenuineIntel')
    assert r.outcome == 'error-exit', '%s\n%s' % (r.summary(), r.stderr)
    assert 'refused to set MSR 0x' in r.stderr, r.stderr


def test_msr_refused_by_host_is_an_error():
    """-accel kvm -cpu max,vendor=GenuineIntel: the host refuses MSR 0x10a;
    QEMU exits with status 1 naming the MSR (it aborted before the fix)."""
    _check_msr_refusal()


def test_msr_refused_by_host_when_set_msrs_fails():
    """KVM_SET_MSRS failing outright at vCPU init is an error exit too."""
    kf.need_kvm()
    nr = [k[1] for k, n in kf.names().items() if k[0] == 'req' and n == 'KVM_SET_MSRS'][0]
    r = kf.run_case(req=nr)
    assert r.triggered
    assert r.outcome == 'error-exit', '%s\n%s' % (r.summary(), r.stderr)


def test_asan_bus_lock_ratelimit_with_kvm_smm():
    _check_bus_lock_fallback(kf.asan_binary_or_skip(), sanitize=True, smm=True)


def test_asan_msr_refused_by_host():
    _check_msr_refusal(kf.asan_binary_or_skip(), sanitize=True)
