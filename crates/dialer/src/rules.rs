//! Whether a lead may be dialed now, and if not, why and until when: the rules the dialer enforces
//! on every dial, whatever the window shows.
//!
//! - Never a lead marked do-not-call, nor a number on the do-not-call list.
//! - At most [`DialRules::max_attempts`] attempts per lead.
//! - Never twice within [`DialRules::min_gap_ms`].
//! - Only inside the lead's local calling hours ([`CallingHours`]), in every zone its number may
//!   be in (see [`crate::zones`]).
//!
//! A callback that is due overrides the gap and the attempts (the agent promised the call), never
//! do-not-call or the calling hours. A lead outside its hours or inside its gap is deferred, not
//! dropped: the verdict says when it may be dialed.

use std::collections::HashSet;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
pub use softphone_core::dialing::CallingHours;
use softphone_core::lead::LeadId;
use softphone_core::phone::PhoneNumber;

use crate::zones::{self, ZoneSource};

/// The rules of a dialing session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialRules {
    /// The shortest time between two attempts on one lead (a due callback may come sooner).
    pub min_gap_ms: i64,
    /// The most attempts on one lead (a due callback may go beyond).
    pub max_attempts: u32,
    pub hours: CallingHours,
}

impl Default for DialRules {
    /// Four hours between attempts, six attempts, 8:00 to 21:00 local.
    fn default() -> Self {
        DialRules { min_gap_ms: 4 * 3600 * 1000, max_attempts: 6, hours: CallingHours::default() }
    }
}

/// What the rules need to know of a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadDialState {
    pub lead_id: LeadId,
    pub phone: PhoneNumber,
    /// Marked do-not-call on the lead itself.
    pub do_not_call: bool,
    /// The source already knows the number is on the do-not-call list (a store reads it with the
    /// lead); `false` leaves it to the [`DoNotCallList`] the rules are given.
    pub listed: bool,
    /// An IANA name from the lead's time-zone column, if it has one.
    pub time_zone: Option<String>,
    /// Calls placed to the lead so far.
    pub attempts: u32,
    /// Unix milliseconds of the latest attempt.
    pub last_attempt_ms: Option<i64>,
    /// Unix milliseconds a callback is due at, if one was promised.
    pub callback_due_ms: Option<i64>,
}

impl LeadDialState {
    /// Whether a promised callback is due at `now_ms`.
    pub fn callback_due(&self, now_ms: i64) -> bool {
        self.callback_due_ms.is_some_and(|due| due <= now_ms)
    }
}

/// The do-not-call list, as the rules ask it.
pub trait DoNotCallList {
    fn lists(&self, number: &PhoneNumber) -> bool;
}

/// For leads whose source read the list with them ([`LeadDialState::listed`]): nothing more to ask.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListedBySource;

impl DoNotCallList for ListedBySource {
    fn lists(&self, _number: &PhoneNumber) -> bool {
        false
    }
}

/// E.164 numbers.
impl DoNotCallList for HashSet<String> {
    fn lists(&self, number: &PhoneNumber) -> bool {
        self.contains(number.as_e164())
    }
}

/// Why a lead is never dialed (until someone changes the lead or the list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Refusal {
    #[error("The lead is marked do-not-call.")]
    MarkedDoNotCall,
    #[error("The number is on the do-not-call list.")]
    OnDoNotCallList,
    #[error("The lead has had {max} attempts, the most a lead gets.")]
    AttemptsUsed { max: u32 },
    #[error("The lead's number spans time zones with no calling hours in common; set the lead's time zone.")]
    NoCommonCallingHours,
}

/// Why a lead waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Deferral {
    /// Called too recently.
    Gap,
    /// Outside its local calling hours (its zone from `source`).
    OutsideCallingHours { source: ZoneSourceName },
}

/// [`ZoneSource`] as data the window can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneSourceName {
    Lead,
    Number,
    Agent,
}

impl From<ZoneSource> for ZoneSourceName {
    fn from(source: ZoneSource) -> Self {
        match source {
            ZoneSource::Lead => ZoneSourceName::Lead,
            ZoneSource::Number => ZoneSourceName::Number,
            ZoneSource::Agent => ZoneSourceName::Agent,
        }
    }
}

/// Whether to dial a lead now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Dial,
    /// Not before `until_ms` (unix milliseconds).
    Deferred {
        until_ms: i64,
        why: Deferral,
    },
    Refused {
        why: Refusal,
    },
}

/// How far ahead a common calling window is looked for.
const WINDOW_SEARCH_STEPS: usize = 16;

/// The rules applied to `lead` at `now_ms`; `agent_zone` places a lead nothing else places.
pub fn verdict(
    lead: &LeadDialState,
    now_ms: i64,
    rules: &DialRules,
    do_not_call: &impl DoNotCallList,
    agent_zone: &TimeZone,
) -> Verdict {
    verdict_with(lead, now_ms, rules, do_not_call, agent_zone, &mut RuleCache::default())
}

/// What [`verdict`] works out once per zone rather than once per lead, for a list of many leads:
/// the zones of a number's leading digits, and when the hours next open in a set of zones.
#[derive(Debug, Default)]
pub struct RuleCache {
    zones: std::collections::HashMap<(Option<String>, String), std::rc::Rc<zones::LeadZones>>,
    opens: std::collections::HashMap<(usize, i64), Option<Timestamp>>,
}

/// How many leading digits decide a number's zones (the map's longest prefixes).
const ZONE_DIGITS: usize = 9;

/// [`verdict`] with a cache shared by the leads of one list at one moment.
pub fn verdict_with(
    lead: &LeadDialState,
    now_ms: i64,
    rules: &DialRules,
    do_not_call: &impl DoNotCallList,
    agent_zone: &TimeZone,
    cache: &mut RuleCache,
) -> Verdict {
    if lead.do_not_call {
        return Verdict::Refused { why: Refusal::MarkedDoNotCall };
    }
    if lead.listed || do_not_call.lists(&lead.phone) {
        return Verdict::Refused { why: Refusal::OnDoNotCallList };
    }
    let promised = lead.callback_due(now_ms);
    if !promised && lead.attempts >= rules.max_attempts {
        return Verdict::Refused { why: Refusal::AttemptsUsed { max: rules.max_attempts } };
    }
    let gap_ends = match lead.last_attempt_ms {
        Some(last) if !promised => last.saturating_add(rules.min_gap_ms),
        _ => now_ms,
    };
    let earliest = gap_ends.max(now_ms);
    let Some(from) = Timestamp::from_millisecond(earliest).ok() else {
        return Verdict::Refused { why: Refusal::NoCommonCallingHours };
    };
    let digits = lead.phone.digits();
    let key = (lead.time_zone.clone(), digits[..digits.len().min(ZONE_DIGITS)].to_owned());
    let placed =
        std::rc::Rc::clone(cache.zones.entry(key).or_insert_with(|| {
            std::rc::Rc::new(zones::of_lead(lead.time_zone.as_deref(), &lead.phone, agent_zone, from))
        }));
    // Keyed by the zones' identity in the cache: the same zones, the same opening.
    let opens_key = (std::rc::Rc::as_ptr(&placed) as usize, from.as_millisecond());
    let opens = *cache.opens.entry(opens_key).or_insert_with(|| first_time_inside(&placed.zones, from, rules.hours));
    let Some(opens) = opens else {
        return Verdict::Refused { why: Refusal::NoCommonCallingHours };
    };
    let opens_ms = opens.as_millisecond();
    if opens_ms <= now_ms {
        Verdict::Dial
    } else if opens_ms == earliest {
        Verdict::Deferred { until_ms: opens_ms, why: Deferral::Gap }
    } else {
        Verdict::Deferred { until_ms: opens_ms, why: Deferral::OutsideCallingHours { source: placed.source.into() } }
    }
}

/// The do-not-call rules alone, for a number the agent dials by hand: the agent chooses when, the
/// list still says whom never.
pub fn manual_verdict(number: &PhoneNumber, marked_lead: bool, do_not_call: &impl DoNotCallList) -> Verdict {
    if marked_lead {
        Verdict::Refused { why: Refusal::MarkedDoNotCall }
    } else if do_not_call.lists(number) {
        Verdict::Refused { why: Refusal::OnDoNotCallList }
    } else {
        Verdict::Dial
    }
}

/// The first instant at or after `from` inside `hours` in every one of `zones`.
fn first_time_inside(zones: &[TimeZone], from: Timestamp, hours: CallingHours) -> Option<Timestamp> {
    if !hours.is_valid() {
        return None;
    }
    let mut candidate = from;
    for _ in 0..WINDOW_SEARCH_STEPS {
        let mut inside_all = true;
        let mut next = candidate;
        for zone in zones {
            let local = candidate.to_zoned_datetime(zone.clone());
            let minute = (local.hour() as u16) * 60 + local.minute() as u16;
            if !hours.contains(minute) {
                inside_all = false;
                next = next.max(next_opening(&local, hours)?);
            }
        }
        if inside_all {
            return Some(candidate);
        }
        candidate = next;
    }
    None
}

/// When the hours next open after `local` (today if before they open, else tomorrow).
fn next_opening(local: &jiff::ZonedDateTime, hours: CallingHours) -> Option<Timestamp> {
    let minute = (local.hour() as u16) * 60 + local.minute() as u16;
    let day = if minute < hours.start_minute { local.date() } else { local.date().tomorrow().ok()? };
    let (hour, minute) = ((hours.start_minute / 60) as i8, (hours.start_minute % 60) as i8);
    let opening = day.at(hour, minute, 0, 0).to_zoned_datetime(local.time_zone().clone()).ok()?;
    Some(opening.timestamp())
}

/// What becomes of a team campaign's lead after its wrap-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamRelease {
    /// Worked to an end (reached and answered, not interested, a wrong number): nobody on the team
    /// is handed it again.
    Finished,
    /// Not reached (no answer, busy, a voicemail left) or to be called back: back to the team
    /// after the gap between attempts.
    RetryAfter { ms: i64 },
}

impl DialRules {
    /// The team rule for a lead wrapped up with `disposition` (a disposition's code): not reached
    /// or a callback comes back after [`DialRules::min_gap_ms`]; anything else is finished.
    /// A team's own dispositions count as reached.
    pub fn team_release(&self, disposition: &str) -> TeamRelease {
        match disposition {
            "no-answer" | "busy" | "voicemail-left" | "callback" => TeamRelease::RetryAfter { ms: self.min_gap_ms },
            _ => TeamRelease::Finished,
        }
    }
}

#[cfg(test)]
mod team_release_tests {
    use super::*;
    use softphone_core::disposition::Disposition;

    #[test]
    fn unreached_and_callbacks_come_back_after_the_gap_and_the_rest_are_finished() {
        let rules = DialRules::default();
        let back = TeamRelease::RetryAfter { ms: 4 * 3600 * 1000 };
        for (disposition, release) in [
            (Disposition::NoAnswer, back),
            (Disposition::Busy, back),
            (Disposition::VoicemailLeft, back),
            (Disposition::Callback, back),
            (Disposition::Answered, TeamRelease::Finished),
            (Disposition::NotInterested, TeamRelease::Finished),
            (Disposition::WrongNumber, TeamRelease::Finished),
        ] {
            assert_eq!(rules.team_release(disposition.code()), release, "{disposition:?}");
        }
        assert_eq!(rules.team_release("Demo booked"), TeamRelease::Finished);
    }
}
