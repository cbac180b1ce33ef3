//! The proxy a company network makes connections go through: `HTTPS_PROXY` (or `https_proxy`),
//! else `ALL_PROXY`, unless `NO_PROXY` names the host, as curl and reqwest read them. REST goes
//! through reqwest, which reads them itself; the websocket tunnels through the proxy here (HTTP
//! `CONNECT`), then speaks TLS to Telnyx inside the tunnel.

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A proxy to tunnel through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    pub host: String,
    pub port: u16,
    /// `user:password` from the proxy URL, sent as Basic authorization.
    pub credentials: Option<String>,
}

/// The proxy for a connection to `host`, from the environment.
pub fn proxy_for(host: &str) -> Option<Proxy> {
    let var = |names: &[&str]| names.iter().find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()));
    let https = var(&["HTTPS_PROXY", "https_proxy"]);
    let all = var(&["ALL_PROXY", "all_proxy"]);
    let no_proxy = var(&["NO_PROXY", "no_proxy"]);
    choose(host, https.as_deref(), all.as_deref(), no_proxy.as_deref())
}

/// [`proxy_for`] with the variables passed in.
pub fn choose(host: &str, https: Option<&str>, all: Option<&str>, no_proxy: Option<&str>) -> Option<Proxy> {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let bypassed = no_proxy.is_some_and(|list| {
        list.split(',')
            .map(|entry| entry.trim().trim_start_matches('.').to_ascii_lowercase())
            .any(|entry| entry == "*" || (!entry.is_empty() && (host == entry || host.ends_with(&format!(".{entry}")))))
    });
    if bypassed {
        return None;
    }
    parse(https.or(all)?)
}

/// `http://[user:password@]host[:port][/]` (the scheme may be left out; the port defaults to 80).
fn parse(url: &str) -> Option<Proxy> {
    let rest = url.trim();
    let rest = rest.strip_prefix("http://").unwrap_or(rest);
    let rest = rest.trim_end_matches('/');
    let (credentials, address) = match rest.rsplit_once('@') {
        Some((credentials, address)) => (Some(credentials.to_owned()), address),
        None => (None, rest),
    };
    let (host, port) = match address.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => (host, port.parse().ok()?),
        _ => (address, 80),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| Proxy { host: host.to_owned(), port, credentials })
}

/// A TCP connection to `host:port` tunnelled through `proxy` (HTTP `CONNECT`); the caller speaks
/// TLS inside it.
pub async fn tunnel(proxy: &Proxy, host: &str, port: u16) -> Result<TcpStream, String> {
    let mut stream = TcpStream::connect((proxy.host.as_str(), proxy.port))
        .await
        .map_err(|error| format!("the proxy {}:{} cannot be reached ({error})", proxy.host, proxy.port))?;
    let mut request = format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n");
    if let Some(credentials) = &proxy.credentials {
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        request.push_str(&format!("Proxy-Authorization: Basic {encoded}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.map_err(|error| format!("the proxy dropped the request ({error})"))?;
    // The answer's head, up to its blank line; nothing of the tunnel follows before we speak.
    let mut reader = BufReader::new(&mut stream);
    let mut status = String::new();
    reader.read_line(&mut status).await.map_err(|error| format!("the proxy did not answer ({error})"))?;
    loop {
        let mut line = String::new();
        let read = reader.read_line(&mut line).await.map_err(|error| format!("the proxy's answer broke ({error})"))?;
        if read == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if code != "200" {
        return Err(format!("the proxy refused the tunnel ({})", status.trim()));
    }
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(host: &str, port: u16, credentials: Option<&str>) -> Option<Proxy> {
        Some(Proxy { host: host.into(), port, credentials: credentials.map(str::to_owned) })
    }

    /// Host, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, and the proxy chosen.
    type Case = (&'static str, Option<&'static str>, Option<&'static str>, Option<&'static str>, Option<Proxy>);

    #[test]
    fn the_proxy_is_chosen_as_curl_chooses_it() {
        let cases: [Case; 9] = [
            ("rtc.telnyx.com", None, None, None, None),
            ("rtc.telnyx.com", Some("http://proxy.corp:3128"), None, None, proxy("proxy.corp", 3128, None)),
            ("rtc.telnyx.com", Some("proxy.corp:8080/"), None, None, proxy("proxy.corp", 8080, None)),
            ("rtc.telnyx.com", None, Some("http://all.corp"), None, proxy("all.corp", 80, None)),
            (
                "rtc.telnyx.com",
                Some("http://agent:s3cret@proxy.corp:3128"),
                None,
                None,
                proxy("proxy.corp", 3128, Some("agent:s3cret")),
            ),
            ("rtc.telnyx.com", Some("http://proxy.corp:3128"), None, Some("localhost, .telnyx.com"), None),
            ("api.TELNYX.com", Some("http://proxy.corp:3128"), None, Some("telnyx.com"), None),
            (
                "nottelnyx.com",
                Some("http://proxy.corp:3128"),
                None,
                Some("telnyx.com"),
                proxy("proxy.corp", 3128, None),
            ),
            ("rtc.telnyx.com", Some("http://proxy.corp:3128"), None, Some("*"), None),
        ];
        for (host, https, all, no_proxy, expected) in cases {
            assert_eq!(choose(host, https, all, no_proxy), expected, "{host} {https:?} {all:?} {no_proxy:?}");
        }
    }
}
