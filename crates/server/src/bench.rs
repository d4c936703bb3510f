//! Hidden benchmark helpers behind `switchboard bench-ceiling` and `switchboard bench-seed`
//! (used by `tools/loadgen`, see BENCHMARKS.md). Not part of the Graph surface.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::json;
use switchboard_domain::Store;
use switchboard_domain::chat_messages::{MessageRecord, NewMessage};
use switchboard_domain::graph_time::now_ms;
use switchboard_domain::users::UserRecord;
use switchboard_store_sqlite::{SqliteOptions, SqliteStore};

/// The HTTP ceiling: the same stack as `serve` (axum on a multi-threaded tokio runtime), one
/// handler that answers every request with the same 1 KB JSON document.
pub async fn ceiling(listen: &str) -> anyhow::Result<()> {
    let body: &'static str = Box::leak(ceiling_body().into_boxed_str());
    let app = Router::new().fallback(move || async move {
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// A fixed JSON document of exactly 1024 bytes.
fn ceiling_body() -> String {
    let mut doc = json!({ "id": "1700000000000", "messageType": "message", "body": { "contentType": "text", "content": "" } });
    let len = doc.to_string().len();
    doc["body"]["content"] = json!("x".repeat(1024 - len));
    let text = doc.to_string();
    debug_assert_eq!(text.len(), 1024);
    text
}

/// Opens a data directory's store as the concrete SQLite store (for the bulk message insert).
fn open(data_dir: &Path) -> anyhow::Result<Arc<SqliteStore>> {
    let db = data_dir.join(crate::DATABASE_FILE);
    anyhow::ensure!(
        db.exists(),
        "{} has no database; start `switchboard serve` on it once first",
        data_dir.display()
    );
    Ok(Arc::new(
        SqliteStore::open(
            &db,
            &SqliteOptions {
                readers: 1,
                ..SqliteOptions::default()
            },
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?,
    ))
}

/// `bench-seed users`: `count` users named `Bench User 000000`… (`bench000000@domain`, no
/// password) through the store's `insert_users`, 10 000 per transaction.
pub async fn seed_users(data_dir: &Path, tenant: Option<&str>, count: usize) -> anyhow::Result<()> {
    let store = open(data_dir)?;
    let tenant = crate::admin::tenant(store.as_ref(), tenant).await?;
    let now = now_ms();
    let mut done = 0;
    while done < count {
        let batch: Vec<UserRecord> = (done..count.min(done + 10_000))
            .map(|i| {
                let upn = format!("bench{i:06}@{}", tenant.domain);
                UserRecord {
                    id: uuid::Uuid::new_v4().to_string(),
                    tenant_id: tenant.id.clone(),
                    display_name: format!("Bench User {i:06}"),
                    user_principal_name: upn.clone(),
                    mail: Some(upn),
                    given_name: Some("Bench".into()),
                    surname: Some(format!("User {i:06}")),
                    job_title: Some(["Engineer", "Designer", "Manager", "Analyst"][i % 4].into()),
                    business_phones: vec![],
                    mobile_phone: None,
                    office_location: Some(format!("Building {}", i % 40)),
                    preferred_language: Some("en-US".into()),
                    account_enabled: true,
                    mail_nickname: format!("bench{i:06}"),
                    password_hash: None,
                    force_change_password: false,
                    created_ms: now,
                }
            })
            .collect();
        done += batch.len();
        store.insert_users(&batch).await?;
    }
    store.shutdown().await;
    println!("{{\"users\": {count}}}");
    Ok(())
}

/// `bench-seed messages`: `count` text messages spread evenly over `chats` (`CHAT_ID=USER_ID`,
/// the sender), created in the past, through the insert the send path uses, 50 000 per
/// transaction.
pub async fn seed_messages(
    data_dir: &Path,
    tenant: Option<&str>,
    count: usize,
    chats: &[String],
) -> anyhow::Result<()> {
    anyhow::ensure!(
        !chats.is_empty(),
        "name at least one --chat CHAT_ID=USER_ID"
    );
    let chats: Vec<(&str, &str)> = chats
        .iter()
        .map(|c| c.split_once('=').context("--chat takes CHAT_ID=USER_ID"))
        .collect::<anyhow::Result<_>>()?;
    let store = open(data_dir)?;
    let tenant = crate::admin::tenant(store.as_ref(), tenant).await?;
    let per_chat = count.div_ceil(chats.len()) as i64;
    // Ten messages a second per chat, ending a minute ago: ids stay below anything sent later.
    let start = now_ms() - 60_000 - per_chat * 100;
    let mut done = 0;
    while done < count {
        let batch: Vec<NewMessage> = (done..count.min(done + 50_000))
            .map(|i| {
                let (chat_id, user_id) = chats[i % chats.len()];
                let at = start + (i / chats.len()) as i64 * 100;
                NewMessage {
                    record: MessageRecord {
                        chat_id: chat_id.to_string(),
                        id: 0,
                        tenant_id: tenant.id.clone(),
                        message_type: "message".into(),
                        from_user_id: Some(user_id.to_string()),
                        from_display_name: Some("Bench".into()),
                        body_type: "text".into(),
                        body: format!(
                            "Seeded message {i}: the quick brown fox jumps over the lazy dog."
                        ),
                        subject: None,
                        importance: "normal".into(),
                        mentions: json!([]),
                        attachments: json!([]),
                        reactions: json!([]),
                        history: json!([]),
                        event_detail: None,
                        created_ms: at,
                        modified_ms: at,
                        edited_ms: None,
                        deleted_ms: None,
                    },
                }
            })
            .collect();
        done += store.seed_messages(batch).await?;
    }
    store.shutdown().await;
    println!("{{\"messages\": {count}}}");
    Ok(())
}
