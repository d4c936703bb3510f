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
    assert_eq!(
        claims["iss"],
        format!("https://sts.windows.net/{}/", c.tenant_id)
    );
    assert_eq!(claims["idtyp"], "app");
    assert!(
        claims["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "User.ReadWrite.All")
    );
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());

    // The tenant may be named by its domain, and the secret sent as HTTP Basic.
    let r = t
        .client
        .post(t.url(&format!("/{}/oauth2/v2.0/token", c.domain)))
        .basic_auth(&c.client_id, Some(&c.client_secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The credentials file says where the endpoint is.
    assert_eq!(
        c.token_endpoint,
        format!("{}/{}/oauth2/v2.0/token", t.base, c.tenant_id)
    );
}

#[tokio::test]
async fn token_errors_as_the_identity_platform() {
    let t = TestServer::start().await;
    let c = t.creds().clone();
    let base = [
        ("client_id", c.client_id.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut f: Vec<(&str, &str)> = base.to_vec();
        f.extend_from_slice(extra);
        f
    };
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            with(&[
                ("grant_type", "client_credentials"),
                ("client_secret", "wrong"),
            ]),
            401,
            "invalid_client",
            "AADSTS7000215",
        ),
        (
            with(&[("grant_type", "client_credentials")]),
            401,
            "invalid_client",
            "AADSTS7000215",
        ),
        (
            with(&[("grant_type", "magic")]),
            400,
            "unsupported_grant_type",
            "AADSTS70003",
        ),
        (
            vec![("grant_type", "client_credentials")],
            400,
            "invalid_request",
            "AADSTS900144",
        ),
    ];
    for (form, status, error, code) in cases {
        let (s, body) = t.token_request(&c.tenant_id, &form).await;
        assert_eq!(s.as_u16(), status, "{body}");
        assert_eq!(body["error"], error, "{body}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with(code),
            "{body}"
        );
        assert!(
            body["error_codes"].is_array()
                && body["trace_id"].is_string()
                && body["correlation_id"].is_string()
        );
    }
    let (s, body) = t
        .token_request(
            &c.tenant_id,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &c.client_id),
                ("client_secret", &c.client_secret),
                ("scope", "User.Read"),
            ],
        )
        .await;
    assert_eq!(
        (s.as_u16(), body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );
    let (s, body) = t
        .token_request(
            "no-such-tenant.example",
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(
        (s.as_u16(), body["error"].as_str()),
        (400, Some("invalid_tenant")),
        "{body}"
    );
    // Password grant: wrong password and unknown user look the same.
    let admin = t.admin_token().await;
    let user = t.create_user(&admin, "pat", "Pat").await;
    let upn = user["userPrincipalName"].as_str().unwrap();
    for (username, password) in [
        (upn, "Wrong-Password-1"),
        ("ghost@nowhere.example", PASSWORD),
    ] {
        let (s, body) = t
            .token_request(
                &c.tenant_id,
                &[
                    ("grant_type", "password"),
                    ("client_id", &c.client_id),
                    ("username", username),
                    ("password", password),
                    ("scope", "User.Read"),
                ],
            )
            .await;
        assert_eq!(
            (s.as_u16(), body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with("AADSTS50126")
        );
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
    for bad in [
        tampered.as_str(),
        alg_none.as_str(),
        foreign.as_str(),
        "not-a-jwt",
        "a.b.c",
    ] {
        let (status, body) = t.get("/v1.0/users", bad).await;
        assert_error(status, &body, 401, "InvalidAuthenticationToken");
    }
    let r = t
        .request(Method::GET, "/v1.0/users", "nope")
        .send()
        .await
        .unwrap();
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
    assert_eq!(
        body["error"]["message"],
        "Access token has expired or is not yet valid."
    );
}

#[tokio::test]
async fn discovery_documents() {
    let t = TestServer::start().await;
    let tid = t.creds().tenant_id.clone();
    let (status, doc) = json(
        t.client
            .get(t.url(&format!("/{tid}/v2.0/.well-known/openid-configuration")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        doc["token_endpoint"],
        format!("{}/{tid}/oauth2/v2.0/token", t.base)
    );
    let (status, jwks) = json(
        t.client
            .get(doc["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["e"], "AQAB");
    // The token's kid is published.
    let token = t.admin_token().await;
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], key["kid"]);
    assert_eq!(header["alg"], "RS256");
}

fn form_token(body: &Value, field: &str) -> String {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {body}"))
        .to_string()
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let t = TestServer::start().await;
    let admin = t.admin_token().await;
    let user = t.create_user(&admin, "rita", "Rita").await;
    let upn = user["userPrincipalName"].as_str().unwrap();
    let c = t.creds().clone();
    let (status, first) = t
        .token_request(
            &c.tenant_id,
            &[
                ("grant_type", "password"),
                ("client_id", &c.client_id),
                ("username", upn),
                ("password", PASSWORD),
                ("scope", "User.Read offline_access openid profile"),
                ("client_info", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert!(
        first["scope"]
            .as_str()
            .unwrap()
            .contains("https://graph.microsoft.com/User.Read"),
        "{first}"
    );
    let info: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(form_token(&first, "client_info"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(info["uid"], user["id"]);
    assert_eq!(info["utid"], c.tenant_id.as_str());
    let id_claims = claims(&form_token(&first, "id_token"));
    assert_eq!(id_claims["aud"], c.client_id.as_str());
    assert_eq!(id_claims["iss"], format!("{}/{}/v2.0", t.base, c.tenant_id));
    assert_eq!(id_claims["preferred_username"], upn);

    let refresh = form_token(&first, "refresh_token");
    let (status, second) = t
        .token_request(
            &c.tenant_id,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &c.client_id),
                ("refresh_token", &refresh),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let (status, me) = t
        .get("/v1.0/me", &form_token(&second, "access_token"))
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let next = form_token(&second, "refresh_token");
    assert_ne!(next, refresh, "refresh tokens rotate");

    // Presenting the spent token again revokes the whole family, the fresh one included.
    let (status, body) = t
        .token_request(
            &c.tenant_id,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &c.client_id),
                ("refresh_token", &refresh),
            ],
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let (status, body) = t
        .token_request(
            &c.tenant_id,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &c.client_id),
                ("refresh_token", &next),
            ],
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let (status, body) = t
        .token_request(
            &c.tenant_id,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &c.client_id),
                ("refresh_token", "forged"),
            ],
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

/// The browser flow: sign-in page, code to a loopback redirect URI, code + PKCE verifier for tokens.
#[tokio::test]
async fn authorization_code_with_pkce() {
    let t = TestServer::start().await;
    let admin = t.admin_token().await;
    let user = t.create_user(&admin, "ava", "Ava").await;
    let upn = user["userPrincipalName"].as_str().unwrap().to_string();
    let c = t.creds().clone();
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = URL_SAFE_NO_PAD.encode(aws_sha256(verifier.as_bytes()));
    let redirect = "http://localhost:53100/callback";
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let authorize = t.url(&format!("/{}/oauth2/v2.0/authorize", c.tenant_id));
    let params = [
        ("client_id", c.client_id.as_str()),
        ("response_type", "code"),
        ("redirect_uri", redirect),
        ("scope", "openid profile offline_access User.Read"),
        ("state", "xyz"),
        ("nonce", "n-0S6_WzA2Mj"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let page = client.get(&authorize).query(&params).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("name=\"password\"") && html.contains("<form method=\"post\""),
        "{html}"
    );

    // A wrong password shows the form again.
    let mut form: Vec<(&str, &str)> = params.to_vec();
    form.push(("username", &upn));
    form.push(("password", "Not-The-Password-1"));
    let again = client.post(&authorize).form(&form).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    assert!(again.text().await.unwrap().contains("incorrect"));

    form.pop();
    form.push(("password", PASSWORD));
    let done = client.post(&authorize).form(&form).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::FOUND);
    let location = url::Url::parse(done.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(redirect));
    let q: std::collections::HashMap<String, String> =
        location.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "xyz");
    let code = q["code"].clone();

    let exchange = |code: String, verifier: &'static str| {
        let c = c.clone();
        let t = &t;
        async move {
            t.token_request(
                &c.tenant_id,
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", &c.client_id),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("code_verifier", verifier),
                ],
            )
            .await
        }
    };
    let (status, body) =
        exchange(code.clone(), "wrong-verifier-wrong-verifier-wrong-verifier").await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS501481")
    );
    // The failed attempt spent the code (it is single-use whatever happens).
    let (status, body) = exchange(code, verifier).await;
    assert_eq!(status.as_u16(), 400, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS54005"),
        "{body}"
    );

    // A fresh sign-in, redeemed correctly.
    let done = client.post(&authorize).form(&form).send().await.unwrap();
    let location = url::Url::parse(done.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let (status, tokens) = exchange(code, verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(
        claims(&form_token(&tokens, "id_token"))["nonce"],
        "n-0S6_WzA2Mj"
    );
    assert!(tokens["refresh_token"].is_string());
    let (status, me) = t
        .get("/v1.0/me", &form_token(&tokens, "access_token"))
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["userPrincipalName"], upn.as_str());

    // An unregistered, non-loopback redirect URI is refused on the page, never redirected to.
    let evil = client
        .get(&authorize)
        .query(&[
            ("client_id", c.client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", "https://evil.example/cb"),
            ("scope", "User.Read"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), StatusCode::BAD_REQUEST);
    assert!(evil.headers().get("location").is_none());
}

fn aws_sha256(data: &[u8]) -> Vec<u8> {
    // The test computes the PKCE challenge independently of the server's code.
    use sha2::Digest;
    sha2::Sha256::digest(data).to_vec()
}

#[tokio::test]
async fn msal_discovery_endpoints() {
    let t = TestServer::start().await;
    let c = t.creds().clone();
    let (status, doc) = json(
        t.client
            .get(t.url("/common/discovery/instance"))
            .query(&[
                ("api-version", "1.1"),
                (
                    "authorization_endpoint",
                    &format!("{}/{}/oauth2/v2.0/authorize", t.base, c.tenant_id),
                ),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        doc["tenant_discovery_endpoint"],
        format!(
            "{}/{}/v2.0/.well-known/openid-configuration",
            t.base, c.tenant_id
        )
    );
    let (status, realm) = json(
        t.client
            .get(t.url(&format!(
                "/common/userrealm/someone@{}?api-version=1.0",
                c.domain
            )))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(realm["account_type"], "Managed");
}

#[tokio::test]
async fn an_expired_authorization_code_is_refused() {
    let t = TestServer::start_with(|c| c.authorization_code_lifetime_secs = 1).await;
    let admin = t.admin_token().await;
    let user = t.create_user(&admin, "late", "Late").await;
    let c = t.creds().clone();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = "http://127.0.0.1:53100/cb";
    let signed_in = client
        .post(t.url(&format!("/{}/oauth2/v2.0/authorize", c.tenant_id)))
        .form(&[
            ("client_id", c.client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", redirect),
            ("scope", "User.Read"),
            ("username", user["userPrincipalName"].as_str().unwrap()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::FOUND);
    let location = url::Url::parse(signed_in.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let (status, body) = t
        .token_request(
            &c.tenant_id,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &c.client_id),
                ("code", &code),
                ("redirect_uri", redirect),
            ],
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS70008"),
        "{body}"
    );
}
