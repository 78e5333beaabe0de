# SPDX-License-Identifier: GPL-2.0-or-later
"""Protections survive migration: protect, migrate to a file, restore in a
new QEMU process, and the restored guest (the micro-guest) is filtered."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from xv.vm import VM  # noqa: E402
from spp_common import query  # noqa: E402
import test_microguest as mg  # noqa: E402

EXTRA = {0x30000: 0x12345678, 0x31000: 0, 0x32000: 0}


def test_protections_survive_migration_to_file(work):
    state = os.path.join(work, 'state.bin')
    args = mg.microguest_args(work)
    pages = dict(EXTRA)
    pages[mg.PAGE] = mg.MASK
    with VM(args, console=False, name='spp-mig-src') as src:
        mg.set_masks(src, pages)
        before = query(src)
        src.cmd('migrate', uri='file:' + state)
        src.wait_migration()
    assert [(p['gpa'], p['mask']) for p in before['pages']] == sorted(pages.items())

    with VM(args + ['-incoming', 'defer'], console=False,
            name='spp-mig-dst') as dst:
        assert query(dst)['pages'] == []
        dst.cmd('migrate-incoming', uri='file:' + state)
        dst.wait_migration()
        after = query(dst)
        assert after['pages'] == before['pages'], after
        assert after['runs'] == 2, after
        dst.cmd('cont')
        mg.check_results(dst, work, 'tcg')
