/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SMCCC micro-guest: issue the SMC Calling Convention calls a Linux guest
 * uses to find KVM's PTP service, over the virt board's HVC conduit, and
 * print what came back as "XV: name=value" lines on the PL011 UART.  The
 * test (test_microguest.py) judges the values; the guest only reports.
 */
#include <stdint.h>

#define UART_DR     ((volatile uint32_t *)0x09000000)
#define UART_FR     ((volatile uint32_t *)0x09000018)
#define UART_FR_TXFF (1 << 5)

#define PSCI_VERSION            0x84000000
#define PSCI_SYSTEM_OFF         0x84000008
#define PSCI_FEATURES           0x8400000a
#define SMCCC_VERSION           0x80000000
#define SMCCC_ARCH_FEATURES     0x80000001
#define SMCCC_ARCH_WORKAROUND_1 0x80008000
#define KVM_FEATURES            0x86000000
#define KVM_PTP                 0x86000001
#define VENDOR_HYP_CALL_UID     0x8600ff01

struct smccc_res {
    uint64_t a0, a1, a2, a3;
};

struct smccc_res smccc_hvc(uint64_t fid, uint64_t a1);

static void putc_uart(char c)
{
    while (*UART_FR & UART_FR_TXFF) {
    }
    *UART_DR = c;
}

static void puts_uart(const char *s)
{
    while (*s) {
        putc_uart(*s++);
    }
}

static void puthex(uint64_t v)
{
    int i;

    puts_uart("0x");
    for (i = 60; i >= 0; i -= 4) {
        putc_uart("0123456789abcdef"[(v >> i) & 0xf]);
    }
}

static void report(const char *name, const struct smccc_res *r, int n)
{
    const uint64_t *v = &r->a0;
    int i;

    puts_uart("XV: ");
    puts_uart(name);
    putc_uart('=');
    for (i = 0; i < n; i++) {
        if (i) {
            putc_uart(',');
        }
        puthex(v[i]);
    }
    putc_uart('\n');
}

static void call(const char *name, uint64_t fid, uint64_t a1, int n)
{
    struct smccc_res r = smccc_hvc(fid, a1);

    report(name, &r, n);
}

static inline uint64_t read_cntvct(void)
{
    uint64_t v;

    asm volatile("isb; mrs %0, cntvct_el0; isb" : "=r"(v) : : "memory");
    return v;
}

static inline uint64_t read_cntpct(void)
{
    uint64_t v;

    asm volatile("isb; mrs %0, cntpct_el0; isb" : "=r"(v) : : "memory");
    return v;
}

/*
 * A PTP call with x1 = arg between two reads of the counter it samples:
 * SMC32 arguments are 32-bit, so the low half of arg selects the counter
 * (0: virtual, 1: physical)
 */
static void ptp(const char *name, uint64_t arg)
{
    struct smccc_res r;
    uint64_t before, after;
    int phys = (uint32_t)arg == 1;

    before = phys ? read_cntpct() : read_cntvct();
    r = smccc_hvc(KVM_PTP, arg);
    after = phys ? read_cntpct() : read_cntvct();
    report(name, &r, 4);
    puts_uart("XV: ");
    puts_uart(name);
    puts_uart("_window=");
    puthex(before);
    putc_uart(',');
    puthex(after);
    putc_uart('\n');
}

void main(void)
{
    uint64_t freq;
    int i;

    asm volatile("mrs %0, cntfrq_el0" : "=r"(freq));
    puts_uart("XV: start\n");
    puts_uart("XV: cntfrq=");
    puthex(freq);
    putc_uart('\n');

    call("psci_version", PSCI_VERSION, 0, 1);
    call("psci_features_smccc_version", PSCI_FEATURES, SMCCC_VERSION, 1);
    call("psci_features_psci_version", PSCI_FEATURES, PSCI_VERSION, 1);
    call("smccc_version", SMCCC_VERSION, 0, 1);
    call("arch_features_smccc_version", SMCCC_ARCH_FEATURES, SMCCC_VERSION, 1);
    call("arch_features_arch_features", SMCCC_ARCH_FEATURES,
         SMCCC_ARCH_FEATURES, 1);
    call("arch_features_workaround_1", SMCCC_ARCH_FEATURES,
         SMCCC_ARCH_WORKAROUND_1, 1);
    call("arch_features_vendor_hyp_uid", SMCCC_ARCH_FEATURES,
         VENDOR_HYP_CALL_UID, 1);
    call("vendor_hyp_uid", VENDOR_HYP_CALL_UID, 0, 4);
    call("kvm_features", KVM_FEATURES, 0, 4);
    ptp("ptp_virt", 0);
    ptp("ptp_phys", 1);
    /* a second sample, later, to check both clocks moved on together */
    for (i = 0; i < 1000000; i++) {
        asm volatile("" : : : "memory");
    }
    ptp("ptp_virt2", 0);
    call("ptp_counter_2", KVM_PTP, 2, 4);
    call("ptp_counter_7", KVM_PTP, 7, 4);
    call("ptp_counter_all_ones", KVM_PTP, 0xffffffff, 4);
    /* only w1 counts: this is the virtual counter */
    ptp("ptp_virt_upper_bits", 0xffffffff00000000ULL);
    call("vendor_hyp_unknown", 0x86000002, 0, 1);
    call("vendor_hyp_call_count", 0x8600ff00, 0, 1);
    call("vendor_hyp_smc64_ptp", 0xc6000001, 0, 1);
    call("sip_service", 0x82000000, 0, 1);
    call("std_service_unknown", 0x8400ff00, 0, 1);
    puts_uart("XV: done\n");
    smccc_hvc(PSCI_SYSTEM_OFF, 0);
}
