//! The agent's voicemail greetings: WAV files kept in the app's data directory (`greetings/`),
//! imported from a file the agent names. A voicemail drop plays the chosen one into a call.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use softphone_core::call::GREETING_MAX_SECS;
use softphone_core::ipc::{ErrorCode, Greeting, IpcError};

use crate::errors;

/// The folder of the data directory that holds the greetings.
const GREETINGS_DIR: &str = "greetings";
/// Shortest greeting accepted: anything shorter is a slip, not a message.
const GREETING_MIN_MS: u64 = 500;
/// The media engine's rate, at which greetings are measured.
const RATE: u64 = 48_000;

/// Where the greetings are kept, once the data directory is known.
#[derive(Default)]
pub struct Greetings {
    dir: Mutex<Option<PathBuf>>,
}

impl Greetings {
    /// Keeps greetings under `data_dir` from now on.
    pub fn open_in(&self, data_dir: &Path) {
        if let Ok(mut dir) = self.dir.lock() {
            *dir = Some(data_dir.join(GREETINGS_DIR));
        }
    }

    fn dir(&self) -> Result<PathBuf, IpcError> {
        self.dir
            .lock()
            .ok()
            .and_then(|dir| dir.clone())
            .ok_or_else(|| errors::internal("The greetings folder before start-up"))
    }

    /// Copies the WAV at `source` in as a greeting named after the file, checked first: it must
    /// play (16-bit or float PCM) and last from half a second to [`GREETING_MAX_SECS`]. A greeting
    /// of the same name is replaced.
    pub fn import(&self, source: &Path) -> Result<Greeting, IpcError> {
        let name = greeting_name(source)?;
        let duration_ms = playable_ms(source)?;
        let dir = self.dir()?;
        std::fs::create_dir_all(&dir).map_err(|error| file_error("create the greetings folder", &error))?;
        std::fs::copy(source, dir.join(format!("{name}.wav")))
            .map_err(|error| file_error("copy the greeting", &error))?;
        tracing::info!(%name, duration_ms, "greeting imported");
        Ok(Greeting { name, duration_ms })
    }

    /// Every greeting, by name. Files that no longer play are left out (and logged).
    pub fn list(&self) -> Result<Vec<Greeting>, IpcError> {
        let dir = self.dir()?;
        let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(Vec::new()) };
        let mut greetings: Vec<Greeting> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|extension| extension == "wav"))
            .filter_map(|path| {
                let name = path.file_stem()?.to_string_lossy().into_owned();
                match playable_ms(&path) {
                    Ok(duration_ms) => Some(Greeting { name, duration_ms }),
                    Err(error) => {
                        tracing::warn!(%name, reason = %error.message, "a greeting no longer plays");
                        None
                    }
                }
            })
            .collect();
        greetings.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(greetings)
    }

    /// The file of the greeting to drop: `chosen` if it is there, else the only one or the first
    /// by name; an error the agent can act on when there is none.
    pub fn file_to_drop(&self, chosen: Option<&str>) -> Result<PathBuf, IpcError> {
        let greetings = self.list()?;
        let greeting = chosen
            .and_then(|chosen| greetings.iter().find(|greeting| greeting.name == chosen))
            .or_else(|| greetings.first())
            .ok_or_else(|| {
                IpcError::new(
                    ErrorCode::NotFound,
                    "There is no voicemail greeting yet; import one in Dial list > Voicemail greeting.",
                )
            })?;
        Ok(self.dir()?.join(format!("{}.wav", greeting.name)))
    }
}

impl Greetings {
    /// Keeps `samples` (48 kHz mono, from the microphone) as the greeting `name`, checked as an
    /// imported one is; a greeting of the same name is replaced.
    pub fn save_recorded(&self, name: &str, samples: &[f32]) -> Result<Greeting, IpcError> {
        let name = checked_name(name)?;
        let duration_ms = samples.len() as u64 * 1000 / RATE;
        check_duration(duration_ms)?;
        let dir = self.dir()?;
        std::fs::create_dir_all(&dir).map_err(|error| file_error("create the greetings folder", &error))?;
        softphone_media::dsp::tones::write_wav(&dir.join(format!("{name}.wav")), samples)
            .map_err(|error| IpcError::new(ErrorCode::StoreFailed, format!("Could not save the greeting: {error}")))?;
        tracing::info!(%name, duration_ms, "greeting recorded and saved");
        Ok(Greeting { name, duration_ms })
    }

    /// The greeting `name` as the speaker plays it (48 kHz mono).
    pub fn samples(&self, name: &str) -> Result<std::sync::Arc<[f32]>, IpcError> {
        let name = checked_name(name)?;
        softphone_media::dsp::tones::load_wav(&self.dir()?.join(format!("{name}.wav")))
            .map_err(|error| IpcError::new(ErrorCode::NotFound, format!("That greeting cannot be played: {error}")))
    }

    /// The WAV bytes of the greeting `name` (the webview engine decodes them itself). Only files of
    /// the greetings folder are read, by a name that cannot leave it.
    pub fn bytes(&self, name: &str) -> Result<Vec<u8>, IpcError> {
        let name = checked_name(name)?;
        std::fs::read(self.dir()?.join(format!("{name}.wav"))).map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => IpcError::new(ErrorCode::NotFound, "That greeting is no longer there."),
            _ => file_error("read the greeting", &error),
        })
    }
}

/// The greeting's name for an imported file: the file's stem ([`checked_name`]).
fn greeting_name(source: &Path) -> Result<String, IpcError> {
    checked_name(&source.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default())
}

/// A greeting's name as given: letters, digits, spaces, `-` and `_` only, at most 60, so it is
/// a file name in the greetings folder and never a path out of it.
fn checked_name(name: &str) -> Result<String, IpcError> {
    let name = name.trim();
    let fits = !name.is_empty()
        && name.chars().count() <= 60
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'));
    if !fits {
        return Err(IpcError::new(
            ErrorCode::InvalidArgument,
            "Name the greeting with letters, digits, spaces, - or _ (at most 60), e.g. main-greeting.",
        ));
    }
    Ok(name.to_owned())
}

/// How long the WAV at `path` plays, if it is a greeting that can be dropped.
fn playable_ms(path: &Path) -> Result<u64, IpcError> {
    let samples = softphone_media::dsp::tones::load_wav(path).map_err(|error| {
        IpcError::new(
            ErrorCode::InvalidArgument,
            format!("That file is not a WAV greeting that can be played: {error}"),
        )
    })?;
    let duration_ms = samples.len() as u64 * 1000 / RATE;
    check_duration(duration_ms)?;
    Ok(duration_ms)
}

/// A greeting lasts from half a second to [`GREETING_MAX_SECS`].
fn check_duration(duration_ms: u64) -> Result<(), IpcError> {
    if duration_ms < GREETING_MIN_MS {
        return Err(IpcError::new(ErrorCode::InvalidArgument, "The greeting is shorter than half a second."));
    }
    if duration_ms > GREETING_MAX_SECS * 1000 {
        return Err(IpcError::new(
            ErrorCode::InvalidArgument,
            format!("The greeting is longer than {} minutes; keep it short.", GREETING_MAX_SECS / 60),
        ));
    }
    Ok(())
}

fn file_error(what: &str, error: &std::io::Error) -> IpcError {
    IpcError::new(ErrorCode::StoreFailed, format!("Could not {what}: {error}"))
}
