#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fuzz.sh [--save-corpus] [TARGET...]: libFuzzer runs over the surfaces
# the queue adds.
#
# Builds build/src with clang, --enable-fuzzing and ASan into
# build/fuzz-obj (only the fuzzer, qemu-fuzz-x86_64), then runs each
# target (default: all, see below) for FUZZ_SECONDS (default 600).  Each
# run starts from a copy of tests/fuzz-corpus/<target>/ and works in
# build/fuzz-run/<target>/ (corpus/, artifacts/, fuzz.log).  Fails if a
# run leaves a crash, leak, timeout or out-of-memory reproducer, or
# stops early.
#
# --save-corpus: after the runs, merge (-merge=1) each run's corpus into
# a fresh directory and make that tests/fuzz-corpus/<target>/, if it stays
# under XV_FUZZ_CORPUS_KIB (default 384) KiB.
#
# XV_FUZZ_JOBS: ninja's -j (default: nproc).  FUZZ_TIMEOUT: seconds one
# input may take before it counts as a timeout (default 25); QEMU takes
# SIGALRM through its signalfd, so libFuzzer sees the alarm only when the
# main loop runs (between two operations of an input), and an input that
# never returns to it hangs the run instead.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# The targets: name, libFuzzer target, QEMU_FUZZ_ARGS, QEMU_FUZZ_OBJECTS
# (the last two for generic-fuzz only).
#
# vtd-nested: the Intel IOMMU in scalable mode with emulated nested
# translation and PASID, and behind it the queue's iommu-testdev-pcie
# (PASID, ATS) and a virtio-blk device that uses it (iommu_platform).
# generic-fuzz writes the IOMMU's registers and the devices' BARs and
# config space, and fills what they read by DMA (root, context and PASID
# tables, page tables, virtqueues) from the input.
#
# subpage-wp: tests/qtest/fuzz/subpage_wp_fuzz.c, the queue's fuzz
# target: protection changes (in-process x-subpage-wp-set), vCPU writes,
# DMA by iommu-testdev-pcie, virtio-blk and fw_cfg, the drop, report and
# pause actions, cont and resets.
targets=(vtd-nested subpage-wp)
declare -A fuzz_target=(
    [vtd-nested]=generic-fuzz
    [subpage-wp]=subpage-wp
)
declare -A fuzz_args=(
    [vtd-nested]="-machine q35 -nodefaults \
-device intel-iommu,intremap=off,scalable-mode=on,x-nested=on,pasid-bits=20,device-iotlb=on \
-device iommu-testdev-pcie \
-blockdev driver=null-co,node-name=disk0,read-zeroes=on \
-device virtio-blk-pci,drive=disk0,iommu_platform=on,ats=on,disable-legacy=on"
)
declare -A fuzz_objects=(
    [vtd-nested]="intel-iommu intel_iommu iommu-testdev* virtio*"
)

save_corpus=""
if [ "${1:-}" = --save-corpus ]; then
    save_corpus=1
    shift
fi
if [ $# -gt 0 ]; then
    for t in "$@"; do
        [ -n "${fuzz_target[$t]:-}" ] || xv_die "unknown fuzz target '$t' (known: ${targets[*]})"
    done
    targets=("$@")
fi
seconds=${FUZZ_SECONDS:-600}
case "$seconds" in
''|*[!0-9]*|0) xv_die "FUZZ_SECONDS must be a positive number of seconds, not '$seconds'" ;;
esac
timeout=${FUZZ_TIMEOUT:-25}
corpus_kib=${XV_FUZZ_CORPUS_KIB:-384}

src=${XV_FUZZ_SRC:-$XV_BUILD/src}
obj=${XV_FUZZ_OBJ:-$XV_BUILD/fuzz-obj}
runs=${XV_FUZZ_RUNS:-$XV_BUILD/fuzz-run}
[ -d "$src/.git" ] || xv_die "$src is missing: run 'make prepare' first"
for t in "${targets[@]}"; do
    [ "$t" != subpage-wp ] || [ -f "$src/tests/qtest/fuzz/subpage_wp_fuzz.c" ] ||
        xv_die "$src has no tests/qtest/fuzz/subpage_wp_fuzz.c: the queue lacks the patch adding the subpage-wp fuzz target"
done
for tool in clang clang++ ccache ninja; do
    command -v $tool >/dev/null || xv_die "$tool is missing: run 'sudo make deps'"
done

export CCACHE_DIR=${CCACHE_DIR:-$XV_CACHE/ccache}
CCACHE_BASEDIR=$(dirname "$obj")
export CCACHE_BASEDIR
export CCACHE_NOHASHDIR=1

# The default devices (those under test are among them), no optional
# libraries, no documentation.
args=(--cc="ccache clang" --cxx="ccache clang++" --target-list=x86_64-softmmu
      --enable-fuzzing --enable-asan --disable-werror --disable-docs
      --disable-download --disable-install-blobs --python="$XV_PYTHON"
      --without-default-features)
want=$(printf '%s\n' "${args[@]}" | sha256sum | cut -c1-16)
if [ ! -f "$obj/build.ninja" ] || [ "$(cat "$obj/.xv-configured" 2>/dev/null)" != "$want" ]; then
    xv_log "configuring the fuzzer in $obj: ${args[*]}"
    mkdir -p "$obj"
    (cd "$obj" && "$src/configure" "${args[@]}") > "$obj/../configure-fuzz.log" 2>&1 ||
        { tail -30 "$obj/../configure-fuzz.log" >&2
          xv_die "configure failed (log: $obj/../configure-fuzz.log)"; }
    echo "$want" > "$obj/.xv-configured"
fi
xv_log "building qemu-fuzz-x86_64 in $obj"
start=$(date +%s)
ninja -C "$obj" -j"${XV_FUZZ_JOBS:-$(nproc)}" qemu-fuzz-x86_64
xv_log "built in $(( $(date +%s) - start )) s"
bin=$obj/qemu-fuzz-x86_64

# The +ds tarball has no firmware (configure --disable-install-blobs) and
# the fuzzer looks for it in its datadir below qemu-bundle: link Debian's
# SeaBIOS and iPXE ROMs there (build.sh does the same for build/obj).
datadir=$(sed -n 's/^#define CONFIG_QEMU_DATADIR "\(.*\)"$/\1/p' "$obj/config-host.h")
[ -n "$datadir" ] || xv_die "$obj/config-host.h has no CONFIG_QEMU_DATADIR"
[ -f /usr/share/seabios/bios-256k.bin ] ||
    xv_die "firmware /usr/share/seabios/bios-256k.bin is missing: run 'sudo make deps' (package seabios)"
mkdir -p "$obj/qemu-bundle$datadir"
firmwarepath=${XV_FIRMWAREPATH:-/usr/share/seabios:/usr/lib/ipxe/qemu}
for d in ${firmwarepath//:/ }; do
    for f in "$d"/*; do
        [ ! -f "$f" ] || ln -sfn "$f" "$obj/qemu-bundle$datadir/"
    done
done

# the fuzzer lists its targets when given none
known=$("$bin" 2>&1 | sed -n 's/^ *\* *\([^ :]*\).*/\1/p' || true)
for t in "${targets[@]}"; do
    grep -qx -- "${fuzz_target[$t]}" <<<"$known" ||
        xv_die "$bin has no fuzz target '${fuzz_target[$t]}' (is the patch adding tests/qtest/fuzz/subpage_wp_fuzz.c in the queue?)"
done

# ASan: a leak fails the run (libFuzzer's -detect_leaks); QEMU's exit
# paths are not leak-free, so LSan does not run at exit
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:leak_check_at_exit=0:symbolize=1}

# fuzz TARGET ARG...: run the fuzzer of TARGET in its run directory
fuzz() {
    local t=$1
    shift
    (
        if [ "${fuzz_target[$t]}" = generic-fuzz ]; then
            export QEMU_FUZZ_ARGS="${fuzz_args[$t]}"
            export QEMU_FUZZ_OBJECTS="${fuzz_objects[$t]}"
        fi
        cd "$runs/$t" && exec "$bin" --fuzz-target="${fuzz_target[$t]}" -timeout="$timeout" "$@"
    )
}
count() { find "$1" -maxdepth 1 -type f | wc -l; }

failed=()
for t in "${targets[@]}"; do
    dir=$runs/$t
    rm -rf "$dir"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    seeds=$XV_ROOT/tests/fuzz-corpus/$t
    [ ! -d "$seeds" ] || find "$seeds" -maxdepth 1 -type f -exec cp -t "$dir/corpus" {} +
    xv_log "fuzzing $t for $seconds s ($(count "$dir/corpus") corpus inputs; log: $dir/fuzz.log)"
    rc=0
    fuzz "$t" -max_total_time="$seconds" -artifact_prefix="$dir/artifacts/" \
        -print_final_stats=1 "$dir/corpus" > "$dir/fuzz.log" 2>&1 || rc=$?
    stats=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$dir/fuzz.log" | tail -1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/fuzz.log" | tail -1)
    xv_log "$t: ${execs:-?} executions, ${speed:-?} exec/s; last: ${stats:-none}"
    artifacts=$(find "$dir/artifacts" -type f | sort)
    if [ -n "$artifacts" ]; then
        xv_log "$t: reproducers (run: $bin --fuzz-target=${fuzz_target[$t]} FILE):"
        printf "  %s\n" "${artifacts//$'\n'/$'\n  '}" >&2
        grep -m1 -A30 -E '^==[0-9]+==ERROR|^ALARM|SUMMARY' "$dir/fuzz.log" >&2 || true
        failed+=("$t")
    elif [ $rc != 0 ] || ! grep -q '^Done [0-9]* runs' "$dir/fuzz.log"; then
        tail -20 "$dir/fuzz.log" >&2
        xv_log "$t: the fuzzer stopped early (exit status $rc)"
        failed+=("$t")
    fi
    if [ -n "$save_corpus" ] && [ -z "$artifacts" ]; then
        merged=$dir/merged
        mkdir -p "$merged"
        fuzz "$t" -merge=1 "$merged" "$dir/corpus" > "$dir/merge.log" 2>&1 ||
            xv_die "$t: merging the corpus failed (log: $dir/merge.log)"
        kib=$(du -sk --apparent-size "$merged" | cut -f1)
        [ "$kib" -le "$corpus_kib" ] ||
            xv_die "$t: the merged corpus takes $kib KiB, more than $corpus_kib: not saved ($merged)"
        rm -rf "$seeds"
        mkdir -p "$seeds"
        find "$merged" -maxdepth 1 -type f -exec cp -t "$seeds" {} +
        xv_log "$t: saved $(count "$seeds") inputs ($kib KiB) to $seeds"
    fi
done
[ ${#failed[@]} = 0 ] || xv_die "fuzzing found problems in: ${failed[*]} (see $runs/<target>/)"
xv_log "fuzzing: no crash, leak or timeout in ${targets[*]} ($seconds s each)"
