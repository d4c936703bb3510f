//! Graph's protocol core, shared by every route: errors, headers, URL forms, query options, paging.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn unknown_route_and_wrong_method_get_graph_envelopes() {
    let t = TestServer::start().await;
    let token = t.admin_token().await;
    let r = t
        .request(Method::GET, "/v1.0/nonsense", &token)
        .header("client-request-id", "my-correlation-id")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("request-id").is_some());
    assert_eq!(r.headers()["client-request-id"], "my-correlation-id");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let (status, body) = json(r).await;
    assert_error(status, &body, 404, "NotFound");
    assert_eq!(
        body["error"]["innerError"]["client-request-id"],
        "my-correlation-id"
    );

    let (status, body) = t.delete("/v1.0/users", &token).await;
    assert_error(status, &body, 405, "Request_BadRequest");

    // Without a client-request-id, Graph echoes its own request-id.
    let r = t
        .request(Method::GET, "/beta/nonsense", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["client-request-id"], r.headers()["request-id"]);
}

#[tokio::test]
async fn bodies_malformed_wrong_type_too_large() {
    let t = TestServer::start_with(|c| c.max_body_bytes = 64 * 1024).await;
    let token = t.admin_token().await;
    let send = |body: &'static str, content_type: &'static str| {
        t.request(Method::POST, "/v1.0/users", &token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let (status, body) = json(send("{not json", "application/json").await.unwrap()).await;
    assert_error(status, &body, 400, "BadRequest");
    let (status, body) = json(send("[1,2]", "application/json").await.unwrap()).await;
    assert_error(status, &body, 400, "BadRequest");
    let (status, body) = json(send("{}", "text/plain").await.unwrap()).await;
    assert_error(status, &body, 415, "UnsupportedMediaType");
    let big = format!("{{\"displayName\":\"{}\"}}", "x".repeat(100 * 1024));
    let r = t
        .request(Method::POST, "/v1.0/users", &token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    let (status, body) = json(r).await;
    assert_error(status, &body, 413, "RequestEntityTooLarge");
    // A property of the wrong type names the property.
    let mut user = user_body("typed", "Typed", &t.domain());
    user["accountEnabled"] = json!("yes");
    let (status, body) = t.post("/v1.0/users", &token, &user).await;
    assert_error(status, &body, 400, "Request_BadRequest");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("accountEnabled")
    );
}

#[tokio::test]
async fn query_option_spellings_and_errors() {
    let t = TestServer::start().await;
    let token = t.admin_token().await;
    for alias in ["ada", "bob", "cyd"] {
        t.create_user(&token, alias, &alias.to_uppercase()).await;
    }
    for query in ["$top=2", "%24top=2", "$TOP=2", "$Top=2"] {
        let (status, body) = t.get(&format!("/v1.0/users?{query}"), &token).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(body["value"].as_array().unwrap().len(), 2, "{query}");
    }
    let (status, body) = t.get("/v1.0/users?$top=2&$top=3", &token).await;
    assert_error(status, &body, 400, "BadRequest");
    let (status, body) = t.get("/v1.0/users?$frobnicate=1", &token).await;
    assert_error(status, &body, 400, "BadRequest");
    let (status, body) = t.get("/v1.0/users?$top=1000", &token).await;
    assert_error(status, &body, 400, "Request_BadRequest");
    let (status, body) = t.get("/v1.0/users?$top=-1", &token).await;
    assert_error(status, &body, 400, "BadRequest");
    let (status, body) = t.get("/v1.0/users?$skip=1", &token).await;
    assert_error(status, &body, 400, "Request_BadRequest");
}

#[tokio::test]
async fn key_in_parentheses_and_both_versions() {
    let t = TestServer::start().await;
    let token = t.admin_token().await;
    let user = t.create_user(&token, "paren", "Paren").await;
    let id = user["id"].as_str().unwrap();
    for path in [
        format!("/v1.0/users('{id}')"),
        format!("/beta/users/{id}"),
        format!("/v1.0/Users('{id}')"),
    ] {
        let (status, body) = t.get(&path, &token).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(body["id"], id);
    }
    let (_, body) = t.get(&format!("/beta/users/{id}"), &token).await;
    assert!(
        body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/beta/$metadata#users/$entity")
    );
}

#[tokio::test]
async fn paging_is_keyset_based_and_stable_under_inserts() {
    let t = TestServer::start().await;
    let token = t.admin_token().await;
    let mut expected = Vec::new();
    for i in 0..25 {
        let u = t
            .create_user(&token, &format!("page{i:02}"), &format!("Page {i:02}"))
            .await;
        expected.push(u["id"].as_str().unwrap().to_string());
    }
    // Walk pages of 10 while inserting between pages: every user that existed at the start is
    // seen exactly once.
    let mut seen = Vec::new();
    let mut url = t.url("/v1.0/users?$top=10&$select=id,displayName");
    let mut pages = 0;
    loop {
        let (status, page) =
            json(t.client.get(&url).bearer_auth(&token).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(
            page["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with("$metadata#users(id,displayName)")
        );
        for u in page["value"].as_array().unwrap() {
            seen.push(u["id"].as_str().unwrap().to_string());
        }
        pages += 1;
        t.create_user(&token, &format!("late{pages}"), "Late").await;
        match page["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.contains("$skiptoken="), "{next}");
                assert!(next.contains("$top=10"), "{next}");
                url = next.to_string();
            }
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no user twice");
    for id in &expected {
        assert!(seen.contains(id), "user {id} missing from the pages");
    }
    // A forged or foreign skiptoken is refused.
    let (status, body) = t.get("/v1.0/users?$skiptoken=garbage", &token).await;
    assert_error(status, &body, 400, "Request_BadRequest");
}

#[tokio::test]
async fn bad_filters_are_400_never_500() {
    let t = TestServer::start().await;
    let token = t.admin_token().await;
    let deep = format!(
        "{}displayName eq 'a'{}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    let cases = [
        "nosuchproperty eq 'a'".to_string(),
        "displayName eq 5".to_string(),
        "accountEnabled eq 'yes'".to_string(),
        "(displayName eq 'a'".to_string(),
        "displayName eq 'a')".to_string(),
        "displayName eq".to_string(),
        "startswith(displayName)".to_string(),
        deep,
        format!("{}true", "not ".repeat(5_000)),
    ];
    for filter in cases {
        let r = t
            .client
            .get(t.url("/v1.0/users"))
            .query(&[("$filter", filter.as_str())])
            .header("ConsistencyLevel", "eventual")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let (status, body) = json(r).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{}: {body}",
            &filter[..filter.len().min(60)]
        );
        assert!(
            body["error"]["code"].as_str().unwrap().contains("Request")
                || body["error"]["code"] == "BadRequest",
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_next_link_taken_for_a_path_is_followed() {
    // The Graph client v3's PageIterator over plain http sends `/v1.0/{nextLink}` (it recognises
    // only https links as absolute): the link is followed as if requested directly.
    let t = TestServer::start().await;
    let token = t.admin_token().await;
    for i in 0..3 {
        t.create_user(&token, &format!("link{i}"), &format!("Link {i}"))
            .await;
    }
    let (status, first) = t
        .get(
            "/v1.0/users?$filter=startswith(displayName,'Link')&$top=2",
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let next = first["@odata.nextLink"].as_str().unwrap();
    let (_, direct) = json(t.client.get(next).bearer_auth(&token).send().await.unwrap()).await;
    for version in ["v1.0", "beta"] {
        let mangled = format!("{}/{version}/{next}", t.base);
        let (status, page) = json(
            t.client
                .get(&mangled)
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{mangled}: {page}");
        assert_eq!(page["value"], direct["value"]);
        assert_eq!(page["value"].as_array().unwrap().len(), 1);
        assert_eq!(page["@odata.context"], direct["@odata.context"]);
    }
    // Only a whole link: an origin without a version after it is still an unknown segment.
    let (status, body) = t.get(&format!("/v1.0/{}/users", t.base), &token).await;
    assert_error(status, &body, 404, "NotFound");
}
