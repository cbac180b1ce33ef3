//! The `softphone-sim` binary: announces its address on stdout, serves, and stops when killed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Kills the child by its own pid when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn binary_prints_listening_line_and_serves() {
    let child = Command::new(env!("CARGO_BIN_EXE_softphone-sim"))
        .args(["--listen", "127.0.0.1:0", "--api-key", "KEY_sim_one", "--api-key", "KEY_sim_two", "--token-ttl", "120"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut child = Child(child);
    let stdout = child.0.stdout.take().unwrap();

    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(30)).expect("a `listening on` line within 30 s");
    let base_url = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");
    let port: u16 = base_url.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(port, 0);

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        for (key, status) in [("KEY_sim_two", 200), ("KEY_sim_demo_fake", 401)] {
            let response =
                http.get(format!("{base_url}/v2/telephony_credentials")).bearer_auth(key).send().await.unwrap();
            assert_eq!(response.status().as_u16(), status, "{key}");
        }
        let state: serde_json::Value =
            http.get(format!("{base_url}/control/state")).send().await.unwrap().json().await.unwrap();
        assert_eq!(state["token_ttl_secs"], 120);
    });

    child.0.kill().expect("kill by pid");
    let status = child.0.wait().unwrap();
    assert!(!status.success());
}

#[test]
fn help_shows_the_fake_default_key() {
    let output = Command::new(env!("CARGO_BIN_EXE_softphone-sim")).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains(softphone_sim::DEFAULT_API_KEY), "{help}");
    assert!(help.contains("--listen") && help.contains("--token-ttl"));
}
