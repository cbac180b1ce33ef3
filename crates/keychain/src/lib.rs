//! The agent's Telnyx credentials in the OS keychain: Secret Service on Linux, Keychain on
//! macOS, Credential Manager on Windows. Nothing secret is ever written anywhere else; when no
//! keychain is reachable the caller gets [`KeychainError::Unavailable`], never a file fallback.
//!
//! Every call blocks (D-Bus round trips of 10-30 ms on Linux). From async code call it through
//! `tokio::task::spawn_blocking`.

use softphone_core::secret::Secret;

/// One credential the app keeps. Each is one keychain item (service = the app id, account = the
/// field's [`account`](CredentialField::account) name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialField {
    /// Telnyx API v2 key (Mission Control > Keys).
    ApiKey,
    /// The Telnyx credential connection the app's telephony credentials belong to.
    ConnectionId,
    /// The telephony credential the app created on first login (`POST /v2/telephony_credentials`).
    TelephonyCredentialId,
    /// Optional SIP username (`gencred...`) for login without a token.
    SipLogin,
    /// Optional SIP password.
    SipPassword,
    /// The agent's password for the team database (PostgreSQL), when the agent joined a team.
    /// Not one of [`CredentialField::ALL`]: forgetting the Telnyx credentials keeps the team.
    TeamPassword,
}

impl CredentialField {
    pub const ALL: [CredentialField; 5] = [
        CredentialField::ApiKey,
        CredentialField::ConnectionId,
        CredentialField::TelephonyCredentialId,
        CredentialField::SipLogin,
        CredentialField::SipPassword,
    ];

    /// The keychain item's account name.
    pub fn account(self) -> &'static str {
        match self {
            Self::ApiKey => "telnyx-api-key",
            Self::ConnectionId => "telnyx-connection-id",
            Self::TelephonyCredentialId => "telnyx-telephony-credential-id",
            Self::SipLogin => "telnyx-sip-login",
            Self::SipPassword => "telnyx-sip-password",
            Self::TeamPassword => "team-database-password",
        }
    }
}

/// Why the keychain could not be used. Messages are sentences for the agent and never contain
/// a secret.
#[derive(Debug, thiserror::Error)]
pub enum KeychainError {
    /// No keychain service answers (Linux: no D-Bus session, or no Secret Service on it).
    #[error(
        "No keychain is available ({detail}). On Linux, start a Secret Service such as GNOME Keyring or \
         KWallet and log in again; until then the app can only run in demo mode."
    )]
    Unavailable { detail: String },
    /// The keychain exists but is locked or refused access.
    #[error("The keychain is locked or refused access ({detail}). Unlock it (log in again) and retry.")]
    Locked { detail: String },
    /// Any other failure of the platform store.
    #[error("The keychain failed: {detail}")]
    Failed { detail: String },
}

impl From<KeychainError> for softphone_core::ipc::IpcError {
    /// No keychain, a locked one, or one that failed: each says what the agent can do.
    fn from(error: KeychainError) -> Self {
        use softphone_core::ipc::ErrorCode;
        let code = match error {
            KeychainError::Unavailable { .. } => ErrorCode::KeychainUnavailable,
            KeychainError::Locked { .. } => ErrorCode::KeychainLocked,
            KeychainError::Failed { .. } => ErrorCode::KeychainFailed,
        };
        Self::new(code, error.to_string())
    }
}

/// The credentials of one agent, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredentials {
    pub api_key: Secret,
    pub connection_id: Secret,
    pub sip: Option<SipCredentials>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipCredentials {
    pub login: Secret,
    pub password: Secret,
}

/// Which credentials are stored; safe to show and to send to the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CredentialsPresence {
    pub api_key: bool,
    pub connection_id: bool,
    pub telephony_credential_id: bool,
    pub sip_login: bool,
}

/// The app's items in the OS keychain.
#[derive(Debug, Clone)]
pub struct Keychain {
    service: String,
}

impl Keychain {
    /// `service` names the app in the keychain (its bundle identifier).
    pub fn new(service: impl Into<String>) -> Self {
        Self { service: service.into() }
    }

    fn entry(&self, field: CredentialField) -> Result<keyring::Entry, KeychainError> {
        keyring::Entry::new(&self.service, field.account()).map_err(map_error)
    }

    /// Reads one item; `Ok(None)` when it is not stored.
    pub fn get(&self, field: CredentialField) -> Result<Option<Secret>, KeychainError> {
        match self.entry(field)?.get_password() {
            Ok(value) => Ok(Some(Secret::new(value))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(map_error(error)),
        }
    }

    pub fn set(&self, field: CredentialField, value: &Secret) -> Result<(), KeychainError> {
        self.entry(field)?.set_password(value.expose()).map_err(map_error)?;
        tracing::info!(item = field.account(), "keychain item stored");
        Ok(())
    }

    /// Removes one item; removing an item that is not there is not an error.
    pub fn delete(&self, field: CredentialField) -> Result<(), KeychainError> {
        match self.entry(field)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(map_error(error)),
        }
    }

    /// Stores a full set of credentials. A previously stored telephony credential belongs to the
    /// old key or connection, so it is removed; SIP items not given are removed too. If a write
    /// fails, the items written by this call are removed again (best effort) so the keychain does
    /// not hold a half-saved set.
    pub fn save(&self, credentials: &StoredCredentials) -> Result<(), KeychainError> {
        let mut items = vec![
            (CredentialField::ApiKey, &credentials.api_key),
            (CredentialField::ConnectionId, &credentials.connection_id),
        ];
        if let Some(sip) = &credentials.sip {
            items.push((CredentialField::SipLogin, &sip.login));
            items.push((CredentialField::SipPassword, &sip.password));
        }
        let mut written = Vec::new();
        for (field, value) in items {
            if let Err(error) = self.set(field, value) {
                for done in written {
                    let _ = self.delete(done);
                }
                return Err(error);
            }
            written.push(field);
        }
        self.delete(CredentialField::TelephonyCredentialId)?;
        if credentials.sip.is_none() {
            self.delete(CredentialField::SipLogin)?;
            self.delete(CredentialField::SipPassword)?;
        }
        Ok(())
    }

    /// Reads the stored credentials; `Ok(None)` unless both the API key and connection id exist.
    pub fn load(&self) -> Result<Option<StoredCredentials>, KeychainError> {
        let (Some(api_key), Some(connection_id)) =
            (self.get(CredentialField::ApiKey)?, self.get(CredentialField::ConnectionId)?)
        else {
            return Ok(None);
        };
        let sip = match (self.get(CredentialField::SipLogin)?, self.get(CredentialField::SipPassword)?) {
            (Some(login), Some(password)) => Some(SipCredentials { login, password }),
            _ => None,
        };
        Ok(Some(StoredCredentials { api_key, connection_id, sip }))
    }

    /// Removes every item of the app.
    pub fn clear(&self) -> Result<(), KeychainError> {
        for field in CredentialField::ALL {
            self.delete(field)?;
        }
        Ok(())
    }

    /// What is stored, as booleans: each item is read and dropped (zeroed) at once.
    pub fn presence(&self) -> Result<CredentialsPresence, KeychainError> {
        Ok(CredentialsPresence {
            api_key: self.get(CredentialField::ApiKey)?.is_some(),
            connection_id: self.get(CredentialField::ConnectionId)?.is_some(),
            telephony_credential_id: self.get(CredentialField::TelephonyCredentialId)?.is_some(),
            sip_login: self.get(CredentialField::SipLogin)?.is_some(),
        })
    }
}

fn map_error(error: keyring::Error) -> KeychainError {
    match error {
        keyring::Error::PlatformFailure(inner) => KeychainError::Unavailable { detail: inner.to_string() },
        keyring::Error::NoStorageAccess(inner) => KeychainError::Locked { detail: inner.to_string() },
        // Never include the value: BadEncoding carries the raw bytes of the stored item.
        keyring::Error::BadEncoding(_) => KeychainError::Failed { detail: "a stored item is not valid text".into() },
        other => KeychainError::Failed { detail: other.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_are_distinct_and_say_what_they_hold() {
        let names: std::collections::HashSet<_> = CredentialField::ALL.iter().map(|field| field.account()).collect();
        assert_eq!(names.len(), CredentialField::ALL.len());
        assert!(names.iter().all(|name| name.starts_with("telnyx-")));
    }

    #[test]
    fn stored_credentials_debug_without_values() {
        let credentials = StoredCredentials {
            api_key: Secret::new("KEY_for_a_unit_test_only_0123456789"),
            connection_id: Secret::new("1234567890"),
            sip: Some(SipCredentials { login: Secret::new("gencred1"), password: Secret::new("pw-unit") }),
        };
        let printed = format!("{credentials:?}");
        for value in ["KEY_for_a_unit_test_only_0123456789", "1234567890", "gencred1", "pw-unit"] {
            assert!(!printed.contains(value), "{printed}");
        }
    }

    #[test]
    fn unavailable_error_tells_the_agent_what_to_do() {
        let error = KeychainError::Unavailable { detail: "no D-Bus session".into() };
        let text = error.to_string();
        assert!(text.contains("Secret Service") && text.contains("demo mode"), "{text}");
    }
}
