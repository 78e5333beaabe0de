# SPDX-License-Identifier: GPL-2.0-or-later
"""Linux (Debian's 6.1 kernel) under TCG handles split locks and bus locks
the way it does on Intel hardware: split_lock_detect=warn|fatal|ratelimit:N|off
with a CPU model that enumerates split lock detection, and the bus lock #DB
path with a model that has bus lock detection only."""

import os
import re
import sys

from xv.guest import linux_args, guest_exit_status
from xv.vm import VM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from split_lock_common import counters, guest_program  # noqa: E402

PFX = 'x86/split lock detection: '

# Snowridge is family 6 model 0x86 (ATOM_TREMONT_D), in 6.1's model list,
# with CORE_CAPABILITIES.SPLIT_LOCK_DETECT; hypervisor=off is required or
# Linux never enables split lock detection.  Bus lock detection is added:
# with both, Linux uses #AC in warn and fatal modes and #DB in ratelimit
# mode.  Snowridge-v4 has neither core-capability nor split-lock-detect,
# so with bus-lock-detect added only the #DB path is left.
CPU_SLD = 'Snowridge-v3,hypervisor=off,+bus-lock-detect'
CPU_BLD = 'Snowridge-v4,+bus-lock-detect'

SCRIPT = r'''
grep -o -w -E 'split_lock_detect|bus_lock_detect' /proc/cpuinfo | sort -u | sed 's/^/XV-FLAG: /'
/xv/prog split %(count)d
echo "XV-RC: $?"
dmesg | grep -E 'split lock detection|traps: splitlock' | sed 's/^\[[^]]*\] //; s/^/XV-LOG: /'
'''


def boot(work, cpu, mode, count=1, name='linux'):
    """Boot, run the program once; return (console, rc, counters, events)."""
    append = 'split_lock_detect=%s' % mode if mode else ''
    args = linux_args(work, SCRIPT % {'count': count},
                      files={'xv/prog': guest_program()}, append=append,
                      machine=['-M', 'q35', '-cpu', cpu])
    with VM(args + ['-no-shutdown'], name=name) as vm:
        assert guest_exit_status(vm, timeout=400) == 0
        con = vm.console
        rc = int(re.search(r'^XV-RC: (\d+)', con, re.M).group(1))
        # the guest finished long ago: its events are queued already
        return con, rc, counters(vm), vm.events('X86_BUS_LOCK')


def insn(con):
    """Addresses of the program's locked instruction and of the next one."""
    m = re.search(r'^SPLITLOCK: insn 0x([0-9a-f]+) next 0x([0-9a-f]+)$', con, re.M)
    assert m, con[-2000:]
    return m.group(1), m.group(2)


def logs(con):
    return re.findall(r'^XV-LOG: (.*)$', con, re.M)


def flags(con):
    return set(re.findall(r'^XV-FLAG: (.*)$', con, re.M))


def has(con, pattern):
    return any(re.search(pattern, line) for line in logs(con))


def test_warn(work):
    con, rc, cnt, ev = boot(work, CPU_SLD, 'warn')
    assert flags(con) == {'split_lock_detect', 'bus_lock_detect'}, con[-3000:]
    assert has(con, re.escape(PFX + '#AC: crashing the kernel on kernel split_locks '
                              'and warning on user-space split_locks')), logs(con)
    # #AC is a fault: reported at the locked instruction
    assert has(con, re.escape(PFX) + r'#AC: splitlock/\d+ took a split_lock trap '
               r'at address: 0x%s$' % insn(con)[0]), logs(con)
    assert rc == 0
    # warn mode re-runs the instruction with detection off on that CPU, and
    # re-enables detection 2 jiffies later: if that comes first (a slow
    # TCG host), the instruction traps again before it completes once.
    assert re.search(r'^SPLITLOCK: done \d+ 1$', con, re.M), con[-2000:]
    assert cnt['split-lock-ac'] >= 1 and cnt['bus-lock-db'] == 0, cnt
    assert ev and ev[-1]['data']['kind'] == 'split-lock', ev


def test_fatal(work):
    con, rc, cnt, ev = boot(work, CPU_SLD, 'fatal')
    assert has(con, re.escape(PFX + '#AC: crashing the kernel on kernel split_locks '
                              'and sending SIGBUS on user-space split_locks')), logs(con)
    assert has(con, r'traps: splitlock\[\d+\] trap alignment check ip:%s ' % insn(con)[0]
               + r'.*error:0'), logs(con)
    assert rc == 128 + 7, 'expected SIGBUS, got exit status %d' % rc
    assert not re.search(r'^SPLITLOCK: done', con, re.M)
    assert cnt == {'split-lock-ac': 1, 'bus-lock-db': 0}, cnt


def test_ratelimit(work):
    # ratelimit turns #AC off and bus lock #DB on; 20 bus locks at 5/s
    con, rc, cnt, ev = boot(work, CPU_SLD, 'ratelimit:5', count=20)
    assert has(con, re.escape(PFX + '#DB: setting system wide bus lock rate limit '
                              'to 5/sec')), logs(con)
    assert has(con, re.escape(PFX) + r'#DB: splitlock/\d+ took a bus_lock trap'), logs(con)
    assert rc == 0
    m = re.search(r'^SPLITLOCK: done (\d+) 20$', con, re.M)
    assert m, con[-2000:]
    assert int(m.group(1)) >= 2000, 'not rate limited: %s ms' % m.group(1)
    assert cnt == {'split-lock-ac': 0, 'bus-lock-db': 20}, cnt
    assert ev and ev[-1]['data']['kind'] == 'bus-lock', ev


def test_off(work):
    con, rc, cnt, ev = boot(work, CPU_SLD, 'off')
    assert has(con, re.escape(PFX + 'disabled')), logs(con)
    assert not has(con, r'took a (split|bus)_lock trap'), logs(con)
    assert not has(con, r'#AC: crashing'), logs(con)
    assert rc == 0
    assert re.search(r'^SPLITLOCK: done \d+ 1$', con, re.M), con[-2000:]
    assert cnt == {'split-lock-ac': 0, 'bus-lock-db': 0}, cnt
    assert not ev


def test_bus_lock_warn(work):
    con, rc, cnt, ev = boot(work, CPU_BLD, 'warn')
    assert flags(con) == {'bus_lock_detect'}, flags(con)
    assert has(con, re.escape(PFX + '#DB: warning on user-space bus_locks')), logs(con)
    # #DB is a trap: reported after the locked instruction
    assert has(con, re.escape(PFX) + r'#DB: splitlock/\d+ took a bus_lock trap '
               r'at address: 0x%s$' % insn(con)[1]), logs(con)
    assert rc == 0
    assert re.search(r'^SPLITLOCK: done \d+ 1$', con, re.M), con[-2000:]
    assert cnt == {'split-lock-ac': 0, 'bus-lock-db': 1}, cnt


def test_bus_lock_fatal(work):
    con, rc, cnt, ev = boot(work, CPU_BLD, 'fatal')
    assert has(con, re.escape(PFX + '#DB: sending SIGBUS on user-space bus_locks')), logs(con)
    assert rc == 128 + 7, 'expected SIGBUS, got exit status %d' % rc
    # the #DB is a trap: the locked add was done before the signal
    assert not has(con, r'traps: splitlock'), logs(con)
    assert cnt == {'split-lock-ac': 0, 'bus-lock-db': 1}, cnt
