//! The shell's one clock: wall time as the call machine and the store count it.

use std::time::{SystemTime, UNIX_EPOCH};

use softphone_core::call::UnixMillis;

/// Now, in milliseconds since the Unix epoch.
pub fn now() -> UnixMillis {
    UnixMillis(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64))
}
