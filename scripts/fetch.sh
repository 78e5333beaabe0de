#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fetch.sh NAME...: make sure every NAME pinned in upstream.lock is present and
# verified, and print its path.  Looks in $XV_CACHE, then ../shared/cache, then
# downloads from Debian's archive with apt's own downloader, into $XV_CACHE.
# A file whose checksum does not match stops the build: nothing is ever used
# unverified.  With XV_OFFLINE=1 (set by the tests: a test never downloads)
# nothing is downloaded: a file in neither cache fails at once, named with its
# sha256 and where to put it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ $# -eq 0 ]; then
    names=$(xv_lock_names)
    [ -n "$names" ] || xv_die "$XV_LOCK pins no file"
    # shellcheck disable=SC2086 # one name per word
    set -- $names
fi

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# The Debian mirrors to try: $XV_MIRRORS, else those apt is configured with.
mirrors() {
    if [ -n "${XV_MIRRORS:-}" ]; then
        printf '%s\n' $XV_MIRRORS
        return
    fi
    {
        cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
            awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }'
        cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            awk '$1 == "deb" { for (i = 2; i <= NF; i++)
                                 if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; break } }'
    } | sed 's,/*$,,' | awk '!seen[$0]++' |
        # the security archive holds only updates (pool/updates/): try it last
        awk '/-security$/ { sec[n++] = $0; next } { print }
             END { for (i = 0; i < n; i++) print sec[i] }'
}

download() {
    local name=$1 sum=$2 pool=$3 dest=$4 m tried=""
    mkdir -p "$(dirname "$dest")"
    for m in $(mirrors); do
        tried="$tried $m"
        xv_log "downloading $name from $m/$pool"
        rm -f "$dest.part"
        if /usr/lib/apt/apt-helper -q download-file "$m/$pool/$name" \
                "$dest.part" "SHA256:$sum" >/dev/null 2>&1 &&
           [ "$(sha_of "$dest.part")" = "$sum" ]; then
            mv "$dest.part" "$dest"
            return 0
        fi
        rm -f "$dest.part"
    done
    xv_die "could not download $name (sha256 $sum) from:${tried:- no mirror configured}.
  The file may have left the pool: set XV_MIRRORS to a Debian snapshot archive
  base URL that still has $pool/$name, or copy the file into $XV_CACHE/."
}

for name in "$@"; do
    read -r sum pool < <(xv_lock_file "$name")
    found=""
    for dir in "$XV_CACHE" "$XV_SHARED_CACHE"; do
        f="$dir/$name"
        [ -f "$f" ] || continue
        got=$(sha_of "$f")
        if [ "$got" != "$sum" ]; then
            xv_die "checksum mismatch for $f
  expected sha256 $sum (upstream.lock)
  got      sha256 $got
  The file is corrupt or not the pinned version: delete it (rm '$f') so it is
  fetched again, or, if the base was moved on purpose, update upstream.lock."
        fi
        found=$f
        break
    done
    if [ -z "$found" ] && [ "${XV_OFFLINE:-0}" = 1 ]; then
        missing="${missing:-}
  $name (sha256 $sum, Debian pool $pool)"
        continue
    fi
    if [ -z "$found" ]; then
        found="$XV_CACHE/$name"
        download "$name" "$sum" "$pool" "$found"
    fi
    printf '%s\n' "$found"
done
if [ -n "${missing:-}" ]; then
    xv_die "offline (XV_OFFLINE=1), and these pinned files are in no cache:$missing
  Put each into $XV_CACHE/ (or $XV_SHARED_CACHE/), or run 'make fetch' with the
  network to download them."
fi
