//! Outlook mail under `/me` and `/users/{id}`: `mailFolders` (with `childFolders`), `messages`
//! (also under a folder), their actions (`send`, `move`, `copy`, `permanentDelete`), `$value`,
//! `sendMail`, and the JSON of messages and folders.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Map, Value, json};
use switchboard_domain::chats::Owner;
use switchboard_domain::graph_time::seconds;
use switchboard_domain::mail::{
    FolderRecord, ListPage, Mail, MailRecord, Mailbox, Recipient, ResponseKind, escape_html,
    html_to_text,
};
use switchboard_domain::mail_attachments::{AttachmentRecord, AttachmentsExpand, message_expand};
use switchboard_domain::mail_delta::{DeltaRow, FolderDeltaRow};
use switchboard_domain::{Error, ErrorKind, Family};

use crate::AppState;
use crate::body::JsonObject;
use crate::context::Ctx;
use crate::error::ApiError;
use crate::odata;

/// The mail routes, mounted at `/me` and `/users/{uid}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/mailFolders", get(list_folders).post(create_folder))
        .route("/mailFolders/delta", get(folder_delta))
        .route(
            "/mailFolders/{folder}",
            get(get_folder).patch(rename_folder).delete(delete_folder),
        )
        .route(
            "/mailFolders/{folder}/childFolders",
            get(list_folders).post(create_folder),
        )
        .route(
            "/mailFolders/{folder}/messages",
            get(list).post(create).layer(attachment_body_limit()),
        )
        .route("/mailFolders/{folder}/messages/delta", get(delta))
        .route(
            "/mailFolders/{folder}/messages/{message}",
            get(read).patch(update).delete(delete),
        )
        .route(
            "/mailFolders/{folder}/messages/{message}/$value",
            get(value),
        )
        .route(
            "/mailFolders/{folder}/messages/{message}/{action}",
            post(action),
        )
        .route(
            "/messages",
            get(list).post(create).layer(attachment_body_limit()),
        )
        .route(
            "/messages/{message}",
            get(read).patch(update).delete(delete),
        )
        .route("/messages/{message}/$value", get(value))
        .route(
            "/messages/{message}/attachments",
            get(list_attachments)
                .post(add_attachment)
                .layer(attachment_body_limit()),
        )
        .route(
            "/messages/{message}/attachments/{attachment}",
            get(read_attachment).delete(delete_attachment),
        )
        .route(
            "/messages/{message}/attachments/{attachment}/$value",
            get(attachment_value),
        )
        .route(
            "/mailFolders/{folder}/messages/{message}/attachments",
            get(list_attachments)
                .post(add_attachment)
                .layer(attachment_body_limit()),
        )
        .route(
            "/mailFolders/{folder}/messages/{message}/attachments/{attachment}",
            get(read_attachment).delete(delete_attachment),
        )
        .route(
            "/mailFolders/{folder}/messages/{message}/attachments/{attachment}/$value",
            get(attachment_value),
        )
        .route("/messages/{message}/{action}", post(action))
        .route("/sendMail", post(send_mail).layer(attachment_body_limit()))
}

type Params = Path<HashMap<String, String>>;

fn owner(params: &HashMap<String, String>) -> Owner {
    match params.get("uid") {
        Some(uid) => Owner::User(uid.clone()),
        None => Owner::Me,
    }
}

fn mail(state: &AppState) -> Mail<'_> {
    Mail {
        store: state.store.as_ref(),
    }
}

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params.get(name).map(String::as_str)
}

fn folder_json(f: &FolderRecord) -> Map<String, Value> {
    let v = json!({
        "id": f.id,
        "displayName": f.display_name,
        "parentFolderId": f.parent_id,
        "childFolderCount": f.child_folder_count,
        "unreadItemCount": f.unread_item_count,
        "totalItemCount": f.total_item_count,
        "isHidden": f.is_hidden,
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// `Prefer: outlook.body-content-type="text"|"html"`, when sent.
fn body_preference(ctx: &Ctx) -> Option<&'static str> {
    ctx.prefer.iter().find_map(|p| {
        let (name, value) = p.split_once('=')?;
        if !name
            .trim()
            .eq_ignore_ascii_case("outlook.body-content-type")
        {
            return None;
        }
        let value = value.trim().trim_matches('"');
        if value.eq_ignore_ascii_case("text") {
            Some("text")
        } else if value.eq_ignore_ascii_case("html") {
            Some("html")
        } else {
            None
        }
    })
}

/// `Prefer: IdType="ImmutableId"`: message ids shown are the ones that survive moves.
fn immutable_ids(ctx: &Ctx) -> bool {
    ctx.prefer.iter().any(|p| {
        p.split_once('=').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("IdType")
                && value
                    .trim()
                    .trim_matches('"')
                    .eq_ignore_ascii_case("ImmutableId")
        })
    })
}

/// The id a message is shown with: its immutable id when the caller prefers those.
fn shown_id<'a>(ctx: &Ctx, m: &'a MailRecord) -> &'a str {
    if immutable_ids(ctx) && !m.immutable_id.is_empty() {
        &m.immutable_id
    } else {
        &m.id
    }
}

/// The preferences a mail response honoured, for `Preference-Applied`.
fn applied_preferences(ctx: &Ctx) -> Vec<String> {
    let mut applied = Vec::new();
    if let Some(p) = body_preference(ctx) {
        applied.push(format!("outlook.body-content-type=\"{p}\""));
    }
    if immutable_ids(ctx) {
        applied.push("IdType=\"ImmutableId\"".to_string());
    }
    applied
}

fn with_preference(ctx: &Ctx, response: Response) -> Response {
    with_applied(response, applied_preferences(ctx))
}

fn with_applied(mut response: Response, applied: Vec<String>) -> Response {
    if applied.is_empty() {
        return response;
    }
    if let Ok(v) = HeaderValue::from_str(&applied.join(", ")) {
        response.headers_mut().insert("preference-applied", v);
    }
    response
}

fn body_json(m: &MailRecord, preference: Option<&str>) -> Value {
    let (t, content) = match (preference, m.body_type.as_str()) {
        (Some("text"), "html") => ("text", html_to_text(&m.body)),
        (Some("html"), "text") => (
            "html",
            format!("<html><body>{}</body></html>", escape_html(&m.body)),
        ),
        _ => (m.body_type.as_str(), m.body.clone()),
    };
    json!({ "contentType": t, "content": content })
}

fn web_link(id: &str) -> String {
    let encoded: String = id
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!(
        "https://outlook.office365.com/owa/?ItemID={encoded}&exvsurl=1&viewmodel=ReadMessageItem"
    )
}

/// The properties of a message in Graph's order; `uniqueBody` and `internetMessageHeaders` only
/// when `$select`ed.
const PROPERTIES: &[&str] = &[
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "receivedDateTime",
    "sentDateTime",
    "hasAttachments",
    "internetMessageId",
    "subject",
    "bodyPreview",
    "importance",
    "parentFolderId",
    "conversationId",
    "conversationIndex",
    "isDeliveryReceiptRequested",
    "isReadReceiptRequested",
    "isRead",
    "isDraft",
    "webLink",
    "inferenceClassification",
    "unsubscribeData",
    "unsubscribeEnabled",
    "mentionsPreview",
    "body",
    "sender",
    "from",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "flag",
    "uniqueBody",
    "internetMessageHeaders",
];

/// Message properties only the beta schema has (graph-api.md 1.15): v1.0 neither returns them
/// nor lets them be `$select`ed, so the v1.0 SDKs' models hold every property they receive.
const BETA_ONLY: &[&str] = &["unsubscribeData", "unsubscribeEnabled", "mentionsPreview"];

fn in_version(ctx: &Ctx, name: &str) -> bool {
    ctx.version == "beta" || !BETA_ONLY.contains(&name)
}

/// A message as Graph returns it.
pub fn message_json(ctx: &Ctx, m: &MailRecord, select: Option<&[&str]>) -> Map<String, Value> {
    let preference = body_preference(ctx);
    let list = |r: &[Recipient]| Value::Array(r.iter().map(Recipient::json).collect());
    let id = shown_id(ctx, m);
    let full = json!({
        "id": id,
        "createdDateTime": seconds(m.created_ms),
        "lastModifiedDateTime": seconds(m.modified_ms),
        "changeKey": m.change_key,
        "categories": m.categories,
        "receivedDateTime": seconds(m.received_ms),
        "sentDateTime": m.sent_ms.map(seconds),
        "hasAttachments": m.has_attachments,
        "internetMessageId": m.internet_message_id,
        "subject": m.subject,
        "bodyPreview": m.body_preview(),
        "importance": m.importance,
        "parentFolderId": m.folder_id,
        "conversationId": m.conversation_id,
        "conversationIndex": m.conversation_index,
        "isDeliveryReceiptRequested": m.delivery_receipt,
        "isReadReceiptRequested": m.read_receipt,
        "isRead": m.is_read,
        "isDraft": m.is_draft,
        "webLink": web_link(id),
        "inferenceClassification": m.inference,
        "unsubscribeData": m.unsubscribe_data,
        "unsubscribeEnabled": m.unsubscribe_enabled,
        "mentionsPreview": null,
        "body": body_json(m, preference),
        "sender": m.sender.as_ref().map(Recipient::json),
        "from": m.from.as_ref().map(Recipient::json),
        "toRecipients": list(&m.to),
        "ccRecipients": list(&m.cc),
        "bccRecipients": list(&m.bcc),
        "replyTo": list(&m.reply_to),
        "flag": m.flag,
        "uniqueBody": body_json(m, preference),
        "internetMessageHeaders": m.headers.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
    });
    let Value::Object(mut full) = full else {
        return Map::new();
    };
    // Mail.ReadBasic (without Mail.Read or Mail.ReadWrite) does not show bodies.
    if !(ctx.principal.has("Mail.Read") || ctx.principal.has("Mail.ReadWrite")) {
        for k in ["body", "bodyPreview", "uniqueBody"] {
            full.remove(k);
        }
    }
    let mut out = Map::new();
    out.insert(
        "@odata.etag".into(),
        json!(format!("W/\"{}\"", m.change_key)),
    );
    match select {
        Some(names) => {
            out.insert("id".into(), json!(id));
            for n in names {
                if let Some(v) = full.remove(*n) {
                    out.insert((*n).to_string(), v);
                }
            }
        }
        None => {
            for n in PROPERTIES.iter().filter(|n| {
                !matches!(**n, "uniqueBody" | "internetMessageHeaders") && in_version(ctx, n)
            }) {
                if let Some(v) = full.remove(*n) {
                    out.insert((*n).to_string(), v);
                }
            }
        }
    }
    out
}

/// `$select` names, canonical, checked.
fn select(ctx: &Ctx) -> Result<Option<Vec<&'static str>>, ApiError> {
    match &ctx.query.select {
        Some(names) => canonical_select(ctx, names),
        None => Ok(None),
    }
}

/// Message property names, canonical, checked.
fn canonical_select(ctx: &Ctx, names: &[String]) -> Result<Option<Vec<&'static str>>, ApiError> {
    let mut out = Vec::new();
    for n in names {
        if n == "*" {
            return Ok(None);
        }
        let canonical = PROPERTIES
            .iter()
            .find(|p| p.eq_ignore_ascii_case(n.trim()) && in_version(ctx, p))
            .ok_or_else(|| {
                ApiError::bad_request(
                    Family::Outlook,
                    format!(
                        "Could not find a property named '{n}' on type 'microsoft.graph.message'."
                    ),
                )
            })?;
        if !out.contains(canonical) {
            out.push(*canonical);
        }
    }
    Ok(Some(out))
}

fn folder_select(ctx: &Ctx, f: &FolderRecord) -> Map<String, Value> {
    folder_projection(f, ctx.query.select.as_deref())
}

fn folder_projection(f: &FolderRecord, select: Option<&[String]>) -> Map<String, Value> {
    let full = folder_json(f);
    match select {
        Some(names) => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut out = Map::new();
            for (k, v) in &full {
                if k == "id" || names.iter().any(|n| n.eq_ignore_ascii_case(k)) {
                    out.insert(k.clone(), v.clone());
                }
            }
            out
        }
        None => full,
    }
}

fn collection(
    ctx: &Ctx,
    fragment: &str,
    items: Vec<Value>,
    page_count: Option<u64>,
    next_skip: Option<u64>,
) -> Value {
    let mut out = Map::new();
    out.insert("@odata.context".into(), json!(ctx.context(fragment)));
    if let Some(c) = page_count {
        out.insert("@odata.count".into(), json!(c));
    }
    out.insert("value".into(), Value::Array(items));
    if let Some(skip) = next_skip {
        out.insert(
            "@odata.nextLink".into(),
            json!(odata::next_link(ctx, "$skip", &skip.to_string())),
        );
    }
    Value::Object(out)
}

fn user_path(mb: &Mailbox) -> String {
    format!("users('{}')", mb.user.id)
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::IF_MATCH)?.to_str().ok()?.trim();
    if v == "*" {
        return None;
    }
    Some(v.trim_start_matches("W/").trim_matches('"').to_string())
}

// --- folders ---

async fn list_folders(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let page_size = list_page_size(&ctx);
    let (mb, page): (Mailbox, ListPage<FolderRecord>) = mail(&state)
        .list_folders(
            &ctx.principal,
            &owner(&params),
            param(&params, "folder"),
            &ctx.query,
            page_size,
        )
        .await?;
    let items = page
        .items
        .iter()
        .map(|f| Value::Object(folder_select(&ctx, f)))
        .collect();
    let fragment = match param(&params, "folder") {
        Some(_) => format!(
            "{}/mailFolders('{}')/childFolders",
            user_path(&mb),
            param(&params, "folder").unwrap_or_default()
        ),
        None => format!("{}/mailFolders", user_path(&mb)),
    };
    Ok(with_applied(
        odata::json(
            StatusCode::OK,
            collection(&ctx, &fragment, items, page.count, page.next_skip),
        ),
        page_size_applied(Vec::new(), page_size),
    ))
}

async fn get_folder(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let (mb, f) = mail(&state)
        .get_folder(
            &ctx.principal,
            &owner(&params),
            param(&params, "folder").unwrap_or_default(),
            &ctx.query,
        )
        .await?;
    Ok(odata::json(
        StatusCode::OK,
        odata::entity(
            &ctx,
            &format!("{}/mailFolders", user_path(&mb)),
            folder_select(&ctx, &f),
        ),
    ))
}

async fn create_folder(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let (mb, f) = mail(&state)
        .create_folder(
            &ctx.principal,
            &owner(&params),
            param(&params, "folder"),
            &body.0,
        )
        .await?;
    let location = ctx.url(&format!("{}/mailFolders('{}')", user_path(&mb), f.id));
    Ok(odata::created(
        odata::entity(
            &ctx,
            &format!("{}/mailFolders", user_path(&mb)),
            folder_json(&f),
        ),
        &location,
    ))
}

async fn rename_folder(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let (mb, f) = mail(&state)
        .rename_folder(
            &ctx.principal,
            &owner(&params),
            param(&params, "folder").unwrap_or_default(),
            &body.0,
        )
        .await?;
    Ok(odata::json(
        StatusCode::OK,
        odata::entity(
            &ctx,
            &format!("{}/mailFolders", user_path(&mb)),
            folder_json(&f),
        ),
    ))
}

async fn delete_folder(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<StatusCode, ApiError> {
    mail(&state)
        .delete_folder(
            &ctx.principal,
            &owner(&params),
            param(&params, "folder").unwrap_or_default(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- messages ---

fn message_entity(ctx: &Ctx, mb: &Mailbox, m: &MailRecord, select: Option<&[&str]>) -> Value {
    odata::entity(
        ctx,
        &format!("{}/messages", user_path(mb)),
        message_json(ctx, m, select),
    )
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let (mb, m) = mail(&state)
        .create_draft(
            &ctx.principal,
            &owner(&params),
            param(&params, "folder"),
            &body.0,
        )
        .await?;
    let location = ctx.url(&format!(
        "{}/messages('{}')",
        user_path(&mb),
        shown_id(&ctx, &m)
    ));
    Ok(with_preference(
        &ctx,
        odata::created(message_entity(&ctx, &mb, &m, None), &location),
    ))
}

/// The attachments of an expanded message, whole or with the nested `$select`.
fn expanded(e: &AttachmentsExpand, attachments: &[AttachmentRecord]) -> Value {
    Value::Array(
        attachments
            .iter()
            .map(|a| {
                let full = attachment_json(a);
                Value::Object(match &e.select {
                    None => full,
                    Some(names) => {
                        let mut out = Map::new();
                        for (k, v) in full {
                            if k.starts_with('@') || k == "id" || names.contains(&k.as_str()) {
                                out.insert(k, v);
                            }
                        }
                        out
                    }
                })
            })
            .collect(),
    )
}

/// The context fragment of messages, `$select`ed and with expanded attachments
/// (`messages(subject,attachments())`, as Graph writes expansions).
fn expanded_fragment(set: &str, select: Option<&[&str]>, attachments: bool) -> String {
    if !attachments {
        return odata::fragment(set, select);
    }
    let mut parts: Vec<&str> = select.map(<[&str]>::to_vec).unwrap_or_default();
    parts.push("attachments()");
    odata::fragment(set, Some(&parts))
}

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let select = select(&ctx)?;
    let expand = message_expand(&ctx.query.expand)?;
    let page_size = list_page_size(&ctx);
    let (mb, page) = mail(&state)
        .list(
            &ctx.principal,
            &owner(&params),
            param(&params, "folder"),
            &ctx.query,
            page_size,
        )
        .await?;
    let attachments = match &expand {
        Some(_) => Some(
            mail(&state)
                .expanded_attachments(&ctx.principal, &mb, &page.items)
                .await?,
        ),
        None => None,
    };
    let items = page
        .items
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut json = message_json(&ctx, m, select.as_deref());
            if let (Some(e), Some(all)) = (&expand, &attachments) {
                json.insert("attachments".into(), expanded(e, &all[i]));
            }
            Value::Object(json)
        })
        .collect();
    let set = match param(&params, "folder") {
        Some(f) => format!("{}/mailFolders('{f}')/messages", user_path(&mb)),
        None => format!("{}/messages", user_path(&mb)),
    };
    let fragment = expanded_fragment(&set, select.as_deref(), expand.is_some());
    Ok(with_applied(
        odata::json(
            StatusCode::OK,
            collection(&ctx, &fragment, items, page.count, page.next_skip),
        ),
        page_size_applied(applied_preferences(&ctx), page_size),
    ))
}

async fn read(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let select = select(&ctx)?;
    let expand = message_expand(&ctx.query.expand)?;
    let (mb, m) = mail(&state)
        .get(
            &ctx.principal,
            &owner(&params),
            param(&params, "folder"),
            param(&params, "message").unwrap_or_default(),
        )
        .await?;
    let Some(e) = expand else {
        return Ok(with_preference(
            &ctx,
            odata::json(
                StatusCode::OK,
                message_entity(&ctx, &mb, &m, select.as_deref()),
            ),
        ));
    };
    let all = mail(&state)
        .expanded_attachments(&ctx.principal, &mb, std::slice::from_ref(&m))
        .await?;
    let mut json = message_json(&ctx, &m, select.as_deref());
    json.insert(
        "attachments".into(),
        expanded(&e, all.first().map(Vec::as_slice).unwrap_or_default()),
    );
    let set = format!("{}/messages", user_path(&mb));
    Ok(with_preference(
        &ctx,
        odata::json(
            StatusCode::OK,
            odata::entity(
                &ctx,
                &expanded_fragment(&set, select.as_deref(), true),
                json,
            ),
        ),
    ))
}

async fn value(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let text = mail(&state)
        .mime(
            &ctx.principal,
            &owner(&params),
            param(&params, "folder"),
            param(&params, "message").unwrap_or_default(),
        )
        .await?;
    let mut response = (StatusCode::OK, text).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(response)
}

async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(params): Params,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let (mb, m) = mail(&state)
        .update(
            &ctx.principal,
            &owner(&params),
            param(&params, "folder"),
            param(&params, "message").unwrap_or_default(),
            &body.0,
            if_match(&headers),
        )
        .await?;
    Ok(with_preference(
        &ctx,
        odata::json(StatusCode::OK, message_entity(&ctx, &mb, &m, None)),
    ))
}

async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(params): Params,
) -> Result<StatusCode, ApiError> {
    mail(&state)
        .delete(
            &ctx.principal,
            &owner(&params),
            param(&params, "folder"),
            param(&params, "message").unwrap_or_default(),
            if_match(&headers),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST …/messages/{id}/{action}`: `send`, `move`, `copy`, `permanentDelete`.
async fn action(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(params): Params,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let id = param(&params, "message").unwrap_or_default();
    let folder = param(&params, "folder");
    let owner = owner(&params);
    let action = param(&params, "action").unwrap_or_default();
    let object = || -> Result<Map<String, Value>, ApiError> {
        if body.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(Map::new());
        }
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(ApiError::bad_request(
                Family::Protocol,
                "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
            )),
        }
    };
    match action {
        "send" => {
            mail(&state)
                .send_draft(&ctx.principal, &owner, id, if_match(&headers))
                .await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "move" | "copy" => {
            let (mb, m) = mail(&state)
                .move_or_copy(
                    &ctx.principal,
                    &owner,
                    folder,
                    id,
                    &object()?,
                    action == "copy",
                )
                .await?;
            let location = ctx.url(&format!(
                "{}/messages('{}')",
                user_path(&mb),
                shown_id(&ctx, &m)
            ));
            Ok(with_preference(
                &ctx,
                odata::created(message_entity(&ctx, &mb, &m, None), &location),
            ))
        }
        "permanentDelete" => {
            mail(&state)
                .permanent_delete(&ctx.principal, &owner, folder, id)
                .await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        "reply" | "replyAll" | "forward" | "createReply" | "createReplyAll" | "createForward" => {
            let kind = match action {
                "reply" | "createReply" => ResponseKind::Reply,
                "replyAll" | "createReplyAll" => ResponseKind::ReplyAll,
                _ => ResponseKind::Forward,
            };
            let send_now = !action.starts_with("create");
            let (mb, draft) = mail(&state)
                .respond(
                    &ctx.principal,
                    &owner,
                    folder,
                    id,
                    kind,
                    &object()?,
                    send_now,
                )
                .await?;
            match draft {
                Some(m) => {
                    let location = ctx.url(&format!(
                        "{}/messages('{}')",
                        user_path(&mb),
                        shown_id(&ctx, &m)
                    ));
                    Ok(with_preference(
                        &ctx,
                        odata::created(message_entity(&ctx, &mb, &m, None), &location),
                    ))
                }
                None => Ok(StatusCode::ACCEPTED.into_response()),
            }
        }
        _ => Err(ApiError(Error::new(
            ErrorKind::NotFound,
            "NotFound",
            format!("Resource not found for the segment '{action}'."),
        ))),
    }
}

/// `Prefer: odata.maxpagesize=N` for a plain list, at most Outlook's largest page.
fn list_page_size(ctx: &Ctx) -> Option<usize> {
    max_page_size(ctx).map(|n| n.min(switchboard_domain::mail::MAX_PAGE_SIZE))
}

/// `odata.maxpagesize=N` added to what a list honoured, when the preference was sent.
fn page_size_applied(mut applied: Vec<String>, page_size: Option<usize>) -> Vec<String> {
    if let Some(n) = page_size {
        applied.push(format!("odata.maxpagesize={n}"));
    }
    applied
}

/// `Prefer: odata.maxpagesize=N`, when sent and valid.
fn max_page_size(ctx: &Ctx) -> Option<usize> {
    ctx.prefer.iter().find_map(|p| {
        let (name, value) = p.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("odata.maxpagesize") {
            return None;
        }
        value
            .trim()
            .trim_matches('"')
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
    })
}

/// # `GET …/mailFolders/{id}/messages/delta`
/// A page of a delta round: messages (whole or `$select`ed) and `@removed` entries, then
/// `@odata.nextLink` (`$skiptoken`) or `@odata.deltaLink` (`$deltatoken`). The links carry only
/// the token: the round's options are baked into it, as Graph does.
async fn delta(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let requested = select(&ctx)?.map(|names| names.iter().map(|n| n.to_string()).collect());
    let page_size = max_page_size(&ctx);
    let (_, page) = mail(&state)
        .delta(
            &ctx.principal,
            &owner(&params),
            param(&params, "folder").unwrap_or_default(),
            &ctx.query,
            requested,
            page_size
                .unwrap_or(switchboard_domain::mail_delta::DEFAULT_PAGE)
                .min(switchboard_domain::mail_delta::MAX_PAGE),
        )
        .await?;
    let select = match &page.select {
        Some(names) => canonical_select(&ctx, names)?,
        None => None,
    };
    let immutable = immutable_ids(&ctx);
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|row| match row {
            DeltaRow::Changed(m) => Value::Object(message_json(&ctx, m, select.as_deref())),
            DeltaRow::Removed { id, immutable_id } => json!({
                "@odata.type": "#microsoft.graph.message",
                "id": if immutable { immutable_id } else { id },
                "@removed": {"reason": "deleted"},
            }),
        })
        .collect();
    Ok(delta_response(
        &ctx,
        "Collection(message)",
        items,
        page.next_token.as_deref(),
        page.delta_token.as_deref(),
        page_size,
    ))
}

/// A delta page: context, `@odata.nextLink` or `@odata.deltaLink` (carrying only the token), the
/// entries, and `Preference-Applied` for what was honoured.
fn delta_response(
    ctx: &Ctx,
    fragment: &str,
    items: Vec<Value>,
    next_token: Option<&str>,
    delta_token: Option<&str>,
    page_size: Option<usize>,
) -> Response {
    let mut out = Map::new();
    out.insert("@odata.context".into(), json!(ctx.context(fragment)));
    let link = |option: &str, token: &str| format!("{}{}?{option}={token}", ctx.base, ctx.path);
    if let Some(token) = next_token {
        out.insert("@odata.nextLink".into(), json!(link("$skiptoken", token)));
    }
    if let Some(token) = delta_token {
        out.insert("@odata.deltaLink".into(), json!(link("$deltatoken", token)));
    }
    out.insert("value".into(), Value::Array(items));
    let mut applied = applied_preferences(ctx);
    if let Some(n) = page_size {
        applied.push(format!(
            "odata.maxpagesize={}",
            n.min(switchboard_domain::mail_delta::MAX_PAGE)
        ));
    }
    with_applied(odata::json(StatusCode::OK, Value::Object(out)), applied)
}

/// # `GET …/mailFolders/delta`
/// The mailbox's folder tree, then the folders created, renamed or recounted since, and
/// `@removed` entries for deleted ones.
async fn folder_delta(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let page_size = max_page_size(&ctx);
    let (_, page) = mail(&state)
        .folder_delta(
            &ctx.principal,
            &owner(&params),
            &ctx.query,
            ctx.query.select.clone(),
            page_size
                .unwrap_or(switchboard_domain::mail_delta::DEFAULT_PAGE)
                .min(switchboard_domain::mail_delta::MAX_PAGE),
        )
        .await?;
    let items = page
        .items
        .iter()
        .map(|row| match row {
            FolderDeltaRow::Changed(f) => {
                Value::Object(folder_projection(f, page.select.as_deref()))
            }
            FolderDeltaRow::Removed(id) => json!({
                "@odata.type": "#microsoft.graph.mailFolder",
                "id": id,
                "@removed": {"reason": "deleted"},
            }),
        })
        .collect();
    Ok(delta_response(
        &ctx,
        "Collection(mailFolder)",
        items,
        page.next_token.as_deref(),
        page.delta_token.as_deref(),
        page_size,
    ))
}

// --- attachments ---

/// Room for 3 MB of files in base64 inside their JSON: the attachment routes, and the message
/// bodies that may carry attachments (create, `sendMail`), take more than the server-wide body
/// limit, so Graph's own 3 MB rule decides (with its error).
fn attachment_body_limit() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(
        switchboard_domain::mail_attachments::MAX_ATTACHMENT_BYTES / 3 * 4 + 64 * 1024,
    )
}

fn attachment_json(a: &AttachmentRecord) -> Map<String, Value> {
    let v = json!({
        "@odata.type": "#microsoft.graph.fileAttachment",
        "@odata.mediaContentType": a.content_type,
        "id": a.id,
        "lastModifiedDateTime": seconds(a.modified_ms),
        "name": a.name,
        "contentType": a.content_type,
        "size": a.size,
        "isInline": a.is_inline,
        "contentId": a.content_id,
        "contentLocation": null,
        "contentBytes": base64::engine::general_purpose::STANDARD.encode(&a.content),
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn attachments_set(mb: &Mailbox, params: &HashMap<String, String>) -> String {
    format!(
        "{}/messages('{}')/attachments",
        user_path(mb),
        param(params, "message").unwrap_or_default()
    )
}

async fn list_attachments(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let (mb, items) = mail(&state)
        .list_attachments(
            &ctx.principal,
            &owner(&params),
            param(&params, "folder"),
            param(&params, "message").unwrap_or_default(),
        )
        .await?;
    let items = items
        .iter()
        .map(|a| Value::Object(attachment_json(a)))
        .collect();
    Ok(odata::json(
        StatusCode::OK,
        collection(&ctx, &attachments_set(&mb, &params), items, None, None),
    ))
}

async fn read_attachment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let (mb, a) = mail(&state)
        .get_attachment(
            &ctx.principal,
            &owner(&params),
            param(&params, "folder"),
            param(&params, "message").unwrap_or_default(),
            param(&params, "attachment").unwrap_or_default(),
        )
        .await?;
    Ok(odata::json(
        StatusCode::OK,
        odata::entity(&ctx, &attachments_set(&mb, &params), attachment_json(&a)),
    ))
}

async fn attachment_value(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<Response, ApiError> {
    let (_, a) = mail(&state)
        .get_attachment(
            &ctx.principal,
            &owner(&params),
            param(&params, "folder"),
            param(&params, "message").unwrap_or_default(),
            param(&params, "attachment").unwrap_or_default(),
        )
        .await?;
    let content_type = HeaderValue::from_str(&a.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut response = (StatusCode::OK, a.content).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    // The type is whatever the sender wrote: a browser must not sniff a file into a page.
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

async fn add_attachment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let (mb, a) = mail(&state)
        .add_attachment(
            &ctx.principal,
            &owner(&params),
            param(&params, "folder"),
            param(&params, "message").unwrap_or_default(),
            &body.0,
        )
        .await?;
    let set = attachments_set(&mb, &params);
    let location = ctx.url(&format!("{set}('{}')", a.id));
    Ok(odata::created(
        odata::entity(&ctx, &set, attachment_json(&a)),
        &location,
    ))
}

async fn delete_attachment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
) -> Result<StatusCode, ApiError> {
    mail(&state)
        .delete_attachment(
            &ctx.principal,
            &owner(&params),
            param(&params, "folder"),
            param(&params, "message").unwrap_or_default(),
            param(&params, "attachment").unwrap_or_default(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn send_mail(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(params): Params,
    body: JsonObject,
) -> Result<StatusCode, ApiError> {
    mail(&state)
        .send_mail(&ctx.principal, &owner(&params), &body.0)
        .await?;
    Ok(StatusCode::ACCEPTED)
}
