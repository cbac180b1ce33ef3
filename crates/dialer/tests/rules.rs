//! The dialing rules and the list order, as tables and as properties, with the clock passed in.

use std::collections::HashSet;

use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;
use proptest::prelude::*;
use softphone_core::lead::LeadId;
use softphone_core::phone::PhoneNumber;
use softphone_dialer::zones;
use softphone_dialer::{
    CallingHours, Deferral, DialRules, Holds, LeadDialState, ListFilter, ListLead, Refusal, Verdict, build,
    manual_verdict, verdict,
};

const HOUR: i64 = 3600 * 1000;
const NEW_YORK: &str = "+12125550123";
const CHICAGO: &str = "+13125550123";
const LOS_ANGELES: &str = "+14155550123";

fn zone(name: &str) -> TimeZone {
    zones::named(name).expect(name)
}

/// Unix milliseconds of a wall-clock time in `zone_name`.
fn at(zone_name: &str, year: i16, month: i8, day: i8, hour: i8, minute: i8) -> i64 {
    date(year, month, day)
        .at(hour, minute, 0, 0)
        .to_zoned_datetime(zone(zone_name))
        .expect("a time")
        .timestamp()
        .as_millisecond()
}

fn lead(id: i64, e164: &str) -> LeadDialState {
    LeadDialState {
        lead_id: LeadId(id),
        phone: PhoneNumber::from_e164(e164).expect("valid"),
        do_not_call: false,
        listed: false,
        time_zone: None,
        attempts: 0,
        last_attempt_ms: None,
        callback_due_ms: None,
    }
}

fn no_list() -> HashSet<String> {
    HashSet::new()
}

fn agent() -> TimeZone {
    zone("America/New_York")
}

#[test]
fn a_lead_is_called_only_inside_its_own_local_hours() {
    let rules = DialRules::default();
    let table: &[(&str, i64, Verdict)] = &[
        // 9:00 in New York: a New York lead is called.
        (NEW_YORK, at("America/New_York", 2026, 12, 8, 9, 0), Verdict::Dial),
        // 8:00 sharp is inside; 20:59 too; 21:00 is not.
        (NEW_YORK, at("America/New_York", 2026, 12, 8, 8, 0), Verdict::Dial),
        (NEW_YORK, at("America/New_York", 2026, 12, 8, 20, 59), Verdict::Dial),
        (
            NEW_YORK,
            at("America/New_York", 2026, 12, 8, 21, 0),
            Verdict::Deferred {
                until_ms: at("America/New_York", 2026, 12, 9, 8, 0),
                why: Deferral::OutsideCallingHours { source: softphone_dialer::rules::ZoneSourceName::Number },
            },
        ),
        // 9:00 in New York is 6:00 in San Francisco: that lead waits for 8:00 there.
        (
            LOS_ANGELES,
            at("America/New_York", 2026, 12, 8, 9, 0),
            Verdict::Deferred {
                until_ms: at("America/Los_Angeles", 2026, 12, 8, 8, 0),
                why: Deferral::OutsideCallingHours { source: softphone_dialer::rules::ZoneSourceName::Number },
            },
        ),
        // 21:30 in New York is 20:30 in Chicago: still inside there.
        (CHICAGO, at("America/New_York", 2026, 12, 8, 21, 30), Verdict::Dial),
    ];
    for &(number, now, expected) in table {
        assert_eq!(verdict(&lead(1, number), now, &rules, &no_list(), &agent()), expected, "{number} at {now}");
    }
}

#[test]
fn the_time_zone_column_wins_over_the_number() {
    let rules = DialRules::default();
    // A New York number whose lead lives in Denver (the column says so): 9:00 in New York is 7:00
    // in Denver.
    let mut moved = lead(1, NEW_YORK);
    moved.time_zone = Some("America/Denver".into());
    let now = at("America/New_York", 2026, 12, 8, 9, 0);
    assert_eq!(
        verdict(&moved, now, &rules, &no_list(), &agent()),
        Verdict::Deferred {
            until_ms: at("America/Denver", 2026, 12, 8, 8, 0),
            why: Deferral::OutsideCallingHours { source: softphone_dialer::rules::ZoneSourceName::Lead },
        }
    );
}

#[test]
fn do_not_call_is_never_dialed_not_even_for_a_callback() {
    let rules = DialRules::default();
    let now = at("America/New_York", 2026, 12, 8, 10, 0);
    let mut marked = lead(1, NEW_YORK);
    marked.do_not_call = true;
    marked.callback_due_ms = Some(now - HOUR);
    assert_eq!(verdict(&marked, now, &rules, &no_list(), &agent()), Verdict::Refused { why: Refusal::MarkedDoNotCall });

    let listed: HashSet<String> = [NEW_YORK.to_owned()].into();
    let mut promised = lead(2, NEW_YORK);
    promised.callback_due_ms = Some(now - HOUR);
    assert_eq!(verdict(&promised, now, &rules, &listed, &agent()), Verdict::Refused { why: Refusal::OnDoNotCallList });

    // A number typed by hand: the list still applies, the hours do not (the agent chose the time).
    let number = PhoneNumber::from_e164(NEW_YORK).expect("valid");
    assert_eq!(manual_verdict(&number, false, &listed), Verdict::Refused { why: Refusal::OnDoNotCallList });
    assert_eq!(manual_verdict(&number, true, &no_list()), Verdict::Refused { why: Refusal::MarkedDoNotCall });
    assert_eq!(manual_verdict(&number, false, &no_list()), Verdict::Dial);
}

#[test]
fn the_gap_and_the_attempts_hold_unless_a_callback_is_due() {
    let rules = DialRules::default();
    let now = at("America/New_York", 2026, 12, 8, 10, 0);
    let mut recent = lead(1, NEW_YORK);
    recent.attempts = 1;
    recent.last_attempt_ms = Some(now - HOUR);
    assert_eq!(
        verdict(&recent, now, &rules, &no_list(), &agent()),
        Verdict::Deferred { until_ms: now + 3 * HOUR, why: Deferral::Gap }
    );
    // Called at 18:00: the gap ends at 22:00, after hours, so the lead comes back at 8:00.
    let mut evening = lead(2, NEW_YORK);
    let six = at("America/New_York", 2026, 12, 8, 18, 0);
    evening.attempts = 1;
    evening.last_attempt_ms = Some(six);
    assert_eq!(
        verdict(&evening, six + HOUR, &rules, &no_list(), &agent()),
        Verdict::Deferred {
            until_ms: at("America/New_York", 2026, 12, 9, 8, 0),
            why: Deferral::OutsideCallingHours { source: softphone_dialer::rules::ZoneSourceName::Number },
        }
    );
    // The promised callback is due: the gap gives way.
    recent.callback_due_ms = Some(now - 60_000);
    assert_eq!(verdict(&recent, now, &rules, &no_list(), &agent()), Verdict::Dial);

    let mut tried = lead(3, NEW_YORK);
    tried.attempts = rules.max_attempts;
    assert_eq!(
        verdict(&tried, now, &rules, &no_list(), &agent()),
        Verdict::Refused { why: Refusal::AttemptsUsed { max: rules.max_attempts } }
    );
    tried.callback_due_ms = Some(now);
    assert_eq!(verdict(&tried, now, &rules, &no_list(), &agent()), Verdict::Dial);
}

#[test]
fn the_hours_follow_daylight_saving_time() {
    let rules = DialRules::default();
    // 2027-03-14: New York springs forward at 2:00. 8:00 that day is 12:00 UTC, not 13:00.
    let eight = at("America/New_York", 2027, 3, 14, 8, 0);
    assert_eq!(Timestamp::from_millisecond(eight).expect("instant").to_string(), "2027-03-14T12:00:00Z");
    let early = at("America/New_York", 2027, 3, 14, 7, 59);
    assert!(matches!(
        verdict(&lead(1, NEW_YORK), early, &rules, &no_list(), &agent()),
        Verdict::Deferred { until_ms, .. } if until_ms == eight
    ));
}

#[test]
fn hours_that_never_open_refuse_instead_of_looping() {
    let rules = DialRules { hours: CallingHours { start_minute: 600, end_minute: 600 }, ..DialRules::default() };
    let now = at("America/New_York", 2026, 12, 8, 10, 0);
    assert_eq!(
        verdict(&lead(1, NEW_YORK), now, &rules, &no_list(), &agent()),
        Verdict::Refused { why: Refusal::NoCommonCallingHours }
    );
}

fn listed(id: i64, e164: &str, tags: &[&str]) -> ListLead {
    ListLead {
        dial: lead(id, e164),
        tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
        city: String::new(),
        last_disposition: None,
    }
}

#[test]
fn a_list_puts_due_callbacks_first_then_fewest_attempts_then_the_longest_untouched() {
    let now = at("America/New_York", 2026, 12, 8, 15, 0);
    let mut leads = vec![
        listed(1, "+12125550101", &["hot"]),
        listed(2, "+12125550102", &["hot"]),
        listed(3, "+12125550103", &["hot"]),
        listed(4, "+12125550104", &["hot"]),
        listed(5, "+12125550105", &["cold"]),
        listed(6, "+14155550106", &["hot"]),
        listed(7, "+12125550107", &["HOT"]),
    ];
    // 1: two attempts, the last one long ago. 2: one attempt yesterday. 3: never called.
    leads[0].dial.attempts = 2;
    leads[0].dial.last_attempt_ms = Some(now - 72 * HOUR);
    leads[1].dial.attempts = 1;
    leads[1].dial.last_attempt_ms = Some(now - 24 * HOUR);
    // 4: called an hour ago, but promised a callback due now: first.
    leads[3].dial.attempts = 3;
    leads[3].dial.last_attempt_ms = Some(now - HOUR);
    leads[3].dial.callback_due_ms = Some(now - 1);
    // 6: San Francisco at 12:00: inside its hours. 7: on the do-not-call list.
    let do_not_call: HashSet<String> = ["+12125550107".to_owned()].into();
    let filter = ListFilter { tags: vec!["hot".into()], ..ListFilter::default() };
    let list = build(leads, &filter, &DialRules::default(), &do_not_call, &agent(), now);
    assert_eq!(list.ready, [4, 3, 6, 2, 1].map(LeadId));
    assert_eq!(list.refused, [(LeadId(7), Refusal::OnDoNotCallList)]);
    assert!(list.deferred.is_empty());
    assert_eq!(list.len(), 6, "the cold lead is not in the list");
}

#[test]
fn filters_hold_the_leads_they_name() {
    let now = at("America/New_York", 2026, 12, 8, 15, 0);
    let mut lead = listed(1, NEW_YORK, &["Renewal"]);
    lead.city = "Boston".into();
    lead.last_disposition = Some("no-answer".into());
    lead.dial.attempts = 1;
    lead.dial.last_attempt_ms = Some(now - 3 * 24 * HOUR);
    let table: &[(ListFilter, bool)] = &[
        (ListFilter::default(), true),
        (ListFilter { tags: vec!["renewal".into(), "x".into()], ..ListFilter::default() }, true),
        (ListFilter { tags: vec!["hot".into()], ..ListFilter::default() }, false),
        (ListFilter { city: Some(" boston ".into()), ..ListFilter::default() }, true),
        (ListFilter { city: Some("Austin".into()), ..ListFilter::default() }, false),
        (ListFilter { last_disposition: Some("No-Answer".into()), ..ListFilter::default() }, true),
        (ListFilter { last_disposition: Some("busy".into()), ..ListFilter::default() }, false),
        (ListFilter { never_called: true, ..ListFilter::default() }, false),
        (ListFilter { not_called_for_days: Some(2), ..ListFilter::default() }, true),
        (ListFilter { not_called_for_days: Some(7), ..ListFilter::default() }, false),
        (ListFilter { callback_due: true, ..ListFilter::default() }, false),
    ];
    for (filter, holds) in table {
        assert_eq!(filter.holds(&lead, now), *holds, "{filter:?}");
    }
}

/// Numbers across the zones of the US, one per area code.
const NUMBERS: [&str; 6] =
    ["+12125550123", "+13125550123", "+13035550123", "+14155550123", "+19075550123", "+18085550123"];

prop_compose! {
    fn any_lead(now: i64)(
        id in 1_i64..10_000,
        number in 0..NUMBERS.len(),
        do_not_call in proptest::bool::weighted(0.1),
        attempts in 0_u32..9,
        since_last in proptest::option::of(0_i64..(96 * HOUR)),
        callback in proptest::option::of(-(48 * HOUR)..(48 * HOUR)),
        column in proptest::option::of(prop_oneof![Just("America/Denver"), Just("Europe/Paris"), Just("nowhere")]),
    ) -> LeadDialState {
        LeadDialState {
            lead_id: LeadId(id),
            phone: PhoneNumber::from_e164(NUMBERS[number]).expect("valid"),
            do_not_call,
            listed: false,
            time_zone: column.map(str::to_owned),
            attempts,
            last_attempt_ms: since_last.map(|since| now - since),
            callback_due_ms: callback.map(|offset| now + offset),
        }
    }
}

/// Whether `at_ms` is inside the calling hours in every zone the lead is in.
fn inside_hours(lead: &LeadDialState, at_ms: i64, rules: &DialRules) -> bool {
    let instant = Timestamp::from_millisecond(at_ms).expect("instant");
    let placed = zones::of_lead(lead.time_zone.as_deref(), &lead.phone, &agent(), instant);
    placed.zones.iter().all(|zone| {
        let local = instant.to_zoned_datetime(zone.clone());
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        (rules.hours.start_minute..rules.hours.end_minute).contains(&minute)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_dial_is_never_to_do_not_call_never_outside_hours_never_inside_the_gap(
        minutes in 0_i64..(7 * 24 * 60),
        seed_lead in any_lead(at("UTC", 2026, 12, 7, 0, 0)),
        listed_number in proptest::bool::weighted(0.1),
    ) {
        let now = at("UTC", 2026, 12, 7, 0, 0) + minutes * 60_000;
        let mut lead = seed_lead;
        // Move the lead's history with the clock.
        let shift = minutes * 60_000;
        lead.last_attempt_ms = lead.last_attempt_ms.map(|last| last + shift);
        lead.callback_due_ms = lead.callback_due_ms.map(|due| due + shift);
        let rules = DialRules::default();
        let list: HashSet<String> = if listed_number { [lead.phone.as_e164().to_owned()].into() } else { HashSet::new() };
        match verdict(&lead, now, &rules, &list, &agent()) {
            Verdict::Dial => {
                prop_assert!(!lead.do_not_call && !listed_number);
                prop_assert!(inside_hours(&lead, now, &rules));
                if !lead.callback_due(now) {
                    prop_assert!(lead.attempts < rules.max_attempts);
                    prop_assert!(lead.last_attempt_ms.is_none_or(|last| now - last >= rules.min_gap_ms));
                }
            }
            Verdict::Deferred { until_ms, .. } => {
                prop_assert!(until_ms > now);
                // When it comes back, it is dialed.
                prop_assert_eq!(verdict(&lead, until_ms, &rules, &list, &agent()), Verdict::Dial);
            }
            Verdict::Refused { why } => match why {
                Refusal::MarkedDoNotCall => prop_assert!(lead.do_not_call),
                Refusal::OnDoNotCallList => prop_assert!(listed_number),
                Refusal::AttemptsUsed { .. } => prop_assert!(lead.attempts >= rules.max_attempts && !lead.callback_due(now)),
                Refusal::NoCommonCallingHours => prop_assert!(false, "every test zone has hours in common"),
            },
        }
    }

    #[test]
    fn a_list_never_readies_a_lead_the_rules_would_not_dial_and_puts_due_callbacks_first(
        leads in proptest::collection::vec(any_lead(at("UTC", 2026, 12, 8, 17, 0)), 0..40),
    ) {
        let now = at("UTC", 2026, 12, 8, 17, 0);
        let rules = DialRules::default();
        let mut unique = std::collections::BTreeMap::new();
        for lead in leads {
            unique.insert(lead.lead_id, lead);
        }
        let listed: Vec<ListLead> = unique
            .values()
            .map(|dial| ListLead { dial: dial.clone(), tags: Vec::new(), city: String::new(), last_disposition: None })
            .collect();
        let list = build(listed, &ListFilter::default(), &rules, &no_list(), &agent(), now);
        prop_assert_eq!(list.len(), unique.len());
        let mut seen_plain = false;
        for lead_id in &list.ready {
            let lead = &unique[lead_id];
            prop_assert_eq!(verdict(lead, now, &rules, &no_list(), &agent()), Verdict::Dial);
            if lead.callback_due(now) {
                prop_assert!(!seen_plain, "a due callback after a plain lead: {:?}", list.ready);
            } else {
                seen_plain = true;
            }
        }
        prop_assert!(list.deferred.windows(2).all(|pair| pair[0].until_ms <= pair[1].until_ms));
    }
}
