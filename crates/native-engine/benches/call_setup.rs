//! Call set-up of the native engine against the in-process simulator answering at once:
//! `execute(Dial)` → the INVITE reaches the simulator, and → the call is active (media up).
//! Prints p50 / p99 / max over `CALLS` calls (default 30). Run:
//! `cargo bench -p softphone-native-engine --bench call_setup`.

use std::time::{Duration, Instant, SystemTime};

use softphone_core::call::{CallId, EngineCommand, EngineUpdate, SdkState};
use softphone_core::secret::Secret;
use softphone_media::{AudioSystem, FakeAudioSpec};
use softphone_native_engine::{ConnectionChange, NativeEngine, NativeEngineConfig, NativeEngineEvent};
use softphone_sim::{SignalingConfig, Simulator, SimulatorConfig};

const TONE: &str = "+15555550100";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{what:<28} p50 {:>7.1} ms   p99 {:>7.1} ms   max {:>7.1} ms   (n = {})",
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        samples.len()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let calls: usize = std::env::var("CALLS").ok().and_then(|n| n.parse().ok()).unwrap_or(30);
    let signaling = SignalingConfig { answer_delay: Duration::ZERO, ..SignalingConfig::default() };
    let sim = Simulator::start(SimulatorConfig { signaling, ..SimulatorConfig::default() }).await.expect("simulator");
    let credential = sim.state().create_credential("bench".into(), None, None, None);
    let token = sim.state().mint_login_token(&credential.id, SystemTime::now()).expect("token");
    let audio = AudioSystem::fake(FakeAudioSpec::tone(880.0)).expect("fake audio");
    let config = NativeEngineConfig::new(sim.ws_url(), Secret::new(token), Vec::new());
    let (engine, mut events) = NativeEngine::start(config, audio).await.expect("engine");
    loop {
        if let Some(NativeEngineEvent::Connection(ConnectionChange::Ready)) = events.recv().await {
            break;
        }
    }

    let (mut to_invite, mut to_active) = (Vec::new(), Vec::new());
    for n in 0..calls {
        let call_id = CallId(format!("bench-{n}-{}", std::process::id()));
        let started = Instant::now();
        let dial =
            engine.execute(EngineCommand::Dial { call_id: call_id.clone(), number: TONE.into(), caller_number: None });
        let watch_invite = async {
            loop {
                if sim.switchboard().calls().iter().any(|call| call.id == call_id.0) {
                    return started.elapsed();
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
        };
        let (dialed, invite) = tokio::join!(dial, watch_invite);
        dialed.expect("the invite is accepted");
        to_invite.push(invite);
        loop {
            match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
                Ok(Some(NativeEngineEvent::Call {
                    call_id: id,
                    update: EngineUpdate::State { state: SdkState::Active },
                })) if id == call_id => {
                    to_active.push(started.elapsed());
                    break;
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => panic!("call {n} never became active"),
            }
        }
        engine.execute(EngineCommand::Hangup { call_id: call_id.clone() }).await.expect("hang up");
        loop {
            if let Some(NativeEngineEvent::Call { call_id: id, update: EngineUpdate::Ended { .. } }) =
                events.recv().await
                && id == call_id
            {
                break;
            }
        }
    }
    println!("native engine call set-up against the simulator answering at once ({calls} calls):");
    report("dial -> INVITE at the far end", to_invite);
    report("dial -> active (media up)", to_active);
    engine.shutdown().await;
    sim.shutdown().await;
}
