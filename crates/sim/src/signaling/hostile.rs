//! Hostile mode (`POST /control/hostile {"enabled": true}`, or `--hostile`): the simulator keeps
//! speaking the protocol, but every frame it sends comes with noise a client must survive.
//!
//! After each real frame, in turn (so a short call sees every kind):
//! 1. [`Noise::Malformed`]: the frame cut in half and followed by garbage: not JSON.
//! 2. [`Noise::Duplicate`]: the same frame again, same id and all.
//! 3. [`Noise::Stale`]: a frame sent earlier on this connection (one of the last
//!    [`REPLAY_WINDOW`]), now out of order.
//! 4. [`Noise::Oversized`]: a well-formed notification with an unknown method and 1.5 MiB of
//!    padding, over the 1 MiB a frame should ever need.
//! 5. [`Noise::Unknown`]: well-formed frames the protocol does not have: an unknown method about a
//!    call that does not exist, and a result for a request nobody sent.
//!
//! The real frames still go out, each once and in order, before their noise; a truthful client
//! ends every call exactly as it would without the noise.

use std::collections::VecDeque;

/// How many recent frames a stale replay picks from.
pub const REPLAY_WINDOW: usize = 4;

/// Size of the oversized frame's padding, in bytes (1.5 MiB).
pub const OVERSIZED_PADDING_BYTES: usize = 1536 * 1024;

/// The kinds of noise, in the order they follow real frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noise {
    Malformed,
    Duplicate,
    Stale,
    Oversized,
    Unknown,
}

const ORDER: [Noise; 5] = [Noise::Malformed, Noise::Duplicate, Noise::Stale, Noise::Oversized, Noise::Unknown];

/// One connection's noise maker: what it sent recently, and which noise comes next.
#[derive(Debug, Default)]
pub(crate) struct Hostility {
    sent: VecDeque<String>,
    frames: u64,
}

impl Hostility {
    /// `frame` and the noise that follows it.
    pub(crate) fn frames_for(&mut self, frame: String) -> Vec<String> {
        let noise = ORDER[(self.frames % ORDER.len() as u64) as usize];
        self.frames += 1;
        let mut out = vec![frame.clone()];
        match noise {
            Noise::Malformed => {
                let cut = frame.char_indices().nth(frame.chars().count() / 2).map_or(0, |(at, _)| at);
                out.push(format!("{}}}{{\u{0}not json", &frame[..cut]));
            }
            Noise::Duplicate => out.push(frame.clone()),
            Noise::Stale => {
                // The oldest of the window: the furthest out of order.
                if let Some(stale) = self.sent.front() {
                    out.push(stale.clone());
                }
            }
            Noise::Oversized => {
                out.push(format!(
                    r#"{{"jsonrpc":"2.0","method":"telnyx_rtc.noise","params":{{"padding":"{}"}}}}"#,
                    "x".repeat(OVERSIZED_PADDING_BYTES)
                ));
            }
            Noise::Unknown => {
                out.push(
                    r#"{"jsonrpc":"2.0","id":"hostile-1","method":"telnyx_rtc.bogus","params":{"callID":"00000000-0000-4000-8000-000000000000","dialogParams":{"callID":"00000000-0000-4000-8000-000000000000"}}}"#
                        .to_owned(),
                );
                out.push(
                    r#"{"jsonrpc":"2.0","id":"no-such-request","result":{"method":"telnyx_rtc.bogus"}}"#.to_owned(),
                );
            }
        }
        if self.sent.len() == REPLAY_WINDOW {
            self.sent.pop_front();
        }
        self.sent.push_back(frame);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_json(text: &str) -> bool {
        serde_json::from_str::<serde_json::Value>(text).is_ok()
    }

    #[test]
    fn every_real_frame_goes_out_once_in_order_with_each_kind_of_noise_in_turn() {
        let mut hostility = Hostility::default();
        let real: Vec<String> = (0..10).map(|i| format!(r#"{{"jsonrpc":"2.0","id":{i},"result":{{}}}}"#)).collect();
        let mut sent = Vec::new();
        let mut firsts = Vec::new();
        for frame in &real {
            let out = hostility.frames_for(frame.clone());
            assert_eq!(&out[0], frame, "the real frame first");
            firsts.push(out[0].clone());
            sent.push(out);
        }
        assert_eq!(firsts, real);
        // 1: malformed.
        assert!(!is_json(&sent[0][1]));
        // 2: duplicate.
        assert_eq!(sent[1][1], real[1]);
        // 3: stale: the oldest of the last frames (here the first one).
        assert_eq!(sent[2][1], real[0]);
        // 4: oversized but well-formed.
        assert!(sent[3][1].len() > OVERSIZED_PADDING_BYTES && is_json(&sent[3][1]));
        // 5: unknown method and an unexpected result, both well-formed.
        assert!(sent[4][1..].iter().all(|frame| is_json(frame)) && sent[4].len() == 3);
        // The window slides: the second stale replay is 4 frames back.
        assert_eq!(sent[7][1], real[3]);
    }

    #[test]
    fn a_frame_with_multibyte_characters_is_cut_on_a_character_boundary() {
        let mut hostility = Hostility::default();
        let out = hostility.frames_for(r#"{"params":{"display_name":"Zoë Ångström 日本"}}"#.to_owned());
        assert!(!is_json(&out[1]));
    }
}
