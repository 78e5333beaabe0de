# SPDX-License-Identifier: GPL-2.0-or-later
"""The fork's binary names itself and finds its firmware."""

import os
import subprocess

from xv import ROOT, qemu_binary
from xv.guest import guest_dir
from xv.vm import VM

# SeaBIOS and the linuxboot option ROM show in 'info roms'; the NIC's iPXE
# ROM (efi-virtio.rom) is a RAM block of the device.
ROMS = ('bios-256k.bin', 'linuxboot_dma.bin', 'virtio-net-pci.rom')


def roms_loaded(binary, name):
    """Start q35 with -kernel and a virtio NIC; return 'info roms'."""
    kernel = os.path.join(guest_dir(), 'vmlinuz')
    with VM(['-M', 'q35', '-kernel', kernel, '-S',
             '-netdev', 'user,id=n0', '-device', 'virtio-net-pci,netdev=n0'],
            binary=binary, console=False, name=name) as vm:
        return vm.hmp('info roms') + vm.hmp('info ramblock')


def test_version_names_qemu_xv():
    out = subprocess.run([qemu_binary(), '--version'], check=True,
                         capture_output=True, text=True, timeout=60).stdout
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
    roms = roms_loaded(qemu_binary(), 'firmware')
    for name in ROMS:
        assert name in roms, 'ROM %s not loaded:\n%s' % (name, roms)


def test_installed_binary_finds_firmware(work):
    dest = os.path.join(work, 'dest')
    subprocess.run([os.path.join(ROOT, 'scripts', 'install.sh')], check=True,
                   env=dict(os.environ, DESTDIR=dest), capture_output=True)
    binary = os.path.join(dest, 'usr', 'local', 'bin', 'qemu-system-x86_64')
    dirs = [os.path.normpath(d) for d in
            subprocess.run([binary, '-L', 'help'], check=True, capture_output=True,
                           text=True, timeout=60).stdout.split()]
    assert os.path.join(dest, 'usr', 'local', 'share', 'qemu') in dirs, dirs
    roms = roms_loaded(binary, 'installed')
    for name in ROMS:
        assert name in roms, 'ROM %s not loaded:\n%s' % (name, roms)
