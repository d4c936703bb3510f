//! JSON batching: `POST /v1.0/$batch` and `/beta/$batch`, each sub-request answered as its route
//! answers it alone, `dependsOn` ordering and 424, the SDKs' shapes, and malformed batches.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::*;

async fn batch(t: &TestServer, version: &str, token: &str, body: &Value) -> (StatusCode, Value) {
    t.post(&format!("/{version}/$batch"), token, body).await
}

/// The answer to the sub-request `id`.
fn answer<'a>(batch: &'a Value, id: &str) -> &'a Value {
    batch["responses"]
        .as_array()
        .unwrap_or_else(|| panic!("no responses: {batch}"))
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no answer for {id}: {batch}"))
}

fn status(batch: &Value, id: &str) -> u64 {
    answer(batch, id)["status"].as_u64().unwrap()
}

/// Asserts the sub-request `id` failed with Graph's envelope.
fn assert_item_error(batch: &Value, id: &str, expected_status: u16, code: &str) {
    let a = answer(batch, id);
    let status = StatusCode::from_u16(a["status"].as_u64().unwrap() as u16).unwrap();
    assert_error(status, &a["body"], expected_status, code);
    assert!(
        a["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("application/json"),
        "{a}"
    );
}

/// An application with exactly `roles`, created through the CLI; its app-only token.
async fn app_with(t: &TestServer, roles: &str) -> String {
    let created: Value =
        serde_json::from_str(&t.cli(&["app", "create", "--name", "batcher", "--roles", roles]))
            .unwrap();
    t.app_token_for(
        created["tenantId"].as_str().unwrap(),
        created["clientId"].as_str().unwrap(),
        created["clientSecret"].as_str().unwrap(),
    )
    .await
}

#[tokio::test]
async fn get_post_patch_delete_in_one_batch() {
    let t = TestServer::start().await;
    let admin = t.admin_token().await;
    let upn = format!("ada@{}", t.domain());
    let (s, b) = batch(
        &t,
        "v1.0",
        &admin,
        &json!({ "requests": [
            { "id": "create", "method": "POST", "url": "/users",
              "headers": { "Content-Type": "application/json" },
              "body": user_body("ada", "Ada", &t.domain()) },
            { "id": "rename", "method": "PATCH", "url": format!("users/{upn}"), "dependsOn": ["create"],
              "headers": { "Content-Type": "application/json" }, "body": { "displayName": "Ada L." } },
            { "id": "read", "method": "GET", "url": format!("/users/{upn}?$select=id,displayName"),
              "dependsOn": ["rename"] },
            { "id": "list", "method": "get",
              "url": "/users?$filter=startswith(displayName, 'Ada')&$select=displayName&$top=1",
              "dependsOn": ["read"] },
            { "id": "remove", "method": "DELETE", "url": format!("/users/{upn}"), "dependsOn": ["list"] },
        ]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["responses"].as_array().unwrap().len(), 5);

    let created = answer(&b, "create");
    assert_eq!(created["status"], 201, "{b}");
    assert_eq!(created["body"]["userPrincipalName"], upn.as_str());
    assert!(
        created["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(created["headers"]["OData-Version"], "4.0");
    assert_eq!(status(&b, "rename"), 204);
    assert!(answer(&b, "rename").get("body").is_none(), "{b}");
    let read = answer(&b, "read");
    assert_eq!(read["status"], 200);
    assert_eq!(read["body"]["displayName"], "Ada L.");
    assert_eq!(read["body"]["id"], created["body"]["id"]);
    // Links are built from the batch's own host, as the route alone builds them.
    assert!(
        read["body"]["@odata.context"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/v1.0/$metadata#users", t.base)),
        "{read}"
    );
    let list = answer(&b, "list");
    assert_eq!(list["status"], 200, "{list}");
    assert_eq!(list["body"]["value"][0]["displayName"], "Ada L.");
    assert_eq!(status(&b, "remove"), 204);

    let (s, _) = t.get(&format!("/v1.0/users/{upn}"), &admin).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn depends_on_orders_the_run_and_failures_cascade_as_424() {
    let t = TestServer::start().await;
    let admin = t.admin_token().await;
    let upn = format!("bo@{}", t.domain());
    // The read comes first in the batch but depends on the create, so it runs after it.
    let (s, b) = batch(
        &t,
        "v1.0",
        &admin,
        &json!({ "requests": [
            { "id": "read", "method": "GET", "url": format!("/users/{upn}"), "dependsOn": ["CREATE"] },
            { "id": "create", "method": "POST", "url": "/users",
              "headers": { "content-type": "application/json" },
              "body": user_body("bo", "Bo", &t.domain()) },
            { "id": "missing", "method": "GET", "url": "/users/nobody@nowhere.example" },
            { "id": "after-missing", "method": "GET", "url": "/users", "dependsOn": ["missing"] },
            // msgraph-sdk-python spells it depends_on.
            { "id": "after-after", "method": "GET", "url": "/users", "depends_on": ["after-missing"] },
            { "id": "both", "method": "GET", "url": "/users", "dependsOn": ["create", "missing"] },
            { "id": "independent", "method": "GET", "url": "/users?$top=1" },
            { "id": "own-client-id", "method": "GET", "url": "/users", "dependsOn": ["missing"],
              "headers": { "Client-Request-Id": "5d1c7a9e-0f3b-4c8e-9a61-2b7d4e8f1c03" } },
        ]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(status(&b, "create"), 201);
    assert_eq!(status(&b, "read"), 200, "{b}");
    assert_item_error(&b, "missing", 404, "Request_ResourceNotFound");
    assert_item_error(&b, "after-missing", 424, "FailedDependency");
    assert_item_error(&b, "after-after", 424, "FailedDependency");
    assert_item_error(&b, "both", 424, "FailedDependency");
    assert_eq!(status(&b, "independent"), 200);
    // Answers come in the batch's order.
    let ids: Vec<&str> = b["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "read",
            "create",
            "missing",
            "after-missing",
            "after-after",
            "both",
            "independent",
            "own-client-id"
        ]
    );

    // A 424 the batch writes itself carries the headers of an answer the route gives.
    let missing = answer(&b, "missing");
    for id in ["after-missing", "both", "own-client-id"] {
        let a = answer(&b, id);
        assert_eq!(a["headers"]["OData-Version"], "4.0", "{a}");
        let request_id = a["headers"]["Request-Id"].as_str().expect("Request-Id");
        assert_eq!(a["body"]["error"]["innerError"]["request-id"], request_id);
        assert_ne!(a["headers"]["Request-Id"], missing["headers"]["Request-Id"]);
        assert_eq!(
            a["body"]["error"]["innerError"]["client-request-id"],
            a["headers"]["Client-Request-Id"]
        );
    }
    // The batch's client-request-id, or the item's own.
    for id in ["after-missing", "both"] {
        assert_eq!(
            answer(&b, id)["headers"]["Client-Request-Id"],
            missing["headers"]["Client-Request-Id"]
        );
    }
    assert_eq!(
        answer(&b, "own-client-id")["headers"]["Client-Request-Id"],
        "5d1c7a9e-0f3b-4c8e-9a61-2b7d4e8f1c03"
    );
}

#[tokio::test]
async fn each_sub_request_is_checked_as_the_route_checks_it() {
    let t = TestServer::start().await;
    let admin = t.admin_token().await;
    let alice = t.create_user(&admin, "alice", "Alice").await;
    let alice_upn = alice["userPrincipalName"].as_str().unwrap().to_string();
    let (_, foreign_admin) = t.other_tenant("Fabrikam", "fabrikam.example").await;
    let (s, foreign) = t
        .post(
            "/v1.0/users",
            &foreign_admin,
            &user_body("frank", "Frank", "fabrikam.example"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{foreign}");
    let foreign_id = foreign["id"].as_str().unwrap();

    // An app that may read users but not write them.
    let reader = app_with(&t, "User.Read.All").await;
    let requests = json!([
        { "id": "1", "method": "GET", "url": "/users" },
        { "id": "2", "method": "POST", "url": "/users", "headers": { "Content-Type": "application/json" },
          "body": user_body("eve", "Eve", &t.domain()) },
        { "id": "3", "method": "GET", "url": format!("/users/{foreign_id}") },
        { "id": "4", "method": "GET", "url": "/me" },
        { "id": "5", "method": "DELETE", "url": format!("/users/{}", alice["id"].as_str().unwrap()) },
        { "id": "6", "method": "GET", "url": "/chats" },
    ]);
    let (s, b) = batch(&t, "v1.0", &reader, &json!({ "requests": requests })).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(status(&b, "1"), 200);
    assert_item_error(&b, "2", 403, "Authorization_RequestDenied");
    assert_item_error(&b, "3", 404, "Request_ResourceNotFound");
    assert_item_error(&b, "5", 403, "Authorization_RequestDenied");
    // Every answer is the route's own: same status and code as the request sent alone.
    for r in requests.as_array().unwrap() {
        let method = Method::from_bytes(r["method"].as_str().unwrap().as_bytes()).unwrap();
        let mut alone = t.request(
            method,
            &format!("/v1.0{}", r["url"].as_str().unwrap()),
            &reader,
        );
        if !r["body"].is_null() {
            alone = alone.json(&r["body"]);
        }
        let (s, body) = json(alone.send().await.unwrap()).await;
        let id = r["id"].as_str().unwrap();
        assert_eq!(s.as_u16() as u64, status(&b, id), "{id}: {body} vs {b}");
        assert_eq!(
            body["error"]["code"],
            answer(&b, id)["body"]["error"]["code"]
        );
    }

    // A delegated token with User.Read only: itself yes, the directory no.
    let alice_token = t.user_token(&alice_upn, PASSWORD, "User.Read").await;
    let (s, b) = batch(
        &t,
        "beta",
        &alice_token,
        &json!({ "requests": [
            { "id": "me", "method": "GET", "url": "/me" },
            { "id": "users", "method": "GET", "url": "/users" },
            { "id": "chats", "method": "GET", "url": "/me/chats" },
        ]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(answer(&b, "me")["body"]["userPrincipalName"], alice_upn);
    assert!(
        answer(&b, "me")["body"]["@odata.context"]
            .as_str()
            .unwrap()
            .contains("/beta/$metadata"),
        "{b}"
    );
    assert_item_error(&b, "users", 403, "Authorization_RequestDenied");
    assert_item_error(&b, "chats", 403, "Forbidden");
}

#[tokio::test]
async fn urls_the_sdks_send_and_bodies_they_write() {
    let t = TestServer::start().await;
    let admin = t.admin_token().await;
    let carol = t.create_user(&admin, "carol", "Carol").await;
    let carol_id = carol["id"].as_str().unwrap();
    let kiota_body = base64_of(&json!({ "displayName": "Carol K." }).to_string());
    let r = t
        .request(Method::POST, "/v1.0/$batch", &admin)
        .header("client-request-id", "0b8d9a40-6c53-4a57-a7de-5a7c1dbd1f7d")
        .json(&json!({ "requests": [
            // msgraph-sdk-python: absolute URLs on the server's origin.
            { "id": "absolute", "method": "GET", "url": t.url(&format!("/v1.0/users/{carol_id}")) },
            // Absolute on Graph's own host, as an app written for Graph would keep it.
            { "id": "graph-host", "method": "GET",
              "url": format!("https://graph.microsoft.com/v1.0/users/{carol_id}?$select=id") },
            // The JavaScript client keeps the version it was given.
            { "id": "versioned", "method": "GET", "url": format!("/v1.0/users/{carol_id}") },
            { "id": "bare", "method": "GET", "url": format!("users/{carol_id}") },
            // Kiota's BatchRequestContent: a base64 body and no headers at all.
            { "id": "kiota", "method": "PATCH", "url": format!("/users/{carol_id}"), "body": kiota_body,
              "dependsOn": ["bare"] },
            // JSON written as a string, with its Content-Type.
            { "id": "string-json", "method": "PATCH", "url": format!("/users/{carol_id}"),
              "headers": { "Content-Type": "application/json" }, "body": "{\"jobTitle\":\"Engineer\"}",
              "dependsOn": ["kiota"] },
            // A JSON type declared: the string is the JSON text, never base64 (this one decodes
            // to a JSON object, which must not be taken for the body).
            { "id": "json-declared-base64", "method": "PATCH", "url": format!("/users/{carol_id}"),
              "headers": { "Content-Type": "application/json" },
              "body": base64_of(&json!({ "jobTitle": "Decoded" }).to_string()),
              "dependsOn": ["string-json"] },
            // Headers, but no Content-Type: not Kiota's headerless form, so no guessing.
            { "id": "headers-base64", "method": "PATCH", "url": format!("/users/{carol_id}"),
              "headers": { "Accept": "application/json" },
              "body": base64_of(&json!({ "jobTitle": "Guessed" }).to_string()),
              "dependsOn": ["string-json"] },
            { "id": "after", "method": "GET", "url": format!("/users/{carol_id}?$select=displayName,jobTitle"),
              // Runs after the two above, which come first in the batch.
              "dependsOn": ["string-json"] },
            { "id": "count", "method": "GET", "url": "/users/$count",
              "headers": { "ConsistencyLevel": "eventual" } },
            { "id": "other-version", "method": "GET", "url": format!("/beta/users/{carol_id}") },
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["client-request-id"],
        "0b8d9a40-6c53-4a57-a7de-5a7c1dbd1f7d"
    );
    let (s, b) = json(r).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    for id in ["absolute", "graph-host", "versioned", "bare"] {
        assert_eq!(status(&b, id), 200, "{id}: {b}");
        assert_eq!(answer(&b, id)["body"]["id"], carol_id);
        // The batch's client-request-id travels with every sub-request.
        assert_eq!(
            answer(&b, id)["headers"]["Client-Request-Id"],
            "0b8d9a40-6c53-4a57-a7de-5a7c1dbd1f7d"
        );
    }
    assert_eq!(status(&b, "kiota"), 204, "{b}");
    assert_eq!(status(&b, "string-json"), 204, "{b}");
    assert_item_error(&b, "json-declared-base64", 400, "BadRequest");
    assert_item_error(&b, "headers-base64", 400, "BadRequest");
    assert_eq!(answer(&b, "after")["body"]["displayName"], "Carol K.");
    assert_eq!(answer(&b, "after")["body"]["jobTitle"], "Engineer");
    // A body that is not JSON comes back in base64, as Graph writes binary bodies.
    let count = answer(&b, "count");
    assert_eq!(count["status"], 200, "{count}");
    assert!(
        count["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(count["body"], base64_of("1"), "{count}");
    assert_item_error(&b, "other-version", 400, "BadRequest");
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test]
async fn sub_request_mistakes_fail_alone() {
    let t = TestServer::start().await;
    let admin = t.admin_token().await;
    let (s, b) = batch(
        &t,
        "v1.0",
        &admin,
        &json!({ "requests": [
            { "id": "no-content-type", "method": "POST", "url": "/users",
              "body": user_body("dan", "Dan", &t.domain()) },
            { "id": "headers-without-content-type", "method": "POST", "url": "/users",
              "headers": { "Accept": "application/json" }, "body": user_body("dan", "Dan", &t.domain()) },
            { "id": "nested", "method": "POST", "url": "/$batch",
              "headers": { "Content-Type": "application/json" }, "body": { "requests": [] } },
            { "id": "unknown-route", "method": "GET", "url": "/nowhere" },
            { "id": "wrong-method", "method": "PUT", "url": "/users" },
            { "id": "bad-query", "method": "GET", "url": "/users?$top=banana" },
            { "id": "fine", "method": "GET", "url": "/users" },
            // A link embedded after the version (the JavaScript client's PageIterator form) is
            // checked as the path it names: no other version, no nested batch.
            { "id": "embedded-other-version", "method": "GET", "url": "/http://x/beta/me" },
            { "id": "embedded-after-version", "method": "GET", "url": "/v1.0/https://x/beta/users" },
            { "id": "embedded-nested", "method": "POST", "url": "/http://x/v1.0/$batch",
              "headers": { "Content-Type": "application/json" }, "body": { "requests": [] } },
            { "id": "embedded-same-version", "method": "GET", "url": "/http://x/v1.0/users?$top=1" },
        ]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    for id in ["embedded-other-version", "embedded-after-version"] {
        assert_item_error(&b, id, 400, "BadRequest");
        let message = answer(&b, id)["body"]["error"]["message"].as_str().unwrap();
        assert!(message.contains("'beta'"), "{id}: {message}");
    }
    for id in ["nested", "embedded-nested"] {
        assert_item_error(&b, id, 400, "BadRequest");
        // Refused by the batch itself, answered with a sub-response's headers all the same.
        let headers = &answer(&b, id)["headers"];
        assert_eq!(headers["OData-Version"], "4.0", "{headers}");
        assert!(headers["Request-Id"].is_string(), "{headers}");
        assert_eq!(
            headers["Client-Request-Id"],
            answer(&b, "fine")["headers"]["Client-Request-Id"]
        );
        let message = answer(&b, id)["body"]["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("cannot contain another batch"),
            "{id}: {message}"
        );
    }
    assert_eq!(status(&b, "embedded-same-version"), 200, "{b}");
    assert_item_error(&b, "no-content-type", 400, "BadRequest");
    assert_item_error(&b, "headers-without-content-type", 400, "BadRequest");
    assert_item_error(&b, "nested", 400, "BadRequest");
    assert_item_error(&b, "unknown-route", 404, "NotFound");
    assert_item_error(&b, "wrong-method", 405, "Request_BadRequest");
    assert_eq!(status(&b, "bad-query"), 400);
    assert_eq!(status(&b, "fine"), 200);
    // The refused creations did not happen.
    let (s, _) = t
        .get(&format!("/v1.0/users/dan@{}", t.domain()), &admin)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn malformed_batches_are_refused_whole() {
    let t = TestServer::start().await;
    let admin = t.admin_token().await;
    let get = |id: &str| json!({ "id": id, "method": "GET", "url": "/users" });

    // No token, a bad token: 401 like any route.
    let r = t
        .client
        .post(t.url("/v1.0/$batch"))
        .json(&json!({ "requests": [get("1")] }))
        .send()
        .await
        .unwrap();
    let (s, body) = json(r).await;
    assert_error(s, &body, 401, "InvalidAuthenticationToken");
    let (s, body) = batch(
        &t,
        "beta",
        "not-a-token",
        &json!({ "requests": [get("1")] }),
    )
    .await;
    assert_error(s, &body, 401, "InvalidAuthenticationToken");

    let twenty: Vec<Value> = (1..=20).map(|i| get(&i.to_string())).collect();
    let (s, b) = batch(&t, "v1.0", &admin, &json!({ "requests": twenty })).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["responses"].as_array().unwrap().len(), 20);

    // Header values that are numbers or booleans are read as their JSON text.
    let (s, b) = batch(
        &t,
        "v1.0",
        &admin,
        &json!({ "requests": [{ "id": "1", "method": "GET", "url": "/users/$count",
            "headers": { "ConsistencyLevel": "eventual", "X-Retry-Count": 2, "X-Test": true } }] }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(status(&b, "1"), 200, "{b}");

    let twenty_one: Vec<Value> = (1..=21).map(|i| get(&i.to_string())).collect();
    let cases = [
        json!({ "requests": twenty_one }),
        json!({}),
        json!({ "requests": [] }),
        json!({ "requests": "all of them" }),
        json!({ "requests": [1, 2] }),
        json!({ "requests": [get("a"), get("A")] }),
        json!({ "requests": [{ "method": "GET", "url": "/users" }] }),
        json!({ "requests": [{ "id": 7, "method": "GET", "url": "/users" }] }),
        json!({ "requests": [{ "id": "1", "url": "/users" }] }),
        json!({ "requests": [{ "id": "1", "method": "GET" }] }),
        json!({ "requests": [{ "id": "1", "method": "G E T", "url": "/users" }] }),
        json!({ "requests": [{ "id": "1", "method": "GET", "url": "/users", "headers": ["x"] }] }),
        json!({ "requests": [{ "id": "1", "method": "GET", "url": "/users", "headers": { "a": {} } }] }),
        json!({ "requests": [{ "id": "1", "method": "GET", "url": "/users", "headers": { "a": null } }] }),
        json!({ "requests": [{ "id": "1", "method": "GET", "url": "/users", "headers": { "a": ["x"] } }] }),
        json!({ "requests": [{ "id": "1", "method": "GET", "url": "/users", "dependsOn": ["2"] }] }),
        json!({ "requests": [{ "id": "1", "method": "GET", "url": "/users", "dependsOn": "2" }] }),
        json!({ "requests": [{ "id": "1", "method": "GET", "url": "/users", "dependsOn": ["1"] }] }),
        json!({ "requests": [
            { "id": "1", "method": "GET", "url": "/users", "dependsOn": ["3"] },
            { "id": "2", "method": "GET", "url": "/users", "dependsOn": ["1"] },
            { "id": "3", "method": "GET", "url": "/users", "dependsOn": ["2"] },
        ]}),
    ];
    for case in cases {
        let (s, body) = batch(&t, "v1.0", &admin, &case).await;
        assert_error(s, &body, 400, "BadRequest");
        assert!(body.get("responses").is_none(), "{case}: {body}");
    }

    // Not JSON, not an object, not JSON's media type.
    for (content_type, text) in [
        ("application/json", "{\"requests\": ["),
        ("application/json", "[]"),
        ("text/plain", "{\"requests\": []}"),
    ] {
        let r = t
            .request(Method::POST, "/v1.0/$batch", &admin)
            .header("content-type", content_type)
            .body(text)
            .send()
            .await
            .unwrap();
        let (s, body) = json(r).await;
        let expected = if content_type == "text/plain" {
            415
        } else {
            400
        };
        assert_eq!(s.as_u16(), expected, "{text}: {body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    // $batch takes POST only; the path is case-insensitive like every Graph segment.
    let (s, body) = t.get("/v1.0/$batch", &admin).await;
    assert_error(s, &body, 405, "Request_BadRequest");
    let (s, _) = t
        .post("/v1.0/$BATCH", &admin, &json!({ "requests": [get("1")] }))
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn credentials_and_host_inside_an_item_are_ignored() {
    let t = TestServer::start().await;
    let admin = t.admin_token().await;
    let alice = t.create_user(&admin, "alice", "Alice").await;
    let alice_upn = alice["userPrincipalName"].as_str().unwrap().to_string();
    let alice_token = t.user_token(&alice_upn, PASSWORD, "User.Read").await;
    // The smuggled token is good on its own: it may list users.
    let (s, _) = t.get("/v1.0/users", &admin).await;
    assert_eq!(s, StatusCode::OK);

    let (s, b) = batch(
        &t,
        "v1.0",
        &alice_token,
        &json!({ "requests": [
            { "id": "smuggled-token", "method": "GET", "url": "/users",
              "headers": { "Authorization": format!("Bearer {admin}") } },
            { "id": "smuggled-token-lowercase", "method": "GET", "url": "/users",
              "headers": { " authorization ": format!("Bearer {admin}") } },
            { "id": "smuggled-host", "method": "GET", "url": "/me",
              "headers": { "Host": "evil.example", "Authorization": format!("Bearer {admin}") } },
        ]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Answered as the batch's own User.Read token is answered on /users.
    let (alone, body) = t.get("/v1.0/users", &alice_token).await;
    assert_error(alone, &body, 403, "Authorization_RequestDenied");
    assert_item_error(&b, "smuggled-token", 403, "Authorization_RequestDenied");
    assert_item_error(
        &b,
        "smuggled-token-lowercase",
        403,
        "Authorization_RequestDenied",
    );
    // /me is still Alice (the batch's token), and its links name the host the batch was sent to.
    let me = answer(&b, "smuggled-host");
    assert_eq!(me["status"], 200, "{me}");
    assert_eq!(me["body"]["userPrincipalName"], alice_upn.as_str());
    let context = me["body"]["@odata.context"].as_str().unwrap();
    assert!(
        context.starts_with(&format!("{}/v1.0/$metadata#", t.base)),
        "{context}"
    );
    assert!(!context.contains("evil.example"), "{context}");
}
