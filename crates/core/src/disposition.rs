//! Dispositions: what came of a call, as the agent records it.
//!
//! The standard outcomes are a closed set ([`Disposition`] minus `Custom`); a team can add its
//! own ([`CustomDisposition`]), which the store keeps in a table. Both are stored and sent over
//! IPC as one string: the standard code (`"no-answer"`) or the custom label (`"Sent brochure"`).
//! A custom label can never equal a standard code or label, so the string is unambiguous.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Longest custom disposition label, in characters.
pub const CUSTOM_LABEL_MAX_CHARS: usize = 40;

/// The outcome of a call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Disposition {
    /// Someone answered and the conversation happened.
    Answered,
    /// It rang out.
    NoAnswer,
    /// The agent left a voicemail.
    VoicemailLeft,
    /// The line was busy.
    Busy,
    /// The person reached is not the lead.
    WrongNumber,
    /// The lead declined.
    NotInterested,
    /// The lead asked to be called back.
    Callback,
    /// One the team added.
    Custom(CustomDisposition),
}

impl Disposition {
    /// The standard dispositions, in the order the UI offers them.
    pub const STANDARD: [Disposition; 7] = [
        Disposition::Answered,
        Disposition::NoAnswer,
        Disposition::VoicemailLeft,
        Disposition::Busy,
        Disposition::WrongNumber,
        Disposition::NotInterested,
        Disposition::Callback,
    ];

    /// The stored form: the kebab-case code of a standard disposition, or a custom label.
    pub fn code(&self) -> &str {
        match self {
            Disposition::Answered => "answered",
            Disposition::NoAnswer => "no-answer",
            Disposition::VoicemailLeft => "voicemail-left",
            Disposition::Busy => "busy",
            Disposition::WrongNumber => "wrong-number",
            Disposition::NotInterested => "not-interested",
            Disposition::Callback => "callback",
            Disposition::Custom(custom) => custom.label(),
        }
    }

    /// What the UI shows, e.g. "Voicemail left".
    pub fn label(&self) -> &str {
        match self {
            Disposition::Answered => "Answered",
            Disposition::NoAnswer => "No answer",
            Disposition::VoicemailLeft => "Voicemail left",
            Disposition::Busy => "Busy",
            Disposition::WrongNumber => "Wrong number",
            Disposition::NotInterested => "Not interested",
            Disposition::Callback => "Callback",
            Disposition::Custom(custom) => custom.label(),
        }
    }

    /// Reads the stored form: a standard code, else a custom label (validated as such).
    pub fn from_code(code: &str) -> Result<Disposition, DispositionError> {
        match Self::standard(code) {
            Some(standard) => Ok(standard),
            None => CustomDisposition::new(code).map(Disposition::Custom),
        }
    }

    fn standard(code: &str) -> Option<Disposition> {
        Self::STANDARD.into_iter().find(|d| d.code() == code)
    }
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Disposition {
    type Err = DispositionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Disposition::from_code(s)
    }
}

impl TryFrom<String> for Disposition {
    type Error = DispositionError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Disposition::from_code(&value)
    }
}

impl From<Disposition> for String {
    fn from(disposition: Disposition) -> String {
        disposition.code().to_owned()
    }
}

/// A disposition the team added, e.g. "Sent brochure".
///
/// Invariant: the label is trimmed, 1 to [`CUSTOM_LABEL_MAX_CHARS`] characters, has no control
/// characters, and does not equal (ignoring case) any standard disposition's code or label.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CustomDisposition(String);

impl CustomDisposition {
    /// Validates a label; surrounding whitespace is dropped.
    pub fn new(label: &str) -> Result<CustomDisposition, DispositionError> {
        let label = label.trim();
        if label.is_empty() {
            return Err(DispositionError::Empty);
        }
        if label.chars().count() > CUSTOM_LABEL_MAX_CHARS {
            return Err(DispositionError::TooLong);
        }
        if label.chars().any(char::is_control) {
            return Err(DispositionError::ControlCharacter);
        }
        let clashes = Disposition::STANDARD.iter().any(|standard| {
            standard.code().eq_ignore_ascii_case(label) || standard.label().eq_ignore_ascii_case(label)
        });
        if clashes {
            return Err(DispositionError::Reserved);
        }
        Ok(CustomDisposition(label.to_owned()))
    }

    /// The label as the team wrote it.
    pub fn label(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CustomDisposition {
    type Error = DispositionError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        CustomDisposition::new(&value)
    }
}

impl From<CustomDisposition> for String {
    fn from(custom: CustomDisposition) -> String {
        custom.0
    }
}

/// Why a custom disposition label was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DispositionError {
    /// Blank label.
    #[error("A disposition needs a name.")]
    Empty,
    /// Over [`CUSTOM_LABEL_MAX_CHARS`] characters.
    #[error("A disposition name can be at most 40 characters long.")]
    TooLong,
    /// Tabs, newlines and other control characters.
    #[error("A disposition name cannot contain tabs, line breaks or other control characters.")]
    ControlCharacter,
    /// Same as a standard disposition.
    #[error("This name is already a standard disposition; pick it from the list instead.")]
    Reserved,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_codes_round_trip_and_are_distinct() {
        for standard in Disposition::STANDARD {
            assert_eq!(Disposition::from_code(standard.code()), Ok(standard.clone()));
            let json = serde_json::to_string(&standard).unwrap();
            assert_eq!(json, format!("\"{}\"", standard.code()));
            assert_eq!(serde_json::from_str::<Disposition>(&json).unwrap(), standard);
        }
        let mut codes: Vec<_> = Disposition::STANDARD.iter().map(Disposition::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 7);
    }

    #[test]
    fn custom_labels_are_validated() {
        let cases: &[(&str, Result<&str, DispositionError>)] = &[
            ("Sent brochure", Ok("Sent brochure")),
            ("  Demo booked ", Ok("Demo booked")),
            ("", Err(DispositionError::Empty)),
            ("   ", Err(DispositionError::Empty)),
            ("busy", Err(DispositionError::Reserved)),
            ("Voicemail Left", Err(DispositionError::Reserved)),
            ("No-Answer", Err(DispositionError::Reserved)),
            ("line\nbreak", Err(DispositionError::ControlCharacter)),
            (&"x".repeat(41), Err(DispositionError::TooLong)),
        ];
        for (input, expected) in cases {
            let got = CustomDisposition::new(input);
            assert_eq!(got.as_ref().map(CustomDisposition::label), expected.as_ref().copied(), "{input:?}");
        }
    }

    #[test]
    fn a_custom_label_is_stored_as_itself() {
        let parsed = Disposition::from_code("Demo booked").unwrap();
        assert_eq!(parsed, Disposition::Custom(CustomDisposition::new("Demo booked").unwrap()));
        assert_eq!(parsed.code(), "Demo booked");
        assert_eq!(parsed.label(), "Demo booked");
    }
}
