// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sppshim.so: an LD_PRELOAD shim that plays a kernel with the KVM EPT
 * sub-page protection (SPP) RFC interface, for testing QEMU's kvm-spp
 * backend on hosts without such a kernel (every released one).
 *
 * It answers, on top of the real /dev/kvm:
 *   KVM_CHECK_EXTENSION(KVM_CAP_X86_SPP_QEMU_XV)  512 (SPPSHIM_CAP=N: N)
 *   KVM_ENABLE_CAP(KVM_CAP_X86_SPP_QEMU_XV)       0, or -SPPSHIM_ENABLE_ERRNO
 *   KVM_SUBPAGES_SET_ACCESS                       npages; kept in a table
 *   KVM_SUBPAGES_GET_ACCESS                       npages, from the table
 * and passes every other ioctl through.  The ioctls check what the RFC's
 * kernel checks: SPP enabled (ENODEV), flags 0 and 1 <= npages <= 512
 * (EINVAL).
 *
 *   SPPSHIM_LOG=path          one line per SPP ioctl:
 *                             "enable <ret>" or
 *                             "set <gfn hex> <npages> <mask hex>... <ret>"
 *   SPPSHIM_FAIL_SET=N        fail the N-th SET_ACCESS call (1-based) ...
 *   SPPSHIM_FAIL_ERRNO=E      ... with errno E (default EFAULT)
 *   SPPSHIM_NR_MEMSLOTS=N     answer KVM_CHECK_EXTENSION(KVM_CAP_NR_MEMSLOTS)
 *                             with N, to test the emulated backend's memory
 *                             slot budget
 *
 * Build: cc -shared -fPIC -O2 -o sppshim.so sppshim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/kvm.h>

/* The private ABI, as in QEMU's include/system/kvm-spp.h */
#define KVM_CAP_X86_SPP_QEMU_XV 0x51580000
#define KVM_SUBPAGE_MAX_PAGES 512
struct kvm_subpage {
    __u64 gfn_base;
    __u32 npages;
    __u32 flags;
    __u32 access_map[];
};
#define KVM_SUBPAGES_GET_ACCESS _IOR(KVMIO, 0x49, __u64)
#define KVM_SUBPAGES_SET_ACCESS _IOW(KVMIO, 0x4a, __u64)

#define TABLE_PAGES (1 << 20)       /* the first 4 GiB of guest memory */

typedef int (*ioctl_fn)(int, unsigned long, ...);

static ioctl_fn real_ioctl;
static int log_fd = -1;
static long cap_ret = KVM_SUBPAGE_MAX_PAGES;
static int enable_errno;
static unsigned long fail_set;
static int fail_errno = EFAULT;
static unsigned long set_calls;
static int enabled;
static uint32_t *table;             /* gfn -> mask, 0xffffffff = full */
static long nr_memslots;

static void __attribute__((constructor)) sppshim_init(void)
{
    const char *s;

    real_ioctl = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
    s = getenv("SPPSHIM_LOG");
    if (s) {
        log_fd = open(s, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    }
    s = getenv("SPPSHIM_CAP");
    if (s) {
        cap_ret = strtol(s, NULL, 0);
    }
    s = getenv("SPPSHIM_ENABLE_ERRNO");
    if (s) {
        enable_errno = (int)strtol(s, NULL, 0);
    }
    s = getenv("SPPSHIM_FAIL_SET");
    if (s) {
        fail_set = strtoul(s, NULL, 0);
    }
    s = getenv("SPPSHIM_NR_MEMSLOTS");
    if (s) {
        nr_memslots = strtol(s, NULL, 0);
    }
    s = getenv("SPPSHIM_FAIL_ERRNO");
    if (s) {
        fail_errno = (int)strtol(s, NULL, 0);
    }
}

static void log_line(const char *line)
{
    size_t n = strlen(line);

    if (log_fd >= 0 && write(log_fd, line, n) != (ssize_t)n) {
        /* nothing useful to do */
    }
}

static int subpages(unsigned long req, struct kvm_subpage *sp)
{
    char *line, *p;
    uint32_t i;
    int ret;

    if (!enabled) {
        errno = ENODEV;
        return -1;
    }
    if (sp->flags || sp->npages > KVM_SUBPAGE_MAX_PAGES) {
        errno = EINVAL;
        return -1;
    }
    if (sp->gfn_base + sp->npages > TABLE_PAGES) {
        errno = EFAULT;
        return -1;
    }
    if (req == KVM_SUBPAGES_GET_ACCESS) {
        memcpy(sp->access_map, table + sp->gfn_base,
               sp->npages * sizeof(uint32_t));
        return sp->npages;
    }

    set_calls++;
    ret = sp->npages;
    if (set_calls == fail_set) {
        ret = -fail_errno;
    } else {
        memcpy(table + sp->gfn_base, sp->access_map,
               sp->npages * sizeof(uint32_t));
    }
    line = malloc(64 + 11 * (size_t)sp->npages);
    p = line + sprintf(line, "set 0x%llx %u", (unsigned long long)sp->gfn_base,
                       sp->npages);
    for (i = 0; i < sp->npages; i++) {
        p += sprintf(p, " 0x%x", sp->access_map[i]);
    }
    sprintf(p, " %d\n", ret);
    log_line(line);
    free(line);
    if (ret < 0) {
        errno = -ret;
        return -1;
    }
    return ret;
}

int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    void *argp;
    char line[64];

    va_start(ap, req);
    argp = va_arg(ap, void *);
    va_end(ap);

    if (!real_ioctl) {
        real_ioctl = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
    }
    if (req == KVM_CHECK_EXTENSION &&
        (unsigned long)argp == KVM_CAP_X86_SPP_QEMU_XV) {
        return cap_ret;
    }
    if (req == KVM_CHECK_EXTENSION && nr_memslots &&
        (unsigned long)argp == KVM_CAP_NR_MEMSLOTS) {
        return nr_memslots;
    }
    if (req == KVM_ENABLE_CAP &&
        ((struct kvm_enable_cap *)argp)->cap == KVM_CAP_X86_SPP_QEMU_XV) {
        int ret = 0;

        if (enable_errno) {
            ret = -enable_errno;
        } else if (!table) {
            table = malloc(TABLE_PAGES * sizeof(uint32_t));
            memset(table, 0xff, TABLE_PAGES * sizeof(uint32_t));
            enabled = 1;
        }
        snprintf(line, sizeof(line), "enable %d\n", ret);
        log_line(line);
        if (ret < 0) {
            errno = -ret;
            return -1;
        }
        return 0;
    }
    if (req == KVM_SUBPAGES_SET_ACCESS || req == KVM_SUBPAGES_GET_ACCESS) {
        return subpages(req, argp);
    }
    return real_ioctl(fd, req, argp);
}
