//! Leads: the people an agent calls. One lead per phone number.

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, params};
use softphone_core::disposition::Disposition;
use softphone_core::phone::PhoneNumber;

use crate::error::{Entity, StoreError};
use crate::search::SearchQuery;
use crate::{Store, index, search};

pub use softphone_core::lead::{Lead, LeadFields, LeadId, Page};

/// `LIMIT` of a page, clamped to [`Page::MAX_LIMIT`].
pub(crate) fn sql_limit(page: Page) -> i64 {
    i64::from(page.clamped_limit())
}

pub(crate) fn sql_offset(page: Page) -> i64 {
    i64::from(page.offset)
}

/// Most matches [`Store::search_leads`] ranks by relevance; beyond, results are newest first.
pub const RANKED_MATCHES_MAX: i64 = 300;

/// A number search with fewer matches than this collects and sorts them from the indexes;
/// with more, it walks the table newest first (see [`Store::search_leads`]).
const NUMBER_MATCHES_GATHERED: i64 = 2_000;

/// A words search with a word longer than the indexed prefixes checks at most this many of the
/// newest leads matching the prefixes on the row; when that decides nothing (many candidates,
/// few matches) it asks FTS5 for the whole word instead (see [`search::indexed_search`]).
const WHOLE_WORD_CANDIDATES_MAX: i64 = 2_000;

/// The text columns a word may match, as arguments of [`search::HAS_WORD_FUNCTION`].
const TEXT_COLUMNS: &str = "leads.name, leads.company, leads.email, leads.city, leads.notes, leads.tags";

/// Where a word of digits among other words is looked for besides the number.
#[derive(Debug, Clone, Copy)]
enum WordsIn {
    /// In the full-text index.
    Index,
    /// In the row's text, for leads not indexed yet.
    Scan,
}

/// Positional SQL parameters, numbered as they are pushed.
#[derive(Debug, Default, Clone)]
struct SqlArgs(Vec<Value>);

impl SqlArgs {
    /// Adds a parameter; returns its placeholder (`?3`).
    fn push(&mut self, value: impl Into<Value>) -> String {
        self.0.push(value.into());
        format!("?{}", self.0.len())
    }

    fn params(&self) -> impl rusqlite::Params + '_ {
        rusqlite::params_from_iter(self.0.iter())
    }
}

/// ` AND (...)` for each digit word: the number starts with it, or a word in the text does.
fn digit_filters(args: &mut SqlArgs, digit_words: &[String], words_in: WordsIn) -> String {
    let mut filter = String::new();
    for digits in digit_words {
        let (start, end) = search::prefix_range(&format!("+{digits}"));
        let (national_start, national_end) = search::prefix_range(digits);
        let (start, end, national_start, national_end) =
            (args.push(start), args.push(end), args.push(national_start), args.push(national_end));
        let in_text = match words_in {
            WordsIn::Index => format!(
                "leads.id IN (SELECT rowid FROM leads_fts WHERE leads_fts MATCH {})",
                args.push(search::prefix_term(digits))
            ),
            WordsIn::Scan => format!("{}({}, {TEXT_COLUMNS})", search::HAS_WORD_FUNCTION, args.push(digits.clone())),
        };
        filter.push_str(&format!(
            " AND ((leads.phone >= {start} AND leads.phone < {end})
                   OR (leads.national_digits >= {national_start} AND leads.national_digits < {national_end})
                   OR {in_text})"
        ));
    }
    filter
}

pub(crate) const LEAD_COLUMNS: &str = "leads.id, leads.name, leads.company, leads.phone, leads.email, \
     leads.city, leads.tags, leads.notes, leads.last_disposition, leads.created_at, leads.updated_at, \
     leads.do_not_call, leads.time_zone, leads.callback_due_at";

pub(crate) fn lead_from_row(row: &Row<'_>) -> rusqlite::Result<Lead> {
    let phone: String = row.get(3)?;
    let phone = PhoneNumber::from_stored(&phone)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e)))?;
    let disposition: Option<String> = row.get(8)?;
    let last_disposition = disposition
        .map(|code| Disposition::from_code(&code))
        .transpose()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(8, rusqlite::types::Type::Text, Box::new(e)))?;
    Ok(Lead {
        id: LeadId(row.get(0)?),
        name: row.get(1)?,
        company: row.get(2)?,
        phone,
        email: row.get(4)?,
        city: row.get(5)?,
        tags: split_tags(&row.get::<_, String>(6)?),
        notes: row.get(7)?,
        last_disposition,
        do_not_call: row.get(11)?,
        time_zone: row.get(12)?,
        callback_due_at_ms: row.get(13)?,
        created_at_ms: row.get(9)?,
        updated_at_ms: row.get(10)?,
    })
}

/// Tags as stored: joined by `", "`.
pub(crate) fn join_tags(tags: &[String]) -> String {
    tags.join(", ")
}

/// Indexes a new lead's tags (stored `", "`-joined) for call lists: trimmed and ASCII-lowercased,
/// as [`crate::tag_list`] and the `leads_tags_update` trigger write them (migration 0006).
pub(crate) fn insert_lead_tags(conn: &rusqlite::Connection, lead_id: i64, stored: &str) -> Result<(), StoreError> {
    let mut statement = conn.prepare_cached("INSERT OR IGNORE INTO lead_tags (tag, lead_id) VALUES (?1, ?2)")?;
    for tag in stored.split(',').map(|tag| tag.trim().to_ascii_lowercase()).filter(|tag| !tag.is_empty()) {
        statement.execute(params![tag, lead_id])?;
    }
    Ok(())
}

pub(crate) fn split_tags(stored: &str) -> Vec<String> {
    normalize_tags(stored.split(','))
}

/// Trims, drops empties and commas, and keeps the first of tags equal ignoring case.
pub(crate) fn normalize_tags<'a>(tags: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.replace(',', " ");
        let tag = tag.trim();
        if !tag.is_empty() && !out.iter().any(|t| t.to_lowercase() == tag.to_lowercase()) {
            out.push(tag.to_owned());
        }
    }
    out
}

fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

fn duplicate_phone() -> StoreError {
    StoreError::Conflict("Another lead already has this phone number; open that lead instead.".to_owned())
}

/// Inserts a lead (`?1` NULL: SQLite picks the id); shares its parameters with [`UPDATE_LEAD`].
pub(crate) const INSERT_LEAD: &str =
    "INSERT INTO leads (id, name, company, phone, phone_digits, national_digits, email, city,
                                              tags, notes, created_at, updated_at)
                           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)";

/// Replaces every editable field of lead `?1`.
const UPDATE_LEAD: &str = "UPDATE leads SET name = ?2, company = ?3, phone = ?4, phone_digits = ?5,
                               national_digits = ?6, email = ?7, city = ?8, tags = ?9, notes = ?10,
                               updated_at = ?11
                           WHERE id = ?1";

impl Store {
    /// Adds a lead. Fails with [`StoreError::Conflict`] if a lead already has the number.
    ///
    /// The number was read by the caller ([`PhoneNumber::parse`] with the agent's default
    /// region), so no region is needed here.
    pub fn create_lead(&self, fields: &LeadFields, now_ms: i64) -> Result<Lead, StoreError> {
        self.write_lead(INSERT_LEAD, None, fields, now_ms)?;
        self.lead(LeadId(self.conn.last_insert_rowid()))
    }

    /// The lead with `id`, or [`StoreError::NotFound`].
    pub fn lead(&self, id: LeadId) -> Result<Lead, StoreError> {
        self.conn
            .prepare_cached(&format!("SELECT {LEAD_COLUMNS} FROM leads WHERE id = ?1"))?
            .query_row([id.0], lead_from_row)
            .optional()?
            .ok_or(StoreError::NotFound(Entity::Lead))
    }

    /// Replaces every editable field of a lead (notes included).
    pub fn update_lead(&self, id: LeadId, fields: &LeadFields, now_ms: i64) -> Result<Lead, StoreError> {
        match self.write_lead(UPDATE_LEAD, Some(id), fields, now_ms)? {
            0 => Err(StoreError::NotFound(Entity::Lead)),
            _ => self.lead(id),
        }
    }

    /// Runs [`INSERT_LEAD`] or [`UPDATE_LEAD`] with `fields` trimmed and normalised; returns
    /// the rows changed.
    pub(crate) fn write_lead(
        &self,
        sql: &str,
        id: Option<LeadId>,
        fields: &LeadFields,
        now_ms: i64,
    ) -> Result<usize, StoreError> {
        let tags = join_tags(&normalize_tags(fields.tags.iter().map(String::as_str)));
        let result = self.conn.prepare_cached(sql)?.execute(params![
            id.map(|id| id.0),
            fields.name.trim(),
            fields.company.trim(),
            fields.phone.as_e164(),
            fields.phone.digits(),
            fields.phone.national_digits(),
            fields.email.trim(),
            fields.city.trim(),
            tags,
            fields.notes.trim(),
            now_ms,
        ]);
        match result {
            Ok(changed) => {
                // A new lead's tags go into `lead_tags` here; an update's follow by trigger.
                if id.is_none() && changed == 1 {
                    insert_lead_tags(&self.conn, self.conn.last_insert_rowid(), &tags)?;
                }
                Ok(changed)
            }
            Err(e) if is_unique_violation(&e) => Err(duplicate_phone()),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces a lead's notes (trimmed).
    pub fn update_notes(&self, id: LeadId, notes: &str, now_ms: i64) -> Result<Lead, StoreError> {
        let changed = self.conn.execute(
            "UPDATE leads SET notes = ?2, updated_at = ?3 WHERE id = ?1",
            params![id.0, notes.trim(), now_ms],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound(Entity::Lead));
        }
        self.lead(id)
    }

    /// Sets (or with `None` clears) a lead's last disposition. A custom disposition must have
    /// been added with [`Store::add_custom_disposition`] first.
    pub fn set_lead_disposition(
        &self,
        id: LeadId,
        disposition: Option<&Disposition>,
        now_ms: i64,
    ) -> Result<Lead, StoreError> {
        if let Some(disposition) = disposition {
            self.ensure_disposition_exists(disposition)?;
        }
        let changed = self.conn.execute(
            "UPDATE leads SET last_disposition = ?2, updated_at = ?3 WHERE id = ?1",
            params![id.0, disposition.map(Disposition::code), now_ms],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound(Entity::Lead));
        }
        self.lead(id)
    }

    /// Deletes a lead. Its calls stay in the call log, no longer linked to a lead.
    pub fn delete_lead(&self, id: LeadId) -> Result<(), StoreError> {
        match self.conn.execute("DELETE FROM leads WHERE id = ?1", [id.0])? {
            0 => Err(StoreError::NotFound(Entity::Lead)),
            _ => Ok(()),
        }
    }

    /// How many leads there are.
    pub fn lead_count(&self) -> Result<u64, StoreError> {
        let count: i64 = self.conn.query_row("SELECT count(*) FROM leads", [], |row| row.get(0))?;
        Ok(count.unsigned_abs())
    }

    /// Leads matching what the agent typed. Up to [`RANKED_MATCHES_MAX`] matches are ordered best
    /// first (weighted bm25: name, then company, then email, tags and city, then notes; ties
    /// newest first); a query matching more is listed newest lead first, which keeps a page
    /// under 2 ms on 1M leads while the agent is still typing the first letters.
    ///
    /// Every word is a prefix (`smi` finds Smith) and all words must match. Input that looks
    /// like a number matches the start of the E.164 digits (`1415555`) or of the national
    /// digits (`415555`), newest lead first; a word of digits among other words matches the
    /// start of the number or of any word. Any input is safe: FTS5 syntax in it is treated as
    /// text. Blank input lists all leads by name.
    ///
    /// While a large import's leads await the full-text index ([`Store::index_status`]), a words
    /// search lists the matching pending leads first and then the indexed ones, newest first in
    /// both, without ranking. Pending leads are checked by a scan (up to a few hundred
    /// milliseconds for a rare word on 1M pending leads), comparing case-insensitively with
    /// any non-ASCII letter matching any letter, so an accent never hides a lead.
    pub fn search_leads(&self, query: &str, page: Page) -> Result<Vec<Lead>, StoreError> {
        match search::parse_query(query) {
            SearchQuery::Blank => {
                let mut statement = self.conn.prepare_cached(&format!(
                    "SELECT {LEAD_COLUMNS} FROM leads
                     ORDER BY name COLLATE NOCASE, id LIMIT ?1 OFFSET ?2"
                ))?;
                let rows = statement.query_map(params![sql_limit(page), sql_offset(page)], lead_from_row)?;
                Ok(rows.collect::<Result<_, _>>()?)
            }
            SearchQuery::Number(prefixes) => self.search_numbers(&prefixes, page),
            SearchQuery::Words { words, digit_words } => self.search_words(&words, &digit_words, page),
        }
    }

    /// Leads whose number starts with one of `prefixes`, newest first, from the B-tree indexes
    /// on `phone` and `national_digits`.
    fn search_numbers(&self, prefixes: &[String], page: Page) -> Result<Vec<Lead>, StoreError> {
        let mut bounds: Vec<String> = Vec::new();
        let mut ranges: Vec<String> = Vec::new();
        for prefix in prefixes {
            let (start, end) = search::prefix_range(&format!("+{prefix}"));
            let (national_start, national_end) = search::prefix_range(prefix);
            let n = bounds.len();
            ranges.push(format!("SELECT id FROM leads WHERE phone >= ?{} AND phone < ?{}", n + 1, n + 2));
            ranges.push(format!(
                "SELECT id FROM leads WHERE national_digits >= ?{} AND national_digits < ?{}",
                n + 3,
                n + 4
            ));
            bounds.extend([start, end, national_start, national_end]);
        }
        // UNION ALL stops at the LIMIT; a plain UNION would collect every match first. An id
        // in two ranges counts twice, which only moves the threshold.
        let union = ranges.join(" UNION ALL ");
        let (limit, offset) = (sql_limit(page), sql_offset(page));
        let n = bounds.len();
        let mut bound: Vec<&dyn rusqlite::ToSql> = bounds.iter().map(|b| b as &dyn rusqlite::ToSql).collect();
        bound.push(&NUMBER_MATCHES_GATHERED);
        let matches: i64 = self
            .conn
            .prepare_cached(&format!("SELECT count(*) FROM ({union} LIMIT ?{})", n + 1))?
            .query_row(bound.as_slice(), |row| row.get(0))?;
        bound.pop();
        bound.extend([&limit as &dyn rusqlite::ToSql, &offset]);
        let sql = if matches < NUMBER_MATCHES_GATHERED {
            // Few: collect the ids from the indexes and sort them.
            format!(
                "SELECT {LEAD_COLUMNS} FROM leads WHERE id IN ({union})
                 ORDER BY id DESC LIMIT ?{} OFFSET ?{}",
                n + 1,
                n + 2
            )
        } else {
            // Many (at least 1 in 500 of 1M leads): walking the table newest first finds a page
            // after a few thousand rows. The unary `+` keeps SQLite from using the indexes,
            // which would gather every match before sorting.
            let test: Vec<String> = (0..n / 2)
                .map(|i| {
                    format!(
                        "(+leads.{col} >= ?{} AND +leads.{col} < ?{})",
                        2 * i + 1,
                        2 * i + 2,
                        col = if i % 2 == 0 { "phone" } else { "national_digits" }
                    )
                })
                .collect();
            format!(
                "SELECT {LEAD_COLUMNS} FROM leads WHERE {}
                 ORDER BY id DESC LIMIT ?{} OFFSET ?{}",
                test.join(" OR "),
                n + 1,
                n + 2
            )
        };
        let mut statement = self.conn.prepare_cached(&sql)?;
        let rows = statement.query_map(bound.as_slice(), lead_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Leads matching all `words` as prefixes whose numbers or words also match each of
    /// `digit_words`; see [`Store::search_leads`].
    fn search_words(&self, words: &[String], digit_words: &[String], page: Page) -> Result<Vec<Lead>, StoreError> {
        if let Some(pending_from) = index::pending_from(&self.conn)? {
            return self.search_words_while_indexing(pending_from, words, digit_words, page);
        }
        if words.is_empty() {
            // Only digit words: the filters alone, newest first.
            let mut args = SqlArgs::default();
            let filter = digit_filters(&mut args, digit_words, WordsIn::Index);
            let (limit, offset) = (args.push(sql_limit(page)), args.push(sql_offset(page)));
            let ids = self.ids(
                &format!("SELECT id FROM leads WHERE 1 {filter} ORDER BY id DESC LIMIT {limit} OFFSET {offset}"),
                &args,
            )?;
            return self.leads_by_ids(&ids);
        }
        let indexed = search::indexed_search(words);
        if !indexed.whole_words.is_empty()
            && let Some(leads) = self.search_full_text(
                &indexed.expression,
                &indexed.whole_words,
                digit_words,
                Some(WHOLE_WORD_CANDIDATES_MAX),
                page,
            )?
        {
            return Ok(leads);
        }
        let exact = search::exact_expression(words);
        Ok(self.search_full_text(&exact, &[], digit_words, None, page)?.unwrap_or_default())
    }

    /// Leads matching the FTS5 `expression`, each of `whole_words` (checked on the row) and each of
    /// `digit_words`. With `candidates_max`, only that many of the newest expression matches are
    /// checked for the first page; `None` means that was not enough to decide, and the caller
    /// asks again without whole words.
    fn search_full_text(
        &self,
        expression: &str,
        whole_words: &[String],
        digit_words: &[String],
        candidates_max: Option<i64>,
        page: Page,
    ) -> Result<Option<Vec<Lead>>, StoreError> {
        let mut args = SqlArgs::default();
        let matches = args.push(expression.to_owned());
        let mut filter = digit_filters(&mut args, digit_words, WordsIn::Index);
        for word in whole_words {
            filter.push_str(&format!(
                " AND {}({}, {TEXT_COLUMNS})",
                search::HAS_WORD_FUNCTION,
                args.push(word.clone())
            ));
        }
        let source = if filter.is_empty() {
            format!("leads_fts WHERE leads_fts MATCH {matches}")
        } else {
            format!("leads_fts JOIN leads ON leads.id = leads_fts.rowid WHERE leads_fts MATCH {matches} {filter}")
        };
        // Ranking costs time per match, so it is done only when the matches are few enough to
        // rank within the latency budget; a short prefix matching half the table is listed
        // newest first instead, which FTS5 streams from its prefix index without sorting.
        // The newest RANKED_MATCHES_MAX + 1 matches in one pass: their count decides between
        // ranking and newest first, and for a first page of many they are the page.
        let head_len = RANKED_MATCHES_MAX + 1;
        let mut head_args = args.clone();
        let head_sql = match candidates_max {
            None => {
                format!(
                    "SELECT leads_fts.rowid FROM {source} ORDER BY leads_fts.rowid DESC LIMIT {}",
                    head_args.push(head_len)
                )
            }
            Some(max) => format!(
                "SELECT candidates.id
                 FROM (SELECT rowid AS id FROM leads_fts WHERE leads_fts MATCH {matches}
                       ORDER BY rowid DESC LIMIT {}) AS candidates
                 JOIN leads ON leads.id = candidates.id
                 WHERE 1 {filter}
                 ORDER BY candidates.id DESC LIMIT {}",
                head_args.push(max),
                head_args.push(head_len)
            ),
        };
        let head = self.ids(&head_sql, &head_args)?;
        let many = head.len() as i64 >= head_len;
        if let (Some(max), false) = (candidates_max, many) {
            let mut count_args = SqlArgs::default();
            let (matches, cap) = (count_args.push(expression.to_owned()), count_args.push(max + 1));
            let candidates: i64 = self
                .conn
                .prepare_cached(&format!(
                    "SELECT count(*) FROM (SELECT rowid FROM leads_fts WHERE leads_fts MATCH {matches} LIMIT {cap})"
                ))?
                .query_row(count_args.params(), |row| row.get(0))?;
            if candidates > max {
                return Ok(None);
            }
        }
        let (limit, offset) = (sql_limit(page), sql_offset(page));
        let (start, end) = (offset as usize, (offset + limit) as usize);
        if many && end <= head.len() {
            return self.leads_by_ids(&head[start..end]).map(Some);
        }
        if !many && start >= head.len() {
            return Ok(Some(Vec::new()));
        }
        let order = if many { "leads_fts.rowid DESC" } else { "leads_fts.rank, leads_fts.rowid DESC" };
        let outer_order = if many { "hits.hit DESC" } else { "hits.rank, hits.hit DESC" };
        let (limit, offset) = (args.push(limit), args.push(offset));
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT {LEAD_COLUMNS}
             FROM (SELECT leads_fts.rowid AS hit, leads_fts.rank AS rank FROM {source}
                   ORDER BY {order} LIMIT {limit} OFFSET {offset}) AS hits
             JOIN leads ON leads.id = hits.hit
             ORDER BY {outer_order}"
        ))?;
        let rows = statement.query_map(args.params(), lead_from_row)?;
        Ok(Some(rows.collect::<Result<_, _>>()?))
    }

    /// [`Store::search_leads`] for words while leads from `pending_from` on await the full-text
    /// index: those are scanned newest first, every word checked on the row (see
    /// [`search::text_has_word_prefix`]); the indexed leads follow, newest first. No ranking.
    fn search_words_while_indexing(
        &self,
        pending_from: i64,
        words: &[String],
        digit_words: &[String],
        page: Page,
    ) -> Result<Vec<Lead>, StoreError> {
        let (limit, offset) = (sql_limit(page), sql_offset(page));
        let mut args = SqlArgs::default();
        let from = args.push(pending_from);
        let mut filter = digit_filters(&mut args, digit_words, WordsIn::Scan);
        for word in words {
            filter.push_str(&format!(
                " AND {}({}, {TEXT_COLUMNS})",
                search::HAS_WORD_FUNCTION,
                args.push(word.to_lowercase())
            ));
        }
        let wanted = args.push(offset + limit);
        let unindexed = self
            .ids(&format!("SELECT id FROM leads WHERE id >= {from} {filter} ORDER BY id DESC LIMIT {wanted}"), &args)?;
        let mut ids: Vec<i64> = unindexed.iter().skip(offset as usize).copied().collect();
        let found = unindexed.len() as i64;
        if found < offset + limit {
            let (skip, take) = ((offset - found).max(0), limit - ids.len() as i64);
            let mut args = SqlArgs::default();
            let sql = if words.is_empty() {
                let from = args.push(pending_from);
                let filter = digit_filters(&mut args, digit_words, WordsIn::Index);
                format!("SELECT id FROM leads WHERE id < {from} {filter} ORDER BY id DESC")
            } else {
                let matches = args.push(search::exact_expression(words));
                let filter = digit_filters(&mut args, digit_words, WordsIn::Index);
                format!(
                    "SELECT leads_fts.rowid FROM leads_fts JOIN leads ON leads.id = leads_fts.rowid
                     WHERE leads_fts MATCH {matches} {filter} ORDER BY leads_fts.rowid DESC"
                )
            };
            let (take, skip) = (args.push(take), args.push(skip));
            ids.extend(self.ids(&format!("{sql} LIMIT {take} OFFSET {skip}"), &args)?);
        }
        self.leads_by_ids(&ids)
    }

    /// The ids one column of `sql` lists.
    fn ids(&self, sql: &str, args: &SqlArgs) -> Result<Vec<i64>, StoreError> {
        let mut statement = self.conn.prepare_cached(sql)?;
        let ids = statement.query_map(args.params(), |row| row.get(0))?;
        Ok(ids.collect::<Result<_, _>>()?)
    }

    /// The leads with these ids, in this order (ids that no longer exist are skipped).
    fn leads_by_ids(&self, ids: &[i64]) -> Result<Vec<Lead>, StoreError> {
        let mut read = self.conn.prepare_cached(&format!("SELECT {LEAD_COLUMNS} FROM leads WHERE id = ?1"))?;
        let mut leads = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(lead) = read.query_row([id], lead_from_row).optional()? {
                leads.push(lead);
            }
        }
        Ok(leads)
    }

    /// The lead to show when `number` calls (screen-pop): the lead with exactly this E.164
    /// number, else one whose national number matches (a number stored under another country
    /// code, e.g. imported with the wrong default region), the most recently updated first.
    pub fn find_caller(&self, number: &PhoneNumber) -> Result<Option<Lead>, StoreError> {
        let exact = self
            .conn
            .prepare_cached(&format!("SELECT {LEAD_COLUMNS} FROM leads WHERE phone = ?1"))?
            .query_row([number.as_e164()], lead_from_row)
            .optional()?;
        if exact.is_some() {
            return Ok(exact);
        }
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {LEAD_COLUMNS} FROM leads WHERE national_digits = ?1
                 ORDER BY updated_at DESC, id DESC LIMIT 1"
            ))?
            .query_row([number.national_digits()], lead_from_row)
            .optional()?)
    }

    /// The team's own dispositions, alphabetically.
    pub fn custom_dispositions(&self) -> Result<Vec<Disposition>, StoreError> {
        let mut statement =
            self.conn.prepare_cached("SELECT label FROM custom_dispositions ORDER BY label COLLATE NOCASE")?;
        let labels = statement.query_map([], |row| row.get::<_, String>(0))?;
        let mut out = Vec::new();
        for label in labels {
            let label = label?;
            let disposition = Disposition::from_code(&label)
                .map_err(|e| StoreError::Internal(format!("stored disposition is invalid ({e})")))?;
            out.push(disposition);
        }
        Ok(out)
    }

    /// Adds a custom disposition; adding one that exists (ignoring case) changes nothing.
    pub fn add_custom_disposition(
        &self,
        disposition: &softphone_core::disposition::CustomDisposition,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO custom_dispositions (label, created_at) VALUES (?1, ?2)
             ON CONFLICT (label) DO NOTHING",
            params![disposition.label(), now_ms],
        )?;
        Ok(())
    }

    /// Removes a custom disposition from the list offered. Leads and calls that carry it keep it.
    pub fn remove_custom_disposition(
        &self,
        disposition: &softphone_core::disposition::CustomDisposition,
    ) -> Result<(), StoreError> {
        match self.conn.execute("DELETE FROM custom_dispositions WHERE label = ?1", [disposition.label()])? {
            0 => Err(StoreError::NotFound(Entity::Disposition)),
            _ => Ok(()),
        }
    }

    pub(crate) fn ensure_disposition_exists(&self, disposition: &Disposition) -> Result<(), StoreError> {
        let Disposition::Custom(custom) = disposition else {
            return Ok(());
        };
        let exists: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM custom_dispositions WHERE label = ?1)",
            [custom.label()],
            |row| row.get(0),
        )?;
        if exists { Ok(()) } else { Err(StoreError::NotFound(Entity::Disposition)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_trimmed_deduplicated_and_comma_free() {
        let cases: &[(&[&str], &[&str])] =
            &[(&["vip", " VIP ", "hot"], &["vip", "hot"]), (&["", "  ", "a,b"], &["a b"]), (&[], &[])];
        for (input, expected) in cases {
            assert_eq!(normalize_tags(input.iter().copied()), *expected, "{input:?}");
        }
        let tags = vec!["vip".to_owned(), "hot lead".to_owned()];
        assert_eq!(split_tags(&join_tags(&tags)), tags);
    }

    #[test]
    fn pages_clamp_and_advance() {
        let page = Page::first(50);
        assert_eq!(page.next(), Page { limit: 50, offset: 50 });
        assert_eq!(sql_limit(Page::first(10_000)), 500);
    }
}
