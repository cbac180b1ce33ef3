//! The simulator's media peer: a real WebRTC audio endpoint (str0m) on 127.0.0.1.
//!
//! A [`MediaSession`] is the far end of one call. It answers the softphone's offer
//! ([`MediaSession::answer`]) or makes its own ([`MediaSession::offer`] + [`MediaSession::accept_answer`]),
//! non-trickle: the SDP it returns carries its one `127.0.0.1` UDP host candidate. Once ICE and
//! DTLS are up it sends a [`Playback`] in 20 ms frames and measures what it receives ([`Heard`]).
//!
//! Codecs: Opus at 48 kHz (preferred) and PCMU (G.711 µ-law, 8 kHz), plus RFC 4733
//! telephone-event both ways. Each session runs its own thread; dropping the session stops it.
//!
//! ```no_run
//! use softphone_sim::media::{MediaSession, Playback};
//! # fn demo() -> Result<(), softphone_sim::media::MediaError> {
//! let (far_end, offer) = MediaSession::offer(Playback::Tone { hz: 880.0 })?;
//! // ... send `offer` in telnyx_rtc.invite, get the client's answer back ...
//! # let answer = String::new();
//! far_end.accept_answer(&answer)?;
//! println!("{:?}", far_end.heard()); // dominant_hz ≈ what the client's microphone plays
//! # Ok(()) }
//! ```

use softphone_voice::analysis;
mod audio;
mod peer;
mod room;

pub use room::{Room, Voice};

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use audio::Source;
use peer::{Command, Peer};

/// The window [`MediaSession::heard`] measures level and frequency over.
pub const HEARD_WINDOW: Duration = Duration::from_millis(500);

/// How long [`MediaSession::accept_answer`] waits for the session's thread.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// What the media peer sends to the softphone.
#[derive(Debug, Clone, PartialEq)]
pub enum Playback {
    /// Silent frames (RTP keeps flowing, as from a muted phone).
    Silence,
    /// A sine of `hz` at an RMS level of -20 dBFS (peak amplitude 0.14 of full scale).
    Tone {
        /// Frequency in Hz.
        hz: f32,
    },
    /// A 16-bit PCM WAV file (any rate, mono or stereo: mixed to mono, resampled linearly),
    /// looped. [`MediaSession::answer`] and [`MediaSession::offer`] fail with
    /// [`MediaError::Wav`] if it cannot be read; [`MediaSession::set_playback`] then plays silence.
    Wav(PathBuf),
    /// Decoded audio (48 kHz mono, from [`MediaSession::decode_wav`]), played `loops` times
    /// (`None`: for ever), then silence.
    Audio {
        /// The samples.
        samples: std::sync::Arc<[f32]>,
        /// How many times; at least once.
        loops: Option<u32>,
    },
    /// Sends back what it receives, a frame or two late.
    Echo,
    /// Sends what another session put into the pipe ([`MediaSession::relay_into`]): the far end
    /// of one leg of a bridged call speaks with the voice of the other leg's client.
    Relay(AudioPipe),
    /// An answering machine: a greeting ([`VOICEMAIL_GREETING`] of a 480 Hz tone), a beep
    /// ([`VOICEMAIL_BEEP`] at 1 kHz), then silence while it records what it hears
    /// ([`MediaSession::voicemail`]).
    Voicemail,
}

/// How long the answering machine's greeting lasts.
pub const VOICEMAIL_GREETING: Duration = Duration::from_secs(2);
/// How long its beep lasts; recording starts when it ends.
pub const VOICEMAIL_BEEP: Duration = Duration::from_millis(500);
/// The longest message it records.
pub const VOICEMAIL_RECORD_MAX: Duration = Duration::from_secs(60);
/// A recorded 20 ms frame counts as message (not silence) above this level.
const VOICEMAIL_SPEECH_DBFS: f32 = -45.0;

/// What an answering machine recorded after its beep ([`Playback::Voicemail`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VoicemailMessage {
    /// How much of the recording is sound rather than silence, in ms.
    pub recorded_ms: u32,
    /// The strongest frequency of that sound (50 Hz to 3.9 kHz), in Hz.
    pub dominant_hz: Option<f32>,
    /// Its RMS level, in dBFS.
    pub level_dbfs: f32,
}

/// Audio passed from one media session to another (48 kHz mono), at most [`PIPE_MAX`] of it:
/// one direction of a call the simulator bridges between two clients. Cheap to clone; clones
/// share the audio.
#[derive(Debug, Clone, Default)]
pub struct AudioPipe(Arc<Mutex<VecDeque<f32>>>);

/// The most audio a pipe holds before the oldest is dropped: 200 ms.
pub const PIPE_MAX: usize = 9_600;

impl PartialEq for AudioPipe {
    fn eq(&self, other: &AudioPipe) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl AudioPipe {
    pub(crate) fn push(&self, samples: &[f32]) {
        let mut queue = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        queue.extend(samples.iter().copied());
        let excess = queue.len().saturating_sub(PIPE_MAX);
        queue.drain(..excess);
    }

    /// `len` samples, or `None` while fewer are waiting.
    pub(crate) fn take(&self, len: usize) -> Option<Vec<f32>> {
        let mut queue = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        (queue.len() >= len).then(|| queue.drain(..len).collect())
    }
}

/// The codecs a far end takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FarEndCodecs {
    /// Opus (preferred), PCMU and PCMA.
    #[default]
    All,
    /// G.711 A-law only, as a carrier leg limited to PCMA.
    PcmaOnly,
}

/// The DTLS role a far end takes when it answers an `actpass` offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DtlsAnswerRole {
    /// `a=setup:active`, the DTLS client, as FreeSWITCH (`get_setup`) and browsers answer.
    #[default]
    Active,
    /// `a=setup:passive`, the DTLS server.
    Passive,
}

/// How the far end plays its part in negotiation, as media servers differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct FarEnd {
    /// The codecs it takes.
    #[serde(default)]
    pub codecs: FarEndCodecs,
    /// ICE-lite (`a=ice-lite`), as a media server on a public address may be (FreeSWITCH with
    /// `ice_lite`): it answers connectivity checks and makes none, so the client must be the
    /// controlling agent and nominate, whichever side offered.
    #[serde(default)]
    pub ice_lite: bool,
    /// The DTLS role it takes when it answers; when it offers it says `actpass`.
    #[serde(default)]
    pub dtls_answer: DtlsAnswerRole,
    /// The address its media socket and host candidate are on (`None`: 127.0.0.1). The
    /// simulator sets it from [`crate::SimulatorConfig::media_ip`].
    #[serde(skip)]
    pub address: Option<std::net::IpAddr>,
}

/// What the media peer has received.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Heard {
    /// RMS level of the audio received in the last [`HEARD_WINDOW`], in dBFS (a full-scale sine is
    /// -3 dBFS). -120 when nothing was received in that window.
    pub level_dbfs: f32,
    /// The strongest frequency (50 Hz to 3.9 kHz, about ±1 Hz) in that window, in Hz; `None` when
    /// the level is below -60 dBFS.
    pub dominant_hz: Option<f32>,
    /// Every tone heard, strongest first (up to three, within 12 dB of the strongest): a party
    /// hearing two others at once hears two tones.
    pub tones_hz: Vec<f32>,
    /// RTP media frames received since the start (audio and telephone-event).
    pub packets_received: u64,
    /// Their payload bytes (after SRTP, without RTP headers).
    pub bytes_received: u64,
}

/// Why a media session could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The SDP did not parse or str0m refused it.
    #[error("invalid SDP: {0}")]
    InvalidSdp(String),
    /// No audio m-line, or none of its codecs is one the far end takes.
    #[error("no usable audio in the SDP (need an audio m-line with a codec the far end takes)")]
    NoAudio,
    /// [`MediaSession::accept_answer`] on a session that has no offer outstanding (it answered,
    /// or already took an answer).
    #[error("no offer is waiting for an answer")]
    NoPendingOffer,
    /// The session's thread has stopped (it failed, see the log).
    #[error("the media session has stopped")]
    Stopped,
    /// A [`Playback::Wav`] file could not be used.
    #[error("cannot play {path}: {reason}")]
    Wav {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// The Opus codec failed to initialise or encode.
    #[error("codec: {0}")]
    Codec(String),
    /// The UDP socket.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// Any other WebRTC failure (ICE, DTLS, RTP) reported by str0m.
    #[error("webrtc: {0}")]
    Webrtc(String),
}

/// State the session's thread writes and the owner reads.
#[derive(Debug, Default)]
struct Shared {
    connected: bool,
    packets_received: u64,
    bytes_received: u64,
    /// Decoded audio at 8 kHz, one entry per received frame, the last [`HEARD_WINDOW`] of them.
    recent: VecDeque<(Instant, Vec<f32>)>,
    dtmf: String,
    /// What an answering machine recorded after its beep, at 8 kHz, one entry per frame.
    recording: Option<Vec<Vec<f32>>>,
    /// A Call Control recording of the call, while one runs.
    call_recording: Option<CallRecording>,
    /// 20 ms frames of the recording beep still to play to both sides.
    beep_frames_left: u32,
}

/// The beep a recording starts with: 1 kHz for 400 ms, to both sides.
pub const RECORDING_BEEP: Duration = Duration::from_millis(400);
/// The beep's pitch.
pub const RECORDING_BEEP_HZ: f32 = 1_000.0;
/// The longest recording kept; what comes later is not recorded.
pub const RECORDING_MAX: Duration = Duration::from_secs(10 * 60);

/// A Call Control recording in progress: two channels at 8 kHz, 16-bit, kept in step 20 ms at a
/// time. Channel A is the far party (what it says), channel B the rest of the call (what it
/// hears: the softphone, and anything played to it).
#[derive(Debug, Default)]
struct CallRecording {
    paused: bool,
    party: Vec<i16>,
    rest: Vec<i16>,
    /// Heard since the last 20 ms step, at 8 kHz.
    heard_pending: VecDeque<f32>,
}

impl CallRecording {
    /// 20 ms of the call: what the party said (8 kHz), and what was played to it besides the
    /// softphone's voice.
    fn step(&mut self, said: &[f32], played: Option<&[f32]>) {
        if self.paused || self.party.len() >= RECORDING_MAX.as_millis() as usize * 8 {
            self.heard_pending.clear();
            return;
        }
        let len = said.len();
        let mut heard: Vec<f32> = (0..len).map(|_| self.heard_pending.pop_front().unwrap_or(0.0)).collect();
        if let Some(played) = played {
            heard.iter_mut().zip(played).for_each(|(sample, extra)| *sample += extra);
        }
        // Received audio that came in faster than the clock is not kept past 200 ms.
        let excess = self.heard_pending.len().saturating_sub(8 * 200);
        self.heard_pending.drain(..excess);
        self.party.extend(said.iter().map(|s| audio::to_i16(*s)));
        self.rest.extend(heard.iter().map(|s| audio::to_i16(*s)));
    }

    /// What the party heard from the softphone (8 kHz).
    fn heard(&mut self, samples: &[f32]) {
        if !self.paused {
            self.heard_pending.extend(samples.iter().copied());
        }
    }
}

/// What a recording holds when it stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedChannels {
    /// The far party, 8 kHz.
    pub party: Vec<i16>,
    /// The rest of the call, 8 kHz.
    pub rest: Vec<i16>,
}

impl RecordedChannels {
    /// A 16-bit 8 kHz WAV: stereo (A left, B right) for `dual`, else both mixed in one channel.
    pub fn to_wav(&self, dual: bool) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels: if dual { 2 } else { 1 },
            sample_rate: 8_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut wav = std::io::Cursor::new(Vec::new());
        if let Ok(mut writer) = hound::WavWriter::new(&mut wav, spec) {
            for (a, b) in self.party.iter().zip(&self.rest) {
                let written = if dual {
                    writer.write_sample(*a).and_then(|()| writer.write_sample(*b))
                } else {
                    writer.write_sample(((i32::from(*a) + i32::from(*b)) / 2) as i16)
                };
                if written.is_err() {
                    break;
                }
            }
            let _ = writer.finalize();
        }
        wav.into_inner()
    }

    /// Its length.
    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.party.len() as u64 / 8)
    }
}

impl Shared {
    fn push_recent(&mut self, now: Instant, samples: Vec<f32>) {
        self.recent.push_back((now, samples));
        while self.recent.front().is_some_and(|(at, _)| now.duration_since(*at) > HEARD_WINDOW) {
            self.recent.pop_front();
        }
    }
}

/// Level and frequency of what `ears` received over the last [`HEARD_WINDOW`], counters since
/// the start.
fn measure(ears: &Mutex<Shared>) -> Heard {
    let now = Instant::now();
    let (samples, packets_received, bytes_received) = {
        let shared = ears.lock().unwrap_or_else(PoisonError::into_inner);
        let samples: Vec<f32> = shared
            .recent
            .iter()
            .filter(|(at, _)| now.duration_since(*at) <= HEARD_WINDOW)
            .flat_map(|(_, frame)| frame.iter().copied())
            .collect();
        (samples, shared.packets_received, shared.bytes_received)
    };
    Heard {
        level_dbfs: analysis::level_dbfs(&samples),
        dominant_hz: analysis::dominant_hz(&samples, audio::RATE / audio::PCMU_FACTOR as u32),
        tones_hz: analysis::tones_hz(&samples, audio::RATE / audio::PCMU_FACTOR as u32, 3),
        packets_received,
        bytes_received,
    }
}

/// A running media peer: the far end of one call. Dropping it closes the connection (DTLS
/// close_notify), joins its thread and closes its socket.
pub struct MediaSession {
    shared: Arc<Mutex<Shared>>,
    commands: Sender<Command>,
    thread: Option<JoinHandle<()>>,
    local_addr: SocketAddr,
}

impl std::fmt::Debug for MediaSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaSession")
            .field("local_addr", &self.local_addr)
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

impl MediaSession {
    /// The client offered (outbound call from the softphone, or a client re-offer). Returns the
    /// session and the SDP answer (non-trickle: carries a 127.0.0.1 host candidate).
    pub fn answer(offer_sdp: &str, playback: Playback) -> Result<(MediaSession, String), MediaError> {
        MediaSession::answer_as(FarEnd::default(), offer_sdp, playback)
    }

    /// [`MediaSession::answer`] as `far_end` would.
    pub fn answer_as(
        far_end: FarEnd,
        offer_sdp: &str,
        playback: Playback,
    ) -> Result<(MediaSession, String), MediaError> {
        let shared = Arc::default();
        let (peer, answer) = Peer::answering(Arc::clone(&shared), Source::new(&playback)?, far_end, offer_sdp)?;
        Ok((MediaSession::spawn(peer, shared)?, answer))
    }

    /// The simulator offers (inbound call to the softphone; attach recovery). Returns the session
    /// and the SDP offer (with a 127.0.0.1 host candidate). Media starts after
    /// [`MediaSession::accept_answer`].
    pub fn offer(playback: Playback) -> Result<(MediaSession, String), MediaError> {
        MediaSession::offer_as(FarEnd::default(), playback)
    }

    /// [`MediaSession::offer`] as `far_end` would.
    pub fn offer_as(far_end: FarEnd, playback: Playback) -> Result<(MediaSession, String), MediaError> {
        let shared = Arc::default();
        let (peer, offer) = Peer::offering(Arc::clone(&shared), Source::new(&playback)?, far_end)?;
        Ok((MediaSession::spawn(peer, shared)?, offer))
    }

    fn spawn(peer: Peer, shared: Arc<Mutex<Shared>>) -> Result<MediaSession, MediaError> {
        let local_addr = peer.local_addr();
        let (commands, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("media-peer-{}", local_addr.port()))
            .spawn(move || peer.run(receiver))?;
        Ok(MediaSession { shared, commands, thread: Some(thread), local_addr })
    }

    /// The client's answer to our offer.
    pub fn accept_answer(&self, answer_sdp: &str) -> Result<(), MediaError> {
        let (reply, result) = mpsc::sync_channel(1);
        self.commands.send(Command::AcceptAnswer(answer_sdp.to_owned(), reply)).map_err(|_| MediaError::Stopped)?;
        result.recv_timeout(COMMAND_TIMEOUT).map_err(|_| MediaError::Stopped)?
    }

    /// Changes what is sent, from the next 20 ms frame on. An unreadable [`Playback::Wav`] is
    /// logged and plays silence.
    pub fn set_playback(&self, playback: Playback) {
        let source = Source::new(&playback).unwrap_or_else(|error| {
            tracing::warn!(%error, "playing silence instead");
            Source::Silence
        });
        let _ = self.commands.send(Command::SetPlayback(source));
    }

    /// Plays `audio` to the far party as well as what the softphone says, as Telnyx plays a file
    /// into a leg (hold music); `None` stops it. [`MediaSession::heard`] hears both.
    pub fn play_to_party(&self, audio: Option<Playback>) {
        let source = audio.map(|audio| {
            Source::new(&audio).unwrap_or_else(|error| {
                tracing::warn!(%error, "playing silence instead");
                Source::Silence
            })
        });
        let _ = self.commands.send(Command::PlayToParty(source));
    }

    /// Starts recording the call (both channels), with a beep both sides hear first if `beep`.
    /// False if a recording runs already.
    pub fn start_recording(&self, beep: bool) -> bool {
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        if shared.call_recording.is_some() {
            return false;
        }
        shared.call_recording = Some(CallRecording::default());
        if beep {
            shared.beep_frames_left = (RECORDING_BEEP.as_millis() / 20) as u32;
        }
        true
    }

    /// Pauses (`true`) or resumes the recording; false if none runs.
    pub fn pause_recording(&self, paused: bool) -> bool {
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        match shared.call_recording.as_mut() {
            Some(recording) => {
                recording.paused = paused;
                true
            }
            None => false,
        }
    }

    /// Whether a recording runs: `Some(paused)`.
    pub fn recording(&self) -> Option<bool> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner).call_recording.as_ref().map(|r| r.paused)
    }

    /// Stops the recording and hands over what it holds; `None` if none ran.
    pub fn stop_recording(&self) -> Option<RecordedChannels> {
        let recording = self.shared.lock().unwrap_or_else(PoisonError::into_inner).call_recording.take()?;
        Some(RecordedChannels { party: recording.party, rest: recording.rest })
    }

    /// A WAV file's bytes (16-bit PCM, any rate and channels) as [`Playback::Audio`] samples;
    /// `name` says where they came from in the error.
    pub fn decode_wav(bytes: &[u8], name: &str) -> Result<std::sync::Arc<[f32]>, MediaError> {
        audio::decode_wav(bytes, std::path::Path::new(name))
    }

    /// Puts what this session receives (decoded, 48 kHz) into `pipe` too, for a session playing
    /// [`Playback::Relay`] of it; `None` stops.
    pub fn relay_into(&self, pipe: Option<AudioPipe>) {
        let _ = self.commands.send(Command::RelayInto(pipe));
    }

    /// Sends RTP (`true`, the default) or pauses it, as FreeSWITCH pauses its RTP toward an
    /// endpoint that put it on hold (ICE and DTLS keep going, so sending can resume).
    pub fn set_sending(&self, sending: bool) {
        let _ = self.commands.send(Command::SetSending(sending));
    }

    /// Sends `digits` (`0-9`, `*`, `#`, `A-D`; others are skipped) as RFC 4733 telephone-events,
    /// 100 ms each with 100 ms between them, when the session is connected. Needs the remote to
    /// have negotiated telephone-event at the send codec's clock rate; otherwise each digit is
    /// logged and dropped.
    pub fn send_dtmf(&self, digits: &str) {
        let _ = self.commands.send(Command::SendDtmf(digits.to_owned()));
    }

    /// Rolling measurement of what the peer receives: level and frequency over the last
    /// [`HEARD_WINDOW`], counters since the start.
    pub fn heard(&self) -> Heard {
        measure(&self.shared)
    }

    /// What an answering machine ([`Playback::Voicemail`]) recorded after its beep: the frames
    /// with sound in them, measured; `None` before its beep (or for other playbacks).
    pub fn voicemail(&self) -> Option<VoicemailMessage> {
        let shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        let frames = shared.recording.as_ref()?;
        let sound: Vec<f32> = frames
            .iter()
            .filter(|frame| analysis::level_dbfs(frame) > VOICEMAIL_SPEECH_DBFS)
            .flat_map(|frame| frame.iter().copied())
            .collect();
        let rate = audio::RATE / audio::PCMU_FACTOR as u32;
        Some(VoicemailMessage {
            recorded_ms: (sound.len() as u64 * 1000 / u64::from(rate)) as u32,
            dominant_hz: analysis::dominant_hz(&sound, rate),
            level_dbfs: analysis::level_dbfs(&sound),
        })
    }

    /// Digits received as RFC 4733 telephone-events (each digit once per event, in order).
    pub fn dtmf_received(&self) -> String {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner).dtmf.clone()
    }

    /// ICE and DTLS are up (and the session has not been closed by the remote).
    pub fn is_connected(&self) -> bool {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner).connected
    }

    /// The session's UDP socket, always on 127.0.0.1.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for MediaSession {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(thread) = self.thread.take() {
            // The loop looks at its commands at least every 10 ms.
            let _ = thread.join();
        }
    }
}
