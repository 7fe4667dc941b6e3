#!/usr/bin/env bash
# Installs the Debian packages SwiftMetricLearning needs, if any is missing:
#   libopenblas-dev        BLAS (GEMM/SYRK) for every matrix product
#   libturbojpeg0-dev      JPEG decoding
#   libpng-dev, zlib1g-dev PNG decoding, compressed MAT-file elements
#   dataset-fashion-mnist  the default dataset of the main job
#   zstd                   unpacking the Omniglot archive
#   libopenmpi-dev         MPI headers and library (data-parallel training; linked by every build)
#   openmpi-bin            mpirun, for multi-process runs and their tests
#   libfreetype-dev        FreeType, rendering font glyphs (dml glyphs, the main job's dataset)
#   the font packages of scripts/font-packages.txt (about 45 MB of downloads): the fonts the main
#                          job's dataset is rendered from (scripts/prepare-fonts.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(libopenblas-dev libturbojpeg0-dev libpng-dev zlib1g-dev dataset-fashion-mnist zstd libopenmpi-dev openmpi-bin
          libfreetype-dev $(grep -v '^#' scripts/font-packages.txt))
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing ${missing[*]}" >&2
    $sudo apt-get update -qq || $sudo apt-get update -qq
    # A transient dpkg error has been seen once: retry the install once.
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" \
        || $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
