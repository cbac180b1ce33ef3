//! Signal processing: analysis, G.711, resampling, echo cancellation, generated tones, the jitter
//! buffer.

pub mod echo;
pub mod jitter;
pub mod resample;
pub mod tones;

pub use softphone_voice::{analysis, g711};
