/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Entry of the SMCCC micro-guest: QEMU's virt board starts it at EL1 with
 * the MMU off (-kernel of an ELF image).  Set up a stack and run main().
 */
    .section .text.start, "ax"
    .global _start
_start:
    ldr     x0, =stack_top
    mov     sp, x0
    bl      main
1:  wfi
    b       1b

/*
 * struct smccc_res smccc_hvc(uint64_t fid, uint64_t a1): issue HVC #0 with
 * x0 = fid, x1 = a1, x2 = x3 = 0, and store x0..x3 at the address in x8
 * (the AAPCS64 indirect result register for a 32-byte struct).
 */
    .text
    .global smccc_hvc
smccc_hvc:
    mov     x2, xzr
    mov     x3, xzr
    hvc     #0
    stp     x0, x1, [x8]
    stp     x2, x3, [x8, #16]
    ret

    .bss
    .balign 16
    .space  16384
stack_top:
