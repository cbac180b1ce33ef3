//! Telephony credential ids and login tokens (JWTs) as the client holds them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use softphone_core::secret::Secret;

use crate::error::TelnyxError;

/// The id of a Telnyx telephony credential (a UUID), the `{id}` in
/// `/v2/telephony_credentials/{id}/token`.
///
/// Not a secret on its own (it mints nothing without the API key), but the app keeps it in the
/// keychain next to the key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CredentialId(String);

impl CredentialId {
    /// Wraps an id as stored (e.g. read back from the keychain).
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as Telnyx spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CredentialId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A login token for the WebRTC `login` (`params.login_token`), with its expiry.
///
/// Invariant: `expires_at` is the JWT's `exp` claim (read without checking the signature, as
/// Telnyx's own SDK does). `Debug` shows the expiry only; the JWT is a [`Secret`].
#[derive(Clone)]
pub struct LoginToken {
    jwt: Secret,
    expires_at: SystemTime,
}

impl std::fmt::Debug for LoginToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginToken").field("jwt", &self.jwt).field("exp", &self.exp_unix()).finish()
    }
}

impl LoginToken {
    /// Reads `exp` from the JWT's payload. Fails with [`TelnyxError::InvalidResponse`] when the
    /// string is not a three-part JWT whose payload is JSON with a numeric `exp`.
    pub fn from_jwt(jwt: Secret) -> Result<Self, TelnyxError> {
        let invalid = |reason| TelnyxError::InvalidResponse { reason };
        let mut parts = jwt.expose().split('.');
        let (Some(_header), Some(payload), Some(_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("the login token is not a JWT"));
        };
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .or_else(|_| URL_SAFE.decode(payload))
            .map_err(|_| invalid("the login token's payload is not base64url"))?;
        #[derive(serde::Deserialize)]
        struct Exp {
            exp: f64,
        }
        let Exp { exp } =
            serde_json::from_slice(&payload).map_err(|_| invalid("the login token has no numeric exp claim"))?;
        if !exp.is_finite() || exp < 0.0 {
            return Err(invalid("the login token's exp claim is out of range"));
        }
        let expires_at = UNIX_EPOCH
            .checked_add(Duration::from_secs(exp as u64))
            .ok_or(invalid("the login token's exp claim is out of range"))?;
        Ok(Self { jwt, expires_at })
    }

    /// The JWT, to hand to the engine's `login` at the moment of use.
    pub fn jwt(&self) -> &Secret {
        &self.jwt
    }

    /// When the token stops being accepted (its `exp`).
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// `exp` in Unix seconds.
    pub fn exp_unix(&self) -> u64 {
        self.expires_at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }

    /// Whether the token is still good for at least `margin` after `now`.
    pub fn is_fresh(&self, now: SystemTime, margin: Duration) -> bool {
        now.checked_add(margin).is_some_and(|deadline| deadline < self.expires_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> Secret {
        Secret::new(format!("eyJhbGciOiJIUzUxMiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode(payload)))
    }

    #[test]
    fn exp_is_read_from_the_payload() {
        let token = LoginToken::from_jwt(jwt(r#"{"exp":1700000000,"sub":"x"}"#)).unwrap();
        assert_eq!(token.exp_unix(), 1_700_000_000);
        let exp = token.expires_at();
        assert!(token.is_fresh(exp - Duration::from_secs(301), Duration::from_secs(300)));
        assert!(!token.is_fresh(exp - Duration::from_secs(300), Duration::from_secs(300)));
    }

    #[test]
    fn not_a_jwt_is_an_invalid_response() {
        for bad in [
            Secret::new("plain"),
            Secret::new("a.b"),
            Secret::new("a.!!!.c"),
            jwt(r#"{"sub":"x"}"#),
            jwt(r#"{"exp":"soon"}"#),
            jwt(r#"{"exp":-1}"#),
        ] {
            assert!(matches!(LoginToken::from_jwt(bad), Err(TelnyxError::InvalidResponse { .. })));
        }
    }

    #[test]
    fn debug_hides_the_jwt() {
        let secret = jwt(r#"{"exp":1700000000}"#);
        let shown = secret.expose().to_owned();
        let token = LoginToken::from_jwt(secret).unwrap();
        let debug = format!("{token:?}");
        assert!(!debug.contains(&shown), "{debug}");
        assert!(debug.contains("1700000000"));
    }
}
