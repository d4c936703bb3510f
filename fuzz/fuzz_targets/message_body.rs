//! Fuzzes chat message bodies: arbitrary UTF-8 through `sanitize`, then `markers`.
//!
//! Beyond "no panic": sanitising is idempotent (a body read back and written again does not
//! change); the sanitised markup has no script-capable element, no `on…` handler and no
//! `javascript:` link or source; `markers` finds the same mentions and attachments in the body and in
//! its re-sanitised form; `markers` also survives unsanitised input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_domain::message_body::{markers, sanitize};

/// The start tags of serialised HTML: (name, [(attribute, value)]), lower-cased names.
/// Text and attribute values are entity-escaped by the serialiser, so every `<` outside a
/// quoted attribute value opens a tag.
fn start_tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut tags = Vec::new();
    let mut rest = html;
    while let Some(pos) = rest.find('<') {
        rest = &rest[pos + 1..];
        if rest.starts_with('/') || rest.starts_with('!') {
            continue;
        }
        let name_end = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        rest = &rest[name_end..];
        let mut attrs = Vec::new();
        loop {
            rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
            if rest.is_empty() || rest.starts_with('>') {
                break;
            }
            let key_end = rest
                .find(|c: char| c == '=' || c.is_ascii_whitespace() || c == '>')
                .unwrap_or(rest.len());
            let key = rest[..key_end].to_ascii_lowercase();
            rest = &rest[key_end..];
            let mut value = String::new();
            if let Some(after) = rest.strip_prefix("=\"") {
                let close = after.find('"').unwrap_or(after.len());
                value = after[..close].to_string();
                rest = after.get(close + 1..).unwrap_or("");
            }
            attrs.push((key, value));
        }
        tags.push((name, attrs));
    }
    tags
}

fuzz_target!(|html: &str| {
    let _ = markers(html);
    let clean = sanitize(html);
    let again = sanitize(&clean);
    assert_eq!(again, clean, "sanitize is not idempotent on {html:?}");
    for (name, attrs) in start_tags(&clean) {
        assert!(
            !matches!(
                name.as_str(),
                "script" | "style" | "iframe" | "object" | "embed" | "form" | "svg" | "math"
            ),
            "<{name}> survived in {clean:?}"
        );
        for (key, value) in attrs {
            assert!(!key.starts_with("on"), "{key}= survived in {clean:?}");
            let url = value.trim().to_ascii_lowercase();
            let is_url = matches!(key.as_str(), "href" | "src" | "cite");
            assert!(
                !is_url || (!url.starts_with("javascript:") && !url.starts_with("vbscript:")),
                "{key}={value:?} survived in {clean:?}"
            );
        }
    }
    assert_eq!(markers(&clean), markers(&again));
});
