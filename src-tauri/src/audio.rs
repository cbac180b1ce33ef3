//! The sound devices as managed state: the microphone and speaker calls use, the ringer, the
//! device choice from the settings, the meters, and the notices when a device goes away.

use softphone_core::call::RingerMode;
use softphone_core::ipc::{AudioDeviceInfo, AudioDeviceList, AudioMeter, AudioNotice, ErrorCode, IpcError, event};
use softphone_core::settings::{Ringtone, Settings};
use std::sync::Mutex;

use softphone_media::{AudioDevice, AudioSystem, DeviceChoice, FakeAudioSpec, MicRecording, SpeakerPlayback};
use tauri::{AppHandle, Emitter, Runtime};

/// The audio devices, managed.
pub struct Audio {
    system: Result<AudioSystem, String>,
    /// Why calls have no sound, when no device could be opened (said on the diagnostics page).
    problem: Option<String>,
    /// A voicemail greeting being recorded from the microphone.
    recording: Mutex<Option<MicRecording>>,
    /// A greeting playing on the speaker (the agent listens to it before using it).
    playing: Mutex<Option<SpeakerPlayback>>,
}

impl Audio {
    /// The sound cards (or the fake devices `SOFTPHONE_FAKE_AUDIO` names). Without a usable
    /// microphone or speaker the app still runs, on silent devices, and says why.
    pub fn open() -> Self {
        match AudioSystem::from_env().and_then(|audio| audio.probe().map(|()| audio)) {
            Ok(audio) => {
                Audio { system: Ok(audio), problem: None, recording: Mutex::default(), playing: Mutex::default() }
            }
            Err(error) => {
                tracing::warn!(code = ?error.code(), %error, "no usable audio devices; calls will be silent");
                let silent = AudioSystem::fake(FakeAudioSpec::default()).map_err(|e| e.to_string());
                let problem = format!("No microphone or speaker could be opened ({error}); calls have no sound.");
                Audio { system: silent, problem: Some(problem), recording: Mutex::default(), playing: Mutex::default() }
            }
        }
    }

    /// The devices calls and the ringer use, or why there are none.
    pub fn system(&self) -> Result<AudioSystem, String> {
        self.system.clone()
    }

    /// Starts recording the microphone, for a greeting of at most `max_seconds`; one at a time.
    pub fn start_recording(&self, max_seconds: u32) -> Result<(), IpcError> {
        let audio =
            self.system.as_ref().map_err(|reason| IpcError::new(ErrorCode::AudioUnavailable, reason.clone()))?;
        let mut recording = self.recording.lock().map_err(|_| crate::errors::internal("The recorder"))?;
        if recording.is_some() {
            return Err(IpcError::new(
                ErrorCode::InvalidArgument,
                "A greeting is being recorded already; stop it first.",
            ));
        }
        *recording = Some(audio.record_microphone(max_seconds));
        tracing::info!("recording a greeting from the microphone");
        Ok(())
    }

    /// Stops the recording and hands over what it holds (48 kHz mono).
    pub fn finish_recording(&self) -> Result<Vec<f32>, IpcError> {
        let recording = self.recording.lock().map_err(|_| crate::errors::internal("The recorder"))?.take();
        let recording =
            recording.ok_or_else(|| IpcError::new(ErrorCode::NotFound, "No greeting is being recorded."))?;
        tracing::info!(duration_ms = recording.duration_ms(), "greeting recorded");
        Ok(recording.finish())
    }

    /// Plays `samples` (48 kHz mono) on the call speaker, instead of anything played before.
    pub fn play(&self, samples: std::sync::Arc<[f32]>) -> Result<(), IpcError> {
        let audio =
            self.system.as_ref().map_err(|reason| IpcError::new(ErrorCode::AudioUnavailable, reason.clone()))?;
        let playback = audio.play_on_speaker(samples);
        *self.playing.lock().map_err(|_| crate::errors::internal("The player"))? = Some(playback);
        Ok(())
    }

    /// Stops the greeting playing.
    pub fn stop_playing(&self) {
        if let Ok(mut playing) = self.playing.lock() {
            *playing = None;
        }
    }

    /// Lets go of a greeting that has played out (so the devices can close); true when nothing
    /// plays any more.
    pub fn release_played(&self) -> bool {
        let Ok(mut playing) = self.playing.lock() else { return true };
        if playing.as_ref().is_some_and(SpeakerPlayback::finished) {
            *playing = None;
        }
        playing.is_none()
    }

    /// Plays or stops the ringtone on the ringer device.
    pub fn ring(&self, mode: RingerMode) {
        let Ok(audio) = &self.system else { return };
        match mode {
            RingerMode::Off => {
                audio.stop_ringtone();
                audio.stop_call_waiting();
            }
            RingerMode::Ring => {
                audio.stop_call_waiting();
                audio.start_ringtone();
            }
            RingerMode::CallWaiting => {
                audio.stop_ringtone();
                audio.start_call_waiting();
            }
        }
    }

    /// The devices and the ringtone the settings choose.
    pub fn apply(&self, settings: &Settings) {
        let Ok(audio) = &self.system else { return };
        audio.set_ringtone(settings.ringtone());
        let choice = DeviceChoice {
            microphone: settings.audio_input.clone(),
            speaker: settings.audio_output.clone(),
            ringer: settings.ringer_output.clone(),
        };
        if let Err(error) = audio.select(choice) {
            tracing::warn!(code = ?error.code(), %error, "a chosen audio device is not there; using the default");
        }
    }

    /// The microphones and speakers there are (the fake ones in tests).
    pub fn devices(&self) -> Result<AudioDeviceList, IpcError> {
        let Ok(audio) = &self.system else {
            return Ok(AudioDeviceList::default());
        };
        let devices = audio.devices().map_err(|error| IpcError::new(ErrorCode::AudioUnavailable, error.to_string()))?;
        let listed = |list: Vec<AudioDevice>| {
            list.into_iter()
                .map(|device| AudioDeviceInfo { name: device.name, is_default: device.is_default })
                .collect()
        };
        Ok(AudioDeviceList { inputs: listed(devices.inputs), outputs: listed(devices.outputs), fake: devices.fake })
    }

    /// "Microphone: X · Speaker: Y · Ringer: Z" (defaults named as such), or why there is no sound.
    pub fn describe(&self) -> String {
        let audio = match (&self.system, &self.problem) {
            (_, Some(problem)) => return problem.clone(),
            (Err(reason), None) => return format!("No audio devices: {reason}"),
            (Ok(audio), None) => audio,
        };
        let choice = audio.choice();
        let name = |chosen: &Option<String>| chosen.clone().unwrap_or_else(|| "system default".to_owned());
        let fake = if audio.is_fake() { " (test devices)" } else { "" };
        format!(
            "Microphone: {} · Speaker: {} · Ringer: {}{fake}",
            name(&choice.microphone),
            name(&choice.speaker),
            name(&choice.ringer)
        )
    }

    /// The in-call meters (silence when there are no devices).
    pub fn meter(&self) -> AudioMeter {
        let Ok(audio) = &self.system else {
            return AudioMeter { input_dbfs: -120.0, output_dbfs: -120.0, heard_hz: None };
        };
        let levels = audio.levels();
        AudioMeter {
            input_dbfs: f64::from(levels.input_dbfs),
            output_dbfs: f64::from(levels.output_dbfs),
            heard_hz: audio.speaker_analysis().and_then(|heard| heard.dominant_hz).map(f64::from),
        }
    }

    /// Fake devices only: unplugs `name`, as a test unplugs a headset.
    pub fn unplug_fake(&self, name: &str) -> Result<(), IpcError> {
        let audio = self.system.as_ref().ok().filter(|audio| audio.is_fake()).ok_or_else(|| {
            IpcError::new(ErrorCode::InvalidArgument, "Only fake audio devices can be unplugged by the app.")
        })?;
        audio.unplug_fake_device(name).map_err(|error| IpcError::new(ErrorCode::InvalidArgument, error.to_string()))
    }

    /// Plays the ringtone stored as `name` once on the ringer device (Settings' Preview).
    pub fn preview_ringtone(&self, name: &str) -> Result<(), IpcError> {
        let ringtone = Ringtone::from_name(name).ok_or_else(|| {
            IpcError::new(ErrorCode::InvalidArgument, format!("There is no ringtone called \u{201c}{name}\u{201d}."))
        })?;
        let audio = self.system.as_ref().map_err(|_| {
            IpcError::new(ErrorCode::AudioUnavailable, "No speaker could be opened to play the ringtone.")
        })?;
        audio.preview_ringtone(ringtone);
        Ok(())
    }

    /// Tells the window whenever a chosen device goes away (audio falls back to the default) or
    /// cannot be opened, for the life of the app.
    pub fn forward_device_events<R: Runtime>(&self, app: &AppHandle<R>) {
        let Ok(audio) = &self.system else { return };
        let events = audio.subscribe();
        let app = app.clone();
        let forwarding = std::thread::Builder::new().name("audio-device-events".into()).spawn(move || {
            for event in events {
                let notice = AudioNotice { message: event.sentence() };
                tracing::warn!(message = %notice.message, "audio device changed");
                if let Err(error) = app.emit(event::AUDIO_DEVICE_CHANGED, notice) {
                    tracing::warn!(%error, "could not tell the window about the audio device");
                }
            }
        });
        if let Err(error) = forwarding {
            tracing::warn!(%error, "audio device changes will not be shown");
        }
    }
}
