#!/usr/bin/env bash
# `npm test`: install what is missing, then lint, typecheck, the dependency-direction check and
# every test (unit next to the code, end-to-end under test/). Servers the tests need are started
# by the tests themselves on loopback.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
cd "$BERTH_ROOT"
bash scripts/check.sh
echo "== build";  bash scripts/build.sh
echo "== tests"
# Many tests wait on real servers rather than CPU, so run more files at once than cores.
exec node --test --test-reporter=spec --test-concurrency="${BERTH_TEST_CONCURRENCY:-4}" \
  --test-timeout=600000 'src/**/*.test.ts' 'test/**/*.test.ts'
