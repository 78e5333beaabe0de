# SPDX-License-Identifier: GPL-2.0-or-later
"""With KVM, asking for split lock or bus lock features the host cannot
give is refused with a message that says what the host lacks.

Hosts differ, so the host is made to lack them on every machine: the
kvm-faults shim clears split-lock-detect in the feature MSR
MSR_IA32_CORE_CAPABILITIES, bus-lock-detect in KVM_GET_SUPPORTED_CPUID and
makes KVM_CAP_X86_BUS_LOCK_EXIT read 0."""

import os
import sys

import xv
from xv.vm import VM, run_to_exit

sys.path.insert(0, os.path.join(xv.ROOT, 'tests', 'kvm-faults'))
import kvm_faults_common as kf  # noqa: E402

MSR_IA32_CORE_CAPABILITY = 0xcf
CORE_CAP_SPLIT_LOCK_DETECT = 1 << 5


need_kvm = xv.need_kvm


def without_features():
    """The environment that makes the host lack every feature tested here."""
    env = kf.host_env(caps={'KVM_CAP_X86_BUS_LOCK_EXIT': 0},
                      cpuid_clear=['7.0.ecx.24'],
                      msr_clear={MSR_IA32_CORE_CAPABILITY: CORE_CAP_SPLIT_LOCK_DETECT})
    env['LD_PRELOAD'] = kf.shim()
    return env


def qemu_fails(args):
    """Run QEMU that must refuse to start; return (status, stderr)."""
    prefix = ['env'] + ['%s=%s' % kv for kv in without_features().items()]
    return run_to_exit(['-S'] + args, accel='kvm', prefix=prefix, name='kvm-fails')


def warnings(cpu):
    prefix = ['env'] + ['%s=%s' % kv for kv in without_features().items()]
    with VM(['-M', 'q35', '-cpu', cpu, '-S'], name='kvm', accel='kvm',
            console=False, prefix=prefix) as vm:
        vm.cmd('query-status')
        return vm.stderr()


SLD_FILTERED = "host doesn't support requested feature: MSR(CFh).split-lock-detect [bit 5]"
SLD_HINT = ("split-lock-detect: the host's KVM does not virtualize split lock "
            "detection (MSR_TEST_CTRL)")
BLD_FILTERED = ("host doesn't support requested feature: "
                "CPUID[eax=07h,ecx=00h].ECX.bus-lock-detect [bit 24]")
BLD_HINT = "bus-lock-detect: the host's KVM does not offer bus lock debug exceptions"


def test_split_lock_detect_refused(work):
    need_kvm()
    err = warnings('qemu64,+core-capability,+split-lock-detect')
    assert SLD_FILTERED in err, err
    assert SLD_HINT in err, err
    assert 'Use bus-lock-detect, -machine bus-lock-ratelimit or -accel tcg' in err, err


def test_split_lock_detect_enforce(work):
    need_kvm()
    rc, err = qemu_fails(['-M', 'q35', '-cpu',
                          'qemu64,+core-capability,+split-lock-detect,enforce'])
    assert rc != 0, err
    assert "Host doesn't support requested features" in err, err
    assert SLD_HINT in err, err


def test_bus_lock_detect_refused(work):
    need_kvm()
    err = warnings('qemu64,+bus-lock-detect')
    assert BLD_FILTERED in err, err
    assert BLD_HINT in err, err
    rc, err = qemu_fails(['-M', 'q35', '-cpu', 'qemu64,+bus-lock-detect,enforce'])
    assert rc != 0 and BLD_HINT in err, err


def test_bus_lock_ratelimit_refused(work):
    need_kvm()
    rc, err = qemu_fails(['-M', 'q35,bus-lock-ratelimit=10', '-cpu', 'qemu64'])
    assert rc != 0, err
    assert ('bus-lock-ratelimit needs bus lock VM exits (KVM_CAP_X86_BUS_LOCK_EXIT), '
            "which this host's KVM does not offer") in err, err
