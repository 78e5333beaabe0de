# SPDX-License-Identifier: GPL-2.0-or-later
"""QMP robustness: a seeded generator of malformed, boundary and oversized
arguments for the queue's new QMP commands and for object-add/device_add/
object-del/device_del of the queue's new types.  Every request must get a
QMP return or error within REQ_TIMEOUT seconds, QEMU must stay up, its RSS
must stay under RSS_BOUND_KB, and after a refused x-subpage-wp-set the
x-query-subpage-wp state must be unchanged.

XV_QMP_FUZZ_SEED=N reproduces a run (the seed is printed);
XV_QMP_FUZZ_COUNT=N sets the requests per VM (default 10000 on x86_64)."""

import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import xv  # noqa: E402
from xv.vm import VM  # noqa: E402

TIMEOUT = 170
REQ_TIMEOUT = 10
# RSS may not grow by more than this over the run (the first reading after
# the warm-up is the reference): a leak of 1 KiB per request would pass it.
RSS_BOUND_KB = 64 * 1024
COUNT = int(os.environ.get('XV_QMP_FUZZ_COUNT', '10000'))
U64 = (1 << 64) - 1

SEED = int(os.environ.get('XV_QMP_FUZZ_SEED', str(int(time.time()) & 0xffffffff)))
print('qmp-fuzz seed %d (XV_QMP_FUZZ_SEED=%d reproduces)' % (SEED, SEED))


def rss_kb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


class Gen:
    def __init__(self, rng):
        self.r = rng

    def scalar(self):
        r = self.r
        return r.choice([
            0, 1, -1, U64, U64 + 1, -(1 << 63), 1 << 63, 0x1000, 0xfff, 0x1001,
            U64 & ~0xfff, 0xffffffff, 0x100000000, 1.5, float('1e300'),
            True, False, None, '', 'x', 'a' * r.choice([1, 255, 4096, 65536]),
            '\u00e9\u0000', [], {}, [1], {'a': 1}, r.getrandbits(64),
            r.getrandbits(32), -r.getrandbits(70)])

    def nested(self, depth):
        v = self.scalar()
        for _ in range(depth):
            v = [v] if self.r.random() < 0.5 else {'k': v}
        return v

    def value(self):
        r = self.r.random()
        if r < 0.85:
            return self.scalar()
        return self.nested(self.r.choice([2, 10, 100, 500]))

    def gpa(self):
        r = self.r
        return r.choice([
            0, 0x1000, 0x10000, 0x100000, 0x400000, 0x7fff000, U64, U64 & ~0xfff,
            U64 - 0xfff, 1 << 63, 0x1001, 0xfff, r.getrandbits(64),
            r.getrandbits(27) & ~0xfff, r.getrandbits(27), -1, 'x', 1.0, None])

    def page(self):
        r = self.r
        p = {'gpa': self.gpa(), 'mask': r.choice([
            0, 0xffffffff, 0x1, 0x80000000, 0x100000000, -1, r.getrandbits(32), 'x'])}
        c = r.random()
        if c < 0.05:
            del p['gpa']
        elif c < 0.1:
            del p['mask']
        elif c < 0.15:
            p['extra'] = self.value()
        elif c < 0.2:
            p[r.choice(['gpa', 'mask'])] = self.value()
        return p

    def pages(self):
        r = self.r
        c = r.random()
        if c < 0.1:
            return self.value()
        n = r.choice([0, 1, 2, 3, 16, 512, 513, 4096])
        base = r.getrandbits(20) << 12
        if r.random() < 0.5:
            # a contiguous batch, sometimes with duplicates and overflow
            ps = [{'gpa': (base + i * 0x1000) & U64, 'mask': r.getrandbits(32)}
                  for i in range(n)]
            if ps and r.random() < 0.3:
                ps.append(dict(ps[0]))
            if ps and r.random() < 0.2:
                ps[-1]['gpa'] = r.choice([U64, U64 & ~0xfff, 0x1001])
            return ps
        return [self.page() for _ in range(min(n, 64))]

    def args(self, members):
        """members: {name: generator}; drop, replace and add members."""
        a = {}
        for k, g in members.items():
            if self.r.random() < 0.9:
                a[k] = g() if self.r.random() < 0.8 else self.value()
        if self.r.random() < 0.1:
            a[self.r.choice(['extra', 'id', 'x' * 300, ''])] = self.value()
        return a


def ids(gen):
    return gen.r.choice(['o0', 'o1', 'swp0', 'd0', '', 'a' * 1000, '/x', 'o0', 'd0'])


def x86_requests(gen, prefer_ok):
    r = gen.r
    c = r.random()
    if c < 0.35:
        return 'x-subpage-wp-set', gen.args({'pages': gen.pages})
    if c < 0.42:
        return 'x-query-subpage-wp', gen.args({}) if r.random() < 0.3 else {}
    if c < 0.48:
        return 'x-query-x86-bus-locks', gen.args({}) if r.random() < 0.3 else {}
    if c < 0.52:
        return r.choice(['x-query-s390x-flic', 'x-query-s390x-pv']), {}
    if c < 0.70:
        t = r.choice(['subpage-wp', 'subpage-wp', 'x-s390-emulated-uv', 'memory-backend-ram'])
        a = gen.args({'action': lambda: r.choice(['report', 'pause', 'drop', 'x', 1]),
                      'backend': lambda: r.choice(['auto', 'emulated', 'kvm-spp', 'y']),
                      'rate-limit': lambda: r.choice([0, 1, 0xffffffff, 1 << 32, -1]),
                      'max-runs': lambda: r.choice([0, 1, 0xffffffff, 1 << 32, -1]),
                      'persist': lambda: r.choice([True, False, 'yes', 1])})
        a['qom-type'] = t if r.random() < 0.9 else gen.value()
        a['id'] = ids(gen) if r.random() < 0.95 else gen.value()
        return 'object-add', a
    if c < 0.78:
        return 'object-del', {'id': ids(gen)} if r.random() < 0.9 else gen.args({'id': gen.value})
    if c < 0.92:
        drv = r.choice(['iommu-testdev-pcie', 'iommu-testdev', 'intel-iommu'])
        a = gen.args({'x-nested': lambda: r.choice([True, False, 'on', 2]),
                      'pasid': lambda: r.choice([0, 1, 20, 21, 64, -1, True]),
                      'ats': lambda: r.choice([True, False, 'on']),
                      'bus': lambda: r.choice(['pcie.0', 'pci.0', 'nope', '']),
                      'addr': lambda: r.choice(['4.0', '1f.7', '20.0', 'zz', 7])})
        a['driver'] = drv if r.random() < 0.95 else gen.value()
        a['id'] = ids(gen)
        return 'device_add', a
    return 'device_del', {'id': ids(gen)} if r.random() < 0.9 else gen.args({'id': gen.value})


def s390_requests(gen, prefer_ok):
    r = gen.r
    c = r.random()
    if c < 0.4:
        return r.choice(['x-query-s390x-flic', 'x-query-s390x-pv']), \
            gen.args({}) if r.random() < 0.4 else {}
    if c < 0.7:
        a = gen.args({})
        a['qom-type'] = r.choice(['x-s390-emulated-uv', 'subpage-wp']) \
            if r.random() < 0.9 else gen.value()
        a['id'] = ids(gen)
        return 'object-add', a
    if c < 0.85:
        return 'object-del', {'id': ids(gen)}
    return r.choice(['x-subpage-wp-set', 'x-query-x86-bus-locks']), \
        gen.args({'pages': gen.pages})


def fuzz(vm, make, count, seed, check_state):
    gen = Gen(random.Random(seed))
    pid = vm.proc.pid
    counts = {'return': 0, 'error': 0}
    ref_rss = None
    max_rss = 0
    for i in range(count):
        name, args = make(gen, False)
        before = None
        if check_state and name == 'x-subpage-wp-set':
            before = vm._qmp_call('x-query-subpage-wp', None, REQ_TIMEOUT).get('return')
        resp = vm._qmp_call(name, args, REQ_TIMEOUT)
        assert vm.proc.poll() is None, 'QEMU exited after %s %r (seed %d, #%d)' % (
            name, args, seed, i)
        if 'return' in resp:
            counts['return'] += 1
        elif 'error' in resp and 'class' in resp['error'] and 'desc' in resp['error']:
            counts['error'] += 1
            if before is not None:
                after = vm._qmp_call('x-query-subpage-wp', None, REQ_TIMEOUT).get('return')
                assert after == before, \
                    'refused x-subpage-wp-set %r changed the state (seed %d, #%d):' \
                    ' %r -> %r' % (args, seed, i, before, after)
        else:
            raise AssertionError('not a QMP reply to %s: %r (seed %d, #%d)'
                                 % (name, resp, seed, i))
        if i % 250 == 0:
            vm._pull_events(0)
            kb = rss_kb(pid)
            max_rss = max(max_rss, kb)
            if i == 500:
                ref_rss = kb
            if ref_rss is not None:
                assert kb - ref_rss < RSS_BOUND_KB, \
                    'RSS grew from %d to %d KiB by request %d (seed %d)' % (ref_rss, kb, i, seed)
    print('  %d requests: %d returns, %d errors; RSS max %d KiB (ref %s, bound +%d KiB)'
          % (count, counts['return'], counts['error'], max_rss, ref_rss, RSS_BOUND_KB))
    return counts


def test_x86_64():
    args = ['-M', 'q35,kernel-irqchip=split', '-m', '128M', '-S',
            '-device', 'intel-iommu,intremap=on,scalable-mode=on,x-nested=on',
            '-object', 'subpage-wp,id=swp0']
    with VM(args, console=False, name='qmp-fuzz-x86') as vm:
        c = fuzz(vm, x86_requests, COUNT, SEED, True)
        assert c['return'] > 0 and c['error'] > 0, c
        vm.cmd('query-status')


def test_s390x():
    binary = xv.qemu_binary('s390x')
    if not os.path.exists(binary):
        raise xv.Skip('no ' + binary)
    with VM(['-M', 's390-ccw-virtio', '-m', '128M', '-S', '-nodefaults'],
            binary=binary, console=False, name='qmp-fuzz-s390x') as vm:
        c = fuzz(vm, s390_requests, COUNT, SEED + 1, False)
        assert c['return'] > 0 and c['error'] > 0, c
        vm.cmd('x-query-s390x-flic')
