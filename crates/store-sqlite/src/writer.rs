//! The single writer: one OS thread owns the only read-write connection and commits concurrent
//! writes together. It blocks for the first queued write, takes every other write already queued
//! (up to a cap), runs each inside its own savepoint (but the few that cannot fail on a client's
//! input, see [`Writer::write_unguarded`]) within one `BEGIN IMMEDIATE` transaction, commits
//! once (with `synchronous=FULL` the commit returns once the log is fsync'd), and hands the group
//! to the answering thread, which wakes each caller.
//!
//! Why: with `synchronous=FULL` a commit costs an fsync, so one commit per write caps throughput
//! at the disk's fsync rate. Grouping keeps every acknowledged write durable while throughput
//! grows with concurrency. A failing write rolls back to its savepoint and fails alone.
//!
//! Why the callers are woken on another thread: the writer is serial, and waking a caller
//! (a futex and a scheduler call per write) was about 7 % of its time.
//!
//! Tried and left out (BENCHMARKS.md, round 4): committing with `synchronous=NORMAL` and
//! fsyncing the log on a second thread, so the writer goes on with the next group during the
//! fsync. Callers still heard of their write only once it was on disk, but every other
//! connection could read it before: a power loss in that window would lose a message someone had
//! already read, and its change sequence number would be handed out again after the restart, so
//! a delta token past it would skip the next message. No clear gain showed in alternated runs.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rusqlite::Connection;
use switchboard_domain::StoreError;
use tokio::sync::{mpsc, oneshot};

use crate::internal;

/// Writes taken into one transaction at most, by default; bounds the latency one group adds.
pub const DEFAULT_MAX_GROUP: usize = 512;
/// Writes that may wait in the queue before callers are made to wait for room.
const QUEUE: usize = 4096;

/// Runs after the group's writes, before its COMMIT, in the same transaction (a failure fails
/// the group): work that is cheaper done once per commit than once per write.
pub type BeforeCommit = fn(&Connection) -> Result<(), StoreError>;

/// Called after the group's commit with its outcome.
type Finish = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// A queued write: `op` runs against the connection (`Some`) inside a savepoint (unless
/// `savepoint` is false, see [`Writer::write_unguarded`]), or learns that it never ran (`None`,
/// when the group failed before reaching it); it says whether it succeeded (so its savepoint is
/// kept or rolled back) and returns the [`Finish`] that answers the caller after the group's
/// commit. The result travels inside that closure: no shared slot, no lock.
struct Job {
    op: JobOp,
    savepoint: bool,
}

type JobOp = Box<dyn FnOnce(Option<&Connection>) -> (bool, Finish) + Send>;

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
    /// Starts the writer and answering threads on `conn`.
    #[cfg(test)]
    pub fn start(conn: Connection, max_group: usize) -> Result<Writer, StoreError> {
        Writer::start_with(conn, max_group, |_| Ok(()))
    }

    /// [`Writer::start`], running `before_commit` in every group.
    pub fn start_with(
        conn: Connection,
        max_group: usize,
        before_commit: BeforeCommit,
    ) -> Result<Writer, StoreError> {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let (committed, to_answer) = std::sync::mpsc::channel();
        let counters = Arc::new(Counters::default());
        let thread_counters = counters.clone();
        std::thread::Builder::new()
            .name("sqlite-answers".into())
            .spawn(move || answer(to_answer))
            .map_err(|e| StoreError::Internal(format!("cannot start the answering thread: {e}")))?;
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                run(
                    conn,
                    jobs,
                    max_group.max(1),
                    before_commit,
                    &thread_counters,
                    &committed,
                )
            })
            .map_err(|e| StoreError::Internal(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer {
            queue,
            closed: AtomicBool::new(false),
            counters,
        })
    }

    /// Runs `op` in the next group, inside a savepoint of its own: if it fails, what it wrote is
    /// rolled back and the rest of the group commits. Returns its result once the group is
    /// committed and on disk.
    pub async fn write<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.queue_write(op, true).await
    }

    /// [`Writer::write`] without the savepoint, for writes that fail only when the database or
    /// the disk is broken, never because of what a client sent. In WAL mode a savepoint copies
    /// every page the write touches before changing it (the sub-journal: about a tenth of the
    /// writer's time per message send, with the SAVEPOINT and RELEASE statements). Should such
    /// a write fail anyway, nothing of the group is committed: the write gets its own error and
    /// every other write of the group [`StoreError::Unavailable`].
    pub async fn write_unguarded<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.queue_write(op, false).await
    }

    async fn queue_write<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        savepoint: bool,
    ) -> Result<T, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable("the store is shutting down".into()));
        }
        let (reply, answer) = oneshot::channel();
        let job = Job {
            op: Box::new(move |conn| {
                let result = conn.map(|conn| {
                    catch_unwind(AssertUnwindSafe(|| op(conn)))
                        .unwrap_or_else(|_| Err(StoreError::Internal("a write panicked".into())))
                });
                let ok = matches!(result, Some(Ok(_)));
                let finish: Finish = Box::new(move |commit| {
                    // A write that failed reports its own error, whatever became of the group.
                    let answer = match (commit, result) {
                        (Ok(()), Some(result)) => result,
                        (_, Some(Err(own))) => Err(own),
                        (Err(e), _) => Err(e),
                        (Ok(()), None) => Err(StoreError::Internal("the write did not run".into())),
                    };
                    let _ = reply.send(answer);
                });
                (ok, finish)
            }),
            savepoint,
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

/// A committed (or failed) group on its way to the answering thread.
struct Committed {
    outcome: Result<(), StoreError>,
    finishes: Vec<Finish>,
}

fn run(
    conn: Connection,
    mut jobs: mpsc::Receiver<Job>,
    max_group: usize,
    before_commit: BeforeCommit,
    counters: &Counters,
    committed: &std::sync::mpsc::Sender<Committed>,
) {
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
        let outcome = commit_group(&conn, group, before_commit, &mut finishes);
        if outcome.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        } else {
            counters.commits.fetch_add(1, Ordering::Relaxed);
            counters.writes.fetch_add(n, Ordering::Relaxed);
        }
        // Only fails once the answering thread is gone, which it never is before the writer.
        let _ = committed.send(Committed { outcome, finishes });
    }
}

/// The answering thread: tells each caller of a group its outcome, group after group.
fn answer(groups: std::sync::mpsc::Receiver<Committed>) {
    while let Ok(group) = groups.recv() {
        for finish in group.finishes {
            finish(group.outcome.clone());
        }
    }
}

/// Runs one transaction control statement, prepared once and cached (`execute_batch` would
/// parse it again for every write).
fn control(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .map(|_| ())
        .map_err(internal)
}

/// Runs the group in one transaction, each write in its own savepoint (but unguarded ones);
/// every job's [`Finish`] lands in `finishes`, also for jobs that never ran because the group
/// failed first.
fn commit_group(
    conn: &Connection,
    group: Vec<Job>,
    before_commit: BeforeCommit,
    finishes: &mut Vec<Finish>,
) -> Result<(), StoreError> {
    let mut jobs = group.into_iter();
    let mut run = || -> Result<(), StoreError> {
        control(conn, "BEGIN IMMEDIATE")?;
        for job in jobs.by_ref() {
            if !job.savepoint {
                let (ok, finish) = (job.op)(Some(conn));
                finishes.push(finish);
                if !ok {
                    return Err(StoreError::Unavailable(
                        "another write committed with this one failed; try again".into(),
                    ));
                }
                continue;
            }
            if let Err(e) = control(conn, "SAVEPOINT op") {
                finishes.push((job.op)(None).1);
                return Err(e);
            }
            let (ok, finish) = (job.op)(Some(conn));
            finishes.push(finish);
            if !ok {
                control(conn, "ROLLBACK TO op")?;
            }
            control(conn, "RELEASE op")?;
        }
        before_commit(conn)?;
        control(conn, "COMMIT")
    };
    let outcome = run();
    for job in jobs {
        finishes.push((job.op)(None).1);
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Queues a write that holds the writer thread inside its transaction until `release` is
    /// sent; returns once the writer is held, so what is queued next waits for the same group.
    async fn hold_the_writer(
        writer: &Arc<Writer>,
    ) -> (
        std::sync::mpsc::Sender<()>,
        tokio::task::JoinHandle<Result<(), StoreError>>,
    ) {
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let (started, running) = oneshot::channel::<()>();
        let writer = writer.clone();
        let blocker = tokio::spawn(async move {
            writer
                .write(move |_| {
                    let _ = started.send(());
                    hold.recv()
                        .map_err(|_| StoreError::Internal("released".into()))
                })
                .await
        });
        running.await.unwrap();
        (release, blocker)
    }

    /// Inserts `v` into the test table `t`, as a write of its own.
    async fn insert(writer: &Writer, v: i64) -> Result<(), StoreError> {
        writer
            .write(move |c| {
                c.execute("INSERT INTO t VALUES (?1)", [v])
                    .map(|_| ())
                    .map_err(internal)
            })
            .await
    }

    /// [`insert`], queued from a task of its own.
    fn spawn_insert(
        writer: &Arc<Writer>,
        v: i64,
    ) -> tokio::task::JoinHandle<Result<(), StoreError>> {
        let writer = writer.clone();
        tokio::spawn(async move { insert(&writer, v).await })
    }

    /// The rows of the test table `t`, read through the writer.
    async fn rows(writer: &Writer) -> i64 {
        writer
            .write(|c| {
                c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                    .map_err(internal)
            })
            .await
            .unwrap()
    }

    /// The design guard: writes that queue while a commit is in progress are committed together,
    /// so 64 concurrent writes take a handful of transactions, not 64. Deterministic: the first
    /// write holds the writer until all 64 are queued.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_writes_share_one_commit() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE t (v INTEGER);",
        )
        .unwrap();
        let writer = Arc::new(Writer::start(conn, DEFAULT_MAX_GROUP).unwrap());
        let (release, blocker) = hold_the_writer(&writer).await;
        let mut writes = Vec::new();
        for i in 0..64 {
            writes.push(spawn_insert(&writer, i));
        }
        while writer.queue.capacity() > QUEUE - 64 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        release.send(()).unwrap();
        blocker.await.unwrap().unwrap();
        for w in writes {
            w.await.unwrap().unwrap();
        }
        let commits = writer.counters.commits.load(Ordering::Relaxed);
        assert_eq!(writer.counters.writes.load(Ordering::Relaxed), 65);
        assert!(commits <= 2, "65 writes took {commits} commits");
    }

    /// A failing write rolls back alone; its neighbours in the group commit.
    #[tokio::test]
    async fn a_failing_write_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER UNIQUE);")
            .unwrap();
        let writer = Writer::start(conn, DEFAULT_MAX_GROUP).unwrap();
        let (a, b, c) = tokio::join!(insert(&writer, 1), insert(&writer, 1), insert(&writer, 2));
        assert!(a.is_ok());
        assert!(matches!(b, Err(StoreError::Conflict(_))), "{b:?}");
        assert!(c.is_ok());
        let half_written = writer.write(|c| {
            c.execute("INSERT INTO t VALUES (3)", [])
                .map_err(internal)?;
            c.execute("INSERT INTO t VALUES (1)", []).map_err(internal)
        });
        assert!(half_written.await.is_err());
        let count = rows(&writer).await;
        assert_eq!(count, 2, "the failed write left nothing behind");
    }

    /// An unguarded write that fails anyway takes its whole group down: it gets its own error,
    /// the others `Unavailable`, and nothing of the group is committed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_unguarded_write_fails_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER UNIQUE);")
            .unwrap();
        let writer = Arc::new(Writer::start(conn, DEFAULT_MAX_GROUP).unwrap());
        let (release, blocker) = hold_the_writer(&writer).await;
        let (a, b) = (spawn_insert(&writer, 1), spawn_insert(&writer, 2));
        let unguarded = {
            let writer = writer.clone();
            tokio::spawn(async move {
                writer
                    .write_unguarded(|c| {
                        c.execute("INSERT INTO t VALUES (3)", [])
                            .map_err(internal)?;
                        c.execute("INSERT INTO t VALUES (3)", []).map_err(internal)
                    })
                    .await
            })
        };
        while writer.queue.capacity() > QUEUE - 3 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        release.send(()).unwrap();
        blocker.await.unwrap().unwrap();
        let own = unguarded.await.unwrap();
        assert!(matches!(own, Err(StoreError::Conflict(_))), "{own:?}");
        for other in [a.await.unwrap(), b.await.unwrap()] {
            assert!(
                matches!(other, Err(StoreError::Unavailable(_))),
                "{other:?}"
            );
        }
        let count = rows(&writer).await;
        assert_eq!(count, 0, "nothing of the failed group was committed");
    }
}
