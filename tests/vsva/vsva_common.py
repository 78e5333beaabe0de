# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers of the vSVA suite: the L1 kernel, the guest program, one boot."""

import os
import re
import subprocess

from xv import BUILD, ROOT, up_to_date
from xv.guest import guest_dir, initramfs_with
from xv.vm import VM

HERE = os.path.dirname(os.path.abspath(__file__))

# The steps tests/vsva/vsva.c runs, in order.
STEPS = ['ecap', 'find', 'vfio-pci', 'open', 'bind', 'ioas', 'map', 'bar',
         'attach-ioas', 'dma-ioas', 'fault-ioas', 'nest-parent', 's1-tables',
         'nested', 'attach-nested', 'dma-s1', 'invalidate', 'dma-remap',
         'fault', 'done']

# The IOVAs the program's faulting DMA writes go to, mapped by nothing: in
# the IOAS (second stage only), then in the first stage of the nested domain
IOAS_UNMAPPED = 0x00300000
S1_UNMAPPED = 0x08002000

ECAP_NEST = 1 << 26

# /xv/test of the guest's initramfs (tests/guest/init runs it)
SCRIPT = r'''
/xv/vsva
echo "XV-RC: $?"
'''


def l1_kernel():
    """The L1 kernel (scripts/mkl1kernel.sh: the pinned cached image).  A
    test never builds it (19 minutes): without the cached image it fails at
    once, saying how to get it."""
    p = subprocess.run([os.path.join(ROOT, 'scripts', 'mkl1kernel.sh'), '--cached'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.returncode == 0, p.stderr.strip()
    return p.stdout.strip()


def program():
    """Build (when its source changed) and return the static guest program."""
    out_dir = os.path.join(BUILD, 'vsva')
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, 'vsva')
    src = os.path.join(HERE, 'vsva.c')
    # QEMU's copy of the kernel uAPI: iommufd.h and vfio.h with VT-d nesting
    headers = os.path.join(BUILD, 'src', 'linux-headers')
    assert os.path.exists(os.path.join(headers, 'linux', 'iommufd.h')), (
        '%s has no linux/iommufd.h: run make prepare' % headers)
    if not up_to_date(out, src):
        subprocess.run(['gcc', '-static', '-O2', '-Wall', '-Wextra', '-Werror',
                        '-I', headers, '-o', out, src], check=True)
    return out


def run_l1(work, binary, iommu, name, trace=()):
    """Boot the L1 with intel-iommu options iommu and edu, run the program.

    Returns (steps, vm stderr, console): steps maps each step the program
    reported to (result, detail), in order.
    """
    cmdline = open(os.path.join(guest_dir(), 'cmdline')).read().strip()
    initrd = initramfs_with(work, SCRIPT, files={
        'xv/vsva': program(),
        # the L1 kernel has no modules: skip the Debian 6.1 ones
        'etc/xv-modules': b'',
    })
    args = ['-M', 'q35', '-cpu', 'max', '-m', '2G', '-no-reboot',
            '-device', 'intel-iommu,' + iommu, '-device', 'edu',
            '-kernel', l1_kernel(), '-initrd', initrd,
            # no_timer_check: under a loaded TCG host the IO-APIC timer
            # check through interrupt remapping can fail and panic
            '-append', cmdline + ' intel_iommu=on,sm_on no_timer_check']
    for t in trace:
        args += ['-trace', t]
    with VM(args, binary=binary, name=name) as vm:
        vm.wait_console(r'^XV-INIT: ready', timeout=300)
        m = vm.wait_console(r'^XV-EXIT: (\d+)', timeout=300)
        # the guest's script (the program's status is XV-RC, checked by
        # the tests): anything but 0 is the script itself failing
        assert m.group(1) == '0', ('the guest script exited with status %s; console ends with:\n%s'
                                   % (m.group(1), vm.console[-3000:]))
        con = vm.console
        vm.wait_exit(60)
        err = vm.stderr()
    steps = {}
    for m in re.finditer(r'^VSVA: (\S+) (ok|fail) ?(.*)$', con, re.M):
        steps[m.group(1)] = (m.group(2), m.group(3))
    assert steps, 'the program printed no VSVA line:\n' + con[-3000:]
    return steps, err, con


def ecap(steps):
    m = re.search(r'ecap=0x([0-9a-f]+)', steps['ecap'][1])
    assert m, steps['ecap']
    return int(m.group(1), 16)


def fault_line(steps, step, iova):
    """Check that step reported the L1's DMAR line of a write fault at iova."""
    detail = steps[step][1]
    assert re.search(r'DMAR: \[DMA Write NO_PASID\] Request device '
                     r'\[[0-9a-f:.]+\] fault addr 0x%x ' % iova, detail), detail


def recorded_faults(stderr):
    """The (page, is_write) of every fault the emulated VT-d recorded (QEMU's
    vtd_dmar_fault trace): edu's write of a page faults on every 4 bytes."""
    return {(int(a, 16) & ~0xfff, w == '1') for a, w in re.findall(
        r'vtd_dmar_fault sid 0x[0-9a-f]+ fault \d+ addr 0x([0-9a-f]+) write (\d)',
        stderr)}
