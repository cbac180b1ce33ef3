//! What a TURN server (or anyone on the path) can send the native engine, and what a client can
//! send the simulator's TURN server: STUN and ChannelData over UDP, and both back to back over TCP.
//! `scripts/fuzz.sh stun_message`.
//!
//! Properties: decoding never panics; whatever decodes encodes again and decodes to the same
//! attributes; integrity checks on hostile bytes never panic; cutting a stream into messages
//! never panics and never loses or invents bytes; ChannelData that decodes encodes to the same
//! channel and data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use softphone_stun::{IntegrityKey, Message, decode_channel_data, encode_channel_data, take_framed};

fuzz_target!(|bytes: &[u8]| {
    let key = IntegrityKey::long_term("testuser", "telnyx.sim", "testpassword");
    if let Ok(message) = Message::decode(bytes) {
        let _ = message.verify_integrity(bytes, &key);
        let _ = (message.xor_peer_address(), message.xor_relayed_address(), message.error_code(), message.data());
        let again = Message::decode(&message.encode(Some(&key), true)).expect("our own encoding decodes");
        let plain = |m: &Message| {
            m.attributes
                .iter()
                .filter(|a| {
                    !matches!(a, softphone_stun::Attribute::MessageIntegrity(_) | softphone_stun::Attribute::Fingerprint(_))
                })
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(plain(&again), plain(&message));
        assert!(again.verify_integrity(&message.encode(Some(&key), true), &key));
    }
    if let Some((channel, data)) = decode_channel_data(bytes) {
        let again = encode_channel_data(channel, data);
        assert_eq!(decode_channel_data(&again), Some((channel, data)));
    }
    let mut stream = bytes.to_vec();
    let mut taken = 0;
    while let Ok(Some(message)) = take_framed(&mut stream) {
        taken += message.len();
    }
    assert_eq!(taken + stream.len(), bytes.len());
});
