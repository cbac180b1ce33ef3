//! Any text an agent or a CSV file could give as a phone number, in any region: parsing never
//! panics, and a number it accepts is canonical (reads back the same from its E.164 form, in
//! any region, and as stored). This also holds the NANP fast path to the slow one's answers.
//!
//! Input: the first two bytes pick the default region (letters; anything else means US), the
//! rest is the text.
//!
//! Run: `cd crates/core/fuzz && mkdir -p corpus/phone_parse && cargo +nightly fuzz run phone_parse
//! corpus/phone_parse seeds/phone_parse -- -max_total_time=180` (new inputs go to corpus/).
#![no_main]

use libfuzzer_sys::fuzz_target;
use softphone_core::phone::{PhoneNumber, Region};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let region = std::str::from_utf8(&data[..2]).ok().and_then(|code| Region::new(code).ok()).unwrap_or(Region::US);
    let Ok(text) = std::str::from_utf8(&data[2..]) else { return };
    let Ok(number) = PhoneNumber::parse(text, region) else { return };
    let e164 = number.as_e164();
    assert_eq!(PhoneNumber::from_e164(e164).as_ref(), Ok(&number), "{text:?} in {region}");
    assert_eq!(PhoneNumber::parse(e164, Region::DE).as_ref(), Ok(&number), "{text:?} in {region}");
    assert_eq!(PhoneNumber::from_stored(e164).as_ref(), Ok(&number), "{text:?} in {region}");
    assert_eq!(number.digits().len() + 1, e164.len());
    assert!(!number.national_digits().is_empty());
    assert!(!number.format_international().is_empty());
});
