//! Any text a client sends over the signaling websocket: classify it as the simulator does, then
//! read its params as every request type the simulator accepts. Nothing may panic.
//!
//! Run: `cd crates/sim/fuzz && mkdir -p corpus/signaling_frame && cargo +nightly fuzz run signaling_frame
//! corpus/signaling_frame seeds/signaling_frame -- -max_total_time=60` (new inputs go to corpus/).
#![no_main]

use libfuzzer_sys::fuzz_target;
use softphone_sim::signaling::frames::{CallParams, Incoming, LoginParams, classify};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(Incoming::Request { params, .. }) = classify(text) {
        let _ = serde_json::from_value::<CallParams>(params.clone());
        let _ = serde_json::from_value::<LoginParams>(params);
    }
});
