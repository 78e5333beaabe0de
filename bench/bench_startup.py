#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Start-up time against guest RAM size, eager and lazy memory, fork vs base.

For each RAM size, memory mode and accelerator, measure
  qmp:  exec to a paused (-S) x86_64 q35 guest whose QMP answers
        query-status (TCG and KVM);
  init: exec to the x86_64 test guest's init (TCG only: Linux does not boot
        on this project's nested KVM);
on the fork (build/obj) and the base (build/base-obj) in one run, fork and
base alternating, and print the medians as a table with each size's ratio
to 1 GiB and fork/base.

Memory modes (what they do: docs/system/i386/amd-memory-encryption.rst,
"Start-up time and memory pinning"):
  default      -m SIZE                          lazy
  reserve=off  memory-backend-ram,reserve=off   lazy, no commit charge:
                                                the only way past RAM+swap
  on-fault     -overcommit mem-lock=on-fault    lazy, locked when touched
  prealloc     memory-backend-ram,prealloc=on   eager: every page touched
  mem-lock     -overcommit mem-lock=on          eager: everything locked

Eager modes allocate all of the guest's RAM: a size is measured only while
the host keeps XV_BENCH_FREE_GIB (default 8) GiB available besides it (other
people use this machine); lazy modes go up to XV_BENCH_LAZY_MAX_GIB
(default 64, reserve=off only beyond what the host could commit).
TCG runs use -accel tcg,tb-size=64 so that mem-lock=on does not also lock
a 1 GiB translation buffer.

Environment: XV_BENCH_RUNS (3) runs per cell for qmp, XV_BENCH_INIT_RUNS (1)
for init, XV_BENCH_SIZES (1,2,4,8,16 plus lazy 32,64), XV_BENCH_MODES,
XV_BENCH_METRICS (qmp,init), XV_BENCH_ACCELS (tcg,kvm).
"""

import os
import resource
import shutil
import statistics
import sys
import tempfile
import time

from common import binaries

from xv import kvm_usable
from xv.guest import linux_args
from xv.vm import VM

GIB = 1 << 30
FREE_GIB = float(os.environ.get('XV_BENCH_FREE_GIB', '8'))
LAZY_MAX = int(os.environ.get('XV_BENCH_LAZY_MAX_GIB', '64'))
RUNS = int(os.environ.get('XV_BENCH_RUNS', '3'))
INIT_RUNS = int(os.environ.get('XV_BENCH_INIT_RUNS', '1'))
SIZES = [int(s) for s in os.environ.get('XV_BENCH_SIZES', '1,2,4,8,16,32,64').split(',')]
MODES = os.environ.get('XV_BENCH_MODES',
                       'default,reserve=off,on-fault,prealloc,mem-lock').split(',')
METRICS = os.environ.get('XV_BENCH_METRICS', 'qmp,init').split(',')
ACCELS = os.environ.get('XV_BENCH_ACCELS', 'tcg,kvm').split(',')
EAGER = ('prealloc', 'mem-lock')


def mem_available_gib():
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('MemAvailable:'):
                return int(line.split()[1]) / (1 << 20)
    return 0.0


def commit_limit_gib():
    """The largest -m that heuristic overcommit lets one mapping have."""
    with open('/proc/meminfo') as f:
        info = {l.split(':')[0]: int(l.split()[1]) for l in f}
    return (info['MemTotal'] + info.get('SwapTotal', 0)) / (1 << 20)


def allowed(mode, gib):
    """Whether (mode, size) may run now; a reason string if not."""
    if mode in EAGER:
        if mem_available_gib() - gib < FREE_GIB:
            return 'eager: would leave < %g GiB free' % FREE_GIB
    elif gib > LAZY_MAX:
        return 'over XV_BENCH_LAZY_MAX_GIB'
    elif mode != 'reserve=off' and gib >= commit_limit_gib():
        return 'over RAM+swap: needs reserve=off'
    return None


def memory_args(mode, gib):
    size = '%dG' % gib
    if mode == 'default':
        return ['-m', size]
    if mode == 'reserve=off':
        return ['-m', size, '-object',
                'memory-backend-ram,id=xvram,size=%s,reserve=off' % size,
                '-M', 'memory-backend=xvram']
    if mode == 'prealloc':
        return ['-m', size, '-object',
                'memory-backend-ram,id=xvram,size=%s,prealloc=on' % size,
                '-M', 'memory-backend=xvram']
    if mode == 'on-fault':
        return ['-m', size, '-overcommit', 'mem-lock=on-fault']
    if mode == 'mem-lock':
        return ['-m', size, '-overcommit', 'mem-lock=on']
    raise ValueError(mode)


def accel_args(accel):
    return ['-accel', 'tcg,tb-size=64' if accel == 'tcg' else 'kvm']


def unlimited_memlock():
    # mem-lock=on locks all of QEMU; root may raise its own limit
    try:
        resource.setrlimit(resource.RLIMIT_MEMLOCK,
                           (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        pass


def time_qmp(binary, accel, mode, gib):
    """Seconds from exec to a paused guest answering query-status."""
    vm = VM(['-S', '-M', 'q35'] + accel_args(accel) + memory_args(mode, gib),
            binary=binary, name='bench-startup-qmp', console=False, accel=None,
            launch_timeout=120, quit_timeout=120)
    old = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    unlimited_memlock()       # inherited by the QEMU child
    try:
        t0 = time.monotonic()
        with vm:
            status = vm.cmd('query-status')['status']
            elapsed = time.monotonic() - t0
            assert status == 'prelaunch', status
        return elapsed
    finally:
        resource.setrlimit(resource.RLIMIT_MEMLOCK, old)


def time_init(binary, accel, mode, gib):
    """Seconds from exec to the x86_64 test guest's init (TCG)."""
    work = tempfile.mkdtemp(prefix='xv-bench-startup-')
    try:
        args = linux_args(work, 'exit 0', arch='x86_64')
        i = args.index('-m')
        del args[i:i + 2]
        args += memory_args(mode, gib)
        vm = VM(args, binary=binary, name='bench-startup', accel=None)
        vm.args = accel_args(accel) + vm.args
        old = resource.getrlimit(resource.RLIMIT_MEMLOCK)
        unlimited_memlock()       # inherited by the QEMU child
        try:
            t0 = time.monotonic()
            with vm:
                vm.wait_console(r'^XV-INIT: ready', timeout=600)
                return time.monotonic() - t0
        finally:
            resource.setrlimit(resource.RLIMIT_MEMLOCK, old)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(fn, runs, b, accel, mode, gib):
    samples = {'fork': [], 'base': []}
    for i in range(runs):
        for f in (('fork', 'base') if i % 2 == 0 else ('base', 'fork')):
            why = allowed(mode, gib)
            if why:
                return why
            samples[f].append(fn(b[f], accel, mode, gib))
    return {f: statistics.median(v) for f, v in samples.items()}


def main():
    b = binaries('x86_64')
    if 'kvm' in ACCELS and not kvm_usable():
        sys.exit('bench_startup: /dev/kvm is not usable: set XV_BENCH_ACCELS=tcg')
    print('start-up time (s), median of %d (qmp) / %d (init) runs; host %.1f GiB available; '
          'eager modes keep %g GiB free' % (RUNS, INIT_RUNS, mem_available_gib(), FREE_GIB))
    rows = []
    for metric in METRICS:
        for accel in ACCELS:
            if metric == 'init' and accel != 'tcg':
                continue
            fn, runs = (time_qmp, RUNS) if metric == 'qmp' else (time_init, INIT_RUNS)
            for mode in MODES:
                cells = {}
                for gib in SIZES:
                    cells[gib] = measure(fn, runs, b, accel, mode, gib)
                rows.append((metric, accel, mode, cells))
                print_row(metric, accel, mode, cells)
    print()
    print_table(rows)


def fmt_cell(c, one):
    if isinstance(c, str):
        return '-'
    r = ' (%.2fx)' % (c['fork'] / one['fork']) if isinstance(one, dict) else ''
    return '%.3f%s f/b %.2f' % (c['fork'], r, c['fork'] / c['base'])


def print_row(metric, accel, mode, cells):
    one = cells.get(SIZES[0])
    print('%-5s %-4s %-12s ' % (metric, accel, mode) +
          ' | '.join('%dG %s' % (g, fmt_cell(c, one)) for g, c in cells.items()), flush=True)


def print_table(rows):
    """Markdown: fork's time, its ratio to the smallest size, fork/base."""
    print('| metric | accel | mode | ' + ' | '.join('%d GiB' % g for g in SIZES) + ' |')
    print('|---|---|---|' + '---|' * len(SIZES))
    for metric, accel, mode, cells in rows:
        one = cells.get(SIZES[0])
        out = []
        for g in SIZES:
            c = cells[g]
            if isinstance(c, str):
                out.append('-')
            else:
                out.append('%.3f (%.2fx; f/b %.2f)' % (c['fork'], c['fork'] / one['fork']
                                                       if isinstance(one, dict) else 0,
                                                       c['fork'] / c['base']))
        print('| %s | %s | %s | %s |' % (metric, accel, mode, ' | '.join(out)))
    print('\ncell: fork median seconds (ratio to %d GiB; fork/base); "-": not run '
          '(eager mode over the free-memory cap, or over RAM+swap without reserve=off)'
          % SIZES[0])


if __name__ == '__main__':
    main()
