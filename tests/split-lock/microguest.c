/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Split lock micro-guest: probes MSR_TEST_CTRL, MSR_IA32_CORE_CAPABILITIES,
 * IA32_DEBUGCTL and DR6, and performs locked accesses that do or do not
 * cross a cache line, at CPL 0 and CPL 3.  Every observation is printed
 * on COM1 as "XV: <name> <value>"; the test on the host decides what is
 * right.  After "XV: done" it waits for a byte on COM1 (except in the
 * bench modes), then exits through isa-debug-exit.  The multiboot command
 * line selects the mode: "msr", "migrate", "debugctl",
 * "ratelimit", "bench", "bench-sld" or "bench-bld".
 */

#include <stdint.h>

#define MSR_TEST_CTRL       0x33
#define MSR_CORE_CAPS       0xcf
#define MSR_DEBUGCTL        0x1d9
#define TEST_CTRL_SLD       (1u << 29)
#define DEBUGCTL_BLD        4u

struct frame {
    uint32_t ds;
    uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;
    uint32_t vector, err, eip, cs, eflags;
};

struct tss {
    uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap, iomap;
};

extern uint64_t gdt[];
extern uint32_t idt[];
extern char exc0[], exc1[], exc2[], exc3[], exc4[], exc5[], exc6[], exc7[];
extern char exc8[], exc9[], exc10[], exc11[], exc12[], exc13[], exc14[];
extern char exc15[], exc16[], exc17[], exc18[], exc19[], user_return[];
extern void enter_user(void (*fn)(void));

static char *const stubs[20] = {
    exc0, exc1, exc2, exc3, exc4, exc5, exc6, exc7, exc8, exc9,
    exc10, exc11, exc12, exc13, exc14, exc15, exc16, exc17, exc18, exc19,
};

static struct tss tss;
static uint8_t kstack0[4096] __attribute__((aligned(16)));
static uint8_t buf[256] __attribute__((aligned(64)));

/* Written by the inline asm of TRY() and read by trap() */
volatile uint32_t recover_ip, insn_ip;
static volatile int exc_vec, exc_err;
static volatile uint32_t exc_eip;
static volatile int ac_count, db_count;
static volatile uint32_t db_eip, db_dr6;

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static void putc_(char c)
{
    while (!(inb(0x3fd) & 0x20)) {
        ;
    }
    outb(0x3f8, c);
}

static void puts_(const char *s)
{
    while (*s) {
        putc_(*s++);
    }
}

static void puthex(uint64_t v)
{
    char tmp[17];
    int i = 16;

    tmp[i] = 0;
    do {
        tmp[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    puts_("0x");
    puts_(&tmp[i]);
}

static void putdec(int v)
{
    char tmp[12];
    int i = 11;

    if (v < 0) {
        puts_("none");
        return;
    }
    tmp[i] = 0;
    do {
        tmp[--i] = '0' + v % 10;
        v /= 10;
    } while (v);
    puts_(&tmp[i]);
}

static void report_hex(const char *name, uint64_t v)
{
    puts_("XV: ");
    puts_(name);
    putc_(' ');
    puthex(v);
    putc_('\n');
}

static void report_vec(const char *name, int vec)
{
    puts_("XV: ");
    puts_(name);
    putc_(' ');
    putdec(vec);
    if (vec >= 0) {
        puts_(" err ");
        puthex(exc_err);
        puts_(" at_insn ");
        putdec(exc_eip == insn_ip);
    }
    putc_('\n');
}

static void wait_host(void)
{
    while (!(inb(0x3fd) & 1)) {
        __asm__ volatile("pause");
    }
    (void)inb(0x3f8);
}

/* Report completion; unless @now, let the host look before exiting */
static void finish(int now)
{
    puts_("XV: done\n");
    if (!now) {
        wait_host();
    }
    outb(0xf4, 0);                  /* isa-debug-exit */
    for (;;) {
        __asm__ volatile("cli; hlt");
    }
}

void trap(struct frame *f);
void trap(struct frame *f)
{
    if (f->vector == 1) {
        uint32_t dr6;

        __asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
        db_count++;
        db_dr6 = dr6;
        db_eip = f->eip;
        __asm__ volatile("mov %0, %%dr6" : : "r"(0xffff0ff0u));
        return;
    }
    if (f->vector == 17) {
        ac_count++;
    }
    exc_vec = f->vector;
    exc_err = f->err;
    exc_eip = f->eip;
    if (!recover_ip) {
        report_vec("unexpected_exception", f->vector);
        report_hex("unexpected_eip", f->eip);
        finish(1);
    }
    f->eip = recover_ip;
    recover_ip = 0;
}

/* Run one instruction; return the vector of the exception it raised or -1 */
#define TRY(insn, ...) ({                                       \
    exc_vec = -1;                                               \
    __asm__ volatile("movl $1f, insn_ip\n\t"                    \
                     "movl $2f, recover_ip\n"                   \
                     "1:\t" insn "\n"                           \
                     "2:\tmovl $0, recover_ip"                  \
                     __VA_ARGS__);                              \
    exc_vec;                                                    \
})

static int rdmsr_safe(uint32_t msr, uint64_t *val)
{
    uint32_t lo = 0, hi = 0;
    int vec = TRY("rdmsr", : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");

    *val = ((uint64_t)hi << 32) | lo;
    return vec;
}

static int wrmsr_safe(uint32_t msr, uint64_t val)
{
    return TRY("wrmsr", : : "c"(msr), "a"((uint32_t)val),
               "d"((uint32_t)(val >> 32)) : "memory");
}

static void report_msr(const char *name, uint32_t msr)
{
    uint64_t v;
    int vec = rdmsr_safe(msr, &v);

    if (vec >= 0) {
        report_vec(name, vec);
    } else {
        report_hex(name, v);
    }
}

static uint32_t *at(int off)
{
    return (uint32_t *)(buf + off);
}

static int lock_add(int off)
{
    return TRY("lock addl $1, (%0)", : : "r"(at(off)) : "memory");
}

/* Locked accesses that cross the line at buf + 64, at CPL 0 */
static void split_locks(const char *prefix)
{
    uint32_t before;
    uint32_t lo = 0, hi = 0, eax, edx;
    char name[64];
    int i, vec;
    const char *p;

#define NAME(s) ({                                              \
    i = 0;                                                      \
    for (p = prefix; *p; p++) {                                 \
        name[i++] = *p;                                         \
    }                                                           \
    for (p = (s); *p; p++) {                                    \
        name[i++] = *p;                                         \
    }                                                           \
    name[i] = 0;                                                \
    name;                                                       \
})

    *at(62) = 0;
    before = *at(62);
    report_vec(NAME("lock_add_split"), lock_add(62));
    report_hex(NAME("lock_add_split_mem"), *at(62) - before);
    report_vec(NAME("lock_add_aligned"), lock_add(60));
    report_vec(NAME("plain_add_split"),
               TRY("addl $1, (%0)", : : "r"(at(126)) : "memory"));
    report_vec(NAME("xchg_split"),
               TRY("xchgl %0, (%1)", : "+r"(lo) : "r"(at(61)) : "memory"));
    report_vec(NAME("xadd_split"),
               TRY("lock xaddw %w0, (%1)", : "+r"(lo) : "r"(buf + 63)
                   : "memory"));
    report_vec(NAME("bts_split"),
               TRY("lock btsl $3, (%0)", : : "r"(at(62)) : "memory"));
    eax = 0;
    edx = 0;
    vec = TRY("lock cmpxchg8b (%2)", : "+a"(eax), "+d"(edx)
              : "r"(buf + 60), "b"(lo), "c"(hi) : "memory", "cc");
    report_vec(NAME("cmpxchg8b_split"), vec);
    report_vec(NAME("cmpxchg_split"),
               TRY("lock cmpxchgl %0, (%1)", : "+r"(lo) : "r"(at(62))
                   : "memory", "eax"));
    /* A byte never crosses a line */
    report_vec(NAME("cmpxchg_byte"),
               TRY("lock cmpxchgb %b0, (%1)", : "+q"(lo) : "r"(buf + 63)
                   : "memory", "eax"));
#undef NAME
}

void bld_user_split(void);
void bld_user_aligned(void);
extern char bld_split_next[];
__asm__(".text\n"
        "bld_user_split:\n"
        "  lock addl $1, buf+126\n"
        "bld_split_next:\n"
        "  int $0x80\n"
        "bld_user_aligned:\n"
        "  lock addl $1, buf+128\n"
        "  int $0x80\n");

static void bus_locks(void)
{
    uint32_t before = *at(126);
    uint32_t dr6;

    db_count = 0;
    enter_user(bld_user_split);
    report_hex("cpl3_split_db", db_count);
    report_hex("cpl3_split_db_dr6", db_dr6);
    report_hex("cpl3_split_db_after_insn", db_eip == (uint32_t)bld_split_next);
    report_hex("cpl3_split_mem", *at(126) - before);
    db_count = 0;
    enter_user(bld_user_aligned);
    report_hex("cpl3_aligned_db", db_count);
    db_count = 0;
    lock_add(62);
    report_hex("cpl0_split_db", db_count);

    __asm__ volatile("mov %0, %%dr6" : : "r"(0u));
    __asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
    report_hex("dr6_after_write_0", dr6);
    __asm__ volatile("mov %0, %%dr6" : : "r"(0xffff0ff0u));
}

static void msr_mode(void)
{
    report_msr("core_caps", MSR_CORE_CAPS);
    report_msr("test_ctrl_reset", MSR_TEST_CTRL);
    report_msr("debugctl_reset", MSR_DEBUGCTL);
    report_vec("wr_core_caps", wrmsr_safe(MSR_CORE_CAPS, 0));

    split_locks("off_");

    report_vec("wr_test_ctrl_bit0", wrmsr_safe(MSR_TEST_CTRL, 1));
    report_vec("wr_test_ctrl_bit32", wrmsr_safe(MSR_TEST_CTRL, 1ull << 32));
    report_vec("wr_test_ctrl_sld_bit31",
               wrmsr_safe(MSR_TEST_CTRL, TEST_CTRL_SLD | (1u << 31)));
    report_msr("test_ctrl_after_bad", MSR_TEST_CTRL);
    report_vec("wr_test_ctrl_sld", wrmsr_safe(MSR_TEST_CTRL, TEST_CTRL_SLD));
    report_msr("test_ctrl_sld", MSR_TEST_CTRL);

    ac_count = 0;
    split_locks("sld_");
    report_hex("sld_ac_count", ac_count);

    report_vec("wr_test_ctrl_0", wrmsr_safe(MSR_TEST_CTRL, 0));
    report_msr("test_ctrl_0", MSR_TEST_CTRL);
    report_vec("after_off_lock_add_split", lock_add(62));

    report_vec("wr_debugctl_bld", wrmsr_safe(MSR_DEBUGCTL, DEBUGCTL_BLD));
    report_msr("debugctl_bld", MSR_DEBUGCTL);
    bus_locks();
    report_vec("wr_debugctl_0", wrmsr_safe(MSR_DEBUGCTL, 0));
    db_count = 0;
    enter_user(bld_user_split);
    report_hex("bld_off_cpl3_split_db", db_count);
}

static void migrate_mode(void)
{
    report_vec("wr_test_ctrl_sld", wrmsr_safe(MSR_TEST_CTRL, TEST_CTRL_SLD));
    report_vec("wr_debugctl_bld", wrmsr_safe(MSR_DEBUGCTL, DEBUGCTL_BLD));
    puts_("XV: migrate-ready\n");
    wait_host();
    report_msr("migrated_test_ctrl", MSR_TEST_CTRL);
    report_msr("migrated_debugctl", MSR_DEBUGCTL);
    report_vec("migrated_lock_add_split", lock_add(62));
    report_vec("wr_test_ctrl_0", wrmsr_safe(MSR_TEST_CTRL, 0));
    db_count = 0;
    enter_user(bld_user_split);
    report_hex("migrated_cpl3_split_db", db_count);
}

/*
 * DEBUGCTL bits other than BUS_LOCK_DETECT: reserved ones #GP, LBR and
 * BTF are ignored.  Leaves LBR|BTF|BLD written last, for the host to
 * look at the migration stream.
 */
static void debugctl_mode(void)
{
    report_msr("dc_core_caps", MSR_CORE_CAPS);
    report_vec("dc_wr_ones", wrmsr_safe(MSR_DEBUGCTL, ~0ull));
    report_msr("dc_after_ones", MSR_DEBUGCTL);
    report_vec("dc_wr_bit3", wrmsr_safe(MSR_DEBUGCTL, 1u << 3));
    report_vec("dc_wr_bit6", wrmsr_safe(MSR_DEBUGCTL, 1u << 6));
    report_vec("dc_wr_bit32", wrmsr_safe(MSR_DEBUGCTL, 1ull << 32));
    report_msr("dc_after_bad", MSR_DEBUGCTL);
    report_vec("dc_wr_bld", wrmsr_safe(MSR_DEBUGCTL, DEBUGCTL_BLD));
    report_msr("dc_bld", MSR_DEBUGCTL);
    report_vec("dc_wr_lbr_btf", wrmsr_safe(MSR_DEBUGCTL, 3));
    report_msr("dc_lbr_btf", MSR_DEBUGCTL);
    report_vec("dc_wr_lbr_btf_bld",
               wrmsr_safe(MSR_DEBUGCTL, 3 | DEBUGCTL_BLD));
    report_msr("dc_lbr_btf_bld", MSR_DEBUGCTL);
}

/* Bus locks with detection off, for -machine bus-lock-ratelimit */
static void ratelimit_mode(void)
{
    int i;

    puts_("XV: ratelimit_start\n");
    for (i = 0; i < 20; i++) {
        lock_add(62);
    }
    report_hex("ratelimit_mem", *at(62));
    puts_("XV: ratelimit_done\n");
}

/* CPU-bound loop of aligned locked operations, for bench_split_lock.py */
#define BENCH_ITERS 400000000

static void bench_mode(int sld, int bld)
{
    uint32_t i;

    if (sld) {
        wrmsr_safe(MSR_TEST_CTRL, TEST_CTRL_SLD);
    }
    if (bld) {
        /* bus lock #DB only: nothing to check at CPL 0, where this runs */
        wrmsr_safe(MSR_DEBUGCTL, DEBUGCTL_BLD);
    }
    for (i = 0; i < BENCH_ITERS; i++) {
        uint32_t v = i;

        __asm__ volatile("lock addl $1, (%1)\n\t"
                         "lock incl 4(%1)\n\t"
                         "xchgl %0, 8(%1)"
                         : "+r"(v) : "r"(at(0)) : "memory");
    }
    report_hex("bench_mem", *at(0));
}

static void set_gate(int n, void *fn, int dpl)
{
    uint32_t off = (uint32_t)fn;

    idt[n * 2] = (off & 0xffff) | (0x08 << 16);
    idt[n * 2 + 1] = (off & 0xffff0000) | 0x8e00 | (dpl << 13);
}

void setup_tables(void);
void setup_tables(void)
{
    uint32_t base = (uint32_t)&tss;
    uint32_t limit = sizeof(tss) - 1;
    int i;

    for (i = 0; i < 20; i++) {
        set_gate(i, stubs[i], 0);
    }
    set_gate(0x80, user_return, 3);
    tss.ss0 = 0x10;
    tss.esp0 = (uint32_t)(kstack0 + sizeof(kstack0));
    tss.iomap = sizeof(tss);
    gdt[5] = (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) |
             (0x89ull << 40) | ((uint64_t)(limit & 0xf0000) << 32) |
             ((uint64_t)(base >> 24) << 56);
}

static int has_word(const char *s, const char *w)
{
    const char *a, *b;

    for (; *s; s++) {
        for (a = s, b = w; *b && *a == *b; a++, b++) {
            ;
        }
        if (!*b) {
            return 1;
        }
    }
    return 0;
}

struct mbi {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
};

void guest_main(struct mbi *mbi);
void guest_main(struct mbi *mbi)
{
    const char *cmdline = (mbi->flags & 4) ? (const char *)mbi->cmdline : "";
    int bench = has_word(cmdline, "mode=bench");

    puts_("XV: start\n");
    if (has_word(cmdline, "mode=migrate")) {
        migrate_mode();
    } else if (has_word(cmdline, "mode=bench-sld")) {
        bench_mode(1, 0);
    } else if (has_word(cmdline, "mode=bench-bld")) {
        bench_mode(0, 1);
    } else if (has_word(cmdline, "mode=bench")) {
        bench_mode(0, 0);
    } else if (has_word(cmdline, "mode=debugctl")) {
        debugctl_mode();
    } else if (has_word(cmdline, "mode=ratelimit")) {
        ratelimit_mode();
    } else {
        msr_mode();
    }
    finish(bench);
}
