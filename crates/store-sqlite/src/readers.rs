//! The read side: a few read-only connections, each query (and its row mapping) run on a
//! blocking thread so the async workers never wait on SQLite. WAL lets them read while the
//! writer commits.

use std::sync::Mutex;

use rusqlite::Connection;
use switchboard_domain::StoreError;
use tokio::sync::Semaphore;

/// A fixed pool of read-only connections.
pub struct Readers {
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl Readers {
    /// A pool over the given connections.
    pub fn new(conns: Vec<Connection>) -> Readers {
        let n = conns.len();
        Readers {
            idle: Mutex::new(conns),
            permits: Semaphore::new(n),
        }
    }

    /// Runs `f` on an idle connection, on a blocking thread.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Unavailable("the store is shutting down".into()))?;
        let conn = self
            .idle
            .lock()
            .map_err(|_| StoreError::Internal("reader pool poisoned".into()))?
            .pop()
            .ok_or_else(|| StoreError::Internal("no idle reader despite a permit".into()))?;
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let result = f(&conn);
            (conn, result)
        })
        .await
        .map_err(|_| StoreError::Internal("a read panicked".into()))?;
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
        result
    }
}
