//! Turns what an agent types into a safe search: FTS5 terms for words, index ranges for digits.
//!
//! User input never reaches FTS5 syntax: it is cut into tokens the way the `unicode61` tokenizer
//! cuts documents (runs of letters and digits), and every word becomes a quoted prefix term
//! (`"smi"*`). Quotes, `*`, `:`, `^`, parentheses and the words AND/OR/NOT/NEAR are therefore
//! either separators or plain text, never operators. Terms are ANDed.
//!
//! Numbers are not in the full-text index (migrations/0002): digits are matched against the
//! start of the E.164 digits and of the national digits through their B-tree indexes.

/// Most terms one query may have; more are ignored (they would only narrow the result).
const MAX_TERMS: usize = 8;

/// What to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SearchQuery {
    /// Nothing searchable: list everyone.
    Blank,
    /// Input that looks like a phone number: leads whose E.164 digits or national digits start
    /// with one of these digit strings.
    Number(Vec<String>),
    /// Words. `fts` is the FTS5 `MATCH` expression of the words that are not all digits;
    /// each of `digit_words` must match the start of the number or a word in the text columns.
    Words { fts: Option<String>, digit_words: Vec<String> },
}

/// The search for `input`.
///
/// Input that looks like a phone number (digits plus `+ - . ( ) /` and spaces) becomes one
/// digit prefix, so `(415) 555-01` finds `+14155550100` through the national digits
/// `4155550100`. A leading trunk `0` is also tried without it (`020 7946` finds `+442079460958`).
pub(crate) fn parse_query(input: &str) -> SearchQuery {
    if let Some(digits) = phone_like_digits(input) {
        let without_trunk = digits.trim_start_matches('0');
        return SearchQuery::Number(if without_trunk.len() != digits.len() && !without_trunk.is_empty() {
            vec![digits.clone(), without_trunk.to_owned()]
        } else {
            vec![digits]
        });
    }
    let tokens: Vec<&str> =
        input.split(|c: char| !c.is_alphanumeric()).filter(|token| !token.is_empty()).take(MAX_TERMS).collect();
    if tokens.is_empty() {
        return SearchQuery::Blank;
    }
    let (digit_words, words): (Vec<&str>, Vec<&str>) =
        tokens.into_iter().partition(|token| token.bytes().all(|b| b.is_ascii_digit()));
    let fts =
        if words.is_empty() { None } else { Some(words.iter().map(|w| prefix_term(w)).collect::<Vec<_>>().join(" ")) };
    SearchQuery::Words { fts, digit_words: digit_words.into_iter().map(str::to_owned).collect() }
}

/// One quoted FTS5 prefix term. Tokens hold only letters and digits; doubling quotes keeps this
/// safe even if that rule changes.
pub(crate) fn prefix_term(token: &str) -> String {
    format!("\"{}\"*", token.replace('"', "\"\""))
}

/// The half-open range `[start, end)` of strings that start with `prefix` (of ASCII digits, or
/// `+` and digits): `:` is the character after `9`.
pub(crate) fn prefix_range(prefix: &str) -> (String, String) {
    (prefix.to_owned(), format!("{prefix}:"))
}

fn phone_like_digits(input: &str) -> Option<String> {
    let is_phone_char =
        |c: char| c.is_ascii_digit() || c.is_whitespace() || matches!(c, '+' | '-' | '.' | '(' | ')' | '/');
    if !input.chars().all(is_phone_char) {
        return None;
    }
    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() { None } else { Some(digits) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(fts: Option<&str>, digit_words: &[&str]) -> SearchQuery {
        SearchQuery::Words {
            fts: fts.map(str::to_owned),
            digit_words: digit_words.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn number(prefixes: &[&str]) -> SearchQuery {
        SearchQuery::Number(prefixes.iter().map(|p| p.to_string()).collect())
    }

    #[test]
    fn input_becomes_quoted_prefix_terms_or_digit_prefixes() {
        let cases: &[(&str, SearchQuery)] = &[
            ("smi", words(Some("\"smi\"*"), &[])),
            ("  Jane   Smi ", words(Some("\"Jane\"* \"Smi\"*"), &[])),
            ("415555", number(&["415555"])),
            ("(415) 555-01", number(&["41555501"])),
            ("+1 415", number(&["1415"])),
            ("020 7946", number(&["0207946", "207946"])),
            ("smith 415", words(Some("\"smith\"*"), &["415"])),
            ("o'brien", words(Some("\"o\"* \"brien\"*"), &[])),
            ("a AND b", words(Some("\"a\"* \"AND\"* \"b\"*"), &[])),
            ("\"unbalanced", words(Some("\"unbalanced\"*"), &[])),
            ("NEAR(a b)", words(Some("\"NEAR\"* \"a\"* \"b\"*"), &[])),
            ("name:smith", words(Some("\"name\"* \"smith\"*"), &[])),
            ("Müller", words(Some("\"Müller\"*"), &[])),
            ("415, 555", words(None, &["415", "555"])),
            ("", SearchQuery::Blank),
            ("   ", SearchQuery::Blank),
            ("*", SearchQuery::Blank),
            ("\"\"", SearchQuery::Blank),
            ("-", SearchQuery::Blank),
            ("+", SearchQuery::Blank),
        ];
        for (input, expected) in cases {
            assert_eq!(&parse_query(input), expected, "{input:?}");
        }
    }

    #[test]
    fn long_input_is_capped() {
        let SearchQuery::Words { fts: Some(fts), .. } = parse_query("a b c d e f g h i j k") else {
            panic!("words expected");
        };
        assert_eq!(fts.matches('*').count(), MAX_TERMS);
    }

    #[test]
    fn prefix_ranges_cover_exactly_the_strings_with_the_prefix() {
        let (start, end) = prefix_range("415");
        for inside in ["415", "4150000000", "4159999999"] {
            assert!(start.as_str() <= inside && inside < end.as_str(), "{inside}");
        }
        for outside in ["414999", "416", "41"] {
            assert!(!(start.as_str() <= outside && outside < end.as_str()), "{outside}");
        }
    }
}
