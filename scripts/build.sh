#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# build.sh [--base|--asan]: configure (once) and build the prepared tree.
#   fork: build/src      -> build/obj
#   base: build/base-src -> build/base-obj   (same tarball, no qemu-xv patches)
#   asan: build/src      -> build/asan-obj   (the fork with --enable-asan
#         --enable-ubsan; only the system emulators of XV_ASAN_TARGETS, for
#         the sanitizer tests)
# XV_TARGETS lists the softmmu targets (default: XV_DEFAULT_TARGETS, lib.sh);
# XV_BASE_TARGETS those of the base (default x86_64-softmmu).
# ccache is on, with its cache in $XV_CACHE/ccache (outside the clone), and
# CCACHE_BASEDIR makes the fork and base builds share it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

extra=() ninja_targets=()
case "${1:-}" in
--base) src=$XV_BUILD/base-src obj=$XV_BUILD/base-obj flavour=base ;;
--asan) src=$XV_BUILD/src obj=$XV_BUILD/asan-obj flavour=asan
        extra=(--enable-asan --enable-ubsan)
        for t in ${XV_ASAN_TARGETS:-x86_64-softmmu}; do
            ninja_targets+=("qemu-system-${t%-softmmu}")
        done ;;
*)      src=$XV_BUILD/src obj=$XV_BUILD/obj flavour=fork ;;
esac
targets=${XV_TARGETS:-$XV_DEFAULT_TARGETS}
# the base serves the x86 benchmarks and the vSVA refusal test; the
# sanitizer build the KVM fault matrix: both x86_64 only by default
[ $flavour != asan ] || targets=${XV_ASAN_TARGETS:-x86_64-softmmu}
[ $flavour != base ] || targets=${XV_BASE_TARGETS:-x86_64-softmmu}
[ -d "$src/.git" ] || xv_die "$src is missing: run 'make prepare' first"

export CCACHE_DIR=${CCACHE_DIR:-$XV_CACHE/ccache}
export CCACHE_BASEDIR=$XV_BUILD
export CCACHE_NOHASHDIR=1
command -v ccache >/dev/null || xv_die "ccache is missing: run 'sudo make deps'"

# Firmware the +ds tarball lacks comes from Debian's packages (seabios,
# ipxe-qemu); the x86 option ROMs are built from pc-bios/optionrom.
firmwarepath=${XV_FIRMWAREPATH:-/usr/share/seabios:/usr/lib/ipxe/qemu}
for f in /usr/share/seabios/bios-256k.bin /usr/lib/ipxe/qemu/efi-virtio.rom; do
    [ -f "$f" ] || xv_die "firmware $f is missing: run 'sudo make deps' (packages seabios, ipxe-qemu)"
done

# The version string is a configure option: keep it stable (no git hash, no
# patch count) so that a new commit or a new patch does not reconfigure.
if [ $flavour != base ]; then
    pkgversion="qemu-xv, Debian $(xv_lock_get DEBIAN_VERSION)"
else
    pkgversion="Debian $(xv_lock_get DEBIAN_VERSION), qemu-xv base"
fi

args=(--cc="ccache cc" --cxx="ccache c++" --target-list="$targets" --with-pkgversion="$pkgversion"
      --python="$XV_PYTHON" --firmwarepath="$firmwarepath"
      --disable-download --disable-install-blobs --disable-docs --enable-debug-info --disable-werror
      "${extra[@]}" ${XV_CONFIGURE_EXTRA:-})
# The s390-ccw firmware the s390-ccw-virtio machine boots (s390-ccw.img) is
# built from pc-bios/s390-ccw when configure finds an s390x compiler: clang's
# SystemZ target (Debian's gcc-s390x-linux-gnu conflicts with gcc-multilib)
# through a wrapper, with binutils-s390x-linux-gnu for ld and objcopy.
#
# configure drops a firmware silently when its compiler probe fails; probe
# first (scripts/toolchain-probe.sh runs configure's checks) and stop with
# the packages to install instead.  wanted_fw lists what must be built.
probes=() wanted_fw=()
case "$targets" in
*i386-softmmu*|*x86_64-softmmu*)
    probes+=(optionrom)
    for r in linuxboot_dma pvh multiboot_dma kvmvapic; do
        wanted_fw+=("pc-bios/optionrom/$r.bin")
    done ;;
esac
case "$targets" in
*s390x-softmmu*)
    probes+=(s390-ccw)
    wanted_fw+=(pc-bios/s390-ccw/s390-ccw.img) ;;
esac
if [ ${#probes[@]} -gt 0 ] && ! why=$("$XV_ROOT/scripts/toolchain-probe.sh" "${probes[@]}"); then
    xv_die "the firmware of the targets '$targets' cannot be built:
$why
  Run 'sudo make deps' (it installs the packages named above)."
fi
case "$targets" in
*s390x-softmmu*)
    s390cc=$XV_BUILD/tools/s390x-linux-gnu-clang
    mkdir -p "$(dirname "$s390cc")"
    printf '#!/bin/sh\nexec clang --target=s390x-linux-gnu "$@"\n' > "$s390cc"
    chmod +x "$s390cc"
    args+=(--cross-cc-s390x="$s390cc") ;;
esac
want=$(printf '%s\n' "${args[@]}" | sha256sum | cut -c1-16)

# a firmware directory configure left out (its probe failed last time)
# needs configure again now that the probe passes
fw_unconfigured=""
for fw in ${wanted_fw[@]+"${wanted_fw[@]}"}; do
    [ -f "$obj/$(dirname "$fw")/Makefile" ] && ls "$obj/$(dirname "$fw")"/config*.mak >/dev/null 2>&1 ||
        fw_unconfigured=1
done
if [ ! -f "$obj/build.ninja" ] || [ -n "$fw_unconfigured" ] ||
   [ "$(cat "$obj/.xv-configured" 2>/dev/null)" != "$want" ]; then
    xv_log "configuring $flavour in $obj: ${args[*]}"
    # configure again in place: what did not change is not rebuilt; a
    # firmware directory's config file from an earlier run must not hide
    # that this configure dropped it
    mkdir -p "$obj"
    rm -f "$obj"/pc-bios/optionrom/config.mak "$obj"/pc-bios/s390-ccw/config-host.mak
    (cd "$obj" && "$src/configure" "${args[@]}") > "$XV_BUILD/configure-$flavour.log" 2>&1 ||
        { tail -30 "$XV_BUILD/configure-$flavour.log" >&2
          xv_die "configure failed (log: $XV_BUILD/configure-$flavour.log)"; }
    for fw in ${wanted_fw[@]+"${wanted_fw[@]}"}; do
        ls "$obj/$(dirname "$fw")"/config*.mak >/dev/null 2>&1 ||
            xv_die "configure left out $(dirname "$fw") (see $obj/config.log; 'scripts/toolchain-probe.sh' says what is missing)"
    done
    echo "$want" > "$obj/.xv-configured"
fi

xv_log "building $flavour ($targets) in $obj"
if [ ${#ninja_targets[@]} -gt 0 ]; then
    ninja -C "$obj" -j"$(nproc)" "${ninja_targets[@]}"
    make -C "$obj" -j"$(nproc)" --no-print-directory recurse-all
else
    # make (not bare ninja) also builds pc-bios/optionrom
    make -C "$obj" -j"$(nproc)" --no-print-directory
fi

# Running from the build tree, QEMU looks for every data and firmware
# directory below build/obj/qemu-bundle (util/cutils.c: get_relocated_path),
# where meson puts neither Debian's firmware nor the option ROMs that make
# built.  Link them there; an installed QEMU finds the same files through
# --firmwarepath and its datadir ('make install').
bundle=$obj/qemu-bundle
datadir=$(sed -n 's/^#define CONFIG_QEMU_DATADIR "\(.*\)"$/\1/p' "$obj/config-host.h")
for d in ${firmwarepath//:/ }; do
    mkdir -p "$bundle$(dirname "$d")"
    ln -sfn "$d" "$bundle$d"
done
# a wanted firmware that was not built is an error, never a silent skip
# (the s390x machine would fail at start-up with "could not find stage1
# bootloader"; configure.log says why it was dropped)
for fw in ${wanted_fw[@]+"${wanted_fw[@]}"}; do
    [ -f "$obj/$fw" ] ||
        xv_die "$fw was not built for '$targets' (see $obj/config.log and $XV_BUILD/configure-$flavour.log; 'scripts/toolchain-probe.sh' says what is missing)"
    ln -sf "$obj/$fw" "$bundle$datadir/$(basename "$fw")"
done
