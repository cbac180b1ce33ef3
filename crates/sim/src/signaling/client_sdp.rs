//! What Telnyx's FreeSWITCH reads from a client's SDP before any media flows
//! (`switch_core_media_negotiate_sdp` in `team-telnyx/freeswitch`, `src/switch_core_media.c`).
//!
//! - A `0.0.0.0` connection address is the RFC 2543 hold method: at media level always, at
//!   session level unless the session level also carries ICE attributes. FreeSWITCH then pauses
//!   its RTP toward the client (`SWITCH_RTP_FLAG_PAUSE`) and plays hold music to the other leg.
//! - An audio m-line with port 0 is a rejected stream.
//! - No codec in common ends the call: `INCOMPATIBLE_DESTINATION` (Q.850 88), SIP 488.

/// Why the client's SDP holds the simulator's media, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldSignal {
    /// `c=IN IP4 0.0.0.0` in the audio m-section.
    MediaConnectionZero,
    /// `c=IN IP4 0.0.0.0` at session level, with no session-level `a=ice-*`.
    SessionConnectionZero,
}

impl HoldSignal {
    /// A sentence for the finding and the log.
    pub fn sentence(self) -> &'static str {
        match self {
            HoldSignal::MediaConnectionZero => {
                "the audio m-section's connection address is 0.0.0.0, which FreeSWITCH reads as the \
                 RFC 2543 hold method: it stops sending to the client"
            }
            HoldSignal::SessionConnectionZero => {
                "the session's connection address is 0.0.0.0 (and no session-level ICE), which \
                 FreeSWITCH reads as the RFC 2543 hold method: it stops sending to the client"
            }
        }
    }
}

fn is_zero_connection(line: &str) -> bool {
    let mut fields = line.trim_end().trim_start_matches("c=").split_whitespace();
    matches!((fields.next(), fields.next(), fields.next()), (Some("IN"), Some("IP4"), Some(address))
        if address == "0.0.0.0" || address.starts_with("0.0.0.0/"))
}

/// The session-level lines and those of the first audio m-section (its `m=` line first).
fn sections(sdp: &str) -> (Vec<&str>, Option<Vec<&str>>) {
    let mut session = Vec::new();
    let mut audio: Option<Vec<&str>> = None;
    let mut in_audio = false;
    let mut seen_media = false;
    for line in sdp.lines().map(str::trim_end) {
        if line.starts_with("m=") {
            seen_media = true;
            in_audio = line.starts_with("m=audio ") && audio.is_none();
            if in_audio {
                audio = Some(vec![line]);
            }
            continue;
        }
        if !seen_media {
            session.push(line);
        } else if in_audio && let Some(lines) = audio.as_mut() {
            lines.push(line);
        }
    }
    (session, audio)
}

/// Whether FreeSWITCH would take this SDP as the client putting it on hold.
pub fn hold_signal(sdp: &str) -> Option<HoldSignal> {
    let (session, audio) = sections(sdp);
    let session_ice = session.iter().any(|line| line.starts_with("a=ice-"));
    if session.iter().any(|line| line.starts_with("c=") && is_zero_connection(line)) && !session_ice {
        return Some(HoldSignal::SessionConnectionZero);
    }
    let audio = audio?;
    audio
        .iter()
        .any(|line| line.starts_with("c=") && is_zero_connection(line))
        .then_some(HoldSignal::MediaConnectionZero)
}

/// The audio m-line's port: 0 is a rejected stream. `None` without an audio m-line.
pub fn audio_port(sdp: &str) -> Option<u16> {
    let (_, audio) = sections(sdp);
    audio?.first()?.split_whitespace().nth(1)?.split('/').next()?.parse().ok()
}

/// The encoding names of the audio m-section, upper-cased (`OPUS`, `PCMU`, `TELEPHONE-EVENT`),
/// from its `a=rtpmap` lines and the static payload types it lists without one (0 PCMU, 8 PCMA,
/// 9 G722, 13 CN).
pub fn audio_codecs(sdp: &str) -> Vec<String> {
    let (_, Some(audio)) = sections(sdp) else { return Vec::new() };
    let payload_types: Vec<&str> = audio.first().map(|m| m.split_whitespace().skip(3).collect()).unwrap_or_default();
    let mut names = Vec::new();
    for pt in payload_types {
        let mapped = audio.iter().find_map(|line| {
            let rest = line.strip_prefix("a=rtpmap:")?;
            let (number, encoding) = rest.split_once(' ')?;
            (number == pt).then(|| encoding.split('/').next().unwrap_or("").to_ascii_uppercase())
        });
        let name = mapped.or_else(|| {
            match pt {
                "0" => Some("PCMU"),
                "8" => Some("PCMA"),
                "9" => Some("G722"),
                "13" => Some("CN"),
                _ => None,
            }
            .map(str::to_owned)
        });
        if let Some(name) = name
            && !names.contains(&name)
        {
            names.push(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROMIUM_LIKE: &str = "v=0\r\no=- 5 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
        m=audio 51945 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 192.0.2.2\r\n\
        a=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n\
        a=rtpmap:63 red/48000/2\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
        a=rtpmap:13 CN/8000\r\na=rtpmap:110 telephone-event/48000\r\na=rtpmap:126 telephone-event/8000\r\n";

    #[test]
    fn a_zero_connection_address_is_hold_as_freeswitch_reads_it() {
        let media_zero = CHROMIUM_LIKE.replace("c=IN IP4 192.0.2.2", "c=IN IP4 0.0.0.0");
        let session_zero = CHROMIUM_LIKE.replace("t=0 0\r\n", "t=0 0\r\nc=IN IP4 0.0.0.0\r\n");
        let session_zero_with_ice = session_zero.replace("t=0 0\r\n", "t=0 0\r\na=ice-ufrag:s\r\n");
        let table: &[(&str, Option<HoldSignal>)] = &[
            (CHROMIUM_LIKE, None),
            (&media_zero, Some(HoldSignal::MediaConnectionZero)),
            (&session_zero, Some(HoldSignal::SessionConnectionZero)),
            (&session_zero_with_ice, None),
            // a=rtcp's 0.0.0.0 is no connection address.
            ("v=0\r\nm=audio 5 RTP/AVP 0\r\nc=IN IP4 10.0.0.1\r\na=rtcp:9 IN IP4 0.0.0.0\r\n", None),
        ];
        for (sdp, expected) in table {
            assert_eq!(hold_signal(sdp), *expected, "{sdp}");
        }
    }

    #[test]
    fn codecs_and_port_are_read_from_the_audio_section() {
        assert_eq!(
            audio_codecs(CHROMIUM_LIKE),
            ["OPUS", "RED", "G722", "PCMU", "PCMA", "CN", "TELEPHONE-EVENT"].map(str::to_owned)
        );
        assert_eq!(audio_codecs("v=0\r\nm=audio 5 RTP/AVP 8 0\r\n"), ["PCMA", "PCMU"].map(str::to_owned));
        assert_eq!(audio_port(CHROMIUM_LIKE), Some(51945));
        assert_eq!(audio_port("v=0\r\nm=audio 0 RTP/AVP 0\r\n"), Some(0));
        assert_eq!(audio_port("v=0\r\nm=video 5 RTP/AVP 96\r\n"), None);
        assert!(audio_codecs("v=0\r\n").is_empty());
    }
}
