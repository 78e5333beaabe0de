# SPDX-License-Identifier: GPL-2.0-or-later
#
# qemu-xv: QEMU 11.1.1 (Debian 11.1.1+ds-1) plus the patch queue in patches/.
#
#   make            deps check, fetch, prepare build/src, build build/obj
#   make check      every test: the queue, upstream qtests, our suites
#   make run        boot the demo guest (Linux, TCG, scalable-mode VT-d)
#   make bench      build the base beside the fork and compare them
#   make export     write build/src's commits back to patches/
#   make help       all targets

# The softmmu targets to build: adding one is a change of the
# XV_DEFAULT_TARGETS line in scripts/lib.sh.
XV_TARGETS ?= $(shell bash -c ". scripts/lib.sh && echo \$$XV_DEFAULT_TARGETS")
export XV_TARGETS
# The sanitizer build (make asan) serves the KVM fault matrix and the base
# (make base) the x86 benchmarks and the vSVA refusal test: x86_64 only.
XV_ASAN_TARGETS ?= x86_64-softmmu
XV_BASE_TARGETS ?= x86_64-softmmu
export XV_ASAN_TARGETS XV_BASE_TARGETS
# Test guests 'make guests' builds (scripts/mkguest.sh).
XV_GUEST_ARCHES ?= $(patsubst %-softmmu,%,$(XV_TARGETS))

PYTHON := /usr/bin/python3
# Repo-side suites: every tests/<suite>/ with test_*.py, foundation first.
SUITES := foundation harness $(filter-out foundation harness,$(sort $(patsubst tests/%/,%,$(dir $(wildcard tests/*/test_*.py)))))
# Suites 'make check' runs, in order (each prints 'N passed, N failed' last).
CHECKS := deps-fresh patches qtest unit asan $(SUITES)

.PHONY: all deps fetch prepare build check run bench export install help clean distclean \
        $(addprefix check-,$(CHECKS)) check-asan check-unit guests base asan fuzz

all: build

deps:
	scripts/deps.sh

fetch:
	scripts/deps.sh --check
	scripts/fetch.sh >/dev/null

prepare: fetch
	scripts/prepare.sh

build: prepare
	scripts/build.sh

guests:
	for a in $(XV_GUEST_ARCHES); do scripts/mkguest.sh $$a build/guest/$$a || exit 1; done

check: build guests
	scripts/check.sh $(CHECKS)

check-patches:
	scripts/check-patches.sh

# the install steps on a new minimal Debian 12 root (needs root, the archive)
check-deps-fresh: prepare
	scripts/check-deps-fresh.sh

check-qtest: build
	scripts/upstream-qtest.py

$(addprefix check-,$(SUITES)): check-%: build guests
	$(PYTHON) tests/run.py $*

# the fault-injection matrix checks sanitizer-clean runs on the ASan build
check-kvm-faults: asan
# the vSVA suite shows what the base refuses
check-vsva: base

run: build guests
	$(PYTHON) tests/demo.py

asan: prepare
	scripts/build.sh --asan

# QEMU's unit tests (meson suite unit) on the fork
check-unit: build
	scripts/upstream-qtest.py unit

# the qtests the queue adds or touches, on the ASan/UBSan build; a sanitizer
# report fails them (scripts/upstream-qtest.py --asan)
ASAN_QTESTS ?= subpage-wp-test iommu-intel-test iommu-intel-inv-test iommu-intel-nested-test \
               intel-iommu-test qmp-test qmp-cmd-test
check-asan: asan
	ninja -C build/asan-obj -j2 $(addprefix tests/qtest/,$(ASAN_QTESTS))
	scripts/upstream-qtest.py --asan qtest-x86_64 $(ASAN_QTESTS)

# libFuzzer over the queue's surfaces (VT-d nested/PASID with
# iommu-testdev-pcie and virtio, subpage-wp): a clang --enable-fuzzing
# ASan build in build/fuzz-obj, FUZZ_SECONDS per target; a crash, leak or
# timeout fails.  Not part of 'make check' (time).
FUZZ_SECONDS ?= 600
fuzz: prepare
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

base: fetch
	scripts/prepare.sh --base
	scripts/build.sh --base

bench: build base guests
	bench/run.sh

install: build
	scripts/install.sh

export:
	scripts/export.sh $(FEATURE)

help:
	@sed -n 's/^#   //p' Makefile
	@echo "  make deps       install build dependencies (root: apt-get)"
	@echo "  make prepare    materialize build/src (upstream + Debian + queue)"
	@echo "  make check-X    one suite of: $(CHECKS)"
	@echo "  make install    install the fork (DESTDIR= honoured) with its option ROMs"
	@echo "  make asan       build the fork with ASan+UBSan into build/asan-obj"
	@echo "  make check-asan the queue's qtests on the ASan build; a sanitizer report fails"
	@echo "  make base       prepare and build the unpatched base (build/base-obj)"
	@echo "  make fuzz       libFuzzer runs (build/fuzz-obj), FUZZ_SECONDS=n each (default 600)"
	@echo "  make clean      remove build/ (caches in ~/.cache/qemu-xv stay)"

clean:
	rm -rf build
