#!/usr/bin/env bash
# Builds the app once more as version 0.1.1 (the same code under another version) into
# $CARGO_TARGET_DIR/update-payload/softphone-0.1.1: the update the e2e suite's updater test
# installs. Run before the app's own build (the version is compiled in, so that build follows).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
TAURI_CONFIG='{"version":"0.1.1"}' cargo build --locked -p softphone --features custom-protocol
mkdir -p "$CARGO_TARGET_DIR/update-payload"
cp "$CARGO_TARGET_DIR/debug/softphone" "$CARGO_TARGET_DIR/update-payload/softphone-0.1.1"
