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
    """Path of the qemu-system binary built by 'make' (or 'make bench' for base)."""
    env = os.environ.get('XV_QEMU_' + target.upper())
    if env and flavour == 'fork':
        return env
    obj = 'obj' if flavour == 'fork' else 'base-obj'
    return os.path.join(BUILD, obj, 'qemu-system-' + target)


class Skip(Exception):
    """Raised by a test that cannot run here; reported as skipped, never as passed."""
