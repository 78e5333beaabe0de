# SPDX-License-Identifier: GPL-2.0-or-later
"""The real-mode micro-guest (microguest.S) under TCG and under KVM: the
guest sees exactly the allowed writes, QEMU reports exactly the denied ones.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import xv  # noqa: E402
from xv.vm import VM  # noqa: E402
from spp_common import (build_microguest, query, read_phys,  # noqa: E402
                        set_masks, symbols, violations, wait_u32)

PAGE = 0x10000
COPY = 0x20000
DONE = 0x21000
MASK = 0x0000ffff          # sub-pages 0-15 writable, 16-31 protected

# The guest's stores to PAGE, in program order: (offset, bytes).
WRITES = [
    (0x010, bytes([0x11])),
    (0x810, bytes([0x22])),
    (0x020, (0x3344).to_bytes(2, 'little')),
    (0x820, (0x5566).to_bytes(2, 'little')),
    (0x030, (0x778899aa).to_bytes(4, 'little')),
    (0x830, (0xbbccddee).to_bytes(4, 'little')),
    (0x040, (0x0123456789abcdef).to_bytes(8, 'little')),
    (0x840, (0xfedcba9876543210).to_bytes(8, 'little')),
    (0x7fe, (0x01020304).to_bytes(4, 'little')),
] + [(0x7f8 + i, bytes([0x5a])) for i in range(16)] + [
    (0x050, (0x6677).to_bytes(2, 'little')),
    (0x850, (0x6677).to_bytes(2, 'little')),
    (0x100, (0x41b0).to_bytes(2, 'little')),
    (0x102, bytes([0xcb])),
    (0x101, bytes([0x42])),
]


# fw_cfg DMA of the signature "QEMU" into this protected sub-page: a device
# write issued from the vCPU's PIO handler (microguest.S)
DMA_GPA = PAGE + 0x900


def allowed(off, size):
    return all(MASK & (1 << (b >> 7)) for b in range(off, off + size))


def pieces(off, data, accel):
    """How a store reaches QEMU: KVM passes it whole; TCG splits an
    unaligned store to MMIO into naturally aligned pieces (cputlb.c:
    do_st_mmio_leN), so each piece is checked on its own."""
    if accel != 'tcg':
        yield off, data
        return
    while data:
        n = 1 << ((len(data) | off | 8) & -(len(data) | off | 8)).bit_length() - 1
        yield off, data[:n]
        off, data = off + n, data[n:]


def expected(accel):
    page = bytearray(4096)
    denied = []
    for off, data in WRITES:
        for o, d in pieces(off, data, accel):
            if allowed(o, len(d)):
                page[o:o + len(d)] = d
            else:
                denied.append((PAGE + o, len(d)))
    denied.append((DMA_GPA, 4))
    return bytes(page), denied


def microguest_args(work):
    return ['-M', 'pc', '-m', '16M', '-bios', build_microguest(work), '-S',
            '-object', 'subpage-wp,id=swp0,rate-limit=0']


def run_microguest(work, accel):
    with VM(microguest_args(work), accel=accel, console=False,
            name='microguest-' + accel) as vm:
        set_masks(vm, {PAGE: MASK})
        vm.cmd('cont')
        return check_results(vm, work, accel)


def check_results(vm, work, accel):
    """Wait for the guest to finish, check memory, the guest's copy, the
    violation events and the counters."""
    if True:
        wait_u32(vm, DONE, 0x600dd00d)
        page, denied = expected(accel)
        got = violations(vm)
        assert got == denied, ('violation reports differ from the denied '
                               'writes:\n got      %s\n expected %s'
                               % ([(hex(g), s) for g, s in got],
                                  [(hex(g), s) for g, s in denied]))
        info = query(vm)
        assert info['violations'] == len(denied), info
        assert info['write-traps'] == 1 + sum(
            1 for o, d in WRITES for _ in pieces(o, d, accel)), info
        mem = read_phys(vm, work, PAGE, 4096)
        seen = read_phys(vm, work, COPY, 4096)
        for name, data in (('memory', mem), ('the guest\'s copy', seen)):
            bad = [hex(i) for i in range(4096) if data[i] != page[i]]
            assert not bad, '%s differs from the expected page at %s' % (
                name, bad[:16])
        smc = read_phys(vm, work, DONE + 4, 2)
        assert smc == b'\x41\x42', ('self-modifying code on the protected page '
                                    'ran stale code: %r' % smc)
        check_pcs(vm, work, accel)
        return info


def check_pcs(vm, work, accel):
    """Every event from the vCPU has the pc of the writing instruction:
    under TCG the instruction itself, under KVM the one after it."""
    sym = symbols(work)
    events = [e['data'] for e in vm.events('SUBPAGE_WP_VIOLATION')]
    # The fw_cfg DMA runs in the vCPU thread, but it is the device's write
    dma = [e for e in events if e['gpa'] == DMA_GPA]
    assert len(dma) == 1 and dma[0]['source'] == 'device' and \
        'cpu-index' not in dma[0] and 'pc' not in dma[0], dma
    events = [e for e in events if e['gpa'] != DMA_GPA]
    assert events and all(e['source'] == 'cpu' and e['cpu-index'] == 0 and
                          'pc' in e for e in events), events
    after = accel != 'tcg'
    assert all(e['pc-after-insn'] == after for e in events), events
    want = {PAGE + 0x810: sym['pc_deny1_end' if after else 'pc_deny1']}
    if not after:
        # KVM reports a string store by where the instruction ended, after
        # its last iteration; under TCG every piece names rep stosb itself
        want.update({PAGE + o: sym['pc_rep'] for o in range(0x800, 0x808)})
    got = {e['gpa']: e['pc'] for e in events if e['gpa'] in want}
    assert got == want, 'pc of the violations: got %s, expected %s' % (
        {hex(g): hex(p) for g, p in got.items()},
        {hex(g): hex(p) for g, p in want.items()})


def test_microguest_tcg(work):
    info = run_microguest(work, 'tcg')
    assert info['memslots-used'] == 0


def test_microguest_kvm(work):
    xv.need_kvm()
    info = run_microguest(work, 'kvm')
    assert info['memslots-used'] == 2, info
