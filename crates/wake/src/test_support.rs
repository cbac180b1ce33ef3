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

/// A second network namespace beside the test's own, held by a `sleep` process: the far side of
/// a veth pair, where a server the test runs in-process can live (its runtime's threads enter
/// the namespace, so every socket it opens is there). Ended with its holder when dropped.
#[derive(Debug)]
pub struct SideNamespace {
    holder: std::process::Child,
}

impl SideNamespace {
    /// A new network namespace (only a loopback, down).
    pub fn start() -> SideNamespace {
        let holder = Command::new("unshare")
            .args(["--net", "sleep", "3600"])
            .spawn()
            .expect("unshare runs (util-linux; the suite runs as root)");
        let side = SideNamespace { holder };
        // `unshare` becomes `sleep` in the new namespace: wait until it has.
        let mine = std::fs::read_link("/proc/self/ns/net").expect("this namespace");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::fs::read_link(side.path()).ok().is_none_or(|theirs| theirs == mine) {
            assert!(std::time::Instant::now() < deadline, "unshare never made its namespace");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        side
    }

    /// The holder's pid, for `ip link set … netns PID`.
    pub fn pid(&self) -> u32 {
        self.holder.id()
    }

    fn path(&self) -> String {
        format!("/proc/{}/ns/net", self.pid())
    }

    /// Runs `ip` with `args` in this namespace.
    pub fn ip(&self, args: &[&str]) {
        let output = Command::new("nsenter")
            .arg(format!("--net={}", self.path()))
            .arg("ip")
            .args(args)
            .output()
            .expect("nsenter runs (util-linux)");
        assert!(output.status.success(), "ip {args:?} beside: {}", String::from_utf8_lossy(&output.stderr));
    }

    /// A tokio runtime whose threads live in this namespace.
    pub fn runtime(&self) -> tokio::runtime::Runtime {
        let path = self.path();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .on_thread_start(move || {
                let namespace = std::fs::File::open(&path).expect("the side namespace");
                nix::sched::setns(namespace, nix::sched::CloneFlags::CLONE_NEWNET)
                    .expect("a thread enters the namespace");
            })
            .build()
            .expect("a runtime beside")
    }
}

impl Drop for SideNamespace {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}
