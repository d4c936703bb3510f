//! The token endpoint and token validation on Graph routes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::*;

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn client_credentials_grant() {
    let t = TestServer::start().await;
    let c = t.creds().clone();
    let (status, body) = t
        .token_request(
            &c.tenant_id,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &c.client_id),
                ("client_secret", &c.client_secret),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 3000);
    assert!(body.get("refresh_token").is_none());
    let claims = claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["tid"], c.tenant_id.as_str());
    assert_eq!(claims["appid"], c.client_id.as_str());
    assert_eq!(claims["aud"], "https://graph.microsoft.com");
    assert_eq!(claims["iss"], format!("https://sts.windows.net/{}/", c.tenant_id));
    assert_eq!(claims["idtyp"], "app");
    assert!(claims["roles"].as_array().unwrap().iter().any(|r| r == "User.ReadWrite.All"));
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());

    // The tenant may be named by its domain, and the secret sent as HTTP Basic.
    let r = t
        .client
        .post(t.url(&format!("/{}/oauth2/v2.0/token", c.domain)))
        .basic_auth(&c.client_id, Some(&c.client_secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "https://graph.microsoft.com/.default")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The credentials file says where the endpoint is.
    assert_eq!(c.token_endpoint, format!("{}/{}/oauth2/v2.0/token", t.base, c.tenant_id));
}

#[tokio::test]
async fn token_errors_as_the_identity_platform() {
    let t = TestServer::start().await;
    let c = t.creds().clone();
    let base = [("client_id", c.client_id.as_str()), ("scope", "https://graph.microsoft.com/.default")];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut f: Vec<(&str, &str)> = base.to_vec();
        f.extend_from_slice(extra);
        f
    };
    let cases: Vec<(Vec<(&str, &str)>, u16, &str, &str)> = vec![
        (with(&[("grant_type", "client_credentials"), ("client_secret", "wrong")]), 401, "invalid_client", "AADSTS7000215"),
        (with(&[("grant_type", "client_credentials")]), 401, "invalid_client", "AADSTS7000215"),
        (with(&[("grant_type", "magic")]), 400, "unsupported_grant_type", "AADSTS70003"),
        (vec![("grant_type", "client_credentials")], 400, "invalid_request", "AADSTS900144"),
    ];
    for (form, status, error, code) in cases {
        let (s, body) = t.token_request(&c.tenant_id, &form).await;
        assert_eq!(s.as_u16(), status, "{body}");
        assert_eq!(body["error"], error, "{body}");
        assert!(body["error_description"].as_str().unwrap().starts_with(code), "{body}");
        assert!(body["error_codes"].is_array() && body["trace_id"].is_string() && body["correlation_id"].is_string());
    }
    let (s, body) = t
        .token_request(
            &c.tenant_id,
            &[("grant_type", "client_credentials"), ("client_id", &c.client_id), ("client_secret", &c.client_secret), ("scope", "User.Read")],
        )
        .await;
    assert_eq!((s.as_u16(), body["error"].as_str()), (400, Some("invalid_scope")), "{body}");
    let (s, body) = t.token_request("no-such-tenant.example", &[("grant_type", "client_credentials")]).await;
    assert_eq!((s.as_u16(), body["error"].as_str()), (400, Some("invalid_tenant")), "{body}");
    // Password grant: wrong password and unknown user look the same.
    let admin = t.admin_token().await;
    let user = t.create_user(&admin, "pat", "Pat").await;
    let upn = user["userPrincipalName"].as_str().unwrap();
    for (username, password) in [(upn, "Wrong-Password-1"), ("ghost@nowhere.example", PASSWORD)] {
        let (s, body) = t
            .token_request(
                &c.tenant_id,
                &[("grant_type", "password"), ("client_id", &c.client_id), ("username", username), ("password", password), ("scope", "User.Read")],
            )
            .await;
        assert_eq!((s.as_u16(), body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
        assert!(body["error_description"].as_str().unwrap().starts_with("AADSTS50126"));
    }
}

#[tokio::test]
async fn graph_refuses_missing_bad_and_foreign_tokens() {
    let t = TestServer::start().await;
    let token = t.admin_token().await;
    let (status, body) = json(t.client.get(t.url("/v1.0/users")).send().await.unwrap()).await;
    assert_error(status, &body, 401, "InvalidAuthenticationToken");
    assert_eq!(body["error"]["message"], "Access token is empty.");

    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    // Tampered payload: more roles than granted.
    let mut payload = claims(&token);
    payload["roles"] = json!(["Everything.All"]);
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    let tampered = parts.join(".");
    // alg none with no signature.
    let none_header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    let alg_none = format!("{none_header}.{}.", parts[1]);
    // A well-formed token from another Switchboard (another signing key).
    let other = TestServer::start().await;
    let foreign = other.admin_token().await;
    for bad in [tampered.as_str(), alg_none.as_str(), foreign.as_str(), "not-a-jwt", "a.b.c"] {
        let (status, body) = t.get("/v1.0/users", bad).await;
        assert_error(status, &body, 401, "InvalidAuthenticationToken");
    }
    let r = t.request(Method::GET, "/v1.0/users", "nope").send().await.unwrap();
    assert!(r.headers().get("www-authenticate").is_some());
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let t = TestServer::start_with(|c| c.token_lifetime_secs = 1).await;
    let token = t.admin_token().await;
    let (status, _) = t.get("/v1.0/users", &token).await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, body) = t.get("/v1.0/users", &token).await;
    assert_error(status, &body, 401, "InvalidAuthenticationToken");
    assert_eq!(body["error"]["message"], "Access token has expired or is not yet valid.");
}

#[tokio::test]
async fn discovery_documents() {
    let t = TestServer::start().await;
    let tid = t.creds().tenant_id.clone();
    let (status, doc) = json(t.client.get(t.url(&format!("/{tid}/v2.0/.well-known/openid-configuration"))).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["token_endpoint"], format!("{}/{tid}/oauth2/v2.0/token", t.base));
    let (status, jwks) = json(t.client.get(doc["jwks_uri"].as_str().unwrap()).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["e"], "AQAB");
    // The token's kid is published.
    let token = t.admin_token().await;
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["kid"], key["kid"]);
    assert_eq!(header["alg"], "RS256");
}
