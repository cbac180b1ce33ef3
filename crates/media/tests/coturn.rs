//! Calls relayed through coturn, a TURN server we did not write (Debian's `coturn`, installed by
//! `scripts/setup.sh`). The relay tests against the simulator's own TURN server share
//! `crates/stun` with the client, so a misreading on both sides would pass there; here the
//! server is an independent implementation of RFC 8656.
//!
//! Each test starts its own `turnserver` on 127.0.0.1 with a temporary configuration (long-term
//! credentials, UDP, TCP and TLS listeners on free ports, a self-signed certificate made for the
//! run, loopback peers allowed) and stops it when it ends. Every call is relay-only, so every
//! packet passes coturn; the relayed candidate must be one of coturn's ports.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{fake_audio, sim_hears, wait_for, we_hear};
use softphone_media::{CallMedia, CallMediaOptions, CandidatePolicy, CodecChoice, IceServer, MediaState};
use softphone_sim::media::{MediaSession, Playback};

const USER: &str = "softphone";
const PASSWORD: &str = "coturn-test-password";
const REALM: &str = "softphone.test";
/// coturn relays on ports in this range only: a relayed candidate in it was made by coturn.
const RELAY_PORTS: std::ops::RangeInclusive<u16> = 49_160..=49_460;

/// A port free on 127.0.0.1 for both TCP and UDP, at the time of asking.
fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = tcp.local_addr().expect("addr").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A running coturn; stopped (by its pid) when dropped.
struct Coturn {
    child: Child,
    port: u16,
    tls_port: u16,
    certificate_pem: Vec<u8>,
    _dir: tempfile::TempDir,
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Coturn {
    fn start() -> Coturn {
        let binary = Path::new("/usr/bin/turnserver");
        assert!(binary.is_file(), "coturn is not installed: run scripts/setup.sh (Debian package coturn)");
        let dir = tempfile::tempdir().expect("temporary directory");
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let made = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
            .args(["-days", "2", "-subj", &format!("/CN=coturn test {}", std::process::id())])
            .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(made.success(), "openssl made no certificate");
        let (port, tls_port, alt_port, alt_tls_port) = (free_port(), free_port(), free_port(), free_port());
        let log = dir.path().join("turnserver.log");
        let config = format!(
            "listening-ip=127.0.0.1\nrelay-ip=127.0.0.1\nlistening-port={port}\ntls-listening-port={tls_port}\n\
             alt-listening-port={alt_port}\nalt-tls-listening-port={alt_tls_port}\n\
             min-port={}\nmax-port={}\nlt-cred-mech\nuser={USER}:{PASSWORD}\nrealm={REALM}\nfingerprint\n\
             cert={}\npkey={}\nallow-loopback-peers\nno-multicast-peers\nno-cli\nno-dtls\n\
             no-tlsv1\nno-tlsv1_1\nlog-file={}\nsimple-log\nno-stdout-log\npidfile={}\n",
            RELAY_PORTS.start(),
            RELAY_PORTS.end(),
            cert.display(),
            key.display(),
            log.display(),
            dir.path().join("turnserver.pid").display(),
        );
        let config_path = dir.path().join("turnserver.conf");
        std::fs::write(&config_path, config).expect("config written");
        let child = Command::new(binary)
            .arg("-c")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("turnserver starts");
        let certificate_pem = std::fs::read(&cert).expect("certificate");
        let coturn = Coturn { child, port, tls_port, certificate_pem, _dir: dir };
        // Ready when both TCP listeners accept.
        let deadline = Instant::now() + Duration::from_secs(10);
        while [port, tls_port].iter().any(|p| TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], *p))).is_err()) {
            assert!(
                Instant::now() < deadline,
                "coturn did not listen within 10 s: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        coturn
    }

    fn ice(&self, url: String) -> Vec<IceServer> {
        vec![IceServer { urls: vec![url], username: Some(USER.to_owned()), credential: Some(PASSWORD.to_owned()) }]
    }
}

fn relay_only() -> CallMediaOptions {
    CallMediaOptions { codecs: CodecChoice::OpusAndG711, candidates: CandidatePolicy::RelayOnly, ..Default::default() }
}

/// The relayed candidates' addresses in an SDP.
fn relayed_candidates(sdp: &str) -> Vec<SocketAddr> {
    sdp.lines()
        .filter(|line| line.starts_with("a=candidate:") && line.contains(" typ relay"))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            format!("{}:{}", fields.get(4)?, fields.get(5)?).parse().ok()
        })
        .collect()
}

/// A relay-only call through coturn at `url`, offered by us and by the far end in turn: the
/// only candidate is coturn's relay, and audio passes both ways.
fn relay_only_calls_have_audio_through(coturn: &Coturn, url: String) {
    let ice = coturn.ice(url.clone());
    for we_offer in [true, false] {
        let audio = fake_audio(440.0);
        let (call, far_end, ours) = if we_offer {
            let (call, offer) = CallMedia::offer_with(&audio, &ice, relay_only())
                .unwrap_or_else(|error| panic!("offer through {url}: {error}"));
            let (far_end, answer) = MediaSession::answer(&offer, Playback::Tone { hz: 880.0 }).expect("answer");
            call.accept_answer(&answer).expect("answer accepted");
            (call, far_end, offer)
        } else {
            let (far_end, offer) = MediaSession::offer(Playback::Tone { hz: 880.0 }).expect("the far end offers");
            let (call, answer) = CallMedia::answer_with(&audio, &ice, &offer, relay_only())
                .unwrap_or_else(|error| panic!("answer through {url}: {error}"));
            far_end.accept_answer(&answer).expect("the far end takes the answer");
            (call, far_end, answer)
        };
        let relayed = relayed_candidates(&ours);
        assert_eq!(relayed.len(), 1, "one relayed candidate through {url}: {ours}");
        assert!(
            relayed[0].ip().is_loopback() && RELAY_PORTS.contains(&relayed[0].port()),
            "the relay is coturn's: {}",
            relayed[0]
        );
        wait_for(
            "both peers connected",
            || (call.state() == MediaState::Connected && far_end.is_connected()).then_some(()),
            || format!("{:?} / far end connected {}", call.state(), far_end.is_connected()),
        );
        sim_hears(&far_end, 440.0);
        we_hear(&audio, 880.0);
        assert_eq!(wait_for("the route", || call.stats().route, || format!("{:?}", call.stats())), "relay");
        assert_eq!(call.stats().relayed_addr, Some(relayed[0]));
        eprintln!(
            "through coturn at {url}, {} offering: relayed at {}",
            if we_offer { "we" } else { "the far end" },
            relayed[0]
        );
    }
}

#[test]
fn coturn_relays_a_call_over_udp_both_ways() {
    let coturn = Coturn::start();
    relay_only_calls_have_audio_through(&coturn, format!("turn:127.0.0.1:{}?transport=udp", coturn.port));
}

#[test]
fn coturn_relays_a_call_over_tcp_both_ways() {
    let coturn = Coturn::start();
    relay_only_calls_have_audio_through(&coturn, format!("turn:127.0.0.1:{}?transport=tcp", coturn.port));
}

#[test]
fn coturn_relays_a_call_over_tls_both_ways() {
    let coturn = Coturn::start();
    softphone_media::trust_turn_certificate(&coturn.certificate_pem).expect("coturn's certificate");
    relay_only_calls_have_audio_through(&coturn, format!("turns:127.0.0.1:{}?transport=tcp", coturn.tls_port));
}

#[test]
fn coturn_refuses_a_wrong_password_and_the_call_says_why() {
    let coturn = Coturn::start();
    let ice = vec![IceServer {
        urls: vec![format!("turn:127.0.0.1:{}?transport=udp", coturn.port)],
        username: Some(USER.to_owned()),
        credential: Some("not-the-password".to_owned()),
    }];
    let error = CallMedia::offer_with(&fake_audio(440.0), &ice, relay_only()).expect_err("no relay, no call");
    assert_eq!(error.code(), "NoRelay");
    let message = error.to_string();
    assert!(message.contains("refused the credentials"), "{message}");
    assert!(!message.contains("not-the-password"), "the credential never appears in messages: {message}");
}
