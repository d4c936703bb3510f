//! The single writer: one OS thread owns the only read-write connection and commits concurrent
//! writes together. It blocks for the first queued write, takes every other write already queued
//! (up to a cap), runs each inside its own savepoint within one `BEGIN IMMEDIATE` transaction,
//! commits once (one fsync for the whole group), and only then answers each caller.
//!
//! Why: with `synchronous=FULL` a commit costs an fsync, so one commit per write caps throughput
//! at the disk's fsync rate. Grouping keeps every acknowledged write durable while throughput
//! grows with concurrency. A failing write rolls back to its savepoint and fails alone.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use switchboard_domain::StoreError;
use tokio::sync::{mpsc, oneshot};

use crate::internal;

/// Writes taken into one transaction at most, by default; bounds the latency one group adds.
pub const DEFAULT_MAX_GROUP: usize = 512;
/// Writes that may wait in the queue before callers are made to wait for room.
const QUEUE: usize = 4096;

/// Called after the group's commit with its outcome.
type Finish = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// A queued write: `op` runs against the connection inside a savepoint and says whether it
/// succeeded (so its savepoint is kept or rolled back); `finish` answers the caller after the
/// group's commit, whether or not `op` ever ran.
struct Job {
    op: Box<dyn FnOnce(&Connection) -> bool + Send>,
    finish: Finish,
}

/// Commit counters shared with the store.
#[derive(Debug, Default)]
pub struct Counters {
    /// Transactions committed.
    pub commits: AtomicU64,
    /// Writes acknowledged.
    pub writes: AtomicU64,
}

/// A handle to the writer thread. The thread ends when the handle is dropped.
pub struct Writer {
    queue: mpsc::Sender<Job>,
    closed: AtomicBool,
    /// Commit counters.
    pub counters: Arc<Counters>,
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub fn start(conn: Connection, max_group: usize) -> Result<Writer, StoreError> {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let counters = Arc::new(Counters::default());
        let thread_counters = counters.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, jobs, max_group.max(1), &thread_counters))
            .map_err(|e| StoreError::Internal(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer { queue, closed: AtomicBool::new(false), counters })
    }

    /// Runs `op` in the next group; returns its result once the group is committed.
    pub async fn write<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable("the store is shutting down".into()));
        }
        let (reply, answer) = oneshot::channel();
        let slot = Arc::new(Mutex::new(None));
        let op_slot = slot.clone();
        let job = Job {
            op: Box::new(move |conn| {
                let result = catch_unwind(AssertUnwindSafe(|| op(conn)))
                    .unwrap_or_else(|_| Err(StoreError::Internal("a write panicked".into())));
                let ok = result.is_ok();
                if let Ok(mut s) = op_slot.lock() {
                    *s = Some(result);
                }
                ok
            }),
            finish: Box::new(move |commit| {
                let result = slot.lock().ok().and_then(|mut s| s.take());
                let answer = match (commit, result) {
                    (Err(e), _) => Err(e),
                    (Ok(()), Some(result)) => result,
                    (Ok(()), None) => Err(StoreError::Internal("the write did not run".into())),
                };
                let _ = reply.send(answer);
            }),
        };
        self.queue
            .send(job)
            .await
            .map_err(|_| StoreError::Unavailable("the store is shutting down".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Internal("the writer stopped before answering".into()))?
    }

    /// Refuses new writes and returns once every write queued before is committed.
    pub async fn shutdown(&self) {
        // The barrier goes through the queue like any write: once it is answered, everything
        // queued before it has been committed and answered.
        let _ = self.write(|_| Ok(())).await;
        self.closed.store(true, Ordering::Release);
    }
}

fn run(conn: Connection, mut jobs: mpsc::Receiver<Job>, max_group: usize, counters: &Counters) {
    while let Some(first) = jobs.blocking_recv() {
        let mut group = Vec::with_capacity(64);
        group.push(first);
        while group.len() < max_group {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let n = group.len() as u64;
        let mut finishes = Vec::with_capacity(group.len());
        let mut ops = Vec::with_capacity(group.len());
        for job in group {
            finishes.push(job.finish);
            ops.push(job.op);
        }
        let outcome = commit_group(&conn, ops);
        if outcome.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        } else {
            counters.commits.fetch_add(1, Ordering::Relaxed);
            counters.writes.fetch_add(n, Ordering::Relaxed);
        }
        for finish in finishes {
            finish(outcome.clone());
        }
    }
}

fn commit_group(conn: &Connection, ops: Vec<Box<dyn FnOnce(&Connection) -> bool + Send>>) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(internal)?;
    for op in ops {
        conn.execute_batch("SAVEPOINT op").map_err(internal)?;
        if !op(conn) {
            conn.execute_batch("ROLLBACK TO op").map_err(internal)?;
        }
        conn.execute_batch("RELEASE op").map_err(internal)?;
    }
    conn.execute_batch("COMMIT").map_err(internal)
}
