//! Turns what an agent types into a safe search: FTS5 terms for words, index ranges for digits.
//!
//! User input never reaches FTS5 syntax: it is cut into tokens the way the `unicode61` tokenizer
//! cuts documents (runs of letters and digits), and every word becomes a quoted prefix term
//! (`"smi"*`). Quotes, `*`, `:`, `^`, parentheses and the words AND/OR/NOT/NEAR are therefore
//! either separators or plain text, never operators. Terms are ANDed.
//!
//! Numbers are not in the full-text index (migrations/0002): digits are matched against the
//! start of the E.164 digits and of the national digits through their B-tree indexes.
//!
//! Words longer than the longest indexed prefix ([`INDEXED_PREFIX_MAX`] characters) would make
//! FTS5 merge every matching word's list in memory before the first result (10-30 ms for a
//! common word on 1M leads). An ASCII word that long is therefore looked up by its indexed
//! prefix, which FTS5 streams newest first, and the candidates are checked for the whole word
//! with [`text_has_word_prefix`] (registered in SQLite as [`HAS_WORD_FUNCTION`]).

/// Most terms one query may have; more are ignored (they would only narrow the result).
const MAX_TERMS: usize = 8;

/// The longest prefix, in characters, the full-text index keeps (`prefix = '1 2 3 4 5 6'`,
/// migrations/0002).
pub(crate) const INDEXED_PREFIX_MAX: usize = 6;

/// The SQL name of [`text_has_word_prefix`]: `softphone_has_word(word, text, ...)` is 1 when
/// any of the texts has a word starting with `word` (lower-case), else 0.
pub(crate) const HAS_WORD_FUNCTION: &str = "softphone_has_word";

/// What to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SearchQuery {
    /// Nothing searchable: list everyone.
    Blank,
    /// Input that looks like a phone number: leads whose E.164 digits or national digits start
    /// with one of these digit strings.
    Number(Vec<String>),
    /// Words. `words` are the words that are not all digits, as typed; each of `digit_words`
    /// must match the start of the number or a word in the text columns.
    Words { words: Vec<String>, digit_words: Vec<String> },
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
    SearchQuery::Words {
        words: words.into_iter().map(str::to_owned).collect(),
        digit_words: digit_words.into_iter().map(str::to_owned).collect(),
    }
}

/// The FTS5 `MATCH` expression that finds every lead matching all `words` as prefixes.
pub(crate) fn exact_expression(words: &[String]) -> String {
    words.iter().map(|w| prefix_term(w)).collect::<Vec<_>>().join(" ")
}

/// A words search split for speed: `expression` uses only prefixes the index holds, so FTS5
/// streams its matches; every lead matching all words matches it, and a lead matching it matches
/// all words when it also passes [`HAS_WORD_FUNCTION`] for each of `whole_words`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexedSearch {
    /// FTS5 `MATCH` expression over indexed prefix lengths only.
    pub(crate) expression: String,
    /// Lower-case ASCII words longer than [`INDEXED_PREFIX_MAX`], to check on each candidate.
    pub(crate) whole_words: Vec<String>,
}

/// [`IndexedSearch`] for `words`: ASCII words longer than the indexed prefixes are cut to
/// [`INDEXED_PREFIX_MAX`] characters and kept in `whole_words`. Other words (non-ASCII ones,
/// whose case and accent folding only FTS5 knows exactly) stay whole in the expression.
pub(crate) fn indexed_search(words: &[String]) -> IndexedSearch {
    let mut terms = Vec::with_capacity(words.len());
    let mut whole_words = Vec::new();
    for word in words {
        if word.is_ascii() && word.len() > INDEXED_PREFIX_MAX {
            terms.push(prefix_term(&word[..INDEXED_PREFIX_MAX]));
            whole_words.push(word.to_ascii_lowercase());
        } else {
            terms.push(prefix_term(word));
        }
    }
    IndexedSearch { expression: terms.join(" "), whole_words }
}

/// Whether `text` has a word (a run of letters and digits, as the `unicode61` tokenizer cuts
/// them) that starts with `word`, which is lower-case.
///
/// Case is folded as [`char::to_lowercase`] does. Accents are not folded here: a non-ASCII
/// character on either side matches any character, so `Müller` and `Muller` both match
/// `muller` (as FTS5 with `remove_diacritics` does) and no lead FTS5 would find is missed; in
/// exchange a rare non-ASCII word may match where FTS5 would not (`Mallet` does not, but `Mäll`
/// would match `mull`).
pub(crate) fn text_has_word_prefix(text: &str, word: &str) -> bool {
    if word.is_empty() {
        return true;
    }
    text.split(|c: char| !c.is_alphanumeric()).any(|token| word_starts_with(token, word))
}

fn word_starts_with(token: &str, word: &str) -> bool {
    let mut token_chars = token.chars().flat_map(char::to_lowercase);
    for expected in word.chars() {
        match token_chars.next() {
            None => return false,
            Some(actual) if actual == expected || !actual.is_ascii() || !expected.is_ascii() => {}
            Some(_) => return false,
        }
    }
    true
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
        // The expected words, written as the exact FTS5 expression they make.
        let words = fts
            .map(|fts| fts.split(' ').map(|term| term.trim_matches(|c| c == '"' || c == '*').to_owned()).collect())
            .unwrap_or_default();
        SearchQuery::Words { words, digit_words: digit_words.iter().map(|d| d.to_string()).collect() }
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
            if let (SearchQuery::Words { words, .. }, SearchQuery::Words { words: expected_words, .. }) =
                (parse_query(input), expected)
                && !words.is_empty()
            {
                let terms = expected_words.iter().map(|w| prefix_term(w)).collect::<Vec<_>>().join(" ");
                assert_eq!(exact_expression(&words), terms, "{input:?}");
            }
        }
    }

    #[test]
    fn long_input_is_capped() {
        let SearchQuery::Words { words, .. } = parse_query("a b c d e f g h i j k") else {
            panic!("words expected");
        };
        assert_eq!(exact_expression(&words).matches('*').count(), MAX_TERMS);
    }

    #[test]
    fn long_ascii_words_are_looked_up_by_their_indexed_prefix() {
        let words: Vec<String> = ["Williams", "jo", "Müllerstraße", "abcdef"].iter().map(|w| w.to_string()).collect();
        let search = indexed_search(&words);
        assert_eq!(search.expression, "\"Willia\"* \"jo\"* \"Müllerstraße\"* \"abcdef\"*");
        assert_eq!(search.whole_words, ["williams"]);
    }

    #[test]
    fn word_prefixes_are_found_at_word_starts_only() {
        let cases: &[(&str, &str, bool)] = &[
            ("Jane Williamson", "williams", true),
            ("jane.williams@example.com", "williams", true),
            ("Jane William", "williams", false),
            ("Xwilliams", "williams", false),
            ("Wants a demo on Tuesday", "tuesday", true),
            ("Cafétéria Lyon", "cafeteria", true),
            ("Zoë Müller", "muller", true),
            ("", "anything", false),
            ("anything", "", true),
        ];
        for (text, word, expected) in cases {
            assert_eq!(text_has_word_prefix(text, word), *expected, "{text:?} {word:?}");
        }
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
