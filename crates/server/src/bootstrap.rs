//! First start: an empty data directory gets a default tenant and an administrator application
//! holding every application permission, and `admin-credentials.json` (mode 0600) says how to use
//! them. Later starts reuse them and refresh the URLs in the file.

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use switchboard_domain::Store;
use switchboard_domain::credentials::{self, HashCost};
use switchboard_domain::graph_time::now_ms;
use switchboard_domain::permissions::{ALL_APPLICATION_ROLES, ALL_DELEGATED_SCOPES};
use switchboard_domain::tenants::{Application, ClientSecret, Tenant};

/// The file's name inside the data directory.
pub const CREDENTIALS_FILE: &str = "admin-credentials.json";

/// What `admin-credentials.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminCredentials {
    /// The default tenant's id.
    pub tenant_id: String,
    /// The tenant's verified domain (user principal names end in it).
    pub domain: String,
    /// The administrator application's client id.
    pub client_id: String,
    /// Its client secret (only ever stored here in clear).
    pub client_secret: String,
    /// Where to ask for tokens.
    pub token_endpoint: String,
    /// Graph's base URL on this server (`…/v1.0`).
    pub graph_base_url: String,
}

/// A new application registration with a fresh secret; returns it with the secret in clear.
pub fn new_application(
    tenant_id: &str,
    name: &str,
    roles: &[&str],
    scopes: &[&str],
    cost: HashCost,
) -> (Application, String) {
    let secret = credentials::new_client_secret();
    let now = now_ms();
    let app = Application {
        tenant_id: tenant_id.to_string(),
        client_id: uuid::Uuid::new_v4().to_string(),
        object_id: uuid::Uuid::new_v4().to_string(),
        display_name: name.to_string(),
        secrets: vec![ClientSecret {
            key_id: uuid::Uuid::new_v4().to_string(),
            hash: credentials::hash(&secret, cost),
            hint: secret.chars().take(3).collect(),
            created_ms: now,
            display_name: None,
            end_ms: None,
        }],
        app_roles: roles.iter().map(|r| r.to_string()).collect(),
        delegated_scopes: scopes.iter().map(|s| s.to_string()).collect(),
        redirect_uris: Vec::new(),
        spa_redirect_uris: Vec::new(),
        public_client_redirect_uris: Vec::new(),
        created_ms: now,
    };
    (app, secret)
}

/// Ensures the default tenant and administrator exist and the credentials file is current.
pub async fn ensure(
    store: &dyn Store,
    data_dir: &Path,
    base_url: &str,
    domain: &str,
    name: &str,
    cost: HashCost,
) -> anyhow::Result<AdminCredentials> {
    let path = data_dir.join(CREDENTIALS_FILE);
    let tenants = store.tenants().await?;
    let mut creds = if let Some(first) = tenants.first() {
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "the data directory has tenant {} but no {} (it holds the only clear copy of the admin secret)",
                first.id,
                path.display()
            )
        })?;
        serde_json::from_str::<AdminCredentials>(&text)
            .with_context(|| format!("{} is not valid", path.display()))?
    } else {
        let tenant = Tenant {
            id: uuid::Uuid::new_v4().to_string(),
            display_name: name.to_string(),
            domain: domain.to_ascii_lowercase(),
            created_ms: now_ms(),
        };
        let (app, secret) = tokio::task::spawn_blocking({
            let tenant_id = tenant.id.clone();
            move || {
                new_application(
                    &tenant_id,
                    "Switchboard administrator",
                    ALL_APPLICATION_ROLES,
                    ALL_DELEGATED_SCOPES,
                    cost,
                )
            }
        })
        .await?;
        // The file is written before the tenant is committed: a crash in between leaves a file
        // for a tenant that does not exist, which the next start simply replaces.
        let creds = AdminCredentials {
            tenant_id: tenant.id.clone(),
            domain: tenant.domain.clone(),
            client_id: app.client_id.clone(),
            client_secret: secret,
            token_endpoint: String::new(),
            graph_base_url: String::new(),
        };
        write(&path, &creds)?;
        store.create_tenant(&tenant, &app).await?;
        creds
    };
    creds.token_endpoint = format!("{base_url}/{}/oauth2/v2.0/token", creds.tenant_id);
    creds.graph_base_url = format!("{base_url}/v1.0");
    write(&path, &creds)?;
    Ok(creds)
}

fn write(path: &Path, creds: &AdminCredentials) -> anyhow::Result<()> {
    write_private(path, &serde_json::to_string_pretty(creds)?)
}

/// Writes a file only its owner can read (mode 0600), atomically (temporary file, fsync, rename).
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        file.write_all(text.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}
