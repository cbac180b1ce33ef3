//! Local presence: which of the agent's caller-ID numbers a call presents. People answer a
//! number from their own area more often than one from across the country, so the dialer picks
//! the agent's number that looks most local to the callee:
//!
//! 1. one that shares the callee's area code: for North American numbers the three-digit area
//!    code (and, among those, the longest shared prefix); elsewhere the longest shared prefix of
//!    the national number, at least [`AREA_PREFIX_MIN`] digits (area codes there run from one to
//!    five digits and are not known without the metadata, so the longest match stands in);
//! 2. else one in the callee's country;
//! 3. else the default: the first of the pool.
//!
//! Ties go to the number listed first, so the agent orders preferences by ordering the list.

use softphone_core::phone::PhoneNumber;

/// Shortest shared national prefix counted as "the same area" outside North America.
pub const AREA_PREFIX_MIN: usize = 2;

/// Digits in a North American area code.
const NANP_AREA_DIGITS: usize = 3;

/// The caller-ID number for a call to `callee`, from the agent's `pool` (default first); `None`
/// for an empty pool, where Telnyx presents the connection's own number.
pub fn caller_number_for<'a>(callee: &PhoneNumber, pool: &'a [PhoneNumber]) -> Option<&'a PhoneNumber> {
    let country = callee.country_code();
    let area_min = if country == 1 { NANP_AREA_DIGITS } else { AREA_PREFIX_MIN };
    let mut best: Option<(&PhoneNumber, usize)> = None;
    for candidate in pool.iter().filter(|candidate| candidate.country_code() == country) {
        let shared = shared_prefix(callee.national_digits(), candidate.national_digits());
        if shared >= area_min && best.is_none_or(|(_, longest)| shared > longest) {
            best = Some((candidate, shared));
        }
    }
    best.map(|(number, _)| number)
        .or_else(|| pool.iter().find(|candidate| candidate.country_code() == country))
        .or_else(|| pool.first())
}

fn shared_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(numbers: &[&str]) -> Vec<PhoneNumber> {
        numbers.iter().map(|number| PhoneNumber::from_stored(number).expect("stored form")).collect()
    }

    #[test]
    fn the_most_local_number_is_presented() {
        let pool = pool(&[
            "+12125550100",  // default: New York
            "+14155550111",  // San Francisco
            "+14155559999",  // San Francisco, another exchange
            "+13125550100",  // Chicago
            "+442079460000", // London
            "+441614960000", // Manchester
            "+33140000000",  // Paris
        ]);
        let cases = [
            // The area code wins; among two, the longer shared prefix.
            ("+14155559876", "+14155559999"),
            ("+14155550123", "+14155550111"),
            ("+13125550199", "+13125550100"),
            // No shared area code: the default (it is in the callee's country).
            ("+16175550100", "+12125550100"),
            // A shared first digit is not an area code in North America.
            ("+13105550100", "+12125550100"),
            // Elsewhere the longest national prefix of two or more digits.
            ("+442079461234", "+442079460000"),
            ("+441619999999", "+441614960000"),
            // Same country, no shared area: the first of that country.
            ("+443031234567", "+442079460000"),
            ("+33612345678", "+33140000000"),
            // No number in the callee's country: the default.
            ("+4930123456", "+12125550100"),
        ];
        for (callee, presented) in cases {
            let callee = PhoneNumber::from_stored(callee).expect("callee");
            let chosen = caller_number_for(&callee, &pool).map(PhoneNumber::as_e164);
            assert_eq!(chosen, Some(presented), "calling {}", callee.as_e164());
        }
    }

    #[test]
    fn an_empty_pool_leaves_the_caller_id_to_telnyx_and_ties_go_to_the_first_listed() {
        let callee = PhoneNumber::from_stored("+14155550123").expect("callee");
        assert_eq!(caller_number_for(&callee, &[]), None);
        let twins = pool(&["+14155550100", "+14155550101"]);
        assert_eq!(caller_number_for(&callee, &twins).map(PhoneNumber::as_e164), Some("+14155550100"));
    }
}
