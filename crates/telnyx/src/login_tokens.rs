//! The login token the engine logs in with: created on first use, cached, refreshed before expiry.

use std::time::{Duration, SystemTime};

use softphone_core::secret::Secret;

use crate::client::TelnyxApi;
use crate::error::TelnyxError;
use crate::token::{CredentialId, LoginToken};

/// A cached token is handed out again only while it stays valid for at least this long; inside
/// this window a new one is minted. 5 minutes, comfortably above the SDK's 120 s
/// `TOKEN_EXPIRING_SOON` warning.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// What [`LoginTokens::issue_login_token`] needs: the account's secrets as read from the keychain
/// at the moment of use.
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    /// The Telnyx API key.
    pub api_key: &'a Secret,
    /// The SIP connection the credential belongs to; used only when a credential is created.
    pub connection_id: &'a str,
    /// The credential id stored from an earlier run, `None` on first use.
    pub credential_id: Option<&'a CredentialId>,
}

/// A token ready for the engine's `login`.
#[derive(Debug, Clone)]
pub struct IssuedLoginToken {
    /// The token.
    pub token: LoginToken,
    /// The credential it was minted for.
    pub credential_id: CredentialId,
    /// `Some` when a credential was created during this call (none was passed in, or the stored
    /// one no longer exists at Telnyx): the caller must store this id (keychain) and pass it in
    /// from now on.
    pub new_credential_id: Option<CredentialId>,
    /// True when the token came from the cache without any request to Telnyx.
    pub from_cache: bool,
}

/// The in-memory cache of the current login token.
///
/// Invariant: the cached token belongs to the credential id stored next to it, and is handed out
/// only while [`LoginToken::is_fresh`] with [`REFRESH_MARGIN`]. Callers serialise access
/// (`&mut self`), so two refreshes never run at once. `Debug` never shows the JWT.
#[derive(Debug)]
pub struct LoginTokens {
    api: TelnyxApi,
    cached: Option<(CredentialId, LoginToken)>,
}

impl LoginTokens {
    /// An empty cache over `api`.
    pub fn new(api: TelnyxApi) -> Self {
        Self { api, cached: None }
    }

    /// Forgets the cached token, e.g. after the agent changed the API key or connection.
    pub fn clear(&mut self) {
        self.cached = None;
    }

    /// A login token valid for at least [`REFRESH_MARGIN`] after `now`.
    ///
    /// Reuses the cached token when it belongs to `request.credential_id` and is fresh; otherwise
    /// mints one, creating the credential first when none is given. When the given credential is
    /// gone at Telnyx (404 on mint), a new credential is created once and reported in
    /// [`IssuedLoginToken::new_credential_id`].
    pub async fn issue_login_token(
        &mut self,
        request: TokenRequest<'_>,
        now: SystemTime,
    ) -> Result<IssuedLoginToken, TelnyxError> {
        if let (Some(wanted), Some((cached_id, token))) = (request.credential_id, &self.cached)
            && wanted == cached_id
            && token.is_fresh(now, REFRESH_MARGIN)
        {
            return Ok(IssuedLoginToken {
                token: token.clone(),
                credential_id: cached_id.clone(),
                new_credential_id: None,
                from_cache: true,
            });
        }
        self.cached = None;

        let (credential_id, created, token) = match request.credential_id {
            Some(id) => match self.api.mint_login_token(request.api_key, id).await {
                Ok(token) => (id.clone(), false, token),
                Err(TelnyxError::NotFound { .. }) => {
                    tracing::warn!("stored telephony credential is gone; creating a new one");
                    self.create_and_mint(request).await?
                }
                Err(error) => return Err(error),
            },
            None => self.create_and_mint(request).await?,
        };
        self.cached = Some((credential_id.clone(), token.clone()));
        Ok(IssuedLoginToken {
            token,
            new_credential_id: created.then(|| credential_id.clone()),
            credential_id,
            from_cache: false,
        })
    }

    async fn create_and_mint(
        &self,
        request: TokenRequest<'_>,
    ) -> Result<(CredentialId, bool, LoginToken), TelnyxError> {
        let id = self.api.create_telephony_credential(request.api_key, request.connection_id).await?;
        let token = self.api.mint_login_token(request.api_key, &id).await?;
        Ok((id, true, token))
    }
}
