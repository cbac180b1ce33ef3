//! The softphone's domain, free of I/O.
//!
//! Everything here compiles for `wasm32-unknown-unknown` (the Yew UI) and for the native shell,
//! so the types that cross the IPC boundary are defined once and cannot drift apart.

pub mod call;
pub mod call_log;
pub mod demo_leads;
pub mod dialing;
pub mod disposition;
pub mod ipc;
pub mod lead;
pub mod phone;
pub mod secret;
pub mod settings;
pub mod updates;
pub mod window_life;
