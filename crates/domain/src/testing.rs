//! Checks shared by the tests, property tests and fuzz targets. Not part of the supported API.

/// The start tags of serialised HTML: (name, [(attribute, value)]), lower-cased names.
/// Text and attribute values are entity-escaped by the serialiser, so every `<` outside a
/// quoted attribute value opens a tag.
pub fn start_tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
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
