//! Outlook mail: mailboxes and folders, drafts (the create-message seed), reading with Outlook's
//! query rules, changes with change keys, move/copy/delete, and sending with delivery.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::*;

const SCOPES: &str = "Mail.ReadWrite Mail.Send";

struct Mailboxes {
    t: TestServer,
    admin: String,
    ids: Vec<String>,
    upns: Vec<String>,
    tokens: Vec<String>,
}

async fn mailboxes(n: usize) -> Mailboxes {
    let t = TestServer::start().await;
    let admin = t.admin_token().await;
    let names = ["adele", "bianca", "carlos", "dana"];
    let mut ids = Vec::new();
    let mut upns = Vec::new();
    let mut tokens = Vec::new();
    for name in names.iter().take(n) {
        let u = t
            .create_user(
                &admin,
                name,
                &format!("{}{}", name[..1].to_uppercase(), &name[1..]),
            )
            .await;
        let upn = u["userPrincipalName"].as_str().unwrap().to_string();
        tokens.push(t.user_token(&upn, PASSWORD, SCOPES).await);
        ids.push(u["id"].as_str().unwrap().to_string());
        upns.push(upn);
    }
    Mailboxes {
        t,
        admin,
        ids,
        upns,
        tokens,
    }
}

fn to(address: &str) -> Value {
    json!({ "emailAddress": { "address": address } })
}

async fn draft(m: &Mailboxes, who: usize, body: Value) -> Value {
    let (status, msg) = m.t.post("/v1.0/me/messages", &m.tokens[who], &body).await;
    assert_eq!(status, StatusCode::CREATED, "{msg}");
    msg
}

async fn folder(m: &Mailboxes, who: usize, name: &str) -> Value {
    let (status, f) =
        m.t.get(&format!("/v1.0/me/mailFolders/{name}"), &m.tokens[who])
            .await;
    assert_eq!(status, StatusCode::OK, "{f}");
    f
}

#[tokio::test]
async fn mailbox_has_well_known_folders_and_user_folders() {
    let m = mailboxes(2).await;
    let (status, list) = m.t.get("/v1.0/me/mailFolders?$top=50", &m.tokens[0]).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let names: Vec<&str> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["displayName"].as_str().unwrap())
        .collect();
    for n in [
        "Inbox",
        "Drafts",
        "Sent Items",
        "Deleted Items",
        "Archive",
        "Junk Email",
        "Outbox",
    ] {
        assert!(names.contains(&n), "{names:?}");
    }
    // Default page is 10, $top/$skip page on.
    let (_, page) =
        m.t.get("/v1.0/me/mailFolders?$top=3&$count=true", &m.tokens[0])
            .await;
    assert_eq!(page["value"].as_array().unwrap().len(), 3);
    assert_eq!(page["@odata.count"], 7);
    assert!(
        page["@odata.nextLink"]
            .as_str()
            .unwrap()
            .contains("$skip=3"),
        "{page}"
    );
    // Well-known names in any case, and /users/{id} for oneself.
    let inbox = folder(&m, 0, "INBOX").await;
    assert_eq!(inbox["displayName"], "Inbox");
    assert_eq!(inbox["totalItemCount"], 0);
    let (status, same) =
        m.t.get(
            &format!(
                "/v1.0/users/{}/mailFolders/{}",
                m.ids[0],
                inbox["id"].as_str().unwrap()
            ),
            &m.tokens[0],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same["id"], inbox["id"]);
    // A user folder, a duplicate, a child, a rename, a delete.
    let (status, projects) =
        m.t.post(
            "/v1.0/me/mailFolders",
            &m.tokens[0],
            &json!({ "displayName": "Projects", "isHidden": false }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{projects}");
    assert_eq!(projects["parentFolderId"], inbox["parentFolderId"]);
    let (status, body) =
        m.t.post(
            "/v1.0/me/mailFolders",
            &m.tokens[0],
            &json!({ "displayName": "PROJECTS" }),
        )
        .await;
    assert_error(status, &body, 409, "ErrorFolderExists");
    let pid = projects["id"].as_str().unwrap();
    let (status, child) =
        m.t.post(
            &format!("/v1.0/me/mailFolders/{pid}/childFolders"),
            &m.tokens[0],
            &json!({ "displayName": "Mark 8" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{child}");
    assert_eq!(child["parentFolderId"], pid);
    let (_, children) =
        m.t.get(
            &format!("/v1.0/me/mailFolders/{pid}/childFolders"),
            &m.tokens[0],
        )
        .await;
    assert_eq!(children["value"].as_array().unwrap().len(), 1);
    assert_eq!(folder(&m, 0, pid).await["childFolderCount"], 1);
    let (status, renamed) =
        m.t.patch(
            &format!("/v1.0/me/mailFolders/{pid}"),
            &m.tokens[0],
            &json!({ "displayName": "Work" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["displayName"], "Work");
    let (status, body) =
        m.t.patch(
            "/v1.0/me/mailFolders/inbox",
            &m.tokens[0],
            &json!({ "displayName": "Mine" }),
        )
        .await;
    assert_error(status, &body, 400, "ErrorInvalidRequest");
    let (status, body) =
        m.t.delete("/v1.0/me/mailFolders/drafts", &m.tokens[0])
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) =
        m.t.delete(&format!("/v1.0/me/mailFolders/{pid}"), &m.tokens[0])
            .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) =
        m.t.get(&format!("/v1.0/me/mailFolders/{pid}"), &m.tokens[0])
            .await;
    assert_error(status, &body, 404, "ErrorItemNotFound");
    // Someone else's mailbox: refused for a delegated caller.
    let (status, body) =
        m.t.get(
            &format!("/v1.0/users/{}/mailFolders", m.ids[1]),
            &m.tokens[0],
        )
        .await;
    assert_error(status, &body, 403, "ErrorAccessDenied");
}

/// The seed's request body, placeholders replaced.
fn seed_body(to_address: &str) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.message",
        "categories": ["Red category"],
        "changeKey": "String",
        "bccRecipients": [{ "@odata.type": "microsoft.graph.recipient", "emailAddress": { "address": "hidden@contoso.com", "name": "Hidden" } }],
        "body": { "@odata.type": "microsoft.graph.itemBody", "contentType": "HTML", "content": "<html><body>They were <b>awesome</b>!</body></html>" },
        "bodyPreview": "String",
        "ccRecipients": [{ "@odata.type": "microsoft.graph.recipient", "emailAddress": { "address": "cc@contoso.com" } }],
        "conversationId": "String",
        "conversationIndex": "Binary",
        "flag": { "@odata.type": "microsoft.graph.followupFlag", "flagStatus": "flagged", "dueDateTime": { "dateTime": "2026-12-01T12:00:00.0000000", "timeZone": "UTC" } },
        "from": { "@odata.type": "microsoft.graph.recipient", "emailAddress": { "address": "adele@example.org", "name": "Adele" } },
        "hasAttachments": true,
        "importance": "Low",
        "inferenceClassification": "Other",
        "internetMessageHeaders": [{ "@odata.type": "microsoft.graph.internetMessageHeader", "name": "x-custom-header", "value": "custom" }],
        "internetMessageId": "<seed-1@example.org>",
        "isDeliveryReceiptRequested": true,
        "isDraft": false,
        "isRead": false,
        "isReadReceiptRequested": true,
        "mentionsPreview": { "@odata.type": "microsoft.graph.mentionsPreview" },
        "parentFolderId": "String",
        "receivedDateTime": "2020-01-01T00:00:00Z",
        "replyTo": [{ "@odata.type": "microsoft.graph.recipient", "emailAddress": { "address": "replies@example.org" } }],
        "sender": { "@odata.type": "microsoft.graph.recipient", "emailAddress": { "address": "adele@example.org", "name": "Adele" } },
        "sentDateTime": "2020-01-01T00:00:00Z",
        "subject": "Did you see last night's game?",
        "toRecipients": [{ "@odata.type": "microsoft.graph.recipient", "emailAddress": { "address": to_address, "name": "Bianca" } }],
        "uniqueBody": { "@odata.type": "microsoft.graph.itemBody" },
        "unsubscribeData": ["<mailto:unsubscribe@example.org>"],
        "unsubscribeEnabled": true,
        "webLink": "String"
    })
}

#[tokio::test]
async fn create_draft_the_seed_returns_every_property() {
    let m = mailboxes(2).await;
    let r =
        m.t.request(Method::POST, "/v1.0/me/messages", &m.tokens[0])
            .json(&seed_body(&m.upns[1]))
            .send()
            .await
            .unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let (status, msg) = json(r).await;
    assert_eq!(status, StatusCode::CREATED, "{msg}");
    let id = msg["id"].as_str().unwrap();
    assert!(id.starts_with("AAMk") && id.len() > 60, "{id}");
    assert!(location.unwrap().ends_with(&format!("messages('{id}')")));
    assert_eq!(
        msg["@odata.etag"],
        format!("W/\"{}\"", msg["changeKey"].as_str().unwrap())
    );
    assert_ne!(msg["changeKey"], "String");
    assert_eq!(msg["categories"], json!(["Red category"]));
    assert_eq!(
        msg["bccRecipients"][0]["emailAddress"]["address"],
        "hidden@contoso.com"
    );
    assert_eq!(
        msg["ccRecipients"][0]["emailAddress"]["address"],
        "cc@contoso.com"
    );
    assert_eq!(
        msg["toRecipients"][0]["emailAddress"]["address"],
        m.upns[1].as_str()
    );
    assert_eq!(msg["body"]["contentType"], "html");
    assert!(
        msg["body"]["content"]
            .as_str()
            .unwrap()
            .contains("<b>awesome</b>")
    );
    assert_eq!(msg["bodyPreview"], "They were awesome!");
    assert_eq!(msg["flag"]["flagStatus"], "flagged");
    assert_eq!(msg["flag"]["dueDateTime"]["timeZone"], "UTC");
    assert_eq!(msg["from"]["emailAddress"]["name"], "Adele");
    assert_eq!(
        msg["sender"]["emailAddress"]["address"],
        "adele@example.org"
    );
    assert_eq!(msg["importance"], "low");
    assert_eq!(msg["inferenceClassification"], "other");
    assert_eq!(msg["internetMessageId"], "<seed-1@example.org>");
    assert_eq!(msg["isDeliveryReceiptRequested"], true);
    assert_eq!(msg["isReadReceiptRequested"], true);
    assert_eq!(msg["isRead"], false);
    assert_eq!(msg["isDraft"], true, "server-owned isDraft");
    assert_eq!(msg["hasAttachments"], false, "server-owned hasAttachments");
    assert_eq!(
        msg["replyTo"][0]["emailAddress"]["address"],
        "replies@example.org"
    );
    assert_eq!(msg["subject"], "Did you see last night's game?");
    // The seed's beta-only properties are kept, and shown on beta only (v1.0's model lacks them).
    for key in ["unsubscribeData", "unsubscribeEnabled", "mentionsPreview"] {
        assert!(msg.get(key).is_none(), "{key} on v1.0: {msg}");
    }
    let (status, err) =
        m.t.get(
            &format!("/v1.0/me/messages/{id}?$select=unsubscribeData"),
            &m.tokens[0],
        )
        .await;
    assert_error(status, &err, 400, "ErrorInvalidRequest");
    let (_, beta) =
        m.t.get(&format!("/beta/me/messages/{id}"), &m.tokens[0])
            .await;
    assert_eq!(
        beta["unsubscribeData"],
        json!(["<mailto:unsubscribe@example.org>"])
    );
    assert_eq!(beta["unsubscribeEnabled"], true);
    assert!(beta.get("mentionsPreview").is_some(), "{beta}");
    assert!(msg["conversationId"].as_str().unwrap().starts_with("AAQk"));
    assert_ne!(msg["conversationIndex"], "Binary");
    let created = msg["createdDateTime"].as_str().unwrap();
    assert_eq!(created.len(), 20, "whole seconds: {created}");
    assert_eq!(msg["receivedDateTime"], msg["createdDateTime"]);
    assert!(
        msg["webLink"]
            .as_str()
            .unwrap()
            .starts_with("https://outlook.office365.com/owa/?ItemID=")
    );
    let drafts = folder(&m, 0, "drafts").await;
    assert_eq!(msg["parentFolderId"], drafts["id"]);
    assert_eq!(drafts["totalItemCount"], 1);
    assert_eq!(drafts["unreadItemCount"], 1);
    assert!(msg.get("internetMessageHeaders").is_none() && msg.get("uniqueBody").is_none());
    for key in ["sentDateTime", "lastModifiedDateTime"] {
        assert!(msg.get(key).is_some(), "{key} missing: {msg}");
    }
    // Headers only with $select.
    let (_, selected) =
        m.t.get(
            &format!("/v1.0/me/messages/{id}?$select=internetMessageHeaders,uniqueBody"),
            &m.tokens[0],
        )
        .await;
    assert_eq!(
        selected["internetMessageHeaders"][0]["name"],
        "x-custom-header"
    );
    assert!(
        selected["uniqueBody"].is_object() && selected.get("subject").is_none(),
        "{selected}"
    );
    assert_eq!(selected["id"], id);

    // Into a folder by well-known name, and through /users/{id}.
    let (status, in_inbox) =
        m.t.post(
            &format!("/v1.0/users/{}/mailFolders/Inbox/messages", m.ids[0]),
            &m.tokens[0],
            &json!({ "subject": "Filed" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{in_inbox}");
    assert_eq!(
        in_inbox["parentFolderId"],
        folder(&m, 0, "inbox").await["id"]
    );
    assert_eq!(in_inbox["isRead"], true);
    assert_eq!(in_inbox["flag"]["flagStatus"], "notFlagged");

    // Graph's 400s.
    for (body, code) in [
        (
            json!({ "internetMessageHeaders": [{ "name": "Subject", "value": "x" }] }),
            "ErrorInvalidRequest",
        ),
        (json!({ "importance": "urgent" }), "ErrorInvalidRequest"),
        (json!({ "isRead": "yes" }), "ErrorInvalidRequest"),
        (json!({ "subject": 5 }), "ErrorInvalidRequest"),
        (
            json!({ "toRecipients": [to("not an address")] }),
            "ErrorInvalidRecipients",
        ),
        (json!({ "nonsense": 1 }), "ErrorInvalidRequest"),
    ] {
        let (status, err) = m.t.post("/v1.0/me/messages", &m.tokens[0], &body).await;
        assert_error(status, &err, 400, code);
    }
    let many: Vec<Value> = (0..501).map(|i| to(&format!("r{i}@example.org"))).collect();
    let (status, err) =
        m.t.post(
            "/v1.0/me/messages",
            &m.tokens[0],
            &json!({ "toRecipients": many }),
        )
        .await;
    assert_error(status, &err, 400, "ErrorInvalidRecipients");
    // Another user's mailbox.
    let (status, err) =
        m.t.post(
            &format!("/v1.0/users/{}/messages", m.ids[1]),
            &m.tokens[0],
            &json!({ "subject": "x" }),
        )
        .await;
    assert_error(status, &err, 403, "ErrorAccessDenied");
}

#[tokio::test]
async fn reading_follows_outlooks_query_rules() {
    let m = mailboxes(1).await;
    for i in 0..12 {
        let importance = if i % 3 == 0 { "high" } else { "normal" };
        let body = json!({
            "subject": format!("Report {i:02}"),
            "importance": importance,
            "isRead": i % 2 == 0,
            "categories": if i == 5 { json!(["Blue"]) } else { json!([]) },
            "body": { "contentType": "text", "content": if i == 7 { "the quarterly zeppelin numbers" } else { "nothing special" } },
            "toRecipients": [to(&format!("person{i}@example.org"))],
        });
        draft(&m, 0, body).await;
    }
    let tok = &m.tokens[0];
    // Newest first, 10 by default, then $skip.
    let (status, page) = m.t.get("/v1.0/me/messages?$count=true", tok).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["value"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    assert_eq!(items[0]["subject"], "Report 11");
    assert_eq!(page["@odata.count"], 12);
    let next = page["@odata.nextLink"].as_str().unwrap();
    assert!(next.contains("$skip=10"), "{next}");
    let (_, rest) = json(m.t.client.get(next).bearer_auth(tok).send().await.unwrap()).await;
    assert_eq!(rest["value"].as_array().unwrap().len(), 2);
    assert!(rest.get("@odata.nextLink").is_none());
    // $filter.
    let (_, unread) =
        m.t.get(
            "/v1.0/me/mailFolders/drafts/messages?$filter=isRead eq false&$top=100",
            tok,
        )
        .await;
    assert_eq!(unread["value"].as_array().unwrap().len(), 6);
    let (_, high) =
        m.t.get("/v1.0/me/messages?$filter=importance eq 'high'", tok)
            .await;
    assert_eq!(high["value"].as_array().unwrap().len(), 4);
    let (_, blue) =
        m.t.get(
            "/v1.0/me/messages?$filter=categories/any(c:c eq 'blue')",
            tok,
        )
        .await;
    assert_eq!(blue["value"][0]["subject"], "Report 05");
    let (_, subject) =
        m.t.get(
            "/v1.0/me/messages?$filter=startswith(subject,'Report 0')&$top=100",
            tok,
        )
        .await;
    assert_eq!(subject["value"].as_array().unwrap().len(), 10);
    let (status, _) = m.t.get("/v1.0/me/messages?$filter=receivedDateTime ge 2020-01-01T00:00:00Z and hasAttachments eq false", tok).await;
    assert_eq!(status, StatusCode::OK);
    let (_, flagged) =
        m.t.get(
            "/v1.0/me/messages?$filter=flag/flagStatus eq 'notFlagged'&$top=1",
            tok,
        )
        .await;
    assert_eq!(flagged["value"].as_array().unwrap().len(), 1);
    // $orderby must lead the filter.
    let (status, sorted) = m.t.get("/v1.0/me/messages?$filter=subject ge 'Report 03' and importance eq 'high'&$orderby=subject", tok).await;
    assert_eq!(status, StatusCode::OK, "{sorted}");
    assert_eq!(sorted["value"][0]["subject"], "Report 03");
    let (status, err) =
        m.t.get(
            "/v1.0/me/messages?$filter=importance eq 'high'&$orderby=subject",
            tok,
        )
        .await;
    assert_error(status, &err, 400, "InefficientFilter");
    let (status, by_date) = m.t.get("/v1.0/me/messages?$filter=receivedDateTime ge 2020-01-01T00:00:00Z&$orderby=receivedDateTime desc&$top=1", tok).await;
    assert_eq!(status, StatusCode::OK, "{by_date}");
    assert_eq!(by_date["value"][0]["subject"], "Report 11");
    let (status, by_from) =
        m.t.get(
            "/v1.0/me/messages?$orderby=from/emailAddress/address,subject desc&$top=1",
            tok,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{by_from}");
    assert_eq!(by_from["value"][0]["subject"], "Report 11");
    let (_, asc) =
        m.t.get("/v1.0/me/messages?$orderby=subject&$top=1", tok)
            .await;
    assert_eq!(asc["value"][0]["subject"], "Report 00");
    // $top bounds.
    let (status, err) = m.t.get("/v1.0/me/messages?$top=1001", tok).await;
    assert_error(status, &err, 400, "ErrorInvalidRequest");
    // $search (FTS5) over body, subject and recipients; not with $filter/$orderby.
    let (status, found) = m.t.get("/v1.0/me/messages?$search=\"zeppelin\"", tok).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["value"].as_array().unwrap().len(), 1);
    assert_eq!(found["value"][0]["subject"], "Report 07");
    let (_, by_subject) =
        m.t.get("/v1.0/me/messages?$search=\"subject:report\"&$top=100", tok)
            .await;
    assert_eq!(by_subject["value"].as_array().unwrap().len(), 12);
    let (_, by_recipient) =
        m.t.get("/v1.0/me/messages?$search=\"to:person3\"", tok)
            .await;
    assert_eq!(
        by_recipient["value"].as_array().unwrap().len(),
        1,
        "{by_recipient}"
    );
    let (status, err) =
        m.t.get(
            "/v1.0/me/messages?$search=\"zeppelin\"&$orderby=subject",
            tok,
        )
        .await;
    assert_error(status, &err, 400, "ErrorInvalidRequest");
    let (status, err) =
        m.t.get(
            "/v1.0/me/messages?$search=\"zeppelin\"&$filter=isRead eq true",
            tok,
        )
        .await;
    assert_error(status, &err, 400, "ErrorInvalidRequest");
    // $select: id and etag always.
    let (_, selected) =
        m.t.get("/v1.0/me/messages?$select=subject&$top=1", tok)
            .await;
    let first = &selected["value"][0];
    assert!(
        first["@odata.etag"].is_string() && first["id"].is_string() && first["subject"].is_string()
    );
    assert!(first.get("body").is_none(), "{first}");
    assert!(
        selected["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/messages(subject)"),
        "{selected}"
    );
    // Prefer: body content type.
    let html = draft(&m, 0, json!({ "subject": "Html", "body": { "contentType": "html", "content": "<p>Hello <i>there</i></p>" } })).await;
    let id = html["id"].as_str().unwrap();
    let r =
        m.t.request(Method::GET, &format!("/v1.0/me/messages/{id}"), tok)
            .header("Prefer", "outlook.body-content-type=\"text\"")
            .send()
            .await
            .unwrap();
    assert_eq!(
        r.headers()["preference-applied"],
        "outlook.body-content-type=\"text\""
    );
    let (_, text) = json(r).await;
    assert_eq!(text["body"]["contentType"], "text");
    assert_eq!(text["body"]["content"], "Hello there");
    // MIME.
    let r =
        m.t.request(Method::GET, &format!("/v1.0/me/messages/{id}/$value"), tok)
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
    let mime = r.text().await.unwrap();
    assert!(
        mime.contains("Subject: Html\r\n")
            && mime.contains("MIME-Version: 1.0")
            && mime.contains("Message-ID: <"),
        "{mime}"
    );
    // Unknown id.
    let (status, err) = m.t.get("/v1.0/me/messages/AAMkAnothing", tok).await;
    assert_error(status, &err, 404, "ErrorItemNotFound");
}

#[tokio::test]
async fn change_move_copy_and_delete() {
    let m = mailboxes(1).await;
    let tok = &m.tokens[0];
    let msg = draft(
        &m,
        0,
        json!({ "subject": "Draft", "body": { "content": "v1" } }),
    )
    .await;
    let id = msg["id"].as_str().unwrap().to_string();
    let etag = msg["@odata.etag"].as_str().unwrap().to_string();
    let (status, changed) = m.t.patch(&format!("/v1.0/me/messages/{id}"), tok, &json!({ "subject": "Edited", "isRead": false, "flag": { "flagStatus": "flagged" }, "categories": ["Red"] })).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["subject"], "Edited");
    assert_eq!(changed["flag"]["flagStatus"], "flagged");
    assert_ne!(changed["changeKey"], msg["changeKey"]);
    assert_eq!(folder(&m, 0, "drafts").await["unreadItemCount"], 1);
    // A stale etag.
    let r =
        m.t.request(Method::PATCH, &format!("/v1.0/me/messages/{id}"), tok)
            .header("If-Match", &etag)
            .json(&json!({ "isRead": true }))
            .send()
            .await
            .unwrap();
    let (status, err) = json(r).await;
    assert_error(status, &err, 412, "ErrorIrresolvableConflict");
    let current = changed["@odata.etag"].as_str().unwrap();
    let r =
        m.t.request(Method::PATCH, &format!("/v1.0/me/messages/{id}"), tok)
            .header("If-Match", current)
            .json(&json!({ "isRead": true }))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Copy and move (parameter names in any case); a move gives a new id.
    let (status, copy) =
        m.t.post(
            &format!("/v1.0/me/messages/{id}/copy"),
            tok,
            &json!({ "DestinationId": "archive" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{copy}");
    assert_eq!(copy["parentFolderId"], folder(&m, 0, "archive").await["id"]);
    let (status, moved) =
        m.t.post(
            &format!("/v1.0/me/messages/{id}/move"),
            tok,
            &json!({ "destinationId": "inbox" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{moved}");
    assert_ne!(moved["id"], id.as_str());
    let (status, _) = m.t.get(&format!("/v1.0/me/messages/{id}"), tok).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let moved_id = moved["id"].as_str().unwrap().to_string();
    assert_eq!(folder(&m, 0, "inbox").await["totalItemCount"], 1);
    let (status, err) =
        m.t.post(
            &format!("/v1.0/me/messages/{moved_id}/move"),
            tok,
            &json!({ "destinationId": "nowhere" }),
        )
        .await;
    assert_error(status, &err, 404, "ErrorItemNotFound");
    // DELETE: to Deleted Items, then for good.
    let (status, _) =
        m.t.delete(&format!("/v1.0/me/messages/{moved_id}"), tok)
            .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, deleted) =
        m.t.get("/v1.0/me/mailFolders/deleteditems/messages", tok)
            .await;
    let trashed = deleted["value"][0]["id"].as_str().unwrap().to_string();
    let (status, _) =
        m.t.delete(&format!("/v1.0/me/messages/{trashed}"), tok)
            .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(folder(&m, 0, "deleteditems").await["totalItemCount"], 0);
    // permanentDelete.
    let copy_id = copy["id"].as_str().unwrap();
    let r =
        m.t.request(
            Method::POST,
            &format!("/v1.0/me/messages/{copy_id}/permanentDelete"),
            tok,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(folder(&m, 0, "archive").await["totalItemCount"], 0);
}

#[tokio::test]
async fn send_delivers_in_the_tenant() {
    let m = mailboxes(3).await;
    let domain = m.t.domain();
    // sendMail as the SDK writes it (PascalCase parameters).
    let r =
        m.t.request(Method::POST, "/v1.0/me/sendMail", &m.tokens[0])
            .json(&json!({
                "Message": {
                    "subject": "Lunch?",
                    "body": { "contentType": "Text", "content": "Noon at the usual place." },
                    "toRecipients": [to(&m.upns[1]), to("someone@example.org")],
                    "bccRecipients": [to(&m.upns[2])],
                },
                "SaveToSentItems": true
            }))
            .send()
            .await
            .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::ACCEPTED,
        "{}",
        r.text().await.unwrap()
    );
    let (_, sent) =
        m.t.get("/v1.0/me/mailFolders/sentitems/messages", &m.tokens[0])
            .await;
    let sent = &sent["value"][0];
    assert_eq!(sent["subject"], "Lunch?");
    assert_eq!(sent["isDraft"], false);
    assert_eq!(sent["bccRecipients"].as_array().unwrap().len(), 1);
    for who in [1, 2] {
        let (_, inbox) =
            m.t.get(
                "/v1.0/me/mailFolders/inbox/messages?$filter=isRead eq false",
                &m.tokens[who],
            )
            .await;
        let got = &inbox["value"][0];
        assert_eq!(got["subject"], "Lunch?", "{inbox}");
        assert_eq!(got["isRead"], false);
        assert_eq!(got["isDraft"], false);
        assert_eq!(got["internetMessageId"], sent["internetMessageId"]);
        assert_eq!(got["conversationId"], sent["conversationId"]);
        assert_eq!(got["from"]["emailAddress"]["address"], m.upns[0].as_str());
        assert_eq!(got["bccRecipients"], json!([]), "bcc hidden");
        assert_eq!(got["sentDateTime"], sent["sentDateTime"]);
        assert_eq!(folder(&m, who, "inbox").await["unreadItemCount"], 1);
        // A received message: draft-only properties refused, the rest allowed.
        let path = format!("/v1.0/me/messages/{}", got["id"].as_str().unwrap());
        let (status, err) =
            m.t.patch(&path, &m.tokens[who], &json!({ "subject": "Changed" }))
                .await;
        assert_error(status, &err, 400, "ErrorInvalidRequest");
        let (status, read) =
            m.t.patch(
                &path,
                &m.tokens[who],
                &json!({ "isRead": true, "categories": ["Lunch"], "importance": "high" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{read}");
        assert_eq!(folder(&m, who, "inbox").await["unreadItemCount"], 0);
    }
    // A draft, sent; an unknown address in the tenant's domain bounces.
    let d = draft(&m, 1, json!({ "subject": "Re: Lunch?", "toRecipients": [to(&m.upns[0]), to(&format!("ghost@{domain}"))] })).await;
    let r =
        m.t.request(
            Method::POST,
            &format!("/v1.0/me/messages/{}/send", d["id"].as_str().unwrap()),
            &m.tokens[1],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(folder(&m, 1, "drafts").await["totalItemCount"], 0);
    assert_eq!(folder(&m, 1, "sentitems").await["totalItemCount"], 1);
    let (_, inbox) =
        m.t.get(
            &format!(
                "/v1.0/me/messages?$filter=from/emailAddress/address eq '{}'",
                m.upns[1]
            ),
            &m.tokens[0],
        )
        .await;
    assert_eq!(inbox["value"][0]["subject"], "Re: Lunch?", "{inbox}");
    let (_, bounces) =
        m.t.get(
            "/v1.0/me/mailFolders/inbox/messages?$search=\"Undeliverable\"",
            &m.tokens[1],
        )
        .await;
    assert_eq!(bounces["value"].as_array().unwrap().len(), 1, "{bounces}");
    // saveToSentItems false; no recipients; too many.
    let (status, _) = m.t.post("/v1.0/me/sendMail", &m.tokens[2], &json!({ "message": { "subject": "quiet", "toRecipients": [to(&m.upns[0])] }, "saveToSentItems": false })).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(folder(&m, 2, "sentitems").await["totalItemCount"], 0);
    let (status, err) =
        m.t.post(
            "/v1.0/me/sendMail",
            &m.tokens[2],
            &json!({ "message": { "subject": "nobody" } }),
        )
        .await;
    assert_error(status, &err, 400, "ErrorInvalidRecipients");
    let many: Vec<Value> = (0..501).map(|i| to(&format!("r{i}@example.org"))).collect();
    let (status, err) =
        m.t.post(
            "/v1.0/me/sendMail",
            &m.tokens[2],
            &json!({ "message": { "toRecipients": many } }),
        )
        .await;
    assert_error(status, &err, 400, "ErrorInvalidRecipients");
    let empty = draft(&m, 2, json!({ "subject": "no one" })).await;
    let (status, err) =
        m.t.post(
            &format!("/v1.0/me/messages/{}/send", empty["id"].as_str().unwrap()),
            &m.tokens[2],
            &json!({}),
        )
        .await;
    assert_error(status, &err, 400, "ErrorInvalidRecipients");
    // Mail.ReadBasic reads everything but bodies.
    let basic = m.t.user_token(&m.upns[1], PASSWORD, "Mail.ReadBasic").await;
    let (status, list) = m.t.get("/v1.0/me/messages?$top=1", &basic).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let first = &list["value"][0];
    assert!(
        first["subject"].is_string()
            && first.get("body").is_none()
            && first.get("bodyPreview").is_none(),
        "{first}"
    );
    // Sending needs Mail.Send.
    let read_only = m.t.user_token(&m.upns[2], PASSWORD, "Mail.ReadWrite").await;
    let (status, err) =
        m.t.post(
            "/v1.0/me/sendMail",
            &read_only,
            &json!({ "message": { "toRecipients": [to(&m.upns[0])] } }),
        )
        .await;
    assert_error(status, &err, 403, "ErrorAccessDenied");
    // An application with Mail.ReadWrite reads anyone's mailbox.
    let (status, list) =
        m.t.get(&format!("/v1.0/users/{}/messages", m.ids[0]), &m.admin)
            .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(!list["value"].as_array().unwrap().is_empty());
    let (status, err) = m.t.get("/v1.0/me/messages", &m.admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
}

#[tokio::test]
async fn replies_and_forwards_thread_on_the_original() {
    let m = mailboxes(3).await;
    let (status, _) = m.t.post("/v1.0/me/sendMail", &m.tokens[0], &json!({ "message": { "subject": "Plan", "body": { "contentType": "text", "content": "Step one." }, "toRecipients": [to(&m.upns[1])], "ccRecipients": [to(&m.upns[2])] } })).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, inbox) =
        m.t.get("/v1.0/me/mailFolders/inbox/messages", &m.tokens[1])
            .await;
    let original = inbox["value"][0].clone();
    let oid = original["id"].as_str().unwrap();
    // createReply: a draft to the sender, threaded, the original quoted.
    let (status, reply) =
        m.t.post(
            &format!("/v1.0/me/messages/{oid}/createReply"),
            &m.tokens[1],
            &json!({ "comment": "Agreed." }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["subject"], "RE: Plan");
    assert_eq!(reply["isDraft"], true);
    assert_eq!(
        reply["toRecipients"][0]["emailAddress"]["address"],
        m.upns[0].as_str()
    );
    assert_eq!(reply["conversationId"], original["conversationId"]);
    // conversationIndex stays base64: the original's bytes and one 5-byte child block.
    let index = |m: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(m["conversationIndex"].as_str().unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", m["conversationIndex"]))
    };
    let (parent, child) = (index(&original), index(&reply));
    assert_eq!(child.len(), parent.len() + 5);
    assert_eq!(child[..parent.len()], parent[..]);
    let content = reply["body"]["content"].as_str().unwrap();
    assert!(
        content.contains("Agreed.") && content.contains("Step one."),
        "{content}"
    );
    let rid = reply["id"].as_str().unwrap();
    let (_, headers) =
        m.t.get(
            &format!("/v1.0/me/messages/{rid}?$select=internetMessageHeaders"),
            &m.tokens[1],
        )
        .await;
    let headers = headers["internetMessageHeaders"].as_array().unwrap();
    assert!(
        headers
            .iter()
            .any(|h| h["name"] == "In-Reply-To" && h["value"] == original["internetMessageId"]),
        "{headers:?}"
    );
    // createReplyAll: everyone but oneself.
    let (_, all) =
        m.t.post(
            &format!("/v1.0/me/messages/{oid}/createReplyAll"),
            &m.tokens[1],
            &json!({}),
        )
        .await;
    assert_eq!(all["toRecipients"].as_array().unwrap().len(), 1, "{all}");
    assert_eq!(
        all["ccRecipients"][0]["emailAddress"]["address"],
        m.upns[2].as_str()
    );
    // createForward with recipients; comment and message body together are refused.
    let (status, fw) =
        m.t.post(
            &format!("/v1.0/me/messages/{oid}/createForward"),
            &m.tokens[1],
            &json!({ "ToRecipients": [to(&m.upns[2])] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{fw}");
    assert_eq!(fw["subject"], "FW: Plan");
    let (status, err) =
        m.t.post(
            &format!("/v1.0/me/messages/{oid}/createReply"),
            &m.tokens[1],
            &json!({ "comment": "a", "message": { "body": { "content": "b" } } }),
        )
        .await;
    assert_error(status, &err, 400, "ErrorInvalidRequest");
    // reply: sent at once, arrives in the sender's inbox in the same conversation.
    let r =
        m.t.request(
            Method::POST,
            &format!("/v1.0/me/messages/{oid}/reply"),
            &m.tokens[1],
        )
        .json(&json!({ "comment": "On it." }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let (_, got) =
        m.t.get(
            &format!(
                "/v1.0/me/messages?$filter=conversationId eq '{}'",
                original["conversationId"].as_str().unwrap()
            ),
            &m.tokens[0],
        )
        .await;
    let subjects: Vec<&str> = got["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["subject"].as_str().unwrap())
        .collect();
    assert!(
        subjects.contains(&"RE: Plan") && subjects.contains(&"Plan"),
        "{subjects:?}"
    );
    let r =
        m.t.request(
            Method::POST,
            &format!("/v1.0/me/messages/{oid}/forward"),
            &m.tokens[1],
        )
        .json(&json!({ "comment": "FYI", "toRecipients": [to(&m.upns[2])] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let (_, fwd) =
        m.t.get(
            "/v1.0/me/messages?$filter=subject eq 'FW: Plan'",
            &m.tokens[2],
        )
        .await;
    assert_eq!(fwd["value"].as_array().unwrap().len(), 1, "{fwd}");
}

// --- delta ---

/// GET with headers; returns status, response headers and JSON.
async fn get_with(
    m: &Mailboxes,
    who: usize,
    path: &str,
    prefer: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut r = m.t.request(Method::GET, path, &m.tokens[who]);
    if !prefer.is_empty() {
        r = r.header("Prefer", prefer);
    }
    let r = r.send().await.unwrap();
    let headers = r.headers().clone();
    let (status, body) = json(r).await;
    (status, headers, body)
}

/// A link of a delta page as a path on the test server.
fn link_path(m: &Mailboxes, page: &Value, name: &str) -> Option<String> {
    page[name]
        .as_str()
        .map(|l| l.strip_prefix(&m.t.url("")).unwrap().to_string())
}

/// Follows a round to its deltaLink; returns the entries and the deltaLink path.
async fn delta_round(m: &Mailboxes, who: usize, start: &str, prefer: &str) -> (Vec<Value>, String) {
    let mut items = Vec::new();
    let mut path = start.to_string();
    for _ in 0..100 {
        let (status, _, page) = get_with(m, who, &path, prefer).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        items.extend(page["value"].as_array().unwrap().iter().cloned());
        if let Some(next) = link_path(m, &page, "@odata.nextLink") {
            assert!(page.get("@odata.deltaLink").is_none());
            assert!(next.contains("$skiptoken="), "{next}");
            path = next;
            continue;
        }
        let delta = link_path(m, &page, "@odata.deltaLink").expect("a round ends in a deltaLink");
        assert!(delta.contains("$deltatoken="), "{delta}");
        return (items, delta);
    }
    panic!("the round never ended");
}

async fn send(m: &Mailboxes, from: usize, to_user: usize, subject: &str) {
    let (status, body) = m
        .t
        .post(
            "/v1.0/me/sendMail",
            &m.tokens[from],
            &json!({ "message": { "subject": subject, "body": { "contentType": "text", "content": subject }, "toRecipients": [to(&m.upns[to_user])] } }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

fn by_subject<'a>(items: &'a [Value], subject: &str) -> Vec<&'a Value> {
    items.iter().filter(|i| i["subject"] == subject).collect()
}

#[tokio::test]
async fn message_delta_pages_the_folder_then_reports_exactly_the_changes() {
    let m = mailboxes(2).await;
    for i in 0..5 {
        send(&m, 1, 0, &format!("m{i}")).await;
    }
    // The first page honours odata.maxpagesize and says so.
    let (status, headers, first) = get_with(
        &m,
        0,
        "/v1.0/me/mailFolders/inbox/messages/delta",
        "odata.maxpagesize=2",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["value"].as_array().unwrap().len(), 2);
    assert_eq!(
        headers["preference-applied"].to_str().unwrap(),
        "odata.maxpagesize=2"
    );
    assert!(
        first["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#Collection(message)")
    );
    let (items, delta) = delta_round(
        &m,
        0,
        "/v1.0/me/mailFolders/inbox/messages/delta",
        "odata.maxpagesize=2",
    )
    .await;
    let mut subjects: Vec<&str> = items
        .iter()
        .map(|i| i["subject"].as_str().unwrap())
        .collect();
    subjects.sort();
    assert_eq!(subjects, ["m0", "m1", "m2", "m3", "m4"]);
    assert!(items.iter().all(|i| i["body"]["content"].is_string()));
    let id = |s: &str| by_subject(&items, s)[0]["id"].as_str().unwrap().to_string();

    // Nothing changed: the deltaLink returns nothing, and a new deltaLink.
    let (nothing, delta) = delta_round(&m, 0, &delta, "").await;
    assert!(nothing.is_empty(), "{nothing:?}");

    // Created, updated, moved out, deleted, and moved in (from another folder).
    send(&m, 1, 0, "m5").await;
    let (status, _) =
        m.t.patch(
            &format!("/v1.0/me/messages/{}", id("m0")),
            &m.tokens[0],
            &json!({"isRead": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, moved) =
        m.t.post(
            &format!("/v1.0/me/messages/{}/move", id("m1")),
            &m.tokens[0],
            &json!({"destinationId": "archive"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{moved}");
    let (status, _) =
        m.t.delete(&format!("/v1.0/me/messages/{}", id("m2")), &m.tokens[0])
            .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, outside) =
        m.t.post(
            "/v1.0/me/mailFolders/archive/messages",
            &m.tokens[0],
            &json!({"subject": "from archive"}),
        )
        .await;
    let (status, moved_in) =
        m.t.post(
            &format!("/v1.0/me/messages/{}/move", outside["id"].as_str().unwrap()),
            &m.tokens[0],
            &json!({"destinationId": "inbox"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{moved_in}");

    let (changes, next_delta) = delta_round(&m, 0, &delta, "odata.maxpagesize=2").await;
    let removed: Vec<&str> = changes
        .iter()
        .filter(|c| c.get("@removed").is_some())
        .map(|c| {
            assert_eq!(c["@removed"]["reason"], "deleted");
            assert_eq!(c["@odata.type"], "#microsoft.graph.message");
            c["id"].as_str().unwrap()
        })
        .collect();
    let mut removed_sorted = removed.clone();
    removed_sorted.sort();
    let mut expected = vec![id("m1"), id("m2")];
    expected.sort();
    assert_eq!(removed_sorted, expected);
    let present: Vec<&str> = changes
        .iter()
        .filter(|c| c.get("@removed").is_none())
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    let mut present_sorted = present.clone();
    present_sorted.sort();
    assert_eq!(present_sorted, ["from archive", "m0", "m5"], "{changes:?}");
    assert_eq!(by_subject(&changes, "m0")[0]["isRead"], true);
    assert_eq!(
        by_subject(&changes, "from archive")[0]["id"],
        moved_in["id"]
    );
    assert_eq!(changes.len(), 5);

    // The newest deltaLink returns nothing new; the older one still returns the same changes.
    let (nothing, _) = delta_round(&m, 0, &next_delta, "").await;
    assert!(nothing.is_empty(), "{nothing:?}");
    let (again, _) = delta_round(&m, 0, &delta, "").await;
    assert_eq!(again.len(), 5);

    // The archive's own delta sees the moved-in message leave (with its archive id).
    let (archive, _) = delta_round(&m, 0, "/v1.0/me/mailFolders/archive/messages/delta", "").await;
    assert_eq!(by_subject(&archive, "m1").len(), 1);
    assert!(by_subject(&archive, "from archive").is_empty());
}

#[tokio::test]
async fn message_delta_options_are_baked_into_the_tokens() {
    let m = mailboxes(2).await;
    for i in 0..3 {
        send(&m, 1, 0, &format!("s{i}")).await;
        if i == 0 {
            // receivedDateTime shows whole seconds: s1 and later arrive in a later one.
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        }
    }
    // $select on the first request applies to every page of every later round.
    let (items, delta) = delta_round(
        &m,
        0,
        &format!(
            "/v1.0/users/{}/mailFolders/Inbox/messages/delta?$select=subject,isRead",
            m.ids[0]
        ),
        "odata.maxpagesize=1",
    )
    .await;
    assert_eq!(items.len(), 3);
    for i in &items {
        let mut keys: Vec<&str> = i.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["@odata.etag", "id", "isRead", "subject"], "{i}");
    }
    assert!(!delta.contains("select"), "{delta}");
    send(&m, 1, 0, "s3").await;
    let (changes, _) = delta_round(&m, 0, &delta, "").await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["subject"], "s3");
    assert!(changes[0].get("body").is_none());

    // $top caps the initial round (Graph's reading of $top on message delta), newest first.
    let (top, _) = delta_round(
        &m,
        0,
        "/beta/me/mailFolders/inbox/messages/delta?$top=2",
        "odata.maxpagesize=1",
    )
    .await;
    let subjects: Vec<&str> = top.iter().map(|i| i["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects, ["s3", "s2"]);

    // $filter on receivedDateTime, and changeType=created: updates are left out later.
    let (all, _) = delta_round(&m, 0, "/v1.0/me/mailFolders/inbox/messages/delta", "").await;
    let s0 = by_subject(&all, "s0")[0].clone();
    let s1 = by_subject(&all, "s1")[0].clone();
    let since = s1["receivedDateTime"].as_str().unwrap();
    let (filtered, _) = delta_round(
        &m,
        0,
        &format!("/v1.0/me/mailFolders/inbox/messages/delta?$filter=receivedDateTime ge {since}"),
        "",
    )
    .await;
    assert!(by_subject(&filtered, "s0").is_empty());
    assert_eq!(by_subject(&filtered, "s1").len(), 1);
    let (_, created_only) = delta_round(
        &m,
        0,
        "/v1.0/me/mailFolders/inbox/messages/delta?changeType=created",
        "",
    )
    .await;
    m.t.patch(
        &format!("/v1.0/me/messages/{}", s0["id"].as_str().unwrap()),
        &m.tokens[0],
        &json!({"isRead": true}),
    )
    .await;
    send(&m, 1, 0, "s4").await;
    let (changes, _) = delta_round(&m, 0, &created_only, "").await;
    let subjects: Vec<&str> = changes
        .iter()
        .map(|i| i["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["s4"]);
}

#[tokio::test]
async fn change_type_is_judged_against_the_rounds_start_on_every_page() {
    let m = mailboxes(2).await;
    send(&m, 1, 0, "before").await;
    let start = "/v1.0/me/mailFolders/inbox/messages/delta";
    let (all, _) = delta_round(&m, 0, start, "").await;
    let before = all[0]["id"].as_str().unwrap().to_string();
    let (_, created) = delta_round(&m, 0, &format!("{start}?changeType=created"), "").await;
    let (_, updated) = delta_round(&m, 0, &format!("{start}?changeType=updated"), "").await;
    for i in 0..3 {
        send(&m, 1, 0, &format!("m{i}")).await;
    }
    let (fresh, _) = delta_round(&m, 0, start, "").await;
    let m0 = by_subject(&fresh, "m0")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // m0 and the older message change after m1 and m2 arrived: their change numbers pass them.
    for id in [&m0, &before] {
        let (status, body) =
            m.t.patch(
                &format!("/v1.0/me/messages/{id}"),
                &m.tokens[0],
                &json!({"isRead": true}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let subjects = |items: &[Value]| {
        let mut s: Vec<String> = items
            .iter()
            .map(|i| i["subject"].as_str().unwrap().to_string())
            .collect();
        s.sort();
        s
    };
    // One entry a page: the pages after the first still count from the round's start.
    let (changes, _) = delta_round(&m, 0, &created, "odata.maxpagesize=1").await;
    assert_eq!(subjects(&changes), ["m0", "m1", "m2"]);
    let (changes, _) = delta_round(&m, 0, &updated, "odata.maxpagesize=1").await;
    assert_eq!(subjects(&changes), ["before"]);
}

#[tokio::test]
async fn message_delta_refuses_foreign_and_altered_tokens_and_unsupported_options() {
    let m = mailboxes(2).await;
    send(&m, 1, 0, "x").await;
    let (_, delta) = delta_round(&m, 0, "/v1.0/me/mailFolders/inbox/messages/delta", "").await;
    let (_, other_delta) =
        delta_round(&m, 1, "/v1.0/me/mailFolders/inbox/messages/delta", "").await;
    let token = delta.split_once("$deltatoken=").unwrap().1.to_string();
    // Altered: one character of the payload changed.
    let mut bytes = token.clone().into_bytes();
    bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(bytes).unwrap();
    for path in [
        format!("/v1.0/me/mailFolders/inbox/messages/delta?$deltatoken={altered}"),
        "/v1.0/me/mailFolders/inbox/messages/delta?$deltatoken=garbage".to_string(),
        // Another folder's path with this folder's token.
        format!("/v1.0/me/mailFolders/archive/messages/delta?$deltatoken={token}"),
        // A delta token where a page token belongs.
        format!("/v1.0/me/mailFolders/inbox/messages/delta?$skiptoken={token}"),
    ] {
        let (status, err) = m.t.get(&path, &m.tokens[0]).await;
        assert_error(status, &err, 400, "resyncRequired");
    }
    // Another user's token, presented by that user's neighbour.
    let (status, err) = m.t.get(&other_delta, &m.tokens[0]).await;
    assert_error(status, &err, 400, "resyncRequired");
    // A chat getAllMessages token is no mail token either, even for a caller who may read both.
    let (status, chats) =
        m.t.get(
            &format!("/v1.0/users/{}/chats/getAllMessages/delta", m.ids[0]),
            &m.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{chats}");
    let chat_token = chats["@odata.deltaLink"]
        .as_str()
        .and_then(|l| l.split_once("deltatoken="))
        .map(|(_, t)| t.to_string())
        .unwrap_or_else(|| panic!("a chat delta token: {chats}"));
    let (status, err) =
        m.t.get(
            &format!(
                "/v1.0/users/{}/mailFolders/inbox/messages/delta?$deltatoken={chat_token}",
                m.ids[0]
            ),
            &m.admin,
        )
        .await;
    assert_error(status, &err, 400, "resyncRequired");
    for (query, code) in [
        ("$search=\"x\"", "ErrorInvalidRequest"),
        ("$skip=1", "ErrorInvalidRequest"),
        ("$filter=subject eq 'x'", "ErrorInvalidRequest"),
        (
            "$filter=receivedDateTime lt 2020-01-01T00:00:00Z",
            "ErrorInvalidRequest",
        ),
        ("$orderby=subject", "ErrorInvalidRequest"),
        ("changeType=moved", "ErrorInvalidRequest"),
        ("$select=nope", "ErrorInvalidRequest"),
    ] {
        let (status, err) =
            m.t.get(
                &format!("/v1.0/me/mailFolders/inbox/messages/delta?{query}"),
                &m.tokens[0],
            )
            .await;
        assert_error(status, &err, 400, code);
    }
    let (status, err) =
        m.t.get(&format!("{delta}&$skiptoken=x"), &m.tokens[0])
            .await;
    assert_error(status, &err, 400, "ErrorInvalidRequest");
    // No such folder; another user's mailbox.
    let (status, err) =
        m.t.get("/v1.0/me/mailFolders/nope/messages/delta", &m.tokens[0])
            .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{err}");
    let (status, err) =
        m.t.get(
            &format!("/v1.0/users/{}/mailFolders/inbox/messages/delta", m.ids[0]),
            &m.tokens[1],
        )
        .await;
    assert_error(status, &err, 403, "ErrorAccessDenied");
    // An application reads anyone's folder delta.
    let (status, page) =
        m.t.get(
            &format!("/v1.0/users/{}/mailFolders/inbox/messages/delta", m.ids[0]),
            &m.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["value"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn immutable_ids_survive_moves_when_preferred() {
    let m = mailboxes(1).await;
    let prefer = "IdType=\"ImmutableId\"";
    let r =
        m.t.request(Method::POST, "/v1.0/me/messages", &m.tokens[0])
            .header("Prefer", prefer)
            .json(&json!({"subject": "keep me"}))
            .send()
            .await
            .unwrap();
    assert_eq!(
        r.headers()["preference-applied"].to_str().unwrap(),
        "IdType=\"ImmutableId\""
    );
    let (status, created) = json(r).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let immutable = created["id"].as_str().unwrap().to_string();
    // Without the preference the same message shows its regular id.
    let (_, drafts) =
        m.t.get("/v1.0/me/mailFolders/drafts/messages", &m.tokens[0])
            .await;
    let regular = drafts["value"][0]["id"].as_str().unwrap().to_string();
    assert_ne!(regular, immutable);
    // Move with the preference: the id stays; the immutable id still finds it.
    let r =
        m.t.request(
            Method::POST,
            &format!("/v1.0/me/messages/{immutable}/move"),
            &m.tokens[0],
        )
        .header("Prefer", prefer)
        .json(&json!({"destinationId": "archive"}))
        .send()
        .await
        .unwrap();
    let (status, moved) = json(r).await;
    assert_eq!(status, StatusCode::CREATED, "{moved}");
    assert_eq!(moved["id"], immutable.as_str());
    let (status, found) =
        m.t.get(&format!("/v1.0/me/messages/{immutable}"), &m.tokens[0])
            .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_ne!(found["id"], immutable.as_str());
    // The regular id changed with the move: the old one is gone.
    let (status, err) =
        m.t.get(&format!("/v1.0/me/messages/{regular}"), &m.tokens[0])
            .await;
    assert_error(status, &err, 404, "ErrorItemNotFound");
    let (status, _, page) = get_with(&m, 0, "/v1.0/me/mailFolders/archive/messages", prefer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["value"][0]["id"], immutable.as_str());
    // Without the preference, a move gives a new regular id.
    let (status, moved_again) =
        m.t.post(
            &format!("/v1.0/me/messages/{}/move", found["id"].as_str().unwrap()),
            &m.tokens[0],
            &json!({"destinationId": "inbox"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(moved_again["id"], found["id"]);
    assert_ne!(moved_again["id"], immutable.as_str());
    // Delta with the preference reports removals by immutable id.
    let (_, delta) = delta_round(&m, 0, "/v1.0/me/mailFolders/inbox/messages/delta", prefer).await;
    m.t.delete(&format!("/v1.0/me/messages/{immutable}"), &m.tokens[0])
        .await;
    let (changes, _) = delta_round(&m, 0, &delta, prefer).await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["id"], immutable.as_str());
    assert!(changes[0].get("@removed").is_some());
}

#[tokio::test]
async fn sample_data_has_mail_threads_read_unread_flags_and_categories() {
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
            SCOPES,
        )
        .await;
    let (status, inbox) = t
        .get("/v1.0/me/mailFolders/inbox/messages?$top=50", &token)
        .await;
    assert_eq!(status, StatusCode::OK, "{inbox}");
    let inbox = inbox["value"].as_array().unwrap().clone();
    let subjects: Vec<&str> = inbox
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    for s in [
        "Offsite logistics",
        "RE: Offsite logistics",
        "Weekly sales numbers",
        "FW: Weekly sales numbers",
    ] {
        assert!(subjects.contains(&s), "{s} missing from {subjects:?}");
    }
    // A thread: replies share the conversation of the message they answer.
    let conversation =
        |s: &str| inbox.iter().find(|m| m["subject"] == s).unwrap()["conversationId"].clone();
    assert_eq!(
        conversation("Offsite logistics"),
        conversation("RE: Offsite logistics")
    );
    assert_eq!(
        conversation("Weekly sales numbers"),
        conversation("FW: Weekly sales numbers")
    );
    // Read and unread, flags and categories.
    let opening = inbox
        .iter()
        .find(|m| m["subject"] == "Offsite logistics")
        .unwrap();
    assert_eq!(opening["isRead"], true);
    assert_eq!(opening["flag"]["flagStatus"], "flagged");
    assert_eq!(opening["categories"], json!(["Red category"]));
    assert!(inbox.iter().any(|m| m["isRead"] == false));
    let (_, folder) = t.get("/v1.0/me/mailFolders/inbox", &token).await;
    assert_eq!(folder["totalItemCount"], inbox.len());
    assert_eq!(
        folder["unreadItemCount"],
        inbox.iter().filter(|m| m["isRead"] == false).count()
    );
    let (_, drafts) = t.get("/v1.0/me/mailFolders/drafts/messages", &token).await;
    assert_eq!(drafts["value"][0]["subject"], "Store visit plan");
    let numbers = inbox
        .iter()
        .find(|m| m["subject"] == "Weekly sales numbers")
        .unwrap();
    assert_eq!(numbers["hasAttachments"], true);
    let (_, files) = t
        .get(
            &format!(
                "/v1.0/me/messages/{}/attachments",
                numbers["id"].as_str().unwrap()
            ),
            &token,
        )
        .await;
    assert_eq!(files["value"][0]["name"], "weekly-sales.csv");
    let (_, sent) = t
        .get("/v1.0/me/mailFolders/sentitems/messages", &token)
        .await;
    assert_eq!(sent["value"][0]["subject"], "RE: Offsite logistics");
}

#[tokio::test]
async fn folder_delta_reports_the_tree_then_created_renamed_recounted_and_deleted_folders() {
    let m = mailboxes(2).await;
    let (status, projects) =
        m.t.post(
            "/v1.0/me/mailFolders",
            &m.tokens[0],
            &json!({"displayName": "Projects"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{projects}");
    let pid = projects["id"].as_str().unwrap();
    let (_, child) =
        m.t.post(
            &format!("/v1.0/me/mailFolders/{pid}/childFolders"),
            &m.tokens[0],
            &json!({"displayName": "Zeppelin"}),
        )
        .await;
    // The initial round: the whole tree (children too, never the root), in pages.
    let (folders, delta) =
        delta_round(&m, 0, "/v1.0/me/mailFolders/delta", "odata.maxpagesize=3").await;
    let names: Vec<&str> = folders
        .iter()
        .map(|f| f["displayName"].as_str().unwrap())
        .collect();
    for n in [
        "Inbox",
        "Drafts",
        "Sent Items",
        "Deleted Items",
        "Projects",
        "Zeppelin",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    assert!(!names.contains(&"Top of Information Store"));
    assert!(folders.iter().all(|f| f["totalItemCount"].is_number()));
    let (nothing, delta) = delta_round(&m, 0, &delta, "").await;
    assert!(nothing.is_empty(), "{nothing:?}");
    // A rename, a new message in the inbox (its counts), a deletion, a new folder.
    m.t.patch(
        &format!("/v1.0/me/mailFolders/{pid}"),
        &m.tokens[0],
        &json!({"displayName": "Projects 2027"}),
    )
    .await;
    send(&m, 1, 0, "counted").await;
    let (status, _) =
        m.t.delete(
            &format!("/v1.0/me/mailFolders/{}", child["id"].as_str().unwrap()),
            &m.tokens[0],
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    m.t.post(
        "/v1.0/me/mailFolders",
        &m.tokens[0],
        &json!({"displayName": "Receipts"}),
    )
    .await;
    let (changes, _) = delta_round(&m, 0, &delta, "").await;
    let removed: Vec<&Value> = changes
        .iter()
        .filter(|c| c.get("@removed").is_some())
        .collect();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0]["id"], child["id"]);
    assert_eq!(removed[0]["@odata.type"], "#microsoft.graph.mailFolder");
    let inbox = changes
        .iter()
        .find(|c| c["displayName"] == "Inbox")
        .unwrap();
    assert_eq!(inbox["unreadItemCount"], 1);
    assert!(
        changes
            .iter()
            .any(|c| c["displayName"] == "Projects 2027" && c["childFolderCount"] == 0)
    );
    assert!(changes.iter().any(|c| c["displayName"] == "Receipts"));
    assert_eq!(changes.len(), 4, "{changes:?}");
    // $select is kept by the tokens; a message delta token is no folder delta token.
    let (selected, _) =
        delta_round(&m, 0, "/v1.0/me/mailFolders/delta?$select=displayName", "").await;
    assert!(
        selected.iter().all(|f| f.as_object().unwrap().len() == 2),
        "{selected:?}"
    );
    let (_, message_delta) =
        delta_round(&m, 0, "/v1.0/me/mailFolders/inbox/messages/delta", "").await;
    let token = message_delta.split_once("$deltatoken=").unwrap().1;
    let (status, err) =
        m.t.get(
            &format!("/v1.0/me/mailFolders/delta?$deltatoken={token}"),
            &m.tokens[0],
        )
        .await;
    assert_error(status, &err, 400, "resyncRequired");
    let (capped, _) = delta_round(
        &m,
        0,
        "/v1.0/me/mailFolders/delta?$top=2",
        "odata.maxpagesize=1",
    )
    .await;
    assert_eq!(capped.len(), 2);
    let (status, err) =
        m.t.get("/v1.0/me/mailFolders/delta?$skip=2", &m.tokens[0])
            .await;
    assert_error(status, &err, 400, "ErrorInvalidRequest");
    let (status, err) =
        m.t.get(
            &format!("/v1.0/users/{}/mailFolders/delta", m.ids[0]),
            &m.tokens[1],
        )
        .await;
    assert_error(status, &err, 403, "ErrorAccessDenied");
}

#[tokio::test]
async fn file_attachments_on_drafts_travel_with_the_message() {
    let m = mailboxes(2).await;
    let d = draft(
        &m,
        0,
        json!({"subject": "Report", "toRecipients": [to(&m.upns[1])]}),
    )
    .await;
    let id = d["id"].as_str().unwrap();
    assert_eq!(d["hasAttachments"], false);
    let file = json!({
        "@odata.type": "#microsoft.graph.fileAttachment",
        "name": "report.txt",
        "contentType": "text/plain",
        "contentBytes": "UXVhcnRlcmx5IG51bWJlcnM=",
    });
    let (status, a) =
        m.t.post(
            &format!("/v1.0/me/messages/{id}/attachments"),
            &m.tokens[0],
            &file,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    assert_eq!(a["@odata.type"], "#microsoft.graph.fileAttachment");
    assert_eq!(a["size"], 17);
    assert_eq!(a["isInline"], false);
    assert_eq!(a["name"], "report.txt");
    let aid = a["id"].as_str().unwrap();
    // An inline one (a picture in the body) does not count for hasAttachments.
    let (status, inline) = m
        .t
        .post(
            &format!("/v1.0/me/mailFolders/drafts/messages/{id}/attachments"),
            &m.tokens[0],
            &json!({"@odata.type": "#microsoft.graph.fileAttachment", "name": "logo.png", "contentType": "image/png", "isInline": true, "contentId": "logo", "contentBytes": "iVBORw0KGgo="}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inline}");
    let (_, msg) =
        m.t.get(&format!("/v1.0/me/messages/{id}"), &m.tokens[0])
            .await;
    assert_eq!(msg["hasAttachments"], true);
    assert_ne!(msg["changeKey"], d["changeKey"]);
    let (status, list) =
        m.t.get(&format!("/v1.0/me/messages/{id}/attachments"), &m.tokens[0])
            .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["value"].as_array().unwrap().len(), 2);
    let (status, one) =
        m.t.get(
            &format!("/v1.0/me/messages/{id}/attachments/{aid}"),
            &m.tokens[0],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["contentBytes"], "UXVhcnRlcmx5IG51bWJlcnM=");
    let r =
        m.t.request(
            Method::GET,
            &format!("/v1.0/me/messages/{id}/attachments/{aid}/$value"),
            &m.tokens[0],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/plain");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"Quarterly numbers");
    // The MIME of the message carries both files.
    let r =
        m.t.request(
            Method::GET,
            &format!("/v1.0/me/messages/{id}/$value"),
            &m.tokens[0],
        )
        .send()
        .await
        .unwrap();
    let mime = r.text().await.unwrap();
    assert!(
        mime.contains("Content-Type: multipart/mixed; boundary="),
        "{mime}"
    );
    assert!(
        mime.contains("Content-Disposition: attachment; filename=\"report.txt\""),
        "{mime}"
    );
    assert!(mime.contains("UXVhcnRlcmx5IG51bWJlcnM="), "{mime}");
    assert!(mime.contains("Content-ID: <logo>"), "{mime}");
    // Deleting the inline one; errors.
    let (status, _) =
        m.t.delete(
            &format!(
                "/v1.0/me/messages/{id}/attachments/{}",
                inline["id"].as_str().unwrap()
            ),
            &m.tokens[0],
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, err) =
        m.t.get(
            &format!("/v1.0/me/messages/{id}/attachments/nope"),
            &m.tokens[0],
        )
        .await;
    assert_error(status, &err, 404, "ErrorItemNotFound");
    for (body, code) in [
        (json!({"name": "x", "contentBytes": "eA=="}), 400),
        (
            json!({"@odata.type": "#microsoft.graph.fileAttachment", "name": "x", "contentBytes": "%%%"}),
            400,
        ),
        (
            json!({"@odata.type": "#microsoft.graph.itemAttachment", "name": "x"}),
            501,
        ),
    ] {
        let (status, err) =
            m.t.post(
                &format!("/v1.0/me/messages/{id}/attachments"),
                &m.tokens[0],
                &body,
            )
            .await;
        assert_eq!(status.as_u16(), code, "{err}");
    }
    // Over 3 MB: Graph's limit for one POST (the route takes the body, the rule refuses it).
    let big = json!({"@odata.type": "#microsoft.graph.fileAttachment", "name": "big.bin",
        "contentBytes": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, vec![7u8; 3 * 1024 * 1024 + 1])});
    let (status, err) =
        m.t.post(
            &format!("/v1.0/me/messages/{id}/attachments"),
            &m.tokens[0],
            &big,
        )
        .await;
    assert_error(status, &err, 413, "ErrorRequestEntityTooLarge");
    // Another user cannot read them; Mail.ReadBasic cannot either.
    let (status, err) =
        m.t.get(
            &format!("/v1.0/users/{}/messages/{id}/attachments", m.ids[0]),
            &m.tokens[1],
        )
        .await;
    assert_error(status, &err, 403, "ErrorAccessDenied");
    let basic = m.t.user_token(&m.upns[0], PASSWORD, "Mail.ReadBasic").await;
    let (status, err) =
        m.t.get(&format!("/v1.0/me/messages/{id}/attachments"), &basic)
            .await;
    assert_error(status, &err, 403, "ErrorAccessDenied");
    // Nor the MIME, which carries the body and the files.
    let r =
        m.t.request(
            Method::GET,
            &format!("/v1.0/me/messages/{id}/$value"),
            &basic,
        )
        .send()
        .await
        .unwrap();
    let (status, err) = json(r).await;
    assert_error(status, &err, 403, "ErrorAccessDenied");

    // Sent: the recipient's copy and the Sent Items copy carry the file; a sent message takes no more.
    let (status, _) =
        m.t.post(
            &format!("/v1.0/me/messages/{id}/send"),
            &m.tokens[0],
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, inbox) =
        m.t.get("/v1.0/me/mailFolders/inbox/messages", &m.tokens[1])
            .await;
    let got = &inbox["value"][0];
    assert_eq!(got["hasAttachments"], true);
    let (_, files) =
        m.t.get(
            &format!(
                "/v1.0/me/messages/{}/attachments",
                got["id"].as_str().unwrap()
            ),
            &m.tokens[1],
        )
        .await;
    assert_eq!(files["value"][0]["name"], "report.txt");
    assert_eq!(files["value"].as_array().unwrap().len(), 1);
    let (_, sent) =
        m.t.get("/v1.0/me/mailFolders/sentitems/messages", &m.tokens[0])
            .await;
    let sent_id = sent["value"][0]["id"].as_str().unwrap().to_string();
    let (_, files) =
        m.t.get(
            &format!("/v1.0/me/messages/{sent_id}/attachments"),
            &m.tokens[0],
        )
        .await;
    assert_eq!(files["value"].as_array().unwrap().len(), 1);
    let (status, err) =
        m.t.post(
            &format!("/v1.0/me/messages/{sent_id}/attachments"),
            &m.tokens[0],
            &file,
        )
        .await;
    assert_error(status, &err, 400, "ErrorInvalidRequest");
    // A move keeps them; a copy has its own.
    let (_, moved) =
        m.t.post(
            &format!("/v1.0/me/messages/{sent_id}/move"),
            &m.tokens[0],
            &json!({"destinationId": "archive"}),
        )
        .await;
    let (_, copy) =
        m.t.post(
            &format!("/v1.0/me/messages/{}/copy", moved["id"].as_str().unwrap()),
            &m.tokens[0],
            &json!({"destinationId": "inbox"}),
        )
        .await;
    for mid in [&moved["id"], &copy["id"]] {
        let (_, files) =
            m.t.get(
                &format!("/v1.0/me/messages/{}/attachments", mid.as_str().unwrap()),
                &m.tokens[0],
            )
            .await;
        assert_eq!(files["value"].as_array().unwrap().len(), 1, "{files}");
    }
    let (_, a1) =
        m.t.get(
            &format!(
                "/v1.0/me/messages/{}/attachments",
                moved["id"].as_str().unwrap()
            ),
            &m.tokens[0],
        )
        .await;
    let (_, a2) =
        m.t.get(
            &format!(
                "/v1.0/me/messages/{}/attachments",
                copy["id"].as_str().unwrap()
            ),
            &m.tokens[0],
        )
        .await;
    assert_ne!(a1["value"][0]["id"], a2["value"][0]["id"]);
}

// --- page size preference on plain lists ---

#[tokio::test]
async fn lists_honour_the_max_page_size_preference() {
    let m = mailboxes(2).await;
    for i in 0..5 {
        send(&m, 1, 0, &format!("p{i}")).await;
    }
    for path in ["/v1.0/me/messages", "/v1.0/me/mailFolders/inbox/messages"] {
        // The preference alone sets the page size and is answered with Preference-Applied; the
        // next page continues with $skip and keeps the caller's options.
        let (status, headers, first) = get_with(
            &m,
            0,
            &format!("{path}?$select=subject"),
            "odata.maxpagesize=2",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{first}");
        assert_eq!(first["value"].as_array().unwrap().len(), 2);
        assert_eq!(
            headers["preference-applied"].to_str().unwrap(),
            "odata.maxpagesize=2"
        );
        let next = link_path(&m, &first, "@odata.nextLink").unwrap();
        assert!(next.contains("$skip=2"), "{next}");
        assert!(next.contains("$select=subject"), "{next}");
        let mut subjects: Vec<String> = first["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["subject"].as_str().unwrap().to_string())
            .collect();
        let mut path_next = Some(next);
        while let Some(p) = path_next {
            let (status, _, page) = get_with(&m, 0, &p, "odata.maxpagesize=2").await;
            assert_eq!(status, StatusCode::OK, "{page}");
            assert!(page["value"].as_array().unwrap().len() <= 2);
            subjects.extend(
                page["value"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v["subject"].as_str().unwrap().to_string()),
            );
            path_next = link_path(&m, &page, "@odata.nextLink");
        }
        assert_eq!(subjects, ["p4", "p3", "p2", "p1", "p0"]);
        // With $top, the smaller of the two is the page size.
        let (_, headers, page) =
            get_with(&m, 0, &format!("{path}?$top=3"), "odata.maxpagesize=2").await;
        assert_eq!(page["value"].as_array().unwrap().len(), 2);
        assert_eq!(
            headers["preference-applied"].to_str().unwrap(),
            "odata.maxpagesize=2"
        );
        let (_, _, page) = get_with(&m, 0, &format!("{path}?$top=1"), "odata.maxpagesize=4").await;
        assert_eq!(page["value"].as_array().unwrap().len(), 1);
        // Beside other preferences; above 1000 it is Outlook's largest page.
        let (_, headers, page) = get_with(
            &m,
            0,
            path,
            "outlook.body-content-type=\"text\", odata.maxpagesize=5000",
        )
        .await;
        assert_eq!(page["value"].as_array().unwrap().len(), 5);
        assert_eq!(
            headers["preference-applied"].to_str().unwrap(),
            "outlook.body-content-type=\"text\", odata.maxpagesize=1000"
        );
        // A value that is not a positive number is not honoured.
        let (_, headers, page) = get_with(&m, 0, path, "odata.maxpagesize=zero").await;
        assert_eq!(page["value"].as_array().unwrap().len(), 5);
        assert!(headers.get("preference-applied").is_none());
    }
    // Folder lists too.
    for name in ["A", "B", "C"] {
        let (status, f) =
            m.t.post(
                "/v1.0/me/mailFolders",
                &m.tokens[0],
                &json!({ "displayName": name }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{f}");
    }
    let (status, headers, page) =
        get_with(&m, 0, "/v1.0/me/mailFolders", "odata.maxpagesize=3").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["value"].as_array().unwrap().len(), 3);
    assert_eq!(
        headers["preference-applied"].to_str().unwrap(),
        "odata.maxpagesize=3"
    );
    let next = link_path(&m, &page, "@odata.nextLink").unwrap();
    assert!(next.contains("$skip=3"), "{next}");
    let (_, _, rest) = get_with(&m, 0, &next, "odata.maxpagesize=3").await;
    assert_eq!(rest["value"].as_array().unwrap().len(), 3);
    let (_, _, all) = get_with(&m, 0, "/v1.0/me/mailFolders?$top=100", "").await;
    let ids = |page: &Value| -> Vec<Value> {
        page["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].clone())
            .collect()
    };
    assert_eq!(ids(&all)[..6], [ids(&page), ids(&rest)].concat()[..]);
}

// --- $expand ---

#[tokio::test]
async fn messages_expand_attachments_on_list_and_get() {
    let m = mailboxes(2).await;
    let plain = draft(&m, 0, json!({"subject": "No files"})).await;
    let d = draft(&m, 0, json!({"subject": "Two files"})).await;
    let id = d["id"].as_str().unwrap();
    for (name, bytes) in [("a.txt", "QQ=="), ("b.txt", "QkI=")] {
        let (status, a) = m
            .t
            .post(
                &format!("/v1.0/me/messages/{id}/attachments"),
                &m.tokens[0],
                &json!({"@odata.type": "#microsoft.graph.fileAttachment", "name": name, "contentType": "text/plain", "contentBytes": bytes}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
    }
    // A plain list carries no attachments.
    let (_, list) = m.t.get("/v1.0/me/messages", &m.tokens[0]).await;
    assert!(list["value"][0].get("attachments").is_none(), "{list}");
    // The list expands them, per message, with their bytes; the context says so.
    let (status, list) =
        m.t.get(
            "/v1.0/me/mailFolders/drafts/messages?$expand=attachments&$select=subject",
            &m.tokens[0],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(
        list["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/messages(subject,attachments())"),
        "{list}"
    );
    let items = list["value"].as_array().unwrap();
    let files = &by_subject(items, "Two files")[0]["attachments"];
    assert_eq!(files.as_array().unwrap().len(), 2, "{list}");
    assert_eq!(files[0]["name"], "a.txt");
    assert_eq!(files[0]["contentBytes"], "QQ==");
    assert_eq!(files[0]["@odata.type"], "#microsoft.graph.fileAttachment");
    assert_eq!(files[1]["size"], 2);
    assert_eq!(by_subject(items, "No files")[0]["attachments"], json!([]));
    assert!(by_subject(items, "No files")[0].get("body").is_none());
    // Get expands them too, and a nested $select keeps only what it names (id, type always).
    let (status, one) =
        m.t.get(
            &format!("/v1.0/me/messages/{id}?$expand=attachments($select=name,size)"),
            &m.tokens[0],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert!(
        one["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/messages(attachments())/$entity"),
        "{one}"
    );
    assert_eq!(one["subject"], "Two files");
    let a = &one["attachments"][1];
    assert_eq!(a["name"], "b.txt");
    assert_eq!(a["size"], 2);
    assert!(a["id"].is_string());
    assert_eq!(a["@odata.type"], "#microsoft.graph.fileAttachment");
    assert!(a.get("contentBytes").is_none(), "{a}");
    let (status, one) =
        m.t.get(
            &format!(
                "/v1.0/me/messages/{}?$expand=attachments",
                plain["id"].as_str().unwrap()
            ),
            &m.tokens[0],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["attachments"], json!([]));
    // Errors: an unknown navigation is 400, one Graph expands but Switchboard does not is 501,
    // an unknown attachment property 400, other nested options 501.
    for (query, code, status) in [
        ("$expand=nothing", "ErrorInvalidRequest", 400),
        ("$expand=extensions", "NotImplemented", 501),
        (
            "$expand=singleValueExtendedProperties",
            "NotImplemented",
            501,
        ),
        (
            "$expand=attachments($select=nope)",
            "ErrorInvalidRequest",
            400,
        ),
        ("$expand=attachments($top=1)", "NotImplemented", 501),
    ] {
        for path in [
            "/v1.0/me/messages".to_string(),
            format!("/v1.0/me/messages/{id}"),
        ] {
            let (s, err) = m.t.get(&format!("{path}?{query}"), &m.tokens[0]).await;
            assert_error(s, &err, status, code);
        }
    }
    // Mail.ReadBasic does not see attachments: expanding them is 403.
    let basic = m.t.user_token(&m.upns[0], PASSWORD, "Mail.ReadBasic").await;
    for path in [
        "/v1.0/me/messages?$expand=attachments".to_string(),
        format!("/v1.0/me/messages/{id}?$expand=attachments"),
    ] {
        let (s, err) = m.t.get(&path, &basic).await;
        assert_error(s, &err, 403, "ErrorAccessDenied");
    }
    // Mail folders: their navigations are 501, anything else 400.
    let (s, err) =
        m.t.get("/v1.0/me/mailFolders?$expand=childFolders", &m.tokens[0])
            .await;
    assert_error(s, &err, 501, "NotImplemented");
    let (s, err) =
        m.t.get("/v1.0/me/mailFolders/inbox?$expand=messages", &m.tokens[0])
            .await;
    assert_error(s, &err, 501, "NotImplemented");
    let (s, err) =
        m.t.get("/v1.0/me/mailFolders/inbox?$expand=nothing", &m.tokens[0])
            .await;
    assert_error(s, &err, 400, "ErrorInvalidRequest");
}

// --- $search prefixes beyond the text ones ---

#[tokio::test]
async fn search_by_date_attachment_participant_kind_and_size() {
    let m = mailboxes(3).await;
    send(&m, 1, 0, "From Bianca").await;
    send(&m, 2, 0, "From Carlos").await;
    // A message with a file, delivered to Adele.
    let d = draft(
        &m,
        1,
        json!({"subject": "With a file", "toRecipients": [to(&m.upns[0])]}),
    )
    .await;
    let id = d["id"].as_str().unwrap();
    let (status, a) = m
        .t
        .post(
            &format!("/v1.0/me/messages/{id}/attachments"),
            &m.tokens[1],
            &json!({"@odata.type": "#microsoft.graph.fileAttachment", "name": "f.txt", "contentBytes": "aGVsbG8="}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    let (status, _) =
        m.t.post(
            &format!("/v1.0/me/messages/{id}/send"),
            &m.tokens[1],
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // Adele's own draft to Carlos (in her Drafts, no sent date).
    draft(
        &m,
        0,
        json!({"subject": "Draft to Carlos", "toRecipients": [to(&m.upns[2])]}),
    )
    .await;
    let (_, inbox) =
        m.t.get("/v1.0/me/mailFolders/inbox/messages", &m.tokens[0])
            .await;
    let today = inbox["value"][0]["receivedDateTime"].as_str().unwrap()[..10].to_string();
    let (y, rest) = today.split_once('-').unwrap();
    let (mo, d) = rest.split_once('-').unwrap();
    let us_date = format!(
        "{}/{}/{y}",
        mo.trim_start_matches('0'),
        d.trim_start_matches('0')
    );
    let search = async |kql: &str| -> Vec<String> {
        let (status, found) =
            m.t.get(
                &format!("/v1.0/me/messages?$top=100&$search=\"{kql}\""),
                &m.tokens[0],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{kql}: {found}");
        let mut subjects: Vec<String> = found["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["subject"].as_str().unwrap().to_string())
            .collect();
        subjects.sort();
        subjects
    };
    let all = [
        "Draft to Carlos",
        "From Bianca",
        "From Carlos",
        "With a file",
    ];
    for kql in [
        format!("received:{today}"),
        format!("received:{us_date}"),
        format!("received>={today}"),
        format!("received<={today}"),
        "received:today".to_string(),
        format!("received:2000-01-01..{today}"),
        "kind:email".to_string(),
        "size<1MB".to_string(),
    ] {
        assert_eq!(search(&kql).await, all, "{kql}");
    }
    for kql in [
        format!("received>{today}"),
        format!("received<{today}"),
        "received:yesterday".to_string(),
        "kind:meetings".to_string(),
        "size>1MB".to_string(),
    ] {
        assert!(search(&kql).await.is_empty(), "{kql}");
    }
    // A draft's sent date is its creation time, as Graph's.
    assert_eq!(search(&format!("sent:{today}")).await, all);
    assert!(search(&format!("sent<{today}")).await.is_empty());
    assert_eq!(search("hasAttachment:true").await, ["With a file"]);
    assert_eq!(
        search("hasAttachments:false").await,
        ["Draft to Carlos", "From Bianca", "From Carlos"]
    );
    // participants: the sender or any recipient.
    let carlos = m.upns[2].split('@').next().unwrap().to_string();
    assert_eq!(
        search(&format!("participants:{carlos}")).await,
        ["Draft to Carlos", "From Carlos"]
    );
    // Mixed with text and the boolean operators.
    assert_eq!(
        search(&format!("hasAttachment:true OR from:{carlos}")).await,
        ["From Carlos", "With a file"]
    );
    assert_eq!(
        search(&format!("sent:{today} AND NOT Bianca")).await,
        ["Draft to Carlos", "From Carlos"]
    );
    assert_eq!(
        search("kind:email AND Bianca").await,
        ["From Bianca", "With a file"]
    );
    // Under a folder too.
    let (status, found) =
        m.t.get(
            "/v1.0/me/mailFolders/inbox/messages?$search=\"hasAttachment:true\"",
            &m.tokens[0],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["value"].as_array().unwrap().len(), 1);
    // KQL that is not supported is a 400 that says so.
    for kql in [
        "received:lastweek",
        "received:2024-02-30",
        "hasAttachment:maybe",
        "kind:dragons",
        "size:big",
        "attachment:f.txt",
    ] {
        let (status, err) =
            m.t.get(
                &format!("/v1.0/me/messages?$search=\"{kql}\""),
                &m.tokens[0],
            )
            .await;
        assert_error(status, &err, 400, "ErrorInvalidRequest");
    }
}

// --- attachments inside message bodies ---

#[tokio::test]
async fn attachments_inside_create_and_send_mail_bodies() {
    let m = mailboxes(2).await;
    let domain = m.t.domain();
    let file = |name: &str, bytes: &str, inline: bool| json!({"@odata.type": "#microsoft.graph.fileAttachment", "name": name, "contentType": "text/plain", "contentBytes": bytes, "isInline": inline});
    // Create with files: stored with the draft, hasAttachments from the non-inline ones.
    let d = draft(
        &m,
        0,
        json!({"subject": "Plan", "toRecipients": [to(&m.upns[1])], "attachments": [file("plan.txt", "cGxhbg==", false), file("logo.png", "iVBORw0KGgo=", true)]}),
    )
    .await;
    assert_eq!(d["hasAttachments"], true);
    let id = d["id"].as_str().unwrap();
    let (status, files) =
        m.t.get(&format!("/v1.0/me/messages/{id}/attachments"), &m.tokens[0])
            .await;
    assert_eq!(status, StatusCode::OK, "{files}");
    let files = files["value"].as_array().unwrap().clone();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["name"], "plan.txt");
    assert_eq!(files[0]["contentBytes"], "cGxhbg==");
    assert_eq!(files[1]["isInline"], true);
    // Only inline files: hasAttachments stays false, the file is there.
    let (status, inline_only) =
        m.t.post(
            "/v1.0/me/mailFolders/inbox/messages",
            &m.tokens[0],
            &json!({"subject": "Inline", "attachments": [file("logo.png", "iVBORw0KGgo=", true)]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inline_only}");
    assert_eq!(inline_only["hasAttachments"], false);
    let (_, one) =
        m.t.get(
            &format!(
                "/v1.0/me/messages/{}?$expand=attachments",
                inline_only["id"].as_str().unwrap()
            ),
            &m.tokens[0],
        )
        .await;
    assert_eq!(one["attachments"].as_array().unwrap().len(), 1, "{one}");
    // The draft with files is sent: the recipient gets them, the inline one too.
    let (status, _) =
        m.t.post(
            &format!("/v1.0/me/messages/{id}/send"),
            &m.tokens[0],
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, got) = m
        .t
        .get(
            "/v1.0/me/mailFolders/inbox/messages?$search=\"subject:Plan\"&$expand=attachments($select=name)",
            &m.tokens[1],
        )
        .await;
    let names: Vec<&str> = got["value"][0]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["plan.txt", "logo.png"], "{got}");
    // A draft with only an inline file delivers it as well.
    let d = draft(
        &m,
        0,
        json!({"subject": "Signature", "toRecipients": [to(&m.upns[1])], "attachments": [file("sig.png", "iVBORw0KGgo=", true)]}),
    )
    .await;
    let (status, _) =
        m.t.post(
            &format!("/v1.0/me/messages/{}/send", d["id"].as_str().unwrap()),
            &m.tokens[0],
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, got) =
        m.t.get(
            "/v1.0/me/mailFolders/inbox/messages?$search=\"subject:Signature\"&$expand=attachments",
            &m.tokens[1],
        )
        .await;
    assert_eq!(got["value"][0]["hasAttachments"], false, "{got}");
    assert_eq!(
        got["value"][0]["attachments"][0]["name"], "sig.png",
        "{got}"
    );
    // sendMail with a file (SDK casing for the parameters), to a user and to an unknown address
    // of the tenant's domain.
    let r =
        m.t.request(Method::POST, "/v1.0/me/sendMail", &m.tokens[0])
            .json(&json!({
                "Message": {
                    "subject": "Numbers",
                    "toRecipients": [to(&m.upns[1]), to(&format!("nobody@{domain}"))],
                    "attachments": [file("numbers.csv", "MSwyLDM=", false)],
                },
                "SaveToSentItems": true
            }))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let (_, inbox) =
        m.t.get(
            "/v1.0/me/mailFolders/inbox/messages?$search=\"subject:Numbers\"&$expand=attachments",
            &m.tokens[1],
        )
        .await;
    let got = &inbox["value"][0];
    assert_eq!(got["subject"], "Numbers", "{inbox}");
    assert_eq!(got["hasAttachments"], true);
    assert_eq!(got["attachments"][0]["name"], "numbers.csv");
    assert_eq!(got["attachments"][0]["contentBytes"], "MSwyLDM=");
    assert_eq!(got["attachments"][0]["size"], 5);
    let (_, sent) =
        m.t.get(
            "/v1.0/me/mailFolders/sentitems/messages?$expand=attachments($select=name)",
            &m.tokens[0],
        )
        .await;
    let names: Vec<(String, usize)> = sent["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["subject"].as_str().unwrap().to_string(),
                v["attachments"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("Numbers".to_string(), 1),
            ("Signature".to_string(), 1),
            ("Plan".to_string(), 2)
        ]
    );
    // The non-delivery report carries no files.
    let (_, bounce) =
        m.t.get(
            "/v1.0/me/mailFolders/inbox/messages?$search=\"Undeliverable\"&$expand=attachments",
            &m.tokens[0],
        )
        .await;
    assert_eq!(bounce["value"][0]["hasAttachments"], false, "{bounce}");
    assert_eq!(bounce["value"][0]["attachments"], json!([]));
    // Errors as POST …/attachments has them; nothing is stored or sent.
    let (_, before) = m.t.get("/v1.0/me/messages?$count=true", &m.tokens[0]).await;
    let big = "A".repeat(2 * 1024 * 1024 / 3 * 4);
    for (attachments, status, code) in [
        (json!("plan.txt"), 400, "ErrorInvalidRequest"),
        (json!(["plan.txt"]), 400, "ErrorInvalidRequest"),
        (
            json!([{"name": "x", "contentBytes": "eA=="}]),
            400,
            "ErrorInvalidRequest",
        ),
        (json!([file("x", "%%%", false)]), 400, "ErrorInvalidRequest"),
        (
            json!([{"@odata.type": "#microsoft.graph.itemAttachment", "name": "x"}]),
            501,
            "NotImplemented",
        ),
    ] {
        let (s, err) =
            m.t.post(
                "/v1.0/me/messages",
                &m.tokens[0],
                &json!({"subject": "Bad", "attachments": attachments}),
            )
            .await;
        assert_error(s, &err, status, code);
        let (s, err) = m
            .t
            .post(
                "/v1.0/me/sendMail",
                &m.tokens[0],
                &json!({"message": {"subject": "Bad", "toRecipients": [to(&m.upns[1])], "attachments": attachments}}),
            )
            .await;
        assert_error(s, &err, status, code);
    }
    // More than 3 MB of files in one body is 413, as one file over 3 MB is.
    let (s, err) = m
        .t
        .post(
            "/v1.0/me/messages",
            &m.tokens[0],
            &json!({"subject": "Big", "attachments": [file("a", &big, false), file("b", &big, false)]}),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
    let (_, after) = m.t.get("/v1.0/me/messages?$count=true", &m.tokens[0]).await;
    assert_eq!(before["@odata.count"], after["@odata.count"]);
    // Replies still refuse files inside their message.
    let (status, err) =
        m.t.post(
            &format!(
                "/v1.0/me/messages/{}/createReply",
                inline_only["id"].as_str().unwrap()
            ),
            &m.tokens[0],
            &json!({"message": {"attachments": [file("x", "eA==", false)]}}),
        )
        .await;
    assert_error(status, &err, 501, "NotImplemented");
}

#[tokio::test]
async fn inline_only_attachments_reach_every_recipient() {
    let m = mailboxes(3).await;
    let d = draft(
        &m,
        0,
        json!({"subject": "Logo", "body": {"contentType": "html", "content": "<img src=\"cid:logo\">"},
            "toRecipients": [to(&m.upns[1]), to(&m.upns[2])]}),
    )
    .await;
    let id = d["id"].as_str().unwrap();
    let (status, inline) = m
        .t
        .post(
            &format!("/v1.0/me/messages/{id}/attachments"),
            &m.tokens[0],
            &json!({"@odata.type": "#microsoft.graph.fileAttachment", "name": "logo.png", "contentType": "image/png", "isInline": true, "contentId": "logo", "contentBytes": "iVBORw0KGgo="}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inline}");
    let (status, _) =
        m.t.post(
            &format!("/v1.0/me/messages/{id}/send"),
            &m.tokens[0],
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    for who in [1, 2] {
        let (_, inbox) =
            m.t.get("/v1.0/me/mailFolders/inbox/messages", &m.tokens[who])
                .await;
        let got = &inbox["value"][0];
        assert_eq!(got["hasAttachments"], false, "{got}");
        let (status, files) =
            m.t.get(
                &format!(
                    "/v1.0/me/messages/{}/attachments",
                    got["id"].as_str().unwrap()
                ),
                &m.tokens[who],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{files}");
        let files = files["value"].as_array().unwrap();
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(files[0]["isInline"], true);
        assert_eq!(files[0]["contentId"], "logo");
        assert_eq!(files[0]["contentBytes"], "iVBORw0KGgo=");
        assert_ne!(files[0]["id"], inline["id"]);
    }
}

#[tokio::test]
async fn a_messages_attachments_are_capped_together_and_read_one_by_one() {
    let m = mailboxes(1).await;
    let d = draft(&m, 0, json!({"subject": "Big"})).await;
    let id = d["id"].as_str().unwrap();
    let other = draft(&m, 0, json!({"subject": "Other"})).await;
    let chunk = |name: &str, bytes: usize| {
        json!({"@odata.type": "#microsoft.graph.fileAttachment", "name": name,
            "contentBytes": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, vec![7u8; bytes])})
    };
    let three_mb = 3 * 1024 * 1024;
    let mut first = None;
    // Eleven 3 MB files: 33 MB, under Exchange's 35 MB.
    for i in 0..11 {
        let (status, a) =
            m.t.post(
                &format!("/v1.0/me/messages/{id}/attachments"),
                &m.tokens[0],
                &chunk(&format!("part{i}.bin"), three_mb),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        first.get_or_insert(a["id"].as_str().unwrap().to_string());
    }
    let (status, err) =
        m.t.post(
            &format!("/v1.0/me/messages/{id}/attachments"),
            &m.tokens[0],
            &chunk("part11.bin", three_mb),
        )
        .await;
    assert_error(status, &err, 413, "ErrorMessageSizeExceeded");
    // What still fits is taken; another message has its own budget.
    for (message, size) in [(id, 1024 * 1024), (other["id"].as_str().unwrap(), three_mb)] {
        let (status, a) =
            m.t.post(
                &format!("/v1.0/me/messages/{message}/attachments"),
                &m.tokens[0],
                &chunk("small.bin", size),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
    }
    let first = first.unwrap();
    let (status, one) =
        m.t.get(
            &format!("/v1.0/me/messages/{id}/attachments/{first}"),
            &m.tokens[0],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["name"], "part0.bin");
    // An attachment is found by its id under its own message only.
    let (status, err) =
        m.t.get(
            &format!(
                "/v1.0/me/messages/{}/attachments/{first}",
                other["id"].as_str().unwrap()
            ),
            &m.tokens[0],
        )
        .await;
    assert_error(status, &err, 404, "ErrorItemNotFound");
}

#[tokio::test]
async fn changes_made_while_the_initial_round_pages_come_in_the_next_round() {
    let m = mailboxes(2).await;
    for i in 0..3 {
        send(&m, 1, 0, &format!("old{i}")).await;
    }
    let prefer = "odata.maxpagesize=1";
    let (status, _, page) =
        get_with(&m, 0, "/v1.0/me/mailFolders/inbox/messages/delta", prefer).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let seen = page["value"][0].clone();
    let next = link_path(&m, &page, "@odata.nextLink").expect("more pages");
    // Mid-round: a message arrives, and the one already delivered changes.
    send(&m, 1, 0, "during").await;
    let (status, body) =
        m.t.patch(
            &format!("/v1.0/me/messages/{}", seen["id"].as_str().unwrap()),
            &m.tokens[0],
            &json!({"isRead": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (rest, delta) = delta_round(&m, 0, &next, prefer).await;
    assert_eq!(rest.len(), 2, "{rest:?}");
    let (changes, _) = delta_round(&m, 0, &delta, prefer).await;
    assert_eq!(by_subject(&changes, "during").len(), 1, "{changes:?}");
    let changed = by_subject(&changes, seen["subject"].as_str().unwrap());
    assert_eq!(changed.len(), 1, "{changes:?}");
    assert_eq!(changed[0]["isRead"], true);
}
