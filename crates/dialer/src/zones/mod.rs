//! Where a lead is in time: its time zone from a time-zone column if it has one, else from its
//! number (libphonenumber's map of leading digits to zones: the area code and often the exchange
//! for North America, the country or region elsewhere), else the agent's own.
//!
//! A number may map to several zones (an area code across a zone line). The lead is then in all of
//! them as far as calling hours go: a call is placed only when it is inside the hours in every one.
//! A map entry whose zones are more than [`MAX_SPREAD_HOURS`] apart (a whole country, such as `+1`
//! alone for a number whose area code is unknown) says nothing useful, and the agent's zone stands
//! in.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use softphone_core::phone::PhoneNumber;

mod map;

/// Zones further apart than this (by their UTC offsets now) are too vague to place a lead.
pub const MAX_SPREAD_HOURS: i32 = 3;

/// Where a lead's time zones came from; shown to the agent with the deferral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneSource {
    /// The lead's own time-zone column.
    Lead,
    /// The number's leading digits.
    Number,
    /// Neither said: the agent's own zone.
    Agent,
}

/// A lead's time zones (one, or several when its number spans a zone line).
#[derive(Debug, Clone)]
pub struct LeadZones {
    pub zones: Vec<TimeZone>,
    pub source: ZoneSource,
}

/// The zone an IANA name (`America/Chicago`) names, if the bundled database has it.
pub fn named(name: &str) -> Option<TimeZone> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    TimeZone::get(name).ok()
}

/// The zones the number's leading digits map to (the longest prefix the map has), if any.
pub fn of_number(number: &PhoneNumber) -> Vec<&'static str> {
    let digits = number.digits();
    (1..=digits.len())
        .rev()
        .find_map(|length| {
            let prefix = &digits[..length];
            map::PREFIXES.binary_search_by(|(entry, _)| (*entry).cmp(prefix)).ok().map(|found| map::PREFIXES[found].1)
        })
        .map(<[&str]>::to_vec)
        .unwrap_or_default()
}

/// Where a lead is in time at `now`: its column, else its number, else the agent's zone.
pub fn of_lead(time_zone_column: Option<&str>, number: &PhoneNumber, agent: &TimeZone, now: Timestamp) -> LeadZones {
    if let Some(zone) = time_zone_column.and_then(named) {
        return LeadZones { zones: vec![zone], source: ZoneSource::Lead };
    }
    let zones: Vec<TimeZone> = of_number(number).into_iter().filter_map(named).collect();
    let offsets: Vec<i32> = zones.iter().map(|zone| zone.to_offset(now).seconds()).collect();
    let spread = offsets.iter().max().zip(offsets.iter().min()).map(|(max, min)| max - min);
    match spread {
        Some(spread) if spread <= MAX_SPREAD_HOURS * 3600 => LeadZones { zones, source: ZoneSource::Number },
        _ => LeadZones { zones: vec![agent.clone()], source: ZoneSource::Agent },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(e164: &str) -> PhoneNumber {
        PhoneNumber::from_e164(e164).expect("valid")
    }

    fn names(zones: &LeadZones) -> Vec<String> {
        zones.zones.iter().map(|zone| zone.iana_name().unwrap_or("?").to_owned()).collect()
    }

    #[test]
    fn the_map_is_sorted_so_it_can_be_searched() {
        assert!(map::PREFIXES.windows(2).all(|pair| pair[0].0 < pair[1].0));
        // Every zone it names is in the bundled database, so no lead silently loses its zone.
        for (prefix, zones) in map::PREFIXES.iter() {
            for zone in *zones {
                assert!(named(zone).is_some(), "{prefix}: {zone}");
            }
        }
    }

    #[test]
    fn a_lead_is_placed_by_its_column_then_its_number_then_the_agent() {
        let agent = named("Europe/Berlin").expect("zone");
        let now = Timestamp::from_second(1_796_000_000).expect("instant");
        let table: &[(Option<&str>, &str, &[&str], ZoneSource)] = &[
            // The column wins, even over a number that says otherwise.
            (Some("America/Denver"), "+12125550123", &["America/Denver"], ZoneSource::Lead),
            // An unknown column falls through to the number.
            (Some("Mars/Olympus"), "+12125550123", &["America/New_York"], ZoneSource::Number),
            (None, "+13125550123", &["America/Chicago"], ZoneSource::Number),
            (None, "+14155550123", &["America/Los_Angeles"], ZoneSource::Number),
            // London by its 20: more precise than the country, which also spans the Channel Islands.
            (None, "+442079460958", &["Europe/London"], ZoneSource::Number),
            (None, "+33142685300", &["Europe/Paris"], ZoneSource::Number),
        ];
        for &(column, e164, expected, source) in table {
            let zones = of_lead(column, &number(e164), &agent, now);
            assert_eq!(names(&zones), expected, "{column:?} {e164}");
            assert_eq!(zones.source, source, "{column:?} {e164}");
        }
    }

    #[test]
    fn a_number_that_only_names_its_country_across_many_zones_takes_the_agents_zone() {
        let agent = named("America/Chicago").expect("zone");
        let now = Timestamp::from_second(1_796_000_000).expect("instant");
        // The simulator's fictional 555 area code: +1 alone spans Guam to Newfoundland.
        let zones = of_lead(None, &PhoneNumber::from_stored("+15555550100").expect("shape"), &agent, now);
        assert_eq!(zones.source, ZoneSource::Agent);
        assert_eq!(names(&zones), ["America/Chicago"]);
    }
}
