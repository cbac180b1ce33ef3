//! The UI's library part, shared by the app (`src/main.rs`) and the engine harness
//! (`src/bin/engine-harness.rs`, driven by the conformance suite).

pub mod engine;
