//! softphone-telnyx
