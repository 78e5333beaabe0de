#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# mkl1kernel.sh [--config-only] [--rebuild] [--cached] [--install-deps] [OUTDIR]
#
# The L1 guest kernel of tests/vsva: Linux 6.12 with iommufd, the VFIO device
# cdev and VT-d nesting support, built from Debian's linux-source-6.12 (pinned
# in upstream.lock) with tests/vsva/l1-kernel.config.  Prints the path of
# OUTDIR/bzImage (default build/l1).
#
# The build takes about 19 minutes on 2 cores, so upstream.lock also pins the
# image built once with this recipe ("built" line): when $XV_CACHE or
# ../shared/cache holds a file with that sha256, it is used instead.
#
#   --config-only   stop after "make olddefconfig" and compare the .config
#                   with the pinned one (toolchain lines ignored)
#   --rebuild       build even when a pinned image is cached
#   --cached        use the pinned cached image or fail at once, naming it:
#                   never download or build (what the tests call)
#   --install-deps  first apt-get install the build's own dependencies
#                   (libelf-dev libssl-dev bc flex bison): needs root
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KVER=6.12.117
IMAGE=bzImage-$KVER-xv-l1
CONFIG=config-$KVER-xv-l1
SRCDEB=linux-source-6.12_6.12.117-1~deb12u1_all.deb
FRAGMENT=$XV_ROOT/tests/vsva/l1-kernel.config
BUILD_DEPS="libelf-dev libssl-dev bc flex bison"

config_only="" rebuild="" install_deps="" cached_only=""
while [ $# -gt 0 ]; do
    case "$1" in
    --config-only) config_only=1 ;;
    --rebuild) rebuild=1 ;;
    --cached) cached_only=1 ;;
    --install-deps) install_deps=1 ;;
    -*) xv_die "unknown option $1 (see the head of $0)" ;;
    *) break ;;
    esac
    shift
done
out=$(realpath -m "${1:-$XV_BUILD/l1}")

# built_sha NAME: the sha256 upstream.lock pins for an artifact of this recipe
built_sha() {
    awk -v n="$1" '$1 == "built" && $2 == n { print $3; found = 1 }
                   END { exit !found }' "$XV_LOCK" ||
        xv_die "$XV_LOCK pins no built file named '$1'"
}

# cached NAME: a cached copy of NAME with the pinned sha256, if any
cached() {
    local sum dir
    sum=$(built_sha "$1")
    for dir in "$XV_CACHE" "$XV_SHARED_CACHE"; do
        if [ -f "$dir/$1" ] && [ "$(sha256sum < "$dir/$1" | cut -d' ' -f1)" = "$sum" ]; then
            echo "$dir/$1"
            return 0
        fi
    done
    return 1
}

# strip_toolchain CONFIG: the .config without the lines that depend on the
# compiler, assembler, linker and Rust versions found on the building host
strip_toolchain() {
    grep -v -E '^(# )?CONFIG_(CC_|GCC_|CLANG_|AS_|LD_|LLD_|RUSTC_|PAHOLE_|TOOLS_SUPPORT_|RUST)' "$1" |
        grep -v -E '^# Linux/x86 .* Kernel Configuration$'
}

mkdir -p "$out"
if [ -z "$rebuild" ] && [ -z "$config_only" ] && img=$(cached "$IMAGE"); then
    cp "$img" "$out/bzImage.tmp" && mv "$out/bzImage.tmp" "$out/bzImage"
    if cfg=$(cached "$CONFIG"); then
        cp "$cfg" "$out/config"
    fi
    echo "$out/bzImage"
    exit 0
fi

if [ -n "$cached_only" ]; then
    xv_die "$IMAGE (sha256 $(built_sha "$IMAGE")) is in neither $XV_CACHE nor $XV_SHARED_CACHE:
copy it there, or build it once with scripts/mkl1kernel.sh (about 19 minutes;
downloads $SRCDEB)"
fi

if [ -n "$install_deps" ]; then
    xv_log "installing the kernel build's dependencies: $BUILD_DEPS"
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y $BUILD_DEPS >&2
    else
        sudo apt-get install -y $BUILD_DEPS >&2
    fi
fi
for tool in bc flex bison; do
    command -v "$tool" >/dev/null ||
        xv_die "$tool is missing: run $0 --install-deps (as root), or apt-get install $BUILD_DEPS"
done

deb=$(xv_fetch "$SRCDEB")
src=$out/linux-$KVER
if [ ! -f "$src/.xv-unpacked" ]; then
    xv_log "unpacking $(basename "$deb") into $src"
    rm -rf "$src" "$out/deb"
    dpkg-deb --fsys-tarfile "$deb" |
        tar -x -C "$out" --transform "s,^\./usr/src/,deb/," ./usr/src/linux-source-6.12.tar.xz
    mkdir -p "$src"
    tar -xJf "$out/deb/linux-source-6.12.tar.xz" -C "$src" --strip-components=1
    rm -rf "$out/deb"
    touch "$src/.xv-unpacked"
fi

# defconfig, the KVM guest fragment, then ours, option by option
kmake() { make -C "$src" -s "$@" >&2; }
kmake defconfig
kmake kvm_guest.config
args=()
while read -r line; do
    case "$line" in
    CONFIG_*=y) opt=${line%%=*}; args+=(-e "${opt#CONFIG_}") ;;
    "# CONFIG_"*" is not set") opt=${line#"# CONFIG_"}; args+=(-d "${opt%% *}") ;;
    "" | "#"*) ;;
    *) xv_die "$FRAGMENT: cannot read '$line'" ;;
    esac
done < "$FRAGMENT"
"$src/scripts/config" --file "$src/.config" "${args[@]}"
kmake olddefconfig
cp "$src/.config" "$out/config"

# every option of the fragment must have survived olddefconfig
missing=0
while read -r line; do
    case "$line" in
    CONFIG_*=y | "# CONFIG_"*" is not set")
        grep -qxF "$line" "$src/.config" || { xv_log "not in .config: $line"; missing=1; } ;;
    esac
done < "$FRAGMENT"
[ "$missing" = 0 ] || xv_die "olddefconfig dropped options of $FRAGMENT (dependencies?)"

if pinned=$(cached "$CONFIG"); then
    if diff -u <(strip_toolchain "$pinned") <(strip_toolchain "$out/config") >&2; then
        xv_log ".config matches $CONFIG (toolchain lines ignored)"
    else
        xv_die ".config differs from the pinned $CONFIG (diff above)"
    fi
else
    xv_log "no cached $CONFIG to compare the .config with"
fi
if [ -n "$config_only" ]; then
    echo "$out/config"
    exit 0
fi

xv_log "building bzImage in $src (about 19 minutes on 2 cores)"
KBUILD_BUILD_USER=qemu-xv KBUILD_BUILD_HOST=qemu-xv \
    kmake -j"${XV_JOBS:-2}" bzImage
cp "$src/arch/x86/boot/bzImage" "$out/bzImage"
xv_log "built $out/bzImage (sha256 $(sha256sum < "$out/bzImage" | cut -d' ' -f1);" \
       "a rebuild is not bit-identical to the pinned $IMAGE)"
echo "$out/bzImage"
