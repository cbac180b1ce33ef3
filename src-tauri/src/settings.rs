//! The agent's settings (non-secret, in the local database): read at start-up, applied where
//! they act (region, Do Not Disturb, audio devices), saved from the Settings page.

use std::sync::Mutex;

use softphone_core::call::CallEvent;
use softphone_core::ipc::{AudioDeviceInfo, AudioDeviceList, AudioNotice, event};
use softphone_core::ipc::{ErrorCode, IpcError};
use softphone_core::phone::Region;
use softphone_core::settings::{Ringtone, Settings};
use softphone_media::{AudioDevice, DeviceChoice};
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::mpsc;

use crate::database::Database;
use crate::engine::EngineHost;

/// The settings in force, managed (the database has the same).
#[derive(Default)]
pub struct CurrentSettings(Mutex<Settings>);

/// The settings in force.
pub fn current<R: Runtime>(app: &AppHandle<R>) -> Settings {
    app.state::<CurrentSettings>().0.lock().map(|settings| settings.clone()).unwrap_or_default()
}

/// The region for numbers typed or imported without a country code.
pub fn region<R: Runtime>(app: &AppHandle<R>) -> Region {
    current(app).default_region
}

/// Reads the stored settings (defaults when the database is not open) and applies them.
pub fn load<R: Runtime>(app: &AppHandle<R>) {
    let settings = match app.state::<Database>().with(|store| store.settings()) {
        Ok(settings) => settings,
        Err(error) => {
            tracing::warn!(reason = %error.message, "settings could not be read; using the defaults");
            Settings::default()
        }
    };
    apply(app, &settings);
    if let Ok(mut current) = app.state::<CurrentSettings>().0.lock() {
        *current = settings;
    }
}

/// Validates, stores and applies new settings. Returns what is now in force.
pub fn save<R: Runtime>(app: &AppHandle<R>, settings: Settings) -> Result<Settings, IpcError> {
    settings.validate().map_err(|error| IpcError::new(ErrorCode::InvalidArgument, error.to_string()))?;
    app.state::<Database>().with(|store| store.save_settings(&settings))?;
    apply(app, &settings);
    if let Ok(mut current) = app.state::<CurrentSettings>().0.lock() {
        *current = settings.clone();
    }
    tracing::info!(region = %settings.default_region, engine = ?settings.engine, "settings saved");
    Ok(settings)
}

/// Do Not Disturb changed from the tray or the status bar: remembered for the next start.
pub fn remember_do_not_disturb<R: Runtime>(app: &AppHandle<R>, on: bool) {
    let mut settings = current(app);
    if settings.do_not_disturb == on {
        return;
    }
    settings.do_not_disturb = on;
    if let Err(error) = app.state::<Database>().with(|store| store.save_settings(&settings)) {
        tracing::warn!(reason = %error.message, "Do Not Disturb could not be remembered");
    }
    if let Ok(mut current) = app.state::<CurrentSettings>().0.lock() {
        *current = settings;
    }
}

fn apply<R: Runtime>(app: &AppHandle<R>, settings: &Settings) {
    // The call machine turns calls away under Do Not Disturb; the tray and status follow it.
    let on = settings.do_not_disturb;
    if let Some(calls) = app.try_state::<mpsc::UnboundedSender<CallEvent>>() {
        let _ = calls.send(CallEvent::SetDoNotDisturb { on });
    }
    let choice = DeviceChoice {
        microphone: settings.audio_input.clone(),
        speaker: settings.audio_output.clone(),
        ringer: settings.ringer_output.clone(),
    };
    if let Some(audio) = app.state::<EngineHost>().audio() {
        audio.set_ringtone(settings.ringtone());
        if let Err(error) = audio.select(choice) {
            tracing::warn!(code = ?error.code(), %error, "a chosen audio device is not there; using the default");
        }
    }
}

/// The microphones and speakers there are (the fake ones in tests).
pub fn audio_devices<R: Runtime>(app: &AppHandle<R>) -> Result<AudioDeviceList, IpcError> {
    let host = app.state::<EngineHost>();
    let Some(audio) = host.audio() else {
        return Ok(AudioDeviceList::default());
    };
    let devices = audio.devices().map_err(|error| IpcError::new(ErrorCode::AudioUnavailable, error.to_string()))?;
    let listed = |list: Vec<AudioDevice>| {
        list.into_iter().map(|device| AudioDeviceInfo { name: device.name, is_default: device.is_default }).collect()
    };
    Ok(AudioDeviceList { inputs: listed(devices.inputs), outputs: listed(devices.outputs), fake: devices.fake })
}

/// Tells the window whenever a chosen audio device goes away (audio falls back to the default)
/// or cannot be opened, for the life of the app.
pub fn forward_audio_device_events<R: Runtime>(app: &AppHandle<R>) {
    let Some(audio) = app.state::<EngineHost>().audio().cloned() else { return };
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

/// Fake devices only: unplugs `name`, as a test unplugs a headset.
pub fn unplug_fake_audio_device<R: Runtime>(app: &AppHandle<R>, name: &str) -> Result<(), IpcError> {
    let host = app.state::<EngineHost>();
    let audio = host.audio().filter(|audio| audio.is_fake()).ok_or_else(|| {
        IpcError::new(ErrorCode::InvalidArgument, "Only fake audio devices can be unplugged by the app.")
    })?;
    audio.unplug_fake_device(name).map_err(|error| IpcError::new(ErrorCode::InvalidArgument, error.to_string()))
}

/// Plays the ringtone stored as `name` once on the ringer device (Settings' Preview).
pub fn preview_ringtone<R: Runtime>(app: &AppHandle<R>, name: &str) -> Result<(), IpcError> {
    let ringtone = Ringtone::from_name(name).ok_or_else(|| {
        IpcError::new(ErrorCode::InvalidArgument, format!("There is no ringtone called \u{201c}{name}\u{201d}."))
    })?;
    let host = app.state::<EngineHost>();
    let audio = host.audio().ok_or_else(|| {
        IpcError::new(ErrorCode::AudioUnavailable, "No speaker could be opened to play the ringtone.")
    })?;
    audio.preview_ringtone(ringtone);
    Ok(())
}
