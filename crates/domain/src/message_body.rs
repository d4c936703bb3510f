//! Chat message bodies: HTML sanitised on write (Teams' own tags kept, scripts and event handlers
//! gone), and the `<at id="…">` / `<attachment id="…">` markers a body uses to place its
//! mentions and attachments.

use std::collections::BTreeSet;
use std::sync::LazyLock;

/// The sanitiser: ammonia's safe defaults (basic formatting, links, images, tables; no scripts,
/// styles, frames, forms or `on…` handlers; only safe URL schemes) plus the elements Teams
/// writes into message bodies. Links keep exactly what was sent (no `rel` is added), so a body
/// reads back as it was written.
static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    // html5ever lower-cases element names, so `<systemEventMessage/>` is kept as
    // `<systemeventmessage></systemeventmessage>`.
    b.add_tags([
        "at",
        "attachment",
        "emoji",
        "systemeventmessage",
        "customemoji",
        "codeblock",
        "readonly",
    ]);
    b.add_tag_attributes("at", ["id"]);
    b.add_tag_attributes("attachment", ["id"]);
    b.add_tag_attributes("emoji", ["id", "alt", "title"]);
    b.add_tag_attributes("customemoji", ["id", "alt", "source"]);
    b.add_tag_attributes("codeblock", ["class"]);
    // Teams' inline emoji and mention markup (`itemtype="http://schema.skype.com/Emoji"`).
    b.add_tag_attributes("img", ["itemtype", "itemscope", "itemid", "style"]);
    b.add_tag_attributes("span", ["itemtype", "itemscope", "itemid"]);
    b.add_tag_attributes("a", ["target"]);
    b.link_rel(None);
    b
});

/// Sanitises an HTML body.
///
/// One pass can leave a tree that HTML cannot express (the children of a dropped `<object>`
/// kept, so an `<a>` inside an `<a>`), which the next parse rebuilds differently; passes are
/// repeated until the output is stable, so a body read back and written again is unchanged.
pub fn sanitize(html: &str) -> String {
    let mut clean = CLEANER.clean(html).to_string();
    // A body that came through unchanged is already a fixed point (clean(x) == x): most bodies
    // are, and the extra pass would double the sanitiser's cost on the send path.
    if clean == html {
        return clean;
    }
    for _ in 0..MAX_EXTRA_PASSES {
        let again = CLEANER.clean(&clean).to_string();
        if again == clean {
            break;
        }
        clean = again;
    }
    clean
}

/// Enough for every input the property tests and the fuzzer have found (one extra pass has
/// always sufficed); the bound only keeps a pathological body from costing more.
const MAX_EXTRA_PASSES: usize = 3;

/// Which markers a (sanitised) HTML body contains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Markers {
    /// The `id`s of `<at>` elements (mentions), as written.
    pub mentions: BTreeSet<String>,
    /// The `id`s of `<attachment>` elements.
    pub attachments: BTreeSet<String>,
    /// An `<at>` or `<attachment>` element without an `id`.
    pub unnamed: bool,
}

/// Finds the mention and attachment markers in a body that went through [`sanitize`] (so tag
/// names are lower case and attribute values double-quoted and entity-escaped).
pub fn markers(html: &str) -> Markers {
    let mut out = Markers::default();
    let bytes = html.as_bytes();
    let mut i = 0;
    while let Some(pos) = html[i..].find('<') {
        let start = i + pos + 1;
        let name_end = html[start..]
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .map(|n| start + n)
            .unwrap_or(html.len());
        let name = &html[start..name_end];
        let tag_end = tag_end(bytes, name_end);
        if name == "at" || name == "attachment" {
            match attribute(&html[name_end..tag_end], "id") {
                Some(id) if name == "at" => {
                    out.mentions.insert(id);
                }
                Some(id) => {
                    out.attachments.insert(id);
                }
                None => out.unnamed = true,
            }
        }
        i = tag_end.max(start);
        if i >= html.len() {
            break;
        }
    }
    out
}

/// The index of the `>` closing a tag whose attributes start at `from` (quotes respected).
fn tag_end(bytes: &[u8], from: usize) -> usize {
    let mut quote = None;
    for (n, &b) in bytes.iter().enumerate().skip(from) {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if b == q => quote = None,
            (None, b'>') => return n,
            _ => {}
        }
    }
    bytes.len()
}

/// The value of attribute `name` in a serialised attribute list (` id="0" class="x"`).
fn attribute(attrs: &str, name: &str) -> Option<String> {
    let mut rest = attrs;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        if rest.is_empty() || rest.starts_with('>') {
            return None;
        }
        let key_end = rest
            .find(|c: char| c == '=' || c.is_ascii_whitespace() || c == '>')
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = &rest[key_end..];
        let value = if let Some(after) = rest.strip_prefix('=') {
            let (value, remaining) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &after[1..];
                    let close = body.find(q).unwrap_or(body.len());
                    (&body[..close], body.get(close + 1..).unwrap_or(""))
                }
                _ => {
                    let close = after
                        .find(|c: char| c.is_ascii_whitespace() || c == '>')
                        .unwrap_or(after.len());
                    (&after[..close], &after[close..])
                }
            };
            rest = remaining;
            Some(value)
        } else {
            None
        };
        if key.eq_ignore_ascii_case(name) {
            return value.map(unescape);
        }
    }
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_teams_markup_and_strips_scripts() {
        let clean = sanitize(
            r#"<div>Hi <at id="0">Megan</at> <script>alert(1)</script><b onclick="x()">bold</b> <a href="https://x.example/a?b=1&amp;c=2">link</a> <attachment id="abc"></attachment><img src="javascript:alert(1)"><emoji id="1f600" alt="😀" title="Grinning"></emoji></div>"#,
        );
        assert_eq!(
            clean,
            r#"<div>Hi <at id="0">Megan</at> <b>bold</b> <a href="https://x.example/a?b=1&amp;c=2">link</a> <attachment id="abc"></attachment><img><emoji id="1f600" alt="😀" title="Grinning"></emoji></div>"#
        );
        assert_eq!(sanitize("Hi <at id=1>A</at>"), r#"Hi <at id="1">A</at>"#);
        assert_eq!(
            sanitize("<p>plain &amp; simple</p>"),
            "<p>plain &amp; simple</p>"
        );
    }

    #[test]
    fn sanitizing_twice_changes_nothing() {
        // Found by the `sanitize_is_idempotent` property: the dropped `<object>` left an `<a>`
        // inside an `<a>`, which the next pass split in two.
        let html =
            r#"<a href="javascript:alert(1)"><object></script><a href="javascript:alert(1)">"#;
        let clean = sanitize(html);
        assert_eq!(clean, "<a></a><a></a>");
        assert_eq!(sanitize(&clean), clean);
    }

    #[test]
    fn finds_markers() {
        let m = markers(&sanitize(
            r#"<at id="0">A</at> and <at id="1">B</at><attachment id="x&quot;y"></attachment><at>nameless</at>"#,
        ));
        assert_eq!(m.mentions.into_iter().collect::<Vec<_>>(), ["0", "1"]);
        assert_eq!(m.attachments.into_iter().collect::<Vec<_>>(), ["x\"y"]);
        assert!(m.unnamed);
        // The serialiser writes U+00A0 in attribute values as `&nbsp;` (found by the
        // `markers_find_exactly_the_generated_ids` property).
        let m = markers(&sanitize("<at id=\"a\u{a0}b\">A</at>"));
        assert_eq!(m.mentions.into_iter().collect::<Vec<_>>(), ["a\u{a0}b"]);
        let none = markers("<p>no <b>markers</b> <atx id=\"1\"></atx></p>");
        assert!(none.mentions.is_empty() && none.attachments.is_empty() && !none.unnamed);
    }
}
