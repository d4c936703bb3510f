//! The administration CLI on a running server's data directory, tenant isolation, sample data,
//! and the whole permission matrix walked route by route.

use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchboard_domain::permissions::MATRIX;

use crate::harness::*;

/// An application with exactly these roles, created through the CLI; returns an app-only token.
async fn app_token(t: &TestServer, roles: &str) -> String {
    let created: Value =
        serde_json::from_str(&t.cli(&["app", "create", "--name", "probe", "--roles", roles]))
            .unwrap();
    t.app_token_for(
        created["tenantId"].as_str().unwrap(),
        created["clientId"].as_str().unwrap(),
        created["clientSecret"].as_str().unwrap(),
    )
    .await
}

#[tokio::test]
async fn cli_apps_tokens_and_tenant_isolation() {
    let t = TestServer::start().await;
    let admin = t.admin_token().await;
    let alice = t.create_user(&admin, "alice", "Alice").await;

    // An app created while the server runs can get a token at once, with exactly its roles.
    let reader = app_token(&t, "User.Read.All").await;
    let (status, _) = t.get("/v1.0/users", &reader).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = t
        .post("/v1.0/users", &reader, &user_body("x", "X", &t.domain()))
        .await;
    assert_error(status, &body, 403, "Authorization_RequestDenied");
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "app",
            "create",
            "--name",
            "bad",
            "--roles",
            "Everything.All",
            "--data-dir",
        ])
        .arg(t.data_dir())
        .output()
        .unwrap();
    assert!(!out.status.success(), "unknown roles are refused");

    // `switchboard token` prints tokens that work.
    let token = t.cli(&[
        "token",
        "--user",
        alice["userPrincipalName"].as_str().unwrap(),
        "--scopes",
        "User.Read",
    ]);
    let (status, me) = t.get("/v1.0/me", token.trim()).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["id"], alice["id"]);

    // A second tenant sees nothing of the first.
    let (other, foreign) = t.other_tenant("Fabrikam", "fabrikam.example").await;
    assert_eq!(other["domain"], "fabrikam.example");
    let (status, body) = t
        .get(
            &format!("/v1.0/users/{}", alice["id"].as_str().unwrap()),
            &foreign,
        )
        .await;
    assert_error(status, &body, 404, "Request_ResourceNotFound");
    let (status, body) = t
        .get(
            &format!(
                "/v1.0/users/{}",
                alice["userPrincipalName"].as_str().unwrap()
            ),
            &foreign,
        )
        .await;
    assert_error(status, &body, 404, "Request_ResourceNotFound");
    let (status, body) = t
        .delete(
            &format!("/v1.0/users/{}", alice["id"].as_str().unwrap()),
            &foreign,
        )
        .await;
    assert_error(status, &body, 404, "Request_ResourceNotFound");
    let (_, list) = t.get("/v1.0/users", &foreign).await;
    assert_eq!(list["value"], json!([]));
    // The other tenant's users live under its own domain only.
    let (status, body) = t
        .post(
            "/v1.0/users",
            &foreign,
            &user_body("bob", "Bob", &t.domain()),
        )
        .await;
    assert_error(status, &body, 400, "Request_BadRequest");
    let (status, _) = t
        .post(
            "/v1.0/users",
            &foreign,
            &user_body("alice", "Alice of Fabrikam", "fabrikam.example"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, org) = t.get("/v1.0/organization", &foreign).await;
    assert_eq!(org["value"][0]["displayName"], "Fabrikam");
}

#[tokio::test]
async fn sample_data_lets_a_newcomer_sign_in() {
    let t = TestServer::start_with(|c| c.sample_data = true).await;
    let listed: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(t.data_dir().join("sample-users.json")).unwrap(),
    )
    .unwrap();
    assert!(listed.len() >= 10, "{listed:?}");
    let first = &listed[0];
    let token = t
        .user_token(
            first["userPrincipalName"].as_str().unwrap(),
            first["password"].as_str().unwrap(),
            "User.Read",
        )
        .await;
    let (status, me) = t.get("/v1.0/me", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["id"], first["id"]);
    assert_eq!(me["displayName"], first["displayName"]);
    // Adele has chats of every type, with conversations in them.
    let chat_token = t
        .user_token(
            first["userPrincipalName"].as_str().unwrap(),
            first["password"].as_str().unwrap(),
            "Chat.Read",
        )
        .await;
    let (status, chats) = t
        .get("/v1.0/me/chats?$expand=lastMessagePreview", &chat_token)
        .await;
    assert_eq!(status, StatusCode::OK, "{chats}");
    let chats = chats["value"].as_array().unwrap().clone();
    for kind in ["oneOnOne", "group", "meeting"] {
        assert!(
            chats.iter().any(|c| c["chatType"] == kind),
            "no sample {kind} chat: {chats:?}"
        );
    }
    let group = chats.iter().find(|c| c["chatType"] == "group").unwrap();
    let id = group["id"]
        .as_str()
        .unwrap()
        .replace(':', "%3A")
        .replace('@', "%40");
    let (status, messages) = t
        .get(&format!("/v1.0/chats/{id}/messages"), &chat_token)
        .await;
    assert_eq!(status, StatusCode::OK, "{messages}");
    let texts: Vec<&str> = messages["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["body"]["content"].as_str())
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("Mark 8 launch chat")),
        "{texts:?}"
    );
    // A restart does not seed twice.
    let t = t.restart().await;
    let admin = t.admin_token().await;
    let (_, users) = t.get("/v1.0/users", &admin).await;
    assert_eq!(users["value"].as_array().unwrap().len(), listed.len());
}

/// One concrete request per route of the matrix. `victim` is a user the request may act on.
async fn request_for(
    t: &TestServer,
    method: &str,
    route: &str,
    admin: &str,
    n: usize,
) -> (Method, String, Option<Value>) {
    let victim = || async {
        t.create_user(admin, &format!("victim{n}"), "Victim").await["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    match (method, route) {
        ("GET", "/me") => (Method::GET, "/v1.0/me".into(), None),
        ("GET", "/users") => (Method::GET, "/v1.0/users".into(), None),
        ("GET", "/users/$count") => (Method::GET, "/v1.0/users/$count".into(), None),
        ("GET", "/users/{id | userPrincipalName}") => {
            (Method::GET, format!("/v1.0/users/{}", victim().await), None)
        }
        ("POST", "/users") => (
            Method::POST,
            "/v1.0/users".into(),
            Some(user_body(&format!("new{n}"), "New", &t.domain())),
        ),
        ("PATCH", "/users/{id | userPrincipalName}") => (
            Method::PATCH,
            format!("/v1.0/users/{}", victim().await),
            Some(json!({"jobTitle": "Probe"})),
        ),
        ("DELETE", "/users/{id | userPrincipalName}") => (
            Method::DELETE,
            format!("/v1.0/users/{}", victim().await),
            None,
        ),
        ("GET", "/organization") => (Method::GET, "/v1.0/organization".into(), None),
        ("GET", "/organization/{id}") => (
            Method::GET,
            format!("/v1.0/organization/{}", t.creds().tenant_id),
            None,
        ),
        ("GET", "/domains") => (Method::GET, "/v1.0/domains".into(), None),
        ("GET", "/domains/{id}") => (Method::GET, format!("/v1.0/domains/{}", t.domain()), None),
        (_, r) if r.starts_with("/applications") => {
            crate::applications::matrix_request(t, method, route, admin, n).await
        }
        (_, r) if r.starts_with("/appCatalogs") || r.contains("/installedApps") => {
            teams_app_request(t, method, route, admin, n).await
        }
        (_, r) if r.starts_with("/chats") || r.starts_with("/users/{id}/chats") => {
            chat_request(t, method, route, admin, n).await
        }
        (_, r)
            if r.starts_with("/users/{id}/mailFolders")
                || r.starts_with("/users/{id}/messages")
                || r == "/users/{id}/sendMail" =>
        {
            mail_request(t, method, route, admin, n).await
        }
        other => panic!(
            "the permission matrix has a route this test cannot call yet: {other:?}; add it here"
        ),
    }
}

/// Mail routes act on the caller's mailbox: a user folder and a draft (to the caller) the
/// administrator made.
async fn mail_request(
    t: &TestServer,
    method: &str,
    route: &str,
    admin: &str,
    n: usize,
) -> (Method, String, Option<Value>) {
    let (_, caller) = t
        .get(&format!("/v1.0/users/caller@{}", t.domain()), admin)
        .await;
    let upn = caller["userPrincipalName"].as_str().unwrap().to_string();
    let base = format!("/v1.0/users/{}", caller["id"].as_str().unwrap());
    let (status, folder) = t
        .post(
            &format!("{base}/mailFolders"),
            admin,
            &json!({ "displayName": format!("Matrix {n}") }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{folder}");
    let folder = format!("{base}/mailFolders/{}", folder["id"].as_str().unwrap());
    let draft = json!({ "subject": format!("Matrix {n}"), "toRecipients": [{ "emailAddress": { "address": upn } }] });
    let (status, message) = t.post(&format!("{base}/messages"), admin, &draft).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    let message = format!("{base}/messages/{}", message["id"].as_str().unwrap());
    let attachment = json!({ "@odata.type": "#microsoft.graph.fileAttachment", "name": "matrix.txt", "contentBytes": "bWF0cml4" });
    match (method, route) {
        ("GET", "/users/{id}/mailFolders") => (Method::GET, format!("{base}/mailFolders"), None),
        ("GET", "/users/{id}/mailFolders/{folder-id}") => (Method::GET, folder, None),
        ("GET", "/users/{id}/mailFolders/{folder-id}/childFolders") => {
            (Method::GET, format!("{folder}/childFolders"), None)
        }
        ("POST", "/users/{id}/mailFolders") => (
            Method::POST,
            format!("{base}/mailFolders"),
            Some(json!({ "displayName": format!("New {n}") })),
        ),
        ("POST", "/users/{id}/mailFolders/{folder-id}/childFolders") => (
            Method::POST,
            format!("{folder}/childFolders"),
            Some(json!({ "displayName": "Child" })),
        ),
        ("PATCH", "/users/{id}/mailFolders/{folder-id}") => (
            Method::PATCH,
            folder,
            Some(json!({ "displayName": format!("Renamed {n}") })),
        ),
        ("DELETE", "/users/{id}/mailFolders/{folder-id}") => (Method::DELETE, folder, None),
        ("GET", "/users/{id}/messages") => (Method::GET, format!("{base}/messages"), None),
        ("GET", "/users/{id}/mailFolders/{folder-id}/messages") => (
            Method::GET,
            format!("{base}/mailFolders/drafts/messages"),
            None,
        ),
        ("GET", "/users/{id}/messages/{message-id}/attachments") => {
            (Method::GET, format!("{message}/attachments"), None)
        }
        ("POST", "/users/{id}/messages/{message-id}/attachments") => (
            Method::POST,
            format!("{message}/attachments"),
            Some(attachment),
        ),
        (method, r) if r.starts_with("/users/{id}/messages/{message-id}/attachments/") => {
            let (status, a) = t
                .post(&format!("{message}/attachments"), admin, &attachment)
                .await;
            assert_eq!(status, StatusCode::CREATED, "{a}");
            let path = format!("{message}/attachments/{}", a["id"].as_str().unwrap());
            match method {
                "DELETE" => (Method::DELETE, path, None),
                _ if r.ends_with("$value") => (Method::GET, format!("{path}/$value"), None),
                _ => (Method::GET, path, None),
            }
        }
        ("GET", "/users/{id}/mailFolders/delta") => {
            (Method::GET, format!("{base}/mailFolders/delta"), None)
        }
        ("GET", "/users/{id}/mailFolders/{folder-id}/messages/delta") => (
            Method::GET,
            format!("{base}/mailFolders/inbox/messages/delta"),
            None,
        ),
        ("GET", "/users/{id}/messages/{message-id}") => (Method::GET, message, None),
        ("GET", "/users/{id}/messages/{message-id}/$value") => {
            (Method::GET, format!("{message}/$value"), None)
        }
        ("POST", "/users/{id}/messages") => (
            Method::POST,
            format!("{base}/messages"),
            Some(json!({ "subject": "New" })),
        ),
        ("POST", "/users/{id}/mailFolders/{folder-id}/messages") => (
            Method::POST,
            format!("{folder}/messages"),
            Some(json!({ "subject": "Filed" })),
        ),
        ("PATCH", "/users/{id}/messages/{message-id}") => {
            (Method::PATCH, message, Some(json!({ "isRead": false })))
        }
        ("DELETE", "/users/{id}/messages/{message-id}") => (Method::DELETE, message, None),
        ("POST", "/users/{id}/messages/{message-id}/permanentDelete") => {
            (Method::POST, format!("{message}/permanentDelete"), None)
        }
        ("POST", r) if r.starts_with("/users/{id}/messages/{message-id}/move") => (
            Method::POST,
            format!("{message}/move"),
            Some(json!({ "destinationId": "archive" })),
        ),
        ("POST", "/users/{id}/messages/{message-id}/send") => {
            (Method::POST, format!("{message}/send"), None)
        }
        ("POST", r) if r.starts_with("/users/{id}/messages/{message-id}/createReply") => (
            Method::POST,
            format!("{message}/createReply"),
            Some(json!({ "comment": "Matrix" })),
        ),
        ("POST", r) if r.starts_with("/users/{id}/messages/{message-id}/reply") => (
            Method::POST,
            format!("{message}/reply"),
            Some(
                json!({ "message": { "toRecipients": [{ "emailAddress": { "address": upn } }] } }),
            ),
        ),
        ("POST", "/users/{id}/sendMail") => (
            Method::POST,
            format!("{base}/sendMail"),
            Some(
                json!({ "message": { "subject": "Matrix", "toRecipients": [{ "emailAddress": { "address": upn } }] } }),
            ),
        ),
        other => panic!(
            "the permission matrix has a mail route this test cannot call yet: {other:?}; add it here"
        ),
    }
}

/// Chat routes act on a fresh group chat of the caller and a victim, made by the administrator.
async fn chat_request(
    t: &TestServer,
    method: &str,
    route: &str,
    admin: &str,
    n: usize,
) -> (Method, String, Option<Value>) {
    let (_, caller) = t
        .get(&format!("/v1.0/users/caller@{}", t.domain()), admin)
        .await;
    let caller = caller["id"].as_str().unwrap().to_string();
    let victim = t
        .create_user(admin, &format!("chatvictim{n}"), "Victim")
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bind = |id: &str| json!({ "@odata.type": "#microsoft.graph.aadUserConversationMember", "roles": ["owner"], "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{id}')") });
    let (status, chat) = t.post("/v1.0/chats", admin, &json!({ "chatType": "group", "topic": "Matrix", "members": [bind(&caller), bind(&victim)] })).await;
    assert_eq!(status, StatusCode::CREATED, "{chat}");
    let chat = format!(
        "/v1.0/chats/{}",
        chat["id"]
            .as_str()
            .unwrap()
            .replace(':', "%3A")
            .replace('@', "%40")
    );
    let (_, members) = t.get(&format!("{chat}/members"), admin).await;
    let victim_membership = members["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["userId"] == victim.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .replace('/', "%2F")
        .replace('+', "%2B")
        .replace('=', "%3D");
    match (method, route) {
        ("POST", "/chats") => (
            Method::POST,
            "/v1.0/chats".into(),
            Some(json!({ "chatType": "group", "members": [bind(&caller), bind(&victim)] })),
        ),
        ("GET", "/chats") => (Method::GET, "/v1.0/chats".into(), None),
        ("GET", "/users/{id}/chats") => (Method::GET, format!("/v1.0/users/{caller}/chats"), None),
        ("GET", "/chats/{chat-id}") => (Method::GET, chat, None),
        ("GET", "/chats/{chat-id}/lastMessagePreview") => {
            (Method::GET, format!("{chat}/lastMessagePreview"), None)
        }
        ("PATCH", "/chats/{chat-id}") => (
            Method::PATCH,
            chat,
            Some(json!({ "topic": format!("Renamed {n}") })),
        ),
        ("DELETE", "/chats/{chat-id}") => (Method::DELETE, chat, None),
        ("POST", r) if r.starts_with("/chats/{chat-id}/hideForUser") => (
            Method::POST,
            format!("{chat}/hideForUser"),
            Some(json!({ "user": { "id": caller } })),
        ),
        ("GET", "/chats/{chat-id}/members") => (Method::GET, format!("{chat}/members"), None),
        ("GET", "/chats/{chat-id}/members/{membership-id}") => (
            Method::GET,
            format!("{chat}/members/{victim_membership}"),
            None,
        ),
        ("POST", "/chats/{chat-id}/members") => {
            let extra = t.create_user(admin, &format!("extra{n}"), "Extra").await["id"]
                .as_str()
                .unwrap()
                .to_string();
            (Method::POST, format!("{chat}/members"), Some(bind(&extra)))
        }
        ("DELETE", "/chats/{chat-id}/members/{membership-id}") => (
            Method::DELETE,
            format!("{chat}/members/{victim_membership}"),
            None,
        ),
        ("POST", "/chats/{chat-id}/messages") => (
            Method::POST,
            format!("{chat}/messages"),
            Some(json!({ "body": { "content": "Matrix" } })),
        ),
        ("GET", "/chats/{chat-id}/messages") => (Method::GET, format!("{chat}/messages"), None),
        ("GET", "/chats/{chat-id}/messages/{message-id}") => {
            let id = sent_by_caller(t, &chat).await;
            (Method::GET, format!("{chat}/messages/{id}"), None)
        }
        ("PATCH", "/chats/{chat-id}/messages/{message-id}") => {
            let id = sent_by_caller(t, &chat).await;
            (
                Method::PATCH,
                format!("{chat}/messages/{id}"),
                Some(json!({ "body": { "content": "Edited" } })),
            )
        }
        ("POST", r) if r.starts_with("/chats/{chat-id}/messages/{message-id}/softDelete") => {
            let id = sent_by_caller(t, &chat).await;
            (
                Method::POST,
                format!("{chat}/messages/{id}/softDelete"),
                None,
            )
        }
        ("POST", r) if r.starts_with("/chats/{chat-id}/messages/{message-id}/setReaction") => {
            let id = sent_by_caller(t, &chat).await;
            (
                Method::POST,
                format!("{chat}/messages/{id}/setReaction"),
                Some(json!({ "reactionType": "👍" })),
            )
        }
        ("GET", "/users/{id}/chats/getAllMessages") => (
            Method::GET,
            format!("/v1.0/users/{caller}/chats/getAllMessages"),
            None,
        ),
        ("GET", "/users/{id}/chats/getAllMessages/delta") => (
            Method::GET,
            format!("/v1.0/users/{caller}/chats/getAllMessages/delta"),
            None,
        ),
        other => panic!(
            "the permission matrix has a chat route this test cannot call yet: {other:?}; add it here"
        ),
    }
}

/// A message the matrix's caller sent to `chat` (a path), for routes only the sender may use.
async fn sent_by_caller(t: &TestServer, chat: &str) -> String {
    let token = t
        .user_token(
            &format!("caller@{}", t.domain()),
            PASSWORD,
            "ChatMessage.Send",
        )
        .await;
    let (status, m) = t
        .post(
            &format!("{chat}/messages"),
            &token,
            &json!({ "body": { "content": "Probe" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    m["id"].as_str().unwrap().to_string()
}

/// App catalogue and installed-app routes: a fresh catalogue app published by the administrator
/// and, for chat routes, installed in a fresh group chat of the caller and a victim.
async fn teams_app_request(
    t: &TestServer,
    method: &str,
    route: &str,
    admin: &str,
    n: usize,
) -> (Method, String, Option<Value>) {
    let enc = |id: &str| {
        id.replace('%', "%25")
            .replace(':', "%3A")
            .replace('@', "%40")
            .replace('/', "%2F")
            .replace('+', "%2B")
            .replace('=', "%3D")
    };
    let publish = |external: String| async move {
        let (status, app) = t
            .post(
                "/v1.0/appCatalogs/teamsApps",
                admin,
                &json!({ "displayName": "Matrix", "externalId": external, "version": "1.0.0" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{app}");
        app["id"].as_str().unwrap().to_string()
    };
    let app = publish(format!("matrix-{n}")).await;
    let catalogue = format!("/v1.0/appCatalogs/teamsApps/{app}");
    if route.starts_with("/appCatalogs") {
        return match (method, route) {
            ("GET", "/appCatalogs/teamsApps") => {
                (Method::GET, "/v1.0/appCatalogs/teamsApps".into(), None)
            }
            ("GET", "/appCatalogs/teamsApps/{teamsApp-id}") => (Method::GET, catalogue, None),
            ("GET", "/appCatalogs/teamsApps/{teamsApp-id}/appDefinitions") => {
                (Method::GET, format!("{catalogue}/appDefinitions"), None)
            }
            ("GET", "/appCatalogs/teamsApps/{teamsApp-id}/appDefinitions/{definition-id}") => {
                let (_, defs) = t.get(&format!("{catalogue}/appDefinitions"), admin).await;
                (
                    Method::GET,
                    format!(
                        "{catalogue}/appDefinitions/{}",
                        enc(defs["value"][0]["id"].as_str().unwrap())
                    ),
                    None,
                )
            }
            ("POST", "/appCatalogs/teamsApps") => (
                Method::POST,
                "/v1.0/appCatalogs/teamsApps".into(),
                Some(json!({ "displayName": "New", "externalId": format!("matrix-new-{n}") })),
            ),
            ("POST", "/appCatalogs/teamsApps/{teamsApp-id}/appDefinitions") => (
                Method::POST,
                format!("{catalogue}/appDefinitions"),
                Some(json!({ "displayName": "Matrix", "version": "2.0.0" })),
            ),
            ("DELETE", "/appCatalogs/teamsApps/{teamsApp-id}") => (Method::DELETE, catalogue, None),
            other => panic!(
                "the permission matrix has a catalogue route this test cannot call yet: {other:?}; add it here"
            ),
        };
    }
    let (_, caller) = t
        .get(&format!("/v1.0/users/caller@{}", t.domain()), admin)
        .await;
    let caller = caller["id"].as_str().unwrap().to_string();
    let victim = t
        .create_user(admin, &format!("appvictim{n}"), "Victim")
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let member = |id: &str| json!({ "@odata.type": "#microsoft.graph.aadUserConversationMember", "roles": ["owner"], "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{id}')") });
    let mut chats = Vec::new();
    for _ in 0..2 {
        let (status, chat) = t
            .post(
                "/v1.0/chats",
                admin,
                &json!({ "chatType": "group", "members": [member(&caller), member(&victim)] }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{chat}");
        chats.push(chat["id"].as_str().unwrap().to_string());
    }
    let apps = format!("/v1.0/chats/{}/installedApps", enc(&chats[0]));
    let bind = |id: &str| json!({ "teamsApp@odata.bind": format!("https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{id}") });
    let (status, installed) = t.post(&apps, admin, &bind(&app)).await;
    assert_eq!(status, StatusCode::CREATED, "{installed}");
    let installation = format!("{apps}/{}", enc(installed["id"].as_str().unwrap()));
    let reference =
        json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/chats('{}')", chats[1]) });
    match (method, route) {
        ("GET", "/chats/{chat-id}/installedApps") => (Method::GET, apps, None),
        ("GET", "/chats/{chat-id}/installedApps/{installation-id}") => {
            (Method::GET, installation, None)
        }
        ("POST", "/chats/{chat-id}/installedApps") => {
            let another = publish(format!("matrix-another-{n}")).await;
            (Method::POST, apps, Some(bind(&another)))
        }
        ("POST", "/chats/{chat-id}/installedApps/{installation-id}/upgrade") => {
            let (status, body) = t
                .post(
                    &format!("{catalogue}/appDefinitions"),
                    admin,
                    &json!({ "displayName": "Matrix", "version": "1.1.0" }),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            (Method::POST, format!("{installation}/upgrade"), None)
        }
        ("DELETE", "/chats/{chat-id}/installedApps/{installation-id}") => {
            (Method::DELETE, installation, None)
        }
        ("GET", "/chats/{chat-id}/installedApps/{installation-id}/chat") => {
            (Method::GET, format!("{installation}/chat"), None)
        }
        ("POST", "/chats/{chat-id}/installedApps/{installation-id}/chat/$ref") => (
            Method::POST,
            format!("{installation}/chat/$ref"),
            Some(reference),
        ),
        ("PUT", "/chats/{chat-id}/installedApps/{installation-id}/chat/$ref") => (
            Method::PUT,
            format!("{installation}/chat/$ref"),
            Some(reference),
        ),
        ("DELETE", "/chats/{chat-id}/installedApps/{installation-id}/chat/$ref") => {
            (Method::DELETE, format!("{installation}/chat/$ref"), None)
        }
        other => panic!(
            "the permission matrix has an installed-app route this test cannot call yet: {other:?}; add it here"
        ),
    }
}

async fn call(
    t: &TestServer,
    token: &str,
    (method, path, body): (Method, String, Option<Value>),
) -> (StatusCode, Value) {
    let mut r = t
        .request(method, &path, token)
        .header("ConsistencyLevel", "eventual");
    if let Some(body) = body {
        r = r.json(&body);
    }
    json(r.send().await.unwrap()).await
}

#[tokio::test]
async fn permission_matrix_is_enforced_route_by_route() {
    let t = TestServer::start().await;
    let admin = t.admin_token().await;
    let caller = t.create_user(&admin, "caller", "Caller").await;
    let upn = caller["userPrincipalName"].as_str().unwrap().to_string();
    let mut n = 0;
    let mut app_tokens = std::collections::HashMap::new();
    // A second tenant with its own administrator and a signed-in user of its own.
    let (other, foreign_app) = t.other_tenant("Elsewhere", "elsewhere.example").await;
    let (status, _) = t
        .post(
            "/v1.0/users",
            &foreign_app,
            &user_body("outsider", "Outsider", "elsewhere.example"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = t
        .token_request(
            other["tenantId"].as_str().unwrap(),
            &[
                ("grant_type", "password"),
                ("client_id", other["clientId"].as_str().unwrap()),
                ("client_secret", other["clientSecret"].as_str().unwrap()),
                ("username", "outsider@elsewhere.example"),
                ("password", PASSWORD),
                ("scope", ".default"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let foreign = (
        foreign_app,
        body["access_token"].as_str().unwrap().to_string(),
    );
    for (method, route, perms) in MATRIX {
        // Each delegated scope that allows the route, alone, passes; an unrelated one is refused.
        for scope in perms.delegated {
            n += 1;
            let token = t.user_token(&upn, PASSWORD, scope).await;
            let (status, body) =
                call(&t, &token, request_for(&t, method, route, &admin, n).await).await;
            assert!(
                status.is_success(),
                "{method} {route} with delegated {scope}: {status} {body}"
            );
        }
        n += 1;
        // Mail.Send is unrelated to every route but the sending ones, which get Chat.Read.
        let unrelated = if perms.delegated.contains(&"Mail.Send") {
            "Chat.Read"
        } else {
            "Mail.Send"
        };
        let token = t.user_token(&upn, PASSWORD, unrelated).await;
        let (status, body) =
            call(&t, &token, request_for(&t, method, route, &admin, n).await).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{method} {route} with an unrelated delegated scope: {body}"
        );

        for role in perms.application {
            n += 1;
            if !app_tokens.contains_key(role) {
                app_tokens.insert(*role, app_token(&t, role).await);
            }
            let (status, body) = call(
                &t,
                &app_tokens[role],
                request_for(&t, method, route, &admin, n).await,
            )
            .await;
            assert!(
                status.is_success(),
                "{method} {route} with role {role}: {status} {body}"
            );
        }
        n += 1;
        let unrelated = if perms.application.contains(&"Mail.Send") {
            "Chat.Read.All"
        } else {
            "Mail.Send"
        };
        if !app_tokens.contains_key(unrelated) {
            app_tokens.insert(unrelated, app_token(&t, unrelated).await);
        }
        let (status, body) = call(
            &t,
            &app_tokens[unrelated],
            request_for(&t, method, route, &admin, n).await,
        )
        .await;
        let refused = status == StatusCode::FORBIDDEN
            || (perms.application.is_empty() && status == StatusCode::BAD_REQUEST);
        assert!(
            refused,
            "{method} {route} with an unrelated role: {status} {body}"
        );

        // Another tenant's all-powerful tokens, app-only and delegated, never reach this
        // tenant's objects: a route naming one answers 404 (or 401/403), and whatever succeeds
        // shows nothing of this tenant.
        for token in [&foreign.0, &foreign.1] {
            n += 1;
            let request = request_for(&t, method, route, &admin, n).await;
            let path = request.1.clone();
            let (status, body) = call(&t, token, request).await;
            let text = body.to_string();
            if status.is_success() {
                assert!(
                    !text.contains(&t.creds().tenant_id) && !text.contains(&t.domain()),
                    "{method} {path} from another tenant showed this tenant's data: {text}"
                );
            } else {
                assert!(
                    [400, 401, 403, 404].contains(&status.as_u16()),
                    "{method} {path} from another tenant: {status} {body}"
                );
            }
        }
    }
}
