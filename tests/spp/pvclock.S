/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A 64 KiB real-mode "BIOS" image (-bios) that registers vCPU 0's kvmclock
 * area at 0x30040 (MSR_KVM_SYSTEM_TIME_NEW, enabled), so that KVM writes
 * the page at 0x30000 itself, then writes a done marker at 0x21000 and
 * waits for a key (the "send-key" command: the i8042 output buffer
 * fills), disables the area again and writes a second marker at 0x21004.
 */
    .include "bios.inc"
    bios_entry
    movw    %ax, %ds                /* AX is 0 */
    movl    $0x4b564d01, %ecx       /* MSR_KVM_SYSTEM_TIME_NEW */
    movl    $0x00030041, %eax       /* 0x30040, bit 0: enabled */
    xorl    %edx, %edx
    wrmsr
    movw    $0x2000, %ax
    movw    %ax, %fs
    movl    $0x600dd00d, %fs:0x1000
1:
    movw    $0xffff, %cx            /* not a PIO exit at every turn */
3:
    loop    3b
    inb     $0x64, %al
    testb   $1, %al
    jz      1b
    movl    $0x4b564d01, %ecx
    xorl    %eax, %eax              /* disabled */
    xorl    %edx, %edx
    wrmsr
    movl    $0x0ff0c10c, %fs:0x1004
2:
    hlt
    jmp     2b

    bios_reset_vector
