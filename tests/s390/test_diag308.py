# SPDX-License-Identifier: GPL-2.0-or-later
"""diag 308 subcodes 8-10 raise a specification exception without
protected virtualization (tests/tcg/s390x/diag308-pv.S, added by the queue,
run under TCG as QEMU's own check-tcg would), with and without the emulated
Ultravisor, which does not offer the unpack facility."""

import os
import sys

import xv

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from s390_common import EMULATED_UV, build_bare_metal, run  # noqa: E402

SRC = os.path.join(xv.BUILD, 'src', 'tests', 'tcg', 's390x')


def build(workdir):
    return build_bare_metal(os.path.join(SRC, 'diag308-pv.S'), workdir)


def check(kernel, extra):
    rc, out = run(extra + ['-action', 'panic=exit-failure', '-kernel', kernel],
                  timeout=60)
    # the success PSW ends QEMU with 0; the failure PSW is a guest panic
    assert rc == 0, 'exit %d:\n%s' % (rc, out)


def test_diag308_pv_subcodes(work):
    check(build(work), ['-M', 's390-ccw-virtio'])


def test_diag308_pv_subcodes_emulated_uv(work):
    check(build(work), EMULATED_UV)
