//! DTMF digits as RFC 4733 (§3.2) telephone-event codes.

/// The event code of a DTMF digit (`0-9`, `*`, `#`, `A-D`, either case); `None` for any other.
pub fn dtmf_code(digit: char) -> Option<u8> {
    match digit.to_ascii_uppercase() {
        d @ '0'..='9' => Some(d as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        d @ 'A'..='D' => Some(d as u8 - b'A' + 12),
        _ => None,
    }
}

/// The digit of an event code; `None` for codes that are no DTMF digit (16 and up).
pub fn dtmf_digit(code: u8) -> Option<char> {
    match code {
        0..=9 => Some(char::from(b'0' + code)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + code - 12)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtmf_codes_follow_rfc_4733_and_round_trip() {
        let codes: Vec<_> = "0129*#AD".chars().map(dtmf_code).collect();
        assert_eq!(codes, [0, 1, 2, 9, 10, 11, 12, 15].map(Some));
        assert_eq!(dtmf_code('x'), None);
        assert_eq!(dtmf_code('a'), Some(12));
        for digit in "0123456789*#ABCD".chars() {
            assert_eq!(dtmf_digit(dtmf_code(digit).expect("a digit")), Some(digit));
        }
        assert_eq!(dtmf_digit(16), None);
    }
}
