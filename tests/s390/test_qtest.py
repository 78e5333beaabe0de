# SPDX-License-Identifier: GPL-2.0-or-later
"""The qtests the queue adds for s390x (tests/qtest/s390x-cgs-test.c):
x-query-s390x-flic, x-query-s390x-pv and their HMP commands, their error
paths, the confidential-guest virtio checks at hot-plug, and object-del
of the machine's confidential-guest-support object."""

import os
import sys

import xv
from xv.qtest import run_qtest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from s390_common import qemu  # noqa: E402

QTEST = 's390x-cgs-test'
EXPECTED = 7


def test_s390x_cgs_qtest():
    # every case runs under TCG, so none may skip here (xv.qtest counts a
    # TAP '# SKIP' as a skip, never as a pass)
    ok, bad, skip, out = run_qtest(QTEST, binary=qemu(), timeout=300,
                                   env={'QTEST_QEMU_STORAGE_DAEMON_BINARY': '/bin/false'})
    assert not bad and not skip and len(ok) == EXPECTED, (
        'passed %s, failed %s, skipped %s:\n%s' % (ok, bad, skip, out))


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
