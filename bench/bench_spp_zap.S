/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Memory toucher for the KVM_X86_QUIRK_SLOT_ZAP_ALL benchmark: a 64 KiB
 * real-mode -bios image that switches to flat 32-bit protected mode (no
 * paging) and writes one word in every 4 KiB page of 16 MiB .. 272 MiB,
 * over and over, counting the pages written at 0x20000 (32 bits).  Every
 * time KVM drops its mappings of the guest, each page faults again.
 */
    .include "bios.inc"
    .code16
    .text
    .globl  _start
_start:
    cli
    lgdtl   %cs:gdtdesc
    movl    %cr0, %eax
    orl     $1, %eax
    movl    %eax, %cr0
    ljmpl   $0x08, $(0xf0000 + pm32)

    .code32
pm32:
    movw    $0x10, %ax
    movw    %ax, %ds
    movw    %ax, %es
    movw    %ax, %ss
    movl    $0x20000, %ebx
    movl    $0, (%ebx)
1:
    movl    $0x1000000, %edi
    movl    $65536, %ecx
2:
    incl    (%edi)
    incl    (%ebx)
    addl    $4096, %edi
    decl    %ecx
    jnz     2b
    jmp     1b

    .balign 8
gdt:
    .quad   0
    .quad   0x00cf9b000000ffff      /* 0x08: code, flat, 32-bit */
    .quad   0x00cf93000000ffff      /* 0x10: data, flat */
gdtdesc:
    .word   3 * 8 - 1
    .long   0xf0000 + gdt

    bios_reset_vector
