#!/usr/bin/env bash
# Compiles src/ to dist/ (plain JavaScript: the daemon then needs no type stripper at run time,
# which saves ~20 MB of memory), copies the non-TypeScript assets next to it, and builds the dashboard.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist.tmp
npx tsc -p tsconfig.build.json --outDir dist.tmp
(cd src && find . -type f ! -name '*.ts' ! -path '*/testdata/*' -print0 | xargs -0 -I{} cp --parents {} ../dist.tmp/)
# The dashboard (issue 21): a Vite build into dist/dashboard, served by the daemon under /dashboard/.
npx vite build dashboard --outDir ../dist.tmp/dashboard --emptyOutDir --logLevel warn
rm -rf dist && mv dist.tmp dist
touch dist/.built
