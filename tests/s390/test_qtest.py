# SPDX-License-Identifier: GPL-2.0-or-later
"""The qtests the queue adds for s390x (tests/qtest/s390x-cgs-test.c):
x-query-s390x-flic, x-query-s390x-pv and their HMP commands, their error
paths, the confidential-guest virtio checks at hot-plug, and object-del
of the machine's confidential-guest-support object."""

import os
import re
import subprocess
import sys

import xv

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from s390common import qemu  # noqa: E402

QTEST = 'tests/qtest/s390x-cgs-test'
EXPECTED = 7


def test_s390x_cgs_qtest():
    obj = os.path.join(xv.BUILD, 'obj')
    subprocess.run(['ninja', '-C', obj, '-j2', QTEST], check=True,
                   stdout=subprocess.DEVNULL)
    env = dict(os.environ, QTEST_QEMU_BINARY=qemu(),
               QTEST_QEMU_STORAGE_DAEMON_BINARY='/bin/false')
    p = subprocess.run([os.path.join(obj, QTEST), '--tap', '-k'], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=300)
    out = p.stdout.decode(errors='replace')
    # TAP marks a skipped case 'ok N name # SKIP why': not a pass.  Every
    # case runs under TCG, so none may skip here.
    skip = re.findall(r'^ok \d+ (\S+) # SKIP', out, re.M)
    ok = [n for n in re.findall(r'^ok \d+ (\S+)', out, re.M) if n not in skip]
    bad = re.findall(r'^not ok \d+ (\S+)', out, re.M)
    assert p.returncode == 0 and not bad and not skip and len(ok) == EXPECTED, (
        'exit %d, passed %s, failed %s, skipped %s:\n%s' % (p.returncode, ok, bad, skip, out))


def test_queries_on_other_targets():
    """Other targets have the commands (QAPI is target-independent) and say
    that they do not apply."""
    from xv.vm import VM
    with VM(['-M', 'none', '-S'], binary=xv.qemu_binary('x86_64'),
            console=False, name='x86') as vm:
        assert 'not supported on this target' in vm.cmd_error(
            'x-query-s390x-flic')
        assert 'not supported on this target' in vm.cmd_error(
            'x-query-s390x-pv')
