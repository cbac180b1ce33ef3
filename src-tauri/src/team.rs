//! The agent's team (issue 21): the link to the team's PostgreSQL, as an adapter. It keeps the
//! agent's database password in the keychain (never in a file), the address and login in the
//! local database, and runs the sync loop of `softphone-team` over the app's own database file
//! (handed to it by the wiring). Offline the app works on; the status says how much waits.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use softphone_core::ipc::{ErrorCode, IpcError, TeamCampaign, TeamStatus};
use softphone_core::lead::LeadId;
use softphone_core::secret::Secret;
use softphone_dialer::TeamRelease;
use softphone_keychain::{CredentialField, Keychain};
use softphone_store::{Store, TeamLeadRelease};
use softphone_team::sync::LocalStore;
use softphone_team::{TeamError, TeamLink, TeamLogin, TeamSession, TeamSync, TeamSyncStatus};
use tokio::sync::watch;

use crate::errors;

/// The team link, managed.
pub struct Team {
    keychain: Keychain,
    store: Arc<Mutex<Option<Store>>>,
    running: Mutex<Option<TeamSync>>,
    /// The login in force, and the connection that claims and gives back leads (a second one:
    /// the sync's is busy with its own transactions).
    login: Mutex<Option<TeamLogin>>,
    claims: tokio::sync::Mutex<Option<TeamSession>>,
    /// Whether the leads this login held when the app last stopped (a crash, a restart: they are
    /// in no session of this run) were given back; done before anything else is claimed.
    held_given_back: AtomicBool,
    /// The leads of the dialing session resumed at start-up: held still, not given back.
    resumed_leads: Mutex<Vec<LeadId>>,
    /// Which sync the status follows: a sync stopped by a leave or a new join says no more.
    generation: Arc<AtomicU64>,
    status: watch::Sender<TeamStatus>,
}

/// The coded error for a team failure; the sentence is the team crate's.
pub fn ipc_error(error: &TeamError) -> IpcError {
    let code = if error.is_transient() || matches!(error, TeamError::Io { .. }) {
        ErrorCode::TeamUnreachable
    } else {
        ErrorCode::TeamRefused
    };
    IpcError::new(code, error.to_string())
}

fn view(login: Option<&(String, String)>, sync: Option<&TeamSyncStatus>) -> TeamStatus {
    let Some((url, name)) = login else {
        return TeamStatus { sentence: String::new(), ..TeamStatus::default() };
    };
    let mut status =
        TeamStatus { joined: true, url: Some(url.clone()), login: Some(name.clone()), ..TeamStatus::default() };
    if let Some(sync) = sync {
        status.online = sync.link == TeamLink::Online;
        status.waiting = sync.waiting;
        status.refused = sync.refused;
        status.team = sync.team.clone();
        status.agent = sync.agent.clone();
        status.reason = match &sync.link {
            TeamLink::Offline { reason } => Some(reason.clone()),
            _ => None,
        };
        status.sentence = sync.sentence();
    } else {
        status.sentence = "Team connecting…".into();
    }
    status
}

impl Team {
    /// `store` is the app's database (the wiring hands it over); `keychain` the app's.
    pub fn new(keychain: Keychain, store: Arc<Mutex<Option<Store>>>) -> Team {
        Team {
            keychain,
            store,
            running: Mutex::new(None),
            login: Mutex::new(None),
            claims: tokio::sync::Mutex::new(None),
            held_given_back: AtomicBool::new(false),
            resumed_leads: Mutex::new(Vec::new()),
            generation: Arc::new(AtomicU64::new(0)),
            status: watch::Sender::new(TeamStatus::default()),
        }
    }

    pub fn status(&self) -> TeamStatus {
        self.status.borrow().clone()
    }

    /// Every change of the status from now on.
    pub fn subscribe(&self) -> watch::Receiver<TeamStatus> {
        self.status.subscribe()
    }

    fn stored_login(&self) -> Result<Option<(String, String)>, IpcError> {
        self.store.with_store(|store| store.team_login()).map_err(IpcError::from)
    }

    async fn keychain<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Keychain) -> Result<T, softphone_keychain::KeychainError> + Send + 'static,
    ) -> Result<T, IpcError> {
        let keychain = self.keychain.clone();
        tokio::task::spawn_blocking(move || work(&keychain))
            .await
            .map_err(|_| errors::internal("Using the keychain"))?
            .map_err(IpcError::from)
    }

    /// At start-up: the team joined before, with the password from the keychain. Without one
    /// (the keychain was cleared), the status says how to join again. `resumed_leads` are those
    /// of the dialing session resumed after the restart: they stay this agent's.
    pub async fn resume(&self, resumed_leads: Vec<LeadId>) {
        if let Ok(mut kept) = self.resumed_leads.lock() {
            *kept = resumed_leads;
        }
        let login = match self.stored_login() {
            Ok(Some(login)) => login,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(reason = %error.message, "the team login could not be read");
                return;
            }
        };
        match self.keychain(|k| k.get(CredentialField::TeamPassword)).await {
            Ok(Some(password)) => self.start(&login, password),
            Ok(None) => self.status.send_modify(|status| {
                *status = view(Some(&login), None);
                status.sentence = "Team offline".into();
                status.reason =
                    Some("The team password is not in the keychain; join the team again under Settings → Team.".into());
            }),
            Err(error) => self.status.send_modify(|status| {
                *status = view(Some(&login), None);
                status.sentence = "Team offline".into();
                status.reason = Some(error.message);
            }),
        }
    }

    /// Joins a team: the login is tried first (a wrong password or address is said at once),
    /// then the password goes to the keychain and the sync starts.
    pub async fn join(&self, url: &str, login: &str, password: Secret) -> Result<TeamStatus, IpcError> {
        let (url, login) = (url.trim().to_owned(), login.trim().to_owned());
        if url.is_empty() || login.is_empty() || password.is_empty() {
            return Err(IpcError::new(
                ErrorCode::InvalidArgument,
                "Enter the team database's address, your login and your password (your team lead has them).",
            ));
        }
        let team_login = TeamLogin::new(url.clone(), login.clone(), password.clone());
        let session = TeamSession::open(&team_login).await.map_err(|error| ipc_error(&error))?;
        drop(session);
        let stored = password.clone();
        self.keychain(move |k| k.set(CredentialField::TeamPassword, &stored)).await?;
        self.store.with_store(|store| store.set_team_login(Some((&url, &login)))).map_err(IpcError::from)?;
        self.start(&(url, login), password);
        Ok(self.status())
    }

    /// Leaves the team: the sync stops, the password leaves the keychain; what waits is kept (a
    /// later join sends it).
    pub async fn leave(&self) -> Result<TeamStatus, IpcError> {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut running) = self.running.lock() {
            running.take();
        }
        if let Ok(mut login) = self.login.lock() {
            login.take();
        }
        self.claims.lock().await.take();
        self.keychain(|k| k.delete(CredentialField::TeamPassword)).await?;
        self.store.with_store(|store| store.set_team_login(None)).map_err(IpcError::from)?;
        self.status.send_replace(view(None, None));
        Ok(self.status())
    }

    fn start(&self, login: &(String, String), password: Secret) {
        if let Ok(mut current) = self.login.lock() {
            *current = Some(TeamLogin::new(login.0.clone(), login.1.clone(), password.clone()));
        }
        self.held_given_back.store(false, Ordering::SeqCst);
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let current_generation = Arc::clone(&self.generation);
        let sync = TeamSync::start(TeamLogin::new(login.0.clone(), login.1.clone(), password), Arc::clone(&self.store));
        let mut changes = sync.watch();
        let status = self.status.clone();
        let login = login.clone();
        status.send_replace(view(Some(&login), Some(&sync.status())));
        tokio::spawn(async move {
            // Ends when the sync is dropped (its sender goes) or nobody listens any more.
            while changes.changed().await.is_ok() {
                if current_generation.load(Ordering::SeqCst) != generation {
                    break;
                }
                let current = changes.borrow_and_update().clone();
                status.send_replace(view(Some(&login), Some(&current)));
            }
        });
        if let Ok(mut running) = self.running.lock() {
            *running = Some(sync);
        }
    }
}

/// How long a claimed lead stays the agent's without a heartbeat: a laptop that dies gives its
/// leads back to the team after this.
pub const LEASE: std::time::Duration = std::time::Duration::from_secs(10 * 60);

impl Team {
    /// Runs `work` on the claims connection, opening it (again) when there is none or it broke.
    async fn with_claims<T>(
        &self,
        work: impl AsyncFnOnce(&TeamSession) -> Result<T, TeamError>,
    ) -> Result<T, IpcError> {
        let login = self.login.lock().ok().and_then(|login| login.clone()).ok_or_else(|| {
            IpcError::new(ErrorCode::TeamRefused, "This computer is on no team; join one under Settings → Team.")
        })?;
        let mut claims = self.claims.lock().await;
        if claims.as_ref().is_none_or(|session| !session.is_alive()) {
            *claims = Some(TeamSession::open(&login).await.map_err(|error| ipc_error(&error))?);
        }
        let session = claims.as_ref().ok_or_else(|| errors::internal("The team connection"))?;
        if !self.held_given_back.load(Ordering::SeqCst) {
            // Kept: the resumed session's leads, and those whose give-back (a finished wrap-up,
            // say) still waits to be sent: it says more than "anyone's".
            let resumed = self.resumed_leads.lock().map(|kept| kept.clone()).unwrap_or_default();
            let keep: Vec<i64> = self
                .store
                .with_store(|store| {
                    let mut keep = Vec::new();
                    for lead in &resumed {
                        keep.extend(store.team_lead_id(*lead)?.map(|(id, _)| id));
                    }
                    keep.extend(store.team_releases()?.iter().map(|release| release.team_lead_id));
                    Ok(keep)
                })
                .map_err(IpcError::from)?;
            let given_back = session.give_back_held(&keep).await.map_err(|error| ipc_error(&error))?;
            self.held_given_back.store(true, Ordering::SeqCst);
            tracing::info!(given_back, "leads held when the app last stopped given back to the team");
        }
        work(session).await.map_err(|error| ipc_error(&error))
    }

    /// At start-up, once the team is reachable: gives back the leads held when the app last
    /// stopped (a crash mid-call leaves its lead leased to nobody's session), so teammates need
    /// not wait out the lease. Retries while the team is unreachable; a claim does it first too.
    pub async fn give_back_held_when_reachable(&self) {
        let mut pause = std::time::Duration::from_secs(1);
        while !self.held_given_back.load(Ordering::SeqCst) {
            match self.with_claims(async |_| Ok(())).await {
                Ok(()) => return,
                Err(error) if error.code == ErrorCode::TeamUnreachable => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_secs(30));
                }
                // Not on a team (or no longer): nothing is held.
                Err(_) => return,
            }
        }
    }

    /// The team's campaigns.
    pub async fn campaigns(&self) -> Result<Vec<TeamCampaign>, IpcError> {
        let campaigns = self.with_claims(async |session| session.campaigns().await).await?;
        Ok(campaigns.into_iter().map(|c| TeamCampaign { id: c.id.to_string(), name: c.name }).collect())
    }

    /// Claims the campaign's next lead for this agent and keeps it in the local database (the
    /// working copy); `None` when the campaign has none left for it.
    pub async fn claim(&self, campaign: &str) -> Result<Option<LeadId>, IpcError> {
        let campaign: uuid::Uuid = campaign
            .parse()
            .map_err(|_| IpcError::new(ErrorCode::InvalidArgument, "That is not one of the team's campaigns."))?;
        let Some(claimed) = self.with_claims(async |session| session.claim_next(campaign, LEASE).await).await? else {
            return Ok(None);
        };
        let local = claimed.to_local().map_err(|error| ipc_error(&error))?;
        let now = crate::clock::now().0 as i64;
        let lead = self.store.with_store(|store| store.keep_claimed_team_lead(&local, now)).map_err(IpcError::from)?;
        tracing::info!(team_lead = claimed.id, lead = lead.id.0, "team lead claimed");
        Ok(Some(lead.id))
    }

    /// Gives a claimed lead back to the team after its wrap-up (`release` says for good or for
    /// later), or unworked (`None`: anyone may have it now). It waits in the local database until
    /// the sync hands it to the team database (at once when online; when back, when not).
    pub fn release(
        &self,
        lead: LeadId,
        disposition: Option<&str>,
        release: Option<TeamRelease>,
    ) -> Result<(), IpcError> {
        let Some((team_lead_id, _)) =
            self.store.with_store(|store| store.team_lead_id(lead)).map_err(IpcError::from)?
        else {
            return Ok(());
        };
        let (finished, retry_after_ms) = match release {
            Some(TeamRelease::Finished) => (true, None),
            Some(TeamRelease::RetryAfter { ms }) => (false, Some(ms.max(0))),
            None => (false, None),
        };
        let queued = TeamLeadRelease {
            team_lead_id,
            finished,
            disposition: disposition.map(str::to_owned),
            retry_after_ms,
            queued_at_ms: crate::clock::now().0 as i64,
        };
        self.store.with_store(|store| store.queue_team_release(&queued)).map_err(IpcError::from)?;
        if let Ok(running) = self.running.lock()
            && let Some(sync) = running.as_ref()
        {
            sync.wake();
        }
        tracing::info!(team_lead = team_lead_id, finished, "team lead give-back queued");
        Ok(())
    }

    /// Keeps this agent's claimed leads its own while it works (the heartbeat).
    pub async fn renew(&self) -> Result<(), IpcError> {
        self.with_claims(async |session| session.renew(LEASE).await).await.map(|_| ())
    }
}
