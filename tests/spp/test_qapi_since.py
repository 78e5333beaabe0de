# SPDX-License-Identifier: GPL-2.0-or-later
"""The QAPI schema of sub-page write protection says the release it
first appears in, like the rest of the queue: 11.2 (the base is QEMU
11.1.1, which has none of it)."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import xv  # noqa: E402

QAPI = os.path.join(xv.BUILD, 'src', 'qapi')
RELEASE = '11.2'


def since_of(path, only=None):
    """{definition: its 'Since:'} of the doc blocks of @path whose
    definition's name matches @only."""
    with open(path) as f:
        blocks = re.findall(r'^##\n# @([A-Za-z0-9_-]+):\n(.*?)^##$', f.read(),
                            re.M | re.S)
    found = {}
    for name, body in blocks:
        if only and not re.match(only, name):
            continue
        m = re.search(r'^# Since: (\S+)$', body, re.M)
        found[name] = m and m.group(1)
    return found


def test_since_is_the_next_release():
    got = since_of(os.path.join(QAPI, 'subpage-wp.json'))
    got.update(since_of(os.path.join(QAPI, 'qom.json'), r'SubpageWp'))
    assert len(got) >= 10, got
    bad = {n: v for n, v in got.items() if v != RELEASE}
    assert not bad, 'Since: is not %s: %s' % (RELEASE, bad)
