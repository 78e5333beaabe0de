# SPDX-License-Identifier: GPL-2.0-or-later
"""Under KVM the pc of a violation costs a full synchronization of the
vCPU state (KVM_GET_REGS and the rest); a violation whose event the rate
limit suppresses must not pay it: the micro-guest's 14 denied writes with
a rate limit of an hour send one event and synchronize the vCPU at most
once."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import xv  # noqa: E402
from xv.vm import VM  # noqa: E402
from spp_common import query, read_phys, set_masks, violations  # noqa: E402
import test_microguest as mg  # noqa: E402

KVM_GET_REGS = 0x8090ae81          # _IOR(KVMIO, 0x81, struct kvm_regs)


def wait_done(vm, work, timeout=60):
    """Poll with pmemsave, which (unlike HMP xp) does not sync the vCPU."""
    deadline = time.monotonic() + timeout
    while read_phys(vm, work, mg.DONE, 4) != (0x600dd00d).to_bytes(4, 'little'):
        assert time.monotonic() < deadline, 'the micro-guest did not finish'
        time.sleep(0.1)


def get_regs(log):
    with open(log) as f:
        return sum(1 for line in f if 'kvm_vcpu_ioctl' in line and
                   'type 0x%x,' % KVM_GET_REGS in line)


def test_suppressed_violations_do_not_sync_kvm(work):
    xv.need_kvm()
    log = os.path.join(work, 'vcpu-ioctl.log')
    args = [a.replace('rate-limit=0', 'rate-limit=3600000')
            for a in mg.microguest_args(work)]
    args += ['-d', 'trace:kvm_vcpu_ioctl', '-D', log]
    _, denied = mg.expected('kvm')
    with VM(args, accel='kvm', console=False, name='spp-sync') as vm:
        set_masks(vm, {mg.PAGE: mg.MASK})
        before = get_regs(log)
        vm.cmd('cont')
        wait_done(vm, work)
        events = violations(vm)
        info = query(vm)
        gets = get_regs(log) - before
    # the micro-guest's 14 denied stores and the fw_cfg DMA it starts into
    # a protected sub-page (a device write)
    assert len(denied) == 15 and info['violations'] == len(denied), info
    assert len(events) == 1 and info['events-suppressed'] == len(denied) - 1, \
        (events, info)
    assert gets <= len(events), ('%d vCPU state syncs (KVM_GET_REGS) for %d '
                                 'violations and %d event' %
                                 (gets, len(denied), len(events)))
