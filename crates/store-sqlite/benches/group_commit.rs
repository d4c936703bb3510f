//! Durable writes per second through the SQLite store (WAL, each acknowledged commit fsync'd),
//! with group commit against one commit per write, at 1, 16 and 64 concurrent writers. Prints
//! figures; asserts nothing (the machine is shared and noisy). Run:
//! `cargo bench -p switchboard-store-sqlite`.
//! `SWITCHBOARD_BENCH_SECS` sets the seconds per case (default 3).

use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard_domain::Store;
use switchboard_domain::tenants::{Application, Tenant};
use switchboard_domain::users::UserRecord;
use switchboard_store_sqlite::{SqliteOptions, SqliteStore};

fn user(tenant: &str, n: u64, writer: usize) -> UserRecord {
    UserRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant.to_string(),
        display_name: format!("Bench {writer} {n}"),
        user_principal_name: format!("b{writer}n{n}@bench.example"),
        mail: None,
        given_name: None,
        surname: None,
        job_title: None,
        business_phones: Vec::new(),
        mobile_phone: None,
        office_location: None,
        preferred_language: None,
        account_enabled: true,
        mail_nickname: format!("b{writer}n{n}"),
        password_hash: None,
        force_change_password: false,
        created_ms: 0,
    }
}

async fn case(max_group: usize, writers: usize, secs: u64) -> (f64, f64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(
        SqliteStore::open(
            &dir.path().join("bench.db"),
            &SqliteOptions {
                readers: 1,
                max_group,
            },
        )
        .expect("open"),
    );
    let tenant = Tenant {
        id: "t".into(),
        display_name: "T".into(),
        domain: "bench.example".into(),
        created_ms: 0,
    };
    let app = Application {
        tenant_id: "t".into(),
        client_id: "c".into(),
        object_id: "o".into(),
        display_name: "bench".into(),
        secrets: vec![],
        app_roles: vec![],
        delegated_scopes: vec![],
        redirect_uris: vec![],
        spa_redirect_uris: vec![],
        public_client_redirect_uris: vec![],
        created_ms: 0,
    };
    store.create_tenant(&tenant, &app).await.expect("tenant");
    let before = store.stats();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                store.insert_user(&user("t", n, w)).await.expect("write");
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("writer");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let after = store.stats();
    let per_commit =
        (after.writes - before.writes) as f64 / (after.commits - before.commits).max(1) as f64;
    (total as f64 / elapsed, per_commit)
}

fn main() {
    let secs: u64 = std::env::var("SWITCHBOARD_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!("durable writes/s through the SQLite store (WAL, fsync'd commits), {secs} s per case");
    println!(
        "{:>8} {:>22} {:>10} {:>22}",
        "writers", "one commit per write", "", "group commit"
    );
    for writers in [1, 16, 64] {
        let (single, _) = runtime.block_on(case(1, writers, secs));
        let (grouped, per_commit) = runtime.block_on(case(
            switchboard_store_sqlite::DEFAULT_MAX_GROUP,
            writers,
            secs,
        ));
        println!(
            "{writers:>8} {single:>18.0} w/s {:>10} {grouped:>14.0} w/s ({per_commit:.1} writes/commit, {:.1}x)",
            "",
            grouped / single.max(1.0)
        );
    }
}
