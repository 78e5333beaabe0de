#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# prepare.sh [--base] [DIR]: materialize a QEMU work tree as a git repository:
#
#   commit 1  upstream QEMU (Debian's +ds orig tarball)      tag xv-upstream
#   commit 2  Debian's debian/patches/series                  tag xv-base
#   then      one commit per entry of patches/series (git am) branch xv
#
# --base stops at xv-base (the tree "make bench" compares the fork with).
# DIR defaults to build/src (build/base-src with --base).
#
# An existing tree is brought up to date in place: it is reset to xv-base and
# the series applied again, so only the files the queue touches change and
# incremental builds stay incremental.  It refuses to do that while the tree has
# uncommitted edits or commits that were never exported (scripts/export.sh),
# unless XV_FORCE=1.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

base_only=0
if [ "${1:-}" = "--base" ]; then
    base_only=1
    shift
fi
if [ $base_only = 1 ]; then
    src=${1:-$XV_BUILD/base-src}
else
    src=${1:-$XV_BUILD/src}
fi

orig=$(xv_fetch "$(xv_lock_name 'orig\.tar')")
debian=$(xv_fetch "$(xv_lock_name 'debian\.tar')")
version=$(xv_lock_get QEMU_VERSION)
debver=$(xv_lock_get DEBIAN_VERSION)

# What the base is made of: a new lock means a new tree.
base_id=$(sha256sum "$orig" "$debian" | sha256sum | cut -c1-16)

queue_id() {
    if [ $base_only = 1 ]; then
        echo base
    else
        xv_queue_id
    fi
}

git_q() { git -C "$src" -c user.name=qemu-xv -c user.email=qemu-xv@localhost "$@"; }

stamp=$src/.git/xv-stamp       # "base_id queue_id HEAD"

fresh_tree() {
    xv_log "unpacking QEMU $version into $src"
    rm -rf "$src" "$src.tmp"
    mkdir -p "$src.tmp"
    tar -xf "$orig" -C "$src.tmp" --strip-components=1
    mv "$src.tmp" "$src"
    git -C "$src" init -q -b xv
    # keep git from touching line endings or anything else in QEMU's files
    printf '* -text\n' > "$src/.git/info/attributes"
    git_q add -A -f .
    GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z" \
        git_q commit -q -m "QEMU $version (Debian orig tarball ${debver%-*})"
    git_q tag -f xv-upstream >/dev/null

    xv_log "applying Debian's patches ($debver)"
    tmp=$(mktemp -d)
    tar -xf "$debian" -C "$tmp" debian/patches
    while read -r p opts; do
        case "$p" in ''|'#'*) continue ;; esac
        patch -d "$src" -p1 --batch --forward --quiet ${opts:-} < "$tmp/debian/patches/$p" ||
            xv_die "Debian's patch $p does not apply to QEMU $version: the lock pins a
  debian.tar.xz that does not belong to this orig tarball; fix upstream.lock."
    done < "$tmp/debian/patches/series"
    rm -rf "$tmp"
    find "$src" -name '*.orig' -newer "$src/.git/info/attributes" -delete
    git_q add -A -f .
    GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z" \
        git_q commit -q -m "Debian $debver: debian/patches/series"
    git_q tag -f xv-base >/dev/null
}

apply_queue() {
    git_q reset -q --hard xv-base
    git_q clean -q -fdx -e /build/ >/dev/null
    git -C "$src" notes --ref=xv-patch prune >/dev/null 2>&1 || true
    [ $base_only = 1 ] && return
    local n=0 p
    while read -r p; do
        [ -f "$XV_PATCHES/$p" ] ||
            xv_die "patches/series names $p, but patches/$p does not exist"
        if ! git_q am -q --keep-cr --committer-date-is-author-date "$XV_PATCHES/$p" >/dev/null 2>&1; then
            git_q am --abort >/dev/null 2>&1 || true
            xv_die "patches/$p does not apply on top of the patches before it.
  Run: cd $src && git am -3 $XV_PATCHES/$p   to see the conflict, resolve it,
  then 'make export' to write the refreshed patch back."
        fi
        # remember which file of the queue this commit came from
        git_q notes --ref=xv-patch add -f -m "$p" HEAD >/dev/null
        n=$((n + 1))
    done < <(xv_series_entries)
    xv_log "applied $n qemu-xv patch(es) on top of xv-base"
}

if [ ! -d "$src/.git" ] || [ ! -f "$stamp" ] || [ "$(cut -d' ' -f1 "$stamp")" != "$base_id" ]; then
    fresh_tree
    apply_queue
else
    read -r _ old_queue old_head < "$stamp"
    if [ "$old_queue" = "$(queue_id)" ] && [ "$old_head" = "$(git -C "$src" rev-parse HEAD)" ] &&
       [ -z "$(git -C "$src" status --porcelain --untracked-files=no)" ]; then
        xv_log "$src is up to date"
        exit 0
    fi
    if [ "${XV_FORCE:-0}" != 1 ]; then
        [ -z "$(git -C "$src" status --porcelain --untracked-files=no)" ] ||
            xv_die "$src has uncommitted changes: commit them and run 'make export',
  or discard them (XV_FORCE=1 make prepare)."
        [ "$old_head" = "$(git -C "$src" rev-parse HEAD)" ] ||
            xv_die "$src has commits that are not in patches/ (HEAD moved since the
  last prepare or export): run 'make export' first, or XV_FORCE=1 to drop them."
    fi
    apply_queue
fi
echo "$base_id $(queue_id) $(git -C "$src" rev-parse HEAD)" > "$stamp"
