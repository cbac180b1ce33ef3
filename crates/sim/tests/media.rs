//! The media peer against itself and against real headless Chromium.
//!
//! Rust ↔ Rust: two `MediaSession`s over loopback, one offering and one answering.
//! Chromium: `chromium_*` tests drive Debian's headless Chromium through chromedriver (skipped with
//! a message when /usr/bin/chromium or /usr/bin/chromedriver is missing).

use std::time::{Duration, Instant};

use softphone_sim::media::{DtlsAnswerRole, FarEnd, FarEndCodecs, Heard, MediaError, MediaSession, Playback};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const HEAR_TIMEOUT: Duration = Duration::from_secs(5);

/// A offers, B answers, A takes the answer. Returns both once connected, with the time it took.
fn connected_pair(
    a: Playback,
    b: Playback,
    munge_offer: impl Fn(&str) -> String,
) -> (MediaSession, MediaSession, Duration) {
    let (a, offer) = MediaSession::offer(a).expect("offer");
    let (b, answer) = MediaSession::answer(&munge_offer(&offer), b).expect("answer");
    let started = Instant::now();
    a.accept_answer(&answer).expect("accept answer");
    assert!(
        wait_until(CONNECT_TIMEOUT, || a.is_connected() && b.is_connected()),
        "not connected after {CONNECT_TIMEOUT:?}: a {} b {}",
        a.is_connected(),
        b.is_connected()
    );
    (a, b, started.elapsed())
}

fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls `heard()` until a full window (500 ms, 25 frames) was received and its dominant frequency
/// is within `tolerance` Hz of `hz`; panics with the last measurement otherwise.
fn hears_tone(session: &MediaSession, who: &str, hz: f32, tolerance: f32) -> Heard {
    let mut last = session.heard();
    let found = wait_until(HEAR_TIMEOUT, || {
        last = session.heard();
        last.packets_received >= 25 && last.dominant_hz.is_some_and(|f| (f - hz).abs() <= tolerance)
    });
    assert!(found, "{who} should hear {hz} Hz ±{tolerance}, heard {last:?}");
    println!("{who} heard {last:?}");
    last
}

/// Keeps only PCMU and 8 kHz telephone-event in an offer's audio m-line.
fn pcmu_only(sdp: &str) -> String {
    let keep = ["0", "126"];
    let dropped_pt = |line: &str| {
        ["a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"].iter().any(|prefix| {
            line.strip_prefix(prefix)
                .and_then(|rest| rest.split([' ', ':']).next())
                .is_some_and(|pt| !keep.contains(&pt))
        })
    };
    let mut out = String::new();
    for line in sdp.lines() {
        if line.starts_with("m=audio") {
            let fields: Vec<&str> = line.split(' ').take(3).collect();
            out.push_str(&format!("{} {}\r\n", fields.join(" "), keep.join(" ")));
        } else if !dropped_pt(line) {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out
}

#[test]
fn two_peers_hear_each_others_tones_over_opus() {
    let (a, b, took) = connected_pair(Playback::Tone { hz: 440.0 }, Playback::Tone { hz: 1000.0 }, str::to_owned);
    println!("connected in {took:?}");
    let a_heard = hears_tone(&a, "A", 1000.0, 10.0);
    let b_heard = hears_tone(&b, "B", 440.0, 10.0);
    for heard in [&a_heard, &b_heard] {
        // Sent at -20 dBFS; Opus keeps a steady tone within a dB or two.
        assert!((-24.0..=-17.0).contains(&heard.level_dbfs), "{heard:?}");
        assert!(heard.packets_received >= 10 && heard.bytes_received > 0, "{heard:?}");
    }
    // Changing the playback changes what the other side hears.
    b.set_playback(Playback::Tone { hz: 400.0 });
    hears_tone(&a, "A after set_playback", 400.0, 10.0);
    b.set_playback(Playback::Silence);
    assert!(
        wait_until(HEAR_TIMEOUT, || a.heard().level_dbfs < -60.0 && a.heard().dominant_hz.is_none()),
        "A should hear silence, heard {:?}",
        a.heard()
    );
    // RTP keeps flowing during silence.
    let before = a.heard().packets_received;
    assert!(wait_until(Duration::from_secs(2), || a.heard().packets_received >= before + 10));
}

#[test]
fn echo_peer_returns_what_it_hears() {
    let (a, b, _) = connected_pair(Playback::Tone { hz: 440.0 }, Playback::Echo, str::to_owned);
    let heard = hears_tone(&a, "A (from an echo B)", 440.0, 10.0);
    assert!((-26.0..=-16.0).contains(&heard.level_dbfs), "{heard:?}");
    hears_tone(&b, "B", 440.0, 10.0);
}

#[test]
fn pcmu_only_offer_gets_pcmu_both_ways() {
    let (a, b, _) = connected_pair(Playback::Tone { hz: 440.0 }, Playback::Tone { hz: 1000.0 }, pcmu_only);
    let a_heard = hears_tone(&a, "A over PCMU", 1000.0, 10.0);
    let b_heard = hears_tone(&b, "B over PCMU", 440.0, 10.0);
    for heard in [&a_heard, &b_heard] {
        // µ-law at 8 kHz: 160 bytes per 20 ms frame.
        assert!((-22.0..=-18.0).contains(&heard.level_dbfs), "{heard:?}");
        assert_eq!(heard.bytes_received, heard.packets_received * 160, "{heard:?}");
    }
}

#[test]
fn a_far_end_limited_to_pcma_talks_a_law_both_ways() {
    let (a, offer) = MediaSession::offer(Playback::Tone { hz: 440.0 }).expect("offer");
    let alaw_only = FarEnd { codecs: FarEndCodecs::PcmaOnly, ..FarEnd::default() };
    let (b, answer) = MediaSession::answer_as(alaw_only, &offer, Playback::Tone { hz: 1000.0 }).expect("answer");
    assert!(answer.contains("PCMA/8000") && !answer.contains("opus") && !answer.contains("PCMU"), "{answer}");
    a.accept_answer(&answer).expect("accept answer");
    let a_heard = hears_tone(&a, "A over PCMA", 1000.0, 10.0);
    let b_heard = hears_tone(&b, "B over PCMA", 440.0, 10.0);
    for heard in [&a_heard, &b_heard] {
        assert!((-22.0..=-18.0).contains(&heard.level_dbfs), "{heard:?}");
        assert_eq!(heard.bytes_received, heard.packets_received * 160, "A-law at 8 kHz: {heard:?}");
    }
}

#[test]
fn ice_lite_and_either_dtls_role_connect_with_audio() {
    for (ice_lite, dtls_answer) in [
        (true, DtlsAnswerRole::Active),
        (true, DtlsAnswerRole::Passive),
        (false, DtlsAnswerRole::Passive),
        (false, DtlsAnswerRole::Active),
    ] {
        let far_end = FarEnd { ice_lite, dtls_answer, ..FarEnd::default() };
        let (a, offer) = MediaSession::offer(Playback::Tone { hz: 440.0 }).expect("offer");
        let (b, answer) = MediaSession::answer_as(far_end, &offer, Playback::Tone { hz: 1000.0 }).expect("answer");
        let role = match dtls_answer {
            DtlsAnswerRole::Active => "a=setup:active",
            DtlsAnswerRole::Passive => "a=setup:passive",
        };
        assert!(answer.contains(role), "{far_end:?}: {answer}");
        assert_eq!(answer.contains("a=ice-lite"), ice_lite, "{answer}");
        a.accept_answer(&answer).expect("accept answer");
        hears_tone(&a, &format!("the offerer of {far_end:?}"), 1000.0, 10.0);
        hears_tone(&b, &format!("{far_end:?}"), 440.0, 10.0);
    }
}

#[test]
fn dtmf_digits_arrive_once_each_in_order() {
    for munge in [str::to_owned as fn(&str) -> String, pcmu_only] {
        let (a, b, _) = connected_pair(Playback::Tone { hz: 440.0 }, Playback::Silence, munge);
        a.send_dtmf("123#*9A");
        assert!(
            wait_until(Duration::from_secs(5), || b.dtmf_received().len() >= 7),
            "received {:?}",
            b.dtmf_received()
        );
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(b.dtmf_received(), "123#*9A");
        assert_eq!(a.dtmf_received(), "");
        // Audio kept flowing alongside the events.
        hears_tone(&b, "B during DTMF", 440.0, 10.0);
    }
}

#[test]
fn bad_input_is_refused_with_a_typed_error() {
    assert!(matches!(MediaSession::answer("hello", Playback::Silence), Err(MediaError::InvalidSdp(_))));
    let (_a, offer) = MediaSession::offer(Playback::Silence).unwrap();
    let video_only = offer.replace("m=audio", "m=video");
    assert!(matches!(
        MediaSession::answer(&video_only, Playback::Silence),
        Err(MediaError::NoAudio | MediaError::InvalidSdp(_))
    ));
    // Only codecs the peer lacks (G722 here): no usable audio.
    let g722_only = pcmu_only(&offer)
        .replace("RTP/SAVPF 0 126", "RTP/SAVPF 9 126")
        .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:9 G722/8000");
    assert!(g722_only.contains("G722") && !g722_only.contains("PCMU"), "{g722_only}");
    let refused = MediaSession::answer(&g722_only, Playback::Silence);
    assert!(matches!(refused, Err(MediaError::NoAudio)), "{refused:?}");
    // A far end limited to PCMA refuses an offer without it.
    let alaw_only = FarEnd { codecs: FarEndCodecs::PcmaOnly, ..FarEnd::default() };
    let refused = MediaSession::answer_as(alaw_only, &pcmu_only(&offer), Playback::Silence);
    assert!(matches!(refused, Err(MediaError::NoAudio)), "{refused:?}");
    let missing = Playback::Wav("/nonexistent/far-end.wav".into());
    assert!(matches!(MediaSession::offer(missing), Err(MediaError::Wav { .. })));
    let (b, _answer) = MediaSession::answer(&offer, Playback::Silence).unwrap();
    assert!(matches!(b.accept_answer(&offer), Err(MediaError::NoPendingOffer)));
}

#[test]
fn wav_playback_loops_the_file() {
    let dir = std::env::temp_dir().join(format!("softphone-sim-media-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tone-stereo-44k1.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&path, spec).unwrap();
    // 0.3 s of 700 Hz, shorter than the test: it must loop.
    for i in 0..13_230 {
        let s = (0.2 * (std::f32::consts::TAU * 700.0 * i as f32 / 44_100.0).sin() * 32_767.0) as i16;
        writer.write_sample(s).unwrap();
        writer.write_sample(s).unwrap();
    }
    writer.finalize().unwrap();
    let (a, _b, _) = connected_pair(Playback::Silence, Playback::Wav(path.clone()), str::to_owned);
    hears_tone(&a, "A", 700.0, 10.0);
    std::thread::sleep(Duration::from_millis(600));
    hears_tone(&a, "A, looped", 700.0, 10.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn drop_stops_the_thread_and_frees_the_port() {
    let (a, b, _) = connected_pair(Playback::Tone { hz: 440.0 }, Playback::Silence, str::to_owned);
    let port = b.local_addr();
    assert!(port.ip().is_loopback());
    let started = Instant::now();
    drop(b);
    assert!(started.elapsed() < Duration::from_secs(1), "drop took {:?}", started.elapsed());
    std::net::UdpSocket::bind(port).expect("the port is free again");
    // The remote's DTLS close_notify reaches A, which stops counting itself connected.
    assert!(wait_until(Duration::from_secs(3), || !a.is_connected()));
}

// ---------------------------------------------------------------------------------------------
// Real Chromium
// ---------------------------------------------------------------------------------------------

mod chromium {
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use serde_json::{Value, json};

    pub const CHROMIUM: &str = "/usr/bin/chromium";
    pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
    /// Everything one browser test does, start to end.
    pub const TEST_TIMEOUT: Duration = Duration::from_secs(90);

    /// One browser at a time: two Chromiums plus the cargo builds of the other engineers are
    /// too much for two cores.
    pub static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    pub fn available() -> bool {
        let present = std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
        if !present {
            eprintln!("skipped: {CHROMIUM} or {CHROMEDRIVER} is not installed");
        }
        present
    }

    /// chromedriver on a free loopback port, stopped with SIGTERM (by its pid) on drop; its
    /// Chromium profile lives in a fresh directory removed on drop.
    pub struct Driver {
        child: Child,
        pub url: String,
        pub profile: PathBuf,
    }

    impl Driver {
        pub fn start() -> Driver {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let profile = std::env::temp_dir().join(format!(
                "softphone-sim-chromium-{}-{}",
                std::process::id(),
                Instant::now().elapsed().as_nanos() ^ u128::from(port)
            ));
            std::fs::create_dir_all(&profile).unwrap();
            let child = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver");
            let driver = Driver { child, url: format!("http://127.0.0.1:{port}"), profile };
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let deadline = Instant::now() + Duration::from_secs(10);
            while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
                assert!(Instant::now() < deadline, "chromedriver did not listen on {addr}");
                std::thread::sleep(Duration::from_millis(50));
            }
            driver
        }

        pub fn capabilities(&self) -> serde_json::Map<String, Value> {
            let args = [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                "--allow-loopback-in-peer-connection",
                "--autoplay-policy=no-user-gesture-required",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ]
            .map(str::to_owned)
            .into_iter()
            .chain([format!("--user-data-dir={}", self.profile.display())])
            .collect::<Vec<_>>();
            let caps = json!({
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
                "timeouts": { "script": 20_000, "pageLoad": 20_000 },
            });
            caps.as_object().unwrap().clone()
        }
    }

    impl Drop for Driver {
        fn drop(&mut self) {
            let pid = self.child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if let Ok(None) = self.child.try_wait() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
            let _ = std::fs::remove_dir_all(&self.profile);
        }
    }

    /// A blank page on 127.0.0.1 (a secure context, so getUserMedia works), served until dropped.
    pub struct Page {
        pub url: String,
        task: tokio::task::JoinHandle<()>,
    }

    impl Page {
        pub async fn serve() -> Page {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/", listener.local_addr().unwrap());
            let app = axum::Router::new().route(
                "/",
                axum::routing::get(|| async {
                    axum::response::Html("<!doctype html><title>media peer test</title><p>media peer test</p>")
                }),
            );
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            Page { url, task }
        }
    }

    impl Drop for Page {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    /// Shared page helpers, defined on `window` once per page.
    pub const HELPERS: &str = r#"
const done = arguments[arguments.length - 1];
window.gathered = (pc) => new Promise((resolve) => {
  if (pc.iceGatheringState === 'complete') return resolve();
  pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
  setTimeout(resolve, 5000);
});
window.watchConnection = (pc) => {
  window.connectedMs = null;
  window.t0 = performance.now();
  pc.addEventListener('connectionstatechange', () => {
    if (pc.connectionState === 'connected' && window.connectedMs === null) window.connectedMs = performance.now() - window.t0;
  });
};
window.measure = async (pc, seconds) => {
  const deadline = performance.now() + 5000;
  while (pc.connectionState !== 'connected' && performance.now() < deadline) await new Promise(r => setTimeout(r, 20));
  const track = pc.getReceivers()[0].track;
  const stream = new MediaStream([track]);
  // Chromium only feeds remote WebRTC audio into Web Audio while a media element plays it.
  const el = new Audio(); el.srcObject = stream; el.muted = true; await el.play().catch(() => {});
  const ctx = new AudioContext(); await ctx.resume();
  const analyser = ctx.createAnalyser(); analyser.fftSize = 16384; analyser.smoothingTimeConstant = 0;
  ctx.createMediaStreamSource(stream).connect(analyser);
  await new Promise(r => setTimeout(r, seconds * 1000));
  const spectrum = new Float32Array(analyser.frequencyBinCount); analyser.getFloatFrequencyData(spectrum);
  const binHz = ctx.sampleRate / analyser.fftSize;
  let best = Math.ceil(50 / binHz);
  for (let i = best; i < spectrum.length - 1; i++) if (spectrum[i] > spectrum[best]) best = i;
  const [a, b, c] = [spectrum[best - 1], spectrum[best], spectrum[best + 1]];
  const offset = (a - 2 * b + c) === 0 ? 0 : 0.5 * (a - c) / (a - 2 * b + c);
  const wave = new Float32Array(analyser.fftSize); analyser.getFloatTimeDomainData(wave);
  const rms = Math.sqrt(wave.reduce((s, x) => s + x * x, 0) / wave.length);
  let inbound = {}, codecs = {};
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') inbound = s;
    if (s.type === 'codec') codecs[s.id] = s.mimeType;
  });
  ctx.close(); el.srcObject = null;
  return {
    hz: (best + offset) * binHz,
    dbfs: 20 * Math.log10(Math.max(rms, 1e-9)),
    bytesReceived: inbound.bytesReceived || 0,
    packetsReceived: inbound.packetsReceived || 0,
    codec: codecs[inbound.codecId] || null,
    connectedMs: window.connectedMs,
    connectionState: pc.connectionState,
  };
};
done(true);
"#;

    /// Offer from the browser (non-trickle: after gathering completes).
    pub const BROWSER_OFFERS: &str = r#"
const done = arguments[arguments.length - 1];
(async () => {
  const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.pc = pc;
  mic.getTracks().forEach((t) => pc.addTrack(t, mic));
  await pc.setLocalDescription(await pc.createOffer());
  await window.gathered(pc);
  done({ sdp: pc.localDescription.sdp });
})().catch((e) => done({ error: String(e) }));
"#;

    pub const BROWSER_TAKES_ANSWER: &str = r#"
const [sdp, done] = arguments;
window.watchConnection(window.pc);
window.pc.setRemoteDescription({ type: 'answer', sdp }).then(() => done({ ok: true }), (e) => done({ error: String(e) }));
"#;

    /// Answer from the browser to the simulator's offer.
    pub const BROWSER_ANSWERS: &str = r#"
const [sdp, done] = arguments;
(async () => {
  const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.pc = pc;
  window.watchConnection(pc);
  await pc.setRemoteDescription({ type: 'offer', sdp });
  mic.getTracks().forEach((t) => pc.addTrack(t, mic));
  await pc.setLocalDescription(await pc.createAnswer());
  await window.gathered(pc);
  done({ sdp: pc.localDescription.sdp });
})().catch((e) => done({ error: String(e) }));
"#;

    pub const BROWSER_MEASURES: &str = r#"
const done = arguments[arguments.length - 1];
window.measure(window.pc, 1.5).then(done, (e) => done({ error: String(e) }));
"#;

    pub const BROWSER_SENDS_DTMF: &str = r#"
const [digits, done] = arguments;
const sender = window.pc.getSenders().find((s) => s.track && s.track.kind === 'audio');
if (!sender || !sender.dtmf || !sender.dtmf.canInsertDTMF) done({ error: 'no DTMF sender' });
else { sender.dtmf.insertDTMF(digits, 100, 70); done({ ok: true }); }
"#;

    pub const BROWSER_HANGS_UP: &str = r#"
const done = arguments[arguments.length - 1];
window.pc.close();
done(true);
"#;
}

use serde_json::Value;

async fn script(client: &fantoccini::Client, js: &str, args: Vec<Value>) -> Value {
    let value = client.execute_async(js, args).await.expect("script ran");
    assert!(value.get("error").is_none(), "browser error: {value}");
    value
}

/// Waits (async) until the sim side has a full window of audio near `hz`.
async fn sim_hears(session: &MediaSession, hz: f32, tolerance: f32) -> Heard {
    let deadline = Instant::now() + HEAR_TIMEOUT;
    loop {
        let heard = session.heard();
        if heard.packets_received >= 25 && heard.dominant_hz.is_some_and(|f| (f - hz).abs() <= tolerance) {
            return heard;
        }
        assert!(Instant::now() < deadline, "sim should hear ~{hz} Hz from Chromium, heard {heard:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Chromium's fake microphone (`--use-fake-device-for-media-stream`) as measured here: a beep
/// 398.5-399 Hz at about -21 dBFS RMS (Chromium 156).
const CHROMIUM_BEEP_HZ: f32 = 400.0;
const CHROMIUM_BEEP_TOLERANCE_HZ: f32 = 10.0;

/// What the browser measured, with checks common to both directions.
fn check_browser_heard(measured: &Value, hz: f64, codec: &str) {
    println!("chromium measured {measured}");
    let found = measured["hz"].as_f64().unwrap();
    let dbfs = measured["dbfs"].as_f64().unwrap();
    assert!((found - hz).abs() <= 10.0, "chromium should hear {hz} Hz: {measured}");
    // Sent at -20 dBFS RMS; Chromium's playout path may apply a little gain control.
    assert!((-30.0..=-12.0).contains(&dbfs), "level: {measured}");
    assert!(measured["bytesReceived"].as_u64().unwrap() > 1_000, "{measured}");
    assert_eq!(measured["codec"].as_str(), Some(codec), "{measured}");
}

/// The browser's RTCDTMFSender (what the SDK's `call.dtmf()` would use in-band) reaches the sim as
/// RFC 4733 events, each digit once.
async fn browser_sends_dtmf(client: &fantoccini::Client, sim: &MediaSession) {
    let digits = "19*#0";
    script(client, chromium::BROWSER_SENDS_DTMF, vec![Value::from(digits)]).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while sim.dtmf_received().len() < digits.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.dtmf_received(), digits);
}

async fn browser_session(driver: &chromium::Driver) -> fantoccini::Client {
    fantoccini::ClientBuilder::native()
        .capabilities(driver.capabilities())
        .connect(&driver.url)
        .await
        .expect("chromium session")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_offers_and_the_sim_answers() {
    if !chromium::available() {
        return;
    }
    let _one = chromium::ONE_BROWSER.lock().await;
    let driver = chromium::Driver::start();
    let page = chromium::Page::serve().await;
    let client = browser_session(&driver).await;
    let outcome = tokio::time::timeout(chromium::TEST_TIMEOUT, async {
        client.goto(&page.url).await.expect("page");
        script(&client, chromium::HELPERS, vec![]).await;
        let offer = script(&client, chromium::BROWSER_OFFERS, vec![]).await;
        let offer = offer["sdp"].as_str().unwrap().to_owned();
        assert!(offer.contains("127.0.0.1"), "offer without a loopback candidate:\n{offer}");
        let (sim, answer) = MediaSession::answer(&offer, Playback::Tone { hz: 440.0 }).expect("sim answers");
        assert!(answer.contains("127.0.0.1"));
        let applied = Instant::now();
        script(&client, chromium::BROWSER_TAKES_ANSWER, vec![Value::from(answer)]).await;
        while !sim.is_connected() {
            assert!(applied.elapsed() < Duration::from_secs(5), "sim not connected");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        println!("sim connected {:?} after the browser applied the answer", applied.elapsed());
        let measured = script(&client, chromium::BROWSER_MEASURES, vec![]).await;
        check_browser_heard(&measured, 440.0, "audio/opus");
        let heard = sim_hears(&sim, CHROMIUM_BEEP_HZ, CHROMIUM_BEEP_TOLERANCE_HZ).await;
        println!("sim heard {heard:?}");
        assert!(heard.level_dbfs > -45.0, "the fake microphone is well above silence: {heard:?}");
        browser_sends_dtmf(&client, &sim).await;

        // The browser hangs up: its DTLS close_notify reaches the sim.
        script(&client, chromium::BROWSER_HANGS_UP, vec![]).await;
        let hung_up = Instant::now();
        while sim.is_connected() && hung_up.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!sim.is_connected(), "the sim should see the browser's close_notify");
    })
    .await;
    let _ = client.close().await;
    drop(driver);
    outcome.expect("test within its time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_offers_and_chromium_answers() {
    if !chromium::available() {
        return;
    }
    let _one = chromium::ONE_BROWSER.lock().await;
    let driver = chromium::Driver::start();
    let page = chromium::Page::serve().await;
    let client = browser_session(&driver).await;
    let outcome = tokio::time::timeout(chromium::TEST_TIMEOUT, async {
        client.goto(&page.url).await.expect("page");
        script(&client, chromium::HELPERS, vec![]).await;
        let (sim, offer) = MediaSession::offer(Playback::Tone { hz: 880.0 }).expect("sim offers");
        let answer = script(&client, chromium::BROWSER_ANSWERS, vec![Value::from(offer)]).await;
        let answer = answer["sdp"].as_str().unwrap().to_owned();
        assert!(answer.contains("127.0.0.1"), "answer without a loopback candidate:\n{answer}");
        let applied = Instant::now();
        sim.accept_answer(&answer).expect("sim takes the answer");
        while !sim.is_connected() {
            assert!(applied.elapsed() < Duration::from_secs(5), "sim not connected");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        println!("sim connected {:?} after taking the answer", applied.elapsed());
        let measured = script(&client, chromium::BROWSER_MEASURES, vec![]).await;
        check_browser_heard(&measured, 880.0, "audio/opus");
        let heard = sim_hears(&sim, CHROMIUM_BEEP_HZ, CHROMIUM_BEEP_TOLERANCE_HZ).await;
        println!("sim heard {heard:?}");
        assert!(heard.level_dbfs > -45.0, "{heard:?}");

        browser_sends_dtmf(&client, &sim).await;
    })
    .await;
    let _ = client.close().await;
    drop(driver);
    outcome.expect("test within its time limit");
}
