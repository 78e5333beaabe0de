#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# build-microguest.sh OUT: build the SMCCC micro-guest (a bare-metal aarch64
# ELF for -M virt -kernel) with the aarch64 cross compiler.
set -e
here=$(cd "$(dirname "$0")" && pwd)
out=$1
cc=${CROSS_COMPILE:-aarch64-linux-gnu-}gcc
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the MMU stays off, so memory is Device memory: no unaligned accesses
cflags="-O2 -ffreestanding -fno-pic -fno-pie -fno-stack-protector
        -mstrict-align -mgeneral-regs-only -Wall -Werror"
$cc $cflags -c "$here/microguest-start.S" -o "$tmp/start.o"
$cc $cflags -c "$here/microguest.c" -o "$tmp/main.o"
$cc -nostdlib -static -no-pie -Wl,-Ttext=0x40200000 -Wl,-e,_start \
    -Wl,--build-id=none "$tmp/start.o" "$tmp/main.o" -o "$tmp/microguest.elf"
mv "$tmp/microguest.elf" "$out"
