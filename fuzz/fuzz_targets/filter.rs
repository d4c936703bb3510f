//! Fuzzes `$filter` end to end: arbitrary UTF-8 is parsed as a query string's `$filter` value
//! and, when it parses, compiled to SQL for both dialects against the test catalogue.
//!
//! Beyond "no panic, no overflow", every compiled statement must have one placeholder per bound
//! parameter, and the printed filter must parse back to an equivalent expression.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_odata::sql::{Dialect, Postgres, Sqlite, compile_filter};
use switchboard_odata::testing::CHAT;
use switchboard_odata::{Limits, QueryOptions, parse_filter};

fuzz_target!(|text: &str| {
    let limits = Limits::default();
    // The value goes in as it would arrive: `&` would end the option, so encode it (and `%`,
    // so the decoder hands back exactly `text`).
    let encoded = text.replace('%', "%25").replace('&', "%26").replace('+', "%2B");
    let Ok(query) = QueryOptions::parse(&format!("$filter={encoded}"), &limits) else {
        return;
    };
    let Some(filter) = query.filter else {
        return;
    };

    // Printing and re-parsing gives the same SQL.
    let printed = filter.to_string();
    let reparsed = parse_filter(&printed, &Limits { max_length: usize::MAX, max_nodes: usize::MAX, max_depth: 4 * limits.max_depth, ..limits })
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?} does not parse: {e}"));

    for dialect in [&Sqlite as &dyn Dialect, &Postgres] {
        let mut params = Vec::new();
        let Ok(sql) = compile_filter(&filter, &CHAT, "c", dialect, &mut params) else {
            continue;
        };
        let marker = if dialect.name() == "sqlite" { '?' } else { '$' };
        assert_eq!(sql.matches(marker).count(), params.len(), "{sql}");
        assert!(sql.is_ascii(), "{sql}");

        let mut again_params = Vec::new();
        let again = compile_filter(&reparsed, &CHAT, "c", dialect, &mut again_params)
            .unwrap_or_else(|e| panic!("{printed:?} compiled before printing but not after: {e}"));
        assert_eq!(again, sql);
        assert_eq!(again_params, params);
    }
});
