//! Commands about the agent's settings and audio devices.

use softphone_core::call::CallEvent;
use softphone_core::ipc::{AudioDeviceList, IpcError};
use softphone_core::settings::Settings;
use tauri::{AppHandle, Runtime, State};
use tokio::sync::mpsc;

use crate::audio::Audio;
use crate::database::Database;

#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn get_settings(database: State<'_, Database>) -> Settings {
    database.settings()
}

/// Validates and stores the agent's settings and applies them where they act (the audio devices,
/// Do Not Disturb in the call machine, the login item); returns what is now in force. What the
/// app decided meanwhile (the tray notice given, the login item turned on by the first login)
/// is not undone by a window that read the settings before.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn save_settings<R: Runtime>(
    app: AppHandle<R>,
    database: State<'_, Database>,
    audio: State<'_, Audio>,
    calls: State<'_, mpsc::UnboundedSender<CallEvent>>,
    settings: Settings,
) -> Result<Settings, IpcError> {
    let settings = database.save_settings(settings.keeping_app_decisions_of(&database.settings()))?;
    apply(&settings, &audio, &calls);
    crate::login_item::apply(&app, settings.start_at_login);
    Ok(settings)
}

/// Puts `settings` to work: the devices and ringtone, Do Not Disturb (the call machine turns
/// calls away under it; the tray and the status follow the machine) and the hold music.
pub fn apply(settings: &Settings, audio: &Audio, calls: &mpsc::UnboundedSender<CallEvent>) {
    audio.apply(settings);
    // A stopped call loop means the app is closing.
    let _ = calls.send(CallEvent::SetDoNotDisturb { on: settings.do_not_disturb });
    let _ = calls.send(CallEvent::SetHoldMusic { on: settings.hold_music, url: settings.hold_music_url.clone() });
    let announcement = settings.recording_announcement_url.clone();
    let _ = calls.send(CallEvent::SetAutoRecord { on: settings.record_calls, announcement });
}

/// The microphones and speakers there are, for the Settings page.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn get_audio_devices(audio: State<'_, Audio>) -> Result<AudioDeviceList, IpcError> {
    audio.devices()
}

/// Plays a ringtone once, so the agent can hear it before choosing it.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn preview_ringtone(audio: State<'_, Audio>, name: String) -> Result<(), IpcError> {
    audio.preview_ringtone(&name)
}

/// Fake audio devices only (`SOFTPHONE_FAKE_AUDIO`): unplugs `name`, as a test would a headset.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn unplug_fake_audio_device(audio: State<'_, Audio>, name: String) -> Result<(), IpcError> {
    audio.unplug_fake(&name)
}
