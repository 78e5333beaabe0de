# SPDX-License-Identifier: GPL-2.0-or-later
"""Test guests built by scripts/mkguest.sh, with a test's own program added."""

import gzip
import io
import os
import stat
import subprocess
import sys

from . import ROOT, BUILD

ARCH_MACHINE = {
    'x86_64': ['-M', 'q35', '-cpu', 'max'],
    's390x': ['-M', 's390-ccw-virtio'],
    'aarch64': ['-M', 'virt', '-cpu', 'max'],
}


def guest_dir(arch='x86_64', kernel=None):
    """Build (if needed) and return the directory of the guest for arch.

    kernel picks one of the kernels upstream.lock pins for arch by version
    prefix (e.g. '6.12'); the default is the first one.
    """
    out = os.path.join(BUILD, 'guest', arch + ('-' + kernel if kernel else ''))
    # offline: a test never downloads; a pinned file in no cache fails at
    # once, saying which and where it goes
    p = subprocess.run([os.path.join(ROOT, 'scripts', 'mkguest.sh'), arch, out] +
                       ([kernel] if kernel else []),
                       env=dict(os.environ, XV_OFFLINE='1'),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.stderr:
        sys.stderr.write(p.stderr)
    assert p.returncode == 0, 'mkguest.sh %s failed (%d):\n%s' % (arch, p.returncode, p.stderr.strip())
    return out


def _cpio_newc(files):
    """A cpio (newc) archive of {path: (mode, bytes)}; directories have data None."""
    out = io.BytesIO()
    ino = 1000

    def entry(name, mode, data):
        nonlocal ino
        ino += 1
        name_b = name.encode() + b'\0'
        hdr = '070701' + ''.join('%08X' % v for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0))
        out.write(hdr.encode() + name_b)
        out.write(b'\0' * ((4 - (110 + len(name_b)) % 4) % 4))
        out.write(data)
        out.write(b'\0' * ((4 - len(data) % 4) % 4))

    dirs = set()
    for path in files:
        parts = path.split('/')[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add('/'.join(parts[:i]))
    for d in sorted(dirs):
        entry(d, stat.S_IFDIR | 0o755, b'')
    for path, (mode, data) in sorted(files.items()):
        entry(path, stat.S_IFREG | mode, data)
    entry('TRAILER!!!', 0, b'')
    return out.getvalue()


def initramfs_with(workdir, test_script=None, files=None, arch='x86_64',
                   kernel=None):
    """The guest's initramfs with /xv/test (a shell script) and other files added.

    files maps a path in the guest (e.g. 'xv/prog') to a host file name or to
    bytes.  Returns the path of the combined archive in workdir.
    """
    base = os.path.join(guest_dir(arch, kernel), 'initramfs.cpio.gz')
    entries = {}
    if test_script is not None:
        entries['xv/test'] = (0o755, ('#!/bin/sh\n' + test_script).encode())
    for path, src in (files or {}).items():
        if isinstance(src, bytes):
            entries[path] = (0o755, src)
        else:
            with open(src, 'rb') as f:
                entries[path] = (0o755, f.read())
    out = os.path.join(workdir, 'initramfs-test.cpio.gz')
    with open(base, 'rb') as f, open(out, 'wb') as o:
        o.write(f.read())
        o.write(gzip.compress(_cpio_newc(entries), 6))
    return out


def linux_args(workdir, test_script=None, files=None, arch='x86_64',
               append='', machine=None, kernel=None):
    """QEMU arguments that boot the guest kernel running test_script as /xv/test."""
    gdir = guest_dir(arch, kernel)
    with open(os.path.join(gdir, 'cmdline')) as f:
        cmdline = f.read().strip()
    if arch == 'x86_64':
        # Linux checks at boot that the PIT ticks through the IO-APIC within
        # a few of its own loops; a TCG vCPU on a loaded 2-core host can be
        # descheduled that long, and the kernel then panics with "IO-APIC +
        # timer doesn't work" (seen under parallel builds).  The check tests
        # the host's scheduling, not QEMU: skip it.
        cmdline += ' no_timer_check'
    initrd = initramfs_with(workdir, test_script, files, arch, kernel)
    return (list(machine if machine is not None else ARCH_MACHINE[arch]) +
            ['-m', '512M', '-no-reboot',
             '-kernel', os.path.join(gdir, 'vmlinuz'), '-initrd', initrd,
             '-append', (cmdline + ' ' + append).strip()])


def guest_exit_status(vm, timeout=300):
    """Wait for the guest's /xv/test to finish; return its exit status."""
    m = vm.wait_console(r'^XV-EXIT: (\d+)', timeout=timeout)
    return int(m.group(1))
