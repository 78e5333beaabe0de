# SPDX-License-Identifier: GPL-2.0-or-later
"""x-query-s390x-flic's halted-wakeups counts the waiting vCPUs that an
interruption wakes, honouring the ISC subclass mask in CR6: a bare-metal
TCG guest (flic-wakeup.S) has CPU 1 wait with I/O enabled in its PSW but
only ISC 7 in CR6, and CPU 0 raises an ISC 3 then an ISC 7 I/O
interruption.  Only the second wakes CPU 1."""

import os
import re
import shutil
import subprocess
import sys
import time

import xv
from xv.vm import VM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from s390_common import build_bare_metal, flic, qemu  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def build(workdir):
    out = build_bare_metal(os.path.join(HERE, 'flic-wakeup.S'), workdir)
    if not shutil.which('s390x-linux-gnu-nm'):
        raise AssertionError('s390x-linux-gnu-nm is missing: run "sudo make deps" '
                             '(binutils-s390x-linux-gnu)')
    nm = subprocess.run(['s390x-linux-gnu-nm', out], check=True,
                        capture_output=True, text=True).stdout
    done = int(re.search(r'^([0-9a-f]+) T done$', nm, re.M).group(1), 16)
    return out, done


def test_halted_wakeups_respect_cr6(work):
    kernel, done = build(work)
    args = ['-M', 's390-ccw-virtio', '-smp', '2', '-kernel', kernel,
            '-action', 'panic=pause',
            '-device', 'virtio-rng-ccw,devno=fe.0.0000',
            '-device', 'virtio-rng-ccw,devno=fe.0.0001']
    with VM(args, binary=qemu(), name='s390-wakeup', console=False) as vm:
        deadline = time.monotonic() + 60
        while True:
            status = vm.cmd('query-status')['status']
            assert status != 'guest-panicked', 'the guest failed (disabled wait)'
            if re.search(r':\s*0x01\b', vm.hmp('xp /1bx 0x%x' % done)):
                break
            assert time.monotonic() < deadline, 'the guest did not finish'
            time.sleep(0.2)
        f = flic(vm)
    assert f['implementation'] == 's390-flic-qemu', f
    # CPU 1 woke once, for ISC 7; the ISC 3 interruption it masks in CR6
    # (still pending) must not count
    assert f['halted-wakeups'] == 1, f
    assert f['adapter-halted-wakeups'] == 0, f
