//! `softphone-sim`: the simulator as a standalone process.
//!
//! Prints exactly one line, `listening on http://IP:PORT`, to stdout once the socket accepts
//! connections; logs go to stderr (`RUST_LOG` sets the filter, default `info`). Stops on Ctrl-C
//! or SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use softphone_sim::{DEFAULT_API_KEY, SignalingConfig, Simulator, SimulatorConfig};

/// A local Telnyx for tests and development: the REST token API with fault injection, and the
/// telnyx_rtc signaling websocket at `/` (point the SDK's `host` at ws://IP:PORT/).
#[derive(Debug, Parser)]
#[command(name = "softphone-sim", version, after_help = softphone_sim::signaling::directory_help())]
struct Cli {
    /// Address to listen on; port 0 picks a free port. Keep it on loopback: no TLS.
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:0")]
    listen: SocketAddr,

    /// API key accepted as `Authorization: Bearer KEY`; repeat for several.
    #[arg(long = "api-key", value_name = "KEY", default_value = DEFAULT_API_KEY)]
    api_keys: Vec<String>,

    /// Lifetime of minted login tokens, in seconds (Telnyx: 24 h).
    #[arg(long, value_name = "SECS", default_value_t = 86_400,
          value_parser = clap::value_parser!(u64).range(1..))]
    token_ttl: u64,

    /// Seconds between the server's `telnyx_rtc.ping`s.
    #[arg(long, value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    ping_interval: u64,

    /// Milliseconds the directory numbers ring before they answer or reject.
    #[arg(long, value_name = "MS", default_value_t = 2_000)]
    answer_delay_ms: u64,

    /// Send malformed, oversized, duplicated, stale and unknown frames among the real ones
    /// (also `POST /control/hostile {"enabled": bool}`).
    #[arg(long)]
    hostile: bool,

    /// Check every client frame against the shapes the real @telnyx/webrtc SDK sends
    /// (crates/sim/fixtures/sdk-frame-shapes.json); what differs is logged and listed at
    /// GET /control/findings (also `POST /control/strict {"enabled": bool}`).
    #[arg(long)]
    strict: bool,

    /// Also serve STUN and TURN over UDP here (user `testuser`, password `testpassword`, as the
    /// SDK's defaults), e.g. 127.0.0.1:3478; its address goes to stderr.
    #[arg(long, value_name = "IP:PORT")]
    turn: Option<SocketAddr>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let config = SimulatorConfig {
        listen: cli.listen,
        api_keys: cli.api_keys,
        token_ttl: Duration::from_secs(cli.token_ttl),
        signaling: SignalingConfig {
            ping_interval: Duration::from_secs(cli.ping_interval),
            answer_delay: Duration::from_millis(cli.answer_delay_ms),
            ..SignalingConfig::default()
        },
        ..SimulatorConfig::default()
    };
    let sim = match Simulator::start(config).await {
        Ok(sim) => sim,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            eprintln!("softphone-sim: {error}");
            return ExitCode::FAILURE;
        }
    };
    if cli.hostile {
        sim.switchboard().set_hostile(true);
    }
    if cli.strict {
        sim.switchboard().audit().set_strict(true);
    }
    let turn_config = cli.turn.map(|listen| softphone_sim::turn::TurnConfig { listen, ..Default::default() });
    let _turn = match turn_config.map(softphone_sim::turn::TurnServer::start).transpose() {
        Ok(turn) => turn,
        Err(error) => {
            eprintln!("softphone-sim: cannot serve TURN: {error}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut stdout = std::io::stdout().lock();
        let written = writeln!(stdout, "listening on {}", sim.base_url()).and_then(|()| stdout.flush());
        if let Err(error) = written {
            eprintln!("softphone-sim: cannot write to stdout: {error}");
            return ExitCode::FAILURE;
        }
    }

    wait_for_stop().await;
    tracing::info!("stopping");
    sim.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
