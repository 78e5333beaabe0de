# SPDX-License-Identifier: GPL-2.0-or-later
"""Linux under TCG writes through /dev/mem (busybox devmem) to a reserved
region (memmap=64K$0x10000000) that the host protects over QMP: allowed
writes land, denied writes are dropped and reported, action pause stops
the VM, and the paused write runs again when the VM continues."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from xv.guest import linux_args, guest_exit_status  # noqa: E402
from xv.vm import VM  # noqa: E402
from spp_common import query, read_phys, set_masks, violations  # noqa: E402

BASE = 0x10000000
# Page BASE: sub-pages 0-15 writable; page BASE + 0x1000: all protected
MASKS = {BASE: 0x0000ffff, BASE + 0x1000: 0}

SCRIPT = r'''
grep -i reserved /proc/iomem | sed 's/^/XV-IOMEM: /'
devmem 0x10000000 32 0x11111111
devmem 0x10000800 32 0x22222222
devmem 0x10000080 8 0x33
devmem 0x10000f00 16 0x4444
devmem 0x10001000 32 0x55555555
echo "XV-READ: $(devmem 0x10000000 32) $(devmem 0x10000800 32)" \
     "$(devmem 0x10000080 8) $(devmem 0x10000f00 16) $(devmem 0x10001000 32)"
echo XV-WAIT
read go
devmem 0x10000100 32 0x66666666
devmem 0x10000900 32 0x77777777
echo "XV-AFTER: $(devmem 0x10000100 32) $(devmem 0x10000900 32)"
exit 0
'''


def test_linux_devmem_drop_then_pause(work):
    args = linux_args(work, SCRIPT, append='memmap=64K$0x10000000') + [
        '-S', '-object', 'subpage-wp,id=swp0,rate-limit=0']
    with VM(args, name='spp-linux') as vm:
        set_masks(vm, MASKS)
        vm.cmd('cont')

        m = vm.wait_console(r'^XV-READ: (.*)\n', timeout=240)
        got = m.group(1).split()
        assert [int(x, 16) for x in got] == [0x11111111, 0, 0x33, 0, 0], (
            'guest read back %s' % got)
        vm.wait_console(r'^XV-WAIT', timeout=30)
        ev = violations(vm)
        assert ev == [(BASE + 0x800, 4), (BASE + 0xf00, 2),
                      (BASE + 0x1000, 4)], ev
        for e in vm.events('SUBPAGE_WP_VIOLATION'):
            assert e['data']['source'] == 'cpu', e
            assert e['data']['cpu-index'] == 0, e
            assert e['data']['action'] == 'drop', e
            # busybox devmem stores through its mmap of /dev/mem: the pc
            # (TCG: of the store itself) is a user-space address
            assert e['data']['pc-after-insn'] is False, e
            assert 0 < e['data']['pc'] < 1 << 47, e
        info = query(vm)
        assert info['violations'] == 3, info
        # the five devmem stores, each checked once (the reserved region
        # is the kernel's no-go area: nothing else writes there)
        assert info['write-traps'] == 5, info

        # Phase 2: action pause
        vm.cmd('qom-set', path='/objects/swp0', property='action', value='pause')
        vm.console_write('go\n')
        vm.wait_event('STOP', timeout=120)
        assert vm.cmd('query-status')['status'] == 'paused'
        stop = [e for e in vm.events('SUBPAGE_WP_VIOLATION')
                if e['data']['action'] == 'pause']
        assert [(e['data']['gpa'], e['data']['size']) for e in stop] == [
            (BASE + 0x900, 4)], stop
        mem = read_phys(vm, work, BASE, 0x1000)
        assert mem[0x100:0x104] == (0x66666666).to_bytes(4, 'little')
        assert mem[0x900:0x904] == bytes(4)
        # The write is held, not lost: continuing performs it again,
        # denied again (as kvm-spp faults it again): the vCPU's write, with
        # no pc (the instruction completed without its store) ...
        vm.cmd('cont')
        vm.wait_event('STOP', timeout=120)
        stop = [e for e in vm.events('SUBPAGE_WP_VIOLATION')
                if e['data']['action'] == 'pause']
        assert [(e['data']['gpa'], e['data']['source'], e['data'].get('cpu-index'))
                for e in stop] == [(BASE + 0x900, 'cpu', 0)] * 2, stop
        assert 'pc' in stop[0]['data'] and 'pc' not in stop[1]['data'], stop
        assert read_phys(vm, work, BASE + 0x900, 4) == bytes(4)
        # ... and once the sub-page is made writable, it lands.
        set_masks(vm, {BASE: MASKS[BASE] | 1 << 18})
        vm.cmd('cont')
        m = vm.wait_console(r'^XV-AFTER: (.*)\n', timeout=120)
        assert [int(x, 16) for x in m.group(1).split()] == [
            0x66666666, 0x77777777]
        assert guest_exit_status(vm) == 0


SPIN_SCRIPT = r'''
/xv/spin &
sleep 1000
'''


def test_linux_smp_protection_holds_on_reply(work):
    """-smp 2 under MTTCG: vCPU 1 stores in a loop to a sub-page; once
    x-subpage-wp-set has returned, not one more store may land there,
    whatever vCPU 1 still had in its TLB."""
    spin = os.path.join(work, 'spin')
    subprocess.run(['gcc', '-static', '-O2', '-o', spin,
                    os.path.join(os.path.dirname(__file__), 'spin.c')],
                   check=True)
    args = linux_args(work, SPIN_SCRIPT, files={'xv/spin': spin},
                      append='memmap=64K$0x10000000') + [
        '-smp', '2', '-accel', 'tcg,thread=multi',
        '-object', 'subpage-wp,id=swp0,rate-limit=1000']
    with VM(args, name='spp-linux-smp') as vm:
        vm.wait_console(r'^XV-SPIN: on cpu 1', timeout=240)
        for rnd in range(20):
            set_masks(vm, {BASE: 0x0000ffff})
            a = read_phys(vm, work, BASE, 0x1000)
            time.sleep(0.05)
            b = read_phys(vm, work, BASE, 0x1000)
            assert a[0x800:0x804] == b[0x800:0x804], (
                'round %d: a store landed in the protected sub-page after '
                'x-subpage-wp-set returned: %s -> %s'
                % (rnd, a[0x800:0x804].hex(), b[0x800:0x804].hex()))
            assert b[0x100:0x104] != a[0x100:0x104], 'the guest stopped'
            set_masks(vm, {BASE: 0xffffffff})
            time.sleep(0.05)


PAIR_SCRIPT = r'''
/xv/pair
echo "XV-PAIR-EXIT: $?"
exit 0
'''


def test_linux_smp_held_writes_of_two_vcpus(work):
    """-smp 2 under MTTCG, action=pause: in each of 10 rounds vCPU 0 and
    vCPU 1 store at the same moment to a protected page each.  The first
    denied store stops the VM; the other vCPU's lands in the hold as well
    or comes after 'cont'.  Once the pages are unprotected and the VM
    continues, each vCPU reads back its own store and the memory has
    both: no held write is lost, mixed up between vCPUs or performed
    twice."""
    pair = os.path.join(work, 'pair')
    subprocess.run(['gcc', '-static', '-O2', '-pthread', '-o', pair,
                    os.path.join(os.path.dirname(__file__), 'pair.c')],
                   check=True)
    args = linux_args(work, PAIR_SCRIPT, files={'xv/pair': pair},
                      append='memmap=64K$0x10000000') + [
        '-smp', '2', '-accel', 'tcg,thread=multi', '-no-shutdown',
        '-object', 'subpage-wp,id=swp0,rate-limit=0,action=pause']
    pages = (BASE, BASE + 0x1000)
    held_counts = []
    with VM(args, name='spp-linux-pair') as vm:
        for rnd in range(1, 11):
            vm.wait_console(r'^XV-READY %d$' % rnd, timeout=240)
            seen = len(vm.events('SUBPAGE_WP_VIOLATION'))
            set_masks(vm, {p: 0 for p in pages})
            vm.console_write('go\n')
            vm.wait_event('STOP', timeout=120)
            # both vCPUs are stopped: what is held stays as it is
            held = query(vm)['writes-held']
            assert held in (1, 2), ('round %d' % rnd, query(vm))
            held_counts.append(held)
            for cpu, p in enumerate(pages):
                assert read_phys(vm, work, p + 0x40, 4) == (
                    0 if rnd == 1 else (cpu + 1) << 24 | (rnd - 1)
                ).to_bytes(4, 'little'), ('round %d: a held store landed' % rnd)
            # one event per held store, each of its own vCPU, to its page
            paused = [e['data'] for e in vm.events('SUBPAGE_WP_VIOLATION')[seen:]]
            assert len(paused) == held and len({d['cpu-index'] for d in paused}) == held, (
                'round %d' % rnd, paused)
            for d in paused:
                assert d['action'] == 'pause' and d['source'] == 'cpu', d
                assert d['gpa'] == pages[d['cpu-index']] + 0x40, d
            set_masks(vm, {p: 0xffffffff for p in pages})
            vm.cmd('cont')
            m = vm.wait_console(r'^XV-ROUND %d: (\S+) (\S+)$' % rnd, timeout=120)
            want = [(cpu + 1) << 24 | rnd for cpu in range(2)]
            assert [int(x, 16) for x in m.groups()] == want, (
                'round %d: the vCPUs read back %s' % (rnd, m.groups()))
            for cpu, p in enumerate(pages):
                assert read_phys(vm, work, p + 0x40, 4) == want[cpu].to_bytes(
                    4, 'little'), 'round %d' % rnd
            assert query(vm)['writes-held'] == 0
        vm.wait_console(r'^XV-PAIR-EXIT: 0$', timeout=60)
        assert guest_exit_status(vm) == 0
    print('writes held per stop, rounds 1-10:', held_counts)
