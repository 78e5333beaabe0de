#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""tests/run.py SUITE...: run qemu-xv's repo-side test suites (tests/<suite>/)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
sys.dont_write_bytecode = True

from xv.runner import main  # noqa: E402

sys.exit(main(sys.argv))
