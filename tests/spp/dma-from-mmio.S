/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Real-mode BIOS: map iommu-testdev (00:04.0) BAR0 at 0xa0000 and make it
 * DMA-write 4 bytes to 0x3000 by reading its trigger register. */
    .include "bios.inc"
    .code16
    .text
    .globl  _start
_start:
    cli
    movl $0x80002010, %eax
    movw $0xcf8, %dx
    outl %eax, %dx
    movl $0xa0000, %eax
    movw $0xcfc, %dx
    outl %eax, %dx
    movl $0x80002004, %eax
    movw $0xcf8, %dx
    outl %eax, %dx
    movl $6, %eax
    movw $0xcfc, %dx
    outl %eax, %dx
    movw $0xa000, %ax
    movw %ax, %ds
    movl $0x3000, 0x4
    movl $0, 0x8
    movl $0x3000, 0x1c
    movl $0, 0x20
    movl $4, 0xc
    movl $1, 0x14
trigger:
    movl 0x0, %eax            /* the device DMAs now, in this vCPU thread */
    movl 0x10, %ebx           /* DMA result */
    xorw %ax, %ax
    movw %ax, %ds
    movl %ebx, 0x2000
1:  hlt
    jmp 1b
    bios_reset_vector
