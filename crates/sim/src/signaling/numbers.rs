//! The simulator's directory: numbers with scripted behaviour, shared by demo mode, tests and
//! `softphone-sim --help`.
//!
//! All numbers are in the fictional +1 555 555 01xx range. A number not in the directory answers
//! like a number that does not exist: `UNALLOCATED_NUMBER` (1) / SIP 404, with no ringing.

use crate::media::{DtlsAnswerRole, FarEnd, FarEndCodecs};

/// What the far end does when the softphone calls it. Timings come from
/// [`super::SignalingConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Behaviour {
    /// Rings, answers after `answer_delay`, plays a 440 Hz tone.
    Tone,
    /// Rings, answers after `answer_delay`, sends back what it hears.
    Echo,
    /// Rejects at once as busy: `USER_BUSY` 17 / 486.
    Busy,
    /// Rings until `no_answer_timeout`, then `NO_ANSWER` 19 / 480.
    NoAnswer,
    /// Rings, then declines after `answer_delay`: `CALL_REJECTED` 21 / 603.
    Reject,
    /// Rings, sends early media (a 425 Hz tone) for `early_media_duration`, then answers and
    /// plays 440 Hz.
    EarlyMedia,
    /// Like [`Behaviour::Tone`], then hangs up after `hangup_after`: `NORMAL_CLEARING` 16 / 200.
    HangUp,
    /// No such number: `UNALLOCATED_NUMBER` 1 / 404, no ringing.
    Unallocated,
    /// Like [`Behaviour::Tone`], but takes G.711 A-law only (a carrier leg limited to PCMA); an
    /// offer without PCMA fails with `INCOMPATIBLE_DESTINATION` 88 / 488.
    AlawOnly,
    /// Like [`Behaviour::Tone`], from an ICE-lite media server that answers `a=setup:active`.
    IceLite,
    /// Like [`Behaviour::Tone`], from an ICE-lite media server that answers `a=setup:passive`.
    IceLitePassive,
    /// Like [`Behaviour::Tone`], from a full-ICE far end that answers `a=setup:passive`.
    DtlsPassive,
    /// Rings, then an answering machine answers after `answer_delay`: a 2 s greeting (480 Hz), a
    /// 1 kHz beep, then it records what it hears (the call's `voicemail`) and hangs up after 60 s.
    Voicemail,
}

impl Behaviour {
    /// Every behaviour, in the order of the enum.
    pub const ALL: [Behaviour; 13] = [
        Behaviour::Tone,
        Behaviour::Echo,
        Behaviour::Busy,
        Behaviour::NoAnswer,
        Behaviour::Reject,
        Behaviour::EarlyMedia,
        Behaviour::HangUp,
        Behaviour::Unallocated,
        Behaviour::AlawOnly,
        Behaviour::IceLite,
        Behaviour::IceLitePassive,
        Behaviour::DtlsPassive,
        Behaviour::Voicemail,
    ];

    /// The behaviour a [`Behaviour::word`] names.
    pub fn from_word(word: &str) -> Option<Behaviour> {
        Behaviour::ALL.into_iter().find(|behaviour| behaviour.word() == word.trim())
    }

    /// The word `--help` and the control API show.
    pub fn word(self) -> &'static str {
        match self {
            Behaviour::Tone => "tone",
            Behaviour::Echo => "echo",
            Behaviour::Busy => "busy",
            Behaviour::NoAnswer => "no-answer",
            Behaviour::Reject => "reject",
            Behaviour::EarlyMedia => "early-media",
            Behaviour::HangUp => "hangup",
            Behaviour::Unallocated => "unallocated",
            Behaviour::AlawOnly => "alaw-only",
            Behaviour::IceLite => "ice-lite",
            Behaviour::IceLitePassive => "ice-lite-passive",
            Behaviour::DtlsPassive => "dtls-passive",
            Behaviour::Voicemail => "voicemail",
        }
    }

    /// How the number's far end negotiates media.
    pub fn far_end(self) -> FarEnd {
        let (codecs, ice_lite, dtls_answer) = match self {
            Behaviour::AlawOnly => (FarEndCodecs::PcmaOnly, false, DtlsAnswerRole::Active),
            Behaviour::IceLite => (FarEndCodecs::All, true, DtlsAnswerRole::Active),
            Behaviour::IceLitePassive => (FarEndCodecs::All, true, DtlsAnswerRole::Passive),
            Behaviour::DtlsPassive => (FarEndCodecs::All, false, DtlsAnswerRole::Passive),
            _ => return FarEnd::default(),
        };
        FarEnd { codecs, ice_lite, dtls_answer, address: None }
    }
}

/// One number of the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listing {
    /// E.164.
    pub number: &'static str,
    /// What it does.
    pub behaviour: Behaviour,
    /// One line for people.
    pub description: &'static str,
}

/// Every number with scripted behaviour, in `--help` order.
pub const DIRECTORY: &[Listing] = &[
    Listing { number: "+15555550100", behaviour: Behaviour::Tone, description: "answers and plays a 440 Hz tone" },
    Listing { number: "+15555550101", behaviour: Behaviour::Echo, description: "answers and echoes what it hears" },
    Listing { number: "+15555550102", behaviour: Behaviour::Busy, description: "busy: USER_BUSY 17 / SIP 486" },
    Listing {
        number: "+15555550103",
        behaviour: Behaviour::NoAnswer,
        description: "rings 30 s, never answers: NO_ANSWER 19 / SIP 480",
    },
    Listing {
        number: "+15555550104",
        behaviour: Behaviour::Reject,
        description: "rings, then rejects: CALL_REJECTED 21 / SIP 603",
    },
    Listing {
        number: "+15555550105",
        behaviour: Behaviour::EarlyMedia,
        description: "early media (425 Hz), then answers (440 Hz)",
    },
    Listing {
        number: "+15555550106",
        behaviour: Behaviour::HangUp,
        description: "answers (440 Hz), hangs up after 10 s: NORMAL_CLEARING 16 / 200",
    },
    Listing {
        number: "+15555550107",
        behaviour: Behaviour::Unallocated,
        description: "no such number: UNALLOCATED_NUMBER 1 / SIP 404 (as any number not listed)",
    },
    Listing {
        number: "+15555550108",
        behaviour: Behaviour::AlawOnly,
        description: "answers with G.711 A-law only (440 Hz); no PCMA offered: INCOMPATIBLE_DESTINATION 88 / 488",
    },
    Listing {
        number: "+15555550109",
        behaviour: Behaviour::IceLite,
        description: "answers (440 Hz) as an ICE-lite media server, a=setup:active",
    },
    Listing {
        number: "+15555550110",
        behaviour: Behaviour::IceLitePassive,
        description: "answers (440 Hz) as an ICE-lite media server, a=setup:passive",
    },
    Listing {
        number: "+15555550111",
        behaviour: Behaviour::DtlsPassive,
        description: "answers (440 Hz) with full ICE, a=setup:passive",
    },
    Listing {
        number: "+15555550112",
        behaviour: Behaviour::Voicemail,
        description: "voicemail: a greeting, a beep, then records what it hears",
    },
];

/// What `number` does; [`Behaviour::Unallocated`] for any number not in [`DIRECTORY`].
/// Spaces, dashes, dots and parentheses are ignored, so `+1 555-555-0100` is `+15555550100`.
pub fn behaviour_of(number: &str) -> Behaviour {
    let normalized = normalize(number);
    DIRECTORY.iter().find(|l| l.number == normalized).map_or(Behaviour::Unallocated, |l| l.behaviour)
}

/// `number` without spaces, dashes, dots and parentheses.
pub fn normalize(number: &str) -> String {
    number.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect()
}

/// The directory as `--help` prints it: a heading, then one line per number,
/// `  +15555550100  tone         answers and plays a 440 Hz tone`.
pub fn directory_help() -> String {
    let mut text = String::from("Numbers (the simulator's far ends; any other number is unallocated):\n");
    for listing in DIRECTORY {
        text.push_str(&format!("  {}  {:<12} {}\n", listing.number, listing.behaviour.word(), listing.description));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listing_is_e164_unique_and_found() {
        for listing in DIRECTORY {
            assert!(listing.number.starts_with("+1555555"), "{}", listing.number);
            assert_eq!(listing.number.len(), 12);
            assert!(listing.number[1..].bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(behaviour_of(listing.number), listing.behaviour);
            assert_eq!(DIRECTORY.iter().filter(|l| l.number == listing.number).count(), 1);
        }
        assert_eq!(behaviour_of("+1 555-555-0102"), Behaviour::Busy);
        assert_eq!(behaviour_of("+15551234567"), Behaviour::Unallocated);
        assert_eq!(behaviour_of(""), Behaviour::Unallocated);
    }

    #[test]
    fn help_has_one_line_per_number() {
        let help = directory_help();
        for listing in DIRECTORY {
            let line = help.lines().find(|l| l.contains(listing.number)).unwrap();
            assert!(line.contains(listing.behaviour.word()), "{line}");
        }
    }
}
