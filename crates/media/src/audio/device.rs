//! Real sound cards through cpal: listing, probing, and the engine's streams.
//!
//! cpal's callbacks only copy samples into lock-free rings (mono, at the device's rate; see
//! [`crate::realtime`]); the engine thread resamples to and from 48 kHz with rubato. A stream error that means the device went
//! away closes the stream; the engine falls back to the default device and tells the UI. A device
//! that cannot be opened (no sound card: cpal's `DeviceNotAvailable`) leaves that direction
//! silent on a 10 ms clock, so calls keep their RTP flowing, and is retried every few seconds.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use rtrb::{Consumer, Producer, RingBuffer};
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use super::engine::{DeviceIo, FrameClock, Want, report_once};
use super::{AudioDevice, AudioDeviceEvent, AudioDevices, DeviceChoice, State};
use crate::dsp::resample::StreamResampler;
use crate::{DeviceRole, FRAME_10MS, MediaError, SAMPLE_RATE};

/// How long a failed device waits before the engine tries it again.
const RETRY_AFTER: Duration = Duration::from_secs(3);
/// The speaker's ring buffer is topped up to this much audio (latency vs. underruns).
const PLAYOUT_TARGET: Duration = Duration::from_millis(30);
/// The most audio a ring buffer holds before the oldest is dropped.
const RING_MAX: Duration = Duration::from_millis(200);
/// How long cpal may take to open a stream.
const OPEN_TIMEOUT: Duration = Duration::from_secs(2);

const DEFAULT_NAME: &str = "default";

fn unavailable(role: DeviceRole, device: &str, error: &cpal::Error) -> MediaError {
    MediaError::DeviceUnavailable { role, device: device.to_owned(), reason: error.to_string() }
}

fn name_of(device: &cpal::Device) -> String {
    device.description().map(|d| d.name().to_owned()).unwrap_or_else(|_| DEFAULT_NAME.to_owned())
}

/// Fails if the default host is unusable.
pub(super) fn check_host() -> Result<(), MediaError> {
    let host = cpal::default_host();
    host.devices().map(|_| ()).map_err(|e| MediaError::AudioHost(e.to_string()))
}

/// Inputs and outputs the default host lists.
pub(super) fn list() -> Result<AudioDevices, MediaError> {
    let host = cpal::default_host();
    let default_in = host.default_input_device().map(|d| name_of(&d));
    let default_out = host.default_output_device().map(|d| name_of(&d));
    let collect = |devices: Result<Vec<cpal::Device>, cpal::Error>, default: &Option<String>| {
        devices.map_err(|e| MediaError::AudioHost(e.to_string())).map(|devices| {
            let mut list: Vec<AudioDevice> = Vec::new();
            for name in devices.iter().map(name_of) {
                if !list.iter().any(|d| d.name == name) {
                    list.push(AudioDevice { is_default: default.as_deref() == Some(name.as_str()), name });
                }
            }
            if let Some(default) = default
                && !list.iter().any(|d| &d.name == default)
            {
                list.insert(0, AudioDevice { name: default.clone(), is_default: true });
            }
            list
        })
    };
    let inputs = collect(host.input_devices().map(Iterator::collect), &default_in)?;
    let outputs = collect(host.output_devices().map(Iterator::collect), &default_out)?;
    Ok(AudioDevices { inputs, outputs, fake: false })
}

/// Finds `name` (or the default) among the host's devices of one direction.
fn find(host: &cpal::Host, role: DeviceRole, name: Option<&str>) -> Result<cpal::Device, MediaError> {
    let wanted = name.unwrap_or(DEFAULT_NAME);
    let not_available = || MediaError::DeviceUnavailable {
        role,
        device: wanted.to_owned(),
        reason: "no such device (no sound card?)".to_owned(),
    };
    let input = role == DeviceRole::Microphone;
    match name {
        None => {
            if input { host.default_input_device() } else { host.default_output_device() }.ok_or_else(not_available)
        }
        Some(name) => {
            let devices = if input {
                host.input_devices().map(|d| d.collect::<Vec<_>>())
            } else {
                host.output_devices().map(|d| d.collect::<Vec<_>>())
            };
            devices
                .map_err(|e| MediaError::AudioHost(e.to_string()))?
                .into_iter()
                .find(|device| name_of(device) == name)
                .ok_or_else(|| MediaError::DeviceNotFound { role, device: name.to_owned() })
        }
    }
}

/// Opens and closes the chosen microphone and speaker.
pub(super) fn probe(choice: &DeviceChoice) -> Result<(), MediaError> {
    let host = cpal::default_host();
    let errors: Arc<Mutex<Vec<(DeviceRole, cpal::Error)>>> = Arc::default();
    let input = InputStream::open(&host, choice.microphone.as_deref(), &errors)?;
    let output = OutputStream::open(&host, DeviceRole::Speaker, choice.speaker.as_deref(), &errors)?;
    drop((input, output));
    Ok(())
}

fn error_sink(
    role: DeviceRole,
    errors: &Arc<Mutex<Vec<(DeviceRole, cpal::Error)>>>,
) -> impl FnMut(cpal::Error) + Send + 'static {
    let errors = Arc::clone(errors);
    move |error| errors.lock().unwrap_or_else(PoisonError::into_inner).push((role, error))
}

/// An open microphone: the callback pushes mono samples at the device rate into `ring`.
struct InputStream {
    _stream: cpal::Stream,
    name: String,
    ring: Consumer<f32>,
    raw: Vec<f32>,
    resampler: StreamResampler,
    ready: VecDeque<f32>,
    scratch: Vec<f32>,
}

impl InputStream {
    fn open(
        host: &cpal::Host,
        name: Option<&str>,
        errors: &Arc<Mutex<Vec<(DeviceRole, cpal::Error)>>>,
    ) -> Result<InputStream, MediaError> {
        let role = DeviceRole::Microphone;
        let label = name.unwrap_or(DEFAULT_NAME);
        let device = find(host, role, name)?;
        let supported = device.default_input_config().map_err(|e| unavailable(role, label, &e))?;
        let config = supported.config();
        let channels = usize::from(config.channels.max(1));
        let rate = config.sample_rate;
        let capacity = ring_capacity(rate);
        let (mut producer, ring) = RingBuffer::<f32>::new(capacity);
        let stream = match supported.sample_format() {
            cpal::SampleFormat::F32 => device.build_input_stream::<f32, _, _>(
                config,
                move |data: &[f32], _: &cpal::InputCallbackInfo| {
                    crate::realtime::capture(&mut producer, data, channels);
                },
                error_sink(role, errors),
                Some(OPEN_TIMEOUT),
            ),
            cpal::SampleFormat::I16 => device.build_input_stream::<i16, _, _>(
                config,
                move |data: &[i16], _: &cpal::InputCallbackInfo| {
                    crate::realtime::capture(&mut producer, data, channels);
                },
                error_sink(role, errors),
                Some(OPEN_TIMEOUT),
            ),
            other => {
                return Err(MediaError::DeviceUnavailable {
                    role,
                    device: label.to_owned(),
                    reason: format!("sample format {other} is not supported (need f32 or i16)"),
                });
            }
        }
        .map_err(|e| unavailable(role, label, &e))?;
        stream.play().map_err(|e| unavailable(role, label, &e))?;
        Ok(InputStream {
            _stream: stream,
            name: name_of(&device),
            ring,
            raw: Vec::with_capacity(capacity),
            resampler: StreamResampler::new(rate, SAMPLE_RATE)?,
            ready: VecDeque::new(),
            scratch: Vec::new(),
        })
    }

    fn next_frame(&mut self, frame: &mut [f32]) -> bool {
        if self.ready.len() < FRAME_10MS {
            self.raw.clear();
            if let Ok(chunk) = self.ring.read_chunk(self.ring.slots()) {
                let (first, second) = chunk.as_slices();
                self.raw.extend_from_slice(first);
                self.raw.extend_from_slice(second);
                chunk.commit_all();
            }
            self.scratch.clear();
            if let Err(error) = self.resampler.process(&self.raw, &mut self.scratch) {
                tracing::warn!(%error, "microphone audio dropped");
            }
            self.ready.extend(self.scratch.iter().copied());
        }
        if self.ready.len() < FRAME_10MS {
            return false;
        }
        for (slot, sample) in frame.iter_mut().zip(self.ready.drain(..FRAME_10MS)) {
            *slot = sample;
        }
        true
    }
}

/// An open output: the engine pushes mono samples at the device rate into `ring`; the callback
/// copies them to every channel (silence on underrun).
struct OutputStream {
    _stream: cpal::Stream,
    name: String,
    ring: Producer<f32>,
    capacity: usize,
    rate: u32,
    resampler: StreamResampler,
    scratch: Vec<f32>,
}

impl OutputStream {
    fn open(
        host: &cpal::Host,
        role: DeviceRole,
        name: Option<&str>,
        errors: &Arc<Mutex<Vec<(DeviceRole, cpal::Error)>>>,
    ) -> Result<OutputStream, MediaError> {
        let label = name.unwrap_or(DEFAULT_NAME);
        let device = find(host, role, name)?;
        let supported = device.default_output_config().map_err(|e| unavailable(role, label, &e))?;
        let config = supported.config();
        let channels = usize::from(config.channels.max(1));
        let rate = config.sample_rate;
        let capacity = ring_capacity(rate);
        let (ring, mut consumer) = RingBuffer::<f32>::new(capacity);
        let stream = match supported.sample_format() {
            cpal::SampleFormat::F32 => device.build_output_stream::<f32, _, _>(
                config,
                move |data: &mut [f32], _: &cpal::OutputCallbackInfo| {
                    crate::realtime::play(&mut consumer, data, channels);
                },
                error_sink(role, errors),
                Some(OPEN_TIMEOUT),
            ),
            cpal::SampleFormat::I16 => device.build_output_stream::<i16, _, _>(
                config,
                move |data: &mut [i16], _: &cpal::OutputCallbackInfo| {
                    crate::realtime::play(&mut consumer, data, channels);
                },
                error_sink(role, errors),
                Some(OPEN_TIMEOUT),
            ),
            other => {
                return Err(MediaError::DeviceUnavailable {
                    role,
                    device: label.to_owned(),
                    reason: format!("sample format {other} is not supported (need f32 or i16)"),
                });
            }
        }
        .map_err(|e| unavailable(role, label, &e))?;
        stream.play().map_err(|e| unavailable(role, label, &e))?;
        Ok(OutputStream {
            _stream: stream,
            name: name_of(&device),
            ring,
            capacity,
            rate,
            resampler: StreamResampler::new(SAMPLE_RATE, rate)?,
            scratch: Vec::new(),
        })
    }

    /// 10 ms frames needed to top the ring up to [`PLAYOUT_TARGET`].
    fn frames_wanted(&self) -> u64 {
        let buffered = self.capacity.saturating_sub(self.ring.slots()) as u64;
        let target = PLAYOUT_TARGET.as_millis() as u64 * u64::from(self.rate) / 1000;
        let per_frame = u64::from(self.rate) / 100;
        target.saturating_sub(buffered).div_ceil(per_frame.max(1))
    }

    fn play(&mut self, frame: &[f32]) {
        self.scratch.clear();
        if let Err(error) = self.resampler.process(frame, &mut self.scratch) {
            tracing::warn!(%error, "speaker audio dropped");
        }
        // A full ring (the card stalled for its whole length) keeps what it has: the newest
        // audio is what does not fit.
        let fits = self.scratch.len().min(self.ring.slots());
        for &sample in &self.scratch[..fits] {
            // Cannot fail: `fits` slots are free and only this thread fills the ring.
            let _ = self.ring.push(sample);
        }
    }
}

/// The samples a ring holds at `rate`: [`RING_MAX`] of audio.
fn ring_capacity(rate: u32) -> usize {
    (RING_MAX.as_millis() as usize * rate as usize / 1000).max(1)
}

/// One role's device: open, or failed and silent on a clock until the retry time.
enum Slot<S> {
    Closed,
    Open(S),
    Failed { clock: FrameClock, retry_at: Instant },
}

/// The engine's cpal side.
pub(super) struct CpalIo {
    host: cpal::Host,
    errors: Arc<Mutex<Vec<(DeviceRole, cpal::Error)>>>,
    input: Slot<InputStream>,
    output: Slot<OutputStream>,
    ringer: Slot<OutputStream>,
    opened_for: Option<DeviceChoice>,
    last_report: Option<AudioDeviceEvent>,
}

impl CpalIo {
    pub(super) fn new() -> CpalIo {
        CpalIo {
            host: cpal::default_host(),
            errors: Arc::default(),
            input: Slot::Closed,
            output: Slot::Closed,
            ringer: Slot::Closed,
            opened_for: None,
            last_report: None,
        }
    }

    fn failed(&mut self, state: &mut State, error: &MediaError, role: DeviceRole, device: Option<&str>) -> FrameClock {
        let event = AudioDeviceEvent::DeviceFailed {
            role,
            device: device.unwrap_or(DEFAULT_NAME).to_owned(),
            code: error.code().to_owned(),
            message: error.to_string(),
        };
        report_once(state, &mut self.last_report, event);
        FrameClock::new(Instant::now())
    }
}

fn due_for_retry<S>(slot: &Slot<S>, now: Instant) -> bool {
    match slot {
        Slot::Closed => true,
        Slot::Open(_) => false,
        Slot::Failed { retry_at, .. } => now >= *retry_at,
    }
}

impl DeviceIo for CpalIo {
    fn sync(&mut self, want: &Want, state: &mut State) {
        let now = Instant::now();
        // Device errors since the last tick: a lost device falls back to the default.
        let errors: Vec<_> = self.errors.lock().unwrap_or_else(PoisonError::into_inner).drain(..).collect();
        for (role, error) in errors {
            tracing::warn!(%role, %error, "audio stream error");
            if !matches!(error.kind(), cpal::ErrorKind::DeviceNotAvailable | cpal::ErrorKind::StreamInvalidated) {
                continue;
            }
            let (slot_name, chosen) = match role {
                DeviceRole::Microphone => {
                    let name = if let Slot::Open(s) = &self.input { Some(s.name.clone()) } else { None };
                    self.input = Slot::Closed;
                    (name, state.choice.microphone.take())
                }
                DeviceRole::Speaker => {
                    let name = if let Slot::Open(s) = &self.output { Some(s.name.clone()) } else { None };
                    self.output = Slot::Closed;
                    (name, state.choice.speaker.take())
                }
                DeviceRole::Ringer => {
                    let name = if let Slot::Open(s) = &self.ringer { Some(s.name.clone()) } else { None };
                    self.ringer = Slot::Closed;
                    (name, state.choice.ringer.take())
                }
            };
            let device = chosen.or(slot_name).unwrap_or_else(|| DEFAULT_NAME.to_owned());
            state.emit(AudioDeviceEvent::DeviceLost { role, device, fell_back_to: DEFAULT_NAME.to_owned() });
        }
        let choice = state.choice.clone();
        if !want.active {
            self.input = Slot::Closed;
            self.output = Slot::Closed;
            self.ringer = Slot::Closed;
            self.opened_for = None;
            return;
        }
        if self.opened_for.as_ref() != Some(&choice) {
            // The agent chose other devices: reopen everything.
            self.input = Slot::Closed;
            self.output = Slot::Closed;
            self.ringer = Slot::Closed;
            self.opened_for = Some(choice.clone());
        }
        if due_for_retry(&self.input, now) {
            self.input = match InputStream::open(&self.host, choice.microphone.as_deref(), &self.errors) {
                Ok(stream) => Slot::Open(stream),
                Err(error) => Slot::Failed {
                    clock: self.failed(state, &error, DeviceRole::Microphone, choice.microphone.as_deref()),
                    retry_at: now + RETRY_AFTER,
                },
            };
        }
        if due_for_retry(&self.output, now) {
            self.output =
                match OutputStream::open(&self.host, DeviceRole::Speaker, choice.speaker.as_deref(), &self.errors) {
                    Ok(stream) => Slot::Open(stream),
                    Err(error) => Slot::Failed {
                        clock: self.failed(state, &error, DeviceRole::Speaker, choice.speaker.as_deref()),
                        retry_at: now + RETRY_AFTER,
                    },
                };
        }
        if !want.separate_ringer {
            self.ringer = Slot::Closed;
        } else if due_for_retry(&self.ringer, now) {
            self.ringer =
                match OutputStream::open(&self.host, DeviceRole::Ringer, choice.ringer.as_deref(), &self.errors) {
                    Ok(stream) => Slot::Open(stream),
                    Err(error) => Slot::Failed {
                        clock: self.failed(state, &error, DeviceRole::Ringer, choice.ringer.as_deref()),
                        retry_at: now + RETRY_AFTER,
                    },
                };
        }
    }

    fn playout_due(&mut self, now: Instant) -> u64 {
        match &mut self.output {
            Slot::Open(stream) => stream.frames_wanted(),
            Slot::Failed { clock, .. } => clock.due(now),
            Slot::Closed => 0,
        }
    }

    fn play(&mut self, speaker: &[f32], ringer: Option<&[f32]>) {
        if let Slot::Open(stream) = &mut self.output {
            stream.play(speaker);
        }
        if let (Some(frame), Slot::Open(stream)) = (ringer, &mut self.ringer) {
            stream.play(frame);
        }
    }

    fn capture(&mut self, now: Instant, frame: &mut [f32]) -> bool {
        match &mut self.input {
            Slot::Open(stream) => stream.next_frame(frame),
            Slot::Failed { clock, .. } => {
                // No microphone: silence on the clock.
                if clock.take_one(now) {
                    frame.fill(0.0);
                    true
                } else {
                    false
                }
            }
            Slot::Closed => false,
        }
    }

    fn recorded_names(&self) -> Option<(String, String)> {
        None
    }
}
