//! Signs the app's updates as tauri-plugin-updater checks them.
//!
//! - The update key pair is minisign's. The app's config holds the public key as the base64 of
//!   its key file's text (`plugins.updater.pubkey`); the secret key never enters the repository.
//! - A signature is the base64 of a minisign signature file's text, whose trusted comment names
//!   the file and the version (`timestamp:…\tfile:…\tversion:…`), so a feed cannot pair a new
//!   version number with an older signed payload (`requireSignedVersion`).
//! - The feed is the plugin's static JSON: version, notes, date and a signed payload per
//!   platform (`linux-x86_64`, `linux-x86_64-deb`, `windows-x86_64-nsis`, …).

use std::io::Cursor;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use minisign::{KeyPair, PublicKey, PublicKeyBox, SecretKey, SecretKeyBox};
use serde::Serialize;

/// What went wrong while making keys, signing or writing a feed.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// Minisign refused (a wrong password, an unreadable key file).
    #[error("the update key could not be used: {0}")]
    Key(String),
    /// The configured public key is not a key at all.
    #[error("the public key is not the base64 of a minisign public key file: {0}")]
    PublicKey(String),
}

fn key_error(error: minisign::PError) -> ReleaseError {
    ReleaseError::Key(error.to_string())
}

/// A new update key pair.
pub struct UpdateKeys {
    /// The secret key file's text (encrypted when a password was given).
    pub secret_key_file: String,
    /// The value for `plugins.updater.pubkey`: the base64 of the public key file's text.
    pub public_key_for_config: String,
}

impl std::fmt::Debug for UpdateKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateKeys").field("public_key_for_config", &self.public_key_for_config).finish_non_exhaustive()
    }
}

impl UpdateKeys {
    /// A new key pair; the secret key is encrypted with `password` when one is given (releases),
    /// and left plain without (tests, which make a key pair per run).
    pub fn generate(password: Option<&str>) -> Result<UpdateKeys, ReleaseError> {
        let KeyPair { pk, sk } = match password {
            Some(password) => KeyPair::generate_encrypted_keypair(Some(password.to_owned())),
            None => KeyPair::generate_unencrypted_keypair(),
        }
        .map_err(key_error)?;
        let comment = if password.is_some() { "softphone update key" } else { "softphone update key (no password)" };
        let secret_box = sk.to_box(Some(comment)).map_err(key_error)?;
        let public_box = pk.to_box().map_err(key_error)?;
        Ok(UpdateKeys {
            secret_key_file: secret_box.into_string(),
            public_key_for_config: BASE64.encode(public_box.into_string()),
        })
    }
}

/// The key id of a configured public key (`plugins.updater.pubkey`), as minisign prints it:
/// what the README and a signature's comment name.
pub fn key_id(public_key_for_config: &str) -> Result<String, ReleaseError> {
    let text = BASE64
        .decode(public_key_for_config.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| ReleaseError::PublicKey("not base64 of UTF-8 text".into()))?;
    let public = PublicKeyBox::from_string(&text)
        .and_then(PublicKeyBox::into_public_key)
        .map_err(|e| ReleaseError::PublicKey(e.to_string()))?;
    Ok(public.keynum().iter().rev().map(|b| format!("{b:02X}")).collect())
}

/// Signs `payload` (the file named `file_name`, the release `version`) with the secret key
/// file's text, decrypted with `password` if it is encrypted. Returns the signature as the
/// feed carries it.
pub fn sign_update(
    secret_key_file: &str,
    password: Option<&str>,
    payload: &[u8],
    file_name: &str,
    version: &str,
) -> Result<String, ReleaseError> {
    let secret_box = SecretKeyBox::from_string(secret_key_file).map_err(key_error)?;
    let secret: SecretKey = match password {
        Some(password) => secret_box.into_secret_key(Some(password.to_owned())),
        None => secret_box.into_unencrypted_secret_key(),
    }
    .map_err(key_error)?;
    let public = PublicKey::from_secret_key(&secret).map_err(key_error)?;
    let timestamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let file_name: String = file_name.chars().filter(|c| !c.is_control()).collect();
    let trusted = format!("timestamp:{timestamp}\tfile:{file_name}\tversion:{version}");
    let signature = minisign::sign(
        Some(&public),
        &secret,
        Cursor::new(payload),
        Some(&trusted),
        Some("signature from the softphone update key"),
    )
    .map_err(key_error)?;
    Ok(BASE64.encode(signature.into_string()))
}

/// One platform's payload in a feed.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformPayload {
    /// Where the payload is downloaded from.
    pub url: String,
    /// [`sign_update`]'s signature of it.
    pub signature: String,
}

/// The static feed tauri-plugin-updater reads: the newest version, what is new in it, when it
/// was published (RFC 3339) and its payload per platform key.
#[derive(Debug, Clone, Serialize)]
pub struct Feed {
    /// The offered version (semver, no `v`).
    pub version: String,
    /// What is new, shown to the agent before they agree to install.
    pub notes: String,
    /// RFC 3339.
    pub pub_date: String,
    /// By platform key (`linux-x86_64`, `linux-x86_64-deb`, `darwin-aarch64`, …).
    pub platforms: std::collections::BTreeMap<String, PlatformPayload>,
}

impl Feed {
    /// The feed's JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verify(public_key_for_config: &str, signature: &str, payload: &[u8]) -> Result<String, String> {
        let public_text = String::from_utf8(BASE64.decode(public_key_for_config).unwrap()).unwrap();
        let public = PublicKeyBox::from_string(&public_text).unwrap().into_public_key().unwrap();
        let signature_text = String::from_utf8(BASE64.decode(signature).unwrap()).unwrap();
        let signature_box = minisign::SignatureBox::from_string(&signature_text).map_err(|e| e.to_string())?;
        let trusted = signature_box.trusted_comment().map_err(|e| e.to_string())?;
        minisign::verify(&public, &signature_box, Cursor::new(payload), true, false, false)
            .map(|()| trusted)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_signature_verifies_with_its_own_key_only_and_names_the_version() {
        let keys = UpdateKeys::generate(None).unwrap();
        let signature = sign_update(&keys.secret_key_file, None, b"payload", "Softphone", "0.1.1").unwrap();
        let trusted = verify(&keys.public_key_for_config, &signature, b"payload").unwrap();
        assert!(trusted.ends_with("\tfile:Softphone\tversion:0.1.1"), "{trusted}");
        assert!(verify(&keys.public_key_for_config, &signature, b"payload!").is_err(), "another payload");
        let other = UpdateKeys::generate(None).unwrap();
        assert!(verify(&other.public_key_for_config, &signature, b"payload").is_err(), "another key");
        assert_eq!(key_id(&keys.public_key_for_config).unwrap().len(), 16);
    }

    #[test]
    fn an_encrypted_key_signs_with_its_password_and_refuses_a_wrong_one() {
        let keys = UpdateKeys::generate(Some("correct horse")).unwrap();
        assert!(sign_update(&keys.secret_key_file, Some("wrong"), b"x", "f", "1.0.0").is_err());
        let signature = sign_update(&keys.secret_key_file, Some("correct horse"), b"x", "f", "1.0.0").unwrap();
        assert!(verify(&keys.public_key_for_config, &signature, b"x").is_ok());
        assert!(format!("{keys:?}").contains("public_key_for_config") && !format!("{keys:?}").contains("secret"));
    }

    #[test]
    fn a_public_key_that_is_not_one_is_refused() {
        assert!(matches!(key_id("not base64!"), Err(ReleaseError::PublicKey(_))));
        assert!(matches!(key_id(&BASE64.encode("untrusted comment: x\nnope")), Err(ReleaseError::PublicKey(_))));
    }
}
