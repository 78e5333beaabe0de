#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Sub-page write protection (-object subpage-wp): cost of a trapped write
on TCG and KVM, exits per allowed write, time to protect and unprotect
1000 scattered pages in one batch and the longest stall a running vCPU
sees meanwhile (TCG and KVM), and a guest loop with no protection, fork
(without the object, and with it but nothing protected) vs base."""

import os
import shutil
import statistics
import struct
import sys
import tempfile
import time

from common import compare
from xv import bios_image, kvm_usable, qemu_binary
from xv.vm import VM

HERE = os.path.dirname(os.path.abspath(__file__))
PAGE = 0x10000
DONE = 0x21000
RUNS = int(os.environ.get('XV_BENCH_RUNS', '3'))
PLAIN_RUNS = int(os.environ.get('XV_BENCH_SPP_PLAIN_RUNS', '5'))


def build_image(work, name, out):
    img = bios_image(os.path.join(HERE, name + '.S'), work)
    os.replace(img, out)
    return out


def build_loop(work, loops):
    out = build_image(work, 'bench_spp_loop', os.path.join(work, 'loop-%d.bin' % loops))
    with open(out, 'r+b') as f:
        f.seek(0x200)
        f.write(struct.pack('<I', loops))
    return out


def read_u32(vm, gpa):
    out = vm.hmp('xp /1wx 0x%x' % gpa)
    return int(out.split(':')[1].split()[0], 16)


def cpu_seconds(pid, threads=None):
    """CPU time of a process (the sum of its threads' run time from
    schedstat, in ns), or of its threads whose names are in threads.  The
    machine is shared: CPU time is far less disturbed by other load than
    wall time."""
    total = 0
    for t in os.listdir('/proc/%d/task' % pid):
        try:
            with open('/proc/%d/task/%s/comm' % (pid, t)) as f:
                comm = f.read().strip()
            with open('/proc/%d/task/%s/schedstat' % (pid, t)) as f:
                ns = int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue
        if threads is None or comm in threads:
            total += ns
    return total / 1e9


def run_loop(binary, accel, loops, protect, work, extra=(), cpu=False):
    """Seconds from 'cont' to the guest's done marker (polled every 2 ms);
    with cpu=True, CPU seconds of the QEMU process meanwhile."""
    args = ['-M', 'pc', '-m', '16M', '-bios', build_loop(work, loops), '-S']
    if protect is not None:
        args += ['-object', 'subpage-wp,id=swp0,rate-limit=0']
    with VM(args + list(extra), binary=binary, accel=accel, console=False,
            name='bench-spp') as vm:
        if protect is not None:
            vm.cmd('x-subpage-wp-set', pages=[{'gpa': PAGE, 'mask': protect}])
        t0, c0 = time.monotonic(), cpu_seconds(vm.proc.pid)
        vm.cmd('cont')
        while read_u32(vm, DONE) != 0x600dd00d:
            time.sleep(0.002)
            if time.monotonic() - t0 > 300:
                raise RuntimeError('benchmark guest did not finish')
        dt = time.monotonic() - t0
        if cpu:
            dt = cpu_seconds(vm.proc.pid) - c0
        traps = vm.cmd('x-query-subpage-wp')['write-traps'] if protect is not None else 0
        return dt, traps


def per_write(binary, accel, loops, work):
    """(us per write unprotected, us per trapped allowed write, exits/write)"""
    res = {'none': [], 'prot': [], 'zero': []}
    traps = 0
    for _ in range(RUNS):
        res['zero'].append(run_loop(binary, accel, 0, None, work)[0])
        res['none'].append(run_loop(binary, accel, loops, None, work)[0])
        dt, traps = run_loop(binary, accel, loops, 0x0000ffff, work)
        res['prot'].append(dt)
    med = {k: statistics.median(v) for k, v in res.items()}
    return ((med['none'] - med['zero']) / loops * 1e6,
            (med['prot'] - med['zero']) / loops * 1e6,
            traps / loops)


STALL = 0x20000              # bench_spp_stall.S results
FULL = 0xffffffff


def read_mem(vm, work, gpa, size):
    path = os.path.join(work, 'pmem.bin')
    vm.cmd('pmemsave', val=gpa, size=size, filename=path)
    with open(path, 'rb') as f:
        return f.read()


def guest_tsc(vm, work):
    return struct.unpack('<Q', read_mem(vm, work, STALL, 8))[0]


def longest_gap(vm, work, first, last):
    """Longest gap (ticks) the stall probe saw in TSC windows first..last."""
    ring = read_mem(vm, work, STALL + 0x1000, 8192)
    gap = 0
    for w in range(first, last + 1):
        g, tag = struct.unpack_from('<II', ring, 8 * (w & 1023))
        if tag == w & 0xffffffff:
            gap = max(gap, g)
    return gap


def batch_and_stall(binary, accel, work, npages=1000):
    """With the stall probe running: ms for x-subpage-wp-set of npages
    scattered pages and for unprotecting them, and the longest gap (us)
    between two TSC reads of the vCPU during each, and during as long an
    idle period."""
    args = ['-M', 'pc', '-m', '64M', '-object', 'subpage-wp,id=swp0',
            '-bios', build_image(work, 'bench_spp_stall', os.path.join(work, 'stall.bin'))]
    pages = [0x100000 + i * 0x2000 for i in range(npages)]
    out = {k: [] for k in ('protect', 'unprotect', 'cpu-protect', 'cpu-unprotect',
                           'stall-idle', 'stall-protect', 'stall-unprotect')}
    busy = ('qemu-system-x86', 'IO mon_iothread')
    with VM(args, binary=binary, accel=accel, console=False, name='bench-spp-stall') as vm:
        time.sleep(0.5)
        t0, c0 = time.monotonic(), guest_tsc(vm, work)
        time.sleep(1.0)
        t1, c1 = time.monotonic(), guest_tsc(vm, work)
        hz = (c1 - c0) / (t1 - t0)
        for _ in range(RUNS):
            for what, mask in (('idle', None), ('protect', 0x0000ffff),
                               ('unprotect', FULL)):
                w0 = guest_tsc(vm, work) >> 24
                t, c = time.monotonic(), cpu_seconds(vm.proc.pid, busy)
                if mask is None:
                    time.sleep(max(out['protect'] or [50]) / 1e3)
                else:
                    vm.cmd('x-subpage-wp-set',
                           pages=[{'gpa': g, 'mask': mask} for g in pages])
                    out[what].append((time.monotonic() - t) * 1e3)
                    out['cpu-' + what].append(
                        (cpu_seconds(vm.proc.pid, busy) - c) * 1e3)
                w1 = guest_tsc(vm, work) >> 24
                time.sleep(0.05)
                out['stall-' + what].append(longest_gap(vm, work, w0, w1) / hz * 1e6)
            assert vm.cmd('x-query-subpage-wp')['runs'] == 0
    return {k: statistics.median(v) for k, v in out.items()}


def loop_with_object(b, fork, loops, accel, work):
    """The store loop on the fork with a subpage-wp object that protects
    nothing; on the base, without one (it has none)."""
    extra = ['-object', 'subpage-wp,id=swp0'] if b == fork else []
    return run_loop(b, accel, loops, None, work, extra, cpu=True)[0]


def main():
    fork = qemu_binary()
    work = tempfile.mkdtemp(prefix='xv-bench-spp-')
    try:
        loops_tcg = int(os.environ.get('XV_BENCH_SPP_LOOPS_TCG', '200000'))
        loops_kvm = int(os.environ.get('XV_BENCH_SPP_LOOPS_KVM', '100000'))
        accels = [('tcg', loops_tcg)]
        if kvm_usable():
            accels.append(('kvm', loops_kvm))
        for accel, loops in accels:
            plain, trapped, exits = per_write(fork, accel, loops, work)
            print('spp: %-3s us/write unprotected %8.3f  allowed sub-page of a '
                  'protected page %8.3f  (x%.0f)  exits/allowed write %.2f '
                  '(hardware SPP: 0)' % (accel, plain, trapped,
                                         trapped / plain if plain > 0 else 0,
                                         exits), flush=True)
        for accel, _ in accels:
            r = batch_and_stall(fork, accel, work)
            print('spp: %-3s 1000 scattered pages in one batch, guest running: protect '
                  '%.1f ms (main+monitor threads CPU %.1f ms), unprotect %.1f ms (CPU '
                  '%.1f ms) (goal < 50 ms); longest vCPU stall: protect %.1f ms, '
                  'unprotect %.1f ms, idle %.1f ms'
                  % (accel, r['protect'], r['cpu-protect'], r['unprotect'],
                     r['cpu-unprotect'], r['stall-protect'] / 1e3,
                     r['stall-unprotect'] / 1e3, r['stall-idle'] / 1e3), flush=True)
        for accel, env, default in (('tcg', 'XV_BENCH_SPP_LOOPS_PLAIN', '400000000'),
                                    ('kvm', 'XV_BENCH_SPP_LOOPS_PLAIN_KVM', '200000')):
            if accel not in dict(accels):
                continue
            loops = int(os.environ.get(env, default))
            compare('spp: %s store loop, no subpage-wp object' % accel, 'CPU s',
                    lambda b: run_loop(b, accel, loops, None, work, cpu=True)[0],
                    runs=PLAIN_RUNS)
            compare('spp: %s store loop, object, nothing protected' % accel, 'CPU s',
                    lambda b: loop_with_object(b, fork, loops, accel, work),
                    runs=PLAIN_RUNS)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
