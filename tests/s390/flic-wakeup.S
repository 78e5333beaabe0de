/*
 * halted-wakeups respects the I/O interruption subclass mask (CR6).
 *
 * CPU 1 waits with I/O interruptions enabled in its PSW but only ISC 7
 * enabled in CR6.  CPU 0 (I/O disabled) then starts a NOP channel program
 * on a subchannel with ISC 3, which CPU 1 masks, and then one on a
 * subchannel with ISC 7, which wakes CPU 1.  The FLIC must count one
 * wake-up, not two.  CPU 0 then sets 'done' and waits for good.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
    .org 0x1a0                         /* restart new PSW: CPU 1 */
    .quad 0x180000000,cpu1
    .org 0x1d0                         /* program new PSW */
    .quad 0x2000000000000,0            /* disabled wait: a guest panic */
    .org 0x1f0                         /* I/O new PSW: wait again */
    .quad 0x0202000180000000,0
    .org 0x200

    .globl _start
_start:
    lpswe start_psw
start64:
    llilh %r1,1                        /* subchannel 0.0.0000 */
    lghi %r6,3
    brasl %r14,enable_sch
    llilh %r1,1
    oill %r1,1                         /* subchannel 0.0.0001 */
    lghi %r6,7
    brasl %r14,enable_sch

    lghi %r3,1                         /* restart CPU 1 */
    sigp %r4,%r3,6
    jnz failure
1:  cli cpu1_ready,1
    jne 1b
    brasl %r14,delay                   /* let it reach the wait state */

    llilh %r1,1                        /* an ISC 3 interruption */
    larl %r2,orb
    ssch 0(%r2)
    jnz failure
    brasl %r14,delay
    llilh %r1,1                        /* an ISC 7 interruption */
    oill %r1,1
    larl %r2,orb
    ssch 0(%r2)
    jnz failure
    brasl %r14,delay
    mvi done,1
    lpswe final_psw

/* %r1: subchannel ID, %r6: ISC.  Enable it for that ISC. */
enable_sch:
    larl %r2,schib
    stsch 0(%r2)
    jnz failure
    llh %r0,4(%r2)                     /* PMCW flags */
    nill %r0,0xc7ff
    sll %r6,11
    or %r0,%r6
    oill %r0,0x80                      /* enabled */
    sth %r0,4(%r2)
    msch 0(%r2)
    jnz failure
    br %r14

delay:
    lgfi %r5,3000000
1:  brctg %r5,1b
    br %r14

cpu1:
    larl %r2,cr6_isc7
    lctlg %c6,%c6,0(%r2)
    mvi cpu1_ready,1
    lpswe io_wait_psw

failure:
    lpswe failure_psw

    .align 8
start_psw:
    .quad 0x180000000,start64          /* 64-bit mode, no interruptions */
io_wait_psw:
    .quad 0x0202000180000000,0         /* enabled wait, I/O only */
final_psw:
    .quad 0x0102000180000000,0         /* enabled wait, external only */
failure_psw:
    .quad 0x2000000000000,0            /* disabled wait */
cr6_isc7:
    .quad 0x01000000                   /* ISC 7 only */
orb:
    .long 0x12345678                   /* interruption parameter */
    .short 0x0080                      /* format-1 CCWs */
    .byte 0xff                         /* logical path mask */
    .byte 0
    .long ccw
    .skip 20
    .align 8
ccw:
    .byte 0x03                         /* NOP */
    .byte 0x20                         /* SLI */
    .short 1
    .long 0
    .align 8
schib:
    .skip 64
cpu1_ready:
    .byte 0
    .globl done
done:
    .byte 0
