//! Which certificates the client trusts, against a real TLS server: the simulator behind a TLS
//! front (tokio-rustls) whose certificate comes from a test CA, made with the `openssl` tool.
//! With the CA in the system's store (`SSL_CERT_FILE`, which the store honours on Linux), REST and
//! the websocket connect; without it, both refuse with a sentence that says why, and REST does not
//! retry. Through a company's CONNECT proxy (`HTTPS_PROXY`), both go through it. The store and the
//! proxy are read from the environment, so each client runs in a child process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use softphone_core::secret::Secret;
use softphone_sim::{Simulator, SimulatorConfig};
use softphone_telnyx::rtc::{RtcClient, RtcConfig, RtcErrorCode, RtcEvent, RtcLogin};
use softphone_telnyx::{TelnyxApi, TelnyxConfig, TelnyxError, TelnyxErrorCode};
use tokio::net::{TcpListener, TcpStream};

const KEY: &str = "KEY_tls_test_key";

fn openssl(dir: &Path, args: &[&str]) {
    let output =
        Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs (Debian package openssl)");
    assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// A CA (`name`-ca.pem) and a certificate it signed for localhost and 127.0.0.1
/// (`name`-server.der, `name`-server.key.der).
fn make_ca_and_server(dir: &Path, name: &str) {
    let ca = format!("{name}-ca");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={ca}"),
            "-keyout",
            &format!("{ca}.key"),
            "-out",
            &format!("{ca}.pem"),
        ],
    );
    let server = format!("{name}-server");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            &format!("{server}.key"),
            "-out",
            &format!("{server}.csr"),
        ],
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").expect("ext written");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{server}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-outform",
            "DER",
            "-out",
            &format!("{server}.der"),
        ],
    );
    openssl(
        dir,
        &[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            &format!("{server}.key"),
            "-outform",
            "DER",
            "-out",
            &format!("{server}.key.der"),
        ],
    );
}

/// A TLS front on 127.0.0.1 for the simulator at `backend`; returns its port.
async fn tls_front(dir: &Path, name: &str, backend: std::net::SocketAddr) -> u16 {
    let cert = std::fs::read(dir.join(format!("{name}-server.der"))).expect("cert");
    let key = std::fs::read(dir.join(format!("{name}-server.key.der"))).expect("key");
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert.into()], tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(key.into()))
    .expect("the server certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(client).await else { return };
                let Ok(mut plain) = TcpStream::connect(backend).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

fn api(port: u16) -> TelnyxApi {
    let config = TelnyxConfig { base_url: format!("https://localhost:{port}"), ..TelnyxConfig::default() };
    TelnyxApi::new(config).expect("a client")
}

/// The client's side, run by the test below in a child process whose `SSL_CERT_FILE` (the
/// system's store, as Linux reads it) it chooses: `TLS_TEST_EXPECT` says what must happen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by the_systems_store_decides_what_is_trusted_and_a_company_proxy_carries_rest_and_the_websocket"]
async fn client_side() {
    let port: u16 = std::env::var("TLS_TEST_PORT").expect("port").parse().expect("a port");
    let token = std::env::var("TLS_TEST_TOKEN").expect("token");
    let websocket = || {
        RtcClient::connect(RtcConfig::new(
            format!("wss://localhost:{port}/"),
            RtcLogin::Token(Secret::new(token.clone())),
        ))
    };
    match std::env::var("TLS_TEST_EXPECT").expect("expectation").as_str() {
        "refused" => {
            let refused = api(port).validate_api_key(&Secret::new(KEY)).await.expect_err("untrusted");
            assert_eq!(refused.code(), TelnyxErrorCode::CertificateUntrusted, "{refused:?}");
            assert!(
                matches!(&refused, TelnyxError::UntrustedCertificate { host } if host == &format!("localhost:{port}")),
                "{refused:?}"
            );
            assert!(refused.to_string().contains("root certificate must be installed"), "{refused}");
            let refused = websocket().await.expect_err("untrusted");
            assert_eq!(refused.code(), RtcErrorCode::RtcCertificateUntrusted, "{refused:?}");
        }
        // Through the proxy (HTTPS_PROXY set by the parent) the same as directly.
        "trusted" | "proxied" => {
            api(port).validate_api_key(&Secret::new(KEY)).await.expect("trusted");
            let (client, mut events) = websocket().await.expect("trusted");
            let ready = tokio::time::timeout(Duration::from_secs(10), async {
                while let Some(event) = events.recv().await {
                    if matches!(event, RtcEvent::Ready { .. }) {
                        return true;
                    }
                }
                false
            })
            .await;
            assert_eq!(ready, Ok(true), "logged in over wss");
            client.disconnect().await;
        }
        other => panic!("unknown expectation {other}"),
    }
}

/// Runs [`client_side`] with `store` as the system's certificate store, through `proxy` if any.
fn client_with_store(store: &Path, proxy: Option<u16>, port: u16, token: &str, expect: &str) {
    let mut command = Command::new(std::env::current_exe().expect("this test binary"));
    for name in
        ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"]
    {
        command.env_remove(name);
    }
    if let Some(proxy) = proxy {
        command.env("HTTPS_PROXY", format!("http://127.0.0.1:{proxy}"));
    }
    let output = command
        .args(["--ignored", "--exact", "client_side", "--nocapture"])
        .env("SSL_CERT_FILE", store)
        .env("TLS_TEST_PORT", port.to_string())
        .env("TLS_TEST_TOKEN", token)
        .env("TLS_TEST_EXPECT", expect)
        .output()
        .expect("the client side runs");
    assert!(
        output.status.success(),
        "the client with {} ({expect}) failed:\n{}\n{}",
        store.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_systems_store_decides_what_is_trusted_and_a_company_proxy_carries_rest_and_the_websocket() {
    let dir = tempfile_dir();
    make_ca_and_server(&dir, "company");
    make_ca_and_server(&dir, "other");
    let sim = Simulator::start(SimulatorConfig { api_keys: vec![KEY.to_owned()], ..SimulatorConfig::default() })
        .await
        .expect("simulator");
    let port = tls_front(&dir, "company", sim.local_addr()).await;
    let credential = sim.state().create_credential("tls-test".into(), None, None, None);
    let token = sim.state().mint_login_token(&credential.id, SystemTime::now()).expect("token");
    let (store_other, store_company) = (dir.join("other-ca.pem"), dir.join("company-ca.pem"));
    let token_for_child = token.clone();

    // The company's CA is not in the store (another CA is): refused, said plainly, not retried.
    let client =
        tokio::task::spawn_blocking(move || client_with_store(&store_other, None, port, &token_for_child, "refused"));
    client.await.expect("the client side ran");
    assert_eq!(sim.state().snapshot().requests_total, 0, "nothing reached the simulator");

    // The company installs its CA in the store: both connect.
    let (store, token_for_child) = (store_company.clone(), token.clone());
    let client =
        tokio::task::spawn_blocking(move || client_with_store(&store, None, port, &token_for_child, "trusted"));
    client.await.expect("the client side ran");
    assert_eq!(sim.state().snapshot().requests_total, 1, "the REST request went through");

    // And through the company's proxy (HTTP CONNECT), REST and the websocket alike.
    let (proxy, tunnels) = connect_proxy().await;
    let client =
        tokio::task::spawn_blocking(move || client_with_store(&store_company, Some(proxy), port, &token, "proxied"));
    client.await.expect("the client side ran");
    assert_eq!(sim.state().snapshot().requests_total, 2, "the REST request went through the proxy");
    let tunnels = tunnels.lock().expect("tunnels").clone();
    assert_eq!(tunnels, [format!("localhost:{port}"), format!("localhost:{port}")], "REST and wss went through it");
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// An HTTP CONNECT proxy on 127.0.0.1, as a company's: its port, and the targets it tunnelled to.
async fn connect_proxy() -> (u16, Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let port = listener.local_addr().expect("addr").port();
    let tunnels = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&tunnels);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut client = BufReader::new(client);
                let mut request = String::new();
                if client.read_line(&mut request).await.is_err() {
                    return;
                }
                loop {
                    let mut line = String::new();
                    match client.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) if line == "\r\n" => break,
                        Ok(_) => {}
                    }
                }
                let mut words = request.split_whitespace();
                let (Some("CONNECT"), Some(target)) = (words.next(), words.next()) else { return };
                seen.lock().expect("tunnels").push(target.to_owned());
                let Ok(mut upstream) = TcpStream::connect(target.replace("localhost", "127.0.0.1")).await else {
                    return;
                };
                let mut client = client.into_inner();
                if client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await.is_err() {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (port, tunnels)
}

/// A fresh directory under the system's temp dir (no tempfile crate here).
fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("softphone-tls-{}-{}", std::process::id(), fastrand_suffix()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn fastrand_suffix() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}
