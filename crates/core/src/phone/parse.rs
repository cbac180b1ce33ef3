//! Reading and validating numbers, and formatting them for people: everything that needs
//! libphonenumber's metadata (the `phonenumber` crate and its regex engine). Behind the `numbers`
//! feature, which the shell and the store enable; the window does without it and asks the shell.

use std::str::FromStr;

use phonenumber::country;
use phonenumber::metadata::DATABASE;

use super::{MAX_E164_DIGITS, PhoneNumber, PhoneNumberError, Region};

/// A number as the agent reads it: the international format when `text` is a stored E.164
/// number, else `text` as it is (a SIP address, "anonymous", a number the far end sent oddly).
pub fn shown(text: &str) -> String {
    PhoneNumber::from_stored(text).map_or_else(|_| text.to_owned(), |number| number.format_international())
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
    pub(super) fn parse_dialable(dialable: &Dialable, default_region: Region) -> Result<PhoneNumber, PhoneNumberError> {
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
        // Every code in the region table is one of the crate's (a test checks the table).
        let id = country::Id::from_str(region.as_str()).map_err(|_| PhoneNumberError::InvalidForRegion { region })?;
        let number = phonenumber::parse(Some(id), digits).map_err(from_parse_error)?;
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
/// The input reduced to what matters for dialing: whether it started with `+`, and its digits.
#[derive(Debug)]
pub(super) struct Dialable {
    pub(super) plus: bool,
    pub(super) digits: String,
}

impl Dialable {
    /// Strips `tel:` and separators; refuses letters, extensions and stray symbols.
    pub(super) fn read(input: &str) -> Result<Dialable, PhoneNumberError> {
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
pub(super) mod nanp {
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
    pub(in crate::phone) fn fast_parse(dialable: &Dialable, default_region: Region) -> Option<PhoneNumber> {
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
