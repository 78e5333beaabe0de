#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# export.sh [FEATURE]: write the commits xv-base..HEAD of build/src back to
# patches/<feature>/NNNN-subject.patch and rewrite patches/series.
#
# A commit's feature is the folder of the patch it was applied from (prepare.sh
# records it in the git note ref xv-patch).  A new commit takes the feature of
# the commit before it, or FEATURE (the argument or $XV_FEATURE) when given;
# the first commit of a new feature therefore needs FEATURE.  Commits keep the
# order they have in the tree; numbers restart at 0001 in each folder.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

src=${XV_SRC:-$XV_BUILD/src}
feature_arg=${1:-${XV_FEATURE:-}}
[ -d "$src/.git" ] || xv_die "$src is missing: run 'make prepare' first"
[ -z "$(git -C "$src" status --porcelain --untracked-files=no)" ] ||
    xv_die "$src has uncommitted changes: commit them first (git -C $src commit)"
case "$feature_arg" in
''|*[!a-z0-9-]*) [ -z "$feature_arg" ] || xv_die "feature names are lower case letters, digits and '-'" ;;
esac

commits=$(git -C "$src" rev-list --reverse xv-base..HEAD)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: > "$tmp/series"
declare -A count
prev=""
for c in $commits; do
    note=$(git -C "$src" notes --ref=xv-patch show "$c" 2>/dev/null || true)
    if [ -n "$note" ]; then
        feature=${note%%/*}
    elif [ -n "$feature_arg" ]; then
        feature=$feature_arg
    elif [ -n "$prev" ]; then
        feature=$prev
    else
        xv_die "commit $(git -C "$src" log -1 --format='%h %s' "$c") belongs to no
  feature yet: run 'make export FEATURE=<name>' (the patches/ folder it goes in)."
    fi
    n=$(( ${count[$feature]:-0} + 1 ))
    count[$feature]=$n
    mkdir -p "$tmp/$feature"
    f=$(git -C "$src" format-patch -1 --no-numbered --zero-commit --no-signature \
            --start-number "$n" -o "$tmp/$feature" "$c")
    echo "$feature/$(basename "$f")" >> "$tmp/series"
    git -C "$src" -c user.name=qemu-xv -c user.email=qemu-xv@localhost \
        notes --ref=xv-patch add -f -m "$feature/$(basename "$f")" "$c" >/dev/null
    prev=$feature
done

# replace the whole queue: folders of features that lost every patch go too
mkdir -p "$XV_PATCHES"
find "$XV_PATCHES" -mindepth 2 -maxdepth 2 -name '*.patch' -delete
find "$XV_PATCHES" -mindepth 1 -maxdepth 1 -type d -empty -delete
for d in "$tmp"/*/; do
    [ -d "$d" ] || continue
    mkdir -p "$XV_PATCHES/$(basename "$d")"
    cp "$d"*.patch "$XV_PATCHES/$(basename "$d")/"
done
{
    echo "# qemu-xv patch queue, applied in this order on top of Debian's QEMU"
    echo "# (see upstream.lock).  Written by scripts/export.sh; edit the commits"
    echo "# in build/src, not this file or the patches (docs/workflow.md)."
    cat "$tmp/series"
} > "$XV_PATCHES/series"

# the tree now matches the queue: record it so prepare.sh leaves it alone
stamp=$src/.git/xv-stamp
if [ -f "$stamp" ]; then
    echo "$(cut -d' ' -f1 "$stamp") $(xv_queue_id) $(git -C "$src" rev-parse HEAD)" > "$stamp"
fi
xv_log "exported $(echo $commits | wc -w) commit(s) to $XV_PATCHES"
