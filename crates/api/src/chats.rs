//! `/chats` (also under `/me` and `/users/{id}`): chats, their members, per-user state and the
//! `lastMessagePreview`, and the chat's JSON.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use switchboard_domain::chat_messages::MessageRecord;
use switchboard_domain::chats::{
    BEGINNING_OF_TIME_MS, ChatInput, ChatRecord, ChatView, Chats, Created, MemberInput,
    MemberRecord, Owner, ViewpointChange, urlencode, web_url,
};
use switchboard_domain::graph_time::{self, millis};
use switchboard_domain::{Error, ErrorKind, Family};

use crate::AppState;
use crate::body::{BodyReader, JsonObject};
use crate::context::Ctx;
use crate::error::ApiError;
use crate::odata;

/// The chat routes, mounted at `/`, `/me` and `/users/{uid}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/chats", get(list).post(create))
        .route("/chats/{chat}", get(read).patch(update).delete(remove))
        .route("/chats/{chat}/hideForUser", post(hide))
        .route("/chats/{chat}/unhideForUser", post(unhide))
        .route("/chats/{chat}/markChatReadForUser", post(mark_read))
        .route("/chats/{chat}/markChatUnreadForUser", post(mark_unread))
        .route("/chats/{chat}/members", get(list_members).post(add_member))
        .route(
            "/chats/{chat}/members/{member}",
            get(read_member).delete(remove_member),
        )
        .route(
            "/chats/{chat}/lastMessagePreview",
            get(preview)
                .post(preview_is_read_only)
                .patch(preview_is_read_only)
                .delete(preview_is_read_only),
        )
}

/// The path parameters of a chat route (`uid`, `chat`, `member`, …), shared by every route
/// family mounted under the chats.
pub(crate) type Params = Path<HashMap<String, String>>;

/// Who the route addresses: `/chats` (the caller), `/me/chats`, or `/users/{uid}/chats`.
pub(crate) fn owner(ctx: &Ctx, params: &HashMap<String, String>) -> Owner {
    if let Some(uid) = params.get("uid") {
        Owner::User(uid.clone())
    } else if ctx.path.split('/').nth(2) == Some("me") {
        Owner::Me
    } else {
        Owner::Caller
    }
}

/// A path parameter (empty when absent).
pub(crate) fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> &'a str {
    params.get(name).map(String::as_str).unwrap_or_default()
}

fn chats(state: &AppState) -> Chats<'_> {
    Chats {
        store: state.store.as_ref(),
    }
}

/// `messageType`, honouring Graph's evolvable-enum rule: members after `unknownFutureValue`
/// (here `systemEventMessage`) only for clients that ask for them.
pub fn message_type(ctx: &Ctx, stored: &str) -> &'static str {
    message_type_shown(ctx.prefers("include-unknown-enum-members"), stored)
}

/// [`message_type`], given whether the client asked for unknown enum members
/// (`Prefer: include-unknown-enum-members`).
pub fn message_type_shown(unknown_members: bool, stored: &str) -> &'static str {
    match stored {
        "message" => "message",
        "chatEvent" => "chatEvent",
        "typing" => "typing",
        "systemEventMessage" if unknown_members => "systemEventMessage",
        _ => "unknownFutureValue",
    }
}

/// `from` of a message (`chatMessageFromIdentitySet`): `null` for system events.
pub fn message_from(m: &MessageRecord) -> Value {
    match &m.from_user_id {
        Some(id) => json!({
            "application": null,
            "device": null,
            "user": {
                "@odata.type": "#microsoft.graph.teamworkUserIdentity",
                "id": id,
                "displayName": m.from_display_name,
                "userIdentityType": "aadUser",
                "tenantId": m.tenant_id,
            }
        }),
        None => Value::Null,
    }
}

/// A chat's `lastMessagePreview` (`chatMessageInfo`).
pub fn message_info_json(ctx: &Ctx, m: &MessageRecord) -> Value {
    let deleted = m.deleted_ms.is_some();
    json!({
        "id": m.id.to_string(),
        "createdDateTime": millis(m.created_ms),
        "isDeleted": deleted,
        "messageType": message_type(ctx, &m.message_type),
        "eventDetail": m.event_detail,
        "body": { "contentType": m.body_type, "content": if deleted { "" } else { m.body.as_str() } },
        "from": message_from(m),
    })
}

fn viewpoint(me: &MemberRecord) -> Value {
    json!({
        "isHidden": me.is_hidden,
        "lastMessageReadDateTime": millis(me.last_read_ms.unwrap_or(BEGINNING_OF_TIME_MS)),
    })
}

/// A chat as Graph returns it.
pub fn chat_json(chat: &ChatRecord, me: Option<&MemberRecord>) -> Map<String, Value> {
    let value = json!({
        "id": chat.id,
        "topic": chat.topic,
        "createdDateTime": millis(chat.created_ms),
        "lastUpdatedDateTime": millis(chat.last_updated_ms),
        "chatType": chat.chat_type.as_str(),
        "webUrl": web_url(chat),
        "tenantId": chat.tenant_id,
        "isHiddenForAllMembers": false,
        "onlineMeetingInfo": chat.online_meeting,
        "viewpoint": me.map(viewpoint),
    });
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A chat member (`aadUserConversationMember`) as Graph returns it.
pub fn member_json(m: &MemberRecord) -> Map<String, Value> {
    let value = json!({
        "@odata.type": "#microsoft.graph.aadUserConversationMember",
        "id": m.membership_id(),
        "roles": m.roles,
        "displayName": m.display_name,
        "visibleHistoryStartDateTime": millis(m.visible_history_ms.unwrap_or(m.added_ms)),
        "userId": m.user_id,
        "email": m.email,
        "tenantId": m.tenant_id,
    });
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Most members an expanded `members` lists per chat, as Graph caps it.
const EXPANDED_MEMBERS: usize = 25;

/// Which navigations `$expand` asks for on chats.
struct Expand {
    members: bool,
    preview: bool,
}

fn expand(ctx: &Ctx) -> Result<Expand, ApiError> {
    let mut out = Expand {
        members: false,
        preview: false,
    };
    for item in &ctx.query.expand {
        match item.path.to_ascii_lowercase().as_str() {
            "members" => out.members = true,
            "lastmessagepreview" => out.preview = true,
            other => {
                return Err(ApiError::bad_request(
                    Family::Teams,
                    format!(
                        "Expanding '{other}' is not supported on chats; expand 'members' or 'lastMessagePreview'."
                    ),
                ));
            }
        }
    }
    Ok(out)
}

fn context_fragment(e: &Expand) -> String {
    let mut parts = Vec::new();
    if e.members {
        parts.push("members()");
    }
    if e.preview {
        parts.push("lastMessagePreview()");
    }
    if parts.is_empty() {
        "chats".into()
    } else {
        format!("chats({})", parts.join(","))
    }
}

/// The chats' JSON with the expansions asked for.
async fn render(
    state: &AppState,
    ctx: &Ctx,
    views: &[ChatView],
    e: &Expand,
    owner: &Owner,
) -> Result<Vec<Map<String, Value>>, ApiError> {
    let previews: HashMap<String, MessageRecord> = if e.preview {
        let ids: Vec<String> = views.iter().map(|v| v.chat.id.clone()).collect();
        state
            .store
            .last_messages(&ids)
            .await?
            .into_iter()
            .map(|m| (m.chat_id.clone(), m))
            .collect()
    } else {
        HashMap::new()
    };
    let mut out = Vec::with_capacity(views.len());
    for v in views {
        let mut json = chat_json(&v.chat, v.me.as_ref());
        if e.members {
            let members = state.store.members(&v.chat.id).await?;
            let prefix = match owner {
                Owner::User(uid) => format!("users('{uid}')/"),
                Owner::Me => ctx
                    .principal
                    .user_id()
                    .map(|u| format!("users('{u}')/"))
                    .unwrap_or_default(),
                Owner::Caller => String::new(),
            };
            json.insert(
                "members@odata.context".into(),
                json!(ctx.context(&format!(
                    "{prefix}chats('{}')/members",
                    urlencode(&v.chat.id)
                ))),
            );
            json.insert(
                "members".into(),
                Value::Array(
                    members
                        .iter()
                        .take(EXPANDED_MEMBERS)
                        .map(|m| Value::Object(member_json(m)))
                        .collect(),
                ),
            );
        }
        if e.preview {
            json.insert(
                "lastMessagePreview".into(),
                previews
                    .get(&v.chat.id)
                    .map(|m| message_info_json(ctx, m))
                    .unwrap_or(Value::Null),
            );
        }
        out.push(json);
    }
    Ok(out)
}

/// # `GET /chats` (`/me/chats`, `/users/{id}/chats`)
async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let owner = owner(&ctx, &params);
    let e = expand(&ctx)?;
    let page = chats(&state)
        .list(&ctx.principal, &owner, &ctx.query)
        .await?;
    let items = render(&state, &ctx, &page.items, &e, &owner)
        .await?
        .into_iter()
        .map(Value::Object)
        .collect();
    Ok(odata::json(
        StatusCode::OK,
        odata::collection(
            &ctx,
            &context_fragment(&e),
            items,
            None,
            page.skiptoken.as_deref(),
        ),
    ))
}

/// Reads a create-chat body.
fn chat_input(body: JsonObject) -> Result<ChatInput, ApiError> {
    let mut r = BodyReader::new(body.0, "microsoft.graph.chat", Family::Teams);
    let chat_type = r.string("chatType")?.flatten();
    let topic = r.string("topic")?.flatten();
    let members = match r.take_array("members")? {
        None => None,
        Some(items) => Some(
            items
                .into_iter()
                .map(member_input)
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    r.finish(&[
        "id",
        "createdDateTime",
        "lastUpdatedDateTime",
        "tenantId",
        "webUrl",
        "viewpoint",
        "onlineMeetingInfo",
        "isHiddenForAllMembers",
    ])?;
    Ok(ChatInput {
        chat_type,
        topic,
        members,
    })
}

/// Reads one `conversationMember` of a request body.
fn member_input(item: Value) -> Result<MemberInput, ApiError> {
    let Value::Object(map) = item else {
        return Err(ApiError::bad_request(
            Family::Teams,
            "Each member must be an object.",
        ));
    };
    if let Some(t) = map.get("@odata.type").and_then(Value::as_str)
        && !t
            .trim_start_matches('#')
            .eq_ignore_ascii_case("microsoft.graph.aadUserConversationMember")
    {
        return Err(ApiError::bad_request(
            Family::Teams,
            format!(
                "Members of type '{t}' are not supported; use '#microsoft.graph.aadUserConversationMember'."
            ),
        ));
    }
    let user_bind = map
        .get("user@odata.bind")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut r = BodyReader::new(
        map,
        "microsoft.graph.aadUserConversationMember",
        Family::Teams,
    );
    let roles = r.strings("roles")?;
    let visible = r.string("visibleHistoryStartDateTime")?.flatten();
    let visible_history_ms = match visible {
        None => None,
        Some(text) => Some(graph_time::parse(&text).ok_or_else(|| {
            ApiError::bad_request(
                Family::Teams,
                format!("Invalid value '{text}' for property 'visibleHistoryStartDateTime'."),
            )
        })?),
    };
    r.finish(&["id", "displayName", "userId", "email", "tenantId"])?;
    Ok(MemberInput {
        user_bind,
        roles,
        visible_history_ms,
    })
}

/// # `POST /chats` (`/me/chats`, `/users/{id}/chats`)
async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let owner = owner(&ctx, &params);
    let input = chat_input(body)?;
    let chat = match chats(&state).create(&ctx.principal, &owner, input).await? {
        Created::New(c) | Created::Existing(c) => c,
    };
    let me = match ctx.principal.user_id() {
        Some(uid) => state.store.member(&chat.id, uid).await?,
        None => None,
    };
    let location = ctx.url(&format!("chats('{}')", urlencode(&chat.id)));
    Ok(odata::created(
        odata::entity(&ctx, "chats", chat_json(&chat, me.as_ref())),
        &location,
    ))
}

/// # `GET /chats/{chat-id}`
async fn read(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let owner = owner(&ctx, &params);
    let e = expand(&ctx)?;
    let view = chats(&state)
        .get(&ctx.principal, &owner, param(&params, "chat"))
        .await?;
    let mut rendered = render(&state, &ctx, std::slice::from_ref(&view), &e, &owner).await?;
    let body = rendered.pop().unwrap_or_default();
    Ok(odata::json(
        StatusCode::OK,
        odata::entity(&ctx, &context_fragment(&e), body),
    ))
}

/// # `PATCH /chats/{chat-id}`
async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let owner = owner(&ctx, &params);
    let mut r = BodyReader::new(body.0, "microsoft.graph.chat", Family::Teams);
    let topic = r.string("topic")?;
    if let Some(t) = r.string("chatType")?.flatten() {
        return Err(ApiError::bad_request(
            Family::Teams,
            format!("The chatType of a chat cannot be changed (to '{t}')."),
        ));
    }
    r.finish(&[
        "id",
        "createdDateTime",
        "lastUpdatedDateTime",
        "tenantId",
        "webUrl",
        "viewpoint",
        "onlineMeetingInfo",
        "isHiddenForAllMembers",
    ])?;
    let topic = match topic {
        Some(Some(t)) if !t.is_empty() => Some(t),
        Some(_) => {
            return Err(ApiError::bad_request(
                Family::Teams,
                "The topic cannot be empty.",
            ));
        }
        None => None,
    };
    let view = chats(&state)
        .rename(&ctx.principal, &owner, param(&params, "chat"), topic)
        .await?;
    Ok(odata::json(
        StatusCode::OK,
        odata::entity(&ctx, "chats", chat_json(&view.chat, view.me.as_ref())),
    ))
}

/// # `DELETE /chats/{chat-id}`
async fn remove(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<StatusCode, ApiError> {
    chats(&state)
        .delete(&ctx.principal, param(&params, "chat"))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The `user` parameter of the per-user actions: `{"user": {"id": …, "tenantId": …}}`, names
/// matched case-insensitively as for every action parameter.
fn action_user(body: &Map<String, Value>) -> Result<String, ApiError> {
    let user = param_ci(body, "user")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            ApiError::bad_request(
                Family::Teams,
                "The action needs a 'user' parameter: {\"user\": {\"id\": \"…\"}}.",
            )
        })?;
    param_ci(user, "id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request(Family::Teams, "The 'user' parameter needs an 'id'."))
}

/// An action parameter, matched case-insensitively (the SDKs send PascalCase or camelCase).
pub fn param_ci<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

async fn viewpoint_action(
    state: &AppState,
    ctx: &Ctx,
    params: &HashMap<String, String>,
    body: &Map<String, Value>,
    change: ViewpointChange,
) -> Result<StatusCode, ApiError> {
    let user = action_user(body)?;
    chats(state)
        .set_viewpoint(
            &ctx.principal,
            &owner(ctx, params),
            param(params, "chat"),
            &user,
            change,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `POST /chats/{chat-id}/hideForUser`
async fn hide(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    body: JsonObject,
) -> Result<StatusCode, ApiError> {
    viewpoint_action(
        &state,
        &ctx,
        &params,
        &body.0,
        ViewpointChange::Hidden(true),
    )
    .await
}

/// # `POST /chats/{chat-id}/unhideForUser`
async fn unhide(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    body: JsonObject,
) -> Result<StatusCode, ApiError> {
    viewpoint_action(
        &state,
        &ctx,
        &params,
        &body.0,
        ViewpointChange::Hidden(false),
    )
    .await
}

/// # `POST /chats/{chat-id}/markChatReadForUser`
/// The read marker moves to now: every message so far is read.
async fn mark_read(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    body: JsonObject,
) -> Result<StatusCode, ApiError> {
    viewpoint_action(
        &state,
        &ctx,
        &params,
        &body.0,
        ViewpointChange::LastRead(Some(graph_time::now_ms())),
    )
    .await
}

/// # `POST /chats/{chat-id}/markChatUnreadForUser`
/// Without `lastMessageReadDateTime`, only the newest message becomes unread.
async fn mark_unread(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    body: JsonObject,
) -> Result<StatusCode, ApiError> {
    let at = match param_ci(&body.0, "lastMessageReadDateTime") {
        None | Some(Value::Null) => {
            let view = chats(&state)
                .visible(
                    &ctx.principal,
                    &owner(&ctx, &params),
                    param(&params, "chat"),
                )
                .await?;
            view.chat.last_message_ms.map(|t| t - 1)
        }
        Some(Value::String(text)) => Some(graph_time::parse(text).ok_or_else(|| {
            ApiError::bad_request(
                Family::Teams,
                format!("Invalid value '{text}' for parameter 'lastMessageReadDateTime'."),
            )
        })?),
        Some(_) => {
            return Err(ApiError::bad_request(
                Family::Teams,
                "'lastMessageReadDateTime' must be a date-time string.",
            ));
        }
    };
    viewpoint_action(
        &state,
        &ctx,
        &params,
        &body.0,
        ViewpointChange::LastRead(at),
    )
    .await
}

fn members_context(ctx: &Ctx, owner: &Owner, chat_id: &str) -> String {
    match owner {
        Owner::Caller => format!("chats('{}')/members", urlencode(chat_id)),
        Owner::Me => format!(
            "users('{}')/chats('{}')/members",
            ctx.principal.user_id().unwrap_or_default(),
            urlencode(chat_id)
        ),
        Owner::User(uid) => format!("users('{uid}')/chats('{}')/members", urlencode(chat_id)),
    }
}

/// # `GET /chats/{chat-id}/members`
async fn list_members(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let owner = owner(&ctx, &params);
    let chat_id = param(&params, "chat");
    let members = chats(&state)
        .members(&ctx.principal, &owner, chat_id)
        .await?;
    let count = members.len() as u64;
    let items = members
        .iter()
        .map(|m| Value::Object(member_json(m)))
        .collect();
    Ok(odata::json(
        StatusCode::OK,
        odata::collection(
            &ctx,
            &members_context(&ctx, &owner, chat_id),
            items,
            Some(count),
            None,
        ),
    ))
}

/// # `GET /chats/{chat-id}/members/{membership-id}`
async fn read_member(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let owner = owner(&ctx, &params);
    let chat_id = param(&params, "chat");
    let member = chats(&state)
        .member(&ctx.principal, &owner, chat_id, param(&params, "member"))
        .await?;
    Ok(odata::json(
        StatusCode::OK,
        odata::entity(
            &ctx,
            &members_context(&ctx, &owner, chat_id),
            member_json(&member),
        ),
    ))
}

/// # `POST /chats/{chat-id}/members`
/// 201 with the member and a relative `Location`, as Graph answers.
async fn add_member(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let owner = owner(&ctx, &params);
    let chat_id = param(&params, "chat");
    let input = member_input(Value::Object(body.0))?;
    let member = chats(&state)
        .add_member(&ctx.principal, &owner, chat_id, input)
        .await?;
    let location = format!("/chats/{}/members/{}", chat_id, member.membership_id());
    Ok(odata::created(
        odata::entity(
            &ctx,
            &members_context(&ctx, &owner, chat_id),
            member_json(&member),
        ),
        &location,
    ))
}

/// # `DELETE /chats/{chat-id}/members/{membership-id}`
async fn remove_member(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<StatusCode, ApiError> {
    let owner = owner(&ctx, &params);
    chats(&state)
        .remove_member(
            &ctx.principal,
            &owner,
            param(&params, "chat"),
            param(&params, "member"),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `GET /chats/{chat-id}/lastMessagePreview`
async fn preview(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let chat_id = param(&params, "chat");
    let view = chats(&state)
        .get(&ctx.principal, &owner(&ctx, &params), chat_id)
        .await?;
    let last = state
        .store
        .last_messages(std::slice::from_ref(&view.chat.id))
        .await?;
    let Some(m) = last.first() else {
        return Err(ApiError(Error::new(
            ErrorKind::NotFound,
            "NotFound",
            "The chat has no messages yet, so it has no lastMessagePreview.",
        )));
    };
    let Value::Object(body) = message_info_json(&ctx, m) else {
        return Err(ApiError(Error::internal("preview is not an object")));
    };
    Ok(odata::json(
        StatusCode::OK,
        odata::entity(
            &ctx,
            &format!("chats('{}')/lastMessagePreview", urlencode(chat_id)),
            body,
        ),
    ))
}

/// # `POST|PATCH|DELETE /chats/{chat-id}/lastMessagePreview`
/// The preview is maintained by the service from the chat's messages; it cannot be written.
async fn preview_is_read_only(_ctx: Ctx) -> ApiError {
    ApiError(Error::new(
        ErrorKind::MethodNotAllowed,
        "MethodNotAllowed",
        "lastMessagePreview (chatMessageInfo) is maintained by the service from the chat's messages and cannot be created, changed or deleted; send a message to the chat instead.",
    ))
}
