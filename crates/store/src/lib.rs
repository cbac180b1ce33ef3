//! softphone-store
