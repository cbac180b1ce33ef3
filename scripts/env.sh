# Sourced by the scripts: where cargo builds, so a reused machine stays warm across clean clones.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/softphone/target}"
export PATH="$HOME/.cargo/bin:$PATH"
# The npm tools pinned in package.json (binaryen's wasm-opt, which trunk runs for release builds).
export PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/node_modules/.bin:$PATH"
