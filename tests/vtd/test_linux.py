# SPDX-License-Identifier: GPL-2.0-or-later
"""Linux under TCG with intel-iommu,x-nested=on and intel_iommu=on,sm_on:
the guest boots, reads ECAP with nested, first-stage and second-stage
support from sysfs, and virtio-blk DMA through the IOMMU still works."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import demo  # noqa: E402  (tests/demo.py: the demo's disk image)

from xv.guest import linux_args, guest_exit_status  # noqa: E402
from xv.vm import VM  # noqa: E402

MESSAGE = 'read through a nested-capable emulated VT-d'

ECAP_NEST = 1 << 26
ECAP_SMTS = 1 << 43
ECAP_SSTS = 1 << 46
ECAP_FSTS = 1 << 47

SCRIPT = r'''
for d in /sys/class/iommu/*/intel-iommu; do
    echo "XV-ECAP: $(cat $d/ecap)"
    echo "XV-CAP: $(cat $d/cap)"
done
echo "XV-DMAR: $(dmesg | grep -m1 -i 'DMAR.*scalable')"
echo "XV-GROUPS: $(ls -d /sys/bus/pci/devices/*/iommu_group 2>/dev/null | wc -l)"
echo "XV-PCI: $(ls -d /sys/bus/pci/devices/* | wc -l)"
mount -t ext4 -o ro /dev/vda /mnt || exit 2
echo "XV-FILE: $(cat /mnt/hello.txt)"
umount /mnt
'''


def boot(work, iommu):
    img = demo.make_disk(work, MESSAGE)
    args = (['-device', iommu, '-trace', 'vtd_iotlb_page_update'] +
            linux_args(work, SCRIPT, append='intel_iommu=on,sm_on') +
            ['-drive', 'file=%s,format=raw,if=none,id=disk0' % img,
             '-device', 'virtio-blk-pci,drive=disk0,disable-legacy=on,'
             'iommu_platform=on',
             '-device', 'iommu-testdev-pcie'])
    with VM(args, name='vtd-linux') as vm:
        status = guest_exit_status(vm, timeout=300)
        ecap = int(vm.wait_console(r'^XV-ECAP: ([0-9a-fA-F]+)', timeout=5).group(1), 16)
        dmar = vm.wait_console(r'^XV-DMAR: (.*)$', timeout=5).group(1)
        groups = int(vm.wait_console(r'^XV-GROUPS: (\d+)', timeout=5).group(1))
        pci = int(vm.wait_console(r'^XV-PCI: (\d+)', timeout=5).group(1))
        fline = vm.wait_console(r'^XV-FILE: (.*)$', timeout=5).group(1)
        updates = vm.stderr().count('vtd_iotlb_page_update')
    return status, ecap, dmar, (groups, pci), fline, updates


def test_linux_sees_nesting_and_dma_works(work):
    status, ecap, dmar, groups, fline, updates = boot(
        work, 'intel-iommu,scalable-mode=on,x-nested=on')
    assert status == 0, 'guest test exited with %d' % status
    want = ECAP_NEST | ECAP_SMTS | ECAP_SSTS | ECAP_FSTS
    assert ecap & want == want, 'guest ECAP 0x%x lacks 0x%x' % (ecap, want & ~ecap)
    assert 'scalable' in dmar.lower(), dmar
    # every PCI device sits behind the IOMMU: q35's host bridge, ICH9 LPC,
    # SATA and SMBus functions, virtio-blk and iommu-testdev-pcie
    assert groups == (6, 6), '%d of %d PCI devices in IOMMU groups (6 expected)' % groups
    assert fline == MESSAGE, fline
    # the disk's DMA was translated (IOTLB fills), not passed through.  The
    # exact number of fills is not knowable: it depends on how Linux's DMA
    # API packs the buffers into IOVA pages and on the IOTLB's hits
    assert updates > 0, 'no IOTLB fill: virtio DMA bypassed the IOMMU'
