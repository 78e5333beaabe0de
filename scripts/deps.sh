#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# deps.sh [--check]: install what building and testing qemu-xv needs on
# Debian 12 (needs root: apt-get).  With --check, nothing happens when all is
# there; otherwise root installs what is missing and anyone else is told to
# run "sudo make deps".  "make" runs it with --check.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Debian 12 packages (bc, libelf-dev and libssl-dev build the vSVA L1
# kernel, scripts/mkl1kernel.sh; mmdebstrap the fresh-root check,
# scripts/check-deps-fresh.sh; xorriso the CD-ROM image the s390-ccw
# firmware test boots); meson >= 1.5 and python3-pycotap come from
# bookworm-backports.  clang with binutils-s390x-linux-gnu builds the s390-ccw
# firmware (libgcc-12-dev-s390x-cross: configure links its probe with
# -lgcc and drops the firmware without it), clang with lld the aarch64 test
# programs (Debian's gcc cross compilers conflict with gcc-multilib, which
# the x86 option ROMs need).  After the package check, the toolchains are
# probed the way configure probes them (scripts/toolchain-probe.sh).
pkgs=(build-essential gcc-multilib ninja-build pkgconf flex bison ccache git patch perl
      python3 python3-venv python3-pip libglib2.0-dev zlib1g-dev libpixman-1-dev
      libslirp-dev libfdt-dev seabios ipxe-qemu
      clang lld binutils-s390x-linux-gnu libgcc-12-dev-s390x-cross
      kmod cpio gzip xz-utils e2fsprogs util-linux
      bc libelf-dev libssl-dev mmdebstrap xorriso)
backports=(meson python3-pycotap)

missing=()
for p in "${pkgs[@]}" "${backports[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
        missing+=("$p")
done
meson_ok=0
if command -v meson >/dev/null &&
   dpkg --compare-versions "$(meson --version)" ge 1.5; then
    meson_ok=1
fi
qmp_ok=0
"$XV_PYTHON" -c 'import qemu.qmp' 2>/dev/null && qmp_ok=1
# a package can be installed and unusable: probe what configure probes
probe="$XV_ROOT/scripts/toolchain-probe.sh"
for p in $("$probe" -q); do
    [[ " ${missing[*]:-} " == *" $p "* ]] || missing+=("$p")
    [[ " ${pkgs[*]} " == *" $p "* ]] || pkgs+=("$p")
done

if [ ${#missing[@]} = 0 ] && [ $meson_ok = 1 ] && [ $qmp_ok = 1 ]; then
    exit 0
fi
if [ "${1:-}" = "--check" ] && [ "$(id -u)" != 0 ]; then
    xv_die "missing build dependencies: ${missing[*]:-}$([ $meson_ok = 1 ] || echo ' meson>=1.5')$([ $qmp_ok = 1 ] || echo ' python3-qemu-qmp')
  Run 'sudo make deps' once (it uses apt-get and adds bookworm-backports)."
fi
[ "$(id -u)" = 0 ] || xv_die "installing packages needs root: run 'sudo make deps'"

if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # the same mirror as the system's own Debian entries
    uri=$(xv_debian_mirror)
    xv_log "adding bookworm-backports ($uri) to apt's sources"
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$uri" > /etc/apt/sources.list.d/qemu-xv-backports.sources
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -q --no-install-recommends "${pkgs[@]}"
apt-get install -y -q --no-install-recommends -t bookworm-backports "${backports[@]}"
if ! "$XV_PYTHON" -c 'import qemu.qmp' 2>/dev/null; then
    deb=$(xv_fetch "$(xv_lock_name '^python3-qemu-qmp_')")
    dpkg -i "$deb"
fi
"$XV_PYTHON" -c 'import qemu.qmp' || xv_die "python3-qemu-qmp did not install"
"$probe" >&2 || xv_die "the toolchain probes above still fail after installing the packages they name"
xv_log "dependencies installed"
