# SPDX-License-Identifier: GPL-2.0-or-later
"""The qtests the viommu patches add, and the upstream VT-d qtests they must
leave passing, run from build/obj against the fork."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from vtd_common import assert_qtest  # noqa: E402


def test_nested_qtest():
    """Nested walks, faults, permissions, A/D, page size, invalidations,
    PASID != 0 DMA, and the hardening cases of issue 14: PASID DMA to
    0xFEEx_xxxx, 5000 PASIDs within an RSS bound, refused PASID requests,
    tables on MMIO, configuration refusals; and nested D bit, ATS and
    notifier cases: no D for a blocked write, ATS translation requests
    completing with R=W=0 without a fault, IOTLB PSI notified over the
    IOVA range, no GPA mappings replayed; and of review 1: requests with
    PASID without a RID_PASID entry, the invalidation queue and wait status
    on MMIO, tables in sub-page write protected RAM, the address of a fault
    in the interrupt range (iommu-intel-nested-test, 40 cases, none
    skipped)."""
    ok = assert_qtest("iommu-intel-nested-test", 40)
    for case in ('/nested/dma', '/nested/ss-fault-on-fs-table',
                 '/nested/inv/pasid-cache', '/pasid/dma/nested',
                 '/pasid/interrupt-range/first-stage',
                 '/pasid/interrupt-range/second-stage',
                 '/pasid/pt-interrupt-range', '/pasid/many',
                 '/pasid/refused', '/intel/table-on-mmio',
                 '/nested/config-refusals',
                 '/nested/dirty-on-blocked-write', '/nested/ats-ss-faults',
                 '/nested/iotlb-psi-notify', '/nested/replay/nested',
                 '/nested/replay/second-stage', '/pasid/no-rid-pasid',
                 '/intel/inv-queue-on-mmio',
                 '/intel/table-in-protected-page'):
        assert any(t.endswith(case) for t in ok), (case, ok)


def test_upstream_intel_iommu_test():
    assert_qtest('intel-iommu-test', 2)


def test_upstream_iommu_intel_test():
    """Upstream's five cases, and the DMA length cap of iommu-testdev
    (viommu/0001)."""
    ok = assert_qtest('iommu-intel-test', 6)
    assert any(t.endswith('/intel/dma-len') for t in ok), ok


def test_upstream_iommu_intel_inv_test():
    assert_qtest('iommu-intel-inv-test', 12)
