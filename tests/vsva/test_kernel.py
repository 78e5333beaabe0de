# SPDX-License-Identifier: GPL-2.0-or-later
"""The L1 kernel recipe (scripts/mkl1kernel.sh): the image the suite boots is
the one upstream.lock pins, and the config fragment kept here is what the
pinned .config was built with.  (Rebuilding needs Debian's 153 MB
linux-source-6.12 and 19 minutes; 'scripts/mkl1kernel.sh --config-only'
checks the recipe up to olddefconfig against the pinned .config.)"""

import hashlib
import os
import sys

from xv import lock_field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vsva_common import HERE, l1_kernel  # noqa: E402


def pinned(name):
    return lock_field('built', name)


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_l1_kernel_is_the_pinned_image():
    image = l1_kernel()
    assert sha256(image) == pinned('bzImage-6.12.117-xv-l1'), image
    config = os.path.join(os.path.dirname(image), 'config')
    assert os.path.exists(config), 'no pinned config beside %s' % image
    assert sha256(config) == pinned('config-6.12.117-xv-l1'), config


def test_fragment_is_in_the_pinned_config():
    config = os.path.join(os.path.dirname(l1_kernel()), 'config')
    have = set(open(config).read().splitlines())
    options = [line.strip() for line in open(os.path.join(HERE, 'l1-kernel.config'))
               if line.startswith('CONFIG_') or line.endswith(' is not set\n')]
    assert len(options) > 30, options
    missing = [o for o in options if o not in have]
    assert not missing, missing
    # what the suite needs from the kernel
    for o in ('CONFIG_IOMMUFD=y', 'CONFIG_VFIO_DEVICE_CDEV=y', 'CONFIG_INTEL_IOMMU=y',
              'CONFIG_VFIO_PCI=y', '# CONFIG_MODULES is not set'):
        assert o in options, o
