# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers shared by the split-lock suite: the micro-guest and its output."""

import os
import re
import subprocess

from xv import BUILD, up_to_date

HERE = os.path.dirname(os.path.abspath(__file__))

# A CPU model that enumerates split lock and bus lock detection, and one
# that does not.
CPU_SLD = 'qemu64,+core-capability,+split-lock-detect,+bus-lock-detect'
CPU_NONE = 'qemu64'


def microguest():
    """Build (once per build dir) and return the micro-guest ELF."""
    out_dir = os.path.join(BUILD, 'split-lock')
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, 'microguest.elf')
    srcs = [os.path.join(HERE, f) for f in
            ('microguest.c', 'microguest-start.S', 'build-microguest.sh')]
    if not up_to_date(out, *srcs):
        subprocess.run([os.path.join(HERE, 'build-microguest.sh'), out],
                       check=True)
    return out


def microguest_args(cpu, mode='msr'):
    return ['-M', 'pc', '-m', '64M', '-cpu', cpu, '-no-reboot',
            '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
            '-kernel', microguest(), '-append', 'mode=' + mode]


def results(console):
    """The micro-guest's 'XV: name value...' lines as {name: value...}."""
    out = {}
    for m in re.finditer(r'^XV: (\S+) ?(.*)$', console, re.M):
        out[m.group(1)] = m.group(2).strip()
    return out


def guest_program():
    """Build (once per build dir) and return the static guest program."""
    out_dir = os.path.join(BUILD, 'split-lock')
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, 'splitlock-prog')
    src = os.path.join(HERE, 'splitlock-prog.c')
    if not up_to_date(out, src):
        subprocess.run(['gcc', '-static', '-O2', '-Wall', '-Werror', '-o', out, src],
                       check=True)
    return out


def counters(vm):
    """Sum of the per-vCPU counters reported by x-query-x86-bus-locks."""
    total = {'split-lock-ac': 0, 'bus-lock-db': 0}
    for cpu in vm.cmd('x-query-x86-bus-locks'):
        for k in total:
            total[k] += cpu[k]
    return total
