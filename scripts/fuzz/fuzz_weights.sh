#!/usr/bin/env bash
# Fuzzes the DMLWeights parsers (safetensors, PyTorch zip, legacy pickle) with libFuzzer and
# AddressSanitizer, seeded with the committed fixtures. Any crash, trap or memory error is a bug.
#
#   scripts/fuzz/fuzz_weights.sh [SECONDS]     (default 120; needs only the Swift toolchain)
#
# The module's sources are compiled into one fuzzing binary with the harness below; the one
# DMLNumerics file they use (AtomicFile.swift) is compiled in beside them.
set -euo pipefail
seconds="${1:-120}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src" "$work/corpus"
for f in "$root"/Sources/DMLWeights/*.swift "$root"/Sources/DMLNumerics/AtomicFile.swift; do
    sed '/^import DMLNumerics$/d' "$f" > "$work/src/$(basename "$f")"
done
cat > "$work/src/Harness.swift" <<'SWIFT'
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? WeightFile.parse(bytes)
    _ = try? SafeTensors.parse(bytes)
    _ = try? TorchCheckpoint.parseZip(bytes)
    _ = try? TorchCheckpoint.parseLegacy(bytes)
    return 0
}
SWIFT
cp "$root"/Tests/DMLWeightsTests/Fixtures/*.pth "$root"/Tests/DMLWeightsTests/Fixtures/*.safetensors "$work/corpus/"
swiftc -parse-as-library -module-name DMLWeights -sanitize=fuzzer,address -O "$work"/src/*.swift -o "$work/fuzz" 2>&1 \
    | grep -v "Cannot export local symbol" || true
"$work/fuzz" -max_total_time="$seconds" -max_len=16384 -rss_limit_mb=2048 -print_final_stats=1 "$work/corpus"
