//! SQL for tenants, application registrations and signing keys.

use rusqlite::{Connection, OptionalExtension, Row, params};
use switchboard_domain::StoreError;
use switchboard_domain::tenants::{Application, SigningKey, Tenant};

use crate::internal;

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn from_json<T: serde::de::DeserializeOwned>(text: String) -> rusqlite::Result<T> {
    serde_json::from_str(&text).map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

fn tenant_row(r: &Row<'_>) -> rusqlite::Result<Tenant> {
    Ok(Tenant { id: r.get(0)?, display_name: r.get(1)?, domain: r.get(2)?, created_ms: r.get(3)? })
}

pub fn insert_tenant(c: &Connection, t: &Tenant) -> Result<(), StoreError> {
    c.prepare_cached("INSERT INTO tenants (id, display_name, domain, created_ms) VALUES (?1, ?2, ?3, ?4)")
        .map_err(internal)?
        .execute(params![t.id, t.display_name, t.domain, t.created_ms])
        .map_err(internal)?;
    Ok(())
}

pub fn all_tenants(c: &Connection) -> Result<Vec<Tenant>, StoreError> {
    let mut stmt = c
        .prepare_cached("SELECT id, display_name, domain, created_ms FROM tenants ORDER BY created_ms, id")
        .map_err(internal)?;
    stmt.query_map([], tenant_row).map_err(internal)?.collect::<Result<_, _>>().map_err(internal)
}

pub fn tenant(c: &Connection, key: &str) -> Result<Option<Tenant>, StoreError> {
    c.prepare_cached(
        "SELECT id, display_name, domain, created_ms FROM tenants WHERE id = ?1 OR domain = ?1 COLLATE NOCASE",
    )
    .map_err(internal)?
    .query_row(params![key.to_ascii_lowercase()], tenant_row)
    .optional()
    .map_err(internal)
}

const APP_COLUMNS: &str = "tenant_id, client_id, object_id, display_name, secrets, app_roles, delegated_scopes, redirect_uris, created_ms";

fn app_row(r: &Row<'_>) -> rusqlite::Result<Application> {
    Ok(Application {
        tenant_id: r.get(0)?,
        client_id: r.get(1)?,
        object_id: r.get(2)?,
        display_name: r.get(3)?,
        secrets: from_json(r.get(4)?)?,
        app_roles: from_json(r.get(5)?)?,
        delegated_scopes: from_json(r.get(6)?)?,
        redirect_uris: from_json(r.get(7)?)?,
        created_ms: r.get(8)?,
    })
}

pub fn insert_application(c: &Connection, a: &Application) -> Result<(), StoreError> {
    c.prepare_cached(&format!("INSERT INTO applications ({APP_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"))
        .map_err(internal)?
        .execute(params![
            a.tenant_id,
            a.client_id,
            a.object_id,
            a.display_name,
            json(&a.secrets),
            json(&a.app_roles),
            json(&a.delegated_scopes),
            json(&a.redirect_uris),
            a.created_ms
        ])
        .map_err(internal)?;
    Ok(())
}

pub fn update_application(c: &Connection, a: &Application) -> Result<(), StoreError> {
    let n = c
        .prepare_cached(
            "UPDATE applications SET display_name = ?3, secrets = ?4, app_roles = ?5, delegated_scopes = ?6, redirect_uris = ?7
             WHERE tenant_id = ?1 AND client_id = ?2",
        )
        .map_err(internal)?
        .execute(params![
            a.tenant_id,
            a.client_id,
            a.display_name,
            json(&a.secrets),
            json(&a.app_roles),
            json(&a.delegated_scopes),
            json(&a.redirect_uris)
        ])
        .map_err(internal)?;
    if n == 0 {
        return Err(StoreError::Internal(format!("no application {}", a.client_id)));
    }
    Ok(())
}

pub fn application(c: &Connection, tenant_id: &str, client_id: &str) -> Result<Option<Application>, StoreError> {
    c.prepare_cached(&format!("SELECT {APP_COLUMNS} FROM applications WHERE tenant_id = ?1 AND client_id = ?2"))
        .map_err(internal)?
        .query_row(params![tenant_id, client_id.to_ascii_lowercase()], app_row)
        .optional()
        .map_err(internal)
}

pub fn signing_keys(c: &Connection) -> Result<Vec<SigningKey>, StoreError> {
    let mut stmt = c
        .prepare_cached("SELECT kid, private_pkcs8, created_ms, activate_ms, retire_ms FROM signing_keys ORDER BY created_ms, kid")
        .map_err(internal)?;
    stmt.query_map([], |r| {
        Ok(SigningKey {
            kid: r.get(0)?,
            private_pkcs8: r.get(1)?,
            created_ms: r.get(2)?,
            activate_ms: r.get(3)?,
            retire_ms: r.get(4)?,
        })
    })
    .map_err(internal)?
    .collect::<Result<_, _>>()
    .map_err(internal)
}

pub fn insert_signing_key(c: &Connection, k: &SigningKey) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO signing_keys (kid, private_pkcs8, created_ms, activate_ms, retire_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .map_err(internal)?
    .execute(params![k.kid, k.private_pkcs8, k.created_ms, k.activate_ms, k.retire_ms])
    .map_err(internal)?;
    Ok(())
}
