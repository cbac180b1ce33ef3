//! The connection to a TURN server over TCP or TLS (RFC 6062 framing), and the certificates trusted
//! for TLS besides the system's.

use super::*;

/// Certificates trusted for TURN over TLS besides the system's: see [`trust_turn_certificate`].
pub(super) static TRUSTED_TURN_CERTIFICATES: Mutex<Vec<openssl::x509::X509>> = Mutex::new(Vec::new());

/// Trusts `pem` (one or more certificates) for TURN over TLS, for the life of the process: a
/// private TURN server's own authority, or a test's self-signed server.
pub fn trust_turn_certificate(pem: &[u8]) -> Result<(), String> {
    let certificates =
        openssl::x509::X509::stack_from_pem(pem).map_err(|error| format!("not a PEM certificate: {error}"))?;
    if certificates.is_empty() {
        return Err("no certificate in the PEM text".to_owned());
    }
    TRUSTED_TURN_CERTIFICATES.lock().unwrap_or_else(PoisonError::into_inner).extend(certificates);
    Ok(())
}

/// The TLS handshake with a TURN server, checking its certificate is for `name` and from an
/// authority the system (or [`trust_turn_certificate`]) trusts.
pub(super) fn tls_handshake(name: &str, tcp: TcpStream) -> Result<openssl::ssl::SslStream<TcpStream>, String> {
    let mut connector = openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls_client())
        .map_err(|error| error.to_string())?;
    for certificate in TRUSTED_TURN_CERTIFICATES.lock().unwrap_or_else(PoisonError::into_inner).iter() {
        // A certificate already in the store is no error worth failing the call for.
        let _ = connector.cert_store_mut().add_cert(certificate.clone());
    }
    connector.build().connect(name, tcp).map_err(|error| match error {
        openssl::ssl::HandshakeError::Failure(mid) => {
            let verify = mid.ssl().verify_result();
            if verify == openssl::x509::X509VerifyResult::OK {
                mid.error().to_string()
            } else {
                format!("the certificate is not trusted: {}", verify.error_string())
            }
        }
        other => other.to_string(),
    })
}

/// A TURN server's connection: plain TCP, or TLS over TCP.
pub(crate) enum TurnStream {
    Tcp(TcpStream),
    Tls(Box<openssl::ssl::SslStream<TcpStream>>),
}

impl TurnStream {
    pub(super) fn tcp(&self) -> &TcpStream {
        match self {
            TurnStream::Tcp(tcp) => tcp,
            TurnStream::Tls(tls) => tls.get_ref(),
        }
    }
}

impl std::fmt::Debug for TurnStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if matches!(self, TurnStream::Tcp(_)) { "Tcp" } else { "Tls" };
        f.debug_tuple(kind).field(&self.tcp().peer_addr().ok()).finish()
    }
}

impl Read for TurnStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            TurnStream::Tcp(tcp) => tcp.read(buf),
            TurnStream::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for TurnStream {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self {
            TurnStream::Tcp(tcp) => tcp.write(bytes),
            TurnStream::Tls(tls) => tls.write(bytes),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            TurnStream::Tcp(tcp) => tcp.flush(),
            TurnStream::Tls(tls) => tls.flush(),
        }
    }
}

/// Reads until one whole STUN message is in `inbox`, and takes it.
pub(super) fn read_framed(stream: &mut TurnStream, inbox: &mut Vec<u8>, deadline: Instant) -> std::io::Result<Vec<u8>> {
    let mut buf = [0u8; 2_048];
    loop {
        match softphone_stun::take_framed(inbox) {
            Ok(Some(message)) => return Ok(message),
            Ok(None) => {}
            Err(error) => return Err(std::io::Error::new(ErrorKind::InvalidData, error)),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        stream.tcp().set_read_timeout(Some(left))?;
        match stream.read(&mut buf)? {
            0 => return Err(ErrorKind::UnexpectedEof.into()),
            len => inbox.extend_from_slice(&buf[..len]),
        }
    }
}
