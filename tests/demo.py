#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The demo guest ('make run'): Linux under TCG on q35 with the emulated
Intel IOMMU in scalable mode, reading a file from a virtio disk whose DMA goes
through the IOMMU (iommu_platform=on), then powering off.

demo.py [QEMU]: prints the guest's console, the file and the guest's DMAR line;
exits 0 when the guest read the file through the IOMMU.
"""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
sys.dont_write_bytecode = True

from xv import qemu_binary  # noqa: E402
from xv.guest import linux_args, guest_exit_status  # noqa: E402
from xv.vm import VM  # noqa: E402

MESSAGE = 'Hello from a virtio disk behind the emulated VT-d (qemu-xv demo)'

GUEST_SCRIPT = r'''
echo "XV-DMAR: $(dmesg | grep -m1 -i 'DMAR.*scalable')"
echo "XV-IOMMU-GROUP: $(ls /sys/bus/pci/devices/*/iommu_group -d 2>/dev/null | wc -l)"
mount -t ext4 -o ro /dev/vda /mnt || exit 2
echo "XV-FILE: $(cat /mnt/hello.txt)"
umount /mnt
'''


def make_disk(workdir, message=MESSAGE):
    """An ext4 image holding hello.txt with message."""
    content = os.path.join(workdir, 'disk')
    os.makedirs(content)
    with open(os.path.join(content, 'hello.txt'), 'w') as f:
        f.write(message + '\n')
    img = os.path.join(workdir, 'disk.img')
    subprocess.run(['mke2fs', '-q', '-F', '-t', 'ext4', '-d', content, img, '16M'],
                   check=True, stdout=subprocess.DEVNULL)
    return img


def demo_args(workdir):
    img = make_disk(workdir)
    # the trace shows the guest programming a scalable-mode root table
    return (['-device', 'intel-iommu,scalable-mode=on', '-trace', 'vtd_reg_dmar_root'] +
            linux_args(workdir, GUEST_SCRIPT, append='intel_iommu=on,sm_on') +
            ['-drive', 'file=%s,format=raw,if=none,id=disk0' % img,
             '-device', 'virtio-blk-pci,drive=disk0,disable-legacy=on,iommu_platform=on'])


def run_demo(workdir, binary=None, name='demo'):
    """Boot the demo guest; return (status, file line, DMAR line, root table
    trace line, console)."""
    with VM(demo_args(workdir), binary=binary, name=name) as vm:
        status = guest_exit_status(vm, timeout=300)
        fline = vm.wait_console(r'^XV-FILE: (.*)$', timeout=5).group(1)
        dmar = vm.wait_console(r'^XV-DMAR: (.*)$', timeout=5).group(1)
        rc = vm.wait_exit(60)
        console = vm.console
        roots = [line for line in vm.stderr().splitlines() if 'vtd_reg_dmar_root' in line]
    if rc != 0:
        raise AssertionError('QEMU exited with %d after the guest powered off' % rc)
    return status, fline, dmar, roots[-1] if roots else '', console


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else qemu_binary()
    with tempfile.TemporaryDirectory(prefix='xv-demo-') as work:
        status, fline, dmar, root, console = run_demo(work, binary)
    print(console, end='')
    print('-- demo --')
    print('file read by the guest: %s' % fline)
    print('guest IOMMU: %s' % dmar)
    print('QEMU VT-d:   %s' % root)
    ok = (status == 0 and fline == MESSAGE and 'scalable' in dmar.lower() and
          root.endswith('scalable 1'))
    print('demo %s' % ('passed' if ok else 'FAILED'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
