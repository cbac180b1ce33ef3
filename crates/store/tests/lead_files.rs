//! Lead files as agents get them, written here for real: a semicolon CSV in Windows-1252 from a
//! European Excel, a UTF-16 TSV, an .xlsx with a summary sheet before the leads and dates in
//! them, and an OpenDocument spreadsheet. Each imports the same leads, accents intact; a file
//! that is none of these is refused with a sentence saying what it is.

use std::io::Write;
use std::path::{Path, PathBuf};

use softphone_core::lead::Page;
use softphone_core::phone::Region;
use softphone_store::{ImportReport, Store, StoreError};

const NOW: i64 = 1_790_000_000_000;

/// (name, phone as written, city, notes): the phones written as a European file would.
const LEADS: [(&str, &str, &str, &str); 3] = [
    ("François Müller", "+33 1 23 45 67 89", "Besançon", "Préfère le matin"),
    ("Zoë Ångström", "+46 8 123 456 78", "Göteborg", "Ring efter 10"),
    ("José Peña", "+34 912 345 678", "Logroño", "Llamar, no email"),
];

/// What the store holds afterwards: (name, E.164, city, notes), by name.
fn held(store: &Store) -> Vec<(String, String, String, String)> {
    let mut leads: Vec<_> = store
        .search_leads("", Page { limit: 100, offset: 0 })
        .expect("leads")
        .into_iter()
        .map(|lead| (lead.name, lead.phone.as_e164().to_owned(), lead.city, lead.notes))
        .collect();
    leads.sort();
    leads
}

fn expected() -> Vec<(String, String, String, String)> {
    let mut leads: Vec<_> = LEADS
        .iter()
        .map(|(name, phone, city, notes)| {
            let e164: String = phone.chars().filter(|c| *c == '+' || c.is_ascii_digit()).collect();
            (name.to_string(), e164, city.to_string(), notes.to_string())
        })
        .collect();
    leads.sort();
    leads
}

fn import(dir: &Path, file: &str, bytes: &[u8]) -> (Result<ImportReport, StoreError>, Store) {
    let path = dir.join(file);
    std::fs::write(&path, bytes).expect("the file is written");
    let mut store = Store::open(dir.join(format!("{file}.sqlite3"))).expect("a store");
    (store.import_leads_csv(&path, Region::US, NOW, |_| {}), store)
}

fn imports_the_leads(dir: &Path, file: &str, bytes: &[u8]) {
    let (report, store) = import(dir, file, bytes);
    let report = report.unwrap_or_else(|error| panic!("{file}: {error}"));
    assert_eq!((report.inserted, report.rejected.len()), (3, 0), "{file}: {report:?}");
    assert_eq!(held(&store), expected(), "{file}");
}

fn table(delimiter: char) -> String {
    table_with(delimiter, ["Name", "Phone", "City", "Notes"])
}

fn table_with(delimiter: char, headers: [&str; 4]) -> String {
    let mut text = headers.join(&delimiter.to_string()) + "\r\n";
    for (name, phone, city, notes) in LEADS {
        let notes = if notes.contains(delimiter) { format!("\"{notes}\"") } else { notes.to_owned() };
        text.push_str(&format!("{name}{delimiter}{phone}{delimiter}{city}{delimiter}{notes}\r\n"));
    }
    text
}

#[test]
fn a_semicolon_csv_in_windows_1252_with_french_headers_imports_with_its_accents() {
    let dir = tempfile::tempdir().expect("dir");
    // As a French Excel names the columns, too.
    let text = table_with(';', ["Nom", "Téléphone", "Ville", "Remarques"]);
    let (bytes, _, lossy) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!lossy);
    assert!(std::str::from_utf8(&bytes).is_err(), "really not UTF-8");
    imports_the_leads(dir.path(), "export-excel-fr.csv", &bytes);
}

#[test]
fn a_utf16_tsv_with_its_byte_order_mark_imports() {
    let dir = tempfile::tempdir().expect("dir");
    let text = format!("\u{FEFF}{}", table('\t'));
    let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    imports_the_leads(dir.path(), "leads.txt", &bytes);
}

#[test]
fn a_utf8_csv_with_commas_still_imports_as_before() {
    let dir = tempfile::tempdir().expect("dir");
    imports_the_leads(dir.path(), "leads.csv", table(',').as_bytes());
}

#[test]
fn an_xlsx_with_a_summary_sheet_first_and_dates_imports_its_leads_sheet() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let dir = tempfile::tempdir().expect("dir");
    let mut workbook = Workbook::new();
    let summary = workbook.add_worksheet().set_name("Summary").expect("name");
    summary.write_string(0, 0, "Spring campaign").expect("cell");
    summary.write_number(1, 0, 3).expect("cell");
    let sheet = workbook.add_worksheet().set_name("Leads").expect("name");
    let date = Format::new().set_num_format("dd/mm/yyyy");
    for (column, header) in ["Name", "Phone", "City", "Notes", "Last contact"].iter().enumerate() {
        sheet.write_string(0, column as u16, *header).expect("header");
    }
    for (row, (name, phone, city, notes)) in LEADS.iter().enumerate() {
        let row = row as u32 + 1;
        sheet.write_string(row, 0, *name).expect("cell");
        sheet.write_string(row, 1, *phone).expect("cell");
        sheet.write_string(row, 2, *city).expect("cell");
        sheet.write_string(row, 3, *notes).expect("cell");
        let when = ExcelDateTime::from_ymd(2026, 11, row as u8).expect("date");
        sheet.write_datetime_with_format(row, 4, &when, &date).expect("cell");
    }
    let bytes = workbook.save_to_buffer().expect("xlsx");
    imports_the_leads(dir.path(), "leads.xlsx", &bytes);
}

#[test]
fn phone_numbers_excel_stored_as_numbers_keep_every_digit() {
    use rust_xlsxwriter::Workbook;
    let dir = tempfile::tempdir().expect("dir");
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "Name").expect("cell");
    sheet.write_string(0, 1, "Mobile").expect("cell");
    sheet.write_string(1, 0, "Grace Hopper").expect("cell");
    sheet.write_number(1, 1, 4_155_550_123.0).expect("cell");
    let bytes = workbook.save_to_buffer().expect("xlsx");
    let (report, store) = import(dir.path(), "numbers.xlsx", &bytes);
    assert_eq!(report.expect("imported").inserted, 1);
    assert_eq!(held(&store)[0].1, "+14155550123", "read in the default region, no \".0\"");
}

/// An OpenDocument spreadsheet as LibreOffice writes one: the mimetype first and stored, a
/// manifest, and the table in content.xml.
fn ods(rows: &[Vec<&str>]) -> Vec<u8> {
    let escape = |text: &str| text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut table = String::new();
    for row in rows {
        table.push_str("<table:table-row>");
        for cell in row {
            table.push_str(&format!(
                "<table:table-cell office:value-type=\"string\"><text:p>{}</text:p></table:table-cell>",
                escape(cell)
            ));
        }
        table.push_str("</table:table-row>");
    }
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3">
<office:body><office:spreadsheet><table:table table:name="Leads">{table}</table:table></office:spreadsheet></office:body>
</office:document-content>"#
    );
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"#;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("mimetype", stored).expect("mimetype");
    zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet").expect("mimetype");
    zip.start_file("META-INF/manifest.xml", deflated).expect("manifest");
    zip.write_all(manifest.as_bytes()).expect("manifest");
    zip.start_file("content.xml", deflated).expect("content");
    zip.write_all(content.as_bytes()).expect("content");
    zip.finish().expect("ods").into_inner()
}

#[test]
fn an_opendocument_spreadsheet_imports() {
    let dir = tempfile::tempdir().expect("dir");
    let mut rows = vec![vec!["Name", "Phone", "City", "Notes"]];
    rows.extend(LEADS.iter().map(|(name, phone, city, notes)| vec![*name, *phone, *city, *notes]));
    imports_the_leads(dir.path(), "leads.ods", &ods(&rows));
}

#[test]
fn a_workbook_without_a_phone_column_names_its_sheets_and_a_file_that_is_no_table_says_what_it_is() {
    let dir = tempfile::tempdir().expect("dir");
    let (report, _) = import(dir.path(), "people.ods", &ods(&[vec!["Name", "City"], vec!["Ana", "Lyon"]]));
    let Err(StoreError::InvalidInput(sentence)) = report else { panic!("imported: {report:?}") };
    assert!(sentence.contains("No sheet of this workbook (\"Leads\") has a phone column"), "{sentence}");

    let pdf: PathBuf = dir.path().join("leads.pdf");
    std::fs::write(&pdf, b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n").expect("pdf");
    let mut store = Store::open(dir.path().join("pdf.sqlite3")).expect("store");
    let Err(StoreError::InvalidInput(sentence)) = store.import_leads_csv(&pdf, Region::US, NOW, |_| {}) else {
        panic!("a PDF was imported")
    };
    assert!(sentence.starts_with("This file is a PDF document, not a table of leads"), "{sentence}");
    assert!(held(&store).is_empty(), "nothing imported");
}
