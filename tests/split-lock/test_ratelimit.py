# SPDX-License-Identifier: GPL-2.0-or-later
"""-machine bus-lock-ratelimit stalls vCPUs that take bus locks under TCG."""

import os
import sys
import time

from xv.vm import VM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from split_lock_common import CPU_NONE, microguest_args, results  # noqa: E402


def run(extra, smp=1):
    args = microguest_args(CPU_NONE, 'ratelimit')
    args[args.index('-M') + 1] += extra
    if smp > 1:
        # MTTCG: a split atomic cannot run in parallel and is executed
        # again by cpu_exec_step_atomic() with the other vCPUs parked
        args += ['-smp', str(smp), '-accel', 'tcg,thread=multi']
    with VM(args, name='ratelimit') as vm:
        vm.wait_console(r'^XV: ratelimit_start', timeout=60)
        t0 = time.monotonic()
        vm.wait_console(r'^XV: ratelimit_done', timeout=60)
        elapsed = time.monotonic() - t0
        r = results(vm.console)
        cnt = vm.cmd('x-query-x86-bus-locks')
        vm.console_write('x')
        vm.wait_exit(30, expect=1)    # isa-debug-exit, value 0
        return elapsed, r, cnt


def test_ratelimit_stalls_vcpu(work):
    # 20 split locks at 5 per second: at least 3 s
    elapsed, r, cnt = run(',bus-lock-ratelimit=5')
    assert r['ratelimit_mem'] == '0x14', r
    assert elapsed >= 2.5, 'not rate limited: %.2f s' % elapsed
    assert cnt[0]['bus-locks'] == 20, cnt
    assert cnt[0]['split-lock-ac'] == 0 and cnt[0]['bus-lock-db'] == 0, cnt


def test_ratelimit_mttcg_counts_once(work):
    # The same 20 split locks at -smp 2: each counted (and delayed) once,
    # so the same 3-4 s as at -smp 1, not twice as long
    elapsed, r, cnt = run(',bus-lock-ratelimit=5', smp=2)
    assert r['ratelimit_mem'] == '0x14', r
    assert len(cnt) == 2, cnt
    assert cnt[0]['bus-locks'] == 20, cnt
    assert cnt[1]['bus-locks'] == 0, cnt
    assert 2.5 <= elapsed < 6.0, 'elapsed %.2f s' % elapsed


def test_no_ratelimit_mttcg(work):
    elapsed, r, cnt = run('', smp=2)
    assert r['ratelimit_mem'] == '0x14', r
    assert elapsed < 2.0, 'slow without a rate limit: %.2f s' % elapsed
    assert [c['bus-locks'] for c in cnt] == [0, 0], cnt


def test_no_ratelimit(work):
    elapsed, r, cnt = run('')
    assert r['ratelimit_mem'] == '0x14', r
    assert elapsed < 2.0, 'slow without a rate limit: %.2f s' % elapsed
    assert cnt[0]['bus-locks'] == 0, cnt
