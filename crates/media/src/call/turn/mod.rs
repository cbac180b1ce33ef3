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

mod client;
mod stream;
mod url;

pub(crate) use client::*;
pub use stream::trust_turn_certificate;
use stream::*;
pub(crate) use url::*;

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
