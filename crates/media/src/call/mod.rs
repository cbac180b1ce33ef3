//! One call's media: a WebRTC peer on its own thread, wired to the [`AudioSystem`].

mod peer;
mod playout;

mod stats;
mod turn;

pub use turn::trust_turn_certificate;

use std::net::SocketAddr;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use str0m::IceConnectionState;

pub use stats::mos_estimate;

use crate::audio::{AudioSystem, CallAudio};
use crate::{IceServer, MediaError};
use peer::{Command, Peer, Published};
use playout::CallLink;

/// How long [`CallMedia::accept_answer`] waits for the call's thread.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// Which codecs to offer or accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodecChoice {
    /// Opus (preferred), then PCMU and PCMA (G.711 µ-law and A-law, 8 kHz): what the SDK offers
    /// of what we implement.
    #[default]
    OpusAndG711,
    /// Opus only.
    OpusOnly,
    /// PCMU only (G.711 µ-law, 8 kHz).
    PcmuOnly,
    /// PCMA only (G.711 A-law, 8 kHz).
    PcmaOnly,
}

/// Which host candidates the SDP carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidatePolicy {
    /// Loopback only when there are no ICE servers (the simulator), else the machine's
    /// outward interface and loopback.
    #[default]
    Auto,
    /// 127.0.0.1 only (the socket binds there; tests, the local simulator).
    LoopbackOnly,
    /// The outward interface (the socket binds 0.0.0.0) and 127.0.0.1.
    AllInterfaces,
    /// The TURN relay only, as a browser's `iceTransportPolicy: "relay"`: every packet goes
    /// through the TURN server, and the call fails ([`MediaError::NoRelay`]) when none can be
    /// allocated.
    RelayOnly,
}

/// Tuning of one call's media; [`Default`] is what the app uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallMediaOptions {
    /// The codecs offered or accepted.
    pub codecs: CodecChoice,
    /// Audio the jitter buffer holds before playout starts, in ms (it grows after underruns and
    /// sheds delay above 200 ms).
    pub jitter_target_ms: u32,
    /// Which host candidates to announce.
    pub candidates: CandidatePolicy,
}

impl Default for CallMediaOptions {
    fn default() -> CallMediaOptions {
        CallMediaOptions { codecs: CodecChoice::default(), jitter_target_ms: 40, candidates: CandidatePolicy::Auto }
    }
}

/// Where a call's media connection is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MediaState {
    /// ICE and DTLS are being set up (or the answer has not come yet).
    #[default]
    Connecting,
    /// Audio flows.
    Connected,
    /// ICE lost the remote for now (it may come back).
    Disconnected,
    /// The media thread stopped on an error.
    Failed {
        /// What went wrong.
        reason: String,
    },
    /// The call's media was closed (by us or the remote).
    Closed,
}

/// The kind of the path in use, from the selected pair: `"relay"` through our TURN allocation;
/// otherwise direct, and `"srflx"` when it crosses our NAT (the STUN server saw us at a mapped
/// address, and the far end is out on the internet), else `"host"`. ICE pairs a reflexive
/// candidate through its base (RFC 8445 §6.1.2.4 prunes it as redundant), so our end of the pair
/// alone never says "srflx".
pub fn route_kind(
    local: SocketAddr,
    remote: SocketAddr,
    relayed: Option<SocketAddr>,
    nat_mapping: Option<SocketAddr>,
) -> &'static str {
    let remote_is_local_network = match remote.ip() {
        std::net::IpAddr::V4(ip) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
        std::net::IpAddr::V6(ip) => ip.is_loopback() || ip.is_unique_local() || ip.is_unicast_link_local(),
    };
    if Some(local) == relayed {
        "relay"
    } else if nat_mapping.is_some() && !remote_is_local_network {
        "srflx"
    } else {
        "host"
    }
}

/// Figures for the diagnostics page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaStats {
    /// The codec we send with: `"opus"`, `"PCMU"` or `"PCMA"`; `None` before negotiation.
    pub codec: Option<String>,
    /// The connection.
    pub state: MediaState,
    /// ICE's view: `"new"`, `"checking"`, `"connected"`, `"completed"`, `"disconnected"`.
    pub ice_state: String,
    /// How long ICE + DTLS took, in ms.
    pub connect_ms: Option<u32>,
    /// The path in use ([`route_kind`]): `"host"`, `"srflx"` or `"relay"` (through the TURN
    /// server); `None` before ICE has chosen.
    pub route: Option<String>,
    /// Our TURN relayed address, when the call has one.
    pub relayed_addr: Option<SocketAddr>,
    /// Round-trip time (RTCP, else ICE), in ms.
    pub rtt_ms: Option<f32>,
    /// Interarrival jitter of received audio (RTCP, RFC 3550), in ms.
    pub jitter_ms: Option<f32>,
    /// Received audio lost (concealed by the jitter buffer or reported lost), in percent.
    pub packet_loss_pct: f32,
    /// What the far end reports losing of ours, in percent.
    pub remote_packet_loss_pct: Option<f32>,
    /// Estimated MOS (1-4.5) from RTT, jitter and loss; `None` before there is traffic.
    pub mos: Option<f32>,
    /// RTP audio packets we sent.
    pub packets_sent: u64,
    /// Their payload bytes.
    pub bytes_sent: u64,
    /// RTP frames received (audio and telephone-event).
    pub packets_received: u64,
    /// Their payload bytes.
    pub bytes_received: u64,
    /// Audio in the jitter buffer now, in ms.
    pub jitter_buffer_ms: u32,
    /// Frames concealed because they were lost.
    pub concealed_frames: u64,
    /// Of those, frames rebuilt from the next packet's forward error correction (Opus).
    pub fec_recovered_frames: u64,
    /// Frames that came too late to play.
    pub late_frames: u64,
}

/// One call's media: a WebRTC audio peer (str0m) with its own thread and UDP socket, playing
/// through and capturing from the [`AudioSystem`]. Dropping it closes the connection (DTLS
/// close_notify), joins the thread and takes the call out of the audio mix.
///
/// Offers and answers are non-trickle: the SDP already carries our candidates (host, and with ICE
/// servers the server-reflexive and TURN-relayed ones, gathered within 1.5 s before the SDP is made).
pub struct CallMedia {
    published: Arc<Mutex<Published>>,
    commands: Sender<Command>,
    thread: Option<JoinHandle<()>>,
    local_addr: SocketAddr,
    link: Arc<CallLink>,
    _audio: AudioSystem,
}

impl std::fmt::Debug for CallMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallMedia")
            .field("local_addr", &self.local_addr)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl CallMedia {
    /// Starts an outbound call's media: returns it and the SDP offer for the INVITE. Audio flows
    /// after [`CallMedia::accept_answer`].
    pub fn offer(audio: &AudioSystem, ice: &[IceServer]) -> Result<(CallMedia, String), MediaError> {
        CallMedia::offer_with(audio, ice, CallMediaOptions::default())
    }

    /// [`CallMedia::offer`] with explicit options.
    pub fn offer_with(
        audio: &AudioSystem,
        ice: &[IceServer],
        options: CallMediaOptions,
    ) -> Result<(CallMedia, String), MediaError> {
        let published = Arc::default();
        let link = Arc::new(CallLink::new(options.jitter_target_ms)?);
        let (peer, offer) = Peer::offering(Arc::clone(&published), Arc::clone(&link), &options, ice)?;
        Ok((CallMedia::spawn(audio, peer, published, link)?, offer))
    }

    /// Answers an inbound call's SDP offer: returns the media (audio flows once connected) and
    /// the SDP answer.
    pub fn answer(
        audio: &AudioSystem,
        ice: &[IceServer],
        remote_offer: &str,
    ) -> Result<(CallMedia, String), MediaError> {
        CallMedia::answer_with(audio, ice, remote_offer, CallMediaOptions::default())
    }

    /// [`CallMedia::answer`] with explicit options.
    pub fn answer_with(
        audio: &AudioSystem,
        ice: &[IceServer],
        remote_offer: &str,
        options: CallMediaOptions,
    ) -> Result<(CallMedia, String), MediaError> {
        let published = Arc::default();
        let link = Arc::new(CallLink::new(options.jitter_target_ms)?);
        let (peer, answer) = Peer::answering(Arc::clone(&published), Arc::clone(&link), &options, ice, remote_offer)?;
        Ok((CallMedia::spawn(audio, peer, published, link)?, answer))
    }

    fn spawn(
        audio: &AudioSystem,
        peer: Peer,
        published: Arc<Mutex<Published>>,
        link: Arc<CallLink>,
    ) -> Result<CallMedia, MediaError> {
        let local_addr = peer.local_addr();
        let (commands, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("call-media-{}", local_addr.port()))
            .spawn(move || peer.run(receiver))?;
        let as_call_audio: Arc<dyn CallAudio> = link.clone();
        let weak: Weak<dyn CallAudio> = Arc::downgrade(&as_call_audio);
        drop(as_call_audio);
        audio.attach(weak);
        Ok(CallMedia { published, commands, thread: Some(thread), local_addr, link, _audio: audio.clone() })
    }

    /// The far end's answer to our offer. Also for early media: a 183's SDP and then the same SDP
    /// in the final answer are fine (the second is a no-op); a different second answer is
    /// [`MediaError::NoPendingOffer`].
    pub fn accept_answer(&self, sdp: &str) -> Result<(), MediaError> {
        let (reply, result) = mpsc::sync_channel(1);
        self.commands.send(Command::AcceptAnswer(sdp.to_owned(), reply)).map_err(|_| MediaError::Stopped)?;
        result.recv_timeout(COMMAND_TIMEOUT).map_err(|_| MediaError::Stopped)?
    }

    /// Mutes the microphone for this call: silence is sent (RTP keeps flowing).
    pub fn set_muted(&self, muted: bool) {
        let _ = self.commands.send(Command::SetMuted(muted));
    }

    /// Sends `greeting` (48 kHz mono, e.g. from [`crate::dsp::tones::load_wav`]) into the call
    /// instead of the microphone, once: a voicemail drop. [`CallMedia::greeting_finished`] says
    /// when it has all been sent; the microphone is not sent again.
    pub fn play_greeting(&self, greeting: Arc<[f32]>) {
        self.link.play_greeting(greeting);
    }

    /// Whether the greeting of [`CallMedia::play_greeting`] has been sent to its end.
    pub fn greeting_finished(&self) -> bool {
        self.link.greeting_finished()
    }

    /// Holds the call's audio: nothing is played, silence is sent (RTP keeps flowing, as the
    /// Telnyx SDK's hold leaves the media path to the server); unhold resumes both. The hold
    /// itself is signaled by the caller (telnyx_rtc `modify`).
    pub fn set_held(&self, held: bool) {
        self.link.set_held(held);
    }

    /// Sends `digits` as RFC 4733 telephone-events, 100 ms each with 100 ms between them, once
    /// connected. [`MediaError::InvalidDtmf`] (and nothing sent) if any character is not
    /// `0-9`, `*`, `#` or `A-D`.
    pub fn send_dtmf(&self, digits: &str) -> Result<(), MediaError> {
        let codes = digits
            .chars()
            .map(|digit| softphone_voice::dtmf::dtmf_code(digit).ok_or(MediaError::InvalidDtmf(digit)))
            .collect::<Result<Vec<_>, _>>()?;
        self.commands.send(Command::SendDtmf(codes)).map_err(|_| MediaError::Stopped)
    }

    /// Where the connection is.
    pub fn state(&self) -> MediaState {
        self.published.lock().unwrap_or_else(PoisonError::into_inner).state.clone()
    }

    /// The call's UDP socket (its loopback address).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Figures for the diagnostics page.
    pub fn stats(&self) -> MediaStats {
        let (jitter, depth) = self.link.playout().stats();
        let published = self.published.lock().unwrap_or_else(PoisonError::into_inner);
        let codec = published.codec.map(|codec| codec.name().to_owned());
        let clock = if matches!(codec.as_deref(), Some("PCMU" | "PCMA")) { 8_000.0 } else { 48_000.0 };
        let ingress = published.ingress.as_ref();
        let egress = published.egress.as_ref();
        let rtt = egress.and_then(|e| e.rtt).or_else(|| published.peer.as_ref().and_then(|p| p.rtt)).or_else(|| {
            published.peer.as_ref().and_then(|p| p.selected_candidate_pair.as_ref()?.current_round_trip_time)
        });
        let rtt_ms = rtt.map(|rtt| rtt.as_secs_f32() * 1000.0);
        let jitter_ms = ingress.map(|i| i.jitter as f32 / clock * 1000.0);
        let expected = jitter.accepted + jitter.concealed;
        let concealed_pct = if expected > 0 { jitter.concealed as f32 * 100.0 / expected as f32 } else { 0.0 };
        let reported_pct = ingress.and_then(|i| i.loss).map_or(0.0, |loss| loss * 100.0);
        let packet_loss_pct = concealed_pct.max(reported_pct);
        let mos = (published.packets_received > 0).then(|| {
            mos_estimate(
                codec.as_deref().unwrap_or("opus"),
                rtt_ms.unwrap_or(0.0),
                jitter_ms.unwrap_or(0.0),
                packet_loss_pct,
            )
        });
        MediaStats {
            codec,
            state: published.state.clone(),
            ice_state: published.ice_state.map_or_else(|| "new".to_owned(), ice_state_name),
            connect_ms: published.connected_after.map(|d| d.as_millis() as u32),
            route: published.peer.as_ref().and_then(|peer| peer.selected_candidate_pair.as_ref()).map(|pair| {
                route_kind(pair.local.addr, pair.remote.addr, published.relayed, published.nat_mapping).to_owned()
            }),
            relayed_addr: published.relayed,
            rtt_ms,
            jitter_ms,
            packet_loss_pct,
            remote_packet_loss_pct: egress.and_then(|e| e.loss).map(|loss| loss * 100.0),
            mos,
            packets_sent: published.packets_sent,
            bytes_sent: published.bytes_sent,
            packets_received: published.packets_received,
            bytes_received: published.bytes_received,
            jitter_buffer_ms: depth,
            concealed_frames: jitter.concealed,
            fec_recovered_frames: jitter.recovered,
            late_frames: jitter.late,
        }
    }
}

fn ice_state_name(state: IceConnectionState) -> String {
    match state {
        IceConnectionState::New => "new",
        IceConnectionState::Checking => "checking",
        IceConnectionState::Connected => "connected",
        IceConnectionState::Completed => "completed",
        IceConnectionState::Disconnected => "disconnected",
    }
    .to_owned()
}

impl Drop for CallMedia {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::route_kind;
    use std::net::SocketAddr;

    fn at(text: &str) -> SocketAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn the_route_is_named_from_both_ends_of_the_selected_pair() {
        let host = at("192.168.1.20:40000");
        let media_server = at("203.0.113.7:16384");
        let mapping = Some(at("198.51.100.4:61000"));
        let relayed = Some(at("203.0.113.9:50000"));
        assert_eq!(route_kind(host, media_server, None, None), "host", "a public host, no NAT");
        assert_eq!(route_kind(host, media_server, None, mapping), "srflx", "out to the internet through our NAT");
        assert_eq!(route_kind(at("203.0.113.9:50000"), media_server, relayed, mapping), "relay");
        // Both behind the same NAT: the packets never cross it.
        assert_eq!(route_kind(host, at("192.168.1.30:16384"), None, mapping), "host");
        assert_eq!(route_kind(at("127.0.0.1:40000"), at("127.0.0.1:16384"), None, mapping), "host");
        assert_eq!(route_kind(at("[fd00::2]:40000"), at("[fd00::9]:16384"), None, mapping), "host");
        assert_eq!(route_kind(at("[2001:db8::2]:40000"), at("[2001:db8:1::9]:16384"), None, mapping), "srflx");
    }
}
