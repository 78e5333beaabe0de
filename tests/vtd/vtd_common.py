# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for the VT-d suite: QEMU's VT-d qtests from build/obj (xv.qtest)."""

from xv.qtest import run_qtest


def assert_qtest(name, expect_min):
    ok, not_ok, skipped, out = run_qtest(name)
    assert not not_ok and not skipped, '%s: failed %s, skipped %s\n%s' % (
        name, not_ok, skipped, out[-4000:])
    assert len(ok) >= expect_min, '%s: only %d tests passed\n%s' % (
        name, len(ok), out[-4000:])
    return ok
