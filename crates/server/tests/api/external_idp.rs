//! External identity providers: a Switchboard trusts the tokens of another OpenID Connect issuer
//! for its own users. The other issuer here is real: a second Switchboard server, with its own
//! data directory and signing keys, serving its discovery document and JWKS over HTTP.
//!
//! Its *access tokens* are what an API receives, so they carry what the mapping must handle
//! (`scp`, `roles`, the user's name) and are the faithful test: `iss` is
//! `https://sts.windows.net/{tid}/`, a v1 issuer that serves no discovery document (as with the
//! Microsoft identity platform's own v1 tokens), so that trust names its `jwks_uri`. Its *id tokens*
//! have the issuer its discovery document names (`{base}/{tid}/v2.0`), so a second trust exercises
//! discovery and the default `preferred_username` claim; an id token carries no scopes, so its
//! user is authenticated but may do nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_auth::TrustedIssuer;

use crate::harness::*;

fn trust(
    issuer: String,
    audience: &str,
    jwks_uri: Option<String>,
    tenant: &str,
    user_claim: &str,
) -> TrustedIssuer {
    TrustedIssuer {
        issuer,
        audience: audience.into(),
        jwks_uri,
        tenant: tenant.into(),
        user_claim: user_claim.into(),
        scopes_claim: "scp".into(),
        roles_claim: "roles".into(),
    }
}

/// A delegated token set (access and id token) for `upn` from `t`'s token endpoint.
async fn sign_in(t: &TestServer, upn: &str, scope: &str) -> Value {
    let c = t.creds().clone();
    let (status, body) = t
        .token_request(
            &c.tenant_id,
            &[
                ("grant_type", "password"),
                ("client_id", &c.client_id),
                ("client_secret", &c.client_secret),
                ("username", upn),
                ("password", PASSWORD),
                ("scope", scope),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn field(body: &Value, name: &str) -> String {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        .to_string()
}

#[tokio::test]
async fn tokens_of_a_trusted_issuer_act_as_local_users() {
    // The identity provider: another Switchboard, whose users have the same domain.
    let idp = TestServer::start().await;
    let idp_tid = idp.creds().tenant_id.clone();
    let idp_admin = idp.admin_token().await;
    idp.create_user(&idp_admin, "alice", "Alice at the IdP")
        .await;
    idp.create_user(&idp_admin, "bob", "Bob, unknown to the API")
        .await;

    let domain = "switchboard.example";
    let access_issuer = format!("https://sts.windows.net/{idp_tid}/");
    let id_issuer = format!("{}/{idp_tid}/v2.0", idp.base);
    let idp_client = idp.creds().client_id.clone();
    let t = {
        let (access_issuer, id_issuer, jwks) = (
            access_issuer.clone(),
            id_issuer.clone(),
            format!("{}/{idp_tid}/discovery/v2.0/keys", idp.base),
        );
        let idp_client = idp_client.clone();
        TestServer::start_with(move |c| {
            c.trusted_issuers = vec![
                trust(
                    access_issuer,
                    "https://graph.microsoft.com",
                    Some(jwks),
                    domain,
                    "upn",
                ),
                // No jwks_uri: found in {issuer}/.well-known/openid-configuration.
                trust(id_issuer, &idp_client, None, domain, "preferred_username"),
            ];
        })
        .await
    };
    assert_eq!(t.domain(), domain);
    let admin = t.admin_token().await;
    let alice = t.create_user(&admin, "alice", "Alice").await;

    // Alice signs in at the IdP; the API takes the IdP's access token as its own Alice.
    let tokens = sign_in(&idp, &format!("alice@{domain}"), "User.Read openid profile").await;
    let access = field(&tokens, "access_token");
    let (status, me) = t.get("/v1.0/me", &access).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["id"], alice["id"], "the local user, not the IdP's");
    assert_eq!(me["displayName"], "Alice");
    // The same permission checks: User.Read does not list users.
    let (status, body) = t.get("/v1.0/users", &access).await;
    assert_error(status, &body, 403, "Authorization_RequestDenied");
    let wider = field(
        &sign_in(&idp, &format!("alice@{domain}"), "User.Read.All").await,
        "access_token",
    );
    let (status, users) = t.get("/v1.0/users", &wider).await;
    assert_eq!(status, StatusCode::OK, "{users}");
    assert_eq!(users["value"][0]["id"], alice["id"]);

    // A user the API does not have is refused, as Graph refuses a bad token.
    let bob = field(
        &sign_in(&idp, &format!("bob@{domain}"), "User.Read").await,
        "access_token",
    );
    let (status, body) = t.get("/v1.0/me", &bob).await;
    assert_error(status, &body, 401, "InvalidAuthenticationToken");

    // The id token: its issuer is found by discovery; Alice is known, but it grants no scope.
    let id_token = field(&tokens, "id_token");
    let (status, body) = t.get("/v1.0/me", &id_token).await;
    assert_error(status, &body, 403, "Authorization_RequestDenied");
    let bob_id = field(
        &sign_in(&idp, &format!("bob@{domain}"), "openid").await,
        "id_token",
    );
    let (status, body) = t.get("/v1.0/me", &bob_id).await;
    assert_error(status, &body, 401, "InvalidAuthenticationToken");

    // App-only tokens of the issuer act with their roles in the configured tenant.
    let (status, users) = t.get("/v1.0/users", &idp_admin).await;
    assert_eq!(status, StatusCode::OK, "{users}");
    assert_eq!(
        users["value"].as_array().unwrap().len(),
        1,
        "the API's users, not the IdP's"
    );

    // Tampered, re-signed with HS256, or without a signature: refused.
    let mut parts: Vec<String> = access.split('.').map(str::to_string).collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["scp"] = json!("User.ReadWrite.All");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[0]).unwrap()).unwrap();
    let hs256 = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD
            .encode(json!({ "alg": "HS256", "typ": "JWT", "kid": header["kid"] }).to_string()),
        parts[1],
        parts[2]
    );
    parts[2] = String::new();
    let unsigned = parts.join(".");
    for bad in [tampered, hs256, unsigned] {
        let (status, body) = t.get("/v1.0/me", &bad).await;
        assert_error(status, &body, 401, "InvalidAuthenticationToken");
    }
    // The API's own tokens work as before.
    let (status, _) = t.get("/v1.0/users", &admin).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn audience_and_expiry_are_checked() {
    let idp = TestServer::start().await;
    // An issuer whose tokens are issued already expired (two minutes: past any clock leeway).
    let stale = TestServer::start_with(|c| c.token_lifetime_secs = -120).await;
    let domain = "switchboard.example";
    let trusts = vec![
        // Trusted, but for another audience than the tokens carry.
        trust(
            format!("https://sts.windows.net/{}/", idp.creds().tenant_id),
            "api://switchboard",
            Some(format!(
                "{}/{}/discovery/v2.0/keys",
                idp.base,
                idp.creds().tenant_id
            )),
            domain,
            "upn",
        ),
        trust(
            format!("https://sts.windows.net/{}/", stale.creds().tenant_id),
            "https://graph.microsoft.com",
            Some(format!(
                "{}/{}/discovery/v2.0/keys",
                stale.base,
                stale.creds().tenant_id
            )),
            domain,
            "upn",
        ),
    ];
    let t = TestServer::start_with(move |c| c.trusted_issuers = trusts).await;
    let admin = t.admin_token().await;
    t.create_user(&admin, "alice", "Alice").await;
    let idp_admin = idp.admin_token().await;
    idp.create_user(&idp_admin, "alice", "Alice").await;

    let wrong_audience = field(
        &sign_in(&idp, &format!("alice@{domain}"), "User.Read").await,
        "access_token",
    );
    let (status, body) = t.get("/v1.0/me", &wrong_audience).await;
    assert_error(status, &body, 401, "InvalidAuthenticationToken");
    assert_eq!(
        body["error"]["message"],
        "Access token validation failure. Invalid audience."
    );

    // (The stale issuer cannot even use its own tokens, so its app-only token stands in.)
    let expired = stale.admin_token().await;
    let (status, body) = t.get("/v1.0/me", &expired).await;
    assert_error(status, &body, 401, "InvalidAuthenticationToken");
    assert_eq!(
        body["error"]["message"],
        "Access token has expired or is not yet valid."
    );
}

#[tokio::test]
async fn an_untrusted_or_unreachable_issuer_is_refused() {
    let idp = TestServer::start().await;
    let tid = idp.creds().tenant_id.clone();
    // Discovery on a port nobody listens on: the keys cannot be fetched.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        format!("http://127.0.0.1:{port}/{tid}/v2.0")
    };
    let t = TestServer::start_with(move |c| {
        c.trusted_issuers = vec![trust(
            format!("https://sts.windows.net/{tid}/"),
            "https://graph.microsoft.com",
            Some(format!("{dead}/keys")),
            "switchboard.example",
            "upn",
        )];
    })
    .await;
    let token = idp.admin_token().await;
    let (status, body) = t.get("/v1.0/users", &token).await;
    assert_error(status, &body, 401, "InvalidAuthenticationToken");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("could not be fetched"),
        "{body}"
    );

    // A plain-http issuer off this machine is refused at start.
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.trusted_issuers = vec![trust(
        "http://idp.example.org/t/v2.0".into(),
        "api://x",
        None,
        "switchboard.example",
        "upn",
    )];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = switchboard::Server::start(config, listener)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("https"), "{err}");
}
