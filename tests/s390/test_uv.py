# SPDX-License-Identifier: GPL-2.0-or-later
"""The emulated Ultravisor (x-s390-emulated-uv, test-only, protects
nothing) lets a stock Linux >= 6.11 s390x guest (Debian's 6.12 backport)
run as a protected-virtualization guest under TCG: it reports itself a
protected guest in /sys/firmware/uv, shares its swiotlb bounce buffers
with Set Shared Access calls, uses a virtio device with ACCESS_PLATFORM
(reads through swiotlb) and refuses one without it.  The same guest
without the emulated Ultravisor is an ordinary guest."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from xv.guest import linux_args, guest_exit_status  # noqa: E402
from xv.vm import VM  # noqa: E402
from s390_common import EMULATED_UV, disk, qemu  # noqa: E402

KERNEL = '6.12'
REFUSED = re.compile(r'virtio_rng virtio\d+: device must provide '
                     r'VIRTIO_F_ACCESS_PLATFORM')

SCRIPT = r'''
echo "XV-PVG: $(cat /sys/firmware/uv/prot_virt_guest 2>/dev/null || echo none)"
echo "XV-UVQUERY: $(ls /sys/firmware/uv/query 2>/dev/null | tr '\n' ' ')"
dmesg | grep -E 'VIRTIO_F_|software IO TLB' | sed 's/^\[[^]]*\] //; s/^/XV-LOG: /'
for d in /sys/bus/ccw/devices/*/virtio*; do
    echo "XV-DEV: ${d#/sys/bus/ccw/devices/} driver=$(basename "$(readlink $d/driver)") features=$(cat $d/features)"
done
echo "XV-READ: $(dd if=/dev/vda bs=4096 count=1 skip=35 iflag=direct 2>/dev/null | head -c 16)"
exit 0
'''


def boot(work, extra, name):
    args = linux_args(work, SCRIPT, arch='s390x', kernel=KERNEL) + extra + [
        '-no-shutdown',
        '-drive', 'if=none,id=d0,format=raw,file=%s' % disk(work, 'vda.img'),
        '-device', 'virtio-blk-ccw,drive=d0,devno=fe.0.0000',
        # a device a protected guest must refuse (QEMU only warns with
        # x-cgs-check=off)
        '-device', 'virtio-rng-ccw,devno=fe.0.0001,iommu_platform=off,'
        'x-cgs-check=off']
    with VM(args, binary=qemu(), name=name) as vm:
        assert guest_exit_status(vm, timeout=300) == 0
        return vm.console, vm.cmd('x-query-s390x-pv'), vm.hmp('info pv')


def line(con, tag):
    m = re.search(r'^XV-%s: (.*)$' % tag, con, re.M)
    assert m, 'no XV-%s line:\n%s' % (tag, con[-3000:])
    return m.group(1).strip()


def devices(con):
    """{devno: (driver, feature bits)} of the virtio-ccw devices"""
    return {m.group(1): (m.group(2), m.group(3)) for m in re.finditer(
        r'^XV-DEV: (\S+)/virtio\d+ driver=(\S*) features=(\d+)$', con, re.M)}


def test_protected_guest(work):
    con, pv, hmp = boot(work, EMULATED_UV, 'uv')
    assert line(con, 'PVG') == '1', con[-3000:]
    assert 'facilities' in line(con, 'UVQUERY').split(), con[-3000:]
    # the disk has ACCESS_PLATFORM (bit 33) and works, through swiotlb
    devs = devices(con)
    drv, feats = devs['0.0.0000']
    assert drv == 'virtio_blk' and feats[32:34] == '11', devs
    assert line(con, 'READ') == 'XVBLOCK 00000035', con[-3000:]
    # the rng without ACCESS_PLATFORM is refused by the guest
    assert REFUSED.search(con), con[-3000:]
    assert devs['0.0.0001'][0] == '', devs
    # the guest shared its swiotlb buffers through the emulated UV
    uv = pv['emulated-uv']
    assert pv['enabled'] and pv['object'] == 'x-s390-emulated-uv', pv
    assert not pv['protected'], pv
    assert uv['query-calls'] >= 1 and uv['set-shared-calls'] >= 1024, pv
    assert 'protects nothing' in hmp, hmp


def test_ordinary_guest(work):
    """Control: the same kernel and devices without the emulated UV."""
    con, pv, _ = boot(work, [], 'nouv')
    assert line(con, 'PVG') == 'none', con[-3000:]
    devs = devices(con)
    assert devs['0.0.0001'][0] == 'virtio_rng', devs
    assert devs['0.0.0000'][1][33] == '0', devs
    assert not REFUSED.search(con), con[-3000:]
    assert line(con, 'READ') == 'XVBLOCK 00000035', con[-3000:]
    assert not pv['enabled'] and 'emulated-uv' not in pv, pv
