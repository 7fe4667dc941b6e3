#!/bin/sh
# The long version of the SIGKILL fault test (docs/guarantees.md, "Run directories"):
# kills `dml train` at random instants KILLS times (default 300) and checks that `--resume`
# ends in exactly the run an uninterrupted `dml train` writes. The test suite runs it with 24.
#   scripts/kill-resume.sh [KILLS]
set -eu
cd "$(dirname "$0")/.."
kills="${1:-300}"
swift build --build-tests
DML_FAULT_KILLS="$kills" swift test --skip-build --filter KillResumeTests.killedAtRandomInstantsResumesToTheUninterruptedRun
