//! SQL for chats, their members and per-member state.

use rusqlite::{Connection, OptionalExtension, Row, params};
use switchboard_domain::StoreError;
use switchboard_domain::chat_messages::NewMessage;
use switchboard_domain::chats::{
    CHAT_SCHEMA, ChatRecord, ChatType, ChatView, Created, MemberRecord, RemoveOutcome,
    ViewpointChange,
};
use switchboard_domain::store::{ChatAccess, ListQuery, Page, UserKey};
use switchboard_odata::sql::SqlValue;

use crate::internal;
use crate::query::{self, Collection};

const CHAT_COLUMNS: &str = "c.id, c.tenant_id, c.chat_type, c.topic, c.created_ms, c.last_updated_ms, c.last_message_ms, c.online_meeting";

fn chat_row(r: &Row<'_>) -> rusqlite::Result<ChatRecord> {
    let chat_type: String = r.get(2)?;
    Ok(ChatRecord {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        chat_type: ChatType::parse(&chat_type).unwrap_or(ChatType::Group),
        topic: r.get(3)?,
        created_ms: r.get(4)?,
        last_updated_ms: r.get(5)?,
        last_message_ms: r.get(6)?,
        online_meeting: r
            .get::<_, Option<String>>(7)?
            .and_then(|t| serde_json::from_str(&t).ok()),
    })
}

const MEMBER_COLUMNS: &str = "m.chat_id, m.user_id, m.tenant_id, u.display_name, u.mail, m.roles, m.visible_history_ms, \
    m.added_ms, m.is_hidden, m.last_read_ms";

fn member_row_at(r: &Row<'_>, o: usize) -> rusqlite::Result<MemberRecord> {
    let roles: String = r.get(o + 5)?;
    Ok(MemberRecord {
        chat_id: r.get(o)?,
        user_id: r.get(o + 1)?,
        tenant_id: r.get(o + 2)?,
        display_name: r.get(o + 3)?,
        email: r.get(o + 4)?,
        roles: serde_json::from_str(&roles).unwrap_or_default(),
        visible_history_ms: r.get(o + 6)?,
        added_ms: r.get(o + 7)?,
        is_hidden: r.get(o + 8)?,
        last_read_ms: r.get(o + 9)?,
    })
}

fn insert_member(c: &Connection, m: &MemberRecord) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO chat_members (chat_id, user_id, tenant_id, roles, visible_history_ms, added_ms, is_hidden, last_read_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .map_err(internal)?
    .execute(params![
        m.chat_id,
        m.user_id,
        m.tenant_id,
        serde_json::to_string(&m.roles).unwrap_or_else(|_| "[]".into()),
        m.visible_history_ms,
        m.added_ms,
        m.is_hidden,
        m.last_read_ms
    ])
    .map_err(internal)?;
    Ok(())
}

pub fn create(
    c: &Connection,
    chat: &ChatRecord,
    members: &[MemberRecord],
    events: &[NewMessage],
) -> Result<Created, StoreError> {
    if let Some(existing) = get(c, &chat.tenant_id, &chat.id)? {
        return Ok(Created::Existing(existing));
    }
    c.prepare_cached(
        "INSERT INTO chats (id, tenant_id, chat_type, topic, created_ms, last_updated_ms, online_meeting)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .map_err(internal)?
    .execute(params![
        chat.id,
        chat.tenant_id,
        chat.chat_type.as_str(),
        chat.topic,
        chat.created_ms,
        chat.last_updated_ms,
        chat.online_meeting.as_ref().map(|v| v.to_string())
    ])
    .map_err(internal)?;
    for m in members {
        insert_member(c, m)?;
    }
    let mut created = chat.clone();
    for e in events {
        created.last_message_ms = Some(crate::chat_messages::insert(c, e)?.created_ms);
    }
    Ok(Created::New(created))
}

pub fn get(
    c: &Connection,
    tenant_id: &str,
    chat_id: &str,
) -> Result<Option<ChatRecord>, StoreError> {
    c.prepare_cached(&format!("SELECT {CHAT_COLUMNS} FROM chats AS c WHERE c.id = ?1 AND c.tenant_id = ?2 AND c.deleted_ms IS NULL"))
        .map_err(internal)?
        .query_row(params![chat_id, tenant_id], chat_row)
        .optional()
        .map_err(internal)
}

/// What a chat route checks first (`Store::chat_access`): the user addressed by `user`, the
/// chat, and that user's membership, read on `c` (a reader's, or the writer's inside a write).
pub fn access(
    c: &Connection,
    tenant_id: &str,
    user: Option<&UserKey>,
    chat_id: &str,
) -> Result<ChatAccess, StoreError> {
    let user = match user {
        Some(k) => crate::users::get(c, tenant_id, k)?,
        None => None,
    };
    let chat = get(c, tenant_id, chat_id)?;
    let member = match (&user, &chat) {
        (Some(u), Some(_)) => member(c, chat_id, &u.id)?,
        _ => None,
    };
    Ok((user, chat, member))
}

/// [`MEMBER_COLUMNS`] with the directory's columns as subqueries (users.id is the key, so they
/// equal the LEFT JOIN's). With the join, SQLite re-prepares the statement on every execution
/// (its plan depends on the bound chat id), and this lookup runs before every message send.
const MEMBER_COLUMNS_NO_JOIN: &str = "m.chat_id, m.user_id, m.tenant_id, \
    (SELECT u.display_name FROM users AS u WHERE u.id = m.user_id), (SELECT u.mail FROM users AS u WHERE u.id = m.user_id), \
    m.roles, m.visible_history_ms, m.added_ms, m.is_hidden, m.last_read_ms";

/// The statement behind [`member`].
pub(crate) fn member_sql() -> String {
    format!(
        "SELECT {MEMBER_COLUMNS_NO_JOIN} FROM chat_members AS m WHERE m.chat_id = ?1 AND m.user_id = ?2"
    )
}

pub fn member(
    c: &Connection,
    chat_id: &str,
    user_id: &str,
) -> Result<Option<MemberRecord>, StoreError> {
    c.prepare_cached(&member_sql())
        .map_err(internal)?
        .query_row(params![chat_id, user_id], |r| member_row_at(r, 0))
        .optional()
        .map_err(internal)
}

pub fn members(c: &Connection, chat_id: &str) -> Result<Vec<MemberRecord>, StoreError> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {MEMBER_COLUMNS} FROM chat_members AS m LEFT JOIN users AS u ON u.id = m.user_id WHERE m.chat_id = ?1 ORDER BY m.added_ms, m.user_id"
        ))
        .map_err(internal)?;
    stmt.query_map(params![chat_id], |r| member_row_at(r, 0))
        .map_err(internal)?
        .collect::<Result<_, _>>()
        .map_err(internal)
}

pub fn list(
    c: &Connection,
    tenant_id: &str,
    user_id: &str,
    q: &ListQuery<'_>,
) -> Result<Page<ChatView>, StoreError> {
    // The caller's membership row rides along, for `viewpoint`.
    let collection = Collection {
        schema: &CHAT_SCHEMA,
        from: "chats AS c JOIN chat_members AS m ON m.chat_id = c.id LEFT JOIN users AS u ON u.id = m.user_id",
        alias: "c",
        columns: "c.id, c.tenant_id, c.chat_type, c.topic, c.created_ms, c.last_updated_ms, c.last_message_ms, c.online_meeting, \
            m.chat_id, m.user_id, m.tenant_id, u.display_name, u.mail, m.roles, m.visible_history_ms, m.added_ms, m.is_hidden, m.last_read_ms",
        base_where: "c.tenant_id = ?1 AND m.user_id = ?2 AND c.deleted_ms IS NULL",
        base_params: vec![
            SqlValue::Text(tenant_id.to_string()),
            SqlValue::Text(user_id.to_string()),
        ],
    };
    query::page(c, &collection, q, |r| {
        Ok(ChatView {
            chat: chat_row(r)?,
            me: Some(member_row_at(r, 8)?),
        })
    })
}

pub fn rename(
    c: &Connection,
    tenant_id: &str,
    chat_id: &str,
    topic: &str,
    now: i64,
    event: &NewMessage,
) -> Result<Option<ChatRecord>, StoreError> {
    let n = c
        .prepare_cached("UPDATE chats SET topic = ?3, last_updated_ms = ?4 WHERE id = ?1 AND tenant_id = ?2 AND deleted_ms IS NULL")
        .map_err(internal)?
        .execute(params![chat_id, tenant_id, topic, now])
        .map_err(internal)?;
    if n == 0 {
        return Ok(None);
    }
    crate::chat_messages::insert(c, event)?;
    get(c, tenant_id, chat_id)
}

pub fn delete(
    c: &Connection,
    tenant_id: &str,
    chat_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let n = c
        .prepare_cached("UPDATE chats SET deleted_ms = ?3 WHERE id = ?1 AND tenant_id = ?2 AND deleted_ms IS NULL")
        .map_err(internal)?
        .execute(params![chat_id, tenant_id, now])
        .map_err(internal)?;
    Ok(n > 0)
}

pub fn set_viewpoint(
    c: &Connection,
    chat_id: &str,
    user_id: &str,
    change: ViewpointChange,
) -> Result<(), StoreError> {
    match change {
        ViewpointChange::Hidden(hidden) => c
            .prepare_cached(
                "UPDATE chat_members SET is_hidden = ?3 WHERE chat_id = ?1 AND user_id = ?2",
            )
            .map_err(internal)?
            .execute(params![chat_id, user_id, hidden]),
        ViewpointChange::LastRead(at) => c
            .prepare_cached(
                "UPDATE chat_members SET last_read_ms = ?3 WHERE chat_id = ?1 AND user_id = ?2",
            )
            .map_err(internal)?
            .execute(params![chat_id, user_id, at]),
    }
    .map_err(internal)?;
    Ok(())
}

/// Adds a member and posts the event. A member added without history sees the chat from the
/// event of their joining on: its id is allocated after every earlier message's, whereas the wall
/// clock may lag ids that were bumped past it by a burst of messages in one millisecond.
pub fn add_member(c: &Connection, m: &MemberRecord, event: &NewMessage) -> Result<(), StoreError> {
    insert_member(c, m)?;
    touch(c, &m.chat_id, m.added_ms)?;
    let joined = crate::chat_messages::insert(c, event)?;
    if m.visible_history_ms.is_none() {
        c.prepare_cached(
            "UPDATE chat_members SET visible_history_ms = ?3 WHERE chat_id = ?1 AND user_id = ?2",
        )
        .map_err(internal)?
        .execute(params![m.chat_id, m.user_id, joined.id])
        .map_err(internal)?;
    }
    Ok(())
}

fn touch(c: &Connection, chat_id: &str, now: i64) -> Result<(), StoreError> {
    c.prepare_cached("UPDATE chats SET last_updated_ms = max(last_updated_ms, ?2) WHERE id = ?1")
        .map_err(internal)?
        .execute(params![chat_id, now])
        .map_err(internal)?;
    Ok(())
}

pub fn remove_member(
    c: &Connection,
    chat_id: &str,
    user_id: &str,
    now: i64,
    event: &NewMessage,
) -> Result<RemoveOutcome, StoreError> {
    let count: i64 = c
        .prepare_cached("SELECT count(*) FROM chat_members WHERE chat_id = ?1")
        .map_err(internal)?
        .query_row(params![chat_id], |r| r.get(0))
        .map_err(internal)?;
    if member(c, chat_id, user_id)?.is_none() {
        return Ok(RemoveOutcome::NotMember);
    }
    if count <= 1 {
        return Ok(RemoveOutcome::LastMember);
    }
    c.prepare_cached("DELETE FROM chat_members WHERE chat_id = ?1 AND user_id = ?2")
        .map_err(internal)?
        .execute(params![chat_id, user_id])
        .map_err(internal)?;
    touch(c, chat_id, now)?;
    crate::chat_messages::insert(c, event)?;
    Ok(RemoveOutcome::Removed)
}
