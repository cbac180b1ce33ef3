//! The do-not-call list and the do-not-call mark on leads: numbers never to be dialled.
//!
//! A list comes as a CSV file, often one number per line with no header, sometimes exported with
//! a header and more columns: each row's first field that reads as a phone number is listed; a
//! first row that reads as none is taken for the header. The import is one transaction; rows
//! that hold no number are reported with their line.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use rusqlite::{OptionalExtension, params};
use softphone_core::lead::{DoNotCallImportReport, Lead, LeadId, RejectedRow};
use softphone_core::phone::{PhoneNumber, Region};

use crate::Store;
use crate::error::{Entity, StoreError};

/// Where a number added by hand came from.
pub const MANUAL: &str = "manual";

fn io_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::Io { what: "the do-not-call file", reason: error.to_string() }
}

impl Store {
    /// Imports a do-not-call list from a CSV file; numbers without `+` are read in `region`.
    pub fn import_do_not_call_csv(
        &mut self,
        path: &Path,
        region: Region,
        now_ms: i64,
    ) -> Result<DoNotCallImportReport, StoreError> {
        let file = File::open(path).map_err(io_error)?;
        let source = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        self.import_do_not_call(BufReader::new(file), &source, region, now_ms)
    }

    /// [`Store::import_do_not_call_csv`] from any reader; `source` names where it came from.
    pub fn import_do_not_call(
        &mut self,
        input: impl Read,
        source: &str,
        region: Region,
        now_ms: i64,
    ) -> Result<DoNotCallImportReport, StoreError> {
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(input);
        let mut report = DoNotCallImportReport::default();
        let transaction = self.conn.transaction()?;
        {
            let mut insert = transaction.prepare_cached(
                "INSERT INTO do_not_call (number, added_at, source) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )?;
            for (index, record) in reader.records().enumerate() {
                let line =
                    record.as_ref().ok().and_then(|record| record.position()).map_or(index as u64 + 1, |p| p.line());
                let record = match record {
                    Ok(record) => record,
                    Err(error) if error.is_io_error() => return Err(io_error(error)),
                    Err(error) => {
                        report
                            .rejected
                            .push(RejectedRow { line, reason: format!("The row cannot be read ({error}).") });
                        continue;
                    }
                };
                let number = record.iter().find_map(|field| PhoneNumber::parse(field, region).ok());
                match number {
                    Some(number) => {
                        if insert.execute(params![number.as_e164(), now_ms, source])? == 1 {
                            report.added += 1;
                        } else {
                            report.already_listed += 1;
                        }
                    }
                    // A header row.
                    None if index == 0 && record.iter().any(|field| field.chars().any(char::is_alphabetic)) => {}
                    None if record.iter().all(|field| field.trim().is_empty()) => {}
                    None => report.rejected.push(RejectedRow {
                        line,
                        reason: "The row holds no phone number that can be dialled.".to_owned(),
                    }),
                }
            }
        }
        transaction.commit()?;
        Ok(report)
    }

    /// Puts `number` on the list by hand; `false` if it was there already.
    pub fn add_to_do_not_call(&self, number: &PhoneNumber, now_ms: i64) -> Result<bool, StoreError> {
        let added = self.conn.execute(
            "INSERT INTO do_not_call (number, added_at, source) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![number.as_e164(), now_ms, MANUAL],
        )?;
        Ok(added == 1)
    }

    /// Takes `number` off the list; `false` if it was not on it.
    pub fn remove_from_do_not_call(&self, number: &PhoneNumber) -> Result<bool, StoreError> {
        Ok(self.conn.execute("DELETE FROM do_not_call WHERE number = ?1", params![number.as_e164()])? == 1)
    }

    /// Whether `number` is on the list.
    pub fn is_on_do_not_call(&self, number: &PhoneNumber) -> Result<bool, StoreError> {
        let found: Option<i64> = self
            .conn
            .query_row("SELECT 1 FROM do_not_call WHERE number = ?1", params![number.as_e164()], |row| row.get(0))
            .optional()?;
        Ok(found.is_some())
    }

    /// How many numbers the list holds.
    pub fn do_not_call_count(&self) -> Result<u64, StoreError> {
        let count: i64 = self.conn.query_row("SELECT count(*) FROM do_not_call", [], |row| row.get(0))?;
        Ok(count.unsigned_abs())
    }

    /// Marks a lead do-not-call (or clears the mark).
    pub fn set_lead_do_not_call(&self, id: LeadId, on: bool, now_ms: i64) -> Result<Lead, StoreError> {
        let changed = self
            .conn
            .execute("UPDATE leads SET do_not_call = ?2, updated_at = ?3 WHERE id = ?1", params![id.0, on, now_ms])?;
        if changed == 0 {
            return Err(StoreError::NotFound(Entity::Lead));
        }
        self.lead(id)
    }

    /// Whether `number` must not be dialled: on the list, or the number of a lead marked so.
    pub fn do_not_call(&self, number: &PhoneNumber) -> Result<Option<DoNotCallReason>, StoreError> {
        if self.is_on_do_not_call(number)? {
            return Ok(Some(DoNotCallReason::Listed));
        }
        let marked: Option<bool> = self
            .conn
            .query_row("SELECT do_not_call FROM leads WHERE phone = ?1", params![number.as_e164()], |row| row.get(0))
            .optional()?;
        Ok(marked.filter(|&marked| marked).map(|_| DoNotCallReason::LeadMarked))
    }
}

/// Why a number must not be dialled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoNotCallReason {
    /// The number is on the do-not-call list.
    Listed,
    /// The lead with this number is marked do-not-call.
    LeadMarked,
}
