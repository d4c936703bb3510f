//! SQL for Outlook mail: mailboxes (folders with counts computed in SQL), messages, and the FTS5
//! index (`mail_search`), kept in step inside every write transaction (triggers note what to
//! index, [`index_pending`] indexes it before each commit).

use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use switchboard_domain::StoreError;
use switchboard_domain::mail::{
    self, FolderRecord, MAIL_SCHEMA, MailOutcome, MailQuery, MailRecord, MailWrite, ROOT,
    WELL_KNOWN,
};
use switchboard_domain::mail_attachments::{
    AttachmentRecord, MAX_MESSAGE_ATTACHMENT_BYTES, message_too_large,
};
use switchboard_domain::mail_delta::{
    ChangeType, DeltaFilter, DeltaRow, DeltaRows, FolderDeltaRow, FolderDeltaRows,
};
use switchboard_domain::mail_search::{MailSearch, RangeField};
use switchboard_odata::sql::{self, SqlValue};

use crate::internal;
use crate::query::to_sqlite;

const FOLDER_COLUMNS: &str = "f.id, f.tenant_id, f.user_id, f.parent_id, f.display_name, f.well_known, f.is_hidden, f.created_ms,
    (SELECT count(*) FROM mail_folders AS c WHERE c.parent_id = f.id),
    f.total_item_count, f.unread_item_count";

fn folder_row(r: &Row<'_>) -> rusqlite::Result<FolderRecord> {
    Ok(FolderRecord {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        user_id: r.get(2)?,
        parent_id: r.get(3)?,
        display_name: r.get(4)?,
        well_known: r.get(5)?,
        is_hidden: r.get::<_, i64>(6)? != 0,
        created_ms: r.get(7)?,
        child_folder_count: r.get(8)?,
        total_item_count: r.get(9)?,
        unread_item_count: r.get(10)?,
    })
}

const COLUMNS: &str = "m.id, m.immutable_id, m.tenant_id, m.user_id, m.folder_id, m.change_key, m.created_ms, m.modified_ms, m.received_ms, m.sent_ms,
    m.is_draft, m.is_read, m.subject, m.body_type, m.body, m.importance, m.inference, m.categories, m.has_attachments,
    m.internet_message_id, m.conversation_id, m.doc, m.change_seq";

fn message_row(r: &Row<'_>) -> rusqlite::Result<MailRecord> {
    let categories: String = r.get(17)?;
    let doc: String = r.get(21)?;
    let mut m = MailRecord {
        id: r.get(0)?,
        immutable_id: r.get(1)?,
        tenant_id: r.get(2)?,
        user_id: r.get(3)?,
        folder_id: r.get(4)?,
        change_key: r.get(5)?,
        created_ms: r.get(6)?,
        modified_ms: r.get(7)?,
        received_ms: r.get(8)?,
        sent_ms: r.get(9)?,
        is_draft: r.get::<_, i64>(10)? != 0,
        is_read: r.get::<_, i64>(11)? != 0,
        subject: r.get(12)?,
        body_type: r.get(13)?,
        body: r.get(14)?,
        importance: r.get(15)?,
        inference: r.get(16)?,
        from: None,
        sender: None,
        to: Vec::new(),
        cc: Vec::new(),
        bcc: Vec::new(),
        reply_to: Vec::new(),
        categories: serde_json::from_str(&categories).unwrap_or_default(),
        flag: serde_json::Value::Null,
        headers: Vec::new(),
        internet_message_id: r.get(19)?,
        conversation_id: r.get(20)?,
        conversation_index: String::new(),
        delivery_receipt: None,
        read_receipt: false,
        unsubscribe_data: Vec::new(),
        unsubscribe_enabled: false,
        has_attachments: r.get::<_, i64>(18)? != 0,
    };
    m.set_doc(&serde_json::from_str(&doc).unwrap_or_default());
    Ok(m)
}

/// Creates the root and the well-known folders that are missing. Runs inside a write.
pub fn ensure_mailbox(
    c: &Connection,
    tenant_id: &str,
    user_id: &str,
    now_ms: i64,
) -> Result<String, StoreError> {
    let root: Option<String> = c
        .prepare_cached("SELECT id FROM mail_folders WHERE user_id = ?1 AND well_known = ?2")
        .map_err(internal)?
        .query_row(params![user_id, ROOT], |r| r.get(0))
        .optional()
        .map_err(internal)?;
    let root = match root {
        Some(id) => id,
        None => {
            let id = mail::new_folder_id();
            c.prepare_cached(
                "INSERT INTO mail_folders (id, tenant_id, user_id, parent_id, display_name, well_known, is_hidden, created_ms)
                 VALUES (?1, ?2, ?3, NULL, 'Top of Information Store', ?4, 0, ?5)",
            )
            .map_err(internal)?
            .execute(params![id, tenant_id, user_id, ROOT, now_ms])
            .map_err(internal)?;
            id
        }
    };
    for (name, display) in WELL_KNOWN {
        c.prepare_cached(
            "INSERT INTO mail_folders (id, tenant_id, user_id, parent_id, display_name, well_known, is_hidden, created_ms)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, 0, ?7
             WHERE NOT EXISTS (SELECT 1 FROM mail_folders WHERE user_id = ?3 AND well_known = ?6)",
        )
        .map_err(internal)?
        .execute(params![mail::new_folder_id(), tenant_id, user_id, root, display, name, now_ms])
        .map_err(internal)?;
    }
    Ok(root)
}

/// A folder by id or well-known name.
pub fn folder(
    c: &Connection,
    user_id: &str,
    key: &str,
) -> Result<Option<FolderRecord>, StoreError> {
    c.prepare_cached(&format!(
        "SELECT {FOLDER_COLUMNS} FROM mail_folders AS f WHERE f.user_id = ?1 AND (f.id = ?2 OR f.well_known = lower(?2))"
    ))
    .map_err(internal)?
    .query_row(params![user_id, key], folder_row)
    .optional()
    .map_err(internal)
}

/// Child folders of a parent, oldest first.
pub fn folders(
    c: &Connection,
    user_id: &str,
    parent_id: &str,
    skip: u64,
    limit: usize,
) -> Result<(Vec<FolderRecord>, u64), StoreError> {
    let items = c
        .prepare_cached(&format!(
            "SELECT {FOLDER_COLUMNS} FROM mail_folders AS f WHERE f.user_id = ?1 AND f.parent_id = ?2 AND f.is_hidden = 0
             ORDER BY f.created_ms, f.rowid LIMIT ?3 OFFSET ?4"
        ))
        .map_err(internal)?
        .query_map(params![user_id, parent_id, limit as i64, skip as i64], folder_row)
        .map_err(internal)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)?;
    let total: i64 = c
        .prepare_cached("SELECT count(*) FROM mail_folders WHERE user_id = ?1 AND parent_id = ?2 AND is_hidden = 0")
        .map_err(internal)?
        .query_row(params![user_id, parent_id], |r| r.get(0))
        .map_err(internal)?;
    Ok((items, total as u64))
}

/// Creates a folder.
pub fn insert_folder(c: &Connection, f: &FolderRecord) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO mail_folders (id, tenant_id, user_id, parent_id, display_name, well_known, is_hidden, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .map_err(internal)?
    .execute(params![f.id, f.tenant_id, f.user_id, f.parent_id, f.display_name, f.well_known, f.is_hidden as i64, f.created_ms])
    .map_err(internal)?;
    stamp_folder(c, &f.id, next_change_seq(c, &f.user_id)?)
}

/// Renames a folder.
pub fn rename_folder(
    c: &Connection,
    user_id: &str,
    id: &str,
    name: &str,
) -> Result<bool, StoreError> {
    let n = c
        .prepare_cached("UPDATE mail_folders SET display_name = ?3 WHERE user_id = ?1 AND id = ?2")
        .map_err(internal)?
        .execute(params![user_id, id, name])
        .map_err(internal)?;
    if n > 0 {
        stamp_folder(c, id, next_change_seq(c, user_id)?)?;
    }
    Ok(n > 0)
}

/// Deletes a folder with its subtree and their messages.
pub fn delete_folder(c: &Connection, user_id: &str, id: &str) -> Result<bool, StoreError> {
    const TREE: &str =
        "WITH RECURSIVE tree(id) AS (SELECT id FROM mail_folders WHERE user_id = ?1 AND id = ?2
        UNION ALL SELECT f.id FROM mail_folders AS f JOIN tree ON f.parent_id = tree.id)";
    c.prepare_cached(&format!(
        "{TREE} DELETE FROM mail_attachments WHERE user_id = ?1 AND message_key IN
            (SELECT immutable_id FROM mail_messages WHERE folder_id IN (SELECT id FROM tree))"
    ))
    .map_err(internal)?
    .execute(params![user_id, id])
    .map_err(internal)?;
    c.prepare_cached(&format!(
        "{TREE} DELETE FROM mail_messages WHERE folder_id IN (SELECT id FROM tree)"
    ))
    .map_err(internal)?
    .execute(params![user_id, id])
    .map_err(internal)?;
    let gone: Vec<String> = c
        .prepare_cached(&format!("{TREE} SELECT id FROM tree"))
        .map_err(internal)?
        .query_map(params![user_id, id], |r| r.get(0))
        .map_err(internal)?
        .collect::<Result<_, _>>()
        .map_err(internal)?;
    for folder_id in &gone {
        c.prepare_cached(
            "INSERT INTO mail_folder_removals (user_id, change_seq, folder_id) VALUES (?1, ?2, ?3)",
        )
        .map_err(internal)?
        .execute(params![user_id, next_change_seq(c, user_id)?, folder_id])
        .map_err(internal)?;
    }
    if let Some(parent) = c
        .prepare_cached("SELECT parent_id FROM mail_folders WHERE user_id = ?1 AND id = ?2")
        .map_err(internal)?
        .query_row(params![user_id, id], |r| r.get::<_, Option<String>>(0))
        .optional()
        .map_err(internal)?
        .flatten()
    {
        // The parent's childFolderCount changed.
        stamp_folder(c, &parent, next_change_seq(c, user_id)?)?;
    }
    c.prepare_cached(&format!(
        "{TREE} DELETE FROM mail_removals WHERE folder_id IN (SELECT id FROM tree)"
    ))
    .map_err(internal)?
    .execute(params![user_id, id])
    .map_err(internal)?;
    let n = c
        .prepare_cached(&format!(
            "{TREE} DELETE FROM mail_folders WHERE id IN (SELECT id FROM tree)"
        ))
        .map_err(internal)?
        .execute(params![user_id, id])
        .map_err(internal)?;
    Ok(n > 0)
}

/// One message, by its id or its immutable id.
pub fn message(c: &Connection, user_id: &str, id: &str) -> Result<Option<MailRecord>, StoreError> {
    let by_id = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM mail_messages AS m WHERE m.id = ?2 AND m.user_id = ?1"
        ))
        .map_err(internal)?
        .query_row(params![user_id, id], message_row)
        .optional()
        .map_err(internal)?;
    if by_id.is_some() {
        return Ok(by_id);
    }
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM mail_messages AS m WHERE m.user_id = ?1 AND m.immutable_id = ?2"
    ))
    .map_err(internal)?
    .query_row(params![user_id, id], message_row)
    .optional()
    .map_err(internal)
}

/// A page of messages.
pub fn list(
    c: &Connection,
    user_id: &str,
    folder_id: Option<&str>,
    q: &MailQuery<'_>,
) -> Result<(Vec<MailRecord>, Option<u64>), StoreError> {
    let mut params: Vec<SqlValue> = vec![SqlValue::Text(user_id.to_string())];
    let mut clauses = vec!["m.user_id = ?1".to_string()];
    if let Some(f) = folder_id {
        params.push(SqlValue::Text(f.to_string()));
        clauses.push(format!("m.folder_id = ?{}", params.len()));
    }
    if let Some(filter) = q.filter {
        clauses.push(
            sql::compile_filter(filter, &MAIL_SCHEMA, "m", &sql::Sqlite, &mut params)
                .map_err(StoreError::InvalidQuery)?,
        );
    }
    if let Some(search) = &q.search {
        clauses.push(search_clause(search, &mut params));
    }
    let order = if q.order.is_empty() {
        "m.received_ms DESC, m.seq DESC".to_string()
    } else {
        format!(
            "{}, m.received_ms DESC, m.seq DESC",
            sql::order_by_clause(&q.order, "m")
        )
    };
    let where_clause = clauses.join(" AND ");
    let count = if q.count {
        let n: i64 = c
            .prepare_cached(&format!(
                "SELECT count(*) FROM mail_messages AS m WHERE {where_clause}"
            ))
            .map_err(internal)?
            .query_row(params_from_iter(params.iter().map(to_sqlite)), |r| r.get(0))
            .map_err(internal)?;
        Some(n as u64)
    } else {
        None
    };
    let n = params.len();
    params.push(SqlValue::Integer(q.limit as i64));
    params.push(SqlValue::Integer(q.skip as i64));
    let text = format!(
        "SELECT {COLUMNS} FROM mail_messages AS m WHERE {where_clause} ORDER BY {order} LIMIT ?{} OFFSET ?{}",
        n + 1,
        n + 2
    );
    let items = c
        .prepare_cached(&text)
        .map_err(internal)?
        .query_map(params_from_iter(params.iter().map(to_sqlite)), message_row)
        .map_err(internal)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)?;
    Ok((items, count))
}

/// A message's size for `$search=size:…`: its body and its attachments, in bytes.
const MESSAGE_SIZE: &str = "(length(CAST(m.body AS BLOB)) + coalesce((SELECT sum(a.size) FROM mail_attachments AS a WHERE a.user_id = m.user_id AND a.message_key = m.immutable_id), 0))";

/// A compiled `$search` as a condition on `m`, every value bound as a parameter.
fn search_clause(s: &MailSearch, params: &mut Vec<SqlValue>) -> String {
    fn bind(params: &mut Vec<SqlValue>, v: SqlValue) -> String {
        params.push(v);
        format!("?{}", params.len())
    }
    match s {
        MailSearch::Text(fts) => format!(
            "m.seq IN (SELECT rowid FROM mail_search WHERE mail_search MATCH {})",
            bind(params, SqlValue::Text(fts.clone()))
        ),
        MailSearch::Range { field, from, to } => {
            let column = match field {
                RangeField::Received => "m.received_ms",
                RangeField::Sent => "m.sent_ms",
                RangeField::Size => MESSAGE_SIZE,
            };
            let mut parts = Vec::new();
            if let Some(v) = from {
                parts.push(format!(
                    "{column} >= {}",
                    bind(params, SqlValue::Integer(*v))
                ));
            }
            if let Some(v) = to {
                parts.push(format!(
                    "{column} < {}",
                    bind(params, SqlValue::Integer(*v))
                ));
            }
            if parts.is_empty() {
                parts.push(format!("{column} IS NOT NULL"));
            }
            format!("({})", parts.join(" AND "))
        }
        MailSearch::HasAttachments(b) => format!(
            "m.has_attachments = {}",
            bind(params, SqlValue::Integer(*b as i64))
        ),
        MailSearch::Importance(v) => format!(
            "m.importance = {}",
            bind(params, SqlValue::Text((*v).to_string()))
        ),
        MailSearch::Constant(b) => if *b { "1" } else { "0" }.to_string(),
        MailSearch::And(items) | MailSearch::Or(items) => {
            let joiner = if matches!(s, MailSearch::And(_)) {
                " AND "
            } else {
                " OR "
            };
            let parts: Vec<String> = items.iter().map(|i| search_clause(i, params)).collect();
            format!("({})", parts.join(joiner))
        }
        // A NULL (no sent date) is "not matched", so its negation matches.
        MailSearch::Not(inner) => format!("(NOT coalesce({}, 0))", search_clause(inner, params)),
    }
}

fn resolve_folder(c: &Connection, m: &MailRecord) -> Result<String, StoreError> {
    let Some(name) = m.folder_id.strip_prefix("wk:") else {
        return Ok(m.folder_id.clone());
    };
    // A mailbox is complete once it has its root and every well-known folder (they cannot be
    // deleted), and then one index read finds the folder: `ensure_mailbox` costs a read and an
    // insert attempt per well-known folder, and a send delivers to several mailboxes.
    let (found, well_known): (Option<String>, i64) = c
        .prepare_cached(
            "SELECT (SELECT id FROM mail_folders WHERE user_id = ?1 AND well_known = ?2),
                (SELECT count(*) FROM mail_folders WHERE user_id = ?1 AND well_known IS NOT NULL)",
        )
        .map_err(internal)?
        .query_row(params![m.user_id, name], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(internal)?;
    if let Some(id) = found
        && well_known == WELL_KNOWN.len() as i64 + 1
    {
        return Ok(id);
    }
    ensure_mailbox(c, &m.tenant_id, &m.user_id, m.created_ms)?;
    c.prepare_cached("SELECT id FROM mail_folders WHERE user_id = ?1 AND well_known = ?2")
        .map_err(internal)?
        .query_row(params![m.user_id, name], |r| r.get(0))
        .map_err(internal)
}

/// The mailbox's next change sequence number (in the write transaction, so numbers are handed
/// out in commit order).
fn next_change_seq(c: &Connection, user_id: &str) -> Result<i64, StoreError> {
    c.prepare_cached(
        "INSERT INTO mail_change_sequences (user_id, seq) VALUES (?1, 1)
         ON CONFLICT (user_id) DO UPDATE SET seq = seq + 1 RETURNING seq",
    )
    .map_err(internal)?
    .query_row(params![user_id], |r| r.get(0))
    .map_err(internal)
}

/// Marks a folder as changed (its counts or itself) with a change number, for folder delta.
fn stamp_folder(c: &Connection, folder_id: &str, seq: i64) -> Result<(), StoreError> {
    c.prepare_cached("UPDATE mail_folders SET change_seq = ?2 WHERE id = ?1")
        .map_err(internal)?
        .execute(params![folder_id, seq])
        .map_err(internal)?;
    Ok(())
}

/// The columns of a message the store derives from its record (search text, the JSON document).
/// [`Encodings::of`] makes them where the write is queued, so the one writer thread, which
/// every write waits for, only runs SQL.
pub struct Encoded {
    body_text: String,
    recipients_text: String,
    flag_status: String,
    categories: String,
    doc: String,
}

impl Encoded {
    fn of(m: &MailRecord) -> Encoded {
        Encoded {
            body_text: m.body_text(),
            recipients_text: m.recipients_text(),
            flag_status: m.flag_status(),
            categories: serde_json::to_string(&m.categories).unwrap_or_else(|_| "[]".into()),
            doc: m.doc_json(),
        }
    }
}

/// The [`Encoded`] columns of every record a write stores as given, by message id (a record
/// made inside the write, such as a changed message, is encoded there).
#[derive(Default)]
pub struct Encodings(Vec<(String, Encoded)>);

impl Encodings {
    /// Encodes the records `w` carries.
    pub fn of(w: &MailWrite) -> Encodings {
        let records: Vec<&MailRecord> = match w {
            MailWrite::Insert(records) => records.iter().collect(),
            MailWrite::Copy { record, .. } | MailWrite::CreateDraft { record, .. } => {
                vec![record]
            }
            MailWrite::Send {
                records, reports, ..
            } => records.iter().chain(reports).collect(),
            MailWrite::Change { .. }
            | MailWrite::Delete { .. }
            | MailWrite::AddAttachment { .. }
            | MailWrite::DeleteAttachment { .. } => Vec::new(),
        };
        Encodings(
            records
                .into_iter()
                .map(|m| (m.id.clone(), Encoded::of(m)))
                .collect(),
        )
    }

    fn get(&self, id: &str) -> Option<&Encoded> {
        self.0.iter().find(|(k, _)| k == id).map(|(_, e)| e)
    }
}

/// Where [`insert`] stored a message: its folder (a `wk:` name resolved) and its immutable id
/// (made when the record had none).
struct Placed {
    folder_id: String,
    immutable_id: String,
}

impl Placed {
    /// The record as stored.
    fn record(self, m: &MailRecord) -> MailRecord {
        MailRecord {
            folder_id: self.folder_id,
            immutable_id: self.immutable_id,
            ..m.clone()
        }
    }
}

/// Stores a message with the next change number. `kept_added_seq`: the number it entered its
/// folder with, when it stays in the folder it was in (an update, not an arrival).
fn insert(
    c: &Connection,
    m: &MailRecord,
    kept_added_seq: Option<i64>,
    encodings: &Encodings,
) -> Result<Placed, StoreError> {
    let folder_id = resolve_folder(c, m)?;
    let immutable_id = if m.immutable_id.is_empty() {
        mail::new_message_id()
    } else {
        m.immutable_id.clone()
    };
    let made;
    let e = match encodings.get(&m.id) {
        Some(e) => e,
        None => {
            made = Encoded::of(m);
            &made
        }
    };
    let change_seq = next_change_seq(c, &m.user_id)?;
    let added_seq = kept_added_seq.unwrap_or(change_seq);
    stamp_folder(c, &folder_id, change_seq)?;
    c.prepare_cached(
        "INSERT INTO mail_messages (id, tenant_id, user_id, folder_id, change_key, created_ms, modified_ms, received_ms, sent_ms,
            is_draft, is_read, subject, body_type, body, body_text, importance, inference, from_address, from_name, sender_address,
            recipients_text, flag_status, categories, has_attachments, internet_message_id, conversation_id, doc,
            immutable_id, change_seq, added_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27,
            ?28, ?29, ?30)",
    )
    .map_err(internal)?
    .execute(params![
        m.id,
        m.tenant_id,
        m.user_id,
        folder_id,
        m.change_key,
        m.created_ms,
        m.modified_ms,
        m.received_ms,
        m.sent_ms,
        m.is_draft as i64,
        m.is_read as i64,
        m.subject,
        m.body_type,
        m.body,
        e.body_text,
        m.importance,
        m.inference,
        m.from.as_ref().and_then(|f| f.address.as_deref()),
        m.from.as_ref().and_then(|f| f.name.as_deref()),
        m.sender.as_ref().and_then(|f| f.address.as_deref()),
        e.recipients_text,
        e.flag_status,
        e.categories,
        m.has_attachments as i64,
        m.internet_message_id,
        m.conversation_id,
        e.doc,
        immutable_id,
        change_seq,
        added_seq,
    ])
    .map_err(internal)?;
    Ok(Placed {
        folder_id,
        immutable_id,
    })
}

/// Deletes a stored message's row; `left_folder` records it as gone from its folder (what delta
/// reports as `@removed`), with the next change number.
fn remove(c: &Connection, m: &MailRecord, left_folder: bool) -> Result<(), StoreError> {
    if left_folder {
        let seq = next_change_seq(c, &m.user_id)?;
        stamp_folder(c, &m.folder_id, seq)?;
        c.prepare_cached(
            "INSERT INTO mail_removals (folder_id, change_seq, user_id, message_id, immutable_id, removed_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))",
        )
        .map_err(internal)?
        .execute(params![m.folder_id, seq, m.user_id, m.id, m.immutable_id])
        .map_err(internal)?;
    }
    c.prepare_cached("DELETE FROM mail_messages WHERE user_id = ?1 AND id = ?2")
        .map_err(internal)?
        .execute(params![m.user_id, m.id])
        .map_err(internal)?;
    Ok(())
}

fn added_seq(c: &Connection, m: &MailRecord) -> Result<i64, StoreError> {
    c.prepare_cached("SELECT added_seq FROM mail_messages WHERE user_id = ?1 AND id = ?2")
        .map_err(internal)?
        .query_row(params![m.user_id, m.id], |r| r.get(0))
        .map_err(internal)
}

/// Runs one mail write and indexes it for search, as a group commit does.
#[cfg(test)]
pub fn write(c: &Connection, w: &MailWrite) -> Result<MailOutcome, StoreError> {
    let outcome = write_encoded(c, w, &Encodings::default())?;
    index_pending(c)?;
    Ok(outcome)
}

/// Indexes the messages stored since the last call for `$search`, in one statement: the writer
/// runs it before each group's COMMIT (migration 0018 says why). Nothing to do costs one read
/// of an empty table.
pub fn index_pending(c: &Connection) -> Result<(), StoreError> {
    let pending: bool = c
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM mail_search_pending)")
        .map_err(internal)?
        .query_row([], |r| r.get(0))
        .map_err(internal)?;
    if !pending {
        return Ok(());
    }
    c.prepare_cached(
        "INSERT INTO mail_search (rowid, subject, body, sender, recipients)
         SELECT m.seq, coalesce(m.subject, ''), m.body_text,
            coalesce(m.from_address, '') || ' ' || coalesce(m.from_name, ''), m.recipients_text
         FROM mail_search_pending AS p JOIN mail_messages AS m ON m.seq = p.seq",
    )
    .map_err(internal)?
    .execute([])
    .map_err(internal)?;
    c.prepare_cached("DELETE FROM mail_search_pending")
        .map_err(internal)?
        .execute([])
        .map_err(internal)?;
    Ok(())
}

/// [`write`], with the records' columns encoded beforehand ([`Encodings::of`]).
pub fn write_encoded(
    c: &Connection,
    w: &MailWrite,
    encodings: &Encodings,
) -> Result<MailOutcome, StoreError> {
    match w {
        MailWrite::Insert(records) => {
            let mut first = None;
            for r in records {
                let placed = insert(c, r, None, encodings)?;
                if first.is_none() {
                    first = Some(placed.record(r));
                }
            }
            Ok(MailOutcome::Done(first))
        }
        MailWrite::Change {
            user_id,
            id,
            change,
        } => {
            let Some(before) = message(c, user_id, id)? else {
                return Ok(MailOutcome::NotFound);
            };
            let mut m = before.clone();
            if let Err(e) = change.apply(&mut m) {
                return Ok(MailOutcome::Refused(e));
            }
            // Delete and insert: the triggers keep the search index in step, and a move's new id
            // is a new row. A message that stays where it was keeps its arrival number, so delta
            // reports it as updated; one that moves leaves a removal behind.
            let stays = m.folder_id == before.folder_id && m.id == before.id;
            let kept = if stays {
                Some(added_seq(c, &before)?)
            } else {
                None
            };
            remove(c, &before, !stays)?;
            let stored = insert(c, &m, kept, encodings)?.record(&m);
            Ok(MailOutcome::Done(Some(stored)))
        }
        MailWrite::Delete { user_id, id } => match message(c, user_id, id)? {
            Some(m) => {
                remove(c, &m, true)?;
                drop_orphan_attachments(c, user_id, &m.immutable_id)?;
                Ok(MailOutcome::Done(None))
            }
            None => Ok(MailOutcome::NotFound),
        },
        MailWrite::Copy { from_key, record } => {
            let stored = insert(c, record, None, encodings)?.record(record);
            let files = attachment_ids(c, &record.user_id, from_key)?;
            copy_attachments(
                c,
                (&record.user_id, from_key),
                &files,
                (&stored.user_id, &stored.immutable_id),
            )?;
            Ok(MailOutcome::Done(Some(stored)))
        }
        MailWrite::AddAttachment {
            user_id,
            id,
            attachment: a,
            change_key,
            now_ms,
        } => {
            let Some(m) = message(c, user_id, id)? else {
                return Ok(MailOutcome::NotFound);
            };
            if !m.is_draft {
                return Ok(MailOutcome::Refused(
                    switchboard_domain::Error::bad_request(
                        switchboard_domain::Family::Outlook,
                        "Attachments can only be added to a draft message.",
                    ),
                ));
            }
            let held: i64 = c
                .prepare_cached(
                    "SELECT coalesce(sum(size), 0) FROM mail_attachments WHERE user_id = ?1 AND message_key = ?2",
                )
                .map_err(internal)?
                .query_row(params![user_id, m.immutable_id], |r| r.get(0))
                .map_err(internal)?;
            if held.saturating_add(a.size) > MAX_MESSAGE_ATTACHMENT_BYTES {
                return Ok(MailOutcome::Refused(message_too_large()));
            }
            insert_attachment(c, (user_id, &m.immutable_id), a, &a.id)?;
            touch_after_attachments(c, &m, change_key, *now_ms)?;
            Ok(MailOutcome::Done(None))
        }
        MailWrite::DeleteAttachment {
            user_id,
            id,
            attachment_id,
            change_key,
            now_ms,
        } => {
            let Some(m) = message(c, user_id, id)? else {
                return Ok(MailOutcome::NotFound);
            };
            let n = c
                .prepare_cached(
                    "DELETE FROM mail_attachments WHERE user_id = ?1 AND message_key = ?2 AND id = ?3",
                )
                .map_err(internal)?
                .execute(params![user_id, m.immutable_id, attachment_id])
                .map_err(internal)?;
            if n == 0 {
                return Ok(MailOutcome::NotFound);
            }
            touch_after_attachments(c, &m, change_key, *now_ms)?;
            Ok(MailOutcome::Done(None))
        }
        MailWrite::CreateDraft { record, files } => {
            let stored = insert(c, record, None, encodings)?.record(record);
            for f in files {
                insert_attachment(c, (&stored.user_id, &stored.immutable_id), f, &f.id)?;
            }
            Ok(MailOutcome::Done(Some(stored)))
        }
        MailWrite::Send {
            user_id,
            draft_id,
            if_match,
            records,
            reports,
            files,
        } => {
            if let Some(id) = draft_id {
                let Some(draft) = message(c, user_id, id)? else {
                    return Ok(MailOutcome::NotFound);
                };
                if !draft.is_draft {
                    return Ok(MailOutcome::Refused(
                        switchboard_domain::Error::bad_request(
                            switchboard_domain::Family::Outlook,
                            "Only a draft message can be sent.",
                        ),
                    ));
                }
                if if_match.as_ref().is_some_and(|k| *k != draft.change_key) {
                    let check = mail::MailChange {
                        if_match: if_match.clone(),
                        ..Default::default()
                    };
                    if let Err(e) = check.apply(&mut draft.clone()) {
                        return Ok(MailOutcome::Refused(e));
                    }
                }
                remove(c, &draft, true)?;
                // Inline-only files count too (hasAttachments is false for them).
                let draft_files = attachment_ids(c, user_id, &draft.immutable_id)?;
                for r in records {
                    let stored = insert(c, r, None, encodings)?;
                    // Deliveries get copies of the draft's files (inline ones too: `records`
                    // are all copies of the message, reports come apart); the Sent Items copy
                    // keeps the draft's immutable id, and so its files.
                    if stored.immutable_id != draft.immutable_id {
                        copy_attachments(
                            c,
                            (user_id, &draft.immutable_id),
                            &draft_files,
                            (&r.user_id, &stored.immutable_id),
                        )?;
                    }
                }
                for r in reports {
                    insert(c, r, None, encodings)?;
                }
                drop_orphan_attachments(c, user_id, &draft.immutable_id)?;
                return Ok(MailOutcome::Done(None));
            }
            // Sent in one step: every copy of the message gets its own copies of the files.
            for r in records {
                let stored = insert(c, r, None, encodings)?;
                for f in files {
                    insert_attachment(
                        c,
                        (&r.user_id, &stored.immutable_id),
                        f,
                        &mail::new_message_id(),
                    )?;
                }
            }
            for r in reports {
                insert(c, r, None, encodings)?;
            }
            Ok(MailOutcome::Done(None))
        }
    }
}

fn attachment_row(r: &Row<'_>) -> rusqlite::Result<AttachmentRecord> {
    Ok(AttachmentRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        content_type: r.get(2)?,
        size: r.get(3)?,
        is_inline: r.get::<_, i64>(4)? != 0,
        content_id: r.get(5)?,
        modified_ms: r.get(6)?,
        content: r.get(7)?,
    })
}

/// The attachments of a message (by its immutable id), oldest first.
pub fn attachments(
    c: &Connection,
    user_id: &str,
    message_key: &str,
) -> Result<Vec<AttachmentRecord>, StoreError> {
    c.prepare_cached(
        "SELECT id, name, content_type, size, is_inline, content_id, modified_ms, content
         FROM mail_attachments WHERE user_id = ?1 AND message_key = ?2 ORDER BY modified_ms, rowid",
    )
    .map_err(internal)?
    .query_map(params![user_id, message_key], attachment_row)
    .map_err(internal)?
    .collect::<Result<Vec<_>, _>>()
    .map_err(internal)
}

/// One attachment of a message (by its immutable id), by its id.
pub fn attachment(
    c: &Connection,
    user_id: &str,
    message_key: &str,
    id: &str,
) -> Result<Option<AttachmentRecord>, StoreError> {
    c.prepare_cached(
        "SELECT id, name, content_type, size, is_inline, content_id, modified_ms, content
         FROM mail_attachments WHERE id = ?3 AND user_id = ?1 AND message_key = ?2",
    )
    .map_err(internal)?
    .query_row(params![user_id, message_key, id], attachment_row)
    .optional()
    .map_err(internal)
}

/// The ids of a message's attachments (by its immutable id), oldest first; no content read.
fn attachment_ids(
    c: &Connection,
    user_id: &str,
    message_key: &str,
) -> Result<Vec<String>, StoreError> {
    c.prepare_cached(
        "SELECT id FROM mail_attachments WHERE user_id = ?1 AND message_key = ?2
         ORDER BY modified_ms, rowid",
    )
    .map_err(internal)?
    .query_map(params![user_id, message_key], |r| r.get(0))
    .map_err(internal)?
    .collect::<Result<Vec<_>, _>>()
    .map_err(internal)
}

/// Copies the attachments `ids` of a message to another message (new ids), maybe in another
/// mailbox. SQLite copies the files row to row: a send to many recipients never loads them.
fn copy_attachments(
    c: &Connection,
    from: (&str, &str),
    ids: &[String],
    to: (&str, &str),
) -> Result<(), StoreError> {
    for id in ids {
        c.prepare_cached(
            "INSERT INTO mail_attachments (id, user_id, message_key, name, content_type, size, is_inline, content_id, modified_ms, content)
             SELECT ?1, ?2, ?3, name, content_type, size, is_inline, content_id, modified_ms, content
             FROM mail_attachments WHERE id = ?4 AND user_id = ?5 AND message_key = ?6",
        )
        .map_err(internal)?
        .execute(params![mail::new_message_id(), to.0, to.1, id, from.0, from.1])
        .map_err(internal)?;
    }
    Ok(())
}

/// Stores a file for a message (`to`: its mailbox and immutable id) under the id given.
fn insert_attachment(
    c: &Connection,
    to: (&str, &str),
    a: &AttachmentRecord,
    id: &str,
) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO mail_attachments (id, user_id, message_key, name, content_type, size, is_inline, content_id, modified_ms, content)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .map_err(internal)?
    .execute(params![
        id,
        to.0,
        to.1,
        a.name,
        a.content_type,
        a.size,
        a.is_inline as i64,
        a.content_id,
        a.modified_ms,
        a.content
    ])
    .map_err(internal)?;
    Ok(())
}

/// Drops the attachments of a message that no longer exists (deleted for good, or a draft sent
/// without a copy in Sent Items).
fn drop_orphan_attachments(
    c: &Connection,
    user_id: &str,
    message_key: &str,
) -> Result<(), StoreError> {
    c.prepare_cached(
        "DELETE FROM mail_attachments WHERE user_id = ?1 AND message_key = ?2
         AND NOT EXISTS (SELECT 1 FROM mail_messages WHERE user_id = ?1 AND immutable_id = ?2)",
    )
    .map_err(internal)?
    .execute(params![user_id, message_key])
    .map_err(internal)?;
    Ok(())
}

/// After an attachment change: `hasAttachments` (any attachment that is not inline), a new change
/// key and modification time, and a change number for delta.
fn touch_after_attachments(
    c: &Connection,
    m: &MailRecord,
    change_key: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    let seq = next_change_seq(c, &m.user_id)?;
    stamp_folder(c, &m.folder_id, seq)?;
    c.prepare_cached(
        "UPDATE mail_messages SET
            has_attachments = EXISTS (SELECT 1 FROM mail_attachments WHERE user_id = ?1 AND message_key = ?2 AND is_inline = 0),
            change_key = ?3, modified_ms = ?4, change_seq = ?5
         WHERE user_id = ?1 AND id = ?6",
    )
    .map_err(internal)?
    .execute(params![m.user_id, m.immutable_id, change_key, now_ms, seq, m.id])
    .map_err(internal)?;
    Ok(())
}

/// The newest change number of a mailbox (0 before its first message).
pub fn change_seq(c: &Connection, user_id: &str) -> Result<i64, StoreError> {
    Ok(
        c.prepare_cached("SELECT seq FROM mail_change_sequences WHERE user_id = ?1")
            .map_err(internal)?
            .query_row(params![user_id], |r| r.get::<_, i64>(0))
            .optional()
            .map_err(internal)?
            .unwrap_or(0),
    )
}

/// A page of an initial folder delta round: every folder of the mailbox but the root, oldest
/// first, after `cursor` (creation time and id of the last one delivered); up to `limit` rows.
pub fn folder_delta_initial(
    c: &Connection,
    user_id: &str,
    cursor: Option<&(i64, String)>,
    limit: usize,
) -> Result<Vec<FolderRecord>, StoreError> {
    c.prepare_cached(&format!(
        "SELECT {FOLDER_COLUMNS} FROM mail_folders AS f
         WHERE f.user_id = ?1 AND f.parent_id IS NOT NULL AND (?2 IS NULL OR (f.created_ms, f.id) > (?2, ?3))
         ORDER BY f.created_ms, f.id LIMIT ?4"
    ))
    .map_err(internal)?
    .query_map(
        params![
            user_id,
            cursor.map(|(ms, _)| *ms),
            cursor.map(|(_, id)| id.clone()),
            limit as i64
        ],
        folder_row,
    )
    .map_err(internal)?
    .collect::<Result<Vec<_>, _>>()
    .map_err(internal)
}

/// The folders of a mailbox created, renamed or recounted after change number `after`, and
/// those deleted, in change order; up to `limit` rows.
pub fn folder_delta_changes(
    c: &Connection,
    user_id: &str,
    after: i64,
    limit: usize,
) -> Result<FolderDeltaRows, StoreError> {
    folder_delta_changes_around(c, user_id, after, limit, || {})
}

/// [`folder_delta_changes`], running `between` between its two reads (tests commit there).
fn folder_delta_changes_around(
    c: &Connection,
    user_id: &str,
    after: i64,
    limit: usize,
    between: impl FnOnce(),
) -> Result<FolderDeltaRows, StoreError> {
    // Both reads see one snapshot: a commit between them could show a removal numbered past a
    // folder change the first read missed, and the page's token would then skip that change.
    // Read-only; rolled back on drop.
    // Store reads already run in one read transaction (readers.rs); a caller outside one (the
    // tests) gets its own here.
    let _snapshot = match c.is_autocommit() {
        true => Some(c.unchecked_transaction().map_err(internal)?),
        false => None,
    };
    let mut rows: Vec<(i64, FolderDeltaRow)> = c
        .prepare_cached(&format!(
            "SELECT {FOLDER_COLUMNS}, f.change_seq FROM mail_folders AS f
             WHERE f.user_id = ?1 AND f.change_seq > ?2 AND f.parent_id IS NOT NULL
             ORDER BY f.change_seq LIMIT ?3"
        ))
        .map_err(internal)?
        .query_map(params![user_id, after, limit as i64 + 1], |r| {
            Ok((
                r.get::<_, i64>(11)?,
                FolderDeltaRow::Changed(folder_row(r)?),
            ))
        })
        .map_err(internal)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)?;
    between();
    let removed = c
        .prepare_cached(
            "SELECT change_seq, folder_id FROM mail_folder_removals
             WHERE user_id = ?1 AND change_seq > ?2 ORDER BY change_seq LIMIT ?3",
        )
        .map_err(internal)?
        .query_map(params![user_id, after, limit as i64 + 1], |r| {
            Ok((r.get::<_, i64>(0)?, FolderDeltaRow::Removed(r.get(1)?)))
        })
        .map_err(internal)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)?;
    rows.extend(removed);
    rows.sort_by_key(|(seq, _)| *seq);
    let more = rows.len() > limit;
    rows.truncate(limit);
    Ok(FolderDeltaRows { rows, more })
}

/// The received-date bound of a delta `$filter`, as SQL on `m.received_ms` (parameter ?n).
fn received_clause(received_from: Option<(i64, bool)>, n: usize) -> String {
    match received_from {
        Some((_, true)) => format!("m.received_ms >= ?{n}"),
        Some((_, false)) => format!("m.received_ms > ?{n}"),
        None => format!("?{n} IS NULL"),
    }
}

/// A page of an initial delta round: the folder's messages newest first, after `cursor`
/// (received time and id of the last one delivered); up to `limit` rows.
pub fn delta_initial(
    c: &Connection,
    folder_id: &str,
    received_from: Option<(i64, bool)>,
    cursor: Option<&(i64, String)>,
    limit: usize,
) -> Result<Vec<MailRecord>, StoreError> {
    let text = format!(
        "SELECT {COLUMNS} FROM mail_messages AS m
         WHERE m.folder_id = ?1 AND {} AND (?3 IS NULL OR (m.received_ms, m.id) < (?3, ?4))
         ORDER BY m.received_ms DESC, m.id DESC LIMIT ?5",
        received_clause(received_from, 2)
    );
    c.prepare_cached(&text)
        .map_err(internal)?
        .query_map(
            params![
                folder_id,
                received_from.map(|(ms, _)| ms),
                cursor.map(|(ms, _)| *ms),
                cursor.map(|(_, id)| id.clone()),
                limit as i64
            ],
            message_row,
        )
        .map_err(internal)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)
}

/// The changes to a folder after change number `after`, in change order: messages that
/// arrived or changed, and messages that left. Up to `limit` rows; `more` when others follow.
pub fn delta_changes(
    c: &Connection,
    folder_id: &str,
    after: i64,
    filter: &DeltaFilter,
    limit: usize,
) -> Result<DeltaRows, StoreError> {
    delta_changes_around(c, folder_id, after, filter, limit, || {})
}

/// [`delta_changes`], running `between` between its two reads (tests commit there).
fn delta_changes_around(
    c: &Connection,
    folder_id: &str,
    after: i64,
    filter: &DeltaFilter,
    limit: usize,
    between: impl FnOnce(),
) -> Result<DeltaRows, StoreError> {
    // Both reads see one snapshot: a commit between them (a message at S+1, a removal at S+2)
    // would otherwise give a page [removal S+2] whose token skips the message for good.
    // Read-only; rolled back on drop.
    // Store reads already run in one read transaction (readers.rs); a caller outside one (the
    // tests) gets its own here.
    let _snapshot = match c.is_autocommit() {
        true => Some(c.unchecked_transaction().map_err(internal)?),
        false => None,
    };
    let mut rows: Vec<(i64, DeltaRow)> = Vec::new();
    let wants = |t: ChangeType| filter.change_type.is_none_or(|c| c == t);
    if wants(ChangeType::Created) || wants(ChangeType::Updated) {
        let kind = match filter.change_type {
            Some(ChangeType::Created) => "AND m.added_seq > ?5",
            Some(ChangeType::Updated) => "AND m.added_seq <= ?5",
            // ?5 is bound either way.
            _ => "AND ?5 IS NOT NULL",
        };
        let text = format!(
            "SELECT {COLUMNS} FROM mail_messages AS m
             WHERE m.folder_id = ?1 AND m.change_seq > ?2 {kind} AND {}
             ORDER BY m.change_seq LIMIT ?4",
            received_clause(filter.received_from, 3)
        );
        let changed = c
            .prepare_cached(&text)
            .map_err(internal)?
            .query_map(
                params![
                    folder_id,
                    after,
                    filter.received_from.map(|(ms, _)| ms),
                    limit as i64 + 1,
                    filter.round_start
                ],
                |r| {
                    Ok((
                        r.get::<_, i64>(22)?,
                        DeltaRow::Changed(Box::new(message_row(r)?)),
                    ))
                },
            )
            .map_err(internal)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(internal)?;
        rows.extend(changed);
    }
    between();
    if wants(ChangeType::Deleted) {
        let removed = c
            .prepare_cached(
                "SELECT change_seq, message_id, immutable_id FROM mail_removals
                 WHERE folder_id = ?1 AND change_seq > ?2 ORDER BY change_seq LIMIT ?3",
            )
            .map_err(internal)?
            .query_map(params![folder_id, after, limit as i64 + 1], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    DeltaRow::Removed {
                        id: r.get(1)?,
                        immutable_id: r.get(2)?,
                    },
                ))
            })
            .map_err(internal)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(internal)?;
        rows.extend(removed);
    }
    rows.sort_by_key(|(seq, _)| *seq);
    let more = rows.len() > limit;
    rows.truncate(limit);
    Ok(DeltaRows { rows, more })
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_domain::mail::MailChange;
    use switchboard_odata::sql::fts5_match;

    fn record(subject: &str, body: &str) -> MailRecord {
        MailRecord {
            id: mail::new_message_id(),
            immutable_id: String::new(),
            tenant_id: "t".into(),
            user_id: "u".into(),
            folder_id: "wk:drafts".into(),
            change_key: mail::new_change_key(),
            created_ms: 1,
            modified_ms: 1,
            received_ms: 1,
            sent_ms: None,
            is_draft: true,
            is_read: true,
            subject: Some(subject.into()),
            body_type: "text".into(),
            body: body.into(),
            importance: "normal".into(),
            inference: "focused".into(),
            from: None,
            sender: None,
            to: Vec::new(),
            cc: Vec::new(),
            bcc: Vec::new(),
            reply_to: Vec::new(),
            categories: Vec::new(),
            flag: serde_json::json!({"flagStatus": "notFlagged"}),
            headers: Vec::new(),
            internet_message_id: "<x@y>".into(),
            conversation_id: "c".into(),
            conversation_index: String::new(),
            delivery_receipt: None,
            read_receipt: false,
            unsubscribe_data: Vec::new(),
            unsubscribe_enabled: false,
            has_attachments: false,
        }
    }

    fn search(c: &Connection, text: &str) -> Vec<String> {
        let parsed = switchboard_odata::QueryOptions::parse(
            &format!("$search=\"{text}\""),
            &switchboard_odata::Limits::default(),
        )
        .unwrap();
        let q = MailQuery {
            filter: None,
            search: Some(MailSearch::Text(
                fts5_match(parsed.search.as_ref().unwrap()).unwrap(),
            )),
            order: Vec::new(),
            skip: 0,
            limit: 10,
            count: true,
        };
        list(c, "u", None, &q)
            .unwrap()
            .0
            .into_iter()
            .map(|m| m.subject.unwrap())
            .collect()
    }

    #[test]
    fn the_search_index_follows_every_write_and_is_used() {
        let mut c = Connection::open_in_memory().unwrap();
        crate::migrations::run(&mut c).unwrap();
        let a = record("Quarterly zeppelin", "numbers");
        write(
            &c,
            &MailWrite::Insert(vec![a.clone(), record("Lunch", "noon")]),
        )
        .unwrap();
        assert_eq!(search(&c, "zeppelin"), ["Quarterly zeppelin"]);
        let mut patch = serde_json::Map::new();
        patch.insert("subject".into(), serde_json::json!("Annual blimp"));
        let change = MailChange {
            patch,
            change_key: "k".into(),
            now_ms: 2,
            ..Default::default()
        };
        write(
            &c,
            &MailWrite::Change {
                user_id: "u".into(),
                id: a.id.clone(),
                change,
            },
        )
        .unwrap();
        assert!(search(&c, "zeppelin").is_empty());
        assert_eq!(search(&c, "blimp"), ["Annual blimp"]);
        let moved = message(&c, "u", &a.id).unwrap().unwrap();
        write(
            &c,
            &MailWrite::Delete {
                user_id: "u".into(),
                id: moved.id,
            },
        )
        .unwrap();
        assert!(search(&c, "blimp").is_empty());
        let indexed: i64 = c
            .query_row("SELECT count(*) FROM mail_search", [], |r| r.get(0))
            .unwrap();
        assert_eq!(indexed, 1);
        let plan: String = c
            .query_row(
                "EXPLAIN QUERY PLAN SELECT rowid FROM mail_search WHERE mail_search MATCH 'x'",
                [],
                |r| r.get::<_, String>(3),
            )
            .unwrap();
        assert!(plan.contains("VIRTUAL TABLE INDEX"), "{plan}");
    }

    /// Messages are indexed once per group commit (migration 0018), and exactly: what a group
    /// commits is searchable, a write rolled back to its savepoint leaves nothing to index, a
    /// message deleted in the group it was stored in leaves nothing behind, and nothing stays
    /// pending after a commit.
    #[tokio::test]
    async fn a_group_commit_indexes_what_it_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut c = Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
        crate::migrations::run(&mut c).unwrap();
        let writer =
            crate::writer::Writer::start_with(c, crate::writer::DEFAULT_MAX_GROUP, index_pending)
                .unwrap();
        let insert = |m: MailRecord| {
            writer.write(move |c| {
                write_encoded(c, &MailWrite::Insert(vec![m]), &Encodings::default())
            })
        };
        let refused = writer.write(|c| {
            write_encoded(
                c,
                &MailWrite::Insert(vec![record("Refused bravo", "b")]),
                &Encodings::default(),
            )?;
            Err::<(), _>(StoreError::Internal("refused after storing".into()))
        });
        let gone = record("Gone charlie", "c");
        let gone_id = gone.id.clone();
        let stored_then_deleted = writer.write(move |c| {
            write_encoded(c, &MailWrite::Insert(vec![gone]), &Encodings::default())?;
            write_encoded(
                c,
                &MailWrite::Delete {
                    user_id: "u".into(),
                    id: gone_id,
                },
                &Encodings::default(),
            )
        });
        let (a, b, d, e) = tokio::join!(
            insert(record("Quarterly zeppelin", "alpha")),
            refused,
            stored_then_deleted,
            insert(record("Lunch", "delta")),
        );
        a.unwrap();
        assert!(b.is_err());
        d.unwrap();
        e.unwrap();
        let reader = Connection::open(&path).unwrap();
        assert_eq!(search(&reader, "zeppelin"), ["Quarterly zeppelin"]);
        assert_eq!(search(&reader, "delta"), ["Lunch"]);
        assert!(search(&reader, "bravo").is_empty());
        assert!(search(&reader, "charlie").is_empty());
        let counts: (i64, i64, i64) = reader
            .query_row(
                "SELECT (SELECT count(*) FROM mail_messages), (SELECT count(*) FROM mail_search),
                    (SELECT count(*) FROM mail_search_pending)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(counts, (2, 2, 0));
    }

    #[test]
    fn a_delta_round_is_a_range_read_and_moves_leave_removals() {
        let mut c = Connection::open_in_memory().unwrap();
        crate::migrations::run(&mut c).unwrap();
        let a = record("a", "x");
        let b = record("b", "y");
        write(&c, &MailWrite::Insert(vec![a.clone(), b.clone()])).unwrap();
        let drafts = folder(&c, "u", "drafts").unwrap().unwrap().id;
        let archive = folder(&c, "u", "archive").unwrap().unwrap().id;
        let after = change_seq(&c, "u").unwrap();
        assert_eq!(after, 2);
        let change = MailChange {
            move_to: Some((archive.clone(), mail::new_message_id())),
            change_key: "k".into(),
            now_ms: 2,
            ..Default::default()
        };
        write(
            &c,
            &MailWrite::Change {
                user_id: "u".into(),
                id: a.id.clone(),
                change,
            },
        )
        .unwrap();
        let rows = delta_changes(&c, &drafts, after, &DeltaFilter::default(), 10).unwrap();
        assert!(
            matches!(&rows.rows[..], [(3, DeltaRow::Removed { id, immutable_id })] if *id == a.id && !immutable_id.is_empty()),
            "{rows:?}"
        );
        let moved = delta_changes(&c, &archive, after, &DeltaFilter::default(), 10).unwrap();
        assert!(
            matches!(&moved.rows[..], [(4, DeltaRow::Changed(m))] if m.subject.as_deref() == Some("a"))
        );
        for sql in [
            "EXPLAIN QUERY PLAN SELECT * FROM mail_messages AS m WHERE m.folder_id = 'f' AND m.change_seq > 1 ORDER BY m.change_seq",
            "EXPLAIN QUERY PLAN SELECT * FROM mail_removals WHERE folder_id = 'f' AND change_seq > 1 ORDER BY change_seq",
        ] {
            let plan: String = c.query_row(sql, [], |r| r.get::<_, String>(3)).unwrap();
            assert!(
                plan.contains("USING") && plan.contains("change_seq>?"),
                "{plan}"
            );
        }
    }

    #[test]
    fn a_folder_read_counts_through_indexes() {
        let mut c = Connection::open_in_memory().unwrap();
        crate::migrations::run(&mut c).unwrap();
        crate::configure(&c, true).unwrap();
        let read = record("read", "x");
        let mut unread = record("unread", "y");
        unread.is_read = false;
        write(&c, &MailWrite::Insert(vec![read, unread])).unwrap();
        let drafts = folder(&c, "u", "drafts").unwrap().unwrap();
        assert_eq!(
            (drafts.total_item_count, drafts.unread_item_count),
            (2, 1),
            "{drafts:?}"
        );
        let counts = |c: &Connection| {
            let f = folder(c, "u", "drafts").unwrap().unwrap();
            (f.total_item_count, f.unread_item_count)
        };
        let archive = folder(&c, "u", "archive").unwrap().unwrap().id;
        c.execute(
            "UPDATE mail_messages SET folder_id = ?1 WHERE subject = 'unread'",
            params![archive],
        )
        .unwrap();
        assert_eq!(counts(&c), (1, 0));
        let moved = folder(&c, "u", "archive").unwrap().unwrap();
        assert_eq!((moved.total_item_count, moved.unread_item_count), (1, 1));
        c.execute(
            "UPDATE mail_messages SET folder_id = ?1, is_read = 0 WHERE subject = 'read'",
            params![drafts.id],
        )
        .unwrap();
        assert_eq!(counts(&c), (1, 1));
        c.execute("DELETE FROM mail_messages WHERE subject = 'read'", [])
            .unwrap();
        assert_eq!(counts(&c), (0, 0));
        // A draft, a send and a message list read their folder first: its counts must not
        // scan other mailboxes' folders or look up every message of the folder in the table.
        let mut plan = c
            .prepare(&format!(
                "EXPLAIN QUERY PLAN SELECT {FOLDER_COLUMNS} FROM mail_folders AS f WHERE f.user_id = ?1 AND (f.id = ?2 OR f.well_known = lower(?2))"
            ))
            .unwrap();
        let steps: Vec<String> = plan
            .query_map(params!["u", "drafts"], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let searches: Vec<&String> = steps
            .iter()
            .filter(|s| s.contains("SEARCH m") || s.contains("SEARCH c"))
            .collect();
        assert_eq!(searches.len(), 1, "{steps:?}");
        assert!(
            searches.iter().all(|s| s.contains("COVERING INDEX")),
            "{steps:?}"
        );
        assert!(!steps.iter().any(|s| s.starts_with("SCAN")), "{steps:?}");
    }

    /// A writer and a reader connection on one WAL database, as the store has them.
    fn writer_and_reader() -> (tempfile::TempDir, Connection, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mail.db");
        let mut w = Connection::open(&path).unwrap();
        w.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
        crate::migrations::run(&mut w).unwrap();
        let r = Connection::open(&path).unwrap();
        (dir, w, r)
    }

    #[test]
    fn a_commit_between_the_two_delta_reads_is_not_skipped() {
        let (_dir, w, r) = writer_and_reader();
        let old = record("old", "x");
        write(&w, &MailWrite::Insert(vec![old.clone()])).unwrap();
        let drafts = folder(&w, "u", "drafts").unwrap().unwrap().id;
        let after = change_seq(&w, "u").unwrap();
        let arriving = record("arriving", "y");
        // A message arrives (S+1) and another leaves (S+2) after the changed rows were read
        // but before the removals are.
        let page = delta_changes_around(&r, &drafts, after, &DeltaFilter::default(), 10, || {
            write(&w, &MailWrite::Insert(vec![arriving.clone()])).unwrap();
            write(
                &w,
                &MailWrite::Delete {
                    user_id: "u".into(),
                    id: old.id.clone(),
                },
            )
            .unwrap();
        })
        .unwrap();
        let token = page.rows.last().map(|(seq, _)| *seq).unwrap_or(after);
        let next = delta_changes(&r, &drafts, token, &DeltaFilter::default(), 10).unwrap();
        let delivered = page
            .rows
            .iter()
            .chain(&next.rows)
            .any(|(_, row)| matches!(row, DeltaRow::Changed(m) if m.id == arriving.id));
        assert!(delivered, "{page:?} then {next:?}");

        let root = ensure_mailbox(&w, "t", "u", 0).unwrap();
        let after = change_seq(&w, "u").unwrap();
        let doomed = folder(&w, "u", "archive").unwrap().unwrap().id;
        let created = FolderRecord {
            id: mail::new_folder_id(),
            tenant_id: "t".into(),
            user_id: "u".into(),
            parent_id: Some(root),
            display_name: "New".into(),
            well_known: None,
            is_hidden: false,
            created_ms: 1,
            child_folder_count: 0,
            total_item_count: 0,
            unread_item_count: 0,
        };
        let page = folder_delta_changes_around(&r, "u", after, 10, || {
            insert_folder(&w, &created).unwrap();
            delete_folder(&w, "u", &doomed).unwrap();
        })
        .unwrap();
        let token = page.rows.last().map(|(seq, _)| *seq).unwrap_or(after);
        let next = folder_delta_changes(&r, "u", token, 10).unwrap();
        let delivered = page
            .rows
            .iter()
            .chain(&next.rows)
            .any(|(_, row)| matches!(row, FolderDeltaRow::Changed(f) if f.id == created.id));
        assert!(delivered, "{page:?} then {next:?}");
    }

    #[test]
    fn the_change_migration_backfills_numbers_and_immutable_ids_and_continues() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(include_str!("../migrations/0011_mail.sql"))
            .unwrap();
        ensure_mailbox(&c, "t", "u", 0).unwrap();
        ensure_mailbox(&c, "t", "v", 0).unwrap();
        for (user, id) in [("u", "m1"), ("v", "m2"), ("u", "m3")] {
            // The pre-0012 insert: no change number, no immutable id.
            c.execute(
                "INSERT INTO mail_messages (id, tenant_id, user_id, folder_id, change_key, created_ms, modified_ms, received_ms,
                    is_draft, is_read, body_type, body, body_text, importance, inference, recipients_text, flag_status,
                    categories, has_attachments, internet_message_id, conversation_id, doc)
                 SELECT ?2, 't', ?1, id, 'k', 0, 0, 0, 1, 1, 'text', '', '', 'normal', 'focused', '', 'notFlagged', '[]', 0, '<x@y>', 'c', '{}'
                 FROM mail_folders WHERE user_id = ?1 AND well_known = 'drafts'",
                params![user, id],
            )
            .unwrap();
        }
        c.execute_batch(include_str!("../migrations/0012_mail_changes.sql"))
            .unwrap();
        let rows: Vec<(String, String, i64, String)> = c
            .prepare("SELECT user_id, id, change_seq, immutable_id FROM mail_messages ORDER BY user_id, change_seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                ("u".into(), "m1".into(), 1, "m1".into()),
                ("u".into(), "m3".into(), 2, "m3".into()),
                ("v".into(), "m2".into(), 1, "m2".into()),
            ]
        );
        assert_eq!(change_seq(&c, "u").unwrap(), 2);
        assert_eq!(next_change_seq(&c, "u").unwrap(), 3);
        assert_eq!(message(&c, "u", "m3").unwrap().unwrap().immutable_id, "m3");
    }

    #[test]
    fn old_messages_get_fresh_immutable_ids_so_a_moved_ones_old_id_is_gone() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(include_str!("../migrations/0011_mail.sql"))
            .unwrap();
        ensure_mailbox(&c, "t", "u", 0).unwrap();
        for id in ["m1", "m2", "m3"] {
            c.execute(
                "INSERT INTO mail_messages (id, tenant_id, user_id, folder_id, change_key, created_ms, modified_ms, received_ms,
                    is_draft, is_read, body_type, body, body_text, importance, inference, recipients_text, flag_status,
                    categories, has_attachments, internet_message_id, conversation_id, doc)
                 SELECT ?1, 't', 'u', id, 'k', 0, 0, 0, 1, 1, 'text', '', '', 'normal', 'focused', '', 'notFlagged', '[]', 0, '<x@y>', 'c', '{}'
                 FROM mail_folders WHERE user_id = 'u' AND well_known = 'drafts'",
                params![id],
            )
            .unwrap();
        }
        c.execute_batch(include_str!("../migrations/0012_mail_changes.sql"))
            .unwrap();
        c.execute_batch(include_str!("../migrations/0013_mail_attachments.sql"))
            .unwrap();
        // The folder reads below are today's, which read the counts 0016 keeps (0015 touches no
        // folder and no counted column).
        c.execute_batch(include_str!("../migrations/0016_mail_folder_counts.sql"))
            .unwrap();
        // And `write` indexes through 0018's pending table (0015 touches no indexed column).
        c.execute_batch(include_str!(
            "../migrations/0018_mail_search_once_per_commit.sql"
        ))
        .unwrap();
        c.execute(
            "INSERT INTO mail_attachments (id, user_id, message_key, name, content_type, size, is_inline, modified_ms, content)
             VALUES ('a1', 'u', 'm1', 'a.txt', 'text/plain', 1, 0, 0, x'61')",
            [],
        )
        .unwrap();
        // m2 moves (new id, same immutable id); a message made since has a fresh one already.
        let archive = folder(&c, "u", "archive").unwrap().unwrap().id;
        let moved_to = mail::new_message_id();
        let change = MailChange {
            move_to: Some((archive, moved_to.clone())),
            change_key: "k".into(),
            now_ms: 2,
            ..Default::default()
        };
        write(
            &c,
            &MailWrite::Change {
                user_id: "u".into(),
                id: "m2".into(),
                change,
            },
        )
        .unwrap();
        let recent = write(&c, &MailWrite::Insert(vec![record("new", "x")])).unwrap();
        let MailOutcome::Done(Some(recent)) = recent else {
            panic!("{recent:?}");
        };
        assert_eq!(message(&c, "u", "m2").unwrap().unwrap().id, moved_to);

        c.execute_batch(include_str!(
            "../migrations/0015_mail_fresh_immutable_ids.sql"
        ))
        .unwrap();
        assert!(message(&c, "u", "m2").unwrap().is_none());
        let mut fresh = Vec::new();
        for id in ["m1", &moved_to, "m3"] {
            let m = message(&c, "u", id).unwrap().unwrap();
            assert_ne!(m.immutable_id, m.id);
            assert!(m.immutable_id.starts_with("AAMkA"), "{}", m.immutable_id);
            assert_eq!(m.immutable_id.len(), mail::new_message_id().len());
            assert!(
                m.immutable_id[5..]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            fresh.push(m.immutable_id);
        }
        fresh.sort();
        fresh.dedup();
        assert_eq!(fresh.len(), 3);
        let m1 = message(&c, "u", "m1").unwrap().unwrap();
        assert_eq!(attachments(&c, "u", &m1.immutable_id).unwrap().len(), 1);
        assert_eq!(
            message(&c, "u", &recent.id).unwrap().unwrap().immutable_id,
            recent.immutable_id
        );
    }
}
