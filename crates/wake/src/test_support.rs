//! For tests that change the network: they run in a network namespace of their own, so the
//! machine's interfaces are never touched (the suite runs as root).

use std::process::Command;

/// Runs `ip` with `args` (Debian's iproute2), failing the test with its message if it fails.
pub fn ip(args: &[&str]) {
    let output = Command::new("ip").args(args).output().expect("ip runs (Debian package iproute2)");
    assert!(output.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// Runs the ignored test `test` of the current test binary in a new network namespace
/// (`unshare --net`, with only a loopback that is down), and fails unless it passed there.
pub fn run_in_new_network_namespace(test: &str) {
    let output = Command::new("unshare")
        .arg("--net")
        .arg(std::env::current_exe().expect("this test binary"))
        .args(["--ignored", "--exact", test, "--nocapture"])
        .output()
        .expect("unshare runs (util-linux; the suite runs as root)");
    assert!(
        output.status.success() && String::from_utf8_lossy(&output.stdout).contains("1 passed"),
        "{test} in the namespace:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
