# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for the s390 suite: the s390x binary, the emulated Ultravisor,
disk images and the FLIC counters."""

import os
import shutil
import subprocess

import xv
from xv.vm import run_to_exit

EMULATED_UV = ['-object', 'x-s390-emulated-uv,id=uv0',
               '-M', 's390-ccw-virtio,confidential-guest-support=uv0']


def qemu(flavour='fork'):
    path = xv.qemu_binary('s390x', flavour)
    if not os.path.exists(path):
        raise AssertionError('%s is missing: build with s390x-softmmu in '
                             'XV_TARGETS' % path)
    return path


def disk(workdir, name, mib=8):
    """A raw disk whose every 4 KiB block starts with its own number."""
    path = os.path.join(workdir, name)
    with open(path, 'wb') as f:
        for i in range(mib * 256):
            f.write(('XVBLOCK %08d\n' % i).encode().ljust(4096, b'\0'))
    return path


def flic(vm):
    return vm.cmd('x-query-s390x-flic')


def adapter(info, kind, isc):
    for a in info['adapters']:
        if a['type'] == kind and a['isc'] == isc:
            return a
    raise AssertionError('no %s adapter for ISC %d in %r' % (kind, isc, info))


def run(args, timeout=60):
    """Run QEMU to completion; return (exit status, what it printed)."""
    return run_to_exit(args, binary=qemu(), timeout=timeout, name='s390-run')


def build_bare_metal(src, workdir):
    """Assemble and link the bare-metal s390x test src (QEMU's
    tests/tcg/s390x/softmmu.ld) into workdir; return the ELF's path."""
    for tool in ('s390x-linux-gnu-as', 's390x-linux-gnu-ld'):
        if not shutil.which(tool):
            raise AssertionError('%s is missing: run "sudo make deps" '
                                 '(binutils-s390x-linux-gnu)' % tool)
    name = os.path.splitext(os.path.basename(src))[0]
    obj = os.path.join(workdir, name + '.o')
    out = os.path.join(workdir, name)
    ld_script = os.path.join(xv.BUILD, 'src', 'tests', 'tcg', 's390x', 'softmmu.ld')
    subprocess.run(['s390x-linux-gnu-as', '-march=z13', '-m64', src, '-o', obj],
                   check=True)
    subprocess.run(['s390x-linux-gnu-ld', '-nostdlib', '-static', '-T', ld_script,
                    '--build-id=none', obj, '-o', out], check=True)
    return out
