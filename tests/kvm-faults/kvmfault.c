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
 *   XVF_PARTIAL=1       with XVF_REQ=KVM_SET_MSRS: the injected call is made,
 *                       then reports one MSR fewer than it set (a host that
 *                       refuses an MSR), instead of failing
 *
 * Independent of XVF_REQ, to make host-dependent paths deterministic:
 *   XVF_CAPS=N=V,...    every KVM_CHECK_EXTENSION of capability N returns V
 *   XVF_CPUID_CLEAR=L.S.R.B,...
 *                       clear bit B of register R (eax/ebx/ecx/edx) of CPUID
 *                       leaf L, subleaf S in KVM_GET_SUPPORTED_CPUID's answer
 *   XVF_MSR_CLEAR=M:MASK,...
 *                       clear MASK in MSR M wherever KVM_GET_MSRS returns it
 *                       (the feature MSRs QEMU reads on the /dev/kvm fd)
 *
 * Numbers are written in any base strtoul takes.
 *
 * Build: cc -shared -fPIC -O2 -o kvmfault.so kvmfault.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/kvm.h>

#define KVM_TYPE 0xAE
/* the request numbers as compared below: the low 32 bits */
#define REQ(r) ((unsigned long)(r) & 0xffffffffUL)

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
static int partial;

#define MAX_FAKES 16
static struct { unsigned long cap; int ret; } fake_caps[MAX_FAKES];
static int n_fake_caps;
static struct { uint32_t leaf, subleaf, reg, mask; } cpuid_clear[MAX_FAKES];
static int n_cpuid_clear;
static struct { uint32_t msr; uint64_t mask; } msr_clear[MAX_FAKES];
static int n_msr_clear;

/*
 * One "A<sep>B" item of a comma-separated list at *s (numbers in any base
 * strtoull takes); false at the end of the list or on a malformed item.
 */
static bool next_pair(const char **s, char sep, unsigned long long *a,
                      unsigned long long *b)
{
    char *end;

    if (!*s || !**s) {
        return false;
    }
    *a = strtoull(*s, &end, 0);
    if (*end != sep) {
        return false;
    }
    *b = strtoull(end + 1, &end, 0);
    *s = *end == ',' ? end + 1 : NULL;
    return true;
}

/* "N=V,..." -> fake_caps */
static void parse_caps(const char *s)
{
    unsigned long long cap, ret;

    while (n_fake_caps < MAX_FAKES && next_pair(&s, '=', &cap, &ret)) {
        fake_caps[n_fake_caps].cap = cap;
        fake_caps[n_fake_caps++].ret = (int)ret;
    }
}

/* "L.S.R.B,..." (R: eax ebx ecx edx) -> cpuid_clear */
static void parse_cpuid(const char *s)
{
    static const char *regs[] = { "eax", "ebx", "ecx", "edx" };
    char *end;
    int r;

    while (s && *s && n_cpuid_clear < MAX_FAKES) {
        cpuid_clear[n_cpuid_clear].leaf = strtoul(s, &end, 0);
        if (*end != '.') {
            break;
        }
        cpuid_clear[n_cpuid_clear].subleaf = strtoul(end + 1, &end, 0);
        if (*end != '.') {
            break;
        }
        for (r = 0; r < 4 && strncmp(end + 1, regs[r], 3); r++) {
        }
        if (r == 4 || end[4] != '.') {
            break;
        }
        cpuid_clear[n_cpuid_clear].reg = r;
        cpuid_clear[n_cpuid_clear++].mask = 1u << (strtoul(end + 5, &end, 0) & 31);
        s = *end == ',' ? end + 1 : NULL;
    }
}

/* "M:MASK,..." -> msr_clear */
static void parse_msrs(const char *s)
{
    unsigned long long msr, mask;

    while (n_msr_clear < MAX_FAKES && next_pair(&s, ':', &msr, &mask)) {
        msr_clear[n_msr_clear].msr = msr;
        msr_clear[n_msr_clear++].mask = mask;
    }
}

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
    partial = getenv("XVF_PARTIAL") != NULL;
    parse_caps(getenv("XVF_CAPS"));
    parse_cpuid(getenv("XVF_CPUID_CLEAR"));
    parse_msrs(getenv("XVF_MSR_CLEAR"));
}

static void filter_cpuid(struct kvm_cpuid2 *c)
{
    uint32_t i;
    int j;

    for (i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        uint32_t *regs[] = { &e->eax, &e->ebx, &e->ecx, &e->edx };

        for (j = 0; j < n_cpuid_clear; j++) {
            if (e->function == cpuid_clear[j].leaf &&
                e->index == cpuid_clear[j].subleaf) {
                *regs[cpuid_clear[j].reg] &= ~cpuid_clear[j].mask;
            }
        }
    }
}

static void filter_msrs(struct kvm_msrs *m, int n)
{
    int i, j;

    for (i = 0; i < n && i < (int)m->nmsrs; i++) {
        for (j = 0; j < n_msr_clear; j++) {
            if (m->entries[i].index == msr_clear[j].msr) {
                m->entries[i].data &= ~msr_clear[j].mask;
            }
        }
    }
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
    if (nr == REQ(KVM_CHECK_EXTENSION)) {
        int i;

        cap = (unsigned long)argp;
        match_cap = cap;
        for (i = 0; i < n_fake_caps; i++) {
            if (fake_caps[i].cap == cap) {
                log_call(nr, cap, fake_caps[i].ret, 0);
                return fake_caps[i].ret;
            }
        }
    } else if (nr == REQ(KVM_ENABLE_CAP) && argp) {
        match_cap = *(const unsigned int *)argp;
    }
    if (fail_req && nr == fail_req && armed() &&
        (fail_cap < 0 || match_cap == (unsigned long)fail_cap)) {
        unsigned long n = __atomic_add_fetch(&seen, 1, __ATOMIC_SEQ_CST);

        if (n == fail_nth || fail_nth == 0) {
            mark_triggered();
            if (fail_cap >= 0 && nr == REQ(KVM_CHECK_EXTENSION)) {
                log_call(nr, cap, cap_ret, 0);
                return cap_ret;
            }
            if (partial && nr == REQ(KVM_SET_MSRS)) {
                ret = real_ioctl(fd, req, argp);
                if (ret > 0) {
                    ret--;
                }
                log_call(nr, cap, ret, 0);
                return ret;
            }
            log_call(nr, cap, -1, fail_errno);
            errno = fail_errno;
            return -1;
        }
    }
    ret = real_ioctl(fd, req, argp);
    err = ret < 0 ? errno : 0;
    if (ret >= 0 && n_cpuid_clear && nr == REQ(KVM_GET_SUPPORTED_CPUID)) {
        filter_cpuid(argp);
    }
    if (ret > 0 && n_msr_clear && nr == REQ(KVM_GET_MSRS)) {
        filter_msrs(argp, ret);
    }
    log_call(nr, cap, ret, err);
    errno = err;
    return ret;
}
