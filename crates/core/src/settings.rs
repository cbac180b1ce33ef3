//! The app's non-secret settings, kept in the local database (credentials live in the OS
//! keychain, never here).
//!
//! Forward compatible by construction: a field missing from what was stored (written by an
//! older version) or unreadable (a value this version does not understand) takes its default,
//! and keys this version does not know are left alone for the version that wrote them.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::dialing::CallingHours;
use crate::phone::Region;

/// Every setting the app keeps. `Default` is what a fresh install uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Numbers typed or imported without `+` are read in this region.
    pub default_region: Region,
    /// Which call engine carries calls.
    pub engine: EngineChoice,
    /// Microphone, by the name the system gives it; `None` is the system default.
    pub audio_input: Option<String>,
    /// Speaker or headset for calls; `None` is the system default.
    pub audio_output: Option<String>,
    /// Where incoming calls ring (often the laptop speaker while the headset is on); `None` is
    /// the call output.
    pub ringer_output: Option<String>,
    /// The ringtone's name.
    pub ringtone: String,
    /// Inbound calls are declined as busy and not rung.
    pub do_not_disturb: bool,
    /// Where the main window was last; `None` lets the window manager place it.
    pub window: Option<WindowGeometry>,
    /// When leads may be called, in their own local time (the dialer's rule; 8:00-21:00).
    pub calling_hours: CallingHours,
    /// The agent's caller-ID numbers, E.164, the default first. Each outbound call presents the
    /// one that shares the callee's area code (local presence), else one in the callee's country,
    /// else the first. Empty: Telnyx presents the connection's own number.
    pub caller_numbers: Vec<String>,
    /// The voicemail greeting a drop plays, by name; `None` (or one no longer there) plays the
    /// first by name.
    pub voicemail_greeting: Option<String>,
    /// Start the app when the agent logs in to the computer. `None` until decided: the first
    /// successful login to Telnyx turns it on, unless the agent chose already.
    pub start_at_login: Option<bool>,
    /// Started at login, the app waits in the tray without opening its window.
    pub start_in_tray: bool,
    /// Closing the window leaves the phone running in the tray, ready to ring; off, closing the
    /// window quits.
    pub keep_running_in_tray: bool,
    /// The agent was told, once, that a closed window leaves the phone running in the tray.
    pub told_about_tray: bool,
    /// A caller on hold hears music (Telnyx plays it into their leg) instead of silence.
    pub hold_music: bool,
    /// The music: a WAV or MP3 file at an `https://` (or `http://`) address Telnyx can fetch.
    /// `None` plays the account's default (the simulator's in demo mode; none on Telnyx).
    pub hold_music_url: Option<String>,
    /// Every call is recorded from its answer on (Telnyx records it after a beep both sides
    /// hear); off, only when the agent presses Record.
    pub record_calls: bool,
    /// What the caller hears before a recording starts ("this call is recorded…"): a WAV or MP3
    /// Telnyx can fetch; `None` plays only the beep.
    pub recording_announcement_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            default_region: Region::US,
            engine: EngineChoice::Automatic,
            audio_input: None,
            audio_output: None,
            ringer_output: None,
            ringtone: Settings::DEFAULT_RINGTONE.to_owned(),
            do_not_disturb: false,
            window: None,
            calling_hours: CallingHours::default(),
            caller_numbers: Vec::new(),
            voicemail_greeting: None,
            start_at_login: None,
            start_in_tray: false,
            keep_running_in_tray: true,
            told_about_tray: false,
            hold_music: true,
            hold_music_url: None,
            record_calls: false,
            recording_announcement_url: None,
        }
    }
}

/// The ringtones the app can play, by the name [`Settings::ringtone`] stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ringtone {
    /// A fast two-tone warble (660/880 Hz), then two seconds of quiet.
    Classic,
    /// Two soft bell notes falling (1047 Hz, 784 Hz).
    Chime,
    /// Four short 1200 Hz beeps, like a desk phone.
    Pulse,
}

impl Ringtone {
    pub const ALL: [Ringtone; 3] = [Ringtone::Classic, Ringtone::Chime, Ringtone::Pulse];

    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Ringtone::Classic => "classic",
            Ringtone::Chime => "chime",
            Ringtone::Pulse => "pulse",
        }
    }

    /// The name shown in Settings.
    pub fn label(self) -> &'static str {
        match self {
            Ringtone::Classic => "Classic",
            Ringtone::Chime => "Chime",
            Ringtone::Pulse => "Pulse",
        }
    }

    /// The ringtone stored as `name`; `None` for a name this version does not know.
    pub fn from_name(name: &str) -> Option<Ringtone> {
        Ringtone::ALL.into_iter().find(|ringtone| ringtone.name() == name)
    }
}

impl Settings {
    /// The ringtone of a fresh install.
    pub const DEFAULT_RINGTONE: &str = "classic";

    /// The ringtone to play: the stored one, or the classic one for a name this version does not
    /// know (a newer version chose it; it stays stored for that version).
    pub fn ringtone(&self) -> Ringtone {
        Ringtone::from_name(&self.ringtone).unwrap_or(Ringtone::Classic)
    }
    /// Longest device or ringtone name accepted, in characters.
    pub const NAME_MAX_CHARS: usize = 200;
    /// Most caller-ID numbers kept (a local-presence pool is a few dozen numbers).
    pub const CALLER_NUMBERS_MAX: usize = 500;

    /// These settings as the agent saved them, over `current`: what the app decided by itself
    /// meanwhile stands (the tray notice given; start at login, turned on by the first login) when
    /// the window that saved read the settings before it.
    pub fn keeping_app_decisions_of(mut self, current: &Settings) -> Settings {
        self.told_about_tray |= current.told_about_tray;
        self.start_at_login = self.start_at_login.or(current.start_at_login);
        self
    }

    /// Checks what the types cannot: names are not blank or overlong, and a window has a size.
    /// The region is valid by construction ([`Region`] only holds known codes).
    pub fn validate(&self) -> Result<(), SettingsError> {
        let names = [
            ("audio input", self.audio_input.as_deref()),
            ("audio output", self.audio_output.as_deref()),
            ("ringer output", self.ringer_output.as_deref()),
            ("ringtone", Some(self.ringtone.as_str())),
            ("voicemail greeting", self.voicemail_greeting.as_deref()),
        ];
        for (what, name) in names {
            if let Some(name) = name {
                if name.trim().is_empty() {
                    return Err(SettingsError::BlankName { what });
                }
                if name.chars().count() > Settings::NAME_MAX_CHARS {
                    return Err(SettingsError::NameTooLong { what });
                }
            }
        }
        if !self.calling_hours.is_valid() {
            return Err(SettingsError::CallingHours);
        }
        if self.caller_numbers.len() > Settings::CALLER_NUMBERS_MAX {
            return Err(SettingsError::TooManyCallerNumbers);
        }
        for (index, number) in self.caller_numbers.iter().enumerate() {
            if !is_e164_shaped(number) {
                return Err(SettingsError::CallerNumber { number: number.clone() });
            }
            if self.caller_numbers[..index].contains(number) {
                return Err(SettingsError::DuplicateCallerNumber { number: number.clone() });
            }
        }
        if let Some(url) = &self.hold_music_url
            && !is_fetchable_url(url)
        {
            return Err(SettingsError::HoldMusicUrl);
        }
        if let Some(url) = &self.recording_announcement_url
            && !is_fetchable_url(url)
        {
            return Err(SettingsError::AnnouncementUrl);
        }
        if let Some(window) = &self.window
            && (window.width < WindowGeometry::MIN_SIDE || window.height < WindowGeometry::MIN_SIDE)
        {
            return Err(SettingsError::WindowTooSmall);
        }
        Ok(())
    }
}

/// An `http(s)://host/...` address without spaces, at most 2048 characters: what Telnyx can fetch.
fn is_fetchable_url(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && url.len() <= 2048 && !url.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

/// `+` and 8 to 15 digits: an E.164 number's shape (whether the number exists is Telnyx's to say;
/// the window checks shapes without the numbering metadata).
fn is_e164_shaped(number: &str) -> bool {
    number
        .strip_prefix('+')
        .is_some_and(|digits| (8..=15).contains(&digits.len()) && digits.bytes().all(|byte| byte.is_ascii_digit()))
        && !number.starts_with("+0")
}

/// Which engine carries calls (docs/architecture.md, "Why two call engines").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineChoice {
    /// The app picks: the webview engine where it works, else the native one.
    #[default]
    Automatic,
    /// Always the Telnyx WebRTC SDK in the webview.
    Webview,
    /// Always the Rust media engine.
    Native,
}

/// The main window's position and size in logical pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowGeometry {
    /// Left edge; negative on a monitor left of the primary one.
    pub x: i32,
    /// Top edge; negative on a monitor above the primary one.
    pub y: i32,
    /// At least [`WindowGeometry::MIN_SIDE`].
    pub width: u32,
    /// At least [`WindowGeometry::MIN_SIDE`].
    pub height: u32,
    /// Maximized; `x`..`height` are then the size to restore to.
    pub maximized: bool,
}

impl WindowGeometry {
    /// Smallest width or height kept; anything smaller is a broken restore, not a choice.
    pub const MIN_SIDE: u32 = 200;
}

/// Why settings were refused. Messages are sentences the agent can act on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SettingsError {
    /// A device or ringtone name that is empty or only spaces.
    #[error("The {what} name is empty; choose one from the list or use the default.")]
    BlankName {
        /// Which setting, in words.
        what: &'static str,
    },
    /// A device or ringtone name longer than [`Settings::NAME_MAX_CHARS`].
    #[error("The {what} name is too long; choose one from the list.")]
    NameTooLong {
        /// Which setting, in words.
        what: &'static str,
    },
    /// A window narrower or lower than [`WindowGeometry::MIN_SIDE`].
    #[error("The window size is too small to restore; it will open at its default size.")]
    WindowTooSmall,
    /// Calling hours that close before they open, or run past midnight.
    #[error("The calling hours must open before they close, within one day.")]
    CallingHours,
    /// A caller-ID number that is not `+` and 8 to 15 digits.
    #[error("The caller-ID number \"{number}\" is not in international form (a + and 8 to 15 digits).")]
    CallerNumber {
        /// As given.
        number: String,
    },
    /// The same caller-ID number twice.
    #[error("The caller-ID number {number} is listed twice.")]
    DuplicateCallerNumber {
        /// As given.
        number: String,
    },
    /// More than [`Settings::CALLER_NUMBERS_MAX`] caller-ID numbers.
    #[error("Too many caller-ID numbers; keep at most 500.")]
    TooManyCallerNumbers,
    /// A hold music address Telnyx could not fetch.
    #[error(
        "The hold music must be the address of a WAV or MP3 file starting with https:// (Telnyx fetches it), without spaces."
    )]
    HoldMusicUrl,
    /// A recording announcement address Telnyx could not fetch.
    #[error(
        "The recording announcement must be the address of a WAV or MP3 file starting with https:// (Telnyx fetches it), without spaces."
    )]
    AnnouncementUrl,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ringtones_round_trip_by_name_and_an_unknown_one_plays_the_classic() {
        for ringtone in Ringtone::ALL {
            assert_eq!(Ringtone::from_name(ringtone.name()), Some(ringtone));
        }
        assert_eq!(Settings::default().ringtone(), Ringtone::Classic);
        assert_eq!(Settings::default().ringtone, Ringtone::Classic.name());
        let newer = Settings { ringtone: "marimba".into(), ..Settings::default() };
        assert_eq!(newer.ringtone(), Ringtone::Classic);
        assert_eq!(newer.validate(), Ok(()), "a newer version's ringtone does not block saving other settings");
    }

    #[test]
    fn a_save_from_a_window_that_read_earlier_keeps_what_the_app_decided() {
        let current = Settings { start_at_login: Some(true), told_about_tray: true, ..Settings::default() };
        let stale = Settings { ringtone: "chime".into(), ..Settings::default() };
        let saved = stale.keeping_app_decisions_of(&current);
        assert_eq!((saved.start_at_login, saved.told_about_tray), (Some(true), true));
        assert_eq!(saved.ringtone, "chime", "the agent's own change is saved");
        // The agent's choice, once made, is theirs.
        let off = Settings { start_at_login: Some(false), ..Settings::default() };
        assert_eq!(off.keeping_app_decisions_of(&current).start_at_login, Some(false));
    }

    #[test]
    fn a_fresh_install_uses_us_automatic_and_the_classic_ringtone() {
        let settings = Settings::default();
        assert_eq!(settings.default_region.as_str(), "US");
        assert_eq!(settings.engine, EngineChoice::Automatic);
        assert_eq!(settings.ringtone, "classic");
        assert!(!settings.do_not_disturb);
        assert_eq!(settings.start_at_login, None, "undecided until the first login");
        assert!(settings.keep_running_in_tray && !settings.start_in_tray && !settings.told_about_tray);
        assert_eq!(settings.validate(), Ok(()));
    }

    #[test]
    fn missing_fields_take_defaults_and_unknown_ones_are_ignored() {
        let settings: Settings =
            serde_json::from_str(r#"{"default_region":"gb","future_setting":42,"do_not_disturb":true}"#)
                .expect("reads");
        assert_eq!(settings.default_region, Region::GB);
        assert!(settings.do_not_disturb);
        assert_eq!(settings.engine, EngineChoice::Automatic);
        let unknown = serde_json::from_str::<Settings>(r#"{"default_region":"XX"}"#).unwrap_err();
        assert!(unknown.to_string().contains("XX is not a country code"), "{unknown}");
    }

    #[test]
    fn the_wire_form_is_snake_case_with_the_region_as_its_code() {
        let settings = Settings {
            engine: EngineChoice::Native,
            window: Some(WindowGeometry { x: -1280, y: 0, width: 1024, height: 768, maximized: true }),
            ..Settings::default()
        };
        let wire = serde_json::to_value(&settings).expect("serializes");
        assert_eq!(wire["default_region"], "US");
        assert_eq!(wire["engine"], "native");
        assert_eq!(wire["window"]["x"], -1280);
        assert_eq!(serde_json::from_value::<Settings>(wire).expect("reads back"), settings);
    }

    #[test]
    fn validation_refuses_blank_names_and_tiny_windows() {
        let blank = Settings { audio_input: Some("  ".into()), ..Settings::default() };
        assert_eq!(blank.validate(), Err(SettingsError::BlankName { what: "audio input" }));
        let long = Settings { ringtone: "x".repeat(201), ..Settings::default() };
        assert_eq!(long.validate(), Err(SettingsError::NameTooLong { what: "ringtone" }));
        let tiny = Settings {
            window: Some(WindowGeometry { x: 0, y: 0, width: 10, height: 600, maximized: false }),
            ..Settings::default()
        };
        assert_eq!(tiny.validate(), Err(SettingsError::WindowTooSmall));
        for (start_minute, end_minute) in [(600, 600), (1200, 480), (0, 1441)] {
            let hours = Settings { calling_hours: CallingHours { start_minute, end_minute }, ..Settings::default() };
            assert_eq!(hours.validate(), Err(SettingsError::CallingHours), "{start_minute}-{end_minute}");
        }
        let all_day =
            Settings { calling_hours: CallingHours { start_minute: 0, end_minute: 1440 }, ..Settings::default() };
        assert_eq!(all_day.validate(), Ok(()));
        for error in [SettingsError::BlankName { what: "ringtone" }, SettingsError::WindowTooSmall] {
            let message = error.to_string();
            assert!(message.starts_with(char::is_uppercase) && message.ends_with('.'), "{message}");
        }
    }

    #[test]
    fn caller_numbers_must_be_international_and_listed_once() {
        let numbers = |list: &[&str]| Settings {
            caller_numbers: list.iter().map(|number| (*number).to_owned()).collect(),
            ..Settings::default()
        };
        assert_eq!(numbers(&["+14155550100", "+442079460958"]).validate(), Ok(()));
        for bad in ["4155550100", "+1415555", "+1 415 555 0100", "+0123456789", "+1234567890123456", ""] {
            assert_eq!(
                numbers(&["+14155550100", bad]).validate(),
                Err(SettingsError::CallerNumber { number: bad.to_owned() }),
                "{bad:?}"
            );
        }
        assert_eq!(
            numbers(&["+14155550100", "+12125550100", "+14155550100"]).validate(),
            Err(SettingsError::DuplicateCallerNumber { number: "+14155550100".into() })
        );
        let pool: Vec<String> = (0..=Settings::CALLER_NUMBERS_MAX).map(|n| format!("+1415{n:07}")).collect();
        let too_many = Settings { caller_numbers: pool, ..Settings::default() };
        assert_eq!(too_many.validate(), Err(SettingsError::TooManyCallerNumbers));
        let message = SettingsError::CallerNumber { number: "41".into() }.to_string();
        assert_eq!(message, "The caller-ID number \"41\" is not in international form (a + and 8 to 15 digits).");
    }

    #[test]
    fn hold_music_is_an_address_telnyx_can_fetch() {
        let with = |url: &str| Settings { hold_music_url: Some(url.to_owned()), ..Settings::default() };
        for good in [
            "https://example.com/hold.mp3",
            "http://127.0.0.1:8080/media/hold-music.wav",
            "https://cdn.example.com/a.wav?v=2",
        ] {
            assert_eq!(with(good).validate(), Ok(()), "{good}");
        }
        for bad in [
            "",
            "example.com/hold.mp3",
            "ftp://example.com/a.wav",
            "https://",
            "https://example.com/my music.mp3",
            "https:///a.wav",
        ] {
            assert_eq!(with(bad).validate(), Err(SettingsError::HoldMusicUrl), "{bad:?}");
        }
        assert!(Settings::default().hold_music, "callers on hold hear music unless the agent turns it off");
        let older: Settings = serde_json::from_str(r#"{"ringtone":"chime"}"#).expect("an older version's settings");
        assert_eq!((older.hold_music, older.hold_music_url), (true, None));
    }
}
