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
            let result = in_one_snapshot(&conn, f);
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

/// Runs `f` inside one read transaction: all its statements see the same snapshot, and the
/// connection starts a read transaction once instead of once per statement (after another
/// connection's commit, each start makes SQLite drop its page cache and re-map the file, which
/// under write load cost more than the lookups themselves).
fn in_one_snapshot<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let control = |sql: &str| {
        conn.prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map(|_| ())
            .map_err(crate::internal)
    };
    control("BEGIN")?;
    let result = f(conn);
    if control("COMMIT").is_err() || !conn.is_autocommit() {
        // Never hand the connection back inside a transaction: it would pin its snapshot.
        let _ = conn.execute_batch("ROLLBACK");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A read sees one snapshot, and leaves its connection outside any transaction, also when
    /// it fails.
    #[tokio::test]
    async fn a_read_is_one_snapshot_and_ends_its_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1);",
            )
            .unwrap();
        let readers = Readers::new(vec![Connection::open(&path).unwrap()]);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let read = readers.read(move |c| {
            let before: i64 = c
                .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .map_err(crate::internal)?;
            done_tx.send(()).unwrap();
            rx.recv().unwrap();
            let after: i64 = c
                .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .map_err(crate::internal)?;
            Ok((before, after))
        });
        let write = async {
            tokio::task::spawn_blocking(move || {
                done_rx.recv().unwrap();
                writer.execute("INSERT INTO t VALUES (2)", []).unwrap();
                tx.send(()).unwrap();
            })
            .await
            .unwrap();
        };
        let (seen, ()) = tokio::join!(read, write);
        assert_eq!(
            seen.unwrap(),
            (1, 1),
            "the second statement saw the same snapshot"
        );
        let failed: Result<(), _> = readers
            .read(|_| Err(StoreError::Internal("no".into())))
            .await;
        assert!(failed.is_err());
        let now: i64 = readers
            .read(|c| {
                assert!(!c.is_autocommit(), "inside the read's transaction");
                c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                    .map_err(crate::internal)
            })
            .await
            .unwrap();
        assert_eq!(now, 2);
    }
}
