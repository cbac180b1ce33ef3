//! Commands about the agent's settings and audio devices.

use softphone_core::ipc::{AudioDeviceList, IpcError};
use softphone_core::settings::Settings;
use tauri::{AppHandle, Runtime};

#[tauri::command]
pub fn get_settings<R: Runtime>(app: AppHandle<R>) -> Settings {
    crate::settings::current(&app)
}

/// Validates, stores and applies the agent's settings; returns what is now in force.
#[tauri::command]
pub fn save_settings<R: Runtime>(app: AppHandle<R>, settings: Settings) -> Result<Settings, IpcError> {
    crate::settings::save(&app, settings)
}

/// The microphones and speakers there are, for the Settings page.
#[tauri::command]
pub fn get_audio_devices<R: Runtime>(app: AppHandle<R>) -> Result<AudioDeviceList, IpcError> {
    crate::settings::audio_devices(&app)
}

/// Plays a ringtone once, so the agent can hear it before choosing it.
#[tauri::command]
pub fn preview_ringtone<R: Runtime>(app: AppHandle<R>, name: String) -> Result<(), IpcError> {
    crate::settings::preview_ringtone(&app, &name)
}

/// Fake audio devices only (`SOFTPHONE_FAKE_AUDIO`): unplugs `name`, as a test would a headset.
#[tauri::command]
pub fn unplug_fake_audio_device<R: Runtime>(app: AppHandle<R>, name: String) -> Result<(), IpcError> {
    crate::settings::unplug_fake_audio_device(&app, &name)
}
