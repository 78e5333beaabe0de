# SPDX-License-Identifier: GPL-2.0-or-later
"""qemu-xv's test harness: QEMU processes driven over QMP, test guests, a runner."""

import os
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
    """Path of the qemu-system binary built by 'make' (or 'make bench' for
    base).  The one override scheme: XV_BUILD moves every binary;
    XV_QEMU_<TARGET> (fork) or XV_QEMU_<TARGET>_BASE (base) names one."""
    var = 'XV_QEMU_' + target.upper() + ('' if flavour == 'fork' else '_BASE')
    if os.environ.get(var):
        return os.environ[var]
    obj = 'obj' if flavour == 'fork' else 'base-obj'
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
