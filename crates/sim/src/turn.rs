//! A STUN and TURN server over UDP and TCP (RFC 8489 / RFC 8656), standing in for
//! `stun.telnyx.com` and `turn.telnyx.com` on loopback. Both listen on the same port; over TCP
//! the messages come back to back on the connection, and closing it frees its allocation.
//!
//! What it does: Binding (server-reflexive addresses), Allocate with the long-term credential
//! (401 with realm and nonce first, as Telnyx's TURN answers), Refresh (lifetime 0 frees the
//! allocation), CreatePermission, Send indications out through the relay socket and Data
//! indications back, ChannelBind and ChannelData (4 bytes of header instead of 36; a peer with a
//! channel is relayed to the client as ChannelData).
//!
//! It also takes TURN over TLS (`turns:`, RFC 7065), on a port of its own, with a self-signed
//! certificate made at start ([`TurnServer::certificate_pem`], for the client to trust), as
//! `turns:turn.telnyx.com:443` for networks that let only TLS out.
//!
//! [`TurnConfig::answer_udp`] off makes it a black hole for UDP, as a firewall that lets only TCP
//! out.
//!
//! Every allocation has its own relay socket on the server's IP and a thread reading it; packets
//! from a peer without a permission are dropped, as RFC 8656 §9 says. [`TurnStats`] counts what
//! was relayed each way, so a test can tell a relayed call from a direct one.
//!
//! ```no_run
//! let turn = softphone_sim::turn::TurnServer::start(softphone_sim::turn::TurnConfig::default()).unwrap();
//! println!("turn:{}?transport=udp", turn.local_addr());
//! ```

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use softphone_stun::{
    Attribute, Class, DEFAULT_LIFETIME_SECS, IntegrityKey, Message, Method, PERMISSION_LIFETIME_SECS, TRANSPORT_UDP,
    is_stun,
};

/// How often the server's threads look at their stop flag.
const TICK: Duration = Duration::from_millis(50);
/// The longest allocation lifetime granted (RFC 8656 §7.2: the server may cap it).
const MAX_LIFETIME_SECS: u32 = 3_600;
const RECV_BUFFER: usize = 2_048;

/// The credentials Telnyx's SDK ships for its TURN servers (docs/telnyx-protocol.md): fine to print.
pub const DEFAULT_TURN_USERNAME: &str = "testuser";
/// See [`DEFAULT_TURN_USERNAME`].
pub const DEFAULT_TURN_PASSWORD: &str = "testpassword";

/// How to start a [`TurnServer`].
#[derive(Clone)]
pub struct TurnConfig {
    /// Where to listen (UDP); port 0 lets the OS pick. Relay sockets open on the same IP.
    pub listen: SocketAddr,
    /// The realm sent in 401 answers; part of the long-term key.
    pub realm: String,
    /// The one accepted username.
    pub username: String,
    /// Its password. Not shown by `Debug`.
    pub password: String,
    /// Answer over UDP (else UDP is dropped unanswered, as by a firewall); TCP always answers.
    pub answer_udp: bool,
}

impl Default for TurnConfig {
    /// 127.0.0.1:0, realm `telnyx.sim`, [`DEFAULT_TURN_USERNAME`] / [`DEFAULT_TURN_PASSWORD`].
    fn default() -> TurnConfig {
        TurnConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            realm: "telnyx.sim".to_owned(),
            username: DEFAULT_TURN_USERNAME.to_owned(),
            password: DEFAULT_TURN_PASSWORD.to_owned(),
            answer_udp: true,
        }
    }
}

impl std::fmt::Debug for TurnConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnConfig")
            .field("listen", &self.listen)
            .field("realm", &self.realm)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("answer_udp", &self.answer_udp)
            .finish()
    }
}

/// What the server has done since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TurnStats {
    /// Binding requests answered (server-reflexive lookups).
    pub bindings: u64,
    /// Allocations granted.
    pub allocations: u64,
    /// Allocations alive now.
    pub live_allocations: u64,
    /// Requests refused for missing or wrong credentials (the first, unauthenticated Allocate of
    /// every client is one of these).
    pub unauthorized: u64,
    /// Datagrams relayed from clients to peers (Send indications).
    pub relayed_to_peers: u64,
    /// Datagrams relayed from peers to clients (Data indications).
    pub relayed_to_clients: u64,
    /// Datagrams dropped because the peer had no permission.
    pub dropped_without_permission: u64,
    /// Of those relayed to peers, the ones that came as ChannelData.
    pub channel_data_to_peers: u64,
    /// Of those relayed to clients, the ones sent as ChannelData.
    pub channel_data_to_clients: u64,
}

#[derive(Debug, Default)]
struct Counters {
    bindings: AtomicU64,
    allocations: AtomicU64,
    unauthorized: AtomicU64,
    relayed_to_peers: AtomicU64,
    relayed_to_clients: AtomicU64,
    dropped_without_permission: AtomicU64,
    channel_data_to_peers: AtomicU64,
    channel_data_to_clients: AtomicU64,
}

/// How the server reaches a client: from where its UDP came, or over its TCP connection.
#[derive(Clone)]
enum ClientLink {
    Udp(SocketAddr),
    /// Plain TCP, or TLS over TCP: the writing half (for TLS, the whole shared stream).
    Tcp(SocketAddr, Arc<Mutex<dyn Write + Send>>),
}

impl std::fmt::Debug for ClientLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientLink::Udp(addr) => write!(f, "Udp({addr})"),
            ClientLink::Tcp(addr, _) => write!(f, "Tcp({addr})"),
        }
    }
}

impl ClientLink {
    /// The client's transport address: what its allocation is known by.
    fn addr(&self) -> SocketAddr {
        match self {
            ClientLink::Udp(addr) | ClientLink::Tcp(addr, _) => *addr,
        }
    }
}

#[derive(Debug)]
struct Allocation {
    relay: UdpSocket,
    relayed_addr: SocketAddr,
    expires: Instant,
    /// Peer IP → when its permission lapses.
    permissions: HashMap<IpAddr, Instant>,
    /// Bound channels: number → (peer, when the binding lapses).
    channels: HashMap<u16, (SocketAddr, Instant)>,
    alive: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Allocation {
    fn permits(&self, peer: IpAddr, now: Instant) -> bool {
        self.permissions.get(&peer).is_some_and(|lapses| *lapses > now)
    }

    /// The live channel bound to `peer`, if any.
    fn channel_of(&self, peer: SocketAddr, now: Instant) -> Option<u16> {
        self.channels.iter().find_map(|(number, (bound, lapses))| (*bound == peer && *lapses > now).then_some(*number))
    }
}

#[derive(Debug)]
struct Shared {
    socket: UdpSocket,
    key: IntegrityKey,
    config: TurnConfig,
    nonce: String,
    counters: Counters,
    /// Client address (the 5-tuple's varying part) → its allocation.
    allocations: Mutex<HashMap<SocketAddr, Allocation>>,
    stop: AtomicBool,
}

impl Shared {
    fn allocations(&self) -> MutexGuard<'_, HashMap<SocketAddr, Allocation>> {
        self.allocations.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn send(&self, bytes: &[u8], to: &ClientLink) {
        let sent = match to {
            ClientLink::Udp(addr) => self.socket.send_to(bytes, addr).map(|_| ()),
            ClientLink::Tcp(_, stream) => stream.lock().unwrap_or_else(PoisonError::into_inner).write_all(bytes),
        };
        if let Err(error) = sent {
            tracing::debug!(%error, to = %to.addr(), "turn: send failed");
        }
    }
}

/// A running STUN/TURN server. Dropping it stops its threads and frees every allocation.
#[derive(Debug)]
pub struct TurnServer {
    local_addr: SocketAddr,
    tls_addr: SocketAddr,
    certificate_pem: Vec<u8>,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl TurnServer {
    /// Binds `config.listen` for UDP and the same port for TCP, and serves on threads of its own.
    pub fn start(config: TurnConfig) -> std::io::Result<TurnServer> {
        let (socket, listener) = bind_both(config.listen)?;
        socket.set_read_timeout(Some(TICK))?;
        let local_addr = socket.local_addr()?;
        listener.set_nonblocking(true)?;
        let key = IntegrityKey::long_term(&config.username, &config.realm, &config.password);
        let nonce = format!("{:016x}", u64::from_be_bytes(softphone_stun::random_bytes()));
        let shared = Arc::new(Shared {
            socket,
            key,
            config,
            nonce,
            counters: Counters::default(),
            allocations: Mutex::default(),
            stop: AtomicBool::new(false),
        });
        let serving = Arc::clone(&shared);
        let udp = std::thread::Builder::new().name("sim-turn".to_owned()).spawn(move || serve(&serving))?;
        let accepting = Arc::clone(&shared);
        let tcp = std::thread::Builder::new()
            .name("sim-turn-tcp".to_owned())
            .spawn(move || accept(&accepting, &listener, "TCP", serve_connection))?;
        let (acceptor, certificate_pem) = tls_acceptor(local_addr.ip()).map_err(std::io::Error::other)?;
        let tls_listener = TcpListener::bind(SocketAddr::new(local_addr.ip(), 0))?;
        tls_listener.set_nonblocking(true)?;
        let tls_addr = tls_listener.local_addr()?;
        let accepting = Arc::clone(&shared);
        let tls = std::thread::Builder::new().name("sim-turn-tls".to_owned()).spawn(move || {
            accept(&accepting, &tls_listener, "TLS", move |shared, stream, from| {
                serve_tls_connection(shared, &acceptor, stream, from);
            });
        })?;
        tracing::info!(%local_addr, %tls_addr, "turn server listening (UDP and TCP; TLS)");
        Ok(TurnServer { local_addr, tls_addr, certificate_pem, shared, threads: vec![udp, tcp, tls] })
    }

    /// The address clients send to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `turn:IP:PORT?transport=udp`, as an ICE server URL.
    pub fn turn_url(&self) -> String {
        format!("turn:{}?transport=udp", self.local_addr)
    }

    /// `turn:IP:PORT?transport=tcp`, as an ICE server URL.
    pub fn turn_tcp_url(&self) -> String {
        format!("turn:{}?transport=tcp", self.local_addr)
    }

    /// `turns:IP:PORT` (TLS, on its own port), as an ICE server URL.
    pub fn turns_url(&self) -> String {
        format!("turns:{}", self.tls_addr)
    }

    /// The TLS certificate (PEM), self-signed for the server's IP: what a client must trust.
    pub fn certificate_pem(&self) -> &[u8] {
        &self.certificate_pem
    }

    /// `stun:IP:PORT`, as an ICE server URL.
    pub fn stun_url(&self) -> String {
        format!("stun:{}", self.local_addr)
    }

    /// What it has done so far.
    pub fn stats(&self) -> TurnStats {
        let counters = &self.shared.counters;
        TurnStats {
            bindings: counters.bindings.load(Ordering::Relaxed),
            allocations: counters.allocations.load(Ordering::Relaxed),
            live_allocations: self.shared.allocations().len() as u64,
            unauthorized: counters.unauthorized.load(Ordering::Relaxed),
            relayed_to_peers: counters.relayed_to_peers.load(Ordering::Relaxed),
            relayed_to_clients: counters.relayed_to_clients.load(Ordering::Relaxed),
            dropped_without_permission: counters.dropped_without_permission.load(Ordering::Relaxed),
            channel_data_to_peers: counters.channel_data_to_peers.load(Ordering::Relaxed),
            channel_data_to_clients: counters.channel_data_to_clients.load(Ordering::Relaxed),
        }
    }

    /// The relayed addresses of the live allocations.
    pub fn relayed_addrs(&self) -> Vec<SocketAddr> {
        self.shared.allocations().values().map(|allocation| allocation.relayed_addr).collect()
    }
}

impl Drop for TurnServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        let allocations: Vec<_> = self.shared.allocations().drain().map(|(_, allocation)| allocation).collect();
        for allocation in allocations {
            close(allocation);
        }
    }
}

/// A UDP socket and a TCP listener on the same port. With port 0 the OS picks the UDP port, which
/// TCP may have in use (another test's connection): then another pick, a few times.
fn bind_both(listen: SocketAddr) -> std::io::Result<(UdpSocket, TcpListener)> {
    let mut attempts = 0;
    loop {
        let socket = UdpSocket::bind(listen)?;
        match TcpListener::bind(socket.local_addr()?) {
            Ok(listener) => return Ok((socket, listener)),
            Err(error) if listen.port() == 0 && attempts < 20 => {
                attempts += 1;
                tracing::debug!(%error, "turn: TCP port taken, picking another");
            }
            Err(error) => return Err(error),
        }
    }
}

fn close(mut allocation: Allocation) {
    allocation.alive.store(false, Ordering::Relaxed);
    if let Some(thread) = allocation.thread.take() {
        let _ = thread.join();
    }
}

fn serve(shared: &Arc<Shared>) {
    let mut buf = vec![0u8; RECV_BUFFER];
    while !shared.stop.load(Ordering::Relaxed) {
        expire(shared);
        match shared.socket.recv_from(&mut buf) {
            Ok(_) if !shared.config.answer_udp => {}
            Ok((len, from)) => handle(shared, &buf[..len], &ClientLink::Udp(from)),
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::ConnectionRefused
                ) => {}
            Err(error) => {
                tracing::warn!(%error, "turn server stopped");
                return;
            }
        }
    }
}

/// Takes connections (`transport` names them in the log), each served by `serve` on a thread of
/// its own.
fn accept<S>(shared: &Arc<Shared>, listener: &TcpListener, transport: &'static str, serve: S)
where
    S: Fn(&Arc<Shared>, TcpStream, SocketAddr) + Clone + Send + 'static,
{
    while !shared.stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, from)) => {
                let (shared, serve) = (Arc::clone(shared), serve.clone());
                let spawned = std::thread::Builder::new()
                    .name(format!("sim-turn-{}-{}", transport.to_lowercase(), from.port()))
                    .spawn(move || serve(&shared, stream, from));
                if let Err(error) = spawned {
                    tracing::warn!(%error, transport, "turn: connection not served");
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(TICK),
            Err(error) => {
                tracing::warn!(%error, transport, "turn: accept failed");
                std::thread::sleep(TICK);
            }
        }
    }
}

/// One client's TCP connection: STUN messages back to back. Closing it frees its allocation.
fn serve_connection(shared: &Arc<Shared>, stream: TcpStream, from: SocketAddr) {
    let (Ok(()), Ok(()), Ok(writer)) =
        (stream.set_nonblocking(false), stream.set_read_timeout(Some(TICK)), stream.try_clone())
    else {
        return;
    };
    let link = ClientLink::Tcp(from, Arc::new(Mutex::new(writer)));
    let mut reader = stream;
    serve_stream(shared, from, &link, |buf| reader.read(buf));
}

/// Reads STUN messages off a connection (`read` gives what came, or WouldBlock / TimedOut when
/// nothing did) and answers them on `link`, until the connection closes or the server stops.
fn serve_stream(
    shared: &Arc<Shared>,
    from: SocketAddr,
    link: &ClientLink,
    mut read: impl FnMut(&mut [u8]) -> std::io::Result<usize>,
) {
    let mut inbox = Vec::new();
    let mut buf = vec![0u8; RECV_BUFFER];
    while !shared.stop.load(Ordering::Relaxed) {
        match read(&mut buf) {
            Ok(0) => break,
            Ok(len) => inbox.extend_from_slice(&buf[..len]),
            Err(error) if matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                continue;
            }
            Err(_) => break,
        }
        loop {
            match softphone_stun::take_framed(&mut inbox) {
                Ok(Some(message)) => handle(shared, &message, link),
                Ok(None) => break,
                Err(_) => {
                    tracing::debug!(client = %from, "turn: not STUN over TCP, connection dropped");
                    inbox.clear();
                    return free(shared, from);
                }
            }
        }
    }
    free(shared, from);
}

/// An acceptor with a fresh self-signed certificate for `ip` (and `localhost`), and the
/// certificate as PEM.
fn tls_acceptor(ip: IpAddr) -> Result<(openssl::ssl::SslAcceptor, Vec<u8>), openssl::error::ErrorStack> {
    use openssl::asn1::Asn1Time;
    use openssl::bn::{BigNum, MsbOption};
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::ssl::{SslAcceptor, SslMethod};
    use openssl::x509::extension::SubjectAlternativeName;
    use openssl::x509::{X509, X509NameBuilder};

    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    let key = PKey::from_ec_key(EcKey::generate(&group)?)?;
    let mut serial = BigNum::new()?;
    serial.rand(64, MsbOption::MAYBE_ZERO, false)?;
    // A name of its own: a client trusting several servers' certificates finds an issuer by name.
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, &format!("turn.telnyx.sim {}", serial.to_hex_str()?))?;
    let name = name.build();
    let mut certificate = X509::builder()?;
    certificate.set_version(2)?;
    let serial = serial.to_asn1_integer()?;
    certificate.set_serial_number(&serial)?;
    certificate.set_subject_name(&name)?;
    certificate.set_issuer_name(&name)?;
    certificate.set_pubkey(&key)?;
    certificate.set_not_before(&*Asn1Time::days_from_now(0)?)?;
    certificate.set_not_after(&*Asn1Time::days_from_now(2)?)?;
    let alternative_names = SubjectAlternativeName::new()
        .ip(&ip.to_string())
        .dns("localhost")
        .build(&certificate.x509v3_context(None, None))?;
    certificate.append_extension(alternative_names)?;
    certificate.sign(&key, MessageDigest::sha256())?;
    let certificate = certificate.build();
    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())?;
    acceptor.set_private_key(&key)?;
    acceptor.set_certificate(&certificate)?;
    acceptor.check_private_key()?;
    Ok((acceptor.build(), certificate.to_pem()?))
}

/// One client's TLS connection. One TLS stream cannot be split into a reading and a writing half,
/// so the socket is non-blocking and the reader takes the stream's lock only to look.
fn serve_tls_connection(
    shared: &Arc<Shared>,
    acceptor: &openssl::ssl::SslAcceptor,
    stream: TcpStream,
    from: SocketAddr,
) {
    let (Ok(()), Ok(())) = (stream.set_nonblocking(false), stream.set_read_timeout(Some(Duration::from_secs(5))))
    else {
        return;
    };
    let stream = match acceptor.accept(stream) {
        Ok(stream) => stream,
        Err(error) => {
            tracing::debug!(%error, client = %from, "turn: TLS handshake failed");
            return;
        }
    };
    if stream.get_ref().set_nonblocking(true).is_err() {
        return;
    }
    let stream = Arc::new(Mutex::new(PatientWriter(stream)));
    let link = ClientLink::Tcp(from, Arc::clone(&stream) as Arc<Mutex<dyn Write + Send>>);
    serve_stream(shared, from, &link, |buf| {
        let read = stream.lock().unwrap_or_else(PoisonError::into_inner).0.read(buf);
        if matches!(&read, Err(error) if error.kind() == std::io::ErrorKind::WouldBlock) {
            std::thread::sleep(Duration::from_millis(1));
        }
        read
    });
}

/// A non-blocking TLS stream whose writes wait out a full socket (briefly) instead of failing.
struct PatientWriter(openssl::ssl::SslStream<TcpStream>);

impl Write for PatientWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let deadline = Instant::now() + Duration::from_millis(200);
        loop {
            match self.0.write(bytes) {
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                other => return other,
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

fn free(shared: &Shared, client: SocketAddr) {
    let freed = shared.allocations().remove(&client);
    if let Some(allocation) = freed {
        tracing::debug!(%client, "turn: connection closed, allocation freed");
        close(allocation);
    }
}

/// Frees allocations whose lifetime ran out.
fn expire(shared: &Shared) {
    let now = Instant::now();
    let lapsed: Vec<_> = {
        let mut allocations = shared.allocations();
        let clients: Vec<_> =
            allocations.iter().filter(|(_, allocation)| allocation.expires <= now).map(|(client, _)| *client).collect();
        clients.into_iter().filter_map(|client| allocations.remove(&client)).collect()
    };
    for allocation in lapsed {
        tracing::debug!(relayed = %allocation.relayed_addr, "turn: allocation expired");
        close(allocation);
    }
}

fn handle(shared: &Arc<Shared>, bytes: &[u8], from: &ClientLink) {
    if let Some((channel, data)) = softphone_stun::decode_channel_data(bytes) {
        return channel_data_to_peer(shared, channel, data, from.addr());
    }
    if !is_stun(bytes) {
        return;
    }
    let Ok(message) = Message::decode(bytes) else {
        return;
    };
    match (message.method, message.class) {
        (Method::Binding, Class::Request) => {
            shared.counters.bindings.fetch_add(1, Ordering::Relaxed);
            let reply = message.reply(Class::Success).with(Attribute::XorMappedAddress(from.addr()));
            shared.send(&reply.encode(None, true), from);
        }
        (Method::Send, Class::Indication) => relay_to_peer(shared, &message, from.addr()),
        (Method::Allocate | Method::Refresh | Method::CreatePermission | Method::ChannelBind, Class::Request) => {
            if !authenticated(shared, &message, bytes, from) {
                return;
            }
            let reply = match message.method {
                Method::Allocate => allocate(shared, &message, from),
                Method::Refresh => refresh(shared, &message, from.addr()),
                Method::CreatePermission => create_permission(shared, &message, from.addr()),
                _ => channel_bind(shared, &message, from.addr()),
            };
            shared.send(&reply.encode(Some(&shared.key), true), from);
        }
        _ => {}
    }
}

/// Checks the long-term credential; answers 401 (with realm and nonce) when it is missing or
/// wrong.
fn authenticated(shared: &Shared, message: &Message, bytes: &[u8], from: &ClientLink) -> bool {
    let config = &shared.config;
    let known_user = message.username() == Some(config.username.as_str());
    if message.has_integrity() && known_user && message.verify_integrity(bytes, &shared.key) {
        if message.nonce() != Some(shared.nonce.as_str()) {
            let reply = error(message, 438, "Stale Nonce")
                .with(Attribute::Realm(config.realm.clone()))
                .with(Attribute::Nonce(shared.nonce.clone()));
            shared.send(&reply.encode(None, true), from);
            return false;
        }
        return true;
    }
    shared.counters.unauthorized.fetch_add(1, Ordering::Relaxed);
    let reply = error(message, 401, "Unauthorized")
        .with(Attribute::Realm(config.realm.clone()))
        .with(Attribute::Nonce(shared.nonce.clone()));
    shared.send(&reply.encode(None, true), from);
    false
}

fn error(request: &Message, code: u16, reason: &str) -> Message {
    request.reply(Class::Error).with(Attribute::ErrorCode { code, reason: reason.to_owned() })
}

fn granted_lifetime(message: &Message) -> u32 {
    message.lifetime().unwrap_or(DEFAULT_LIFETIME_SECS).min(MAX_LIFETIME_SECS)
}

fn allocate(shared: &Arc<Shared>, message: &Message, link: &ClientLink) -> Message {
    let from = link.addr();
    if message.requested_transport() != Some(TRANSPORT_UDP) {
        return error(message, 442, "Unsupported Transport Protocol");
    }
    if shared.allocations().contains_key(&from) {
        return error(message, 437, "Allocation Mismatch");
    }
    let relay = match UdpSocket::bind(SocketAddr::new(shared.config.listen.ip(), 0)) {
        Ok(relay) => relay,
        Err(_) => return error(message, 508, "Insufficient Capacity"),
    };
    let (Ok(relayed_addr), Ok(reader), Ok(())) =
        (relay.local_addr(), relay.try_clone(), relay.set_read_timeout(Some(TICK)))
    else {
        return error(message, 508, "Insufficient Capacity");
    };
    let lifetime = granted_lifetime(message);
    let alive = Arc::new(AtomicBool::new(true));
    let thread = {
        let shared = Arc::clone(shared);
        let alive = Arc::clone(&alive);
        let link = link.clone();
        std::thread::Builder::new()
            .name(format!("sim-turn-relay-{}", relayed_addr.port()))
            .spawn(move || relay_to_client(&shared, &reader, &link, &alive))
    };
    let Ok(thread) = thread else {
        return error(message, 508, "Insufficient Capacity");
    };
    shared.allocations().insert(
        from,
        Allocation {
            relay,
            relayed_addr,
            expires: Instant::now() + Duration::from_secs(u64::from(lifetime)),
            permissions: HashMap::new(),
            channels: HashMap::new(),
            alive,
            thread: Some(thread),
        },
    );
    shared.counters.allocations.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(client = %from, relayed = %relayed_addr, lifetime, "turn: allocated");
    message
        .reply(Class::Success)
        .with(Attribute::XorRelayedAddress(relayed_addr))
        .with(Attribute::XorMappedAddress(from))
        .with(Attribute::Lifetime(lifetime))
}

fn refresh(shared: &Shared, message: &Message, from: SocketAddr) -> Message {
    let lifetime = granted_lifetime(message);
    let freed = {
        let mut allocations = shared.allocations();
        let Some(allocation) = allocations.get_mut(&from) else {
            return error(message, 437, "Allocation Mismatch");
        };
        if lifetime == 0 {
            allocations.remove(&from)
        } else {
            allocation.expires = Instant::now() + Duration::from_secs(u64::from(lifetime));
            None
        }
    };
    if let Some(allocation) = freed {
        tracing::debug!(client = %from, "turn: allocation freed");
        close(allocation);
    }
    message.reply(Class::Success).with(Attribute::Lifetime(lifetime))
}

fn create_permission(shared: &Shared, message: &Message, from: SocketAddr) -> Message {
    let peers: Vec<IpAddr> = message
        .attributes
        .iter()
        .filter_map(|attribute| match attribute {
            Attribute::XorPeerAddress(peer) => Some(peer.ip()),
            _ => None,
        })
        .collect();
    if peers.is_empty() {
        return error(message, 400, "Bad Request: no XOR-PEER-ADDRESS");
    }
    let mut allocations = shared.allocations();
    let Some(allocation) = allocations.get_mut(&from) else {
        return error(message, 437, "Allocation Mismatch");
    };
    let lapses = Instant::now() + Duration::from_secs(u64::from(PERMISSION_LIFETIME_SECS));
    for peer in peers {
        allocation.permissions.insert(peer, lapses);
    }
    message.reply(Class::Success)
}

/// Binds (or refreshes) a channel to a peer (RFC 8656 §12.2): a number in range, not bound to
/// another peer, and a peer not bound to another number. It also installs the peer's permission.
fn channel_bind(shared: &Shared, message: &Message, from: SocketAddr) -> Message {
    let (Some(number), Some(peer)) = (message.channel_number(), message.xor_peer_address()) else {
        return error(message, 400, "Bad Request: CHANNEL-NUMBER and XOR-PEER-ADDRESS are required");
    };
    if !softphone_stun::CHANNEL_NUMBERS.contains(&number) {
        return error(message, 400, "Bad Request: channel number out of range");
    }
    let now = Instant::now();
    let mut allocations = shared.allocations();
    let Some(allocation) = allocations.get_mut(&from) else {
        return error(message, 437, "Allocation Mismatch");
    };
    let taken_by_other =
        allocation.channels.get(&number).is_some_and(|(bound, lapses)| *bound != peer && *lapses > now);
    let peer_on_other = allocation.channel_of(peer, now).is_some_and(|other| other != number);
    if taken_by_other || peer_on_other {
        return error(message, 400, "Bad Request: channel or peer already bound");
    }
    let lapses = now + Duration::from_secs(u64::from(softphone_stun::CHANNEL_LIFETIME_SECS));
    allocation.channels.insert(number, (peer, lapses));
    let permission = now + Duration::from_secs(u64::from(PERMISSION_LIFETIME_SECS));
    let kept = allocation.permissions.entry(peer.ip()).or_insert(permission);
    *kept = (*kept).max(permission);
    message.reply(Class::Success)
}

/// ChannelData from a client: out through the relay to the channel's peer.
fn channel_data_to_peer(shared: &Shared, channel: u16, data: &[u8], from: SocketAddr) {
    let allocations = shared.allocations();
    let Some(allocation) = allocations.get(&from) else {
        return;
    };
    let now = Instant::now();
    let Some((peer, _)) = allocation.channels.get(&channel).filter(|(_, lapses)| *lapses > now) else {
        return;
    };
    if !allocation.permits(peer.ip(), now) {
        shared.counters.dropped_without_permission.fetch_add(1, Ordering::Relaxed);
        return;
    }
    shared.counters.channel_data_to_peers.fetch_add(1, Ordering::Relaxed);
    shared.counters.relayed_to_peers.fetch_add(1, Ordering::Relaxed);
    if let Err(error) = allocation.relay.send_to(data, *peer) {
        tracing::debug!(%error, %peer, "turn: relay send failed");
    }
}

fn relay_to_peer(shared: &Shared, message: &Message, from: SocketAddr) {
    let (Some(peer), Some(data)) = (message.xor_peer_address(), message.data()) else {
        return;
    };
    let allocations = shared.allocations();
    let Some(allocation) = allocations.get(&from) else {
        return;
    };
    if !allocation.permits(peer.ip(), Instant::now()) {
        shared.counters.dropped_without_permission.fetch_add(1, Ordering::Relaxed);
        return;
    }
    // Counted before it leaves, so whoever receives it sees it counted.
    shared.counters.relayed_to_peers.fetch_add(1, Ordering::Relaxed);
    if let Err(error) = allocation.relay.send_to(data, peer) {
        tracing::debug!(%error, %peer, "turn: relay send failed");
    }
}

/// One allocation's relay socket: what peers send there goes to the client as ChannelData when
/// the peer has a channel, else as Data indications.
fn relay_to_client(shared: &Shared, relay: &UdpSocket, link: &ClientLink, alive: &AtomicBool) {
    let client = link.addr();
    let mut buf = vec![0u8; RECV_BUFFER];
    while alive.load(Ordering::Relaxed) && !shared.stop.load(Ordering::Relaxed) {
        let (len, peer) = match relay.recv_from(&mut buf) {
            Ok(received) => received,
            Err(_) => continue,
        };
        let now = Instant::now();
        // Whether the peer may send, and its channel if it has one.
        let route = shared
            .allocations()
            .get(&client)
            .filter(|allocation| allocation.permits(peer.ip(), now))
            .map(|allocation| allocation.channel_of(peer, now));
        let Some(channel) = route else {
            shared.counters.dropped_without_permission.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        shared.counters.relayed_to_clients.fetch_add(1, Ordering::Relaxed);
        match channel {
            Some(channel) => {
                shared.counters.channel_data_to_clients.fetch_add(1, Ordering::Relaxed);
                shared.send(&softphone_stun::encode_channel_data(channel, &buf[..len]), link);
            }
            None => {
                let indication = Message::new(Method::Data, Class::Indication, softphone_stun::TransactionId::random())
                    .with(Attribute::XorPeerAddress(peer))
                    .with(Attribute::Data(buf[..len].to_vec()));
                shared.send(&indication.encode(None, false), link);
            }
        }
    }
}
