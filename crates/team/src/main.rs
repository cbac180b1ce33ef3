//! `softphone-team`: the team lead's tool for the team database. The database URL comes from
//! `--database-url` or `DATABASE_URL` and names a role that owns the database and may create
//! roles (the one that ran `init`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use softphone_core::phone::Region;
use softphone_team::connect::{TeamLogin, connect};
use softphone_team::{TeamError, admin, report, schema};

#[derive(Debug, Parser)]
#[command(name = "softphone-team", version, about = "Sets up and runs a calling team on PostgreSQL.")]
struct Cli {
    /// postgres://owner:password@host:5432/database
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates (or updates) the team schema, the agents' and team leads' roles and row-level security.
    Init,
    /// Teams.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Campaigns.
    #[command(subcommand)]
    Campaign(CampaignCommand),
    /// Agents: each gets a login of its own and a password shown once.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Imports a CSV of leads into a campaign (made if new), with the app's rules and report.
    Import {
        #[arg(long)]
        team: String,
        #[arg(long)]
        campaign: String,
        /// Numbers without a country code are read in this region.
        #[arg(long, default_value = "US")]
        region: String,
        file: PathBuf,
    },
    /// Hands the next free leads of a campaign to one agent.
    Assign {
        #[arg(long)]
        team: String,
        #[arg(long)]
        campaign: String,
        #[arg(long)]
        agent: String,
        #[arg(long, default_value_t = 100)]
        count: i64,
    },
    /// Takes a campaign's leads back from an agent (or everyone): leases end, assignments undone.
    Release {
        #[arg(long)]
        team: String,
        #[arg(long)]
        campaign: String,
        #[arg(long)]
        agent: Option<String>,
    },
    /// Dials, connects, talk time, dispositions and leads left, per agent and per campaign.
    Report {
        #[arg(long)]
        team: String,
        #[arg(long)]
        campaign: Option<String>,
        /// CSV instead of a table.
        #[arg(long)]
        csv: bool,
    },
}

#[derive(Debug, Subcommand)]
enum TeamCommand {
    Add { name: String },
}

#[derive(Debug, Subcommand)]
enum CampaignCommand {
    Add {
        #[arg(long)]
        team: String,
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum AgentCommand {
    Add {
        #[arg(long)]
        team: String,
        /// A team lead: manages the team's campaigns and leads, and reads the whole team.
        #[arg(long)]
        lead: bool,
        name: String,
    },
    /// A new password; the old one stops working.
    ResetPassword { login: String },
}

async fn run(cli: Cli) -> Result<String, TeamError> {
    let mut connection = connect(&TeamLogin::from_url(cli.database_url)).await?;
    let client = &mut connection.client;
    if !matches!(cli.command, Command::Init) {
        schema::check(client).await?;
    }
    Ok(match cli.command {
        Command::Init => {
            let applied = schema::migrate(client).await?;
            if applied.is_empty() {
                format!("The team schema is up to date (version {}).", schema::SCHEMA_VERSION)
            } else {
                format!("The team schema is set up (version {}).", schema::SCHEMA_VERSION)
            }
        }
        Command::Team(TeamCommand::Add { name }) => {
            let id = admin::add_team(client, &name).await?;
            format!("Team \"{}\" ({id}).", name.trim())
        }
        Command::Campaign(CampaignCommand::Add { team, name }) => {
            let team = admin::team_id(client, &team).await?;
            let id = admin::add_campaign(client, team, &name).await?;
            format!("Campaign \"{}\" ({id}).", name.trim())
        }
        Command::Agent(AgentCommand::Add { team, lead, name }) => {
            let team = admin::team_id(client, &team).await?;
            let agent = admin::add_agent(client, team, &name, lead).await?;
            format!(
                "{} \"{}\" added.\nlogin: {}\npassword: {}\nThe password is shown only this once: give it to the agent, who enters it in the app under Settings → Team.",
                if lead { "Team lead" } else { "Agent" },
                name.trim(),
                agent.login,
                agent.password.expose()
            )
        }
        Command::Agent(AgentCommand::ResetPassword { login }) => {
            let password = admin::reset_password(client, &login).await?;
            format!("login: {}\npassword: {}\nThe old password no longer works.", login.trim(), password.expose())
        }
        Command::Import { team, campaign, region, file } => {
            let region = Region::new(&region).map_err(|e| TeamError::Invalid(format!("--region: {e}")))?;
            let team = admin::team_id(client, &team).await?;
            let campaign = admin::add_campaign(client, team, &campaign).await?;
            let input = std::fs::File::open(&file)
                .map_err(|e| TeamError::Io { what: file.display().to_string(), reason: e.to_string() })?;
            let report = admin::import_csv(client, team, campaign, std::io::BufReader::new(input), region).await?;
            let mut out = format!(
                "{} new leads, {} merged, {} rows left out.",
                report.inserted,
                report.merged,
                report.rejected.len()
            );
            for rejected in &report.rejected {
                out.push_str(&format!("\nline {}: {}", rejected.line, rejected.reason));
            }
            out
        }
        Command::Assign { team, campaign, agent, count } => {
            let team = admin::team_id(client, &team).await?;
            let campaign = admin::campaign_id(client, team, &campaign).await?;
            let agent_id = admin::agent_by_login(client, &agent).await?;
            let n = admin::assign(client, campaign, agent_id, count).await?;
            format!("{n} leads assigned to {}.", agent.trim())
        }
        Command::Release { team, campaign, agent } => {
            let team = admin::team_id(client, &team).await?;
            let campaign = admin::campaign_id(client, team, &campaign).await?;
            let agent_id = match &agent {
                Some(login) => Some(admin::agent_by_login(client, login).await?),
                None => None,
            };
            let n = admin::release(client, campaign, agent_id).await?;
            format!("{n} leads released.")
        }
        Command::Report { team, campaign, csv } => {
            let team = admin::team_id(client, &team).await?;
            let campaign = match &campaign {
                Some(name) => Some(admin::campaign_id(client, team, name).await?),
                None => None,
            };
            let report = report::report(client, team, campaign).await?;
            if csv { report.to_csv().trim_end().to_owned() } else { report.to_table().trim_end().to_owned() }
        }
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("softphone-team: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("softphone-team: {error} [{}]", error.code());
            ExitCode::FAILURE
        }
    }
}
