/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Entry, descriptor tables and exception stubs of the split lock
 * micro-guest: a 32-bit multiboot kernel, flat segments, no paging.
 */

    .section .text.entry, "ax"
    .align 4
mb_header:
    .long 0x1BADB002
    .long 0
    .long -0x1BADB002

    .globl _start
_start:
    cli
    movl $kstack_top, %esp
    pushl %ebx                      /* multiboot info */
    lgdt gdt_desc
    ljmp $0x08, $1f
1:  movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    call setup_tables               /* C: fills the IDT and the TSS */
    movw $0x28, %ax
    ltr %ax
    lidt idt_desc
    call guest_main
2:  hlt
    jmp 2b

/* void enter_user(void (*fn)(void)): run fn at CPL 3 until it does int $0x80 */
    .globl enter_user
enter_user:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl %esp, saved_ksp
    movl 20(%esp), %eax
    movw $0x23, %dx
    movw %dx, %ds
    movw %dx, %es
    pushl $0x23
    pushl $ustack_top
    pushfl
    pushl $0x1b
    pushl %eax
    iret

    .globl user_return
user_return:                        /* int $0x80 gate, DPL 3 */
    movw $0x10, %dx
    movw %dx, %ds
    movw %dx, %es
    movl saved_ksp, %esp
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret

/* Exception stubs: push a dummy error code where the CPU pushes none */
.macro stub n, err
    .globl exc\n
exc\n:
    .if \err == 0
    pushl $0
    .endif
    pushl $\n
    jmp exc_common
.endm

    stub 0, 0
    stub 1, 0
    stub 2, 0
    stub 3, 0
    stub 4, 0
    stub 5, 0
    stub 6, 0
    stub 7, 0
    stub 8, 1
    stub 9, 0
    stub 10, 1
    stub 11, 1
    stub 12, 1
    stub 13, 1
    stub 14, 1
    stub 15, 0
    stub 16, 0
    stub 17, 1
    stub 18, 0
    stub 19, 0

exc_common:
    pushal
    pushl %ds
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    pushl %esp                      /* struct frame * */
    call trap
    addl $4, %esp
    popl %eax
    movw %ax, %ds
    movw %ax, %es
    popal
    addl $8, %esp                   /* vector, error code */
    iret

    .data
    .align 8
    .globl gdt
gdt:
    .quad 0                         /* 0x00 */
    .quad 0x00cf9a000000ffff        /* 0x08 kernel code */
    .quad 0x00cf92000000ffff        /* 0x10 kernel data */
    .quad 0x00cffa000000ffff        /* 0x18 user code */
    .quad 0x00cff2000000ffff        /* 0x20 user data */
    .quad 0                         /* 0x28 TSS, filled in by C */
gdt_end:
gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt
    .globl idt_desc
idt_desc:
    .word 256 * 8 - 1
    .long idt
saved_ksp:
    .long 0

    .bss
    .align 16
    .globl idt
idt:
    .space 256 * 8
    .space 8192
kstack_top:
    .space 8192
ustack_top:

    .section .note.GNU-stack, "", @progbits
