#!/usr/bin/env bash
# Regenerates every platform icon from one drawing (ImageMagick + the Tauri CLI from npm).
set -euo pipefail
cd "$(dirname "$0")"
phone='M6.6 10.8c1.4 2.8 3.8 5.1 6.6 6.6l2.2-2.2c.3-.3.7-.4 1-.2 1.1.4 2.3.6 3.6.6.6 0 1 .4 1 1V20c0 .6-.4 1-1 1C10.6 21 3 13.4 3 4c0-.6.4-1 1-1h3.5c.6 0 1 .4 1 1 0 1.3.2 2.5.6 3.6.1.3 0 .7-.2 1L6.6 10.8z'
work=$(mktemp -d)
/usr/bin/convert -size 1024x1024 xc:none -fill '#2d6cdf' -draw 'roundrectangle 40,40 984,984 200,200' \
  -fill white -draw "translate 180,180 scale 28,28 path '$phone'" "PNG32:$work/source.png"
(cd "$work" && npm init -y >/dev/null && npm install -D @tauri-apps/cli@2.12.5 --no-audit --no-fund --loglevel=error \
  && npx tauri icon source.png -o out >/dev/null)
cp "$work"/out/*.png "$work"/out/icon.icns "$work"/out/icon.ico .
rm -rf "$work"
