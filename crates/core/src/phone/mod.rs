//! Phone numbers in E.164, the one form the app stores, dials and compares.
//!
//! Agents type numbers the way they read them (`+1 (415) 555-0100`, `415.555.0100`,
//! `0044 20 7946 0958`, `tel:+14155550100`). [`PhoneNumber::parse`] turns all of those into one
//! canonical E.164 string and refuses anything that is not a valid number for its country, so a
//! [`PhoneNumber`] in hand is always dialable and two equal numbers always compare equal.
//!
//! Parsing and validation use the `phonenumber` crate (a port of Google's libphonenumber). Its
//! metadata loads on the first parse (about 140 ms, measured); later parses take 15-30 us and
//! serialize on one lock inside the crate. North American numbers (`+1`, the bulk of a US lead
//! list) take a lock-free fast path that gives the same answers in about 1 us (see [`nanp`]).

use std::fmt;
use std::str::FromStr;

use phonenumber::country;
use phonenumber::metadata::DATABASE;
use serde::{Deserialize, Serialize};
use thiserror::Error;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Region(country::Id);

impl Region {
    /// The United States (and the other NANP countries' default when dialing `+1`).
    pub const US: Region = Region(country::Id::US);
    /// The United Kingdom.
    pub const GB: Region = Region(country::Id::GB);
    /// Germany.
    pub const DE: Region = Region(country::Id::DE);

    /// Validates a two-letter code; lower case is accepted (`"gb"` becomes `GB`), surrounding
    /// whitespace is ignored.
    pub fn new(code: &str) -> Result<Region, RegionError> {
        let code = code.trim();
        let valid_shape = code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic());
        if !valid_shape {
            return Err(RegionError::Malformed);
        }
        let upper = code.to_ascii_uppercase();
        country::Id::from_str(&upper).map(Region).map_err(|_| RegionError::Unknown { code: upper })
    }

    /// Whether the region dials with `+1` (the North American Numbering Plan: US, CA, the
    /// Caribbean's NANP countries, ...).
    pub fn is_nanp(&self) -> bool {
        DATABASE.by_id(self.as_str()).is_some_and(|metadata| metadata.country_code() == 1)
    }

    /// The two upper-case letters, e.g. `"US"`.
    pub fn as_str(&self) -> &str {
        // `country::Id` derives strum's `AsRefStr`: the variant name is the ISO code.
        self.0.as_ref()
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_ref())
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
/// again (see [`PhoneNumber::from_e164`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber {
    e164: String,
}

impl PhoneNumber {
    /// Reads a number as an agent or a CSV file writes it.
    ///
    /// Accepted: a leading `+` and country code, or a national number read in `default_region`;
    /// an international dialing prefix (`011` from the US, `00` from most other countries, and `00`
    /// or `011` from anywhere when the number is not valid otherwise, so `0044 20 7946 0958` works
    /// with region US); a `tel:` prefix; spaces, dots, dashes, slashes and parentheses anywhere.
    /// The national trunk prefix is dropped (`020 7946 0958` in GB is `+442079460958`).
    ///
    /// Refused, with a distinct [`PhoneNumberError`]: empty input, letters, extensions, numbers
    /// too short or too long, unknown country codes, and numbers that parse but are not valid
    /// for their country.
    pub fn parse(input: &str, default_region: Region) -> Result<PhoneNumber, PhoneNumberError> {
        let dialable = Dialable::read(input)?;
        if let Some(number) = nanp::fast_parse(&dialable, default_region) {
            return Ok(number);
        }
        Self::parse_dialable(&dialable, default_region)
    }

    /// [`PhoneNumber::parse`] without the NANP fast path: everything through `phonenumber`.
    fn parse_dialable(dialable: &Dialable, default_region: Region) -> Result<PhoneNumber, PhoneNumberError> {
        if dialable.plus {
            return Self::parse_international(&dialable.digits);
        }
        let first = Self::parse_national(&dialable.digits, default_region);
        if first.is_ok() {
            return first;
        }
        // An international prefix the default region does not use (`0044...` typed with region
        // US, whose prefix is 011). Only tried when the national reading failed, so it never
        // changes the meaning of a number that is valid as written.
        for idd in ["00", "011"] {
            if let Some(rest) = dialable.digits.strip_prefix(idd)
                && let Ok(number) = Self::parse_international(rest)
            {
                return Ok(number);
            }
        }
        first
    }

    /// Accepts only E.164 input (`+` then digits, separators tolerated), as stored in the
    /// database or sent over IPC. The result is canonical: `"+1 415 555 0100"` becomes
    /// `"+14155550100"`.
    pub fn from_e164(input: &str) -> Result<PhoneNumber, PhoneNumberError> {
        let dialable = Dialable::read(input)?;
        if !dialable.plus {
            return Err(PhoneNumberError::MissingCountryCode);
        }
        if let Some(number) = nanp::fast_parse(&dialable, Region::US) {
            return Ok(number);
        }
        Self::parse_international(&dialable.digits)
    }

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

    /// The country calling code, e.g. `1` or `44`.
    pub fn country_code(&self) -> u16 {
        let digits = self.digits();
        (1..=3)
            .filter_map(|len| digits.get(..len))
            .filter_map(|code| code.parse::<u16>().ok())
            .find(|code| DATABASE.by_code(code).is_some())
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

    /// For display: the international format with the country's grouping,
    /// e.g. `"+1 415-555-0100"` or `"+44 20 7946 0958"`.
    pub fn format_international(&self) -> String {
        match phonenumber::parse(None, &self.e164) {
            Ok(number) => number.format().mode(phonenumber::Mode::International).to_string(),
            // Unreachable by the invariant (the string was produced by the same parser); the
            // E.164 form is still a correct display.
            Err(_) => self.e164.clone(),
        }
    }

    fn parse_national(digits: &str, region: Region) -> Result<PhoneNumber, PhoneNumberError> {
        let number = phonenumber::parse(Some(region.0), digits).map_err(from_parse_error)?;
        Self::validated(number, Some(region))
    }

    fn parse_international(digits: &str) -> Result<PhoneNumber, PhoneNumberError> {
        let number = phonenumber::parse(None, format!("+{digits}")).map_err(from_parse_error)?;
        Self::validated(number, None)
    }

    fn validated(number: phonenumber::PhoneNumber, region: Option<Region>) -> Result<PhoneNumber, PhoneNumberError> {
        if number.extension().is_some() {
            return Err(PhoneNumberError::HasExtension);
        }
        let code = number.code().value();
        if DATABASE.by_code(&code).is_none() {
            return Err(PhoneNumberError::UnknownCountryCode);
        }
        if !phonenumber::is_valid(&number) {
            return Err(invalid_reason(&number, region));
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        if e164.len() - 1 > MAX_E164_DIGITS {
            return Err(PhoneNumberError::TooLong);
        }
        Ok(PhoneNumber { e164 })
    }
}

/// Tells "too short" and "too long" apart from "wrong digits" using the lengths of the country's
/// example numbers, so the agent gets the more specific hint. Lengths between the shortest and
/// the longest example count as "not valid", which is always true, if less specific.
fn invalid_reason(number: &phonenumber::PhoneNumber, region: Option<Region>) -> PhoneNumberError {
    let code = number.code().value();
    let national_len = number.national().to_string().len() as u16;
    let lengths: Vec<u16> = DATABASE
        .by_code(&code)
        .unwrap_or_default()
        .iter()
        .flat_map(|meta| {
            // phonenumber 0.3.10 reports no `possible_length`s for NANP regions (measured), so
            // the lengths of the example numbers stand in.
            let d = meta.descriptors();
            // Fixed-line and mobile only: short service numbers (UAN, voicemail) would widen
            // the range until nothing counts as too short.
            [d.fixed_line(), d.mobile()]
                .into_iter()
                .flatten()
                .filter_map(|descriptor| descriptor.example())
                .map(|example| example.len() as u16)
        })
        .collect();
    match (lengths.iter().min(), lengths.iter().max()) {
        (Some(&min), _) if national_len < min => PhoneNumberError::TooShort,
        (_, Some(&max)) if national_len > max => PhoneNumberError::TooLong,
        _ => match region {
            Some(region) => PhoneNumberError::InvalidForRegion { region },
            None => PhoneNumberError::InvalidForCountryCode { country_code: code },
        },
    }
}

fn from_parse_error(error: phonenumber::ParseError) -> PhoneNumberError {
    match error {
        phonenumber::ParseError::NoNumber | phonenumber::ParseError::MalformedInteger(_) => {
            PhoneNumberError::NotANumber
        }
        phonenumber::ParseError::InvalidCountryCode => PhoneNumberError::UnknownCountryCode,
        phonenumber::ParseError::TooShortAfterIdd | phonenumber::ParseError::TooShortNsn => PhoneNumberError::TooShort,
        phonenumber::ParseError::TooLong => PhoneNumberError::TooLong,
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

/// The input reduced to what matters for dialing: whether it started with `+`, and its digits.
#[derive(Debug)]
struct Dialable {
    plus: bool,
    digits: String,
}

impl Dialable {
    /// Strips `tel:` and separators; refuses letters, extensions and stray symbols.
    fn read(input: &str) -> Result<Dialable, PhoneNumberError> {
        let mut rest = input.trim();
        if rest.get(..4).is_some_and(|scheme| scheme.eq_ignore_ascii_case("tel:")) {
            rest = rest[4..].trim_start();
        }
        if rest.is_empty() {
            return Err(PhoneNumberError::Empty);
        }
        let mut plus = false;
        let mut digits = String::with_capacity(rest.len());
        for (index, ch) in rest.char_indices() {
            match ch {
                '0'..='9' => digits.push(ch),
                '+' if digits.is_empty() && !plus => plus = true,
                _ if is_separator(ch) => {}
                _ => {
                    return Err(if !digits.is_empty() && is_extension(&rest[index..]) {
                        PhoneNumberError::HasExtension
                    } else {
                        PhoneNumberError::NotANumber
                    });
                }
            }
        }
        if digits.is_empty() {
            return Err(PhoneNumberError::NotANumber);
        }
        Ok(Dialable { plus, digits })
    }
}

fn is_separator(ch: char) -> bool {
    ch.is_whitespace() || matches!(ch, '-' | '.' | '(' | ')' | '/' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{30FC}')
}

/// Whether `tail` (starting at the first character that is not a digit or separator) is an
/// extension marker followed by digits: `ext. 12`, `extension 12`, `x12`, `#12`, `;ext=12`.
fn is_extension(tail: &str) -> bool {
    let lower = tail.to_ascii_lowercase();
    let after_marker = ["extension", ";ext=", "ext", "x", "#"].iter().find_map(|marker| lower.strip_prefix(marker));
    match after_marker {
        Some(after) => {
            let after = after.trim_start_matches(|c: char| c == '.' || c == ':' || is_separator(c));
            !after.is_empty() && after.chars().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
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

impl FromStr for PhoneNumber {
    type Err = PhoneNumberError;

    /// Same as [`PhoneNumber::from_e164`]: without a region, only `+` numbers are unambiguous.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PhoneNumber::from_e164(s)
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneNumberError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        PhoneNumber::from_e164(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(number: PhoneNumber) -> String {
        number.e164
    }
}

/// The lock-free fast path for North American (`+1`) numbers.
///
/// `phonenumber` keeps its compiled patterns in one LRU cache behind a mutex, looked up by
/// hashing the pattern text on every match; validating one number costs 15-30 us and two threads
/// are no faster than one (measured). This module compiles the same metadata patterns once,
/// with the same engine and options, and applies the crate's own validity rule to them:
///
/// - the region is the first NANP region whose `leadingDigits` matches at the start of the
///   national number, or (regions without `leadingDigits`) whose number type is not unknown;
/// - the number is valid when that region's general pattern matches and so does one of its
///   type patterns (premium rate, toll free, shared cost, VoIP, personal, pager, UAN,
///   voicemail, fixed line, mobile);
/// - a pattern "matches" when the length is one of its possible lengths (if it lists any) and
///   the pattern matches at the start of the number (`phonenumber`'s `Descriptor::is_match`).
///
/// It only ever answers "valid" for input whose national number is unambiguous: ten digits
/// not starting with 0 or 1, given with `+1`, with a leading `1`, or bare with a NANP default
/// region. Everything else, and every number it does not find valid, goes the slow way, which
/// also produces the specific error. Tests and the `phone_parse` fuzz target check that both
/// paths agree.
mod nanp {
    use std::sync::{LazyLock, OnceLock};

    use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
    use regex::{Regex, RegexBuilder};

    use super::{Dialable, PhoneNumber, Region};

    /// One metadata pattern, compiled to match at the start of the input.
    #[derive(Debug)]
    struct Pattern {
        regex: Regex,
        possible_lengths: Vec<u16>,
    }

    impl Pattern {
        fn compile(source: &str, possible_lengths: &[u16]) -> Option<Pattern> {
            // Newlines keep a trailing comment (the patterns are read with `x`) from eating
            // the closing parenthesis.
            let regex = RegexBuilder::new(&format!("^(?:\n{source}\n)")).ignore_whitespace(true).build().ok()?;
            Some(Pattern { regex, possible_lengths: possible_lengths.to_vec() })
        }

        fn from_descriptor(descriptor: &Descriptor) -> Option<Pattern> {
            Pattern::compile(descriptor.national_number().as_str(), descriptor.possible_length())
        }

        fn matches(&self, national: &str) -> bool {
            (self.possible_lengths.is_empty() || self.possible_lengths.contains(&(national.len() as u16)))
                && self.regex.is_match(national)
        }
    }

    /// A NANP region's patterns. The number-type patterns are large (up to 2 KB each; all
    /// regions together take about 170 ms to compile) and compiled on first use, so a US lead
    /// list only ever compiles the US ones (about 10 ms).
    #[derive(Debug)]
    struct RegionPatterns {
        id: &'static str,
        /// Without the length check: the crate's region lookup uses the bare regex.
        leading_digits: Option<Regex>,
        types: OnceLock<Option<TypePatterns>>,
    }

    #[derive(Debug)]
    struct TypePatterns {
        general: Pattern,
        types: Vec<Pattern>,
    }

    impl TypePatterns {
        fn compile(meta: &Metadata) -> Option<TypePatterns> {
            let d = meta.descriptors();
            let types = [
                d.premium_rate(),
                d.toll_free(),
                d.shared_cost(),
                d.voip(),
                d.personal_number(),
                d.pager(),
                d.uan(),
                d.voicemail(),
                d.fixed_line(),
                d.mobile(),
            ]
            .into_iter()
            .flatten()
            .map(Pattern::from_descriptor)
            .collect::<Option<Vec<_>>>()?;
            Some(TypePatterns { general: Pattern::from_descriptor(d.general())?, types })
        }
    }

    impl RegionPatterns {
        fn compile(id: &'static str) -> Option<RegionPatterns> {
            let meta = DATABASE.by_id(id)?;
            let leading_digits = match meta.leading_digits() {
                Some(pattern) => Some(Pattern::compile(pattern.as_str(), &[])?.regex),
                None => None,
            };
            Some(RegionPatterns { id, leading_digits, types: OnceLock::new() })
        }

        /// `None` when the patterns did not compile: the caller must not decide.
        fn has_known_type(&self, national: &str) -> Option<bool> {
            let patterns =
                self.types.get_or_init(|| DATABASE.by_id(self.id).and_then(TypePatterns::compile)).as_ref()?;
            Some(patterns.general.matches(national) && patterns.types.iter().any(|pattern| pattern.matches(national)))
        }
    }

    /// The NANP regions in the crate's order; `None` if a pattern failed to compile, which
    /// switches the fast path off (never wrong, only slower).
    static REGIONS: LazyLock<Option<Vec<RegionPatterns>>> =
        LazyLock::new(|| DATABASE.region(&1)?.into_iter().map(RegionPatterns::compile).collect());

    /// `Some` only for a valid `+1` number read exactly as the slow path would read it.
    pub(super) fn fast_parse(dialable: &Dialable, default_region: Region) -> Option<PhoneNumber> {
        let digits = dialable.digits.as_str();
        let national = match digits.len() {
            11 if digits.starts_with('1') => &digits[1..],
            10 if !dialable.plus => digits,
            _ => return None,
        };
        if national.starts_with(['0', '1']) {
            return None;
        }
        let regions = REGIONS.as_ref()?;
        if !dialable.plus && !regions.iter().any(|region| region.id == default_region.as_str()) {
            return None;
        }
        for region in regions {
            let found = match &region.leading_digits {
                Some(leading) => leading.is_match(national),
                None => region.has_known_type(national)?,
            };
            if found {
                return region.has_known_type(national)?.then(|| PhoneNumber { e164: format!("+1{national}") });
            }
        }
        None
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

#[cfg(test)]
mod tests;
