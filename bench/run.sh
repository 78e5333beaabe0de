#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/run.sh [NAME...]: run benchmarks (bench/bench_*.py) on the fork
# (build/obj) and the base (build/base-obj: same tarball, no qemu-xv patches)
# in one run, and print each result as fork/base.  'make bench' builds both.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=($(cd "$here" && ls bench_*.py | sed 's/^bench_//; s/\.py$//'))
for n in "${names[@]}"; do
    /usr/bin/python3 "$here/bench_$n.py"
done
