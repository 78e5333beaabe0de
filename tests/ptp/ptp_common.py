# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers of the ptp suite: build the aarch64 programs, run the SMCCC
micro-guest, parse its "XV: name=value" lines."""

import os
import shutil
import subprocess

import xv
from xv.vm import VM

HERE = os.path.dirname(os.path.abspath(__file__))

# -cpu max without the property is today's firmware; pauth-impdef only
# makes TCG faster
CPU_OFF = 'max,pauth-impdef=on'
CPU_PTP = 'max,pauth-impdef=on,x-kvm-ptp=on'

NOT_SUPPORTED = 0xffffffffffffffff
KVM_UID = (0xb66fb428, 0xe911c52e, 0x564bcaa9, 0x743a004d)


def need_tools():
    for tool in ('clang', 'ld.lld'):
        if not shutil.which(tool):
            raise AssertionError('%s is missing: run "sudo make deps" (packages clang, lld)'
                                 % tool)


def aarch64_binary(flavour='fork'):
    path = xv.qemu_binary('aarch64', flavour)
    if not os.access(path, os.X_OK):
        raise AssertionError('%s is missing: build with aarch64-softmmu in XV_TARGETS'
                             % path)
    return path


def build(work, what):
    """Build microguest or ptp-read (build-aarch64.sh) into work."""
    need_tools()
    out = os.path.join(work, what)
    subprocess.run([os.path.join(HERE, 'build-aarch64.sh'), what, out], check=True)
    return out


def build_microguest(work):
    return build(work, 'microguest')


def build_ptp_read(work):
    return build(work, 'ptp-read')


def parse(console):
    """{name: [int, ...]} of the micro-guest's "XV: name=0x..,0x.." lines."""
    r = {}
    for line in console.splitlines():
        if line.startswith('XV: ') and '=' in line:
            name, vals = line[4:].split('=', 1)
            r[name] = [int(v, 16) for v in vals.split(',')]
    return r


def run_microguest(work, cpu, binary=None, name='smccc'):
    """Run the micro-guest with -cpu cpu; return its parsed report.

    The guest powers off through PSCI SYSTEM_OFF once it is done.
    """
    elf = build_microguest(work)
    args = ['-M', 'virt', '-cpu', cpu, '-m', '128M', '-kernel', elf, '-no-reboot']
    with VM(args, binary=binary or aarch64_binary(), name=name) as vm:
        vm.wait_console(r'^XV: done', timeout=60)
        assert vm.wait_exit(30) == 0, 'QEMU exited with an error'
        return parse(vm.console)
