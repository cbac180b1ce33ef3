//! Table tests of phone numbers: parsing and normalization, stored forms, formatting as the agent
//! types, `tel:` links.

mod unit {
    use super::super::parse::{Dialable, nanp};
    use super::super::*;

    #[test]
    fn parse_accepts_the_forms_agents_type() {
        let cases: &[(&str, Region, &str)] = &[
            ("+1 (415) 555-0100", Region::US, "+14155550100"),
            ("+14155550100", Region::GB, "+14155550100"),
            ("415-555-0100", Region::US, "+14155550100"),
            ("(415) 555-0100", Region::US, "+14155550100"),
            ("415.555.0100", Region::US, "+14155550100"),
            ("1 415 555 0100", Region::US, "+14155550100"),
            ("  415 555 0100  ", Region::US, "+14155550100"),
            ("tel:+1-415-555-0100", Region::DE, "+14155550100"),
            ("TEL:+14155550100", Region::DE, "+14155550100"),
            ("011 44 20 7946 0958", Region::US, "+442079460958"),
            ("0044 20 7946 0958", Region::GB, "+442079460958"),
            // The US dials abroad with 011, but 00 is what most of the world writes.
            ("0044 20 7946 0958", Region::US, "+442079460958"),
            ("020 7946 0958", Region::GB, "+442079460958"),
            ("+44 (0)20 7946 0958", Region::US, "+442079460958"),
            ("030 901820", Region::DE, "+4930901820"),
            ("+49 30 901820", Region::US, "+4930901820"),
            ("+39 06 1234 5678", Region::US, "+390612345678"),
            ("415\u{2013}555\u{2013}0100", Region::US, "+14155550100"),
        ];
        for &(input, region, expected) in cases {
            let number = PhoneNumber::parse(input, region).unwrap_or_else(|e| panic!("{input:?} in {region}: {e}"));
            assert_eq!(number.as_e164(), expected, "{input:?} in {region}");
        }
    }

    #[test]
    fn parse_refuses_with_a_specific_reason() {
        use PhoneNumberError as E;
        let cases: &[(&str, Region, PhoneNumberError)] = &[
            ("", Region::US, E::Empty),
            ("   ", Region::US, E::Empty),
            ("tel:", Region::US, E::Empty),
            ("call me", Region::US, E::NotANumber),
            ("415-555-O100", Region::US, E::NotANumber),
            ("+", Region::US, E::NotANumber),
            ("1+415", Region::US, E::NotANumber),
            ("415-555-0100 ext. 12", Region::US, E::HasExtension),
            ("415-555-0100 x12", Region::US, E::HasExtension),
            ("tel:+14155550100;ext=12", Region::US, E::HasExtension),
            ("555-0100", Region::US, E::TooShort),
            ("12", Region::US, E::TooShort),
            ("+1 415 555 0100 9999 99", Region::US, E::TooLong),
            ("+999 1234 5678", Region::US, E::UnknownCountryCode),
            ("(023) 456-7890", Region::US, E::InvalidForRegion { region: Region::US }),
            ("+1 023 456 7890", Region::GB, E::InvalidForCountryCode { country_code: 1 }),
        ];
        for (input, region, expected) in cases {
            let result = PhoneNumber::parse(input, *region);
            assert_eq!(result.as_ref().err(), Some(expected), "{input:?} in {region}: {result:?}");
        }
    }

    #[test]
    fn accessors_split_country_code_and_national_number() {
        let cases: &[(&str, &str, u16, &str, &str)] = &[
            ("+14155550100", "14155550100", 1, "4155550100", "+1 415-555-0100"),
            ("+442079460958", "442079460958", 44, "2079460958", "+44 20 7946 0958"),
            ("+390612345678", "390612345678", 39, "0612345678", "+39 06 1234 5678"),
            ("+35312345678", "35312345678", 353, "12345678", "+353 1 234 5678"),
        ];
        for &(e164, digits, code, national, display) in cases {
            let number = PhoneNumber::from_e164(e164).unwrap();
            assert_eq!(number.digits(), digits);
            assert_eq!(number.country_code(), code, "{e164}");
            assert_eq!(number.national_digits(), national, "{e164}");
            assert_eq!(number.format_international(), display, "{e164}");
            assert_eq!(number.to_string(), e164);
        }
    }

    #[test]
    fn from_e164_needs_a_country_code_and_canonicalises() {
        assert_eq!(PhoneNumber::from_e164("4155550100"), Err(PhoneNumberError::MissingCountryCode));
        assert_eq!(PhoneNumber::from_e164(" +1 415 555 0100 ").unwrap().as_e164(), "+14155550100");
        assert_eq!("+14155550100".parse::<PhoneNumber>().unwrap().digits(), "14155550100");
    }

    /// Fast and slow path on the same input: the fast path may decline, but when it answers,
    /// the slow path must give the same number; and for every valid NANP number it must answer.
    fn assert_paths_agree(input: &str, region: Region) -> bool {
        let Ok(dialable) = Dialable::read(input) else { return false };
        let fast = nanp::fast_parse(&dialable, region);
        let slow = PhoneNumber::parse_dialable(&dialable, region);
        if let Some(fast) = &fast {
            assert_eq!(slow.as_ref(), Ok(fast), "{input:?} in {region}: slow path disagrees");
        }
        let nanp_region = ["US", "CA", "PR", "JM"].contains(&region.as_str());
        let national_len = dialable.digits.trim_start_matches('1').len();
        let unambiguous = dialable.digits.len() == 11 && dialable.digits.starts_with('1')
            || (dialable.digits.len() == 10 && !dialable.plus);
        if let Ok(slow) = &slow
            && unambiguous
            && national_len == 10
            && (dialable.plus || nanp_region)
            && slow.country_code() == 1
        {
            assert_eq!(fast.as_ref(), Some(slow), "{input:?} in {region}: fast path declined a valid number");
        }
        fast.is_some()
    }

    #[test]
    fn nanp_fast_path_agrees_with_libphonenumber() {
        let ca = Region::new("CA").expect("known");
        let pr = Region::new("PR").expect("known");
        let mut fast = 0;
        let mut total = 0;
        for area in (200..1000).step_by(3) {
            for exchange in [100, 200, 211, 555, 867, 999] {
                let subscriber = (area * 7 + exchange) % 10_000;
                let national = format!("{area}{exchange:03}{subscriber:04}");
                for (input, region) in [
                    (national.clone(), Region::US),
                    (format!("1{national}"), Region::US),
                    (format!("+1 {national}"), Region::GB),
                    (format!("({area}) {exchange:03}-{subscriber:04}"), ca),
                    (national.clone(), pr),
                    (national.clone(), Region::GB),
                    (format!("0{national}"), Region::US),
                ] {
                    total += 1;
                    fast += usize::from(assert_paths_agree(&input, region));
                }
            }
        }
        // Most area codes exist, so most of the inputs take the fast path.
        assert!(fast > total / 3, "only {fast} of {total} took the fast path");
        // Known answers, through the public API.
        assert_eq!(PhoneNumber::parse("(684) 733-1234", Region::US).unwrap().as_e164(), "+16847331234");
        assert_eq!(PhoneNumber::parse("416 555 0100", Region::US).unwrap().as_e164(), "+14165550100");
        assert!(PhoneNumber::parse("(023) 456-7890", Region::US).is_err());
    }

    proptest::proptest! {
        #[test]
        fn nanp_fast_path_agrees_on_random_digits(
            digits in "[0-9]{9,12}",
            plus in proptest::bool::ANY,
            region in proptest::sample::select(vec!["US", "CA", "GB", "DE", "JM", "PR"]),
        ) {
            let input = if plus { format!("+{digits}") } else { digits };
            assert_paths_agree(&input, Region::new(region).expect("known"));
        }
    }

    #[test]
    fn from_stored_checks_the_shape_only() {
        let stored = PhoneNumber::from_stored("+14155550100").unwrap();
        assert_eq!(stored, PhoneNumber::from_e164("+14155550100").unwrap());
        assert_eq!(stored.national_digits(), "4155550100");
        use PhoneNumberError as E;
        let cases: &[(&str, PhoneNumberError)] = &[
            ("14155550100", E::MissingCountryCode),
            ("+1 415 555 0100", E::NotANumber),
            ("+", E::NotANumber),
            ("+1415", E::TooShort),
            ("+1415555010012345", E::TooLong),
            ("+99912345678", E::UnknownCountryCode),
        ];
        for (input, expected) in cases {
            assert_eq!(PhoneNumber::from_stored(input).as_ref().err(), Some(expected), "{input:?}");
        }
    }

    #[test]
    fn serde_round_trips_as_the_e164_string_and_validates() {
        let number = PhoneNumber::parse("415 555 0100", Region::US).unwrap();
        let json = serde_json::to_string(&number).unwrap();
        assert_eq!(json, "\"+14155550100\"");
        assert_eq!(serde_json::from_str::<PhoneNumber>(&json).unwrap(), number);
        for bad in ["\"+1 023 456 7890\"", "\"4155550100\"", "\"\"", "42"] {
            assert!(serde_json::from_str::<PhoneNumber>(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn region_is_a_known_two_letter_code() {
        assert_eq!(Region::new("gb"), Ok(Region::GB));
        assert_eq!(Region::new(" DE "), Ok(Region::DE));
        assert_eq!(Region::new("US").unwrap().as_str(), "US");
        assert_eq!(Region::new("USA"), Err(RegionError::Malformed));
        assert_eq!(Region::new("1A"), Err(RegionError::Malformed));
        assert_eq!(Region::new("QQ"), Err(RegionError::Unknown { code: "QQ".into() }));
        assert_eq!(serde_json::to_string(&Region::GB).unwrap(), "\"GB\"");
        assert_eq!(serde_json::from_str::<Region>("\"fr\"").unwrap().as_str(), "FR");
        assert!(serde_json::from_str::<Region>("\"XX\"").is_err());
    }

    #[test]
    fn error_messages_are_sentences_without_the_input() {
        let errors = [
            PhoneNumberError::Empty,
            PhoneNumberError::NotANumber,
            PhoneNumberError::HasExtension,
            PhoneNumberError::TooShort,
            PhoneNumberError::TooLong,
            PhoneNumberError::UnknownCountryCode,
            PhoneNumberError::InvalidForRegion { region: Region::US },
            PhoneNumberError::InvalidForCountryCode { country_code: 44 },
            PhoneNumberError::MissingCountryCode,
        ];
        for error in errors {
            let message = error.to_string();
            assert!(message.starts_with(char::is_uppercase), "{message}");
            assert!(message.ends_with('.'), "{message}");
        }
        assert!(PhoneNumberError::InvalidForRegion { region: Region::GB }.to_string().contains(" GB"));
    }
}

/// The dialer's field as the agent types: a North American number (`+1`, a leading `1`, or bare
/// digits with a NANP default region) is grouped as it grows, `(415) 555-01` then
/// `(415) 555-0100`, or `+1 415-555-0100` when typed with `+1`. Anything else (another country,
/// letters, `*`/`#`, more digits than a NANP number has) is left exactly as typed; the dialer's
/// check line shows those formatted once they are valid. Never changes which digits are there.
mod stored_length {
    use super::super::*;

    #[test]
    fn every_number_parse_accepts_reads_back_from_storage() {
        // Found by the phone_parse fuzz target: a valid Berlin number of 7 digits in all.
        let berlin = PhoneNumber::parse("tel:+49 300 90", Region::DE).expect("valid");
        assert_eq!(PhoneNumber::from_stored(berlin.as_e164()), Ok(berlin));
        // Every short number libphonenumber accepts (3 to 7 national digits after these codes).
        let mut short_ones = 0;
        for code in ["43", "49", "290", "683", "690", "354", "298", "376"] {
            for national in (100..10_000_000u32).step_by(4999) {
                let text = format!("+{code}{national}");
                if let Ok(number) = PhoneNumber::parse(&text, Region::US) {
                    assert_eq!(PhoneNumber::from_stored(number.as_e164()), Ok(number), "{text}");
                    short_ones += usize::from(text.len() <= 8);
                }
            }
        }
        assert!(short_ones > 0, "the sample has numbers of 7 digits or fewer");
        assert_eq!(PhoneNumber::from_stored("+49"), Err(PhoneNumberError::TooShort));
    }
}

mod format_as_typed {
    use super::super::*;

    fn typed_key_by_key(text: &str, region: Region) -> Vec<String> {
        let mut field = String::new();
        text.chars()
            .map(|key| {
                field.push(key);
                field = format_as_typed(&field, region);
                field.clone()
            })
            .collect()
    }

    #[test]
    fn a_north_american_number_is_grouped_as_it_grows() {
        assert_eq!(
            typed_key_by_key("4155550100", Region::US),
            [
                "4",
                "41",
                "415",
                "(415) 5",
                "(415) 55",
                "(415) 555",
                "(415) 555-0",
                "(415) 555-01",
                "(415) 555-010",
                "(415) 555-0100"
            ]
        );
        assert_eq!(typed_key_by_key("+14155550100", Region::GB).last().unwrap(), "+1 415-555-0100");
        assert_eq!(typed_key_by_key("+14", Region::GB), ["+", "+1", "+1 4"]);
        assert_eq!(typed_key_by_key("14155550100", Region::US).last().unwrap(), "1 415-555-0100");
        // Canada is NANP too; pasting a formatted number regroups it.
        assert_eq!(format_as_typed("416.555.0100", Region::new("CA").unwrap()), "(416) 555-0100");
    }

    #[test]
    fn a_backspace_always_removes_a_digit() {
        for (before, after_backspace) in
            [("(415) 555-0", "(415) 555"), ("(415) 5", "415"), ("+1 4", "+1"), ("+1 415-5", "+1 415")]
        {
            let mut field = before.to_owned();
            field.pop();
            assert_eq!(format_as_typed(&field, Region::US), after_backspace, "backspace in {before:?}");
        }
    }

    #[test]
    fn anything_else_is_left_as_typed() {
        for (input, region) in [
            ("020 7946 0958", Region::GB),    // not a NANP region
            ("4155550100", Region::GB),       // bare digits are national in GB
            ("+44 20 7946", Region::US),      // another country code
            ("*72", Region::US),              // a feature code
            ("415555010099", Region::US),     // longer than a NANP number
            ("0155", Region::US),             // no NANP area code starts with 0 or 1
            ("415 555 0100 x12", Region::US), // letters
            ("1-800-FLOWERS", Region::US),
            ("4+15", Region::US),
        ] {
            assert_eq!(format_as_typed(input, region), input, "{input} in {region}");
        }
        assert_eq!(format_as_typed("", Region::US), "");
    }

    #[test]
    fn formatting_keeps_the_digits_and_the_number_they_make() {
        for input in ["4155550100", "(415) 555-0100", "+1 415 555 0100", "14155550100"] {
            let formatted = format_as_typed(input, Region::US);
            let digits = |text: &str| text.chars().filter(char::is_ascii_digit).collect::<String>();
            assert_eq!(digits(&formatted), digits(input));
            assert_eq!(
                PhoneNumber::parse(&formatted, Region::US).unwrap(),
                PhoneNumber::parse(input, Region::US).unwrap()
            );
        }
    }

    #[test]
    fn nanp_regions_are_known() {
        assert!(Region::US.is_nanp());
        assert!(Region::new("JM").unwrap().is_nanp());
        assert!(!Region::GB.is_nanp());
        assert!(!Region::DE.is_nanp());
    }
}

mod dial_uri {
    use super::super::*;

    #[test]
    fn dial_links_give_the_number_text() {
        let cases = [
            ("tel:+14155550100", "+14155550100"),
            ("tel:+1-415-555-0100;ext=1", "+1-415-555-0100"),
            ("TEL:+1-415-555-0100;phone-context=example.com", "+1-415-555-0100"),
            ("callto:+14155550100", "+14155550100"),
            ("callto://+14155550100", "+14155550100"),
            ("callto://+14155550100/", "+14155550100"),
            ("CallTo:+14155550100?call", "+14155550100"),
            ("tel:%2B14155550100", "+14155550100"),
            ("tel:%2b1%20415%20555%200100", "+1 415 555 0100"),
            ("  tel:415-555-0100 \n", "415-555-0100"),
            ("tel:100%", "100%"),
            ("callto:jane.doe", "jane.doe"),
        ];
        for (arg, expected) in cases {
            assert_eq!(parse_dial_uri(arg).as_deref(), Some(expected), "{arg}");
        }
    }

    #[test]
    fn other_arguments_and_empty_links_are_not_dial_links() {
        for arg in
            ["", "+14155550100", "--minimized", "sip:+14155550100@example.com", "tel:", "callto://", "tel:;ext=1"]
        {
            assert_eq!(parse_dial_uri(arg), None, "{arg}");
        }
    }

    #[test]
    fn the_dialer_accepts_what_a_link_gives_and_refuses_what_it_should() {
        let number = parse_dial_uri("tel:%2B1-415-555-0100;ext=7").expect("a link");
        assert_eq!(PhoneNumber::parse(&number, Region::GB).expect("valid").as_e164(), "+14155550100");
        let number = parse_dial_uri("callto:jane.doe").expect("a link");
        assert_eq!(PhoneNumber::parse(&number, Region::US), Err(PhoneNumberError::NotANumber));
    }
}

mod tables {
    use phonenumber::metadata::DATABASE;

    use super::super::tables::{CALLING_CODES, NANP_REGIONS, REGION_CODES};
    use super::super::*;

    #[test]
    fn the_tables_the_window_uses_agree_with_the_metadata() {
        let mut regions: Vec<&str> = DATABASE.iter().map(|meta| meta.id()).filter(|id| id.len() == 2).collect();
        regions.sort_unstable();
        regions.dedup();
        assert_eq!(REGION_CODES.as_slice(), regions.as_slice());
        let mut codes: Vec<u16> = DATABASE.iter().map(|meta| meta.country_code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(CALLING_CODES.as_slice(), codes.as_slice());
        let mut nanp = DATABASE.region(&1).expect("+1 regions");
        nanp.sort_unstable();
        assert_eq!(NANP_REGIONS.as_slice(), nanp.as_slice());
        // The codes are prefix-free, which `country_code` relies on.
        for code in CALLING_CODES {
            for other in CALLING_CODES.iter().filter(|&&other| other != code) {
                assert!(!other.to_string().starts_with(&code.to_string()), "{code} is a prefix of {other}");
            }
        }
    }

    #[test]
    fn north_american_numbers_are_formatted_as_the_metadata_formats_them() {
        let numbers = crate::demo_leads::demo_leads().into_iter().map(|lead| lead.phone);
        let extra = ["+12125550123", "+18005550199", "+16045550100", "+18765550100"]
            .map(|e164| PhoneNumber::from_e164(e164).expect(e164));
        for number in numbers.chain(extra) {
            assert_eq!(number.format_north_american(), Some(number.format_international()), "{number}");
        }
        let london = PhoneNumber::from_e164("+442079460958").expect("valid");
        assert_eq!(london.format_north_american(), None);
    }
}
