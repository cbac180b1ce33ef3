//! Signal processing: analysis, G.711, resampling, echo cancellation, generated tones, the jitter
//! buffer.

pub mod analysis;
pub mod echo;
pub mod g711;
pub mod jitter;
pub mod resample;
pub mod tones;
