//! Phone numbers in E.164, the one form the app stores, dials and compares.
//!
//! Agents type numbers the way they read them (`+1 (415) 555-0100`, `415.555.0100`,
//! `0044 20 7946 0958`, `tel:+14155550100`). [`PhoneNumber::parse`] turns all of those into one
//! canonical E.164 string and refuses anything that is not a valid number for its country, so a
//! [`PhoneNumber`] in hand is always dialable and two equal numbers always compare equal.
//!
//! Parsing, validation and formatting for people (`parse.rs`, the `numbers` feature) use the
//! `phonenumber` crate (a port of Google's libphonenumber). Its metadata loads on the first parse
//! (about 140 ms, measured); later parses take 15-30 us and serialize on one lock inside the
//! crate. North American numbers (`+1`, the bulk of a US lead list) take a lock-free fast path
//! that gives the same answers in about 1 us. The window is built without that feature: it
//! carries no metadata and no regex engine (they were most of its wasm), reads the numbers the
//! shell sends by their shape, and asks the shell to check and format the rest.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[cfg(feature = "numbers")]
mod dialable;
#[cfg(feature = "numbers")]
mod parse;
#[cfg(feature = "numbers")]
pub use dialable::{check_typed, parse_dialable};
#[cfg(feature = "numbers")]
pub use parse::shown;
mod tables;

use tables::{CALLING_CODES, NANP_REGIONS, REGION_CODES};

/// Most digits an E.164 number may have, country code included (ITU-T E.164).
const MAX_E164_DIGITS: usize = 15;
/// Fewest digits (calling code included) [`PhoneNumber::from_stored`] reads back. Valid numbers
/// are as short as 6 digits in all (`+43`/`+49` + 4, measured over 43 calling codes with every
/// national number up to 5 digits); the old minimum of 8 refused `+49 30 090`, found by the
/// phone_parse fuzz target, which made a lead unreadable and with it every page of the lead list
/// it was on.
const MIN_STORED_DIGITS: usize = 5;

/// A country or territory as an ISO 3166-1 alpha-2 code (`US`, `GB`, `DE`), used as the default
/// region for numbers written without a country code.
///
/// Invariant: the code is two upper-case letters and libphonenumber has numbering metadata for it.
/// Serializes as that two-letter string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct Region(&'static str);

impl<'de> Deserialize<'de> for Region {
    /// By hand: serde's derive would tie a `&'static str` field to the input's lifetime.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Region, D::Error> {
        let code = String::deserialize(deserializer)?;
        Region::new(&code).map_err(serde::de::Error::custom)
    }
}

impl Region {
    /// The United States (and the other NANP countries' default when dialing `+1`).
    pub const US: Region = Region("US");
    /// The United Kingdom.
    pub const GB: Region = Region("GB");
    /// Germany.
    pub const DE: Region = Region("DE");

    /// Validates a two-letter code; lower case is accepted (`"gb"` becomes `GB`), surrounding
    /// whitespace is ignored.
    pub fn new(code: &str) -> Result<Region, RegionError> {
        let code = code.trim();
        let valid_shape = code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic());
        if !valid_shape {
            return Err(RegionError::Malformed);
        }
        let upper = code.to_ascii_uppercase();
        match REGION_CODES.binary_search(&upper.as_str()) {
            Ok(index) => Ok(Region(REGION_CODES[index])),
            Err(_) => Err(RegionError::Unknown { code: upper }),
        }
    }

    /// Whether the region dials with `+1` (the North American Numbering Plan: US, CA, the
    /// Caribbean's NANP countries, ...).
    pub fn is_nanp(&self) -> bool {
        NANP_REGIONS.binary_search(&self.0).is_ok()
    }

    /// The two upper-case letters, e.g. `"US"`.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl FromStr for Region {
    type Err = RegionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Region::new(s)
    }
}

impl TryFrom<String> for Region {
    type Error = RegionError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Region::new(&value)
    }
}

impl From<Region> for String {
    fn from(region: Region) -> String {
        region.to_string()
    }
}

/// Why a region code was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RegionError {
    /// Not two letters.
    #[error("A region is a two-letter country code such as US, GB or DE.")]
    Malformed,
    /// Two letters, but no country we have numbering data for.
    #[error("{code} is not a country code we know; use a two-letter code such as US, GB or DE.")]
    Unknown {
        /// The code as given, upper-cased.
        code: String,
    },
}

/// Why an input is not a usable phone number. Every message is a sentence the agent can act on;
/// none repeats the input, so it can be logged without leaking a number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PhoneNumberError {
    /// Nothing but whitespace (or a bare `tel:`).
    #[error("The phone number is empty; enter a number such as +1 415 555 0100.")]
    Empty,
    /// Letters or symbols that no phone number contains, or no digits at all.
    #[error("This is not a phone number; use digits, spaces, dashes, dots, parentheses and an optional leading +.")]
    NotANumber,
    /// The input carries an extension (`ext. 12`, `x12`, `;ext=12`), which E.164 cannot hold.
    #[error("Phone extensions are not supported; remove the extension and dial it once the call is connected.")]
    HasExtension,
    /// Fewer digits than any number of that country has.
    #[error("The phone number is too short; check that it includes the area code.")]
    TooShort,
    /// More digits than any number of that country has (E.164 allows at most 15).
    #[error("The phone number is too long; a number has at most 15 digits including the country code.")]
    TooLong,
    /// The digits after `+` (or after an international prefix such as `00`) are no country code.
    #[error("The number does not start with a known country code; check the digits after the +.")]
    UnknownCountryCode,
    /// Written without a country code and not valid in the default region.
    #[error("This is not a valid phone number in {region}; check the digits, or enter it with + and the country code.")]
    InvalidForRegion {
        /// The default region the number was read in.
        region: Region,
    },
    /// Written with a country code, but not a valid number of that country.
    #[error("This is not a valid +{country_code} phone number; check the digits.")]
    InvalidForCountryCode {
        /// The country calling code, e.g. 44.
        country_code: u16,
    },
    /// Only E.164 (`+` then digits) was accepted here, e.g. when reading a stored value.
    #[error("The phone number has no country code; enter it with + and the country code.")]
    MissingCountryCode,
}

/// A valid phone number in E.164 form (`+14155550100`).
///
/// Invariants: the string is `+` followed by 8 to 15 ASCII digits, the first 1 to 3 of which are
/// the country calling code, and libphonenumber considers the number valid. Equality, ordering
/// and hashing compare the E.164 string. Serializes as that string; deserializing validates it
/// again (`PhoneNumber::from_e164`) where the `numbers` feature is on, and checks its shape
/// ([`PhoneNumber::from_stored`]) where it is off: the window, which receives only numbers the
/// shell validated.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber {
    e164: String,
}

impl PhoneNumber {
    /// Reads an E.164 string this app validated and stored earlier (a database column), checking
    /// only its shape: `+`, a known country calling code, a national part, 5 to 15 digits.
    ///
    /// Not re-validated on purpose: a number accepted once stays readable when a later
    /// libphonenumber metadata update retires its range, and loading a page of leads costs
    /// nanoseconds per number instead of ~20 us (measured for NANP numbers). Never use it for
    /// input from people or files; use [`PhoneNumber::parse`] or [`PhoneNumber::from_e164`].
    pub fn from_stored(e164: &str) -> Result<PhoneNumber, PhoneNumberError> {
        let digits = e164.strip_prefix('+').ok_or(PhoneNumberError::MissingCountryCode)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneNumberError::NotANumber);
        }
        if digits.len() > MAX_E164_DIGITS {
            return Err(PhoneNumberError::TooLong);
        }
        let number = PhoneNumber { e164: e164.to_owned() };
        if number.country_code() == 0 {
            return Err(PhoneNumberError::UnknownCountryCode);
        }
        if digits.len() < MIN_STORED_DIGITS || digits.len() <= digit_count(number.country_code()) {
            return Err(PhoneNumberError::TooShort);
        }
        Ok(number)
    }

    /// The E.164 string, e.g. `"+14155550100"`.
    pub fn as_e164(&self) -> &str {
        &self.e164
    }

    /// E.164 without the `+`, e.g. `"14155550100"`; what search indexes and dial strings use.
    pub fn digits(&self) -> &str {
        &self.e164[1..]
    }

    /// The international format of a North American (`+1`) number, `+1 415-555-0100`, made
    /// without the numbering metadata: it is the format libphonenumber gives every `+1` number of
    /// ten national digits. `None` for other numbers (see `format_international`).
    pub fn format_north_american(&self) -> Option<String> {
        let national = self.digits().strip_prefix('1').filter(|national| national.len() == 10)?;
        Some(format!("+1 {}-{}-{}", &national[..3], &national[3..6], &national[6..]))
    }

    /// The country calling code, e.g. `1` or `44`.
    pub fn country_code(&self) -> u16 {
        let digits = self.digits();
        (1..=3)
            .filter_map(|len| digits.get(..len))
            .filter_map(|code| code.parse::<u16>().ok())
            .find(|code| CALLING_CODES.binary_search(code).is_ok())
            .unwrap_or(0)
    }

    /// The national significant number: the digits after the country code, without any trunk
    /// prefix (`"4155550100"` for `+14155550100`, `"2079460958"` for `+442079460958`; Italian
    /// numbers keep their leading 0 because it is part of the number). Used to find a caller
    /// whose number was stored or presented without a country code.
    pub fn national_digits(&self) -> &str {
        let code_len = digit_count(self.country_code());
        &self.digits()[code_len..]
    }
}

fn digit_count(mut value: u16) -> usize {
    let mut count = 1;
    while value >= 10 {
        value /= 10;
        count += 1;
    }
    count
}
impl fmt::Display for PhoneNumber {
    /// The E.164 form; use [`PhoneNumber::format_international`] for people.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

impl AsRef<str> for PhoneNumber {
    fn as_ref(&self) -> &str {
        &self.e164
    }
}
#[cfg(not(feature = "numbers"))]
impl TryFrom<String> for PhoneNumber {
    type Error = PhoneNumberError;

    /// Without the numbering metadata (the window), a number received is read as stored: the
    /// shell that sent it validated it.
    fn try_from(value: String) -> Result<Self, Self::Error> {
        PhoneNumber::from_stored(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(number: PhoneNumber) -> String {
        number.e164
    }
}
pub fn format_as_typed(input: &str, default_region: Region) -> String {
    let allowed = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '(' | ')' | '-' | '.' | '+');
    let trimmed = input.trim_start();
    if trimmed.is_empty() || !trimmed.chars().all(allowed) || trimmed[1..].contains('+') {
        return input.to_owned();
    }
    let plus = trimmed.starts_with('+');
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let (prefix, national) = match (plus, digits.strip_prefix('1')) {
        (true, Some(national)) => ("+1 ", national),
        (true, None) => return input.to_owned(),
        (false, _) if !default_region.is_nanp() => return input.to_owned(),
        (false, Some(national)) => ("1 ", national),
        (false, None) => ("", digits.as_str()),
    };
    if national.len() > 10 || national.starts_with(['0', '1']) {
        return input.to_owned();
    }
    // No separator is ever added after the last digit, so a backspace always removes a digit.
    let (area, rest) = national.split_at(national.len().min(3));
    let (exchange, line) = rest.split_at(rest.len().min(3));
    let groups: Vec<&str> = [area, exchange, line].into_iter().filter(|group| !group.is_empty()).collect();
    let grouped = match (prefix, groups.as_slice()) {
        ("", [area, rest @ ..]) if !rest.is_empty() => format!("({area}) {}", rest.join("-")),
        (_, groups) => groups.join("-"),
    };
    format!("{prefix}{grouped}").trim_end().to_owned()
}

/// The number text of a `tel:` or `callto:` link the app was opened with, for the dialer.
///
/// Accepts `tel:+14155550100`, `tel:+1-415-555-0100;ext=1`, `callto:+14155550100`,
/// `callto://+14155550100/` and percent-encoded text (`tel:%2B1%20415...`); the scheme is matched
/// case-insensitively. URI parameters (`;ext=`, `;phone-context=`) and a query are dropped, so an
/// extension is not dialed (the agent keys it in by DTMF once connected). The text is returned as
/// written, not validated: the dialer parses it with [`PhoneNumber::parse`] and reports its own
/// errors. `None` when `arg` is no `tel:`/`callto:` link or names nothing to dial.
pub fn parse_dial_uri(arg: &str) -> Option<String> {
    let arg = arg.trim();
    let (scheme, rest) = arg.split_once(':')?;
    if !scheme.eq_ignore_ascii_case("tel") && !scheme.eq_ignore_ascii_case("callto") {
        return None;
    }
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let end = rest.find([';', '?']).unwrap_or(rest.len());
    let number = percent_decode(&rest[..end]);
    let number = number.trim().trim_end_matches('/').trim();
    (!number.is_empty()).then(|| number.to_owned())
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as it is (the dialer then
/// refuses the text), and bytes that are not UTF-8 become U+FFFD.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escape = bytes.get(index + 1..index + 3).filter(|_| bytes[index] == b'%');
        match escape.and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()) {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(all(test, feature = "numbers"))]
mod tests;
