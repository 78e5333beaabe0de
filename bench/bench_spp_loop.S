/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Benchmark guest for sub-page write protection: a 64 KiB real-mode -bios
 * image that stores a word at 0x10010 (sub-page 0 of page 0x10000)
 * "loops" times, then writes 0x600dd00d at 0x21000 and halts.  The 32-bit
 * loop count sits at offset 0x200 of the image; bench_spp.py patches it.
 */
    .include "bios.inc"
    bios_entry
    movw    $0x1000, %ax
    movw    %ax, %es
    movw    $0x2000, %ax
    movw    %ax, %fs
    movl    %cs:loops, %ecx
    testl   %ecx, %ecx
    jz      2f
1:
    movw    %cx, %es:0x010
    decl    %ecx
    jnz     1b
2:
    movl    $0x600dd00d, %fs:0x1000
3:
    hlt
    jmp     3b

    .org    0x200
loops:
    .long   0

    bios_reset_vector
