# SPDX-License-Identifier: GPL-2.0-or-later
"""The qtests the viommu patches add, and the upstream VT-d qtests they must
leave passing, run from build/obj against the fork."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from vtd_common import assert_qtest  # noqa: E402


def test_nested_qtest():
    """Nested walks, faults, permissions, A/D, page size, invalidations and
    PASID != 0 DMA (iommu-intel-nested-test, 25 cases, none skipped)."""
    ok = assert_qtest("iommu-intel-nested-test", 25)
    for case in ('/nested/dma', '/nested/ss-fault-on-fs-table',
                 '/nested/inv/pasid-cache', '/pasid/dma/nested'):
        assert any(t.endswith(case) for t in ok), (case, ok)


def test_upstream_intel_iommu_test():
    assert_qtest('intel-iommu-test', 2)


def test_upstream_iommu_intel_test():
    assert_qtest('iommu-intel-test', 5)


def test_upstream_iommu_intel_inv_test():
    assert_qtest('iommu-intel-inv-test', 12)
