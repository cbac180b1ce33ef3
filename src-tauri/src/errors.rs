//! Domain errors to the one IPC error shape `{code, message}`.

use softphone_core::call::Rejection;
use softphone_core::ipc::{ErrorCode, IpcError};
use softphone_core::phone::PhoneNumberError;
use softphone_keychain::KeychainError;
use softphone_telnyx::{TelnyxError, TelnyxErrorCode};

pub fn keychain(error: KeychainError) -> IpcError {
    let code = match error {
        KeychainError::Unavailable { .. } => ErrorCode::KeychainUnavailable,
        KeychainError::Locked { .. } => ErrorCode::KeychainLocked,
        KeychainError::Failed { .. } => ErrorCode::KeychainFailed,
    };
    IpcError::new(code, error.to_string())
}

pub fn telnyx(error: TelnyxError) -> IpcError {
    let code = match error.code() {
        TelnyxErrorCode::TelnyxAuthRejected => ErrorCode::TelnyxAuthRejected,
        TelnyxErrorCode::TelnyxUnavailable => ErrorCode::TelnyxUnavailable,
        TelnyxErrorCode::TelnyxTimedOut => ErrorCode::TelnyxTimedOut,
        TelnyxErrorCode::Offline => ErrorCode::Offline,
        TelnyxErrorCode::TelnyxRejected | TelnyxErrorCode::TelnyxNotFound => ErrorCode::TelnyxRejected,
        TelnyxErrorCode::TelnyxInvalidResponse => ErrorCode::TelnyxInvalidResponse,
        TelnyxErrorCode::InvalidArgument => ErrorCode::InvalidArgument,
    };
    IpcError::new(code, error.to_string())
}

pub fn number(error: PhoneNumberError) -> IpcError {
    IpcError::new(ErrorCode::InvalidNumber, error.to_string())
}

pub fn call(rejection: Rejection) -> IpcError {
    let code = match rejection {
        Rejection::UnknownCall(_) => ErrorCode::NotFound,
        Rejection::InvalidDigits(_) => ErrorCode::InvalidArgument,
        _ => ErrorCode::CallRefused,
    };
    let mut message = rejection.to_string();
    if let Some(first) = message.get(..1) {
        message = format!("{}{}.", first.to_uppercase(), &message[1..]);
    }
    IpcError::new(code, message)
}

pub fn internal(what: &str) -> IpcError {
    IpcError::new(
        ErrorCode::Internal,
        format!("{what} failed inside the app; restart it, and report it if it happens again."),
    )
}
