# SPDX-License-Identifier: GPL-2.0-or-later
"""Import helper: makes tests/demo.py importable from bench/."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests'))
