//! Teams apps: the app catalogue (zipped manifests and the JSON convenience body), apps installed
//! in chats with their system events, and the seed page's `…/installedApps/{id}/chat/$ref`.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::chats::{enc, member, people};
use crate::harness::*;

/// A Teams app package: `manifest.json` (deflated) and an icon, zipped as the Developer Portal does.
pub fn package(manifest: &Value) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file("color.png", deflated).unwrap();
    w.write_all(b"\x89PNG not really").unwrap();
    w.start_file("manifest.json", deflated).unwrap();
    w.write_all(serde_json::to_string_pretty(manifest).unwrap().as_bytes())
        .unwrap();
    w.finish().unwrap().into_inner()
}

pub fn manifest(id: &str, version: &str, name: &str) -> Value {
    json!({
        "$schema": "https://developer.microsoft.com/json-schemas/teams/v1.16/MicrosoftTeams.schema.json",
        "manifestVersion": "1.16",
        "id": id,
        "version": version,
        "packageName": "com.contoso.tasks",
        "developer": { "name": "Contoso", "websiteUrl": "https://contoso.example", "privacyUrl": "https://contoso.example/p", "termsOfUseUrl": "https://contoso.example/t" },
        "name": { "short": name, "full": format!("{name} for Contoso") },
        "description": { "short": "Track tasks in chats", "full": "Track your team's tasks without leaving the chat." },
        "icons": { "color": "color.png", "outline": "outline.png" },
        "accentColor": "#FFFFFF",
        "webApplicationInfo": { "id": "6ef6a5b8-3c66-4a49-9b6b-4b9e46f1f0a1", "resource": "api://contoso.example/tasks" },
        "authorization": { "permissions": { "resourceSpecific": [{ "name": "ChatMessage.Read.Chat", "type": "Application" }] } }
    })
}

async fn post_zip(t: &TestServer, path: &str, token: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    json(
        t.request(Method::POST, path, token)
            .header("Content-Type", "application/zip")
            .body(bytes)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Publishes an app with the JSON convenience body; returns its JSON.
pub async fn publish(t: &TestServer, token: &str, external_id: &str, name: &str) -> Value {
    let body = json!({ "displayName": name, "externalId": external_id, "version": "1.0.0", "shortDescription": "Short", "description": "Long" });
    let (status, app) = t.post("/v1.0/appCatalogs/teamsApps", token, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    app
}

fn decode(id: &str) -> String {
    String::from_utf8(STANDARD.decode(id).unwrap()).unwrap()
}

/// The chat's newest message, with system events shown as such.
async fn last_event(t: &TestServer, chat: &str, token: &str) -> Value {
    let r = t
        .request(
            Method::GET,
            &format!("/v1.0/chats/{}/lastMessagePreview", enc(chat)),
            token,
        )
        .header("Prefer", "include-unknown-enum-members")
        .send()
        .await
        .unwrap();
    let (status, preview) = json(r).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["messageType"], "systemEventMessage", "{preview}");
    preview["eventDetail"].clone()
}

async fn group(t: &TestServer, token: &str, ids: &[&str]) -> String {
    let members: Vec<Value> = ids.iter().map(|id| member(id)).collect();
    let (status, chat) = t
        .post(
            "/v1.0/chats",
            token,
            &json!({ "chatType": "group", "members": members }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{chat}");
    chat["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_catalogue_publishes_zipped_manifests_and_json() {
    let p = people(1).await;
    let t = &p.t;
    let writer = t
        .user_token(&p.upns[0], PASSWORD, "AppCatalog.ReadWrite.All")
        .await;
    let reader = t
        .user_token(&p.upns[0], PASSWORD, "AppCatalog.Read.All")
        .await;

    // Graph's way: a zipped package, delegated.
    let external = "f3d0c5c2-2c2e-4f0e-9b52-1a2b3c4d5e6f";
    let r = t
        .request(Method::POST, "/v1.0/appCatalogs/teamsApps", &writer)
        .header("Content-Type", "application/zip")
        .body(package(&manifest(external, "1.0.0", "Tasks")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let (_, app) = json(r).await;
    let id = app["id"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::try_parse(&id).is_ok(), "{app}");
    assert!(
        location.ends_with(&format!("/v1.0/appCatalogs/teamsApps/{id}")),
        "{location}"
    );
    assert_eq!(app["externalId"], external);
    assert_eq!(app["displayName"], "Tasks");
    assert_eq!(app["distributionMethod"], "organization");
    assert!(
        app["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#appCatalogs/teamsApps/$entity")
    );

    // The JSON convenience body, app-only; a duplicate externalId either way is 409.
    let other = publish(t, &p.admin, "contoso-polls", "Polls").await;
    let (status, body) = t
        .post(
            "/v1.0/appCatalogs/teamsApps",
            &p.admin,
            &json!({ "displayName": "Again", "externalId": external }),
        )
        .await;
    assert_error(status, &body, 409, "Conflict");
    let (status, body) = post_zip(
        t,
        "/v1.0/appCatalogs/teamsApps",
        &writer,
        package(&manifest("contoso-polls", "1.0.0", "Polls")),
    )
    .await;
    assert_error(status, &body, 409, "Conflict");

    // List, filter, expand, select; v1.0 and beta spell shortDescription differently.
    for token in [&reader, &p.admin] {
        let (status, list) = t.get("/v1.0/appCatalogs/teamsApps", token).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["value"].as_array().unwrap().len(), 2);
        assert!(
            list["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with("$metadata#appCatalogs/teamsApps")
        );
    }
    for (filter, expected) in [
        (format!("externalId eq '{external}'"), 1),
        (format!("id eq '{id}'"), 1),
        ("displayName eq 'polls'".to_string(), 1),
        ("distributionMethod eq 'organization'".to_string(), 2),
        ("distributionMethod eq 'store'".to_string(), 0),
        ("appDefinitions/any(d: d/version eq '1.0.0')".to_string(), 2),
    ] {
        let (status, list) = t
            .get(
                &format!("/v1.0/appCatalogs/teamsApps?$filter={filter}"),
                &reader,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{filter}: {list}");
        assert_eq!(
            list["value"].as_array().unwrap().len(),
            expected,
            "{filter}: {list}"
        );
    }
    let (status, body) = t
        .get(
            "/v1.0/appCatalogs/teamsApps?$filter=colour eq 'red'",
            &reader,
        )
        .await;
    assert_error(status, &body, 400, "BadRequest");
    let (_, list) = t.get(&format!("/v1.0/appCatalogs/teamsApps?$filter=externalId eq '{external}'&$expand=appDefinitions"), &reader).await;
    assert!(
        list["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#appCatalogs/teamsApps(appDefinitions())"),
        "{list}"
    );
    let definition = &list["value"][0]["appDefinitions"][0];
    assert_eq!(
        decode(definition["id"].as_str().unwrap()),
        format!("{id}##1.0.0##Published")
    );
    assert_eq!(definition["teamsAppId"], id.as_str());
    assert_eq!(definition["publishingState"], "published");
    assert_eq!(definition["version"], "1.0.0");
    assert_eq!(definition["displayName"], "Tasks");
    assert_eq!(definition["shortDescription"], "Track tasks in chats");
    assert_eq!(
        definition["description"],
        "Track your team's tasks without leaving the chat."
    );
    assert_eq!(definition["createdBy"]["user"]["id"], p.ids[0].as_str());
    assert_eq!(
        definition["authorization"]["clientAppId"],
        "6ef6a5b8-3c66-4a49-9b6b-4b9e46f1f0a1"
    );
    assert_eq!(
        definition["authorization"]["requiredPermissionSet"]["resourceSpecificPermissions"],
        json!([{ "permissionType": "application", "permissionValue": "ChatMessage.Read.Chat" }])
    );
    assert!(definition.get("shortdescription").is_none());
    let (status, beta) = t
        .get(
            &format!("/beta/appCatalogs/teamsApps/{id}?$expand=appDefinitions"),
            &reader,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{beta}");
    assert_eq!(
        beta["appDefinitions"][0]["shortdescription"],
        "Track tasks in chats"
    );
    assert!(beta["appDefinitions"][0].get("shortDescription").is_none());
    assert_eq!(
        beta["appDefinitions"][0]["azureADAppId"],
        "6ef6a5b8-3c66-4a49-9b6b-4b9e46f1f0a1"
    );
    let (_, selected) = t.get("/v1.0/appCatalogs/teamsApps?$select=displayName&$expand=appDefinitions($select=version)", &reader).await;
    assert_eq!(
        selected["value"][0].as_object().unwrap().len(),
        3,
        "{selected}"
    );
    assert_eq!(
        selected["value"][0]["appDefinitions"][0]
            .as_object()
            .unwrap()
            .len(),
        2,
        "{selected}"
    );

    // One app, its definitions, one definition.
    let (status, one) = t
        .get(&format!("/v1.0/appCatalogs/teamsApps/{id}"), &reader)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["displayName"], "Tasks");
    let (status, defs) = t
        .get(
            &format!("/v1.0/appCatalogs/teamsApps/{id}/appDefinitions"),
            &p.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{defs}");
    assert!(
        defs["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with(&format!("#appCatalogs/teamsApps('{id}')/appDefinitions"))
    );
    let def_id = defs["value"][0]["id"].as_str().unwrap().to_string();
    let (status, def) = t
        .get(
            &format!(
                "/beta/appCatalogs/teamsApps/{id}/appDefinitions/{}",
                enc(&def_id)
            ),
            &reader,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{def}");
    assert_eq!(def["shortdescription"], "Track tasks in chats");
    let (status, body) = t
        .get(
            &format!("/v1.0/appCatalogs/teamsApps/{id}/appDefinitions/bm9uZQ%3D%3D"),
            &reader,
        )
        .await;
    assert_error(status, &body, 404, "NotFound");
    let (status, body) = t
        .get(
            "/v1.0/appCatalogs/teamsApps/00000000-0000-0000-0000-000000000000",
            &reader,
        )
        .await;
    assert_error(status, &body, 404, "NotFound");

    // A new version: higher than the newest, the same manifest id.
    let (status, v2) = post_zip(
        t,
        &format!("/v1.0/appCatalogs/teamsApps/{id}/appDefinitions"),
        &writer,
        package(&manifest(external, "1.1.0", "Tasks Pro")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v2}");
    assert_eq!(
        decode(v2["id"].as_str().unwrap()),
        format!("{id}##1.1.0##Published")
    );
    let (_, one) = t
        .get(&format!("/v1.0/appCatalogs/teamsApps/{id}"), &reader)
        .await;
    assert_eq!(one["displayName"], "Tasks Pro");
    for (version, manifest_id, status_code, code) in [
        ("1.1.0", external, 409, "Conflict"),
        ("1.0.5", external, 400, "BadRequest"),
        ("2.0.0", "someone-else", 400, "BadRequest"),
    ] {
        let (status, body) = post_zip(
            t,
            &format!("/v1.0/appCatalogs/teamsApps/{id}/appDefinitions"),
            &writer,
            package(&manifest(manifest_id, version, "Tasks")),
        )
        .await;
        assert_error(status, &body, status_code, code);
    }

    // Malformed packages and bodies.
    let mut no_id = manifest("x", "1.0.0", "NoId");
    no_id.as_object_mut().unwrap().remove("id");
    let no_manifest = {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file("readme.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(b"hello").unwrap();
        w.finish().unwrap().into_inner()
    };
    for bytes in [
        b"not a zip".to_vec(),
        no_manifest,
        package(&no_id),
        package(&manifest("y", "1.0", "BadVersion")),
        package(&manifest("z", "1.0.0", &"n".repeat(31))),
    ] {
        let (status, body) = post_zip(t, "/v1.0/appCatalogs/teamsApps", &writer, bytes).await;
        assert_error(status, &body, 400, "BadRequest");
    }
    let (status, body) = t
        .post(
            "/v1.0/appCatalogs/teamsApps",
            &writer,
            &json!({ "displayName": "X", "colour": "red" }),
        )
        .await;
    assert_error(status, &body, 400, "BadRequest");
    let (status, body) = t
        .post(
            "/v1.0/appCatalogs/teamsApps",
            &writer,
            &json!({ "externalId": "no-name" }),
        )
        .await;
    assert_error(status, &body, 400, "BadRequest");
    let r = t
        .request(Method::POST, "/v1.0/appCatalogs/teamsApps", &writer)
        .header("Content-Type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    let (status, body) = json(r).await;
    assert_error(status, &body, 415, "UnsupportedMediaType");
    let (status, body) = post_zip(
        t,
        "/v1.0/appCatalogs/teamsApps?requiresReview=true",
        &writer,
        package(&manifest("r", "1.0.0", "Review")),
    )
    .await;
    assert_error(status, &body, 501, "NotImplemented");

    // Permissions: reading is not writing; unrelated scopes read nothing.
    let (status, body) = t
        .post(
            "/v1.0/appCatalogs/teamsApps",
            &reader,
            &json!({ "displayName": "Nope" }),
        )
        .await;
    assert_error(status, &body, 403, "Forbidden");
    let unrelated = t.user_token(&p.upns[0], PASSWORD, "Chat.Read").await;
    let (status, body) = t.get("/v1.0/appCatalogs/teamsApps", &unrelated).await;
    assert_error(status, &body, 403, "Forbidden");

    // Delete: gone from the catalogue (twice is 404); the JSON-published app defaults its version.
    let (_, defs) = t
        .get(
            &format!(
                "/v1.0/appCatalogs/teamsApps/{}/appDefinitions",
                other["id"].as_str().unwrap()
            ),
            &reader,
        )
        .await;
    assert_eq!(defs["value"][0]["version"], "1.0.0");
    let (status, _) = t
        .delete(&format!("/v1.0/appCatalogs/teamsApps/{id}"), &writer)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = t
        .get(&format!("/v1.0/appCatalogs/teamsApps/{id}"), &reader)
        .await;
    assert_error(status, &body, 404, "NotFound");
    let (status, body) = t
        .delete(&format!("/beta/appCatalogs/teamsApps/{id}"), &p.admin)
        .await;
    assert_error(status, &body, 404, "NotFound");
    // The externalId is free again.
    post_zip(
        t,
        "/beta/appCatalogs/teamsApps",
        &writer,
        package(&manifest(external, "1.0.0", "Tasks")),
    )
    .await;
    let (_, list) = t
        .get(
            &format!("/beta/appCatalogs/teamsApps?$filter=externalId eq '{external}'"),
            &reader,
        )
        .await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn installing_upgrading_and_removing_post_the_system_events() {
    let p = people(3).await;
    let t = &p.t;
    let chat = group(t, &p.tokens[0], &[&p.ids[0], &p.ids[1]]).await;
    let apps = format!("/v1.0/chats/{}/installedApps", enc(&chat));
    let app = publish(t, &p.admin, "contoso-tasks", "Tasks").await;
    let app_id = app["id"].as_str().unwrap().to_string();

    // Install (delegated), Graph's body with a consented permission set.
    let body = json!({
        "teamsApp@odata.bind": format!("https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{app_id}"),
        "consentedPermissionSet": { "resourceSpecificPermissions": [{ "permissionValue": "ChatMessage.Read.Chat", "permissionType": "Application" }] }
    });
    let r = t
        .request(Method::POST, &apps, &p.tokens[0])
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(r.headers().get("location").is_some());
    let (_, installed) = json(r).await;
    let iid = installed["id"].as_str().unwrap().to_string();
    assert_eq!(decode(&iid), format!("{chat}##{app_id}"));
    let event = last_event(t, &chat, &p.tokens[0]).await;
    assert_eq!(
        event["@odata.type"],
        "#microsoft.graph.teamsAppInstalledEventMessageDetail"
    );
    assert_eq!(event["teamsAppId"], app_id.as_str());
    assert_eq!(event["teamsAppDisplayName"], "Tasks");
    assert_eq!(event["initiator"]["user"]["id"], p.ids[0].as_str());
    let (status, body) = t.post(&apps, &p.tokens[1], &body).await;
    assert_error(status, &body, 409, "Conflict");

    // List and get, with the shapes Graph gives (only the id unless selected or expanded).
    let (status, list) = t.get(&apps, &p.tokens[1]).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["value"], json!([{ "id": iid }]));
    assert!(
        list["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with(&format!("$metadata#chats('{}')/installedApps", enc(&chat))),
        "{list}"
    );
    let one = format!("{apps}/{}", enc(&iid));
    let (_, got) = t
        .get(
            &format!("{one}?$expand=teamsApp,teamsAppDefinition"),
            &p.tokens[0],
        )
        .await;
    assert_eq!(got["teamsApp"]["externalId"], "contoso-tasks");
    assert_eq!(got["teamsApp"]["distributionMethod"], "organization");
    assert_eq!(got["teamsAppDefinition"]["version"], "1.0.0");
    assert_eq!(got["teamsAppDefinition"]["shortDescription"], "Short");
    assert!(got.get("consentedPermissionSet").is_none());
    let (status, got) = t
        .get(
            &format!("{one}?$expand=teamsAppDefinition($expand=bot)"),
            &p.tokens[0],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert!(
        got["teamsAppDefinition"]["bot"].is_null()
            && got["teamsAppDefinition"].get("bot").is_some(),
        "{got}"
    );
    let (_, got) = t
        .get(
            &format!("{apps}?$select=consentedPermissionSet"),
            &p.tokens[0],
        )
        .await;
    assert_eq!(
        got["value"][0]["consentedPermissionSet"]["resourceSpecificPermissions"],
        json!([{ "permissionType": "application", "permissionValue": "ChatMessage.Read.Chat" }]),
        "{got}"
    );
    assert!(
        got["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/installedApps(consentedPermissionSet)")
    );
    let (_, got) = t
        .get(
            &format!(
                "/beta/chats/{}/installedApps/{}?$expand=teamsAppDefinition",
                enc(&chat),
                enc(&iid)
            ),
            &p.tokens[0],
        )
        .await;
    assert_eq!(got["teamsAppDefinition"]["shortdescription"], "Short");
    for (filter, n) in [
        ("teamsApp/externalId eq 'contoso-tasks'", 1),
        ("teamsApp/externalId eq 'other'", 0),
        ("teamsAppDefinition/version eq '1.0.0'", 1),
    ] {
        let (status, list) = t
            .get(&format!("{apps}?$filter={filter}"), &p.tokens[0])
            .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["value"].as_array().unwrap().len(), n, "{filter}");
    }
    let (status, body) = t.get(&format!("{apps}?$expand=chat"), &p.tokens[0]).await;
    assert_error(status, &body, 400, "BadRequest");

    // The same through /me and /users/{id} (app-only), and on beta.
    let (status, list) = t
        .get(
            &format!("/v1.0/me/chats/{}/installedApps", enc(&chat)),
            &p.tokens[0],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(
        list["@odata.context"]
            .as_str()
            .unwrap()
            .contains(&format!("users('{}')/chats(", p.ids[0]))
    );
    let (status, list) = t
        .get(
            &format!(
                "/beta/users/{}/chats/{}/installedApps",
                p.ids[1],
                enc(&chat)
            ),
            &p.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    let (status, list) = t.get(&apps, &p.admin).await;
    assert_eq!(status, StatusCode::OK, "{list}");

    // Outsiders see nothing; the wrong permission is refused; unknown installations are 404.
    let (status, body) = t.get(&apps, &p.tokens[2]).await;
    assert_error(status, &body, 404, "NotFound");
    let (status, body) = t
        .get(
            &format!(
                "/v1.0/users/{}/chats/{}/installedApps",
                p.ids[2],
                enc(&chat)
            ),
            &p.admin,
        )
        .await;
    assert_error(status, &body, 404, "NotFound");
    let read_only = t
        .user_token(&p.upns[0], PASSWORD, "TeamsAppInstallation.ReadForChat")
        .await;
    let (status, _) = t.get(&apps, &read_only).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = t.delete(&one, &read_only).await;
    assert_error(status, &body, 403, "Forbidden");
    let (status, body) = t.get(&format!("{apps}/bm9uZQ%3D%3D"), &p.tokens[0]).await;
    assert_error(status, &body, 404, "NotFound");

    // Bad install bodies.
    let other = publish(t, &p.admin, "contoso-polls", "Polls").await;
    for (bad, status_code) in [
        (json!({}), 400),
        (
            json!({ "teamsApp@odata.bind": "https://graph.microsoft.com/v1.0/users('x')" }),
            400,
        ),
        (json!({ "teamsApp@odata.bind": 5 }), 400),
        (
            json!({ "teamsApp@odata.bind": "https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/00000000-0000-0000-0000-000000000000" }),
            404,
        ),
        (
            json!({ "teamsApp@odata.bind": format!("appCatalogs/teamsApps('{}')", other["id"].as_str().unwrap()), "colour": "red" }),
            400,
        ),
        (
            json!({ "teamsApp@odata.bind": format!("appCatalogs/teamsApps('{}')", other["id"].as_str().unwrap()), "consentedPermissionSet": { "resourceSpecificPermissions": [{ "permissionValue": "X", "permissionType": "sideways" }] } }),
            400,
        ),
    ] {
        let (status, body) = t.post(&apps, &p.tokens[0], &bad).await;
        assert_error(
            status,
            &body,
            status_code,
            if status_code == 400 {
                "BadRequest"
            } else {
                "NotFound"
            },
        );
    }

    // Upgrade: to the newest version, with the event; again is a quiet no-op.
    let (status, _) = t
        .post(
            &format!("/v1.0/appCatalogs/teamsApps/{app_id}/appDefinitions"),
            &p.admin,
            &json!({ "version": "1.1.0", "displayName": "Tasks Pro" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let r = t
        .request(Method::POST, &format!("{one}/upgrade"), &p.tokens[1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let event = last_event(t, &chat, &p.tokens[0]).await;
    assert_eq!(
        event["@odata.type"],
        "#microsoft.graph.teamsAppUpgradedEventMessageDetail"
    );
    assert_eq!(event["teamsAppDisplayName"], "Tasks Pro");
    assert_eq!(event["initiator"]["user"]["id"], p.ids[1].as_str());
    let (_, got) = t
        .get(&format!("{one}?$expand=teamsAppDefinition"), &p.tokens[0])
        .await;
    assert_eq!(got["teamsAppDefinition"]["version"], "1.1.0");
    let (_, before) = t
        .get(
            &format!("/v1.0/chats/{}/lastMessagePreview", enc(&chat)),
            &p.tokens[0],
        )
        .await;
    let (status, _) = t
        .post(
            &format!("{one}/upgrade"),
            &p.admin,
            &json!({ "consentedPermissionSet": { "resourceSpecificPermissions": [] } }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, after) = t
        .get(
            &format!("/v1.0/chats/{}/lastMessagePreview", enc(&chat)),
            &p.tokens[0],
        )
        .await;
    assert_eq!(before["id"], after["id"]);
    let (_, got) = t
        .get(
            &format!("{one}?$select=id,consentedPermissionSet"),
            &p.tokens[0],
        )
        .await;
    assert_eq!(
        got["consentedPermissionSet"]["resourceSpecificPermissions"],
        json!([])
    );
    let (status, body) = t
        .post(
            &format!("{apps}/bm9uZQ%3D%3D/upgrade"),
            &p.tokens[0],
            &json!({}),
        )
        .await;
    assert_error(status, &body, 404, "NotFound");

    // Remove (app-only): 204, the event, then 404.
    let (status, _) = t.delete(&one, &p.admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let event = last_event(t, &chat, &p.tokens[0]).await;
    assert_eq!(
        event["@odata.type"],
        "#microsoft.graph.teamsAppRemovedEventMessageDetail"
    );
    assert_eq!(event["teamsAppId"], app_id.as_str());
    assert!(
        event["initiator"]["application"]["id"].is_string(),
        "{event}"
    );
    let (status, body) = t.get(&one, &p.tokens[0]).await;
    assert_error(status, &body, 404, "NotFound");
    let (status, body) = t.delete(&one, &p.tokens[0]).await;
    assert_error(status, &body, 404, "NotFound");

    // Deleting a catalogue app uninstalls it everywhere, with the event.
    let (status, _) = t.post(&format!("/beta/users/{}/chats/{}/installedApps", p.ids[0], enc(&chat)), &p.admin, &json!({ "teamsApp@odata.bind": format!("https://graph.microsoft.com/beta/appCatalogs/teamsApps('{}')", other["id"].as_str().unwrap()) })).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = t
        .delete(
            &format!(
                "/v1.0/appCatalogs/teamsApps/{}",
                other["id"].as_str().unwrap()
            ),
            &p.admin,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let event = last_event(t, &chat, &p.tokens[0]).await;
    assert_eq!(
        event["@odata.type"],
        "#microsoft.graph.teamsAppRemovedEventMessageDetail"
    );
    assert_eq!(event["teamsAppDisplayName"], "Polls");
    let (_, list) = t.get(&apps, &p.tokens[0]).await;
    assert_eq!(list["value"], json!([]));
}

/// A second tenant with two users in one chat; returns the chat id and an app-only token.
async fn foreign_chat(t: &TestServer) -> (String, String) {
    let (_, token) = t.other_tenant("Fabrikam", "fabrikam.example").await;
    let (_, a) = t
        .post(
            "/v1.0/users",
            &token,
            &user_body("ann", "Ann", "fabrikam.example"),
        )
        .await;
    let (_, b) = t
        .post(
            "/v1.0/users",
            &token,
            &user_body("ben", "Ben", "fabrikam.example"),
        )
        .await;
    (
        group(
            t,
            &token,
            &[a["id"].as_str().unwrap(), b["id"].as_str().unwrap()],
        )
        .await,
        token,
    )
}

#[tokio::test]
async fn the_seed_binds_an_installation_to_a_chat() {
    let p = people(3).await;
    let t = &p.t;
    let a = group(t, &p.tokens[0], &[&p.ids[0], &p.ids[1]]).await;
    let b = group(t, &p.tokens[0], &[&p.ids[0], &p.ids[2]]).await;
    let c = group(t, &p.tokens[1], &[&p.ids[1], &p.ids[2]]).await;
    let app = publish(t, &p.admin, "contoso-bot", "Bot").await;
    let bind = json!({ "teamsApp@odata.bind": format!("https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{}", app["id"].as_str().unwrap()) });
    let (status, installed) = t
        .post(
            &format!("/v1.0/chats/{}/installedApps", enc(&a)),
            &p.tokens[0],
            &bind,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{installed}");
    let iid = installed["id"].as_str().unwrap().to_string();
    // The seed's path: /chats/{chatsId}/installedApps/{teamsAppInstallationId}/chat/$ref, on beta.
    let seed_path = format!(
        "/beta/chats/{}/installedApps/{}/chat/$ref",
        enc(&a),
        enc(&iid)
    );
    let chat_path = format!("/v1.0/chats/{}/installedApps/{}/chat", enc(&a), enc(&iid));

    // Bound, by default, to the chat it was installed in.
    let (status, bound) = t.get(&chat_path, &p.tokens[0]).await;
    assert_eq!(status, StatusCode::OK, "{bound}");
    assert_eq!(bound["id"], a.as_str());
    assert!(
        bound["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#chats/$entity")
    );
    assert_eq!(bound["viewpoint"]["isHidden"], false);

    // The seed's exact request body names no chat: Graph's 400.
    let seed_body = json!({
      "@odata.type": "#Microsoft.Teams.GraphSvc.chat",
      "tenantId": "String",
      "topic": "String",
      "lastUpdatedDateTime": "String (timestamp)",
      "chatType": "String",
      "webUrl": "String",
      "viewpoint": {
        "@odata.type": "microsoft.graph.chatViewpoint"
      },
      "onlineMeetingInfo": {
        "@odata.type": "microsoft.graph.teamworkOnlineMeetingInfo"
      }
    });
    let (status, body) = t.post(&seed_path, &p.tokens[0], &seed_body).await;
    assert_error(status, &body, 400, "BadRequest");
    // The seed's body carrying the chat's id binds to that chat: 204, no body.
    let mut with_id = seed_body.clone();
    with_id["id"] = json!(b);
    let (status, body) = t.post(&seed_path, &p.tokens[0], &with_id).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(body.is_null());
    let (_, bound) = t.get(&chat_path, &p.tokens[0]).await;
    assert_eq!(bound["id"], b.as_str());
    // A member of the installation's chat who is not in the bound chat does not see it.
    let (status, body) = t.get(&chat_path, &p.tokens[1]).await;
    assert_error(status, &body, 404, "NotFound");
    // The installation itself is unchanged: still listed in its own chat, same id.
    let (_, list) = t
        .get(
            &format!("/v1.0/chats/{}/installedApps", enc(&a)),
            &p.tokens[1],
        )
        .await;
    assert_eq!(list["value"], json!([{ "id": iid }]));

    // Plain OData references, in every spelling; POST and PUT; /me and /users/{id} too.
    let ref_path = format!(
        "/v1.0/chats/{}/installedApps/{}/chat/$ref",
        enc(&a),
        enc(&iid)
    );
    for (method, path, reference, expected) in [
        (
            Method::POST,
            ref_path.clone(),
            format!("https://graph.microsoft.com/v1.0/chats('{a}')"),
            &a,
        ),
        (
            Method::PUT,
            ref_path.clone(),
            format!("{}/beta/chats/{}", t.base, enc(&b)),
            &b,
        ),
        (
            Method::POST,
            format!(
                "/v1.0/me/chats/{}/installedApps/{}/chat/$ref",
                enc(&a),
                enc(&iid)
            ),
            format!("/chats/{a}"),
            &a,
        ),
        (
            Method::PUT,
            seed_path.clone(),
            format!("chats(%27{}%27)", enc(&b)),
            &b,
        ),
    ] {
        let r = t
            .request(method.clone(), &path, &p.tokens[0])
            .json(&json!({ "@odata.id": reference }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::NO_CONTENT,
            "{method} {path} {reference}: {:?}",
            r.text().await
        );
        let (_, bound) = t.get(&chat_path, &p.tokens[0]).await;
        assert_eq!(&bound["id"], expected, "{reference}");
    }
    let r = t
        .request(
            Method::POST,
            &format!(
                "/v1.0/users/{}/chats/{}/installedApps/{}/chat/$ref",
                p.ids[0],
                enc(&a),
                enc(&iid)
            ),
            &p.admin,
        )
        .json(&json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/chats('{a}')") }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // Errors: a chat the caller is not in, another tenant's chat, no such chat, no such
    // installation, malformed references.
    let (status, body) = t
        .post(
            &ref_path,
            &p.tokens[0],
            &json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/chats('{c}')") }),
        )
        .await;
    assert_error(status, &body, 403, "Forbidden");
    let (foreign, foreign_token) = foreign_chat(t).await;
    // The other tenant sees neither this tenant's catalogue nor its chats' apps.
    let (status, body) = t
        .get(
            &format!(
                "/v1.0/appCatalogs/teamsApps/{}",
                app["id"].as_str().unwrap()
            ),
            &foreign_token,
        )
        .await;
    assert_error(status, &body, 404, "NotFound");
    let (_, list) = t.get("/v1.0/appCatalogs/teamsApps", &foreign_token).await;
    assert_eq!(list["value"], json!([]));
    let (status, body) = t
        .get(
            &format!("/v1.0/chats/{}/installedApps", enc(&a)),
            &foreign_token,
        )
        .await;
    assert_error(status, &body, 404, "NotFound");
    let (status, body) = t
        .post(
            &ref_path,
            &p.tokens[0],
            &json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/chats('{foreign}')") }),
        )
        .await;
    assert_error(status, &body, 404, "NotFound");
    let (status, body) = t
        .post(
            &ref_path,
            &p.admin,
            &json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/chats('{foreign}')") }),
        )
        .await;
    assert_error(status, &body, 404, "NotFound");
    let (status, body) = t
        .post(
            &ref_path,
            &p.tokens[0],
            &json!({ "@odata.id": "https://graph.microsoft.com/v1.0/chats('19:nope@thread.v2')" }),
        )
        .await;
    assert_error(status, &body, 404, "NotFound");
    let missing = format!(
        "/v1.0/chats/{}/installedApps/bm9uZQ%3D%3D/chat/$ref",
        enc(&a)
    );
    let (status, body) = t
        .post(
            &missing,
            &p.tokens[0],
            &json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/chats('{b}')") }),
        )
        .await;
    assert_error(status, &body, 404, "NotFound");
    let (status, body) = t
        .get(
            &format!("/v1.0/chats/{}/installedApps/bm9uZQ%3D%3D/chat", enc(&a)),
            &p.tokens[0],
        )
        .await;
    assert_error(status, &body, 404, "NotFound");
    for bad in [
        json!({ "@odata.id": "https://graph.microsoft.com/v1.0/users('x')" }),
        json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/chats/{b}/members") }),
        json!({ "@odata.id": 5 }),
        json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/chats('{b}')"), "colour": "red" }),
        json!({ "id": "" }),
        json!({}),
    ] {
        let (status, body) = t.post(&ref_path, &p.tokens[0], &bad).await;
        assert_error(status, &body, 400, "BadRequest");
    }
    // Not a member of the installation's chat at all: 404, whatever the reference.
    let (status, body) = t
        .post(
            &ref_path,
            &p.tokens[2],
            &json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/chats('{b}')") }),
        )
        .await;
    assert_error(status, &body, 404, "NotFound");
    // Reading the binding is not changing it.
    let read_only = t
        .user_token(&p.upns[0], PASSWORD, "TeamsAppInstallation.ReadForChat")
        .await;
    let (status, _) = t.get(&chat_path, &read_only).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = t
        .post(
            &ref_path,
            &read_only,
            &json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/chats('{b}')") }),
        )
        .await;
    assert_error(status, &body, 403, "Forbidden");

    // An application may bind to any chat of its tenant.
    let (status, _) = t
        .post(
            &ref_path,
            &p.admin,
            &json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/chats('{c}')") }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, bound) = t.get(&chat_path, &p.admin).await;
    assert_eq!(status, StatusCode::OK, "{bound}");
    assert_eq!(bound["id"], c.as_str());
    assert!(bound["viewpoint"].is_null());

    // Unbind: 204, then the navigation is empty (404), and unbinding again is 404.
    let (status, _) = t.delete(&seed_path, &p.tokens[0]).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = t.get(&chat_path, &p.tokens[0]).await;
    assert_error(status, &body, 404, "NotFound");
    let (status, body) = t.delete(&ref_path, &p.tokens[0]).await;
    assert_error(status, &body, 404, "NotFound");
    // …and binding again works.
    let (status, _) = t
        .post(
            &seed_path,
            &p.tokens[0],
            &json!({ "@odata.id": format!("https://graph.microsoft.com/beta/chats('{a}')") }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, bound) = t.get(&chat_path, &p.tokens[0]).await;
    assert_eq!(bound["id"], a.as_str());
}

#[tokio::test]
async fn sample_data_has_chats_and_an_installed_app() {
    let t = TestServer::start_with(|c| c.sample_data = true).await;
    let listed: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(t.data_dir().join("sample-users.json")).unwrap(),
    )
    .unwrap();
    let adele = &listed[0];
    let token = t
        .user_token(
            adele["userPrincipalName"].as_str().unwrap(),
            adele["password"].as_str().unwrap(),
            ".default",
        )
        .await;
    let (status, chats) = t.get("/v1.0/me/chats?$expand=members", &token).await;
    assert_eq!(status, StatusCode::OK, "{chats}");
    let chats = chats["value"].as_array().unwrap().clone();
    for kind in ["oneOnOne", "group", "meeting"] {
        assert!(
            chats.iter().any(|c| c["chatType"] == kind),
            "no {kind} chat: {chats:?}"
        );
    }
    assert!(
        chats
            .iter()
            .any(|c| c["chatType"] == "group" && c["topic"].is_string())
    );
    let admin = t.admin_token().await;
    let (_, apps) = t
        .get("/v1.0/appCatalogs/teamsApps?$expand=appDefinitions", &admin)
        .await;
    assert_eq!(apps["value"].as_array().unwrap().len(), 1, "{apps}");
    let mut installed = 0;
    for c in &chats {
        let (status, list) = t
            .get(
                &format!(
                    "/v1.0/chats/{}/installedApps?$expand=teamsApp",
                    enc(c["id"].as_str().unwrap())
                ),
                &token,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        installed += list["value"].as_array().unwrap().len();
    }
    assert_eq!(installed, 1);
    // A restart does not seed twice.
    let t = t.restart().await;
    let admin = t.admin_token().await;
    let (_, apps) = t.get("/v1.0/appCatalogs/teamsApps", &admin).await;
    assert_eq!(apps["value"].as_array().unwrap().len(), 1);
}
