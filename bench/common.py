# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for fork-vs-base benchmarks: interleaved runs, medians, ratios."""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'lib'))
sys.dont_write_bytecode = True

from xv import qemu_binary  # noqa: E402

RUNS = int(os.environ.get('XV_BENCH_RUNS', '3'))


def binaries(target='x86_64'):
    b = {f: qemu_binary(target, f) for f in ('fork', 'base')}
    for f, path in b.items():
        if not os.access(path, os.X_OK):
            sys.exit('bench: %s binary %s missing: run "make bench"' % (f, path))
    return b


def compare(title, unit, measure, target='x86_64', runs=RUNS):
    """Run measure(binary) runs times per flavour, alternating fork and base
    so drift of the machine hits both alike; print medians and fork/base."""
    b = binaries(target)
    samples = {'fork': [], 'base': []}
    for i in range(runs):
        for f in (('fork', 'base') if i % 2 == 0 else ('base', 'fork')):
            samples[f].append(measure(b[f]))
    med = {f: statistics.median(v) for f, v in samples.items()}
    print('%-44s fork %9.3f %s  base %9.3f %s  fork/base %.3f  (median of %d; fork %s; base %s)'
          % (title, med['fork'], unit, med['base'], unit, med['fork'] / med['base'], runs,
             ' '.join('%.3f' % s for s in samples['fork']),
             ' '.join('%.3f' % s for s in samples['base'])), flush=True)
    return med


def timed(fn):
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0
