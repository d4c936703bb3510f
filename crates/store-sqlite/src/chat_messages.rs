//! SQL for chat messages: inserting (with the per-chat id allocation) and reading them back.

use rusqlite::{Connection, Row, params};
use serde_json::Value;
use switchboard_domain::StoreError;
use switchboard_domain::chat_messages::{MessageRecord, NewMessage};

use crate::internal;

/// Columns in the order [`row`] reads them.
pub const COLUMNS: &str = "m.chat_id, m.id, m.tenant_id, m.message_type, m.from_user_id, m.from_display_name, m.body_type, \
    m.body, m.subject, m.importance, m.mentions, m.attachments, m.reactions, m.history, m.event_detail, m.created_ms, \
    m.modified_ms, m.edited_ms, m.deleted_ms";

fn json(text: Option<String>) -> Value {
    text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Null)
}

/// Reads a message from a row selected with [`COLUMNS`] (from column `offset` on).
pub fn row_at(r: &Row<'_>, o: usize) -> rusqlite::Result<MessageRecord> {
    Ok(MessageRecord {
        chat_id: r.get(o)?,
        id: r.get(o + 1)?,
        tenant_id: r.get(o + 2)?,
        message_type: r.get(o + 3)?,
        from_user_id: r.get(o + 4)?,
        from_display_name: r.get(o + 5)?,
        body_type: r.get(o + 6)?,
        body: r.get(o + 7)?,
        subject: r.get(o + 8)?,
        importance: r.get(o + 9)?,
        mentions: json(r.get(o + 10)?),
        attachments: json(r.get(o + 11)?),
        reactions: json(r.get(o + 12)?),
        history: json(r.get(o + 13)?),
        event_detail: r.get::<_, Option<String>>(o + 14)?.and_then(|t| serde_json::from_str(&t).ok()),
        created_ms: r.get(o + 15)?,
        modified_ms: r.get(o + 16)?,
        edited_ms: r.get(o + 17)?,
        deleted_ms: r.get(o + 18)?,
    })
}

/// Reads a message from a row selected with [`COLUMNS`].
pub fn row(r: &Row<'_>) -> rusqlite::Result<MessageRecord> {
    row_at(r, 0)
}

/// Stores a message in its chat: allocates its id (epoch ms, at least one more than the chat's
/// newest, so ids stay unique and increasing under any concurrency) and moves the chat's
/// `lastMessagePreview`. Runs inside the caller's write transaction.
pub fn insert(c: &Connection, message: &NewMessage) -> Result<MessageRecord, StoreError> {
    let m = &message.record;
    let id: i64 = c
        .prepare_cached(
            // Both right-hand sides read the old row, so they agree: the preview's time is the id.
            "UPDATE chats SET last_message_id = max(?2, last_message_id + 1), last_message_ms = max(?2, last_message_id + 1)
             WHERE id = ?1 RETURNING last_message_id",
        )
        .map_err(internal)?
        .query_row(params![m.chat_id, m.created_ms], |r| r.get(0))
        .map_err(internal)?;
    let text = |v: &Value| v.to_string();
    c.prepare_cached(
        "INSERT INTO chat_messages (chat_id, id, tenant_id, message_type, from_user_id, from_display_name, body_type, body,
            subject, importance, mentions, attachments, reactions, history, event_detail, created_ms, modified_ms, edited_ms, deleted_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
    )
    .map_err(internal)?
    .execute(params![
        m.chat_id,
        id,
        m.tenant_id,
        m.message_type,
        m.from_user_id,
        m.from_display_name,
        m.body_type,
        m.body,
        m.subject,
        m.importance,
        text(&m.mentions),
        text(&m.attachments),
        text(&m.reactions),
        text(&m.history),
        m.event_detail.as_ref().map(text),
        // The message's instants follow its id, so createdDateTime and id always agree.
        id,
        id,
        m.edited_ms,
        m.deleted_ms
    ])
    .map_err(internal)?;
    Ok(MessageRecord { id, created_ms: id, modified_ms: id, ..m.clone() })
}

/// The newest message of each of the chats.
pub fn last_messages(c: &Connection, chat_ids: &[String]) -> Result<Vec<MessageRecord>, StoreError> {
    let mut stmt = c
        .prepare_cached(&format!("SELECT {COLUMNS} FROM chat_messages AS m WHERE m.chat_id = ?1 ORDER BY m.id DESC LIMIT 1"))
        .map_err(internal)?;
    let mut out = Vec::new();
    for id in chat_ids {
        let mut rows = stmt.query(params![id]).map_err(internal)?;
        if let Some(r) = rows.next().map_err(internal)? {
            out.push(row(r).map_err(internal)?);
        }
    }
    Ok(out)
}
