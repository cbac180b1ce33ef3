//! What an SDP says about its audio, and what ours must say, read and written as text.
//!
//! str0m writes `m=audio 9` and `c=IN IP4 0.0.0.0` even when its candidates are final. Our SDP is
//! never trickled, and Chromium (so the Telnyx SDK) then names the default candidate in `c=`, `m=`
//! and `a=rtcp:`. Telnyx's FreeSWITCH reads a `0.0.0.0` connection address as the RFC 2543 hold
//! method and stops sending (`switch_core_media.c`), so the native engine and the simulator's
//! far end both rewrite it ([`with_default_destination`]).

use std::net::{IpAddr, SocketAddr};

/// A candidate's type, in the order Chromium prefers it as the default destination
/// (`webrtc_sdp.cc`, `GetCandidatePreferenceFromType`): a relay is most likely to work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Preference {
    Host,
    ServerReflexive,
    Relay,
}

/// The default destination among the SDP's `a=candidate` lines, as Chromium picks it
/// (`GetDefaultDestination`): RTP component, UDP only, IPv4 before IPv6, then relay before
/// server-reflexive before host; the first of equals wins. `None` when there is no candidate.
pub fn default_destination(sdp: &str) -> Option<SocketAddr> {
    let mut best: Option<(SocketAddr, Preference)> = None;
    for line in sdp.lines().map(str::trim_end) {
        let Some(candidate) = line.strip_prefix("a=candidate:") else { continue };
        let fields: Vec<&str> = candidate.split_whitespace().collect();
        // foundation component transport priority address port "typ" type ...
        let [_, component, transport, _, address, port, "typ", kind, ..] = fields[..] else { continue };
        if component != "1" || !transport.eq_ignore_ascii_case("udp") {
            continue;
        }
        let (Ok(ip), Ok(port)) = (address.parse::<IpAddr>(), port.parse::<u16>()) else { continue };
        let preference = match kind {
            "host" => Preference::Host,
            "srflx" | "prflx" => Preference::ServerReflexive,
            "relay" => Preference::Relay,
            _ => continue,
        };
        let addr = SocketAddr::new(ip, port);
        best = match best {
            None => Some((addr, preference)),
            Some((current, _)) if current.is_ipv6() && addr.is_ipv4() => Some((addr, preference)),
            Some((current, current_preference))
                if current.is_ipv4() == addr.is_ipv4() && preference > current_preference =>
            {
                Some((addr, preference))
            }
            kept => kept,
        };
    }
    best.map(|(addr, _)| addr)
}

/// `sdp` with its placeholder connection address (`c=IN IP4 0.0.0.0`), `m=` port 9 and
/// `a=rtcp:9 IN IP4 0.0.0.0` replaced by the default candidate's, as Chromium writes a
/// non-trickle description. Unchanged when it has no candidate (then the placeholders are what
/// JSEP asks for).
pub fn with_default_destination(sdp: &str) -> String {
    let Some(destination) = default_destination(sdp) else { return sdp.to_owned() };
    let (family, ip, port) = match destination.ip() {
        IpAddr::V4(ip) => ("IP4", ip.to_string(), destination.port()),
        IpAddr::V6(ip) => ("IP6", ip.to_string(), destination.port()),
    };
    let ending = if sdp.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = String::with_capacity(sdp.len() + 64);
    for line in sdp.lines() {
        let line = line.trim_end_matches('\r');
        if line == "c=IN IP4 0.0.0.0" {
            out.push_str(&format!("c=IN {family} {ip}"));
        } else if let Some(rest) = line.strip_prefix("m=audio 9 ") {
            out.push_str(&format!("m=audio {port} {rest}"));
        } else if line == "a=rtcp:9 IN IP4 0.0.0.0" {
            out.push_str(&format!("a=rtcp:{port} IN {family} {ip}"));
        } else {
            out.push_str(line);
        }
        out.push_str(ending);
    }
    out
}

/// `offer` as str0m should read it so that we answer `a=setup:active`, as Chromium (and so the
/// SDK) and FreeSWITCH do: JSEP's answerer to `actpass` takes the DTLS client role. str0m itself
/// answers `actpass` with `passive`; told the offerer is `passive`, it takes `active`, which an
/// `actpass` offerer accepts. An offer that already chose a role is left as it is.
pub fn offer_for_active_answer(offer: &str) -> String {
    let ending = if offer.contains("\r\n") { "\r\n" } else { "\n" };
    offer
        .lines()
        .map(|line| if line.trim_end() == "a=setup:actpass" { "a=setup:passive" } else { line.trim_end_matches('\r') })
        .fold(String::with_capacity(offer.len()), |mut out, line| {
            out.push_str(line);
            out.push_str(ending);
            out
        })
}

/// The `a=mid` of the first audio m-section, if it has one.
pub fn audio_mid(sdp: &str) -> Option<&str> {
    let mut in_audio = false;
    for line in sdp.lines().map(str::trim_end) {
        if line.starts_with("m=") {
            if in_audio {
                return None;
            }
            in_audio = line.starts_with("m=audio");
        } else if in_audio && let Some(mid) = line.strip_prefix("a=mid:") {
            return Some(mid);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_audio_mid() {
        let sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:v\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\na=mid:0\r\n";
        assert_eq!(audio_mid(sdp), Some("0"));
        assert_eq!(audio_mid("v=0\r\nm=audio 9 RTP/AVP 0\r\nm=video 9 RTP/AVP 96\r\na=mid:v\r\n"), None);
        assert_eq!(audio_mid("v=0\r\n"), None);
    }

    const HOST: &str = "a=candidate:1 1 udp 2130706175 127.0.0.1 50000 typ host";
    const HOST_LAN: &str = "a=candidate:2 1 udp 2130706175 192.168.1.20 50000 typ host";
    const HOST_V6: &str = "a=candidate:3 1 udp 2130706175 ::1 50002 typ host";
    const SRFLX: &str = "a=candidate:4 1 udp 1694498815 203.0.113.7 61000 typ srflx raddr 192.168.1.20 rport 50000";
    const RELAY: &str = "a=candidate:5 1 udp 16777215 198.51.100.9 49152 typ relay raddr 203.0.113.7 rport 61000";
    const TCP_HOST: &str = "a=candidate:6 1 tcp 1518280447 10.0.0.1 9 typ host tcptype active";
    const RTCP_HOST: &str = "a=candidate:7 2 udp 2130706174 10.0.0.2 50001 typ host";

    fn sdp(candidates: &[&str]) -> String {
        let mut sdp = String::from(
            "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
             m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=mid:0\r\n",
        );
        for candidate in candidates {
            sdp.push_str(candidate);
            sdp.push_str("\r\n");
        }
        sdp
    }

    #[test]
    fn the_default_destination_is_chosen_as_chromium_chooses_it() {
        let table: &[(&[&str], Option<&str>)] = &[
            (&[], None),
            (&[HOST], Some("127.0.0.1:50000")),
            (&[HOST_LAN, HOST], Some("192.168.1.20:50000")),
            (&[HOST_LAN, SRFLX], Some("203.0.113.7:61000")),
            (&[HOST_LAN, SRFLX, RELAY], Some("198.51.100.9:49152")),
            (&[RELAY, SRFLX, HOST], Some("198.51.100.9:49152")),
            (&[HOST_V6, HOST_LAN], Some("192.168.1.20:50000")),
            (&[HOST_V6], Some("[::1]:50002")),
            (&[TCP_HOST], None),
            (&[RTCP_HOST], None),
            (&[TCP_HOST, HOST], Some("127.0.0.1:50000")),
        ];
        for (candidates, expected) in table {
            let found = default_destination(&sdp(candidates)).map(|addr| addr.to_string());
            assert_eq!(found.as_deref(), *expected, "candidates {candidates:?}");
        }
    }

    #[test]
    fn the_placeholders_are_replaced_by_the_default_candidate() {
        let rewritten = with_default_destination(&sdp(&[HOST_LAN, SRFLX, RELAY]));
        assert!(rewritten.contains("\r\nm=audio 49152 UDP/TLS/RTP/SAVPF 111 0\r\n"), "{rewritten}");
        assert!(rewritten.contains("\r\nc=IN IP4 198.51.100.9\r\n"), "{rewritten}");
        assert!(rewritten.contains("\r\na=rtcp:49152 IN IP4 198.51.100.9\r\n"), "{rewritten}");
        assert!(!rewritten.contains("c=IN IP4 0.0.0.0") && !rewritten.contains("a=rtcp:9 "), "{rewritten}");
        // The origin line is not a connection address: Chromium keeps 127.0.0.1 or 0.0.0.0 there.
        assert!(rewritten.starts_with("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n"), "{rewritten}");
        assert_eq!(rewritten.lines().count(), sdp(&[HOST_LAN, SRFLX, RELAY]).lines().count());
    }

    #[test]
    fn an_actpass_offer_is_read_as_passive_and_a_chosen_role_kept() {
        let offer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=setup:actpass\r\na=mid:0\r\n";
        assert_eq!(offer_for_active_answer(offer), offer.replace("actpass", "passive"));
        let active = offer.replace("actpass", "active");
        assert_eq!(offer_for_active_answer(&active), active);
    }

    #[test]
    fn an_ipv6_default_is_written_as_ip6_and_no_candidate_leaves_the_sdp_alone() {
        let rewritten = with_default_destination(&sdp(&[HOST_V6]));
        assert!(rewritten.contains("\r\nc=IN IP6 ::1\r\n"), "{rewritten}");
        assert!(rewritten.contains("\r\nm=audio 50002 "), "{rewritten}");
        let bare = sdp(&[]);
        assert_eq!(with_default_destination(&bare), bare);
    }
}
