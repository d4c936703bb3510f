//! SQL for chat messages: inserting (with the per-chat id allocation) and reading them back.

use std::borrow::Cow;

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;
use switchboard_domain::StoreError;
use switchboard_domain::chat_messages::{
    ALL_MESSAGES_SCHEMA, ChangeOutcome, ChangePage, Listed, MESSAGE_SCHEMA, MessageChange,
    MessageRecord, NewMessage, Refusal, Rendering,
};
use switchboard_domain::store::{ListQuery, Page};
use switchboard_odata::ast::Expr;
use switchboard_odata::sql::SqlValue;

use crate::internal;
use crate::query::{self, Collection};

/// Columns in the order [`row`] reads them.
pub const COLUMNS: &str = "m.chat_id, m.id, m.tenant_id, m.message_type, m.from_user_id, m.from_display_name, m.body_type, \
    m.body, m.subject, m.importance, m.mentions, m.attachments, m.reactions, m.history, m.event_detail, m.created_ms, \
    m.modified_ms, m.edited_ms, m.deleted_ms";

fn json(text: Option<String>) -> Value {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
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
        event_detail: r
            .get::<_, Option<String>>(o + 14)?
            .and_then(|t| serde_json::from_str(&t).ok()),
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

/// The tenant's next change sequence number (see migration 0004). Runs inside the caller's write
/// transaction, so numbers are handed out in commit order.
fn next_seq(c: &Connection, tenant_id: &str) -> Result<i64, StoreError> {
    c.prepare_cached(
        "INSERT INTO chat_message_sequences (tenant_id, seq) VALUES (?1, 1)
         ON CONFLICT (tenant_id) DO UPDATE SET seq = seq + 1 RETURNING seq",
    )
    .map_err(internal)?
    .query_row(params![tenant_id], |r| r.get(0))
    .map_err(internal)
}

/// Stores a message in its chat: allocates its id (epoch ms, at least one more than the chat's
/// newest, so ids stay unique and increasing under any concurrency), stamps the tenant's next
/// change sequence number and moves the chat's `lastMessagePreview`. Runs inside the caller's
/// write transaction.
pub fn insert(c: &Connection, message: &NewMessage) -> Result<MessageRecord, StoreError> {
    let id = store(c, &message.record)?;
    Ok(MessageRecord {
        id,
        created_ms: id,
        modified_ms: id,
        ..message.record.clone()
    })
}

/// [`insert`] without copying the message: it comes back with its id.
fn insert_owned(c: &Connection, message: NewMessage) -> Result<MessageRecord, StoreError> {
    let id = store(c, &message.record)?;
    Ok(MessageRecord {
        id,
        created_ms: id,
        modified_ms: id,
        ..message.record
    })
}

/// A JSON column's text; the empty list, what most messages carry, without encoding it.
fn json_text(v: &Value) -> Cow<'static, str> {
    match v {
        Value::Array(items) if items.is_empty() => Cow::Borrowed("[]"),
        v => Cow::Owned(v.to_string()),
    }
}

/// The SQL of [`insert`]; returns the message's id.
fn store(c: &Connection, m: &MessageRecord) -> Result<i64, StoreError> {
    let id: i64 = c
        .prepare_cached(
            // Both right-hand sides read the old row, so they agree: the preview's time is the id.
            "UPDATE chats SET last_message_id = max(?2, last_message_id + 1), last_message_ms = max(?2, last_message_id + 1)
             WHERE id = ?1 RETURNING last_message_id",
        )
        .map_err(internal)?
        .query_row(params![m.chat_id, m.created_ms], |r| r.get(0))
        .map_err(internal)?;
    let seq = next_seq(c, &m.tenant_id)?;
    c.prepare_cached(
        "INSERT INTO chat_messages (chat_id, id, tenant_id, message_type, from_user_id, from_display_name, body_type, body,
            subject, importance, mentions, attachments, reactions, history, event_detail, created_ms, modified_ms, edited_ms, deleted_ms, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
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
        json_text(&m.mentions),
        json_text(&m.attachments),
        json_text(&m.reactions),
        json_text(&m.history),
        m.event_detail.as_ref().map(json_text),
        // The message's instants follow its id, so createdDateTime and id always agree.
        id,
        id,
        m.edited_ms,
        m.deleted_ms,
        seq
    ])
    .map_err(internal)?;
    Ok(id)
}

/// The newest message of each of the chats.
pub fn last_messages(
    c: &Connection,
    chat_ids: &[String],
) -> Result<Vec<MessageRecord>, StoreError> {
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

/// Brings a chat back into view for every member who had hidden it: one seek in the partial
/// index of hidden memberships (migration 0017), not a walk over the chat's members. Named,
/// because without statistics the planner takes the primary key (`chat_id` leads both).
const UNHIDE: &str = "UPDATE chat_members INDEXED BY chat_members_hidden SET is_hidden = 0
    WHERE chat_id = ?1 AND is_hidden = 1";

/// A user's message: stored as every message is, and the chat comes back into view for every
/// member who had hidden it. Takes the message by value: the writer thread neither copies nor
/// frees it (the caller's thread frees the record that comes back).
///
/// Fails only on a broken database, never on the message (the store runs it without a
/// savepoint): the chat exists (its row is never deleted, and the message's chat is checked
/// first), the id comes from the chat's allocator and the sequence number from the tenant's
/// counter, so neither collides, and every NOT NULL column gets a value from a non-optional
/// field. Keep it so when changing it.
pub fn send(c: &Connection, message: NewMessage) -> Result<MessageRecord, StoreError> {
    let record = insert_owned(c, message)?;
    c.prepare_cached(UNHIDE)
        .map_err(internal)?
        .execute(params![record.chat_id])
        .map_err(internal)?;
    Ok(record)
}

/// One message of a chat.
pub fn get(c: &Connection, chat_id: &str, id: i64) -> Result<Option<MessageRecord>, StoreError> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM chat_messages AS m WHERE m.chat_id = ?1 AND m.id = ?2"
    ))
    .map_err(internal)?
    .query_row(params![chat_id, id], row)
    .optional()
    .map_err(internal)
}

/// A page of a chat's messages from `visible_from` on (ids are creation instants): from the
/// page index only each message's id and change sequence number, and the row only of the
/// messages whose version `rendered` does not know.
pub fn list_versions(
    c: &Connection,
    chat_id: &str,
    visible_from: i64,
    q: &ListQuery<'_>,
    rendered: &dyn Fn(i64, i64) -> Option<Rendering>,
) -> Result<Page<Listed>, StoreError> {
    let collection = Collection {
        schema: &MESSAGE_SCHEMA,
        from: "chat_messages AS m",
        alias: "m",
        columns: "m.id, m.seq",
        base_where: "m.chat_id = ?1 AND +m.id >= ?2",
        base_params: vec![
            SqlValue::Text(chat_id.to_string()),
            SqlValue::Integer(visible_from),
        ],
    };
    let versions = query::page(c, &collection, q, |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut items = Vec::with_capacity(versions.items.len());
    for (id, seq) in versions.items {
        items.push(match rendered(id, seq) {
            Some(rendering) => Listed::Rendered(rendering),
            // Same snapshot as the page: the row is there, at this version.
            None => Listed::Record {
                seq,
                record: Box::new(get(c, chat_id, id)?.ok_or_else(|| {
                    StoreError::Internal(format!("message {id} of the page is missing"))
                })?),
            },
        });
    }
    Ok(Page {
        items,
        next: versions.next,
        count: versions.count,
    })
}

/// Read, check, modify, write: one message, inside the caller's write transaction.
pub fn change(
    c: &Connection,
    chat_id: &str,
    id: i64,
    change: &MessageChange,
) -> Result<ChangeOutcome, StoreError> {
    let Some(mut m) = get(c, chat_id, id)? else {
        return Ok(ChangeOutcome::Refused(Refusal::NotFound));
    };
    match change.apply(&mut m) {
        Err(refusal) => return Ok(ChangeOutcome::Refused(refusal)),
        Ok(false) => return Ok(ChangeOutcome::Unchanged(m)),
        Ok(true) => {}
    }
    let seq = next_seq(c, &m.tenant_id)?;
    c.prepare_cached(
        "UPDATE chat_messages SET body_type = ?3, body = ?4, subject = ?5, importance = ?6, mentions = ?7, attachments = ?8,
            reactions = ?9, history = ?10, modified_ms = ?11, edited_ms = ?12, deleted_ms = ?13, seq = ?14
         WHERE chat_id = ?1 AND id = ?2",
    )
    .map_err(internal)?
    .execute(params![
        chat_id,
        id,
        m.body_type,
        m.body,
        m.subject,
        m.importance,
        m.mentions.to_string(),
        m.attachments.to_string(),
        m.reactions.to_string(),
        m.history.to_string(),
        m.modified_ms,
        m.edited_ms,
        m.deleted_ms,
        seq
    ])
    .map_err(internal)?;
    Ok(ChangeOutcome::Changed(m))
}

/// The messages of every chat of a user changed after `after_seq`, in change order.
pub fn changes(
    c: &Connection,
    tenant_id: &str,
    user_id: &str,
    after_seq: i64,
    filter: Option<&Expr>,
    limit: usize,
) -> Result<ChangePage, StoreError> {
    let collection = Collection {
        schema: &ALL_MESSAGES_SCHEMA,
        from: "chat_messages AS m JOIN chat_members AS cm ON cm.chat_id = m.chat_id JOIN chats AS c ON c.id = m.chat_id",
        alias: "m",
        columns: COLUMNS_WITH_SEQ,
        base_where: "m.tenant_id = ?1 AND cm.user_id = ?2 AND c.deleted_ms IS NULL \
            AND m.id >= coalesce(cm.visible_history_ms, cm.added_ms)",
        base_params: vec![
            SqlValue::Text(tenant_id.to_string()),
            SqlValue::Text(user_id.to_string()),
        ],
    };
    let q = ListQuery {
        filter,
        search: None,
        order: Vec::new(),
        after: Some(vec![SqlValue::Integer(after_seq)]),
        limit,
        count: false,
    };
    let page = query::page(c, &collection, &q, |r| Ok((row(r)?, r.get::<_, i64>(19)?)))?;
    Ok(ChangePage {
        last_seq: page.items.last().map(|(_, seq)| *seq),
        more: page.next.is_some(),
        items: page.items.into_iter().map(|(m, _)| m).collect(),
    })
}

const COLUMNS_WITH_SEQ: &str = "m.chat_id, m.id, m.tenant_id, m.message_type, m.from_user_id, m.from_display_name, m.body_type, \
    m.body, m.subject, m.importance, m.mentions, m.attachments, m.reactions, m.history, m.event_detail, m.created_ms, \
    m.modified_ms, m.edited_ms, m.deleted_ms, m.seq";

/// The change-token signing secret (made by migration 0004).
pub fn token_secret(c: &Connection) -> Result<Vec<u8>, StoreError> {
    c.prepare_cached("SELECT secret FROM chat_message_token_keys ORDER BY id LIMIT 1")
        .map_err(internal)?
        .query_row([], |r| r.get(0))
        .map_err(internal)
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;
    use switchboard_domain::chat_messages::system_event;

    use super::*;

    /// Migration 0004 on a database that already has messages: sequence numbers in change
    /// order per tenant, the counter where they left off, and new writes continuing from there.
    #[test]
    fn change_sequence_migration_backfills_and_continues() {
        let c = Connection::open_in_memory().unwrap();
        for sql in [
            include_str!("../migrations/0001_init.sql"),
            include_str!("../migrations/0002_grants.sql"),
            include_str!("../migrations/0003_chats.sql"),
        ] {
            c.execute_batch(sql).unwrap();
        }
        c.execute_batch(
            "INSERT INTO tenants VALUES ('t1', 'T1', 't1.example', 0), ('t2', 'T2', 't2.example', 0);
             INSERT INTO chats (id, tenant_id, chat_type, created_ms, last_updated_ms, last_message_id)
                 VALUES ('c1', 't1', 'group', 0, 0, 300), ('c2', 't2', 'group', 0, 0, 200);",
        )
        .unwrap();
        let detail =
            serde_json::json!({ "@odata.type": "#microsoft.graph.chatRenamedEventMessageDetail" });
        for (chat, tenant, at) in [
            ("c1", "t1", 300),
            ("c1", "t1", 100),
            ("c2", "t2", 200),
            ("c1", "t1", 200),
        ] {
            // The pre-0004 insert: no seq column yet.
            c.execute(
                "INSERT INTO chat_messages (chat_id, id, tenant_id, message_type, body_type, body, importance, created_ms, modified_ms)
                 VALUES (?1, ?2, ?3, 'systemEventMessage', 'html', '', 'normal', ?2, ?2)",
                params![chat, at, tenant],
            )
            .unwrap();
        }
        c.execute_batch(include_str!("../migrations/0004_chat_message_changes.sql"))
            .unwrap();
        let seqs: Vec<(String, i64, i64)> = c
            .prepare("SELECT tenant_id, id, seq FROM chat_messages ORDER BY tenant_id, seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            seqs,
            vec![
                ("t1".into(), 100, 1),
                ("t1".into(), 200, 2),
                ("t1".into(), 300, 3),
                ("t2".into(), 200, 1)
            ]
        );
        let secret = token_secret(&c).unwrap();
        assert_eq!(secret.len(), 32);
        let next = insert(&c, &system_event("c1", "t1", detail, 50)).unwrap();
        assert_eq!(next.id, 301, "ids stay above the chat's newest");
        let seq: i64 = c
            .query_row(
                "SELECT seq FROM chat_messages WHERE chat_id = 'c1' AND id = 301",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(seq, 4);
        assert!(
            c.execute(
                "UPDATE chat_messages SET seq = 1 WHERE chat_id = 'c1' AND id = 301",
                []
            )
            .is_err(),
            "(tenant, seq) is unique"
        );
    }

    /// A send's unhide step seeks the partial index of hidden memberships instead of walking
    /// every member of the chat.
    #[test]
    fn unhiding_a_chat_seeks_the_hidden_memberships() {
        let mut c = Connection::open_in_memory().unwrap();
        crate::migrations::run(&mut c).unwrap();
        let steps: Vec<String> = c
            .prepare(&format!("EXPLAIN QUERY PLAN {UNHIDE}"))
            .unwrap()
            .query_map(params!["c1"], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            steps
                .iter()
                .any(|s| s.contains("SEARCH") && s.contains("chat_members_hidden")),
            "{steps:?}"
        );
    }
}
