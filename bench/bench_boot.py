#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""TCG boot of the demo guest (q35, scalable-mode VT-d, virtio disk behind it)
from exec to the guest's init, fork vs base."""

import shutil
import tempfile
import time

from common import compare
from xv.vm import VM

import demo_path  # noqa: F401  (puts tests/ on sys.path)
import demo


def boot_to_init(binary):
    work = tempfile.mkdtemp(prefix='xv-bench-')
    try:
        args = demo.demo_args(work)
        t0 = time.monotonic()
        with VM(args, binary=binary, name='bench-boot') as vm:
            vm.wait_console(r'^XV-INIT: ready', timeout=300)
            return time.monotonic() - t0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    compare('boot: demo guest, TCG, exec to init', 's', boot_to_init)
