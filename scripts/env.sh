# Sourced by the scripts: where cargo builds, so a reused machine stays warm across clean clones.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/softphone/target}"
export PATH="$HOME/.cargo/bin:$PATH"
