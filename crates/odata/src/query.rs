//! The query string of one request: splitting and percent-decoding it, recognising the system
//! query options however a client spells them, and parsing each option's value (the list
//! options `$select`, `$orderby` and `$expand` here; `$filter` and `$search` in their modules).

use crate::ast::{ExpandItem, NestedOptions, OrderBy};
use crate::error::{ErrorKind, ODataError};
use crate::filter::parse_filter;
use crate::limits::Limits;
use crate::search::parse_search;

/// The query options of one request, parsed.
///
/// Option names are matched case-insensitively, with or without the `$` (Kiota SDKs send it
/// percent-encoded as `%24`), so `$top`, `%24top`, `$TOP` and `top` are the same option.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryOptions {
    /// `$select`: property paths as written, e.g. `["displayName", "id"]`.
    pub select: Option<Vec<String>>,
    /// `$filter`.
    pub filter: Option<crate::ast::Expr>,
    /// `$orderby`, in priority order.
    pub orderby: Vec<OrderBy>,
    /// `$top`.
    pub top: Option<u64>,
    /// `$skip`.
    pub skip: Option<u64>,
    /// `$count`.
    pub count: Option<bool>,
    /// `$expand`.
    pub expand: Vec<ExpandItem>,
    /// `$search`.
    pub search: Option<crate::ast::Search>,
    /// `$skiptoken`, verbatim (it is opaque to this crate).
    pub skiptoken: Option<String>,
    /// `$deltatoken`, verbatim.
    pub deltatoken: Option<String>,
    /// Every decoded (name, value) pair in request order, system options and others, for
    /// building next links.
    pub raw: Vec<(String, String)>,
}

impl QueryOptions {
    /// Parses a raw query string (`$top=5&%24filter=…`, with or without the leading `?`).
    ///
    /// Unknown names without `$` are kept in [`QueryOptions::raw`] only; an unknown `$name`, a
    /// repeated system option or an invalid value is an error.
    pub fn parse(raw_query: &str, limits: &Limits) -> Result<QueryOptions, ODataError> {
        let raw_query = raw_query.strip_prefix('?').unwrap_or(raw_query);
        let mut options = NestedOptions::default();
        let mut query = QueryOptions::default();
        let mut seen = Vec::new();
        for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
            let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = percent_decode(raw_name)?;
            let value = percent_decode(raw_value)?;
            query.raw.push((name.clone(), value.clone()));
            let option = match classify(&name) {
                Name::System(option) => option,
                Name::UnknownSystem => {
                    return Err(ODataError::new(
                        ErrorKind::InvalidOption,
                        format!("Query option '{name}' is not supported."),
                    ));
                }
                Name::Custom => continue,
            };
            if seen.contains(&option) {
                return Err(ODataError::new(
                    ErrorKind::InvalidOption,
                    format!("Query option '{}' was specified more than once; it must be specified at most once.", option.name()),
                )
                .in_option(option.name()));
            }
            seen.push(option);
            if value.len() > limits.max_length {
                return Err(ODataError::new(
                    ErrorKind::LimitExceeded,
                    format!(
                        "the value is {} bytes long; the limit is {}",
                        value.len(),
                        limits.max_length
                    ),
                )
                .at(limits.max_length)
                .in_option(option.name()));
            }
            match option {
                SystemOption::SkipToken => query.skiptoken = Some(value),
                SystemOption::DeltaToken => query.deltatoken = Some(value),
                _ => apply(&mut options, option, &value, limits, 0)
                    .map_err(|e| e.in_option(option.name()))?,
            }
        }
        let NestedOptions {
            select,
            filter,
            orderby,
            top,
            skip,
            count,
            expand,
            search,
        } = options;
        Ok(QueryOptions {
            select,
            filter,
            orderby,
            top,
            skip,
            count,
            expand,
            search,
            ..query
        })
    }
}

/// The system query options this crate understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SystemOption {
    Select,
    Filter,
    OrderBy,
    Top,
    Skip,
    Count,
    Expand,
    Search,
    SkipToken,
    DeltaToken,
}

impl SystemOption {
    const ALL: [SystemOption; 10] = [
        SystemOption::Select,
        SystemOption::Filter,
        SystemOption::OrderBy,
        SystemOption::Top,
        SystemOption::Skip,
        SystemOption::Count,
        SystemOption::Expand,
        SystemOption::Search,
        SystemOption::SkipToken,
        SystemOption::DeltaToken,
    ];

    /// The canonical spelling, used in error messages.
    fn name(self) -> &'static str {
        match self {
            SystemOption::Select => "$select",
            SystemOption::Filter => "$filter",
            SystemOption::OrderBy => "$orderby",
            SystemOption::Top => "$top",
            SystemOption::Skip => "$skip",
            SystemOption::Count => "$count",
            SystemOption::Expand => "$expand",
            SystemOption::Search => "$search",
            SystemOption::SkipToken => "$skiptoken",
            SystemOption::DeltaToken => "$deltatoken",
        }
    }
}

enum Name {
    System(SystemOption),
    /// `$something` this crate does not know.
    UnknownSystem,
    /// A name without `$` that is not a system option: the application's own parameter.
    Custom,
}

fn classify(name: &str) -> Name {
    let (dollar, bare) = match name.strip_prefix('$') {
        Some(rest) => (true, rest),
        None => (false, name),
    };
    match SystemOption::ALL
        .into_iter()
        .find(|o| o.name()[1..].eq_ignore_ascii_case(bare))
    {
        Some(option) => Name::System(option),
        None if dollar => Name::UnknownSystem,
        None => Name::Custom,
    }
}

/// Decodes `%XX` escapes and `+` (a space in form encoding). A `%` not followed by two hex
/// digits is kept as it is, as browsers do; the result must be UTF-8.
fn percent_decode(text: &str) -> Result<String, ODataError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|h| (*h as char).to_digit(16));
        match b {
            b'+' => out.push(b' '),
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| {
        ODataError::new(
            ErrorKind::InvalidOption,
            "the query string is not valid UTF-8 once percent-decoded",
        )
    })
}

/// Parses one option's value into `options`. Errors carry positions in `value` and no option
/// name: the caller knows how to name it.
fn apply(
    options: &mut NestedOptions,
    option: SystemOption,
    value: &str,
    limits: &Limits,
    depth: usize,
) -> Result<(), ODataError> {
    match option {
        SystemOption::Select => options.select = Some(parse_select(value, limits)?),
        SystemOption::Filter => options.filter = Some(parse_filter(value, limits)?),
        SystemOption::OrderBy => options.orderby = parse_orderby(value, limits)?,
        SystemOption::Top => options.top = Some(parse_count_value(value, option)?),
        SystemOption::Skip => options.skip = Some(parse_count_value(value, option)?),
        SystemOption::Count => {
            options.count = Some(if value.eq_ignore_ascii_case("true") {
                true
            } else if value.eq_ignore_ascii_case("false") {
                false
            } else {
                return Err(ODataError::new(
                    ErrorKind::InvalidOption,
                    format!(
                        "Invalid value '{value}' for query option '$count': expected true or false."
                    ),
                ));
            });
        }
        SystemOption::Expand => options.expand = expand_at_depth(value, limits, depth)?,
        SystemOption::Search => options.search = Some(parse_search(value, limits)?),
        SystemOption::SkipToken | SystemOption::DeltaToken => {
            return Err(ODataError::new(
                ErrorKind::InvalidOption,
                format!(
                    "Query option '{}' is not supported inside $expand.",
                    option.name()
                ),
            ));
        }
    }
    Ok(())
}

/// `$top` and `$skip`: a non-negative integer.
fn parse_count_value(value: &str, option: SystemOption) -> Result<u64, ODataError> {
    let digits_only = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    match value.parse::<u64>() {
        Ok(n) if digits_only => Ok(n),
        _ => Err(ODataError::new(
            ErrorKind::InvalidOption,
            format!(
                "Invalid value '{value}' for query option '{}': expected a non-negative integer.",
                option.name()
            ),
        )),
    }
}

/// Splits `text` at `separator` where it is not inside parentheses or quotes. Returns each
/// piece with its byte offset in `text`.
fn split_top_level(text: &str, separator: u8) -> Result<Vec<(usize, &str)>, ODataError> {
    let mut pieces = Vec::new();
    let mut open_parens = Vec::new();
    let (mut in_single, mut in_double) = (false, false);
    let mut piece_start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' if in_double => i += 1,
            b'"' if !in_single => in_double = !in_double,
            b'\'' if !in_double => in_single = !in_single,
            _ if in_single || in_double => {}
            b'(' => open_parens.push(i),
            b')' => {
                let Some(_) = open_parens.pop() else {
                    return Err(ODataError::syntax(i, "unmatched ')'"));
                };
            }
            _ if b == separator && open_parens.is_empty() => {
                // `separator` is ASCII, so `i` is a character boundary.
                pieces.push((piece_start, text.get(piece_start..i).unwrap_or("")));
                piece_start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if let Some(&open) = open_parens.last() {
        return Err(ODataError::syntax(
            open,
            "'(' is never closed: expected ')'",
        ));
    }
    pieces.push((piece_start, text.get(piece_start..).unwrap_or("")));
    Ok(pieces)
}

/// The pieces of a comma list, trimmed, with their offsets; an empty piece is an error.
fn list_items<'t>(
    text: &'t str,
    limits: &Limits,
    what: &str,
) -> Result<Vec<(usize, &'t str)>, ODataError> {
    let pieces = split_top_level(text, b',')?;
    if pieces.len() > limits.max_nodes {
        return Err(ODataError::new(
            ErrorKind::LimitExceeded,
            format!("{what} may list at most {} items", limits.max_nodes),
        )
        .at(0));
    }
    pieces
        .into_iter()
        .map(|(offset, piece)| {
            let trimmed = piece.trim_start();
            let offset = offset + (piece.len() - trimmed.len());
            let trimmed = trimmed.trim_end();
            if trimmed.is_empty() {
                Err(ODataError::syntax(
                    offset,
                    format!("expected a property path in {what}"),
                ))
            } else {
                Ok((offset, trimmed))
            }
        })
        .collect()
}

/// `a/b/c`, or `*`: names of letters, digits, `_` and `.` (for qualified names).
fn check_path(path: &str, offset: usize) -> Result<(), ODataError> {
    let valid_segment = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    };
    if path == "*" || path.split('/').all(valid_segment) {
        Ok(())
    } else {
        Err(ODataError::syntax(
            offset,
            format!("'{path}' is not a property path"),
        ))
    }
}

/// `$select=displayName,id`.
pub fn parse_select(text: &str, limits: &Limits) -> Result<Vec<String>, ODataError> {
    list_items(text, limits, "$select")?
        .into_iter()
        .map(|(offset, item)| check_path(item, offset).map(|()| item.to_string()))
        .collect()
}

/// `$orderby=lastMessagePreview/createdDateTime desc,id`.
pub fn parse_orderby(text: &str, limits: &Limits) -> Result<Vec<OrderBy>, ODataError> {
    list_items(text, limits, "$orderby")?
        .into_iter()
        .map(|(offset, item)| {
            let mut words = item.split_whitespace();
            let path = words.next().unwrap_or_default();
            check_path(path, offset)?;
            let descending = match words.next() {
                None => false,
                Some(d) if d.eq_ignore_ascii_case("asc") => false,
                Some(d) if d.eq_ignore_ascii_case("desc") => true,
                Some(other) => {
                    return Err(ODataError::syntax(
                        offset + item.find(other).unwrap_or(0),
                        format!("expected 'asc' or 'desc' after '{path}' but found '{other}'"),
                    ));
                }
            };
            if let Some(extra) = words.next() {
                return Err(ODataError::syntax(
                    offset + item.rfind(extra).unwrap_or(0),
                    format!("unexpected '{extra}' in $orderby; separate items with ','"),
                ));
            }
            Ok(OrderBy {
                path: path.to_string(),
                descending,
            })
        })
        .collect()
}

/// `$expand=members($select=id,displayName;$top=5),lastMessagePreview`.
pub fn parse_expand(text: &str, limits: &Limits) -> Result<Vec<ExpandItem>, ODataError> {
    expand_at_depth(text, limits, 0)
}

/// [`parse_expand`] for an `$expand` nested in `depth` others.
fn expand_at_depth(
    text: &str,
    limits: &Limits,
    depth: usize,
) -> Result<Vec<ExpandItem>, ODataError> {
    if depth >= limits.max_depth {
        return Err(ODataError::new(
            ErrorKind::LimitExceeded,
            format!(
                "$expand is nested more than {} levels deep",
                limits.max_depth
            ),
        )
        .at(0));
    }
    list_items(text, limits, "$expand")?
        .into_iter()
        .map(|(offset, item)| {
            let Some(open) = item.find('(') else {
                check_path(item, offset)?;
                return Ok(ExpandItem {
                    path: item.to_string(),
                    options: Box::default(),
                });
            };
            let path = item[..open].trim_end();
            check_path(path, offset)?;
            // `list_items` trimmed the item and `split_top_level` balanced its parentheses, so
            // the `(` found first is closed by the item's last character.
            let Some(inner) = item
                .get(open + 1..item.len() - 1)
                .filter(|_| item.ends_with(')'))
            else {
                return Err(ODataError::syntax(
                    offset + open,
                    "expected the options of an expanded property to end with ')'",
                ));
            };
            let inner_offset = offset + open + 1;
            let options = parse_nested_options(inner, limits, depth)
                .map_err(|e| e.shifted(inner_offset))
                .map_err(|mut e| {
                    e.message = format!("{} (in the options of expanded '{path}')", e.message);
                    e
                })?;
            Ok(ExpandItem {
                path: path.to_string(),
                options: Box::new(options),
            })
        })
        .collect()
}

/// `$select=id;$top=5` inside `$expand=nav(…)`.
fn parse_nested_options(
    text: &str,
    limits: &Limits,
    depth: usize,
) -> Result<NestedOptions, ODataError> {
    let mut options = NestedOptions::default();
    let mut seen = Vec::new();
    if text.trim().is_empty() {
        return Ok(options);
    }
    for (offset, piece) in split_top_level(text, b';')? {
        let piece = piece.trim_end();
        let Some((name, value)) = piece.split_once('=') else {
            return Err(ODataError::syntax(
                offset,
                format!("expected 'name=value' but found '{}'", piece.trim()),
            ));
        };
        let name = name.trim();
        let option = match classify(name) {
            Name::System(option)
                if !matches!(option, SystemOption::SkipToken | SystemOption::DeltaToken) =>
            {
                option
            }
            _ => {
                return Err(ODataError::new(
                    ErrorKind::InvalidOption,
                    format!("Query option '{name}' is not supported inside $expand."),
                )
                .at(offset));
            }
        };
        if seen.contains(&option) {
            return Err(ODataError::new(
                ErrorKind::InvalidOption,
                format!(
                    "Query option '{}' was specified more than once.",
                    option.name()
                ),
            )
            .at(offset));
        }
        seen.push(option);
        let value_offset = offset + piece.len() - value.len();
        apply(&mut options, option, value, limits, depth + 1)
            .map_err(|e| e.shifted(value_offset))?;
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{ExprKind, Search, SearchTerm};

    fn parse(query: &str) -> QueryOptions {
        QueryOptions::parse(query, &Limits::default()).unwrap_or_else(|e| panic!("{query}: {e}"))
    }

    #[test]
    fn only_select_inside_an_expand() {
        let select_only = &parse("$expand=attachments($select=name,size)").expand[0].options;
        assert!(!select_only.has_more_than_select());
        for nested in [
            "$top=1",
            "$filter=size gt 1",
            "$orderby=name",
            "$count=true",
            "$skip=1",
        ] {
            let q = parse(&format!("$expand=attachments($select=name;{nested})"));
            assert!(q.expand[0].options.has_more_than_select(), "{nested}");
        }
    }

    fn fail(query: &str) -> ODataError {
        QueryOptions::parse(query, &Limits::default()).unwrap_err()
    }

    #[test]
    fn every_system_option() {
        let q = parse(
            "$select=displayName,id&$filter=startswith(displayName,'a')&$orderby=displayName desc,id\
             &$top=5&$skip=10&$count=true&$expand=members&$search=%22displayName:wa%22\
             &$skiptoken=abc&$deltatoken=def",
        );
        assert_eq!(
            q.select,
            Some(vec!["displayName".to_string(), "id".to_string()])
        );
        assert!(matches!(
            q.filter.as_ref().map(|f| &f.kind),
            Some(ExprKind::Call { .. })
        ));
        assert_eq!(
            q.orderby,
            [
                OrderBy {
                    path: "displayName".into(),
                    descending: true
                },
                OrderBy {
                    path: "id".into(),
                    descending: false
                }
            ]
        );
        assert_eq!((q.top, q.skip, q.count), (Some(5), Some(10), Some(true)));
        assert_eq!(q.expand.len(), 1);
        assert_eq!(q.expand[0].path, "members");
        assert_eq!(*q.expand[0].options, NestedOptions::default());
        assert_eq!(
            q.search,
            Some(Search::Term(SearchTerm {
                property: Some("displayName".into()),
                text: "wa".into(),
                phrase: false
            }))
        );
        assert_eq!(q.skiptoken.as_deref(), Some("abc"));
        assert_eq!(q.deltatoken.as_deref(), Some("def"));
        assert_eq!(q.raw.len(), 10);
        assert_eq!(
            q.raw[7],
            ("$search".to_string(), "\"displayName:wa\"".to_string())
        );
    }

    #[test]
    fn option_names_in_any_spelling() {
        for query in [
            "$top=3", "%24top=3", "$TOP=3", "%24Top=3", "top=3", "?$top=3",
        ] {
            assert_eq!(parse(query).top, Some(3), "{query}");
        }
        assert_eq!(parse("$orderBy=a").orderby.len(), 1);
        assert!(parse("%24orderby=a%20desc").orderby[0].descending);
        assert_eq!(
            parse("%24FILTER=a+eq+1").filter.map(|f| f.to_string()),
            Some("a eq 1".into())
        );
    }

    #[test]
    fn custom_parameters_are_kept_raw() {
        let q = parse("includeHiddenFolders=true&$top=1&api-version=2&flag");
        assert_eq!(
            q.raw,
            [
                ("includeHiddenFolders".to_string(), "true".to_string()),
                ("$top".to_string(), "1".to_string()),
                ("api-version".to_string(), "2".to_string()),
                ("flag".to_string(), String::new()),
            ]
        );
    }

    #[test]
    fn unknown_dollar_options_are_rejected() {
        let e = fail("$levels=2");
        assert_eq!(e.kind, ErrorKind::InvalidOption);
        assert_eq!(e.message, "Query option '$levels' is not supported.");
        assert_eq!(
            fail("%24format=json").message,
            "Query option '$format' is not supported."
        );
    }

    #[test]
    fn duplicates_are_rejected_in_any_spelling() {
        for query in [
            "$top=1&$top=2",
            "$top=1&top=2",
            "%24TOP=1&$top=1",
            "$filter=a eq 1&$Filter=b eq 2",
        ] {
            let e = fail(query);
            assert_eq!(e.kind, ErrorKind::InvalidOption, "{query}");
            assert!(e.message.contains("more than once"), "{e}");
        }
    }

    #[test]
    fn top_skip_and_count_values() {
        for bad in ["-1", "abc", "1.5", "", " 1", "+1", "99999999999999999999"] {
            let e = fail(&format!("$top={bad}"));
            assert_eq!(e.kind, ErrorKind::InvalidOption, "{bad}");
            assert_eq!(e.option(), Some("$top"));
        }
        assert_eq!(fail("$skip=x").option(), Some("$skip"));
        assert_eq!(parse("$count=TRUE").count, Some(true));
        assert_eq!(parse("$count=False").count, Some(false));
        assert_eq!(fail("$count=1").kind, ErrorKind::InvalidOption);
        assert_eq!(parse("$top=0").top, Some(0));
    }

    #[test]
    fn percent_decoding() {
        let q = parse("$filter=subject%20eq%20%27caf%C3%A9%20%26%20co%27");
        assert_eq!(q.filter.unwrap().to_string(), "subject eq 'café & co'");
        let q = parse("$filter=subject+eq+'a+b'");
        assert_eq!(q.filter.unwrap().to_string(), "subject eq 'a b'");
        let q = parse("x=100%&y=%zz");
        assert_eq!(q.raw[0].1, "100%");
        assert_eq!(q.raw[1].1, "%zz");
        assert_eq!(fail("$filter=%FF").kind, ErrorKind::InvalidOption);
    }

    #[test]
    fn quotes_with_doubled_apostrophes() {
        let q = parse("$filter=subject eq 'let''s meet'");
        let Some(ExprKind::Compare { right, .. }) = q.filter.map(|f| f.kind) else {
            panic!()
        };
        assert_eq!(
            right.kind,
            ExprKind::Literal(crate::ast::Literal::String("let's meet".into()))
        );
    }

    #[test]
    fn errors_name_the_option_and_position() {
        let e = fail("$filter=(a eq 1");
        assert_eq!(
            e.to_string(),
            "Syntax error at position 7 in '$filter': expected ')' but found the end of the text"
        );
        let e = fail("$select=a,,b");
        assert_eq!(
            (e.kind, e.position, e.option()),
            (ErrorKind::Syntax, Some(2), Some("$select"))
        );
        let e = fail("$orderby=a sideways");
        assert_eq!(e.position, Some(2));
        let e = fail("$orderby=a desc b");
        assert!(e.message.contains("unexpected 'b'"));
        assert_eq!(fail("$select=a b").kind, ErrorKind::Syntax);
        assert_eq!(fail("$select=").kind, ErrorKind::Syntax);
        assert_eq!(fail("$filter=").kind, ErrorKind::Syntax);
        assert_eq!(fail("$search=").kind, ErrorKind::Syntax);
    }

    #[test]
    fn oversize_values() {
        let limits = Limits::default();
        let long = "a".repeat(limits.max_length + 1);
        for option in [
            "$filter",
            "$select",
            "$search",
            "$skiptoken",
            "$orderby",
            "$expand",
        ] {
            let e = fail(&format!("{option}={long}"));
            assert_eq!(e.kind, ErrorKind::LimitExceeded, "{option}");
            assert_eq!(e.option(), Some(option));
        }
        // Custom parameters are the application's business.
        assert!(QueryOptions::parse(&format!("note={long}"), &limits).is_ok());
    }

    #[test]
    fn select_and_orderby_lists() {
        assert_eq!(
            parse("$select= id , displayName").select.unwrap(),
            ["id", "displayName"]
        );
        assert_eq!(parse("$select=*").select.unwrap(), ["*"]);
        assert_eq!(
            parse("$select=from/emailAddress").select.unwrap(),
            ["from/emailAddress"]
        );
        let q =
            parse("$orderby=lastMessagePreview/createdDateTime DESC, from/emailAddress/name asc");
        assert_eq!(
            q.orderby,
            [
                OrderBy {
                    path: "lastMessagePreview/createdDateTime".into(),
                    descending: true
                },
                OrderBy {
                    path: "from/emailAddress/name".into(),
                    descending: false
                },
            ]
        );
    }

    #[test]
    fn nested_expand_options() {
        let q = parse(
            "$expand=members($select=id,displayName;$top=5;$filter=displayName eq 'a;b,c'),lastMessagePreview",
        );
        assert_eq!(q.expand.len(), 2);
        let members = &q.expand[0];
        assert_eq!(members.path, "members");
        assert_eq!(
            members.options.select,
            Some(vec!["id".to_string(), "displayName".to_string()])
        );
        assert_eq!(members.options.top, Some(5));
        assert_eq!(
            members.options.filter.as_ref().unwrap().to_string(),
            "displayName eq 'a;b,c'"
        );
        assert_eq!(q.expand[1].path, "lastMessagePreview");

        let q = parse("$expand=teamsAppDefinition($expand=bot)");
        assert_eq!(q.expand[0].options.expand[0].path, "bot");

        let q = parse("$expand=a(select=x;ORDERBY=y desc;%24count=true;$skip=1;$search=\"b;c\")");
        let o = &q.expand[0].options;
        assert_eq!(o.select.as_deref(), Some(&["x".to_string()][..]));
        assert!(o.orderby[0].descending);
        assert_eq!((o.count, o.skip), (Some(true), Some(1)));
        assert!(o.search.is_some());

        let q = parse("$expand=a(),b( $top=1 )");
        assert_eq!(q.expand[1].options.top, Some(1));
    }

    #[test]
    fn nested_expand_errors_point_into_the_expand_value() {
        let e = fail("$expand=members($filter=(x eq 1)");
        assert_eq!(
            (e.kind, e.position, e.option()),
            (ErrorKind::Syntax, Some(7), Some("$expand"))
        );

        let e = fail("$expand=members($filter=x eq 'a' and)");
        assert_eq!(
            (e.kind, e.position, e.option()),
            (ErrorKind::Syntax, Some(28), Some("$expand"))
        );
        assert!(e.message.contains("expanded 'members'"), "{e}");

        let e = fail("$expand=members($top=1;$top=2)");
        assert_eq!(e.kind, ErrorKind::InvalidOption);
        let e = fail("$expand=members($levels=2)");
        assert_eq!((e.kind, e.position), (ErrorKind::InvalidOption, Some(8)));
        assert_eq!(
            fail("$expand=members($skiptoken=x)").kind,
            ErrorKind::InvalidOption
        );
        assert_eq!(fail("$expand=members($top)").kind, ErrorKind::Syntax);
        assert_eq!(fail("$expand=members)").position, Some(7));
        assert_eq!(fail("$expand=members(x)y").kind, ErrorKind::Syntax);
    }

    #[test]
    fn deep_expand_nesting_is_limited() {
        let limits = Limits {
            max_length: usize::MAX,
            ..Limits::default()
        };
        let value = format!("{}x{}", "a($expand=".repeat(10_000), ")".repeat(10_000));
        let e = QueryOptions::parse(&format!("$expand={value}"), &limits).unwrap_err();
        assert_eq!(e.kind, ErrorKind::LimitExceeded);
    }
}
