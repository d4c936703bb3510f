//! Property tests of the whole pipeline: parsing never panics, printed expressions parse back
//! to the same tree, and compiled SQL binds every literal (so no literal text reaches the SQL).

use proptest::prelude::*;
use switchboard_odata::ast::{
    CompareOp, Expr, ExprKind, Function, Lambda, LambdaBody, LambdaKind, Literal, MemberPath,
    Search, SearchTerm, Span,
};
use switchboard_odata::sql::{
    Dialect, Postgres, SortKey, SqlValue, Sqlite, compile_filter, compile_search_like, fts5_match,
    keyset_after, nocase_prefix_bounds,
};
use switchboard_odata::testing::{CHAT, MEMBER, only_quoted_terms};
use switchboard_odata::{Limits, QueryOptions, parse_filter, parse_search};
use time::{OffsetDateTime, UtcOffset};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn e(kind: ExprKind) -> Expr {
    Expr::new(kind)
}

fn member(segments: &[&str]) -> Expr {
    e(ExprKind::Member(MemberPath::new(segments.iter().copied())))
}

fn lit(l: Literal) -> Expr {
    e(ExprKind::Literal(l))
}

/// Spans differ between a tree built in code and the same tree parsed from text.
fn erase_spans(expr: &mut Expr) {
    expr.span = Span::default();
    match &mut expr.kind {
        ExprKind::Literal(_) | ExprKind::Member(_) => {}
        ExprKind::Compare { left, right, .. }
        | ExprKind::And(left, right)
        | ExprKind::Or(left, right) => {
            erase_spans(left);
            erase_spans(right);
        }
        ExprKind::In { operand, items } => {
            erase_spans(operand);
            items.iter_mut().for_each(erase_spans);
        }
        ExprKind::Not(inner) => erase_spans(inner),
        ExprKind::Call { args, .. } => args.iter_mut().for_each(erase_spans),
        ExprKind::Lambda(lambda) => {
            if let Some(body) = &mut lambda.body {
                erase_spans(&mut body.predicate);
            }
        }
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The text of every string literal in the tree.
fn string_literals(expr: &Expr) -> Vec<String> {
    fn walk(expr: &Expr, out: &mut Vec<String>) {
        match &expr.kind {
            ExprKind::Literal(Literal::String(s)) => out.push(s.clone()),
            ExprKind::Literal(_) | ExprKind::Member(_) => {}
            ExprKind::Compare { left, right, .. }
            | ExprKind::And(left, right)
            | ExprKind::Or(left, right) => {
                walk(left, out);
                walk(right, out);
            }
            ExprKind::In { operand, items } => {
                walk(operand, out);
                items.iter().for_each(|i| walk(i, out));
            }
            ExprKind::Not(inner) => walk(inner, out),
            ExprKind::Call { args, .. } => args.iter().for_each(|a| walk(a, out)),
            ExprKind::Lambda(lambda) => {
                if let Some(body) = &lambda.body {
                    walk(&body.predicate, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(expr, &mut out);
    out
}

/// The tree with every string literal's text replaced by `x`.
fn with_plain_strings(expr: &Expr) -> Expr {
    fn walk(expr: &mut Expr) {
        match &mut expr.kind {
            // A prefix with no range bounds (empty, or only U+10FFFF) compiles without the
            // range: the one thing about a string the SQL text may depend on.
            ExprKind::Literal(Literal::String(s)) if nocase_prefix_bounds(s).is_none() => {}
            ExprKind::Literal(Literal::String(s)) => *s = "x".to_string(),
            ExprKind::Literal(_) | ExprKind::Member(_) => {}
            ExprKind::Compare { left, right, .. }
            | ExprKind::And(left, right)
            | ExprKind::Or(left, right) => {
                walk(left);
                walk(right);
            }
            ExprKind::In { operand, items } => {
                walk(operand);
                items.iter_mut().for_each(walk);
            }
            ExprKind::Not(inner) => walk(inner),
            ExprKind::Call { args, .. } => args.iter_mut().for_each(walk),
            ExprKind::Lambda(lambda) => {
                if let Some(body) = &mut lambda.body {
                    walk(&mut body.predicate);
                }
            }
        }
    }
    let mut copy = expr.clone();
    walk(&mut copy);
    copy
}

/// The placeholder numbers in `sql`, in order of appearance.
fn placeholders(sql: &str, dialect: &dyn Dialect) -> Vec<usize> {
    let marker = if dialect.name() == "sqlite" { '?' } else { '$' };
    let mut out = Vec::new();
    let mut chars = sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c == marker {
            let mut digits = String::new();
            while let Some(&(_, d)) = chars.peek() {
                if !d.is_ascii_digit() {
                    break;
                }
                digits.push(d);
                chars.next();
            }
            out.push(digits.parse().unwrap_or(0));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Strategies: arbitrary well-formed trees (for printing and re-parsing)
// ---------------------------------------------------------------------------------------------

const NAMES: &[&str] = &[
    "topic",
    "id",
    "displayName",
    "unreadCount",
    "from",
    "emailAddress",
    "address",
    "x1",
    "_y",
];
const VARIABLES: &[&str] = &["x", "m", "it_"];

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(NAMES).prop_map(str::to_string)
}

fn path() -> impl Strategy<Value = MemberPath> {
    prop::collection::vec(name(), 1..4).prop_map(|segments| MemberPath { segments })
}

fn date_time() -> impl Strategy<Value = OffsetDateTime> {
    // 1900-01-01 to 2100-01-01, any nanosecond, offsets in whole minutes up to ±14 h.
    (
        -2_208_988_800i64..4_102_444_800,
        0u32..1_000_000_000,
        -840i32..=840,
    )
        .prop_map(|(secs, nanos, minutes)| {
            let utc =
                OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH);
            let utc = utc.replace_nanosecond(nanos).unwrap_or(utc);
            let offset = UtcOffset::from_whole_seconds(minutes * 60).unwrap_or(UtcOffset::UTC);
            utc.to_offset(offset)
        })
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        Just(Literal::Null),
        any::<bool>().prop_map(Literal::Boolean),
        any::<i64>().prop_map(Literal::Int),
        any::<f64>()
            .prop_filter("finite", |d| d.is_finite())
            .prop_map(Literal::Decimal),
        ".*".prop_map(Literal::String),
        date_time().prop_map(Literal::DateTimeOffset),
        date_time().prop_map(|dt| Literal::Date(dt.date())),
        any::<[u8; 16]>().prop_map(|b| {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            Literal::Guid(format!(
                "{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            ))
        }),
        (
            prop::sample::select(&["microsoft.graph.chatType", "a.b"][..]),
            ".*"
        )
            .prop_map(|(t, m)| Literal::Enum {
                type_name: t.to_string(),
                member: m
            }),
    ]
}

fn compare_op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(
        &[
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ][..],
    )
}

fn function() -> impl Strategy<Value = Function> {
    prop::sample::select(&[Function::StartsWith, Function::EndsWith, Function::Contains][..])
}

fn leaf() -> impl Strategy<Value = Expr> {
    let operand = prop_oneof![
        path().prop_map(|p| e(ExprKind::Member(p))),
        literal().prop_map(lit)
    ];
    prop_oneof![
        (compare_op(), path(), literal()).prop_map(|(op, p, l)| e(ExprKind::Compare {
            op,
            left: Box::new(e(ExprKind::Member(p))),
            right: Box::new(lit(l)),
        })),
        (compare_op(), operand.clone(), operand).prop_map(|(op, l, r)| e(ExprKind::Compare {
            op,
            left: Box::new(l),
            right: Box::new(r),
        })),
        (path(), prop::collection::vec(literal(), 1..4)).prop_map(|(p, items)| e(ExprKind::In {
            operand: Box::new(e(ExprKind::Member(p))),
            items: items.into_iter().map(lit).collect(),
        })),
        (function(), path(), ".*").prop_map(|(function, p, s)| e(ExprKind::Call {
            function,
            args: vec![e(ExprKind::Member(p)), lit(Literal::String(s))],
        })),
        path().prop_map(|p| e(ExprKind::Lambda(Lambda {
            collection: p,
            kind: LambdaKind::Any,
            body: None
        }))),
        path().prop_map(|p| e(ExprKind::Member(p))),
        any::<bool>().prop_map(|b| lit(Literal::Boolean(b))),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone())
                .prop_map(|(l, r)| e(ExprKind::And(Box::new(l), Box::new(r)))),
            (inner.clone(), inner.clone())
                .prop_map(|(l, r)| e(ExprKind::Or(Box::new(l), Box::new(r)))),
            inner.clone().prop_map(|x| e(ExprKind::Not(Box::new(x)))),
            (
                path(),
                any::<bool>(),
                prop::sample::select(VARIABLES),
                inner.clone()
            )
                .prop_map(|(p, all, v, body)| {
                    e(ExprKind::Lambda(Lambda {
                        collection: p,
                        kind: if all {
                            LambdaKind::All
                        } else {
                            LambdaKind::Any
                        },
                        body: Some(LambdaBody {
                            variable: v.to_string(),
                            predicate: Box::new(body),
                        }),
                    }))
                }),
            (function(), inner.clone(), inner).prop_map(|(function, a, b)| e(ExprKind::Call {
                function,
                args: vec![a, b]
            })),
        ]
    })
}

// ---------------------------------------------------------------------------------------------
// Strategies: well-typed filters on the test catalogue (for compiling)
// ---------------------------------------------------------------------------------------------

/// A comparison or function that compiles against `testing::CHAT`, with arbitrary string text.
fn typed_leaf() -> impl Strategy<Value = Expr> {
    let text = ".{0,16}";
    let string_op =
        prop::sample::select(&[CompareOp::Eq, CompareOp::Ne, CompareOp::Gt, CompareOp::Le][..]);
    prop_oneof![
        (
            string_op.clone(),
            prop::sample::select(&["topic", "id"][..]),
            text
        )
            .prop_map(|(op, p, s)| e(ExprKind::Compare {
                op,
                left: Box::new(member(&[p])),
                right: Box::new(lit(Literal::String(s)))
            })),
        (compare_op(), any::<i64>()).prop_map(|(op, i)| e(ExprKind::Compare {
            op,
            left: Box::new(lit(Literal::Int(i))),
            right: Box::new(member(&["unreadCount"])),
        })),
        (compare_op(), date_time()).prop_map(|(op, dt)| e(ExprKind::Compare {
            op,
            left: Box::new(member(&["lastMessagePreview", "createdDateTime"])),
            right: Box::new(lit(Literal::DateTimeOffset(dt))),
        })),
        any::<bool>().prop_map(|b| e(ExprKind::Compare {
            op: CompareOp::Eq,
            left: Box::new(member(&["isHiddenForAllMembers"])),
            right: Box::new(lit(Literal::Boolean(b))),
        })),
        prop::sample::select(&["group", "ONEONONE", "meeting"][..]).prop_map(|m| e(
            ExprKind::Compare {
                op: CompareOp::Ne,
                left: Box::new(member(&["chatType"])),
                right: Box::new(lit(Literal::Enum {
                    type_name: "microsoft.graph.chatType".into(),
                    member: m.to_string()
                })),
            }
        )),
        (function(), prop::sample::select(&["topic", "id"][..]), text).prop_map(
            |(function, p, s)| e(ExprKind::Call {
                function,
                args: vec![member(&[p]), lit(Literal::String(s))]
            })
        ),
        prop::collection::vec(text, 1..5).prop_map(|items| e(ExprKind::In {
            operand: Box::new(member(&["topic"])),
            items: items.into_iter().map(|s| lit(Literal::String(s))).collect(),
        })),
        (any::<bool>(), text).prop_map(|(all, s)| e(ExprKind::Lambda(Lambda {
            collection: MemberPath::new(["categories"]),
            kind: if all {
                LambdaKind::All
            } else {
                LambdaKind::Any
            },
            body: Some(LambdaBody {
                variable: "c".into(),
                predicate: Box::new(e(ExprKind::Compare {
                    op: CompareOp::Eq,
                    left: Box::new(member(&["c"])),
                    right: Box::new(lit(Literal::String(s))),
                })),
            }),
        }))),
        (any::<bool>(), text, text).prop_map(|(all, a, b)| e(ExprKind::Lambda(Lambda {
            collection: MemberPath::new(["members"]),
            kind: if all {
                LambdaKind::All
            } else {
                LambdaKind::Any
            },
            body: Some(LambdaBody {
                variable: "m".into(),
                predicate: Box::new(e(ExprKind::Or(
                    Box::new(e(ExprKind::Call {
                        function: Function::Contains,
                        args: vec![member(&["m", "displayName"]), lit(Literal::String(a))],
                    })),
                    Box::new(e(ExprKind::Lambda(Lambda {
                        collection: MemberPath::new(["m", "roles"]),
                        kind: LambdaKind::Any,
                        body: Some(LambdaBody {
                            variable: "r".into(),
                            predicate: Box::new(e(ExprKind::Compare {
                                op: CompareOp::Eq,
                                left: Box::new(member(&["r"])),
                                right: Box::new(lit(Literal::String(b))),
                            })),
                        }),
                    }))),
                ))),
            }),
        }))),
    ]
}

fn typed_expr() -> impl Strategy<Value = Expr> {
    typed_leaf().prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone())
                .prop_map(|(l, r)| e(ExprKind::And(Box::new(l), Box::new(r)))),
            (inner.clone(), inner.clone())
                .prop_map(|(l, r)| e(ExprKind::Or(Box::new(l), Box::new(r)))),
            inner.prop_map(|x| e(ExprKind::Not(Box::new(x)))),
        ]
    })
}

/// Fragments of filter syntax, joined at random: far more likely than random text to reach
/// deep into the parser and compiler.
fn filter_soup() -> impl Strategy<Value = String> {
    const TOKENS: &[&str] = &[
        "(",
        ")",
        "not",
        "and",
        "or",
        "eq",
        "ne",
        "gt",
        "in",
        "'a''b'",
        "'",
        "1",
        "-2.5e3",
        "null",
        "true",
        "topic",
        "unreadCount",
        "chatType",
        "members",
        "categories",
        "m/displayName",
        "/",
        "any",
        "all",
        "(x:",
        "x",
        ",",
        ":",
        "startswith(",
        "contains(",
        "2024-01-01T00:00:00Z",
        "2024-01-01",
        "1c5b0169-6d2e-4a17-9c29-2bc9cf04e63b",
        "microsoft.graph.chatType'group'",
        "members/any(m:",
        "categories/all(c:",
        "c",
        " ",
        "é",
        "%",
        "\\",
    ];
    prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|t| t.join(" "))
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {

    #[test]
    fn query_parse_never_panics(raw in ".*") {
        let _ = QueryOptions::parse(&raw, &Limits::default());
    }

    #[test]
    fn query_parse_never_panics_on_option_shaped_input(
        pairs in prop::collection::vec(
            (prop::sample::select(&["$filter", "%24select", "$orderby", "$expand", "$search", "$top", "$count", "x"][..]), ".{0,30}"),
            0..5,
        )
    ) {
        let raw: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let _ = QueryOptions::parse(&raw.join("&"), &Limits::default());
    }

    #[test]
    fn filter_parse_and_compile_never_panic(text in prop_oneof![".*", filter_soup()]) {
        if let Ok(expr) = parse_filter(&text, &Limits::default()) {
            for dialect in [&Sqlite as &dyn Dialect, &Postgres] {
                let mut params = Vec::new();
                if let Ok(sql) = compile_filter(&expr, &CHAT, "c", dialect, &mut params) {
                    prop_assert_eq!(placeholders(&sql, dialect).len(), params.len());
                }
            }
        }
    }

    #[test]
    fn search_parse_and_compile_never_panic(text in ".*") {
        if let Ok(search) = parse_search(&text, &Limits::default()) {
            let _ = fts5_match(&search);
            let mut params = Vec::new();
            if let Ok(sql) = compile_search_like(&search, &MEMBER, "m", &Sqlite, &mut params) {
                prop_assert_eq!(placeholders(&sql, &Sqlite).len(), params.len());
            }
        }
    }

    #[test]
    fn printed_filters_parse_back_to_the_same_tree(tree in expr()) {
        let text = tree.to_string();
        let limits = Limits { max_nodes: 10_000, ..Limits::default() };
        let mut parsed = parse_filter(&text, &limits).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        erase_spans(&mut parsed);
        prop_assert_eq!(&parsed, &tree, "printed as {}", text);

        // And the same through a percent-encoded query string.
        let query = format!("%24filter={}&%24top=1", percent_encode(&text));
        let options = QueryOptions::parse(&query, &limits).map_err(|e| TestCaseError::fail(format!("{query}: {e}")))?;
        let mut via_query = options.filter.unwrap_or_else(|| lit(Literal::Null));
        erase_spans(&mut via_query);
        prop_assert_eq!(&via_query, &tree);
    }

    #[test]
    fn compiled_sql_binds_every_literal(tree in typed_expr()) {
        for dialect in [&Sqlite as &dyn Dialect, &Postgres] {
            let mut params = vec![SqlValue::Text("caller's own".into())];
            let sql = compile_filter(&tree, &CHAT, "c", dialect, &mut params)
                .map_err(|e| TestCaseError::fail(format!("{tree}: {e}")))?;

            // Exactly one placeholder per parameter, numbered in order after the caller's.
            let expected: Vec<usize> = (2..=params.len()).collect();
            prop_assert_eq!(placeholders(&sql, dialect), expected, "{}", sql);

            // The SQL text does not depend on what the strings say…
            let mut plain_params = vec![SqlValue::Null];
            let plain = compile_filter(&with_plain_strings(&tree), &CHAT, "c", dialect, &mut plain_params)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&sql, &plain);

            // …so none of their text appears in it (short ones may coincide with SQL words).
            for text in string_literals(&tree) {
                if text.chars().count() >= 8 {
                    prop_assert!(!sql.contains(&text), "{:?} leaked into {}", text, sql);
                }
            }
            prop_assert!(sql.is_ascii(), "identifiers and keywords only: {}", sql);

            // The printed filter compiles to the same SQL and parameters.
            let reparsed = parse_filter(&tree.to_string(), &Limits { max_nodes: 10_000, ..Limits::default() })
                .map_err(|e| TestCaseError::fail(format!("{tree}: {e}")))?;
            let mut reparsed_params = vec![SqlValue::Text("caller's own".into())];
            let again = compile_filter(&reparsed, &CHAT, "c", dialect, &mut reparsed_params)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&again, &sql);
            prop_assert_eq!(&reparsed_params, &params);
        }
    }

    #[test]
    fn keyset_binds_each_cursor_value_once(
        directions in prop::collection::vec(any::<bool>(), 1..5),
        values in prop::collection::vec(prop_oneof![Just(SqlValue::Null), any::<i64>().prop_map(SqlValue::Integer), ".{0,8}".prop_map(SqlValue::Text)], 5),
    ) {
        const COLUMNS: [&str; 5] = ["a", "b", "c", "d", "e"];
        let keys: Vec<SortKey> = directions.iter().enumerate().map(|(i, &descending)| SortKey { column: COLUMNS[i], descending }).collect();
        let cursor = &values[..keys.len()];
        let mut params = Vec::new();
        let sql = keyset_after(&keys, cursor, "t", &Postgres, &mut params).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let bound: Vec<&SqlValue> = cursor.iter().filter(|v| **v != SqlValue::Null).collect();
        prop_assert_eq!(params.iter().collect::<Vec<_>>(), bound);
        let mut used = placeholders(&sql, &Postgres);
        used.sort_unstable();
        used.dedup();
        prop_assert_eq!(used, (1..=params.len()).collect::<Vec<_>>());
    }
}

proptest! {
    #[test]
    fn fts5_strings_quote_every_term(text in prop_oneof![".*", r#"[a-z"\\ ():*^]{0,30}"#, "\"[a-z\\\\\" ():*^ANDORNT]{0,30}\""]) {
        let fts = parse_search(&text, &Limits::default()).and_then(|search| fts5_match(&search));
        if let Ok(fts) = fts {
            prop_assert!(only_quoted_terms(&fts), "{:?} became {}", text, fts);
        }
    }
}

#[test]
fn fts5_injection_attempts_stay_quoted() {
    let search = parse_search(
        r#""\"a\" OR NEAR(b c) OR d* OR ^e OR {col}: f""#,
        &Limits::default(),
    )
    .unwrap();
    let fts = fts5_match(&search).unwrap();
    assert!(only_quoted_terms(&fts), "{fts}");
    assert!(!only_quoted_terms("\"a\" NEAR(b)"));
}

// ---------------------------------------------------------------------------------------------
// `$search` (KQL): printing a query and parsing it gives the same tree
// ---------------------------------------------------------------------------------------------

/// A bare word: no whitespace, parentheses, quotes or `:`, and not an operator.
fn search_word() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_.@'\\\\é€*^-]{1,8}".prop_filter("operators are not words", |w| {
        !["AND", "OR", "NOT"].contains(&w.as_str())
    })
}

fn search_term() -> impl Strategy<Value = Search> {
    prop_oneof![
        search_word().prop_map(|text| Search::Term(SearchTerm {
            property: None,
            text,
            phrase: false
        })),
        "[a-zA-Z0-9 \"\\\\:()'é]{1,12}"
            .prop_filter("phrases are not blank", |t| !t.trim().is_empty())
            .prop_map(|text| Search::Term(SearchTerm {
                property: None,
                text,
                phrase: true
            })),
        ("[a-zA-Z][a-zA-Z0-9_/]{0,8}", search_word(), any::<bool>()).prop_map(
            |(property, text, phrase)| Search::Term(SearchTerm {
                property: Some(property),
                text,
                phrase
            })
        ),
    ]
}

fn search_tree() -> impl Strategy<Value = Search> {
    search_term().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Search::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Search::Or),
            inner.prop_map(|s| Search::Not(Box::new(s))),
        ]
    })
}

/// `text` as the inside of a KQL `"…"` string.
fn kql_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A query as it reads inside Graph's outer quotes (where `"…"` is a phrase).
fn kql(search: &Search) -> String {
    let child = |s: &Search| match s {
        Search::And(_) | Search::Or(_) => format!("({})", kql(s)),
        _ => kql(s),
    };
    match search {
        Search::Term(t) => {
            let text = if t.phrase {
                format!("\"{}\"", kql_escape(&t.text))
            } else {
                t.text.clone()
            };
            match &t.property {
                Some(p) => format!("{p}:{text}"),
                None => text,
            }
        }
        Search::And(items) => items.iter().map(child).collect::<Vec<_>>().join(" AND "),
        Search::Or(items) => items.iter().map(child).collect::<Vec<_>>().join(" OR "),
        Search::Not(inner) => format!("NOT {}", child(inner)),
    }
}

proptest! {
    /// Graph clients send `$search="…"`: the printed query, escaped into the outer quotes,
    /// parses back to the tree it came from.
    #[test]
    fn printed_searches_parse_back_to_the_same_tree(tree in search_tree()) {
        let text = format!("\"{}\"", kql_escape(&kql(&tree)));
        let parsed = parse_search(&text, &Limits::default());
        prop_assert_eq!(parsed, Ok(tree), "{}", text);
    }
}
