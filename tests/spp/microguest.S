/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Micro-guest for sub-page write protection: a 64 KiB real-mode "BIOS"
 * image (-bios) that writes to allowed and protected sub-pages of the page
 * at 0x10000, copies that page to 0x20000 (what the guest reads back) and
 * writes a done marker at 0x21000.  Last, it has fw_cfg DMA write into a
 * protected sub-page.  Real mode, no paging, so it runs the
 * same under TCG and under this host's nested KVM.
 *
 * The test protects 0x10000 with mask 0x0000ffff before the CPU starts:
 * sub-pages 0-15 (0x000-0x7ff) writable, 16-31 (0x800-0xfff) protected.
 * The list of writes is mirrored in test_microguest.py (WRITES); the
 * pc_* labels mark instructions whose violation events it checks the pc of.
 */
    .include "bios.inc"
    bios_entry
    movw    $0x1000, %ax
    movw    %ax, %es                /* ES = 0x10000: the protected page */
    movw    $0x2000, %ax
    movw    %ax, %fs                /* FS = 0x20000: results */

    /* 1, 2, 4 and 8 byte stores: allowed, then protected */
    movb    $0x11, %es:0x010
    .globl  pc_deny1, pc_deny1_end
pc_deny1:
    movb    $0x22, %es:0x810
pc_deny1_end:
    movw    $0x3344, %es:0x020
    movw    $0x5566, %es:0x820
    movl    $0x778899aa, %es:0x030
    movl    $0xbbccddee, %es:0x830
    movq    %cs:qword1, %mm0
    movq    %mm0, %es:0x040
    movq    %cs:qword2, %mm0
    movq    %mm0, %es:0x840

    /* A store straddling sub-pages 15 and 16: denied as a whole */
    movl    $0x01020304, %es:0x7fe

    /* rep stosb across the border: 8 bytes land, 8 are dropped */
    movw    $0x7f8, %di
    movw    $16, %cx
    movb    $0x5a, %al
    cld
    .globl  pc_rep, pc_rep_end
pc_rep:
    rep stosb
pc_rep_end:

    /* lock cmpxchg (compare succeeds), allowed then protected */
    xorw    %ax, %ax
    movw    $0x6677, %bx
    lock cmpxchgw %bx, %es:0x050
    xorw    %ax, %ax
    lock cmpxchgw %bx, %es:0x850

    /* Self-modifying code on the protected page (allowed sub-page 2) */
    movw    $0x41b0, %es:0x100      /* mov $0x41, %al */
    movb    $0xcb, %es:0x102        /* lret */
    lcall   $0x1000, $0x100
    movb    %al, %fs:0x1004
    movb    $0x42, %es:0x101        /* now mov $0x42, %al */
    lcall   $0x1000, $0x100
    movb    %al, %fs:0x1005

    /* Read the page back: FS:0 = copy of ES:0 */
    pushw   %es
    popw    %ds
    pushw   %fs
    popw    %es
    xorw    %si, %si
    xorw    %di, %di
    movw    $4096, %cx
    rep movsb

    /*
     * fw_cfg DMA (ports 0x514/0x518, big-endian) reads the 4-byte
     * signature into protected sub-page 18 (0x10900): a device write,
     * done inside the vCPU's PIO handler.  FWCfgDmaAccess at 0x21100:
     * control = select key 0 | read, length 4, address 0x10900.
     */
    movl    $0x0a000000, %fs:0x1100
    movl    $0x04000000, %fs:0x1104
    movl    $0, %fs:0x1108
    movl    $0x00090100, %fs:0x110c
    movw    $0x514, %dx
    xorl    %eax, %eax
    outl    %eax, %dx
    movw    $0x518, %dx
    movl    $0x00110200, %eax
    outl    %eax, %dx

    movl    $0x600dd00d, %fs:0x1000
1:
    hlt
    jmp     1b

    .balign 8
qword1:
    .quad   0x0123456789abcdef
qword2:
    .quad   0xfedcba9876543210

    bios_reset_vector
