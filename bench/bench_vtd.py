#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Emulated VT-d DMA translation cost, qtest micro-benchmark.

iommu-testdev writes 2 MiB (512 pages) through intel-iommu in scalable mode:
the memory core asks the IOMMU for one translation per 4 KiB page.  Each
mode's time per DMA minus the time in pass-through (same device work, no
translation) divided by 512 is the cost of one translation:

- hit:  the 512 translations are in the IOTLB (the DMA repeated);
- miss: a global IOTLB invalidation before each DMA, so each page is walked.

Each sample is the fastest of DMAS DMAs (load from other processes only
adds time), and the median over RUNS runs, fork and base alternating.

Modes: first stage (fsts=on, PGTT=001b), second stage (PGTT=010b), nested
(x-nested=on, PGTT=011b, second stage with 4 KiB pages, so every miss walks
4 + 4 x 5 table levels).  First and second stage are compared fork vs base;
nested exists only in the fork and is compared with the fork's first stage.
"""

import os
import socket
import statistics
import sys
import tempfile
import time

from common import binaries, RUNS

from xv.vm import VM

DMAS = int(os.environ.get('XV_BENCH_VTD_DMAS', '20'))
IOMMU = 0xfed90000
BAR = 0xe0000000
PAGES = 512
IOVA = 0x20000000
TARGET = 0x11000000
GPA_OFF = 0x40000000            # nested: first-stage pointers are GPAs

ROOT, CTX, PDIR, PTAB, IQ = 0x10000000, 0x10001000, 0x10003000, 0x10004000, 0x10005000
TL = {4: 0x10010000, 3: 0x10011000, 2: 0x10012000, 1: 0x10013000}
SL = {4: 0x10020000, 3: 0x10021000, 2: 0x10022000}
SL1_TABLES, SL1_TARGET = 0x10023000, 0x10024000

SS_RW = 3
FS_NONLEAF = 0x27               # P RW US A
FS_LEAF = 0x67                  # P RW US A D

MODES = {
    'pt': ('scalable-mode=on', 4),
    'first-stage': ('scalable-mode=on,fsts=on', 1),
    'second-stage': ('scalable-mode=on', 2),
    'nested': ('scalable-mode=on,x-nested=on', 3),
}


class QTest:
    def __init__(self, binary, iommu_opts, work):
        path = os.path.join(work, 'qtest.sock')
        srv = socket.socket(socket.AF_UNIX)
        srv.bind(path)
        srv.listen(1)
        self.vm = VM(['-machine', 'q35', '-m', '1G', '-qtest', 'unix:' + path,
                      '-device', 'intel-iommu,' + iommu_opts, '-device', 'iommu-testdev'],
                     binary=binary, accel='qtest', console=False, name='bench-vtd',
                     logdir=work)
        self.vm.launch()
        srv.settimeout(30)
        self.sock, _ = srv.accept()
        srv.close()
        self.f = self.sock.makefile('rwb', buffering=0)

    def cmd(self, line):
        self.sock.sendall(line.encode() + b'\n')
        while True:
            r = self.f.readline().decode().strip()
            if r.startswith('OK'):
                return r
            if not r.startswith('IRQ'):
                raise RuntimeError('qtest: %s -> %s' % (line, r))

    def w(self, size, addr, val):
        self.cmd('write%s 0x%x 0x%x' % (size, addr, val))

    def r(self, size, addr):
        return int(self.cmd('read%s 0x%x' % (size, addr)).split()[1], 16)

    def mem(self, addr, data):
        # long qtest lines stall the chardev: write 512 bytes at a time
        for i in range(0, len(data), 512):
            chunk = data[i:i + 512]
            self.cmd('write 0x%x 0x%x 0x%s' % (addr + i, len(chunk), chunk.hex()))

    def close(self):
        self.sock.close()
        self.vm.shutdown()


def qwords(vals):
    return b''.join(v.to_bytes(8, 'little') for v in vals)


def idx(addr, level):
    return (addr >> (12 + 9 * (level - 1))) & 0x1ff


def map_one(qt, tables, leaf_table, va, target, nonleaf, leaf, off=0):
    """4-level path for va; tables[level] are HPAs, pointers get +off."""
    for lvl in (4, 3):
        qt.w('q', tables[lvl] + 8 * idx(va, lvl), (tables[lvl - 1] + off) | nonleaf)
    qt.w('q', tables[2] + 8 * idx(va, 2), (leaf_table + off) | nonleaf)


def setup(qt, mode):
    pgtt = MODES[mode][1]
    # PCI: find iommu-testdev on bus 0, BAR0, memory + bus master
    devfn = None
    for d in range(256):
        qt.cmd('outl 0xcf8 0x%x' % (0x80000000 | d << 8))
        if int(qt.cmd('inl 0xcfc').split()[1], 16) == 0x00051b36:
            devfn = d
            break
    assert devfn is not None, 'iommu-testdev not found'
    qt.cmd('outl 0xcf8 0x%x' % (0x80000000 | devfn << 8 | 0x10))
    qt.cmd('outl 0xcfc 0x%x' % BAR)
    qt.cmd('outl 0xcf8 0x%x' % (0x80000000 | devfn << 8 | 0x04))
    qt.cmd('outw 0xcfc 0x6')

    qt.cmd('memset 0x%x 0x30000 0' % ROOT)
    qt.w('q', ROOT, CTX | 1)
    qt.w('q', CTX + 32 * devfn, PDIR | 1)
    qt.w('q', PDIR, PTAB | 1)

    fs = pgtt in (1, 3)
    off = GPA_OFF if pgtt == 3 else 0
    nonleaf, leaf = (FS_NONLEAF, FS_LEAF) if fs else (SS_RW, SS_RW)
    if pgtt != 4:
        map_one(qt, TL, TL[1], IOVA, 0, nonleaf, leaf, off)
        qt.mem(TL[1], qwords([(TARGET + off + (i << 12)) | leaf for i in range(PAGES)]))
    if pgtt == 3:
        # second stage: GPA of the first-stage tables and of the target, 4 KiB pages
        tables_gpa = TL[4] + GPA_OFF
        target_gpa = TARGET + GPA_OFF
        map_one(qt, SL, SL1_TABLES, tables_gpa, 0, SS_RW, SS_RW)
        qt.w('q', SL[2] + 8 * idx(target_gpa, 2), SL1_TARGET | SS_RW)
        base = tables_gpa & ~0x1fffff
        qt.mem(SL1_TABLES, qwords([(base - GPA_OFF + (i << 12)) | SS_RW
                                   for i in range(512)]))
        qt.mem(SL1_TARGET, qwords([(TARGET + (i << 12)) | SS_RW for i in range(512)]))

    val0 = 1 | pgtt << 6 | 2 << 2
    if pgtt == 2:
        val0 |= TL[4]
    elif pgtt == 3:
        val0 |= SL[4]
    qt.mem(PTAB, qwords([val0, 1, (TL[4] + off) if fs else 0, 0, 0, 0, 0, 0]))

    qt.w('q', IOMMU + 0x20, ROOT | 1 << 10)            # RTADDR, SMT
    qt.w('l', IOMMU + 0x18, 1 << 30)                   # SRTP
    qt.w('q', IOMMU + 0x90, IQ)                        # IQA
    qt.w('q', IOMMU + 0x88, 0)                         # IQT
    qt.w('l', IOMMU + 0x18, 1 << 26)                   # QIE
    qt.w('l', IOMMU + 0x18, 1 << 26 | 1 << 31)         # QIE + TE
    assert qt.r('l', IOMMU + 0x1c) & (1 << 31), 'translation not enabled'


class Bench:
    def __init__(self, qt, mode):
        self.qt = qt
        self.tail = 0
        # pass-through writes the IOVA itself, the others TARGET
        self.gpa = IOVA if mode == 'pt' else TARGET

    def invalidate(self):
        qt = self.qt
        qt.w('q', IQ + 16 * self.tail, 0x2 | 1 << 4)   # IOTLB global
        qt.w('q', IQ + 16 * self.tail + 8, 0)
        self.tail = (self.tail + 1) % 256
        qt.w('q', IOMMU + 0x88, self.tail << 4)

    def dma(self):
        qt = self.qt
        qt.w('l', BAR + 0x04, IOVA & 0xffffffff)
        qt.w('l', BAR + 0x08, IOVA >> 32)
        qt.w('l', BAR + 0x1c, self.gpa & 0xffffffff)
        qt.w('l', BAR + 0x20, 0)
        qt.w('l', BAR + 0x0c, PAGES * 4096)
        qt.w('l', BAR + 0x14, 1)
        qt.r('l', BAR + 0x00)
        res = qt.r('l', BAR + 0x10)
        assert res == 0, 'DMA failed: 0x%x' % res

    def per_dma(self, miss):
        """Fastest of DMAS DMAs: other load on the machine only adds time."""
        self.dma()                                     # warm up (and fill the IOTLB)
        best = None
        for _ in range(DMAS):
            t0 = time.perf_counter()
            if miss:
                self.invalidate()
            self.dma()
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
        return best


def measure(binary, mode):
    """Seconds per 2 MiB DMA in mode, (hit, miss)."""
    with tempfile.TemporaryDirectory(prefix='xv-bench-vtd-') as work:
        qt = QTest(binary, MODES[mode][0], work)
        try:
            setup(qt, mode)
            b = Bench(qt, mode)
            return b.per_dma(False), b.per_dma(True)
        finally:
            qt.close()


def main():
    b = binaries()
    flavours = {'fork': ('pt', 'first-stage', 'second-stage', 'nested'),
                'base': ('pt', 'first-stage', 'second-stage')}
    samples = {(f, m): [] for f, ms in flavours.items() for m in ms}
    for i in range(RUNS):
        for f in (('fork', 'base') if i % 2 == 0 else ('base', 'fork')):
            for m in flavours[f]:
                samples[(f, m)].append(measure(b[f], m))
    med = {}
    for k, v in samples.items():
        med[k] = (statistics.median(s[0] for s in v), statistics.median(s[1] for s in v))
    ns = {}
    for (f, m), (hit, miss) in med.items():
        if m == 'pt':
            continue
        pt_hit, pt_miss = med[(f, 'pt')]
        ns[(f, m)] = ((hit - pt_hit) / PAGES * 1e9, (miss - pt_miss) / PAGES * 1e9)
    print('VT-d DMA translation cost, ns per 4 KiB translation '
          '(2 MiB DMA minus pass-through; median over %d runs of the fastest of %d DMAs)'
          % (RUNS, DMAS))
    print('  pass-through DMA: fork %.3f ms base %.3f ms (hit), fork %.3f ms base %.3f ms (miss)'
          % (med[('fork', 'pt')][0] * 1e3, med[('base', 'pt')][0] * 1e3,
             med[('fork', 'pt')][1] * 1e3, med[('base', 'pt')][1] * 1e3))
    for m in ('first-stage', 'second-stage'):
        for j, kind in enumerate(('hit', 'miss')):
            fk, bs = ns[('fork', m)][j], ns[('base', m)][j]
            print('  %-13s %-4s fork %8.1f ns  base %8.1f ns  fork/base %.3f  (%.0f/s fork)'
                  % (m, kind, fk, bs, fk / bs, 1e9 / fk))
    for j, kind in enumerate(('hit', 'miss')):
        n, f1, s2 = ns[('fork', 'nested')][j], ns[('fork', 'first-stage')][j], \
            ns[('fork', 'second-stage')][j]
        print('  nested        %-4s fork %8.1f ns  nested/first-stage %.3f  '
              'nested/second-stage %.3f  (%.0f/s)' % (kind, n, n / f1, n / s2, 1e9 / n))


if __name__ == '__main__':
    sys.exit(main())
