# SPDX-License-Identifier: GPL-2.0-or-later
"""Confidential-guest virtio checks at start-up: with a
confidential-guest-support object (the test-only emulated Ultravisor; the
check is the same for every such object, s390-pv-guest and sev-guest
included, but only this one can be created without IBM Z or AMD SEV
hardware), QEMU refuses each virtio setting a restricted guest refuses,
naming the device and the property, and accepts the defaults.  Hot-plug is
covered by the s390x-cgs-test qtest (test_qtest.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from xv.vm import VM  # noqa: E402
from s390_common import EMULATED_UV, qemu, run  # noqa: E402

# (device, its options, the setting the error must name)
BAD = [
    ('virtio-rng-ccw', 'iommu_platform=off', 'iommu_platform=off'),
    ('virtio-rng-ccw', 'max_revision=0', 'max_revision=0'),
    ('virtio-net-ccw', 'netdev=n0,iommu_platform=off', 'iommu_platform=off'),
    ('virtio-rng-pci', 'iommu_platform=off', 'iommu_platform=off'),
    ('virtio-rng-pci', 'disable-legacy=off', 'disable-legacy=off'),
    ('virtio-rng-pci', 'disable-legacy=off,disable-modern=on',
     'disable-modern=on'),
]
NETDEV = ['-netdev', 'user,id=n0']


def test_refused_at_startup():
    for dev, opts, setting in BAD:
        rc, out = run(EMULATED_UV + NETDEV + ['-S', '-device',
                                               '%s,id=dev0,%s' % (dev, opts)])
        want = ("%s device 'dev0': %s is not allowed with "
                "confidential-guest-support=uv0: the confidential guest "
                "refuses" % (dev, setting))
        assert rc == 1 and want in out, (
            '-device %s,%s: exit %d, want "%s", got:\n%s'
            % (dev, opts, rc, want, out))
        assert "Remove %s from the device's options." % setting in out, out


def test_accepted_without_cgs():
    """The same devices start on a machine without confidential guest."""
    for dev, opts, _ in BAD:
        args = ['-M', 's390-ccw-virtio', '-S'] + NETDEV + [
            '-device', '%s,id=dev0,%s' % (dev, opts)]
        with VM(args, binary=qemu(), console=False, name='nocgs') as vm:
            assert vm.cmd('query-status')['status'] == 'prelaunch'


def test_defaults_accepted():
    """The defaults a confidential guest gets: ACCESS_PLATFORM, modern only."""
    args = EMULATED_UV + NETDEV + [
        '-S', '-device', 'virtio-rng-ccw,id=rng0',
        '-device', 'virtio-net-ccw,id=net0,netdev=n0',
        '-device', 'virtio-rng-pci,id=rng1']
    with VM(args, binary=qemu(), console=False, name='cgs') as vm:
        # (x-query-virtio-status would show the feature bits, but it
        # asserts on virtio-rng in QEMU 11.1.1, base included)
        for dev in ('rng0', 'net0', 'rng1'):
            path = '/machine/peripheral/%s/virtio-backend' % dev
            assert vm.cmd('qom-get', path=path, property='iommu_platform'), dev
        assert vm.cmd('qom-get', path='/machine/peripheral/rng1',
                      property='disable-legacy') == 'on'
        assert vm.cmd('qom-get', path='/machine/peripheral/rng0',
                      property='max_revision') >= 1


def test_forced_only_warns():
    """x-cgs-check=off turns the error into a warning (for guest tests)."""
    args = EMULATED_UV + ['-S', '-device',
                          'virtio-rng-ccw,id=dev0,iommu_platform=off,'
                          'x-cgs-check=off']
    with VM(args, binary=qemu(), console=False, name='forced') as vm:
        assert vm.cmd('query-status')['status'] == 'prelaunch'
        err = vm.stderr()
    assert ("warning: virtio-rng-ccw device 'dev0': iommu_platform=off is "
            "not allowed with confidential-guest-support=uv0") in err, err
