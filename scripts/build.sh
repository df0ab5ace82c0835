#!/usr/bin/env bash
# Compiles src/ to dist/ (plain JavaScript: the daemon then needs no type stripper at run time,
# which saves ~20 MB of memory) and copies the non-TypeScript assets next to it.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist.tmp
npx tsc -p tsconfig.build.json --outDir dist.tmp
(cd src && find . -type f ! -name '*.ts' ! -path '*/testdata/*' -print0 | xargs -0 -I{} cp --parents {} ../dist.tmp/)
rm -rf dist && mv dist.tmp dist
touch dist/.built
