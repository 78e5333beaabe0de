#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# check-deps-fresh.sh: are the install steps complete, whatever this machine
# already has?  Builds a minimal Debian 12 root with mmdebstrap from the
# mirror apt uses here, runs scripts/deps.sh in it as a new user's 'sudo make
# deps' would, then checks there what the build depends on:
#   - scripts/toolchain-probe.sh (32-bit gcc + libgcc for the option ROMs,
#     clang + s390x binutils + s390x libgcc for s390-ccw, clang + lld for the
#     aarch64 test programs);
#   - QEMU's own configure, run on build/src for the default targets (the
#     same options as scripts/build.sh), keeps pc-bios/optionrom and
#     pc-bios/s390-ccw: configure drops them silently when a probe fails.
# Prints "fresh-deps: N passed, N failed" last.  Needs root (chroot) and
# Debian's archive; takes a few minutes, mostly downloads.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# a skip here is for a developer's unprivileged or offline run; in CI
# (CI set, as root, with the archive) it would hide the check: fail instead
skip() {
    echo "fresh-deps: $*"
    if [ -n "${CI:-}" ]; then
        echo "fresh-deps: 0 passed, 1 failed (CI must run this check)"
        exit 1
    fi
    echo "fresh-deps: 0 passed, 0 failed, 1 skipped"
    exit 0
}
[ "$(id -u)" = 0 ] || skip "needs root (mmdebstrap, chroot): run 'sudo make check-deps-fresh'"
command -v mmdebstrap >/dev/null || xv_die "mmdebstrap is missing: run 'sudo make deps'"
[ -f "$XV_BUILD/src/configure" ] || xv_die "$XV_BUILD/src is missing: run 'make prepare' first"

mirror=$(xv_debian_mirror)
# the check is about Debian's archive: without it (an offline run) it is
# skipped, and says so
probe_file=$(mktemp -d)/InRelease
if ! timeout 30 /usr/lib/apt/apt-helper download-file "$mirror/dists/bookworm/InRelease" \
        "$probe_file" >/dev/null 2>&1; then
    rm -rf "$(dirname "$probe_file")"
    skip "cannot reach $mirror: the fresh-root check needs Debian's archive"
fi
rm -rf "$(dirname "$probe_file")"
work=$(mktemp -d /var/tmp/xv-fresh.XXXXXX)
root=$work/root
cleanup() {
    # the mounts live in the private namespace below; nothing to unmount
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

start=$(date +%s)
xv_log "fresh Debian 12 root from $mirror in $root"
mmdebstrap --quiet --variant=minbase --include=ca-certificates bookworm "$root" \
    "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
    "deb $(xv_debian_mirror security) bookworm-security main" \
    > "$work/mmdebstrap.log" 2>&1 ||
    { tail -20 "$work/mmdebstrap.log" >&2; xv_die "mmdebstrap failed"; }
# what deps.sh needs of the repository: the scripts and the lock file; the
# pinned python3-qemu-qmp .deb goes into the new root's download cache
mkdir -p "$root/xv" "$root/root/.cache/qemu-xv"
cp -a "$XV_ROOT/scripts" "$root/xv/"
cp "$XV_LOCK" "$root/xv/upstream.lock"
qmp=$(xv_lock_name '^python3-qemu-qmp_')
cp "$(xv_fetch "$qmp")" "$root/root/.cache/qemu-xv/"
mkdir -p "$root/xv/src" "$root/xv/obj"

# the checks, inside the new root; configure runs on build/src through an
# overlay (its python venv set-up writes into the source tree)
cat > "$root/xv/fresh-checks.sh" <<'EOS'
set -u
export HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAILED: $*"; fail=$((fail + 1)); }
cd /xv
if scripts/deps.sh > deps.log 2>&1; then ok "scripts/deps.sh installs the dependencies"
else tail -20 deps.log; bad "scripts/deps.sh"; fi
# and a new user's 'make' then finds everything (the unprivileged check)
if runuser -u nobody -- env HOME=/tmp scripts/deps.sh --check > deps-check.log 2>&1; then
    ok "scripts/deps.sh --check passes for an unprivileged user"
else tail -5 deps-check.log; bad "scripts/deps.sh --check"; fi
for p in optionrom s390-ccw aarch64; do
    if out=$(scripts/toolchain-probe.sh "$p"); then ok "toolchain probe $p"
    else bad "toolchain probe: $out"; fi
done
if (cd obj && /xv/src/configure --target-list="$XV_TARGETS" --python=/usr/bin/python3 \
        --disable-download --disable-install-blobs --disable-docs --disable-werror \
        --cross-cc-s390x=/xv/s390x-linux-gnu-clang) > configure.log 2>&1; then
    ok "configure ($XV_TARGETS)"
    want=""
    case "$XV_TARGETS" in *i386-softmmu*|*x86_64-softmmu*) want="pc-bios/optionrom/config.mak" ;; esac
    case "$XV_TARGETS" in *s390x-softmmu*) want="$want pc-bios/s390-ccw/config-host.mak" ;; esac
    for d in $want; do
        if [ -f "obj/$d" ]; then ok "configure keeps $(dirname "$d")"
        else bad "configure dropped $(dirname "$d") (obj/config.log: $(grep -m1 'cannot find' obj/config.log))"; fi
    done
else
    tail -20 configure.log; grep -B2 -A8 -m3 'ERROR' obj/meson-logs/meson-log.txt 2>/dev/null | tail -30
    bad "configure"
fi
echo "fresh-deps: $pass passed, $fail failed"
[ $fail = 0 ]
EOS
printf '#!/bin/sh\nexec clang --target=s390x-linux-gnu "$@"\n' > "$root/xv/s390x-linux-gnu-clang"
chmod +x "$root/xv/s390x-linux-gnu-clang"

rc=0
unshare -m --propagation private sh -c '
    root=$1 src=$2
    mkdir -p "$root/../upper" "$root/../overlay-work" &&
    mount -t overlay overlay -o "lowerdir=$src,upperdir=$root/../upper,workdir=$root/../overlay-work" "$root/xv/src" &&
    mount -t proc proc "$root/proc" && mount --bind /dev "$root/dev" &&
    mount -t tmpfs tmpfs "$root/tmp" &&
    XV_TARGETS="$3" chroot "$root" /bin/bash /xv/fresh-checks.sh' \
    sh "$root" "$XV_BUILD/src" "${XV_TARGETS:-$XV_DEFAULT_TARGETS}" || rc=$?
xv_log "fresh-root check took $(( $(date +%s) - start )) s"
exit $rc
