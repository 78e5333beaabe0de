# SPDX-License-Identifier: GPL-2.0-or-later
"""Adapter interruptions reach a TCG s390x Linux guest (Debian's 6.1
kernel) whose vCPUs all wait: single-block O_DIRECT reads from a
virtio-blk-ccw disk (adapter interruptions of the virtio adapter on ISC 3)
and from a zPCI virtio-blk-pci disk (the zPCI adapter on ISC 2, subject to
AIS) complete, and x-query-s390x-flic counts what happened: per adapter
the interruptions made pending and suppressed, and the vCPUs in the wait
state they woke (what the GIB alert does under KVM)."""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from xv.guest import linux_args, guest_exit_status  # noqa: E402
from xv.vm import VM  # noqa: E402
from s390_common import adapter, disk, flic, qemu  # noqa: E402

READS = 40
VIRTIO_ISC = 3      # Linux's virtio_ccw adapter interruption subclass
PCI_ISC = 2         # Linux's zPCI one

# One request at a time: every read sleeps until its interruption arrives,
# so every vCPU is idle (in the wait state) when it does.
SCRIPT = r'''
ccw= pci=
for d in /sys/block/vd*; do
    case $(readlink -f $d/device) in
    *css0*) ccw=/dev/${d##*/} ;;
    *pci*) pci=/dev/${d##*/} ;;
    esac
done
echo "XV-DISKS: ccw=$ccw pci=$pci"
reads() {
    i=0 ok=0
    while [ $i -lt %(reads)d ]; do
        dd if=$1 of=/dev/null bs=4096 count=1 skip=$((i * 7)) iflag=direct 2>/dev/null && ok=$((ok + 1))
        i=$((i + 1))
    done
    echo "XV-READS: $1 $ok $(dd if=$1 bs=4096 count=1 skip=35 iflag=direct 2>/dev/null | head -c 16)"
}
echo XV-PHASE: idle
read go
reads $ccw
echo XV-PHASE: ccw
read go
reads $pci
echo XV-PHASE: pci
read go
exit 0
'''


def delta(after, before, kind, isc, field):
    return adapter(after, kind, isc)[field] - adapter(before, kind, isc)[field]


def phase(vm, name):
    vm.wait_console(r'^XV-PHASE: %s$' % name, timeout=300)
    return flic(vm)


def test_adapter_interrupts_to_idle_guest(work):
    args = linux_args(work, SCRIPT % {'reads': READS}, arch='s390x') + [
        '-smp', '2', '-no-shutdown',
        '-drive', 'if=none,id=d0,format=raw,cache=none,aio=threads,file=%s'
        % disk(work, 'ccw.img'),
        '-device', 'virtio-blk-ccw,drive=d0',
        '-drive', 'if=none,id=d1,format=raw,cache=none,aio=threads,file=%s'
        % disk(work, 'pci.img'),
        '-device', 'virtio-blk-pci,drive=d1']
    with VM(args, binary=qemu(), name='s390-irq') as vm:
        f0 = phase(vm, 'idle')
        vm.console_write('go\n')
        f1 = phase(vm, 'ccw')
        vm.console_write('go\n')
        f2 = phase(vm, 'pci')
        vm.console_write('go\n')
        assert guest_exit_status(vm, timeout=60) == 0
        con = vm.console
        hmp = vm.hmp('info flic')
    with open(os.path.join(os.environ.get('XV_LOGDIR', work), 'flic.json'),
              'w') as f:
        json.dump({'idle': f0, 'ccw': f1, 'pci': f2, 'hmp': hmp}, f, indent=1)

    m = re.search(r'^XV-DISKS: ccw=(\S+) pci=(\S+)$', con, re.M)
    assert m, con[-2000:]
    for dev in m.groups():
        # every read completed, with the right data
        assert re.search(r'^XV-READS: %s %d XVBLOCK 00000035$' % (dev, READS),
                         con, re.M), con[-2000:]

    assert f2['implementation'] == 's390-flic-qemu' and f2['ais'], f2

    # virtio-ccw: exactly one adapter interruption per completed read (+1
    # for the check read): one request is in flight at a time, so two
    # completions never share an interruption, and nothing else does I/O
    # on the disks (no file system, no udev; the console is the SCLP's).
    # None suppressed (not suppressible), none elsewhere.
    inj = delta(f1, f0, 'virtio', VIRTIO_ISC, 'injected')
    assert inj == READS + 1, ('virtio ISC 3 injected', inj)
    assert delta(f1, f0, 'virtio', VIRTIO_ISC, 'suppressed') == 0
    assert delta(f1, f0, 'pci', PCI_ISC, 'injected') == 0
    # the guest was idle each time: nearly every interruption woke one or
    # both (-smp 2) waiting vCPUs (a vCPU busy with a timer tick at that
    # moment is not woken)
    woke = f1['adapter-halted-wakeups'] - f0['adapter-halted-wakeups']
    assert inj * 3 // 4 <= woke <= 2 * inj, ('ccw phase wake-ups', woke, inj)

    # zPCI: made pending (or, if one arrives before Linux re-arms the ISC
    # in its handler, suppressed) exactly once per completion, as above
    inj = delta(f2, f1, 'pci', PCI_ISC, 'injected')
    sup = delta(f2, f1, 'pci', PCI_ISC, 'suppressed')
    assert inj + sup == READS + 1 and inj >= READS - 3, (inj, sup)
    assert delta(f2, f1, 'virtio', VIRTIO_ISC, 'injected') == 0
    woke = f2['adapter-halted-wakeups'] - f1['adapter-halted-wakeups']
    assert inj * 3 // 4 <= woke <= 2 * inj, ('pci phase wake-ups', woke, inj)

    # Linux set single-interruption mode on the zPCI ISC with SIC
    modes = {m['isc']: m['mode'] for m in f2['ais-modes']}
    assert modes[PCI_ISC] in ('single', 'none') and modes[VIRTIO_ISC] == 'all', modes
    assert 'AIS enabled' in hmp and 'virtio' in hmp and 'pci' in hmp, hmp
