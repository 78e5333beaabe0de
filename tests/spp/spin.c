// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest program for test_linux.py: on vCPU 1, store an increasing
 * counter to offsets 0x100 and 0x800 of the page at 0x10000000 (through
 * /dev/mem) as fast as it can, for ever.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
    cpu_set_t set;
    volatile uint32_t *p;
    uint32_t i;
    int fd;

    CPU_ZERO(&set);
    CPU_SET(1, &set);
    if (sched_setaffinity(0, sizeof(set), &set)) {
        perror("sched_setaffinity");
        return 1;
    }
    fd = open("/dev/mem", O_RDWR | O_SYNC);
    if (fd < 0) {
        perror("/dev/mem");
        return 1;
    }
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0x10000000);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    printf("XV-SPIN: on cpu %d\n", sched_getcpu());
    fflush(stdout);
    for (i = 1;; i++) {
        p[0x100 / 4] = i;
        p[0x800 / 4] = i;
    }
}
