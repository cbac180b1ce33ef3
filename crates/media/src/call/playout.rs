//! A call's link to the audio engine: the captured-audio queue the peer thread encodes from, and
//! the playout side (jitter buffer + decoders) the engine pulls from on the sound card's clock.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::audio::CallAudio;
use crate::dsp::concealment::G711Concealer;
use crate::dsp::g711::{alaw_decode, from_i16, ulaw_decode};
use crate::dsp::jitter::{JitterBuffer, JitterStats, Pop};
use crate::dsp::resample::StreamResampler;
use crate::{MediaError, SAMPLE_RATE};

/// The most captured audio kept for the peer thread before the oldest is dropped: 60 ms.
const CAPTURE_MAX: usize = 3 * 960;
/// Opus never produces frames longer than 120 ms.
const OPUS_MAX_FRAME: usize = 5_760;
/// The jitter buffer sheds delay above this.
const JITTER_MAX_MS: u32 = 200;

/// The codec of received audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecvCodec {
    Opus,
    Pcmu,
    Pcma,
}

impl RecvCodec {
    fn clock_rate(self) -> u32 {
        match self {
            RecvCodec::Opus => SAMPLE_RATE,
            RecvCodec::Pcmu | RecvCodec::Pcma => 8_000,
        }
    }
}

/// Decodes received frames in timestamp order, clocked by the engine.
pub(crate) struct Playout {
    jitter: JitterBuffer<Arc<[u8]>>,
    target_ms: u32,
    codec: Option<RecvCodec>,
    opus: opus::Decoder,
    upsample: StreamResampler,
    pending: VecDeque<f32>,
    decoded: Vec<f32>,
    narrow: Vec<f32>,
    /// G.711 has no concealment of its own.
    g711_concealer: G711Concealer,
    /// Counters of buffers replaced after a codec change.
    earlier: JitterStats,
}

impl Playout {
    pub(crate) fn new(target_ms: u32) -> Result<Playout, MediaError> {
        Ok(Playout {
            jitter: JitterBuffer::new(SAMPLE_RATE, target_ms, JITTER_MAX_MS),
            target_ms,
            codec: None,
            opus: opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono)
                .map_err(|e| MediaError::Codec(e.to_string()))?,
            upsample: StreamResampler::new(8_000, SAMPLE_RATE)?,
            pending: VecDeque::new(),
            decoded: vec![0.0; OPUS_MAX_FRAME],
            narrow: Vec::new(),
            g711_concealer: G711Concealer::default(),
            earlier: JitterStats::default(),
        })
    }

    /// Stores a received frame (RTP time in the codec's clock).
    pub(crate) fn push(&mut self, codec: RecvCodec, timestamp: u64, payload: Arc<[u8]>) {
        if self.codec != Some(codec) {
            let old = self.jitter.stats();
            self.earlier.accepted += old.accepted;
            self.earlier.concealed += old.concealed;
            self.earlier.recovered += old.recovered;
            self.earlier.late += old.late;
            self.jitter = JitterBuffer::new(codec.clock_rate(), self.target_ms, JITTER_MAX_MS);
            self.g711_concealer = G711Concealer::default();
            self.codec = Some(codec);
        }
        let duration = match codec {
            RecvCodec::Opus => opus::packet::get_nb_samples(&payload, SAMPLE_RATE).unwrap_or(960) as u64,
            RecvCodec::Pcmu | RecvCodec::Pcma => payload.len() as u64,
        };
        self.jitter.push(timestamp, duration, payload);
    }

    /// Drops everything buffered (hold): playout starts afresh.
    pub(crate) fn reset(&mut self) {
        self.jitter.reset();
        self.g711_concealer = G711Concealer::default();
        self.pending.clear();
    }

    /// Adds the next `mix.len()` samples at 48 kHz to `mix` (silence where there is nothing).
    pub(crate) fn mix_into(&mut self, mix: &mut [f32]) {
        while self.pending.len() < mix.len() {
            let Some(codec) = self.codec else { break };
            match self.jitter.pop() {
                Pop::Frame { payload, duration } => self.decode(codec, Some(&payload), duration),
                Pop::Lost { duration } => self.decode(codec, None, duration),
                Pop::Waiting => break,
            }
        }
        let available = self.pending.len().min(mix.len());
        for (slot, sample) in mix.iter_mut().zip(self.pending.drain(..available)) {
            *slot += sample;
        }
    }

    /// Decodes one frame, or conceals `duration` clock units when `payload` is `None`.
    fn decode(&mut self, codec: RecvCodec, payload: Option<&[u8]>, duration: u64) {
        match codec {
            RecvCodec::Opus => {
                let len = (duration as usize).min(OPUS_MAX_FRAME);
                let decoded = match payload {
                    Some(packet) => self.opus.decode_float(packet, &mut self.decoded[..len], false),
                    // Lost: the next packet, when it is here, carries this one again at a lower
                    // rate (in-band FEC, which we ask the far end for and send ourselves); else an
                    // empty packet asks libopus to conceal.
                    None => match self.jitter.following().cloned() {
                        Some(next) => {
                            let rebuilt = self.opus.decode_float(&next, &mut self.decoded[..len], true);
                            if rebuilt.is_ok() {
                                self.jitter.count_recovered();
                            }
                            rebuilt
                        }
                        None => self.opus.decode_float(&[], &mut self.decoded[..len], false),
                    },
                };
                match decoded {
                    Ok(samples) => self.pending.extend(self.decoded[..samples].iter().copied()),
                    Err(error) => {
                        tracing::debug!(%error, "opus frame not decoded");
                        self.pending.extend(std::iter::repeat_n(0.0, len));
                    }
                }
            }
            RecvCodec::Pcmu | RecvCodec::Pcma => {
                let decode = if codec == RecvCodec::Pcmu { ulaw_decode } else { alaw_decode };
                self.narrow.clear();
                match payload {
                    Some(bytes) => {
                        self.narrow.extend(bytes.iter().map(|&b| from_i16(decode(b))));
                        self.g711_concealer.good(&mut self.narrow);
                    }
                    None => self.g711_concealer.lost(duration as usize, &mut self.narrow),
                }
                self.decoded.clear();
                let mut wide = std::mem::take(&mut self.decoded);
                if let Err(error) = self.upsample.process(&self.narrow, &mut wide) {
                    tracing::debug!(%error, ?codec, "G.711 frame not resampled");
                }
                self.pending.extend(wide.iter().copied());
                wide.resize(OPUS_MAX_FRAME, 0.0);
                self.decoded = wide;
            }
        }
    }

    /// Jitter-buffer counters (across codec changes) and the current depth in ms.
    pub(crate) fn stats(&self) -> (JitterStats, u32) {
        let mut stats = self.jitter.stats();
        stats.accepted += self.earlier.accepted;
        stats.concealed += self.earlier.concealed;
        stats.recovered += self.earlier.recovered;
        stats.late += self.earlier.late;
        (stats, self.jitter.depth_ms())
    }
}

/// What the engine and the peer thread share for one call.
pub(crate) struct CallLink {
    capture: Mutex<VecDeque<f32>>,
    playout: Mutex<Playout>,
    held: AtomicBool,
    /// A greeting sent instead of the microphone (a voicemail drop), and how far it has played.
    greeting: Mutex<Option<(Arc<[f32]>, usize)>>,
    /// The greeting has been sent to its end.
    greeting_done: AtomicBool,
}

impl CallLink {
    pub(crate) fn new(jitter_target_ms: u32) -> Result<CallLink, MediaError> {
        Ok(CallLink {
            capture: Mutex::new(VecDeque::with_capacity(CAPTURE_MAX + 480)),
            playout: Mutex::new(Playout::new(jitter_target_ms)?),
            held: AtomicBool::new(false),
            greeting: Mutex::new(None),
            greeting_done: AtomicBool::new(false),
        })
    }

    /// Sends `samples` (48 kHz mono) instead of the microphone, from the next frame on.
    pub(crate) fn play_greeting(&self, samples: Arc<[f32]>) {
        self.greeting_done.store(false, Ordering::SeqCst);
        *self.greeting.lock().unwrap_or_else(PoisonError::into_inner) = Some((samples, 0));
    }

    /// Puts the greeting's next samples in `frame` (silence after its end) and says whether it
    /// did: `false` when no greeting was dropped, and the frame is the microphone's.
    pub(crate) fn greeting_frame(&self, frame: &mut [f32]) -> bool {
        let mut greeting = self.greeting.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((samples, position)) = greeting.as_mut() else { return false };
        let end = (*position + frame.len()).min(samples.len());
        let played = end - *position;
        frame[..played].copy_from_slice(&samples[*position..end]);
        frame[played..].fill(0.0);
        *position = end;
        // Kept after its end: the call sends silence until it is hung up, never the microphone
        // again (the agent is talking to the next lead by then).
        if *position >= samples.len() {
            self.greeting_done.store(true, Ordering::SeqCst);
        }
        true
    }

    /// Whether a greeting was sent to its end.
    pub(crate) fn greeting_finished(&self) -> bool {
        self.greeting_done.load(Ordering::SeqCst)
    }

    /// Takes the next `out.len()` captured samples if that many are queued.
    pub(crate) fn take_captured(&self, out: &mut [f32]) -> bool {
        let mut capture = self.capture.lock().unwrap_or_else(PoisonError::into_inner);
        if capture.len() < out.len() {
            return false;
        }
        let len = out.len();
        for (slot, sample) in out.iter_mut().zip(capture.drain(..len)) {
            *slot = sample;
        }
        true
    }

    /// Drops queued capture (before the connection is up).
    pub(crate) fn discard_captured(&self) {
        self.capture.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    pub(crate) fn playout(&self) -> MutexGuard<'_, Playout> {
        self.playout.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_held(&self, held: bool) {
        self.held.store(held, Ordering::SeqCst);
        self.playout().reset();
    }

    pub(crate) fn is_held(&self) -> bool {
        self.held.load(Ordering::SeqCst)
    }
}

impl CallAudio for CallLink {
    fn captured(&self, frame: &[f32]) {
        let mut capture = self.capture.lock().unwrap_or_else(PoisonError::into_inner);
        capture.extend(frame.iter().copied());
        let excess = capture.len().saturating_sub(CAPTURE_MAX);
        capture.drain(..excess);
    }

    fn mix_playout(&self, mix: &mut [f32]) -> bool {
        if self.is_held() {
            return false;
        }
        self.playout().mix_into(mix);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::analysis::{decimate_by_6, dominant_hz, level_at_hz_dbfs, level_dbfs, sine};
    use crate::dsp::g711::{to_i16, ulaw_encode};

    #[test]
    fn a_dropped_greeting_replaces_the_microphone_to_its_end_and_then_silence_never_the_microphone() {
        let link = CallLink::new(40).unwrap();
        let mut frame = vec![0.5; 480];
        assert!(!link.greeting_frame(&mut frame), "no greeting: the microphone's frame");
        assert_eq!(frame, vec![0.5; 480]);
        // 2.5 frames of greeting.
        let greeting: Arc<[f32]> = (0..1_200).map(|i| i as f32 / 10_000.0).collect::<Vec<_>>().into();
        link.play_greeting(Arc::clone(&greeting));
        assert!(link.greeting_frame(&mut frame) && frame[..] == greeting[..480]);
        assert!(link.greeting_frame(&mut frame) && frame[..] == greeting[480..960]);
        assert!(!link.greeting_finished());
        assert!(link.greeting_frame(&mut frame));
        assert_eq!((&frame[..240], &frame[240..]), (&greeting[960..], &[0.0; 240][..]), "the end, then silence");
        assert!(link.greeting_finished());
        frame.fill(0.5);
        assert!(link.greeting_frame(&mut frame) && frame.iter().all(|&s| s == 0.0), "silence after the end");
    }

    #[test]
    fn pcmu_frames_play_back_at_48_khz_with_their_tone() {
        let mut playout = Playout::new(40).unwrap();
        let tone = sine(700.0, 0.2, 8_000, 1.0);
        for (index, frame) in tone.chunks(160).enumerate() {
            let bytes: Vec<u8> = frame.iter().map(|&s| ulaw_encode(to_i16(s))).collect();
            playout.push(RecvCodec::Pcmu, index as u64 * 160, bytes.into());
        }
        let mut out = vec![0.0; 48_000];
        for chunk in out.chunks_mut(480) {
            playout.mix_into(chunk);
        }
        let steady = &out[4_800..40_000];
        assert!((level_dbfs(steady) - level_dbfs(&tone)).abs() < 0.5, "{}", level_dbfs(steady));
        assert!((dominant_hz(&decimate_by_6(steady), 8_000).unwrap() - 700.0).abs() < 2.0);
    }

    #[test]
    fn opus_loss_is_concealed_not_silent() {
        let mut encoder = opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip).unwrap();
        let mut playout = Playout::new(40).unwrap();
        let tone = sine(440.0, 0.2, SAMPLE_RATE, 0.4);
        for (index, frame) in tone.chunks(960).enumerate() {
            let packet = encoder.encode_vec_float(frame, 1_500).unwrap();
            // Frame 10 is lost.
            if index != 10 {
                playout.push(RecvCodec::Opus, index as u64 * 960, packet.into());
            }
        }
        let mut out = vec![0.0; 960 * 20];
        for chunk in out.chunks_mut(480) {
            playout.mix_into(chunk);
        }
        let (stats, _) = playout.stats();
        assert_eq!(stats.concealed, 1);
        assert!(level_dbfs(&out[9_600..10_560]) > -30.0, "the concealed frame is not silence");
    }

    #[test]
    fn a_lost_pcmu_frame_is_filled_with_the_voice_before_it_not_silence() {
        let mut playout = Playout::new(40).unwrap();
        let tone = sine(200.0, 0.2, 8_000, 0.5);
        for (index, frame) in tone.chunks(160).enumerate() {
            if index != 10 {
                let bytes: Vec<u8> = frame.iter().map(|&s| ulaw_encode(to_i16(s))).collect();
                playout.push(RecvCodec::Pcmu, index as u64 * 160, bytes.into());
            }
        }
        let mut out = vec![0.0; 48_000 / 2];
        for chunk in out.chunks_mut(480) {
            playout.mix_into(chunk);
        }
        assert_eq!(playout.stats().0.concealed, 1);
        // Frame 10 at 48 kHz (the resampler's delay is a few samples).
        let lost = &out[9_600 + 240..10_560 - 240];
        assert!((level_dbfs(lost) - level_dbfs(&tone)).abs() < 3.0, "{} dBFS", level_dbfs(lost));
    }

    /// 440 Hz for ten frames, then 1 kHz (a new sound starts in the packet that is lost).
    fn a_new_sound_in_frame_10() -> Vec<Vec<u8>> {
        let mut encoder = opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip).unwrap();
        encoder.set_bitrate(opus::Bitrate::Bits(24_000)).unwrap();
        encoder.set_inband_fec(true).unwrap();
        encoder.set_packet_loss_perc(10).unwrap();
        let low = sine(440.0, 0.3, SAMPLE_RATE, 0.4);
        let high = sine(1_000.0, 0.3, SAMPLE_RATE, 0.4);
        (0..20)
            .map(|index| {
                let tone = if index < 10 { &low } else { &high };
                encoder.encode_vec_float(&tone[index * 960..(index + 1) * 960], 1_500).unwrap()
            })
            .collect()
    }

    #[test]
    fn a_lost_opus_packet_is_rebuilt_from_the_next_ones_fec_not_guessed() {
        let packets = a_new_sound_in_frame_10();
        let mut playout = Playout::new(40).unwrap();
        for (index, packet) in packets.iter().enumerate() {
            if index != 10 {
                playout.push(RecvCodec::Opus, index as u64 * 960, packet.clone().into());
            }
        }
        let mut out = vec![0.0; 960 * 20];
        for chunk in out.chunks_mut(480) {
            playout.mix_into(chunk);
        }
        let (stats, _) = playout.stats();
        assert_eq!((stats.concealed, stats.recovered), (1, 1));
        // The second half of the lost frame (past the codec's delay): the new sound is heard.
        let lost = &out[10 * 960 + 480..11 * 960];
        let (new, old) = (level_at_hz_dbfs(lost, SAMPLE_RATE, 1_000.0), level_at_hz_dbfs(lost, SAMPLE_RATE, 440.0));
        assert!(new > old + 6.0, "rebuilt: 1 kHz at {new:.1} dBFS, 440 Hz at {old:.1} dBFS");

        // Guessing instead (libopus's concealment, as without the next packet) carries the old
        // sound on: what the FEC saves.
        let mut decoder = opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono).unwrap();
        let mut guessed = vec![0.0; 960 * 11];
        for (index, frame) in guessed.chunks_mut(960).enumerate() {
            let packet: &[u8] = if index == 10 { &[] } else { &packets[index] };
            decoder.decode_float(packet, frame, false).unwrap();
        }
        let lost = &guessed[10 * 960 + 480..];
        let (new, old) = (level_at_hz_dbfs(lost, SAMPLE_RATE, 1_000.0), level_at_hz_dbfs(lost, SAMPLE_RATE, 440.0));
        assert!(old > new, "guessed: 1 kHz at {new:.1} dBFS, 440 Hz at {old:.1} dBFS");
    }

    #[test]
    fn two_opus_packets_lost_in_a_row_conceal_the_first_and_rebuild_the_second() {
        let packets = a_new_sound_in_frame_10();
        let mut playout = Playout::new(40).unwrap();
        for (index, packet) in packets.iter().enumerate() {
            if index != 9 && index != 10 {
                playout.push(RecvCodec::Opus, index as u64 * 960, packet.clone().into());
            }
        }
        let mut out = vec![0.0; 960 * 20];
        for chunk in out.chunks_mut(480) {
            playout.mix_into(chunk);
        }
        let (stats, _) = playout.stats();
        assert_eq!((stats.concealed, stats.recovered), (2, 1), "packet 11 carries 10's redundancy, not 9's");
        assert!(level_dbfs(&out[9 * 960..11 * 960]) > -30.0, "neither lost frame is silence");
    }
}
