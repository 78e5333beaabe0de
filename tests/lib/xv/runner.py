# SPDX-License-Identifier: GPL-2.0-or-later
"""Run test functions and print 'N passed, N failed' last.

A test is a function named test_* in a module tests/<suite>/test_*.py.  It
takes no arguments or one, a fresh working directory.  It passes by
returning, fails by raising, and is skipped by raising xv.Skip: a skipped test
is counted as skipped, never as passed.
"""

import importlib.util
import inspect
import os
import shutil
import sys
import tempfile
import time
import traceback

from . import ROOT, BUILD, Skip


def discover(suite):
    d = os.path.join(ROOT, 'tests', suite)
    tests = []
    for fn in sorted(os.listdir(d)):
        if not (fn.startswith('test_') and fn.endswith('.py')):
            continue
        spec = importlib.util.spec_from_file_location('xvtest_%s_%s' % (suite, fn[:-3]),
                                                      os.path.join(d, fn))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name, fnc in inspect.getmembers(mod, inspect.isfunction):
            if name.startswith('test_') and fnc.__module__ == mod.__name__:
                tests.append(('%s/%s:%s' % (suite, fn[:-3], name), fnc,
                              inspect.getsourcelines(fnc)[1]))
    # in file order, so suites read top to bottom
    return [(n, f) for n, f, _ in sorted(tests, key=lambda t: (t[0].split(':')[0], t[2]))]


def main(argv):
    suites = argv[1:] or ['foundation']
    pattern = os.environ.get('XV_TESTS')
    passed = failed = skipped = 0
    failures = []
    for suite in suites:
        for name, fnc in discover(suite):
            if pattern and pattern not in name:
                continue
            work = tempfile.mkdtemp(prefix='xvt-')
            logdir = os.path.join(BUILD, 'test-logs', name.replace(':', '.').replace('/', '.'))
            shutil.rmtree(logdir, ignore_errors=True)
            os.makedirs(logdir)
            os.environ['XV_LOGDIR'] = logdir
            t0 = time.monotonic()
            try:
                if inspect.signature(fnc).parameters:
                    fnc(work)
                else:
                    fnc()
            except Skip as e:
                skipped += 1
                print('SKIP %s: %s' % (name, e), flush=True)
            except BaseException as e:  # noqa: B902 - report everything
                if isinstance(e, KeyboardInterrupt):
                    raise
                failed += 1
                failures.append(name)
                print('FAIL %s (%.1fs)' % (name, time.monotonic() - t0), flush=True)
                print('  ' + ''.join(traceback.format_exception(e)).replace('\n', '\n  '))
                print('  logs: %s' % logdir, flush=True)
            else:
                passed += 1
                print('ok   %s (%.1fs)' % (name, time.monotonic() - t0), flush=True)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    if failures:
        print('failed: ' + ' '.join(failures))
    line = '%d passed, %d failed' % (passed, failed)
    if skipped:
        line += ', %d skipped' % skipped
    print(line, flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
