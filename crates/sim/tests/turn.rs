//! The simulator's STUN/TURN server, spoken to byte by byte over UDP on 127.0.0.1: Binding,
//! the long-term credential's 401 challenge, Allocate, permissions (a peer without one is not
//! heard), Send and Data indications, ChannelBind and ChannelData, Refresh with lifetime 0.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use softphone_sim::turn::{DEFAULT_TURN_PASSWORD, DEFAULT_TURN_USERNAME, TurnConfig, TurnServer};
use softphone_stun::{Attribute, Class, IntegrityKey, Message, Method, TRANSPORT_UDP, TransactionId};

fn socket() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.set_read_timeout(Some(Duration::from_secs(2))).expect("timeout");
    socket
}

fn exchange(client: &UdpSocket, server: SocketAddr, request: &[u8]) -> (Message, Vec<u8>) {
    client.send_to(request, server).expect("send");
    let mut buf = [0u8; 2_048];
    let (len, from) = client.recv_from(&mut buf).expect("an answer within 2 s");
    assert_eq!(from, server);
    (Message::decode(&buf[..len]).expect("a STUN answer"), buf[..len].to_vec())
}

struct Session {
    client: UdpSocket,
    server: SocketAddr,
    key: IntegrityKey,
    realm: String,
    nonce: String,
}

impl Session {
    fn request(&self, method: Method, attributes: Vec<Attribute>) -> (Message, Vec<u8>) {
        let mut request = Message::request(method, TransactionId::random().0)
            .with(Attribute::Username(DEFAULT_TURN_USERNAME.to_owned()))
            .with(Attribute::Realm(self.realm.clone()))
            .with(Attribute::Nonce(self.nonce.clone()));
        for attribute in attributes {
            request = request.with(attribute);
        }
        exchange(&self.client, self.server, &request.encode(Some(&self.key), true))
    }
}

/// Allocates with the 401 dance; returns the session and the relayed address.
fn allocate(turn: &TurnServer, password: &str) -> (Session, Result<SocketAddr, (u16, String)>) {
    let client = socket();
    let first = Message::request(Method::Allocate, [1; 12]).with(Attribute::RequestedTransport(TRANSPORT_UDP));
    let (challenge, _) = exchange(&client, turn.local_addr(), &first.encode(None, true));
    assert_eq!(challenge.class, Class::Error);
    assert_eq!(challenge.error_code().map(|(code, _)| code), Some(401), "{challenge:?}");
    let realm = challenge.realm().expect("a realm").to_owned();
    let nonce = challenge.nonce().expect("a nonce").to_owned();
    let key = IntegrityKey::long_term(DEFAULT_TURN_USERNAME, &realm, password);
    let session = Session { client, server: turn.local_addr(), key, realm, nonce };
    let (answer, bytes) = session.request(Method::Allocate, vec![Attribute::RequestedTransport(TRANSPORT_UDP)]);
    let result = match answer.class {
        Class::Success => {
            assert!(answer.verify_integrity(&bytes, &session.key), "the answer is signed with our key");
            Ok(answer.xor_relayed_address().expect("a relayed address"))
        }
        _ => Err(answer.error_code().map(|(code, reason)| (code, reason.to_owned())).expect("an error code")),
    };
    (session, result)
}

#[test]
fn binding_tells_the_client_its_address() {
    let turn = TurnServer::start(TurnConfig::default()).expect("start");
    let client = socket();
    let request = Message::request(Method::Binding, [7; 12]);
    let (answer, _) = exchange(&client, turn.local_addr(), &request.encode(None, true));
    assert_eq!(answer.class, Class::Success);
    assert_eq!(answer.transaction_id, request.transaction_id);
    assert_eq!(answer.xor_mapped_address(), Some(client.local_addr().unwrap()));
    assert_eq!(turn.stats().bindings, 1);
}

#[test]
fn a_relay_carries_packets_both_ways_for_permitted_peers_only() {
    let turn = TurnServer::start(TurnConfig::default()).expect("start");
    let (session, relayed) = allocate(&turn, DEFAULT_TURN_PASSWORD);
    let relayed = relayed.expect("allocated");
    assert_eq!(turn.relayed_addrs(), [relayed]);
    let peer = socket();
    let peer_addr = peer.local_addr().unwrap();

    // No permission yet: the peer's packet is dropped.
    peer.send_to(b"too early", relayed).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while turn.stats().dropped_without_permission == 0 {
        assert!(std::time::Instant::now() < deadline, "never dropped: {:?}", turn.stats());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(turn.stats().dropped_without_permission, 1, "{:?}", turn.stats());

    let (granted, _) = session.request(Method::CreatePermission, vec![Attribute::XorPeerAddress(peer_addr)]);
    assert_eq!(granted.class, Class::Success, "{granted:?}");

    let send = Message::new(Method::Send, Class::Indication, TransactionId::random())
        .with(Attribute::XorPeerAddress(peer_addr))
        .with(Attribute::Data(b"to the peer".to_vec()));
    session.client.send_to(&send.encode(None, false), session.server).unwrap();
    let mut buf = [0u8; 2_048];
    let (len, from) = peer.recv_from(&mut buf).expect("the peer gets the data");
    assert_eq!((&buf[..len], from), (&b"to the peer"[..], relayed), "from the relayed address");

    peer.send_to(b"to the client", relayed).unwrap();
    let (len, _) = session.client.recv_from(&mut buf).expect("a Data indication");
    let data = Message::decode(&buf[..len]).expect("STUN");
    assert_eq!((data.method, data.class), (Method::Data, Class::Indication));
    assert_eq!(data.xor_peer_address(), Some(peer_addr));
    assert_eq!(data.data(), Some(&b"to the client"[..]));
    let stats = turn.stats();
    assert_eq!((stats.relayed_to_peers, stats.relayed_to_clients), (1, 1), "{stats:?}");

    let (freed, _) = session.request(Method::Refresh, vec![Attribute::Lifetime(0)]);
    assert_eq!(freed.class, Class::Success);
    assert_eq!(turn.stats().live_allocations, 0);
    peer.send_to(b"after the end", relayed).unwrap();
    session.client.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    assert!(session.client.recv_from(&mut buf).is_err(), "nothing is relayed once freed");
}

#[test]
fn a_bound_channel_carries_channel_data_both_ways() {
    let turn = TurnServer::start(TurnConfig::default()).expect("start");
    let (session, relayed) = allocate(&turn, DEFAULT_TURN_PASSWORD);
    let relayed = relayed.expect("allocated");
    let peer = socket();
    let peer_addr = peer.local_addr().unwrap();

    // Out of range, then missing the peer: refused.
    let (refused, _) = session
        .request(Method::ChannelBind, vec![Attribute::ChannelNumber(0x3FFF), Attribute::XorPeerAddress(peer_addr)]);
    assert_eq!(refused.error_code().map(|(code, _)| code), Some(400), "{refused:?}");
    let (refused, _) = session.request(Method::ChannelBind, vec![Attribute::ChannelNumber(0x4000)]);
    assert_eq!(refused.error_code().map(|(code, _)| code), Some(400), "{refused:?}");

    // Bound: the binding is also the peer's permission.
    let (bound, _) = session
        .request(Method::ChannelBind, vec![Attribute::ChannelNumber(0x4000), Attribute::XorPeerAddress(peer_addr)]);
    assert_eq!(bound.class, Class::Success, "{bound:?}");
    // The same number for another peer is refused; the same binding again is a refresh.
    let (refused, _) = session.request(
        Method::ChannelBind,
        vec![Attribute::ChannelNumber(0x4000), Attribute::XorPeerAddress("127.0.0.1:9".parse().unwrap())],
    );
    assert_eq!(refused.error_code().map(|(code, _)| code), Some(400), "{refused:?}");
    let (refreshed, _) = session
        .request(Method::ChannelBind, vec![Attribute::ChannelNumber(0x4000), Attribute::XorPeerAddress(peer_addr)]);
    assert_eq!(refreshed.class, Class::Success, "{refreshed:?}");

    session.client.send_to(&softphone_stun::encode_channel_data(0x4000, b"to the peer"), session.server).unwrap();
    let mut buf = [0u8; 2_048];
    let (len, from) = peer.recv_from(&mut buf).expect("the peer gets the data");
    assert_eq!((&buf[..len], from), (&b"to the peer"[..], relayed), "from the relayed address");

    peer.send_to(b"to the client", relayed).unwrap();
    let (len, _) = session.client.recv_from(&mut buf).expect("ChannelData");
    assert_eq!(softphone_stun::decode_channel_data(&buf[..len]), Some((0x4000, &b"to the client"[..])));
    // An unbound channel carries nothing.
    session.client.send_to(&softphone_stun::encode_channel_data(0x4001, b"nowhere"), session.server).unwrap();
    peer.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    assert!(peer.recv_from(&mut buf).is_err(), "an unbound channel reaches no one");
    let stats = turn.stats();
    assert_eq!((stats.channel_data_to_peers, stats.channel_data_to_clients), (1, 1), "{stats:?}");
    assert_eq!((stats.relayed_to_peers, stats.relayed_to_clients), (1, 1), "{stats:?}");
}

#[test]
fn a_wrong_password_is_refused_and_nothing_is_allocated() {
    let turn = TurnServer::start(TurnConfig::default()).expect("start");
    let (_, result) = allocate(&turn, "wrong");
    assert_eq!(result.map_err(|(code, _)| code), Err(401));
    assert_eq!(turn.stats().allocations, 0);
    assert_eq!(turn.stats().unauthorized, 2);
}

#[test]
fn a_second_allocation_from_the_same_address_is_a_mismatch() {
    let turn = TurnServer::start(TurnConfig::default()).expect("start");
    let (session, first) = allocate(&turn, DEFAULT_TURN_PASSWORD);
    first.expect("allocated");
    let (again, _) = session.request(Method::Allocate, vec![Attribute::RequestedTransport(TRANSPORT_UDP)]);
    assert_eq!(again.error_code().map(|(code, _)| code), Some(437));
    assert_eq!(turn.stats().live_allocations, 1);
}

#[test]
fn over_tcp_messages_come_back_to_back_and_closing_frees_the_allocation() {
    use std::io::{Read, Write};
    let turn = TurnServer::start(TurnConfig { answer_udp: false, ..TurnConfig::default() }).expect("start");
    let udp = socket();
    udp.send_to(&Message::request(Method::Binding, [3; 12]).encode(None, true), turn.local_addr()).unwrap();
    let mut buf = [0u8; 2_048];
    udp.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    assert!(udp.recv_from(&mut buf).is_err(), "UDP is not answered when answer_udp is off");

    let mut stream = std::net::TcpStream::connect(turn.local_addr()).expect("TCP on the same port");
    stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut inbox = Vec::new();
    let mut next = |stream: &mut std::net::TcpStream| loop {
        if let Some(message) = softphone_stun::take_framed(&mut inbox).expect("STUN") {
            return Message::decode(&message).expect("decodes");
        }
        let len = stream.read(&mut buf).expect("an answer within 2 s");
        assert!(len > 0, "the server closed the connection");
        inbox.extend_from_slice(&buf[..len]);
    };
    // Two requests in one write: two answers, in order.
    let first = Message::request(Method::Allocate, [4; 12]).with(Attribute::RequestedTransport(TRANSPORT_UDP));
    let binding = Message::request(Method::Binding, [5; 12]);
    stream.write_all(&[first.encode(None, true), binding.encode(None, true)].concat()).unwrap();
    let challenge = next(&mut stream);
    assert_eq!(challenge.error_code().map(|(code, _)| code), Some(401));
    let mapped = next(&mut stream);
    assert_eq!(mapped.xor_mapped_address(), Some(stream.local_addr().unwrap()));

    let key = IntegrityKey::long_term(DEFAULT_TURN_USERNAME, challenge.realm().unwrap(), DEFAULT_TURN_PASSWORD);
    let request = Message::request(Method::Allocate, [6; 12])
        .with(Attribute::Username(DEFAULT_TURN_USERNAME.to_owned()))
        .with(Attribute::Realm(challenge.realm().unwrap().to_owned()))
        .with(Attribute::Nonce(challenge.nonce().unwrap().to_owned()))
        .with(Attribute::RequestedTransport(TRANSPORT_UDP));
    stream.write_all(&request.encode(Some(&key), true)).unwrap();
    let granted = next(&mut stream);
    assert_eq!(granted.class, Class::Success, "{granted:?}");
    assert_eq!(turn.stats().live_allocations, 1);
    drop(stream);
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while turn.stats().live_allocations > 0 {
        assert!(std::time::Instant::now() < deadline, "the allocation outlived its connection");
        std::thread::sleep(Duration::from_millis(20));
    }
}
