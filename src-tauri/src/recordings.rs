//! The call recordings Telnyx made, as files in the app's data folder (`recordings/`): written
//! when a recorded call ends, read back to play on the speaker. Names are the app's own
//! (`<call-log row>-<Telnyx id>.wav`, checked), never a path from outside.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use softphone_core::ipc::{ErrorCode, IpcError};

/// The folder in the data directory.
const FOLDER: &str = "recordings";

/// Where the recordings are, once the data folder is known.
#[derive(Default)]
pub struct Recordings {
    data_dir: Mutex<Option<PathBuf>>,
}

impl Recordings {
    /// Keeps recordings under `data_dir` from now on.
    pub fn open_in(&self, data_dir: &Path) {
        if let Ok(mut dir) = self.data_dir.lock() {
            *dir = Some(data_dir.to_owned());
        }
    }

    fn data_dir(&self) -> Result<PathBuf, IpcError> {
        self.data_dir
            .lock()
            .ok()
            .and_then(|dir| dir.clone())
            .ok_or_else(|| IpcError::new(ErrorCode::StoreFailed, "The app's data folder is not open."))
    }

    /// Writes the WAV `bytes` of Telnyx's recording `telnyx_id` of call-log row `row`; returns its
    /// name relative to the data folder. Written to a temporary file first, so a crash never
    /// leaves half a recording under its real name.
    pub fn save(&self, row: i64, telnyx_id: &str, bytes: &[u8]) -> Result<String, IpcError> {
        let safe: String = telnyx_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(64).collect();
        if safe.is_empty() {
            return Err(IpcError::new(
                ErrorCode::TelnyxInvalidResponse,
                "Telnyx named the recording with no usable id.",
            ));
        }
        let relative = format!("{FOLDER}/{row}-{safe}.wav");
        let data_dir = self.data_dir()?;
        let path = data_dir.join(&relative);
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(data_dir.join(FOLDER))?;
            let partial = path.with_extension("wav.partial");
            std::fs::write(&partial, bytes)?;
            std::fs::rename(&partial, &path)
        };
        write().map_err(|error| {
            IpcError::new(
                ErrorCode::StoreFailed,
                format!("Could not save the call's recording in {}: {error}", path.display()),
            )
        })?;
        tracing::info!(file = %relative, bytes = bytes.len(), "call recording kept");
        Ok(relative)
    }

    /// The recordings `files` (as [`Recordings::save`] named them) one after the other, as the
    /// speaker plays them (48 kHz mono: both channels mixed).
    pub fn samples(&self, files: &[String]) -> Result<Arc<[f32]>, IpcError> {
        let data_dir = self.data_dir()?;
        let mut all = Vec::new();
        for file in files {
            let inside = file.strip_prefix(&format!("{FOLDER}/")).is_some_and(|name| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
            });
            if !inside || file.contains("..") {
                return Err(IpcError::new(
                    ErrorCode::NotFound,
                    "That recording is not in the app's recordings folder.",
                ));
            }
            let samples = softphone_media::dsp::tones::load_wav(&data_dir.join(file)).map_err(|error| {
                IpcError::new(ErrorCode::NotFound, format!("The call's recording cannot be played: {error}"))
            })?;
            all.extend_from_slice(&samples);
        }
        if all.is_empty() {
            return Err(IpcError::new(ErrorCode::NotFound, "This call has no recording."));
        }
        Ok(all.into())
    }
}
