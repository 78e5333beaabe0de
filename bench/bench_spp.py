#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Sub-page write protection (-object subpage-wp): cost of a trapped write
on TCG and KVM, exits per allowed write, time to protect and unprotect
1000 scattered pages in one batch, and a guest loop with no protection,
fork vs base."""

import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

from common import compare
from xv import qemu_binary
from xv.vm import VM

HERE = os.path.dirname(os.path.abspath(__file__))
PAGE = 0x10000
DONE = 0x21000
RUNS = int(os.environ.get('XV_BENCH_RUNS', '3'))


def build_loop(work, loops):
    obj = os.path.join(work, 'loop.o')
    out = os.path.join(work, 'loop-%d.bin' % loops)
    subprocess.run(['gcc', '-m32', '-c', '-o', obj, os.path.join(HERE, 'bench_spp_loop.S')],
                   check=True)
    subprocess.run(['objcopy', '-O', 'binary', '-j', '.text', obj, out], check=True)
    with open(out, 'r+b') as f:
        f.seek(0x200)
        f.write(struct.pack('<I', loops))
    return out


def read_u32(vm, gpa):
    out = vm.hmp('xp /1wx 0x%x' % gpa)
    return int(out.split(':')[1].split()[0], 16)


def run_loop(binary, accel, loops, protect, work, extra=()):
    """Seconds from 'cont' to the guest's done marker (polled every 2 ms)."""
    args = ['-M', 'pc', '-m', '16M', '-bios', build_loop(work, loops), '-S']
    if protect is not None:
        args += ['-object', 'subpage-wp,id=swp0,rate-limit=0']
    with VM(args + list(extra), binary=binary, accel=accel, console=False,
            name='bench-spp') as vm:
        if protect is not None:
            vm.cmd('x-subpage-wp-set', pages=[{'gpa': PAGE, 'mask': protect}])
        t0 = time.monotonic()
        vm.cmd('cont')
        while read_u32(vm, DONE) != 0x600dd00d:
            time.sleep(0.002)
            if time.monotonic() - t0 > 300:
                raise RuntimeError('benchmark guest did not finish')
        dt = time.monotonic() - t0
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


def batch_time(binary, work, npages=1000):
    """ms for x-subpage-wp-set of npages scattered pages, then for
    unprotecting them, with the guest running (TCG)."""
    args = ['-M', 'pc', '-m', '64M', '-bios', build_loop(work, 0),
            '-object', 'subpage-wp,id=swp0']
    pages = [0x100000 + i * 0x2000 for i in range(npages)]
    out = {'protect': [], 'unprotect': []}
    with VM(args, binary=binary, console=False, name='bench-spp-batch') as vm:
        for _ in range(RUNS):
            for what, mask in (('protect', 0x0000ffff), ('unprotect', 0xffffffff)):
                t0 = time.monotonic()
                vm.cmd('x-subpage-wp-set',
                       pages=[{'gpa': g, 'mask': mask} for g in pages])
                out[what].append((time.monotonic() - t0) * 1e3)
            assert vm.cmd('x-query-subpage-wp')['runs'] == 0
    return {k: statistics.median(v) for k, v in out.items()}


def main():
    fork = qemu_binary()
    work = tempfile.mkdtemp(prefix='xv-bench-spp-')
    try:
        loops_tcg = int(os.environ.get('XV_BENCH_SPP_LOOPS_TCG', '200000'))
        loops_kvm = int(os.environ.get('XV_BENCH_SPP_LOOPS_KVM', '100000'))
        accels = [('tcg', loops_tcg)]
        if os.access('/dev/kvm', os.R_OK | os.W_OK):
            accels.append(('kvm', loops_kvm))
        for accel, loops in accels:
            plain, trapped, exits = per_write(fork, accel, loops, work)
            print('spp: %-3s us/write unprotected %8.3f  allowed sub-page of a '
                  'protected page %8.3f  (x%.0f)  exits/allowed write %.2f '
                  '(hardware SPP: 0)' % (accel, plain, trapped,
                                         trapped / plain if plain > 0 else 0,
                                         exits), flush=True)
        bt = batch_time(fork, work)
        print('spp: 1000 scattered pages in one batch (TCG, guest running): '
              'protect %.1f ms, unprotect %.1f ms (goal < 50 ms)'
              % (bt['protect'], bt['unprotect']), flush=True)
        loops = int(os.environ.get('XV_BENCH_SPP_LOOPS_PLAIN', '3000000'))
        compare('spp: guest store loop, no protection, TCG', 's',
                lambda b: run_loop(b, 'tcg', loops, None, work)[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
