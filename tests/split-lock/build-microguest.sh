#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# build-microguest.sh OUT: build the split lock micro-guest (a 32-bit
# multiboot ELF) with the host's gcc and binutils.
set -e
here=$(cd "$(dirname "$0")" && pwd)
out=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cflags="-m32 -O2 -ffreestanding -fno-pic -fno-pie -fno-stack-protector
        -fno-asynchronous-unwind-tables -mno-sse -mno-mmx -Wall -Werror"
gcc $cflags -c "$here/microguest-start.S" -o "$tmp/start.o"
gcc $cflags -c "$here/microguest.c" -o "$tmp/main.o"
ld -m elf_i386 -nostdlib -static -Ttext=0x100000 -e _start \
    "$tmp/start.o" "$tmp/main.o" -o "$tmp/microguest.elf"
mv "$tmp/microguest.elf" "$out"
