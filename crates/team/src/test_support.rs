//! A private PostgreSQL server for tests: `initdb` into a temporary folder, `postgres` on a free
//! loopback port with its socket in that folder, stopped (fast shutdown, by the pid this started)
//! when dropped. It can be stopped and started again on the same port and data, as a team's
//! database that goes away mid-shift and comes back.
//!
//! PostgreSQL refuses to run as root; when the tests run as root (CI on this machine), the server
//! runs as the `postgres` user that Debian's package creates (`setpriv`, which keeps the pid).

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The superuser's name in the test server.
pub const SUPERUSER: &str = "postgres";

/// One running (or stopped) test server.
#[derive(Debug)]
pub struct TestServer {
    folder: tempfile::TempDir,
    port: u16,
    password: String,
    child: Option<Child>,
    as_postgres_user: bool,
}

/// A PostgreSQL server program: on `PATH` if it is there, else from Debian's versioned folder
/// (`/usr/lib/postgresql/<version>/bin`, the newest), where the `postgresql` package puts it.
fn program(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file()))
        .unwrap_or_default();
    if let Some(found) = on_path {
        return found;
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| Some((entry.file_name().to_str()?.parse().ok()?, entry.path().join("bin").join(name))))
        .filter(|(_, path)| path.is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, path)| path).unwrap_or_else(|| PathBuf::from(name))
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().map(|out| out.stdout.trim_ascii() == b"0").unwrap_or(false)
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().expect("its address").port()
}

impl TestServer {
    /// Creates a cluster (superuser `postgres`, SCRAM passwords) and starts it.
    pub fn start() -> TestServer {
        let as_postgres_user = running_as_root();
        let folder = tempfile::Builder::new().prefix("softphone-pg-").tempdir().expect("a temporary folder");
        let password = format!("pw{}", uuid::Uuid::new_v4().simple());
        let pwfile = folder.path().join("pwfile");
        std::fs::File::create(&pwfile)
            .and_then(|mut f| f.write_all(password.as_bytes()))
            .expect("the password file is written");
        if as_postgres_user {
            let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(folder.path()).status();
            assert!(status.is_ok_and(|s| s.success()), "the server's folder could not be given to the postgres user");
        }
        let data = folder.path().join("data");
        let mut initdb = Self::command(as_postgres_user, "initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", SUPERUSER, "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"])
            .arg(format!("--pwfile={}", pwfile.display()));
        let out = initdb.output().expect("initdb runs (Debian's postgresql package; scripts/setup.sh installs it)");
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        let mut server = TestServer { folder, port: free_port(), password, child: None, as_postgres_user };
        server.start_again();
        server
    }

    fn command(as_postgres_user: bool, name: &str) -> Command {
        if as_postgres_user {
            let mut command = Command::new("setpriv");
            command.args(["--reuid=postgres", "--regid=postgres", "--init-groups", "--"]).arg(program(name));
            command
        } else {
            Command::new(program(name))
        }
    }

    fn data(&self) -> PathBuf {
        self.folder.path().join("data")
    }

    /// Starts the server (again) on its port; returns when it accepts connections.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.folder.path().join("server.log"))
            .expect("the server's log opens");
        let mut postgres = Self::command(self.as_postgres_user, "postgres");
        postgres
            .arg("-D")
            .arg(self.data())
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(self.folder.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"])
            .args(["-c", "shared_buffers=128MB", "-c", "synchronous_commit=off"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log);
        self.child = Some(postgres.spawn().expect("postgres starts"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(program("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("postgres exited ({status}) before accepting connections:\n{}", self.log_tail());
            }
            assert!(Instant::now() < deadline, "postgres did not accept connections in 30 s:\n{}", self.log_tail());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (fast shutdown: open connections are ended), keeping its data.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's password.
    pub fn superuser_password(&self) -> &str {
        &self.password
    }

    /// A URL for the superuser (`postgres://postgres:…@127.0.0.1:port/postgres`).
    pub fn superuser_url(&self) -> String {
        format!("postgres://{SUPERUSER}:{}@127.0.0.1:{}/postgres", self.password, self.port)
    }

    /// A URL without credentials, as a team lead hands it to agents.
    pub fn url(&self) -> String {
        format!("postgres://127.0.0.1:{}/postgres", self.port)
    }

    pub fn folder(&self) -> &Path {
        self.folder.path()
    }

    /// The last lines of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.folder.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}
