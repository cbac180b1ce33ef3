//! When the phone must register again at once, rather than wait for its websocket to be found
//! dead (the pings: 20 s of silence, then 5 s for an answer):
//! - the computer woke up ([`sleep`]: logind's `PrepareForSleep` on the system bus);
//! - its network changed ([`network`]: addresses came or went), e.g. Wi-Fi to wired, a VPN, a
//!   new DHCP lease, so the socket's path may be gone.

pub mod network;
pub mod sleep;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use network::{NetworkChange, NetworkWatchError, watch_network};
pub use sleep::{Power, SleepWatchError, watch_logind};
