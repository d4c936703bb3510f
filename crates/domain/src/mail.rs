//! Outlook mail (`microsoft.graph.message`, `microsoft.graph.mailFolder`): every user's mailbox
//! with Graph's well-known folders, drafts (the create-message seed), reading with Outlook's
//! query rules, changes with change keys, moves and copies, and sending with delivery to every
//! recipient mailbox of the tenant in the same transaction.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use serde_json::{Map, Value, json};
use switchboard_odata::QueryOptions;
use switchboard_odata::ast::{Expr, features};
use switchboard_odata::schema::{Caps, EntitySchema, Property, PropertyType};
use switchboard_odata::sql::{SortKey, compile_orderby};

use crate::chats::Owner;
use crate::error::{Error, ErrorKind, Family};
use crate::graph_time::now_ms;
use crate::permissions::{self, Permissions};
use crate::principal::{Principal, PrincipalKind};
use crate::store::{Store, UserKey};
use crate::users::UserRecord;

const OUTLOOK: Family = Family::Outlook;

/// The well-known folders every mailbox has: (URL name, display name).
pub const WELL_KNOWN: &[(&str, &str)] = &[
    ("inbox", "Inbox"),
    ("drafts", "Drafts"),
    ("sentitems", "Sent Items"),
    ("deleteditems", "Deleted Items"),
    ("archive", "Archive"),
    ("junkemail", "Junk Email"),
    ("outbox", "Outbox"),
];

/// The well-known name of the mailbox's root folder (the parent of the top-level folders).
pub const ROOT: &str = "msgfolderroot";

/// Most recipients (to, cc and bcc together) one message may have.
pub const MAX_RECIPIENTS: usize = 500;

/// A mail folder as stored, with its counts (computed by the store when read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderRecord {
    /// Opaque id.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Mailbox owner.
    pub user_id: String,
    /// Parent folder id; `None` for the root.
    pub parent_id: Option<String>,
    /// `displayName`.
    pub display_name: String,
    /// The well-known name (lower case), for Graph's distinguished folders.
    pub well_known: Option<String>,
    /// `isHidden`.
    pub is_hidden: bool,
    /// Creation instant, epoch ms.
    pub created_ms: i64,
    /// `childFolderCount`.
    pub child_folder_count: i64,
    /// `totalItemCount`.
    pub total_item_count: i64,
    /// `unreadItemCount`.
    pub unread_item_count: i64,
}

/// `recipient` / `emailAddress`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recipient {
    /// `emailAddress.address`.
    pub address: Option<String>,
    /// `emailAddress.name`.
    pub name: Option<String>,
}

impl Recipient {
    /// Graph JSON.
    pub fn json(&self) -> Value {
        json!({ "emailAddress": { "name": self.name, "address": self.address } })
    }

    fn from_json(v: &Value) -> Recipient {
        let e = &v["emailAddress"];
        Recipient {
            address: e["address"].as_str().map(str::to_string),
            name: e["name"].as_str().map(str::to_string),
        }
    }
}

/// A mail message as stored (one mailbox's copy).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MailRecord {
    /// Opaque id (changes when the message moves).
    pub id: String,
    /// The id `Prefer: IdType="ImmutableId"` shows: kept across moves (the store makes one for a
    /// record that has none).
    pub immutable_id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Mailbox owner.
    pub user_id: String,
    /// `parentFolderId`; on insert, `wk:{name}` names a well-known folder of the mailbox.
    pub folder_id: String,
    /// `changeKey`, new on every change.
    pub change_key: String,
    /// `createdDateTime`, epoch ms.
    pub created_ms: i64,
    /// `lastModifiedDateTime`, epoch ms.
    pub modified_ms: i64,
    /// `receivedDateTime`, epoch ms.
    pub received_ms: i64,
    /// `sentDateTime`, epoch ms.
    pub sent_ms: Option<i64>,
    /// `isDraft`.
    pub is_draft: bool,
    /// `isRead`.
    pub is_read: bool,
    /// `subject`.
    pub subject: Option<String>,
    /// `body.contentType`: `text` or `html`.
    pub body_type: String,
    /// `body.content`.
    pub body: String,
    /// `importance`: low, normal, high.
    pub importance: String,
    /// `inferenceClassification`: focused, other.
    pub inference: String,
    /// `from`.
    pub from: Option<Recipient>,
    /// `sender`.
    pub sender: Option<Recipient>,
    /// `toRecipients`.
    pub to: Vec<Recipient>,
    /// `ccRecipients`.
    pub cc: Vec<Recipient>,
    /// `bccRecipients`.
    pub bcc: Vec<Recipient>,
    /// `replyTo`.
    pub reply_to: Vec<Recipient>,
    /// `categories`.
    pub categories: Vec<String>,
    /// `flag` (followupFlag JSON, always with `flagStatus`).
    pub flag: Value,
    /// `internetMessageHeaders` as (name, value).
    pub headers: Vec<(String, String)>,
    /// `internetMessageId`.
    pub internet_message_id: String,
    /// `conversationId`.
    pub conversation_id: String,
    /// `conversationIndex` (base64).
    pub conversation_index: String,
    /// `isDeliveryReceiptRequested`.
    pub delivery_receipt: Option<bool>,
    /// `isReadReceiptRequested`.
    pub read_receipt: bool,
    /// `unsubscribeData`.
    pub unsubscribe_data: Vec<String>,
    /// `unsubscribeEnabled`.
    pub unsubscribe_enabled: bool,
    /// `hasAttachments`.
    pub has_attachments: bool,
}

impl MailRecord {
    /// The properties the store keeps as one JSON document.
    pub fn doc(&self) -> Value {
        let list = |r: &[Recipient]| Value::Array(r.iter().map(Recipient::json).collect());
        json!({
            "from": self.from.as_ref().map(Recipient::json),
            "sender": self.sender.as_ref().map(Recipient::json),
            "to": list(&self.to), "cc": list(&self.cc), "bcc": list(&self.bcc), "replyTo": list(&self.reply_to),
            "flag": self.flag,
            "headers": self.headers.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
            "conversationIndex": self.conversation_index,
            "deliveryReceipt": self.delivery_receipt,
            "readReceipt": self.read_receipt,
            "unsubscribeData": self.unsubscribe_data,
            "unsubscribeEnabled": self.unsubscribe_enabled,
        })
    }

    /// [`MailRecord::doc`] as JSON text, written straight from the record: the same bytes as
    /// `doc().to_string()` without the `Value` tree between (an insertion-ordered map per
    /// object, each key hashed and allocated), which was most of encoding a message to store.
    pub fn doc_json(&self) -> String {
        use serde::Serialize;
        #[derive(Serialize)]
        struct Address<'a> {
            name: &'a Option<String>,
            address: &'a Option<String>,
        }
        #[derive(Serialize)]
        struct Addressed<'a> {
            #[serde(rename = "emailAddress")]
            email_address: Address<'a>,
        }
        #[derive(Serialize)]
        struct Header<'a> {
            name: &'a str,
            value: &'a str,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Doc<'a> {
            from: Option<Addressed<'a>>,
            sender: Option<Addressed<'a>>,
            to: Vec<Addressed<'a>>,
            cc: Vec<Addressed<'a>>,
            bcc: Vec<Addressed<'a>>,
            reply_to: Vec<Addressed<'a>>,
            flag: &'a Value,
            headers: Vec<Header<'a>>,
            conversation_index: &'a str,
            delivery_receipt: Option<bool>,
            read_receipt: bool,
            unsubscribe_data: &'a [String],
            unsubscribe_enabled: bool,
        }
        fn one(r: &Recipient) -> Addressed<'_> {
            Addressed {
                email_address: Address {
                    name: &r.name,
                    address: &r.address,
                },
            }
        }
        fn list(rs: &[Recipient]) -> Vec<Addressed<'_>> {
            rs.iter().map(one).collect()
        }
        let doc = Doc {
            from: self.from.as_ref().map(one),
            sender: self.sender.as_ref().map(one),
            to: list(&self.to),
            cc: list(&self.cc),
            bcc: list(&self.bcc),
            reply_to: list(&self.reply_to),
            flag: &self.flag,
            headers: self
                .headers
                .iter()
                .map(|(name, value)| Header { name, value })
                .collect(),
            conversation_index: &self.conversation_index,
            delivery_receipt: self.delivery_receipt,
            read_receipt: self.read_receipt,
            unsubscribe_data: &self.unsubscribe_data,
            unsubscribe_enabled: self.unsubscribe_enabled,
        };
        serde_json::to_string(&doc).unwrap_or_else(|_| self.doc().to_string())
    }

    /// Restores the properties kept in [`MailRecord::doc`].
    pub fn set_doc(&mut self, doc: &Value) {
        let list = |v: &Value| {
            v.as_array()
                .map(|a| a.iter().map(Recipient::from_json).collect())
                .unwrap_or_default()
        };
        self.from = doc
            .get("from")
            .filter(|v| !v.is_null())
            .map(Recipient::from_json);
        self.sender = doc
            .get("sender")
            .filter(|v| !v.is_null())
            .map(Recipient::from_json);
        self.to = list(&doc["to"]);
        self.cc = list(&doc["cc"]);
        self.bcc = list(&doc["bcc"]);
        self.reply_to = list(&doc["replyTo"]);
        self.flag = doc
            .get("flag")
            .cloned()
            .unwrap_or_else(|| json!({"flagStatus": "notFlagged"}));
        self.headers = doc["headers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|h| {
                        (
                            h["name"].as_str().unwrap_or_default().to_string(),
                            h["value"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.conversation_index = doc["conversationIndex"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        self.delivery_receipt = doc["deliveryReceipt"].as_bool();
        self.read_receipt = doc["readReceipt"].as_bool().unwrap_or(false);
        self.unsubscribe_data = doc["unsubscribeData"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        self.unsubscribe_enabled = doc["unsubscribeEnabled"].as_bool().unwrap_or(false);
    }

    /// The body as plain text (HTML stripped), for `bodyPreview` and `$search`.
    pub fn body_text(&self) -> String {
        if self.body_type == "html" {
            html_to_text(&self.body)
        } else {
            self.body.clone()
        }
    }

    /// `bodyPreview`: the first 255 characters of the text.
    pub fn body_preview(&self) -> String {
        preview(&self.body_text())
    }

    /// Every recipient's address and name, for `$search`.
    pub fn recipients_text(&self) -> String {
        self.to
            .iter()
            .chain(&self.cc)
            .chain(&self.bcc)
            .flat_map(|r| {
                [
                    r.address.clone().unwrap_or_default(),
                    r.name.clone().unwrap_or_default(),
                ]
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `flag.flagStatus`.
    pub fn flag_status(&self) -> String {
        self.flag["flagStatus"]
            .as_str()
            .unwrap_or("notFlagged")
            .to_string()
    }
}

/// `bodyPreview` of a plain text: whitespace runs collapsed to one space, then the first 255
/// characters (not bytes, so never half a character).
pub fn preview(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.chars().take(255).collect()
}

/// HTML to readable text: tags dropped (block ends become line breaks), `<head>`, `<style>` and
/// `<script>` contents dropped, common entities decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(pos) = rest.find('<') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        // An unclosed tag runs to the end of the input (sliced whole: cutting off its last byte
        // would split a multi-byte character).
        let (tag, end) = match after.find('>') {
            Some(e) => (&after[..e], e + 1),
            None => (after, after.len()),
        };
        let tag = tag.trim().to_ascii_lowercase();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        rest = &after[end..];
        if !tag.starts_with('/') && matches!(name.as_str(), "head" | "style" | "script" | "title") {
            let close = format!("</{name}");
            match rest.to_ascii_lowercase().find(&close) {
                Some(c) => {
                    let tail = &rest[c..];
                    rest = tail.find('>').map(|e| &tail[e + 1..]).unwrap_or("");
                }
                None => rest = "",
            }
            continue;
        }
        if matches!(
            name.as_str(),
            "br" | "p" | "div" | "tr" | "li" | "h1" | "h2" | "h3" | "h4" | "table"
        ) {
            out.push('\n');
        }
    }
    out.push_str(rest);
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .trim()
        .to_string()
}

/// Escapes text for HTML.
pub fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\n', "<br>")
}

/// A response's `conversationIndex`: the original's bytes (a 22-byte header, then one 5-byte
/// child block per reply, as Exchange builds it) with one more child block, base64 again —
/// the bytes are extended, not the base64 text, which would not decode.
fn reply_conversation_index(original: &str) -> String {
    let mut bytes = STANDARD.decode(original).unwrap_or_else(|_| random(22));
    bytes.extend(random(5));
    STANDARD.encode(bytes)
}

fn random(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// A message id in Exchange's shape (`AAMkA` and 64 URL-safe characters). The first 8 after
/// `AAMkA` are the creation time in milliseconds, in digits that sort as bytes do, the other 56
/// random: ids made together sort together, so the store's index on message ids takes a group
/// commit's new messages in its last pages instead of one random page per message (a sixth of
/// the pages storing a message wrote). Nothing reads the time back; ids stay opaque.
pub fn new_message_id() -> String {
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut time = [b'0'; 8];
    let mut t = u64::try_from(now_ms()).unwrap_or_default();
    for digit in time.iter_mut().rev() {
        *digit = DIGITS[(t % 62) as usize];
        t /= 62;
    }
    let mut id = String::with_capacity(69);
    id.push_str("AAMkA");
    id.extend(time.iter().map(|&b| char::from(b)));
    id.push_str(&URL_SAFE_NO_PAD.encode(random(42)));
    id
}

/// A folder id in Exchange's shape (`AQMk…`).
pub fn new_folder_id() -> String {
    format!("AQMkA{}", URL_SAFE_NO_PAD.encode(random(33)))
}

/// A fresh change key (`CQAAABYAAA…`).
pub fn new_change_key() -> String {
    format!("CQAAABYAAA{}", STANDARD.encode(random(15)))
}

/// The catalogue of `microsoft.graph.message` for `$filter` and `$orderby` (alias `m`).
pub static MAIL_SCHEMA: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.message",
    key_column: "seq",
    properties: &[
        p("id", "id", PropertyType::String, false, false),
        p("subject", "subject", PropertyType::String, true, true),
        p("isRead", "is_read", PropertyType::Boolean, true, false),
        p("isDraft", "is_draft", PropertyType::Boolean, true, false),
        p(
            "importance",
            "importance",
            PropertyType::Enum(&["low", "normal", "high"]),
            true,
            false,
        ),
        p(
            "inferenceClassification",
            "inference",
            PropertyType::Enum(&["focused", "other"]),
            true,
            false,
        ),
        p(
            "from/emailAddress/address",
            "from_address",
            PropertyType::String,
            true,
            true,
        ),
        p(
            "from/emailAddress/name",
            "from_name",
            PropertyType::String,
            true,
            true,
        ),
        p(
            "sender/emailAddress/address",
            "sender_address",
            PropertyType::String,
            true,
            true,
        ),
        p(
            "receivedDateTime",
            "received_ms",
            PropertyType::DateTime,
            false,
            false,
        ),
        p(
            "sentDateTime",
            "sent_ms",
            PropertyType::DateTime,
            false,
            false,
        ),
        p(
            "createdDateTime",
            "created_ms",
            PropertyType::DateTime,
            false,
            false,
        ),
        p(
            "lastModifiedDateTime",
            "modified_ms",
            PropertyType::DateTime,
            false,
            false,
        ),
        p(
            "hasAttachments",
            "has_attachments",
            PropertyType::Boolean,
            true,
            false,
        ),
        p(
            "categories",
            "categories",
            PropertyType::StringCollection,
            true,
            false,
        ),
        p(
            "flag/flagStatus",
            "flag_status",
            PropertyType::Enum(&["notFlagged", "complete", "flagged"]),
            true,
            false,
        ),
        p(
            "conversationId",
            "conversation_id",
            PropertyType::String,
            false,
            false,
        ),
        p(
            "internetMessageId",
            "internet_message_id",
            PropertyType::String,
            false,
            false,
        ),
        p(
            "parentFolderId",
            "folder_id",
            PropertyType::String,
            false,
            false,
        ),
    ],
};

const fn p(
    name: &'static str,
    column: &'static str,
    ty: PropertyType,
    ci: bool,
    _text: bool,
) -> Property {
    Property {
        name,
        column,
        ty,
        caps: Caps {
            filter: true,
            orderby: true,
            select: true,
            search: false,
            case_insensitive: ci,
        },
    }
}

/// A message list query checked against Outlook's rules, for the store.
#[derive(Debug, Clone)]
pub struct MailQuery<'a> {
    /// `$filter`.
    pub filter: Option<&'a Expr>,
    /// `$search`, compiled (the store binds every value).
    pub search: Option<crate::mail_search::MailSearch>,
    /// Sort keys (the store appends the row key, newest first).
    pub order: Vec<SortKey>,
    /// `$skip`.
    pub skip: u64,
    /// Page size.
    pub limit: usize,
    /// `$count=true`.
    pub count: bool,
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct ListPage<T> {
    /// The items.
    pub items: Vec<T>,
    /// `$skip` of the next page, when there is one.
    pub next_skip: Option<u64>,
    /// `@odata.count`, when asked.
    pub count: Option<u64>,
}

/// A change to one message, applied inside the store's write transaction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MailChange {
    /// The properties to change (already checked).
    pub patch: Map<String, Value>,
    /// Move to this folder id, with this new message id.
    pub move_to: Option<(String, String)>,
    /// The change key the caller's `If-Match` named, if any.
    pub if_match: Option<String>,
    /// New change key.
    pub change_key: String,
    /// When, epoch ms.
    pub now_ms: i64,
}

impl MailChange {
    /// Applies the change to the stored message.
    pub fn apply(&self, m: &mut MailRecord) -> Result<(), Error> {
        if let Some(expected) = &self.if_match
            && *expected != m.change_key
        {
            return Err(Error::new(
                ErrorKind::PreconditionFailed,
                "ErrorIrresolvableConflict",
                "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.",
            ));
        }
        if !self.patch.is_empty() {
            let input = parse_message(&self.patch)?;
            if !m.is_draft
                && let Some(name) = input.draft_only()
            {
                return Err(Error::bad_request(
                    OUTLOOK,
                    format!("The property '{name}' can only be changed on a draft message."),
                ));
            }
            input.apply(m);
        }
        if let Some((folder, id)) = &self.move_to {
            m.folder_id = folder.clone();
            m.id = id.clone();
        }
        m.change_key = self.change_key.clone();
        m.modified_ms = self.now_ms;
        Ok(())
    }
}

/// What the store did with a write.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "made once per write and moved straight to the caller; a box would only add an allocation"
)]
pub enum MailOutcome {
    /// Done; the message as it now is (for inserts, the first record).
    Done(Option<MailRecord>),
    /// No such message.
    NotFound,
    /// Refused by the rules; nothing written.
    Refused(Error),
}

/// A mail write, run by the store in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum MailWrite {
    /// Stores these messages (folder `wk:{name}` resolved in the mailbox, created if needed).
    Insert(Vec<MailRecord>),
    /// Changes one message of `user_id`.
    Change {
        user_id: String,
        id: String,
        change: MailChange,
    },
    /// Deletes one message of `user_id` for good.
    Delete { user_id: String, id: String },
    /// Stores a copy of a message, with copies of its attachments (`from_key`: the original's
    /// immutable id in the same mailbox).
    Copy {
        from_key: String,
        record: Box<MailRecord>,
    },
    /// Adds a file attachment to a draft of `user_id` (refused on a sent message).
    AddAttachment {
        user_id: String,
        id: String,
        attachment: crate::mail_attachments::AttachmentRecord,
        change_key: String,
        now_ms: i64,
    },
    /// Removes an attachment from a message of `user_id`.
    DeleteAttachment {
        user_id: String,
        id: String,
        attachment_id: String,
        change_key: String,
        now_ms: i64,
    },
    /// Sends: removes the draft (when sending one; its change key checked against `if_match`),
    /// then stores the sent copy and every delivery (`records`, each with the draft's
    /// attachments, or its own copies of `files` for a message sent in one step) and the
    /// non-delivery reports (`reports`, without files).
    Send {
        user_id: String,
        draft_id: Option<String>,
        if_match: Option<String>,
        records: Vec<MailRecord>,
        reports: Vec<MailRecord>,
        files: Vec<crate::mail_attachments::AttachmentRecord>,
    },
    /// Stores a new draft with the file attachments its body carried.
    CreateDraft {
        record: Box<MailRecord>,
        files: Vec<crate::mail_attachments::AttachmentRecord>,
    },
}

// ---------------------------------------------------------------------------------------------
// Request bodies.
// ---------------------------------------------------------------------------------------------

fn bad(message: impl Into<String>) -> Error {
    Error::bad_request(OUTLOOK, message)
}

fn wrong_type(name: &str, expected: &str) -> Error {
    bad(format!(
        "Invalid value for property '{name}' of type 'microsoft.graph.message': expected {expected}."
    ))
}

fn enum_member(name: &str, value: &Value, members: &[&'static str]) -> Result<String, Error> {
    let Value::String(text) = value else {
        return Err(wrong_type(name, "a string"));
    };
    members
        .iter()
        .find(|m| m.eq_ignore_ascii_case(text))
        .map(|m| m.to_string())
        .ok_or_else(|| bad(format!("Requested value '{text}' was not found for property '{name}'. Expected one of: {}.", members.join(", "))))
}

/// Whether `address` is an email address Outlook accepts.
pub fn valid_address(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',' || c == ';')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

fn recipient(name: &str, value: &Value) -> Result<Recipient, Error> {
    let Value::Object(o) = value else {
        return Err(wrong_type(name, "a recipient object"));
    };
    if let Some(k) = o.keys().find(|k| !k.contains('@') && *k != "emailAddress") {
        return Err(bad(format!(
            "The property '{k}' does not exist on type 'microsoft.graph.recipient'."
        )));
    }
    let e = match o.get("emailAddress") {
        None | Some(Value::Null) => return Ok(Recipient::default()),
        Some(Value::Object(e)) => e,
        Some(_) => {
            return Err(wrong_type(
                &format!("{name}/emailAddress"),
                "an emailAddress object",
            ));
        }
    };
    if let Some(k) = e
        .keys()
        .find(|k| !k.contains('@') && *k != "address" && *k != "name")
    {
        return Err(bad(format!(
            "The property '{k}' does not exist on type 'microsoft.graph.emailAddress'."
        )));
    }
    let text = |k: &str| -> Result<Option<String>, Error> {
        match e.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(wrong_type(&format!("{name}/emailAddress/{k}"), "a string")),
        }
    };
    let address = text("address")?;
    if let Some(a) = &address
        && !valid_address(a)
    {
        return Err(Error::new(
            ErrorKind::BadRequest,
            "ErrorInvalidRecipients",
            format!("At least one recipient is not valid., Recipient '{a}' is not resolved."),
        ));
    }
    Ok(Recipient {
        address,
        name: text("name")?,
    })
}

fn recipients(name: &str, value: &Value) -> Result<Vec<Recipient>, Error> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(|v| recipient(name, v)).collect(),
        _ => Err(wrong_type(name, "a collection of recipients")),
    }
}

fn strings(name: &str, value: &Value) -> Result<Vec<String>, Error> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| wrong_type(name, "a collection of strings"))
            })
            .collect(),
        _ => Err(wrong_type(name, "a collection of strings")),
    }
}

fn boolean(name: &str, value: &Value) -> Result<bool, Error> {
    value.as_bool().ok_or_else(|| wrong_type(name, "a boolean"))
}

fn date_time_time_zone(name: &str, value: &Value) -> Result<Value, Error> {
    match value {
        Value::Null => Ok(Value::Null),
        Value::Object(o) => {
            let dt = o
                .get("dateTime")
                .and_then(Value::as_str)
                .ok_or_else(|| wrong_type(&format!("{name}/dateTime"), "a string"))?;
            let tz = match o.get("timeZone") {
                None | Some(Value::Null) => "UTC".to_string(),
                Some(Value::String(s)) => s.clone(),
                Some(_) => return Err(wrong_type(&format!("{name}/timeZone"), "a string")),
            };
            Ok(json!({"dateTime": dt, "timeZone": tz}))
        }
        _ => Err(wrong_type(name, "a dateTimeTimeZone object")),
    }
}

fn flag(value: &Value) -> Result<Value, Error> {
    let Value::Object(o) = value else {
        return if value.is_null() {
            Ok(json!({"flagStatus": "notFlagged"}))
        } else {
            Err(wrong_type("flag", "a followupFlag object"))
        };
    };
    let mut out = Map::new();
    let status = match o.get("flagStatus") {
        None | Some(Value::Null) => "notFlagged".to_string(),
        Some(v) => enum_member("flag/flagStatus", v, &["notFlagged", "complete", "flagged"])?,
    };
    out.insert("flagStatus".into(), json!(status));
    for k in ["startDateTime", "dueDateTime", "completedDateTime"] {
        if let Some(v) = o.get(k) {
            let v = date_time_time_zone(&format!("flag/{k}"), v)?;
            if !v.is_null() {
                out.insert(k.into(), v);
            }
        }
    }
    if let Some(k) = o.keys().find(|k| {
        !k.contains('@')
            && ![
                "flagStatus",
                "startDateTime",
                "dueDateTime",
                "completedDateTime",
            ]
            .contains(&k.as_str())
    }) {
        return Err(bad(format!(
            "The property '{k}' does not exist on type 'microsoft.graph.followupFlag'."
        )));
    }
    Ok(Value::Object(out))
}

/// The writable properties of a message, as sent (each `None` when absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageInput {
    /// `subject`.
    pub subject: Option<Option<String>>,
    /// `body` (contentType canonical, content).
    pub body: Option<(String, String)>,
    /// `importance`.
    pub importance: Option<String>,
    /// `inferenceClassification`.
    pub inference: Option<String>,
    /// `from`.
    pub from: Option<Option<Recipient>>,
    /// `sender`.
    pub sender: Option<Option<Recipient>>,
    /// `toRecipients`.
    pub to: Option<Vec<Recipient>>,
    /// `ccRecipients`.
    pub cc: Option<Vec<Recipient>>,
    /// `bccRecipients`.
    pub bcc: Option<Vec<Recipient>>,
    /// `replyTo`.
    pub reply_to: Option<Vec<Recipient>>,
    /// `categories`.
    pub categories: Option<Vec<String>>,
    /// `flag`.
    pub flag: Option<Value>,
    /// `internetMessageHeaders`.
    pub headers: Option<Vec<(String, String)>>,
    /// `internetMessageId`.
    pub internet_message_id: Option<String>,
    /// `isDeliveryReceiptRequested`.
    pub delivery_receipt: Option<Option<bool>>,
    /// `isReadReceiptRequested`.
    pub read_receipt: Option<bool>,
    /// `isRead`.
    pub is_read: Option<bool>,
    /// `unsubscribeData`.
    pub unsubscribe_data: Option<Vec<String>>,
    /// `unsubscribeEnabled`.
    pub unsubscribe_enabled: Option<bool>,
}

/// Properties of a message the service owns: accepted in bodies and ignored.
const SERVER_OWNED: &[&str] = &[
    "id",
    "changeKey",
    "createdDateTime",
    "lastModifiedDateTime",
    "bodyPreview",
    "conversationId",
    "conversationIndex",
    "hasAttachments",
    "isDraft",
    "parentFolderId",
    "receivedDateTime",
    "sentDateTime",
    "uniqueBody",
    "webLink",
    "mentionsPreview",
];

/// Reads a message object from a request body (property names matched ignoring case).
pub fn parse_message(body: &Map<String, Value>) -> Result<MessageInput, Error> {
    let mut input = MessageInput::default();
    for (key, value) in body {
        if key.contains('@') {
            continue;
        }
        let k = key.to_ascii_lowercase();
        match k.as_str() {
            "subject" => {
                input.subject = Some(match value {
                    Value::Null => None,
                    Value::String(s) => Some(s.clone()),
                    _ => return Err(wrong_type("subject", "a string")),
                })
            }
            "body" => {
                let Value::Object(b) = value else {
                    if value.is_null() {
                        continue;
                    }
                    return Err(wrong_type("body", "an itemBody object"));
                };
                let content_type = match b.get("contentType") {
                    None | Some(Value::Null) => "text".to_string(),
                    Some(v) => enum_member("body/contentType", v, &["text", "html"])?,
                };
                let content = match b.get("content") {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(_) => return Err(wrong_type("body/content", "a string")),
                };
                if let Some(k) = b
                    .keys()
                    .find(|k| !k.contains('@') && *k != "contentType" && *k != "content")
                {
                    return Err(bad(format!(
                        "The property '{k}' does not exist on type 'microsoft.graph.itemBody'."
                    )));
                }
                input.body = Some((content_type, content));
            }
            "importance" => {
                input.importance = Some(enum_member(
                    "importance",
                    value,
                    &["low", "normal", "high"],
                )?)
            }
            "inferenceclassification" => {
                input.inference = Some(enum_member(
                    "inferenceClassification",
                    value,
                    &["focused", "other"],
                )?)
            }
            "from" => {
                input.from = Some(if value.is_null() {
                    None
                } else {
                    Some(recipient("from", value)?)
                })
            }
            "sender" => {
                input.sender = Some(if value.is_null() {
                    None
                } else {
                    Some(recipient("sender", value)?)
                })
            }
            "torecipients" => input.to = Some(recipients("toRecipients", value)?),
            "ccrecipients" => input.cc = Some(recipients("ccRecipients", value)?),
            "bccrecipients" => input.bcc = Some(recipients("bccRecipients", value)?),
            "replyto" => input.reply_to = Some(recipients("replyTo", value)?),
            "categories" => input.categories = Some(strings("categories", value)?),
            "flag" => input.flag = Some(flag(value)?),
            "internetmessageheaders" => {
                let items = match value {
                    Value::Null => Vec::new(),
                    Value::Array(items) => items.clone(),
                    _ => {
                        return Err(wrong_type(
                            "internetMessageHeaders",
                            "a collection of internetMessageHeader",
                        ));
                    }
                };
                let mut headers = Vec::new();
                for h in items {
                    let name = h.get("name").and_then(Value::as_str).unwrap_or_default();
                    let value = h.get("value").and_then(Value::as_str).unwrap_or_default();
                    if !(name.len() > 2 && name[..2].eq_ignore_ascii_case("x-")) {
                        return Err(bad(format!(
                            "The internet message header name '{name}' should start with 'x-' or 'X-'."
                        )));
                    }
                    headers.push((name.to_string(), value.to_string()));
                }
                input.headers = Some(headers);
            }
            "internetmessageid" => {
                input.internet_message_id = match value {
                    Value::Null => None,
                    Value::String(s) => Some(s.clone()),
                    _ => return Err(wrong_type("internetMessageId", "a string")),
                }
            }
            "isdeliveryreceiptrequested" => {
                input.delivery_receipt = Some(if value.is_null() {
                    None
                } else {
                    Some(boolean("isDeliveryReceiptRequested", value)?)
                })
            }
            "isreadreceiptrequested" => {
                input.read_receipt = Some(boolean("isReadReceiptRequested", value)?)
            }
            "isread" => input.is_read = Some(boolean("isRead", value)?),
            "unsubscribedata" => input.unsubscribe_data = Some(strings("unsubscribeData", value)?),
            "unsubscribeenabled" => {
                input.unsubscribe_enabled = Some(boolean("unsubscribeEnabled", value)?)
            }
            "attachments" => {
                if value.as_array().is_some_and(|a| !a.is_empty()) {
                    return Err(Error::new(
                        ErrorKind::NotImplemented,
                        "NotImplemented",
                        "Attachments are not implemented by Switchboard yet.",
                    ));
                }
            }
            _ if SERVER_OWNED.iter().any(|s| s.eq_ignore_ascii_case(key)) => {}
            _ => {
                return Err(bad(format!(
                    "The property '{key}' does not exist on type 'microsoft.graph.message'. Make sure to only use property names that are defined by the type."
                )));
            }
        }
    }
    Ok(input)
}

impl MessageInput {
    /// The first property given that only a draft may change (Graph lets recipients, `from` and
    /// `sender` change on any message).
    pub fn draft_only(&self) -> Option<&'static str> {
        [
            (self.subject.is_some(), "subject"),
            (self.body.is_some(), "body"),
            (self.reply_to.is_some(), "replyTo"),
            (self.internet_message_id.is_some(), "internetMessageId"),
            (self.headers.is_some(), "internetMessageHeaders"),
        ]
        .into_iter()
        .find(|(given, _)| *given)
        .map(|(_, name)| name)
    }

    /// Applies the given properties to a message.
    pub fn apply(self, m: &mut MailRecord) {
        if let Some(v) = self.subject {
            m.subject = v;
        }
        if let Some((t, c)) = self.body {
            m.body_type = t;
            m.body = if m.body_type == "html" {
                crate::message_body::sanitize(&c)
            } else {
                c
            };
        }
        if let Some(v) = self.importance {
            m.importance = v;
        }
        if let Some(v) = self.inference {
            m.inference = v;
        }
        if let Some(v) = self.from {
            m.from = v;
        }
        if let Some(v) = self.sender {
            m.sender = v;
        }
        if let Some(v) = self.to {
            m.to = v;
        }
        if let Some(v) = self.cc {
            m.cc = v;
        }
        if let Some(v) = self.bcc {
            m.bcc = v;
        }
        if let Some(v) = self.reply_to {
            m.reply_to = v;
        }
        if let Some(v) = self.categories {
            m.categories = v;
        }
        if let Some(v) = self.flag {
            m.flag = v;
        }
        if let Some(v) = self.headers {
            m.headers = v;
        }
        if let Some(v) = self.internet_message_id {
            m.internet_message_id = v;
        }
        if let Some(v) = self.delivery_receipt {
            m.delivery_receipt = v;
        }
        if let Some(v) = self.read_receipt {
            m.read_receipt = v;
        }
        if let Some(v) = self.is_read {
            m.is_read = v;
        }
        if let Some(v) = self.unsubscribe_data {
            m.unsubscribe_data = v;
        }
        if let Some(v) = self.unsubscribe_enabled {
            m.unsubscribe_enabled = v;
        }
    }
}

/// Takes the file attachments out of a message body (`POST …/messages`, `sendMail`'s
/// `message`), checked as `POST …/attachments` checks one; the rest is the message.
pub fn split_attachments(
    body: &Map<String, Value>,
) -> Result<
    (
        Map<String, Value>,
        Vec<crate::mail_attachments::AttachmentRecord>,
    ),
    Error,
> {
    let mut rest = Map::new();
    let mut files = Vec::new();
    for (key, value) in body {
        if !key.eq_ignore_ascii_case("attachments") {
            rest.insert(key.clone(), value.clone());
            continue;
        }
        match value {
            Value::Null => {}
            Value::Array(items) => {
                for item in items {
                    let Value::Object(a) = item else {
                        return Err(wrong_type("attachments", "a collection of attachment"));
                    };
                    files.push(crate::mail_attachments::parse_attachment(a)?);
                }
            }
            _ => return Err(wrong_type("attachments", "a collection of attachment")),
        }
    }
    let total: usize = files.iter().map(|a| a.content.len()).sum();
    if total > crate::mail_attachments::MAX_ATTACHMENT_BYTES {
        return Err(Error::new(
            ErrorKind::PayloadTooLarge,
            "ErrorRequestEntityTooLarge",
            "The attachments of one request may total 3 MB; add larger files with an upload session (createUploadSession), which Switchboard does not implement.",
        ));
    }
    Ok((rest, files))
}

/// A value of `body` ignoring the key's case (`Message`, `SaveToSentItems`, `DestinationId`).
pub fn param_ci<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

// ---------------------------------------------------------------------------------------------
// Operations.
// ---------------------------------------------------------------------------------------------

/// The mail family's operations over a store.
pub struct Mail<'a> {
    /// The store.
    pub store: &'a dyn Store,
}

fn not_found() -> Error {
    Error::not_found(OUTLOOK, "")
}

fn access_denied() -> Error {
    Error::insufficient_privileges(OUTLOOK)
}

fn new_draft(user: &UserRecord, folder_id: String, now: i64) -> MailRecord {
    let domain = user
        .user_principal_name
        .rsplit_once('@')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    MailRecord {
        id: new_message_id(),
        immutable_id: new_message_id(),
        tenant_id: user.tenant_id.clone(),
        user_id: user.id.clone(),
        folder_id,
        change_key: new_change_key(),
        created_ms: now,
        modified_ms: now,
        received_ms: now,
        sent_ms: Some(now),
        is_draft: true,
        is_read: true,
        subject: None,
        body_type: "text".into(),
        body: String::new(),
        importance: "normal".into(),
        inference: "focused".into(),
        from: None,
        sender: None,
        to: Vec::new(),
        cc: Vec::new(),
        bcc: Vec::new(),
        reply_to: Vec::new(),
        categories: Vec::new(),
        flag: json!({"flagStatus": "notFlagged"}),
        headers: Vec::new(),
        internet_message_id: format!(
            "<{}@{}>",
            URL_SAFE_NO_PAD.encode(random(18)).to_ascii_uppercase(),
            domain
        ),
        conversation_id: format!("AAQkA{}", URL_SAFE_NO_PAD.encode(random(30))),
        conversation_index: STANDARD.encode(random(22)),
        delivery_receipt: Some(false),
        read_receipt: false,
        unsubscribe_data: Vec::new(),
        unsubscribe_enabled: false,
        has_attachments: false,
    }
}

/// What a mailbox route addresses, once checked: the mailbox owner.
pub struct Mailbox {
    /// The owner.
    pub user: UserRecord,
}

impl Mail<'_> {
    /// Checks the permission and the addressed mailbox, and makes sure its folders exist.
    pub async fn mailbox(
        &self,
        caller: &Principal,
        owner: &Owner,
        perms: &Permissions,
    ) -> Result<Mailbox, Error> {
        Ok(self.mailbox_and_folder(caller, owner, perms, None).await?.0)
    }

    /// [`Mail::mailbox`], and the folder `folder` (id or well-known name) of that mailbox if
    /// there is one, read with the mailbox in one store read.
    async fn mailbox_and_folder(
        &self,
        caller: &Principal,
        owner: &Owner,
        perms: &Permissions,
        folder: Option<&str>,
    ) -> Result<(Mailbox, Option<FolderRecord>), Error> {
        caller.require(perms)?;
        let key = match (owner, &caller.kind) {
            (Owner::Caller | Owner::Me, PrincipalKind::User { user_id, .. }) => user_id,
            (Owner::Caller | Owner::Me, PrincipalKind::App { .. }) => {
                return Err(bad(
                    "/me request is only valid with delegated authentication flow.",
                ));
            }
            (Owner::User(key), _) => key,
        };
        let (user, has_root, mut found) = self
            .store
            .mailbox_access(
                &caller.tenant_id,
                &crate::users::user_key(key),
                ROOT,
                folder,
            )
            .await?;
        let user = user.ok_or_else(|| invalid_user(key))?;
        if let (Owner::User(_), PrincipalKind::User { user_id, .. }) = (owner, &caller.kind)
            && !user.id.eq_ignore_ascii_case(user_id)
        {
            return Err(access_denied());
        }
        if !has_root {
            self.store
                .ensure_mailbox(&user.tenant_id, &user.id, now_ms())
                .await?;
            // The folders exist only now.
            if let Some(key) = folder {
                found = self.store.mail_folder(&user.id, key).await?;
            }
        }
        Ok((Mailbox { user }, found))
    }
}

/// The 404 Outlook answers for a mailbox owner that does not exist.
fn invalid_user(key: &str) -> Error {
    Error::new(
        ErrorKind::NotFound,
        "ErrorInvalidUser",
        format!("The requested user '{key}' is invalid."),
    )
}

impl Mail<'_> {
    /// A folder of the mailbox by id or well-known name.
    pub async fn folder(&self, mb: &Mailbox, key: &str) -> Result<FolderRecord, Error> {
        self.store
            .mail_folder(&mb.user.id, key)
            .await?
            .ok_or_else(not_found)
    }

    /// `GET …/mailFolders` (children of the root) and `…/mailFolders/{id}/childFolders`.
    pub async fn list_folders(
        &self,
        caller: &Principal,
        owner: &Owner,
        parent: Option<&str>,
        q: &QueryOptions,
        max_page_size: Option<usize>,
    ) -> Result<(Mailbox, ListPage<FolderRecord>), Error> {
        let mb = self
            .mailbox(caller, owner, &permissions::MAIL_FOLDERS_READ)
            .await?;
        let parent = self.folder(&mb, parent.unwrap_or(ROOT)).await?;
        check_folder_expand(q)?;
        if q.filter.is_some() || !q.orderby.is_empty() || q.search.is_some() {
            return Err(bad(
                "Switchboard supports $top, $skip, $count and $select on mail folders.",
            ));
        }
        let (top, skip) = paging(q, max_page_size)?;
        let (items, total) = self
            .store
            .mail_folders(&mb.user.id, &parent.id, skip, top + 1)
            .await?;
        Ok((
            mb,
            finish(items, top, skip, q.count.unwrap_or(false).then_some(total)),
        ))
    }

    /// `GET …/mailFolders/{id}`.
    pub async fn get_folder(
        &self,
        caller: &Principal,
        owner: &Owner,
        key: &str,
        q: &QueryOptions,
    ) -> Result<(Mailbox, FolderRecord), Error> {
        let mb = self
            .mailbox(caller, owner, &permissions::MAIL_FOLDERS_READ)
            .await?;
        check_folder_expand(q)?;
        let folder = self.folder(&mb, key).await?;
        Ok((mb, folder))
    }

    /// `POST …/mailFolders` and `…/mailFolders/{id}/childFolders`.
    pub async fn create_folder(
        &self,
        caller: &Principal,
        owner: &Owner,
        parent: Option<&str>,
        body: &Map<String, Value>,
    ) -> Result<(Mailbox, FolderRecord), Error> {
        let mb = self
            .mailbox(caller, owner, &permissions::MAIL_FOLDERS_WRITE)
            .await?;
        let parent = self.folder(&mb, parent.unwrap_or(ROOT)).await?;
        let mut name = None;
        let mut hidden = false;
        for (k, v) in body {
            match k.as_str() {
                "displayName" => {
                    name = Some(
                        v.as_str()
                            .ok_or_else(|| {
                                bad("Invalid value for property 'displayName': expected a string.")
                            })?
                            .to_string(),
                    )
                }
                "isHidden" => {
                    hidden = v.as_bool().ok_or_else(|| {
                        bad("Invalid value for property 'isHidden': expected a boolean.")
                    })?
                }
                k if k.contains('@')
                    || [
                        "id",
                        "parentFolderId",
                        "childFolderCount",
                        "unreadItemCount",
                        "totalItemCount",
                    ]
                    .contains(&k) => {}
                k => {
                    return Err(bad(format!(
                        "The property '{k}' does not exist on type 'microsoft.graph.mailFolder'."
                    )));
                }
            }
        }
        let name = name
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| bad("The folder needs a 'displayName'."))?;
        let folder = FolderRecord {
            id: new_folder_id(),
            tenant_id: mb.user.tenant_id.clone(),
            user_id: mb.user.id.clone(),
            parent_id: Some(parent.id.clone()),
            display_name: name,
            well_known: None,
            is_hidden: hidden,
            created_ms: now_ms(),
            child_folder_count: 0,
            total_item_count: 0,
            unread_item_count: 0,
        };
        self.store
            .insert_mail_folder(&folder)
            .await
            .map_err(|e| match e {
                crate::store::StoreError::Conflict(_) => Error::new(
                    ErrorKind::Conflict,
                    "ErrorFolderExists",
                    "A folder with the specified name already exists.",
                ),
                e => e.into(),
            })?;
        Ok((mb, folder))
    }

    /// `PATCH …/mailFolders/{id}` (displayName only).
    pub async fn rename_folder(
        &self,
        caller: &Principal,
        owner: &Owner,
        key: &str,
        body: &Map<String, Value>,
    ) -> Result<(Mailbox, FolderRecord), Error> {
        let mb = self
            .mailbox(caller, owner, &permissions::MAIL_FOLDERS_WRITE)
            .await?;
        let folder = self.folder(&mb, key).await?;
        let mut name = None;
        for (k, v) in body {
            match k.as_str() {
                "displayName" => {
                    name = Some(
                        v.as_str()
                            .ok_or_else(|| {
                                bad("Invalid value for property 'displayName': expected a string.")
                            })?
                            .to_string(),
                    )
                }
                k if k.contains('@')
                    || [
                        "id",
                        "parentFolderId",
                        "childFolderCount",
                        "unreadItemCount",
                        "totalItemCount",
                    ]
                    .contains(&k) => {}
                "isHidden" => {
                    return Err(bad(
                        "isHidden cannot be changed after the folder is created.",
                    ));
                }
                k => {
                    return Err(bad(format!(
                        "The property '{k}' does not exist on type 'microsoft.graph.mailFolder'."
                    )));
                }
            }
        }
        if folder.well_known.is_some() {
            return Err(Error::new(
                ErrorKind::BadRequest,
                "ErrorInvalidRequest",
                "A distinguished (well-known) folder cannot be renamed.",
            ));
        }
        if let Some(name) = name.filter(|n| !n.trim().is_empty()) {
            self.store
                .rename_mail_folder(&mb.user.id, &folder.id, &name)
                .await
                .map_err(|e| match e {
                    crate::store::StoreError::Conflict(_) => Error::new(
                        ErrorKind::Conflict,
                        "ErrorFolderExists",
                        "A folder with the specified name already exists.",
                    ),
                    e => e.into(),
                })?;
        }
        let folder = self.folder(&mb, &folder.id).await?;
        Ok((mb, folder))
    }

    /// `DELETE …/mailFolders/{id}`: the folder, its subfolders and their messages.
    pub async fn delete_folder(
        &self,
        caller: &Principal,
        owner: &Owner,
        key: &str,
    ) -> Result<(), Error> {
        let mb = self
            .mailbox(caller, owner, &permissions::MAIL_FOLDERS_WRITE)
            .await?;
        let folder = self.folder(&mb, key).await?;
        if folder.well_known.is_some() {
            return Err(Error::new(
                ErrorKind::BadRequest,
                "ErrorDeleteDistinguishedFolder",
                "Distinguished folders cannot be deleted.",
            ));
        }
        self.store
            .delete_mail_folder(&mb.user.id, &folder.id)
            .await?;
        Ok(())
    }

    /// `POST …/messages` and `…/mailFolders/{id}/messages`: a draft (the seed).
    pub async fn create_draft(
        &self,
        caller: &Principal,
        owner: &Owner,
        folder: Option<&str>,
        body: &Map<String, Value>,
    ) -> Result<(Mailbox, MailRecord), Error> {
        let (mb, found) = self
            .mailbox_and_folder(
                caller,
                owner,
                &permissions::MAIL_WRITE,
                Some(folder.unwrap_or("drafts")),
            )
            .await?;
        let (body, files) = split_attachments(body)?;
        let input = parse_message(&body)?;
        let folder_id = found.ok_or_else(not_found)?.id;
        let mut m = new_draft(&mb.user, folder_id, now_ms());
        input.apply(&mut m);
        check_recipient_count(&m)?;
        m.has_attachments = files.iter().any(|a| !a.is_inline);
        let write = if files.is_empty() {
            MailWrite::Insert(vec![m.clone()])
        } else {
            MailWrite::CreateDraft {
                record: Box::new(m.clone()),
                files,
            }
        };
        self.store.write_mail(&write).await?;
        Ok((mb, m))
    }

    /// `GET …/messages` and `…/mailFolders/{id}/messages`.
    pub async fn list(
        &self,
        caller: &Principal,
        owner: &Owner,
        folder: Option<&str>,
        q: &QueryOptions,
        max_page_size: Option<usize>,
    ) -> Result<(Mailbox, ListPage<MailRecord>), Error> {
        let mb = self.mailbox(caller, owner, &permissions::MAIL_READ).await?;
        let folder_id = match folder {
            Some(key) => Some(self.folder(&mb, key).await?.id),
            None => None,
        };
        let (top, skip) = paging(q, max_page_size)?;
        if crate::mail_attachments::message_expand(&q.expand)?.is_some() {
            caller.require(&permissions::MAIL_ATTACHMENTS_READ)?;
        }
        let search = match &q.search {
            Some(s) => {
                if q.filter.is_some() || !q.orderby.is_empty() {
                    return Err(bad(
                        "The query parameter '$search' cannot be combined with '$filter' or '$orderby' on messages.",
                    ));
                }
                Some(crate::mail_search::compile(s, now_ms())?)
            }
            None => None,
        };
        let order = compile_orderby(&q.orderby, &MAIL_SCHEMA).map_err(|e| bad(e.to_string()))?;
        if let (Some(filter), false) = (&q.filter, q.orderby.is_empty()) {
            let used = features(filter).properties;
            let ordered: Vec<&str> = q.orderby.iter().map(|o| o.path.as_str()).collect();
            let leads = ordered.len() <= used.len()
                && ordered
                    .iter()
                    .zip(&used)
                    .all(|(o, u)| o.eq_ignore_ascii_case(u));
            if !leads {
                return Err(Error::new(
                    ErrorKind::BadRequest,
                    "InefficientFilter",
                    "The restriction or sort order is too complex for this operation.",
                ));
            }
        }
        let query = MailQuery {
            filter: q.filter.as_ref(),
            search,
            order,
            skip,
            limit: top + 1,
            count: q.count.unwrap_or(false),
        };
        let (items, count) = self
            .store
            .list_mail(&mb.user.id, folder_id.as_deref(), &query)
            .await
            .map_err(|e| Error::from(e).in_family(OUTLOOK))?;
        Ok((mb, finish(items, top, skip, count)))
    }

    /// `GET …/messages/{id}` (and under a folder: the message must be in it).
    pub async fn get(
        &self,
        caller: &Principal,
        owner: &Owner,
        folder: Option<&str>,
        id: &str,
    ) -> Result<(Mailbox, MailRecord), Error> {
        let mb = self.mailbox(caller, owner, &permissions::MAIL_READ).await?;
        let m = self.message(&mb, folder, id).await?;
        Ok((mb, m))
    }

    pub(crate) async fn message(
        &self,
        mb: &Mailbox,
        folder: Option<&str>,
        id: &str,
    ) -> Result<MailRecord, Error> {
        let m = self
            .store
            .mail_message(&mb.user.id, id)
            .await?
            .ok_or_else(not_found)?;
        if let Some(key) = folder {
            let f = self.folder(mb, key).await?;
            if f.id != m.folder_id {
                return Err(not_found());
            }
        }
        Ok(m)
    }

    async fn change(
        &self,
        mb: &Mailbox,
        id: &str,
        change: MailChange,
    ) -> Result<MailRecord, Error> {
        match self
            .store
            .write_mail(&MailWrite::Change {
                user_id: mb.user.id.clone(),
                id: id.to_string(),
                change,
            })
            .await?
        {
            MailOutcome::Done(Some(m)) => Ok(m),
            MailOutcome::Done(None) | MailOutcome::NotFound => Err(not_found()),
            MailOutcome::Refused(e) => Err(e),
        }
    }

    /// `PATCH …/messages/{id}`.
    pub async fn update(
        &self,
        caller: &Principal,
        owner: &Owner,
        folder: Option<&str>,
        id: &str,
        body: &Map<String, Value>,
        if_match: Option<String>,
    ) -> Result<(Mailbox, MailRecord), Error> {
        let mb = self
            .mailbox(caller, owner, &permissions::MAIL_WRITE)
            .await?;
        let input = parse_message(body)?;
        let current = self.message(&mb, folder, id).await?;
        let mut probe = current.clone();
        input.apply(&mut probe);
        check_recipient_count(&probe)?;
        let change = MailChange {
            patch: body.clone(),
            move_to: None,
            if_match,
            change_key: new_change_key(),
            now_ms: now_ms(),
        };
        let m = self.change(&mb, id, change).await?;
        Ok((mb, m))
    }

    /// `DELETE …/messages/{id}`: to Deleted Items; from Deleted Items, for good.
    pub async fn delete(
        &self,
        caller: &Principal,
        owner: &Owner,
        folder: Option<&str>,
        id: &str,
        if_match: Option<String>,
    ) -> Result<(), Error> {
        let mb = self
            .mailbox(caller, owner, &permissions::MAIL_WRITE)
            .await?;
        let m = self.message(&mb, folder, id).await?;
        let deleted = self.folder(&mb, "deleteditems").await?;
        if m.folder_id == deleted.id {
            if let Some(expected) = &if_match
                && *expected != m.change_key
            {
                return MailChange {
                    if_match,
                    ..Default::default()
                }
                .apply(&mut m.clone())
                .map(|_| ());
            }
            self.store
                .write_mail(&MailWrite::Delete {
                    user_id: mb.user.id.clone(),
                    id: id.to_string(),
                })
                .await?;
            return Ok(());
        }
        let change = MailChange {
            patch: Map::new(),
            move_to: Some((deleted.id, new_message_id())),
            if_match,
            change_key: new_change_key(),
            now_ms: now_ms(),
        };
        self.change(&mb, id, change).await?;
        Ok(())
    }

    /// `POST …/messages/{id}/permanentDelete`.
    pub async fn permanent_delete(
        &self,
        caller: &Principal,
        owner: &Owner,
        folder: Option<&str>,
        id: &str,
    ) -> Result<(), Error> {
        let mb = self
            .mailbox(caller, owner, &permissions::MAIL_WRITE)
            .await?;
        self.message(&mb, folder, id).await?;
        match self
            .store
            .write_mail(&MailWrite::Delete {
                user_id: mb.user.id.clone(),
                id: id.to_string(),
            })
            .await?
        {
            MailOutcome::NotFound => Err(not_found()),
            _ => Ok(()),
        }
    }

    /// `POST …/messages/{id}/move` and `/copy`.
    pub async fn move_or_copy(
        &self,
        caller: &Principal,
        owner: &Owner,
        folder: Option<&str>,
        id: &str,
        body: &Map<String, Value>,
        copy: bool,
    ) -> Result<(Mailbox, MailRecord), Error> {
        let mb = self
            .mailbox(caller, owner, &permissions::MAIL_WRITE)
            .await?;
        let dest = match param_ci(body, "destinationId") {
            Some(Value::String(d)) if !d.is_empty() => d.clone(),
            _ => {
                return Err(bad(
                    "The action needs a 'destinationId' parameter: a folder id or well-known name.",
                ));
            }
        };
        let m = self.message(&mb, folder, id).await?;
        let dest = self.folder(&mb, &dest).await?;
        if dest.well_known.as_deref() == Some(ROOT) {
            return Err(bad("Messages cannot be placed in the mailbox root."));
        }
        if copy {
            let now = now_ms();
            let mut c = m.clone();
            c.id = new_message_id();
            c.immutable_id = new_message_id();
            c.folder_id = dest.id;
            c.change_key = new_change_key();
            c.created_ms = now;
            c.modified_ms = now;
            self.store
                .write_mail(&MailWrite::Copy {
                    from_key: m.immutable_id.clone(),
                    record: Box::new(c.clone()),
                })
                .await?;
            return Ok((mb, c));
        }
        let change = MailChange {
            patch: Map::new(),
            move_to: Some((dest.id, new_message_id())),
            if_match: None,
            change_key: new_change_key(),
            now_ms: now_ms(),
        };
        let m = self.change(&mb, id, change).await?;
        Ok((mb, m))
    }

    /// `POST …/messages/{id}/send`.
    pub async fn send_draft(
        &self,
        caller: &Principal,
        owner: &Owner,
        id: &str,
        if_match: Option<String>,
    ) -> Result<(), Error> {
        let mb = self.mailbox(caller, owner, &permissions::MAIL_SEND).await?;
        let draft = self.message(&mb, None, id).await?;
        if !draft.is_draft {
            return Err(bad("Only a draft message can be sent."));
        }
        self.deliver(&mb, draft, true, Some(id.to_string()), if_match, Vec::new())
            .await
    }

    /// `POST …/sendMail`.
    pub async fn send_mail(
        &self,
        caller: &Principal,
        owner: &Owner,
        body: &Map<String, Value>,
    ) -> Result<(), Error> {
        let mb = self.mailbox(caller, owner, &permissions::MAIL_SEND).await?;
        for k in body.keys() {
            if !k.contains('@')
                && !k.eq_ignore_ascii_case("message")
                && !k.eq_ignore_ascii_case("saveToSentItems")
            {
                return Err(bad(format!(
                    "The parameter '{k}' is not a parameter of sendMail."
                )));
            }
        }
        let message = match param_ci(body, "message") {
            Some(Value::Object(m)) => m,
            _ => return Err(bad("sendMail needs a 'message' parameter.")),
        };
        let save = match param_ci(body, "saveToSentItems") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s))
                if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
            {
                s.eq_ignore_ascii_case("true")
            }
            Some(_) => return Err(bad("'saveToSentItems' must be a boolean.")),
        };
        let (message, files) = split_attachments(message)?;
        let input = parse_message(&message)?;
        let mut m = new_draft(&mb.user, "wk:drafts".into(), now_ms());
        input.apply(&mut m);
        m.has_attachments = files.iter().any(|a| !a.is_inline);
        self.deliver(&mb, m, save, None, None, files).await
    }

    async fn deliver(
        &self,
        mb: &Mailbox,
        draft: MailRecord,
        save: bool,
        draft_id: Option<String>,
        if_match: Option<String>,
        files: Vec<crate::mail_attachments::AttachmentRecord>,
    ) -> Result<(), Error> {
        check_recipient_count(&draft)?;
        let all: Vec<&Recipient> = draft.to.iter().chain(&draft.cc).chain(&draft.bcc).collect();
        if all.is_empty() {
            return Err(Error::new(
                ErrorKind::BadRequest,
                "ErrorInvalidRecipients",
                "At least one recipient is required, but none were found.",
            ));
        }
        // The tenant and every addressed user, looked up together (one store read): only the
        // addresses in the tenant's domain are delivered in the tenant, the others' lookups
        // are not used.
        let addresses: Vec<&String> = all.iter().filter_map(|r| r.address.as_ref()).collect();
        let keys: Vec<UserKey> = addresses
            .iter()
            .map(|address| UserKey::Upn((*address).clone()))
            .collect();
        let (tenant, found) = self
            .store
            .mail_recipients(&mb.user.tenant_id, &keys)
            .await?;
        let tenant = tenant.ok_or_else(|| Error::internal("the mailbox's tenant is gone"))?;
        let now = now_ms();
        let me = Recipient {
            address: Some(
                mb.user
                    .mail
                    .clone()
                    .unwrap_or_else(|| mb.user.user_principal_name.clone()),
            ),
            name: Some(mb.user.display_name.clone()),
        };
        let mut sent = draft.clone();
        sent.from = Some(sent.from.clone().unwrap_or_else(|| me.clone()));
        sent.sender = Some(sent.sender.clone().unwrap_or_else(|| me.clone()));
        sent.is_draft = false;
        sent.is_read = true;
        sent.sent_ms = Some(now);
        sent.received_ms = now;
        sent.modified_ms = now;
        sent.change_key = new_change_key();
        let mut records = Vec::new();
        let mut reports = Vec::new();
        let mut delivered: Vec<String> = Vec::new();
        let mut unknown: Vec<String> = Vec::new();
        let local = addresses.into_iter().zip(found).filter(|(address, _)| {
            let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
            domain.eq_ignore_ascii_case(&tenant.domain)
        });
        for (address, user) in local {
            match user {
                Some(u) => {
                    if delivered.contains(&u.id) {
                        continue;
                    }
                    delivered.push(u.id.clone());
                    let mut copy = sent.clone();
                    copy.id = new_message_id();
                    copy.immutable_id = new_message_id();
                    copy.user_id = u.id.clone();
                    copy.folder_id = "wk:inbox".into();
                    copy.is_read = false;
                    copy.bcc = Vec::new();
                    copy.change_key = new_change_key();
                    copy.created_ms = now;
                    copy.flag = json!({"flagStatus": "notFlagged"});
                    copy.categories = Vec::new();
                    records.push(copy);
                }
                None => unknown.push(address.clone()),
            }
        }
        if !unknown.is_empty() {
            let mut ndr = new_draft(&mb.user, "wk:inbox".into(), now);
            ndr.is_draft = false;
            ndr.is_read = false;
            ndr.subject = Some(format!(
                "Undeliverable: {}",
                draft.subject.clone().unwrap_or_default()
            ));
            ndr.body_type = "text".into();
            ndr.body = format!(
                "Your message couldn't be delivered to {}. The email address wasn't found at the destination domain ({}).",
                unknown.join(", "),
                tenant.domain
            );
            let postmaster = Recipient {
                address: Some(format!("postmaster@{}", tenant.domain)),
                name: Some("Microsoft Outlook".into()),
            };
            ndr.from = Some(postmaster.clone());
            ndr.sender = Some(postmaster);
            ndr.to = vec![me.clone()];
            ndr.conversation_id = draft.conversation_id.clone();
            reports.push(ndr);
        }
        if save {
            let mut copy = sent.clone();
            copy.id = new_message_id();
            copy.folder_id = "wk:sentitems".into();
            records.push(copy);
        }
        match self
            .store
            .write_mail(&MailWrite::Send {
                user_id: mb.user.id.clone(),
                draft_id,
                if_match,
                records,
                reports,
                files,
            })
            .await?
        {
            MailOutcome::Done(_) => Ok(()),
            MailOutcome::NotFound => Err(not_found()),
            MailOutcome::Refused(e) => Err(e),
        }
    }

    /// `createReply`, `createReplyAll`, `createForward` (201 with the draft, `send_now` false) and
    /// `reply`, `replyAll`, `forward` (sent at once, `send_now` true): threaded on the original
    /// (same conversation, `In-Reply-To`/`References`), the original quoted below the comment.
    #[allow(
        clippy::too_many_arguments,
        reason = "what the route addresses (caller, mailbox, folder, message) and the action; a struct would only rename them"
    )]
    pub async fn respond(
        &self,
        caller: &Principal,
        owner: &Owner,
        folder: Option<&str>,
        id: &str,
        kind: ResponseKind,
        body: &Map<String, Value>,
        send_now: bool,
    ) -> Result<(Mailbox, Option<MailRecord>), Error> {
        let perms = if send_now {
            &permissions::MAIL_SEND
        } else {
            &permissions::MAIL_WRITE
        };
        let mb = self.mailbox(caller, owner, perms).await?;
        for k in body.keys() {
            let known = ["comment", "message", "toRecipients"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(k));
            if !k.contains('@') && !known {
                return Err(bad(format!(
                    "The parameter '{k}' is not a parameter of this action."
                )));
            }
        }
        let comment = match param_ci(body, "comment") {
            None | Some(Value::Null) => None,
            Some(Value::String(c)) => Some(c.clone()),
            Some(_) => return Err(bad("'comment' must be a string.")),
        };
        let message = match param_ci(body, "message") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(parse_message(m)?),
            Some(_) => return Err(bad("'message' must be a message object.")),
        };
        if comment.is_some() && message.as_ref().is_some_and(|m| m.body.is_some()) {
            return Err(bad(
                "A comment and a message body cannot both be specified.",
            ));
        }
        let extra_to = match param_ci(body, "toRecipients") {
            None => None,
            Some(v) => Some(recipients("toRecipients", v)?),
        };
        let original = self.message(&mb, folder, id).await?;
        let me = mb
            .user
            .mail
            .clone()
            .unwrap_or_else(|| mb.user.user_principal_name.clone());
        let not_me = |r: &&Recipient| {
            !r.address
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(&me))
        };
        let mut d = new_draft(&mb.user, "wk:drafts".into(), now_ms());
        let subject = original.subject.clone().unwrap_or_default();
        let reply_targets: Vec<Recipient> = if original.reply_to.is_empty() {
            original.from.iter().cloned().collect()
        } else {
            original.reply_to.clone()
        };
        match kind {
            ResponseKind::Reply => {
                d.subject = Some(prefixed("RE: ", &subject));
                d.to = reply_targets;
            }
            ResponseKind::ReplyAll => {
                d.subject = Some(prefixed("RE: ", &subject));
                let mut to = reply_targets;
                for r in original.to.iter().filter(not_me) {
                    if !to.iter().any(|t| t.address == r.address) {
                        to.push(r.clone());
                    }
                }
                d.to = to;
                d.cc = original.cc.iter().filter(not_me).cloned().collect();
            }
            ResponseKind::Forward => {
                d.subject = Some(prefixed("FW: ", &subject));
                d.to = extra_to.clone().unwrap_or_default();
            }
        }
        if kind != ResponseKind::Forward
            && let Some(extra) = &extra_to
        {
            d.to.extend(extra.iter().cloned());
        }
        d.conversation_id = original.conversation_id.clone();
        d.conversation_index = reply_conversation_index(&original.conversation_index);
        let references = original
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("References"))
            .map(|(_, v)| format!("{v} {}", original.internet_message_id))
            .unwrap_or_else(|| original.internet_message_id.clone());
        if kind != ResponseKind::Forward {
            d.headers
                .push(("In-Reply-To".into(), original.internet_message_id.clone()));
        }
        d.headers.push(("References".into(), references));
        let who = |r: &[Recipient]| {
            r.iter()
                .map(|r| {
                    escape_html(
                        &r.name
                            .clone()
                            .or_else(|| r.address.clone())
                            .unwrap_or_default(),
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        let quoted = if original.body_type == "html" {
            original.body.clone()
        } else {
            escape_html(&original.body)
        };
        d.body_type = "html".into();
        d.body = crate::message_body::sanitize(&format!(
            "<div>{}</div><hr><div id=\"divRplyFwdMsg\"><b>From:</b> {}<br><b>Sent:</b> {}<br><b>To:</b> {}<br><b>Subject:</b> {}</div><br><div>{}</div>",
            escape_html(&comment.unwrap_or_default()),
            who(original.from.as_slice()),
            crate::graph_time::seconds(original.sent_ms.unwrap_or(original.created_ms)),
            who(&original.to),
            escape_html(&subject),
            quoted
        ));
        if let Some(m) = message {
            m.apply(&mut d);
        }
        if send_now {
            self.deliver(&mb, d, true, None, None, Vec::new()).await?;
            return Ok((mb, None));
        }
        check_recipient_count(&d)?;
        let stored = match self.store.write_mail(&MailWrite::Insert(vec![d])).await? {
            MailOutcome::Done(Some(m)) => m,
            _ => return Err(Error::internal("the draft was not stored")),
        };
        Ok((mb, Some(stored)))
    }

    /// `GET …/messages/{id}/$value`: the message as RFC 5322 MIME. It carries the body and the
    /// files, so `Mail.ReadBasic` may not read it.
    pub async fn mime(
        &self,
        caller: &Principal,
        owner: &Owner,
        folder: Option<&str>,
        id: &str,
    ) -> Result<String, Error> {
        let mb = self
            .mailbox(caller, owner, &permissions::MAIL_ATTACHMENTS_READ)
            .await?;
        let m = self.message(&mb, folder, id).await?;
        let attachments = self
            .store
            .mail_attachments(&mb.user.id, &m.immutable_id)
            .await?;
        Ok(mime(&m, &attachments))
    }
}

/// Which response to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseKind {
    /// To the sender (or `replyTo`).
    Reply,
    /// To the sender and every other recipient.
    ReplyAll,
    /// To new recipients.
    Forward,
}

/// `RE: `/`FW: ` before a subject, once: Outlook does not stack them on a thread's replies.
fn prefixed(prefix: &str, subject: &str) -> String {
    let has = subject
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix));
    if has {
        subject.to_string()
    } else {
        format!("{prefix}{subject}")
    }
}

fn check_recipient_count(m: &MailRecord) -> Result<(), Error> {
    if m.to.len() + m.cc.len() + m.bcc.len() > MAX_RECIPIENTS {
        return Err(Error::new(
            ErrorKind::BadRequest,
            "ErrorInvalidRecipients",
            format!(
                "The message has more than {MAX_RECIPIENTS} recipients, the most one message may have."
            ),
        ));
    }
    Ok(())
}

/// `$expand` on mail folders: the folder's navigations are `501` (Graph's documentation does
/// not promise their expansion and Switchboard does not do it); anything else is Graph's `400`.
fn check_folder_expand(q: &QueryOptions) -> Result<(), Error> {
    const NAVIGATIONS: &[&str] = &[
        "childFolders",
        "messages",
        "messageRules",
        "singleValueExtendedProperties",
        "multiValueExtendedProperties",
        "*",
    ];
    if let Some(item) = q.expand.first() {
        let path = item.path.trim();
        if NAVIGATIONS.iter().any(|n| n.eq_ignore_ascii_case(path)) {
            return Err(Error::new(
                ErrorKind::NotImplemented,
                "NotImplemented",
                format!("$expand={path} on mail folders is not implemented by Switchboard."),
            ));
        }
        return Err(bad(format!(
            "Could not find a property named '{path}' on type 'microsoft.graph.mailFolder'."
        )));
    }
    Ok(())
}

/// The most items one page of a mail list holds (`$top` or `Prefer: odata.maxpagesize`).
pub const MAX_PAGE_SIZE: usize = 1000;

/// Page size and offset of a list. `$top` is Outlook's page size (the next page keeps it);
/// `Prefer: odata.maxpagesize` (already at most [`MAX_PAGE_SIZE`]) only ever makes pages smaller
/// than `$top` asks, as the preference is a maximum.
fn paging(q: &QueryOptions, max_page_size: Option<usize>) -> Result<(usize, u64), Error> {
    let top = q.top.unwrap_or(10);
    if top == 0 || top > MAX_PAGE_SIZE as u64 {
        return Err(bad("The value of $top must be between 1 and 1000."));
    }
    let top = match (q.top, max_page_size) {
        (Some(top), Some(max)) => (top as usize).min(max),
        (None, Some(max)) => max,
        _ => top as usize,
    };
    if q.skiptoken.is_some() {
        return Err(bad(
            "Outlook pages with $skip; $skiptoken is not supported here.",
        ));
    }
    Ok((top, q.skip.unwrap_or(0)))
}

fn finish<T>(mut items: Vec<T>, top: usize, skip: u64, count: Option<u64>) -> ListPage<T> {
    let more = items.len() > top;
    items.truncate(top);
    ListPage {
        next_skip: more.then_some(skip + top as u64),
        items,
        count,
    }
}

/// A header field body from stored text: CR and LF become spaces, so no value (a subject, a
/// display name, a custom header a client sent) can end its header line and start another.
fn header_text(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// A header field name from stored text: only the printable ASCII RFC 5322 allows (no space,
/// no `:`), so a name can neither end the line nor smuggle in a value.
fn header_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_graphic() && *c != ':')
        .collect()
}

/// `"Name" <address>`; in the quoted name a `\` is doubled so that a trailing one cannot escape
/// the closing quote.
fn mime_address(r: &Recipient) -> String {
    let address = header_text(&r.address.clone().unwrap_or_default());
    match &r.name {
        Some(n) if !n.is_empty() => format!(
            "\"{}\" <{address}>",
            header_text(&n.replace('\\', "\\\\").replace('"', "'"))
        ),
        _ => format!("<{address}>"),
    }
}

fn rfc2822_date(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
        DAYS[t.weekday().number_days_from_monday() as usize],
        t.day(),
        MONTHS[u8::from(t.month()) as usize - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The message as an RFC 5322 MIME document.
pub fn mime(m: &MailRecord, attachments: &[crate::mail_attachments::AttachmentRecord]) -> String {
    let mut out = String::new();
    let list = |rs: &[Recipient]| rs.iter().map(mime_address).collect::<Vec<_>>().join(", ");
    if let Some(f) = &m.from {
        out.push_str(&format!("From: {}\r\n", mime_address(f)));
    }
    if !m.to.is_empty() {
        out.push_str(&format!("To: {}\r\n", list(&m.to)));
    }
    if !m.cc.is_empty() {
        out.push_str(&format!("Cc: {}\r\n", list(&m.cc)));
    }
    if !m.bcc.is_empty() {
        out.push_str(&format!("Bcc: {}\r\n", list(&m.bcc)));
    }
    out.push_str(&format!(
        "Subject: {}\r\n",
        header_text(m.subject.as_deref().unwrap_or_default())
    ));
    out.push_str(&format!(
        "Date: {}\r\n",
        rfc2822_date(m.sent_ms.unwrap_or(m.created_ms))
    ));
    out.push_str(&format!(
        "Message-ID: {}\r\n",
        header_text(&m.internet_message_id)
    ));
    for (n, v) in &m.headers {
        out.push_str(&format!("{}: {}\r\n", header_name(n), header_text(v)));
    }
    out.push_str("MIME-Version: 1.0\r\n");
    let subtype = if m.body_type == "html" {
        "html"
    } else {
        "plain"
    };
    let body_part = format!(
        "Content-Type: text/{subtype}; charset=\"utf-8\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n",
        m.body.replace("\r\n", "\n").replace('\n', "\r\n")
    );
    if attachments.is_empty() {
        out.push_str(&body_part);
        return out;
    }
    // The boundary is random, so no part's content can contain it by chance.
    let boundary = format!("_sb_{}_", URL_SAFE_NO_PAD.encode(random(18)));
    out.push_str(&format!(
        "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n--{boundary}\r\n{body_part}"
    ));
    for a in attachments {
        let name = a.name.replace(['"', '\r', '\n'], "_");
        let disposition = if a.is_inline { "inline" } else { "attachment" };
        out.push_str(&format!(
            "--{boundary}\r\nContent-Type: {}; name=\"{name}\"\r\nContent-Disposition: {disposition}; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n",
            header_text(&a.content_type)
        ));
        if let Some(id) = &a.content_id {
            out.push_str(&format!(
                "Content-ID: <{}>\r\n",
                id.replace(['\r', '\n', '<', '>'], "")
            ));
        }
        out.push_str("\r\n");
        let encoded = STANDARD.encode(&a.content);
        for line in encoded.as_bytes().chunks(76) {
            out.push_str(std::str::from_utf8(line).unwrap_or_default());
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Message ids keep Exchange's shape and sort by creation time.
    #[test]
    fn message_ids_are_opaque_and_sort_by_creation() {
        let first = new_message_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = new_message_id();
        for id in [&first, &second] {
            assert_eq!(id.len(), 69, "{id}");
            assert!(id.starts_with("AAMkA"), "{id}");
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{id}"
            );
        }
        assert!(first < second, "{first} then {second}");
        assert_ne!(new_message_id(), new_message_id());
    }

    /// The stored document is written without a `Value` tree; its bytes are the tree's.
    #[test]
    fn doc_json_is_the_docs_text() {
        let r = |address: Option<&str>, name: Option<&str>| Recipient {
            address: address.map(str::to_string),
            name: name.map(str::to_string),
        };
        let plain = MailRecord {
            flag: json!({"flagStatus": "notFlagged"}),
            ..Default::default()
        };
        let full = MailRecord {
            from: Some(r(Some("a@x.test"), Some("A \"quoted\" \u{e9}"))),
            sender: Some(r(None, None)),
            to: vec![r(Some("b@x.test"), None), r(None, Some("Only name"))],
            cc: vec![r(Some("c@x.test"), Some("C"))],
            bcc: vec![r(Some("d@x.test"), Some("D\n"))],
            reply_to: vec![r(Some("e@x.test"), Some("E"))],
            flag: json!({"flagStatus": "flagged", "dueDateTime": {"dateTime": "2026-01-01T00:00:00", "timeZone": "UTC"}}),
            headers: vec![
                ("X-One".into(), "1".into()),
                ("X-Two".into(), "<two>".into()),
            ],
            conversation_index: "AQHb".into(),
            delivery_receipt: Some(true),
            read_receipt: true,
            unsubscribe_data: vec!["<mailto:u@x.test>".into()],
            unsubscribe_enabled: true,
            ..Default::default()
        };
        let no_receipt = MailRecord {
            delivery_receipt: None,
            ..full.clone()
        };
        for m in [plain, full, no_receipt] {
            assert_eq!(m.doc_json(), m.doc().to_string());
        }
    }

    #[test]
    fn html_becomes_text() {
        let html = "<html><head><style>p{}</style></head><body>They were <b>awesome</b>!&nbsp;&amp; more</body></html>";
        assert_eq!(html_to_text(html), "They were awesome! & more");
    }

    #[test]
    fn addresses() {
        assert!(valid_address("a.b@contoso.com"));
        assert!(!valid_address("not an address"));
        assert!(!valid_address("a@b"));
    }

    #[test]
    fn headers_must_be_custom() {
        let body = json!({"internetMessageHeaders": [{"name": "Subject", "value": "x"}]});
        assert!(parse_message(body.as_object().unwrap()).is_err());
        let body = json!({"internetMessageHeaders": [{"name": "x-custom", "value": "x"}]});
        assert!(parse_message(body.as_object().unwrap()).is_ok());
    }

    #[test]
    fn attachments_come_out_of_message_bodies() {
        let file = |bytes: String| json!({"@odata.type": "#microsoft.graph.fileAttachment", "name": "a", "contentBytes": bytes});
        let body = json!({"subject": "x", "Attachments": [file("aGk=".into())]});
        let (rest, files) = split_attachments(body.as_object().unwrap()).unwrap();
        assert_eq!(rest.keys().collect::<Vec<_>>(), ["subject"]);
        assert_eq!(files[0].content, b"hi");
        assert!(parse_message(&rest).is_ok());
        let (_, none) =
            split_attachments(json!({"attachments": null}).as_object().unwrap()).unwrap();
        assert!(none.is_empty());
        for bad in [json!({"attachments": "a"}), json!({"attachments": [1]})] {
            assert_eq!(
                split_attachments(bad.as_object().unwrap())
                    .unwrap_err()
                    .kind,
                ErrorKind::BadRequest
            );
        }
        let half = STANDARD.encode(vec![
            0u8;
            crate::mail_attachments::MAX_ATTACHMENT_BYTES / 2 + 1
        ]);
        let body = json!({"attachments": [file(half.clone()), file(half)]});
        assert_eq!(
            split_attachments(body.as_object().unwrap())
                .unwrap_err()
                .kind,
            ErrorKind::PayloadTooLarge
        );
    }
}
