//! Calls through a TURN relay: our media against the simulator's media peer with every packet
//! passing the simulator's TURN server (relay-only, as `iceTransportPolicy: "relay"`), in both
//! offer directions; wrong TURN credentials; an ICE server that never answers; TURN over TCP and
//! over TLS when UDP is blocked; a TLS certificate that is not trusted.

mod common;

use std::net::UdpSocket;

use common::{Offerer, fake_audio, sim_hears, wait_for, we_hear};
use softphone_media::{CallMedia, CallMediaOptions, CandidatePolicy, CodecChoice, IceServer, MediaError, MediaState};
use softphone_sim::media::{MediaSession, Playback};
use softphone_sim::turn::{DEFAULT_TURN_PASSWORD, DEFAULT_TURN_USERNAME, TurnConfig, TurnServer};

fn turn_server(turn: &TurnServer, password: &str) -> Vec<IceServer> {
    vec![IceServer {
        urls: vec![turn.turn_url()],
        username: Some(DEFAULT_TURN_USERNAME.to_owned()),
        credential: Some(password.to_owned()),
    }]
}

fn relay_only() -> CallMediaOptions {
    CallMediaOptions { codecs: CodecChoice::OpusAndG711, candidates: CandidatePolicy::RelayOnly, ..Default::default() }
}

fn candidate_kinds(sdp: &str) -> Vec<String> {
    sdp.lines()
        .filter(|line| line.starts_with("a=candidate:"))
        .filter_map(|line| line.split(" typ ").nth(1)?.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// Waits until the TURN server has relayed audio both ways (50 packets each: a second of it),
/// through a bound channel (ChannelData, as browsers send it, not 36-byte indications).
fn until_relayed_both_ways(turn: &TurnServer) -> softphone_sim::turn::TurnStats {
    wait_for(
        "audio packets relayed both ways through a channel",
        || Some(turn.stats()).filter(|stats| stats.channel_data_to_peers > 50 && stats.channel_data_to_clients > 50),
        || format!("{:?}", turn.stats()),
    )
}

/// Waits until the TURN server holds no allocation (the call ended and released its own).
fn until_freed(turn: &TurnServer) {
    wait_for(
        "the allocation freed when the call ends",
        || (turn.stats().live_allocations == 0).then_some(()),
        || format!("{:?}", turn.stats()),
    );
}

fn relayed_call_has_audio_both_ways(offerer: Offerer) {
    let turn = TurnServer::start(TurnConfig::default()).expect("the TURN server starts");
    let ice = turn_server(&turn, DEFAULT_TURN_PASSWORD);
    let audio = fake_audio(440.0);
    let (call, far_end, ours) = match offerer {
        Offerer::Us => {
            let (call, offer) = CallMedia::offer_with(&audio, &ice, relay_only()).expect("offer");
            let (far_end, answer) = MediaSession::answer(&offer, Playback::Tone { hz: 880.0 }).expect("answer");
            call.accept_answer(&answer).expect("answer accepted");
            (call, far_end, offer)
        }
        Offerer::Simulator => {
            let (far_end, offer) = MediaSession::offer(Playback::Tone { hz: 880.0 }).expect("simulator offers");
            let (call, answer) = CallMedia::answer_with(&audio, &ice, &offer, relay_only()).expect("we answer");
            far_end.accept_answer(&answer).expect("simulator takes the answer");
            (call, far_end, answer)
        }
    };
    assert_eq!(candidate_kinds(&ours), ["relay"], "only the relayed candidate is offered: {ours}");
    let relayed = turn.relayed_addrs();
    assert_eq!(relayed.len(), 1, "one allocation for the call");
    assert!(ours.contains(&format!("{} {} typ relay", relayed[0].ip(), relayed[0].port())), "{ours}");

    wait_for(
        "both peers connected",
        || (call.state() == MediaState::Connected && far_end.is_connected()).then_some(()),
        || format!("{:?} / sim connected {}", call.state(), far_end.is_connected()),
    );
    sim_hears(&far_end, 440.0);
    we_hear(&audio, 880.0);
    let through = until_relayed_both_ways(&turn);
    let route = wait_for("the route in the stats", || call.stats().route, || format!("{:?}", call.stats()));
    assert_eq!(route, "relay");
    assert_eq!(call.stats().relayed_addr, Some(relayed[0]));
    eprintln!("{offerer:?} offers through TURN: {through:?}");

    drop(call);
    until_freed(&turn);
}

#[test]
fn we_offer_relay_only_and_audio_flows_both_ways_through_turn() {
    relayed_call_has_audio_both_ways(Offerer::Us);
}

#[test]
fn we_answer_relay_only_and_audio_flows_both_ways_through_turn() {
    relayed_call_has_audio_both_ways(Offerer::Simulator);
}

#[test]
fn wrong_turn_credentials_fail_a_relay_only_call_with_a_reason() {
    let turn = TurnServer::start(TurnConfig::default()).expect("the TURN server starts");
    let audio = fake_audio(440.0);
    let error = CallMedia::offer_with(&audio, &turn_server(&turn, "not-the-password"), relay_only())
        .expect_err("no relay, no relay-only call");
    assert!(matches!(error, MediaError::NoRelay(_)), "{error:?}");
    assert_eq!(error.code(), "NoRelay");
    let message = error.to_string();
    assert!(message.contains("refused the credentials"), "{message}");
    assert!(!message.contains("not-the-password"), "the credential never appears in messages: {message}");
    assert_eq!(turn.stats().allocations, 0);
    assert!(turn.stats().unauthorized >= 2, "asked, then refused: {:?}", turn.stats());
}

#[test]
fn ice_servers_that_never_answer_leave_the_call_on_host_candidates() {
    // A STUN and a TURN server that take the requests and never answer (a black hole).
    let silent = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let addr = silent.local_addr().expect("addr");
    let ice = vec![
        IceServer { urls: vec![format!("stun:{addr}")], username: None, credential: None },
        IceServer {
            urls: vec![format!("turn:{addr}?transport=udp")],
            username: Some("u".to_owned()),
            credential: Some("p".to_owned()),
        },
    ];
    let audio = fake_audio(440.0);
    let options = CallMediaOptions { candidates: CandidatePolicy::Auto, ..Default::default() };
    let (call, offer) = CallMedia::offer_with(&audio, &ice, options).expect("the offer is made without them");
    let kinds = candidate_kinds(&offer);
    assert!(!kinds.is_empty() && kinds.iter().all(|kind| kind == "host"), "{offer}");
    let (far_end, answer) = MediaSession::answer(&offer, Playback::Tone { hz: 880.0 }).expect("answer");
    call.accept_answer(&answer).expect("answer accepted");
    sim_hears(&far_end, 440.0);
    we_hear(&audio, 880.0);
    let mut buf = [0u8; 1_500];
    silent.set_nonblocking(true).expect("nonblocking");
    assert!(silent.recv_from(&mut buf).is_ok(), "the silent servers were asked");
}

/// A relay-only call our side offers through `turn`, given only `urls` (with the simulator's
/// credential): audio both ways through a channel, the route says relay, and the allocation is
/// freed when the call ends. `how` names the path in the messages.
fn relay_only_call_has_audio_through(turn: &TurnServer, urls: Vec<String>, how: &str) {
    let ice = vec![IceServer {
        urls,
        username: Some(DEFAULT_TURN_USERNAME.to_owned()),
        credential: Some(DEFAULT_TURN_PASSWORD.to_owned()),
    }];
    let audio = fake_audio(440.0);
    let (call, offer) = CallMedia::offer_with(&audio, &ice, relay_only())
        .unwrap_or_else(|error| panic!("offer through {how}: {error}"));
    assert_eq!(candidate_kinds(&offer), ["relay"], "{offer}");
    let (far_end, answer) = MediaSession::answer(&offer, Playback::Tone { hz: 880.0 }).expect("answer");
    call.accept_answer(&answer).expect("answer accepted");
    sim_hears(&far_end, 440.0);
    we_hear(&audio, 880.0);
    let through = until_relayed_both_ways(turn);
    assert_eq!(wait_for("the route", || call.stats().route, || format!("{:?}", call.stats())), "relay");
    eprintln!("through {how}: {through:?}");
    drop(call);
    until_freed(turn);
}

#[test]
fn with_udp_blocked_turn_over_tcp_carries_the_call() {
    // A network that drops UDP to the TURN server and lets TCP through: Telnyx's second TURN URL.
    let turn = TurnServer::start(TurnConfig { answer_udp: false, ..TurnConfig::default() }).expect("TURN starts");
    relay_only_call_has_audio_through(&turn, vec![turn.turn_url(), turn.turn_tcp_url()], "TURN over TCP");
}

#[test]
fn with_udp_open_the_udp_relay_is_preferred_and_the_tcp_one_let_go() {
    let turn = TurnServer::start(TurnConfig::default()).expect("TURN starts");
    let ice = vec![IceServer {
        urls: vec![turn.turn_url(), turn.turn_tcp_url()],
        username: Some(DEFAULT_TURN_USERNAME.to_owned()),
        credential: Some(DEFAULT_TURN_PASSWORD.to_owned()),
    }];
    let audio = fake_audio(440.0);
    let (call, _offer) = CallMedia::offer_with(&audio, &ice, relay_only()).expect("offer");
    // Both were asked at once; the TCP one, when it comes, is dropped with its connection and the
    // server frees it.
    wait_for(
        "two allocations made, one left",
        || Some(turn.stats()).filter(|stats| stats.allocations == 2 && stats.live_allocations == 1),
        || format!("{:?}", turn.stats()),
    );
    let relayed = turn.relayed_addrs();
    assert_eq!(call.stats().relayed_addr, relayed.first().copied(), "the call keeps the UDP relay");
}

#[test]
fn with_only_tls_let_out_turn_over_tls_carries_the_call() {
    // A network that lets only TLS out (Telnyx's `turns:turn.telnyx.com:443`): UDP to the TURN
    // server is dropped and no plain TCP URL is given.
    let turn = TurnServer::start(TurnConfig { answer_udp: false, ..TurnConfig::default() }).expect("TURN starts");
    softphone_media::trust_turn_certificate(turn.certificate_pem()).expect("the server's certificate");
    relay_only_call_has_audio_through(&turn, vec![turn.turn_url(), turn.turns_url()], "TURN over TLS");
}

#[test]
fn a_turn_server_whose_certificate_is_not_trusted_gives_no_relay_and_says_why() {
    // Another server's certificate is trusted; this one's (self-signed, its own) is not.
    let trusted = TurnServer::start(TurnConfig::default()).expect("TURN starts");
    softphone_media::trust_turn_certificate(trusted.certificate_pem()).expect("the certificate");
    let turn = TurnServer::start(TurnConfig { answer_udp: false, ..TurnConfig::default() }).expect("TURN starts");
    let ice = vec![IceServer {
        urls: vec![turn.turns_url()],
        username: Some(DEFAULT_TURN_USERNAME.to_owned()),
        credential: Some(DEFAULT_TURN_PASSWORD.to_owned()),
    }];
    let audio = fake_audio(440.0);
    let error = CallMedia::offer_with(&audio, &ice, relay_only()).expect_err("no relay, no relay-only call");
    assert_eq!(error.code(), "NoRelay");
    let message = error.to_string();
    assert!(message.contains("over TLS") && message.contains("certificate is not trusted"), "{message}");
    assert_eq!(turn.stats().unauthorized, 0, "no request went over an untrusted connection");
    assert!(softphone_media::trust_turn_certificate(b"not a certificate").is_err());
}
