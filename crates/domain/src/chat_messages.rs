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
