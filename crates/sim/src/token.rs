//! Login JWTs as Telnyx mints them for `POST /v2/telephony_credentials/{id}/token`.
//!
//! Telnyx signs with HS512 (`{"alg":"HS512","typ":"JWT"}`), so the simulator does too, with a
//! secret drawn at random when the simulator starts: a token is valid only for the simulator that
//! minted it, and never across restarts.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha512;

type HmacSha512 = Hmac<Sha512>;

/// `iss` and `aud` of every Telnyx login token.
pub const TELNYX_TELEPHONY: &str = "telnyx_telephony";

/// The claims of a login token, as Telnyx puts them (decoded from the docs' example).
///
/// Times are Unix seconds (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Always [`TELNYX_TELEPHONY`].
    pub aud: String,
    /// Always [`TELNYX_TELEPHONY`].
    pub iss: String,
    /// The telephony credential id the token was minted for.
    pub sub: String,
    /// A unique id per token.
    pub jti: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Not before, Unix seconds; equal to `iat`.
    pub nbf: u64,
    /// Expiry, Unix seconds; `iat` + the simulator's token TTL.
    pub exp: u64,
    /// An opaque per-token value, like Telnyx's.
    pub tel_token: String,
    /// Always `"access"`.
    pub typ: String,
}

/// Why a string is not a valid login token of this simulator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    /// Not three base64url parts, or parts that do not decode to the expected JSON.
    #[error("the login token is not a well-formed JWT")]
    Malformed,
    /// Well-formed, but not signed by this simulator.
    #[error("the login token was not minted by this simulator")]
    BadSignature,
    /// Signed by this simulator, but `exp` has passed.
    #[error("the login token expired at {exp} (Unix seconds)")]
    Expired {
        /// The token's `exp`, Unix seconds.
        exp: u64,
    },
    /// Signed and unexpired, but its `sub` names no credential the simulator knows.
    #[error("the login token names an unknown telephony credential")]
    UnknownCredential,
}

/// Mints and verifies HS512 login tokens with one random secret.
///
/// `Debug` never shows the secret.
pub struct TokenSigner {
    secret: [u8; 64],
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner").field("secret", &"<redacted>").finish()
    }
}

impl TokenSigner {
    /// A signer with a fresh random 512-bit secret.
    pub fn random() -> Self {
        let mut secret = [0u8; 64];
        getrandom::fill(&mut secret).expect("the operating system's random source is available");
        Self { secret }
    }

    fn mac(&self) -> HmacSha512 {
        HmacSha512::new_from_slice(&self.secret).expect("HMAC accepts a key of any length")
    }

    /// Signs `claims` into a compact JWT (`header.payload.signature`, base64url, no padding).
    pub fn mint(&self, claims: &Claims) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize to JSON"));
        let signing_input = format!("{header}.{payload}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// Checks that `token` was minted by this signer and that `now_unix` (seconds) is before its
    /// `exp`. The signature is compared in constant time.
    pub fn verify(&self, token: &str, now_unix: u64) -> Result<Claims, TokenRejection> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenRejection::Malformed);
        };
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| TokenRejection::Malformed)?;
        let mut mac = self.mac();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).map_err(|_| TokenRejection::BadSignature)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenRejection::Malformed)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenRejection::Malformed)?;
        if now_unix >= claims.exp {
            return Err(TokenRejection::Expired { exp: claims.exp });
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims {
            aud: TELNYX_TELEPHONY.into(),
            iss: TELNYX_TELEPHONY.into(),
            sub: "cred".into(),
            jti: "j".into(),
            iat: 100,
            nbf: 100,
            exp,
            tel_token: "t".into(),
            typ: "access".into(),
        }
    }

    #[test]
    fn minted_token_verifies_until_exp() {
        let signer = TokenSigner::random();
        let token = signer.mint(&claims(200));
        assert_eq!(signer.verify(&token, 199).unwrap().sub, "cred");
        assert_eq!(signer.verify(&token, 200), Err(TokenRejection::Expired { exp: 200 }));
    }

    #[test]
    fn token_of_another_simulator_or_tampered_is_rejected() {
        let token = TokenSigner::random().mint(&claims(200));
        let signer = TokenSigner::random();
        assert_eq!(signer.verify(&token, 150), Err(TokenRejection::BadSignature));
        let own = signer.mint(&claims(200));
        let mut parts: Vec<&str> = own.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(10_000)).unwrap());
        parts[1] = &forged;
        assert_eq!(signer.verify(&parts.join("."), 150), Err(TokenRejection::BadSignature));
        assert_eq!(signer.verify("nope", 150), Err(TokenRejection::Malformed));
        assert_eq!(signer.verify("a.b.c.d", 150), Err(TokenRejection::Malformed));
    }

    #[test]
    fn debug_hides_secret() {
        let signer = TokenSigner::random();
        assert_eq!(format!("{signer:?}"), r#"TokenSigner { secret: "<redacted>" }"#);
    }
}
