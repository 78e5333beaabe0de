# SPDX-License-Identifier: GPL-2.0-or-later
"""Fail every KVM ioctl QEMU issues at start-up, one kind at a time.

The ioctl sequence is recorded first (q35, -accel kvm -S, quit), so the
matrix follows what this QEMU on this host really does.  Each distinct
request fails on its first call (ENOMEM), with and without '-accel tcg'
configured as a fallback; each capability the host reports is also made to
read as unsupported, on every check of it.  See kvm_faults_common.py for the outcomes and judge() for
what is acceptable.  Cases listed in ./known-failures (with the reason) are
printed as KNOWN instead of failing (the list is empty).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvm_faults_common as kf  # noqa: E402

_calls = None


def calls():
    global _calls
    if _calls is None:
        kf.need_kvm()
        _calls = kf.record()
    return _calls


def known_failures():
    out = {}
    path = os.path.join(kf.HERE, 'known-failures')
    for line in open(path):
        line = line.strip()
        if line and not line.startswith('#'):
            name, _, why = line.partition(' ')
            out[name] = why.strip()
    return out


def _sweep(points, fallback, qemu=None, sanitize=False, caps=False):
    known = known_failures()
    bad, seen_known = [], []
    t0 = time.monotonic()
    for nr, init in points:
        if caps:
            name = 'CAP:' + kf.cap_name(nr)
            # every check of the capability reads 0, not only the first
            r = kf.run_case(qemu, cap=nr, nth=0, fallback=fallback, sanitize=sanitize)
        else:
            name = kf.req_name(nr)
            r = kf.run_case(qemu, req=nr, fallback=fallback, sanitize=sanitize)
        why = kf.judge(r, fallback, init, cap=caps)
        tag = 'init' if init else 'machine'
        if why and name in known:
            seen_known.append(name)
            print('  KNOWN %-34s %-7s %s' % (name, tag, why), flush=True)
        elif why:
            bad.append('%s (%s phase): %s' % (name, tag, why))
            print('  FAIL  %-34s %-7s %s' % (name, tag, why), flush=True)
        else:
            print('  ok    %-34s %-7s %s' % (name, tag, r.summary()), flush=True)
    print('  %d cases in %.0fs, %d known failures' % (len(points), time.monotonic() - t0,
                                                     len(seen_known)))
    if bad:
        raise AssertionError('%d injected failures handled badly:\n  %s'
                             % (len(bad), '\n  '.join(bad)))


def _req_points():
    return [(req, init) for req, _, init in kf.request_points(calls())]


def test_startup_ioctls_recorded():
    """The recording sees the start-up ioctls the issue names; without this
    the matrix below could silently shrink."""
    names = {kf.req_name(req) for req, _, _ in calls()}
    want = {'KVM_GET_API_VERSION', 'KVM_CREATE_VM', 'KVM_CHECK_EXTENSION',
            'KVM_CREATE_IRQCHIP', 'KVM_SET_TSS_ADDR', 'KVM_SET_IDENTITY_MAP_ADDR',
            'KVM_CREATE_VCPU', 'KVM_SET_CPUID2', 'KVM_SET_MSRS', 'KVM_ENABLE_CAP'}
    missing = want - names
    slots = names & {'KVM_SET_USER_MEMORY_REGION', 'KVM_SET_USER_MEMORY_REGION2'}
    assert not missing, 'not seen at start-up: %s' % sorted(missing)
    assert slots, 'no memory slot was set up'
    end = kf.init_phase_end(calls())
    assert 0 < end < len(calls()), 'no boundary between kvm_init and the machine'
    print('  %d KVM ioctls, %d distinct requests, %d in kvm_init; %d capability checks'
          % (len(calls()), len(names), end, sum(1 for c in calls() if c[0] == 0xae03)))


def test_requests_without_fallback():
    _sweep(_req_points(), fallback=False)


def test_requests_with_tcg_fallback():
    _sweep(_req_points(), fallback=True)


def test_capabilities_without_fallback():
    _sweep(kf.cap_points(calls()), fallback=False, caps=True)


def test_capabilities_with_tcg_fallback():
    _sweep(kf.cap_points(calls()), fallback=True, caps=True)


def test_asan_requests():
    """Under ASan/UBSan/LSan: every request failure, with and without TCG
    fallback, exits, falls back or carries on without a sanitizer report."""
    b = kf.asan_binary_or_skip()
    pts = [(req, init) for req, _, init in kf.request_points(kf.record(b, sanitize=True))]
    _sweep(pts, fallback=False, qemu=b, sanitize=True)
    _sweep(pts, fallback=True, qemu=b, sanitize=True)


def test_asan_capabilities_with_tcg_fallback():
    b = kf.asan_binary_or_skip()
    _sweep(kf.cap_points(kf.record(b, sanitize=True)), fallback=True, qemu=b,
           sanitize=True, caps=True)


def _split_irqchip_cap():
    return [k[1] for k, n in kf.names().items()
            if k[0] == 'cap' and n == 'KVM_CAP_SPLIT_IRQCHIP'][0]


def _split_irqchip_refused(fallback, qemu=None, sanitize=False):
    """-M kernel-irqchip=split: the kernel refuses KVM_CAP_SPLIT_IRQCHIP
    (exit(1) in kvm_arch_irqchip_create before the fix: no TCG fallback)."""
    kf.need_kvm()
    r = kf.run_case(qemu, enable_cap=_split_irqchip_cap(), fallback=fallback,
                    machine='q35,kernel-irqchip=split', sanitize=sanitize)
    assert r.triggered, 'KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP) was not called'
    assert 'Could not enable split irqchip mode: Cannot allocate memory' in r.stderr, \
        r.stderr
    why = kf.judge(r, fallback, True)
    assert why is None, why
    if fallback:
        assert r.outcome == 'fallback', r.summary()
    else:
        assert r.outcome == 'error-exit', r.summary()
    return r


def test_split_irqchip_refused_without_fallback():
    _split_irqchip_refused(False)


def test_split_irqchip_refused_with_tcg_fallback():
    _split_irqchip_refused(True)


def test_asan_split_irqchip_refused_with_tcg_fallback():
    _split_irqchip_refused(True, kf.asan_binary_or_skip(), sanitize=True)
