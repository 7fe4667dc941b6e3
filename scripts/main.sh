#!/usr/bin/env bash
# The main job: sets up what is missing (scripts/setup.sh: build libraries and the Debian font
# packages), builds the release binary, renders the font-glyph dataset into data/font-glyphs if it
# is not there yet (scripts/prepare-fonts.sh, a few seconds), then runs `dml train` with its
# defaults: characters as classes and fonts as samples, training on Latin, digits and Greek,
# evaluated on the held-out Cyrillic letters; the small CNN (64-d), the angular loss with hard
# negative pair mining and Symmetrical Synthesis, Adam 1e-3, 300 iterations of 64 x 2 (README,
# "Quick start", has the measured figures and why).
# It writes runs/fonts (replacing an earlier run there) with its HTML report, whose path is
# printed last. Extra arguments go to `dml train` (later options win).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product dml
[ -f data/font-glyphs/manifest.json ] || DML=.build/release/dml bash scripts/prepare-fonts.sh data/font-glyphs
exec .build/release/dml train --output runs/fonts --overwrite "$@"
