//! What the agent reads: call states, causes, durations, times and error sentences. Pure, so it
//! is tested natively.

use softphone_core::call::{CallOutcome, CallSnapshot, CallView, Direction, HangupCause, UnixMillis};
use softphone_core::call_log::{CallLogEntry, LoggedCallState};
use softphone_core::ipc::{ErrorCode, IpcError};

/// Over a window whose own code failed, while the shell reloads it.
pub const WINDOW_FAILED_RELOADING: &str =
    "This window hit an error and is reloading. Your calls go on and come back with it.";
/// Over a window that failed too often to be reloaded again.
pub const WINDOW_FAILED_FOR_GOOD: &str =
    "This window keeps failing and was not reloaded. Your calls go on; restart the app to get the window back.";

/// A call's state in words; an ended call says why it ended.
/// `shown` turns a number as stored (E.164) into the number as the agent reads it.
pub fn call_state(call: &CallSnapshot, shown: impl Fn(&str) -> String) -> String {
    match call.view {
        CallView::Dialing => "Dialing".into(),
        CallView::EarlyMedia => "Ringing (early media)".into(),
        CallView::Ringing => "Ringing".into(),
        CallView::Answering => "Answering".into(),
        CallView::Active => "Active".into(),
        CallView::Holding => "Putting on hold".into(),
        CallView::Held => "On hold".into(),
        CallView::Resuming => "Resuming".into(),
        CallView::Reconnecting => "Reconnecting".into(),
        CallView::LeavingVoicemail => "Leaving voicemail".into(),
        CallView::Merging => "Merging into a three-way call…".into(),
        CallView::Transferring => match &call.control.transfer_to {
            Some(to) => format!("Transferring to {}…", shown(to)),
            None => "Transferring…".into(),
        },
        CallView::Ending => "Hanging up".into(),
        // What the agent did (cancel, decline) or missed says more than the network's cause.
        CallView::Ended => match &call.end {
            Some(end) => match end.outcome {
                CallOutcome::Cancelled => "Ended: Cancelled".into(),
                CallOutcome::Declined => "Ended: Declined".into(),
                CallOutcome::Missed => "Missed".into(),
                CallOutcome::Transferred => match &end.transferred_to {
                    Some(to) => format!("Transferred to {}", shown(to)),
                    None => "Transferred".into(),
                },
                _ => format!("Ended: {}", end.cause_label),
            },
            None => "Ended".into(),
        },
    }
}

/// `m:ss`, or `h:mm:ss` from an hour on. Negative durations read as zero.
pub fn duration(millis: i64) -> String {
    let seconds = millis.max(0) / 1000;
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if hours > 0 { format!("{hours}:{minutes:02}:{seconds:02}") } else { format!("{minutes}:{seconds:02}") }
}

/// Talk time of a live call at `now`, once answered.
pub fn talk_time(call: &CallSnapshot, now: UnixMillis) -> Option<String> {
    let answered = call.answered_at?;
    let until = call.end.as_ref().map_or(now, |end| end.at);
    Some(duration(until.millis_since(answered) as i64))
}

/// `YYYY-MM-DD HH:MM` of unix milliseconds, shifted by the local offset (minutes east of UTC).
pub fn clock_time(millis: i64, offset_minutes: i64) -> String {
    let minutes = millis.div_euclid(60_000) + offset_minutes;
    let (days, minute_of_day) = (minutes.div_euclid(1440), minutes.rem_euclid(1440));
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}", minute_of_day / 60, minute_of_day % 60)
}

/// The civil date (year, month 1-12, day 1-31) `days` after 1970-01-01 (Howard Hinnant's
/// algorithm).
pub(crate) fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((yoe + era * 400 + i64::from(month <= 2)) as i32, month, day)
}

/// The dialer's recent numbers: the call log's remote numbers, newest first, each once, at most
/// `count` (the log is newest first already).
pub fn recent_numbers(entries: &[CallLogEntry], count: usize) -> Vec<String> {
    let mut numbers: Vec<String> = Vec::with_capacity(count);
    for entry in entries {
        if numbers.len() == count {
            break;
        }
        if !entry.remote_number.is_empty() && !numbers.contains(&entry.remote_number) {
            numbers.push(entry.remote_number.clone());
        }
    }
    numbers
}

/// A local date and time on the agent's wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallTime {
    pub year: i32,
    /// 1-12.
    pub month: u32,
    /// 1-31.
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
}

/// The agent's wall clock: unix milliseconds to local time and back (the browser's `Date` in
/// the window; fixed rules in tests).
pub trait LocalClock {
    fn wall_time(&self, unix_ms: i64) -> WallTime;
    /// `None` for a time the clock skips (a daylight-saving gap) or that does not exist.
    fn unix_ms(&self, wall: WallTime) -> Option<i64>;
}

/// The browser's local time zone, through `Date`.
pub struct BrowserClock;

impl LocalClock for BrowserClock {
    fn wall_time(&self, unix_ms: i64) -> WallTime {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix_ms as f64));
        WallTime {
            year: date.get_full_year() as i32,
            month: date.get_month() + 1,
            day: date.get_date(),
            hour: date.get_hours(),
            minute: date.get_minutes(),
        }
    }

    fn unix_ms(&self, wall: WallTime) -> Option<i64> {
        let date = js_sys::Date::new_with_year_month_day_hr_min(
            wall.year as u32,
            wall.month as i32 - 1,
            wall.day as i32,
            wall.hour as i32,
            wall.minute as i32,
        );
        let time = date.get_time();
        // `Date` moves a skipped time forward; the wall clock then reads another hour.
        (!time.is_nan() && self.wall_time(time as i64) == wall).then_some(time as i64)
    }
}

/// When a callback chosen in the wrap-up is due (unix milliseconds): `in-1h`, `tomorrow-9` (9:00
/// on tomorrow's date on the agent's wall clock, whatever daylight saving does overnight), or
/// `custom` with the `datetime-local` text typed (`2026-12-08T14:30`, wall-clock time). `None`
/// when the typed time cannot be read or does not exist on the wall clock.
pub fn callback_at(pick: &str, typed: &str, now_ms: i64, clock: &impl LocalClock) -> Option<i64> {
    match pick {
        "in-1h" => Some(now_ms + 3_600_000),
        "tomorrow-9" => {
            // Noon today plus a day is tomorrow's date even across a 23- or 25-hour day.
            let today = clock.wall_time(now_ms);
            let noon = clock.unix_ms(WallTime { hour: 12, minute: 0, ..today })?;
            let tomorrow = clock.wall_time(noon + 86_400_000);
            clock.unix_ms(WallTime { hour: 9, minute: 0, ..tomorrow })
        }
        _ => clock.unix_ms(parse_wall_time(typed.trim())?),
    }
}

/// `YYYY-MM-DDTHH:MM` (what a `datetime-local` field gives, seconds allowed and ignored).
fn parse_wall_time(text: &str) -> Option<WallTime> {
    let (date, time) = text.split_once('T')?;
    let mut date = date.splitn(3, '-');
    let mut time = time.splitn(3, ':');
    let wall = WallTime {
        year: date.next()?.parse().ok()?,
        month: date.next()?.parse().ok()?,
        day: date.next()?.parse().ok()?,
        hour: time.next()?.parse().ok()?,
        minute: time.next()?.parse().ok()?,
    };
    let valid = (1..=12).contains(&wall.month) && (1..=31).contains(&wall.day) && wall.hour < 24 && wall.minute < 60;
    valid.then_some(wall)
}

/// The sentence shown for a failed command, chosen by its code. Where the shell's message is
/// the specific sentence (a number, a call, Telnyx's answer) it is shown as is.
pub fn error_sentence(error: &IpcError) -> String {
    let fixed = match error.code {
        ErrorCode::KeychainUnavailable => {
            "No keychain is available on this computer, so credentials cannot be stored; demo mode still works."
        }
        ErrorCode::KeychainLocked => "The keychain is locked; unlock it and try again.",
        ErrorCode::Offline => "Telnyx cannot be reached; check the internet connection and try again.",
        ErrorCode::TelnyxTimedOut => "Telnyx did not answer in time; try again in a moment.",
        ErrorCode::TelnyxUnavailable => "Telnyx is having trouble right now; try again in a few minutes.",
        ErrorCode::NotFound => "That is no longer there; it may have been removed or already ended.",
        ErrorCode::Internal
        | ErrorCode::InvalidArgument
        | ErrorCode::KeychainFailed
        | ErrorCode::TelnyxAuthRejected
        | ErrorCode::TelnyxRejected
        | ErrorCode::TelnyxInvalidResponse
        | ErrorCode::CertificateUntrusted
        | ErrorCode::InvalidNumber
        | ErrorCode::DoNotCall
        | ErrorCode::CallRefused
        | ErrorCode::StoreFailed
        | ErrorCode::AudioUnavailable
        | ErrorCode::EngineFailed
        | ErrorCode::UpdateRefused
        | ErrorCode::CallControlRefused
        | ErrorCode::TeamUnreachable
        | ErrorCode::TeamRefused => return error.message.clone(),
        ErrorCode::DemoOnly => "That works in demo mode only (without Telnyx credentials).",
    };
    fixed.to_owned()
}

/// A teammate's call's outcome, as the team database words it, for people.
pub fn team_outcome(outcome: &str) -> &str {
    match outcome {
        "answered" => "Answered",
        "no_answer" => "No answer",
        "busy" => "Busy",
        "failed" => "Failed",
        "missed" => "Missed",
        "rejected" => "Declined",
        "cancelled" => "Cancelled",
        "transferred" => "Transferred",
        "interrupted" => "Interrupted",
        other => other,
    }
}

/// Which calls the call log lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CallFilter {
    #[default]
    All,
    Missed,
    Inbound,
    Outbound,
}

impl CallFilter {
    pub const ALL: [CallFilter; 4] = [CallFilter::All, CallFilter::Missed, CallFilter::Inbound, CallFilter::Outbound];

    pub fn label(self) -> &'static str {
        match self {
            CallFilter::All => "All",
            CallFilter::Missed => "Missed",
            CallFilter::Inbound => "Inbound",
            CallFilter::Outbound => "Outbound",
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            CallFilter::All => "all",
            CallFilter::Missed => "missed",
            CallFilter::Inbound => "inbound",
            CallFilter::Outbound => "outbound",
        }
    }

    /// Whether a row the shell listed for this filter belongs in it (missed rows come
    /// pre-filtered from `get_missed_calls`; direction is filtered here).
    pub fn admits(self, entry: &CallLogEntry) -> bool {
        match self {
            CallFilter::All => true,
            CallFilter::Missed => entry.state == LoggedCallState::Missed,
            CallFilter::Inbound => entry.direction == Direction::Inbound,
            CallFilter::Outbound => entry.direction == Direction::Outbound,
        }
    }
}

/// The outcome column of the call log: the row's state, and the cause when it says more
/// (`shown` formats a number as the agent reads it).
pub fn outcome(entry: &CallLogEntry, shown: impl Fn(&str) -> String) -> String {
    if let Some(to) = &entry.transferred_to {
        return format!("Transferred to {}", shown(to));
    }
    let cause = entry.hangup_cause.as_deref().map(|name| match name {
        "NETWORK_LOST" => HangupCause::NetworkLost.describe().to_owned(),
        "TIMEOUT" => HangupCause::Timeout.describe().to_owned(),
        "ENGINE_FAILURE" => HangupCause::EngineFailure.describe().to_owned(),
        other => HangupCause::from_telnyx(Some(other), None).describe().to_owned(),
    });
    match (entry.state, cause) {
        (LoggedCallState::Completed | LoggedCallState::InProgress | LoggedCallState::Interrupted, _) | (_, None) => {
            entry.state.label().to_owned()
        }
        // An outbound call that never connected and ended normally: the agent hung up first.
        (LoggedCallState::Failed, Some(_))
            if matches!(entry.hangup_cause.as_deref(), Some("NORMAL_CLEARING" | "ORIGINATOR_CANCEL")) =>
        {
            "Cancelled".to_owned()
        }
        (state, Some(cause)) => format!("{}: {cause}", state.label()),
    }
}

/// The disposition the wrap-up form proposes for a call that ended: what the outcome already
/// says (busy, no answer, answered); the agent can change it.
pub fn suggested_disposition(
    end: Option<&softphone_core::call::CallEnd>,
) -> Option<softphone_core::disposition::Disposition> {
    use softphone_core::call::CallOutcome;
    use softphone_core::disposition::Disposition;
    match end?.outcome {
        CallOutcome::Completed | CallOutcome::Transferred => Some(Disposition::Answered),
        CallOutcome::Busy => Some(Disposition::Busy),
        CallOutcome::NoAnswer => Some(Disposition::NoAnswer),
        CallOutcome::Missed
        | CallOutcome::Declined
        | CallOutcome::Cancelled
        | CallOutcome::Rejected
        | CallOutcome::Failed => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use softphone_core::call::{CallControlView, CallEnd, CallId, Direction, Party};
    use softphone_core::call_log::{CallEngine, CallLogId};

    /// New York's rules for 2026 in small: UTC-5, and UTC-4 from 2026-03-08 07:00 UTC (2:00 local
    /// becomes 3:00) to 2026-11-01 06:00 UTC (2:00 local becomes 1:00 again).
    struct NewYork2026;

    const HOUR_MS: i64 = 3_600_000;
    const SPRING_FORWARD_MS: i64 = 1_772_953_200_000; // 2026-03-08T07:00:00Z
    const FALL_BACK_MS: i64 = 1_793_512_800_000; // 2026-11-01T06:00:00Z

    fn offset_ms(unix_ms: i64) -> i64 {
        if (SPRING_FORWARD_MS..FALL_BACK_MS).contains(&unix_ms) { -4 * HOUR_MS } else { -5 * HOUR_MS }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
        let year = i64::from(year) - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month = i64::from(month);
        let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    impl LocalClock for NewYork2026 {
        fn wall_time(&self, unix_ms: i64) -> WallTime {
            let local = unix_ms + offset_ms(unix_ms);
            let (year, month, day) = civil_from_days(local.div_euclid(86_400_000));
            let minutes = local.rem_euclid(86_400_000) / 60_000;
            WallTime { year, month, day, hour: (minutes / 60) as u32, minute: (minutes % 60) as u32 }
        }

        fn unix_ms(&self, wall: WallTime) -> Option<i64> {
            let local = days_from_civil(wall.year, wall.month, wall.day) * 86_400_000
                + i64::from(wall.hour) * HOUR_MS
                + i64::from(wall.minute) * 60_000;
            [-5 * HOUR_MS, -4 * HOUR_MS]
                .into_iter()
                .map(|offset| local - offset)
                .filter(|candidate| self.wall_time(*candidate) == wall)
                .min()
        }
    }

    fn utc(text: &str) -> i64 {
        // `YYYY-MM-DDTHH:MM` in UTC.
        let wall = parse_wall_time(text).expect("a time");
        days_from_civil(wall.year, wall.month, wall.day) * 86_400_000
            + i64::from(wall.hour) * HOUR_MS
            + i64::from(wall.minute) * 60_000
    }

    #[test]
    fn callback_times_are_read_on_the_agents_wall_clock_across_daylight_saving_and_month_ends() {
        let clock = NewYork2026;
        let now = utc("2026-12-07T21:45"); // 16:45 in New York
        assert_eq!(callback_at("in-1h", "", now, &clock), Some(now + HOUR_MS));
        assert_eq!(callback_at("tomorrow-9", "", now, &clock), Some(utc("2026-12-08T14:00")));
        // The night the clocks spring forward: 9:00 tomorrow is 13:00 UTC, not 14:00.
        assert_eq!(callback_at("tomorrow-9", "", utc("2026-03-08T03:00"), &clock), Some(utc("2026-03-08T13:00")));
        // And the night they fall back: 14:00 UTC.
        assert_eq!(callback_at("tomorrow-9", "", utc("2026-11-01T02:00"), &clock), Some(utc("2026-11-01T14:00")));
        // New Year's Eve in the evening: the first of January.
        assert_eq!(callback_at("tomorrow-9", "", utc("2027-01-01T01:00"), &clock), Some(utc("2027-01-01T14:00")));
        // A typed time is wall-clock time.
        assert_eq!(callback_at("custom", "2026-12-08T14:30", now, &clock), Some(utc("2026-12-08T19:30")));
        assert_eq!(callback_at("custom", " 2026-07-01T09:05:00 ", now, &clock), Some(utc("2026-07-01T13:05")));
        // 2:30 does not exist on the spring-forward night; nonsense is no time.
        for typed in ["2026-03-08T02:30", "2026-13-01T10:00", "tomorrow", "", "2026-12-08"] {
            assert_eq!(callback_at("custom", typed, now, &clock), None, "{typed:?}");
        }
    }

    fn call(view: CallView) -> CallSnapshot {
        CallSnapshot {
            call_id: CallId("c1".into()),
            direction: Direction::Outbound,
            remote: Party { number: "+14155550100".into(), name: None },
            lead_id: None,
            view,
            muted: false,
            started_at: UnixMillis(1_000),
            answered_at: None,
            end: None,
            caller_number: None,
            control: CallControlView { available: true, ..CallControlView::default() },
        }
    }

    #[test]
    fn call_states_read_as_words_and_an_ended_call_says_why() {
        assert_eq!(call_state(&call(CallView::Dialing), str::to_owned), "Dialing");
        assert_eq!(call_state(&call(CallView::Held), str::to_owned), "On hold");
        assert_eq!(call_state(&call(CallView::LeavingVoicemail), str::to_owned), "Leaving voicemail");
        let mut ended = call(CallView::Ended);
        ended.end = Some(CallEnd {
            outcome: CallOutcome::Busy,
            cause: HangupCause::UserBusy,
            cause_label: "Busy".into(),
            sip_code: Some(486),
            at: UnixMillis(5_000),
            transferred_to: None,
        });
        assert_eq!(call_state(&ended, str::to_owned), "Ended: Busy");
        // Hung up by the agent before the answer: the network says NORMAL_CLEARING, the agent
        // reads what happened, as the call log does.
        ended.end = Some(CallEnd {
            outcome: CallOutcome::Cancelled,
            cause: HangupCause::NormalClearing,
            cause_label: "Call ended".into(),
            sip_code: None,
            at: UnixMillis(5_000),
            transferred_to: None,
        });
        assert_eq!(call_state(&ended, str::to_owned), "Ended: Cancelled");
        ended.end = Some(CallEnd {
            outcome: CallOutcome::Transferred,
            cause: HangupCause::NormalClearing,
            cause_label: "Call ended".into(),
            sip_code: None,
            at: UnixMillis(5_000),
            transferred_to: Some("+15555550177".into()),
        });
        assert_eq!(call_state(&ended, str::to_owned), "Transferred to +15555550177");
        let mut handing_on = call(CallView::Transferring);
        handing_on.control.transfer_to = Some("sip:billing@sip.telnyx.com".into());
        assert_eq!(call_state(&handing_on, str::to_owned), "Transferring to sip:billing@sip.telnyx.com…");
    }

    #[test]
    fn talk_time_runs_from_the_answer_and_stops_at_the_end() {
        let mut active = call(CallView::Active);
        assert_eq!(talk_time(&active, UnixMillis(9_000)), None, "not answered yet");
        active.answered_at = Some(UnixMillis(2_000));
        assert_eq!(talk_time(&active, UnixMillis(67_000)), Some("1:05".into()));
        assert_eq!(duration(3_725_000), "1:02:05");
        assert_eq!(duration(-5), "0:00");
    }

    #[test]
    fn clock_times_are_calendar_dates() {
        assert_eq!(clock_time(0, 0), "1970-01-01 00:00");
        // 2026-11-23 16:28 UTC, and the same instant two hours west.
        assert_eq!(clock_time(1_795_451_280_000, 0), "2026-11-23 16:28");
        assert_eq!(clock_time(1_795_451_280_000, -120), "2026-11-23 14:28");
    }

    #[test]
    fn errors_are_sentences_chosen_by_code() {
        let number = IpcError::new(ErrorCode::InvalidNumber, "The phone number is too short.");
        assert_eq!(error_sentence(&number), "The phone number is too short.");
        let offline = IpcError::new(ErrorCode::Offline, "reqwest: dns error");
        assert!(error_sentence(&offline).starts_with("Telnyx cannot be reached"));
    }

    #[test]
    fn recent_numbers_are_the_newest_distinct_ones() {
        let with = |number: &str| CallLogEntry {
            remote_number: number.into(),
            ..entry(Direction::Outbound, LoggedCallState::Completed, None)
        };
        let log = [with("+14155550100"), with("+14155550101"), with("+14155550100"), with(""), with("+14155550102")];
        assert_eq!(recent_numbers(&log, 5), ["+14155550100", "+14155550101", "+14155550102"]);
        assert_eq!(recent_numbers(&log, 2), ["+14155550100", "+14155550101"]);
        assert!(recent_numbers(&[], 5).is_empty());
    }

    fn entry(direction: Direction, state: LoggedCallState, cause: Option<&str>) -> CallLogEntry {
        CallLogEntry {
            id: CallLogId(1),
            direction,
            remote_number: "+14155550100".into(),
            lead_id: None,
            engine: CallEngine::Webview,
            started_at_ms: 0,
            answered_at_ms: None,
            ended_at_ms: Some(1),
            duration_ms: Some(0),
            state,
            hangup_cause: cause.map(str::to_owned),
            sip_code: None,
            disposition: None,
            note: String::new(),
            transferred_to: None,
            recorded_ms: None,
        }
    }

    #[test]
    fn the_call_log_filters_and_names_outcomes() {
        let busy = entry(Direction::Outbound, LoggedCallState::Failed, Some("USER_BUSY"));
        assert_eq!(outcome(&busy, str::to_owned), "Failed: Busy");
        assert!(CallFilter::Outbound.admits(&busy) && !CallFilter::Inbound.admits(&busy));
        let missed = entry(Direction::Inbound, LoggedCallState::Missed, None);
        assert_eq!(outcome(&missed, str::to_owned), "Missed");
        assert!(CallFilter::Missed.admits(&missed) && !CallFilter::Missed.admits(&busy));
        let cancelled = entry(Direction::Outbound, LoggedCallState::Failed, Some("NORMAL_CLEARING"));
        assert_eq!(outcome(&cancelled, str::to_owned), "Cancelled");
        let done = entry(Direction::Outbound, LoggedCallState::Completed, Some("NORMAL_CLEARING"));
        assert_eq!(outcome(&done, str::to_owned), "Completed");
    }

    #[test]
    fn wrap_up_proposes_what_the_outcome_says() {
        use softphone_core::call::{CallOutcome, HangupCause, UnixMillis};
        use softphone_core::disposition::Disposition;
        let end = |outcome| CallEnd {
            outcome,
            cause: HangupCause::NormalClearing,
            cause_label: String::new(),
            sip_code: None,
            at: UnixMillis(0),
            transferred_to: None,
        };
        assert_eq!(suggested_disposition(Some(&end(CallOutcome::Completed))), Some(Disposition::Answered));
        assert_eq!(suggested_disposition(Some(&end(CallOutcome::Busy))), Some(Disposition::Busy));
        assert_eq!(suggested_disposition(Some(&end(CallOutcome::NoAnswer))), Some(Disposition::NoAnswer));
        assert_eq!(suggested_disposition(Some(&end(CallOutcome::Failed))), None);
        assert_eq!(suggested_disposition(None), None);
    }
}
