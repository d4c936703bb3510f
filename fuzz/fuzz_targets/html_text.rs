//! Fuzzes mail's HTML → text (`bodyPreview`, `$search` text): arbitrary UTF-8 as an HTML body.
//!
//! Beyond "no panic": the preview is at most 255 characters, neither starts with whitespace
//! nor has whitespace runs; text without markup or entities comes back as it went in
//! (trimmed).

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_domain::mail::{html_to_text, preview};

fuzz_target!(|html: &str| {
    let text = html_to_text(html);
    let shown = preview(&text);
    assert!(shown.chars().count() <= 255, "{shown:?}");
    assert!(!shown.starts_with(char::is_whitespace), "{shown:?}");
    let chars: Vec<char> = shown.chars().collect();
    assert!(
        chars
            .windows(2)
            .all(|w| !(w[0].is_whitespace() && w[1].is_whitespace())),
        "{shown:?}"
    );
    if !html.contains(['<', '&']) {
        assert_eq!(text, html.trim());
    }
});
