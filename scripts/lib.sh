# SPDX-License-Identifier: GPL-2.0-or-later
# Common settings for qemu-xv's scripts.  Source it; do not run it.

XV_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
XV_CACHE=${XV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qemu-xv}
XV_SHARED_CACHE=${XV_SHARED_CACHE:-$XV_ROOT/../shared/cache}
XV_BUILD=${XV_BUILD:-$XV_ROOT/build}
XV_PATCHES=${XV_PATCHES:-$XV_ROOT/patches}
XV_LOCK=${XV_LOCK:-$XV_ROOT/upstream.lock}
# the softmmu targets built unless XV_TARGETS says otherwise (the Makefile's
# XV_TARGETS default is this list)
XV_DEFAULT_TARGETS="x86_64-softmmu aarch64-softmmu s390x-softmmu"
# configure needs the qemu.qmp module, which Debian installs for its own python
XV_PYTHON=${XV_PYTHON:-/usr/bin/python3}

xv_log() { printf 'qemu-xv: %s\n' "$*" >&2; }
xv_die() { printf 'qemu-xv: error: %s\n' "$*" >&2; exit 1; }

# xv_debian_mirror [security]: the Debian mirror apt uses here (its first
# non-security entry; with "security", its security entry or Debian's), no
# trailing slash
xv_debian_mirror() {
    local uri="" sec=${1:-} f=/etc/apt/sources.list.d/debian.sources
    local want='$2 !~ /security/'
    [ -z "$sec" ] || want='$2 ~ /security/'
    [ -f $f ] && uri=$(awk "/^URIs:/ && $want { print \$2; exit }" $f)
    [ -n "$uri" ] || [ ! -f /etc/apt/sources.list ] ||
        uri=$(sed -e 's/\[[^]]*\]//' /etc/apt/sources.list |
              awk "\$1 == \"deb\" && $want { print \$2; exit }")
    if [ -z "$uri" ] && [ -n "$sec" ]; then
        uri=http://deb.debian.org/debian-security
    fi
    [ -n "$uri" ] || xv_die "cannot tell which Debian mirror apt uses (no debian.sources or sources.list entry)"
    echo "${uri%/}"
}

# xv_lock_get KEY: the value of a "set KEY VALUE" line of the lock file
xv_lock_get() {
    awk -v k="$1" '$1 == "set" && $2 == k { print $3; found = 1 }
                   END { exit !found }' "$XV_LOCK" ||
        xv_die "$XV_LOCK has no 'set $1' line"
}

# xv_lock_file NAME: "sha256 pooldir" of a "file" (or "optional") line
xv_lock_file() {
    awk -v n="$1" '($1 == "file" || $1 == "optional") && $2 == n { print $3, $4; found = 1 }
                   END { exit !found }' "$XV_LOCK" ||
        xv_die "$XV_LOCK pins no file named '$1'"
}

# xv_lock_names [ERE]: the names of the "file" lines, in lock-file order,
# that match the extended regular expression ERE (all of them without one)
xv_lock_names() {
    [ -r "$XV_LOCK" ] || xv_die "cannot read the lock file $XV_LOCK"
    XV_RE=${1:-.} awk '$1 == "file" && $2 ~ ENVIRON["XV_RE"] { print $2 }' "$XV_LOCK"
}

# xv_lock_name ERE: the name of the one "file" line that matches ERE
xv_lock_name() {
    local names
    names=$(xv_lock_names "$1")
    [ -n "$names" ] || xv_die "$XV_LOCK pins no file matching '$1'"
    [ "$(printf '%s\n' "$names" | wc -l)" = 1 ] ||
        xv_die "$XV_LOCK pins more than one file matching '$1': $(echo $names)"
    printf '%s\n' "$names"
}

# xv_fetch NAME: print the path of a verified copy of NAME
xv_fetch() {
    "$XV_ROOT/scripts/fetch.sh" "$1"
}

# xv_series_entries: the patch files of patches/series, in order
xv_series_entries() {
    [ -f "$XV_PATCHES/series" ] || return 0
    sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$XV_PATCHES/series" | grep -v '^$' || true
}

# xv_queue_id: a hash of the series and every patch in it
xv_queue_id() {
    { xv_series_entries
      xv_series_entries | while read -r p; do
          [ -f "$XV_PATCHES/$p" ] && cat "$XV_PATCHES/$p"; done; } | sha256sum | cut -c1-16
}
