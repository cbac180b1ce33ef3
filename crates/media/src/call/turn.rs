//! Candidates beyond the host's: a server-reflexive address from STUN and a relayed one from a
//! TURN server over UDP (RFC 8656), on the call's own UDP socket.
//!
//! [`gather`] runs before the SDP is made (our offers and answers are non-trickle, as the
//! Telnyx SDK's), within a time budget: a STUN server that does not answer, or a name that does
//! not resolve, costs at most that budget and the call goes on with what was found.
//!
//! TURN over TCP (`?transport=tcp`, as Telnyx's second TURN URL) and over TLS (`turns:`, as
//! `turns:turn.telnyx.com:443`, for networks that let only TLS out) are asked at the same time,
//! each on a connection of its own: TCP is used when UDP gets no relay, TLS when neither does;
//! the others are closed. The relayed address itself is UDP either way. TLS trusts the system's
//! certificate authorities (an enterprise's own included) and any certificate given to
//! [`trust_turn_certificate`].
//!
//! [`TurnClient`] then carries the relayed candidate's traffic: what str0m sends from the relayed
//! address goes to the server after a CreatePermission for the peer's IP and a ChannelBind for
//! the peer, as Send indications until the channel is bound, then as ChannelData (4 bytes of
//! header instead of 36: on 20 ms Opus packets, about a quarter less relay traffic, as browsers
//! send). Data indications and ChannelData from the server come back as if received on the
//! relayed address. It refreshes the allocation, the permissions and the channels before they
//! lapse, answers a stale nonce, and frees the allocation when the call ends.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::{Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use softphone_stun::{
    Attribute, CHANNEL_LIFETIME_SECS, CHANNEL_NUMBERS, Class, DEFAULT_LIFETIME_SECS, IntegrityKey, Message, Method,
    PERMISSION_LIFETIME_SECS, TRANSPORT_UDP, TransactionId,
};

use crate::IceServer;

/// How long gathering may take in all, DNS included.
pub(crate) const GATHER_BUDGET: Duration = Duration::from_millis(1_500);
/// How often an unanswered STUN request is sent again (RFC 8489 starts at 500 ms; a call is
/// waiting here, so sooner).
const RETRANSMIT: Duration = Duration::from_millis(250);
const STUN_PORT: u16 = 3478;
/// The default port of `turns:` (RFC 7065).
const TURNS_PORT: u16 = 5349;
/// Permissions last 300 s; they are renewed a minute before.
const PERMISSION_RENEW: Duration = Duration::from_secs(PERMISSION_LIFETIME_SECS as u64 - 60);
/// Channel bindings last 600 s; they are renewed a minute before.
const CHANNEL_RENEW: Duration = Duration::from_secs(CHANNEL_LIFETIME_SECS as u64 - 60);

/// An ICE server URL this engine can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IceUrl {
    /// `stun:host[:port]`.
    Stun { host: String, port: u16 },
    /// `turn:host[:port][?transport=udp]`.
    TurnUdp { host: String, port: u16 },
    /// `turn:host[:port]?transport=tcp`.
    TurnTcp { host: String, port: u16 },
    /// `turns:host[:port][?transport=tcp]`: TLS over TCP.
    TurnTls { host: String, port: u16 },
}

/// Parses `stun:`, `turn:` and `turns:` URLs (RFC 7064 / 7065). `turns:` over DTLS
/// (`?transport=udp`) is not carried by this engine: `None`.
pub(crate) fn parse_ice_url(url: &str) -> Option<IceUrl> {
    let (scheme, rest) = url.trim().split_once(':')?;
    let (authority, query) = match rest.split_once('?') {
        Some((authority, query)) => (authority, Some(query)),
        None => (rest, None),
    };
    let scheme = scheme.to_ascii_lowercase();
    let default_port = if scheme == "turns" { TURNS_PORT } else { STUN_PORT };
    let (host, port) = split_host_port(authority, default_port)?;
    let transport = query.map(str::to_ascii_lowercase);
    match (scheme.as_str(), transport.as_deref()) {
        ("stun", None) => Some(IceUrl::Stun { host, port }),
        ("turn", None | Some("transport=udp")) => Some(IceUrl::TurnUdp { host, port }),
        ("turn", Some("transport=tcp")) => Some(IceUrl::TurnTcp { host, port }),
        ("turns", None | Some("transport=tcp")) => Some(IceUrl::TurnTls { host, port }),
        _ => None,
    }
}

fn split_host_port(authority: &str, default_port: u16) -> Option<(String, u16)> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        return Some((host.to_owned(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host.to_owned(), port.parse().ok()?)),
        None => Some((authority.to_owned(), default_port)),
    }
    .filter(|(host, _)| !host.is_empty())
}

/// What [`gather`] found.
#[derive(Debug, Default)]
pub(crate) struct Gathered {
    /// Our address as a STUN (or TURN) server sees it.
    pub(crate) server_reflexive: Option<SocketAddr>,
    /// A TURN allocation, ready to carry traffic.
    pub(crate) relay: Option<TurnClient>,
    /// Why a server gave nothing, in words for the log (and for a relay-only call's error).
    pub(crate) problems: Vec<String>,
}

#[derive(Clone)]
struct TurnTarget {
    server: SocketAddr,
    username: String,
    password: String,
    /// Over TLS: the name the certificate must be for (the URL's host).
    tls_name: Option<String>,
}

/// Requests without an answer: what they were, where they went, their bytes, when to resend.
type PendingRequests = HashMap<TransactionId, (Pending, SocketAddr, Vec<u8>, Instant)>;

enum Pending {
    Binding,
    /// `challenge`: the realm and nonce the request carried (with the credential), if any.
    Allocate {
        challenge: Option<(String, String)>,
    },
}

/// Asks every STUN server for our reflexive address and the first TURN server (UDP) for a
/// relay, on `socket`, within `budget`. `socket` must not be read by anyone else meanwhile.
pub(crate) fn gather(socket: &UdpSocket, servers: &[IceServer], budget: Duration) -> Gathered {
    let deadline = Instant::now() + budget;
    let mut gathered = Gathered::default();
    let mut stun_hosts = Vec::new();
    let mut turn_hosts = Vec::new();
    let mut turn_tcp_hosts = Vec::new();
    let mut turn_tls_hosts = Vec::new();
    for server in servers {
        for url in &server.urls {
            let credential = server.username.clone().zip(server.credential.clone());
            match (parse_ice_url(url), credential) {
                (Some(IceUrl::Stun { host, port }), _) => stun_hosts.push((host, port)),
                (Some(IceUrl::TurnUdp { host, port }), Some((username, password))) => {
                    turn_hosts.push(((host, port), username, password));
                }
                (Some(IceUrl::TurnTcp { host, port }), Some((username, password))) => {
                    turn_tcp_hosts.push(((host, port), username, password));
                }
                (Some(IceUrl::TurnTls { host, port }), Some((username, password))) => {
                    turn_tls_hosts.push(((host, port), username, password));
                }
                (Some(_), None) => {
                    gathered.problems.push(format!("{url}: a TURN server needs a username and a credential"));
                }
                (None, _) => tracing::debug!(%url, "ICE server URL not used by the native engine"),
            }
        }
    }
    let ipv4 = socket.local_addr().is_ok_and(|addr| addr.is_ipv4());
    let mut names: Vec<(String, u16)> = stun_hosts.clone();
    names.extend(turn_hosts.iter().chain(&turn_tcp_hosts).chain(&turn_tls_hosts).map(|(name, _, _)| name.clone()));
    let resolved = resolve(&names, ipv4, deadline);
    let stun_servers: Vec<SocketAddr> = stun_hosts.iter().filter_map(|name| resolved.get(name).copied()).collect();
    let mut first_resolved = |hosts: Vec<((String, u16), String, String)>, tls: bool| {
        hosts.into_iter().find_map(|(name, username, password)| {
            let server = resolved.get(&name).copied();
            if server.is_none() {
                gathered.problems.push(format!("TURN server {}:{} did not resolve", name.0, name.1));
            }
            Some(TurnTarget { server: server?, username, password, tls_name: tls.then(|| name.0.clone()) })
        })
    };
    let turn = first_resolved(turn_hosts, false);
    // TCP first, then TLS: the order they are used in when UDP gets no relay.
    let turn_streams: Vec<_> = [first_resolved(turn_tcp_hosts, false), first_resolved(turn_tls_hosts, true)]
        .into_iter()
        .flatten()
        .filter_map(|target| {
            let (done, result) = mpsc::channel();
            let transport = if target.tls_name.is_some() { "TLS" } else { "TCP" };
            let spawned =
                std::thread::Builder::new().name(format!("turn-{}", transport.to_lowercase())).spawn(move || {
                    let _ = done.send(allocate_over_stream(&target, deadline));
                });
            spawned.is_ok().then_some((transport, result))
        })
        .collect();
    for (host, port) in &stun_hosts {
        if !resolved.contains_key(&(host.clone(), *port)) {
            gathered.problems.push(format!("STUN server {host}:{port} did not resolve"));
        }
    }
    if !stun_servers.is_empty() || turn.is_some() {
        ask_over_udp(socket, &stun_servers, turn.as_ref(), deadline, budget, &mut gathered);
    }
    // With a UDP relay, TCP and TLS are not waited for: whatever they allocate is dropped with
    // its connection (the server then frees it).
    for (transport, result) in turn_streams {
        if gathered.relay.is_some() {
            break;
        }
        match result.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Ok(relay)) => gathered.relay = Some(relay),
            Ok(Err(problem)) => gathered.problems.push(problem),
            Err(_) => gathered.problems.push(format!("TURN over {transport} did not finish within {budget:?}")),
        }
    }
    gathered
}

/// Binding requests to every STUN server and an Allocate to the UDP TURN server, on `socket`,
/// until all have answered or `deadline`.
fn ask_over_udp(
    socket: &UdpSocket,
    stun_servers: &[SocketAddr],
    turn: Option<&TurnTarget>,
    deadline: Instant,
    budget: Duration,
    gathered: &mut Gathered,
) {
    let mut pending: PendingRequests = HashMap::new();
    let send = |pending: &mut PendingRequests, id: TransactionId, kind: Pending, to: SocketAddr, bytes: Vec<u8>| {
        if let Err(error) = socket.send_to(&bytes, to) {
            tracing::debug!(%error, %to, "ICE server request not sent");
        }
        pending.insert(id, (kind, to, bytes, Instant::now() + RETRANSMIT));
    };
    for server in stun_servers {
        let request = Message::request(Method::Binding, softphone_stun::random_bytes());
        send(&mut pending, request.transaction_id, Pending::Binding, *server, request.encode(None, true));
    }
    if let Some(target) = turn {
        let request = allocate_request(&[]);
        send(
            &mut pending,
            request.transaction_id,
            Pending::Allocate { challenge: None },
            target.server,
            request.encode(None, true),
        );
    }

    let mut buf = vec![0u8; 2_048];
    let mut turn_done = turn.is_none();
    let mut stun_answers = 0;
    while Instant::now() < deadline && (!turn_done || stun_answers < stun_servers.len()) {
        let now = Instant::now();
        for (_, to, bytes, resend_at) in pending.values_mut() {
            if *resend_at <= now {
                let _ = socket.send_to(bytes, *to);
                *resend_at = now + RETRANSMIT;
            }
        }
        let next_resend = pending.values().map(|(_, _, _, at)| *at).min().unwrap_or(deadline);
        let wait = next_resend.min(deadline).saturating_duration_since(now).max(Duration::from_millis(1));
        if socket.set_read_timeout(Some(wait)).is_err() {
            break;
        }
        let Ok((len, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let bytes = &buf[..len];
        let Ok(message) = Message::decode(bytes) else {
            continue;
        };
        // An answer comes from where its request went, or it is not an answer.
        if pending.get(&message.transaction_id).is_none_or(|(_, to, _, _)| *to != from) {
            continue;
        }
        let Some((kind, _, _, _)) = pending.remove(&message.transaction_id) else {
            continue;
        };
        match (kind, message.class) {
            (Pending::Binding, Class::Success) => {
                stun_answers += 1;
                if let Some(mapped) = message.xor_mapped_address() {
                    gathered.server_reflexive.get_or_insert(mapped);
                }
            }
            (Pending::Binding, _) => {
                stun_answers += 1;
                gathered.problems.push(format!("STUN server {from} refused the binding request"));
            }
            (Pending::Allocate { challenge }, class) => {
                let Some(target) = turn else { continue };
                match allocation_answer(&message, bytes, class, challenge, target) {
                    AllocateStep::Retry { realm, nonce } => {
                        let key = IntegrityKey::long_term(&target.username, &realm, &target.password);
                        let request = allocate_request(&[
                            Attribute::Username(target.username.clone()),
                            Attribute::Realm(realm.clone()),
                            Attribute::Nonce(nonce.clone()),
                        ]);
                        send(
                            &mut pending,
                            request.transaction_id,
                            Pending::Allocate { challenge: Some((realm, nonce)) },
                            target.server,
                            request.encode(Some(&key), true),
                        );
                    }
                    AllocateStep::Granted { relayed, mapped, lifetime, realm, nonce } => {
                        turn_done = true;
                        if let Some(mapped) = mapped {
                            gathered.server_reflexive.get_or_insert(mapped);
                        }
                        gathered.relay =
                            Some(TurnClient::new(target, relayed, lifetime, realm, nonce, now, TurnLink::Udp));
                    }
                    AllocateStep::Refused(problem) => {
                        turn_done = true;
                        gathered.problems.push(problem);
                    }
                }
            }
        }
    }
    if !turn_done && let Some(target) = turn {
        gathered.problems.push(format!("TURN server {} did not answer within {budget:?}", target.server));
    }
    let unanswered = stun_servers.len() - stun_answers;
    if unanswered > 0 {
        gathered.problems.push(format!("{unanswered} STUN server(s) did not answer within {budget:?}"));
    }
}

/// An allocation over a TCP (or TLS) connection to `target`: the 401 challenge, then the request
/// with the credential, each answer read whole off the stream; all before `deadline`.
fn allocate_over_stream(target: &TurnTarget, deadline: Instant) -> Result<TurnClient, String> {
    let server = target.server;
    let transport = if target.tls_name.is_some() { "TLS" } else { "TCP" };
    let left = || deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
    let failed = |error: std::io::Error| format!("TURN server {server} over {transport}: {error}");
    let tcp = TcpStream::connect_timeout(&server, left()).map_err(failed)?;
    tcp.set_nodelay(true).map_err(failed)?;
    let mut stream = match &target.tls_name {
        None => TurnStream::Tcp(tcp),
        Some(name) => {
            tcp.set_read_timeout(Some(left())).map_err(failed)?;
            tcp.set_write_timeout(Some(left())).map_err(failed)?;
            TurnStream::Tls(Box::new(
                tls_handshake(name, tcp).map_err(|error| format!("TURN server {server} over TLS ({name}): {error}"))?,
            ))
        }
    };
    let mut inbox = Vec::new();
    let mut challenge: Option<(String, String)> = None;
    // The unauthenticated request, the one with the credential, and one more for a stale nonce.
    for _ in 0..3 {
        let request = match &challenge {
            None => allocate_request(&[]),
            Some((realm, nonce)) => allocate_request(&[
                Attribute::Username(target.username.clone()),
                Attribute::Realm(realm.clone()),
                Attribute::Nonce(nonce.clone()),
            ]),
        };
        let key =
            challenge.as_ref().map(|(realm, _)| IntegrityKey::long_term(&target.username, realm, &target.password));
        stream.write_all(&request.encode(key.as_ref(), true)).map_err(failed)?;
        let (message, bytes) = loop {
            let bytes = read_framed(&mut stream, &mut inbox, deadline).map_err(failed)?;
            match Message::decode(&bytes) {
                Ok(message) if message.transaction_id == request.transaction_id => break (message, bytes),
                _ => continue,
            }
        };
        match allocation_answer(&message, &bytes, message.class, challenge.clone(), target) {
            AllocateStep::Retry { realm, nonce } => challenge = Some((realm, nonce)),
            AllocateStep::Granted { relayed, lifetime, realm, nonce, .. } => {
                stream.tcp().set_nonblocking(true).map_err(failed)?;
                let link = TurnLink::Stream { stream, inbox, outbox: Vec::new() };
                return Ok(TurnClient::new(target, relayed, lifetime, realm, nonce, Instant::now(), link));
            }
            AllocateStep::Refused(problem) => return Err(format!("{problem} ({transport})")),
        }
    }
    Err(format!("TURN server {server} kept asking for credentials ({transport})"))
}

/// Certificates trusted for TURN over TLS besides the system's: see [`trust_turn_certificate`].
static TRUSTED_TURN_CERTIFICATES: Mutex<Vec<openssl::x509::X509>> = Mutex::new(Vec::new());

/// Trusts `pem` (one or more certificates) for TURN over TLS, for the life of the process: a
/// private TURN server's own authority, or a test's self-signed server.
pub fn trust_turn_certificate(pem: &[u8]) -> Result<(), String> {
    let certificates =
        openssl::x509::X509::stack_from_pem(pem).map_err(|error| format!("not a PEM certificate: {error}"))?;
    if certificates.is_empty() {
        return Err("no certificate in the PEM text".to_owned());
    }
    TRUSTED_TURN_CERTIFICATES.lock().unwrap_or_else(PoisonError::into_inner).extend(certificates);
    Ok(())
}

/// The TLS handshake with a TURN server, checking its certificate is for `name` and from an
/// authority the system (or [`trust_turn_certificate`]) trusts.
fn tls_handshake(name: &str, tcp: TcpStream) -> Result<openssl::ssl::SslStream<TcpStream>, String> {
    let mut connector = openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls_client())
        .map_err(|error| error.to_string())?;
    for certificate in TRUSTED_TURN_CERTIFICATES.lock().unwrap_or_else(PoisonError::into_inner).iter() {
        // A certificate already in the store is no error worth failing the call for.
        let _ = connector.cert_store_mut().add_cert(certificate.clone());
    }
    connector.build().connect(name, tcp).map_err(|error| match error {
        openssl::ssl::HandshakeError::Failure(mid) => {
            let verify = mid.ssl().verify_result();
            if verify == openssl::x509::X509VerifyResult::OK {
                mid.error().to_string()
            } else {
                format!("the certificate is not trusted: {}", verify.error_string())
            }
        }
        other => other.to_string(),
    })
}

/// A TURN server's connection: plain TCP, or TLS over TCP.
pub(crate) enum TurnStream {
    Tcp(TcpStream),
    Tls(Box<openssl::ssl::SslStream<TcpStream>>),
}

impl TurnStream {
    fn tcp(&self) -> &TcpStream {
        match self {
            TurnStream::Tcp(tcp) => tcp,
            TurnStream::Tls(tls) => tls.get_ref(),
        }
    }
}

impl std::fmt::Debug for TurnStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if matches!(self, TurnStream::Tcp(_)) { "Tcp" } else { "Tls" };
        f.debug_tuple(kind).field(&self.tcp().peer_addr().ok()).finish()
    }
}

impl Read for TurnStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            TurnStream::Tcp(tcp) => tcp.read(buf),
            TurnStream::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for TurnStream {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self {
            TurnStream::Tcp(tcp) => tcp.write(bytes),
            TurnStream::Tls(tls) => tls.write(bytes),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            TurnStream::Tcp(tcp) => tcp.flush(),
            TurnStream::Tls(tls) => tls.flush(),
        }
    }
}

/// Reads until one whole STUN message is in `inbox`, and takes it.
fn read_framed(stream: &mut TurnStream, inbox: &mut Vec<u8>, deadline: Instant) -> std::io::Result<Vec<u8>> {
    let mut buf = [0u8; 2_048];
    loop {
        match softphone_stun::take_framed(inbox) {
            Ok(Some(message)) => return Ok(message),
            Ok(None) => {}
            Err(error) => return Err(std::io::Error::new(ErrorKind::InvalidData, error)),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        stream.tcp().set_read_timeout(Some(left))?;
        match stream.read(&mut buf)? {
            0 => return Err(ErrorKind::UnexpectedEof.into()),
            len => inbox.extend_from_slice(&buf[..len]),
        }
    }
}

fn allocate_request(auth: &[Attribute]) -> Message {
    let mut request = Message::request(Method::Allocate, softphone_stun::random_bytes());
    for attribute in auth {
        request = request.with(attribute.clone());
    }
    request.with(Attribute::RequestedTransport(TRANSPORT_UDP))
}

enum AllocateStep {
    /// 401 or 438: send again with the credential, realm and nonce.
    Retry {
        realm: String,
        nonce: String,
    },
    Granted {
        relayed: SocketAddr,
        mapped: Option<SocketAddr>,
        lifetime: u32,
        realm: String,
        nonce: String,
    },
    Refused(String),
}

/// What an answer to our Allocate means.
fn allocation_answer(
    message: &Message,
    bytes: &[u8],
    class: Class,
    challenge: Option<(String, String)>,
    target: &TurnTarget,
) -> AllocateStep {
    let server = target.server;
    match class {
        Class::Error => {
            let (code, reason) = message.error_code().unwrap_or((0, "no error code"));
            match (code, message.realm(), message.nonce()) {
                (401, Some(_), Some(_)) if challenge.is_some() => {
                    AllocateStep::Refused(format!("TURN server {server} refused the credentials (401 {reason})"))
                }
                (401 | 438, Some(realm), Some(nonce)) => {
                    AllocateStep::Retry { realm: realm.to_owned(), nonce: nonce.to_owned() }
                }
                _ => AllocateStep::Refused(format!("TURN server {server} refused the allocation ({code} {reason})")),
            }
        }
        Class::Success => {
            // The server's answer is signed with the key the request was.
            let Some((realm, nonce)) = challenge else {
                return AllocateStep::Refused(format!("TURN server {server} allocated without asking for credentials"));
            };
            let Some(relayed) = message.xor_relayed_address() else {
                return AllocateStep::Refused(format!("TURN server {server} gave no relayed address"));
            };
            if message.has_integrity()
                && !message
                    .verify_integrity(bytes, &IntegrityKey::long_term(&target.username, &realm, &target.password))
            {
                return AllocateStep::Refused(format!("TURN server {server} answered with a wrong integrity"));
            }
            AllocateStep::Granted {
                relayed,
                mapped: message.xor_mapped_address(),
                lifetime: message.lifetime().unwrap_or(DEFAULT_LIFETIME_SECS),
                realm,
                nonce,
            }
        }
        _ => AllocateStep::Refused(format!("TURN server {server} answered oddly")),
    }
}

/// Resolves `names` to one address each of the socket's family, all within `deadline` (each
/// lookup on its own thread: a hanging resolver must not hold the call).
fn resolve(names: &[(String, u16)], ipv4: bool, deadline: Instant) -> HashMap<(String, u16), SocketAddr> {
    let (found, results) = mpsc::channel();
    let mut asked = 0;
    for name in names {
        if let Ok(ip) = name.0.parse::<IpAddr>() {
            let _ = found.send((name.clone(), Some(SocketAddr::new(ip, name.1))));
            asked += 1;
            continue;
        }
        let found = found.clone();
        let name = name.clone();
        let spawned = std::thread::Builder::new().name("ice-dns".to_owned()).spawn(move || {
            let address = (name.0.as_str(), name.1)
                .to_socket_addrs()
                .ok()
                .and_then(|mut addresses| addresses.find(|address| address.is_ipv4() == ipv4));
            let _ = found.send((name, address));
        });
        if spawned.is_ok() {
            asked += 1;
        }
    }
    drop(found);
    let mut resolved = HashMap::new();
    for _ in 0..asked {
        let Ok((name, address)) = results.recv_timeout(deadline.saturating_duration_since(Instant::now())) else {
            break;
        };
        if let Some(address) = address.filter(|address| address.is_ipv4() == ipv4) {
            resolved.insert(name, address);
        }
    }
    resolved
}

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
struct Channel {
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
    fn new(
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
fn flush(stream: &mut TurnStream, outbox: &mut Vec<u8>) {
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
fn refresh_after(lifetime: u32) -> Duration {
    let lifetime = u64::from(lifetime.max(2));
    Duration::from_secs(if lifetime > 120 { lifetime - 60 } else { lifetime / 2 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ice_urls_parse_as_browsers_read_them() {
        let stun = |host: &str, port| Some(IceUrl::Stun { host: host.to_owned(), port });
        let turn = |host: &str, port| Some(IceUrl::TurnUdp { host: host.to_owned(), port });
        assert_eq!(parse_ice_url("stun:stun.telnyx.com:3478"), stun("stun.telnyx.com", 3478));
        assert_eq!(parse_ice_url("stun:stun.l.google.com"), stun("stun.l.google.com", 3478));
        assert_eq!(parse_ice_url("turn:turn.telnyx.com:3478?transport=udp"), turn("turn.telnyx.com", 3478));
        assert_eq!(parse_ice_url("TURN:127.0.0.1:5000"), turn("127.0.0.1", 5000));
        assert_eq!(parse_ice_url("turn:[::1]:5000?transport=UDP"), turn("::1", 5000));
        assert_eq!(
            parse_ice_url("turn:turn.telnyx.com:3478?transport=tcp"),
            Some(IceUrl::TurnTcp { host: "turn.telnyx.com".to_owned(), port: 3478 })
        );
        assert_eq!(parse_ice_url("turn:turn.telnyx.com:3478?transport=sctp"), None);
        let tls = |host: &str, port| Some(IceUrl::TurnTls { host: host.to_owned(), port });
        assert_eq!(parse_ice_url("turns:turn.telnyx.com:443"), tls("turn.telnyx.com", 443));
        assert_eq!(parse_ice_url("turns:turn.telnyx.com?transport=tcp"), tls("turn.telnyx.com", 5349));
        assert_eq!(parse_ice_url("turns:turn.telnyx.com:443?transport=udp"), None, "DTLS is not carried");
        assert_eq!(parse_ice_url("stun:"), None);
        assert_eq!(parse_ice_url("stun:host:notaport"), None);
        assert_eq!(parse_ice_url("http://example.com"), None);
    }

    #[test]
    fn stun_gives_the_address_the_server_sees_and_turn_a_relay() {
        let server = softphone_sim::turn::TurnServer::start(softphone_sim::turn::TurnConfig::default()).unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let servers = [
            IceServer { urls: vec![server.stun_url()], username: None, credential: None },
            IceServer {
                urls: vec![server.turn_url()],
                username: Some(softphone_sim::turn::DEFAULT_TURN_USERNAME.to_owned()),
                credential: Some(softphone_sim::turn::DEFAULT_TURN_PASSWORD.to_owned()),
            },
        ];
        let gathered = gather(&socket, &servers, GATHER_BUDGET);
        assert!(gathered.problems.is_empty(), "{:?}", gathered.problems);
        assert_eq!(gathered.server_reflexive, Some(socket.local_addr().unwrap()));
        let relay = gathered.relay.expect("a relay");
        assert_eq!(server.relayed_addrs(), [relay.relayed()]);
        assert_eq!(server.stats().bindings, 1);
    }

    #[test]
    fn a_stun_name_that_does_not_resolve_is_a_problem_not_a_wait() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let servers =
            [IceServer { urls: vec!["stun:does-not-exist.invalid:3478".to_owned()], username: None, credential: None }];
        let gathered = gather(&socket, &servers, GATHER_BUDGET);
        assert_eq!(gathered.server_reflexive, None);
        assert_eq!(gathered.problems, ["STUN server does-not-exist.invalid:3478 did not resolve"]);
    }

    #[test]
    fn allocations_are_refreshed_before_they_lapse() {
        assert_eq!(refresh_after(600), Duration::from_secs(540));
        assert_eq!(refresh_after(60), Duration::from_secs(30));
        assert_eq!(refresh_after(0), Duration::from_secs(1));
    }
}
