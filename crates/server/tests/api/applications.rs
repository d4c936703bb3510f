//! `/applications`: registering applications through Graph, their permissions (granted at once:
//! there is no consent step), their client secrets, and the tokens those secrets obtain.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::*;

const GRAPH: &str = "00000003-0000-0000-c000-000000000000";

fn claims(token: &str) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

/// Registers an application; returns its JSON.
async fn create(t: &TestServer, token: &str, body: Value) -> Value {
    let (status, app) = t.post("/v1.0/applications", token, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    app
}

/// Adds a secret; returns the passwordCredential JSON (with `secretText`).
async fn add_password(t: &TestServer, token: &str, id: &str, body: Value) -> Value {
    let (status, credential) = t
        .post(
            &format!("/v1.0/applications/{id}/addPassword"),
            token,
            &body,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{credential}");
    credential
}

async fn client_credentials(t: &TestServer, client_id: &str, secret: &str) -> (StatusCode, Value) {
    t.token_request(
        &t.creds().tenant_id,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await
}

/// One concrete request per `/applications` route of the permission matrix (see
/// `tenants::request_for`); `admin` prepares what the request acts on.
pub async fn matrix_request(
    t: &TestServer,
    method: &str,
    route: &str,
    admin: &str,
    n: usize,
) -> (Method, String, Option<Value>) {
    let app = || async {
        create(t, admin, json!({ "displayName": format!("probe{n}") })).await["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    match (method, route) {
        ("GET", "/applications") => (Method::GET, "/v1.0/applications".into(), None),
        ("GET", "/applications/{id}") => (
            Method::GET,
            format!("/v1.0/applications/{}", app().await),
            None,
        ),
        ("POST", "/applications") => (
            Method::POST,
            "/v1.0/applications".into(),
            Some(json!({ "displayName": format!("new{n}") })),
        ),
        ("DELETE", "/applications/{id}") => (
            Method::DELETE,
            format!("/v1.0/applications/{}", app().await),
            None,
        ),
        ("POST", "/applications/{id}/addPassword") => (
            Method::POST,
            format!("/v1.0/applications/{}/addPassword", app().await),
            Some(json!({ "passwordCredential": { "displayName": "probe" } })),
        ),
        ("POST", "/applications/{id}/removePassword") => {
            let id = app().await;
            let credential = add_password(t, admin, &id, json!({ "passwordCredential": {} })).await;
            (
                Method::POST,
                format!("/v1.0/applications/{id}/removePassword"),
                Some(json!({ "keyId": credential["keyId"] })),
            )
        }
        other => panic!("no request for {other:?}"),
    }
}

#[tokio::test]
async fn create_list_read_and_delete() {
    let t = TestServer::start().await;
    let admin = t.admin_token().await;
    let r = t
        .request(Method::POST, "/v1.0/applications", &admin)
        .json(&json!({
            "displayName": "Contoso Chat Bot",
            "signInAudience": "AzureADMyOrg",
            "requiredResourceAccess": [{
                "resourceAppId": GRAPH,
                "resourceAccess": [
                    { "id": "User.Read.All", "type": "Role" },
                    { "id": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "type": "Role" },
                    { "id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "type": "Scope" },
                    { "id": "37f7f235-527c-4136-accd-4a02d197296e", "type": "Scope" }
                ]
            }],
            "web": { "redirectUris": ["https://bot.example/auth"] },
            "spa": { "redirectUris": ["https://bot.example/spa"] },
            "publicClient": { "redirectUris": ["msal0000://auth"] }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let app: Value = r.json().await.unwrap();
    let id = app["id"].as_str().unwrap().to_string();
    let app_id = app["appId"].as_str().unwrap().to_string();
    assert_eq!(location, format!("{}/v1.0/applications/{id}", t.base));
    assert_eq!(
        app["@odata.context"],
        format!("{}/v1.0/$metadata#applications/$entity", t.base)
    );
    assert_eq!(app["displayName"], "Contoso Chat Bot");
    assert_ne!(id, app_id);
    assert_eq!(app["passwordCredentials"], json!([]));
    assert_eq!(
        app["web"]["redirectUris"],
        json!(["https://bot.example/auth"])
    );
    assert_eq!(
        app["spa"]["redirectUris"],
        json!(["https://bot.example/spa"])
    );
    assert_eq!(
        app["publicClient"]["redirectUris"],
        json!(["msal0000://auth"])
    );
    // Permissions come back by Graph's ids; openid needs no grant and is not kept.
    assert_eq!(
        app["requiredResourceAccess"],
        json!([{ "resourceAppId": GRAPH, "resourceAccess": [
            { "id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "type": "Scope" },
            { "id": "df021288-bdef-4463-88db-98f22de89214", "type": "Role" },
            { "id": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "type": "Role" }
        ]}])
    );

    let (status, read) = t.get(&format!("/v1.0/applications/{id}"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["appId"], app_id.as_str());
    // The alternate key: by application (client) id.
    let (status, by_app_id) = t
        .get(&format!("/v1.0/applications(appId='{app_id}')"), &admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{by_app_id}");
    assert_eq!(by_app_id["id"], id.as_str());

    let (status, list) = t.get("/v1.0/applications", &admin).await;
    assert_eq!(status, StatusCode::OK);
    let mut names: Vec<&str> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["displayName"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["Contoso Chat Bot", "Switchboard administrator"]);
    let (_, ordered) = t
        .get(
            "/v1.0/applications?$orderby=displayName desc&$top=1",
            &admin,
        )
        .await;
    assert_eq!(
        ordered["value"][0]["displayName"],
        "Switchboard administrator"
    );
    assert!(ordered["@odata.nextLink"].is_string(), "{ordered}");
    let (status, filtered) = t
        .get(
            &format!("/v1.0/applications?$filter=appId eq '{app_id}'&$select=id,displayName"),
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{filtered}");
    assert_eq!(
        filtered["value"],
        json!([{ "id": id, "displayName": "Contoso Chat Bot" }])
    );
    let (status, body) = t.get("/v1.0/applications?$select=nonsense", &admin).await;
    assert_error(status, &body, 400, "Request_BadRequest");

    let (status, _) = t.delete(&format!("/v1.0/applications/{id}"), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = t.get(&format!("/v1.0/applications/{id}"), &admin).await;
    assert_error(status, &body, 404, "Request_ResourceNotFound");
    let (status, body) = t.delete(&format!("/v1.0/applications/{id}"), &admin).await;
    assert_error(status, &body, 404, "Request_ResourceNotFound");
}

#[tokio::test]
async fn bad_requests_other_tenants_and_missing_permissions() {
    let t = TestServer::start().await;
    let admin = t.admin_token().await;
    let bad = [
        json!({}),
        json!({ "displayName": "  " }),
        json!({ "displayName": "x", "requiredResourceAccess": [{ "resourceAppId": GRAPH, "resourceAccess": [{ "id": "Everything.All", "type": "Role" }] }] }),
        // A delegated permission's id is not an application permission.
        json!({ "displayName": "x", "requiredResourceAccess": [{ "resourceAppId": GRAPH, "resourceAccess": [{ "id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "type": "Role" }] }] }),
        json!({ "displayName": "x", "requiredResourceAccess": [{ "resourceAppId": GRAPH, "resourceAccess": [{ "id": "User.Read", "type": "Delegated" }] }] }),
        json!({ "displayName": "x", "requiredResourceAccess": [{ "resourceAppId": "00000002-0000-0000-c000-000000000000", "resourceAccess": [] }] }),
        json!({ "displayName": "x", "requiredResourceAccess": "User.Read" }),
        json!({ "displayName": "x", "web": { "redirectUris": ["not a uri"] } }),
        json!({ "displayName": "x", "favouriteColour": "blue" }),
    ];
    for body in bad {
        let (status, answer) = t.post("/v1.0/applications", &admin, &body).await;
        assert_error(status, &answer, 400, "Request_BadRequest");
    }
    let app = create(&t, &admin, json!({ "displayName": "Ours" })).await;
    let id = app["id"].as_str().unwrap();
    let (status, body) = t
        .post(
            &format!("/v1.0/applications/{id}/addPassword"),
            &admin,
            &json!({ "passwordCredential": { "endDateTime": "2001-01-01T00:00:00Z" } }),
        )
        .await;
    assert_error(status, &body, 400, "Request_BadRequest");
    let (status, body) = t
        .post(
            &format!("/v1.0/applications/{id}/removePassword"),
            &admin,
            &json!({ "keyId": uuid_like() }),
        )
        .await;
    assert_error(status, &body, 400, "Request_BadRequest");
    let (status, body) = t
        .post(
            &format!("/v1.0/applications/{id}/removePassword"),
            &admin,
            &json!({ "keyId": "nope" }),
        )
        .await;
    assert_error(status, &body, 400, "Request_BadRequest");
    let (status, body) = t
        .get(&format!("/v1.0/applications/{}", uuid_like()), &admin)
        .await;
    assert_error(status, &body, 404, "Request_ResourceNotFound");

    // Another tenant's administrator sees none of this tenant's applications.
    let (_, foreign) = t.other_tenant("Fabrikam", "fabrikam.example").await;
    let foreign = foreign.as_str();
    let app_id = app["appId"].as_str().unwrap();
    for (status, body) in [
        t.get(&format!("/v1.0/applications/{id}"), foreign).await,
        t.get(&format!("/v1.0/applications(appId='{app_id}')"), foreign)
            .await,
        t.delete(&format!("/v1.0/applications/{id}"), foreign).await,
        t.post(
            &format!("/v1.0/applications/{id}/addPassword"),
            foreign,
            &json!({ "passwordCredential": {} }),
        )
        .await,
    ] {
        assert_error(status, &body, 404, "Request_ResourceNotFound");
    }
    let (_, list) = t.get("/v1.0/applications", foreign).await;
    let names: Vec<&str> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Fabrikam administrator"]);

    // Reading needs Application.Read.All (or more); writing needs Application.ReadWrite.All.
    let reader = create(&t, &admin, json!({ "displayName": "Reader", "requiredResourceAccess": [{ "resourceAppId": GRAPH, "resourceAccess": [{ "id": "Application.Read.All", "type": "Role" }] }] })).await;
    let secret = add_password(
        &t,
        &admin,
        reader["id"].as_str().unwrap(),
        json!({ "passwordCredential": {} }),
    )
    .await;
    let (status, body) = client_credentials(
        &t,
        reader["appId"].as_str().unwrap(),
        secret["secretText"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let reader_token = body["access_token"].as_str().unwrap();
    let (status, _) = t.get("/v1.0/applications", reader_token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = t
        .post(
            "/v1.0/applications",
            reader_token,
            &json!({ "displayName": "Escalation" }),
        )
        .await;
    assert_error(status, &body, 403, "Authorization_RequestDenied");
    let (status, body) = t
        .delete(&format!("/v1.0/applications/{id}"), reader_token)
        .await;
    assert_error(status, &body, 403, "Authorization_RequestDenied");
}

fn uuid_like() -> String {
    "6f1b8a3e-0000-4000-8000-000000000001".into()
}

#[tokio::test]
async fn a_secret_from_add_password_gets_tokens_with_exactly_the_granted_permissions() {
    let t = TestServer::start().await;
    let admin = t.admin_token().await;
    let alice = t.create_user(&admin, "alice", "Alice").await;
    let app = create(
        &t,
        &admin,
        json!({
            "displayName": "Directory reader",
            "requiredResourceAccess": [{ "resourceAppId": GRAPH, "resourceAccess": [
                { "id": "df021288-bdef-4463-88db-98f22de89214", "type": "Role" },
                { "id": "Organization.Read.All", "type": "Role" },
                { "id": "User.Read", "type": "Scope" }
            ]}]
        }),
    )
    .await;
    let id = app["id"].as_str().unwrap();
    let app_id = app["appId"].as_str().unwrap();

    let credential = add_password(
        &t,
        &admin,
        id,
        json!({ "passwordCredential": { "displayName": "CI secret" } }),
    )
    .await;
    let secret = credential["secretText"].as_str().unwrap().to_string();
    assert_eq!(
        credential["@odata.context"],
        format!(
            "{}/v1.0/$metadata#microsoft.graph.passwordCredential",
            t.base
        )
    );
    assert_eq!(credential["displayName"], "CI secret");
    assert_eq!(credential["hint"], &secret[..3]);
    assert!(
        credential["keyId"].as_str().unwrap().len() == 36,
        "{credential}"
    );
    assert!(credential["customKeyIdentifier"].is_null());
    let start =
        switchboard_domain::graph_time::parse(credential["startDateTime"].as_str().unwrap())
            .unwrap();
    let end =
        switchboard_domain::graph_time::parse(credential["endDateTime"].as_str().unwrap()).unwrap();
    assert!(
        end - start > 700 * 24 * 3600 * 1000,
        "two years by default: {credential}"
    );
    // Graph never shows the secret again.
    let (_, read) = t.get(&format!("/v1.0/applications/{id}"), &admin).await;
    assert_eq!(read["passwordCredentials"][0]["keyId"], credential["keyId"]);
    assert_eq!(read["passwordCredentials"][0]["hint"], credential["hint"]);
    assert!(read["passwordCredentials"][0]["secretText"].is_null());

    // App-only: exactly the granted roles.
    let (status, body) = client_credentials(&t, app_id, &secret).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap().to_string();
    let c = claims(&token);
    assert_eq!(
        c["roles"],
        json!(["User.Read.All", "Organization.Read.All"])
    );
    assert_eq!(c["appid"], app_id);
    assert_eq!(c["app_displayname"], "Directory reader");
    let (status, _) = t.get("/v1.0/users", &token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = t.get("/v1.0/organization", &token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = t
        .post("/v1.0/users", &token, &user_body("eve", "Eve", &t.domain()))
        .await;
    assert_error(status, &body, 403, "Authorization_RequestDenied");
    let (status, body) = t.get("/v1.0/applications", &token).await;
    assert_error(status, &body, 403, "Authorization_RequestDenied");

    // Delegated: the scopes it was registered for, and no others.
    let password_grant = |scope: &'static str| {
        let secret = secret.clone();
        let upn = alice["userPrincipalName"].as_str().unwrap().to_string();
        let t = &t;
        async move {
            t.token_request(
                &t.creds().tenant_id,
                &[
                    ("grant_type", "password"),
                    ("client_id", app_id),
                    ("client_secret", &secret),
                    ("username", &upn),
                    ("password", PASSWORD),
                    ("scope", scope),
                ],
            )
            .await
        }
    };
    let (status, body) = password_grant(".default").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["scp"],
        "User.Read"
    );
    let (status, me) = t
        .get("/v1.0/me", body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["id"], alice["id"]);
    let (status, body) = password_grant("User.ReadWrite.All").await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );

    // An expired secret no longer authenticates; a removed one neither.
    let expired = add_password(
        &t,
        &admin,
        id,
        json!({ "passwordCredential": { "startDateTime": "2020-01-01T00:00:00Z", "endDateTime": "2020-06-01T00:00:00Z" } }),
    )
    .await;
    let (status, body) =
        client_credentials(&t, app_id, expired["secretText"].as_str().unwrap()).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    let (status, _) = t
        .post(
            &format!("/v1.0/applications/{id}/removePassword"),
            &admin,
            &json!({ "keyId": credential["keyId"] }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = client_credentials(&t, app_id, &secret).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    let (status, body) = t
        .post(
            &format!("/v1.0/applications/{id}/removePassword"),
            &admin,
            &json!({ "keyId": credential["keyId"] }),
        )
        .await;
    assert_error(status, &body, 400, "Request_BadRequest");
    // A deleted application gets no more tokens.
    let fresh = add_password(&t, &admin, id, json!({ "passwordCredential": {} })).await;
    let (status, _) = client_credentials(&t, app_id, fresh["secretText"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = t
        .delete(&format!("/v1.0/applications(appId='{app_id}')"), &admin)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) =
        client_credentials(&t, app_id, fresh["secretText"].as_str().unwrap()).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{body}"
    );
}

/// Graph types `resourceAccess.id` as a GUID, and the SDKs parse it as one (msgraph-sdk for Python
/// raises on anything else): every permission Switchboard grants comes back by its Graph id.
#[tokio::test]
async fn every_granted_permission_comes_back_as_a_guid() {
    let t = TestServer::start().await;
    let admin = t.admin_token().await;
    let (status, list) = t.get("/v1.0/applications", &admin).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let apps = list["value"].as_array().unwrap();
    assert!(!apps.is_empty());
    for app in apps {
        for required in app["requiredResourceAccess"].as_array().unwrap() {
            for access in required["resourceAccess"].as_array().unwrap() {
                let id = access["id"].as_str().unwrap();
                assert!(
                    uuid::Uuid::parse_str(id).is_ok(),
                    "{} holds {id}, not a GUID",
                    app["displayName"]
                );
            }
        }
    }
}
