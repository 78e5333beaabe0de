# SPDX-License-Identifier: GPL-2.0-or-later
"""The two reproducers of the issue, plain and (when built) under ASan/UBSan.

What they need from the host is faked by the shim, so they run the same way
on every machine with a usable /dev/kvm: the host lacks bus lock VM exits
(KVM_CHECK_EXTENSION(KVM_CAP_X86_BUS_LOCK_EXIT) reads 0 on every check), and
KVM_SET_MSRS sets one MSR fewer than asked (a host that refuses an MSR),
or KVM lacks SMM (KVM_CAP_X86_SMM reads 0) for smm=on.
test_msr_refusal_on_this_host checks what the real host does, either way."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvm_faults_common as kf  # noqa: E402

BUS_LOCK = 'q35,bus-lock-ratelimit=10'


def _check_bus_lock_fallback(qemu=None, sanitize=False, smm=False):
    kf.need_kvm()
    caps = {'KVM_CAP_X86_BUS_LOCK_EXIT': 0}
    if smm:
        # report SMM as supported on every check, so kvm_arch_init() gets
        # as far as registering the KVM-SMRAM notifier before it fails
        caps['KVM_CAP_X86_SMM'] = 1
    host = kf.host_env(caps=caps)
    r = kf.run_case(qemu, machine=BUS_LOCK, sanitize=sanitize, host=host)
    assert r.outcome == 'error-exit', 'without a fallback: %s\n%s' % (r.summary(), r.stderr)
    log = os.path.join(os.environ.get('TMPDIR', '/tmp'), 'kvm-ioctls.log')
    r = kf.run_case(qemu, machine=BUS_LOCK, fallback=True, sanitize=sanitize, host=host,
                    log=log)
    with open(log) as f:
        checked = {int(line.split()[1], 16) for line in f if int(line.split()[0], 16) == 0xae03}
    for name in caps:
        assert kf.cap_number(name) in checked, '%s was never checked' % name
    # the split-lock series words the refusal: what the host lacks and what to do
    assert 'bus-lock-ratelimit needs bus lock VM exits (KVM_CAP_X86_BUS_LOCK_EXIT)' \
        in r.stderr, r.stderr
    assert r.outcome == 'fallback', 'no clean fallback to TCG: %s\n%s' % (r.summary(), r.stderr)


def test_bus_lock_ratelimit_falls_back_to_tcg():
    """-M q35,bus-lock-ratelimit=10 -accel kvm -accel tcg: TCG runs the guest,
    no KVM fd is left open and there is no KVM-SMRAM address space."""
    _check_bus_lock_fallback()


def test_bus_lock_ratelimit_with_kvm_smm_falls_back_to_tcg():
    """The same where KVM reports SMM: kvm_arch_init() has registered the
    SMRAM notifier before the bus lock step fails (SIGSEGV before the fix)."""
    _check_bus_lock_fallback(smm=True)


def _check_smm_fallback(qemu=None, sanitize=False):
    kf.need_kvm()
    # the host lacks SMM whether or not this one has it
    host = kf.host_env(caps={'KVM_CAP_X86_SMM': 0})
    for machine in ('q35,smm=on', 'pc,smm=on'):
        r = kf.run_case(qemu, machine=machine, sanitize=sanitize, host=host)
        assert r.outcome == 'error-exit', '%s: %s\n%s' % (machine, r.summary(), r.stderr)
        assert 'use -machine smm=off' in r.stderr, r.stderr
        r = kf.run_case(qemu, machine=machine, fallback=True, sanitize=sanitize, host=host)
        assert r.outcome == 'fallback', 'no fallback to TCG for %s: %s\n%s' % (
            machine, r.summary(), r.stderr)
        assert 'use -machine smm=off' in r.stderr, r.stderr
    # smm=auto: KVM runs the machine without SMM, as before
    r = kf.run_case(qemu, machine='q35', sanitize=sanitize, host=host)
    assert r.outcome == 'tolerated', '%s\n%s' % (r.summary(), r.stderr)


def test_smm_on_without_kvm_smm_falls_back_to_tcg():
    """-M q35,smm=on -accel kvm -accel tcg on a host without KVM_CAP_X86_SMM
    falls back to TCG; without -accel tcg it is an error naming smm=off
    (x86_machine_is_smm_enabled() exited in kvm_arch_init() before the fix)."""
    _check_smm_fallback()


def _check_msr_refusal(qemu=None, sanitize=False):
    kf.need_kvm()
    r = kf.run_case(qemu, req=kf.req_number('KVM_SET_MSRS'), nth=0, partial=True,
                    extra=['-cpu', 'max,vendor=GenuineIntel'], sanitize=sanitize)
    assert r.triggered, 'no KVM_SET_MSRS call'
    assert r.outcome == 'error-exit', '%s\n%s' % (r.summary(), r.stderr)
    assert 'refused to set MSR 0x' in r.stderr, r.stderr


def test_msr_refused_by_host_is_an_error():
    """-accel kvm -cpu max,vendor=GenuineIntel on a host that refuses an MSR
    (KVM_SET_MSRS sets fewer than asked): QEMU exits with status 1 naming
    the MSR (it aborted before the fix)."""
    _check_msr_refusal()


def test_msr_refusal_on_this_host():
    """Without the shim's help: hosts differ (one refused MSR 0x10a of -cpu
    max,vendor=GenuineIntel, another accepted it); either way the outcome
    is the right one for what this host did."""
    kf.need_kvm()
    r = kf.run_case(extra=['-cpu', 'max,vendor=GenuineIntel'])
    if 'refused to set MSR 0x' in r.stderr:
        assert r.outcome == 'error-exit', '%s\n%s' % (r.summary(), r.stderr)
        print('  this host refuses: ' + r.stderr.strip().splitlines()[-2:][0])
    else:
        assert r.outcome == 'tolerated', '%s\n%s' % (r.summary(), r.stderr)
        print('  this host accepts every MSR')


def test_msr_refused_by_host_when_set_msrs_fails():
    """KVM_SET_MSRS failing outright at vCPU init is an error exit too."""
    kf.need_kvm()
    r = kf.run_case(req=kf.req_number('KVM_SET_MSRS'))
    assert r.triggered
    assert r.outcome == 'error-exit', '%s\n%s' % (r.summary(), r.stderr)


def test_asan_bus_lock_ratelimit_with_kvm_smm():
    _check_bus_lock_fallback(kf.asan_binary_or_skip(), sanitize=True, smm=True)


def test_asan_smm_on_without_kvm_smm():
    _check_smm_fallback(kf.asan_binary_or_skip(), sanitize=True)


def test_asan_msr_refused_by_host():
    _check_msr_refusal(kf.asan_binary_or_skip(), sanitize=True)
