//! Durability: an acknowledged write survives SIGKILL; SIGTERM drains and exits cleanly; and
//! concurrent writes share commits (group commit), so durability does not cost one fsync each.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::harness::*;

/// The real binary, on a data directory, on a free port.
struct Process {
    child: Child,
    base: String,
}

fn spawn(data_dir: &std::path::Path) -> Process {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("SWITCHBOARD_HASH_MEMORY_KIB", "64")
        .env("SWITCHBOARD_HASH_ITERATIONS", "1")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn switchboard");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("server printed its address")
            .expect("read line");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Process { child, base }
}

async fn token_for(base: &str, data_dir: &std::path::Path) -> (String, String) {
    let creds: Value = serde_json::from_str(
        &std::fs::read_to_string(data_dir.join("admin-credentials.json")).unwrap(),
    )
    .unwrap();
    let client = reqwest::Client::new();
    let tid = creds["tenantId"].as_str().unwrap();
    let r: Value = client
        .post(format!("{base}/{tid}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", creds["clientId"].as_str().unwrap()),
            ("client_secret", creds["clientSecret"].as_str().unwrap()),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        r["access_token"].as_str().unwrap().to_string(),
        creds["domain"].as_str().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut process = spawn(dir.path());
    let base = process.base.clone();
    let (token, domain) = token_for(&base, dir.path()).await;
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::new();
    let mut writers = Vec::new();
    for w in 0..32 {
        let (client, base, token, domain, acknowledged, stop) = (
            client.clone(),
            base.clone(),
            token.clone(),
            domain.clone(),
            acknowledged.clone(),
            stop.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let alias = format!("w{w}n{i}");
                i += 1;
                let sent = client
                    .post(format!("{base}/v1.0/users"))
                    .bearer_auth(&token)
                    .json(&user_body(&alias, &alias, &domain))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == StatusCode::CREATED => {
                        acknowledged.lock().await.push(format!("{alias}@{domain}"))
                    }
                    // The server died mid-request: unacknowledged, so no promise was made.
                    _ => {}
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    process.child.kill().expect("SIGKILL");
    let _ = process.child.wait();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        let _ = w.await;
    }
    let acknowledged = acknowledged.lock().await.clone();
    assert!(
        acknowledged.len() > 50,
        "the burst wrote something: {}",
        acknowledged.len()
    );

    let mut process = spawn(dir.path());
    let (token, _) = token_for(&process.base, dir.path()).await;
    let mut stored = Vec::new();
    let mut url = format!(
        "{}/v1.0/users?$top=999&$select=userPrincipalName",
        process.base
    );
    loop {
        let page: Value = client
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stored.extend(page["value"].as_array().unwrap().iter().map(|u| {
            u["userPrincipalName"]
                .as_str()
                .unwrap()
                .to_ascii_lowercase()
        }));
        match page["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|upn| !stored.contains(&upn.to_ascii_lowercase()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged writes lost after SIGKILL: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    process.child.kill().unwrap();
    let _ = process.child.wait();
}

#[tokio::test]
async fn sigterm_drains_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut process = spawn(dir.path());
    let (token, domain) = token_for(&process.base, dir.path()).await;
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{}/v1.0/users", process.base))
        .bearer_auth(&token)
        .json(&user_body("term", "Term", &domain))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let status = Command::new("kill")
        .args(["-TERM", &process.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = process.child.wait().unwrap();
    assert!(exit.success(), "clean exit on SIGTERM: {exit:?}");
    let mut process = spawn(dir.path());
    let (token, _) = token_for(&process.base, dir.path()).await;
    let got = client
        .get(format!("{}/v1.0/users/term@{domain}", process.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    process.child.kill().unwrap();
    let _ = process.child.wait();
}

/// Concurrent requests share commits end to end. The exact grouping depends on timing (the
/// deterministic bound is the writer's own test in store-sqlite); here any regression to one
/// commit per request fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_commits() {
    let t = TestServer::start().await;
    let token = t.admin_token().await;
    let domain = t.domain();
    let store = t.server.as_ref().unwrap().store().clone();
    let before = store.stats();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (client, url, token, body) = (
            t.client.clone(),
            t.url("/v1.0/users"),
            token.clone(),
            user_body(&format!("g{i}"), "G", &domain),
        );
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::CREATED);
    }
    let after = store.stats();
    let writes = after.writes - before.writes;
    let commits = after.commits - before.commits;
    assert_eq!(writes, 64);
    eprintln!("64 concurrent user creations: {commits} commits");
    assert!(
        commits < writes,
        "64 concurrent writes took {commits} commits; group commit is not grouping"
    );
}
