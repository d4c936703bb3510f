//! Sample data: a fictional organisation seeded on first start with `--sample-data`, so a newcomer
//! can sign in at once. The users and their passwords are listed in `<data-dir>/sample-users.json`.

use std::path::Path;

use anyhow::Context;
use base64::Engine;
use serde::Serialize;
use switchboard_domain::Principal;
use switchboard_domain::Store;
use switchboard_domain::chat_messages::{BodyInput, ChatMessages, MessageInput};
use switchboard_domain::chats::{ChatInput, Chats, Created, MemberInput, Owner};
use switchboard_domain::credentials::{self, HashCost};
use switchboard_domain::graph_time::now_ms;
use switchboard_domain::mail::{Mail, ResponseKind};
use switchboard_domain::principal::PrincipalKind;
use switchboard_domain::store::UserKey;
use switchboard_domain::teams_apps::{AppInput, Catalog, ChatApps, InstallInput};
use switchboard_domain::users::UserRecord;

/// The file listing the sample users.
pub const SAMPLE_USERS_FILE: &str = "sample-users.json";

/// (alias, display name, given name, surname, job title, office)
const PEOPLE: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "AdeleV",
        "Adele Vance",
        "Adele",
        "Vance",
        "Retail Manager",
        "18/2111",
    ),
    (
        "AlexW",
        "Alex Wilber",
        "Alex",
        "Wilber",
        "Marketing Assistant",
        "131/1104",
    ),
    (
        "DiegoS",
        "Diego Siciliani",
        "Diego",
        "Siciliani",
        "HR Manager",
        "14/1108",
    ),
    (
        "GradyA",
        "Grady Archie",
        "Grady",
        "Archie",
        "Designer",
        "19/2109",
    ),
    (
        "IsaiahL",
        "Isaiah Langer",
        "Isaiah",
        "Langer",
        "Sales Rep",
        "20/1101",
    ),
    (
        "JohannaL",
        "Johanna Lorenz",
        "Johanna",
        "Lorenz",
        "Senior Engineer",
        "23/2102",
    ),
    (
        "JoniS",
        "Joni Sherman",
        "Joni",
        "Sherman",
        "Paralegal",
        "20/1109",
    ),
    ("LeeG", "Lee Gu", "Lee", "Gu", "Director", "23/3101"),
    (
        "LidiaH",
        "Lidia Holloway",
        "Lidia",
        "Holloway",
        "Product Manager",
        "20/2107",
    ),
    (
        "MeganB",
        "Megan Bowen",
        "Megan",
        "Bowen",
        "Marketing Manager",
        "12/1110",
    ),
    (
        "MiriamG",
        "Miriam Graham",
        "Miriam",
        "Graham",
        "Director",
        "131/2103",
    ),
    (
        "NestorW",
        "Nestor Wilke",
        "Nestor",
        "Wilke",
        "Director",
        "36/2121",
    ),
];

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SampleUser {
    id: String,
    user_principal_name: String,
    display_name: String,
    password: String,
}

/// A password that meets Graph's complexity rule: random, with every character class.
fn password() -> String {
    let mut bytes = [0u8; 12];
    rand_fill(&mut bytes);
    format!(
        "Sb-{}7",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

fn rand_fill(bytes: &mut [u8]) {
    use rand::RngCore;
    rand::rng().fill_bytes(bytes);
}

/// Seeds the sample users into the tenant unless `sample-users.json` already exists.
pub async fn seed(
    store: &dyn Store,
    data_dir: &Path,
    tenant_id: &str,
    domain: &str,
    cost: HashCost,
) -> anyhow::Result<()> {
    let path = data_dir.join(SAMPLE_USERS_FILE);
    if path.exists() {
        return Ok(());
    }
    let mut listed = Vec::new();
    let mut records = Vec::new();
    for (alias, name, given, surname, title, office) in PEOPLE {
        let upn = format!("{alias}@{domain}");
        if let Some(existing) = store.user(tenant_id, &UserKey::Upn(upn.clone())).await? {
            tracing::warn!(
                "sample user {upn} exists already ({}); its password is unchanged and not listed",
                existing.id
            );
            continue;
        }
        let password = password();
        let hash = {
            let password = password.clone();
            tokio::task::spawn_blocking(move || credentials::hash(&password, cost)).await?
        };
        let id = uuid::Uuid::new_v4().to_string();
        records.push(UserRecord {
            id: id.clone(),
            tenant_id: tenant_id.to_string(),
            display_name: name.to_string(),
            user_principal_name: upn.clone(),
            mail: Some(upn.clone()),
            given_name: Some(given.to_string()),
            surname: Some(surname.to_string()),
            job_title: Some(title.to_string()),
            business_phones: vec!["+1 425 555 0100".to_string()],
            mobile_phone: None,
            office_location: Some(office.to_string()),
            preferred_language: Some("en-US".to_string()),
            account_enabled: true,
            mail_nickname: alias.to_string(),
            password_hash: Some(hash),
            force_change_password: false,
            created_ms: now_ms(),
        });
        listed.push(SampleUser {
            id,
            user_principal_name: upn,
            display_name: name.to_string(),
            password,
        });
    }
    store.insert_users(&records).await?;
    let ids: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r.mail_nickname.as_str(), r.id.as_str()))
        .collect();
    crate::bootstrap::write_private(&path, &serde_json::to_string_pretty(&listed)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    seed_teams(store, tenant_id, &ids).await?;
    seed_mail(store, tenant_id, domain, &ids).await?;
    tracing::info!(
        "seeded {} sample users; their passwords are in {}",
        listed.len(),
        path.display()
    );
    Ok(())
}

/// Chats of each type among the sample users and a sample Teams app installed in one of them,
/// made through the domain layer (as Adele Vance) so Graph's rules and system events apply.
/// `ids` pairs each freshly seeded user's alias with their id; chats whose people were not
/// seeded now are skipped.
async fn seed_teams(
    store: &dyn Store,
    tenant_id: &str,
    ids: &[(&str, &str)],
) -> anyhow::Result<()> {
    let id = |alias: &str| {
        ids.iter()
            .find(|(a, _)| *a == alias)
            .map(|(_, id)| id.to_string())
    };
    let Some(adele) = id("AdeleV") else {
        return Ok(());
    };
    let client_id = store
        .applications(tenant_id)
        .await?
        .first()
        .map(|a| a.client_id.clone())
        .unwrap_or_default();
    let scopes = [
        "Chat.Create",
        "Chat.ReadWrite",
        "AppCatalog.ReadWrite.All",
        "TeamsAppInstallation.ReadWriteForChat",
    ];
    let as_adele = Principal {
        tenant_id: tenant_id.to_string(),
        client_id,
        kind: PrincipalKind::User {
            user_id: adele.clone(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        },
    };
    let chats = Chats { store };
    let chat = |chat_type: &str, topic: Option<&str>, aliases: &[&str]| {
        let members: Option<Vec<MemberInput>> = aliases
            .iter()
            .map(|a| {
                id(a).map(|id| MemberInput {
                    user_bind: Some(format!("users('{id}')")),
                    roles: None,
                    visible_history_ms: None,
                })
            })
            .collect();
        members.map(|m| ChatInput {
            chat_type: Some(chat_type.to_string()),
            topic: topic.map(str::to_string),
            members: Some(m),
        })
    };
    let wanted = [
        chat("oneOnOne", None, &["AdeleV", "AlexW"]),
        chat(
            "group",
            Some("Mark 8 launch"),
            &["AdeleV", "AlexW", "MeganB", "LeeG"],
        ),
        chat(
            "meeting",
            Some("Weekly sync"),
            &["AdeleV", "DiegoS", "MiriamG"],
        ),
    ];
    // Who says what in each chat, in order (realistic, short conversations).
    let conversations: [&[(&str, &str)]; 3] = [
        &[
            (
                "AdeleV",
                "Hi Alex, do you have a minute to go over the retail numbers?",
            ),
            ("AlexW", "Sure, give me five minutes."),
            ("AdeleV", "Great, I'll call you."),
        ],
        &[
            ("AdeleV", "Welcome to the Mark 8 launch chat!"),
            (
                "MeganB",
                "Thanks Adele. The campaign brief is in the shared folder.",
            ),
            ("LeeG", "Let's lock the launch date by Friday."),
            (
                "AlexW",
                "<b>Reminder:</b> the press kit is due on Wednesday.",
            ),
        ],
        &[
            (
                "DiegoS",
                "Agenda for this week: hiring plan and the offsite.",
            ),
            ("MiriamG", "Can we add the budget review?"),
        ],
    ];
    let as_user = |user_id: &str| Principal {
        tenant_id: tenant_id.to_string(),
        client_id: as_adele.client_id.clone(),
        kind: PrincipalKind::User {
            user_id: user_id.to_string(),
            scopes: vec!["ChatMessage.Send".to_string(), "Chat.ReadWrite".to_string()],
        },
    };
    let mut group_chat = None;
    for (input, conversation) in wanted.into_iter().zip(conversations) {
        let Some(input) = input else { continue };
        let is_group = input.chat_type.as_deref() == Some("group");
        let created = chats
            .create(&as_adele, &Owner::Caller, input)
            .await
            .map_err(|e| anyhow::anyhow!("sample chat: {e}"))?;
        let chat_id = match created {
            Created::New(c) | Created::Existing(c) => c.id,
        };
        for (alias, text) in conversation {
            let Some(sender) = id(alias) else { continue };
            let html = text.contains('<');
            let input = MessageInput {
                body: Some(BodyInput {
                    content_type: Some(if html { "html" } else { "text" }.into()),
                    content: Some(text.to_string()),
                }),
                ..MessageInput::default()
            };
            ChatMessages { store }
                .send(&as_user(&sender), &Owner::Caller, &chat_id, input)
                .await
                .map_err(|e| anyhow::anyhow!("sample message: {e}"))?;
        }
        if is_group {
            group_chat = Some(chat_id);
        }
    }
    let app = AppInput {
        external_id: Some("5b7d8f7e-4c1a-4e59-9a4e-2f1c8e6b9d10".into()),
        display_name: Some("Contoso Tasks".into()),
        version: Some("1.0.0".into()),
        short_description: Some("Track your team's tasks in chats.".into()),
        description: Some("Contoso Tasks keeps a chat's to-do list next to the conversation (a Switchboard sample app).".into()),
        ..AppInput::default()
    };
    let (app, _) = Catalog { store }
        .publish(&as_adele, app)
        .await
        .map_err(|e| anyhow::anyhow!("sample app: {e}"))?;
    if let Some(chat_id) = group_chat {
        let bind = InstallInput {
            teams_app_bind: Some(format!("appCatalogs/teamsApps/{}", app.id)),
            permissions: None,
        };
        ChatApps { store }
            .install(&as_adele, &Owner::Caller, &chat_id, bind)
            .await
            .map_err(|e| anyhow::anyhow!("sample app install: {e}"))?;
    }
    Ok(())
}

/// Mail among the sample users, sent through the domain layer so delivery, threading and counts
/// are as for any client: two threads in Adele Vance's inbox (replies sharing a conversation),
/// read and unread mail, a flagged and categorised message, and a draft. `ids` as for
/// [`seed_teams`]; threads whose people were not seeded now are skipped.
async fn seed_mail(
    store: &dyn Store,
    tenant_id: &str,
    domain: &str,
    ids: &[(&str, &str)],
) -> anyhow::Result<()> {
    let id = |alias: &str| {
        ids.iter()
            .find(|(a, _)| *a == alias)
            .map(|(_, id)| id.to_string())
    };
    let (Some(adele), Some(diego), Some(miriam), Some(alex)) =
        (id("AdeleV"), id("DiegoS"), id("MiriamG"), id("AlexW"))
    else {
        return Ok(());
    };
    let client_id = store
        .applications(tenant_id)
        .await?
        .first()
        .map(|a| a.client_id.clone())
        .unwrap_or_default();
    let as_user = |user_id: &str| Principal {
        tenant_id: tenant_id.to_string(),
        client_id: client_id.clone(),
        kind: PrincipalKind::User {
            user_id: user_id.to_string(),
            scopes: vec!["Mail.ReadWrite".to_string(), "Mail.Send".to_string()],
        },
    };
    let mail = Mail { store };
    let fail = |what: &'static str| {
        move |e: switchboard_domain::Error| anyhow::anyhow!("sample mail ({what}): {e}")
    };
    let object = |v: serde_json::Value| match v {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    let to = |aliases: &[&str]| {
        aliases
            .iter()
            .map(|a| serde_json::json!({"emailAddress": {"address": format!("{a}@{domain}")}}))
            .collect::<Vec<_>>()
    };
    // The newest message of a mailbox's inbox with this subject.
    let find = async |user_id: &str, subject: &str| -> anyhow::Result<String> {
        let (_, page) = mail
            .list(
                &as_user(user_id),
                &Owner::Caller,
                Some("inbox"),
                &switchboard_odata::QueryOptions::default(),
                None,
            )
            .await
            .map_err(fail("list"))?;
        page.items
            .into_iter()
            .find(|m| m.subject.as_deref() == Some(subject))
            .map(|m| m.id)
            .ok_or_else(|| anyhow::anyhow!("sample mail: '{subject}' was not delivered"))
    };

    // Thread 1: Diego asks Adele and Miriam; Adele answers all; Miriam answers Adele.
    let subject = "Offsite logistics";
    mail.send_mail(
        &as_user(&diego),
        &Owner::Caller,
        &object(serde_json::json!({"message": {
            "subject": subject,
            "body": {"contentType": "html", "content": "<p>Hi both,</p><p>The offsite is on the 14th. Can you confirm the venue and the headcount by Friday?</p><p>Diego</p>"},
            "toRecipients": to(&["AdeleV", "MiriamG"]),
            "importance": "high",
        }})),
    )
    .await
    .map_err(fail("send"))?;
    let first = find(&adele, subject).await?;
    mail.respond(
        &as_user(&adele),
        &Owner::Caller,
        None,
        &first,
        ResponseKind::ReplyAll,
        &object(serde_json::json!({"comment": "The venue is booked: Building 18, room 2111. Headcount is 24 so far."})),
        true,
    )
    .await
    .map_err(fail("reply all"))?;
    let reply = find(&miriam, &format!("RE: {subject}")).await?;
    mail.respond(
        &as_user(&miriam),
        &Owner::Caller,
        None,
        &reply,
        ResponseKind::Reply,
        &object(serde_json::json!({"comment": "Thanks Adele, add me to the headcount, and I'll bring the projector."})),
        true,
    )
    .await
    .map_err(fail("reply"))?;
    // Adele has read the thread's opening message, flagged it and filed it under a category.
    mail.update(
        &as_user(&adele),
        &Owner::Caller,
        None,
        &first,
        &object(serde_json::json!({"isRead": true, "flag": {"flagStatus": "flagged"}, "categories": ["Red category"]})),
        None,
    )
    .await
    .map_err(fail("flag"))?;

    // Thread 2: Alex's weekly numbers to Adele, a follow-up in the same conversation, both unread.
    let subject = "Weekly sales numbers";
    let (_, numbers_draft) = mail
        .create_draft(
            &as_user(&alex),
            &Owner::Caller,
            None,
            &object(serde_json::json!({
                "subject": subject,
                "body": {"contentType": "text", "content": "Hi Adele,\n\nRetail sales are up 4% on last week; the figures are attached, the breakdown by store follows on Monday.\n\nAlex"},
                "toRecipients": to(&["AdeleV"]),
                "categories": ["Blue category"],
            })),
        )
        .await
        .map_err(fail("draft"))?;
    let csv = "store,sales\nRedmond,18200\nBellevue,15400\nSeattle,12900\n";
    mail.add_attachment(
        &as_user(&alex),
        &Owner::Caller,
        None,
        &numbers_draft.id,
        &object(serde_json::json!({
            "@odata.type": "#microsoft.graph.fileAttachment",
            "name": "weekly-sales.csv",
            "contentType": "text/csv",
            "contentBytes": base64::engine::general_purpose::STANDARD.encode(csv),
        })),
    )
    .await
    .map_err(fail("attachment"))?;
    mail.send_draft(&as_user(&alex), &Owner::Caller, &numbers_draft.id, None)
        .await
        .map_err(fail("send"))?;
    let numbers = find(&adele, subject).await?;
    let (_, sent) = mail
        .list(
            &as_user(&alex),
            &Owner::Caller,
            Some("sentitems"),
            &switchboard_odata::QueryOptions::default(),
            None,
        )
        .await
        .map_err(fail("list"))?;
    if let Some(original) = sent
        .items
        .iter()
        .find(|m| m.subject.as_deref() == Some(subject))
    {
        mail.respond(
            &as_user(&alex),
            &Owner::Caller,
            None,
            &original.id,
            ResponseKind::Forward,
            &object(serde_json::json!({"comment": "Adding the store breakdown: Redmond leads, Bellevue is catching up.", "toRecipients": to(&["AdeleV"])})),
            true,
        )
        .await
        .map_err(fail("forward"))?;
    }
    // Adele flagged the numbers to follow up on.
    mail.update(
        &as_user(&adele),
        &Owner::Caller,
        None,
        &numbers,
        &object(
            serde_json::json!({"flag": {"flagStatus": "flagged"}, "categories": ["Blue category"]}),
        ),
        None,
    )
    .await
    .map_err(fail("flag"))?;

    // A draft Adele has not sent yet.
    mail.create_draft(
        &as_user(&adele),
        &Owner::Caller,
        None,
        &object(serde_json::json!({
            "subject": "Store visit plan",
            "body": {"contentType": "text", "content": "Draft: visits to Redmond and Bellevue next week."},
            "toRecipients": to(&["DiegoS"]),
        })),
    )
    .await
    .map_err(fail("draft"))?;
    Ok(())
}
