/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Stall probe for sub-page write protection: a 64 KiB real-mode -bios
 * image that reads the TSC in a tight loop and records the longest gap
 * between two consecutive reads, per window of 2^24 TSC ticks (a few ms),
 * so that the host can tell how long the vCPU stood still while it
 * changed protections.  Results at 0x20000:
 *   +0x0  last TSC (64 bits)
 *   +0xc  iterations (32 bits)
 *   +0x1000 + 8 * (window & 1023): longest gap in ticks (32 bits), then
 *          the window number (TSC >> 24, low 32 bits) it belongs to
 */
    .include "bios.inc"
    bios_entry
    movw    $0x2000, %ax
    movw    %ax, %es
    rdtsc
    movl    %eax, %esi              /* previous TSC, low half */
1:
    rdtsc
    movl    %eax, %ecx
    subl    %esi, %ecx              /* gap since the previous read */
    movl    %eax, %esi
    movl    %eax, %es:0x0
    movl    %edx, %es:0x4
    shrdl   $24, %edx, %eax         /* window number */
    movl    %eax, %ebx
    andl    $1023, %ebx
    cmpl    %eax, %es:0x1004(,%ebx,8)
    je      2f
    movl    %eax, %es:0x1004(,%ebx,8)   /* a new window */
    movl    $0, %es:0x1000(,%ebx,8)
2:
    cmpl    %ecx, %es:0x1000(,%ebx,8)
    jae     3f
    movl    %ecx, %es:0x1000(,%ebx,8)
3:
    incl    %es:0xc
    jmp     1b

    bios_reset_vector
