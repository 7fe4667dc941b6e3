#!/usr/bin/env bash
# Renders the font-glyph dataset of the main job (dml train --dataset fonts) into data/font-glyphs,
# or into the folder given as the first argument: every .ttf/.otf file of the Debian packages in
# scripts/font-packages.txt (installed by scripts/setup.sh), in sorted order, through `dml glyphs`
# (FreeType; docs/data.md, "Font glyphs"). The folder records every font file with its package and
# version (fonts.tsv) and the rendering parameters, FreeType's version and what was skipped
# (manifest.json). Further arguments go to `dml glyphs`. Takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-data/font-glyphs}"
[ $# -gt 0 ] && shift
dml="${DML:-.build/release/dml}"
[ -x "$dml" ] || swift build -c release --product dml
list="$(mktemp)"
trap 'rm -f "$list"' EXIT
for p in $(grep -v '^#' scripts/font-packages.txt); do
    version="$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null)" \
        || { echo "prepare-fonts: the package $p is not installed; run scripts/setup.sh" >&2; exit 1; }
    dpkg-query -L "$p" | grep -Ei '\.(ttf|otf)$' | while read -r f; do
        if [ -f "$f" ] && [ ! -L "$f" ]; then printf '%s\t%s\t%s\n' "$f" "$p" "$version"; fi
    done
done | LC_ALL=C sort -u > "$list"
echo "prepare-fonts: $(wc -l < "$list") font files from $(grep -vc '^#' scripts/font-packages.txt) packages -> $out" >&2
"$dml" glyphs --font-list "$list" --out "$out" "$@"
