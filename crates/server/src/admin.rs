//! Administration from the command line, on a data directory (also one a server is running on:
//! SQLite serialises the writes, and the server reads what the command wrote at once): create
//! applications and tenants, print ready-made tokens.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use switchboard_auth::keys::{KeyState, key_states};
use switchboard_auth::{KeyRing, TokenIssuer};
use switchboard_domain::Store;
use switchboard_domain::credentials::HashCost;
use switchboard_domain::graph_time::{self, now_ms};
use switchboard_domain::permissions::{ALL_APPLICATION_ROLES, ALL_DELEGATED_SCOPES};
use switchboard_domain::store::UserKey;
use switchboard_domain::tenants::{Application, SigningKey, Tenant};
use switchboard_store_sqlite::{SqliteOptions, SqliteStore};

use crate::bootstrap::{self, AdminCredentials};
use crate::config::Config;

/// Opens the store of a data directory that a server has initialised.
pub fn open(data_dir: &Path) -> anyhow::Result<Arc<dyn Store>> {
    let db = data_dir.join(crate::DATABASE_FILE);
    if !db.exists() {
        bail!(
            "{} has no database; start `switchboard serve --data-dir {}` once first",
            data_dir.display(),
            data_dir.display()
        );
    }
    let store = SqliteStore::open(
        &db,
        &SqliteOptions {
            readers: 1,
            ..SqliteOptions::default()
        },
    )
    .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", db.display()))?;
    Ok(Arc::new(store))
}

/// The tenant named (by id or domain), or the first one.
pub async fn tenant(store: &dyn Store, name: Option<&str>) -> anyhow::Result<Tenant> {
    match name {
        Some(n) => store
            .tenant(n)
            .await?
            .with_context(|| format!("no tenant {n}")),
        None => store
            .tenants()
            .await?
            .into_iter()
            .next()
            .context("the data directory has no tenant"),
    }
}

/// Checks permission names against the ones Switchboard knows, with their canonical spelling.
fn canonical(names: &[String], known: &[&str], what: &str) -> anyhow::Result<Vec<String>> {
    names
        .iter()
        .map(|n| {
            known
                .iter()
                .find(|k| k.eq_ignore_ascii_case(n))
                .map(|k| k.to_string())
                .with_context(|| format!("unknown {what} '{n}' (known: {})", known.join(", ")))
        })
        .collect()
}

/// `switchboard app create`: registers an application; returns `clientId`, `clientSecret`, `tenantId`.
pub async fn create_app(
    store: &dyn Store,
    tenant_name: Option<&str>,
    name: &str,
    roles: &[String],
    scopes: &[String],
    redirect_uris: &[String],
    cost: HashCost,
) -> anyhow::Result<Value> {
    let tenant = tenant(store, tenant_name).await?;
    let roles = canonical(roles, ALL_APPLICATION_ROLES, "application role")?;
    let scopes = canonical(scopes, ALL_DELEGATED_SCOPES, "delegated scope")?;
    let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let (mut app, secret) = bootstrap::new_application(&tenant.id, name, &roles, &scopes, cost);
    app.redirect_uris = redirect_uris.to_vec();
    store.insert_application(&app).await?;
    Ok(
        json!({ "clientId": app.client_id, "clientSecret": secret, "tenantId": tenant.id, "displayName": app.display_name }),
    )
}

/// `switchboard tenant create`: a new tenant with its own administrator application.
pub async fn create_tenant(
    store: &dyn Store,
    config: &Config,
    name: &str,
    domain: &str,
    cost: HashCost,
) -> anyhow::Result<AdminCredentials> {
    let domain = domain.trim().to_ascii_lowercase();
    let valid = domain.contains('.')
        && domain
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !valid {
        bail!("'{domain}' is not a domain name");
    }
    if store.tenant(&domain).await?.is_some() {
        bail!("a tenant with domain {domain} exists already");
    }
    let tenant = Tenant {
        id: uuid::Uuid::new_v4().to_string(),
        display_name: name.to_string(),
        domain,
        created_ms: now_ms(),
    };
    let (app, secret) = bootstrap::new_application(
        &tenant.id,
        &format!("{name} administrator"),
        ALL_APPLICATION_ROLES,
        ALL_DELEGATED_SCOPES,
        cost,
    );
    store.create_tenant(&tenant, &app).await?;
    let base = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen));
    let base = base.trim_end_matches('/');
    Ok(AdminCredentials {
        tenant_id: tenant.id.clone(),
        domain: tenant.domain,
        client_id: app.client_id,
        client_secret: secret,
        token_endpoint: format!("{base}/{}/oauth2/v2.0/token", tenant.id),
        graph_base_url: format!("{base}/v1.0"),
    })
}

/// A signing key as the `keys` commands print it.
fn key_json(key: &SigningKey, state: KeyState) -> Value {
    json!({
        "kid": key.kid,
        "state": state.as_str(),
        "createdDateTime": graph_time::millis(key.created_ms),
        "activateDateTime": graph_time::millis(key.activate_ms),
        "retireDateTime": key.retire_ms.map(graph_time::millis),
    })
}

/// `switchboard keys rotate`: publishes a new signing key now; it signs after `publish_lead_secs`.
pub async fn rotate_key(store: &dyn Store, publish_lead_secs: i64) -> anyhow::Result<Value> {
    anyhow::ensure!(
        publish_lead_secs >= 0,
        "key_publish_lead_secs must be 0 or more"
    );
    let key = switchboard_auth::rotation::publish_new_key(store, publish_lead_secs * 1000).await?;
    let state = if key.activate_ms > now_ms() {
        KeyState::Next
    } else {
        KeyState::Active
    };
    Ok(key_json(&key, state))
}

/// `switchboard keys list`: every signing key, oldest first, with what it is doing now.
pub async fn list_keys(store: &dyn Store) -> anyhow::Result<Value> {
    let keys = store.signing_keys().await?;
    let states = key_states(&keys, now_ms());
    Ok(Value::Array(
        keys.iter()
            .zip(states)
            .map(|(k, s)| key_json(k, s))
            .collect(),
    ))
}

/// `switchboard token`: a bearer token for an application (app-only) or a user (delegated, by
/// the tenant's administrator application unless `app` names another).
pub async fn token(
    store: &dyn Store,
    tenant_name: Option<&str>,
    user: Option<&str>,
    app: Option<&str>,
    scopes: &[String],
    lifetime_secs: i64,
) -> anyhow::Result<String> {
    let tenant = tenant(store, tenant_name).await?;
    let ring = Arc::new(KeyRing::load_or_create(store).await?);
    let issuer = TokenIssuer::new(ring, lifetime_secs);
    let application: Application = match app {
        Some(id) => store
            .application(&tenant.id, &id.to_ascii_lowercase())
            .await?
            .with_context(|| format!("no application {id} in tenant {}", tenant.id))?,
        None => store
            .applications(&tenant.id)
            .await?
            .into_iter()
            .next()
            .context("the tenant has no application")?,
    };
    match user {
        None => Ok(issuer.issue_app(&tenant, &application)?),
        Some(upn) => {
            let record = store
                .user(&tenant.id, &UserKey::Upn(upn.to_string()))
                .await?
                .with_context(|| format!("no user {upn} in tenant {}", tenant.id))?;
            let granted = if scopes.is_empty() {
                application.delegated_scopes.clone()
            } else {
                let wanted = canonical(scopes, ALL_DELEGATED_SCOPES, "delegated scope")?;
                if let Some(missing) = wanted
                    .iter()
                    .find(|w| !application.delegated_scopes.contains(w))
                {
                    bail!(
                        "application {} may not request {missing}",
                        application.client_id
                    );
                }
                wanted
            };
            Ok(issuer.issue_user(&tenant, &application, &record, &granted)?)
        }
    }
}
