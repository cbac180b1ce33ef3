//! Out to a file an agent's spreadsheet opens: the call log (with the agent's filters) or the
//! leads (all, or those a search finds) as `.xlsx` (one sheet) or CSV (UTF-8 with a byte-order mark, without which Excel misreads accents), by
//! the path's extension. Times are written in the agent's local time.

use std::io::Write;
use std::path::Path;

use softphone_core::call::Direction;
use softphone_core::call_log::CallLogFilter;
use softphone_core::lead::{LeadId, Page};

use crate::Store;
use crate::error::StoreError;

/// The file formats written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Csv,
    Xlsx,
}

impl TableFormat {
    /// By the path's extension: `.xlsx` is a workbook, anything else CSV.
    pub fn of(path: &Path) -> TableFormat {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("xlsx") => TableFormat::Xlsx,
            _ => TableFormat::Csv,
        }
    }
}

/// One cell: text, or a number the spreadsheet can add up.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Text(String),
    Number(f64),
}

fn write_error(path: &Path, error: impl std::fmt::Display) -> StoreError {
    StoreError::invalid(format!("Could not write {}: {error}", path.display()))
}

/// Writes `headers` and `rows` to `path` as [`TableFormat::of`] says; the number of rows.
pub(crate) fn write_table(path: &Path, sheet: &str, headers: &[&str], rows: &[Vec<Cell>]) -> Result<usize, StoreError> {
    match TableFormat::of(path) {
        TableFormat::Csv => {
            let file = std::fs::File::create(path).map_err(|e| write_error(path, e))?;
            let mut out = std::io::BufWriter::new(file);
            out.write_all("\u{FEFF}".as_bytes()).map_err(|e| write_error(path, e))?;
            let mut writer = csv::Writer::from_writer(out);
            writer.write_record(headers).map_err(|e| write_error(path, e))?;
            for row in rows {
                let fields = row.iter().map(|cell| match cell {
                    Cell::Text(text) => text.clone(),
                    Cell::Number(number) => number.to_string(),
                });
                writer.write_record(fields).map_err(|e| write_error(path, e))?;
            }
            writer.flush().map_err(|e| write_error(path, e))?;
        }
        TableFormat::Xlsx => {
            let mut workbook = rust_xlsxwriter::Workbook::new();
            let worksheet = workbook.add_worksheet();
            worksheet.set_name(sheet).map_err(|e| write_error(path, e))?;
            let bold = rust_xlsxwriter::Format::new().set_bold();
            for (column, header) in headers.iter().enumerate() {
                worksheet
                    .write_string_with_format(0, column as u16, *header, &bold)
                    .map_err(|e| write_error(path, e))?;
            }
            for (index, row) in rows.iter().enumerate() {
                let line = index as u32 + 1;
                for (column, cell) in row.iter().enumerate() {
                    let column = column as u16;
                    match cell {
                        Cell::Text(text) => worksheet.write_string(line, column, text),
                        Cell::Number(number) => worksheet.write_number(line, column, *number),
                    }
                    .map_err(|e| write_error(path, e))?;
                }
            }
            worksheet.autofit();
            workbook.save(path).map_err(|e| write_error(path, e))?;
        }
    }
    Ok(rows.len())
}

/// `ms` (Unix milliseconds) as `YYYY-MM-DD HH:MM:SS` at `utc_offset_minutes` from UTC.
pub(crate) fn local_time(ms: i64, utc_offset_minutes: i32) -> String {
    let seconds = ms.div_euclid(1000) + i64::from(utc_offset_minutes) * 60;
    let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", of_day / 3_600, of_day % 3_600 / 60, of_day % 60)
}

/// The columns of an exported call log.
const CALL_LOG_HEADERS: [&str; 10] = [
    "Started",
    "Direction",
    "Number",
    "Lead",
    "Outcome",
    "Talk time (s)",
    "Disposition",
    "Note",
    "Transferred to",
    "Hang-up cause",
];

/// The columns of exported leads: what an import reads back (see crate::import), and then some.
const LEAD_HEADERS: [&str; 10] =
    ["Name", "Company", "Phone", "Email", "City", "Tags", "Notes", "Last outcome", "Do not call", "Time zone"];

fn lead_row(lead: &softphone_core::lead::Lead) -> Vec<Cell> {
    vec![
        Cell::Text(lead.name.clone()),
        Cell::Text(lead.company.clone()),
        Cell::Text(lead.phone.as_e164().to_owned()),
        Cell::Text(lead.email.clone()),
        Cell::Text(lead.city.clone()),
        Cell::Text(lead.tags.join(", ")),
        Cell::Text(lead.notes.clone()),
        Cell::Text(lead.last_disposition.as_ref().map(|d| d.label().to_owned()).unwrap_or_default()),
        Cell::Text(if lead.do_not_call { "Yes" } else { "" }.to_owned()),
        Cell::Text(lead.time_zone.clone()),
    ]
}

impl Store {
    /// Writes the leads `query` finds ([`Store::search_leads`]'s order; blank: every lead, by
    /// name) to `path` (see the module docs); how many. The file imports back as the same leads.
    pub fn export_leads(&self, query: &str, path: &Path) -> Result<usize, StoreError> {
        let mut rows = Vec::new();
        if query.trim().is_empty() {
            let mut statement = self.conn.prepare(&format!(
                "SELECT {} FROM leads ORDER BY name COLLATE NOCASE, id",
                crate::lead::LEAD_COLUMNS
            ))?;
            let leads = statement.query_map([], crate::lead::lead_from_row)?;
            for lead in leads {
                rows.push(lead_row(&lead?));
            }
        } else {
            loop {
                let page = Page { limit: Page::MAX_LIMIT, offset: rows.len() as u32 };
                let found = self.search_leads(query, page)?;
                let done = (found.len() as u32) < page.limit;
                rows.extend(found.iter().map(lead_row));
                if done {
                    break;
                }
            }
        }
        write_table(path, "Leads", &LEAD_HEADERS, &rows)
    }

    /// Writes the calls `filter` selects, newest first, to `path` (see the module docs); how
    /// many. Times at `utc_offset_minutes` from UTC (the agent's).
    pub fn export_call_log(
        &self,
        filter: &CallLogFilter,
        path: &Path,
        utc_offset_minutes: i32,
    ) -> Result<usize, StoreError> {
        let mut calls = Vec::new();
        loop {
            let page = Page { limit: Page::MAX_LIMIT, offset: calls.len() as u32 };
            let found = self.call_log(filter, page)?;
            let done = (found.len() as u32) < page.limit;
            calls.extend(found);
            if done {
                break;
            }
        }
        let mut names: std::collections::HashMap<LeadId, String> = std::collections::HashMap::new();
        let mut rows = Vec::with_capacity(calls.len());
        for call in &calls {
            let lead = match call.lead_id {
                Some(id) => match names.get(&id) {
                    Some(name) => name.clone(),
                    None => {
                        // A lead deleted since is left blank.
                        let name = self.lead(id).map(|lead| lead.name).unwrap_or_default();
                        names.insert(id, name.clone());
                        name
                    }
                },
                None => String::new(),
            };
            let direction = match call.direction {
                Direction::Inbound => "Inbound",
                Direction::Outbound => "Outbound",
            };
            rows.push(vec![
                Cell::Text(local_time(call.started_at_ms, utc_offset_minutes)),
                Cell::Text(direction.to_owned()),
                Cell::Text(call.remote_number.clone()),
                Cell::Text(lead),
                Cell::Text(call.state.label().to_owned()),
                Cell::Number(call.duration_ms.map_or(0.0, |ms| (ms as f64 / 1000.0).round())),
                Cell::Text(call.disposition.as_ref().map(|d| d.label().to_owned()).unwrap_or_default()),
                Cell::Text(call.note.clone()),
                Cell::Text(call.transferred_to.clone().unwrap_or_default()),
                Cell::Text(call.hangup_cause.clone().unwrap_or_default()),
            ]);
        }
        write_table(path, "Calls", &CALL_LOG_HEADERS, &rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_civil_dates_at_the_agents_offset() {
        for (ms, offset, shown) in [
            (0, 0, "1970-01-01 00:00:00"),
            (1_796_694_857_524, 0, "2026-12-08 01:54:17"),
            (1_796_694_857_524, -300, "2026-12-07 20:54:17"),
            (1_796_694_857_524, 60, "2026-12-08 02:54:17"),
            (951_782_400_000, 0, "2000-02-29 00:00:00"),
            (-1_000, 0, "1969-12-31 23:59:59"),
        ] {
            assert_eq!(local_time(ms, offset), shown, "{ms} at {offset}");
        }
    }

    #[test]
    fn the_format_is_the_extensions() {
        assert_eq!(TableFormat::of(Path::new("/tmp/calls.XLSX")), TableFormat::Xlsx);
        assert_eq!(TableFormat::of(Path::new("/tmp/calls.csv")), TableFormat::Csv);
        assert_eq!(TableFormat::of(Path::new("/tmp/calls")), TableFormat::Csv);
    }
}
