//! Import of leads from a lead file: CSV or any other text table, in any common encoding, or a
//! workbook (see [`crate::lead_file`]).
//!
//! The whole import is one transaction: it either lands completely or, on an I/O error or a
//! database error, not at all. Bad *rows* do not fail it; they are reported with their line.
//!
//! Full-text indexing: an import that adds at most [`INDEX_INLINE_MAX`] leads indexes them in
//! its transaction, so they are searchable with ranking as soon as it returns. A larger import
//! commits its leads and returns; they are indexed afterwards by the store's background indexer
//! (about 20 s per million leads on one core), which resumes after a crash or a kill at the
//! next [`Store::open`]. Until then the leads are in the database, readable, editable and
//! found by [`Store::search_leads`] (by a scan, newest first); [`Store::index_status`] says how
//! many are pending. Merged leads (numbers already stored) are re-indexed in the transaction.
//!
//! Duplicates are merged by E.164 number, with earlier rows of the same file and with leads
//! already stored, by one rule:
//! - name, company, email, city: an existing non-empty value is kept; an empty one is filled;
//! - notes: the incoming notes are appended on a new line, unless the existing notes already
//!   contain them;
//! - tags: the union, existing tags first, ignoring case;
//! - the last disposition and the creation time stay; the update time becomes `now_ms` if
//!   anything changed.
//!
//! Reading and phone parsing (a few microseconds per number) run on a second thread while the
//! calling thread writes, so a large file costs about the larger of the two, not their sum.

use std::fs::File;
use std::io::{BufReader, Read};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::mpsc;

use rusqlite::{Transaction, params};
use softphone_core::phone::{PhoneNumber, Region};

use crate::Store;
use crate::error::StoreError;
use crate::lead::{join_tags, normalize_tags, split_tags};
use crate::lead_file::LeadFile;

/// Rows per batch handed from the reading thread to the writer, and between progress reports.
const BATCH_ROWS: usize = 4096;

/// Page cache during an import, in KiB: 256 MiB, about what 1M leads take on disk.
const IMPORT_CACHE_KIB: i64 = 256 * 1024;

/// Most new leads an import indexes in its own transaction; more are left to the background
/// indexer (see the module docs). 10,000 leads take about 0.2 s to index.
const INDEX_INLINE_MAX: i64 = 10_000;

/// Longest raw value quoted back in a rejection reason, in characters.
const QUOTE_MAX_CHARS: usize = 40;

pub use softphone_core::lead::{ImportProgress, ImportReport, RejectedRow};

/// Which column holds what, found from the header row.
#[derive(Debug, Default)]
struct Columns {
    name: Option<usize>,
    first_name: Option<usize>,
    last_name: Option<usize>,
    company: Option<usize>,
    /// Every phone-like column, most preferred first; a row uses the first non-empty one.
    phones: Vec<usize>,
    email: Option<usize>,
    city: Option<usize>,
    notes: Option<usize>,
    tags: Option<usize>,
}

/// Header names recognised, compared lower-case with everything but letters and digits removed
/// (accents kept): English, and what European spreadsheets call them (French, German, Spanish,
/// Italian, Portuguese, Dutch, Swedish).
const NAME: &[&str] = &[
    "name",
    "fullname",
    "contactname",
    "contact",
    "leadname",
    "nom",
    "nomcomplet",
    "nombre",
    "nombrecompleto",
    "nome",
    "nomecompleto",
    "naam",
    "namn",
    "kontakt",
    "kontaktperson",
];
const FIRST_NAME: &[&str] = &[
    "firstname",
    "first",
    "givenname",
    "forename",
    "prénom",
    "prenom",
    "vorname",
    "nombrepila",
    "primernombre",
    "nomeproprio",
    "primeironome",
    "voornaam",
    "förnamn",
    "fornamn",
];
const LAST_NAME: &[&str] = &[
    "lastname",
    "last",
    "surname",
    "familyname",
    "nomdefamille",
    "nachname",
    "familienname",
    "apellido",
    "apellidos",
    "cognome",
    "sobrenome",
    "apelido",
    "achternaam",
    "efternamn",
];
const COMPANY: &[&str] = &[
    "company",
    "companyname",
    "organization",
    "organisation",
    "account",
    "accountname",
    "business",
    "employer",
    "société",
    "societe",
    "entreprise",
    "firma",
    "unternehmen",
    "empresa",
    "compañía",
    "compania",
    "azienda",
    "società",
    "societa",
    "bedrijf",
    "företag",
    "foretag",
];
const PHONE: &[&str] = &[
    "phone",
    "phonenumber",
    "telephone",
    "tel",
    "telephonenumber",
    "number",
    "mobile",
    "mobilephone",
    "mobilenumber",
    "cell",
    "cellphone",
    "workphone",
    "homephone",
    "téléphone",
    "numéro",
    "numero",
    "portable",
    "mobil",
    "telefon",
    "telefonnummer",
    "handy",
    "handynummer",
    "mobilnummer",
    "teléfono",
    "telefono",
    "móvil",
    "movil",
    "celular",
    "cellulare",
    "telemóvel",
    "telemovel",
    "telefoonnummer",
    "telefoon",
    "mobiel",
    "mobiltelefon",
];
const EMAIL: &[&str] =
    &["email", "emailaddress", "mail", "courriel", "adressemail", "correo", "correoelectrónico", "epost"];
const CITY: &[&str] =
    &["city", "town", "locality", "ville", "stadt", "ort", "ciudad", "città", "citta", "cidade", "stad"];
const NOTES: &[&str] = &[
    "notes",
    "note",
    "comments",
    "comment",
    "description",
    "remarques",
    "notizen",
    "bemerkungen",
    "notas",
    "nota",
    "anteckningar",
];
const TAGS: &[&str] = &["tags", "tag", "labels", "label", "étiquettes", "etiketten", "etiquetas", "etichette"];

fn normalize_header(header: &str) -> String {
    header.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

impl Columns {
    fn from_header(header: &csv::StringRecord) -> Result<Columns, StoreError> {
        let names: Vec<String> = header.iter().map(normalize_header).collect();
        let find = |aliases: &[&str]| aliases.iter().find_map(|alias| names.iter().position(|name| name == alias));
        let mut phones: Vec<usize> = Vec::new();
        for alias in PHONE {
            for (index, name) in names.iter().enumerate() {
                if name == alias && !phones.contains(&index) {
                    phones.push(index);
                }
            }
        }
        if phones.is_empty() {
            return Err(StoreError::invalid(
                "The file has no phone column. Name one of its columns Phone, Mobile or Tel and import it again.",
            ));
        }
        Ok(Columns {
            name: find(NAME),
            first_name: find(FIRST_NAME),
            last_name: find(LAST_NAME),
            company: find(COMPANY),
            phones,
            email: find(EMAIL),
            city: find(CITY),
            notes: find(NOTES),
            tags: find(TAGS),
        })
    }
}

/// A lead as a CSV row gives it, read with the app's rules (header names, the number parsed in
/// the default region, tags normalised). Also what the team tool imports into a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvLead {
    pub name: String,
    pub company: String,
    pub phone: PhoneNumber,
    pub email: String,
    pub city: String,
    pub notes: String,
    pub tags: Vec<String>,
}

type Incoming = CsvLead;

/// One row of a lead CSV: a lead, or why it was left out (with its line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvRow {
    Lead(CsvLead),
    Rejected(RejectedRow),
}

type Row = CsvRow;

/// A batch from the reading thread: rows plus where the reader stood after them.
#[derive(Debug)]
struct Batch {
    rows: Vec<Row>,
    bytes_read: u64,
}

fn cell(record: &csv::StringRecord, column: Option<usize>) -> &str {
    column.and_then(|c| record.get(c)).map(str::trim).unwrap_or("")
}

fn quote(raw: &str) -> String {
    let mut quoted: String = raw.chars().take(QUOTE_MAX_CHARS).collect();
    if raw.chars().count() > QUOTE_MAX_CHARS {
        quoted.push('…');
    }
    quoted
}

fn read_row(record: &csv::StringRecord, columns: &Columns, region: Region, line: u64) -> Row {
    let raw_phone = columns.phones.iter().map(|&c| cell(record, Some(c))).find(|value| !value.is_empty());
    let Some(raw_phone) = raw_phone else {
        return Row::Rejected(RejectedRow { line, reason: "The row has no phone number.".into() });
    };
    let phone = match PhoneNumber::parse(raw_phone, region) {
        Ok(phone) => phone,
        Err(e) => {
            return Row::Rejected(RejectedRow {
                line,
                reason: format!("Bad phone number \"{}\": {e}", quote(raw_phone)),
            });
        }
    };
    let name = match cell(record, columns.name) {
        "" => {
            let first = cell(record, columns.first_name);
            let last = cell(record, columns.last_name);
            format!("{first} {last}").trim().to_owned()
        }
        name => name.to_owned(),
    };
    Row::Lead(Incoming {
        name,
        company: cell(record, columns.company).to_owned(),
        phone,
        email: cell(record, columns.email).to_owned(),
        city: cell(record, columns.city).to_owned(),
        notes: cell(record, columns.notes).to_owned(),
        tags: normalize_tags(cell(record, columns.tags).split([',', ';', '|'])),
    })
}

fn malformed(error: &csv::Error, fallback_line: u64) -> RejectedRow {
    let line = error.position().map(csv::Position::line).unwrap_or(fallback_line);
    let reason = match error.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("Malformed CSV row: it has {len} fields where the header has {expected_len}.")
        }
        csv::ErrorKind::Utf8 { .. } => "Malformed CSV row: it is not valid UTF-8; save the file as UTF-8.".to_owned(),
        _ => format!("Malformed CSV row: {error}."),
    };
    RejectedRow { line, reason }
}

fn io_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::Io { what: "the CSV file", reason: error.to_string() }
}

/// Where a lead file's rows come from: a text table through the CSV reader, or a sheet.
enum Records<'a> {
    Text(csv::Reader<Box<dyn Read + Send + 'a>>),
    Sheet { rows: std::vec::IntoIter<(u64, Vec<String>)>, rows_read: u64 },
}

impl Records<'_> {
    /// Reads the next row into `record`; its line (or the sheet's row number), or `None` at the
    /// end. An error is a malformed row or an I/O failure.
    fn next(&mut self, record: &mut csv::StringRecord, last_line: u64) -> Result<Option<u64>, csv::Error> {
        match self {
            Records::Text(reader) => Ok(reader
                .read_record(record)?
                .then(|| record.position().map(csv::Position::line).unwrap_or(last_line + 1))),
            Records::Sheet { rows, rows_read } => Ok(rows.next().map(|(line, cells)| {
                record.clear();
                for cell in &cells {
                    record.push_field(cell);
                }
                *rows_read += 1;
                line
            })),
        }
    }

    /// How far reading has come: bytes of a text file, rows of a sheet.
    fn position(&self) -> u64 {
        match self {
            Records::Text(reader) => reader.position().byte(),
            Records::Sheet { rows_read, .. } => *rows_read,
        }
    }
}

/// Reads every row after the header, skipping blank ones, and hands each to `each` with the bytes
/// read so far; stops early when `each` breaks. Returns the first fatal (I/O) error.
fn read_rows(
    reader: &mut Records<'_>,
    columns: &Columns,
    region: Region,
    mut each: impl FnMut(Row, u64) -> ControlFlow<()>,
) -> Result<(), StoreError> {
    let mut record = csv::StringRecord::new();
    let mut last_line = 1;
    loop {
        let row = match reader.next(&mut record, last_line) {
            Ok(None) => return Ok(()),
            Ok(Some(line)) => {
                last_line = line;
                if record.iter().all(|field| field.trim().is_empty()) {
                    continue;
                }
                read_row(&record, columns, region, line)
            }
            Err(e) if e.is_io_error() => return Err(io_error(e)),
            Err(e) => {
                let rejected = malformed(&e, last_line + 1);
                last_line = rejected.line;
                Row::Rejected(rejected)
            }
        };
        if each(row, reader.position()).is_break() {
            return Ok(());
        }
    }
}

/// Reads the CSV and sends parsed batches; returns the first fatal (I/O) error.
fn read_batches(
    mut reader: Records<'_>,
    columns: &Columns,
    region: Region,
    sender: &mpsc::SyncSender<Batch>,
) -> Result<(), StoreError> {
    let mut rows = Vec::with_capacity(BATCH_ROWS);
    let mut writer_stopped = false;
    read_rows(&mut reader, columns, region, |row, bytes_read| {
        rows.push(row);
        if rows.len() >= BATCH_ROWS {
            let batch = Batch { rows: std::mem::replace(&mut rows, Vec::with_capacity(BATCH_ROWS)), bytes_read };
            if sender.send(batch).is_err() {
                // The writer stopped (it failed); its error is the one reported.
                writer_stopped = true;
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    })?;
    if !writer_stopped {
        let _ = sender.send(Batch { rows, bytes_read: reader.position() });
    }
    Ok(())
}

/// Opens a lead file (any text table or workbook, header row first) and finds its columns.
fn open_records<'a>(input: impl Read + Send + 'a) -> Result<(Records<'a>, Columns), StoreError> {
    let has_phone_column = |header: &[String]| Columns::from_header(&csv::StringRecord::from(header.to_vec())).is_ok();
    match crate::lead_file::open(input, has_phone_column)? {
        LeadFile::Text { reader, delimiter } => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(true)
                .flexible(false)
                .trim(csv::Trim::None)
                .delimiter(delimiter)
                .from_reader(reader);
            let header = match reader.headers() {
                Ok(header) if header.iter().any(|h| !h.trim().is_empty()) => header.clone(),
                Ok(_) => {
                    return Err(StoreError::invalid("The file is empty; it needs a header row and one row per lead."));
                }
                Err(e) if e.is_io_error() => return Err(io_error(e)),
                Err(e) => return Err(StoreError::invalid(format!("The header row cannot be read ({e})."))),
            };
            let columns = Columns::from_header(&header)?;
            Ok((Records::Text(reader), columns))
        }
        LeadFile::Sheet { rows } => {
            let mut rows = rows.into_iter();
            let (_, header) = rows.next().ok_or_else(|| StoreError::invalid("The sheet is empty."))?;
            let columns = Columns::from_header(&csv::StringRecord::from(header))?;
            Ok((Records::Sheet { rows, rows_read: 1 }, columns))
        }
    }
}

/// Reads a lead CSV with exactly the rules of [`Store::import_leads`] (header names, numbers read
/// in `default_region`, the same sentences for rows left out), calling `each` for every row that
/// is not blank, in file order. For importers that write somewhere else (the team database).
pub fn read_lead_csv<R: Read + Send>(
    input: R,
    default_region: Region,
    mut each: impl FnMut(CsvRow),
) -> Result<(), StoreError> {
    let (mut reader, columns) = open_records(input)?;
    read_rows(&mut reader, &columns, default_region, |row, _| {
        each(row);
        ControlFlow::Continue(())
    })
}

/// The existing lead with the same number, as far as merging needs it.
#[derive(Debug)]
struct Existing {
    id: i64,
    name: String,
    company: String,
    email: String,
    city: String,
    tags: String,
    notes: String,
}

/// Applies the merge rule (module docs); returns whether anything changed.
fn merge(existing: &mut Existing, incoming: Incoming) -> bool {
    let mut changed = false;
    for (field, value) in [
        (&mut existing.name, incoming.name),
        (&mut existing.company, incoming.company),
        (&mut existing.email, incoming.email),
        (&mut existing.city, incoming.city),
    ] {
        if field.is_empty() && !value.is_empty() {
            *field = value;
            changed = true;
        }
    }
    if !incoming.notes.is_empty() && !existing.notes.contains(&incoming.notes) {
        if !existing.notes.is_empty() {
            existing.notes.push('\n');
        }
        existing.notes.push_str(&incoming.notes);
        changed = true;
    }
    let old_tags = split_tags(&existing.tags);
    let tags = normalize_tags(old_tags.iter().chain(&incoming.tags).map(String::as_str));
    if tags.len() != old_tags.len() {
        existing.tags = join_tags(&tags);
        changed = true;
    }
    changed
}

fn write_row(tx: &Transaction<'_>, lead: Incoming, now_ms: i64, report: &mut ImportReport) -> Result<(), StoreError> {
    // Insert first: a new number (the common case) costs one index probe instead of a lookup
    // and an insert.
    let tags = join_tags(&lead.tags);
    let inserted = tx
        .prepare_cached(
            "INSERT INTO leads (name, company, phone, phone_digits, national_digits, email,
                                city, tags, notes, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
             ON CONFLICT (phone) DO NOTHING",
        )?
        .execute(params![
            lead.name,
            lead.company,
            lead.phone.as_e164(),
            lead.phone.digits(),
            lead.phone.national_digits(),
            lead.email,
            lead.city,
            tags,
            lead.notes,
            now_ms,
        ])?;
    if inserted == 1 {
        crate::lead::insert_lead_tags(tx, tx.last_insert_rowid(), &tags)?;
        report.inserted += 1;
        return Ok(());
    }
    let mut existing = tx
        .prepare_cached("SELECT id, name, company, email, city, tags, notes FROM leads WHERE phone = ?1")?
        .query_row([lead.phone.as_e164()], |row| {
            Ok(Existing {
                id: row.get(0)?,
                name: row.get(1)?,
                company: row.get(2)?,
                email: row.get(3)?,
                city: row.get(4)?,
                tags: row.get(5)?,
                notes: row.get(6)?,
            })
        })?;
    report.merged += 1;
    if merge(&mut existing, lead) {
        tx.prepare_cached(
            "UPDATE leads SET name = ?2, company = ?3, email = ?4, city = ?5, tags = ?6,
                              notes = ?7, updated_at = ?8
             WHERE id = ?1",
        )?
        .execute(params![
            existing.id,
            existing.name,
            existing.company,
            existing.email,
            existing.city,
            existing.tags,
            existing.notes,
            now_ms,
        ])?;
    }
    Ok(())
}

impl Store {
    /// Imports leads from a lead file, header row first: CSV or another text table (comma,
    /// semicolon, tab or pipe; UTF-8, UTF-16 or a legacy encoding such as Windows-1252), or an
    /// .xlsx, .xls or .ods workbook (its first sheet with a phone column); see the module docs for
    /// header names, merging and atomicity. Numbers without `+` are read in
    /// `default_region`. `progress` is called every few thousand rows and once at the end.
    pub fn import_leads_csv(
        &mut self,
        path: &Path,
        default_region: Region,
        now_ms: i64,
        progress: impl FnMut(ImportProgress),
    ) -> Result<ImportReport, StoreError> {
        let file = File::open(path).map_err(io_error)?;
        let bytes_total = file.metadata().map_err(io_error)?.len();
        self.import_leads(BufReader::with_capacity(1 << 16, file), Some(bytes_total), default_region, now_ms, progress)
    }

    /// [`Store::import_leads_csv`] from any reader; `bytes_total` is only used for progress.
    pub fn import_leads<R: Read + Send>(
        &mut self,
        input: R,
        bytes_total: Option<u64>,
        default_region: Region,
        now_ms: i64,
        progress: impl FnMut(ImportProgress),
    ) -> Result<ImportReport, StoreError> {
        let (reader, columns) = open_records(input)?;

        // A page cache large enough for the whole import keeps SQLite from spilling dirty
        // pages into the WAL mid-transaction and reading them back (a third of the import time
        // with the default 2 MiB, measured). It changes nothing about durability; the default
        // comes back afterwards, whatever the outcome.
        let cache_size: i64 = self.conn.query_row("PRAGMA cache_size", [], |row| row.get(0))?;
        self.conn.execute_batch(&format!("PRAGMA cache_size = -{IMPORT_CACHE_KIB}"))?;
        let report = self.import_rows(reader, &columns, bytes_total, default_region, now_ms, progress);
        let restored = self.conn.execute_batch(&format!("PRAGMA cache_size = {cache_size}"));
        let (report, index_pending) = report?;
        if index_pending {
            self.indexer.wake();
        }
        restored?;
        Ok(report)
    }

    /// The transaction of [`Store::import_leads`]; also returns whether leads were left for the
    /// background indexer.
    fn import_rows(
        &mut self,
        reader: Records<'_>,
        columns: &Columns,
        bytes_total: Option<u64>,
        default_region: Region,
        now_ms: i64,
        mut progress: impl FnMut(ImportProgress),
    ) -> Result<(ImportReport, bool), StoreError> {
        let tx = self.conn.transaction()?;
        // New rows are not indexed one by one by the trigger, but at the end, in one statement or
        // in the background (see migrations/0004). Leads a previous import left pending stay so.
        tx.execute(
            "UPDATE fts_sync SET pending_from = coalesce(pending_from, (SELECT coalesce(max(id), 0) + 1 FROM leads))",
            [],
        )?;
        let mut report = ImportReport::default();
        let mut rows_done = 0u64;
        let (sender, receiver) = mpsc::sync_channel::<Batch>(4);
        std::thread::scope(|scope| -> Result<(), StoreError> {
            // Owned by this closure, so an early return drops it and unblocks the reader.
            let receiver = receiver;
            let reading = scope.spawn(move || read_batches(reader, columns, default_region, &sender));
            for batch in &receiver {
                for row in batch.rows {
                    rows_done += 1;
                    match row {
                        Row::Rejected(rejected) => report.rejected.push(rejected),
                        Row::Lead(lead) => write_row(&tx, lead, now_ms, &mut report)?,
                    }
                }
                progress(ImportProgress { rows_done, bytes_read: batch.bytes_read, bytes_total });
            }
            reading.join().unwrap_or_else(|_| Err(StoreError::Internal("the CSV reader thread panicked".into())))
        })?;
        let pending: i64 =
            tx.query_row("SELECT count(*) FROM leads WHERE id >= (SELECT pending_from FROM fts_sync)", [], |row| {
                row.get(0)
            })?;
        let index_inline = pending <= INDEX_INLINE_MAX;
        if index_inline {
            tx.execute(
                "INSERT INTO leads_fts (rowid, name, company, email, city, notes, tags)
                 SELECT id, name, company, email, city, notes, tags
                 FROM leads WHERE id >= (SELECT pending_from FROM fts_sync)",
                [],
            )?;
            tx.execute("UPDATE fts_sync SET pending_from = NULL", [])?;
        }
        tx.commit()?;
        Ok((report, !index_inline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> csv::StringRecord {
        csv::StringRecord::from(names.to_vec())
    }

    #[test]
    fn header_variants_map_to_fields() {
        let columns =
            Columns::from_header(&header(&["Full Name", "Organization", "E-mail", "Town", "Mobile", "Phone Number"]))
                .unwrap();
        assert_eq!(columns.name, Some(0));
        assert_eq!(columns.company, Some(1));
        assert_eq!(columns.email, Some(2));
        assert_eq!(columns.city, Some(3));
        // "Phone Number" is preferred over "Mobile" whatever the column order.
        assert_eq!(columns.phones, vec![5, 4]);

        let columns = Columns::from_header(&header(&["first_name", "LAST NAME", "Account", "Tel"])).unwrap();
        assert_eq!((columns.first_name, columns.last_name, columns.company), (Some(0), Some(1), Some(2)));

        // As European spreadsheets name them.
        for (headers, phone) in [
            (["Nom", "Société", "Téléphone", "Courriel", "Ville"], 2),
            (["Name", "Firma", "Handynummer", "E-Mail", "Stadt"], 2),
            (["Nombre", "Empresa", "Teléfono", "Correo", "Ciudad"], 2),
            (["Nome", "Azienda", "Cellulare", "Email", "Città"], 2),
            (["Naam", "Bedrijf", "Telefoonnummer", "E-mail", "Stad"], 2),
        ] {
            let columns = Columns::from_header(&header(&headers)).unwrap_or_else(|e| panic!("{headers:?}: {e}"));
            assert_eq!(
                (columns.name, columns.company, columns.phones, columns.email, columns.city),
                (Some(0), Some(1), vec![phone], Some(3), Some(4)),
                "{headers:?}"
            );
        }
        let columns = Columns::from_header(&header(&["Prénom", "Nachname", "Telefon"])).unwrap();
        assert_eq!((columns.first_name, columns.last_name), (Some(0), Some(1)));

        let missing = Columns::from_header(&header(&["Name", "Email"])).unwrap_err();
        assert_eq!(missing.code(), "InvalidInput");
        assert!(missing.to_string().contains("no phone column"));
    }

    fn existing(notes: &str, tags: &str) -> Existing {
        Existing {
            id: 1,
            name: "Ann Lee".into(),
            company: String::new(),
            email: String::new(),
            city: "Oslo".into(),
            tags: tags.into(),
            notes: notes.into(),
        }
    }

    fn incoming(notes: &str, tags: &[&str]) -> Incoming {
        Incoming {
            name: "Ann B. Lee".into(),
            company: "Acme".into(),
            phone: PhoneNumber::from_e164("+14155550100").unwrap(),
            email: String::new(),
            city: "Bergen".into(),
            notes: notes.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn merge_fills_gaps_appends_notes_and_unions_tags() {
        let mut lead = existing("Met at fair", "vip");
        assert!(merge(&mut lead, incoming("Wants demo", &["VIP", "hot"])));
        assert_eq!(lead.name, "Ann Lee", "a known name is kept");
        assert_eq!(lead.company, "Acme", "an empty company is filled");
        assert_eq!(lead.city, "Oslo");
        assert_eq!(lead.notes, "Met at fair\nWants demo");
        assert_eq!(lead.tags, "vip, hot");

        // The same row again changes nothing.
        assert!(!merge(&mut lead, incoming("Wants demo", &["hot"])));
        assert_eq!(lead.notes, "Met at fair\nWants demo");
    }
}
