#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# mkguest.sh ARCH OUTDIR [KERNEL]: build a bootable test guest from Debian
# packages pinned in upstream.lock (a kernel .deb and busybox-static).
# KERNEL picks among the kernels pinned for ARCH by version prefix (e.g. 6.12);
# the default is the first one pinned:
#   OUTDIR/vmlinuz           the kernel
#   OUTDIR/initramfs.cpio.gz busybox, tests/guest/init and the kernel modules
#                            the tests need, with modules.dep
#   OUTDIR/cmdline           the kernel command line for its console
# A test adds its own program as a second archive (see tests/lib/xv/guest.py):
# the kernel unpacks concatenated cpio archives in order, so /xv/test of the
# second one is what init runs.  ARCH: x86_64, s390x or aarch64.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

arch=${1:?usage: mkguest.sh ARCH OUTDIR}
out=${2:?usage: mkguest.sh ARCH OUTDIR}
kernel=${3:-}

case "$arch" in
x86_64)  debarch=amd64 kflavour=cloud-amd64 console=ttyS0
         modules="virtio_pci virtio_blk virtio_net virtio_console virtio_scsi virtio_rng" ;;
s390x)   debarch=s390x kflavour=s390x console=ttysclp0
         modules="virtio_pci virtio_blk virtio_net virtio_console virtio_rng" ;;
aarch64) debarch=arm64 kflavour=arm64 console=ttyAMA0
         modules="virtio_pci virtio_mmio virtio_blk virtio_net virtio_console virtio_rng ptp_kvm" ;;
*) xv_die "unknown guest architecture '$arch' (x86_64, s390x or aarch64)" ;;
esac

# the first pinned kernel of this flavour (whose version starts with
# $kernel, taken literally) and busybox
kre=$(printf '%s' "$kernel" | sed 's/[][\\.^$*+?(){}|]/\\&/g')
kdeb=$(xv_lock_names "^linux-image-${kre}.*-${kflavour}_"); kdeb=${kdeb%%$'\n'*}
bdeb=$(xv_lock_names "^busybox-static_.*_${debarch}\\.deb\$"); bdeb=${bdeb%%$'\n'*}
[ -n "$kdeb" ] && [ -n "$bdeb" ] || xv_die "upstream.lock pins no kernel${kernel:+ $kernel} or busybox for $arch"

# up to date (this script, init, the pinned names and checksums, the
# modules): nothing to fetch or build, also offline
stampv=$(sha256sum "$0" "$XV_ROOT/tests/guest/init" | cut -c1-64
         echo "$kdeb $(xv_lock_file "$kdeb" | cut -d' ' -f1)"
         echo "$bdeb $(xv_lock_file "$bdeb" | cut -d' ' -f1)"
         echo "$modules")
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stampv" ]; then
    exit 0
fi
# both at once: offline (XV_OFFLINE=1), one message names every missing file
paths=$("$XV_ROOT/scripts/fetch.sh" "$kdeb" "$bdeb")
kdeb=$(sed -n 1p <<<"$paths")
bdeb=$(sed -n 2p <<<"$paths")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$kdeb" "$tmp/k"
dpkg-deb -x "$bdeb" "$tmp/b"
kver=$(ls "$tmp/k/lib/modules")

root=$tmp/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,xv,lib/modules/"$kver"}
cp "$tmp/b/bin/busybox" "$root/bin/busybox"
install -m 0755 "$XV_ROOT/tests/guest/init" "$root/init"

# the modules and everything they depend on
command -v depmod >/dev/null || xv_die "depmod is missing: run 'sudo make deps' (package kmod)"
depmod -b "$tmp/k" "$kver"
: > "$root/etc/xv-modules"
for m in $modules; do
    deps=$(modprobe -d "$tmp/k" -S "$kver" --show-depends "$m" 2>/dev/null |
           awk '$1 == "insmod" { print $2 }') || true
    if [ -z "$deps" ]; then
        # built into the kernel: nothing to load
        grep -q "/$m.ko" "$tmp/k/lib/modules/$kver/modules.builtin" 2>/dev/null ||
            xv_log "warning: module $m not found in $(basename "$kdeb")"
        continue
    fi
    for d in $deps; do
        rel=${d#"$tmp/k/"}
        mkdir -p "$root/$(dirname "$rel")"
        cp "$d" "$root/$rel"
    done
    echo "$m" >> "$root/etc/xv-modules"
done
cp "$tmp/k/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$kver/" 2>/dev/null || true
depmod -b "$root" "$kver"

mkdir -p "$out"
cp "$tmp/k/boot/vmlinuz-$kver" "$out/vmlinuz"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -9n > "$out/initramfs.cpio.gz"
echo "console=$console panic=-1 quiet loglevel=4" > "$out/cmdline"
echo "$kver" > "$out/kernel-version"
echo "$stampv" > "$out/.stamp"
xv_log "guest for $arch in $out (kernel $kver)"
