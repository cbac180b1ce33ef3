//! The keychain against a real Secret Service: gnome-keyring on a private D-Bus session bus that
//! this test starts (and stops, by pid). Never touches the developer's own keychain.
//!
//! The D-Bus address is process-wide state, so the scenarios run in a child process (this same
//! test binary, one `#[ignore]`d scenario selected) with the private bus in its environment.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use softphone_core::secret::Secret;
use softphone_keychain::{CredentialField, Keychain, KeychainError, SipCredentials, StoredCredentials};

const SERVICE: &str = "io.agentsoftphone.desktop.test";
/// Set in the child's environment; scenarios refuse to run without it.
const PRIVATE_BUS_MARKER: &str = "SOFTPHONE_TEST_PRIVATE_BUS";
const API_KEY: &str = "KEY_test_value_private_bus_0123456789";
const SCENARIO_LIMIT: Duration = Duration::from_secs(30);

/// A process stopped with SIGTERM when dropped.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

/// A session bus with no activatable services: nothing starts unless the test starts it (the
/// system's session config would auto-start gnome-keyring on first use).
fn start_bus(dir: &Path) -> (Daemon, String) {
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
    )
    .expect("bus config");
    let mut child = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", config.display()))
        .args(["--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("dbus-daemon starts (Debian package dbus; scripts/setup.sh installs it)");
    let mut address = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut address).expect("bus address");
    (Daemon(child), address.trim().to_owned())
}

fn start_keyring(bus: &str, dir: &Path) -> Daemon {
    let mut child = Command::new("gnome-keyring-daemon")
        .args(["--foreground", "--unlock", "--components=secrets"])
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_RUNTIME_DIR", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gnome-keyring-daemon starts");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"test-keyring-password").expect("unlock password");
    }
    let keyring = Daemon(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let owned = Command::new("dbus-send")
            .args([
                "--session",
                "--dest=org.freedesktop.DBus",
                "--print-reply",
                "--reply-timeout=1000",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", bus)
            .output()
            .expect("dbus-send runs");
        if String::from_utf8_lossy(&owned.stdout).contains("boolean true") {
            return keyring;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("gnome-keyring did not claim org.freedesktop.secrets within 10 s");
}

/// Runs one scenario of this file in a child process with `bus` as its session bus.
fn run_scenario(name: &str, bus: &str, expect: &str) -> String {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", name, "--include-ignored", "--nocapture", "--test-threads=1"])
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .env(PRIVATE_BUS_MARKER, expect)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("scenario runs");
    // A keychain call that waits on a prompt nobody can answer would hang the suite.
    let deadline = Instant::now() + SCENARIO_LIMIT;
    while child.try_wait().expect("scenario status").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("scenario {name} did not finish within {SCENARIO_LIMIT:?} (a keychain call hung)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("scenario output");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "scenario {name} failed:\n{text}");
    text
}

fn on_private_bus() -> Option<String> {
    std::env::var(PRIVATE_BUS_MARKER).ok()
}

#[test]
fn credentials_live_in_gnome_keyring_and_nowhere_else() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_bus, address) = start_bus(dir.path());
    let _keyring = start_keyring(&address, dir.path());

    let output = run_scenario("scenario_round_trip", &address, "keyring");
    assert!(output.contains("ROUND-TRIP-OK"), "the scenario ran to its end:\n{output}");
    run_scenario("scenario_leave_api_key", &address, "keyring");

    // The real Secret Service holds the item (not keyring's in-memory mock)...
    let lookup = Command::new("secret-tool")
        .args(["lookup", "service", SERVICE, "username", CredentialField::ApiKey.account()])
        .env("DBUS_SESSION_BUS_ADDRESS", &address)
        .output()
        .expect("secret-tool runs (Debian package libsecret-tools)");
    assert_eq!(String::from_utf8_lossy(&lookup.stdout), API_KEY);

    // ...and no file under the keyring's data directory holds it in clear text.
    for entry in walk(&dir.path().join("data")) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !bytes.windows(API_KEY.len()).any(|window| window == API_KEY.as_bytes()),
            "{} holds the API key in clear text",
            entry.display()
        );
    }
}

#[test]
fn no_secret_service_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A bus with nobody providing org.freedesktop.secrets.
    let (_bus, address) = start_bus(dir.path());
    run_scenario("scenario_unavailable", &address, "unavailable");
    // No bus at all.
    run_scenario("scenario_unavailable", &format!("unix:path={}", dir.path().join("nothing").display()), "unavailable");
}

#[test]
fn a_locked_keyring_is_a_coded_error_and_keeps_the_credentials() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_bus, address) = start_bus(dir.path());
    let keyring = start_keyring(&address, dir.path());
    run_scenario("scenario_leave_api_key", &address, "keyring");

    // Lock every collection, as the desktop does when the screen locks or the agent logs out.
    let collections = Command::new("dbus-send")
        .args([
            "--session",
            "--dest=org.freedesktop.secrets",
            "--print-reply",
            "/org/freedesktop/secrets",
            "org.freedesktop.DBus.Properties.Get",
            "string:org.freedesktop.Secret.Service",
            "string:Collections",
        ])
        .env("DBUS_SESSION_BUS_ADDRESS", &address)
        .output()
        .expect("dbus-send runs");
    let listing = String::from_utf8_lossy(&collections.stdout).into_owned();
    let paths: Vec<&str> =
        listing.split('"').filter(|part| part.starts_with("/org/freedesktop/secrets/collection/")).collect();
    assert!(!paths.is_empty(), "the keyring has a collection:\n{listing}");
    let locked = Command::new("dbus-send")
        .args([
            "--session",
            "--dest=org.freedesktop.secrets",
            "--print-reply",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            &format!("array:objpath:{}", paths.join(",")),
        ])
        .env("DBUS_SESSION_BUS_ADDRESS", &address)
        .output()
        .expect("dbus-send runs");
    assert!(locked.status.success(), "lock: {}", String::from_utf8_lossy(&locked.stderr));

    // No prompt can be shown on this bus (no prompter), as on a headless session: the app says
    // the keychain is locked instead of hanging or reading nothing.
    run_scenario("scenario_locked", &address, "locked");

    // Unlocking (here: the keyring daemon started again with the login password, as at the
    // next desktop login) brings the same credentials back: being locked lost nothing.
    drop(keyring);
    let _keyring = start_keyring(&address, dir.path());
    run_scenario("scenario_still_stored", &address, "keyring");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
    }
    files
}

fn credentials(with_sip: bool) -> StoredCredentials {
    StoredCredentials {
        api_key: Secret::new(API_KEY),
        connection_id: Secret::new("1684641123236054244"),
        sip: with_sip
            .then(|| SipCredentials { login: Secret::new("gencredTEST"), password: Secret::new("sip-pw-test") }),
    }
}

#[test]
#[ignore = "run by credentials_live_in_gnome_keyring_and_nowhere_else on a private bus"]
fn scenario_round_trip() {
    if on_private_bus().as_deref() != Some("keyring") {
        return; // never against the developer's real keychain
    }
    let keychain = Keychain::new(SERVICE);
    assert_eq!(keychain.presence().expect("presence"), Default::default(), "a fresh keyring is empty");
    assert_eq!(keychain.load().expect("load"), None);

    keychain.save(&credentials(true)).expect("save");
    assert_eq!(keychain.load().expect("load"), Some(credentials(true)));
    keychain.set(CredentialField::TelephonyCredentialId, &Secret::new("cred-1")).expect("set");
    let presence = keychain.presence().expect("presence");
    assert!(presence.api_key && presence.connection_id && presence.telephony_credential_id && presence.sip_login);

    // New credentials: the old telephony credential and the SIP login no longer apply.
    keychain.save(&credentials(false)).expect("save again");
    let presence = keychain.presence().expect("presence");
    assert!(presence.api_key && !presence.telephony_credential_id && !presence.sip_login, "{presence:?}");
    assert_eq!(keychain.load().expect("load"), Some(credentials(false)));

    keychain.clear().expect("clear");
    assert_eq!(keychain.presence().expect("presence"), Default::default());
    keychain.clear().expect("clearing twice is fine");
    println!("ROUND-TRIP-OK");
}

#[test]
#[ignore = "run by credentials_live_in_gnome_keyring_and_nowhere_else on a private bus"]
fn scenario_leave_api_key() {
    if on_private_bus().as_deref() != Some("keyring") {
        return;
    }
    Keychain::new(SERVICE).save(&credentials(false)).expect("save");
}

#[test]
#[ignore = "run by no_secret_service_is_a_clear_error on a private bus"]
fn scenario_unavailable() {
    if on_private_bus().as_deref() != Some("unavailable") {
        return;
    }
    let keychain = Keychain::new(SERVICE);
    for result in [keychain.get(CredentialField::ApiKey).map(|_| ()), keychain.save(&credentials(false))] {
        match result {
            Err(KeychainError::Unavailable { .. }) => {}
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
}

#[test]
#[ignore = "run by a_locked_keyring_is_a_coded_error_and_keeps_the_credentials on a private bus"]
fn scenario_locked() {
    if on_private_bus().as_deref() != Some("locked") {
        return;
    }
    let keychain = Keychain::new(SERVICE);
    match keychain.load() {
        Err(error @ KeychainError::Locked { .. }) => {
            let sentence = error.to_string();
            assert!(sentence.contains("locked") && sentence.contains("Unlock"), "{sentence}");
            assert!(!sentence.contains(API_KEY), "{sentence}");
        }
        other => panic!("expected Locked, got {other:?}"),
    }
}

#[test]
#[ignore = "run by a_locked_keyring_is_a_coded_error_and_keeps_the_credentials on a private bus"]
fn scenario_still_stored() {
    if on_private_bus().as_deref() != Some("keyring") {
        return;
    }
    assert_eq!(Keychain::new(SERVICE).load().expect("load"), Some(credentials(false)));
}
