#!/usr/bin/env bash
# Idempotent set-up: installs only what is missing, only from the package registries
# (Debian apt, crates.io, npm). Safe to run again; fast when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
TAURI_DRIVER_VERSION=2.1.0
# wasm-bindgen-cli must equal the wasm-bindgen crate in Cargo.lock, or trunk (offline) refuses to build.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)

APT_PACKAGES=(
  build-essential pkg-config curl file libssl-dev
  libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev
  xvfb xauth webkit2gtk-driver imagemagick xdotool x11-utils
  dbus libdbus-1-dev gnome-keyring libsecret-tools
  chromium chromium-driver
  libopus-dev libasound2-dev
  python3-dbus python3-gi
  coturn openssl
  postgresql
)

log() { printf '[setup] %s\n' "$*" >&2; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup: adding wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

have_version() { command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -q " $2\$\| $2 \| $2$"; }

if ! have_version trunk "$TRUNK_VERSION"; then
  log "cargo: installing trunk $TRUNK_VERSION (about 11 minutes on 2 cores, once per machine)"
  cargo install --locked "trunk@$TRUNK_VERSION"
fi
if ! have_version wasm-bindgen "$WASM_BINDGEN_VERSION"; then
  log "cargo: installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (not --locked: see LEARNINGS.md)"
  cargo install --force wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
# tauri-driver has no --version: ask cargo what it installed.
if ! cargo install --list | grep -qx "tauri-driver v$TAURI_DRIVER_VERSION:"; then
  log "cargo: installing tauri-driver $TAURI_DRIVER_VERSION"
  cargo install --locked "tauri-driver@$TAURI_DRIVER_VERSION"
fi

if [ -f package-lock.json ]; then
  stamp=node_modules/.installed-from-lock.sha256
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "npm: installing the pinned packages from package-lock.json"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > "$stamp"
  fi
fi
log "ready"
