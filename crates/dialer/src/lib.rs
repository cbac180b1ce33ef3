//! The dialer's policy, without I/O and with the clock passed in, where table and property tests
//! reach it: which leads a call list holds and in which order ([`list`]), whether a lead may be
//! dialed now and if not until when ([`rules`]), which caller-ID number a call presents
//! ([`presence`]), where a lead is in time ([`zones`]), the session an agent works a list in,
//! preview or power ([`session`]), and its report ([`report`]).
//!
//! The shell asks it before every dial, the power dialer's next lead included; the window only
//! shows what it says.

pub mod list;
pub mod presence;
pub mod report;
pub mod rules;
pub mod session;
pub mod zones;

pub use list::{CallList, DeferredLead, Holds, LeadSource, ListFilter, ListLead, build};
pub use presence::caller_number_for;
pub use rules::{
    CallingHours, Deferral, DialRules, DoNotCallList, LeadDialState, ListedBySource, Refusal, RuleCache, TeamRelease,
    Verdict, manual_verdict, verdict, verdict_with,
};
pub use session::{DialingSession, Dialled, Figures, Mode, SessionEffect, SessionEvent, SessionRejection, Stage};
