#!/usr/bin/env bash
# Sets up what is missing, builds the release binary, and runs the main job: train on the
# default dataset (Fashion-MNIST, classes 0-4 train, 5-9 held out), evaluate, and write the
# run directory runs/fashion-mnist with its HTML report, whose path is printed last.
# Extra arguments go to `dml train` (a later --output wins).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product dml
exec .build/release/dml train --output runs/fashion-mnist "$@"
