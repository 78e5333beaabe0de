// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest program for test_linux.py: two threads, pinned to vCPU 0 and
 * vCPU 1, each store one word per round to a page of its own (0x10000040
 * and 0x10001040, through /dev/mem) at the same moment (both spin on
 * the round number), then read it back.  A round starts when a line arrives on stdin; "XV-READY r" says
 * the threads wait for round r, "XV-ROUND r: a b" gives what they read.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define ROUNDS 10

static volatile uint32_t *mem;
static pthread_barrier_t done;
static volatile uint32_t go;     /* the round the writers may start */
static uint32_t got[2];

static void *writer(void *arg)
{
    int cpu = (int)(intptr_t)arg;
    volatile uint32_t *p = mem + cpu * 1024 + 0x10;
    cpu_set_t set;
    uint32_t r;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) {
        fprintf(stderr, "pthread_setaffinity_np: cpu %d\n", cpu);
        exit(1);
    }
    for (r = 1; r <= ROUNDS; r++) {
        /* spin, not sleep: both store within a few instructions */
        while (go < r) {
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
        }
        *p = (uint32_t)(cpu + 1) << 24 | r;
        got[cpu] = *p;
        pthread_barrier_wait(&done);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    char line[64];
    int fd, i, r;

    fd = open("/dev/mem", O_RDWR | O_SYNC);
    if (fd < 0) {
        perror("/dev/mem");
        return 1;
    }
    mem = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
               0x10000000);
    if (mem == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    /* three: the two writers and this thread, which starts each round */
    pthread_barrier_init(&done, NULL, 3);
    for (i = 0; i < 2; i++) {
        pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i);
    }
    for (r = 1; r <= ROUNDS; r++) {
        printf("XV-READY %d\n", r);
        fflush(stdout);
        if (!fgets(line, sizeof(line), stdin)) {
            return 1;
        }
        __atomic_store_n(&go, r, __ATOMIC_RELEASE);
        pthread_barrier_wait(&done);
        printf("XV-ROUND %d: %08x %08x\n", r, got[0], got[1]);
        fflush(stdout);
    }
    for (i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
    }
    return 0;
}
