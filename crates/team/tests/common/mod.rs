//! A team database for a test: a private PostgreSQL server, the schema, a team with a campaign.
#![allow(dead_code)]

use softphone_core::phone::Region;
use softphone_team::admin::{self, NewAgent};
use softphone_team::connect::{Connection, TeamLogin, connect};
use softphone_team::schema;
use softphone_team::test_support::TestServer;
use softphone_team::{TeamError, TeamSession};
use uuid::Uuid;

pub struct TeamDb {
    pub server: TestServer,
    pub owner: Connection,
}

impl TeamDb {
    pub async fn start() -> TeamDb {
        let server = TestServer::start();
        let mut owner = connect(&TeamLogin::from_url(server.superuser_url())).await.expect("the owner connects");
        schema::migrate(&mut owner.client).await.expect("the schema migrates");
        TeamDb { server, owner }
    }

    /// Connects the owner again (after the server was stopped and started).
    pub async fn reconnect_owner(&mut self) {
        self.owner = connect(&TeamLogin::from_url(self.server.superuser_url())).await.expect("the owner connects");
    }

    pub async fn team(&self, name: &str) -> Uuid {
        admin::add_team(&self.owner.client, name).await.expect("team added")
    }

    pub async fn campaign(&self, team: Uuid, name: &str) -> Uuid {
        admin::add_campaign(&self.owner.client, team, name).await.expect("campaign added")
    }

    pub async fn agent(&mut self, team: Uuid, name: &str, is_lead: bool) -> NewAgent {
        admin::add_agent(&mut self.owner.client, team, name, is_lead).await.expect("agent added")
    }

    pub fn login(&self, agent: &NewAgent) -> TeamLogin {
        TeamLogin::new(self.server.url(), agent.login.clone(), agent.password.clone())
    }

    pub async fn session(&self, agent: &NewAgent) -> TeamSession {
        TeamSession::open(&self.login(agent)).await.expect("the agent's session opens")
    }

    pub async fn try_session(&self, agent: &NewAgent) -> Result<TeamSession, TeamError> {
        TeamSession::open(&self.login(agent)).await
    }

    /// `count` leads with numbers [`number`]`(0..count)`, through the team tool's CSV import.
    pub async fn leads(&mut self, team: Uuid, campaign: Uuid, count: u32) {
        let mut csv = String::from("Name,Phone,Company\n");
        for n in 0..count {
            csv.push_str(&format!("Lead {n},{},Acme {n}\n", number(n)));
        }
        let report = admin::import_csv(&mut self.owner.client, team, campaign, std::io::Cursor::new(csv), Region::US)
            .await
            .expect("leads imported");
        assert_eq!(report.inserted, u64::from(count), "{report:?}");
    }
}

/// A valid San Francisco number, different for every `n` below 8,000,000.
pub fn number(n: u32) -> String {
    format!("+1415{:03}{:04}", 200 + n / 10_000, n % 10_000)
}
