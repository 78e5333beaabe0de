#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Split lock detection: a TCG micro-guest running a CPU-bound loop of
aligned locked operations (lock add, lock inc, xchg), fork vs base.

- detection off: a CPU model without the features; the fork must not be
  slower than the base (goal: fork/base <= 1.01);
- detection on: the guest sets MSR_TEST_CTRL.SPLIT_LOCK_DETECT (the base
  ignores the write), so the fork checks every locked access;
- bus lock detection only: the guest sets DEBUGCTL.BUS_LOCK_DETECT and
  runs the loop at CPL 0, where no bus lock #DB is raised, so the fork
  must not check anything (goal: fork/base <= 1.01).

The figure is QEMU's CPU time (user + system) for the whole run."""

import os
import subprocess
import sys
import tempfile
import time

from common import compare

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'tests', 'split-lock'))
from split_lock_common import CPU_NONE, CPU_SLD, microguest  # noqa: E402


def run_guest(binary, cpu, mode):
    guest = microguest()
    with tempfile.TemporaryDirectory(prefix='xv-bench-sl-') as d:
        log = os.path.join(d, 'serial.log')
        cmd = [binary, '-nodefaults', '-display', 'none', '-accel', 'tcg',
               '-M', 'pc', '-m', '64M', '-cpu', cpu, '-no-reboot',
               '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
               '-serial', 'file:' + log, '-kernel', guest,
               '-append', 'mode=' + mode]
        # CPU time of QEMU (user + system), less sensitive than wall-clock
        # time to other load on the machine.  This is the one place QEMU is
        # not started through xv.VM or xv.run_to_exit: the measure is this
        # process's own rusage, which only os.wait4 on the child returns
        # (the harness's launchers reap QEMU themselves and keep no rusage)
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        # a deadline: a guest that spins must not hang the bench
        deadline = time.monotonic() + 600
        try:
            while True:
                pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    sys.exit('bench: the guest did not exit within 600 s')
                time.sleep(0.05)
        finally:
            if not pid:
                proc.kill()
                proc.wait()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode < 0:
            sys.exit('bench: QEMU died from signal %d' % -proc.returncode)
        elapsed = ru.ru_utime + ru.ru_stime
        with open(log) as f:
            out = f.read()
    if 'XV: bench_mem 0x17d78400' not in out:
        sys.exit('bench: the guest did not finish its loop:\n' + out[-500:])
    return elapsed


if __name__ == '__main__':
    compare('split lock: locked-op loop, detection off', 's',
            lambda b: run_guest(b, CPU_NONE, 'bench'))
    compare('split lock: locked-op loop, detection on', 's',
            lambda b: run_guest(b, CPU_SLD, 'bench-sld'))
    compare('split lock: locked-op loop at CPL 0, bus lock detection only',
            's', lambda b: run_guest(b, CPU_SLD, 'bench-bld'))
