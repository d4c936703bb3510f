//! `/chats/{id}/messages` (also under `/me` and `/users/{id}`): sending, reading, editing,
//! soft-deleting and reacting to chat messages; `/users/{id}/chats/getAllMessages` and its
//! delta; and the chatMessage JSON.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use switchboard_domain::chat_messages::{
    BodyInput, ChatMessages, Listed, MessageInput, MessageRecord, Rendering,
};
use switchboard_domain::chats::{Owner, urlencode};
use switchboard_domain::graph_time::millis;
use switchboard_domain::{Error, ErrorKind, Family};

use crate::AppState;
use crate::body::{BodyReader, JsonObject};
use crate::chats::{Params, message_type_shown, owner, param, param_ci};
use crate::context::Ctx;
use crate::error::ApiError;
use crate::odata;

/// The chat message routes, mounted at `/`, `/me` and `/users/{uid}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        // Static paths: never taken for a chat id by `/chats/{chat}`.
        .route("/chats/getAllMessages", get(all_messages))
        .route("/chats/getAllMessages/delta", get(delta))
        .route("/chats/{chat}/messages", get(list).post(send))
        .route("/chats/{chat}/messages/{message}", get(read).patch(update))
        .route(
            "/chats/{chat}/messages/{message}/softDelete",
            post(soft_delete),
        )
        .route(
            "/chats/{chat}/messages/{message}/undoSoftDelete",
            post(undo_soft_delete),
        )
        .route(
            "/chats/{chat}/messages/{message}/setReaction",
            post(set_reaction),
        )
        .route(
            "/chats/{chat}/messages/{message}/unsetReaction",
            post(unset_reaction),
        )
}

fn messages(state: &AppState) -> ChatMessages<'_> {
    ChatMessages {
        store: state.store.as_ref(),
    }
}

/// `chats('…')/messages`, or `users('…')/chats('…')/messages` when addressed through a user.
fn messages_context(ctx: &Ctx, owner: &Owner, chat_id: &str) -> String {
    match owner {
        Owner::Caller => format!("chats('{}')/messages", urlencode(chat_id)),
        Owner::Me => format!(
            "users('{}')/chats('{}')/messages",
            ctx.principal.user_id().unwrap_or_default(),
            urlencode(chat_id)
        ),
        Owner::User(uid) => format!("users('{uid}')/chats('{}')/messages", urlencode(chat_id)),
    }
}

/// A chat message as Graph returns it: every property present, `null` where Graph has nulls.
/// A soft-deleted message keeps its id and reactions but shows an empty body, no mentions and
/// no attachments.
///
/// Written straight from the record: the hot answers (a send, a page of 50) are serialized
/// without building a `Value` tree first. Optionally preceded by `@odata.context` (an entity answer) or
/// `@odata.type` (items of `Collection(chatMessage)`).
pub struct MessageJson<'a> {
    style: MessageStyle,
    m: &'a MessageRecord,
    context: Option<String>,
    typed: bool,
}

/// Everything of a request that changes how a message is written: [`MessageJson`] reads nothing
/// else of it, so renderings can be kept per style (`renderings.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageStyle {
    /// `Prefer: include-unknown-enum-members` (`messageType` `systemEventMessage`).
    pub unknown_enum_members: bool,
}

impl MessageStyle {
    /// The style `ctx` asks for.
    pub fn of(ctx: &Ctx) -> MessageStyle {
        MessageStyle {
            unknown_enum_members: ctx.prefers("include-unknown-enum-members"),
        }
    }
}

impl<'a> MessageJson<'a> {
    /// The message alone.
    pub fn new(ctx: &Ctx, m: &'a MessageRecord) -> MessageJson<'a> {
        MessageJson {
            style: MessageStyle::of(ctx),
            m,
            context: None,
            typed: false,
        }
    }

    /// The message as an entity answer, with its context (as [`odata::entity`] writes it).
    pub fn entity(ctx: &Ctx, fragment: &str, m: &'a MessageRecord) -> MessageJson<'a> {
        MessageJson {
            context: Some(ctx.context(&format!("{fragment}/$entity"))),
            ..MessageJson::new(ctx, m)
        }
    }

    /// The message with its `@odata.type` first.
    pub fn typed(ctx: &Ctx, m: &'a MessageRecord) -> MessageJson<'a> {
        MessageJson {
            typed: true,
            ..MessageJson::new(ctx, m)
        }
    }
}

/// `from` of a message, as [`message_from`] writes it.
struct FromJson<'a>(&'a MessageRecord);

impl Serialize for FromJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        let Some(id) = &m.from_user_id else {
            return s.serialize_none();
        };
        struct User<'a>(&'a str, &'a MessageRecord);
        impl Serialize for User<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(5))?;
                map.serialize_entry("@odata.type", "#microsoft.graph.teamworkUserIdentity")?;
                map.serialize_entry("id", self.0)?;
                map.serialize_entry("displayName", &self.1.from_display_name)?;
                map.serialize_entry("userIdentityType", "aadUser")?;
                map.serialize_entry("tenantId", &self.1.tenant_id)?;
                map.end()
            }
        }
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("application", &())?;
        map.serialize_entry("device", &())?;
        map.serialize_entry("user", &User(id, m))?;
        map.end()
    }
}

impl Serialize for MessageJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const EMPTY: &[Value] = &[];
        struct Body<'a>(&'a str, &'a str);
        impl Serialize for Body<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry("contentType", self.0)?;
                map.serialize_entry("content", self.1)?;
                map.end()
            }
        }
        let m = self.m;
        let deleted = m.deleted_ms.is_some();
        let shown = |v: &'_ Value| !(deleted || v.is_null());
        let null = ();
        let mut map = s.serialize_map(None)?;
        if let Some(context) = &self.context {
            map.serialize_entry("@odata.context", context)?;
        }
        if self.typed {
            map.serialize_entry("@odata.type", "#microsoft.graph.chatMessage")?;
        }
        map.serialize_entry("id", &m.id.to_string())?;
        map.serialize_entry("replyToId", &null)?;
        map.serialize_entry("etag", &m.modified_ms.to_string())?;
        map.serialize_entry(
            "messageType",
            message_type_shown(self.style.unknown_enum_members, &m.message_type),
        )?;
        map.serialize_entry("createdDateTime", &millis(m.created_ms))?;
        map.serialize_entry("lastModifiedDateTime", &millis(m.modified_ms))?;
        map.serialize_entry("lastEditedDateTime", &m.edited_ms.map(millis))?;
        map.serialize_entry("deletedDateTime", &m.deleted_ms.map(millis))?;
        map.serialize_entry("subject", &m.subject)?;
        map.serialize_entry("summary", &null)?;
        map.serialize_entry("chatId", &m.chat_id)?;
        map.serialize_entry("importance", &m.importance)?;
        map.serialize_entry("locale", "en-us")?;
        map.serialize_entry("webUrl", &null)?;
        map.serialize_entry("channelIdentity", &null)?;
        map.serialize_entry("policyViolation", &null)?;
        map.serialize_entry("eventDetail", &m.event_detail)?;
        map.serialize_entry("from", &FromJson(m))?;
        map.serialize_entry(
            "body",
            &Body(&m.body_type, if deleted { "" } else { m.body.as_str() }),
        )?;
        if shown(&m.attachments) {
            map.serialize_entry("attachments", &m.attachments)?;
        } else {
            map.serialize_entry("attachments", EMPTY)?;
        }
        if shown(&m.mentions) {
            map.serialize_entry("mentions", &m.mentions)?;
        } else {
            map.serialize_entry("mentions", EMPTY)?;
        }
        if m.reactions.is_null() {
            map.serialize_entry("reactions", EMPTY)?;
        } else {
            map.serialize_entry("reactions", &m.reactions)?;
        }
        if m.history.is_null() {
            map.serialize_entry("messageHistory", EMPTY)?;
        } else {
            map.serialize_entry("messageHistory", &m.history)?;
        }
        map.end()
    }
}

/// Properties of a chatMessage the service owns: accepted in request bodies (clients echo whole
/// messages back on PATCH) and ignored.
const SERVER_OWNED: &[&str] = &[
    "id",
    "etag",
    "messageType",
    "createdDateTime",
    "lastModifiedDateTime",
    "lastEditedDateTime",
    "deletedDateTime",
    "summary",
    "chatId",
    "locale",
    "webUrl",
    "channelIdentity",
    "eventDetail",
    "from",
    "reactions",
    "messageHistory",
    "onBehalfOf",
    "replies",
];

fn not_implemented(what: &str) -> ApiError {
    ApiError(Error::new(
        ErrorKind::NotImplemented,
        "NotImplemented",
        format!("{what} is not implemented by Switchboard."),
    ))
}

/// Reads a send or edit body.
fn message_input(body: JsonObject) -> Result<MessageInput, ApiError> {
    let mut r = BodyReader::new(body.0, "microsoft.graph.chatMessage", Family::Teams);
    let body = match r.object("body", "microsoft.graph.itemBody")? {
        Some(mut b) => {
            let content_type = b.string("contentType")?.flatten();
            let content = b.string("content")?.flatten();
            b.finish(&[])?;
            Some(BodyInput {
                content_type,
                content,
            })
        }
        None => None,
    };
    let subject = r.string("subject")?;
    let importance = r.string("importance")?.flatten();
    let mentions = r.take_array("mentions")?;
    let attachments = r.take_array("attachments")?;
    if let Some(Some(reply_to)) = r.string("replyToId")? {
        return Err(ApiError::bad_request(
            Family::Teams,
            format!(
                "replyToId ('{reply_to}') is for replies in channels; a chat message cannot reply to another."
            ),
        ));
    }
    if r.take_array("hostedContents")?
        .is_some_and(|h| !h.is_empty())
    {
        return Err(not_implemented(
            "Sending hosted contents (inline images) with a chat message",
        ));
    }
    if r.object(
        "policyViolation",
        "microsoft.graph.chatMessagePolicyViolation",
    )?
    .is_some()
    {
        return Err(not_implemented("policyViolation (data loss prevention)"));
    }
    r.finish(SERVER_OWNED)?;
    Ok(MessageInput {
        body,
        subject,
        importance,
        mentions,
        attachments,
    })
}

/// # `POST /chats/{chat-id}/messages` (`/me/chats/…`, `/users/{id}/chats/…`)
/// 201 with the whole message and its `Location`.
async fn send(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let owner = owner(&ctx, &params);
    let input = message_input(body)?;
    let m = messages(&state)
        .send(&ctx.principal, &owner, param(&params, "chat"), input)
        .await?;
    let context = messages_context(&ctx, &owner, &m.chat_id);
    let location = ctx.url(&format!(
        "chats('{}')/messages('{}')",
        urlencode(&m.chat_id),
        m.id
    ));
    Ok(odata::created_from(
        &MessageJson::entity(&ctx, &context, &m),
        &location,
    ))
}

/// # `GET /chats/{chat-id}/messages`
async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let owner = owner(&ctx, &params);
    let chat_id = param(&params, "chat");
    let style = MessageStyle::of(&ctx);
    let renderings = state.renderings.clone();
    let chat = chat_id.to_string();
    let page = messages(&state)
        .list(
            &ctx.principal,
            &owner,
            chat_id,
            &ctx.query,
            Box::new(move |id, seq| renderings.get(&chat, id, seq, style)),
        )
        .await?;
    let mut items: Vec<Rendering> = Vec::with_capacity(page.items.len());
    for listed in page.items {
        items.push(match listed {
            Listed::Rendered(json) => json,
            Listed::Record { seq, record } => {
                let json: Rendering = serde_json::value::to_raw_value(&MessageJson {
                    style,
                    ..MessageJson::new(&ctx, &record)
                })
                .map_err(|e| Error::internal(format!("a message could not be written: {e}")))?
                .into();
                state
                    .renderings
                    .put(&record.chat_id, record.id, seq, style, json.clone());
                json
            }
        });
    }
    let items: Vec<&RawValue> = items.iter().map(|json| &**json).collect();
    Ok(odata::json_from(
        StatusCode::OK,
        &odata::Collection::new(
            &ctx,
            &messages_context(&ctx, &owner, chat_id),
            &items,
            page.count,
            page.skiptoken.as_deref(),
        ),
    ))
}

/// # `GET /chats/{chat-id}/messages/{message-id}`
async fn read(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let owner = owner(&ctx, &params);
    let chat_id = param(&params, "chat");
    let m = messages(&state)
        .get(&ctx.principal, &owner, chat_id, param(&params, "message"))
        .await?;
    Ok(odata::json_from(
        StatusCode::OK,
        &MessageJson::entity(&ctx, &messages_context(&ctx, &owner, chat_id), &m),
    ))
}

/// # `PATCH /chats/{chat-id}/messages/{message-id}`
/// 204, as Graph answers delegated edits.
async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    body: JsonObject,
) -> Result<StatusCode, ApiError> {
    let input = message_input(body)?;
    messages(&state)
        .edit(
            &ctx.principal,
            &owner(&ctx, &params),
            param(&params, "chat"),
            param(&params, "message"),
            input,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `POST /chats/{chat-id}/messages/{message-id}/softDelete`
async fn soft_delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<StatusCode, ApiError> {
    messages(&state)
        .soft_delete(
            &ctx.principal,
            &owner(&ctx, &params),
            param(&params, "chat"),
            param(&params, "message"),
            false,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `POST /chats/{chat-id}/messages/{message-id}/undoSoftDelete`
async fn undo_soft_delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<StatusCode, ApiError> {
    messages(&state)
        .soft_delete(
            &ctx.principal,
            &owner(&ctx, &params),
            param(&params, "chat"),
            param(&params, "message"),
            true,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn react(
    state: &AppState,
    ctx: &Ctx,
    params: &HashMap<String, String>,
    body: &Map<String, Value>,
    set: bool,
) -> Result<StatusCode, ApiError> {
    let reaction = match param_ci(body, "reactionType") {
        Some(Value::String(r)) => r.clone(),
        _ => {
            return Err(ApiError::bad_request(
                Family::Teams,
                "The action needs a 'reactionType' parameter: {\"reactionType\": \"💘\"}.",
            ));
        }
    };
    messages(state)
        .react(
            &ctx.principal,
            &owner(ctx, params),
            param(params, "chat"),
            param(params, "message"),
            &reaction,
            set,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `POST /chats/{chat-id}/messages/{message-id}/setReaction`
async fn set_reaction(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    body: JsonObject,
) -> Result<StatusCode, ApiError> {
    react(&state, &ctx, &params, &body.0, true).await
}

/// # `POST /chats/{chat-id}/messages/{message-id}/unsetReaction`
async fn unset_reaction(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    body: JsonObject,
) -> Result<StatusCode, ApiError> {
    react(&state, &ctx, &params, &body.0, false).await
}

/// Items of `Collection(chatMessage)` answers carry their type, as Teams writes them.
fn typed(ctx: &Ctx, m: &MessageRecord) -> Value {
    serde_json::to_value(MessageJson::typed(ctx, m)).unwrap_or(Value::Null)
}

/// # `GET /users/{id}/chats/getAllMessages`
async fn all_messages(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let page = messages(&state)
        .all_messages(&ctx.principal, &owner(&ctx, &params), &ctx.query)
        .await?;
    let items = page.items.iter().map(|m| typed(&ctx, m)).collect();
    Ok(odata::json(
        StatusCode::OK,
        odata::collection(
            &ctx,
            "Collection(chatMessage)",
            items,
            None,
            page.skiptoken.as_deref(),
        ),
    ))
}

/// # `GET /users/{id}/chats/getAllMessages/delta`
/// Pages end with `@odata.nextLink` (more of this round) or `@odata.deltaLink` (the round is
/// complete; calling it later returns what changed since).
async fn delta(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let page = messages(&state)
        .delta(&ctx.principal, &owner(&ctx, &params), &ctx.query)
        .await?;
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(ctx.context("Collection(chatMessage)")),
    );
    if let Some(token) = &page.next_token {
        out.insert(
            "@odata.nextLink".into(),
            json!(odata::next_link(&ctx, "$skiptoken", token)),
        );
    }
    if let Some(token) = &page.delta_token {
        out.insert(
            "@odata.deltaLink".into(),
            json!(odata::next_link(&ctx, "$deltatoken", token)),
        );
    }
    out.insert(
        "value".into(),
        Value::Array(page.items.iter().map(|m| typed(&ctx, m)).collect()),
    );
    Ok(odata::json(StatusCode::OK, Value::Object(out)))
}

#[cfg(test)]
mod tests {
    use switchboard_domain::Principal;
    use switchboard_domain::principal::PrincipalKind;
    use switchboard_odata::QueryOptions;

    use super::*;
    use crate::chats::{message_from, message_type};

    /// The `Value` tree the answers were built from before [`MessageJson`]: the serializer
    /// must write the same document, key order included.
    fn reference(ctx: &Ctx, m: &MessageRecord) -> Value {
        let deleted = m.deleted_ms.is_some();
        let or_empty = |v: &Value| {
            if deleted || v.is_null() {
                json!([])
            } else {
                v.clone()
            }
        };
        json!({
            "id": m.id.to_string(),
            "replyToId": null,
            "etag": m.modified_ms.to_string(),
            "messageType": message_type(ctx, &m.message_type),
            "createdDateTime": millis(m.created_ms),
            "lastModifiedDateTime": millis(m.modified_ms),
            "lastEditedDateTime": m.edited_ms.map(millis),
            "deletedDateTime": m.deleted_ms.map(millis),
            "subject": m.subject,
            "summary": null,
            "chatId": m.chat_id,
            "importance": m.importance,
            "locale": "en-us",
            "webUrl": null,
            "channelIdentity": null,
            "policyViolation": null,
            "eventDetail": m.event_detail,
            "from": message_from(m),
            "body": { "contentType": m.body_type, "content": if deleted { "" } else { m.body.as_str() } },
            "attachments": or_empty(&m.attachments),
            "mentions": or_empty(&m.mentions),
            "reactions": if m.reactions.is_null() { json!([]) } else { m.reactions.clone() },
            "messageHistory": if m.history.is_null() { json!([]) } else { m.history.clone() },
        })
    }

    fn ctx() -> Ctx {
        Ctx {
            principal: Principal {
                tenant_id: "t".into(),
                client_id: "c".into(),
                kind: PrincipalKind::App { roles: vec![] },
            },
            version: "v1.0",
            base: "http://h".into(),
            path: "/v1.0/chats/x/messages".into(),
            query: QueryOptions::default(),
            eventual: false,
            prefer: vec![],
        }
    }

    fn records() -> Vec<MessageRecord> {
        let plain = MessageRecord {
            chat_id: "19:a@thread.v2".into(),
            id: 1_700_000_000_123,
            tenant_id: "t".into(),
            message_type: "message".into(),
            from_user_id: Some("u1".into()),
            from_display_name: Some("Ann \"A\" <x>".into()),
            body_type: "text".into(),
            body: "hi\n\u{e9}".into(),
            subject: None,
            importance: "normal".into(),
            mentions: json!([]),
            attachments: json!([{"id": "a", "contentType": "reference"}]),
            reactions: json!([{"reactionType": "like"}]),
            history: Value::Null,
            event_detail: None,
            created_ms: 1_700_000_000_123,
            modified_ms: 1_700_000_001_000,
            edited_ms: Some(1_700_000_001_000),
            deleted_ms: None,
        };
        let deleted = MessageRecord {
            deleted_ms: Some(1_700_000_002_000),
            mentions: json!([{"id": 0}]),
            subject: Some("s".into()),
            ..plain.clone()
        };
        let event = MessageRecord {
            message_type: "systemEventMessage".into(),
            from_user_id: None,
            from_display_name: None,
            mentions: Value::Null,
            attachments: Value::Null,
            reactions: Value::Null,
            event_detail: Some(
                json!({"@odata.type": "#microsoft.graph.chatRenamedEventMessageDetail"}),
            ),
            ..plain.clone()
        };
        vec![plain, deleted, event]
    }

    #[test]
    fn the_serializer_writes_the_documented_message() {
        let mut ctx = ctx();
        for prefer in [vec![], vec!["include-unknown-enum-members".to_string()]] {
            ctx.prefer = prefer;
            for m in records() {
                let written = serde_json::to_string(&MessageJson::new(&ctx, &m)).unwrap();
                assert_eq!(written, reference(&ctx, &m).to_string());

                let mut entity = Map::new();
                entity.insert(
                    "@odata.context".into(),
                    json!(ctx.context("chats('x')/messages/$entity")),
                );
                entity.extend(reference(&ctx, &m).as_object().unwrap().clone());
                assert_eq!(
                    serde_json::to_string(&MessageJson::entity(&ctx, "chats('x')/messages", &m))
                        .unwrap(),
                    Value::Object(entity).to_string()
                );

                let page = [MessageJson::new(&ctx, &m), MessageJson::new(&ctx, &m)];
                for (count, token) in [(None, None), (Some(7), Some("tok en"))] {
                    let expected = odata::collection(
                        &ctx,
                        "chats('x')/messages",
                        vec![reference(&ctx, &m), reference(&ctx, &m)],
                        count,
                        token,
                    );
                    let written = serde_json::to_string(&odata::Collection::new(
                        &ctx,
                        "chats('x')/messages",
                        &page,
                        count,
                        token,
                    ))
                    .unwrap();
                    assert_eq!(written, expected.to_string());
                }
            }
        }
    }
}
