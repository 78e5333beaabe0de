# SPDX-License-Identifier: GPL-2.0-or-later
"""The s390-ccw firmware the build makes from pc-bios/s390-ccw (the +ds
tarball has no s390-ccw.img) is found and runs: without -kernel, the
s390-ccw-virtio machine loads it, and it looks for a boot device."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from s390_common import run  # noqa: E402


def test_s390_ccw_firmware_runs():
    rc, out = run(['-M', 's390-ccw-virtio', '-serial', 'stdio',
                   '-action', 'panic=exit-failure'], timeout=60)
    # the firmware's own messages, then it halts (a disabled wait)
    assert 'could not find stage1 bootloader' not in out, out
    assert 'LOADPARM=[' in out and 'No suitable device for IPL' in out, (rc, out)
    # the firmware halts in a disabled wait: a guest panic, which
    # -action panic=exit-failure turns into exit status 1 (a crash is not)
    assert rc == 1, 'exit status %d, not 1 (panic=exit-failure):\n%s' % (rc, out)
