//! Versioned schema migrations: plain SQL files embedded in the binary, applied in order at start,
//! each in its own transaction, with a checksum so an edited migration is caught.

use rusqlite::{Connection, params};
use switchboard_domain::StoreError;

use crate::internal;

/// Every migration, in order. Never edit one that has shipped; add the next instead.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (2, "grants", include_str!("../migrations/0002_grants.sql")),
    (3, "chats", include_str!("../migrations/0003_chats.sql")),
    (
        4,
        "chat_message_changes",
        include_str!("../migrations/0004_chat_message_changes.sql"),
    ),
    (
        5,
        "users_display_name_nocase",
        include_str!("../migrations/0005_users_display_name_nocase.sql"),
    ),
    (
        6,
        "teams_apps",
        include_str!("../migrations/0006_teams_apps.sql"),
    ),
    (
        10,
        "application_platforms",
        include_str!("../migrations/0010_application_platforms.sql"),
    ),
    (11, "mail", include_str!("../migrations/0011_mail.sql")),
    (
        12,
        "mail_changes",
        include_str!("../migrations/0012_mail_changes.sql"),
    ),
    (
        13,
        "mail_attachments",
        include_str!("../migrations/0013_mail_attachments.sql"),
    ),
    (
        15,
        "mail_fresh_immutable_ids",
        include_str!("../migrations/0015_mail_fresh_immutable_ids.sql"),
    ),
    (
        16,
        "mail_folder_counts",
        include_str!("../migrations/0016_mail_folder_counts.sql"),
    ),
    (
        17,
        "chat_members_hidden",
        include_str!("../migrations/0017_chat_members_hidden.sql"),
    ),
    (
        18,
        "mail_search_once_per_commit",
        include_str!("../migrations/0018_mail_search_once_per_commit.sql"),
    ),
    (
        20,
        "chat_messages_page_index",
        include_str!("../migrations/0020_chat_messages_page_index.sql"),
    ),
];

/// FNV-1a: enough to notice an edited file, which is all the checksum is for.
fn checksum(sql: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in sql.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Brings the database up to the newest schema this binary knows.
pub fn run(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_ms INTEGER NOT NULL
        ) STRICT;",
    )
    .map_err(internal)?;
    let applied: Vec<(i64, String)> = {
        let mut stmt = conn
            .prepare("SELECT version, checksum FROM schema_migrations ORDER BY version")
            .map_err(internal)?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(internal)?
            .collect::<Result<_, _>>()
            .map_err(internal)?
    };
    // The highest version, wherever it sits in the list (versions are reserved per feature).
    let newest_known = MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0);
    for (version, sum) in &applied {
        if *version > newest_known {
            return Err(StoreError::Internal(format!(
                "the database has schema version {version}, newer than this binary knows ({newest_known}); refusing to start"
            )));
        }
        let known = MIGRATIONS.iter().find(|m| m.0 == *version);
        if let Some((_, name, sql)) = known
            && checksum(sql) != *sum
        {
            return Err(StoreError::Internal(format!(
                "migration {version} ({name}) differs from the one applied to this database"
            )));
        }
    }
    for (version, name, sql) in MIGRATIONS {
        if applied.iter().any(|(v, _)| v == version) {
            continue;
        }
        let tx = conn.transaction().map_err(internal)?;
        tx.execute_batch(sql).map_err(internal)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_ms) VALUES (?1, ?2, ?3, ?4)",
            params![version, name, checksum(sql), switchboard_domain::graph_time::now_ms()],
        )
        .map_err(internal)?;
        tx.commit().map_err(internal)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_once_and_detects_edits() {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn).unwrap();
        run(&mut conn).unwrap();
        conn.execute(
            "UPDATE schema_migrations SET checksum = 'x' WHERE version = 1",
            [],
        )
        .unwrap();
        assert!(run(&mut conn).is_err());
        conn.execute(
            "INSERT INTO schema_migrations VALUES (999, 'future', 'x', 0)",
            [],
        )
        .unwrap();
        assert!(run(&mut conn).is_err());
    }
}
