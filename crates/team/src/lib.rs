//! A team on one campaign, on the team's own PostgreSQL.
//!
//! - [`schema`]: the migrations (`migrations/`), with one login role per agent and row-level
//!   security: an agent reads its own team and writes only its own calls, notes, dispositions.
//! - [`session::TeamSession`]: an agent's connection: leads claimed by lease (`claim_lead`, FOR
//!   UPDATE SKIP LOCKED), changes pushed idempotently, the team's changes pulled from the feed
//!   and woken by LISTEN/NOTIFY.
//! - [`admin`] and [`report`]: the team lead's tool (`softphone-team`).

pub mod admin;
pub mod changes;
pub mod connect;
pub mod error;
pub mod report;
pub mod schema;
pub mod session;
pub mod sync;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use changes::{FeedChange, FeedCursor, FeedItem, TeamCall, TeamChange};
pub use connect::TeamLogin;
pub use error::TeamError;
pub use session::{AgentIdentity, Campaign, ClaimedLead, TeamSession};
pub use sync::{TeamLink, TeamSync, TeamSyncStatus};
