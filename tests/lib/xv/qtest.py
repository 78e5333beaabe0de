# SPDX-License-Identifier: GPL-2.0-or-later
"""Run one of QEMU's qtest binaries (TAP) from the build: the one TAP runner."""

import os
import re
import subprocess

from . import BUILD, qemu_binary

# seconds ninja may take to bring a qtest binary up to date (a full rebuild
# of the tree at -j2 on a slow machine fits)
NINJA_TIMEOUT = float(os.environ.get('XV_NINJA_TIMEOUT', '1800'))


def run_qtest(name, binary=None, timeout=600, env=None):
    """Build (ninja: only when out of date) and run build/obj/tests/qtest/<name>
    with --tap -k against binary (default: the x86_64 fork).  Return
    (passed, failed, skipped, output), lists of case names.  The one skip
    rule: a TAP 'ok N name # SKIP why' is a skip, never a pass; a non-zero
    exit status with no failed case is a failure ('exit status N')."""
    obj = os.path.join(BUILD, 'obj')
    cmd = ['ninja', '-C', obj, '-j2', 'tests/qtest/' + name]
    try:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=NINJA_TIMEOUT)
    except subprocess.TimeoutExpired:
        # subprocess.run killed ninja; the compilers it started are the
        # runner's to reap
        raise AssertionError('building tests/qtest/%s did not finish within %ss (%s); '
                             'XV_NINJA_TIMEOUT sets the limit'
                             % (name, NINJA_TIMEOUT, ' '.join(cmd))) from None
    run_env = dict(os.environ, QTEST_QEMU_BINARY=binary or qemu_binary())
    run_env.update(env or {})
    try:
        p = subprocess.run([os.path.join(obj, 'tests', 'qtest', name), '--tap', '-k'],
                           env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError('tests/qtest/%s did not finish within %ss; it printed:\n%s'
                             % (name, timeout, (e.output or b'').decode(errors='replace')[-3000:])) from None
    out = p.stdout.decode(errors='replace')
    passed, skipped = [], []
    for case, rest in re.findall(r'^ok \d+ (\S+)(.*)$', out, re.M):
        (skipped if re.match(r'\s*#\s*SKIP', rest, re.I) else passed).append(case)
    failed = re.findall(r'^not ok \d+ (\S+)', out, re.M)
    if p.returncode and not failed:
        failed = ['exit status %d' % p.returncode]
    return passed, failed, skipped, out
