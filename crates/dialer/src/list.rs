//! Call lists: a saved filter over leads and the order they are worked in, counted and previewed
//! before a session starts.
//!
//! The order: due callbacks first (the earliest promise first), then the leads with the fewest
//! attempts, then the ones whose last attempt is oldest (never called before any), then by id, so
//! the same leads always come in the same order. Leads the rules defer are listed apart with when
//! they come back; leads the rules refuse are counted, not dialed.

use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
pub use softphone_core::dialing::ListFilter;
use softphone_core::lead::LeadId;

use crate::rules::{self, Deferral, DialRules, DoNotCallList, LeadDialState, Refusal, Verdict};

/// A day in milliseconds.
const DAY_MS: i64 = 24 * 3600 * 1000;

/// A lead as a list sees it: what the rules need, and what the filter looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListLead {
    pub dial: LeadDialState,
    pub tags: Vec<String>,
    pub city: String,
    pub last_disposition: Option<String>,
}

/// What a list's filter says of a lead.
pub trait Holds {
    /// Whether the list holds `lead` at `now_ms`.
    fn holds(&self, lead: &ListLead, now_ms: i64) -> bool;
}

impl Holds for ListFilter {
    fn holds(&self, lead: &ListLead, now_ms: i64) -> bool {
        let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
        let tagged = self.tags.is_empty() || self.tags.iter().any(|tag| lead.tags.iter().any(|own| same(own, tag)));
        let city = self.city.as_deref().is_none_or(|city| same(city, &lead.city));
        let disposition = self
            .last_disposition
            .as_deref()
            .is_none_or(|wanted| lead.last_disposition.as_deref().is_some_and(|own| same(own, wanted)));
        let never = !self.never_called || lead.dial.attempts == 0;
        let quiet = self.not_called_for_days.is_none_or(|days| {
            lead.dial.last_attempt_ms.is_none_or(|last| now_ms.saturating_sub(last) >= i64::from(days) * DAY_MS)
        });
        let due = !self.callback_due || lead.dial.callback_due(now_ms);
        tagged && city && disposition && never && quiet && due
    }
}

/// Where a list's leads come from: the local lead table, or later a team's shared campaign.
pub trait LeadSource {
    type Error;
    /// The leads `filter` may hold (a source may return more; the list applies the filter again).
    fn leads(&mut self, filter: &ListFilter) -> Result<Vec<ListLead>, Self::Error>;
}

/// A lead the rules defer, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeferredLead {
    pub lead_id: LeadId,
    pub until_ms: i64,
    pub why: Deferral,
}

/// A list as built at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallList {
    /// The leads to dial now, in order.
    pub ready: Vec<LeadId>,
    /// The leads that wait, soonest first.
    pub deferred: Vec<DeferredLead>,
    /// The leads the rules never dial, with why.
    pub refused: Vec<(LeadId, Refusal)>,
}

impl CallList {
    /// How many leads the list holds.
    pub fn len(&self) -> usize {
        self.ready.len() + self.deferred.len() + self.refused.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The working order's key (smaller first).
fn order_key(lead: &LeadDialState, now_ms: i64) -> (bool, i64, u32, i64, LeadId) {
    let due = lead.callback_due_ms.filter(|&due| due <= now_ms);
    (due.is_none(), due.unwrap_or(0), lead.attempts, lead.last_attempt_ms.unwrap_or(i64::MIN), lead.lead_id)
}

/// The list `filter` makes of `leads` at `now_ms`, under `rules`.
pub fn build(
    leads: impl IntoIterator<Item = ListLead>,
    filter: &ListFilter,
    rules: &DialRules,
    do_not_call: &impl DoNotCallList,
    agent_zone: &TimeZone,
    now_ms: i64,
) -> CallList {
    let mut ready = Vec::new();
    let mut deferred = Vec::new();
    let mut refused = Vec::new();
    let mut cache = rules::RuleCache::default();
    for lead in leads.into_iter().filter(|lead| filter.holds(lead, now_ms)) {
        let key = order_key(&lead.dial, now_ms);
        match rules::verdict_with(&lead.dial, now_ms, rules, do_not_call, agent_zone, &mut cache) {
            Verdict::Dial => ready.push((key, lead.dial.lead_id)),
            Verdict::Deferred { until_ms, why } => {
                deferred.push((until_ms, key, DeferredLead { lead_id: lead.dial.lead_id, until_ms, why }))
            }
            Verdict::Refused { why } => refused.push((lead.dial.lead_id, why)),
        }
    }
    ready.sort_unstable();
    deferred.sort_unstable_by_key(|(until, key, _)| (*until, *key));
    refused.sort_unstable_by_key(|(lead_id, _)| *lead_id);
    CallList {
        ready: ready.into_iter().map(|(_, lead_id)| lead_id).collect(),
        deferred: deferred.into_iter().map(|(_, _, lead)| lead).collect(),
        refused,
    }
}
