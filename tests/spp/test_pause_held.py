# SPDX-License-Identifier: GPL-2.0-or-later
"""action=pause holds a denied write while the VM is paused (review 2,
findings 1 and 5): the held write is kept by guest-physical address, so
unprotecting the page, or a reset, while the VM is paused frees the window
without leaving the held write pointing into it (QEMU died with SIGFPE or
SIGSEGV at 'cont' before); 'cont' performs it through the memory map of
that moment; a reset drops it.  The device write comes from the qtest
protocol (a device's DMA: no vCPU)."""

import os
import socket
import time

import xv
from xv.vm import VM

PAGE = 0x100000
VAL = 0x12345678


class Qtest:
    """The qtest protocol over a unix socket (QEMU's -qtest chardev)."""

    def __init__(self, path, deadline=30):
        end = time.monotonic() + deadline
        while True:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                assert time.monotonic() < end, 'no qtest socket at %s' % path
                time.sleep(0.05)
        self.s.settimeout(30)
        self.buf = b''

    def cmd(self, line):
        self.s.sendall(line.encode() + b'\n')
        while True:
            while b'\n' in self.buf:
                reply, self.buf = self.buf.split(b'\n', 1)
                reply = reply.decode()
                if reply.startswith('IRQ '):
                    continue
                assert reply.startswith('OK'), (line, reply)
                return reply
            data = self.s.recv(4096)
            assert data, 'qtest connection closed during %r' % line
            self.buf += data

    def readl(self, addr):
        return int(self.cmd('readl 0x%x' % addr).split()[1], 16)


def boot(work):
    path = os.path.join(work, 'qtest.sock')
    # MALLOC_PERTURB_ makes a read of freed memory visible; set for this
    # QEMU only (through env), not for every later test
    vm = VM(['-machine', 'q35', '-m', '128M',
             '-chardev', 'socket,id=qt,path=%s,server=on,wait=off' % path,
             '-qtest', 'chardev:qt',
             '-object', 'subpage-wp,id=swp0,action=pause'],
            name='spp-held', console=False, accel='qtest',
            prefix=['env', 'MALLOC_PERTURB_=165'])
    return vm, path


def hold_one_write(vm, qt):
    vm.cmd('x-subpage-wp-set', pages=[{'gpa': PAGE, 'mask': 0}])
    qt.cmd('writel 0x%x 0x%x' % (PAGE, VAL))
    vm.wait_event('STOP', timeout=30)
    assert vm.cmd('query-status')['status'] == 'paused'
    assert qt.readl(PAGE) == 0, 'the denied write landed'


def test_held_write_after_unprotect(work):
    vm, path = boot(work)
    with vm:
        qt = Qtest(path)
        hold_one_write(vm, qt)
        vm.cmd('x-subpage-wp-set', pages=[{'gpa': PAGE, 'mask': 0xffffffff}])
        # the old flat view, run and window go with the RCU thread
        time.sleep(1)
        vm.cmd('cont')
        assert vm.cmd('query-status')['status'] == 'running'
        assert qt.readl(PAGE) == VAL, 'the held write did not land'


def test_held_write_still_denied_pauses_again(work):
    vm, path = boot(work)
    with vm:
        qt = Qtest(path)
        hold_one_write(vm, qt)
        vm.cmd('cont')
        vm.wait_event('STOP', timeout=30)
        assert qt.readl(PAGE) == 0
        assert vm.cmd('x-query-subpage-wp')['violations'] == 2


def test_held_write_dropped_by_reset(work):
    vm, path = boot(work)
    with vm:
        qt = Qtest(path)
        vm.cmd('qom-set', path='/objects/swp0', property='persist', value=True)
        # a second protected page keeps the window alive over the reset
        vm.cmd('x-subpage-wp-set', pages=[{'gpa': PAGE + 0x1000, 'mask': 0}])
        hold_one_write(vm, qt)
        vm.cmd('system_reset')
        time.sleep(1)
        vm.cmd('x-subpage-wp-set', pages=[{'gpa': PAGE, 'mask': 0xffffffff}])
        vm.cmd('cont')
        assert qt.readl(PAGE) == 0, 'a write held before the reset landed after it'
        assert 'dropped at reset' in vm.stderr(), vm.stderr()


def build_dma_guest(work):
    """dma-from-mmio.S: a real-mode -bios image that maps iommu-testdev's
    BAR and reads its trigger register, so the device's DMA to 0x3000 runs
    inside the vCPU's MMIO access."""
    return xv.bios_image(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                      'dma-from-mmio.S'), work, 'dma')


def test_pause_from_inside_an_mmio_access(work):
    """A write denied with action=pause that a device makes from inside a
    vCPU's MMIO access (iommu-testdev's DMA) must not leave the access with
    a longjmp: that left address_space_write()'s RCU read lock held for
    good, so no call_rcu callback ran any more (a failed device_add, which
    drains them, never returned) and the windows' RAM blocks stayed."""
    args = ['-machine', 'q35', '-S', '-bios', build_dma_guest(work),
            '-device', 'iommu-testdev,addr=4',
            '-object', 'subpage-wp,id=swp0,rate-limit=0,action=pause']
    with VM(args, name='spp-dma-pause', console=False) as vm:
        vm.cmd('x-subpage-wp-set', pages=[{'gpa': 0x3000, 'mask': 0}])
        vm.cmd('cont')
        vm.wait_event('STOP', timeout=30)
        vm.cmd('x-subpage-wp-set', pages=[{'gpa': 0x3000, 'mask': 0xffffffff}])
        vm.cmd('cont')
        # the device's held DMA landed at 'cont'
        deadline = time.monotonic() + 30
        while '0x12345678' not in vm.hmp('xp /1wx 0x3000').lower():
            page = vm.hmp('xp /1wx 0x3000')
            assert time.monotonic() < deadline, 'the held DMA did not land: ' + page
            time.sleep(0.2)
        # call_rcu still runs: a failed device_add drains it
        # (drain_call_rcu) before it answers
        err = vm.cmd_error('device_add', _timeout=20, driver='e1000', bogus='1')
        assert err, 'device_add failed without a message'
        assert vm.cmd('query-status')['status'] == 'running'



def test_migrated_held_write_on_kvm_spp_destination(work):
    """A write held on an emulated source and migrated to a kvm-spp
    destination, where no window checks it, is denied and held again at
    'cont' while its page is still protected (it was written straight
    into the protected RAM), and lands once the page is writable."""
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from test_kvm_spp import spp_vm
    stream = os.path.join(work, 'held.stream')
    vm, path = boot(work)
    with vm:
        qt = Qtest(path)
        hold_one_write(vm, qt)
        vm.cmd('migrate', uri='file:' + stream)
        vm.wait_migration()
    with spp_vm(work, 'held-dst', obj='subpage-wp,id=swp0,backend=kvm-spp,action=pause',
                args=['-machine', 'q35', '-m', '128M', '-incoming', 'defer']) as (dst, log):
        dst.cmd('migrate-incoming', uri='file:' + stream)
        dst.wait_migration()
        info = dst.cmd('x-query-subpage-wp')
        assert info['backend'] == 'kvm-spp' and info['writes-held'] == 1, info
        dst.cmd('cont')
        dst.wait_event('STOP', timeout=30)
        info = dst.cmd('x-query-subpage-wp')
        assert info['writes-held'] == 1 and info['violations'] == 1, info
        word = dst.hmp('xp /1wx 0x%x' % PAGE)
        assert word.split()[-1] == '0x00000000', 'landed in a protected page: ' + word
        dst.cmd('x-subpage-wp-set', pages=[{'gpa': PAGE, 'mask': 0xffffffff}])
        dst.cmd('cont')
        word = dst.hmp('xp /1wx 0x%x' % PAGE)
        assert word.split()[-1] == '0x%08x' % VAL, 'the held write did not land: ' + word
        assert dst.cmd('x-query-subpage-wp')['writes-held'] == 0
