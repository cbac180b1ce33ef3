//! The connection state the shell reports to the window. The call engine owns it once it exists;
//! before that, the account start-up sets demo mode or the error.

use std::sync::Mutex;

use softphone_core::ipc::ConnectionStatus;

/// Why there is no connection yet: the window has not chosen the call engine.
const NO_ENGINE_REASON: &str = "No call engine is running yet.";

/// The connection state, managed.
pub struct Connection(pub Mutex<ConnectionStatus>);

impl Default for Connection {
    fn default() -> Self {
        Connection(Mutex::new(ConnectionStatus::offline(NO_ENGINE_REASON)))
    }
}

impl Connection {
    /// Whether the app runs against the built-in simulator.
    pub fn demo(&self) -> bool {
        self.0.lock().map(|status| status.demo).unwrap_or(false)
    }
}
