//! Compiling parsed query options to SQL for SQLite and PostgreSQL: `$filter` to a `WHERE`
//! condition, `$orderby` to sort keys and keyset conditions, `$search` to word-prefix `LIKE`s or
//! an FTS5 match string.
//!
//! Two rules make the output safe to splice into a statement:
//!
//! * every identifier comes from the [`crate::schema`] catalogue (or the caller's own alias,
//!   which must be a plain identifier), never from the request;
//! * every value from the request is a bound parameter: the compilers push [`SqlValue`]s onto
//!   the caller's list and write the dialect's placeholder, numbered after any parameters
//!   already in the list.
//!
//! Conditions come back fully parenthesised, so callers can `AND` them with their own. The SQL
//! is written once for both engines; [`Dialect`] supplies the few constructs that differ.
//!
//! Nulls follow OData rather than SQL: `x ne 'a'` is true when `x` is null, and `not` turns
//! "unknown" into true, so a row with a null property is never silently dropped by `not` or
//! `all`.

mod filter;
mod order;
mod search;

pub use filter::compile_filter;
pub use order::{SortKey, compile_orderby, keyset_after, order_by_clause};
pub use search::{compile_search_like, fts5_match, fts5_match_columns};

use crate::error::{ErrorKind, ODataError};

/// A value bound to a placeholder. Booleans are `Integer` 0/1, date-times `Integer` epoch
/// milliseconds, GUIDs lowercase `Text`, enum members their canonical `Text`.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// SQL `NULL`.
    Null,
    /// A 64-bit integer.
    Integer(i64),
    /// A double.
    Real(f64),
    /// Text.
    Text(String),
}

/// Where the wildcard goes in a string-matching pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The value starts with the text (`startswith`).
    Prefix,
    /// The value ends with the text (`endswith`).
    Suffix,
    /// The text occurs anywhere in the value (`contains`).
    Contains,
}

/// The SQL constructs that differ between engines.
pub trait Dialect {
    /// A short name (`sqlite`, `postgres`), for messages and tests.
    fn name(&self) -> &'static str;

    /// The `n`th placeholder, 1-based (`?1`, `$1`). The same number may appear more than once
    /// and then refers to the same parameter.
    fn placeholder(&self, n: usize) -> String;

    /// `expr` made comparable without regard to case; applied to both sides of a comparison.
    fn fold_case(&self, expr: &str) -> String;

    /// The value to bind for a match of `text` anchored as `anchor`, with the pattern language's
    /// special characters escaped so that `text` is matched literally.
    fn match_pattern(&self, text: &str, anchor: Anchor, case_insensitive: bool) -> String {
        let _ = case_insensitive;
        like_pattern(text, anchor)
    }

    /// A condition true when `expr` matches the pattern bound at `placeholder` (made by
    /// [`Dialect::match_pattern`] with the same `case_insensitive`).
    fn matches(&self, expr: &str, placeholder: &str, case_insensitive: bool) -> String;

    /// A `FROM` item with one row per element of the JSON array text in `column`, named `alias`,
    /// with the element's text in `alias.value`.
    fn json_array_elements(&self, column: &str, alias: &str) -> String;

    /// A range on `expr` implied by a case-insensitive prefix match, between the bounds made by
    /// [`nocase_prefix_bounds`] bound at `low` and `high`, written so that an index on `expr`
    /// can seek on it (a pattern match alone makes the engine scan); `None` when the dialect has
    /// no such range. The match itself still decides: the range only narrows the rows.
    fn prefix_range(&self, expr: &str, low: &str, high: &str) -> Option<String> {
        let _ = (expr, low, high);
        None
    }
}

/// SQLite: `?N` placeholders, `COLLATE NOCASE`, `LIKE` (case-insensitive for ASCII) or `GLOB`
/// (case-sensitive), `json_each`.
///
/// `COLLATE NOCASE` and `LIKE` fold ASCII letters only, while PostgreSQL's `lower()` and
/// `ILIKE` fold all of Unicode; the engines agree on ASCII text.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sqlite;

/// PostgreSQL: `$N` placeholders, `lower()`, `ILIKE`/`LIKE`, `jsonb_array_elements_text`.
///
/// To sort text as SQLite does (by code point), give text columns `COLLATE "C"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Postgres;

impl Dialect for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn placeholder(&self, n: usize) -> String {
        format!("?{n}")
    }

    fn fold_case(&self, expr: &str) -> String {
        format!("{expr} COLLATE NOCASE")
    }

    fn match_pattern(&self, text: &str, anchor: Anchor, case_insensitive: bool) -> String {
        if case_insensitive {
            like_pattern(text, anchor)
        } else {
            glob_pattern(text, anchor)
        }
    }

    fn matches(&self, expr: &str, placeholder: &str, case_insensitive: bool) -> String {
        // SQLite's LIKE ignores ASCII case, so a case-sensitive match needs GLOB.
        if case_insensitive {
            format!("{expr} LIKE {placeholder} ESCAPE '\\'")
        } else {
            format!("{expr} GLOB {placeholder}")
        }
    }

    fn json_array_elements(&self, column: &str, alias: &str) -> String {
        format!("json_each({column}) AS {alias}")
    }

    fn prefix_range(&self, expr: &str, low: &str, high: &str) -> Option<String> {
        // Seeks an index declared `COLLATE NOCASE` on the column; a `LIKE` with a bound pattern
        // would only do that with a statement re-prepared for every value.
        Some(format!(
            "{expr} COLLATE NOCASE >= {low} AND {expr} COLLATE NOCASE < {high}"
        ))
    }
}

impl Dialect for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn placeholder(&self, n: usize) -> String {
        format!("${n}")
    }

    fn fold_case(&self, expr: &str) -> String {
        format!("lower({expr})")
    }

    fn matches(&self, expr: &str, placeholder: &str, case_insensitive: bool) -> String {
        let op = if case_insensitive { "ILIKE" } else { "LIKE" };
        format!("{expr} {op} {placeholder} ESCAPE '\\'")
    }

    fn json_array_elements(&self, column: &str, alias: &str) -> String {
        format!("jsonb_array_elements_text(({column})::jsonb) AS {alias}(value)")
    }
}

/// Bounds `[low, high)` that contain, under SQLite's `NOCASE` collation (ASCII letters folded to
/// lower case, then compared byte by byte), every value starting with `prefix` in any ASCII case:
/// `low` is the folded prefix and `high` the same with its last character incremented (folding
/// never lowers a character, so the folded `high` stays above every match). `None` for an empty
/// prefix, or one made only of the last Unicode scalar value, where there is no upper bound.
pub fn nocase_prefix_bounds(prefix: &str) -> Option<(String, String)> {
    let low = prefix.to_ascii_lowercase();
    let mut high: Vec<char> = low.chars().collect();
    while let Some(last) = high.pop() {
        let next = match last as u32 + 1 {
            // The surrogate range holds no characters.
            0xD800 => Some('\u{E000}'),
            n => char::from_u32(n),
        };
        if let Some(next) = next {
            high.push(next);
            return Some((low, high.into_iter().collect()));
        }
    }
    None
}

/// A `LIKE` pattern for `text` with `%`, `_` and `\` escaped by `\` (use with `ESCAPE '\'`).
pub fn like_pattern(text: &str, anchor: Anchor) -> String {
    let mut escaped = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    anchored(escaped, anchor, '%')
}

/// A SQLite `GLOB` pattern for `text`, with `*`, `?` and `[` made literal by bracketing them.
pub fn glob_pattern(text: &str, anchor: Anchor) -> String {
    let mut escaped = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        match c {
            '*' | '?' | '[' => {
                escaped.push('[');
                escaped.push(c);
                escaped.push(']');
            }
            c => escaped.push(c),
        }
    }
    anchored(escaped, anchor, '*')
}

fn anchored(escaped: String, anchor: Anchor, wildcard: char) -> String {
    match anchor {
        Anchor::Prefix => format!("{escaped}{wildcard}"),
        Anchor::Suffix => format!("{wildcard}{escaped}"),
        Anchor::Contains => format!("{wildcard}{escaped}{wildcard}"),
    }
}

/// Pushes `value` and returns its placeholder.
fn bind(dialect: &dyn Dialect, params: &mut Vec<SqlValue>, value: SqlValue) -> String {
    params.push(value);
    dialect.placeholder(params.len())
}

/// The caller's table alias goes into SQL verbatim, so it must be a plain identifier.
fn check_alias(alias: &str) -> Result<(), ODataError> {
    let valid = alias
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && alias.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(ODataError::new(
            ErrorKind::Unsupported,
            format!("'{alias}' is not a valid SQL table alias"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(
            like_pattern("50%_off\\", Anchor::Prefix),
            "50\\%\\_off\\\\%"
        );
        assert_eq!(like_pattern("a", Anchor::Suffix), "%a");
        assert_eq!(like_pattern("a", Anchor::Contains), "%a%");
    }

    #[test]
    fn glob_patterns_bracket_wildcards() {
        assert_eq!(glob_pattern("a*b?[c]", Anchor::Contains), "*a[*]b[?][[]c]*");
    }

    #[test]
    fn placeholders() {
        assert_eq!(Sqlite.placeholder(3), "?3");
        assert_eq!(Postgres.placeholder(3), "$3");
    }

    #[test]
    fn aliases_must_be_identifiers() {
        assert!(check_alias("c").is_ok());
        assert!(check_alias("_t1").is_ok());
        for bad in ["", "1c", "c d", "c;--", "c.d"] {
            assert!(check_alias(bad).is_err(), "{bad}");
        }
    }
}
