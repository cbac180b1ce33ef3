//! Turns what an agent types into a safe FTS5 query.
//!
//! User input never reaches FTS5 syntax: it is cut into tokens the way the `unicode61` tokenizer
//! cuts documents (runs of letters and digits), and every token becomes a quoted prefix term
//! (`"smi"*`). Quotes, `*`, `:`, `^`, parentheses and the words AND/OR/NOT/NEAR are therefore
//! either separators or plain text, never operators. Terms are ANDed.

/// Most terms one query may have; more are ignored (they would only narrow the result).
const MAX_TERMS: usize = 8;

/// The FTS5 `MATCH` expression for `input`, or `None` when it contains nothing searchable.
///
/// Input that looks like a phone number (digits plus `+ - . ( ) /` and spaces) becomes one
/// prefix term of its digits, so `(415) 555-01` finds `+14155550100` through the national digits
/// `4155550100`. A leading trunk `0` is also tried without it (`020 7946` finds `+442079460958`).
pub(crate) fn fts_query(input: &str) -> Option<String> {
    if let Some(digits) = phone_like_digits(input) {
        let without_trunk = digits.trim_start_matches('0');
        return Some(if without_trunk.len() != digits.len() && !without_trunk.is_empty() {
            format!("(\"{digits}\"* OR \"{without_trunk}\"*)")
        } else {
            format!("\"{digits}\"*")
        });
    }
    let terms: Vec<String> = input
        .split(|c: char| !c.is_alphanumeric())
        .filter(|token| !token.is_empty())
        .take(MAX_TERMS)
        // Tokens hold only letters and digits; doubling quotes keeps this safe even if that
        // rule changes.
        .map(|token| format!("\"{}\"*", token.replace('"', "\"\"")))
        .collect();
    if terms.is_empty() { None } else { Some(terms.join(" ")) }
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

    #[test]
    fn input_becomes_quoted_prefix_terms() {
        let cases: &[(&str, Option<&str>)] = &[
            ("smi", Some("\"smi\"*")),
            ("  Jane   Smi ", Some("\"Jane\"* \"Smi\"*")),
            ("415555", Some("\"415555\"*")),
            ("(415) 555-01", Some("\"41555501\"*")),
            ("+1 415", Some("\"1415\"*")),
            ("020 7946", Some("(\"0207946\"* OR \"207946\"*)")),
            ("o'brien", Some("\"o\"* \"brien\"*")),
            ("a AND b", Some("\"a\"* \"AND\"* \"b\"*")),
            ("\"unbalanced", Some("\"unbalanced\"*")),
            ("NEAR(a b)", Some("\"NEAR\"* \"a\"* \"b\"*")),
            ("name:smith", Some("\"name\"* \"smith\"*")),
            ("Müller", Some("\"Müller\"*")),
            ("", None),
            ("   ", None),
            ("*", None),
            ("\"\"", None),
            ("-", None),
        ];
        for (input, expected) in cases {
            assert_eq!(fts_query(input).as_deref(), *expected, "{input:?}");
        }
    }

    #[test]
    fn long_input_is_capped() {
        let input = "a b c d e f g h i j k";
        assert_eq!(fts_query(input).unwrap().matches('*').count(), MAX_TERMS);
    }
}
