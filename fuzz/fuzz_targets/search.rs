//! Fuzzes `$search`: arbitrary UTF-8 goes to the KQL parser and, when it parses, to both
//! compilers (the FTS5 match string and the `LIKE` fallback) against the test catalogue.
//!
//! Beyond "no panic, no overflow": outside `"…"` strings the FTS5 text holds only `AND`, `OR`,
//! `NOT` and parentheses (no client text can act as FTS5 syntax), and the `LIKE` SQL has one
//! placeholder per bound parameter and no literal text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_odata::sql::{Sqlite, compile_search_like, fts5_match};
use switchboard_odata::testing::{MEMBER, only_quoted_terms};
use switchboard_odata::{Limits, parse_search};


fuzz_target!(|text: &str| {
    let Ok(search) = parse_search(text, &Limits::default()) else {
        return;
    };
    if let Ok(fts) = fts5_match(&search) {
        assert!(only_quoted_terms(&fts), "{text:?} became {fts}");
    }
    let mut params = Vec::new();
    if let Ok(sql) = compile_search_like(&search, &MEMBER, "m", &Sqlite, &mut params) {
        assert_eq!(sql.matches('?').count(), params.len(), "{sql}");
        assert!(sql.is_ascii(), "{sql}");
    }
});
