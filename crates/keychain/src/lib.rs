//! softphone-keychain
