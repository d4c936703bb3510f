//! Chat messages: send (the seed), read with Graph's query rules, edit, soft delete, reactions,
//! the chat's preview, getAllMessages and its delta, and many senders at once.

use std::collections::{BTreeSet, HashSet};
use std::time::Instant;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::chats::{People, enc, member, people};
use crate::harness::*;

/// A group chat of the first `n` people, made by person 0; its path under `/{version}`.
async fn group(p: &People, n: usize, version: &str) -> (String, String) {
    let members: Vec<Value> = p.ids.iter().take(n).map(|id| member(id)).collect();
    let (status, chat) =
        p.t.post(
            "/v1.0/chats",
            &p.tokens[0],
            &json!({ "chatType": "group", "topic": "Messages", "members": members }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{chat}");
    let id = chat["id"].as_str().unwrap().to_string();
    let path = format!("/{version}/chats/{}", enc(&id));
    (id, path)
}

async fn send(p: &People, who: usize, path: &str, body: Value) -> Value {
    let (status, m) =
        p.t.post(&format!("{path}/messages"), &p.tokens[who], &body)
            .await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    m
}

async fn text(p: &People, who: usize, path: &str, content: &str) -> Value {
    send(p, who, path, json!({ "body": { "content": content } })).await
}

/// Every page of a collection, following `@odata.nextLink` verbatim.
async fn all_pages(t: &TestServer, first: &str, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut url = t.url(first);
    loop {
        let (status, page) =
            json(t.client.get(&url).bearer_auth(token).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        out.extend(page["value"].as_array().unwrap().iter().cloned());
        match page["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => return out,
        }
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

/// Only the users' messages (not the system events a chat posts).
fn sent(items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .filter(|m| m["messageType"] == "message")
        .cloned()
        .collect()
}

const MESSAGE_KEYS: &[&str] = &[
    "@odata.context",
    "id",
    "replyToId",
    "etag",
    "messageType",
    "createdDateTime",
    "lastModifiedDateTime",
    "lastEditedDateTime",
    "deletedDateTime",
    "subject",
    "summary",
    "chatId",
    "importance",
    "locale",
    "webUrl",
    "channelIdentity",
    "policyViolation",
    "eventDetail",
    "from",
    "body",
    "attachments",
    "mentions",
    "reactions",
    "messageHistory",
];

#[tokio::test]
async fn the_seed_request_answers_201_with_the_whole_message() {
    let p = people(2).await;
    for version in ["v1.0", "beta"] {
        let (chat_id, path) = group(&p, 2, version).await;
        // The seed page's own request body.
        let r =
            p.t.request(Method::POST, &format!("{path}/messages"), &p.tokens[0])
                .json(&json!({ "body": { "content": "Hello world" } }))
                .send()
                .await
                .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let location = r.headers()["location"].to_str().unwrap().to_string();
        let (_, m) = json(r).await;
        let keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, MESSAGE_KEYS, "{m}");
        let id = m["id"].as_str().unwrap();
        assert!(
            id.len() >= 13 && id.bytes().all(|b| b.is_ascii_digit()),
            "{id}"
        );
        assert_eq!(m["etag"], id);
        assert!(
            location.ends_with(&format!(
                "/{version}/chats('{}')/messages('{id}')",
                enc(&chat_id)
            )),
            "{location}"
        );
        assert_eq!(
            m["@odata.context"],
            p.t.url(&format!(
                "/{version}/$metadata#chats('{}')/messages/$entity",
                chat_id.replace(':', "%3A").replace('@', "%40")
            ))
        );
        assert_eq!(m["messageType"], "message");
        assert_eq!(m["createdDateTime"], m["lastModifiedDateTime"]);
        let ms: i64 = id.parse().unwrap();
        assert_eq!(
            m["createdDateTime"],
            switchboard_domain::graph_time::millis(ms)
        );
        for null in [
            "replyToId",
            "lastEditedDateTime",
            "deletedDateTime",
            "subject",
            "summary",
            "webUrl",
            "channelIdentity",
            "policyViolation",
            "eventDetail",
        ] {
            assert!(m[null].is_null(), "{null}: {m}");
        }
        assert_eq!(m["chatId"], chat_id.as_str());
        assert_eq!(m["importance"], "normal");
        assert_eq!(m["locale"], "en-us");
        assert_eq!(
            m["from"],
            json!({ "application": null, "device": null, "user": {
                "@odata.type": "#microsoft.graph.teamworkUserIdentity", "id": p.ids[0], "displayName": "Person 0",
                "userIdentityType": "aadUser", "tenantId": p.t.creds().tenant_id } })
        );
        assert_eq!(
            m["body"],
            json!({ "contentType": "text", "content": "Hello world" })
        );
        for empty in ["attachments", "mentions", "reactions", "messageHistory"] {
            assert_eq!(m[empty], json!([]), "{empty}");
        }
        // It reads back the same (another member, the get route).
        let (status, got) =
            p.t.get(&format!("{path}/messages/{id}"), &p.tokens[1])
                .await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert_eq!(got, m);
        // The same through /me and /users/{id}, with the user-form context.
        let me_path = format!("/{version}/me/chats/{}/messages", enc(&chat_id));
        let (status, via_me) =
            p.t.post(
                &me_path,
                &p.tokens[1],
                &json!({ "body": { "content": "via me" } }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{via_me}");
        assert!(
            via_me["@odata.context"]
                .as_str()
                .unwrap()
                .contains(&format!("users('{}')/chats(", p.ids[1]))
        );
        let user_path = format!(
            "/{version}/users/{}/chats/{}/messages",
            p.ids[1],
            enc(&chat_id)
        );
        let (status, _) =
            p.t.post(
                &user_path,
                &p.tokens[1],
                &json!({ "body": { "content": "via users" } }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        // OData key syntax for the message.
        let (status, got) =
            p.t.get(
                &format!("/{version}/chats('{}')/messages('{id}')", enc(&chat_id)),
                &p.tokens[0],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{got}");
        // SDK-style bodies: @odata.type everywhere, server-owned properties ignored.
        let sdk = json!({
            "@odata.type": "#microsoft.graph.chatMessage",
            "body": { "@odata.type": "#microsoft.graph.itemBody", "contentType": "TEXT", "content": "typed" },
            "createdDateTime": "2001-01-01T00:00:00Z", "messageType": "systemEventMessage", "from": { "user": { "id": p.ids[1] } },
            "reactions": [], "replyToId": null, "locale": "de-de", "id": "1"
        });
        let m = send(&p, 0, &path, sdk).await;
        assert_eq!(m["body"]["contentType"], "text");
        assert_eq!(m["messageType"], "message");
        assert_eq!(m["from"]["user"]["id"], p.ids[0].as_str());
        assert_ne!(m["createdDateTime"], "2001-01-01T00:00:00Z");
        assert_ne!(m["id"], "1");
    }
}

#[tokio::test]
async fn sending_follows_graphs_rules() {
    let p = people(3).await;
    let (chat_id, path) = group(&p, 2, "v1.0").await;
    let msgs = format!("{path}/messages");
    let bad = |body: Value, why: &'static str| {
        let p = &p;
        let msgs = msgs.clone();
        async move {
            let (status, answer) = p.t.post(&msgs, &p.tokens[0], &body).await;
            assert_error(status, &answer, 400, "BadRequest");
            let _ = why;
        }
    };
    bad(json!({}), "no body").await;
    bad(json!({ "body": {} }), "no content").await;
    bad(json!({ "body": { "content": "  " } }), "empty").await;
    bad(
        json!({ "body": { "content": "x", "contentType": "markdown" } }),
        "content type",
    )
    .await;
    bad(
        json!({ "body": { "content": "x" }, "colour": "red" }),
        "unknown property",
    )
    .await;
    bad(
        json!({ "body": { "content": "x", "colour": "red" } }),
        "unknown body property",
    )
    .await;
    bad(
        json!({ "body": { "content": "x" }, "importance": "critical" }),
        "importance",
    )
    .await;
    bad(
        json!({ "body": { "content": "x" }, "replyToId": "1616991463150" }),
        "reply in a chat",
    )
    .await;
    bad(
        json!({ "body": { "content": "<script>alert(1)</script>", "contentType": "html" } }),
        "nothing left",
    )
    .await;

    // Importance (any case in, Graph's spelling out), subject, sanitised HTML.
    let m = send(&p, 0, &path, json!({ "subject": "Heads up", "importance": "HIGH",
        "body": { "contentType": "html", "content": "<div onclick=\"steal()\">Hi <b>all</b><script>alert(1)</script><img src=\"javascript:x\"> <a href=\"https://example.org/x\">x</a></div>" } })).await;
    assert_eq!(m["importance"], "high");
    assert_eq!(m["subject"], "Heads up");
    assert_eq!(
        m["body"],
        json!({ "contentType": "html", "content": "<div>Hi <b>all</b><img> <a href=\"https://example.org/x\">x</a></div>" })
    );
    let m = send(
        &p,
        0,
        &path,
        json!({ "importance": "Urgent", "body": { "content": "<b>not html</b>" } }),
    )
    .await;
    assert_eq!(m["importance"], "urgent");
    assert_eq!(
        m["body"]["content"], "<b>not html</b>",
        "text bodies are stored as sent"
    );

    // ~28 KB is the limit.
    let (status, body) =
        p.t.post(
            &msgs,
            &p.tokens[0],
            &json!({ "body": { "content": "x".repeat(28 * 1024 + 1) } }),
        )
        .await;
    assert_error(status, &body, 413, "RequestEntityTooLarge");
    send(
        &p,
        0,
        &path,
        json!({ "body": { "content": "x".repeat(28 * 1024) } }),
    )
    .await;

    // Mentions: each <at id> has its mention and the other way round; mentioned users are members.
    let mention = |id: i64, user: &str| json!({ "id": id, "mentionText": "Person 1", "mentioned": { "user": { "id": user, "displayName": "Person 1", "userIdentityType": "aadUser" } } });
    let m = send(&p, 0, &path, json!({ "body": { "contentType": "html", "content": "Hi <at id=\"0\">Person 1</at>" }, "mentions": [mention(0, &p.ids[1])] })).await;
    assert_eq!(m["body"]["content"], "Hi <at id=\"0\">Person 1</at>");
    assert_eq!(m["mentions"][0]["id"], 0);
    assert_eq!(m["mentions"][0]["mentionText"], "Person 1");
    assert_eq!(
        m["mentions"][0]["mentioned"]["user"]["id"],
        p.ids[1].as_str()
    );
    assert_eq!(
        m["mentions"][0]["mentioned"]["user"]["tenantId"],
        p.t.creds().tenant_id.as_str()
    );
    assert!(m["mentions"][0]["mentioned"]["application"].is_null());
    let html = |content: &str| json!({ "contentType": "html", "content": content });
    bad(
        json!({ "body": html("Hi <at id=\"1\">P</at>"), "mentions": [mention(0, &p.ids[1])] }),
        "ids differ",
    )
    .await;
    bad(
        json!({ "body": html("Hi"), "mentions": [mention(0, &p.ids[1])] }),
        "mention not placed",
    )
    .await;
    bad(
        json!({ "body": html("Hi <at id=\"0\">P</at>") }),
        "no mentions",
    )
    .await;
    bad(json!({ "body": { "content": "Hi <at id=\"0\">P</at>" }, "mentions": [mention(0, &p.ids[1])] }), "text body").await;
    bad(
        json!({ "body": html("Hi <at id=\"0\">P</at>"), "mentions": [mention(0, &p.ids[2])] }),
        "not a member",
    )
    .await;
    bad(json!({ "body": html("<at id=\"0\">P</at><at id=\"0\">P</at>"), "mentions": [mention(0, &p.ids[1]), mention(0, &p.ids[1])] }), "duplicate").await;

    // Reference attachments, placed with <attachment id>.
    let file = json!({ "id": "153fa47d18c54a4ca3bbb4a4ae8f1a95", "contentType": "reference",
        "contentUrl": "https://contoso.sharepoint.com/sites/x/Shared%20Documents/plan.docx", "name": "plan.docx" });
    let m = send(&p, 0, &path, json!({ "body": html("Plan: <attachment id=\"153fa47d18c54a4ca3bbb4a4ae8f1a95\"></attachment>"), "attachments": [file.clone()] })).await;
    assert_eq!(
        m["attachments"],
        json!([{ "id": "153fa47d18c54a4ca3bbb4a4ae8f1a95", "contentType": "reference", "contentUrl": file["contentUrl"], "content": null,
                 "name": "plan.docx", "thumbnailUrl": null, "teamsAppId": null }])
    );
    bad(
        json!({ "body": html("Plan"), "attachments": [file.clone()] }),
        "attachment not placed",
    )
    .await;
    bad(json!({ "body": html("<attachment id=\"other\"></attachment>"), "attachments": [file.clone()] }), "unknown attachment").await;
    bad(json!({ "body": html("<attachment id=\"a\"></attachment>"), "attachments": [{ "id": "a", "contentType": "reference" }] }), "no url").await;
    let (status, body) = p.t.post(&msgs, &p.tokens[0], &json!({ "body": { "content": "x" }, "hostedContents": [{ "@microsoft.graph.temporaryId": "1", "contentBytes": "AA==", "contentType": "image/png" }] })).await;
    assert_error(status, &body, 501, "NotImplemented");

    // Only delegated members send: an outsider sees no chat; an app is refused, also with
    // Teamwork.Migrate.All (migration only); a token without ChatMessage.Send is refused.
    let (status, body) =
        p.t.post(&msgs, &p.tokens[2], &json!({ "body": { "content": "x" } }))
            .await;
    assert_error(status, &body, 404, "NotFound");
    let (status, body) =
        p.t.post(&msgs, &p.admin, &json!({ "body": { "content": "x" } }))
            .await;
    assert_error(status, &body, 403, "Forbidden");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Teamwork.Migrate.All"),
        "{body}"
    );
    let reader = p.t.user_token(&p.upns[0], PASSWORD, "Chat.Read").await;
    let (status, body) =
        p.t.post(&msgs, &reader, &json!({ "body": { "content": "x" } }))
            .await;
    assert_error(status, &body, 403, "Forbidden");
    let sender =
        p.t.user_token(&p.upns[0], PASSWORD, "ChatMessage.Send")
            .await;
    let (status, _) =
        p.t.post(&msgs, &sender, &json!({ "body": { "content": "x" } }))
            .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) =
        p.t.post(
            "/v1.0/chats/19%3Anope%40thread.v2/messages",
            &p.tokens[0],
            &json!({ "body": { "content": "x" } }),
        )
        .await;
    assert_error(status, &body, 404, "NotFound");

    // Sending brings a hidden chat back for every member; lastUpdatedDateTime does not move.
    let (_, before) = p.t.get(&path, &p.tokens[1]).await;
    let me = json!({ "user": { "id": p.ids[1] } });
    let (status, _) =
        p.t.post(&format!("{path}/hideForUser"), &p.tokens[1], &me)
            .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, hidden) = p.t.get(&path, &p.tokens[1]).await;
    assert_eq!(hidden["viewpoint"]["isHidden"], true);
    let last = text(&p, 0, &path, "wake up").await;
    let (_, after) = p.t.get(&path, &p.tokens[1]).await;
    assert_eq!(after["viewpoint"]["isHidden"], false);
    assert_eq!(
        after["lastUpdatedDateTime"], before["lastUpdatedDateTime"],
        "messages do not change lastUpdatedDateTime"
    );
    // The preview names the newest message.
    let (_, preview) =
        p.t.get(&format!("{path}/lastMessagePreview"), &p.tokens[1])
            .await;
    assert_eq!(preview["id"], last["id"]);
    assert_eq!(preview["body"]["content"], "wake up");
    assert_eq!(preview["from"]["user"]["id"], p.ids[0].as_str());
    let _ = chat_id;
}

#[tokio::test]
async fn listing_follows_graphs_query_rules() {
    let p = people(3).await;
    for version in ["v1.0", "beta"] {
        let (chat_id, path) = group(&p, 2, version).await;
        let msgs = format!("{path}/messages");
        let mut sent_ids = Vec::new();
        for i in 0..7 {
            sent_ids.push(
                text(&p, i % 2, &path, &format!("message {i}")).await["id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        // Newest first, $top pages with an absolute nextLink that keeps the options.
        let (status, page) = p.t.get(&format!("{msgs}?$top=3"), &p.tokens[1]).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(
            page["@odata.context"],
            p.t.url(&format!(
                "/{version}/$metadata#chats('{}')/messages",
                chat_id.replace(':', "%3A").replace('@', "%40")
            ))
        );
        assert_eq!(
            ids(page["value"].as_array().unwrap()),
            sent_ids.iter().rev().take(3).cloned().collect::<Vec<_>>()
        );
        let next = page["@odata.nextLink"].as_str().unwrap();
        assert!(
            next.starts_with(&p.t.url(&format!("/{version}/chats/")))
                && next.contains("top=3")
                && next.contains("skiptoken="),
            "{next}"
        );
        let everything = all_pages(&p.t, &format!("{msgs}?$top=3"), &p.tokens[1]).await;
        let users: Vec<String> = ids(&sent(&everything));
        assert_eq!(users, sent_ids.iter().rev().cloned().collect::<Vec<_>>());
        // System events appear inline, as unknownFutureValue unless the client opts in.
        let event = everything
            .iter()
            .find(|m| m["messageType"] != "message")
            .unwrap();
        assert_eq!(event["messageType"], "unknownFutureValue");
        assert!(event["from"].is_null());
        assert_eq!(
            event["eventDetail"]["@odata.type"],
            "#microsoft.graph.chatRenamedEventMessageDetail"
        );
        let r =
            p.t.request(Method::GET, &msgs, &p.tokens[1])
                .header("Prefer", "include-unknown-enum-members")
                .send()
                .await
                .unwrap();
        let (_, opted) = json(r).await;
        assert!(
            opted["value"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["messageType"] == "systemEventMessage"),
            "{opted}"
        );
        // $top: default 20, at most 50; $count.
        let (status, body) = p.t.get(&format!("{msgs}?$top=51"), &p.tokens[1]).await;
        assert_error(status, &body, 400, "BadRequest");
        let (_, counted) =
            p.t.get(&format!("{msgs}?$count=true&$top=2"), &p.tokens[1])
                .await;
        assert_eq!(counted["@odata.count"], everything.len());

        // Edit the oldest: it leads the default order (lastModifiedDateTime desc), not createdDateTime desc.
        let (status, _) =
            p.t.patch(
                &format!("{msgs}/{}", sent_ids[0]),
                &p.tokens[0],
                &json!({ "body": { "content": "edited" } }),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, by_modified) = p.t.get(&msgs, &p.tokens[1]).await;
        assert_eq!(by_modified["value"][0]["id"], sent_ids[0].as_str());
        let (_, by_created) =
            p.t.get(
                &format!("{msgs}?$orderby=createdDateTime desc"),
                &p.tokens[1],
            )
            .await;
        assert_eq!(by_created["value"][0]["id"], sent_ids[6].as_str());
        let (status, _) =
            p.t.get(
                &format!("{msgs}?$orderby=lastModifiedDateTime desc"),
                &p.tokens[1],
            )
            .await;
        assert_eq!(status, StatusCode::OK);

        // $filter: honoured only when $orderby names the same property, else silently ignored.
        let (_, third) =
            p.t.get(&format!("{msgs}/{}", sent_ids[3]), &p.tokens[1])
                .await;
        let at = third["createdDateTime"].as_str().unwrap();
        let get_all = |query: String| {
            let p = &p;
            let msgs = msgs.clone();
            async move { all_pages(&p.t, &format!("{msgs}?{query}"), &p.tokens[1]).await }
        };
        let older = get_all(format!(
            "$orderby=createdDateTime desc&$filter=createdDateTime lt {at}"
        ))
        .await;
        assert_eq!(
            ids(&sent(&older)),
            vec![
                sent_ids[2].clone(),
                sent_ids[1].clone(),
                sent_ids[0].clone()
            ]
        );
        let ignored = get_all(format!(
            "$orderby=lastModifiedDateTime desc&$filter=createdDateTime lt {at}"
        ))
        .await;
        assert_eq!(ignored.len(), everything.len());
        let ignored = get_all(format!("$filter=lastModifiedDateTime gt {at}")).await;
        assert_eq!(
            ignored.len(),
            everything.len(),
            "no $orderby: the filter is ignored"
        );
        let newer = get_all(format!(
            "$orderby=lastModifiedDateTime desc&$filter=lastModifiedDateTime gt {at}"
        ))
        .await;
        assert_eq!(
            ids(&newer),
            vec![
                sent_ids[0].clone(),
                sent_ids[6].clone(),
                sent_ids[5].clone(),
                sent_ids[4].clone()
            ]
        );
        let window = get_all(format!("$orderby=lastModifiedDateTime desc&$filter=lastModifiedDateTime gt {at} and lastModifiedDateTime lt {}", by_modified["value"][1]["lastModifiedDateTime"].as_str().unwrap())).await;
        assert_eq!(ids(&window), vec![sent_ids[5].clone(), sent_ids[4].clone()]);
        for query in [
            format!("$filter=createdDateTime gt {at}&$orderby=createdDateTime desc"),
            "$filter=subject eq 'x'".to_string(),
            format!("$filter=lastModifiedDateTime ge {at}"),
            format!("$filter=lastModifiedDateTime gt {at} or lastModifiedDateTime lt {at}"),
            "$orderby=createdDateTime asc".to_string(),
            "$orderby=subject desc".to_string(),
            "$select=id".to_string(),
            "$expand=replies".to_string(),
            "$skip=2".to_string(),
            "$search=\"x\"".to_string(),
            "$skiptoken=garbage".to_string(),
        ] {
            let (status, body) = p.t.get(&format!("{msgs}?{query}"), &p.tokens[1]).await;
            assert_error(status, &body, 400, "BadRequest");
        }
        // Gets: 404 for unknown ids; outsiders see nothing.
        for missing in ["1", "abc", "99999999999999"] {
            let (status, body) = p.t.get(&format!("{msgs}/{missing}"), &p.tokens[1]).await;
            assert_error(status, &body, 404, "NotFound");
        }
        let (status, body) = p.t.get(&msgs, &p.tokens[2]).await;
        assert_error(status, &body, 404, "NotFound");
        // Applications read with Chat.Read.All.
        let (status, app_view) = p.t.get(&msgs, &p.admin).await;
        assert_eq!(status, StatusCode::OK, "{app_view}");
    }
}

#[tokio::test]
async fn history_before_a_members_start_is_hidden() {
    let p = people(4).await;
    let (_, path) = group(&p, 2, "v1.0").await;
    let old = text(&p, 0, &path, "before you came").await;
    // Person 2 joins without history, person 3 with all of it.
    let add = |who: usize, history: Option<&str>| {
        let mut body = member(&p.ids[who]);
        if let Some(h) = history {
            body["visibleHistoryStartDateTime"] = json!(h);
        }
        body
    };
    let (status, _) =
        p.t.post(&format!("{path}/members"), &p.tokens[0], &add(2, None))
            .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) =
        p.t.post(
            &format!("{path}/members"),
            &p.tokens[0],
            &add(3, Some("0001-01-01T00:00:00Z")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let new = text(&p, 1, &path, "welcome").await;
    let msgs = format!("{path}/messages");
    let newcomer = all_pages(&p.t, &msgs, &p.tokens[2]).await;
    assert_eq!(
        ids(&sent(&newcomer)),
        vec![new["id"].as_str().unwrap().to_string()]
    );
    let (status, body) =
        p.t.get(
            &format!("{msgs}/{}", old["id"].as_str().unwrap()),
            &p.tokens[2],
        )
        .await;
    assert_error(status, &body, 404, "NotFound");
    let (status, body) =
        p.t.post(
            &format!("{msgs}/{}/setReaction", old["id"].as_str().unwrap()),
            &p.tokens[2],
            &json!({ "reactionType": "👍" }),
        )
        .await;
    assert_error(status, &body, 404, "NotFound");
    let veteran = all_pages(&p.t, &msgs, &p.tokens[3]).await;
    assert_eq!(sent(&veteran).len(), 2);
    let (status, _) =
        p.t.get(
            &format!("{msgs}/{}", old["id"].as_str().unwrap()),
            &p.tokens[3],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // An application reading as the newcomer sees what the newcomer sees.
    let as_user = all_pages(
        &p.t,
        &format!(
            "/v1.0/users/{}{}/messages",
            p.ids[2],
            &path["/v1.0".len()..]
        ),
        &p.admin,
    )
    .await;
    assert_eq!(sent(&as_user).len(), 1);
}

#[tokio::test]
async fn edits_deletes_and_reactions() {
    let p = people(3).await;
    for version in ["v1.0", "beta"] {
        let (_, path) = group(&p, 2, version).await;
        let m = text(&p, 0, &path, "first draft").await;
        let url = format!("{path}/messages/{}", m["id"].as_str().unwrap());

        // The sender edits: 204; body, lastEditedDateTime, lastModifiedDateTime and etag change.
        let (status, body) = p.t.patch(&url, &p.tokens[0], &json!({ "body": { "contentType": "html", "content": "<p>final</p>" }, "importance": "high", "subject": "S" })).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (_, edited) = p.t.get(&url, &p.tokens[1]).await;
        assert_eq!(
            edited["body"],
            json!({ "contentType": "html", "content": "<p>final</p>" })
        );
        assert_eq!(edited["importance"], "high");
        assert_eq!(edited["subject"], "S");
        assert_eq!(edited["id"], m["id"]);
        assert_eq!(edited["createdDateTime"], m["createdDateTime"]);
        assert!(edited["lastEditedDateTime"].is_string());
        assert_eq!(edited["lastEditedDateTime"], edited["lastModifiedDateTime"]);
        assert_ne!(edited["etag"], m["etag"]);
        assert_ne!(edited["lastModifiedDateTime"], m["lastModifiedDateTime"]);
        // The preview follows the edit.
        let (_, preview) =
            p.t.get(&format!("{path}/lastMessagePreview"), &p.tokens[1])
                .await;
        assert_eq!(preview["body"]["content"], "<p>final</p>");
        // A client echoing the whole message back with a change: read-only fields are ignored.
        let mut echo = edited.clone();
        echo.as_object_mut().unwrap().remove("@odata.context");
        echo["body"]["content"] = json!("<p>echoed</p>");
        let (status, body) = p.t.patch(&url, &p.tokens[0], &echo).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (_, echoed) = p.t.get(&url, &p.tokens[0]).await;
        assert_eq!(echoed["body"]["content"], "<p>echoed</p>");
        // Only the sender; the same validation as sending.
        let (status, body) =
            p.t.patch(
                &url,
                &p.tokens[1],
                &json!({ "body": { "content": "mine now" } }),
            )
            .await;
        assert_error(status, &body, 403, "Forbidden");
        let (status, body) =
            p.t.patch(&url, &p.admin, &json!({ "body": { "content": "app" } }))
                .await;
        assert_error(status, &body, 403, "Forbidden");
        for bad in [
            json!({ "importance": "meh" }),
            json!({ "body": { "contentType": "html", "content": "<at id=\"0\">x</at>" } }),
            json!({ "colour": "red" }),
            json!({ "body": { "content": "" } }),
        ] {
            let (status, body) = p.t.patch(&url, &p.tokens[0], &bad).await;
            assert_error(status, &body, 400, "BadRequest");
        }
        let (status, body) =
            p.t.patch(
                &format!("{path}/messages/123"),
                &p.tokens[0],
                &json!({ "subject": "x" }),
            )
            .await;
        assert_error(status, &body, 404, "NotFound");

        // Reactions: any member, one per type per user, parameter names in any case.
        let react = |who: usize, action: &'static str, body: Value| {
            let p = &p;
            let url = url.clone();
            async move {
                p.t.post(&format!("{url}/{action}"), &p.tokens[who], &body)
                    .await
            }
        };
        let (_, before_react) = p.t.get(&url, &p.tokens[0]).await;
        let (status, body) = react(1, "setReaction", json!({ "reactionType": "💘" })).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (status, _) = react(1, "setReaction", json!({ "ReactionType": "💘" })).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = react(0, "setReaction", json!({ "reactionType": "like" })).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, reacted) = p.t.get(&url, &p.tokens[0]).await;
        let reactions = reacted["reactions"].as_array().unwrap();
        assert_eq!(reactions.len(), 2, "{reacted}");
        assert_eq!(reactions[0]["reactionType"], "💘");
        assert!(reactions[0]["createdDateTime"].is_string());
        assert_eq!(reactions[0]["user"]["application"], Value::Null);
        assert_eq!(reactions[0]["user"]["device"], Value::Null);
        assert_eq!(reactions[0]["user"]["user"]["id"], p.ids[1].as_str());
        assert_eq!(reactions[0]["user"]["user"]["userIdentityType"], "aadUser");
        assert_eq!(reactions[1]["reactionType"], "like");
        assert_eq!(reactions[1]["displayName"], "Like");
        let history = reacted["messageHistory"].as_array().unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history[0]["actions"], "reactionAdded");
        assert_eq!(history[0]["reaction"]["reactionType"], "💘");
        assert!(history[0]["modifiedDateTime"].is_string());
        assert_ne!(
            reacted["lastModifiedDateTime"],
            before_react["lastModifiedDateTime"]
        );
        assert_eq!(
            reacted["lastEditedDateTime"], before_react["lastEditedDateTime"],
            "reactions are not edits"
        );
        let (status, _) = react(1, "unsetReaction", json!({ "reactionType": "💘" })).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, unreacted) = p.t.get(&url, &p.tokens[0]).await;
        assert_eq!(unreacted["reactions"].as_array().unwrap().len(), 1);
        let history = unreacted["messageHistory"].as_array().unwrap();
        assert_eq!(history.len(), 3);
        assert_eq!(history[2]["actions"], "reactionRemoved");
        assert_eq!(
            history[2]["reaction"]["user"]["user"]["id"],
            p.ids[1].as_str()
        );
        for bad in [
            json!({ "reactionType": "banana" }),
            json!({ "reactionType": "" }),
            json!({}),
        ] {
            let (status, body) = react(1, "setReaction", bad).await;
            assert_error(status, &body, 400, "BadRequest");
        }
        let (status, body) =
            p.t.post(
                &format!("{url}/setReaction"),
                &p.admin,
                &json!({ "reactionType": "👍" }),
            )
            .await;
        assert_error(status, &body, 403, "Forbidden");
        // System events cannot be reacted to.
        let (_, listed) = p.t.get(&format!("{path}/messages"), &p.tokens[0]).await;
        let event = listed["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["messageType"] != "message")
            .unwrap()
            .clone();
        let (status, body) =
            p.t.post(
                &format!(
                    "{path}/messages/{}/setReaction",
                    event["id"].as_str().unwrap()
                ),
                &p.tokens[0],
                &json!({ "reactionType": "👍" }),
            )
            .await;
        assert_error(status, &body, 400, "BadRequest");

        // Soft delete: the sender only; the message stays listed with an empty body.
        let (status, body) =
            p.t.post(&format!("{url}/softDelete"), &p.tokens[1], &json!({}))
                .await;
        assert_error(status, &body, 403, "Forbidden");
        let r =
            p.t.request(Method::POST, &format!("{url}/softDelete"), &p.tokens[0])
                .send()
                .await
                .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let (_, deleted) = p.t.get(&url, &p.tokens[1]).await;
        assert_eq!(deleted["id"], m["id"]);
        assert_eq!(deleted["body"]["content"], "");
        assert!(deleted["deletedDateTime"].is_string());
        assert_eq!(deleted["lastModifiedDateTime"], deleted["deletedDateTime"]);
        let (_, listed) = p.t.get(&format!("{path}/messages"), &p.tokens[1]).await;
        let row = listed["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == m["id"])
            .unwrap()
            .clone();
        assert_eq!(row["body"]["content"], "");
        let (_, preview) =
            p.t.get(&format!("{path}/lastMessagePreview"), &p.tokens[1])
                .await;
        assert_eq!(preview["isDeleted"], true);
        assert_eq!(preview["body"]["content"], "");
        let (_, chats) =
            p.t.get(
                &format!("/{version}/me/chats?$expand=lastMessagePreview"),
                &p.tokens[1],
            )
            .await;
        let listed_chat = chats["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| path.ends_with(&enc(c["id"].as_str().unwrap())))
            .unwrap()
            .clone();
        assert_eq!(listed_chat["lastMessagePreview"]["isDeleted"], true);
        let (status, body) =
            p.t.patch(
                &url,
                &p.tokens[0],
                &json!({ "body": { "content": "again" } }),
            )
            .await;
        assert_error(status, &body, 400, "BadRequest");
        // Twice is fine; undo brings it back as it was.
        let (status, _) =
            p.t.post(&format!("{url}/softDelete"), &p.tokens[0], &json!({}))
                .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, body) =
            p.t.post(&format!("{url}/undoSoftDelete"), &p.tokens[1], &json!({}))
                .await;
        assert_error(status, &body, 403, "Forbidden");
        let (status, _) =
            p.t.post(&format!("{url}/undoSoftDelete"), &p.tokens[0], &json!({}))
                .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, restored) = p.t.get(&url, &p.tokens[1]).await;
        assert_eq!(restored["body"]["content"], "<p>echoed</p>");
        assert!(restored["deletedDateTime"].is_null());
        let (_, preview) =
            p.t.get(&format!("{path}/lastMessagePreview"), &p.tokens[1])
                .await;
        assert_eq!(preview["isDeleted"], false);
        assert_eq!(preview["body"]["content"], "<p>echoed</p>");
        let (status, body) =
            p.t.post(
                &format!("{path}/messages/42/softDelete"),
                &p.tokens[0],
                &json!({}),
            )
            .await;
        assert_error(status, &body, 404, "NotFound");
        let (status, _) =
            p.t.post(&format!("{url}/softDelete"), &p.admin, &json!({}))
                .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn get_all_messages_and_its_delta() {
    let p = people(3).await;
    let (_, a) = group(&p, 2, "v1.0").await;
    let (_, b) = group(&p, 3, "v1.0").await;
    // A chat person 0 is not in.
    let members = json!({ "chatType": "group", "members": [member(&p.ids[1]), member(&p.ids[2])] });
    let (_, other) = p.t.post("/v1.0/chats", &p.tokens[1], &members).await;
    let other = format!("/v1.0/chats/{}", enc(other["id"].as_str().unwrap()));
    let mut mine = Vec::new();
    for i in 0..5 {
        mine.push(text(&p, 1, if i % 2 == 0 { &a } else { &b }, &format!("m{i}")).await);
    }
    text(&p, 1, &other, "not for person 0").await;
    let user = p.ids[0].clone();

    // getAllMessages: application permissions only; typed items; $top pages; $filter.
    let base = format!("/v1.0/users/{user}/chats/getAllMessages");
    let (status, body) = p.t.get(&base, &p.tokens[0]).await;
    assert_error(status, &body, 403, "Forbidden");
    let (status, first) = p.t.get(&format!("{base}?$top=2"), &p.admin).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        first["@odata.context"],
        p.t.url("/v1.0/$metadata#Collection(chatMessage)")
    );
    assert_eq!(
        first["value"][0]["@odata.type"],
        "#microsoft.graph.chatMessage"
    );
    assert!(first["value"][0]["chatId"].is_string());
    let everything = all_pages(&p.t, &format!("{base}?$top=2"), &p.admin).await;
    let users = sent(&everything);
    assert_eq!(ids(&users), ids(&mine), "{everything:?}");
    assert!(
        everything
            .iter()
            .all(|m| m["body"]["content"] != "not for person 0")
    );
    let at = mine[2]["createdDateTime"].as_str().unwrap();
    let later = all_pages(
        &p.t,
        &format!("{base}?$filter=lastModifiedDateTime gt {at}"),
        &p.admin,
    )
    .await;
    // Ids are allocated per chat and are the messages' instants (epoch ms; these are unedited):
    // a message of the other chat may share mine[2]'s millisecond, so the expectation is the
    // filter's own definition, instants after mine[2]'s.
    let instant = |m: &Value| m["id"].as_str().unwrap().parse::<i64>().unwrap();
    let after: Vec<Value> = mine
        .iter()
        .filter(|m| instant(m) > instant(&mine[2]))
        .cloned()
        .collect();
    assert!(!after.is_empty() && after.len() <= 2, "{after:?}");
    assert_eq!(ids(&later), ids(&after));
    // Kiota spells the function with parentheses; a UPN names the user too.
    let (status, kiota) =
        p.t.get(
            &format!("/v1.0/users/{}/chats/getAllMessages()?$top=50", p.upns[0]),
            &p.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{kiota}");
    assert_eq!(kiota["value"].as_array().unwrap().len(), everything.len());
    let (status, body) =
        p.t.get(&format!("{base}?$orderby=createdDateTime desc"), &p.admin)
            .await;
    assert_error(status, &body, 400, "BadRequest");
    let (status, body) = p.t.get("/v1.0/chats/getAllMessages", &p.admin).await;
    assert_error(status, &body, 400, "BadRequest");

    // Delta: a first round in pages, ending in a deltaLink.
    let delta = format!("/beta/users/{user}/chats/getAllMessages/delta?$top=2");
    let mut url = p.t.url(&delta);
    let mut round = Vec::new();
    let delta_link = loop {
        let (status, page) = json(
            p.t.client
                .get(&url)
                .bearer_auth(&p.admin)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(
            page["@odata.context"],
            p.t.url("/beta/$metadata#Collection(chatMessage)")
        );
        round.extend(page["value"].as_array().unwrap().iter().cloned());
        match (
            page["@odata.nextLink"].as_str(),
            page["@odata.deltaLink"].as_str(),
        ) {
            (Some(next), None) => url = next.to_string(),
            (None, Some(d)) => break d.to_string(),
            other => panic!("a page has exactly one of nextLink and deltaLink: {other:?}"),
        }
    };
    assert!(
        delta_link.contains("deltatoken=") && delta_link.contains("top=2"),
        "{delta_link}"
    );
    assert_eq!(ids(&sent(&round)), ids(&mine));

    // Nothing happened: the next round is empty and hands out a fresh deltaLink.
    let (status, quiet) = json(
        p.t.client
            .get(&delta_link)
            .bearer_auth(&p.admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{quiet}");
    assert_eq!(quiet["value"], json!([]));
    assert!(quiet["@odata.deltaLink"].is_string());

    // Create, edit, soft-delete, react; and a message where person 0 is not a member.
    let created = text(&p, 0, &a, "new one").await;
    let m0 = format!("{a}/messages/{}", mine[0]["id"].as_str().unwrap());
    let m1 = format!("{b}/messages/{}", mine[1]["id"].as_str().unwrap());
    let m2 = format!("{a}/messages/{}", mine[2]["id"].as_str().unwrap());
    assert_eq!(
        p.t.patch(
            &m0,
            &p.tokens[1],
            &json!({ "body": { "content": "m0 edited" } })
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        p.t.post(&format!("{m1}/softDelete"), &p.tokens[1], &json!({}))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        p.t.post(
            &format!("{m2}/setReaction"),
            &p.tokens[0],
            &json!({ "reactionType": "👍" })
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    text(&p, 1, &other, "still not for person 0").await;
    let changes = all_pages_delta(&p.t, &delta_link, &p.admin).await;
    let (items, next_delta) = changes;
    // Message ids are unique per chat only: two chats can hold the same millisecond.
    let key = |m: &Value| {
        format!(
            "{}/{}",
            m["chatId"].as_str().unwrap(),
            m["id"].as_str().unwrap()
        )
    };
    let got: Vec<String> = items.iter().map(key).collect();
    let expected: BTreeSet<String> = [&created, &mine[0], &mine[1], &mine[2]]
        .iter()
        .map(|m| key(m))
        .collect();
    assert_eq!(
        got.len(),
        expected.len(),
        "exactly the changes, each once: {items:?}"
    );
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), expected);
    let find = |m: &Value| items.iter().find(|i| key(i) == key(m)).unwrap().clone();
    assert_eq!(find(&mine[0])["body"]["content"], "m0 edited");
    assert!(find(&mine[1])["deletedDateTime"].is_string());
    assert_eq!(find(&mine[2])["reactions"][0]["reactionType"], "👍");
    let (_, after) = json(
        p.t.client
            .get(&next_delta)
            .bearer_auth(&p.admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(after["value"], json!([]));

    // Forged, altered or foreign tokens are refused.
    for bad in ["garbage", "djF8ZHx0fHV8MXwx.AAAA"] {
        let (status, body) =
            p.t.get(
                &format!("/v1.0/users/{user}/chats/getAllMessages/delta?$deltatoken={bad}"),
                &p.admin,
            )
            .await;
        assert_error(status, &body, 400, "BadRequest");
    }
    let token = next_delta
        .split("deltatoken=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let mut altered = token.clone().into_bytes();
    altered[3] = if altered[3] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    let (status, body) =
        p.t.get(
            &format!("/v1.0/users/{user}/chats/getAllMessages/delta?$deltatoken={altered}"),
            &p.admin,
        )
        .await;
    assert_error(status, &body, 400, "BadRequest");
    let (status, body) =
        p.t.get(
            &format!(
                "/v1.0/users/{}/chats/getAllMessages/delta?$deltatoken={token}",
                p.ids[1]
            ),
            &p.admin,
        )
        .await;
    assert_error(status, &body, 400, "BadRequest");
    let (status, body) =
        p.t.get(
            &format!("/v1.0/users/{user}/chats/getAllMessages/delta?$skiptoken={token}"),
            &p.admin,
        )
        .await;
    assert_error(status, &body, 400, "BadRequest");
    let (status, body) =
        p.t.get(
            &format!("/v1.0/users/{user}/chats/getAllMessages/delta"),
            &p.tokens[0],
        )
        .await;
    assert_error(status, &body, 403, "Forbidden");
}

/// A delta round from a deltaLink: every item and the next deltaLink.
async fn all_pages_delta(t: &TestServer, link: &str, token: &str) -> (Vec<Value>, String) {
    let mut url = link.to_string();
    let mut items = Vec::new();
    loop {
        let (status, page) =
            json(t.client.get(&url).bearer_auth(token).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        items.extend(page["value"].as_array().unwrap().iter().cloned());
        if let Some(next) = page["@odata.nextLink"].as_str() {
            url = next.to_string();
        } else {
            return (
                items,
                page["@odata.deltaLink"].as_str().unwrap().to_string(),
            );
        }
    }
}

/// The hot path under load: 32 clients send 5 000 messages into one chat. Every message is
/// listed exactly once through paging, ids are unique and strictly ordered, and the chat's
/// preview names the newest.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_clients_send_five_thousand_messages() {
    const CLIENTS: usize = 32;
    const TOTAL: usize = 5_000;
    let p = people(8).await;
    let (_, path) = group(&p, 8, "v1.0").await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let url = p.t.url(&format!("{path}/messages"));
        let token = p.tokens[c % p.tokens.len()].clone();
        let count = TOTAL / CLIENTS + usize::from(c < TOTAL % CLIENTS);
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut ids = Vec::with_capacity(count);
            for i in 0..count {
                let r = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "body": { "content": format!("client {c} message {i}") } }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::CREATED);
                let m: Value = r.json().await.unwrap();
                ids.push(m["id"].as_str().unwrap().parse::<i64>().unwrap());
            }
            ids
        }));
    }
    // A reader pages through the chat while the messages arrive: keyset paging neither repeats
    // nor skips. Newer messages sort before its cursor, so it sees exactly those that existed
    // when it read its first page.
    let pager = {
        let url = p.t.url(&format!("{path}/messages?$top=50"));
        let token = p.tokens[7].clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            let client = reqwest::Client::new();
            let (mut url, mut seen) = (url, Vec::new());
            loop {
                let page: Value = client
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                seen.extend(
                    sent(page["value"].as_array().unwrap())
                        .iter()
                        .map(|m| m["id"].as_str().unwrap().parse::<i64>().unwrap()),
                );
                match page["@odata.nextLink"].as_str() {
                    Some(next) => url = next.to_string(),
                    None => return seen,
                }
            }
        })
    };
    let mut sent_ids = HashSet::new();
    for t in tasks {
        for id in t.await.unwrap() {
            assert!(sent_ids.insert(id), "id {id} was handed out twice");
        }
    }
    let sending = started.elapsed();
    assert_eq!(sent_ids.len(), TOTAL);

    let paged = pager.await.unwrap();
    assert!(
        paged.windows(2).all(|w| w[0] > w[1]),
        "the pager saw each message once, newest first"
    );
    let existing: HashSet<i64> = sent_ids
        .iter()
        .copied()
        .filter(|id| Some(id) <= paged.first())
        .collect();
    assert_eq!(
        paged.iter().copied().collect::<HashSet<_>>(),
        existing,
        "the pager saw every message that existed when it started"
    );

    let listed_at = Instant::now();
    let listed = all_pages(&p.t, &format!("{path}/messages?$top=50"), &p.tokens[1]).await;
    let listing = listed_at.elapsed();
    let listed_ids: Vec<i64> = sent(&listed)
        .iter()
        .map(|m| m["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(listed_ids.len(), TOTAL, "every message listed exactly once");
    assert!(
        listed_ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, strictly"
    );
    assert_eq!(listed_ids.iter().copied().collect::<HashSet<_>>(), sent_ids);
    let newest = *sent_ids.iter().max().unwrap();
    let (_, preview) =
        p.t.get(&format!("{path}/lastMessagePreview"), &p.tokens[2])
            .await;
    assert_eq!(preview["id"], newest.to_string());
    let (_, chats) =
        p.t.get("/v1.0/me/chats?$expand=lastMessagePreview", &p.tokens[3])
            .await;
    assert_eq!(
        chats["value"][0]["lastMessagePreview"]["id"],
        newest.to_string()
    );
    let stats = p.t.server.as_ref().unwrap().store().stats();
    eprintln!(
        "{TOTAL} messages from {CLIENTS} clients: sent in {sending:?} ({:.0}/s), listed in {listing:?}; a concurrent pager saw {}; {} commits for {} writes",
        TOTAL as f64 / sending.as_secs_f64(),
        paged.len(),
        stats.commits,
        stats.writes
    );
}

/// Pages are served from renderings kept by message version: after an edit, a reaction and a
/// soft delete, the next page shows each message exactly as reading it alone does.
#[tokio::test]
async fn a_page_shows_each_message_as_it_now_is() {
    let p = people(2).await;
    let (_, path) = group(&p, 2, "v1.0").await;
    let mut sent_ids = Vec::new();
    for i in 0..3 {
        let m = text(&p, 0, &path, &format!("message {i}")).await;
        sent_ids.push(m["id"].as_str().unwrap().to_string());
    }
    let page = || {
        let path = path.clone();
        let t = &p.t;
        let token = p.tokens[1].clone();
        async move {
            let (status, page) = t.get(&format!("{path}/messages?$top=50"), &token).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            page["value"].as_array().unwrap().clone()
        }
    };
    let alone = |id: String| {
        let path = path.clone();
        let t = &p.t;
        let token = p.tokens[1].clone();
        async move {
            let (status, mut m) = t.get(&format!("{path}/messages/{id}"), &token).await;
            assert_eq!(status, StatusCode::OK, "{m}");
            m.as_object_mut().unwrap().remove("@odata.context");
            m
        }
    };
    // Twice: the second page is the first one's renderings.
    for _ in 0..2 {
        let listed = page().await;
        for id in &sent_ids {
            let item = listed.iter().find(|m| m["id"] == id.as_str()).unwrap();
            assert_eq!(*item, alone(id.clone()).await);
        }
    }
    let url = |i: usize| format!("{path}/messages/{}", sent_ids[i]);
    let (status, body) =
        p.t.patch(
            &url(0),
            &p.tokens[0],
            &json!({ "body": { "content": "edited" } }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) =
        p.t.post(
            &format!("{}/setReaction", url(1)),
            &p.tokens[1],
            &json!({ "reactionType": "like" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) =
        p.t.post(&format!("{}/softDelete", url(2)), &p.tokens[0], &json!({}))
            .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let listed = page().await;
    let item = |i: usize| {
        listed
            .iter()
            .find(|m| m["id"] == sent_ids[i].as_str())
            .unwrap()
            .clone()
    };
    assert_eq!(item(0)["body"]["content"], "edited");
    assert_eq!(item(1)["reactions"][0]["reactionType"], "like");
    assert!(item(2)["deletedDateTime"].is_string());
    for (i, id) in sent_ids.iter().enumerate() {
        assert_eq!(item(i), alone(id.clone()).await);
    }
}
