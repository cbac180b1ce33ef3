//! The shell's own failure, in the one IPC error shape `{code, message}`. Domain errors convert
//! with `From` in their crates (core: a refused call event, a phone number, a disposition; the
//! store, Telnyx, the keychain), so commands say `?`.

use softphone_core::ipc::{ErrorCode, IpcError};

pub fn internal(what: &str) -> IpcError {
    IpcError::new(
        ErrorCode::Internal,
        format!("{what} failed inside the app; restart it, and report it if it happens again."),
    )
}
