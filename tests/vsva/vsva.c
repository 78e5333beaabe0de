// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vsva: run in the L1 guest's initramfs.  Binds the edu device to vfio-pci
 * and, through iommufd (/dev/iommu) and the VFIO device cdev, first has edu
 * DMA through an ordinary IOAS domain (and fault outside it), then builds a
 * VT-d nested domain: a nest parent (second stage) on the IOAS, first-stage
 * page tables in IOAS memory, a IOMMU_HWPT_DATA_VTD_S1 child.  edu's DMA
 * then goes through both stages, through a remapped and invalidated
 * first-stage entry, and to an IOVA the first stage does not map, which
 * must fault.
 *
 * Each step prints "VSVA: <step> ok <detail>" or "VSVA: <step> fail <detail>"
 * (with errno=N (text) when a system call failed); the program stops at the
 * first failure and exits 1, or ends with "VSVA: done ok ..." and exits 0.
 *
 * Built with the host's gcc -static against the kernel uAPI headers QEMU's
 * tree carries (linux-headers/linux/{iommufd,vfio}.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#define PAGE_SIZE       4096ULL

/* edu (hw/misc/edu.c, docs/specs/edu.rst) */
#define EDU_VENDOR      0x1234
#define EDU_DEVICE      0x11e8
#define EDU_ID          0x00
#define EDU_DMA_SRC     0x80
#define EDU_DMA_DST     0x88
#define EDU_DMA_CNT     0x90
#define EDU_DMA_CMD     0x98
#define EDU_CMD_RUN     0x1
#define EDU_CMD_TO_PCI  0x2     /* edu buffer -> memory; else memory -> buffer */
#define EDU_BUF         0x40000 /* edu's own 4 KiB DMA buffer */

/*
 * Addresses in the IOAS, which is the second stage's input ("guest
 * physical") space: the first-stage tables (4 pages) and the data pages.
 * Both below 256 MiB, as edu's DMA mask wants for the IOAS-only step.
 */
#define IOAS_TABLES     0x00100000ULL
#define NR_TABLES       4
#define IOAS_DATA       0x00200000ULL
#define NR_DATA         4
#define DATA_SRC        0       /* index of the data pages */
#define DATA_DST        1
#define DATA_DST2       2
#define DATA_IOAS_DST   3

/* Mapped by nothing in the IOAS */
#define IOAS_UNMAPPED   0x00300000ULL

/* First-stage IOVAs (edu's addresses once nested), below 256 MiB too */
#define S1_SRC          0x08000000ULL
#define S1_DST          0x08001000ULL
#define S1_UNMAPPED     0x08002000ULL

/* VT-d first-stage entries: x86 4-level paging; US=1 on every level */
#define FS_P            (1ULL << 0)
#define FS_RW           (1ULL << 1)
#define FS_US           (1ULL << 2)
#define FS_TABLE        (FS_P | FS_RW | FS_US)

static const char *step = "start";

static void report(const char *result, const char *fmt, va_list ap)
{
    printf("VSVA: %s %s ", step, result);
    vprintf(fmt, ap);
    putchar('\n');
    fflush(stdout);
}

static void ok(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report("ok", fmt, ap);
    va_end(ap);
}

/* The current step failed: say why and stop. */
static void __attribute__((noreturn)) fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report("fail", fmt, ap);
    va_end(ap);
    exit(1);
}

/* A system call of the current step failed with errno. */
static void __attribute__((noreturn)) fail_errno(const char *what)
{
    int e = errno;

    fail("errno=%d (%s) %s", e, strerror(e), what);
}

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY);

    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        char what[600];

        snprintf(what, sizeof(what), "writing '%s' to %s", text, path);
        fail_errno(what);
    }
    close(fd);
}

static unsigned long read_hex(const char *path)
{
    char buf[64] = "";
    FILE *f = fopen(path, "r");

    if (!f) {
        return ~0UL;
    }
    if (!fgets(buf, sizeof(buf), f)) {
        buf[0] = 0;
    }
    fclose(f);
    return strtoul(buf, NULL, 16);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Informational: the capabilities of the first DMAR unit. */
static void show_ecap(void)
{
    unsigned long cap, ecap;

    step = "ecap";
    cap = read_hex("/sys/class/iommu/dmar0/intel-iommu/cap");
    ecap = read_hex("/sys/class/iommu/dmar0/intel-iommu/ecap");
    if (ecap == ~0UL) {
        fail("no /sys/class/iommu/dmar0 (is intel_iommu=on?)");
    }
    /* ECAP: NEST bit 26, SMTS 43, FSTS 47, SSTS 46 */
    ok("cap=0x%lx ecap=0x%lx nest=%lu smts=%lu fsts=%lu ssts=%lu", cap, ecap,
       (ecap >> 26) & 1, (ecap >> 43) & 1, (ecap >> 47) & 1, (ecap >> 46) & 1);
}

/* The BDF of the first edu device. */
static void find_edu(char *bdf, size_t len)
{
    DIR *d;
    struct dirent *de;
    char path[600];

    step = "find";
    d = opendir("/sys/bus/pci/devices");
    if (!d) {
        fail_errno("opendir /sys/bus/pci/devices");
    }
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", de->d_name);
        if (read_hex(path) != EDU_VENDOR) {
            continue;
        }
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", de->d_name);
        if (read_hex(path) == EDU_DEVICE) {
            snprintf(bdf, len, "%s", de->d_name);
            closedir(d);
            ok("%s", bdf);
            return;
        }
    }
    fail("no edu device (%04x:%04x)", EDU_VENDOR, EDU_DEVICE);
}

/* driver_override + drivers_probe; returns the vfio cdev, /dev/vfio/devices/vfioN */
static void bind_vfio_pci(const char *bdf, char *cdev, size_t len)
{
    char path[600];
    DIR *d;
    struct dirent *de;
    double deadline;

    step = "vfio-pci";
    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
    write_file(path, "vfio-pci");
    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
    if (access(path, F_OK) == 0) {
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
        write_file(path, bdf);
    }
    write_file("/sys/bus/pci/drivers_probe", bdf);

    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
    deadline = now() + 10;
    while (!(d = opendir(path))) {
        if (now() > deadline) {
            fail_errno("no vfio-dev directory: not bound to vfio-pci "
                       "(VFIO_DEVICE_CDEV?)");
        }
        usleep(10000);
    }
    while ((de = readdir(d))) {
        if (!strncmp(de->d_name, "vfio", 4)) {
            snprintf(cdev, len, "/dev/vfio/devices/%s", de->d_name);
            closedir(d);
            ok("%s %s", bdf, cdev);
            return;
        }
    }
    fail("%s has no vfioN entry", path);
}

struct edu {
    int devfd;
    volatile uint8_t *bar;
    uint64_t cfg_offset;
};

static uint64_t edu_read(struct edu *edu, unsigned off)
{
    return *(volatile uint64_t *)(edu->bar + off);
}

static void edu_write(struct edu *edu, unsigned off, uint64_t val)
{
    *(volatile uint64_t *)(edu->bar + off) = val;
}

/* Map BAR0 and turn on memory decoding and bus mastering. */
static void edu_setup(struct edu *edu)
{
    struct vfio_region_info bar = { .argsz = sizeof(bar),
                                    .index = VFIO_PCI_BAR0_REGION_INDEX };
    struct vfio_region_info cfg = { .argsz = sizeof(cfg),
                                    .index = VFIO_PCI_CONFIG_REGION_INDEX };
    uint16_t cmd;
    uint32_t id;
    void *p;

    step = "bar";
    if (ioctl(edu->devfd, VFIO_DEVICE_GET_REGION_INFO, &bar) < 0) {
        fail_errno("VFIO_DEVICE_GET_REGION_INFO BAR0");
    }
    if (!(bar.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
        fail("BAR0 cannot be mmapped (flags 0x%x)", bar.flags);
    }
    p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, edu->devfd,
             bar.offset);
    if (p == MAP_FAILED) {
        fail_errno("mmap BAR0");
    }
    edu->bar = p;
    if (ioctl(edu->devfd, VFIO_DEVICE_GET_REGION_INFO, &cfg) < 0) {
        fail_errno("VFIO_DEVICE_GET_REGION_INFO config");
    }
    edu->cfg_offset = cfg.offset;
    if (pread(edu->devfd, &cmd, 2, cfg.offset + PCI_COMMAND) != 2) {
        fail_errno("reading PCI_COMMAND");
    }
    cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
    if (pwrite(edu->devfd, &cmd, 2, cfg.offset + PCI_COMMAND) != 2) {
        fail_errno("writing PCI_COMMAND");
    }
    id = *(volatile uint32_t *)(edu->bar + EDU_ID);
    if (id != 0x010000ed) {
        fail("edu id register reads 0x%08x, not 0x010000ed", id);
    }
    ok("size=0x%llx id=0x%08x", (unsigned long long)bar.size, id);
}

/* One edu DMA of a page; edu's timer runs it 100 ms (virtual) later. */
static void edu_dma(struct edu *edu, uint64_t src, uint64_t dst, uint64_t cmd)
{
    double deadline = now() + 20;

    edu_write(edu, EDU_DMA_SRC, src);
    edu_write(edu, EDU_DMA_DST, dst);
    edu_write(edu, EDU_DMA_CNT, PAGE_SIZE);
    edu_write(edu, EDU_DMA_CMD, cmd | EDU_CMD_RUN);
    while (edu_read(edu, EDU_DMA_CMD) & EDU_CMD_RUN) {
        if (now() > deadline) {
            fail("edu DMA 0x%llx -> 0x%llx did not complete in 20 s",
                 (unsigned long long)src, (unsigned long long)dst);
        }
        usleep(1000);
    }
}

/* Copy a page with edu: memory at src -> edu buffer -> memory at dst. */
static void edu_copy(struct edu *edu, uint64_t src, uint64_t dst)
{
    edu_dma(edu, src, EDU_BUF, 0);
    edu_dma(edu, EDU_BUF, dst, EDU_CMD_TO_PCI);
}

static void fill(uint8_t *page, uint32_t seed)
{
    for (unsigned i = 0; i < PAGE_SIZE; i += 4) {
        uint32_t v = seed ^ (i * 2654435761u);

        memcpy(page + i, &v, 4);
    }
}

/* Where page differs from want, or -1. */
static long differs(const uint8_t *page, const uint8_t *want)
{
    for (unsigned i = 0; i < PAGE_SIZE; i++) {
        if (page[i] != want[i]) {
            return i;
        }
    }
    return -1;
}

static void *alloc_pages(unsigned n)
{
    void *p = mmap(NULL, n * PAGE_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

    if (p == MAP_FAILED) {
        fail_errno("mmap anonymous");
    }
    memset(p, 0, n * PAGE_SIZE);
    return p;
}

static void ioas_map(int iommufd, uint32_t ioas, void *va, uint64_t len,
                     uint64_t iova)
{
    struct iommu_ioas_map map = {
        .size = sizeof(map),
        .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
                 IOMMU_IOAS_MAP_WRITEABLE,
        .ioas_id = ioas,
        .user_va = (uintptr_t)va,
        .length = len,
        .iova = iova,
    };

    if (ioctl(iommufd, IOMMU_IOAS_MAP, &map) < 0) {
        char what[128];

        snprintf(what, sizeof(what), "IOMMU_IOAS_MAP iova 0x%llx length 0x%llx",
                 (unsigned long long)iova, (unsigned long long)len);
        fail_errno(what);
    }
}

static void attach(int devfd, uint32_t pt_id, const char *what)
{
    struct vfio_device_attach_iommufd_pt at = {
        .argsz = sizeof(at),
        .pt_id = pt_id,
    };

    if (ioctl(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at) < 0) {
        fail_errno(what);
    }
}

/* Copy src to dst with edu, check dst, and that the pages in unchanged are. */
static void check_copy(struct edu *edu, uint64_t src, uint64_t dst,
                       uint8_t *src_page, uint8_t *dst_page, uint32_t seed,
                       uint8_t *unchanged, const char *unchanged_name)
{
    uint8_t before[PAGE_SIZE];
    long at;

    fill(src_page, seed);
    memset(dst_page, 0, PAGE_SIZE);
    if (unchanged) {
        memcpy(before, unchanged, PAGE_SIZE);
    }
    edu_copy(edu, src, dst);
    at = differs(dst_page, src_page);
    if (at >= 0) {
        fail("data at 0x%llx differs at byte %ld (0x%02x, want 0x%02x)",
             (unsigned long long)dst, at, dst_page[at], src_page[at]);
    }
    if (unchanged && differs(unchanged, before) >= 0) {
        fail("the %s page was written: stale translation", unchanged_name);
    }
    ok("0x%llx -> 0x%llx, %llu bytes checked", (unsigned long long)src,
       (unsigned long long)dst, PAGE_SIZE);
}

/* Wait for the L1 kernel's DMAR fault line naming addr; return it. */
static int kmsg_fault(int kmsg, uint64_t addr, char *line, size_t len)
{
    char want[64], rec[1024];
    double deadline = now() + 20;

    snprintf(want, sizeof(want), "fault addr 0x%llx ", (unsigned long long)addr);
    while (now() < deadline) {
        ssize_t n = read(kmsg, rec, sizeof(rec) - 1);
        char *msg;

        if (n < 0) {
            if (errno == EAGAIN) {
                usleep(10000);
            } else if (errno != EPIPE) {    /* EPIPE: overwritten, go on */
                return -1;
            }
            continue;
        }
        rec[n] = 0;
        msg = strchr(rec, ';');
        msg = msg ? msg + 1 : rec;
        msg[strcspn(msg, "\n")] = 0;
        if (strstr(msg, "DMAR") && strstr(msg, want)) {
            snprintf(line, len, "%s", msg);
            return 0;
        }
    }
    errno = ETIMEDOUT;
    return -1;
}

/*
 * edu writes to iova, which nothing maps: the write must fault, the L1
 * kernel log it, and no data page change.
 */
static void check_fault(struct edu *edu, uint64_t iova, uint8_t *data)
{
    char line[1024];
    int kmsg;

    kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
    if (kmsg < 0 || lseek(kmsg, 0, SEEK_END) < 0) {
        fail_errno("/dev/kmsg");
    }
    memset(data, 0, NR_DATA * PAGE_SIZE);
    edu_dma(edu, EDU_BUF, iova, EDU_CMD_TO_PCI);
    if (kmsg_fault(kmsg, iova, line, sizeof(line)) < 0) {
        fail_errno("no DMAR fault line in the kernel log");
    }
    close(kmsg);
    for (unsigned i = 0; i < NR_DATA * PAGE_SIZE; i++) {
        if (data[i]) {
            fail("the faulting DMA wrote data page %u", i / 4096);
        }
    }
    ok("%s", line);
}

/* A HWPT: a nest parent on the IOAS, or a nested child with data. */
static uint32_t hwpt_alloc(int iommufd, uint32_t devid, uint32_t pt_id,
                           uint32_t flags, uint32_t data_type, void *data,
                           uint32_t data_len, const char *what)
{
    struct iommu_hwpt_alloc alloc = {
        .size = sizeof(alloc),
        .flags = flags,
        .dev_id = devid,
        .pt_id = pt_id,
        .data_type = data_type,
        .data_len = data_len,
        .data_uptr = (uintptr_t)data,
    };

    if (ioctl(iommufd, IOMMU_HWPT_ALLOC, &alloc) < 0) {
        fail_errno(what);
    }
    return alloc.out_hwpt_id;
}

/* First-stage page table entry of iova in the last-level table pt. */
static uint64_t *s1_pte(uint64_t *pt, uint64_t iova)
{
    return &pt[(iova >> 12) & 511];
}

/*
 * First-stage tables, in the IOAS (their addresses are second-stage inputs):
 * PML4, PDPT, PD and PT in tables[], mapping S1_SRC and S1_DST, not
 * S1_UNMAPPED.  Returns the PT.
 */
static uint64_t *s1_build(uint64_t *tables)
{
    uint64_t *pml4 = tables, *pdpt = tables + 512, *pd = tables + 2 * 512;
    uint64_t *pt = tables + 3 * 512;

    step = "s1-tables";
    pml4[(S1_SRC >> 39) & 511] = (IOAS_TABLES + 1 * PAGE_SIZE) | FS_TABLE;
    pdpt[(S1_SRC >> 30) & 511] = (IOAS_TABLES + 2 * PAGE_SIZE) | FS_TABLE;
    pd[(S1_SRC >> 21) & 511] = (IOAS_TABLES + 3 * PAGE_SIZE) | FS_TABLE;
    *s1_pte(pt, S1_SRC) = (IOAS_DATA + DATA_SRC * PAGE_SIZE) | FS_TABLE;
    *s1_pte(pt, S1_DST) = (IOAS_DATA + DATA_DST * PAGE_SIZE) | FS_TABLE;
    ok("pgtbl=0x%llx 0x%llx->0x%llx 0x%llx->0x%llx", IOAS_TABLES,
       S1_SRC, IOAS_DATA + DATA_SRC * PAGE_SIZE,
       S1_DST, IOAS_DATA + DATA_DST * PAGE_SIZE);
    return pt;
}

static void s1_invalidate(int iommufd, uint32_t hwpt, uint64_t iova,
                          uint64_t npages)
{
    struct iommu_hwpt_vtd_s1_invalidate inv = {
        .addr = iova,
        .npages = npages,
    };
    struct iommu_hwpt_invalidate req = {
        .size = sizeof(req),
        .hwpt_id = hwpt,
        .data_uptr = (uintptr_t)&inv,
        .data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
        .entry_len = sizeof(inv),
        .entry_num = 1,
    };

    if (ioctl(iommufd, IOMMU_HWPT_INVALIDATE, &req) < 0) {
        fail_errno("IOMMU_HWPT_INVALIDATE");
    }
    if (req.entry_num != 1) {
        fail("IOMMU_HWPT_INVALIDATE handled %u of 1 entries", req.entry_num);
    }
}

int main(void)
{
    char bdf[256], cdev[600];
    struct edu edu = { 0 };
    struct iommu_hwpt_vtd_s1 s1 = { .pgtbl_addr = IOAS_TABLES, .addr_width = 48 };
    uint64_t *tables, *pt;
    uint8_t *data;
    int iommufd;
    uint32_t devid, ioas, parent, nested;

    setvbuf(stdout, NULL, _IOLBF, 0);
    show_ecap();
    find_edu(bdf, sizeof(bdf));
    bind_vfio_pci(bdf, cdev, sizeof(cdev));

    step = "open";
    iommufd = open("/dev/iommu", O_RDWR);
    if (iommufd < 0) {
        fail_errno("open /dev/iommu");
    }
    edu.devfd = open(cdev, O_RDWR);
    if (edu.devfd < 0) {
        fail_errno(cdev);
    }
    ok("/dev/iommu %s", cdev);

    step = "bind";
    struct vfio_device_bind_iommufd bind = {
        .argsz = sizeof(bind),
        .iommufd = iommufd,
    };
    if (ioctl(edu.devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0) {
        fail_errno("VFIO_DEVICE_BIND_IOMMUFD");
    }
    devid = bind.out_devid;
    ok("devid=%u", devid);

    step = "ioas";
    struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
    if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc) < 0) {
        fail_errno("IOMMU_IOAS_ALLOC");
    }
    ioas = alloc.out_ioas_id;
    ok("ioas=%u", ioas);

    step = "map";
    tables = alloc_pages(NR_TABLES);
    data = alloc_pages(NR_DATA);
    ioas_map(iommufd, ioas, tables, NR_TABLES * PAGE_SIZE, IOAS_TABLES);
    ioas_map(iommufd, ioas, data, NR_DATA * PAGE_SIZE, IOAS_DATA);
    ok("tables at 0x%llx, data at 0x%llx", IOAS_TABLES, IOAS_DATA);

    edu_setup(&edu);

    /* An ordinary iommufd paging domain on the IOAS first: DMA works */
    step = "attach-ioas";
    attach(edu.devfd, ioas, "VFIO_DEVICE_ATTACH_IOMMUFD_PT (IOAS)");
    ok("pt_id=%u", ioas);
    step = "dma-ioas";
    check_copy(&edu, IOAS_DATA + DATA_SRC * PAGE_SIZE,
               IOAS_DATA + DATA_IOAS_DST * PAGE_SIZE,
               data + DATA_SRC * PAGE_SIZE, data + DATA_IOAS_DST * PAGE_SIZE,
               0x10a5, NULL, NULL);
    step = "fault-ioas";
    check_fault(&edu, IOAS_UNMAPPED, data);

    /* The nest parent: refused unless the VT-d reports ECAP.NEST */
    step = "nest-parent";
    parent = hwpt_alloc(iommufd, devid, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
                        IOMMU_HWPT_DATA_NONE, NULL, 0,
                        "IOMMU_HWPT_ALLOC(NEST_PARENT)");
    ok("hwpt=%u", parent);

    pt = s1_build(tables);

    step = "nested";
    nested = hwpt_alloc(iommufd, devid, parent, 0, IOMMU_HWPT_DATA_VTD_S1,
                        &s1, sizeof(s1), "IOMMU_HWPT_ALLOC(DATA_VTD_S1)");
    ok("hwpt=%u parent=%u", nested, parent);

    step = "attach-nested";
    attach(edu.devfd, nested, "VFIO_DEVICE_ATTACH_IOMMUFD_PT (nested)");
    ok("pt_id=%u", nested);

    step = "dma-s1";
    check_copy(&edu, S1_SRC, S1_DST, data + DATA_SRC * PAGE_SIZE,
               data + DATA_DST * PAGE_SIZE, 0x51a5, NULL, NULL);

    /* Point S1_DST elsewhere: until the invalidation, the old one may stay */
    step = "invalidate";
    *s1_pte(pt, S1_DST) = (IOAS_DATA + DATA_DST2 * PAGE_SIZE) | FS_TABLE;
    s1_invalidate(iommufd, nested, S1_DST, 1);
    ok("0x%llx now -> 0x%llx", S1_DST, IOAS_DATA + DATA_DST2 * PAGE_SIZE);

    step = "dma-remap";
    check_copy(&edu, S1_SRC, S1_DST, data + DATA_SRC * PAGE_SIZE,
               data + DATA_DST2 * PAGE_SIZE, 0x7e3a,
               data + DATA_DST * PAGE_SIZE, "old destination");

    /* A write to an IOVA the first stage does not map */
    step = "fault";
    check_fault(&edu, S1_UNMAPPED, data);

    step = "done";
    ok("all steps passed");
    return 0;
}
