//! Fuzzes chat message bodies: arbitrary UTF-8 through `sanitize`, then `markers`.
//!
//! Beyond "no panic": sanitising is idempotent (a body read back and written again does not
//! change); the sanitised markup has no script-capable element, no `on…` handler and no
//! `javascript:` link or source; `markers` finds the same mentions and attachments in the body and in
//! its re-sanitised form; `markers` also survives unsanitised input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_domain::message_body::{markers, sanitize};
use switchboard_domain::testing::start_tags;


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
