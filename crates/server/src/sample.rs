//! Sample data: a fictional organisation seeded on first start with `--sample-data`, so a newcomer
//! can sign in at once. The users and their passwords are listed in `<data-dir>/sample-users.json`.

use std::path::Path;

use anyhow::Context;
use base64::Engine;
use serde::Serialize;
use switchboard_domain::Store;
use switchboard_domain::credentials::{self, HashCost};
use switchboard_domain::graph_time::now_ms;
use switchboard_domain::store::UserKey;
use switchboard_domain::users::UserRecord;

/// The file listing the sample users.
pub const SAMPLE_USERS_FILE: &str = "sample-users.json";

/// (alias, display name, given name, surname, job title, office)
const PEOPLE: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("AdeleV", "Adele Vance", "Adele", "Vance", "Retail Manager", "18/2111"),
    ("AlexW", "Alex Wilber", "Alex", "Wilber", "Marketing Assistant", "131/1104"),
    ("DiegoS", "Diego Siciliani", "Diego", "Siciliani", "HR Manager", "14/1108"),
    ("GradyA", "Grady Archie", "Grady", "Archie", "Designer", "19/2109"),
    ("IsaiahL", "Isaiah Langer", "Isaiah", "Langer", "Sales Rep", "20/1101"),
    ("JohannaL", "Johanna Lorenz", "Johanna", "Lorenz", "Senior Engineer", "23/2102"),
    ("JoniS", "Joni Sherman", "Joni", "Sherman", "Paralegal", "20/1109"),
    ("LeeG", "Lee Gu", "Lee", "Gu", "Director", "23/3101"),
    ("LidiaH", "Lidia Holloway", "Lidia", "Holloway", "Product Manager", "20/2107"),
    ("MeganB", "Megan Bowen", "Megan", "Bowen", "Marketing Manager", "12/1110"),
    ("MiriamG", "Miriam Graham", "Miriam", "Graham", "Director", "131/2103"),
    ("NestorW", "Nestor Wilke", "Nestor", "Wilke", "Director", "36/2121"),
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
    format!("Sb-{}7", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn rand_fill(bytes: &mut [u8]) {
    use rand::RngCore;
    rand::rng().fill_bytes(bytes);
}

/// Seeds the sample users into the tenant unless `sample-users.json` already exists.
pub async fn seed(store: &dyn Store, data_dir: &Path, tenant_id: &str, domain: &str, cost: HashCost) -> anyhow::Result<()> {
    let path = data_dir.join(SAMPLE_USERS_FILE);
    if path.exists() {
        return Ok(());
    }
    let mut listed = Vec::new();
    let mut records = Vec::new();
    for (alias, name, given, surname, title, office) in PEOPLE {
        let upn = format!("{alias}@{domain}");
        if let Some(existing) = store.user(tenant_id, &UserKey::Upn(upn.clone())).await? {
            tracing::warn!("sample user {upn} exists already ({}); its password is unchanged and not listed", existing.id);
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
        listed.push(SampleUser { id, user_principal_name: upn, display_name: name.to_string(), password });
    }
    store.insert_users(&records).await?;
    crate::bootstrap::write_private(&path, &serde_json::to_string_pretty(&listed)?).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!("seeded {} sample users; their passwords are in {}", listed.len(), path.display());
    Ok(())
}
