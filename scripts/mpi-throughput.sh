#!/usr/bin/env bash
# Training throughput of dml train on one machine: 1 process x 2 threads, 2 processes x 1 thread
# (mpirun) and 1 x 1, run in alternation (A B C A B C ...) for ROUNDS rounds, with the per-step
# time in the collectives of the 2-process runs (docs/distributed.md, "Measured").
#
# Usage: scripts/mpi-throughput.sh ROUNDS ITERATIONS [dml train options...]
#   e.g. scripts/mpi-throughput.sh 3 40 --dataset fashion-mnist
#        scripts/mpi-throughput.sh 3 12 --dataset folder --data-root DIR --backbone resnet18 \
#            --image-size 32 --resize 36 --classes-per-batch 4 --samples-per-class 8
# Environment: DML (default .build/release/dml), OPENBLAS_CORETYPE (default SkylakeX).
#
# Each run logs a step record every ITERATIONS/4 iterations; the first window (warm-up) is
# dropped and the images/s of the others are the run's samples. Printed: the median images/s of
# each configuration over all its samples, the medians of the collective times per step, and the
# load average before and after (the machine may be shared).
set -euo pipefail
rounds=${1:?rounds}
iterations=${2:?iterations}
shift 2
dml=${DML:-.build/release/dml}
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Ranks waiting in a collective yield their core instead of spinning (the machine is shared).
export OMPI_MCA_mpi_yield_when_idle=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo '{"evaluation": {"rawInputBaseline": false, "clustering": false}}' > "$work/config.json"
every=$(( iterations / 4 > 0 ? iterations / 4 : 1 ))
common=(train --config "$work/config.json" --iterations "$iterations" --log-every "$every" --eval-every 100000
        --no-report --quiet "$@")
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$rounds"); do
  for configuration in 1x2 2x1 1x1; do
    out="$work/$configuration-$round"
    case $configuration in
      1x2) "$dml" "${common[@]}" --threads 2 -o "$out" > /dev/null ;;
      1x1) "$dml" "${common[@]}" --threads 1 -o "$out" > /dev/null ;;
      2x1) mpirun --oversubscribe --bind-to none -np 2 "$dml" "${common[@]}" --threads 1 -o "$out" > /dev/null ;;
    esac
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work" <<'EOF'
import glob, json, os, statistics, sys
work = sys.argv[1]
samples = {}
for log in sorted(glob.glob(os.path.join(work, "*-*", "log.jsonl"))):
    configuration = os.path.basename(os.path.dirname(log)).split("-")[0]
    steps = [r for r in map(json.loads, open(log)) if r.get("event") == "step"][1:]
    s = samples.setdefault(configuration, {"images": [], "gather": [], "reduce": [], "bn": []})
    for r in steps:
        s["images"].append(r["images_per_second"])
        if "allgather_seconds" in r:
            s["gather"].append(r["allgather_seconds"] * 1e3)
            s["reduce"].append(r["allreduce_seconds"] * 1e3)
            s["bn"].append(r["batchnorm_sync_seconds"] * 1e3)
for configuration in ["1x2", "2x1", "1x1"]:
    s = samples.get(configuration)
    if not s or not s["images"]:
        continue
    line = f"{configuration}: {statistics.median(s['images']):8.1f} images/s (median of {len(s['images'])}, " \
           f"range {min(s['images']):.1f}-{max(s['images']):.1f})"
    if s["gather"]:
        line += f"; per step: all-gather {statistics.median(s['gather']):.3f} ms, gradient all-reduce " \
                f"{statistics.median(s['reduce']):.3f} ms, batch-norm sync {statistics.median(s['bn']):.3f} ms"
    print(line)
EOF
