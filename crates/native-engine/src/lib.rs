//! The native call engine: Telnyx signaling ([`softphone_telnyx::rtc::RtcClient`]) and the media
//! ([`softphone_media`]) in Rust, for where the webview has no WebRTC (Debian's WebKitGTK).
//!
//! It sits behind the same boundary as the webview engine: it carries out the state machine's
//! [`EngineCommand`]s ([`NativeEngine::execute`]) and reports what happens as the same
//! [`EngineUpdate`]s, per call, on the receiver [`NativeEngine::start`] returns. It keeps no call
//! state of its own beyond what the media needs (the peer of each call, an inbound offer waiting
//! to be answered); the shell's `CallMachine` decides.
//!
//! ```no_run
//! # async fn demo(token: softphone_core::secret::Secret) -> Result<(), softphone_native_engine::NativeEngineError> {
//! use softphone_native_engine::{NativeEngine, NativeEngineConfig, NativeEngineEvent};
//! let audio = softphone_media::AudioSystem::from_env()?;
//! let config = NativeEngineConfig::new("ws://127.0.0.1:9000/", token, Vec::new());
//! let (engine, mut events) = NativeEngine::start(config, audio).await?;
//! while let Some(event) = events.recv().await {
//!     if let NativeEngineEvent::Call { call_id, update } = event {
//!         println!("{call_id:?}: {update:?}"); // feed to the CallMachine
//!     }
//! }
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use softphone_core::call::{CallId, EngineCommand, EngineUpdate};
use softphone_core::ipc::IceServer;
use softphone_core::secret::Secret;
use softphone_media::dsp::tones::load_wav;
use softphone_media::{AudioSystem, CallMedia, CallMediaOptions, MediaError, MediaStats};
use softphone_telnyx::rtc::{
    CallerId, HoldState, RtcClient, RtcConfig, RtcError, RtcEvent, RtcLogin, RtcTimings, engine_updates,
};
use tokio::sync::mpsc;

mod session;

pub use session::{NativeSession, SessionConfig, SessionStart, Supervision, TokenFuture, TokenSource};

/// How often a voicemail drop looks whether its greeting has all been sent.
const GREETING_POLL: std::time::Duration = std::time::Duration::from_millis(50);
/// After the greeting's last frame, before the hangup: the far end's jitter buffer plays it out.
const GREETING_TAIL: std::time::Duration = std::time::Duration::from_millis(300);

/// Events queued for the shell before the engine waits for it.
const EVENT_CAPACITY: usize = 256;

/// Where and how the engine logs in.
#[derive(Debug, Clone)]
pub struct NativeEngineConfig {
    /// `wss://rtc.telnyx.com` or the simulator's `ws://127.0.0.1:PORT/`.
    pub signaling_url: String,
    /// The login JWT from `issue_login_token`.
    pub login_token: Secret,
    /// STUN/TURN servers for the media (empty against the simulator).
    pub ice_servers: Vec<IceServer>,
    /// What outbound calls present; Telnyx fills it from the connection when empty.
    pub caller_id: CallerId,
    /// Signaling timings (the SDK's by default).
    pub timings: RtcTimings,
    /// How each call's media is set up (which candidates, codecs); the defaults by default.
    pub media: CallMediaOptions,
}

impl NativeEngineConfig {
    /// The SDK's timings and no caller id of our own.
    pub fn new(signaling_url: impl Into<String>, login_token: Secret, ice_servers: Vec<IceServer>) -> Self {
        NativeEngineConfig {
            signaling_url: signaling_url.into(),
            login_token,
            ice_servers,
            caller_id: CallerId::default(),
            timings: RtcTimings::default(),
            media: CallMediaOptions::default(),
        }
    }
}

/// The state of the signaling connection, as the status bar shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionChange {
    /// A [`NativeSession`] is starting an engine (minting a token, connecting, logging in).
    Connecting,
    /// A [`NativeSession`]'s engine did not start (no token, Telnyx unreachable); the session
    /// tries again by itself.
    StartFailed {
        /// A sentence for the agent.
        message: String,
    },
    /// Logged in and registered: calls can be placed and received.
    Ready,
    /// The socket dropped; reconnect attempt `attempt` follows, live calls wait to be recovered.
    Reconnecting {
        /// From 1.
        attempt: u32,
    },
    /// Back after a drop.
    Reconnected,
    /// Telnyx refused the login; the engine stays up and [`NativeEngine::refresh_token`] retries.
    LoginFailed {
        /// A sentence for the agent.
        message: String,
    },
    /// The engine stopped: asked to (`message` `None`), punted, or reconnecting gave up.
    Closed {
        /// Why, unless asked to.
        message: Option<String>,
    },
}

/// What the engine reports, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum NativeEngineEvent {
    /// The signaling connection changed.
    Connection(ConnectionChange),
    /// An update for the state machine about one call.
    Call {
        /// The call.
        call_id: CallId,
        /// What happened to it.
        update: EngineUpdate,
    },
}

/// Why a command could not be carried out. The call it concerns also gets an
/// [`EngineUpdate::Failed`] when the failure ends it (a dial or an answer).
#[derive(Debug, thiserror::Error)]
pub enum NativeEngineError {
    /// Signaling failed (connect, login, a request).
    #[error(transparent)]
    Signaling(#[from] RtcError),
    /// The media could not be set up (audio device, SDP, socket).
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The command names a call the engine does not carry.
    #[error("The call {0} is not carried by this phone (it may have ended already).")]
    UnknownCall(String),
}

impl NativeEngineError {
    /// A stable code for logs and the UI.
    pub fn code(&self) -> String {
        match self {
            NativeEngineError::Signaling(error) => format!("{:?}", error.code()),
            NativeEngineError::Media(error) => error.code().to_owned(),
            NativeEngineError::UnknownCall(_) => "EngineUnknownCall".to_owned(),
        }
    }
}

/// What the engine keeps per call: the media once there is any, and an inbound offer until it
/// is answered.
#[derive(Debug, Default)]
struct CallSlot {
    media: Option<CallMedia>,
    inbound_offer: Option<String>,
    muted: bool,
    /// On hold as Telnyx last said; a reattached call's new media starts so.
    held: bool,
}

#[derive(Debug)]
struct Shared {
    rtc: RtcClient,
    audio: AudioSystem,
    ice_servers: Vec<IceServer>,
    media_options: CallMediaOptions,
    caller_id: CallerId,
    calls: Mutex<HashMap<String, CallSlot>>,
    events: mpsc::Sender<NativeEngineEvent>,
}

/// A running native engine. Cheap to clone; [`NativeEngine::shutdown`] hangs up and stops it.
#[derive(Debug, Clone)]
pub struct NativeEngine {
    shared: Arc<Shared>,
}

impl NativeEngine {
    /// Connects and logs in; [`ConnectionChange::Ready`] (or `LoginFailed`) follows on the
    /// receiver, then every call's updates.
    pub async fn start(
        config: NativeEngineConfig,
        audio: AudioSystem,
    ) -> Result<(NativeEngine, mpsc::Receiver<NativeEngineEvent>), NativeEngineError> {
        let mut rtc_config = RtcConfig::new(config.signaling_url, RtcLogin::Token(config.login_token));
        rtc_config.timings = config.timings;
        // As the SDK names its audio track: the microphone chosen, else the default one.
        let default_input = || audio.devices().ok()?.inputs.into_iter().find(|device| device.is_default);
        if let Some(label) = audio.choice().microphone.or_else(|| default_input().map(|device| device.name)) {
            rtc_config.microphone_label = label;
        }
        let (rtc, rtc_events) = RtcClient::connect(rtc_config).await?;
        let (events, receiver) = mpsc::channel(EVENT_CAPACITY);
        let shared = Arc::new(Shared {
            rtc,
            audio,
            ice_servers: config.ice_servers,
            media_options: config.media,
            caller_id: config.caller_id,
            calls: Mutex::new(HashMap::new()),
            events,
        });
        tokio::spawn(pump(Arc::clone(&shared), rtc_events));
        Ok((NativeEngine { shared }, receiver))
    }

    /// Whether `other` is a handle to this same engine (not a newer one).
    pub fn same_as(&self, other: &NativeEngine) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// The audio devices the engine plays and records on (also the ringer's).
    pub fn audio(&self) -> &AudioSystem {
        &self.shared.audio
    }

    /// Carries out one command of the state machine. A dial or answer that fails also reports
    /// [`EngineUpdate::Failed`] for its call, so the machine ends it.
    pub async fn execute(&self, command: EngineCommand) -> Result<(), NativeEngineError> {
        let shared = &self.shared;
        match command {
            EngineCommand::Dial { call_id, number, caller_number } => {
                let outcome = self.dial(&call_id, &number, caller_number).await;
                self.fail_call_on_error(&call_id, outcome).await
            }
            EngineCommand::Answer { call_id } => {
                let outcome = self.answer(&call_id).await;
                self.fail_call_on_error(&call_id, outcome).await
            }
            EngineCommand::PlayVoicemail { call_id, greeting } => {
                let outcome = self.play_voicemail(&call_id, greeting).await;
                if let Err(error) = &outcome {
                    // The greeting cannot play: the call is ended, not left open with the microphone.
                    tracing::warn!(call_id = call_id.as_str(), code = %error.code(), %error, "the greeting cannot play");
                    shared.rtc.hangup(call_id.as_str(), None).await?;
                }
                outcome
            }
            EngineCommand::Hangup { call_id } => {
                shared.rtc.hangup(call_id.as_str(), None).await?;
                Ok(())
            }
            EngineCommand::Hold { call_id } => {
                let state = shared.rtc.hold(call_id.as_str()).await?;
                self.set_held(&call_id, state == HoldState::Held)
            }
            EngineCommand::Unhold { call_id } => {
                let state = shared.rtc.unhold(call_id.as_str()).await?;
                self.set_held(&call_id, state == HoldState::Held)
            }
            EngineCommand::SetMuted { call_id, muted } => {
                let mut calls = shared.calls.lock().unwrap_or_else(PoisonError::into_inner);
                let slot = calls.get_mut(call_id.as_str()).ok_or_else(|| unknown(&call_id))?;
                slot.muted = muted;
                if let Some(media) = &slot.media {
                    media.set_muted(muted);
                }
                Ok(())
            }
            EngineCommand::SendDigits { call_id, digits } => {
                // As the SDK: `telnyx_rtc.info`, which Telnyx turns into DTMF on the far leg.
                shared.rtc.dtmf(call_id.as_str(), &digits).await?;
                Ok(())
            }
        }
    }

    /// Invites `number`, presenting `caller_number` when given (local presence), else the
    /// configured caller id.
    async fn dial(
        &self,
        call_id: &CallId,
        number: &str,
        caller_number: Option<String>,
    ) -> Result<(), NativeEngineError> {
        let shared = &self.shared;
        let (media, offer) = new_media(shared, None).await?;
        shared.lock_calls().insert(call_id.as_str().to_owned(), CallSlot { media: Some(media), ..CallSlot::default() });
        let mut caller_id = shared.caller_id.clone();
        if caller_number.is_some() {
            caller_id.number = caller_number;
        }
        shared.rtc.invite(call_id.as_str(), number, caller_id, &offer, Vec::new()).await?;
        Ok(())
    }

    /// A voicemail drop: sends the greeting (a WAV file) instead of the microphone, and hangs the
    /// call up once it has all been sent (and a moment for the last packets to arrive).
    async fn play_voicemail(&self, call_id: &CallId, greeting: String) -> Result<(), NativeEngineError> {
        let samples = tokio::task::spawn_blocking(move || load_wav(std::path::Path::new(&greeting)))
            .await
            .map_err(|_| NativeEngineError::Media(MediaError::Stopped))??;
        {
            let calls = self.shared.lock_calls();
            let media =
                calls.get(call_id.as_str()).and_then(|slot| slot.media.as_ref()).ok_or_else(|| unknown(call_id))?;
            media.play_greeting(samples);
        }
        let shared = Arc::clone(&self.shared);
        let call_id = call_id.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(GREETING_POLL).await;
                let finished = match shared.lock_calls().get(call_id.as_str()).map(|slot| slot.media.as_ref()) {
                    None => return, // hung up meanwhile
                    Some(media) => media.is_none_or(CallMedia::greeting_finished),
                };
                if finished {
                    break;
                }
            }
            tokio::time::sleep(GREETING_TAIL).await;
            tracing::info!(call_id = call_id.as_str(), "greeting sent: hanging up");
            if let Err(error) = shared.rtc.hangup(call_id.as_str(), None).await {
                tracing::warn!(call_id = call_id.as_str(), %error, "hanging up after the greeting failed");
            }
        });
        Ok(())
    }

    async fn answer(&self, call_id: &CallId) -> Result<(), NativeEngineError> {
        let shared = &self.shared;
        let offer = {
            let mut calls = shared.lock_calls();
            let slot = calls.get_mut(call_id.as_str()).ok_or_else(|| unknown(call_id))?;
            slot.inbound_offer.take().ok_or_else(|| unknown(call_id))?
        };
        let (media, answer) = new_media(shared, Some(offer)).await?;
        if let Some(slot) = shared.lock_calls().get_mut(call_id.as_str()) {
            media.set_muted(slot.muted);
            slot.media = Some(media);
        }
        shared.rtc.answer(call_id.as_str(), &answer).await?;
        Ok(())
    }

    async fn fail_call_on_error(
        &self,
        call_id: &CallId,
        outcome: Result<(), NativeEngineError>,
    ) -> Result<(), NativeEngineError> {
        if let Err(error) = &outcome {
            tracing::warn!(call_id = call_id.as_str(), code = %error.code(), %error, "the call could not be set up");
            self.shared.lock_calls().remove(call_id.as_str());
            let update = EngineUpdate::Failed { message: error.to_string() };
            let _ = self.shared.events.send(NativeEngineEvent::Call { call_id: call_id.clone(), update }).await;
        }
        outcome
    }

    /// The call's hold state as Telnyx answered it, for its media now and after a reattach.
    fn set_held(&self, call_id: &CallId, held: bool) -> Result<(), NativeEngineError> {
        let mut calls = self.shared.lock_calls();
        let slot = calls.get_mut(call_id.as_str()).ok_or_else(|| unknown(call_id))?;
        slot.held = held;
        if let Some(media) = &slot.media {
            media.set_held(held);
        }
        Ok(())
    }

    /// Logs in again with a fresh JWT on the live socket (before the old one expires, or after
    /// [`ConnectionChange::LoginFailed`]); calls stay up.
    pub async fn refresh_token(&self, token: Secret) -> Result<(), NativeEngineError> {
        self.shared.rtc.refresh_token(token).await?;
        Ok(())
    }

    /// The computer woke or the network changed: a new socket now instead of waiting for the
    /// old one's pings to time out, logging in with `token` when given; calls that were up are
    /// reattached with new media, as after any drop.
    pub async fn reconnect_now(&self, token: Option<Secret>) {
        self.shared.rtc.reconnect_now(token).await;
    }

    /// The media figures of a call (for the diagnostics page); `None` without media.
    pub fn call_stats(&self, call_id: &CallId) -> Option<MediaStats> {
        self.shared.lock_calls().get(call_id.as_str()).and_then(|slot| slot.media.as_ref().map(CallMedia::stats))
    }

    /// Hangs up every call, closes the socket; [`ConnectionChange::Closed`] is the last event.
    pub async fn shutdown(&self) {
        self.shared.rtc.disconnect().await;
        self.shared.lock_calls().clear();
    }
}

impl Shared {
    fn lock_calls(&self) -> std::sync::MutexGuard<'_, HashMap<String, CallSlot>> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn emit(&self, event: NativeEngineEvent) {
        // A closed receiver means the shell stopped listening: nothing left to tell.
        let _ = self.events.send(event).await;
    }
}

fn unknown(call_id: &CallId) -> NativeEngineError {
    NativeEngineError::UnknownCall(call_id.as_str().to_owned())
}

/// Turns signaling events into media actions and state-machine updates, until the client stops.
async fn pump(shared: Arc<Shared>, mut rtc_events: mpsc::Receiver<RtcEvent>) {
    while let Some(event) = rtc_events.recv().await {
        if let Some(change) = connection_change(&event) {
            shared.emit(NativeEngineEvent::Connection(change)).await;
        }
        let mut failures = Vec::new();
        match &event {
            RtcEvent::Incoming { call_id, sdp_offer, .. } => {
                let slot = CallSlot { inbound_offer: Some(sdp_offer.clone()), ..CallSlot::default() };
                shared.lock_calls().insert(call_id.clone(), slot);
            }
            RtcEvent::Ringing { .. } => shared.audio.start_ringback(),
            RtcEvent::EarlyMedia { call_id, sdp } | RtcEvent::Answered { call_id, sdp: Some(sdp) } => {
                shared.audio.stop_ringback();
                if let Err(error) = accept_answer(&shared, call_id, sdp) {
                    failures.push((call_id.clone(), error));
                }
            }
            RtcEvent::Answered { .. } => shared.audio.stop_ringback(),
            RtcEvent::Attach { call_id, sdp_offer } => {
                if let Err(error) = reattach(&shared, call_id, sdp_offer).await {
                    failures.push((call_id.clone(), error));
                }
            }
            RtcEvent::Ended { call_id, .. } | RtcEvent::CallFailed { call_id, .. } => {
                shared.audio.stop_ringback();
                shared.lock_calls().remove(call_id);
            }
            RtcEvent::Punted { .. } | RtcEvent::Closed { .. } => {
                shared.audio.stop_ringback();
                shared.lock_calls().clear();
            }
            _ => {}
        }
        for (call_id, update) in engine_updates(&event) {
            shared.emit(NativeEngineEvent::Call { call_id, update }).await;
        }
        for (call_id, error) in failures {
            tracing::warn!(call_id, code = %error.code(), %error, "the call's media failed");
            let _ = shared.rtc.hangup(&call_id, None).await;
            let update = EngineUpdate::Failed { message: error.to_string() };
            shared.emit(NativeEngineEvent::Call { call_id: CallId::from(call_id.as_str()), update }).await;
        }
    }
}

/// A call's media and our SDP: an offer, or the answer to `remote_offer`. Made on a blocking
/// thread, since gathering candidates from STUN/TURN servers may take up to 1.5 s.
async fn new_media(shared: &Shared, remote_offer: Option<String>) -> Result<(CallMedia, String), NativeEngineError> {
    let (audio, ice, options) = (shared.audio.clone(), shared.ice_servers.clone(), shared.media_options);
    let made = tokio::task::spawn_blocking(move || match remote_offer {
        None => CallMedia::offer_with(&audio, &ice, options),
        Some(offer) => CallMedia::answer_with(&audio, &ice, &offer, options),
    })
    .await;
    Ok(made.map_err(|_| MediaError::Stopped)??)
}

fn accept_answer(shared: &Shared, call_id: &str, sdp: &str) -> Result<(), NativeEngineError> {
    let calls = shared.lock_calls();
    let media = calls.get(call_id).and_then(|slot| slot.media.as_ref()).ok_or_else(|| unknown(&call_id.into()))?;
    media.accept_answer(sdp)?;
    Ok(())
}

/// Telnyx recovers a call after a reconnect with a fresh offer: new media, answered on attach.
async fn reattach(shared: &Shared, call_id: &str, offer: &str) -> Result<(), NativeEngineError> {
    let (media, answer) = new_media(shared, Some(offer.to_owned())).await?;
    let muted = {
        let mut calls = shared.lock_calls();
        let slot = calls.entry(call_id.to_owned()).or_default();
        media.set_muted(slot.muted);
        media.set_held(slot.held);
        // The old peer's socket is gone with the old media.
        slot.media = Some(media);
        slot.muted
    };
    shared.rtc.attach_answer(call_id, &answer, muted).await?;
    Ok(())
}

fn connection_change(event: &RtcEvent) -> Option<ConnectionChange> {
    match event {
        RtcEvent::Ready { .. } => Some(ConnectionChange::Ready),
        RtcEvent::LoginFailed { error } => Some(ConnectionChange::LoginFailed { message: error.to_string() }),
        RtcEvent::Reconnecting { attempt, .. } => Some(ConnectionChange::Reconnecting { attempt: *attempt }),
        RtcEvent::Reconnected { .. } => Some(ConnectionChange::Reconnected),
        RtcEvent::Punted { .. } => Some(ConnectionChange::Closed {
            message: Some("Telnyx signed this phone out because the account logged in elsewhere.".into()),
        }),
        RtcEvent::Closed { error, .. } => {
            Some(ConnectionChange::Closed { message: error.as_ref().map(|e| e.to_string()) })
        }
        _ => None,
    }
}
