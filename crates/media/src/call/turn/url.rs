//! ICE server URLs: `stun:`, `turn:` and `turns:`, with their transports and default ports.

use super::*;

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

pub(super) fn split_host_port(authority: &str, default_port: u16) -> Option<(String, u16)> {
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
