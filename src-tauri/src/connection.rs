//! The connection state the shell reports to the window. The call engine owns it once it exists;
//! before that, the account start-up sets demo mode or the error. A watch channel: the tray
//! follows it by itself.

use softphone_core::ipc::ConnectionStatus;
use tokio::sync::watch;

/// Why there is no connection yet: the window has not chosen the call engine.
const NO_ENGINE_REASON: &str = "No call engine is running yet.";

/// The connection state, managed.
pub struct Connection(watch::Sender<ConnectionStatus>);

impl Default for Connection {
    fn default() -> Self {
        Connection(watch::Sender::new(ConnectionStatus::offline(NO_ENGINE_REASON)))
    }
}

impl Connection {
    /// The state now.
    pub fn status(&self) -> ConnectionStatus {
        self.0.borrow().clone()
    }

    /// Whether the app runs against the built-in simulator.
    pub fn demo(&self) -> bool {
        self.0.borrow().demo
    }

    /// Changes the state; returns it as it now is.
    pub fn update(&self, change: impl FnOnce(&mut ConnectionStatus)) -> ConnectionStatus {
        self.0.send_modify(change);
        self.status()
    }

    /// Every change from now on.
    pub fn subscribe(&self) -> watch::Receiver<ConnectionStatus> {
        self.0.subscribe()
    }
}
