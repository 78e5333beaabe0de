# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for the VT-d suite: run QEMU's qtest binaries from build/obj."""

import os
import re
import subprocess

from xv import BUILD, qemu_binary


def run_qtest(name, binary=None, timeout=600):
    """Run build/obj/tests/qtest/<name> (TAP) against binary (default: the
    fork); return (ok, not_ok, skipped, output).  Missing tests are an error."""
    exe = os.path.join(BUILD, 'obj', 'tests', 'qtest', name)
    if not os.access(exe, os.X_OK):
        subprocess.run(['ninja', '-C', os.path.join(BUILD, 'obj'), '-j2',
                        'tests/qtest/' + name], check=True,
                       stdout=subprocess.DEVNULL)
    env = dict(os.environ, QTEST_QEMU_BINARY=binary or qemu_binary())
    p = subprocess.run([exe, '--tap', '-k'], env=env, capture_output=True,
                       text=True, timeout=timeout)
    out = p.stdout + p.stderr
    ok = [m for m in re.findall(r'^ok \d+ (\S+)(.*)$', out, re.M)
          if '# SKIP' not in m[1]]
    skipped = re.findall(r'^ok \d+ (\S+).*# SKIP', out, re.M)
    not_ok = re.findall(r'^not ok \d+ (\S+)', out, re.M)
    if p.returncode and not not_ok:
        not_ok = ['exit status %d' % p.returncode]
    return [m[0] for m in ok], not_ok, skipped, out


def assert_qtest(name, expect_min):
    ok, not_ok, skipped, out = run_qtest(name)
    assert not not_ok and not skipped, '%s: failed %s, skipped %s\n%s' % (
        name, not_ok, skipped, out[-4000:])
    assert len(ok) >= expect_min, '%s: only %d tests passed\n%s' % (
        name, len(ok), out[-4000:])
    return ok
