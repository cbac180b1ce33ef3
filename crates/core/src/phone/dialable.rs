//! What the agent dials: a number read for the agent's region, and in demo mode also the
//! simulator's directory; and what the dialer says about a number while it is being typed.

use crate::ipc::NumberCheck;

use super::{PhoneNumber, PhoneNumberError, Region};

/// Reads a number the agent wants to dial. Like [`PhoneNumber::parse`], but in demo mode also
/// accepts the simulator's fictional directory range (+1 555 555 01xx), which libphonenumber
/// rightly considers invalid: only the built-in simulator answers those.
pub fn parse_dialable(input: &str, region: Region, demo: bool) -> Result<PhoneNumber, PhoneNumberError> {
    PhoneNumber::parse(input, region).or_else(|error| {
        let digits: String = input.chars().filter(char::is_ascii_digit).collect();
        let national = digits.strip_prefix('1').filter(|rest| rest.len() == 10).unwrap_or(&digits);
        let e164 = format!("+1{national}");
        // The simulator's directory (`crate::demo_leads::DIRECTORY_NUMBERS`) is +1 555 555 01xx.
        let directory = national.len() == 10 && national.starts_with("55555501");
        if demo && directory { PhoneNumber::from_stored(&e164) } else { Err(error) }
    })
}

/// What the dialer says about the number being typed, checked as it will be when dialed.
pub fn check_typed(input: &str, region: Region, demo: bool) -> NumberCheck {
    if input.trim().is_empty() {
        return NumberCheck::Empty;
    }
    match parse_dialable(input, region, demo) {
        Ok(number) => NumberCheck::Valid { shown: number.format_international() },
        Err(error) => NumberCheck::Invalid { sentence: error.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> Region {
        Region::new("US").expect("US is a region")
    }

    #[test]
    fn directory_numbers_are_dialable_only_in_demo_mode() {
        assert_eq!(
            parse_dialable("555-555-0102", us(), true).map(|n| n.as_e164().to_owned()),
            Ok("+15555550102".into())
        );
        assert!(parse_dialable("+15555550102", us(), false).is_err(), "libphonenumber calls them invalid");
        assert!(parse_dialable("+15555559999", us(), true).is_err(), "only the 01xx directory range");
        assert!(parse_dialable("12", us(), true).is_err());
        assert_eq!(
            parse_dialable("(415) 555-0100", us(), false).map(|n| n.as_e164().to_owned()),
            Ok("+14155550100".into())
        );
    }

    #[test]
    fn the_dialer_checks_numbers_before_dialing() {
        assert_eq!(check_typed("  ", us(), false), NumberCheck::Empty);
        assert_eq!(check_typed("(415) 555-0100", us(), false), NumberCheck::Valid { shown: "+1 415-555-0100".into() });
        assert!(
            matches!(check_typed("12", us(), false), NumberCheck::Invalid { sentence } if sentence.contains("too short"))
        );
        assert!(matches!(check_typed("+15555550101", us(), true), NumberCheck::Valid { .. }), "demo directory");
        assert!(matches!(check_typed("+15555550101", us(), false), NumberCheck::Invalid { .. }));
        // The region from the settings reads national numbers.
        let gb = Region::new("GB").expect("GB is a region");
        assert_eq!(check_typed("020 7946 0958", gb, false), NumberCheck::Valid { shown: "+44 20 7946 0958".into() });
    }
}
