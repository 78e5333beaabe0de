#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# toolchain-probe.sh [-q] [PROBE...]: check that the compilers and libraries
# the build and the test programs need actually work, the way QEMU's
# configure probes them (compile, then "-r -nostdlib ... -lgcc"), not only
# that a package is installed.  A package can be installed and unusable, and
# a probe configure fails only makes it drop the firmware silently.
#
# Probes (default: all):
#   optionrom  32-bit gcc + libgcc: pc-bios/optionrom (x86 option ROMs)
#   s390-ccw   clang --target=s390x + s390x ld + s390x libgcc: s390-ccw.img
#   aarch64    clang --target=aarch64 + ld.lld: the aarch64 test programs
#
# Prints one line per failed probe, "PROBE: what failed (packages: ...)", and
# exits 1 if any failed; -q prints only the package names of failed probes,
# one per line (deps.sh installs them).
set -uo pipefail

quiet=""
[ "${1:-}" = -q ] && { quiet=1; shift; }
probes=("$@")
[ ${#probes[@]} -gt 0 ] || probes=(optionrom s390-ccw aarch64)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'int main(void) { return 0; }\n' > "$tmp/skel.c"

# try WHAT CMD...: run CMD quietly, log its output on failure
try() {
    local what=$1; shift
    if ! "$@" > "$tmp/out" 2>&1; then
        why="$what: $(grep -m1 -E 'cannot find|not found|error' "$tmp/out" ||
                      tail -1 "$tmp/out")"
        return 1
    fi
}

bad=0
for p in "${probes[@]}"; do
    why=""
    case "$p" in
    optionrom)
        pkgs="gcc gcc-multilib"
        try "cc -m32 -c" cc -m32 -c "$tmp/skel.c" -o "$tmp/o32.o" &&
        try "cc -m32 -r -nostdlib -lgcc" cc -m32 -r -nostdlib -o "$tmp/o32r.o" "$tmp/o32.o" -lgcc ;;
    s390-ccw)
        # configure's check (probe_target_compiler); clang has no z900,
        # so the firmware is built for z10 with -msoft-float
        pkgs="clang binutils-s390x-linux-gnu libgcc-12-dev-s390x-cross"
        cc="clang --target=s390x-linux-gnu"
        try "clang --target=s390x-linux-gnu -march=z10 -msoft-float -c" $cc -march=z10 -msoft-float -Werror -c "$tmp/skel.c" -o "$tmp/s.o" &&
        try "clang --target=s390x-linux-gnu -r -nostdlib -lgcc" $cc -r -nostdlib -o "$tmp/sr.o" "$tmp/s.o" -lgcc ;;
    aarch64)
        pkgs="clang lld"
        printf 'void _start(void) { for (;;) { } }\n' > "$tmp/a.c"
        try "clang --target=aarch64-linux-gnu -ffreestanding -c" \
            clang --target=aarch64-linux-gnu -ffreestanding -nostdinc -c "$tmp/a.c" -o "$tmp/a.o" &&
        try "ld.lld -static" ld.lld -static -nostdlib -e _start "$tmp/a.o" -o "$tmp/a" ;;
    *)
        echo "toolchain-probe.sh: unknown probe '$p'" >&2
        exit 2 ;;
    esac
    if [ -n "$why" ]; then
        bad=1
        if [ -n "$quiet" ]; then
            printf '%s\n' $pkgs
        else
            echo "$p: $why (packages: $pkgs)"
        fi
    fi
done
exit $bad
