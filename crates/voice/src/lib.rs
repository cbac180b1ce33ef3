//! Voice-band audio without I/O, shared by the native engine's media (`softphone-media`) and the
//! simulator's far end (`softphone-sim`), as `softphone-stun` is for STUN and TURN: one G.711,
//! one tone measurement, one DTMF table. The conformance suite checks the simulator against
//! Chromium, so it checks this code for the engine too.

pub mod analysis;
pub mod dtmf;
pub mod g711;
pub mod sdp;
