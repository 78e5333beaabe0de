# SPDX-License-Identifier: GPL-2.0-or-later
"""The patch-queue pipeline: prepare, edit, export, re-prepare, checks.

Runs the real scripts on a throwaway queue in a temporary directory, so the
developer's build/src and patches/ are never touched.
"""

import os
import subprocess

from xv import ROOT

THROWAWAY_LINE = 'qemu-xv throwaway patch: proves the queue pipeline'


def script(name, *args, env=None, check=True):
    p = subprocess.run([os.path.join(ROOT, 'scripts', name)] + list(args),
                       env=env, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError('%s %s failed (%d):\n%s%s' % (name, ' '.join(args),
                             p.returncode, p.stdout, p.stderr))
    return p


def git(src, *args):
    return subprocess.run(['git', '-C', src, '-c', 'gc.auto=0', '-c', 'user.name=XV Test',
                           '-c', 'user.email=xv@example.org'] + list(args),
                          check=True, capture_output=True, text=True).stdout.strip()


def queue_env(work):
    # no 'git gc --auto' after the many commits: it detaches into the
    # background and outlives the test (the runner, a subreaper, sees it)
    env = dict(os.environ, GIT_CONFIG_COUNT='1', GIT_CONFIG_KEY_0='gc.auto',
               GIT_CONFIG_VALUE_0='0', XV_BUILD=os.path.join(work, 'build'),
               XV_PATCHES=os.path.join(work, 'patches'))
    os.makedirs(env['XV_PATCHES'])
    return env


def test_empty_and_nonempty_queue_round_trip(work):
    env = queue_env(work)
    src = os.path.join(env['XV_BUILD'], 'src')

    # an empty series gives the base: upstream + Debian's patches
    script('prepare.sh', env=env)
    assert git(src, 'rev-list', '--count', 'xv-base..HEAD') == '0'
    assert git(src, 'rev-list', '--count', 'HEAD') == '2'
    assert 'Debian' in git(src, 'log', '-1', '--format=%s', 'xv-base')

    # edit -> commit -> export writes patches/<feature>/0001-*.patch and the series
    with open(os.path.join(src, 'README.rst'), 'a') as f:
        f.write('\n' + THROWAWAY_LINE + '\n')
    git(src, 'commit', '-q', '-s', '-a', '-m', 'docs: add a throwaway line',
        '-m', 'Proves that the qemu-xv queue pipeline carries a patch.')
    out = script('export.sh', 'demo', env=env)
    series = open(os.path.join(env['XV_PATCHES'], 'series')).read().split('\n')
    entries = [s for s in series if s and not s.startswith('#')]
    assert entries == ['demo/0001-docs-add-a-throwaway-line.patch'], (entries, out.stderr)
    patch = open(os.path.join(env['XV_PATCHES'], entries[0])).read()
    assert THROWAWAY_LINE in patch and 'Signed-off-by: XV Test' in patch

    # the tree matches the queue, so prepare leaves it alone
    assert 'up to date' in script('prepare.sh', env=env).stderr

    # a commit that was never exported is not thrown away silently
    with open(os.path.join(src, 'README.rst'), 'a') as f:
        f.write('unexported\n')
    git(src, 'commit', '-q', '-a', '-m', 'unexported work')
    p = script('prepare.sh', env=env, check=False)
    assert p.returncode != 0 and 'make export' in p.stderr, p.stderr
    script('prepare.sh', env=dict(env, XV_FORCE='1'))
    assert git(src, 'log', '-1', '--format=%s') == 'docs: add a throwaway line'

    # a fresh tree from the queue has the patch as its own commit
    src2 = os.path.join(work, 'fresh')
    script('prepare.sh', src2, env=env)
    assert git(src2, 'rev-list', '--count', 'xv-base..HEAD') == '1'
    assert THROWAWAY_LINE in open(os.path.join(src2, 'README.rst')).read()
    assert git(src2, 'notes', '--ref=xv-patch', 'show', 'HEAD') == entries[0]

    # and the queue checks pass: it applies and checkpatch is happy
    out = script('check-patches.sh', env=env).stdout
    assert out.strip().endswith('2 passed, 0 failed'), out


def test_patch_that_does_not_apply_stops_with_its_name(work):
    env = queue_env(work)
    os.makedirs(os.path.join(env['XV_PATCHES'], 'broken'))
    bad = os.path.join(env['XV_PATCHES'], 'broken', '0001-broken.patch')
    with open(bad, 'w') as f:
        f.write('From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n'
                'From: XV Test <xv@example.org>\nDate: Sat, 1 Jan 2000 00:00:00 +0000\n'
                'Subject: [PATCH] broken\n\n---\n'
                '--- a/VERSION\n+++ b/VERSION\n@@ -1 +1 @@\n-9.9.9\n+10.0.0\n')
    with open(os.path.join(env['XV_PATCHES'], 'series'), 'w') as f:
        f.write('broken/0001-broken.patch\n')
    p = script('prepare.sh', env=env, check=False)
    assert p.returncode != 0
    assert 'patches/broken/0001-broken.patch does not apply' in p.stderr, p.stderr
    # the tree is left at the base, not half-applied
    src = os.path.join(env['XV_BUILD'], 'src')
    assert git(src, 'status', '--porcelain', '--untracked-files=no') == ''
    assert not os.path.exists(os.path.join(src, '.git', 'rebase-apply'))
    p = script('check-patches.sh', env=env, check=False)
    assert p.returncode != 0 and '0 passed, 1 failed' in p.stdout, p.stdout
