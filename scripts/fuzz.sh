#!/usr/bin/env bash
# Issue 8's fuzzing: each cargo-fuzz target for FUZZ_SECONDS (default 600), one after the other.
#   scripts/fuzz.sh                 all five targets
#   scripts/fuzz.sh server_frame    one of them
# Needs the nightly toolchain (rustup, from the registries here) and cargo-fuzz (installed from
# crates.io if missing). New inputs go to each fuzz/corpus/, crashes to each fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-600}"
targets=(
  "crates/telnyx/fuzz server_frame"    # what the app reads from Telnyx's websocket
  "crates/sim/fuzz signaling_frame"    # what the simulator reads from a client
  "crates/store/fuzz csv_import"       # a CSV file of leads
  "crates/core/fuzz phone_parse"       # a typed or imported phone number
  "crates/stun/fuzz stun_message"      # STUN/TURN from a TURN server, or to the simulator's
)
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
for entry in "${targets[@]}"; do
  read -r dir target <<<"$entry"
  if [ -n "${1:-}" ] && [ "$1" != "$target" ]; then continue; fi
  echo "==> $target for ${seconds}s ($dir)"
  (cd "$dir" && mkdir -p "corpus/$target" &&
    cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- -max_total_time="$seconds" -print_final_stats=1)
done
