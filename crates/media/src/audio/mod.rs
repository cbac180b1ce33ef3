//! The sound devices: choice, the engine thread that moves audio between devices and calls,
//! tones, levels, and fake devices for tests.

mod device;
mod engine;
mod fake;
mod greeting;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use fake::{FakeAudioSpec, FakeMic};
pub use greeting::{MicRecording, SpeakerPlayback};

use crate::dsp::analysis;
use crate::dsp::echo::VoiceProcessingConfig;
use crate::dsp::tones::{Cadence, Ringtone};
use crate::{DeviceRole, MediaError};

/// The environment variable that selects fake audio devices; see [`FakeAudioSpec`] for its syntax.
pub const FAKE_AUDIO_ENV: &str = "SOFTPHONE_FAKE_AUDIO";

/// The window [`AudioSystem::speaker_analysis`] measures over.
pub const ANALYSIS_WINDOW: Duration = Duration::from_millis(500);

/// One sound device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioDevice {
    /// The name to show and to pass back in [`DeviceChoice`].
    pub name: String,
    /// The system default for its direction.
    pub is_default: bool,
}

/// The devices there are, as far as the audio system could tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AudioDevices {
    /// Microphones.
    pub inputs: Vec<AudioDevice>,
    /// Speakers and headsets (the ringer is one of them too).
    pub outputs: Vec<AudioDevice>,
    /// These are the fake devices of `SOFTPHONE_FAKE_AUDIO`.
    pub fake: bool,
}

/// Which devices to use; `None` is the system default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DeviceChoice {
    /// The microphone.
    pub microphone: Option<String>,
    /// Where calls play.
    pub speaker: Option<String>,
    /// Where the ringtone plays.
    pub ringer: Option<String>,
}

/// Levels for the UI's meters, in dBFS (-120 for silence), over the last 100 ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AudioLevels {
    /// The microphone after echo cancellation, before mute.
    pub input_dbfs: f32,
    /// What the speaker plays (calls and tones).
    pub output_dbfs: f32,
}

/// What a fake output device played over the last [`ANALYSIS_WINDOW`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeakerAnalysis {
    /// The device.
    pub device: String,
    /// RMS level in dBFS (-120 when nothing played).
    pub level_dbfs: f32,
    /// The strongest frequency (50 Hz to 3.9 kHz, about ±1 Hz); `None` below -60 dBFS.
    pub dominant_hz: Option<f32>,
}

/// Something the UI should tell the agent about the devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AudioDeviceEvent {
    /// The chosen device went away (unplugged); audio continues on the default.
    DeviceLost {
        /// Which role lost its device.
        role: DeviceRole,
        /// The device that went away.
        device: String,
        /// The device now used.
        fell_back_to: String,
    },
    /// A device could not be opened; that direction is silent until it can be.
    DeviceFailed {
        /// Which role.
        role: DeviceRole,
        /// The device.
        device: String,
        /// The error's code ([`MediaError::code`]).
        code: String,
        /// The error as a sentence.
        message: String,
    },
}

impl AudioDeviceEvent {
    /// The event as the agent reads it.
    pub fn sentence(&self) -> String {
        match self {
            AudioDeviceEvent::DeviceLost { role, device, fell_back_to } => {
                let now = match role {
                    DeviceRole::Microphone => "the call now uses",
                    DeviceRole::Speaker => "sound now plays on",
                    DeviceRole::Ringer => "incoming calls now ring on",
                };
                format!("The {role} \u{201c}{device}\u{201d} was disconnected; {now} \u{201c}{fell_back_to}\u{201d}.")
            }
            AudioDeviceEvent::DeviceFailed { message, .. } => {
                let mut sentence = message.clone();
                if let Some(first) = sentence.get(..1) {
                    let upper = first.to_uppercase();
                    sentence.replace_range(..1, &upper);
                }
                if !sentence.ends_with('.') {
                    sentence.push('.');
                }
                sentence
            }
        }
    }
}

/// What the engine needs of one call: where to put captured audio and where to pull playout.
pub(crate) trait CallAudio: Send + Sync {
    /// Captured microphone audio (48 kHz, one 10 ms frame).
    fn captured(&self, frame: &[f32]);
    /// Adds the call's next 10 ms of playout to `mix`; false when held (nothing added).
    fn mix_playout(&self, mix: &mut [f32]) -> bool;
}

#[derive(Debug)]
pub(crate) enum Backend {
    Fake(FakeAudioSpec),
    Cpal,
}

/// Received audio per output device: (when, 10 ms at 8 kHz).
type History = VecDeque<(Instant, Vec<f32>)>;

pub(crate) struct State {
    pub(crate) choice: DeviceChoice,
    pub(crate) unplugged: Vec<String>,
    pub(crate) ringtone: Option<Cadence>,
    /// The ringtone inbound calls ring with.
    pub(crate) ringtone_choice: Ringtone,
    /// The ringtone playing is a preview that stops at this time.
    pub(crate) ringtone_preview_until: Option<Instant>,
    pub(crate) ringback: Option<Cadence>,
    pub(crate) call_waiting: Option<Cadence>,
    pub(crate) calls: Vec<Weak<dyn CallAudio>>,
    pub(crate) input_levels: VecDeque<f32>,
    pub(crate) output_levels: VecDeque<f32>,
    pub(crate) heard: HashMap<String, History>,
    pub(crate) subscribers: Vec<Sender<AudioDeviceEvent>>,
    pub(crate) processing: VoiceProcessingConfig,
    /// Fake devices: the speaker's last [`TAPE_SECONDS`] at 8 kHz, for latency measurements.
    pub(crate) tape: VecDeque<f32>,
    /// 10 ms frames played since the devices opened, up to the end of `tape`.
    pub(crate) tape_frames: u64,
}

/// How long Settings' Preview plays a ringtone: one cycle.
pub const RINGTONE_PREVIEW: Duration = Duration::from_secs(3);

/// How much of the fake speaker's output [`AudioSystem::fake_speaker_tape`] keeps.
pub const TAPE_SECONDS: usize = 4;

impl State {
    pub(crate) fn emit(&mut self, event: AudioDeviceEvent) {
        tracing::info!(?event, "audio device event");
        self.subscribers.retain(|subscriber| subscriber.send(event.clone()).is_ok());
    }

    pub(crate) fn record_heard(&mut self, device: &str, now: Instant, frame: &[f32]) {
        let history = self.heard.entry(device.to_owned()).or_default();
        history.push_back((now, analysis::decimate_by_6(frame)));
        while history.front().is_some_and(|(at, _)| now.duration_since(*at) > ANALYSIS_WINDOW) {
            history.pop_front();
        }
    }
}

/// Levels kept: 10 frames of 10 ms.
const LEVEL_FRAMES: usize = 10;

fn push_level(levels: &mut VecDeque<f32>, frame: &[f32]) {
    let mean_square = frame.iter().map(|s| s * s).sum::<f32>() / frame.len().max(1) as f32;
    levels.push_back(mean_square);
    while levels.len() > LEVEL_FRAMES {
        levels.pop_front();
    }
}

fn level_of(levels: &VecDeque<f32>) -> f32 {
    if levels.is_empty() {
        return analysis::FLOOR_DBFS;
    }
    let mean = levels.iter().sum::<f32>() / levels.len() as f32;
    if mean <= 0.0 { analysis::FLOOR_DBFS } else { (10.0 * mean.log10()).max(analysis::FLOOR_DBFS) }
}

pub(crate) struct Shared {
    pub(crate) backend: Backend,
    pub(crate) state: Mutex<State>,
    pub(crate) stop: AtomicBool,
}

impl Shared {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Inner {
    shared: Arc<Shared>,
    engine: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(engine) = self.engine.take() {
            let _ = engine.join();
        }
    }
}

/// The sound devices and everything that plays on them: one per app, shared by every call
/// (a cheap `Clone` handle). Dropping the last handle (calls hold one) stops its engine thread
/// and closes the devices.
///
/// Devices are opened only while something uses them (a call, a ringtone, ringback) and closed
/// after. A device that fails is reported through [`AudioSystem::subscribe`] and that direction
/// stays silent (calls keep flowing); a chosen device that goes away falls back to the default.
#[derive(Clone)]
pub struct AudioSystem {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AudioSystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioSystem").field("backend", &self.inner.shared.backend).finish_non_exhaustive()
    }
}

impl AudioSystem {
    /// Fake devices if `SOFTPHONE_FAKE_AUDIO` is set (see [`FakeAudioSpec`]), else the sound
    /// cards through cpal. Succeeds on a machine without a sound card: the devices fail when
    /// opened ([`AudioSystem::probe`] finds out up front).
    pub fn from_env() -> Result<AudioSystem, MediaError> {
        match std::env::var(FAKE_AUDIO_ENV) {
            Ok(spec) => AudioSystem::fake(FakeAudioSpec::parse(&spec)?),
            Err(_) => AudioSystem::cpal(),
        }
    }

    /// Fake devices (tests, or a machine without sound).
    pub fn fake(spec: FakeAudioSpec) -> Result<AudioSystem, MediaError> {
        // Fail now, not in the engine, if the WAV cannot be read.
        spec.mic_source()?;
        let processing = spec.processing;
        AudioSystem::start(Backend::Fake(spec), processing)
    }

    /// The sound cards through cpal's default host (ALSA on Linux), with echo cancellation and
    /// noise suppression on.
    pub fn cpal() -> Result<AudioSystem, MediaError> {
        device::check_host()?;
        AudioSystem::start(Backend::Cpal, VoiceProcessingConfig::ON)
    }

    fn start(backend: Backend, processing: VoiceProcessingConfig) -> Result<AudioSystem, MediaError> {
        let shared = Arc::new(Shared {
            backend,
            state: Mutex::new(State {
                choice: DeviceChoice::default(),
                unplugged: Vec::new(),
                ringtone: None,
                ringtone_choice: Ringtone::Classic,
                ringtone_preview_until: None,
                ringback: None,
                call_waiting: None,
                calls: Vec::new(),
                input_levels: VecDeque::new(),
                output_levels: VecDeque::new(),
                heard: HashMap::new(),
                subscribers: Vec::new(),
                processing,
                tape: VecDeque::new(),
                tape_frames: 0,
            }),
            stop: AtomicBool::new(false),
        });
        let engine_shared = Arc::clone(&shared);
        let engine =
            std::thread::Builder::new().name("audio-engine".to_owned()).spawn(move || engine::run(engine_shared))?;
        Ok(AudioSystem { inner: Arc::new(Inner { shared, engine: Some(engine) }) })
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// True for the fake devices of `SOFTPHONE_FAKE_AUDIO`.
    pub fn is_fake(&self) -> bool {
        matches!(self.shared().backend, Backend::Fake(_))
    }

    /// The devices there are. With no sound card this is whatever ALSA lists (often only
    /// `default`, which then fails to open); an error only if the host cannot list at all.
    pub fn devices(&self) -> Result<AudioDevices, MediaError> {
        match &self.shared().backend {
            Backend::Fake(_) => {
                let unplugged = self.shared().state().unplugged.clone();
                let present = |name: &str| !unplugged.iter().any(|gone| gone == name);
                let list = |names: [&str; 2]| {
                    names
                        .iter()
                        .enumerate()
                        .filter(|(_, name)| present(name))
                        .map(|(index, name)| AudioDevice { name: (*name).to_owned(), is_default: index == 0 })
                        .collect()
                };
                Ok(AudioDevices {
                    inputs: list([fake::FAKE_MICROPHONE, fake::FAKE_HEADSET_MICROPHONE]),
                    outputs: list([fake::FAKE_SPEAKER, fake::FAKE_HEADSET]),
                    fake: true,
                })
            }
            Backend::Cpal => device::list(),
        }
    }

    /// Chooses the microphone, speaker and ringer (by name; `None` = default). Takes effect at
    /// once, also during a call. [`MediaError::DeviceNotFound`] if a name is not listed.
    pub fn select(&self, choice: DeviceChoice) -> Result<(), MediaError> {
        let devices = self.devices()?;
        let check = |role: DeviceRole, name: &Option<String>, list: &[AudioDevice]| match name {
            Some(name) if !list.iter().any(|device| &device.name == name) => {
                Err(MediaError::DeviceNotFound { role, device: name.clone() })
            }
            _ => Ok(()),
        };
        check(DeviceRole::Microphone, &choice.microphone, &devices.inputs)?;
        check(DeviceRole::Speaker, &choice.speaker, &devices.outputs)?;
        check(DeviceRole::Ringer, &choice.ringer, &devices.outputs)?;
        self.shared().state().choice = choice;
        Ok(())
    }

    /// The current choice (a device that went away has been replaced by `None`).
    pub fn choice(&self) -> DeviceChoice {
        self.shared().state().choice.clone()
    }

    /// Opens the chosen (or default) microphone and speaker once and closes them again:
    /// [`MediaError::DeviceUnavailable`] when there is no usable sound card. Fake devices always
    /// succeed.
    pub fn probe(&self) -> Result<(), MediaError> {
        match &self.shared().backend {
            Backend::Fake(_) => Ok(()),
            Backend::Cpal => device::probe(&self.choice()),
        }
    }

    /// Turns echo cancellation and noise suppression on or off (from the next frame).
    pub fn set_processing(&self, config: VoiceProcessingConfig) {
        self.shared().state().processing = config;
    }

    /// Starts the ringtone on the ringer device (an inbound call rings).
    pub fn start_ringtone(&self) {
        let mut state = self.shared().state();
        let chosen = state.ringtone_choice;
        state.ringtone_preview_until = None;
        state.ringtone.get_or_insert_with(|| Cadence::ringtone_of(chosen));
    }

    /// Which ringtone inbound calls ring with (from the next ring).
    pub fn set_ringtone(&self, ringtone: Ringtone) {
        self.shared().state().ringtone_choice = ringtone;
    }

    /// Plays `ringtone` once on the ringer device (Settings' Preview), unless a call is ringing.
    pub fn preview_ringtone(&self, ringtone: Ringtone) {
        let mut state = self.shared().state();
        if state.ringtone.is_some() && state.ringtone_preview_until.is_none() {
            return;
        }
        state.ringtone = Some(Cadence::ringtone_of(ringtone));
        state.ringtone_preview_until = Some(Instant::now() + RINGTONE_PREVIEW);
    }

    /// Stops the ringtone.
    pub fn stop_ringtone(&self) {
        let mut state = self.shared().state();
        state.ringtone = None;
        state.ringtone_preview_until = None;
    }

    /// Starts ringback on the speaker (an outbound call rings at the far end and no early media).
    pub fn start_ringback(&self) {
        self.shared().state().ringback.get_or_insert_with(Cadence::ringback);
    }

    /// Stops ringback.
    pub fn stop_ringback(&self) {
        self.shared().state().ringback = None;
    }

    /// Starts the call-waiting beeps on the speaker (a second call rings during a call).
    pub fn start_call_waiting(&self) {
        self.shared().state().call_waiting.get_or_insert_with(Cadence::call_waiting);
    }

    /// Stops the call-waiting beeps.
    pub fn stop_call_waiting(&self) {
        self.shared().state().call_waiting = None;
    }

    /// Microphone and speaker levels for the meters.
    pub fn levels(&self) -> AudioLevels {
        let state = self.shared().state();
        AudioLevels { input_dbfs: level_of(&state.input_levels), output_dbfs: level_of(&state.output_levels) }
    }

    /// What the speaker played over the last [`ANALYSIS_WINDOW`]: level and dominant frequency.
    /// Fake devices only (`None` with real ones).
    pub fn speaker_analysis(&self) -> Option<SpeakerAnalysis> {
        let name = self.choice().speaker.unwrap_or_else(|| fake::FAKE_SPEAKER.to_owned());
        self.analysis_of(name)
    }

    /// What the ringer device played over the last [`ANALYSIS_WINDOW`]. Fake devices only.
    pub fn ringer_analysis(&self) -> Option<SpeakerAnalysis> {
        let name = self.choice().ringer.unwrap_or_else(|| fake::FAKE_SPEAKER.to_owned());
        self.analysis_of(name)
    }

    fn analysis_of(&self, device: String) -> Option<SpeakerAnalysis> {
        if !self.is_fake() {
            return None;
        }
        let now = Instant::now();
        let samples: Vec<f32> = {
            let state = self.shared().state();
            state
                .heard
                .get(&device)
                .map(|history| {
                    history
                        .iter()
                        .filter(|(at, _)| now.duration_since(*at) <= ANALYSIS_WINDOW)
                        .flat_map(|(_, frame)| frame.iter().copied())
                        .collect()
                })
                .unwrap_or_default()
        };
        Some(SpeakerAnalysis {
            device,
            level_dbfs: analysis::level_dbfs(&samples),
            dominant_hz: analysis::dominant_hz(&samples, 8_000),
        })
    }

    /// Fake devices only: the speaker's output over the last [`TAPE_SECONDS`] at 8 kHz, and the
    /// index of the 10 ms frame its first sample belongs to, counted from when the devices opened
    /// (on the same clock as the fake microphone: `mic=pulse` bursts start at frames 0, 100, 200,
    /// ...). For latency measurements.
    pub fn fake_speaker_tape(&self) -> Option<(u64, Vec<f32>)> {
        if !self.is_fake() {
            return None;
        }
        let state = self.shared().state();
        let frames_on_tape = (state.tape.len() / 80) as u64;
        Some((state.tape_frames - frames_on_tape, state.tape.iter().copied().collect()))
    }

    /// Device events (a device lost or failing) from now on.
    pub fn subscribe(&self) -> Receiver<AudioDeviceEvent> {
        let (sender, receiver) = mpsc::channel();
        self.shared().state().subscribers.push(sender);
        receiver
    }

    /// Fake devices only: simulates unplugging the non-default device `name` ("Fake headset" or
    /// "Fake headset microphone"). If it was chosen, audio falls back to the default and
    /// [`AudioDeviceEvent::DeviceLost`] is sent.
    pub fn unplug_fake_device(&self, name: &str) -> Result<(), MediaError> {
        let role_of = |name: &str| match name {
            fake::FAKE_HEADSET_MICROPHONE => Some(DeviceRole::Microphone),
            fake::FAKE_HEADSET => Some(DeviceRole::Speaker),
            _ => None,
        };
        if !self.is_fake() || role_of(name).is_none() {
            return Err(MediaError::DeviceNotFound {
                role: role_of(name).unwrap_or(DeviceRole::Speaker),
                device: name.to_owned(),
            });
        }
        let mut state = self.shared().state();
        state.unplugged.push(name.to_owned());
        let mut lost = Vec::new();
        let DeviceChoice { microphone, speaker, ringer } = &mut state.choice;
        for (role, slot, default) in [
            (DeviceRole::Microphone, microphone, fake::FAKE_MICROPHONE),
            (DeviceRole::Speaker, speaker, fake::FAKE_SPEAKER),
            (DeviceRole::Ringer, ringer, fake::FAKE_SPEAKER),
        ] {
            if slot.as_deref() == Some(name) {
                *slot = None;
                lost.push(AudioDeviceEvent::DeviceLost {
                    role,
                    device: name.to_owned(),
                    fell_back_to: default.to_owned(),
                });
            }
        }
        for event in lost {
            state.emit(event);
        }
        Ok(())
    }

    /// Registers a call's audio with the engine; it is dropped from the mix when the `Arc` is.
    pub(crate) fn attach(&self, call: Weak<dyn CallAudio>) {
        self.shared().state().calls.push(call);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_events_read_as_sentences_naming_the_device_and_what_is_used_now() {
        let lost = AudioDeviceEvent::DeviceLost {
            role: DeviceRole::Microphone,
            device: "Jabra Evolve 40".into(),
            fell_back_to: "Default".into(),
        };
        assert_eq!(
            lost.sentence(),
            "The microphone \u{201c}Jabra Evolve 40\u{201d} was disconnected; the call now uses \u{201c}Default\u{201d}."
        );
        let failed = AudioDeviceEvent::DeviceFailed {
            role: DeviceRole::Speaker,
            device: "Default".into(),
            code: "AudioDeviceUnavailable".into(),
            message: "the speaker \"Default\" cannot be opened: busy".into(),
        };
        assert_eq!(failed.sentence(), "The speaker \"Default\" cannot be opened: busy.");
    }

    #[test]
    fn levels_average_the_last_100_ms() {
        let mut levels = VecDeque::new();
        assert_eq!(level_of(&levels), analysis::FLOOR_DBFS);
        for _ in 0..20 {
            push_level(&mut levels, &[0.1; 480]);
        }
        assert!((level_of(&levels) + 20.0).abs() < 0.01);
    }
}
