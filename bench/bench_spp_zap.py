#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Sub-page write protection, emulated backend under KVM: what every
change of protections costs a guest that touches 256 MiB over and over
(bench_spp_zap.S), with KVM_X86_QUIRK_SLOT_ZAP_ALL left on (every memory
slot deletion drops the mappings of the whole guest: kvm-slot-zap-all=on)
and disabled (what the subpage-wp object does by default where the kernel
lets it), fork only, in one run.  Both runs preload tests/spp/sppshim.c,
whose log tells whether QEMU disabled the quirk.  Per run: ms per change
(x-subpage-wp-set of one page, on then off, N times) and the guest's
page-touch rate meanwhile, relative to its rate with nothing changing,
and the page faults KVM fixed for it (query-stats pf_fixed) per change.
XV_BENCH_ZAP_CHANGES (200), XV_BENCH_ZAP_GAP_MS (0: back to back) and
XV_BENCH_ZAP_SMALL_PAGES (1: RAM from /dev/shm in 4 KiB pages, 0: THP)
set the load."""

import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'lib'))
sys.dont_write_bytecode = True

from xv import bios_image, kvm_usable, qemu_binary  # noqa: E402
from xv.vm import VM  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM = os.path.join(HERE, '..', 'tests', 'spp', 'sppshim.c')
COUNT = 0x20000
PAGE = 0x10000
CHANGES = int(os.environ.get('XV_BENCH_ZAP_CHANGES', '200'))
SMALL_PAGES = os.environ.get('XV_BENCH_ZAP_SMALL_PAGES', '1') == '1'
GAP = float(os.environ.get('XV_BENCH_ZAP_GAP_MS', '0')) / 1000
RUNS = int(os.environ.get('XV_BENCH_RUNS', '3'))
SLOT_ZAP_ALL = 1 << 7


def build(work):
    out = bios_image(os.path.join(HERE, 'bench_spp_zap.S'), work, 'zap')
    so = os.path.join(work, 'sppshim.so')
    subprocess.run(['cc', '-shared', '-fPIC', '-O2', '-o', so, SHIM, '-ldl'], check=True)
    return out, so


def count(vm):
    out = vm.hmp('xp /1wx 0x%x' % COUNT)
    return int(out.split(':')[1].split()[0], 16)


def pf_fixed(vm):
    """KVM's count of page faults it fixed for vCPU 0 (query-stats): what
    a zap costs the guest, whatever the load of the machine."""
    for s in vm.cmd('query-stats', target='vcpu', providers=[{'provider': 'kvm'}])[0]['stats']:
        if s['name'] == 'pf_fixed':
            return s['value']
    raise AssertionError('KVM reports no pf_fixed')


def rate(vm, seconds):
    c0, t0 = count(vm), time.monotonic()
    time.sleep(seconds)
    c1, t1 = count(vm), time.monotonic()
    return ((c1 - c0) & 0xffffffff) / (t1 - t0)


def measure(image, so, work, keep_quirk):
    log = os.path.join(work, 'zap-%d.log' % time.monotonic_ns())
    env = ['env', 'LD_PRELOAD=' + so, 'SPPSHIM_CAP=0', 'SPPSHIM_LOG=' + log]
    obj = 'subpage-wp,id=swp0,backend=emulated,rate-limit=0'
    if keep_quirk:
        obj += ',kvm-slot-zap-all=on'
    # RAM in 4 KiB pages (shared memory without THP), as KVM then maps it:
    # each page the guest touches faults again after a zap
    mem = '/dev/shm/xv-bench-spp-zap-%d' % time.monotonic_ns()
    ram = ['-M', 'pc', '-m', '320M']
    if SMALL_PAGES:
        ram = ['-object', 'memory-backend-file,id=ram,size=320M,share=on,mem-path=' + mem,
               '-M', 'pc,memory-backend=ram', '-m', '320M']
    with VM(ram + ['-bios', image, '-object', obj],
            binary=qemu_binary(), accel='kvm', console=False, name='bench-zap',
            prefix=env) as vm:
        while count(vm) < 3 * 65536:        # every page mapped, 3 passes
            time.sleep(0.05)
        idle = rate(vm, 1.0)
        c0, t0, f0 = count(vm), time.monotonic(), pf_fixed(vm)
        for _ in range(CHANGES // 2):
            for mask in (0, 0xffffffff):
                vm.cmd('x-subpage-wp-set', pages=[{'gpa': PAGE, 'mask': mask}])
                if GAP:
                    time.sleep(GAP)
        t1, c1, f1 = time.monotonic(), count(vm), pf_fixed(vm)
        busy = ((c1 - c0) & 0xffffffff) / (t1 - t0)
    # what the run measured: did QEMU disable the quirk?
    with open(log) if os.path.exists(log) else open(os.devnull) as f:
        disabled = any(w[0] == 'quirks2' and int(w[1], 16) & SLOT_ZAP_ALL and w[2] == '0'
                       for w in (line.split() for line in f))
    if disabled == keep_quirk:
        print('spp-zap: warning: the quirk was %s in a run meant to have it %s '
              '(a host without the KVM_X86_QUIRK_SLOT_ZAP_ALL control?)'
              % ('off' if disabled else 'on', 'on' if keep_quirk else 'off'), flush=True)
    if os.path.exists(mem):
        os.unlink(mem)
    return (t1 - t0) * 1000 / CHANGES, busy / idle, (f1 - f0) / CHANGES


def main():
    if not kvm_usable():
        print('spp-zap: skipped, /dev/kvm is not usable')
        return
    work = tempfile.mkdtemp(prefix='bench-spp-zap-')
    image, so = build(work)
    res = {True: [], False: []}
    for i in range(RUNS):
        for keep in ((True, False) if i % 2 == 0 else (False, True)):
            res[keep].append(measure(image, so, work, keep))
    med = {k: [statistics.median(r[i] for r in v) for i in range(3)]
           for k, v in res.items()}
    on, off = med[True], med[False]
    print('spp-zap: kvm %d changes of one page%s, guest touching 256 MiB in %s pages: '
          'quirk on %.3f ms/change, %.0f page faults/change, guest at %.1f%% of its '
          'idle rate; quirk off %.3f ms/change, %.0f faults/change, guest at %.1f%%; '
          'off/on: time %.3f, faults %.4f, guest rate %.3f (median of %d; on %s; off %s)'
          % (CHANGES, ' %g ms apart' % (GAP * 1000) if GAP else '',
             '4 KiB' if SMALL_PAGES else 'THP',
             on[0], on[2], on[1] * 100, off[0], off[2], off[1] * 100,
             off[0] / on[0], off[2] / max(on[2], 1), off[1] / on[1], RUNS,
             ' '.join('%.3f/%.0f/%.3f' % (r[0], r[2], r[1]) for r in res[True]),
             ' '.join('%.3f/%.0f/%.3f' % (r[0], r[2], r[1]) for r in res[False])),
          flush=True)
    if on[2] == 0 and off[2] == 0:
        print('spp-zap: KVM fixed no page faults in either run: the guest runs in '
              'KVM\'s instruction emulator on this host (no hardware '
              'virtualization), so dropping its mappings costs it nothing here; '
              'the times measure the memory slot changes only', flush=True)


if __name__ == '__main__':
    main()
