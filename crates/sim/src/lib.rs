//! softphone-sim
