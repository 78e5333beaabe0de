#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""upstream-qtest.py [--base] [SUITE...]: run QEMU's own qtest suites on a build.
upstream-qtest.py --asan SUITE TEST...: run the named qtests of one suite on
the ASan/UBSan build (build/asan-obj, 'make check-asan'); any sanitizer
report in their logs is a failure.

SUITE is a meson suite such as qtest-x86_64; the default is the qtest suite
of every target the build has (qemu-system-* in it).

The tests run under TCG: /dev/kvm is hidden in a private mount namespace
(a bind mount of /dev/null over it), because this project's machines have a
nested KVM that cannot run every guest the qtests start, and results must not
depend on the host.  Tests listed in tests/upstream-qtest-known-failures fail
on the base as well; they are reported as known failures, counted as skipped.
A test listed as 'subset' runs only the named test cases (glib -p paths): the
whole of it does not fit CI's budget.  A test listed as 'except' runs every
case but the named ones (glib -s), which fail on the base too; each of those
is counted as skipped.  Prints 'N passed, N failed, N
skipped' last.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get('XV_BUILD', os.path.join(ROOT, 'build'))


def known_failures():
    """{name: (mode, reason)} and {name: [glib test path]} from
    tests/upstream-qtest-known-failures."""
    known, subsets = {}, {}
    # 'except' entries are subsets too: ('except', paths)
    with open(os.path.join(ROOT, 'tests', 'upstream-qtest-known-failures')) as f:
        for line in f:
            if line.strip() and not line.startswith('#'):
                name, mode, why = line.split(None, 2)
                assert mode in ('run', 'skip', 'subset', 'except'), line
                if mode in ('subset', 'except'):
                    paths, why = why.split(None, 1)
                    subsets[name] = (mode, paths.split(','))
                    continue
                known[name] = (mode, why.strip())
    return known, subsets


def under_tcg(cmd):
    """cmd, run where /dev/kvm is hidden (unless XV_QTEST_KVM=1)."""
    if os.path.exists('/dev/kvm') and os.environ.get('XV_QTEST_KVM') != '1':
        inner = 'mount --bind /dev/null /dev/kvm && exec "$@"'
        return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', inner, 'sh'] + cmd
    return cmd


def subset_skips(meson, obj, suite, name, paths, mode='subset'):
    """The glib test paths of test name, other than paths (mode subset) or
    paths themselves (mode except), as '-s' options.

    glib's -p selects by prefix and leaves the TAP plan at the whole count
    (meson then reports an error); skipping the others with -s keeps the
    plan and selects exactly."""
    tests = json.loads(subprocess.run([meson, 'introspect', '--tests', obj], check=True,
                                      capture_output=True, text=True).stdout)
    t = [t for t in tests if t['name'] == name and 'qemu:' + suite in t['suite']][0]
    env = dict(os.environ, **t['env'])
    listed = subprocess.run(under_tcg(t['cmd'] + ['-l']), cwd=t.get('workdir') or obj,
                            env=env, check=True, capture_output=True, text=True).stdout
    have = [line.strip() for line in listed.splitlines() if line.startswith('/')]
    missing = [p for p in paths if p not in have]
    assert not missing, '%s has no test case %s' % (name, ' '.join(missing))
    if mode == 'except':
        return ' '.join('-s ' + p for p in paths)
    return ' '.join('-s ' + p for p in have if p not in paths)


def meson_test(meson, obj, suite, logbase, names, extra=()):
    """Run 'meson test' on names (under TCG, see above); return its exit
    status and the results it logged, or None when it logged nothing."""
    cmd = under_tcg([meson, 'test', '-C', obj, '--no-rebuild', '--suite', suite,
                     '--num-processes', str(os.cpu_count()), '--logbase', logbase] +
                    list(extra) + names)
    env = dict(os.environ, MALLOC_PERTURB_=os.environ.get('MALLOC_PERTURB_', '0'))
    # a log left by an earlier run must never be read as this run's
    logjson = os.path.join(obj, 'meson-logs', logbase + '.json')
    if os.path.exists(logjson):
        os.unlink(logjson)
    rc = subprocess.run(cmd, env=env).returncode
    if not os.path.exists(logjson):
        return rc, None
    with open(logjson) as f:
        return rc, [json.loads(line) for line in f]


# A sanitizer report must fail the run: ASan and UBSan stop QEMU at the
# first report (libqtest then fails on its exit status), LSan's exit status
# fails it at exit, and the logs are searched for reports as well.
SANITIZER_ENV = {
    'ASAN_OPTIONS': 'halt_on_error=1:abort_on_error=1:detect_leaks=1:print_stacktrace=1',
    'UBSAN_OPTIONS': 'halt_on_error=1:abort_on_error=1:print_stacktrace=1',
    'LSAN_OPTIONS': 'exitcode=23',
}
SANITIZER_MARKS = ('ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:',
                   'SUMMARY: UndefinedBehaviorSanitizer')


# lines of a failed qtest's output that say why it failed: glib's
# assertion message and TAP's 'not ok' / 'Bail out!', libqtest's abort
WHY_MARKS = ('ERROR:', 'not ok ', 'Bail out!', 'assertion', 'Broken pipe',
             'kill_qemu', 'signal', 'timed out', 'Timeout')


def why_failed(t, limit=4):
    """The first lines of meson log entry t that say why it failed, each
    as '  qtest: LINE', for CI's short tail (scripts/check.sh repeats them)."""
    out = (t.get('stdout') or '') + (t.get('stderr') or '')
    lines = [line.strip() for line in out.splitlines()
             if any(m in line for m in WHY_MARKS)]
    return ['  qtest: ' + line[:300] for line in lines[:limit]]


def main_asan(suite, names):
    obj = os.path.join(BUILD, 'asan-obj')
    meson = os.path.join(obj, 'pyvenv', 'bin', 'meson')
    for k, v in SANITIZER_ENV.items():
        os.environ.setdefault(k, v)
    logbase = 'xv-asan-' + suite
    # meson names a qtest '<suite>/<test>'
    names = [n if '/' in n else suite + '/' + n for n in names]
    rc, results = meson_test(meson, obj, suite, logbase, names)
    if results is None:
        print('asan qtests: meson test wrote no log (exit status %d)' % rc)
        print('0 passed, 1 failed, 0 skipped')
        return 1
    passed = failed = skipped = reports = 0
    for t in results:
        out = (t.get('stdout') or '') + (t.get('stderr') or '')
        marks = [line for line in out.splitlines() if any(m in line for m in SANITIZER_MARKS)]
        reports += len(marks)
        if t['result'] == 'OK' and not marks:
            passed += 1
        elif t['result'] == 'SKIP' and not marks:
            skipped += 1
        else:
            failed += 1
            print('FAIL %s (%s)' % (t['name'], t['result']))
            for m in marks[:5]:
                print('  ' + m.strip()[:300])
    missing = set(names) - {t['name'].split(' / ')[-1] for t in results}
    for n in sorted(missing):
        failed += 1
        print('FAIL %s (not run)' % n)
    print('logs: %s' % os.path.join(obj, 'meson-logs', logbase + '.txt'))
    print('asan qtests: %d sanitizer reports' % reports)
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped), flush=True)
    return 1 if failed or passed == 0 else 0


def main():
    args = sys.argv[1:]
    obj = os.path.join(BUILD, 'obj')
    if args and args[0] == '--asan':
        if os.path.exists('/dev/kvm') and os.environ.get('XV_QTEST_KVM') != '1' \
                and os.geteuid() != 0:
            print('asan qtests: hiding /dev/kvm needs root', file=sys.stderr)
            return 1
        return main_asan(args[1], args[2:])
    if args and args[0] == '--base':
        obj = os.path.join(BUILD, 'base-obj')
        args = args[1:]
    suites = args or ['qtest-' + f[len('qemu-system-'):] for f in sorted(os.listdir(obj))
                      if f.startswith('qemu-system-') and os.access(os.path.join(obj, f), os.X_OK)
                      and not f.endswith('.p')]
    if os.path.exists('/dev/kvm') and os.environ.get('XV_QTEST_KVM') != '1':
        if os.geteuid() != 0:
            print('upstream qtests: hiding /dev/kvm needs root (unshare -m and a bind '
                  'mount): run as root, or set XV_QTEST_KVM=1 to let the qtests use KVM',
                  file=sys.stderr)
            return 1
        print('upstream qtests: /dev/kvm hidden, tests run under TCG', flush=True)
    total = [0, 0, 0]
    for suite in suites:
        counts = run_suite(obj, suite)
        print('=== %s: %d passed, %d failed, %d skipped' % ((suite,) + counts), flush=True)
        total = [a + b for a, b in zip(total, counts)]
    passed, failed, skipped = total
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped), flush=True)
    return 1 if failed or passed == 0 else 0


def run_suite(obj, suite):
    """Run one meson suite; return (passed, failed, skipped)."""
    meson = os.path.join(obj, 'pyvenv', 'bin', 'meson')
    # 'make' already built the qtests (they are in ninja's default targets);
    # 'make check-build' would also want Python packages from PyPI.
    known, subsets = known_failures()
    listed = subprocess.run([meson, 'test', '-C', obj, '--no-rebuild', '--list',
                             '--suite', suite], check=True, capture_output=True,
                            text=True).stdout.split('\n')
    names = [n.split(' / ')[-1].strip() for n in listed if ' / ' in n]
    all_tests = os.environ.get('XV_QTEST_ALL') == '1'
    skipped_here = [n for n in names if known.get(n, ('run',))[0] == 'skip' and not all_tests]
    subset_here = [n for n in names if n in subsets and not all_tests]
    run = [n for n in names if n not in skipped_here and n not in subset_here]
    logbase = 'xv-' + suite
    rc, results = meson_test(meson, obj, suite, logbase, run)
    if results is None:
        print('upstream qtests: meson test wrote no log (exit status %d)' % rc)
        return 0, 1, 0
    excepted = 0
    for n in subset_here:
        mode, paths = subsets[n]
        print('upstream qtests: %s, %d named cases %s: %s'
              % (n, len(paths), 'only' if mode == 'subset' else 'skipped (fail on the base too)',
                 ' '.join(paths)), flush=True)
        if mode == 'except':
            excepted += len(paths)
        extra = ['--test-args', subset_skips(meson, obj, suite, n, paths, mode)]
        src, sres = meson_test(meson, obj, suite, logbase + '-' + n.replace('/', '-'), [n],
                                extra)
        if sres is None:
            sres = [{'name': n, 'result': 'ERROR (no log, exit status %d)' % src}]
        rc = rc or src
        results += sres

    passed = failed = known_failed = 0
    skipped = excepted
    bad = []
    for n in skipped_here:
        skipped += 1
        print('not run: %s: %s' % (n, known[n][1]))
    for t in results:
        name = t['name'].split(' / ')[-1]
        res = t['result']
        if res == 'OK':
            passed += 1
            if name in known:
                print('note: %s passes now; drop it from the known failures' % name)
        elif res == 'SKIP':
            skipped += 1
        elif name in known:
            skipped += 1
            known_failed += 1
            print('known failure: %s (%s): %s' % (name, res, known[name][1]))
        else:
            failed += 1
            bad.append(['FAIL %s (%s)' % (name, res)] + why_failed(t))
    for b in bad:
        print('\n'.join(b))
    print('logs: %s' % os.path.join(obj, 'meson-logs', logbase + '.txt'))
    if rc != 0 and not failed and not known_failed:
        # meson failed, yet no test it logged failed: count that too
        print('FAIL meson test exited with status %d' % rc)
        failed += 1
    return passed, failed, skipped


if __name__ == '__main__':
    sys.exit(main())
