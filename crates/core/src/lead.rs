//! Leads as they cross the IPC boundary: the lead itself, paging, and CSV import reports.
//! Stored by softphone-store; plain data here so the UI (wasm) can use the same types.

use serde::{Deserialize, Serialize};

use crate::disposition::Disposition;
use crate::phone::PhoneNumber;

/// A lead's row id. Stable for the lead's lifetime; never reused while the lead exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeadId(pub i64);

/// A lead as stored.
///
/// Text fields are trimmed and `""` when unknown. `tags` are trimmed, non-empty, contain no
/// comma, and are unique ignoring case, in the order they were added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lead {
    pub id: LeadId,
    pub name: String,
    pub company: String,
    /// Read back with [`PhoneNumber::from_stored`] (shape only): a number the store accepted
    /// stays readable even if it is not valid for libphonenumber (the simulator's fictional
    /// directory in demo mode, or a number whose metadata changed since).
    #[serde(deserialize_with = "stored_phone")]
    pub phone: PhoneNumber,
    pub email: String,
    pub city: String,
    pub tags: Vec<String>,
    pub notes: String,
    /// The disposition of the lead's latest dispositioned call, or one set by hand.
    pub last_disposition: Option<Disposition>,
    /// Marked do-not-call: the lead is never dialled.
    #[serde(default)]
    pub do_not_call: bool,
    /// Where the lead lives in time, an IANA name (`America/Chicago`) from an import's time-zone
    /// column; `""` when unknown (the dialer then places the lead by its number).
    #[serde(default)]
    pub time_zone: String,
    /// Unix milliseconds of a promised callback, if one is due or coming.
    #[serde(default)]
    pub callback_due_at_ms: Option<i64>,
    /// Unix milliseconds.
    pub created_at_ms: i64,
    /// Unix milliseconds; changes whenever any field changes.
    pub updated_at_ms: i64,
}

fn stored_phone<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<PhoneNumber, D::Error> {
    let text = String::deserialize(deserializer)?;
    PhoneNumber::from_stored(&text).map_err(serde::de::Error::custom)
}

/// What a person can edit on a lead (create and full update).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadFields {
    pub name: String,
    pub company: String,
    pub phone: PhoneNumber,
    pub email: String,
    pub city: String,
    /// Normalised on write (see [`Lead::tags`]).
    pub tags: Vec<String>,
    pub notes: String,
}

impl LeadFields {
    /// Fields with only a number; everything else unknown.
    pub fn with_phone(phone: PhoneNumber) -> LeadFields {
        LeadFields {
            name: String::new(),
            company: String::new(),
            phone,
            email: String::new(),
            city: String::new(),
            tags: Vec::new(),
            notes: String::new(),
        }
    }
}

/// A page of a list: at most `limit` rows after skipping `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub limit: u32,
    pub offset: u32,
}

impl Page {
    /// The most rows one page may hold; larger limits are clamped.
    pub const MAX_LIMIT: u32 = 500;

    /// The first `limit` rows.
    pub fn first(limit: u32) -> Page {
        Page { limit, offset: 0 }
    }

    /// The page after this one.
    pub fn next(self) -> Page {
        Page { limit: self.limit, offset: self.offset.saturating_add(self.limit) }
    }

    /// `limit`, clamped to [`Page::MAX_LIMIT`].
    pub fn clamped_limit(self) -> u32 {
        self.limit.min(Self::MAX_LIMIT)
    }
}

/// How far an import has got; reported every few thousand rows and once at the end.
/// The payload of `import://progress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportProgress {
    /// Data rows read so far (accepted or rejected).
    pub rows_done: u64,
    /// Bytes of the file consumed so far.
    pub bytes_read: u64,
    /// The file's size, when known; `bytes_read / bytes_total` is the fraction done.
    pub bytes_total: Option<u64>,
}

/// A row left out of an import, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRow {
    /// 1-based line in the file where the row starts (the header is line 1).
    pub line: u64,
    /// A sentence saying what is wrong with the row.
    pub reason: String,
}

/// What an import of a do-not-call list did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoNotCallImportReport {
    /// Numbers newly on the list.
    pub added: u64,
    /// Numbers that were on it already (or twice in the file).
    pub already_listed: u64,
    /// Rows left out, in file order.
    pub rejected: Vec<RejectedRow>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// New leads created.
    pub inserted: u64,
    /// Rows folded into a lead that already existed or appeared earlier in the file.
    pub merged: u64,
    /// Rows left out, in file order.
    pub rejected: Vec<RejectedRow>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_advance_and_clamp() {
        let page = Page::first(50);
        assert_eq!(page.next(), Page { limit: 50, offset: 50 });
        assert_eq!(Page::first(10_000).clamped_limit(), Page::MAX_LIMIT);
    }

    #[test]
    fn a_stored_directory_number_reads_back_over_ipc() {
        let lead = Lead {
            id: LeadId(1),
            name: "Tone".into(),
            company: String::new(),
            phone: PhoneNumber::from_stored("+15555550100").expect("shape"),
            email: String::new(),
            city: String::new(),
            tags: Vec::new(),
            notes: String::new(),
            last_disposition: None,
            do_not_call: false,
            time_zone: String::new(),
            callback_due_at_ms: None,
            created_at_ms: 0,
            updated_at_ms: 0,
        };
        let wire = serde_json::to_value(&lead).expect("serializes");
        assert_eq!(wire["phone"], "+15555550100");
        assert_eq!(serde_json::from_value::<Lead>(wire).expect("reads back"), lead);
    }

    #[test]
    fn lead_ids_are_plain_numbers_on_the_wire() {
        assert_eq!(serde_json::to_string(&LeadId(7)).expect("serializes"), "7");
    }
}
