//! Property tests for the domain's pure parts: mail's HTML → text and `bodyPreview`, chat
//! message body sanitising and markers, delta tokens, the ids and cursors that arrive in URLs,
//! and MIME rendering. Each property runs proptest's default 256 cases (well under a second).

use proptest::prelude::*;
use switchboard_domain::change_tokens::{
    ChangeToken, DELTA_TOKEN_TTL_MS, PAGE_TOKEN_TTL_MS, TokenError, TokenKind, sign, sign_scoped,
    verify, verify_scoped,
};
use switchboard_domain::chat_messages::parse_id;
use switchboard_domain::chats::{member_user_id, membership_id};
use switchboard_domain::mail::{
    MailRecord, Recipient, html_to_text, mime, new_change_key, new_folder_id, new_message_id,
    preview,
};
use switchboard_domain::mail_attachments::AttachmentRecord;
use switchboard_domain::message_body::{markers, sanitize};
use switchboard_domain::teams_apps::navigation_key;
use switchboard_domain::testing::start_tags;
use switchboard_domain::{graph_time, paging};
use switchboard_odata::sql::{SortKey, SqlValue};

// ---------------------------------------------------------------------------------------------
// HTML → text and bodyPreview
// ---------------------------------------------------------------------------------------------

/// A piece of an HTML body and the text it should become.
#[derive(Debug, Clone)]
enum Piece {
    /// Plain text (no markup characters).
    Text(String),
    /// An entity and its character.
    Entity(&'static str, &'static str),
    /// A start or end tag; block elements end a line.
    Tag {
        name: &'static str,
        close: bool,
        attrs: String,
    },
    /// An element whose content is not text (`<script>…</script>`).
    Hidden { name: &'static str, content: String },
}

const INLINE: &[&str] = &["b", "i", "span", "a", "font", "strong", "em", "img", "x-y"];
const BLOCK: &[&str] = &["br", "p", "div", "tr", "li", "h1", "h2", "table"];
const HIDDEN: &[&str] = &["script", "style", "head", "title", "SCRIPT", "Style"];
const ENTITIES: &[(&str, &str)] = &[
    ("&amp;", "&"),
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&quot;", "\""),
    ("&#39;", "'"),
    ("&nbsp;", " "),
];

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        4 => "[a-zA-Z0-9 .,;:!?'\"é€😀\n\t-]{0,12}".prop_map(Piece::Text),
        1 => prop::sample::select(ENTITIES).prop_map(|(e, c)| Piece::Entity(e, c)),
        3 => (
            prop::sample::select([INLINE, BLOCK].concat()),
            any::<bool>(),
            r#"( [a-z]{1,6}="[a-z0-9 :/.;'-]{0,10}")?"#
        )
            .prop_map(|(name, close, attrs)| Piece::Tag { name, close, attrs }),
        1 => (prop::sample::select(HIDDEN), "[a-zA-Z0-9 {}();.>'\"]{0,12}")
            .prop_map(|(name, content)| Piece::Hidden { name, content }),
    ]
}

fn render(pieces: &[Piece]) -> (String, String) {
    let (mut html, mut text) = (String::new(), String::new());
    for p in pieces {
        match p {
            Piece::Text(t) => {
                html.push_str(t);
                text.push_str(t);
            }
            Piece::Entity(e, c) => {
                html.push_str(e);
                text.push_str(c);
            }
            Piece::Tag { name, close, attrs } => {
                let slash = if *close { "/" } else { "" };
                html.push_str(&format!("<{slash}{name}{attrs}>"));
                if BLOCK.contains(name) {
                    text.push('\n');
                }
            }
            Piece::Hidden { name, content } => {
                html.push_str(&format!("<{name}>{content}</{name}>"));
            }
        }
    }
    (html, text)
}

proptest! {
    #[test]
    fn html_to_text_never_panics(html in prop_oneof![".*", "[<>/a-z&;\"' é]{0,40}", "<[^>]{0,5}"]) {
        let text = html_to_text(&html);
        let shown = preview(&text);
        prop_assert!(shown.chars().count() <= 255);
    }

    /// Markup goes, text stays (entities decoded once), block ends become line breaks, and the
    /// content of `<script>`, `<style>`, `<head>` and `<title>` is dropped.
    #[test]
    fn html_to_text_keeps_exactly_the_text(pieces in prop::collection::vec(piece(), 0..24)) {
        let (html, text) = render(&pieces);
        prop_assert_eq!(html_to_text(&html), text.trim(), "{}", html);
    }

    /// `bodyPreview`: at most 255 characters, whitespace collapsed, a prefix of the text.
    #[test]
    fn preview_is_a_short_collapsed_prefix(text in prop_oneof![".{0,300}", "[a-z \n\t\u{a0}é😀]{200,600}"]) {
        let shown = preview(&text);
        prop_assert!(shown.chars().count() <= 255);
        let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
        prop_assert!(collapsed.starts_with(&shown));
        prop_assert!(!shown.starts_with(char::is_whitespace));
        let chars: Vec<char> = shown.chars().collect();
        prop_assert!(chars.windows(2).all(|w| !(w[0].is_whitespace() && w[1].is_whitespace())));
        if collapsed.chars().count() <= 255 {
            prop_assert_eq!(shown, collapsed);
        }
    }
}

#[test]
fn unclosed_tag_ending_in_a_multibyte_character() {
    // Found by `html_to_text_never_panics`: the unclosed tag's text was cut one byte short.
    assert_eq!(html_to_text("text <é"), "text");
    assert_eq!(html_to_text("a <b😀"), "a");
}

// ---------------------------------------------------------------------------------------------
// Chat message bodies
// ---------------------------------------------------------------------------------------------

/// Hostile-ish markup: scripts, handlers, `javascript:` links, Teams' own tags, broken nesting.
fn html_soup() -> impl Strategy<Value = String> {
    const TOKENS: &[&str] = &[
        "<script>",
        "</script>",
        "alert(1)",
        "<b onclick=\"x()\">",
        "<img src=javascript:x onerror=y>",
        "<a href=\"javascript:alert(1)\">",
        "<a href='https://x.example/?a=1&b=2'>",
        "</a>",
        "<p>",
        "</p>",
        "<div>",
        "</div>",
        "<table>",
        "<tr>",
        "<td>",
        "</table>",
        "<at id=\"0\">",
        "</at>",
        "<attachment id=\"a1\">",
        "</attachment>",
        "<emoji id=\"1f600\" alt=\"😀\">",
        "</emoji>",
        "<style>p{}</style>",
        "<iframe src=x>",
        "<svg onload=x>",
        "<math>",
        "<form>",
        "<!-- c -->",
        "<codeblock class=\"x\">",
        "<systemEventMessage/>",
        "<SPAN ONMOUSEOVER=x>",
        "&amp;",
        "&lt;",
        "&nbsp;",
        "\"",
        "'",
        "<",
        ">",
        "text",
        " ",
        "\n",
        "é",
        "<ul><li>",
        "<br>",
        "<at>",
        "<object>",
        "<embed>",
        "<input value=x>",
        "<select><option>",
        "<textarea>",
        "<noscript>",
    ];
    prop::collection::vec(prop::sample::select(TOKENS), 0..30).prop_map(|t| t.concat())
}

fn assert_safe(clean: &str) -> Result<(), TestCaseError> {
    for (name, attrs) in start_tags(clean) {
        prop_assert!(
            !matches!(
                name.as_str(),
                "script" | "style" | "iframe" | "object" | "embed" | "form" | "svg" | "math"
            ),
            "<{}> survived in {:?}",
            name,
            clean
        );
        for (key, value) in attrs {
            prop_assert!(!key.starts_with("on"), "{}= survived in {:?}", key, clean);
            if matches!(key.as_str(), "href" | "src" | "cite") {
                let url = value.trim().to_ascii_lowercase();
                prop_assert!(!url.starts_with("javascript:"), "{:?}", clean);
            }
        }
    }
    Ok(())
}

/// Escapes text for a double-quoted attribute value.
fn attr_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[derive(Debug, Clone)]
enum BodyPart {
    Text(String),
    Mention(String),
    Attachment(String),
}

proptest! {
    /// A body read back and written again does not change.
    #[test]
    fn sanitize_is_idempotent(html in prop_oneof![".*", html_soup()]) {
        let clean = sanitize(&html);
        prop_assert_eq!(sanitize(&clean), clean.clone(), "{:?}", html);
    }

    #[test]
    fn sanitize_removes_scripts_and_handlers(html in prop_oneof![".*", html_soup()]) {
        assert_safe(&sanitize(&html))?;
    }

    #[test]
    fn markers_never_panic(html in prop_oneof![".*", html_soup(), "[<>=\"' a-z/]{0,30}"]) {
        let _ = markers(&html);
    }

    /// `markers` finds exactly the ids of the `<at id>` and `<attachment id>` elements written,
    /// whatever the ids hold (quotes, `&`, `<`, non-ASCII).
    #[test]
    fn markers_find_exactly_the_generated_ids(
        parts in prop::collection::vec(prop_oneof![
            "[a-zA-Z .,é]{0,10}".prop_map(BodyPart::Text),
            r#"[\PC]{1,10}"#.prop_map(BodyPart::Mention),
            r#"[a-zA-Z0-9\-_"'&<>=/ ]{1,10}"#.prop_map(BodyPart::Attachment),
        ], 0..12)
    ) {
        let mut html = String::new();
        let (mut mentions, mut attachments) = (Vec::new(), Vec::new());
        for p in &parts {
            match p {
                BodyPart::Text(t) => html.push_str(&format!("<p>{t}</p>")),
                BodyPart::Mention(id) => {
                    html.push_str(&format!("<at id=\"{}\">name</at>", attr_escape(id)));
                    mentions.push(id.clone());
                }
                BodyPart::Attachment(id) => {
                    html.push_str(&format!("<attachment id=\"{}\"></attachment>", attr_escape(id)));
                    attachments.push(id.clone());
                }
            }
        }
        let found = markers(&sanitize(&html));
        prop_assert_eq!(found.mentions.into_iter().collect::<Vec<_>>(), {
            mentions.sort();
            mentions.dedup();
            mentions
        });
        prop_assert_eq!(found.attachments.into_iter().collect::<Vec<_>>(), {
            attachments.sort();
            attachments.dedup();
            attachments
        });
        prop_assert!(!found.unnamed);
    }
}

// ---------------------------------------------------------------------------------------------
// Delta tokens
// ---------------------------------------------------------------------------------------------

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn kind() -> impl Strategy<Value = TokenKind> {
    prop_oneof![Just(TokenKind::Page), Just(TokenKind::Delta)]
}

fn change_token() -> impl Strategy<Value = ChangeToken> {
    // Tenant and user ids are GUIDs; `|` separates the payload's fields, so it is left out.
    (
        kind(),
        "[^|]{0,40}",
        "[^|]{0,40}",
        any::<i64>(),
        any::<i64>(),
    )
        .prop_map(|(kind, tenant_id, user_id, seq, issued_ms)| ChangeToken {
            kind,
            tenant_id,
            user_id,
            seq,
            issued_ms,
        })
}

fn ttl(kind: TokenKind) -> i64 {
    match kind {
        TokenKind::Page => PAGE_TOKEN_TTL_MS,
        TokenKind::Delta => DELTA_TOKEN_TTL_MS,
    }
}

fn accepted(text: &str) -> bool {
    [TokenKind::Page, TokenKind::Delta].into_iter().any(|kind| {
        verify(SECRET, text, kind, 0).is_ok()
            || verify_scoped(SECRET, text, kind, 0).is_ok()
            || verify(SECRET, text, kind, i64::MAX).is_ok()
            || verify_scoped(SECRET, text, kind, i64::MAX).is_ok()
    })
}

proptest! {
    #[test]
    fn tokens_round_trip(token in change_token(), age in 0.0..=1.0f64, scope in ".{0,30}") {
        let now = token.issued_ms.saturating_add((ttl(token.kind) as f64 * age) as i64);
        let text = sign(SECRET, &token);
        prop_assert_eq!(verify(SECRET, &text, token.kind, now), Ok(token.clone()));
        let scoped = sign_scoped(SECRET, &token, &scope);
        prop_assert_eq!(verify_scoped(SECRET, &scoped, token.kind, now), Ok((token.clone(), scope)));
        // Not the other kind, not the other shape, not with another secret.
        let other = match token.kind {
            TokenKind::Page => TokenKind::Delta,
            TokenKind::Delta => TokenKind::Page,
        };
        prop_assert_eq!(verify(SECRET, &text, other, now), Err(TokenError::Invalid));
        prop_assert_eq!(verify(SECRET, &scoped, token.kind, now), Err(TokenError::Invalid));
        prop_assert_eq!(verify_scoped(SECRET, &text, token.kind, now), Err(TokenError::Invalid));
        prop_assert_eq!(verify(b"another secret", &text, token.kind, now), Err(TokenError::Invalid));
    }

    #[test]
    fn tokens_expire(token in change_token(), late in 1..1_000_000_000i64) {
        let now = token.issued_ms.saturating_add(ttl(token.kind)).saturating_add(late);
        prop_assume!(now - token.issued_ms > ttl(token.kind));
        let text = sign(SECRET, &token);
        prop_assert_eq!(verify(SECRET, &text, token.kind, now), Err(TokenError::Expired));
    }

    /// Changing any one byte of a genuine token (or appending or removing one) leaves a token
    /// that does not verify, as either kind or shape, at any time.
    #[test]
    fn tampered_tokens_are_refused(
        token in change_token(),
        scoped in any::<bool>(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        edit in 0..3u8,
    ) {
        let text = if scoped { sign_scoped(SECRET, &token, "scope") } else { sign(SECRET, &token) };
        let mut bytes = text.clone().into_bytes();
        let i = at.index(bytes.len());
        match edit {
            0 => bytes[i] = byte,
            1 => bytes.insert(i, byte),
            _ => {
                bytes.remove(i);
            }
        }
        if let Ok(edited) = String::from_utf8(bytes) {
            prop_assert!(edited == text || !accepted(&edited), "{} became {} and verifies", text, edited);
        }
    }

    #[test]
    fn token_garbage_is_refused(text in prop_oneof![".*", "[A-Za-z0-9_-]{0,200}\\.[A-Za-z0-9_-]{0,60}"]) {
        prop_assert!(!accepted(&text));
    }
}

// ---------------------------------------------------------------------------------------------
// Ids and cursors from URLs
// ---------------------------------------------------------------------------------------------

fn guid() -> impl Strategy<Value = String> {
    "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
}

/// The three shapes of chat id Graph (and we) hand out.
fn chat_id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{32}".prop_map(|h| format!("19:{h}@thread.v2")),
        (guid(), guid()).prop_map(|(a, b)| format!(
            "19:{}_{}@unq.gbl.spaces",
            a.to_ascii_lowercase(),
            b.to_ascii_lowercase()
        )),
        "[A-Za-z0-9_-]{22}".prop_map(|m| format!("19:meeting_{m}@thread.v2")),
    ]
}

fn sort_keys() -> impl Strategy<Value = Vec<SortKey>> {
    const COLUMNS: &[&str] = &["id", "created_ms", "display_name", "last_message_ms"];
    prop::collection::vec(
        (prop::sample::select(COLUMNS), any::<bool>())
            .prop_map(|(column, descending)| SortKey { column, descending }),
        1..4,
    )
}

fn sql_value() -> impl Strategy<Value = SqlValue> {
    prop_oneof![
        Just(SqlValue::Null),
        any::<i64>().prop_map(SqlValue::Integer),
        prop::num::f64::NORMAL.prop_map(SqlValue::Real),
        ".{0,20}".prop_map(SqlValue::Text),
    ]
}

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z.
const FIRST_MS: i64 = -62_135_596_800_000;
const LAST_MS: i64 = 253_402_300_799_999;

proptest! {
    #[test]
    fn message_ids_round_trip(id in 0..1_000_000_000_000_000_000i64) {
        prop_assert_eq!(parse_id(&id.to_string()), Some(id));
    }

    #[test]
    fn message_ids_are_digits_only(text in prop_oneof![".*", "[0-9+\\- ]{0,20}", "[0-9]{17,25}"]) {
        match parse_id(&text) {
            Some(id) => {
                prop_assert!(id >= 0);
                prop_assert!(!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()));
                prop_assert_eq!(text.parse::<i64>().ok(), Some(id));
            }
            None => prop_assert!(
                text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit())
            ),
        }
    }

    #[test]
    fn membership_ids_round_trip(tenant in guid(), chat in chat_id(), other in chat_id(), user in guid()) {
        let id = membership_id(&tenant, &chat, &user);
        prop_assert_eq!(member_user_id(&id, &chat), Some(user.to_ascii_lowercase()));
        if other != chat {
            prop_assert_eq!(member_user_id(&id, &other), None);
        }
        // A bare user id (Graph accepts one) names that user in any chat.
        prop_assert_eq!(member_user_id(&user, &other), Some(user.to_ascii_lowercase()));
    }

    #[test]
    fn membership_id_garbage_never_panics(text in prop_oneof![".*", "[A-Za-z0-9+/=]{0,80}"], chat in chat_id()) {
        if let Some(user) = member_user_id(&text, &chat) {
            prop_assert_eq!(user.clone(), user.to_ascii_lowercase());
        }
    }

    /// A chat id in any of the URL shapes SDKs bind with comes back as it was.
    #[test]
    fn navigation_keys_round_trip(id in chat_id(), base in prop::sample::select(&["https://graph.microsoft.com/v1.0/", "/", "", "http://127.0.0.1:1/beta/users/u/"][..]), shape in 0..4u8) {
        let encoded = id.replace(':', "%3A").replace('@', "%40");
        let url = match shape {
            0 => format!("{base}chats('{id}')"),
            1 => format!("{base}chats(%27{encoded}%27)"),
            2 => format!("{base}Chats/{encoded}"),
            _ => format!("{base}chats/{id}/"),
        };
        prop_assert_eq!(navigation_key(&url, "chats"), Some(id), "{}", url);
    }

    #[test]
    fn navigation_key_garbage_never_panics(text in prop_oneof![".*", "[a-z/()'%0-9A-F:]{0,30}"]) {
        if let Some(key) = navigation_key(&text, "chats") {
            prop_assert!(!key.is_empty() && !key.contains(['/', '\'']));
        }
    }

    #[test]
    fn cursors_round_trip(keys in sort_keys(), cursor in prop::collection::vec(sql_value(), 0..5)) {
        let token = paging::encode(&keys, &cursor);
        prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        prop_assert_eq!(paging::decode(&keys, &token), Some(cursor));
    }

    #[test]
    fn cursors_belong_to_their_sort(keys in sort_keys(), other in sort_keys(), cursor in prop::collection::vec(sql_value(), 0..3)) {
        prop_assume!(paging::sort_signature(&keys) != paging::sort_signature(&other));
        prop_assert_eq!(paging::decode(&other, &paging::encode(&keys, &cursor)), None);
    }

    #[test]
    fn cursor_garbage_never_panics(keys in sort_keys(), text in prop_oneof![".*", "[A-Za-z0-9_=-]{0,80}"]) {
        let _ = paging::decode(&keys, &text);
    }

    #[test]
    fn date_times_round_trip(ms in FIRST_MS..=LAST_MS) {
        prop_assert_eq!(graph_time::parse(&graph_time::millis(ms)), Some(ms));
        prop_assert_eq!(graph_time::parse(&graph_time::seconds(ms)), Some(ms - ms.rem_euclid(1000)));
    }

    #[test]
    fn date_time_garbage_never_panics(text in prop_oneof![".*", "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{0,20}[Z+-][0-9:]{0,5}"]) {
        let _ = graph_time::parse(&text);
    }
}

/// Mail ids are Exchange-shaped and travel in URL paths unescaped: prefix, URL-safe alphabet,
/// fixed length, and never the same twice.
#[test]
fn mail_ids_have_exchanges_shape() {
    let url_safe = |id: &str| {
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let mut seen = std::collections::HashSet::new();
    for _ in 0..500 {
        let (message, folder, key) = (new_message_id(), new_folder_id(), new_change_key());
        assert!(
            message.starts_with("AAMkA") && message.len() == 69 && url_safe(&message),
            "{message}"
        );
        assert!(
            folder.starts_with("AQMkA") && folder.len() == 49 && url_safe(&folder),
            "{folder}"
        );
        assert!(key.starts_with("CQAAABYAAA") && key.len() == 30, "{key}");
        assert!(seen.insert(message) && seen.insert(folder) && seen.insert(key));
    }
}

// ---------------------------------------------------------------------------------------------
// MIME
// ---------------------------------------------------------------------------------------------

/// Text a client may send, with line breaks and header syntax mixed in.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,20}",
        "[a-z :<>\"\\\\\r\n]{0,20}",
        Just("x\r\nBcc: victim@example.com".to_string()),
        Just("x\nContent-Type: text/html\n\n<script>".to_string()),
        Just("x\rSubject: spoofed".to_string()),
    ]
}

fn recipient() -> impl Strategy<Value = Recipient> {
    (prop::option::of(hostile()), prop::option::of(hostile()))
        .prop_map(|(address, name)| Recipient { address, name })
}

fn attachment() -> impl Strategy<Value = AttachmentRecord> {
    (
        hostile(),
        hostile(),
        prop::option::of(hostile()),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(
            |(name, content_type, content_id, is_inline, content)| AttachmentRecord {
                id: "a".into(),
                name,
                content_type,
                size: content.len() as i64,
                is_inline,
                content_id,
                modified_ms: 0,
                content,
            },
        )
}

/// Checks one header block: every line is `Name: value` with a name from `allowed` (in
/// order, each once at most), and no CR or LF inside a line.
fn header_names(block: &str) -> Result<Vec<String>, TestCaseError> {
    let mut names = Vec::new();
    for line in block.split("\r\n") {
        prop_assert!(!line.contains(['\r', '\n']), "bare CR or LF in {:?}", line);
        let (name, _) = line
            .split_once(": ")
            .ok_or_else(|| TestCaseError::fail(format!("not a header: {line:?}")))?;
        prop_assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':'),
            "{:?}",
            line
        );
        names.push(name.to_string());
    }
    Ok(names)
}

proptest! {
    /// Whatever the subject, names, addresses, custom headers and attachment names hold, the
    /// message has exactly the header lines it should: none can be smuggled in.
    #[test]
    fn mime_headers_cannot_be_injected(
        subject in prop::option::of(hostile()),
        from in prop::option::of(recipient()),
        to in prop::collection::vec(recipient(), 0..3),
        cc in prop::collection::vec(recipient(), 0..2),
        bcc in prop::collection::vec(recipient(), 0..2),
        headers in prop::collection::vec((prop_oneof!["x-[a-z]{1,5}", "x-[a-z\r\n :]{1,8}"], hostile()), 0..3),
        message_id in hostile(),
        body in hostile(),
        html in any::<bool>(),
        attachments in prop::collection::vec(attachment(), 0..3),
    ) {
        let m = MailRecord {
            subject,
            from: from.clone(),
            to: to.clone(),
            cc: cc.clone(),
            bcc: bcc.clone(),
            headers: headers.clone(),
            internet_message_id: message_id,
            body,
            body_type: if html { "html" } else { "text" }.into(),
            ..MailRecord::default()
        };
        let doc = mime(&m, &attachments);
        let (head, rest) = doc.split_once("\r\n\r\n").ok_or_else(|| TestCaseError::fail("no blank line"))?;
        let mut expected: Vec<String> = Vec::new();
        for (name, present) in [("From", from.is_some()), ("To", !to.is_empty()), ("Cc", !cc.is_empty()), ("Bcc", !bcc.is_empty())] {
            if present {
                expected.push(name.into());
            }
        }
        expected.extend(["Subject", "Date", "Message-ID"].map(String::from));
        expected.extend(headers.iter().map(|(n, _)| n.chars().filter(|c| c.is_ascii_graphic() && *c != ':').collect::<String>()));
        expected.push("MIME-Version".into());
        expected.push("Content-Type".into());
        if attachments.is_empty() {
            expected.push("Content-Transfer-Encoding".into());
        }
        prop_assert_eq!(header_names(head)?, expected);
        if attachments.is_empty() {
            return Ok(());
        }
        // Each attachment's part has its own headers, just as fixed.
        let boundary = head
            .split("boundary=\"")
            .nth(1)
            .and_then(|b| b.split('"').next())
            .ok_or_else(|| TestCaseError::fail("no boundary"))?;
        let parts: Vec<&str> = rest.split(&format!("--{boundary}\r\n")).skip(2).collect();
        prop_assert_eq!(parts.len(), attachments.len());
        for (part, a) in parts.iter().zip(&attachments) {
            let (head, _) = part.split_once("\r\n\r\n").ok_or_else(|| TestCaseError::fail("no blank line in part"))?;
            let mut expected = vec!["Content-Type", "Content-Disposition", "Content-Transfer-Encoding"];
            if a.content_id.is_some() {
                expected.push("Content-ID");
            }
            prop_assert_eq!(header_names(head)?, expected);
        }
    }
}

#[test]
fn mime_header_injection_regression() {
    // Found by `mime_headers_cannot_be_injected`: display names, custom header names and
    // values, and the message id went into header lines as they were.
    let m = MailRecord {
        subject: Some("hi".into()),
        from: Some(Recipient {
            address: Some("a@contoso.com".into()),
            name: Some("Eve\r\nBcc: victim@example.com".into()),
        }),
        headers: vec![(
            "x-a\r\nReply-To".into(),
            "evil@example.com\r\nX-Spam: no".into(),
        )],
        internet_message_id: "<id@x>\r\nSender: boss@contoso.com".into(),
        body_type: "text".into(),
        ..MailRecord::default()
    };
    let doc = mime(&m, &[]);
    let (head, _) = doc.split_once("\r\n\r\n").unwrap();
    let lines: Vec<&str> = head.split("\r\n").collect();
    assert!(
        lines.iter().all(|l| !l.starts_with("Bcc")
            && !l.starts_with("Reply-To")
            && !l.starts_with("X-Spam")
            && !l.starts_with("Sender")),
        "{head}"
    );
    assert!(lines.contains(&"From: \"Eve  Bcc: victim@example.com\" <a@contoso.com>"));
    assert!(lines.contains(&"x-aReply-To: evil@example.com  X-Spam: no"));
}
