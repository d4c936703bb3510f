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
