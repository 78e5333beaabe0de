# SPDX-License-Identifier: GPL-2.0-or-later
"""KVM start-up fault injection: the kvmfault.so shim and the case runner.

One case starts QEMU (-M q35 -accel kvm [-accel tcg] -S) with kvmfault.so
preloaded, failing the N-th KVM ioctl of one kind (or making one
KVM_CHECK_EXTENSION return 0), and classifies what QEMU did:

  error-exit  exit status 1 with an error message, no signal
  fallback    KVM init failed, QEMU fell back to TCG: query-kvm enabled=false,
              the guest runs after 'cont', no KVM file descriptor left open,
              no KVM-SMRAM address space in 'info mtree'
  tolerated   KVM still in use and the guest runs (the failure was optional)
  stopped     KVM in use, the failure stopped the guest with an error
  crash       killed by a signal, an assertion, or a sanitizer report
  hang        no QMP and no exit within the timeout
  bad-*       came up but in a wrong state (details in the case's notes)

Run as a script for a table of one binary (the closing-note table):
  /usr/bin/python3 tests/kvm-faults/kvm_faults_common.py [--binary QEMU] [--caps]
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'lib'))

import xv  # noqa: E402
from xv.vm import VM  # noqa: E402

KVM_HEADERS = ['/usr/include/linux/kvm.h', '/usr/include/x86_64-linux-gnu/asm/kvm.h']
SANITIZER_RX = re.compile(r'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|'
                          r'runtime error:|Assertion .* failed|Aborted|core dumped')
ENOMEM = 12
# _IOW(KVMIO, 0xa3, struct kvm_enable_cap), as the shim matches it
KVM_ENABLE_CAP = 0x4068aea3


def work_dir():
    d = os.path.join(xv.BUILD, 'kvm-faults')
    os.makedirs(d, exist_ok=True)
    return d


_newer = xv.up_to_date


def shim():
    """Build kvmfault.so (once) into $XV_BUILD/kvm-faults; return its path."""
    src = os.path.join(HERE, 'kvmfault.c')
    so = os.path.join(work_dir(), 'kvmfault.so')
    if not _newer(so, src):
        subprocess.run(['cc', '-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-o', so + '.tmp',
                        src, '-ldl'], check=True)
        os.rename(so + '.tmp', so)
    return so


_names = None


def names():
    """{request or capability number: name}, from the installed KVM headers.

    Requests map as ('req', nr) -> name, capabilities as ('cap', nr) -> name.
    The numbers are computed by the C compiler, never written down here.
    """
    global _names
    if _names is not None:
        return _names
    reqs, caps = set(), set()
    for h in KVM_HEADERS:
        if not os.path.exists(h):
            continue
        text = open(h).read()
        reqs.update(re.findall(r'^#define\s+(KVM_[A-Z0-9_]+)\s+_IO[RW]*\(KVMIO', text, re.M))
        caps.update(re.findall(r'^#define\s+(KVM_CAP_[A-Z0-9_]+)\s+\d+\b', text, re.M))
    src = os.path.join(work_dir(), 'kvmnames.c')
    exe = os.path.join(work_dir(), 'kvmnames')
    lines = ['    printf("req %%#lx %s\\n", (unsigned long)(%s) & 0xffffffffUL);' % (n, n)
             for n in sorted(reqs)]
    lines += ['    printf("cap %%#lx %s\\n", (unsigned long)(%s));' % (n, n)
              for n in sorted(caps)]
    head = ['#include <stdio.h>', '#include <linux/kvm.h>', 'int main(void)', '{']
    for _ in range(5):
        with open(src, 'w') as f:
            f.write('\n'.join(head + lines + ['    return 0;', '}', '']))
        cc = subprocess.run(['cc', '-w', '-o', exe, src], capture_output=True, text=True)
        if cc.returncode == 0:
            break
        # requests of other architectures use structs x86 does not define
        bad = {int(n) - len(head) - 1
               for n in re.findall(r'kvmnames\.c:(\d+):\d+: error', cc.stderr)}
        if not bad:
            raise AssertionError(cc.stderr)
        lines = [ln for i, ln in enumerate(lines) if i not in bad]
    else:
        raise AssertionError(cc.stderr)
    out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    _names = {}
    for line in out.splitlines():
        kind, nr, name = line.split()
        _names.setdefault((kind, int(nr, 16)), name)
    return _names


def req_name(nr):
    return names().get(('req', nr), '%#x' % nr)


def cap_name(nr):
    return names().get(('cap', nr), 'cap %d' % nr)


def asan_binary():
    b = xv.qemu_binary('x86_64', 'asan')
    return b if os.path.exists(b) else None


def asan_binary_or_skip():
    """The ASan/UBSan build, or skip the test (never counted as passed)."""
    b = asan_binary()
    if not b and os.environ.get('XV_QEMU_X86_64_ASAN'):
        raise AssertionError('XV_QEMU_X86_64_ASAN names %s, which does not exist'
                             % os.environ['XV_QEMU_X86_64_ASAN'])
    if not b:
        raise xv.Skip('no ASan/UBSan build (%s): run make asan or set '
                      'XV_QEMU_X86_64_ASAN; the sanitizer checks did not run'
                      % xv.qemu_binary('x86_64', 'asan'))
    return b


def binary():
    return xv.qemu_binary()


need_kvm = xv.need_kvm


def sanitizer_env(env):
    env['ASAN_OPTIONS'] = ('verify_asan_link_order=0:detect_leaks=1:abort_on_error=0:'
                           'exitcode=66:halt_on_error=1')
    env['UBSAN_OPTIONS'] = 'print_stacktrace=1:halt_on_error=1:exitcode=67'
    supp = os.path.join(HERE, 'lsan.supp')
    if os.path.exists(supp):
        env['LSAN_OPTIONS'] = 'suppressions=%s:print_suppressions=0' % supp
    return env


def kvm_fds(pid):
    """Descriptors of pid that refer to /dev/kvm or a KVM anon inode."""
    out = []
    d = '/proc/%d/fd' % pid
    for fd in os.listdir(d):
        try:
            t = os.readlink(os.path.join(d, fd))
        except OSError:
            continue
        if t == '/dev/kvm' or t.startswith('anon_inode:kvm'):
            out.append('%s->%s' % (fd, t))
    return out


class Result:
    def __init__(self):
        self.outcome = None
        self.status = None
        self.stderr = ''
        self.notes = []
        self.triggered = False
        self.kvm_enabled = None
        self.fell_back = False

    def first_error(self):
        """The first error line, if QEMU printed it the standard way
        (error_report(): program name, then the message)."""
        for line in self.stderr.splitlines():
            if line.startswith('qemu-system') and 'warning' not in line:
                return line.split(': ', 1)[-1][:150]
        return ''

    def summary(self):
        s = self.outcome
        if self.notes:
            s += ' (' + '; '.join(self.notes) + ')'
        return s


def cap_number(name):
    """The number of capability KVM_CAP_<name> in the installed <linux/kvm.h>."""
    for (kind, nr), n in names().items():
        if kind == 'cap' and n == name:
            return nr
    raise AssertionError('%s not in <linux/kvm.h>' % name)


def req_number(name):
    for (kind, nr), n in names().items():
        if kind == 'req' and n == name:
            return nr
    raise AssertionError('%s not in <linux/kvm.h>' % name)


def host_env(caps=None, cpuid_clear=(), msr_clear=None):
    """Shim variables that make the host look the same on every machine:
    caps {KVM_CAP name: value every check returns}, cpuid_clear
    ['leaf.subleaf.reg.bit'] cleared in KVM_GET_SUPPORTED_CPUID,
    msr_clear {msr: mask} cleared in KVM_GET_MSRS (the feature MSRs)."""
    env = {}
    if caps:
        env['XVF_CAPS'] = ','.join('%d=%d' % (cap_number(n), v) for n, v in caps.items())
    if cpuid_clear:
        env['XVF_CPUID_CLEAR'] = ','.join(cpuid_clear)
    if msr_clear:
        env['XVF_MSR_CLEAR'] = ','.join('0x%x:0x%x' % kv for kv in msr_clear.items())
    return env


def env_prefix(env):
    """QEMUMachine's wrapper that gives QEMU the environment env: env(1)
    unsets what env lacks (stale XVF_* settings) and sets what differs."""
    prefix = ['env'] + ['--unset=' + k for k in os.environ if k not in env]
    return prefix + ['%s=%s' % (k, v) for k, v in env.items() if os.environ.get(k) != v]


def run_case(qemu=None, req=None, nth=1, err=ENOMEM, cap=None, cap_ret=0, fallback=False,
             machine='q35', extra=(), sanitize=False, timeout=60, log=None,
             enable_cap=None, partial=False, host=None):
    """Start QEMU with one injected KVM failure and classify the outcome.

    cap: the nth check of this capability (nth=0: every check) returns
    cap_ret.  enable_cap: fail the nth KVM_ENABLE_CAP
    of this capability with err.  partial: the injected KVM_SET_MSRS sets
    one MSR fewer than asked instead of failing.  host: host_env() fakes."""
    qemu = qemu or binary()
    r = Result()
    d = tempfile.mkdtemp(prefix='xvf-')
    trig = os.path.join(d, 'triggered')
    env = dict(os.environ, LD_PRELOAD=shim(), XVF_TRIGGERED=trig)
    for k in [k for k in env if k.startswith('XVF_') and k != 'XVF_TRIGGERED']:
        env.pop(k)
    env.update(host or {})
    if req is not None:
        env.update(XVF_REQ=hex(req), XVF_NTH=str(nth), XVF_ERRNO=str(err))
        if partial:
            env['XVF_PARTIAL'] = '1'
    if cap is not None:
        env.update(XVF_REQ=hex(0xae03), XVF_CAP=str(cap), XVF_CAP_RET=str(cap_ret),
                   XVF_NTH=str(nth))
    if enable_cap is not None:
        env.update(XVF_REQ=hex(KVM_ENABLE_CAP), XVF_CAP=str(enable_cap),
                   XVF_NTH=str(nth), XVF_ERRNO=str(err))
    if log:
        env['XVF_LOG'] = log
    if sanitize:
        sanitizer_env(env)
    prefix = env_prefix(env)
    args = ['-S', '-M', machine] + (['-accel', 'tcg'] if fallback else []) + list(extra)
    vm = VM(args, binary=qemu, name='kvmfault', console=False, accel='kvm',
            prefix=prefix, launch_timeout=timeout)
    deadline = time.monotonic() + timeout
    try:
        try:
            vm.launch()
            launched = True
        except AssertionError as e:
            launched = False
            if 'did not answer QMP' in str(e):
                r.outcome = 'hang'
        if launched:
            _probe(vm, r, fallback)
        # quit, killed (status -9) when it does not exit in time
        vm.quit_timeout = max(5, deadline - time.monotonic())
        vm.shutdown(check=False)
        if launched and vm.proc.returncode == -9:
            r.outcome = r.outcome or 'hang'
    finally:
        vm.shutdown(check=False)
        r.stderr = vm.stderr()
        r.triggered = os.path.exists(trig)
        r.status = vm.proc.returncode if vm.proc else None
        subprocess.run(['rm', '-rf', d])
    _classify(r)
    return r


def _probe(vm, r, fallback):
    # vm.cmd: ids of its own and a time limit, a dead QEMU fails at once
    cmd = vm.cmd
    try:
        kvm = cmd('query-kvm')
        r.kvm_enabled = kvm['enabled']
        fds = kvm_fds(vm.proc.pid)
        mtree = cmd('human-monitor-command', **{'command-line': 'info mtree'})
        cmd('cont')
        time.sleep(0.2)
        status = cmd('query-status')['status']
    except Exception as e:  # QEMU died under us
        r.notes.append('QMP failed: %s' % e)
        r.outcome = None
        return
    if not r.kvm_enabled:
        r.fell_back = True
        bad = []
        if fds:
            bad.append('KVM fds left open: ' + ' '.join(fds))
        if 'KVM-SMRAM' in mtree:
            bad.append('KVM-SMRAM address space left behind')
        if status != 'running':
            bad.append('TCG guest status %s' % status)
        if bad:
            r.notes += bad
            r.outcome = 'bad-fallback'
        else:
            r.outcome = 'fallback'
    elif status == 'running':
        r.outcome = 'tolerated'
    else:
        r.notes.append('status %s' % status)
        r.outcome = 'stopped'


def _classify(r):
    san = SANITIZER_RX.search(r.stderr)
    if r.status is not None and r.status < 0:
        r.notes.insert(0, 'signal %s' % signal.Signals(-r.status).name)
        r.outcome = 'crash'
    elif r.status in (66, 67) or san:
        if san:
            r.notes.insert(0, san.group(0))
        r.outcome = 'crash'
    elif r.outcome in ('hang',):
        pass
    elif r.outcome in ('fallback', 'tolerated', 'stopped', 'bad-fallback'):
        if r.status != 0:
            r.notes.append('exit status %d after quit' % r.status)
            r.outcome = 'bad-quit'
    else:
        # never reached QMP: it must be a clean error exit
        if r.status == 1 and r.first_error():
            r.outcome = 'error-exit'
            r.notes.append(r.first_error())
        else:
            r.outcome = 'bad-exit'
            r.notes.append('status %s: %s' % (r.status, r.stderr.strip()[-300:]))


def record(qemu=None, machine='q35', sanitize=False):
    """Run QEMU once without a failure; return the KVM ioctl log as a list of
    (request, capability-or-0, result) in call order."""
    log = os.path.join(tempfile.mkdtemp(prefix='xvf-log-'), 'ioctls')
    r = run_case(qemu, log=log, machine=machine, sanitize=sanitize)
    if r.outcome != 'tolerated':
        raise AssertionError('QEMU with KVM does not start here without faults: %s\n%s'
                             % (r.summary(), r.stderr))
    calls = []
    for line in open(log):
        req, arg, ret, _ = line.split()
        calls.append((int(req, 16), int(arg, 16), int(ret)))
    subprocess.run(['rm', '-rf', os.path.dirname(log)])
    return calls


MACHINE_PHASE_NAMES = ('KVM_CREATE_VCPU', 'KVM_SET_USER_MEMORY_REGION',
                       'KVM_SET_USER_MEMORY_REGION2')


def init_phase_end(calls):
    """Index of the first call made after kvm_init() (accelerator set-up).

    kvm_init() ends by checking KVM_CAP_BINARY_STATS_FD; without it, the
    first vCPU creation or memory slot marks the machine phase."""
    for i, (req, cap, _) in enumerate(calls):
        if req == 0xae03 and cap_name(cap) == 'KVM_CAP_BINARY_STATS_FD':
            return i + 1
    for i, (req, _, _) in enumerate(calls):
        if req_name(req) in MACHINE_PHASE_NAMES:
            return i
    return len(calls)


def request_points(calls):
    """Distinct requests in first-call order: (req, nth=1, in_init_phase)."""
    end = init_phase_end(calls)
    seen, out = set(), []
    for i, (req, _, _) in enumerate(calls):
        if req == 0xae03 or req in seen:      # KVM_CHECK_EXTENSION: see cap_points
            continue
        seen.add(req)
        out.append((req, 1, i < end))
    return out


def cap_points(calls):
    """Capabilities the host reports (non-zero) in first-check order:
    (cap, in_init_phase).  Reporting 0 for each drives QEMU's fallback paths."""
    end = init_phase_end(calls)
    seen, out = set(), []
    for i, (req, cap, ret) in enumerate(calls):
        if req != 0xae03 or cap in seen:
            continue
        seen.add(cap)
        if ret > 0:
            out.append((cap, i < end))
    return out


def judge(r, fallback, init_phase, cap=False):
    """None if the outcome is acceptable, else why not.

    A failure injected into kvm_init() must fall back when '-accel tcg' is
    configured.  For a request the recording tells whether its call is in
    kvm_init(); a capability reported as missing can also be acted on later
    (when devices are created), so there only an error reported by kvm_init()
    itself requires the fallback."""
    if r.outcome in ('crash', 'hang') or r.outcome.startswith('bad'):
        return r.summary()
    if cap:
        in_init = 'failed to initialize kvm' in r.stderr
    else:
        in_init = init_phase and r.triggered
    if fallback and in_init and r.outcome == 'error-exit':
        return 'KVM init failed but QEMU did not fall back to TCG: ' + r.summary()
    if r.outcome == 'fallback' and not fallback:
        return 'fell back without a fallback configured'
    return None


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--binary', default=None)
    ap.add_argument('--caps', action='store_true', help='also the CHECK_EXTENSION points')
    ap.add_argument('--sanitize', action='store_true')
    a = ap.parse_args(argv[1:])
    calls = record(a.binary)
    points = [('req', req, nth, init) for req, nth, init in request_points(calls)]
    if a.caps:
        points += [('cap', cap, 1, init) for cap, init in cap_points(calls)]
    print('| failure point | phase | -accel kvm | -accel kvm -accel tcg |')
    print('|---|---|---|---|')
    for kind, nr, nth, init in points:
        row = []
        for fb in (False, True):
            if kind == 'req':
                r = run_case(a.binary, req=nr, nth=nth, fallback=fb, sanitize=a.sanitize)
            else:
                r = run_case(a.binary, cap=nr, nth=0, fallback=fb, sanitize=a.sanitize)
            bad = judge(r, fb, init, cap=kind == 'cap')
            row.append(('**FAIL** ' if bad else '') +
                       ' '.join(r.summary().replace('|', '/').split()))
        name = req_name(nr) if kind == 'req' else 'CHECK_EXTENSION(%s)=0' % cap_name(nr)
        print('| %s | %s | %s | %s |' % (name, 'init' if init else 'machine', row[0], row[1]),
              flush=True)


if __name__ == '__main__':
    main(sys.argv)
