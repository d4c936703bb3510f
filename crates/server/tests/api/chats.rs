//! Teams chats: create (the seed), read, rename, delete, members, per-user state, system events.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::*;

/// A tenant with three users and a delegated token for each.
pub struct People {
    pub t: TestServer,
    pub admin: String,
    pub ids: Vec<String>,
    pub upns: Vec<String>,
    pub tokens: Vec<String>,
}

pub async fn people(n: usize) -> People {
    let t = TestServer::start().await;
    let admin = t.admin_token().await;
    let mut ids = Vec::new();
    let mut upns = Vec::new();
    let mut tokens = Vec::new();
    for i in 0..n {
        let u = t
            .create_user(&admin, &format!("person{i}"), &format!("Person {i}"))
            .await;
        let upn = u["userPrincipalName"].as_str().unwrap().to_string();
        tokens.push(t.user_token(&upn, PASSWORD, ".default").await);
        ids.push(u["id"].as_str().unwrap().to_string());
        upns.push(upn);
    }
    People {
        t,
        admin,
        ids,
        upns,
        tokens,
    }
}

pub fn member(bind: &str) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.aadUserConversationMember",
        "roles": ["owner"],
        "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{bind}')"),
    })
}

/// Percent-encodes an id for a path segment, as the SDKs do.
pub fn enc(id: &str) -> String {
    id.replace('%', "%25")
        .replace(':', "%3A")
        .replace('@', "%40")
        .replace('/', "%2F")
        .replace('+', "%2B")
        .replace('=', "%3D")
}

#[tokio::test]
async fn the_seed_example_creates_a_group_chat_of_one() {
    let p = people(1).await;
    // The seed page's own request body: only a topic (and a server-owned property to ignore).
    let body = json!({ "@odata.type": "#microsoft.graph.chat", "topic": "Weekly sync", "createdDateTime": "2020-01-01T00:00:00Z" });
    let r =
        p.t.request(Method::POST, "/v1.0/chats", &p.tokens[0])
            .json(&body)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(r.headers().get("location").is_some());
    let (_, chat) = json(r).await;
    assert_eq!(chat["chatType"], "group");
    assert_eq!(chat["topic"], "Weekly sync");
    assert_ne!(chat["createdDateTime"], "2020-01-01T00:00:00Z");
    let id = chat["id"].as_str().unwrap();
    assert!(id.starts_with("19:") && id.ends_with("@thread.v2"), "{id}");
    assert!(
        chat["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#chats/$entity")
    );
    assert_eq!(chat["tenantId"], p.t.creds().tenant_id.as_str());
    assert!(
        chat["webUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://teams.microsoft.com/l/chat/19%3A")
    );
    let (status, members) =
        p.t.get(&format!("/v1.0/chats/{}/members", enc(id)), &p.tokens[0])
            .await;
    assert_eq!(status, StatusCode::OK, "{members}");
    assert_eq!(members["value"].as_array().unwrap().len(), 1);
    assert_eq!(members["value"][0]["userId"], p.ids[0].as_str());
    assert_eq!(
        members["value"][0]["@odata.type"],
        "#microsoft.graph.aadUserConversationMember"
    );
    // An app must name the members.
    let (status, body) =
        p.t.post("/v1.0/chats", &p.admin, &json!({ "topic": "x" }))
            .await;
    assert_error(status, &body, 400, "BadRequest");
}

#[tokio::test]
async fn one_on_one_chats_are_unique_per_pair() {
    let p = people(3).await;
    let body =
        json!({ "chatType": "oneOnOne", "members": [member(&p.ids[0]), member(&p.upns[1])] });
    let (status, first) = p.t.post("/v1.0/chats", &p.tokens[0], &body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let mut pair = [p.ids[0].clone(), p.ids[1].clone()];
    pair.sort();
    assert_eq!(
        first["id"],
        format!("19:{}_{}@unq.gbl.spaces", pair[0], pair[1])
    );
    assert!(first["topic"].is_null());
    // The other user creating "the same" chat, through /me/chats, gets the same chat.
    let body2 =
        json!({ "chatType": "oneOnOne", "members": [member(&p.upns[1]), member(&p.ids[0])] });
    let (status, second) = p.t.post("/v1.0/me/chats", &p.tokens[1], &body2).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(second["id"], first["id"]);

    for (bad, why) in [
        (
            json!({ "chatType": "oneOnOne", "members": [member(&p.ids[0])] }),
            "one member",
        ),
        (
            json!({ "chatType": "oneOnOne", "topic": "t", "members": [member(&p.ids[0]), member(&p.ids[1])] }),
            "topic",
        ),
        (
            json!({ "chatType": "oneOnOne", "members": [member(&p.ids[1]), member(&p.ids[2])] }),
            "caller not a member",
        ),
        (
            json!({ "chatType": "banana", "members": [member(&p.ids[0]), member(&p.ids[1])] }),
            "unknown type",
        ),
        (
            json!({ "chatType": "group", "members": [member(&p.ids[0]), member(&p.ids[0])] }),
            "duplicate",
        ),
        (
            json!({ "chatType": "group", "members": [{ "roles": ["owner"] }] }),
            "no bind",
        ),
        (
            json!({ "chatType": "group", "members": [member(&p.ids[0])], "colour": "red" }),
            "unknown property",
        ),
        (
            json!({ "chatType": "group", "topic": "a:b", "members": [member(&p.ids[0])] }),
            "colon in topic",
        ),
    ] {
        let (status, body) = p.t.post("/v1.0/chats", &p.tokens[0], &bad).await;
        assert_error(status, &body, 400, "BadRequest");
        let _ = why;
    }
    let ghost = json!({ "chatType": "group", "members": [member(&p.ids[0]), member("ghost@nowhere.example")] });
    let (status, body) = p.t.post("/v1.0/chats", &p.tokens[0], &ghost).await;
    assert_error(status, &body, 404, "NotFound");
}

#[tokio::test]
async fn list_get_rename_and_membership_rules() {
    let p = people(3).await;
    let body = json!({ "chatType": "group", "topic": "Launch", "members": [member(&p.ids[0]), member(&p.ids[1])] });
    let (_, chat) = p.t.post("/v1.0/chats", &p.tokens[0], &body).await;
    let id = chat["id"].as_str().unwrap().to_string();
    let path = format!("/v1.0/chats/{}", enc(&id));

    // Members see it; an outsider does not, on any route.
    let (status, got) = p.t.get(&path, &p.tokens[1]).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["viewpoint"]["isHidden"], false);
    assert_eq!(
        got["viewpoint"]["lastMessageReadDateTime"],
        "0001-01-01T00:00:00Z"
    );
    for (method, suffix) in [
        (Method::GET, ""),
        (Method::GET, "/members"),
        (Method::PATCH, ""),
        (Method::POST, "/members"),
    ] {
        let mut r =
            p.t.request(method.clone(), &format!("{path}{suffix}"), &p.tokens[2]);
        if method == Method::PATCH {
            r = r.json(&json!({ "topic": "x" }));
        } else if method == Method::POST {
            r = r.json(&member(&p.ids[2]));
        }
        let (status, body) = json(r.send().await.unwrap()).await;
        assert_error(status, &body, 404, "NotFound");
    }
    let (_, list) = p.t.get("/v1.0/chats", &p.tokens[2]).await;
    assert_eq!(list["value"], json!([]));

    // Rename: 200 with the chat; a chatRenamed event is posted.
    let (status, renamed) =
        p.t.patch(&path, &p.tokens[1], &json!({ "topic": "Launch v2" }))
            .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["topic"], "Launch v2");
    let r =
        p.t.request(
            Method::GET,
            &format!("{path}/lastMessagePreview"),
            &p.tokens[0],
        )
        .header("Prefer", "include-unknown-enum-members")
        .send()
        .await
        .unwrap();
    let (status, preview) = json(r).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["messageType"], "systemEventMessage");
    assert_eq!(
        preview["eventDetail"]["@odata.type"],
        "#microsoft.graph.chatRenamedEventMessageDetail"
    );
    assert_eq!(preview["eventDetail"]["chatDisplayName"], "Launch v2");
    let (_, preview) =
        p.t.get(&format!("{path}/lastMessagePreview"), &p.tokens[0])
            .await;
    assert_eq!(preview["messageType"], "unknownFutureValue");
    let (status, body) =
        p.t.post(
            &format!("{path}/lastMessagePreview"),
            &p.tokens[0],
            &json!({ "id": "1", "messageType": "message" }),
        )
        .await;
    assert_error(status, &body, 405, "MethodNotAllowed");

    // List with expansions, filter and the one supported order.
    let (status, list) = p.t.get("/v1.0/me/chats?$expand=members,lastMessagePreview&$orderby=lastMessagePreview/createdDateTime desc", &p.tokens[0]).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(
        list["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#chats(members(),lastMessagePreview())")
    );
    let c = &list["value"][0];
    assert_eq!(c["members"].as_array().unwrap().len(), 2);
    assert!(
        c["members@odata.context"]
            .as_str()
            .unwrap()
            .contains("/members")
    );
    assert_eq!(c["lastMessagePreview"]["messageType"], "unknownFutureValue");
    let (_, filtered) =
        p.t.get("/v1.0/chats?$filter=topic eq 'Launch v2'", &p.tokens[0])
            .await;
    assert_eq!(filtered["value"].as_array().unwrap().len(), 1);
    let (_, filtered) =
        p.t.get("/v1.0/chats?$filter=chatType eq 'oneOnOne'", &p.tokens[0])
            .await;
    assert_eq!(filtered["value"], json!([]));
    let (_, filtered) =
        p.t.get(
            "/v1.0/chats?$filter=members/any(m: m/displayName eq 'Person 1')",
            &p.tokens[0],
        )
        .await;
    assert_eq!(filtered["value"].as_array().unwrap().len(), 1, "{filtered}");
    let (status, body) = p.t.get("/v1.0/chats?$orderby=topic", &p.tokens[0]).await;
    assert_error(status, &body, 400, "BadRequest");
    // /chats is delegated-only; an app lists a user's chats.
    let (status, _) = p.t.get("/v1.0/chats", &p.admin).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, list) =
        p.t.get(&format!("/v1.0/users/{}/chats", p.ids[1]), &p.admin)
            .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    // A delegated caller cannot list someone else's chats.
    let (status, _) =
        p.t.get(&format!("/v1.0/users/{}/chats", p.ids[1]), &p.tokens[0])
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn members_added_removed_and_the_last_one_stays() {
    let p = people(3).await;
    let body = json!({ "chatType": "group", "members": [member(&p.ids[0]), member(&p.ids[1])] });
    let (_, chat) = p.t.post("/v1.0/chats", &p.tokens[0], &body).await;
    let path = format!("/v1.0/chats/{}/members", enc(chat["id"].as_str().unwrap()));
    let add = json!({
        "@odata.type": "#microsoft.graph.aadUserConversationMember",
        "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users/{}", p.ids[2]),
        "visibleHistoryStartDateTime": "2019-04-18T23:51:43.255Z",
        "roles": ["owner"]
    });
    let r =
        p.t.request(Method::POST, &path, &p.tokens[0])
            .json(&add)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let (_, added) = json(r).await;
    assert!(
        location.starts_with("/chats/") && location.ends_with(added["id"].as_str().unwrap()),
        "{location}"
    );
    assert_eq!(
        added["visibleHistoryStartDateTime"],
        "2019-04-18T23:51:43.255Z"
    );
    let (status, body) = p.t.post(&path, &p.tokens[0], &add).await;
    assert_error(status, &body, 409, "Conflict");
    // The newcomer sees the chat now.
    let (status, _) =
        p.t.get(
            &format!("/v1.0/chats/{}", enc(chat["id"].as_str().unwrap())),
            &p.tokens[2],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let membership = added["id"].as_str().unwrap();
    let (status, one) =
        p.t.get(&format!("{path}/{}", enc(membership)), &p.tokens[2])
            .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["userId"], p.ids[2].as_str());

    let (_, list) = p.t.get(&path, &p.tokens[0]).await;
    assert_eq!(list["@odata.count"], 3);
    // Everyone but the caller (members added together are listed in no particular order).
    for m in list["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["userId"] != p.ids[0].as_str())
    {
        let (status, _) =
            p.t.delete(
                &format!("{path}/{}", enc(m["id"].as_str().unwrap())),
                &p.tokens[0],
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let (_, list) = p.t.get(&path, &p.tokens[0]).await;
    let last = list["value"][0]["id"].as_str().unwrap();
    let (status, body) =
        p.t.delete(&format!("{path}/{}", enc(last)), &p.tokens[0])
            .await;
    assert_error(status, &body, 400, "BadRequest");
    let (status, body) =
        p.t.delete(&format!("{path}/bm90LWEtbWVtYmVy"), &p.tokens[0])
            .await;
    assert_error(status, &body, 404, "NotFound");
}

#[tokio::test]
async fn per_user_state_is_per_user() {
    let p = people(2).await;
    let body = json!({ "chatType": "group", "members": [member(&p.ids[0]), member(&p.ids[1])] });
    let (_, chat) = p.t.post("/v1.0/chats", &p.tokens[0], &body).await;
    let path = format!("/v1.0/chats/{}", enc(chat["id"].as_str().unwrap()));
    let me = json!({ "user": { "id": p.ids[0], "tenantId": p.t.creds().tenant_id } });
    for action in ["hideForUser", "markChatReadForUser"] {
        let (status, body) =
            p.t.post(&format!("{path}/{action}"), &p.tokens[0], &me)
                .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{action}: {body}");
    }
    let (_, mine) = p.t.get(&path, &p.tokens[0]).await;
    assert_eq!(mine["viewpoint"]["isHidden"], true);
    assert_ne!(
        mine["viewpoint"]["lastMessageReadDateTime"],
        "0001-01-01T00:00:00Z"
    );
    let (_, theirs) = p.t.get(&path, &p.tokens[1]).await;
    assert_eq!(theirs["viewpoint"]["isHidden"], false);
    assert_eq!(
        theirs["viewpoint"]["lastMessageReadDateTime"],
        "0001-01-01T00:00:00Z"
    );
    let unread = json!({ "User": { "id": p.ids[0] }, "lastMessageReadDateTime": "2021-05-27T22:13:01.577Z" });
    let (status, _) =
        p.t.post(
            &format!("{path}/markChatUnreadForUser"),
            &p.tokens[0],
            &unread,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) =
        p.t.post(&format!("{path}/unhideForUser"), &p.tokens[0], &me)
            .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, mine) = p.t.get(&path, &p.tokens[0]).await;
    assert_eq!(mine["viewpoint"]["isHidden"], false);
    assert_eq!(
        mine["viewpoint"]["lastMessageReadDateTime"],
        "2021-05-27T22:13:01.577Z"
    );
    // Only for oneself, and not app-only.
    let other = json!({ "user": { "id": p.ids[1] } });
    let (status, body) =
        p.t.post(&format!("{path}/hideForUser"), &p.tokens[0], &other)
            .await;
    assert_error(status, &body, 403, "Forbidden");
    let (status, _) =
        p.t.post(&format!("{path}/hideForUser"), &p.admin, &me)
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn deleting_a_chat_takes_an_admin() {
    let p = people(2).await;
    let body = json!({ "chatType": "group", "members": [member(&p.ids[0]), member(&p.ids[1])] });
    let (_, chat) = p.t.post("/v1.0/chats", &p.tokens[0], &body).await;
    let path = format!("/v1.0/chats/{}", enc(chat["id"].as_str().unwrap()));
    let plain = p.t.user_token(&p.upns[0], PASSWORD, "Chat.ReadWrite").await;
    let (status, _) = p.t.delete(&path, &plain).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = p.t.delete(&path, &p.admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = p.t.get(&path, &p.tokens[0]).await;
    assert_error(status, &body, 404, "NotFound");
    // Other tenants never see a chat.
    let (status, body) = p.t.delete(&path, &p.admin).await;
    assert_error(status, &body, 404, "NotFound");
}

/// The same chat routes under `/beta`, and under `/me` and `/users/{id}`, with beta contexts.
#[tokio::test]
async fn beta_and_every_mount_serve_the_same_chats() {
    let p = people(2).await;
    let body = json!({ "chatType": "group", "topic": "Beta", "members": [member(&p.ids[0]), member(&p.ids[1])] });
    let (status, chat) = p.t.post("/beta/me/chats", &p.tokens[0], &body).await;
    assert_eq!(status, StatusCode::CREATED, "{chat}");
    assert!(
        chat["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/beta/$metadata#chats/$entity")
    );
    let id = enc(chat["id"].as_str().unwrap());
    for path in [
        format!("/beta/chats/{id}"),
        format!("/beta/me/chats/{id}"),
        format!("/beta/users/{}/chats/{id}", p.ids[1]),
    ] {
        let token = if path.contains("/users/") {
            &p.tokens[1]
        } else {
            &p.tokens[0]
        };
        let (status, got) = p.t.get(&path, token).await;
        assert_eq!(status, StatusCode::OK, "{path}: {got}");
        assert_eq!(got["topic"], "Beta");
    }
    let (status, members) =
        p.t.get(
            &format!("/beta/users/{}/chats/{id}/members", p.ids[0]),
            &p.tokens[0],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{members}");
    assert!(
        members["@odata.context"]
            .as_str()
            .unwrap()
            .contains(&format!("/beta/$metadata#users('{}')/chats(", p.ids[0]))
    );
    let (status, renamed) =
        p.t.patch(
            &format!("/beta/chats/{id}"),
            &p.tokens[1],
            &json!({ "topic": "Beta 2" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    let (_, list) =
        p.t.get("/beta/chats?$expand=lastMessagePreview", &p.tokens[0])
            .await;
    assert_eq!(list["value"][0]["topic"], "Beta 2");
    assert!(
        list["@odata.context"]
            .as_str()
            .unwrap()
            .contains("/beta/$metadata#chats(lastMessagePreview())")
    );
}
