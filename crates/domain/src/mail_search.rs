//! `$search` on messages: Outlook's KQL, checked and compiled to what the store runs. Words,
//! phrases and the text prefixes (`subject:`, `body:`, `from:`, `to:`, `cc:`, `bcc:`,
//! `recipients:`, `participants:`) become one FTS5 MATCH string per text-only subtree; the
//! property prefixes that are not text (`received:`, `sent:`, `hasAttachment:`, `importance:`,
//! `kind:`, `size:`) become predicates on the message row. The store binds every value as a
//! parameter: nothing here is SQL.

use switchboard_odata::ast::{Search, SearchTerm};
use switchboard_odata::sql::fts5_match_columns;
use time::{Date, Month};

use crate::error::{Error, Family};

/// The text prefixes and the FTS5 columns behind them.
const SEARCH_COLUMNS: &[(&str, &str)] = &[
    ("subject", "subject"),
    ("body", "body"),
    ("from", "sender"),
    ("to", "recipients"),
    ("cc", "recipients"),
    ("bcc", "recipients"),
    ("recipients", "recipients"),
];

/// `kind:` values KQL knows; only `email` matches a message of a mailbox's mail.
const KINDS: &[&str] = &[
    "email",
    "meetings",
    "tasks",
    "notes",
    "docs",
    "spreadsheets",
    "presentations",
    "im",
    "voicemail",
    "contacts",
    "faxes",
    "journals",
    "posts",
    "rssfeeds",
    "instantmessages",
];

const DAY_MS: i64 = 86_400_000;

/// A message column a range applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeField {
    /// `receivedDateTime`, epoch ms.
    Received,
    /// `sentDateTime`, epoch ms (a draft's is its creation time, as Graph's).
    Sent,
    /// The message's size in bytes: its body and its attachments.
    Size,
}

/// A compiled `$search`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailSearch {
    /// An FTS5 MATCH string over the `mail_search` index.
    Text(String),
    /// `from <= field < to`, either end open.
    Range {
        /// The column.
        field: RangeField,
        /// Inclusive lower bound.
        from: Option<i64>,
        /// Exclusive upper bound.
        to: Option<i64>,
    },
    /// `hasAttachments` is this.
    HasAttachments(bool),
    /// `importance` is this (`low`, `normal`, `high`).
    Importance(&'static str),
    /// Every message (`true`) or none.
    Constant(bool),
    /// All of these.
    And(Vec<MailSearch>),
    /// Any of these.
    Or(Vec<MailSearch>),
    /// Not this.
    Not(Box<MailSearch>),
}

fn bad(message: impl Into<String>) -> Error {
    Error::bad_request(Family::Outlook, message)
}

/// Compiles a parsed `$search` (`now_ms` for `today` and `yesterday`).
pub fn compile(search: &Search, now_ms: i64) -> Result<MailSearch, Error> {
    if is_text(search) {
        return text(search);
    }
    node(search, now_ms)
}

fn node(search: &Search, now_ms: i64) -> Result<MailSearch, Error> {
    if is_text(search) && !matches!(search, Search::Not(_)) {
        return text(search);
    }
    let all = |items: &[Search]| -> Result<Vec<MailSearch>, Error> {
        items.iter().map(|s| node(s, now_ms)).collect()
    };
    Ok(match search {
        Search::Term(term) => {
            predicate(term, now_ms)?.ok_or_else(|| bad("A search term could not be compiled."))?
        }
        Search::And(items) => MailSearch::And(all(items)?),
        Search::Or(items) => MailSearch::Or(all(items)?),
        Search::Not(inner) => MailSearch::Not(Box::new(node(inner, now_ms)?)),
    })
}

/// A subtree of words and text prefixes only, as one FTS5 string (`participants:` spelled out
/// as `from:` or `recipients:`).
fn text(search: &Search) -> Result<MailSearch, Error> {
    fts5_match_columns(&spell_out(search), SEARCH_COLUMNS)
        .map(MailSearch::Text)
        .map_err(|e| bad(e.to_string()))
}

fn spell_out(search: &Search) -> Search {
    match search {
        Search::Term(t)
            if t.property
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case("participants")) =>
        {
            let restricted = |p: &str| {
                Search::Term(SearchTerm {
                    property: Some(p.to_string()),
                    ..t.clone()
                })
            };
            Search::Or(vec![restricted("from"), restricted("recipients")])
        }
        Search::Term(t) => Search::Term(t.clone()),
        Search::And(items) => Search::And(items.iter().map(spell_out).collect()),
        Search::Or(items) => Search::Or(items.iter().map(spell_out).collect()),
        Search::Not(inner) => Search::Not(Box::new(spell_out(inner))),
    }
}

fn is_text(search: &Search) -> bool {
    match search {
        Search::Term(t) => predicate_name(t).is_none(),
        Search::And(items) | Search::Or(items) => items.iter().all(is_text),
        Search::Not(inner) => is_text(inner),
    }
}

/// The non-text property a term names and the condition after it: `received:2024-01-01`, or a
/// word written with a comparison, `received>=2024-01-01` (KQL's form).
fn predicate_name(term: &SearchTerm) -> Option<(&'static str, String)> {
    const NAMES: &[&str] = &[
        "received",
        "sent",
        "size",
        "hasattachment",
        "hasattachments",
        "importance",
        "kind",
    ];
    if let Some(p) = &term.property {
        return NAMES
            .iter()
            .find(|n| n.eq_ignore_ascii_case(p))
            .map(|n| (*n, term.text.clone()));
    }
    if term.phrase {
        return None;
    }
    let cut = term.text.find(['<', '>', '='])?;
    let (name, condition) = term.text.split_at(cut);
    ["received", "sent", "size"]
        .iter()
        .find(|n| n.eq_ignore_ascii_case(name))
        .map(|n| (*n, condition.to_string()))
}

fn predicate(term: &SearchTerm, now_ms: i64) -> Result<Option<MailSearch>, Error> {
    let Some((name, condition)) = predicate_name(term) else {
        return Ok(None);
    };
    let condition = condition.trim();
    let value = condition.to_ascii_lowercase();
    Ok(Some(match name {
        "received" | "sent" => {
            let field = if name == "received" {
                RangeField::Received
            } else {
                RangeField::Sent
            };
            let (from, to) = range(condition, |v| date(v, now_ms), name)?;
            MailSearch::Range { field, from, to }
        }
        "size" => {
            let (from, to) = range(condition, size, name)?;
            MailSearch::Range {
                field: RangeField::Size,
                from,
                to,
            }
        }
        "hasattachment" | "hasattachments" => match value.as_str() {
            "true" | "yes" => MailSearch::HasAttachments(true),
            "false" | "no" => MailSearch::HasAttachments(false),
            _ => {
                return Err(bad(format!(
                    "'hasAttachment:{condition}' is not supported: use true or false."
                )));
            }
        },
        "importance" => MailSearch::Importance(match value.as_str() {
            "low" => "low",
            "medium" | "normal" => "normal",
            "high" => "high",
            _ => {
                return Err(bad(format!(
                    "'importance:{condition}' is not supported: use low, medium or high."
                )));
            }
        }),
        _ => match KINDS.iter().find(|k| **k == value) {
            Some(k) => MailSearch::Constant(*k == "email"),
            None => {
                return Err(bad(format!(
                    "'kind:{condition}' is not a KQL kind (email, meetings, im, voicemail, …)."
                )));
            }
        },
    }))
}

/// A KQL condition on an ordered value: `v`, `=v`, `>v`, `>=v`, `<v`, `<=v` or `a..b`, where
/// `value` gives each value's half-open span `[start, end)` (a whole day for a date).
fn range(
    condition: &str,
    value: impl Fn(&str) -> Option<(i64, i64)>,
    name: &str,
) -> Result<(Option<i64>, Option<i64>), Error> {
    let unsupported = || {
        bad(format!(
            "'{name}' takes a value, a comparison (>, >=, <, <=) or a range (a..b); '{condition}' is not supported."
        ))
    };
    let one = |text: &str| value(text.trim()).ok_or_else(unsupported);
    let condition = condition.strip_prefix(':').unwrap_or(condition).trim();
    if let Some((a, b)) = condition.split_once("..") {
        let (start, _) = one(a)?;
        let (_, end) = one(b)?;
        return Ok((Some(start), Some(end)));
    }
    for (op, make) in [
        (">=", (|(s, _)| (Some(s), None)) as fn((i64, i64)) -> _),
        ("<=", |(_, e)| (None, Some(e))),
        (">", |(_, e)| (Some(e), None)),
        ("<", |(s, _)| (None, Some(s))),
        ("=", |(s, e)| (Some(s), Some(e))),
    ] {
        if let Some(rest) = condition.strip_prefix(op) {
            return Ok(make(one(rest)?));
        }
    }
    let (s, e) = one(condition)?;
    Ok((Some(s), Some(e)))
}

/// A date (`2024-05-01`, `5/1/2024` as KQL's US form, `today`, `yesterday`) as its UTC day, or an
/// RFC 3339 date-time as its second.
fn date(text: &str, now_ms: i64) -> Option<(i64, i64)> {
    let lower = text.to_ascii_lowercase();
    let today = now_ms.div_euclid(DAY_MS) * DAY_MS;
    match lower.as_str() {
        "today" => return Some((today, today + DAY_MS)),
        "yesterday" => return Some((today - DAY_MS, today)),
        _ => {}
    }
    if text.contains('T') || text.contains('t') {
        let at = crate::graph_time::parse(text)?;
        return Some((at, at + 1000));
    }
    let (y, m, d) = if let Some((y, rest)) = text.split_once('-') {
        let (m, d) = rest.split_once('-')?;
        (y, m, d)
    } else {
        let mut parts = text.split('/');
        let (m, d, y) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        (y, m, d)
    };
    let all_digits =
        |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
    if !(all_digits(y) && y.len() == 4 && all_digits(m) && all_digits(d)) {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    let day = Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()?;
    let start = day.midnight().assume_utc().unix_timestamp() * 1000;
    Some((start, start + DAY_MS))
}

/// A size in bytes (`2048`, or with `KB`/`MB`), as the span of that one value.
fn size(text: &str) -> Option<(i64, i64)> {
    let lower = text.to_ascii_lowercase();
    let (digits, unit) = match lower.strip_suffix("kb") {
        Some(d) => (d, 1024),
        None => match lower.strip_suffix("mb") {
            Some(d) => (d, 1024 * 1024),
            None => (lower.as_str(), 1),
        },
    };
    let n: i64 = digits.trim().parse().ok().filter(|n| *n >= 0)?;
    let n = n.checked_mul(unit)?;
    Some((n, n + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_odata::{Limits, parse_search};

    const NOW: i64 = 1_714_560_000_000 + 3_600_000; // 2024-05-01T01:00:00Z
    const MAY_1: i64 = 1_714_521_600_000; // 2024-05-01T00:00:00Z

    fn compiled(text: &str) -> Result<MailSearch, Error> {
        compile(&parse_search(text, &Limits::default()).unwrap(), NOW)
    }

    fn received(from: Option<i64>, to: Option<i64>) -> MailSearch {
        MailSearch::Range {
            field: RangeField::Received,
            from,
            to,
        }
    }

    #[test]
    fn text_only_searches_are_one_match() {
        assert_eq!(
            compiled("subject:report AND budget").unwrap(),
            MailSearch::Text("((subject : \"report\") AND \"budget\")".into())
        );
        assert_eq!(
            compiled("participants:adele").unwrap(),
            MailSearch::Text("((sender : \"adele\") OR (recipients : \"adele\"))".into())
        );
    }

    #[test]
    fn dates_comparisons_and_ranges() {
        let may_2 = MAY_1 + DAY_MS;
        assert_eq!(
            compiled("received:2024-05-01").unwrap(),
            received(Some(MAY_1), Some(may_2))
        );
        assert_eq!(
            compiled("received:5/1/2024").unwrap(),
            received(Some(MAY_1), Some(may_2))
        );
        assert_eq!(
            compiled("received>=2024-05-01").unwrap(),
            received(Some(MAY_1), None)
        );
        assert_eq!(
            compiled("received:>2024-05-01").unwrap(),
            received(Some(may_2), None)
        );
        assert_eq!(
            compiled("received<2024-05-01").unwrap(),
            received(None, Some(MAY_1))
        );
        assert_eq!(
            compiled("received<=2024-05-01").unwrap(),
            received(None, Some(may_2))
        );
        assert_eq!(
            compiled("received:2024-04-30..2024-05-01").unwrap(),
            received(Some(MAY_1 - DAY_MS), Some(may_2))
        );
        assert_eq!(
            compiled("received:today").unwrap(),
            received(Some(MAY_1), Some(may_2))
        );
        assert_eq!(
            compiled("received:yesterday").unwrap(),
            received(Some(MAY_1 - DAY_MS), Some(MAY_1))
        );
        assert_eq!(
            compiled("sent>=2024-05-01T00:00:00Z").unwrap(),
            MailSearch::Range {
                field: RangeField::Sent,
                from: Some(MAY_1),
                to: None
            }
        );
        assert_eq!(
            compiled("size>1KB").unwrap(),
            MailSearch::Range {
                field: RangeField::Size,
                from: Some(1025),
                to: None
            }
        );
        assert_eq!(
            compiled("size:1..500000").unwrap(),
            MailSearch::Range {
                field: RangeField::Size,
                from: Some(1),
                to: Some(500_001)
            }
        );
    }

    #[test]
    fn predicates_mix_with_text() {
        assert_eq!(
            compiled("hasAttachment:true AND report NOT kind:meetings").unwrap(),
            MailSearch::And(vec![
                MailSearch::HasAttachments(true),
                MailSearch::Text("\"report\"".into()),
                MailSearch::Not(Box::new(MailSearch::Constant(false))),
            ])
        );
        assert_eq!(
            compiled("importance:medium OR spam").unwrap(),
            MailSearch::Or(vec![
                MailSearch::Importance("normal"),
                MailSearch::Text("\"spam\"".into()),
            ])
        );
        assert_eq!(
            compiled("kind:email received>=2024-05-01 NOT spam").unwrap(),
            MailSearch::And(vec![
                MailSearch::Constant(true),
                received(Some(MAY_1), None),
                MailSearch::Not(Box::new(MailSearch::Text("\"spam\"".into()))),
            ])
        );
        // A phrase that looks like a comparison is text.
        assert_eq!(
            compiled("\"\\\"size>5\\\"\"").unwrap(),
            MailSearch::Text("\"size>5\"".into())
        );
    }

    #[test]
    fn unsupported_kql_is_a_bad_request() {
        for text in [
            "received:lastweek",
            "received:2024-13-01",
            "received:2024-05-01..",
            "received<>2024-05-01",
            "sent:5/1",
            "hasAttachment:maybe",
            "kind:dragons",
            "importance:urgent",
            "size:big",
            "size>-1",
            "attachment:report.pdf",
            "nonsense:x",
        ] {
            let e = compiled(text).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::BadRequest, "{text}");
        }
    }
}
