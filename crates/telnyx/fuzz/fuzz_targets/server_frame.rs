//! Any text Telnyx (or anything posing as it) sends the app over the signaling websocket: read it
//! as the native engine's client does (a frame, then its method's params). Nothing may panic.
//!
//! Run: `cd crates/telnyx/fuzz && mkdir -p corpus/server_frame && cargo +nightly fuzz run server_frame
//! corpus/server_frame seeds/server_frame -- -max_total_time=600` (new inputs go to corpus/).
#![no_main]

use libfuzzer_sys::fuzz_target;
use softphone_telnyx::rtc::frames::{ServerFrame, ServerRequest};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(frame) = serde_json::from_str::<ServerFrame>(text) else { return };
    if let Some(method) = frame.method {
        if let Ok(request) = ServerRequest::parse(&method, frame.params.unwrap_or_default()) {
            let _ = request.is_acked();
        }
    }
});
