#!/usr/bin/env bash
# `npm run demo`: installs what is missing, builds, and runs seed 001's stack (examples/reminders)
# with `berth up` in the foreground. Ctrl-C stops everything it started.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
cd "$BERTH_ROOT"
bash scripts/build.sh
# Outside the checkout: managed databases run as the postgres user, which must be able to
# traverse every parent directory (a checkout under /root could not be).
if [ "$(id -u)" -eq 0 ]; then default_dir=/var/lib/berth-demo; else default_dir="$HOME/.berth/demo"; fi
export BERTH_DATA_DIR="${BERTH_DATA_DIR:-$default_dir}"
# The seed's custom domains are not this machine's: no certificate is asked of Let's Encrypt for
# them unless the caller names a directory (they keep Berth's default certificate, and say so).
export BERTH_ACME_DIRECTORY="${BERTH_ACME_DIRECTORY:-off}"
echo "Berth demo: seed 001 (escalating reminders) from examples/reminders/berth.yaml"
echo "state in $BERTH_DATA_DIR; Ctrl-C stops the stack"
exec bin/berth up examples/reminders "$@"
