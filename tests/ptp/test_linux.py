# SPDX-License-Identifier: GPL-2.0-or-later
"""Debian's arm64 6.1 kernel under TCG (-M virt -cpu max): with
x-kvm-ptp=on it finds SMCCC v1.1 and KVM's services and its ptp_kvm driver
registers "KVM virtual PTP", whose clock is the host's wall clock; without
the property it sees what it sees today."""

import os
import re
import sys
import time

from xv.guest import guest_exit_status, linux_args
from xv.vm import VM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ptp_common import CPU_OFF, CPU_PTP, aarch64_binary, build_ptp_read  # noqa: E402

SCRIPT = r'''
dmesg | grep -E 'SMC Calling Convention|smccc|KVM|ptp' | sed 's/^/DMESG: /'
for c in /sys/class/ptp/*; do
    [ -e "$c/clock_name" ] && echo "PTPCLOCK: $(basename $c) $(cat $c/clock_name)"
done
if [ -e /dev/ptp0 ]; then
    /xv/ptp-read /dev/ptp0
else
    echo "PTP: no /dev/ptp0"
fi
echo "HOSTCHECK: done"
'''

PTP_LINE = re.compile(r'^PTP: clock=(\d+) real=(\d+) precise_dev=(\d+) precise_sys=(\d+) '
                      r'caps_xts=(\d+)$', re.M)


def boot(work, cpu, name):
    prog = build_ptp_read(work)
    args = linux_args(work, SCRIPT, files={'xv/ptp-read': prog}, arch='aarch64',
                      machine=['-M', 'virt', '-cpu', cpu])
    with VM(args, binary=aarch64_binary(), name=name) as vm:
        status = guest_exit_status(vm, timeout=300)
        # the guest prints every PTP line before the next one is read;
        # the host's time at the end bounds them from above
        t_end = time.time()
        vm.wait_exit(60)
        return vm.console, status, t_end


def test_linux_guest_gets_kvm_virtual_ptp(work):
    t_start = time.time()
    console, status, t_end = boot(work, CPU_PTP, 'linux-ptp')
    assert status == 0, 'the guest test failed:\n' + console[-3000:]
    assert re.search(r'^DMESG: .*psci: SMC Calling Convention v1\.1$', console, re.M), \
        console[-3000:]
    m = re.search(r'^DMESG: .*smccc: KVM: hypervisor services detected '
                  r'\(0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+)\)$',
                  console, re.M)
    assert m, 'no "hypervisor services detected" line:\n' + console[-3000:]
    assert [int(v, 16) for v in m.groups()] == [0, 0, 0, 3], m.group(0)
    assert re.search(r'^PTPCLOCK: ptp0 KVM virtual PTP$', console, re.M), console[-3000:]

    samples = [[int(v) for v in s] for s in PTP_LINE.findall(console)]
    assert len(samples) == 5, 'ptp-read did not report 5 samples:\n' + console[-3000:]
    offsets = []
    for clock, real, dev, sysrt, xts in samples:
        assert xts == 1, 'the PTP clock does not offer cross timestamps'
        # the PTP clock is the host's wall clock, read while the guest ran
        assert t_start * 1e9 <= clock <= t_end * 1e9, (clock, t_start, t_end)
        assert t_start * 1e9 <= dev <= t_end * 1e9, (dev, t_start, t_end)
        # and close to the guest's CLOCK_REALTIME (set from the PL031 RTC,
        # whole seconds at boot)
        assert abs(clock - real) < 3e9, 'PTP clock %d, CLOCK_REALTIME %d' % (clock, real)
        offsets.append((dev - sysrt, clock - real))
    # PTP_SYS_OFFSET_PRECISE pairs the wall clock with the guest's time at
    # the counter value of the same call: its offset must match the offset
    # of two plain reads made back to back (off by their distance only)
    for precise, plain in offsets:
        assert abs(precise - plain) < 50e6, \
            'cross timestamp offset %d ns, clock_gettime offset %d ns' % (precise, plain)
    spread = max(p for p, _ in offsets) - min(p for p, _ in offsets)
    assert spread < 20e6, 'cross timestamp offsets spread by %d ns: %r' % (spread, offsets)


def test_linux_guest_without_property(work):
    console, status, _ = boot(work, CPU_OFF, 'linux-noptp')
    assert status == 0, console[-3000:]
    assert re.search(r'^DMESG: .*psci: SMC Calling Convention v1\.0$', console, re.M), \
        console[-3000:]
    assert 'hypervisor services detected' not in console, console[-3000:]
    assert 'PTPCLOCK:' not in console, console[-3000:]
    assert 'PTP: no /dev/ptp0' in console, console[-3000:]
