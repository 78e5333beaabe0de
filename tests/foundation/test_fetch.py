# SPDX-License-Identifier: GPL-2.0-or-later
"""Fetching: caches are verified, downloads are verified, failures say what to do."""

import hashlib
import os
import shutil
import subprocess

from xv import ROOT, lock_field

DEBIAN_TAR = 'qemu_11.1.1+ds-1.debian.tar.xz'


def fetch(env, *names):
    return subprocess.run([os.path.join(ROOT, 'scripts', 'fetch.sh')] + list(names),
                          env=env, capture_output=True, text=True)


def lock_sha(name):
    return lock_field('file', name)


def isolated(work, **extra):
    env = dict(os.environ, XV_CACHE=os.path.join(work, 'cache'),
               XV_SHARED_CACHE=os.path.join(work, 'no-shared-cache'))
    env.pop('XV_OFFLINE', None)
    env.update(extra)
    return env


def test_every_locked_file_is_present_and_verified():
    # offline: a missing pin fails here, named, instead of downloading
    p = fetch(dict(os.environ, XV_OFFLINE='1'))
    assert p.returncode == 0, p.stderr
    for path in p.stdout.split():
        name = os.path.basename(path)
        with open(path, 'rb') as f:
            assert hashlib.sha256(f.read()).hexdigest() == lock_sha(name), path


def test_checksum_mismatch_stops_and_names_the_file(work):
    env = isolated(work)
    os.makedirs(env['XV_CACHE'])
    bad = os.path.join(env['XV_CACHE'], DEBIAN_TAR)
    with open(bad, 'wb') as f:
        f.write(b'not the pinned file')
    p = fetch(env, DEBIAN_TAR)
    assert p.returncode != 0
    assert 'checksum mismatch for ' + bad in p.stderr, p.stderr
    assert lock_sha(DEBIAN_TAR) in p.stderr and 'rm ' in p.stderr, p.stderr


def test_download_failure_says_what_to_do(work):
    env = isolated(work, XV_MIRRORS='file://' + os.path.join(work, 'empty-mirror'))
    p = fetch(env, DEBIAN_TAR)
    assert p.returncode != 0
    assert 'could not download ' + DEBIAN_TAR in p.stderr, p.stderr
    assert 'XV_MIRRORS' in p.stderr
    assert not os.listdir(env['XV_CACHE']), 'a partial download was left behind'


def test_offline_fails_at_once_naming_the_file(work):
    # XV_OFFLINE=1 (the tests' mkguest): no mirror is tried, the message
    # names the file, its sha256 and where to put it
    env = isolated(work, XV_OFFLINE='1',
                   XV_MIRRORS='file://' + os.path.join(work, 'empty-mirror'))
    p = fetch(env, DEBIAN_TAR)
    assert p.returncode != 0
    assert 'downloading' not in p.stderr, p.stderr
    assert DEBIAN_TAR in p.stderr and lock_sha(DEBIAN_TAR) in p.stderr, p.stderr
    assert env['XV_CACHE'] in p.stderr and 'make fetch' in p.stderr, p.stderr


def test_download_from_a_mirror_is_verified(work):
    # A local mirror laid out like Debian's archive, holding one good and
    # one tampered file: the good one is fetched into the cache, the other
    # refused.  (The same code downloads from the mirrors apt uses.)
    mirror = os.path.join(work, 'mirror')
    pool = os.path.join(mirror, 'pool', 'main', 'q', 'qemu')
    os.makedirs(pool)
    shared = os.path.join(ROOT, '..', 'shared', 'cache', DEBIAN_TAR)
    src = shared if os.path.exists(shared) else fetch(dict(os.environ, XV_OFFLINE='1'), DEBIAN_TAR).stdout.strip()
    shutil.copy(src, pool)
    env = isolated(work, XV_MIRRORS='file://' + mirror)
    p = fetch(env, DEBIAN_TAR)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == os.path.join(env['XV_CACHE'], DEBIAN_TAR)
    # tampered: same name, other bytes
    orig = 'qemu_11.1.1+ds.orig.tar.xz'
    with open(os.path.join(pool, orig), 'wb') as f:
        f.write(b'tampered')
    p = fetch(env, orig)
    assert p.returncode != 0 and 'could not download ' + orig in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(env['XV_CACHE'], orig))
