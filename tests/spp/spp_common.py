# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for the sub-page write protection (subpage-wp) suite."""

import os
import re
import subprocess
import time

import xv

HERE = os.path.dirname(os.path.abspath(__file__))
FULL = 0xffffffff


def build_microguest(workdir, name='microguest'):
    """Assemble NAME.S (default microguest.S) into a 64 KiB real-mode
    -bios image."""
    return xv.bios_image(os.path.join(HERE, name + '.S'), workdir)


def symbols(workdir):
    """{name: linear address} of the micro-guest's global labels (the
    image is the last 64 KiB below 1 MiB; CS base 0xf0000)."""
    out = subprocess.run(['nm', os.path.join(workdir, 'microguest.o')],
                         check=True, capture_output=True, text=True).stdout
    return {w[2]: 0xf0000 + int(w[0], 16)
            for w in (l.split() for l in out.splitlines()) if len(w) == 3}




def set_masks(vm, pages):
    """pages: {gpa: mask}"""
    return vm.cmd('x-subpage-wp-set',
                  pages=[{'gpa': g, 'mask': m} for g, m in sorted(pages.items())])


def query(vm):
    return vm.cmd('x-query-subpage-wp')


def read_phys(vm, workdir, gpa, size):
    """Guest-physical memory as bytes (pmemsave reads without trapping)."""
    path = os.path.join(workdir, 'pmem-%x-%d.bin' % (gpa, time.monotonic_ns()))
    vm.cmd('pmemsave', val=gpa, size=size, filename=path)
    with open(path, 'rb') as f:
        data = f.read()
    os.unlink(path)
    return data


def read_u32(vm, gpa):
    out = vm.hmp('xp /1wx 0x%x' % gpa)
    m = re.search(r':\s*(0x[0-9a-f]+)', out)
    assert m, 'cannot parse xp output %r' % out
    return int(m.group(1), 16)


def wait_u32(vm, gpa, value, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        if read_u32(vm, gpa) == value:
            return
        if time.monotonic() > deadline:
            raise AssertionError('guest did not write 0x%x at 0x%x within %ss'
                                 % (value, gpa, timeout))
        time.sleep(0.1)


def violations(vm):
    """(gpa, size) of every violation event so far.  A command first: QEMU
    sends the events caused before it ahead of its reply."""
    vm.cmd('x-query-subpage-wp')
    return [(e['data']['gpa'], e['data']['size'])
            for e in vm.events('SUBPAGE_WP_VIOLATION')]


__all__ = ['xv']
