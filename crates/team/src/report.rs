//! The team lead's report: per agent and per campaign, dials, connects, talk time, dispositions
//! and leads left, as a table for the terminal or as CSV.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use tokio_postgres::Client;
use uuid::Uuid;

use crate::error::TeamError;

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLine {
    /// The agent's or the campaign's name.
    pub name: String,
    pub dials: i64,
    pub connects: i64,
    pub talk_seconds: i64,
    /// Per disposition, how many calls.
    pub dispositions: BTreeMap<String, i64>,
    /// For a campaign: leads not finished yet (not on the do-not-call list). `None` for agents.
    pub leads_left: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TeamReport {
    pub agents: Vec<ReportLine>,
    pub campaigns: Vec<ReportLine>,
}

/// Counts the team's calls (of one campaign, or all).
pub async fn report(client: &Client, team: Uuid, campaign: Option<Uuid>) -> Result<TeamReport, TeamError> {
    let what = |e| TeamError::from_statement(e, "reporting");
    let agents = client
        .query(
            "SELECT a.name, count(c.id) FILTER (WHERE c.direction = 'outbound') AS dials,
                    count(c.answered_at) AS connects, coalesce(sum(c.talk_seconds), 0)::bigint AS talk
             FROM agents a LEFT JOIN calls c ON c.agent_id = a.id AND ($2::uuid IS NULL OR c.campaign_id = $2)
             WHERE a.team_id = $1 GROUP BY a.id, a.name ORDER BY a.name",
            &[&team, &campaign],
        )
        .await
        .map_err(what)?;
    let campaigns = client
        .query(
            "SELECT m.name,
                    (SELECT count(*) FROM calls c WHERE c.campaign_id = m.id AND c.direction = 'outbound') AS dials,
                    (SELECT count(c.answered_at) FROM calls c WHERE c.campaign_id = m.id) AS connects,
                    (SELECT coalesce(sum(c.talk_seconds), 0)::bigint FROM calls c WHERE c.campaign_id = m.id) AS talk,
                    (SELECT count(*) FROM leads l WHERE l.campaign_id = m.id AND NOT l.done AND NOT l.do_not_call)
                        AS left_
             FROM campaigns m WHERE m.team_id = $1 AND ($2::uuid IS NULL OR m.id = $2) ORDER BY m.name",
            &[&team, &campaign],
        )
        .await
        .map_err(what)?;
    let dispositions = client
        .query(
            "SELECT a.name AS agent, m.name AS campaign, d.disposition, count(*) AS n
             FROM dispositions d JOIN calls c ON c.id = d.call_id JOIN agents a ON a.id = d.agent_id
             LEFT JOIN campaigns m ON m.id = c.campaign_id
             WHERE d.team_id = $1 AND ($2::uuid IS NULL OR c.campaign_id = $2)
             GROUP BY a.name, m.name, d.disposition",
            &[&team, &campaign],
        )
        .await
        .map_err(what)?;
    let mut report = TeamReport {
        agents: agents
            .iter()
            .map(|row| ReportLine {
                name: row.get("name"),
                dials: row.get("dials"),
                connects: row.get("connects"),
                talk_seconds: row.get("talk"),
                dispositions: BTreeMap::new(),
                leads_left: None,
            })
            .collect(),
        campaigns: campaigns
            .iter()
            .map(|row| ReportLine {
                name: row.get("name"),
                dials: row.get("dials"),
                connects: row.get("connects"),
                talk_seconds: row.get("talk"),
                dispositions: BTreeMap::new(),
                leads_left: Some(row.get("left_")),
            })
            .collect(),
    };
    for row in &dispositions {
        let agent: String = row.get("agent");
        let campaign: Option<String> = row.get("campaign");
        let label: String = row.get("disposition");
        let n: i64 = row.get("n");
        if let Some(line) = report.agents.iter_mut().find(|line| line.name == agent) {
            *line.dispositions.entry(label.clone()).or_default() += n;
        }
        if let Some(line) = campaign.and_then(|c| report.campaigns.iter_mut().find(|line| line.name == c)) {
            *line.dispositions.entry(label).or_default() += n;
        }
    }
    Ok(report)
}

fn talk(seconds: i64) -> String {
    format!("{}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60)
}

fn all_labels(lines: &[ReportLine]) -> Vec<String> {
    let mut labels: Vec<String> = lines.iter().flat_map(|line| line.dispositions.keys().cloned()).collect();
    labels.sort();
    labels.dedup();
    labels
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

impl TeamReport {
    /// CSV: one row per agent, then one per campaign; a column per disposition seen.
    pub fn to_csv(&self) -> String {
        let lines: Vec<&ReportLine> = self.agents.iter().chain(&self.campaigns).collect();
        let labels = all_labels(&self.agents.iter().chain(&self.campaigns).cloned().collect::<Vec<_>>());
        let mut out = String::from("kind,name,dials,connects,talk_seconds,leads_left");
        for label in &labels {
            out.push(',');
            out.push_str(&csv_field(label));
        }
        out.push('\n');
        for (index, line) in lines.iter().enumerate() {
            let kind = if index < self.agents.len() { "agent" } else { "campaign" };
            let left = line.leads_left.map(|n| n.to_string()).unwrap_or_default();
            let _ = write!(
                out,
                "{kind},{},{},{},{},{left}",
                csv_field(&line.name),
                line.dials,
                line.connects,
                line.talk_seconds
            );
            for label in &labels {
                let _ = write!(out, ",{}", line.dispositions.get(label).copied().unwrap_or(0));
            }
            out.push('\n');
        }
        out
    }

    /// Two aligned tables for a terminal.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        for (title, lines) in [("Agent", &self.agents), ("Campaign", &self.campaigns)] {
            let labels = all_labels(lines);
            let mut rows: Vec<Vec<String>> = vec![
                [title, "Dials", "Connects", "Talk time", "Leads left"]
                    .into_iter()
                    .map(str::to_owned)
                    .chain(labels.iter().cloned())
                    .collect(),
            ];
            for line in lines {
                let mut row = vec![
                    line.name.clone(),
                    line.dials.to_string(),
                    line.connects.to_string(),
                    talk(line.talk_seconds),
                    line.leads_left.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
                ];
                row.extend(labels.iter().map(|label| line.dispositions.get(label).copied().unwrap_or(0).to_string()));
                rows.push(row);
            }
            let widths: Vec<usize> =
                (0..rows[0].len()).map(|c| rows.iter().map(|row| row[c].chars().count()).max().unwrap_or(0)).collect();
            for row in &rows {
                let cells: Vec<String> = row
                    .iter()
                    .enumerate()
                    .map(|(c, cell)| {
                        if c == 0 { format!("{cell:<w$}", w = widths[c]) } else { format!("{cell:>w$}", w = widths[c]) }
                    })
                    .collect();
                out.push_str(cells.join("  ").trim_end());
                out.push('\n');
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &str, dispositions: &[(&str, i64)], left: Option<i64>) -> ReportLine {
        ReportLine {
            name: name.into(),
            dials: 3,
            connects: 2,
            talk_seconds: 3725,
            dispositions: dispositions.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            leads_left: left,
        }
    }

    #[test]
    fn csv_has_a_column_per_disposition_and_quotes_names() {
        let report = TeamReport {
            agents: vec![line("Ana, the best", &[("answered", 2)], None)],
            campaigns: vec![line("Spring", &[("busy", 1), ("answered", 2)], Some(40))],
        };
        assert_eq!(
            report.to_csv(),
            "kind,name,dials,connects,talk_seconds,leads_left,answered,busy\n\
             agent,\"Ana, the best\",3,2,3725,,2,0\n\
             campaign,Spring,3,2,3725,40,2,1\n"
        );
        let table = report.to_table();
        assert!(table.contains("1:02:05"), "{table}");
        assert!(table.lines().next().is_some_and(|l| l.starts_with("Agent")), "{table}");
    }
}
