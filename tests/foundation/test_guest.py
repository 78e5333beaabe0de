# SPDX-License-Identifier: GPL-2.0-or-later
"""The test guest boots under TCG, runs a test's program and reports its status."""

import os
import sys

from xv.guest import linux_args, guest_exit_status
from xv.vm import VM

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import demo  # noqa: E402


def test_guest_runs_program_and_reports_status(work):
    script = 'echo "XV-UNAME: $(uname -m)"; lsmod | grep -q virtio_pci || exit 3; exit 7\n'
    with VM(linux_args(work, script), name='guest') as vm:
        assert guest_exit_status(vm) == 7, 'the program\'s exit status is not reported'
        assert vm.wait_console(r'^XV-UNAME: (.*)$', 5).group(1) == 'x86_64'
        assert vm.wait_exit(60) == 0


def test_demo_reads_file_through_scalable_mode_iommu(work):
    status, fline, dmar, root, console = demo.run_demo(work)
    assert status == 0, 'guest could not mount the virtio disk:\n' + console[-2000:]
    assert fline == demo.MESSAGE, fline
    assert 'scalable' in dmar.lower(), 'no DMAR scalable mode line: %r' % dmar
    # the guest's driver really put the IOMMU in scalable mode
    assert root.endswith('scalable 1'), 'root table not scalable-mode: %r' % root
