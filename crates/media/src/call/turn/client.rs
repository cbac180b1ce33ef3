//! [`TurnClient`]: carries the relayed candidate's traffic through its allocation: permissions,
//! channels, refreshes, a stale nonce, and the allocation freed at the end.

use super::*;

/// How a [`TurnClient`] reaches its server.
#[derive(Debug)]
pub(crate) enum TurnLink {
    /// Datagrams on the call's UDP socket.
    Udp,
    /// STUN messages back to back on a TCP or TLS connection (non-blocking), with what has been
    /// read but not yet taken, and what could not be written yet.
    Stream { stream: TurnStream, inbox: Vec<u8>, outbox: Vec<u8> },
}

/// A channel to one peer (RFC 8656 §12).
#[derive(Debug)]
pub(super) struct Channel {
    number: u16,
    /// The server said yes: packets go as ChannelData (until then, as Send indications).
    bound: bool,
    /// When the binding was last asked for.
    asked: Instant,
}

/// A TURN allocation in use by one call.
#[derive(Debug)]
pub(crate) struct TurnClient {
    link: TurnLink,
    server: SocketAddr,
    username: String,
    realm: String,
    nonce: String,
    key: IntegrityKey,
    relayed: SocketAddr,
    refresh_at: Instant,
    /// Peer IP → when its permission was last asked for.
    permissions: HashMap<IpAddr, Instant>,
    /// Peer → its channel.
    channels: HashMap<SocketAddr, Channel>,
    /// Channel number → peer, for what comes back.
    channel_peers: HashMap<u16, SocketAddr>,
    /// Requests without an answer yet: what to send again after a stale nonce.
    pending: HashMap<TransactionId, (Method, Vec<Attribute>)>,
    lost: bool,
}

impl TurnClient {
    pub(super) fn new(
        target: &TurnTarget,
        relayed: SocketAddr,
        lifetime: u32,
        realm: String,
        nonce: String,
        now: Instant,
        link: TurnLink,
    ) -> TurnClient {
        TurnClient {
            link,
            server: target.server,
            username: target.username.clone(),
            key: IntegrityKey::long_term(&target.username, &realm, &target.password),
            realm,
            nonce,
            relayed,
            refresh_at: now + refresh_after(lifetime),
            permissions: HashMap::new(),
            channels: HashMap::new(),
            channel_peers: HashMap::new(),
            pending: HashMap::new(),
            lost: false,
        }
    }

    /// The TURN server's address: datagrams from there are TURN's.
    pub(crate) fn server(&self) -> SocketAddr {
        self.server
    }

    /// True when the server is reached by datagrams on the call's socket (else over TCP or TLS).
    pub(crate) fn over_udp(&self) -> bool {
        matches!(self.link, TurnLink::Udp)
    }

    /// Our end of the TCP connection, when the server is reached over TCP or TLS.
    pub(crate) fn tcp_local_addr(&self) -> Option<SocketAddr> {
        match &self.link {
            TurnLink::Udp => None,
            TurnLink::Stream { stream, .. } => stream.tcp().local_addr().ok(),
        }
    }

    /// Sends one message to the server: on `socket`, or on the TCP connection (what the
    /// connection cannot take now waits for the next call).
    pub(crate) fn transmit(&mut self, socket: &UdpSocket, message: &[u8]) {
        let server = self.server;
        match &mut self.link {
            TurnLink::Udp => {
                if let Err(error) = socket.send_to(message, server) {
                    tracing::debug!(%error, %server, "TURN send failed");
                }
            }
            TurnLink::Stream { stream, outbox, .. } => {
                outbox.extend_from_slice(message);
                flush(stream, outbox);
            }
        }
    }

    /// The whole messages the TCP connection has brought since the last call (none over UDP).
    pub(crate) fn read_stream(&mut self) -> Vec<Vec<u8>> {
        let TurnLink::Stream { stream, inbox, outbox } = &mut self.link else {
            return Vec::new();
        };
        flush(stream, outbox);
        let mut buf = [0u8; 4_096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => {
                    if !self.lost {
                        tracing::warn!(server = %self.server, "the TURN server closed the TCP connection");
                    }
                    self.lost = true;
                    break;
                }
                Ok(len) => inbox.extend_from_slice(&buf[..len]),
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                Err(error) => {
                    if !self.lost {
                        tracing::warn!(%error, server = %self.server, "TURN over TCP failed");
                    }
                    self.lost = true;
                    break;
                }
            }
        }
        let mut messages = Vec::new();
        while let Ok(Some(message)) = softphone_stun::take_framed(inbox) {
            messages.push(message);
        }
        messages
    }

    /// The relayed transport address: the candidate the peer sends to.
    pub(crate) fn relayed(&self) -> SocketAddr {
        self.relayed
    }

    fn request(&mut self, method: Method, attributes: Vec<Attribute>) -> Vec<u8> {
        let mut request = Message::request(method, softphone_stun::random_bytes())
            .with(Attribute::Username(self.username.clone()))
            .with(Attribute::Realm(self.realm.clone()))
            .with(Attribute::Nonce(self.nonce.clone()));
        for attribute in &attributes {
            request = request.with(attribute.clone());
        }
        self.pending.insert(request.transaction_id, (method, attributes));
        request.encode(Some(&self.key), true)
    }

    /// What to send to the server so that `data` reaches `peer` from the relayed address: a
    /// CreatePermission first when the peer's IP has none (or it is due for renewal), and a
    /// ChannelBind when the peer has no channel (or it is due); then the data, as ChannelData
    /// once the channel is bound, else as a Send indication.
    pub(crate) fn wrap(&mut self, peer: SocketAddr, data: &[u8], now: Instant, out: &mut Vec<Vec<u8>>) {
        let due = self.permissions.get(&peer.ip()).is_none_or(|asked| now >= *asked + PERMISSION_RENEW);
        if due {
            self.permissions.insert(peer.ip(), now);
            out.push(self.request(Method::CreatePermission, vec![Attribute::XorPeerAddress(peer)]));
        }
        let next_number = CHANNEL_NUMBERS.start() + self.channels.len() as u16;
        let channel_due = match self.channels.get_mut(&peer) {
            Some(channel) if now >= channel.asked + CHANNEL_RENEW => {
                channel.asked = now;
                Some(channel.number)
            }
            Some(_) => None,
            None if CHANNEL_NUMBERS.contains(&next_number) => {
                self.channels.insert(peer, Channel { number: next_number, bound: false, asked: now });
                self.channel_peers.insert(next_number, peer);
                Some(next_number)
            }
            // Every number taken (4,096 peers): this one goes by indications.
            None => None,
        };
        if let Some(number) = channel_due {
            out.push(
                self.request(
                    Method::ChannelBind,
                    vec![Attribute::ChannelNumber(number), Attribute::XorPeerAddress(peer)],
                ),
            );
        }
        match self.channels.get(&peer) {
            Some(channel) if channel.bound => out.push(softphone_stun::encode_channel_data(channel.number, data)),
            _ => {
                let indication = Message::new(Method::Send, Class::Indication, TransactionId::random())
                    .with(Attribute::XorPeerAddress(peer))
                    .with(Attribute::Data(data.to_vec()));
                out.push(indication.encode(None, false));
            }
        }
    }

    /// A datagram from the server: the peer's packet inside a Data indication, or an answer
    /// to one of our requests (a stale nonce is answered with the request again, into `out`).
    pub(crate) fn on_server_datagram(
        &mut self,
        bytes: &[u8],
        now: Instant,
        out: &mut Vec<Vec<u8>>,
    ) -> Option<(SocketAddr, Vec<u8>)> {
        if let Some((number, data)) = softphone_stun::decode_channel_data(bytes) {
            let peer = *self.channel_peers.get(&number)?;
            return Some((peer, data.to_vec()));
        }
        let message = Message::decode(bytes).ok()?;
        match (message.method, message.class) {
            (Method::Data, Class::Indication) => {
                let peer = message.xor_peer_address()?;
                let data = message.data()?.to_vec();
                Some((peer, data))
            }
            (_, Class::Success) => {
                let (method, attributes) = self.pending.remove(&message.transaction_id)?;
                match method {
                    Method::Refresh => {
                        let lifetime = message.lifetime().unwrap_or(DEFAULT_LIFETIME_SECS);
                        self.refresh_at = now + refresh_after(lifetime);
                    }
                    Method::ChannelBind => {
                        let peer = attributes.iter().find_map(|attribute| match attribute {
                            Attribute::XorPeerAddress(peer) => Some(*peer),
                            _ => None,
                        });
                        if let Some(channel) = peer.and_then(|peer| self.channels.get_mut(&peer)) {
                            channel.bound = true;
                        }
                    }
                    _ => {}
                }
                None
            }
            (_, Class::Error) => {
                let (method, attributes) = self.pending.remove(&message.transaction_id)?;
                match (message.error_code(), message.nonce()) {
                    (Some((438, _)), Some(nonce)) => {
                        self.nonce = nonce.to_owned();
                        out.push(self.request(method, attributes));
                    }
                    (Some((code, reason)), _) => {
                        if method == Method::Refresh && code == 437 {
                            self.lost = true;
                        }
                        tracing::warn!(?method, code, reason, server = %self.server, "TURN request refused");
                    }
                    (None, _) => tracing::warn!(?method, server = %self.server, "TURN request refused"),
                }
                None
            }
            _ => None,
        }
    }

    /// Refreshes the allocation when it is due.
    pub(crate) fn on_timer(&mut self, now: Instant, out: &mut Vec<Vec<u8>>) {
        if self.lost || now < self.refresh_at {
            return;
        }
        // Asked again in 30 s if this one gets no answer.
        self.refresh_at = now + Duration::from_secs(30);
        out.push(self.request(Method::Refresh, vec![Attribute::Lifetime(DEFAULT_LIFETIME_SECS)]));
    }

    /// Frees the allocation (Refresh with lifetime 0).
    pub(crate) fn release(&mut self) -> Vec<u8> {
        self.request(Method::Refresh, vec![Attribute::Lifetime(0)])
    }
}

/// Writes what the connection takes of `outbox` now. (OpenSSL, which may take part of a record,
/// is given the same bytes again: the rest of `outbox` starts with them.)
pub(super) fn flush(stream: &mut TurnStream, outbox: &mut Vec<u8>) {
    while !outbox.is_empty() {
        match stream.write(outbox) {
            Ok(0) => return,
            Ok(written) => {
                outbox.drain(..written);
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => return,
            Err(error) => {
                tracing::debug!(%error, "TURN over TCP: write failed");
                outbox.clear();
                return;
            }
        }
    }
}

/// When to refresh an allocation of `lifetime` seconds: a minute before it lapses, or halfway
/// through a short one.
pub(super) fn refresh_after(lifetime: u32) -> Duration {
    let lifetime = u64::from(lifetime.max(2));
    Duration::from_secs(if lifetime > 120 { lifetime - 60 } else { lifetime / 2 })
}
