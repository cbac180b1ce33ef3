//! A call's thread: one str0m `Rtc`, one UDP socket, captured audio in, received audio out.
//!
//! str0m is sans-IO: every mutation of the `Rtc` (network input, a timeout, a media write, an SDP
//! change) is followed by draining `poll_output` until it yields the next timeout
//! ([`Peer::drain`]). The loop wakes at least every [`POLL`] to encode captured audio.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::{Codec, FormatParams};
use str0m::media::{Direction, Frequency, MediaData, MediaKind, MediaTime, Mid, Pt, TelephoneEvent};
use str0m::net::{Protocol, Receive};
use str0m::stats::{MediaEgressStats, MediaIngressStats, PeerStats};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig, RtcError};

use super::playout::{CallLink, RecvCodec};
use super::turn::{self, TurnClient};
use super::{CallMediaOptions, CandidatePolicy, CodecChoice, MediaState};
use crate::dsp::g711::{alaw_encode, to_i16, ulaw_encode};
use crate::dsp::resample::StreamResampler;
use crate::{IceServer, MediaError, SAMPLE_RATE};
use softphone_voice::sdp;
use softphone_voice::sdp::audio_mid;

/// The longest the loop sleeps: how late captured audio can be picked up.
const POLL: Duration = Duration::from_millis(4);
/// Samples in one 20 ms frame at 48 kHz: what we send per RTP packet.
const FRAME_20MS: usize = 960;
/// How long a sent DTMF tone lasts, and the pause after it.
const DTMF_TONE: Duration = Duration::from_millis(100);
const DTMF_GAP: Duration = Duration::from_millis(100);
/// Payload types for telephone-event, as Chromium numbers them.
const PT_TELE_48K: u8 = 110;
const PT_TELE_8K: u8 = 126;
const RECV_BUFFER: usize = 2_000;
/// How often str0m reports statistics.
const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// What the owning [`super::CallMedia`] asks of its thread.
pub(crate) enum Command {
    AcceptAnswer(String, SyncSender<Result<(), MediaError>>),
    SetMuted(bool),
    SendDtmf(Vec<u8>),
    Stop,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::AcceptAnswer(..) => f.write_str("AcceptAnswer"),
            Command::SetMuted(muted) => write!(f, "SetMuted({muted})"),
            Command::SendDtmf(codes) => write!(f, "SendDtmf({codes:?})"),
            Command::Stop => f.write_str("Stop"),
        }
    }
}

/// The codec we send with, chosen from what both sides support (Opus first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendCodec {
    Opus(Pt),
    Pcmu(Pt),
    Pcma(Pt),
}

impl SendCodec {
    pub(crate) fn name(self) -> &'static str {
        match self {
            SendCodec::Opus(_) => "opus",
            SendCodec::Pcmu(_) => "PCMU",
            SendCodec::Pcma(_) => "PCMA",
        }
    }
}

/// What the thread publishes for [`super::CallMedia::stats`] and [`super::CallMedia::state`].
#[derive(Debug, Default)]
pub(crate) struct Published {
    pub(crate) state: MediaState,
    pub(crate) ice_state: Option<IceConnectionState>,
    pub(crate) codec: Option<SendCodec>,
    pub(crate) peer: Option<PeerStats>,
    pub(crate) ingress: Option<MediaIngressStats>,
    pub(crate) egress: Option<MediaEgressStats>,
    pub(crate) packets_sent: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) packets_received: u64,
    pub(crate) bytes_received: u64,
    pub(crate) connected_after: Option<Duration>,
    /// Our TURN relayed address, when the call has one.
    pub(crate) relayed: Option<SocketAddr>,
    /// Where our NAT maps us, when STUN saw us at an address that is none of our own.
    pub(crate) nat_mapping: Option<SocketAddr>,
}

pub(crate) struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    local_addr: SocketAddr,
    /// The non-loopback address our host candidate announces, if any.
    interface_addr: Option<SocketAddr>,
    /// The TURN allocation carrying the relayed candidate's traffic, if there is one.
    turn: Option<TurnClient>,
    /// Datagrams for the TURN server, reused.
    turn_out: Vec<Vec<u8>>,
    published: Arc<Mutex<Published>>,
    link: Arc<CallLink>,
    audio_mid: Option<Mid>,
    pending_offer: Option<SdpPendingOffer>,
    accepted_answer: Option<String>,
    send_codec: Option<SendCodec>,
    encoder: opus::Encoder,
    /// The loss the encoder plans its in-band FEC for, in percent (see [`expected_loss_pct`]).
    expected_loss_pct: i32,
    downsample: StreamResampler,
    narrow: Vec<f32>,
    frame: Vec<f32>,
    muted: bool,
    /// RTP time of the next frame we send, in the send codec's clock.
    media_time: u64,
    rtc_deadline: Instant,
    dtmf_queue: VecDeque<u8>,
    next_dtmf: Instant,
    connected: bool,
    created: Instant,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("local_addr", &self.local_addr)
            .field("audio_mid", &self.audio_mid)
            .field("send_codec", &self.send_codec)
            .finish_non_exhaustive()
    }
}

fn webrtc(error: RtcError) -> MediaError {
    MediaError::Webrtc(error.to_string())
}

fn candidate_error(error: impl std::fmt::Display) -> MediaError {
    MediaError::Webrtc(format!("ICE candidate: {error}"))
}

fn sdp_error(error: RtcError) -> MediaError {
    match error {
        RtcError::RemoteSdp(reason) => MediaError::InvalidSdp(reason),
        RtcError::Sdp(error) => MediaError::InvalidSdp(error.to_string()),
        other => webrtc(other),
    }
}

/// Opus at 48 kHz, PCMU and PCMA as `codecs` allows, in the SDK's order, each clock rate with
/// its telephone-event.
fn rtc_config(codecs: CodecChoice) -> RtcConfig {
    let mut config = RtcConfig::new()
        .clear_codecs()
        .set_stats_interval(Some(STATS_INTERVAL))
        // Our jitter buffer reorders; str0m should hand frames over as they arrive.
        .set_reordering_size_audio(0);
    let opus = matches!(codecs, CodecChoice::OpusAndG711 | CodecChoice::OpusOnly);
    let pcmu = matches!(codecs, CodecChoice::OpusAndG711 | CodecChoice::PcmuOnly);
    let pcma = matches!(codecs, CodecChoice::OpusAndG711 | CodecChoice::PcmaOnly);
    config = config.enable_opus(opus, false).enable_pcmu(pcmu, false).enable_pcma(pcma, false);
    let mut tele = Vec::new();
    if opus {
        tele.push((PT_TELE_48K, Frequency::FORTY_EIGHT_KHZ));
    }
    if pcmu || pcma {
        tele.push((PT_TELE_8K, Frequency::EIGHT_KHZ));
    }
    for (pt, rate) in tele {
        config.codec_config().add_config(
            pt.into(),
            None,
            Codec::Tele,
            rate,
            None,
            FormatParams { telephone_event_max: Some(15), ..FormatParams::default() },
        );
    }
    config
}

/// True when the SDP carries candidates and every one is on a loopback address.
fn offers_loopback_only(sdp: &str) -> bool {
    let mut addresses = sdp
        .lines()
        .filter_map(|line| line.trim().strip_prefix("a=candidate:"))
        .filter_map(|candidate| candidate.split_whitespace().nth(4))
        .peekable();
    addresses.peek().is_some() && addresses.all(|address| address.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()))
}

/// The address of the interface that routes to the internet (no packet is sent), if any.
fn interface_ip() -> Option<IpAddr> {
    let probe = UdpSocket::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))).ok()?;
    probe.connect(SocketAddr::from(([8, 8, 8, 8], 53))).ok()?;
    let ip = probe.local_addr().ok()?.ip();
    (!ip.is_unspecified() && !ip.is_loopback()).then_some(ip)
}

impl Peer {
    /// A fresh `Rtc` on a new UDP socket, with host candidates and what the ICE servers gave
    /// (a server-reflexive and a relayed candidate), as `options.candidates` says.
    fn new(
        published: Arc<Mutex<Published>>,
        link: Arc<CallLink>,
        options: &CallMediaOptions,
        ice: &[IceServer],
    ) -> Result<Peer, MediaError> {
        let relay_only = options.candidates == CandidatePolicy::RelayOnly;
        let loopback_only = match options.candidates {
            CandidatePolicy::Auto => ice.is_empty(),
            CandidatePolicy::LoopbackOnly => true,
            CandidatePolicy::AllInterfaces | CandidatePolicy::RelayOnly => false,
        };
        let interface = if loopback_only { None } else { interface_ip() };
        let bind_ip = if interface.is_some() || relay_only {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        };
        let socket = UdpSocket::bind(SocketAddr::new(bind_ip, 0))?;
        let port = socket.local_addr()?.port();
        let local_addr = SocketAddr::from(([127, 0, 0, 1], port));
        let interface_addr = interface.map(|ip| SocketAddr::new(ip, port));
        let gathered = if loopback_only || ice.is_empty() {
            turn::Gathered::default()
        } else {
            turn::gather(&socket, ice, turn::GATHER_BUDGET)
        };
        for problem in &gathered.problems {
            tracing::warn!(%problem, "ICE server gave no candidate");
        }
        if relay_only && gathered.relay.is_none() {
            let why = if gathered.problems.is_empty() {
                "no TURN server is configured".to_owned()
            } else {
                gathered.problems.join("; ")
            };
            return Err(MediaError::NoRelay(why));
        }
        let now = Instant::now();
        let mut rtc = rtc_config(options.codecs).build(now);
        if !relay_only {
            for addr in interface_addr.into_iter().chain([local_addr]) {
                rtc.add_local_candidate(Candidate::host(addr, "udp").map_err(candidate_error)?);
            }
            // A reflexive address that is one of our own is no candidate of its own.
            if let Some(mapped) = gathered.server_reflexive
                && Some(mapped) != interface_addr
                && mapped != local_addr
            {
                let base = interface_addr.unwrap_or(local_addr);
                rtc.add_local_candidate(Candidate::server_reflexive(mapped, base, "udp").map_err(candidate_error)?);
            }
        }
        if let Some(relay) = &gathered.relay {
            let local = relay.tcp_local_addr().unwrap_or(if relay.server().ip().is_loopback() {
                local_addr
            } else {
                interface_addr.unwrap_or(local_addr)
            });
            rtc.add_local_candidate(Candidate::relayed(relay.relayed(), local, "udp").map_err(candidate_error)?);
            tracing::debug!(relayed = %relay.relayed(), server = %relay.server(), "TURN relay allocated");
        }
        {
            let mut published = published.lock().unwrap_or_else(PoisonError::into_inner);
            published.relayed = gathered.relay.as_ref().map(TurnClient::relayed);
            // Only a mapping that is none of our own addresses is a NAT's.
            published.nat_mapping =
                gathered.server_reflexive.filter(|&mapped| Some(mapped) != interface_addr && mapped != local_addr);
        }
        let mut encoder = opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)
            .map_err(|e| MediaError::Codec(e.to_string()))?;
        encoder.set_inband_fec(true).map_err(|e| MediaError::Codec(e.to_string()))?;
        // libopus sends no redundancy while it expects no loss: plan for some from the start.
        let expected_loss = expected_loss_pct(None);
        encoder.set_packet_loss_perc(expected_loss).map_err(|e| MediaError::Codec(e.to_string()))?;
        let mut peer = Peer {
            rtc,
            socket,
            local_addr,
            interface_addr,
            turn: gathered.relay,
            turn_out: Vec::new(),
            published,
            link,
            audio_mid: None,
            pending_offer: None,
            accepted_answer: None,
            send_codec: None,
            encoder,
            expected_loss_pct: expected_loss,
            downsample: StreamResampler::new(SAMPLE_RATE, 8_000)?,
            narrow: Vec::new(),
            frame: vec![0.0; FRAME_20MS],
            muted: false,
            media_time: 0,
            rtc_deadline: now,
            dtmf_queue: VecDeque::new(),
            next_dtmf: now,
            connected: false,
            created: now,
        };
        peer.drain()?;
        Ok(peer)
    }

    /// Answers a remote offer; the answer carries our host candidates.
    pub(crate) fn answering(
        published: Arc<Mutex<Published>>,
        link: Arc<CallLink>,
        options: &CallMediaOptions,
        ice: &[IceServer],
        offer_sdp: &str,
    ) -> Result<(Peer, String), MediaError> {
        let offer = SdpOffer::from_sdp_string(&sdp::offer_for_active_answer(offer_sdp))
            .map_err(|e| MediaError::InvalidSdp(e.to_string()))?;
        if !offer_sdp.lines().any(|line| line.starts_with("m=audio")) {
            return Err(MediaError::NoAudio);
        }
        // A peer on this machine (the simulator) reaches loopback only; announcing the interface
        // candidate too (one socket serves both) left ICE without a working pair when we answer.
        let ice =
            if options.candidates != CandidatePolicy::RelayOnly && offers_loopback_only(offer_sdp) { &[] } else { ice };
        let mut peer = Peer::new(published, link, options, ice)?;
        let answer = peer.rtc.sdp_api().accept_offer(offer).map_err(sdp_error)?;
        peer.drain()?;
        // str0m announces remote media (Event::MediaAdded) only once SRTP is up; the mid is in the
        // offer already.
        peer.audio_mid = audio_mid(offer_sdp).map(Mid::from);
        peer.choose_codec()?;
        Ok((peer, sdp::with_default_destination(&answer.to_sdp_string())))
    }

    /// Offers one send-receive audio m-line with our host candidates.
    pub(crate) fn offering(
        published: Arc<Mutex<Published>>,
        link: Arc<CallLink>,
        options: &CallMediaOptions,
        ice: &[IceServer],
    ) -> Result<(Peer, String), MediaError> {
        let mut peer = Peer::new(published, link, options, ice)?;
        let mut change = peer.rtc.sdp_api();
        let mid = change.add_media(
            MediaKind::Audio,
            Direction::SendRecv,
            Some("softphone".to_owned()),
            Some("softphone-audio".to_owned()),
            None,
        );
        let (offer, pending) = change.apply().ok_or_else(|| MediaError::Webrtc("empty offer".to_owned()))?;
        peer.drain()?;
        peer.audio_mid = Some(mid);
        peer.pending_offer = Some(pending);
        Ok((peer, sdp::with_default_destination(&offer.to_sdp_string())))
    }

    fn accept_answer(&mut self, answer_sdp: &str) -> Result<(), MediaError> {
        let Some(pending) = self.pending_offer.take() else {
            // Early media (183) then the final answer carry the same SDP: take it once.
            return if self.accepted_answer.as_deref().map(str::trim) == Some(answer_sdp.trim()) {
                Ok(())
            } else {
                Err(MediaError::NoPendingOffer)
            };
        };
        let answer = match SdpAnswer::from_sdp_string(answer_sdp) {
            Ok(answer) => answer,
            Err(error) => {
                self.pending_offer = Some(pending);
                return Err(MediaError::InvalidSdp(error.to_string()));
            }
        };
        let accepted = self.rtc.sdp_api().accept_answer(pending, answer);
        self.drain()?;
        accepted.map_err(sdp_error)?;
        self.accepted_answer = Some(answer_sdp.to_owned());
        self.choose_codec()
    }

    /// Picks the send codec from the negotiated payload types: Opus if the remote has it, else
    /// PCMU, else PCMA.
    fn choose_codec(&mut self) -> Result<(), MediaError> {
        let mid = self.audio_mid.ok_or(MediaError::NoAudio)?;
        let writer = self.rtc.writer(mid).ok_or(MediaError::NoAudio)?;
        let params: Vec<_> = writer.payload_params().map(|p| (p.spec().codec, p.pt())).collect();
        let opus = params.iter().find(|(codec, _)| *codec == Codec::Opus).map(|&(_, pt)| SendCodec::Opus(pt));
        let pcmu = params.iter().find(|(codec, _)| *codec == Codec::PCMU).map(|&(_, pt)| SendCodec::Pcmu(pt));
        let pcma = params.iter().find(|(codec, _)| *codec == Codec::PCMA).map(|&(_, pt)| SendCodec::Pcma(pt));
        let codec = opus.or(pcmu).or(pcma).ok_or(MediaError::NoAudio)?;
        self.send_codec = Some(codec);
        self.published().codec = Some(codec);
        tracing::debug!(?codec, local = %self.local_addr, "call media negotiated");
        Ok(())
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    fn published(&self) -> MutexGuard<'_, Published> {
        self.published.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drains `poll_output` to the next timeout: sends what is to be sent, handles events.
    fn drain(&mut self) -> Result<(), MediaError> {
        loop {
            match self.rtc.poll_output().map_err(webrtc)? {
                Output::Timeout(deadline) => {
                    self.rtc_deadline = deadline;
                    return Ok(());
                }
                Output::Transmit(transmit) => match &mut self.turn {
                    Some(turn) if transmit.source == turn.relayed() => {
                        turn.wrap(transmit.destination, &transmit.contents, Instant::now(), &mut self.turn_out);
                        self.send_to_turn();
                    }
                    _ => {
                        if let Err(error) = self.socket.send_to(&transmit.contents, transmit.destination) {
                            tracing::debug!(%error, to = %transmit.destination, "call media send failed");
                        }
                    }
                },
                Output::Event(event) => self.on_event(event),
            }
        }
    }

    /// Sends what the TURN client has queued for its server.
    fn send_to_turn(&mut self) {
        let Some(turn) = &mut self.turn else { return };
        for message in self.turn_out.drain(..) {
            turn.transmit(&self.socket, &message);
        }
    }

    /// A message from the TURN server: a peer's packet in a Data indication goes to str0m as if
    /// received on the relayed address; an answer to one of our requests is the client's.
    fn on_turn_message(&mut self, bytes: &[u8]) -> Result<(), MediaError> {
        let Some(turn) = &mut self.turn else { return Ok(()) };
        let unwrapped = turn.on_server_datagram(bytes, Instant::now(), &mut self.turn_out);
        let relayed = turn.relayed();
        self.send_to_turn();
        match unwrapped {
            Some((peer, data)) => self.receive(peer, relayed, &data),
            None => Ok(()),
        }
    }

    /// A packet from `source` that arrived on our candidate `destination`, to str0m.
    fn receive(&mut self, source: SocketAddr, destination: SocketAddr, bytes: &[u8]) -> Result<(), MediaError> {
        let Ok(contents) = bytes.try_into() else {
            return Ok(());
        };
        let input = Input::Receive(Instant::now(), Receive { proto: Protocol::Udp, source, destination, contents });
        if self.rtc.accepts(&input) {
            if let Err(error) = self.rtc.handle_input(input) {
                tracing::debug!(%error, "call media input rejected");
            }
            self.drain()?;
        }
        Ok(())
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Connected => {
                let now = Instant::now();
                self.connected = true;
                self.link.discard_captured();
                let mut published = self.published();
                published.state = MediaState::Connected;
                published.connected_after = Some(now - self.created);
                tracing::debug!(after = ?now - self.created, local = %self.local_addr, "call media connected");
            }
            Event::IceConnectionStateChange(ice) => {
                let mut published = self.published();
                published.ice_state = Some(ice);
                match ice {
                    IceConnectionState::Disconnected if published.state == MediaState::Connected => {
                        published.state = MediaState::Disconnected;
                    }
                    IceConnectionState::Connected | IceConnectionState::Completed
                        if published.state == MediaState::Disconnected =>
                    {
                        published.state = MediaState::Connected;
                    }
                    _ => {}
                }
            }
            Event::Closed => self.published().state = MediaState::Closed,
            Event::MediaAdded(added) if added.kind == MediaKind::Audio => {
                self.audio_mid.get_or_insert(added.mid);
            }
            Event::MediaData(data) => self.on_media(data),
            Event::PeerStats(stats) => self.published().peer = Some(stats),
            Event::MediaIngressStats(stats) => self.published().ingress = Some(stats),
            Event::MediaEgressStats(stats) => {
                // The far end's reports of our loss size the redundancy we send.
                let expected = expected_loss_pct(stats.loss);
                if expected != self.expected_loss_pct && self.encoder.set_packet_loss_perc(expected).is_ok() {
                    tracing::debug!(expected, "opus FEC planned for this loss");
                    self.expected_loss_pct = expected;
                }
                self.published().egress = Some(stats);
            }
            _ => {}
        }
    }

    fn on_media(&mut self, data: MediaData) {
        {
            let mut published = self.published();
            published.packets_received += 1;
            published.bytes_received += data.data.len() as u64;
        }
        let codec = match data.params.spec().codec {
            Codec::Opus => RecvCodec::Opus,
            Codec::PCMU => RecvCodec::Pcmu,
            Codec::PCMA => RecvCodec::Pcma,
            _ => return,
        };
        if self.link.is_held() {
            return;
        }
        self.link.playout().push(codec, data.time.numer(), data.data);
    }

    /// Encodes and writes one 20 ms frame of captured audio (or of a `greeting`, which mute does
    /// not silence), with a DTMF event on it when one is due.
    fn send_frame(&mut self, now: Instant, greeting: bool) -> Result<(), MediaError> {
        let (Some(mid), Some(codec)) = (self.audio_mid, self.send_codec) else {
            return Ok(());
        };
        if (self.muted && !greeting) || self.link.is_held() {
            self.frame.fill(0.0);
        }
        let (pt, payload, rate, step) = match codec {
            SendCodec::Opus(pt) => {
                let mut out = vec![0u8; 1_500];
                let len =
                    self.encoder.encode_float(&self.frame, &mut out).map_err(|e| MediaError::Codec(e.to_string()))?;
                out.truncate(len);
                (pt, out, Frequency::FORTY_EIGHT_KHZ, FRAME_20MS as u64)
            }
            SendCodec::Pcmu(pt) | SendCodec::Pcma(pt) => {
                self.downsample.process(&self.frame, &mut self.narrow)?;
                // The resampler's first output comes a little late: send whole 20 ms only.
                if self.narrow.len() < 160 {
                    return Ok(());
                }
                let encode = if matches!(codec, SendCodec::Pcmu(_)) { ulaw_encode } else { alaw_encode };
                let bytes: Vec<u8> = self.narrow.drain(..160).map(|s| encode(to_i16(s))).collect();
                (pt, bytes, Frequency::EIGHT_KHZ, 160)
            }
        };
        let time = MediaTime::new(self.media_time, rate);
        self.media_time += step;
        let dtmf = if now >= self.next_dtmf { self.dtmf_queue.front().copied() } else { None };
        let Some(writer) = self.rtc.writer(mid) else {
            return Ok(());
        };
        let bytes = payload.len() as u64;
        let written = match dtmf {
            Some(event) => {
                let tone = TelephoneEvent { event, end: true, volume: 10, duration: DTMF_TONE };
                let result = writer.telephone_event(tone).write(pt, now, time, payload.clone());
                // Whatever happened to the tone, it is not tried again.
                self.dtmf_queue.pop_front();
                self.next_dtmf = now + DTMF_TONE + DTMF_GAP;
                match result {
                    Ok(()) => Ok(()),
                    Err(error) => {
                        tracing::warn!(%error, "DTMF not sent");
                        self.drain()?;
                        let writer = self.rtc.writer(mid).ok_or(MediaError::NoAudio)?;
                        writer.write(pt, now, time, payload)
                    }
                }
            }
            None => writer.write(pt, now, time, payload),
        };
        match written {
            Ok(()) => {
                let mut published = self.published();
                published.packets_sent += 1;
                published.bytes_sent += bytes;
            }
            Err(error) => tracing::debug!(%error, "media frame not written"),
        }
        self.drain()
    }

    /// Runs until [`Command::Stop`], the owner going away, or the `Rtc` dying.
    pub(crate) fn run(mut self, commands: Receiver<Command>) {
        if let Err(error) = self.run_loop(&commands) {
            tracing::warn!(%error, local = %self.local_addr, "call media stopped");
            self.published().state = MediaState::Failed { reason: error.to_string() };
            return;
        }
        let mut published = self.published();
        if !matches!(published.state, MediaState::Failed { .. }) {
            published.state = MediaState::Closed;
        }
    }

    fn run_loop(&mut self, commands: &Receiver<Command>) -> Result<(), MediaError> {
        let mut buf = vec![0u8; RECV_BUFFER];
        loop {
            loop {
                match commands.try_recv() {
                    Ok(Command::AcceptAnswer(sdp, reply)) => {
                        let _ = reply.send(self.accept_answer(&sdp));
                    }
                    Ok(Command::SetMuted(muted)) => self.muted = muted,
                    Ok(Command::SendDtmf(codes)) => self.dtmf_queue.extend(codes),
                    Ok(Command::Stop) | Err(TryRecvError::Disconnected) => {
                        let _ = self.rtc.close();
                        let drained = self.drain();
                        if let Some(turn) = &mut self.turn {
                            let release = turn.release();
                            self.turn_out.push(release);
                            self.send_to_turn();
                        }
                        return drained;
                    }
                    Err(TryRecvError::Empty) => break,
                }
            }
            if !self.rtc.is_alive() {
                return Ok(());
            }

            let now = Instant::now();
            if let Some(turn) = &mut self.turn {
                turn.on_timer(now, &mut self.turn_out);
                let messages = turn.read_stream();
                self.send_to_turn();
                for message in messages {
                    self.on_turn_message(&message)?;
                }
            }
            if self.connected {
                let mut frame = std::mem::take(&mut self.frame);
                let ready = self.link.take_captured(&mut frame);
                // A greeting being dropped replaces the microphone (the capture still paces it).
                let greeting = ready && self.link.greeting_frame(&mut frame);
                self.frame = frame;
                if ready {
                    self.send_frame(now, greeting)?;
                    continue;
                }
            } else {
                self.link.discard_captured();
            }
            if now >= self.rtc_deadline {
                self.rtc.handle_input(Input::Timeout(now)).map_err(webrtc)?;
                self.drain()?;
                continue;
            }

            let wake = self.rtc_deadline.min(now + POLL);
            let wait = wake.saturating_duration_since(now).max(Duration::from_millis(1));
            self.socket.set_read_timeout(Some(wait))?;
            match self.socket.recv_from(&mut buf) {
                Ok((len, source)) => {
                    if self.turn.as_ref().is_some_and(|turn| turn.over_udp() && source == turn.server()) {
                        self.on_turn_message(&buf[..len])?;
                        continue;
                    }
                    // One socket serves both host candidates: a packet from loopback came to the
                    // loopback candidate, anything else to the interface's.
                    let destination = match self.interface_addr {
                        Some(interface) if !source.ip().is_loopback() => interface,
                        _ => self.local_addr,
                    };
                    self.receive(source, destination, &buf[..len])?;
                }
                Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                // ICMP port unreachable from a peer that went away shows up here on Linux.
                Err(error) if error.kind() == ErrorKind::ConnectionRefused => {}
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// The least loss the encoder plans FEC for, in percent: the first loss of a call is covered.
const FEC_FLOOR_PCT: i32 = 5;
/// The most: beyond it the redundancy costs more of the bitrate than it saves.
const FEC_CEILING_PCT: i32 = 25;

/// The packet loss (percent) to tell the Opus encoder to expect, from the far end's latest report
/// of our loss (a fraction, RTCP): what it reports, rounded up, within the floor and the ceiling.
fn expected_loss_pct(reported: Option<f32>) -> i32 {
    let reported = reported.filter(|loss| loss.is_finite()).map_or(0, |loss| (loss * 100.0).ceil() as i32);
    reported.clamp(FEC_FLOOR_PCT, FEC_CEILING_PCT)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fec_plans_for_the_reported_loss_within_a_floor_and_a_ceiling() {
        for (reported, expected) in [
            (None, 5),
            (Some(0.0), 5),
            (Some(0.031), 5),
            (Some(0.07), 7),
            (Some(0.201), 21),
            (Some(0.6), 25),
            (Some(f32::NAN), 5),
            (Some(-1.0), 5),
        ] {
            assert_eq!(super::expected_loss_pct(reported), expected, "{reported:?}");
        }
    }

    #[test]
    fn loopback_only_offers_are_recognised() {
        let local = "v=0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\r\n";
        let mixed = "a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\na=candidate:2 1 udp 2130706175 \
                     192.0.2.2 50000 typ host\n";
        assert!(super::offers_loopback_only(local));
        assert!(!super::offers_loopback_only(mixed));
        assert!(!super::offers_loopback_only("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"), "no candidates");
    }
}
