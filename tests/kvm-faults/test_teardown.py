# SPDX-License-Identifier: GPL-2.0-or-later
"""What kvm_arch_init() set up must not outlive a failed KVM start-up:
with -accel kvm -accel tcg the TCG guest must not see KVM's e820 reserved
entry for the identity map and TSS (0xfeffc000, 16 KiB).

The guest's view is SeaBIOS's e820 map, which it prints on the debug
console (port 0x402) from fw_cfg's etc/e820 and the RAM size.

Not tested here (no hardware or set-up for them on this host):
- the SEV set-up (RAM block notifier, cgs->ready): needs /dev/sev and an
  SEV-capable host, as sev_common_kvm_init() fails before it registers
  anything otherwise;
- the RAPL thread (-accel kvm,rapl=on): needs an Intel host with RAPL MSRs
  and qemu-vmsr-helper; kvm_msr_energy_thread_init() refuses other hosts.
"""

import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvm_faults_common as kf  # noqa: E402
from xv.vm import VM  # noqa: E402

KVM_IDENTITY = '00000000feffc000 - 00000000ff000000 = 2 RESERVED'


def _cap(name):
    for (kind, nr), n in kf.names().items():
        if kind == 'cap' and n == name:
            return nr
    raise AssertionError('%s not in <linux/kvm.h>' % name)


def guest_e820(enable_cap=None, accel=('kvm', 'tcg'), machine='q35'):
    """Boot SeaBIOS with one KVM_ENABLE_CAP failing; return (e820 map lines,
    stderr, whether the failure was injected)."""
    d = tempfile.mkdtemp(prefix='xvf-e820-')
    dbg = os.path.join(d, 'debugcon')
    trig = os.path.join(d, 'triggered')
    env = dict(os.environ, LD_PRELOAD=kf.shim(), XVF_TRIGGERED=trig)
    for k in ('XVF_REQ', 'XVF_NTH', 'XVF_ERRNO', 'XVF_CAP', 'XVF_CAP_RET', 'XVF_LOG'):
        env.pop(k, None)
    if enable_cap is not None:
        env.update(XVF_REQ=hex(kf.KVM_ENABLE_CAP), XVF_CAP=str(enable_cap),
                   XVF_NTH='1', XVF_ERRNO=str(kf.ENOMEM))
    args = ['-M', machine, '-m', '256M', '-chardev', 'file,id=dbg,path=' + dbg,
            '-device', 'isa-debugcon,iobase=0x402,chardev=dbg']
    for a in accel:
        args += ['-accel', a]
    vm = VM(args, binary=kf.binary(), name='e820', console=False, accel=None,
            prefix=kf.env_prefix(env))
    out = ''
    try:
        try:
            vm.launch()
        except AssertionError:
            pass    # QEMU exited at start: the missing map says so, with stderr
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and vm.proc and vm.proc.poll() is None:
            if os.path.exists(dbg):
                with open(dbg, errors='replace') as f:
                    out = f.read()
                m = re.search(r'e820 map has (\d+) items:\n', out)
                if m and len(out[m.end():].splitlines()) > int(m.group(1)):
                    break
            time.sleep(0.2)
    finally:
        vm.shutdown(check=False)
        err = vm.stderr()
        triggered = os.path.exists(trig)
        subprocess.run(['rm', '-rf', d])
    m = re.search(r'e820 map has (\d+) items:\n', out)
    assert m, 'no e820 map on the debug console:\n%s\n%s' % (out[-1500:], err)
    lines = [s.strip() for s in out[m.end():].splitlines()[:int(m.group(1))]]
    return lines, err, triggered


def _check_fallback(cap_name, machine='q35'):
    kf.need_kvm()
    e820, err, triggered = guest_e820(_cap(cap_name), machine=machine)
    if not triggered:
        raise kf.xv.Skip('KVM_ENABLE_CAP(%s) is not called on this host' % cap_name)
    assert 'falling back to tcg' in err, err
    bad = [s for s in e820 if KVM_IDENTITY in s]
    assert not bad, ('the TCG fallback keeps the KVM e820 entry', e820)


def test_kvm_e820_entry_in_use():
    """Sanity: under KVM the identity map is reserved."""
    kf.need_kvm()
    e820, err, _ = guest_e820(accel=('kvm',))
    assert any(KVM_IDENTITY in s for s in e820), (e820, err)


def test_e820_entry_removed_when_kvm_arch_init_fails():
    """KVM_CAP_X86_USER_SPACE_MSR is enabled late in kvm_arch_init(),
    after the e820 entry was added."""
    _check_fallback('KVM_CAP_X86_USER_SPACE_MSR')


def test_e820_entry_removed_when_kvm_init_fails_later():
    """KVM_CAP_SPLIT_IRQCHIP is enabled after kvm_arch_init() returned."""
    _check_fallback('KVM_CAP_SPLIT_IRQCHIP', machine='q35,kernel-irqchip=split')
