# SPDX-License-Identifier: GPL-2.0-or-later
"""Every built target has the firmware the build makes for it, and it runs.

QEMU's configure drops a firmware silently when its cross-compiler probe
fails (a fresh machine without the s390x libgcc built no s390-ccw.img and
every s390x guest failed with "could not find stage1 bootloader"), so this
checks the artifacts of the targets actually built:
- x86_64: the option ROMs built from pc-bios/optionrom are installed in the
  build's data directory (linuxboot_dma.bin loading a kernel is checked by
  test_build and test_guest);
- s390x: s390-ccw.img IPLs an El Torito CD-ROM image holding the test
  guest's kernel and that kernel starts: the firmware reaches the kernel;
- aarch64: the virt machine loads -kernel itself; the build makes no
  firmware for it (the +ds tarball has no edk2).
"""

import os
import shutil
import subprocess

import xv
from xv.guest import guest_dir
from xv.vm import VM, ConsoleTimeout

X86_ROMS = ('linuxboot_dma.bin', 'pvh.bin', 'multiboot_dma.bin', 'kvmvapic.bin')


def built(target):
    return os.path.exists(xv.qemu_binary(target))


def data_dirs(binary):
    out = subprocess.run([binary, '-L', 'help'], check=True, capture_output=True,
                         text=True, timeout=30).stdout
    return [d for d in out.split() if os.path.isdir(d)]


def find_rom(binary, name):
    for d in data_dirs(binary):
        if os.path.isfile(os.path.join(d, name)):
            return os.path.join(d, name)
    return None


def test_x86_option_roms_built():
    if not built('x86_64'):
        raise xv.Skip('x86_64-softmmu is not in XV_TARGETS')
    binary = xv.qemu_binary('x86_64')
    missing = [r for r in X86_ROMS if not find_rom(binary, r)]
    assert not missing, 'option ROMs not built: %s (dirs %s)' % (missing, data_dirs(binary))


def test_s390_ccw_firmware_reaches_kernel(work):
    if not built('s390x'):
        raise xv.Skip('s390x-softmmu is not in XV_TARGETS')
    binary = xv.qemu_binary('s390x')
    assert find_rom(binary, 's390-ccw.img'), \
        's390-ccw.img was not built (scripts/toolchain-probe.sh s390-ccw says why)'
    assert shutil.which('xorriso'), "xorriso is missing: run 'sudo make deps'"
    kernel = os.path.join(guest_dir('s390x'), 'vmlinuz')
    tree = os.path.join(work, 'iso')
    os.makedirs(tree)
    shutil.copy(kernel, os.path.join(tree, 'vmlinuz'))
    iso = os.path.join(work, 'boot.iso')
    subprocess.run(['xorriso', '-as', 'mkisofs', '-quiet', '-o', iso, '-b', 'vmlinuz',
                    '-no-emul-boot', tree], check=True, capture_output=True, timeout=60)
    # no -kernel: the machine starts the firmware, which IPLs the CD-ROM
    vm = VM(['-M', 's390-ccw-virtio', '-action', 'panic=exit-failure',
             '-drive', 'if=none,id=cd,format=raw,media=cdrom,readonly=on,file=' + iso,
             '-device', 'virtio-blk-ccw,drive=cd,bootindex=1'],
            binary=binary, name='s390-ipl', accel=None)
    with vm:
        try:
            vm.wait_console(r'Linux version \S+ ', timeout=120)
        except ConsoleTimeout:
            pass    # the asserts below say what the console shows instead
        text = vm.console
    assert 'could not find stage1 bootloader' not in text, text
    # the firmware's own lines, then the kernel's banner
    assert 'ISO boot image size verified' in text, text[-2000:]
    with open(os.path.join(guest_dir('s390x'), 'kernel-version')) as f:
        kver = f.read().split()[0]
    assert 'Linux version ' + kver in text, 'kernel %s did not start:\n%s' % (kver, text[-2000:])
