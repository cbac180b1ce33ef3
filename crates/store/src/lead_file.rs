//! What a lead file is, whatever made it: a text table (CSV, TSV, semicolons from a European
//! Excel, pipes) in UTF-8, UTF-16 or a legacy single-byte encoding such as Windows-1252, or a
//! workbook (.xlsx, .xls, .ods). Text is decoded as it streams (the encoding guessed by chardetng
//! from the first 64 KiB unless a byte-order mark says it) and its delimiter found from the first
//! lines; a workbook's first sheet with a phone column is read with calamine. Anything else is
//! refused with a sentence saying what the file is.

use std::io::{Cursor, Read};
use std::sync::Arc;

use calamine::{Data, Reader};
use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

use crate::error::StoreError;

/// How much of a file is looked at to tell what it is.
const PREFIX: usize = 64 * 1024;
/// Lines of a text file looked at to find its delimiter.
const SNIFF_LINES: usize = 20;
/// The delimiters a text table may use, in order of preference on a tie.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// A lead file, opened.
pub(crate) enum LeadFile<'a> {
    /// A text table: `reader` yields UTF-8.
    Text { reader: Box<dyn Read + Send + 'a>, delimiter: u8 },
    /// A workbook's sheet, as rows of text with their row numbers in the sheet (the header
    /// first).
    Sheet { rows: Vec<(u64, Vec<String>)> },
}

/// Opens `input` as a lead file (see the module docs). `looks_like_header` tells a sheet with
/// leads from the others (the importer's test for a phone column).
pub(crate) fn open<'a>(
    mut input: impl Read + Send + 'a,
    looks_like_header: impl Fn(&[String]) -> bool,
) -> Result<LeadFile<'a>, StoreError> {
    let mut prefix = Vec::with_capacity(PREFIX);
    input.by_ref().take(PREFIX as u64).read_to_end(&mut prefix).map_err(io_error)?;
    if prefix.is_empty() {
        return Err(StoreError::invalid("The file is empty; it needs a header row and one row per lead."));
    }
    if is_workbook(&prefix) {
        let mut whole = prefix;
        input.read_to_end(&mut whole).map_err(io_error)?;
        return read_workbook(whole.into(), looks_like_header);
    }
    if let Some(what) = not_a_table(&prefix) {
        return Err(StoreError::invalid(format!(
            "This file is {what}, not a table of leads: export them as CSV or as an Excel or \
             OpenDocument spreadsheet and import that."
        )));
    }
    let encoding = text_encoding(&prefix);
    let delimiter = delimiter_of(&encoding.decode(&prefix).0);
    let whole = Cursor::new(prefix).chain(input);
    let reader: Box<dyn Read + Send + 'a> = if encoding == UTF_8 {
        // Read as it is: the CSV reader skips a UTF-8 byte-order mark and reports invalid bytes
        // by row.
        Box::new(whole)
    } else {
        Box::new(encoding_rs_io::DecodeReaderBytesBuilder::new().encoding(Some(encoding)).build(whole))
    };
    Ok(LeadFile::Text { reader, delimiter })
}

fn io_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::Io { what: "the lead file", reason: error.to_string() }
}

/// A ZIP (.xlsx, .ods) or an OLE compound file (.xls).
fn is_workbook(prefix: &[u8]) -> bool {
    prefix.starts_with(b"PK\x03\x04") || prefix.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
}

/// What a file that is no text table is, for the refusal; `None` for text.
fn not_a_table(prefix: &[u8]) -> Option<&'static str> {
    const KNOWN: &[(&[u8], &str)] = &[
        (b"%PDF", "a PDF document"),
        (b"\x89PNG", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"SQLite format 3\0", "an SQLite database"),
        (b"\x1F\x8B", "a gzip archive"),
        (b"Rar!", "a RAR archive"),
        (b"7z\xBC\xAF", "a 7-Zip archive"),
        (b"{\\rtf", "an RTF document"),
    ];
    if let Some((_, what)) = KNOWN.iter().find(|(magic, _)| prefix.starts_with(magic)) {
        return Some(what);
    }
    // UTF-16 has NUL bytes in every other place; any other NUL means binary.
    if utf16_without_bom(prefix).is_none() && !has_utf16_bom(prefix) && prefix.contains(&0) {
        return Some("a binary file");
    }
    None
}

fn has_utf16_bom(prefix: &[u8]) -> bool {
    prefix.starts_with(&[0xFF, 0xFE]) || prefix.starts_with(&[0xFE, 0xFF])
}

/// UTF-16 saved without a byte-order mark: text of the Latin alphabet has a NUL in most
/// high bytes, so one side is mostly NULs and the other hardly any.
fn utf16_without_bom(prefix: &[u8]) -> Option<&'static Encoding> {
    let pairs = prefix.len() / 2;
    if pairs < 4 {
        return None;
    }
    let nul_even = prefix.iter().step_by(2).filter(|&&b| b == 0).count();
    let nul_odd = prefix.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
    if nul_odd * 10 >= pairs * 7 && nul_even * 10 <= pairs {
        Some(UTF_16LE)
    } else if nul_even * 10 >= pairs * 7 && nul_odd * 10 <= pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// The text's encoding: a byte-order mark's; UTF-16 by its NULs; UTF-8 when the bytes are valid
/// UTF-8 (a character cut at the end of the prefix allowed); else chardetng's guess (for files
/// from Windows and older Macs: Windows-1252, ISO-8859-x, Shift_JIS…).
fn text_encoding(prefix: &[u8]) -> &'static Encoding {
    if let Some((encoding, _)) = Encoding::for_bom(prefix) {
        return encoding;
    }
    // (Before UTF-8: NUL bytes are valid UTF-8.)
    if let Some(encoding) = utf16_without_bom(prefix) {
        return encoding;
    }
    match std::str::from_utf8(prefix) {
        Ok(_) => return UTF_8,
        Err(error) if error.error_len().is_none() && prefix.len() == PREFIX => return UTF_8,
        Err(_) => {}
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(prefix, prefix.len() < PREFIX);
    detector.guess(None, chardetng::Utf8Detection::Allow)
}

/// The delimiter of a text table: of comma, semicolon, tab and pipe, the one in the header line
/// that the most of the next lines have as many of (outside quotes), then the most of them.
/// A single column (no delimiter at all) reads as CSV.
fn delimiter_of(text: &str) -> u8 {
    // The last line of the prefix may be cut short: left out unless it is the only one.
    let mut lines: Vec<&str> = text.lines().filter(|line| !line.trim().is_empty()).take(SNIFF_LINES + 1).collect();
    if lines.len() > 1 && !text.ends_with('\n') {
        lines.pop();
    }
    let Some(header) = lines.first() else { return b',' };
    let mut best = (b',', 0_usize, 0_usize);
    for delimiter in DELIMITERS {
        let in_header = count_outside_quotes(header, delimiter);
        if in_header == 0 {
            continue;
        }
        let agreeing = lines[1..].iter().filter(|line| count_outside_quotes(line, delimiter) == in_header).count();
        if (agreeing, in_header) > (best.1, best.2) {
            best = (delimiter, agreeing, in_header);
        }
    }
    best.0
}

fn count_outside_quotes(line: &str, delimiter: u8) -> usize {
    let mut quoted = false;
    let mut count = 0;
    for byte in line.bytes() {
        if byte == b'"' {
            quoted = !quoted;
        } else if byte == delimiter && !quoted {
            count += 1;
        }
    }
    count
}

/// The first sheet (in the workbook's order) whose first row `looks_like_header`, as text.
fn read_workbook(
    bytes: Arc<[u8]>,
    looks_like_header: impl Fn(&[String]) -> bool,
) -> Result<LeadFile<'static>, StoreError> {
    let mut workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|error| {
        StoreError::invalid(format!(
            "This file looks like a spreadsheet (.xlsx, .xls or .ods) but cannot be read ({error}); \
             open it in a spreadsheet program and save it again, or export it as CSV."
        ))
    })?;
    let names = workbook.sheet_names();
    for name in &names {
        let Ok(range) = workbook.worksheet_range(name) else { continue };
        let first_row = u64::from(range.start().map_or(0, |(row, _)| row));
        let mut rows = range
            .rows()
            .enumerate()
            .map(|(index, row)| (first_row + index as u64 + 1, row.iter().map(cell_text).collect::<Vec<String>>()));
        // The header is the first row with anything in it.
        let Some(header) = rows.by_ref().find(|(_, row)| row.iter().any(|cell| !cell.trim().is_empty())) else {
            continue;
        };
        if looks_like_header(&header.1) {
            let mut all = vec![header];
            all.extend(rows);
            return Ok(LeadFile::Sheet { rows: all });
        }
    }
    Err(StoreError::invalid(format!(
        "No sheet of this workbook ({}) has a phone column. Name one of its columns Phone, Mobile or \
         Tel and import it again.",
        names.iter().map(|name| format!("\"{name}\"")).collect::<Vec<_>>().join(", ")
    )))
}

/// A cell as the lead's text: numbers as written (a phone number stored as a number keeps no
/// ".0"), dates as ISO dates (with the time when there is one), formulas' errors as nothing.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(text) | Data::DateTimeIso(text) | Data::DurationIso(text) => text.clone(),
        Data::Int(number) => number.to_string(),
        Data::Float(number) if number.fract() == 0.0 && number.abs() < 1e15 => format!("{}", *number as i64),
        Data::Float(number) => number.to_string(),
        Data::Bool(value) => if *value { "TRUE" } else { "FALSE" }.to_owned(),
        Data::DateTime(date) if date.is_duration() => date.to_string(),
        Data::DateTime(date) => match date.to_ymd_hms_milli() {
            (year, month, day, 0, 0, 0, 0) => format!("{year:04}-{month:02}-{day:02}"),
            (year, month, day, hour, minute, _, _) => format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delimiter_is_the_one_every_line_agrees_on() {
        for (text, delimiter) in [
            ("Name,Phone\nAna,+14155550100\n", b','),
            ("Name;Phone;City\nAna;+49 30 1234567;Berlin\nBen;\"+49, 30\";Köln\n", b';'),
            ("Name\tPhone\nAna\t+14155550100\n", b'\t'),
            ("Name|Phone\nAna|+14155550100\n", b'|'),
            // Commas inside a semicolon file's values do not win.
            ("Name;Phone;Notes\nAna;+1 415;a, b, c\nBen;+1 416;d, e\n", b';'),
            // A quoted delimiter is a value.
            ("\"Last, First\",Phone\n\"Lopez, Ana\",+14155550100\n", b','),
            ("Phone\n+14155550100\n", b','),
        ] {
            assert_eq!(delimiter_of(text) as char, delimiter as char, "{text:?}");
        }
    }

    #[test]
    fn encodings_are_told_by_their_marks_their_bytes_or_a_guess() {
        assert_eq!(text_encoding("Name,Phone\nZoë,1\n".as_bytes()), UTF_8);
        assert_eq!(text_encoding(b"\xEF\xBB\xBFName,Phone\n"), UTF_8);
        let utf16: Vec<u8> = "Name\tPhone\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(text_encoding(&[&[0xFF, 0xFE][..], &utf16].concat()), UTF_16LE);
        assert_eq!(text_encoding(&utf16), UTF_16LE, "no BOM");
        let (latin, _, _) = encoding_rs::WINDOWS_1252.encode("Nom;Téléphone\nFrançois Müller;+33 1 23 45 67 89\n");
        assert_eq!(text_encoding(&latin), encoding_rs::WINDOWS_1252);
    }

    #[test]
    fn files_that_are_no_table_say_what_they_are() {
        for (bytes, what) in [
            (&b"%PDF-1.7\n..."[..], "a PDF document"),
            (b"\x89PNG\r\n\x1a\n\0\0", "a PNG image"),
            (b"SQLite format 3\0\x10\0", "an SQLite database"),
            (b"MZ\x90\0\x03\0\0\0", "a binary file"),
        ] {
            let Err(StoreError::InvalidInput(sentence)) = open(bytes, |_| true) else { panic!("{what} was opened") };
            assert!(sentence.starts_with(&format!("This file is {what}, not a table of leads")), "{sentence}");
        }
        let Err(StoreError::InvalidInput(sentence)) = open(&b"PK\x03\x04 not really a zip"[..], |_| true) else {
            panic!("a broken zip was opened")
        };
        assert!(sentence.contains("cannot be read"), "{sentence}");
    }
}
