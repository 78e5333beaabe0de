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
 * (EINVAL).  The RFC keeps the masks in the memory slot: when a slot of
 * address space 0 is deleted or moved (KVM_SET_USER_MEMORY_REGION{,2}),
 * its pages get full access again, logged as
 * "drop <gfn hex> <npages>"; QEMU must send the masks again for the slot
 * that replaces it.
 *
 *   SPPSHIM_LOG=path          one line per SPP ioctl:
 *                             "enable <ret>" or
 *                             "set <gfn hex> <npages> <mask hex>... <ret>"
 *   SPPSHIM_FAIL_SET=N        fail the N-th SET_ACCESS call (1-based) ...
 *   SPPSHIM_FAIL_ERRNO=E      ... with errno E (default EFAULT)
 *   SPPSHIM_NR_MEMSLOTS=N     answer KVM_CHECK_EXTENSION(KVM_CAP_NR_MEMSLOTS)
 *                             with N, to test the emulated backend's memory
 *                             slot budget
 *   SPPSHIM_QUIRKS2=N         answer KVM_CHECK_EXTENSION(KVM_CAP_DISABLE_QUIRKS2)
 *                             with the real answer and N, to play a kernel
 *                             without some quirk controls; every
 *                             KVM_ENABLE_CAP(KVM_CAP_DISABLE_QUIRKS2) is
 *                             passed on and logged as
 *                             "quirks2 <args[0] hex> <ret>"
 *   SPPSHIM_EXIT=gpa,len,ip,flags
 *                             play one denied write: at the first KVM_RUN,
 *                             set the vCPU's IP to ip, plus in flags bit 0
 *                             EFLAGS.TF, bit 1 EFLAGS.RF, bit 2 an STI
 *                             interrupt shadow, bit 3 an injected #GP (a
 *                             write during event delivery), then return
 *                             KVM_EXIT_SPP_QEMU_XV for gpa with insn_len
 *                             len instead of running.  At the next KVM_RUN
 *                             log "after rip <hex> rflags <hex> shadow <n>
 *                             exception <nr> <pending> <injected>", give
 *                             the vCPU its registers and events back and
 *                             run it.
 *   SPPSHIM_EXIT_REPEAT=N     with SPPSHIM_EXIT: answer the first N
 *                             KVM_RUNs (default 1) with that exit, as a
 *                             write KVM faults again each time it runs,
 *                             except those QEMU makes with immediate_exit
 *                             (a vCPU kicked to stop); log "exit played"
 *                             for each
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
#include <sys/mman.h>
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
#define KVM_EXIT_SPP_QEMU_XV 0x51580001
struct kvm_spp_exit {
    __u64 addr;
    __u8 insn_len;
};

/* Linux 6.8's, which QEMU uses where the kernel has it */
#ifndef KVM_SET_USER_MEMORY_REGION2
struct kvm_userspace_memory_region2 {
    __u32 slot;
    __u32 flags;
    __u64 guest_phys_addr;
    __u64 memory_size;
    __u64 userspace_addr;
    __u64 guest_memfd_offset;
    __u32 guest_memfd;
    __u32 pad1;
    __u64 pad2[14];
};
#define KVM_SET_USER_MEMORY_REGION2 \
    _IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)
#endif

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
#define MAX_SLOTS 32768
static struct { uint64_t gpa, size; } slots[MAX_SLOTS];  /* address space 0 */
static long nr_memslots;
static long quirks2_mask = -1;

/* SPPSHIM_EXIT */
static int exit_state;              /* 0 none, 1 to play, 2 played, 3 done */
static unsigned long long exit_gpa, exit_ip;
static unsigned exit_len, exit_flags;
static long exit_repeat = 1;
static int vcpu_fd = -1;
static struct kvm_run *vcpu_run;
static struct kvm_regs saved_regs;
static struct kvm_vcpu_events saved_events;

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
    s = getenv("SPPSHIM_QUIRKS2");
    if (s) {
        quirks2_mask = strtol(s, NULL, 0);
    }
    s = getenv("SPPSHIM_FAIL_ERRNO");
    if (s) {
        fail_errno = (int)strtol(s, NULL, 0);
    }
    s = getenv("SPPSHIM_EXIT");
    if (s && sscanf(s, "%lli,%u,%lli,%u", &exit_gpa, &exit_len, &exit_ip,
                    &exit_flags) == 4) {
        exit_state = 1;
    }
    s = getenv("SPPSHIM_EXIT_REPEAT");
    if (s) {
        exit_repeat = strtol(s, NULL, 0);
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

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    static mmap_fn real_mmap;
    void *p;

    if (!real_mmap) {
        real_mmap = (mmap_fn)dlsym(RTLD_NEXT, "mmap");
    }
    p = real_mmap(addr, len, prot, flags, fd, off);
    if (fd >= 0 && fd == vcpu_fd && off == 0 && p != MAP_FAILED) {
        vcpu_run = p;
    }
    return p;
}

/* QEMU is built with _FILE_OFFSET_BITS=64 */
void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return mmap(addr, len, prot, flags, fd, off);
}

/* SPPSHIM_EXIT: returns 1 when the KVM_RUN is answered without running */
static int play_exit(int fd)
{
    struct kvm_regs regs;
    struct kvm_vcpu_events ev;
    char line[160];

    if (exit_state == 1 && vcpu_run) {
        if (real_ioctl(fd, KVM_GET_REGS, &saved_regs) < 0 ||
            real_ioctl(fd, KVM_GET_VCPU_EVENTS, &saved_events) < 0) {
            return 0;
        }
        regs = saved_regs;
        regs.rip = exit_ip;
        regs.rflags |= (exit_flags & 1 ? 0x100 : 0) |
                       (exit_flags & 2 ? 0x10000 : 0);
        real_ioctl(fd, KVM_SET_REGS, &regs);
        ev = saved_events;
        ev.flags = 0;
        if (exit_flags & 4) {
            ev.interrupt.shadow = KVM_X86_SHADOW_INT_STI;
            ev.flags |= KVM_VCPUEVENT_VALID_SHADOW;
        }
        if (exit_flags & 8) {
            ev.exception.injected = 1;
            ev.exception.nr = 13;
            ev.exception.has_error_code = 1;
            ev.exception.error_code = 0;
        }
        real_ioctl(fd, KVM_SET_VCPU_EVENTS, &ev);
        vcpu_run->exit_reason = KVM_EXIT_SPP_QEMU_XV;
        ((struct kvm_spp_exit *)vcpu_run->padding)->addr = exit_gpa;
        ((struct kvm_spp_exit *)vcpu_run->padding)->insn_len = exit_len;
        exit_state = 2;
        log_line("exit played\n");
        return 1;
    }
    if (exit_state == 2 && exit_repeat > 1) {
        if (vcpu_run->immediate_exit) {
            return 0;       /* KVM returns EINTR without running */
        }
        exit_repeat--;
        vcpu_run->exit_reason = KVM_EXIT_SPP_QEMU_XV;
        log_line("exit played\n");
        return 1;
    }
    if (exit_state == 2) {
        if (real_ioctl(fd, KVM_GET_REGS, &regs) < 0 ||
            real_ioctl(fd, KVM_GET_VCPU_EVENTS, &ev) < 0) {
            return 0;
        }
        snprintf(line, sizeof(line),
                 "after rip 0x%llx rflags 0x%llx shadow %u exception %u %u "
                 "%u\n", (unsigned long long)regs.rip,
                 (unsigned long long)regs.rflags, ev.interrupt.shadow,
                 ev.exception.nr, ev.exception.pending, ev.exception.injected);
        log_line(line);
        real_ioctl(fd, KVM_SET_REGS, &saved_regs);
        saved_events.flags = KVM_VCPUEVENT_VALID_SHADOW;
        real_ioctl(fd, KVM_SET_VCPU_EVENTS, &saved_events);
        exit_state = 3;
    }
    return 0;
}

/* A slot of address space 0 was deleted or moved: its masks are gone */
static void slot_changed(const struct kvm_userspace_memory_region *r)
{
    uint32_t slot = r->slot & 0xffff;
    uint64_t gfn, n, i;
    char line[64];

    if ((r->slot >> 16) || slot >= MAX_SLOTS) {
        return;
    }
    if (slots[slot].size &&
        (!r->memory_size || r->guest_phys_addr != slots[slot].gpa)) {
        gfn = slots[slot].gpa >> 12;
        n = slots[slot].size >> 12;
        for (i = 0; table && i < n && gfn + i < TABLE_PAGES; i++) {
            table[gfn + i] = 0xffffffff;
        }
        snprintf(line, sizeof(line), "drop %llx %llu\n",
                 (unsigned long long)gfn, (unsigned long long)n);
        log_line(line);
    }
    slots[slot].gpa = r->guest_phys_addr;
    slots[slot].size = r->memory_size;
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
    if (req == KVM_CHECK_EXTENSION &&
        (unsigned long)argp == KVM_CAP_DISABLE_QUIRKS2) {
        int ret = real_ioctl(fd, req, argp);

        return ret > 0 ? ret & quirks2_mask : ret;
    }
    if (req == KVM_ENABLE_CAP &&
        ((struct kvm_enable_cap *)argp)->cap == KVM_CAP_DISABLE_QUIRKS2) {
        int ret = real_ioctl(fd, req, argp);
        int err = errno;

        snprintf(line, sizeof(line), "quirks2 %llx %d\n",
                 (unsigned long long)((struct kvm_enable_cap *)argp)->args[0],
                 ret < 0 ? -err : ret);
        log_line(line);
        errno = err;
        return ret;
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
    if (req == KVM_SET_USER_MEMORY_REGION ||
        req == KVM_SET_USER_MEMORY_REGION2) {
        /* region2 begins with the fields of region */
        int ret = real_ioctl(fd, req, argp);

        if (ret == 0) {
            slot_changed(argp);
        }
        return ret;
    }
    if (req == KVM_CREATE_VCPU && exit_state) {
        int ret = real_ioctl(fd, req, argp);

        if (vcpu_fd < 0) {
            vcpu_fd = ret;          /* vCPU 0 */
        }
        return ret;
    }
    if (req == KVM_RUN && exit_state && fd == vcpu_fd && play_exit(fd)) {
        return 0;
    }
    return real_ioctl(fd, req, argp);
}
