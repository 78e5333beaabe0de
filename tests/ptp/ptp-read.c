/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ptp-read: read a PTP clock (default /dev/ptp0) inside the test guest and
 * print, for a few rounds, one line the test (test_linux.py) judges:
 *
 *   PTP: clock=<ns> real=<ns> precise_dev=<ns> precise_sys=<ns> caps_xts=<n>
 *
 * clock is clock_gettime() on the PTP clock (FD_TO_CLOCKID), real is the
 * guest's CLOCK_REALTIME read right after it, precise_* is one
 * PTP_SYS_OFFSET_PRECISE cross timestamp (device time and the guest's
 * CLOCK_REALTIME at the same counter value).  Exit status 0 if every call
 * worked.  Statically linked: the guest has only busybox.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/ptp_clock.h>

#define CLOCKFD 3
#define FD_TO_CLOCKID(fd) ((clockid_t)((~(unsigned int)(fd) << 3) | CLOCKFD))

static long long ts_ns(const struct timespec *ts)
{
    return ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static long long pct_ns(const struct ptp_clock_time *t)
{
    return t->sec * 1000000000LL + t->nsec;
}

int main(int argc, char **argv)
{
    const char *dev = argc > 1 ? argv[1] : "/dev/ptp0";
    struct ptp_clock_caps caps;
    struct ptp_sys_offset_precise xts;
    struct timespec clk, real;
    int fd, i;

    fd = open(dev, O_RDWR);
    if (fd < 0) {
        printf("PTP: open %s: %s\n", dev, strerror(errno));
        return 1;
    }
    memset(&caps, 0, sizeof(caps));
    if (ioctl(fd, PTP_CLOCK_GETCAPS, &caps)) {
        printf("PTP: PTP_CLOCK_GETCAPS: %s\n", strerror(errno));
        return 1;
    }
    for (i = 0; i < 5; i++) {
        if (clock_gettime(FD_TO_CLOCKID(fd), &clk) ||
            clock_gettime(CLOCK_REALTIME, &real)) {
            printf("PTP: clock_gettime: %s\n", strerror(errno));
            return 1;
        }
        memset(&xts, 0, sizeof(xts));
        if (ioctl(fd, PTP_SYS_OFFSET_PRECISE, &xts)) {
            printf("PTP: PTP_SYS_OFFSET_PRECISE: %s\n", strerror(errno));
            return 1;
        }
        printf("PTP: clock=%lld real=%lld precise_dev=%lld precise_sys=%lld "
               "caps_xts=%d\n", ts_ns(&clk), ts_ns(&real),
               pct_ns(&xts.device), pct_ns(&xts.sys_realtime),
               caps.cross_timestamping);
        fflush(stdout);
        usleep(100000);
    }
    close(fd);
    return 0;
}
