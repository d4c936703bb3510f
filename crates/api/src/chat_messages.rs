//! `/chats/{id}/messages` (also under `/me` and `/users/{id}`): sending, reading, editing,
//! soft-deleting and reacting to chat messages; `/users/{id}/chats/getAllMessages` and its
//! delta; and the chatMessage JSON.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use switchboard_domain::chat_messages::{BodyInput, ChatMessages, MessageInput, MessageRecord};
use switchboard_domain::chats::{Owner, urlencode};
use switchboard_domain::graph_time::millis;
use switchboard_domain::{Error, ErrorKind, Family};

use crate::AppState;
use crate::body::{BodyReader, JsonObject};
use crate::chats::{Params, message_from, message_type, owner, param, param_ci};
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
pub fn message_json(ctx: &Ctx, m: &MessageRecord) -> Map<String, Value> {
    let deleted = m.deleted_ms.is_some();
    let or_empty = |v: &Value| {
        if deleted || v.is_null() {
            json!([])
        } else {
            v.clone()
        }
    };
    let value = json!({
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
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
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
    Ok(odata::created(
        odata::entity(&ctx, &context, message_json(&ctx, &m)),
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
    let page = messages(&state)
        .list(&ctx.principal, &owner, chat_id, &ctx.query)
        .await?;
    let items = page
        .items
        .iter()
        .map(|m| Value::Object(message_json(&ctx, m)))
        .collect();
    let body = odata::collection(
        &ctx,
        &messages_context(&ctx, &owner, chat_id),
        items,
        page.count,
        page.skiptoken.as_deref(),
    );
    Ok(odata::json(StatusCode::OK, body))
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
    Ok(odata::json(
        StatusCode::OK,
        odata::entity(
            &ctx,
            &messages_context(&ctx, &owner, chat_id),
            message_json(&ctx, &m),
        ),
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
    let mut out = Map::new();
    out.insert("@odata.type".into(), json!("#microsoft.graph.chatMessage"));
    out.extend(message_json(ctx, m));
    Value::Object(out)
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
