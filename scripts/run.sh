#!/usr/bin/env bash
# Sets up what is missing, builds the UI and starts the app with the UI embedded.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
./scripts/setup.sh
cargo fetch --locked
(cd ui && trunk build --offline)
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "run.sh: no display (DISPLAY/WAYLAND_DISPLAY unset). On a headless machine: xvfb-run -a scripts/run.sh" >&2
  exit 2
fi
exec cargo run --locked -p softphone --features custom-protocol -- "$@"
