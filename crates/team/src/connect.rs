//! Connecting to the team database: TLS with certificate verification for any host that is not
//! this computer, none on loopback (a server the team lead runs beside the app, or the tests');
//! notifications (LISTEN) forwarded to a channel while the connection lives.

use std::str::FromStr;
use std::time::Duration;

use futures_util::StreamExt;
use softphone_core::secret::Secret;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::error::SqlState;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls, Notification};

use crate::error::TeamError;

/// How long a connection attempt may take before the server counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and as whom to connect. The password is kept apart from the URL, as a [`Secret`].
#[derive(Debug, Clone)]
pub struct TeamLogin {
    /// `postgres://host:port/database` (a password in it is used when `password` is `None`).
    pub url: String,
    /// The login role; `None` keeps the URL's.
    pub login: Option<String>,
    pub password: Option<Secret>,
}

impl TeamLogin {
    pub fn new(url: impl Into<String>, login: impl Into<String>, password: Secret) -> TeamLogin {
        TeamLogin { url: url.into(), login: Some(login.into()), password: Some(password) }
    }

    /// The URL as it is, credentials and all (the team tool's `DATABASE_URL`).
    pub fn from_url(url: impl Into<String>) -> TeamLogin {
        TeamLogin { url: url.into(), login: None, password: None }
    }
}

/// A live connection: the client, and the notifications the server sends on it.
#[derive(Debug)]
pub struct Connection {
    pub client: Client,
    pub notifications: mpsc::UnboundedReceiver<Notification>,
    driver: JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl Connection {
    /// Whether the socket is still up (the server stopped or the network went: false).
    pub fn is_alive(&self) -> bool {
        !self.client.is_closed() && !self.driver.is_finished()
    }
}

/// Whether every host of the URL is this computer (loopback or a Unix socket).
pub fn is_local(config: &Config) -> bool {
    config.get_hosts().iter().all(|host| match host {
        Host::Tcp(name) => name == "localhost" || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()),
        #[cfg(unix)]
        Host::Unix(_) => true,
    })
}

fn host_words(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|host| match host {
            Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    if hosts.is_empty() { "localhost".to_owned() } else { hosts.join(", ") }
}

/// Reads the URL and the login into a configuration; refuses a malformed URL with a sentence.
pub fn config_of(login: &TeamLogin) -> Result<Config, TeamError> {
    let mut config = Config::from_str(login.url.trim()).map_err(|error| {
        TeamError::Invalid(format!(
            "The team database address is not a PostgreSQL URL ({error}); it looks like postgres://host:5432/team."
        ))
    })?;
    if let Some(user) = &login.login {
        config.user(user);
    }
    if let Some(password) = &login.password {
        config.password(password.expose());
    }
    if config.get_user().is_none() {
        return Err(TeamError::Invalid("The team database login is missing.".into()));
    }
    config.connect_timeout(CONNECT_TIMEOUT);
    config.keepalives_idle(Duration::from_secs(30));
    config.application_name("softphone");
    Ok(config)
}

/// Connects; see the module docs for TLS.
pub async fn connect(login: &TeamLogin) -> Result<Connection, TeamError> {
    let mut config = config_of(login)?;
    let host = host_words(&config);
    let user = config.get_user().unwrap_or_default().to_owned();
    let refused = |error: tokio_postgres::Error| connect_error(error, &host, &user);
    if is_local(&config) {
        config.ssl_mode(SslMode::Disable);
        let (client, connection) = config.connect(NoTls).await.map_err(refused)?;
        Ok(drive(client, connection))
    } else {
        config.ssl_mode(SslMode::Require);
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new((*softphone_telnyx::tls::client_config()).clone());
        let (client, connection) = config.connect(tls).await.map_err(refused)?;
        Ok(drive(client, connection))
    }
}

fn connect_error(error: tokio_postgres::Error, host: &str, login: &str) -> TeamError {
    if let Some(db) = error.as_db_error() {
        let code = db.code();
        if *code == SqlState::INVALID_PASSWORD || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
            return TeamError::LoginRefused { login: login.to_owned() };
        }
        if *code == SqlState::INVALID_CATALOG_NAME {
            return TeamError::Invalid(format!("The team database does not exist on {host}: {}.", db.message()));
        }
        return TeamError::Unreachable { host: host.to_owned(), reason: db.message().to_owned() };
    }
    if softphone_telnyx::tls::is_untrusted_certificate(&error) {
        return TeamError::Insecure {
            host: host.to_owned(),
            reason: "its certificate is not one this computer trusts".into(),
        };
    }
    let text = error.to_string();
    if text.contains("server does not support TLS") {
        return TeamError::Insecure { host: host.to_owned(), reason: "the server does not offer TLS".into() };
    }
    TeamError::Unreachable { host: host.to_owned(), reason: text }
}

fn drive<S, T>(client: Client, mut connection: tokio_postgres::Connection<S, T>) -> Connection
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, notifications) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(notification)) => {
                    let _ = sender.send(notification);
                }
                Ok(AsyncMessage::Notice(notice)) => tracing::debug!(message = notice.message(), "team database notice"),
                Ok(_) => {}
                Err(error) => {
                    tracing::info!(%error, "the team database connection ended");
                    break;
                }
            }
        }
    });
    Connection { client, notifications, driver }
}
