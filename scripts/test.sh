#!/usr/bin/env bash
# `npm test`: install what is missing, then lint, typecheck, the dependency-direction check and
# every test. Three phases: unit and integration tests (next to the code, and test/ except e2e),
# the Swarm engine's tests one at a time, then the seed end-to-end suites (test/e2e/), two at a
# time — they build real apps (npm installs, Next.js and Vite builds) and would otherwise starve
# the timing-sensitive tests of CPU. Servers the tests need are started by the tests themselves
# on loopback.
set -uo pipefail
source "$(dirname "$0")/bootstrap.sh"
set +e
cd "$BERTH_ROOT"
bash scripts/check.sh || exit 1
echo "== build"
bash scripts/build.sh || exit 1

logs="$(mktemp -d)"
# The fresh-machine path: an empty npm cache for everything the tests install or build (the daemon's
# builds use their own cache under each test's temporary data dir), so a build that needs the
# registry runs the way it does on a new machine — a warm cache once hid a missing CA variable.
npm_config_cache="$(mktemp -d)"
export npm_config_cache
trap 'rm -rf "$logs" "$npm_config_cache"' EXIT
run_phase() { # name concurrency globs...
  local name="$1" concurrency="$2"
  shift 2
  echo "== tests: $name"
  node --test --test-reporter=spec --test-concurrency="$concurrency" --test-timeout=900000 "$@" 2>&1 | tee "$logs/$name.log"
  return "${PIPESTATUS[0]}"
}
run_phase unit-and-integration "${BERTH_TEST_CONCURRENCY:-4}" 'src/!(engine)/**/*.test.ts' 'src/*.test.ts' 'src/engine/*.test.ts' 'src/engine/!(swarm)/**/*.test.ts' 'test/!(e2e|swarm|dashboard)/**/*.test.ts'
rc1=$?
# The Swarm engine's tests run a whole dockerd, a registry and swarm tasks whose health checks
# are processes started inside the tasks: one file at a time, like the seeds below, so their
# timing does not compete with three other test files on two cores.
run_phase swarm 1 'src/engine/swarm/**/*.test.ts' 'test/swarm/**/*.test.ts'
rc3=$?
# The dashboard's browser tests (test/dashboard/) drive Chromium against a real daemon: e2e-like.
run_phase end-to-end "${BERTH_E2E_CONCURRENCY:-2}" 'test/e2e/**/*.test.ts' 'test/dashboard/**/*.test.ts'
rc2=$?

# One closing line over both phases (each phase prints its own runner summary above).
count() { grep -hE "^ℹ $1 [0-9]+" "$logs"/*.log | awk '{s += $3} END {print s + 0}'; }
echo "tests: $(count pass) passed, $(count fail) failed, $(count skipped) skipped"
[ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] && [ "$rc3" -eq 0 ]
