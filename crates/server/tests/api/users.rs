//! The user directory: create, read, list with query options, update, delete, `/me`.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn create_read_update_delete() {
    let t = TestServer::start().await;
    let token = t.admin_token().await;
    let mut body = user_body("adele", "Adele Vance", &t.domain());
    // What SDKs and Graph's own samples send: annotations and server-owned properties.
    body["@odata.type"] = json!("#microsoft.graph.user");
    body["id"] = json!("ignored");
    body["businessPhones"] = json!(["+1 425 555 0109"]);
    body["jobTitle"] = json!("Retail Manager");
    let r = t
        .request(Method::POST, "/v1.0/users", &token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let (_, user) = json(r).await;
    let id = user["id"].as_str().unwrap().to_string();
    assert_ne!(id, "ignored");
    assert!(
        location.ends_with(&format!("/v1.0/users/{id}")),
        "{location}"
    );
    assert!(
        user["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/v1.0/$metadata#users/$entity")
    );
    let upn = format!("adele@{}", t.domain());
    assert_eq!(user["userPrincipalName"], upn.as_str());
    assert_eq!(user["mail"], upn.as_str());
    assert_eq!(user["businessPhones"], json!(["+1 425 555 0109"]));
    assert_eq!(user["jobTitle"], "Retail Manager");
    assert!(
        user.get("passwordProfile").is_none(),
        "not in the default set: {user}"
    );
    assert!(
        user.get("accountEnabled").is_none(),
        "not in the default set: {user}"
    );
    let keys: Vec<&String> = user.as_object().unwrap().keys().collect();
    assert_eq!(
        keys.len(),
        12,
        "context + the 11 default properties: {keys:?}"
    );

    // By id, by UPN (any case), with $select.
    let (status, got) = t.get(&format!("/v1.0/users/{id}"), &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["displayName"], "Adele Vance");
    let (status, got) = t
        .get(&format!("/v1.0/users/{}", upn.to_uppercase()), &token)
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["id"], id.as_str());
    let (_, got) = t
        .get(
            &format!("/v1.0/users/{id}?$select=displayName,accountEnabled"),
            &token,
        )
        .await;
    assert_eq!(got["accountEnabled"], true);
    assert!(got.get("mail").is_none());
    assert!(
        got["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#users(displayName,accountEnabled)/$entity")
    );

    // PATCH answers 204; the change is visible.
    let (status, _) = t
        .patch(
            &format!("/v1.0/users/{id}"),
            &token,
            &json!({ "jobTitle": "Director", "officeLocation": "18/2111" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, got) = t.get(&format!("/v1.0/users/{id}"), &token).await;
    assert_eq!(got["jobTitle"], "Director");
    assert_eq!(got["officeLocation"], "18/2111");
    let (status, body) = t
        .patch(
            &format!("/v1.0/users/{id}"),
            &token,
            &json!({ "favouriteColour": "red" }),
        )
        .await;
    assert_error(status, &body, 400, "Request_BadRequest");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("favouriteColour")
    );

    // DELETE, then 404 everywhere.
    let (status, _) = t.delete(&format!("/v1.0/users/{id}"), &token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = t.get(&format!("/v1.0/users/{id}"), &token).await;
    assert_error(status, &body, 404, "Request_ResourceNotFound");
    assert!(body["error"]["message"].as_str().unwrap().contains(&id));
    let (status, body) = t.delete(&format!("/v1.0/users/{id}"), &token).await;
    assert_error(status, &body, 404, "Request_ResourceNotFound");
}

#[tokio::test]
async fn create_refuses_what_graph_refuses() {
    let t = TestServer::start().await;
    let token = t.admin_token().await;
    let domain = t.domain();
    t.create_user(&token, "dup", "Dup").await;
    let (status, body) = t
        .post(
            "/v1.0/users",
            &token,
            &user_body("DUP", "Dup again", &domain),
        )
        .await;
    assert_error(status, &body, 400, "Request_BadRequest");
    assert_eq!(
        body["error"]["message"],
        "Another object with the same value for property userPrincipalName already exists."
    );

    for missing in [
        "displayName",
        "mailNickname",
        "userPrincipalName",
        "accountEnabled",
        "passwordProfile",
    ] {
        let mut body = user_body("missing", "Missing", &domain);
        body.as_object_mut().unwrap().remove(missing);
        let (status, answer) = t.post("/v1.0/users", &token, &body).await;
        assert_error(status, &answer, 400, "Request_BadRequest");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains(missing),
            "{missing}: {answer}"
        );
    }
    let (status, body) = t
        .post(
            "/v1.0/users",
            &token,
            &user_body("x", "X", "elsewhere.example"),
        )
        .await;
    assert_error(status, &body, 400, "Request_BadRequest");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("domain")
    );
    let (status, body) = t
        .post("/v1.0/users", &token, &user_body("bad alias", "X", &domain))
        .await;
    assert_error(status, &body, 400, "Request_BadRequest");
    let mut weak = user_body("weak", "Weak", &domain);
    weak["passwordProfile"]["password"] = json!("password");
    let (status, body) = t.post("/v1.0/users", &token, &weak).await;
    assert_error(status, &body, 400, "Request_BadRequest");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("complexity")
    );
    let mut unknown = user_body("unk", "Unknown", &domain);
    unknown["shoeSize"] = json!(44);
    let (status, body) = t.post("/v1.0/users", &token, &unknown).await;
    assert_error(status, &body, 400, "Request_BadRequest");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shoeSize")
    );
    // Nothing half-written: only the first user exists.
    let (_, list) = t.get("/v1.0/users", &token).await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1, "{list}");
}

#[tokio::test]
async fn filter_orderby_search_count() {
    let t = TestServer::start().await;
    let token = t.admin_token().await;
    let domain = t.domain();
    for (alias, name, title) in [
        ("adele", "Adele Vance", "Retail Manager"),
        ("alex", "Alex Wilber", "Marketing Assistant"),
        ("megan", "Megan Bowen", "Marketing Manager"),
        ("it", "Isaiah O'Neil", "Engineer"),
    ] {
        let mut body = user_body(alias, name, &domain);
        body["jobTitle"] = json!(title);
        body["businessPhones"] = json!([format!("+1 555 {alias}")]);
        let (status, answer) = t.post("/v1.0/users", &token, &body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    let names = |v: &serde_json::Value| -> Vec<String> {
        let mut n: Vec<String> = v["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["displayName"].as_str().unwrap().to_string())
            .collect();
        n.sort();
        n
    };
    let get = |q: &str, eventual: bool| {
        let mut r = t
            .client
            .get(t.url(&format!("/v1.0/users?{q}")))
            .bearer_auth(&token);
        if eventual {
            r = r.header("ConsistencyLevel", "eventual");
        }
        async move { json(r.send().await.unwrap()).await }
    };
    let (status, body) = get("$filter=startswith(displayName,'a')", false).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(names(&body), ["Adele Vance", "Alex Wilber"]);
    let (_, body) = get("$filter=jobTitle eq 'marketing manager'", false).await;
    assert_eq!(
        names(&body),
        ["Megan Bowen"],
        "eq on strings ignores case, as Graph"
    );
    let (_, body) = get("$filter=displayName eq 'Isaiah O''Neil'", false).await;
    assert_eq!(names(&body), ["Isaiah O'Neil"]);
    let (_, body) = get(
        &"$filter=userPrincipalName in ('adele@DOMAIN','megan@DOMAIN')".replace("DOMAIN", &domain),
        false,
    )
    .await;
    assert_eq!(names(&body), ["Adele Vance", "Megan Bowen"]);
    let (_, body) = get("$filter=businessPhones/any(p:p eq '%2B1 555 alex')", false).await;
    assert_eq!(names(&body), ["Alex Wilber"]);
    let (_, body) = get("$orderby=displayName desc&$top=2", false).await;
    let ordered: Vec<&str> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(ordered, ["Megan Bowen", "Isaiah O'Neil"]);

    // Advanced queries need ConsistencyLevel: eventual.
    let (status, body) = get("$filter=endswith(jobTitle,'Manager')", false).await;
    assert_error(status, &body, 400, "Request_UnsupportedQuery");
    let (status, body) = get("$filter=endswith(jobTitle,'Manager')&$count=true", true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(names(&body), ["Adele Vance", "Megan Bowen"]);
    assert_eq!(body["@odata.count"], 2);
    let (status, body) = get("$count=true", false).await;
    assert_error(status, &body, 400, "Request_UnsupportedQuery");
    let (status, body) = get("$search=\"displayName:wil\"", false).await;
    assert_error(status, &body, 400, "Request_UnsupportedQuery");
    let (status, body) = get("$search=\"displayName:wil\"&$count=true", true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(names(&body), ["Alex Wilber"]);
    let (status, body) = get("$filter=jobTitle ne 'Engineer'&$count=true", true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["@odata.count"], 3);

    // /users/$count is plain text, advanced mode only.
    let r = t
        .request(Method::GET, "/v1.0/users/$count", &token)
        .header("ConsistencyLevel", "eventual")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(r.text().await.unwrap(), "4");
    let (status, body) = t.get("/v1.0/users/$count", &token).await;
    assert_error(status, &body, 400, "Request_BadRequest");
}

#[tokio::test]
async fn me_and_delegated_permissions() {
    let t = TestServer::start().await;
    let admin = t.admin_token().await;
    let user = t.create_user(&admin, "megan", "Megan Bowen").await;
    let upn = user["userPrincipalName"].as_str().unwrap();

    let token = t
        .user_token(upn, PASSWORD, "User.Read openid profile")
        .await;
    let (status, me) = t.get("/v1.0/me", &token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["id"], user["id"]);
    assert!(
        me["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#users/$entity")
    );
    // User.Read reads oneself, not the directory.
    let (status, body) = t.get("/v1.0/users", &token).await;
    assert_error(status, &body, 403, "Authorization_RequestDenied");
    let (status, body) = t
        .post(
            "/v1.0/users",
            &token,
            &user_body("nope", "Nope", &t.domain()),
        )
        .await;
    assert_error(status, &body, 403, "Authorization_RequestDenied");

    let reader = t.user_token(upn, PASSWORD, "User.ReadBasic.All").await;
    let (status, _) = t.get("/v1.0/users", &reader).await;
    assert_eq!(status, StatusCode::OK);

    // /me is delegated-only.
    let (status, body) = t.get("/v1.0/me", &admin).await;
    assert_error(status, &body, 400, "BadRequest");
}

#[tokio::test]
async fn organization_and_domains() {
    let t = TestServer::start().await;
    let token = t.admin_token().await;
    let (status, org) = t.get("/v1.0/organization", &token).await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert_eq!(org["value"][0]["id"], t.creds().tenant_id.as_str());
    assert_eq!(
        org["value"][0]["verifiedDomains"][0]["name"],
        t.domain().as_str()
    );
    let (status, domains) = t.get("/v1.0/domains", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(domains["value"][0]["id"], t.domain().as_str());
    assert_eq!(domains["value"][0]["isVerified"], true);
    let (status, body) = t.get("/v1.0/domains/other.example", &token).await;
    assert_error(status, &body, 404, "Request_ResourceNotFound");
}

#[tokio::test]
async fn restart_keeps_everything() {
    let t = TestServer::start().await;
    let token = t.admin_token().await;
    let user = t.create_user(&token, "durable", "Durable").await;
    let creds = t.creds().clone();
    let t = t.restart().await;
    assert_eq!(t.creds().tenant_id, creds.tenant_id);
    assert_eq!(
        t.creds().client_secret,
        creds.client_secret,
        "credentials reused"
    );
    // Tokens issued before the restart stay valid: the signing key is in the store.
    let (status, got) = t
        .get(
            &format!("/v1.0/users/{}", user["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
}
