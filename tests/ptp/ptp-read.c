/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ptp-read: read the PTP clock /dev/ptp0 inside the test guest and print,
 * for five rounds, one line the test (test_linux.py) judges:
 *
 *   PTP: clock=<ns> real=<ns> precise_dev=<ns> precise_sys=<ns> caps_xts=<n>
 *
 * clock is clock_gettime() on the PTP clock (FD_TO_CLOCKID), real is the
 * guest's CLOCK_REALTIME read right after it, precise_* is one
 * PTP_SYS_OFFSET_PRECISE cross timestamp (device time and the guest's
 * CLOCK_REALTIME at the same counter value).  Exits 0 if every call
 * worked.
 *
 * The guest has only busybox and the host builds this with clang and lld
 * alone (no aarch64 C library), so it makes its system calls itself; the
 * uAPI structures and ioctl numbers are those of <linux/ptp_clock.h>.
 */
#include <stdint.h>

#define SYS_openat          56
#define SYS_ioctl           29
#define SYS_write           64
#define SYS_exit_group      94
#define SYS_nanosleep       101
#define SYS_clock_gettime   113
#define AT_FDCWD            (-100)
#define O_RDWR              2
#define CLOCK_REALTIME      0
#define CLOCKFD             3
#define FD_TO_CLOCKID(fd)   ((int)((~(unsigned int)(fd) << 3) | CLOCKFD))

struct timespec64 {
    int64_t tv_sec;
    int64_t tv_nsec;
};

struct ptp_clock_time {
    int64_t sec;
    uint32_t nsec;
    uint32_t reserved;
};

struct ptp_clock_caps {
    int max_adj, n_alarm, n_ext_ts, n_per_out, pps, n_pins;
    int cross_timestamping;
    int rsv[13];
};

struct ptp_sys_offset_precise {
    struct ptp_clock_time device;
    struct ptp_clock_time sys_realtime;
    struct ptp_clock_time sys_monoraw;
    unsigned int rsv[4];
};

_Static_assert(sizeof(struct ptp_clock_caps) == 80, "ptp_clock_caps");
_Static_assert(sizeof(struct ptp_sys_offset_precise) == 64,
               "ptp_sys_offset_precise");

/* _IOR('=', 1, struct ptp_clock_caps), _IOWR('=', 8, ...precise) */
#define PTP_CLOCK_GETCAPS       0x80503d01
#define PTP_SYS_OFFSET_PRECISE  0xc0403d08

static long syscall4(long nr, long a0, long a1, long a2, long a3)
{
    register long x8 asm("x8") = nr;
    register long x0 asm("x0") = a0;
    register long x1 asm("x1") = a1;
    register long x2 asm("x2") = a2;
    register long x3 asm("x3") = a3;

    asm volatile("svc #0"
                 : "+r"(x0)
                 : "r"(x8), "r"(x1), "r"(x2), "r"(x3)
                 : "memory");
    return x0;
}

static void out(const char *s)
{
    long n = 0;

    while (s[n]) {
        n++;
    }
    syscall4(SYS_write, 1, (long)s, n, 0);
}

static void out_num(const char *name, long long v)
{
    char buf[32];
    int i = sizeof(buf) - 1;
    unsigned long long u = v < 0 ? -(unsigned long long)v : v;

    buf[i] = 0;
    do {
        buf[--i] = '0' + u % 10;
        u /= 10;
    } while (u);
    if (v < 0) {
        buf[--i] = '-';
    }
    out(name);
    out(&buf[i]);
}

static int fail(const char *what, long err)
{
    out("PTP: ");
    out(what);
    out_num(" failed: errno ", -err);
    out("\n");
    return 1;
}

static void *zero(void *p, unsigned long n)
{
    volatile char *c = p;

    while (n--) {
        c[n] = 0;
    }
    return p;
}

static int ptp_read(void)
{
    struct ptp_clock_caps caps;
    struct ptp_sys_offset_precise xts;
    struct timespec64 clk, real, pause = { 0, 100000000 };
    long fd, r;
    int i;

    fd = syscall4(SYS_openat, AT_FDCWD, (long)"/dev/ptp0", O_RDWR, 0);
    if (fd < 0) {
        return fail("open /dev/ptp0", fd);
    }
    zero(&caps, sizeof(caps));
    r = syscall4(SYS_ioctl, fd, PTP_CLOCK_GETCAPS, (long)&caps, 0);
    if (r) {
        return fail("PTP_CLOCK_GETCAPS", r);
    }
    for (i = 0; i < 5; i++) {
        r = syscall4(SYS_clock_gettime, FD_TO_CLOCKID(fd), (long)&clk, 0, 0);
        if (r) {
            return fail("clock_gettime(/dev/ptp0)", r);
        }
        r = syscall4(SYS_clock_gettime, CLOCK_REALTIME, (long)&real, 0, 0);
        if (r) {
            return fail("clock_gettime(CLOCK_REALTIME)", r);
        }
        zero(&xts, sizeof(xts));
        r = syscall4(SYS_ioctl, fd, PTP_SYS_OFFSET_PRECISE, (long)&xts, 0);
        if (r) {
            return fail("PTP_SYS_OFFSET_PRECISE", r);
        }
        out_num("PTP: clock=", clk.tv_sec * 1000000000LL + clk.tv_nsec);
        out_num(" real=", real.tv_sec * 1000000000LL + real.tv_nsec);
        out_num(" precise_dev=", xts.device.sec * 1000000000LL +
                xts.device.nsec);
        out_num(" precise_sys=", xts.sys_realtime.sec * 1000000000LL +
                xts.sys_realtime.nsec);
        out_num(" caps_xts=", caps.cross_timestamping);
        out("\n");
        syscall4(SYS_nanosleep, (long)&pause, 0, 0, 0);
    }
    return 0;
}

void __attribute__((noreturn)) _start(void)
{
    syscall4(SYS_exit_group, ptp_read(), 0, 0, 0);
    __builtin_unreachable();
}
