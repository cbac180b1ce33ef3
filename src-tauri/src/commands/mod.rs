//! The commands the webview may invoke, by area. Each body delegates and maps; no domain logic here.

pub mod account;
pub mod call_log;
pub mod calls;
pub mod desktop;
pub mod dialing;
pub mod leads;
pub mod numbers;
pub mod recordings;
pub mod settings;
pub mod team;
pub mod updates;
pub mod voicemail;
