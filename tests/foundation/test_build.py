# SPDX-License-Identifier: GPL-2.0-or-later
"""The fork's binary names itself and finds its firmware."""

import subprocess

from xv import qemu_binary
from xv.vm import VM


def test_version_names_qemu_xv():
    out = subprocess.run([qemu_binary(), '--version'], check=True,
                         capture_output=True, text=True).stdout
    assert 'version 11.1.1' in out, out
    assert '(qemu-xv' in out, out


def test_qmp_query_version_package():
    with VM([], console=False, name='version') as vm:
        v = vm.cmd('query-version')
    assert v['qemu'] == {'major': 11, 'minor': 1, 'micro': 1}, v
    assert v['package'].startswith('qemu-xv'), v


def test_firmware_and_option_roms_found():
    # SeaBIOS (bios-256k.bin), the iPXE ROM of a NIC and the linuxboot
    # option ROM are all loaded at machine creation: QEMU refuses to start
    # when one is missing.
    with VM(['-M', 'q35', '-kernel', '/dev/null', '-S',
             '-netdev', 'user,id=n0', '-device', 'virtio-net-pci,netdev=n0'],
            console=False, name='firmware') as vm:
        roms = vm.hmp('info roms')
    for name in ('bios-256k.bin', 'efi-virtio.rom', 'linuxboot_dma.bin'):
        assert name in roms, 'ROM %s not loaded:\n%s' % (name, roms)
