#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# check-patches.sh: the queue applies cleanly on the base, in order, and every
# patch passes QEMU's scripts/checkpatch.pl.  The apply check uses a throwaway
# worktree of build/src at xv-base, so the work tree is left alone.
# Prints 'N passed, N failed' last (one check per patch and per apply).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

src=${XV_SRC:-$XV_BUILD/src}
[ -d "$src/.git" ] || xv_die "$src is missing: run 'make prepare' first"

passed=0 failed=0
wt=$(mktemp -d)
trap 'git -C "$src" worktree remove --force "$wt" >/dev/null 2>&1; rm -rf "$wt"' EXIT
git -C "$src" worktree add -q --detach "$wt" xv-base >/dev/null 2>&1 ||
    xv_die "cannot make a worktree of $src at xv-base"

n=0
while read -r p; do
    n=$((n + 1))
    if [ ! -f "$XV_PATCHES/$p" ]; then
        echo "FAIL $p: listed in patches/series but missing"
        failed=$((failed + 1))
        continue
    fi
    if git -C "$wt" -c user.name=x -c user.email=x@x am -q "$XV_PATCHES/$p" >/dev/null 2>&1; then
        passed=$((passed + 1))
        echo "ok   applies: $p"
    else
        git -C "$wt" am --abort >/dev/null 2>&1
        echo "FAIL applies: $p does not apply on the patches before it"
        failed=$((failed + 1))
        break
    fi
    if out=$(cd "$wt" && perl scripts/checkpatch.pl -q "$XV_PATCHES/$p" 2>&1); then
        passed=$((passed + 1))
        echo "ok   checkpatch: $p"
    else
        failed=$((failed + 1))
        echo "FAIL checkpatch: $p"
        echo "$out" | sed 's/^/    /'
    fi
done < <(xv_series_entries)
# every patch file in patches/ must be in the series
while read -r f; do
    rel=${f#"$XV_PATCHES/"}
    if ! xv_series_entries | grep -qxF "$rel"; then
        echo "FAIL $rel is in patches/ but not in patches/series"
        failed=$((failed + 1))
    fi
done < <(find "$XV_PATCHES" -name '*.patch' | sort)
echo "$n patch(es) in the series"
echo "$passed passed, $failed failed"
[ $failed = 0 ]
