//! `softphone-release`: the update key pair, signatures and the feed (see the README's
//! "Releasing an update").
//!
//! ```text
//! softphone-release keygen DIR                      # DIR/update.key (secret), prints the pubkey
//! softphone-release sign KEY_FILE VERSION PAYLOAD    # prints PAYLOAD's signature
//! softphone-release feed VERSION NOTES PLATFORM=URL=SIGNATURE...  # prints the feed's JSON
//! ```
//!
//! The secret key's password comes from `SOFTPHONE_UPDATE_KEY_PASSWORD` (none: a key without
//! one, for trying things out only).

use std::process::ExitCode;

use softphone_release::{Feed, PlatformPayload, UpdateKeys, key_id, sign_update};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let password = std::env::var("SOFTPHONE_UPDATE_KEY_PASSWORD").ok().filter(|p| !p.is_empty());
    let outcome = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["keygen", dir] => keygen(dir, password.as_deref()),
        ["sign", key_file, version, payload] => sign(key_file, version, payload, password.as_deref()),
        ["feed", version, notes, platforms @ ..] if !platforms.is_empty() => feed(version, notes, platforms),
        _ => Err(USAGE.to_owned()),
    };
    match outcome {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("softphone-release: {error}");
            ExitCode::from(2)
        }
    }
}

const USAGE: &str = "usage: softphone-release keygen DIR | sign KEY_FILE VERSION PAYLOAD | feed VERSION NOTES PLATFORM=URL=SIGNATURE...";

fn keygen(dir: &str, password: Option<&str>) -> Result<String, String> {
    let path = std::path::Path::new(dir).join("update.key");
    if path.exists() {
        return Err(format!("{} exists already; a new key pair would orphan every installed app", path.display()));
    }
    let keys = UpdateKeys::generate(password).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{dir}: {e}"))?;
    write_private(&path, &keys.secret_key_file).map_err(|e| format!("{}: {e}", path.display()))?;
    let id = key_id(&keys.public_key_for_config).map_err(|e| e.to_string())?;
    Ok(format!(
        "secret key (keep it out of the repository): {}\nkey id: {id}\nplugins.updater.pubkey: {}",
        path.display(),
        keys.public_key_for_config
    ))
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

fn sign(key_file: &str, version: &str, payload: &str, password: Option<&str>) -> Result<String, String> {
    let secret = std::fs::read_to_string(key_file).map_err(|e| format!("{key_file}: {e}"))?;
    let bytes = std::fs::read(payload).map_err(|e| format!("{payload}: {e}"))?;
    let name = std::path::Path::new(payload).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    sign_update(&secret, password, &bytes, &name, version).map_err(|e| e.to_string())
}

fn feed(version: &str, notes: &str, platforms: &[&str]) -> Result<String, String> {
    let mut feed = Feed {
        version: version.to_owned(),
        notes: notes.to_owned(),
        pub_date: jiff::Timestamp::now().round(jiff::Unit::Second).map(|t| t.to_string()).unwrap_or_default(),
        platforms: Default::default(),
    };
    for platform in platforms {
        let mut parts = platform.splitn(3, '=');
        let (Some(key), Some(url), Some(signature)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("{platform}: expected PLATFORM=URL=SIGNATURE"));
        };
        let payload = PlatformPayload { url: url.to_owned(), signature: signature.to_owned() };
        feed.platforms.insert(key.to_owned(), payload);
    }
    Ok(feed.to_json())
}
