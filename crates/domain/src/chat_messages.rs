//! Chat messages (`microsoft.graph.chatMessage`): the stored record, and the system event
//! messages Teams posts when a chat changes (members added or removed, renamed, apps installed).

use serde_json::{Value, json};

/// A chat message as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    /// The chat it belongs to.
    pub chat_id: String,
    /// Epoch milliseconds of creation, unique within the chat.
    pub id: i64,
    /// Owning tenant.
    pub tenant_id: String,
    /// `message` or `systemEventMessage`.
    pub message_type: String,
    /// The sender's user id; `None` for system events.
    pub from_user_id: Option<String>,
    /// The sender's display name when sent.
    pub from_display_name: Option<String>,
    /// `text` or `html`.
    pub body_type: String,
    /// The body content (sanitised HTML or text).
    pub body: String,
    /// `subject`.
    pub subject: Option<String>,
    /// `normal`, `high` or `urgent`.
    pub importance: String,
    /// `mentions`, as Graph JSON.
    pub mentions: Value,
    /// `attachments`, as Graph JSON.
    pub attachments: Value,
    /// `reactions`, as Graph JSON.
    pub reactions: Value,
    /// `messageHistory`, as Graph JSON.
    pub history: Value,
    /// `eventDetail` (with its `@odata.type`) for system events.
    pub event_detail: Option<Value>,
    /// `createdDateTime`, epoch ms.
    pub created_ms: i64,
    /// `lastModifiedDateTime`, epoch ms (also the `etag`).
    pub modified_ms: i64,
    /// `lastEditedDateTime`, epoch ms.
    pub edited_ms: Option<i64>,
    /// `deletedDateTime`, epoch ms.
    pub deleted_ms: Option<i64>,
}

/// A message to be stored; the store allocates its id (epoch ms, unique in the chat) in the same
/// transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// Everything but the id, which the store assigns (`record.id` is ignored).
    pub record: MessageRecord,
}

/// A user as Teams identifies them in messages and event details (`teamworkUserIdentity`).
pub fn user_identity(user_id: &str, display_name: Option<&str>, tenant_id: &str) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.teamworkUserIdentity",
        "id": user_id,
        "displayName": display_name,
        "userIdentityType": "aadUser",
        "tenantId": tenant_id,
    })
}

/// Who caused a system event: a user (delegated) or an application (app-only).
pub fn initiator(user: Option<(&str, &str)>, app: Option<(&str, &str)>) -> Value {
    json!({
        "application": app.map(|(id, name)| json!({
            "@odata.type": "#microsoft.graph.teamworkApplicationIdentity",
            "id": id,
            "displayName": name,
            "applicationIdentityType": "aadApplication",
        })),
        "device": null,
        "user": user.map(|(id, tenant)| json!({
            "@odata.type": "#microsoft.graph.teamworkUserIdentity",
            "id": id,
            "displayName": null,
            "userIdentityType": "aadUser",
            "tenantId": tenant,
        })),
    })
}

/// A system event message for `chat_id` with the given event detail.
pub fn system_event(chat_id: &str, tenant_id: &str, detail: Value, now_ms: i64) -> NewMessage {
    NewMessage {
        record: MessageRecord {
            chat_id: chat_id.to_string(),
            id: 0,
            tenant_id: tenant_id.to_string(),
            message_type: "systemEventMessage".into(),
            from_user_id: None,
            from_display_name: None,
            body_type: "html".into(),
            body: "<systemEventMessage/>".into(),
            subject: None,
            importance: "normal".into(),
            mentions: json!([]),
            attachments: json!([]),
            reactions: json!([]),
            history: json!([]),
            event_detail: Some(detail),
            created_ms: now_ms,
            modified_ms: now_ms,
            edited_ms: None,
            deleted_ms: None,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Chat messages as users send, read and change them.
// ---------------------------------------------------------------------------------------------

use std::collections::BTreeSet;

use serde_json::Map;
use switchboard_odata::QueryOptions;
use switchboard_odata::ast::{CompareOp, Expr, ExprKind, Literal, MemberPath};
use switchboard_odata::schema::{Caps, EntitySchema, Property, PropertyType};
use switchboard_odata::sql::{SortKey, SqlValue};

use crate::change_tokens::{self, ChangeToken, TokenError, TokenKind};
use crate::chats::{ChatView, Chats, MemberRecord, Owner, access_key, check_access};
use crate::error::{Error, ErrorKind, Family};
use crate::graph_time::{millis, now_ms};
use crate::message_body;
use crate::paging;
use crate::permissions;
use crate::principal::{Principal, PrincipalKind};
use crate::store::{ChatAccess, CheckRead, ListQuery, PrepareSend, Store};
use crate::users::UserRecord;

const DATE_CAPS: Caps = Caps {
    filter: true,
    orderby: true,
    select: false,
    search: false,
    case_insensitive: false,
};

/// The messages of one chat: what `$filter` and `$orderby` may name (Graph allows only these
/// two instants). The key is the message id (unique within the chat). A message's id *is* its
/// creation instant, so `createdDateTime` reads the id column and rides the primary key.
pub static MESSAGE_SCHEMA: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.chatMessage",
    key_column: "id",
    properties: &[
        Property {
            name: "lastModifiedDateTime",
            column: "modified_ms",
            ty: PropertyType::DateTime,
            caps: DATE_CAPS,
        },
        Property {
            name: "createdDateTime",
            column: "id",
            ty: PropertyType::DateTime,
            caps: DATE_CAPS,
        },
    ],
};

/// The messages of every chat of a user (`getAllMessages` and its delta), in change order: the
/// key is the tenant's change sequence number, unique within the tenant.
pub static ALL_MESSAGES_SCHEMA: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.chatMessage",
    key_column: "seq",
    properties: &[Property {
        name: "lastModifiedDateTime",
        column: "modified_ms",
        ty: PropertyType::DateTime,
        caps: DATE_CAPS,
    }],
};

/// The largest body Teams takes (about 28 KB); larger ones get 413.
pub const MAX_BODY_BYTES: usize = 28 * 1024;
/// Page size of message lists when `$top` is not given.
pub const DEFAULT_PAGE: usize = 20;
/// Largest `$top` on message lists.
pub const MAX_PAGE: u64 = 50;

/// `body` of a send or edit request, as read by the HTTP layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BodyInput {
    /// `contentType`: `text` (default) or `html`, any case.
    pub content_type: Option<String>,
    /// `content`.
    pub content: Option<String>,
}

/// A send (`POST …/messages`) or edit (`PATCH …/messages/{id}`) request body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageInput {
    /// `body`.
    pub body: Option<BodyInput>,
    /// `subject` (`Some(None)`: explicit null).
    pub subject: Option<Option<String>>,
    /// `importance`, any case.
    pub importance: Option<String>,
    /// `mentions`, as sent.
    pub mentions: Option<Vec<Value>>,
    /// `attachments`, as sent.
    pub attachments: Option<Vec<Value>>,
}

/// An edit, checked and normalised, applied inside the store's write transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageEdit {
    /// New `(contentType, content)`, content already sanitised.
    pub body: Option<(String, String)>,
    /// New subject.
    pub subject: Option<Option<String>>,
    /// New importance (canonical spelling).
    pub importance: Option<String>,
    /// New mentions (Graph JSON array).
    pub mentions: Option<Value>,
    /// New attachments (Graph JSON array).
    pub attachments: Option<Value>,
}

/// What a change does to a message.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeKind {
    /// The sender edits the content.
    Edit(MessageEdit),
    /// The sender deletes it (softly: it keeps its id and can come back).
    SoftDelete,
    /// The sender brings it back.
    UndoSoftDelete,
    /// A member adds a reaction (the canonical reaction type and its display name).
    SetReaction(String, Option<String>),
    /// A member removes their reaction of this type.
    UnsetReaction(String),
}

/// A change to one message by one member, applied by [`MessageChange::apply`] inside the store's
/// write transaction (read, check, modify, write: nothing can slip in between).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageChange {
    /// The member making the change.
    pub actor_id: String,
    /// Their tenant.
    pub actor_tenant: String,
    /// Messages created before this instant are invisible to the actor (their membership's
    /// visible history).
    pub visible_from: i64,
    /// When the change was asked for, epoch ms.
    pub now_ms: i64,
    /// What to do.
    pub kind: ChangeKind,
}

/// Why a change was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such message (or one the actor may not see).
    NotFound,
    /// Only the sender may do this.
    NotSender,
    /// The change breaks a rule (the text says which).
    Invalid(String),
}

/// What the store did with a change.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeOutcome {
    /// Changed and stored (with the next change sequence number).
    Changed(MessageRecord),
    /// Nothing to change (already so); nothing written.
    Unchanged(MessageRecord),
    /// Refused; nothing written.
    Refused(Refusal),
}

/// One page of messages across a user's chats, in change order.
#[derive(Debug, Clone, Default)]
pub struct ChangePage {
    /// The messages.
    pub items: Vec<MessageRecord>,
    /// The change sequence number of the last item, if any.
    pub last_seq: Option<i64>,
    /// More messages follow this page.
    pub more: bool,
}

/// A message rendered as JSON by the caller of [`ChatMessages::list`], kept by version.
pub type Rendering = std::sync::Arc<serde_json::value::RawValue>;

/// The caller's rendering of message `id` (of the listed chat) at change sequence `seq`, if it
/// has one. Every change to a message takes the tenant's next sequence number, so `(id, seq)`
/// names one version of the message exactly: a rendering found by it is never stale.
pub type RenderedLookup = Box<dyn Fn(i64, i64) -> Option<Rendering> + Send>;

/// One message of a [`ListedPage`].
#[derive(Debug, Clone)]
pub enum Listed {
    /// Read from the store, with its change sequence number.
    Record {
        seq: i64,
        record: Box<MessageRecord>,
    },
    /// The caller's rendering of the message's current version: the row was not read.
    Rendered(Rendering),
}

/// One page of `GET /chats/{id}/messages`.
#[derive(Debug, Clone)]
pub struct ListedPage {
    /// The messages.
    pub items: Vec<Listed>,
    /// `$skiptoken` of the next page.
    pub skiptoken: Option<String>,
    /// `@odata.count`, when `$count=true`.
    pub count: Option<u64>,
}

/// One page of a message list.
#[derive(Debug, Clone)]
pub struct MessagePage {
    /// The messages.
    pub items: Vec<MessageRecord>,
    /// `$skiptoken` of the next page.
    pub skiptoken: Option<String>,
    /// `@odata.count`, when `$count=true`.
    pub count: Option<u64>,
}

/// One page of a delta round.
#[derive(Debug, Clone)]
pub struct DeltaPage {
    /// The messages created, changed or soft-deleted (in change order).
    pub items: Vec<MessageRecord>,
    /// `$skiptoken` for `@odata.nextLink` (more in this round).
    pub next_token: Option<String>,
    /// `$deltatoken` for `@odata.deltaLink` (the round is complete).
    pub delta_token: Option<String>,
}

const TEAMS: Family = Family::Teams;

fn bad(message: impl Into<String>) -> Error {
    Error::bad_request(TEAMS, message)
}

fn forbidden(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Forbidden, "Forbidden", message)
}

/// A message id from a URL: the decimal epoch-ms string Graph uses.
pub fn parse_id(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Judges a [`ChatAccess`] as `Chats::visible` does.
type JudgeAccess = Box<dyn FnOnce(ChatAccess) -> Result<ChatView, Error> + Send>;

/// `Chats::visible`'s check, split for a store that reads the access in its own transaction:
/// the user to read (when one is addressed), and the judge of what was read.
fn access_check_in_store(
    caller: &Principal,
    owner: &Owner,
    chat_id: &str,
) -> Result<(Option<crate::store::UserKey>, JudgeAccess), Error> {
    let user_key = access_key(caller, owner)?.map(crate::users::user_key);
    let (caller, owner, chat_id) = (caller.clone(), owner.clone(), chat_id.to_string());
    Ok((
        user_key,
        Box::new(move |access| check_access(&caller, &owner, &chat_id, access)),
    ))
}

/// The first instant a member may read (`visibleHistoryStartDateTime`; no history shared means
/// from when they were added); an application (no membership) reads everything.
pub fn history_start(me: Option<&MemberRecord>) -> i64 {
    me.map(|m| m.visible_history_ms.unwrap_or(m.added_ms))
        .unwrap_or(i64::MIN)
}

/// `importance`, canonical.
fn importance(text: &str) -> Result<String, Error> {
    ["normal", "high", "urgent"]
        .into_iter()
        .find(|i| i.eq_ignore_ascii_case(text))
        .map(str::to_string)
        .ok_or_else(|| bad(format!("Invalid value '{text}' for property 'importance': expected 'normal', 'high' or 'urgent'.")))
}

/// `body`: contentType canonical, size checked, HTML sanitised.
fn body(input: BodyInput) -> Result<(String, String), Error> {
    let content_type = match input.content_type.as_deref() {
        None => "text".to_string(),
        Some(t) if t.eq_ignore_ascii_case("text") => "text".to_string(),
        Some(t) if t.eq_ignore_ascii_case("html") => "html".to_string(),
        Some(t) => {
            return Err(bad(format!(
                "Invalid value '{t}' for property 'body.contentType': expected 'text' or 'html'."
            )));
        }
    };
    let content = input
        .content
        .ok_or_else(|| bad("The message body needs 'content'."))?;
    if content.len() > MAX_BODY_BYTES {
        return Err(Error::new(
            ErrorKind::PayloadTooLarge,
            "RequestEntityTooLarge",
            format!(
                "Request Entity too large: the message body is {} bytes; the limit is {MAX_BODY_BYTES}.",
                content.len()
            ),
        ));
    }
    let content = if content_type == "html" {
        message_body::sanitize(&content)
    } else {
        content
    };
    if content.trim().is_empty() {
        return Err(bad("The message body cannot be empty."));
    }
    Ok((content_type, content))
}

/// A mention as sent, checked; the mentioned user is resolved against the chat's members later.
#[derive(Debug, Clone, PartialEq)]
struct Mention {
    id: i64,
    text: Option<String>,
    mentioned: Mentioned,
}

#[derive(Debug, Clone, PartialEq)]
enum Mentioned {
    User {
        id: String,
        display_name: Option<String>,
        identity_type: String,
    },
    /// `application`, `conversation` or `tag`: the slot and its identity, normalised.
    Other(&'static str, Value),
}

fn str_field(o: &Map<String, Value>, name: &str, what: &str) -> Result<Option<String>, Error> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!(
            "Invalid value for '{name}' of {what}: expected a string."
        ))),
    }
}

fn only_known(o: &Map<String, Value>, known: &[&str], what: &str) -> Result<(), Error> {
    match o
        .keys()
        .find(|k| !k.contains('@') && !known.contains(&k.as_str()))
    {
        Some(k) => Err(bad(format!(
            "The property '{k}' does not exist on type '{what}'."
        ))),
        None => Ok(()),
    }
}

fn mention(v: Value) -> Result<Mention, Error> {
    let Value::Object(o) = v else {
        return Err(bad("Each mention must be an object."));
    };
    only_known(
        &o,
        &["id", "mentionText", "mentioned"],
        "microsoft.graph.chatMessageMention",
    )?;
    let id = match o.get("id") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .filter(|id| (0..=i64::from(i32::MAX)).contains(id))
    .ok_or_else(|| {
        bad("Each mention needs an 'id': the number of its <at id=\"…\"> element in the body.")
    })?;
    let text = str_field(&o, "mentionText", "a mention")?;
    let Some(Value::Object(who)) = o.get("mentioned") else {
        return Err(bad(format!(
            "Mention {id} needs 'mentioned': the user, application, conversation or tag it names."
        )));
    };
    only_known(
        who,
        &["user", "application", "conversation", "tag", "device"],
        "microsoft.graph.chatMessageMentionedIdentitySet",
    )?;
    let slots: Vec<(&str, &Map<String, Value>)> = ["user", "application", "conversation", "tag"]
        .into_iter()
        .filter_map(|slot| match who.get(slot) {
            Some(Value::Object(identity)) => Some((slot, identity)),
            _ => None,
        })
        .collect();
    let [(slot, identity)] = slots.as_slice() else {
        return Err(bad(format!(
            "Mention {id} must name exactly one of 'user', 'application', 'conversation' or 'tag'."
        )));
    };
    let ident_id = str_field(identity, "id", "a mentioned identity")?.filter(|s| !s.is_empty());
    let ident_id =
        ident_id.ok_or_else(|| bad(format!("The identity mention {id} names needs an 'id'.")))?;
    let display_name = str_field(identity, "displayName", "a mentioned identity")?;
    let mentioned = match *slot {
        "user" => Mentioned::User {
            id: ident_id.to_ascii_lowercase(),
            display_name,
            identity_type: str_field(identity, "userIdentityType", "a mentioned user")?
                .unwrap_or_else(|| "aadUser".into()),
        },
        "application" => Mentioned::Other(
            "application",
            json!({
                "@odata.type": "#microsoft.graph.teamworkApplicationIdentity",
                "id": ident_id,
                "displayName": display_name,
                "applicationIdentityType": str_field(identity, "applicationIdentityType", "a mentioned application")?.unwrap_or_else(|| "bot".into()),
            }),
        ),
        "conversation" => Mentioned::Other(
            "conversation",
            json!({
                "@odata.type": "#microsoft.graph.teamworkConversationIdentity",
                "id": ident_id,
                "displayName": display_name,
                "conversationIdentityType": str_field(identity, "conversationIdentityType", "a mentioned conversation")?.unwrap_or_else(|| "chat".into()),
            }),
        ),
        _ => Mentioned::Other(
            "tag",
            json!({ "@odata.type": "#microsoft.graph.teamworkTagIdentity", "id": ident_id, "displayName": display_name }),
        ),
    };
    Ok(Mention {
        id,
        text,
        mentioned,
    })
}

fn mentions(items: Vec<Value>) -> Result<Vec<Mention>, Error> {
    let mut out: Vec<Mention> = Vec::with_capacity(items.len());
    for item in items {
        let m = mention(item)?;
        if out.iter().any(|x| x.id == m.id) {
            return Err(bad(format!("Two mentions have the id {}.", m.id)));
        }
        out.push(m);
    }
    Ok(out)
}

fn attachments(items: Vec<Value>) -> Result<Value, Error> {
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(o) = item else {
            return Err(bad("Each attachment must be an object."));
        };
        only_known(
            &o,
            &[
                "id",
                "contentType",
                "contentUrl",
                "content",
                "name",
                "thumbnailUrl",
                "teamsAppId",
            ],
            "microsoft.graph.chatMessageAttachment",
        )?;
        let what = "an attachment";
        let id = str_field(&o, "id", what)?.filter(|s| !s.is_empty()).ok_or_else(|| bad("Each attachment needs an 'id' (the id of its <attachment> element in the body)."))?;
        let content_type = str_field(&o, "contentType", what)?
            .ok_or_else(|| bad(format!("Attachment '{id}' needs a 'contentType'.")))?;
        let url = str_field(&o, "contentUrl", what)?;
        let content = str_field(&o, "content", what)?;
        let lower = content_type.to_ascii_lowercase();
        if lower == "reference" {
            let ok = url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://") || u.starts_with("http://"));
            if !ok {
                return Err(bad(format!(
                    "The reference attachment '{id}' needs an http(s) 'contentUrl' (the file it links to)."
                )));
            }
        } else if lower.starts_with("application/vnd.microsoft.card.")
            || lower.starts_with("application/vnd.microsoft.com.card.")
        {
            if content.is_none() {
                return Err(bad(format!(
                    "The card attachment '{id}' needs its card JSON, as a string, in 'content'."
                )));
            }
        } else {
            return Err(bad(format!(
                "Attachments of type '{content_type}' are not supported: send 'reference' attachments (files by URL) or cards (application/vnd.microsoft.card.*)."
            )));
        }
        if out.iter().any(|a| a["id"] == id.as_str()) {
            return Err(bad(format!("Two attachments have the id '{id}'.")));
        }
        out.push(json!({
            "id": id,
            "contentType": if lower == "reference" { "reference".to_string() } else { content_type },
            "contentUrl": url,
            "content": content,
            "name": str_field(&o, "name", what)?,
            "thumbnailUrl": str_field(&o, "thumbnailUrl", what)?,
            "teamsAppId": str_field(&o, "teamsAppId", what)?,
        }));
    }
    Ok(Value::Array(out))
}

/// The ids of a stored mentions or attachments array, as they appear in body markers.
fn ids(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| match &i["id"] {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Graph's rule tying a body to its mentions and attachments: every `<at id="n">` has mention
/// `n` and every mention its `<at>`; every `<attachment id="x">` has attachment `x` and every
/// attachment its element. Both need an HTML body.
pub fn check_markers(
    body_type: &str,
    body: &str,
    mention_ids: &BTreeSet<String>,
    attachment_ids: &BTreeSet<String>,
) -> Result<(), String> {
    if body_type != "html" {
        if !mention_ids.is_empty() {
            return Err("Mentions need an HTML body: set body.contentType to 'html' and place each mention with <at id=\"…\">…</at>.".into());
        }
        if !attachment_ids.is_empty() {
            return Err("Attachments need an HTML body: set body.contentType to 'html' and place each with <attachment id=\"…\"></attachment>.".into());
        }
        return Ok(());
    }
    let found = message_body::markers(body);
    if found.unnamed {
        return Err("Every <at> and <attachment> element in the body needs an id.".into());
    }
    if let Some(id) = found.mentions.difference(mention_ids).next() {
        return Err(format!(
            "The body has <at id=\"{id}\"> but 'mentions' has no mention with id {id}."
        ));
    }
    if let Some(id) = mention_ids.difference(&found.mentions).next() {
        return Err(format!(
            "Mention {id} is not in the body: place it with <at id=\"{id}\">…</at>."
        ));
    }
    if let Some(id) = found.attachments.difference(attachment_ids).next() {
        return Err(format!(
            "The body has <attachment id=\"{id}\"> but 'attachments' has no attachment with id '{id}'."
        ));
    }
    if let Some(id) = attachment_ids.difference(&found.attachments).next() {
        return Err(format!(
            "Attachment '{id}' is not in the body: place it with <attachment id=\"{id}\"></attachment>."
        ));
    }
    Ok(())
}

/// A request body, checked and normalised (mentions not yet resolved against the members).
struct Prepared {
    body: Option<(String, String)>,
    subject: Option<Option<String>>,
    importance: Option<String>,
    mentions: Option<Vec<Mention>>,
    attachments: Option<Value>,
}

fn prepare(input: MessageInput) -> Result<Prepared, Error> {
    Ok(Prepared {
        body: input.body.map(body).transpose()?,
        subject: input.subject,
        importance: input.importance.as_deref().map(importance).transpose()?,
        mentions: input.mentions.map(mentions).transpose()?,
        attachments: input.attachments.map(attachments).transpose()?,
    })
}

/// Reactions Teams names (legacy names, still accepted) and what they display as.
const NAMED_REACTIONS: &[(&str, &str)] = &[
    ("like", "Like"),
    ("angry", "Angry"),
    ("sad", "Sad"),
    ("laugh", "Laugh"),
    ("heart", "Heart"),
    ("surprised", "Surprised"),
];

/// `reactionType`: a Unicode emoji (any), or one of the legacy names; its display name when known.
pub fn reaction_type(text: &str) -> Result<(String, Option<String>), Error> {
    let text = text.trim();
    if let Some((name, display)) = NAMED_REACTIONS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(text))
    {
        return Ok((name.to_string(), Some(display.to_string())));
    }
    let emoji_like = !text.is_empty()
        && text.chars().count() <= 16
        && text.chars().all(|c| !c.is_ascii() && !c.is_whitespace());
    if !emoji_like {
        return Err(bad(format!(
            "Invalid reactionType '{text}': send a Unicode emoji (e.g. \"💘\") or one of like, angry, sad, laugh, heart, surprised."
        )));
    }
    Ok((text.to_string(), None))
}

fn reaction_json(
    kind: &str,
    display: Option<&str>,
    user_id: &str,
    tenant_id: &str,
    at: i64,
) -> Value {
    json!({
        "reactionType": kind,
        "displayName": display,
        "reactionContentUrl": null,
        "createdDateTime": millis(at),
        "user": {
            "application": null,
            "device": null,
            "user": {
                "@odata.type": "#microsoft.graph.teamworkUserIdentity",
                "id": user_id,
                "displayName": null,
                "userIdentityType": "aadUser",
                "tenantId": tenant_id,
            }
        }
    })
}

fn history_item(action: &str, at: i64, reaction: Value) -> Value {
    json!({ "actions": action, "modifiedDateTime": millis(at), "reaction": reaction })
}

fn push(list: &mut Value, item: Value) {
    match list {
        Value::Array(items) => items.push(item),
        other => *other = Value::Array(vec![item]),
    }
}

impl MessageChange {
    /// The instant the change takes effect: now, but always after the message's last change, so
    /// `lastModifiedDateTime` (and the `etag`) move on every change.
    fn stamp(&self, m: &MessageRecord) -> i64 {
        self.now_ms.max(m.modified_ms + 1)
    }

    fn is_sender(&self, m: &MessageRecord) -> bool {
        m.from_user_id
            .as_deref()
            .is_some_and(|f| f.eq_ignore_ascii_case(&self.actor_id))
    }

    /// Applies the change to `m`; `Ok(true)` when something changed (and must be written).
    pub fn apply(&self, m: &mut MessageRecord) -> Result<bool, Refusal> {
        if m.id < self.visible_from {
            return Err(Refusal::NotFound);
        }
        match &self.kind {
            ChangeKind::Edit(edit) => {
                if !self.is_sender(m) {
                    return Err(Refusal::NotSender);
                }
                if m.deleted_ms.is_some() {
                    return Err(Refusal::Invalid(
                        "A deleted message cannot be edited; undo the deletion first.".into(),
                    ));
                }
                let mut next = m.clone();
                if let Some((kind, content)) = &edit.body {
                    next.body_type = kind.clone();
                    next.body = content.clone();
                }
                if let Some(subject) = &edit.subject {
                    next.subject = subject.clone();
                }
                if let Some(importance) = &edit.importance {
                    next.importance = importance.clone();
                }
                if let Some(mentions) = &edit.mentions {
                    next.mentions = mentions.clone();
                }
                if let Some(attachments) = &edit.attachments {
                    next.attachments = attachments.clone();
                }
                check_markers(
                    &next.body_type,
                    &next.body,
                    &ids(&next.mentions),
                    &ids(&next.attachments),
                )
                .map_err(Refusal::Invalid)?;
                if next == *m {
                    return Ok(false);
                }
                let at = self.stamp(m);
                next.edited_ms = Some(at);
                next.modified_ms = at;
                *m = next;
                Ok(true)
            }
            ChangeKind::SoftDelete | ChangeKind::UndoSoftDelete => {
                if !self.is_sender(m) {
                    return Err(Refusal::NotSender);
                }
                let delete = self.kind == ChangeKind::SoftDelete;
                if m.deleted_ms.is_some() == delete {
                    return Ok(false);
                }
                let at = self.stamp(m);
                m.deleted_ms = delete.then_some(at);
                m.modified_ms = at;
                Ok(true)
            }
            ChangeKind::SetReaction(kind, display) => {
                if m.from_user_id.is_none() {
                    return Err(Refusal::Invalid(
                        "System event messages cannot be reacted to.".into(),
                    ));
                }
                if m.deleted_ms.is_some() {
                    return Err(Refusal::Invalid(
                        "A deleted message cannot be reacted to.".into(),
                    ));
                }
                if self.find_reaction(m, kind).is_some() {
                    return Ok(false);
                }
                let at = self.stamp(m);
                let reaction = reaction_json(
                    kind,
                    display.as_deref(),
                    &self.actor_id,
                    &self.actor_tenant,
                    at,
                );
                push(&mut m.reactions, reaction.clone());
                push(&mut m.history, history_item("reactionAdded", at, reaction));
                m.modified_ms = at;
                Ok(true)
            }
            ChangeKind::UnsetReaction(kind) => {
                let Some(index) = self.find_reaction(m, kind) else {
                    return Ok(false);
                };
                let at = self.stamp(m);
                let removed = match &mut m.reactions {
                    Value::Array(items) => items.remove(index),
                    _ => return Ok(false),
                };
                push(&mut m.history, history_item("reactionRemoved", at, removed));
                m.modified_ms = at;
                Ok(true)
            }
        }
    }

    /// The index of the actor's reaction of this type.
    fn find_reaction(&self, m: &MessageRecord, kind: &str) -> Option<usize> {
        m.reactions.as_array()?.iter().position(|r| {
            r["reactionType"] == kind
                && r["user"]["user"]["id"]
                    .as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(&self.actor_id))
        })
    }
}

/// Checks a message list's `$filter` against Graph's rule (a conjunction of comparisons of the
/// `allowed` properties with instants) and keeps only the comparisons on `ordered`: Graph
/// honours the filter only when `$orderby` names the same property and silently ignores it
/// otherwise.
fn date_filter(
    expr: &Expr,
    allowed: &[(&'static str, &[CompareOp])],
    ordered: &str,
) -> Result<Option<Expr>, Error> {
    let mut kept = Vec::new();
    collect_bounds(expr, allowed, ordered, &mut kept)?;
    Ok(kept
        .into_iter()
        .reduce(|a, b| Expr::new(ExprKind::And(Box::new(a), Box::new(b)))))
}

fn collect_bounds(
    expr: &Expr,
    allowed: &[(&'static str, &[CompareOp])],
    ordered: &str,
    out: &mut Vec<Expr>,
) -> Result<(), Error> {
    let rule = || {
        let list: Vec<String> = allowed
            .iter()
            .map(|(p, ops)| {
                format!(
                    "{p} {}",
                    ops.iter()
                        .map(|o| o.keyword())
                        .collect::<Vec<_>>()
                        .join("/")
                )
            })
            .collect();
        bad(format!(
            "This $filter is not supported here: only {}, compared with a date-time and joined with 'and'.",
            list.join(", ")
        ))
    };
    match &expr.kind {
        ExprKind::And(a, b) => {
            collect_bounds(a, allowed, ordered, out)?;
            collect_bounds(b, allowed, ordered, out)
        }
        ExprKind::Compare { op, left, right } => {
            let (path, op, literal) = match (&left.kind, &right.kind) {
                (ExprKind::Member(p), ExprKind::Literal(l)) => (p, *op, l),
                (ExprKind::Literal(l), ExprKind::Member(p)) => (p, op.flipped(), l),
                _ => return Err(rule()),
            };
            if !matches!(literal, Literal::DateTimeOffset(_) | Literal::Date(_)) {
                return Err(rule());
            }
            let [segment] = path.segments.as_slice() else {
                return Err(rule());
            };
            let Some((name, ops)) = allowed
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(segment))
            else {
                return Err(rule());
            };
            if !ops.contains(&op) {
                return Err(rule());
            }
            if name.eq_ignore_ascii_case(ordered) {
                out.push(Expr::new(ExprKind::Compare {
                    op,
                    left: Box::new(Expr::new(ExprKind::Member(MemberPath::new([*name])))),
                    right: Box::new(Expr::new(ExprKind::Literal(literal.clone()))),
                }));
            }
            Ok(())
        }
        _ => Err(rule()),
    }
}

/// `property op instant`, built in code.
fn bound(property: &str, op: CompareOp, at_ms: i64) -> Expr {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    Expr::new(ExprKind::Compare {
        op,
        left: Box::new(Expr::new(ExprKind::Member(MemberPath::new([property])))),
        right: Box::new(Expr::new(ExprKind::Literal(Literal::DateTimeOffset(at)))),
    })
}

fn page_size(q: &QueryOptions) -> Result<usize, Error> {
    match q.top {
        None => Ok(DEFAULT_PAGE),
        Some(0) => Err(bad("$top must be at least 1.")),
        Some(n) if n > MAX_PAGE => Err(bad(format!(
            "Invalid page size requested: {n}. The maximum allowed page size ($top) is {MAX_PAGE}."
        ))),
        Some(n) => Ok(n as usize),
    }
}

const LAST_MODIFIED: &str = "lastModifiedDateTime";
const CREATED: &str = "createdDateTime";

/// The chat message operations over a store.
pub struct ChatMessages<'a> {
    /// The store.
    pub store: &'a dyn Store,
}

impl ChatMessages<'_> {
    fn chats(&self) -> Chats<'_> {
        Chats { store: self.store }
    }

    /// The chat as the caller sees it, with the caller's membership (delegated callers only).
    async fn as_member(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
    ) -> Result<MemberRecord, Error> {
        let view = self.chats().visible(caller, owner, chat_id).await?;
        view.me
            .ok_or_else(|| forbidden("Only a signed-in member of the chat can do this."))
    }

    /// Resolves mentioned users against the chat's members (one read, only when a user is
    /// mentioned) and writes the mentions as Graph returns them.
    async fn resolve_mentions(
        &self,
        chat_id: &str,
        mentions: Option<Vec<Mention>>,
    ) -> Result<Option<Value>, Error> {
        let Some(mentions) = mentions else {
            return Ok(None);
        };
        let members = if mentions
            .iter()
            .any(|m| matches!(m.mentioned, Mentioned::User { .. }))
        {
            self.store.members(chat_id).await?
        } else {
            Vec::new()
        };
        let mut out = Vec::with_capacity(mentions.len());
        for m in mentions {
            let mut who = json!({ "application": null, "device": null, "conversation": null, "tag": null, "user": null });
            match m.mentioned {
                Mentioned::User {
                    id,
                    display_name,
                    identity_type,
                } => {
                    let member = members
                        .iter()
                        .find(|x| x.user_id.eq_ignore_ascii_case(&id))
                        .ok_or_else(|| {
                            bad(format!(
                                "Mention {}: the user '{id}' is not a member of this chat.",
                                m.id
                            ))
                        })?;
                    who["user"] = json!({
                        "@odata.type": "#microsoft.graph.teamworkUserIdentity",
                        "id": member.user_id,
                        "displayName": display_name.or_else(|| member.display_name.clone()),
                        "userIdentityType": identity_type,
                        "tenantId": member.tenant_id,
                    });
                }
                Mentioned::Other(slot, identity) => {
                    if slot == "conversation" && identity["id"] != chat_id {
                        return Err(bad(format!(
                            "Mention {}: a conversation mention can only name this chat.",
                            m.id
                        )));
                    }
                    who[slot] = identity;
                }
            }
            out.push(json!({ "id": m.id, "mentionText": m.text, "mentioned": who }));
        }
        Ok(Some(Value::Array(out)))
    }

    /// `POST /chats/{id}/messages` (and the `/me`, `/users/{id}` forms): a member sends.
    pub async fn send(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
        input: MessageInput,
    ) -> Result<MessageRecord, Error> {
        if matches!(caller.kind, PrincipalKind::App { .. }) && caller.has("Teamwork.Migrate.All") {
            return Err(forbidden(
                "Teamwork.Migrate.All only allows importing messages into chats in migration mode, which Switchboard does not offer; applications cannot send chat messages.",
            ));
        }
        caller.require(&permissions::CHAT_MESSAGE_SEND)?;
        let prepared = prepare(input)?;
        let (body_type, body) = prepared
            .body
            .ok_or_else(|| bad("The message needs a body: {\"body\": {\"content\": \"…\"}}."))?;
        let mention_ids: BTreeSet<String> = prepared
            .mentions
            .iter()
            .flatten()
            .map(|m| m.id.to_string())
            .collect();
        let attachments = prepared.attachments.unwrap_or_else(|| json!([]));
        check_markers(&body_type, &body, &mention_ids, &ids(&attachments)).map_err(bad)?;
        let subject = prepared.subject.flatten();
        let importance = prepared.importance.unwrap_or_else(|| "normal".into());
        let tenant_id = caller.tenant_id.clone();
        let build = move |me: MemberRecord, mentions: Value| {
            let now = now_ms();
            NewMessage {
                record: MessageRecord {
                    chat_id: me.chat_id.clone(),
                    id: 0,
                    tenant_id,
                    message_type: "message".into(),
                    from_user_id: Some(me.user_id),
                    from_display_name: me.display_name,
                    body_type,
                    body,
                    subject,
                    importance,
                    mentions,
                    attachments,
                    reactions: json!([]),
                    history: json!([]),
                    event_detail: None,
                    created_ms: now,
                    modified_ms: now,
                    edited_ms: None,
                    deleted_ms: None,
                },
            }
        };
        if prepared.mentions.as_ref().is_some_and(|m| !m.is_empty()) {
            // Mentions are resolved against the members: a read of its own, then the write.
            let me = self.as_member(caller, owner, chat_id).await?;
            let mentions = self
                .resolve_mentions(chat_id, prepared.mentions)
                .await?
                .unwrap_or_else(|| json!([]));
            return Ok(self.store.send_message(&build(me, mentions)).await?);
        }
        // The common send: the access check runs in the write itself (one round trip to the
        // store instead of a read and then a write), with the same checks and errors.
        let (user_key, judge) = access_check_in_store(caller, owner, chat_id)?;
        let prepare: PrepareSend = Box::new(move |access| {
            let view = judge(access)?;
            let me = view
                .me
                .ok_or_else(|| forbidden("Only a signed-in member of the chat can do this."))?;
            Ok(build(me, json!([])))
        });
        self.store
            .send_message_checked(&caller.tenant_id, user_key.as_ref(), chat_id, prepare)
            .await?
    }

    /// `GET /chats/{id}/messages`: newest first, Graph's query rules. Messages whose current
    /// version `rendered` knows come back as that rendering, without reading their rows.
    pub async fn list(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
        q: &QueryOptions,
        rendered: RenderedLookup,
    ) -> Result<ListedPage, Error> {
        caller.require(&permissions::CHAT_MESSAGES_READ)?;
        if q.select.is_some()
            || !q.expand.is_empty()
            || q.skip.is_some()
            || q.search.is_some()
            || q.deltatoken.is_some()
        {
            return Err(bad(
                "Chat messages support only $top, $orderby, $filter and $count.",
            ));
        }
        let limit = page_size(q)?;
        let ordered = match q.orderby.as_slice() {
            [] => LAST_MODIFIED,
            [item] if item.descending && item.path.eq_ignore_ascii_case(LAST_MODIFIED) => {
                LAST_MODIFIED
            }
            [item] if item.descending && item.path.eq_ignore_ascii_case(CREATED) => CREATED,
            _ => {
                return Err(bad(
                    "Chat messages can only be ordered by 'lastModifiedDateTime desc' (the default) or 'createdDateTime desc'.",
                ));
            }
        };
        // Honoured only when `$orderby` itself names the filtered property (not by default).
        let named = if q.orderby.is_empty() { "" } else { ordered };
        let filter = match &q.filter {
            Some(f) => date_filter(
                f,
                &[
                    (LAST_MODIFIED, &[CompareOp::Gt, CompareOp::Lt]),
                    (CREATED, &[CompareOp::Lt]),
                ],
                named,
            )?,
            None => None,
        };
        let column = MESSAGE_SCHEMA
            .property(ordered)
            .map(|p| p.column)
            .unwrap_or("modified_ms");
        // Ties broken newest first too: one direction, so the (chat, modified, id) index serves
        // the whole sort (a mixed direction made SQLite sort each page's rows again).
        let full = vec![
            SortKey {
                column,
                descending: true,
            },
            SortKey {
                column: MESSAGE_SCHEMA.key_column,
                descending: true,
            },
        ];
        let after = match &q.skiptoken {
            Some(t) => {
                Some(paging::decode(&full, t).ok_or_else(|| bad("The $skiptoken is invalid."))?)
            }
            None => None,
        };
        // The keyset condition is an OR the index cannot seek on; an equivalent bound on the
        // sort column lets the next page start at the cursor instead of scanning down to it.
        let seek = match after.as_deref() {
            Some([SqlValue::Integer(at), ..]) => Some(bound(ordered, CompareOp::Le, *at)),
            _ => None,
        };
        let filter = match (filter, seek) {
            (Some(f), Some(s)) => Some(Expr::new(ExprKind::And(Box::new(f), Box::new(s)))),
            (f, s) => f.or(s),
        };
        let query = ListQuery {
            filter: filter.as_ref(),
            search: None,
            order: full.clone(),
            after,
            limit,
            count: q.count == Some(true),
        };
        // The access check runs in the page's own read (one round trip to the store), with the
        // same checks and errors as `Chats::visible`.
        let (user_key, judge) = access_check_in_store(caller, owner, chat_id)?;
        let check: CheckRead = Box::new(move |access| {
            let view = judge(access)?;
            Ok((view.chat.id, history_start(view.me.as_ref())))
        });
        let page = self
            .store
            .list_messages_checked(
                &caller.tenant_id,
                user_key.as_ref(),
                chat_id,
                check,
                &query,
                rendered,
            )
            .await
            .map_err(|e| Error::from(e).in_family(TEAMS))??;
        Ok(ListedPage {
            skiptoken: page.next.map(|c| paging::encode(&full, &c)),
            items: page.items,
            count: page.count,
        })
    }

    /// `GET /chats/{id}/messages/{message-id}`.
    pub async fn get(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
        message_id: &str,
    ) -> Result<MessageRecord, Error> {
        caller.require(&permissions::CHAT_MESSAGES_READ)?;
        let view = self.chats().visible(caller, owner, chat_id).await?;
        let id = parse_id(message_id).ok_or_else(|| Error::not_found(TEAMS, message_id))?;
        self.store
            .message(&view.chat.id, id)
            .await?
            .filter(|m| m.id >= history_start(view.me.as_ref()))
            .ok_or_else(|| Error::not_found(TEAMS, message_id))
    }

    async fn change(
        &self,
        me: MemberRecord,
        message_id: &str,
        kind: ChangeKind,
    ) -> Result<(), Error> {
        let id = parse_id(message_id).ok_or_else(|| Error::not_found(TEAMS, message_id))?;
        let change = MessageChange {
            visible_from: history_start(Some(&me)),
            actor_id: me.user_id,
            actor_tenant: me.tenant_id,
            now_ms: now_ms(),
            kind,
        };
        match self.store.change_message(&me.chat_id, id, &change).await? {
            ChangeOutcome::Changed(_) | ChangeOutcome::Unchanged(_) => Ok(()),
            ChangeOutcome::Refused(Refusal::NotFound) => Err(Error::not_found(TEAMS, message_id)),
            ChangeOutcome::Refused(Refusal::NotSender) => Err(forbidden(
                "Only the sender of a message can change or delete it.",
            )),
            ChangeOutcome::Refused(Refusal::Invalid(why)) => Err(bad(why)),
        }
    }

    /// `PATCH /chats/{id}/messages/{message-id}`: the sender edits.
    pub async fn edit(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
        message_id: &str,
        input: MessageInput,
    ) -> Result<(), Error> {
        caller.require(&permissions::CHAT_MESSAGE_UPDATE)?;
        let prepared = prepare(input)?;
        let me = self.as_member(caller, owner, chat_id).await?;
        let mentions = self
            .resolve_mentions(&me.chat_id, prepared.mentions)
            .await?;
        let edit = MessageEdit {
            body: prepared.body,
            subject: prepared.subject,
            importance: prepared.importance,
            mentions,
            attachments: prepared.attachments,
        };
        self.change(me, message_id, ChangeKind::Edit(edit)).await
    }

    /// `softDelete` (`undo = false`) and `undoSoftDelete` (`undo = true`): the sender only.
    pub async fn soft_delete(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
        message_id: &str,
        undo: bool,
    ) -> Result<(), Error> {
        caller.require(&permissions::CHAT_MESSAGE_DELETE)?;
        let me = self.as_member(caller, owner, chat_id).await?;
        self.change(
            me,
            message_id,
            if undo {
                ChangeKind::UndoSoftDelete
            } else {
                ChangeKind::SoftDelete
            },
        )
        .await
    }

    /// `setReaction` / `unsetReaction`: any member, one reaction of a type per user.
    pub async fn react(
        &self,
        caller: &Principal,
        owner: &Owner,
        chat_id: &str,
        message_id: &str,
        reaction: &str,
        set: bool,
    ) -> Result<(), Error> {
        caller.require(&permissions::CHAT_MESSAGE_REACT)?;
        let (kind, display) = reaction_type(reaction)?;
        let me = self.as_member(caller, owner, chat_id).await?;
        let change = if set {
            ChangeKind::SetReaction(kind, display)
        } else {
            ChangeKind::UnsetReaction(kind)
        };
        self.change(me, message_id, change).await
    }

    /// The user an across-chats call names (`/users/{id}/chats/getAllMessages`).
    async fn target_user(&self, caller: &Principal, owner: &Owner) -> Result<UserRecord, Error> {
        self.chats()
            .owner_user(caller, owner)
            .await?
            .ok_or_else(|| {
                bad("getAllMessages reads one user's chats: call /users/{id}/chats/getAllMessages.")
            })
    }

    /// `GET /users/{id}/chats/getAllMessages`: the messages of every chat of the user, in the
    /// order they last changed.
    pub async fn all_messages(
        &self,
        caller: &Principal,
        owner: &Owner,
        q: &QueryOptions,
    ) -> Result<MessagePage, Error> {
        caller.require(&permissions::CHAT_MESSAGES_ALL)?;
        let user = self.target_user(caller, owner).await?;
        if q.select.is_some()
            || !q.expand.is_empty()
            || q.skip.is_some()
            || q.search.is_some()
            || !q.orderby.is_empty()
            || q.deltatoken.is_some()
        {
            return Err(bad(
                "getAllMessages supports only $top and $filter on lastModifiedDateTime.",
            ));
        }
        let limit = page_size(q)?;
        let filter = match &q.filter {
            Some(f) => date_filter(
                f,
                &[(LAST_MODIFIED, &[CompareOp::Gt, CompareOp::Lt])],
                LAST_MODIFIED,
            )?,
            None => None,
        };
        let keys = [SortKey {
            column: ALL_MESSAGES_SCHEMA.key_column,
            descending: false,
        }];
        let after = match &q.skiptoken {
            Some(t) => match paging::decode(&keys, t).as_deref() {
                Some([SqlValue::Integer(seq)]) => *seq,
                _ => return Err(bad("The $skiptoken is invalid.")),
            },
            None => 0,
        };
        let page = self
            .store
            .message_changes(&caller.tenant_id, &user.id, after, filter.as_ref(), limit)
            .await
            .map_err(|e| Error::from(e).in_family(TEAMS))?;
        let skiptoken = match (page.more, page.last_seq) {
            (true, Some(seq)) => Some(paging::encode(&keys, &[SqlValue::Integer(seq)])),
            _ => None,
        };
        Ok(MessagePage {
            items: page.items,
            skiptoken,
            count: None,
        })
    }

    /// `GET /users/{id}/chats/getAllMessages/delta`: a round of pages ending in a delta token;
    /// the next round (with that token) returns exactly the messages created, changed or
    /// soft-deleted since.
    pub async fn delta(
        &self,
        caller: &Principal,
        owner: &Owner,
        q: &QueryOptions,
    ) -> Result<DeltaPage, Error> {
        caller.require(&permissions::CHAT_MESSAGES_ALL)?;
        let user = self.target_user(caller, owner).await?;
        if q.select.is_some()
            || !q.expand.is_empty()
            || q.skip.is_some()
            || q.search.is_some()
            || !q.orderby.is_empty()
        {
            return Err(bad(
                "getAllMessages/delta supports only $top, $filter on lastModifiedDateTime (gt) and its own state tokens.",
            ));
        }
        let limit = page_size(q)?;
        let filter = match &q.filter {
            Some(f) => date_filter(f, &[(LAST_MODIFIED, &[CompareOp::Gt])], LAST_MODIFIED)?,
            None => None,
        };
        let now = now_ms();
        let secret = self.store.message_token_secret().await?;
        let presented = match (&q.skiptoken, &q.deltatoken) {
            (Some(_), Some(_)) => {
                return Err(bad("Send either $skiptoken or $deltatoken, not both."));
            }
            (Some(t), None) => Some(change_tokens::verify(&secret, t, TokenKind::Page, now)),
            (None, Some(t)) => Some(change_tokens::verify(&secret, t, TokenKind::Delta, now)),
            (None, None) => None,
        };
        let after = match presented {
            None => 0,
            Some(Ok(t)) if t.tenant_id == caller.tenant_id && t.user_id == user.id => t.seq,
            Some(Ok(_)) | Some(Err(TokenError::Invalid)) => {
                return Err(bad(
                    "The state token is not valid: it was not issued by this server for this user, or it was altered. Start a new round without a token.",
                ));
            }
            Some(Err(TokenError::Expired)) => {
                return Err(Error::new(
                    ErrorKind::BadRequest,
                    "resyncRequired",
                    "The state token has expired. Start a new round: call getAllMessages/delta without a token.",
                ));
            }
        };
        let page = self
            .store
            .message_changes(&caller.tenant_id, &user.id, after, filter.as_ref(), limit)
            .await
            .map_err(|e| Error::from(e).in_family(TEAMS))?;
        let kind = if page.more {
            TokenKind::Page
        } else {
            TokenKind::Delta
        };
        let token = change_tokens::sign(
            &secret,
            &ChangeToken {
                kind,
                tenant_id: caller.tenant_id.clone(),
                user_id: user.id,
                seq: page.last_seq.unwrap_or(after),
                issued_ms: now,
            },
        );
        Ok(DeltaPage {
            items: page.items,
            next_token: page.more.then(|| token.clone()),
            delta_token: (!page.more).then_some(token),
        })
    }
}
