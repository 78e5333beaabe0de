#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# build-aarch64.sh microguest|ptp-read OUT: build one of the suite's aarch64
# programs with clang and lld (Debian's aarch64 cross gcc conflicts with
# gcc-multilib, which the x86 option ROMs need):
#   microguest  the SMCCC micro-guest, a bare-metal ELF for -M virt -kernel
#   ptp-read    a static Linux program with no C library
set -e
here=$(cd "$(dirname "$0")" && pwd)
what=$1
out=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc="${CLANG:-clang} --target=aarch64-linux-gnu"
# -mstrict-align: the micro-guest runs with the MMU off (Device memory)
cflags="-O2 -ffreestanding -fno-pic -fno-pie -fno-stack-protector
        -fno-builtin -mgeneral-regs-only -mstrict-align -nostdinc
        -isystem $(${CLANG:-clang} -print-resource-dir)/include -Wall -Werror"
case "$what" in
microguest)
    $cc $cflags -c "$here/microguest-start.S" -o "$tmp/start.o"
    $cc $cflags -c "$here/microguest.c" -o "$tmp/main.o"
    ${LLD:-ld.lld} -static -nostdlib -Ttext=0x40200000 -e _start --build-id=none \
        "$tmp/start.o" "$tmp/main.o" -o "$tmp/out" ;;
ptp-read)
    $cc $cflags -c "$here/ptp-read.c" -o "$tmp/main.o"
    ${LLD:-ld.lld} -static -nostdlib -e _start --build-id=none \
        "$tmp/main.o" -o "$tmp/out" ;;
*)
    echo "usage: $0 microguest|ptp-read OUT" >&2
    exit 1 ;;
esac
mv "$tmp/out" "$out"
