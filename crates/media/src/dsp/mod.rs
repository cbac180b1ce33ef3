//! Signal processing: analysis, G.711 and its loss concealment, resampling, echo cancellation,
//! generated tones, the jitter buffer.

pub mod concealment;
pub mod echo;
pub mod jitter;
pub mod resample;
pub mod tones;

pub use softphone_voice::{analysis, g711};
