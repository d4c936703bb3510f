//! Signing-key rotation: a new key is published in the JWKS before it signs, tokens signed by the
//! key before it stay valid until that key is retired, and a server sees keys made elsewhere
//! (the command line, another node). Time is made short through the configuration (a lead of a
//! second or two), never through long sleeps.

use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::Value;
use switchboard_domain::graph_time;

use crate::harness::*;

/// Runs `switchboard keys …` (or any command) on the server's data directory with `env` set.
fn cli_with(t: &TestServer, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .arg("--data-dir")
        .arg(t.data_dir())
        .envs(env.iter().copied())
        .output()
        .expect("run switchboard");
    assert!(
        out.status.success(),
        "switchboard {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn kid(token: &str) -> String {
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_string()
}

async fn jwks_kids(t: &TestServer) -> Vec<String> {
    let (status, jwks) = json(
        t.client
            .get(t.url(&format!("/{}/discovery/v2.0/keys", t.creds().tenant_id)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

/// Polls `check` every 100 ms until it holds, for at most `limit`.
async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sleep_until_ms(instant_ms: i64) {
    let wait = instant_ms - graph_time::now_ms();
    if wait > 0 {
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
    }
}

fn states(list: &str) -> Vec<(String, String)> {
    let keys: Vec<Value> = serde_json::from_str(list).unwrap();
    keys.iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().to_string(),
                k["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_rotated_key_is_published_before_it_signs_and_the_old_one_retires_after_its_tokens() {
    let t = TestServer::start_with(|c| {
        c.key_rotation_days = 0.0;
        c.key_publish_lead_secs = 2;
        c.token_lifetime_secs = 5;
    })
    .await;
    let first = t.admin_token().await;
    let old = kid(&first);
    assert_eq!(jwks_kids(&t).await, std::slice::from_ref(&old));

    // `keys rotate` publishes the next key now; it signs after the lead.
    let rotated: Value = serde_json::from_str(&cli_with(
        &t,
        &["keys", "rotate"],
        &[("SWITCHBOARD_KEY_PUBLISH_LEAD_SECS", "2")],
    ))
    .unwrap();
    let new = rotated["kid"].as_str().unwrap().to_string();
    assert_eq!(rotated["state"], "next");
    let activates = graph_time::parse(rotated["activateDateTime"].as_str().unwrap()).unwrap();
    assert!(activates > graph_time::now_ms(), "{rotated}");

    // The running server publishes it (it re-reads the store well within the lead)…
    eventually(
        Duration::from_millis(1500),
        "the JWKS lists the new key",
        || async { jwks_kids(&t).await.contains(&new) },
    )
    .await;
    // …while its tokens still carry the old key.
    let before = t.admin_token().await;
    assert!(
        graph_time::now_ms() < activates,
        "the machine is too slow for this test's 2 s lead"
    );
    assert_eq!(
        kid(&before),
        old,
        "a key must not sign before its activation"
    );
    let listed = states(&cli_with(&t, &["keys", "list"], &[]));
    assert_eq!(
        listed,
        [
            (old.clone(), "active".to_string()),
            (new.clone(), "next".to_string())
        ]
    );

    // After activation, new tokens carry the new key; tokens signed by the old one still work.
    sleep_until_ms(activates + 50).await;
    let after = t.admin_token().await;
    assert_eq!(kid(&after), new);
    for token in [&first, &before, &after] {
        let (status, body) = t.get("/v1.0/users", token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let kids = jwks_kids(&t).await;
    assert!(kids.contains(&old) && kids.contains(&new), "{kids:?}");

    // Once the new key has signed for a token lifetime, no valid token can carry the old one:
    // it is retired and leaves the JWKS.
    eventually(Duration::from_secs(7), "the old key is retired", || async {
        !jwks_kids(&t).await.contains(&old)
    })
    .await;
    assert!(
        graph_time::now_ms() >= activates + 5000,
        "retired before its last token expired"
    );
    let listed = states(&cli_with(&t, &["keys", "list"], &[]));
    assert_eq!(
        listed,
        [
            (old.clone(), "retired".to_string()),
            (new.clone(), "active".to_string())
        ]
    );
    let latest = t.admin_token().await;
    assert_eq!(kid(&latest), new);
    let (status, _) = t.get("/v1.0/users", &latest).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn keys_rotate_on_their_own_when_the_newest_is_older_than_the_period() {
    // A three-second rotation period, a one-second lead, two-second tokens.
    let t = TestServer::start_with(|c| {
        c.key_rotation_days = 3.0 / 86_400.0;
        c.key_publish_lead_secs = 1;
        c.token_lifetime_secs = 2;
    })
    .await;
    let old = kid(&t.admin_token().await);
    let start = Instant::now();
    let new = loop {
        if let Some(k) = jwks_kids(&t).await.into_iter().find(|k| *k != old) {
            break k;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no second key was published"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eventually(
        Duration::from_secs(2),
        "tokens carry the new key",
        || async { kid(&t.admin_token().await) == new },
    )
    .await;
    eventually(
        Duration::from_secs(4),
        "the first key is retired",
        || async { !jwks_kids(&t).await.contains(&old) },
    )
    .await;
    let (status, _) = t.get("/v1.0/users", &t.admin_token().await).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_key_made_elsewhere_is_loaded_when_a_token_names_it() {
    // No lead: the command line's key signs at once, before the server's timer reloads (a minute).
    let t = TestServer::start_with(|c| {
        c.key_rotation_days = 0.0;
        c.key_publish_lead_secs = 0;
    })
    .await;
    let env = [
        ("SWITCHBOARD_KEY_PUBLISH_LEAD_SECS", "0"),
        ("SWITCHBOARD_HASH_MEMORY_KIB", "64"),
        ("SWITCHBOARD_HASH_ITERATIONS", "1"),
    ];
    // Let the server's key task finish its first pass (it runs on this test's runtime, which the
    // command below blocks); its next timed reload is a minute away.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rotated: Value = serde_json::from_str(&cli_with(&t, &["keys", "rotate"], &env)).unwrap();
    let new = rotated["kid"].as_str().unwrap().to_string();
    assert!(
        !jwks_kids(&t).await.contains(&new),
        "the server has not reloaded yet"
    );
    // A token signed elsewhere with the new key (here: by the command line).
    let client_id = t.creds().client_id.clone();
    let token = cli_with(&t, &["token", "--app", &client_id], &env)
        .trim()
        .to_string();
    assert_eq!(kid(&token), new);
    let (status, body) = t.get("/v1.0/users", &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(jwks_kids(&t).await.contains(&new));
    // Unknown keys are still refused.
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    parts[0] = URL_SAFE_NO_PAD.encode(
        serde_json::json!({"typ": "JWT", "alg": "RS256", "kid": "no-such-key"}).to_string(),
    );
    let (status, body) = t.get("/v1.0/users", &parts.join(".")).await;
    assert_error(status, &body, 401, "InvalidAuthenticationToken");
}
