//! Benchmark seeding: bulk writes through the same SQL as the live path, in large transactions.

use switchboard_domain::StoreError;
use switchboard_domain::chat_messages::NewMessage;

use crate::{SqliteStore, chat_messages};

impl SqliteStore {
    /// Stores `messages` in one durable transaction through the insert that sending uses (id
    /// allocation, change sequence, the chat's preview). For seeding benchmark data directories
    /// (`switchboard bench-seed`); not part of the store contract.
    pub async fn seed_messages(&self, messages: Vec<NewMessage>) -> Result<usize, StoreError> {
        self.writer
            .write(move |c| {
                for m in &messages {
                    chat_messages::insert(c, m)?;
                }
                Ok(messages.len())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, StatementStatus};

    /// The membership lookup before every send stays prepared: written as a join, SQLite
    /// re-prepared it on every execution (about a tenth of the server's CPU under send load).
    #[test]
    fn the_membership_lookup_is_not_reprepared() {
        let mut c = Connection::open_in_memory().unwrap();
        crate::migrations::run(&mut c).unwrap();
        for i in 0..5 {
            assert!(
                crate::chats::member(&c, &format!("c{i}"), &format!("u{i}"))
                    .unwrap()
                    .is_none()
            );
        }
        let s = c.prepare_cached(&crate::chats::member_sql()).unwrap();
        assert_eq!(s.get_status(StatementStatus::RePrepare), 0);
    }

    /// A list page (ORDER BY with bound parameters) stays prepared on a store connection:
    /// without the planner stability guarantee SQLite 3.54 expired it whenever rusqlite cleared
    /// its bindings, and parsed it again on every page (about a tenth of a list's CPU).
    #[test]
    fn an_ordered_page_is_not_reprepared() {
        let mut c = Connection::open_in_memory().unwrap();
        crate::migrations::run(&mut c).unwrap();
        crate::configure(&c, true).unwrap();
        let sql = "SELECT m.id FROM chat_messages AS m WHERE m.chat_id = ?1 AND +m.id >= ?2 ORDER BY m.id DESC LIMIT ?3";
        for i in 0..5i64 {
            let mut s = c.prepare_cached(sql).unwrap();
            let mut rows = s
                .query(rusqlite::params![format!("c{i}"), i, 50 + i])
                .unwrap();
            assert!(rows.next().unwrap().is_none());
        }
        let s = c.prepare_cached(sql).unwrap();
        assert_eq!(s.get_status(StatementStatus::RePrepare), 0);
    }
}
