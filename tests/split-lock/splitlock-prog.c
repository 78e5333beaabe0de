/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Guest program of the split-lock suite (static, x86_64 Linux):
 *   splitlock-prog split N   do N "lock addl" across a cache line
 *   splitlock-prog aligned N do N "lock addl" inside a cache line
 * It names itself "splitlock", prints "SPLITLOCK: insn <addr> next <addr>"
 * (the locked instruction and the one after it), then "SPLITLOCK: done
 * <ms> <value>" with the elapsed time and the counter's final value, and
 * exits 0.  Under
 * split_lock_detect=fatal the kernel kills it with SIGBUS first.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

static char buf[256] __attribute__((aligned(64)));

extern char sl_insn[], sl_next[];

static void __attribute__((noinline, noclone)) locked_add(int *p)
{
    __asm__ volatile(".globl sl_insn, sl_next\n"
                     "sl_insn:\n\t"
                     "lock addl $1, %0\n"
                     "sl_next:"
                     : "+m"(*p));
}

int main(int argc, char **argv)
{
    int split = argc > 1 && !strcmp(argv[1], "split");
    long n = argc > 2 ? atol(argv[2]) : 1;
    int *p = (int *)(buf + (split ? 62 : 60));
    struct timespec t0, t1;
    long i;

    prctl(PR_SET_NAME, "splitlock");
    printf("SPLITLOCK: insn %p next %p\n", (void *)sl_insn, (void *)sl_next);
    fflush(stdout);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < n; i++) {
        locked_add(p);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("SPLITLOCK: done %ld %d\n",
           (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000,
           *p);
    return 0;
}
