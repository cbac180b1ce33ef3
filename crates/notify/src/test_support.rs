//! A private D-Bus session bus and a recording notification daemon, for this crate's tests and the
//! end-to-end suite (feature `test-support`).
//!
//! The bus uses its own configuration with no service directories: nothing is activated behind the
//! test's back (the system's session config would start whatever notification daemon is
//! installed). Both processes are stopped by pid when their handle is dropped, and the daemon also
//! exits by itself when the bus goes away.
//!
//! ```no_run
//! # use softphone_notify::test_support::{PrivateBus, RecordingDaemon};
//! let bus = PrivateBus::start().unwrap();
//! let daemon = RecordingDaemon::start(&bus).unwrap();
//! // Notifier::connect_to(bus.address()), or DBUS_SESSION_BUS_ADDRESS=bus.address() for the app...
//! let shown = daemon.wait_for_notify(|record| record.summary.contains("Ada"), std::time::Duration::from_secs(5));
//! ```

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// Debian's interpreter, which has python3-dbus and python3-gi (a pyenv `python3` on PATH may not).
pub const PYTHON: &str = "/usr/bin/python3";

/// The folder of the python test helpers, and of `dbus_test_service.py`, the module they share; a
/// helper kept elsewhere (the end-to-end suite's tray host) gets it as `PYTHONPATH`.
pub const SUPPORT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support");

/// The recording daemon's script.
pub const DAEMON_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/notification_daemon.py");

/// How long a process may take to come up.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A process started by a test, killed (by its pid) when dropped.
#[derive(Debug)]
struct OwnedProcess(Child);

impl Drop for OwnedProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `dbus-daemon` with a session bus of its own in a temporary directory.
#[derive(Debug)]
pub struct PrivateBus {
    process: OwnedProcess,
    address: String,
    dir: PathBuf,
}

impl PrivateBus {
    /// Starts `dbus-daemon` (Debian package `dbus`) on a socket in a new temporary directory.
    pub fn start() -> std::io::Result<PrivateBus> {
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "softphone-notify-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        let config = dir.join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>"#,
                dir.join("bus").display()
            ),
        )?;
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // It only warns that it may not raise its fd limit; nothing a test acts on.
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let process = OwnedProcess(child);
        let address = first_line(stdout, "dbus-daemon printing its address")?;
        Ok(PrivateBus { process, address: address.trim().to_owned(), dir })
    }

    /// The bus's D-Bus address, for `Notifier::connect_to` or `DBUS_SESSION_BUS_ADDRESS`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The temporary directory the bus lives in (removed when the bus is dropped).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The pid of `dbus-daemon`.
    pub fn pid(&self) -> u32 {
        self.process.0.id()
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.process.0.kill();
        let _ = self.process.0.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How the recording daemon behaves.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// What `GetCapabilities` answers.
    pub capabilities: Vec<String>,
    /// An action key the daemon invokes right after answering each new `Notify` (a user who
    /// clicks within a millisecond).
    pub click_on_notify: Option<String>,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        DaemonOptions {
            capabilities: ["actions", "body", "persistence"].map(String::from).to_vec(),
            click_on_notify: None,
        }
    }
}

/// One method call the daemon received, as it recorded it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "method")]
pub enum Record {
    /// `Notify`.
    Notify(NotifyRecord),
    /// `CloseNotification`.
    CloseNotification {
        /// The id asked to close.
        id: u32,
        /// When the daemon received it, in nanoseconds since the Unix epoch.
        received_unix_ns: u64,
    },
    /// The test invoked an action (the daemon emitted `ActionInvoked`).
    ActionInvoked {
        /// The notification.
        id: u32,
        /// The action key.
        action_key: String,
    },
}

/// A `Notify` call as the daemon received it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NotifyRecord {
    /// The id the daemon answered.
    pub id: u32,
    pub app_name: String,
    pub replaces_id: u32,
    pub app_icon: String,
    pub summary: String,
    pub body: String,
    /// Flat `[key, label, key, label, ...]`.
    pub actions: Vec<String>,
    /// Hint values as JSON (bytes and integers as numbers).
    pub hints: serde_json::Map<String, serde_json::Value>,
    /// The D-Bus type code of each hint (`urgency` must be `y`, a byte).
    pub hint_types: std::collections::BTreeMap<String, String>,
    /// Milliseconds; 0 = never expires, -1 = the server decides.
    pub expire_timeout: i32,
    /// When the daemon received the call, in nanoseconds since the Unix epoch.
    pub received_unix_ns: u64,
}

impl NotifyRecord {
    /// The action keys offered, without their labels.
    pub fn action_keys(&self) -> Vec<&str> {
        self.actions.iter().step_by(2).map(String::as_str).collect()
    }

    /// The label of the button with `key`.
    pub fn action_label(&self, key: &str) -> Option<&str> {
        self.actions.chunks(2).find(|pair| pair[0] == key).and_then(|pair| pair.get(1)).map(String::as_str)
    }
}

/// The recording `org.freedesktop.Notifications` server (tests/support/notification_daemon.py).
#[derive(Debug)]
pub struct RecordingDaemon {
    process: OwnedProcess,
    address: String,
    record_path: PathBuf,
}

impl RecordingDaemon {
    /// Starts the daemon on `bus` with the default capabilities and waits until it owns the name.
    pub fn start(bus: &PrivateBus) -> std::io::Result<RecordingDaemon> {
        RecordingDaemon::start_with(bus, &DaemonOptions::default())
    }

    /// Starts the daemon on `bus` with `options` and waits until it owns the name.
    pub fn start_with(bus: &PrivateBus, options: &DaemonOptions) -> std::io::Result<RecordingDaemon> {
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let record_path = bus.dir().join(format!("notifications-{}.jsonl", STARTED.fetch_add(1, Ordering::Relaxed)));
        std::fs::write(&record_path, "")?;
        let mut command = Command::new(PYTHON);
        command
            .arg(DAEMON_SCRIPT)
            .args(["--address", bus.address()])
            .arg("--record")
            .arg(&record_path)
            .arg(format!("--capabilities={}", options.capabilities.join(",")))
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        if let Some(key) = &options.click_on_notify {
            command.arg(format!("--click-on-notify={key}"));
        }
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let process = OwnedProcess(child);
        let ready = first_line(stdout, "the notification daemon owning org.freedesktop.Notifications")?;
        if ready.trim() != "READY" {
            return Err(std::io::Error::other(format!("notification daemon said {ready:?} instead of READY")));
        }
        Ok(RecordingDaemon { process, address: bus.address().to_owned(), record_path })
    }

    /// The pid of the daemon.
    pub fn pid(&self) -> u32 {
        self.process.0.id()
    }

    /// Everything recorded so far, in order.
    pub fn records(&self) -> Vec<Record> {
        std::fs::read_to_string(&self.record_path)
            .unwrap_or_default()
            .lines()
            .filter(|line| !line.is_empty())
            .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("record {line:?}: {error}")))
            .collect()
    }

    /// The `Notify` calls recorded so far, in order.
    pub fn notifications(&self) -> Vec<NotifyRecord> {
        self.records()
            .into_iter()
            .filter_map(|record| match record {
                Record::Notify(notify) => Some(notify),
                _ => None,
            })
            .collect()
    }

    /// Waits up to `timeout` for a record that `matches`; `None` if none came.
    pub fn wait_for(&self, matches: impl Fn(&Record) -> bool, timeout: Duration) -> Option<Record> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(record) = self.records().into_iter().find(&matches) {
                return Some(record);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits up to `timeout` for a `Notify` call that `matches`.
    pub fn wait_for_notify(&self, matches: impl Fn(&NotifyRecord) -> bool, timeout: Duration) -> Option<NotifyRecord> {
        match self.wait_for(|record| matches!(record, Record::Notify(notify) if matches(notify)), timeout)? {
            Record::Notify(notify) => Some(notify),
            _ => None,
        }
    }

    /// Waits up to `timeout` for `CloseNotification(id)`.
    pub fn wait_for_close(&self, id: u32, timeout: Duration) -> bool {
        self.wait_for(|record| matches!(record, Record::CloseNotification { id: closed, .. } if *closed == id), timeout)
            .is_some()
    }

    /// Clicks the button `action_key` of notification `id` (`"default"` = the body), as a user.
    pub fn invoke(&self, id: u32, action_key: &str) -> std::io::Result<()> {
        self.test_call("InvokeAction", &[format!("uint32:{id}"), format!("string:{action_key}")])
    }

    /// Closes notification `id` as a user dismissing it (`NotificationClosed` reason 2).
    pub fn dismiss(&self, id: u32) -> std::io::Result<()> {
        self.test_call("Dismiss", &[format!("uint32:{id}")])
    }

    /// Lets notification `id` time out (`NotificationClosed` reason 1).
    pub fn expire(&self, id: u32) -> std::io::Result<()> {
        self.test_call("Expire", &[format!("uint32:{id}")])
    }

    fn test_call(&self, method: &str, args: &[String]) -> std::io::Result<()> {
        call_test_interface(
            &self.address,
            "org.freedesktop.Notifications",
            "/org/freedesktop/Notifications",
            method,
            args,
        )
        .map(drop)
    }
}

/// Calls `org.softphone.Test.<method>` on a test helper (`destination`, object `path`) on the bus at
/// `bus_address`, through `dbus-send`; `args` as dbus-send takes them (`string:Quit`, `uint32:7`).
/// Returns the reply as `--print-reply=literal` prints it, trimmed; an error carries dbus-send's
/// complaint (the helper's exception, or no reply within 10 s).
pub fn call_test_interface(
    bus_address: &str,
    destination: &str,
    path: &str,
    method: &str,
    args: &[String],
) -> std::io::Result<String> {
    let output = Command::new("dbus-send")
        .arg(format!("--bus={bus_address}"))
        .arg(format!("--dest={destination}"))
        .args(["--print-reply=literal", "--reply-timeout=10000", path])
        .arg(format!("org.softphone.Test.{method}"))
        .args(args)
        .output()?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(std::io::Error::other(format!(
            "{method}{args:?} on {destination} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// The first line a child prints (its READY line, say), or an error if it prints none within
/// 10 s: a helper that hangs at start-up fails the test at once instead of blocking it.
pub fn first_line(stdout: std::process::ChildStdout, what: &str) -> std::io::Result<String> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let result = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        let _ = sender.send(result);
    });
    match receiver.recv_timeout(START_TIMEOUT) {
        Ok(Ok(line)) if !line.is_empty() => Ok(line),
        Ok(Ok(_)) => Err(std::io::Error::other(format!("{what}: exited before it was ready"))),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("{what}: not ready in 10 s"))),
    }
}
