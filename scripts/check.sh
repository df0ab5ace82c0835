#!/usr/bin/env bash
# Static checks: lint, typecheck, dependency direction. Assumes bootstrap has run.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== lint";       npx biome check src test scripts bench examples dashboard
echo "== typecheck";  npx tsc -p tsconfig.json && npx tsc -p dashboard/tsconfig.json
echo "== deps";       node scripts/check-deps.ts
