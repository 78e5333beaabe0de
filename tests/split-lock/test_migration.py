# SPDX-License-Identifier: GPL-2.0-or-later
"""MSR_TEST_CTRL and DEBUGCTL survive migration, and detection stays armed."""

import os
import sys
import time

from xv.vm import VM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from split_lock_common import CPU_SLD, microguest_args, results  # noqa: E402


def test_msrs_migrate(work):
    state = os.path.join(work, 'state')
    args = microguest_args(CPU_SLD, 'migrate')
    with VM(args, name='mig-src') as src:
        src.wait_console(r'^XV: migrate-ready', timeout=60)
        src.cmd('migrate', uri='file:' + state)
        # a failed migration fails at once, not after the 60 s
        src.wait_migration()
        before = results(src.console)
    assert before['wr_test_ctrl_sld'] == 'none'
    assert before['wr_debugctl_bld'] == 'none'
    with VM(args + ['-incoming', 'file:' + state], name='mig-dst') as dst:
        deadline = time.monotonic() + 60
        while dst.cmd('query-status')['status'] != 'running':
            assert time.monotonic() < deadline, dst.cmd('query-status')
            time.sleep(0.2)
        dst.console_write('g')
        dst.wait_console(r'^XV: done', timeout=60)
        r = results(dst.console)
        assert r['migrated_test_ctrl'] == '0x20000000', r
        assert r['migrated_debugctl'] == '0x4', r
        assert r['migrated_lock_add_split'] == '17 err 0x0 at_insn 1', r
        assert r['migrated_cpl3_split_db'] == '0x1', r
        dst.console_write('x')
        dst.wait_exit(30, expect=1)   # isa-debug-exit, value 0
