//! softphone-sim: a local Telnyx for tests, development and the app's demo mode.
//!
//! What it serves today:
//! - the REST token API (`/v2/telephony_credentials`, `.../{id}/token`), answering like Telnyx v2
//!   (see [`rest`] for the error codes);
//! - a control API for tests (`/control/...`, see [`control`]): injected faults, the request log,
//!   the credentials;
//! - the `telnyx_rtc` signaling websocket at `/`, the call logic with its directory of scripted
//!   numbers, and their control endpoints (see [`signaling`]);
//! - a STUN/TURN server over UDP standing in for Telnyx's (see [`turn`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), softphone_sim::SimError> {
//! let sim = softphone_sim::Simulator::start(softphone_sim::SimulatorConfig::default()).await?;
//! println!("{}", sim.base_url()); // http://127.0.0.1:NNNNN
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod call_control;
pub mod control;
pub mod media;
pub mod rest;
pub mod signaling;
pub mod state;
pub mod token;
pub mod turn;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use signaling::{SignalingConfig, Switchboard};
pub use state::{FaultSpec, SimState, StateSnapshot};
pub use token::{Claims, TokenRejection};

/// The API key the simulator accepts when none is configured. Obviously fake: it is printed in
/// `--help` and in docs.
pub const DEFAULT_API_KEY: &str = "KEY_sim_demo_fake";

/// Telnyx's login token lifetime, which the simulator uses by default: 24 hours.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// How long [`RunningSimulator::shutdown`] waits for open connections to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How to start a simulator.
#[derive(Clone)]
pub struct SimulatorConfig {
    /// Address to listen on; port 0 lets the OS pick. Keep it on loopback: there is no TLS, and
    /// the control API answers loopback peers only anyway.
    pub listen: SocketAddr,
    /// API keys accepted as `Authorization: Bearer <key>`. Not shown by `Debug`.
    pub api_keys: Vec<String>,
    /// Lifetime of minted login tokens (whole seconds; at least 1 s).
    pub token_ttl: Duration,
    /// Timings of the signaling side (pings, ringing, reattach window).
    pub signaling: SignalingConfig,
    /// The address the far ends' media sockets and ICE host candidates are on: loopback, unless
    /// a test puts the simulator behind a network of its own (another namespace, a veth pair).
    pub media_ip: std::net::IpAddr,
}

impl Default for SimulatorConfig {
    /// 127.0.0.1:0, [`DEFAULT_API_KEY`], [`DEFAULT_TOKEN_TTL`].
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_keys: vec![DEFAULT_API_KEY.to_owned()],
            token_ttl: DEFAULT_TOKEN_TTL,
            signaling: SignalingConfig::default(),
            media_ip: std::net::IpAddr::from([127, 0, 0, 1]),
        }
    }
}

impl std::fmt::Debug for SimulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatorConfig")
            .field("listen", &self.listen)
            .field("api_keys", &format_args!("<{} redacted>", self.api_keys.len()))
            .field("token_ttl", &self.token_ttl)
            .field("signaling", &self.signaling)
            .field("media_ip", &self.media_ip)
            .finish()
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Binding the listening socket failed (address in use, not local, ...).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Every route of the simulator over one shared state.
pub fn router(state: SimState, switchboard: Switchboard) -> Router {
    Router::new()
        .merge(rest::routes(state.clone()))
        .merge(call_control::routes(state.clone(), switchboard.clone()))
        .merge(control::routes(state))
        .merge(signaling::routes(switchboard))
}

/// Entry point: starts simulators.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Binds `config.listen` and serves on the current tokio runtime until the returned handle
    /// is dropped or shut down. The socket is listening when this returns.
    pub async fn start(config: SimulatorConfig) -> Result<RunningSimulator, SimError> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| SimError::Bind { addr: config.listen, source })?;
        let local_addr = listener.local_addr().map_err(|source| SimError::Bind { addr: config.listen, source })?;
        let state = SimState::new(config.api_keys, config.token_ttl);
        let switchboard = Switchboard::with_media_on(state.clone(), config.signaling, config.media_ip);
        let app = router(state.clone(), switchboard.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    // Either an explicit stop or the handle being dropped.
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "simulator stopped with an error");
            }
        });
        tracing::info!(%local_addr, "simulator listening");
        Ok(RunningSimulator { local_addr, state, switchboard, stop: Some(stop), task: Some(task) })
    }
}

/// A simulator serving in the background. Dropping it stops accepting connections and lets
/// open ones finish; [`RunningSimulator::shutdown`] also waits for that (at most
/// [`SHUTDOWN_GRACE`]).
#[derive(Debug)]
pub struct RunningSimulator {
    local_addr: SocketAddr,
    state: SimState,
    switchboard: Switchboard,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningSimulator {
    /// The address actually bound (with the OS-picked port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://IP:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The shared state, for in-process tests and the signaling part.
    pub fn state(&self) -> &SimState {
        &self.state
    }

    /// Signaling sessions and calls, for in-process tests and demo mode.
    pub fn switchboard(&self) -> &Switchboard {
        &self.switchboard
    }

    /// `ws://IP:PORT/`: where the SDK's `host` option points.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/", self.local_addr)
    }

    /// Stops accepting connections and waits up to [`SHUTDOWN_GRACE`] for open ones; after
    /// that the server task is aborted.
    pub async fn shutdown(mut self) {
        self.switchboard.close_all();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await.is_err()
        {
            task.abort();
        }
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        self.switchboard.close_all();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
