//! The computer's network addresses, watched (netlink on Linux, the system's notifications on
//! Windows and macOS, through the `if-watch` crate): a change after start-up is reported once per
//! burst (a new lease brings several events within a moment), without loopback or IPv6
//! link-local addresses, which no connection to Telnyx uses.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use futures_util::StreamExt;
use if_watch::IfEvent;

/// Events this close together are one change (and the start-up listing is one burst).
pub const SETTLE: Duration = Duration::from_millis(500);

/// Addresses that came and went in one burst.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkChange {
    pub added: Vec<IpAddr>,
    pub removed: Vec<IpAddr>,
}

/// Why the network cannot be watched.
#[derive(Debug, thiserror::Error)]
pub enum NetworkWatchError {
    #[error("The network's addresses cannot be watched ({0}); a dead connection is noticed by its pings.")]
    Unavailable(String),
}

/// Collects address events into changes.
#[derive(Debug, Default)]
pub struct Bursts {
    added: BTreeSet<IpAddr>,
    removed: BTreeSet<IpAddr>,
}

impl Bursts {
    /// Takes one event; loopback and IPv6 link-local addresses do not count.
    pub fn note(&mut self, event: IfEvent) {
        let (address, came) = match event {
            IfEvent::Up(net) => (net.addr(), true),
            IfEvent::Down(net) => (net.addr(), false),
        };
        if !counts(address) {
            return;
        }
        let (into, out_of) =
            if came { (&mut self.added, &mut self.removed) } else { (&mut self.removed, &mut self.added) };
        // An address that went and came back within the burst changed nothing.
        if !out_of.remove(&address) {
            into.insert(address);
        }
    }

    /// The burst so far, and a fresh start; `None` when nothing that counts changed.
    pub fn take(&mut self) -> Option<NetworkChange> {
        let change = NetworkChange {
            added: std::mem::take(&mut self.added).into_iter().collect(),
            removed: std::mem::take(&mut self.removed).into_iter().collect(),
        };
        (!change.added.is_empty() || !change.removed.is_empty()).then_some(change)
    }
}

fn counts(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => !v4.is_loopback(),
        IpAddr::V6(v6) => !v6.is_loopback() && (v6.segments()[0] & 0xffc0) != 0xfe80,
    }
}

/// Watches the addresses for the rest of the app's life and calls `on_change` once per burst of
/// changes after start-up (the addresses there are at start are no change).
pub async fn watch_network(mut on_change: impl FnMut(NetworkChange)) -> Result<(), NetworkWatchError> {
    let mut watcher =
        if_watch::tokio::IfWatcher::new().map_err(|error| NetworkWatchError::Unavailable(error.to_string()))?;
    let mut bursts = Bursts::default();
    let mut started = false;
    loop {
        // Until events stop for a moment, they are one burst.
        let next = if bursts.added.is_empty() && bursts.removed.is_empty() && started {
            Some(watcher.next().await)
        } else {
            tokio::time::timeout(SETTLE, watcher.next()).await.ok()
        };
        match next {
            Some(Some(Ok(event))) => bursts.note(event),
            Some(Some(Err(error))) => return Err(NetworkWatchError::Unavailable(error.to_string())),
            Some(None) => return Ok(()),
            // Quiet for a moment: the burst is over.
            None => {
                let change = bursts.take();
                if !started {
                    started = true;
                    tracing::info!(addresses = watcher.iter().count(), "watching the network's addresses");
                } else if let Some(change) = change {
                    on_change(change);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(text: &str) -> IfEvent {
        IfEvent::Up(text.parse().expect("a network"))
    }

    fn down(text: &str) -> IfEvent {
        IfEvent::Down(text.parse().expect("a network"))
    }

    #[test]
    fn a_burst_is_one_change_without_loopback_link_local_or_what_came_back() {
        let mut bursts = Bursts::default();
        assert_eq!(bursts.take(), None);
        for event in [
            up("127.0.0.1/8"),
            up("::1/128"),
            up("fe80::1/64"),
            down("192.168.1.20/24"),
            up("10.0.0.5/24"),
            up("2001:db8::5/64"),
            down("172.16.0.9/16"),
            up("172.16.0.9/16"),
        ] {
            bursts.note(event);
        }
        let change = bursts.take().expect("a change");
        let ip = |text: &str| text.parse::<IpAddr>().expect("an address");
        assert_eq!(change.added, [ip("10.0.0.5"), ip("2001:db8::5")]);
        assert_eq!(change.removed, [ip("192.168.1.20")]);
        assert_eq!(bursts.take(), None, "taken");
    }
}
