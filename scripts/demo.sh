#!/usr/bin/env bash
# `npm run demo`: installs what is missing, builds, and runs seed 001's stack (examples/reminders)
# with `berth up` in the foreground. Ctrl-C stops everything it started.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
cd "$BERTH_ROOT"
bash scripts/build.sh
export BERTH_DATA_DIR="${BERTH_DATA_DIR:-$BERTH_ROOT/.berth/demo}"
echo "Berth demo: seed 001 (escalating reminders) from examples/reminders/berth.yaml"
echo "state in $BERTH_DATA_DIR; Ctrl-C stops the stack"
exec bin/berth up examples/reminders "$@"
