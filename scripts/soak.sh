#!/usr/bin/env bash
# Issue 8's figures against the release build: `scripts/soak.sh soak|startup|deb`.
#   soak     SOAK_CALLS (500) calls through the window; PSS and idle CPU at 0/100/.../N; the call log
#   startup  STARTUP_RUNS (10) launches on fresh and on kept data: launch -> "Ready", median/min/max
#   deb      the release .deb (tauri CLI 2.12.5 from npm into /tmp/tauri-cli): size and .desktop file
# The UI goes to $CARGO_TARGET_DIR/soak-ui-dist, so ui/dist (the UI the e2e suite embeds) is left
# alone.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
suite="${1:-}"
ui_dist="$CARGO_TARGET_DIR/soak-ui-dist"
tauri_config="{\"build\":{\"frontendDist\":\"$ui_dist\",\"beforeBuildCommand\":\"\"}}"

build_release_app() {
  cargo fetch --locked
  (cd ui && trunk build --offline --release --dist "$ui_dist")
  TAURI_CONFIG="$tauri_config" cargo build --locked --release -p softphone --features custom-protocol
}

case "$suite" in
  soak | startup)
    build_release_app
    export SOFTPHONE_APP_BIN="$CARGO_TARGET_DIR/release/softphone"
    xvfb-run -a cargo test --locked -p softphone-e2e --test "$suite" -- --ignored --nocapture
    ;;
  deb)
    cli=/tmp/tauri-cli/node_modules/.bin/tauri
    [ -x "$cli" ] || npm install --prefix /tmp/tauri-cli @tauri-apps/cli@2.12.5
    (cd ui && trunk build --offline --release --dist "$ui_dist")
    (cd src-tauri && "$cli" build --bundles deb --config "$tauri_config")
    deb=$(ls -t "$CARGO_TARGET_DIR"/release/bundle/deb/*.deb | head -n 1)
    echo "deb: $deb, $(stat -c %s "$deb") bytes ($(du -h "$deb" | cut -f1))"
    dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
    desktop=$(dpkg-deb --contents "$deb" | grep -o '[^ ]*usr/share/applications/.*\.desktop$')
    echo "$desktop:"
    dpkg-deb --fsys-tarfile "$deb" | tar -xO "$desktop"
    ;;
  *)
    echo "usage: scripts/soak.sh soak|startup|deb (see README, Benchmarks)" >&2
    exit 2
    ;;
esac
