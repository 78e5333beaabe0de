# SPDX-License-Identifier: GPL-2.0-or-later
"""qemu-xv's test harness: QEMU processes driven over QMP, test guests, a runner."""

import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
BUILD = os.environ.get('XV_BUILD', os.path.join(ROOT, 'build'))

# The one place the python path is set up: QEMU's own python/qemu (machine,
# utils) from the patched tree, beside Debian's qemu.qmp (python3-qemu-qmp);
# both are portions of the 'qemu' namespace package.
QEMU_PYTHON = os.path.join(BUILD, 'src', 'python')
if QEMU_PYTHON not in sys.path:
    sys.path.append(QEMU_PYTHON)


def qemu_binary(target='x86_64', flavour='fork'):
    """Path of the qemu-system binary built by 'make' (fork), 'make base'
    (base) or 'make asan' (asan).  The one override scheme: XV_BUILD moves
    every binary; XV_QEMU_<TARGET> (fork), XV_QEMU_<TARGET>_BASE or
    XV_QEMU_<TARGET>_ASAN names one."""
    suffix = {'fork': '', 'base': '_BASE', 'asan': '_ASAN'}[flavour]
    var = 'XV_QEMU_' + target.upper() + suffix
    if os.environ.get(var):
        return os.environ[var]
    obj = {'fork': 'obj', 'base': 'base-obj', 'asan': 'asan-obj'}[flavour]
    return os.path.join(BUILD, obj, 'qemu-system-' + target)


class Skip(Exception):
    """Raised by a test that cannot run here; reported as skipped, never as passed."""


def kvm_usable():
    """The one KVM availability check: /dev/kvm can be opened read-write."""
    try:
        os.close(os.open('/dev/kvm', os.O_RDWR | os.O_CLOEXEC))
    except OSError:
        return False
    return True


def need_kvm():
    """Skip (never pass) a test that needs KVM where it is not usable."""
    if not kvm_usable():
        raise Skip('/dev/kvm is not usable here')


def up_to_date(target, *sources):
    """The one build-if-newer rule: target exists and is no older than
    every source."""
    return os.path.exists(target) and all(
        os.path.getmtime(target) >= os.path.getmtime(s) for s in sources)


def lock_field(kind, name):
    """The one upstream.lock parser: the value (third field) of the line
    'KIND NAME VALUE ...'; an AssertionError if the lock has none."""
    with open(os.path.join(ROOT, 'upstream.lock')) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 3 and fields[0] == kind and fields[1] == name:
                return fields[2]
    raise AssertionError('upstream.lock pins no %s %s' % (kind, name))


def bios_image(source, workdir, name=None):
    """Assemble the real-mode micro-guest SOURCE (a .S file built on
    tests/lib/bios.inc) into WORKDIR/NAME.bin, a 64 KiB -bios image, and
    return its path; the object file, for nm, is WORKDIR/NAME.o.  NAME
    defaults to SOURCE's base name."""
    name = name or os.path.splitext(os.path.basename(source))[0]
    obj = os.path.join(workdir, name + '.o')
    out = os.path.join(workdir, name + '.bin')
    subprocess.run(['gcc', '-m32', '-c', '-Wa,-I' + os.path.join(ROOT, 'tests', 'lib'),
                    '-o', obj, source], check=True)
    subprocess.run(['objcopy', '-O', 'binary', '-j', '.text', obj, out], check=True)
    size = os.path.getsize(out)
    assert size == 0x10000, '%s: the image is %d bytes, not 64 KiB' % (source, size)
    return out
