// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * kvmfault.so: an LD_PRELOAD shim that logs and fails KVM ioctls.
 *
 * Every ioctl whose request has the KVM type (0xAE) goes through here.
 *
 *   XVF_LOG=path        append one line per KVM ioctl:
 *                       "<request hex> <arg hex> <result> <errno>"
 *                       (arg is the CHECK_EXTENSION capability number, or 0)
 *   XVF_REQ=0xAE60      the request to fail (numeric, any base strtoul takes)
 *   XVF_NTH=1           fail its N-th call (1-based; default 1; 0: every call)
 *   XVF_ERRNO=12        errno to fail with (default ENOMEM)
 *   XVF_CAP=123         with XVF_REQ=KVM_CHECK_EXTENSION: only count the calls
 *                       for this capability; the injected "failure" makes
 *                       the check return XVF_CAP_RET (default 0, i.e. "not
 *                       supported") instead of an error; with
 *                       XVF_REQ=KVM_ENABLE_CAP: only count (and fail, with
 *                       XVF_ERRNO) the calls that enable this capability
 *   XVF_TRIGGERED=path  created when the failure has been injected, so a test
 *                       knows the failure point was reached
 *   XVF_ARMED=path      count (and fail) calls only once path exists, so a
 *                       test can aim at a running guest
 *
 * Build: cc -shared -fPIC -O2 -o kvmfault.so kvmfault.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KVM_TYPE 0xAE
#define KVM_CHECK_EXTENSION 0xAE03
/* _IOW(KVMIO, 0xa3, struct kvm_enable_cap); the capability is its first u32 */
#define KVM_ENABLE_CAP 0x4068AEA3UL

typedef int (*ioctl_fn)(int, unsigned long, ...);

static ioctl_fn real_ioctl;
static unsigned long fail_req;
static long fail_cap = -1;
static int cap_ret;
static unsigned long fail_nth = 1;
static int fail_errno = ENOMEM;
static unsigned long seen;
static int log_fd = -1;
static const char *triggered_path;
static const char *armed_path;

static void __attribute__((constructor)) kvmfault_init(void)
{
    const char *s;

    real_ioctl = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
    s = getenv("XVF_REQ");
    if (s) {
        fail_req = strtoul(s, NULL, 0);
    }
    s = getenv("XVF_NTH");
    if (s) {
        fail_nth = strtoul(s, NULL, 0);
    }
    s = getenv("XVF_ERRNO");
    if (s) {
        fail_errno = (int)strtol(s, NULL, 0);
    }
    s = getenv("XVF_CAP");
    if (s) {
        fail_cap = strtol(s, NULL, 0);
    }
    s = getenv("XVF_CAP_RET");
    if (s) {
        cap_ret = (int)strtol(s, NULL, 0);
    }
    s = getenv("XVF_LOG");
    if (s) {
        log_fd = open(s, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    }
    triggered_path = getenv("XVF_TRIGGERED");
    armed_path = getenv("XVF_ARMED");
}

/* with XVF_ARMED=path, calls count only once path exists */
static int armed(void)
{
    return !armed_path || access(armed_path, F_OK) == 0;
}

static void log_call(unsigned long req, unsigned long arg, int ret, int err)
{
    char line[96];
    int n;

    if (log_fd < 0) {
        return;
    }
    n = snprintf(line, sizeof(line), "0x%lx 0x%lx %d %d\n", req, arg, ret, err);
    if (write(log_fd, line, n) != n) {
        /* nothing useful to do */
    }
}

static void mark_triggered(void)
{
    int fd;

    if (!triggered_path) {
        return;
    }
    fd = open(triggered_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        close(fd);
    }
}

int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    void *argp;
    unsigned long nr = req & 0xffffffffUL;
    unsigned long cap = 0, match_cap = 0;
    int ret, err;

    va_start(ap, req);
    argp = va_arg(ap, void *);
    va_end(ap);

    if (!real_ioctl) {
        real_ioctl = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
    }
    if (((nr >> 8) & 0xff) != KVM_TYPE) {
        return real_ioctl(fd, req, argp);
    }
    if (nr == KVM_CHECK_EXTENSION) {
        cap = (unsigned long)argp;
        match_cap = cap;
    } else if (nr == KVM_ENABLE_CAP && argp) {
        match_cap = *(const unsigned int *)argp;
    }
    if (fail_req && nr == fail_req && armed() &&
        (fail_cap < 0 || match_cap == (unsigned long)fail_cap)) {
        unsigned long n = __atomic_add_fetch(&seen, 1, __ATOMIC_SEQ_CST);

        if (n == fail_nth || fail_nth == 0) {
            mark_triggered();
            if (fail_cap >= 0 && nr == KVM_CHECK_EXTENSION) {
                log_call(nr, cap, cap_ret, 0);
                return cap_ret;
            }
            log_call(nr, cap, -1, fail_errno);
            errno = fail_errno;
            return -1;
        }
    }
    ret = real_ioctl(fd, req, argp);
    err = ret < 0 ? errno : 0;
    log_call(nr, cap, ret, err);
    errno = err;
    return ret;
}
