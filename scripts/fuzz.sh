#!/usr/bin/env bash
# Builds the libFuzzer harnesses of Fuzz/Harnesses with address sanitizer and runs each for a
# bounded time, seeded from Fuzz/seeds/<harness>/.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [HARNESS ...]     (default 60 s, every harness)
#
# Harnesses (Fuzz/Harnesses/Package.swift): npy idx idx-gzip mat png jpeg checkpoint
# tensor-archive config safetensors pytorch-zip pytorch-legacy. Dictionaries of keywords and
# edge numbers, where one helps, are in Fuzz/dicts/<harness>.dict.
#
# Environment:
#   FUZZ_OUT     where corpora, crashes and logs go (default .build-fuzz/); a corpus grown by
#                one run seeds the next
#   FUZZ_CONFIG  debug (default) or release
#   FUZZ_JOBS    harnesses run at once (default 1)
#
# Writes FUZZ_OUT/crashes/<harness>/ (crashing, timing-out or memory-exhausting inputs),
# FUZZ_OUT/corpus/<harness>/, FUZZ_OUT/logs/<harness>.log and FUZZ_OUT/summary.md (runs,
# exec/s, corpus size and crashes per harness). Exits non-zero when any harness crashed.
# Nothing beyond the Swift toolchain is needed: libFuzzer and the sanitizer runtimes ship with it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
out="${FUZZ_OUT:-.build-fuzz}"
config="${FUZZ_CONFIG:-debug}"
jobs="${FUZZ_JOBS:-1}"
package=Fuzz/Harnesses

all=$(sed -n 's/^let harnesses = \[\(.*\)\]$/\1/p' "$package/Package.swift" | tr -d '"' | tr ',' ' ')
targets=("$@")
[ ${#targets[@]} -gt 0 ] || read -r -a targets <<<"$all"

# libFuzzer is part of the toolchain's compiler-rt; say so clearly if this toolchain lacks it.
toolchain="$(dirname "$(dirname "$(command -v swiftc)")")"
if ! find -L "$toolchain/lib" -name 'libclang_rt.fuzzer*.a' -print -quit 2>/dev/null | grep -q .; then
    echo "fuzz: no libclang_rt.fuzzer in $toolchain/lib: this Swift toolchain has no libFuzzer" >&2
    exit 2
fi

start=$(date +%s)
echo "fuzz: building the harnesses ($config, -sanitize=fuzzer,address) to run ${#targets[@]}" >&2
# `--sanitize fuzzer` tells SwiftPM to let libFuzzer provide `main`; the sanitizers themselves come
# from one `-sanitize=fuzzer,address`, which SwiftPM places last: given `--sanitize fuzzer
# --sanitize address`, SwiftPM passes two -sanitize= flags in no fixed order, swiftc keeps only
# the last, and a build silently lost its coverage instrumentation about half the time.
# ld.gold warns "Cannot export local symbol" for every sanitizer helper: harmless, filtered.
# The harnesses are always recompiled (a few small files): after a merge changed a library
# type's layout, an incremental build once kept a stale harness object that then crashed in
# swift_release on a valid seed.
touch "$package"/Sources/fuzz-*/Harness.swift
swift build --package-path "$package" -c "$config" --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address 2>&1 \
    | { grep -v "Cannot export local symbol" || true; } >&2
bin="$(swift build --package-path "$package" -c "$config" --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address --show-bin-path)"
built=$(date +%s)
echo "fuzz: built in $((built - start)) s" >&2

mkdir -p "$out/logs"
run_one() {
    local t="$1" corpus="$out/corpus/$1" crashes="$out/crashes/$1" log="$out/logs/$1.log"
    mkdir -p "$corpus" "$crashes"
    # The first folder is the writable corpus; the committed seeds are read only.
    # -timeout: an input taking longer is a finding too. -rss_limit_mb / -malloc_limit_mb: an
    # input asking for more than 2 GB is one (a size read from the file and not bounded).
    local seeds=()
    [ -d "Fuzz/seeds/$t" ] && seeds=("Fuzz/seeds/$t")
    # A dictionary of the format's keywords and edge numbers, where one helps.
    local dict=()
    [ -f "Fuzz/dicts/$t.dict" ] && dict=("-dict=Fuzz/dicts/$t.dict")
    # SWIFT_BACKTRACE: Swift's own crash handler would race libFuzzer's and ASan's.
    if SWIFT_BACKTRACE=enable=no ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" "$bin/fuzz-$t" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -print_final_stats=1 "${dict[@]}" -artifact_prefix="$crashes/" "$corpus" "${seeds[@]}" >"$log" 2>&1; then
        if ! grep -q "inline 8-bit counters" "$log"; then
            echo "fuzz: $t: the harness has no coverage instrumentation (see $log)" >&2
            return 1
        fi
        echo "fuzz: $t: ok" >&2
    else
        echo "fuzz: $t: CRASHED, input in $crashes/ (log: $log)" >&2
        return 1
    fi
}
failed=0
if [ "$jobs" -le 1 ]; then
    for t in "${targets[@]}"; do run_one "$t" || failed=1; done
else
    pids=()
    for t in "${targets[@]}"; do
        run_one "$t" & pids+=($!)
        while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
    done
    for p in "${pids[@]}"; do wait "$p" || failed=1; done
fi

# The summary: libFuzzer's final statistics per harness.
{
    echo "| harness | seconds | runs | exec/s | corpus (files) | new units | peak RSS (MB) | crashes |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for t in "${targets[@]}"; do
        log="$out/logs/$t.log"
        stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
        corpus=$(find "$out/corpus/$t" -type f | wc -l)
        crashes=$(find "$out/crashes/$t" -type f | wc -l)
        echo "| $t | $seconds | $(stat number_of_executed_units) | $(stat average_exec_per_sec) | $corpus | $(stat new_units_added) | $(stat peak_rss_mb) | $crashes |"
    done
} >"$out/summary.md"
cat "$out/summary.md"
echo "fuzz: build $((built - start)) s, fuzzing $(( $(date +%s) - built )) s" >&2
if [ "$failed" -ne 0 ]; then
    echo "fuzz: at least one harness crashed; reproduce with: $bin/fuzz-HARNESS $out/crashes/HARNESS/<file>" >&2
    exit 1
fi
