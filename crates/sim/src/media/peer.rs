//! The peer's thread: one str0m `Rtc`, one loopback UDP socket, a 20 ms send clock.
//!
//! str0m is sans-IO: every mutation of the `Rtc` (network input, a timeout, a media write, an SDP
//! change) is followed by draining `poll_output` until it yields the next timeout. [`Peer::drain`]
//! is that drain; everything else here is one mutation followed by it.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::{Codec, CodecExtra, FormatParams};
use str0m::media::{Direction, Frequency, MediaData, MediaKind, MediaTime, Mid, Pt, TelephoneEvent};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig, RtcError};

use softphone_voice::dtmf::{dtmf_code, dtmf_digit};
use softphone_voice::sdp::{self, audio_mid};

use super::audio::{self, ECHO_MAX, FRAME, Source};
use super::{DtlsAnswerRole, FarEnd, FarEndCodecs, MediaError, Shared};

/// The send cadence.
const FRAME_INTERVAL: Duration = Duration::from_millis(20);
/// The longest the loop sleeps before looking at its command queue.
const COMMAND_LATENCY: Duration = Duration::from_millis(10);
/// How long a sent DTMF tone lasts, and the pause after it.
const DTMF_TONE: Duration = Duration::from_millis(100);
const DTMF_GAP: Duration = Duration::from_millis(100);
/// Payload types we offer for telephone-event, as Chromium numbers them.
const PT_TELE_48K: u8 = 110;
const PT_TELE_8K: u8 = 126;
/// Opus never produces frames longer than 120 ms.
const OPUS_MAX_FRAME: usize = 5_760;
const RECV_BUFFER: usize = 2_000;

/// What the owning [`super::MediaSession`] asks of its thread.
pub(crate) enum Command {
    AcceptAnswer(String, SyncSender<Result<(), MediaError>>),
    SetPlayback(Source),
    SetSending(bool),
    RelayInto(Option<super::AudioPipe>),
    PlayToParty(Option<Source>),
    SendDtmf(String),
    Stop,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::AcceptAnswer(..) => f.write_str("AcceptAnswer"),
            Command::SetPlayback(source) => write!(f, "SetPlayback({source:?})"),
            Command::SetSending(sending) => write!(f, "SetSending({sending})"),
            Command::RelayInto(pipe) => write!(f, "RelayInto({})", pipe.is_some()),
            Command::PlayToParty(source) => write!(f, "PlayToParty({source:?})"),
            Command::SendDtmf(digits) => write!(f, "SendDtmf({digits:?})"),
            Command::Stop => f.write_str("Stop"),
        }
    }
}

/// The codec we send with, chosen from what both sides support (Opus first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SendCodec {
    Opus(Pt),
    Pcmu(Pt),
    Pcma(Pt),
}

pub(crate) struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    local_addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    source: Source,
    /// Decoded audio waiting to be sent back by [`Source::Echo`], at 48 kHz.
    echo: VecDeque<f32>,
    audio_mid: Option<Mid>,
    pending_offer: Option<SdpPendingOffer>,
    send_codec: Option<SendCodec>,
    encoder: opus::Encoder,
    decoder: opus::Decoder,
    /// The last sample of the previous PCMU frame, for interpolation to 48 kHz.
    pcmu_last: f32,
    /// RTP time of the next frame we send, in the send codec's clock.
    media_time: u64,
    next_frame: Instant,
    rtc_deadline: Instant,
    /// The RTP timestamp of the last telephone-event seen: one event, many packets.
    last_dtmf_event: Option<u64>,
    dtmf_queue: VecDeque<u8>,
    next_dtmf: Instant,
    connected_since: Option<Instant>,
    created: Instant,
    /// Held by the client's SDP: no RTP goes out ([`super::MediaSession::set_sending`]).
    paused: bool,
    /// Where received audio also goes ([`super::MediaSession::relay_into`]).
    relay: Option<super::AudioPipe>,
    /// What Telnyx plays to the far party besides the softphone's voice
    /// ([`super::MediaSession::play_to_party`]).
    to_party: Option<Source>,
    /// Phase of the recording beep's tone.
    beep_phase: f32,
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

fn sdp_error(error: RtcError) -> MediaError {
    match error {
        RtcError::RemoteSdp(reason) => MediaError::InvalidSdp(reason),
        RtcError::Sdp(error) => MediaError::InvalidSdp(error.to_string()),
        other => webrtc(other),
    }
}

/// Opus at 48 kHz, PCMU and PCMA (or only PCMA), each clock rate with its telephone-event;
/// ICE-lite if the far end is. An offer with none of its codecs gets [`MediaError::NoAudio`].
fn rtc_config(far_end: FarEnd) -> RtcConfig {
    let all = far_end.codecs == FarEndCodecs::All;
    let mut config = RtcConfig::new()
        .clear_codecs()
        .set_ice_lite(far_end.ice_lite)
        .enable_opus(all, false)
        .enable_pcmu(all, false)
        .enable_pcma(true, false);
    let mut tele = vec![(PT_TELE_8K, Frequency::EIGHT_KHZ)];
    if all {
        tele.insert(0, (PT_TELE_48K, Frequency::FORTY_EIGHT_KHZ));
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

impl Peer {
    /// A fresh `Rtc` with a host candidate on a new socket on the far end's address (127.0.0.1
    /// unless the simulator serves media elsewhere).
    fn new(shared: Arc<Mutex<Shared>>, source: Source, far_end: FarEnd) -> Result<Peer, MediaError> {
        let ip = far_end.address.unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
        let socket = UdpSocket::bind(SocketAddr::new(ip, 0))?;
        let local_addr = socket.local_addr()?;
        let now = Instant::now();
        let mut rtc = rtc_config(far_end).build(now);
        let candidate = Candidate::host(local_addr, "udp").map_err(|e| MediaError::Webrtc(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        let encoder = opus::Encoder::new(audio::RATE, opus::Channels::Mono, opus::Application::Audio)
            .map_err(|e| MediaError::Codec(e.to_string()))?;
        let decoder =
            opus::Decoder::new(audio::RATE, opus::Channels::Mono).map_err(|e| MediaError::Codec(e.to_string()))?;
        let mut peer = Peer {
            rtc,
            socket,
            local_addr,
            shared,
            source,
            echo: VecDeque::new(),
            audio_mid: None,
            pending_offer: None,
            send_codec: None,
            encoder,
            decoder,
            pcmu_last: 0.0,
            media_time: 0,
            next_frame: now,
            rtc_deadline: now,
            last_dtmf_event: None,
            dtmf_queue: VecDeque::new(),
            next_dtmf: now,
            connected_since: None,
            created: now,
            paused: false,
            relay: None,
            to_party: None,
            beep_phase: 0.0,
        };
        peer.drain()?;
        Ok(peer)
    }

    /// Answers a remote offer. The answer carries our host candidate.
    pub(crate) fn answering(
        shared: Arc<Mutex<Shared>>,
        source: Source,
        far_end: FarEnd,
        offer_sdp: &str,
    ) -> Result<(Peer, String), MediaError> {
        // str0m answers `actpass` as `passive`; told the offerer is passive, it takes `active`.
        let read_as = match far_end.dtls_answer {
            DtlsAnswerRole::Active => sdp::offer_for_active_answer(offer_sdp),
            DtlsAnswerRole::Passive => offer_sdp.to_owned(),
        };
        let offer = SdpOffer::from_sdp_string(&read_as).map_err(|e| MediaError::InvalidSdp(e.to_string()))?;
        if !offer_sdp.lines().any(|line| line.starts_with("m=audio")) {
            return Err(MediaError::NoAudio);
        }
        let mut peer = Peer::new(shared, source, far_end)?;
        let answer = peer.rtc.sdp_api().accept_offer(offer).map_err(sdp_error)?;
        peer.drain()?;
        // str0m announces remote media (Event::MediaAdded) only once SRTP is up; the mid is in the
        // offer already.
        peer.audio_mid = audio_mid(offer_sdp).map(Mid::from);
        peer.choose_codec()?;
        let answer = sdp::with_default_destination(&answer.to_sdp_string());
        Ok((peer, answer))
    }

    /// Offers one send-receive audio m-line with our host candidate.
    pub(crate) fn offering(
        shared: Arc<Mutex<Shared>>,
        source: Source,
        far_end: FarEnd,
    ) -> Result<(Peer, String), MediaError> {
        let mut peer = Peer::new(shared, source, far_end)?;
        let mut change = peer.rtc.sdp_api();
        let mid = change.add_media(
            MediaKind::Audio,
            Direction::SendRecv,
            Some("softphone-sim".to_owned()),
            Some("softphone-sim-audio".to_owned()),
            None,
        );
        let (offer, pending) = change.apply().ok_or_else(|| MediaError::Webrtc("empty offer".to_owned()))?;
        peer.drain()?;
        peer.audio_mid = Some(mid);
        peer.pending_offer = Some(pending);
        let offer = sdp::with_default_destination(&offer.to_sdp_string());
        Ok((peer, offer))
    }

    fn accept_answer(&mut self, answer_sdp: &str) -> Result<(), MediaError> {
        let answer = SdpAnswer::from_sdp_string(answer_sdp).map_err(|e| MediaError::InvalidSdp(e.to_string()))?;
        let pending = self.pending_offer.take().ok_or(MediaError::NoPendingOffer)?;
        let accepted = self.rtc.sdp_api().accept_answer(pending, answer);
        self.drain()?;
        accepted.map_err(sdp_error)?;
        self.choose_codec()
    }

    /// Picks the send codec from the negotiated payload types: Opus if the remote has it, else PCMU.
    fn choose_codec(&mut self) -> Result<(), MediaError> {
        let mid = self.audio_mid.ok_or(MediaError::NoAudio)?;
        let writer = self.rtc.writer(mid).ok_or(MediaError::NoAudio)?;
        let params: Vec<_> = writer.payload_params().map(|p| (p.spec().codec, p.pt())).collect();
        let opus = params.iter().find(|(codec, _)| *codec == Codec::Opus).map(|&(_, pt)| SendCodec::Opus(pt));
        let pcmu = params.iter().find(|(codec, _)| *codec == Codec::PCMU).map(|&(_, pt)| SendCodec::Pcmu(pt));
        let pcma = params.iter().find(|(codec, _)| *codec == Codec::PCMA).map(|&(_, pt)| SendCodec::Pcma(pt));
        self.send_codec = Some(opus.or(pcmu).or(pcma).ok_or(MediaError::NoAudio)?);
        tracing::debug!(codec = ?self.send_codec, local = %self.local_addr, "media peer negotiated");
        Ok(())
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drains `poll_output` to the next timeout: sends what is to be sent, handles events.
    fn drain(&mut self) -> Result<(), MediaError> {
        loop {
            match self.rtc.poll_output().map_err(webrtc)? {
                Output::Timeout(deadline) => {
                    self.rtc_deadline = deadline;
                    return Ok(());
                }
                Output::Transmit(transmit) => {
                    if let Err(error) = self.socket.send_to(&transmit.contents, transmit.destination) {
                        tracing::debug!(%error, to = %transmit.destination, "media peer send failed");
                    }
                }
                Output::Event(event) => self.on_event(event),
            }
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Connected => {
                let now = Instant::now();
                self.connected_since = Some(now);
                self.next_frame = now;
                self.shared().connected = true;
                tracing::debug!(after = ?now - self.created, local = %self.local_addr, "media peer connected");
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) | Event::Closed => {
                self.shared().connected = false;
            }
            Event::MediaAdded(added) if added.kind == MediaKind::Audio => {
                self.audio_mid.get_or_insert(added.mid);
            }
            Event::MediaData(data) => self.on_media(data),
            _ => {}
        }
    }

    fn on_media(&mut self, data: MediaData) {
        let pcm: Vec<f32> = match data.params.spec().codec {
            Codec::Opus => {
                let mut out = vec![0.0; OPUS_MAX_FRAME];
                match self.decoder.decode_float(&data.data, &mut out, false) {
                    Ok(samples) => {
                        out.truncate(samples);
                        out
                    }
                    Err(error) => {
                        tracing::debug!(%error, "opus frame not decoded");
                        return;
                    }
                }
            }
            Codec::PCMU | Codec::PCMA => {
                let decode =
                    if data.params.spec().codec == Codec::PCMU { audio::ulaw_decode } else { audio::alaw_decode };
                let narrow: Vec<f32> = data.data.iter().map(|&b| audio::from_i16(decode(b))).collect();
                audio::interpolate(&narrow, &mut self.pcmu_last)
            }
            Codec::Tele => {
                if let CodecExtra::Tele(event) = data.codec_extra {
                    self.on_telephone_event(data.time.numer(), event, data.data.len());
                }
                return;
            }
            _ => return,
        };
        if let Some(relay) = &self.relay {
            relay.push(&pcm);
        }
        self.echo.extend(pcm.iter().copied());
        if self.echo.len() > ECHO_MAX {
            let excess = self.echo.len() - ECHO_MAX;
            self.echo.drain(..excess);
        }
        let narrow = audio::decimate(&pcm);
        let now = Instant::now();
        let mut shared = self.shared();
        if let Some(recording) = shared.call_recording.as_mut() {
            recording.heard(&narrow);
        }
        shared.packets_received += 1;
        shared.bytes_received += data.data.len() as u64;
        if self.source.is_recording() {
            let recording = shared.recording.get_or_insert_with(Vec::new);
            if recording.len() < super::VOICEMAIL_RECORD_MAX.as_millis() as usize / 20 {
                recording.push(narrow.clone());
            }
        }
        shared.push_recent(now, narrow);
    }

    fn on_telephone_event(&mut self, rtp_time: u64, event: TelephoneEvent, bytes: usize) {
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        shared.packets_received += 1;
        shared.bytes_received += bytes as u64;
        if self.last_dtmf_event == Some(rtp_time) {
            return;
        }
        self.last_dtmf_event = Some(rtp_time);
        if let Some(digit) = dtmf_digit(event.event) {
            tracing::debug!(%digit, "media peer heard DTMF");
            shared.dtmf.push(digit);
        }
    }

    /// Encodes and writes the next 20 ms, with a DTMF event on it when one is due.
    fn send_frame(&mut self, now: Instant) -> Result<(), MediaError> {
        let (Some(mid), Some(codec)) = (self.audio_mid, self.send_codec) else {
            return Ok(());
        };
        let mut frame = self.source.next_frame(&mut self.echo);
        let mut to_party = self.to_party.as_mut().map(|played| played.next_frame(&mut VecDeque::new()));
        {
            let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
            if shared.beep_frames_left > 0 {
                // Telnyx's recording beep: both sides hear it.
                shared.beep_frames_left -= 1;
                let beep = audio::beep_frame(super::RECORDING_BEEP_HZ, &mut self.beep_phase);
                frame.iter_mut().zip(&beep).for_each(|(sample, tone)| *sample += tone);
                let party = to_party.get_or_insert_with(|| vec![0.0; audio::FRAME]);
                party.iter_mut().zip(&beep).for_each(|(sample, tone)| *sample += tone);
            }
            let heard_now = to_party.as_ref().map(|played| audio::decimate(played));
            if let Some(recording) = shared.call_recording.as_mut() {
                recording.step(&audio::decimate(&frame), heard_now.as_deref());
            }
            if let Some(heard) = heard_now {
                shared.push_recent(now, heard);
            }
        }
        if self.paused {
            // Held by the client: nothing goes out, the source moves on as time does.
            self.media_time += match codec {
                SendCodec::Opus(_) => FRAME as u64,
                SendCodec::Pcmu(_) | SendCodec::Pcma(_) => (FRAME / audio::PCMU_FACTOR) as u64,
            };
            return Ok(());
        }
        let (pt, payload, rate, step) = match codec {
            SendCodec::Opus(pt) => {
                let mut out = vec![0u8; 1_500];
                let len = self.encoder.encode_float(&frame, &mut out).map_err(|e| MediaError::Codec(e.to_string()))?;
                out.truncate(len);
                (pt, out, Frequency::FORTY_EIGHT_KHZ, FRAME as u64)
            }
            SendCodec::Pcmu(pt) | SendCodec::Pcma(pt) => {
                let encode = if matches!(codec, SendCodec::Pcmu(_)) { audio::ulaw_encode } else { audio::alaw_encode };
                let narrow = audio::decimate(&frame);
                let bytes: Vec<u8> = narrow.iter().map(|&s| encode(audio::to_i16(s))).collect();
                let step = bytes.len() as u64;
                (pt, bytes, Frequency::EIGHT_KHZ, step)
            }
        };
        let time = MediaTime::new(self.media_time, rate);
        self.media_time += step;
        let dtmf = if now >= self.next_dtmf { self.dtmf_queue.front().copied() } else { None };
        let Some(writer) = self.rtc.writer(mid) else {
            return Ok(());
        };
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
        if let Err(error) = written {
            tracing::debug!(%error, "media frame not written");
        }
        self.drain()
    }

    /// Runs until [`Command::Stop`], the owner going away, or the `Rtc` dying.
    pub(crate) fn run(mut self, commands: Receiver<Command>) {
        if let Err(error) = self.run_loop(&commands) {
            tracing::warn!(%error, local = %self.local_addr, "media peer stopped");
        }
        self.shared().connected = false;
    }

    fn run_loop(&mut self, commands: &Receiver<Command>) -> Result<(), MediaError> {
        let mut buf = vec![0u8; RECV_BUFFER];
        loop {
            loop {
                match commands.try_recv() {
                    Ok(Command::AcceptAnswer(sdp, reply)) => {
                        let _ = reply.send(self.accept_answer(&sdp));
                    }
                    Ok(Command::SetPlayback(source)) => self.source = source,
                    Ok(Command::SetSending(sending)) => self.paused = !sending,
                    Ok(Command::RelayInto(pipe)) => self.relay = pipe,
                    Ok(Command::PlayToParty(source)) => self.to_party = source,
                    Ok(Command::SendDtmf(digits)) => {
                        self.dtmf_queue.extend(digits.chars().filter_map(dtmf_code));
                    }
                    Ok(Command::Stop) | Err(TryRecvError::Disconnected) => {
                        let _ = self.rtc.close();
                        return self.drain();
                    }
                    Err(TryRecvError::Empty) => break,
                }
            }
            if !self.rtc.is_alive() {
                return Ok(());
            }

            let now = Instant::now();
            if self.connected_since.is_some() && now >= self.next_frame {
                self.send_frame(now)?;
                self.next_frame += FRAME_INTERVAL;
                if self.next_frame + 5 * FRAME_INTERVAL < now {
                    // Far behind (a stalled machine): skip ahead rather than burst.
                    self.next_frame = now + FRAME_INTERVAL;
                }
                continue;
            }
            if now >= self.rtc_deadline {
                self.rtc.handle_input(Input::Timeout(now)).map_err(webrtc)?;
                self.drain()?;
                continue;
            }

            let mut wake = self.rtc_deadline.min(now + COMMAND_LATENCY);
            if self.connected_since.is_some() {
                wake = wake.min(self.next_frame);
            }
            let wait = wake.saturating_duration_since(now).max(Duration::from_millis(1));
            self.socket.set_read_timeout(Some(wait))?;
            match self.socket.recv_from(&mut buf) {
                Ok((len, source)) => {
                    let Ok(contents) = buf[..len].try_into() else {
                        continue;
                    };
                    let input = Input::Receive(
                        Instant::now(),
                        Receive { proto: Protocol::Udp, source, destination: self.local_addr, contents },
                    );
                    if self.rtc.accepts(&input) {
                        if let Err(error) = self.rtc.handle_input(input) {
                            tracing::debug!(%error, "media peer input rejected");
                        }
                        self.drain()?;
                    }
                }
                Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                // ICMP port unreachable from a peer that went away shows up here on Linux.
                Err(error) if error.kind() == ErrorKind::ConnectionRefused => {}
                Err(error) => return Err(error.into()),
            }
        }
    }
}
