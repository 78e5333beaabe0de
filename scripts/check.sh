#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# check.sh SUITE...: run 'make check-SUITE' for each suite, keep going after a
# failure, and sum the 'N passed, N failed[, N skipped]' lines they print.
# The last line is the sum; the exit status is non-zero if any suite failed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

tp=0 tf=0 ts=0 bad=()
mkdir -p "$XV_BUILD"
for s in "$@"; do
    log=$XV_BUILD/check-$s.log
    echo "=== check-$s ==="
    start=$(date +%s)
    make --no-print-directory -C "$XV_ROOT" "check-$s" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    p=$(echo "$line" | sed -nE 's/.*\b([0-9]+) passed.*/\1/p')
    f=$(echo "$line" | sed -nE 's/.* ([0-9]+) failed.*/\1/p')
    k=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p')
    if [ -z "$line" ]; then
        # a suite that crashed before its summary counts as one failure
        f=1 p=0
    fi
    if [ "$rc" != 0 ] && [ "${f:-0}" = 0 ]; then
        f=1
    fi
    tp=$((tp + ${p:-0})) tf=$((tf + ${f:-0})) ts=$((ts + ${k:-0}))
    [ "${f:-0}" = 0 ] || bad+=("$s")
    echo "=== check-$s: ${p:-0} passed, ${f:-0} failed, ${k:-0} skipped ($(( $(date +%s) - start ))s)"
done
if [ ${#bad[@]} != 0 ]; then
    # CI shows only the end of the output: repeat what failed, with the
    # first lines of each failure's message, where it will be seen
    for s in "${bad[@]}"; do
        echo "--- check-$s failures (whole log: $XV_BUILD/check-$s.log)"
        grep -E '^(FAIL|not ok) |^  [A-Za-z_.]*(Error|Exception|Panic|Timeout)\b|^  (timed out|left behind|qtest: )' \
            "$XV_BUILD/check-$s.log" | cut -c1-400 | head -12 || tail -5 "$XV_BUILD/check-$s.log"
    done
    echo "failed suites: ${bad[*]}"
fi
echo "$tp passed, $tf failed, $ts skipped"
[ $tf = 0 ]
