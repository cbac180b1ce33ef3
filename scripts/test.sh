#!/usr/bin/env bash
# Sets up what is missing, then runs every check and suite. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
started=$(date +%s)
step() { printf '\n==> [%4ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }

step "set-up"
./scripts/setup.sh
cargo fetch --locked
# Cargo shares artifacts between clones in one target directory (its fingerprints do not hold the
# clone's path), so code that compiled in `env!("CARGO_MANIFEST_DIR")` would name the other clone's
# files. A build from another clone than the last recompiles those crates.
built_for="$CARGO_TARGET_DIR/.built-for-clone"
if [ "$(cat "$built_for" 2>/dev/null)" != "$PWD" ]; then
  grep -rl CARGO_MANIFEST_DIR --include=*.rs crates src-tauri ui e2e conformance | xargs touch
  mkdir -p "$CARGO_TARGET_DIR" && echo "$PWD" > "$built_for"
fi
# Incremental caches only grow (37 GB after two weeks of sessions filled the disk mid-run): past
# 15 GB they go, and the workspace's own crates compile once from scratch.
incremental="$CARGO_TARGET_DIR/debug/incremental"
if [ -d "$incremental" ] && [ "$(du -s --block-size=1G "$incremental" | cut -f1)" -gt 15 ]; then
  echo "removing $incremental ($(du -sh "$incremental" | cut -f1))"
  rm -rf "$incremental"
fi

step "format"
cargo fmt --all --check

# Native crates, tested one package at a time (a workspace-wide run unifies features and rebuilds).
NATIVE_PACKAGES=(softphone-core softphone-stun softphone-voice softphone-dialer softphone-store softphone-keychain softphone-sim softphone-telnyx softphone-media softphone-release
  softphone-notify softphone-wake softphone-team softphone-native-engine softphone)

step "clippy: native crates"
cargo clippy --locked "${NATIVE_PACKAGES[@]/#/--package=}" -p softphone-conformance -p softphone-e2e --all-targets \
  -- -D warnings
step "clippy: ui on wasm32"
cargo clippy --locked -p softphone-ui --target wasm32-unknown-unknown -- -D warnings

step "unit and integration tests (real SQLite files, the simulator, a private gnome-keyring, a private PostgreSQL)"
for package in "${NATIVE_PACKAGES[@]}"; do
  cargo test --locked -p "$package"
done
cargo test --locked -p softphone-ui

step "conformance: the real @telnyx/webrtc SDK in headless Chromium against the simulator, and the UI's webview engine"
# (tests/webview_engine.rs first builds ui/engine-harness.html with trunk into $CARGO_TARGET_DIR/engine-harness-dist)
cargo test --locked -p softphone-conformance -- --test-threads=1

step "build: ui (trunk, offline, release with wasm-opt: what ships), the app as 0.1.1 (the updater test's payload) and the app with the ui embedded"
(cd ui && trunk build --offline --release)
./scripts/build-update-payload.sh
cargo build --locked -p softphone --features custom-protocol

step "end to end: the real window under Xvfb via tauri-driver"
rm -rf target/e2e-shots
# No backtraces: a failing e2e test's message carries the window's state and log tail, and the
# CI record keeps only the end of the output (a backtrace once pushed the message out of it).
RUST_BACKTRACE=0 SOFTPHONE_APP_BIN="$CARGO_TARGET_DIR/debug/softphone" \
  xvfb-run -a -s "-screen 0 1280x800x24" cargo test --locked -p softphone-e2e -- --test-threads=1

step "all green; screenshots in target/e2e-shots/"
